/* nb-client-run.c: one NbClient as a host runs it, for the namespace tests
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 *   nb-client-run --config FILE [--management-url URL] [--setup-key KEY]
 *                 [--interface NAME] [--port N] [--hostname NAME]
 *                 [--block-inbound] [--disable-firewall]
 *
 * Brings the client up and stays up until SIGTERM or SIGINT, printing one
 * line per event on stdout, "key=value" words:
 *   start public_key=KEY
 *   up address=100.64.0.7/10 elapsed_ms=N
 *   up-failed error=SETUP_KEY_INVALID message=...        (then exit 3)
 *   state=connected|connecting|down|needs-login
 *   management connected=1|0 error=...
 *   signal connected=1|0
 *   map serial=N peers=N
 *   peer-added key=KEY address=IP
 *   peer-removed key=KEY
 *   peer key=KEY state=connected type=p2p|relayed local=host remote=srflx
 *     local_endpoint=IP:PORT remote_endpoint=IP:PORT elapsed_ms=N
 * SIGUSR2 logs in again with --relogin-key (a client whose peer was deleted
 * comes back): "login ok" or "login-failed error=... message=...".
 * SIGUSR1 prints a "status" line per peer (bytes, last handshake, latency),
 * then "status-end peers=N firewall_mode=M firewall_rules=N firewall_drops=N".
 * Settings given on the command line are saved to the configuration.
 */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <glib-unix.h>

#include <netbird.h>

typedef struct
{
  GMainLoop *loop;
  NbClient *client;
  char *relogin_key;
  gint64 started;
  int status;
} Run;

static gint64
elapsed_ms (Run *run)
{
  return (g_get_monotonic_time () - run->started) / 1000;
}

static char *
nick (GType type, int value)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (type);
  GEnumValue *v = g_enum_get_value (klass, value);

  return g_strdup (v != NULL ? v->value_nick : "unknown");
}

static void
on_peer_state (NbClientPeer *peer,
               GParamSpec   *pspec,
               Run          *run)
{
  NbIceCandidateType local = 0, remote = 0;
  g_autofree char *state = nick (NB_TYPE_CLIENT_PEER_STATE, nb_client_peer_get_state (peer));
  g_autofree char *type = nick (NB_TYPE_CLIENT_CONNECTION_TYPE,
                                nb_client_peer_get_connection_type (peer));
  g_autofree char *l = NULL, *r = NULL;

  nb_client_peer_get_candidate_types (peer, &local, &remote);
  l = nick (NB_TYPE_ICE_CANDIDATE_TYPE, local);
  r = nick (NB_TYPE_ICE_CANDIDATE_TYPE, remote);
  g_print ("peer key=%s state=%s type=%s local=%s remote=%s local_endpoint=%s "
           "remote_endpoint=%s relay=%s elapsed_ms=%" G_GINT64_FORMAT "\n",
           nb_client_peer_get_public_key (peer), state, type, l, r,
           nb_client_peer_get_local_endpoint (peer) ? nb_client_peer_get_local_endpoint (peer) : "-",
           nb_client_peer_get_remote_endpoint (peer) ? nb_client_peer_get_remote_endpoint (peer) : "-",
           nb_client_peer_get_relay_address (peer) ? nb_client_peer_get_relay_address (peer) : "-",
           elapsed_ms (run));
}

static void
on_peer_added (NbClient     *client,
               NbClientPeer *peer,
               Run          *run)
{
  g_print ("peer-added key=%s address=%s\n", nb_client_peer_get_public_key (peer),
           nb_client_peer_get_address (peer));
  g_signal_connect (peer, "notify::state", G_CALLBACK (on_peer_state), run);
  g_signal_connect (peer, "notify::connection-type", G_CALLBACK (on_peer_state), run);
}

static void
on_peer_removed (NbClient     *client,
                 NbClientPeer *peer,
                 Run          *run)
{
  g_signal_handlers_disconnect_by_data (peer, run);
  g_print ("peer-removed key=%s\n", nb_client_peer_get_public_key (peer));
}

