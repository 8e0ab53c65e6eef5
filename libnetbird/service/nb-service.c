/* nb-service.c: a hardened HTTP/WebSocket service over a SoupServer
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-service"

#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "nb-service-internal.h"

/* The service owns the listening socket (nb-service-listener.c) and every
 * accepted connection; libsoup gets each one through
 * soup_server_accept_iostream() over an NbServiceStream, and never sees the
 * listener. That gives the base the connection's whole life:
 *
 * - caps at accept() (the listener), the TLS handshake under a deadline;
 * - a deadline per phase (headers, body, idle, TLS), from SoupServer's
 *   request-started and SoupServerMessage's got-headers, got-body and
 *   wrote-informational signals, and request-finished/aborted;
 * - limits before a byte is read: an announced body over the limit, a
 *   request a handler already answered in got-headers, headers or a body
 *   past their budget. libsoup 3.2 reads a body whatever status got-headers
 *   set, so the base takes the connection from libsoup
 *   (soup_server_message_steal_connection()), writes the answer itself and
 *   closes after a short drain (so that the answer is not lost to a reset).
 *
 * A request's connection is found from the message through its remote
 * address: the base passes libsoup one GSocketAddress object per connection
 * and soup_server_message_get_remote_address() returns that object
 * (soup_server_message_get_socket() is NULL for an accepted stream). */

/* RFC 6585 §5; libsoup 3.2 has no name for it. */
#define NB_HTTP_HEADER_FIELDS_TOO_LARGE 431
#define DRAIN_MAX_BYTES (256 * 1024)
#define DRAIN_MS 1000
/* Chunked framing on top of the body limit. */
#define BODY_FRAMING_SLACK (64 * 1024)

G_DEFINE_FINAL_TYPE (NbService, nb_service, G_TYPE_OBJECT)

static const char *
status_phrase (guint status)
{
  if (status == NB_HTTP_HEADER_FIELDS_TOO_LARGE)
    return "Request Header Fields Too Large";
  return soup_status_get_phrase (status);
}

static GQuark
conn_quark (void)
{
  return g_quark_from_static_string ("nb-service-conn");
}

static const char *const phase_names[] = {
  "tls", "headers", "body", "handler", "idle", "websocket", "closing",
};

static void conn_set_phase (NbServiceConn *conn, NbServicePhase phase);
static void conn_close (NbServiceConn *conn);

/* Connections ------------------------------------------------------------- */

static void
conn_free (NbServiceConn *conn)
{
  if (conn->timer != NULL)
    {
      g_source_destroy (conn->timer);
      g_clear_pointer (&conn->timer, g_source_unref);
    }
  if (conn->drain != NULL)
    {
      g_source_destroy (conn->drain);
      g_clear_pointer (&conn->drain, g_source_unref);
    }
  if (conn->tls_cancellable != NULL)
    {
      g_object_set_qdata (G_OBJECT (conn->tls_cancellable), conn_quark (), NULL);
      g_cancellable_cancel (conn->tls_cancellable);
    }
  g_clear_object (&conn->tls_cancellable);
  if (conn->stream != NULL)
    nb_service_stream_set_callbacks (conn->stream, NULL, NULL, NULL, NULL);
  if (conn->remote != NULL)
    g_object_set_qdata (G_OBJECT (conn->remote), conn_quark (), NULL);
  g_clear_object (&conn->msg);
  g_clear_object (&conn->stream);
  g_clear_object (&conn->transport);
  g_clear_object (&conn->remote);
  g_clear_object (&conn->local);
  g_clear_object (&conn->socket);
  g_free (conn->address);
  g_free (conn);
}

/* Forgets @conn: counts, tables, memory. The connection is closed or
 * libsoup closes it. */
static void
conn_forget (NbServiceConn *conn)
{
  NbService *self = conn->service;
  guint count;

  if (conn->channel != NULL)
    nb_service_conn_set_channel (conn, NULL);
  if (conn->stream != NULL)
    {
      self->metrics.bytes_received += nb_service_stream_get_bytes_read (conn->stream);
      self->metrics.bytes_sent += nb_service_stream_get_bytes_written (conn->stream);
    }
  count = GPOINTER_TO_UINT (g_hash_table_lookup (self->per_address, conn->address));
  if (count <= 1)
    g_hash_table_remove (self->per_address, conn->address);
  else
    g_hash_table_insert (self->per_address, g_strdup (conn->address), GUINT_TO_POINTER (count - 1));
  self->metrics.connections_open--;
  g_hash_table_remove (self->connections, conn); /* frees @conn */
}

