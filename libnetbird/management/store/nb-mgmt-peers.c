/* nb-mgmt-peers.c: peer registration and login, addresses and DNS labels
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-mgmt-store"

#include <string.h>

#include "nb-key.h"
#include "nb-mgmt-store-private.h"

/* ---- Peers --------------------------------------------------------------- */

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

static NbMgmtPeer *
get_peer_where (NbMgmtStore *store,
                const char  *sql,
                const char  *arg1,
                const char  *arg2,
                const char  *what,
                GError     **error)
{
  g_autoptr(NbMgmtPeer) peer = NULL;
  sqlite3_stmt *stmt;
  gboolean has_row;

  stmt = nb_mgmt_store_prepare (store, sql, error);
  if (stmt == NULL)
    return NULL;
  nb_mgmt_bind_text (stmt, 1, arg1);
  if (arg2 != NULL)
    nb_mgmt_bind_text (stmt, 2, arg2);
  if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
    return NULL;
  if (!has_row)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_NOT_FOUND, "%s", what);
      return NULL;
    }
  peer = peer_from_row (stmt);
  sqlite3_reset (stmt);
  if (!fill_peer_groups (store, peer, error))
    return NULL;
  return g_steal_pointer (&peer);
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
  g_autofree char *what = g_strdup_printf ("Peer %s not found", peer_id != NULL ? peer_id : "(none)");

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);
  if (account_id == NULL)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_NOT_FOUND, "%s", what);
      return NULL;
    }
  return get_peer_where (store, "SELECT " PEER_COLUMNS " FROM peers WHERE id = ?1 AND account_id = ?2",
                         peer_id, account_id, what, error);
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
  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);
  return get_peer_where (store, "SELECT " PEER_COLUMNS " FROM peers WHERE key = ?1",
                         peer_key, NULL, "The peer is not registered", error);
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
  g_autoptr(GPtrArray) peers = g_ptr_array_new_with_free_func ((GDestroyNotify) nb_mgmt_peer_free);
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
  while (TRUE)
    {
      NbMgmtPeer *peer;

      if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
        return NULL;
      if (!has_row)
        break;
      peer = peer_from_row (stmt);
      g_ptr_array_add (peers, peer);
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

/* The lowest free address offset at or after the account's next one;
 * wraps to the lowest free one when the top is reached, so freed addresses
 * are reused only once the range has been used up. */
static gboolean
allocate_ip (NbMgmtStore *store,
             const char  *account_id,
             guint32     *out_ip,
             GError     **error)
{
  sqlite3_stmt *stmt;
  gboolean has_row;
  guint32 network, size, next, candidate = 0;
  guint prefix;

  stmt = nb_mgmt_store_prepare (store,
                                "SELECT network_addr, network_prefix, next_ip FROM accounts WHERE id = ?1", error);
  if (stmt == NULL)
    return FALSE;
  nb_mgmt_bind_text (stmt, 1, account_id);
  if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
    return FALSE;
  if (!has_row)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_NOT_FOUND, "Account %s not found", account_id);
      return FALSE;
    }
  network = (guint32) sqlite3_column_int64 (stmt, 0);
  prefix = (guint) sqlite3_column_int (stmt, 1);
  next = (guint32) sqlite3_column_int64 (stmt, 2);
  sqlite3_reset (stmt);
  size = prefix >= 31 ? 0 : (1u << (32 - prefix));

  if (size >= 4 && next >= 1 && next <= size - 2)
    {
      stmt = nb_mgmt_store_prepare (store, "SELECT 1 FROM peers WHERE account_id = ?1 AND ip = ?2", error);
      if (stmt == NULL)
        return FALSE;
      nb_mgmt_bind_text (stmt, 1, account_id);
      nb_mgmt_bind_int64 (stmt, 2, network + next);
      if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
        return FALSE;
      sqlite3_reset (stmt);
      if (!has_row)
        candidate = next;
    }
  if (candidate == 0 && size >= 4)
    {
      /* Walk the used addresses in order and take the first gap. */
      guint32 expect = 1;

      stmt = nb_mgmt_store_prepare (store, "SELECT ip FROM peers WHERE account_id = ?1 ORDER BY ip", error);
      if (stmt == NULL)
        return FALSE;
      nb_mgmt_bind_text (stmt, 1, account_id);
      while (TRUE)
        {
          guint32 off;

          if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
            return FALSE;
          if (!has_row)
            break;
          off = (guint32) sqlite3_column_int64 (stmt, 0) - network;
          if (off > expect)
            break;
          if (off == expect)
            expect++;
        }
      sqlite3_reset (stmt);
      if (expect <= size - 2)
        candidate = expect;
    }
  if (candidate == 0)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_EXHAUSTED,
                   "The account network has no free address left");
      return FALSE;
    }
  stmt = nb_mgmt_store_prepare (store, "UPDATE accounts SET next_ip = ?2 WHERE id = ?1", error);
  if (stmt == NULL)
    return FALSE;
  nb_mgmt_bind_text (stmt, 1, account_id);
  nb_mgmt_bind_int64 (stmt, 2, candidate + 1);
  if (!nb_mgmt_store_step_done (store, stmt, "account", error))
    return FALSE;
  *out_ip = network + candidate;
  return TRUE;
}

