/* test-cli-format.c: what `netbird status` prints, and how `netbird`
 * reads its command line
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <string.h>

#include <json-glib/json-glib.h>
#include <netbird.h>

#include "nb-cli-dbus.h"
#include "nb-cli-options.h"
#include "nb-cli-status.h"

#define NOW_US G_GINT64_CONSTANT (1796400000000000)  /* 2026-12-04T16:00:00Z */

static void
check_time_ago (gint64      ago_s,
                const char *expected)
{
  g_autofree char *text = nb_cli_format_time_ago (NOW_US - ago_s * G_USEC_PER_SEC, NOW_US);

  g_assert_cmpstr (text, ==, expected);
}

static void
test_time_ago (void)
{
  g_autofree char *never = nb_cli_format_time_ago (0, NOW_US);

  g_assert_cmpstr (never, ==, "-");
  check_time_ago (0, "Now");
  check_time_ago (1, "1 second ago");
  check_time_ago (10, "10 seconds ago");
  check_time_ago (60, "1 minute ago");
  check_time_ago (90, "1 minute, 30 seconds ago");
  check_time_ago (3600, "1 hour ago");
  check_time_ago (2 * 3600 + 15 * 60, "2 hours, 15 minutes ago");
  check_time_ago (86400, "1 day ago");
  check_time_ago (3 * 86400 + 20 * 60, "3 days ago");
}

static void
check_bytes (guint64     bytes,
             const char *expected)
{
  g_autofree char *text = nb_cli_format_bytes (bytes);

  g_assert_cmpstr (text, ==, expected);
}

static void
test_bytes (void)
{
  check_bytes (0, "0 B");
  check_bytes (200, "200 B");
  check_bytes (1023, "1023 B");
  check_bytes (2000, "2.0 KiB");
  check_bytes (20000, "20 KiB");
  check_bytes (5 * 1024 * 1024, "5.0 MiB");
  check_bytes (G_GUINT64_CONSTANT (3) << 40, "3.0 TiB");
}

static void
check_duration (gint64      us,
                const char *expected)
{
  g_autofree char *text = nb_cli_format_duration (us);

  g_assert_cmpstr (text, ==, expected);
}

static void
test_duration (void)
{
  check_duration (0, "0s");
  check_duration (850, "850µs");
  check_duration (1500, "1.5ms");
  check_duration (10000, "10ms");
  check_duration (1234567, "1.234567s");
  check_duration (2000000, "2s");
}

/* Two peers, listed out of address order: one connected over ICE, one
 * idle that never connected. */
