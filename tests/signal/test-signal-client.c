/* test-signal-client.c: NbSignalClient against a real netbird-signal:
 * reconnecting across a restart, what it refuses to start with (TLS is in
 * test-signal-tls.c)
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <signal.h>
#include <string.h>

#include "signal-test-util.h"

static void
count_state (NbSignalClient *client,
             GParamSpec     *pspec,
             guint          *changes)
{
  (*changes)++;
}

/* A port nobody listens on now, for a daemon to be restarted on. */
static char *
free_address (void)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                            G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  g_assert_true (g_socket_bind (socket, any, TRUE, NULL));
  bound = g_socket_get_local_address (socket, NULL);
  return g_strdup_printf ("127.0.0.1:%u",
                          g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
}

static void
test_reconnect_after_restart (void)
{
  g_autofree char *address = free_address ();
  g_autoptr(Daemon) daemon = daemon_start (address, NULL);
  g_autoptr(Peer) a = peer_new (daemon->url, NULL);
  g_autoptr(Peer) b = peer_new (daemon->url, NULL);
  g_autoptr(NbSignalMessage) message = make_candidate ();
  g_autoptr(GError) error = NULL;
  guint changes = 0;
  gint64 start;

  g_signal_connect (a->client, "notify::state", G_CALLBACK (count_state), &changes);
  g_assert_true (nb_signal_client_start (a->client, NULL));
  g_assert_true (nb_signal_client_start (b->client, NULL));
  g_assert_true (WAIT_UNTIL (peer_connected (a) && peer_connected (b), 5000));
  g_assert_cmpuint (changes, ==, 2); /* connecting, connected */
  g_assert_true (nb_signal_client_send (a->client, b->key, message, &error));
  g_assert_true (WAIT_UNTIL (b->messages->len == 1, 5000));

  /* The server dies mid-session; both clients notice and keep trying. */
  daemon_kill (daemon);
  g_assert_true (WAIT_UNTIL (!peer_connected (a) && !peer_connected (b), 5000));
  g_assert_false (nb_signal_client_send (a->client, b->key, message, &error));
  g_assert_error (error, NB_SIGNAL_CLIENT_ERROR, NB_SIGNAL_CLIENT_ERROR_NOT_CONNECTED);
  g_clear_error (&error);
  WAIT_UNTIL (FALSE, 1500);

  /* Back on the same address: both are registered again, by themselves. */
  g_clear_pointer (&daemon, daemon_free);
  daemon = daemon_start (address, NULL);
  start = g_get_monotonic_time ();
  g_assert_true (WAIT_UNTIL (peer_connected (a) && peer_connected (b), 15000));
  g_test_message ("reconnected %" G_GINT64_FORMAT " ms after the restart",
                  (g_get_monotonic_time () - start) / 1000);
  g_assert_cmpuint (nb_signal_client_get_n_connects (a->client), ==, 2);
  g_assert_cmpuint (nb_signal_client_get_n_connects (b->client), ==, 2);
  g_assert_false (nb_signal_client_get_replaced (a->client));

  g_assert_true (nb_signal_client_send (b->client, a->key, message, &error));
  g_assert_no_error (error);
  g_assert_true (WAIT_UNTIL (a->messages->len == 1, 5000));
  g_assert_true (nb_key_equal (a->senders->pdata[0], b->key));
  g_assert_cmpuint (daemon_metric (daemon, "netbird_signal_registrations_total"), ==, 2);

  /* Stopped, a client stays away. */
  nb_signal_client_stop (a->client);
  g_assert_cmpint (nb_signal_client_get_state (a->client), ==, NB_SIGNAL_CLIENT_STATE_DISCONNECTED);
  g_assert_true (WAIT_UNTIL (daemon_metric (daemon, "netbird_signal_peers_registered") == 1,
                             5000));
  WAIT_UNTIL (FALSE, 1000);
  g_assert_cmpuint (nb_signal_client_get_n_connects (a->client), ==, 2);
}

/* The server stops answering without closing anything (SIGSTOP: as a
 * NAT that forgot the flow looks from the client): the client notices
 * within three keepalive intervals and reconnects once it answers again. */
