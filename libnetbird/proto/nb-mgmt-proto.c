/* nb-mgmt-proto.c: Management's client-protocol messages
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-proto"

#include <string.h>

#include "nb-mgmt-proto-private.h"
#include "nb-key.h"

/* Field tables. Names follow NetBird's management.proto in snake_case. */

#define SHORT 256          /* names, versions, hostnames */
#define LONG 4096          /* tokens, URIs, SSH keys */

#define F_STRING NB_PROTO_F_STRING
#define F_BOOL NB_PROTO_F_BOOL
#define F_INT NB_PROTO_F_INT
#define F_ENUM NB_PROTO_F_ENUM
#define F_MESSAGE NB_PROTO_F_MESSAGE
#define F_STRV NB_PROTO_F_STRV
#define F_MESSAGES NB_PROTO_F_MESSAGES
#define DESC NB_PROTO_DESC

#define REQ NB_PROTO_FIELD_REQUIRED
#define OPT 0
#define EMPTY_OK NB_PROTO_FIELD_EMPTY_OK

static const char *const direction_names[] = { "in", "out", NULL };
static const char *const action_names[] = { "accept", "drop", NULL };
static const char *const protocol_names[] = { "all", "tcp", "udp", "icmp", NULL };
static const char *const host_protocol_names[] = { "udp", "tcp", "http", "https", "dtls", NULL };

/* ServerKeyResponse */
static const NbProtoField server_key_fields[] = {
  F_STRING (NbMgmtMsgServerKeyResponse, key, "key", REQ, NB_KEY_BASE64_LEN, nb_proto_validate_key),
  F_INT (NbMgmtMsgServerKeyResponse, expires_at, "expires_at", OPT, 0, G_MAXINT64),
  F_INT (NbMgmtMsgServerKeyResponse, version, "version", REQ, 1, G_MAXINT32),
};
DESC (server_key_desc, NbMgmtMsgServerKeyResponse, server_key_fields, NULL);

/* PeerSystemMeta */
static const NbProtoField peer_meta_fields[] = {
  F_STRING (NbMgmtMsgPeerMeta, hostname, "hostname", REQ, SHORT, NULL),
  F_STRING (NbMgmtMsgPeerMeta, go_os, "go_os", OPT, SHORT, NULL),
  F_STRING (NbMgmtMsgPeerMeta, kernel, "kernel", OPT, SHORT, NULL),
  F_STRING (NbMgmtMsgPeerMeta, core, "core", OPT, SHORT, NULL),
  F_STRING (NbMgmtMsgPeerMeta, platform, "platform", OPT, SHORT, NULL),
  F_STRING (NbMgmtMsgPeerMeta, os, "os", OPT, SHORT, NULL),
  F_STRING (NbMgmtMsgPeerMeta, os_version, "os_version", OPT, SHORT, NULL),
  F_STRING (NbMgmtMsgPeerMeta, kernel_version, "kernel_version", OPT, SHORT, NULL),
  F_STRING (NbMgmtMsgPeerMeta, netbird_version, "netbird_version", OPT, SHORT, NULL),
  F_STRING (NbMgmtMsgPeerMeta, ui_version, "ui_version", OPT, SHORT, NULL),
  F_STRING (NbMgmtMsgPeerMeta, sys_serial_number, "sys_serial_number", OPT, SHORT, NULL),
  F_STRING (NbMgmtMsgPeerMeta, sys_product_name, "sys_product_name", OPT, SHORT, NULL),
  F_STRING (NbMgmtMsgPeerMeta, sys_manufacturer, "sys_manufacturer", OPT, SHORT, NULL),
  F_STRV (NbMgmtMsgPeerMeta, network_addresses, "network_addresses", 64, 64,
          nb_proto_validate_prefix),
};

static gboolean
check_peer_meta (gconstpointer message,
                 GError      **error)
{
  const NbMgmtMsgPeerMeta *meta = message;

  if (meta->hostname[0] == '\0')
    {
      g_set_error_literal (error, NB_PROTO_ERROR, NB_PROTO_ERROR_INVALID_VALUE,
                           "Field “hostname” of the peer's system meta cannot be empty");
      return FALSE;
    }
  return TRUE;
}
DESC (peer_meta_desc, NbMgmtMsgPeerMeta, peer_meta_fields, check_peer_meta);

