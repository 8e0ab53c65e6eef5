/* test-mgmt-proto.c: Management's client-protocol messages
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <string.h>

#include "nb-proto-error.h"
#include "nb-mgmt-proto-private.h"

#define KEY_A "mEFWIwMpXq3CEKVMStBYDw8OXIyZSc1E5pJeCG9Yq2I="
#define KEY_B "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw="

static GBytes *
text (const char *json)
{
  return g_bytes_new (json, strlen (json));
}

static NbMgmtMsgLoginRequest *
parse_login (const char *json,
             GError    **error)
{
  g_autoptr(GBytes) bytes = text (json);

  return nb_mgmt_msg_login_request_from_bytes (bytes, error);
}

static void
assert_login_fails (const char *json,
                    int         code,
                    const char *message_part)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtMsgLoginRequest) request = parse_login (json, &error);

  g_assert_null (request);
  g_assert_error (error, NB_PROTO_ERROR, code);
  if (message_part != NULL && strstr (error->message, message_part) == NULL)
    g_error ("error “%s” does not mention “%s”", error->message, message_part);
}

static void
test_login_request_parse (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtMsgLoginRequest) request = parse_login (
      "{\"setup_key\":\"A2C8E62B-38F5-4553-B31E-DD66C696CEBB\","
      " \"meta\":{\"hostname\":\"alpha\",\"go_os\":\"linux\",\"kernel_version\":\"6.1.0\","
      "           \"network_addresses\":[\"192.168.1.4/24\"],\"future_field\":{\"x\":1}},"
      " \"dns_labels\":[\"web\"]}", &error);

  g_assert_no_error (error);
  g_assert_nonnull (request);
  g_assert_cmpstr (request->setup_key, ==, "A2C8E62B-38F5-4553-B31E-DD66C696CEBB");
  g_assert_null (request->jwt_token);
  g_assert_cmpstr (request->meta->hostname, ==, "alpha");
  g_assert_cmpstr (request->meta->go_os, ==, "linux");
  g_assert_cmpstr (request->meta->kernel_version, ==, "6.1.0");
  g_assert_null (request->meta->os);
  g_assert_cmpuint (request->meta->network_addresses->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (request->meta->network_addresses, 0), ==,
                   "192.168.1.4/24");
  g_assert_cmpuint (request->dns_labels->len, ==, 1);
}

static void
test_login_request_missing_meta (void)
{
  assert_login_fails ("{\"setup_key\":\"x\"}", NB_PROTO_ERROR_MISSING_FIELD, "meta");
  assert_login_fails ("{\"meta\":{}}", NB_PROTO_ERROR_MISSING_FIELD, "meta.hostname");
  assert_login_fails ("{\"meta\":{\"hostname\":\"\"}}", NB_PROTO_ERROR_INVALID_VALUE,
                      "hostname");
}

static void
test_login_request_wrong_types (void)
{
  assert_login_fails ("{\"meta\":{\"hostname\":42}}", NB_PROTO_ERROR_WRONG_TYPE,
                      "meta.hostname");
  assert_login_fails ("{\"meta\":[]}", NB_PROTO_ERROR_WRONG_TYPE, "meta");
  assert_login_fails ("{\"meta\":{\"hostname\":\"a\"},\"dns_labels\":\"web\"}",
                      NB_PROTO_ERROR_WRONG_TYPE, "dns_labels");
  assert_login_fails ("{\"meta\":{\"hostname\":\"a\",\"network_addresses\":[1]}}",
                      NB_PROTO_ERROR_WRONG_TYPE, "meta.network_addresses[0]");
  assert_login_fails ("[1,2]", NB_PROTO_ERROR_MALFORMED, "JSON object");
  assert_login_fails ("\"text\"", NB_PROTO_ERROR_MALFORMED, NULL);
}

static void
test_login_request_malformed (void)
{
  assert_login_fails ("", NB_PROTO_ERROR_MALFORMED, NULL);
  assert_login_fails ("{", NB_PROTO_ERROR_MALFORMED, NULL);
  assert_login_fails ("{\"meta\":{\"hostname\":\"a\"}", NB_PROTO_ERROR_MALFORMED, NULL);
  assert_login_fails ("{\"meta\" {}}", NB_PROTO_ERROR_MALFORMED, NULL);
  assert_login_fails ("\xff\xfe{}", NB_PROTO_ERROR_MALFORMED, NULL);
}

static void
test_login_request_bounds (void)
{
  g_autoptr(GString) json = g_string_new ("{\"meta\":{\"hostname\":\"");
  g_autoptr(GString) deep = g_string_new ("{\"meta\":");
  g_autoptr(GString) big = g_string_new ("{\"meta\":{\"hostname\":\"a\"},\"x\":\"");

  for (int i = 0; i < 300; i++)
    g_string_append_c (json, 'h');
  g_string_append (json, "\"}}");
  assert_login_fails (json->str, NB_PROTO_ERROR_TOO_LARGE, "meta.hostname");

  for (int i = 0; i < 10000; i++)
    g_string_append_c (deep, '[');
  assert_login_fails (deep->str, NB_PROTO_ERROR_TOO_LARGE, "nests");

  for (int i = 0; i < NB_MGMT_PROTO_MAX_REQUEST_SIZE; i++)
    g_string_append_c (big, 'x');
  g_string_append (big, "\"}");
  assert_login_fails (big->str, NB_PROTO_ERROR_TOO_LARGE, "bytes");
}

static void
test_login_request_control_characters (void)
{
  assert_login_fails ("{\"meta\":{\"hostname\":\"a\\u0007b\"}}", NB_PROTO_ERROR_INVALID_VALUE,
                      "control");
  assert_login_fails ("{\"meta\":{\"hostname\":\"a\\nb\"}}", NB_PROTO_ERROR_INVALID_VALUE,
                      "control");
}

/* json-glib decodes strings into C strings: an escaped NUL would cut one
 * short ("abc\u0000def" read as "abc"), and so would the escapes its
 * lenient scanner takes for one ("\u000g"). Each is refused, in values and
 * in member names alike. */
