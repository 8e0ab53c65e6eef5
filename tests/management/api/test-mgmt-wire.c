/* test-mgmt-wire.c: the server's direct SyncResponse writer against the message path
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * The fan-out writes each peer's SyncResponse straight from the store's map
 * (no message structs); what it writes must be the very bytes that proto/'s
 * tables write for the same map, whatever the map holds (the maps here are
 * built to use every field and escape, not to be valid).
 */
#include <string.h>

#include "nb-mgmt-server-private.h"

static NbMgmtMsgNetbirdConfig *
make_netbird_config (gboolean full)
{
  NbMgmtMsgNetbirdConfig *config = nb_mgmt_msg_netbird_config_new ();
  NbMgmtMsgHostConfig *stun = nb_mgmt_msg_host_config_new ();
  NbMgmtMsgProtectedHostConfig *turn = nb_mgmt_msg_protected_host_config_new ();

  if (!full)
    {
      nb_mgmt_msg_host_config_free (stun);
      nb_mgmt_msg_protected_host_config_free (turn);
      return config;
    }
  stun->uri = g_strdup ("stun:stun.example.org:3478");
  stun->protocol = NB_MGMT_MSG_HOST_PROTOCOL_UDP;
  g_ptr_array_add (config->stuns, stun);
  turn->host_config = nb_mgmt_msg_host_config_new ();
  turn->host_config->uri = g_strdup ("turn:turn.example.org:3478?transport=tcp");
  turn->host_config->protocol = NB_MGMT_MSG_HOST_PROTOCOL_TCP;
  turn->user = g_strdup ("1700000000:key");
  turn->password = g_strdup ("pass\"word");
  g_ptr_array_add (config->turns, turn);
  config->signal = nb_mgmt_msg_host_config_new ();
  config->signal->uri = g_strdup ("https://signal.example.org:443");
  config->signal->protocol = NB_MGMT_MSG_HOST_PROTOCOL_HTTPS;
  config->relay = nb_mgmt_msg_relay_config_new ();
  g_ptr_array_add (config->relay->urls, g_strdup ("rels://relay.example.org:443"));
  config->relay->token_payload = g_strdup ("1700000000:key");
  config->relay->token_signature = g_strdup ("c2lnbmF0dXJl");
  return config;
}

static NbMgmtRemotePeer *
remote_peer (const char *key,
             const char *ip,
             const char *fqdn,
             const char *ssh_key,
             guint       n_allowed)
{
  NbMgmtRemotePeer *peer = g_new0 (NbMgmtRemotePeer, 1);

  peer->id = g_strdup ("peer-id");
  peer->key = g_strdup (key);
  peer->ip = g_strdup (ip);
  peer->allowed_ips = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < n_allowed; i++)
    g_ptr_array_add (peer->allowed_ips, g_strdup_printf ("%s/%u", ip, 32 - i));
  peer->fqdn = g_strdup (fqdn);
  peer->ssh_key = g_strdup (ssh_key);
  return peer;
}

static NbMgmtFirewallRule *
firewall_rule (const char       *peer_ip,
               NbMgmtDirection   direction,
               NbMgmtRuleAction  action,
               NbMgmtProtocol    protocol,
               guint16           port,
               guint16           start,
               guint16           end,
               const char       *policy_id)
{
  NbMgmtFirewallRule *rule = g_new0 (NbMgmtFirewallRule, 1);

  rule->peer_ip = g_strdup (peer_ip);
  rule->direction = direction;
  rule->action = action;
  rule->protocol = protocol;
  rule->port = port;
  rule->port_range.start = start;
  rule->port_range.end = end;
  rule->policy_id = g_strdup (policy_id);
  return rule;
}

static NbMgmtDnsRecord *
dns_record (const char *name,
            const char *class_,
            const char *rdata)
{
  NbMgmtDnsRecord *record = g_new0 (NbMgmtDnsRecord, 1);

  record->name = g_strdup (name);
  record->type = 1;
  record->class_ = g_strdup (class_);
  record->ttl = 300;
  record->rdata = g_strdup (rdata);
  return record;
}