static void
test_silent_server (void)
{
  g_autoptr(Daemon) daemon = daemon_start (NULL, NULL);
  g_autoptr(Peer) a = peer_new (daemon->url, NULL);
  g_autoptr(Peer) b = peer_new (daemon->url, NULL);
  g_autoptr(NbSignalMessage) message = make_candidate ();
  g_autoptr(GError) error = NULL;
  gint64 start;

  g_object_set (a->client, "keepalive-interval", 1, NULL);
  g_assert_true (nb_signal_client_start (a->client, NULL));
  g_assert_true (nb_signal_client_start (b->client, NULL));
  g_assert_true (WAIT_UNTIL (peer_connected (a) && peer_connected (b), 5000));

  g_subprocess_send_signal (daemon->process, SIGSTOP);
  start = g_get_monotonic_time ();
  g_assert_true (WAIT_UNTIL (!peer_connected (a), 8000));
  g_test_message ("silent server noticed after %" G_GINT64_FORMAT " ms",
                  (g_get_monotonic_time () - start) / 1000);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 2500 * 1000);
  /* b pings every 20 s: it has not noticed. */
  g_assert_true (peer_connected (b));

  g_subprocess_send_signal (daemon->process, SIGCONT);
  g_assert_true (WAIT_UNTIL (peer_connected (a), 15000));
  g_assert_cmpuint (nb_signal_client_get_n_connects (a->client), ==, 2);
  g_assert_true (nb_signal_client_send (b->client, a->key, message, &error));
  g_assert_no_error (error);
  g_assert_true (WAIT_UNTIL (a->messages->len == 1, 5000));
}

static void
test_start_stop_start (void)
{
  g_autoptr(Daemon) daemon = daemon_start (NULL, NULL);
  g_autoptr(Peer) a = peer_new (daemon->url, NULL);

  /* Stopped while connecting, started again at once: one registration,
   * from the second attempt; the first one's connection is dropped. */
  for (guint i = 0; i < 5; i++)
    {
      g_assert_true (nb_signal_client_start (a->client, NULL));
      nb_signal_client_stop (a->client);
    }
  g_assert_true (nb_signal_client_start (a->client, NULL));
  g_assert_true (WAIT_UNTIL (peer_connected (a), 5000));
  WAIT_UNTIL (FALSE, 500);
  g_assert_cmpuint (nb_signal_client_get_n_connects (a->client), ==, 1);
  g_assert_cmpuint (daemon_metric (daemon, "netbird_signal_peers_registered"), ==, 1);
  g_assert_cmpuint (daemon_metric (daemon, "netbird_signal_registrations_total"), ==, 1);
}

static gboolean
run (const char *const *argv)
{
  g_autoptr(GError) error = NULL;
  int status = 0;

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH |
                     G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                     NULL, NULL, NULL, NULL, &status, &error))
    g_error ("cannot run %s (./dev installs it): %s", argv[0], error->message);
  return g_spawn_check_wait_status (status, NULL);
}

static void
test_refuses_to_start (void)
{
  g_autoptr(NbKey) key = nb_key_generate ();
  const char *const bad[] = {
    "ftp://127.0.0.1:1", "ws://", "not a url", "ws://user@127.0.0.1:10000", "127.0.0.1:10000",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(NbSignalClient) client = nb_signal_client_new (bad[i], key);
      g_autoptr(GError) error = NULL;

      g_assert_false (nb_signal_client_start (client, &error));
      g_assert_error (error, NB_SIGNAL_CLIENT_ERROR, NB_SIGNAL_CLIENT_ERROR_INVALID_URL);
      g_assert_cmpint (nb_signal_client_get_state (client), ==,
                       NB_SIGNAL_CLIENT_STATE_DISCONNECTED);
    }
}

static void
test_daemon_options (void)
{
  const char *path = g_getenv ("NETBIRD_SIGNAL");
  const char *const no_key[] = { path, "--tls-cert", "/nonexistent", NULL };
  const char *const bad_listen[] = { path, "--listen", "example.com:10000", NULL };
  const char *const bad_rate[] = { path, "--rate-limit", "0", NULL };
  const char *const missing_cert[] = { path, "--listen", "127.0.0.1:0", "--tls-cert",
                                       "/nonexistent", "--tls-key", "/nonexistent", NULL };

  g_assert_nonnull (path);
  g_assert_false (run (no_key));
  g_assert_false (run (bad_listen));
  g_assert_false (run (bad_rate));
  g_assert_false (run (missing_cert));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/signal/client/reconnect-after-restart", test_reconnect_after_restart);
  g_test_add_func ("/signal/client/start-stop-start", test_start_stop_start);
  g_test_add_func ("/signal/client/silent-server", test_silent_server);
  g_test_add_func ("/signal/client/refuses-to-start", test_refuses_to_start);
  g_test_add_func ("/signal/client/daemon-options", test_daemon_options);
  return g_test_run ();
}
