/* nb-signal-server-conn.c: one peer's connection to the Signal server:
 * proof of key, rate limit, forwarding
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-signal"

#include <string.h>

#include "nb-signal-server-private.h"
#include "nb-text-private.h"

/* libsoup's own bound on a reassembled message: past it, it closes with
 * 1009 itself. Ours (NB_SIGNAL_PROTO_MAX_FRAME_SIZE) is checked first, so
 * the drop is counted; this only keeps a liar from making libsoup buffer
 * megabytes. */
#define SOUP_MAX_PAYLOAD (64 * 1024)
/* Pings keep NATs from dropping idle peers. */
#define KEEPALIVE_SECONDS 20

typedef enum {
  PHASE_HELLO,       /* waiting for hello */
  PHASE_PROOF,       /* challenge sent, waiting for the proof */
  PHASE_REGISTERED,
  PHASE_CLOSING,     /* we closed it; frames still in flight are ignored */
} Phase;

struct _NbSignalConn
{
  NbSignalServer *server;
  SoupWebsocketConnection *ws;
  char *remote;               /* the peer's address, for logs */
  Phase phase;
  NbKey *claimed;             /* from hello on */
  const char *key;            /* registered: the claimed key's base64 (its own string) */
  guint8 nonce[NB_SIGNAL_PROTO_CHALLENGE_LEN];
  guint auth_timeout;
  NbSignalRate rate;
};

