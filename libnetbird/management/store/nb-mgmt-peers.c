/* nb-mgmt-peers.c: peer records: reading, updating, deleting, expiring
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-mgmt-store"

#include "nb-mgmt-store-private.h"

#define PEER_COLUMNS \
  "id, account_id, key, name, dns_label, ip, hostname, goos, kernel, kernel_version, core, " \
  "platform, os, os_version, netbird_version, ui_version, user_id, setup_key_id, ssh_enabled, " \
  "ssh_key, login_expiration_enabled, last_login, last_seen, connected, ephemeral, created_at, login_expired"

static NbMgmtPeer *
peer_from_row (sqlite3_stmt *stmt)
{
  NbMgmtPeer *p = g_new0 (NbMgmtPeer, 1);

  p->id = nb_mgmt_column_dup (stmt, 0);
  p->account_id = nb_mgmt_column_dup (stmt, 1);
  p->key = nb_mgmt_column_dup (stmt, 2);
  p->name = nb_mgmt_column_dup (stmt, 3);
  p->dns_label = nb_mgmt_column_dup (stmt, 4);
  p->ip = nb_mgmt_ip_to_string ((guint32) sqlite3_column_int64 (stmt, 5));
  p->meta.hostname = nb_mgmt_column_dup (stmt, 6);
  p->meta.goos = nb_mgmt_column_dup (stmt, 7);
  p->meta.kernel = nb_mgmt_column_dup (stmt, 8);
  p->meta.kernel_version = nb_mgmt_column_dup (stmt, 9);
  p->meta.core = nb_mgmt_column_dup (stmt, 10);
  p->meta.platform = nb_mgmt_column_dup (stmt, 11);
  p->meta.os = nb_mgmt_column_dup (stmt, 12);
  p->meta.os_version = nb_mgmt_column_dup (stmt, 13);
  p->meta.netbird_version = nb_mgmt_column_dup (stmt, 14);
  p->meta.ui_version = nb_mgmt_column_dup (stmt, 15);
  p->user_id = nb_mgmt_column_dup (stmt, 16);
  p->setup_key_id = nb_mgmt_column_dup (stmt, 17);
  p->ssh_enabled = sqlite3_column_int (stmt, 18);
  p->ssh_key = nb_mgmt_column_dup (stmt, 19);
  p->login_expiration_enabled = sqlite3_column_int (stmt, 20);
  p->last_login = sqlite3_column_int64 (stmt, 21);
  p->last_seen = sqlite3_column_int64 (stmt, 22);
  p->connected = sqlite3_column_int (stmt, 23);
  p->ephemeral = sqlite3_column_int (stmt, 24);
  p->created_at = sqlite3_column_int64 (stmt, 25);
  p->login_expired = sqlite3_column_int (stmt, 26);
  return p;
}

static gboolean
fill_peer_groups (NbMgmtStore *store,
                  NbMgmtPeer  *peer,
                  GError     **error)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  sqlite3_stmt *stmt;
  gboolean has_row;

  stmt = nb_mgmt_store_prepare (store,
                                "SELECT gp.group_id FROM group_peers gp JOIN groups g ON g.id = gp.group_id "
                                "WHERE gp.peer_id = ?1 ORDER BY g.name = 'All' DESC, g.name, g.id", error);
  if (stmt == NULL)
    return FALSE;
  nb_mgmt_bind_text (stmt, 1, peer->id);
  while (TRUE)
    {
      if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
        return FALSE;
      if (!has_row)
        break;
      g_strv_builder_add (builder, nb_mgmt_column_text (stmt, 0));
    }
  g_strfreev (peer->groups);
  peer->groups = g_strv_builder_end (builder);
  return TRUE;
}

/**
 * nb_mgmt_store_get_peer:
 * @store: a store
 * @account_id: the account
 * @peer_id: the peer
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the peer with its groups, or %NULL (NOT_FOUND)
 */
NbMgmtPeer *
nb_mgmt_store_get_peer (NbMgmtStore *store,
                        const char  *account_id,
                        const char  *peer_id,
                        GError     **error)
{
  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  /* No account (?2 left NULL) matches no row: NOT_FOUND as for a wrong one. */
  return nb_mgmt_store_get_one (store, "SELECT " PEER_COLUMNS " FROM peers WHERE id = ?1 AND account_id = ?2",
                                account_id, peer_id, "Peer", (NbMgmtRowFunc) peer_from_row,
                                (NbMgmtFillFunc) fill_peer_groups, (GDestroyNotify) nb_mgmt_peer_free, error);
}

