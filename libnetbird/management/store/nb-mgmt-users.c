/* nb-mgmt-users.c: users and roles
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-mgmt-store"

#include <string.h>

#include "nb-mgmt-store-private.h"

#define USER_COLUMNS \
  "id, account_id, name, email, role, is_service_user, is_blocked, issued, created_at, last_login"

static NbMgmtUser *
user_from_row (sqlite3_stmt *stmt)
{
  NbMgmtUser *u = g_new0 (NbMgmtUser, 1);
  int role;

  u->id = nb_mgmt_column_dup (stmt, 0);
  u->account_id = nb_mgmt_column_dup (stmt, 1);
  u->name = nb_mgmt_column_dup (stmt, 2);
  u->email = nb_mgmt_column_dup (stmt, 3);
  role = sqlite3_column_int (stmt, 4);
  u->role = role >= NB_MGMT_ROLE_USER && role <= NB_MGMT_ROLE_OWNER ? (NbMgmtRole) role : NB_MGMT_ROLE_USER;
  u->is_service_user = sqlite3_column_int (stmt, 5);
  u->is_blocked = sqlite3_column_int (stmt, 6);
  u->issued = nb_mgmt_column_dup (stmt, 7);
  u->created_at = sqlite3_column_int64 (stmt, 8);
  u->last_login = sqlite3_column_int64 (stmt, 9);
  return u;
}

static gboolean
fill_user_groups (NbMgmtStore *store,
                  NbMgmtUser  *user,
                  GError     **error)
{
  return nb_mgmt_store_fill_group_refs (store, user->id, "user.auto_groups", &user->auto_groups, error);
}

/* @account_id NULL: in whichever account. */
static NbMgmtUser *
get_user_internal (NbMgmtStore *store,
                   const char  *account_id,
                   const char  *user_id,
                   GError     **error)
{
  return nb_mgmt_store_get_one (store,
                                "SELECT " USER_COLUMNS " FROM users WHERE id = ?1 "
                                "AND (?2 IS NULL OR account_id = ?2)",
                                account_id, user_id, "User", (NbMgmtRowFunc) user_from_row,
                                (NbMgmtFillFunc) fill_user_groups, (GDestroyNotify) nb_mgmt_user_free, error);
}

/**
 * nb_mgmt_store_get_user:
 * @store: a store
 * @account_id: the account
 * @user_id: the user
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the user, or %NULL (NOT_FOUND)
 */
NbMgmtUser *
nb_mgmt_store_get_user (NbMgmtStore *store,
                        const char  *account_id,
                        const char  *user_id,
                        GError     **error)
{
  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);
  if (account_id == NULL)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_NOT_FOUND, "User %s not found",
                   user_id != NULL ? user_id : "(none)");
      return NULL;
    }
  return get_user_internal (store, account_id, user_id, error);
}

/**
 * nb_mgmt_store_find_user:
 * @store: a store
 * @user_id: a user ID
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the user, from whichever account, or %NULL
 */
NbMgmtUser *
nb_mgmt_store_find_user (NbMgmtStore *store,
                         const char  *user_id,
                         GError     **error)
{
  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);
  return get_user_internal (store, NULL, user_id, error);
}

/**
 * nb_mgmt_store_list_users:
 * @store: a store
 * @account_id: the account
 * @service_users: -1 all users, 0 regular users only, 1 service users only
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (element-type NbMgmtUser): the users, oldest
 *   first
 */
GPtrArray *
nb_mgmt_store_list_users (NbMgmtStore *store,
                          const char  *account_id,
                          int          service_users,
                          GError     **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  if (!nb_mgmt_store_account_exists (store, account_id, error))
    return NULL;
  stmt = nb_mgmt_store_prepare (store,
                                "SELECT " USER_COLUMNS " FROM users WHERE account_id = ?1 "
                                "AND (?2 < 0 OR is_service_user = ?2) ORDER BY created_at, id", error);
  if (stmt == NULL)
    return NULL;
  nb_mgmt_bind_text (stmt, 1, account_id);
  nb_mgmt_bind_int64 (stmt, 2, service_users < 0 ? -1 : service_users > 0 ? 1 : 0);
  return nb_mgmt_store_read_all (store, stmt, (NbMgmtRowFunc) user_from_row, (NbMgmtFillFunc) fill_user_groups,
                                 (GDestroyNotify) nb_mgmt_user_free, error);
}

static gboolean
validate_user_fields (const NbMgmtUser *user,
                      GError          **error)
{
  /* A user's name may be empty (NetBird's service users often have none);
   * an e-mail address is a name too, shown where the user is. */
  if (!nb_mgmt_check_text (user->name, "name of the user", 255, error) ||
      !nb_mgmt_check_text (user->email, "email of the user", 255, error))
    return FALSE;
  if (user->role < NB_MGMT_ROLE_USER || user->role > NB_MGMT_ROLE_OWNER)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT,
                   "role must be one of user, admin, owner");
      return FALSE;
    }
  if (nb_mgmt_strv_has_duplicates (user->auto_groups))
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT,
                   "auto_groups lists a group twice");
      return FALSE;
    }
  return TRUE;
}

