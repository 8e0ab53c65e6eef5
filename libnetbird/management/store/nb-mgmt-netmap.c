/* nb-mgmt-netmap.c: network maps, computed from a snapshot of an account
 *
 * The store loads an account's network state once per serial into a
 * snapshot with integer indexes (peers sorted by address, groups, rules,
 * routes, and for every group the rules that name it). A peer's map then
 * costs only what it contains: for each of the peer's groups, the rules
 * naming that group, and for each such rule the members of the groups on
 * the other side. Computing every map is linear in the total size of the
 * maps, never a scan of all peers per peer.
 *
 * Maps are first computed in a compact form (peer indexes and small
 * integers, into reused buffers) and hashed; only maps that are handed out
 * are turned into NbMgmtNetworkMap records with strings.
 *
 * Change detection: the store remembers the hash of the map each peer was
 * last given. A change marks the account dirty: with the peers it concerns
 * when it is about one peer (registration, deletion, update), for everyone
 * otherwise. Collecting updates recomputes only the candidates: the changed
 * peer and the peers that saw it before the change or see it after, among
 * those that were given a map.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-mgmt-store"

#include <stdlib.h>
#include <string.h>

#include "nb-mgmt-store-private.h"

#define DNS_TTL 300

typedef struct {
  char *id;
  char *key;
  char *ip_text;
  char *fqdn;
  char *ssh_key;
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
  gboolean dns_enabled;
  guint64 hash;
} Scratch;

/* ---- Hashing --------------------------------------------------------------
 * Not cryptographic: a 64-bit mix good enough to tell maps apart. */

static inline guint64
mix (guint64 h,
     guint64 v)
{
  h ^= v * 0x9e3779b97f4a7c15ull;
  h = (h << 27) | (h >> 37);
  return h * 0xc2b2ae3d27d4eb4full + 0x165667b19e3779f9ull;
}

static guint64
hash_string (guint64     h,
             const char *s)
{
  guint64 f = 0xcbf29ce484222325ull;

  for (const guchar *p = (const guchar *) (s != NULL ? s : ""); *p != '\0'; p++)
    f = (f ^ *p) * 0x100000001b3ull;
  return mix (h, f ^ (s == NULL ? 1 : 0));
}

/* ---- Snapshot ------------------------------------------------------------ */

static void
snap_peer_free (SnapPeer *p)
{
  g_free (p->id);
  g_free (p->key);
  g_free (p->ip_text);
  g_free (p->fqdn);
  g_free (p->ssh_key);
  g_array_unref (p->groups);
  g_free (p);
}

static void
snap_group_free (SnapGroup *g)
{
  g_free (g->id);
  g_array_unref (g->peers);
  g_array_unref (g->rule_refs);
  g_array_unref (g->route_dist);
  g_array_unref (g->ns_dist);
  g_free (g);
}

static void
snap_rule_free (SnapRule *r)
{
  g_free (r->policy_id);
  g_clear_pointer (&r->ports, g_array_unref);
  g_clear_pointer (&r->ranges, g_array_unref);
  g_array_unref (r->sides[0]);
  g_array_unref (r->sides[1]);
  g_free (r);
}

static void
snap_route_free (SnapRoute *r)
{
  nb_mgmt_route_free (r->route);
  g_array_unref (r->routers);
  g_array_unref (r->dist);
  g_free (r);
}

static NbMgmtSnapshot *
snapshot_ref (NbMgmtSnapshot *s)
{
  g_atomic_ref_count_inc (&s->ref);
  return s;
}

void
nb_mgmt_snapshot_free (NbMgmtSnapshot *s)
{
  if (s == NULL || !g_atomic_ref_count_dec (&s->ref))
    return;
  g_free (s->account_id);
  g_free (s->domain);
  g_ptr_array_unref (s->peers);
  g_hash_table_unref (s->peer_index);
  g_ptr_array_unref (s->groups);
  g_ptr_array_unref (s->rules);
  g_ptr_array_unref (s->routes);
  g_ptr_array_unref (s->ns_groups);
  g_array_unref (s->ns_hashes);
  for (guint i = 0; i < s->peer_routes->len; i++)
    {
      GArray *a = g_array_index (s->peer_routes, GArray *, i);
      if (a != NULL)
        g_array_unref (a);
    }
  g_array_unref (s->peer_routes);
  g_free (s);
}

static GArray *
u32_array (void)
{
  return g_array_new (FALSE, FALSE, sizeof (guint32));
}

static GArray *
group_indexes (GHashTable   *group_index,
               char * const *ids)
{
  GArray *a = u32_array ();

  for (guint i = 0; ids != NULL && ids[i] != NULL; i++)
    {
      gpointer v = g_hash_table_lookup (group_index, ids[i]);
      if (v != NULL)
        {
          guint32 idx = GPOINTER_TO_UINT (v) - 1;
          g_array_append_val (a, idx);
        }
    }
  return a;
}

