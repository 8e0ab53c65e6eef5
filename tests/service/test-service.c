/* test-service.c: the service base over real loopback sockets
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <glib/gstdio.h>

#include "service-test-util.h"
#include "nb-service-internal.h"

#define GET_ECHO "GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
#define WS_UPGRADE "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n" \
                   "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" \
                   "Sec-WebSocket-Version: 13\r\n\r\n"

static NbServiceLimits
small_limits (void)
{
  NbServiceLimits limits = { 0 };

  limits.max_connections = 1000;
  limits.max_connections_per_address = 1000;
  limits.max_body_size = 1024;
  return limits;
}

static gboolean
n_connections_is (gpointer data)
{
  gpointer *args = data;

  return nb_service_get_n_connections (args[0]) == GPOINTER_TO_UINT (args[1]);
}

static void
wait_connections (TestServer *server,
                  guint       n)
{
  gpointer args[2] = { server->service, GUINT_TO_POINTER (n) };

  g_assert_true (test_wait_for (n_connections_is, args, 5000));
}

static char *
exchange (TestServer *server,
          const char *source,
          const char *request,
          gsize       length,
          gboolean   *closed)
{
  g_autoptr(GSocket) socket = test_connect (server, source);
  GString *got;

  g_assert_nonnull (socket);
  test_send (socket, request, length);
  got = test_receive (socket, 5000, NULL, closed);
  return g_string_free (got, FALSE);
}

static void
test_global_cap (void)
{
  NbServiceLimits limits = small_limits ();
  g_autoptr(GPtrArray) open = g_ptr_array_new_with_free_func (g_object_unref);
  TestServer *server;
  g_autofree char *answer = NULL;
  gint64 start;
  gboolean closed;

  limits.max_connections = 5;
  server = test_server_new (&limits);
  for (guint i = 0; i < 5; i++)
    g_ptr_array_add (open, test_connect (server, NULL));
  wait_connections (server, 5);

  /* The sixth is refused at once, not left in the queue. */
  start = g_get_monotonic_time ();
  answer = exchange (server, NULL, GET_ECHO, strlen (GET_ECHO), &closed);
  g_assert_true (g_str_has_prefix (answer, "HTTP/1.1 503"));
  g_assert_true (closed);
  g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC);
  g_assert_cmpuint (nb_service_get_metrics (server->service)->refused[NB_SERVICE_REFUSED_GLOBAL_CAP],
                    ==, 1);

  /* Once one closes there is room again. */
  g_ptr_array_remove_index (open, 0);
  wait_connections (server, 4);
  g_clear_pointer (&answer, g_free);
  answer = exchange (server, NULL, GET_ECHO, strlen (GET_ECHO), &closed);
  g_assert_true (g_str_has_prefix (answer, "HTTP/1.1 200"));
  g_ptr_array_set_size (open, 0);
  test_server_free (server);
}

static void
test_address_cap (void)
{
  NbServiceLimits limits = small_limits ();
  g_autoptr(GPtrArray) open = g_ptr_array_new_with_free_func (g_object_unref);
  g_autofree char *refused = NULL;
  g_autofree char *other = NULL;
  TestServer *server;
  gboolean closed;

  limits.max_connections_per_address = 3;
  server = test_server_new (&limits);
  for (guint i = 0; i < 3; i++)
    g_ptr_array_add (open, test_connect (server, "127.0.0.1"));
  wait_connections (server, 3);

  refused = exchange (server, "127.0.0.1", GET_ECHO, strlen (GET_ECHO), &closed);
  g_assert_true (g_str_has_prefix (refused, "HTTP/1.1 503"));
  other = exchange (server, "127.0.0.2", GET_ECHO, strlen (GET_ECHO), &closed);
  g_assert_true (g_str_has_prefix (other, "HTTP/1.1 200"));
  g_assert_cmpuint (nb_service_get_metrics (server->service)->refused[NB_SERVICE_REFUSED_ADDRESS_CAP],
                    ==, 1);
  g_ptr_array_set_size (open, 0);
  test_server_free (server);
}

