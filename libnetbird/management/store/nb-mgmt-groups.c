/* nb-mgmt-groups.c: groups of peers and their members
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-mgmt-store"

#include <string.h>

#include "nb-mgmt-store-private.h"

/* ---- Groups -------------------------------------------------------------- */

static gboolean
fill_group_peers (NbMgmtStore *store,
                  NbMgmtGroup *group,
                  GError     **error)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  sqlite3_stmt *stmt;
  gboolean has_row;

  stmt = nb_mgmt_store_prepare (store,
                                "SELECT gp.peer_id FROM group_peers gp JOIN peers p ON p.id = gp.peer_id "
                                "WHERE gp.group_id = ?1 ORDER BY p.ip", error);
  if (stmt == NULL)
    return FALSE;
  nb_mgmt_bind_text (stmt, 1, group->id);
  while (TRUE)
    {
      if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
        return FALSE;
      if (!has_row)
        break;
      g_strv_builder_add (builder, nb_mgmt_column_text (stmt, 0));
    }
  group->peers = g_strv_builder_end (builder);
  return TRUE;
}

static NbMgmtGroup *
group_from_row (sqlite3_stmt *stmt)
{
  NbMgmtGroup *g = g_new0 (NbMgmtGroup, 1);

  g->id = nb_mgmt_column_dup (stmt, 0);
  g->account_id = nb_mgmt_column_dup (stmt, 1);
  g->name = nb_mgmt_column_dup (stmt, 2);
  g->issued = nb_mgmt_column_dup (stmt, 3);
  return g;
}

/**
 * nb_mgmt_store_get_group:
 * @store: a store
 * @account_id: the account
 * @group_id: the group
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the group with its peers, or %NULL (NOT_FOUND)
 */
NbMgmtGroup *
nb_mgmt_store_get_group (NbMgmtStore *store,
                         const char  *account_id,
                         const char  *group_id,
                         GError     **error)
{
  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  return nb_mgmt_store_get_one (store,
                                "SELECT id, account_id, name, issued FROM groups WHERE id = ?1 AND account_id = ?2",
                                account_id, group_id, "Group", (NbMgmtRowFunc) group_from_row,
                                (NbMgmtFillFunc) fill_group_peers, (GDestroyNotify) nb_mgmt_group_free, error);
}

/**
 * nb_mgmt_store_list_groups:
 * @store: a store
 * @account_id: the account
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (element-type NbMgmtGroup): the groups with
 *   their peers, "All" first, then by name
 */
GPtrArray *
nb_mgmt_store_list_groups (NbMgmtStore *store,
                           const char  *account_id,
                           GError     **error)
{
  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  return nb_mgmt_store_list_account (store,
                                     "SELECT id, account_id, name, issued FROM groups WHERE account_id = ?1 "
                                     "ORDER BY name = 'All' DESC, name, id",
                                     account_id, (NbMgmtRowFunc) group_from_row,
                                     (NbMgmtFillFunc) fill_group_peers, (GDestroyNotify) nb_mgmt_group_free,
                                     error);
}

