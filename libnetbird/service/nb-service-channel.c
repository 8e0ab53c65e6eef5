/* nb-service-channel.c: a WebSocket channel with a bounded send queue
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-service"

#include <string.h>

#include "nb-service-internal.h"

/* SoupWebsocketConnection queues whatever it is given, without bound: a
 * reader that stops reading grows the server. The channel knows what it
 * handed to libsoup (payloads and their frame headers) and the stream under
 * the connection counts what was written to the socket; the difference is
 * the backlog. With it:
 *
 * - NB_SERVICE_SEND_QUEUE messages go out in order while the backlog stays
 *   under the cap; past it the channel closes with NB_SERVICE_CLOSE_BACKLOG
 *   and the client reconnects to a fresh state;
 * - NB_SERVICE_SEND_REPLACE messages are snapshots (a network map): while
 *   any earlier message is still being written, only the newest waits, and
 *   it is handed over once the backlog drains.
 *
 * The channel also closes a connection that is not authenticated within the
 * service's WebSocket authentication timeout. */

struct _NbServiceChannel
{
  NbService *service;
  SoupWebsocketConnection *connection;
  NbServiceStream *stream;
  guint64 handed;
  guint64 written_before;
  GBytes *pending;
  guint drain_source;
  guint auth_source;
};

/* A close frame holds at most 123 bytes of reason (RFC 6455 §5.5); longer
 * ones are cut at a character boundary (libsoup would send a protocol error
 * instead of our code). */
#define MAX_CLOSE_REASON 123

static guint64
frame_size (gsize payload)
{
  /* RFC 6455 §5.2: server frames are not masked. */
  return 2 + (payload > 65535 ? 8 : payload > 125 ? 2 : 0) + (guint64) payload;
}

gsize
nb_service_channel_get_queued (NbServiceChannel *channel)
{
  guint64 written;

  if (channel->stream == NULL)
    return 0;
  written = nb_service_stream_get_bytes_written (channel->stream) - channel->written_before;
  /* Pings and pongs are written but not counted as handed. */
  return written >= channel->handed ? 0 : (gsize) (channel->handed - written);
}

gboolean
nb_service_channel_has_pending (NbServiceChannel *channel)
{
  return channel->pending != NULL;
}

SoupWebsocketConnection *
nb_service_channel_get_connection (NbServiceChannel *channel)
{
  return channel->connection;
}

void
nb_service_channel_close (NbServiceChannel *channel,
                          gushort           code,
                          const char       *reason)
{
  char truncated[MAX_CLOSE_REASON + 1];

  g_clear_pointer (&channel->pending, g_bytes_unref);
  g_clear_handle_id (&channel->auth_source, g_source_remove);
  if (soup_websocket_connection_get_state (channel->connection) != SOUP_WEBSOCKET_STATE_OPEN)
    return;
  if (reason != NULL && strlen (reason) > MAX_CLOSE_REASON)
    {
      const char *end = reason + MAX_CLOSE_REASON;

      while (end > reason && (*end & 0xc0) == 0x80)
        end--;
      memcpy (truncated, reason, end - reason);
      truncated[end - reason] = '\0';
      reason = truncated;
    }
  soup_websocket_connection_close (channel->connection, code, reason);
}

static void
hand_over (NbServiceChannel *channel,
           GBytes           *message)
{
  gsize length = 0;
  gconstpointer data = g_bytes_get_data (message, &length);

  soup_websocket_connection_send_binary (channel->connection, data, length);
  channel->handed += frame_size (length);
  channel->service->metrics.channel_messages++;
}

