/* nb-mgmt-util.c: IDs, secret hashing, addresses, names, group references
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-mgmt-store"

#include <arpa/inet.h>
#include <string.h>

#include <json-glib/json-glib.h>
#include <sodium.h>

#include "nb-mgmt-store-private.h"
#include "nb-sodium-private.h"
#include "nb-text-private.h"

/* xid-like IDs: 12 bytes (4 of big-endian time, 8 random) in lower-case
 * base32hex, 20 characters. Sorting them sorts by creation second. */
char *
nb_mgmt_new_id (void)
{
  static const char alphabet[] = "0123456789abcdefghijklmnopqrstuv";
  guint8 raw[12];
  guint32 now = (guint32) (g_get_real_time () / G_USEC_PER_SEC);
  char *out = g_malloc (21);
  guint bits = 0, acc = 0, n = 0;

  nb_sodium_ensure_init ();
  raw[0] = now >> 24;
  raw[1] = now >> 16;
  raw[2] = now >> 8;
  raw[3] = now;
  randombytes_buf (raw + 4, 8);
  for (guint i = 0; i < sizeof raw; i++)
    {
      acc = (acc << 8) | raw[i];
      bits += 8;
      while (bits >= 5)
        {
          out[n++] = alphabet[(acc >> (bits - 5)) & 31];
          bits -= 5;
        }
    }
  if (bits > 0)
    out[n++] = alphabet[(acc << (5 - bits)) & 31];
  out[n] = '\0';
  return out;
}

char *
nb_mgmt_hash_secret (const char *text)
{
  guint8 digest[crypto_hash_sha256_BYTES];
  char *hex = g_malloc (crypto_hash_sha256_BYTES * 2 + 1);

  nb_sodium_ensure_init ();
  crypto_hash_sha256 (digest, (const guint8 *) text, strlen (text));
  sodium_bin2hex (hex, crypto_hash_sha256_BYTES * 2 + 1, digest, sizeof digest);
  return hex;
}

char *
nb_mgmt_strv_to_json (char * const *strv)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_array (builder);
  for (guint i = 0; strv != NULL && strv[i] != NULL; i++)
    json_builder_add_string_value (builder, strv[i]);
  json_builder_end_array (builder);
  root = json_builder_get_root (builder);
  return json_to_string (root, FALSE);
}

JsonArray *
nb_mgmt_json_array_parse (const char *json,
                          JsonNode  **root)
{
  JsonArray *array;

  *root = json != NULL && *json != '\0' ? json_from_string (json, NULL) : NULL;
  if (*root == NULL || !JSON_NODE_HOLDS_ARRAY (*root))
    return NULL;
  array = json_node_get_array (*root);
  return json_array_get_length (array) > 0 ? array : NULL;
}

char **
nb_mgmt_strv_from_json (const char *json)
{
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  JsonArray *array = nb_mgmt_json_array_parse (json, &root);

  if (array == NULL)
    return NULL;
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      const char *s = json_array_get_string_element (array, i);
      if (s != NULL)
        g_strv_builder_add (builder, s);
    }
  return g_strv_builder_end (builder);
}

gboolean
nb_mgmt_strv_has_duplicates (char * const *strv)
{
  for (guint i = 0; strv != NULL && strv[i] != NULL; i++)
    for (guint j = i + 1; strv[j] != NULL; j++)
      if (strcmp (strv[i], strv[j]) == 0)
        return TRUE;
  return FALSE;
}

char *
nb_mgmt_ip_to_string (guint32 ip)
{
  return g_strdup_printf ("%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff,
                          (ip >> 8) & 0xff, ip & 0xff);
}

gboolean
nb_mgmt_ip_parse (const char *text,
                  guint32    *ip)
{
  struct in_addr addr;

  if (text == NULL || inet_pton (AF_INET, text, &addr) != 1)
    return FALSE;
  *ip = ntohl (addr.s_addr);
  return TRUE;
}