static NbMgmtSnapshot *
snapshot_load (NbMgmtStore *store,
               const char  *account_id,
               GError     **error)
{
  g_autoptr(NbMgmtAccount) account = NULL;
  g_autoptr(GPtrArray) policies = NULL;
  g_autoptr(GPtrArray) routes = NULL;
  g_autoptr(NbMgmtDnsSettings) dns = NULL;
  g_autoptr(GHashTable) group_index = g_hash_table_new (g_str_hash, g_str_equal);
  NbMgmtSnapshot *s;
  sqlite3_stmt *stmt;
  gboolean has_row;
  gint64 now = nb_mgmt_store_now (store);

  account = nb_mgmt_store_get_account (store, account_id, error);
  if (account == NULL)
    return NULL;
  policies = nb_mgmt_store_list_policies (store, account_id, error);
  if (policies == NULL)
    return NULL;
  routes = nb_mgmt_store_list_routes (store, account_id, error);
  if (routes == NULL)
    return NULL;
  dns = nb_mgmt_store_get_dns_settings (store, account_id, error);
  if (dns == NULL)
    return NULL;

  s = g_new0 (NbMgmtSnapshot, 1);
  g_atomic_ref_count_init (&s->ref);
  s->serial = account->serial;
  s->account_id = g_strdup (account_id);
  s->domain = g_strdup (account->settings.dns_domain != NULL && *account->settings.dns_domain != '\0'
                        ? account->settings.dns_domain : store->default_dns_domain);
  s->prefix = 16;
  {
    const char *slash = strchr (account->network_cidr, '/');
    if (slash != NULL)
      s->prefix = (guint) g_ascii_strtoull (slash + 1, NULL, 10);
  }
  s->peers = g_ptr_array_new_with_free_func ((GDestroyNotify) snap_peer_free);
  s->peer_index = g_hash_table_new (g_str_hash, g_str_equal);
  s->groups = g_ptr_array_new_with_free_func ((GDestroyNotify) snap_group_free);
  s->rules = g_ptr_array_new_with_free_func ((GDestroyNotify) snap_rule_free);
  s->routes = g_ptr_array_new_with_free_func ((GDestroyNotify) snap_route_free);
  s->ns_groups = nb_mgmt_store_list_nameserver_groups (store, account_id, error);
  s->ns_hashes = g_array_new (FALSE, FALSE, sizeof (guint64));
  s->peer_routes = g_array_new (FALSE, TRUE, sizeof (GArray *));
  if (s->ns_groups == NULL)
    {
      s->ns_groups = g_ptr_array_new ();
      nb_mgmt_snapshot_free (s);
      return NULL;
    }

  /* Peers, by address. */
  stmt = nb_mgmt_store_prepare (store,
                                "SELECT p.id, p.key, p.dns_label, p.ip, p.ssh_enabled, p.ssh_key, p.user_id, "
                                "p.login_expiration_enabled, p.last_login, coalesce(u.is_blocked, 0) "
                                "FROM peers p LEFT JOIN users u ON u.id = p.user_id "
                                "WHERE p.account_id = ?1 ORDER BY p.ip", error);
  if (stmt == NULL)
    goto fail;
  nb_mgmt_bind_text (stmt, 1, account_id);
  while (TRUE)
    {
      SnapPeer *p;
      gboolean user_peer, expired;

      if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
        goto fail;
      if (!has_row)
        break;
      p = g_new0 (SnapPeer, 1);
      p->id = nb_mgmt_column_dup (stmt, 0);
      p->key = nb_mgmt_column_dup (stmt, 1);
      p->fqdn = g_strdup_printf ("%s.%s", nb_mgmt_column_text (stmt, 2), s->domain);
      p->ip = (guint32) sqlite3_column_int64 (stmt, 3);
      p->ip_text = nb_mgmt_ip_to_string (p->ip);
      p->ssh_enabled = sqlite3_column_int (stmt, 4);
      p->ssh_key = nb_mgmt_column_dup (stmt, 5);
      user_peer = sqlite3_column_type (stmt, 6) != SQLITE_NULL;
      expired = user_peer && sqlite3_column_int (stmt, 7) &&
                account->settings.peer_login_expiration_enabled &&
                sqlite3_column_int64 (stmt, 8) + account->settings.peer_login_expiration <= now;
      p->excluded = expired || sqlite3_column_int (stmt, 9) != 0;
      p->groups = u32_array ();
      p->entry_hash = hash_string (hash_string (hash_string (hash_string (mix (0, p->ip), p->id), p->key),
                                                p->fqdn), p->ssh_key) ^ (guint64) p->ssh_enabled;
      g_hash_table_insert (s->peer_index, p->id, GUINT_TO_POINTER (s->peers->len + 1));
      g_ptr_array_add (s->peers, p);
    }
  g_array_set_size (s->peer_routes, s->peers->len);

  /* Groups and memberships. */
  stmt = nb_mgmt_store_prepare (store, "SELECT id FROM groups WHERE account_id = ?1 ORDER BY id", error);
  if (stmt == NULL)
    goto fail;
  nb_mgmt_bind_text (stmt, 1, account_id);
  while (TRUE)
    {
      SnapGroup *g;

      if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
        goto fail;
      if (!has_row)
        break;
      g = g_new0 (SnapGroup, 1);
      g->id = nb_mgmt_column_dup (stmt, 0);
      g->peers = u32_array ();
      g->rule_refs = g_array_new (FALSE, FALSE, sizeof (RuleRef));
      g->route_dist = u32_array ();
      g->ns_dist = u32_array ();
      g_hash_table_insert (group_index, g->id, GUINT_TO_POINTER (s->groups->len + 1));
      g_ptr_array_add (s->groups, g);
    }
  stmt = nb_mgmt_store_prepare (store,
                                "SELECT gp.group_id, gp.peer_id FROM group_peers gp JOIN peers p ON p.id = gp.peer_id "
                                "WHERE p.account_id = ?1 ORDER BY p.ip", error);
  if (stmt == NULL)
    goto fail;
  nb_mgmt_bind_text (stmt, 1, account_id);
  while (TRUE)
    {
      gpointer gi, pi;

      if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
        goto fail;
      if (!has_row)
        break;
      gi = g_hash_table_lookup (group_index, nb_mgmt_column_text (stmt, 0));
      pi = g_hash_table_lookup (s->peer_index, nb_mgmt_column_text (stmt, 1));
      if (gi != NULL && pi != NULL)
        {
          guint32 g = GPOINTER_TO_UINT (gi) - 1, p = GPOINTER_TO_UINT (pi) - 1;
          g_array_append_val (((SnapGroup *) s->groups->pdata[g])->peers, p);
          g_array_append_val (((SnapPeer *) s->peers->pdata[p])->groups, g);
        }
    }

  /* Rules of enabled policies, indexed by the groups they name. */
  for (guint i = 0; i < policies->len; i++)
    {
      NbMgmtPolicy *policy = policies->pdata[i];

      if (!policy->enabled)
        continue;
      for (guint j = 0; j < policy->rules->len; j++)
        {
          NbMgmtPolicyRule *rule = policy->rules->pdata[j];
          SnapRule *r;
          guint32 ri;

          if (!rule->enabled)
            continue;
          r = g_new0 (SnapRule, 1);
          r->policy_id = g_strdup (policy->id);
          r->action = rule->action;
          r->protocol = rule->protocol;
          r->bidirectional = rule->bidirectional;
          if (rule->protocol == NB_MGMT_PROTOCOL_TCP || rule->protocol == NB_MGMT_PROTOCOL_UDP)
            {
              r->ports = rule->ports != NULL ? g_array_ref (rule->ports) : NULL;
              r->ranges = rule->port_ranges != NULL ? g_array_ref (rule->port_ranges) : NULL;
            }
          r->sides[0] = group_indexes (group_index, rule->sources);
          r->sides[1] = group_indexes (group_index, rule->destinations);
          ri = s->rules->len;
          g_ptr_array_add (s->rules, r);
          for (guint side = 0; side < 2; side++)
            for (guint k = 0; k < r->sides[side]->len; k++)
              {
                SnapGroup *g = s->groups->pdata[g_array_index (r->sides[side], guint32, k)];
                RuleRef ref = { ri, side };
                g_array_append_val (g->rule_refs, ref);
              }
        }
    }

  /* Enabled routes: their routing peers and distribution groups. */
  for (guint i = 0; i < routes->len; i++)
    {
      NbMgmtRoute *route = routes->pdata[i];
      SnapRoute *r;
      guint32 ri;

      if (!route->enabled)
        continue;
      r = g_new0 (SnapRoute, 1);
      r->route = g_steal_pointer (&routes->pdata[i]);
      r->routers = u32_array ();
      r->dist = group_indexes (group_index, route->groups);
      ri = s->routes->len;
      if (route->peer != NULL)
        {
          gpointer pi = g_hash_table_lookup (s->peer_index, route->peer);
          if (pi != NULL)
            {
              guint32 p = GPOINTER_TO_UINT (pi) - 1;
              g_array_append_val (r->routers, p);
            }
        }
      else
        {
          g_autoptr(GArray) pg = group_indexes (group_index, route->peer_groups);
          for (guint k = 0; k < pg->len; k++)
            {
              SnapGroup *g = s->groups->pdata[g_array_index (pg, guint32, k)];
              g_array_append_vals (r->routers, g->peers->data, g->peers->len);
            }
        }
      for (guint k = 0; k < r->dist->len; k++)
        g_array_append_val (((SnapGroup *) s->groups->pdata[g_array_index (r->dist, guint32, k)])->route_dist, ri);
      for (guint k = 0; k < r->routers->len; k++)
        {
          guint32 p = g_array_index (r->routers, guint32, k);
          GArray **slot = &g_array_index (s->peer_routes, GArray *, p);
          if (*slot == NULL)
            *slot = u32_array ();
          g_array_append_val (*slot, ri);
        }
      g_ptr_array_add (s->routes, r);
    }

  /* Nameserver groups and DNS settings. */
  for (guint i = 0; i < s->ns_groups->len; i++)
    {
      NbMgmtNameserverGroup *ns = s->ns_groups->pdata[i];
      guint64 h = hash_string (hash_string (0, ns->id), ns->name);

      h = mix (h, ns->primary * 2 + ns->search_domains_enabled);
      for (guint k = 0; k < ns->nameservers->len; k++)
        {
          NbMgmtNameserver *n = ns->nameservers->pdata[k];
          h = mix (hash_string (hash_string (h, n->ip), n->ns_type), n->port);
        }
      for (guint k = 0; ns->domains != NULL && ns->domains[k] != NULL; k++)
        h = hash_string (h, ns->domains[k]);
      g_array_append_val (s->ns_hashes, h);
      if (!ns->enabled)
        continue;
      {
        g_autoptr(GArray) dist = group_indexes (group_index, ns->groups);
        for (guint k = 0; k < dist->len; k++)
          g_array_append_val (((SnapGroup *) s->groups->pdata[g_array_index (dist, guint32, k)])->ns_dist, i);
      }
    }
  {
    g_autoptr(GArray) disabled = group_indexes (group_index, dns->disabled_management_groups);
    for (guint k = 0; k < disabled->len; k++)
      ((SnapGroup *) s->groups->pdata[g_array_index (disabled, guint32, k)])->dns_disabled = TRUE;
  }
  return s;

fail:
  nb_mgmt_snapshot_free (s);
  return NULL;
}

