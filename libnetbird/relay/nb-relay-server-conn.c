/* nb-relay-server-conn.c: one peer's connection to the Relay server:
 * token, proof of key, forwarding, presence
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-relay"

#include <string.h>

#include "nb-relay-server-private.h"
#include "nb-relay-token-private.h"
#include "nb-signal-proto-private.h"
#include "nb-text-private.h"

/* libsoup's own bound on a reassembled message (it closes with 1009 past
 * it); ours is checked first so the drop is counted. */
#define SOUP_MAX_PAYLOAD (NB_RELAY_PROTO_MAX_FRAME + 1024)

typedef enum {
  PHASE_AUTH,     /* waiting for the token */
  PHASE_PROOF,    /* challenge sent, waiting for the proof */
  PHASE_READY,
  PHASE_CLOSING,  /* we closed it; frames still in flight are ignored */
} Phase;

struct _NbRelayConn
{
  NbRelayServer *server;
  SoupWebsocketConnection *ws;
  char *remote;
  Phase phase;
  NbKey *claimed;
  guint8 id[NB_RELAY_PEER_ID_LEN];
  gboolean registered;         /* in server->peers under id */
  guint8 nonce[NB_SIGNAL_PROTO_CHALLENGE_LEN];
  NbServiceChannel *channel;
  GByteArray *watching;        /* ids this peer watches, back to back */
  gint64 last_seen_us;
};

static gboolean
conn_send (NbRelayConn *conn,
           GBytes      *frame)
{
  if (conn->phase == PHASE_CLOSING ||
      soup_websocket_connection_get_state (conn->ws) != SOUP_WEBSOCKET_STATE_OPEN)
    return FALSE;
  return nb_service_channel_send (conn->channel, frame, NB_SERVICE_SEND_QUEUE);
}

static void
conn_send_id (NbRelayConn      *conn,
              NbRelayFrameType  type,
              const guint8     *id)
{
  g_autoptr(GBytes) frame = nb_relay_frame_new_id (type, id);

  conn_send (conn, frame);
}

/* Tells the peers that watch @id that it came or went. */
static void
notify_watchers (NbRelayServer    *server,
                 const guint8     *id,
                 NbRelayFrameType  type)
{
  GPtrArray *watchers = g_hash_table_lookup (server->watchers, id);
  g_autoptr(GBytes) frame = NULL;

  if (watchers == NULL)
    return;
  frame = nb_relay_frame_new_id (type, id);
  for (guint i = 0; i < watchers->len; i++)
    conn_send (watchers->pdata[i], frame);
}

static void
unwatch_all (NbRelayConn *conn)
{
  NbRelayServer *server = conn->server;

  for (guint off = 0; off < conn->watching->len; off += NB_RELAY_PEER_ID_LEN)
    {
      const guint8 *id = conn->watching->data + off;
      GPtrArray *watchers = g_hash_table_lookup (server->watchers, id);

      if (watchers == NULL)
        continue;
      g_ptr_array_remove_fast (watchers, conn);
      if (watchers->len == 0)
        g_hash_table_remove (server->watchers, id);
    }
  g_byte_array_set_size (conn->watching, 0);
}

static void
unregister (NbRelayConn *conn)
{
  if (!conn->registered)
    return;
  conn->registered = FALSE;
  if (g_hash_table_lookup (conn->server->peers, conn->id) == conn)
    {
      g_hash_table_remove (conn->server->peers, conn->id);
      notify_watchers (conn->server, conn->id, NB_RELAY_FRAME_OFFLINE);
    }
}

/* Says why in a close frame of the protocol, then closes the WebSocket
 * with the same code. */
static void
conn_close (NbRelayConn   *conn,
            NbRelayClosed  why,
            guint16        code,
            const char    *reason)
{
  g_autoptr(GBytes) frame = NULL;

  if (conn->phase == PHASE_CLOSING)
    return;
  frame = nb_relay_frame_new_close (code, reason);
  conn_send (conn, frame);
  conn->phase = PHASE_CLOSING;
  conn->server->counters.closed[why]++;
  g_debug ("Relay connection from %s closed (%u): %s", conn->remote, code, reason);
  unregister (conn);
  unwatch_all (conn);
  nb_service_channel_close (conn->channel, code, reason);
}