static void
test_login_request_escaped_nul (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtMsgLoginRequest) request = NULL;

  assert_login_fails ("{\"setup_key\":\"abc\\u0000def\",\"meta\":{\"hostname\":\"a\"}}",
                      NB_PROTO_ERROR_INVALID_VALUE, "NUL");
  assert_login_fails ("{\"meta\":{\"hostname\":\"x\\u0000y\"}}", NB_PROTO_ERROR_INVALID_VALUE,
                      "NUL");
  assert_login_fails ("{\"meta\":{\"hostname\\u0000x\":\"y\",\"hostname\":\"z\"}}",
                      NB_PROTO_ERROR_INVALID_VALUE, "NUL");
  assert_login_fails ("{\"meta\":{\"hostname\":\"x\\u000gy\"}}", NB_PROTO_ERROR_MALFORMED,
                      "invalid escape");
  assert_login_fails ("{\"meta\":{\"hostname\":\"x\\u00:0y\"}}", NB_PROTO_ERROR_MALFORMED,
                      "invalid escape");
  assert_login_fails ("{\"meta\":{\"hostname\":\"x\\qy\"}}", NB_PROTO_ERROR_MALFORMED,
                      "invalid escape");

  /* An escaped backslash before "u0000" is six plain characters. */
  request = parse_login ("{\"meta\":{\"hostname\":\"a\\\\u0000b\"}}", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (request->meta->hostname, ==, "a\\u0000b");
  g_clear_pointer (&request, nb_mgmt_msg_login_request_free);
  /* Escapes that decode to what a name may hold still read. */
  request = parse_login ("{\"meta\":{\"hostname\":\"Zo\\u00eb-\\u4e2d\"}}", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (request->meta->hostname, ==, "Zo\xc3\xab-\xe4\xb8\xad");
}

/* json-glib reads integers past 64 bits as other numbers without an error
 * (-99999999999999999999999 as 1, which passes a field with a minimum of
 * 0): the text is checked, and the error names the member. */
static void
test_login_request_number_out_of_range (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtMsgLoginRequest) request = NULL;

  assert_login_fails ("{\"timestamp\":99999999999999999999999,\"meta\":{\"hostname\":\"a\"}}",
                      NB_PROTO_ERROR_OUT_OF_RANGE, "timestamp");
  assert_login_fails ("{\"timestamp\":-99999999999999999999999,\"meta\":{\"hostname\":\"a\"}}",
                      NB_PROTO_ERROR_OUT_OF_RANGE, "out of range");
  assert_login_fails ("{\"timestamp\":9223372036854775808,\"meta\":{\"hostname\":\"a\"}}",
                      NB_PROTO_ERROR_OUT_OF_RANGE, "9223372036854775808");
  assert_login_fails ("{\"timestamp\":1e999,\"meta\":{\"hostname\":\"a\"}}",
                      NB_PROTO_ERROR_OUT_OF_RANGE, "finite");

  /* The bounds themselves, and digits inside strings, are not numbers out
   * of range. */
  request = parse_login ("{\"timestamp\":9223372036854775807,"
                         "\"meta\":{\"hostname\":\"99999999999999999999999\"}}", &error);
  g_assert_no_error (error);
  g_assert_cmpint (request->timestamp, ==, G_MAXINT64);
  g_assert_cmpstr (request->meta->hostname, ==, "99999999999999999999999");
}

