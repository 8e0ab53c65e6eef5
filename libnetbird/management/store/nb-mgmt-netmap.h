/* nb-mgmt-netmap.h: a peer's network map, as Management computes it
 *
 * Library-internal API of the management layer (not exported, not in the
 * GIR). The store fills these; the server turns them into the wire message
 * (proto/) and adds what the store does not know: Signal, Relay, STUN and
 * TURN addresses with fresh credentials.
 *
 * Which peers a map holds (NetBird's semantics): for every enabled accept
 * rule of every enabled policy, the peers in its sources and the peers in
 * its destinations get each other (a WireGuard tunnel needs both ends); the
 * firewall rules then say which way traffic may start: out from sources to
 * destinations and in at destinations, both ways when the rule is
 * bidirectional. Drop rules add firewall rules only, never peers. A peer never appears
 * in its own map; peers whose login expired (as the expiry job recorded it)
 * or whose user is blocked are left out of other maps. Routing peers of a
 * route distributed to a peer are in its map too, with the route.
 *
 * Firewall rules: for each rule and each remote peer it covers, one rule per
 * port (or per port range, or one with no port), direction OUT towards
 * destinations and IN from sources (both for bidirectional rules), sorted
 * (drop before accept, then by IP, direction, protocol, port) and
 * deduplicated.
 *
 * DNS zone: the account's domain with an A record for the peer itself and
 * every remote peer in the map, nothing about the others.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#if !defined(NB_COMPILATION)
#error "The management store is library-internal: build with NB_COMPILATION."
#endif

#include <glib.h>
#include "nb-mgmt-records.h"

G_BEGIN_DECLS

/**
 * NbMgmtRemotePeer:
 * @id: the remote peer's ID
 * @key: its WireGuard public key, base64
 * @ip: its address, dotted
 * @allowed_ips: (element-type utf8): what to route to it: its address /32,
 *   then the networks it routes for this peer
 * @fqdn: its FQDN (`label.domain`)
 * @ssh_enabled: it runs NetBird SSH
 * @ssh_key: (nullable): its SSH public key
 *
 * A peer this peer may connect to.
 */
typedef struct {
  char *id;
  char *key;
  char *ip;
  GPtrArray *allowed_ips;
  char *fqdn;
  gboolean ssh_enabled;
  char *ssh_key;
} NbMgmtRemotePeer;

/**
 * NbMgmtFirewallRule:
 * @peer_ip: the remote peer's address
 * @direction: in (from it) or out (to it)
 * @action: accept or drop
 * @protocol: all, tcp, udp or icmp
 * @port: a single port, 0 when none (or when @port_range is used)
 * @port_range: a port range, {0, 0} when none
 * @policy_id: the policy it comes from
 *
 * One firewall rule a peer applies (NetBird's FirewallRule).
 */
typedef struct {
  char *peer_ip;
  NbMgmtDirection direction;
  NbMgmtRuleAction action;
  NbMgmtProtocol protocol;
  guint16 port;
  NbMgmtPortRange port_range;
  char *policy_id;
} NbMgmtFirewallRule;

/**
 * NbMgmtRouteEntry:
 * @id: the route ID (unique per routing peer: "routeid:peerid" when a
 *   route has peer groups)
 * @network_id: the route's name
 * @network: (nullable): routed CIDR
 * @domains: (nullable): routed domains
 * @peer_key: the routing peer's WireGuard public key
 * @metric: lower is preferred
 * @masquerade: the routing peer masquerades
 * @keep_route: keep after the domain stops resolving
 *
 * A route a peer installs (NetBird's Route in the network map). A peer that
 * routes a network gets the entry too, with its own key (to set up
 * forwarding).
 */
typedef struct {
  char *id;
  char *network_id;
  char *network;
  char **domains;
  char *peer_key;
  gint metric;
  gboolean masquerade;
  gboolean keep_route;
} NbMgmtRouteEntry;

/**
 * NbMgmtDnsRecord:
 * @name: the FQDN
 * @type: 1 (A)
 * @class_: "IN"
 * @ttl: seconds
 * @rdata: the address
 *
 * One record of the account's DNS zone.
 */
typedef struct {
  char *name;
  gint type;
  char *class_;
  gint ttl;
  char *rdata;
} NbMgmtDnsRecord;

/**
 * NbMgmtNetworkMap:
 * @serial: the account's network serial when it was computed
 * @account_id: the account
 * @peer_id: whose map it is
 * @peer_key: that peer's WireGuard public key
 * @address: its address with the network prefix ("100.64.0.7/16")
 * @fqdn: its FQDN
 * @dns_domain: the account's DNS domain
 * @remote_peers: (element-type NbMgmtRemotePeer): sorted by IP
 * @firewall_rules: (element-type NbMgmtFirewallRule): sorted as above
 * @routes: (element-type NbMgmtRouteEntry): sorted by ID
 * @dns_enabled: DNS management on for this peer (not in a disabled group)
 * @nameserver_groups: (element-type NbMgmtNameserverGroup): groups
 *   distributed to it
 * @dns_records: (element-type NbMgmtDnsRecord): the zone @dns_domain,
 *   sorted by name
 * @hash: a 64-bit hash of everything above except @serial: two maps with
 *   the same content have the same hash
 *
 * A peer's network map.
 */
typedef struct {
  guint64 serial;
  char *account_id;
  char *peer_id;
  char *peer_key;
  char *address;
  char *fqdn;
  char *dns_domain;
  GPtrArray *remote_peers;
  GPtrArray *firewall_rules;
  GPtrArray *routes;
  gboolean dns_enabled;
  GPtrArray *nameserver_groups;
  GPtrArray *dns_records;
  guint64 hash;
} NbMgmtNetworkMap;

void  nb_mgmt_network_map_free    (NbMgmtNetworkMap       *map);
/* A canonical JSON form of the map (field names as NetBird's proto, snake
 * case). For hashing, tests and the benchmark's byte counts; the wire format
 * is proto/'s business. Transfer full; @out_len (nullable) gets its length. */
char *nb_mgmt_network_map_to_json (const NbMgmtNetworkMap *map,
                                   gsize                  *out_len);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NbMgmtNetworkMap, nb_mgmt_network_map_free)

G_END_DECLS