static void
on_auth (NbRelayConn        *conn,
         const NbRelayFrame *frame)
{
  NbRelayServer *server = conn->server;
  g_autoptr(GError) error = NULL;
  g_autofree char *challenge = NULL;
  g_autoptr(GBytes) reply = NULL;

  switch (nb_relay_token_verify (server->secret, frame->token_payload, frame->token_payload_len,
                                 frame->token_signature, frame->token_signature_len, frame->key,
                                 g_get_real_time () / G_USEC_PER_SEC))
    {
    case NB_RELAY_TOKEN_VALID:
      break;
    case NB_RELAY_TOKEN_EXPIRED:
      conn_close (conn, NB_RELAY_CLOSED_TOKEN_EXPIRED, NB_RELAY_CLOSE_TOKEN_EXPIRED,
                  "token expired: ask Management for a fresh one");
      return;
    case NB_RELAY_TOKEN_OTHER_PEER:
      conn_close (conn, NB_RELAY_CLOSED_TOKEN_OTHER_PEER, NB_RELAY_CLOSE_TOKEN_OTHER_PEER,
                  "token issued to another peer");
      return;
    case NB_RELAY_TOKEN_INVALID:
    default:
      conn_close (conn, NB_RELAY_CLOSED_TOKEN_INVALID, NB_RELAY_CLOSE_TOKEN_INVALID,
                  "token not signed with this relay's secret");
      return;
    }

  conn->claimed = nb_key_new_public_from_data (frame->key, 32, &error);
  if (conn->claimed != NULL)
    challenge = nb_signal_challenge_new (server->key, conn->claimed, conn->nonce, &error);
  if (challenge == NULL)
    {
      conn_close (conn, NB_RELAY_CLOSED_PROOF_FAILED, NB_RELAY_CLOSE_PROOF_FAILED,
                  error->message);
      return;
    }
  nb_relay_peer_id_of_key (frame->key, conn->id);
  conn->phase = PHASE_PROOF;
  reply = nb_relay_frame_new_text (NB_RELAY_FRAME_CHALLENGE, challenge);
  conn_send (conn, reply);
}

static void
on_proof (NbRelayConn        *conn,
          const NbRelayFrame *frame)
{
  NbRelayServer *server = conn->server;
  g_autoptr(GError) error = NULL;
  g_autofree char *proof = g_strndup (frame->text, frame->text_len);
  NbRelayConn *previous;

  if (!nb_signal_challenge_verify (server->key, conn->claimed, conn->nonce, proof, &error))
    {
      conn_close (conn, NB_RELAY_CLOSED_PROOF_FAILED, NB_RELAY_CLOSE_PROOF_FAILED,
                  "the token's key was not proven");
      return;
    }
  nb_service_channel_set_authenticated (conn->channel);
  /* The same peer again, on a new connection before the old one was seen
   * to die: the newer one wins, the older is told why. */
  previous = g_hash_table_lookup (server->peers, conn->id);
  if (previous != NULL)
    {
      previous->registered = FALSE;
      g_hash_table_remove (server->peers, conn->id);
      conn_close (previous, NB_RELAY_CLOSED_REPLACED, NB_RELAY_CLOSE_REPLACED,
                  "replaced by a newer connection of this peer");
    }
  g_hash_table_insert (server->peers, conn->id, conn);
  conn->registered = TRUE;
  conn->phase = PHASE_READY;
  server->counters.authenticated++;
  conn_send_id (conn, NB_RELAY_FRAME_AUTH_OK, conn->id);
  if (previous == NULL)
    notify_watchers (server, conn->id, NB_RELAY_FRAME_ONLINE);
}

