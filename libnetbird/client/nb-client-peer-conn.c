/* nb-client-peer-conn.c: one remote peer's connection
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * Each remote peer of the map gets one: an NbIceSession between the two
 * keys, with the WireGuard peer attached (the session hands it the
 * selected socket, or a channel through the TURN relay), and the
 * signalling that feeds the session through the client's one Signal
 * connection.
 *
 * Signalling: an offer carries this side's ICE credentials and session id
 * whenever the session makes new ones (start, restart) and whenever Signal
 * comes back (what was sent while it was away is lost); each local
 * candidate follows in a candidate message. An offer with a session id not
 * seen before is answered with the current credentials and every local
 * candidate of the round, so a peer that came late (its map arrived after
 * ours, or it reconnected to Signal) still gets them. Candidates of a
 * session id other than the peer's current one are stale and dropped.
 * Glare, both sides offering at once, needs nothing more: each answers the
 * other's offer, and the ICE roles follow the key order (the session's
 * rule), not who offered first.
 *
 * A new round: ICE failing restarts by itself (the session's auto-restart,
 * with its backoff). A path that ICE still calls connected but over which
 * WireGuard handshakes stopped completing (the NAT forgot the mapping, the
 * peer moved) is noticed here: nb_client_peer_conn_check() runs every few
 * seconds and restarts ICE when no handshake completed within
 * FIRST_HANDSHAKE_S of connecting, or within HANDSHAKE_DEADLINE_S since
 * the last one. The WireGuard peer keeps a persistent keepalive, so a
 * working path renews its session every two minutes (REKEY_AFTER_TIME)
 * even without traffic.
 *
 * Relay fallback: every round offers relayed candidates beside the others
 * when Management gave TURN servers. After RELAY_FALLBACK_FAILURES failed
 * rounds the next session gathers relayed candidates only: a TURN server
 * that cannot route to some of the other side's candidates (coturn 4.6
 * without a route to private addresses closes the whole allocation at the
 * first unroutable send, see tests/transport/test-ice-nat.sh) then still
 * carries the one pair that matters. The other side fails its round too
 * and does the same. A relayed connection stays relayed until its path
 * dies.
 *
 * The WebSocket relay (nb-client-relays.c) comes first: each side names
 * its home relay in its offers and answers, and as soon as both know the
 * other's, the WireGuard peer gets a transport through the other's home
 * relay, usable at once, while ICE goes on looking for a path. When ICE
 * selects a pair its transport replaces the relay's (the upgrade); when
 * the pair goes (ICE failed or restarted) the relay's comes back (the
 * fallback). Only the transport under the WireGuard peer changes: its
 * session, keys and counters carry on, so neither switch makes a
 * handshake. With a relay to fall back to, a direct path that delivers
 * nothing for DIRECT_SILENCE_S (both sides keep a persistent keepalive,
 * so a working one delivers at least every KEEPALIVE_S), or nothing for
 * DATA_SILENCE_S while this side sends data, gets a new ICE session,
 * which puts the relay back under the peer until ICE finds a path again;
 * and the TURN-only rounds above are not needed. Without a relay
 * (none configured, or the peers' relays unknown) ICE and TURN alone work
 * as before.
 */
#define G_LOG_DOMAIN "netbird-client"

#include "nb-client-private.h"
#include "nb-ice-session.h"
#include "nb-relay-client-private.h"
#include "nb-signal-message.h"
#include "nb-version.h"
#include "nb-wg-device-private.h"

/* The keepalive NetBird gives its WireGuard peers. */
#define KEEPALIVE_S 25
/* A connected path must complete a handshake within this (WireGuard
 * retries every 5 s: four tries), and go on completing them: sessions are
 * renewed after 120 s and refused after 180 s (WireGuard paper §6.1). */
#define FIRST_HANDSHAKE_S 20
#define HANDSHAKE_DEADLINE_S 200
/* The first handshake over a new path, when no packet made one (see
 * on_transport_kind()): from the ICE-controlling side after this, from
 * the controlled side after the second. */
#define FIRST_HANDSHAKE_CONTROLLING_MS 500
#define FIRST_HANDSHAKE_CONTROLLED_MS 1500
/* Failed rounds before the relay alone is tried (see on_state()). */
#define RELAY_FALLBACK_FAILURES 2
/* A direct path that delivered nothing this long is dead when the relay
 * can take over: more than one keepalive interval and a check's. */
