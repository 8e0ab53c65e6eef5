/* test-dns-resolver.c: the client's DNS resolver on loopback, with real
 * upstreams (dnsmasq, started here on high ports)
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <string.h>
#include <sys/prctl.h>
#include <signal.h>

#include "nb-dns-private.h"

#define DNSMASQ "/usr/sbin/dnsmasq"

/* ------------------------------------------------------------------------
 * Helpers: queries with ldns, exchanges over UDP and TCP.
 */
static GBytes *
make_query (const char *name, ldns_rr_type type, gboolean edns)
{
  ldns_pkt *pkt = NULL;
  guint8 *wire = NULL;
  size_t size = 0;
  GBytes *bytes;

  g_assert_cmpint (ldns_pkt_query_new_frm_str (&pkt, name, type, LDNS_RR_CLASS_IN, LDNS_RD), ==,
                   LDNS_STATUS_OK);
  ldns_pkt_set_id (pkt, (guint16) g_random_int ());
  if (edns)
    ldns_pkt_set_edns_udp_size (pkt, 1232);
  g_assert_cmpint (ldns_pkt2wire (&wire, pkt, &size), ==, LDNS_STATUS_OK);
  bytes = g_bytes_new (wire, size);
  free (wire);
  ldns_pkt_free (pkt);
  return bytes;
}

static GSocket *
udp_client (void)
{
  GSocket *s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, NULL);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);

  g_assert_true (g_socket_bind (s, any, FALSE, NULL));
  g_socket_set_timeout (s, 3);
  return s;
}

static GSocketAddress *
loopback (guint16 port)
{
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  return g_inet_socket_address_new (lo, port);
}

/* Sends raw bytes; returns the raw answer, or NULL when none came within
 * @timeout_ms. */
static GBytes *
udp_raw (GSocket *s, guint16 port, const void *data, gsize len, guint timeout_ms)
{
  g_autoptr (GSocketAddress) to = loopback (port);
  g_autofree guint8 *buf = g_malloc (65536);
  gssize n;

  g_assert_cmpint (g_socket_send_to (s, to, data, len, NULL, NULL), ==, (gssize) len);
  if (!g_socket_condition_timed_wait (s, G_IO_IN, (gint64) timeout_ms * 1000, NULL, NULL))
    return NULL;
  n = g_socket_receive (s, (char *) buf, 65536, NULL, NULL);
  g_assert_cmpint (n, >, 0);
  return g_bytes_new (buf, n);
}

static ldns_pkt *
parse (GBytes *bytes)
{
  ldns_pkt *pkt = NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);

  g_assert_cmpint (ldns_wire2pkt (&pkt, data, len), ==, LDNS_STATUS_OK);
  return pkt;
}

static ldns_pkt *
udp_ask (guint16 port, const char *name, ldns_rr_type type, gboolean edns)
{
  g_autoptr (GSocket) s = udp_client ();
  g_autoptr (GBytes) q = make_query (name, type, edns);
  g_autoptr (GBytes) a = udp_raw (s, port, g_bytes_get_data (q, NULL), g_bytes_get_size (q), 5000);
  ldns_pkt *pkt;

  g_assert_nonnull (a);
  pkt = parse (a);
  g_assert_cmpint (ldns_pkt_id (pkt), ==, ((const guint8 *) g_bytes_get_data (q, NULL))[0] << 8 |
                                            ((const guint8 *) g_bytes_get_data (q, NULL))[1]);
  return pkt;
}

static ldns_pkt *
tcp_ask (guint16 port, const char *name, ldns_rr_type type)
{
  g_autoptr (GSocket) s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr (GSocketAddress) to = loopback (port);
  g_autoptr (GBytes) q = make_query (name, type, FALSE);
  gsize qlen = g_bytes_get_size (q);
  guint8 prefix[2] = { qlen >> 8, qlen & 0xff };
  g_autofree guint8 *buf = g_malloc (65536);
  gsize got = 0, want = 2;
  ldns_pkt *pkt = NULL;

  g_socket_set_timeout (s, 5);
  g_assert_true (g_socket_connect (s, to, NULL, NULL));
  g_assert_cmpint (g_socket_send (s, (const char *) prefix, 2, NULL, NULL), ==, 2);
  g_assert_cmpint (g_socket_send (s, g_bytes_get_data (q, NULL), qlen, NULL, NULL), ==, (gssize) qlen);
  while (got < want)
    {
      gssize n = g_socket_receive (s, (char *) buf + got, want - got, NULL, NULL);
      g_assert_cmpint (n, >, 0);
      got += n;
      if (got == 2 && want == 2)
        {
          want = 2 + ((buf[0] << 8) | buf[1]);
        }
    }
  g_assert_cmpint (ldns_wire2pkt (&pkt, buf + 2, want - 2), ==, LDNS_STATUS_OK);
  return pkt;
}

