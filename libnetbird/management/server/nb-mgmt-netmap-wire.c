/* nb-mgmt-netmap-wire.c: network maps and service addresses as wire messages
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-management"

#include <string.h>

#include "nb-mgmt-server-private.h"

static GPtrArray *
copy_strv_to_array (GPtrArray          *array,
                    const char * const *strv)
{
  for (gsize i = 0; strv != NULL && strv[i] != NULL; i++)
    g_ptr_array_add (array, g_strdup (strv[i]));
  return array;
}

/* TURN credentials as coturn's "use-auth-secret" (TURN REST API draft,
 * draft-uberti-behave-turn-rest-00 §2.2): the user name is the expiry time
 * and the peer, the password the base64 HMAC-SHA1 of the user name keyed
 * with the shared secret. */
static void
make_turn_credentials (const char  *secret,
                       gint64       expires,
                       const char  *peer_key,
                       char       **user,
                       char       **password)
{
  guint8 digest[20];
  gsize digest_len = sizeof digest;
  g_autoptr(GHmac) hmac = g_hmac_new (G_CHECKSUM_SHA1, (const guchar *) secret, strlen (secret));

  *user = g_strdup_printf ("%" G_GINT64_FORMAT ":%s", expires, peer_key);
  g_hmac_update (hmac, (const guchar *) *user, -1);
  g_hmac_get_digest (hmac, digest, &digest_len);
  *password = g_base64_encode (digest, digest_len);
}

/* A relay token: "EXPIRY:PEER_KEY" and its HMAC-SHA256 under the relay's
 * secret, base64. The relay checks both. */
static void
make_relay_token (const char  *secret,
                  gint64       expires,
                  const char  *peer_key,
                  char       **payload,
                  char       **signature)
{
  guint8 digest[32];
  gsize digest_len = sizeof digest;
  g_autoptr(GHmac) hmac = g_hmac_new (G_CHECKSUM_SHA256, (const guchar *) secret,
                                      strlen (secret));

  *payload = g_strdup_printf ("%" G_GINT64_FORMAT ":%s", expires, peer_key);
  g_hmac_update (hmac, (const guchar *) *payload, -1);
  g_hmac_get_digest (hmac, digest, &digest_len);
  *signature = g_base64_encode (digest, digest_len);
}

static NbMgmtMsgHostProtocol
protocol_of_uri (const char *uri)
{
  if (g_str_has_prefix (uri, "https:") || g_str_has_prefix (uri, "rels:") ||
      g_str_has_prefix (uri, "turns:") || g_str_has_prefix (uri, "wss:"))
    return NB_MGMT_MSG_HOST_PROTOCOL_HTTPS;
  if (g_str_has_prefix (uri, "http:") || g_str_has_prefix (uri, "rel:") ||
      g_str_has_prefix (uri, "ws:"))
    return NB_MGMT_MSG_HOST_PROTOCOL_HTTP;
  if (strstr (uri, "transport=tcp") != NULL)
    return NB_MGMT_MSG_HOST_PROTOCOL_TCP;
  return NB_MGMT_MSG_HOST_PROTOCOL_UDP;
}

static NbMgmtMsgHostConfig *
host_config (const char *uri)
{
  NbMgmtMsgHostConfig *host = nb_mgmt_msg_host_config_new ();

  host->uri = g_strdup (uri);
  host->protocol = protocol_of_uri (uri);
  return host;
}

/* Signal, Relay, STUN and TURN for @peer_key, with credentials made now. */
NbMgmtMsgNetbirdConfig *
nb_mgmt_server_build_netbird_config (NbManagementServer *self,
                                     const char         *peer_key)
{
  NbMgmtServerConfig *config = self->config;
  NbMgmtMsgNetbirdConfig *out = nb_mgmt_msg_netbird_config_new ();
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  for (guint i = 0; i < config->stun_uris->len; i++)
    g_ptr_array_add (out->stuns, host_config (g_ptr_array_index (config->stun_uris, i)));

  for (guint i = 0; i < config->turn_uris->len; i++)
    {
      NbMgmtMsgProtectedHostConfig *turn = nb_mgmt_msg_protected_host_config_new ();

      turn->host_config = host_config (g_ptr_array_index (config->turn_uris, i));
      make_turn_credentials (config->turn_secret, now + config->turn_ttl, peer_key,
                             &turn->user, &turn->password);
      g_ptr_array_add (out->turns, turn);
    }

  if (config->signal_uri != NULL)
    {
      out->signal = host_config (config->signal_uri);
      /* NetBird's HOST:PORT form: Signal over plain HTTP. */
      if (strstr (config->signal_uri, "://") == NULL)
        out->signal->protocol = NB_MGMT_MSG_HOST_PROTOCOL_HTTP;
    }

  if (config->relay_urls->len > 0)
    {
      out->relay = nb_mgmt_msg_relay_config_new ();
      for (guint i = 0; i < config->relay_urls->len; i++)
        g_ptr_array_add (out->relay->urls, g_strdup (g_ptr_array_index (config->relay_urls, i)));
      make_relay_token (config->relay_secret, now + config->relay_ttl, peer_key,
                        &out->relay->token_payload, &out->relay->token_signature);
    }

  return out;
}

