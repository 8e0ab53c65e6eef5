/* nb-cli-status.c: `netbird status` in NetBird's three shapes
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * The daemon's GetStatus() dictionary printed as NetBird prints it: a
 * summary, the per-peer block of `--detail`, or `--json` with NetBird's
 * field names (scripts parse those, so the names and the units are
 * NetBird's: times in RFC 3339, latency in nanoseconds, bytes as numbers).
 */
#include <string.h>
#include <sys/utsname.h>

#include <json-glib/json-glib.h>
#include <netbird.h>

#include "nb-cli-status.h"

static const char *
lookup_string (GVariantDict *dict,
               const char   *key)
{
  const char *value = NULL;

  if (!g_variant_dict_lookup (dict, key, "&s", &value) || value == NULL)
    return "";
  return value;
}

static gboolean
lookup_bool (GVariantDict *dict,
             const char   *key)
{
  gboolean value = FALSE;

  g_variant_dict_lookup (dict, key, "b", &value);
  return value;
}

static gint64
lookup_int64 (GVariantDict *dict,
              const char   *key)
{
  gint64 value = 0;

  g_variant_dict_lookup (dict, key, "x", &value);
  return value;
}

static guint64
lookup_uint64 (GVariantDict *dict,
               const char   *key)
{
  guint64 value = 0;

  g_variant_dict_lookup (dict, key, "t", &value);
  return value;
}

static guint16
lookup_uint16 (GVariantDict *dict,
               const char   *key)
{
  guint16 value = 0;

  g_variant_dict_lookup (dict, key, "q", &value);
  return value;
}

/* As a person reads an age: "Now", "10 seconds ago", "1 minute, 30
 * seconds ago", "2 hours, 15 minutes ago", "3 days ago"; "-" for never. */
char *
nb_cli_format_time_ago (gint64 then_us,
                        gint64 now_us)
{
  gint64 seconds;
  gint64 big, small;
  const char *big_unit, *small_unit;

  if (then_us <= 0)
    return g_strdup ("-");
  seconds = (now_us - then_us) / G_USEC_PER_SEC;
  if (seconds < 1)
    return g_strdup ("Now");
  if (seconds < 60)
    return g_strdup_printf ("%" G_GINT64_FORMAT " second%s ago", seconds,
                            seconds == 1 ? "" : "s");
  if (seconds < 3600)
    {
      big = seconds / 60, small = seconds % 60;
      big_unit = "minute", small_unit = "second";
    }
  else if (seconds < 86400)
    {
      big = seconds / 3600, small = (seconds % 3600) / 60;
      big_unit = "hour", small_unit = "minute";
    }
  else
    {
      big = seconds / 86400;
      return g_strdup_printf ("%" G_GINT64_FORMAT " day%s ago", big, big == 1 ? "" : "s");
    }
  if (small == 0)
    return g_strdup_printf ("%" G_GINT64_FORMAT " %s%s ago", big, big_unit,
                            big == 1 ? "" : "s");
  return g_strdup_printf ("%" G_GINT64_FORMAT " %s%s, %" G_GINT64_FORMAT " %s%s ago",
                          big, big_unit, big == 1 ? "" : "s",
                          small, small_unit, small == 1 ? "" : "s");
}

/* Binary units, one decimal below 10 of a unit: "200 B", "2.0 KiB",
 * "20 KiB". */
char *
nb_cli_format_bytes (guint64 bytes)
{
  static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
  double value = (double) bytes;
  guint unit = 0;

  if (bytes < 1024)
    return g_strdup_printf ("%" G_GUINT64_FORMAT " B", bytes);
  value /= 1024;
  while (value >= 1024 && unit + 1 < G_N_ELEMENTS (units))
    {
      value /= 1024;
      unit++;
    }
  return g_strdup_printf (value < 10 ? "%.1f %s" : "%.0f %s", value, units[unit]);
}

/* A duration the way NetBird's Go prints one: "850µs", "10ms",
 * "1.234s"; "0s" for none. */
