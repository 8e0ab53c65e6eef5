/* nb-mgmt-records.h: the records Management keeps (accounts, users, peers...)
 *
 * Library-internal API of the management layer: not exported from
 * libnetbird-1.so and not in the GIR. The REST API (rest/) and the server
 * (server/) use these records to talk to the store.
 *
 * Conventions:
 *  - every record is a plain struct with public fields, freed with its
 *    `_free()` function (g_autoptr works on all of them);
 *  - IDs are strings (20 lowercase base32hex characters, xid-like); events
 *    have a 64-bit integer ID;
 *  - times are Unix seconds (gint64), 0 meaning "never" / "not set";
 *  - lists of IDs are %NULL-terminated string arrays (GStrv), %NULL meaning
 *    empty;
 *  - a record returned by the store is owned by the caller (transfer full);
 *    a record passed to the store as a template is only read.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#if !defined(NB_COMPILATION)
#error "The management store is library-internal: build with NB_COMPILATION."
#endif

#include <glib.h>

G_BEGIN_DECLS

/**
 * NB_MGMT_DEFAULT_DNS_DOMAIN:
 *
 * The DNS domain an account gets when none is configured: peers are
 * `label.netbird.cloud`.
 */
#define NB_MGMT_DEFAULT_DNS_DOMAIN "netbird.cloud"

/**
 * NB_MGMT_ALL_GROUP_NAME:
 *
 * The name of the built-in group every account has, which holds every peer of
 * the account. It cannot be renamed, deleted or have its peers edited.
 */
#define NB_MGMT_ALL_GROUP_NAME "All"

/* ------------------------------------------------------------------------ */
/* Enums                                                                    */
/* ------------------------------------------------------------------------ */

/**
 * NbMgmtRole:
 * @NB_MGMT_ROLE_USER: a regular user: sees and manages its own peers only
 * @NB_MGMT_ROLE_ADMIN: administers the account
 * @NB_MGMT_ROLE_OWNER: administers the account; one per account, cannot be
 *   deleted, blocked or demoted
 *
 * A user's role in its account. Order matters: a higher value may do all a
 * lower one may.
 */
typedef enum {
  NB_MGMT_ROLE_USER,
  NB_MGMT_ROLE_ADMIN,
  NB_MGMT_ROLE_OWNER,
} NbMgmtRole;

/**
 * NbMgmtSetupKeyType:
 * @NB_MGMT_SETUP_KEY_ONE_OFF: registers one peer, then is used up
 * @NB_MGMT_SETUP_KEY_REUSABLE: registers peers until it expires, is revoked
 *   or reaches its usage limit
 *
 * The kind of a setup key (NetBird's "one-off" and "reusable").
 */
typedef enum {
  NB_MGMT_SETUP_KEY_ONE_OFF,
  NB_MGMT_SETUP_KEY_REUSABLE,
} NbMgmtSetupKeyType;

/**
 * NbMgmtSetupKeyState:
 * @NB_MGMT_SETUP_KEY_STATE_VALID: the key registers peers
 * @NB_MGMT_SETUP_KEY_STATE_EXPIRED: its expiry time has passed
 * @NB_MGMT_SETUP_KEY_STATE_REVOKED: an administrator revoked it
 * @NB_MGMT_SETUP_KEY_STATE_OVERUSED: a one-off key already used, or a
 *   reusable key that reached its usage limit
 *
 * The state of a setup key, as NetBird's `state` field ("valid", "expired",
 * "revoked", "overused").
 */
typedef enum {
  NB_MGMT_SETUP_KEY_STATE_VALID,
  NB_MGMT_SETUP_KEY_STATE_EXPIRED,
  NB_MGMT_SETUP_KEY_STATE_REVOKED,
  NB_MGMT_SETUP_KEY_STATE_OVERUSED,
} NbMgmtSetupKeyState;

/**
 * NbMgmtRuleAction:
 * @NB_MGMT_RULE_ACTION_ACCEPT: let the traffic through ("accept")
 * @NB_MGMT_RULE_ACTION_DROP: drop the traffic ("drop")
 *
 * What a policy rule does with the traffic it matches.
 */
typedef enum {
  NB_MGMT_RULE_ACTION_ACCEPT,
  NB_MGMT_RULE_ACTION_DROP,
} NbMgmtRuleAction;

