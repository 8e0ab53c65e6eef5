/* nb-mgmt-client-protocol.c: the server key and login of the client protocol
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-management"

#include <string.h>

#include <sys/socket.h>

#include "nb-mgmt-server-private.h"
#include "nb-text-private.h"

/* Errors are answered in clear JSON ({"code", "message"}): they name no
 * secret, and a peer whose envelope we could not open cannot read a sealed
 * answer anyway. */
void
nb_mgmt_server_reply_error (SoupServerMessage *msg,
                            guint              status,
                            const char        *code,
                            const char        *message)
{
  g_autoptr(NbMgmtMsgErrorResponse) response = nb_mgmt_msg_error_response_new ();
  g_autoptr(GBytes) body = NULL;
  gsize length = 0;
  gconstpointer data;

  response->code = g_strdup (code);
  response->message = g_strdup (message);
  body = nb_mgmt_msg_error_response_to_bytes (response);
  data = g_bytes_get_data (body, &length);

  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, data, length);
}

static void
reply_sealed (NbManagementServer *self,
              SoupServerMessage  *msg,
              NbKey              *peer_key,
              GBytes             *plaintext)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) sealed = nb_envelope_seal (self->key, peer_key, plaintext, &error);
  gsize length = 0;
  gconstpointer data;

  if (sealed == NULL)
    {
      nb_mgmt_server_reply_error (msg, SOUP_STATUS_BAD_REQUEST, "unusable_key", error->message);
      return;
    }
  data = g_bytes_get_data (sealed, &length);
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "application/octet-stream", SOUP_MEMORY_COPY,
                                    data, length);
}

static void
handle_server_key (SoupServer        *server,
                   SoupServerMessage *msg,
                   const char        *path,
                   GHashTable        *query,
                   gpointer           user_data)
{
  NbManagementServer *self = user_data;
  g_autoptr(NbMgmtMsgServerKeyResponse) response = NULL;
  g_autoptr(GBytes) body = NULL;
  gsize length = 0;
  gconstpointer data;

  if (soup_server_message_get_method (msg) != SOUP_METHOD_GET)
    {
      soup_message_headers_append (soup_server_message_get_response_headers (msg), "Allow", "GET");
      nb_mgmt_server_reply_error (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "method_not_allowed",
                                  "The server key is read with GET");
      return;
    }

  response = nb_mgmt_msg_server_key_response_new ();
  response->key = g_strdup (nb_key_get_public_base64 (self->key));
  response->version = NB_MGMT_PROTO_VERSION;
  body = nb_mgmt_msg_server_key_response_to_bytes (response);
  data = g_bytes_get_data (body, &length);
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, data, length);
}

/* Opens a sealed request body. On failure the reply is set. */
static GBytes *
open_request (NbManagementServer *self,
              SoupServerMessage  *msg,
              GBytes             *body,
              NbKey             **peer_key)
{
  g_autoptr(GError) error = NULL;
  GBytes *plaintext = nb_envelope_open (self->key, body, peer_key, &error);

  if (plaintext != NULL)
    return plaintext;

  if (g_error_matches (error, NB_ENVELOPE_ERROR, NB_ENVELOPE_ERROR_WRONG_RECIPIENT))
    nb_mgmt_server_reply_error (msg, SOUP_STATUS_BAD_REQUEST, "wrong_recipient", error->message);
  else if (g_error_matches (error, NB_ENVELOPE_ERROR, NB_ENVELOPE_ERROR_AUTHENTICATION_FAILED))
    nb_mgmt_server_reply_error (msg, SOUP_STATUS_UNAUTHORIZED, "authentication_failed",
                                error->message);
  else
    {
      g_autofree char *message = g_strdup_printf ("The request must be sealed to the server "
                                                  "key (" NB_MGMT_PATH_SERVER_KEY "): %s",
                                                  error->message);
      nb_mgmt_server_reply_error (msg, SOUP_STATUS_BAD_REQUEST, "not_sealed", message);
    }
  return NULL;
}