static void
on_watch (NbRelayConn        *conn,
          const NbRelayFrame *frame)
{
  NbRelayServer *server = conn->server;

  /* A watch frame replaces the list: the client sends its whole set. */
  unwatch_all (conn);
  for (guint i = 0; i < frame->n_ids; i++)
    {
      const guint8 *id = frame->ids + i * NB_RELAY_PEER_ID_LEN;
      GPtrArray *watchers = g_hash_table_lookup (server->watchers, id);

      if (watchers == NULL)
        {
          watchers = g_ptr_array_new ();
          g_hash_table_insert (server->watchers, g_memdup2 (id, NB_RELAY_PEER_ID_LEN), watchers);
        }
      if (!g_ptr_array_find (watchers, conn, NULL))
        {
          g_ptr_array_add (watchers, conn);
          g_byte_array_append (conn->watching, id, NB_RELAY_PEER_ID_LEN);
        }
      conn_send_id (conn, g_hash_table_contains (server->peers, id) ? NB_RELAY_FRAME_ONLINE
                                                                      : NB_RELAY_FRAME_OFFLINE,
                    id);
    }
}

static void
on_transport (NbRelayConn        *conn,
              const NbRelayFrame *frame,
              gsize               len)
{
  NbRelayServer *server = conn->server;
  NbRelayConn *destination = g_hash_table_lookup (server->peers, frame->id);
  g_autoptr(GBytes) out = NULL;
  guint8 *buf;

  if (destination == NULL || destination->phase != PHASE_READY)
    {
      server->counters.undeliverable++;
      conn_send_id (conn, NB_RELAY_FRAME_OFFLINE, frame->id);
      return;
    }
  /* Datagrams: past the destination's queue limit they are lost, as on a
   * congested link; the destination keeps its connection. */
  if (nb_service_channel_get_queued (destination->channel) + len + 14 > server->queue_bytes)
    {
      server->counters.drops[NB_RELAY_DROP_BACKLOG]++;
      return;
    }
  /* The same frame with the source's id where the destination's was. */
  buf = g_malloc (len);
  nb_relay_frame_write_transport_header (buf, conn->id);
  memcpy (buf + NB_RELAY_PROTO_TRANSPORT_HEADER_LEN, frame->payload, frame->payload_len);
  out = g_bytes_new_take (buf, len);
  if (conn_send (destination, out))
    {
      server->counters.forwarded++;
      server->counters.forwarded_bytes += frame->payload_len;
    }
}

static void
on_ws_message (SoupWebsocketConnection *ws,
               gint                     type,
               GBytes                  *message,
               gpointer                 user_data)
{
  NbRelayConn *conn = user_data;
  NbRelayServer *server = conn->server;
  g_autoptr(GError) error = NULL;
  NbRelayFrame frame;
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (message, &len);

  conn->last_seen_us = g_get_monotonic_time ();
  if (conn->phase == PHASE_CLOSING)
    return;

  if (len > NB_RELAY_PROTO_MAX_FRAME)
    {
      server->counters.drops[NB_RELAY_DROP_OVERSIZE]++;
      conn_close (conn, NB_RELAY_CLOSED_OVERSIZE, SOUP_WEBSOCKET_CLOSE_TOO_BIG,
                  "frame larger than the relay allows");
      return;
    }
  if (type != SOUP_WEBSOCKET_DATA_BINARY || !nb_relay_frame_parse (data, len, &frame, &error))
    {
      g_autofree char *text = nb_text_escape (error != NULL ? error->message
                                              : "text frames are not spoken here", -1,
                                              NB_RELAY_PROTO_MAX_REASON);

      server->counters.drops[NB_RELAY_DROP_MALFORMED]++;
      conn_close (conn, NB_RELAY_CLOSED_PROTOCOL, NB_RELAY_CLOSE_PROTOCOL, text);
      return;
    }

  if (conn->phase == PHASE_READY && frame.type == NB_RELAY_FRAME_TRANSPORT)
    on_transport (conn, &frame, len);
  else if (frame.type == NB_RELAY_FRAME_PING)
    {
      g_autoptr(GBytes) pong = nb_relay_frame_new_ping (NB_RELAY_FRAME_PONG, frame.nonce);

      server->counters.pings++;
      conn_send (conn, pong);
    }
  else if (frame.type == NB_RELAY_FRAME_PONG)
    ;
  else if (conn->phase == PHASE_READY && frame.type == NB_RELAY_FRAME_WATCH)
    on_watch (conn, &frame);
  else if (conn->phase == PHASE_AUTH && frame.type == NB_RELAY_FRAME_AUTH)
    on_auth (conn, &frame);
  else if (conn->phase == PHASE_PROOF && frame.type == NB_RELAY_FRAME_PROOF)
    on_proof (conn, &frame);
  else
    {
      g_autofree char *text = g_strdup_printf ("a %s frame does not belong here",
                                               nb_relay_frame_type_to_string (frame.type));

      server->counters.drops[NB_RELAY_DROP_UNEXPECTED]++;
      conn_close (conn, NB_RELAY_CLOSED_PROTOCOL, NB_RELAY_CLOSE_PROTOCOL, text);
    }
}

