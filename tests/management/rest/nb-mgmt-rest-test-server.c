/* nb-mgmt-rest-test-server.c: a real REST API server for the REST tests
 *
 * Opens a store in DIR, creates two accounts with users of every role and a
 * few peers, serves NbMgmtRestApi on 127.0.0.1 (an ephemeral port) and
 * prints one JSON line with the base URL, tokens and IDs the tests need.
 * Runs until SIGTERM/SIGINT or until its stdin closes.
 *
 *   nb-mgmt-rest-test-server DIR [EXTRA_PEERS]
 *
 * EXTRA_PEERS more peers ("host-N") in the first account size the account
 * for timing the API.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-mgmt-rest-test"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "nb-key.h"
#include "nb-mgmt-rest-api.h"
#include "nb-mgmt-store.h"

static gboolean
on_quit (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

static gboolean
on_stdin (gint         fd,
          GIOCondition condition,
          gpointer     loop)
{
  char buf[64];

  if (read (fd, buf, sizeof buf) <= 0)
    {
      g_main_loop_quit (loop);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static void
die (const char   *what,
     const GError *error)
{
  g_printerr ("nb-mgmt-rest-test-server: %s: %s\n", what, error ? error->message : "failed");
  exit (1);
}

static NbMgmtUser *
make_user (NbMgmtStore *store,
           const char  *account_id,
           const char  *actor_id,
           const char  *name,
           const char  *email,
           NbMgmtRole   role,
           gboolean     service,
           gboolean     blocked)
{
  g_autoptr(GError) error = NULL;
  NbMgmtUser tmpl = { 0 };
  NbMgmtUser *user;

  tmpl.name = (char *) name;
  tmpl.email = (char *) email;
  tmpl.role = role;
  tmpl.is_service_user = service;
  tmpl.issued = (char *) "api";
  user = nb_mgmt_store_create_user (store, account_id, actor_id, &tmpl, &error);
  if (user == NULL)
    die ("create user", error);
  if (blocked)
    {
      NbMgmtUser *blocked_user;

      user->is_blocked = TRUE;
      blocked_user = nb_mgmt_store_update_user (store, account_id, actor_id, user, &error);
      if (blocked_user == NULL)
        die ("block user", error);
      nb_mgmt_user_free (user);
      user = blocked_user;
    }
  return user;
}

static char *
make_pat (NbMgmtStore *store,
          const char  *account_id,
          const char  *user_id,
          int          days)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtPat) pat = NULL;
  char *token = NULL;

  pat = nb_mgmt_store_create_pat (store, account_id, user_id, user_id, "test", days, &token,
                                  &error);
  if (pat == NULL)
    die ("create token", error);
  return token;
}

static NbMgmtPeer *
make_peer (NbMgmtStore *store,
           const char  *setup_key,
           const char  *account_id,
           const char  *user_id,
           const char  *hostname)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbKey) key = nb_key_generate ();
  NbMgmtPeerMeta meta = { 0 };
  NbMgmtPeer *peer;

  meta.hostname = (char *) hostname;
  meta.goos = (char *) "linux";
  meta.os = (char *) "Debian GNU/Linux";
  meta.os_version = (char *) "12";
  meta.kernel = (char *) "Linux";
  meta.kernel_version = (char *) "6.1.0";
  meta.netbird_version = (char *) "0.1.0";
  if (user_id != NULL)
    peer = nb_mgmt_store_register_peer_for_user (store, account_id, user_id,
                                                 nb_key_get_public_base64 (key), &meta, &error);
  else
    peer = nb_mgmt_store_register_peer (store, setup_key, nb_key_get_public_base64 (key), &meta,
                                        &error);
  if (peer == NULL)
    die ("register peer", error);
  return peer;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtStore) store = NULL;
  g_autoptr(NbMgmtAccount) account = NULL, other = NULL;
  g_autoptr(NbMgmtUser) owner = NULL, other_owner = NULL, admin = NULL, user = NULL,
                        blocked = NULL;
  g_autoptr(NbMgmtSetupKey) key = NULL, other_key = NULL;
  g_autoptr(NbMgmtPeer) p1 = NULL, p2 = NULL, p3 = NULL, other_peer = NULL;
  g_autoptr(SoupServer) server = NULL;
  g_autoptr(NbMgmtRestApi) api = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *path = NULL, *setup_key = NULL, *other_setup_key = NULL, *expired = NULL;
  g_autofree char *owner_token = NULL, *admin_token = NULL, *user_token = NULL;
  g_autofree char *blocked_token = NULL, *other_token = NULL, *out = NULL, *url = NULL;
  NbMgmtSetupKey tmpl = { 0 };
  GSList *uris;
  gint64 now;

  if (argc != 2 && argc != 3)
    {
      g_printerr ("usage: %s DATA_DIR [EXTRA_PEERS]\n", argv[0]);
      return 2;
    }

  path = g_build_filename (argv[1], "store.db", NULL);
  store = nb_mgmt_store_open (path, &error);
  if (store == NULL)
    die ("open store", error);

  account = nb_mgmt_store_create_account (store, "Owner O'Neil", "owner@example.com",
                                          "example.com", &owner, &error);
  if (account == NULL)
    die ("create account", error);
  other = nb_mgmt_store_create_account (store, "Other Owner", "owner@other.example",
                                        "other.example", &other_owner, &error);
  if (other == NULL)
    die ("create account", error);

  admin = make_user (store, account->id, owner->id, "Admin", "admin@example.com",
                     NB_MGMT_ROLE_ADMIN, FALSE, FALSE);
  user = make_user (store, account->id, owner->id, "User", "user@example.com",
                    NB_MGMT_ROLE_USER, FALSE, FALSE);
  owner_token = make_pat (store, account->id, owner->id, 30);
  admin_token = make_pat (store, account->id, admin->id, 30);
  user_token = make_pat (store, account->id, user->id, 30);
  other_token = make_pat (store, other->id, other_owner->id, 30);
  {
    g_autoptr(NbMgmtUser) b_user = make_user (store, account->id, owner->id, "Blocked",
                                              "blocked@example.com", NB_MGMT_ROLE_ADMIN,
                                              FALSE, FALSE);
    NbMgmtUser *done;

    blocked_token = make_pat (store, account->id, b_user->id, 30);
    b_user->is_blocked = TRUE;
    done = nb_mgmt_store_update_user (store, account->id, owner->id, b_user, &error);
    if (done == NULL)
      die ("block user", error);
    blocked = done;
  }

  /* A token created two days ago for one day has expired. */
  now = nb_mgmt_store_now (store);
  nb_mgmt_store_set_time_override (store, now - 2 * 24 * 3600);
  expired = make_pat (store, account->id, owner->id, 1);
  nb_mgmt_store_set_time_override (store, 0);

  tmpl.name = (char *) "test peers";
  tmpl.type = NB_MGMT_SETUP_KEY_REUSABLE;
  key = nb_mgmt_store_create_setup_key (store, account->id, owner->id, &tmpl, NULL, &setup_key,
                                        &error);
  if (key == NULL)
    die ("create setup key", error);
  other_key = nb_mgmt_store_create_setup_key (store, other->id, other_owner->id, &tmpl, NULL,
                                              &other_setup_key, &error);
  if (other_key == NULL)
    die ("create setup key", error);

  p1 = make_peer (store, setup_key, NULL, NULL, "alpha");
  p2 = make_peer (store, setup_key, NULL, NULL, "beta");
  p3 = make_peer (store, NULL, account->id, user->id, "users-laptop");
  other_peer = make_peer (store, other_setup_key, NULL, NULL, "foreign");
  for (guint64 i = 0, n = argc == 3 ? g_ascii_strtoull (argv[2], NULL, 10) : 0; i < n; i++)
    {
      g_autofree char *host = g_strdup_printf ("host-%" G_GUINT64_FORMAT, i);
      g_autoptr(NbMgmtPeer) extra = make_peer (store, setup_key, NULL, NULL, host);
    }

  server = soup_server_new ("server-header", "netbird-rest-test ", NULL);
  api = nb_mgmt_rest_api_new (store);
  nb_mgmt_rest_api_attach (api, server);
  if (!soup_server_listen_local (server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error))
    die ("listen", error);
  uris = soup_server_get_uris (server);
  url = g_uri_to_string (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  if (g_str_has_suffix (url, "/"))
    url[strlen (url) - 1] = '\0';

  json_builder_begin_object (b);
#define ADD(k, v) G_STMT_START { json_builder_set_member_name (b, k); \
                                 json_builder_add_string_value (b, v); } G_STMT_END
  ADD ("url", url);
  ADD ("account_id", account->id);
  ADD ("other_account_id", other->id);
  ADD ("owner_id", owner->id);
  ADD ("admin_id", admin->id);
  ADD ("user_id", user->id);
  ADD ("blocked_id", blocked->id);
  ADD ("owner_token", owner_token);
  ADD ("admin_token", admin_token);
  ADD ("user_token", user_token);
  ADD ("blocked_token", blocked_token);
  ADD ("expired_token", expired);
  ADD ("other_token", other_token);
  ADD ("setup_key", setup_key);
  ADD ("setup_key_id", key->id);
  ADD ("peer1_id", p1->id);
  ADD ("peer2_id", p2->id);
  ADD ("user_peer_id", p3->id);
  ADD ("other_peer_id", other_peer->id);
  ADD ("other_setup_key_id", other_key->id);
#undef ADD
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  out = json_generator_to_data (gen, NULL);
  printf ("%s\n", out);
  fflush (stdout);

  loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGTERM, on_quit, loop);
  g_unix_signal_add (SIGINT, on_quit, loop);
  g_unix_fd_add (0, G_IO_IN | G_IO_HUP, on_stdin, loop);
  g_main_loop_run (loop);

  soup_server_disconnect (server);
  return 0;
}
