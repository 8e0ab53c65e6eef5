/* nb-mgmt-peer-addresses.c: a new peer's overlay address and DNS label
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-mgmt-store"

#include <string.h>

#include "nb-mgmt-store-private.h"

/* The lowest free address offset at or after the account's next one;
 * wraps to the lowest free one when the top is reached, so freed addresses
 * are reused only once the range has been used up. */
gboolean
nb_mgmt_store_allocate_peer_ip (NbMgmtStore *store,
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
char *
nb_mgmt_store_unique_dns_label (NbMgmtStore *store,
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