static GVariant *
sample_status (const char *daemon_status)
{
  GVariantBuilder peers;
  GVariantDict dict;

  g_variant_builder_init (&peers, G_VARIANT_TYPE ("aa{sv}"));

  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "fqdn", "s", "idle.netbird.cloud");
  g_variant_dict_insert (&dict, "netbirdIp", "s", "100.64.0.20");
  g_variant_dict_insert (&dict, "publicKey", "s", "IdleKey");
  g_variant_dict_insert (&dict, "status", "s", "Idle");
  g_variant_dict_insert (&dict, "lastStatusUpdate", "x", (gint64) 0);
  g_variant_dict_insert (&dict, "connectionType", "s", "-");
  g_variant_dict_insert (&dict, "lastWireguardHandshake", "x", (gint64) 0);
  g_variant_builder_add_value (&peers, g_variant_dict_end (&dict));

  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "fqdn", "s", "laptop.netbird.cloud");
  g_variant_dict_insert (&dict, "netbirdIp", "s", "100.64.0.3");
  g_variant_dict_insert (&dict, "publicKey", "s", "LaptopKey");
  g_variant_dict_insert (&dict, "status", "s", "Connected");
  g_variant_dict_insert (&dict, "lastStatusUpdate", "x", NOW_US - 90 * G_USEC_PER_SEC);
  g_variant_dict_insert (&dict, "connectionType", "s", "P2P");
  g_variant_dict_insert (&dict, "iceCandidateLocal", "s", "host");
  g_variant_dict_insert (&dict, "iceCandidateRemote", "s", "srflx");
  g_variant_dict_insert (&dict, "iceEndpointLocal", "s", "198.18.0.1:51820");
  g_variant_dict_insert (&dict, "iceEndpointRemote", "s", "198.18.1.1:40000");
  g_variant_dict_insert (&dict, "relayAddress", "s", "");
  g_variant_dict_insert (&dict, "lastWireguardHandshake", "x",
                         G_GINT64_CONSTANT (978310862000000));  /* 2001-01-01T01:01:02Z */
  g_variant_dict_insert (&dict, "transferReceived", "t", (guint64) 2000);
  g_variant_dict_insert (&dict, "transferSent", "t", (guint64) 100);
  g_variant_dict_insert (&dict, "latency", "x", (gint64) 10000);
  g_variant_builder_add_value (&peers, g_variant_dict_end (&dict));

  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "daemonStatus", "s", daemon_status);
  g_variant_dict_insert (&dict, "daemonVersion", "s", "0.1.0");
  g_variant_dict_insert (&dict, "netbirdIp", "s", "100.64.0.1/10");
  g_variant_dict_insert (&dict, "publicKey", "s", "OwnKey");
  g_variant_dict_insert (&dict, "fqdn", "s", "me.netbird.cloud");
  g_variant_dict_insert (&dict, "interfaceName", "s", "wt0");
  g_variant_dict_insert (&dict, "wireguardPort", "q", (guint16) 51820);
  g_variant_dict_insert (&dict, "managementUrl", "s", "https://mgmt.example:33073");
  g_variant_dict_insert (&dict, "managementConnected", "b", TRUE);
  g_variant_dict_insert (&dict, "managementError", "s",
                         g_str_equal (daemon_status, "NeedsLogin") ? "this peer was deleted" : "");
  g_variant_dict_insert (&dict, "signalUrl", "s", "https://signal.example:10000");
  g_variant_dict_insert (&dict, "signalConnected", "b", FALSE);
  g_variant_dict_insert (&dict, "signalError", "s", "connection refused");
  g_variant_dict_insert_value (&dict, "peers", g_variant_builder_end (&peers));
  return g_variant_ref_sink (g_variant_dict_end (&dict));
}