/**
 * nb_mgmt_store_create_user:
 * @store: a store
 * @account_id: the account
 * @actor_id: (nullable): who creates it
 * @tmpl: name, email, role, is_service_user, is_blocked, auto_groups
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the new user, or %NULL with @error set
 */
NbMgmtUser *
nb_mgmt_store_create_user (NbMgmtStore      *store,
                           const char       *account_id,
                           const char       *actor_id,
                           const NbMgmtUser *tmpl,
                           GError          **error)
{
  g_auto(NbMgmtTransaction) tx = NB_MGMT_TRANSACTION_INIT;
  g_autofree char *id = nb_mgmt_new_id ();
  sqlite3_stmt *stmt;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);
  g_return_val_if_fail (tmpl != NULL, NULL);

  if (!validate_user_fields (tmpl, error))
    return NULL;
  if (tmpl->role == NB_MGMT_ROLE_OWNER)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT,
                   "An account has one owner: create the user as admin or user");
      return NULL;
    }
  if (!tmpl->is_service_user)
    {
      if (tmpl->email == NULL || strchr (tmpl->email, '@') == NULL || strlen (tmpl->email) > 255)
        {
          g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT,
                       "email is required for a regular user and must be an e-mail address");
          return NULL;
        }
    }
  if (!nb_mgmt_store_account_exists (store, account_id, error))
    return NULL;

  if (!nb_mgmt_transaction_begin (&tx, store, error))
    return NULL;
  stmt = nb_mgmt_store_prepare (store,
                                "INSERT INTO users (id, account_id, name, email, role, is_service_user, "
                                "is_blocked, issued, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                                error);
  if (stmt == NULL)
    return NULL;
  nb_mgmt_bind_text (stmt, 1, id);
  nb_mgmt_bind_text (stmt, 2, account_id);
  nb_mgmt_bind_text (stmt, 3, tmpl->name);
  nb_mgmt_bind_text (stmt, 4, tmpl->is_service_user ? NULL : tmpl->email);
  nb_mgmt_bind_int64 (stmt, 5, tmpl->role);
  nb_mgmt_bind_int64 (stmt, 6, tmpl->is_service_user ? 1 : 0);
  nb_mgmt_bind_int64 (stmt, 7, tmpl->is_blocked ? 1 : 0);
  nb_mgmt_bind_text (stmt, 8, tmpl->issued != NULL ? tmpl->issued : "api");
  nb_mgmt_bind_int64 (stmt, 9, nb_mgmt_store_now (store));
  if (!nb_mgmt_store_step_done (store, stmt, "A user with this email", error) ||
      !nb_mgmt_store_write_group_refs (store, account_id, id, "user.auto_groups", tmpl->auto_groups,
                                       FALSE, "auto_groups", error) ||
      !nb_mgmt_store_add_event (store, account_id, actor_id,
                                tmpl->is_service_user ? "service.user.create" : "user.invite",
                                id, error, "name", tmpl->name != NULL ? tmpl->name : "",
                                "email", tmpl->email != NULL ? tmpl->email : "", NULL) ||
      !nb_mgmt_store_note_change (store, account_id, NB_MGMT_CHANGE_USER, id, NULL, FALSE, error) ||
      !nb_mgmt_transaction_commit (&tx, error))
    return NULL;
  return nb_mgmt_store_get_user (store, account_id, id, error);
}

/* NetBird's groups propagation: the user's peers join the groups added to
 * its auto-groups and leave the ones removed, in the same transaction. */
static gboolean
propagate_auto_groups (NbMgmtStore  *store,
                       const char   *account_id,
                       const char   *actor_id,
                       const char   *user_id,
                       char * const *before,
                       char * const *after,
                       GError      **error)
{
  for (int pass = 0; pass < 2; pass++)
    {
      char * const *from = pass == 0 ? after : before;
      char * const *other = pass == 0 ? before : after;

      for (guint i = 0; from != NULL && from[i] != NULL; i++)
        {
          sqlite3_stmt *stmt;

          if (other != NULL && g_strv_contains ((const char * const *) other, from[i]))
            continue;
          if (pass == 0)
            stmt = nb_mgmt_store_prepare (store,
                                          "INSERT OR IGNORE INTO group_peers (group_id, peer_id) "
                                          "SELECT ?1, id FROM peers WHERE user_id = ?2", error);
          else
            stmt = nb_mgmt_store_prepare (store,
                                          "DELETE FROM group_peers WHERE group_id = ?1 AND peer_id IN "
                                          "(SELECT id FROM peers WHERE user_id = ?2)", error);
          if (stmt == NULL)
            return FALSE;
          nb_mgmt_bind_text (stmt, 1, from[i]);
          nb_mgmt_bind_text (stmt, 2, user_id);
          if (!nb_mgmt_store_step_done (store, stmt, "group membership", error) ||
              !nb_mgmt_store_note_change (store, account_id, NB_MGMT_CHANGE_GROUP, from[i], NULL, TRUE,
                                          error))
            return FALSE;
        }
    }
  return TRUE;
}

