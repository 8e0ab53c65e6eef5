/* test-mgmt-store.c: the management store: schema, accounts, users, tokens,
 * setup keys, groups, policies, routes, DNS, events, transactions
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <string.h>

#include <sqlite3.h>

#include "mgmt-test-util.h"

/* ---- Schema ---------------------------------------------------------------- */

static void
test_schema_fresh (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("nb-mgmt-test-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "fresh.db", NULL);
  g_autoptr(NbMgmtStore) store = nb_mgmt_store_open (path, &error);
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;

  g_assert_no_error (error);
  g_assert_cmpint (nb_mgmt_store_get_schema_version (store), ==, NB_MGMT_STORE_SCHEMA_VERSION);
  g_clear_object (&store);

  /* The file is in WAL mode and records its version. */
  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "PRAGMA journal_mode", -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpstr ((const char *) sqlite3_column_text (stmt, 0), ==, "wal");
  sqlite3_finalize (stmt);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT version FROM schema_version", -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_int (stmt, 0), ==, NB_MGMT_STORE_SCHEMA_VERSION);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  rm_rf (dir);
}

static void
test_schema_migrate_existing (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("nb-mgmt-test-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "old.db", NULL);
  g_autoptr(NbMgmtStore) store = NULL;
  g_autoptr(NbMgmtAccount) account = NULL;
  g_autoptr(NbMgmtAccount) again = NULL;
  g_autoptr(GPtrArray) groups = NULL;
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;

  /* A file written by the first schema version, with data in it. */
  store = nb_mgmt_store_open_at_version (path, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (nb_mgmt_store_get_schema_version (store), ==, 1);
  account = nb_mgmt_store_create_account (store, "Old", "old@example.com", NULL, NULL, &error);
  g_assert_no_error (error);
  g_clear_object (&store);

  store = nb_mgmt_store_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (nb_mgmt_store_get_schema_version (store), ==, NB_MGMT_STORE_SCHEMA_VERSION);
  again = nb_mgmt_store_get_account (store, account->id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (again->network_cidr, ==, account->network_cidr);
  groups = nb_mgmt_store_list_groups (store, account->id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (groups->len, ==, 1);
  g_clear_object (&store);

  /* Version 2's index exists now. */
  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT 1 FROM sqlite_master WHERE name = 'group_peers_peer'",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  rm_rf (dir);
}

static void
insert_user (sqlite3    *db,
             const char *account_id,
             const char *id,
             const char *email,
             gint64      created_at)
{
  char *sql = sqlite3_mprintf ("INSERT INTO users (id, account_id, name, email, role, "
                               "created_at) VALUES (%Q, %Q, %Q, %Q, 2, %lld)",
                               id, account_id, id, email, (long long) created_at);

  g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_free (sql);
}

/* Version 4 makes e-mail addresses unique whatever their case: of the case
 * variants an older file holds, the oldest user keeps the address, the
 * others are kept without it, and an event records what each had. */
static void
test_schema_email_case_variants (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("nb-mgmt-test-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "v3.db", NULL);
  g_autoptr(NbMgmtStore) store = NULL;
  g_autoptr(NbMgmtAccount) account = NULL;
  g_autoptr(NbMgmtAccount) other = NULL;
  g_autoptr(NbMgmtUser) oldest = NULL;
  g_autoptr(NbMgmtUser) younger = NULL;
  g_autoptr(NbMgmtUser) youngest = NULL;
  g_autoptr(NbMgmtUser) elsewhere = NULL;
  g_autoptr(NbMgmtUser) dup = NULL;
  g_autoptr(GPtrArray) events = NULL;
  NbMgmtEventFilter filter = { .activity_code = "user.email.clear" };
  NbMgmtUser tmpl = { .name = (char *) "x", .email = (char *) "ALICE@example.COM",
                      .role = NB_MGMT_ROLE_USER };
  sqlite3 *db = NULL;

  store = nb_mgmt_store_open_at_version (path, 3, &error);
  g_assert_no_error (error);
  account = nb_mgmt_store_create_account (store, "Old", "owner@example.com", NULL, NULL, &error);
  g_assert_no_error (error);
  other = nb_mgmt_store_create_account (store, "Other", "owner@example.org", NULL, NULL, &error);
  g_assert_no_error (error);
  g_clear_object (&store);

  /* What version 3 let in. */
  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  insert_user (db, account->id, "u-younger", "Alice@Example.com", 2000);
  insert_user (db, account->id, "u-oldest", "alice@example.com", 1000);
  insert_user (db, account->id, "u-youngest", "ALICE@EXAMPLE.COM", 3000);
  insert_user (db, other->id, "u-elsewhere", "alice@EXAMPLE.com", 500);
  sqlite3_close (db);

  store = nb_mgmt_store_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (nb_mgmt_store_get_schema_version (store), ==, 4);
  oldest = nb_mgmt_store_get_user (store, account->id, "u-oldest", &error);
  younger = nb_mgmt_store_get_user (store, account->id, "u-younger", &error);
  youngest = nb_mgmt_store_get_user (store, account->id, "u-youngest", &error);
  elsewhere = nb_mgmt_store_get_user (store, other->id, "u-elsewhere", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (oldest->email, ==, "alice@example.com");
  g_assert_null (younger->email);
  g_assert_null (youngest->email);
  g_assert_cmpstr (elsewhere->email, ==, "alice@EXAMPLE.com");

  events = nb_mgmt_store_list_events (store, account->id, &filter, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (events->len, ==, 2);
  for (guint i = 0; i < events->len; i++)
    {
      const NbMgmtEvent *event = g_ptr_array_index (events, i);

      g_assert_true (g_str_equal (event->target_id, "u-younger") ||
                     g_str_equal (event->target_id, "u-youngest"));
      g_assert_cmpstr (g_hash_table_lookup (event->meta, "email"), ==,
                       g_str_equal (event->target_id, "u-younger") ? "Alice@Example.com"
                                                                   : "ALICE@EXAMPLE.COM");
    }

  /* And from now on a case variant is refused. */
  dup = nb_mgmt_store_create_user (store, account->id, NULL, &tmpl, &error);
  g_assert_null (dup);
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_ALREADY_EXISTS);
  g_clear_object (&store);
  rm_rf (dir);
}

static void
test_schema_newer_refused (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("nb-mgmt-test-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "newer.db", NULL);
  g_autoptr(NbMgmtStore) store = nb_mgmt_store_open (path, &error);
  sqlite3 *db = NULL;

  g_assert_no_error (error);
  g_clear_object (&store);
  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, "UPDATE schema_version SET version = 99", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);

  store = nb_mgmt_store_open (path, &error);
  g_assert_null (store);
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INTERNAL);
  g_assert_nonnull (strstr (error->message, "newer"));
  rm_rf (dir);
}

static void
test_schema_not_a_database (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("nb-mgmt-test-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "garbage.db", NULL);
  g_autoptr(NbMgmtStore) store = NULL;
  char junk[4096];

  memset (junk, 'x', sizeof junk);
  g_assert_true (g_file_set_contents (path, junk, sizeof junk, NULL));
  store = nb_mgmt_store_open (path, &error);
  g_assert_null (store);
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INTERNAL);
  g_assert_nonnull (strstr (error->message, path));
  rm_rf (dir);
}

/* ---- Accounts -------------------------------------------------------------- */

static void
test_account_defaults (StoreFixture *f,
                       gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) groups = nb_mgmt_store_list_groups (f->store, f->account->id, &error);
  g_autoptr(GPtrArray) policies = nb_mgmt_store_list_policies (f->store, f->account->id, &error);
  g_autofree char *domain = nb_mgmt_store_get_dns_domain (f->store, f->account->id, &error);
  guint32 net;
  guint prefix;
  NbMgmtPolicy *policy;
  NbMgmtPolicyRule *rule;
  NbMgmtGroup *all;

  g_assert_no_error (error);
  g_assert_true (nb_mgmt_cidr_parse (f->account->network_cidr, &net, &prefix));
  g_assert_cmpuint (prefix, ==, 16);
  /* Inside 100.64.0.0/10. */
  g_assert_cmpuint (net & 0xffc00000u, ==, 0x64400000u);
  g_assert_cmpint (f->owner->role, ==, NB_MGMT_ROLE_OWNER);
  g_assert_cmpstr (f->owner->email, ==, "owner@example.com");
  g_assert_cmpstr (domain, ==, NB_MGMT_DEFAULT_DNS_DOMAIN);

  g_assert_cmpuint (groups->len, ==, 1);
  all = groups->pdata[0];
  g_assert_cmpstr (all->name, ==, "All");
  g_assert_cmpuint (policies->len, ==, 1);
  policy = policies->pdata[0];
  g_assert_cmpstr (policy->name, ==, "Default");
  g_assert_true (policy->enabled);
  g_assert_cmpuint (policy->rules->len, ==, 1);
  rule = policy->rules->pdata[0];
  g_assert_true (rule->bidirectional);
  g_assert_cmpint (rule->action, ==, NB_MGMT_RULE_ACTION_ACCEPT);
  g_assert_cmpint (rule->protocol, ==, NB_MGMT_PROTOCOL_ALL);
  g_assert_cmpstr (rule->sources[0], ==, all->id);
  g_assert_cmpstr (rule->destinations[0], ==, all->id);
}

static void
test_account_settings (StoreFixture *f,
                       gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtAccount) updated = NULL;
  g_autofree char *domain = NULL;
  NbMgmtAccountSettings settings = f->account->settings;

  settings.peer_login_expiration = 60;
  updated = nb_mgmt_store_update_account_settings (f->store, f->account->id, f->owner->id, &settings, &error);
  g_assert_null (updated);
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "peer_login_expiration"));
  g_clear_error (&error);

  settings.peer_login_expiration = 7200;
  settings.dns_domain = (char *) "bad domain!";
  updated = nb_mgmt_store_update_account_settings (f->store, f->account->id, f->owner->id, &settings, &error);
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  settings.dns_domain = (char *) "corp.internal";
  settings.regular_users_view_blocked = TRUE;
  updated = nb_mgmt_store_update_account_settings (f->store, f->account->id, f->owner->id, &settings, &error);
  g_assert_no_error (error);
  g_assert_cmpint (updated->settings.peer_login_expiration, ==, 7200);
  g_assert_true (updated->settings.regular_users_view_blocked);
  g_assert_cmpuint (updated->serial, >, f->account->serial);
  domain = nb_mgmt_store_get_dns_domain (f->store, f->account->id, &error);
  g_assert_cmpstr (domain, ==, "corp.internal");
}

static void
test_account_isolation (StoreFixture *f,
                        gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtAccount) other = NULL;
  g_autoptr(NbMgmtUser) other_owner = NULL;
  g_autoptr(GPtrArray) groups = nb_mgmt_store_list_groups (f->store, f->account->id, &error);
  g_autoptr(NbMgmtGroup) g = NULL;
  g_autoptr(NbMgmtPeer) peer = add_peer (f, "alpha");
  g_autoptr(NbMgmtPeer) seen = NULL;
  NbMgmtGroup *all = groups->pdata[0];

  other = nb_mgmt_store_create_account (f->store, "Other", "other@example.org", NULL, &other_owner, &error);
  g_assert_no_error (error);

  /* The other account cannot read this one's objects through its own ID. */
  g = nb_mgmt_store_get_group (f->store, other->id, all->id, &error);
  g_assert_null (g);
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_NOT_FOUND);
  g_clear_error (&error);
  seen = nb_mgmt_store_get_peer (f->store, other->id, peer->id, &error);
  g_assert_null (seen);
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (nb_mgmt_store_check_permission (f->store, f->account->id, other_owner->id,
                                                  NB_MGMT_PERMISSION_READ, &error));
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PERMISSION_DENIED);
}