#define DIRECT_SILENCE_S (KEEPALIVE_S + 2 * 5)
/* Sooner when this side sent more than keepalives meanwhile: a live peer
 * answers data within KEEPALIVE_TIMEOUT (10 s, its passive keepalive),
 * and WireGuard itself gives up on a path after that and REKEY_TIMEOUT
 * (5 s) (WireGuard paper §6.5). */
#define DATA_SILENCE_S 15
#define UNANSWERED_BYTES 512
/* What the peer sent through the relay this long after the switch to a
 * direct path was not in flight at the switch: it fell back. */
#define CHECK_SETTLE_S 3

/* What the peer sends through the relay while ICE carries the WireGuard
 * peer still reaches it (datagrams in flight at a switch, or the peer
 * fell back first), and tells this side that the peer left the direct
 * path. Shared with the relay client's thread: atomic rc box. */
typedef struct
{
  GWeakRef device;
  GWeakRef wg_peer;
  gint received_s;                /* atomic: monotonic second of the last
                                   * datagram, 0: none */
} RelayStandby;

static void
relay_standby_clear (gpointer data)
{
  RelayStandby *standby = data;

  g_weak_ref_clear (&standby->device);
  g_weak_ref_clear (&standby->wg_peer);
}

static void
relay_standby_release (gpointer data)
{
  g_atomic_rc_box_release_full (data, relay_standby_clear);
}

/* On the relay client's thread. */
static void
relay_standby_receive (guint8   *data,
                       gsize     len,
                       gpointer  user_data)
{
  RelayStandby *standby = user_data;
  g_autoptr(NbWgDevice) device = g_weak_ref_get (&standby->device);
  g_autoptr(NbWgPeer) wg_peer = g_weak_ref_get (&standby->wg_peer);

  g_atomic_int_set (&standby->received_s, (gint) (g_get_monotonic_time () / G_USEC_PER_SEC));
  if (device != NULL && wg_peer != NULL)
    nb_wg_device_receive_from_transport (device, wg_peer, data, len);
}

struct _NbClientPeerConn
{
  NbClientConnContext *context;   /* the engine's */
  NbKey *remote_key;
  NbWgPeer *wg_peer;              /* the device's */
  NbClientPeer *status;
  NbIceSession *session;
  gboolean servers_stale;         /* a new round makes a new session */

  char *remote_session_id;        /* the peer's current round */
  GPtrArray *local_candidates;    /* char *, of this side's current round */

  gint64 connected_at;            /* real time of the last connect, µs; 0 */
  GSource *handshake_source;      /* the first handshake over a new path */
  gint64 attached_at;             /* real time the path was handed over, µs */
  GSource *relay_source;          /* the switch to relay-only, out of the
                                   * session's own signal */
  guint failures;                 /* failed rounds since the last connect */
  gboolean relay_only;
  guint rounds;                   /* rounds started by the watchdog */
  guint64 stale;

  char *remote_relay;             /* the peer's home relay (URL), or NULL */
  NbRelayClient *relay;           /* the client to it, while both sides
                                   * have a home relay */
  gboolean on_relay;              /* the WireGuard peer has its transport */
  gboolean has_path;              /* the WireGuard peer has a transport */
  guint relay_switches;
  guint64 rx_bytes;               /* at the last check */
  gint64 rx_at;                   /* real time rx_bytes last grew, µs */
  gint64 direct_at;               /* real time ICE's transport came, µs */
  guint64 tx_at_rx;               /* tx bytes when rx_bytes last grew */
  gint direct_s;                  /* monotonic second of direct_at */
  RelayStandby *standby;          /* the relay's receiver while ICE has
                                   * the peer, or NULL */
};

static void conn_start_session (NbClientPeerConn *conn);
static void conn_update_relay (NbClientPeerConn *conn);
static void standby_start (NbClientPeerConn *conn);

/* -- signalling ------------------------------------------------------------ */

/* Sends @message to the peer; one sent while Signal is away is lost (it is
 * sent again when Signal is back), as is one to a peer Signal does not
 * have. */
static void
signal_send (NbClientPeerConn *conn,
             NbSignalMessage  *message)
{
  g_autoptr(NbSignalMessage) owned = message;
  g_autoptr(GError) error = NULL;

  if (conn->context->signal == NULL)
    return;
  if (!nb_signal_client_send (conn->context->signal, conn->remote_key, message, &error) &&
      !g_error_matches (error, NB_SIGNAL_CLIENT_ERROR, NB_SIGNAL_CLIENT_ERROR_NOT_CONNECTED))
    g_message ("Peer %s: cannot send a Signal message: %s",
               nb_key_get_public_base64 (conn->remote_key), error->message);
}