/**
 * nb_mgmt_store_get_peer_by_key:
 * @store: a store
 * @peer_key: a WireGuard public key, base64
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the peer, in whichever account, or %NULL
 *   (NOT_FOUND)
 */
NbMgmtPeer *
nb_mgmt_store_get_peer_by_key (NbMgmtStore *store,
                               const char  *peer_key,
                               GError     **error)
{
  GError *local = NULL;
  NbMgmtPeer *peer;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  peer = nb_mgmt_store_get_one (store, "SELECT " PEER_COLUMNS " FROM peers WHERE key = ?1",
                                NULL, peer_key, "Peer", (NbMgmtRowFunc) peer_from_row,
                                (NbMgmtFillFunc) fill_peer_groups, (GDestroyNotify) nb_mgmt_peer_free, &local);
  /* By key, NOT_FOUND tells a client what to do: register. */
  if (g_error_matches (local, NB_MGMT_ERROR, NB_MGMT_ERROR_NOT_FOUND))
    {
      g_clear_error (&local);
      g_set_error_literal (&local, NB_MGMT_ERROR, NB_MGMT_ERROR_NOT_FOUND, "The peer is not registered");
    }
  if (local != NULL)
    g_propagate_error (error, local);
  return peer;
}

/**
 * nb_mgmt_store_list_peers:
 * @store: a store
 * @account_id: the account
 * @user_id: (nullable): only this user's peers
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (element-type NbMgmtPeer): the peers with their
 *   groups, by address
 */
GPtrArray *
nb_mgmt_store_list_peers (NbMgmtStore *store,
                          const char  *account_id,
                          const char  *user_id,
                          GError     **error)
{
  g_autoptr(GPtrArray) peers = NULL;
  g_autoptr(GHashTable) by_id = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) builders = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL,
                                                          (GDestroyNotify) g_strv_builder_unref);
  sqlite3_stmt *stmt;
  gboolean has_row;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  if (!nb_mgmt_store_account_exists (store, account_id, error))
    return NULL;
  stmt = nb_mgmt_store_prepare (store,
                                "SELECT " PEER_COLUMNS " FROM peers WHERE account_id = ?1 "
                                "AND (?2 IS NULL OR user_id = ?2) ORDER BY ip", error);
  if (stmt == NULL)
    return NULL;
  nb_mgmt_bind_text (stmt, 1, account_id);
  nb_mgmt_bind_text (stmt, 2, user_id);
  peers = nb_mgmt_store_read_all (store, stmt, (NbMgmtRowFunc) peer_from_row, NULL,
                                  (GDestroyNotify) nb_mgmt_peer_free, error);
  if (peers == NULL)
    return NULL;
  for (guint i = 0; i < peers->len; i++)
    {
      NbMgmtPeer *peer = peers->pdata[i];

      g_hash_table_insert (by_id, peer->id, peer);
      g_hash_table_insert (builders, peer, g_strv_builder_new ());
    }

  /* One query for every membership instead of one per peer. */
  stmt = nb_mgmt_store_prepare (store,
                                "SELECT gp.peer_id, gp.group_id FROM group_peers gp "
                                "JOIN groups g ON g.id = gp.group_id WHERE g.account_id = ?1 "
                                "ORDER BY g.name = 'All' DESC, g.name, g.id", error);
  if (stmt == NULL)
    return NULL;
  nb_mgmt_bind_text (stmt, 1, account_id);
  while (TRUE)
    {
      NbMgmtPeer *peer;

      if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
        return NULL;
      if (!has_row)
        break;
      peer = g_hash_table_lookup (by_id, nb_mgmt_column_text (stmt, 0));
      if (peer != NULL)
        g_strv_builder_add (g_hash_table_lookup (builders, peer), nb_mgmt_column_text (stmt, 1));
    }
  for (guint i = 0; i < peers->len; i++)
    {
      NbMgmtPeer *peer = peers->pdata[i];
      peer->groups = g_strv_builder_end (g_hash_table_lookup (builders, peer));
    }
  return g_steal_pointer (&peers);
}

/**
 * nb_mgmt_store_set_peer_connected:
 * @store: a store
 * @peer_key: the peer's WireGuard public key
 * @connected: whether its sync channel is open
 * @error: return location for a #GError
 *
 * Returns: %TRUE on success
 */
