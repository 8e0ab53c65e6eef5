/* nb-mgmt-store.c: the store object, SQLite plumbing, transactions, changes
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-mgmt-store"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include <glib/gstdio.h>

#include "nb-mgmt-store-private.h"

/**
 * NbMgmtStore:
 *
 * Management's state on SQLite: accounts, users, tokens, peers, setup keys,
 * groups, policies, routes, DNS and activity events, with the account logic
 * that keeps them consistent and the network maps computed from them.
 *
 * The file is opened in WAL mode with `synchronous=FULL`, so a change is on
 * disk when the call that made it returns: a process killed at any point
 * loses no acknowledged change and keeps no half of one.
 */

enum {
  SIGNAL_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

typedef struct {
  char *account_id;
  NbMgmtChangeKind kind;
  char *object_id;
  char *peer_key;
  guint64 serial;
  gboolean network_changed;
} PendingChange;

static void
pending_change_free (PendingChange *change)
{
  g_free (change->account_id);
  g_free (change->object_id);
  g_free (change->peer_key);
  g_free (change);
}

G_DEFINE_TYPE (NbMgmtStore, nb_mgmt_store, G_TYPE_OBJECT)

G_DEFINE_QUARK (nb-mgmt-error-quark, nb_mgmt_error)

/**
 * nb_mgmt_error_to_http_status:
 * @error: an error
 *
 * Returns: the HTTP status the REST API answers @error with: the mapping in
 *   #NbMgmtError for this domain, 400 for other domains' invalid input
 *   (JSON, keys), 500 otherwise
 */
guint
nb_mgmt_error_to_http_status (const GError *error)
{
  if (error == NULL)
    return 200;
  if (error->domain != NB_MGMT_ERROR)
    return 500;
  switch ((NbMgmtError) error->code)
    {
    case NB_MGMT_ERROR_NOT_FOUND: return 404;
    case NB_MGMT_ERROR_ALREADY_EXISTS: return 409;
    case NB_MGMT_ERROR_INVALID_ARGUMENT: return 422;
    case NB_MGMT_ERROR_PERMISSION_DENIED: return 403;
    case NB_MGMT_ERROR_UNAUTHENTICATED: return 401;
    case NB_MGMT_ERROR_PRECONDITION_FAILED: return 412;
    case NB_MGMT_ERROR_EXHAUSTED: return 507;
    case NB_MGMT_ERROR_INTERNAL: return 500;
    }
  return 500;
}

static void
statement_finalize (gpointer data)
{
  sqlite3_finalize (data);
}

static void
nb_mgmt_store_finalize (GObject *object)
{
  NbMgmtStore *store = NB_MGMT_STORE (object);

  g_clear_pointer (&store->snapshots, g_hash_table_unref);
  g_clear_pointer (&store->given_hashes, g_hash_table_unref);
  g_clear_pointer (&store->dirty, g_hash_table_unref);
  g_clear_pointer (&store->pending_changes, g_ptr_array_unref);
  g_clear_pointer (&store->statements, g_hash_table_unref);
  if (store->db != NULL)
    {
      /* Checkpoint so the -wal file does not grow across runs. */
      sqlite3_wal_checkpoint_v2 (store->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
      sqlite3_close_v2 (store->db);
      store->db = NULL;
    }
  g_free (store->path);
  g_free (store->default_dns_domain);
  g_free (store->refused_name);
  g_free (store->refused_detail);

  G_OBJECT_CLASS (nb_mgmt_store_parent_class)->finalize (object);
}

static void
nb_mgmt_store_class_init (NbMgmtStoreClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = nb_mgmt_store_finalize;

  /**
   * NbMgmtStore::changed:
   * @store: the store
   * @change: (type gpointer): the #NbMgmtChange, valid during the emission
   *
   * Emitted after every committed change, on the thread that made it.
   */
  signals[SIGNAL_CHANGED] =
    g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
}

static void
nb_mgmt_store_init (NbMgmtStore *store)
{
  store->statements = g_hash_table_new_full (g_direct_hash, g_direct_equal,
                                             NULL, statement_finalize);
  store->pending_changes = g_ptr_array_new_with_free_func ((GDestroyNotify) pending_change_free);
  store->default_dns_domain = g_strdup (NB_MGMT_DEFAULT_DNS_DOMAIN);
  store->snapshots = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                            (GDestroyNotify) nb_mgmt_snapshot_free);
  store->given_hashes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                               (GDestroyNotify) g_hash_table_unref);
  store->dirty = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                        nb_mgmt_netmap_dirty_free);
}