static void
test_header_timeout (void)
{
  NbServiceLimits limits = small_limits ();
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GString) got = NULL;
  const char *partial = "GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  TestServer *server;
  gint64 start;
  gboolean closed;

  limits.header_timeout_ms = 300;
  server = test_server_new (&limits);
  socket = test_connect (server, NULL);
  start = g_get_monotonic_time ();
  test_send (socket, partial, strlen (partial));
  got = test_receive (socket, 5000, NULL, &closed);
  g_assert_true (g_str_has_prefix (got->str, "HTTP/1.1 408"));
  g_assert_true (closed);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 2 * G_USEC_PER_SEC);
  g_assert_cmpuint (nb_service_get_metrics (server->service)->timeouts[NB_SERVICE_TIMEOUT_HEADERS],
                    ==, 1);
  wait_connections (server, 0);
  test_server_free (server);
}

static void
test_body_timeout (void)
{
  NbServiceLimits limits = small_limits ();
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GString) got = NULL;
  const char *partial = "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n0123";
  TestServer *server;
  gboolean closed;

  limits.body_timeout_ms = 300;
  server = test_server_new (&limits);
  socket = test_connect (server, NULL);
  test_send (socket, partial, strlen (partial));
  got = test_receive (socket, 5000, NULL, &closed);
  g_assert_true (g_str_has_prefix (got->str, "HTTP/1.1 408"));
  g_assert_cmpuint (nb_service_get_metrics (server->service)->timeouts[NB_SERVICE_TIMEOUT_BODY],
                    ==, 1);
  test_server_free (server);
}

/* A client that opens TCP and never starts TLS is closed at the TLS
 * deadline. The certificate is made for the test with openssl. */
static void
test_tls_timeout (void)
{
  NbServiceLimits limits = small_limits ();
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("nb-service-tls-XXXXXX", &error);
  g_autofree char *cert_path = g_build_filename (dir, "cert.pem", NULL);
  g_autofree char *key_path = g_build_filename (dir, "key.pem", NULL);
  const char *argv[] = { "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                         "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key_path,
                         "-out", cert_path, "-days", "1", "-subj", "/CN=127.0.0.1", NULL };
  g_autoptr(GTlsCertificate) certificate = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GString) got = NULL;
  TestServer *server;
  gint64 start;
  gboolean closed;
  int status = 0;

  g_assert_no_error (error);
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL,
                               G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL |
                               G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL, NULL, &status,
                               &error));
  g_assert_no_error (error);
  g_assert_cmpint (status, ==, 0);
  certificate = g_tls_certificate_new_from_files (cert_path, key_path, &error);
  g_assert_no_error (error);

  limits.tls_timeout_ms = 300;
  server = test_server_new_tls (&limits, certificate);
  socket = test_connect (server, NULL);
  start = g_get_monotonic_time ();
  got = test_receive (socket, 5000, NULL, &closed);
  g_assert_true (closed);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 2 * G_USEC_PER_SEC);
  g_assert_cmpuint (nb_service_get_metrics (server->service)->timeouts[NB_SERVICE_TIMEOUT_TLS],
                    ==, 1);
  wait_connections (server, 0);
  test_server_free (server);
  g_unlink (cert_path);
  g_unlink (key_path);
  g_rmdir (dir);
}

/* libsoup 3.2 keeps no connection alive for a stream it was handed: the
 * connection ends with its response, so an idle one cannot pile up. */
static void
test_no_idle_connection (void)
{
  NbServiceLimits limits = small_limits ();
  g_autofree char *answer = NULL;
  TestServer *server;
  gboolean closed;

  server = test_server_new (&limits);
  answer = exchange (server, NULL, GET_ECHO, strlen (GET_ECHO), &closed);
  g_assert_true (g_str_has_prefix (answer, "HTTP/1.1 200"));
  g_assert_nonnull (strstr (answer, "\r\nConnection: close\r\n"));
  g_assert_true (closed);
  wait_connections (server, 0);
  test_server_free (server);
}

