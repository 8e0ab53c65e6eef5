/* test-rest-peer-login.c: a user's peer logging in again, as the REST API
 * then shows it
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * A real store in a temporary directory, NbMgmtRestApi on a SoupServer on
 * 127.0.0.1 and a SoupSession on the same main context: the peer's user
 * logs it in twice with a different system each time, and GET
 * /api/peers/{id} must show the second system whole.
 */
#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "nb-key.h"
#include "nb-mgmt-rest-private.h"
#include "nb-mgmt-store.h"

typedef struct
{
  char *dir;
  NbMgmtStore *store;
  NbMgmtAccount *account;
  NbMgmtUser *owner;
  char *token;
  SoupServer *server;
  NbMgmtRestApi *api;
  SoupSession *session;
  char *url;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtPat) pat = NULL;
  g_autofree char *path = NULL;
  GSList *uris;

  f->dir = g_dir_make_tmp ("nb-rest-login-XXXXXX", &error);
  g_assert_no_error (error);
  path = g_build_filename (f->dir, "store.db", NULL);
  f->store = nb_mgmt_store_open (path, &error);
  g_assert_no_error (error);
  f->account = nb_mgmt_store_create_account (f->store, "Owner", "owner@example.com", "example.com",
                                             &f->owner, &error);
  g_assert_no_error (error);
  pat = nb_mgmt_store_create_pat (f->store, f->account->id, f->owner->id, f->owner->id, "test", 1,
                                  &f->token, &error);
  g_assert_no_error (error);

  f->server = soup_server_new (NULL, NULL);
  f->api = nb_mgmt_rest_api_new (f->store);
  nb_mgmt_rest_api_attach (f->api, f->server);
  g_assert_true (soup_server_listen_local (f->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error));
  g_assert_no_error (error);
  uris = soup_server_get_uris (f->server);
  f->url = g_strdup_printf ("http://127.0.0.1:%d", g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  f->session = soup_session_new ();
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GDir) dir = NULL;
  const char *name;

  g_clear_object (&f->session);
  soup_server_disconnect (f->server);
  g_clear_object (&f->server);
  g_clear_object (&f->api);
  g_clear_object (&f->store);
  g_clear_pointer (&f->account, nb_mgmt_account_free);
  g_clear_pointer (&f->owner, nb_mgmt_user_free);
  g_free (f->token);
  g_free (f->url);
  dir = g_dir_open (f->dir, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (f->dir, name, NULL);
      g_unlink (child);
    }
  g_rmdir (f->dir);
  g_free (f->dir);
}

static void
store_result (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

/* GET @path with the owner's token; the server runs on this thread's main
 * context, so the request is async and the context turns until it is in. */
static JsonObject *
get_object (Fixture    *f,
            const char *path)
{
  g_autofree char *url = g_strconcat (f->url, path, NULL);
  g_autofree char *auth = g_strconcat ("Token ", f->token, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", url);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  gsize len = 0;
  const char *data;

  soup_message_headers_append (soup_message_get_request_headers (msg), "Authorization", auth);
  soup_session_send_and_read_async (f->session, msg, G_PRIORITY_DEFAULT, NULL, store_result, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  body = soup_session_send_and_read_finish (f->session, result, &error);
  g_assert_no_error (error);
  data = g_bytes_get_data (body, &len);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
  g_assert_true (json_parser_load_from_data (parser, data, (gssize) len, &error));
  g_assert_no_error (error);
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static void
test_user_relogin_shows_new_system (Fixture       *f,
                                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbKey) key = nb_key_generate ();
  g_autoptr(NbMgmtPeer) first = NULL;
  g_autoptr(NbMgmtPeer) again = NULL;
  g_autoptr(JsonObject) before = NULL;
  g_autoptr(JsonObject) after = NULL;
  g_autofree char *path = NULL;
  NbMgmtPeerMeta old_system = {
    .hostname = (char *) "laptop", .goos = (char *) "linux", .kernel = (char *) "Linux",
    .kernel_version = (char *) "6.1.0", .core = (char *) "12", .platform = (char *) "x86_64",
    .os = (char *) "Debian GNU/Linux", .os_version = (char *) "12",
    .netbird_version = (char *) "0.1.0", .ui_version = (char *) "0.1.0",
  };
  NbMgmtPeerMeta new_system = {
    .hostname = (char *) "laptop-2", .goos = (char *) "linux", .kernel = (char *) "Linux",
    .kernel_version = (char *) "6.8.0", .core = (char *) "24.04", .platform = (char *) "aarch64",
    .os = (char *) "Ubuntu", .os_version = (char *) "24.04",
    .netbird_version = (char *) "0.2.0", .ui_version = (char *) "0.2.1",
  };

  first = nb_mgmt_store_register_peer_for_user (f->store, f->account->id, f->owner->id,
                                                nb_key_get_public_base64 (key), &old_system, &error);
  g_assert_no_error (error);
  path = g_strconcat ("/api/peers/", first->id, NULL);
  before = get_object (f, path);
  g_assert_cmpstr (json_object_get_string_member (before, "kernel_version"), ==, "6.1.0");

  again = nb_mgmt_store_register_peer_for_user (f->store, f->account->id, f->owner->id,
                                                nb_key_get_public_base64 (key), &new_system, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (again->id, ==, first->id);

  after = get_object (f, path);
  g_assert_cmpstr (json_object_get_string_member (after, "hostname"), ==, "laptop-2");
  g_assert_cmpstr (json_object_get_string_member (after, "os"), ==, "Ubuntu 24.04");
  g_assert_cmpstr (json_object_get_string_member (after, "kernel_version"), ==, "6.8.0");
  g_assert_cmpstr (json_object_get_string_member (after, "version"), ==, "0.2.0");
  g_assert_cmpstr (json_object_get_string_member (after, "ui_version"), ==, "0.2.1");
  /* Its name and address are the user's, and stay. */
  g_assert_cmpstr (json_object_get_string_member (after, "name"), ==,
                   json_object_get_string_member (before, "name"));
  g_assert_cmpstr (json_object_get_string_member (after, "ip"), ==,
                   json_object_get_string_member (before, "ip"));
  /* What the REST API does not show is updated too. */
  g_assert_cmpstr (again->meta.core, ==, "24.04");
  g_assert_cmpstr (again->meta.platform, ==, "aarch64");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/mgmt/rest/peers/user-relogin-shows-new-system", Fixture, NULL, fixture_setup,
              test_user_relogin_shows_new_system, fixture_teardown);

  return g_test_run ();
}