static char *
first_a (const ldns_pkt *pkt)
{
  ldns_rr_list *an = ldns_pkt_answer (pkt);

  for (size_t i = 0; i < ldns_rr_list_rr_count (an); i++)
    {
      ldns_rr *rr = ldns_rr_list_rr (an, i);
      if (ldns_rr_get_type (rr) == LDNS_RR_TYPE_A || ldns_rr_get_type (rr) == LDNS_RR_TYPE_AAAA ||
          ldns_rr_get_type (rr) == LDNS_RR_TYPE_PTR)
        return ldns_rdf2str (ldns_rr_rdf (rr, 0));
    }
  return NULL;
}

static guint16
free_port (void)
{
  g_autoptr (GSocket) s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, NULL);
  g_autoptr (GSocketAddress) any = loopback (0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GSocket) t = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  guint16 port;

  g_assert_true (g_socket_bind (s, any, FALSE, NULL));
  bound = g_socket_get_local_address (s, NULL);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_clear_object (&any);
  any = loopback (port);
  /* free for TCP too */
  if (!g_socket_bind (t, any, TRUE, NULL))
    return free_port ();
  return port;
}

/* ------------------------------------------------------------------------
 * A dnsmasq of the test's own: killed when the test process dies, however
 * it dies (PR_SET_PDEATHSIG).
 */
typedef struct
{
  GSubprocess *proc;
  guint16      port;
} Upstream;

static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static Upstream *
upstream_start (const char * const *extra)
{
  Upstream *u = g_new0 (Upstream, 1);
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;

  u->port = free_port ();
  g_ptr_array_add (argv, g_strdup (DNSMASQ));
  g_ptr_array_add (argv, g_strdup ("--keep-in-foreground"));
  g_ptr_array_add (argv, g_strdup ("--conf-file=/dev/null"));
  g_ptr_array_add (argv, g_strdup ("--no-resolv"));
  g_ptr_array_add (argv, g_strdup ("--no-hosts"));
  g_ptr_array_add (argv, g_strdup ("--bind-interfaces"));
  g_ptr_array_add (argv, g_strdup ("--listen-address=127.0.0.1"));
  g_ptr_array_add (argv, g_strdup ("--user=root"));
  g_ptr_array_add (argv, g_strdup ("--pid-file="));
  g_ptr_array_add (argv, g_strdup_printf ("--port=%u", u->port));
  for (guint i = 0; extra[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup (extra[i]));
  g_ptr_array_add (argv, NULL);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  u->proc = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);

  /* ready when it answers */
  for (int i = 0; i < 100; i++)
    {
      g_autoptr (GSocket) s = udp_client ();
      g_autoptr (GBytes) q = make_query ("ready.invalid.", LDNS_RR_TYPE_A, FALSE);
      g_autoptr (GBytes) a = udp_raw (s, u->port, g_bytes_get_data (q, NULL), g_bytes_get_size (q), 100);

      if (a != NULL)
        return u;
      g_assert_nonnull (g_subprocess_get_identifier (u->proc));
    }
  g_error ("dnsmasq did not answer on port %u", u->port);
}

static void
upstream_stop (Upstream *u)
{
  g_subprocess_force_exit (u->proc);
  g_subprocess_wait (u->proc, NULL, NULL);
  g_object_unref (u->proc);
  g_free (u);
}

/* ------------------------------------------------------------------------
 * The zone of the tests: an account zone with two peers, and a custom zone.
 */
static NbDnsZone *
test_zone (const char *peer2_ip)
{
  NbDnsZone *zone = nb_dns_zone_new ();

  nb_dns_zone_add_domain (zone, "netbird.test");
  g_assert_true (nb_dns_zone_add_record (zone, "peer1.netbird.test", LDNS_RR_TYPE_A, 300, "100.64.0.1", NULL));
  if (peer2_ip != NULL)
    g_assert_true (nb_dns_zone_add_record (zone, "peer2.netbird.test", LDNS_RR_TYPE_A, 300, peer2_ip, NULL));
  return zone;
}