static gboolean
write_group_peers (NbMgmtStore  *store,
                   const char   *account_id,
                   const char   *group_id,
                   char * const *peers,
                   GError      **error)
{
  sqlite3_stmt *stmt;

  if (!nb_mgmt_store_delete_by_id (store, "DELETE FROM group_peers WHERE group_id = ?1", group_id, "group", error))
    return FALSE;
  for (guint i = 0; peers != NULL && peers[i] != NULL; i++)
    {
      gboolean has_row;

      stmt = nb_mgmt_store_prepare (store, "SELECT 1 FROM peers WHERE id = ?1 AND account_id = ?2", error);
      if (stmt == NULL)
        return FALSE;
      nb_mgmt_bind_text (stmt, 1, peers[i]);
      nb_mgmt_bind_text (stmt, 2, account_id);
      if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
        return FALSE;
      sqlite3_reset (stmt);
      if (!has_row)
        return nb_mgmt_fail_invalid (error, "peers: peer %s does not exist", peers[i]);
      stmt = nb_mgmt_store_prepare (store,
                                    "INSERT OR IGNORE INTO group_peers (group_id, peer_id) VALUES (?1, ?2)",
                                    error);
      if (stmt == NULL)
        return FALSE;
      nb_mgmt_bind_text (stmt, 1, group_id);
      nb_mgmt_bind_text (stmt, 2, peers[i]);
      if (!nb_mgmt_store_step_done (store, stmt, "group membership", error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
validate_group_name (const char *name,
                     GError    **error)
{
  if (!nb_mgmt_check_name (name, "name of the group", 255, error))
    return FALSE;
  if (strcmp (name, NB_MGMT_ALL_GROUP_NAME) == 0)
    return nb_mgmt_fail_invalid (error, "The name \"All\" is reserved for the built-in group");
  return TRUE;
}

/**
 * nb_mgmt_store_create_group:
 * @store: a store
 * @account_id: the account
 * @actor_id: (nullable): who creates it
 * @tmpl: name, issued (%NULL: "api") and peers
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the new group, or %NULL with @error set
 */
NbMgmtGroup *
nb_mgmt_store_create_group (NbMgmtStore       *store,
                            const char        *account_id,
                            const char        *actor_id,
                            const NbMgmtGroup *tmpl,
                            GError           **error)
{
  g_auto(NbMgmtTransaction) tx = NB_MGMT_TRANSACTION_INIT;
  g_autofree char *id = nb_mgmt_new_id ();
  sqlite3_stmt *stmt;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);
  g_return_val_if_fail (tmpl != NULL, NULL);

  if (!validate_group_name (tmpl->name, error) ||
      !nb_mgmt_store_account_exists (store, account_id, error))
    return NULL;
  if (!nb_mgmt_transaction_begin (&tx, store, error))
    return NULL;
  stmt = nb_mgmt_store_prepare (store,
                                "INSERT INTO groups (id, account_id, name, issued) VALUES (?1, ?2, ?3, ?4)", error);
  if (stmt == NULL)
    return NULL;
  nb_mgmt_bind_text (stmt, 1, id);
  nb_mgmt_bind_text (stmt, 2, account_id);
  nb_mgmt_bind_text (stmt, 3, tmpl->name);
  nb_mgmt_bind_text (stmt, 4, tmpl->issued != NULL ? tmpl->issued : "api");
  if (!nb_mgmt_store_step_done (store, stmt, "A group with this name", error) ||
      !write_group_peers (store, account_id, id, tmpl->peers, error) ||
      !nb_mgmt_store_add_event (store, account_id, actor_id, "group.add", id, error,
                                "name", tmpl->name, NULL) ||
      !nb_mgmt_store_note_change (store, account_id, NB_MGMT_CHANGE_GROUP, id, NULL, TRUE, error) ||
      !nb_mgmt_transaction_commit (&tx, error))
    return NULL;
  return nb_mgmt_store_get_group (store, account_id, id, error);
}

/**
 * nb_mgmt_store_update_group:
 * @store: a store
 * @account_id: the account
 * @actor_id: (nullable): who changes it
 * @group: the group (by @group->id) with its new name and peers
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the updated group, or %NULL with @error set
 */
NbMgmtGroup *
nb_mgmt_store_update_group (NbMgmtStore       *store,
                            const char        *account_id,
                            const char        *actor_id,
                            const NbMgmtGroup *group,
                            GError           **error)
{
  g_auto(NbMgmtTransaction) tx = NB_MGMT_TRANSACTION_INIT;
  g_autoptr(NbMgmtGroup) old = NULL;
  sqlite3_stmt *stmt;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);
  g_return_val_if_fail (group != NULL, NULL);

  old = nb_mgmt_store_get_group (store, account_id, group->id, error);
  if (old == NULL)
    return NULL;
  if (g_strcmp0 (old->name, NB_MGMT_ALL_GROUP_NAME) == 0)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PERMISSION_DENIED,
                   "The group \"All\" is built in and cannot be changed");
      return NULL;
    }
  if (!validate_group_name (group->name, error))
    return NULL;
  if (!nb_mgmt_transaction_begin (&tx, store, error))
    return NULL;
  stmt = nb_mgmt_store_prepare (store, "UPDATE groups SET name = ?2 WHERE id = ?1", error);
  if (stmt == NULL)
    return NULL;
  nb_mgmt_bind_text (stmt, 1, group->id);
  nb_mgmt_bind_text (stmt, 2, group->name);
  if (!nb_mgmt_store_step_done (store, stmt, "A group with this name", error) ||
      !write_group_peers (store, account_id, group->id, group->peers, error) ||
      !nb_mgmt_store_add_event (store, account_id, actor_id, "group.update", group->id, error,
                                "name", group->name, NULL) ||
      !nb_mgmt_store_add_diff_events (store, account_id, actor_id, old->peers, group->peers,
                                      "peer.group.add", "peer.group.delete", NULL, "peer_id",
                                      "group", group->name, error) ||
      !nb_mgmt_store_note_change (store, account_id, NB_MGMT_CHANGE_GROUP, group->id, NULL, TRUE, error) ||
      !nb_mgmt_transaction_commit (&tx, error))
    return NULL;
  return nb_mgmt_store_get_group (store, account_id, group->id, error);
}