static void
meta_from_wire (const NbMgmtMsgPeerMeta *wire,
                NbMgmtPeerMeta          *meta)
{
  meta->hostname = wire->hostname;
  meta->goos = wire->go_os;
  meta->kernel = wire->kernel;
  meta->kernel_version = wire->kernel_version;
  meta->core = wire->core;
  meta->platform = wire->platform;
  meta->os = wire->os;
  meta->os_version = wire->os_version;
  meta->netbird_version = wire->netbird_version;
  meta->ui_version = wire->ui_version;
}

static void
reply_store_error (SoupServerMessage *msg,
                   const GError      *error)
{
  if (error->domain != NB_MGMT_ERROR)
    {
      nb_mgmt_server_reply_error (msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, "internal",
                                  error->message);
      return;
    }

  switch (error->code)
    {
    case NB_MGMT_ERROR_NOT_FOUND:
      nb_mgmt_server_reply_error (msg, SOUP_STATUS_UNAUTHORIZED, "peer_not_registered",
                                  error->message);
      break;
    case NB_MGMT_ERROR_UNAUTHENTICATED:
      nb_mgmt_server_reply_error (msg, SOUP_STATUS_UNAUTHORIZED, "unauthenticated",
                                  error->message);
      break;
    case NB_MGMT_ERROR_PRECONDITION_FAILED:
    case NB_MGMT_ERROR_PERMISSION_DENIED:
      nb_mgmt_server_reply_error (msg, SOUP_STATUS_FORBIDDEN, "login_refused", error->message);
      break;
    case NB_MGMT_ERROR_INVALID_ARGUMENT:
      nb_mgmt_server_reply_error (msg, SOUP_STATUS_BAD_REQUEST, "invalid_request",
                                  error->message);
      break;
    case NB_MGMT_ERROR_ALREADY_EXISTS:
      nb_mgmt_server_reply_error (msg, SOUP_STATUS_CONFLICT, "conflict", error->message);
      break;
    case NB_MGMT_ERROR_EXHAUSTED:
      nb_mgmt_server_reply_error (msg, SOUP_STATUS_INSUFFICIENT_STORAGE, "network_full",
                                  error->message);
      break;
    default:
      nb_mgmt_server_reply_error (msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, "internal",
                                  error->message);
      break;
    }
}

/* "100.64.0.7" in "100.64.0.0/16" -> "100.64.0.7/16" */
static char *
address_with_prefix (const char *ip,
                     const char *network_cidr)
{
  const char *slash = network_cidr != NULL ? strrchr (network_cidr, '/') : NULL;

  return g_strconcat (ip, slash != NULL ? slash : "/32", NULL);
}

/* A sealed request is taken once and only while fresh (see
 * nb-mgmt-login-replay.c): a captured one cannot register its peer again
 * after it was deleted. Checked once the envelope is open (the time and
 * nonce are under its seal) and before the store sees the request. */
static gboolean
login_is_fresh (NbManagementServer          *self,
                SoupServerMessage           *msg,
                NbKey                       *peer_key,
                const NbMgmtMsgLoginRequest *request)
{
  const char *peer = nb_key_get_public_base64 (peer_key);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  g_autofree char *message = NULL;

  if (request->timestamp == 0 || request->nonce == NULL)
    {
      nb_mgmt_server_reply_error (msg, SOUP_STATUS_BAD_REQUEST, "invalid_request",
                                  "A login request carries the time it was made (“timestamp”, "
                                  "unix seconds) and a fresh random “nonce”");
      return FALSE;
    }

  switch (nb_mgmt_login_replay_check (self->login_replay, peer, request->timestamp,
                                      request->nonce, now))
    {
    case NB_MGMT_LOGIN_FRESH:
      return TRUE;
    case NB_MGMT_LOGIN_STALE:
      message = g_strdup_printf ("The login request was made %" G_GINT64_FORMAT " s %s the "
                                 "server's clock, which takes requests made within %d s (and "
                                 "each once): check the peer's clock and log in again",
                                 ABS (now - request->timestamp),
                                 request->timestamp > now ? "ahead of" : "behind",
                                 NB_MGMT_PROTO_LOGIN_WINDOW);
      g_info ("Login of peer %s refused: stale request (%" G_GINT64_FORMAT " s off)", peer,
              request->timestamp - now);
      nb_mgmt_server_reply_error (msg, SOUP_STATUS_BAD_REQUEST, "stale_request", message);
      return FALSE;
    case NB_MGMT_LOGIN_REPLAYED:
    default:
      g_info ("Login of peer %s refused: the request was replayed", peer);
      nb_mgmt_server_reply_error (msg, SOUP_STATUS_UNAUTHORIZED, "replayed_request",
                                  "This login request was taken before: each request is "
                                  "taken once, log in again with a new one");
      return FALSE;
    }
}

