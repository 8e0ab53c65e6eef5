/* nb-signal-server-conn.c: one peer's connection to the Signal server:
 * proof of key, rate limit, forwarding
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-signal"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>

#include "nb-signal-server-private.h"
#include "nb-text-private.h"

/* libsoup's own bound on a reassembled message: past it, it closes with
 * 1009 itself. Ours (NB_SIGNAL_PROTO_MAX_FRAME_SIZE) is checked first, so
 * the drop is counted; this only keeps a liar from making libsoup buffer
 * megabytes. */
#define SOUP_MAX_PAYLOAD (64 * 1024)
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
  /* The service base's side of the WebSocket: the bounded send queue and
   * the authentication deadline (NB_SERVICE_CLOSE_AUTH_TIMEOUT). */
  NbServiceChannel *channel;
  NbSignalRate rate;
  int fd;                     /* the TCP socket under the WebSocket, or -1 */
  gboolean corked;
  gint64 last_seen_us;        /* the last frame or pong from the peer */
};

/* The frames forwarded in one main-loop iteration go out in as few TCP
 * segments as they fill: libsoup writes each frame with a send() of its
 * own, and on a busy server most of the CPU went into transmitting each
 * one (the send path, and on loopback the receiver's too). A destination
 * is corked (tcp(7) TCP_CORK: full segments still leave at once) when the
 * first frame of an iteration is forwarded to it, and uncorked at the
 * start of the next iteration, which pushes out what is left. The uncork
 * runs at high priority: at the default one, behind the service base's
 * own sources, it came late enough that peers waited on corked frames
 * (half the rate at 8 messages in flight, with the server half idle). */
static gboolean
uncork_all (gpointer user_data)
{
  NbSignalServer *server = user_data;
  int off = 0;

  for (guint i = 0; i < server->corked->len; i++)
    {
      NbSignalConn *conn = server->corked->pdata[i];

      setsockopt (conn->fd, IPPROTO_TCP, TCP_CORK, &off, sizeof off);
      conn->corked = FALSE;
    }
  g_ptr_array_set_size (server->corked, 0);
  server->uncork_source = 0;
  return G_SOURCE_REMOVE;
}

static void
cork (NbSignalConn *conn)
{
  NbSignalServer *server = conn->server;
  int on = 1;

  if (conn->corked || conn->fd < 0 ||
      setsockopt (conn->fd, IPPROTO_TCP, TCP_CORK, &on, sizeof on) != 0)
    return;
  conn->corked = TRUE;
  g_ptr_array_add (server->corked, conn);
  if (server->uncork_source == 0)
    server->uncork_source = g_idle_add_full (G_PRIORITY_HIGH, uncork_all, server, NULL);
}

static void
uncork (NbSignalConn *conn)
{
  int off = 0;

  if (!conn->corked)
    return;
  setsockopt (conn->fd, IPPROTO_TCP, TCP_CORK, &off, sizeof off);
  conn->corked = FALSE;
  g_ptr_array_remove_fast (conn->server->corked, conn);
}

/* The one way out to a peer: its queue is bounded, and a peer that stops
 * reading is closed (NB_SERVICE_CLOSE_BACKLOG) rather than left to grow
 * the server. */
static gboolean
conn_send (NbSignalConn *conn,
           GBytes       *frame)
{
  if (conn->phase == PHASE_CLOSING ||
      soup_websocket_connection_get_state (conn->ws) != SOUP_WEBSOCKET_STATE_OPEN)
    return FALSE;
  if (!nb_service_channel_send (conn->channel, frame, NB_SERVICE_SEND_QUEUE))
    {
      conn->server->counters.drops[NB_SIGNAL_DROP_BACKLOG]++;
      return FALSE;
    }
  return TRUE;
}