gboolean
nb_mgmt_cidr_parse (const char *text,
                    guint32    *network,
                    guint      *prefix)
{
  g_autofree char *copy = NULL;
  char *slash, *end;
  guint64 p;
  guint32 ip;

  if (text == NULL)
    return FALSE;
  copy = g_strdup (text);
  slash = strchr (copy, '/');
  if (slash == NULL)
    return FALSE;
  *slash = '\0';
  if (!nb_mgmt_ip_parse (copy, &ip))
    return FALSE;
  if (slash[1] == '\0' || !g_ascii_isdigit (slash[1]))
    return FALSE;
  p = g_ascii_strtoull (slash + 1, &end, 10);
  if (*end != '\0' || p > 32)
    return FALSE;
  *prefix = (guint) p;
  *network = p == 0 ? 0 : ip & (0xffffffffu << (32 - p));
  return TRUE;
}

char *
nb_mgmt_dns_label_from_name (const char *name)
{
  GString *out = g_string_new (NULL);

  /* Only the first DNS label of a host name ("laptop.example.com"). */
  for (const char *p = name != NULL ? name : ""; *p != '\0' && *p != '.'; p++)
    {
      char c = g_ascii_tolower (*p);

      if (g_ascii_isalnum (c))
        g_string_append_c (out, c);
      else if ((c == '-' || c == '_' || c == ' ') && out->len > 0 &&
               out->str[out->len - 1] != '-')
        g_string_append_c (out, '-');
      if (out->len >= 63)
        break;
    }
  while (out->len > 0 && out->str[out->len - 1] == '-')
    g_string_truncate (out, out->len - 1);
  if (out->len == 0)
    g_string_assign (out, "peer");
  return g_string_free (out, FALSE);
}

gboolean
nb_mgmt_dns_domain_is_valid (const char *domain)
{
  g_auto(GStrv) labels = NULL;

  if (domain == NULL || *domain == '\0' || strlen (domain) > 253)
    return FALSE;
  labels = g_strsplit (domain, ".", -1);
  for (guint i = 0; labels[i] != NULL; i++)
    {
      gsize len = strlen (labels[i]);

      if (len == 0 || len > 63 || labels[i][0] == '-' || labels[i][len - 1] == '-')
        return FALSE;
      for (gsize j = 0; j < len; j++)
        if (!g_ascii_isalnum (labels[i][j]) && labels[i][j] != '-')
          return FALSE;
    }
  return TRUE;
}

static gboolean
check_text (const char  *text,
            const char  *what,
            gsize        max_chars,
            gboolean     is_name,
            GError     **error)
{
  gsize len = strlen (text);
  gssize unsafe_at;
  gunichar unsafe = 0;

  if (!g_utf8_validate (text, len, NULL))
    return nb_mgmt_fail_invalid (error, "%s is not valid UTF-8", what);
  if (g_utf8_strlen (text, len) > (glong) max_chars)
    return nb_mgmt_fail_invalid (error, "%s is longer than %" G_GSIZE_FORMAT " characters", what,
                                 max_chars);
  unsafe_at = nb_text_find_unsafe (text, len, &unsafe);
  if (unsafe_at >= 0)
    {
      g_autofree char *described = nb_text_describe_char (unsafe);

      return nb_mgmt_fail_invalid (error, "%s holds %s (character %ld): control, line break, "
                                   "bidirectional and invisible characters are not allowed", what,
                                   described, g_utf8_pointer_to_offset (text, text + unsafe_at) + 1);
    }
  if (is_name)
    {
      const char *p = text;

      while (*p != '\0' && g_unichar_isspace (g_utf8_get_char (p)))
        p = g_utf8_next_char (p);
      if (*p == '\0')
        return nb_mgmt_fail_invalid (error, "%s is required (1..%" G_GSIZE_FORMAT " characters)", what,
                                     max_chars);
    }
  return TRUE;
}

gboolean
nb_mgmt_check_name (const char  *name,
                    const char  *what,
                    gsize        max_chars,
                    GError     **error)
{
  if (name == NULL)
    return nb_mgmt_fail_invalid (error, "%s is required (1..%" G_GSIZE_FORMAT " characters)", what,
                                 max_chars);
  return check_text (name, what, max_chars, TRUE, error);
}