static void
on_stream_closed (NbServiceStream *stream,
                  gpointer         user_data)
{
  conn_forget (user_data);
}

static void
on_stream_wrote (NbServiceStream *stream,
                 gpointer         user_data)
{
  NbServiceConn *conn = user_data;

  if (conn->channel != NULL)
    nb_service_channel_wrote (conn->channel);
}

/* Closes what the base holds itself (refused, or never given to libsoup). */
static void
conn_close (NbServiceConn *conn)
{
  if (conn->stream != NULL)
    {
      /* Closing forgets @conn, which drops its reference to the stream. */
      g_autoptr(NbServiceStream) stream = g_object_ref (conn->stream);

      g_io_stream_close (G_IO_STREAM (stream), NULL, NULL);
    }
  else
    {
      if (conn->transport != NULL)
        g_io_stream_close (conn->transport, NULL, NULL);
      else
        g_socket_close (conn->socket, NULL);
      conn_forget (conn);
    }
}

static gboolean
on_drain (GSocket      *socket,
          GIOCondition  condition,
          gpointer      user_data)
{
  NbServiceConn *conn = user_data;
  char buffer[16384];
  gssize n;

  do
    {
      n = g_socket_receive_with_blocking (socket, buffer, sizeof buffer, FALSE, NULL, NULL);
      if (n > 0)
        conn->drained += (guint64) n;
    }
  while (n > 0 && conn->drained < DRAIN_MAX_BYTES);

  if (n == 0 || conn->drained >= DRAIN_MAX_BYTES ||
      (n < 0 && !(condition & G_IO_IN) && (condition & (G_IO_HUP | G_IO_ERR))))
    {
      g_clear_pointer (&conn->drain, g_source_unref);
      conn_close (conn);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

/* Writes a whole response (small: a status and a JSON message) without
 * blocking, then shuts the sending side and drains what the client still
 * sends for a moment, up to a bound: closing with unread data would reset
 * the connection and the client could lose the answer. */
static void
conn_answer_and_close (NbServiceConn *conn,
                       guint          status,
                       const char    *content_type,
                       GBytes        *body)
{
  g_autoptr(GString) response = g_string_new (NULL);
  GOutputStream *output;
  gsize length = 0;
  const char *data = body != NULL ? g_bytes_get_data (body, &length) : NULL;
  gsize done = 0;

  g_string_append_printf (response, "HTTP/1.1 %u %s\r\n", status, status_phrase (status));
  g_string_append (response, "Connection: close\r\n");
  if (length > 0)
    g_string_append_printf (response, "Content-Type: %s\r\n",
                            content_type != NULL ? content_type : "application/json");
  g_string_append_printf (response, "Content-Length: %" G_GSIZE_FORMAT "\r\n\r\n", length);
  if (length > 0)
    g_string_append_len (response, data, (gssize) length);

  output = g_io_stream_get_output_stream (G_IO_STREAM (conn->stream));
  while (done < response->len)
    {
      gssize n = g_pollable_output_stream_write_nonblocking (G_POLLABLE_OUTPUT_STREAM (output),
                                                             response->str + done,
                                                             response->len - done, NULL, NULL);
      if (n <= 0)
        break;
      done += (gsize) n;
    }

  conn_set_phase (conn, NB_SERVICE_PHASE_CLOSING);
  g_socket_shutdown (conn->socket, FALSE, TRUE, NULL);
  conn->drain = g_socket_create_source (conn->socket, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
  g_source_set_callback (conn->drain, G_SOURCE_FUNC (on_drain), conn, NULL);
  g_source_attach (conn->drain, g_main_context_get_thread_default ());
}

static GBytes *
json_error (guint       status,
            const char *message)
{
  g_autoptr(GString) text = g_string_new ("{\"code\":");
  const char *p;

  g_string_append_printf (text, "%u,\"message\":\"", status);
  for (p = message; *p != '\0'; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_c (text, '\\');
      if ((guchar) *p >= 0x20)
        g_string_append_c (text, *p);
    }
  g_string_append (text, "\"}\n");
  return g_string_free_to_bytes (g_steal_pointer (&text));
}

/* Takes the connection back from libsoup (if it has it) and answers. With
 * @message %NULL the answer is the one already set on the request. */
static void
conn_refuse (NbServiceConn *conn,
             guint          status,
             const char    *message)
{
  g_autoptr(SoupServerMessage) msg = g_steal_pointer (&conn->msg);
  g_autoptr(GBytes) body = NULL;
  g_autofree char *content_type = NULL;

  if (conn->phase == NB_SERVICE_PHASE_CLOSING)
    return;
  g_debug ("%s: answering %u on a connection from %s (%s phase)%s%s", conn->service->name,
           status, conn->address, phase_names[conn->phase], message != NULL ? ": " : "",
           message != NULL ? message : "");

  if (msg != NULL && message == NULL)
    {
      SoupMessageBody *response = soup_server_message_get_response_body (msg);

      body = soup_message_body_flatten (response);
      content_type = g_strdup (soup_message_headers_get_content_type (
                                 soup_server_message_get_response_headers (msg), NULL));
    }
  else
    body = json_error (status, message != NULL ? message : status_phrase (status));

  if (msg != NULL)
    {
      g_autoptr(GIOStream) stolen = soup_server_message_steal_connection (msg);
    }
  conn_answer_and_close (conn, status, content_type, body);
}

static gboolean
on_deadline (gpointer user_data)
{
  NbServiceConn *conn = user_data;
  NbService *self = conn->service;

  g_clear_pointer (&conn->timer, g_source_unref);
  switch (conn->phase)
    {
    case NB_SERVICE_PHASE_TLS:
      nb_service_count_timeout (self, NB_SERVICE_TIMEOUT_TLS);
      g_cancellable_cancel (conn->tls_cancellable);
      break;
    case NB_SERVICE_PHASE_HEADERS:
      nb_service_count_timeout (self, NB_SERVICE_TIMEOUT_HEADERS);
      conn_refuse (conn, SOUP_STATUS_REQUEST_TIMEOUT, "request headers not complete in time");
      break;
    case NB_SERVICE_PHASE_BODY:
      nb_service_count_timeout (self, NB_SERVICE_TIMEOUT_BODY);
      conn_refuse (conn, SOUP_STATUS_REQUEST_TIMEOUT, "request body not complete in time");
      break;
    case NB_SERVICE_PHASE_IDLE:
      /* libsoup holds an idle connection: shutting the socket down makes
       * it see the end and let go (closing under it is not safe). */
      nb_service_count_timeout (self, NB_SERVICE_TIMEOUT_IDLE);
      g_socket_shutdown (conn->socket, TRUE, TRUE, NULL);
      break;
    case NB_SERVICE_PHASE_CLOSING:
      conn_close (conn);
      break;
    case NB_SERVICE_PHASE_HANDLER:
    case NB_SERVICE_PHASE_WEBSOCKET:
      break;
    }
  return G_SOURCE_REMOVE;
}

static guint
phase_deadline_ms (NbServiceConn  *conn,
                   NbServicePhase  phase)
{
  const NbServiceLimits *limits = &conn->service->limits;

  switch (phase)
    {
    case NB_SERVICE_PHASE_TLS:
      return limits->tls_timeout_ms;
    case NB_SERVICE_PHASE_HEADERS:
      return limits->header_timeout_ms;
    case NB_SERVICE_PHASE_BODY:
      return limits->body_timeout_ms;
    case NB_SERVICE_PHASE_IDLE:
      return limits->idle_timeout_ms;
    case NB_SERVICE_PHASE_CLOSING:
      return DRAIN_MS;
    case NB_SERVICE_PHASE_HANDLER:
    case NB_SERVICE_PHASE_WEBSOCKET:
      break;
    }
  return 0;
}

static void
conn_set_phase (NbServiceConn  *conn,
                NbServicePhase  phase)
{
  guint ms = phase_deadline_ms (conn, phase);

  conn->phase = phase;
  if (conn->timer != NULL)
    {
      g_source_destroy (conn->timer);
      g_clear_pointer (&conn->timer, g_source_unref);
    }
  if (ms > 0)
    {
      conn->timer = g_timeout_source_new (ms);
      g_source_set_callback (conn->timer, on_deadline, conn, NULL);
      g_source_attach (conn->timer, g_main_context_get_thread_default ());
    }
  if (conn->stream == NULL)
    return;
  switch (phase)
    {
    case NB_SERVICE_PHASE_HEADERS:
    case NB_SERVICE_PHASE_IDLE:
      nb_service_stream_set_read_budget (conn->stream, conn->service->limits.max_header_size);
      break;
    case NB_SERVICE_PHASE_BODY:
      nb_service_stream_set_read_budget (conn->stream, conn->service->limits.max_body_size +
                                                       BODY_FRAMING_SLACK);
      break;
    case NB_SERVICE_PHASE_HANDLER:
    case NB_SERVICE_PHASE_WEBSOCKET:
      nb_service_stream_set_read_budget (conn->stream, G_MAXUINT64);
      break;
    case NB_SERVICE_PHASE_TLS:
    case NB_SERVICE_PHASE_CLOSING:
      break;
    }
}

static void
on_over_budget (NbServiceStream *stream,
                gpointer         user_data)
{
  NbServiceConn *conn = user_data;
  NbService *self = conn->service;

  switch (conn->phase)
    {
    case NB_SERVICE_PHASE_HEADERS:
    case NB_SERVICE_PHASE_IDLE:
      self->metrics.refused[NB_SERVICE_REFUSED_HEADERS_TOO_LARGE]++;
      conn_refuse (conn, NB_HTTP_HEADER_FIELDS_TOO_LARGE,
                   "request headers too large");
      break;
    case NB_SERVICE_PHASE_BODY:
      {
        g_autofree char *text = g_strdup_printf ("request body too large: the limit is %"
                                                 G_GSIZE_FORMAT " bytes",
                                                 self->limits.max_body_size);

        self->metrics.refused[NB_SERVICE_REFUSED_BODY_TOO_LARGE]++;
        conn_refuse (conn, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, text);
        break;
      }
    default:
      break;
    }
}

static void
hand_to_soup (NbServiceConn *conn)
{
  NbService *self = conn->service;
  g_autoptr(GError) error = NULL;

  conn->stream = nb_service_stream_new (conn->transport);
  nb_service_stream_set_callbacks (conn->stream, on_over_budget, on_stream_wrote,
                                   on_stream_closed, conn);
  g_object_set_qdata (G_OBJECT (conn->remote), conn_quark (), conn);
  conn_set_phase (conn, NB_SERVICE_PHASE_HEADERS);
  if (!soup_server_accept_iostream (self->soup, G_IO_STREAM (conn->stream), conn->local,
                                    conn->remote, &error))
    {
      g_warning ("%s: libsoup refused a connection: %s", self->name, error->message);
      conn_close (conn);
    }
}

/* @user_data is the handshake's cancellable: the connection may be gone
 * (the service stopped) by the time the handshake ends. */
static void
on_tls_handshake (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GCancellable) cancellable = user_data;
  NbServiceConn *conn = g_object_get_qdata (G_OBJECT (cancellable), conn_quark ());
  g_autoptr(GError) error = NULL;
  gboolean ok = g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), result, &error);

  if (conn == NULL)
    return;
  g_object_set_qdata (G_OBJECT (cancellable), conn_quark (), NULL);
  if (!ok)
    {
      g_debug ("%s: TLS handshake with %s failed: %s", conn->service->name, conn->address,
               error->message);
      conn->service->metrics.refused[NB_SERVICE_REFUSED_TLS_FAILED]++;
      conn_close (conn);
      return;
    }
  g_clear_object (&conn->tls_cancellable);
  hand_to_soup (conn);
}

