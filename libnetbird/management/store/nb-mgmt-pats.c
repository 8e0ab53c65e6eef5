/* nb-mgmt-pats.c: personal access tokens
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-mgmt-store"

#include <string.h>

#include <sodium.h>

#include "nb-mgmt-store-private.h"
#include "nb-sodium-private.h"

#define PAT_PREFIX "nbp_"
#define PAT_SECRET_LEN 30
#define PAT_CHECKSUM_LEN 6
#define PAT_LEN (4 + PAT_SECRET_LEN + PAT_CHECKSUM_LEN)

static const char base62[] =
  "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), bit by bit: it
 * runs once per token, no table needed. */
static guint32
crc32_ieee (const guint8 *data,
            gsize         len)
{
  guint32 crc = 0xffffffffu;

  for (gsize i = 0; i < len; i++)
    {
      crc ^= data[i];
      for (int b = 0; b < 8; b++)
        crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
  return ~crc;
}

/* NetBird's token: the CRC-32 (IEEE) of the secret in base62, left-padded
 * with '0' to six characters. */
static void
pat_checksum (const char *secret,
              char        out[PAT_CHECKSUM_LEN + 1])
{
  guint32 crc = crc32_ieee ((const guint8 *) secret, PAT_SECRET_LEN);
  char tmp[16];
  int n = 0;

  do
    {
      tmp[n++] = base62[crc % 62];
      crc /= 62;
    }
  while (crc > 0 && n < (int) sizeof tmp);
  memset (out, '0', PAT_CHECKSUM_LEN);
  for (int i = 0; i < n && i < PAT_CHECKSUM_LEN; i++)
    out[PAT_CHECKSUM_LEN - 1 - i] = tmp[i];
  out[PAT_CHECKSUM_LEN] = '\0';
}

/**
 * nb_mgmt_pat_token_is_well_formed:
 * @token: (nullable): a token
 *
 * Returns: %TRUE if @token is `nbp_`, 30 base62 characters and the right
 *   checksum
 */
gboolean
nb_mgmt_pat_token_is_well_formed (const char *token)
{
  char secret[PAT_SECRET_LEN + 1];
  char checksum[PAT_CHECKSUM_LEN + 1];

  if (token == NULL || strlen (token) != PAT_LEN || strncmp (token, PAT_PREFIX, 4) != 0)
    return FALSE;
  for (int i = 4; i < PAT_LEN; i++)
    if (!g_ascii_isalnum (token[i]))
      return FALSE;
  memcpy (secret, token + 4, PAT_SECRET_LEN);
  secret[PAT_SECRET_LEN] = '\0';
  pat_checksum (secret, checksum);
  return sodium_memcmp (checksum, token + 4 + PAT_SECRET_LEN, PAT_CHECKSUM_LEN) == 0;
}

static char *
pat_generate (void)
{
  char secret[PAT_SECRET_LEN + 1];
  char checksum[PAT_CHECKSUM_LEN + 1];

  nb_sodium_ensure_init ();
  for (int i = 0; i < PAT_SECRET_LEN; i++)
    secret[i] = base62[randombytes_uniform (62)];
  secret[PAT_SECRET_LEN] = '\0';
  pat_checksum (secret, checksum);
  return g_strconcat (PAT_PREFIX, secret, checksum, NULL);
}

static NbMgmtPat *
pat_from_row (sqlite3_stmt *stmt)
{
  NbMgmtPat *p = g_new0 (NbMgmtPat, 1);

  p->id = nb_mgmt_column_dup (stmt, 0);
  p->user_id = nb_mgmt_column_dup (stmt, 1);
  p->name = nb_mgmt_column_dup (stmt, 2);
  p->expiration_date = sqlite3_column_int64 (stmt, 3);
  p->created_by = nb_mgmt_column_dup (stmt, 4);
  p->created_at = sqlite3_column_int64 (stmt, 5);
  p->last_used = sqlite3_column_int64 (stmt, 6);
  return p;
}

#define PAT_COLUMNS "id, user_id, name, expiration, created_by, created_at, last_used"

static NbMgmtPat *
insert_pat (NbMgmtStore *store,
            const char  *account_id,
            const char  *actor_id,
            const char  *user_id,
            const char  *name,
            const char  *token,
            gint         expires_in_days,
            GError     **error)
{
  g_auto(NbMgmtTransaction) tx = NB_MGMT_TRANSACTION_INIT;
  g_autoptr(NbMgmtUser) user = NULL;
  g_autofree char *id = nb_mgmt_new_id ();
  g_autofree char *hash = NULL;
  sqlite3_stmt *stmt;
  gint64 now = nb_mgmt_store_now (store);

  if (!nb_mgmt_check_name (name, "name of the token", 255, error))
    return NULL;
  if (expires_in_days < 1 || expires_in_days > 365)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT,
                   "expires_in must be between 1 and 365 days, not %d", expires_in_days);
      return NULL;
    }
  user = nb_mgmt_store_get_user (store, account_id, user_id, error);
  if (user == NULL)
    return NULL;
  hash = nb_mgmt_hash_secret (token);

  if (!nb_mgmt_transaction_begin (&tx, store, error))
    return NULL;
  stmt = nb_mgmt_store_prepare (store,
                                "INSERT INTO pats (id, account_id, user_id, name, hashed_token, expiration, "
                                "created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", error);
  if (stmt == NULL)
    return NULL;
  nb_mgmt_bind_text (stmt, 1, id);
  nb_mgmt_bind_text (stmt, 2, account_id);
  nb_mgmt_bind_text (stmt, 3, user_id);
  nb_mgmt_bind_text (stmt, 4, name);
  nb_mgmt_bind_text (stmt, 5, hash);
  nb_mgmt_bind_int64 (stmt, 6, now + (gint64) expires_in_days * 86400);
  nb_mgmt_bind_text (stmt, 7, actor_id != NULL ? actor_id : user_id);
  nb_mgmt_bind_int64 (stmt, 8, now);
  if (!nb_mgmt_store_step_done (store, stmt, "This token", error) ||
      !nb_mgmt_store_add_event (store, account_id, actor_id, "personal.access.token.create", user_id,
                                error, "name", name, NULL) ||
      !nb_mgmt_store_note_change (store, account_id, NB_MGMT_CHANGE_PAT, id, NULL, FALSE, error) ||
      !nb_mgmt_transaction_commit (&tx, error))
    return NULL;
  return nb_mgmt_store_get_pat (store, account_id, user_id, id, error);
}

