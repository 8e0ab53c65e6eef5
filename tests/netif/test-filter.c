/* test-filter.c: the packet filter on crafted packets, with a clock of our own
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * Rules and their matching (ports, ranges, protocols, the "any peer"
 * address), the connection table (replies pass, unsolicited packets do
 * not, entries expire at the kernel's timeouts, a full table evicts), the
 * modes, hostile packets, and a rule set swapped under a packet stream on
 * another thread. Each test reads the filter's counters: a drop must be
 * counted under its reason.
 */
#include <string.h>
#include <arpa/inet.h>

#include "nb-filter-private.h"

#define SEC ((gint64) G_USEC_PER_SEC)
#define PEER "100.64.0.2"
#define OTHER "100.64.0.3"
#define US "100.64.0.1"

static gint64 now = 1000 * SEC;

/* -- packets ---------------------------------------------------------------- */

static guint16
csum_ignored (void)
{
  return 0; /* the filter never reads checksums */
}

static gsize
ipv4 (guint8 *out, const char *src, const char *dst, guint8 protocol, const guint8 *l4,
      gsize l4_len, guint16 frag)
{
  memset (out, 0, 20);
  out[0] = 0x45;
  out[2] = (guint8) ((20 + l4_len) >> 8);
  out[3] = (guint8) (20 + l4_len);
  out[6] = (guint8) (frag >> 8);
  out[7] = (guint8) frag;
  out[8] = 64;
  out[9] = protocol;
  out[10] = out[11] = (guint8) csum_ignored ();
  g_assert_cmpint (inet_pton (AF_INET, src, out + 12), ==, 1);
  g_assert_cmpint (inet_pton (AF_INET, dst, out + 16), ==, 1);
  memcpy (out + 20, l4, l4_len);
  return 20 + l4_len;
}

static gsize
tcp4 (guint8 *out, const char *src, guint16 sport, const char *dst, guint16 dport, guint8 flags)
{
  guint8 tcp[20] = { 0 };

  tcp[0] = sport >> 8, tcp[1] = sport & 0xff;
  tcp[2] = dport >> 8, tcp[3] = dport & 0xff;
  tcp[12] = 5 << 4;
  tcp[13] = flags;
  return ipv4 (out, src, dst, 6, tcp, sizeof tcp, 0);
}

static gsize
udp4 (guint8 *out, const char *src, guint16 sport, const char *dst, guint16 dport)
{
  guint8 udp[12] = { 0 };

  udp[0] = sport >> 8, udp[1] = sport & 0xff;
  udp[2] = dport >> 8, udp[3] = dport & 0xff;
  udp[5] = sizeof udp;
  return ipv4 (out, src, dst, 17, udp, sizeof udp, 0);
}

static gsize
icmp4 (guint8 *out, const char *src, const char *dst, guint8 type, guint16 id)
{
  guint8 icmp[16] = { type, 0, 0, 0, (guint8) (id >> 8), (guint8) id, 0, 1 };

  return ipv4 (out, src, dst, 1, icmp, sizeof icmp, 0);
}

static gsize
udp6 (guint8 *out, const char *src, guint16 sport, const char *dst, guint16 dport,
      const guint8 *ext, gsize ext_len, guint8 first_next)
{
  guint8 *udp;

  memset (out, 0, 40);
  out[0] = 0x60;
  out[4] = (guint8) ((ext_len + 8) >> 8);
  out[5] = (guint8) (ext_len + 8);
  out[6] = ext_len > 0 ? first_next : 17;
  out[7] = 64;
  g_assert_cmpint (inet_pton (AF_INET6, src, out + 8), ==, 1);
  g_assert_cmpint (inet_pton (AF_INET6, dst, out + 24), ==, 1);
  if (ext_len > 0)
    memcpy (out + 40, ext, ext_len);
  udp = out + 40 + ext_len;
  memset (udp, 0, 8);
  udp[0] = sport >> 8, udp[1] = sport & 0xff;
  udp[2] = dport >> 8, udp[3] = dport & 0xff;
  udp[5] = 8;
  return 48 + ext_len;
}

/* -- rules ------------------------------------------------------------------ */

