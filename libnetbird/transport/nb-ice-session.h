/* nb-ice-session.h: one ICE session between two peers, over libnice
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#if !defined(__NETBIRD_H_INSIDE__) && !defined(NB_COMPILATION)
#error "Only <netbird.h> can be included directly."
#endif

#include <gio/gio.h>
#include "nb-export.h"
#include "nb-key.h"
#include "nb-wg-device.h"
#include "nb-wg-peer.h"

G_BEGIN_DECLS

/**
 * NB_ICE_SESSION_ERROR:
 *
 * The error domain of #NbIceSession.
 */
#define NB_ICE_SESSION_ERROR (nb_ice_session_error_quark ())

/**
 * NbIceSessionError:
 * @NB_ICE_SESSION_ERROR_INVALID_SERVER: a STUN or TURN server URI that is not
 *   `stun:HOST[:PORT]`, `turn:HOST[:PORT][?transport=udp|tcp]` or
 *   `turns:HOST[:PORT]`, or a TURN server without credentials
 * @NB_ICE_SESSION_ERROR_INVALID_CREDENTIALS: remote ICE credentials that are
 *   not a username fragment and password of ice-chars (RFC 8445 §5.3)
 * @NB_ICE_SESSION_ERROR_INVALID_CANDIDATE: a remote candidate that is not an
 *   ICE candidate attribute (RFC 5245 §15.1), or one libnice refused
 * @NB_ICE_SESSION_ERROR_WRONG_STATE: the call does not fit the session's
 *   state (it was already started, or is closed)
 * @NB_ICE_SESSION_ERROR_AGENT: libnice could not set up the stream
 *
 * Errors of #NbIceSession.
 */
typedef enum {
  NB_ICE_SESSION_ERROR_INVALID_SERVER,
  NB_ICE_SESSION_ERROR_INVALID_CREDENTIALS,
  NB_ICE_SESSION_ERROR_INVALID_CANDIDATE,
  NB_ICE_SESSION_ERROR_WRONG_STATE,
  NB_ICE_SESSION_ERROR_AGENT,
} NbIceSessionError;

/**
 * NbIceSessionState:
 * @NB_ICE_SESSION_STATE_NEW: not started
 * @NB_ICE_SESSION_STATE_GATHERING: gathering local candidates, or waiting
 *   for the remote credentials and candidates
 * @NB_ICE_SESSION_STATE_CONNECTING: connectivity checks are running
 * @NB_ICE_SESSION_STATE_CONNECTED: a pair is selected and carries packets
 * @NB_ICE_SESSION_STATE_FAILED: every pair failed; nb_ice_session_restart()
 *   starts a new round (the session does so by itself after a delay, see
 *   #NbIceSession:auto-restart)
 * @NB_ICE_SESSION_STATE_CLOSED: nb_ice_session_close() was called
 *
 * Where an ICE session stands.
 */
typedef enum {
  NB_ICE_SESSION_STATE_NEW,
  NB_ICE_SESSION_STATE_GATHERING,
  NB_ICE_SESSION_STATE_CONNECTING,
  NB_ICE_SESSION_STATE_CONNECTED,
  NB_ICE_SESSION_STATE_FAILED,
  NB_ICE_SESSION_STATE_CLOSED,
} NbIceSessionState;

/**
 * NbIceCandidateType:
 * @NB_ICE_CANDIDATE_TYPE_HOST: an address of a local interface
 * @NB_ICE_CANDIDATE_TYPE_SERVER_REFLEXIVE: the address a STUN or TURN server
 *   saw (the outside of a NAT)
 * @NB_ICE_CANDIDATE_TYPE_PEER_REFLEXIVE: an address learned from the other
 *   peer's checks
 * @NB_ICE_CANDIDATE_TYPE_RELAYED: an address allocated on a TURN server
 *
 * The kinds of ICE candidates (RFC 8445 §5.1.1).
 */
typedef enum {
  NB_ICE_CANDIDATE_TYPE_HOST,
  NB_ICE_CANDIDATE_TYPE_SERVER_REFLEXIVE,
  NB_ICE_CANDIDATE_TYPE_PEER_REFLEXIVE,
  NB_ICE_CANDIDATE_TYPE_RELAYED,
} NbIceCandidateType;