void
nb_mgmt_store_set_db_error (NbMgmtStore *store,
                            int          rc,
                            const char  *what,
                            GError     **error)
{
  int primary = rc & 0xff;
  const char *msg = store->db != NULL ? sqlite3_errmsg (store->db) : sqlite3_errstr (rc);

  if (primary == SQLITE_CONSTRAINT)
    {
      if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
        g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_NOT_FOUND,
                     "%s refers to an object that does not exist", what);
      else if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_ALREADY_EXISTS,
                     "%s already exists", what);
      else
        g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT,
                     "%s is not valid: %s", what, msg);
      return;
    }
  g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INTERNAL,
               "Database error (%s): %s", what, msg);
}

static int
refuse_authorizer (void       *data,
                   int         action,
                   const char *what,
                   const char *detail,
                   const char *database,
                   const char *trigger)
{
  NbMgmtStore *store = data;

  switch (action)
    {
    case SQLITE_READ:
    case SQLITE_INSERT:
    case SQLITE_UPDATE:
    case SQLITE_DELETE:
    case SQLITE_PRAGMA:
      if (what != NULL && g_ascii_strcasecmp (what, store->refused_name) == 0 &&
          (store->refused_detail == NULL ||
           (detail != NULL && g_ascii_strcasecmp (detail, store->refused_detail) == 0)))
        return SQLITE_DENY;
      return SQLITE_OK;
    default:
      return SQLITE_OK;
    }
}

void
nb_mgmt_store_refuse_for_testing (NbMgmtStore *store,
                                  const char  *name,
                                  const char  *detail)
{
  g_return_if_fail (NB_IS_MGMT_STORE (store));

  g_free (store->refused_name);
  g_free (store->refused_detail);
  store->refused_name = g_strdup (name);
  store->refused_detail = g_strdup (detail);
  /* Setting an authorizer expires every prepared statement, so the cached
   * ones are checked again when they next run. */
  if (name != NULL)
    sqlite3_set_authorizer (store->db, refuse_authorizer, store);
  else
    sqlite3_set_authorizer (store->db, NULL, NULL);
}

sqlite3_stmt *
nb_mgmt_store_prepare (NbMgmtStore *store,
                       const char  *sql,
                       GError     **error)
{
  sqlite3_stmt *stmt = g_hash_table_lookup (store->statements, sql);
  int rc;

  if (stmt != NULL)
    {
      sqlite3_reset (stmt);
      sqlite3_clear_bindings (stmt);
      return stmt;
    }
  rc = sqlite3_prepare_v3 (store->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
  if (rc != SQLITE_OK)
    {
      nb_mgmt_store_set_db_error (store, rc, "preparing a statement", error);
      g_warning ("cannot prepare \"%s\": %s", sql, sqlite3_errmsg (store->db));
      return NULL;
    }
  g_hash_table_insert (store->statements, (gpointer) sql, stmt);
  return stmt;
}

gboolean
nb_mgmt_store_step_done (NbMgmtStore  *store,
                         sqlite3_stmt *stmt,
                         const char   *what,
                         GError      **error)
{
  int rc;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    ;
  if (rc != SQLITE_DONE)
    {
      int ext = sqlite3_extended_errcode (store->db);
      nb_mgmt_store_set_db_error (store, ext != 0 ? ext : rc, what, error);
      sqlite3_reset (stmt);
      return FALSE;
    }
  sqlite3_reset (stmt);
  return TRUE;
}

gboolean
nb_mgmt_store_step_row (NbMgmtStore  *store,
                        sqlite3_stmt *stmt,
                        gboolean     *has_row,
                        GError      **error)
{
  int rc = sqlite3_step (stmt);

  if (rc == SQLITE_ROW)
    {
      *has_row = TRUE;
      return TRUE;
    }
  *has_row = FALSE;
  if (rc == SQLITE_DONE)
    {
      sqlite3_reset (stmt);
      return TRUE;
    }
  nb_mgmt_store_set_db_error (store, sqlite3_extended_errcode (store->db), "reading", error);
  sqlite3_reset (stmt);
  return FALSE;
}

gboolean
nb_mgmt_store_exec (NbMgmtStore *store,
                    const char  *sql,
                    GError     **error)
{
  char *errmsg = NULL;
  int rc = sqlite3_exec (store->db, sql, NULL, NULL, &errmsg);

  if (rc != SQLITE_OK)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INTERNAL,
                   "Database error: %s", errmsg != NULL ? errmsg : sqlite3_errstr (rc));
      sqlite3_free (errmsg);
      return FALSE;
    }
  return TRUE;
}

