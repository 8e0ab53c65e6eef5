/* nb-mgmt-store-private.h: what the store's files share
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#include <json-glib/json-glib.h>
#include <sqlite3.h>

#include "nb-mgmt-store.h"

G_BEGIN_DECLS

typedef struct _NbMgmtSnapshot NbMgmtSnapshot;

struct _NbMgmtStore
{
  GObject parent_instance;

  sqlite3 *db;
  char *path;
  int schema_version;
  GHashTable *statements;       /* SQL text (static) -> sqlite3_stmt */
  gint64 time_override;
  char *default_dns_domain;
  gboolean in_transaction;
  gboolean relaxed;             /* synchronous=NORMAL for runtime state */
  GPtrArray *pending_changes;   /* PendingChange, emitted after COMMIT */

  /* Network maps: the snapshot of each account's network state, rebuilt
   * when its serial moves, and the hash of the map each peer was last
   * given (account id -> (peer id -> guint64 hash)). */
  GHashTable *snapshots;        /* account id -> NbMgmtSnapshot */
  GHashTable *given_hashes;     /* account id -> GHashTable */
  GHashTable *dirty;            /* account id -> what changed since the last collect */
  /* First maps (get_network_map_async): a few started, the other
   * requests wait their turn (nb-mgmt-netmap-updates.c). */
  guint first_maps_started;
  GQueue first_maps_waiting;    /* GTask */

  /* nb_mgmt_store_refuse_for_testing() */
  char *refused_name;
  char *refused_detail;
};

/* ---- SQLite helpers (nb-mgmt-store.c) ----------------------------------- */

/* Tests only: from now on SQLite itself refuses ("not authorized") every
 * statement that reads, inserts into, updates or deletes from the table
 * @name (a column @detail of it, if not %NULL), or runs PRAGMA @name (set
 * to @detail, if not %NULL). Statements prepared before are prepared again
 * and refused too. %NULL @name lifts the refusal. This is how tests make a
 * real database error happen in the middle of a real operation. */
void          nb_mgmt_store_refuse_for_testing (NbMgmtStore *store,
                                                const char  *name,
                                                const char  *detail);

/* A cached prepared statement for @sql (a string literal: the cache keys on
 * its address), reset and with bindings cleared. */
sqlite3_stmt *nb_mgmt_store_prepare    (NbMgmtStore   *store,
                                        const char    *sql,
                                        GError       **error);
/* Steps @stmt to completion expecting no row; maps constraint failures to
 * ALREADY_EXISTS / NOT_FOUND (foreign key) with @what in the message. */
gboolean      nb_mgmt_store_step_done  (NbMgmtStore   *store,
                                        sqlite3_stmt  *stmt,
                                        const char    *what,
                                        GError       **error);
/* Steps once: TRUE with *has_row on a row or at the end; FALSE on error. */
gboolean      nb_mgmt_store_step_row   (NbMgmtStore   *store,
                                        sqlite3_stmt  *stmt,
                                        gboolean      *has_row,
                                        GError       **error);
gboolean      nb_mgmt_store_exec       (NbMgmtStore   *store,
                                        const char    *sql,
                                        GError       **error);
void          nb_mgmt_store_set_db_error (NbMgmtStore *store,
                                          int          rc,
                                          const char  *what,
                                          GError     **error);

/* synchronous=NORMAL (runtime state) or FULL; FALSE with @error when
 * SQLite refuses. Until FULL is set again, nb_mgmt_store_begin() refuses
 * to start a durable change. */
gboolean      nb_mgmt_store_set_relaxed (NbMgmtStore  *store,
                                         gboolean      relaxed,
                                         GError      **error);
gboolean      nb_mgmt_store_begin      (NbMgmtStore   *store,
                                        GError       **error);
gboolean      nb_mgmt_store_commit     (NbMgmtStore   *store,
                                        GError       **error);
void          nb_mgmt_store_rollback   (NbMgmtStore   *store);
gboolean      nb_mgmt_store_begin_relaxed (NbMgmtStore *store,
                                           GError     **error);

/* NbMgmtTransaction and its calls are in nb-mgmt-store.h. */