/* An accepted socket within the caps (the listener checked them). */
/* The connection's own address. A server listening on one address gets
 * the same one for every connection, and on a wildcard a few at most: the
 * object is shared while it stays the same, which saves two objects per
 * connection (a tenth of a sync channel's memory at 10,000 channels). */
static GSocketAddress *
shared_local_address (NbService *self,
                      GSocket   *socket)
{
  GSocketAddress *local = g_socket_get_local_address (socket, NULL);
  GInetSocketAddress *inet, *last;

  if (local == NULL)
    return g_object_ref (self->local_address);
  if (!G_IS_INET_SOCKET_ADDRESS (local))
    return local;
  inet = G_INET_SOCKET_ADDRESS (local);
  last = (GInetSocketAddress *) self->last_local;
  if (last != NULL &&
      g_inet_socket_address_get_port (last) == g_inet_socket_address_get_port (inet) &&
      g_inet_address_equal (g_inet_socket_address_get_address (last),
                            g_inet_socket_address_get_address (inet)))
    {
      g_object_unref (local);
      return g_object_ref (self->last_local);
    }
  g_set_object (&self->last_local, local);
  return local;
}

void
nb_service_take_socket (NbService      *self,
                        GSocket        *socket,
                        GSocketAddress *remote,
                        const char     *address)
{
  NbServiceConn *conn = g_new0 (NbServiceConn, 1);
  g_autoptr(GError) error = NULL;
  guint count;

  conn->service = self;
  conn->socket = g_object_ref (socket);
  conn->remote = g_object_ref (remote);
  conn->local = shared_local_address (self, socket);
  conn->address = g_strdup (address);
  g_hash_table_add (self->connections, conn);
  count = GPOINTER_TO_UINT (g_hash_table_lookup (self->per_address, address));
  g_hash_table_insert (self->per_address, g_strdup (address), GUINT_TO_POINTER (count + 1));
  self->metrics.connections_open++;
  self->metrics.accepted++;

  g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, TRUE, NULL);
  conn->transport = G_IO_STREAM (g_socket_connection_factory_create_connection (socket));

  if (self->tls_certificate != NULL)
    {
      GIOStream *tls = g_tls_server_connection_new (conn->transport, self->tls_certificate,
                                                    &error);
      const char *const protocols[] = { "http/1.1", "http/1.0", NULL };

      if (tls == NULL)
        {
          g_warning ("%s: cannot start TLS: %s", self->name, error->message);
          self->metrics.refused[NB_SERVICE_REFUSED_TLS_FAILED]++;
          conn_close (conn);
          return;
        }
      g_object_set (tls, "require-close-notify", FALSE, NULL);
      g_tls_connection_set_advertised_protocols (G_TLS_CONNECTION (tls), protocols);
      g_object_unref (conn->transport);
      conn->transport = tls;
      conn->tls_cancellable = g_cancellable_new ();
      g_object_set_qdata (G_OBJECT (conn->tls_cancellable), conn_quark (), conn);
      conn_set_phase (conn, NB_SERVICE_PHASE_TLS);
      g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT,
                                        conn->tls_cancellable, on_tls_handshake,
                                        g_object_ref (conn->tls_cancellable));
      return;
    }
  hand_to_soup (conn);
}

