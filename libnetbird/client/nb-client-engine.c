/* nb-client-engine.c: a network map made into tunnels
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * The engine holds what a client runs while it is up: the TUN device with
 * the peer's address, the WireGuard device on it (serving wg(8) on its
 * UAPI socket), one connection per remote peer (nb-client-peer-conn.c),
 * the Signal connection they share, and the packet filter's rules.
 *
 * A map is applied in one go, on the client's main context, so nothing
 * sees half of one: peers that left are removed (their sessions closed,
 * their WireGuard peers and allowed IPs gone), new ones added and started,
 * the others' allowed IPs and names updated, and the firewall rules
 * compiled and swapped into the filter in one call.
 *
 * MTU: 1280, as NetBird's interfaces have. The path may be a TURN relay
 * (its channel header), over IPv6 and through tunnels of the underlay;
 * 1280 is the IPv6 minimum that every such path carries, and peers of a
 * mixed network (ours and NetBird's) agree on it.
 */
#define G_LOG_DOMAIN "netbird-client"

#include <string.h>
#include <sodium.h>

#include "nb-client-private.h"
#include "nb-client-dns-private.h"
#include "nb-filter-private.h"
#include "nb-wg-device-private.h"
#include "nb-wg-peer.h"

#define TUNNEL_MTU 1280
/* How often the connections look at their paths. */
#define CHECK_INTERVAL_S 5

struct _NbClientEngine
{
  NbClient *client;               /* the owner */
  NbClientConnContext ctx;
  guint8 preshared_key[32];

  NbTun *tun;
  NbWgUapiServer *uapi;
  char *address;                  /* applied, "100.64.0.7/10" */

  GHashTable *conns;              /* public key base64 -> NbClientPeerConn */
  GPtrArray *peers;               /* NbClientPeer, in map order */
  guint n_rules;                  /* in force */
  GSource *check_source;
  gint64 serial;
  NbClientRelays *relays;
  NbClientDns *dns;               /* nb-client-dns.c */
};

static void
on_signal_message (NbSignalClient  *client,
                   NbKey           *from,
                   NbSignalMessage *message,
                   NbClientEngine  *engine)
{
  NbClientPeerConn *conn = g_hash_table_lookup (engine->conns, nb_key_get_public_base64 (from));

  /* The seal proves the sender; a peer not in the map gets nothing (it
   * offers again once both maps have each other: our offer tells it). */
  if (conn == NULL)
    {
      g_debug ("Signal: a message from %s, not a peer of the map",
               nb_key_get_public_base64 (from));
      return;
    }
  nb_client_peer_conn_handle_message (conn, message);
}

static void
on_signal_state (NbSignalClient *signal,
                 GParamSpec     *pspec,
                 NbClientEngine *engine)
{
  NbSignalClientState state = nb_signal_client_get_state (signal);
  gboolean connected = state == NB_SIGNAL_CLIENT_STATE_CONNECTED;
  const char *error = NULL;
  GHashTableIter iter;
  gpointer conn;

  /* Connecting (the first time, or again) is no error of its own: the
   * last one, if any, stays. */
  if (state == NB_SIGNAL_CLIENT_STATE_CONNECTING)
    error = nb_client_get_signal_error (engine->client);
  else if (!connected && nb_signal_client_get_replaced (signal))
    error = "Another client with this peer's key connected to Signal";
  else if (!connected)
    error = "Signal is not reachable: reconnecting";
  {
    g_autofree char *kept = g_strdup (error);

    nb_client_set_signal_status (engine->client, nb_signal_client_get_url (signal), connected,
                                 kept);
  }
  if (!connected)
    return;
  g_hash_table_iter_init (&iter, engine->conns);
  while (g_hash_table_iter_next (&iter, NULL, &conn))
    nb_client_peer_conn_signal_connected (conn);
}

static void
stop_signal (NbClientEngine *engine)
{
  if (engine->ctx.signal == NULL)
    return;
  g_signal_handlers_disconnect_by_data (engine->ctx.signal, engine);
  nb_signal_client_stop (engine->ctx.signal);
  g_clear_object (&engine->ctx.signal);
}

