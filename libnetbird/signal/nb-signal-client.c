/* nb-signal-client.c: a peer's connection to a Signal server
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-signal"

#include <libsoup/soup.h>

#include "nb-signal-client.h"
#include "nb-signal-private.h"
#include "nb-signal-enum-types.h"
#include "nb-text-private.h"

/* Reconnect backoff: from half a second, doubling to 30 s, each delay drawn
 * between half and all of its value so that peers a restart disconnected
 * together do not come back together. */
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
/* Connecting (TCP, TLS, upgrade) gives up after this long. */
#define CONNECT_TIMEOUT_SECONDS 10

/**
 * NbSignalClient:
 *
 * A peer's connection to a Signal server, through which it exchanges
 * #NbSignalMessage<!-- -->s with other peers.
 *
 * The client connects over a WebSocket (`ws://` or, with TLS, `wss://`),
 * proves that it holds the private half of its key (the server seals a
 * challenge to the key; only its holder can open it and answer), and is then
 * registered under its public key. Each message is sealed from the client's
 * key to the destination's (nb_envelope_seal()): the server sees only the
 * two public keys and ciphertext. Received messages are opened, checked to
 * come from the key they name, and handed to #NbSignalClient::message-received.
 *
 * When the connection drops the client reconnects by itself, after a
 * delay that starts at half a second and doubles up to 30 s (with jitter),
 * until nb_signal_client_stop(). The one exception: when another connection
 * proves the same key, the server closes this one as replaced, and the
 * client stays disconnected (#NbSignalClient:replaced) rather than fight
 * the newer one for the registration.
 *
 * ```c
 * g_autoptr(NbSignalClient) client = nb_signal_client_new ("wss://signal.example:10000", key);
 * g_signal_connect (client, "message-received", G_CALLBACK (on_message), engine);
 * if (!nb_signal_client_start (client, &error))
 *   ...
 * ```
 *
 * The client lives on the thread-default #GMainContext of the thread that
 * made it; use it from there.
 */
struct _NbSignalClient
{
  GObject parent_instance;

  char *url;
  GUri *uri;                  /* set by start(): the WebSocket URI */
  NbKey *key;
  GTlsDatabase *tls_database;

  SoupSession *session;
  SoupWebsocketConnection *ws;
  GCancellable *connecting;
  guint reconnect_source;
  guint backoff_ms;
  guint keepalive_seconds;
  guint alive_source;
  gint64 last_seen_us;        /* the last frame or pong from the server */

  NbSignalClientState state;
  gboolean started;
  gboolean replaced;
  guint n_connects;
};

enum {
  PROP_0,
  PROP_URL,
  PROP_KEY,
  PROP_STATE,
  PROP_REPLACED,
  PROP_N_CONNECTS,
  PROP_KEEPALIVE_INTERVAL,
  N_PROPS
};
static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_MESSAGE_RECEIVED,
  SIGNAL_UNDELIVERABLE,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (NbSignalClient, nb_signal_client, G_TYPE_OBJECT)

G_DEFINE_QUARK (nb-signal-client-error-quark, nb_signal_client_error)

static void connect_now (NbSignalClient *self);