/* The snapshot of the account's current state, loaded again when the serial
 * moved. */
static NbMgmtSnapshot *
snapshot_get (NbMgmtStore *store,
              const char  *account_id,
              GError     **error)
{
  NbMgmtSnapshot *s = g_hash_table_lookup (store->snapshots, account_id);
  sqlite3_stmt *stmt;
  gboolean has_row;
  guint64 serial;

  stmt = nb_mgmt_store_prepare (store, "SELECT serial FROM accounts WHERE id = ?1", error);
  if (stmt == NULL)
    return NULL;
  nb_mgmt_bind_text (stmt, 1, account_id);
  if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
    return NULL;
  if (!has_row)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_NOT_FOUND, "Account %s not found",
                   account_id != NULL ? account_id : "(none)");
      return NULL;
    }
  serial = (guint64) sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);
  if (s != NULL && s->serial == serial)
    return s;
  s = snapshot_load (store, account_id, error);
  if (s == NULL)
    return NULL;
  g_hash_table_replace (store->snapshots, g_strdup (account_id), s);
  return s;
}

/* ---- Compact maps -------------------------------------------------------- */

static void
scratch_init (Scratch              *sc,
              const NbMgmtSnapshot *s)
{
  sc->seen = g_new0 (guint32, MAX (s->peers->len, 1));
  sc->rule_seen = g_new0 (guint32, MAX (s->rules->len, 1));
  sc->stamp = 0;
  sc->remote = u32_array ();
  sc->fw = g_array_new (FALSE, FALSE, sizeof (CompactRule));
  sc->routes = g_array_new (FALSE, FALSE, sizeof (CompactRoute));
  sc->ns = u32_array ();
}

static void
scratch_clear (Scratch *sc)
{
  g_free (sc->seen);
  g_free (sc->rule_seen);
  g_array_unref (sc->remote);
  g_array_unref (sc->fw);
  g_array_unref (sc->routes);
  g_array_unref (sc->ns);
}

static inline void
add_remote (Scratch *sc,
            guint32  q)
{
  if (sc->seen[q] != sc->stamp)
    {
      sc->seen[q] = sc->stamp;
      g_array_append_val (sc->remote, q);
    }
}

static void
add_fw (Scratch        *sc,
        const SnapRule *r,
        guint32         rule,
        guint32         q,
        NbMgmtDirection direction)
{
  CompactRule c = {
    .peer = q, .direction = direction, .action = r->action, .protocol = r->protocol, .rule = rule,
  };
  gboolean any = FALSE;

  for (guint i = 0; r->ports != NULL && i < r->ports->len; i++)
    {
      c.port = g_array_index (r->ports, guint16, i);
      g_array_append_val (sc->fw, c);
      any = TRUE;
    }
  c.port = 0;
  for (guint i = 0; r->ranges != NULL && i < r->ranges->len; i++)
    {
      const NbMgmtPortRange *range = &g_array_index (r->ranges, NbMgmtPortRange, i);
      c.range_start = range->start;
      c.range_end = range->end;
      g_array_append_val (sc->fw, c);
      any = TRUE;
    }
  if (!any)
    {
      c.range_start = c.range_end = 0;
      g_array_append_val (sc->fw, c);
    }
}

static int
cmp_u32 (gconstpointer a,
         gconstpointer b)
{
  guint32 x = *(const guint32 *) a, y = *(const guint32 *) b;
  return x < y ? -1 : x > y;
}

static const NbMgmtSnapshot *sort_snapshot;

static int
cmp_fw (gconstpointer a,
        gconstpointer b)
{
  const CompactRule *x = a, *y = b;
  const SnapRule *rx, *ry;
  int c;

  /* Drop before accept, then by address (peer indexes follow addresses),
   * direction, protocol, port, range, policy. */
  if (x->action != y->action)
    return x->action == NB_MGMT_RULE_ACTION_DROP ? -1 : 1;
  if (x->peer != y->peer)
    return x->peer < y->peer ? -1 : 1;
  if (x->direction != y->direction)
    return x->direction < y->direction ? -1 : 1;
  if (x->protocol != y->protocol)
    return x->protocol < y->protocol ? -1 : 1;
  if (x->port != y->port)
    return x->port < y->port ? -1 : 1;
  if (x->range_start != y->range_start)
    return x->range_start < y->range_start ? -1 : 1;
  if (x->range_end != y->range_end)
    return x->range_end < y->range_end ? -1 : 1;
  rx = sort_snapshot->rules->pdata[x->rule];
  ry = sort_snapshot->rules->pdata[y->rule];
  c = strcmp (rx->policy_id, ry->policy_id);
  return c;
}