static NbServiceConn *
conn_of_message (SoupServerMessage *msg)
{
  GSocketAddress *remote = soup_server_message_get_remote_address (msg);

  return remote != NULL ? g_object_get_qdata (G_OBJECT (remote), conn_quark ()) : NULL;
}

NbServiceConn *
nb_service_conn_of_stream (NbService       *self,
                           NbServiceStream *stream)
{
  /* The stream's callbacks are the connection's while it lives. */
  return nb_service_stream_get_user_data (stream);
}

/* A long-lived channel's peer may vanish without a word (power cut, a NAT
 * that forgot the mapping): the kernel probes a connection idle for
 * KEEPALIVE_IDLE_S, every KEEPALIVE_INTERVAL_S, and resets it after
 * KEEPALIVE_PROBES unanswered probes, so the channel closes within a
 * minute. No timer of ours per channel: with 10,000 channels each would be
 * a source for the main loop to prepare and check on every iteration. */
#define KEEPALIVE_IDLE_S 30
#define KEEPALIVE_INTERVAL_S 10
#define KEEPALIVE_PROBES 3

static void
conn_enable_keepalive (NbServiceConn *conn)
{
  g_autoptr(GError) error = NULL;

  g_socket_set_keepalive (conn->socket, TRUE);
  if (!g_socket_set_option (conn->socket, IPPROTO_TCP, TCP_KEEPIDLE, KEEPALIVE_IDLE_S, &error) ||
      !g_socket_set_option (conn->socket, IPPROTO_TCP, TCP_KEEPINTVL, KEEPALIVE_INTERVAL_S,
                            &error) ||
      !g_socket_set_option (conn->socket, IPPROTO_TCP, TCP_KEEPCNT, KEEPALIVE_PROBES, &error))
    g_debug ("%s: TCP keepalive of %s left at the system's timing: %s", conn->service->name,
             conn->address, error->message);
}