gboolean
nb_mgmt_store_set_peer_connected (NbMgmtStore *store,
                                  const char  *peer_key,
                                  gboolean     connected,
                                  GError     **error)
{
  g_auto(NbMgmtTransaction) tx = NB_MGMT_TRANSACTION_INIT;
  g_autoptr(NbMgmtPeer) peer = NULL;
  sqlite3_stmt *stmt;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), FALSE);

  peer = nb_mgmt_store_get_peer_by_key (store, peer_key, error);
  if (peer == NULL)
    return FALSE;
  /* Runtime state: no fsync (a killed process still keeps it). */
  if (!nb_mgmt_transaction_begin_relaxed (&tx, store, error))
    return FALSE;
  stmt = nb_mgmt_store_prepare (store, "UPDATE peers SET connected = ?2, last_seen = ?3 WHERE id = ?1",
                                error);
  if (stmt == NULL)
    return FALSE;
  nb_mgmt_bind_text (stmt, 1, peer->id);
  nb_mgmt_bind_int64 (stmt, 2, connected ? 1 : 0);
  nb_mgmt_bind_int64 (stmt, 3, nb_mgmt_store_now (store));
  if (!nb_mgmt_store_step_done (store, stmt, "peer", error) ||
      !nb_mgmt_store_note_change (store, peer->account_id, NB_MGMT_CHANGE_PEER_STATUS, peer->id,
                                  peer->key, FALSE, error))
    return FALSE;
  return nb_mgmt_transaction_commit (&tx, error);
}

static gboolean
peer_routes_count (NbMgmtStore *store,
                   const char  *peer_id,
                   gint64      *count,
                   GError     **error)
{
  sqlite3_stmt *stmt = nb_mgmt_store_prepare (store, "SELECT count(*) FROM routes WHERE peer_id = ?1", error);
  gboolean has_row;

  if (stmt == NULL)
    return FALSE;
  nb_mgmt_bind_text (stmt, 1, peer_id);
  if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
    return FALSE;
  *count = has_row ? sqlite3_column_int64 (stmt, 0) : 0;
  sqlite3_reset (stmt);
  return TRUE;
}

gboolean
nb_mgmt_store_delete_peer_in_tx (NbMgmtStore *store,
                                 const char  *account_id,
                                 const char  *actor_id,
                                 const char  *peer_id,
                                 const char  *activity_code,
                                 GError     **error)
{
  g_autoptr(NbMgmtPeer) peer = NULL;
  sqlite3_stmt *stmt;
  gint64 routes;

  peer = nb_mgmt_store_get_peer (store, account_id, peer_id, error);
  if (peer == NULL)
    return FALSE;
  if (!peer_routes_count (store, peer_id, &routes, error))
    return FALSE;
  if (routes > 0)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PRECONDITION_FAILED,
                   "Peer %s routes %" G_GINT64_FORMAT " route(s): delete or change them first",
                   peer->name, routes);
      return FALSE;
    }
  stmt = nb_mgmt_store_prepare (store, "DELETE FROM peers WHERE id = ?1", error);
  if (stmt == NULL)
    return FALSE;
  nb_mgmt_bind_text (stmt, 1, peer_id);
  return nb_mgmt_store_step_done (store, stmt, "peer", error) &&
         nb_mgmt_store_add_event (store, account_id, actor_id, activity_code, peer_id, error,
                                  "name", peer->name, "ip", peer->ip, NULL) &&
         nb_mgmt_store_note_change (store, account_id, NB_MGMT_CHANGE_PEER_DELETED, peer_id,
                                    peer->key, TRUE, error);
}

/**
 * nb_mgmt_store_delete_peer:
 * @store: a store
 * @account_id: the account
 * @actor_id: (nullable): who deletes it
 * @peer_id: the peer
 * @error: return location for a #GError
 *
 * Returns: %TRUE on success; PRECONDITION_FAILED while a route goes
 *   through the peer
 */
gboolean
nb_mgmt_store_delete_peer (NbMgmtStore *store,
                           const char  *account_id,
                           const char  *actor_id,
                           const char  *peer_id,
                           GError     **error)
{
  g_auto(NbMgmtTransaction) tx = NB_MGMT_TRANSACTION_INIT;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), FALSE);

  return nb_mgmt_transaction_begin (&tx, store, error) &&
         nb_mgmt_store_delete_peer_in_tx (store, account_id, actor_id, peer_id, "user.peer.delete", error) &&
         nb_mgmt_transaction_commit (&tx, error);
}

