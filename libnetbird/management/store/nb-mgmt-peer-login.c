/* nb-mgmt-peer-login.c: peer registration (setup key or user) and login
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-mgmt-store"

#include "nb-key.h"
#include "nb-mgmt-store-private.h"

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

/* The system meta fields in the order of their columns in the peers table
 * (hostname .. ui_version), which every statement below binds in a row. */
#define PEER_META_N_FIELDS 10

static void
peer_meta_fields (const NbMgmtPeerMeta *meta,
                  const char           *fields[PEER_META_N_FIELDS])
{
  fields[0] = meta->hostname;
  fields[1] = meta->goos;
  fields[2] = meta->kernel;
  fields[3] = meta->kernel_version;
  fields[4] = meta->core;
  fields[5] = meta->platform;
  fields[6] = meta->os;
  fields[7] = meta->os_version;
  fields[8] = meta->netbird_version;
  fields[9] = meta->ui_version;
}

/* Binds @meta's fields, cleaned, to ?first .. ?first+9. */
static void
bind_peer_meta (sqlite3_stmt         *stmt,
                int                   first,
                const NbMgmtPeerMeta *meta)
{
  const char *fields[PEER_META_N_FIELDS];

  peer_meta_fields (meta, fields);
  for (guint i = 0; i < PEER_META_N_FIELDS; i++)
    {
      g_autofree char *clean = nb_mgmt_clean_text (fields[i], NB_MGMT_PEER_META_MAX);
      nb_mgmt_bind_text (stmt, first + (int) i, clean);
    }
}

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
                             ? meta->hostname : "peer", NB_MGMT_PEER_META_MAX);
  label = nb_mgmt_store_unique_dns_label (store, account_id, name, NULL, error);
  if (label == NULL || !nb_mgmt_store_allocate_peer_ip (store, account_id, &ip, error))
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
  bind_peer_meta (stmt, 7, meta);
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
  g_auto(NbMgmtTransaction) tx = NB_MGMT_TRANSACTION_INIT;
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

  if (!nb_mgmt_transaction_begin (&tx, store, error))
    return NULL;
  /* Checked and counted inside the transaction: two registrations racing
   * for the last use of a key cannot both win. */
  stmt = nb_mgmt_store_prepare (store,
                                "SELECT " SETUP_KEY_COLUMNS " FROM setup_keys WHERE key_hash = ?1", error);
  if (stmt == NULL)
    return NULL;
  nb_mgmt_bind_text (stmt, 1, hash);
  if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
    return NULL;
  if (!has_row)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_UNAUTHENTICATED,
                   "The setup key is not valid");
      return NULL;
    }
  key = nb_mgmt_setup_key_from_row (stmt);
  sqlite3_reset (stmt);
  if (!nb_mgmt_store_fill_setup_key_groups (store, key, error))
    return NULL;
  switch (nb_mgmt_setup_key_get_state (key, now))
    {
    case NB_MGMT_SETUP_KEY_STATE_VALID:
      break;
    case NB_MGMT_SETUP_KEY_STATE_REVOKED:
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PRECONDITION_FAILED,
                   "The setup key \"%s\" was revoked", key->name);
      return NULL;
    case NB_MGMT_SETUP_KEY_STATE_EXPIRED:
      {
        g_autoptr(GDateTime) when = g_date_time_new_from_unix_utc (key->expires_at);
        g_autofree char *text = when != NULL ? g_date_time_format (when, "%F %T UTC") : g_strdup ("?");
        g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PRECONDITION_FAILED,
                     "The setup key \"%s\" expired on %s", key->name, text);
        return NULL;
      }
    case NB_MGMT_SETUP_KEY_STATE_OVERUSED:
      if (key->type == NB_MGMT_SETUP_KEY_ONE_OFF)
        g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PRECONDITION_FAILED,
                     "The one-off setup key \"%s\" was already used", key->name);
      else
        g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PRECONDITION_FAILED,
                     "The setup key \"%s\" reached its usage limit (%" G_GINT64_FORMAT ")",
                     key->name, key->usage_limit);
      return NULL;
    }

  stmt = nb_mgmt_store_prepare (store,
                                "UPDATE setup_keys SET used_times = used_times + 1, last_used = ?2 "
                                "WHERE id = ?1", error);
  if (stmt == NULL)
    return NULL;
  nb_mgmt_bind_text (stmt, 1, key->id);
  nb_mgmt_bind_int64 (stmt, 2, now);
  if (!nb_mgmt_store_step_done (store, stmt, "setup key", error))
    return NULL;

  peer_id = insert_peer (store, key->account_id, peer_key, meta, NULL, key->id, key->ephemeral,
                         FALSE, key->auto_groups, NULL, "setupkey.peer.add", error);
  if (peer_id == NULL || !nb_mgmt_transaction_commit (&tx, error))
    return NULL;
  account_id = g_strdup (key->account_id);
  return nb_mgmt_store_get_peer (store, account_id, peer_id, error);
}

