/* test-wg-timers.c: the timers of §6 with an injected clock
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <sodium.h>

#include "nb-wg-messages.h"
#include "nb-wg-timers.h"

#define SEC(s) ((gint64) (s) * G_USEC_PER_SEC)

static void
test_retransmit_jitter_bounds (void)
{
  NbWgTimers t;
  gint64 lo = G_MAXINT64, hi = 0;

  g_assert_cmpint (sodium_init (), >=, 0);
  for (guint i = 0; i < 500; i++)
    {
      gint64 d;

      nb_wg_timers_init (&t);
      nb_wg_timers_handshake_initiated (&t, SEC (100));
      d = t.deadline[NB_WG_TIMER_RETRANSMIT_HANDSHAKE] - SEC (100);
      lo = MIN (lo, d);
      hi = MAX (hi, d);
    }
  g_assert_cmpint (lo, >=, SEC (NB_WG_REKEY_TIMEOUT));
  g_assert_cmpint (hi, <=, SEC (NB_WG_REKEY_TIMEOUT) + NB_WG_REKEY_TIMEOUT_JITTER_MAX_USEC);
  /* The jitter is really there. */
  g_assert_cmpint (hi - lo, >, NB_WG_REKEY_TIMEOUT_JITTER_MAX_USEC / 4);
}

static void
test_retransmit_then_give_up (void)
{
  NbWgTimers t;
  gint64 now = SEC (1);
  guint retries = 0;
  NbWgTimerActions a;

  nb_wg_timers_init (&t);
  nb_wg_timers_handshake_initiated (&t, now);
  g_assert_cmpint (nb_wg_timers_expire (&t, now + SEC (4)), ==, NB_WG_TIMER_ACTION_NONE);
  for (;;)
    {
      now = nb_wg_timers_next_deadline (&t);
      a = nb_wg_timers_expire (&t, now);
      if (!(a & NB_WG_TIMER_ACTION_SEND_INITIATION))
        break;
      g_assert_true (a & NB_WG_TIMER_ACTION_IS_RETRY);
      retries++;
      /* The peer sends the retry, which re-arms the timer. */
      nb_wg_timers_handshake_initiated (&t, now);
    }
  /* §6.4: tries for REKEY_ATTEMPT_TIME, then drops what waited. */
  g_assert_cmpuint (retries, ==, NB_WG_MAX_TIMER_HANDSHAKES + 1);
  g_assert_true (a & NB_WG_TIMER_ACTION_DROP_STAGED);
  g_assert_cmpint (now, >=, SEC (1 + NB_WG_REKEY_ATTEMPT_TIME));
  /* ...and forgets keys 3 * REJECT_AFTER_TIME later. */
  g_assert_true (nb_wg_timers_is_armed (&t, NB_WG_TIMER_ZERO_KEY_MATERIAL));
  g_assert_cmpint (nb_wg_timers_next_deadline (&t), ==, now + SEC (3 * NB_WG_REJECT_AFTER_TIME));
}

static void
test_handshake_complete_stops_retransmit (void)
{
  NbWgTimers t;

  nb_wg_timers_init (&t);
  nb_wg_timers_handshake_initiated (&t, SEC (1));
  t.handshake_attempts = 3;
  nb_wg_timers_handshake_complete (&t);
  g_assert_false (nb_wg_timers_is_armed (&t, NB_WG_TIMER_RETRANSMIT_HANDSHAKE));
  g_assert_cmpuint (t.handshake_attempts, ==, 0);
  g_assert_cmpint (nb_wg_timers_expire (&t, SEC (100)), ==, NB_WG_TIMER_ACTION_NONE);
}

/* §6.5: data received and nothing sent back for KEEPALIVE_TIMEOUT: a
 * keepalive. Sending anything cancels it. */
static void
test_passive_keepalive (void)
{
  NbWgTimers t;

  nb_wg_timers_init (&t);
  nb_wg_timers_data_received (&t, SEC (10));
  g_assert_cmpint (nb_wg_timers_expire (&t, SEC (19)), ==, NB_WG_TIMER_ACTION_NONE);
  g_assert_cmpint (nb_wg_timers_expire (&t, SEC (20)), ==, NB_WG_TIMER_ACTION_SEND_KEEPALIVE);

  nb_wg_timers_data_received (&t, SEC (30));
  nb_wg_timers_any_authenticated_packet_sent (&t);
  g_assert_cmpint (nb_wg_timers_expire (&t, SEC (100)), ==, NB_WG_TIMER_ACTION_NONE);

  /* More data while one is pending: another keepalive after the first. */
  nb_wg_timers_data_received (&t, SEC (200));
  nb_wg_timers_data_received (&t, SEC (201));
  g_assert_cmpint (nb_wg_timers_expire (&t, SEC (210)), ==, NB_WG_TIMER_ACTION_SEND_KEEPALIVE);
  g_assert_cmpint (nb_wg_timers_expire (&t, SEC (220)), ==, NB_WG_TIMER_ACTION_SEND_KEEPALIVE);
  g_assert_cmpint (nb_wg_timers_expire (&t, SEC (300)), ==, NB_WG_TIMER_ACTION_NONE);
}

