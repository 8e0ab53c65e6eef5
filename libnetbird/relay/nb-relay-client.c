/* nb-relay-client.c: a peer's connection to a Relay server, on a thread of
 * its own
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-relay"

#include <errno.h>
#include <string.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <glib-unix.h>
#include <libsoup/soup.h>

#include "nb-key-private.h"
#include "nb-relay-client-private.h"
#include "nb-relay-enum-types.h"
#include "nb-relay-frame-private.h"
#include "nb-relay-server-private.h"
#include "nb-signal-proto-private.h"
#include "nb-text-private.h"

/**
 * NbRelayClient:
 *
 * A peer's connection to a Relay server (#NbRelayServer), over which it
 * exchanges WireGuard datagrams with peers it cannot reach directly.
 *
 * The client authenticates with the token Management hands out with each
 * network map (nb_relay_client_set_token(): call it on every map, so the
 * token in use never expires while the peer is online) and proves that it
 * holds @key. When the connection drops it reconnects, backing off from a
 * quarter of a second up to 30 seconds, and authenticates again with the
 * newest token. It tells when peers it watches
 * (nb_relay_client_watch_peer()) come online on the relay and go.
 *
 * The connection lives on a thread and #GMainContext of its own, so the
 * datagram path never waits for the caller's main loop: sends from any
 * thread take a preallocated slot of a fixed queue (a full queue drops, as
 * a congested link does), and datagrams received are handed to their
 * receiver on the client's thread from a preallocated buffer. Signals and
 * property notifications are emitted on the #GMainContext that was the
 * thread default when the client was made.
 */

#define RING_SLOTS 256
#define SLOT_SIZE (NB_RELAY_PROTO_TRANSPORT_HEADER_LEN + NB_RELAY_CLIENT_MAX_DATAGRAM)
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS (30 * 1000)
#define KEEPALIVE_SECONDS 10
#define SILENT_INTERVALS 3

typedef struct
{
  gatomicrefcount ref;
  NbRelayReceiveFunc func;
  gpointer user_data;
  GDestroyNotify destroy;
} Receiver;

typedef struct
{
  guint8 id[NB_RELAY_PEER_ID_LEN];
  NbKey *key;
  gboolean watched;
  gboolean online;
  Receiver *receiver;
} Peer;

struct _NbRelayClient
{
  GObject parent_instance;

  GMainContext *owner;     /* signals go here */
  char *url;
  GUri *uri;
  NbKey *key;

  /* The thread and what only it touches. */
  GThread *thread;
  GMainContext *context;
  GMainLoop *loop;
  SoupSession *session;
  SoupWebsocketConnection *ws;
  GCancellable *connecting;
  GSource *retry;
  GSource *alive;
  GSource *wake;
  guint backoff_ms;
  gint64 last_seen_us;
  guint8 *rx_buffer;
  int fd;                  /* the TCP socket under the WebSocket, or -1 */

  /* Shared, under lock. */
  GMutex lock;
  char *token_payload;
  char *token_signature;
  GTlsDatabase *tls_database;
  NbRelayClientState state;
  guint close_code;
  guint n_connects;
  GHashTable *peers;       /* id -> Peer, owned */

  /* The send queue, under ring_lock: slots [head, head + count). */
  GMutex ring_lock;
  guint8 *ring;
  guint16 ring_len[RING_SLOTS];
  guint ring_head;
  guint ring_count;
  gboolean ring_open;      /* authenticated: sends are taken */
  int wake_fd;

  guint64 tx;
  guint64 rx;
  guint64 tx_dropped;
};

enum {
  PROP_0,
  PROP_URL,
  PROP_STATE,
  N_PROPS
};
static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_PEER_ONLINE,
  SIGNAL_PEER_OFFLINE,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (NbRelayClient, nb_relay_client, G_TYPE_OBJECT)

G_DEFINE_QUARK (nb-relay-client-error-quark, nb_relay_client_error)

static void
receiver_unref (Receiver *receiver)
{
  if (receiver != NULL && g_atomic_ref_count_dec (&receiver->ref))
    {
      if (receiver->destroy != NULL)
        receiver->destroy (receiver->user_data);
      g_free (receiver);
    }
}

static void
peer_free (gpointer data)
{
  Peer *peer = data;

  receiver_unref (peer->receiver);
  g_clear_object (&peer->key);
  g_free (peer);
}

/* Under lock. */
static Peer *
peer_get (NbRelayClient *self,
          NbKey         *key)
{
  guint8 id[NB_RELAY_PEER_ID_LEN];
  Peer *peer;

  nb_relay_peer_id_of_key (nb_key_get_public_data (key, NULL), id);
  peer = g_hash_table_lookup (self->peers, id);
  if (peer == NULL)
    {
      peer = g_new0 (Peer, 1);
      memcpy (peer->id, id, sizeof id);
      peer->key = nb_key_dup_public (key);
      g_hash_table_insert (self->peers, peer->id, peer);
    }
  return peer;
}

/* Under lock: a peer neither watched nor received from is forgotten. */
static void
peer_maybe_forget (NbRelayClient *self,
                   Peer          *peer)
{
  if (!peer->watched && peer->receiver == NULL)
    g_hash_table_remove (self->peers, peer->id);
}

/* ---- emitting on the owner's context ---- */

typedef struct
{
  NbRelayClient *self;
  guint signal;      /* N_SIGNALS: notify "state" */
  NbKey *key;
} Emit;

static gboolean
emit_on_owner (gpointer user_data)
{
  Emit *emit = user_data;

  if (emit->signal == N_SIGNALS)
    g_object_notify_by_pspec (G_OBJECT (emit->self), properties[PROP_STATE]);
  else
    g_signal_emit (emit->self, signals[emit->signal], 0, emit->key);
  g_clear_object (&emit->key);
  g_object_unref (emit->self);
  g_free (emit);
  return G_SOURCE_REMOVE;
}