void
nb_mgmt_bind_text (sqlite3_stmt *stmt,
                   int           index,
                   const char   *text)
{
  if (text == NULL)
    sqlite3_bind_null (stmt, index);
  else
    sqlite3_bind_text (stmt, index, text, -1, SQLITE_TRANSIENT);
}

void
nb_mgmt_bind_int64 (sqlite3_stmt *stmt,
                    int           index,
                    gint64        value)
{
  sqlite3_bind_int64 (stmt, index, value);
}

const char *
nb_mgmt_column_text (sqlite3_stmt *stmt,
                     int           column)
{
  return (const char *) sqlite3_column_text (stmt, column);
}

char *
nb_mgmt_column_dup (sqlite3_stmt *stmt,
                    int           column)
{
  return g_strdup ((const char *) sqlite3_column_text (stmt, column));
}

/* Runtime state (connected, last seen, token last use) changes with every
 * connection and request; losing its last seconds on a power cut costs
 * nothing, so those writes skip the fsync. In WAL mode a killed process
 * still loses none of them; the next durable commit syncs them too.
 *
 * store->relaxed is TRUE unless synchronous=FULL is known to be in force:
 * when setting it back fails, it stays TRUE, and nb_mgmt_store_begin()
 * tries again and refuses to start a change that would not be durable. */
gboolean
nb_mgmt_store_set_relaxed (NbMgmtStore *store,
                           gboolean     relaxed,
                           GError     **error)
{
  const char *sql = relaxed ? "PRAGMA synchronous = NORMAL" : "PRAGMA synchronous = FULL";
  sqlite3_stmt *stmt;

  stmt = nb_mgmt_store_prepare (store, sql, error);
  if (stmt == NULL || !nb_mgmt_store_step_done (store, stmt, sql, error))
    return FALSE;
  store->relaxed = relaxed;
  return TRUE;
}

static gboolean
begin_transaction (NbMgmtStore *store,
                   GError     **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (!store->in_transaction, FALSE);

  /* IMMEDIATE: take the write lock now, so the transaction cannot fail
   * later on a lock upgrade. */
  stmt = nb_mgmt_store_prepare (store, "BEGIN IMMEDIATE", error);
  if (stmt == NULL || !nb_mgmt_store_step_done (store, stmt, "starting a transaction", error))
    return FALSE;
  store->in_transaction = TRUE;
  g_ptr_array_set_size (store->pending_changes, 0);
  return TRUE;
}

gboolean
nb_mgmt_store_begin (NbMgmtStore *store,
                     GError     **error)
{
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (!store->in_transaction, FALSE);

  /* A durable change is made under synchronous=FULL or not at all: the
   * class promises that a change is on disk once the call returns. */
  if (store->relaxed && !nb_mgmt_store_set_relaxed (store, FALSE, &local_error))
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INTERNAL,
                   "The database cannot be made durable again (synchronous=FULL), so no change "
                   "is made: %s", local_error->message);
      return FALSE;
    }
  return begin_transaction (store, error);
}