static void
test_account_delete (StoreFixture *f,
                     gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtPeer) peer = add_peer (f, "doomed");
  g_autoptr(NbMgmtAccount) gone = NULL;
  g_autoptr(NbMgmtPeer) gone_peer = NULL;

  g_assert_true (nb_mgmt_store_delete_account (f->store, f->account->id, f->owner->id, &error));
  g_assert_no_error (error);
  gone = nb_mgmt_store_get_account (f->store, f->account->id, &error);
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_NOT_FOUND);
  g_clear_error (&error);
  gone_peer = nb_mgmt_store_get_peer_by_key (f->store, peer->key, &error);
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_NOT_FOUND);
}

/* ---- Users ----------------------------------------------------------------- */

static void
test_users_crud (StoreFixture *f,
                 gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtGroup) devs = NULL;
  g_autoptr(NbMgmtUser) admin = NULL;
  g_autoptr(NbMgmtUser) svc = NULL;
  g_autoptr(NbMgmtUser) updated = NULL;
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(GPtrArray) services = NULL;
  g_auto(GStrv) groups = NULL;
  NbMgmtGroup gt = { .name = (char *) "devs" };
  NbMgmtUser tmpl = { .name = (char *) "Ada", .email = (char *) "ada@example.com", .role = NB_MGMT_ROLE_ADMIN };
  NbMgmtUser stmpl = { .name = (char *) "ci", .role = NB_MGMT_ROLE_USER, .is_service_user = TRUE };

  devs = nb_mgmt_store_create_group (f->store, f->account->id, f->owner->id, &gt, &error);
  g_assert_no_error (error);
  groups = strv_of (devs->id, NULL);
  tmpl.auto_groups = groups;
  admin = nb_mgmt_store_create_user (f->store, f->account->id, f->owner->id, &tmpl, &error);
  g_assert_no_error (error);
  g_assert_cmpint (admin->role, ==, NB_MGMT_ROLE_ADMIN);
  g_assert_cmpstr (admin->auto_groups[0], ==, devs->id);
  svc = nb_mgmt_store_create_user (f->store, f->account->id, f->owner->id, &stmpl, &error);
  g_assert_no_error (error);
  g_assert_true (svc->is_service_user);

  /* Same email twice. */
  g_assert_null (nb_mgmt_store_create_user (f->store, f->account->id, f->owner->id, &tmpl, &error));
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_ALREADY_EXISTS);
  g_clear_error (&error);
  /* A second owner. */
  tmpl.email = (char *) "eve@example.com";
  tmpl.role = NB_MGMT_ROLE_OWNER;
  g_assert_null (nb_mgmt_store_create_user (f->store, f->account->id, f->owner->id, &tmpl, &error));
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  /* A regular user without email. */
  tmpl.role = NB_MGMT_ROLE_USER;
  tmpl.email = NULL;
  g_assert_null (nb_mgmt_store_create_user (f->store, f->account->id, f->owner->id, &tmpl, &error));
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  all = nb_mgmt_store_list_users (f->store, f->account->id, -1, &error);
  g_assert_cmpuint (all->len, ==, 3);
  services = nb_mgmt_store_list_users (f->store, f->account->id, 1, &error);
  g_assert_cmpuint (services->len, ==, 1);

  admin->role = NB_MGMT_ROLE_USER;
  admin->is_blocked = TRUE;
  updated = nb_mgmt_store_update_user (f->store, f->account->id, f->owner->id, admin, &error);
  g_assert_no_error (error);
  g_assert_cmpint (updated->role, ==, NB_MGMT_ROLE_USER);
  g_assert_true (updated->is_blocked);
  g_assert_false (nb_mgmt_store_check_permission (f->store, f->account->id, admin->id,
                                                  NB_MGMT_PERMISSION_READ_OWN, &error));
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PERMISSION_DENIED);
  g_clear_error (&error);

  g_assert_true (nb_mgmt_store_delete_user (f->store, f->account->id, f->owner->id, admin->id, &error));
  g_assert_no_error (error);
  g_assert_null (nb_mgmt_store_get_user (f->store, f->account->id, admin->id, &error));
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_NOT_FOUND);
}