/* §6.2: data sent and nothing heard for KEEPALIVE + REKEY_TIMEOUT: a new
 * handshake. Anything authenticated from the peer cancels it. */
static void
test_new_handshake_after_silence (void)
{
  NbWgTimers t;
  NbWgTimerActions a;

  nb_wg_timers_init (&t);
  nb_wg_timers_data_sent (&t, SEC (10));
  nb_wg_timers_data_sent (&t, SEC (12)); /* does not push the deadline */
  g_assert_cmpint (nb_wg_timers_expire (&t, SEC (24)), ==, NB_WG_TIMER_ACTION_NONE);
  a = nb_wg_timers_expire (&t, SEC (25));
  g_assert_true (a & NB_WG_TIMER_ACTION_SEND_INITIATION);
  g_assert_false (a & NB_WG_TIMER_ACTION_IS_RETRY);

  nb_wg_timers_data_sent (&t, SEC (30));
  nb_wg_timers_any_authenticated_packet_received (&t);
  g_assert_cmpint (nb_wg_timers_expire (&t, SEC (100)), ==, NB_WG_TIMER_ACTION_NONE);
}

static void
test_persistent_keepalive (void)
{
  NbWgTimers t;

  nb_wg_timers_init (&t);
  nb_wg_timers_set_persistent_keepalive (&t, 25, SEC (0));
  g_assert_cmpint (nb_wg_timers_expire (&t, SEC (24)), ==, NB_WG_TIMER_ACTION_NONE);
  g_assert_cmpint (nb_wg_timers_expire (&t, SEC (25)), ==, NB_WG_TIMER_ACTION_SEND_KEEPALIVE);
  /* Traffic in either direction pushes it back. */
  nb_wg_timers_any_authenticated_packet_traversal (&t, SEC (30));
  nb_wg_timers_any_authenticated_packet_traversal (&t, SEC (50));
  g_assert_cmpint (nb_wg_timers_expire (&t, SEC (74)), ==, NB_WG_TIMER_ACTION_NONE);
  g_assert_cmpint (nb_wg_timers_expire (&t, SEC (75)), ==, NB_WG_TIMER_ACTION_SEND_KEEPALIVE);
  /* Off: nothing more. */
  nb_wg_timers_set_persistent_keepalive (&t, 0, SEC (80));
  nb_wg_timers_any_authenticated_packet_traversal (&t, SEC (80));
  g_assert_cmpint (nb_wg_timers_expire (&t, SEC (1000)), ==, NB_WG_TIMER_ACTION_NONE);
}

/* §6.3: keys are forgotten 3 * REJECT_AFTER_TIME after the last session. */
static void
test_zero_key_material (void)
{
  NbWgTimers t;

  nb_wg_timers_init (&t);
  nb_wg_timers_session_derived (&t, SEC (5));
  nb_wg_timers_session_derived (&t, SEC (100)); /* a newer session pushes it */
  g_assert_cmpint (nb_wg_timers_expire (&t, SEC (100 + 3 * NB_WG_REJECT_AFTER_TIME) - 1), ==,
                   NB_WG_TIMER_ACTION_NONE);
  g_assert_cmpint (nb_wg_timers_expire (&t, SEC (100 + 3 * NB_WG_REJECT_AFTER_TIME)), ==,
                   NB_WG_TIMER_ACTION_ZERO_KEYS);
}

static void
test_stop_all (void)
{
  NbWgTimers t;

  nb_wg_timers_init (&t);
  nb_wg_timers_session_derived (&t, 0);
  nb_wg_timers_data_sent (&t, 0);
  nb_wg_timers_data_received (&t, 0);
  nb_wg_timers_handshake_initiated (&t, 0);
  nb_wg_timers_stop_all (&t);
  g_assert_cmpint (nb_wg_timers_next_deadline (&t), ==, G_MAXINT64);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/wg/timers/retransmit-jitter-bounds", test_retransmit_jitter_bounds);
  g_test_add_func ("/wg/timers/retransmit-then-give-up", test_retransmit_then_give_up);
  g_test_add_func ("/wg/timers/handshake-complete", test_handshake_complete_stops_retransmit);
  g_test_add_func ("/wg/timers/passive-keepalive", test_passive_keepalive);
  g_test_add_func ("/wg/timers/new-handshake-after-silence", test_new_handshake_after_silence);
  g_test_add_func ("/wg/timers/persistent-keepalive", test_persistent_keepalive);
  g_test_add_func ("/wg/timers/zero-key-material", test_zero_key_material);
  g_test_add_func ("/wg/timers/stop-all", test_stop_all);
  return g_test_run ();
}
