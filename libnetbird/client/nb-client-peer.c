/* nb-client-peer.c: what a client knows of one remote peer of its map
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-client"

#include "nb-client-private.h"
#include "nb-client-enum-types.h"
#include "nb-transport-enum-types.h"
#include "nb-wg-peer.h"

/**
 * NbClientPeer:
 *
 * A remote peer of a #NbClient's network map, as `netbird status` shows
 * it: its address and name, the state of the connection to it, the path
 * the packets take (#NbClientConnectionType, the ICE candidate types and
 * endpoints of the selected pair) and WireGuard's counters.
 *
 * The client makes one for every peer of the map (#NbClient::peer-added)
 * and drops it when the peer leaves the map (#NbClient::peer-removed).
 * Every property but the counters (#NbClientPeer:bytes-received,
 * #NbClientPeer:bytes-sent, #NbClientPeer:last-handshake, which change
 * with every packet and are read live from the WireGuard peer) notifies
 * when it changes, on the client's main context.
 */
struct _NbClientPeer
{
  GObject parent_instance;

  char *public_key;
  char *address;
  char *fqdn;
  NbClientPeerState state;
  gint64 last_status_update;
  NbClientConnectionType connection_type;
  NbIceCandidateType local_type;
  NbIceCandidateType remote_type;
  char *local_endpoint;
  char *remote_endpoint;
  char *relay_address;
  gint64 latency;
  NbWgPeer *wg_peer;   /* weak: the device's, cleared before it goes */
};

