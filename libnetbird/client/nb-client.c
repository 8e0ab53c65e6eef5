/* nb-client.c: a peer of a NetBird network, as a machine runs it
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * The object: its properties, signals and status. Its settings are in
 * nb-client-settings.c, its life cycle (login, up, the sync channel, down)
 * in nb-client-session.c; see nb-client-private.h for the other files.
 */
#define G_LOG_DOMAIN "netbird-client"


#include "nb-client-private.h"
#include "nb-client-dns-private.h"
#include "nb-client-enum-types.h"


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
  PROP_DISABLE_DNS,
  PROP_STATE,
  PROP_PUBLIC_KEY,
  PROP_ADDRESS,
  PROP_FQDN,
  PROP_MANAGEMENT_CONNECTED,
  PROP_MANAGEMENT_ERROR,
  PROP_SIGNAL_URL,
  PROP_SIGNAL_CONNECTED,
  PROP_SIGNAL_ERROR,
  PROP_FIREWALL_MODE,
  PROP_FIREWALL_RULES,
  PROP_FIREWALL_DROPS,
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

void
nb_client_set_state (NbClient      *self,
                     NbClientState  state)
{
  if (self->state == state)
    return;
  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

void
nb_client_set_management (NbClient   *self,
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
nb_client_emit_network_map_applied (NbClient *self,
                                    gint64    serial)
{
  g_signal_emit (self, signals[SIGNAL_NETWORK_MAP_APPLIED], 0, serial);
}

void
nb_client_emit_peer_removed (NbClient     *self,
                             NbClientPeer *peer)
{
  g_signal_emit (self, signals[SIGNAL_PEER_REMOVED], 0, peer);
}

static gboolean
drop_reference (gpointer data)
{
  return G_SOURCE_REMOVE;
}

void
nb_client_unref_later (gpointer object)
{
  GSource *source;

  if (object == NULL)
    return;
  source = g_idle_source_new ();
  g_source_set_callback (source, drop_reference, object, g_object_unref);
  g_source_set_static_name (source, "[netbird] client deferred unref");
  g_source_attach (source, g_main_context_get_thread_default ());
  g_source_unref (source);
}

void
nb_client_notify (NbClient   *self,
                  const char *property)
{
  g_object_notify (G_OBJECT (self), property);
}

const NbClientConfig *
nb_client_get_config (NbClient *self)
{
  return self->config;
}

/* -- GObject -------------------------------------------------------------- */

static void
nb_client_dispose (GObject *object)
{
  NbClient *self = NB_CLIENT (object);

  if (self->up_task != NULL)
    nb_client_fail_up (self, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                        "The client was destroyed"));
  nb_client_stop_run (self);
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
    case PROP_DISABLE_DNS:
      g_value_set_boolean (value, nb_client_get_disable_dns (self));
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
    case PROP_FIREWALL_MODE:
      g_value_set_enum (value, nb_client_get_firewall_mode (self));
      break;
    case PROP_FIREWALL_RULES:
      g_value_set_uint (value, nb_client_get_firewall_rules (self));
      break;
    case PROP_FIREWALL_DROPS:
      g_value_set_uint64 (value, nb_client_get_firewall_drops (self));
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
    case PROP_DISABLE_DNS:
      nb_client_set_disable_dns (self, g_value_get_boolean (value));
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
   * NbClient:disable-dns:
   *
   * Whether the client leaves the host's DNS alone: no resolver on the
   * NetBird address, resolv.conf untouched, whatever the map says.
   * Turning it on stops DNS at once; turning it off takes effect with the
   * next network map (or up).
   */
  properties[PROP_DISABLE_DNS] =
    g_param_spec_boolean ("disable-dns", NULL, NULL, FALSE, rw);
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

  /**
   * NbClient:firewall-mode:
   *
   * What the packet filter does with inbound packets, from
   * #NbClient:block-inbound and #NbClient:disable-firewall.
   */
  properties[PROP_FIREWALL_MODE] =
    g_param_spec_enum ("firewall-mode", NULL, NULL, NB_TYPE_CLIENT_FIREWALL_MODE,
                       NB_CLIENT_FIREWALL_MODE_ENFORCING, ro);
  /**
   * NbClient:firewall-rules:
   *
   * The firewall rules of the last map, in force in the packet filter
   * (notifies when a map changes them).
   */
  properties[PROP_FIREWALL_RULES] =
    g_param_spec_uint ("firewall-rules", NULL, NULL, 0, G_MAXUINT, 0, ro);
  /**
   * NbClient:firewall-drops:
   *
   * Packets the filter dropped since the tunnel came up, both ways (read
   * live; no notification). `wg` counts them by reason on the device's
   * socket (`stats=1`).
   */
  properties[PROP_FIREWALL_DROPS] =
    g_param_spec_uint64 ("firewall-drops", NULL, NULL, 0, G_MAXUINT64, 0, ro);

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
  /* A run killed while up left the host's resolver pointed at an address
   * that is gone: put it back now, not only at the next up. */
  nb_client_dns_recover (self);
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
 * nb_client_get_firewall_mode:
 * @self: a #NbClient
 *
 * Returns: what the packet filter does with inbound packets
 */
NbClientFirewallMode
nb_client_get_firewall_mode (NbClient *self)
{
  g_return_val_if_fail (NB_IS_CLIENT (self), NB_CLIENT_FIREWALL_MODE_ENFORCING);
  if (self->config->disable_firewall)
    return NB_CLIENT_FIREWALL_MODE_DISABLED;
  if (self->config->block_inbound)
    return NB_CLIENT_FIREWALL_MODE_BLOCK_INBOUND;
  return NB_CLIENT_FIREWALL_MODE_ENFORCING;
}

/**
 * nb_client_get_firewall_rules:
 * @self: a #NbClient
 *
 * Returns: the firewall rules in force (0 while down)
 */
guint
nb_client_get_firewall_rules (NbClient *self)
{
  g_return_val_if_fail (NB_IS_CLIENT (self), 0);
  return self->engine != NULL ? nb_client_engine_get_n_rules (self->engine) : 0;
}

/**
 * nb_client_get_firewall_drops:
 * @self: a #NbClient
 *
 * Returns: packets the filter dropped since the tunnel came up
 */
guint64
nb_client_get_firewall_drops (NbClient *self)
{
  g_return_val_if_fail (NB_IS_CLIENT (self), 0);
  return self->engine != NULL ? nb_client_engine_get_drops (self->engine) : 0;
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