char *
nb_cli_format_duration (gint64 microseconds)
{
  char number[G_ASCII_DTOSTR_BUF_SIZE];

  if (microseconds <= 0)
    return g_strdup ("0s");
  if (microseconds < 1000)
    return g_strdup_printf ("%" G_GINT64_FORMAT "µs", microseconds);
  if (microseconds < G_USEC_PER_SEC)
    {
      g_ascii_formatd (number, sizeof number, "%.3f", (double) microseconds / 1000.0);
      /* trim trailing zeros and a trailing point */
      for (char *end = number + strlen (number) - 1; *end == '0' || *end == '.'; end--)
        {
          gboolean point = *end == '.';
          *end = '\0';
          if (point)
            break;
        }
      return g_strdup_printf ("%sms", number);
    }
  g_ascii_formatd (number, sizeof number, "%.6f", (double) microseconds / G_USEC_PER_SEC);
  for (char *end = number + strlen (number) - 1; *end == '0' || *end == '.'; end--)
    {
      gboolean point = *end == '.';
      *end = '\0';
      if (point)
        break;
    }
  return g_strdup_printf ("%ss", number);
}

/* RFC 3339 in UTC, as Go marshals a time.Time; the zero time for never. */
static char *
format_rfc3339 (gint64 us)
{
  g_autoptr(GDateTime) time = NULL;

  if (us <= 0)
    return g_strdup ("0001-01-01T00:00:00Z");
  time = g_date_time_new_from_unix_utc (us / G_USEC_PER_SEC);
  if (time == NULL)
    return g_strdup ("0001-01-01T00:00:00Z");
  time = g_date_time_add (time, us % G_USEC_PER_SEC);
  return g_date_time_format_iso8601 (time);
}

/* Peers in the order of their addresses, as NetBird lists them. */
static int
compare_peers (gconstpointer a,
               gconstpointer b)
{
  GVariantDict *da = *(GVariantDict **) a;
  GVariantDict *db = *(GVariantDict **) b;
  const char *ia = lookup_string (da, "netbirdIp");
  const char *ib = lookup_string (db, "netbirdIp");
  g_autofree char *ha = g_strndup (ia, strcspn (ia, "/"));
  g_autofree char *hb = g_strndup (ib, strcspn (ib, "/"));
  g_autoptr(GInetAddress) aa = g_inet_address_new_from_string (ha);
  g_autoptr(GInetAddress) ab = g_inet_address_new_from_string (hb);

  if (aa != NULL && ab != NULL &&
      g_inet_address_get_native_size (aa) == g_inet_address_get_native_size (ab))
    return memcmp (g_inet_address_to_bytes (aa), g_inet_address_to_bytes (ab),
                   g_inet_address_get_native_size (aa));
  return g_strcmp0 (ia, ib);
}

static GPtrArray *
sorted_peers (GVariantDict *status)
{
  GPtrArray *peers = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_dict_unref);
  g_autoptr(GVariant) list = g_variant_dict_lookup_value (status, "peers",
                                                          G_VARIANT_TYPE ("aa{sv}"));
  GVariantIter iter;
  GVariant *peer;

  if (list == NULL)
    return peers;
  g_variant_iter_init (&iter, list);
  while ((peer = g_variant_iter_next_value (&iter)) != NULL)
    {
      g_ptr_array_add (peers, g_variant_dict_new (peer));
      g_variant_unref (peer);
    }
  g_ptr_array_sort (peers, compare_peers);
  return peers;
}

static guint
count_connected (GPtrArray *peers)
{
  guint n = 0;

  for (guint i = 0; i < peers->len; i++)
    if (g_str_equal (lookup_string (peers->pdata[i], "status"), "Connected"))
      n++;
  return n;
}

static const char *
or_dash (const char *text)
{
  return text[0] != '\0' ? text : "-";
}