static void
test_json_names (void)
{
  g_autoptr(GVariant) status = sample_status ("Connected");
  g_autofree char *text = nb_cli_status_format (status, NB_CLI_STATUS_JSON, NOW_US);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *root, *peers, *first, *second, *object;

  g_assert_true (json_parser_load_from_data (parser, text, -1, &error));
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));

  g_assert_cmpstr (json_object_get_string_member (root, "netbirdIp"), ==, "100.64.0.1/10");
  g_assert_cmpstr (json_object_get_string_member (root, "publicKey"), ==, "OwnKey");
  g_assert_cmpstr (json_object_get_string_member (root, "fqdn"), ==, "me.netbird.cloud");
  g_assert_cmpstr (json_object_get_string_member (root, "daemonStatus"), ==, "Connected");
  object = json_object_get_object_member (root, "management");
  g_assert_cmpstr (json_object_get_string_member (object, "url"), ==,
                   "https://mgmt.example:33073");
  g_assert_true (json_object_get_boolean_member (object, "connected"));
  g_assert_cmpstr (json_object_get_string_member (object, "error"), ==, "");
  object = json_object_get_object_member (root, "signal");
  g_assert_false (json_object_get_boolean_member (object, "connected"));
  g_assert_cmpstr (json_object_get_string_member (object, "error"), ==, "connection refused");

  peers = json_object_get_object_member (root, "peers");
  g_assert_cmpint (json_object_get_int_member (peers, "total"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (peers, "connected"), ==, 1);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (peers, "details")),
                    ==, 2);

  /* In address order: 100.64.0.3 before 100.64.0.20. */
  first = json_array_get_object_element (json_object_get_array_member (peers, "details"), 0);
  second = json_array_get_object_element (json_object_get_array_member (peers, "details"), 1);
  g_assert_cmpstr (json_object_get_string_member (first, "fqdn"), ==, "laptop.netbird.cloud");
  g_assert_cmpstr (json_object_get_string_member (first, "netbirdIp"), ==, "100.64.0.3");
  g_assert_cmpstr (json_object_get_string_member (first, "publicKey"), ==, "LaptopKey");
  g_assert_cmpstr (json_object_get_string_member (first, "status"), ==, "Connected");
  g_assert_cmpstr (json_object_get_string_member (first, "lastStatusUpdate"), ==,
                   "2026-12-04T15:58:30Z");
  g_assert_cmpstr (json_object_get_string_member (first, "connectionType"), ==, "P2P");
  object = json_object_get_object_member (first, "iceCandidateType");
  g_assert_cmpstr (json_object_get_string_member (object, "local"), ==, "host");
  g_assert_cmpstr (json_object_get_string_member (object, "remote"), ==, "srflx");
  object = json_object_get_object_member (first, "iceCandidateEndpoint");
  g_assert_cmpstr (json_object_get_string_member (object, "local"), ==, "198.18.0.1:51820");
  g_assert_cmpstr (json_object_get_string_member (object, "remote"), ==, "198.18.1.1:40000");
  g_assert_cmpstr (json_object_get_string_member (first, "relayAddress"), ==, "");
  g_assert_cmpstr (json_object_get_string_member (first, "lastWireguardHandshake"), ==,
                   "2001-01-01T01:01:02Z");
  g_assert_cmpint (json_object_get_int_member (first, "transferReceived"), ==, 2000);
  g_assert_cmpint (json_object_get_int_member (first, "transferSent"), ==, 100);
  /* Go's time.Duration: nanoseconds */
  g_assert_cmpint (json_object_get_int_member (first, "latency"), ==, 10000000);

  /* Never connected: Go's zero time, '-' for the type, empty candidates. */
  g_assert_cmpstr (json_object_get_string_member (second, "status"), ==, "Idle");
  g_assert_cmpstr (json_object_get_string_member (second, "lastStatusUpdate"), ==,
                   "0001-01-01T00:00:00Z");
  g_assert_cmpstr (json_object_get_string_member (second, "connectionType"), ==, "-");
  object = json_object_get_object_member (second, "iceCandidateType");
  g_assert_cmpstr (json_object_get_string_member (object, "local"), ==, "");
  g_assert_cmpint (json_object_get_int_member (second, "latency"), ==, 0);
}

static void
test_detail_block (void)
{
  g_autoptr(GVariant) status = sample_status ("Connected");
  g_autofree char *text = nb_cli_status_format (status, NB_CLI_STATUS_DETAIL, NOW_US);
  const char *laptop, *idle;

  g_assert_true (g_str_has_prefix (text, "Peers detail:\n laptop.netbird.cloud:\n"));
  g_assert_nonnull (strstr (text,
                            " laptop.netbird.cloud:\n"
                            "  NetBird IP: 100.64.0.3\n"
                            "  Public key: LaptopKey\n"
                            "  Status: Connected\n"
                            "  -- detail --\n"
                            "  Connection type: P2P\n"
                            "  ICE candidate (Local/Remote): host/srflx\n"
                            "  ICE candidate endpoints (Local/Remote): "
                            "198.18.0.1:51820/198.18.1.1:40000\n"
                            "  Relay server address: \n"
                            "  Last connection update: 1 minute, 30 seconds ago\n"));
  g_assert_nonnull (strstr (text, "  Transfer status (received/sent) 2.0 KiB/100 B\n"
                                  "  Latency: 10ms\n"));
  g_assert_nonnull (strstr (text, "  ICE candidate (Local/Remote): -/-\n"));
  g_assert_nonnull (strstr (text, "  Last WireGuard handshake: -\n"));
  g_assert_nonnull (strstr (text, "Management: Connected to https://mgmt.example:33073\n"));
  g_assert_nonnull (strstr (text, "Signal: Disconnected from https://signal.example:10000, "
                                  "reason: connection refused\n"));
  g_assert_nonnull (strstr (text, "NetBird IP: 100.64.0.1/10\n"));
  g_assert_nonnull (strstr (text, "Peers count: 1/2 Connected\n"));

  laptop = strstr (text, "laptop.netbird.cloud:");
  idle = strstr (text, "idle.netbird.cloud:");
  g_assert_true (laptop != NULL && idle != NULL && laptop < idle);
}