static void
emit_later (NbRelayClient *self,
            guint          signal,
            NbKey         *key)
{
  Emit *emit = g_new0 (Emit, 1);
  GSource *source = g_idle_source_new ();

  emit->self = g_object_ref (self);
  emit->signal = signal;
  emit->key = key != NULL ? g_object_ref (key) : NULL;
  g_source_set_callback (source, emit_on_owner, emit, NULL);
  g_source_attach (source, self->owner);
  g_source_unref (source);
}

static void
set_state (NbRelayClient      *self,
           NbRelayClientState  state)
{
  gboolean changed;

  g_mutex_lock (&self->lock);
  changed = self->state != state;
  self->state = state;
  g_mutex_unlock (&self->lock);
  if (changed)
    emit_later (self, N_SIGNALS, NULL);
}

/* ---- the client's thread ---- */

static void connect_now (NbRelayClient *self);

static void
send_frame (NbRelayClient *self,
            GBytes        *frame)
{
  if (self->ws != NULL &&
      soup_websocket_connection_get_state (self->ws) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_send_binary (self->ws, g_bytes_get_data (frame, NULL),
                                           g_bytes_get_size (frame));
}

/* The TCP socket under @stream (libsoup's wrapper, TLS or not), or -1. */
static int
fd_of_stream (GIOStream *stream)
{
  while (stream != NULL && !G_IS_SOCKET_CONNECTION (stream))
    {
      GIOStream *base = NULL;

      if (G_IS_TLS_CONNECTION (stream))
        g_object_get (stream, "base-io-stream", &base, NULL);
      else if (g_object_class_find_property (G_OBJECT_GET_CLASS (stream), "base-iostream"))
        g_object_get (stream, "base-iostream", &base, NULL); /* libsoup's wrapper */
      if (base != NULL)
        g_object_unref (base); /* still owned by @stream */
      stream = base;
    }
  return stream != NULL
         ? g_socket_get_fd (g_socket_connection_get_socket (G_SOCKET_CONNECTION (stream))) : -1;
}

/* libsoup queues whatever it is handed once the socket would block, without
 * bound: a relay that stops reading would grow the client. It only queues
 * while the kernel's send buffer is full, so datagrams are dropped, as a
 * congested link drops them, while the socket is not writable (poll(2):
 * tcp(7) reports POLLOUT once a third of the buffer is free again). */
static gboolean
congested (NbRelayClient *self)
{
  struct pollfd pfd = { .fd = self->fd, .events = POLLOUT };

  if (self->fd < 0 || poll (&pfd, 1, 0) < 0)
    return FALSE;
  return (pfd.revents & POLLOUT) == 0;
}

/* Sends what is queued; runs when the wake descriptor is written. */
static gboolean
on_wake (gint         fd,
         GIOCondition condition,
         gpointer     user_data)
{
  NbRelayClient *self = user_data;
  guint64 n;

  gboolean full = FALSE;

  if (read (self->wake_fd, &n, sizeof n) < 0 && errno != EAGAIN)
    g_debug ("Relay client: cannot read its wake descriptor: %s", g_strerror (errno));
  for (guint i = 0;; i++)
    {
      const guint8 *slot;
      gsize len;

      /* One look at the socket per 32 datagrams: a system call each. */
      if (i % 32 == 0)
        full = congested (self);

      g_mutex_lock (&self->ring_lock);
      if (self->ring_count == 0)
        {
          g_mutex_unlock (&self->ring_lock);
          break;
        }
      slot = self->ring + (gsize) self->ring_head * SLOT_SIZE;
      len = self->ring_len[self->ring_head];
      g_mutex_unlock (&self->ring_lock);

      /* The slot stays ours until it is released below: senders only
       * write past head + count. */
      if (full)
        __atomic_add_fetch (&self->tx_dropped, 1, __ATOMIC_RELAXED);
      else if (self->ws != NULL &&
               soup_websocket_connection_get_state (self->ws) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_send_binary (self->ws, slot, len);

      g_mutex_lock (&self->ring_lock);
      self->ring_head = (self->ring_head + 1) % RING_SLOTS;
      self->ring_count--;
      g_mutex_unlock (&self->ring_lock);
    }
  return G_SOURCE_CONTINUE;
}

static void
ring_set_open (NbRelayClient *self,
               gboolean       open)
{
  g_mutex_lock (&self->ring_lock);
  self->ring_open = open;
  g_mutex_unlock (&self->ring_lock);
}

static void
send_watch (NbRelayClient *self)
{
  g_autoptr(GByteArray) ids = g_byte_array_new ();
  g_autoptr(GBytes) frame = NULL;
  GHashTableIter iter;
  Peer *peer;

  g_mutex_lock (&self->lock);
  g_hash_table_iter_init (&iter, self->peers);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &peer))
    if (peer->watched && ids->len < NB_RELAY_PROTO_MAX_WATCH * NB_RELAY_PEER_ID_LEN)
      g_byte_array_append (ids, peer->id, NB_RELAY_PEER_ID_LEN);
  g_mutex_unlock (&self->lock);
  frame = nb_relay_frame_new_watch (ids->data, ids->len / NB_RELAY_PEER_ID_LEN);
  send_frame (self, frame);
}

static void
set_online (NbRelayClient *self,
            const guint8  *id,
            gboolean       online)
{
  g_autoptr(NbKey) key = NULL;
  Peer *peer;

  g_mutex_lock (&self->lock);
  peer = g_hash_table_lookup (self->peers, id);
  if (peer != NULL && peer->online != online)
    {
      peer->online = online;
      if (peer->watched)
        key = g_object_ref (peer->key);
    }
  g_mutex_unlock (&self->lock);
  if (key != NULL)
    emit_later (self, online ? SIGNAL_PEER_ONLINE : SIGNAL_PEER_OFFLINE, key);
}