static gboolean
fw_same (const CompactRule      *x,
         const CompactRule      *y,
         const NbMgmtSnapshot   *s)
{
  return x->action == y->action && x->peer == y->peer && x->direction == y->direction &&
         x->protocol == y->protocol && x->port == y->port && x->range_start == y->range_start &&
         x->range_end == y->range_end &&
         strcmp (((SnapRule *) s->rules->pdata[x->rule])->policy_id,
                 ((SnapRule *) s->rules->pdata[y->rule])->policy_id) == 0;
}

static int
cmp_route (gconstpointer a,
           gconstpointer b)
{
  const CompactRoute *x = a, *y = b;

  if (x->route != y->route)
    return x->route < y->route ? -1 : 1;
  return x->router < y->router ? -1 : x->router > y->router;
}

/* Computes peer @x's map into @sc (compact) and its hash. */
static void
compute_compact (const NbMgmtSnapshot *s,
                 guint32               x,
                 Scratch              *sc)
{
  const SnapPeer *me = s->peers->pdata[x];
  guint64 h;
  guint n;

  sc->stamp++;
  if (sc->stamp == 0)
    {
      /* Wrapped: clear the stamps once every 2^32 maps. */
      memset (sc->seen, 0, sizeof (guint32) * MAX (s->peers->len, 1));
      memset (sc->rule_seen, 0, sizeof (guint32) * MAX (s->rules->len, 1));
      sc->stamp = 1;
    }
  g_array_set_size (sc->remote, 0);
  g_array_set_size (sc->fw, 0);
  g_array_set_size (sc->routes, 0);
  g_array_set_size (sc->ns, 0);
  sc->dns_enabled = TRUE;
  sc->seen[x] = sc->stamp;      /* never in its own map */

  for (guint gi = 0; gi < me->groups->len; gi++)
    {
      const SnapGroup *g = s->groups->pdata[g_array_index (me->groups, guint32, gi)];

      if (g->dns_disabled)
        sc->dns_enabled = FALSE;
      for (guint k = 0; k < g->rule_refs->len; k++)
        {
          const RuleRef *ref = &g_array_index (g->rule_refs, RuleRef, k);
          const SnapRule *r = s->rules->pdata[ref->rule];
          guint32 bit = 1u << ref->side;
          guint32 *mark = &sc->rule_seen[ref->rule];
          const GArray *other;

          /* Once per (rule, side) however many of its groups we are in. */
          if ((*mark >> 2) == (sc->stamp & 0x3fffffffu) && (*mark & bit))
            continue;
          if ((*mark >> 2) != (sc->stamp & 0x3fffffffu))
            *mark = (sc->stamp & 0x3fffffffu) << 2;
          *mark |= bit;

          other = r->sides[1 - ref->side];
          for (guint o = 0; o < other->len; o++)
            {
              const SnapGroup *og = s->groups->pdata[g_array_index (other, guint32, o)];

              for (guint m = 0; m < og->peers->len; m++)
                {
                  guint32 q = g_array_index (og->peers, guint32, m);

                  if (q == x || ((SnapPeer *) s->peers->pdata[q])->excluded)
                    continue;
                  if (r->action == NB_MGMT_RULE_ACTION_ACCEPT)
                    add_remote (sc, q);
                  /* Sources send out to destinations; destinations take it in.
                   * A bidirectional rule opens both ways. */
                  add_fw (sc, r, ref->rule, q, ref->side == 0 ? NB_MGMT_DIRECTION_OUT : NB_MGMT_DIRECTION_IN);
                  if (r->bidirectional)
                    add_fw (sc, r, ref->rule, q, ref->side == 0 ? NB_MGMT_DIRECTION_IN : NB_MGMT_DIRECTION_OUT);
                }
            }
        }

      /* Routes distributed to this group. */
      for (guint k = 0; k < g->route_dist->len; k++)
        {
          guint32 ri = g_array_index (g->route_dist, guint32, k);
          const SnapRoute *route = s->routes->pdata[ri];

          for (guint m = 0; m < route->routers->len; m++)
            {
              guint32 q = g_array_index (route->routers, guint32, m);
              CompactRoute cr = { ri, q };

              if (q == x || ((SnapPeer *) s->peers->pdata[q])->excluded)
                continue;
              g_array_append_val (sc->routes, cr);
              add_remote (sc, q);
            }
        }
      for (guint k = 0; k < g->ns_dist->len; k++)
        g_array_append_val (sc->ns, g_array_index (g->ns_dist, guint32, k));
    }

  /* Routes this peer itself routes: it learns them (its own key), and the
   * peers they are distributed to become reachable. */
  {
    GArray *mine = g_array_index (s->peer_routes, GArray *, x);
    for (guint k = 0; mine != NULL && k < mine->len; k++)
      {
        guint32 ri = g_array_index (mine, guint32, k);
        const SnapRoute *route = s->routes->pdata[ri];
        CompactRoute cr = { ri, x };

        g_array_append_val (sc->routes, cr);
        for (guint d = 0; d < route->dist->len; d++)
          {
            const SnapGroup *dg = s->groups->pdata[g_array_index (route->dist, guint32, d)];
            for (guint m = 0; m < dg->peers->len; m++)
              {
                guint32 q = g_array_index (dg->peers, guint32, m);
                if (q != x && !((SnapPeer *) s->peers->pdata[q])->excluded)
                  add_remote (sc, q);
              }
          }
      }
  }

  /* Sort and deduplicate; drop firewall rules for peers not in the map
   * (a drop rule alone does not make a peer reachable). */
  g_array_sort (sc->remote, cmp_u32);
  sort_snapshot = s;
  g_array_sort (sc->fw, cmp_fw);
  n = 0;
  for (guint i = 0; i < sc->fw->len; i++)
    {
      CompactRule *c = &g_array_index (sc->fw, CompactRule, i);
      if (sc->seen[c->peer] != sc->stamp || c->peer == x)
        continue;
      if (n > 0 && fw_same (&g_array_index (sc->fw, CompactRule, n - 1), c, s))
        continue;
      g_array_index (sc->fw, CompactRule, n++) = *c;
    }
  g_array_set_size (sc->fw, n);
  g_array_sort (sc->routes, cmp_route);
  n = 0;
  for (guint i = 0; i < sc->routes->len; i++)
    {
      CompactRoute *c = &g_array_index (sc->routes, CompactRoute, i);
      if (n > 0 && cmp_route (&g_array_index (sc->routes, CompactRoute, n - 1), c) == 0)
        continue;
      g_array_index (sc->routes, CompactRoute, n++) = *c;
    }
  g_array_set_size (sc->routes, n);
  g_array_sort (sc->ns, cmp_u32);
  n = 0;
  for (guint i = 0; i < sc->ns->len; i++)
    if (n == 0 || g_array_index (sc->ns, guint32, n - 1) != g_array_index (sc->ns, guint32, i))
      g_array_index (sc->ns, guint32, n++) = g_array_index (sc->ns, guint32, i);
  g_array_set_size (sc->ns, n);

  /* The hash covers everything but the serial. */
  h = mix (hash_string (hash_string (0, s->domain), me->fqdn), me->entry_hash);
  h = mix (h, ((guint64) s->prefix << 1) | (sc->dns_enabled ? 1 : 0));
  h = mix (h, sc->remote->len);
  for (guint i = 0; i < sc->remote->len; i++)
    h = mix (h, ((SnapPeer *) s->peers->pdata[g_array_index (sc->remote, guint32, i)])->entry_hash);
  h = mix (h, sc->fw->len);
  for (guint i = 0; i < sc->fw->len; i++)
    {
      const CompactRule *c = &g_array_index (sc->fw, CompactRule, i);
      h = mix (h, ((SnapPeer *) s->peers->pdata[c->peer])->ip);
      h = mix (h, ((guint64) c->direction << 48) | ((guint64) c->action << 40) |
                  ((guint64) c->protocol << 32) | ((guint64) c->port << 16));
      h = mix (h, ((guint64) c->range_start << 16) | c->range_end);
      h = hash_string (h, ((SnapRule *) s->rules->pdata[c->rule])->policy_id);
    }
  h = mix (h, sc->routes->len);
  for (guint i = 0; i < sc->routes->len; i++)
    {
      const CompactRoute *c = &g_array_index (sc->routes, CompactRoute, i);
      const NbMgmtRoute *route = ((SnapRoute *) s->routes->pdata[c->route])->route;

      h = hash_string (hash_string (hash_string (h, route->id), route->network_id), route->network);
      for (guint k = 0; route->domains != NULL && route->domains[k] != NULL; k++)
        h = hash_string (h, route->domains[k]);
      h = hash_string (h, ((SnapPeer *) s->peers->pdata[c->router])->key);
      h = mix (h, ((guint64) route->metric << 2) | (route->masquerade << 1) | route->keep_route);
    }
  h = mix (h, sc->ns->len);
  for (guint i = 0; i < sc->ns->len; i++)
    h = mix (h, g_array_index (s->ns_hashes, guint64, g_array_index (sc->ns, guint32, i)));
  sc->hash = h;
}

