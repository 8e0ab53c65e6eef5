/* nb-mgmt-events.c: the activity log
 *
 * Every change writes its event in the same transaction as the change, so
 * the log never claims a change that did not happen nor misses one that did.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-mgmt-store"

#include <string.h>

#include <json-glib/json-glib.h>

#include "nb-mgmt-store-private.h"

gboolean
nb_mgmt_store_add_event (NbMgmtStore *store,
                         const char  *account_id,
                         const char  *actor_id,
                         const char  *activity_code,
                         const char  *target_id,
                         GError     **error,
                         ...)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *meta = NULL;
  sqlite3_stmt *stmt;
  const char *key;
  va_list args;

  json_builder_begin_object (builder);
  va_start (args, error);
  while ((key = va_arg (args, const char *)) != NULL)
    {
      const char *value = va_arg (args, const char *);
      json_builder_set_member_name (builder, key);
      json_builder_add_string_value (builder, value != NULL ? value : "");
    }
  va_end (args);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  meta = json_to_string (root, FALSE);

  stmt = nb_mgmt_store_prepare (store,
                                "INSERT INTO events (account_id, timestamp, activity_code, "
                                "initiator_id, target_id, meta) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                                error);
  if (stmt == NULL)
    return FALSE;
  nb_mgmt_bind_text (stmt, 1, account_id);
  nb_mgmt_bind_int64 (stmt, 2, nb_mgmt_store_now (store));
  nb_mgmt_bind_text (stmt, 3, activity_code);
  nb_mgmt_bind_text (stmt, 4, actor_id);
  nb_mgmt_bind_text (stmt, 5, target_id);
  nb_mgmt_bind_text (stmt, 6, meta);
  return nb_mgmt_store_step_done (store, stmt, "activity event", error);
}

static GHashTable *
meta_from_json (const char *json)
{
  GHashTable *meta = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(JsonNode) root = NULL;
  JsonObject *object;
  JsonObjectIter iter;
  const char *name;
  JsonNode *node;

  if (json == NULL)
    return meta;
  root = json_from_string (json, NULL);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return meta;
  object = json_node_get_object (root);
  json_object_iter_init (&iter, object);
  while (json_object_iter_next (&iter, &name, &node))
    if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
      g_hash_table_insert (meta, g_strdup (name), g_strdup (json_node_get_string (node)));
  return meta;
}

/* The filter is applied in SQL with fixed placeholders: a NULL parameter
 * disables its clause, so one prepared statement serves every filter. */
#define EVENT_WHERE \
  " FROM events e LEFT JOIN users u ON u.id = e.initiator_id" \
  " WHERE e.account_id = ?1" \
  " AND (?2 IS NULL OR e.initiator_id = ?2)" \
  " AND (?3 IS NULL OR e.target_id = ?3)" \
  " AND (?4 IS NULL OR e.activity_code = ?4)" \
  " AND (?5 = 0 OR e.timestamp >= ?5)" \
  " AND (?6 = 0 OR e.timestamp <= ?6)" \
  " AND (?7 IS NULL OR instr(lower(coalesce(u.name, '') || ' ' || coalesce(u.email, '') || ' ' ||" \
  "      coalesce(e.meta, '')), lower(?7)) > 0)"

static void
bind_filter (sqlite3_stmt            *stmt,
             const char              *account_id,
             const NbMgmtEventFilter *f)
{
  nb_mgmt_bind_text (stmt, 1, account_id);
  nb_mgmt_bind_text (stmt, 2, f->initiator_id);
  nb_mgmt_bind_text (stmt, 3, f->target_id);
  nb_mgmt_bind_text (stmt, 4, f->activity_code);
  nb_mgmt_bind_int64 (stmt, 5, f->start);
  nb_mgmt_bind_int64 (stmt, 6, f->end);
  nb_mgmt_bind_text (stmt, 7, f->search != NULL && *f->search != '\0' ? f->search : NULL);
}

/**
 * nb_mgmt_store_list_events:
 * @store: a store
 * @account_id: the account
 * @filter: (nullable): what to return; %NULL for everything
 * @out_total: (out) (optional): how many events match before paging
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (element-type NbMgmtEvent): the events, newest
 *   first, or %NULL with @error set
 */
GPtrArray *
nb_mgmt_store_list_events (NbMgmtStore             *store,
                           const char              *account_id,
                           const NbMgmtEventFilter *filter,
                           guint                   *out_total,
                           GError                 **error)
{
  static const NbMgmtEventFilter all = { 0 };
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func ((GDestroyNotify) nb_mgmt_event_free);
  const NbMgmtEventFilter *f = filter != NULL ? filter : &all;
  sqlite3_stmt *stmt;
  gboolean has_row;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  if (!nb_mgmt_store_account_exists (store, account_id, error))
    return NULL;

  if (out_total != NULL)
    {
      stmt = nb_mgmt_store_prepare (store, "SELECT count(*)" EVENT_WHERE, error);
      if (stmt == NULL)
        return NULL;
      bind_filter (stmt, account_id, f);
      if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
        return NULL;
      *out_total = has_row ? (guint) sqlite3_column_int64 (stmt, 0) : 0;
      sqlite3_reset (stmt);
    }

  stmt = nb_mgmt_store_prepare (store,
                                "SELECT e.id, e.timestamp, e.activity_code, e.initiator_id, "
                                "u.name, u.email, e.target_id, e.meta" EVENT_WHERE
                                " ORDER BY e.id DESC LIMIT ?8 OFFSET ?9", error);
  if (stmt == NULL)
    return NULL;
  bind_filter (stmt, account_id, f);
  nb_mgmt_bind_int64 (stmt, 8, f->limit > 0 ? (gint64) f->limit : -1);
  nb_mgmt_bind_int64 (stmt, 9, f->offset);
  while (TRUE)
    {
      NbMgmtEvent *event;

      if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
        return NULL;
      if (!has_row)
        break;
      event = g_new0 (NbMgmtEvent, 1);
      event->id = sqlite3_column_int64 (stmt, 0);
      event->timestamp = sqlite3_column_int64 (stmt, 1);
      event->activity_code = nb_mgmt_column_dup (stmt, 2);
      event->initiator_id = nb_mgmt_column_dup (stmt, 3);
      event->initiator_name = nb_mgmt_column_dup (stmt, 4);
      event->initiator_email = nb_mgmt_column_dup (stmt, 5);
      event->target_id = nb_mgmt_column_dup (stmt, 6);
      event->meta = meta_from_json (nb_mgmt_column_text (stmt, 7));
      g_ptr_array_add (events, event);
    }
  return g_steal_pointer (&events);
}