/**
 * nb_mgmt_store_delete_idle_ephemeral_peers:
 * @store: a store
 * @max_idle_seconds: how long an ephemeral peer may stay disconnected
 * @out_deleted: (out) (optional): how many were deleted
 * @error: return location for a #GError
 *
 * Returns: %TRUE on success
 */
gboolean
nb_mgmt_store_delete_idle_ephemeral_peers (NbMgmtStore *store,
                                           gint64       max_idle_seconds,
                                           guint       *out_deleted,
                                           GError     **error)
{
  g_auto(NbMgmtTransaction) tx = NB_MGMT_TRANSACTION_INIT;
  g_autoptr(GPtrArray) victims = g_ptr_array_new_with_free_func (g_free);
  sqlite3_stmt *stmt;
  gboolean has_row;
  guint deleted = 0;
  gint64 threshold = nb_mgmt_store_now (store) - max_idle_seconds;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), FALSE);

  if (out_deleted != NULL)
    *out_deleted = 0;
  stmt = nb_mgmt_store_prepare (store,
                                "SELECT account_id, id FROM peers WHERE ephemeral = 1 AND connected = 0 "
                                "AND max(last_seen, last_login, created_at) < ?1 "
                                "AND id NOT IN (SELECT peer_id FROM routes WHERE peer_id IS NOT NULL)", error);
  if (stmt == NULL)
    return FALSE;
  nb_mgmt_bind_int64 (stmt, 1, threshold);
  while (TRUE)
    {
      if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
        return FALSE;
      if (!has_row)
        break;
      g_ptr_array_add (victims, nb_mgmt_column_dup (stmt, 0));
      g_ptr_array_add (victims, nb_mgmt_column_dup (stmt, 1));
    }
  if (victims->len == 0)
    return TRUE;

  if (!nb_mgmt_transaction_begin (&tx, store, error))
    return FALSE;
  for (guint i = 0; i + 1 < victims->len; i += 2)
    {
      if (!nb_mgmt_store_delete_peer_in_tx (store, victims->pdata[i], NULL, victims->pdata[i + 1],
                                            "ephemeral.peer.delete", error))
        return FALSE;
      deleted++;
    }
  if (!nb_mgmt_transaction_commit (&tx, error))
    return FALSE;
  if (out_deleted != NULL)
    *out_deleted = deleted;
  return TRUE;
}

/**
 * nb_mgmt_store_expire_peer_logins:
 * @store: a store
 * @out_expired: (out) (optional): how many peers expired now
 * @error: return location for a #GError
 *
 * Returns: %TRUE on success
 */
gboolean
nb_mgmt_store_expire_peer_logins (NbMgmtStore *store,
                                  guint       *out_expired,
                                  GError     **error)
{
  g_auto(NbMgmtTransaction) tx = NB_MGMT_TRANSACTION_INIT;
  g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func ((GDestroyNotify) nb_mgmt_peer_free);
  sqlite3_stmt *stmt;
  gboolean has_row;
  gint64 now = nb_mgmt_store_now (store);

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), FALSE);

  if (out_expired != NULL)
    *out_expired = 0;
  stmt = nb_mgmt_store_prepare (store,
                                "SELECT p.id, p.account_id, p.key, p.name, p.user_id FROM peers p "
                                "JOIN accounts a ON a.id = p.account_id "
                                "WHERE p.user_id IS NOT NULL AND p.login_expired = 0 "
                                "AND p.login_expiration_enabled = 1 AND a.login_expiration_enabled = 1 "
                                "AND p.last_login + a.login_expiration <= ?1", error);
  if (stmt == NULL)
    return FALSE;
  nb_mgmt_bind_int64 (stmt, 1, now);
  while (TRUE)
    {
      NbMgmtPeer *p;

      if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
        return FALSE;
      if (!has_row)
        break;
      p = g_new0 (NbMgmtPeer, 1);
      p->id = nb_mgmt_column_dup (stmt, 0);
      p->account_id = nb_mgmt_column_dup (stmt, 1);
      p->key = nb_mgmt_column_dup (stmt, 2);
      p->name = nb_mgmt_column_dup (stmt, 3);
      p->user_id = nb_mgmt_column_dup (stmt, 4);
      g_ptr_array_add (found, p);
    }
  if (found->len == 0)
    return TRUE;

  if (!nb_mgmt_transaction_begin (&tx, store, error))
    return FALSE;
  for (guint i = 0; i < found->len; i++)
    {
      NbMgmtPeer *p = found->pdata[i];

      stmt = nb_mgmt_store_prepare (store, "UPDATE peers SET login_expired = 1 WHERE id = ?1", error);
      if (stmt == NULL)
        return FALSE;
      nb_mgmt_bind_text (stmt, 1, p->id);
      if (!nb_mgmt_store_step_done (store, stmt, "peer", error) ||
          !nb_mgmt_store_add_event (store, p->account_id, NULL, "peer.login.expire", p->id, error,
                                    "name", p->name, NULL) ||
          !nb_mgmt_store_note_change (store, p->account_id, NB_MGMT_CHANGE_PEER_UPDATED, p->id, p->key,
                                      TRUE, error))
        return FALSE;
    }
  if (!nb_mgmt_transaction_commit (&tx, error))
    return FALSE;
  if (out_expired != NULL)
    *out_expired = found->len;
  return TRUE;
}