void
nb_service_conn_set_channel (NbServiceConn    *conn,
                             NbServiceChannel *channel)
{
  if (channel != NULL && conn->channel == NULL)
    conn_enable_keepalive (conn);
  if (channel != NULL)
    conn->service->metrics.channels_open++;
  else if (conn->channel != NULL)
    conn->service->metrics.channels_open--;
  conn->channel = channel;
}

/* The request's life, from libsoup's signals ------------------------------ */

static gboolean
has_body (SoupMessageHeaders *headers)
{
  switch (soup_message_headers_get_encoding (headers))
    {
    case SOUP_ENCODING_CONTENT_LENGTH:
      return soup_message_headers_get_content_length (headers) > 0;
    case SOUP_ENCODING_NONE:
      return FALSE;
    default:
      return TRUE;
    }
}

static void
on_got_headers (SoupServerMessage *msg,
                NbService         *self)
{
  NbServiceConn *conn = conn_of_message (msg);
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  guint status = soup_server_message_get_status (msg);

  if (conn == NULL || conn->phase == NB_SERVICE_PHASE_CLOSING)
    return;
  /* libsoup keeps a connection alive only for its own listeners: this
   * response is the connection's last, and the client is told so. */
  if (!soup_message_headers_header_contains (headers, "Upgrade", "websocket"))
    soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                  "Connection", "close");
  g_object_ref (msg);
  if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH &&
      soup_message_headers_get_content_length (headers) > (goffset) self->limits.max_body_size)
    {
      g_autofree char *text = g_strdup_printf ("request body too large: the limit is %"
                                               G_GSIZE_FORMAT " bytes", self->limits.max_body_size);

      self->metrics.refused[NB_SERVICE_REFUSED_BODY_TOO_LARGE]++;
      /* An early handler's own answer (a tighter limit) stands. */
      conn_refuse (conn, status >= 400 ? status : SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE,
                   status >= 400 ? NULL : text);
    }
  else if (status >= 300 && has_body (headers))
    {
      /* Answered already (an early handler, authentication, a bad
       * request): the body would be read for nothing. */
      if (status == SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE)
        self->metrics.refused[NB_SERVICE_REFUSED_BODY_TOO_LARGE]++;
      conn_refuse (conn, status, NULL);
    }
  else if (has_body (headers))
    conn_set_phase (conn, NB_SERVICE_PHASE_BODY);
  else
    conn_set_phase (conn, NB_SERVICE_PHASE_HANDLER);
  g_object_unref (msg);
}

