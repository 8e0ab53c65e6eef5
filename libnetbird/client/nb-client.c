/* nb-client.c: a peer of a NetBird network, as a machine runs it
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * The object, its settings and status, and its life cycle: login, the sync
 * channel kept open (a reconnect with backoff and jitter when it drops;
 * the tunnels keep running meanwhile), each map handed to the engine
 * (nb-client-engine.c), and down. See nb-client-private.h for the files.
 */
#define G_LOG_DOMAIN "netbird-client"

#include <string.h>
#include <sodium.h>

#include "nb-client-private.h"
#include "nb-client-enum-types.h"

/* Reconnects to Management: 1 s, doubling up to 30 s, each ±20%. */
#define RECONNECT_MIN_MS 1000
#define RECONNECT_MAX_MS 30000

/**
 * NbClient:
 *
 * A peer of a NetBird network: what `netbird up` runs on a machine.
 *
 * The client logs in to Management with its WireGuard key (registering
 * with a setup key the first time), keeps the sync channel open, and
 * applies every network map Management pushes: the TUN interface
 * (#NbClient:interface-name) comes up with the peer's address, every
 * remote peer of the map gets a WireGuard peer and a connection of its own
 * (offer, answer and ICE candidates through Signal, then WireGuard over
 * the path ICE selected, direct or through a TURN relay), and the map's
 * firewall rules go to the packet filter of the WireGuard data path.
 *
 * Settings live in a JSON configuration file (nb_client_new()); the
 * private key in a file of mode 0600 beside it, made on first use, so a
 * restarted client is the same peer with the same address. The setup key
 * is never saved.
 *
 * ```c
 * g_autoptr(NbClient) client = nb_client_new ("/var/lib/netbird/config.json", &error);
 * nb_client_set_management_url (client, "https://netbird.example:33073", &error);
 * nb_client_up_async (client, setup_key, NULL, on_up, NULL);
 * ```
 *
 * Status is in properties, which notify on the main context of the thread
 * that made the client; the remote peers are #NbClientPeer objects
 * (nb_client_list_peers(), #NbClient::peer-added, #NbClient::peer-removed).
 * Bringing a client up needs the rights to make a TUN device
 * (CAP_NET_ADMIN).
 */
struct _NbClient
{
  GObject parent_instance;

  char *config_path;
  NbClientConfig *config;
  NbKey *key;

  NbClientState state;
  char *address;
  char *fqdn;
  gboolean management_connected;
  char *management_error;
  char *signal_url;
  gboolean signal_connected;
  char *signal_error;

  GMainContext *context;
  NbMgmtClient *mgmt;
  NbClientEngine *engine;
  GCancellable *cancellable;    /* of the run, from up to down */
  GTask *up_task;               /* until the first map is applied */
  GSource *reconnect_source;
  guint reconnect_attempts;
  gboolean syncing;             /* the sync channel is open or opening */
};

G_DEFINE_FINAL_TYPE (NbClient, nb_client, G_TYPE_OBJECT)

G_DEFINE_QUARK (nb-client-error-quark, nb_client_error)

enum {
  PROP_0,
  PROP_CONFIG_PATH,
  PROP_MANAGEMENT_URL,
  PROP_HOSTNAME,
  PROP_INTERFACE_NAME,
  PROP_WIREGUARD_PORT,
  PROP_BLOCK_INBOUND,
  PROP_DISABLE_FIREWALL,
  PROP_STATE,
  PROP_PUBLIC_KEY,
  PROP_ADDRESS,
  PROP_FQDN,
  PROP_MANAGEMENT_CONNECTED,
  PROP_MANAGEMENT_ERROR,
  PROP_SIGNAL_URL,
  PROP_SIGNAL_CONNECTED,
  PROP_SIGNAL_ERROR,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_PEER_ADDED,
  SIGNAL_PEER_REMOVED,
  SIGNAL_NETWORK_MAP_APPLIED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void start_sync (NbClient *self);

/* -- status setters ------------------------------------------------------- */

static void
set_string (NbClient    *self,
            char       **field,
            const char  *value,
            guint        prop)
{
  if (g_strcmp0 (*field, value) == 0)
    return;
  g_free (*field);
  *field = g_strdup (value);
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
}

static void
set_state (NbClient      *self,
           NbClientState  state)
{
  if (self->state == state)
    return;
  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

static void
set_management (NbClient   *self,
                gboolean    connected,
                const char *error)
{
  g_object_freeze_notify (G_OBJECT (self));
  if (self->management_connected != connected)
    {
      self->management_connected = connected;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MANAGEMENT_CONNECTED]);
    }
  set_string (self, &self->management_error, error, PROP_MANAGEMENT_ERROR);
  g_object_thaw_notify (G_OBJECT (self));
}

void
nb_client_set_signal_status (NbClient   *self,
                             const char *url,
                             gboolean    connected,
                             const char *error)
{
  g_object_freeze_notify (G_OBJECT (self));
  set_string (self, &self->signal_url, url, PROP_SIGNAL_URL);
  if (self->signal_connected != connected)
    {
      self->signal_connected = connected;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SIGNAL_CONNECTED]);
    }
  set_string (self, &self->signal_error, error, PROP_SIGNAL_ERROR);
  g_object_thaw_notify (G_OBJECT (self));
}

void
nb_client_set_own_address (NbClient   *self,
                           const char *address,
                           const char *fqdn)
{
  g_object_freeze_notify (G_OBJECT (self));
  set_string (self, &self->address, address, PROP_ADDRESS);
  set_string (self, &self->fqdn, fqdn, PROP_FQDN);
  g_object_thaw_notify (G_OBJECT (self));
}

void
nb_client_emit_peer_added (NbClient     *self,
                           NbClientPeer *peer)
{
  g_signal_emit (self, signals[SIGNAL_PEER_ADDED], 0, peer);
}

void
nb_client_emit_peer_removed (NbClient     *self,
                             NbClientPeer *peer)
{
  g_signal_emit (self, signals[SIGNAL_PEER_REMOVED], 0, peer);
}

const NbClientConfig *
nb_client_get_config (NbClient *self)
{
  return self->config;
}

/* -- errors --------------------------------------------------------------- */

