/* nb-service-metrics.c: what the services counted, in Prometheus' text format
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-service"

#include "nb-service-internal.h"

/* Every daemon serves the same families, one series per service (label
 * `service`), on a listener of its own (`--metrics HOST:PORT`), so that the
 * metrics stay reachable when the public port is saturated and are never
 * exposed on it. */

static const char *const refused_reasons[NB_SERVICE_N_REFUSED] = {
  "global_cap", "address_cap", "descriptors", "body_too_large", "headers_too_large",
  "tls_failed",
};

static const char *const timeout_kinds[NB_SERVICE_N_TIMEOUTS] = {
  "tls", "headers", "body", "idle", "websocket_auth",
};

typedef guint64 (*MetricGetter) (NbService *service);

static guint64
get_open (NbService *s)
{
  return s->metrics.connections_open;
}

static guint64
get_accepted (NbService *s)
{
  return s->metrics.accepted;
}

static guint64
get_accept_errors (NbService *s)
{
  return s->metrics.accept_errors;
}

static guint64
get_channels_open (NbService *s)
{
  return s->metrics.channels_open;
}

static guint64
get_channel_messages (NbService *s)
{
  return s->metrics.channel_messages;
}

static guint64
get_channel_replaced (NbService *s)
{
  return s->metrics.channel_replaced;
}

static guint64
get_channel_overflows (NbService *s)
{
  return s->metrics.channel_overflows;
}

static guint64
sum_streams (NbService *s,
             gboolean   received)
{
  GHashTableIter iter;
  NbServiceConn *conn;
  guint64 total = received ? s->metrics.bytes_received : s->metrics.bytes_sent;

  g_hash_table_iter_init (&iter, s->connections);
  while (g_hash_table_iter_next (&iter, (gpointer *) &conn, NULL))
    if (conn->stream != NULL)
      total += received ? nb_service_stream_get_bytes_read (conn->stream)
                        : nb_service_stream_get_bytes_written (conn->stream);
  return total;
}

static guint64
get_bytes_received (NbService *s)
{
  return sum_streams (s, TRUE);
}

static guint64
get_bytes_sent (NbService *s)
{
  return sum_streams (s, FALSE);
}

static guint64
get_channel_queued (NbService *s)
{
  GHashTableIter iter;
  NbServiceConn *conn;
  guint64 total = 0;

  g_hash_table_iter_init (&iter, s->connections);
  while (g_hash_table_iter_next (&iter, (gpointer *) &conn, NULL))
    if (conn->channel != NULL)
      total += nb_service_channel_get_queued (conn->channel);
  return total;
}

static void
write_family (GString      *out,
              GPtrArray    *services,
              const char   *name,
              const char   *type,
              const char   *help,
              MetricGetter  get)
{
  g_string_append_printf (out, "# HELP nb_service_%s %s\n# TYPE nb_service_%s %s\n",
                          name, help, name, type);
  for (guint i = 0; i < services->len; i++)
    {
      NbService *s = g_ptr_array_index (services, i);

      g_string_append_printf (out, "nb_service_%s{service=\"%s\"} %" G_GUINT64_FORMAT "\n",
                              name, s->name, get (s));
    }
}

void
nb_service_write_metrics (GPtrArray *services,
                          GString   *out)
{
  write_family (out, services, "connections_open", "gauge",
                "Connections open now.", get_open);
  write_family (out, services, "connections_accepted_total", "counter",
                "Connections accepted within the caps.", get_accepted);
  g_string_append (out, "# HELP nb_service_connections_refused_total Connections and requests "
                        "refused, by reason.\n"
                        "# TYPE nb_service_connections_refused_total counter\n");
  for (guint i = 0; i < services->len; i++)
    {
      NbService *s = g_ptr_array_index (services, i);

      for (guint r = 0; r < NB_SERVICE_N_REFUSED; r++)
        g_string_append_printf (out, "nb_service_connections_refused_total{service=\"%s\","
                                     "reason=\"%s\"} %" G_GUINT64_FORMAT "\n",
                                s->name, refused_reasons[r], s->metrics.refused[r]);
    }
  write_family (out, services, "accept_errors_total", "counter",
                "accept() failures (EMFILE, ENFILE, ENOMEM...), each followed by a back-off.",
                get_accept_errors);
  g_string_append (out, "# HELP nb_service_timeouts_total Connections closed past a deadline, "
                        "by kind.\n"
                        "# TYPE nb_service_timeouts_total counter\n");
  for (guint i = 0; i < services->len; i++)
    {
      NbService *s = g_ptr_array_index (services, i);

      for (guint k = 0; k < NB_SERVICE_N_TIMEOUTS; k++)
        g_string_append_printf (out, "nb_service_timeouts_total{service=\"%s\",kind=\"%s\"} %"
                                     G_GUINT64_FORMAT "\n",
                                s->name, timeout_kinds[k], s->metrics.timeouts[k]);
    }
  write_family (out, services, "received_bytes_total", "counter",
                "Bytes read from clients (after TLS).", get_bytes_received);
  write_family (out, services, "sent_bytes_total", "counter",
                "Bytes written to clients (before TLS).", get_bytes_sent);
  write_family (out, services, "channels_open", "gauge",
                "WebSocket channels open now.", get_channels_open);
  write_family (out, services, "channel_queued_bytes", "gauge",
                "Bytes handed to WebSocket channels and not yet written.", get_channel_queued);
  write_family (out, services, "channel_messages_total", "counter",
                "Messages handed to WebSocket channels.", get_channel_messages);
  write_family (out, services, "channel_replaced_total", "counter",
                "Pending snapshots replaced by a newer one before they were sent.",
                get_channel_replaced);
  write_family (out, services, "channel_overflows_total", "counter",
                "Channels closed because their reader fell behind the cap.",
                get_channel_overflows);
}

static void
handle_metrics (SoupServer        *server,
                SoupServerMessage *msg,
                const char        *path,
                GHashTable        *query,
                gpointer           user_data)
{
  GPtrArray *services = user_data;
  GString *out;
  gsize length;

  if (soup_server_message_get_method (msg) != SOUP_METHOD_GET)
    {
      soup_server_message_set_status (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, NULL);
      return;
    }
  out = g_string_sized_new (4096);
  nb_service_write_metrics (services, out);
  length = out->len;
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "text/plain; version=0.0.4", SOUP_MEMORY_TAKE,
                                    g_string_free (out, FALSE), length);
}

/* Serves GET /metrics on @metrics for @services (not referenced: they must
 * outlive @metrics' handlers). */
void
nb_service_serve_metrics (NbService *metrics,
                          GPtrArray *services)
{
  soup_server_add_handler (metrics->soup, "/metrics", handle_metrics,
                           g_ptr_array_ref (services), (GDestroyNotify) g_ptr_array_unref);
}
