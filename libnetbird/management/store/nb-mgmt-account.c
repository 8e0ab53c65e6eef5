/* nb-mgmt-account.c: accounts, their settings and network
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-mgmt-store"

#include <string.h>

#include <sodium.h>

#include "nb-mgmt-store-private.h"
#include "nb-sodium-private.h"

#define ACCOUNT_COLUMNS \
  "id, domain, domain_category, created_by, created_at, network_addr, network_prefix, " \
  "serial, login_expiration_enabled, login_expiration, regular_users_view_blocked, " \
  "groups_propagation_enabled, jwt_groups_enabled, jwt_groups_claim_name, dns_domain"

static NbMgmtAccount *
account_from_row (sqlite3_stmt *stmt)
{
  NbMgmtAccount *a = g_new0 (NbMgmtAccount, 1);
  g_autofree char *net = NULL;

  a->id = nb_mgmt_column_dup (stmt, 0);
  a->domain = nb_mgmt_column_dup (stmt, 1);
  a->domain_category = nb_mgmt_column_dup (stmt, 2);
  a->created_by = nb_mgmt_column_dup (stmt, 3);
  a->created_at = sqlite3_column_int64 (stmt, 4);
  net = nb_mgmt_ip_to_string ((guint32) sqlite3_column_int64 (stmt, 5));
  a->network_cidr = g_strdup_printf ("%s/%d", net, sqlite3_column_int (stmt, 6));
  a->serial = (guint64) sqlite3_column_int64 (stmt, 7);
  a->settings.peer_login_expiration_enabled = sqlite3_column_int (stmt, 8);
  a->settings.peer_login_expiration = sqlite3_column_int64 (stmt, 9);
  a->settings.regular_users_view_blocked = sqlite3_column_int (stmt, 10);
  a->settings.groups_propagation_enabled = sqlite3_column_int (stmt, 11);
  a->settings.jwt_groups_enabled = sqlite3_column_int (stmt, 12);
  a->settings.jwt_groups_claim_name = nb_mgmt_column_dup (stmt, 13);
  a->settings.dns_domain = nb_mgmt_column_dup (stmt, 14);
  return a;
}

static gboolean
insert_group (NbMgmtStore *store,
              const char  *account_id,
              const char  *group_id,
              const char  *name,
              GError     **error)
{
  sqlite3_stmt *stmt = nb_mgmt_store_prepare (store,
                                              "INSERT INTO groups (id, account_id, name, issued) "
                                              "VALUES (?1, ?2, ?3, 'api')", error);
  if (stmt == NULL)
    return FALSE;
  nb_mgmt_bind_text (stmt, 1, group_id);
  nb_mgmt_bind_text (stmt, 2, account_id);
  nb_mgmt_bind_text (stmt, 3, name);
  return nb_mgmt_store_step_done (store, stmt, "group", error);
}

static gboolean
insert_default_policy (NbMgmtStore *store,
                       const char  *account_id,
                       const char  *all_group_id,
                       GError     **error)
{
  g_autofree char *policy_id = nb_mgmt_new_id ();
  g_autofree char *rule_id = nb_mgmt_new_id ();
  char *groups[] = { (char *) all_group_id, NULL };
  sqlite3_stmt *stmt;

  stmt = nb_mgmt_store_prepare (store,
                                "INSERT INTO policies (id, account_id, name, description, enabled, created_at) "
                                "VALUES (?1, ?2, 'Default', "
                                "'This is a default rule that allows connections between all the resources', "
                                "1, ?3)", error);
  if (stmt == NULL)
    return FALSE;
  nb_mgmt_bind_text (stmt, 1, policy_id);
  nb_mgmt_bind_text (stmt, 2, account_id);
  nb_mgmt_bind_int64 (stmt, 3, nb_mgmt_store_now (store));
  if (!nb_mgmt_store_step_done (store, stmt, "policy", error))
    return FALSE;
  stmt = nb_mgmt_store_prepare (store,
                                "INSERT INTO policy_rules (id, policy_id, position, name, description, enabled, "
                                "action, bidirectional, protocol) VALUES (?1, ?2, 0, 'Default', "
                                "'This is a default rule that allows connections between all the resources', "
                                "1, 0, 1, 0)", error);
  if (stmt == NULL)
    return FALSE;
  nb_mgmt_bind_text (stmt, 1, rule_id);
  nb_mgmt_bind_text (stmt, 2, policy_id);
  if (!nb_mgmt_store_step_done (store, stmt, "policy rule", error))
    return FALSE;
  return nb_mgmt_store_write_group_refs (store, account_id, rule_id, "rule.sources", groups,
                                         TRUE, "sources", error) &&
         nb_mgmt_store_write_group_refs (store, account_id, rule_id, "rule.destinations", groups,
                                         TRUE, "destinations", error);
}

/**
 * nb_mgmt_store_create_account:
 * @store: a store
 * @owner_name: (nullable): the owner's name
 * @owner_email: (nullable): the owner's e-mail
 * @domain: (nullable): the account's domain (the owner's e-mail domain)
 * @out_owner: (out) (optional) (transfer full): the owner user
 * @error: return location for a #GError
 *
 * Creates an account with its owner, the "All" group and the "Default"
 * policy, in one transaction.
 *
 * Returns: (transfer full): the account, or %NULL with @error set
 */
