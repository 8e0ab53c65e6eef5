/* test-signal-rate.c: the Signal server's per-connection rate limit, on a
 * clock the test moves
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include "nb-signal-private.h"

static void
test_burst_then_rate (void)
{
  NbSignalRate rate;
  gint64 now = 1000000;
  guint passed = 0;

  nb_signal_rate_init (&rate, 100, 50, now);
  for (guint i = 0; i < 60; i++)
    passed += nb_signal_rate_take (&rate, now) == NB_SIGNAL_RATE_PASS;
  g_assert_cmpuint (passed, ==, 50);

  /* 100 a second: one more every 10 ms, and no more. */
  now += 10000;
  g_assert_cmpint (nb_signal_rate_take (&rate, now), ==, NB_SIGNAL_RATE_PASS);
  g_assert_cmpint (nb_signal_rate_take (&rate, now), ==, NB_SIGNAL_RATE_DROP);

  /* A quiet second refills the burst, not more. */
  now += G_USEC_PER_SEC;
  passed = 0;
  for (guint i = 0; i < 200; i++)
    passed += nb_signal_rate_take (&rate, now) == NB_SIGNAL_RATE_PASS;
  g_assert_cmpuint (passed, ==, 50);
}

static void
test_flood_verdict (void)
{
  NbSignalRate rate;
  gint64 now = 0;
  NbSignalRateVerdict verdict = NB_SIGNAL_RATE_PASS;
  guint sent = 0;

  /* Twice the rate, for a minute: half dropped, never cut off. */
  nb_signal_rate_init (&rate, 100, 100, now);
  for (guint i = 0; i < 60 * 200; i++, now += G_USEC_PER_SEC / 200)
    g_assert_cmpint (nb_signal_rate_take (&rate, now), !=, NB_SIGNAL_RATE_FLOOD);

  /* Four times the rate: cut off within seconds. */
  nb_signal_rate_init (&rate, 100, 100, now);
  while (verdict != NB_SIGNAL_RATE_FLOOD && sent < 400 * 60)
    {
      verdict = nb_signal_rate_take (&rate, now);
      now += G_USEC_PER_SEC / 400;
      sent++;
    }
  g_assert_cmpint (verdict, ==, NB_SIGNAL_RATE_FLOOD);
  g_test_message ("4x the rate cut off after %u frames (%.1f s)", sent, sent / 400.0);
  g_assert_cmpfloat (sent / 400.0, <, NB_SIGNAL_RATE_FLOOD_SECONDS + 2);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/signal/rate/burst-then-rate", test_burst_then_rate);
  g_test_add_func ("/signal/rate/flood", test_flood_verdict);
  return g_test_run ();
}
