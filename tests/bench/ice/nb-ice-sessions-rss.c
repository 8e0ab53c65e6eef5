/* nb-ice-sessions-rss.c: the memory and threads of many connected ICE sessions
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 *   nb-ice-sessions-rss N
 *
 * Makes N pairs of sessions in this process (2N sessions, each pair with
 * key pairs of its own), signalled by direct calls as in
 * tests/transport/test-ice-session.c, gathered on 127.0.0.1 only; waits
 * until every session is CONNECTED with a pair selected, lets them idle
 * for a few seconds (keepalive checks run), then prints what the process
 * holds:
 *
 *   idle sessions=2N connected=C connect_ms=T threads=K vm_rss_kb=R rss_anon_kb=A
 *
 * (T: from the first start until every session was connected), and the
 * same line as "baseline" before the first session, "connected" at once
 * and "closed" after the last close. It uses the
 * public API only, so the same source builds against any libnetbird.
 */
#include <stdlib.h>
#include <string.h>

#include "nb-ice-session.h"

#define TIMEOUT_S 120
#define IDLE_S 3

typedef struct _End End;
struct _End
{
  NbIceSession *session;
  End *other;
  gboolean paired;
};

static void
on_credentials (NbIceSession *session,
                const char   *ufrag,
                const char   *pwd,
                End          *end)
{
  g_autoptr(GError) error = NULL;

  if (!nb_ice_session_set_remote_credentials (end->other->session, ufrag, pwd, &error))
    g_printerr ("credentials: %s\n", error->message);
}

static void
on_candidate (NbIceSession *session,
              const char   *candidate,
              End          *end)
{
  g_autoptr(GError) error = NULL;

  if (!nb_ice_session_add_remote_candidate (end->other->session, candidate, &error))
    g_printerr ("candidate: %s\n", error->message);
}

static void
on_pair (NbIceSession *session,
         End          *end)
{
  end->paired = TRUE;
}

static gboolean
quit_loop (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

/* A line of /proc/self/status, in kB (or a count for Threads). */
static guint64
status_field (const char *name)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  gsize len = strlen (name);

  if (!g_file_get_contents ("/proc/self/status", &text, NULL, NULL))
    return 0;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (strncmp (lines[i], name, len) == 0 && lines[i][len] == ':')
      return g_ascii_strtoull (lines[i] + len + 1, NULL, 10);
  return 0;
}

static void
report (const char *what,
        guint       n_sessions,
        guint       n_connected,
        gint64      connect_ms)
{
  g_print ("%s sessions=%u connected=%u connect_ms=%" G_GINT64_FORMAT
           " threads=%" G_GUINT64_FORMAT " vm_rss_kb=%" G_GUINT64_FORMAT
           " rss_anon_kb=%" G_GUINT64_FORMAT "\n",
           what, n_sessions, n_connected, connect_ms, status_field ("Threads"),
           status_field ("VmRSS"), status_field ("RssAnon"));
}

static guint
count_connected (End   *ends,
                 guint  n)
{
  guint connected = 0;

  for (guint i = 0; i < n; i++)
    connected += ends[i].paired &&
                 nb_ice_session_get_state (ends[i].session) == NB_ICE_SESSION_STATE_CONNECTED;
  return connected;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  guint n_pairs, n;
  End *ends;
  GMainLoop *idle;
  gint64 start, deadline, connect_ms;
  guint connected = 0;

  if (argc != 2 || (n_pairs = (guint) g_ascii_strtoull (argv[1], NULL, 10)) == 0 ||
      n_pairs > 1000)
    {
      g_printerr ("usage: %s N (pairs of sessions, 1 to 1000)\n", argv[0]);
      return 2;
    }
  n = 2 * n_pairs;
  report ("baseline", 0, 0, 0);

  ends = g_new0 (End, n);
  for (guint i = 0; i < n_pairs; i++)
    {
      g_autoptr(NbKey) key_a = nb_key_generate ();
      g_autoptr(NbKey) key_b = nb_key_generate ();
      End *a = &ends[2 * i], *b = &ends[2 * i + 1];

      a->other = b;
      b->other = a;
      a->session = nb_ice_session_new (key_a, key_b);
      b->session = nb_ice_session_new (key_b, key_a);
      for (guint j = 0; j < 2; j++)
        {
          End *end = j == 0 ? a : b;

          nb_ice_session_add_local_address (end->session, lo);
          g_signal_connect (end->session, "local-credentials", G_CALLBACK (on_credentials), end);
          g_signal_connect (end->session, "local-candidate", G_CALLBACK (on_candidate), end);
          g_signal_connect (end->session, "selected-pair-changed", G_CALLBACK (on_pair), end);
        }
    }

  start = g_get_monotonic_time ();
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GError) error = NULL;

      if (!nb_ice_session_start (ends[i].session, &error))
        {
          g_printerr ("start: %s\n", error->message);
          return 1;
        }
    }

  deadline = start + TIMEOUT_S * G_USEC_PER_SEC;
  while ((connected = count_connected (ends, n)) < n && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  if (connected < n)
    {
      report ("FAIL", n, connected, (g_get_monotonic_time () - start) / 1000);
      return 1;
    }
  connect_ms = (g_get_monotonic_time () - start) / 1000;
  report ("connected", n, connected, connect_ms);

  idle = g_main_loop_new (NULL, FALSE);
  g_timeout_add_seconds (IDLE_S, quit_loop, idle);
  g_main_loop_run (idle);
  g_main_loop_unref (idle);
  connected = count_connected (ends, n);
  report ("idle", n, connected, connect_ms);

  for (guint i = 0; i < n; i++)
    {
      nb_ice_session_close (ends[i].session);
      g_clear_object (&ends[i].session);
    }
  g_free (ends);
  report ("closed", 0, 0, 0);
  return connected == n ? 0 : 1;
}