static NbDnsResolver *
resolver_start (NbDnsZone *zone)
{
  NbDnsResolver *r = nb_dns_resolver_new ();
  g_autoptr (GError) error = NULL;

  g_assert_true (nb_dns_resolver_listen (r, "127.0.0.1", 0, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (nb_dns_resolver_get_port (r), >, 0);
  nb_dns_resolver_set_zone (r, zone);
  return r;
}

/* ------------------------------------------------------------------------ */

static void
test_zone_answers (void)
{
  g_autoptr (NbDnsZone) zone = test_zone ("100.64.0.2");
  g_autoptr (NbDnsResolver) r = resolver_start (zone);
  guint16 port = nb_dns_resolver_get_port (r);
  NbDnsResolverStats st;
  ldns_pkt *p;
  g_autofree char *a = NULL, *ptr = NULL, *tcp_a = NULL;

  /* A: the address, authoritative, our short TTL */
  p = udp_ask (port, "PEER2.netbird.test.", LDNS_RR_TYPE_A, TRUE);
  g_assert_cmpint (ldns_pkt_get_rcode (p), ==, LDNS_RCODE_NOERROR);
  g_assert_true (ldns_pkt_aa (p));
  a = first_a (p);
  g_assert_cmpstr (a, ==, "100.64.0.2");
  g_assert_cmpuint (ldns_rr_ttl (ldns_rr_list_rr (ldns_pkt_answer (p), 0)), ==, NB_DNS_ZONE_TTL);
  ldns_pkt_free (p);

  /* AAAA of a peer with only an A: NODATA with the SOA */
  p = udp_ask (port, "peer2.netbird.test.", LDNS_RR_TYPE_AAAA, FALSE);
  g_assert_cmpint (ldns_pkt_get_rcode (p), ==, LDNS_RCODE_NOERROR);
  g_assert_cmpuint (ldns_pkt_ancount (p), ==, 0);
  g_assert_cmpuint (ldns_pkt_nscount (p), ==, 1);
  g_assert_cmpint (ldns_rr_get_type (ldns_rr_list_rr (ldns_pkt_authority (p), 0)), ==, LDNS_RR_TYPE_SOA);
  ldns_pkt_free (p);

  /* PTR of its address */
  p = udp_ask (port, "2.0.64.100.in-addr.arpa.", LDNS_RR_TYPE_PTR, FALSE);
  ptr = first_a (p);
  g_assert_cmpstr (ptr, ==, "peer2.netbird.test.");
  ldns_pkt_free (p);

  /* a name under the zone that does not exist */
  p = udp_ask (port, "nobody.netbird.test.", LDNS_RR_TYPE_A, FALSE);
  g_assert_cmpint (ldns_pkt_get_rcode (p), ==, LDNS_RCODE_NXDOMAIN);
  g_assert_cmpuint (ldns_pkt_nscount (p), ==, 1);
  ldns_pkt_free (p);

  /* TCP answers from the zone too */
  p = tcp_ask (port, "peer1.netbird.test.", LDNS_RR_TYPE_A);
  tcp_a = first_a (p);
  g_assert_cmpstr (tcp_a, ==, "100.64.0.1");
  ldns_pkt_free (p);

  nb_dns_resolver_get_stats (r, &st);
  g_test_message ("stats queries=%" G_GUINT64_FORMAT " local=%" G_GUINT64_FORMAT " nxdomain=%" G_GUINT64_FORMAT,
                  st.queries, st.answered_locally, st.nxdomain);
  g_assert_cmpuint (st.queries, ==, 5);
  g_assert_cmpuint (st.answered_locally, ==, 5);
  g_assert_cmpuint (st.nxdomain, ==, 1);
  g_assert_cmpuint (st.forwarded, ==, 0);
}

static void
test_zone_from_config (void)
{
  g_autoptr (NbMgmtMsgDnsConfig) config = nb_mgmt_msg_dns_config_new ();
  NbMgmtMsgCustomZone *cz = nb_mgmt_msg_custom_zone_new ();
  const char *recs[][3] = {
    { "peer1.netbird.test.", "1", "100.64.0.1" },
    { "peer2.netbird.test.", "1", "100.64.0.2" },
    { "peer2.netbird.test.", "28", "fd00::2" },
    { "broken.netbird.test.", "1", "not-an-address" },
  };
  g_autoptr (NbDnsZone) zone = NULL;
  GPtrArray *rrs;
  const ldns_rr *soa;
  ldns_rdf *name = NULL;

  cz->domain = g_strdup ("netbird.test.");
  for (guint i = 0; i < G_N_ELEMENTS (recs); i++)
    {
      NbMgmtMsgSimpleRecord *r = nb_mgmt_msg_simple_record_new ();
      r->name = g_strdup (recs[i][0]);
      r->type = g_ascii_strtoll (recs[i][1], NULL, 10);
      r->class_ = g_strdup ("IN");
      r->ttl = 300;
      r->rdata = g_strdup (recs[i][2]);
      g_ptr_array_add (cz->records, r);
    }
  g_ptr_array_add (config->custom_zones, cz);

  g_test_expect_message ("netbird-dns", G_LOG_LEVEL_WARNING, "*skipping a record*not-an-address*");
  zone = nb_dns_zone_new_from_config (config);
  g_test_assert_expected_messages ();
  /* three records and their three PTRs; the broken one is left out */
  g_assert_cmpuint (nb_dns_zone_get_n_records (zone), ==, 6);

  g_assert_cmpint (ldns_str2rdf_dname (&name, "peer2.netbird.test."), ==, LDNS_STATUS_OK);
  g_assert_cmpint (nb_dns_zone_lookup (zone, name, LDNS_RR_TYPE_AAAA, &rrs, &soa), ==, NB_DNS_ZONE_HIT);
  ldns_rdf_deep_free (name);
  g_assert_cmpint (ldns_str2rdf_dname (&name, "broken.netbird.test."), ==, LDNS_STATUS_OK);
  g_assert_cmpint (nb_dns_zone_lookup (zone, name, LDNS_RR_TYPE_A, &rrs, &soa), ==, NB_DNS_ZONE_NXDOMAIN);
  ldns_rdf_deep_free (name);
  g_assert_cmpint (ldns_str2rdf_dname (&name, "example.org."), ==, LDNS_STATUS_OK);
  g_assert_cmpint (nb_dns_zone_lookup (zone, name, LDNS_RR_TYPE_A, &rrs, &soa), ==, NB_DNS_ZONE_NOT_OURS);
  ldns_rdf_deep_free (name);
}

/* Readers never see half a zone: every version of the zone gives "x" two
 * addresses of the same version; a thread asks while the zone is swapped. */
typedef struct
{
  guint16  port;
  gint     stop;
  guint    answers;
  guint    versions_seen;
  gboolean torn;
} SwapState;

static gpointer
swap_reader (gpointer data)
{
  SwapState *st = data;
  g_autoptr (GSocket) s = udp_client ();
  guint last = G_MAXUINT;

  while (!g_atomic_int_get (&st->stop))
    {
      g_autoptr (GBytes) q = make_query ("x.netbird.test.", LDNS_RR_TYPE_A, FALSE);
      g_autoptr (GBytes) a = udp_raw (s, st->port, g_bytes_get_data (q, NULL), g_bytes_get_size (q), 2000);
      ldns_pkt *p;
      ldns_rr_list *an;
      guint v[2] = { 0, 0 };

      if (a == NULL)
        continue;
      p = parse (a);
      an = ldns_pkt_answer (p);
      if (ldns_rr_list_rr_count (an) != 2)
        st->torn = TRUE;
      for (size_t i = 0; i < ldns_rr_list_rr_count (an) && i < 2; i++)
        {
          g_autofree char *ip = ldns_rdf2str (ldns_rr_rdf (ldns_rr_list_rr (an, i), 0));
          guint b, c, d, e;
          if (sscanf (ip, "%u.%u.%u.%u", &b, &c, &d, &e) == 4)
            v[i] = d * 256 + e;
        }
      if (v[0] != v[1])
        st->torn = TRUE;
      if (v[0] != last)
        st->versions_seen++;
      last = v[0];
      st->answers++;
      ldns_pkt_free (p);
    }
  return NULL;
}

static NbDnsZone *
versioned_zone (guint version)
{
  NbDnsZone *zone = nb_dns_zone_new ();
  g_autofree char *a = g_strdup_printf ("198.18.%u.%u", version / 256 % 256, version % 256);
  g_autofree char *b = g_strdup_printf ("198.19.%u.%u", version / 256 % 256, version % 256);

  nb_dns_zone_add_domain (zone, "netbird.test");
  g_assert_true (nb_dns_zone_add_record (zone, "x.netbird.test", LDNS_RR_TYPE_A, 5, a, NULL));
  g_assert_true (nb_dns_zone_add_record (zone, "x.netbird.test", LDNS_RR_TYPE_A, 5, b, NULL));
  return zone;
}

static void
test_zone_swap (void)
{
  g_autoptr (NbDnsZone) first = versioned_zone (0);
  g_autoptr (NbDnsResolver) r = resolver_start (first);
  SwapState st = { .port = nb_dns_resolver_get_port (r) };
  GThread *reader;
  guint version = 0;
  gint64 end = g_get_monotonic_time () + 1500 * 1000;

  nb_dns_resolver_set_rate_limit (r, 0, 1);
  reader = g_thread_new ("reader", swap_reader, &st);
  while (g_get_monotonic_time () < end)
    {
      g_autoptr (NbDnsZone) z = versioned_zone (++version);
      nb_dns_resolver_set_zone (r, z);
      g_usleep (200);
    }
  g_atomic_int_set (&st.stop, 1);
  g_thread_join (reader);
  g_test_message ("swaps=%u answers=%u versions_seen=%u", version, st.answers, st.versions_seen);
  g_assert_false (st.torn);
  g_assert_cmpuint (st.answers, >, 100);
  g_assert_cmpuint (st.versions_seen, >, 10);
}

static void
test_forward_match_domain (void)
{
  const char *corp[] = { "--host-record=www.corp.test,198.18.7.7", NULL };
  const char *host[] = { "--host-record=www.example.test,198.18.8.8", NULL };
  Upstream *u_corp = upstream_start (corp);
  Upstream *u_host = upstream_start (host);
  g_autoptr (NbDnsZone) zone = test_zone ("100.64.0.2");
  g_autoptr (NbDnsResolver) r = resolver_start (zone);
  g_autofree char *corp_server = g_strdup_printf ("127.0.0.1:%u", u_corp->port);
  g_autofree char *host_server = g_strdup_printf ("127.0.0.1:%u", u_host->port);
  char *servers[] = { corp_server, NULL };
  char *domains[] = { "corp.test", NULL };
  NbDnsForwardGroup group = { domains, servers, FALSE };
  g_autoptr (GPtrArray) fallback = g_ptr_array_new ();
  guint16 port = nb_dns_resolver_get_port (r);
  NbDnsResolverStats st;
  ldns_pkt *p;
  g_autofree char *a1 = NULL, *a2 = NULL, *a3 = NULL;

  nb_dns_resolver_set_forward_groups (r, &group, 1);
  g_ptr_array_add (fallback, host_server);
  nb_dns_resolver_set_fallback_upstreams (r, fallback);

  p = udp_ask (port, "www.corp.test.", LDNS_RR_TYPE_A, TRUE);
  a1 = first_a (p);
  g_assert_cmpstr (a1, ==, "198.18.7.7");
  ldns_pkt_free (p);

  /* not under the match domain: the host's own upstream */
  p = udp_ask (port, "www.example.test.", LDNS_RR_TYPE_A, FALSE);
  a2 = first_a (p);
  g_assert_cmpstr (a2, ==, "198.18.8.8");
  ldns_pkt_free (p);

  /* the match domain's upstream does not know the other name */
  p = udp_ask (port, "www.corp.test.", LDNS_RR_TYPE_A, FALSE);
  a3 = first_a (p);
  g_assert_cmpstr (a3, ==, "198.18.7.7");
  ldns_pkt_free (p);

  /* and the zone still answers locally */
  p = udp_ask (port, "peer1.netbird.test.", LDNS_RR_TYPE_A, FALSE);
  g_assert_true (ldns_pkt_aa (p));
  ldns_pkt_free (p);

  /* a primary group takes what no match domain claims */
  {
    char *pdomains[] = { NULL };
    NbDnsForwardGroup groups[2] = { group, { pdomains, servers, TRUE } };
    g_autofree char *a4 = NULL;

    nb_dns_resolver_set_forward_groups (r, groups, 2);
    p = udp_ask (port, "www.example.test.", LDNS_RR_TYPE_A, FALSE);
    a4 = first_a (p);
    g_assert_null (a4);   /* the corp upstream does not know it */
    ldns_pkt_free (p);
  }

  nb_dns_resolver_get_stats (r, &st);
  g_test_message ("stats forwarded=%" G_GUINT64_FORMAT " local=%" G_GUINT64_FORMAT, st.forwarded,
                  st.answered_locally);
  g_assert_cmpuint (st.forwarded, ==, 4);
  g_assert_cmpuint (st.answered_locally, ==, 1);
  g_assert_cmpuint (st.upstream_failures, ==, 0);

  g_clear_object (&r);
  upstream_stop (u_corp);
  upstream_stop (u_host);
}

static void
test_forward_failover (void)
{
  const char *corp[] = { "--host-record=www.corp.test,198.18.7.7", NULL };
  Upstream *u = upstream_start (corp);
  g_autoptr (NbDnsResolver) r = resolver_start (NULL);
  /* a closed port (refused at once) and a socket that never answers
   * (a timeout), then the real server */
  g_autoptr (GSocket) silent = udp_client ();
  g_autoptr (GSocketAddress) silent_addr = g_socket_get_local_address (silent, NULL);
  g_autofree char *dead = g_strdup_printf ("127.0.0.1:%u", free_port ());
  g_autofree char *mute = g_strdup_printf ("127.0.0.1:%u",
                                           g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (silent_addr)));
  g_autofree char *live = g_strdup_printf ("127.0.0.1:%u", u->port);
  char *servers[] = { dead, mute, live, NULL };
  char *domains[] = { "corp.test", NULL };
  NbDnsForwardGroup group = { domains, servers, FALSE };
  NbDnsResolverStats st;
  ldns_pkt *p;
  g_autofree char *a = NULL;
  gint64 t0;

  nb_dns_resolver_set_upstream_timeout (r, 300);
  nb_dns_resolver_set_forward_groups (r, &group, 1);
  t0 = g_get_monotonic_time ();
  p = udp_ask (nb_dns_resolver_get_port (r), "www.corp.test.", LDNS_RR_TYPE_A, FALSE);
  a = first_a (p);
  g_assert_cmpstr (a, ==, "198.18.7.7");
  ldns_pkt_free (p);
  g_test_message ("answered after %" G_GINT64_FORMAT " ms", (g_get_monotonic_time () - t0) / 1000);

  nb_dns_resolver_get_stats (r, &st);
  g_assert_cmpuint (st.upstream_failures, ==, 2);
  g_assert_cmpuint (st.forwarded, ==, 1);

  /* no server at all answers: SERVFAIL, not silence */
  {
    char *none[] = { dead, NULL };
    NbDnsForwardGroup g2 = { domains, none, FALSE };

    nb_dns_resolver_set_forward_groups (r, &g2, 1);
    p = udp_ask (nb_dns_resolver_get_port (r), "www.corp.test.", LDNS_RR_TYPE_A, FALSE);
    g_assert_cmpint (ldns_pkt_get_rcode (p), ==, LDNS_RCODE_SERVFAIL);
    ldns_pkt_free (p);
    nb_dns_resolver_get_stats (r, &st);
    g_assert_cmpuint (st.servfail, ==, 1);
  }

  g_clear_object (&r);
  upstream_stop (u);
}

/* A server that answers every query with the right ID but for another
 * name, as an off-path spoofer that guessed the ID would. */
static gpointer
liar (gpointer data)
{
  GSocket *s = data;
  guint8 buf[512];
  g_autoptr (GSocketAddress) from = NULL;
  gssize n = g_socket_receive_from (s, &from, (char *) buf, sizeof buf, NULL, NULL);

  if (n > 13)
    {
      buf[2] |= 0x80;
      buf[13] ^= 0x01; /* the first letter of the name */
      g_socket_send_to (s, from, (const char *) buf, n, NULL, NULL);
    }
  return NULL;
}

static void
test_forward_wrong_question (void)
{
  const char *corp[] = { "--host-record=www.corp.test,198.18.7.7", NULL };
  Upstream *u = upstream_start (corp);
  g_autoptr (NbDnsResolver) r = resolver_start (NULL);
  g_autoptr (GSocket) fake = udp_client ();
  g_autoptr (GSocketAddress) fake_addr = g_socket_get_local_address (fake, NULL);
  g_autofree char *lying = g_strdup_printf ("127.0.0.1:%u",
                                            g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (fake_addr)));
  g_autofree char *live = g_strdup_printf ("127.0.0.1:%u", u->port);
  char *servers[] = { lying, live, NULL };
  char *domains[] = { "corp.test", NULL };
  NbDnsForwardGroup group = { domains, servers, FALSE };
  GThread *t = g_thread_new ("liar", liar, fake);
  NbDnsResolverStats st;
  ldns_pkt *p;
  g_autofree char *a = NULL;

  nb_dns_resolver_set_forward_groups (r, &group, 1);
  p = udp_ask (nb_dns_resolver_get_port (r), "www.corp.test.", LDNS_RR_TYPE_A, FALSE);
  a = first_a (p);
  g_assert_cmpstr (a, ==, "198.18.7.7");
  ldns_pkt_free (p);
  g_thread_join (t);
  nb_dns_resolver_get_stats (r, &st);
  g_assert_cmpuint (st.upstream_failures, ==, 1);
  g_assert_cmpuint (st.forwarded, ==, 1);

  g_clear_object (&r);
  upstream_stop (u);
}