static void
send_credentials (NbClientPeerConn *conn,
                  gboolean          answer)
{
  g_autofree char *ufrag = nb_ice_session_dup_local_ufrag (conn->session);
  g_autofree char *pwd = nb_ice_session_dup_local_password (conn->session);
  const char *session_id = nb_ice_session_get_session_id (conn->session);
  guint16 port = nb_wg_device_get_listen_port (conn->context->device);

  if (ufrag == NULL || pwd == NULL || session_id == NULL)
    return;
  signal_send (conn, answer
               ? nb_signal_message_new_answer (session_id, ufrag, pwd, port,
                                               nb_get_version_string (),
                                               conn->context->home_relay)
               : nb_signal_message_new_offer (session_id, ufrag, pwd, port,
                                              nb_get_version_string (),
                                              conn->context->home_relay));
}

static void
send_candidates (NbClientPeerConn *conn)
{
  const char *session_id = nb_ice_session_get_session_id (conn->session);

  for (guint i = 0; i < conn->local_candidates->len; i++)
    signal_send (conn, nb_signal_message_new_candidate (session_id,
                                                        conn->local_candidates->pdata[i]));
}

void
nb_client_peer_conn_handle_message (NbClientPeerConn *conn,
                                    NbSignalMessage  *message)
{
  g_autoptr(GError) error = NULL;
  const char *session_id = nb_signal_message_get_session_id (message);
  NbSignalMessageKind kind = nb_signal_message_get_kind (message);
  gboolean new_session;

  switch (kind)
    {
    case NB_SIGNAL_MESSAGE_KIND_OFFER:
    case NB_SIGNAL_MESSAGE_KIND_ANSWER:
      new_session = g_strcmp0 (conn->remote_session_id, session_id) != 0;
      if (g_strcmp0 (conn->remote_relay, nb_signal_message_get_relay_address (message)) != 0)
        {
          g_free (conn->remote_relay);
          conn->remote_relay = g_strdup (nb_signal_message_get_relay_address (message));
          if (conn->remote_relay != NULL && conn->remote_relay[0] == '\0')
            g_clear_pointer (&conn->remote_relay, g_free);
          conn_update_relay (conn);
        }
      g_free (conn->remote_session_id);
      conn->remote_session_id = g_strdup (session_id);
      /* Different credentials restart this side's round too (the session
       * does that); its local-credentials handler then offers the new ones. */
      if (!nb_ice_session_set_remote_credentials (conn->session,
                                                  nb_signal_message_get_ufrag (message),
                                                  nb_signal_message_get_pwd (message), &error))
        {
          g_message ("Peer %s: its credentials: %s",
                     nb_key_get_public_base64 (conn->remote_key), error->message);
          return;
        }
      if (kind == NB_SIGNAL_MESSAGE_KIND_OFFER && new_session)
        {
          send_credentials (conn, TRUE);
          send_candidates (conn);
        }
      break;
    case NB_SIGNAL_MESSAGE_KIND_CANDIDATE:
      if (g_strcmp0 (conn->remote_session_id, session_id) != 0)
        {
          conn->stale++;
          return;
        }
      if (!nb_ice_session_add_remote_candidate (conn->session,
                                                nb_signal_message_get_candidate (message),
                                                &error))
        g_debug ("Peer %s: its candidate: %s", nb_key_get_public_base64 (conn->remote_key),
                 error->message);
      break;
    case NB_SIGNAL_MESSAGE_KIND_GO_IDLE:
    default:
      /* Lazy connections are not done: every peer stays connected. */
      break;
    }
}

void
nb_client_peer_conn_signal_connected (NbClientPeerConn *conn)
{
  if (nb_ice_session_get_session_id (conn->session) == NULL)
    return;
  send_credentials (conn, FALSE);
  send_candidates (conn);
}

/* -- the session ----------------------------------------------------------- */

static void
on_local_credentials (NbIceSession     *session,
                      const char       *ufrag,
                      const char       *pwd,
                      NbClientPeerConn *conn)
{
  /* A new round: its candidates follow. */
  g_ptr_array_set_size (conn->local_candidates, 0);
  send_credentials (conn, FALSE);
}

static void
on_local_candidate (NbIceSession     *session,
                    const char       *candidate,
                    NbClientPeerConn *conn)
{
  g_ptr_array_add (conn->local_candidates, g_strdup (candidate));
  signal_send (conn, nb_signal_message_new_candidate (nb_ice_session_get_session_id (session),
                                                      candidate));
}