static void
test_users_owner_protected (StoreFixture *f,
                            gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtUser) admin = NULL;
  NbMgmtUser tmpl = { .email = (char *) "adm@example.com", .role = NB_MGMT_ROLE_ADMIN };
  NbMgmtUser change = *f->owner;

  admin = nb_mgmt_store_create_user (f->store, f->account->id, f->owner->id, &tmpl, &error);
  g_assert_no_error (error);

  g_assert_false (nb_mgmt_store_delete_user (f->store, f->account->id, admin->id, f->owner->id, &error));
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PERMISSION_DENIED);
  g_clear_error (&error);
  change.role = NB_MGMT_ROLE_ADMIN;
  g_assert_null (nb_mgmt_store_update_user (f->store, f->account->id, admin->id, &change, &error));
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PERMISSION_DENIED);
  g_clear_error (&error);
  change.role = NB_MGMT_ROLE_OWNER;
  change.is_blocked = TRUE;
  g_assert_null (nb_mgmt_store_update_user (f->store, f->account->id, admin->id, &change, &error));
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PERMISSION_DENIED);
  g_clear_error (&error);
  /* Nobody deletes itself. */
  g_assert_false (nb_mgmt_store_delete_user (f->store, f->account->id, admin->id, admin->id, &error));
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PERMISSION_DENIED);
}

static void
test_users_permissions (StoreFixture *f,
                        gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtUser) user = NULL;
  g_autoptr(NbMgmtUser) admin = NULL;
  NbMgmtUser ut = { .email = (char *) "u@example.com", .role = NB_MGMT_ROLE_USER };
  NbMgmtUser at = { .email = (char *) "a@example.com", .role = NB_MGMT_ROLE_ADMIN };

  user = nb_mgmt_store_create_user (f->store, f->account->id, f->owner->id, &ut, &error);
  admin = nb_mgmt_store_create_user (f->store, f->account->id, f->owner->id, &at, &error);
  g_assert_no_error (error);

  g_assert_true (nb_mgmt_store_check_permission (f->store, f->account->id, user->id, NB_MGMT_PERMISSION_READ, NULL));
  g_assert_false (nb_mgmt_store_check_permission (f->store, f->account->id, user->id, NB_MGMT_PERMISSION_ADMIN, &error));
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PERMISSION_DENIED);
  g_clear_error (&error);
  g_assert_true (nb_mgmt_store_check_permission (f->store, f->account->id, admin->id, NB_MGMT_PERMISSION_ADMIN, NULL));
  g_assert_false (nb_mgmt_store_check_permission (f->store, f->account->id, admin->id, NB_MGMT_PERMISSION_OWNER, NULL));
  g_assert_true (nb_mgmt_store_check_permission (f->store, f->account->id, f->owner->id, NB_MGMT_PERMISSION_OWNER, NULL));
}

/* ---- Personal access tokens -------------------------------------------------- */

static void
test_pat_lifecycle (StoreFixture *f,
                    gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;
  g_autoptr(NbMgmtPat) pat = NULL;
  g_autoptr(NbMgmtUser) who = NULL;
  g_autoptr(GPtrArray) pats = NULL;
  g_autofree char *contents = NULL;
  gsize len;
  char broken[64];

  pat = nb_mgmt_store_create_pat (f->store, f->account->id, f->owner->id, f->owner->id, "ci", 30, &token, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (token, "nbp_"));
  g_assert_cmpuint (strlen (token), ==, 40);
  g_assert_true (nb_mgmt_pat_token_is_well_formed (token));
  g_assert_cmpint (pat->expiration_date, >=, nb_mgmt_store_now (f->store) + 30 * 86400 - 5);

  who = nb_mgmt_store_authenticate_pat (f->store, token, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (who->id, ==, f->owner->id);

  /* One character changed: the checksum catches it before any lookup. */
  g_strlcpy (broken, token, sizeof broken);
  broken[10] = broken[10] == 'a' ? 'b' : 'a';
  g_assert_false (nb_mgmt_pat_token_is_well_formed (broken));
  g_assert_null (nb_mgmt_store_authenticate_pat (f->store, broken, &error));
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_UNAUTHENTICATED);
  g_clear_error (&error);
  g_assert_null (nb_mgmt_store_authenticate_pat (f->store, "Bearer xyz", &error));
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_UNAUTHENTICATED);
  g_clear_error (&error);

  /* The database holds no token in clear. */
  g_clear_object (&f->store);
  g_assert_true (g_file_get_contents (f->path, &contents, &len, NULL));
  g_assert_null (memmem (contents, len, token + 4, 30));
  {
    g_autofree char *wal = g_strconcat (f->path, "-wal", NULL);
    g_autofree char *wal_contents = NULL;
    if (g_file_get_contents (wal, &wal_contents, &len, NULL))
      g_assert_null (memmem (wal_contents, len, token + 4, 30));
  }
  f->store = nb_mgmt_store_open (f->path, &error);
  g_assert_no_error (error);

  /* Expired. */
  nb_mgmt_store_set_time_override (f->store, nb_mgmt_store_now (f->store) + 31 * 86400);
  g_assert_null (nb_mgmt_store_authenticate_pat (f->store, token, &error));
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_UNAUTHENTICATED);
  g_assert_nonnull (strstr (error->message, "expired"));
  g_clear_error (&error);
  nb_mgmt_store_set_time_override (f->store, 0);

  pats = nb_mgmt_store_list_pats (f->store, f->account->id, f->owner->id, &error);
  g_assert_cmpuint (pats->len, ==, 1);
  g_assert_true (nb_mgmt_store_delete_pat (f->store, f->account->id, f->owner->id, f->owner->id, pat->id, &error));
  g_assert_null (nb_mgmt_store_authenticate_pat (f->store, token, &error));
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_UNAUTHENTICATED);
}

static void
test_pat_validation_and_import (StoreFixture *f,
                                gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;
  g_autoptr(NbMgmtPat) pat = NULL;
  g_autoptr(NbMgmtPat) imported = NULL;
  g_autoptr(NbMgmtUser) who = NULL;

  g_assert_null (nb_mgmt_store_create_pat (f->store, f->account->id, NULL, f->owner->id, "x", 0, &token, &error));
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (nb_mgmt_store_create_pat (f->store, f->account->id, NULL, f->owner->id, "", 10, &token, &error));
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (nb_mgmt_store_create_pat (f->store, f->account->id, NULL, "nope", "x", 10, &token, &error));
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* A token made elsewhere (configuration) is accepted once, checked. */
  pat = nb_mgmt_store_create_pat (f->store, f->account->id, NULL, f->owner->id, "gen", 10, &token, &error);
  g_assert_no_error (error);
  g_assert_true (nb_mgmt_store_delete_pat (f->store, f->account->id, NULL, f->owner->id, pat->id, &error));
  imported = nb_mgmt_store_import_pat (f->store, f->account->id, f->owner->id, "bootstrap", token, 365, &error);
  g_assert_no_error (error);
  who = nb_mgmt_store_authenticate_pat (f->store, token, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (who->id, ==, f->owner->id);
  g_assert_null (nb_mgmt_store_import_pat (f->store, f->account->id, f->owner->id, "bad",
                                           "nbp_not-a-token", 365, &error));
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT);
}

/* ---- Setup keys ------------------------------------------------------------ */