/* Binding and reading. Text binds are copied (SQLITE_TRANSIENT); NULL binds
 * SQL NULL. */
void          nb_mgmt_bind_text        (sqlite3_stmt  *stmt,
                                        int            index,
                                        const char    *text);
void          nb_mgmt_bind_int64       (sqlite3_stmt  *stmt,
                                        int            index,
                                        gint64         value);
char         *nb_mgmt_column_dup       (sqlite3_stmt  *stmt,
                                        int            column);
const char   *nb_mgmt_column_text      (sqlite3_stmt  *stmt,
                                        int            column);

/* Queues a change for emission after COMMIT. When @network_changed, bumps
 * the account's serial inside the current transaction. */
gboolean      nb_mgmt_store_note_change (NbMgmtStore      *store,
                                         const char       *account_id,
                                         NbMgmtChangeKind  kind,
                                         const char       *object_id,
                                         const char       *peer_key,
                                         gboolean          network_changed,
                                         GError          **error);

/* Writes an activity event in the current transaction. @meta_kv is a
 * NULL-terminated list of key, value strings (values may not be NULL). */
gboolean      nb_mgmt_store_add_event  (NbMgmtStore   *store,
                                        const char    *account_id,
                                        const char    *actor_id,
                                        const char    *activity_code,
                                        const char    *target_id,
                                        GError       **error,
                                        ...) G_GNUC_NULL_TERMINATED;

NbMgmtStore  *nb_mgmt_store_open_at_version (const char *path,
                                             int         version,
                                             GError    **error);

/* One event per item added to or removed from a list (group members,
 * auto-groups), as NetBird logs them: @added_code or @removed_code, the
 * target @target_id (NULL: the item itself), meta @item_key = item and,
 * when @extra_key is not NULL, @extra_key = @extra_value. */
gboolean      nb_mgmt_store_add_diff_events (NbMgmtStore  *store,
                                             const char   *account_id,
                                             const char   *actor_id,
                                             char * const *before,
                                             char * const *after,
                                             const char   *added_code,
                                             const char   *removed_code,
                                             const char   *target_id,
                                             const char   *item_key,
                                             const char   *extra_key,
                                             const char   *extra_value,
                                             GError      **error);

/* ---- Schema (nb-mgmt-schema.c) ------------------------------------------ */

gboolean      nb_mgmt_schema_migrate   (NbMgmtStore   *store,
                                        int            target_version,
                                        GError       **error);

/* ---- Shared helpers (nb-mgmt-util.c) ------------------------------------ */

char         *nb_mgmt_new_id           (void);
/* SHA-256 of @text as 64 hex characters. */
char         *nb_mgmt_hash_secret      (const char    *text);
char         *nb_mgmt_strv_to_json     (char * const  *strv);
/* The JSON array in @json (nullable), kept alive by *@root; NULL when @json
 * is not an array or it is empty. */
JsonArray    *nb_mgmt_json_array_parse (const char    *json,
                                        JsonNode     **root);
char        **nb_mgmt_strv_from_json   (const char    *json);
gboolean      nb_mgmt_strv_has_duplicates (char * const *strv);
char         *nb_mgmt_ip_to_string     (guint32        ip);
gboolean      nb_mgmt_ip_parse         (const char    *text,
                                        guint32       *ip);
gboolean      nb_mgmt_cidr_parse       (const char    *text,
                                        guint32       *network,
                                        guint         *prefix);
/* A DNS label from a host name: lower case, [a-z0-9-], no leading or
 * trailing '-', at most 63 characters; "peer" when nothing is left. */
char         *nb_mgmt_dns_label_from_name (const char *name);
gboolean      nb_mgmt_dns_domain_is_valid (const char *domain);
/* Checks a name given from outside (@what names it in the message, as in
 * "name of the group"): valid UTF-8, not blank, at most @max_chars
 * characters, and none that nb_text_char_class() refuses (controls, line
 * breaks, bidirectional and invisible format characters). Fails with
 * INVALID_ARGUMENT (422) saying which rule it broke. */
gboolean      nb_mgmt_check_name       (const char    *name,
                                        const char    *what,
                                        gsize          max_chars,
                                        GError       **error);