static void
test_announced_body_refused (void)
{
  NbServiceLimits limits = small_limits ();
  const char *paths[] = { "/echo", "/no-handler-here" };
  TestServer *server = test_server_new (&limits);
  NbServiceMetrics *metrics = nb_service_get_metrics (server->service);

  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      g_autofree char *request = g_strdup_printf ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                                  "Content-Length: 1073741824\r\n\r\n", paths[i]);
      g_autoptr(GSocket) socket = test_connect (server, NULL);
      g_autoptr(GString) got = NULL;
      g_autofree char *junk = g_malloc0 (64 * 1024);
      gboolean closed;

      test_send (socket, request, strlen (request));
      test_send (socket, junk, 64 * 1024); /* the start of the "gigabyte" */
      got = test_receive (socket, 5000, NULL, &closed);
      g_assert_true (g_str_has_prefix (got->str, "HTTP/1.1 413"));
      g_assert_nonnull (strstr (got->str, "the limit is 1024 bytes"));
      g_assert_true (closed);
    }
  wait_connections (server, 0);
  g_assert_cmpuint (metrics->refused[NB_SERVICE_REFUSED_BODY_TOO_LARGE], ==, 2);
  /* What was read of the bodies: at most libsoup's read-ahead and the
   * drain, never the announced gigabyte. */
  g_test_message ("bytes read from both clients: %" G_GUINT64_FORMAT, metrics->bytes_received);
  g_assert_cmpuint (metrics->bytes_received, <, 2 * (8192 + 256 * 1024 + 1024));
  test_server_free (server);
}

static void
test_chunked_body_capped (void)
{
  NbServiceLimits limits = small_limits ();
  TestServer *server = test_server_new (&limits);
  NbServiceMetrics *metrics = nb_service_get_metrics (server->service);
  const char *head = "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  g_autoptr(GSocket) socket = test_connect (server, NULL);
  g_autoptr(GString) got = NULL;
  g_autoptr(GString) chunk = g_string_new ("1000\r\n");
  gboolean closed;

  for (guint i = 0; i < 0x1000; i++)
    g_string_append_c (chunk, 'x');
  g_string_append (chunk, "\r\n");
  test_send (socket, head, strlen (head));
  /* 32 chunks of 4 KiB: far over the body limit plus framing slack. */
  for (guint i = 0; i < 32; i++)
    test_send (socket, chunk->str, chunk->len);
  got = test_receive (socket, 5000, NULL, &closed);
  g_assert_true (g_str_has_prefix (got->str, "HTTP/1.1 413"));
  g_assert_cmpuint (metrics->refused[NB_SERVICE_REFUSED_BODY_TOO_LARGE], ==, 1);
  test_server_free (server);
}

static void
test_headers_too_large (void)
{
  NbServiceLimits limits = small_limits ();
  TestServer *server = test_server_new (&limits);
  g_autoptr(GString) request = g_string_new ("GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                             "Authorization: Token ");
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GString) got = NULL;
  gboolean closed;

  for (guint i = 0; i < 100 * 1024; i++)
    g_string_append_c (request, 'a');
  g_string_append (request, "\r\n\r\n");
  socket = test_connect (server, NULL);
  test_send (socket, request->str, request->len);
  got = test_receive (socket, 5000, NULL, &closed);
  g_assert_true (g_str_has_prefix (got->str, "HTTP/1.1 431"));
  g_assert_cmpuint (nb_service_get_metrics (server->service)->refused[NB_SERVICE_REFUSED_HEADERS_TOO_LARGE],
                    ==, 1);
  test_server_free (server);
}

/* Descriptors run out while connections arrive: accept() fails with EMFILE,
 * and once they close the server answers again. */