static void
all_offline (NbRelayClient *self)
{
  g_autoptr(GPtrArray) gone = g_ptr_array_new_with_free_func (g_object_unref);
  GHashTableIter iter;
  Peer *peer;

  g_mutex_lock (&self->lock);
  g_hash_table_iter_init (&iter, self->peers);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &peer))
    {
      if (peer->online && peer->watched)
        g_ptr_array_add (gone, g_object_ref (peer->key));
      peer->online = FALSE;
    }
  g_mutex_unlock (&self->lock);
  for (guint i = 0; i < gone->len; i++)
    emit_later (self, SIGNAL_PEER_OFFLINE, gone->pdata[i]);
}

static void
deliver (NbRelayClient      *self,
         const NbRelayFrame *frame)
{
  Receiver *receiver = NULL;
  Peer *peer;

  g_mutex_lock (&self->lock);
  peer = g_hash_table_lookup (self->peers, frame->id);
  if (peer != NULL && peer->receiver != NULL)
    {
      receiver = peer->receiver;
      g_atomic_ref_count_inc (&receiver->ref);
    }
  g_mutex_unlock (&self->lock);
  if (receiver == NULL)
    return;
  /* The receiver may decrypt in place: a buffer of ours, not libsoup's. */
  memcpy (self->rx_buffer, frame->payload, frame->payload_len);
  __atomic_add_fetch (&self->rx, 1, __ATOMIC_RELAXED);
  receiver->func (self->rx_buffer, frame->payload_len, receiver->user_data);
  receiver_unref (receiver);
}

static void
on_ws_message (SoupWebsocketConnection *ws,
               gint                     type,
               GBytes                  *message,
               gpointer                 user_data)
{
  NbRelayClient *self = user_data;
  g_autoptr(GError) error = NULL;
  NbRelayFrame frame;
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (message, &len);

  self->last_seen_us = g_get_monotonic_time ();
  if (type != SOUP_WEBSOCKET_DATA_BINARY || !nb_relay_frame_parse (data, len, &frame, &error))
    {
      g_debug ("Relay %s sent a frame we cannot read: %s", self->url,
               error != NULL ? error->message : "a text frame");
      soup_websocket_connection_close (ws, NB_RELAY_CLOSE_PROTOCOL, "unreadable frame");
      return;
    }

  switch (frame.type)
    {
    case NB_RELAY_FRAME_TRANSPORT:
      deliver (self, &frame);
      break;
    case NB_RELAY_FRAME_CHALLENGE:
      {
        g_autofree char *challenge = g_strndup (frame.text, frame.text_len);
        g_autofree char *proof = nb_signal_challenge_answer (self->key, challenge, &error);
        g_autoptr(GBytes) reply = NULL;

        if (proof == NULL)
          {
            g_debug ("Relay %s sent a challenge this key cannot open: %s", self->url,
                     error->message);
            soup_websocket_connection_close (ws, NB_RELAY_CLOSE_PROOF_FAILED, NULL);
            return;
          }
        reply = nb_relay_frame_new_text (NB_RELAY_FRAME_PROOF, proof);
        send_frame (self, reply);
      }
      break;
    case NB_RELAY_FRAME_AUTH_OK:
      g_mutex_lock (&self->lock);
      self->n_connects++;
      self->close_code = 0;
      g_mutex_unlock (&self->lock);
      self->backoff_ms = 0;
      ring_set_open (self, TRUE);
      g_debug ("Relay %s: authenticated", self->url);
      send_watch (self);
      set_state (self, NB_RELAY_CLIENT_STATE_CONNECTED);
      break;
    case NB_RELAY_FRAME_ONLINE:
    case NB_RELAY_FRAME_OFFLINE:
      set_online (self, frame.id, frame.type == NB_RELAY_FRAME_ONLINE);
      break;
    case NB_RELAY_FRAME_PING:
      {
        g_autoptr(GBytes) pong = nb_relay_frame_new_ping (NB_RELAY_FRAME_PONG, frame.nonce);

        send_frame (self, pong);
      }
      break;
    case NB_RELAY_FRAME_CLOSE:
      {
        g_autofree char *reason = g_strndup (frame.text, frame.text_len);
        g_autofree char *escaped = nb_text_escape (reason, -1, NB_TEXT_LOG_MAX);

        g_mutex_lock (&self->lock);
        self->close_code = frame.code;
        g_mutex_unlock (&self->lock);
        g_info ("Relay %s closes the connection (%u): %s", self->url, frame.code, escaped);
      }
      break;
    default:
      break;
    }
}

static void
on_ws_pong (SoupWebsocketConnection *ws,
            GBytes                  *message,
            gpointer                 user_data)
{
  NbRelayClient *self = user_data;

  self->last_seen_us = g_get_monotonic_time ();
}