static gboolean
on_check (gpointer user_data)
{
  NbClientEngine *engine = user_data;
  gint64 now = g_get_real_time ();

  for (guint i = 0; i < engine->peers->len; i++)
    {
      NbClientPeerConn *conn =
        g_hash_table_lookup (engine->conns, nb_client_peer_get_public_key (engine->peers->pdata[i]));

      if (conn != NULL)
        nb_client_peer_conn_check (conn, now);
    }
  return G_SOURCE_CONTINUE;
}

NbClientEngine *
nb_client_engine_new (NbClient *client,
                      NbKey    *key)
{
  NbClientEngine *engine = g_new0 (NbClientEngine, 1);
  const NbClientConfig *config = nb_client_get_config (client);

  engine->client = client;
  engine->ctx.key = g_object_ref (key);
  engine->ctx.stuns = g_ptr_array_new_with_free_func ((GDestroyNotify) nb_client_ice_server_free);
  engine->ctx.turns = g_ptr_array_new_with_free_func ((GDestroyNotify) nb_client_ice_server_free);
  engine->ctx.local_addresses = g_ptr_array_new_with_free_func (g_object_unref);
  engine->conns = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) nb_client_peer_conn_free);
  engine->peers = g_ptr_array_new_with_free_func (g_object_unref);
  engine->relays = nb_client_relays_new (&engine->ctx, engine->conns);
  engine->dns = nb_client_dns_new (client);
  if (config->preshared_key != NULL && config->preshared_key[0] != '\0')
    {
      gsize len = 0;
      guint8 *raw = g_base64_decode (config->preshared_key, &len);

      if (len == sizeof engine->preshared_key)
        {
          memcpy (engine->preshared_key, raw, len);
          engine->ctx.preshared_key = engine->preshared_key;
        }
      sodium_memzero (raw, len);
      g_free (raw);
    }
  engine->check_source = g_timeout_source_new_seconds (CHECK_INTERVAL_S);
  g_source_set_callback (engine->check_source, on_check, engine, NULL);
  g_source_set_static_name (engine->check_source, "[netbird] client path check");
  g_source_attach (engine->check_source, g_main_context_get_thread_default ());
  return engine;
}

void
nb_client_engine_remove_all_peers (NbClientEngine *engine)
{
  g_autoptr(GPtrArray) peers = g_steal_pointer (&engine->peers);

  engine->peers = g_ptr_array_new_with_free_func (g_object_unref);
  /* Sessions first: they hold the WireGuard peers' transports. */
  g_hash_table_remove_all (engine->conns);
  if (engine->ctx.device != NULL)
    nb_wg_device_remove_all_peers (engine->ctx.device);
  for (guint i = 0; i < peers->len; i++)
    nb_client_emit_peer_removed (engine->client, peers->pdata[i]);
}

static void
teardown_device (NbClientEngine *engine)
{
  nb_client_engine_remove_all_peers (engine);
  if (engine->uapi != NULL)
    {
      nb_wg_uapi_server_close (engine->uapi);
      g_clear_object (&engine->uapi);
    }
  if (engine->ctx.device != NULL)
    {
      nb_wg_device_down (engine->ctx.device);
      g_clear_object (&engine->ctx.device);
    }
  if (engine->n_rules != 0)
    {
      engine->n_rules = 0;
      nb_client_notify (engine->client, "firewall-rules");
    }
  /* The last reference closes the TUN descriptor: the kernel removes the
   * interface with its address and routes. */
  g_clear_object (&engine->tun);
  g_clear_pointer (&engine->address, g_free);
}

void
nb_client_engine_free (NbClientEngine *engine)
{
  if (engine == NULL)
    return;
  g_source_destroy (engine->check_source);
  g_clear_pointer (&engine->check_source, g_source_unref);
  stop_signal (engine);
  /* The host's resolver back before the address it points at goes. */
  g_clear_pointer (&engine->dns, nb_client_dns_free);
  teardown_device (engine);
  /* After the connections: they hold the relays' transports. */
  g_clear_pointer (&engine->relays, nb_client_relays_free);
  g_clear_pointer (&engine->conns, g_hash_table_unref);
  g_clear_pointer (&engine->peers, g_ptr_array_unref);
  g_clear_pointer (&engine->ctx.stuns, g_ptr_array_unref);
  g_clear_pointer (&engine->ctx.turns, g_ptr_array_unref);
  g_clear_pointer (&engine->ctx.local_addresses, g_ptr_array_unref);
  g_clear_object (&engine->ctx.key);
  sodium_memzero (engine->preshared_key, sizeof engine->preshared_key);
  g_free (engine);
}

