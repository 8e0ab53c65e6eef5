/* test-signal-tls.c: NbSignalClient and netbird-signal over TLS (wss)
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * A test of its own: in the sanitizer build, LeakSanitizer's tracer
 * crashes at exit in a process that ran GnuTLS through glib-networking,
 * so this one runs there with leak detection off (meson.build).
 */
#include <string.h>
#include <glib/gstdio.h>

#include "signal-test-util.h"

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
test_tls (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("test-signal-tls-XXXXXX", &error);
  g_autofree char *cert = g_build_filename (dir, "cert.pem", NULL);
  g_autofree char *key = g_build_filename (dir, "key.pem", NULL);
  const char *const openssl[] = {
    "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
    "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
    "-addext", "subjectAltName=IP:127.0.0.1", NULL
  };
  const char *const args[] = { "--tls-cert", cert, "--tls-key", key, NULL };
  g_autoptr(Daemon) daemon = NULL;
  g_autoptr(GTlsDatabase) trust = NULL;
  g_autoptr(Peer) a = NULL;
  g_autoptr(Peer) b = NULL;
  g_autoptr(Peer) untrusting = NULL;
  g_autoptr(NbSignalMessage) message = make_candidate ();

  g_assert_no_error (error);
  g_assert_true (run (openssl));
  daemon = daemon_start (NULL, args);
  g_assert_true (g_str_has_prefix (daemon->url, "wss://"));
  trust = g_tls_file_database_new (cert, &error);
  g_assert_no_error (error);

  a = peer_new (daemon->url, NULL);
  b = peer_new (daemon->url, NULL);
  untrusting = peer_new (daemon->url, NULL);
  nb_signal_client_set_tls_database (a->client, trust);
  nb_signal_client_set_tls_database (b->client, trust);
  g_assert_true (nb_signal_client_start (a->client, NULL));
  g_assert_true (nb_signal_client_start (b->client, NULL));
  g_assert_true (nb_signal_client_start (untrusting->client, NULL));
  g_assert_true (WAIT_UNTIL (peer_connected (a) && peer_connected (b), 5000));
  g_assert_true (nb_signal_client_send (a->client, b->key, message, &error));
  g_assert_true (WAIT_UNTIL (b->messages->len == 1, 5000));

  /* A certificate the client does not trust: it never registers. */
  WAIT_UNTIL (FALSE, 1000);
  g_assert_false (peer_connected (untrusting));
  g_assert_cmpuint (nb_signal_client_get_n_connects (untrusting->client), ==, 0);
  g_assert_cmpuint (daemon_metric (daemon, "netbird_signal_peers_registered"), ==, 2);

  g_clear_pointer (&untrusting, peer_free);
  g_clear_pointer (&a, peer_free);
  g_clear_pointer (&b, peer_free);
  g_clear_pointer (&daemon, daemon_free);
  g_unlink (cert);
  g_unlink (key);
  g_rmdir (dir);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/signal/client/tls", test_tls);
  return g_test_run ();
}
