/* test-mgmt-login-replay.c: each sealed login request is taken once, within
 * the window, and the cache stays bounded without letting one back in
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include "nb-mgmt-login-replay-private.h"

#define NOW 1800000000
#define WINDOW 300

static void
test_fresh_then_replayed (void)
{
  g_autoptr(NbMgmtLoginReplay) cache = nb_mgmt_login_replay_new (WINDOW, 16);

  g_assert_cmpint (nb_mgmt_login_replay_check (cache, "peerA", NOW, "nonce-1-aaaaaaaa", NOW),
                   ==, NB_MGMT_LOGIN_FRESH);
  g_assert_cmpint (nb_mgmt_login_replay_check (cache, "peerA", NOW, "nonce-1-aaaaaaaa", NOW + 10),
                   ==, NB_MGMT_LOGIN_REPLAYED);
  /* The same nonce from another peer, another nonce from the same peer. */
  g_assert_cmpint (nb_mgmt_login_replay_check (cache, "peerB", NOW, "nonce-1-aaaaaaaa", NOW),
                   ==, NB_MGMT_LOGIN_FRESH);
  g_assert_cmpint (nb_mgmt_login_replay_check (cache, "peerA", NOW, "nonce-2-aaaaaaaa", NOW),
                   ==, NB_MGMT_LOGIN_FRESH);
  g_assert_cmpuint (nb_mgmt_login_replay_get_size (cache), ==, 3);
  g_assert_cmpuint (nb_mgmt_login_replay_get_n_refused (cache, NB_MGMT_LOGIN_REPLAYED), ==, 1);
  g_assert_cmpuint (nb_mgmt_login_replay_get_n_refused (cache, NB_MGMT_LOGIN_STALE), ==, 0);
}

static void
test_window (void)
{
  g_autoptr(NbMgmtLoginReplay) cache = nb_mgmt_login_replay_new (WINDOW, 16);

  g_assert_cmpint (nb_mgmt_login_replay_check (cache, "p", NOW - WINDOW - 1, "n-aaaaaaaaaaaaaa1", NOW),
                   ==, NB_MGMT_LOGIN_STALE);
  g_assert_cmpint (nb_mgmt_login_replay_check (cache, "p", NOW + WINDOW + 1, "n-aaaaaaaaaaaaaa2", NOW),
                   ==, NB_MGMT_LOGIN_STALE);
  g_assert_cmpint (nb_mgmt_login_replay_check (cache, "p", NOW - WINDOW, "n-aaaaaaaaaaaaaa3", NOW),
                   ==, NB_MGMT_LOGIN_FRESH);
  g_assert_cmpint (nb_mgmt_login_replay_check (cache, "p", NOW + WINDOW, "n-aaaaaaaaaaaaaa4", NOW),
                   ==, NB_MGMT_LOGIN_FRESH);
  g_assert_cmpuint (nb_mgmt_login_replay_get_n_refused (cache, NB_MGMT_LOGIN_STALE), ==, 2);

  /* Once out of the window, an entry goes, and the time check alone
   * refuses its request. */
  g_assert_cmpuint (nb_mgmt_login_replay_get_size (cache), ==, 2);
  g_assert_cmpint (nb_mgmt_login_replay_check (cache, "p", NOW + 10, "n-aaaaaaaaaaaaaa5", NOW + 10),
                   ==, NB_MGMT_LOGIN_FRESH);
  g_assert_cmpuint (nb_mgmt_login_replay_get_size (cache), ==, 2);
  g_assert_cmpint (nb_mgmt_login_replay_check (cache, "p", NOW - WINDOW, "n-aaaaaaaaaaaaaa3", NOW + 10),
                   ==, NB_MGMT_LOGIN_STALE);
}

static void
test_capacity_keeps_replays_out (void)
{
  g_autoptr(NbMgmtLoginReplay) cache = nb_mgmt_login_replay_new (WINDOW, 4);
  char nonce[32];

  for (guint i = 0; i < 4; i++)
    {
      g_snprintf (nonce, sizeof nonce, "nonce-aaaaaaaaaa-%u", i);
      g_assert_cmpint (nb_mgmt_login_replay_check (cache, "p", NOW + i, nonce, NOW + i),
                       ==, NB_MGMT_LOGIN_FRESH);
    }
  /* A flood, one request a second here: the cache stays at its size... */
  for (guint i = 4; i < 1000; i++)
    {
      g_snprintf (nonce, sizeof nonce, "nonce-aaaaaaaaaa-%u", i);
      g_assert_cmpint (nb_mgmt_login_replay_check (cache, "flood", NOW + i, nonce, NOW + i),
                       ==, NB_MGMT_LOGIN_FRESH);
      g_assert_cmpuint (nb_mgmt_login_replay_get_size (cache), ==, 4);
    }
  /* ...and what it dropped cannot come back: its time is not after the
   * newest time dropped (NOW + 995), though still in the window. */
  for (guint i = 990; i < 996; i++)
    {
      g_snprintf (nonce, sizeof nonce, "nonce-aaaaaaaaaa-%u", i);
      g_assert_cmpint (nb_mgmt_login_replay_check (cache, "flood", NOW + i, nonce, NOW + 1000),
                       ==, NB_MGMT_LOGIN_STALE);
    }
  /* What it holds is refused as a replay. */
  for (guint i = 996; i < 1000; i++)
    {
      g_snprintf (nonce, sizeof nonce, "nonce-aaaaaaaaaa-%u", i);
      g_assert_cmpint (nb_mgmt_login_replay_check (cache, "flood", NOW + i, nonce, NOW + 1000),
                       ==, NB_MGMT_LOGIN_REPLAYED);
    }
  /* A request made after the dropped ones is taken. */
  g_assert_cmpint (nb_mgmt_login_replay_check (cache, "p", NOW + 996, "nonce-after-flood", NOW + 1000),
                   ==, NB_MGMT_LOGIN_FRESH);
  g_assert_cmpuint (nb_mgmt_login_replay_get_n_refused (cache, NB_MGMT_LOGIN_STALE), ==, 6);
  g_assert_cmpuint (nb_mgmt_login_replay_get_n_refused (cache, NB_MGMT_LOGIN_REPLAYED), ==, 4);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/mgmt/login-replay/fresh-then-replayed", test_fresh_then_replayed);
  g_test_add_func ("/mgmt/login-replay/window", test_window);
  g_test_add_func ("/mgmt/login-replay/capacity-keeps-replays-out", test_capacity_keeps_replays_out);
  return g_test_run ();
}