/* LoginRequest */

/* Base64 (standard or URL-safe, padding allowed): a nonce is compared as
 * text, so any fixed alphabet does; this one needs no escaping anywhere. */
static gboolean
validate_nonce (const char  *value,
                const char  *what,
                GError     **error)
{
  gsize len = strlen (value);

  if (len < NB_MGMT_PROTO_NONCE_MIN)
    {
      g_set_error (error, NB_PROTO_ERROR, NB_PROTO_ERROR_INVALID_VALUE,
                   "Field “%s” is %" G_GSIZE_FORMAT " characters long, at least %d are needed",
                   what, len, NB_MGMT_PROTO_NONCE_MIN);
      return FALSE;
    }
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (value[i]) && strchr ("+/-_=", value[i]) == NULL)
      {
        g_set_error (error, NB_PROTO_ERROR, NB_PROTO_ERROR_INVALID_VALUE,
                     "Field “%s” holds a character that is not base64", what);
        return FALSE;
      }
  return TRUE;
}

static const NbProtoField login_request_fields[] = {
  F_STRING (NbMgmtMsgLoginRequest, setup_key, "setup_key", OPT, SHORT, NULL),
  F_STRING (NbMgmtMsgLoginRequest, jwt_token, "jwt_token", OPT, 16 * 1024, NULL),
  F_MESSAGE (NbMgmtMsgLoginRequest, meta, "meta", REQ, peer_meta_desc),
  F_STRING (NbMgmtMsgLoginRequest, ssh_pub_key, "ssh_pub_key", OPT, LONG, NULL),
  F_STRV (NbMgmtMsgLoginRequest, dns_labels, "dns_labels", 32, 63, nb_proto_validate_dns_name),
  F_INT (NbMgmtMsgLoginRequest, timestamp, "timestamp", OPT, 0, G_MAXINT64),
  F_STRING (NbMgmtMsgLoginRequest, nonce, "nonce", OPT, NB_MGMT_PROTO_NONCE_MAX, validate_nonce),
};

static gboolean
check_login_request (gconstpointer message,
                     GError      **error)
{
  const NbMgmtMsgLoginRequest *request = message;

  if (request->setup_key != NULL && request->setup_key[0] != '\0' &&
      request->jwt_token != NULL && request->jwt_token[0] != '\0')
    {
      g_set_error_literal (error, NB_PROTO_ERROR, NB_PROTO_ERROR_INVALID_VALUE,
                           "A login request carries a setup key or a JWT, not both");
      return FALSE;
    }
  return TRUE;
}
DESC (login_request_desc, NbMgmtMsgLoginRequest, login_request_fields, check_login_request);

/* HostConfig, ProtectedHostConfig, RelayConfig, NetbirdConfig */
static const NbProtoField host_config_fields[] = {
  F_STRING (NbMgmtMsgHostConfig, uri, "uri", REQ, LONG, nb_proto_validate_uri),
  F_ENUM (NbMgmtMsgHostConfig, protocol, "protocol", OPT, host_protocol_names),
};
DESC (host_config_desc, NbMgmtMsgHostConfig, host_config_fields, NULL);

static const NbProtoField protected_host_config_fields[] = {
  F_MESSAGE (NbMgmtMsgProtectedHostConfig, host_config, "host_config", REQ, host_config_desc),
  F_STRING (NbMgmtMsgProtectedHostConfig, user, "user", OPT, LONG, NULL),
  F_STRING (NbMgmtMsgProtectedHostConfig, password, "password", OPT, LONG, NULL),
};
DESC (protected_host_config_desc, NbMgmtMsgProtectedHostConfig, protected_host_config_fields, NULL);

static const NbProtoField relay_config_fields[] = {
  F_STRV (NbMgmtMsgRelayConfig, urls, "urls", 64, LONG, nb_proto_validate_uri),
  F_STRING (NbMgmtMsgRelayConfig, token_payload, "token_payload", OPT, LONG, NULL),
  F_STRING (NbMgmtMsgRelayConfig, token_signature, "token_signature", OPT, LONG, NULL),
};
DESC (relay_config_desc, NbMgmtMsgRelayConfig, relay_config_fields, NULL);