/**
 * NbIceTransportKind:
 * @NB_ICE_TRANSPORT_NONE: the WireGuard peer has no transport of this
 *   session (no pair selected, or no peer attached)
 * @NB_ICE_TRANSPORT_CHANNEL: WireGuard datagrams go through the agent
 *   (a relayed pair, or a direct one before the socket is handed over)
 * @NB_ICE_TRANSPORT_SOCKET: the selected pair's socket is handed over to the
 *   WireGuard packet threads
 *
 * How the attached WireGuard peer's packets travel.
 */
typedef enum {
  NB_ICE_TRANSPORT_NONE,
  NB_ICE_TRANSPORT_CHANNEL,
  NB_ICE_TRANSPORT_SOCKET,
} NbIceTransportKind;

NB_AVAILABLE_IN_ALL
GQuark nb_ice_session_error_quark (void);

#define NB_TYPE_ICE_SESSION (nb_ice_session_get_type ())
NB_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (NbIceSession, nb_ice_session, NB, ICE_SESSION, GObject)

NB_AVAILABLE_IN_ALL
NbIceSession      *nb_ice_session_new                   (NbKey                *local_key,
                                                         NbKey                *remote_key);
NB_AVAILABLE_IN_ALL
gboolean           nb_ice_session_add_stun_server       (NbIceSession         *self,
                                                         const char           *uri,
                                                         GError              **error);
NB_AVAILABLE_IN_ALL
gboolean           nb_ice_session_add_turn_server       (NbIceSession         *self,
                                                         const char           *uri,
                                                         const char           *username,
                                                         const char           *password,
                                                         GError              **error);
NB_AVAILABLE_IN_ALL
void               nb_ice_session_add_local_address     (NbIceSession         *self,
                                                         GInetAddress         *address);
NB_AVAILABLE_IN_ALL
void               nb_ice_session_set_relay_only        (NbIceSession         *self,
                                                         gboolean              relay_only);
NB_AVAILABLE_IN_ALL
void               nb_ice_session_set_wg_peer           (NbIceSession         *self,
                                                         NbWgDevice           *device,
                                                         NbWgPeer             *peer);
NB_AVAILABLE_IN_ALL
gboolean           nb_ice_session_start                 (NbIceSession         *self,
                                                         GError              **error);
NB_AVAILABLE_IN_ALL
gboolean           nb_ice_session_set_remote_credentials (NbIceSession        *self,
                                                         const char           *ufrag,
                                                         const char           *pwd,
                                                         GError              **error);
NB_AVAILABLE_IN_ALL
gboolean           nb_ice_session_add_remote_candidate  (NbIceSession         *self,
                                                         const char           *candidate,
                                                         GError              **error);
NB_AVAILABLE_IN_ALL
gboolean           nb_ice_session_restart               (NbIceSession         *self,
                                                         GError              **error);
NB_AVAILABLE_IN_ALL
void               nb_ice_session_close                 (NbIceSession         *self);

NB_AVAILABLE_IN_ALL
NbIceSessionState  nb_ice_session_get_state             (NbIceSession         *self);
NB_AVAILABLE_IN_ALL
gboolean           nb_ice_session_get_controlling       (NbIceSession         *self);
NB_AVAILABLE_IN_ALL
const char        *nb_ice_session_get_session_id        (NbIceSession         *self);
NB_AVAILABLE_IN_ALL
char              *nb_ice_session_dup_local_ufrag       (NbIceSession         *self);
NB_AVAILABLE_IN_ALL
char              *nb_ice_session_dup_local_password    (NbIceSession         *self);
NB_AVAILABLE_IN_ALL
gboolean           nb_ice_session_get_selected_pair     (NbIceSession         *self,
                                                         NbIceCandidateType   *local_type,
                                                         GInetSocketAddress  **local_address,
                                                         NbIceCandidateType   *remote_type,
                                                         GInetSocketAddress  **remote_address);
NB_AVAILABLE_IN_ALL
NbIceTransportKind nb_ice_session_get_transport_kind    (NbIceSession         *self);
NB_AVAILABLE_IN_ALL
guint64            nb_ice_session_get_channel_rx_datagrams (NbIceSession      *self);
NB_AVAILABLE_IN_ALL
guint64            nb_ice_session_get_channel_tx_datagrams (NbIceSession      *self);

G_END_DECLS