/* What Management's client said, as a user reads it. */
static GError *
client_error_of (NbClient *self,
                 GError   *error)
{
  g_autoptr(GError) owned = error;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
      error->domain == NB_CLIENT_ERROR)
    return g_steal_pointer (&owned);
  if (error->domain == NB_MGMT_CLIENT_ERROR)
    switch (error->code)
      {
      case NB_MGMT_CLIENT_ERROR_NOT_REGISTERED:
        return g_error_new_literal (NB_CLIENT_ERROR, NB_CLIENT_ERROR_NEEDS_SETUP_KEY,
                                    "This peer is not registered with Management: "
                                    "give a setup key to register it");
      case NB_MGMT_CLIENT_ERROR_UNAUTHENTICATED:
        return g_error_new (NB_CLIENT_ERROR, NB_CLIENT_ERROR_SETUP_KEY_INVALID,
                            "Management refused the setup key: %s", error->message);
      case NB_MGMT_CLIENT_ERROR_LOGIN_REFUSED:
      case NB_MGMT_CLIENT_ERROR_REFUSED:
        return g_error_new (NB_CLIENT_ERROR, NB_CLIENT_ERROR_LOGIN_REFUSED,
                            "Management refused the login: %s", error->message);
      case NB_MGMT_CLIENT_ERROR_PROTOCOL:
      default:
        return g_error_new (NB_CLIENT_ERROR, NB_CLIENT_ERROR_PROTOCOL,
                            "Management answered something this client cannot use: %s",
                            error->message);
      }
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT))
    return g_error_new (NB_CLIENT_ERROR, NB_CLIENT_ERROR_CONFIG, "%s", error->message);
  /* Refused, timed out, no such host, TLS, HTTP: Management is not there
   * (or not Management). */
  return g_error_new (NB_CLIENT_ERROR, NB_CLIENT_ERROR_MANAGEMENT_UNREACHABLE,
                      "Management at %s is not reachable: %s", self->config->management_url,
                      error->message);
}

/* -- the run -------------------------------------------------------------- */

static void
stop_run (NbClient *self)
{
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->reconnect_source != NULL)
    {
      g_source_destroy (self->reconnect_source);
      g_clear_pointer (&self->reconnect_source, g_source_unref);
    }
  if (self->mgmt != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->mgmt, self);
      nb_mgmt_client_close (self->mgmt);
      g_clear_object (&self->mgmt);
    }
  self->syncing = FALSE;
  self->reconnect_attempts = 0;
  g_clear_pointer (&self->engine, nb_client_engine_free);
}

static void
fail_up (NbClient *self,
         GError   *error)
{
  g_autoptr(GTask) task = g_steal_pointer (&self->up_task);

  if (task != NULL)
    g_task_return_error (task, error);
  else
    g_error_free (error);
}

/* This peer was deleted (or its registration ended): nothing of the map
 * stays, and only a login with a setup key brings it back. */
static void
peer_deleted (NbClient   *self,
              const char *why)
{
  g_autofree char *message =
    g_strdup_printf ("This peer was deleted from the account or its registration ended (%s): "
                     "log in again with a setup key", why);

  g_message ("%s", message);
  if (self->engine != NULL)
    nb_client_engine_remove_all_peers (self->engine);
  if (self->reconnect_source != NULL)
    {
      g_source_destroy (self->reconnect_source);
      g_clear_pointer (&self->reconnect_source, g_source_unref);
    }
  if (self->mgmt != NULL)
    nb_mgmt_client_close (self->mgmt);
  self->syncing = FALSE;
  set_management (self, FALSE, message);
  set_state (self, NB_CLIENT_STATE_NEEDS_LOGIN);
  fail_up (self, g_error_new_literal (NB_CLIENT_ERROR, NB_CLIENT_ERROR_PEER_DELETED, message));
}

static gboolean on_reconnect (gpointer user_data);

static void
schedule_reconnect (NbClient *self)
{
  guint delay = RECONNECT_MIN_MS;
  gint jitter;

  if (self->reconnect_source != NULL || self->cancellable == NULL)
    return;
  for (guint i = 0; i < self->reconnect_attempts && delay < RECONNECT_MAX_MS; i++)
    delay *= 2;
  delay = MIN (delay, RECONNECT_MAX_MS);
  /* ±20%: clients that lost Management at once do not come back at once. */
  jitter = g_random_int_range (-(gint) delay / 5, (gint) delay / 5 + 1);
  delay += jitter;
  self->reconnect_attempts++;
  g_debug ("Reconnecting to Management in %u ms (attempt %u)", delay, self->reconnect_attempts);
  self->reconnect_source = g_timeout_source_new (delay);
  g_source_set_callback (self->reconnect_source, on_reconnect, self, NULL);
  g_source_set_static_name (self->reconnect_source, "[netbird] Management reconnect");
  g_source_attach (self->reconnect_source, self->context);
}

static void
on_network_map (NbMgmtClient          *mgmt,
                NbMgmtMsgSyncResponse *response,
                NbClient              *self)
{
  g_autoptr(GError) error = NULL;

  if (self->engine == NULL)
    return;
  if (!nb_client_engine_set_services (self->engine, response->netbird_config, &error))
    {
      g_message ("%s", error->message);
      g_clear_error (&error);
    }
  if (!nb_client_engine_apply_map (self->engine, response->network_map, &error))
    {
      g_message ("Network map %" G_GINT64_FORMAT " not applied: %s",
                 response->network_map->serial, error->message);
      if (self->up_task != NULL)
        {
          set_state (self, NB_CLIENT_STATE_DOWN);
          fail_up (self, g_steal_pointer (&error));
          stop_run (self);
        }
      return;
    }
  self->reconnect_attempts = 0;
  set_management (self, TRUE, NULL);
  set_state (self, NB_CLIENT_STATE_CONNECTED);
  g_signal_emit (self, signals[SIGNAL_NETWORK_MAP_APPLIED], 0, response->network_map->serial);
  if (self->up_task != NULL)
    {
      g_autoptr(GTask) task = g_steal_pointer (&self->up_task);
      g_task_return_boolean (task, TRUE);
    }
}

static void
on_closed (NbMgmtClient *mgmt,
           guint         code,
           const char   *reason,
           NbClient     *self)
{
  g_autofree char *message = NULL;

  self->syncing = FALSE;
  /* 4004: Management does not know this peer any more. */
  if (code == 4004)
    {
      peer_deleted (self, reason != NULL && reason[0] != '\0' ? reason : "not registered");
      return;
    }
  message = g_strdup_printf ("Management closed the sync channel (%u%s%s): reconnecting", code,
                             reason != NULL && reason[0] != '\0' ? " " : "",
                             reason != NULL ? reason : "");
  g_message ("%s", message);
  set_management (self, FALSE, message);
  schedule_reconnect (self);
}