static void
on_map (NbClient *client,
        gint64    serial,
        Run      *run)
{
  g_autoptr(GPtrArray) peers = nb_client_list_peers (client);

  g_print ("map serial=%" G_GINT64_FORMAT " peers=%u\n", serial, peers->len);
}

static void
on_state (NbClient   *client,
          GParamSpec *pspec,
          Run        *run)
{
  g_autofree char *state = nick (NB_TYPE_CLIENT_STATE, nb_client_get_state (client));

  g_print ("state=%s\n", state);
}

static void
on_management (NbClient   *client,
               GParamSpec *pspec,
               Run        *run)
{
  const char *error = nb_client_get_management_error (client);

  g_print ("management connected=%d error=%s\n", nb_client_get_management_connected (client),
           error != NULL ? error : "-");
}

static void
on_signal (NbClient   *client,
           GParamSpec *pspec,
           Run        *run)
{
  g_print ("signal connected=%d\n", nb_client_get_signal_connected (client));
}

static void
on_up (GObject      *source,
       GAsyncResult *result,
       gpointer      user_data)
{
  Run *run = user_data;
  g_autoptr(GError) error = NULL;

  if (!nb_client_up_finish (NB_CLIENT (source), result, &error))
    {
      g_autofree char *code = error->domain == NB_CLIENT_ERROR
                              ? nick (NB_TYPE_CLIENT_ERROR, error->code) : g_strdup ("other");

      g_print ("up-failed error=%s message=%s\n", code, error->message);
      run->status = 3;
      g_main_loop_quit (run->loop);
      return;
    }
  g_print ("up address=%s elapsed_ms=%" G_GINT64_FORMAT "\n",
           nb_client_get_address (NB_CLIENT (source)), elapsed_ms (run));
}

static gboolean
on_quit (gpointer user_data)
{
  Run *run = user_data;

  g_main_loop_quit (run->loop);
  return G_SOURCE_CONTINUE;
}

static void
on_login (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  if (nb_client_login_finish (NB_CLIENT (source), result, &error))
    {
      g_print ("login ok\n");
      return;
    }
  {
    g_autofree char *code = error->domain == NB_CLIENT_ERROR
                            ? nick (NB_TYPE_CLIENT_ERROR, error->code) : g_strdup ("other");

    g_print ("login-failed error=%s message=%s\n", code, error->message);
  }
}