static NbFilterRuleSet *
compile (const char *const *texts)
{
  g_autoptr(GArray) rules = g_array_new (FALSE, FALSE, sizeof (NbFilterRule));
  g_autoptr(GError) error = NULL;
  NbFilterRuleSet *set;

  for (guint i = 0; texts[i] != NULL; i++)
    {
      NbFilterRule rule;

      g_assert_true (nb_filter_rule_parse (texts[i], &rule, &error));
      g_assert_no_error (error);
      g_array_append_val (rules, rule);
    }
  set = nb_filter_rule_set_compile ((NbFilterRule *) (void *) rules->data, rules->len, &error);
  g_assert_no_error (error);
  g_assert_nonnull (set);
  g_assert_cmpuint (nb_filter_rule_set_get_n_rules (set), ==, rules->len);
  return set;
}

static NbFilter *
filter_with (const char *const *texts)
{
  NbFilter *filter = nb_filter_new (1024);

  g_assert_null (nb_filter_swap_rules (filter, compile (texts)));
  g_assert_true (nb_filter_is_active (filter));
  return filter;
}

static gboolean
in (NbFilter *filter, const guint8 *packet, gsize len)
{
  return nb_filter_inbound (filter, NULL, packet, len, now);
}

static gboolean
out (NbFilter *filter, const guint8 *packet, gsize len)
{
  return nb_filter_outbound (filter, NULL, packet, len, now);
}

static guint64
counter (NbFilter *filter, NbFilterCounter c)
{
  return nb_filter_get_counter (filter, c);
}

static void
test_no_rules_pass_all (void)
{
  NbFilter *filter = nb_filter_new (64);
  guint8 p[128];
  gsize len = tcp4 (p, PEER, 40000, US, 80, NB_FILTER_TCP_SYN);

  /* No rule set: the device's behaviour before it had a filter. */
  g_assert_false (nb_filter_is_active (filter));
  g_assert_true (in (filter, p, len));
  g_assert_true (out (filter, p, len));
  g_assert_cmpuint (nb_filter_conntrack_get_counter (nb_filter_get_conntrack (filter),
                                                     NB_FILTER_CONNTRACK_CREATED), ==, 0);
  for (guint c = 0; c < NB_FILTER_N_COUNTERS; c++)
    g_assert_cmpuint (counter (filter, c), ==, 0);
  nb_filter_free (filter);
}

static void
test_tcp_port (void)
{
  static const char *const rules[] = { "in accept tcp " PEER " 22", NULL };
  NbFilter *filter = filter_with (rules);
  guint8 p[128];
  gsize len;

  len = tcp4 (p, PEER, 40000, US, 22, NB_FILTER_TCP_SYN);
  g_assert_true (in (filter, p, len));
  len = tcp4 (p, PEER, 40000, US, 80, NB_FILTER_TCP_SYN);
  g_assert_false (in (filter, p, len));
  len = tcp4 (p, PEER, 40000, US, 23, NB_FILTER_TCP_SYN);
  g_assert_false (in (filter, p, len));
  /* Another peer, the same port: no rule for it. */
  len = tcp4 (p, OTHER, 40000, US, 22, NB_FILTER_TCP_SYN);
  g_assert_false (in (filter, p, len));
  /* UDP to 22 is not TCP to 22; ping has no rule. */
  len = udp4 (p, PEER, 40000, US, 22);
  g_assert_false (in (filter, p, len));
  len = icmp4 (p, PEER, US, 8, 7);
  g_assert_false (in (filter, p, len));

  g_assert_cmpuint (counter (filter, NB_FILTER_COUNTER_ACCEPT_RULE), ==, 1);
  g_assert_cmpuint (counter (filter, NB_FILTER_COUNTER_DROP_NO_RULE), ==, 5);
  nb_filter_free (filter);
}