static void
on_sync_open (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  NbClient *self = user_data;
  g_autoptr(GError) error = NULL;

  if (nb_mgmt_client_sync_finish (NB_MGMT_CLIENT (source), result, &error))
    {
      g_object_unref (self);
      return;
    }
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || self->mgmt == NULL ||
      NB_MGMT_CLIENT (source) != self->mgmt)
    {
      g_object_unref (self);
      return;
    }
  self->syncing = FALSE;
  if (g_error_matches (error, NB_MGMT_CLIENT_ERROR, NB_MGMT_CLIENT_ERROR_NOT_REGISTERED))
    peer_deleted (self, error->message);
  else if (self->up_task != NULL)
    {
      set_state (self, NB_CLIENT_STATE_DOWN);
      fail_up (self, client_error_of (self, g_steal_pointer (&error)));
      stop_run (self);
    }
  else
    {
      g_autofree char *message = g_strdup_printf ("No sync channel: %s", error->message);

      set_management (self, FALSE, message);
      schedule_reconnect (self);
    }
  g_object_unref (self);
}

static void
start_sync (NbClient *self)
{
  g_autoptr(NbMgmtMsgPeerMeta) meta = nb_client_meta_collect (self->config->hostname,
                                                              self->config->interface_name);

  self->syncing = TRUE;
  nb_mgmt_client_sync_async (self->mgmt, meta, self->cancellable, on_sync_open,
                             g_object_ref (self));
}

/* The login done: Signal, STUN and TURN to the engine, then the sync
 * channel. */
static gboolean
logged_in (NbClient                     *self,
           const NbMgmtMsgLoginResponse *response,
           GError                      **error)
{
  if (self->engine == NULL)
    self->engine = nb_client_engine_new (self, self->key);
  if (!nb_client_engine_set_services (self->engine, response->netbird_config, error))
    return FALSE;
  if (response->peer_config != NULL)
    nb_client_set_own_address (self, response->peer_config->address, response->peer_config->fqdn);
  start_sync (self);
  return TRUE;
}

static void
on_relogin (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  NbClient *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtMsgLoginResponse) response =
    nb_mgmt_client_login_finish (NB_MGMT_CLIENT (source), result, &error);

  if (response == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_object_unref (self);
      return;
    }
  if (response == NULL)
    {
      if (g_error_matches (error, NB_MGMT_CLIENT_ERROR, NB_MGMT_CLIENT_ERROR_NOT_REGISTERED))
        peer_deleted (self, "Management does not know it");
      else if (g_error_matches (error, NB_MGMT_CLIENT_ERROR, NB_MGMT_CLIENT_ERROR_LOGIN_REFUSED))
        {
          g_autoptr(GError) mapped = client_error_of (self, g_steal_pointer (&error));

          set_management (self, FALSE, mapped->message);
          set_state (self, NB_CLIENT_STATE_NEEDS_LOGIN);
          if (self->engine != NULL)
            nb_client_engine_remove_all_peers (self->engine);
        }
      else
        {
          g_autoptr(GError) mapped = client_error_of (self, g_steal_pointer (&error));

          set_management (self, FALSE, mapped->message);
          schedule_reconnect (self);
        }
      g_object_unref (self);
      return;
    }
  if (!logged_in (self, response, &error))
    {
      set_management (self, FALSE, error->message);
      schedule_reconnect (self);
    }
  g_object_unref (self);
}

static gboolean
on_reconnect (gpointer user_data)
{
  NbClient *self = user_data;
  g_autoptr(NbMgmtMsgPeerMeta) meta = NULL;

  g_clear_pointer (&self->reconnect_source, g_source_unref);
  if (self->mgmt == NULL || self->syncing)
    return G_SOURCE_REMOVE;
  /* A login first: it brings fresh TURN credentials, and tells at once
   * whether the peer is still registered. */
  meta = nb_client_meta_collect (self->config->hostname, self->config->interface_name);
  nb_mgmt_client_login_async (self->mgmt, NULL, meta, self->cancellable, on_relogin,
                              g_object_ref (self));
  return G_SOURCE_REMOVE;
}

static void
on_up_login (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(NbClient) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtMsgLoginResponse) response =
    nb_mgmt_client_login_finish (NB_MGMT_CLIENT (source), result, &error);

  if (self->up_task == NULL || NB_MGMT_CLIENT (source) != self->mgmt)
    return;   /* brought down meanwhile */
  if (response == NULL)
    {
      g_autoptr(GError) mapped = client_error_of (self, g_steal_pointer (&error));

      if (mapped->domain == NB_CLIENT_ERROR &&
          (mapped->code == NB_CLIENT_ERROR_NEEDS_SETUP_KEY ||
           mapped->code == NB_CLIENT_ERROR_SETUP_KEY_INVALID ||
           mapped->code == NB_CLIENT_ERROR_LOGIN_REFUSED ||
           mapped->code == NB_CLIENT_ERROR_PEER_DELETED))
        set_state (self, NB_CLIENT_STATE_NEEDS_LOGIN);
      else
        set_state (self, NB_CLIENT_STATE_DOWN);
      set_management (self, FALSE, mapped->message);
      fail_up (self, g_steal_pointer (&mapped));
      stop_run (self);
      return;
    }
  if (!logged_in (self, response, &error))
    {
      set_state (self, NB_CLIENT_STATE_DOWN);
      set_management (self, FALSE, error->message);
      fail_up (self, g_steal_pointer (&error));
      stop_run (self);
    }
}

/* -- GObject -------------------------------------------------------------- */

static void
nb_client_dispose (GObject *object)
{
  NbClient *self = NB_CLIENT (object);

  if (self->up_task != NULL)
    fail_up (self, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                        "The client was destroyed"));
  stop_run (self);
  G_OBJECT_CLASS (nb_client_parent_class)->dispose (object);
}

static void
nb_client_finalize (GObject *object)
{
  NbClient *self = NB_CLIENT (object);

  g_free (self->config_path);
  g_clear_pointer (&self->config, nb_client_config_free);
  g_clear_object (&self->key);
  g_free (self->address);
  g_free (self->fqdn);
  g_free (self->management_error);
  g_free (self->signal_url);
  g_free (self->signal_error);
  g_clear_pointer (&self->context, g_main_context_unref);
  G_OBJECT_CLASS (nb_client_parent_class)->finalize (object);
}