/**
 * nb_mgmt_store_update_user:
 * @store: a store
 * @account_id: the account
 * @actor_id: (nullable): who changes it
 * @user: the user (by @user->id) with its new role, auto_groups, is_blocked
 *   and name (%NULL keeps the name)
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the updated user, or %NULL with @error set
 */
NbMgmtUser *
nb_mgmt_store_update_user (NbMgmtStore      *store,
                           const char       *account_id,
                           const char       *actor_id,
                           const NbMgmtUser *user,
                           GError          **error)
{
  g_auto(NbMgmtTransaction) tx = NB_MGMT_TRANSACTION_INIT;
  g_autoptr(NbMgmtUser) old = NULL;
  g_autoptr(NbMgmtAccount) account = NULL;
  sqlite3_stmt *stmt;
  gboolean network = FALSE;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);
  g_return_val_if_fail (user != NULL, NULL);

  if (!validate_user_fields (user, error))
    return NULL;
  old = nb_mgmt_store_get_user (store, account_id, user->id, error);
  if (old == NULL)
    return NULL;
  if (old->role == NB_MGMT_ROLE_OWNER && user->role != NB_MGMT_ROLE_OWNER)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PERMISSION_DENIED,
                   "The owner's role cannot be changed");
      return NULL;
    }
  if (old->role != NB_MGMT_ROLE_OWNER && user->role == NB_MGMT_ROLE_OWNER)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PERMISSION_DENIED,
                   "An account has one owner: the role owner cannot be given");
      return NULL;
    }
  if (user->is_blocked && old->role == NB_MGMT_ROLE_OWNER)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PERMISSION_DENIED,
                   "The owner cannot be blocked");
      return NULL;
    }
  if (user->is_blocked && g_strcmp0 (actor_id, user->id) == 0)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PERMISSION_DENIED,
                   "A user cannot block itself");
      return NULL;
    }
  account = nb_mgmt_store_get_account (store, account_id, error);
  if (account == NULL)
    return NULL;
  /* A blocked user's peers leave every map. */
  network = (old->is_blocked != user->is_blocked);

  if (!nb_mgmt_transaction_begin (&tx, store, error))
    return NULL;
  stmt = nb_mgmt_store_prepare (store,
                                "UPDATE users SET role = ?2, is_blocked = ?3, name = coalesce(?4, name) "
                                "WHERE id = ?1", error);
  if (stmt == NULL)
    return NULL;
  nb_mgmt_bind_text (stmt, 1, user->id);
  nb_mgmt_bind_int64 (stmt, 2, user->role);
  nb_mgmt_bind_int64 (stmt, 3, user->is_blocked ? 1 : 0);
  nb_mgmt_bind_text (stmt, 4, user->name);
  if (!nb_mgmt_store_step_done (store, stmt, "user", error) ||
      !nb_mgmt_store_write_group_refs (store, account_id, user->id, "user.auto_groups",
                                       user->auto_groups, FALSE, "auto_groups", error) ||
      !nb_mgmt_store_add_diff_events (store, account_id, actor_id, old->auto_groups, user->auto_groups,
                                      "user.group.add", "user.group.delete", user->id, "group",
                                      NULL, NULL, error))
    return NULL;
  if (account->settings.groups_propagation_enabled &&
      !propagate_auto_groups (store, account_id, actor_id, user->id, old->auto_groups, user->auto_groups,
                              error))
    return NULL;
  if (old->role != user->role &&
      !nb_mgmt_store_add_event (store, account_id, actor_id, "user.role.update", user->id, error,
                                "role", nb_mgmt_role_to_string (user->role), NULL))
    return NULL;
  if (old->is_blocked != user->is_blocked &&
      !nb_mgmt_store_add_event (store, account_id, actor_id,
                                user->is_blocked ? "user.block" : "user.unblock", user->id, error, NULL))
    return NULL;
  if (!nb_mgmt_store_add_event (store, account_id, actor_id, "user.update", user->id, error, NULL) ||
      !nb_mgmt_store_note_change (store, account_id, NB_MGMT_CHANGE_USER, user->id, NULL, network,
                                  error) ||
      !nb_mgmt_transaction_commit (&tx, error))
    return NULL;
  return nb_mgmt_store_get_user (store, account_id, user->id, error);
}