static void
test_port_ranges (void)
{
  /* Overlapping and adjacent ranges merge; their edges hold. */
  static const char *const rules[] = {
    "in accept udp " PEER " 1000-1999",
    "in accept udp " PEER " 1500-2500",
    "in accept udp " PEER " 2501-2600",
    "in accept udp " PEER " 5000",
    "in accept udp " PEER " 60000-65535",
    "in accept tcp 0.0.0.0 443",
    NULL,
  };
  static const struct {
    guint16 port;
    gboolean pass;
  } cases[] = {
    { 999, FALSE }, { 1000, TRUE }, { 1999, TRUE }, { 2000, TRUE }, { 2500, TRUE },
    { 2600, TRUE }, { 2601, FALSE }, { 4999, FALSE }, { 5000, TRUE }, { 5001, FALSE },
    { 59999, FALSE }, { 60000, TRUE }, { 65535, TRUE }, { 1, FALSE },
  };
  NbFilter *filter = filter_with (rules);
  guint8 p[128];
  gsize len;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      len = udp4 (p, PEER, 33333, US, cases[i].port);
      if (in (filter, p, len) != cases[i].pass)
        g_error ("UDP port %u: expected %s", cases[i].port, cases[i].pass ? "pass" : "drop");
    }
  /* 0.0.0.0 is every IPv4 peer, not IPv6 ones. */
  len = tcp4 (p, "100.64.7.7", 5555, US, 443, NB_FILTER_TCP_SYN);
  g_assert_true (in (filter, p, len));
  len = tcp4 (p, "100.64.7.7", 5555, US, 444, NB_FILTER_TCP_SYN);
  g_assert_false (in (filter, p, len));
  nb_filter_free (filter);
}

static void
test_protocols (void)
{
  static const char *const rules[] = {
    "in accept all " PEER,
    "in accept icmp " OTHER,
    "in accept all 100.64.0.4 8000-8080",
    "in drop tcp " PEER " 25",
    NULL,
  };
  NbFilter *filter = filter_with (rules);
  guint8 p[128], gre[8] = { 0 };
  gsize len;

  /* "all": every protocol and port, but a drop rule wins. */
  len = tcp4 (p, PEER, 1, US, 9, NB_FILTER_TCP_SYN);
  g_assert_true (in (filter, p, len));
  len = udp4 (p, PEER, 1, US, 9);
  g_assert_true (in (filter, p, len));
  len = icmp4 (p, PEER, US, 8, 1);
  g_assert_true (in (filter, p, len));
  len = ipv4 (p, PEER, US, 47, gre, sizeof gre, 0);
  g_assert_true (in (filter, p, len));
  len = tcp4 (p, PEER, 1, US, 25, NB_FILTER_TCP_SYN);
  g_assert_false (in (filter, p, len));
  g_assert_cmpuint (counter (filter, NB_FILTER_COUNTER_DROP_RULE), ==, 1);

  /* ICMP only. */
  len = icmp4 (p, OTHER, US, 8, 1);
  g_assert_true (in (filter, p, len));
  len = udp4 (p, OTHER, 1, US, 9);
  g_assert_false (in (filter, p, len));
  /* GRE from a peer with no rule for every protocol: an unknown protocol. */
  len = ipv4 (p, OTHER, US, 47, gre, sizeof gre, 0);
  g_assert_false (in (filter, p, len));
  g_assert_cmpuint (counter (filter, NB_FILTER_COUNTER_DROP_PROTOCOL), ==, 1);

  /* "all" with ports: TCP and UDP on those ports, nothing else. */
  len = udp4 (p, "100.64.0.4", 1, US, 8080);
  g_assert_true (in (filter, p, len));
  len = tcp4 (p, "100.64.0.4", 1, US, 8000, NB_FILTER_TCP_SYN);
  g_assert_true (in (filter, p, len));
  len = icmp4 (p, "100.64.0.4", US, 8, 1);
  g_assert_false (in (filter, p, len));
  nb_filter_free (filter);
}

static void
test_ipv6 (void)
{
  static const char *const rules[] = { "in accept udp fd00::2 53", NULL };
  NbFilter *filter = filter_with (rules);
  /* Hop-by-hop, then a destination options header, then UDP. */
  guint8 ext[16] = { 60, 0, 1, 4, 0, 0, 0, 0, 17, 0, 1, 4, 0, 0, 0, 0 };
  guint8 p[256];
  gsize len;

  len = udp6 (p, "fd00::2", 5353, "fd00::1", 53, ext, sizeof ext, 0);
  g_assert_true (in (filter, p, len));
  len = udp6 (p, "fd00::2", 5353, "fd00::1", 54, ext, sizeof ext, 0);
  g_assert_false (in (filter, p, len));
  len = udp6 (p, "fd00::3", 5353, "fd00::1", 53, NULL, 0, 0);
  g_assert_false (in (filter, p, len));
  nb_filter_free (filter);
}