NbMgmtMsgPeerConfig *
nb_mgmt_server_build_peer_config (const char *address,
                                  const char *fqdn,
                                  gboolean    ssh_enabled)
{
  NbMgmtMsgPeerConfig *out = nb_mgmt_msg_peer_config_new ();

  out->address = g_strdup (address);
  out->fqdn = g_strdup (fqdn);
  out->ssh_enabled = ssh_enabled;
  return out;
}

static NbMgmtMsgRuleDirection
wire_direction (NbMgmtDirection direction)
{
  return direction == NB_MGMT_DIRECTION_IN ? NB_MGMT_MSG_RULE_DIRECTION_IN
                                           : NB_MGMT_MSG_RULE_DIRECTION_OUT;
}

static NbMgmtMsgRuleAction
wire_action (NbMgmtRuleAction action)
{
  return action == NB_MGMT_RULE_ACTION_DROP ? NB_MGMT_MSG_RULE_ACTION_DROP
                                            : NB_MGMT_MSG_RULE_ACTION_ACCEPT;
}

static NbMgmtMsgRuleProtocol
wire_protocol (NbMgmtProtocol protocol)
{
  switch (protocol)
    {
    case NB_MGMT_PROTOCOL_TCP:
      return NB_MGMT_MSG_RULE_PROTOCOL_TCP;
    case NB_MGMT_PROTOCOL_UDP:
      return NB_MGMT_MSG_RULE_PROTOCOL_UDP;
    case NB_MGMT_PROTOCOL_ICMP:
      return NB_MGMT_MSG_RULE_PROTOCOL_ICMP;
    case NB_MGMT_PROTOCOL_ALL:
    default:
      return NB_MGMT_MSG_RULE_PROTOCOL_ALL;
    }
}

/* A DNS zone is written with a trailing dot, as NetBird's CustomZone. */
static char *
absolute_name (const char *name)
{
  return g_str_has_suffix (name, ".") ? g_strdup (name) : g_strconcat (name, ".", NULL);
}

/* The DNS config without its custom zone. */
static NbMgmtMsgDnsConfig *
build_dns_config_groups (const NbMgmtNetworkMap *map)
{
  NbMgmtMsgDnsConfig *dns = nb_mgmt_msg_dns_config_new ();

  dns->service_enable = map->dns_enabled;
  if (!map->dns_enabled)
    return dns;

  for (guint i = 0; map->nameserver_groups != NULL && i < map->nameserver_groups->len; i++)
    {
      const NbMgmtNameserverGroup *group = g_ptr_array_index (map->nameserver_groups, i);
      NbMgmtMsgNameServerGroup *out = nb_mgmt_msg_name_server_group_new ();

      for (guint j = 0; group->nameservers != NULL && j < group->nameservers->len; j++)
        {
          const NbMgmtNameserver *ns = g_ptr_array_index (group->nameservers, j);
          NbMgmtMsgNameServer *ns_out = nb_mgmt_msg_name_server_new ();

          ns_out->ip = g_strdup (ns->ip);
          ns_out->ns_type = g_strdup (ns->ns_type != NULL ? ns->ns_type : "udp");
          ns_out->port = ns->port;
          g_ptr_array_add (out->nameservers, ns_out);
        }
      out->primary = group->primary;
      copy_strv_to_array (out->domains, (const char * const *) group->domains);
      out->search_domains_enabled = group->search_domains_enabled;
      g_ptr_array_add (dns->nameserver_groups, out);
    }
  return dns;
}