/* After a transaction of runtime state: durable again for the next one.
 * A failure is said here and acted on by the next nb_mgmt_store_begin(). */
static void
restore_durability (NbMgmtStore *store)
{
  g_autoptr(GError) local_error = NULL;

  if (store->relaxed && !nb_mgmt_store_set_relaxed (store, FALSE, &local_error))
    g_warning ("Cannot make the database durable again (synchronous=FULL): %s; changes are "
               "refused until it can", local_error->message);
}

void
nb_mgmt_store_rollback (NbMgmtStore *store)
{
  sqlite3_stmt *stmt;

  if (!store->in_transaction)
    return;
  store->in_transaction = FALSE;
  g_ptr_array_set_size (store->pending_changes, 0);
  stmt = nb_mgmt_store_prepare (store, "ROLLBACK", NULL);
  if (stmt != NULL && !nb_mgmt_store_step_done (store, stmt, "rolling back", NULL))
    g_warning ("rollback failed: %s", sqlite3_errmsg (store->db));
  restore_durability (store);
}

static gboolean
commit_full (NbMgmtStore *store,
             GError     **error)
{
  g_autoptr(GPtrArray) changes = NULL;
  sqlite3_stmt *stmt;
  gboolean ok;

  g_return_val_if_fail (store->in_transaction, FALSE);

  stmt = nb_mgmt_store_prepare (store, "COMMIT", error);
  ok = stmt != NULL && nb_mgmt_store_step_done (store, stmt, "committing", error);
  if (!ok)
    {
      nb_mgmt_store_rollback (store);
      return FALSE;
    }
  store->in_transaction = FALSE;
  /* Durable again before any handler writes. */
  restore_durability (store);

  /* Emit after COMMIT: a handler sees the committed state and may call the
   * store again. */
  changes = g_steal_pointer (&store->pending_changes);
  store->pending_changes = g_ptr_array_new_with_free_func ((GDestroyNotify) pending_change_free);
  for (guint i = 0; i < changes->len; i++)
    {
      PendingChange *p = changes->pdata[i];
      NbMgmtChange change = {
        .account_id = p->account_id,
        .kind = p->kind,
        .object_id = p->object_id,
        .peer_key = p->peer_key,
        .serial = p->serial,
        .network_changed = p->network_changed,
      };
      g_signal_emit (store, signals[SIGNAL_CHANGED], 0, &change);
    }
  return TRUE;
}

gboolean
nb_mgmt_store_commit (NbMgmtStore *store,
                      GError     **error)
{
  return commit_full (store, error);
}

/* Starts a transaction of runtime state (see nb_mgmt_store_set_relaxed())
 * that commits without fsync; nb_mgmt_store_commit() or _rollback() end it
 * and make later commits durable again. The sync mode can only change
 * outside a transaction, and the one in force at COMMIT decides. */
gboolean
nb_mgmt_store_begin_relaxed (NbMgmtStore *store,
                             GError     **error)
{
  g_return_val_if_fail (!store->in_transaction, FALSE);

  /* A store that cannot relax stays durable: the change is only slower. */
  nb_mgmt_store_set_relaxed (store, TRUE, NULL);
  if (!begin_transaction (store, error))
    {
      restore_durability (store);
      return FALSE;
    }
  return TRUE;
}

/* A transaction begun inside another is a savepoint (SQLite's SAVEPOINT
 * nests; RELEASE and ROLLBACK TO act on the innermost of that name). */
static gboolean
savepoint_begin (NbMgmtTransaction *tx,
                 NbMgmtStore       *store,
                 GError           **error)
{
  sqlite3_stmt *stmt = nb_mgmt_store_prepare (store, "SAVEPOINT nb_nested", error);

  if (stmt == NULL || !nb_mgmt_store_step_done (store, stmt, "starting a savepoint", error))
    return FALSE;
  tx->store = store;
  tx->nested = TRUE;
  tx->n_pending = store->pending_changes->len;
  return TRUE;
}