static void
nb_client_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  NbClient *self = NB_CLIENT (object);

  switch (prop_id)
    {
    case PROP_CONFIG_PATH:
      g_value_set_string (value, self->config_path);
      break;
    case PROP_MANAGEMENT_URL:
      g_value_set_string (value, nb_client_get_management_url (self));
      break;
    case PROP_HOSTNAME:
      g_value_set_string (value, nb_client_get_hostname (self));
      break;
    case PROP_INTERFACE_NAME:
      g_value_set_string (value, nb_client_get_interface_name (self));
      break;
    case PROP_WIREGUARD_PORT:
      g_value_set_uint (value, nb_client_get_wireguard_port (self));
      break;
    case PROP_BLOCK_INBOUND:
      g_value_set_boolean (value, nb_client_get_block_inbound (self));
      break;
    case PROP_DISABLE_FIREWALL:
      g_value_set_boolean (value, nb_client_get_disable_firewall (self));
      break;
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_PUBLIC_KEY:
      g_value_set_string (value, nb_client_get_public_key (self));
      break;
    case PROP_ADDRESS:
      g_value_set_string (value, self->address);
      break;
    case PROP_FQDN:
      g_value_set_string (value, self->fqdn);
      break;
    case PROP_MANAGEMENT_CONNECTED:
      g_value_set_boolean (value, self->management_connected);
      break;
    case PROP_MANAGEMENT_ERROR:
      g_value_set_string (value, self->management_error);
      break;
    case PROP_SIGNAL_URL:
      g_value_set_string (value, self->signal_url);
      break;
    case PROP_SIGNAL_CONNECTED:
      g_value_set_boolean (value, self->signal_connected);
      break;
    case PROP_SIGNAL_ERROR:
      g_value_set_string (value, self->signal_error);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
nb_client_set_property (GObject      *object,
                        guint         prop_id,
                        const GValue *value,
                        GParamSpec   *pspec)
{
  NbClient *self = NB_CLIENT (object);
  g_autoptr(GError) error = NULL;

  switch (prop_id)
    {
    case PROP_CONFIG_PATH:
      self->config_path = g_value_dup_string (value);
      break;
    case PROP_MANAGEMENT_URL:
      if (!nb_client_set_management_url (self, g_value_get_string (value), &error))
        g_critical ("%s", error->message);
      break;
    case PROP_HOSTNAME:
      nb_client_set_hostname (self, g_value_get_string (value));
      break;
    case PROP_INTERFACE_NAME:
      if (!nb_client_set_interface_name (self, g_value_get_string (value), &error))
        g_critical ("%s", error->message);
      break;
    case PROP_WIREGUARD_PORT:
      nb_client_set_wireguard_port (self, g_value_get_uint (value));
      break;
    case PROP_BLOCK_INBOUND:
      nb_client_set_block_inbound (self, g_value_get_boolean (value));
      break;
    case PROP_DISABLE_FIREWALL:
      nb_client_set_disable_firewall (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
nb_client_class_init (NbClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->dispose = nb_client_dispose;
  object_class->finalize = nb_client_finalize;
  object_class->get_property = nb_client_get_property;
  object_class->set_property = nb_client_set_property;

  /**
   * NbClient:config-path:
   *
   * The configuration file the settings are read from and saved to.
   */
  properties[PROP_CONFIG_PATH] =
    g_param_spec_string ("config-path", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * NbClient:management-url:
   *
   * Management's URL ("https://netbird.example:33073"). Takes effect at
   * the next nb_client_up_async().
   */
  properties[PROP_MANAGEMENT_URL] = g_param_spec_string ("management-url", NULL, NULL, NULL, rw);
  /**
   * NbClient:hostname:
   *
   * The name the peer registers with; %NULL for the machine's.
   */
  properties[PROP_HOSTNAME] = g_param_spec_string ("hostname", NULL, NULL, NULL, rw);
  /**
   * NbClient:interface-name:
   *
   * The TUN interface of the tunnel (default "wt0"). Takes effect at the
   * next nb_client_up_async().
   */
  properties[PROP_INTERFACE_NAME] =
    g_param_spec_string ("interface-name", NULL, NULL, NB_CLIENT_DEFAULT_INTERFACE, rw);
  /**
   * NbClient:wireguard-port:
   *
   * WireGuard's UDP port (default 51820; 0 for any). When the port is
   * taken, the client takes any other. Takes effect at the next
   * nb_client_up_async().
   */
  properties[PROP_WIREGUARD_PORT] =
    g_param_spec_uint ("wireguard-port", NULL, NULL, 0, 65535, NB_CLIENT_DEFAULT_WG_PORT, rw);
  /**
   * NbClient:block-inbound:
   *
   * Whether every inbound connection is dropped, whatever the policies
   * allow (replies to connections this machine opened still pass). Takes
   * effect at once.
   */
  properties[PROP_BLOCK_INBOUND] = g_param_spec_boolean ("block-inbound", NULL, NULL, FALSE, rw);
  /**
   * NbClient:disable-firewall:
   *
   * Whether the packet filter is off: everything passes, whatever the
   * policies say (for debugging). Wins over #NbClient:block-inbound. Takes
   * effect at once.
   */
  properties[PROP_DISABLE_FIREWALL] =
    g_param_spec_boolean ("disable-firewall", NULL, NULL, FALSE, rw);
  /**
   * NbClient:state:
   *
   * Where the client stands.
   */
  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL, NB_TYPE_CLIENT_STATE, NB_CLIENT_STATE_DOWN, ro);
  /**
   * NbClient:public-key:
   *
   * The peer's WireGuard public key, base64: who it is to Management and
   * the other peers.
   */
  properties[PROP_PUBLIC_KEY] = g_param_spec_string ("public-key", NULL, NULL, NULL, ro);
  /**
   * NbClient:address:
   *
   * The peer's address in the network with the network's prefix length
   * ("100.64.0.7/10"), %NULL before the first login.
   */
  properties[PROP_ADDRESS] = g_param_spec_string ("address", NULL, NULL, NULL, ro);
  /**
   * NbClient:fqdn:
   *
   * The peer's DNS name in the network, %NULL when Management gives none.
   */
  properties[PROP_FQDN] = g_param_spec_string ("fqdn", NULL, NULL, NULL, ro);
  /**
   * NbClient:management-connected:
   *
   * Whether the sync channel with Management is open. While it is not, the
   * tunnels keep running on the last map and the client reconnects.
   */
  properties[PROP_MANAGEMENT_CONNECTED] =
    g_param_spec_boolean ("management-connected", NULL, NULL, FALSE, ro);
  /**
   * NbClient:management-error:
   *
   * Why the client is not connected to Management (the last error), %NULL
   * when it is or was never asked to be.
   */
  properties[PROP_MANAGEMENT_ERROR] =
    g_param_spec_string ("management-error", NULL, NULL, NULL, ro);
  /**
   * NbClient:signal-url:
   *
   * The Signal server Management named, %NULL before the first login.
   */
  properties[PROP_SIGNAL_URL] = g_param_spec_string ("signal-url", NULL, NULL, NULL, ro);
  /**
   * NbClient:signal-connected:
   *
   * Whether the client is connected to Signal.
   */
  properties[PROP_SIGNAL_CONNECTED] =
    g_param_spec_boolean ("signal-connected", NULL, NULL, FALSE, ro);
  /**
   * NbClient:signal-error:
   *
   * Why the client is not connected to Signal, %NULL when it is.
   */
  properties[PROP_SIGNAL_ERROR] = g_param_spec_string ("signal-error", NULL, NULL, NULL, ro);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * NbClient::peer-added:
   * @self: the client
   * @peer: the remote peer that joined the map
   *
   * A remote peer joined the network map; its connection starts at once.
   */
  signals[SIGNAL_PEER_ADDED] =
    g_signal_new ("peer-added", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, NB_TYPE_CLIENT_PEER);
  /**
   * NbClient::peer-removed:
   * @self: the client
   * @peer: the remote peer that left the map
   *
   * A remote peer left the network map (or the client went down): its
   * connection and WireGuard peer are gone.
   */
  signals[SIGNAL_PEER_REMOVED] =
    g_signal_new ("peer-removed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, NB_TYPE_CLIENT_PEER);
  /**
   * NbClient::network-map-applied:
   * @self: the client
   * @serial: the map's serial (it grows with every change of the account)
   *
   * A network map from Management was applied as a whole: the interface,
   * the peers and the firewall rules are as it says.
   */
  signals[SIGNAL_NETWORK_MAP_APPLIED] =
    g_signal_new ("network-map-applied", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT64);
}

static void
nb_client_init (NbClient *self)
{
  self->context = g_main_context_ref_thread_default ();
}

/**
 * nb_client_new:
 * @config_path: (type filename): the configuration file
 * @error: return location for a #GError
 *
 * Makes a client with the settings of @config_path, or with the defaults
 * when there is no such file (which are then written there, mode 0600, in
 * a directory made 0700 if needed). The private key is read from its file
 * or made on first use.
 *
 * Returns: (transfer full): the client, or %NULL with %NB_CLIENT_ERROR_CONFIG
 */
NbClient *
nb_client_new (const char  *config_path,
               GError     **error)
{
  g_autoptr(NbClient) self = NULL;
  g_autofree char *absolute = NULL;

  g_return_val_if_fail (config_path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  absolute = g_canonicalize_filename (config_path, NULL);
  self = g_object_new (NB_TYPE_CLIENT, "config-path", absolute, NULL);
  self->config = nb_client_config_load (absolute, error);
  if (self->config == NULL)
    return NULL;
  self->key = nb_client_config_load_key (self->config, error);
  if (self->key == NULL)
    return NULL;
  return g_steal_pointer (&self);
}

/**
 * nb_client_save_config:
 * @self: a #NbClient
 * @error: return location for a #GError
 *
 * Writes the settings to #NbClient:config-path (mode 0600, atomically).
 *
 * Returns: %TRUE on success
 */
gboolean
nb_client_save_config (NbClient  *self,
                       GError   **error)
{
  g_return_val_if_fail (NB_IS_CLIENT (self), FALSE);
  return nb_client_config_save (self->config, self->config_path, error);
}

/**
 * nb_client_error_quark:
 *
 * Returns: the #NB_CLIENT_ERROR domain
 */

/* -- settings ------------------------------------------------------------- */

/**
 * nb_client_get_config_path:
 * @self: a #NbClient
 *
 * Returns: (type filename): the configuration file
 */
const char *
nb_client_get_config_path (NbClient *self)
{
  g_return_val_if_fail (NB_IS_CLIENT (self), NULL);
  return self->config_path;
}

/**
 * nb_client_get_management_url:
 * @self: a #NbClient
 *
 * Returns: Management's URL
 */
const char *
nb_client_get_management_url (NbClient *self)
{
  g_return_val_if_fail (NB_IS_CLIENT (self), NULL);
  return self->config != NULL ? self->config->management_url : NULL;
}

/**
 * nb_client_set_management_url:
 * @self: a #NbClient
 * @url: Management's URL, `http://` or `https://` with host and port
 * @error: return location for a #GError
 *
 * Sets #NbClient:management-url (saved by nb_client_save_config()).
 *
 * Returns: %TRUE, or %FALSE with %NB_CLIENT_ERROR_CONFIG for a URL that is
 *   not one
 */
gboolean
nb_client_set_management_url (NbClient    *self,
                              const char  *url,
                              GError     **error)
{
  g_autoptr(GUri) uri = NULL;
  g_autofree char *clean = NULL;

  g_return_val_if_fail (NB_IS_CLIENT (self), FALSE);
  if (url == NULL)
    {
      g_set_error_literal (error, NB_CLIENT_ERROR, NB_CLIENT_ERROR_CONFIG,
                           "A Management URL is required");
      return FALSE;
    }
  uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL || g_uri_get_host (uri) == NULL || g_uri_get_host (uri)[0] == '\0' ||
      (g_strcmp0 (g_uri_get_scheme (uri), "http") != 0 &&
       g_strcmp0 (g_uri_get_scheme (uri), "https") != 0))
    {
      g_set_error (error, NB_CLIENT_ERROR, NB_CLIENT_ERROR_CONFIG,
                   "“%s” is not a Management URL: give http(s)://HOST:PORT", url);
      return FALSE;
    }
  clean = g_strdup (url);
  while (g_str_has_suffix (clean, "/"))
    clean[strlen (clean) - 1] = '\0';
  if (self->config == NULL || g_strcmp0 (self->config->management_url, clean) == 0)
    return TRUE;
  g_free (self->config->management_url);
  self->config->management_url = g_steal_pointer (&clean);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MANAGEMENT_URL]);
  return TRUE;
}

/**
 * nb_client_get_hostname:
 * @self: a #NbClient
 *
 * Returns: (nullable): the name the peer registers with, %NULL for the
 *   machine's
 */
const char *
nb_client_get_hostname (NbClient *self)
{
  g_return_val_if_fail (NB_IS_CLIENT (self), NULL);
  return self->config != NULL ? self->config->hostname : NULL;
}

/**
 * nb_client_set_hostname:
 * @self: a #NbClient
 * @hostname: (nullable): the name the peer registers with, %NULL for the
 *   machine's
 *
 * Sets #NbClient:hostname.
 */
void
nb_client_set_hostname (NbClient   *self,
                        const char *hostname)
{
  g_return_if_fail (NB_IS_CLIENT (self));
  if (hostname != NULL && hostname[0] == '\0')
    hostname = NULL;
  if (self->config == NULL || g_strcmp0 (self->config->hostname, hostname) == 0)
    return;
  g_free (self->config->hostname);
  self->config->hostname = g_strdup (hostname);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HOSTNAME]);
}

/**
 * nb_client_get_interface_name:
 * @self: a #NbClient
 *
 * Returns: the TUN interface's name
 */
const char *
nb_client_get_interface_name (NbClient *self)
{
  g_return_val_if_fail (NB_IS_CLIENT (self), NULL);
  return self->config != NULL ? self->config->interface_name : NULL;
}

/**
 * nb_client_set_interface_name:
 * @self: a #NbClient
 * @name: an interface name (1 to 15 characters)
 * @error: return location for a #GError
 *
 * Sets #NbClient:interface-name.
 *
 * Returns: %TRUE, or %FALSE with %NB_CLIENT_ERROR_CONFIG
 */
gboolean
nb_client_set_interface_name (NbClient    *self,
                              const char  *name,
                              GError     **error)
{
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (NB_IS_CLIENT (self), FALSE);
  if (name == NULL || !nb_wg_uapi_server_check_name (name, &local_error))
    {
      g_set_error (error, NB_CLIENT_ERROR, NB_CLIENT_ERROR_CONFIG,
                   "“%s” is not an interface name%s%s", name != NULL ? name : "",
                   local_error != NULL ? ": " : "",
                   local_error != NULL ? local_error->message : "");
      return FALSE;
    }
  if (self->config == NULL || g_str_equal (self->config->interface_name, name))
    return TRUE;
  g_free (self->config->interface_name);
  self->config->interface_name = g_strdup (name);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_INTERFACE_NAME]);
  return TRUE;
}