static void
test_setup_key_crud (StoreFixture *f,
                     gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *plain = NULL;
  g_autoptr(NbMgmtSetupKey) key = NULL;
  g_autoptr(NbMgmtSetupKey) revoked = NULL;
  g_autoptr(NbMgmtSetupKey) back = NULL;
  g_autoptr(GPtrArray) keys = NULL;
  g_autoptr(NbMgmtGroup) g = NULL;
  g_auto(GStrv) groups = NULL;
  g_autofree char *contents = NULL;
  gsize len;
  NbMgmtGroup gt = { .name = (char *) "servers" };
  NbMgmtSetupKey tmpl = { .name = (char *) "one", .type = NB_MGMT_SETUP_KEY_ONE_OFF,
                          .expires_at = nb_mgmt_store_now (f->store) + 86400, .ephemeral = TRUE };

  g = nb_mgmt_store_create_group (f->store, f->account->id, f->owner->id, &gt, &error);
  g_assert_no_error (error);
  groups = strv_of (g->id, NULL);
  tmpl.auto_groups = groups;
  key = nb_mgmt_store_create_setup_key (f->store, f->account->id, f->owner->id, &tmpl, NULL, &plain, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (plain), ==, 36);
  g_assert_true (g_str_has_prefix (key->masked_key, (char[]) { plain[0], plain[1], plain[2], plain[3], plain[4], 0 }));
  g_assert_true (g_str_has_suffix (key->masked_key, "****"));
  g_assert_cmpint (key->usage_limit, ==, 1);
  g_assert_true (key->ephemeral);
  g_assert_cmpstr (key->auto_groups[0], ==, g->id);
  g_assert_cmpint (nb_mgmt_setup_key_get_state (key, nb_mgmt_store_now (f->store)), ==, NB_MGMT_SETUP_KEY_STATE_VALID);

  keys = nb_mgmt_store_list_setup_keys (f->store, f->account->id, &error);
  g_assert_cmpuint (keys->len, ==, 2);

  key->revoked = TRUE;
  revoked = nb_mgmt_store_update_setup_key (f->store, f->account->id, f->owner->id, key, &error);
  g_assert_no_error (error);
  g_assert_true (revoked->revoked);
  g_assert_cmpint (nb_mgmt_setup_key_get_state (revoked, nb_mgmt_store_now (f->store)), ==,
                   NB_MGMT_SETUP_KEY_STATE_REVOKED);
  revoked->revoked = FALSE;
  back = nb_mgmt_store_update_setup_key (f->store, f->account->id, f->owner->id, revoked, &error);
  g_assert_null (back);
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* "All" is not an auto-group; a past expiry is refused. */
  {
    g_autoptr(GPtrArray) gs = nb_mgmt_store_list_groups (f->store, f->account->id, &error);
    g_auto(GStrv) with_all = strv_of (((NbMgmtGroup *) gs->pdata[0])->id, NULL);
    NbMgmtSetupKey bad = { .name = (char *) "bad", .auto_groups = with_all };
    g_assert_null (nb_mgmt_store_create_setup_key (f->store, f->account->id, NULL, &bad, NULL, NULL, &error));
    g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
    bad.auto_groups = NULL;
    bad.expires_at = 1000;
    g_assert_null (nb_mgmt_store_create_setup_key (f->store, f->account->id, NULL, &bad, NULL, NULL, &error));
    g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
  }

  /* Only the hash is stored. */
  g_clear_object (&f->store);
  g_assert_true (g_file_get_contents (f->path, &contents, &len, NULL));
  g_assert_null (memmem (contents, len, plain, strlen (plain)));
  f->store = nb_mgmt_store_open (f->path, &error);
  g_assert_no_error (error);

  g_assert_true (nb_mgmt_store_delete_setup_key (f->store, f->account->id, f->owner->id, key->id, &error));
  g_assert_null (nb_mgmt_store_get_setup_key (f->store, f->account->id, key->id, &error));
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_NOT_FOUND);
}

/* ---- Groups, policies, routes, DNS ---------------------------------------------- */

static void
test_groups_crud (StoreFixture *f,
                  gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtPeer) a = add_peer (f, "a");
  g_autoptr(NbMgmtPeer) b = add_peer (f, "b");
  g_autoptr(NbMgmtGroup) g = NULL;
  g_autoptr(NbMgmtGroup) updated = NULL;
  g_autoptr(GPtrArray) groups = NULL;
  g_auto(GStrv) peers = strv_of (a->id, NULL);
  g_auto(GStrv) both = strv_of (a->id, b->id, NULL);
  g_auto(GStrv) ghost = strv_of ("nonexistentpeer", NULL);
  NbMgmtGroup tmpl = { .name = (char *) "web", .peers = peers };
  NbMgmtGroup *all;

  g = nb_mgmt_store_create_group (f->store, f->account->id, f->owner->id, &tmpl, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g->name, ==, "web");
  g_assert_cmpstr (g->issued, ==, "api");
  g_assert_cmpuint (g_strv_length (g->peers), ==, 1);

  g_assert_null (nb_mgmt_store_create_group (f->store, f->account->id, f->owner->id, &tmpl, &error));
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_ALREADY_EXISTS);
  g_clear_error (&error);
  tmpl.name = (char *) "All";
  g_assert_null (nb_mgmt_store_create_group (f->store, f->account->id, f->owner->id, &tmpl, &error));
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  tmpl.name = (char *) "ghosts";
  tmpl.peers = ghost;
  g_assert_null (nb_mgmt_store_create_group (f->store, f->account->id, f->owner->id, &tmpl, &error));
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  g_free (g->name);
  g->name = g_strdup ("web-servers");
  g_strfreev (g->peers);
  g->peers = g_strdupv (both);
  updated = nb_mgmt_store_update_group (f->store, f->account->id, f->owner->id, g, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (updated->name, ==, "web-servers");
  g_assert_cmpuint (g_strv_length (updated->peers), ==, 2);

  groups = nb_mgmt_store_list_groups (f->store, f->account->id, &error);
  g_assert_cmpuint (groups->len, ==, 2);
  all = groups->pdata[0];
  g_assert_cmpstr (all->name, ==, "All");
  g_assert_cmpuint (g_strv_length (all->peers), ==, 2);
  g_assert_false (nb_mgmt_store_delete_group (f->store, f->account->id, f->owner->id, all->id, &error));
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PERMISSION_DENIED);
  g_clear_error (&error);
  g_assert_null (nb_mgmt_store_update_group (f->store, f->account->id, f->owner->id, all, &error));
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PERMISSION_DENIED);
  g_clear_error (&error);

  g_assert_true (nb_mgmt_store_delete_group (f->store, f->account->id, f->owner->id, g->id, &error));
  g_assert_no_error (error);
}

static void
test_group_in_use_not_deleted (StoreFixture *f,
                               gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtGroup) g = NULL;
  g_autoptr(NbMgmtPolicy) policy = nb_mgmt_policy_new ();
  g_autoptr(NbMgmtPolicy) created = NULL;
  NbMgmtPolicyRule *rule = nb_mgmt_policy_rule_new ();
  NbMgmtGroup tmpl = { .name = (char *) "db" };

  g = nb_mgmt_store_create_group (f->store, f->account->id, f->owner->id, &tmpl, &error);
  g_assert_no_error (error);
  policy->name = g_strdup ("to-db");
  rule->sources = strv_of (g->id, NULL);
  rule->destinations = strv_of (g->id, NULL);
  g_ptr_array_add (policy->rules, rule);
  created = nb_mgmt_store_create_policy (f->store, f->account->id, f->owner->id, policy, &error);
  g_assert_no_error (error);

  g_assert_false (nb_mgmt_store_delete_group (f->store, f->account->id, f->owner->id, g->id, &error));
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PRECONDITION_FAILED);
  g_assert_nonnull (strstr (error->message, "policy rule"));
  g_clear_error (&error);

  g_assert_true (nb_mgmt_store_delete_policy (f->store, f->account->id, f->owner->id, created->id, &error));
  g_assert_true (nb_mgmt_store_delete_group (f->store, f->account->id, f->owner->id, g->id, &error));
  g_assert_no_error (error);
}