static void
handle_login (SoupServer        *server,
              SoupServerMessage *msg,
              const char        *path,
              GHashTable        *query,
              gpointer           user_data)
{
  NbManagementServer *self = user_data;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GBytes) plaintext = NULL;
  g_autoptr(NbKey) peer_key = NULL;
  g_autoptr(NbMgmtMsgLoginRequest) request = NULL;
  g_autoptr(NbMgmtMsgLoginResponse) response = NULL;
  g_autoptr(NbMgmtPeer) peer = NULL;
  g_autoptr(NbMgmtAccount) account = NULL;
  g_autoptr(GBytes) response_bytes = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *domain = NULL;
  g_autofree char *fqdn = NULL;
  g_autofree char *address = NULL;
  NbMgmtPeerMeta meta = { 0 };
  gboolean registered = FALSE;

  if (soup_server_message_get_method (msg) != SOUP_METHOD_POST)
    {
      soup_message_headers_append (soup_server_message_get_response_headers (msg), "Allow",
                                   "POST");
      nb_mgmt_server_reply_error (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "method_not_allowed",
                                  "Log in with POST and a sealed login request");
      return;
    }

  body = soup_message_body_flatten (soup_server_message_get_request_body (msg));
  if (g_bytes_get_size (body) > NB_MGMT_MAX_SEALED_REQUEST)
    {
      nb_mgmt_server_reply_error (msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "too_large",
                                  "The login request is larger than the server accepts");
      return;
    }

  plaintext = open_request (self, msg, body, &peer_key);
  if (plaintext == NULL)
    return;

  request = nb_mgmt_msg_login_request_from_bytes (plaintext, &error);
  if (request == NULL)
    {
      nb_mgmt_server_reply_error (msg, SOUP_STATUS_BAD_REQUEST, "invalid_request",
                                  error->message);
      return;
    }

  if (!login_is_fresh (self, msg, peer_key, request))
    return;

  if (request->jwt_token != NULL && request->jwt_token[0] != '\0')
    {
      nb_mgmt_server_reply_error (msg, SOUP_STATUS_UNAUTHORIZED, "unauthenticated",
                                  "This server has no identity provider configured: register "
                                  "the peer with a setup key");
      return;
    }

  meta_from_wire (request->meta, &meta);
  peer = nb_mgmt_store_login (self->store, nb_key_get_public_base64 (peer_key),
                              request->setup_key != NULL && request->setup_key[0] != '\0'
                                ? request->setup_key : NULL,
                              &meta, &registered, &error);
  if (peer == NULL)
    {
      g_autofree char *reason = nb_text_escape (error->message, -1, NB_TEXT_LOG_MAX);

      g_info ("Login of peer %s refused: %s", nb_key_get_public_base64 (peer_key), reason);
      reply_store_error (msg, error);
      return;
    }

  account = nb_mgmt_store_get_account (self->store, peer->account_id, &error);
  if (account != NULL)
    domain = nb_mgmt_store_get_dns_domain (self->store, peer->account_id, &error);
  if (account == NULL || domain == NULL)
    {
      reply_store_error (msg, error);
      return;
    }

  {
    g_autofree char *name = nb_text_escape (peer->name, -1, NB_TEXT_LOG_MAX);

    g_info ("Peer \"%s\" (%s) %s with address %s", name, nb_key_get_public_base64 (peer_key),
            registered ? "registered" : "logged in", peer->ip);
  }

  address = address_with_prefix (peer->ip, account->network_cidr);
  fqdn = g_strconcat (peer->dns_label, ".", domain, NULL);
  response = nb_mgmt_msg_login_response_new ();
  response->peer_config = nb_mgmt_server_build_peer_config (address, fqdn, peer->ssh_enabled);
  response->netbird_config = nb_mgmt_server_build_netbird_config (self, peer->key);
  response_bytes = nb_mgmt_msg_login_response_to_bytes (response);
  reply_sealed (self, msg, peer_key, response_bytes);
}