static void
test_forward_tcp_on_truncation (void)
{
  g_autoptr (GString) txt = g_string_new ("--txt-record=big.corp.test");
  const char *corp[] = { NULL, NULL };
  Upstream *u;
  g_autoptr (NbDnsResolver) r = resolver_start (NULL);
  g_autofree char *live = NULL;
  char *servers[] = { NULL, NULL };
  char *domains[] = { "corp.test", NULL };
  NbDnsForwardGroup group = { domains, servers, FALSE };
  NbDnsResolverStats st;
  ldns_pkt *p;
  guint16 port = nb_dns_resolver_get_port (r);
  size_t total = 0;

  for (int i = 0; i < 8; i++)
    {
      g_string_append_printf (txt, ",\"%d", i);
      for (int j = 0; j < 200; j++)
        g_string_append_c (txt, 'a' + (i + j) % 26);
      g_string_append_c (txt, '"');
    }
  corp[0] = txt->str;
  u = upstream_start (corp);
  live = g_strdup_printf ("127.0.0.1:%u", u->port);
  servers[0] = live;
  nb_dns_resolver_set_forward_groups (r, &group, 1);

  /* over UDP without EDNS: the upstream truncates, we fetch it over TCP,
   * and as it does not fit the client's 512 bytes, it gets TC */
  p = udp_ask (port, "big.corp.test.", LDNS_RR_TYPE_TXT, FALSE);
  g_assert_true (ldns_pkt_tc (p));
  g_assert_cmpuint (ldns_pkt_ancount (p), ==, 0);
  ldns_pkt_free (p);
  nb_dns_resolver_get_stats (r, &st);
  g_assert_cmpuint (st.tcp_retries, ==, 1);

  /* the client comes back over TCP and gets it whole */
  p = tcp_ask (port, "big.corp.test.", LDNS_RR_TYPE_TXT);
  g_assert_false (ldns_pkt_tc (p));
  g_assert_cmpuint (ldns_pkt_ancount (p), ==, 1);
  for (size_t i = 0; i < ldns_rr_rd_count (ldns_rr_list_rr (ldns_pkt_answer (p), 0)); i++)
    total += ldns_rdf_size (ldns_rr_rdf (ldns_rr_list_rr (ldns_pkt_answer (p), 0), i));
  g_assert_cmpuint (total, >, 1600);
  ldns_pkt_free (p);
  nb_dns_resolver_get_stats (r, &st);
  g_test_message ("stats tcp_retries=%" G_GUINT64_FORMAT " forwarded=%" G_GUINT64_FORMAT " txt=%zu bytes",
                  st.tcp_retries, st.forwarded, total);
  g_assert_cmpuint (st.forwarded, ==, 2);

  g_clear_object (&r);
  upstream_stop (u);
}

