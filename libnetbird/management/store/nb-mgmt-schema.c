/* nb-mgmt-schema.c: the store's schema and its migrations
 *
 * The schema is versioned in the table schema_version (one row). Each
 * migration moves it from version N-1 to N inside one transaction, so a
 * file is always at one version or the next, never between.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-mgmt-store"

#include "nb-mgmt-store-private.h"

/* Version 1: the tables.
 *
 * Group references of other objects (user and setup-key auto-groups, rule
 * sources and destinations, route groups, nameserver-group groups, DNS
 * disabled groups) share one table, group_refs, so that one deferred
 * foreign key forbids deleting a group that is still referenced, and one
 * query says who references it. Triggers drop an owner's references with it.
 * Foreign keys towards groups and routing peers are deferred: a whole
 * account can be deleted by cascade in one statement. group_refs is a rowid
 * table: SQLite 3.40's integrity_check misreads NOT NULL columns outside the
 * key of a WITHOUT ROWID table, and the crash test relies on it. */
static const char migration_1[] =
  "CREATE TABLE accounts ("
  "  id TEXT PRIMARY KEY,"
  "  domain TEXT, domain_category TEXT, created_by TEXT,"
  "  created_at INTEGER NOT NULL,"
  "  network_addr INTEGER NOT NULL, network_prefix INTEGER NOT NULL,"
  "  next_ip INTEGER NOT NULL,"
  "  serial INTEGER NOT NULL DEFAULT 0,"
  "  login_expiration_enabled INTEGER NOT NULL DEFAULT 1,"
  "  login_expiration INTEGER NOT NULL DEFAULT 86400,"
  "  regular_users_view_blocked INTEGER NOT NULL DEFAULT 0,"
  "  groups_propagation_enabled INTEGER NOT NULL DEFAULT 1,"
  "  jwt_groups_enabled INTEGER NOT NULL DEFAULT 0,"
  "  jwt_groups_claim_name TEXT,"
  "  dns_domain TEXT"
  ");"
  "CREATE TABLE users ("
  "  id TEXT PRIMARY KEY,"
  "  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
  "  name TEXT, email TEXT,"
  "  role INTEGER NOT NULL,"
  "  is_service_user INTEGER NOT NULL DEFAULT 0,"
  "  is_blocked INTEGER NOT NULL DEFAULT 0,"
  "  issued TEXT NOT NULL DEFAULT 'api',"
  "  created_at INTEGER NOT NULL,"
  "  last_login INTEGER NOT NULL DEFAULT 0"
  ");"
  "CREATE INDEX users_account ON users(account_id);"
  "CREATE UNIQUE INDEX users_email ON users(account_id, email) WHERE email IS NOT NULL AND email <> '';"
  "CREATE TABLE pats ("
  "  id TEXT PRIMARY KEY,"
  "  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
  "  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
  "  name TEXT NOT NULL,"
  "  hashed_token TEXT NOT NULL UNIQUE,"
  "  expiration INTEGER NOT NULL,"
  "  created_by TEXT,"
  "  created_at INTEGER NOT NULL,"
  "  last_used INTEGER NOT NULL DEFAULT 0"
  ");"
  "CREATE INDEX pats_user ON pats(user_id);"
  "CREATE TABLE groups ("
  "  id TEXT PRIMARY KEY,"
  "  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
  "  name TEXT NOT NULL,"
  "  issued TEXT NOT NULL DEFAULT 'api',"
  "  UNIQUE (account_id, name)"
  ");"
  "CREATE TABLE setup_keys ("
  "  id TEXT PRIMARY KEY,"
  "  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
  "  name TEXT NOT NULL,"
  "  key_hash TEXT NOT NULL UNIQUE,"
  "  masked_key TEXT NOT NULL,"
  "  type INTEGER NOT NULL,"
  "  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
  "  expires_at INTEGER NOT NULL,"
  "  revoked INTEGER NOT NULL DEFAULT 0,"
  "  used_times INTEGER NOT NULL DEFAULT 0,"
  "  last_used INTEGER NOT NULL DEFAULT 0,"
  "  usage_limit INTEGER NOT NULL DEFAULT 0,"
  "  ephemeral INTEGER NOT NULL DEFAULT 0"
  ");"
  "CREATE INDEX setup_keys_account ON setup_keys(account_id);"
  "CREATE TABLE peers ("
  "  id TEXT PRIMARY KEY,"
  "  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
  "  key TEXT NOT NULL UNIQUE,"
  "  name TEXT NOT NULL,"
  "  dns_label TEXT NOT NULL,"
  "  ip INTEGER NOT NULL,"
  "  hostname TEXT, goos TEXT, kernel TEXT, kernel_version TEXT, core TEXT,"
  "  platform TEXT, os TEXT, os_version TEXT, netbird_version TEXT, ui_version TEXT,"
  "  user_id TEXT REFERENCES users(id) ON DELETE CASCADE,"
  "  setup_key_id TEXT REFERENCES setup_keys(id) ON DELETE SET NULL,"
  "  ssh_enabled INTEGER NOT NULL DEFAULT 0,"
  "  ssh_key TEXT,"
  "  login_expiration_enabled INTEGER NOT NULL DEFAULT 0,"
  "  last_login INTEGER NOT NULL DEFAULT 0,"
  "  last_seen INTEGER NOT NULL DEFAULT 0,"
  "  connected INTEGER NOT NULL DEFAULT 0,"
  "  ephemeral INTEGER NOT NULL DEFAULT 0,"
  "  created_at INTEGER NOT NULL,"
  "  UNIQUE (account_id, ip),"
  "  UNIQUE (account_id, dns_label)"
  ");"
  "CREATE TABLE group_peers ("
  "  group_id TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,"
  "  peer_id TEXT NOT NULL REFERENCES peers(id) ON DELETE CASCADE,"
  "  PRIMARY KEY (group_id, peer_id)"
  ") WITHOUT ROWID;"
  "CREATE TABLE policies ("
  "  id TEXT PRIMARY KEY,"
  "  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
  "  name TEXT NOT NULL, description TEXT,"
  "  enabled INTEGER NOT NULL DEFAULT 1,"
  "  created_at INTEGER NOT NULL"
  ");"
  "CREATE INDEX policies_account ON policies(account_id);"
  "CREATE TABLE policy_rules ("
  "  id TEXT PRIMARY KEY,"
  "  policy_id TEXT NOT NULL REFERENCES policies(id) ON DELETE CASCADE,"
  "  position INTEGER NOT NULL,"
  "  name TEXT NOT NULL, description TEXT,"
  "  enabled INTEGER NOT NULL DEFAULT 1,"
  "  action INTEGER NOT NULL, bidirectional INTEGER NOT NULL, protocol INTEGER NOT NULL,"
  "  ports TEXT, port_ranges TEXT"
  ");"
  "CREATE INDEX policy_rules_policy ON policy_rules(policy_id);"
  "CREATE TABLE routes ("
  "  id TEXT PRIMARY KEY,"
  "  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
  "  network_id TEXT NOT NULL, description TEXT,"
  "  enabled INTEGER NOT NULL DEFAULT 1,"
  "  peer_id TEXT REFERENCES peers(id) DEFERRABLE INITIALLY DEFERRED,"
  "  network TEXT, domains TEXT,"
  "  metric INTEGER NOT NULL,"
  "  masquerade INTEGER NOT NULL DEFAULT 0,"
  "  keep_route INTEGER NOT NULL DEFAULT 0"
  ");"
  "CREATE INDEX routes_account ON routes(account_id);"
  "CREATE TABLE nameserver_groups ("
  "  id TEXT PRIMARY KEY,"
  "  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
  "  name TEXT NOT NULL, description TEXT,"
  "  nameservers TEXT NOT NULL,"
  "  enabled INTEGER NOT NULL DEFAULT 1,"
  "  is_primary INTEGER NOT NULL DEFAULT 0,"
  "  domains TEXT,"
  "  search_domains_enabled INTEGER NOT NULL DEFAULT 0,"
  "  UNIQUE (account_id, name)"
  ");"
  "CREATE TABLE group_refs ("
  "  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
  "  owner_id TEXT NOT NULL,"
  "  field TEXT NOT NULL,"
  "  position INTEGER NOT NULL,"
  "  group_id TEXT NOT NULL REFERENCES groups(id) DEFERRABLE INITIALLY DEFERRED,"
  "  UNIQUE (owner_id, field, group_id)"
  ");"
  "CREATE INDEX group_refs_group ON group_refs(group_id);"
  "CREATE TRIGGER users_refs AFTER DELETE ON users BEGIN"
  "  DELETE FROM group_refs WHERE owner_id = OLD.id; END;"
  "CREATE TRIGGER setup_keys_refs AFTER DELETE ON setup_keys BEGIN"
  "  DELETE FROM group_refs WHERE owner_id = OLD.id; END;"
  "CREATE TRIGGER policy_rules_refs AFTER DELETE ON policy_rules BEGIN"
  "  DELETE FROM group_refs WHERE owner_id = OLD.id; END;"
  "CREATE TRIGGER routes_refs AFTER DELETE ON routes BEGIN"
  "  DELETE FROM group_refs WHERE owner_id = OLD.id; END;"
  "CREATE TRIGGER nameserver_groups_refs AFTER DELETE ON nameserver_groups BEGIN"
  "  DELETE FROM group_refs WHERE owner_id = OLD.id; END;"
  "CREATE TABLE events ("
  "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
  "  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
  "  timestamp INTEGER NOT NULL,"
  "  activity_code TEXT NOT NULL,"
  "  initiator_id TEXT, target_id TEXT, meta TEXT"
  ");";

