/* nb-mgmt-client.c: the peer's side of Management's client protocol
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-management-client"

#include <string.h>

#include <libsoup/soup.h>
#include <sodium.h>

#include "nb-sodium-private.h"

#include "nb-envelope.h"
#include "nb-mgmt-client.h"
#include "nb-text-private.h"

/* Bound on what the client reads from the server: a network map. */
#define MAX_MAP_MESSAGE (NB_MGMT_PROTO_MAX_MAP_SIZE + NB_ENVELOPE_OVERHEAD)
/* How often the client pings its idle sync channel: under the idle
 * timeouts of common proxies (60 s) and NAT mappings. */
#define SYNC_KEEPALIVE_SECONDS 25

struct _NbMgmtClient
{
  GObject parent_instance;

  char *url;
  NbKey *key;
  NbKey *server_key;
  SoupSession *session;
  SoupWebsocketConnection *ws;
  GTask *sync_task;   /* until the first map */
};

G_DEFINE_FINAL_TYPE (NbMgmtClient, nb_mgmt_client, G_TYPE_OBJECT)

G_DEFINE_QUARK (nb-mgmt-client-error-quark, nb_mgmt_client_error)

enum {
  SIGNAL_NETWORK_MAP,
  SIGNAL_CLOSED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
nb_mgmt_client_dispose (GObject *object)
{
  NbMgmtClient *self = NB_MGMT_CLIENT (object);

  nb_mgmt_client_close (self);
  g_clear_object (&self->session);
  G_OBJECT_CLASS (nb_mgmt_client_parent_class)->dispose (object);
}

static void
nb_mgmt_client_finalize (GObject *object)
{
  NbMgmtClient *self = NB_MGMT_CLIENT (object);

  g_free (self->url);
  g_clear_object (&self->key);
  g_clear_object (&self->server_key);
  G_OBJECT_CLASS (nb_mgmt_client_parent_class)->finalize (object);
}

static void
nb_mgmt_client_class_init (NbMgmtClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = nb_mgmt_client_dispose;
  object_class->finalize = nb_mgmt_client_finalize;

  signals[SIGNAL_NETWORK_MAP] =
    g_signal_new ("network-map", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
  signals[SIGNAL_CLOSED] =
    g_signal_new ("closed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_STRING);
}

static void
nb_mgmt_client_init (NbMgmtClient *self)
{
  self->session = soup_session_new_with_options ("timeout", 30, NULL);
}

NbMgmtClient *
nb_mgmt_client_new (const char *url,
                    NbKey      *key)
{
  NbMgmtClient *self;

  g_return_val_if_fail (url != NULL, NULL);
  g_return_val_if_fail (NB_IS_KEY (key) && nb_key_has_private (key), NULL);

  self = g_object_new (NB_TYPE_MGMT_CLIENT, NULL);
  self->url = g_strdup (url);
  while (g_str_has_suffix (self->url, "/"))
    self->url[strlen (self->url) - 1] = '\0';
  self->key = g_object_ref (key);
  return self;
}

static char *
endpoint (NbMgmtClient *self,
          const char   *path)
{
  return g_strconcat (self->url, path, NULL);
}

/* An error answer: {"code", "message"} in clear. */
static GError *
refusal (SoupMessage *msg,
         GBytes      *body)
{
  g_autoptr(NbMgmtMsgErrorResponse) error_body = NULL;
  guint status = soup_message_get_status (msg);

  if (body != NULL)
    error_body = nb_mgmt_msg_error_response_from_bytes (body, NULL);
  if (error_body == NULL)
    return g_error_new (NB_MGMT_CLIENT_ERROR, NB_MGMT_CLIENT_ERROR_PROTOCOL,
                        "Management answered %u %s", status,
                        soup_message_get_reason_phrase (msg));
  /* The two a user acts on carry the server's own words (the client
   * engine says what they mean for the user). */
  if (g_str_equal (error_body->code, "unauthenticated") ||
      g_str_equal (error_body->code, "login_refused"))
    {
      g_autofree char *text = nb_text_escape (error_body->message, -1, NB_TEXT_LOG_MAX);

      return g_error_new_literal (NB_MGMT_CLIENT_ERROR,
                                  g_str_equal (error_body->code, "unauthenticated")
                                    ? NB_MGMT_CLIENT_ERROR_UNAUTHENTICATED
                                    : NB_MGMT_CLIENT_ERROR_LOGIN_REFUSED, text);
    }
  return g_error_new (NB_MGMT_CLIENT_ERROR,
                      g_str_equal (error_body->code, "peer_not_registered")
                        ? NB_MGMT_CLIENT_ERROR_NOT_REGISTERED : NB_MGMT_CLIENT_ERROR_REFUSED,
                      "Management refused (%s): %s", error_body->code, error_body->message);
}

/* ---- server key ---- */

static void
on_server_key (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  NbMgmtClient *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (self->session, result, &error);
  SoupMessage *msg = soup_session_get_async_result_message (self->session, result);
  g_autoptr(NbMgmtMsgServerKeyResponse) response = NULL;
  NbKey *key;

  if (body == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (soup_message_get_status (msg) != SOUP_STATUS_OK)
    {
      g_task_return_error (task, refusal (msg, body));
      return;
    }
  response = nb_mgmt_msg_server_key_response_from_bytes (body, &error);
  if (response == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  key = nb_key_new_public_from_base64 (response->key, &error);
  if (key == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_set_object (&self->server_key, key);
  g_task_return_pointer (task, key, g_object_unref);
}

void
nb_mgmt_client_get_server_key_async (NbMgmtClient        *self,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autofree char *url = NULL;
  g_autoptr(SoupMessage) msg = NULL;

  g_task_set_source_tag (task, nb_mgmt_client_get_server_key_async);
  if (self->server_key != NULL)
    {
      g_task_return_pointer (task, g_object_ref (self->server_key), g_object_unref);
      return;
    }
  url = endpoint (self, "/management/v1/server-key");
  msg = soup_message_new ("GET", url);
  if (msg == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               "“%s” is not a Management URL", self->url);
      return;
    }
  soup_session_send_and_read_async (self->session, msg, G_PRIORITY_DEFAULT, cancellable,
                                    on_server_key, g_steal_pointer (&task));
}

NbKey *
nb_mgmt_client_get_server_key_finish (NbMgmtClient  *self,
                                      GAsyncResult  *result,
                                      GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- login ---- */

typedef struct
{
  char *setup_key;
  NbMgmtMsgPeerMeta *meta;
} LoginData;

static void
login_data_free (LoginData *data)
{
  g_free (data->setup_key);
  nb_mgmt_msg_peer_meta_free (data->meta);
  g_free (data);
}

/* The codec has no copy: a message is copied through its JSON. */
static NbMgmtMsgPeerMeta *
copy_meta (const NbMgmtMsgPeerMeta *meta)
{
  g_autoptr(GBytes) bytes = nb_mgmt_msg_peer_meta_to_bytes (meta);

  return nb_mgmt_msg_peer_meta_from_bytes (bytes, NULL);
}

static void
on_login_reply (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  NbMgmtClient *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (self->session, result, &error);
  SoupMessage *msg = soup_session_get_async_result_message (self->session, result);
  g_autoptr(GBytes) plain = NULL;
  g_autoptr(NbKey) sender = NULL;
  NbMgmtMsgLoginResponse *response;

  if (body == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (soup_message_get_status (msg) != SOUP_STATUS_OK)
    {
      g_task_return_error (task, refusal (msg, body));
      return;
    }
  plain = nb_envelope_open (self->key, body, &sender, &error);
  if (plain == NULL || !nb_key_equal (sender, self->server_key))
    {
      g_task_return_new_error (task, NB_MGMT_CLIENT_ERROR, NB_MGMT_CLIENT_ERROR_PROTOCOL,
                               "Management's login answer is not sealed by its key%s%s",
                               error ? ": " : "", error ? error->message : "");
      return;
    }
  response = nb_mgmt_msg_login_response_from_bytes (plain, &error);
  if (response == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, response, (GDestroyNotify) nb_mgmt_msg_login_response_free);
}

/* 16 random bytes, base64 without padding. */
static char *
new_nonce (void)
{
  guint8 bytes[16];
  char *text;
  gsize len;

  nb_sodium_ensure_init ();
  randombytes_buf (bytes, sizeof bytes);
  text = g_base64_encode (bytes, sizeof bytes);
  len = strlen (text);
  while (len > 0 && text[len - 1] == '=')
    text[--len] = '\0';
  return text;
}

static void
login_with_key (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  NbMgmtClient *self = g_task_get_source_object (task);
  LoginData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(NbKey) server_key = nb_mgmt_client_get_server_key_finish (self, result, &error);
  g_autoptr(NbMgmtMsgLoginRequest) request = NULL;
  g_autoptr(GBytes) plain = NULL;
  g_autoptr(GBytes) sealed = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  g_autofree char *url = NULL;
  GCancellable *cancellable = g_task_get_cancellable (task);

  if (server_key == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  request = nb_mgmt_msg_login_request_new ();
  request->setup_key = g_strdup (data->setup_key);
  request->meta = g_steal_pointer (&data->meta);
  /* The server takes each sealed request once, within a window of its
   * clock (NB_MGMT_PROTO_LOGIN_WINDOW). */
  request->timestamp = g_get_real_time () / G_USEC_PER_SEC;
  request->nonce = new_nonce ();
  plain = nb_mgmt_msg_login_request_to_bytes (request);
  sealed = nb_envelope_seal (self->key, server_key, plain, &error);
  if (sealed == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  url = endpoint (self, "/management/v1/login");
  msg = soup_message_new ("POST", url);
  soup_message_set_request_body_from_bytes (msg, "application/octet-stream", sealed);
  soup_session_send_and_read_async (self->session, msg, G_PRIORITY_DEFAULT, cancellable,
                                    on_login_reply, g_steal_pointer (&task));
}

void
nb_mgmt_client_login_async (NbMgmtClient            *self,
                            const char              *setup_key,
                            const NbMgmtMsgPeerMeta *meta,
                            GCancellable            *cancellable,
                            GAsyncReadyCallback      callback,
                            gpointer                 user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  LoginData *data = g_new0 (LoginData, 1);

  g_task_set_source_tag (task, nb_mgmt_client_login_async);
  data->setup_key = g_strdup (setup_key);
  data->meta = copy_meta (meta);
  g_task_set_task_data (task, data, (GDestroyNotify) login_data_free);
  if (data->meta == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               "The peer's system meta is not valid (a hostname is required)");
      g_object_unref (task);
      return;
    }
  nb_mgmt_client_get_server_key_async (self, cancellable, login_with_key, task);
}

NbMgmtMsgLoginResponse *
nb_mgmt_client_login_finish (NbMgmtClient  *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- sync channel ---- */

static void
sync_fail (NbMgmtClient *self,
           GError       *error)
{
  g_autoptr(GTask) task = g_steal_pointer (&self->sync_task);

  if (task != NULL)
    g_task_return_error (task, error);
  else
    g_error_free (error);
}

static void
on_ws_message (SoupWebsocketConnection *ws,
               gint                     type,
               GBytes                  *message,
               NbMgmtClient            *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbKey) sender = NULL;
  g_autoptr(GBytes) plain = NULL;
  g_autoptr(NbMgmtMsgSyncResponse) response = NULL;

  /* What arrives from the network is logged, never g_warning()ed: under
   * G_DEBUG=fatal-warnings a hostile server could otherwise abort us. */
  plain = nb_envelope_open (self->key, message, &sender, &error);
  if (plain == NULL || !nb_key_equal (sender, self->server_key))
    {
      g_message ("Dropping a sync message not sealed by Management's key%s%s",
                 error ? ": " : "", error ? error->message : "");
      return;
    }
  response = nb_mgmt_msg_sync_response_from_bytes (plain, &error);
  if (response == NULL)
    {
      g_autofree char *reason = nb_text_escape (error->message, -1, NB_TEXT_LOG_MAX);

      g_message ("Dropping an invalid network map: %s", reason);
      return;
    }
  g_signal_emit (self, signals[SIGNAL_NETWORK_MAP], 0, response);
  if (self->sync_task != NULL)
    {
      g_autoptr(GTask) task = g_steal_pointer (&self->sync_task);
      g_task_return_boolean (task, TRUE);
    }
}

static void
on_ws_closed (SoupWebsocketConnection *ws,
              NbMgmtClient            *self)
{
  guint code = soup_websocket_connection_get_close_code (ws);
  const char *reason = soup_websocket_connection_get_close_data (ws);

  if (self->sync_task != NULL)
    sync_fail (self, g_error_new (NB_MGMT_CLIENT_ERROR,
                                  code == 4004 ? NB_MGMT_CLIENT_ERROR_NOT_REGISTERED
                                               : NB_MGMT_CLIENT_ERROR_REFUSED,
                                  "Management closed the sync channel: %u %s", code,
                                  reason ? reason : ""));
  g_signal_handlers_disconnect_by_data (ws, self);
  g_clear_object (&self->ws);
  g_signal_emit (self, signals[SIGNAL_CLOSED], 0, code, reason);
}

static void
on_ws_connected (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  NbMgmtClient *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtMsgSyncRequest) request = NULL;
  g_autoptr(GBytes) plain = NULL;
  g_autoptr(GBytes) sealed = NULL;
  gsize len = 0;
  gconstpointer data;

  self->ws = soup_session_websocket_connect_finish (self->session, result, &error);
  if (self->ws == NULL)
    {
      sync_fail (self, g_steal_pointer (&error));
      g_object_unref (self);
      return;
    }
  soup_websocket_connection_set_max_incoming_payload_size (self->ws, MAX_MAP_MESSAGE);
  /* The client pings (the server answers, and keeps no timer per channel):
   * a proxy or a NAT on the way sees traffic on an idle channel. */
  soup_websocket_connection_set_keepalive_interval (self->ws, SYNC_KEEPALIVE_SECONDS);
  g_signal_connect (self->ws, "message", G_CALLBACK (on_ws_message), self);
  g_signal_connect (self->ws, "closed", G_CALLBACK (on_ws_closed), self);

  request = nb_mgmt_msg_sync_request_new ();
  request->meta = g_task_get_task_data (self->sync_task);
  plain = nb_mgmt_msg_sync_request_to_bytes (request);
  request->meta = NULL; /* owned by the task */
  sealed = nb_envelope_seal (self->key, self->server_key, plain, &error);
  if (sealed == NULL)
    {
      sync_fail (self, g_steal_pointer (&error));
      g_object_unref (self);
      return;
    }
  data = g_bytes_get_data (sealed, &len);
  soup_websocket_connection_send_binary (self->ws, data, len);
  g_object_unref (self);
}

static void
sync_with_key (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  NbMgmtClient *self = NB_MGMT_CLIENT (source);
  g_autoptr(GError) error = NULL;
  g_autoptr(NbKey) server_key = nb_mgmt_client_get_server_key_finish (self, result, &error);
  g_autofree char *url = NULL;
  g_autoptr(SoupMessage) msg = NULL;

  if (server_key == NULL)
    {
      sync_fail (self, g_steal_pointer (&error));
      return;
    }
  if (g_str_has_prefix (self->url, "https://"))
    url = g_strconcat ("wss://", self->url + 8, "/management/v1/sync", NULL);
  else
    url = g_strconcat ("ws://", self->url + strlen ("http://"), "/management/v1/sync", NULL);
  msg = soup_message_new ("GET", url);
  soup_session_websocket_connect_async (self->session, msg, NULL, NULL, G_PRIORITY_DEFAULT,
                                        g_task_get_cancellable (self->sync_task),
                                        on_ws_connected, g_object_ref (self));
}

void
nb_mgmt_client_sync_async (NbMgmtClient            *self,
                           const NbMgmtMsgPeerMeta *meta,
                           GCancellable            *cancellable,
                           GAsyncReadyCallback      callback,
                           gpointer                 user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, nb_mgmt_client_sync_async);
  if (self->sync_task != NULL || self->ws != NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING,
                               "The sync channel is already open");
      g_object_unref (task);
      return;
    }
  if (!g_str_has_prefix (self->url, "http://") && !g_str_has_prefix (self->url, "https://"))
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               "“%s” is not an http(s) Management URL", self->url);
      g_object_unref (task);
      return;
    }
  g_task_set_task_data (task, meta != NULL ? copy_meta (meta) : NULL,
                        (GDestroyNotify) nb_mgmt_msg_peer_meta_free);
  self->sync_task = task;
  nb_mgmt_client_get_server_key_async (self, cancellable, sync_with_key, NULL);
}

gboolean
nb_mgmt_client_sync_finish (NbMgmtClient  *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
nb_mgmt_client_close (NbMgmtClient *self)
{
  g_return_if_fail (NB_IS_MGMT_CLIENT (self));

  if (self->ws != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->ws, self);
      if (soup_websocket_connection_get_state (self->ws) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (self->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      g_clear_object (&self->ws);
    }
  if (self->sync_task != NULL)
    sync_fail (self, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                          "The sync channel was closed"));
}
