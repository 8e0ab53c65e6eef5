/* netbird-signal.c: the Signal daemon
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * A thin front-end over NbSignalServer: options, signals, main loop.
 */
#include <locale.h>
#include <stdio.h>
#include <sys/resource.h>

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

/* Every peer holds a connection: take all the descriptors we may. */
static void
raise_fd_limit (void)
{
  struct rlimit limit;

  if (getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max)
    {
      limit.rlim_cur = limit.rlim_max;
      if (setrlimit (RLIMIT_NOFILE, &limit) != 0)
        g_warning ("Cannot raise the descriptor limit to %llu: %s",
                   (unsigned long long) limit.rlim_max, g_strerror (errno));
    }
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
  if (rate_limit < 1 || rate_burst < 1 || auth_timeout < 1 || auth_timeout > 600000)
    {
      g_printerr ("netbird-signal: --rate-limit and --rate-burst must be at least 1, "
                  "--auth-timeout between 1 and 600000\n");
      return 2;
    }

  raise_fd_limit ();

  loop = g_main_loop_new (NULL, FALSE);
  sigterm = g_unix_signal_add (SIGTERM, on_signal, loop);
  sigint = g_unix_signal_add (SIGINT, on_signal, loop);

  server = g_object_new (NB_TYPE_SIGNAL_SERVER, "auth-timeout", (guint) auth_timeout, NULL);
  nb_signal_server_set_rate_limit (server, (guint) rate_limit, (guint) rate_burst);
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
