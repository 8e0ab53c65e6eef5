/* nb-mgmt-bootstrap.c: the first start of a Management server, and a new
 * admin token for a store whose credentials were lost
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-management"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <sodium.h>

#include "nb-mgmt-server-private.h"

/* On the first start (a store without accounts) the server creates an
 * account, its owner, a personal access token of the owner and a reusable
 * setup key, and writes the two secrets to DATA_DIR/initial-credentials.json
 * (mode 0600): the store keeps only their hashes, so this file is the only
 * copy. Configured values ("bootstrap" in the configuration file) are used
 * instead of random ones. Later starts find the account and do nothing.
 *
 * All or nothing, in this order:
 *
 * 1. account, owner, token and setup key are written in ONE transaction,
 *    not yet committed: a value that fails validation (a configured setup
 *    key too short) rolls all of it back;
 * 2. the credentials are written and fsync'd to initial-credentials.json.tmp
 *    (0600); if that fails (full disk), the transaction is rolled back;
 * 3. the transaction commits; if that fails, the .tmp file is removed;
 * 4. the .tmp file is renamed to initial-credentials.json and the folder
 *    fsync'd.
 *
 * A crash before 3 leaves no account, and the next start removes the stale
 * .tmp file and begins again. A crash between 3 and 4 leaves the account
 * and the .tmp file: the next start finds the .tmp file naming an account
 * of the store and finishes step 4 (recover_credentials()). So whenever the
 * store holds an account, its credentials are on disk. Should they be lost
 * anyway (deleted by hand), nb_management_server_reset_admin_token() makes
 * a new admin token for the owner. */

#define BOOTSTRAP_PAT_DAYS 365
#define TMP_SUFFIX ".tmp"

/* Set to "bootstrap-commit" by tests: the process dies right after the
 * first start's commit, before the credentials file gets its name, as a
 * crash or a power cut there would. */
#define TEST_CRASH_ENV "NB_MANAGEMENT_TEST_CRASH"

static char *
credentials_json (const char *account_id,
                  const char *user_id,
                  const char *admin_token,
                  const char *setup_key)
{
  GString *out = g_string_new ("{\n  \"account_id\": ");

  nb_proto_write_json_string (out, account_id);
  g_string_append (out, ",\n  \"user_id\": ");
  nb_proto_write_json_string (out, user_id);
  g_string_append (out, ",\n  \"admin_token\": ");
  nb_proto_write_json_string (out, admin_token);
  g_string_append (out, ",\n  \"setup_key\": ");
  nb_proto_write_json_string (out, setup_key);
  g_string_append (out, "\n}\n");
  return g_string_free (out, FALSE);
}

/* A rename is durable once the folder holding it is on disk. */
static void
sync_dir (const char *dir)
{
  int fd = g_open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);

  if (fd < 0)
    return;
  if (fsync (fd) != 0)
    g_warning ("Cannot sync the folder %s: %s", dir, g_strerror (errno));
  g_close (fd, NULL);
}

static gboolean
rename_into_place (const char  *data_dir,
                   const char  *tmp_path,
                   const char  *path,
                   GError     **error)
{
  if (g_rename (tmp_path, path) != 0)
    {
      int saved = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                   "Cannot rename %s to %s: %s", tmp_path, path, g_strerror (saved));
      return FALSE;
    }
  sync_dir (data_dir);
  return TRUE;
}

/* The account ID a credentials file names, or NULL. */
static char *
credentials_account (const char *path)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *root;
  JsonObject *obj;

  if (!json_parser_load_from_mapped_file (parser, path, NULL))
    return NULL;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;
  obj = json_node_get_object (root);
  return g_strdup (json_object_get_string_member_with_default (obj, "account_id", NULL));
}

/* A later start: when the first one stopped between its commit and the
 * rename of its credentials file, finish it. */
