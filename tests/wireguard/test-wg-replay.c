/* test-wg-replay.c: the receive counter's sliding window
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include "nb-wg-messages.h"
#include "nb-wg-replay.h"

static void
test_in_order (void)
{
  NbWgReplay r;

  nb_wg_replay_init (&r);
  for (guint64 i = 0; i < 20000; i++)
    g_assert_true (nb_wg_replay_validate (&r, i));
}

static void
test_duplicate (void)
{
  NbWgReplay r;

  nb_wg_replay_init (&r);
  g_assert_true (nb_wg_replay_validate (&r, 0));
  g_assert_false (nb_wg_replay_validate (&r, 0));
  g_assert_true (nb_wg_replay_validate (&r, 5));
  g_assert_false (nb_wg_replay_validate (&r, 5));
  g_assert_true (nb_wg_replay_validate (&r, 3));
  g_assert_false (nb_wg_replay_validate (&r, 3));
}

static void
test_out_of_order (void)
{
  NbWgReplay r;

  nb_wg_replay_init (&r);
  g_assert_true (nb_wg_replay_validate (&r, 10));
  for (guint64 i = 0; i < 10; i++)
    g_assert_true (nb_wg_replay_validate (&r, 9 - i));
  for (guint64 i = 0; i <= 10; i++)
    g_assert_false (nb_wg_replay_validate (&r, i));
  g_assert_true (nb_wg_replay_validate (&r, 11));
}

static void
test_too_old (void)
{
  NbWgReplay r;
  guint64 top = 3 * NB_WG_REPLAY_WINDOW_SIZE;

  nb_wg_replay_init (&r);
  g_assert_true (nb_wg_replay_validate (&r, top));
  /* The oldest counter still inside the window, and the first outside. */
  g_assert_true (nb_wg_replay_validate (&r, top - NB_WG_REPLAY_WINDOW_SIZE + 1));
  g_assert_false (nb_wg_replay_validate (&r, top - NB_WG_REPLAY_WINDOW_SIZE - 1));
  g_assert_false (nb_wg_replay_validate (&r, 0));
  g_assert_cmpuint (NB_WG_REPLAY_WINDOW_SIZE, >=, 2048);
}

/* Moving far ahead clears the whole ring; nothing old is remembered as
 * "seen" in a reused word. */
static void
test_window_wrap (void)
{
  NbWgReplay r;

  nb_wg_replay_init (&r);
  for (guint64 i = 0; i < 64; i++)
    g_assert_true (nb_wg_replay_validate (&r, i));
  g_assert_true (nb_wg_replay_validate (&r, NB_WG_REPLAY_BITS_TOTAL + 5));
  /* Same ring positions as 0..63 but new counters: accepted once. */
  for (guint64 i = NB_WG_REPLAY_BITS_TOTAL; i < NB_WG_REPLAY_BITS_TOTAL + 5; i++)
    g_assert_true (nb_wg_replay_validate (&r, i));
  for (guint64 i = NB_WG_REPLAY_BITS_TOTAL; i <= NB_WG_REPLAY_BITS_TOTAL + 5; i++)
    g_assert_false (nb_wg_replay_validate (&r, i));
  /* A jump of many windows. */
  g_assert_true (nb_wg_replay_validate (&r, 1000000));
  g_assert_true (nb_wg_replay_validate (&r, 1000000 - 100));
  g_assert_false (nb_wg_replay_validate (&r, 1000000 - 100));
}

static void
test_reject_after_messages (void)
{
  NbWgReplay r;

  nb_wg_replay_init (&r);
  g_assert_true (nb_wg_replay_validate (&r, NB_WG_REJECT_AFTER_MESSAGES - 1));
  g_assert_false (nb_wg_replay_validate (&r, NB_WG_REJECT_AFTER_MESSAGES));
  g_assert_false (nb_wg_replay_validate (&r, G_MAXUINT64));
  g_assert_true (nb_wg_replay_validate (&r, NB_WG_REJECT_AFTER_MESSAGES - 2));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/wg/replay/in-order", test_in_order);
  g_test_add_func ("/wg/replay/duplicate", test_duplicate);
  g_test_add_func ("/wg/replay/out-of-order", test_out_of_order);
  g_test_add_func ("/wg/replay/too-old", test_too_old);
  g_test_add_func ("/wg/replay/window-wrap", test_window_wrap);
  g_test_add_func ("/wg/replay/reject-after-messages", test_reject_after_messages);
  return g_test_run ();
}