static char *
suffixed_label (const char *base,
                guint       n)
{
  g_autofree char *suffix = NULL;

  if (n == 0)
    return g_strdup (base);
  suffix = g_strdup_printf ("-%u", n);
  /* Keep the label within 63 characters. */
  return g_strdup_printf ("%.*s%s", (int) MIN (strlen (base), 63 - strlen (suffix)), base, suffix);
}

static gboolean
label_taken (NbMgmtStore *store,
             const char  *account_id,
             const char  *label,
             const char  *except_peer_id,
             gboolean    *taken,
             GError     **error)
{
  sqlite3_stmt *stmt = nb_mgmt_store_prepare (store,
                                              "SELECT 1 FROM peers WHERE account_id = ?1 AND dns_label = ?2 "
                                              "AND (?3 IS NULL OR id <> ?3)", error);

  if (stmt == NULL)
    return FALSE;
  nb_mgmt_bind_text (stmt, 1, account_id);
  nb_mgmt_bind_text (stmt, 2, label);
  nb_mgmt_bind_text (stmt, 3, except_peer_id);
  if (!nb_mgmt_store_step_row (store, stmt, taken, error))
    return FALSE;
  sqlite3_reset (stmt);
  return TRUE;
}

/* `label`, else `label-1`, `label-2`... a label no other peer of the
 * account uses. Registering thousands of machines with one host name must
 * not cost a query (or a row) per machine already there: when `label` is
 * taken, count the labels `label` and `label-N` (one index range, counted
 * inside SQLite) and try `label-<count>`, the next in line when none was
 * deleted; only if that fails too, read the range once and take the first
 * free suffix. Labels are [a-z0-9-], all below '~'; a long base is cut for
 * its suffix, so the range starts at its first 50 characters. */
static char *
unique_dns_label (NbMgmtStore *store,
                  const char  *account_id,
                  const char  *name,
                  const char  *except_peer_id,
                  GError     **error)
{
  g_autofree char *base = nb_mgmt_dns_label_from_name (name);
  g_autofree char *prefix = g_strndup (base, 50);
  g_autofree char *prefix_end = g_strconcat (prefix, "~", NULL);
  g_autoptr(GHashTable) taken_set = NULL;
  sqlite3_stmt *stmt;
  gboolean has_row, taken;
  gint64 count;

  if (!label_taken (store, account_id, base, except_peer_id, &taken, error))
    return NULL;
  if (!taken)
    return g_steal_pointer (&base);

  stmt = nb_mgmt_store_prepare (store,
                                "SELECT count(*) FROM peers WHERE account_id = ?1 AND dns_label >= ?2 "
                                "AND dns_label < ?3 AND (dns_label = ?4 OR dns_label GLOB ?4 || '-[0-9]*')",
                                error);
  if (stmt == NULL)
    return NULL;
  nb_mgmt_bind_text (stmt, 1, account_id);
  nb_mgmt_bind_text (stmt, 2, prefix);
  nb_mgmt_bind_text (stmt, 3, prefix_end);
  nb_mgmt_bind_text (stmt, 4, base);
  if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
    return NULL;
  count = has_row ? sqlite3_column_int64 (stmt, 0) : 0;
  sqlite3_reset (stmt);
  if (count > 0)
    {
      g_autofree char *label = suffixed_label (base, (guint) count);
      if (!label_taken (store, account_id, label, except_peer_id, &taken, error))
        return NULL;
      if (!taken)
        return g_steal_pointer (&label);
    }

  taken_set = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  stmt = nb_mgmt_store_prepare (store,
                                "SELECT dns_label FROM peers WHERE account_id = ?1 AND dns_label >= ?2 "
                                "AND dns_label < ?3 AND (?4 IS NULL OR id <> ?4)", error);
  if (stmt == NULL)
    return NULL;
  nb_mgmt_bind_text (stmt, 1, account_id);
  nb_mgmt_bind_text (stmt, 2, prefix);
  nb_mgmt_bind_text (stmt, 3, prefix_end);
  nb_mgmt_bind_text (stmt, 4, except_peer_id);
  while (TRUE)
    {
      if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
        return NULL;
      if (!has_row)
        break;
      g_hash_table_add (taken_set, nb_mgmt_column_dup (stmt, 0));
    }
  for (guint n = 1; n < 1000000; n++)
    {
      g_autofree char *label = suffixed_label (base, n);
      if (!g_hash_table_contains (taken_set, label))
        return g_steal_pointer (&label);
    }
  g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_EXHAUSTED,
               "No free DNS label for \"%s\"", base);
  return NULL;
}