static gboolean
recover_credentials (NbManagementServer *self,
                     GPtrArray          *accounts,
                     GError            **error)
{
  g_autofree char *path = g_build_filename (self->data_dir,
                                            NB_MANAGEMENT_SERVER_CREDENTIALS_FILE, NULL);
  g_autofree char *tmp_path = g_strconcat (path, TMP_SUFFIX, NULL);
  g_autofree char *account_id = NULL;

  if (g_file_test (path, G_FILE_TEST_EXISTS) || !g_file_test (tmp_path, G_FILE_TEST_EXISTS))
    return TRUE;

  account_id = credentials_account (tmp_path);
  for (guint i = 0; account_id != NULL && i < accounts->len; i++)
    {
      const NbMgmtAccount *account = g_ptr_array_index (accounts, i);

      if (!g_str_equal (account->id, account_id))
        continue;
      if (!rename_into_place (self->data_dir, tmp_path, path, error))
        return FALSE;
      g_message ("The first start stopped before its credentials file was in place; "
                 "finished: account %s, admin token and setup key in %s", account_id, path);
      self->credentials_file = g_steal_pointer (&path);
      return TRUE;
    }
  g_warning ("%s names no account of the store: left as it is", tmp_path);
  return TRUE;
}

static void
wipe (char *secret)
{
  if (secret != NULL)
    sodium_memzero (secret, strlen (secret));
}

gboolean
nb_mgmt_server_bootstrap (NbManagementServer *self,
                          GError            **error)
{
  g_auto(NbMgmtTransaction) tx = NB_MGMT_TRANSACTION_INIT;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GPtrArray) accounts = NULL;
  g_autoptr(NbMgmtAccount) account = NULL;
  g_autoptr(NbMgmtUser) owner = NULL;
  g_autoptr(NbMgmtPat) pat = NULL;
  g_autoptr(NbMgmtSetupKey) key = NULL;
  g_autofree char *token = NULL;
  g_autofree char *setup_key = NULL;
  g_autofree char *json = NULL;
  g_autofree char *path = NULL;
  g_autofree char *tmp_path = NULL;
  NbMgmtSetupKey tmpl = { 0 };
  gboolean written;

  accounts = nb_mgmt_store_list_accounts (self->store, &local_error);
  if (accounts == NULL)
    goto failed;
  if (accounts->len > 0)
    return recover_credentials (self, accounts, error);

  path = g_build_filename (self->data_dir, NB_MANAGEMENT_SERVER_CREDENTIALS_FILE, NULL);
  if (g_file_test (path, G_FILE_TEST_EXISTS))
    {
      /* The file of an earlier database: never overwrite it, say why. */
      g_set_error (error, NB_MANAGEMENT_SERVER_ERROR, NB_MANAGEMENT_SERVER_ERROR_BOOTSTRAP,
                   "The store has no account but %s exists (from an earlier store?): move it "
                   "away to create a new account and new credentials", path);
      return FALSE;
    }
  /* Left by a first start that stopped before its commit: it names an
   * account that never was. */
  tmp_path = g_strconcat (path, TMP_SUFFIX, NULL);
  if (g_unlink (tmp_path) == 0)
    g_message ("Removed %s of a first start that did not finish", tmp_path);

  if (!nb_mgmt_transaction_begin (&tx, self->store, &local_error))
    goto failed;

  account = nb_mgmt_store_create_account (self->store, "Owner", NULL, NULL, &owner,
                                          &local_error);
  if (account == NULL)
    goto failed;

  if (self->config->admin_token != NULL)
    {
      pat = nb_mgmt_store_import_pat (self->store, account->id, owner->id, "bootstrap",
                                      self->config->admin_token, BOOTSTRAP_PAT_DAYS,
                                      &local_error);
      token = g_strdup (self->config->admin_token);
    }
  else
    {
      pat = nb_mgmt_store_create_pat (self->store, account->id, NULL, owner->id, "bootstrap",
                                      BOOTSTRAP_PAT_DAYS, &token, &local_error);
    }
  if (pat == NULL)
    goto failed;

  tmpl.name = (char *) "Default key";
  tmpl.type = NB_MGMT_SETUP_KEY_REUSABLE;
  key = nb_mgmt_store_create_setup_key (self->store, account->id, NULL, &tmpl,
                                        self->config->setup_key, &setup_key, &local_error);
  if (key == NULL)
    goto failed;

  json = credentials_json (account->id, owner->id, token, setup_key);
  written = g_file_set_contents_full (tmp_path, json, -1,
                                      G_FILE_SET_CONTENTS_CONSISTENT |
                                      G_FILE_SET_CONTENTS_DURABLE,
                                      0600, &local_error);
  wipe (json);
  wipe (token);
  wipe (setup_key);
  if (!written)
    goto failed;

  if (!nb_mgmt_transaction_commit (&tx, &local_error))
    {
      g_unlink (tmp_path);
      goto failed;
    }

  if (g_strcmp0 (g_getenv (TEST_CRASH_ENV), "bootstrap-commit") == 0)
    {
      g_printerr ("%s=bootstrap-commit: stopping between the commit and the rename\n",
                  TEST_CRASH_ENV);
      _exit (EXIT_FAILURE);
    }

  /* Committed: from here a failure is finished by the next start. */
  if (!rename_into_place (self->data_dir, tmp_path, path, &local_error))
    goto failed;

  g_info ("First start: created account %s; its admin token and setup key are in %s",
          account->id, path);
  self->credentials_file = g_steal_pointer (&path);
  return TRUE;