static void
test_invalid_rules (void)
{
  static const char *const bad_text[] = {
    "", "in", "in accept tcp", "up accept tcp " PEER, "in allow tcp " PEER,
    "in accept sctp " PEER, "in accept tcp 100.64.0.300", "in accept tcp " PEER " 70000",
    "in accept tcp " PEER " 22-", "in accept tcp " PEER " -22", "in accept tcp " PEER " 2 2 2",
    "in accept tcp " PEER " +22",
  };
  NbFilterRule rule = { 0 };
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (bad_text); i++)
    {
      g_assert_false (nb_filter_rule_parse (bad_text[i], &rule, &error));
      g_assert_error (error, NB_FILTER_ERROR, NB_FILTER_ERROR_INVALID_RULE);
      g_assert_nonnull (strstr (error->message, "is not a rule"));
      g_clear_error (&error);
    }

  /* Parsed, but not a rule: ports on ICMP, an empty range. */
  g_assert_true (nb_filter_rule_parse ("in accept icmp " PEER " 5", &rule, NULL));
  g_assert_null (nb_filter_rule_set_compile (&rule, 1, &error));
  g_assert_error (error, NB_FILTER_ERROR, NB_FILTER_ERROR_INVALID_RULE);
  g_assert_nonnull (strstr (error->message, "ICMP has no ports"));
  g_clear_error (&error);
  g_assert_true (nb_filter_rule_parse ("in accept tcp " PEER " 30-20", &rule, NULL));
  g_assert_null (nb_filter_rule_set_compile (&rule, 1, &error));
  g_assert_nonnull (strstr (error->message, "port range"));
  g_clear_error (&error);
  rule.family = 5;
  g_assert_null (nb_filter_rule_set_compile (&rule, 1, &error));
  g_assert_nonnull (strstr (error->message, "family"));
}

/* -- connection tracking ------------------------------------------------------ */

static void
test_conntrack_tcp (void)
{
  static const char *const rules[] = { "in accept tcp " PEER " 22", NULL };
  NbFilter *filter = filter_with (rules);
  guint8 p[128];
  gsize len;

  /* Unsolicited: dropped. */
  len = tcp4 (p, PEER, 443, US, 50000, NB_FILTER_TCP_SYN | NB_FILTER_TCP_ACK);
  g_assert_false (in (filter, p, len));
  /* We connect out to the peer's 443: the answer and what follows pass. */
  len = tcp4 (p, US, 50000, PEER, 443, NB_FILTER_TCP_SYN);
  g_assert_true (out (filter, p, len));
  len = tcp4 (p, PEER, 443, US, 50000, NB_FILTER_TCP_SYN | NB_FILTER_TCP_ACK);
  g_assert_true (in (filter, p, len));
  len = tcp4 (p, PEER, 443, US, 50000, NB_FILTER_TCP_ACK);
  g_assert_true (in (filter, p, len));
  /* Another port of the same peer, or the same port of another: not ours. */
  len = tcp4 (p, PEER, 444, US, 50000, NB_FILTER_TCP_ACK);
  g_assert_false (in (filter, p, len));
  len = tcp4 (p, OTHER, 443, US, 50000, NB_FILTER_TCP_ACK);
  g_assert_false (in (filter, p, len));

  /* Established: still there after four days of silence... */
  now += 4 * 24 * 3600 * SEC;
  len = tcp4 (p, PEER, 443, US, 50000, NB_FILTER_TCP_ACK);
  g_assert_true (in (filter, p, len));
  /* ...and a FIN shortens its life to 120 s. */
  len = tcp4 (p, US, 50000, PEER, 443, NB_FILTER_TCP_FIN | NB_FILTER_TCP_ACK);
  g_assert_true (out (filter, p, len));
  now += 119 * SEC;
  len = tcp4 (p, PEER, 443, US, 50000, NB_FILTER_TCP_FIN | NB_FILTER_TCP_ACK);
  g_assert_true (in (filter, p, len));
  now += 121 * SEC;
  len = tcp4 (p, PEER, 443, US, 50000, NB_FILTER_TCP_ACK);
  g_assert_false (in (filter, p, len));

  /* A SYN with no answer lives 120 s. */
  len = tcp4 (p, US, 50001, PEER, 443, NB_FILTER_TCP_SYN);
  g_assert_true (out (filter, p, len));
  now += 121 * SEC;
  len = tcp4 (p, PEER, 443, US, 50001, NB_FILTER_TCP_SYN | NB_FILTER_TCP_ACK);
  g_assert_false (in (filter, p, len));

  /* A RST: 10 s. */
  len = tcp4 (p, US, 50002, PEER, 443, NB_FILTER_TCP_SYN);
  g_assert_true (out (filter, p, len));
  len = tcp4 (p, PEER, 443, US, 50002, NB_FILTER_TCP_RST | NB_FILTER_TCP_ACK);
  g_assert_true (in (filter, p, len));
  now += 11 * SEC;
  len = tcp4 (p, PEER, 443, US, 50002, NB_FILTER_TCP_ACK);
  g_assert_false (in (filter, p, len));

  g_assert_cmpuint (counter (filter, NB_FILTER_COUNTER_ACCEPT_CONNTRACK), ==, 5);
  g_assert_cmpuint (counter (filter, NB_FILTER_COUNTER_DROP_NO_RULE), ==, 6);
  g_assert_cmpuint (counter (filter, NB_FILTER_COUNTER_ACCEPT_RULE), ==, 0);
  nb_filter_free (filter);
}

