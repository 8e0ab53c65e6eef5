/* nb-mgmt-setup-keys.c: setup keys, stored hashed
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-mgmt-store"

#include <string.h>

#include "nb-mgmt-store-private.h"

/* ---- Setup keys ---------------------------------------------------------- */

NbMgmtSetupKey *
nb_mgmt_setup_key_from_row (sqlite3_stmt *stmt)
{
  NbMgmtSetupKey *k = g_new0 (NbMgmtSetupKey, 1);

  k->id = nb_mgmt_column_dup (stmt, 0);
  k->account_id = nb_mgmt_column_dup (stmt, 1);
  k->name = nb_mgmt_column_dup (stmt, 2);
  k->masked_key = nb_mgmt_column_dup (stmt, 3);
  k->type = sqlite3_column_int (stmt, 4) == NB_MGMT_SETUP_KEY_REUSABLE
            ? NB_MGMT_SETUP_KEY_REUSABLE : NB_MGMT_SETUP_KEY_ONE_OFF;
  k->created_at = sqlite3_column_int64 (stmt, 5);
  k->updated_at = sqlite3_column_int64 (stmt, 6);
  k->expires_at = sqlite3_column_int64 (stmt, 7);
  k->revoked = sqlite3_column_int (stmt, 8);
  k->used_times = sqlite3_column_int64 (stmt, 9);
  k->last_used = sqlite3_column_int64 (stmt, 10);
  k->usage_limit = sqlite3_column_int64 (stmt, 11);
  k->ephemeral = sqlite3_column_int (stmt, 12);
  return k;
}

gboolean
nb_mgmt_store_fill_setup_key_groups (NbMgmtStore    *store,
                                     NbMgmtSetupKey *key,
                                     GError        **error)
{
  return nb_mgmt_store_fill_group_refs (store, key->id, "setup_key.auto_groups", &key->auto_groups, error);
}

/**
 * nb_mgmt_store_get_setup_key:
 * @store: a store
 * @account_id: the account
 * @key_id: the setup key's ID
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the setup key, or %NULL (NOT_FOUND)
 */
NbMgmtSetupKey *
nb_mgmt_store_get_setup_key (NbMgmtStore *store,
                             const char  *account_id,
                             const char  *key_id,
                             GError     **error)
{
  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  return nb_mgmt_store_get_one (store,
                                "SELECT " SETUP_KEY_COLUMNS " FROM setup_keys WHERE id = ?1 AND account_id = ?2",
                                account_id, key_id, "Setup key", (NbMgmtRowFunc) nb_mgmt_setup_key_from_row,
                                (NbMgmtFillFunc) nb_mgmt_store_fill_setup_key_groups,
                                (GDestroyNotify) nb_mgmt_setup_key_free, error);
}

/**
 * nb_mgmt_store_list_setup_keys:
 * @store: a store
 * @account_id: the account
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (element-type NbMgmtSetupKey): the account's
 *   setup keys, oldest first
 */
GPtrArray *
nb_mgmt_store_list_setup_keys (NbMgmtStore *store,
                               const char  *account_id,
                               GError     **error)
{
  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  return nb_mgmt_store_list_account (store,
                                     "SELECT " SETUP_KEY_COLUMNS " FROM setup_keys WHERE account_id = ?1 "
                                     "ORDER BY created_at, id",
                                     account_id, (NbMgmtRowFunc) nb_mgmt_setup_key_from_row,
                                     (NbMgmtFillFunc) nb_mgmt_store_fill_setup_key_groups,
                                     (GDestroyNotify) nb_mgmt_setup_key_free, error);
}

static gboolean
plain_key_is_valid (const char *key)
{
  gsize len = strlen (key);

  if (len < 8 || len > 128)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isgraph (key[i]))
      return FALSE;
  return TRUE;
}

/**
 * nb_mgmt_store_create_setup_key:
 * @store: a store
 * @account_id: the account
 * @actor_id: (nullable): who creates it
 * @tmpl: name, type, expires_at, usage_limit, auto_groups, ephemeral
 * @plain_key: (nullable): the key to use; %NULL to generate one
 * @out_key: (out) (optional) (transfer full): the key, shown only now
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the setup key's record, or %NULL with @error set
 */
