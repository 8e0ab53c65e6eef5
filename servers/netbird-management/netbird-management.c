/* netbird-management.c: the Management daemon
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * A thin front-end over NbManagementServer: options, signals, main loop.
 */
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <glib-unix.h>
#include <glib/gstdio.h>
#include <netbird.h>

static gboolean
on_signal (gpointer user_data)
{
  GMainLoop *loop = user_data;

  g_message ("Shutting down");
  g_main_loop_quit (loop);
  return G_SOURCE_CONTINUE;
}

/* The secret from a file (the way to keep it out of ps and the shell's
 * history), without the line end an editor adds. */
static char *
read_secret_file (const char  *what,
                  const char  *path,
                  GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *contents = NULL;
  gsize length = 0;
  GStatBuf st;

  if (!g_file_get_contents (path, &contents, &length, &local_error))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Cannot read the %s secret: %s",
                   what, local_error->message);
      return NULL;
    }
  if (length != strlen (contents))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "The %s secret file %s holds a NUL byte", what, path);
      return NULL;
    }
  g_strchomp (contents);
  if (contents[0] == '\0')
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "The %s secret file %s is empty",
                   what, path);
      return NULL;
    }
  if (g_stat (path, &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
    g_printerr ("netbird-management: warning: the %s secret file %s can be read by others "
                "(chmod 600 it)\n", what, path);
  return g_steal_pointer (&contents);
}

static void
wipe_string (char *s)
{
  if (s != NULL)
    memset (s, 0, strlen (s));
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *listen = NULL;
  g_autofree char *data_dir = NULL;
  g_autofree char *config_file = NULL;
  g_autofree char *metrics = NULL;
  g_autofree char *signal_url = NULL;
  g_auto(GStrv) stun_urls = NULL;
  g_auto(GStrv) turn_urls = NULL;
  g_autofree char *turn_secret = NULL;
  g_autofree char *turn_secret_file = NULL;
  g_auto(GStrv) relay_urls = NULL;
  g_autofree char *relay_secret = NULL;
  g_autofree char *relay_secret_file = NULL;
  int max_connections = 0;
  int max_per_address = 0;
  gboolean version = FALSE;
  gboolean reset_admin_token = FALSE;
  const GOptionEntry entries[] = {
    { "listen", 'l', 0, G_OPTION_ARG_STRING, &listen,
      "Address to listen on (default: the configuration's, else 0.0.0.0:33073)", "HOST:PORT" },
    { "data-dir", 'd', 0, G_OPTION_ARG_FILENAME, &data_dir,
      "Folder for the store, the server key and the initial credentials", "DIR" },
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_file,
      "JSON configuration file (TLS, DNS domain, Signal/Relay/STUN/TURN)", "FILE" },
    { "reset-admin-token", 0, 0, G_OPTION_ARG_NONE, &reset_admin_token,
      "Print a new admin token for the owner of an existing store and exit "
      "(the other tokens keep working)", NULL },
    { "metrics", 0, 0, G_OPTION_ARG_STRING, &metrics,
      "Serve Prometheus metrics on GET /metrics at this address", "HOST:PORT" },
    { "signal-url", 0, 0, G_OPTION_ARG_STRING, &signal_url,
      "Signal server handed to peers, over the configuration's signal.uri", "URL" },
    { "stun-url", 0, 0, G_OPTION_ARG_STRING_ARRAY, &stun_urls,
      "STUN server handed to peers (repeat for more; replaces the configuration's stuns)",
      "stun:HOST[:PORT]" },
    { "turn-url", 0, 0, G_OPTION_ARG_STRING_ARRAY, &turn_urls,
      "TURN server handed to peers with credentials (repeat for more; replaces the "
      "configuration's turn.uris)", "turn:HOST[:PORT][?transport=udp|tcp]" },
    { "turn-secret-file", 0, 0, G_OPTION_ARG_FILENAME, &turn_secret_file,
      "File holding the TURN servers' shared secret (coturn's static-auth-secret), "
      "over the configuration's turn.secret", "FILE" },
    { "turn-secret", 0, 0, G_OPTION_ARG_STRING, &turn_secret,
      "The TURN secret itself; visible to every user in ps, prefer --turn-secret-file",
      "SECRET" },
    { "relay-url", 0, 0, G_OPTION_ARG_STRING_ARRAY, &relay_urls,
      "Relay handed to peers with a token (repeat for more; replaces the configuration's "
      "relay.addresses)", "rels://HOST:PORT" },
    { "relay-secret-file", 0, 0, G_OPTION_ARG_FILENAME, &relay_secret_file,
      "File holding the secret shared with the relays (netbird-relay's --auth-secret), "
      "over the configuration's relay.secret", "FILE" },
    { "relay-secret", 0, 0, G_OPTION_ARG_STRING, &relay_secret,
      "The relay secret itself; visible to every user in ps, prefer --relay-secret-file",
      "SECRET" },
    { "max-connections", 0, 0, G_OPTION_ARG_INT, &max_connections,
      "Most connections open at once (default: the descriptor limit less a reserve)", "N" },
    { "max-connections-per-address", 0, 0, G_OPTION_ARG_INT, &max_per_address,
      "Most connections open at once from one address (default: 3/4 of the above)", "N" },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(NbManagementServer) server = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  guint sigterm, sigint;

  setlocale (LC_ALL, "");

  context = g_option_context_new ("- NetBird-style Management server");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("netbird-management: %s\n", error->message);
      return 2;
    }
  if (version)
    {
      g_print ("netbird-management %s\n", nb_get_version_string ());
      return 0;
    }
  if (data_dir == NULL && config_file == NULL)
    {
      g_printerr ("netbird-management: give --data-dir DIR (or a --config with data_dir)\n");
      return 2;
    }
  if (max_connections < 0 || max_per_address < 0)
    {
      g_printerr ("netbird-management: connection limits are positive numbers\n");
      return 2;
    }
  if (turn_secret != NULL && turn_secret_file != NULL)
    {
      g_printerr ("netbird-management: give --turn-secret-file or --turn-secret, not both\n");
      return 2;
    }
  if (turn_secret_file != NULL)
    {
      turn_secret = read_secret_file ("TURN", turn_secret_file, &error);
      if (turn_secret == NULL)
        {
          g_printerr ("netbird-management: %s\n", error->message);
          return 2;
        }
    }
  if (relay_secret != NULL && relay_secret_file != NULL)
    {
      g_printerr ("netbird-management: give --relay-secret-file or --relay-secret, not both\n");
      return 2;
    }
  if (relay_secret_file != NULL)
    {
      relay_secret = read_secret_file ("relay", relay_secret_file, &error);
      if (relay_secret == NULL)
        {
          g_printerr ("netbird-management: %s\n", error->message);
          return 2;
        }
    }

  /* Each connection holds a descriptor; the caps derive from this limit. */
  nb_raise_descriptor_limit ();

  if (reset_admin_token)
    {
      g_autofree char *account_id = NULL;
      g_autofree char *token = nb_management_server_reset_admin_token (data_dir, config_file,
                                                                        &account_id, &error);

      if (token == NULL)
        {
          g_printerr ("netbird-management: %s\n", error->message);
          return 1;
        }
      g_printerr ("New admin token for the owner of account %s:\n", account_id);
      g_print ("%s\n", token);
      return 0;
    }

  /* Signals are caught from the start: one that arrives while the store
   * opens or the socket binds ends the daemon as cleanly as a later one. */
  loop = g_main_loop_new (NULL, FALSE);
  sigterm = g_unix_signal_add (SIGTERM, on_signal, loop);
  sigint = g_unix_signal_add (SIGINT, on_signal, loop);

  server = g_initable_new (NB_TYPE_MANAGEMENT_SERVER, NULL, &error,
                           "data-dir", data_dir,
                           "config-file", config_file,
                           "signal-uri", signal_url,
                           "stun-uris", stun_urls,
                           "turn-uris", turn_urls,
                           "turn-secret", turn_secret,
                           "relay-urls", relay_urls,
                           "relay-secret", relay_secret,
                           NULL);
  wipe_string (turn_secret);
  wipe_string (relay_secret);
  if (server == NULL && g_error_matches (error, NB_MANAGEMENT_SERVER_ERROR,
                                         NB_MANAGEMENT_SERVER_ERROR_INVALID_ARGUMENT))
    {
      /* A bad flag: a usage error, as the option parser's. */
      g_printerr ("netbird-management: %s\n", error->message);
      return 2;
    }
  if (server != NULL)
    nb_management_server_set_connection_limits (server, (guint) max_connections,
                                                (guint) max_per_address);
  if (server == NULL ||
      (metrics != NULL && !nb_management_server_listen_metrics (server, metrics, &error)) ||
      !nb_management_server_listen (server, listen, &error))
    {
      g_printerr ("netbird-management: %s\n", error->message);
      return 1;
    }

  if (nb_management_server_get_credentials_file (server) != NULL)
    g_print ("Initial admin token and setup key written to %s\n",
             nb_management_server_get_credentials_file (server));
  g_print ("Listening on %s\n", nb_management_server_get_listen_address (server));
  fflush (stdout);

  g_main_loop_run (loop);
  g_source_remove (sigterm);
  g_source_remove (sigint);

  nb_management_server_stop (server);
  return 0;
}