/* The same for free text (a description): %NULL and empty are fine. */
gboolean      nb_mgmt_check_text       (const char    *text,
                                        const char    *what,
                                        gsize          max_chars,
                                        GError       **error);
/* Text a peer reports about itself (system meta): invalid UTF-8 replaced,
 * the characters nb_text_char_class() refuses dropped, cut to @max bytes
 * on a character boundary. */
char         *nb_mgmt_clean_text       (const char    *text,
                                        gsize          max);

/* Sets INVALID_ARGUMENT with the message and returns FALSE. */
gboolean      nb_mgmt_fail_invalid     (GError       **error,
                                        const char    *format,
                                        ...) G_GNUC_PRINTF (2, 3);
/* Runs @sql (a literal) with ?1 bound to @id, expecting no row. */
gboolean      nb_mgmt_store_delete_by_id (NbMgmtStore *store,
                                          const char  *sql,
                                          const char  *id,
                                          const char  *what,
                                          GError     **error);
/* Deletes object @id of @account_id in its own transaction: runs @sql (a
 * literal, ?1 = @id; @what names it in errors), logs @activity_code by
 * @actor_id with meta name = @name, and notes a change of @kind. */
gboolean      nb_mgmt_store_delete_object (NbMgmtStore      *store,
                                           const char       *account_id,
                                           const char       *actor_id,
                                           const char       *sql,
                                           const char       *id,
                                           const char       *what,
                                           const char       *activity_code,
                                           const char       *name,
                                           NbMgmtChangeKind  kind,
                                           gboolean          network_changed,
                                           GError          **error);
/* Reads a group reference list (group_refs) for @owner_id/@field. */
char        **nb_mgmt_store_read_group_refs  (NbMgmtStore  *store,
                                              const char   *owner_id,
                                              const char   *field,
                                              GError      **error);
/* Replaces it, checking every group exists in @account_id (INVALID_ARGUMENT
 * naming @what otherwise). @allow_all: the "All" group may be referenced. */
gboolean      nb_mgmt_store_write_group_refs (NbMgmtStore  *store,
                                              const char   *account_id,
                                              const char   *owner_id,
                                              const char   *field,
                                              char * const *group_ids,
                                              gboolean      allow_all,
                                              const char   *what,
                                              GError      **error);
gboolean      nb_mgmt_store_account_exists   (NbMgmtStore  *store,
                                              const char   *account_id,
                                              GError      **error);
char         *nb_mgmt_store_all_group_id     (NbMgmtStore  *store,
                                              const char   *account_id,
                                              GError      **error);
/* Like nb_mgmt_store_read_group_refs() into *@out (NULL when empty), but
 * FALSE on a database error: for the fill functions below. */
gboolean      nb_mgmt_store_fill_group_refs  (NbMgmtStore  *store,
                                              const char   *owner_id,
                                              const char   *field,
                                              char       ***out,
                                              GError      **error);

/* ---- Reading records (nb-mgmt-util.c) ------------------------------------ */

/* Builds a new record from the current row of a SELECT. */
typedef gpointer (*NbMgmtRowFunc)  (sqlite3_stmt  *stmt);
/* Completes a record from other tables (members, group references); the
 * row's statement is already reset. */
typedef gboolean (*NbMgmtFillFunc) (NbMgmtStore   *store,
                                    gpointer       record,
                                    GError       **error);

/* Steps @stmt (prepared and bound) once: NOT_FOUND "@what @id not found"
 * without a row, else the record from @row_func, completed by @fill_func
 * (nullable) and freed with @free_func should that fail. */
gpointer      nb_mgmt_store_read_one   (NbMgmtStore    *store,
                                        sqlite3_stmt   *stmt,
                                        const char     *what,
                                        const char     *id,
                                        NbMgmtRowFunc   row_func,
                                        NbMgmtFillFunc  fill_func,
                                        GDestroyNotify  free_func,
                                        GError        **error);
/* One record by @sql (a literal, ?1 = @id and, when @account_id is not
 * NULL, ?2 = @account_id), as nb_mgmt_store_read_one(). */