static const NbProtoField netbird_config_fields[] = {
  F_MESSAGES (NbMgmtMsgNetbirdConfig, stuns, "stuns", 64, host_config_desc),
  F_MESSAGES (NbMgmtMsgNetbirdConfig, turns, "turns", 64, protected_host_config_desc),
  F_MESSAGE (NbMgmtMsgNetbirdConfig, signal, "signal", OPT, host_config_desc),
  F_MESSAGE (NbMgmtMsgNetbirdConfig, relay, "relay", OPT, relay_config_desc),
};
DESC (netbird_config_desc, NbMgmtMsgNetbirdConfig, netbird_config_fields, NULL);

/* PeerConfig, LoginResponse, SyncRequest */
static const NbProtoField peer_config_fields[] = {
  F_STRING (NbMgmtMsgPeerConfig, address, "address", REQ, 64, nb_proto_validate_prefix),
  F_STRING (NbMgmtMsgPeerConfig, fqdn, "fqdn", OPT | EMPTY_OK, SHORT, nb_proto_validate_dns_name),
  F_BOOL (NbMgmtMsgPeerConfig, ssh_enabled, "ssh_enabled"),
};
DESC (peer_config_desc, NbMgmtMsgPeerConfig, peer_config_fields, NULL);

static const NbProtoField login_response_fields[] = {
  F_MESSAGE (NbMgmtMsgLoginResponse, netbird_config, "netbird_config", OPT, netbird_config_desc),
  F_MESSAGE (NbMgmtMsgLoginResponse, peer_config, "peer_config", REQ, peer_config_desc),
};
DESC (login_response_desc, NbMgmtMsgLoginResponse, login_response_fields, NULL);

static const NbProtoField sync_request_fields[] = {
  F_MESSAGE (NbMgmtMsgSyncRequest, meta, "meta", OPT, peer_meta_desc),
};
DESC (sync_request_desc, NbMgmtMsgSyncRequest, sync_request_fields, NULL);

/* RemotePeerConfig, FirewallRule, Route */
static const NbProtoField remote_peer_fields[] = {
  F_STRING (NbMgmtMsgRemotePeer, wg_pub_key, "wg_pub_key", REQ, NB_KEY_BASE64_LEN,
            nb_proto_validate_key),
  F_STRV (NbMgmtMsgRemotePeer, allowed_ips, "allowed_ips", 1024, 64, nb_proto_validate_prefix),
  F_STRING (NbMgmtMsgRemotePeer, fqdn, "fqdn", OPT | EMPTY_OK, SHORT, nb_proto_validate_dns_name),
  F_STRING (NbMgmtMsgRemotePeer, ssh_pub_key, "ssh_pub_key", OPT, LONG, NULL),
  F_STRING (NbMgmtMsgRemotePeer, agent_version, "agent_version", OPT, SHORT, NULL),
};
DESC (remote_peer_desc, NbMgmtMsgRemotePeer, remote_peer_fields, NULL);

static const NbProtoField firewall_rule_fields[] = {
  F_STRING (NbMgmtMsgFirewallRule, peer_ip, "peer_ip", REQ, 64, nb_proto_validate_ip),
  F_ENUM (NbMgmtMsgFirewallRule, direction, "direction", REQ, direction_names),
  F_ENUM (NbMgmtMsgFirewallRule, action, "action", REQ, action_names),
  F_ENUM (NbMgmtMsgFirewallRule, protocol, "protocol", REQ, protocol_names),
  F_INT (NbMgmtMsgFirewallRule, port, "port", OPT, 0, 65535),
  F_INT (NbMgmtMsgFirewallRule, port_range_start, "port_range_start", OPT, 0, 65535),
  F_INT (NbMgmtMsgFirewallRule, port_range_end, "port_range_end", OPT, 0, 65535),
  F_STRING (NbMgmtMsgFirewallRule, policy_id, "policy_id", OPT, SHORT, NULL),
};