/**
 * nb_mgmt_store_create_pat:
 * @store: a store
 * @account_id: the account
 * @actor_id: (nullable): who creates it
 * @user_id: the user it authenticates as
 * @name: its description
 * @expires_in_days: 1..365
 * @out_token: (out) (transfer full): the token, shown only now
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the token's record, or %NULL with @error set
 */
NbMgmtPat *
nb_mgmt_store_create_pat (NbMgmtStore *store,
                          const char  *account_id,
                          const char  *actor_id,
                          const char  *user_id,
                          const char  *name,
                          gint         expires_in_days,
                          char       **out_token,
                          GError     **error)
{
  g_autofree char *token = pat_generate ();
  NbMgmtPat *pat;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);
  g_return_val_if_fail (out_token != NULL, NULL);

  pat = insert_pat (store, account_id, actor_id, user_id, name, token, expires_in_days, error);
  if (pat != NULL)
    *out_token = g_steal_pointer (&token);
  return pat;
}

/**
 * nb_mgmt_store_import_pat:
 * @store: a store
 * @account_id: the account
 * @user_id: the user it authenticates as
 * @name: its description
 * @token: the token, from configuration
 * @expires_in_days: 1..365
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the token's record, or %NULL with @error set
 */
NbMgmtPat *
nb_mgmt_store_import_pat (NbMgmtStore *store,
                          const char  *account_id,
                          const char  *user_id,
                          const char  *name,
                          const char  *token,
                          gint         expires_in_days,
                          GError     **error)
{
  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  if (!nb_mgmt_pat_token_is_well_formed (token))
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT,
                   "The token is not a personal access token (nbp_ + 30 characters + "
                   "6-character checksum)");
      return NULL;
    }
  return insert_pat (store, account_id, user_id, user_id, name, token, expires_in_days, error);
}