NbWgDevice *
nb_client_engine_get_device (NbClientEngine *engine)
{
  return engine->ctx.device;
}

guint
nb_client_engine_get_n_rules (NbClientEngine *engine)
{
  return engine->ctx.device != NULL ? engine->n_rules : 0;
}

guint64
nb_client_engine_get_drops (NbClientEngine *engine)
{
  if (engine->ctx.device == NULL)
    return 0;
  return nb_wg_device_get_counter (engine->ctx.device, NB_WG_COUNTER_RX_DROP_FILTER) +
         nb_wg_device_get_counter (engine->ctx.device, NB_WG_COUNTER_TX_DROP_FILTER);
}

GPtrArray *
nb_client_engine_list_peers (NbClientEngine *engine)
{
  return engine->peers;
}

NbClientPeer *
nb_client_engine_lookup_peer (NbClientEngine *engine,
                              const char     *public_key)
{
  for (guint i = 0; i < engine->peers->len; i++)
    if (g_str_equal (nb_client_peer_get_public_key (engine->peers->pdata[i]), public_key))
      return engine->peers->pdata[i];
  return NULL;
}

/* -- services ------------------------------------------------------------- */

/* Management hands Signal out as NetBird does ("signal.example:443" with a
 * protocol, HTTPS for TLS) or as a URL ("https://signal.example:443",
 * "ws://..."); NbSignalClient takes ws://, wss://, http:// and https://. */
static char *
signal_url_of (const NbMgmtMsgHostConfig *host)
{
  if (host == NULL || host->uri == NULL || host->uri[0] == '\0')
    return NULL;
  if (strstr (host->uri, "://") != NULL)
    return g_strdup (host->uri);
  return g_strconcat (host->protocol == NB_MGMT_MSG_HOST_PROTOCOL_HTTPS ? "wss://" : "ws://",
                      host->uri, NULL);
}

static gboolean
servers_equal (GPtrArray *a,
               GPtrArray *b)
{
  if (a->len != b->len)
    return FALSE;
  for (guint i = 0; i < a->len; i++)
    {
      NbClientIceServer *x = a->pdata[i], *y = b->pdata[i];

      if (g_strcmp0 (x->uri, y->uri) != 0 || g_strcmp0 (x->user, y->user) != 0 ||
          g_strcmp0 (x->password, y->password) != 0)
        return FALSE;
    }
  return TRUE;
}

gboolean
nb_client_engine_set_services (NbClientEngine               *engine,
                               const NbMgmtMsgNetbirdConfig *config,
                               GError                      **error)
{
  g_autoptr(GPtrArray) stuns = NULL;
  g_autoptr(GPtrArray) turns = NULL;
  g_autofree char *url = NULL;
  g_autoptr(GError) local_error = NULL;
  gboolean changed;

  if (config == NULL)
    return TRUE;

  stuns = g_ptr_array_new_with_free_func ((GDestroyNotify) nb_client_ice_server_free);
  for (guint i = 0; config->stuns != NULL && i < config->stuns->len; i++)
    {
      const NbMgmtMsgHostConfig *h = config->stuns->pdata[i];
      NbClientIceServer *s = g_new0 (NbClientIceServer, 1);

      s->uri = g_strdup (h->uri);
      g_ptr_array_add (stuns, s);
    }
  turns = g_ptr_array_new_with_free_func ((GDestroyNotify) nb_client_ice_server_free);
  for (guint i = 0; config->turns != NULL && i < config->turns->len; i++)
    {
      const NbMgmtMsgProtectedHostConfig *h = config->turns->pdata[i];
      NbClientIceServer *s = g_new0 (NbClientIceServer, 1);

      s->uri = g_strdup (h->host_config->uri);
      s->user = g_strdup (h->user);
      s->password = g_strdup (h->password);
      g_ptr_array_add (turns, s);
    }
  changed = !servers_equal (stuns, engine->ctx.stuns) || !servers_equal (turns, engine->ctx.turns);
  if (changed)
    {
      GHashTableIter iter;
      gpointer conn;

      g_ptr_array_unref (engine->ctx.stuns);
      engine->ctx.stuns = g_steal_pointer (&stuns);
      g_ptr_array_unref (engine->ctx.turns);
      engine->ctx.turns = g_steal_pointer (&turns);
      g_hash_table_iter_init (&iter, engine->conns);
      while (g_hash_table_iter_next (&iter, NULL, &conn))
        nb_client_peer_conn_servers_changed (conn);
    }

  if (config->relay != NULL)
    nb_client_relays_update (engine->relays, config->relay);

  url = signal_url_of (config->signal);
  if (url == NULL)
    return TRUE;
  if (engine->ctx.signal != NULL &&
      g_strcmp0 (url, nb_signal_client_get_url (engine->ctx.signal)) == 0)
    return TRUE;

  stop_signal (engine);
  engine->ctx.signal = nb_signal_client_new (url, engine->ctx.key);
  g_signal_connect (engine->ctx.signal, "message-received", G_CALLBACK (on_signal_message),
                    engine);
  g_signal_connect (engine->ctx.signal, "notify::state", G_CALLBACK (on_signal_state), engine);
  if (!nb_signal_client_start (engine->ctx.signal, &local_error))
    {
      nb_client_set_signal_status (engine->client, url, FALSE, local_error->message);
      g_set_error (error, NB_CLIENT_ERROR, NB_CLIENT_ERROR_PROTOCOL,
                   "Management gave a Signal server this client cannot use: %s",
                   local_error->message);
      stop_signal (engine);
      return FALSE;
    }
  nb_client_set_signal_status (engine->client, url, FALSE, NULL);
  return TRUE;
}