static void
test_policies_crud (StoreFixture *f,
                    gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) groups = nb_mgmt_store_list_groups (f->store, f->account->id, &error);
  const char *all = ((NbMgmtGroup *) groups->pdata[0])->id;
  g_autoptr(NbMgmtPolicy) policy = nb_mgmt_policy_new ();
  g_autoptr(NbMgmtPolicy) created = NULL;
  g_autoptr(NbMgmtPolicy) updated = NULL;
  NbMgmtPolicyRule *rule = nb_mgmt_policy_rule_new ();
  guint16 port = 443;
  NbMgmtPortRange range = { 8000, 8080 };

  policy->name = g_strdup ("web");
  rule->name = g_strdup ("https");
  rule->protocol = NB_MGMT_PROTOCOL_ALL;
  rule->ports = g_array_new (FALSE, FALSE, sizeof (guint16));
  g_array_append_val (rule->ports, port);
  rule->port_ranges = g_array_new (FALSE, FALSE, sizeof (NbMgmtPortRange));
  g_array_append_val (rule->port_ranges, range);
  rule->sources = strv_of (all, NULL);
  rule->destinations = strv_of (all, NULL);
  g_ptr_array_add (policy->rules, rule);

  /* Ports need tcp or udp. */
  g_assert_null (nb_mgmt_store_create_policy (f->store, f->account->id, f->owner->id, policy, &error));
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "ports"));
  g_clear_error (&error);

  rule->protocol = NB_MGMT_PROTOCOL_TCP;
  created = nb_mgmt_store_create_policy (f->store, f->account->id, f->owner->id, policy, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (created->rules->len, ==, 1);
  rule = created->rules->pdata[0];
  g_assert_nonnull (rule->id);
  g_assert_cmpint (rule->protocol, ==, NB_MGMT_PROTOCOL_TCP);
  g_assert_cmpuint (rule->ports->len, ==, 1);
  g_assert_cmpuint (g_array_index (rule->ports, guint16, 0), ==, 443);
  g_assert_cmpuint (g_array_index (rule->port_ranges, NbMgmtPortRange, 0).end, ==, 8080);

  rule->action = NB_MGMT_RULE_ACTION_DROP;
  created->enabled = FALSE;
  updated = nb_mgmt_store_update_policy (f->store, f->account->id, f->owner->id, created, &error);
  g_assert_no_error (error);
  g_assert_false (updated->enabled);
  g_assert_cmpint (((NbMgmtPolicyRule *) updated->rules->pdata[0])->action, ==, NB_MGMT_RULE_ACTION_DROP);

  /* No rules; an unknown group. */
  g_ptr_array_set_size (policy->rules, 0);
  g_assert_null (nb_mgmt_store_create_policy (f->store, f->account->id, f->owner->id, policy, &error));
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  g_assert_true (nb_mgmt_store_delete_policy (f->store, f->account->id, f->owner->id, updated->id, &error));
  g_assert_null (nb_mgmt_store_get_policy (f->store, f->account->id, updated->id, &error));
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_NOT_FOUND);
}

static void
test_routes_crud (StoreFixture *f,
                  gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtPeer) router = add_peer (f, "router");
  g_autoptr(GPtrArray) groups = nb_mgmt_store_list_groups (f->store, f->account->id, &error);
  g_auto(GStrv) dist = strv_of (((NbMgmtGroup *) groups->pdata[0])->id, NULL);
  g_autoptr(NbMgmtRoute) route = NULL;
  g_autoptr(NbMgmtRoute) updated = NULL;
  g_autoptr(GPtrArray) routes = NULL;
  NbMgmtRoute tmpl = { .network_id = (char *) "office", .enabled = TRUE, .peer = router->id,
                       .network = (char *) "10.1.2.3/24", .metric = 100, .groups = dist };

  route = nb_mgmt_store_create_route (f->store, f->account->id, f->owner->id, &tmpl, &error);
  g_assert_no_error (error);
  /* Stored in canonical form. */
  g_assert_cmpstr (route->network, ==, "10.1.2.0/24");
  g_assert_cmpstr (route->groups[0], ==, dist[0]);

  tmpl.metric = 0;
  g_assert_null (nb_mgmt_store_create_route (f->store, f->account->id, f->owner->id, &tmpl, &error));
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  tmpl.metric = 10;
  tmpl.network = (char *) "10.0.0.0/33";
  g_assert_null (nb_mgmt_store_create_route (f->store, f->account->id, f->owner->id, &tmpl, &error));
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  tmpl.network = NULL;
  g_assert_null (nb_mgmt_store_create_route (f->store, f->account->id, f->owner->id, &tmpl, &error));
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* A routing peer cannot be deleted while it routes. */
  g_assert_false (nb_mgmt_store_delete_peer (f->store, f->account->id, f->owner->id, router->id, &error));
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PRECONDITION_FAILED);
  g_clear_error (&error);

  route->metric = 5;
  route->masquerade = TRUE;
  updated = nb_mgmt_store_update_route (f->store, f->account->id, f->owner->id, route, &error);
  g_assert_no_error (error);
  g_assert_cmpint (updated->metric, ==, 5);
  g_assert_true (updated->masquerade);
  routes = nb_mgmt_store_list_routes (f->store, f->account->id, &error);
  g_assert_cmpuint (routes->len, ==, 1);
  g_assert_true (nb_mgmt_store_delete_route (f->store, f->account->id, f->owner->id, route->id, &error));
  g_assert_true (nb_mgmt_store_delete_peer (f->store, f->account->id, f->owner->id, router->id, &error));
  g_assert_no_error (error);
}

static void
test_dns_crud (StoreFixture *f,
               gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) groups = nb_mgmt_store_list_groups (f->store, f->account->id, &error);
  g_auto(GStrv) dist = strv_of (((NbMgmtGroup *) groups->pdata[0])->id, NULL);
  g_autoptr(NbMgmtNameserverGroup) ns = nb_mgmt_nameserver_group_new ();
  g_autoptr(NbMgmtNameserverGroup) created = NULL;
  g_autoptr(NbMgmtNameserverGroup) updated = NULL;
  g_autoptr(NbMgmtDnsSettings) settings = NULL;
  g_autoptr(GPtrArray) list = NULL;
  NbMgmtDnsSettings want = { .disabled_management_groups = dist };

  ns->name = g_strdup ("Google");
  ns->groups = g_strdupv (dist);
  ns->primary = TRUE;
  g_assert_null (nb_mgmt_store_create_nameserver_group (f->store, f->account->id, f->owner->id, ns, &error));
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_ptr_array_add (ns->nameservers, nb_mgmt_nameserver_new ("8.8.8.8", "udp", 53));
  created = nb_mgmt_store_create_nameserver_group (f->store, f->account->id, f->owner->id, ns, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (created->nameservers->len, ==, 1);
  g_assert_cmpstr (((NbMgmtNameserver *) created->nameservers->pdata[0])->ip, ==, "8.8.8.8");

  /* Primary XOR domains. */
  created->domains = strv_of ("example.com", NULL);
  g_assert_null (nb_mgmt_store_update_nameserver_group (f->store, f->account->id, f->owner->id, created, &error));
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  created->primary = FALSE;
  updated = nb_mgmt_store_update_nameserver_group (f->store, f->account->id, f->owner->id, created, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (updated->domains[0], ==, "example.com");
  list = nb_mgmt_store_list_nameserver_groups (f->store, f->account->id, &error);
  g_assert_cmpuint (list->len, ==, 1);

  settings = nb_mgmt_store_update_dns_settings (f->store, f->account->id, f->owner->id, &want, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (settings->disabled_management_groups[0], ==, dist[0]);
  g_assert_true (nb_mgmt_store_delete_nameserver_group (f->store, f->account->id, f->owner->id, created->id, &error));
  g_assert_no_error (error);
}

/* ---- Events, changes, transactions ------------------------------------------- */

static void
test_events_record_changes (StoreFixture *f,
                            gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtGroup) g = NULL;
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GPtrArray) filtered = NULL;
  NbMgmtGroup tmpl = { .name = (char *) "audited" };
  NbMgmtEventFilter filter = { .activity_code = "group.add" };
  NbMgmtEvent *e;
  guint total = 0;

  g = nb_mgmt_store_create_group (f->store, f->account->id, f->owner->id, &tmpl, &error);
  g_assert_no_error (error);
  events = nb_mgmt_store_list_events (f->store, f->account->id, NULL, &total, &error);
  g_assert_no_error (error);
  /* account.create, setupkey.add (fixture), group.add: newest first. */
  g_assert_cmpuint (total, ==, 3);
  e = events->pdata[0];
  g_assert_cmpstr (e->activity_code, ==, "group.add");
  g_assert_cmpstr (nb_mgmt_activity_describe (e->activity_code), ==, "Group created");
  g_assert_cmpstr (e->initiator_id, ==, f->owner->id);
  g_assert_cmpstr (e->initiator_email, ==, "owner@example.com");
  g_assert_cmpstr (e->target_id, ==, g->id);
  g_assert_cmpstr (g_hash_table_lookup (e->meta, "name"), ==, "audited");

  filtered = nb_mgmt_store_list_events (f->store, f->account->id, &filter, &total, &error);
  g_assert_cmpuint (total, ==, 1);
  g_assert_cmpuint (filtered->len, ==, 1);
}