static gboolean
add_to_group (NbMgmtStore *store,
              const char  *group_id,
              const char  *peer_id,
              GError     **error)
{
  sqlite3_stmt *stmt = nb_mgmt_store_prepare (store,
                                              "INSERT OR IGNORE INTO group_peers (group_id, peer_id) "
                                              "VALUES (?1, ?2)", error);
  if (stmt == NULL)
    return FALSE;
  nb_mgmt_bind_text (stmt, 1, group_id);
  nb_mgmt_bind_text (stmt, 2, peer_id);
  return nb_mgmt_store_step_done (store, stmt, "group membership", error);
}

static gboolean
validate_peer_key (const char *peer_key,
                   GError    **error)
{
  g_autoptr(NbKey) key = NULL;
  g_autoptr(GError) local = NULL;

  if (peer_key == NULL)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT,
                   "The peer's WireGuard public key is missing");
      return FALSE;
    }
  key = nb_key_new_public_from_base64 (peer_key, &local);
  if (key == NULL)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT,
                   "The peer's WireGuard public key is not valid: %s", local->message);
      return FALSE;
    }
  return TRUE;
}

#define META_MAX 256

/* Inserts the peer inside the current transaction; the caller checked the
 * setup key or user. */
static char *
insert_peer (NbMgmtStore          *store,
             const char           *account_id,
             const char           *peer_key,
             const NbMgmtPeerMeta *meta,
             const char           *user_id,
             const char           *setup_key_id,
             gboolean              ephemeral,
             gboolean              login_expiration,
             char * const         *auto_groups,
             const char           *actor_id,
             const char           *activity_code,
             GError              **error)
{
  static const NbMgmtPeerMeta empty = { 0 };
  g_autofree char *id = nb_mgmt_new_id ();
  g_autofree char *name = NULL;
  g_autofree char *label = NULL;
  g_autofree char *all_id = NULL;
  g_autofree char *ip_text = NULL;
  sqlite3_stmt *stmt;
  guint32 ip;
  gint64 now = nb_mgmt_store_now (store);

  if (meta == NULL)
    meta = &empty;
  name = nb_mgmt_clean_text (meta->hostname != NULL && *meta->hostname != '\0'
                             ? meta->hostname : "peer", META_MAX);
  label = unique_dns_label (store, account_id, name, NULL, error);
  if (label == NULL || !allocate_ip (store, account_id, &ip, error))
    return NULL;
  all_id = nb_mgmt_store_all_group_id (store, account_id, error);
  if (all_id == NULL)
    return NULL;

  stmt = nb_mgmt_store_prepare (store,
                                "INSERT INTO peers (id, account_id, key, name, dns_label, ip, hostname, goos, "
                                "kernel, kernel_version, core, platform, os, os_version, netbird_version, "
                                "ui_version, user_id, setup_key_id, login_expiration_enabled, last_login, "
                                "last_seen, ephemeral, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
                                "?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?20, ?21, ?20)",
                                error);
  if (stmt == NULL)
    return NULL;
  nb_mgmt_bind_text (stmt, 1, id);
  nb_mgmt_bind_text (stmt, 2, account_id);
  nb_mgmt_bind_text (stmt, 3, peer_key);
  nb_mgmt_bind_text (stmt, 4, name);
  nb_mgmt_bind_text (stmt, 5, label);
  nb_mgmt_bind_int64 (stmt, 6, ip);
  {
    const char *fields[] = { meta->hostname, meta->goos, meta->kernel, meta->kernel_version,
                             meta->core, meta->platform, meta->os, meta->os_version,
                             meta->netbird_version, meta->ui_version };
    for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
      {
        g_autofree char *clean = nb_mgmt_clean_text (fields[i], META_MAX);
        nb_mgmt_bind_text (stmt, 7 + i, clean);
      }
  }
  nb_mgmt_bind_text (stmt, 17, user_id);
  nb_mgmt_bind_text (stmt, 18, setup_key_id);
  nb_mgmt_bind_int64 (stmt, 19, login_expiration ? 1 : 0);
  nb_mgmt_bind_int64 (stmt, 20, now);
  nb_mgmt_bind_int64 (stmt, 21, ephemeral ? 1 : 0);
  if (!nb_mgmt_store_step_done (store, stmt, "A peer with this WireGuard key", error))
    return NULL;
  if (!add_to_group (store, all_id, id, error))
    return NULL;
  for (guint i = 0; auto_groups != NULL && auto_groups[i] != NULL; i++)
    if (!add_to_group (store, auto_groups[i], id, error))
      return NULL;
  ip_text = nb_mgmt_ip_to_string (ip);
  if (!nb_mgmt_store_add_event (store, account_id, actor_id, activity_code, id, error,
                                "name", name, "ip", ip_text, "dns_label", label, NULL) ||
      !nb_mgmt_store_note_change (store, account_id, NB_MGMT_CHANGE_PEER_ADDED, id, peer_key,
                                  TRUE, error))
    return NULL;
  return g_steal_pointer (&id);
}