static void
test_conntrack_udp_icmp (void)
{
  static const char *const rules[] = { "in accept tcp " PEER " 22", NULL };
  NbFilter *filter = filter_with (rules);
  NbFilterConntrack *ct = nb_filter_get_conntrack (filter);
  guint8 p[128];
  gsize len;

  /* UDP: 30 s unanswered. */
  len = udp4 (p, US, 5000, PEER, 53);
  g_assert_true (out (filter, p, len));
  g_assert_cmpuint (nb_filter_conntrack_count_live (ct, now), ==, 1);
  now += 31 * SEC;
  g_assert_cmpuint (nb_filter_conntrack_count_live (ct, now), ==, 0);
  len = udp4 (p, PEER, 53, US, 5000);
  g_assert_false (in (filter, p, len));

  /* Answered: 120 s from the last packet. */
  len = udp4 (p, US, 5000, PEER, 53);
  g_assert_true (out (filter, p, len));
  now += 29 * SEC;
  len = udp4 (p, PEER, 53, US, 5000);
  g_assert_true (in (filter, p, len));
  now += 119 * SEC;
  g_assert_true (in (filter, p, len));
  now += 121 * SEC;
  g_assert_false (in (filter, p, len));

  /* Ping: our echo request lets its reply in for 30 s; their request with
   * the same identifier is not a reply. */
  len = icmp4 (p, US, PEER, 8, 0x1234);
  g_assert_true (out (filter, p, len));
  len = icmp4 (p, PEER, US, 8, 0x1234);
  g_assert_false (in (filter, p, len));
  len = icmp4 (p, PEER, US, 0, 0x1235);
  g_assert_false (in (filter, p, len));
  len = icmp4 (p, PEER, US, 0, 0x1234);
  g_assert_true (in (filter, p, len));
  now += 31 * SEC;
  g_assert_false (in (filter, p, len));

  g_assert_cmpuint (counter (filter, NB_FILTER_COUNTER_ACCEPT_CONNTRACK), ==, 3);
  g_assert_cmpuint (nb_filter_conntrack_get_counter (ct, NB_FILTER_CONNTRACK_CREATED), ==, 3);
  nb_filter_free (filter);
}

static void
test_conntrack_related_icmp (void)
{
  static const char *const rules[] = { "in accept tcp " PEER " 22", NULL };
  NbFilter *filter = filter_with (rules);
  guint8 ours[128], p[256];
  gsize ours_len, len;
  guint8 icmp[8 + 128] = { 3, 4 }; /* unreachable, fragmentation needed */

  ours_len = udp4 (ours, US, 6000, PEER, 7000);
  g_assert_true (out (filter, ours, ours_len));
  memcpy (icmp + 8, ours, 28);
  len = ipv4 (p, PEER, US, 1, icmp, 8 + 28, 0);
  g_assert_true (in (filter, p, len));
  g_assert_cmpuint (counter (filter, NB_FILTER_COUNTER_ACCEPT_RELATED), ==, 1);

  /* An error quoting a flow we never opened. */
  ours_len = udp4 (ours, US, 6001, PEER, 7000);
  memcpy (icmp + 8, ours, 28);
  len = ipv4 (p, PEER, US, 1, icmp, 8 + 28, 0);
  g_assert_false (in (filter, p, len));
  /* One quoting too little to name the flow. */
  len = ipv4 (p, PEER, US, 1, icmp, 8 + 22, 0);
  g_assert_false (in (filter, p, len));
  g_assert_cmpuint (counter (filter, NB_FILTER_COUNTER_DROP_NO_RULE), ==, 2);
  nb_filter_free (filter);
}