/**
 * nb_client_get_wireguard_port:
 * @self: a #NbClient
 *
 * Returns: WireGuard's UDP port, 0 for any
 */
guint16
nb_client_get_wireguard_port (NbClient *self)
{
  g_return_val_if_fail (NB_IS_CLIENT (self), 0);
  return self->config != NULL ? self->config->wireguard_port : 0;
}

/**
 * nb_client_set_wireguard_port:
 * @self: a #NbClient
 * @port: WireGuard's UDP port, 0 for any
 *
 * Sets #NbClient:wireguard-port.
 */
void
nb_client_set_wireguard_port (NbClient *self,
                              guint16   port)
{
  g_return_if_fail (NB_IS_CLIENT (self));
  if (self->config == NULL || self->config->wireguard_port == port)
    return;
  self->config->wireguard_port = port;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_WIREGUARD_PORT]);
}

/**
 * nb_client_set_preshared_key:
 * @self: a #NbClient
 * @base64: (nullable): a WireGuard pre-shared key (as `wg genpsk` prints
 *   it), or %NULL for none
 * @error: return location for a #GError
 *
 * Sets the pre-shared key every WireGuard peer of the tunnel gets (all
 * peers of the network must have the same). Takes effect at the next
 * nb_client_up_async(); saved (mode 0600) by nb_client_save_config().
 *
 * Returns: %TRUE, or %FALSE with %NB_CLIENT_ERROR_CONFIG
 */