/* The sample with the daemon's "dns": a corp.test group of two servers and
 * a primary one, our resolver in resolv.conf. */
static GVariant *
sample_status_with_dns (void)
{
  g_autoptr(GVariant) base = sample_status ("Connected");
  const char *corp_servers[] = { "198.18.0.2:53", "198.18.0.3:53" };
  const char *corp_domains[] = { "corp.test" };
  const char *primary_servers[] = { "[2001:db8::53]:53" };
  const char *primary_domains[] = { "." };
  const char *search[] = { "netbird.cloud" };
  GVariantBuilder groups;
  GVariantDict dict;
  GVariantDict dns;

  g_variant_builder_init (&groups, G_VARIANT_TYPE ("aa{sv}"));
  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert_value (&dict, "servers", g_variant_new_strv (corp_servers, 2));
  g_variant_dict_insert_value (&dict, "domains", g_variant_new_strv (corp_domains, 1));
  g_variant_dict_insert (&dict, "enabled", "b", TRUE);
  g_variant_dict_insert (&dict, "error", "s", "");
  g_variant_builder_add_value (&groups, g_variant_dict_end (&dict));
  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert_value (&dict, "servers", g_variant_new_strv (primary_servers, 1));
  g_variant_dict_insert_value (&dict, "domains", g_variant_new_strv (primary_domains, 1));
  g_variant_dict_insert (&dict, "enabled", "b", FALSE);
  g_variant_dict_insert (&dict, "error", "s", "timeout");
  g_variant_builder_add_value (&groups, g_variant_dict_end (&dict));

  g_variant_dict_init (&dns, NULL);
  g_variant_dict_insert (&dns, "resolver", "s", "100.64.0.1:53");
  g_variant_dict_insert (&dns, "hostConfig", "s", "resolv.conf");
  g_variant_dict_insert (&dns, "hostError", "s", "");
  g_variant_dict_insert_value (&dns, "domains", g_variant_new_strv (search, 1));
  g_variant_dict_insert_value (&dns, "dnsServers", g_variant_builder_end (&groups));

  g_variant_dict_init (&dict, base);
  g_variant_dict_insert_value (&dict, "dns", g_variant_dict_end (&dns));
  return g_variant_ref_sink (g_variant_dict_end (&dict));
}