G_DEFINE_FINAL_TYPE (NbClientPeer, nb_client_peer, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_PUBLIC_KEY,
  PROP_ADDRESS,
  PROP_FQDN,
  PROP_STATE,
  PROP_LAST_STATUS_UPDATE,
  PROP_CONNECTION_TYPE,
  PROP_LOCAL_CANDIDATE_TYPE,
  PROP_REMOTE_CANDIDATE_TYPE,
  PROP_LOCAL_ENDPOINT,
  PROP_REMOTE_ENDPOINT,
  PROP_RELAY_ADDRESS,
  PROP_LATENCY,
  PROP_BYTES_RECEIVED,
  PROP_BYTES_SENT,
  PROP_LAST_HANDSHAKE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
nb_client_peer_finalize (GObject *object)
{
  NbClientPeer *self = NB_CLIENT_PEER (object);

  g_free (self->public_key);
  g_free (self->address);
  g_free (self->fqdn);
  g_free (self->local_endpoint);
  g_free (self->remote_endpoint);
  g_free (self->relay_address);
  G_OBJECT_CLASS (nb_client_peer_parent_class)->finalize (object);
}

static void
nb_client_peer_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  NbClientPeer *self = NB_CLIENT_PEER (object);

  switch (prop_id)
    {
    case PROP_PUBLIC_KEY:
      g_value_set_string (value, self->public_key);
      break;
    case PROP_ADDRESS:
      g_value_set_string (value, self->address);
      break;
    case PROP_FQDN:
      g_value_set_string (value, self->fqdn);
      break;
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_LAST_STATUS_UPDATE:
      g_value_set_int64 (value, self->last_status_update);
      break;
    case PROP_CONNECTION_TYPE:
      g_value_set_enum (value, self->connection_type);
      break;
    case PROP_LOCAL_CANDIDATE_TYPE:
      g_value_set_enum (value, self->local_type);
      break;
    case PROP_REMOTE_CANDIDATE_TYPE:
      g_value_set_enum (value, self->remote_type);
      break;
    case PROP_LOCAL_ENDPOINT:
      g_value_set_string (value, self->local_endpoint);
      break;
    case PROP_REMOTE_ENDPOINT:
      g_value_set_string (value, self->remote_endpoint);
      break;
    case PROP_RELAY_ADDRESS:
      g_value_set_string (value, self->relay_address);
      break;
    case PROP_LATENCY:
      g_value_set_int64 (value, self->latency);
      break;
    case PROP_BYTES_RECEIVED:
      g_value_set_uint64 (value, nb_client_peer_get_bytes_received (self));
      break;
    case PROP_BYTES_SENT:
      g_value_set_uint64 (value, nb_client_peer_get_bytes_sent (self));
      break;
    case PROP_LAST_HANDSHAKE:
      g_value_set_int64 (value, nb_client_peer_get_last_handshake (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
nb_client_peer_class_init (NbClientPeerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->finalize = nb_client_peer_finalize;
  object_class->get_property = nb_client_peer_get_property;

  /**
   * NbClientPeer:public-key:
   *
   * The peer's WireGuard public key, base64: who it is.
   */
  properties[PROP_PUBLIC_KEY] = g_param_spec_string ("public-key", NULL, NULL, NULL, ro);
  /**
   * NbClientPeer:address:
   *
   * The peer's address in the network ("100.64.0.9"), %NULL until the map
   * gives one.
   */
  properties[PROP_ADDRESS] = g_param_spec_string ("address", NULL, NULL, NULL, ro);
  /**
   * NbClientPeer:fqdn:
   *
   * The peer's DNS name in the network ("laptop.netbird.cloud"), %NULL
   * when Management gives none.
   */
  properties[PROP_FQDN] = g_param_spec_string ("fqdn", NULL, NULL, NULL, ro);
  /**
   * NbClientPeer:state:
   *
   * The connection to the peer.
   */
  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL, NB_TYPE_CLIENT_PEER_STATE,
                       NB_CLIENT_PEER_STATE_IDLE, ro);
  /**
   * NbClientPeer:last-status-update:
   *
   * When #NbClientPeer:state last changed, in microseconds since the Unix
   * epoch (as g_get_real_time()).
   */
  properties[PROP_LAST_STATUS_UPDATE] =
    g_param_spec_int64 ("last-status-update", NULL, NULL, 0, G_MAXINT64, 0, ro);
  /**
   * NbClientPeer:connection-type:
   *
   * How packets to the peer travel while it is connected.
   */
  properties[PROP_CONNECTION_TYPE] =
    g_param_spec_enum ("connection-type", NULL, NULL, NB_TYPE_CLIENT_CONNECTION_TYPE,
                       NB_CLIENT_CONNECTION_TYPE_NONE, ro);
  /**
   * NbClientPeer:local-candidate-type:
   *
   * The type of this side's candidate of the selected ICE pair
   * (meaningful while #NbClientPeer:connection-type is not
   * %NB_CLIENT_CONNECTION_TYPE_NONE).
   */
  properties[PROP_LOCAL_CANDIDATE_TYPE] =
    g_param_spec_enum ("local-candidate-type", NULL, NULL, NB_TYPE_ICE_CANDIDATE_TYPE,
                       NB_ICE_CANDIDATE_TYPE_HOST, ro);
  /**
   * NbClientPeer:remote-candidate-type:
   *
   * The type of the peer's candidate of the selected ICE pair.
   */
  properties[PROP_REMOTE_CANDIDATE_TYPE] =
    g_param_spec_enum ("remote-candidate-type", NULL, NULL, NB_TYPE_ICE_CANDIDATE_TYPE,
                       NB_ICE_CANDIDATE_TYPE_HOST, ro);
  /**
   * NbClientPeer:local-endpoint:
   *
   * This side's address and port of the selected pair ("198.18.1.10:51820"),
   * %NULL while not connected.
   */
  properties[PROP_LOCAL_ENDPOINT] = g_param_spec_string ("local-endpoint", NULL, NULL, NULL, ro);
  /**
   * NbClientPeer:remote-endpoint:
   *
   * The peer's address and port of the selected pair, %NULL while not
   * connected.
   */
  properties[PROP_REMOTE_ENDPOINT] =
    g_param_spec_string ("remote-endpoint", NULL, NULL, NULL, ro);
  /**
   * NbClientPeer:relay-address:
   *
   * The relay the packets go through on a relayed path (the TURN relayed
   * address), %NULL otherwise.
   */
  properties[PROP_RELAY_ADDRESS] = g_param_spec_string ("relay-address", NULL, NULL, NULL, ro);
  /**
   * NbClientPeer:latency:
   *
   * The round-trip time to the peer over the tunnel, in microseconds: the
   * time from this side's last WireGuard handshake initiation to the
   * peer's response. 0 while unknown.
   */
  properties[PROP_LATENCY] = g_param_spec_int64 ("latency", NULL, NULL, 0, G_MAXINT64, 0, ro);
  /**
   * NbClientPeer:bytes-received:
   *
   * WireGuard bytes received from the peer (read live; no notification).
   */
  properties[PROP_BYTES_RECEIVED] =
    g_param_spec_uint64 ("bytes-received", NULL, NULL, 0, G_MAXUINT64, 0, ro);
  /**
   * NbClientPeer:bytes-sent:
   *
   * WireGuard bytes sent to the peer (read live; no notification).
   */
  properties[PROP_BYTES_SENT] =
    g_param_spec_uint64 ("bytes-sent", NULL, NULL, 0, G_MAXUINT64, 0, ro);
  /**
   * NbClientPeer:last-handshake:
   *
   * When the last WireGuard handshake with the peer completed, in
   * microseconds since the Unix epoch, 0 if none (read live; no
   * notification).
   */
  properties[PROP_LAST_HANDSHAKE] =
    g_param_spec_int64 ("last-handshake", NULL, NULL, 0, G_MAXINT64, 0, ro);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
nb_client_peer_init (NbClientPeer *self)
{
  self->last_status_update = g_get_real_time ();
}

NbClientPeer *
nb_client_peer_new (const char *public_key)
{
  NbClientPeer *self = g_object_new (NB_TYPE_CLIENT_PEER, NULL);

  self->public_key = g_strdup (public_key);
  return self;
}

static void
set_string (NbClientPeer *self,
            char        **field,
            const char   *value,
            guint         prop)
{
  if (g_strcmp0 (*field, value) == 0)
    return;
  g_free (*field);
  *field = g_strdup (value);
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
}

void
nb_client_peer_set_address (NbClientPeer *self,
                            const char   *address)
{
  set_string (self, &self->address, address, PROP_ADDRESS);
}

void
nb_client_peer_set_fqdn (NbClientPeer *self,
                         const char   *fqdn)
{
  set_string (self, &self->fqdn, fqdn, PROP_FQDN);
}

void
nb_client_peer_set_state (NbClientPeer      *self,
                          NbClientPeerState  state)
{
  if (self->state == state)
    return;
  self->state = state;
  self->last_status_update = g_get_real_time ();
  g_object_freeze_notify (G_OBJECT (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LAST_STATUS_UPDATE]);
  g_object_thaw_notify (G_OBJECT (self));
}

void
nb_client_peer_set_path (NbClientPeer           *self,
                         NbClientConnectionType  type,
                         NbIceCandidateType      local_type,
                         NbIceCandidateType      remote_type,
                         const char             *local_endpoint,
                         const char             *remote_endpoint,
                         const char             *relay_address)
{
  g_object_freeze_notify (G_OBJECT (self));
  if (self->connection_type != type)
    {
      self->connection_type = type;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONNECTION_TYPE]);
    }
  if (self->local_type != local_type)
    {
      self->local_type = local_type;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOCAL_CANDIDATE_TYPE]);
    }
  if (self->remote_type != remote_type)
    {
      self->remote_type = remote_type;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REMOTE_CANDIDATE_TYPE]);
    }
  set_string (self, &self->local_endpoint, local_endpoint, PROP_LOCAL_ENDPOINT);
  set_string (self, &self->remote_endpoint, remote_endpoint, PROP_REMOTE_ENDPOINT);
  set_string (self, &self->relay_address, relay_address, PROP_RELAY_ADDRESS);
  g_object_thaw_notify (G_OBJECT (self));
}