static const char *
describe_ref_field (const char *field)
{
  if (g_str_has_prefix (field, "user."))
    return "a user's auto-groups";
  if (g_str_has_prefix (field, "setup_key."))
    return "a setup key's auto-groups";
  if (g_str_has_prefix (field, "rule."))
    return "a policy rule";
  if (g_str_has_prefix (field, "route."))
    return "a route";
  if (g_str_has_prefix (field, "ns."))
    return "a nameserver group";
  if (g_str_has_prefix (field, "dns."))
    return "the DNS settings";
  return field;
}

/**
 * nb_mgmt_store_delete_group:
 * @store: a store
 * @account_id: the account
 * @actor_id: (nullable): who deletes it
 * @group_id: the group
 * @error: return location for a #GError
 *
 * Returns: %TRUE on success; PRECONDITION_FAILED while something uses it
 */
gboolean
nb_mgmt_store_delete_group (NbMgmtStore *store,
                            const char  *account_id,
                            const char  *actor_id,
                            const char  *group_id,
                            GError     **error)
{
  g_autoptr(NbMgmtGroup) old = NULL;
  sqlite3_stmt *stmt;
  gboolean has_row;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), FALSE);

  old = nb_mgmt_store_get_group (store, account_id, group_id, error);
  if (old == NULL)
    return FALSE;
  if (g_strcmp0 (old->name, NB_MGMT_ALL_GROUP_NAME) == 0)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PERMISSION_DENIED,
                   "The group \"All\" is built in and cannot be deleted");
      return FALSE;
    }
  stmt = nb_mgmt_store_prepare (store, "SELECT field, owner_id FROM group_refs WHERE group_id = ?1 LIMIT 1",
                                error);
  if (stmt == NULL)
    return FALSE;
  nb_mgmt_bind_text (stmt, 1, group_id);
  if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
    return FALSE;
  if (has_row)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PRECONDITION_FAILED,
                   "Group \"%s\" is used by %s (%s): remove it there first", old->name,
                   describe_ref_field (nb_mgmt_column_text (stmt, 0)), nb_mgmt_column_text (stmt, 1));
      sqlite3_reset (stmt);
      return FALSE;
    }
  return nb_mgmt_store_delete_object (store, account_id, actor_id, "DELETE FROM groups WHERE id = ?1",
                                      group_id, "group", "group.delete", old->name,
                                      NB_MGMT_CHANGE_GROUP, TRUE, error);
}