static void
free_route (gpointer data)
{
  NbMgmtRouteEntry *route = data;

  g_free (route->id);
  g_free (route->network_id);
  g_free (route->network);
  g_strfreev (route->domains);
  g_free (route->peer_key);
  g_free (route);
}

static void
free_remote_peer (gpointer data)
{
  NbMgmtRemotePeer *peer = data;

  g_free (peer->id);
  g_free (peer->key);
  g_free (peer->ip);
  g_ptr_array_unref (peer->allowed_ips);
  g_free (peer->fqdn);
  g_free (peer->ssh_key);
  g_free (peer);
}

static void
free_rule (gpointer data)
{
  NbMgmtFirewallRule *rule = data;

  g_free (rule->peer_ip);
  g_free (rule->policy_id);
  g_free (rule);
}

static void
free_record (gpointer data)
{
  NbMgmtDnsRecord *record = data;

  g_free (record->name);
  g_free (record->class_);
  g_free (record->rdata);
  g_free (record);
}

/* A map that uses every field, escapes included; the caller frees it with
 * free_map(). */
static NbMgmtNetworkMap *
make_map (gboolean dns_enabled,
          const char *dns_domain)
{
  NbMgmtNetworkMap *map = g_new0 (NbMgmtNetworkMap, 1);
  NbMgmtRouteEntry *route;
  NbMgmtNameserverGroup *group;

  map->serial = 42;
  map->peer_key = g_strdup ("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
  map->address = g_strdup ("100.64.0.1/10");
  map->fqdn = g_strdup ("me.netbird.selfhosted");
  map->dns_domain = g_strdup (dns_domain);
  map->dns_enabled = dns_enabled;

  map->remote_peers = g_ptr_array_new_with_free_func (free_remote_peer);
  g_ptr_array_add (map->remote_peers,
                   remote_peer ("BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB=", "100.64.0.2",
                                "b.netbird.selfhosted", "ssh-ed25519 AAAA \"q\"\\\n\t\x01", 1));
  g_ptr_array_add (map->remote_peers, remote_peer ("CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC=",
                                                   "100.64.0.3", NULL, NULL, 0));
  g_ptr_array_add (map->remote_peers, remote_peer (NULL, "100.64.0.4", "", NULL, 2));

  map->firewall_rules = g_ptr_array_new_with_free_func (free_rule);
  g_ptr_array_add (map->firewall_rules,
                   firewall_rule ("100.64.0.2", NB_MGMT_DIRECTION_IN, NB_MGMT_RULE_ACTION_ACCEPT,
                                  NB_MGMT_PROTOCOL_ALL, 0, 0, 0, "policy-1"));
  g_ptr_array_add (map->firewall_rules,
                   firewall_rule ("100.64.0.3", NB_MGMT_DIRECTION_OUT, NB_MGMT_RULE_ACTION_DROP,
                                  NB_MGMT_PROTOCOL_TCP, 22, 0, 0, NULL));
  g_ptr_array_add (map->firewall_rules,
                   firewall_rule ("100.64.0.4", NB_MGMT_DIRECTION_IN, NB_MGMT_RULE_ACTION_ACCEPT,
                                  NB_MGMT_PROTOCOL_UDP, 0, 1000, 65535, "p\"2"));
  g_ptr_array_add (map->firewall_rules,
                   firewall_rule (NULL, NB_MGMT_DIRECTION_OUT, NB_MGMT_RULE_ACTION_ACCEPT,
                                  NB_MGMT_PROTOCOL_ICMP, 0, 0, 0, "p3"));

  map->routes = g_ptr_array_new_with_free_func (free_route);
  route = g_new0 (NbMgmtRouteEntry, 1);
  route->id = g_strdup ("route-1");
  route->network_id = g_strdup ("net");
  route->network = g_strdup ("10.0.0.0/8");
  route->peer_key = g_strdup ("BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB=");
  route->metric = 9999;
  route->masquerade = TRUE;
  g_ptr_array_add (map->routes, route);
  route = g_new0 (NbMgmtRouteEntry, 1);
  route->id = g_strdup ("route-2:peer");
  route->domains = g_strsplit ("example.com,*.example.org", ",", -1);
  route->keep_route = TRUE;
  g_ptr_array_add (map->routes, route);

  map->nameserver_groups = g_ptr_array_new_with_free_func (
    (GDestroyNotify) nb_mgmt_nameserver_group_free);
  group = nb_mgmt_nameserver_group_new ();
  group->id = g_strdup ("ns");
  group->name = g_strdup ("ns");
  g_ptr_array_add (group->nameservers, nb_mgmt_nameserver_new ("1.1.1.1", "udp", 53));
  g_ptr_array_add (group->nameservers, nb_mgmt_nameserver_new ("8.8.8.8", NULL, 5353));
  group->primary = TRUE;
  group->domains = g_strsplit ("corp.example", ",", -1);
  group->search_domains_enabled = TRUE;
  g_ptr_array_add (map->nameserver_groups, group);

  map->dns_records = g_ptr_array_new_with_free_func (free_record);
  g_ptr_array_add (map->dns_records, dns_record ("b.netbird.selfhosted", "IN", "100.64.0.2"));
  g_ptr_array_add (map->dns_records, dns_record ("c.netbird.selfhosted.", NULL, "100.64.0.3"));
  return map;
}

static void
free_map (NbMgmtNetworkMap *map)
{
  g_ptr_array_unref (map->remote_peers);
  g_ptr_array_unref (map->firewall_rules);
  g_ptr_array_unref (map->routes);
  g_ptr_array_unref (map->nameserver_groups);
  g_ptr_array_unref (map->dns_records);
  g_free (map->peer_key);
  g_free (map->address);
  g_free (map->fqdn);
  g_free (map->dns_domain);
  g_free (map);
}

static void
assert_same_bytes (NbMgmtNetworkMap *map,
                   gboolean          full_config)
{
  g_autoptr(NbMgmtMsgNetbirdConfig) config = make_netbird_config (full_config);
  g_autoptr(NbMgmtMsgSyncResponse) response =
    nb_mgmt_server_sync_response_from_map (map, make_netbird_config (full_config));
  g_autoptr(GString) expected = g_string_new (NULL);
  g_autoptr(GString) written = g_string_new ("prefix:");

  nb_mgmt_msg_sync_response_write (response, expected);
  nb_mgmt_server_write_sync_response (map, config, written);
  g_assert_true (g_str_has_prefix (written->str, "prefix:"));
  g_assert_cmpstr (written->str + strlen ("prefix:"), ==, expected->str);
}

static void
test_wire_full_map (void)
{
  NbMgmtNetworkMap *map = make_map (TRUE, "netbird.selfhosted");

  assert_same_bytes (map, TRUE);
  assert_same_bytes (map, FALSE);
  free_map (map);
}

static void
test_wire_dns_disabled (void)
{
  NbMgmtNetworkMap *map = make_map (FALSE, "netbird.selfhosted");

  assert_same_bytes (map, TRUE);
  free_map (map);
}

static void
test_wire_no_zone (void)
{
  NbMgmtNetworkMap *map = make_map (TRUE, "");

  assert_same_bytes (map, TRUE);
  g_clear_pointer (&map->dns_domain, g_free);
  assert_same_bytes (map, TRUE);
  free_map (map);
}

static void
test_wire_empty_map (void)
{
  NbMgmtNetworkMap *map = g_new0 (NbMgmtNetworkMap, 1);
  g_autoptr(NbMgmtMsgSyncResponse) response = NULL;
  g_autoptr(GString) expected = g_string_new (NULL);
  g_autoptr(GString) written = g_string_new (NULL);

  map->address = g_strdup ("100.64.0.1/10");
  response = nb_mgmt_server_sync_response_from_map (map, NULL);
  nb_mgmt_msg_sync_response_write (response, expected);
  nb_mgmt_server_write_sync_response (map, NULL, written);
  g_assert_cmpstr (written->str, ==, expected->str);
  g_free (map->address);
  g_free (map);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/management/wire/full-map", test_wire_full_map);
  g_test_add_func ("/management/wire/dns-disabled", test_wire_dns_disabled);
  g_test_add_func ("/management/wire/no-zone", test_wire_no_zone);
  g_test_add_func ("/management/wire/empty-map", test_wire_empty_map);

  return g_test_run ();
}