static gboolean
check_firewall_rule (gconstpointer message,
                     GError      **error)
{
  const NbMgmtMsgFirewallRule *rule = message;

  if (rule->port_range_start > rule->port_range_end)
    {
      g_set_error (error, NB_PROTO_ERROR, NB_PROTO_ERROR_INVALID_VALUE,
                   "Firewall rule port range %" G_GINT64_FORMAT "-%" G_GINT64_FORMAT
                   " ends before it starts", rule->port_range_start, rule->port_range_end);
      return FALSE;
    }
  if ((rule->port != 0 || rule->port_range_end != 0) &&
      rule->protocol != NB_MGMT_MSG_RULE_PROTOCOL_TCP && rule->protocol != NB_MGMT_MSG_RULE_PROTOCOL_UDP)
    {
      g_set_error_literal (error, NB_PROTO_ERROR, NB_PROTO_ERROR_INVALID_VALUE,
                           "Firewall rule ports apply only to the tcp and udp protocols");
      return FALSE;
    }
  return TRUE;
}
DESC (firewall_rule_desc, NbMgmtMsgFirewallRule, firewall_rule_fields, check_firewall_rule);

static const NbProtoField route_fields[] = {
  F_STRING (NbMgmtMsgRoute, id, "id", REQ, SHORT, NULL),
  F_STRING (NbMgmtMsgRoute, net_id, "net_id", OPT, SHORT, NULL),
  F_STRING (NbMgmtMsgRoute, network, "network", REQ, 64, nb_proto_validate_prefix),
  F_STRING (NbMgmtMsgRoute, peer, "peer", OPT | EMPTY_OK, NB_KEY_BASE64_LEN,
            nb_proto_validate_key),
  F_INT (NbMgmtMsgRoute, metric, "metric", OPT, 0, 9999),
  F_BOOL (NbMgmtMsgRoute, masquerade, "masquerade"),
  F_STRV (NbMgmtMsgRoute, domains, "domains", 256, SHORT, nb_proto_validate_dns_name),
  F_BOOL (NbMgmtMsgRoute, keep_route, "keep_route"),
};
DESC (route_desc, NbMgmtMsgRoute, route_fields, NULL);

/* DNSConfig */
static const NbProtoField name_server_fields[] = {
  F_STRING (NbMgmtMsgNameServer, ip, "ip", REQ, 64, nb_proto_validate_ip),
  F_STRING (NbMgmtMsgNameServer, ns_type, "ns_type", OPT, 16, NULL),
  F_INT (NbMgmtMsgNameServer, port, "port", OPT, 0, 65535),
};
DESC (name_server_desc, NbMgmtMsgNameServer, name_server_fields, NULL);

static const NbProtoField name_server_group_fields[] = {
  F_MESSAGES (NbMgmtMsgNameServerGroup, nameservers, "nameservers", 16, name_server_desc),
  F_BOOL (NbMgmtMsgNameServerGroup, primary, "primary"),
  F_STRV (NbMgmtMsgNameServerGroup, domains, "domains", 256, SHORT, nb_proto_validate_dns_name),
  F_BOOL (NbMgmtMsgNameServerGroup, search_domains_enabled, "search_domains_enabled"),
};
DESC (name_server_group_desc, NbMgmtMsgNameServerGroup, name_server_group_fields, NULL);

static const NbProtoField simple_record_fields[] = {
  F_STRING (NbMgmtMsgSimpleRecord, name, "name", REQ, SHORT, nb_proto_validate_dns_name),
  F_INT (NbMgmtMsgSimpleRecord, type, "type", OPT, 0, 65535),
  F_STRING (NbMgmtMsgSimpleRecord, class_, "class", OPT, 8, NULL),
  F_INT (NbMgmtMsgSimpleRecord, ttl, "ttl", OPT, 0, G_MAXINT32),
  F_STRING (NbMgmtMsgSimpleRecord, rdata, "rdata", REQ, SHORT, NULL),
};
DESC (simple_record_desc, NbMgmtMsgSimpleRecord, simple_record_fields, NULL);