/* -- the device ----------------------------------------------------------- */

static gboolean
parse_prefix (const char    *text,
              GInetAddress **address,
              guint         *length)
{
  g_auto(GStrv) parts = g_strsplit (text != NULL ? text : "", "/", 2);
  guint64 value = 0;

  *address = parts[0] != NULL ? g_inet_address_new_from_string (parts[0]) : NULL;
  if (*address == NULL)
    return FALSE;
  if (parts[1] == NULL)
    {
      *length = g_inet_address_get_family (*address) == G_SOCKET_FAMILY_IPV4 ? 32 : 128;
      return TRUE;
    }
  if (!g_ascii_string_to_unsigned (parts[1], 10, 0,
                                   g_inet_address_get_family (*address) == G_SOCKET_FAMILY_IPV4
                                   ? 32 : 128, &value, NULL))
    {
      g_clear_object (address);
      return FALSE;
    }
  *length = value;
  return TRUE;
}

static gboolean
ensure_device (NbClientEngine *engine,
               const char     *address,
               GError        **error)
{
  const NbClientConfig *config = nb_client_get_config (engine->client);
  g_autoptr(GInetAddress) inet = NULL;
  g_autoptr(GError) local_error = NULL;
  guint prefix = 0;

  if (engine->tun != NULL && g_strcmp0 (engine->address, address) == 0)
    return TRUE;
  if (!parse_prefix (address, &inet, &prefix))
    {
      g_set_error (error, NB_CLIENT_ERROR, NB_CLIENT_ERROR_PROTOCOL,
                   "Management gave this peer an address that is not one: “%s”",
                   address != NULL ? address : "");
      return FALSE;
    }
  if (engine->tun != NULL)
    {
      /* Management moved the peer: the interface starts over with the new
       * address (the peers of the map follow below). */
      g_message ("The peer's address changed from %s to %s", engine->address, address);
      teardown_device (engine);
    }

  engine->tun = nb_tun_new (config->interface_name, &local_error);
  if (engine->tun == NULL)
    goto device_error;
  engine->ctx.device = nb_wg_device_new (engine->tun);
  if (!nb_wg_device_set_private_key (engine->ctx.device, engine->ctx.key, &local_error))
    goto device_error;
  if (!nb_wg_device_set_listen_port (engine->ctx.device, config->wireguard_port, &local_error))
    {
      /* Another process has the port (a second client, NetBird): any port
       * does, ICE tells the peers which. */
      if (config->wireguard_port == 0 ||
          !g_error_matches (local_error, NB_WG_DEVICE_ERROR, NB_WG_DEVICE_ERROR_ADDRESS_IN_USE))
        goto device_error;
      g_message ("WireGuard port %u is in use: taking another", config->wireguard_port);
      g_clear_error (&local_error);
      if (!nb_wg_device_set_listen_port (engine->ctx.device, 0, &local_error))
        goto device_error;
    }
  nb_client_engine_update_filter_mode (engine);
  if (!nb_wg_device_up (engine->ctx.device, &local_error) ||
      !nb_tun_set_mtu (engine->tun, TUNNEL_MTU, &local_error) ||
      !nb_tun_add_address_full (engine->tun, inet, prefix, &local_error) ||
      !nb_tun_set_up (engine->tun, TRUE, &local_error))
    goto device_error;
  /* wg(8) reads and sets the device on its socket, as with the kernel's. */
  engine->uapi = nb_wg_uapi_server_new (engine->ctx.device, config->interface_name,
                                        &local_error);
  if (engine->uapi == NULL)
    {
      g_message ("wg(8) cannot see %s: %s", config->interface_name, local_error->message);
      g_clear_error (&local_error);
    }
  engine->address = g_strdup (address);
  /* Host candidates on the host's own addresses, never the tunnel's. */
  g_ptr_array_unref (engine->ctx.local_addresses);
  engine->ctx.local_addresses = nb_client_meta_local_addresses (config->interface_name);
  g_debug ("Interface %s up with %s (WireGuard port %u)", config->interface_name, address,
           nb_wg_device_get_listen_port (engine->ctx.device));
  return TRUE;

device_error:
  g_set_error (error, NB_CLIENT_ERROR, NB_CLIENT_ERROR_DEVICE, "Cannot set up %s: %s",
               config->interface_name, local_error->message);
  teardown_device (engine);
  return FALSE;
}