static void
test_sql_metacharacters_verbatim (StoreFixture *f,
                                  gconstpointer data)
{
  static const char *const names[] = {
    "'; DROP TABLE peers; --",
    "Robert'); DELETE FROM groups WHERE ('1'='1",
    "%_\\\"quoted\" and 'single'",
    "ünïcødé ☃ / \\ ; --",
  };
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autoptr(NbMgmtGroup) g = NULL;
      g_autoptr(NbMgmtGroup) back = NULL;
      g_autoptr(NbMgmtPeer) peer = add_peer (f, names[i]);
      NbMgmtGroup tmpl = { .name = (char *) names[i] };

      g = nb_mgmt_store_create_group (f->store, f->account->id, f->owner->id, &tmpl, &error);
      g_assert_no_error (error);
      back = nb_mgmt_store_get_group (f->store, f->account->id, g->id, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (back->name, ==, names[i]);
      g_assert_cmpstr (peer->name, ==, names[i]);
      g_assert_cmpstr (peer->meta.hostname, ==, names[i]);
    }
  {
    g_autoptr(GPtrArray) peers = nb_mgmt_store_list_peers (f->store, f->account->id, NULL, &error);
    g_autoptr(GPtrArray) groups = nb_mgmt_store_list_groups (f->store, f->account->id, &error);
    g_assert_cmpuint (peers->len, ==, G_N_ELEMENTS (names));
    g_assert_cmpuint (groups->len, ==, G_N_ELEMENTS (names) + 1);
  }
}

static void
test_failed_change_leaves_nothing (StoreFixture *f,
                                   gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) groups = nb_mgmt_store_list_groups (f->store, f->account->id, &error);
  const char *all = ((NbMgmtGroup *) groups->pdata[0])->id;
  g_autoptr(NbMgmtPolicy) policy = nb_mgmt_policy_new ();
  g_autoptr(GPtrArray) before = nb_mgmt_store_list_events (f->store, f->account->id, NULL, NULL, &error);
  g_autoptr(GPtrArray) after = NULL;
  g_autoptr(GPtrArray) policies = NULL;
  g_autoptr(NbMgmtAccount) account = NULL;
  NbMgmtPolicyRule *good = nb_mgmt_policy_rule_new ();
  NbMgmtPolicyRule *bad = nb_mgmt_policy_rule_new ();
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;

  /* The first rule is written before the second fails on its unknown
   * group: the whole policy must vanish. */
  policy->name = g_strdup ("half");
  good->sources = strv_of (all, NULL);
  good->destinations = strv_of (all, NULL);
  bad->sources = strv_of (all, NULL);
  bad->destinations = strv_of ("no-such-group", NULL);
  g_ptr_array_add (policy->rules, good);
  g_ptr_array_add (policy->rules, bad);
  g_assert_null (nb_mgmt_store_create_policy (f->store, f->account->id, f->owner->id, policy, &error));
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "no-such-group"));
  g_clear_error (&error);

  policies = nb_mgmt_store_list_policies (f->store, f->account->id, &error);
  g_assert_cmpuint (policies->len, ==, 1);
  after = nb_mgmt_store_list_events (f->store, f->account->id, NULL, NULL, &error);
  g_assert_cmpuint (after->len, ==, before->len);
  account = nb_mgmt_store_get_account (f->store, f->account->id, &error);
  g_assert_cmpuint (account->serial, ==, f->account->serial);

  g_assert_cmpint (sqlite3_open (f->path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT count(*) FROM policy_rules", -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_int (stmt, 0), ==, 1);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
}

typedef struct {
  GPtrArray *kinds;
  GPtrArray *ids;
  gboolean network;
} Seen;

static void
on_changed (NbMgmtStore        *store,
            const NbMgmtChange *change,
            Seen               *seen)
{
  g_ptr_array_add (seen->kinds, GINT_TO_POINTER (change->kind));
  g_ptr_array_add (seen->ids, g_strdup (change->object_id));
  seen->network = change->network_changed;
}

static void
test_changed_signal (StoreFixture *f,
                     gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtGroup) g = NULL;
  g_autoptr(NbMgmtPeer) p = NULL;
  Seen seen = { g_ptr_array_new (), g_ptr_array_new_with_free_func (g_free), FALSE };
  NbMgmtGroup tmpl = { .name = (char *) "signalled" };
  gulong id = g_signal_connect (f->store, "changed", G_CALLBACK (on_changed), &seen);

  g = nb_mgmt_store_create_group (f->store, f->account->id, f->owner->id, &tmpl, &error);
  g_assert_cmpuint (seen.kinds->len, ==, 1);
  g_assert_cmpint (GPOINTER_TO_INT (seen.kinds->pdata[0]), ==, NB_MGMT_CHANGE_GROUP);
  g_assert_cmpstr (seen.ids->pdata[0], ==, g->id);
  g_assert_true (seen.network);

  /* A failed change says nothing. */
  g_assert_null (nb_mgmt_store_create_group (f->store, f->account->id, f->owner->id, &tmpl, &error));
  g_clear_error (&error);
  g_assert_cmpuint (seen.kinds->len, ==, 1);

  p = add_peer (f, "signals");
  g_assert_cmpuint (seen.kinds->len, ==, 2);
  g_assert_cmpint (GPOINTER_TO_INT (seen.kinds->pdata[1]), ==, NB_MGMT_CHANGE_PEER_ADDED);
  g_assert_true (nb_mgmt_store_set_peer_connected (f->store, p->key, TRUE, &error));
  g_assert_cmpint (GPOINTER_TO_INT (seen.kinds->pdata[2]), ==, NB_MGMT_CHANGE_PEER_STATUS);
  g_assert_false (seen.network);

  g_signal_handler_disconnect (f->store, id);
  g_ptr_array_unref (seen.kinds);
  g_ptr_array_unref (seen.ids);
}

static gboolean
group_exists (StoreFixture *f,
              const char   *id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtGroup) g = nb_mgmt_store_get_group (f->store, f->account->id, id, &error);

  return g != NULL;
}

/* Store calls inside an outer transaction: a failed one undoes only its own
 * work, nothing is announced before the outer commit, and an outer
 * rollback undoes every call (the first start's all or nothing). */
static void
test_transaction_nested (StoreFixture *f,
                         gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtGroup) a = NULL;
  g_autoptr(NbMgmtGroup) b = NULL;
  g_autoptr(NbMgmtGroup) c = NULL;
  g_autoptr(NbMgmtGroup) dup = NULL;
  Seen seen = { g_ptr_array_new (), g_ptr_array_new_with_free_func (g_free), FALSE };
  NbMgmtGroup tmpl_a = { .name = (char *) "nested-a" };
  NbMgmtGroup tmpl_b = { .name = (char *) "nested-b" };
  NbMgmtGroup tmpl_c = { .name = (char *) "nested-c" };
  gulong id = g_signal_connect (f->store, "changed", G_CALLBACK (on_changed), &seen);

  {
    g_auto(NbMgmtTransaction) tx = NB_MGMT_TRANSACTION_INIT;

    g_assert_true (nb_mgmt_transaction_begin (&tx, f->store, &error));
    a = nb_mgmt_store_create_group (f->store, f->account->id, NULL, &tmpl_a, &error);
    g_assert_no_error (error);
    /* Fails at its INSERT (the name is taken), inside its savepoint. */
    dup = nb_mgmt_store_create_group (f->store, f->account->id, NULL, &tmpl_a, &error);
    g_assert_null (dup);
    g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_ALREADY_EXISTS);
    g_clear_error (&error);
    b = nb_mgmt_store_create_group (f->store, f->account->id, NULL, &tmpl_b, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (seen.kinds->len, ==, 0);
    g_assert_true (nb_mgmt_transaction_commit (&tx, &error));
    g_assert_no_error (error);
  }
  g_assert_true (group_exists (f, a->id));
  g_assert_true (group_exists (f, b->id));
  /* Announced once committed, the failed call not at all. */
  g_assert_cmpuint (seen.kinds->len, ==, 2);

  {
    g_auto(NbMgmtTransaction) tx = NB_MGMT_TRANSACTION_INIT;

    g_assert_true (nb_mgmt_transaction_begin (&tx, f->store, &error));
    c = nb_mgmt_store_create_group (f->store, f->account->id, NULL, &tmpl_c, &error);
    g_assert_no_error (error);
    g_assert_true (group_exists (f, c->id));
    /* Leaves scope uncommitted: rolled back. */
  }
  g_assert_false (group_exists (f, c->id));
  g_assert_cmpuint (seen.kinds->len, ==, 2);

  g_signal_handler_disconnect (f->store, id);
  g_ptr_array_unref (seen.kinds);
  g_ptr_array_unref (seen.ids);
}

