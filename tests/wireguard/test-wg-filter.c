/* test-wg-filter.c: the packet filter in a device's data path
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * Two devices over loopback UDP (wg-test-pair.h): A's filter judges what
 * B sends after A decrypted it, and learns A's own flows before A
 * encrypts them; its rule sets are swapped while B streams packets at it
 * from another thread. The device's rx_drop_filter and the filter's
 * counters must account for every packet that did not arrive.
 */
#include "wg-test-pair.h"

#define A_ADDR "100.64.0.1"
#define B_ADDR "100.64.0.2"

typedef struct {
  guint by_port[3]; /* 1000, 2000, other: atomic */
} Arrivals;

static gsize
udp (guint8 *out, const char *src, guint16 sport, const char *dst, guint16 dport)
{
  gsize len = make_ipv4 (out, src, dst, 32);

  out[20] = sport >> 8, out[21] = sport & 0xff;
  out[22] = dport >> 8, out[23] = dport & 0xff;
  out[24] = 0, out[25] = 40;
  return len;
}

static void
arrivals_cb (NbWgDevice *device, NbWgPeer *peer, const guint8 *packet, gsize len,
             gpointer user_data)
{
  Arrivals *arrivals = user_data;
  guint16 port = len >= 24 ? (guint16) ((packet[22] << 8) | packet[23]) : 0;
  guint slot = port == 1000 ? 0 : port == 2000 ? 1 : 2;

  __atomic_fetch_add (&arrivals->by_port[slot], 1, __ATOMIC_SEQ_CST);
}

static guint
arrived (Arrivals *arrivals, guint slot)
{
  return __atomic_load_n (&arrivals->by_port[slot], __ATOMIC_SEQ_CST);
}

static NbFilterRuleSet *
rules (const char *const *texts)
{
  NbFilterRule rule[8];
  guint n = 0;
  g_autoptr(GError) error = NULL;
  NbFilterRuleSet *set;

  for (; texts[n] != NULL; n++)
    g_assert_true (nb_filter_rule_parse (texts[n], &rule[n], NULL));
  set = nb_filter_rule_set_compile (rule, n, &error);
  g_assert_no_error (error);
  return set;
}

typedef struct {
  Arrivals *arrivals;
  guint slot;
  guint want;
} ArrivalWait;

static gboolean
arrivals_reach (gpointer data)
{
  ArrivalWait *w = data;

  return arrived (w->arrivals, w->slot) >= w->want;
}

static void
wait_arrivals (Arrivals *arrivals, guint slot, guint want)
{
  ArrivalWait w = { arrivals, slot, want };

  g_assert_true (wait_for (arrivals_reach, &w));
}

static gboolean
counter_reaches (gpointer data)
{
  CounterWait *w = data;

  return nb_wg_device_get_counter (w->dev, w->counter) >= w->at_least;
}

static void
wait_counter (NbWgDevice *dev, NbWgCounter counter, guint64 at_least)
{
  CounterWait w = { dev, counter, at_least };

  g_assert_true (wait_for (counter_reaches, &w));
}

/* A allows only UDP 1000 from B; B's other packets are dropped after
 * decryption, and the replies of A's own flows come in. */