/**
 * nb_mgmt_store_update_peer:
 * @store: a store
 * @account_id: the account
 * @actor_id: (nullable): who changes it
 * @peer: the peer (by @peer->id) with its new name (%NULL keeps it),
 *   ssh_enabled and login_expiration_enabled
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the updated peer, or %NULL with @error set
 */
NbMgmtPeer *
nb_mgmt_store_update_peer (NbMgmtStore      *store,
                           const char       *account_id,
                           const char       *actor_id,
                           const NbMgmtPeer *peer,
                           GError          **error)
{
  g_auto(NbMgmtTransaction) tx = NB_MGMT_TRANSACTION_INIT;
  g_autoptr(NbMgmtPeer) old = NULL;
  g_autofree char *label = NULL;
  sqlite3_stmt *stmt;
  gboolean renamed;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);
  g_return_val_if_fail (peer != NULL, NULL);

  if (peer->name != NULL && !nb_mgmt_check_name (peer->name, "name of the peer", NB_MGMT_PEER_META_MAX, error))
    return NULL;
  old = nb_mgmt_store_get_peer (store, account_id, peer->id, error);
  if (old == NULL)
    return NULL;
  renamed = peer->name != NULL && g_strcmp0 (peer->name, old->name) != 0;

  if (!nb_mgmt_transaction_begin (&tx, store, error))
    return NULL;
  if (renamed)
    {
      label = nb_mgmt_store_unique_dns_label (store, account_id, peer->name, peer->id, error);
      if (label == NULL)
        return NULL;
    }
  stmt = nb_mgmt_store_prepare (store,
                                "UPDATE peers SET name = coalesce(?2, name), dns_label = coalesce(?3, dns_label), "
                                "ssh_enabled = ?4, login_expiration_enabled = ?5 WHERE id = ?1", error);
  if (stmt == NULL)
    return NULL;
  nb_mgmt_bind_text (stmt, 1, peer->id);
  nb_mgmt_bind_text (stmt, 2, renamed ? peer->name : NULL);
  nb_mgmt_bind_text (stmt, 3, label);
  nb_mgmt_bind_int64 (stmt, 4, peer->ssh_enabled ? 1 : 0);
  nb_mgmt_bind_int64 (stmt, 5, peer->login_expiration_enabled ? 1 : 0);
  if (!nb_mgmt_store_step_done (store, stmt, "peer", error))
    return NULL;
  if (renamed &&
      !nb_mgmt_store_add_event (store, account_id, actor_id, "peer.rename", peer->id, error,
                                "old_name", old->name, "name", peer->name, "dns_label", label, NULL))
    return NULL;
  if (old->ssh_enabled != peer->ssh_enabled &&
      !nb_mgmt_store_add_event (store, account_id, actor_id,
                                peer->ssh_enabled ? "peer.ssh.enable" : "peer.ssh.disable",
                                peer->id, error, "name", old->name, NULL))
    return NULL;
  if (old->login_expiration_enabled != peer->login_expiration_enabled &&
      !nb_mgmt_store_add_event (store, account_id, actor_id,
                                peer->login_expiration_enabled ? "peer.login.expiration.enable"
                                                               : "peer.login.expiration.disable",
                                peer->id, error, "name", old->name, NULL))
    return NULL;
  if (!nb_mgmt_store_note_change (store, account_id, NB_MGMT_CHANGE_PEER_UPDATED, peer->id, old->key,
                                  TRUE, error) ||
      !nb_mgmt_transaction_commit (&tx, error))
    return NULL;
  return nb_mgmt_store_get_peer (store, account_id, peer->id, error);
}