/**
 * nb_mgmt_store_register_peer:
 * @store: a store
 * @setup_key: the setup key the peer presents
 * @peer_key: the peer's WireGuard public key, base64
 * @meta: (nullable): its system meta
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the new peer, or %NULL with @error set
 */
NbMgmtPeer *
nb_mgmt_store_register_peer (NbMgmtStore          *store,
                             const char           *setup_key,
                             const char           *peer_key,
                             const NbMgmtPeerMeta *meta,
                             GError              **error)
{
  g_autoptr(NbMgmtSetupKey) key = NULL;
  g_autofree char *hash = NULL;
  g_autofree char *peer_id = NULL;
  g_autofree char *account_id = NULL;
  sqlite3_stmt *stmt;
  gboolean has_row;
  gint64 now = nb_mgmt_store_now (store);

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  if (setup_key == NULL || *setup_key == '\0')
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_UNAUTHENTICATED,
                   "A setup key is required to register a new peer");
      return NULL;
    }
  if (!validate_peer_key (peer_key, error))
    return NULL;
  hash = nb_mgmt_hash_secret (setup_key);

  if (!nb_mgmt_store_begin (store, error))
    return NULL;
  /* Checked and counted inside the transaction: two registrations racing
   * for the last use of a key cannot both win. */
  stmt = nb_mgmt_store_prepare (store,
                                "SELECT " SETUP_KEY_COLUMNS " FROM setup_keys WHERE key_hash = ?1", error);
  if (stmt == NULL)
    goto fail;
  nb_mgmt_bind_text (stmt, 1, hash);
  if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
    goto fail;
  if (!has_row)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_UNAUTHENTICATED,
                   "The setup key is not valid");
      goto fail;
    }
  key = nb_mgmt_setup_key_from_row (stmt);
  sqlite3_reset (stmt);
  if (!nb_mgmt_store_fill_setup_key_groups (store, key, error))
    goto fail;
  switch (nb_mgmt_setup_key_get_state (key, now))
    {
    case NB_MGMT_SETUP_KEY_STATE_VALID:
      break;
    case NB_MGMT_SETUP_KEY_STATE_REVOKED:
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PRECONDITION_FAILED,
                   "The setup key \"%s\" was revoked", key->name);
      goto fail;
    case NB_MGMT_SETUP_KEY_STATE_EXPIRED:
      {
        g_autoptr(GDateTime) when = g_date_time_new_from_unix_utc (key->expires_at);
        g_autofree char *text = when != NULL ? g_date_time_format (when, "%F %T UTC") : g_strdup ("?");
        g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PRECONDITION_FAILED,
                     "The setup key \"%s\" expired on %s", key->name, text);
        goto fail;
      }
    case NB_MGMT_SETUP_KEY_STATE_OVERUSED:
      if (key->type == NB_MGMT_SETUP_KEY_ONE_OFF)
        g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PRECONDITION_FAILED,
                     "The one-off setup key \"%s\" was already used", key->name);
      else
        g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PRECONDITION_FAILED,
                     "The setup key \"%s\" reached its usage limit (%" G_GINT64_FORMAT ")",
                     key->name, key->usage_limit);
      goto fail;
    }

  stmt = nb_mgmt_store_prepare (store,
                                "UPDATE setup_keys SET used_times = used_times + 1, last_used = ?2 "
                                "WHERE id = ?1", error);
  if (stmt == NULL)
    goto fail;
  nb_mgmt_bind_text (stmt, 1, key->id);
  nb_mgmt_bind_int64 (stmt, 2, now);
  if (!nb_mgmt_store_step_done (store, stmt, "setup key", error))
    goto fail;

  peer_id = insert_peer (store, key->account_id, peer_key, meta, NULL, key->id, key->ephemeral,
                         FALSE, key->auto_groups, NULL, "setupkey.peer.add", error);
  if (peer_id == NULL || !nb_mgmt_store_commit (store, error))
    goto fail;
  account_id = g_strdup (key->account_id);
  return nb_mgmt_store_get_peer (store, account_id, peer_id, error);

