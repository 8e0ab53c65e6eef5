/* nb-relay-server-metrics.c: the Relay server's counters in Prometheus'
 * text exposition format (version 0.0.4)
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include "nb-relay-server-private.h"

static const char *const drop_names[NB_RELAY_N_DROPS] = {
  [NB_RELAY_DROP_MALFORMED] = "malformed",
  [NB_RELAY_DROP_OVERSIZE] = "oversize",
  [NB_RELAY_DROP_UNEXPECTED] = "unexpected",
  [NB_RELAY_DROP_BACKLOG] = "backlog",
};

static const char *const closed_names[NB_RELAY_N_CLOSED] = {
  [NB_RELAY_CLOSED_TOKEN_INVALID] = "token_invalid",
  [NB_RELAY_CLOSED_TOKEN_EXPIRED] = "token_expired",
  [NB_RELAY_CLOSED_TOKEN_OTHER_PEER] = "token_other_peer",
  [NB_RELAY_CLOSED_PROOF_FAILED] = "proof_failed",
  [NB_RELAY_CLOSED_PROTOCOL] = "protocol",
  [NB_RELAY_CLOSED_OVERSIZE] = "oversize",
  [NB_RELAY_CLOSED_REPLACED] = "replaced",
  [NB_RELAY_CLOSED_SILENT] = "silent",
  [NB_RELAY_CLOSED_SHUTDOWN] = "shutdown",
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
nb_relay_server_write_metrics (NbRelayServer *self,
                               GString       *out)
{
  const NbRelayCounters *c = &self->counters;

  metric (out, "netbird_relay_connections", "gauge",
          "Open WebSocket connections, authenticated or not.", g_hash_table_size (self->conns));
  metric (out, "netbird_relay_peers", "gauge",
          "Peers authenticated with a token and a proven key.", g_hash_table_size (self->peers));
  metric (out, "netbird_relay_connections_accepted_total", "counter",
          "WebSocket connections accepted.", c->accepted);
  metric (out, "netbird_relay_authenticated_total", "counter",
          "Connections that authenticated.", c->authenticated);
  metric (out, "netbird_relay_forwarded_total", "counter",
          "Datagrams forwarded to a connected peer.", c->forwarded);
  metric (out, "netbird_relay_forwarded_bytes_total", "counter",
          "Bytes of datagrams forwarded (payload only).", c->forwarded_bytes);
  metric (out, "netbird_relay_undeliverable_total", "counter",
          "Datagrams to a peer that is not connected.", c->undeliverable);
  metric (out, "netbird_relay_pings_total", "counter",
          "Health checks answered.", c->pings);

  g_string_append (out, "# HELP netbird_relay_drops_total Frames dropped, by reason.\n"
                        "# TYPE netbird_relay_drops_total counter\n");
  for (guint i = 0; i < NB_RELAY_N_DROPS; i++)
    g_string_append_printf (out, "netbird_relay_drops_total{reason=\"%s\"} %" G_GUINT64_FORMAT
                            "\n", drop_names[i], c->drops[i]);
  g_string_append (out, "# HELP netbird_relay_closed_total Connections the server closed, "
                        "by reason.\n# TYPE netbird_relay_closed_total counter\n");
  for (guint i = 0; i < NB_RELAY_N_CLOSED; i++)
    g_string_append_printf (out, "netbird_relay_closed_total{reason=\"%s\"} %"
                            G_GUINT64_FORMAT "\n", closed_names[i], c->closed[i]);

  if (self->services->len > 0)
    nb_service_write_metrics (self->services, out);
}