gboolean
nb_service_channel_send (NbServiceChannel    *channel,
                         GBytes              *message,
                         NbServiceSendPolicy  policy)
{
  NbService *service = channel->service;
  gsize queued;

  if (soup_websocket_connection_get_state (channel->connection) != SOUP_WEBSOCKET_STATE_OPEN)
    return FALSE;
  queued = nb_service_channel_get_queued (channel);

  if (policy == NB_SERVICE_SEND_REPLACE && (queued > 0 || channel->pending != NULL))
    {
      if (channel->pending != NULL)
        service->metrics.channel_replaced++;
      g_clear_pointer (&channel->pending, g_bytes_unref);
      channel->pending = g_bytes_ref (message);
      return TRUE;
    }
  if (queued + frame_size (g_bytes_get_size (message)) > service->limits.channel_max_queued &&
      queued > 0)
    {
      service->metrics.channel_overflows++;
      g_info ("%s: a channel's reader is %" G_GSIZE_FORMAT " bytes behind: closing it",
              service->name, queued);
      nb_service_channel_close (channel, NB_SERVICE_CLOSE_BACKLOG,
                                "send queue full: reconnect to resynchronise");
      return FALSE;
    }
  hand_over (channel, message);
  return TRUE;
}

static gboolean
on_drained (gpointer user_data)
{
  NbServiceChannel *channel = user_data;
  g_autoptr(GBytes) pending = NULL;

  channel->drain_source = 0;
  if (channel->pending == NULL || nb_service_channel_get_queued (channel) > 0)
    return G_SOURCE_REMOVE;
  pending = g_steal_pointer (&channel->pending);
  if (soup_websocket_connection_get_state (channel->connection) == SOUP_WEBSOCKET_STATE_OPEN)
    hand_over (channel, pending);
  return G_SOURCE_REMOVE;
}

/* Called from inside libsoup's writes: the pending message goes from the
 * main loop, not from under libsoup. */
void
nb_service_channel_wrote (NbServiceChannel *channel)
{
  if (channel->pending != NULL && channel->drain_source == 0 &&
      nb_service_channel_get_queued (channel) == 0)
    channel->drain_source = g_idle_add (on_drained, channel);
}

static gboolean
on_auth_timeout (gpointer user_data)
{
  NbServiceChannel *channel = user_data;

  channel->auth_source = 0;
  nb_service_count_timeout (channel->service, NB_SERVICE_TIMEOUT_WEBSOCKET_AUTH);
  nb_service_channel_close (channel, NB_SERVICE_CLOSE_AUTH_TIMEOUT,
                            "not authenticated in time");
  return G_SOURCE_REMOVE;
}

/* A channel over @connection, which @service accepted; the caller owns it
 * and frees it once the connection closed (or to close it). */
NbServiceChannel *
nb_service_channel_new (NbService               *service,
                        SoupWebsocketConnection *connection)
{
  NbServiceChannel *channel = g_new0 (NbServiceChannel, 1);
  NbServiceStream *stream = nb_service_stream_find (soup_websocket_connection_get_io_stream (connection));

  channel->service = g_object_ref (service);
  channel->connection = g_object_ref (connection);
  if (stream != NULL)
    {
      NbServiceConn *conn = nb_service_conn_of_stream (service, stream);

      channel->stream = g_object_ref (stream);
      channel->written_before = nb_service_stream_get_bytes_written (stream);
      if (conn != NULL)
        nb_service_conn_set_channel (conn, channel);
    }
  else
    g_warning ("%s: a WebSocket not accepted by the service: its send queue is not bounded",
               service->name);
  channel->auth_source = g_timeout_add (service->limits.websocket_auth_timeout_ms,
                                        on_auth_timeout, channel);
  return channel;
}

void
nb_service_channel_set_authenticated (NbServiceChannel *channel)
{
  g_clear_handle_id (&channel->auth_source, g_source_remove);
}

void
nb_service_channel_free (NbServiceChannel *channel)
{
  if (channel == NULL)
    return;
  g_clear_handle_id (&channel->auth_source, g_source_remove);
  g_clear_handle_id (&channel->drain_source, g_source_remove);
  g_clear_pointer (&channel->pending, g_bytes_unref);
  if (channel->stream != NULL)
    {
      NbServiceConn *conn = nb_service_conn_of_stream (channel->service, channel->stream);

      if (conn != NULL && conn->channel == channel)
        nb_service_conn_set_channel (conn, NULL);
    }
  if (soup_websocket_connection_get_state (channel->connection) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (channel->connection, SOUP_WEBSOCKET_CLOSE_GOING_AWAY,
                                     "server stopping");
  g_clear_object (&channel->stream);
  g_clear_object (&channel->connection);
  g_clear_object (&channel->service);
  g_free (channel);
}