gboolean
nb_client_set_preshared_key (NbClient    *self,
                             const char  *base64,
                             GError     **error)
{
  g_return_val_if_fail (NB_IS_CLIENT (self), FALSE);
  if (!nb_client_config_check_preshared_key (base64, error))
    return FALSE;
  if (self->config->preshared_key != NULL)
    sodium_memzero (self->config->preshared_key, strlen (self->config->preshared_key));
  g_free (self->config->preshared_key);
  self->config->preshared_key = base64 != NULL && base64[0] != '\0' ? g_strdup (base64) : NULL;
  return TRUE;
}

/**
 * nb_client_get_block_inbound:
 * @self: a #NbClient
 *
 * Returns: whether inbound connections are all dropped
 */
gboolean
nb_client_get_block_inbound (NbClient *self)
{
  g_return_val_if_fail (NB_IS_CLIENT (self), FALSE);
  return self->config != NULL && self->config->block_inbound;
}

/**
 * nb_client_set_block_inbound:
 * @self: a #NbClient
 * @block: whether to drop every inbound connection
 *
 * Sets #NbClient:block-inbound.
 */
void
nb_client_set_block_inbound (NbClient *self,
                             gboolean  block)
{
  g_return_if_fail (NB_IS_CLIENT (self));
  block = !!block;
  if (self->config == NULL || self->config->block_inbound == block)
    return;
  self->config->block_inbound = block;
  if (self->engine != NULL)
    nb_client_engine_update_filter_mode (self->engine);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BLOCK_INBOUND]);
}

/**
 * nb_client_get_disable_firewall:
 * @self: a #NbClient
 *
 * Returns: whether the packet filter is off
 */
gboolean
nb_client_get_disable_firewall (NbClient *self)
{
  g_return_val_if_fail (NB_IS_CLIENT (self), FALSE);
  return self->config != NULL && self->config->disable_firewall;
}

/**
 * nb_client_set_disable_firewall:
 * @self: a #NbClient
 * @disable: whether to turn the packet filter off
 *
 * Sets #NbClient:disable-firewall.
 */
void
nb_client_set_disable_firewall (NbClient *self,
                                gboolean  disable)
{
  g_return_if_fail (NB_IS_CLIENT (self));
  disable = !!disable;
  if (self->config == NULL || self->config->disable_firewall == disable)
    return;
  self->config->disable_firewall = disable;
  if (self->engine != NULL)
    nb_client_engine_update_filter_mode (self->engine);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DISABLE_FIREWALL]);
}

/* -- life cycle ----------------------------------------------------------- */

static void
new_mgmt (NbClient *self)
{
  self->mgmt = nb_mgmt_client_new (self->config->management_url, self->key);
  g_signal_connect (self->mgmt, "network-map", G_CALLBACK (on_network_map), self);
  g_signal_connect (self->mgmt, "closed", G_CALLBACK (on_closed), self);
}