/* Empty, missing, huge and malformed fields: a clear error each time, no
 * crash, nothing written. */
static void
test_hostile_input (StoreFixture *f,
                    gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *huge = g_strnfill (100000, 'a');
  g_autoptr(GPtrArray) before = nb_mgmt_store_list_events (f->store, f->account->id, NULL, NULL, &error);
  g_autoptr(GPtrArray) after = NULL;
  g_autoptr(NbMgmtPolicy) no_rules = nb_mgmt_policy_new ();
  g_autoptr(NbMgmtNameserverGroup) no_servers = nb_mgmt_nameserver_group_new ();
  NbMgmtGroup group = { .name = NULL };
  NbMgmtSetupKey key = { .name = NULL, .type = 7 };
  NbMgmtUser user = { .email = (char *) "x@example.com", .role = 42 };
  NbMgmtRoute route = { .network_id = NULL };
  NbMgmtPeer nobody = { .id = NULL };

#define EXPECT_INVALID(call) \
  G_STMT_START { \
    g_assert_null (call); \
    g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT); \
    g_assert_cmpuint (strlen (error->message), >, 0); \
    g_clear_error (&error); \
  } G_STMT_END

  EXPECT_INVALID (nb_mgmt_store_create_group (f->store, f->account->id, NULL, &group, &error));
  group.name = (char *) "";
  EXPECT_INVALID (nb_mgmt_store_create_group (f->store, f->account->id, NULL, &group, &error));
  group.name = (char *) "   ";
  EXPECT_INVALID (nb_mgmt_store_create_group (f->store, f->account->id, NULL, &group, &error));
  group.name = huge;
  EXPECT_INVALID (nb_mgmt_store_create_group (f->store, f->account->id, NULL, &group, &error));
  group.name = (char *) "bad \xff utf8";
  EXPECT_INVALID (nb_mgmt_store_create_group (f->store, f->account->id, NULL, &group, &error));
  EXPECT_INVALID (nb_mgmt_store_create_setup_key (f->store, f->account->id, NULL, &key, NULL, NULL, &error));
  key.name = (char *) "k";
  EXPECT_INVALID (nb_mgmt_store_create_setup_key (f->store, f->account->id, NULL, &key, NULL, NULL, &error));
  key.type = NB_MGMT_SETUP_KEY_REUSABLE;
  key.usage_limit = -1;
  EXPECT_INVALID (nb_mgmt_store_create_setup_key (f->store, f->account->id, NULL, &key, NULL, NULL, &error));
  key.usage_limit = 0;
  EXPECT_INVALID (nb_mgmt_store_create_setup_key (f->store, f->account->id, NULL, &key, "short", NULL, &error));
  EXPECT_INVALID (nb_mgmt_store_create_user (f->store, f->account->id, NULL, &user, &error));
  no_rules->name = g_strdup ("p");
  EXPECT_INVALID (nb_mgmt_store_create_policy (f->store, f->account->id, NULL, no_rules, &error));
  EXPECT_INVALID (nb_mgmt_store_create_route (f->store, f->account->id, NULL, &route, &error));
  no_servers->name = g_strdup ("ns");
  EXPECT_INVALID (nb_mgmt_store_create_nameserver_group (f->store, f->account->id, NULL, no_servers, &error));

  /* Unknown IDs and accounts are NOT_FOUND. */
  g_assert_null (nb_mgmt_store_update_peer (f->store, f->account->id, NULL, &nobody, &error));
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_null (nb_mgmt_store_list_peers (f->store, "no-such-account", NULL, &error));
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_null (nb_mgmt_store_list_groups (f->store, NULL, &error));
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_null (nb_mgmt_store_get_network_map (f->store, f->account->id, "nope", &error));
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* Meta with invalid UTF-8 and huge fields is cleaned and cut. */
  {
    g_autofree char *pub = new_peer_key ();
    NbMgmtPeerMeta meta = { .hostname = (char *) "host\xfe\xff", .os = huge };
    g_autoptr(NbMgmtPeer) p = nb_mgmt_store_register_peer (f->store, f->setup_key, pub, &meta, &error);
    g_assert_no_error (error);
    g_assert_true (g_utf8_validate (p->name, -1, NULL));
    g_assert_cmpuint (strlen (p->meta.os), <=, 256);
  }

  after = nb_mgmt_store_list_events (f->store, f->account->id, NULL, NULL, &error);
  /* Only the registration wrote anything. */
  g_assert_cmpuint (after->len, ==, before->len + 1);
#undef EXPECT_INVALID
}

static guint
count_events (StoreFixture *f,
              const char   *code)
{
  g_autoptr(GError) error = NULL;
  NbMgmtEventFilter filter = { .activity_code = code };
  g_autoptr(GPtrArray) events = nb_mgmt_store_list_events (f->store, f->account->id, &filter, NULL, &error);

  g_assert_no_error (error);
  return events->len;
}

/* A user's new auto-group takes its peers along (NetBird's groups
 * propagation), and each membership change is in the audit log. */