/* Bidirectional controls reorder how a name reads ("laptop\u202egpj.exe"
 * shows as "laptopexe.jpg"); line breaks and invisible characters hide
 * what it is. No string of the protocol needs one. */
static void
test_login_request_format_characters (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtMsgLoginRequest) request = NULL;

  assert_login_fails ("{\"meta\":{\"hostname\":\"laptop\xe2\x80\xaegpj.exe\"}}",
                      NB_PROTO_ERROR_INVALID_VALUE, "bidirectional control U+202E");
  assert_login_fails ("{\"meta\":{\"hostname\":\"laptop\\u2067x\"}}",
                      NB_PROTO_ERROR_INVALID_VALUE, "bidirectional control U+2067");
  assert_login_fails ("{\"meta\":{\"hostname\":\"a\\u2028b\"}}", NB_PROTO_ERROR_INVALID_VALUE,
                      "line break U+2028");
  assert_login_fails ("{\"meta\":{\"hostname\":\"a\\u200bb\"}}", NB_PROTO_ERROR_INVALID_VALUE,
                      "invisible format character U+200B");
  assert_login_fails ("{\"meta\":{\"hostname\":\"a\\u0085b\"}}", NB_PROTO_ERROR_INVALID_VALUE,
                      "control character U+0085");
  assert_login_fails ("{\"meta\":{\"hostname\":\"a\",\"os\":\"Debian\\u202e\"}}",
                      NB_PROTO_ERROR_INVALID_VALUE, "meta.os");

  /* ZWJ joins an emoji sequence; it moves nothing. */
  request = parse_login ("{\"meta\":{\"hostname\":\"\\ud83d\\udc69\\u200d\\ud83d\\udcbb\"}}", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (request->meta->hostname, ==, "\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x92\xbb");
}

static void
test_login_request_both_credentials (void)
{
  assert_login_fails ("{\"setup_key\":\"k\",\"jwt_token\":\"t\",\"meta\":{\"hostname\":\"a\"}}",
                      NB_PROTO_ERROR_INVALID_VALUE, "not both");
}