static void
on_got_body (SoupServerMessage *msg,
             NbService         *self)
{
  NbServiceConn *conn = conn_of_message (msg);

  if (conn != NULL && conn->phase == NB_SERVICE_PHASE_BODY)
    conn_set_phase (conn, NB_SERVICE_PHASE_HANDLER);
}

static void
on_wrote_informational (SoupServerMessage *msg,
                        NbService         *self)
{
  NbServiceConn *conn = conn_of_message (msg);

  /* 101: libsoup hands the connection to a SoupWebsocketConnection next. */
  if (conn != NULL && soup_server_message_get_status (msg) == SOUP_STATUS_SWITCHING_PROTOCOLS)
    {
      conn_set_phase (conn, NB_SERVICE_PHASE_WEBSOCKET);
      g_clear_object (&conn->msg);
    }
}

static void
on_request_started (SoupServer        *server,
                    SoupServerMessage *msg,
                    NbService         *self)
{
  NbServiceConn *conn = conn_of_message (msg);

  if (conn == NULL)
    return;
  g_set_object (&conn->msg, msg);
  if (conn->phase == NB_SERVICE_PHASE_IDLE)
    conn_set_phase (conn, NB_SERVICE_PHASE_HEADERS);
  g_signal_connect_object (msg, "got-headers", G_CALLBACK (on_got_headers), self, 0);
  g_signal_connect_object (msg, "got-body", G_CALLBACK (on_got_body), self, 0);
  g_signal_connect_object (msg, "wrote-informational", G_CALLBACK (on_wrote_informational),
                           self, 0);
}

static void
on_request_done (SoupServer        *server,
                 SoupServerMessage *msg,
                 NbService         *self)
{
  NbServiceConn *conn = conn_of_message (msg);

  if (conn == NULL || conn->msg != msg)
    return;
  g_clear_object (&conn->msg);
  if (conn->phase == NB_SERVICE_PHASE_HANDLER || conn->phase == NB_SERVICE_PHASE_BODY ||
      conn->phase == NB_SERVICE_PHASE_HEADERS)
    conn_set_phase (conn, NB_SERVICE_PHASE_IDLE);
}

/* The object --------------------------------------------------------------- */