/* NetBird's "dnsServers" in --json, its "Nameservers" lines as text. */
static void
test_dns_servers (void)
{
  g_autoptr(GVariant) status = sample_status_with_dns ();
  g_autoptr(GVariant) plain = sample_status ("Connected");
  g_autofree char *json = nb_cli_status_format (status, NB_CLI_STATUS_JSON, NOW_US);
  g_autofree char *detail = nb_cli_status_format (status, NB_CLI_STATUS_DETAIL, NOW_US);
  g_autofree char *summary = nb_cli_status_format (status, NB_CLI_STATUS_SUMMARY, NOW_US);
  g_autofree char *none = nb_cli_status_format (plain, NB_CLI_STATUS_JSON, NOW_US);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonArray *servers;
  JsonObject *group;

  g_assert_true (json_parser_load_from_data (parser, json, -1, &error));
  g_assert_no_error (error);
  servers = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)),
                                          "dnsServers");
  g_assert_cmpuint (json_array_get_length (servers), ==, 2);
  group = json_array_get_object_element (servers, 0);
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (group, "servers"), 1),
                   ==, "198.18.0.3:53");
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (group, "domains"), 0),
                   ==, "corp.test");
  g_assert_true (json_object_get_boolean_member (group, "enabled"));
  group = json_array_get_object_element (servers, 1);
  g_assert_false (json_object_get_boolean_member (group, "enabled"));
  g_assert_cmpstr (json_object_get_string_member (group, "error"), ==, "timeout");

  g_assert_nonnull (strstr (detail, "Nameservers:\n"
                                    "  [198.18.0.2:53, 198.18.0.3:53] for [corp.test] is Available\n"
                                    "  [[2001:db8::53]:53] for [.] is Unavailable, reason: timeout\n"
                                    "DNS resolver: 100.64.0.1:53, host: resolv.conf, "
                                    "search: [netbird.cloud]\n"));
  g_assert_nonnull (strstr (summary, "Nameservers: 1/2 Available\n"));

  /* An older daemon, or no DNS: an empty list, as NetBird prints it. */
  g_assert_true (json_parser_load_from_data (parser, none, -1, &error));
  g_assert_no_error (error);
  servers = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)),
                                          "dnsServers");
  g_assert_nonnull (servers);
  g_assert_cmpuint (json_array_get_length (servers), ==, 0);
}

static void
test_summary (void)
{
  g_autoptr(GVariant) status = sample_status ("Connected");
  g_autofree char *text = nb_cli_status_format (status, NB_CLI_STATUS_SUMMARY, NOW_US);

  g_assert_null (strstr (text, "Peers detail"));
  g_assert_nonnull (strstr (text, "Management: Connected\n"));
  g_assert_nonnull (strstr (text, "Signal: Disconnected, reason: connection refused\n"));
  g_assert_nonnull (strstr (text, "Peers count: 1/2 Connected\n"));
}

static void
test_needs_login (void)
{
  g_autoptr(GVariant) status = sample_status ("NeedsLogin");
  g_autofree char *text = nb_cli_status_format (status, NB_CLI_STATUS_SUMMARY, NOW_US);

  g_assert_true (g_str_has_prefix (text, "Daemon status: NeedsLogin\n"
                                         "Reason: this peer was deleted\n\n"));
  g_assert_nonnull (strstr (text, "netbird up --setup-key"));
  g_assert_null (strstr (text, "Peers count"));
}

static void
reset_globals (void)
{
  g_clear_pointer (&nb_cli_globals.daemon_addr, g_free);
  g_clear_pointer (&nb_cli_globals.management_url, g_free);
  g_clear_pointer (&nb_cli_globals.setup_key, g_free);
  g_clear_pointer (&nb_cli_globals.setup_key_file, g_free);
  g_clear_pointer (&nb_cli_globals.config, g_free);
  g_clear_pointer (&nb_cli_globals.hostname, g_free);
  g_clear_pointer (&nb_cli_globals.log_level, g_free);
}

static gboolean flag_json;
static char *flag_check;
static const GOptionEntry command_entries[] = {
  { "json", 0, 0, G_OPTION_ARG_NONE, &flag_json, "", NULL },
  { "check", 'C', 0, G_OPTION_ARG_STRING, &flag_check, "", NULL },
  G_OPTION_ENTRY_NULL
};
static const GOptionEntry *const tables[] = { command_entries, NULL };

