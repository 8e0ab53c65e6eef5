/* nb-mgmt-routes.c: network routes
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-mgmt-store"

#include <string.h>

#include "nb-mgmt-store-private.h"

/* ---- Routes -------------------------------------------------------------- */

#define ROUTE_COLUMNS \
  "id, account_id, network_id, description, enabled, peer_id, network, domains, metric, " \
  "masquerade, keep_route"

static NbMgmtRoute *
route_from_row (sqlite3_stmt *stmt)
{
  NbMgmtRoute *r = g_new0 (NbMgmtRoute, 1);

  r->id = nb_mgmt_column_dup (stmt, 0);
  r->account_id = nb_mgmt_column_dup (stmt, 1);
  r->network_id = nb_mgmt_column_dup (stmt, 2);
  r->description = nb_mgmt_column_dup (stmt, 3);
  r->enabled = sqlite3_column_int (stmt, 4);
  r->peer = nb_mgmt_column_dup (stmt, 5);
  r->network = nb_mgmt_column_dup (stmt, 6);
  r->domains = nb_mgmt_strv_from_json (nb_mgmt_column_text (stmt, 7));
  r->metric = sqlite3_column_int (stmt, 8);
  r->masquerade = sqlite3_column_int (stmt, 9);
  r->keep_route = sqlite3_column_int (stmt, 10);
  return r;
}

static gboolean
fill_route_groups (NbMgmtStore *store,
                   NbMgmtRoute *route,
                   GError     **error)
{
  return nb_mgmt_store_fill_group_refs (store, route->id, "route.peer_groups", &route->peer_groups, error) &&
         nb_mgmt_store_fill_group_refs (store, route->id, "route.groups", &route->groups, error) &&
         nb_mgmt_store_fill_group_refs (store, route->id, "route.acg", &route->access_control_groups, error);
}

/**
 * nb_mgmt_store_get_route:
 * @store: a store
 * @account_id: the account
 * @route_id: the route
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the route, or %NULL (NOT_FOUND)
 */
NbMgmtRoute *
nb_mgmt_store_get_route (NbMgmtStore *store,
                         const char  *account_id,
                         const char  *route_id,
                         GError     **error)
{
  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  return nb_mgmt_store_get_one (store,
                                "SELECT " ROUTE_COLUMNS " FROM routes WHERE id = ?1 AND account_id = ?2",
                                account_id, route_id, "Route", (NbMgmtRowFunc) route_from_row,
                                (NbMgmtFillFunc) fill_route_groups, (GDestroyNotify) nb_mgmt_route_free, error);
}

/**
 * nb_mgmt_store_list_routes:
 * @store: a store
 * @account_id: the account
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (element-type NbMgmtRoute): the routes
 */
GPtrArray *
nb_mgmt_store_list_routes (NbMgmtStore *store,
                           const char  *account_id,
                           GError     **error)
{
  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  return nb_mgmt_store_list_account (store,
                                     "SELECT " ROUTE_COLUMNS " FROM routes WHERE account_id = ?1 ORDER BY rowid",
                                     account_id, (NbMgmtRowFunc) route_from_row,
                                     (NbMgmtFillFunc) fill_route_groups, (GDestroyNotify) nb_mgmt_route_free,
                                     error);
}