static int
fd_of_stream (GIOStream *stream)
{
  while (stream != NULL && !G_IS_SOCKET_CONNECTION (stream))
    {
      GIOStream *base = NULL;

      if (G_IS_TLS_CONNECTION (stream))
        g_object_get (stream, "base-io-stream", &base, NULL);
      else if (g_object_class_find_property (G_OBJECT_GET_CLASS (stream), "base-iostream"))
        g_object_get (stream, "base-iostream", &base, NULL);
      if (base != NULL)
        g_object_unref (base); /* still owned by @stream */
      stream = base;
    }
  return stream != NULL
         ? g_socket_get_fd (g_socket_connection_get_socket (G_SOCKET_CONNECTION (stream))) : -1;
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
  unregister (conn);
  nb_service_channel_close (conn->channel, code, reason);
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

  nb_service_channel_set_authenticated (conn->channel);
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
  cork (destination);
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

  conn->last_seen_us = g_get_monotonic_time ();
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
on_ws_pong (SoupWebsocketConnection *ws,
            GBytes                  *message,
            gpointer                 user_data)
{
  NbSignalConn *conn = user_data;

  conn->last_seen_us = g_get_monotonic_time ();
}

void
nb_signal_conn_check_alive (NbSignalConn *conn,
                            gint64        now_us)
{
  gint64 silent_us = (gint64) conn->server->keepalive_seconds * NB_SIGNAL_SILENT_INTERVALS *
                     G_USEC_PER_SEC;

  if (conn->phase == PHASE_CLOSING || now_us - conn->last_seen_us < silent_us)
    return;
  g_debug ("Signal connection from %s closed: silent for %" G_GINT64_FORMAT " s", conn->remote,
           (now_us - conn->last_seen_us) / G_USEC_PER_SEC);
  /* Unregistered at once: messages to the key are answered undeliverable
   * from now on, not written into a connection nobody reads. */
  nb_signal_conn_close (conn, NB_SIGNAL_CLOSED_SILENT, NB_SIGNAL_CLOSE_SILENT,
                        "nothing received for too long");
}

static void
on_ws_error (SoupWebsocketConnection *ws,
             GError                  *error,
             gpointer                 user_data)
{
  NbSignalConn *conn = user_data;
  g_autofree char *text = nb_text_escape (error->message, -1, NB_TEXT_LOG_MAX);

  /* libsoup closes the connection after this (a protocol error, a frame
   * over its own bound). */
  g_debug ("Signal connection from %s: %s", conn->remote, text);
  if (conn->phase != PHASE_CLOSING &&
      g_error_matches (error, SOUP_WEBSOCKET_ERROR, SOUP_WEBSOCKET_CLOSE_TOO_BIG))
    {
      conn->server->counters.drops[NB_SIGNAL_DROP_OVERSIZE]++;
      nb_signal_conn_close (conn, NB_SIGNAL_CLOSED_OVERSIZE, SOUP_WEBSOCKET_CLOSE_TOO_BIG, NULL);
    }
}

static void
on_ws_closed (SoupWebsocketConnection *ws,
              gpointer                 user_data)
{
  NbSignalConn *conn = user_data;

  g_debug ("Signal connection from %s closed (%u)", conn->remote,
           soup_websocket_connection_get_close_code (ws));
  g_hash_table_remove (conn->server->conns, conn);
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
  conn->fd = fd_of_stream (soup_websocket_connection_get_io_stream (ws));
  nb_signal_rate_init (&conn->rate, server->rate_per_second, server->rate_burst,
                       g_get_monotonic_time ());

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
nb_signal_conn_free (NbSignalConn *conn)
{
  uncork (conn);
  unregister (conn);
  g_signal_handlers_disconnect_by_data (conn->ws, conn);
  /* Closes the connection (going away) if it is still open. */
  g_clear_pointer (&conn->channel, nb_service_channel_free);
  g_clear_object (&conn->ws);
  g_clear_object (&conn->claimed);
  g_free (conn->remote);
  g_free (conn);
}
