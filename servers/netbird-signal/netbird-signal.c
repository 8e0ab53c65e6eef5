/* netbird-signal.c: the Signal daemon
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * A thin front-end over NbSignalServer: options, signals, main loop.
 */
#include <locale.h>
#include <stdio.h>

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

int
main (int   argc,
      char *argv[])
{
  g_autofree char *listen = NULL;
  g_autofree char *metrics = NULL;
  g_autofree char *tls_cert = NULL;
  g_autofree char *tls_key = NULL;
  int rate_limit = NB_SIGNAL_SERVER_DEFAULT_RATE_LIMIT;
  int rate_burst = NB_SIGNAL_SERVER_DEFAULT_RATE_BURST;
  int auth_timeout = NB_SIGNAL_SERVER_DEFAULT_AUTH_TIMEOUT_MS;
  int max_connections = 0;
  int keepalive = 20;
  int max_per_address = 0;
  gboolean version = FALSE;
  const GOptionEntry entries[] = {
    { "listen", 'l', 0, G_OPTION_ARG_STRING, &listen,
      "Address to listen on (default: 0.0.0.0:10000)", "HOST:PORT" },
    { "tls-cert", 0, 0, G_OPTION_ARG_FILENAME, &tls_cert,
      "PEM certificate (and chain): serve wss:// (with --tls-key)", "FILE" },
    { "tls-key", 0, 0, G_OPTION_ARG_FILENAME, &tls_key,
      "PEM private key of --tls-cert", "FILE" },
    { "metrics", 'm', 0, G_OPTION_ARG_STRING, &metrics,
      "Serve Prometheus metrics at http://HOST:PORT/metrics", "HOST:PORT" },
    { "rate-limit", 0, 0, G_OPTION_ARG_INT, &rate_limit,
      "Messages a second one connection may send (default: 200)", "N" },
    { "rate-burst", 0, 0, G_OPTION_ARG_INT, &rate_burst,
      "Messages one connection may send at once (default: 2000)", "N" },
    { "auth-timeout", 0, 0, G_OPTION_ARG_INT, &auth_timeout,
      "Milliseconds a connection has to prove its key (default: 5000)", "MS" },
    { "keepalive", 0, 0, G_OPTION_ARG_INT, &keepalive,
      "Seconds between pings; a peer silent for 3 of them is dropped (default: 20)", "S" },
    { "max-connections", 0, 0, G_OPTION_ARG_INT, &max_connections,
      "Connections open at once (default: the descriptor limit less a reserve)", "N" },
    { "max-connections-per-address", 0, 0, G_OPTION_ARG_INT, &max_per_address,
      "Connections open at once from one address (default: 3/4 of the global cap)", "N" },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(NbSignalServer) server = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  guint sigterm, sigint;

  setlocale (LC_ALL, "");

  context = g_option_context_new ("- NetBird-style Signal server");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("netbird-signal: %s\n", error->message);
      return 2;
    }
  if (version)
    {
      g_print ("netbird-signal %s\n", nb_get_version_string ());
      return 0;
    }
  if ((tls_cert == NULL) != (tls_key == NULL))
    {
      g_printerr ("netbird-signal: give both --tls-cert and --tls-key, or neither\n");
      return 2;
    }
  if (rate_limit < 1 || rate_burst < 1 || auth_timeout < 1 || auth_timeout > 600000 ||
      max_connections < 0 || max_per_address < 0 || keepalive < 1 || keepalive > 3600)
    {
      g_printerr ("netbird-signal: --rate-limit and --rate-burst must be at least 1, "
                  "--auth-timeout between 1 and 600000, --keepalive between 1 and 3600, "
                  "the connection caps 0 or more\n");
      return 2;
    }

  /* Every peer holds a connection: the caps come from this limit. */
  nb_raise_descriptor_limit ();

  loop = g_main_loop_new (NULL, FALSE);
  sigterm = g_unix_signal_add (SIGTERM, on_signal, loop);
  sigint = g_unix_signal_add (SIGINT, on_signal, loop);

  server = g_object_new (NB_TYPE_SIGNAL_SERVER, "auth-timeout", (guint) auth_timeout,
                         "keepalive-interval", (guint) keepalive, NULL);
  nb_signal_server_set_rate_limit (server, (guint) rate_limit, (guint) rate_burst);
  nb_signal_server_set_connection_limits (server, (guint) max_connections,
                                          (guint) max_per_address);
  if ((tls_cert != NULL && !nb_signal_server_set_tls_files (server, tls_cert, tls_key, &error)) ||
      !nb_signal_server_listen (server, listen, &error) ||
      (metrics != NULL && !nb_signal_server_listen_metrics (server, metrics, &error)))
    {
      g_printerr ("netbird-signal: %s\n", error->message);
      return 1;
    }

  if (metrics != NULL)
    g_print ("Metrics on http://%s/metrics\n", nb_signal_server_get_metrics_address (server));
  g_print ("Listening on %s\n", nb_signal_server_get_listen_address (server));
  fflush (stdout);

  g_main_loop_run (loop);
  g_source_remove (sigterm);
  g_source_remove (sigint);

  nb_signal_server_stop (server);
  return 0;
}