/* Bodies are bounded before they are read: a login announces its length
 * (no chunked uploads) and a larger one is refused at the headers. */
static void
handle_early (SoupServer        *server,
              SoupServerMessage *msg,
              const char        *path,
              GHashTable        *query,
              gpointer           user_data)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  goffset length;

  if (soup_server_message_get_method (msg) != SOUP_METHOD_POST)
    return;

  if (soup_message_headers_get_encoding (headers) != SOUP_ENCODING_CONTENT_LENGTH)
    {
      nb_mgmt_server_reply_error (msg, SOUP_STATUS_LENGTH_REQUIRED, "length_required",
                                  "A login request must carry Content-Length");
      soup_message_headers_append (soup_server_message_get_response_headers (msg),
                                   "Connection", "close");
      return;
    }
  length = soup_message_headers_get_content_length (headers);
  if (length > NB_MGMT_MAX_SEALED_REQUEST)
    {
      g_autofree char *message =
        g_strdup_printf ("A login request is at most %d bytes, this one is %" G_GOFFSET_FORMAT,
                         NB_MGMT_MAX_SEALED_REQUEST, length);

      nb_mgmt_server_reply_error (msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "too_large",
                                  message);
      soup_message_headers_append (soup_server_message_get_response_headers (msg),
                                   "Connection", "close");
    }
}

/* A network map at 10,000 peers is 300 KB sealed. With the kernel's
 * starting send buffer a push takes several partial writes, each waiting
 * for a main-loop iteration that polls every channel; a buffer that holds
 * a whole map lets libsoup hand it over in one write. The kernel keeps only
 * what is queued, so idle channels cost nothing. */
#define SYNC_SEND_BUFFER (1024 * 1024)

static GSocket *
socket_of_stream (GIOStream *stream)
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
  return stream != NULL ? g_socket_connection_get_socket (G_SOCKET_CONNECTION (stream)) : NULL;
}

static void
handle_sync_websocket (SoupServer              *server,
                       SoupServerMessage       *msg,
                       const char              *path,
                       SoupWebsocketConnection *connection,
                       gpointer                 user_data)
{
  GSocket *socket = socket_of_stream (soup_websocket_connection_get_io_stream (connection));
  g_autoptr(GError) error = NULL;

  if (socket == NULL)
    g_debug ("Sync channel: no socket under the WebSocket stream; send buffer left as is");
  else if (!g_socket_set_option (socket, SOL_SOCKET, SO_SNDBUF, SYNC_SEND_BUFFER, &error))
    g_debug ("Sync channel: cannot raise the send buffer: %s", error->message);
  nb_mgmt_sync_accept (user_data, connection);
}

static void
handle_unknown (SoupServer        *server,
                SoupServerMessage *msg,
                const char        *path,
                GHashTable        *query,
                gpointer           user_data)
{
  if (g_str_equal (path, NB_MGMT_PATH_SYNC))
    nb_mgmt_server_reply_error (msg, SOUP_STATUS_BAD_REQUEST, "websocket_required",
                                "The sync channel is a WebSocket: send an Upgrade request");
  else
    nb_mgmt_server_reply_error (msg, SOUP_STATUS_NOT_FOUND, "not_found",
                                "No such path in the management client protocol");
}

void
nb_mgmt_server_add_client_handlers (NbManagementServer *self)
{
  soup_server_add_early_handler (self->soup, NB_MGMT_PATH_LOGIN, handle_early, self, NULL);
  soup_server_add_handler (self->soup, NB_MGMT_PATH_SERVER_KEY, handle_server_key, self, NULL);
  soup_server_add_handler (self->soup, NB_MGMT_PATH_LOGIN, handle_login, self, NULL);
  soup_server_add_websocket_handler (self->soup, NB_MGMT_PATH_SYNC, NULL, NULL,
                                     handle_sync_websocket, self, NULL);
  soup_server_add_handler (self->soup, "/management", handle_unknown, self, NULL);
}
