/* service-test-util.c: a tiny server on the service base, and raw clients
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <string.h>

#include "service-test-util.h"

static void
handle_echo (SoupServer        *soup,
             SoupServerMessage *msg,
             const char        *path,
             GHashTable        *query,
             gpointer           user_data)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  g_autofree char *text = g_strdup_printf ("%" G_GOFFSET_FORMAT "\n", body->length);

  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_COPY, text, strlen (text));
}

static void
on_ws_closed (SoupWebsocketConnection *connection,
              TestServer              *server)
{
  server->channel_closed = TRUE;
}

static void
handle_ws (SoupServer              *soup,
           SoupServerMessage       *msg,
           const char              *path,
           SoupWebsocketConnection *connection,
           gpointer                 user_data)
{
  TestServer *server = user_data;

  g_clear_pointer (&server->channel, nb_service_channel_free);
  server->channel_closed = FALSE;
  server->channel = nb_service_channel_new (server->service, connection);
  g_signal_connect (connection, "closed", G_CALLBACK (on_ws_closed), server);
}

TestServer *
test_server_new (const NbServiceLimits *limits)
{
  return test_server_new_tls (limits, NULL);
}

TestServer *
test_server_new_tls (const NbServiceLimits *limits,
                     GTlsCertificate       *certificate)
{
  TestServer *server = g_new0 (TestServer, 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);

  server->soup = soup_server_new ("server-header", "nb-service-test ", NULL);
  soup_server_add_handler (server->soup, "/echo", handle_echo, server, NULL);
  soup_server_add_websocket_handler (server->soup, "/ws", NULL, NULL, handle_ws, server, NULL);
  server->service = nb_service_new ("test", server->soup, certificate, limits);
  g_assert_true (nb_service_listen (server->service, address, &error));
  g_assert_no_error (error);
  server->port = g_inet_socket_address_get_port (
    G_INET_SOCKET_ADDRESS (nb_service_get_local_address (server->service)));
  return server;
}

void
test_server_free (TestServer *server)
{
  g_clear_pointer (&server->channel, nb_service_channel_free);
  nb_service_stop (server->service);
  test_iterate (50);
  g_clear_object (&server->service);
  g_clear_object (&server->soup);
  g_free (server);
}

GSocket *
test_connect (TestServer *server,
              const char *source)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, server->port);
  GSocket *socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                  G_SOCKET_PROTOCOL_TCP, &error);

  if (socket == NULL)
    return NULL;
  if (source != NULL)
    {
      g_autoptr(GInetAddress) inet = g_inet_address_new_from_string (source);
      g_autoptr(GSocketAddress) local = g_inet_socket_address_new (inet, 0);

      g_assert_true (g_socket_bind (socket, local, FALSE, &error));
    }
  /* Loopback connects complete from the listen queue: no accept needed. */
  if (!g_socket_connect (socket, address, NULL, &error))
    {
      g_object_unref (socket);
      return NULL;
    }
  g_socket_set_blocking (socket, FALSE);
  return socket;
}

void
test_send (GSocket    *socket,
           const char *data,
           gsize       length)
{
  gsize done = 0;
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  while (done < length && g_get_monotonic_time () < deadline)
    {
      gssize n = g_socket_send (socket, data + done, length - done, NULL, NULL);

      if (n > 0)
        done += (gsize) n;
      else
        g_main_context_iteration (NULL, FALSE);
    }
}

GString *
test_receive (GSocket    *socket,
              guint       timeout_ms,
              const char *until,
              gboolean   *closed)
{
  GString *got = g_string_new (NULL);
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  if (closed != NULL)
    *closed = FALSE;
  while (g_get_monotonic_time () < deadline)
    {
      char buffer[65536];
      g_autoptr(GError) error = NULL;
      gssize n = g_socket_receive (socket, buffer, sizeof buffer, NULL, &error);

      if (n > 0)
        {
          g_string_append_len (got, buffer, n);
          if (until != NULL && strstr (got->str, until) != NULL)
            break;
          continue;
        }
      if (n == 0 || (error != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)))
        {
          if (closed != NULL)
            *closed = TRUE;
          break;
        }
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (500);
    }
  return got;
}

void
test_iterate (guint ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) ms * 1000;

  while (g_get_monotonic_time () < deadline)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (500);
}

gboolean
test_wait_for (gboolean (*done) (gpointer),
               gpointer   data,
               guint      timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (!done (data))
    {
      if (g_get_monotonic_time () >= deadline)
        return FALSE;
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (500);
    }
  return TRUE;
}