static void
update_path (NbClientPeerConn *conn)
{
  NbIceCandidateType local_type = NB_ICE_CANDIDATE_TYPE_HOST;
  NbIceCandidateType remote_type = NB_ICE_CANDIDATE_TYPE_HOST;
  g_autoptr(GInetSocketAddress) local = NULL;
  g_autoptr(GInetSocketAddress) remote = NULL;
  g_autofree char *l = NULL, *r = NULL;
  NbClientConnectionType type;
  const char *relay = NULL;

  /* Through the WebSocket relay: no ICE pair and no endpoints (status
   * prints "-"), the relay is the address. */
  if (conn->on_relay)
    {
      nb_client_peer_set_path (conn->status, NB_CLIENT_CONNECTION_TYPE_RELAYED,
                               NB_ICE_CANDIDATE_TYPE_HOST, NB_ICE_CANDIDATE_TYPE_HOST,
                               NULL, NULL, conn->remote_relay);
      return;
    }
  /* The session hands its transport over as it selects the pair, a
   * moment before it calls itself connected. */
  if ((nb_ice_session_get_state (conn->session) != NB_ICE_SESSION_STATE_CONNECTED &&
       nb_ice_session_get_transport_kind (conn->session) == NB_ICE_TRANSPORT_NONE) ||
      !nb_ice_session_get_selected_pair (conn->session, &local_type, &local, &remote_type,
                                         &remote))
    {
      nb_client_peer_set_path (conn->status, NB_CLIENT_CONNECTION_TYPE_NONE,
                               NB_ICE_CANDIDATE_TYPE_HOST, NB_ICE_CANDIDATE_TYPE_HOST,
                               NULL, NULL, NULL);
      return;
    }
  l = g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (local));
  r = g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (remote));
  type = local_type == NB_ICE_CANDIDATE_TYPE_RELAYED || remote_type == NB_ICE_CANDIDATE_TYPE_RELAYED
         ? NB_CLIENT_CONNECTION_TYPE_RELAYED : NB_CLIENT_CONNECTION_TYPE_P2P;
  /* The relayed candidate is the address the relay gave. */
  if (local_type == NB_ICE_CANDIDATE_TYPE_RELAYED)
    relay = l;
  else if (remote_type == NB_ICE_CANDIDATE_TYPE_RELAYED)
    relay = r;
  nb_client_peer_set_path (conn->status, type, local_type, remote_type, l, r, relay);
}

/* Connected while any path carries the WireGuard peer: ICE's or the
 * relay's. */
static void
update_state (NbClientPeerConn *conn)
{
  NbIceSessionState state = conn->session != NULL ? nb_ice_session_get_state (conn->session)
                                                  : NB_ICE_SESSION_STATE_CLOSED;

  if (conn->on_relay || state == NB_ICE_SESSION_STATE_CONNECTED ||
      (conn->session != NULL &&
       nb_ice_session_get_transport_kind (conn->session) != NB_ICE_TRANSPORT_NONE))
    nb_client_peer_set_state (conn->status, NB_CLIENT_PEER_STATE_CONNECTED);
  else if (state == NB_ICE_SESSION_STATE_CLOSED)
    nb_client_peer_set_state (conn->status, NB_CLIENT_PEER_STATE_IDLE);
  else
    nb_client_peer_set_state (conn->status, NB_CLIENT_PEER_STATE_CONNECTING);
}

static void close_session (NbClientPeerConn *conn);

static gboolean
on_relay_fallback (gpointer user_data)
{
  NbClientPeerConn *conn = user_data;

  g_clear_pointer (&conn->relay_source, g_source_unref);
  g_message ("Peer %s: no direct path after %u round%s: through the relay alone",
             nb_key_get_public_base64 (conn->remote_key), conn->failures,
             conn->failures == 1 ? "" : "s");
  conn->relay_only = TRUE;
  close_session (conn);
  g_clear_pointer (&conn->remote_session_id, g_free);
  conn_start_session (conn);
  return G_SOURCE_REMOVE;
}

