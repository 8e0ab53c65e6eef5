/* nb-client-peer.h: what a client knows of one remote peer of its network map
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#if !defined(__NETBIRD_H_INSIDE__) && !defined(NB_COMPILATION)
#error "Only <netbird.h> can be included directly."
#endif

#include <gio/gio.h>
#include "nb-export.h"
#include "nb-ice-session.h"

G_BEGIN_DECLS

/**
 * NbClientPeerState:
 * @NB_CLIENT_PEER_STATE_IDLE: no connection is wanted right now (the client
 *   is not up, or the peer left the map). Every peer of the map is
 *   connected: idle peers are not closed (NetBird's lazy connections are
 *   not done)
 * @NB_CLIENT_PEER_STATE_CONNECTING: an offer is out, or ICE is checking
 *   paths
 * @NB_CLIENT_PEER_STATE_CONNECTED: a path is selected and WireGuard runs
 *   over it
 *
 * The connection to a remote peer, as `netbird status` names it.
 */
typedef enum {
  NB_CLIENT_PEER_STATE_IDLE,
  NB_CLIENT_PEER_STATE_CONNECTING,
  NB_CLIENT_PEER_STATE_CONNECTED,
} NbClientPeerState;

/**
 * NbClientConnectionType:
 * @NB_CLIENT_CONNECTION_TYPE_NONE: not connected
 * @NB_CLIENT_CONNECTION_TYPE_P2P: a direct path (host, server- or
 *   peer-reflexive candidates on both sides)
 * @NB_CLIENT_CONNECTION_TYPE_RELAYED: through a relay (a TURN relayed
 *   candidate, or the WebSocket relay)
 *
 * How packets to a connected peer travel (`P2P`, `Relayed` or `-` in
 * `netbird status`).
 */
typedef enum {
  NB_CLIENT_CONNECTION_TYPE_NONE,
  NB_CLIENT_CONNECTION_TYPE_P2P,
  NB_CLIENT_CONNECTION_TYPE_RELAYED,
} NbClientConnectionType;

#define NB_TYPE_CLIENT_PEER (nb_client_peer_get_type ())

NB_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (NbClientPeer, nb_client_peer, NB, CLIENT_PEER, GObject)

NB_AVAILABLE_IN_ALL
const char             *nb_client_peer_get_public_key          (NbClientPeer *self);
NB_AVAILABLE_IN_ALL
const char             *nb_client_peer_get_address             (NbClientPeer *self);
NB_AVAILABLE_IN_ALL
const char             *nb_client_peer_get_fqdn                (NbClientPeer *self);
NB_AVAILABLE_IN_ALL
NbClientPeerState       nb_client_peer_get_state               (NbClientPeer *self);
NB_AVAILABLE_IN_ALL
gint64                  nb_client_peer_get_last_status_update  (NbClientPeer *self);
NB_AVAILABLE_IN_ALL
NbClientConnectionType  nb_client_peer_get_connection_type     (NbClientPeer *self);
NB_AVAILABLE_IN_ALL
gboolean                nb_client_peer_get_candidate_types     (NbClientPeer       *self,
                                                                NbIceCandidateType *local_type,
                                                                NbIceCandidateType *remote_type);
NB_AVAILABLE_IN_ALL
const char             *nb_client_peer_get_local_endpoint      (NbClientPeer *self);
NB_AVAILABLE_IN_ALL
const char             *nb_client_peer_get_remote_endpoint     (NbClientPeer *self);
NB_AVAILABLE_IN_ALL
const char             *nb_client_peer_get_relay_address       (NbClientPeer *self);
NB_AVAILABLE_IN_ALL
gint64                  nb_client_peer_get_latency             (NbClientPeer *self);
NB_AVAILABLE_IN_ALL
guint64                 nb_client_peer_get_bytes_received      (NbClientPeer *self);
NB_AVAILABLE_IN_ALL
guint64                 nb_client_peer_get_bytes_sent          (NbClientPeer *self);
NB_AVAILABLE_IN_ALL
gint64                  nb_client_peer_get_last_handshake      (NbClientPeer *self);

G_END_DECLS