gpointer      nb_mgmt_store_get_one    (NbMgmtStore    *store,
                                        const char     *sql,
                                        const char     *account_id,
                                        const char     *id,
                                        const char     *what,
                                        NbMgmtRowFunc   row_func,
                                        NbMgmtFillFunc  fill_func,
                                        GDestroyNotify  free_func,
                                        GError        **error);
/* Every row of @stmt (prepared and bound) as a record, in order, each then
 * completed by @fill_func (nullable); NULL on error. */
GPtrArray    *nb_mgmt_store_read_all   (NbMgmtStore    *store,
                                        sqlite3_stmt   *stmt,
                                        NbMgmtRowFunc   row_func,
                                        NbMgmtFillFunc  fill_func,
                                        GDestroyNotify  free_func,
                                        GError        **error);
/* The records of an account by @sql (a literal, ?1 = @account_id), after
 * checking the account exists (NOT_FOUND otherwise). */
GPtrArray    *nb_mgmt_store_list_account (NbMgmtStore    *store,
                                          const char     *sql,
                                          const char     *account_id,
                                          NbMgmtRowFunc   row_func,
                                          NbMgmtFillFunc  fill_func,
                                          GDestroyNotify  free_func,
                                          GError        **error);

/* ---- Setup keys (nb-mgmt-setup-keys.c) ---------------------------------- */
#define SETUP_KEY_COLUMNS \
  "id, account_id, name, masked_key, type, created_at, updated_at, expires_at, revoked, " \
  "used_times, last_used, usage_limit, ephemeral"

NbMgmtSetupKey *nb_mgmt_setup_key_from_row          (sqlite3_stmt   *stmt);
gboolean        nb_mgmt_store_fill_setup_key_groups (NbMgmtStore    *store,
                                                     NbMgmtSetupKey *key,
                                                     GError        **error);

/* ---- Peers (nb-mgmt-peers.c, nb-mgmt-peer-login.c) ---------------------- */

/* The longest peer name or system meta field kept, in bytes. */
#define NB_MGMT_PEER_META_MAX 256

/* ---- Peer addresses and DNS labels (nb-mgmt-peer-addresses.c) ------------ */
/* Inside the current transaction: takes the account's next free overlay
 * address (NB_MGMT_ERROR_EXHAUSTED when none is left). */
gboolean      nb_mgmt_store_allocate_peer_ip (NbMgmtStore *store,
                                              const char  *account_id,
                                              guint32     *out_ip,
                                              GError     **error);
/* A DNS label from @name that no peer of the account but @except_peer_id
 * (nullable) uses: the label itself, else label-N. */
char         *nb_mgmt_store_unique_dns_label (NbMgmtStore *store,
                                              const char  *account_id,
                                              const char  *name,
                                              const char  *except_peer_id,
                                              GError     **error);

/* ---- Peer records (nb-mgmt-peers.c) -------------------------------------- */
gboolean      nb_mgmt_store_delete_peer_in_tx (NbMgmtStore *store,
                                               const char  *account_id,
                                               const char  *actor_id,
                                               const char  *peer_id,
                                               const char  *activity_code,
                                               GError     **error);

/* ---- Network maps (nb-mgmt-netmap.c) ------------------------------------ */
void          nb_mgmt_snapshot_free    (NbMgmtSnapshot *snapshot);
void          nb_mgmt_netmap_dirty_free (gpointer        dirty);
/* For the benchmark: computes every peer's map of the account in compact
 * form (no strings), records nothing; returns the total number of entries
 * (remote peers + firewall rules + routes). */
guint64       nb_mgmt_store_compute_all_compact (NbMgmtStore *store,
                                                 const char  *account_id,
                                                 GError     **error);
/* Loads (or keeps) the account's snapshot; for the benchmark. */
gboolean      nb_mgmt_store_load_snapshot (NbMgmtStore *store,
                                           const char  *account_id,
                                           GError     **error);
/* Told by note_change before the transaction commits: which peers may see
 * a different map. */
void          nb_mgmt_netmap_mark_dirty (NbMgmtStore      *store,
                                         const char       *account_id,
                                         NbMgmtChangeKind  kind,
                                         const char       *object_id);

G_END_DECLS