/* Version 2: indexes for the queries that grew hot: a peer's groups (login,
 * deletion) and the audit log by account and time. */
static const char migration_2[] =
  "CREATE INDEX group_peers_peer ON group_peers(peer_id);"
  "CREATE INDEX events_account_time ON events(account_id, timestamp);"
  "CREATE INDEX peers_account ON peers(account_id);";

/* Version 3: a peer's login expiry is recorded when the expiry job finds
 * it, so that maps (and their cache) do not depend on the clock. */
static const char migration_3[] =
  "ALTER TABLE peers ADD COLUMN login_expired INTEGER NOT NULL DEFAULT 0;";

/* Version 4: e-mail addresses are unique per account whatever their case
 * (Alice@Example.com is alice@example.com), ASCII letters folded as
 * SQLite's NOCASE does. Users the old index let in as case variants of one
 * address are all kept, with their roles, tokens and peers; the oldest of
 * them (by creation, then ID) keeps the address, the others lose it (NULL,
 * as a service user has none), and an activity event of each, by the
 * system, records the address it had, for an admin to sort out. */
static const char migration_4[] =
  "CREATE TEMP TABLE email_variants AS"
  "  SELECT u.id, u.account_id, u.email FROM users u"
  "  WHERE u.email IS NOT NULL AND u.email <> '' AND EXISTS ("
  "    SELECT 1 FROM users o"
  "    WHERE o.account_id = u.account_id AND o.id <> u.id"
  "      AND o.email = u.email COLLATE NOCASE"
  "      AND (o.created_at < u.created_at OR (o.created_at = u.created_at AND o.id < u.id)));"
  "INSERT INTO events (account_id, timestamp, activity_code, initiator_id, target_id, meta)"
  "  SELECT account_id, CAST(strftime('%s', 'now') AS INTEGER), 'user.email.clear', NULL, id,"
  "         json_object('email', email, 'reason',"
  "                     'an older user of the account has this address in another case')"
  "  FROM email_variants;"
  "UPDATE users SET email = NULL WHERE id IN (SELECT id FROM email_variants);"
  "DROP TABLE email_variants;"
  "DROP INDEX users_email;"
  "CREATE UNIQUE INDEX users_email ON users(account_id, email COLLATE NOCASE)"
  "  WHERE email IS NOT NULL AND email <> '';";