void
nb_client_engine_update_filter_mode (NbClientEngine *engine)
{
  const NbClientConfig *config = nb_client_get_config (engine->client);

  if (engine->ctx.device == NULL)
    return;
  nb_wg_device_set_filter_mode (engine->ctx.device,
                                config->disable_firewall ? NB_FILTER_MODE_DISABLED
                                : config->block_inbound ? NB_FILTER_MODE_BLOCK_INBOUND
                                : NB_FILTER_MODE_ENFORCING);
}

/* -- peers ---------------------------------------------------------------- */

static gboolean
set_allowed_ips (NbWgPeer                  *peer,
                 const NbMgmtMsgRemotePeer *remote)
{
  nb_wg_peer_clear_allowed_ips (peer);
  for (guint i = 0; remote->allowed_ips != NULL && i < remote->allowed_ips->len; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GInetAddressMask) mask =
        g_inet_address_mask_new_from_string (remote->allowed_ips->pdata[i], &error);

      if (mask == NULL || !nb_wg_peer_add_allowed_ip (peer, mask, &error))
        {
          g_message ("Peer %s: allowed IP “%s” not taken: %s", remote->wg_pub_key,
                     (const char *) remote->allowed_ips->pdata[i], error->message);
          continue;
        }
    }
  return TRUE;
}

/* The peer's address: its first allowed IP, without the prefix. */
static char *
remote_address (const NbMgmtMsgRemotePeer *remote)
{
  const char *first;

  if (remote->allowed_ips == NULL || remote->allowed_ips->len == 0)
    return NULL;
  first = remote->allowed_ips->pdata[0];
  return g_strndup (first, strcspn (first, "/"));
}

static void
remove_peer (NbClientEngine *engine,
             NbClientPeer   *peer)
{
  g_autoptr(NbClientPeer) owned = g_object_ref (peer);
  const char *key = nb_client_peer_get_public_key (peer);
  g_autoptr(NbKey) public_key = nb_key_new_public_from_base64 (key, NULL);

  g_hash_table_remove (engine->conns, key);
  if (public_key != NULL)
    nb_wg_device_remove_peer (engine->ctx.device, public_key, NULL);
  g_ptr_array_remove (engine->peers, peer);
  g_debug ("Peer %s left the map", key);
  nb_client_emit_peer_removed (engine->client, owned);
}