NbMgmtSetupKey *
nb_mgmt_store_create_setup_key (NbMgmtStore          *store,
                                const char           *account_id,
                                const char           *actor_id,
                                const NbMgmtSetupKey *tmpl,
                                const char           *plain_key,
                                char                **out_key,
                                GError              **error)
{
  g_auto(NbMgmtTransaction) tx = NB_MGMT_TRANSACTION_INIT;
  g_autofree char *id = nb_mgmt_new_id ();
  g_autofree char *key = NULL;
  g_autofree char *hash = NULL;
  g_autofree char *masked = NULL;
  sqlite3_stmt *stmt;
  gint64 now = nb_mgmt_store_now (store);
  gint64 usage_limit;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);
  g_return_val_if_fail (tmpl != NULL, NULL);

  if (!nb_mgmt_check_name (tmpl->name, "name of the setup key", 255, error))
    return NULL;
  if (tmpl->type != NB_MGMT_SETUP_KEY_ONE_OFF && tmpl->type != NB_MGMT_SETUP_KEY_REUSABLE)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT,
                   "type must be \"one-off\" or \"reusable\"");
      return NULL;
    }
  if (tmpl->expires_at != 0 && tmpl->expires_at <= now)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT,
                   "expires_in must be positive (or 0 for a key that never expires)");
      return NULL;
    }
  if (tmpl->usage_limit < 0)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT,
                   "usage_limit must be 0 (unlimited) or more");
      return NULL;
    }
  if (nb_mgmt_strv_has_duplicates (tmpl->auto_groups))
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT,
                   "auto_groups lists a group twice");
      return NULL;
    }
  if (plain_key != NULL && !plain_key_is_valid (plain_key))
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT,
                   "A setup key must be 8 to 128 printable characters without spaces");
      return NULL;
    }
  if (!nb_mgmt_store_account_exists (store, account_id, error))
    return NULL;

  usage_limit = tmpl->type == NB_MGMT_SETUP_KEY_ONE_OFF ? 1 : tmpl->usage_limit;
  if (plain_key != NULL)
    key = g_strdup (plain_key);
  else
    {
      g_autofree char *uuid = g_uuid_string_random ();
      key = g_ascii_strup (uuid, -1);
    }
  hash = nb_mgmt_hash_secret (key);
  masked = g_strdup_printf ("%.5s****", key);

  if (!nb_mgmt_transaction_begin (&tx, store, error))
    return NULL;
  stmt = nb_mgmt_store_prepare (store,
                                "INSERT INTO setup_keys (id, account_id, name, key_hash, masked_key, type, "
                                "created_at, updated_at, expires_at, usage_limit, ephemeral) "
                                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, ?9, ?10)", error);
  if (stmt == NULL)
    return NULL;
  nb_mgmt_bind_text (stmt, 1, id);
  nb_mgmt_bind_text (stmt, 2, account_id);
  nb_mgmt_bind_text (stmt, 3, tmpl->name);
  nb_mgmt_bind_text (stmt, 4, hash);
  nb_mgmt_bind_text (stmt, 5, masked);
  nb_mgmt_bind_int64 (stmt, 6, tmpl->type);
  nb_mgmt_bind_int64 (stmt, 7, now);
  nb_mgmt_bind_int64 (stmt, 8, tmpl->expires_at);
  nb_mgmt_bind_int64 (stmt, 9, usage_limit);
  nb_mgmt_bind_int64 (stmt, 10, tmpl->ephemeral ? 1 : 0);
  if (!nb_mgmt_store_step_done (store, stmt, "This setup key", error) ||
      !nb_mgmt_store_write_group_refs (store, account_id, id, "setup_key.auto_groups",
                                       tmpl->auto_groups, FALSE, "auto_groups", error) ||
      !nb_mgmt_store_add_event (store, account_id, actor_id, "setupkey.add", id, error,
                                "name", tmpl->name,
                                "type", nb_mgmt_setup_key_type_to_string (tmpl->type), NULL) ||
      !nb_mgmt_store_note_change (store, account_id, NB_MGMT_CHANGE_SETUP_KEY, id, NULL, FALSE, error) ||
      !nb_mgmt_transaction_commit (&tx, error))
    return NULL;
  if (out_key != NULL)
    *out_key = g_steal_pointer (&key);
  return nb_mgmt_store_get_setup_key (store, account_id, id, error);
}

