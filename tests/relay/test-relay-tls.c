/* test-relay-tls.c: NbRelayClient and netbird-relay over TLS (rels://)
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * A test of its own: in the sanitizer build, LeakSanitizer's tracer
 * crashes at exit in a process that ran GnuTLS through glib-networking,
 * so this one runs there with leak detection off (meson.build).
 */
#include <string.h>
#include <glib/gstdio.h>

#include "relay-test-util.h"

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

static NbRelayClient *
tls_client (Daemon       *daemon,
            NbKey        *key,
            GTlsDatabase *trust)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *payload = NULL;
  g_autofree char *signature = NULL;
  NbRelayClient *client = nb_relay_client_new (daemon->url, key, &error);

  g_assert_no_error (error);
  make_token (TEST_SECRET, key, 3600, &payload, &signature);
  nb_relay_client_set_token (client, payload, signature);
  nb_relay_client_set_tls_database (client, trust);
  nb_relay_client_start (client);
  return client;
}

static void
test_tls (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("test-relay-tls-XXXXXX", &error);
  g_autofree char *cert = g_build_filename (dir, "cert.pem", NULL);
  g_autofree char *key_file = g_build_filename (dir, "key.pem", NULL);
  const char *const openssl[] = {
    "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
    "-nodes", "-keyout", key_file, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
    "-addext", "subjectAltName=IP:127.0.0.1", NULL
  };
  const char *const args[] = { "--tls-cert", cert, "--tls-key", key_file, NULL };
  g_autoptr(Daemon) daemon = NULL;
  g_autoptr(GTlsDatabase) trust = NULL;
  g_autoptr(NbKey) key_a = nb_key_generate ();
  g_autoptr(NbKey) key_b = nb_key_generate ();
  g_autoptr(NbKey) key_c = nb_key_generate ();
  g_autoptr(NbRelayClient) a = NULL;
  g_autoptr(NbRelayClient) b = NULL;
  g_autoptr(NbRelayClient) untrusting = NULL;
  Inbox *inbox = inbox_new ();
  const guint8 datagram[] = "over TLS";

  g_assert_no_error (error);
  g_assert_true (run (openssl));
  daemon = daemon_start (NULL, args);
  g_assert_true (g_str_has_prefix (daemon->url, "rels://"));
  trust = g_tls_file_database_new (cert, &error);
  g_assert_no_error (error);

  a = tls_client (daemon, key_a, trust);
  b = tls_client (daemon, key_b, trust);
  untrusting = tls_client (daemon, key_c, NULL);
  nb_relay_client_set_receiver (b, key_a, inbox_receive, inbox, NULL);
  g_assert_true (WAIT_UNTIL (nb_relay_client_get_state (a) == NB_RELAY_CLIENT_STATE_CONNECTED &&
                             nb_relay_client_get_state (b) == NB_RELAY_CLIENT_STATE_CONNECTED,
                             10000));
  g_assert_true (nb_relay_client_send (a, key_b, datagram, sizeof datagram));
  g_assert_true (WAIT_UNTIL (inbox_count (inbox) == 1, 5000));
  g_assert_cmpmem (inbox->last->data, inbox->last->len, datagram, sizeof datagram);

  /* A certificate the client does not trust: it never authenticates. */
  WAIT_UNTIL (FALSE, 1000);
  g_assert_cmpuint (nb_relay_client_get_n_connects (untrusting), ==, 0);
  g_assert_cmpuint (daemon_metric (daemon, "netbird_relay_peers"), ==, 2);

  nb_relay_client_set_receiver (b, key_a, NULL, NULL, NULL);
  nb_relay_client_stop (untrusting);
  nb_relay_client_stop (a);
  nb_relay_client_stop (b);
  g_clear_pointer (&daemon, daemon_free);
  inbox_free (inbox);
  g_unlink (cert);
  g_unlink (key_file);
  g_rmdir (dir);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/relay/client/tls", test_tls);
  return g_test_run ();
}