/**
 * NbMgmtProtocol:
 * @NB_MGMT_PROTOCOL_ALL: any protocol ("all"); takes no ports
 * @NB_MGMT_PROTOCOL_TCP: TCP ("tcp")
 * @NB_MGMT_PROTOCOL_UDP: UDP ("udp")
 * @NB_MGMT_PROTOCOL_ICMP: ICMP ("icmp"); takes no ports
 *
 * The protocol a policy rule or firewall rule matches.
 */
typedef enum {
  NB_MGMT_PROTOCOL_ALL,
  NB_MGMT_PROTOCOL_TCP,
  NB_MGMT_PROTOCOL_UDP,
  NB_MGMT_PROTOCOL_ICMP,
} NbMgmtProtocol;

/**
 * NbMgmtDirection:
 * @NB_MGMT_DIRECTION_IN: traffic from the remote peer to this one
 * @NB_MGMT_DIRECTION_OUT: traffic from this peer to the remote one
 *
 * The direction of a firewall rule, seen from the peer that applies it.
 */
typedef enum {
  NB_MGMT_DIRECTION_IN,
  NB_MGMT_DIRECTION_OUT,
} NbMgmtDirection;

/* String forms used by NetBird's REST API. *_to_string() never returns NULL
 * for a valid value; *_from_string() returns FALSE for unknown text. */
const char *nb_mgmt_role_to_string             (NbMgmtRole           role);
gboolean    nb_mgmt_role_from_string           (const char          *text,
                                                NbMgmtRole          *role);
const char *nb_mgmt_setup_key_type_to_string   (NbMgmtSetupKeyType   type);
gboolean    nb_mgmt_setup_key_type_from_string (const char          *text,
                                                NbMgmtSetupKeyType  *type);
const char *nb_mgmt_setup_key_state_to_string  (NbMgmtSetupKeyState  state);
const char *nb_mgmt_rule_action_to_string      (NbMgmtRuleAction     action);
gboolean    nb_mgmt_rule_action_from_string    (const char          *text,
                                                NbMgmtRuleAction    *action);
const char *nb_mgmt_protocol_to_string         (NbMgmtProtocol       protocol);
gboolean    nb_mgmt_protocol_from_string       (const char          *text,
                                                NbMgmtProtocol      *protocol);
const char *nb_mgmt_direction_to_string        (NbMgmtDirection      direction);

/* ------------------------------------------------------------------------ */
/* Accounts                                                                 */
/* ------------------------------------------------------------------------ */

/**
 * NbMgmtAccountSettings:
 * @peer_login_expiration_enabled: peers added by users must log in again
 *   after @peer_login_expiration seconds (NetBird default: on)
 * @peer_login_expiration: seconds, at least 3600 (NetBird default: 24 h)
 * @regular_users_view_blocked: regular users may not see the account's
 *   peers and resources at all
 * @groups_propagation_enabled: a user's auto-groups are applied to its peers
 *   when they change
 * @jwt_groups_enabled: groups are taken from a JWT claim
 * @jwt_groups_claim_name: (nullable): the claim holding them
 * @dns_domain: (nullable): the account's DNS domain; %NULL or "" means
 *   %NB_MGMT_DEFAULT_DNS_DOMAIN (or the server's configured domain)
 *
 * The settings of an account (NetBird's `settings` object).
 */
typedef struct {
  gboolean peer_login_expiration_enabled;
  gint64 peer_login_expiration;
  gboolean regular_users_view_blocked;
  gboolean groups_propagation_enabled;
  gboolean jwt_groups_enabled;
  char *jwt_groups_claim_name;
  char *dns_domain;
} NbMgmtAccountSettings;

/**
 * NbMgmtAccount:
 * @id: the account ID
 * @domain: (nullable): the account's domain (the users' e-mail domain)
 * @domain_category: (nullable): "private", "public"... as NetBird
 * @created_by: (nullable): the ID of the user that created it
 * @created_at: creation time
 * @network_cidr: the account's peer network, e.g. "100.64.0.0/16", inside
 *   100.64.0.0/10
 * @serial: the network serial: bumps on every change to the account's
 *   network state (peers, groups, policies, routes, DNS)
 * @settings: the account's settings
 *
 * An account: the unit of isolation. Nothing of one account is visible from
 * another.
 */
