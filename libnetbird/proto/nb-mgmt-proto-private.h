/* nb-mgmt-proto-private.h: Management's client-protocol messages
 *
 * Library-internal: plain C structs with JSON codecs, used by the
 * Management server and the client engine. Field names follow NetBird's
 * management.proto in snake_case, so the two map one to one.
 *
 * Every message is carried sealed (nb_envelope_seal()) between the peer's
 * WireGuard key and the server's key, except the server-key response,
 * which is how a peer learns the server's key.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#if !defined(NB_COMPILATION)
#error "nb-mgmt-proto-private.h is internal to libnetbird."
#endif

#include <glib.h>
#include "nb-proto-codec-private.h"

G_BEGIN_DECLS

/* The version of this protocol, announced in the server-key response. */
#define NB_MGMT_PROTO_VERSION 1

/* Bounds on the JSON text of each message. Requests come from peers and
 * stay small; a network map grows with the peers a peer may reach. */
#define NB_MGMT_PROTO_MAX_REQUEST_SIZE (64 * 1024)
#define NB_MGMT_PROTO_MAX_RESPONSE_SIZE (64 * 1024)
#define NB_MGMT_PROTO_MAX_MAP_SIZE (64 * 1024 * 1024)

/* Bounds on counts in a network map. */
#define NB_MGMT_PROTO_MAX_PEERS 100000
#define NB_MGMT_PROTO_MAX_RULES 1000000
#define NB_MGMT_PROTO_MAX_ROUTES 10000
#define NB_MGMT_PROTO_MAX_RECORDS 200000

typedef enum {
  NB_MGMT_MSG_RULE_DIRECTION_IN,
  NB_MGMT_MSG_RULE_DIRECTION_OUT,
} NbMgmtMsgRuleDirection;

typedef enum {
  NB_MGMT_MSG_RULE_ACTION_ACCEPT,
  NB_MGMT_MSG_RULE_ACTION_DROP,
} NbMgmtMsgRuleAction;

typedef enum {
  NB_MGMT_MSG_RULE_PROTOCOL_ALL,
  NB_MGMT_MSG_RULE_PROTOCOL_TCP,
  NB_MGMT_MSG_RULE_PROTOCOL_UDP,
  NB_MGMT_MSG_RULE_PROTOCOL_ICMP,
} NbMgmtMsgRuleProtocol;

typedef enum {
  NB_MGMT_MSG_HOST_PROTOCOL_UDP,
  NB_MGMT_MSG_HOST_PROTOCOL_TCP,
  NB_MGMT_MSG_HOST_PROTOCOL_HTTP,
  NB_MGMT_MSG_HOST_PROTOCOL_HTTPS,
  NB_MGMT_MSG_HOST_PROTOCOL_DTLS,
} NbMgmtMsgHostProtocol;

/* GET /management/v1/server-key, in clear. */
typedef struct
{
  char *key;              /* the server's WireGuard public key, base64 */
  gint64 expires_at;      /* unix seconds, 0 when the key does not expire */
  gint64 version;         /* NB_MGMT_PROTO_VERSION */
} NbMgmtMsgServerKeyResponse;

/* What a peer tells about its system (NetBird's PeerSystemMeta). */
typedef struct
{
  char *hostname;         /* required */
  char *go_os;            /* "linux", "darwin", "windows"... */
  char *kernel;           /* "Linux" */
  char *core;
  char *platform;         /* "x86_64" */
  char *os;               /* "Debian GNU/Linux" */
  char *os_version;       /* "12" */
  char *kernel_version;   /* "6.1.0" */
  char *netbird_version;
  char *ui_version;
  char *sys_serial_number;
  char *sys_product_name;
  char *sys_manufacturer;
  GPtrArray *network_addresses; /* char *, "ADDRESS/PREFIX" */
} NbMgmtMsgPeerMeta;

/* POST /management/v1/login: register with a setup key (or a JWT), or log
 * in again with a key the server knows (both absent).
 *
 * @timestamp and @nonce make each sealed request usable once: the server
 * takes a request only within NB_MGMT_PROTO_LOGIN_WINDOW seconds of its
 * clock and only once (see nb-mgmt-login-replay.c), so a captured request
 * cannot register its peer again later. Optional in the codec (0 and NULL
 * when absent); the server requires them. */