static const char *const migrations[] = {
  NULL,
  migration_1,
  migration_2,
  migration_3,
  migration_4,
};

G_STATIC_ASSERT (G_N_ELEMENTS (migrations) == NB_MGMT_STORE_SCHEMA_VERSION + 1);

static gboolean
read_version (NbMgmtStore *store,
              int         *version,
              GError     **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc;

  rc = sqlite3_prepare_v2 (store->db,
                           "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'",
                           -1, &stmt, NULL);
  if (rc != SQLITE_OK)
    {
      /* Not a database at all ("file is not a database"). */
      nb_mgmt_store_set_db_error (store, rc, "reading the schema", error);
      return FALSE;
    }
  rc = sqlite3_step (stmt);
  sqlite3_finalize (stmt);
  if (rc == SQLITE_DONE)
    {
      *version = 0;
      return TRUE;
    }
  if (rc != SQLITE_ROW)
    {
      nb_mgmt_store_set_db_error (store, rc, "reading the schema", error);
      return FALSE;
    }
  rc = sqlite3_prepare_v2 (store->db, "SELECT version FROM schema_version", -1, &stmt, NULL);
  if (rc != SQLITE_OK)
    {
      nb_mgmt_store_set_db_error (store, rc, "reading the schema version", error);
      return FALSE;
    }
  rc = sqlite3_step (stmt);
  *version = rc == SQLITE_ROW ? sqlite3_column_int (stmt, 0) : 0;
  sqlite3_finalize (stmt);
  return TRUE;
}

/* Brings the file to @target_version (tests use a lower target to make an
 * old file). Refuses files newer than this code knows. */
gboolean
nb_mgmt_schema_migrate (NbMgmtStore *store,
                        int          target_version,
                        GError     **error)
{
  int version;

  if (!read_version (store, &version, error))
    return FALSE;
  if (version > NB_MGMT_STORE_SCHEMA_VERSION)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INTERNAL,
                   "The database has schema version %d, newer than this server "
                   "knows (%d): upgrade the server", version, NB_MGMT_STORE_SCHEMA_VERSION);
      return FALSE;
    }

  while (version < target_version)
    {
      int next = version + 1;
      g_autofree char *bump = NULL;

      if (!nb_mgmt_store_exec (store, "BEGIN IMMEDIATE", error))
        return FALSE;
      if (version == 0)
        bump = g_strdup_printf ("CREATE TABLE schema_version (version INTEGER NOT NULL);"
                                "INSERT INTO schema_version VALUES (%d);", next);
      else
        bump = g_strdup_printf ("UPDATE schema_version SET version = %d;", next);
      if (!nb_mgmt_store_exec (store, migrations[next], error) ||
          !nb_mgmt_store_exec (store, bump, error) ||
          !nb_mgmt_store_exec (store, "COMMIT", error))
        {
          nb_mgmt_store_exec (store, "ROLLBACK", NULL);
          g_prefix_error (error, "Migrating the schema to version %d: ", next);
          return FALSE;
        }
      g_debug ("schema migrated to version %d", next);
      version = next;
    }
  store->schema_version = version;
  return TRUE;
}