gboolean
nb_mgmt_check_text (const char  *text,
                    const char  *what,
                    gsize        max_chars,
                    GError     **error)
{
  return text == NULL || check_text (text, what, max_chars, FALSE, error);
}

char *
nb_mgmt_clean_text (const char *text,
                    gsize       max)
{
  g_autofree char *valid = NULL;
  GString *out;
  gsize len;

  if (text == NULL)
    return NULL;
  valid = g_utf8_make_valid (text, -1);
  len = strlen (valid);
  if (nb_text_find_unsafe (valid, len, NULL) < 0 && len <= max)
    return g_steal_pointer (&valid);

  /* Whole characters only, and none a name may not hold. */
  out = g_string_sized_new (MIN (len, max));
  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p))
    {
      const char *next = g_utf8_next_char (p);

      if (nb_text_char_class (g_utf8_get_char (p)) != NB_TEXT_CHAR_OK)
        continue;
      if (out->len + (next - p) > max)
        break;
      g_string_append_len (out, p, next - p);
    }
  return g_string_free (out, FALSE);
}

char **
nb_mgmt_store_read_group_refs (NbMgmtStore *store,
                               const char  *owner_id,
                               const char  *field,
                               GError     **error)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  sqlite3_stmt *stmt;
  gboolean has_row, any = FALSE;

  stmt = nb_mgmt_store_prepare (store,
                                "SELECT group_id FROM group_refs WHERE owner_id = ?1 AND field = ?2 "
                                "ORDER BY position", error);
  if (stmt == NULL)
    return NULL;
  nb_mgmt_bind_text (stmt, 1, owner_id);
  nb_mgmt_bind_text (stmt, 2, field);
  while (TRUE)
    {
      if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
        return NULL;
      if (!has_row)
        break;
      g_strv_builder_add (builder, nb_mgmt_column_text (stmt, 0));
      any = TRUE;
    }
  if (!any)
    return NULL;
  return g_strv_builder_end (builder);
}

gboolean
nb_mgmt_store_write_group_refs (NbMgmtStore  *store,
                                const char   *account_id,
                                const char   *owner_id,
                                const char   *field,
                                char * const *group_ids,
                                gboolean      allow_all,
                                const char   *what,
                                GError      **error)
{
  sqlite3_stmt *stmt;

  stmt = nb_mgmt_store_prepare (store,
                                "DELETE FROM group_refs WHERE owner_id = ?1 AND field = ?2", error);
  if (stmt == NULL)
    return FALSE;
  nb_mgmt_bind_text (stmt, 1, owner_id);
  nb_mgmt_bind_text (stmt, 2, field);
  if (!nb_mgmt_store_step_done (store, stmt, what, error))
    return FALSE;

  for (guint i = 0; group_ids != NULL && group_ids[i] != NULL; i++)
    {
      gboolean has_row;
      g_autofree char *name = NULL;

      stmt = nb_mgmt_store_prepare (store,
                                    "SELECT name FROM groups WHERE id = ?1 AND account_id = ?2", error);
      if (stmt == NULL)
        return FALSE;
      nb_mgmt_bind_text (stmt, 1, group_ids[i]);
      nb_mgmt_bind_text (stmt, 2, account_id);
      if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
        return FALSE;
      if (!has_row)
        {
          g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT,
                       "%s: group %s does not exist", what, group_ids[i]);
          return FALSE;
        }
      name = nb_mgmt_column_dup (stmt, 0);
      sqlite3_reset (stmt);
      if (!allow_all && g_strcmp0 (name, NB_MGMT_ALL_GROUP_NAME) == 0)
        {
          g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT,
                       "%s: the group \"All\" cannot be used here", what);
          return FALSE;
        }

      stmt = nb_mgmt_store_prepare (store,
                                    "INSERT OR IGNORE INTO group_refs "
                                    "(account_id, owner_id, field, position, group_id) "
                                    "VALUES (?1, ?2, ?3, ?4, ?5)", error);
      if (stmt == NULL)
        return FALSE;
      nb_mgmt_bind_text (stmt, 1, account_id);
      nb_mgmt_bind_text (stmt, 2, owner_id);
      nb_mgmt_bind_text (stmt, 3, field);
      nb_mgmt_bind_int64 (stmt, 4, i);
      nb_mgmt_bind_text (stmt, 5, group_ids[i]);
      if (!nb_mgmt_store_step_done (store, stmt, what, error))
        return FALSE;
    }
  return TRUE;
}