static NbMgmtMsgSyncResponse *
make_sync_response (void)
{
  NbMgmtMsgSyncResponse *response = nb_mgmt_msg_sync_response_new ();
  NbMgmtMsgNetworkMap *map = nb_mgmt_msg_network_map_new ();
  NbMgmtMsgRemotePeer *peer = nb_mgmt_msg_remote_peer_new ();
  NbMgmtMsgFirewallRule *rule = nb_mgmt_msg_firewall_rule_new ();
  NbMgmtMsgRoute *route = nb_mgmt_msg_route_new ();
  NbMgmtMsgDnsConfig *dns = nb_mgmt_msg_dns_config_new ();
  NbMgmtMsgCustomZone *zone = nb_mgmt_msg_custom_zone_new ();
  NbMgmtMsgSimpleRecord *record = nb_mgmt_msg_simple_record_new ();
  NbMgmtMsgNameServerGroup *nsg = nb_mgmt_msg_name_server_group_new ();
  NbMgmtMsgNameServer *ns = nb_mgmt_msg_name_server_new ();
  NbMgmtMsgNetbirdConfig *config = nb_mgmt_msg_netbird_config_new ();
  NbMgmtMsgHostConfig *stun = nb_mgmt_msg_host_config_new ();
  NbMgmtMsgProtectedHostConfig *turn = nb_mgmt_msg_protected_host_config_new ();

  map->serial = 42;
  map->peer_config = nb_mgmt_msg_peer_config_new ();
  map->peer_config->address = g_strdup ("100.64.0.7/16");
  map->peer_config->fqdn = g_strdup ("alpha.netbird.cloud");

  peer->wg_pub_key = g_strdup (KEY_B);
  g_ptr_array_add (peer->allowed_ips, g_strdup ("100.64.0.9/32"));
  peer->fqdn = g_strdup ("beta.netbird.cloud");
  g_ptr_array_add (map->remote_peers, peer);

  rule->peer_ip = g_strdup ("100.64.0.9");
  rule->direction = NB_MGMT_MSG_RULE_DIRECTION_OUT;
  rule->action = NB_MGMT_MSG_RULE_ACTION_ACCEPT;
  rule->protocol = NB_MGMT_MSG_RULE_PROTOCOL_TCP;
  rule->port_range_start = 8000;
  rule->port_range_end = 8100;
  rule->policy_id = g_strdup ("pol-\"quoted\"\\");
  g_ptr_array_add (map->firewall_rules, rule);

  route->id = g_strdup ("r1");
  route->net_id = g_strdup ("office");
  route->network = g_strdup ("10.1.0.0/24");
  route->peer = g_strdup (KEY_B);
  route->metric = 9999;
  route->masquerade = TRUE;
  g_ptr_array_add (map->routes, route);

  record->name = g_strdup ("beta.netbird.cloud.");
  record->type = 1;
  record->class_ = g_strdup ("IN");
  record->ttl = 300;
  record->rdata = g_strdup ("100.64.0.9");
  zone->domain = g_strdup ("netbird.cloud.");
  g_ptr_array_add (zone->records, record);
  ns->ip = g_strdup ("8.8.8.8");
  ns->ns_type = g_strdup ("udp");
  ns->port = 53;
  g_ptr_array_add (nsg->nameservers, ns);
  nsg->primary = TRUE;
  dns->service_enable = TRUE;
  g_ptr_array_add (dns->custom_zones, zone);
  g_ptr_array_add (dns->nameserver_groups, nsg);
  map->dns_config = dns;

  stun->uri = g_strdup ("stun:stun.example.org:3478");
  turn->host_config = nb_mgmt_msg_host_config_new ();
  turn->host_config->uri = g_strdup ("turn:turn.example.org:3478");
  turn->user = g_strdup ("1700000000:peer");
  turn->password = g_strdup ("c2VjcmV0");
  g_ptr_array_add (config->stuns, stun);
  g_ptr_array_add (config->turns, turn);
  config->signal = nb_mgmt_msg_host_config_new ();
  config->signal->uri = g_strdup ("https://signal.example.org:443");
  config->signal->protocol = NB_MGMT_MSG_HOST_PROTOCOL_HTTPS;

  response->network_map = map;
  response->netbird_config = config;
  return response;
}