static const NbProtoField custom_zone_fields[] = {
  F_STRING (NbMgmtMsgCustomZone, domain, "domain", REQ, SHORT, nb_proto_validate_dns_name),
  F_MESSAGES (NbMgmtMsgCustomZone, records, "records", NB_MGMT_PROTO_MAX_RECORDS, simple_record_desc),
};
DESC (custom_zone_desc, NbMgmtMsgCustomZone, custom_zone_fields, NULL);

static const NbProtoField dns_config_fields[] = {
  F_BOOL (NbMgmtMsgDnsConfig, service_enable, "service_enable"),
  F_MESSAGES (NbMgmtMsgDnsConfig, nameserver_groups, "nameserver_groups", 256, name_server_group_desc),
  F_MESSAGES (NbMgmtMsgDnsConfig, custom_zones, "custom_zones", 64, custom_zone_desc),
};
DESC (dns_config_desc, NbMgmtMsgDnsConfig, dns_config_fields, NULL);

/* NetworkMap, SyncResponse */
static const NbProtoField network_map_fields[] = {
  F_INT (NbMgmtMsgNetworkMap, serial, "serial", REQ, 0, G_MAXINT64),
  F_MESSAGE (NbMgmtMsgNetworkMap, peer_config, "peer_config", OPT, peer_config_desc),
  F_MESSAGES (NbMgmtMsgNetworkMap, remote_peers, "remote_peers", NB_MGMT_PROTO_MAX_PEERS,
              remote_peer_desc),
  F_MESSAGES (NbMgmtMsgNetworkMap, offline_peers, "offline_peers", NB_MGMT_PROTO_MAX_PEERS,
              remote_peer_desc),
  F_MESSAGES (NbMgmtMsgNetworkMap, firewall_rules, "firewall_rules", NB_MGMT_PROTO_MAX_RULES,
              firewall_rule_desc),
  F_MESSAGES (NbMgmtMsgNetworkMap, routes, "routes", NB_MGMT_PROTO_MAX_ROUTES, route_desc),
  F_MESSAGE (NbMgmtMsgNetworkMap, dns_config, "dns_config", OPT, dns_config_desc),
};
DESC (network_map_desc, NbMgmtMsgNetworkMap, network_map_fields, NULL);

static const NbProtoField sync_response_fields[] = {
  F_MESSAGE (NbMgmtMsgSyncResponse, netbird_config, "netbird_config", OPT, netbird_config_desc),
  F_MESSAGE (NbMgmtMsgSyncResponse, network_map, "network_map", REQ, network_map_desc),
};
DESC (sync_response_desc, NbMgmtMsgSyncResponse, sync_response_fields, NULL);

static const NbProtoField error_response_fields[] = {
  F_STRING (NbMgmtMsgErrorResponse, code, "code", REQ, 64, NULL),
  F_STRING (NbMgmtMsgErrorResponse, message, "message", REQ, LONG, NULL),
};
DESC (error_response_desc, NbMgmtMsgErrorResponse, error_response_fields, NULL);

NB_PROTO_DEFINE_MESSAGE (NbMgmtMsgServerKeyResponse, nb_mgmt_msg_server_key_response, server_key_desc,
                         NB_MGMT_PROTO_MAX_RESPONSE_SIZE)
NB_PROTO_DEFINE_MESSAGE (NbMgmtMsgPeerMeta, nb_mgmt_msg_peer_meta, peer_meta_desc,
                         NB_MGMT_PROTO_MAX_REQUEST_SIZE)
NB_PROTO_DEFINE_MESSAGE (NbMgmtMsgLoginRequest, nb_mgmt_msg_login_request, login_request_desc,
                         NB_MGMT_PROTO_MAX_REQUEST_SIZE)
NB_PROTO_DEFINE_MESSAGE (NbMgmtMsgHostConfig, nb_mgmt_msg_host_config, host_config_desc,
                         NB_MGMT_PROTO_MAX_RESPONSE_SIZE)
NB_PROTO_DEFINE_MESSAGE (NbMgmtMsgProtectedHostConfig, nb_mgmt_msg_protected_host_config,
                         protected_host_config_desc, NB_MGMT_PROTO_MAX_RESPONSE_SIZE)