typedef struct {
  char *id;
  char *domain;
  char *domain_category;
  char *created_by;
  gint64 created_at;
  char *network_cidr;
  guint64 serial;
  NbMgmtAccountSettings settings;
} NbMgmtAccount;

void nb_mgmt_account_free (NbMgmtAccount *account);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NbMgmtAccount, nb_mgmt_account_free)

/* ------------------------------------------------------------------------ */
/* Users and personal access tokens                                         */
/* ------------------------------------------------------------------------ */

/**
 * NbMgmtUser:
 * @id: the user ID
 * @account_id: the account it belongs to
 * @name: (nullable): display name
 * @email: (nullable): e-mail address (empty for service users)
 * @role: its role
 * @is_service_user: a service user (API automation, no login, no peers)
 * @is_blocked: blocked users cannot use the API and their peers are cut off
 * @auto_groups: (nullable): groups its new peers join
 * @issued: "api" (created through the API) or "integration"
 * @created_at: creation time
 * @last_login: last API use or login, 0 if never
 *
 * A user of an account (NetBird's user object; `status` is "blocked" when
 * @is_blocked, "active" otherwise).
 */
typedef struct {
  char *id;
  char *account_id;
  char *name;
  char *email;
  NbMgmtRole role;
  gboolean is_service_user;
  gboolean is_blocked;
  char **auto_groups;
  char *issued;
  gint64 created_at;
  gint64 last_login;
} NbMgmtUser;

void nb_mgmt_user_free (NbMgmtUser *user);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NbMgmtUser, nb_mgmt_user_free)

/**
 * NbMgmtPat:
 * @id: the token ID
 * @user_id: the user it authenticates as
 * @name: description given at creation
 * @expiration_date: when it stops working
 * @created_by: the user that created it
 * @created_at: creation time
 * @last_used: last time it authenticated a request, 0 if never
 *
 * A personal access token (NetBird's PersonalAccessToken). The token itself
 * (`nbp_` + 30 characters + 6-character checksum) is shown once when it is
 * created; the store keeps only its hash.
 */
typedef struct {
  char *id;
  char *user_id;
  char *name;
  gint64 expiration_date;
  char *created_by;
  gint64 created_at;
  gint64 last_used;
} NbMgmtPat;

void nb_mgmt_pat_free (NbMgmtPat *pat);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NbMgmtPat, nb_mgmt_pat_free)

/* ------------------------------------------------------------------------ */
/* Peers                                                                    */
/* ------------------------------------------------------------------------ */

/**
 * NbMgmtPeerMeta:
 * @hostname: (nullable): the machine's host name (source of the peer name
 *   and DNS label on registration)
 * @goos: (nullable): "linux", "darwin", "windows"...
 * @kernel: (nullable): kernel name ("Linux")
 * @kernel_version: (nullable): kernel release
 * @core: (nullable): core version
 * @platform: (nullable): architecture ("x86_64")
 * @os: (nullable): distribution or OS name ("Debian GNU/Linux")
 * @os_version: (nullable): its version ("12")
 * @netbird_version: (nullable): the client's version
 * @ui_version: (nullable): the UI's version
 *
 * What a peer tells about its system at login (NetBird's PeerSystemMeta).
 * Every field is free text, truncated by the store to 256 bytes.
 */
typedef struct {
  char *hostname;
  char *goos;
  char *kernel;
  char *kernel_version;
  char *core;
  char *platform;
  char *os;
  char *os_version;
  char *netbird_version;
  char *ui_version;
} NbMgmtPeerMeta;

void            nb_mgmt_peer_meta_clear (NbMgmtPeerMeta       *meta);
void            nb_mgmt_peer_meta_copy  (const NbMgmtPeerMeta *src,
                                         NbMgmtPeerMeta       *dest);

