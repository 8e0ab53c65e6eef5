/* nb-signal-server-metrics.c: the Signal server's counters in Prometheus'
 * text exposition format (version 0.0.4)
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include "nb-signal-server-private.h"

static const char *const drop_names[NB_SIGNAL_N_DROPS] = {
  [NB_SIGNAL_DROP_MALFORMED] = "malformed",
  [NB_SIGNAL_DROP_OVERSIZE] = "oversize",
  [NB_SIGNAL_DROP_RATE_LIMITED] = "rate_limited",
  [NB_SIGNAL_DROP_UNEXPECTED] = "unexpected",
  [NB_SIGNAL_DROP_WRONG_SENDER] = "wrong_sender",
  [NB_SIGNAL_DROP_BACKLOG] = "backlog",
};

static const char *const closed_names[NB_SIGNAL_N_CLOSED] = {
  [NB_SIGNAL_CLOSED_PROOF_FAILED] = "proof_failed",
  [NB_SIGNAL_CLOSED_REPLACED] = "replaced",
  [NB_SIGNAL_CLOSED_FLOOD] = "flood",
  [NB_SIGNAL_CLOSED_MALFORMED] = "malformed",
  [NB_SIGNAL_CLOSED_OVERSIZE] = "oversize",
  [NB_SIGNAL_CLOSED_UNEXPECTED] = "unexpected",
  [NB_SIGNAL_CLOSED_WRONG_SENDER] = "wrong_sender",
  [NB_SIGNAL_CLOSED_SHUTDOWN] = "shutdown",
  [NB_SIGNAL_CLOSED_SILENT] = "silent",
};

static void
metric (GString    *out,
        const char *name,
        const char *type,
        const char *help,
        guint64     value)
{
  g_string_append_printf (out, "# HELP %s %s\n# TYPE %s %s\n%s %" G_GUINT64_FORMAT "\n",
                          name, help, name, type, name, value);
}

void
nb_signal_server_write_metrics (NbSignalServer *self,
                                GString        *out)
{
  const NbSignalCounters *c = &self->counters;

  metric (out, "netbird_signal_connections", "gauge",
          "Open WebSocket connections, registered or not.", g_hash_table_size (self->conns));
  metric (out, "netbird_signal_peers_registered", "gauge",
          "Peers registered with a proven key.", g_hash_table_size (self->peers));
  metric (out, "netbird_signal_connections_accepted_total", "counter",
          "WebSocket connections accepted.", c->accepted);
  metric (out, "netbird_signal_registrations_total", "counter",
          "Registrations with a proven key.", c->registrations);
  metric (out, "netbird_signal_registrations_failed_total", "counter",
          "Connections that did not prove a key (wrong proof or frame; the ones too slow "
          "are nb_service_timeouts_total{kind=\"websocket_auth\"}).",
          c->registrations_failed);
  metric (out, "netbird_signal_messages_forwarded_total", "counter",
          "Messages forwarded to a connected destination.", c->forwarded);
  metric (out, "netbird_signal_messages_undeliverable_total", "counter",
          "Messages answered as undeliverable (destination not connected).",
          c->undeliverable);

  g_string_append (out, "# HELP netbird_signal_drops_total Frames dropped, by reason.\n"
                        "# TYPE netbird_signal_drops_total counter\n");
  for (guint i = 0; i < NB_SIGNAL_N_DROPS; i++)
    g_string_append_printf (out, "netbird_signal_drops_total{reason=\"%s\"} %" G_GUINT64_FORMAT
                            "\n", drop_names[i], c->drops[i]);
  g_string_append (out, "# HELP netbird_signal_closed_total Connections the server closed, "
                        "by reason.\n# TYPE netbird_signal_closed_total counter\n");
  for (guint i = 0; i < NB_SIGNAL_N_CLOSED; i++)
    g_string_append_printf (out, "netbird_signal_closed_total{reason=\"%s\"} %"
                            G_GUINT64_FORMAT "\n", closed_names[i], c->closed[i]);

  /* The service base's own: connections open, refused by reason,
   * deadlines, bytes, send queues. */
  if (self->services->len > 0)
    nb_service_write_metrics (self->services, out);
}