static void
add_peer (NbClientEngine            *engine,
          NbKey                     *public_key,
          const NbMgmtMsgRemotePeer *remote)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *address = remote_address (remote);
  NbWgPeer *wg_peer = nb_wg_device_add_peer (engine->ctx.device, public_key, &error);
  NbClientPeer *peer;

  if (wg_peer == NULL)
    {
      g_message ("Peer %s not added: %s", remote->wg_pub_key, error->message);
      return;
    }
  if (engine->ctx.preshared_key != NULL &&
      !nb_wg_peer_set_preshared_key (wg_peer, engine->ctx.preshared_key, 32, &error))
    {
      g_message ("Peer %s: pre-shared key: %s", remote->wg_pub_key, error->message);
      g_clear_error (&error);
    }
  set_allowed_ips (wg_peer, remote);
  peer = nb_client_peer_new (nb_key_get_public_base64 (public_key));
  nb_client_peer_set_address (peer, address);
  nb_client_peer_set_fqdn (peer, remote->fqdn);
  g_ptr_array_add (engine->peers, peer);
  g_hash_table_insert (engine->conns, g_strdup (nb_key_get_public_base64 (public_key)),
                       nb_client_peer_conn_new (&engine->ctx, public_key, wg_peer, peer));
  g_debug ("Peer %s joined the map (%s)", remote->wg_pub_key, address ? address : "-");
  nb_client_emit_peer_added (engine->client, peer);
}

static gboolean
same_allowed_ips (NbWgPeer                  *peer,
                  const NbMgmtMsgRemotePeer *remote)
{
  g_autoptr(GPtrArray) have = nb_wg_peer_list_allowed_ips (peer);
  guint n = remote->allowed_ips != NULL ? remote->allowed_ips->len : 0;

  if (have->len != n)
    return FALSE;
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GInetAddressMask) want =
        g_inet_address_mask_new_from_string (remote->allowed_ips->pdata[i], NULL);
      gboolean found = FALSE;

      for (guint j = 0; want != NULL && j < have->len && !found; j++)
        found = g_inet_address_mask_equal (want, have->pdata[j]);
      if (!found)
        return FALSE;
    }
  return TRUE;
}

static void
apply_peers (NbClientEngine            *engine,
             const NbMgmtMsgNetworkMap *map)
{
  g_autoptr(GHashTable) wanted = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) gone = g_ptr_array_new ();
  g_autoptr(GPtrArray) order = g_ptr_array_new_with_free_func (g_object_unref);
  const char *own = nb_key_get_public_base64 (engine->ctx.key);

  for (guint i = 0; map->remote_peers != NULL && i < map->remote_peers->len; i++)
    {
      const NbMgmtMsgRemotePeer *remote = map->remote_peers->pdata[i];

      if (remote->wg_pub_key != NULL && !g_str_equal (remote->wg_pub_key, own))
        g_hash_table_insert (wanted, remote->wg_pub_key, (gpointer) remote);
    }

  /* Who left, first: an address may move from a peer that left to one
   * that joined. */
  for (guint i = 0; i < engine->peers->len; i++)
    {
      NbClientPeer *peer = engine->peers->pdata[i];

      if (!g_hash_table_contains (wanted, nb_client_peer_get_public_key (peer)))
        g_ptr_array_add (gone, peer);
    }
  for (guint i = 0; i < gone->len; i++)
    remove_peer (engine, gone->pdata[i]);

  for (guint i = 0; map->remote_peers != NULL && i < map->remote_peers->len; i++)
    {
      const NbMgmtMsgRemotePeer *remote = map->remote_peers->pdata[i];
      g_autoptr(GError) error = NULL;
      g_autoptr(NbKey) public_key = NULL;
      NbClientPeer *peer;

      if (g_hash_table_lookup (wanted, remote->wg_pub_key) != remote)
        continue;   /* ours, or a duplicate */
      peer = nb_client_engine_lookup_peer (engine, remote->wg_pub_key);
      if (peer == NULL)
        {
          public_key = nb_key_new_public_from_base64 (remote->wg_pub_key, &error);
          if (public_key == NULL)
            {
              g_message ("A peer of the map has no valid key: %s", error->message);
              continue;
            }
          add_peer (engine, public_key, remote);
          peer = nb_client_engine_lookup_peer (engine, remote->wg_pub_key);
        }
      else
        {
          g_autofree char *address = remote_address (remote);
          NbWgPeer *wg_peer = nb_client_peer_get_wg_peer (peer);

          if (wg_peer != NULL && !same_allowed_ips (wg_peer, remote))
            set_allowed_ips (wg_peer, remote);
          nb_client_peer_set_address (peer, address);
          nb_client_peer_set_fqdn (peer, remote->fqdn);
        }
      if (peer != NULL)
        g_ptr_array_add (order, g_object_ref (peer));
    }
  /* The list in the map's order. */
  g_ptr_array_unref (engine->peers);
  engine->peers = g_steal_pointer (&order);
}