void
nb_client_peer_set_latency (NbClientPeer *self,
                            gint64        latency_us)
{
  if (self->latency == latency_us)
    return;
  self->latency = latency_us;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LATENCY]);
}

void
nb_client_peer_set_wg_peer (NbClientPeer *self,
                            NbWgPeer     *peer)
{
  self->wg_peer = peer;
}

NbWgPeer *
nb_client_peer_get_wg_peer (NbClientPeer *self)
{
  return self->wg_peer;
}

/**
 * nb_client_peer_get_public_key:
 * @self: a #NbClientPeer
 *
 * Returns: the peer's WireGuard public key, base64
 */
const char *
nb_client_peer_get_public_key (NbClientPeer *self)
{
  g_return_val_if_fail (NB_IS_CLIENT_PEER (self), NULL);
  return self->public_key;
}

/**
 * nb_client_peer_get_address:
 * @self: a #NbClientPeer
 *
 * Returns: (nullable): the peer's address in the network ("100.64.0.9")
 */
const char *
nb_client_peer_get_address (NbClientPeer *self)
{
  g_return_val_if_fail (NB_IS_CLIENT_PEER (self), NULL);
  return self->address;
}

/**
 * nb_client_peer_get_fqdn:
 * @self: a #NbClientPeer
 *
 * Returns: (nullable): the peer's DNS name in the network
 */
const char *
nb_client_peer_get_fqdn (NbClientPeer *self)
{
  g_return_val_if_fail (NB_IS_CLIENT_PEER (self), NULL);
  return self->fqdn;
}

/**
 * nb_client_peer_get_state:
 * @self: a #NbClientPeer
 *
 * Returns: the state of the connection to the peer
 */
NbClientPeerState
nb_client_peer_get_state (NbClientPeer *self)
{
  g_return_val_if_fail (NB_IS_CLIENT_PEER (self), NB_CLIENT_PEER_STATE_IDLE);
  return self->state;
}