static void
test_conntrack_eviction (void)
{
  NbFilterConntrack *ct = nb_filter_conntrack_new (64);
  NbFilterFlowKey key = { .protocol = 17, .family = 4, .remote_port = 53 };
  guint live;

  g_assert_cmpuint (nb_filter_conntrack_get_capacity (ct), ==, 64);
  for (guint i = 0; i < 1000; i++)
    {
      key.local_port = (guint16) (10000 + i);
      nb_filter_conntrack_outbound (ct, &key, 0, TRUE, now + i);
    }
  live = nb_filter_conntrack_count_live (ct, now + 1000);
  /* Bounded by its capacity; the newest flow is in, older ones gave way. */
  g_assert_cmpuint (live, <=, 64);
  g_assert_cmpuint (live, >=, 32);
  g_assert_cmpuint (nb_filter_conntrack_get_counter (ct, NB_FILTER_CONNTRACK_CREATED), ==, 1000);
  g_assert_cmpuint (nb_filter_conntrack_get_counter (ct, NB_FILTER_CONNTRACK_EVICTED), ==,
                    1000 - live);
  g_assert_true (nb_filter_conntrack_contains (ct, &key, now + 1000));
  /* Expired entries make room without an eviction. */
  key.local_port = 1;
  nb_filter_conntrack_outbound (ct, &key, 0, TRUE, now + 31 * SEC + 1000);
  g_assert_cmpuint (nb_filter_conntrack_get_counter (ct, NB_FILTER_CONNTRACK_EVICTED), ==,
                    1000 - live);
  nb_filter_conntrack_free (ct);
}

/* -- modes and hostile packets ------------------------------------------------ */

static void
test_modes (void)
{
  static const char *const rules[] = { "in accept tcp " PEER " 22", NULL };
  NbFilter *filter = filter_with (rules);
  guint8 p[128];
  gsize len;

  nb_filter_set_mode (filter, NB_FILTER_MODE_BLOCK_INBOUND);
  g_assert_cmpstr (nb_filter_mode_to_string (nb_filter_get_mode (filter)), ==, "block-inbound");
  /* No new inbound connection, even one a rule allows... */
  len = tcp4 (p, PEER, 40000, US, 22, NB_FILTER_TCP_SYN);
  g_assert_false (in (filter, p, len));
  g_assert_cmpuint (counter (filter, NB_FILTER_COUNTER_DROP_BLOCK_INBOUND), ==, 1);
  /* ...but replies to ours. */
  len = tcp4 (p, US, 40001, PEER, 80, NB_FILTER_TCP_SYN);
  g_assert_true (out (filter, p, len));
  len = tcp4 (p, PEER, 80, US, 40001, NB_FILTER_TCP_SYN | NB_FILTER_TCP_ACK);
  g_assert_true (in (filter, p, len));

  /* Block-inbound holds without any rule set too. */
  nb_filter_rule_set_free (nb_filter_swap_rules (filter, NULL));
  g_assert_true (nb_filter_is_active (filter));
  len = icmp4 (p, PEER, US, 8, 1);
  g_assert_false (in (filter, p, len));

  /* Disabled: everything passes and nothing is counted. */
  nb_filter_set_mode (filter, NB_FILTER_MODE_DISABLED);
  g_assert_false (nb_filter_is_active (filter));
  g_assert_true (in (filter, p, len));
  g_assert_cmpuint (counter (filter, NB_FILTER_COUNTER_DROP_BLOCK_INBOUND), ==, 2);
  nb_filter_free (filter);
}