fail:
  nb_mgmt_store_rollback (store);
  return NULL;
}

/* Interactive re-login of a user's peer: fresh login time, expiry cleared,
 * meta updated; address and label stay. */
static NbMgmtPeer *
renew_user_login (NbMgmtStore          *store,
                  const NbMgmtPeer     *peer,
                  const NbMgmtPeerMeta *meta,
                  GError              **error)
{
  sqlite3_stmt *stmt;

  if (!nb_mgmt_store_begin (store, error))
    return NULL;
  stmt = nb_mgmt_store_prepare (store,
                                "UPDATE peers SET last_login = ?2, login_expired = 0, "
                                "hostname = coalesce(?3, hostname), os = coalesce(?4, os), "
                                "os_version = coalesce(?5, os_version), "
                                "netbird_version = coalesce(?6, netbird_version) WHERE id = ?1", error);
  if (stmt == NULL)
    goto fail;
  nb_mgmt_bind_text (stmt, 1, peer->id);
  nb_mgmt_bind_int64 (stmt, 2, nb_mgmt_store_now (store));
  if (meta != NULL)
    {
      g_autofree char *hostname = nb_mgmt_clean_text (meta->hostname, META_MAX);
      g_autofree char *os = nb_mgmt_clean_text (meta->os, META_MAX);
      g_autofree char *os_version = nb_mgmt_clean_text (meta->os_version, META_MAX);
      g_autofree char *version = nb_mgmt_clean_text (meta->netbird_version, META_MAX);
      nb_mgmt_bind_text (stmt, 3, hostname);
      nb_mgmt_bind_text (stmt, 4, os);
      nb_mgmt_bind_text (stmt, 5, os_version);
      nb_mgmt_bind_text (stmt, 6, version);
    }
  if (!nb_mgmt_store_step_done (store, stmt, "peer", error) ||
      !nb_mgmt_store_add_event (store, peer->account_id, peer->user_id, "user.peer.login", peer->id, error,
                                "name", peer->name, NULL) ||
      !nb_mgmt_store_note_change (store, peer->account_id, NB_MGMT_CHANGE_PEER_UPDATED, peer->id, peer->key,
                                  peer->login_expired, error) ||
      !nb_mgmt_store_commit (store, error))
    goto fail;
  return nb_mgmt_store_get_peer (store, peer->account_id, peer->id, error);

fail:
  nb_mgmt_store_rollback (store);
  return NULL;
}

/**
 * nb_mgmt_store_register_peer_for_user:
 * @store: a store
 * @account_id: the account
 * @user_id: the logged-in user adding the peer
 * @peer_key: the peer's WireGuard public key, base64
 * @meta: (nullable): its system meta
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the new peer, or %NULL with @error set
 */
NbMgmtPeer *
nb_mgmt_store_register_peer_for_user (NbMgmtStore          *store,
                                      const char           *account_id,
                                      const char           *user_id,
                                      const char           *peer_key,
                                      const NbMgmtPeerMeta *meta,
                                      GError              **error)
{
  g_autoptr(NbMgmtUser) user = NULL;
  g_autofree char *peer_id = NULL;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  if (!validate_peer_key (peer_key, error))
    return NULL;
  user = nb_mgmt_store_get_user (store, account_id, user_id, error);
  if (user == NULL)
    return NULL;
  if (user->is_blocked)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PERMISSION_DENIED,
                   "The user is blocked and cannot add peers");
      return NULL;
    }
  if (user->is_service_user)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PERMISSION_DENIED,
                   "A service user cannot add peers");
      return NULL;
    }
  {
    /* The same user logging the same machine in again renews it. */
    g_autoptr(NbMgmtPeer) known = nb_mgmt_store_get_peer_by_key (store, peer_key, NULL);
    if (known != NULL)
      {
        if (g_strcmp0 (known->account_id, account_id) != 0 || g_strcmp0 (known->user_id, user_id) != 0)
          {
            g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_ALREADY_EXISTS,
                         "A peer with this WireGuard key is already registered by someone else");
            return NULL;
          }
        return renew_user_login (store, known, meta, error);
      }
  }
  if (!nb_mgmt_store_begin (store, error))
    return NULL;
  peer_id = insert_peer (store, account_id, peer_key, meta, user_id, NULL, FALSE, TRUE,
                         user->auto_groups, user_id, "user.peer.add", error);
  if (peer_id == NULL || !nb_mgmt_store_commit (store, error))
    {
      nb_mgmt_store_rollback (store);
      return NULL;
    }
  return nb_mgmt_store_get_peer (store, account_id, peer_id, error);
}