typedef struct
{
  char *setup_key;
  char *jwt_token;
  NbMgmtMsgPeerMeta *meta;   /* required */
  char *ssh_pub_key;
  GPtrArray *dns_labels;  /* char *, extra labels the peer asks for */
  gint64 timestamp;       /* unix seconds when the peer made it; 0: absent */
  char *nonce;            /* NB_MGMT_PROTO_NONCE_MIN..MAX URL-safe base64 characters, fresh per request */
} NbMgmtMsgLoginRequest;

/* How far a login request's timestamp may be from the server's clock, either
 * way, in seconds; and the length of its nonce (16 random bytes are 22
 * characters of unpadded base64). */
#define NB_MGMT_PROTO_LOGIN_WINDOW 300
#define NB_MGMT_PROTO_NONCE_MIN 16
#define NB_MGMT_PROTO_NONCE_MAX 64

typedef struct
{
  char *uri;              /* "stun:stun.example.org:3478", "https://signal:443" */
  NbMgmtMsgHostProtocol protocol;
} NbMgmtMsgHostConfig;

/* A host that needs credentials: TURN (time-limited user and password). */
typedef struct
{
  NbMgmtMsgHostConfig *host_config; /* required */
  char *user;
  char *password;
} NbMgmtMsgProtectedHostConfig;

typedef struct
{
  GPtrArray *urls;        /* char *, "rels://relay.example:443" */
  char *token_payload;
  char *token_signature;
} NbMgmtMsgRelayConfig;

/* Where the other services are, with fresh credentials. */
typedef struct
{
  GPtrArray *stuns;       /* NbMgmtMsgHostConfig */
  GPtrArray *turns;       /* NbMgmtMsgProtectedHostConfig */
  NbMgmtMsgHostConfig *signal;
  NbMgmtMsgRelayConfig *relay;
} NbMgmtMsgNetbirdConfig;

/* The peer's own settings. */
typedef struct
{
  char *address;          /* required, "100.64.0.7/10": address and network */
  char *fqdn;             /* "host.netbird.cloud" */
  gboolean ssh_enabled;
} NbMgmtMsgPeerConfig;

typedef struct
{
  NbMgmtMsgNetbirdConfig *netbird_config;
  NbMgmtMsgPeerConfig *peer_config;  /* required */
} NbMgmtMsgLoginResponse;

/* The first message on the sync channel. */
typedef struct
{
  NbMgmtMsgPeerMeta *meta;
} NbMgmtMsgSyncRequest;

/* A peer this peer may reach. */
typedef struct
{
  char *wg_pub_key;       /* required */
  GPtrArray *allowed_ips; /* char *, "100.64.0.9/32" */
  char *fqdn;
  char *ssh_pub_key;
  char *agent_version;
} NbMgmtMsgRemotePeer;

/* One firewall rule: traffic with @peer_ip in @direction gets @action.
 * port_start = port_end = 0 means every port; port_start = port_end one port. */
typedef struct
{
  char *peer_ip;          /* required */
  NbMgmtMsgRuleDirection direction;
  NbMgmtMsgRuleAction action;
  NbMgmtMsgRuleProtocol protocol;
  gint64 port;            /* one port, 0 for none */
  gint64 port_range_start; /* a range, both 0 for none */
  gint64 port_range_end;
  char *policy_id;
} NbMgmtMsgFirewallRule;

typedef struct
{
  char *id;               /* required */
  char *net_id;
  char *network;          /* required, "10.0.0.0/24" */
  char *peer;             /* routing peer's public key */
  gint64 metric;
  gboolean masquerade;
  GPtrArray *domains;     /* char * */
  gboolean keep_route;
} NbMgmtMsgRoute;

typedef struct
{
  char *ip;               /* required */
  char *ns_type;          /* "udp" */
  gint64 port;
} NbMgmtMsgNameServer;

typedef struct
{
  GPtrArray *nameservers; /* NbMgmtMsgNameServer */
  gboolean primary;
  GPtrArray *domains;     /* char * */
  gboolean search_domains_enabled;
} NbMgmtMsgNameServerGroup;

typedef struct
{
  char *name;             /* required, "host.netbird.cloud." */
  gint64 type;            /* DNS RR type, 1 = A */
  char *class_;           /* "IN" (JSON "class") */
  gint64 ttl;
  char *rdata;            /* required, "100.64.0.7" */
} NbMgmtMsgSimpleRecord;

typedef struct
{
  char *domain;           /* required, "netbird.cloud." */
  GPtrArray *records;     /* NbMgmtMsgSimpleRecord */
} NbMgmtMsgCustomZone;

