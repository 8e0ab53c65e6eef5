/* nb-ice-runner.c: the few threads every ICE session's agent runs on
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * A daemon keeps one session per remote peer: a thread each would cost a
 * stack, a GMainContext and its wakeup fd per peer, for agents that are
 * idle but for a keepalive check every few seconds (RFC 8445 §11) once
 * the peer's packets go on the handed-over socket. The agents share
 * NB_ICE_RUNNER_THREADS threads instead, each running a GMainContext of
 * its own; a session takes the one with the fewest sessions. A thread is
 * started for its first session and stopped (joined) when its last one
 * is released, so a process with no session left has no runner thread
 * and no context of ours.
 *
 * Each runner also has a context nobody iterates, where a session parks
 * its agent's sockets while the WireGuard packet threads read the
 * selected one (nb-ice-wg-path.c).
 */
#define G_LOG_DOMAIN "netbird-ice"

#include "nb-ice-session-private.h"

struct _NbIceRunner
{
  GThread *thread;
  GMainContext *context;
  GMainContext *park_context;
  GMainLoop *loop;
  /* What the receive callbacks of this thread's agents copy a datagram
   * into, to decrypt it in place: they run one at a time. */
  guint8 *rx_buffer;
  guint n_sessions;
};

static GMutex runners_lock;
static NbIceRunner runners[NB_ICE_RUNNER_THREADS];

static gpointer
runner_main (gpointer data)
{
  NbIceRunner *runner = data;

  g_main_context_push_thread_default (runner->context);
  g_main_loop_run (runner->loop);
  g_main_context_pop_thread_default (runner->context);
  return NULL;
}

static gboolean
runner_quit (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

/**
 * nb_ice_runner_acquire:
 *
 * Takes a place on the runner with the fewest sessions, starting its
 * thread if it has none.
 *
 * Returns: (transfer none): the runner, until nb_ice_runner_release()
 */
NbIceRunner *
nb_ice_runner_acquire (void)
{
  NbIceRunner *runner = &runners[0];

  g_mutex_lock (&runners_lock);
  for (guint i = 1; i < G_N_ELEMENTS (runners); i++)
    if (runners[i].n_sessions < runner->n_sessions)
      runner = &runners[i];
  if (runner->n_sessions++ == 0)
    {
      g_autofree char *name = g_strdup_printf ("nb-ice-%u", (guint) (runner - runners));

      runner->context = g_main_context_new ();
      runner->park_context = g_main_context_new ();
      runner->loop = g_main_loop_new (runner->context, FALSE);
      runner->rx_buffer = g_malloc (NB_ICE_RX_BUFFER_SIZE);
      runner->thread = g_thread_new (name, runner_main, runner);
      g_debug ("ICE runner %s started", name);
    }
  g_mutex_unlock (&runners_lock);
  return runner;
}

/**
 * nb_ice_runner_release:
 * @runner: a runner from nb_ice_runner_acquire()
 *
 * Gives the place back; the last session of a runner stops its thread.
 * Never called on the runner's own thread. Sources left on the runner's
 * context (an agent a channel transport still holds) stay with it: the
 * context lives as long as they reference it, and is not run.
 */
void
nb_ice_runner_release (NbIceRunner *runner)
{
  GMainLoop *loop = NULL;
  GMainContext *context = NULL, *park_context = NULL;
  g_autofree guint8 *rx_buffer = NULL;

  g_mutex_lock (&runners_lock);
  g_assert (runner->n_sessions > 0);
  g_assert (runner->thread != g_thread_self ());
  if (--runner->n_sessions == 0)
    {
      GSource *quit = g_idle_source_new ();

      /* A source, not a call: the loop may not be running yet, and a quit
       * before it runs would be lost. Joined under the lock: a session
       * acquiring this runner meanwhile would otherwise start a thread on
       * a slot not yet empty. */
      g_source_set_callback (quit, runner_quit, runner->loop, NULL);
      g_source_set_priority (quit, G_PRIORITY_DEFAULT);
      g_source_attach (quit, runner->context);
      g_source_unref (quit);
      g_thread_join (g_steal_pointer (&runner->thread));
      loop = g_steal_pointer (&runner->loop);
      context = g_steal_pointer (&runner->context);
      park_context = g_steal_pointer (&runner->park_context);
      rx_buffer = g_steal_pointer (&runner->rx_buffer);
      g_debug ("ICE runner nb-ice-%u stopped", (guint) (runner - runners));
    }
  g_mutex_unlock (&runners_lock);

  g_clear_pointer (&loop, g_main_loop_unref);
  g_clear_pointer (&context, g_main_context_unref);
  g_clear_pointer (&park_context, g_main_context_unref);
}

/**
 * nb_ice_runner_get_context:
 * @runner: a runner
 *
 * Returns: (transfer none): the context the runner's thread runs
 */
GMainContext *
nb_ice_runner_get_context (NbIceRunner *runner)
{
  return runner->context;
}

/**
 * nb_ice_runner_get_park_context:
 * @runner: a runner
 *
 * Returns: (transfer none): a context nobody runs, for parked sockets
 */
GMainContext *
nb_ice_runner_get_park_context (NbIceRunner *runner)
{
  return runner->park_context;
}

/**
 * nb_ice_runner_get_rx_buffer:
 * @runner: a runner
 *
 * Returns: (transfer none): NB_ICE_RX_BUFFER_SIZE bytes that only the
 *   runner's thread writes
 */
guint8 *
nb_ice_runner_get_rx_buffer (NbIceRunner *runner)
{
  return runner->rx_buffer;
}

/**
 * nb_ice_runner_count_threads:
 *
 * Returns: how many runner threads run now (for tests and diagnostics)
 */
guint
nb_ice_runner_count_threads (void)
{
  guint n = 0;

  g_mutex_lock (&runners_lock);
  for (guint i = 0; i < G_N_ELEMENTS (runners); i++)
    n += runners[i].thread != NULL;
  g_mutex_unlock (&runners_lock);
  return n;
}