static void
test_hostile (void)
{
  g_autoptr (NbDnsZone) zone = test_zone ("100.64.0.2");
  g_autoptr (NbDnsResolver) r = resolver_start (zone);
  guint16 port = nb_dns_resolver_get_port (r);
  g_autoptr (GSocket) s = udp_client ();
  NbDnsResolverStats st;
  g_autoptr (GBytes) a = NULL;
  ldns_pkt *p;
  /* header: ID 0x1234, RD, one question; the name is a pointer to itself */
  const guint8 loop[] = { 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1 };
  /* one question announced, none there */
  const guint8 missing[] = { 0x12, 0x35, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0 };
  /* a label running past the end */
  const guint8 cut[] = { 0x12, 0x36, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 30, 'a', 'b' };
  const guint8 tiny[] = { 0x12, 0x37, 0x01 };
  /* a response: never answered */
  const guint8 response[] = { 0x12, 0x38, 0x81, 0x80, 0, 0, 0, 0, 0, 0, 0, 0 };
  g_autofree guint8 *big = g_malloc (60000);
  g_autofree char *ok = NULL;

  /* compression loop, missing question, cut label: FORMERR with the ID */
  a = udp_raw (s, port, loop, sizeof loop, 2000);
  g_assert_nonnull (a);
  p = parse (a);
  g_assert_cmpint (ldns_pkt_get_rcode (p), ==, LDNS_RCODE_FORMERR);
  g_assert_cmpuint (ldns_pkt_id (p), ==, 0x1234);
  ldns_pkt_free (p);
  g_clear_pointer (&a, g_bytes_unref);

  a = udp_raw (s, port, missing, sizeof missing, 2000);
  g_assert_nonnull (a);
  p = parse (a);
  g_assert_cmpint (ldns_pkt_get_rcode (p), ==, LDNS_RCODE_FORMERR);
  ldns_pkt_free (p);
  g_clear_pointer (&a, g_bytes_unref);

  a = udp_raw (s, port, cut, sizeof cut, 2000);
  g_assert_nonnull (a);
  p = parse (a);
  g_assert_cmpint (ldns_pkt_get_rcode (p), ==, LDNS_RCODE_FORMERR);
  ldns_pkt_free (p);
  g_clear_pointer (&a, g_bytes_unref);

  /* too short for a header, and a response: dropped */
  a = udp_raw (s, port, tiny, sizeof tiny, 300);
  g_assert_null (a);
  a = udp_raw (s, port, response, sizeof response, 300);
  g_assert_null (a);

  /* oversize: 60,000 bytes of noise after a header */
  for (guint i = 0; i < 60000; i++)
    big[i] = (guint8) g_random_int ();
  big[2] = 0x01;
  a = udp_raw (s, port, big, 60000, 2000);
  if (a != NULL)
    {
      p = parse (a);
      g_assert_cmpint (ldns_pkt_get_rcode (p), ==, LDNS_RCODE_FORMERR);
      ldns_pkt_free (p);
      g_clear_pointer (&a, g_bytes_unref);
    }

  /* and it keeps answering */
  p = udp_ask (port, "peer2.netbird.test.", LDNS_RR_TYPE_A, FALSE);
  ok = first_a (p);
  g_assert_cmpstr (ok, ==, "100.64.0.2");
  ldns_pkt_free (p);

  nb_dns_resolver_get_stats (r, &st);
  g_test_message ("stats queries=%" G_GUINT64_FORMAT " formerr=%" G_GUINT64_FORMAT, st.queries, st.formerr);
  g_assert_cmpuint (st.queries, ==, 7);
  g_assert_cmpuint (st.formerr, >=, 4);
  g_assert_cmpuint (st.answered_locally, ==, 1);
}