/* Interactive re-login of a user's peer, inside the caller's transaction:
 * fresh login time, expiry cleared, the whole system meta updated as
 * nb_mgmt_store_login_peer() does; address and label stay. */
static gboolean
renew_user_login (NbMgmtStore          *store,
                  const NbMgmtPeer     *peer,
                  const NbMgmtPeerMeta *meta,
                  GError              **error)
{
  sqlite3_stmt *stmt;

  stmt = nb_mgmt_store_prepare (store,
                                "UPDATE peers SET hostname = coalesce(?2, hostname), goos = coalesce(?3, goos), "
                                "kernel = coalesce(?4, kernel), kernel_version = coalesce(?5, kernel_version), "
                                "core = coalesce(?6, core), platform = coalesce(?7, platform), "
                                "os = coalesce(?8, os), os_version = coalesce(?9, os_version), "
                                "netbird_version = coalesce(?10, netbird_version), "
                                "ui_version = coalesce(?11, ui_version), last_login = ?12, login_expired = 0 "
                                "WHERE id = ?1", error);
  if (stmt == NULL)
    return FALSE;
  nb_mgmt_bind_text (stmt, 1, peer->id);
  if (meta != NULL)
    bind_peer_meta (stmt, 2, meta);
  nb_mgmt_bind_int64 (stmt, 12, nb_mgmt_store_now (store));
  return nb_mgmt_store_step_done (store, stmt, "peer", error) &&
         nb_mgmt_store_add_event (store, peer->account_id, peer->user_id, "user.peer.login", peer->id, error,
                                  "name", peer->name, NULL) &&
         nb_mgmt_store_note_change (store, peer->account_id, NB_MGMT_CHANGE_PEER_UPDATED, peer->id, peer->key,
                                    peer->login_expired, error);
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
  g_auto(NbMgmtTransaction) tx = NB_MGMT_TRANSACTION_INIT;
  g_autoptr(NbMgmtUser) user = NULL;
  g_autoptr(NbMgmtPeer) known = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *peer_id = NULL;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  if (!validate_peer_key (peer_key, error))
    return NULL;
  /* The user's state, whether the key is known and what is written all in
   * one transaction: a user blocked meanwhile, or the same key registered
   * twice at once, cannot slip between the check and the write. */
  if (!nb_mgmt_transaction_begin (&tx, store, error))
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

  /* The same user logging the same machine in again renews it. Only "not
   * found" means a new peer: any other error is the answer. */
  known = nb_mgmt_store_get_peer_by_key (store, peer_key, &local_error);
  if (known == NULL && !g_error_matches (local_error, NB_MGMT_ERROR, NB_MGMT_ERROR_NOT_FOUND))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  if (known != NULL)
    {
      if (g_strcmp0 (known->account_id, account_id) != 0 || g_strcmp0 (known->user_id, user_id) != 0)
        {
          g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_ALREADY_EXISTS,
                       "A peer with this WireGuard key is already registered by someone else");
          return NULL;
        }
      if (!renew_user_login (store, known, meta, error) || !nb_mgmt_transaction_commit (&tx, error))
        return NULL;
      return nb_mgmt_store_get_peer (store, known->account_id, known->id, error);
    }

  peer_id = insert_peer (store, account_id, peer_key, meta, user_id, NULL, FALSE, TRUE,
                         user->auto_groups, user_id, "user.peer.add", error);
  if (peer_id == NULL || !nb_mgmt_transaction_commit (&tx, error))
    return NULL;
  return nb_mgmt_store_get_peer (store, account_id, peer_id, error);
}

