/* nb-mgmt-netmap-private.h: the indexed snapshot of an account and the
 * compact maps computed from it, shared by the network-map files
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#include "nb-mgmt-store-private.h"

G_BEGIN_DECLS

#define DNS_TTL 300

typedef struct {
  char *id;
  char *key;
  char *ip_text;
  char *fqdn;
  char *ssh_key;
  char *user_id;                /* nullable: setup-key peers */
  guint32 ip;
  gboolean ssh_enabled;
  gboolean excluded;            /* login expired or user blocked */
  guint64 entry_hash;           /* of what others' maps say about it */
  GArray *groups;               /* guint32 group indexes */
} SnapPeer;

typedef struct {
  char *id;
  GArray *peers;                /* guint32 peer indexes, by address */
  GArray *rule_refs;            /* RuleRef: rules naming this group */
  GArray *route_dist;           /* guint32 route indexes distributed to it */
  GArray *ns_dist;              /* guint32 nameserver-group indexes */
  gboolean dns_disabled;
} SnapGroup;

typedef struct {
  guint32 rule;
  guint32 side;                 /* 0: sources, 1: destinations */
} RuleRef;

typedef struct {
  char *policy_id;
  guint32 policy_rank;          /* order of policy_id among the account's */
  guint64 policy_hash;          /* of policy_id */
  NbMgmtRuleAction action;
  NbMgmtProtocol protocol;
  gboolean bidirectional;
  GArray *ports;                /* guint16 */
  GArray *ranges;               /* NbMgmtPortRange */
  GArray *sides[2];             /* guint32 group indexes */
} SnapRule;

typedef struct {
  NbMgmtRoute *route;
  GArray *routers;              /* guint32 peer indexes */
  GArray *router_groups;        /* guint32 group indexes (peer_groups) */
  GArray *dist;                 /* guint32 group indexes */
} SnapRoute;

struct _NbMgmtSnapshot {
  gatomicrefcount ref;
  guint64 serial;
  char *account_id;
  char *domain;
  guint prefix;
  GPtrArray *peers;             /* SnapPeer */
  GHashTable *peer_index;       /* id -> index + 1 */
  GPtrArray *groups;            /* SnapGroup */
  GHashTable *group_index;      /* id -> index + 1 */
  GPtrArray *rules;             /* SnapRule */
  GPtrArray *routes;            /* SnapRoute */
  GPtrArray *ns_groups;         /* NbMgmtNameserverGroup */
  GArray *ns_hashes;            /* guint64 per ns group */
  GArray *peer_routes;          /* per peer: routes it routes (guint32 list in a GArray*) */
};

typedef struct {
  guint32 peer;
  guint8 direction;
  guint8 action;
  guint8 protocol;
  guint16 port;
  guint16 range_start;
  guint16 range_end;
  guint32 rule;
  guint32 policy_rank;          /* copied from the rule: sorting needs no lookup */
} CompactRule;

typedef struct {
  guint32 route;
  guint32 router;
} CompactRoute;

/* Reusable buffers for computing one compact map. */
typedef struct {
  guint32 *seen;                /* per peer: stamp when in the map */
  guint32 *rule_seen;           /* per rule: stamp * 2 + side bits */
  guint32 stamp;
  GArray *remote;               /* guint32 */
  GArray *fw;                   /* CompactRule */
  GArray *routes;               /* CompactRoute */
  GArray *ns;                   /* guint32 */
  guint32 *pos;                 /* per peer: its place in remote, while sorting */
  GArray *fw_sorted;            /* CompactRule: where the firewall rules are sorted to */
  GArray *buckets;              /* guint32: start of each (action, peer) bucket */
  gboolean dns_enabled;
  guint64 hash;
} Scratch;

/* ---- Hashing --------------------------------------------------------------
 * Not cryptographic: a 64-bit mix good enough to tell maps apart. */

static inline guint64
nb_mgmt_mix (guint64 h,
     guint64 v)
{
  h ^= v * 0x9e3779b97f4a7c15ull;
  h = (h << 27) | (h >> 37);
  return h * 0xc2b2ae3d27d4eb4full + 0x165667b19e3779f9ull;
}

static inline guint64
nb_mgmt_hash_string (guint64     h,
             const char *s)
{
  guint64 f = 0xcbf29ce484222325ull;

  for (const guchar *p = (const guchar *) (s != NULL ? s : ""); *p != '\0'; p++)
    f = (f ^ *p) * 0x100000001b3ull;
  return nb_mgmt_mix (h, f ^ (s == NULL ? 1 : 0));
}

/* A map whose strings are borrowed from the snapshot it was computed from,
 * in buffers reused from one map to the next (nb-mgmt-netmap.c): valid
 * until the next nb_mgmt_netmap_view() on the same MapView, and only while
 * the snapshot lives. */
typedef struct {
  NbMgmtNetworkMap map;
  GArray *remotes;              /* NbMgmtRemotePeer */
  GArray *rules;                /* NbMgmtFirewallRule */
  GArray *records;              /* NbMgmtDnsRecord */
  GArray *routes;               /* NbMgmtRouteEntry */
  GPtrArray *allowed;           /* GPtrArray per remote peer slot, reused */
  GStringChunk *strings;        /* the few strings made for the map */
} MapView;

/* nb-mgmt-snapshot.c */
NbMgmtSnapshot   *nb_mgmt_snapshot_ref        (NbMgmtSnapshot       *snapshot);
/* The snapshot of the account's current state, loaded again when the serial
 * moved; owned by the store's cache. */
NbMgmtSnapshot   *nb_mgmt_snapshot_get        (NbMgmtStore          *store,
                                               const char           *account_id,
                                               GError              **error);
GArray           *nb_mgmt_u32_array           (void);

/* nb-mgmt-netmap.c */
void              nb_mgmt_scratch_init        (Scratch              *sc,
                                               const NbMgmtSnapshot *s);
void              nb_mgmt_scratch_clear       (Scratch              *sc);
/* Computes peer @x's map into @sc (compact) and its hash. */
void              nb_mgmt_netmap_compute      (const NbMgmtSnapshot *s,
                                               guint32               x,
                                               Scratch              *sc);
NbMgmtNetworkMap *nb_mgmt_netmap_materialize  (const NbMgmtSnapshot *s,
                                               guint32               x,
                                               const Scratch        *sc);
void              nb_mgmt_map_view_init       (MapView              *view);
void              nb_mgmt_map_view_clear      (MapView              *view);
/* The same map as nb_mgmt_netmap_materialize(), borrowed: see MapView. */
const NbMgmtNetworkMap *nb_mgmt_netmap_view   (const NbMgmtSnapshot *s,
                                               guint32               x,
                                               const Scratch        *sc,
                                               MapView              *view);

G_END_DECLS