/* ---- Materialised maps --------------------------------------------------- */

static void
remote_peer_free (NbMgmtRemotePeer *p)
{
  g_free (p->id);
  g_free (p->key);
  g_free (p->ip);
  g_ptr_array_unref (p->allowed_ips);
  g_free (p->fqdn);
  g_free (p->ssh_key);
  g_free (p);
}

static void
firewall_rule_free (NbMgmtFirewallRule *r)
{
  g_free (r->peer_ip);
  g_free (r->policy_id);
  g_free (r);
}

static void
route_entry_free (NbMgmtRouteEntry *r)
{
  g_free (r->id);
  g_free (r->network_id);
  g_free (r->network);
  g_strfreev (r->domains);
  g_free (r->peer_key);
  g_free (r);
}

static void
dns_record_free (NbMgmtDnsRecord *r)
{
  g_free (r->name);
  g_free (r->class_);
  g_free (r->rdata);
  g_free (r);
}

/**
 * nb_mgmt_network_map_free:
 * @map: (nullable) (transfer full): a network map
 */
void
nb_mgmt_network_map_free (NbMgmtNetworkMap *map)
{
  if (map == NULL)
    return;
  g_free (map->account_id);
  g_free (map->peer_id);
  g_free (map->peer_key);
  g_free (map->address);
  g_free (map->fqdn);
  g_free (map->dns_domain);
  g_clear_pointer (&map->remote_peers, g_ptr_array_unref);
  g_clear_pointer (&map->firewall_rules, g_ptr_array_unref);
  g_clear_pointer (&map->routes, g_ptr_array_unref);
  g_clear_pointer (&map->nameserver_groups, g_ptr_array_unref);
  g_clear_pointer (&map->dns_records, g_ptr_array_unref);
  g_free (map);
}

static NbMgmtDnsRecord *
dns_record_new (const SnapPeer *p)
{
  NbMgmtDnsRecord *r = g_new0 (NbMgmtDnsRecord, 1);

  r->name = g_strdup (p->fqdn);
  r->type = 1;
  r->class_ = g_strdup ("IN");
  r->ttl = DNS_TTL;
  r->rdata = g_strdup (p->ip_text);
  return r;
}

static int
cmp_record (gconstpointer a,
            gconstpointer b)
{
  const NbMgmtDnsRecord *x = *(NbMgmtDnsRecord * const *) a;
  const NbMgmtDnsRecord *y = *(NbMgmtDnsRecord * const *) b;
  return strcmp (x->name, y->name);
}

static NbMgmtNameserverGroup *
ns_group_copy (const NbMgmtNameserverGroup *src)
{
  NbMgmtNameserverGroup *g = nb_mgmt_nameserver_group_new ();

  g->id = g_strdup (src->id);
  g->account_id = g_strdup (src->account_id);
  g->name = g_strdup (src->name);
  g->description = g_strdup (src->description);
  for (guint i = 0; i < src->nameservers->len; i++)
    {
      const NbMgmtNameserver *n = src->nameservers->pdata[i];
      g_ptr_array_add (g->nameservers, nb_mgmt_nameserver_new (n->ip, n->ns_type, n->port));
    }
  g->enabled = src->enabled;
  g->groups = g_strdupv (src->groups);
  g->primary = src->primary;
  g->domains = g_strdupv (src->domains);
  g->search_domains_enabled = src->search_domains_enabled;
  return g;
}