static void
test_accept_recovers_after_emfile (void)
{
  NbServiceLimits limits = small_limits ();
  g_autoptr(GPtrArray) open = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GDir) fds = g_dir_open ("/proc/self/fd", 0, NULL);
  TestServer *server = test_server_new (&limits);
  NbServiceMetrics *metrics = nb_service_get_metrics (server->service);
  struct rlimit saved, low;
  g_autofree char *answer = NULL;
  guint n_fds = 0;
  gint64 start;
  gboolean closed;

  while (g_dir_read_name (fds) != NULL)
    n_fds++;
  g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &saved), ==, 0);
  low = saved;
  low.rlim_cur = n_fds + 24;
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &low), ==, 0);

  for (guint i = 0; i < 40; i++)
    {
      GSocket *socket = test_connect (server, NULL);

      if (socket == NULL)
        break;
      g_ptr_array_add (open, socket);
      test_iterate (5);
    }
  test_iterate (300);
  g_test_message ("%u clients, %u accepted, %" G_GUINT64_FORMAT " accept errors, %"
                  G_GUINT64_FORMAT " shed", open->len, nb_service_get_n_connections (server->service),
                  metrics->accept_errors, metrics->refused[NB_SERVICE_REFUSED_DESCRIPTORS]);
  g_assert_cmpuint (metrics->accept_errors, >, 0);

  g_ptr_array_set_size (open, 0);
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &saved), ==, 0);
  start = g_get_monotonic_time ();
  answer = exchange (server, NULL, GET_ECHO, strlen (GET_ECHO), &closed);
  g_test_message ("answered again after %" G_GINT64_FORMAT " ms",
                  (g_get_monotonic_time () - start) / 1000);
  g_assert_true (g_str_has_prefix (answer, "HTTP/1.1 200"));
  test_server_free (server);
}

/* WebSocket channels ------------------------------------------------------ */

static gboolean
has_channel (gpointer data)
{
  return ((TestServer *) data)->channel != NULL;
}

static GSocket *
open_websocket (TestServer *server,
                gboolean    slow_reader)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, server->port);
  GSocket *socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                  G_SOCKET_PROTOCOL_TCP, &error);
  g_autoptr(GString) got = NULL;

  if (slow_reader)
    g_socket_set_option (socket, SOL_SOCKET, SO_RCVBUF, 4096, NULL);
  g_assert_true (g_socket_connect (socket, address, NULL, &error));
  g_socket_set_blocking (socket, FALSE);
  test_send (socket, WS_UPGRADE, strlen (WS_UPGRADE));
  got = test_receive (socket, 5000, "\r\n\r\n", NULL);
  g_assert_true (g_str_has_prefix (got->str, "HTTP/1.1 101"));
  g_assert_true (test_wait_for (has_channel, server, 5000));
  return socket;
}

/* Reads server frames (unmasked, RFC 6455 §5.2) from @socket until @count
 * binary frames or a close frame arrived; returns each binary frame's first
 * byte and the close code. */
static GArray *
read_frames (GSocket *socket,
             guint    count,
             guint   *close_code)
{
  GArray *firsts = g_array_new (FALSE, FALSE, 1);
  g_autoptr(GByteArray) buffer = g_byte_array_new ();
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  *close_code = 0;
  while (firsts->len < count && *close_code == 0 && g_get_monotonic_time () < deadline)
    {
      guint8 chunk[65536];
      gssize n = g_socket_receive (socket, (char *) chunk, sizeof chunk, NULL, NULL);

      if (n > 0)
        g_byte_array_append (buffer, chunk, (guint) n);
      else if (n == 0)
        break;
      else if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (200);

      while (buffer->len >= 2)
        {
          guint8 opcode = buffer->data[0] & 0x0f;
          guint64 length = buffer->data[1] & 0x7f;
          guint header = 2;

          if (length == 126)
            {
              if (buffer->len < 4)
                break;
              length = ((guint64) buffer->data[2] << 8) | buffer->data[3];
              header = 4;
            }
          else if (length == 127)
            {
              if (buffer->len < 10)
                break;
              length = 0;
              for (guint i = 0; i < 8; i++)
                length = (length << 8) | buffer->data[2 + i];
              header = 10;
            }
          if (buffer->len < header + length)
            break;
          if (opcode == 0x2)
            g_array_append_val (firsts, buffer->data[header]);
          else if (opcode == 0x8 && length >= 2)
            *close_code = ((guint) buffer->data[header] << 8) | buffer->data[header + 1];
          g_byte_array_remove_range (buffer, 0, header + (guint) length);
        }
    }
  return firsts;
}