static void
on_state (NbIceSession     *session,
          GParamSpec       *pspec,
          NbClientPeerConn *conn)
{
  NbIceSessionState state = nb_ice_session_get_state (session);

  if (state == NB_ICE_SESSION_STATE_FAILED)
    {
      conn->failures++;
      /* Not from within the session's own notification: from the main
       * loop, which closes it and makes a relay-only one. */
      if (!conn->relay_only && conn->relay == NULL && conn->context->turns->len > 0 &&
          conn->relay_source == NULL &&
          conn->failures >= RELAY_FALLBACK_FAILURES)
        {
          conn->relay_source = g_idle_source_new ();
          g_source_set_callback (conn->relay_source, on_relay_fallback, conn, NULL);
          g_source_set_static_name (conn->relay_source, "[netbird] client relay fallback");
          g_source_attach (conn->relay_source, g_main_context_get_thread_default ());
        }
    }
  switch (state)
    {
    case NB_ICE_SESSION_STATE_CONNECTED:
      conn->failures = 0;
      conn->connected_at = g_get_real_time ();
      update_path (conn);
      update_state (conn);
      g_debug ("Peer %s: connected (%s)", nb_key_get_public_base64 (conn->remote_key),
               nb_client_peer_get_remote_endpoint (conn->status));
      break;
    case NB_ICE_SESSION_STATE_CLOSED:
      conn->connected_at = 0;
      update_path (conn);
      update_state (conn);
      break;
    case NB_ICE_SESSION_STATE_NEW:
    case NB_ICE_SESSION_STATE_GATHERING:
    case NB_ICE_SESSION_STATE_CONNECTING:
    case NB_ICE_SESSION_STATE_FAILED:
    default:
      conn->connected_at = 0;
      update_path (conn);
      update_state (conn);
      break;
    }
}

static gboolean
on_first_handshake (gpointer user_data)
{
  NbClientPeerConn *conn = user_data;

  g_clear_pointer (&conn->handshake_source, g_source_unref);
  /* No packet made one over this path yet, or this side never measured
   * its round trip: one now. */
  if (nb_wg_peer_get_last_handshake_time (conn->wg_peer) < conn->attached_at ||
      nb_wg_peer_get_handshake_rtt (conn->wg_peer) == 0)
    nb_wg_peer_initiate_handshake (conn->wg_peer);
  return G_SOURCE_REMOVE;
}

static void
cancel_late_handshake (NbClientPeerConn *conn)
{
  if (conn->handshake_source == NULL)
    return;
  g_source_destroy (conn->handshake_source);
  g_clear_pointer (&conn->handshake_source, g_source_unref);
}

/* The WireGuard peer has a path now, after none. Packets waiting for it
 * start a handshake at once (WireGuard stages them); without any, one
 * comes a moment later so the tunnel is ready (and its latency known)
 * before the first packet. A path that replaces another (relay to ICE,
 * ICE to relay) needs none: the session goes on over the new one.
 *
 * Not at once, and not from both sides together: two initiations that
 * cross each overwrite the other side's handshake state with a
 * responder's, so both responses are refused and both wait REKEY_TIMEOUT
 * (5 s) to retry (WireGuard paper §5.1, one handshake state per peer). A
 * ping sent as the path came up starts one from one side; our own from
 * the other side at the same moment would cross it. So: the
 * ICE-controlling side (the greater key) after 0.5 s, the controlled side
 * after 1.5 s, each only when no handshake completed over the path yet or
 * when it has no round trip of its own to show. */
static void
path_attached (NbClientPeerConn *conn)
{
  if (conn->has_path)
    return;
  conn->has_path = TRUE;
  cancel_late_handshake (conn);
  conn->attached_at = g_get_real_time ();
  conn->handshake_source =
    g_timeout_source_new (nb_ice_session_get_controlling (conn->session)
                          ? FIRST_HANDSHAKE_CONTROLLING_MS : FIRST_HANDSHAKE_CONTROLLED_MS);
  g_source_set_callback (conn->handshake_source, on_first_handshake, conn, NULL);
  g_source_set_static_name (conn->handshake_source, "[netbird] client first handshake");
  g_source_attach (conn->handshake_source, g_main_context_get_thread_default ());
}

static void
path_detached (NbClientPeerConn *conn)
{
  conn->has_path = FALSE;
  cancel_late_handshake (conn);
}