static void
split_and_parse (const char *const *args,
                 const char        *word0,
                 const char        *word1)
{
  g_auto(GStrv) argv = g_strdupv ((char **) args);
  NbCliCommandLine line;
  g_autoptr(GError) error = NULL;

  nb_cli_command_line_split ((int) g_strv_length (argv), argv, tables, &line);
  g_assert_cmpstr (line.words[0], ==, word0);
  g_assert_cmpstr (line.words[1], ==, word1);
  g_assert_true (nb_cli_options_parse (word0, "test", command_entries, &line, &error));
  g_assert_no_error (error);
  nb_cli_command_line_clear (&line);
}

static void
test_flags_before_and_after (void)
{
  const char *before[] = { "netbird", "--daemon-addr", "unix:///tmp/x.sock", "-k", "KEY",
                           "status", "--json", NULL };
  const char *after[] = { "netbird", "status", "-C", "ready", "--daemon-addr=unix:///y",
                          "-m", "https://m", NULL };
  /* A flag's value that is also a command's name stays the value. */
  const char *value_like_command[] = { "netbird", "-n", "up", "service", "run", "-c",
                                       "/etc/nb.json", NULL };

  reset_globals ();
  flag_json = FALSE;
  split_and_parse (before, "status", NULL);
  g_assert_cmpstr (nb_cli_globals.daemon_addr, ==, "unix:///tmp/x.sock");
  g_assert_cmpstr (nb_cli_globals.setup_key, ==, "KEY");
  g_assert_true (flag_json);

  reset_globals ();
  split_and_parse (after, "status", NULL);
  g_assert_cmpstr (nb_cli_globals.daemon_addr, ==, "unix:///y");
  g_assert_cmpstr (nb_cli_globals.management_url, ==, "https://m");
  g_assert_cmpstr (flag_check, ==, "ready");
  g_clear_pointer (&flag_check, g_free);

  reset_globals ();
  split_and_parse (value_like_command, "service", "run");
  g_assert_cmpstr (nb_cli_globals.hostname, ==, "up");
  g_assert_cmpstr (nb_cli_globals.config, ==, "/etc/nb.json");
  g_assert_cmpstr (nb_cli_globals.daemon_addr, ==, NB_CLI_DEFAULT_DAEMON_ADDR);
  reset_globals ();
}

static void
test_flags_from_environment (void)
{
  const char *args[] = { "netbird", "status", "-k", "FROM-FLAG", NULL };

  reset_globals ();
  flag_json = FALSE;
  g_setenv ("NB_SETUP_KEY", "FROM-ENV", TRUE);
  g_setenv ("NB_MANAGEMENT_URL", "https://env", TRUE);
  g_setenv ("NB_DAEMON_ADDR", "unix:///env.sock", TRUE);
  g_setenv ("NB_JSON", "true", TRUE);
  split_and_parse (args, "status", NULL);
  /* The command line wins; the rest comes from NB_<FLAG>. */
  g_assert_cmpstr (nb_cli_globals.setup_key, ==, "FROM-FLAG");
  g_assert_cmpstr (nb_cli_globals.management_url, ==, "https://env");
  g_assert_cmpstr (nb_cli_globals.daemon_addr, ==, "unix:///env.sock");
  g_assert_true (flag_json);
  g_unsetenv ("NB_SETUP_KEY");
  g_unsetenv ("NB_MANAGEMENT_URL");
  g_unsetenv ("NB_DAEMON_ADDR");
  g_unsetenv ("NB_JSON");
  reset_globals ();
}

static void
test_bad_environment_value (void)
{
  const char *args[] = { "netbird", "status", NULL };
  g_auto(GStrv) argv = g_strdupv ((char **) args);
  NbCliCommandLine line;
  g_autoptr(GError) error = NULL;

  reset_globals ();
  flag_json = FALSE;
  g_setenv ("NB_JSON", "maybe", TRUE);
  nb_cli_command_line_split (2, argv, tables, &line);
  g_assert_false (nb_cli_options_parse ("status", "test", command_entries, &line, &error));
  g_assert_error (error, NB_CLI_ERROR, NB_CLI_ERROR_USAGE);
  g_assert_nonnull (strstr (error->message, "NB_JSON=maybe"));
  g_assert_cmpint (nb_cli_exit_code_for_error (error), ==, NB_CLI_EXIT_USAGE);
  nb_cli_command_line_clear (&line);
  g_unsetenv ("NB_JSON");
  reset_globals ();
}