/**
 * nb_client_peer_get_last_status_update:
 * @self: a #NbClientPeer
 *
 * Returns: when the state last changed, in microseconds since the Unix
 *   epoch
 */
gint64
nb_client_peer_get_last_status_update (NbClientPeer *self)
{
  g_return_val_if_fail (NB_IS_CLIENT_PEER (self), 0);
  return self->last_status_update;
}

/**
 * nb_client_peer_get_connection_type:
 * @self: a #NbClientPeer
 *
 * Returns: how packets to the peer travel
 */
NbClientConnectionType
nb_client_peer_get_connection_type (NbClientPeer *self)
{
  g_return_val_if_fail (NB_IS_CLIENT_PEER (self), NB_CLIENT_CONNECTION_TYPE_NONE);
  return self->connection_type;
}

/**
 * nb_client_peer_get_candidate_types:
 * @self: a #NbClientPeer
 * @local_type: (out) (optional): this side's candidate type
 * @remote_type: (out) (optional): the peer's candidate type
 *
 * The candidate types of the selected ICE pair.
 *
 * Returns: %TRUE when an ICE pair is selected (the peer is connected, and
 *   not through the WebSocket relay, where no ICE pair carries it)
 */
gboolean
nb_client_peer_get_candidate_types (NbClientPeer       *self,
                                    NbIceCandidateType *local_type,
                                    NbIceCandidateType *remote_type)
{
  g_return_val_if_fail (NB_IS_CLIENT_PEER (self), FALSE);
  if (local_type != NULL)
    *local_type = self->local_type;
  if (remote_type != NULL)
    *remote_type = self->remote_type;
  return self->connection_type != NB_CLIENT_CONNECTION_TYPE_NONE && self->local_endpoint != NULL;
}

/**
 * nb_client_peer_get_local_endpoint:
 * @self: a #NbClientPeer
 *
 * Returns: (nullable): this side's address and port of the selected pair
 */
const char *
nb_client_peer_get_local_endpoint (NbClientPeer *self)
{
  g_return_val_if_fail (NB_IS_CLIENT_PEER (self), NULL);
  return self->local_endpoint;
}

/**
 * nb_client_peer_get_remote_endpoint:
 * @self: a #NbClientPeer
 *
 * Returns: (nullable): the peer's address and port of the selected pair
 */
const char *
nb_client_peer_get_remote_endpoint (NbClientPeer *self)
{
  g_return_val_if_fail (NB_IS_CLIENT_PEER (self), NULL);
  return self->remote_endpoint;
}

/**
 * nb_client_peer_get_relay_address:
 * @self: a #NbClientPeer
 *
 * Returns: (nullable): the relay of a relayed path
 */
const char *
nb_client_peer_get_relay_address (NbClientPeer *self)
{
  g_return_val_if_fail (NB_IS_CLIENT_PEER (self), NULL);
  return self->relay_address;
}

/**
 * nb_client_peer_get_latency:
 * @self: a #NbClientPeer
 *
 * See #NbClientPeer:latency.
 *
 * Returns: the round-trip time in microseconds, 0 while unknown
 */
gint64
nb_client_peer_get_latency (NbClientPeer *self)
{
  g_return_val_if_fail (NB_IS_CLIENT_PEER (self), 0);
  return self->latency;
}

/**
 * nb_client_peer_get_bytes_received:
 * @self: a #NbClientPeer
 *
 * Returns: WireGuard bytes received from the peer
 */
guint64
nb_client_peer_get_bytes_received (NbClientPeer *self)
{
  g_return_val_if_fail (NB_IS_CLIENT_PEER (self), 0);
  return self->wg_peer != NULL ? nb_wg_peer_get_rx_bytes (self->wg_peer) : 0;
}

/**
 * nb_client_peer_get_bytes_sent:
 * @self: a #NbClientPeer
 *
 * Returns: WireGuard bytes sent to the peer
 */
guint64
nb_client_peer_get_bytes_sent (NbClientPeer *self)
{
  g_return_val_if_fail (NB_IS_CLIENT_PEER (self), 0);
  return self->wg_peer != NULL ? nb_wg_peer_get_tx_bytes (self->wg_peer) : 0;
}

/**
 * nb_client_peer_get_last_handshake:
 * @self: a #NbClientPeer
 *
 * Returns: when the last WireGuard handshake completed, in microseconds
 *   since the Unix epoch, 0 if none
 */
gint64
nb_client_peer_get_last_handshake (NbClientPeer *self)
{
  g_return_val_if_fail (NB_IS_CLIENT_PEER (self), 0);
  return self->wg_peer != NULL ? nb_wg_peer_get_last_handshake_time (self->wg_peer) : 0;
}