static void
append_peer_detail (GString      *out,
                    GVariantDict *peer,
                    gint64        now_us)
{
  g_autofree char *updated = nb_cli_format_time_ago (lookup_int64 (peer, "lastStatusUpdate"),
                                                     now_us);
  g_autofree char *handshake =
    nb_cli_format_time_ago (lookup_int64 (peer, "lastWireguardHandshake"), now_us);
  g_autofree char *received = nb_cli_format_bytes (lookup_uint64 (peer, "transferReceived"));
  g_autofree char *sent = nb_cli_format_bytes (lookup_uint64 (peer, "transferSent"));
  g_autofree char *latency = nb_cli_format_duration (lookup_int64 (peer, "latency"));
  const char *fqdn = lookup_string (peer, "fqdn");

  g_string_append_printf (out, " %s:\n", fqdn[0] != '\0' ? fqdn : lookup_string (peer, "netbirdIp"));
  g_string_append_printf (out, "  NetBird IP: %s\n", lookup_string (peer, "netbirdIp"));
  g_string_append_printf (out, "  Public key: %s\n", lookup_string (peer, "publicKey"));
  g_string_append_printf (out, "  Status: %s\n", lookup_string (peer, "status"));
  g_string_append (out, "  -- detail --\n");
  g_string_append_printf (out, "  Connection type: %s\n",
                          or_dash (lookup_string (peer, "connectionType")));
  g_string_append_printf (out, "  ICE candidate (Local/Remote): %s/%s\n",
                          or_dash (lookup_string (peer, "iceCandidateLocal")),
                          or_dash (lookup_string (peer, "iceCandidateRemote")));
  g_string_append_printf (out, "  ICE candidate endpoints (Local/Remote): %s/%s\n",
                          or_dash (lookup_string (peer, "iceEndpointLocal")),
                          or_dash (lookup_string (peer, "iceEndpointRemote")));
  g_string_append_printf (out, "  Relay server address: %s\n",
                          lookup_string (peer, "relayAddress"));
  g_string_append_printf (out, "  Last connection update: %s\n", updated);
  g_string_append_printf (out, "  Last WireGuard handshake: %s\n", handshake);
  g_string_append_printf (out, "  Transfer status (received/sent) %s/%s\n", received, sent);
  g_string_append_printf (out, "  Latency: %s\n\n", latency);
}

static char *
service_line (GVariantDict *status,
              const char   *prefix,
              gboolean      detail)
{
  g_autofree char *url_key = g_strconcat (prefix, "Url", NULL);
  g_autofree char *connected_key = g_strconcat (prefix, "Connected", NULL);
  g_autofree char *error_key = g_strconcat (prefix, "Error", NULL);
  gboolean connected = lookup_bool (status, connected_key);
  const char *url = lookup_string (status, url_key);
  const char *error = lookup_string (status, error_key);
  GString *line = g_string_new (connected ? "Connected" : "Disconnected");

  if (detail && url[0] != '\0')
    g_string_append_printf (line, " %s %s", connected ? "to" : "from", url);
  if (!connected && error[0] != '\0')
    g_string_append_printf (line, ", reason: %s", error);
  return g_string_free (line, FALSE);
}

/* The map's nameserver groups in force ("dns" → "dnsServers"). */
static GVariant *
dns_servers (GVariantDict *status)
{
  g_autoptr(GVariant) dns = g_variant_dict_lookup_value (status, "dns", G_VARIANT_TYPE ("a{sv}"));
  GVariant *servers = NULL;

  if (dns != NULL)
    servers = g_variant_lookup_value (dns, "dnsServers", G_VARIANT_TYPE ("aa{sv}"));
  return servers != NULL ? servers : g_variant_ref_sink (g_variant_new ("aa{sv}", NULL));
}

static char *
joined_strv (GVariant   *dict,
             const char *key)
{
  g_autoptr(GVariant) value = g_variant_lookup_value (dict, key, G_VARIANT_TYPE_STRING_ARRAY);
  g_autofree const char **strv = value != NULL ? g_variant_get_strv (value, NULL) : NULL;

  return strv != NULL ? g_strjoinv (", ", (char **) strv) : g_strdup ("");
}