/* The one way out to a peer. */
static void
conn_send (NbSignalConn *conn,
           GBytes       *frame)
{
  if (soup_websocket_connection_get_state (conn->ws) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_send_message (conn->ws, SOUP_WEBSOCKET_DATA_TEXT, frame);
}

static void
conn_send_frame (NbSignalConn        *conn,
                 const NbSignalFrame *frame)
{
  g_autoptr(GBytes) bytes = nb_signal_frame_to_bytes (frame);

  conn_send (conn, bytes);
}

static void
unregister (NbSignalConn *conn)
{
  if (conn->key != NULL &&
      g_hash_table_lookup (conn->server->peers, conn->key) == conn)
    g_hash_table_remove (conn->server->peers, conn->key);
  conn->key = NULL;
}

void
nb_signal_conn_close (NbSignalConn   *conn,
                      NbSignalClosed  why,
                      gushort         code,
                      const char     *reason)
{
  if (conn->phase == PHASE_CLOSING)
    return;
  conn->phase = PHASE_CLOSING;
  conn->server->counters.closed[why]++;
  g_clear_handle_id (&conn->auth_timeout, g_source_remove);
  unregister (conn);
  if (soup_websocket_connection_get_state (conn->ws) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (conn->ws, code, reason);
}

/* A frame the peer should not have sent: say why, then close. */
static void
refuse (NbSignalConn   *conn,
        NbSignalDrop    drop,
        NbSignalClosed  why,
        gushort         code,
        const char     *message)
{
  g_autofree char *text = nb_text_escape (message, -1, NB_TEXT_LOG_MAX);
  NbSignalFrame error = { .type = NB_SIGNAL_FRAME_ERROR, .error = text };

  conn->server->counters.drops[drop]++;
  g_debug ("Signal connection from %s closed: %s", conn->remote, text);
  /* The error frame is bounded like every other: cut the text to fit, at
   * a character's start so it stays UTF-8. */
  if (strlen (text) > NB_SIGNAL_PROTO_ERROR_MAX)
    *g_utf8_find_prev_char (text, text + NB_SIGNAL_PROTO_ERROR_MAX) = '\0';
  conn_send_frame (conn, &error);
  nb_signal_conn_close (conn, why, code, NULL);
}

static void
on_hello (NbSignalConn        *conn,
          const NbSignalFrame *frame)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *challenge = NULL;
  NbSignalFrame reply = { .type = NB_SIGNAL_FRAME_CHALLENGE };

  conn->claimed = nb_key_new_public_from_base64 (frame->key, &error);
  if (conn->claimed != NULL)
    challenge = nb_signal_challenge_new (conn->server->key, conn->claimed, conn->nonce, &error);
  if (challenge == NULL)
    {
      conn->server->counters.registrations_failed++;
      refuse (conn, NB_SIGNAL_DROP_MALFORMED, NB_SIGNAL_CLOSED_PROOF_FAILED,
              NB_SIGNAL_CLOSE_PROOF_FAILED, error->message);
      return;
    }
  reply.challenge = challenge;
  conn->phase = PHASE_PROOF;
  conn_send_frame (conn, &reply);
}

static void
on_proof (NbSignalConn        *conn,
          const NbSignalFrame *frame)
{
  NbSignalServer *server = conn->server;
  g_autoptr(GError) error = NULL;
  NbSignalConn *previous;
  NbSignalFrame reply = { .type = NB_SIGNAL_FRAME_REGISTERED };

  if (!nb_signal_challenge_verify (server->key, conn->claimed, conn->nonce, frame->proof,
                                   &error))
    {
      g_autofree char *message = g_strdup_printf ("The key %s was not proven: %s",
                                                  nb_key_get_public_base64 (conn->claimed),
                                                  error->message);

      server->counters.registrations_failed++;
      refuse (conn, NB_SIGNAL_DROP_UNEXPECTED, NB_SIGNAL_CLOSED_PROOF_FAILED,
              NB_SIGNAL_CLOSE_PROOF_FAILED, message);
      return;
    }

  g_clear_handle_id (&conn->auth_timeout, g_source_remove);
  conn->key = nb_key_get_public_base64 (conn->claimed);
  /* A second proven registration of a key replaces the first: the same
   * peer came back on a new connection before the old one was seen to
   * die. The old one is told why, so it does not fight back. */
  previous = g_hash_table_lookup (server->peers, conn->key);
  if (previous != NULL)
    {
      g_debug ("Signal peer %s registered again from %s; closing its connection from %s",
               conn->key, conn->remote, previous->remote);
      nb_signal_conn_close (previous, NB_SIGNAL_CLOSED_REPLACED, NB_SIGNAL_CLOSE_REPLACED,
                            "replaced by a newer registration of this key");
    }
  g_hash_table_insert (server->peers, (gpointer) conn->key, conn);
  conn->phase = PHASE_REGISTERED;
  server->counters.registrations++;

  reply.key = (char *) conn->key;
  conn_send_frame (conn, &reply);
}

static void
on_message_frame (NbSignalConn        *conn,
                  const NbSignalFrame *frame,
                  GBytes              *raw)
{
  NbSignalServer *server = conn->server;
  NbSignalConn *destination;

  /* The envelope's seal proves “from” to the receiver; checking it here
   * too keeps a registered peer from sending under another's name. */
  if (strcmp (frame->from, conn->key) != 0)
    {
      refuse (conn, NB_SIGNAL_DROP_WRONG_SENDER, NB_SIGNAL_CLOSED_WRONG_SENDER,
              SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION,
              "A message must be from the key this connection registered");
      return;
    }

  destination = g_hash_table_lookup (server->peers, frame->to);
  if (destination == NULL)
    {
      NbSignalFrame reply = { .type = NB_SIGNAL_FRAME_UNDELIVERABLE, .key = frame->to };

      server->counters.undeliverable++;
      conn_send_frame (conn, &reply);
      return;
    }
  /* Unchanged: the frame as it came, without a copy. */
  server->counters.forwarded++;
  conn_send (destination, raw);
}

static void
on_ws_message (SoupWebsocketConnection *ws,
               gint                     type,
               GBytes                  *message,
               gpointer                 user_data)
{
  NbSignalConn *conn = user_data;
  NbSignalServer *server = conn->server;
  g_autoptr(GError) error = NULL;
  g_autoptr(NbSignalFrame) frame = NULL;
  gsize len = 0;
  const char *data = g_bytes_get_data (message, &len);

  if (conn->phase == PHASE_CLOSING)
    return;

  switch (nb_signal_rate_take (&conn->rate, g_get_monotonic_time ()))
    {
    case NB_SIGNAL_RATE_PASS:
      break;
    case NB_SIGNAL_RATE_DROP:
      server->counters.drops[NB_SIGNAL_DROP_RATE_LIMITED]++;
      return;
    case NB_SIGNAL_RATE_FLOOD:
    default:
      server->counters.drops[NB_SIGNAL_DROP_RATE_LIMITED]++;
      g_debug ("Signal connection from %s closed: it kept sending over its rate limit",
               conn->remote);
      nb_signal_conn_close (conn, NB_SIGNAL_CLOSED_FLOOD, NB_SIGNAL_CLOSE_RATE_LIMITED,
                            "over the rate limit for too long");
      return;
    }

  if (len > NB_SIGNAL_PROTO_MAX_FRAME_SIZE)
    {
      g_autofree char *text = g_strdup_printf ("A frame of %" G_GSIZE_FORMAT " bytes is larger "
                                               "than the %d bytes allowed", len,
                                               NB_SIGNAL_PROTO_MAX_FRAME_SIZE);

      refuse (conn, NB_SIGNAL_DROP_OVERSIZE, NB_SIGNAL_CLOSED_OVERSIZE,
              SOUP_WEBSOCKET_CLOSE_TOO_BIG, text);
      return;
    }

  frame = nb_signal_frame_from_data (data, len, &error);
  if (frame == NULL)
    {
      refuse (conn, NB_SIGNAL_DROP_MALFORMED, NB_SIGNAL_CLOSED_MALFORMED,
              SOUP_WEBSOCKET_CLOSE_BAD_DATA, error->message);
      return;
    }

  if (conn->phase == PHASE_REGISTERED && frame->type == NB_SIGNAL_FRAME_MESSAGE)
    on_message_frame (conn, frame, message);
  else if (conn->phase == PHASE_HELLO && frame->type == NB_SIGNAL_FRAME_HELLO)
    on_hello (conn, frame);
  else if (conn->phase == PHASE_PROOF && frame->type == NB_SIGNAL_FRAME_PROOF)
    on_proof (conn, frame);
  else
    {
      g_autofree char *text =
        g_strdup_printf ("A “%s” frame does not belong here (%s)",
                         nb_signal_frame_type_to_string (frame->type),
                         conn->phase == PHASE_REGISTERED ? "registered: only messages"
                         : conn->phase == PHASE_PROOF ? "waiting for the proof"
                         : "waiting for hello");

      if (conn->phase != PHASE_REGISTERED)
        server->counters.registrations_failed++;
      refuse (conn, NB_SIGNAL_DROP_UNEXPECTED, NB_SIGNAL_CLOSED_UNEXPECTED,
              SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION, text);
    }
}

static void
on_ws_error (SoupWebsocketConnection *ws,
             GError                  *error,
             gpointer                 user_data)
{
  NbSignalConn *conn = user_data;
  g_autofree char *text = nb_text_escape (error->message, -1, NB_TEXT_LOG_MAX);

  /* libsoup closes the connection after this (a protocol error, a frame
   * over its own bound): only say so. */
  g_debug ("Signal connection from %s: %s", conn->remote, text);
}

static void
on_ws_closed (SoupWebsocketConnection *ws,
              gpointer                 user_data)
{
  NbSignalConn *conn = user_data;

  if (conn->phase != PHASE_CLOSING && soup_websocket_connection_get_close_code (ws) ==
      SOUP_WEBSOCKET_CLOSE_TOO_BIG)
    conn->server->counters.drops[NB_SIGNAL_DROP_OVERSIZE]++;
  g_debug ("Signal connection from %s closed (%u)", conn->remote,
           soup_websocket_connection_get_close_code (ws));
  g_hash_table_remove (conn->server->conns, conn);
}

static gboolean
on_auth_timeout (gpointer user_data)
{
  NbSignalConn *conn = user_data;

  conn->auth_timeout = 0;
  conn->server->counters.registrations_failed++;
  g_debug ("Signal connection from %s closed: no proven key in time", conn->remote);
  nb_signal_conn_close (conn, NB_SIGNAL_CLOSED_AUTH_TIMEOUT, NB_SIGNAL_CLOSE_AUTH_TIMEOUT,
                        "no proven key in time");
  return G_SOURCE_REMOVE;
}

void
nb_signal_conn_accept (NbSignalServer          *server,
                       SoupWebsocketConnection *ws,
                       const char              *remote)
{
  NbSignalConn *conn = g_new0 (NbSignalConn, 1);

  conn->server = server;
  conn->ws = g_object_ref (ws);
  conn->remote = g_strdup (remote != NULL ? remote : "?");
  conn->phase = PHASE_HELLO;
  nb_signal_rate_init (&conn->rate, server->rate_per_second, server->rate_burst,
                       g_get_monotonic_time ());

  soup_websocket_connection_set_max_incoming_payload_size (ws, SOUP_MAX_PAYLOAD);
  soup_websocket_connection_set_keepalive_interval (ws, KEEPALIVE_SECONDS);
  g_signal_connect (ws, "message", G_CALLBACK (on_ws_message), conn);
  g_signal_connect (ws, "error", G_CALLBACK (on_ws_error), conn);
  g_signal_connect (ws, "closed", G_CALLBACK (on_ws_closed), conn);
  conn->auth_timeout = g_timeout_add (server->auth_timeout_ms, on_auth_timeout, conn);

  server->counters.accepted++;
  g_hash_table_add (server->conns, conn);
}

void
nb_signal_conn_free (NbSignalConn *conn)
{
  g_clear_handle_id (&conn->auth_timeout, g_source_remove);
  unregister (conn);
  g_signal_handlers_disconnect_by_data (conn->ws, conn);
  if (soup_websocket_connection_get_state (conn->ws) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (conn->ws, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
  g_clear_object (&conn->ws);
  g_clear_object (&conn->claimed);
  g_free (conn->remote);
  g_free (conn);
}