static void
on_transport_kind (NbIceSession     *session,
                   GParamSpec       *pspec,
                   NbClientPeerConn *conn)
{
  if (nb_ice_session_get_transport_kind (session) == NB_ICE_TRANSPORT_NONE)
    {
      /* The session took its transport away (failed, restarted): the
       * relay's comes back when there is one. */
      conn_update_relay (conn);
      if (!conn->on_relay)
        path_detached (conn);
      return;
    }
  /* A new path, not the same one changing hands within the session. */
  if (conn->on_relay || !conn->has_path)
    {
      conn->direct_at = g_get_real_time ();
      conn->direct_s = (gint) (g_get_monotonic_time () / G_USEC_PER_SEC);
    }
  if (conn->on_relay)
    {
      /* The session put its transport in the relay's place (which took
       * its receiver with it): the relay is listened to still. */
      conn->on_relay = FALSE;
      g_message ("Peer %s: a direct path: off the relay",
                 nb_key_get_public_base64 (conn->remote_key));
      standby_start (conn);
    }
  path_attached (conn);
  update_path (conn);
  update_state (conn);
}

/* Listens on the relay while ICE has the peer (the relay's transport,
 * once under the peer, replaces this receiver with its own). */
static void
standby_start (NbClientPeerConn *conn)
{
  if (conn->relay == NULL || conn->on_relay || conn->standby != NULL)
    return;
  conn->standby = g_atomic_rc_box_new0 (RelayStandby);
  g_weak_ref_init (&conn->standby->device, conn->context->device);
  g_weak_ref_init (&conn->standby->wg_peer, conn->wg_peer);
  nb_relay_client_set_receiver (conn->relay, conn->remote_key, relay_standby_receive,
                                g_atomic_rc_box_acquire (conn->standby), relay_standby_release);
}

/* @remove: the receiver is still the relay's (not replaced by the
 * transport's). */
static void
standby_stop (NbClientPeerConn *conn,
              gboolean          remove)
{
  if (conn->standby == NULL)
    return;
  if (remove)
    nb_relay_client_set_receiver (conn->relay, conn->remote_key, NULL, NULL, NULL);
  g_clear_pointer (&conn->standby, relay_standby_release);
}

/* The relay's transport under the WireGuard peer whenever both sides have
 * a home relay and ICE has no transport there. */
static void
conn_update_relay (NbClientPeerConn *conn)
{
  NbClientConnContext *ctx = conn->context;
  NbRelayClient *wanted = NULL;

  if (ctx->home_relay != NULL && conn->remote_relay != NULL)
    wanted = g_hash_table_lookup (ctx->relays, conn->remote_relay);
  if (wanted != conn->relay)
    {
      if (conn->relay != NULL)
        {
          standby_stop (conn, TRUE);
          if (conn->on_relay)
            {
              nb_wg_peer_set_transport (conn->wg_peer, NULL);
              conn->on_relay = FALSE;
              path_detached (conn);
            }
          nb_relay_client_unwatch_peer (conn->relay, conn->remote_key);
          g_clear_object (&conn->relay);
        }
      if (wanted != NULL)
        {
          conn->relay = g_object_ref (wanted);
          nb_relay_client_watch_peer (wanted, conn->remote_key);
        }
      else if (conn->remote_relay != NULL && ctx->home_relay != NULL)
        g_message ("Peer %s: its relay %s is none of the map's",
                   nb_key_get_public_base64 (conn->remote_key), conn->remote_relay);
    }
  if (conn->relay != NULL && !conn->on_relay && conn->session != NULL &&
      nb_ice_session_get_transport_kind (conn->session) == NB_ICE_TRANSPORT_NONE)
    {
      /* The transport's receiver replaces the standby's. */
      standby_stop (conn, FALSE);
      nb_wg_peer_set_transport (conn->wg_peer,
                                nb_relay_client_new_wg_transport (conn->relay, conn->remote_key,
                                                                  ctx->device, conn->wg_peer));
      conn->on_relay = TRUE;
      conn->relay_switches++;
      g_message ("Peer %s: through the relay %s", nb_key_get_public_base64 (conn->remote_key),
                 conn->remote_relay);
      path_attached (conn);
    }
  standby_start (conn);
  if (conn->session != NULL)
    {
      update_path (conn);
      update_state (conn);
    }
}

void
nb_client_peer_conn_relays_changed (NbClientPeerConn *conn)
{
  conn_update_relay (conn);
  /* The peer learns this side's home relay (an offer of the same round
   * changes nothing else there). */
  if (nb_ice_session_get_session_id (conn->session) != NULL)
    send_credentials (conn, FALSE);
}

static void
on_pair (NbIceSession     *session,
         NbClientPeerConn *conn)
{
  update_path (conn);
}

/* Latency: the round trip of this side's last handshake (initiation to
 * response), measured by the WireGuard peer. */