/**
 * nb_client_up_async:
 * @self: a #NbClient
 * @setup_key: (nullable): a setup key to register the peer with, or %NULL
 *   for a peer Management knows
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the tunnel is up, or could not be
 *   brought up
 * @user_data: data for @callback
 *
 * Logs in to Management (registering with @setup_key when given), opens
 * the sync channel and applies the first network map: the interface comes
 * up with the peer's address and the connections to the other peers
 * start. From then on the client follows every map Management pushes,
 * reconnecting to Management when the channel drops, until nb_client_down().
 *
 * The setup key is not saved: a registered peer logs in with its key.
 */
void
nb_client_up_async (NbClient            *self,
                    const char          *setup_key,
                    GCancellable        *cancellable,
                    GAsyncReadyCallback  callback,
                    gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(NbMgmtMsgPeerMeta) meta = NULL;

  g_return_if_fail (NB_IS_CLIENT (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, nb_client_up_async);
  if (self->state == NB_CLIENT_STATE_CONNECTING || self->state == NB_CLIENT_STATE_CONNECTED)
    {
      g_task_return_new_error (task, NB_CLIENT_ERROR, NB_CLIENT_ERROR_WRONG_STATE,
                               "The client is already up: bring it down first");
      return;
    }
  if (setup_key != NULL && setup_key[0] == '\0')
    setup_key = NULL;
  stop_run (self);
  g_task_set_task_data (task, GINT_TO_POINTER (setup_key != NULL), NULL);
  self->up_task = g_steal_pointer (&task);
  self->cancellable = g_cancellable_new ();
  if (cancellable != NULL)
    g_cancellable_connect (cancellable, G_CALLBACK (g_cancellable_cancel),
                           g_object_ref (self->cancellable), g_object_unref);
  set_management (self, FALSE, NULL);
  set_state (self, NB_CLIENT_STATE_CONNECTING);
  new_mgmt (self);
  meta = nb_client_meta_collect (self->config->hostname, self->config->interface_name);
  nb_mgmt_client_login_async (self->mgmt, setup_key, meta, self->cancellable, on_up_login,
                              g_object_ref (self));
}

/**
 * nb_client_up_finish:
 * @self: a #NbClient
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: %TRUE when the first map is applied, or %FALSE with @error
 *   (%NB_CLIENT_ERROR_SETUP_KEY_INVALID, %NB_CLIENT_ERROR_LOGIN_REFUSED with
 *   Management's words, %NB_CLIENT_ERROR_NEEDS_SETUP_KEY,
 *   %NB_CLIENT_ERROR_MANAGEMENT_UNREACHABLE, %NB_CLIENT_ERROR_DEVICE, ...)
 */
gboolean
nb_client_up_finish (NbClient      *self,
                     GAsyncResult  *result,
                     GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
on_login_only (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  NbClient *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtMsgLoginResponse) response =
    nb_mgmt_client_login_finish (NB_MGMT_CLIENT (source), result, &error);
  gboolean had_key = GPOINTER_TO_INT (g_task_get_task_data (task));

  if (response == NULL)
    {
      GError *mapped = client_error_of (self, g_steal_pointer (&error));

      if (!had_key && g_error_matches (mapped, NB_CLIENT_ERROR, NB_CLIENT_ERROR_NEEDS_SETUP_KEY))
        set_state (self, NB_CLIENT_STATE_NEEDS_LOGIN);
      g_task_return_error (task, mapped);
      return;
    }
  nb_client_set_own_address (self, response->peer_config != NULL
                                   ? response->peer_config->address : NULL,
                             response->peer_config != NULL ? response->peer_config->fqdn : NULL);
  /* A client that was up when Management refused it comes back up. */
  if (self->state == NB_CLIENT_STATE_NEEDS_LOGIN && self->engine != NULL && self->mgmt != NULL &&
      NB_MGMT_CLIENT (source) == self->mgmt)
    {
      set_management (self, FALSE, NULL);
      set_state (self, NB_CLIENT_STATE_CONNECTING);
      if (!logged_in (self, response, &error))
        {
          set_management (self, FALSE, error->message);
          schedule_reconnect (self);
        }
    }
  else if (self->state == NB_CLIENT_STATE_NEEDS_LOGIN)
    set_state (self, NB_CLIENT_STATE_DOWN);
  g_task_return_boolean (task, TRUE);
}

/**
 * nb_client_login_async:
 * @self: a #NbClient
 * @setup_key: (nullable): a setup key to register the peer with
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when Management answered
 * @user_data: data for @callback
 *
 * Logs in to Management without bringing the tunnel up: registers the
 * peer with @setup_key, or checks that Management knows it. A client in
 * %NB_CLIENT_STATE_NEEDS_LOGIN while up (its peer was deleted) comes back
 * up with the new registration.
 */
void
nb_client_login_async (NbClient            *self,
                       const char          *setup_key,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(NbMgmtMsgPeerMeta) meta = NULL;
  g_autoptr(NbMgmtClient) mgmt = NULL;

  g_return_if_fail (NB_IS_CLIENT (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, nb_client_login_async);
  if (self->state == NB_CLIENT_STATE_CONNECTING || self->state == NB_CLIENT_STATE_CONNECTED)
    {
      g_task_return_new_error (task, NB_CLIENT_ERROR, NB_CLIENT_ERROR_WRONG_STATE,
                               "The client is up: it is logged in");
      return;
    }
  if (setup_key != NULL && setup_key[0] == '\0')
    setup_key = NULL;
  g_task_set_task_data (task, GINT_TO_POINTER (setup_key != NULL), NULL);
  if (self->mgmt != NULL && self->engine != NULL)
    {
      /* Up, with the peer refused: the run's Management client. */
      if (self->reconnect_source != NULL)
        {
          g_source_destroy (self->reconnect_source);
          g_clear_pointer (&self->reconnect_source, g_source_unref);
        }
      mgmt = g_object_ref (self->mgmt);
    }
  else
    mgmt = nb_mgmt_client_new (self->config->management_url, self->key);
  meta = nb_client_meta_collect (self->config->hostname, self->config->interface_name);
  nb_mgmt_client_login_async (mgmt, setup_key, meta, cancellable, on_login_only,
                              g_steal_pointer (&task));
}

/**
 * nb_client_login_finish:
 * @self: a #NbClient
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: %TRUE when Management knows the peer (now), or %FALSE with
 *   @error as for nb_client_up_finish()
 */
gboolean
nb_client_login_finish (NbClient      *self,
                        GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * nb_client_down:
 * @self: a #NbClient
 *
 * Brings the tunnel down: closes the sync channel and Signal, every
 * connection, and removes the interface. A pending nb_client_up_async()
 * fails with %G_IO_ERROR_CANCELLED.
 */
void
nb_client_down (NbClient *self)
{
  g_return_if_fail (NB_IS_CLIENT (self));

  if (self->up_task != NULL)
    fail_up (self, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                        "The client was brought down"));
  stop_run (self);
  g_object_freeze_notify (G_OBJECT (self));
  set_management (self, FALSE, NULL);
  nb_client_set_signal_status (self, self->signal_url, FALSE, NULL);
  if (self->state != NB_CLIENT_STATE_NEEDS_LOGIN)
    set_state (self, NB_CLIENT_STATE_DOWN);
  g_object_thaw_notify (G_OBJECT (self));
}

/**
 * nb_client_logout:
 * @self: a #NbClient
 * @error: return location for a #GError
 *
 * Brings the tunnel down and forgets the peer: the private key file gets
 * a new key, so the next login registers a new peer (with a setup key).
 * The old peer stays in the account until an administrator deletes it.
 *
 * Returns: %TRUE, or %FALSE with %NB_CLIENT_ERROR_CONFIG when the new key
 *   cannot be written
 */
gboolean
nb_client_logout (NbClient  *self,
                  GError   **error)
{
  NbKey *key;

  g_return_val_if_fail (NB_IS_CLIENT (self), FALSE);

  nb_client_down (self);
  key = nb_client_config_new_key (self->config, error);
  if (key == NULL)
    return FALSE;
  g_object_freeze_notify (G_OBJECT (self));
  g_set_object (&self->key, key);
  g_object_unref (key);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PUBLIC_KEY]);
  nb_client_set_own_address (self, NULL, NULL);
  set_state (self, NB_CLIENT_STATE_NEEDS_LOGIN);
  g_object_thaw_notify (G_OBJECT (self));
  return TRUE;
}