static void
on_ws_pong (SoupWebsocketConnection *ws,
            GBytes                  *message,
            gpointer                 user_data)
{
  NbRelayConn *conn = user_data;

  conn->last_seen_us = g_get_monotonic_time ();
}

void
nb_relay_conn_check_alive (NbRelayConn *conn,
                           gint64       now_us)
{
  gint64 silent_us = (gint64) conn->server->keepalive_seconds * NB_RELAY_SILENT_INTERVALS *
                     G_USEC_PER_SEC;

  if (conn->phase == PHASE_CLOSING || now_us - conn->last_seen_us < silent_us)
    return;
  conn_close (conn, NB_RELAY_CLOSED_SILENT, NB_RELAY_CLOSE_SILENT,
              "nothing received for too long");
}

static void
on_ws_error (SoupWebsocketConnection *ws,
             GError                  *error,
             gpointer                 user_data)
{
  NbRelayConn *conn = user_data;
  g_autofree char *text = nb_text_escape (error->message, -1, NB_TEXT_LOG_MAX);

  g_debug ("Relay connection from %s: %s", conn->remote, text);
  if (conn->phase != PHASE_CLOSING &&
      g_error_matches (error, SOUP_WEBSOCKET_ERROR, SOUP_WEBSOCKET_CLOSE_TOO_BIG))
    {
      conn->server->counters.drops[NB_RELAY_DROP_OVERSIZE]++;
      conn->server->counters.closed[NB_RELAY_CLOSED_OVERSIZE]++;
      conn->phase = PHASE_CLOSING;
      unregister (conn);
      unwatch_all (conn);
    }
}

static void
on_ws_closed (SoupWebsocketConnection *ws,
              gpointer                 user_data)
{
  NbRelayConn *conn = user_data;

  g_debug ("Relay connection from %s closed (%u)", conn->remote,
           soup_websocket_connection_get_close_code (ws));
  g_hash_table_remove (conn->server->conns, conn);
}

void
nb_relay_conn_accept (NbRelayServer           *server,
                      SoupWebsocketConnection *ws,
                      const char              *remote)
{
  NbRelayConn *conn = g_new0 (NbRelayConn, 1);

  conn->server = server;
  conn->ws = g_object_ref (ws);
  conn->remote = g_strdup (remote != NULL ? remote : "?");
  conn->phase = PHASE_AUTH;
  conn->watching = g_byte_array_new ();
  soup_websocket_connection_set_max_incoming_payload_size (ws, SOUP_MAX_PAYLOAD);
  soup_websocket_connection_set_keepalive_interval (ws, server->keepalive_seconds);
  conn->last_seen_us = g_get_monotonic_time ();
  g_signal_connect (ws, "message", G_CALLBACK (on_ws_message), conn);
  g_signal_connect (ws, "pong", G_CALLBACK (on_ws_pong), conn);
  g_signal_connect (ws, "error", G_CALLBACK (on_ws_error), conn);
  g_signal_connect (ws, "closed", G_CALLBACK (on_ws_closed), conn);
  conn->channel = nb_service_channel_new (server->service, ws);
  server->counters.accepted++;
  g_hash_table_add (server->conns, conn);
}

void
nb_relay_conn_free (NbRelayConn *conn)
{
  unregister (conn);
  unwatch_all (conn);
  g_signal_handlers_disconnect_by_data (conn->ws, conn);
  g_clear_pointer (&conn->channel, nb_service_channel_free);
  g_clear_object (&conn->ws);
  g_clear_object (&conn->claimed);
  g_byte_array_unref (conn->watching);
  g_free (conn->remote);
  g_free (conn);
}