static void
on_handshake_completed (NbWgPeer         *wg_peer,
                        NbClientPeerConn *conn)
{
  gint64 rtt = nb_wg_peer_get_handshake_rtt (wg_peer);

  if (rtt > 0)
    nb_client_peer_set_latency (conn->status, rtt);
}

static void
close_session (NbClientPeerConn *conn)
{
  if (conn->session == NULL)
    return;
  g_signal_handlers_disconnect_by_data (conn->session, conn);
  /* The WireGuard peer and its device are let go of now, not with the
   * session: the device (and its TUN interface) goes at down. */
  nb_ice_session_set_wg_peer (conn->session, NULL, NULL);
  nb_ice_session_close (conn->session);
  /* Closed maybe from within its own notification (a client brought down
   * from a peer's status handler): it goes once that returned. */
  nb_client_unref_later (g_steal_pointer (&conn->session));
}

static void
conn_start_session (NbClientPeerConn *conn)
{
  NbClientConnContext *ctx = conn->context;
  g_autoptr(GError) error = NULL;

  conn->session = nb_ice_session_new (ctx->key, conn->remote_key);
  conn->servers_stale = FALSE;
  for (guint i = 0; i < ctx->stuns->len; i++)
    {
      NbClientIceServer *s = ctx->stuns->pdata[i];

      if (!nb_ice_session_add_stun_server (conn->session, s->uri, &error))
        {
          g_message ("STUN server %s: %s", s->uri, error->message);
          g_clear_error (&error);
        }
    }
  for (guint i = 0; i < ctx->turns->len; i++)
    {
      NbClientIceServer *s = ctx->turns->pdata[i];

      if (!nb_ice_session_add_turn_server (conn->session, s->uri, s->user, s->password, &error))
        {
          g_message ("TURN server %s: %s", s->uri, error->message);
          g_clear_error (&error);
        }
    }
  for (guint i = 0; i < ctx->local_addresses->len; i++)
    nb_ice_session_add_local_address (conn->session, ctx->local_addresses->pdata[i]);
  nb_ice_session_set_relay_only (conn->session, conn->relay_only);
  nb_ice_session_set_wg_peer (conn->session, ctx->device, conn->wg_peer);
  g_ptr_array_set_size (conn->local_candidates, 0);
  g_signal_connect (conn->session, "local-credentials", G_CALLBACK (on_local_credentials), conn);
  g_signal_connect (conn->session, "local-candidate", G_CALLBACK (on_local_candidate), conn);
  g_signal_connect (conn->session, "notify::state", G_CALLBACK (on_state), conn);
  g_signal_connect (conn->session, "selected-pair-changed", G_CALLBACK (on_pair), conn);
  g_signal_connect (conn->session, "notify::transport-kind", G_CALLBACK (on_transport_kind), conn);
  /* The old session took its transport with it: the relay's replaces it
   * (the WireGuard session goes on), or the peer has no path until ICE
   * finds one. */
  conn_update_relay (conn);
  if (!conn->on_relay)
    path_detached (conn);
  if (!nb_ice_session_start (conn->session, &error))
    g_message ("Peer %s: ICE does not start: %s", nb_key_get_public_base64 (conn->remote_key),
               error->message);
}

/* A new round: a fresh session when the servers changed since (TURN
 * credentials expire), else an ICE restart of the one there is. */
static void
new_round (NbClientPeerConn *conn,
           const char       *why)
{
  g_autoptr(GError) error = NULL;

  conn->rounds++;
  conn->connected_at = 0;
  g_message ("Peer %s: %s: a new ICE round", nb_key_get_public_base64 (conn->remote_key), why);
  if (!conn->servers_stale && nb_ice_session_restart (conn->session, &error))
    return;
  if (error != NULL)
    g_debug ("Peer %s: no ICE restart (%s): a new session",
             nb_key_get_public_base64 (conn->remote_key), error->message);
  close_session (conn);
  g_clear_pointer (&conn->remote_session_id, g_free);
  conn_start_session (conn);
}