static gboolean
savepoint_release (NbMgmtTransaction *tx,
                   GError           **error)
{
  NbMgmtStore *store = tx->store;
  sqlite3_stmt *stmt = nb_mgmt_store_prepare (store, "RELEASE nb_nested", error);

  if (stmt != NULL && nb_mgmt_store_step_done (store, stmt, "releasing a savepoint", error))
    {
      tx->store = NULL;
      return TRUE;
    }
  return FALSE;
}

static void
savepoint_rollback (NbMgmtTransaction *tx)
{
  NbMgmtStore *store = g_steal_pointer (&tx->store);
  sqlite3_stmt *stmt;

  if (!store->in_transaction)
    return;                     /* the outer transaction already ended */
  /* Its changes were never made: they must not be announced either. */
  if (store->pending_changes->len > tx->n_pending)
    g_ptr_array_set_size (store->pending_changes, tx->n_pending);
  stmt = nb_mgmt_store_prepare (store, "ROLLBACK TO nb_nested", NULL);
  if (stmt == NULL || !nb_mgmt_store_step_done (store, stmt, "rolling back a savepoint", NULL))
    g_warning ("rollback to a savepoint failed: %s", sqlite3_errmsg (store->db));
  stmt = nb_mgmt_store_prepare (store, "RELEASE nb_nested", NULL);
  if (stmt != NULL)
    nb_mgmt_store_step_done (store, stmt, "releasing a savepoint", NULL);
}

gboolean
nb_mgmt_transaction_begin (NbMgmtTransaction *tx,
                           NbMgmtStore       *store,
                           GError           **error)
{
  g_return_val_if_fail (tx->store == NULL, FALSE);

  if (store->in_transaction)
    return savepoint_begin (tx, store, error);
  if (!nb_mgmt_store_begin (store, error))
    return FALSE;
  tx->store = store;
  tx->nested = FALSE;
  return TRUE;
}

gboolean
nb_mgmt_transaction_begin_relaxed (NbMgmtTransaction *tx,
                                   NbMgmtStore       *store,
                                   GError           **error)
{
  g_return_val_if_fail (tx->store == NULL, FALSE);

  /* Inside another transaction its sync mode decides. */
  if (store->in_transaction)
    return savepoint_begin (tx, store, error);
  if (!nb_mgmt_store_begin_relaxed (store, error))
    return FALSE;
  tx->store = store;
  tx->nested = FALSE;
  return TRUE;
}

gboolean
nb_mgmt_transaction_commit (NbMgmtTransaction *tx,
                            GError           **error)
{
  NbMgmtStore *store;

  g_return_val_if_fail (tx->store != NULL, FALSE);

  if (tx->nested)
    {
      if (savepoint_release (tx, error))
        return TRUE;
      savepoint_rollback (tx);
      return FALSE;
    }
  /* A failed COMMIT rolls back by itself. */
  store = g_steal_pointer (&tx->store);
  return nb_mgmt_store_commit (store, error);
}

void
nb_mgmt_transaction_clear (NbMgmtTransaction *tx)
{
  NbMgmtStore *store;

  if (tx->store != NULL && tx->nested)
    {
      savepoint_rollback (tx);
      return;
    }
  store = g_steal_pointer (&tx->store);
  if (store != NULL)
    nb_mgmt_store_rollback (store);
}