static NbMgmtNetworkMap *
materialize (const NbMgmtSnapshot *s,
             guint32               x,
             const Scratch        *sc)
{
  const SnapPeer *me = s->peers->pdata[x];
  NbMgmtNetworkMap *map = g_new0 (NbMgmtNetworkMap, 1);

  map->serial = s->serial;
  map->account_id = g_strdup (s->account_id);
  map->peer_id = g_strdup (me->id);
  map->peer_key = g_strdup (me->key);
  map->address = g_strdup_printf ("%s/%u", me->ip_text, s->prefix);
  map->fqdn = g_strdup (me->fqdn);
  map->dns_domain = g_strdup (s->domain);
  map->dns_enabled = sc->dns_enabled;
  map->hash = sc->hash;

  map->remote_peers = g_ptr_array_new_full (sc->remote->len, (GDestroyNotify) remote_peer_free);
  map->dns_records = g_ptr_array_new_full (sc->remote->len + 1, (GDestroyNotify) dns_record_free);
  g_ptr_array_add (map->dns_records, dns_record_new (me));
  for (guint i = 0; i < sc->remote->len; i++)
    {
      const SnapPeer *q = s->peers->pdata[g_array_index (sc->remote, guint32, i)];
      NbMgmtRemotePeer *rp = g_new0 (NbMgmtRemotePeer, 1);

      rp->id = g_strdup (q->id);
      rp->key = g_strdup (q->key);
      rp->ip = g_strdup (q->ip_text);
      rp->allowed_ips = g_ptr_array_new_with_free_func (g_free);
      g_ptr_array_add (rp->allowed_ips, g_strdup_printf ("%s/32", q->ip_text));
      rp->fqdn = g_strdup (q->fqdn);
      rp->ssh_enabled = q->ssh_enabled;
      rp->ssh_key = g_strdup (q->ssh_key);
      g_ptr_array_add (map->remote_peers, rp);
      g_ptr_array_add (map->dns_records, dns_record_new (q));
    }
  g_ptr_array_sort (map->dns_records, cmp_record);

  map->firewall_rules = g_ptr_array_new_full (sc->fw->len, (GDestroyNotify) firewall_rule_free);
  for (guint i = 0; i < sc->fw->len; i++)
    {
      const CompactRule *c = &g_array_index (sc->fw, CompactRule, i);
      NbMgmtFirewallRule *r = g_new0 (NbMgmtFirewallRule, 1);

      r->peer_ip = g_strdup (((SnapPeer *) s->peers->pdata[c->peer])->ip_text);
      r->direction = c->direction;
      r->action = c->action;
      r->protocol = c->protocol;
      r->port = c->port;
      r->port_range.start = c->range_start;
      r->port_range.end = c->range_end;
      r->policy_id = g_strdup (((SnapRule *) s->rules->pdata[c->rule])->policy_id);
      g_ptr_array_add (map->firewall_rules, r);
    }

  map->routes = g_ptr_array_new_full (sc->routes->len, (GDestroyNotify) route_entry_free);
  for (guint i = 0; i < sc->routes->len; i++)
    {
      const CompactRoute *c = &g_array_index (sc->routes, CompactRoute, i);
      const NbMgmtRoute *route = ((SnapRoute *) s->routes->pdata[c->route])->route;
      const SnapPeer *router = s->peers->pdata[c->router];
      NbMgmtRouteEntry *e = g_new0 (NbMgmtRouteEntry, 1);

      e->id = route->peer != NULL ? g_strdup (route->id) : g_strdup_printf ("%s:%s", route->id, router->id);
      e->network_id = g_strdup (route->network_id);
      e->network = g_strdup (route->network);
      e->domains = g_strdupv (route->domains);
      e->peer_key = g_strdup (router->key);
      e->metric = route->metric;
      e->masquerade = route->masquerade;
      e->keep_route = route->keep_route;
      g_ptr_array_add (map->routes, e);
    }

  map->nameserver_groups = g_ptr_array_new_full (sc->ns->len, (GDestroyNotify) nb_mgmt_nameserver_group_free);
  for (guint i = 0; i < sc->ns->len; i++)
    g_ptr_array_add (map->nameserver_groups,
                     ns_group_copy (s->ns_groups->pdata[g_array_index (sc->ns, guint32, i)]));
  return map;
}

/* ---- Given-map bookkeeping ----------------------------------------------- */

static GHashTable *
given_for (NbMgmtStore *store,
           const char  *account_id)
{
  GHashTable *given = g_hash_table_lookup (store->given_hashes, account_id);

  if (given == NULL)
    {
      given = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      g_hash_table_insert (store->given_hashes, g_strdup (account_id), given);
    }
  return given;
}

static void
record_given (NbMgmtStore *store,
              const char  *account_id,
              const char  *peer_id,
              guint64      hash)
{
  guint64 *v = g_new (guint64, 1);

  *v = hash;
  g_hash_table_replace (given_for (store, account_id), g_strdup (peer_id), v);
}

/* What a change left to do for an account: the peers it concerns, or all;
 * and the snapshot from before the first change, to find who saw them. */
typedef struct {
  gboolean all;
  GHashTable *peers;            /* set of peer ids */
  NbMgmtSnapshot *before;       /* nullable */
} Dirty;

void
nb_mgmt_netmap_dirty_free (gpointer data)
{
  Dirty *d = data;

  g_hash_table_unref (d->peers);
  nb_mgmt_snapshot_free (d->before);
  g_free (d);
}

void
nb_mgmt_netmap_mark_dirty (NbMgmtStore      *store,
                           const char       *account_id,
                           NbMgmtChangeKind  kind,
                           const char       *object_id)
{
  Dirty *d = g_hash_table_lookup (store->dirty, account_id);

  if (d == NULL)
    {
      NbMgmtSnapshot *cached = g_hash_table_lookup (store->snapshots, account_id);
      sqlite3_stmt *stmt;
      gboolean has_row = FALSE;

      d = g_new0 (Dirty, 1);
      d->peers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      /* The cached snapshot is "before" only if it matches the serial as it
       * is now, before this change bumps it. */
      stmt = nb_mgmt_store_prepare (store, "SELECT serial FROM accounts WHERE id = ?1", NULL);
      if (stmt != NULL)
        {
          nb_mgmt_bind_text (stmt, 1, account_id);
          if (nb_mgmt_store_step_row (store, stmt, &has_row, NULL) && has_row && cached != NULL &&
              (guint64) sqlite3_column_int64 (stmt, 0) == cached->serial)
            d->before = snapshot_ref (cached);
          sqlite3_reset (stmt);
        }
      if (d->before == NULL)
        d->all = TRUE;
      g_hash_table_insert (store->dirty, g_strdup (account_id), d);
    }

  switch (kind)
    {
    case NB_MGMT_CHANGE_PEER_ADDED:
    case NB_MGMT_CHANGE_PEER_UPDATED:
    case NB_MGMT_CHANGE_PEER_DELETED:
      if (object_id != NULL)
        g_hash_table_add (d->peers, g_strdup (object_id));
      else
        d->all = TRUE;
      break;
    case NB_MGMT_CHANGE_PEER_STATUS:
    case NB_MGMT_CHANGE_PAT:
    case NB_MGMT_CHANGE_SETUP_KEY:
      break;
    case NB_MGMT_CHANGE_ACCOUNT:
    case NB_MGMT_CHANGE_ACCOUNT_DELETED:
    case NB_MGMT_CHANGE_USER:
    case NB_MGMT_CHANGE_GROUP:
    case NB_MGMT_CHANGE_POLICY:
    case NB_MGMT_CHANGE_ROUTE:
    case NB_MGMT_CHANGE_NAMESERVER_GROUP:
    case NB_MGMT_CHANGE_DNS_SETTINGS:
      d->all = TRUE;
      break;
    }
}