void
nb_client_peer_conn_check (NbClientPeerConn *conn,
                           gint64            now)
{
  gint64 handshake = nb_wg_peer_get_last_handshake_time (conn->wg_peer);
  guint64 rx = nb_wg_peer_get_rx_bytes (conn->wg_peer);
  guint64 tx = nb_wg_peer_get_tx_bytes (conn->wg_peer);
  gint64 silent;

  if (rx != conn->rx_bytes)
    {
      conn->rx_bytes = rx;
      conn->rx_at = now;
      conn->tx_at_rx = tx;
    }
  /* With the relay to fall back to, a direct path is judged by what it
   * delivers (a switch to it makes no handshake), whatever ICE says of
   * it: a restarting agent (the peer's new credentials restart it) keeps
   * sending on its old pair until a new one is nominated. So a new
   * session, not a restart, which takes the pair away. */
  if (conn->relay != NULL)
    {
      silent = now - MAX (conn->rx_at, conn->direct_at);
      if (conn->on_relay ||
          nb_ice_session_get_transport_kind (conn->session) == NB_ICE_TRANSPORT_NONE)
        return;
      if (conn->standby != NULL &&
          g_atomic_int_get (&conn->standby->received_s) > conn->direct_s + CHECK_SETTLE_S)
        {
          conn->servers_stale = TRUE;
          new_round (conn, "the peer came through the relay: back to it");
        }
      else if (silent > DIRECT_SILENCE_S * G_USEC_PER_SEC ||
               (silent > DATA_SILENCE_S * G_USEC_PER_SEC &&
                tx - conn->tx_at_rx > UNANSWERED_BYTES))
        {
          conn->servers_stale = TRUE;
          new_round (conn, "nothing came over the direct path: back to the relay");
        }
      return;
    }
  if (conn->connected_at == 0 ||
      nb_ice_session_get_state (conn->session) != NB_ICE_SESSION_STATE_CONNECTED)
    return;
  if (handshake < conn->connected_at)
    {
      if (now - conn->connected_at > FIRST_HANDSHAKE_S * G_USEC_PER_SEC)
        new_round (conn, "no WireGuard handshake over the new path");
      return;
    }
  if (now - handshake > HANDSHAKE_DEADLINE_S * G_USEC_PER_SEC)
    new_round (conn, "WireGuard handshakes stopped");
}

void
nb_client_peer_conn_servers_changed (NbClientPeerConn *conn)
{
  conn->servers_stale = TRUE;
}

guint
nb_client_peer_conn_get_rounds (NbClientPeerConn *conn)
{
  return conn->rounds;
}

guint
nb_client_peer_conn_get_relay_switches (NbClientPeerConn *conn)
{
  return conn->relay_switches;
}

NbKey *
nb_client_peer_conn_get_remote_key (NbClientPeerConn *conn)
{
  return conn->remote_key;
}

NbClientPeerConn *
nb_client_peer_conn_new (NbClientConnContext *context,
                         NbKey               *remote_key,
                         NbWgPeer            *wg_peer,
                         NbClientPeer        *status)
{
  NbClientPeerConn *conn = g_new0 (NbClientPeerConn, 1);

  conn->context = context;
  conn->remote_key = g_object_ref (remote_key);
  conn->wg_peer = wg_peer;
  conn->status = g_object_ref (status);
  conn->local_candidates = g_ptr_array_new_with_free_func (g_free);
  nb_wg_peer_set_persistent_keepalive (wg_peer, KEEPALIVE_S);
  nb_client_peer_set_wg_peer (status, wg_peer);
  g_signal_connect (wg_peer, "handshake-completed", G_CALLBACK (on_handshake_completed), conn);
  conn_start_session (conn);
  return conn;
}

void
nb_client_peer_conn_free (NbClientPeerConn *conn)
{
  if (conn == NULL)
    return;
  cancel_late_handshake (conn);
  if (conn->relay_source != NULL)
    {
      g_source_destroy (conn->relay_source);
      g_clear_pointer (&conn->relay_source, g_source_unref);
    }
  close_session (conn);
  if (conn->relay != NULL)
    {
      standby_stop (conn, TRUE);
      if (conn->on_relay)
        nb_wg_peer_set_transport (conn->wg_peer, NULL);
      nb_relay_client_unwatch_peer (conn->relay, conn->remote_key);
      g_clear_object (&conn->relay);
    }
  g_free (conn->remote_relay);
  g_signal_handlers_disconnect_by_data (conn->wg_peer, conn);
  nb_client_peer_set_wg_peer (conn->status, NULL);
  nb_client_peer_set_state (conn->status, NB_CLIENT_PEER_STATE_IDLE);
  g_clear_object (&conn->status);
  g_clear_object (&conn->remote_key);
  g_clear_pointer (&conn->local_candidates, g_ptr_array_unref);
  g_free (conn->remote_session_id);
  g_free (conn);
}

void
nb_client_ice_server_free (NbClientIceServer *server)
{
  if (server == NULL)
    return;
  g_free (server->uri);
  g_free (server->user);
  g_free (server->password);
  g_free (server);
}