static void
test_rate_limit (void)
{
  g_autoptr (NbDnsZone) zone = test_zone ("100.64.0.2");
  g_autoptr (NbDnsResolver) r = resolver_start (zone);
  guint16 port = nb_dns_resolver_get_port (r);
  g_autoptr (GSocket) s = udp_client ();
  g_autoptr (GBytes) q = make_query ("peer1.netbird.test.", LDNS_RR_TYPE_A, FALSE);
  g_autoptr (GSocketAddress) to = loopback (port);
  g_autofree guint8 *buf = g_malloc (65536);
  NbDnsResolverStats st;
  guint answers = 0;
  ldns_pkt *p;

  nb_dns_resolver_set_rate_limit (r, 20, 40);
  for (guint i = 0; i < 400; i++)
    g_assert_cmpint (g_socket_send_to (s, to, g_bytes_get_data (q, NULL), g_bytes_get_size (q), NULL, NULL), >, 0);
  while (g_socket_condition_timed_wait (s, G_IO_IN, 500 * 1000, NULL, NULL) &&
         g_socket_receive (s, (char *) buf, 65536, NULL, NULL) > 0)
    answers++;
  nb_dns_resolver_get_stats (r, &st);
  g_test_message ("flood: 400 sent, %u answered, rate_limited=%" G_GUINT64_FORMAT, answers, st.rate_limited);
  /* the kernel may drop some of the burst before the resolver reads it:
   * what it read was either answered or limited */
  g_assert_cmpuint (answers, >=, 40);
  g_assert_cmpuint (answers, <, 80);
  g_assert_cmpuint (st.rate_limited + answers, ==, st.queries);
  g_assert_cmpuint (st.rate_limited, >=, 150);

  /* the bucket refills: the same source is answered again */
  g_usleep (500 * 1000);
  p = udp_ask (port, "peer1.netbird.test.", LDNS_RR_TYPE_A, FALSE);
  g_assert_cmpint (ldns_pkt_get_rcode (p), ==, LDNS_RCODE_NOERROR);
  ldns_pkt_free (p);
}