/* Adds to @out (a set of peer ids) every peer whose map in @s may mention
 * peer @pid: @pid itself, the peers on the other side of every rule naming
 * one of its groups, and the peers its routes go to or come from. */
static void
add_neighbours (const NbMgmtSnapshot *s,
                const char           *pid,
                GHashTable           *out)
{
  gpointer v = g_hash_table_lookup (s->peer_index, pid);
  const SnapPeer *p;

  if (v == NULL)
    return;
  p = s->peers->pdata[GPOINTER_TO_UINT (v) - 1];
  g_hash_table_add (out, p->id);
  for (guint gi = 0; gi < p->groups->len; gi++)
    {
      const SnapGroup *g = s->groups->pdata[g_array_index (p->groups, guint32, gi)];

      for (guint k = 0; k < g->rule_refs->len; k++)
        {
          const RuleRef *ref = &g_array_index (g->rule_refs, RuleRef, k);
          const SnapRule *r = s->rules->pdata[ref->rule];
          const GArray *other = r->sides[1 - ref->side];

          for (guint o = 0; o < other->len; o++)
            {
              const SnapGroup *og = s->groups->pdata[g_array_index (other, guint32, o)];
              for (guint m = 0; m < og->peers->len; m++)
                g_hash_table_add (out, ((SnapPeer *) s->peers->pdata[g_array_index (og->peers, guint32, m)])->id);
            }
        }
      for (guint k = 0; k < g->route_dist->len; k++)
        {
          const SnapRoute *route = s->routes->pdata[g_array_index (g->route_dist, guint32, k)];
          for (guint m = 0; m < route->routers->len; m++)
            g_hash_table_add (out, ((SnapPeer *) s->peers->pdata[g_array_index (route->routers, guint32, m)])->id);
        }
    }
  {
    GArray *mine = g_array_index (s->peer_routes, GArray *, GPOINTER_TO_UINT (v) - 1);
    for (guint k = 0; mine != NULL && k < mine->len; k++)
      {
        const SnapRoute *route = s->routes->pdata[g_array_index (mine, guint32, k)];
        for (guint d = 0; d < route->dist->len; d++)
          {
            const SnapGroup *dg = s->groups->pdata[g_array_index (route->dist, guint32, d)];
            for (guint m = 0; m < dg->peers->len; m++)
              g_hash_table_add (out, ((SnapPeer *) s->peers->pdata[g_array_index (dg->peers, guint32, m)])->id);
          }
      }
  }
}

/* The peers a pending change may concern, or NULL for all. The set points
 * into the snapshots' strings: free it before them. */
static GHashTable *
dirty_candidates (Dirty                *d,
                  const NbMgmtSnapshot *s)
{
  GHashTable *candidates;
  GHashTableIter iter;
  gpointer pid;

  if (d->all)
    return NULL;
  candidates = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_iter_init (&iter, d->peers);
  while (g_hash_table_iter_next (&iter, &pid, NULL))
    {
      if (d->before != NULL)
        add_neighbours (d->before, pid, candidates);
      add_neighbours (s, pid, candidates);
    }
  return candidates;
}

/* Deleted peers: forget what they were given. */
static void
forget_deleted (GHashTable           *given,
                const NbMgmtSnapshot *s)
{
  GHashTableIter iter;
  gpointer pid;

  g_hash_table_iter_init (&iter, given);
  while (g_hash_table_iter_next (&iter, &pid, NULL))
    if (!g_hash_table_contains (s->peer_index, pid))
      g_hash_table_iter_remove (&iter);
}

/* ---- Public entry points -------------------------------------------------- */

/**
 * nb_mgmt_store_get_network_map:
 * @store: a store
 * @account_id: the account
 * @peer_id: the peer
 * @error: return location for a #GError
 *
 * Computes the peer's current map and records it as the one it was given.
 *
 * Returns: (transfer full): the map, or %NULL (NOT_FOUND)
 */
NbMgmtNetworkMap *
nb_mgmt_store_get_network_map (NbMgmtStore *store,
                               const char  *account_id,
                               const char  *peer_id,
                               GError     **error)
{
  NbMgmtSnapshot *s;
  NbMgmtNetworkMap *map;
  Scratch sc;
  gpointer v;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  s = snapshot_get (store, account_id, error);
  if (s == NULL)
    return NULL;
  v = peer_id != NULL ? g_hash_table_lookup (s->peer_index, peer_id) : NULL;
  if (v == NULL)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_NOT_FOUND, "Peer %s not found",
                   peer_id != NULL ? peer_id : "(none)");
      return NULL;
    }
  scratch_init (&sc, s);
  compute_compact (s, GPOINTER_TO_UINT (v) - 1, &sc);
  map = materialize (s, GPOINTER_TO_UINT (v) - 1, &sc);
  scratch_clear (&sc);
  record_given (store, account_id, peer_id, map->hash);
  return map;
}

/**
 * nb_mgmt_store_get_all_network_maps:
 * @store: a store
 * @account_id: the account
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (element-type NbMgmtNetworkMap): every peer's
 *   map, by address, each recorded as given
 */
GPtrArray *
nb_mgmt_store_get_all_network_maps (NbMgmtStore *store,
                                    const char  *account_id,
                                    GError     **error)
{
  GPtrArray *maps;
  NbMgmtSnapshot *s;
  Scratch sc;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  s = snapshot_get (store, account_id, error);
  if (s == NULL)
    return NULL;
  maps = g_ptr_array_new_full (s->peers->len, (GDestroyNotify) nb_mgmt_network_map_free);
  scratch_init (&sc, s);
  for (guint i = 0; i < s->peers->len; i++)
    {
      NbMgmtNetworkMap *map;

      compute_compact (s, i, &sc);
      map = materialize (s, i, &sc);
      record_given (store, account_id, map->peer_id, map->hash);
      g_ptr_array_add (maps, map);
    }
  scratch_clear (&sc);
  g_hash_table_remove (store->dirty, account_id);
  return maps;
}

guint64
nb_mgmt_store_compute_all_compact (NbMgmtStore *store,
                                   const char  *account_id,
                                   GError     **error)
{
  NbMgmtSnapshot *s = snapshot_get (store, account_id, error);
  guint64 total = 0;
  Scratch sc;

  if (s == NULL)
    return 0;
  scratch_init (&sc, s);
  for (guint i = 0; i < s->peers->len; i++)
    {
      compute_compact (s, i, &sc);
      total += sc.remote->len + sc.fw->len + sc.routes->len;
    }
  scratch_clear (&sc);
  return total;
}

/**
 * nb_mgmt_store_collect_network_map_updates:
 * @store: a store
 * @account_id: the account
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (element-type NbMgmtNetworkMap): the new maps of
 *   the peers that were given a map and whose map changed since; empty
 *   when nothing changed
 */