static gboolean
validate_route (NbMgmtStore       *store,
                const char        *account_id,
                const NbMgmtRoute *route,
                GError           **error)
{
  gboolean has_peer = route->peer != NULL && *route->peer != '\0';
  gboolean has_peer_groups = route->peer_groups != NULL && route->peer_groups[0] != NULL;
  gboolean has_network = route->network != NULL && *route->network != '\0';
  gboolean has_domains = route->domains != NULL && route->domains[0] != NULL;

  if (!nb_mgmt_check_name (route->network_id, "network_id", 40, error) ||
      !nb_mgmt_check_text (route->description, "description", 1024, error))
    return FALSE;
  if (has_peer == has_peer_groups)
    return nb_mgmt_fail_invalid (error, "Exactly one of peer and peer_groups must be set");
  if (has_network == has_domains)
    return nb_mgmt_fail_invalid (error, "Exactly one of network and domains must be set");
  if (has_network)
    {
      guint32 net;
      guint prefix;
      if (!nb_mgmt_cidr_parse (route->network, &net, &prefix))
        return nb_mgmt_fail_invalid (error, "network \"%s\" is not an IPv4 CIDR like 10.0.0.0/24", route->network);
    }
  for (guint i = 0; has_domains && route->domains[i] != NULL; i++)
    {
      const char *d = route->domains[i];
      if (g_str_has_prefix (d, "*."))
        d += 2;
      if (!nb_mgmt_dns_domain_is_valid (d))
        return nb_mgmt_fail_invalid (error, "domains: \"%s\" is not a valid domain", route->domains[i]);
    }
  if (route->metric < 1 || route->metric > 9999)
    return nb_mgmt_fail_invalid (error, "metric must be 1..9999, not %d", route->metric);
  if (route->groups == NULL || route->groups[0] == NULL)
    return nb_mgmt_fail_invalid (error, "groups: a route must be distributed to at least one group");
  if (has_peer)
    {
      sqlite3_stmt *stmt = nb_mgmt_store_prepare (store, "SELECT 1 FROM peers WHERE id = ?1 AND account_id = ?2",
                                                  error);
      gboolean has_row;

      if (stmt == NULL)
        return FALSE;
      nb_mgmt_bind_text (stmt, 1, route->peer);
      nb_mgmt_bind_text (stmt, 2, account_id);
      if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
        return FALSE;
      sqlite3_reset (stmt);
      if (!has_row)
        return nb_mgmt_fail_invalid (error, "peer: peer %s does not exist", route->peer);
    }
  return TRUE;
}

static NbMgmtRoute *
save_route (NbMgmtStore       *store,
            const char        *account_id,
            const char        *actor_id,
            const NbMgmtRoute *route,
            gboolean           create,
            GError           **error)
{
  g_auto(NbMgmtTransaction) tx = NB_MGMT_TRANSACTION_INIT;
  g_autofree char *id = create ? nb_mgmt_new_id () : g_strdup (route->id);
  g_autofree char *domains = NULL;
  sqlite3_stmt *stmt;
  gboolean has_network = route->network != NULL && *route->network != '\0';

  if (create && !nb_mgmt_store_account_exists (store, account_id, error))
    return NULL;
  if (!create)
    {
      g_autoptr(NbMgmtRoute) old = nb_mgmt_store_get_route (store, account_id, route->id, error);
      if (old == NULL)
        return NULL;
    }
  if (!validate_route (store, account_id, route, error))
    return NULL;
  domains = route->domains != NULL && route->domains[0] != NULL ? nb_mgmt_strv_to_json (route->domains) : NULL;

  if (!nb_mgmt_transaction_begin (&tx, store, error))
    return NULL;
  if (create)
    stmt = nb_mgmt_store_prepare (store,
                                  "INSERT INTO routes (id, account_id, network_id, description, enabled, peer_id, "
                                  "network, domains, metric, masquerade, keep_route) "
                                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)", error);
  else
    stmt = nb_mgmt_store_prepare (store,
                                  "UPDATE routes SET network_id = ?3, description = ?4, enabled = ?5, "
                                  "peer_id = ?6, network = ?7, domains = ?8, metric = ?9, masquerade = ?10, "
                                  "keep_route = ?11 WHERE id = ?1 AND account_id = ?2", error);
  if (stmt == NULL)
    return NULL;
  nb_mgmt_bind_text (stmt, 1, id);
  nb_mgmt_bind_text (stmt, 2, account_id);
  nb_mgmt_bind_text (stmt, 3, route->network_id);
  nb_mgmt_bind_text (stmt, 4, route->description);
  nb_mgmt_bind_int64 (stmt, 5, route->enabled ? 1 : 0);
  nb_mgmt_bind_text (stmt, 6, route->peer != NULL && *route->peer != '\0' ? route->peer : NULL);
  if (has_network)
    {
      guint32 net;
      guint prefix;
      g_autofree char *net_text = NULL;
      g_autofree char *canonical = NULL;

      nb_mgmt_cidr_parse (route->network, &net, &prefix);
      net_text = nb_mgmt_ip_to_string (net);
      canonical = g_strdup_printf ("%s/%u", net_text, prefix);
      nb_mgmt_bind_text (stmt, 7, canonical);
    }
  nb_mgmt_bind_text (stmt, 8, domains);
  nb_mgmt_bind_int64 (stmt, 9, route->metric);
  nb_mgmt_bind_int64 (stmt, 10, route->masquerade ? 1 : 0);
  nb_mgmt_bind_int64 (stmt, 11, route->keep_route ? 1 : 0);
  if (!nb_mgmt_store_step_done (store, stmt, "route", error) ||
      !nb_mgmt_store_write_group_refs (store, account_id, id, "route.peer_groups", route->peer_groups,
                                       TRUE, "peer_groups", error) ||
      !nb_mgmt_store_write_group_refs (store, account_id, id, "route.groups", route->groups,
                                       TRUE, "groups", error) ||
      !nb_mgmt_store_write_group_refs (store, account_id, id, "route.acg", route->access_control_groups,
                                       TRUE, "access_control_groups", error) ||
      !nb_mgmt_store_add_event (store, account_id, actor_id, create ? "route.add" : "route.update", id,
                                error, "name", route->network_id,
                                "network", has_network ? route->network : "", NULL) ||
      !nb_mgmt_store_note_change (store, account_id, NB_MGMT_CHANGE_ROUTE, id, NULL, TRUE, error) ||
      !nb_mgmt_transaction_commit (&tx, error))
    return NULL;
  return nb_mgmt_store_get_route (store, account_id, id, error);
}

