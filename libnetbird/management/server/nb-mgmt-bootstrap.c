/* nb-mgmt-bootstrap.c: the first start of a Management server
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-management"

#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "nb-mgmt-server-private.h"

/* On the first start (a store without accounts) the server creates an
 * account, its owner, a personal access token of the owner and a reusable
 * setup key, and writes the two secrets to DATA_DIR/initial-credentials.json
 * (mode 0600) once: the store keeps only their hashes, so this file is the
 * only copy. Configured values ("bootstrap" in the configuration file) are
 * used instead of random ones. Later starts find the account and do
 * nothing. */

#define BOOTSTRAP_PAT_DAYS 365

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

gboolean
nb_mgmt_server_bootstrap (NbManagementServer *self,
                          GError            **error)
{
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
  NbMgmtSetupKey tmpl = { 0 };

  accounts = nb_mgmt_store_list_accounts (self->store, &local_error);
  if (accounts == NULL)
    goto failed;
  if (accounts->len > 0)
    return TRUE;

  path = g_build_filename (self->data_dir, NB_MANAGEMENT_SERVER_CREDENTIALS_FILE, NULL);
  if (g_file_test (path, G_FILE_TEST_EXISTS))
    {
      /* The file of an earlier database: never overwrite it, say why. */
      g_set_error (error, NB_MANAGEMENT_SERVER_ERROR, NB_MANAGEMENT_SERVER_ERROR_BOOTSTRAP,
                   "The store has no account but %s exists (from an earlier store?): move it "
                   "away to create a new account and new credentials", path);
      return FALSE;
    }

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
  if (!g_file_set_contents_full (path, json, -1,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0600, &local_error))
    goto failed;
  sodium_memzero (json, strlen (json));
  sodium_memzero (token, strlen (token));
  sodium_memzero (setup_key, strlen (setup_key));

  g_info ("First start: created account %s; its admin token and setup key are in %s",
             account->id, path);
  self->credentials_file = g_steal_pointer (&path);
  return TRUE;

failed:
  g_set_error (error, NB_MANAGEMENT_SERVER_ERROR, NB_MANAGEMENT_SERVER_ERROR_BOOTSTRAP,
               "Cannot create the initial account and credentials: %s", local_error->message);
  return FALSE;
}