static GBytes *
message_of (guint8 first,
            gsize  size)
{
  guint8 *data = g_malloc (size);

  memset (data, 'm', size);
  data[0] = first;
  return g_bytes_new_take (data, size);
}

#define BIG_MESSAGE (8 * 1024 * 1024)

static void
test_channel_keeps_newest (void)
{
  NbServiceLimits limits = small_limits ();
  TestServer *server = test_server_new (&limits);
  NbServiceMetrics *metrics = nb_service_get_metrics (server->service);
  g_autoptr(GSocket) socket = open_websocket (server, TRUE);
  g_autoptr(GArray) firsts = NULL;
  guint close_code;

  nb_service_channel_set_authenticated (server->channel);
  for (guint8 i = 1; i <= 6; i++)
    {
      g_autoptr(GBytes) message = message_of (i, BIG_MESSAGE);

      g_assert_true (nb_service_channel_send (server->channel, message, NB_SERVICE_SEND_REPLACE));
      test_iterate (50);
      if (i == 1)
        g_assert_cmpuint (nb_service_channel_get_queued (server->channel), >, 0);
    }
  g_test_message ("queued %" G_GSIZE_FORMAT " bytes, %" G_GUINT64_FORMAT " replaced",
                  nb_service_channel_get_queued (server->channel), metrics->channel_replaced);
  g_assert_cmpuint (metrics->channel_replaced, ==, 4);
  g_assert_true (nb_service_channel_has_pending (server->channel));

  /* The reader catches up: the first map, then only the newest. */
  firsts = read_frames (socket, 2, &close_code);
  g_assert_cmpuint (firsts->len, ==, 2);
  g_assert_cmpuint (g_array_index (firsts, guint8, 0), ==, 1);
  g_assert_cmpuint (g_array_index (firsts, guint8, 1), ==, 6);
  g_assert_cmpuint (metrics->channel_messages, ==, 2);
  test_server_free (server);
}

static void
test_channel_closes_past_cap (void)
{
  NbServiceLimits limits = small_limits ();
  TestServer *server;
  NbServiceMetrics *metrics;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GArray) firsts = NULL;
  gboolean sent = TRUE;
  guint close_code;
  guint i;

  limits.channel_max_queued = 4 * 1024 * 1024;
  server = test_server_new (&limits);
  metrics = nb_service_get_metrics (server->service);
  socket = open_websocket (server, TRUE);
  nb_service_channel_set_authenticated (server->channel);
  for (i = 0; i < 20 && sent; i++)
    {
      g_autoptr(GBytes) message = message_of ((guint8) i, 2 * 1024 * 1024);

      sent = nb_service_channel_send (server->channel, message, NB_SERVICE_SEND_QUEUE);
      test_iterate (20);
    }
  g_test_message ("closed after %u messages", i);
  g_assert_false (sent);
  g_assert_cmpuint (metrics->channel_overflows, ==, 1);

  firsts = read_frames (socket, 100, &close_code);
  g_assert_cmpuint (close_code, ==, NB_SERVICE_CLOSE_BACKLOG);
  test_server_free (server);
}

static void
test_channel_auth_timeout (void)
{
  NbServiceLimits limits = small_limits ();
  TestServer *server;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GArray) firsts = NULL;
  guint close_code;
  gint64 start;

  limits.websocket_auth_timeout_ms = 300;
  server = test_server_new (&limits);
  start = g_get_monotonic_time ();
  socket = open_websocket (server, FALSE);
  firsts = read_frames (socket, 1, &close_code);
  g_assert_cmpuint (close_code, ==, NB_SERVICE_CLOSE_AUTH_TIMEOUT);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 3 * G_USEC_PER_SEC);
  g_assert_cmpuint (nb_service_get_metrics (server->service)->timeouts[NB_SERVICE_TIMEOUT_WEBSOCKET_AUTH],
                    ==, 1);
  test_server_free (server);
}