/**
 * nb_mgmt_store_create_route:
 * @store: a store
 * @account_id: the account
 * @actor_id: (nullable): who creates it
 * @tmpl: the route
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the new route, or %NULL with @error set
 */
NbMgmtRoute *
nb_mgmt_store_create_route (NbMgmtStore       *store,
                            const char        *account_id,
                            const char        *actor_id,
                            const NbMgmtRoute *tmpl,
                            GError           **error)
{
  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);
  g_return_val_if_fail (tmpl != NULL, NULL);
  return save_route (store, account_id, actor_id, tmpl, TRUE, error);
}

/**
 * nb_mgmt_store_update_route:
 * @store: a store
 * @account_id: the account
 * @actor_id: (nullable): who changes it
 * @route: the route (by @route->id)
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the updated route, or %NULL with @error set
 */
NbMgmtRoute *
nb_mgmt_store_update_route (NbMgmtStore       *store,
                            const char        *account_id,
                            const char        *actor_id,
                            const NbMgmtRoute *route,
                            GError           **error)
{
  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);
  g_return_val_if_fail (route != NULL, NULL);
  return save_route (store, account_id, actor_id, route, FALSE, error);
}

/**
 * nb_mgmt_store_delete_route:
 * @store: a store
 * @account_id: the account
 * @actor_id: (nullable): who deletes it
 * @route_id: the route
 * @error: return location for a #GError
 *
 * Returns: %TRUE on success
 */
gboolean
nb_mgmt_store_delete_route (NbMgmtStore *store,
                            const char  *account_id,
                            const char  *actor_id,
                            const char  *route_id,
                            GError     **error)
{
  g_autoptr(NbMgmtRoute) old = NULL;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), FALSE);

  old = nb_mgmt_store_get_route (store, account_id, route_id, error);
  if (old == NULL)
    return FALSE;
  return nb_mgmt_store_delete_object (store, account_id, actor_id, "DELETE FROM routes WHERE id = ?1",
                                      route_id, "route", "route.delete", old->network_id,
                                      NB_MGMT_CHANGE_ROUTE, TRUE, error);
}
