/* netbird-relay.c: the Relay daemon
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * A thin front-end over NbRelayServer: options, signals, main loop.
 */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include <glib-unix.h>
#include <netbird.h>

static gboolean
on_signal (gpointer user_data)
{
  GMainLoop *loop = user_data;

  g_message ("Shutting down");
  g_main_loop_quit (loop);
  return G_SOURCE_CONTINUE;
}

/* The secret file's first line, without its line end. */
static char *
read_secret_file (const char  *path,
                  GError     **error)
{
  g_autofree char *contents = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &contents, &len, error))
    return NULL;
  contents[strcspn (contents, "\r\n")] = '\0';
  if (contents[0] == '\0')
    {
      memset (contents, 0, len);
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s holds no secret", path);
      return NULL;
    }
  return g_steal_pointer (&contents);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *listen = NULL;
  g_autofree char *metrics = NULL;
  g_autofree char *tls_cert = NULL;
  g_autofree char *tls_key = NULL;
  g_autofree char *secret = NULL;
  g_autofree char *secret_file = NULL;
  int auth_timeout = NB_RELAY_SERVER_DEFAULT_AUTH_TIMEOUT_MS;
  int keepalive = NB_RELAY_SERVER_DEFAULT_KEEPALIVE_SECONDS;
  int queue_kib = NB_RELAY_SERVER_DEFAULT_QUEUE_BYTES / 1024;
  int max_connections = 0;
  int max_per_address = 0;
  gboolean version = FALSE;
  const GOptionEntry entries[] = {
    { "listen", 'l', 0, G_OPTION_ARG_STRING, &listen,
      "Address to listen on (default: 0.0.0.0:33080)", "HOST:PORT" },
    { "auth-secret", 0, 0, G_OPTION_ARG_STRING, &secret,
      "The secret shared with Management that signs the tokens; visible in ps, prefer "
      "--auth-secret-file", "SECRET" },
    { "auth-secret-file", 0, 0, G_OPTION_ARG_FILENAME, &secret_file,
      "File whose first line is the secret shared with Management", "FILE" },
    { "tls-cert", 0, 0, G_OPTION_ARG_FILENAME, &tls_cert,
      "PEM certificate (and chain): serve rels:// (with --tls-key)", "FILE" },
    { "tls-key", 0, 0, G_OPTION_ARG_FILENAME, &tls_key,
      "PEM private key of --tls-cert", "FILE" },
    { "metrics", 'm', 0, G_OPTION_ARG_STRING, &metrics,
      "Serve Prometheus metrics at http://HOST:PORT/metrics", "HOST:PORT" },
    { "auth-timeout", 0, 0, G_OPTION_ARG_INT, &auth_timeout,
      "Milliseconds a connection has to authenticate (default: 5000)", "MS" },
    { "keepalive", 0, 0, G_OPTION_ARG_INT, &keepalive,
      "Seconds between pings; a peer silent for 3 of them is dropped (default: 20)", "S" },
    { "queue-limit", 0, 0, G_OPTION_ARG_INT, &queue_kib,
      "KiB waiting for one peer past which datagrams to it are dropped (default: 1024)",
      "KIB" },
    { "max-connections", 0, 0, G_OPTION_ARG_INT, &max_connections,
      "Connections open at once (default: the descriptor limit less a reserve)", "N" },
    { "max-connections-per-address", 0, 0, G_OPTION_ARG_INT, &max_per_address,
      "Connections open at once from one address (default: 3/4 of the global cap)", "N" },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(NbRelayServer) server = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  guint sigterm, sigint;

  setlocale (LC_ALL, "");

  context = g_option_context_new ("- NetBird-style Relay server");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("netbird-relay: %s\n", error->message);
      return 2;
    }
  if (version)
    {
      g_print ("netbird-relay %s\n", nb_get_version_string ());
      return 0;
    }
  if ((tls_cert == NULL) != (tls_key == NULL))
    {
      g_printerr ("netbird-relay: give both --tls-cert and --tls-key, or neither\n");
      return 2;
    }
  if ((secret == NULL) == (secret_file == NULL))
    {
      g_printerr ("netbird-relay: give the secret shared with Management: --auth-secret-file "
                  "FILE or --auth-secret SECRET (one of them)\n");
      return 2;
    }
  if (secret_file != NULL)
    {
      secret = read_secret_file (secret_file, &error);
      if (secret == NULL)
        {
          g_printerr ("netbird-relay: %s\n", error->message);
          return 2;
        }
    }
  if (secret[0] == '\0' || auth_timeout < 1 || auth_timeout > 600000 || keepalive < 1 ||
      keepalive > 3600 || queue_kib < 64 || queue_kib > 1024 * 1024 || max_connections < 0 ||
      max_per_address < 0)
    {
      g_printerr ("netbird-relay: the secret must not be empty, --auth-timeout between 1 and "
                  "600000, --keepalive between 1 and 3600, --queue-limit between 64 and "
                  "1048576, the connection caps 0 or more\n");
      return 2;
    }

  /* Every peer holds a connection: the caps come from this limit. */
  nb_raise_descriptor_limit ();

  loop = g_main_loop_new (NULL, FALSE);
  sigterm = g_unix_signal_add (SIGTERM, on_signal, loop);
  sigint = g_unix_signal_add (SIGINT, on_signal, loop);

  server = nb_relay_server_new (secret);
  memset (secret, 0, strlen (secret));
  g_object_set (server, "auth-timeout", (guint) auth_timeout,
                "keepalive-interval", (guint) keepalive, NULL);
  nb_relay_server_set_queue_limit (server, (gsize) queue_kib * 1024);
  nb_relay_server_set_connection_limits (server, (guint) max_connections,
                                         (guint) max_per_address);
  if ((tls_cert != NULL && !nb_relay_server_set_tls_files (server, tls_cert, tls_key, &error)) ||
      !nb_relay_server_listen (server, listen, &error) ||
      (metrics != NULL && !nb_relay_server_listen_metrics (server, metrics, &error)))
    {
      g_printerr ("netbird-relay: %s\n", error->message);
      return 1;
    }

  if (metrics != NULL)
    g_print ("Metrics on http://%s/metrics\n", nb_relay_server_get_metrics_address (server));
  g_print ("Listening on %s\n", nb_relay_server_get_listen_address (server));
  fflush (stdout);

  g_main_loop_run (loop);
  g_source_remove (sigterm);
  g_source_remove (sigint);

  nb_relay_server_stop (server);
  return 0;
}