typedef struct
{
  gboolean service_enable;
  GPtrArray *nameserver_groups; /* NbMgmtMsgNameServerGroup */
  GPtrArray *custom_zones;      /* NbMgmtMsgCustomZone */
} NbMgmtMsgDnsConfig;

typedef struct
{
  gint64 serial;          /* grows with every change of the account */
  NbMgmtMsgPeerConfig *peer_config;
  GPtrArray *remote_peers;      /* NbMgmtMsgRemotePeer */
  GPtrArray *offline_peers;     /* NbMgmtMsgRemotePeer, login expired */
  GPtrArray *firewall_rules;    /* NbMgmtMsgFirewallRule */
  GPtrArray *routes;            /* NbMgmtMsgRoute */
  NbMgmtMsgDnsConfig *dns_config;
} NbMgmtMsgNetworkMap;

/* Pushed on the sync channel: at once, then after every change. */
typedef struct
{
  NbMgmtMsgNetbirdConfig *netbird_config;
  NbMgmtMsgNetworkMap *network_map; /* required */
} NbMgmtMsgSyncResponse;

/* An error answer (HTTP body, in clear: it names no secret). */
typedef struct
{
  char *code;             /* required, "setup_key_expired", ... */
  char *message;          /* required, for people */
} NbMgmtMsgErrorResponse;

NB_PROTO_DECLARE_MESSAGE (NbMgmtMsgServerKeyResponse, nb_mgmt_msg_server_key_response)
NB_PROTO_DECLARE_MESSAGE (NbMgmtMsgPeerMeta, nb_mgmt_msg_peer_meta)
NB_PROTO_DECLARE_MESSAGE (NbMgmtMsgLoginRequest, nb_mgmt_msg_login_request)
NB_PROTO_DECLARE_MESSAGE (NbMgmtMsgHostConfig, nb_mgmt_msg_host_config)
NB_PROTO_DECLARE_MESSAGE (NbMgmtMsgProtectedHostConfig, nb_mgmt_msg_protected_host_config)
NB_PROTO_DECLARE_MESSAGE (NbMgmtMsgRelayConfig, nb_mgmt_msg_relay_config)
NB_PROTO_DECLARE_MESSAGE (NbMgmtMsgNetbirdConfig, nb_mgmt_msg_netbird_config)
NB_PROTO_DECLARE_MESSAGE (NbMgmtMsgPeerConfig, nb_mgmt_msg_peer_config)
NB_PROTO_DECLARE_MESSAGE (NbMgmtMsgLoginResponse, nb_mgmt_msg_login_response)
NB_PROTO_DECLARE_MESSAGE (NbMgmtMsgSyncRequest, nb_mgmt_msg_sync_request)
NB_PROTO_DECLARE_MESSAGE (NbMgmtMsgRemotePeer, nb_mgmt_msg_remote_peer)
NB_PROTO_DECLARE_MESSAGE (NbMgmtMsgFirewallRule, nb_mgmt_msg_firewall_rule)
NB_PROTO_DECLARE_MESSAGE (NbMgmtMsgRoute, nb_mgmt_msg_route)
NB_PROTO_DECLARE_MESSAGE (NbMgmtMsgNameServer, nb_mgmt_msg_name_server)
NB_PROTO_DECLARE_MESSAGE (NbMgmtMsgNameServerGroup, nb_mgmt_msg_name_server_group)
NB_PROTO_DECLARE_MESSAGE (NbMgmtMsgSimpleRecord, nb_mgmt_msg_simple_record)
NB_PROTO_DECLARE_MESSAGE (NbMgmtMsgCustomZone, nb_mgmt_msg_custom_zone)
NB_PROTO_DECLARE_MESSAGE (NbMgmtMsgDnsConfig, nb_mgmt_msg_dns_config)
NB_PROTO_DECLARE_MESSAGE (NbMgmtMsgNetworkMap, nb_mgmt_msg_network_map)
NB_PROTO_DECLARE_MESSAGE (NbMgmtMsgSyncResponse, nb_mgmt_msg_sync_response)
NB_PROTO_DECLARE_MESSAGE (NbMgmtMsgErrorResponse, nb_mgmt_msg_error_response)

/* Appends the JSON of a network map to @out: the server writes maps for many
 * peers and reuses one buffer. */
void nb_mgmt_msg_sync_response_write (const NbMgmtMsgSyncResponse *message,
                                  GString                  *out);

G_END_DECLS