/* Whether @incoming says something new: a NULL field keeps the stored one. */
static gboolean
peer_meta_differs (const NbMgmtPeerMeta *stored,
                   const NbMgmtPeerMeta *incoming)
{
  const char *a[] = { stored->hostname, stored->goos, stored->kernel, stored->kernel_version,
                      stored->core, stored->platform, stored->os, stored->os_version,
                      stored->netbird_version, stored->ui_version };
  const char *b[] = { incoming->hostname, incoming->goos, incoming->kernel, incoming->kernel_version,
                      incoming->core, incoming->platform, incoming->os, incoming->os_version,
                      incoming->netbird_version, incoming->ui_version };

  for (guint i = 0; i < G_N_ELEMENTS (a); i++)
    {
      g_autofree char *clean = nb_mgmt_clean_text (b[i], META_MAX);
      if (clean != NULL && g_strcmp0 (clean, a[i]) != 0)
        return TRUE;
    }
  return FALSE;
}

/**
 * nb_mgmt_store_login_peer:
 * @store: a store
 * @peer_key: a registered peer's WireGuard public key
 * @meta: (nullable): its system meta now; %NULL keeps the stored one
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the peer, with the address and label it had,
 *   or %NULL with @error set
 */
NbMgmtPeer *
nb_mgmt_store_login_peer (NbMgmtStore          *store,
                          const char           *peer_key,
                          const NbMgmtPeerMeta *meta,
                          GError              **error)
{
  g_autoptr(NbMgmtPeer) peer = NULL;
  g_autoptr(NbMgmtAccount) account = NULL;
  sqlite3_stmt *stmt;
  gboolean meta_changed;
  gint64 now = nb_mgmt_store_now (store);

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  peer = nb_mgmt_store_get_peer_by_key (store, peer_key, error);
  if (peer == NULL)
    return NULL;
  account = nb_mgmt_store_get_account (store, peer->account_id, error);
  if (account == NULL)
    return NULL;
  if (nb_mgmt_peer_login_expired (peer, &account->settings, now))
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PRECONDITION_FAILED,
                   "The peer's login expired: log in again with the user that added it");
      return NULL;
    }
  if (peer->user_id != NULL)
    {
      g_autoptr(NbMgmtUser) user = nb_mgmt_store_get_user (store, peer->account_id, peer->user_id, NULL);
      if (user != NULL && user->is_blocked)
        {
          g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PRECONDITION_FAILED,
                       "The user that added this peer is blocked");
          return NULL;
        }
    }

  /* A machine that reconnects with the same system tells nothing new: its
   * login time is runtime state (no fsync, no event). A changed system is
   * a change: durable, in the audit log. */
  meta_changed = meta != NULL && peer_meta_differs (&peer->meta, meta);
  if (!(meta_changed ? nb_mgmt_store_begin (store, error) : nb_mgmt_store_begin_relaxed (store, error)))
    return NULL;
  stmt = nb_mgmt_store_prepare (store,
                                "UPDATE peers SET hostname = coalesce(?2, hostname), goos = coalesce(?3, goos), "
                                "kernel = coalesce(?4, kernel), kernel_version = coalesce(?5, kernel_version), "
                                "core = coalesce(?6, core), platform = coalesce(?7, platform), "
                                "os = coalesce(?8, os), os_version = coalesce(?9, os_version), "
                                "netbird_version = coalesce(?10, netbird_version), "
                                "ui_version = coalesce(?11, ui_version), last_login = ?12 WHERE id = ?1", error);
  if (stmt == NULL)
    goto fail;
  nb_mgmt_bind_text (stmt, 1, peer->id);
  if (meta != NULL)
    {
      const char *fields[] = { meta->hostname, meta->goos, meta->kernel, meta->kernel_version,
                               meta->core, meta->platform, meta->os, meta->os_version,
                               meta->netbird_version, meta->ui_version };
      for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
        {
          g_autofree char *clean = nb_mgmt_clean_text (fields[i], META_MAX);
          nb_mgmt_bind_text (stmt, 2 + i, clean);
        }
    }
  nb_mgmt_bind_int64 (stmt, 12, now);
  if (!nb_mgmt_store_step_done (store, stmt, "peer", error))
    goto fail;
  if (meta_changed &&
      !nb_mgmt_store_add_event (store, peer->account_id, peer->user_id, "peer.meta.update", peer->id, error,
                                "name", peer->name,
                                "os", meta->os != NULL ? meta->os : "",
                                "version", meta->netbird_version != NULL ? meta->netbird_version : "",
                                NULL))
    goto fail;
  if (!nb_mgmt_store_note_change (store, peer->account_id, NB_MGMT_CHANGE_PEER_UPDATED, peer->id,
                                  peer->key, FALSE, error) ||
      !nb_mgmt_store_commit (store, error))
    goto fail;
  return nb_mgmt_store_get_peer (store, peer->account_id, peer->id, error);