static NbMgmtMsgDnsConfig *
build_dns_config (const NbMgmtNetworkMap *map)
{
  NbMgmtMsgDnsConfig *dns = build_dns_config_groups (map);

  if (!map->dns_enabled)
    return dns;

  if (map->dns_domain != NULL && map->dns_domain[0] != '\0')
    {
      NbMgmtMsgCustomZone *zone = nb_mgmt_msg_custom_zone_new ();

      zone->domain = absolute_name (map->dns_domain);
      for (guint i = 0; map->dns_records != NULL && i < map->dns_records->len; i++)
        {
          const NbMgmtDnsRecord *record = g_ptr_array_index (map->dns_records, i);
          NbMgmtMsgSimpleRecord *out = nb_mgmt_msg_simple_record_new ();

          out->name = absolute_name (record->name);
          out->type = record->type;
          out->class_ = g_strdup (record->class_ != NULL ? record->class_ : "IN");
          out->ttl = record->ttl;
          out->rdata = g_strdup (record->rdata);
          g_ptr_array_add (zone->records, out);
        }
      g_ptr_array_add (dns->custom_zones, zone);
    }

  return dns;
}

static NbMgmtMsgRoute *
build_route (const NbMgmtRouteEntry *route)
{
  NbMgmtMsgRoute *route_out = nb_mgmt_msg_route_new ();

  route_out->id = g_strdup (route->id);
  route_out->net_id = g_strdup (route->network_id);
  /* Domain routes carry no network: NetBird sends 0.0.0.0/0 with the
   * domains (the client resolves them). */
  route_out->network = g_strdup (route->network != NULL ? route->network : "0.0.0.0/0");
  route_out->peer = g_strdup (route->peer_key);
  route_out->metric = route->metric;
  route_out->masquerade = route->masquerade;
  copy_strv_to_array (route_out->domains, (const char * const *) route->domains);
  route_out->keep_route = route->keep_route;
  return route_out;
}

/* The store's map of one peer as the SyncResponse message, with
 * @netbird_config (taken). */
NbMgmtMsgSyncResponse *
nb_mgmt_server_sync_response_from_map (const NbMgmtNetworkMap *map,
                                       NbMgmtMsgNetbirdConfig *netbird_config)
{
  NbMgmtMsgSyncResponse *response = nb_mgmt_msg_sync_response_new ();
  NbMgmtMsgNetworkMap *out = nb_mgmt_msg_network_map_new ();

  out->serial = (gint64) MIN (map->serial, (guint64) G_MAXINT64);
  out->peer_config = nb_mgmt_server_build_peer_config (map->address, map->fqdn, FALSE);

  for (guint i = 0; map->remote_peers != NULL && i < map->remote_peers->len; i++)
    {
      const NbMgmtRemotePeer *peer = g_ptr_array_index (map->remote_peers, i);
      NbMgmtMsgRemotePeer *peer_out = nb_mgmt_msg_remote_peer_new ();

      peer_out->wg_pub_key = g_strdup (peer->key);
      for (guint j = 0; peer->allowed_ips != NULL && j < peer->allowed_ips->len; j++)
        g_ptr_array_add (peer_out->allowed_ips, g_strdup (g_ptr_array_index (peer->allowed_ips, j)));
      peer_out->fqdn = g_strdup (peer->fqdn);
      peer_out->ssh_pub_key = g_strdup (peer->ssh_key);
      g_ptr_array_add (out->remote_peers, peer_out);
    }

  for (guint i = 0; map->firewall_rules != NULL && i < map->firewall_rules->len; i++)
    {
      const NbMgmtFirewallRule *rule = g_ptr_array_index (map->firewall_rules, i);
      NbMgmtMsgFirewallRule *rule_out = nb_mgmt_msg_firewall_rule_new ();

      rule_out->peer_ip = g_strdup (rule->peer_ip);
      rule_out->direction = wire_direction (rule->direction);
      rule_out->action = wire_action (rule->action);
      rule_out->protocol = wire_protocol (rule->protocol);
      rule_out->port = rule->port;
      rule_out->port_range_start = rule->port_range.start;
      rule_out->port_range_end = rule->port_range.end;
      rule_out->policy_id = g_strdup (rule->policy_id);
      g_ptr_array_add (out->firewall_rules, rule_out);
    }

  for (guint i = 0; map->routes != NULL && i < map->routes->len; i++)
    g_ptr_array_add (out->routes, build_route (g_ptr_array_index (map->routes, i)));

  out->dns_config = build_dns_config (map);

  response->network_map = out;
  response->netbird_config = netbird_config;
  return response;
}

/* The store's map of one peer as the SyncResponse pushed to it, with
 * service addresses and fresh credentials. */
NbMgmtMsgSyncResponse *
nb_mgmt_server_build_sync_response (NbManagementServer     *self,
                                    const NbMgmtNetworkMap *map)
{
  return nb_mgmt_server_sync_response_from_map (map,
                                                nb_mgmt_server_build_netbird_config (self,
                                                                                     map->peer_key));
}