static void
test_hostile (void)
{
  static const char *const rules[] = { "in accept tcp " PEER " 22", "in accept all " OTHER, NULL };
  NbFilter *filter = filter_with (rules);
  guint8 p[256], tcp[20] = { 0 };
  guint8 frag_ext[8] = { 17, 0, 0x01, 0x00, 0, 0, 0, 1 }; /* offset 32, then UDP */
  guint8 deep[9 * 8];
  gsize len;

  /* Truncated transport headers, lengths that lie. */
  len = ipv4 (p, PEER, US, 6, tcp, 12, 0);
  g_assert_false (in (filter, p, len));
  len = tcp4 (p, PEER, 1, US, 22, NB_FILTER_TCP_SYN);
  p[20 + 12] = 15 << 4; /* data offset past the end */
  g_assert_false (in (filter, p, len));
  len = tcp4 (p, PEER, 1, US, 22, NB_FILTER_TCP_SYN);
  g_assert_false (in (filter, p, len - 1)); /* total length longer than the buffer */
  p[0] = 0x44;                             /* header length 16 */
  g_assert_false (in (filter, p, len));
  g_assert_false (in (filter, p, 10));
  p[0] = 0x75;
  g_assert_false (in (filter, p, len));
  g_assert_cmpuint (counter (filter, NB_FILTER_COUNTER_DROP_MALFORMED), ==, 6);

  /* A later IPv4 fragment: no ports, so only a peer allowed everything
   * gets it through. */
  memset (tcp, 0, sizeof tcp);
  len = ipv4 (p, PEER, US, 6, tcp, sizeof tcp, 0x0004);
  g_assert_false (in (filter, p, len));
  len = ipv4 (p, OTHER, US, 6, tcp, sizeof tcp, 0x0004);
  g_assert_true (in (filter, p, len));
  /* An IPv6 one (fragment header, offset 32). */
  len = udp6 (p, "fd00::2", 1, "fd00::1", 22, frag_ext, sizeof frag_ext, 44);
  g_assert_false (in (filter, p, len));
  g_assert_cmpuint (counter (filter, NB_FILTER_COUNTER_DROP_FRAGMENT), ==, 2);

  /* Nine extension headers: more than any honest packet carries. */
  for (guint i = 0; i < 9; i++)
    {
      memset (deep + i * 8, 0, 8);
      deep[i * 8] = i < 8 ? 60 : 17;
    }
  len = udp6 (p, "fd00::2", 1, "fd00::1", 22, deep, sizeof deep, 60);
  g_assert_false (in (filter, p, len));
  g_assert_cmpuint (counter (filter, NB_FILTER_COUNTER_DROP_MALFORMED), ==, 7);
  nb_filter_free (filter);
}

static void
test_flow_cache (void)
{
  static const char *const a[] = { "in accept udp " PEER " 9000", NULL };
  NbFilter *filter = filter_with (a);
  NbFilterFlowCache cache = { 0 };
  guint8 p[128];
  gsize len = udp4 (p, PEER, 1, US, 9000);

  /* The flow's later packets are let in by the cache, not counted again. */
  for (guint i = 0; i < 100; i++)
    g_assert_true (nb_filter_inbound (filter, &cache, p, len, now));
  g_assert_cmpuint (counter (filter, NB_FILTER_COUNTER_ACCEPT_RULE), ==, 1);
  /* A new rule set ends what the cache knew at once. */
  nb_filter_rule_set_free (nb_filter_swap_rules (filter, compile ((const char *const[]) { "in accept udp " PEER " 9001", NULL })));
  g_assert_false (nb_filter_inbound (filter, &cache, p, len, now));
  nb_filter_free (filter);
}

/* -- a swap under a packet stream ---------------------------------------------- */

/* Each set drops UDP 1000 and 2000 through two rules that only together
 * drop a port: the peer's accept and everyone's drop. A packet that saw
 * the peer's entry of one set and the wildcard of the other would pass.
 * Set A also lets in port 3000, so the stream sees the swaps happen. */
static const char *const swap_a[] = {
  "in accept udp " PEER " 1000", "in drop udp 0.0.0.0 1000", "in accept udp " PEER " 3000", NULL,
};
static const char *const swap_b[] = {
  "in accept udp " PEER " 2000", "in drop udp 0.0.0.0 2000", NULL,
};