static void
test_inbound_and_replies (void)
{
  static const char *const allow_1000[] = { "in accept udp " B_ADDR " 1000", NULL };
  Pair pair = { 0 };
  Arrivals arrivals = { 0 };
  NbFilter *filter;
  guint8 p[256];
  gsize len;

  pair_setup (&pair, NULL);
  check_exchange (&pair);
  g_assert_null (nb_wg_device_get_filter (pair.a.dev));
  nb_wg_device_set_packet_func (pair.a.dev, arrivals_cb, &arrivals);
  nb_wg_device_set_filter_rule_set (pair.a.dev, rules (allow_1000));
  filter = nb_wg_device_get_filter (pair.a.dev);
  g_assert_nonnull (filter);
  g_assert_cmpuint (nb_filter_get_n_rules (filter), ==, 1);

  len = udp (p, B_ADDR, 7, A_ADDR, 1000);
  g_assert_true (nb_wg_device_inject_packet (pair.b.dev, p, len));
  wait_arrivals (&arrivals, 0, 1);
  len = udp (p, B_ADDR, 7, A_ADDR, 2000);
  g_assert_true (nb_wg_device_inject_packet (pair.b.dev, p, len));
  wait_counter (pair.a.dev, NB_WG_COUNTER_RX_DROP_FILTER, 1);
  g_assert_cmpuint (nb_filter_get_counter (filter, NB_FILTER_COUNTER_DROP_NO_RULE), ==, 1);

  /* A opens a flow from its 2000 to B's 53: B's answer comes in. */
  len = udp (p, A_ADDR, 2000, B_ADDR, 53);
  g_assert_true (nb_wg_device_inject_packet (pair.a.dev, p, len));
  g_assert_cmpuint (nb_filter_conntrack_get_counter (nb_filter_get_conntrack (filter),
                                                     NB_FILTER_CONNTRACK_CREATED), ==, 1);
  len = udp (p, B_ADDR, 53, A_ADDR, 2000);
  g_assert_true (nb_wg_device_inject_packet (pair.b.dev, p, len));
  wait_arrivals (&arrivals, 1, 1);
  g_assert_cmpuint (nb_filter_get_counter (filter, NB_FILTER_COUNTER_ACCEPT_CONNTRACK), ==, 1);

  /* Block-inbound: even 1000 stays out; disabled: everything comes in. */
  nb_wg_device_set_filter_mode (pair.a.dev, NB_FILTER_MODE_BLOCK_INBOUND);
  len = udp (p, B_ADDR, 7, A_ADDR, 1000);
  g_assert_true (nb_wg_device_inject_packet (pair.b.dev, p, len));
  wait_counter (pair.a.dev, NB_WG_COUNTER_RX_DROP_FILTER, 2);
  g_assert_cmpuint (nb_filter_get_counter (filter, NB_FILTER_COUNTER_DROP_BLOCK_INBOUND), ==, 1);
  nb_wg_device_set_filter_mode (pair.a.dev, NB_FILTER_MODE_DISABLED);
  len = udp (p, B_ADDR, 7, A_ADDR, 3000);
  g_assert_true (nb_wg_device_inject_packet (pair.b.dev, p, len));
  wait_arrivals (&arrivals, 2, 1);

  /* An outbound drop rule stops A's packet before it is encrypted. */
  {
    static const char *const no_dns[] = { "out drop udp " B_ADDR " 53", NULL };
    guint64 sent = nb_wg_device_get_counter (pair.a.dev, NB_WG_COUNTER_TX_DATA_PACKETS);

    nb_wg_device_set_filter_mode (pair.a.dev, NB_FILTER_MODE_ENFORCING);
    nb_wg_device_set_filter_rule_set (pair.a.dev, rules (no_dns));
    len = udp (p, A_ADDR, 2001, B_ADDR, 53);
    g_assert_false (nb_wg_device_inject_packet (pair.a.dev, p, len));
    g_assert_cmpuint (nb_wg_device_get_counter (pair.a.dev, NB_WG_COUNTER_TX_DROP_FILTER), ==, 1);
    g_assert_cmpuint (nb_wg_device_get_counter (pair.a.dev, NB_WG_COUNTER_TX_DATA_PACKETS), ==,
                      sent);
  }

  /* No rules again: everything passes, as before there was a filter. */
  nb_wg_device_set_filter_rule_set (pair.a.dev, NULL);
  g_assert_false (nb_filter_is_active (filter));
  len = udp (p, B_ADDR, 7, A_ADDR, 2000);
  g_assert_true (nb_wg_device_inject_packet (pair.b.dev, p, len));
  wait_arrivals (&arrivals, 1, 2);
  g_assert_cmpuint (nb_wg_device_get_counter (pair.a.dev, NB_WG_COUNTER_RX_DROP_FILTER), ==, 2);
  pair_teardown (&pair);
}