/* ---- Writing a SyncResponse straight from the store's map -------------------
 *
 * A map at 10,000 peers holds about a thousand remote peers, as many DNS
 * records and several thousand firewall rules: building a message struct
 * for each (two or three allocations per string) only to write and free it
 * cost more than the writing. The big arrays are written here directly, in
 * the field order and with the omissions of proto/'s tables (checked
 * byte for byte against nb_mgmt_msg_sync_response_write() by the tests);
 * the small parts (service config, peer config, routes, nameservers) go
 * through the messages. */

static const char *const direction_names[] = { "in", "out" };
static const char *const action_names[] = { "accept", "drop" };
static const char *const protocol_names[] = { "all", "tcp", "udp", "icmp" };

#define APPEND_LITERAL(out, s) g_string_append_len ((out), (s), sizeof (s) - 1)

static void
append_int (GString *out,
            gint64   value)
{
  char buf[24];
  int n = sizeof buf;
  guint64 v = value < 0 ? -(guint64) value : (guint64) value;

  do
    {
      buf[--n] = (char) ('0' + v % 10);
      v /= 10;
    }
  while (v > 0);
  if (value < 0)
    buf[--n] = '-';
  g_string_append_len (out, buf + n, sizeof buf - n);
}

/* A message written by proto/'s tables, appended to @out. */
static void
append_bytes (GString *out,
              GBytes  *bytes)
{
  gsize length = 0;
  const char *data = g_bytes_get_data (bytes, &length);

  g_string_append_len (out, data, length);
  g_bytes_unref (bytes);
}

static void
write_remote_peer (GString                *out,
                   const NbMgmtRemotePeer *peer)
{
  gboolean first = TRUE;

  g_string_append_c (out, '{');
  if (peer->key != NULL)
    {
      APPEND_LITERAL (out, "\"wg_pub_key\":");
      nb_proto_write_json_string (out, peer->key);
      first = FALSE;
    }
  if (!first)
    g_string_append_c (out, ',');
  APPEND_LITERAL (out, "\"allowed_ips\":[");
  for (guint j = 0; peer->allowed_ips != NULL && j < peer->allowed_ips->len; j++)
    {
      if (j > 0)
        g_string_append_c (out, ',');
      nb_proto_write_json_string (out, g_ptr_array_index (peer->allowed_ips, j));
    }
  g_string_append_c (out, ']');
  if (peer->fqdn != NULL)
    {
      APPEND_LITERAL (out, ",\"fqdn\":");
      nb_proto_write_json_string (out, peer->fqdn);
    }
  if (peer->ssh_key != NULL)
    {
      APPEND_LITERAL (out, ",\"ssh_pub_key\":");
      nb_proto_write_json_string (out, peer->ssh_key);
    }
  g_string_append_c (out, '}');
}

static void
write_firewall_rule (GString                  *out,
                     const NbMgmtFirewallRule *rule)
{
  g_string_append_c (out, '{');
  if (rule->peer_ip != NULL)
    {
      APPEND_LITERAL (out, "\"peer_ip\":");
      nb_proto_write_json_string (out, rule->peer_ip);
      g_string_append_c (out, ',');
    }
  APPEND_LITERAL (out, "\"direction\":\"");
  g_string_append (out, direction_names[wire_direction (rule->direction)]);
  APPEND_LITERAL (out, "\",\"action\":\"");
  g_string_append (out, action_names[wire_action (rule->action)]);
  APPEND_LITERAL (out, "\",\"protocol\":\"");
  g_string_append (out, protocol_names[wire_protocol (rule->protocol)]);
  APPEND_LITERAL (out, "\",\"port\":");
  append_int (out, rule->port);
  APPEND_LITERAL (out, ",\"port_range_start\":");
  append_int (out, rule->port_range.start);
  APPEND_LITERAL (out, ",\"port_range_end\":");
  append_int (out, rule->port_range.end);
  if (rule->policy_id != NULL)
    {
      APPEND_LITERAL (out, ",\"policy_id\":");
      nb_proto_write_json_string (out, rule->policy_id);
    }
  g_string_append_c (out, '}');
}

static void
write_dns_record (GString               *out,
                  const NbMgmtDnsRecord *record)
{
  const char *name = record->name != NULL ? record->name : "";

  APPEND_LITERAL (out, "{\"name\":");
  nb_proto_write_json_string (out, name);
  if (!g_str_has_suffix (name, "."))
    {
      /* absolute_name() without a copy: the dot needs no escaping. */
      g_string_truncate (out, out->len - 1);
      APPEND_LITERAL (out, ".\"");
    }
  APPEND_LITERAL (out, ",\"type\":");
  append_int (out, record->type);
  APPEND_LITERAL (out, ",\"class\":");
  nb_proto_write_json_string (out, record->class_ != NULL ? record->class_ : "IN");
  APPEND_LITERAL (out, ",\"ttl\":");
  append_int (out, record->ttl);
  if (record->rdata != NULL)
    {
      APPEND_LITERAL (out, ",\"rdata\":");
      nb_proto_write_json_string (out, record->rdata);
    }
  g_string_append_c (out, '}');
}