static gboolean
on_retry (gpointer user_data)
{
  NbRelayClient *self = user_data;

  g_clear_pointer (&self->retry, g_source_unref);
  connect_now (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_retry (NbRelayClient *self)
{
  guint delay;

  self->backoff_ms = self->backoff_ms == 0 ? BACKOFF_MIN_MS
                                           : MIN (self->backoff_ms * 2, BACKOFF_MAX_MS);
  /* ±25 %: the peers of a restarted relay do not all come back at once. */
  delay = self->backoff_ms * 3 / 4 + g_random_int_range (0, self->backoff_ms / 2 + 1);
  set_state (self, NB_RELAY_CLIENT_STATE_WAITING);
  if (self->retry != NULL)
    {
      g_source_destroy (self->retry);
      g_source_unref (self->retry);
    }
  self->retry = g_timeout_source_new (delay);
  g_source_set_callback (self->retry, on_retry, self, NULL);
  g_source_attach (self->retry, self->context);
}

static void
drop_connection (NbRelayClient *self)
{
  ring_set_open (self, FALSE);
  if (self->alive != NULL)
    {
      g_source_destroy (self->alive);
      g_clear_pointer (&self->alive, g_source_unref);
    }
  if (self->ws != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->ws, self);
      if (soup_websocket_connection_get_state (self->ws) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (self->ws, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
      g_clear_object (&self->ws);
    }
  self->fd = -1;
  all_offline (self);
}

static void
on_ws_closed (SoupWebsocketConnection *ws,
              gpointer                 user_data)
{
  NbRelayClient *self = user_data;
  guint code = soup_websocket_connection_get_close_code (ws);

  g_mutex_lock (&self->lock);
  if (code != 0 && self->close_code == 0)
    self->close_code = code;
  g_mutex_unlock (&self->lock);
  g_debug ("Relay %s: connection closed (%u)", self->url, code);
  drop_connection (self);
  schedule_retry (self);
}

static gboolean
on_alive_check (gpointer user_data)
{
  NbRelayClient *self = user_data;

  if (self->ws != NULL &&
      g_get_monotonic_time () - self->last_seen_us >
        (gint64) KEEPALIVE_SECONDS * SILENT_INTERVALS * G_USEC_PER_SEC)
    {
      g_debug ("Relay %s: silent for too long, reconnecting", self->url);
      drop_connection (self);
      schedule_retry (self);
    }
  return G_SOURCE_CONTINUE;
}

static void
on_connected (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  GCancellable *cancellable = user_data;
  NbRelayClient *self;
  g_autoptr(GError) error = NULL;
  SoupWebsocketConnection *ws;
  g_autoptr(GBytes) auth = NULL;

  ws = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  if (g_cancellable_is_cancelled (cancellable))
    {
      g_clear_object (&ws);
      g_object_unref (cancellable);
      return;
    }
  self = g_object_get_data (G_OBJECT (cancellable), "nb-relay-client");
  g_object_unref (cancellable);
  g_clear_object (&self->connecting);
  if (ws == NULL)
    {
      g_debug ("Relay %s: cannot connect: %s", self->url, error->message);
      schedule_retry (self);
      return;
    }
  self->ws = ws;
  self->fd = fd_of_stream (soup_websocket_connection_get_io_stream (ws));
  soup_websocket_connection_set_max_incoming_payload_size (ws, NB_RELAY_PROTO_MAX_FRAME + 1024);
  soup_websocket_connection_set_keepalive_interval (ws, KEEPALIVE_SECONDS);
  g_signal_connect (ws, "message", G_CALLBACK (on_ws_message), self);
  g_signal_connect (ws, "pong", G_CALLBACK (on_ws_pong), self);
  g_signal_connect (ws, "closed", G_CALLBACK (on_ws_closed), self);
  self->last_seen_us = g_get_monotonic_time ();
  self->alive = g_timeout_source_new_seconds (KEEPALIVE_SECONDS);
  g_source_set_callback (self->alive, on_alive_check, self, NULL);
  g_source_attach (self->alive, self->context);

  g_mutex_lock (&self->lock);
  auth = nb_relay_frame_new_auth (nb_key_get_public_data (self->key, NULL),
                                  self->token_payload, self->token_signature);
  g_mutex_unlock (&self->lock);
  send_frame (self, auth);
}

static void
connect_now (NbRelayClient *self)
{
  g_autoptr(SoupMessage) msg = NULL;
  gboolean have_token;

  if (self->ws != NULL || self->connecting != NULL)
    return;
  g_mutex_lock (&self->lock);
  have_token = self->token_payload != NULL;
  g_mutex_unlock (&self->lock);
  /* Without a token there is nothing to authenticate with: the next
   * nb_relay_client_set_token() connects. */
  if (!have_token)
    {
      set_state (self, NB_RELAY_CLIENT_STATE_WAITING);
      return;
    }
  set_state (self, NB_RELAY_CLIENT_STATE_CONNECTING);
  msg = soup_message_new_from_uri (SOUP_METHOD_GET, self->uri);
  self->connecting = g_cancellable_new ();
  g_object_set_data (G_OBJECT (self->connecting), "nb-relay-client", self);
  soup_session_websocket_connect_async (self->session, msg, NULL, NULL, G_PRIORITY_DEFAULT,
                                        self->connecting, on_connected,
                                        g_object_ref (self->connecting));
}

/* Reconnects at once when waiting (a fresh token may be what it waited for). */
static gboolean
kick (gpointer user_data)
{
  NbRelayClient *self = user_data;

  if (self->ws == NULL && self->connecting == NULL)
    {
      if (self->retry != NULL)
        {
          g_source_destroy (self->retry);
          g_clear_pointer (&self->retry, g_source_unref);
        }
      connect_now (self);
    }
  return G_SOURCE_REMOVE;
}

static gboolean
watch_changed (gpointer user_data)
{
  NbRelayClient *self = user_data;

  g_mutex_lock (&self->ring_lock);
  if (!self->ring_open)
    {
      g_mutex_unlock (&self->ring_lock);
      return G_SOURCE_REMOVE;
    }
  g_mutex_unlock (&self->ring_lock);
  send_watch (self);
  return G_SOURCE_REMOVE;
}

static gboolean
shut_down (gpointer user_data)
{
  NbRelayClient *self = user_data;

  if (self->connecting != NULL)
    {
      g_cancellable_cancel (self->connecting);
      g_clear_object (&self->connecting);
    }
  if (self->retry != NULL)
    {
      g_source_destroy (self->retry);
      g_clear_pointer (&self->retry, g_source_unref);
    }
  drop_connection (self);
  g_main_loop_quit (self->loop);
  return G_SOURCE_REMOVE;
}

static gpointer
run_thread (gpointer user_data)
{
  NbRelayClient *self = user_data;

  g_main_context_push_thread_default (self->context);
  self->session = soup_session_new_with_options ("timeout", 15, "idle-timeout", 0, NULL);
  g_mutex_lock (&self->lock);
  if (self->tls_database != NULL)
    soup_session_set_tls_database (self->session, self->tls_database);
  g_mutex_unlock (&self->lock);
  self->wake = g_unix_fd_source_new (self->wake_fd, G_IO_IN);
  g_source_set_callback (self->wake, G_SOURCE_FUNC (on_wake), self, NULL);
  g_source_attach (self->wake, self->context);
  connect_now (self);
  g_main_loop_run (self->loop);
  g_source_destroy (self->wake);
  g_clear_pointer (&self->wake, g_source_unref);
  g_clear_object (&self->session);
  /* Let the cancelled operations finish on this context. */
  while (g_main_context_iteration (self->context, FALSE))
    ;
  g_main_context_pop_thread_default (self->context);
  return NULL;
}

static void
invoke (NbRelayClient *self,
        GSourceFunc    func)
{
  if (self->context != NULL)
    g_main_context_invoke (self->context, func, self);
}

/* ---- the object ---- */

static void
nb_relay_client_dispose (GObject *object)
{
  nb_relay_client_stop (NB_RELAY_CLIENT (object));
  G_OBJECT_CLASS (nb_relay_client_parent_class)->dispose (object);
}

static void
nb_relay_client_finalize (GObject *object)
{
  NbRelayClient *self = NB_RELAY_CLIENT (object);

  g_hash_table_unref (self->peers);
  g_free (self->ring);
  g_free (self->rx_buffer);
  close (self->wake_fd);
  g_free (self->token_payload);
  g_free (self->token_signature);
  g_clear_object (&self->tls_database);
  g_mutex_clear (&self->lock);
  g_mutex_clear (&self->ring_lock);
  g_clear_pointer (&self->uri, g_uri_unref);
  g_clear_object (&self->key);
  g_free (self->url);
  g_main_context_unref (self->owner);
  G_OBJECT_CLASS (nb_relay_client_parent_class)->finalize (object);
}

static void
nb_relay_client_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  NbRelayClient *self = NB_RELAY_CLIENT (object);

  switch (prop_id)
    {
    case PROP_URL:
      g_value_set_string (value, self->url);
      break;
    case PROP_STATE:
      g_value_set_enum (value, nb_relay_client_get_state (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
nb_relay_client_class_init (NbRelayClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = nb_relay_client_dispose;
  object_class->finalize = nb_relay_client_finalize;
  object_class->get_property = nb_relay_client_get_property;

  /**
   * NbRelayClient:url:
   *
   * The relay's URL as given.
   */
  properties[PROP_URL] =
    g_param_spec_string ("url", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * NbRelayClient:state:
   *
   * Where the client is (#NbRelayClientState).
   */
  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL, NB_TYPE_RELAY_CLIENT_STATE,
                       NB_RELAY_CLIENT_STATE_STOPPED,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * NbRelayClient::peer-online:
   * @self: the client
   * @peer: the watched peer, now connected to the relay
   *
   * A watched peer can be reached through the relay.
   */
  signals[SIGNAL_PEER_ONLINE] =
    g_signal_new ("peer-online", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, NB_TYPE_KEY);
  /**
   * NbRelayClient::peer-offline:
   * @self: the client
   * @peer: the watched peer, gone from the relay (or this client was
   *   disconnected)
   *
   * A watched peer cannot be reached through the relay any more.
   */
  signals[SIGNAL_PEER_OFFLINE] =
    g_signal_new ("peer-offline", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, NB_TYPE_KEY);
}

static void
nb_relay_client_init (NbRelayClient *self)
{
  g_mutex_init (&self->lock);
  g_mutex_init (&self->ring_lock);
  self->owner = g_main_context_ref_thread_default ();
  self->peers = g_hash_table_new_full (nb_relay_peer_id_hash, nb_relay_peer_id_equal, NULL,
                                       peer_free);
  self->ring = g_malloc ((gsize) RING_SLOTS * SLOT_SIZE);
  self->rx_buffer = g_malloc (NB_RELAY_PROTO_MAX_PAYLOAD);
  self->wake_fd = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
  self->fd = -1;
}

static GUri *
parse_url (const char  *url,
           GError     **error)
{
  g_autoptr(GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  const char *scheme = uri != NULL ? g_uri_get_scheme (uri) : NULL;
  const char *ws_scheme = NULL;
  const char *path;

  if (scheme != NULL && (g_ascii_strcasecmp (scheme, "rel") == 0 ||
                         g_ascii_strcasecmp (scheme, "ws") == 0))
    ws_scheme = "ws";
  else if (scheme != NULL && (g_ascii_strcasecmp (scheme, "rels") == 0 ||
                              g_ascii_strcasecmp (scheme, "wss") == 0))
    ws_scheme = "wss";
  if (ws_scheme == NULL || g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0' ||
      g_uri_get_port (uri) <= 0 || g_uri_get_userinfo (uri) != NULL)
    {
      g_autofree char *text = nb_text_escape (url, -1, NB_TEXT_LOG_MAX);

      g_set_error (error, NB_RELAY_CLIENT_ERROR, NB_RELAY_CLIENT_ERROR_INVALID_URL,
                   "“%s” is not a relay URL: give rel://HOST:PORT or rels://HOST:PORT", text);
      return NULL;
    }
  /* A bare server address means the protocol's path. */
  path = g_uri_get_path (uri);
  if (*path == '\0' || g_str_equal (path, "/"))
    path = NB_RELAY_PATH;
  return g_uri_build (G_URI_FLAGS_NONE, ws_scheme, NULL, g_uri_get_host (uri),
                      g_uri_get_port (uri), path, g_uri_get_query (uri), NULL);
}

/**
 * nb_relay_client_new:
 * @url: the relay, as Management hands it out: `rels://HOST:PORT` (TLS) or
 *   `rel://HOST:PORT` (`wss://` and `ws://` work too)
 * @key: this peer's key, with its private half
 * @error: return location for a #GError
 *
 * Makes a client; it connects once started and given a token.
 *
 * Returns: (transfer full) (nullable): a new #NbRelayClient, or %NULL with
 *   @error set
 */
NbRelayClient *
nb_relay_client_new (const char  *url,
                     NbKey       *key,
                     GError     **error)
{
  g_autoptr(GUri) uri = NULL;
  NbRelayClient *self;

  g_return_val_if_fail (url != NULL, NULL);
  g_return_val_if_fail (NB_IS_KEY (key), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!nb_key_has_private (key))
    {
      g_set_error (error, NB_RELAY_CLIENT_ERROR, NB_RELAY_CLIENT_ERROR_NO_PRIVATE_KEY,
                   "A relay client needs the peer's private key: the relay makes it prove it");
      return NULL;
    }
  uri = parse_url (url, error);
  if (uri == NULL)
    return NULL;
  self = g_object_new (NB_TYPE_RELAY_CLIENT, NULL);
  self->url = g_strdup (url);
  self->uri = g_steal_pointer (&uri);
  self->key = g_object_ref (key);
  return self;
}

/**
 * nb_relay_client_set_token:
 * @self: a #NbRelayClient
 * @payload: the token's payload, as Management issued it
 *   (`NbMgmtMsgRelayConfig`'s token_payload)
 * @signature: the token's signature (token_signature)
 *
 * Sets the token the client authenticates with from its next connection
 * on. Call it with each network map, so that a reconnect never presents an
 * expired token. A client waiting to reconnect tries at once.
 */
void
nb_relay_client_set_token (NbRelayClient *self,
                           const char    *payload,
                           const char    *signature)
{
  g_return_if_fail (NB_IS_RELAY_CLIENT (self));
  g_return_if_fail (payload != NULL && signature != NULL);

  g_mutex_lock (&self->lock);
  g_free (self->token_payload);
  g_free (self->token_signature);
  self->token_payload = g_strdup (payload);
  self->token_signature = g_strdup (signature);
  g_mutex_unlock (&self->lock);
  invoke (self, kick);
}

/**
 * nb_relay_client_set_tls_database:
 * @self: a #NbRelayClient
 * @database: (nullable): the certificate authorities to trust, or %NULL
 *   for the system's
 *
 * Sets which certificate authorities a `rels://` relay's certificate must
 * chain to. Call it before nb_relay_client_start(); it takes effect when
 * the client starts.
 */
void
nb_relay_client_set_tls_database (NbRelayClient *self,
                                  GTlsDatabase  *database)
{
  g_return_if_fail (NB_IS_RELAY_CLIENT (self));
  g_return_if_fail (database == NULL || G_IS_TLS_DATABASE (database));

  g_mutex_lock (&self->lock);
  g_set_object (&self->tls_database, database);
  g_mutex_unlock (&self->lock);
}

/**
 * nb_relay_client_start:
 * @self: a #NbRelayClient
 *
 * Starts the client's thread, which connects (once a token is set) and
 * stays connected until nb_relay_client_stop().
 */
void
nb_relay_client_start (NbRelayClient *self)
{
  g_return_if_fail (NB_IS_RELAY_CLIENT (self));

  if (self->thread != NULL)
    return;
  self->context = g_main_context_new ();
  self->loop = g_main_loop_new (self->context, FALSE);
  self->backoff_ms = 0;
  self->thread = g_thread_new ("nb-relay-client", run_thread, self);
}

/**
 * nb_relay_client_stop:
 * @self: a #NbRelayClient
 *
 * Closes the connection and stops the client's thread; datagrams sent from
 * now on are dropped. The client can be started again.
 */
void
nb_relay_client_stop (NbRelayClient *self)
{
  g_return_if_fail (NB_IS_RELAY_CLIENT (self));

  if (self->thread == NULL)
    return;
  invoke (self, shut_down);
  g_thread_join (g_steal_pointer (&self->thread));
  g_clear_pointer (&self->loop, g_main_loop_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  set_state (self, NB_RELAY_CLIENT_STATE_STOPPED);
}

/**
 * nb_relay_client_get_state:
 * @self: a #NbRelayClient
 *
 * Returns: where the client is now
 */
NbRelayClientState
nb_relay_client_get_state (NbRelayClient *self)
{
  NbRelayClientState state;

  g_return_val_if_fail (NB_IS_RELAY_CLIENT (self), NB_RELAY_CLIENT_STATE_STOPPED);

  g_mutex_lock (&self->lock);
  state = self->state;
  g_mutex_unlock (&self->lock);
  return state;
}

/**
 * nb_relay_client_get_close_code:
 * @self: a #NbRelayClient
 *
 * Why the relay closed the last connection: a WebSocket close code (the
 * relay's own are 4001 forged token, 4002 expired token, 4003 another
 * peer's token, 4004 key not proven, 4005 protocol error, 4006 replaced,
 * 4007 silent; 4008 authentication too slow), or 0 while connected or
 * before any close.
 *
 * Returns: the close code
 */
guint
nb_relay_client_get_close_code (NbRelayClient *self)
{
  guint code;

  g_return_val_if_fail (NB_IS_RELAY_CLIENT (self), 0);

  g_mutex_lock (&self->lock);
  code = self->close_code;
  g_mutex_unlock (&self->lock);
  return code;
}

/**
 * nb_relay_client_get_n_connects:
 * @self: a #NbRelayClient
 *
 * Returns: how many times the client authenticated since it was made
 */
guint
nb_relay_client_get_n_connects (NbRelayClient *self)
{
  guint n;

  g_return_val_if_fail (NB_IS_RELAY_CLIENT (self), 0);

  g_mutex_lock (&self->lock);
  n = self->n_connects;
  g_mutex_unlock (&self->lock);
  return n;
}

/**
 * nb_relay_client_watch_peer:
 * @self: a #NbRelayClient
 * @peer: a peer's public key
 *
 * Asks the relay to tell when @peer comes and goes: #NbRelayClient::peer-online
 * and #NbRelayClient::peer-offline.
 */
void
nb_relay_client_watch_peer (NbRelayClient *self,
                            NbKey         *peer)
{
  g_return_if_fail (NB_IS_RELAY_CLIENT (self));
  g_return_if_fail (NB_IS_KEY (peer));

  g_mutex_lock (&self->lock);
  peer_get (self, peer)->watched = TRUE;
  g_mutex_unlock (&self->lock);
  invoke (self, watch_changed);
}

/**
 * nb_relay_client_unwatch_peer:
 * @self: a #NbRelayClient
 * @peer: a peer's public key
 *
 * Stops watching @peer.
 */
void
nb_relay_client_unwatch_peer (NbRelayClient *self,
                              NbKey         *peer)
{
  Peer *entry;

  g_return_if_fail (NB_IS_RELAY_CLIENT (self));
  g_return_if_fail (NB_IS_KEY (peer));

  g_mutex_lock (&self->lock);
  entry = peer_get (self, peer);
  entry->watched = FALSE;
  peer_maybe_forget (self, entry);
  g_mutex_unlock (&self->lock);
  invoke (self, watch_changed);
}

/**
 * nb_relay_client_is_peer_online:
 * @self: a #NbRelayClient
 * @peer: a watched peer's public key
 *
 * Returns: %TRUE when the relay last said @peer is connected to it
 */
gboolean
nb_relay_client_is_peer_online (NbRelayClient *self,
                                NbKey         *peer)
{
  guint8 id[NB_RELAY_PEER_ID_LEN];
  Peer *entry;
  gboolean online;

  g_return_val_if_fail (NB_IS_RELAY_CLIENT (self), FALSE);
  g_return_val_if_fail (NB_IS_KEY (peer), FALSE);

  nb_relay_peer_id_of_key (nb_key_get_public_data (peer, NULL), id);
  g_mutex_lock (&self->lock);
  entry = g_hash_table_lookup (self->peers, id);
  online = entry != NULL && entry->online;
  g_mutex_unlock (&self->lock);
  return online;
}

/* Any thread; takes a slot of the queue or drops. */
static gboolean
enqueue (NbRelayClient *self,
         const guint8  *id,
         const guint8  *data,
         gsize          len)
{
  guint8 *slot;
  guint index;
  gboolean wake;

  if (len == 0 || len > NB_RELAY_CLIENT_MAX_DATAGRAM)
    {
      __atomic_add_fetch (&self->tx_dropped, 1, __ATOMIC_RELAXED);
      return FALSE;
    }
  g_mutex_lock (&self->ring_lock);
  if (!self->ring_open || self->ring_count == RING_SLOTS)
    {
      g_mutex_unlock (&self->ring_lock);
      __atomic_add_fetch (&self->tx_dropped, 1, __ATOMIC_RELAXED);
      return FALSE;
    }
  index = (self->ring_head + self->ring_count) % RING_SLOTS;
  slot = self->ring + (gsize) index * SLOT_SIZE;
  nb_relay_frame_write_transport_header (slot, id);
  memcpy (slot + NB_RELAY_PROTO_TRANSPORT_HEADER_LEN, data, len);
  self->ring_len[index] = (guint16) (NB_RELAY_PROTO_TRANSPORT_HEADER_LEN + len);
  self->ring_count++;
  wake = self->ring_count == 1;
  g_mutex_unlock (&self->ring_lock);
  if (wake)
    {
      guint64 one = 1;

      if (write (self->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
        g_debug ("Relay client: cannot wake its thread: %s", g_strerror (errno));
    }
  __atomic_add_fetch (&self->tx, 1, __ATOMIC_RELAXED);
  return TRUE;
}

/**
 * nb_relay_client_send:
 * @self: a #NbRelayClient
 * @peer: the destination's public key
 * @data: (array length=len): the datagram
 * @len: its length, at most 2,048 bytes
 *
 * Sends one datagram to @peer through the relay, from any thread, without
 * waiting: it is queued for the client's thread, or dropped when the client
 * is not connected or its queue is full.
 *
 * Returns: %TRUE when it was queued
 */
gboolean
nb_relay_client_send (NbRelayClient *self,
                      NbKey         *peer,
                      const guint8  *data,
                      gsize          len)
{
  guint8 id[NB_RELAY_PEER_ID_LEN];

  g_return_val_if_fail (NB_IS_RELAY_CLIENT (self), FALSE);
  g_return_val_if_fail (NB_IS_KEY (peer), FALSE);

  nb_relay_peer_id_of_key (nb_key_get_public_data (peer, NULL), id);
  return enqueue (self, id, data, len);
}

/**
 * nb_relay_client_get_stats:
 * @self: a #NbRelayClient
 * @tx_datagrams: (out) (optional): datagrams queued for the relay
 * @rx_datagrams: (out) (optional): datagrams received and delivered
 * @tx_dropped: (out) (optional): datagrams dropped at send (not connected,
 *   queue full, too large, or the connection's send buffer more than half
 *   full: a relay that stopped reading)
 *
 * The client's datagram counters since it was made.
 */
void
nb_relay_client_get_stats (NbRelayClient *self,
                           guint64       *tx_datagrams,
                           guint64       *rx_datagrams,
                           guint64       *tx_dropped)
{
  g_return_if_fail (NB_IS_RELAY_CLIENT (self));

  if (tx_datagrams != NULL)
    *tx_datagrams = __atomic_load_n (&self->tx, __ATOMIC_RELAXED);
  if (rx_datagrams != NULL)
    *rx_datagrams = __atomic_load_n (&self->rx, __ATOMIC_RELAXED);
  if (tx_dropped != NULL)
    *tx_dropped = __atomic_load_n (&self->tx_dropped, __ATOMIC_RELAXED);
}

/* ---- private: receivers and the WireGuard transport ---- */

static void
set_receiver_for_id (NbRelayClient      *self,
                     NbKey              *key,
                     NbRelayReceiveFunc  func,
                     gpointer            user_data,
                     GDestroyNotify      destroy,
                     gpointer            only_if)
{
  Receiver *old = NULL;
  Peer *peer;

  g_mutex_lock (&self->lock);
  peer = peer_get (self, key);
  if (only_if != NULL && (peer->receiver == NULL || peer->receiver->user_data != only_if))
    {
      g_mutex_unlock (&self->lock);
      if (destroy != NULL && user_data != NULL)
        destroy (user_data);
      return;
    }
  old = peer->receiver;
  peer->receiver = NULL;
  if (func != NULL)
    {
      peer->receiver = g_new0 (Receiver, 1);
      g_atomic_ref_count_init (&peer->receiver->ref);
      peer->receiver->func = func;
      peer->receiver->user_data = user_data;
      peer->receiver->destroy = destroy;
    }
  else
    peer_maybe_forget (self, peer);
  g_mutex_unlock (&self->lock);
  receiver_unref (old);
}

void
nb_relay_client_set_receiver (NbRelayClient      *self,
                              NbKey              *peer,
                              NbRelayReceiveFunc  func,
                              gpointer            user_data,
                              GDestroyNotify      destroy)
{
  g_return_if_fail (NB_IS_RELAY_CLIENT (self));
  g_return_if_fail (NB_IS_KEY (peer));

  set_receiver_for_id (self, peer, func, user_data, destroy, NULL);
}

/* One remote peer's path through the relay, shared by the transport (send)
 * and the receiver (receive). The device and the WireGuard peer are weak:
 * the peer holds the transport, which holds this. */
typedef struct
{
  gatomicrefcount ref;
  NbRelayClient *client;
  NbKey *key;
  guint8 id[NB_RELAY_PEER_ID_LEN];
  GWeakRef device;
  GWeakRef wg_peer;
} RelayPath;

static RelayPath *
relay_path_ref (RelayPath *path)
{
  g_atomic_ref_count_inc (&path->ref);
  return path;
}

static gboolean
unref_on_owner (gpointer data)
{
  g_object_unref (data);
  return G_SOURCE_REMOVE;
}

static void
relay_path_unref (gpointer data)
{
  RelayPath *path = data;
  NbRelayClient *client = path->client;

  if (!g_atomic_ref_count_dec (&path->ref))
    return;
  g_weak_ref_clear (&path->device);
  g_weak_ref_clear (&path->wg_peer);
  g_object_unref (path->key);
  g_free (path);
  /* The last reference to the path can go on the client's own thread (a
   * datagram delivered while the transport was freed); the client's may
   * go with it, and disposing it there would join the thread from
   * itself. */
  if (client->context != NULL && g_main_context_is_owner (client->context))
    {
      GSource *source = g_idle_source_new ();

      g_source_set_callback (source, unref_on_owner, client, NULL);
      g_source_attach (source, client->owner);
      g_source_unref (source);
    }
  else
    g_object_unref (client);
}

static gboolean
relay_path_send (const guint8 *data,
                 gsize         len,
                 gpointer      user_data)
{
  RelayPath *path = user_data;

  return enqueue (path->client, path->id, data, len);
}

static void
relay_path_receive (guint8   *data,
                    gsize     len,
                    gpointer  user_data)
{
  RelayPath *path = user_data;
  g_autoptr(NbWgDevice) device = g_weak_ref_get (&path->device);
  g_autoptr(NbWgPeer) wg_peer = g_weak_ref_get (&path->wg_peer);

  if (device != NULL && wg_peer != NULL)
    nb_wg_device_receive_from_transport (device, wg_peer, data, len);
}

/* The transport is freed: its receiver goes too, unless a newer transport
 * of the same peer replaced it. */
static void
relay_path_destroy (gpointer user_data)
{
  RelayPath *path = user_data;

  set_receiver_for_id (path->client, path->key, NULL, NULL, NULL, path);
  relay_path_unref (path);
}

NbWgTransport *
nb_relay_client_new_wg_transport (NbRelayClient *self,
                                  NbKey         *peer,
                                  NbWgDevice    *device,
                                  NbWgPeer      *wg_peer)
{
  RelayPath *path;

  g_return_val_if_fail (NB_IS_RELAY_CLIENT (self), NULL);
  g_return_val_if_fail (NB_IS_KEY (peer), NULL);
  g_return_val_if_fail (NB_IS_WG_DEVICE (device), NULL);
  g_return_val_if_fail (NB_IS_WG_PEER (wg_peer), NULL);

  path = g_new0 (RelayPath, 1);
  g_atomic_ref_count_init (&path->ref);
  path->client = g_object_ref (self);
  path->key = nb_key_dup_public (peer);
  nb_relay_peer_id_of_key (nb_key_get_public_data (peer, NULL), path->id);
  g_weak_ref_init (&path->device, device);
  g_weak_ref_init (&path->wg_peer, wg_peer);
  set_receiver_for_id (self, peer, relay_path_receive, relay_path_ref (path), relay_path_unref,
                       NULL);
  return nb_wg_transport_new_channel (relay_path_send, path, relay_path_destroy);
}