static void
set_state (NbSignalClient      *self,
           NbSignalClientState  state)
{
  if (self->state == state)
    return;
  self->state = state;
  g_debug ("Signal client %s: %s", nb_key_get_public_base64 (self->key),
           state == NB_SIGNAL_CLIENT_STATE_CONNECTED ? "connected"
           : state == NB_SIGNAL_CLIENT_STATE_CONNECTING ? "connecting" : "disconnected");
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

static void
drop_connection (NbSignalClient *self)
{
  g_clear_handle_id (&self->alive_source, g_source_remove);
  if (self->ws == NULL)
    return;
  g_signal_handlers_disconnect_by_data (self->ws, self);
  if (soup_websocket_connection_get_state (self->ws) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (self->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  g_clear_object (&self->ws);
}

static gboolean
on_reconnect_timeout (gpointer user_data)
{
  NbSignalClient *self = user_data;

  self->reconnect_source = 0;
  connect_now (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_reconnect (NbSignalClient *self)
{
  guint delay;

  set_state (self, NB_SIGNAL_CLIENT_STATE_DISCONNECTED);
  if (!self->started || self->replaced || self->reconnect_source != 0)
    return;

  delay = g_random_int_range (self->backoff_ms / 2, self->backoff_ms + 1);
  self->backoff_ms = MIN (self->backoff_ms * 2, BACKOFF_MAX_MS);
  g_debug ("Signal client %s: reconnecting in %u ms", nb_key_get_public_base64 (self->key),
           delay);
  self->reconnect_source = g_timeout_add (delay, on_reconnect_timeout, self);
}

static void
send_frame (NbSignalClient *self,
            GBytes         *frame)
{
  soup_websocket_connection_send_message (self->ws, SOUP_WEBSOCKET_DATA_TEXT, frame);
}

static void
send_hello (NbSignalClient *self)
{
  NbSignalFrame frame = {
    .type = NB_SIGNAL_FRAME_HELLO,
    .key = (char *) nb_key_get_public_base64 (self->key),
  };
  g_autoptr(GBytes) bytes = nb_signal_frame_to_bytes (&frame);

  send_frame (self, bytes);
}

static void
answer_challenge (NbSignalClient      *self,
                  const NbSignalFrame *challenge)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *proof = nb_signal_challenge_answer (self->key, challenge->challenge, &error);
  NbSignalFrame frame = { .type = NB_SIGNAL_FRAME_PROOF };
  g_autoptr(GBytes) bytes = NULL;

  if (proof == NULL)
    {
      g_autofree char *text = nb_text_escape (error->message, -1, NB_TEXT_LOG_MAX);

      g_warning ("Signal server %s sent a challenge this key cannot open: %s", self->url, text);
      drop_connection (self);
      schedule_reconnect (self);
      return;
    }
  frame.proof = proof;
  bytes = nb_signal_frame_to_bytes (&frame);
  send_frame (self, bytes);
}

static void
receive_message (NbSignalClient      *self,
                 const NbSignalFrame *frame)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbSignalMsgEnvelope) envelope = nb_signal_frame_to_envelope (frame);
  g_autoptr(NbKey) sender = NULL;
  g_autoptr(NbSignalMsgBody) body = NULL;
  g_autoptr(NbSignalMessage) message = NULL;

  body = nb_signal_msg_open (self->key, envelope, &sender, &error);
  if (body == NULL)
    {
      g_autofree char *text = nb_text_escape (error->message, -1, NB_TEXT_LOG_MAX);

      /* Anyone who knows our key can send us anything: drop it. */
      g_debug ("Signal message from %s dropped: %s", frame->from, text);
      return;
    }
  message = nb_signal_message_new_from_body (body);
  g_signal_emit (self, signals[SIGNAL_MESSAGE_RECEIVED], 0, sender, message);
}

static void
on_ws_message (SoupWebsocketConnection *ws,
               gint                     type,
               GBytes                  *data,
               gpointer                 user_data)
{
  NbSignalClient *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(NbSignalFrame) frame = NULL;
  g_autoptr(NbKey) key = NULL;
  gsize len = 0;
  const char *text = g_bytes_get_data (data, &len);

  self->last_seen_us = g_get_monotonic_time ();
  frame = nb_signal_frame_from_data (text, len, &error);
  if (frame == NULL)
    {
      g_autofree char *escaped = nb_text_escape (error->message, -1, NB_TEXT_LOG_MAX);

      g_warning ("Signal server %s sent a frame we cannot read: %s", self->url, escaped);
      return;
    }

  switch (frame->type)
    {
    case NB_SIGNAL_FRAME_CHALLENGE:
      if (self->state == NB_SIGNAL_CLIENT_STATE_CONNECTING)
        answer_challenge (self, frame);
      break;
    case NB_SIGNAL_FRAME_REGISTERED:
      if (self->state == NB_SIGNAL_CLIENT_STATE_CONNECTING &&
          g_str_equal (frame->key, nb_key_get_public_base64 (self->key)))
        {
          self->backoff_ms = BACKOFF_MIN_MS;
          self->n_connects++;
          g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_CONNECTS]);
          set_state (self, NB_SIGNAL_CLIENT_STATE_CONNECTED);
        }
      break;
    case NB_SIGNAL_FRAME_MESSAGE:
      if (self->state == NB_SIGNAL_CLIENT_STATE_CONNECTED)
        receive_message (self, frame);
      break;
    case NB_SIGNAL_FRAME_UNDELIVERABLE:
      key = nb_key_new_public_from_base64 (frame->key, NULL);
      if (key != NULL)
        g_signal_emit (self, signals[SIGNAL_UNDELIVERABLE], 0, key);
      break;
    case NB_SIGNAL_FRAME_ERROR:
      {
        g_autofree char *escaped = nb_text_escape (frame->error, -1, NB_TEXT_LOG_MAX);

        g_warning ("Signal server %s: %s", self->url, escaped);
      }
      break;
    case NB_SIGNAL_FRAME_HELLO:
    case NB_SIGNAL_FRAME_PROOF:
    default:
      break;
    }
}