static void
test_sync_response_roundtrip (void)
{
  g_autoptr(NbMgmtMsgSyncResponse) response = make_sync_response ();
  g_autoptr(NbMgmtMsgSyncResponse) parsed = NULL;
  g_autoptr(GBytes) bytes = nb_mgmt_msg_sync_response_to_bytes (response);
  g_autoptr(GBytes) again = NULL;
  g_autoptr(GError) error = NULL;
  NbMgmtMsgFirewallRule *rule;

  parsed = nb_mgmt_msg_sync_response_from_bytes (bytes, &error);
  g_assert_no_error (error);
  g_assert_nonnull (parsed);

  g_assert_cmpint (parsed->network_map->serial, ==, 42);
  g_assert_cmpstr (parsed->network_map->peer_config->address, ==, "100.64.0.7/16");
  g_assert_cmpuint (parsed->network_map->remote_peers->len, ==, 1);
  g_assert_cmpstr (((NbMgmtMsgRemotePeer *) g_ptr_array_index (parsed->network_map->remote_peers,
                                                                 0))->wg_pub_key, ==, KEY_B);
  rule = g_ptr_array_index (parsed->network_map->firewall_rules, 0);
  g_assert_cmpint (rule->direction, ==, NB_MGMT_MSG_RULE_DIRECTION_OUT);
  g_assert_cmpint (rule->protocol, ==, NB_MGMT_MSG_RULE_PROTOCOL_TCP);
  g_assert_cmpint (rule->port_range_end, ==, 8100);
  g_assert_cmpstr (rule->policy_id, ==, "pol-\"quoted\"\\");
  g_assert_cmpuint (parsed->netbird_config->turns->len, ==, 1);
  g_assert_cmpint (parsed->netbird_config->signal->protocol, ==,
                   NB_MGMT_MSG_HOST_PROTOCOL_HTTPS);

  /* Writing what was read gives the same bytes: nothing lost or added. */
  again = nb_mgmt_msg_sync_response_to_bytes (parsed);
  g_assert_true (g_bytes_equal (bytes, again));
}

static void
assert_sync_fails (const char *json,
                   int         code,
                   const char *message_part)
{
  g_autoptr(GBytes) bytes = text (json);
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtMsgSyncResponse) response = nb_mgmt_msg_sync_response_from_bytes (bytes,
                                                                                   &error);

  g_assert_null (response);
  g_assert_error (error, NB_PROTO_ERROR, code);
  if (message_part != NULL && strstr (error->message, message_part) == NULL)
    g_error ("error “%s” does not mention “%s”", error->message, message_part);
}

static void
test_sync_response_invalid_values (void)
{
  assert_sync_fails ("{\"network_map\":{\"serial\":-1}}", NB_PROTO_ERROR_INVALID_VALUE,
                     "serial");
  assert_sync_fails ("{\"network_map\":{\"serial\":1.5}}", NB_PROTO_ERROR_WRONG_TYPE, "serial");
  assert_sync_fails ("{\"network_map\":{\"serial\":1,\"remote_peers\":[{\"wg_pub_key\":\"abc\"}]}}",
                     NB_PROTO_ERROR_INVALID_VALUE, "network_map.remote_peers[0].wg_pub_key");
  assert_sync_fails ("{\"network_map\":{\"serial\":1,\"remote_peers\":[{\"wg_pub_key\":\"" KEY_A
                     "\",\"allowed_ips\":[\"100.64.0.300/32\"]}]}}",
                     NB_PROTO_ERROR_INVALID_VALUE, "allowed_ips[0]");
  assert_sync_fails ("{\"network_map\":{\"serial\":1,\"remote_peers\":[{\"wg_pub_key\":\"" KEY_A
                     "\",\"allowed_ips\":[\"100.64.0.3/33\"]}]}}",
                     NB_PROTO_ERROR_INVALID_VALUE, "allowed_ips[0]");
  assert_sync_fails ("{\"network_map\":{\"serial\":1,\"firewall_rules\":[{\"peer_ip\":\"100.64.0.1\","
                     "\"direction\":\"sideways\",\"action\":\"accept\",\"protocol\":\"all\"}]}}",
                     NB_PROTO_ERROR_INVALID_VALUE, "in, out");
  assert_sync_fails ("{\"network_map\":{\"serial\":1,\"firewall_rules\":[{\"peer_ip\":\"100.64.0.1\","
                     "\"direction\":\"in\",\"action\":\"accept\",\"protocol\":\"tcp\","
                     "\"port\":70000}]}}",
                     NB_PROTO_ERROR_INVALID_VALUE, "port");
  assert_sync_fails ("{\"network_map\":{\"serial\":1,\"firewall_rules\":[{\"peer_ip\":\"100.64.0.1\","
                     "\"direction\":\"in\",\"action\":\"accept\",\"protocol\":\"icmp\","
                     "\"port\":22}]}}",
                     NB_PROTO_ERROR_INVALID_VALUE, "tcp and udp");
  assert_sync_fails ("{\"network_map\":{\"serial\":1,\"firewall_rules\":[{\"peer_ip\":\"100.64.0.1\","
                     "\"direction\":\"in\",\"action\":\"accept\",\"protocol\":\"tcp\","
                     "\"port_range_start\":90,\"port_range_end\":80}]}}",
                     NB_PROTO_ERROR_INVALID_VALUE, "ends before");
  assert_sync_fails ("{\"network_map\":{\"serial\":1,\"peer_config\":{\"address\":\"100.64.0.1\"}}}",
                     NB_PROTO_ERROR_INVALID_VALUE, "prefix");
  assert_sync_fails ("{\"network_map\":{\"serial\":1,\"peer_config\":{\"address\":\"100.64.0.1/16\","
                     "\"fqdn\":\"bad name.example\"}}}",
                     NB_PROTO_ERROR_INVALID_VALUE, "DNS name");
  assert_sync_fails ("{}", NB_PROTO_ERROR_MISSING_FIELD, "network_map");
}