NbMgmtAccount *
nb_mgmt_store_create_account (NbMgmtStore *store,
                              const char  *owner_name,
                              const char  *owner_email,
                              const char  *domain,
                              NbMgmtUser **out_owner,
                              GError     **error)
{
  g_auto(NbMgmtTransaction) tx = NB_MGMT_TRANSACTION_INIT;
  g_autofree char *account_id = nb_mgmt_new_id ();
  g_autofree char *owner_id = nb_mgmt_new_id ();
  g_autofree char *all_id = nb_mgmt_new_id ();
  sqlite3_stmt *stmt;
  guint32 network;
  gint64 now = nb_mgmt_store_now (store);

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  if (owner_email != NULL && *owner_email != '\0' && strchr (owner_email, '@') == NULL)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT,
                   "The owner's e-mail \"%s\" is not an e-mail address", owner_email);
      return NULL;
    }

  /* A random /16 of 100.64.0.0/10, as NetBird: accounts are isolated, and
   * a random one makes two accounts of one user less likely to overlap. */
  nb_sodium_ensure_init ();
  network = (100u << 24) | ((64u + randombytes_uniform (64)) << 16);

  if (!nb_mgmt_transaction_begin (&tx, store, error))
    return NULL;

  stmt = nb_mgmt_store_prepare (store,
                                "INSERT INTO accounts (id, domain, domain_category, created_by, created_at, "
                                "network_addr, network_prefix, next_ip, serial) "
                                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 16, 1, 1)", error);
  if (stmt == NULL)
    return NULL;
  nb_mgmt_bind_text (stmt, 1, account_id);
  nb_mgmt_bind_text (stmt, 2, domain);
  nb_mgmt_bind_text (stmt, 3, domain != NULL ? "private" : NULL);
  nb_mgmt_bind_text (stmt, 4, owner_id);
  nb_mgmt_bind_int64 (stmt, 5, now);
  nb_mgmt_bind_int64 (stmt, 6, network);
  if (!nb_mgmt_store_step_done (store, stmt, "account", error))
    return NULL;

  stmt = nb_mgmt_store_prepare (store,
                                "INSERT INTO users (id, account_id, name, email, role, created_at) "
                                "VALUES (?1, ?2, ?3, ?4, ?5, ?6)", error);
  if (stmt == NULL)
    return NULL;
  nb_mgmt_bind_text (stmt, 1, owner_id);
  nb_mgmt_bind_text (stmt, 2, account_id);
  nb_mgmt_bind_text (stmt, 3, owner_name);
  nb_mgmt_bind_text (stmt, 4, owner_email);
  nb_mgmt_bind_int64 (stmt, 5, NB_MGMT_ROLE_OWNER);
  nb_mgmt_bind_int64 (stmt, 6, now);
  if (!nb_mgmt_store_step_done (store, stmt, "owner", error))
    return NULL;

  if (!insert_group (store, account_id, all_id, NB_MGMT_ALL_GROUP_NAME, error) ||
      !insert_default_policy (store, account_id, all_id, error) ||
      !nb_mgmt_store_add_event (store, account_id, owner_id, "account.create", account_id,
                                error, NULL) ||
      !nb_mgmt_store_note_change (store, account_id, NB_MGMT_CHANGE_ACCOUNT, account_id,
                                  NULL, TRUE, error) ||
      !nb_mgmt_transaction_commit (&tx, error))
    return NULL;

  if (out_owner != NULL)
    *out_owner = nb_mgmt_store_get_user (store, account_id, owner_id, NULL);
  return nb_mgmt_store_get_account (store, account_id, error);
}