fail:
  nb_mgmt_store_rollback (store);
  return NULL;
}

/**
 * nb_mgmt_store_login:
 * @store: a store
 * @peer_key: the peer's WireGuard public key
 * @setup_key: (nullable): a setup key, used if the peer is new
 * @meta: (nullable): its system meta
 * @out_registered: (out) (optional): %TRUE if the peer was registered now
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the peer, or %NULL with @error set
 */
NbMgmtPeer *
nb_mgmt_store_login (NbMgmtStore          *store,
                     const char           *peer_key,
                     const char           *setup_key,
                     const NbMgmtPeerMeta *meta,
                     gboolean             *out_registered,
                     GError              **error)
{
  g_autoptr(GError) local = NULL;
  NbMgmtPeer *peer;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  if (out_registered != NULL)
    *out_registered = FALSE;
  if (!validate_peer_key (peer_key, error))
    return NULL;
  peer = nb_mgmt_store_login_peer (store, peer_key, meta, &local);
  if (peer != NULL)
    return peer;
  if (!g_error_matches (local, NB_MGMT_ERROR, NB_MGMT_ERROR_NOT_FOUND))
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  if (setup_key == NULL || *setup_key == '\0')
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_NOT_FOUND,
                   "The peer is not registered: give a setup key to register it");
      return NULL;
    }
  peer = nb_mgmt_store_register_peer (store, setup_key, peer_key, meta, error);
  if (peer != NULL && out_registered != NULL)
    *out_registered = TRUE;
  return peer;
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
  g_autoptr(NbMgmtPeer) peer = NULL;
  sqlite3_stmt *stmt;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), FALSE);

  peer = nb_mgmt_store_get_peer_by_key (store, peer_key, error);
  if (peer == NULL)
    return FALSE;
  /* Runtime state: no fsync (a killed process still keeps it). */
  if (!nb_mgmt_store_begin_relaxed (store, error))
    return FALSE;
  stmt = nb_mgmt_store_prepare (store, "UPDATE peers SET connected = ?2, last_seen = ?3 WHERE id = ?1",
                                error);
  if (stmt == NULL)
    goto fail;
  nb_mgmt_bind_text (stmt, 1, peer->id);
  nb_mgmt_bind_int64 (stmt, 2, connected ? 1 : 0);
  nb_mgmt_bind_int64 (stmt, 3, nb_mgmt_store_now (store));
  if (!nb_mgmt_store_step_done (store, stmt, "peer", error) ||
      !nb_mgmt_store_note_change (store, peer->account_id, NB_MGMT_CHANGE_PEER_STATUS, peer->id,
                                  peer->key, FALSE, error))
    goto fail;
  return nb_mgmt_store_commit (store, error);