gboolean
nb_mgmt_store_note_change (NbMgmtStore      *store,
                           const char       *account_id,
                           NbMgmtChangeKind  kind,
                           const char       *object_id,
                           const char       *peer_key,
                           gboolean          network_changed,
                           GError          **error)
{
  PendingChange *p;
  guint64 serial = 0;
  sqlite3_stmt *stmt;
  gboolean has_row;

  if (network_changed && kind != NB_MGMT_CHANGE_ACCOUNT_DELETED)
    {
      /* Before the bump: the cached snapshot is "before" if its serial is
       * the current one. */
      nb_mgmt_netmap_mark_dirty (store, account_id, kind, object_id);
      stmt = nb_mgmt_store_prepare (store,
                                    "UPDATE accounts SET serial = serial + 1 WHERE id = ?1 "
                                    "RETURNING serial", error);
      if (stmt == NULL)
        return FALSE;
      nb_mgmt_bind_text (stmt, 1, account_id);
      if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
        return FALSE;
      if (has_row)
        serial = (guint64) sqlite3_column_int64 (stmt, 0);
      sqlite3_reset (stmt);
    }
  else if (kind != NB_MGMT_CHANGE_ACCOUNT_DELETED)
    {
      stmt = nb_mgmt_store_prepare (store, "SELECT serial FROM accounts WHERE id = ?1", error);
      if (stmt == NULL)
        return FALSE;
      nb_mgmt_bind_text (stmt, 1, account_id);
      if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
        return FALSE;
      if (has_row)
        serial = (guint64) sqlite3_column_int64 (stmt, 0);
      sqlite3_reset (stmt);
    }
  else
    {
      nb_mgmt_netmap_mark_dirty (store, account_id, kind, object_id);
    }

  p = g_new0 (PendingChange, 1);
  p->account_id = g_strdup (account_id);
  p->kind = kind;
  p->object_id = g_strdup (object_id);
  p->peer_key = g_strdup (peer_key);
  p->serial = serial;
  p->network_changed = network_changed;
  g_ptr_array_add (store->pending_changes, p);
  return TRUE;
}

/**
 * nb_mgmt_store_open:
 * @path: the database file, created if missing; ":memory:" for a store
 *   that lives in memory only
 * @error: return location for a #GError
 *
 * Opens the store and brings its schema to %NB_MGMT_STORE_SCHEMA_VERSION.
 *
 * Returns: (transfer full): the store, or %NULL with @error set
 */
NbMgmtStore *
nb_mgmt_store_open (const char *path,
                    GError    **error)
{
  return nb_mgmt_store_open_at_version (path, NB_MGMT_STORE_SCHEMA_VERSION, error);
}

/* The database holds hashed secrets, peer keys and addresses: the file and
 * SQLite's -wal and -shm files beside it are the owner's only (0600),
 * whatever the umask and whatever modes an older server left. SQLite
 * creates the -wal and -shm files with the database file's mode, so a
 * database created 0600 keeps them 0600 when they come back. */
#define STORE_FILE_MODE 0600

static gboolean
is_file_path (const char *path)
{
  return !g_str_equal (path, ":memory:") && !g_str_has_prefix (path, "file:");
}

static gboolean
create_private (const char  *path,
                GError     **error)
{
  int fd = g_open (path, O_RDWR | O_CREAT | O_CLOEXEC, STORE_FILE_MODE);

  if (fd < 0)
    {
      int saved = errno;

      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INTERNAL,
                   "Cannot create the management database %s: %s", path, g_strerror (saved));
      return FALSE;
    }
  g_close (fd, NULL);
  return TRUE;
}

static gboolean
make_private (const char  *path,
              GError     **error)
{
  const char *const suffixes[] = { "", "-wal", "-shm" };

  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *file = g_strconcat (path, suffixes[i], NULL);
      GStatBuf st;

      if (g_stat (file, &st) != 0 || (st.st_mode & 07777) == STORE_FILE_MODE)
        continue;
      if (g_chmod (file, STORE_FILE_MODE) != 0)
        {
          int saved = errno;

          g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INTERNAL,
                       "Cannot make %s private (mode 0600): %s", file, g_strerror (saved));
          return FALSE;
        }
      g_message ("Made %s private: mode %04o -> %04o", file, (guint) (st.st_mode & 07777),
                 (guint) STORE_FILE_MODE);
    }
  return TRUE;
}