static void
test_daemon_address (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *url = nb_cli_socket_path_from_address ("unix:///var/run/netbird.sock", NULL);
  g_autofree char *plain = nb_cli_socket_path_from_address ("unix:/run/nb.sock", NULL);
  g_autofree char *tcp = nb_cli_socket_path_from_address ("tcp://127.0.0.1:41731", &error);
  g_autofree char *relative = NULL;

  g_assert_cmpstr (url, ==, "/var/run/netbird.sock");
  g_assert_cmpstr (plain, ==, "/run/nb.sock");
  g_assert_null (tcp);
  g_assert_error (error, NB_CLI_ERROR, NB_CLI_ERROR_BAD_ADDRESS);
  g_clear_error (&error);
  relative = nb_cli_socket_path_from_address ("unix://run/nb.sock", &error);
  g_assert_null (relative);
  g_assert_error (error, NB_CLI_ERROR, NB_CLI_ERROR_BAD_ADDRESS);
}

static void
test_exit_codes (void)
{
  static const struct
  {
    NbClientError code;
    NbCliExit exit;
  } cases[] = {
    { NB_CLIENT_ERROR_MANAGEMENT_UNREACHABLE, NB_CLI_EXIT_MANAGEMENT_UNREACHABLE },
    { NB_CLIENT_ERROR_SETUP_KEY_INVALID, NB_CLI_EXIT_SETUP_KEY_INVALID },
    { NB_CLIENT_ERROR_LOGIN_REFUSED, NB_CLI_EXIT_LOGIN_REFUSED },
    { NB_CLIENT_ERROR_NEEDS_SETUP_KEY, NB_CLI_EXIT_NEEDS_SETUP_KEY },
    { NB_CLIENT_ERROR_PEER_DELETED, NB_CLI_EXIT_PEER_DELETED },
    { NB_CLIENT_ERROR_DEVICE, NB_CLI_EXIT_FAILURE },
  };

  nb_cli_register_dbus_errors ();
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      /* As the CLI receives it: through the D-Bus error name. */
      g_autoptr(GError) sent = g_error_new_literal (NB_CLIENT_ERROR, cases[i].code, "why");
      g_autofree char *name = g_dbus_error_encode_gerror (sent);
      g_autoptr(GError) received = g_dbus_error_new_for_dbus_error (name, "why");

      g_assert_true (g_str_has_prefix (name, "io.netbird.Daemon1.Error."));
      g_assert_error (received, NB_CLIENT_ERROR, (int) cases[i].code);
      g_assert_cmpint (nb_cli_exit_code_for_error (received), ==, cases[i].exit);
    }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/cli/format/time-ago", test_time_ago);
  g_test_add_func ("/cli/format/bytes", test_bytes);
  g_test_add_func ("/cli/format/duration", test_duration);
  g_test_add_func ("/cli/status/json-names", test_json_names);
  g_test_add_func ("/cli/status/detail-block", test_detail_block);
  g_test_add_func ("/cli/status/summary", test_summary);
  g_test_add_func ("/cli/status/dns-servers", test_dns_servers);
  g_test_add_func ("/cli/status/needs-login", test_needs_login);
  g_test_add_func ("/cli/options/flags-before-and-after", test_flags_before_and_after);
  g_test_add_func ("/cli/options/flags-from-environment", test_flags_from_environment);
  g_test_add_func ("/cli/options/bad-environment-value", test_bad_environment_value);
  g_test_add_func ("/cli/dbus/daemon-address", test_daemon_address);
  g_test_add_func ("/cli/dbus/exit-codes", test_exit_codes);

  return g_test_run ();
}