/**
 * nb_mgmt_store_get_account:
 * @store: a store
 * @account_id: the account
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the account, or %NULL (NOT_FOUND)
 */
NbMgmtAccount *
nb_mgmt_store_get_account (NbMgmtStore *store,
                           const char  *account_id,
                           GError     **error)
{
  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  return nb_mgmt_store_get_one (store, "SELECT " ACCOUNT_COLUMNS " FROM accounts WHERE id = ?1",
                                NULL, account_id, "Account", (NbMgmtRowFunc) account_from_row, NULL,
                                (GDestroyNotify) nb_mgmt_account_free, error);
}

/**
 * nb_mgmt_store_list_accounts:
 * @store: a store
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (element-type NbMgmtAccount): every account,
 *   oldest first
 */
GPtrArray *
nb_mgmt_store_list_accounts (NbMgmtStore *store,
                             GError     **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  stmt = nb_mgmt_store_prepare (store, "SELECT " ACCOUNT_COLUMNS " FROM accounts ORDER BY created_at, id",
                                error);
  if (stmt == NULL)
    return NULL;
  return nb_mgmt_store_read_all (store, stmt, (NbMgmtRowFunc) account_from_row, NULL,
                                 (GDestroyNotify) nb_mgmt_account_free, error);
}

/**
 * nb_mgmt_store_update_account_settings:
 * @store: a store
 * @account_id: the account
 * @actor_id: (nullable): who changes them
 * @settings: the new settings
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the updated account, or %NULL with @error set
 */
NbMgmtAccount *
nb_mgmt_store_update_account_settings (NbMgmtStore                 *store,
                                       const char                  *account_id,
                                       const char                  *actor_id,
                                       const NbMgmtAccountSettings *settings,
                                       GError                     **error)
{
  g_auto(NbMgmtTransaction) tx = NB_MGMT_TRANSACTION_INIT;
  g_autoptr(NbMgmtAccount) old = NULL;
  sqlite3_stmt *stmt;
  const char *code = "account.setting.update";

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);
  g_return_val_if_fail (settings != NULL, NULL);

  if (settings->peer_login_expiration < 3600 || settings->peer_login_expiration > 180 * 86400)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT,
                   "peer_login_expiration must be between 3600 seconds (1 hour) and "
                   "15552000 seconds (180 days), not %" G_GINT64_FORMAT,
                   settings->peer_login_expiration);
      return NULL;
    }
  if (settings->dns_domain != NULL && *settings->dns_domain != '\0' &&
      !nb_mgmt_dns_domain_is_valid (settings->dns_domain))
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT,
                   "dns_domain \"%s\" is not a valid domain name", settings->dns_domain);
      return NULL;
    }
  if (!nb_mgmt_check_text (settings->jwt_groups_claim_name, "jwt_groups_claim_name", 255, error))
    return NULL;

  old = nb_mgmt_store_get_account (store, account_id, error);
  if (old == NULL)
    return NULL;
  if (old->settings.peer_login_expiration_enabled != settings->peer_login_expiration_enabled)
    code = settings->peer_login_expiration_enabled
           ? "account.setting.peer.login.expiration.enable"
           : "account.setting.peer.login.expiration.disable";
  else if (old->settings.peer_login_expiration != settings->peer_login_expiration)
    code = "account.setting.peer.login.expiration.update";

  if (!nb_mgmt_transaction_begin (&tx, store, error))
    return NULL;
  stmt = nb_mgmt_store_prepare (store,
                                "UPDATE accounts SET login_expiration_enabled = ?2, login_expiration = ?3, "
                                "regular_users_view_blocked = ?4, groups_propagation_enabled = ?5, "
                                "jwt_groups_enabled = ?6, jwt_groups_claim_name = ?7, dns_domain = ?8 "
                                "WHERE id = ?1", error);
  if (stmt == NULL)
    return NULL;
  nb_mgmt_bind_text (stmt, 1, account_id);
  nb_mgmt_bind_int64 (stmt, 2, settings->peer_login_expiration_enabled ? 1 : 0);
  nb_mgmt_bind_int64 (stmt, 3, settings->peer_login_expiration);
  nb_mgmt_bind_int64 (stmt, 4, settings->regular_users_view_blocked ? 1 : 0);
  nb_mgmt_bind_int64 (stmt, 5, settings->groups_propagation_enabled ? 1 : 0);
  nb_mgmt_bind_int64 (stmt, 6, settings->jwt_groups_enabled ? 1 : 0);
  nb_mgmt_bind_text (stmt, 7, settings->jwt_groups_claim_name);
  nb_mgmt_bind_text (stmt, 8, settings->dns_domain != NULL && *settings->dns_domain != '\0'
                              ? settings->dns_domain : NULL);
  if (!nb_mgmt_store_step_done (store, stmt, "account settings", error) ||
      !nb_mgmt_store_add_event (store, account_id, actor_id, code, account_id, error, NULL) ||
      !nb_mgmt_store_note_change (store, account_id, NB_MGMT_CHANGE_ACCOUNT, account_id,
                                  NULL, TRUE, error) ||
      !nb_mgmt_transaction_commit (&tx, error))
    return NULL;
  return nb_mgmt_store_get_account (store, account_id, error);
}