static void
nb_service_dispose (GObject *object)
{
  NbService *self = NB_SERVICE (object);

  nb_service_stop (self);
  if (self->soup != NULL)
    {
      g_clear_signal_handler (&self->started_handler, self->soup);
      g_clear_signal_handler (&self->finished_handler, self->soup);
      g_clear_signal_handler (&self->aborted_handler, self->soup);
    }
  g_clear_object (&self->soup);
  g_clear_object (&self->tls_certificate);
  G_OBJECT_CLASS (nb_service_parent_class)->dispose (object);
}

static void
nb_service_finalize (GObject *object)
{
  NbService *self = NB_SERVICE (object);

  g_hash_table_unref (self->connections);
  g_hash_table_unref (self->per_address);
  g_free (self->name);
  G_OBJECT_CLASS (nb_service_parent_class)->finalize (object);
}

static void
nb_service_class_init (NbServiceClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = nb_service_dispose;
  G_OBJECT_CLASS (klass)->finalize = nb_service_finalize;
}

static void
nb_service_init (NbService *self)
{
  self->connections = g_hash_table_new_full (g_direct_hash, g_direct_equal,
                                             (GDestroyNotify) conn_free, NULL);
  self->per_address = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->spare_fd = -1;
}

/* A service named @name (for logs and metrics) serving @soup's handlers, over
 * TLS when @tls_certificate is given. */
NbService *
nb_service_new (const char            *name,
                SoupServer            *soup,
                GTlsCertificate       *tls_certificate,
                const NbServiceLimits *limits)
{
  NbService *self = g_object_new (NB_TYPE_SERVICE, NULL);

  self->name = g_strdup (name);
  self->soup = g_object_ref (soup);
  self->tls_certificate = tls_certificate != NULL ? g_object_ref (tls_certificate) : NULL;
  if (limits != NULL)
    self->limits = *limits;
  nb_service_limits_complete (&self->limits);
  self->started_handler = g_signal_connect (soup, "request-started",
                                            G_CALLBACK (on_request_started), self);
  self->finished_handler = g_signal_connect (soup, "request-finished",
                                             G_CALLBACK (on_request_done), self);
  self->aborted_handler = g_signal_connect (soup, "request-aborted",
                                            G_CALLBACK (on_request_done), self);
  g_info ("%s: at most %u connections, %u per address; bodies up to %" G_GSIZE_FORMAT
          " bytes, headers up to %" G_GSIZE_FORMAT, name, self->limits.max_connections,
          self->limits.max_connections_per_address, self->limits.max_body_size,
          self->limits.max_header_size);
  return self;
}

gboolean
nb_service_listen (NbService       *self,
                   GSocketAddress  *address,
                   GError         **error)
{
  return nb_service_listener_open (self, address, error);
}

/* Stops listening and closes every connection (WebSocket channels too: their
 * owners see them close). */
void
nb_service_stop (NbService *self)
{
  GHashTableIter iter;
  NbServiceConn *conn;
  g_autoptr(GPtrArray) open = g_ptr_array_new ();

  nb_service_listener_close (self);
  if (self->soup != NULL)
    soup_server_disconnect (self->soup);
  g_hash_table_iter_init (&iter, self->connections);
  while (g_hash_table_iter_next (&iter, (gpointer *) &conn, NULL))
    g_ptr_array_add (open, conn);
  for (guint i = 0; i < open->len; i++)
    {
      conn = g_ptr_array_index (open, i);
      if (!g_hash_table_contains (self->connections, conn))
        continue;
      /* A WebSocket's owner closes it; shutting down makes it see the end. */
      if (conn->phase == NB_SERVICE_PHASE_WEBSOCKET)
        g_socket_shutdown (conn->socket, TRUE, TRUE, NULL);
      else
        conn_close (conn);
    }
}

GSocketAddress *
nb_service_get_local_address (NbService *self)
{
  return self->local_address;
}

const NbServiceLimits *
nb_service_get_limits (NbService *self)
{
  return &self->limits;
}

const char *
nb_service_get_name (NbService *self)
{
  return self->name;
}

SoupServer *
nb_service_get_soup (NbService *self)
{
  return self->soup;
}

guint
nb_service_get_n_connections (NbService *self)
{
  return g_hash_table_size (self->connections);
}

void
nb_service_count_timeout (NbService        *self,
                          NbServiceTimeout  kind)
{
  self->metrics.timeouts[kind]++;
}

NbServiceMetrics *
nb_service_get_metrics (NbService *self)
{
  return &self->metrics;
}