/* -- status --------------------------------------------------------------- */

/**
 * nb_client_get_state:
 * @self: a #NbClient
 *
 * Returns: where the client stands
 */
NbClientState
nb_client_get_state (NbClient *self)
{
  g_return_val_if_fail (NB_IS_CLIENT (self), NB_CLIENT_STATE_DOWN);
  return self->state;
}

/**
 * nb_client_get_public_key:
 * @self: a #NbClient
 *
 * Returns: the peer's WireGuard public key, base64
 */
const char *
nb_client_get_public_key (NbClient *self)
{
  g_return_val_if_fail (NB_IS_CLIENT (self), NULL);
  return self->key != NULL ? nb_key_get_public_base64 (self->key) : NULL;
}

/**
 * nb_client_get_address:
 * @self: a #NbClient
 *
 * Returns: (nullable): the peer's address with the network's prefix
 *   length ("100.64.0.7/10")
 */
const char *
nb_client_get_address (NbClient *self)
{
  g_return_val_if_fail (NB_IS_CLIENT (self), NULL);
  return self->address;
}

/**
 * nb_client_get_fqdn:
 * @self: a #NbClient
 *
 * Returns: (nullable): the peer's DNS name in the network
 */
const char *
nb_client_get_fqdn (NbClient *self)
{
  g_return_val_if_fail (NB_IS_CLIENT (self), NULL);
  return self->fqdn;
}

/**
 * nb_client_get_management_connected:
 * @self: a #NbClient
 *
 * Returns: whether the sync channel with Management is open
 */
gboolean
nb_client_get_management_connected (NbClient *self)
{
  g_return_val_if_fail (NB_IS_CLIENT (self), FALSE);
  return self->management_connected;
}

/**
 * nb_client_get_management_error:
 * @self: a #NbClient
 *
 * Returns: (nullable): why the client is not connected to Management
 */
const char *
nb_client_get_management_error (NbClient *self)
{
  g_return_val_if_fail (NB_IS_CLIENT (self), NULL);
  return self->management_error;
}

/**
 * nb_client_get_signal_url:
 * @self: a #NbClient
 *
 * Returns: (nullable): the Signal server Management named
 */
const char *
nb_client_get_signal_url (NbClient *self)
{
  g_return_val_if_fail (NB_IS_CLIENT (self), NULL);
  return self->signal_url;
}

/**
 * nb_client_get_signal_connected:
 * @self: a #NbClient
 *
 * Returns: whether the client is connected to Signal
 */
gboolean
nb_client_get_signal_connected (NbClient *self)
{
  g_return_val_if_fail (NB_IS_CLIENT (self), FALSE);
  return self->signal_connected;
}

/**
 * nb_client_get_signal_error:
 * @self: a #NbClient
 *
 * Returns: (nullable): why the client is not connected to Signal
 */
const char *
nb_client_get_signal_error (NbClient *self)
{
  g_return_val_if_fail (NB_IS_CLIENT (self), NULL);
  return self->signal_error;
}

/**
 * nb_client_list_peers:
 * @self: a #NbClient
 *
 * Returns: (transfer container) (element-type NbClientPeer): the remote
 *   peers of the map applied last, in Management's order (empty while
 *   down)
 */
GPtrArray *
nb_client_list_peers (NbClient *self)
{
  GPtrArray *out;
  GPtrArray *peers;

  g_return_val_if_fail (NB_IS_CLIENT (self), NULL);
  out = g_ptr_array_new_with_free_func (g_object_unref);
  if (self->engine == NULL)
    return out;
  peers = nb_client_engine_list_peers (self->engine);
  for (guint i = 0; i < peers->len; i++)
    g_ptr_array_add (out, g_object_ref (peers->pdata[i]));
  return out;
}

/**
 * nb_client_lookup_peer:
 * @self: a #NbClient
 * @public_key: a remote peer's public key, base64
 *
 * Returns: (transfer none) (nullable): the remote peer of the map with
 *   @public_key, or %NULL
 */
NbClientPeer *
nb_client_lookup_peer (NbClient   *self,
                       const char *public_key)
{
  g_return_val_if_fail (NB_IS_CLIENT (self), NULL);
  g_return_val_if_fail (public_key != NULL, NULL);
  if (self->engine == NULL)
    return NULL;
  return nb_client_engine_lookup_peer (self->engine, public_key);
}