/**
 * nb_mgmt_store_delete_account:
 * @store: a store
 * @account_id: the account
 * @actor_id: (nullable): who deletes it
 * @error: return location for a #GError
 *
 * Deletes the account and everything in it, in one transaction.
 *
 * Returns: %TRUE on success
 */
gboolean
nb_mgmt_store_delete_account (NbMgmtStore *store,
                              const char  *account_id,
                              const char  *actor_id,
                              GError     **error)
{
  g_auto(NbMgmtTransaction) tx = NB_MGMT_TRANSACTION_INIT;
  sqlite3_stmt *stmt;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), FALSE);

  if (!nb_mgmt_store_account_exists (store, account_id, error))
    return FALSE;
  if (!nb_mgmt_transaction_begin (&tx, store, error))
    return FALSE;
  /* Routes reference peers with a deferred key; drop them first so the
   * cascade order does not matter. */
  stmt = nb_mgmt_store_prepare (store, "DELETE FROM routes WHERE account_id = ?1", error);
  if (stmt == NULL)
    return FALSE;
  nb_mgmt_bind_text (stmt, 1, account_id);
  if (!nb_mgmt_store_step_done (store, stmt, "account routes", error))
    return FALSE;
  stmt = nb_mgmt_store_prepare (store, "DELETE FROM accounts WHERE id = ?1", error);
  if (stmt == NULL)
    return FALSE;
  nb_mgmt_bind_text (stmt, 1, account_id);
  if (!nb_mgmt_store_step_done (store, stmt, "account", error) ||
      !nb_mgmt_store_note_change (store, account_id, NB_MGMT_CHANGE_ACCOUNT_DELETED,
                                  account_id, NULL, TRUE, error) ||
      !nb_mgmt_transaction_commit (&tx, error))
    return FALSE;
  g_hash_table_remove (store->snapshots, account_id);
  g_hash_table_remove (store->given_hashes, account_id);
  g_hash_table_remove (store->dirty, account_id);
  return TRUE;
}

/**
 * nb_mgmt_store_get_dns_domain:
 * @store: a store
 * @account_id: the account
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the DNS domain its peers' FQDNs end in
 */
char *
nb_mgmt_store_get_dns_domain (NbMgmtStore *store,
                              const char  *account_id,
                              GError     **error)
{
  g_autoptr(NbMgmtAccount) account = nb_mgmt_store_get_account (store, account_id, error);

  if (account == NULL)
    return NULL;
  if (account->settings.dns_domain != NULL && *account->settings.dns_domain != '\0')
    return g_strdup (account->settings.dns_domain);
  return g_strdup (store->default_dns_domain);
}