/* The map's nameserver groups as the resolver takes them. */
static void
test_forward_groups_from_config (void)
{
  g_autoptr (NbMgmtMsgDnsConfig) config = nb_mgmt_msg_dns_config_new ();
  NbMgmtMsgNameServerGroup *g = nb_mgmt_msg_name_server_group_new ();
  const char *ns[][3] = { { "198.18.0.53", "udp", "0" }, { "fd00::53", "udp", "5353" },
                          { "198.18.0.54", "tcp", "53" } };
  NbDnsForwardGroup *groups;
  guint n = 0;

  for (guint i = 0; i < G_N_ELEMENTS (ns); i++)
    {
      NbMgmtMsgNameServer *s = nb_mgmt_msg_name_server_new ();
      s->ip = g_strdup (ns[i][0]);
      s->ns_type = g_strdup (ns[i][1]);
      s->port = g_ascii_strtoll (ns[i][2], NULL, 10);
      g_ptr_array_add (g->nameservers, s);
    }
  g_ptr_array_add (g->domains, g_strdup ("corp.test"));
  g_ptr_array_add (config->nameserver_groups, g);

  groups = nb_dns_forward_groups_from_config (config, &n);
  g_assert_cmpuint (n, ==, 1);
  g_assert_false (groups[0].primary);
  g_assert_cmpstrv (groups[0].domains, ((const char *[]) { "corp.test", NULL }));
  /* port 0 means 53; a TCP-only server is not one we speak to */
  g_assert_cmpstrv (groups[0].servers, ((const char *[]) { "198.18.0.53:53", "[fd00::53]:5353", NULL }));
  for (guint i = 0; groups[0].servers[i] != NULL; i++)
    {
      g_autoptr (GInetSocketAddress) a = nb_dns_parse_server (groups[0].servers[i], NULL);
      g_assert_nonnull (a);
    }
  nb_dns_forward_groups_free (groups, n);

  g_assert_null (nb_dns_parse_server ("198.18.0.1:99999", NULL));
  g_assert_null (nb_dns_parse_server ("[fd00::1", NULL));
  g_assert_null (nb_dns_parse_server ("resolver.example", NULL));
}