static void
on_ws_pong (SoupWebsocketConnection *ws,
            GBytes                  *message,
            gpointer                 user_data)
{
  NbSignalClient *self = user_data;

  self->last_seen_us = g_get_monotonic_time ();
}

/* A server that went away without a FIN (a NAT that forgot the flow, a
 * machine that died) leaves the connection open for ever: nothing, not
 * even a pong, for three keepalive intervals means it is gone. */
static gboolean
on_alive_check (gpointer user_data)
{
  NbSignalClient *self = user_data;
  gint64 silent = g_get_monotonic_time () - self->last_seen_us;

  if (silent < (gint64) self->keepalive_seconds * NB_SIGNAL_SILENT_INTERVALS * G_USEC_PER_SEC)
    return G_SOURCE_CONTINUE;
  g_message ("Signal server %s: nothing received for %" G_GINT64_FORMAT " s; reconnecting",
             self->url, silent / G_USEC_PER_SEC);
  self->alive_source = 0;
  drop_connection (self);
  schedule_reconnect (self);
  return G_SOURCE_REMOVE;
}

static void
on_ws_closed (SoupWebsocketConnection *ws,
              gpointer                 user_data)
{
  NbSignalClient *self = user_data;
  gushort code = soup_websocket_connection_get_close_code (ws);

  g_debug ("Signal client %s: connection closed (%u)", nb_key_get_public_base64 (self->key),
           code);
  g_signal_handlers_disconnect_by_data (ws, self);
  g_clear_object (&self->ws);
  g_clear_handle_id (&self->alive_source, g_source_remove);

  if (code == NB_SIGNAL_CLOSE_REPLACED)
    {
      g_message ("Signal server %s: another connection registered this peer's key; this one "
                 "stays disconnected", self->url);
      self->replaced = TRUE;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REPLACED]);
    }
  schedule_reconnect (self);
}

typedef struct
{
  NbSignalClient *self;
  GCancellable *cancellable;
} Connecting;

static void
on_connected (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Connecting *connecting = user_data;
  g_autoptr(NbSignalClient) self = connecting->self;
  g_autoptr(GCancellable) cancellable = connecting->cancellable;
  g_autoptr(GError) error = NULL;
  SoupWebsocketConnection *ws;

  g_free (connecting);
  ws = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  /* Stopped (or stopped and started again) meanwhile: this attempt is not
   * the client's any more, even if it connected before the cancel. */
  if (g_cancellable_is_cancelled (cancellable))
    {
      g_clear_object (&ws);
      return;
    }
  g_clear_object (&self->connecting);
  if (ws == NULL)
    {
      g_autofree char *text = nb_text_escape (error->message, -1, NB_TEXT_LOG_MAX);

      g_debug ("Signal server %s: cannot connect: %s", self->url, text);
      schedule_reconnect (self);
      return;
    }

  self->ws = ws;
  soup_websocket_connection_set_max_incoming_payload_size (ws, NB_SIGNAL_PROTO_MAX_FRAME_SIZE);
  soup_websocket_connection_set_keepalive_interval (ws, self->keepalive_seconds);
  g_signal_connect (ws, "message", G_CALLBACK (on_ws_message), self);
  g_signal_connect (ws, "pong", G_CALLBACK (on_ws_pong), self);
  g_signal_connect (ws, "closed", G_CALLBACK (on_ws_closed), self);
  self->last_seen_us = g_get_monotonic_time ();
  self->alive_source = g_timeout_add_seconds (self->keepalive_seconds, on_alive_check, self);
  send_hello (self);
}