static void
test_groups_propagation_and_membership_events (StoreFixture *f,
                                               gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *pub = new_peer_key ();
  g_autoptr(NbMgmtGroup) g = NULL;
  g_autoptr(NbMgmtGroup) after = NULL;
  g_autoptr(NbMgmtGroup) emptied = NULL;
  g_autoptr(NbMgmtUser) u1 = NULL;
  g_autoptr(NbMgmtUser) u2 = NULL;
  g_autoptr(NbMgmtPeer) p = NULL;
  g_autoptr(NbMgmtPeer) other = add_peer (f, "other");
  NbMgmtGroup tmpl = { .name = (char *) "propagated" };
  NbMgmtPeerMeta meta = { .hostname = (char *) "mine" };

  g = nb_mgmt_store_create_group (f->store, f->account->id, f->owner->id, &tmpl, &error);
  p = nb_mgmt_store_register_peer_for_user (f->store, f->account->id, f->owner->id, pub, &meta, &error);
  g_assert_no_error (error);

  f->owner->auto_groups = strv_of (g->id, NULL);
  u1 = nb_mgmt_store_update_user (f->store, f->account->id, f->owner->id, f->owner, &error);
  g_assert_no_error (error);
  after = nb_mgmt_store_get_group (f->store, f->account->id, g->id, &error);
  g_assert_cmpuint (g_strv_length (after->peers), ==, 1);
  g_assert_cmpstr (after->peers[0], ==, p->id);
  g_assert_cmpuint (count_events (f, "user.group.add"), ==, 1);

  g_clear_pointer (&f->owner->auto_groups, g_strfreev);
  u2 = nb_mgmt_store_update_user (f->store, f->account->id, f->owner->id, f->owner, &error);
  g_assert_no_error (error);
  emptied = nb_mgmt_store_get_group (f->store, f->account->id, g->id, &error);
  g_assert_cmpuint (g_strv_length (emptied->peers), ==, 0);
  g_assert_cmpuint (count_events (f, "user.group.delete"), ==, 1);

  /* Editing the members: one event per peer added or removed. */
  {
    g_autoptr(NbMgmtGroup) edited = NULL;
    g_autoptr(NbMgmtGroup) shrunk = NULL;
    g_strfreev (emptied->peers);
    emptied->peers = strv_of (p->id, other->id, NULL);
    edited = nb_mgmt_store_update_group (f->store, f->account->id, f->owner->id, emptied, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (count_events (f, "peer.group.add"), ==, 2);
    g_strfreev (edited->peers);
    edited->peers = strv_of (other->id, NULL);
    shrunk = nb_mgmt_store_update_group (f->store, f->account->id, f->owner->id, edited, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (count_events (f, "peer.group.delete"), ==, 1);
  }
}

static int
synchronous_mode (NbMgmtStore *store)
{
  sqlite3_stmt *stmt = NULL;
  int mode;

  g_assert_cmpint (sqlite3_prepare_v2 (store->db, "PRAGMA synchronous", -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  mode = sqlite3_column_int (stmt, 0);
  sqlite3_finalize (stmt);
  return mode;
}

/* Connection state and token use skip the fsync; every other change is
 * durable, before and after them. */
static void
test_runtime_state_relaxed (StoreFixture *f,
                            gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtPeer) p = add_peer (f, "runtime");
  g_autoptr(NbMgmtPeer) seen = NULL;
  g_autofree char *token = NULL;
  g_autoptr(NbMgmtPat) pat = NULL;
  g_autoptr(NbMgmtUser) who = NULL;

  g_assert_cmpint (synchronous_mode (f->store), ==, 2);
  g_assert_true (nb_mgmt_store_set_peer_connected (f->store, p->key, TRUE, &error));
  g_assert_no_error (error);
  g_assert_cmpint (synchronous_mode (f->store), ==, 2);
  seen = nb_mgmt_store_get_peer (f->store, f->account->id, p->id, &error);
  g_assert_true (seen->connected);
  g_assert_cmpint (seen->last_seen, >, 0);

  pat = nb_mgmt_store_create_pat (f->store, f->account->id, NULL, f->owner->id, "t", 1, &token, &error);
  who = nb_mgmt_store_authenticate_pat (f->store, token, &error);
  g_assert_no_error (error);
  g_assert_cmpint (who->last_login, >, 0);
  g_assert_cmpint (synchronous_mode (f->store), ==, 2);
  /* A failed status write leaves the mode durable too. */
  g_assert_false (nb_mgmt_store_set_peer_connected (f->store, "unknown", TRUE, &error));
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_NOT_FOUND);
  g_assert_cmpint (synchronous_mode (f->store), ==, 2);
}

/* When synchronous=FULL cannot be set back after a runtime-state write,
 * the store says so and refuses durable changes until it can, rather than
 * commit them without fsync. SQLite itself refuses the pragma here. */
static void
test_durability_restored_or_changes_refused (StoreFixture *f,
                                             gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtPeer) p = add_peer (f, "runtime");
  g_autoptr(NbMgmtGroup) refused = NULL;
  g_autoptr(NbMgmtGroup) created = NULL;
  g_autoptr(GPtrArray) groups_before = NULL;
  g_autoptr(GPtrArray) groups_after = NULL;
  NbMgmtGroup tmpl = { .name = (char *) "durable" };

  groups_before = nb_mgmt_store_list_groups (f->store, f->account->id, &error);
  g_assert_no_error (error);
  nb_mgmt_store_refuse_for_testing (f->store, "synchronous", "FULL");

  /* The runtime-state write itself is done; restoring FULL after it fails. */
  g_test_expect_message ("netbird-mgmt-store", G_LOG_LEVEL_WARNING,
                         "cannot prepare \"PRAGMA synchronous = FULL\": not authorized");
  g_test_expect_message ("netbird-mgmt-store", G_LOG_LEVEL_WARNING,
                         "Cannot make the database durable again (synchronous=FULL): *; changes are "
                         "refused until it can");
  g_assert_true (nb_mgmt_store_set_peer_connected (f->store, p->key, TRUE, &error));
  g_assert_no_error (error);
  g_test_assert_expected_messages ();
  g_assert_cmpint (synchronous_mode (f->store), ==, 1);

  /* A change that must be durable is not made at all. */
  g_test_expect_message ("netbird-mgmt-store", G_LOG_LEVEL_WARNING,
                         "cannot prepare \"PRAGMA synchronous = FULL\": not authorized");
  refused = nb_mgmt_store_create_group (f->store, f->account->id, f->owner->id, &tmpl, &error);
  g_test_assert_expected_messages ();
  g_assert_null (refused);
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INTERNAL);
  g_assert_nonnull (strstr (error->message, "durable"));
  g_clear_error (&error);
  groups_after = nb_mgmt_store_list_groups (f->store, f->account->id, &error);
  g_assert_cmpuint (groups_after->len, ==, groups_before->len);

  /* Once FULL can be set, changes are made again, durably. */
  nb_mgmt_store_refuse_for_testing (f->store, NULL, NULL);
  created = nb_mgmt_store_create_group (f->store, f->account->id, f->owner->id, &tmpl, &error);
  g_assert_no_error (error);
  g_assert_nonnull (created);
  g_assert_cmpint (synchronous_mode (f->store), ==, 2);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn) \
  g_test_add (path, StoreFixture, NULL, store_fixture_setup, fn, store_fixture_teardown)

  g_test_add_func ("/mgmt/store/schema-fresh", test_schema_fresh);
  g_test_add_func ("/mgmt/store/schema-migrate-existing", test_schema_migrate_existing);
  g_test_add_func ("/mgmt/store/schema-newer-refused", test_schema_newer_refused);
  g_test_add_func ("/mgmt/store/schema-email-case-variants", test_schema_email_case_variants);
  g_test_add_func ("/mgmt/store/schema-not-a-database", test_schema_not_a_database);
  ADD ("/mgmt/store/account-defaults", test_account_defaults);
  ADD ("/mgmt/store/account-settings", test_account_settings);
  ADD ("/mgmt/store/account-isolation", test_account_isolation);
  ADD ("/mgmt/store/account-delete", test_account_delete);
  ADD ("/mgmt/store/users-crud", test_users_crud);
  ADD ("/mgmt/store/users-owner-protected", test_users_owner_protected);
  ADD ("/mgmt/store/users-permissions", test_users_permissions);
  ADD ("/mgmt/store/pat-lifecycle", test_pat_lifecycle);
  ADD ("/mgmt/store/pat-validation-and-import", test_pat_validation_and_import);
  ADD ("/mgmt/store/setup-key-crud", test_setup_key_crud);
  ADD ("/mgmt/store/groups-crud", test_groups_crud);
  ADD ("/mgmt/store/group-in-use-not-deleted", test_group_in_use_not_deleted);
  ADD ("/mgmt/store/policies-crud", test_policies_crud);
  ADD ("/mgmt/store/routes-crud", test_routes_crud);
  ADD ("/mgmt/store/dns-crud", test_dns_crud);
  ADD ("/mgmt/store/events-record-changes", test_events_record_changes);
  ADD ("/mgmt/store/sql-metacharacters-verbatim", test_sql_metacharacters_verbatim);
  ADD ("/mgmt/store/failed-change-leaves-nothing", test_failed_change_leaves_nothing);
  ADD ("/mgmt/store/changed-signal", test_changed_signal);
  ADD ("/mgmt/store/transaction-nested", test_transaction_nested);
  ADD ("/mgmt/store/runtime-state-relaxed", test_runtime_state_relaxed);
  ADD ("/mgmt/store/durability-restored-or-changes-refused", test_durability_restored_or_changes_refused);
  ADD ("/mgmt/store/hostile-input", test_hostile_input);
  ADD ("/mgmt/store/groups-propagation-and-membership-events", test_groups_propagation_and_membership_events);

  return g_test_run ();
}