static gboolean
on_relogin (gpointer user_data)
{
  Run *run = user_data;

  nb_client_login_async (run->client, run->relogin_key, NULL, on_login, run);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_status (gpointer user_data)
{
  Run *run = user_data;
  g_autoptr(GPtrArray) peers = nb_client_list_peers (run->client);

  for (guint i = 0; i < peers->len; i++)
    {
      NbClientPeer *peer = peers->pdata[i];

      g_print ("status key=%s address=%s rx=%" G_GUINT64_FORMAT " tx=%" G_GUINT64_FORMAT
               " handshake=%" G_GINT64_FORMAT " latency_us=%" G_GINT64_FORMAT "\n",
               nb_client_peer_get_public_key (peer), nb_client_peer_get_address (peer),
               nb_client_peer_get_bytes_received (peer), nb_client_peer_get_bytes_sent (peer),
               nb_client_peer_get_last_handshake (peer), nb_client_peer_get_latency (peer));
    }
  {
    g_autofree char *mode = nick (NB_TYPE_CLIENT_FIREWALL_MODE,
                                  nb_client_get_firewall_mode (run->client));

    g_print ("status-end peers=%u firewall_mode=%s firewall_rules=%u firewall_drops=%"
             G_GUINT64_FORMAT "\n", peers->len, mode, nb_client_get_firewall_rules (run->client),
             nb_client_get_firewall_drops (run->client));
  }
  return G_SOURCE_CONTINUE;
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *config = NULL, *url = NULL, *setup_key = NULL, *ifname = NULL;
  g_autofree char *hostname = NULL, *relogin_key = NULL;
  gboolean block_inbound = FALSE, disable_firewall = FALSE;
  int port = -1;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config, "Configuration file", "FILE" },
    { "management-url", 'm', 0, G_OPTION_ARG_STRING, &url, "Management", "URL" },
    { "setup-key", 'k', 0, G_OPTION_ARG_STRING, &setup_key, "Setup key", "KEY" },
    { "interface", 'i', 0, G_OPTION_ARG_STRING, &ifname, "Interface name", "NAME" },
    { "port", 'p', 0, G_OPTION_ARG_INT, &port, "WireGuard port (0: any)", "PORT" },
    { "hostname", 'n', 0, G_OPTION_ARG_STRING, &hostname, "Name to register with", "NAME" },
    { "block-inbound", 0, 0, G_OPTION_ARG_NONE, &block_inbound, "Drop inbound connections", NULL },
    { "disable-firewall", 0, 0, G_OPTION_ARG_NONE, &disable_firewall, "No packet filter", NULL },
    { "relogin-key", 0, 0, G_OPTION_ARG_STRING, &relogin_key, "Setup key for SIGUSR2", "KEY" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- one NbClient");
  g_autoptr(GError) error = NULL;
  Run run = { 0 };

  setlocale (LC_ALL, "");
  setvbuf (stdout, NULL, _IOLBF, 0);
  run.started = g_get_monotonic_time ();
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("nb-client-run: %s\n", error->message);
      return 2;
    }
  if (config == NULL)
    {
      g_printerr ("nb-client-run: --config is required\n");
      return 2;
    }
  run.loop = g_main_loop_new (NULL, FALSE);
  run.client = nb_client_new (config, &error);
  if (run.client == NULL)
    {
      g_printerr ("nb-client-run: %s\n", error->message);
      return 2;
    }
  if ((url != NULL && !nb_client_set_management_url (run.client, url, &error)) ||
      (ifname != NULL && !nb_client_set_interface_name (run.client, ifname, &error)))
    {
      g_printerr ("nb-client-run: %s\n", error->message);
      return 2;
    }
  if (port >= 0)
    nb_client_set_wireguard_port (run.client, port);
  if (hostname != NULL)
    nb_client_set_hostname (run.client, hostname);
  nb_client_set_block_inbound (run.client, block_inbound);
  nb_client_set_disable_firewall (run.client, disable_firewall);
  if (!nb_client_save_config (run.client, &error))
    {
      g_printerr ("nb-client-run: %s\n", error->message);
      return 2;
    }

  g_signal_connect (run.client, "peer-added", G_CALLBACK (on_peer_added), &run);
  g_signal_connect (run.client, "peer-removed", G_CALLBACK (on_peer_removed), &run);
  g_signal_connect (run.client, "network-map-applied", G_CALLBACK (on_map), &run);
  g_signal_connect (run.client, "notify::state", G_CALLBACK (on_state), &run);
  g_signal_connect (run.client, "notify::management-connected", G_CALLBACK (on_management), &run);
  g_signal_connect (run.client, "notify::management-error", G_CALLBACK (on_management), &run);
  g_signal_connect (run.client, "notify::signal-connected", G_CALLBACK (on_signal), &run);
  g_unix_signal_add (SIGTERM, on_quit, &run);
  g_unix_signal_add (SIGINT, on_quit, &run);
  g_unix_signal_add (SIGUSR1, on_status, &run);
  run.relogin_key = relogin_key;
  g_unix_signal_add (SIGUSR2, on_relogin, &run);

  g_print ("start public_key=%s\n", nb_client_get_public_key (run.client));
  nb_client_up_async (run.client, setup_key, NULL, on_up, &run);
  g_main_loop_run (run.loop);

  nb_client_down (run.client);
  g_clear_object (&run.client);
  /* What the client let go of from within handlers goes now. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_print ("exit\n");
  g_main_loop_unref (run.loop);
  return run.status;
}