failed:
  g_set_error (error, NB_MANAGEMENT_SERVER_ERROR, NB_MANAGEMENT_SERVER_ERROR_BOOTSTRAP,
               "Cannot create the initial account and credentials: %s", local_error->message);
  return FALSE;
}

/* The owner of the oldest account (the one the first start made) gets a
 * new token; the tokens it had keep working (revoke them over the REST
 * API with the new one if they leaked). */
char *
nb_mgmt_server_new_admin_token (NbMgmtStore  *store,
                                char        **out_account_id,
                                GError      **error)
{
  g_autoptr(GPtrArray) accounts = NULL;
  g_autoptr(GPtrArray) users = NULL;
  g_autoptr(NbMgmtPat) pat = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *name = g_date_time_format (now, "admin token reset %Y-%m-%d %H:%M:%S UTC");
  const NbMgmtAccount *oldest = NULL;
  const NbMgmtUser *owner = NULL;
  char *token = NULL;

  accounts = nb_mgmt_store_list_accounts (store, error);
  if (accounts == NULL)
    return NULL;
  for (guint i = 0; i < accounts->len; i++)
    {
      const NbMgmtAccount *account = g_ptr_array_index (accounts, i);

      if (oldest == NULL || account->created_at < oldest->created_at)
        oldest = account;
    }
  if (oldest == NULL)
    {
      g_set_error_literal (error, NB_MANAGEMENT_SERVER_ERROR,
                           NB_MANAGEMENT_SERVER_ERROR_BOOTSTRAP,
                           "The store has no account yet: start the server once, it writes "
                           "the initial credentials");
      return NULL;
    }

  users = nb_mgmt_store_list_users (store, oldest->id, -1, error);
  if (users == NULL)
    return NULL;
  for (guint i = 0; i < users->len && owner == NULL; i++)
    {
      const NbMgmtUser *user = g_ptr_array_index (users, i);

      if (user->role == NB_MGMT_ROLE_OWNER)
        owner = user;
    }
  if (owner == NULL)
    {
      g_set_error (error, NB_MANAGEMENT_SERVER_ERROR, NB_MANAGEMENT_SERVER_ERROR_BOOTSTRAP,
                   "Account %s has no owner to give a token to", oldest->id);
      return NULL;
    }

  pat = nb_mgmt_store_create_pat (store, oldest->id, NULL, owner->id, name,
                                  BOOTSTRAP_PAT_DAYS, &token, error);
  if (pat == NULL)
    return NULL;
  if (out_account_id != NULL)
    *out_account_id = g_strdup (oldest->id);
  return token;
}