/* NetBird's lines: "Nameservers: 1/2 Available", and with -d each group
 * "[IP:53, IP:53] for [corp.test] is Available", then our resolver and
 * the search domains the host was given. */
static void
append_nameservers (GString      *out,
                    GVariantDict *status,
                    gboolean      detail)
{
  g_autoptr(GVariant) servers = dns_servers (status);
  g_autoptr(GVariant) dns = g_variant_dict_lookup_value (status, "dns", G_VARIANT_TYPE ("a{sv}"));
  gsize n = g_variant_n_children (servers);
  guint available = 0;

  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) group = g_variant_get_child_value (servers, i);
      gboolean enabled = FALSE;

      g_variant_lookup (group, "enabled", "b", &enabled);
      available += enabled;
    }
  if (!detail)
    {
      g_string_append_printf (out, "Nameservers: %u/%" G_GSIZE_FORMAT " Available\n", available, n);
      return;
    }
  g_string_append (out, "Nameservers:\n");
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) group = g_variant_get_child_value (servers, i);
      g_autofree char *addresses = joined_strv (group, "servers");
      g_autofree char *domains = joined_strv (group, "domains");
      const char *error = "";
      gboolean enabled = FALSE;

      g_variant_lookup (group, "enabled", "b", &enabled);
      g_variant_lookup (group, "error", "&s", &error);
      g_string_append_printf (out, "  [%s] for [%s] is %s%s%s\n", addresses, domains,
                              enabled ? "Available" : "Unavailable",
                              error[0] != '\0' ? ", reason: " : "", error);
    }
  if (dns != NULL)
    {
      const char *resolver = "";
      const char *host = "";
      const char *host_error = "";
      g_autofree char *domains = joined_strv (dns, "domains");

      g_variant_lookup (dns, "resolver", "&s", &resolver);
      g_variant_lookup (dns, "hostConfig", "&s", &host);
      g_variant_lookup (dns, "hostError", "&s", &host_error);
      if (resolver[0] != '\0')
        g_string_append_printf (out, "DNS resolver: %s, host: %s%s%s, search: [%s]\n", resolver,
                                host[0] != '\0' ? host : "not configured",
                                host_error[0] != '\0' ? ": " : "", host_error, domains);
    }
}

static char *
format_text (GVariantDict *status,
             gboolean      detail,
             gint64        now_us)
{
  g_autoptr(GPtrArray) peers = sorted_peers (status);
  GString *out = g_string_new (NULL);
  const char *daemon_status = lookup_string (status, "daemonStatus");
  g_autofree char *management = service_line (status, "management", detail);
  g_autofree char *signal = service_line (status, "signal", detail);
  struct utsname uts;

  if (g_str_equal (daemon_status, "NeedsLogin"))
    {
      const char *why = lookup_string (status, "managementError");

      g_string_append_printf (out, "Daemon status: %s\n", daemon_status);
      if (why[0] != '\0')
        g_string_append_printf (out, "Reason: %s\n", why);
      g_string_append (out, "\nRun 'netbird up --setup-key KEY' to register this peer "
                       "and bring it up.\n");
      return g_string_free (out, FALSE);
    }

  if (detail)
    {
      g_string_append (out, "Peers detail:\n");
      for (guint i = 0; i < peers->len; i++)
        append_peer_detail (out, peers->pdata[i], now_us);
    }

  if (uname (&uts) == 0)
    g_string_append_printf (out, "OS: linux/%s\n", uts.machine);
  g_string_append_printf (out, "Daemon version: %s\n", lookup_string (status, "daemonVersion"));
  g_string_append_printf (out, "CLI version: %s\n", nb_get_version_string ());
  g_string_append_printf (out, "Daemon status: %s\n", daemon_status);
  g_string_append_printf (out, "Management: %s\n", management);
  g_string_append_printf (out, "Signal: %s\n", signal);
  g_string_append_printf (out, "FQDN: %s\n", lookup_string (status, "fqdn"));
  g_string_append_printf (out, "NetBird IP: %s\n", or_dash (lookup_string (status, "netbirdIp")));
  g_string_append_printf (out, "Interface type: Userspace\n");
  g_string_append_printf (out, "Interface name: %s\n",
                          or_dash (lookup_string (status, "interfaceName")));
  g_string_append_printf (out, "Wireguard port: %u\n",
                          (guint) lookup_uint16 (status, "wireguardPort"));
  append_nameservers (out, status, detail);
  g_string_append_printf (out, "Peers count: %u/%u Connected\n", count_connected (peers),
                          peers->len);
  return g_string_free (out, FALSE);
}

