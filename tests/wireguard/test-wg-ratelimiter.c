/* test-wg-ratelimiter.c: handshakes per source address under load
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include "nb-wg-ratelimiter.h"

static const guint8 v4_a[6] = { 198, 18, 0, 1, 0x1f, 0x90 };
static const guint8 v4_a_other_port[6] = { 198, 18, 0, 1, 0x00, 0x50 };
static const guint8 v4_b[6] = { 198, 18, 0, 2, 0x1f, 0x90 };
static const guint8 v6_a[18] = {
  0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1,
  0, 0, 0, 0, 0, 0, 0, 1, 0, 80 };
static const guint8 v6_a_same64[18] = {
  0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1,
  9, 9, 9, 9, 9, 9, 9, 9, 0, 80 };
static const guint8 v6_b[18] = {
  0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 2,
  0, 0, 0, 0, 0, 0, 0, 1, 0, 80 };

static void
test_burst_then_rate (void)
{
  NbWgRatelimiter r;
  gint64 now = 10 * G_USEC_PER_SEC;

  nb_wg_ratelimiter_init (&r);
  for (guint i = 0; i < NB_WG_RATELIMIT_BURST; i++)
    g_assert_true (nb_wg_ratelimiter_allow (&r, v4_a, 6, now));
  g_assert_false (nb_wg_ratelimiter_allow (&r, v4_a, 6, now));
  /* The port does not make another sender. */
  g_assert_false (nb_wg_ratelimiter_allow (&r, v4_a_other_port, 6, now));
  /* Another address has its own bucket. */
  g_assert_true (nb_wg_ratelimiter_allow (&r, v4_b, 6, now));
  /* One more token every 1/20 s. */
  g_assert_false (nb_wg_ratelimiter_allow (&r, v4_a, 6, now + G_USEC_PER_SEC / 40));
  g_assert_true (nb_wg_ratelimiter_allow (&r, v4_a, 6, now + G_USEC_PER_SEC / 20));
  g_assert_false (nb_wg_ratelimiter_allow (&r, v4_a, 6, now + G_USEC_PER_SEC / 20));
  nb_wg_ratelimiter_clear (&r);
}

static void
test_sustained_rate (void)
{
  NbWgRatelimiter r;
  gint64 now = 0;
  guint allowed = 0;

  nb_wg_ratelimiter_init (&r);
  /* 1000 attempts a second for 10 s. */
  for (guint i = 0; i < 10000; i++, now += 1000)
    allowed += nb_wg_ratelimiter_allow (&r, v4_a, 6, now);
  g_assert_cmpuint (allowed, >=, 10 * NB_WG_RATELIMIT_PER_SECOND);
  g_assert_cmpuint (allowed, <=, 10 * NB_WG_RATELIMIT_PER_SECOND + NB_WG_RATELIMIT_BURST);
  nb_wg_ratelimiter_clear (&r);
}

static void
test_ipv6_per_64 (void)
{
  NbWgRatelimiter r;

  nb_wg_ratelimiter_init (&r);
  for (guint i = 0; i < NB_WG_RATELIMIT_BURST; i++)
    g_assert_true (nb_wg_ratelimiter_allow (&r, i % 2 ? v6_a : v6_a_same64, 18, 1));
  g_assert_false (nb_wg_ratelimiter_allow (&r, v6_a_same64, 18, 1));
  g_assert_true (nb_wg_ratelimiter_allow (&r, v6_b, 18, 1));
  nb_wg_ratelimiter_clear (&r);
}

static void
test_forgets_idle_sources (void)
{
  NbWgRatelimiter r;

  nb_wg_ratelimiter_init (&r);
  g_assert_true (nb_wg_ratelimiter_allow (&r, v4_a, 6, G_USEC_PER_SEC));
  g_assert_true (nb_wg_ratelimiter_allow (&r, v4_b, 6, G_USEC_PER_SEC));
  g_assert_cmpuint (g_hash_table_size (r.buckets), ==, 2);
  g_assert_true (nb_wg_ratelimiter_allow (&r, v4_a, 6, 3 * G_USEC_PER_SEC));
  g_assert_cmpuint (g_hash_table_size (r.buckets), ==, 1);
  nb_wg_ratelimiter_clear (&r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/wg/ratelimiter/burst-then-rate", test_burst_then_rate);
  g_test_add_func ("/wg/ratelimiter/sustained-rate", test_sustained_rate);
  g_test_add_func ("/wg/ratelimiter/ipv6-per-64", test_ipv6_per_64);
  g_test_add_func ("/wg/ratelimiter/forgets-idle-sources", test_forgets_idle_sources);
  return g_test_run ();
}
