/* nb-mgmt-snapshot.c: an account's network state, indexed for map computation
 *
 * The store loads an account's network state once per serial into a
 * snapshot with integer indexes (peers sorted by address, groups, rules,
 * routes, and for every group the rules that name it), so that computing a
 * peer's map never scans all peers.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-mgmt-store"

#include <string.h>

#include "nb-mgmt-netmap-private.h"

/* ---- Snapshot ------------------------------------------------------------ */

static void
snap_peer_free (SnapPeer *p)
{
  g_free (p->id);
  g_free (p->key);
  g_free (p->ip_text);
  g_free (p->fqdn);
  g_free (p->ssh_key);
  g_free (p->user_id);
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
  g_array_unref (r->router_groups);
  g_array_unref (r->dist);
  g_free (r);
}

NbMgmtSnapshot *
nb_mgmt_snapshot_ref (NbMgmtSnapshot *s)
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
  g_hash_table_unref (s->group_index);
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

GArray *
nb_mgmt_u32_array (void)
{
  return g_array_new (FALSE, FALSE, sizeof (guint32));
}

static GArray *
group_indexes (GHashTable   *group_index,
               char * const *ids)
{
  GArray *a = nb_mgmt_u32_array ();

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

static int
cmp_str_ptr (gconstpointer a,
             gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
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
  GHashTable *group_index;
  NbMgmtSnapshot *s;
  sqlite3_stmt *stmt;
  gboolean has_row;

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
  s->group_index = group_index = g_hash_table_new (g_str_hash, g_str_equal);
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
                                "p.login_expired, coalesce(u.is_blocked, 0) "
                                "FROM peers p LEFT JOIN users u ON u.id = p.user_id "
                                "WHERE p.account_id = ?1 ORDER BY p.ip", error);
  if (stmt == NULL)
    goto fail;
  nb_mgmt_bind_text (stmt, 1, account_id);
  while (TRUE)
    {
      SnapPeer *p;

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
      p->user_id = nb_mgmt_column_dup (stmt, 6);
      /* Expiry as the expiry job recorded it: the snapshot does not depend
       * on the clock, so its cache stays right. */
      p->excluded = sqlite3_column_int (stmt, 7) != 0 || sqlite3_column_int (stmt, 8) != 0;
      p->groups = nb_mgmt_u32_array ();
      /* What other peers' maps say about this one. */
      p->entry_hash = nb_mgmt_mix (0, p->ip);
      p->entry_hash = nb_mgmt_hash_string (p->entry_hash, p->id);
      p->entry_hash = nb_mgmt_hash_string (p->entry_hash, p->key);
      p->entry_hash = nb_mgmt_hash_string (p->entry_hash, p->fqdn);
      p->entry_hash = nb_mgmt_hash_string (p->entry_hash, p->ssh_key) ^ (guint64) p->ssh_enabled;
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
      g->peers = nb_mgmt_u32_array ();
      g->rule_refs = g_array_new (FALSE, FALSE, sizeof (RuleRef));
      g->route_dist = nb_mgmt_u32_array ();
      g->ns_dist = nb_mgmt_u32_array ();
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
              /* Stored before the cap: kept as it is (dropping ports of a
               * drop rule would open them), at n log n per map. */
              if ((r->ports != NULL && r->ports->len > NB_MGMT_MAX_RULE_PORTS) ||
                  (r->ranges != NULL && r->ranges->len > NB_MGMT_MAX_RULE_PORTS))
                g_info ("Policy %s has a rule with more than %u ports or ranges; it is applied, but "
                        "it cannot be saved again as it is: use port ranges",
                        policy->id, NB_MGMT_MAX_RULE_PORTS);
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

  /* Firewall rules sort by policy ID: rank them once. */
  {
    g_autoptr(GPtrArray) ids = g_ptr_array_new ();
    g_autoptr(GHashTable) rank = g_hash_table_new (g_str_hash, g_str_equal);

    for (guint i = 0; i < s->rules->len; i++)
      {
        SnapRule *r = s->rules->pdata[i];
        if (!g_hash_table_contains (rank, r->policy_id))
          {
            g_hash_table_add (rank, r->policy_id);
            g_ptr_array_add (ids, r->policy_id);
          }
        r->policy_hash = nb_mgmt_hash_string (0, r->policy_id);
      }
    g_ptr_array_sort (ids, cmp_str_ptr);
    for (guint i = 0; i < ids->len; i++)
      g_hash_table_insert (rank, ids->pdata[i], GUINT_TO_POINTER (i));
    for (guint i = 0; i < s->rules->len; i++)
      {
        SnapRule *r = s->rules->pdata[i];
        r->policy_rank = GPOINTER_TO_UINT (g_hash_table_lookup (rank, r->policy_id));
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
      r->routers = nb_mgmt_u32_array ();
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
      r->router_groups = group_indexes (group_index, route->peer != NULL ? NULL : route->peer_groups);
      for (guint k = 0; k < r->router_groups->len; k++)
        {
          SnapGroup *g = s->groups->pdata[g_array_index (r->router_groups, guint32, k)];
          g_array_append_vals (r->routers, g->peers->data, g->peers->len);
        }
      for (guint k = 0; k < r->dist->len; k++)
        g_array_append_val (((SnapGroup *) s->groups->pdata[g_array_index (r->dist, guint32, k)])->route_dist, ri);
      for (guint k = 0; k < r->routers->len; k++)
        {
          guint32 p = g_array_index (r->routers, guint32, k);
          GArray **slot = &g_array_index (s->peer_routes, GArray *, p);
          if (*slot == NULL)
            *slot = nb_mgmt_u32_array ();
          g_array_append_val (*slot, ri);
        }
      g_ptr_array_add (s->routes, r);
    }

  /* Nameserver groups and DNS settings. */
  for (guint i = 0; i < s->ns_groups->len; i++)
    {
      NbMgmtNameserverGroup *ns = s->ns_groups->pdata[i];
      guint64 h = nb_mgmt_hash_string (nb_mgmt_hash_string (0, ns->id), ns->name);

      h = nb_mgmt_mix (h, ns->primary * 2 + ns->search_domains_enabled);
      for (guint k = 0; k < ns->nameservers->len; k++)
        {
          NbMgmtNameserver *n = ns->nameservers->pdata[k];
          h = nb_mgmt_mix (nb_mgmt_hash_string (nb_mgmt_hash_string (h, n->ip), n->ns_type), n->port);
        }
      for (guint k = 0; ns->domains != NULL && ns->domains[k] != NULL; k++)
        h = nb_mgmt_hash_string (h, ns->domains[k]);
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
NbMgmtSnapshot *
nb_mgmt_snapshot_get (NbMgmtStore *store,
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