gboolean
nb_mgmt_store_account_exists (NbMgmtStore *store,
                              const char  *account_id,
                              GError     **error)
{
  sqlite3_stmt *stmt;
  gboolean has_row;

  if (account_id == NULL)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_NOT_FOUND, "No account given");
      return FALSE;
    }
  stmt = nb_mgmt_store_prepare (store, "SELECT 1 FROM accounts WHERE id = ?1", error);
  if (stmt == NULL)
    return FALSE;
  nb_mgmt_bind_text (stmt, 1, account_id);
  if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
    return FALSE;
  sqlite3_reset (stmt);
  if (!has_row)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_NOT_FOUND,
                   "Account %s not found", account_id);
      return FALSE;
    }
  return TRUE;
}

char *
nb_mgmt_store_all_group_id (NbMgmtStore *store,
                            const char  *account_id,
                            GError     **error)
{
  sqlite3_stmt *stmt;
  gboolean has_row;
  char *id;

  stmt = nb_mgmt_store_prepare (store,
                                "SELECT id FROM groups WHERE account_id = ?1 AND name = 'All' "
                                "AND issued = 'api'", error);
  if (stmt == NULL)
    return NULL;
  nb_mgmt_bind_text (stmt, 1, account_id);
  if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
    return NULL;
  if (!has_row)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_NOT_FOUND,
                   "Account %s not found", account_id);
      return NULL;
    }
  id = nb_mgmt_column_dup (stmt, 0);
  sqlite3_reset (stmt);
  return id;
}

gboolean
nb_mgmt_fail_invalid (GError    **error,
                      const char *format,
                      ...)
{
  va_list args;

  va_start (args, format);
  if (error != NULL)
    *error = g_error_new_valist (NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT, format, args);
  va_end (args);
  return FALSE;
}

gboolean
nb_mgmt_store_delete_by_id (NbMgmtStore *store,
                            const char  *sql,
                            const char  *id,
                            const char  *what,
                            GError     **error)
{
  sqlite3_stmt *stmt = nb_mgmt_store_prepare (store, sql, error);

  if (stmt == NULL)
    return FALSE;
  nb_mgmt_bind_text (stmt, 1, id);
  return nb_mgmt_store_step_done (store, stmt, what, error);
}

/* Every plain delete of an account's object is the same transaction: the
 * row goes, the activity log says who deleted what (meta name = @name), and
 * the change is noted; any failure rolls the whole of it back. */
gboolean
nb_mgmt_store_delete_object (NbMgmtStore      *store,
                             const char       *account_id,
                             const char       *actor_id,
                             const char       *sql,
                             const char       *id,
                             const char       *what,
                             const char       *activity_code,
                             const char       *name,
                             NbMgmtChangeKind  kind,
                             gboolean          network_changed,
                             GError          **error)
{
  g_auto(NbMgmtTransaction) tx = NB_MGMT_TRANSACTION_INIT;

  return nb_mgmt_transaction_begin (&tx, store, error) &&
         nb_mgmt_store_delete_by_id (store, sql, id, what, error) &&
         nb_mgmt_store_add_event (store, account_id, actor_id, activity_code, id, error,
                                  "name", name, NULL) &&
         nb_mgmt_store_note_change (store, account_id, kind, id, NULL, network_changed, error) &&
         nb_mgmt_transaction_commit (&tx, error);
}

static gboolean
strv_has (char * const *strv,
          const char   *item)
{
  return strv != NULL && g_strv_contains ((const char * const *) strv, item);
}