fail:
  nb_mgmt_store_rollback (store);
  return FALSE;
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
  g_return_val_if_fail (NB_IS_MGMT_STORE (store), FALSE);

  if (!nb_mgmt_store_begin (store, error))
    return FALSE;
  if (!nb_mgmt_store_delete_peer_in_tx (store, account_id, actor_id, peer_id, "user.peer.delete", error) ||
      !nb_mgmt_store_commit (store, error))
    {
      nb_mgmt_store_rollback (store);
      return FALSE;
    }
  return TRUE;
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

  if (!nb_mgmt_store_begin (store, error))
    return FALSE;
  for (guint i = 0; i + 1 < victims->len; i += 2)
    {
      if (!nb_mgmt_store_delete_peer_in_tx (store, victims->pdata[i], NULL, victims->pdata[i + 1],
                                            "ephemeral.peer.delete", error))
        {
          nb_mgmt_store_rollback (store);
          return FALSE;
        }
      deleted++;
    }
  if (!nb_mgmt_store_commit (store, error))
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

  if (!nb_mgmt_store_begin (store, error))
    return FALSE;
  for (guint i = 0; i < found->len; i++)
    {
      NbMgmtPeer *p = found->pdata[i];

      stmt = nb_mgmt_store_prepare (store, "UPDATE peers SET login_expired = 1 WHERE id = ?1", error);
      if (stmt == NULL)
        goto fail;
      nb_mgmt_bind_text (stmt, 1, p->id);
      if (!nb_mgmt_store_step_done (store, stmt, "peer", error) ||
          !nb_mgmt_store_add_event (store, p->account_id, NULL, "peer.login.expire", p->id, error,
                                    "name", p->name, NULL) ||
          !nb_mgmt_store_note_change (store, p->account_id, NB_MGMT_CHANGE_PEER_UPDATED, p->id, p->key,
                                      TRUE, error))
        goto fail;
    }
  if (!nb_mgmt_store_commit (store, error))
    goto fail;
  if (out_expired != NULL)
    *out_expired = found->len;
  return TRUE;

fail:
  nb_mgmt_store_rollback (store);
  return FALSE;
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
  g_autoptr(NbMgmtPeer) old = NULL;
  g_autofree char *label = NULL;
  sqlite3_stmt *stmt;
  gboolean renamed;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);
  g_return_val_if_fail (peer != NULL, NULL);

  if (peer->name != NULL && !nb_mgmt_name_is_valid (peer->name, META_MAX))
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT,
                   "name of the peer must be 1..%d characters of valid UTF-8", META_MAX);
      return NULL;
    }
  old = nb_mgmt_store_get_peer (store, account_id, peer->id, error);
  if (old == NULL)
    return NULL;
  renamed = peer->name != NULL && g_strcmp0 (peer->name, old->name) != 0;

  if (!nb_mgmt_store_begin (store, error))
    return NULL;
  if (renamed)
    {
      label = unique_dns_label (store, account_id, peer->name, peer->id, error);
      if (label == NULL)
        goto fail;
    }
  stmt = nb_mgmt_store_prepare (store,
                                "UPDATE peers SET name = coalesce(?2, name), dns_label = coalesce(?3, dns_label), "
                                "ssh_enabled = ?4, login_expiration_enabled = ?5 WHERE id = ?1", error);
  if (stmt == NULL)
    goto fail;
  nb_mgmt_bind_text (stmt, 1, peer->id);
  nb_mgmt_bind_text (stmt, 2, renamed ? peer->name : NULL);
  nb_mgmt_bind_text (stmt, 3, label);
  nb_mgmt_bind_int64 (stmt, 4, peer->ssh_enabled ? 1 : 0);
  nb_mgmt_bind_int64 (stmt, 5, peer->login_expiration_enabled ? 1 : 0);
  if (!nb_mgmt_store_step_done (store, stmt, "peer", error))
    goto fail;
  if (renamed &&
      !nb_mgmt_store_add_event (store, account_id, actor_id, "peer.rename", peer->id, error,
                                "old_name", old->name, "name", peer->name, "dns_label", label, NULL))
    goto fail;
  if (old->ssh_enabled != peer->ssh_enabled &&
      !nb_mgmt_store_add_event (store, account_id, actor_id,
                                peer->ssh_enabled ? "peer.ssh.enable" : "peer.ssh.disable",
                                peer->id, error, "name", old->name, NULL))
    goto fail;
  if (old->login_expiration_enabled != peer->login_expiration_enabled &&
      !nb_mgmt_store_add_event (store, account_id, actor_id,
                                peer->login_expiration_enabled ? "peer.login.expiration.enable"
                                                               : "peer.login.expiration.disable",
                                peer->id, error, "name", old->name, NULL))
    goto fail;
  if (!nb_mgmt_store_note_change (store, account_id, NB_MGMT_CHANGE_PEER_UPDATED, peer->id, old->key,
                                  TRUE, error) ||
      !nb_mgmt_store_commit (store, error))
    goto fail;
  return nb_mgmt_store_get_peer (store, account_id, peer->id, error);

fail:
  nb_mgmt_store_rollback (store);
  return NULL;
}