/* Opens and migrates up to @version only: tests make old files with it. */
NbMgmtStore *
nb_mgmt_store_open_at_version (const char *path,
                               int         version,
                               GError    **error)
{
  g_autoptr(NbMgmtStore) store = NULL;
  int rc;

  g_return_val_if_fail (path != NULL, NULL);

  store = g_object_new (NB_TYPE_MGMT_STORE, NULL);
  store->path = g_strdup (path);

  if (is_file_path (path) && (!create_private (path, error) || !make_private (path, error)))
    return NULL;

  rc = sqlite3_open_v2 (path, &store->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                        SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, NULL);
  if (rc != SQLITE_OK)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INTERNAL,
                   "Cannot open the management database %s: %s", path,
                   store->db != NULL ? sqlite3_errmsg (store->db) : sqlite3_errstr (rc));
      return NULL;
    }
  sqlite3_extended_result_codes (store->db, 1);
  /* Another process (a second server, sqlite3 on the command line) may
   * hold the lock briefly. */
  sqlite3_busy_timeout (store->db, 5000);

  /* WAL so readers do not block the writer; synchronous=FULL so a change is
   * durable when COMMIT returns (crash safety beats a few µs per write). */
  if (!nb_mgmt_store_exec (store,
                           "PRAGMA journal_mode = WAL;"
                           "PRAGMA synchronous = FULL;"
                           "PRAGMA foreign_keys = ON;"
                           "PRAGMA temp_store = MEMORY;",
                           error))
    {
      g_prefix_error (error, "%s: ", path);
      return NULL;
    }

  if (!nb_mgmt_schema_migrate (store, version, error))
    {
      g_prefix_error (error, "%s: ", path);
      return NULL;
    }
  /* The -wal and -shm files an older server left 0644 exist now. */
  if (is_file_path (path) && !make_private (path, error))
    return NULL;
  g_debug ("opened %s at schema version %d", path, store->schema_version);
  return g_steal_pointer (&store);
}

/**
 * nb_mgmt_store_get_path:
 * @store: a store
 *
 * Returns: the path it was opened with
 */
const char *
nb_mgmt_store_get_path (NbMgmtStore *store)
{
  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);
  return store->path;
}

/**
 * nb_mgmt_store_get_schema_version:
 * @store: a store
 *
 * Returns: the schema version of the open file
 */
int
nb_mgmt_store_get_schema_version (NbMgmtStore *store)
{
  g_return_val_if_fail (NB_IS_MGMT_STORE (store), 0);
  return store->schema_version;
}

/**
 * nb_mgmt_store_set_time_override:
 * @store: a store
 * @now: Unix seconds the store takes as the current time; 0 for real time
 *
 * For tests: expiry of setup keys, tokens and logins is checked against
 * this clock.
 */
void
nb_mgmt_store_set_time_override (NbMgmtStore *store,
                                 gint64       now)
{
  g_return_if_fail (NB_IS_MGMT_STORE (store));
  store->time_override = now;
}

/**
 * nb_mgmt_store_now:
 * @store: a store
 *
 * Returns: the store's current time, Unix seconds
 */
gint64
nb_mgmt_store_now (NbMgmtStore *store)
{
  g_return_val_if_fail (NB_IS_MGMT_STORE (store), 0);
  if (store->time_override != 0)
    return store->time_override;
  return g_get_real_time () / G_USEC_PER_SEC;
}

/**
 * nb_mgmt_store_set_default_dns_domain:
 * @store: a store
 * @domain: (nullable): the DNS domain of accounts that set none; %NULL for
 *   %NB_MGMT_DEFAULT_DNS_DOMAIN
 */
void
nb_mgmt_store_set_default_dns_domain (NbMgmtStore *store,
                                      const char  *domain)
{
  g_return_if_fail (NB_IS_MGMT_STORE (store));
  g_free (store->default_dns_domain);
  store->default_dns_domain = g_strdup (domain != NULL && *domain != '\0'
                                        ? domain : NB_MGMT_DEFAULT_DNS_DOMAIN);
  /* Every map's FQDNs depend on it. */
  g_hash_table_remove_all (store->snapshots);
}