/**
 * nb_mgmt_store_update_setup_key:
 * @store: a store
 * @account_id: the account
 * @actor_id: (nullable): who changes it
 * @key: the key (by @key->id) with its new revoked flag, auto_groups and
 *   name (%NULL keeps the name)
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the updated key, or %NULL with @error set
 */
NbMgmtSetupKey *
nb_mgmt_store_update_setup_key (NbMgmtStore          *store,
                                const char           *account_id,
                                const char           *actor_id,
                                const NbMgmtSetupKey *key,
                                GError              **error)
{
  g_auto(NbMgmtTransaction) tx = NB_MGMT_TRANSACTION_INIT;
  g_autoptr(NbMgmtSetupKey) old = NULL;
  sqlite3_stmt *stmt;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);
  g_return_val_if_fail (key != NULL, NULL);

  old = nb_mgmt_store_get_setup_key (store, account_id, key->id, error);
  if (old == NULL)
    return NULL;
  if (old->revoked && !key->revoked)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT,
                   "A revoked setup key cannot be reactivated: create a new one");
      return NULL;
    }
  if (key->name != NULL && !nb_mgmt_check_name (key->name, "name of the setup key", 255, error))
    return NULL;
  if (nb_mgmt_strv_has_duplicates (key->auto_groups))
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT,
                   "auto_groups lists a group twice");
      return NULL;
    }

  if (!nb_mgmt_transaction_begin (&tx, store, error))
    return NULL;
  stmt = nb_mgmt_store_prepare (store,
                                "UPDATE setup_keys SET revoked = ?2, name = coalesce(?3, name), updated_at = ?4 "
                                "WHERE id = ?1", error);
  if (stmt == NULL)
    return NULL;
  nb_mgmt_bind_text (stmt, 1, key->id);
  nb_mgmt_bind_int64 (stmt, 2, key->revoked ? 1 : 0);
  nb_mgmt_bind_text (stmt, 3, key->name);
  nb_mgmt_bind_int64 (stmt, 4, nb_mgmt_store_now (store));
  if (!nb_mgmt_store_step_done (store, stmt, "setup key", error) ||
      !nb_mgmt_store_write_group_refs (store, account_id, key->id, "setup_key.auto_groups",
                                       key->auto_groups, FALSE, "auto_groups", error) ||
      !nb_mgmt_store_add_diff_events (store, account_id, actor_id, old->auto_groups, key->auto_groups,
                                      "setupkey.group.add", "setupkey.group.delete", key->id, "group",
                                      NULL, NULL, error))
    return NULL;
  if (!old->revoked && key->revoked &&
      !nb_mgmt_store_add_event (store, account_id, actor_id, "setupkey.revoke", key->id, error,
                                "name", old->name, NULL))
    return NULL;
  if (!nb_mgmt_store_add_event (store, account_id, actor_id, "setupkey.update", key->id, error,
                                "name", key->name != NULL ? key->name : old->name, NULL) ||
      !nb_mgmt_store_note_change (store, account_id, NB_MGMT_CHANGE_SETUP_KEY, key->id, NULL,
                                  FALSE, error) ||
      !nb_mgmt_transaction_commit (&tx, error))
    return NULL;
  return nb_mgmt_store_get_setup_key (store, account_id, key->id, error);
}

/**
 * nb_mgmt_store_delete_setup_key:
 * @store: a store
 * @account_id: the account
 * @actor_id: (nullable): who deletes it
 * @key_id: the setup key
 * @error: return location for a #GError
 *
 * Peers registered with it stay.
 *
 * Returns: %TRUE on success
 */
gboolean
nb_mgmt_store_delete_setup_key (NbMgmtStore *store,
                                const char  *account_id,
                                const char  *actor_id,
                                const char  *key_id,
                                GError     **error)
{
  g_autoptr(NbMgmtSetupKey) old = NULL;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), FALSE);

  old = nb_mgmt_store_get_setup_key (store, account_id, key_id, error);
  if (old == NULL)
    return FALSE;
  /* A setup key is not part of any network map: no serial bump. */
  return nb_mgmt_store_delete_object (store, account_id, actor_id, "DELETE FROM setup_keys WHERE id = ?1",
                                      key_id, "setup key", "setupkey.delete", old->name,
                                      NB_MGMT_CHANGE_SETUP_KEY, FALSE, error);
}