typedef struct {
  NbFilter *filter;
  gint stop;
  guint seen_a;     /* port 3000 passed: set A */
  guint seen_b;     /* port 3000 dropped: set B */
  guint half;       /* 1000 or 2000 passed: half of a set */
  guint64 packets;
} Stream;

static gpointer
stream_thread (gpointer data)
{
  Stream *s = data;
  NbFilterFlowCache cache = { 0 };
  guint8 p1[128], p2[128], p3[128];
  gsize l1 = udp4 (p1, PEER, 1, US, 1000);
  gsize l2 = udp4 (p2, PEER, 1, US, 2000);
  gsize l3 = udp4 (p3, PEER, 1, US, 3000);

  while (!g_atomic_int_get (&s->stop))
    for (guint i = 0; i < 1000; i++)
      {
        if (nb_filter_inbound (s->filter, NULL, p1, l1, now) ||
            nb_filter_inbound (s->filter, NULL, p2, l2, now))
          s->half++;
        if (nb_filter_inbound (s->filter, &cache, p3, l3, now))
          s->seen_a++;
        else
          s->seen_b++;
        s->packets += 3;
      }
  return NULL;
}

static void
test_swap_under_stream (void)
{
  Stream s = { 0 };
  GPtrArray *retired = g_ptr_array_new_with_free_func ((GDestroyNotify) nb_filter_rule_set_free);
  GThread *thread;
  gint64 start;
  guint swaps = 0;

  s.filter = filter_with (swap_a);
  thread = g_thread_new ("stream", stream_thread, &s);
  start = g_get_monotonic_time ();
  while (g_get_monotonic_time () - start < G_USEC_PER_SEC / 2 ||
         g_atomic_int_get (&s.seen_a) == 0 || g_atomic_int_get (&s.seen_b) == 0)
    {
      NbFilterRuleSet *old = nb_filter_swap_rules (s.filter, compile (swaps % 2 ? swap_a : swap_b));

      /* Readers hold no reference: a set retires once the stream is over
       * (the device frees it after its configuration lock instead). */
      g_ptr_array_add (retired, old);
      swaps++;
      g_usleep (200);
      g_assert_cmpint (g_get_monotonic_time () - start, <, 20 * G_USEC_PER_SEC);
    }
  g_atomic_int_set (&s.stop, 1);
  g_thread_join (thread);
  g_test_message ("%u swaps under %" G_GUINT64_FORMAT " packets: port 3000 in %u times, "
                  "out %u times",
                  swaps, s.packets, s.seen_a, s.seen_b);
  g_assert_cmpuint (s.half, ==, 0);
  g_assert_cmpuint (s.seen_a, >, 0);
  g_assert_cmpuint (s.seen_b, >, 0);
  /* Every drop counted: by a drop rule, or for want of a rule (set B
   * says nothing of 1000 and 3000, set A nothing of 2000). */
  g_assert_cmpuint (counter (s.filter, NB_FILTER_COUNTER_DROP_RULE) +
                        counter (s.filter, NB_FILTER_COUNTER_DROP_NO_RULE),
                    ==, s.packets - s.seen_a);
  g_ptr_array_unref (retired);
  nb_filter_free (s.filter);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/filter/rules/no-rules-pass-all", test_no_rules_pass_all);
  g_test_add_func ("/filter/rules/tcp-port", test_tcp_port);
  g_test_add_func ("/filter/rules/port-ranges", test_port_ranges);
  g_test_add_func ("/filter/rules/protocols", test_protocols);
  g_test_add_func ("/filter/rules/ipv6", test_ipv6);
  g_test_add_func ("/filter/rules/invalid", test_invalid_rules);
  g_test_add_func ("/filter/conntrack/tcp", test_conntrack_tcp);
  g_test_add_func ("/filter/conntrack/udp-icmp", test_conntrack_udp_icmp);
  g_test_add_func ("/filter/conntrack/related-icmp", test_conntrack_related_icmp);
  g_test_add_func ("/filter/conntrack/eviction", test_conntrack_eviction);
  g_test_add_func ("/filter/modes", test_modes);
  g_test_add_func ("/filter/hostile", test_hostile);
  g_test_add_func ("/filter/flow-cache", test_flow_cache);
  g_test_add_func ("/filter/swap-under-stream", test_swap_under_stream);
  return g_test_run ();
}