static void
add_service_object (JsonBuilder  *builder,
                    GVariantDict *status,
                    const char   *name,
                    const char   *prefix)
{
  g_autofree char *url_key = g_strconcat (prefix, "Url", NULL);
  g_autofree char *connected_key = g_strconcat (prefix, "Connected", NULL);
  g_autofree char *error_key = g_strconcat (prefix, "Error", NULL);

  json_builder_set_member_name (builder, name);
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "url");
  json_builder_add_string_value (builder, lookup_string (status, url_key));
  json_builder_set_member_name (builder, "connected");
  json_builder_add_boolean_value (builder, lookup_bool (status, connected_key));
  json_builder_set_member_name (builder, "error");
  json_builder_add_string_value (builder, lookup_string (status, error_key));
  json_builder_end_object (builder);
}

static void
add_string (JsonBuilder *builder,
            const char  *name,
            const char  *value)
{
  json_builder_set_member_name (builder, name);
  json_builder_add_string_value (builder, value);
}

static void
add_pair (JsonBuilder  *builder,
          const char   *name,
          GVariantDict *peer,
          const char   *local_key,
          const char   *remote_key)
{
  json_builder_set_member_name (builder, name);
  json_builder_begin_object (builder);
  add_string (builder, "local", lookup_string (peer, local_key));
  add_string (builder, "remote", lookup_string (peer, remote_key));
  json_builder_end_object (builder);
}

static void
add_peer_object (JsonBuilder  *builder,
                 GVariantDict *peer)
{
  g_autofree char *updated = format_rfc3339 (lookup_int64 (peer, "lastStatusUpdate"));
  g_autofree char *handshake = format_rfc3339 (lookup_int64 (peer, "lastWireguardHandshake"));
  const char *type = lookup_string (peer, "connectionType");

  json_builder_begin_object (builder);
  add_string (builder, "fqdn", lookup_string (peer, "fqdn"));
  add_string (builder, "netbirdIp", lookup_string (peer, "netbirdIp"));
  add_string (builder, "publicKey", lookup_string (peer, "publicKey"));
  add_string (builder, "status", lookup_string (peer, "status"));
  add_string (builder, "lastStatusUpdate", updated);
  add_string (builder, "connectionType", or_dash (type));
  add_pair (builder, "iceCandidateType", peer, "iceCandidateLocal", "iceCandidateRemote");
  add_pair (builder, "iceCandidateEndpoint", peer, "iceEndpointLocal", "iceEndpointRemote");
  add_string (builder, "relayAddress", lookup_string (peer, "relayAddress"));
  add_string (builder, "lastWireguardHandshake", handshake);
  json_builder_set_member_name (builder, "transferReceived");
  json_builder_add_int_value (builder, (gint64) lookup_uint64 (peer, "transferReceived"));
  json_builder_set_member_name (builder, "transferSent");
  json_builder_add_int_value (builder, (gint64) lookup_uint64 (peer, "transferSent"));
  /* Go's time.Duration: nanoseconds */
  json_builder_set_member_name (builder, "latency");
  json_builder_add_int_value (builder, lookup_int64 (peer, "latency") * 1000);
  json_builder_end_object (builder);
}

