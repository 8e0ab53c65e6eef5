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
    out->signal = host_config (config->signal_uri);

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

static NbMgmtMsgDnsConfig *
build_dns_config (const NbMgmtNetworkMap *map)
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

/* The store's map of one peer as the SyncResponse pushed to it, with
 * service addresses and fresh credentials. */
NbMgmtMsgSyncResponse *
nb_mgmt_server_build_sync_response (NbManagementServer     *self,
                                    const NbMgmtNetworkMap *map)
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
    {
      const NbMgmtRouteEntry *route = g_ptr_array_index (map->routes, i);
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
      g_ptr_array_add (out->routes, route_out);
    }

  out->dns_config = build_dns_config (map);

  response->network_map = out;
  response->netbird_config = nb_mgmt_server_build_netbird_config (self, map->peer_key);
  return response;
}