static void
write_dns_config (GString                *out,
                  const NbMgmtNetworkMap *map)
{
  /* The nameserver groups through the message; the zone's records, one
   * per peer of the map, directly. */
  APPEND_LITERAL (out, "{\"service_enable\":");
  if (!map->dns_enabled)
    {
      APPEND_LITERAL (out, "false,\"nameserver_groups\":[],\"custom_zones\":[]}");
      return;
    }
  APPEND_LITERAL (out, "true,\"nameserver_groups\":[");
  {
    g_autoptr(NbMgmtMsgDnsConfig) full = build_dns_config_groups (map);

    for (guint i = 0; i < full->nameserver_groups->len; i++)
      {
        if (i > 0)
          g_string_append_c (out, ',');
        append_bytes (out, nb_mgmt_msg_name_server_group_to_bytes (
                             g_ptr_array_index (full->nameserver_groups, i)));
      }
  }
  APPEND_LITERAL (out, "],\"custom_zones\":[");
  if (map->dns_domain != NULL && map->dns_domain[0] != '\0')
    {
      g_autofree char *domain = absolute_name (map->dns_domain);

      APPEND_LITERAL (out, "{\"domain\":");
      nb_proto_write_json_string (out, domain);
      APPEND_LITERAL (out, ",\"records\":[");
      for (guint i = 0; map->dns_records != NULL && i < map->dns_records->len; i++)
        {
          if (i > 0)
            g_string_append_c (out, ',');
          write_dns_record (out, g_ptr_array_index (map->dns_records, i));
        }
      APPEND_LITERAL (out, "]}");
    }
  APPEND_LITERAL (out, "]}");
}

/**
 * nb_mgmt_server_write_sync_response:
 * @map: the store's map of one peer
 * @netbird_config: the service addresses and credentials for that peer
 * @out: where the JSON is appended
 *
 * Appends the same bytes as nb_mgmt_msg_sync_response_write() of
 * nb_mgmt_server_sync_response_from_map(), without building the message.
 */
void
nb_mgmt_server_write_sync_response (const NbMgmtNetworkMap       *map,
                                    const NbMgmtMsgNetbirdConfig *netbird_config,
                                    GString                      *out)
{
  APPEND_LITERAL (out, "{");
  if (netbird_config != NULL)
    {
      APPEND_LITERAL (out, "\"netbird_config\":");
      append_bytes (out, nb_mgmt_msg_netbird_config_to_bytes (netbird_config));
      g_string_append_c (out, ',');
    }
  APPEND_LITERAL (out, "\"network_map\":{\"serial\":");
  append_int (out, (gint64) MIN (map->serial, (guint64) G_MAXINT64));
  {
    g_autoptr(NbMgmtMsgPeerConfig) peer_config = nb_mgmt_server_build_peer_config (map->address,
                                                                                  map->fqdn,
                                                                                  FALSE);

    APPEND_LITERAL (out, ",\"peer_config\":");
    append_bytes (out, nb_mgmt_msg_peer_config_to_bytes (peer_config));
  }

  APPEND_LITERAL (out, ",\"remote_peers\":[");
  for (guint i = 0; map->remote_peers != NULL && i < map->remote_peers->len; i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      write_remote_peer (out, g_ptr_array_index (map->remote_peers, i));
    }

  APPEND_LITERAL (out, "],\"offline_peers\":[],\"firewall_rules\":[");
  for (guint i = 0; map->firewall_rules != NULL && i < map->firewall_rules->len; i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      write_firewall_rule (out, g_ptr_array_index (map->firewall_rules, i));
    }

  APPEND_LITERAL (out, "],\"routes\":[");
  for (guint i = 0; map->routes != NULL && i < map->routes->len; i++)
    {
      g_autoptr(NbMgmtMsgRoute) route = build_route (g_ptr_array_index (map->routes, i));

      if (i > 0)
        g_string_append_c (out, ',');
      append_bytes (out, nb_mgmt_msg_route_to_bytes (route));
    }

  APPEND_LITERAL (out, "],\"dns_config\":");
  write_dns_config (out, map);
  APPEND_LITERAL (out, "}}");
}