/* Whether @incoming says something new: a NULL field keeps the stored one. */
static gboolean
peer_meta_differs (const NbMgmtPeerMeta *stored,
                   const NbMgmtPeerMeta *incoming)
{
  const char *a[PEER_META_N_FIELDS];
  const char *b[PEER_META_N_FIELDS];

  peer_meta_fields (stored, a);
  peer_meta_fields (incoming, b);
  for (guint i = 0; i < PEER_META_N_FIELDS; i++)
    {
      g_autofree char *clean = nb_mgmt_clean_text (b[i], NB_MGMT_PEER_META_MAX);
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
  g_auto(NbMgmtTransaction) tx = NB_MGMT_TRANSACTION_INIT;
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
      g_autoptr(GError) local_error = NULL;
      g_autoptr(NbMgmtUser) user = nb_mgmt_store_get_user (store, peer->account_id, peer->user_id,
                                                           &local_error);

      /* Fail closed: a peer logs in only when its user was read and is not
       * blocked. A database error is the error (not "not registered", which
       * would send the caller to register it again). */
      if (user == NULL && g_error_matches (local_error, NB_MGMT_ERROR, NB_MGMT_ERROR_NOT_FOUND))
        {
          g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PRECONDITION_FAILED,
                       "The user that added this peer no longer exists");
          return NULL;
        }
      if (user == NULL)
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                      "Cannot check the user that added this peer: ");
          return NULL;
        }
      if (user->is_blocked)
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
  if (!(meta_changed ? nb_mgmt_transaction_begin (&tx, store, error)
                     : nb_mgmt_transaction_begin_relaxed (&tx, store, error)))
    return NULL;
  stmt = nb_mgmt_store_prepare (store,
                                "UPDATE peers SET hostname = coalesce(?2, hostname), goos = coalesce(?3, goos), "
                                "kernel = coalesce(?4, kernel), kernel_version = coalesce(?5, kernel_version), "
                                "core = coalesce(?6, core), platform = coalesce(?7, platform), "
                                "os = coalesce(?8, os), os_version = coalesce(?9, os_version), "
                                "netbird_version = coalesce(?10, netbird_version), "
                                "ui_version = coalesce(?11, ui_version), last_login = ?12 WHERE id = ?1", error);
  if (stmt == NULL)
    return NULL;
  nb_mgmt_bind_text (stmt, 1, peer->id);
  if (meta != NULL)
    bind_peer_meta (stmt, 2, meta);
  nb_mgmt_bind_int64 (stmt, 12, now);
  if (!nb_mgmt_store_step_done (store, stmt, "peer", error))
    return NULL;
  if (meta_changed &&
      !nb_mgmt_store_add_event (store, peer->account_id, peer->user_id, "peer.meta.update", peer->id, error,
                                "name", peer->name,
                                "os", meta->os != NULL ? meta->os : "",
                                "version", meta->netbird_version != NULL ? meta->netbird_version : "",
                                NULL))
    return NULL;
  if (!nb_mgmt_store_note_change (store, peer->account_id, NB_MGMT_CHANGE_PEER_UPDATED, peer->id,
                                  peer->key, FALSE, error) ||
      !nb_mgmt_transaction_commit (&tx, error))
    return NULL;
  return nb_mgmt_store_get_peer (store, peer->account_id, peer->id, error);
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