GPtrArray *
nb_mgmt_store_collect_network_map_updates (NbMgmtStore *store,
                                           const char  *account_id,
                                           GError     **error)
{
  g_autoptr(GPtrArray) maps = g_ptr_array_new_with_free_func ((GDestroyNotify) nb_mgmt_network_map_free);
  g_autoptr(GHashTable) candidates = NULL;
  GHashTable *given;
  NbMgmtSnapshot *s;
  Dirty *d;
  Scratch sc;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  d = g_hash_table_lookup (store->dirty, account_id);
  given = g_hash_table_lookup (store->given_hashes, account_id);
  if (d == NULL || given == NULL || g_hash_table_size (given) == 0)
    {
      g_hash_table_remove (store->dirty, account_id);
      if (!nb_mgmt_store_account_exists (store, account_id, error))
        return NULL;
      return g_steal_pointer (&maps);
    }
  s = snapshot_get (store, account_id, error);
  if (s == NULL)
    return NULL;

  candidates = dirty_candidates (d, s);

  scratch_init (&sc, s);
  for (guint i = 0; i < s->peers->len; i++)
    {
      const SnapPeer *p = s->peers->pdata[i];
      guint64 *old = g_hash_table_lookup (given, p->id);

      if (old == NULL || (candidates != NULL && !g_hash_table_contains (candidates, p->id)))
        continue;
      compute_compact (s, i, &sc);
      if (sc.hash == *old)
        continue;
      *old = sc.hash;
      g_ptr_array_add (maps, materialize (s, i, &sc));
    }
  scratch_clear (&sc);

  forget_deleted (given, s);
  /* candidates points into the snapshots' strings: drop it before them. */
  g_clear_pointer (&candidates, g_hash_table_unref);
  g_hash_table_remove (store->dirty, account_id);
  return g_steal_pointer (&maps);
}

/**
 * nb_mgmt_store_collect_changed_peers:
 * @store: a store
 * @account_id: the account
 * @error: return location for a #GError
 *
 * Like nb_mgmt_store_collect_network_map_updates() but returns only the IDs
 * of the peers whose map changed (and records their new maps as given), so
 * that a caller can fetch, send and free one map at a time with
 * nb_mgmt_store_get_network_map(): memory stays bounded by one map however
 * many peers a change concerns.
 *
 * Returns: (transfer full) (element-type utf8): peer IDs, by address
 */
GPtrArray *
nb_mgmt_store_collect_changed_peers (NbMgmtStore *store,
                                     const char  *account_id,
                                     GError     **error)
{
  GPtrArray *ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) candidates = NULL;
  GHashTable *given;
  NbMgmtSnapshot *s;
  Dirty *d;
  Scratch sc;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  d = g_hash_table_lookup (store->dirty, account_id);
  given = g_hash_table_lookup (store->given_hashes, account_id);
  if (d == NULL || given == NULL || g_hash_table_size (given) == 0)
    {
      g_hash_table_remove (store->dirty, account_id);
      if (!nb_mgmt_store_account_exists (store, account_id, error))
        {
          g_ptr_array_unref (ids);
          return NULL;
        }
      return ids;
    }
  s = snapshot_get (store, account_id, error);
  if (s == NULL)
    {
      g_ptr_array_unref (ids);
      return NULL;
    }
  candidates = dirty_candidates (d, s);
  scratch_init (&sc, s);
  for (guint i = 0; i < s->peers->len; i++)
    {
      const SnapPeer *p = s->peers->pdata[i];
      guint64 *old = g_hash_table_lookup (given, p->id);

      if (old == NULL || (candidates != NULL && !g_hash_table_contains (candidates, p->id)))
        continue;
      compute_compact (s, i, &sc);
      if (sc.hash == *old)
        continue;
      *old = sc.hash;
      g_ptr_array_add (ids, g_strdup (p->id));
    }
  scratch_clear (&sc);
  forget_deleted (given, s);
  g_clear_pointer (&candidates, g_hash_table_unref);
  g_hash_table_remove (store->dirty, account_id);
  return ids;
}

gboolean
nb_mgmt_store_load_snapshot (NbMgmtStore *store,
                             const char  *account_id,
                             GError     **error)
{
  return snapshot_get (store, account_id, error) != NULL;
}

/**
 * nb_mgmt_store_forget_network_map:
 * @store: a store
 * @account_id: the account
 * @peer_id: (nullable): the peer; %NULL for every peer of the account
 *
 * Forgets which map the peer was given: it will not be in updates until it
 * gets one again.
 */
void
nb_mgmt_store_forget_network_map (NbMgmtStore *store,
                                  const char  *account_id,
                                  const char  *peer_id)
{
  GHashTable *given;

  g_return_if_fail (NB_IS_MGMT_STORE (store));

  given = g_hash_table_lookup (store->given_hashes, account_id);
  if (given == NULL)
    return;
  if (peer_id == NULL)
    g_hash_table_remove (store->given_hashes, account_id);
  else
    g_hash_table_remove (given, peer_id);
}

/**
 * nb_mgmt_store_list_accessible_peers:
 * @store: a store
 * @account_id: the account
 * @peer_id: the peer
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (element-type NbMgmtPeer): the peers in its map
 */
GPtrArray *
nb_mgmt_store_list_accessible_peers (NbMgmtStore *store,
                                     const char  *account_id,
                                     const char  *peer_id,
                                     GError     **error)
{
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(GHashTable) wanted = g_hash_table_new (g_str_hash, g_str_equal);
  GPtrArray *out;
  NbMgmtSnapshot *s;
  Scratch sc;
  gpointer v;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  s = snapshot_get (store, account_id, error);
  if (s == NULL)
    return NULL;
  v = peer_id != NULL ? g_hash_table_lookup (s->peer_index, peer_id) : NULL;
  if (v == NULL)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_NOT_FOUND, "Peer %s not found",
                   peer_id != NULL ? peer_id : "(none)");
      return NULL;
    }
  scratch_init (&sc, s);
  compute_compact (s, GPOINTER_TO_UINT (v) - 1, &sc);
  for (guint i = 0; i < sc.remote->len; i++)
    g_hash_table_add (wanted, ((SnapPeer *) s->peers->pdata[g_array_index (sc.remote, guint32, i)])->id);
  scratch_clear (&sc);

  all = nb_mgmt_store_list_peers (store, account_id, NULL, error);
  if (all == NULL)
    return NULL;
  out = g_ptr_array_new_with_free_func ((GDestroyNotify) nb_mgmt_peer_free);
  for (guint i = 0; i < all->len; i++)
    {
      NbMgmtPeer *p = all->pdata[i];
      if (g_hash_table_contains (wanted, p->id))
        g_ptr_array_add (out, g_steal_pointer (&all->pdata[i]));
    }
  return out;
}