/* A channel's peer that vanishes is found by the kernel's probes (no timer
 * of ours per channel): its socket has TCP keepalive, at our timing. */
static void
test_channel_keepalive (void)
{
  NbServiceLimits limits = small_limits ();
  TestServer *server = test_server_new (&limits);
  g_autoptr(GSocket) socket = NULL;
  GHashTableIter iter;
  NbServiceConn *conn, *found = NULL;
  int on = 0, idle = 0, interval = 0, probes = 0;

  socket = open_websocket (server, FALSE);
  g_hash_table_iter_init (&iter, server->service->connections);
  while (g_hash_table_iter_next (&iter, (gpointer *) &conn, NULL))
    if (conn->channel == server->channel)
      found = conn;
  g_assert_nonnull (found);
  g_assert_true (g_socket_get_option (found->socket, SOL_SOCKET, SO_KEEPALIVE, &on, NULL));
  g_assert_true (g_socket_get_option (found->socket, IPPROTO_TCP, TCP_KEEPIDLE, &idle, NULL));
  g_assert_true (g_socket_get_option (found->socket, IPPROTO_TCP, TCP_KEEPINTVL, &interval, NULL));
  g_assert_true (g_socket_get_option (found->socket, IPPROTO_TCP, TCP_KEEPCNT, &probes, NULL));
  g_test_message ("channel socket: SO_KEEPALIVE=%d idle=%d s interval=%d s probes=%d",
                  on, idle, interval, probes);
  g_assert_cmpint (on, ==, 1);
  g_assert_cmpint (idle, ==, 30);
  g_assert_cmpint (interval, ==, 10);
  g_assert_cmpint (probes, ==, 3);
  test_server_free (server);
}

static void
test_metrics_text (void)
{
  NbServiceLimits limits = small_limits ();
  TestServer *server = test_server_new (&limits);
  g_autoptr(GPtrArray) services = g_ptr_array_new ();
  g_autoptr(GString) out = g_string_new (NULL);
  g_autofree char *answer = NULL;
  gboolean closed;

  answer = exchange (server, NULL, GET_ECHO, strlen (GET_ECHO), &closed);
  wait_connections (server, 0);
  g_ptr_array_add (services, server->service);
  nb_service_write_metrics (services, out);
  g_assert_nonnull (strstr (out->str, "nb_service_connections_accepted_total{service=\"test\"} 1\n"));
  g_assert_nonnull (strstr (out->str, "nb_service_connections_open{service=\"test\"} 0\n"));
  g_assert_nonnull (strstr (out->str, "nb_service_timeouts_total{service=\"test\",kind=\"headers\"} 0\n"));
  test_server_free (server);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/service/caps/global", test_global_cap);
  g_test_add_func ("/service/caps/per-address", test_address_cap);
  g_test_add_func ("/service/timeout/headers", test_header_timeout);
  g_test_add_func ("/service/timeout/body", test_body_timeout);
  g_test_add_func ("/service/timeout/no-idle-connection", test_no_idle_connection);
  g_test_add_func ("/service/timeout/tls", test_tls_timeout);
  g_test_add_func ("/service/timeout/websocket-auth", test_channel_auth_timeout);
  g_test_add_func ("/service/limits/announced-body", test_announced_body_refused);
  g_test_add_func ("/service/limits/chunked-body", test_chunked_body_capped);
  g_test_add_func ("/service/limits/headers", test_headers_too_large);
  g_test_add_func ("/service/accept/recovers-after-emfile", test_accept_recovers_after_emfile);
  g_test_add_func ("/service/channel/keeps-newest", test_channel_keeps_newest);
  g_test_add_func ("/service/channel/closes-past-cap", test_channel_closes_past_cap);
  g_test_add_func ("/service/channel/tcp-keepalive", test_channel_keepalive);
  g_test_add_func ("/service/metrics/text", test_metrics_text);
  return g_test_run ();
}