/**
 * NbMgmtPeer:
 * @id: the peer ID
 * @account_id: the account it belongs to
 * @key: its WireGuard public key, base64 (unique across all accounts)
 * @name: its name (from the host name; administrators may rename it)
 * @dns_label: its DNS label, unique in the account (`host`, `host-1`...)
 * @ip: its address in the account network, dotted ("100.64.0.7"); stable
 *   across restarts and logins
 * @meta: its system meta
 * @user_id: (nullable): the user that added it; %NULL for setup-key peers
 * @setup_key_id: (nullable): the setup key it registered with
 * @ssh_enabled: NetBird SSH server enabled
 * @ssh_key: (nullable): its SSH public key
 * @login_expiration_enabled: its login expires (only peers added by users)
 * @last_login: last login time
 * @last_seen: last time it was connected
 * @connected: a sync channel is open now
 * @ephemeral: removed automatically when disconnected for a while
 * @created_at: registration time
 * @groups: (nullable): IDs of the groups it is in (including "All"); filled
 *   by the store on read, ignored on write
 * @login_expired: the expiry job found its login expired (read only; see
 *   nb_mgmt_peer_login_expired() for the live answer)
 *
 * A peer (NetBird's Peer). `login_expired` is computed with
 * nb_mgmt_peer_login_expired(); `hostname`, `os`, `version` come from @meta.
 */
typedef struct {
  char *id;
  char *account_id;
  char *key;
  char *name;
  char *dns_label;
  char *ip;
  NbMgmtPeerMeta meta;
  char *user_id;
  char *setup_key_id;
  gboolean ssh_enabled;
  char *ssh_key;
  gboolean login_expiration_enabled;
  gint64 last_login;
  gint64 last_seen;
  gboolean connected;
  gboolean ephemeral;
  gint64 created_at;
  char **groups;
  gboolean login_expired;
} NbMgmtPeer;

void     nb_mgmt_peer_free          (NbMgmtPeer                  *peer);
gboolean nb_mgmt_peer_login_expired (const NbMgmtPeer            *peer,
                                     const NbMgmtAccountSettings *settings,
                                     gint64                       now);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NbMgmtPeer, nb_mgmt_peer_free)

/* ------------------------------------------------------------------------ */
/* Setup keys                                                               */
/* ------------------------------------------------------------------------ */

/**
 * NbMgmtSetupKey:
 * @id: the setup key ID
 * @account_id: the account it registers peers into
 * @name: its name
 * @masked_key: the key's first characters followed by "****" (what NetBird
 *   returns as `key` except at creation)
 * @type: one-off or reusable
 * @created_at: creation time
 * @updated_at: last change
 * @expires_at: expiry time, 0 if it never expires
 * @revoked: revoked by an administrator
 * @used_times: how many peers it registered
 * @last_used: last registration, 0 if never
 * @usage_limit: most registrations allowed, 0 = unlimited (a one-off key
 *   always has 1)
 * @auto_groups: (nullable): groups its peers join
 * @ephemeral: its peers are ephemeral
 *
 * A setup key. The key itself is random, shown once at creation; the store
 * keeps only a hash of it (SHA-256), so a database leak does not leak usable
 * keys. `valid` is state == VALID; see nb_mgmt_setup_key_get_state().
 */
typedef struct {
  char *id;
  char *account_id;
  char *name;
  char *masked_key;
  NbMgmtSetupKeyType type;
  gint64 created_at;
  gint64 updated_at;
  gint64 expires_at;
  gboolean revoked;
  gint64 used_times;
  gint64 last_used;
  gint64 usage_limit;
  char **auto_groups;
  gboolean ephemeral;
} NbMgmtSetupKey;

void                nb_mgmt_setup_key_free      (NbMgmtSetupKey       *key);
NbMgmtSetupKeyState nb_mgmt_setup_key_get_state (const NbMgmtSetupKey *key,
                                                 gint64                now);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NbMgmtSetupKey, nb_mgmt_setup_key_free)

/* ------------------------------------------------------------------------ */
/* Groups and policies                                                      */
/* ------------------------------------------------------------------------ */

/**
 * NbMgmtGroup:
 * @id: the group ID
 * @account_id: its account
 * @name: its name, unique in the account
 * @issued: "api", "jwt" or "integration"
 * @peers: (nullable): IDs of the peers in it
 *
 * A group of peers (NetBird's Group; `peers_count` is the length of @peers).
 */
typedef struct {
  char *id;
  char *account_id;
  char *name;
  char *issued;
  char **peers;
} NbMgmtGroup;

void nb_mgmt_group_free (NbMgmtGroup *group);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NbMgmtGroup, nb_mgmt_group_free)

/**
 * NbMgmtPortRange:
 * @start: first port, 1..65535
 * @end: last port, @start..65535
 *
 * An inclusive range of ports.
 */