static void
test_sync_response_count_bound (void)
{
  g_autoptr(GString) json = g_string_new ("{\"network_map\":{\"serial\":1,\"remote_peers\":[]},"
                                          "\"netbird_config\":{\"stuns\":[");

  for (int i = 0; i < 65; i++)
    g_string_append_printf (json, "%s{\"uri\":\"stun:s%d:3478\"}", i ? "," : "", i);
  g_string_append (json, "]}}");
  assert_sync_fails (json->str, NB_PROTO_ERROR_TOO_LARGE, "65 elements");
}

static void
test_server_key_roundtrip (void)
{
  g_autoptr(NbMgmtMsgServerKeyResponse) response = nb_mgmt_msg_server_key_response_new ();
  g_autoptr(NbMgmtMsgServerKeyResponse) parsed = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;

  response->key = g_strdup (KEY_A);
  response->version = NB_MGMT_PROTO_VERSION;
  bytes = nb_mgmt_msg_server_key_response_to_bytes (response);
  g_assert_cmpstr (g_bytes_get_data (bytes, NULL), ==,
                   "{\"key\":\"" KEY_A "\",\"expires_at\":0,\"version\":1}");
  parsed = nb_mgmt_msg_server_key_response_from_bytes (bytes, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (parsed->key, ==, KEY_A);
}

/* Random and mutated inputs: every one is either read or refused with an
 * NB_PROTO_ERROR; none crashes, none is read without being valid. */
static void
test_fuzz_mutations (void)
{
  g_autoptr(NbMgmtMsgSyncResponse) response = make_sync_response ();
  g_autoptr(GBytes) seed = nb_mgmt_msg_sync_response_to_bytes (response);
  const char *login_seed = "{\"setup_key\":\"K\",\"meta\":{\"hostname\":\"alpha\","
                           "\"network_addresses\":[\"10.0.0.1/8\"]},\"dns_labels\":[\"x\"]}";
  static const char alphabet[] = "{}[]\",:0123456789-.eEtrufalsn\\ u\x01\xff";
  GRand *rand = g_rand_new_with_seed (g_test_rand_int ());
  gsize seed_len = 0;
  const char *seed_data = g_bytes_get_data (seed, &seed_len);
  guint accepted = 0, refused = 0;

  for (int round = 0; round < 20000; round++)
    {
      const char *base = (round & 1) ? seed_data : login_seed;
      gsize base_len = (round & 1) ? seed_len : strlen (login_seed);
      g_autofree char *buf = NULL;
      gsize len = base_len;
      guint mutations = g_rand_int_range (rand, 1, 8);
      g_autoptr(GBytes) input = NULL;
      g_autoptr(GError) error = NULL;
      gpointer parsed;

      if (round % 10 == 9)
        {
          /* Pure noise from JSON's alphabet. */
          len = g_rand_int_range (rand, 0, 200);
          buf = g_malloc (len + 1);
          for (gsize i = 0; i < len; i++)
            buf[i] = alphabet[g_rand_int_range (rand, 0, sizeof alphabet - 1)];
        }
      else
        {
          buf = g_malloc (len + 16);
          memcpy (buf, base, len);
          for (guint m = 0; m < mutations && len > 0; m++)
            {
              gsize at = g_rand_int_range (rand, 0, len);

              switch (g_rand_int_range (rand, 0, 4))
                {
                case 0: /* replace a byte */
                  buf[at] = alphabet[g_rand_int_range (rand, 0, sizeof alphabet - 1)];
                  break;
                case 1: /* truncate */
                  len = at;
                  break;
                case 2: /* delete a byte */
                  memmove (buf + at, buf + at + 1, len - at - 1);
                  len--;
                  break;
                default: /* flip a bit */
                  buf[at] ^= 1 << g_rand_int_range (rand, 0, 8);
                  break;
                }
            }
        }

      input = g_bytes_new (buf, len);
      if (round & 1)
        parsed = nb_mgmt_msg_sync_response_from_bytes (input, &error);
      else
        parsed = nb_mgmt_msg_login_request_from_bytes (input, &error);

      if (parsed == NULL)
        {
          g_assert_nonnull (error);
          g_assert_true (error->domain == NB_PROTO_ERROR);
          refused++;
        }
      else
        {
          g_autoptr(GBytes) written = NULL;
          g_autoptr(GError) reparse_error = NULL;
          gpointer reparsed;

          g_assert_no_error (error);
          accepted++;
          /* What was accepted writes back to something that reads again. */
          if (round & 1)
            {
              written = nb_mgmt_msg_sync_response_to_bytes (parsed);
              reparsed = nb_mgmt_msg_sync_response_from_bytes (written, &reparse_error);
              g_assert_no_error (reparse_error);
              nb_mgmt_msg_sync_response_free (reparsed);
              nb_mgmt_msg_sync_response_free (parsed);
            }
          else
            {
              written = nb_mgmt_msg_login_request_to_bytes (parsed);
              reparsed = nb_mgmt_msg_login_request_from_bytes (written, &reparse_error);
              g_assert_no_error (reparse_error);
              nb_mgmt_msg_login_request_free (reparsed);
              nb_mgmt_msg_login_request_free (parsed);
            }
        }
    }

  g_test_message ("fuzz: %u accepted, %u refused", accepted, refused);
  g_assert_cmpuint (refused, >, 0);
  g_rand_free (rand);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/proto/mgmt/login-request/parse", test_login_request_parse);
  g_test_add_func ("/proto/mgmt/login-request/missing-meta", test_login_request_missing_meta);
  g_test_add_func ("/proto/mgmt/login-request/wrong-types", test_login_request_wrong_types);
  g_test_add_func ("/proto/mgmt/login-request/malformed", test_login_request_malformed);
  g_test_add_func ("/proto/mgmt/login-request/bounds", test_login_request_bounds);
  g_test_add_func ("/proto/mgmt/login-request/control-characters",
                   test_login_request_control_characters);
  g_test_add_func ("/proto/mgmt/login-request/escaped-nul", test_login_request_escaped_nul);
  g_test_add_func ("/proto/mgmt/login-request/number-out-of-range",
                   test_login_request_number_out_of_range);
  g_test_add_func ("/proto/mgmt/login-request/format-characters",
                   test_login_request_format_characters);
  g_test_add_func ("/proto/mgmt/login-request/both-credentials",
                   test_login_request_both_credentials);
  g_test_add_func ("/proto/mgmt/sync-response/roundtrip", test_sync_response_roundtrip);
  g_test_add_func ("/proto/mgmt/sync-response/invalid-values", test_sync_response_invalid_values);
  g_test_add_func ("/proto/mgmt/sync-response/count-bound", test_sync_response_count_bound);
  g_test_add_func ("/proto/mgmt/server-key/roundtrip", test_server_key_roundtrip);
  g_test_add_func ("/proto/mgmt/fuzz/mutations", test_fuzz_mutations);

  return g_test_run ();
}