NB_PROTO_DEFINE_MESSAGE (NbMgmtMsgRelayConfig, nb_mgmt_msg_relay_config, relay_config_desc,
                         NB_MGMT_PROTO_MAX_RESPONSE_SIZE)
NB_PROTO_DEFINE_MESSAGE (NbMgmtMsgNetbirdConfig, nb_mgmt_msg_netbird_config, netbird_config_desc,
                         NB_MGMT_PROTO_MAX_RESPONSE_SIZE)
NB_PROTO_DEFINE_MESSAGE (NbMgmtMsgPeerConfig, nb_mgmt_msg_peer_config, peer_config_desc,
                         NB_MGMT_PROTO_MAX_RESPONSE_SIZE)
NB_PROTO_DEFINE_MESSAGE (NbMgmtMsgLoginResponse, nb_mgmt_msg_login_response, login_response_desc,
                         NB_MGMT_PROTO_MAX_RESPONSE_SIZE)
NB_PROTO_DEFINE_MESSAGE (NbMgmtMsgSyncRequest, nb_mgmt_msg_sync_request, sync_request_desc,
                         NB_MGMT_PROTO_MAX_REQUEST_SIZE)
NB_PROTO_DEFINE_MESSAGE (NbMgmtMsgRemotePeer, nb_mgmt_msg_remote_peer, remote_peer_desc,
                         NB_MGMT_PROTO_MAX_RESPONSE_SIZE)
NB_PROTO_DEFINE_MESSAGE (NbMgmtMsgFirewallRule, nb_mgmt_msg_firewall_rule, firewall_rule_desc,
                         NB_MGMT_PROTO_MAX_RESPONSE_SIZE)
NB_PROTO_DEFINE_MESSAGE (NbMgmtMsgRoute, nb_mgmt_msg_route, route_desc, NB_MGMT_PROTO_MAX_RESPONSE_SIZE)
NB_PROTO_DEFINE_MESSAGE (NbMgmtMsgNameServer, nb_mgmt_msg_name_server, name_server_desc,
                         NB_MGMT_PROTO_MAX_RESPONSE_SIZE)
NB_PROTO_DEFINE_MESSAGE (NbMgmtMsgNameServerGroup, nb_mgmt_msg_name_server_group, name_server_group_desc,
                         NB_MGMT_PROTO_MAX_RESPONSE_SIZE)
NB_PROTO_DEFINE_MESSAGE (NbMgmtMsgSimpleRecord, nb_mgmt_msg_simple_record, simple_record_desc,
                         NB_MGMT_PROTO_MAX_RESPONSE_SIZE)
NB_PROTO_DEFINE_MESSAGE (NbMgmtMsgCustomZone, nb_mgmt_msg_custom_zone, custom_zone_desc,
                         NB_MGMT_PROTO_MAX_MAP_SIZE)
NB_PROTO_DEFINE_MESSAGE (NbMgmtMsgDnsConfig, nb_mgmt_msg_dns_config, dns_config_desc,
                         NB_MGMT_PROTO_MAX_MAP_SIZE)
NB_PROTO_DEFINE_MESSAGE (NbMgmtMsgNetworkMap, nb_mgmt_msg_network_map, network_map_desc,
                         NB_MGMT_PROTO_MAX_MAP_SIZE)
NB_PROTO_DEFINE_MESSAGE (NbMgmtMsgSyncResponse, nb_mgmt_msg_sync_response, sync_response_desc,
                         NB_MGMT_PROTO_MAX_MAP_SIZE)
NB_PROTO_DEFINE_MESSAGE (NbMgmtMsgErrorResponse, nb_mgmt_msg_error_response, error_response_desc,
                         NB_MGMT_PROTO_MAX_RESPONSE_SIZE)

void
nb_mgmt_msg_sync_response_write (const NbMgmtMsgSyncResponse *message,
                             GString                  *out)
{
  g_return_if_fail (message != NULL);
  g_return_if_fail (out != NULL);

  nb_proto_message_write (&sync_response_desc, message, out);
}