/**
 * nb_mgmt_store_delete_user:
 * @store: a store
 * @account_id: the account
 * @actor_id: (nullable): who deletes it
 * @user_id: the user
 * @error: return location for a #GError
 *
 * Deletes the user with its tokens and its peers.
 *
 * Returns: %TRUE on success
 */
gboolean
nb_mgmt_store_delete_user (NbMgmtStore *store,
                           const char  *account_id,
                           const char  *actor_id,
                           const char  *user_id,
                           GError     **error)
{
  g_auto(NbMgmtTransaction) tx = NB_MGMT_TRANSACTION_INIT;
  g_autoptr(NbMgmtUser) old = NULL;
  g_autoptr(GPtrArray) peers = NULL;
  sqlite3_stmt *stmt;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), FALSE);

  old = nb_mgmt_store_get_user (store, account_id, user_id, error);
  if (old == NULL)
    return FALSE;
  if (old->role == NB_MGMT_ROLE_OWNER)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PERMISSION_DENIED,
                   "The account owner cannot be deleted");
      return FALSE;
    }
  if (g_strcmp0 (actor_id, user_id) == 0)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PERMISSION_DENIED,
                   "A user cannot delete itself");
      return FALSE;
    }
  peers = nb_mgmt_store_list_peers (store, account_id, user_id, error);
  if (peers == NULL)
    return FALSE;

  if (!nb_mgmt_transaction_begin (&tx, store, error))
    return FALSE;
  for (guint i = 0; i < peers->len; i++)
    {
      NbMgmtPeer *peer = peers->pdata[i];
      if (!nb_mgmt_store_delete_peer_in_tx (store, account_id, actor_id, peer->id,
                                            "user.peer.delete", error))
        return FALSE;
    }
  stmt = nb_mgmt_store_prepare (store, "DELETE FROM users WHERE id = ?1 AND account_id = ?2", error);
  if (stmt == NULL)
    return FALSE;
  nb_mgmt_bind_text (stmt, 1, user_id);
  nb_mgmt_bind_text (stmt, 2, account_id);
  if (!nb_mgmt_store_step_done (store, stmt, "user", error) ||
      !nb_mgmt_store_add_event (store, account_id, actor_id,
                                old->is_service_user ? "service.user.delete" : "user.delete",
                                user_id, error, "name", old->name != NULL ? old->name : "",
                                "email", old->email != NULL ? old->email : "", NULL) ||
      !nb_mgmt_store_note_change (store, account_id, NB_MGMT_CHANGE_USER, user_id, NULL,
                                  peers->len > 0, error) ||
      !nb_mgmt_transaction_commit (&tx, error))
    return FALSE;
  return TRUE;
}

/**
 * nb_mgmt_store_check_permission:
 * @store: a store
 * @account_id: the account acted on
 * @user_id: the acting user
 * @permission: what it wants to do
 * @error: return location for a #GError
 *
 * Returns: %TRUE if @user_id may; else PERMISSION_DENIED, also when the
 *   user is not a member of the account (no account sees another's data)
 */
gboolean
nb_mgmt_store_check_permission (NbMgmtStore      *store,
                                const char       *account_id,
                                const char       *user_id,
                                NbMgmtPermission  permission,
                                GError          **error)
{
  g_autoptr(NbMgmtUser) user = NULL;
  g_autoptr(NbMgmtAccount) account = NULL;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), FALSE);

  user = nb_mgmt_store_get_user (store, account_id, user_id, NULL);
  if (user == NULL)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PERMISSION_DENIED,
                   "The user is not a member of this account");
      return FALSE;
    }
  if (user->is_blocked)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PERMISSION_DENIED,
                   "The user is blocked");
      return FALSE;
    }
  switch (permission)
    {
    case NB_MGMT_PERMISSION_READ_OWN:
      return TRUE;
    case NB_MGMT_PERMISSION_READ:
      if (user->role >= NB_MGMT_ROLE_ADMIN)
        return TRUE;
      account = nb_mgmt_store_get_account (store, account_id, error);
      if (account == NULL)
        return FALSE;
      if (account->settings.regular_users_view_blocked)
        {
          g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PERMISSION_DENIED,
                       "Regular users may not view this account's resources");
          return FALSE;
        }
      return TRUE;
    case NB_MGMT_PERMISSION_ADMIN:
      if (user->role >= NB_MGMT_ROLE_ADMIN)
        return TRUE;
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PERMISSION_DENIED,
                   "Only an admin or the owner may do this");
      return FALSE;
    case NB_MGMT_PERMISSION_OWNER:
      if (user->role == NB_MGMT_ROLE_OWNER)
        return TRUE;
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PERMISSION_DENIED,
                   "Only the account owner may do this");
      return FALSE;
    }
  g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PERMISSION_DENIED, "Unknown permission");
  return FALSE;
}