/* -- rules ---------------------------------------------------------------- */

static gboolean
rule_from_wire (const NbMgmtMsgFirewallRule *wire,
                NbFilterRule                *rule)
{
  g_autoptr(GInetAddress) inet = g_inet_address_new_from_string (wire->peer_ip);
  gsize size;

  if (inet == NULL)
    return FALSE;
  memset (rule, 0, sizeof *rule);
  size = g_inet_address_get_native_size (inet);
  rule->family = size == 4 ? 4 : 6;
  memcpy (rule->address, g_inet_address_to_bytes (inet), size);
  /* The values of the wire's enums and the filter's are the same. */
  rule->direction = (NbFilterDirection) wire->direction;
  rule->action = (NbFilterAction) wire->action;
  rule->protocol = (NbFilterProtocol) wire->protocol;
  if (wire->port_range_start != 0 || wire->port_range_end != 0)
    {
      if (wire->port_range_start < 0 || wire->port_range_end > 65535)
        return FALSE;
      rule->port_start = wire->port_range_start;
      rule->port_end = wire->port_range_end;
    }
  else if (wire->port != 0)
    {
      if (wire->port < 0 || wire->port > 65535)
        return FALSE;
      rule->port_start = rule->port_end = wire->port;
    }
  return TRUE;
}

static gboolean
apply_rules (NbClientEngine            *engine,
             const NbMgmtMsgNetworkMap *map,
             GError                   **error)
{
  guint n = map->firewall_rules != NULL ? map->firewall_rules->len : 0;
  g_autofree NbFilterRule *rules = g_new0 (NbFilterRule, MAX (n, 1));
  g_autoptr(GError) local_error = NULL;
  gsize used = 0;

  for (guint i = 0; i < n; i++)
    {
      const NbMgmtMsgFirewallRule *wire = map->firewall_rules->pdata[i];

      if (!rule_from_wire (wire, &rules[used]))
        {
          g_message ("Firewall rule for “%s” left out: not a rule this filter can hold",
                     wire->peer_ip);
          continue;
        }
      used++;
    }
  /* One swap: no packet sees half of the new rules. */
  if (!nb_wg_device_set_filter_rules (engine->ctx.device, rules, used, &local_error))
    {
      g_set_error (error, NB_CLIENT_ERROR, NB_CLIENT_ERROR_PROTOCOL,
                   "Management's firewall rules cannot be applied: %s", local_error->message);
      return FALSE;
    }
  if (engine->n_rules != used)
    {
      engine->n_rules = used;
      nb_client_notify (engine->client, "firewall-rules");
    }
  return TRUE;
}

gboolean
nb_client_engine_apply_map (NbClientEngine            *engine,
                            const NbMgmtMsgNetworkMap *map,
                            GError                   **error)
{
  const NbMgmtMsgPeerConfig *own = map->peer_config;

  if (own == NULL || own->address == NULL)
    {
      g_set_error_literal (error, NB_CLIENT_ERROR, NB_CLIENT_ERROR_PROTOCOL,
                           "Management sent a network map without this peer's address");
      return FALSE;
    }
  if (!ensure_device (engine, own->address, error))
    return FALSE;
  nb_client_set_own_address (engine->client, own->address, own->fqdn);
  /* Rules before peers: a new peer's first packets meet its rules. */
  if (!apply_rules (engine, map, error))
    return FALSE;
  /* The host's addresses as they are now (DHCP, a new link): the sessions
   * started from here on gather on them. */
  g_ptr_array_unref (engine->ctx.local_addresses);
  engine->ctx.local_addresses = nb_client_meta_local_addresses (nb_tun_get_name (engine->tun));
  apply_peers (engine, map);
  nb_client_dns_apply (engine->dns, map->dns_config, own->address);
  engine->serial = map->serial;
  g_debug ("Network map %" G_GINT64_FORMAT " applied: %u peers, %u rules", map->serial,
           engine->peers->len, map->firewall_rules != NULL ? map->firewall_rules->len : 0);
  return TRUE;
}

NbClientDns *
nb_client_engine_get_dns (NbClientEngine *engine)
{
  return engine->dns;
}

void
nb_client_engine_stop_dns (NbClientEngine *engine)
{
  nb_client_dns_apply (engine->dns, NULL, NULL);
}