/* Junk on a TCP connection closes that connection only. */
static void
test_tcp_junk (void)
{
  g_autoptr (NbDnsZone) zone = test_zone ("100.64.0.2");
  g_autoptr (NbDnsResolver) r = resolver_start (zone);
  guint16 port = nb_dns_resolver_get_port (r);
  g_autoptr (GSocket) s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr (GSocketAddress) to = loopback (port);
  const guint8 junk[] = { 0, 3, 'a', 'b', 'c' };
  char buf[16];
  ldns_pkt *p;
  g_autofree char *a = NULL;
  NbDnsResolverStats st;

  g_socket_set_timeout (s, 5);
  g_assert_true (g_socket_connect (s, to, NULL, NULL));
  g_assert_cmpint (g_socket_send (s, (const char *) junk, sizeof junk, NULL, NULL), ==, sizeof junk);
  /* closed without an answer */
  g_assert_cmpint (g_socket_receive (s, buf, sizeof buf, NULL, NULL), ==, 0);

  p = tcp_ask (port, "peer2.netbird.test.", LDNS_RR_TYPE_A);
  a = first_a (p);
  g_assert_cmpstr (a, ==, "100.64.0.2");
  ldns_pkt_free (p);
  nb_dns_resolver_get_stats (r, &st);
  g_assert_cmpuint (st.formerr, ==, 1);
  g_assert_cmpuint (st.answered_locally, ==, 1);
}

static void
test_listen_errors (void)
{
  g_autoptr (NbDnsResolver) a = resolver_start (NULL);
  g_autoptr (NbDnsResolver) b = nb_dns_resolver_new ();
  g_autoptr (GError) error = NULL;

  g_assert_false (nb_dns_resolver_listen (b, "not-an-ip", 53, &error));
  g_assert_error (error, NB_DNS_ERROR, NB_DNS_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (nb_dns_resolver_listen (b, "127.0.0.1", nb_dns_resolver_get_port (a), &error));
  g_assert_error (error, NB_DNS_ERROR, NB_DNS_ERROR_LISTEN);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/dns/zone/answers", test_zone_answers);
  g_test_add_func ("/dns/zone/from-config", test_zone_from_config);
  g_test_add_func ("/dns/zone/swap-under-queries", test_zone_swap);
  g_test_add_func ("/dns/forward/match-domain", test_forward_match_domain);
  g_test_add_func ("/dns/forward/failover", test_forward_failover);
  g_test_add_func ("/dns/forward/tcp-on-truncation", test_forward_tcp_on_truncation);
  g_test_add_func ("/dns/forward/wrong-question", test_forward_wrong_question);
  g_test_add_func ("/dns/forward/groups-from-config", test_forward_groups_from_config);
  g_test_add_func ("/dns/hostile-packets", test_hostile);
  g_test_add_func ("/dns/tcp-junk", test_tcp_junk);
  g_test_add_func ("/dns/rate-limit", test_rate_limit);
  g_test_add_func ("/dns/listen-errors", test_listen_errors);
  return g_test_run ();
}