gboolean
nb_mgmt_store_add_diff_events (NbMgmtStore  *store,
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
                               GError      **error)
{
  for (int pass = 0; pass < 2; pass++)
    {
      char * const *from = pass == 0 ? after : before;
      char * const *other = pass == 0 ? before : after;
      const char *code = pass == 0 ? added_code : removed_code;

      for (guint i = 0; from != NULL && from[i] != NULL; i++)
        {
          gboolean ok;

          if (strv_has (other, from[i]))
            continue;
          if (extra_key != NULL)
            ok = nb_mgmt_store_add_event (store, account_id, actor_id, code,
                                          target_id != NULL ? target_id : from[i], error,
                                          item_key, from[i], extra_key, extra_value, NULL);
          else
            ok = nb_mgmt_store_add_event (store, account_id, actor_id, code,
                                          target_id != NULL ? target_id : from[i], error,
                                          item_key, from[i], NULL);
          if (!ok)
            return FALSE;
        }
    }
  return TRUE;
}

gboolean
nb_mgmt_store_fill_group_refs (NbMgmtStore  *store,
                               const char   *owner_id,
                               const char   *field,
                               char       ***out,
                               GError      **error)
{
  GError *local = NULL;

  *out = nb_mgmt_store_read_group_refs (store, owner_id, field, &local);
  if (local != NULL)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  return TRUE;
}

/* ---- Reading records ----------------------------------------------------- */

gpointer
nb_mgmt_store_read_one (NbMgmtStore    *store,
                        sqlite3_stmt   *stmt,
                        const char     *what,
                        const char     *id,
                        NbMgmtRowFunc   row_func,
                        NbMgmtFillFunc  fill_func,
                        GDestroyNotify  free_func,
                        GError        **error)
{
  gboolean has_row;
  gpointer record;

  if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
    return NULL;
  if (!has_row)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_NOT_FOUND,
                   "%s %s not found", what, id != NULL ? id : "(none)");
      return NULL;
    }
  record = row_func (stmt);
  sqlite3_reset (stmt);
  if (fill_func != NULL && !fill_func (store, record, error))
    {
      free_func (record);
      return NULL;
    }
  return record;
}

gpointer
nb_mgmt_store_get_one (NbMgmtStore    *store,
                       const char     *sql,
                       const char     *account_id,
                       const char     *id,
                       const char     *what,
                       NbMgmtRowFunc   row_func,
                       NbMgmtFillFunc  fill_func,
                       GDestroyNotify  free_func,
                       GError        **error)
{
  sqlite3_stmt *stmt = nb_mgmt_store_prepare (store, sql, error);

  if (stmt == NULL)
    return NULL;
  nb_mgmt_bind_text (stmt, 1, id);
  if (account_id != NULL)
    nb_mgmt_bind_text (stmt, 2, account_id);
  return nb_mgmt_store_read_one (store, stmt, what, id, row_func, fill_func, free_func, error);
}

GPtrArray *
nb_mgmt_store_read_all (NbMgmtStore    *store,
                        sqlite3_stmt   *stmt,
                        NbMgmtRowFunc   row_func,
                        NbMgmtFillFunc  fill_func,
                        GDestroyNotify  free_func,
                        GError        **error)
{
  g_autoptr(GPtrArray) records = g_ptr_array_new_with_free_func (free_func);
  gboolean has_row;

  while (TRUE)
    {
      if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
        return NULL;
      if (!has_row)
        break;
      g_ptr_array_add (records, row_func (stmt));
    }
  /* Filled only once the statement is done: a fill may prepare its own. */
  for (guint i = 0; fill_func != NULL && i < records->len; i++)
    if (!fill_func (store, records->pdata[i], error))
      return NULL;
  return g_steal_pointer (&records);
}

GPtrArray *
nb_mgmt_store_list_account (NbMgmtStore    *store,
                            const char     *sql,
                            const char     *account_id,
                            NbMgmtRowFunc   row_func,
                            NbMgmtFillFunc  fill_func,
                            GDestroyNotify  free_func,
                            GError        **error)
{
  sqlite3_stmt *stmt;

  if (!nb_mgmt_store_account_exists (store, account_id, error))
    return NULL;
  stmt = nb_mgmt_store_prepare (store, sql, error);
  if (stmt == NULL)
    return NULL;
  nb_mgmt_bind_text (stmt, 1, account_id);
  return nb_mgmt_store_read_all (store, stmt, row_func, fill_func, free_func, error);
}