static void
connect_now (NbSignalClient *self)
{
  g_autoptr(SoupMessage) msg = soup_message_new_from_uri (SOUP_METHOD_GET, self->uri);
  Connecting *connecting = g_new0 (Connecting, 1);

  set_state (self, NB_SIGNAL_CLIENT_STATE_CONNECTING);
  self->connecting = g_cancellable_new ();
  connecting->self = g_object_ref (self);
  connecting->cancellable = g_object_ref (self->connecting);
  soup_session_websocket_connect_async (self->session, msg, NULL, NULL, G_PRIORITY_DEFAULT,
                                        self->connecting, on_connected, connecting);
}

static GUri *
parse_url (const char  *url,
           GError     **error)
{
  g_autoptr(GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  const char *scheme = uri != NULL ? g_uri_get_scheme (uri) : NULL;
  const char *ws_scheme = NULL;
  const char *path;

  if (scheme != NULL && (g_ascii_strcasecmp (scheme, "ws") == 0 ||
                         g_ascii_strcasecmp (scheme, "http") == 0))
    ws_scheme = "ws";
  else if (scheme != NULL && (g_ascii_strcasecmp (scheme, "wss") == 0 ||
                              g_ascii_strcasecmp (scheme, "https") == 0))
    ws_scheme = "wss";
  if (ws_scheme == NULL || g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0' ||
      g_uri_get_port (uri) <= 0 || g_uri_get_userinfo (uri) != NULL)
    {
      g_autofree char *text = nb_text_escape (url, -1, NB_TEXT_LOG_MAX);

      g_set_error (error, NB_SIGNAL_CLIENT_ERROR, NB_SIGNAL_CLIENT_ERROR_INVALID_URL,
                   "“%s” is not a Signal server URL: give ws://HOST:PORT or wss://HOST:PORT",
                   text);
      return NULL;
    }
  /* A bare server address means the protocol's path. */
  path = g_uri_get_path (uri);
  if (*path == '\0' || g_str_equal (path, "/"))
    path = NB_SIGNAL_PATH;
  return g_uri_build (G_URI_FLAGS_NONE, ws_scheme, NULL, g_uri_get_host (uri),
                      g_uri_get_port (uri), path, g_uri_get_query (uri), NULL);
}

static void
nb_signal_client_dispose (GObject *object)
{
  NbSignalClient *self = NB_SIGNAL_CLIENT (object);

  nb_signal_client_stop (self);
  g_clear_object (&self->session);
  G_OBJECT_CLASS (nb_signal_client_parent_class)->dispose (object);
}

static void
nb_signal_client_finalize (GObject *object)
{
  NbSignalClient *self = NB_SIGNAL_CLIENT (object);

  g_free (self->url);
  g_clear_pointer (&self->uri, g_uri_unref);
  g_clear_object (&self->key);
  g_clear_object (&self->tls_database);
  G_OBJECT_CLASS (nb_signal_client_parent_class)->finalize (object);
}

static void
nb_signal_client_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  NbSignalClient *self = NB_SIGNAL_CLIENT (object);

  switch (prop_id)
    {
    case PROP_URL:
      g_value_set_string (value, self->url);
      break;
    case PROP_KEY:
      g_value_set_object (value, self->key);
      break;
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_REPLACED:
      g_value_set_boolean (value, self->replaced);
      break;
    case PROP_N_CONNECTS:
      g_value_set_uint (value, self->n_connects);
      break;
    case PROP_KEEPALIVE_INTERVAL:
      g_value_set_uint (value, self->keepalive_seconds);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
nb_signal_client_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  NbSignalClient *self = NB_SIGNAL_CLIENT (object);

  switch (prop_id)
    {
    case PROP_URL:
      self->url = g_value_dup_string (value);
      break;
    case PROP_KEY:
      self->key = g_value_dup_object (value);
      break;
    case PROP_KEEPALIVE_INTERVAL:
      self->keepalive_seconds = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
nb_signal_client_class_init (NbSignalClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = nb_signal_client_dispose;
  object_class->finalize = nb_signal_client_finalize;
  object_class->get_property = nb_signal_client_get_property;
  object_class->set_property = nb_signal_client_set_property;

  /**
   * NbSignalClient:url:
   *
   * The Signal server: `ws://HOST:PORT` or `wss://HOST:PORT` (`http` and
   * `https` stand for them), with the protocol's path when none is given.
   */
  properties[PROP_URL] =
    g_param_spec_string ("url", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * NbSignalClient:key:
   *
   * The peer's key, with its private half.
   */
  properties[PROP_KEY] =
    g_param_spec_object ("key", NULL, NULL, NB_TYPE_KEY,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * NbSignalClient:state:
   *
   * Where the client stands; messages can be sent while it is
   * %NB_SIGNAL_CLIENT_STATE_CONNECTED.
   */
  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL, NB_TYPE_SIGNAL_CLIENT_STATE,
                       NB_SIGNAL_CLIENT_STATE_DISCONNECTED,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * NbSignalClient:replaced:
   *
   * %TRUE once the server closed this client's connection because another
   * connection proved the same key. The client then stays disconnected
   * until nb_signal_client_start() is called again.
   */
  properties[PROP_REPLACED] =
    g_param_spec_boolean ("replaced", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * NbSignalClient:n-connects:
   *
   * How many times the client registered with the server: 1 after the
   * first connection, one more after each reconnect.
   */
  properties[PROP_N_CONNECTS] =
    g_param_spec_uint ("n-connects", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * NbSignalClient:keepalive-interval:
   *
   * Seconds between the pings the client sends (they keep NATs from
   * forgetting the connection). When nothing came from the server, not
   * even a pong, for three intervals, the client takes it for gone and
   * reconnects. Takes effect from the next connection.
   */
  properties[PROP_KEEPALIVE_INTERVAL] =
    g_param_spec_uint ("keepalive-interval", NULL, NULL, 1, 3600,
                       NB_SIGNAL_DEFAULT_KEEPALIVE_SECONDS,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * NbSignalClient::message-received:
   * @self: the #NbSignalClient
   * @from: the sender's public key, proven by the seal
   * @message: the message, opened
   *
   * A peer sent this client a message. Messages that do not open with the
   * client's key, or were sealed by another key than the one they name,
   * never get here.
   */
  signals[SIGNAL_MESSAGE_RECEIVED] =
    g_signal_new ("message-received", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 2, NB_TYPE_KEY, NB_TYPE_SIGNAL_MESSAGE);
  /**
   * NbSignalClient::undeliverable:
   * @self: the #NbSignalClient
   * @to: the destination's public key
   *
   * The server could not deliver a message this client sent: the
   * destination is not connected to it. Nothing was stored; send again once
   * the destination is back.
   */
  signals[SIGNAL_UNDELIVERABLE] =
    g_signal_new ("undeliverable", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, NB_TYPE_KEY);
}

static void
nb_signal_client_init (NbSignalClient *self)
{
  self->backoff_ms = BACKOFF_MIN_MS;
  self->session = soup_session_new_with_options ("timeout", CONNECT_TIMEOUT_SECONDS,
                                                 "idle-timeout", 0, NULL);
}

/**
 * nb_signal_client_new:
 * @url: the Signal server, `ws://HOST:PORT` or `wss://HOST:PORT`
 * @key: the peer's key, with its private half
 *
 * Makes a client; it connects once nb_signal_client_start() is called.
 *
 * Returns: (transfer full): a new #NbSignalClient
 */
NbSignalClient *
nb_signal_client_new (const char *url,
                      NbKey      *key)
{
  g_return_val_if_fail (url != NULL, NULL);
  g_return_val_if_fail (NB_IS_KEY (key), NULL);

  return g_object_new (NB_TYPE_SIGNAL_CLIENT, "url", url, "key", key, NULL);
}

/**
 * nb_signal_client_set_tls_database:
 * @self: a #NbSignalClient
 * @database: (nullable): the certificate authorities to trust, or %NULL
 *   for the system's
 *
 * Sets which certificate authorities a `wss://` server's certificate must
 * chain to. Takes effect from the next connection.
 */
void
nb_signal_client_set_tls_database (NbSignalClient *self,
                                   GTlsDatabase   *database)
{
  g_return_if_fail (NB_IS_SIGNAL_CLIENT (self));
  g_return_if_fail (database == NULL || G_IS_TLS_DATABASE (database));

  g_set_object (&self->tls_database, database);
  soup_session_set_tls_database (self->session, database);
}

/**
 * nb_signal_client_start:
 * @self: a #NbSignalClient
 * @error: return location for a #GError
 *
 * Starts connecting; the client keeps reconnecting until
 * nb_signal_client_stop(). Starting a started client does nothing; starting
 * a replaced one connects it again.
 *
 * Returns: %TRUE when started, %FALSE with @error set when the URL or the
 *   key cannot work
 */
gboolean
nb_signal_client_start (NbSignalClient  *self,
                        GError         **error)
{
  g_return_val_if_fail (NB_IS_SIGNAL_CLIENT (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->started && !self->replaced)
    return TRUE;
  if (!nb_key_has_private (self->key))
    {
      g_set_error (error, NB_SIGNAL_CLIENT_ERROR, NB_SIGNAL_CLIENT_ERROR_NO_PRIVATE_KEY,
                   "The key %s has no private half: a Signal client proves its key and "
                   "opens its messages with it", nb_key_get_public_base64 (self->key));
      return FALSE;
    }
  if (self->uri == NULL)
    {
      self->uri = parse_url (self->url, error);
      if (self->uri == NULL)
        return FALSE;
    }

  self->started = TRUE;
  if (self->replaced)
    {
      self->replaced = FALSE;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REPLACED]);
    }
  self->backoff_ms = BACKOFF_MIN_MS;
  if (self->ws == NULL && self->connecting == NULL)
    {
      g_clear_handle_id (&self->reconnect_source, g_source_remove);
      connect_now (self);
    }
  return TRUE;
}

/**
 * nb_signal_client_stop:
 * @self: a #NbSignalClient
 *
 * Closes the connection and stops reconnecting.
 */
void
nb_signal_client_stop (NbSignalClient *self)
{
  g_return_if_fail (NB_IS_SIGNAL_CLIENT (self));

  self->started = FALSE;
  g_clear_handle_id (&self->reconnect_source, g_source_remove);
  if (self->connecting != NULL)
    {
      g_cancellable_cancel (self->connecting);
      g_clear_object (&self->connecting);
    }
  drop_connection (self);
  set_state (self, NB_SIGNAL_CLIENT_STATE_DISCONNECTED);
}

/**
 * nb_signal_client_send:
 * @self: a #NbSignalClient
 * @to: the destination peer's public key
 * @message: what to tell it
 * @error: return location for a #GError
 *
 * Seals @message from this client's key to @to and hands it to the server,
 * which forwards it if @to is connected, and otherwise answers with
 * #NbSignalClient::undeliverable.
 *
 * Returns: %TRUE when the message was handed to the server, %FALSE with
 *   @error set (%NB_SIGNAL_CLIENT_ERROR_NOT_CONNECTED while not registered,
 *   %NB_SIGNAL_CLIENT_ERROR_INVALID_MESSAGE for a message the protocol
 *   does not carry)
 */
gboolean
nb_signal_client_send (NbSignalClient   *self,
                       NbKey            *to,
                       NbSignalMessage  *message,
                       GError          **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GBytes) plain = NULL;
  g_autoptr(NbSignalMsgBody) checked = NULL;
  g_autoptr(NbSignalMsgEnvelope) envelope = NULL;
  g_autoptr(GBytes) frame = NULL;
  NbSignalMsgBody body = { 0 };

  g_return_val_if_fail (NB_IS_SIGNAL_CLIENT (self), FALSE);
  g_return_val_if_fail (NB_IS_KEY (to), FALSE);
  g_return_val_if_fail (NB_IS_SIGNAL_MESSAGE (message), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->state != NB_SIGNAL_CLIENT_STATE_CONNECTED)
    {
      g_set_error (error, NB_SIGNAL_CLIENT_ERROR, NB_SIGNAL_CLIENT_ERROR_NOT_CONNECTED,
                   "Not registered with the Signal server %s (yet)", self->url);
      return FALSE;
    }
  if (nb_key_equal (to, self->key))
    {
      g_set_error_literal (error, NB_SIGNAL_CLIENT_ERROR, NB_SIGNAL_CLIENT_ERROR_INVALID_MESSAGE,
                           "A Signal message cannot be addressed to its own sender");
      return FALSE;
    }

  /* The receiver reads it with the bounded codec: check it the same way
   * here, so a bad field is the sender's error and not a silent drop. */
  nb_signal_message_fill_body (message, &body);
  plain = nb_signal_msg_body_to_bytes (&body);
  checked = nb_signal_msg_body_from_bytes (plain, &local_error);
  if (checked != NULL)
    envelope = nb_signal_msg_seal (self->key, to, checked, &local_error);
  if (envelope == NULL)
    {
      g_set_error (error, NB_SIGNAL_CLIENT_ERROR, NB_SIGNAL_CLIENT_ERROR_INVALID_MESSAGE,
                   "Cannot send this Signal message: %s", local_error->message);
      return FALSE;
    }

  frame = nb_signal_frame_write_message (envelope);
  send_frame (self, frame);
  return TRUE;
}

/**
 * nb_signal_client_get_state:
 * @self: a #NbSignalClient
 *
 * Returns: where the client stands
 */
NbSignalClientState
nb_signal_client_get_state (NbSignalClient *self)
{
  g_return_val_if_fail (NB_IS_SIGNAL_CLIENT (self), NB_SIGNAL_CLIENT_STATE_DISCONNECTED);
  return self->state;
}

/**
 * nb_signal_client_get_url:
 * @self: a #NbSignalClient
 *
 * Returns: the server's URL as given
 */
const char *
nb_signal_client_get_url (NbSignalClient *self)
{
  g_return_val_if_fail (NB_IS_SIGNAL_CLIENT (self), NULL);
  return self->url;
}

/**
 * nb_signal_client_get_key:
 * @self: a #NbSignalClient
 *
 * Returns: (transfer none): the peer's key
 */
NbKey *
nb_signal_client_get_key (NbSignalClient *self)
{
  g_return_val_if_fail (NB_IS_SIGNAL_CLIENT (self), NULL);
  return self->key;
}

/**
 * nb_signal_client_get_replaced:
 * @self: a #NbSignalClient
 *
 * Returns: %TRUE when another connection registered the same key after
 *   this one (see #NbSignalClient:replaced)
 */
gboolean
nb_signal_client_get_replaced (NbSignalClient *self)
{
  g_return_val_if_fail (NB_IS_SIGNAL_CLIENT (self), FALSE);
  return self->replaced;
}

/**
 * nb_signal_client_get_n_connects:
 * @self: a #NbSignalClient
 *
 * Returns: how many times the client registered (see #NbSignalClient:n-connects)
 */
guint
nb_signal_client_get_n_connects (NbSignalClient *self)
{
  g_return_val_if_fail (NB_IS_SIGNAL_CLIENT (self), 0);
  return self->n_connects;
}