static void
add_strv (JsonBuilder *builder,
          GVariant    *dict,
          const char  *key)
{
  g_autoptr(GVariant) value = g_variant_lookup_value (dict, key, G_VARIANT_TYPE_STRING_ARRAY);
  g_autofree const char **strv = value != NULL ? g_variant_get_strv (value, NULL) : NULL;

  json_builder_set_member_name (builder, key);
  json_builder_begin_array (builder);
  for (guint i = 0; strv != NULL && strv[i] != NULL; i++)
    json_builder_add_string_value (builder, strv[i]);
  json_builder_end_array (builder);
}

/* NetBird's "dnsServers": one object per nameserver group. */
static void
add_dns_servers (JsonBuilder  *builder,
                 GVariantDict *status)
{
  g_autoptr(GVariant) servers = dns_servers (status);

  json_builder_set_member_name (builder, "dnsServers");
  json_builder_begin_array (builder);
  for (gsize i = 0; i < g_variant_n_children (servers); i++)
    {
      g_autoptr(GVariant) group = g_variant_get_child_value (servers, i);
      const char *error = "";
      gboolean enabled = FALSE;

      g_variant_lookup (group, "enabled", "b", &enabled);
      g_variant_lookup (group, "error", "&s", &error);
      json_builder_begin_object (builder);
      add_strv (builder, group, "servers");
      add_strv (builder, group, "domains");
      json_builder_set_member_name (builder, "enabled");
      json_builder_add_boolean_value (builder, enabled);
      json_builder_set_member_name (builder, "error");
      json_builder_add_string_value (builder, error);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
}

static char *
format_json (GVariantDict *status)
{
  g_autoptr(GPtrArray) peers = sorted_peers (status);
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  char *text;

  json_builder_begin_object (builder);

  json_builder_set_member_name (builder, "peers");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "total");
  json_builder_add_int_value (builder, peers->len);
  json_builder_set_member_name (builder, "connected");
  json_builder_add_int_value (builder, count_connected (peers));
  json_builder_set_member_name (builder, "details");
  json_builder_begin_array (builder);
  for (guint i = 0; i < peers->len; i++)
    add_peer_object (builder, peers->pdata[i]);
  json_builder_end_array (builder);
  json_builder_end_object (builder);

  add_string (builder, "cliVersion", nb_get_version_string ());
  add_string (builder, "daemonVersion", lookup_string (status, "daemonVersion"));
  add_string (builder, "daemonStatus", lookup_string (status, "daemonStatus"));
  add_service_object (builder, status, "management", "management");
  add_service_object (builder, status, "signal", "signal");
  add_string (builder, "netbirdIp", lookup_string (status, "netbirdIp"));
  add_string (builder, "publicKey", lookup_string (status, "publicKey"));
  json_builder_set_member_name (builder, "usesKernelInterface");
  json_builder_add_boolean_value (builder, FALSE);
  add_string (builder, "interfaceName", lookup_string (status, "interfaceName"));
  json_builder_set_member_name (builder, "wireguardPort");
  json_builder_add_int_value (builder, lookup_uint16 (status, "wireguardPort"));
  add_string (builder, "fqdn", lookup_string (status, "fqdn"));
  add_dns_servers (builder, status);

  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  json_generator_set_indent (generator, 2);
  text = json_generator_to_data (generator, NULL);
  return text;
}

char *
nb_cli_status_format (GVariant          *status,
                      NbCliStatusFormat  format,
                      gint64             now_us)
{
  g_autoptr(GVariantDict) dict = g_variant_dict_new (status);

  switch (format)
    {
    case NB_CLI_STATUS_JSON:
      {
        g_autofree char *json = format_json (dict);
        return g_strconcat (json, "\n", NULL);
      }
    case NB_CLI_STATUS_DETAIL:
      return format_text (dict, TRUE, now_us);
    case NB_CLI_STATUS_SUMMARY:
    default:
      return format_text (dict, FALSE, now_us);
    }
}