typedef struct {
  NbWgDevice *dev;
  guint n;
  gint done;
} Sender;

static gpointer
send_thread (gpointer data)
{
  Sender *s = data;
  guint8 p1[256], p2[256];
  gsize l1 = udp (p1, B_ADDR, 7, A_ADDR, 1000);
  gsize l2 = udp (p2, B_ADDR, 7, A_ADDR, 2000);

  for (guint i = 0; i < s->n; i++)
    {
      g_assert_true (nb_wg_device_inject_packet (s->dev, p1, l1));
      g_assert_true (nb_wg_device_inject_packet (s->dev, p2, l2));
      /* Paced, so that loopback UDP loses nothing. */
      if (i % 32 == 31)
        g_usleep (1000);
    }
  g_atomic_int_set (&s->done, 1);
  return NULL;
}

/* Rule sets replaced while B streams at A: port 1000 is allowed by both
 * sets, so every packet to it arrives; port 2000 by one of them, so each
 * of its packets either arrives or is counted as a filter drop. The old
 * sets are freed as the swaps go (the sanitizer build watches that). */
static void
test_swap_under_traffic (void)
{
  static const char *const narrow[] = { "in accept udp " B_ADDR " 1000", NULL };
  static const char *const wide[] = {
    "in accept udp " B_ADDR " 1000", "in accept udp " B_ADDR " 2000", NULL,
  };
  Pair pair = { 0 };
  Arrivals arrivals = { 0 };
  Sender sender = { .n = 4000 };
  GThread *thread;
  guint swaps = 0;
  guint64 dropped;

  pair_setup (&pair, NULL);
  check_exchange (&pair);
  nb_wg_device_set_packet_func (pair.a.dev, arrivals_cb, &arrivals);
  nb_wg_device_set_filter_rule_set (pair.a.dev, rules (narrow));
  sender.dev = pair.b.dev;
  thread = g_thread_new ("sender", send_thread, &sender);
  while (!g_atomic_int_get (&sender.done))
    {
      nb_wg_device_set_filter_rule_set (pair.a.dev, rules (swaps % 2 ? narrow : wide));
      swaps++;
      g_usleep (500);
    }
  g_thread_join (thread);

  wait_arrivals (&arrivals, 0, sender.n);
  dropped = nb_wg_device_get_counter (pair.a.dev, NB_WG_COUNTER_RX_DROP_FILTER);
  {
    gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

    while (arrived (&arrivals, 1) + dropped < sender.n && g_get_monotonic_time () < deadline)
      {
        g_usleep (1000);
        dropped = nb_wg_device_get_counter (pair.a.dev, NB_WG_COUNTER_RX_DROP_FILTER);
      }
  }
  g_test_message ("%u swaps under %u packets: port 2000 arrived %u times, dropped %"
                  G_GUINT64_FORMAT " times", swaps, 2 * sender.n, arrived (&arrivals, 1),
                  dropped);
  g_assert_cmpuint (arrived (&arrivals, 0), ==, sender.n);
  g_assert_cmpuint (arrived (&arrivals, 1) + dropped, ==, sender.n);
  g_assert_cmpuint (swaps, >, 10);
  g_assert_cmpuint (arrived (&arrivals, 1), >, 0);
  g_assert_cmpuint (dropped, >, 0);
  g_assert_cmpuint (nb_filter_get_counter (nb_wg_device_get_filter (pair.a.dev),
                                           NB_FILTER_COUNTER_DROP_NO_RULE), ==, dropped);
  pair_teardown (&pair);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/wg/filter/inbound-and-replies", test_inbound_and_replies);
  g_test_add_func ("/wg/filter/swap-under-traffic", test_swap_under_traffic);
  return g_test_run ();
}