typedef struct {
  guint16 start;
  guint16 end;
} NbMgmtPortRange;

/**
 * NB_MGMT_MAX_RULE_PORTS:
 *
 * How many single ports, and how many port ranges, one policy rule may
 * list. Each port is a firewall rule in the map of every peer the rule
 * reaches, for each peer on the other side: a span of ports is one range,
 * not a list. A longer list is refused as an invalid argument (HTTP 422).
 */
#define NB_MGMT_MAX_RULE_PORTS 1024

/**
 * NbMgmtPolicyRule:
 * @id: the rule ID (the store assigns one on create when %NULL)
 * @name: its name
 * @description: (nullable): free text
 * @enabled: disabled rules are ignored
 * @action: accept or drop
 * @bidirectional: it also matches traffic from destinations to sources
 * @protocol: the protocol it matches
 * @ports: (nullable) (element-type guint16): single ports (TCP/UDP only),
 *   at most %NB_MGMT_MAX_RULE_PORTS
 * @port_ranges: (nullable) (element-type NbMgmtPortRange): port ranges
 *   (TCP/UDP only), at most %NB_MGMT_MAX_RULE_PORTS
 * @sources: (nullable): group IDs of the source side
 * @destinations: (nullable): group IDs of the destination side
 *
 * A rule of a policy (NetBird's PolicyRule).
 */
typedef struct {
  char *id;
  char *name;
  char *description;
  gboolean enabled;
  NbMgmtRuleAction action;
  gboolean bidirectional;
  NbMgmtProtocol protocol;
  GArray *ports;
  GArray *port_ranges;
  char **sources;
  char **destinations;
} NbMgmtPolicyRule;

NbMgmtPolicyRule *nb_mgmt_policy_rule_new  (void);
void              nb_mgmt_policy_rule_free (NbMgmtPolicyRule *rule);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NbMgmtPolicyRule, nb_mgmt_policy_rule_free)

/**
 * NbMgmtPolicy:
 * @id: the policy ID
 * @account_id: its account
 * @name: its name
 * @description: (nullable): free text
 * @enabled: disabled policies are ignored
 * @rules: (element-type NbMgmtPolicyRule): its rules, at least one; frees
 *   them with nb_mgmt_policy_rule_free()
 *
 * An access-control policy (NetBird's Policy). A new account has a
 * "Default" policy: All ↔ All, accept, all protocols.
 */
typedef struct {
  char *id;
  char *account_id;
  char *name;
  char *description;
  gboolean enabled;
  GPtrArray *rules;
} NbMgmtPolicy;

NbMgmtPolicy *nb_mgmt_policy_new  (void);
void          nb_mgmt_policy_free (NbMgmtPolicy *policy);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NbMgmtPolicy, nb_mgmt_policy_free)

/* ------------------------------------------------------------------------ */
/* Routes and DNS                                                           */
/* ------------------------------------------------------------------------ */

/**
 * NbMgmtRoute:
 * @id: the route ID
 * @account_id: its account
 * @network_id: the route's name, 1..40 characters (NetBird's `network_id`)
 * @description: (nullable): free text
 * @enabled: disabled routes are not distributed
 * @peer: (nullable): ID of the routing peer; exactly one of @peer and
 *   @peer_groups is set
 * @peer_groups: (nullable): group IDs whose peers all route it
 * @network: (nullable): the routed network, CIDR ("10.0.0.0/24"); exactly
 *   one of @network and @domains is set
 * @domains: (nullable): domains routed instead of a network
 * @metric: 1..9999, lower is preferred
 * @masquerade: the routing peer masquerades the traffic
 * @groups: group IDs of the peers the route is distributed to (at least one)
 * @keep_route: keep the route after the domain stops resolving
 * @access_control_groups: (nullable): group IDs whose policies limit access
 *
 * A network route (NetBird's Route).
 */
typedef struct {
  char *id;
  char *account_id;
  char *network_id;
  char *description;
  gboolean enabled;
  char *peer;
  char **peer_groups;
  char *network;
  char **domains;
  gint metric;
  gboolean masquerade;
  char **groups;
  gboolean keep_route;
  char **access_control_groups;
} NbMgmtRoute;