/**
 * nb_mgmt_store_delete_pat:
 * @store: a store
 * @account_id: the account
 * @actor_id: (nullable): who deletes it
 * @user_id: the token's user
 * @pat_id: the token
 * @error: return location for a #GError
 *
 * Returns: %TRUE on success
 */
gboolean
nb_mgmt_store_delete_pat (NbMgmtStore *store,
                          const char  *account_id,
                          const char  *actor_id,
                          const char  *user_id,
                          const char  *pat_id,
                          GError     **error)
{
  g_auto(NbMgmtTransaction) tx = NB_MGMT_TRANSACTION_INIT;
  g_autoptr(NbMgmtPat) pat = NULL;
  sqlite3_stmt *stmt;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), FALSE);

  pat = nb_mgmt_store_get_pat (store, account_id, user_id, pat_id, error);
  if (pat == NULL)
    return FALSE;
  if (!nb_mgmt_transaction_begin (&tx, store, error))
    return FALSE;
  stmt = nb_mgmt_store_prepare (store, "DELETE FROM pats WHERE id = ?1", error);
  if (stmt == NULL)
    return FALSE;
  nb_mgmt_bind_text (stmt, 1, pat_id);
  if (!nb_mgmt_store_step_done (store, stmt, "token", error) ||
      !nb_mgmt_store_add_event (store, account_id, actor_id, "personal.access.token.delete", user_id,
                                error, "name", pat->name, NULL) ||
      !nb_mgmt_store_note_change (store, account_id, NB_MGMT_CHANGE_PAT, pat_id, NULL, FALSE, error) ||
      !nb_mgmt_transaction_commit (&tx, error))
    return FALSE;
  return TRUE;
}

/**
 * nb_mgmt_store_get_pat:
 * @store: a store
 * @account_id: the account
 * @user_id: the token's user
 * @pat_id: the token
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the token's record, or %NULL (NOT_FOUND)
 */
NbMgmtPat *
nb_mgmt_store_get_pat (NbMgmtStore *store,
                       const char  *account_id,
                       const char  *user_id,
                       const char  *pat_id,
                       GError     **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  stmt = nb_mgmt_store_prepare (store,
                                "SELECT " PAT_COLUMNS " FROM pats WHERE id = ?1 AND user_id = ?2 "
                                "AND account_id = ?3", error);
  if (stmt == NULL)
    return NULL;
  nb_mgmt_bind_text (stmt, 1, pat_id);
  nb_mgmt_bind_text (stmt, 2, user_id);
  nb_mgmt_bind_text (stmt, 3, account_id);
  return nb_mgmt_store_read_one (store, stmt, "Personal access token", pat_id, (NbMgmtRowFunc) pat_from_row,
                                 NULL, (GDestroyNotify) nb_mgmt_pat_free, error);
}

/**
 * nb_mgmt_store_list_pats:
 * @store: a store
 * @account_id: the account
 * @user_id: the user
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (element-type NbMgmtPat): the user's tokens
 */
GPtrArray *
nb_mgmt_store_list_pats (NbMgmtStore *store,
                         const char  *account_id,
                         const char  *user_id,
                         GError     **error)
{
  g_autoptr(NbMgmtUser) user = NULL;
  sqlite3_stmt *stmt;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  user = nb_mgmt_store_get_user (store, account_id, user_id, error);
  if (user == NULL)
    return NULL;
  stmt = nb_mgmt_store_prepare (store,
                                "SELECT " PAT_COLUMNS " FROM pats WHERE user_id = ?1 AND account_id = ?2 "
                                "ORDER BY created_at, id", error);
  if (stmt == NULL)
    return NULL;
  nb_mgmt_bind_text (stmt, 1, user_id);
  nb_mgmt_bind_text (stmt, 2, account_id);
  return nb_mgmt_store_read_all (store, stmt, (NbMgmtRowFunc) pat_from_row, NULL,
                                 (GDestroyNotify) nb_mgmt_pat_free, error);
}

