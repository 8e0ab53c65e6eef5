/* nb-dns-bench.c: the resolver under load, for tests/bench/dns.sh
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 *   nb-dns-bench serve PEERS       a zone of PEERS names (peerN.netbird.test),
 *                                  no rate limit; prints "port=P" and serves
 *                                  until stdin closes, then "stats ..."
 *   nb-dns-bench swap PEERS RUNS   RUNS times: a new zone moves peer0 to a new
 *                                  address; the time until a client asking
 *                                  in a loop gets the new one
 */
#include <stdio.h>
#include <string.h>

#include "nb-dns-private.h"

static NbDnsZone *
make_zone (guint peers, guint generation)
{
  NbDnsZone *zone = nb_dns_zone_new ();

  nb_dns_zone_add_domain (zone, "netbird.test");
  for (guint i = 0; i < peers; i++)
    {
      g_autofree char *name = g_strdup_printf ("peer%u.netbird.test", i);
      g_autofree char *ip = g_strdup_printf ("100.%u.%u.%u", 64 + (i >> 16) % 64, (i >> 8) & 0xff, i & 0xff);

      if (i == 0)
        {
          g_free (ip);
          ip = g_strdup_printf ("198.18.%u.%u", (generation >> 8) & 0xff, generation & 0xff);
        }
      if (!nb_dns_zone_add_record (zone, name, LDNS_RR_TYPE_A, 5, ip, NULL))
        g_error ("cannot add %s", name);
    }
  return zone;
}

static int
serve (guint peers)
{
  g_autoptr (NbDnsResolver) r = nb_dns_resolver_new ();
  g_autoptr (NbDnsZone) zone = make_zone (peers, 0);
  g_autoptr (GError) error = NULL;
  NbDnsResolverStats st;
  char line[64];

  nb_dns_resolver_set_rate_limit (r, 0, 1);
  nb_dns_resolver_set_zone (r, zone);
  if (!nb_dns_resolver_listen (r, "127.0.0.1", 0, &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  printf ("port=%u\n", nb_dns_resolver_get_port (r));
  fflush (stdout);
  while (fgets (line, sizeof line, stdin) != NULL)
    ;
  nb_dns_resolver_get_stats (r, &st);
  printf ("stats queries=%" G_GUINT64_FORMAT " answered_locally=%" G_GUINT64_FORMAT
          " formerr=%" G_GUINT64_FORMAT " rate_limited=%" G_GUINT64_FORMAT "\n",
          st.queries, st.answered_locally, st.formerr, st.rate_limited);
  nb_dns_resolver_close (r);
  return 0;
}

static int
cmp_i64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;
  return (x > y) - (x < y);
}

static int
swap (guint peers, guint runs)
{
  g_autoptr (NbDnsResolver) r = nb_dns_resolver_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocket) s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, NULL);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) to = NULL;
  g_autofree gint64 *times = g_new (gint64, runs);
  g_autoptr (NbDnsZone) first = make_zone (peers, 0);
  ldns_pkt *qpkt = NULL;
  guint8 *q = NULL;
  size_t qlen = 0;
  guint8 buf[4096];
  gint64 build_total = 0;

  nb_dns_resolver_set_rate_limit (r, 0, 1);
  nb_dns_resolver_set_zone (r, first);
  if (!nb_dns_resolver_listen (r, "127.0.0.1", 0, &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  to = g_inet_socket_address_new (lo, nb_dns_resolver_get_port (r));
  g_socket_set_timeout (s, 2);
  ldns_pkt_query_new_frm_str (&qpkt, "peer0.netbird.test.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, LDNS_RD);
  ldns_pkt2wire (&q, qpkt, &qlen);
  ldns_pkt_free (qpkt);

  for (guint run = 0; run < runs; run++)
    {
      guint generation = run + 1;
      g_autofree char *want = g_strdup_printf ("198.18.%u.%u", (generation >> 8) & 0xff, generation & 0xff);
      gint64 t0 = g_get_monotonic_time ();
      g_autoptr (NbDnsZone) zone = make_zone (peers, generation);
      gint64 t1 = g_get_monotonic_time ();
      gboolean seen = FALSE;

      build_total += t1 - t0;
      nb_dns_resolver_set_zone (r, zone);
      while (!seen)
        {
          gssize n;
          ldns_pkt *a = NULL;

          if (g_socket_send_to (s, to, (const char *) q, qlen, NULL, NULL) < 0 ||
              (n = g_socket_receive (s, (char *) buf, sizeof buf, NULL, NULL)) <= 0)
            {
              g_printerr ("FAIL: no answer\n");
              return 1;
            }
          if (ldns_wire2pkt (&a, buf, n) == LDNS_STATUS_OK && ldns_pkt_ancount (a) > 0)
            {
              g_autofree char *ip = ldns_rdf2str (ldns_rr_rdf (ldns_rr_list_rr (ldns_pkt_answer (a), 0), 0));
              seen = g_strcmp0 (ip, want) == 0;
            }
          ldns_pkt_free (a);
          if (g_get_monotonic_time () - t1 > G_USEC_PER_SEC)
            {
              g_printerr ("FAIL: the new zone was not served within a second\n");
              return 1;
            }
        }
      times[run] = g_get_monotonic_time () - t1;
    }
  free (q);
  qsort (times, runs, sizeof *times, cmp_i64);
  printf ("swap_to_answer_us median=%" G_GINT64_FORMAT " p99=%" G_GINT64_FORMAT " max=%" G_GINT64_FORMAT
          " (runs=%u, zone of %u names built in %" G_GINT64_FORMAT " us on average)\n",
          times[runs / 2], times[MIN (runs - 1, runs * 99 / 100)], times[runs - 1], runs, peers,
          build_total / runs);
  return 0;
}

int
main (int argc, char **argv)
{
  if (argc == 3 && strcmp (argv[1], "serve") == 0)
    return serve ((guint) g_ascii_strtoull (argv[2], NULL, 10));
  if (argc == 4 && strcmp (argv[1], "swap") == 0)
    return swap ((guint) g_ascii_strtoull (argv[2], NULL, 10), MAX (1, (guint) g_ascii_strtoull (argv[3], NULL, 10)));
  g_printerr ("usage: %s serve PEERS | swap PEERS RUNS\n", argv[0]);
  return 2;
}