void nb_mgmt_route_free (NbMgmtRoute *route);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NbMgmtRoute, nb_mgmt_route_free)

/**
 * NbMgmtNameserver:
 * @ip: the server's address
 * @ns_type: "udp" (the only type NetBird accepts)
 * @port: its port, usually 53
 *
 * One nameserver of a nameserver group.
 */
typedef struct {
  char *ip;
  char *ns_type;
  gint port;
} NbMgmtNameserver;

NbMgmtNameserver *nb_mgmt_nameserver_new  (const char *ip,
                                           const char *ns_type,
                                           gint        port);
void              nb_mgmt_nameserver_free (NbMgmtNameserver *ns);

/**
 * NbMgmtNameserverGroup:
 * @id: the group ID
 * @account_id: its account
 * @name: its name, 1..40 characters
 * @description: (nullable): free text
 * @nameservers: (element-type NbMgmtNameserver): 1..3 servers
 * @enabled: disabled groups are not distributed
 * @groups: peer group IDs it is distributed to (at least one)
 * @primary: resolves every domain (then @domains must be empty)
 * @domains: (nullable): the domains it resolves (when not @primary)
 * @search_domains_enabled: @domains are also search domains
 *
 * A nameserver group (NetBird's NameserverGroup).
 */
typedef struct {
  char *id;
  char *account_id;
  char *name;
  char *description;
  GPtrArray *nameservers;
  gboolean enabled;
  char **groups;
  gboolean primary;
  char **domains;
  gboolean search_domains_enabled;
} NbMgmtNameserverGroup;

NbMgmtNameserverGroup *nb_mgmt_nameserver_group_new  (void);
void                   nb_mgmt_nameserver_group_free (NbMgmtNameserverGroup *group);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NbMgmtNameserverGroup, nb_mgmt_nameserver_group_free)

/**
 * NbMgmtDnsSettings:
 * @disabled_management_groups: (nullable): group IDs whose peers do not get
 *   DNS management from the account
 *
 * The account's DNS settings (NetBird's DNSSettings).
 */
typedef struct {
  char **disabled_management_groups;
} NbMgmtDnsSettings;

void nb_mgmt_dns_settings_free (NbMgmtDnsSettings *settings);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NbMgmtDnsSettings, nb_mgmt_dns_settings_free)

/* ------------------------------------------------------------------------ */
/* Activity events                                                          */
/* ------------------------------------------------------------------------ */

/**
 * NbMgmtEvent:
 * @id: increasing event ID
 * @timestamp: when it happened
 * @activity_code: NetBird's activity code, e.g. "peer.add", "group.add",
 *   "policy.update", "setupkey.peer.add"
 * @initiator_id: (nullable): the user (or peer) that did it; %NULL for the
 *   system
 * @initiator_name: (nullable): that user's name, when a user
 * @initiator_email: (nullable): that user's e-mail, when a user
 * @target_id: (nullable): the object it happened to
 * @meta: (nullable): key/value details (e.g. "name", "ip"), string to string
 *
 * An activity event (NetBird's Event; `activity` is
 * nb_mgmt_activity_describe (@activity_code)).
 */
typedef struct {
  gint64 id;
  gint64 timestamp;
  char *activity_code;
  char *initiator_id;
  char *initiator_name;
  char *initiator_email;
  char *target_id;
  GHashTable *meta;
} NbMgmtEvent;

void        nb_mgmt_event_free        (NbMgmtEvent *event);
const char *nb_mgmt_activity_describe (const char  *activity_code);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NbMgmtEvent, nb_mgmt_event_free)

/**
 * NbMgmtEventFilter:
 * @initiator_id: (nullable): only events done by this user
 * @target_id: (nullable): only events on this object
 * @activity_code: (nullable): only this activity
 * @start: only events at or after this time (0: no bound)
 * @end: only events at or before this time (0: no bound)
 * @search: (nullable): substring of initiator name/e-mail or meta values
 * @offset: skip this many (newest first)
 * @limit: return at most this many, 0 = all
 *
 * A filter for nb_mgmt_store_list_events(). A zeroed struct matches all.
 */
typedef struct {
  const char *initiator_id;
  const char *target_id;
  const char *activity_code;
  gint64 start;
  gint64 end;
  const char *search;
  guint offset;
  guint limit;
} NbMgmtEventFilter;

G_END_DECLS