/**
 * nb_mgmt_store_authenticate_pat:
 * @store: a store
 * @token: the token from `Authorization: Token ...`
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the user the token authenticates, or %NULL
 *   (UNAUTHENTICATED)
 */
NbMgmtUser *
nb_mgmt_store_authenticate_pat (NbMgmtStore *store,
                                const char  *token,
                                GError     **error)
{
  g_auto(NbMgmtTransaction) tx = NB_MGMT_TRANSACTION_INIT;
  g_autofree char *hash = NULL;
  g_autofree char *pat_id = NULL;
  g_autofree char *user_id = NULL;
  g_autofree char *account_id = NULL;
  g_autoptr(NbMgmtUser) user = NULL;
  sqlite3_stmt *stmt;
  gboolean has_row;
  gint64 expiration, last_used, now = nb_mgmt_store_now (store);

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  if (!nb_mgmt_pat_token_is_well_formed (token))
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_UNAUTHENTICATED,
                   "The token is not a valid personal access token");
      return NULL;
    }
  hash = nb_mgmt_hash_secret (token);
  stmt = nb_mgmt_store_prepare (store,
                                "SELECT id, user_id, account_id, expiration, last_used FROM pats "
                                "WHERE hashed_token = ?1",
                                error);
  if (stmt == NULL)
    return NULL;
  nb_mgmt_bind_text (stmt, 1, hash);
  if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
    return NULL;
  if (!has_row)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_UNAUTHENTICATED,
                   "The token is not known");
      return NULL;
    }
  pat_id = nb_mgmt_column_dup (stmt, 0);
  user_id = nb_mgmt_column_dup (stmt, 1);
  account_id = nb_mgmt_column_dup (stmt, 2);
  expiration = sqlite3_column_int64 (stmt, 3);
  last_used = sqlite3_column_int64 (stmt, 4);
  sqlite3_reset (stmt);
  if (expiration <= now)
    {
      g_autoptr(GDateTime) when = g_date_time_new_from_unix_utc (expiration);
      g_autofree char *text = when != NULL ? g_date_time_format (when, "%F") : g_strdup ("?");
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_UNAUTHENTICATED,
                   "The token expired on %s", text);
      return NULL;
    }
  user = nb_mgmt_store_get_user (store, account_id, user_id, error);
  if (user == NULL)
    return NULL;
  if (user->is_blocked)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_UNAUTHENTICATED,
                   "The token's user is blocked");
      return NULL;
    }

  /* Last use: not a change anyone listens to, no event (NetBird neither).
   * Runtime state, kept to the minute: a busy script does not turn every
   * request into a disk write. */
  if (now - last_used >= 60)
    {
      if (!nb_mgmt_transaction_begin_relaxed (&tx, store, error))
        return NULL;
      stmt = nb_mgmt_store_prepare (store, "UPDATE pats SET last_used = ?2 WHERE id = ?1", error);
      if (stmt == NULL)
        return NULL;
      nb_mgmt_bind_text (stmt, 1, pat_id);
      nb_mgmt_bind_int64 (stmt, 2, now);
      if (!nb_mgmt_store_step_done (store, stmt, "token", error))
        return NULL;
      stmt = nb_mgmt_store_prepare (store, "UPDATE users SET last_login = ?2 WHERE id = ?1", error);
      if (stmt == NULL)
        return NULL;
      nb_mgmt_bind_text (stmt, 1, user_id);
      nb_mgmt_bind_int64 (stmt, 2, now);
      if (!nb_mgmt_store_step_done (store, stmt, "user", error) ||
          !nb_mgmt_transaction_commit (&tx, error))
        return NULL;
      user->last_login = now;
    }
  return g_steal_pointer (&user);
}
