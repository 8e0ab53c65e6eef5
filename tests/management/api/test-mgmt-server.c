/* test-mgmt-server.c: NbManagementServer in process, over real HTTP and WebSocket
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * The same checks as the Python tests of the daemon, in C, so that they
 * also run in the sanitizer build (which has no typelib).
 */
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include "nb-key.h"
#include "nb-envelope.h"
#include "nb-management-server.h"
#include "nb-mgmt-proto-private.h"
#include "nb-mgmt-client.h"

typedef struct
{
  char *dir;
  NbManagementServer *server;
  SoupSession *session;
  char *url;
  char *setup_key;
  char *admin_token;
} Fixture;

static char *
read_credential (const char *path,
                 const char *name)
{
  g_autofree char *contents = NULL;
  g_autofree char *needle = g_strdup_printf ("\"%s\": \"", name);
  const char *start, *end;

  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  start = strstr (contents, needle);
  g_assert_nonnull (start);
  start += strlen (needle);
  end = strchr (start, '"');
  g_assert_nonnull (end);
  return g_strndup (start, end - start);
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *creds = NULL;

  f->dir = g_dir_make_tmp ("nb-mgmt-server-XXXXXX", &error);
  g_assert_no_error (error);
  f->server = nb_management_server_new (f->dir, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f->server);
  g_assert_true (nb_management_server_listen (f->server, "127.0.0.1:0", &error));
  g_assert_no_error (error);
  f->url = g_strdup_printf ("http://127.0.0.1:%u", nb_management_server_get_port (f->server));
  f->session = soup_session_new ();

  creds = g_build_filename (f->dir, NB_MANAGEMENT_SERVER_CREDENTIALS_FILE, NULL);
  f->setup_key = read_credential (creds, "setup_key");
  f->admin_token = read_credential (creds, "admin_token");
}

static void
rm_rf (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      g_unlink (child);
    }
  g_rmdir (path);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_clear_object (&f->session);
  g_clear_object (&f->server);
  rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->url);
  g_free (f->setup_key);
  g_free (f->admin_token);
}

/* ---- HTTP ---- */

static void
store_result (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static GBytes *
send (Fixture    *f,
      const char *method,
      const char *path,
      GBytes     *body,
      guint      *status)
{
  g_autofree char *url = g_strconcat (f->url, path, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new (method, url);
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  GBytes *reply;

  /* The server runs on this thread's main context: requests are async and
   * the context turns until the answer is in. */
  if (body != NULL)
    soup_message_set_request_body_from_bytes (msg, "application/octet-stream", body);
  soup_session_send_and_read_async (f->session, msg, G_PRIORITY_DEFAULT, NULL, store_result,
                                    &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  reply = soup_session_send_and_read_finish (f->session, result, &error);
  g_assert_no_error (error);
  *status = soup_message_get_status (msg);
  return reply;
}

static NbKey *
server_key (Fixture *f)
{
  guint status = 0;
  g_autoptr(GBytes) body = send (f, "GET", "/management/v1/server-key", NULL, &status);
  g_autoptr(NbMgmtMsgServerKeyResponse) response = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (status, ==, 200);
  response = nb_mgmt_msg_server_key_response_from_bytes (body, &error);
  g_assert_no_error (error);
  return nb_key_new_public_from_base64 (response->key, &error);
}

static GBytes *
seal_text (NbKey      *from,
           NbKey      *to,
           const char *text)
{
  g_autoptr(GBytes) plain = g_bytes_new (text, strlen (text));
  g_autoptr(GError) error = NULL;
  GBytes *sealed = nb_envelope_seal (from, to, plain, &error);

  g_assert_no_error (error);
  return sealed;
}

/* Logs @peer in; returns the login response, or NULL with @status set. */
static NbMgmtMsgLoginResponse *
login (Fixture    *f,
       NbKey      *peer,
       const char *hostname,
       const char *setup_key,
       guint      *status)
{
  g_autoptr(NbKey) skey = server_key (f);
  g_autofree char *body = NULL;
  g_autoptr(GBytes) sealed = NULL;
  g_autoptr(GBytes) reply = NULL;
  g_autoptr(GBytes) plain = NULL;
  g_autoptr(GError) error = NULL;
  guint local_status = 0;

  g_autofree char *nonce = g_uuid_string_random ();
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  body = setup_key != NULL
           ? g_strdup_printf ("{\"setup_key\":\"%s\",\"meta\":{\"hostname\":\"%s\"},"
                              "\"timestamp\":%" G_GINT64_FORMAT ",\"nonce\":\"%s\"}",
                              setup_key, hostname, now, nonce)
           : g_strdup_printf ("{\"meta\":{\"hostname\":\"%s\"},\"timestamp\":%"
                              G_GINT64_FORMAT ",\"nonce\":\"%s\"}", hostname, now, nonce);
  sealed = seal_text (peer, skey, body);
  reply = send (f, "POST", "/management/v1/login", sealed, status ? status : &local_status);
  if ((status ? *status : local_status) != 200)
    return NULL;
  plain = nb_envelope_open (peer, reply, NULL, &error);
  g_assert_no_error (error);
  return nb_mgmt_msg_login_response_from_bytes (plain, &error);
}

/* ---- WebSocket ---- */

typedef struct
{
  SoupWebsocketConnection *ws;
  NbKey *key;
  GPtrArray *maps;     /* NbMgmtMsgSyncResponse */
  gushort close_code;
  gboolean closed;
} Channel;

static void
on_message (SoupWebsocketConnection *ws,
            gint                     type,
            GBytes                  *message,
            Channel                 *ch)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) plain = nb_envelope_open (ch->key, message, NULL, &error);
  NbMgmtMsgSyncResponse *response;

  g_assert_no_error (error);
  response = nb_mgmt_msg_sync_response_from_bytes (plain, &error);
  g_assert_no_error (error);
  g_ptr_array_add (ch->maps, response);
}

static void
on_closed (SoupWebsocketConnection *ws,
           Channel                 *ch)
{
  ch->closed = TRUE;
  ch->close_code = soup_websocket_connection_get_close_code (ws);
}

static void
on_connected (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Channel *ch = user_data;
  g_autoptr(GError) error = NULL;

  ch->ws = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  g_assert_no_error (error);
}

static Channel *
channel_open (Fixture *f,
              NbKey   *key,
              GBytes  *first_message)
{
  Channel *ch = g_new0 (Channel, 1);
  g_autofree char *url = g_strdup_printf ("ws://127.0.0.1:%u/management/v1/sync",
                                          nb_management_server_get_port (f->server));
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", url);
  gsize len = 0;
  gconstpointer data;

  ch->key = g_object_ref (key);
  ch->maps = g_ptr_array_new_with_free_func ((GDestroyNotify) nb_mgmt_msg_sync_response_free);
  soup_session_websocket_connect_async (f->session, msg, NULL, NULL, G_PRIORITY_DEFAULT, NULL,
                                        on_connected, ch);
  while (ch->ws == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_signal_connect (ch->ws, "message", G_CALLBACK (on_message), ch);
  g_signal_connect (ch->ws, "closed", G_CALLBACK (on_closed), ch);
  data = g_bytes_get_data (first_message, &len);
  soup_websocket_connection_send_binary (ch->ws, data, len);
  return ch;
}

static void
channel_free (Channel *ch)
{
  if (soup_websocket_connection_get_state (ch->ws) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (ch->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  g_signal_handlers_disconnect_by_data (ch->ws, ch);
  g_object_unref (ch->ws);
  g_object_unref (ch->key);
  g_ptr_array_unref (ch->maps);
  g_free (ch);
}

static gboolean
timed_out (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the loop until @ch has @n maps or is closed, at most @seconds. */
static void
channel_wait (Channel *ch,
              guint    n,
              double   seconds)
{
  gboolean expired = FALSE;
  guint source = g_timeout_add ((guint) (seconds * 1000), timed_out, &expired);

  while (!expired && !ch->closed && ch->maps->len < n)
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (source);
}

static NbMgmtMsgNetworkMap *
last_map (Channel *ch)
{
  g_assert_cmpuint (ch->maps->len, >, 0);
  return ((NbMgmtMsgSyncResponse *) g_ptr_array_index (ch->maps, ch->maps->len - 1))->network_map;
}

static Channel *
sync_peer (Fixture *f,
           NbKey   *key)
{
  g_autoptr(NbKey) skey = server_key (f);
  g_autoptr(GBytes) request = seal_text (key, skey, "{\"meta\":{\"hostname\":\"x\"}}");

  return channel_open (f, key, request);
}

/* ---- tests ---- */

static void
test_bootstrap_credentials (Fixture       *f,
                            gconstpointer  data)
{
  g_autofree char *path = g_build_filename (f->dir, NB_MANAGEMENT_SERVER_CREDENTIALS_FILE, NULL);
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autoptr(NbManagementServer) again = NULL;
  g_autoptr(GError) error = NULL;
  struct stat st;

  g_assert_cmpstr (nb_management_server_get_credentials_file (f->server), ==, path);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_true (g_str_has_prefix (f->admin_token, "nbp_"));
  g_assert_cmpuint (strlen (f->admin_token), ==, 40);

  /* A second server over the same directory creates nothing new. */
  g_assert_true (g_file_get_contents (path, &before, NULL, NULL));
  nb_management_server_stop (f->server);
  g_clear_object (&f->server);
  again = nb_management_server_new (f->dir, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (nb_management_server_get_credentials_file (again));
  g_assert_true (g_file_get_contents (path, &after, NULL, NULL));
  g_assert_cmpstr (before, ==, after);
  f->server = g_steal_pointer (&again);
}

static void
test_register_and_relogin (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(NbKey) peer = nb_key_generate ();
  g_autoptr(NbMgmtMsgLoginResponse) first = login (f, peer, "alpha", f->setup_key, NULL);
  g_autoptr(NbMgmtMsgLoginResponse) again = NULL;

  g_assert_nonnull (first);
  g_assert_true (g_str_has_prefix (first->peer_config->address, "100."));
  g_assert_cmpstr (first->peer_config->fqdn, ==, "alpha.netbird.cloud");
  again = login (f, peer, "alpha", NULL, NULL);
  g_assert_nonnull (again);
  g_assert_cmpstr (again->peer_config->address, ==, first->peer_config->address);
  g_assert_cmpstr (again->peer_config->fqdn, ==, first->peer_config->fqdn);
}

static void
test_login_refusals (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(NbKey) peer = nb_key_generate ();
  g_autoptr(NbKey) other = nb_key_generate ();
  g_autoptr(GBytes) unsealed = g_bytes_new_static ("{}", 2);
  g_autoptr(GBytes) misaddressed = seal_text (peer, other, "{\"meta\":{\"hostname\":\"a\"}}");
  g_autoptr(GBytes) reply = NULL;
  g_autoptr(GBytes) reply2 = NULL;
  guint status = 0;

  g_assert_null (login (f, peer, "a", NULL, &status));
  g_assert_cmpuint (status, ==, 401);
  g_assert_null (login (f, peer, "a", "not-a-key", &status));
  g_assert_cmpuint (status, ==, 401);
  reply = send (f, "POST", "/management/v1/login", unsealed, &status);
  g_assert_cmpuint (status, ==, 400);
  g_assert_nonnull (strstr (g_bytes_get_data (reply, NULL), "not_sealed"));
  reply2 = send (f, "POST", "/management/v1/login", misaddressed, &status);
  g_assert_cmpuint (status, ==, 400);
  g_assert_nonnull (strstr (g_bytes_get_data (reply2, NULL), "wrong_recipient"));
}

static void
test_sync_map_and_join (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(NbKey) a = nb_key_generate ();
  g_autoptr(NbKey) b = nb_key_generate ();
  g_autoptr(NbMgmtMsgLoginResponse) la = login (f, a, "a", f->setup_key, NULL);
  g_autoptr(NbMgmtMsgLoginResponse) lb = NULL;
  Channel *ca;
  NbMgmtMsgNetworkMap *map;
  gint64 start;

  ca = sync_peer (f, a);
  channel_wait (ca, 1, 5);
  g_assert_false (ca->closed);
  map = last_map (ca);
  g_assert_cmpstr (map->peer_config->address, ==, la->peer_config->address);
  g_assert_cmpuint (map->remote_peers->len, ==, 0);
  g_assert_cmpuint (nb_management_server_get_n_sync_channels (f->server), ==, 1);

  /* A joining peer reaches the connected one within a second. */
  start = g_get_monotonic_time ();
  lb = login (f, b, "b", f->setup_key, NULL);
  g_assert_nonnull (lb);
  channel_wait (ca, 2, 2);
  g_assert_cmpuint (ca->maps->len, ==, 2);
  g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC);
  map = last_map (ca);
  g_assert_cmpuint (map->remote_peers->len, ==, 1);
  g_assert_cmpstr (((NbMgmtMsgRemotePeer *) g_ptr_array_index (map->remote_peers, 0))->wg_pub_key,
                   ==, nb_key_get_public_base64 (b));
  channel_free (ca);
}

static void
test_sync_refusals (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(NbKey) a = nb_key_generate ();
  g_autoptr(NbKey) stranger = nb_key_generate ();
  g_autoptr(NbMgmtMsgLoginResponse) la = login (f, a, "a", f->setup_key, NULL);
  g_autoptr(GBytes) garbage = g_bytes_new_static ("garbage", 7);
  Channel *ch;

  ch = channel_open (f, a, garbage);
  channel_wait (ch, 1, 5);
  g_assert_true (ch->closed);
  g_assert_cmpuint (ch->close_code, ==, 4000);
  g_assert_cmpuint (ch->maps->len, ==, 0);
  channel_free (ch);

  ch = sync_peer (f, stranger);
  channel_wait (ch, 1, 5);
  g_assert_true (ch->closed);
  g_assert_cmpuint (ch->close_code, ==, 4004);
  channel_free (ch);

  g_assert_cmpuint (nb_management_server_get_n_sync_channels (f->server), ==, 0);
}

static void
test_listen_bad_address (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(NbManagementServer) other = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_build_filename (f->dir, "other", NULL);

  other = nb_management_server_new (dir, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (nb_management_server_listen (other, "not an address", &error));
  g_assert_error (error, NB_MANAGEMENT_SERVER_ERROR, NB_MANAGEMENT_SERVER_ERROR_LISTEN);
  g_clear_error (&error);
  g_assert_false (nb_management_server_listen (other, f->url + 7, &error));
  g_assert_error (error, NB_MANAGEMENT_SERVER_ERROR, NB_MANAGEMENT_SERVER_ERROR_LISTEN);
  g_clear_object (&other);
  rm_rf (dir);
}

static void
test_bad_config (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("nb-mgmt-config-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "config.json", NULL);
  g_autoptr(NbManagementServer) server = NULL;

  g_assert_true (g_file_set_contents (path, "{\"turn\":{\"uris\":[\"turn:t:3478\"]}}", -1, NULL));
  server = nb_management_server_new (dir, path, &error);
  g_assert_null (server);
  g_assert_error (error, NB_MANAGEMENT_SERVER_ERROR, NB_MANAGEMENT_SERVER_ERROR_INVALID_CONFIG);
  g_assert_nonnull (strstr (error->message, "turn.secret"));
  g_clear_error (&error);

  g_assert_true (g_file_set_contents (path, "{\"stuns\":\"stun:x\"}", -1, NULL));
  server = nb_management_server_new (dir, path, &error);
  g_assert_null (server);
  g_assert_error (error, NB_MANAGEMENT_SERVER_ERROR, NB_MANAGEMENT_SERVER_ERROR_INVALID_CONFIG);
  g_assert_nonnull (strstr (error->message, "stuns"));

  g_unlink (path);
  g_rmdir (dir);
}

/* The construct properties the daemon's --signal-url, --stun-url,
 * --turn-url and --turn-secret[-file] set: over the file's, read back as
 * in use, checked with an error of their own. */
static void
test_service_properties (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("nb-mgmt-services-XXXXXX", NULL);
  g_autofree char *data = g_build_filename (dir, "data", NULL);
  g_autofree char *path = g_build_filename (dir, "config.json", NULL);
  g_autoptr(NbManagementServer) server = NULL;
  const char *stuns[] = { "stun:a.example:3478", "stun:b.example", NULL };
  const char *turns[] = { "turns:t.example:5349?transport=tcp", NULL };
  const char *bad_stun[] = { "stuns:a.example:3478", NULL };
  const char *bad_turn[] = { "turn:t.example:0", NULL };
  g_autofree char *signal_uri = NULL;
  g_auto(GStrv) got_stuns = NULL;
  g_auto(GStrv) got_turns = NULL;

  /* The file lists TURN servers without a secret; the property gives it. */
  g_assert_true (g_file_set_contents (path,
                                      "{\"stuns\":[\"stun:file.example:3478\"],"
                                      "\"signal\":{\"uri\":\"https://file.example\"},"
                                      "\"turn\":{\"uris\":[\"turn:file.example:3478\"]}}",
                                      -1, NULL));
  server = g_initable_new (NB_TYPE_MANAGEMENT_SERVER, NULL, &error,
                           "data-dir", data, "config-file", path,
                           "stun-uris", stuns, "turn-secret", "s3cret", NULL);
  g_assert_no_error (error);
  g_object_get (server, "signal-uri", &signal_uri, "stun-uris", &got_stuns,
                "turn-uris", &got_turns, NULL);
  g_assert_cmpstr (signal_uri, ==, "https://file.example");
  g_assert_cmpstrv (got_stuns, stuns);
  g_assert_cmpuint (g_strv_length (got_turns), ==, 1);
  g_assert_cmpstr (got_turns[0], ==, "turn:file.example:3478");
  g_clear_object (&server);
  g_clear_pointer (&signal_uri, g_free);
  g_clear_pointer (&got_turns, g_strfreev);

  server = g_initable_new (NB_TYPE_MANAGEMENT_SERVER, NULL, &error,
                           "data-dir", data, "config-file", path,
                           "signal-uri", "wss://signal.example:10000",
                           "turn-uris", turns, "turn-secret", "s3cret", NULL);
  g_assert_no_error (error);
  g_object_get (server, "signal-uri", &signal_uri, "turn-uris", &got_turns, NULL);
  g_assert_cmpstr (signal_uri, ==, "wss://signal.example:10000");
  g_assert_cmpstrv (got_turns, turns);
  g_clear_object (&server);

  /* Bad ones, and TURN without any secret: refused as arguments. */
  server = g_initable_new (NB_TYPE_MANAGEMENT_SERVER, NULL, &error,
                           "data-dir", data, "stun-uris", bad_stun, NULL);
  g_assert_null (server);
  g_assert_error (error, NB_MANAGEMENT_SERVER_ERROR, NB_MANAGEMENT_SERVER_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "stuns:a.example:3478"));
  g_clear_error (&error);
  server = g_initable_new (NB_TYPE_MANAGEMENT_SERVER, NULL, &error,
                           "data-dir", data, "turn-uris", bad_turn, "turn-secret", "x", NULL);
  g_assert_null (server);
  g_assert_error (error, NB_MANAGEMENT_SERVER_ERROR, NB_MANAGEMENT_SERVER_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  server = g_initable_new (NB_TYPE_MANAGEMENT_SERVER, NULL, &error,
                           "data-dir", data, "turn-uris", turns, NULL);
  g_assert_null (server);
  g_assert_error (error, NB_MANAGEMENT_SERVER_ERROR, NB_MANAGEMENT_SERVER_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  server = g_initable_new (NB_TYPE_MANAGEMENT_SERVER, NULL, &error,
                           "data-dir", data, "signal-uri", "signal.example:https", NULL);
  g_assert_null (server);
  g_assert_error (error, NB_MANAGEMENT_SERVER_ERROR, NB_MANAGEMENT_SERVER_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* A bad URI in the file is the file's error. */
  g_assert_true (g_file_set_contents (path, "{\"stuns\":[\"turn:x.example:3478\"]}", -1, NULL));
  server = nb_management_server_new (data, path, &error);
  g_assert_null (server);
  g_assert_error (error, NB_MANAGEMENT_SERVER_ERROR, NB_MANAGEMENT_SERVER_ERROR_INVALID_CONFIG);
  g_assert_nonnull (strstr (error->message, "is not a STUN server URI"));

  rm_rf (dir);
}

static void
on_async_done (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static GAsyncResult *
wait_result (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *slot;
}

static void
on_client_map (NbMgmtClient          *client,
               NbMgmtMsgSyncResponse *response,
               guint                 *n_maps)
{
  (*n_maps)++;
}

static void
test_client_login_and_sync (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(NbKey) key = nb_key_generate ();
  g_autoptr(NbKey) other = nb_key_generate ();
  g_autoptr(NbMgmtClient) client = nb_mgmt_client_new (f->url, key);
  g_autoptr(NbMgmtMsgPeerMeta) meta = nb_mgmt_msg_peer_meta_new ();
  g_autoptr(NbMgmtMsgLoginResponse) response = NULL;
  g_autoptr(NbMgmtMsgLoginResponse) other_response = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  guint n_maps = 0;

  meta->hostname = g_strdup ("client");

  /* Unknown key without a setup key: not registered. */
  nb_mgmt_client_login_async (client, NULL, meta, NULL, on_async_done, &result);
  response = nb_mgmt_client_login_finish (client, wait_result (&result), &error);
  g_assert_null (response);
  g_assert_error (error, NB_MGMT_CLIENT_ERROR, NB_MGMT_CLIENT_ERROR_NOT_REGISTERED);
  g_clear_error (&error);
  g_clear_object (&result);

  nb_mgmt_client_login_async (client, f->setup_key, meta, NULL, on_async_done, &result);
  response = nb_mgmt_client_login_finish (client, wait_result (&result), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (response->peer_config->fqdn, ==, "client.netbird.cloud");
  g_clear_object (&result);

  g_signal_connect (client, "network-map", G_CALLBACK (on_client_map), &n_maps);
  nb_mgmt_client_sync_async (client, meta, NULL, on_async_done, &result);
  g_assert_true (nb_mgmt_client_sync_finish (client, wait_result (&result), &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n_maps, ==, 1);

  /* Another peer joins: the client hears of it. */
  other_response = login (f, other, "other", f->setup_key, NULL);
  g_assert_nonnull (other_response);
  while (n_maps < 2)
    g_main_context_iteration (NULL, TRUE);
  nb_mgmt_client_close (client);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, fn) \
  g_test_add ("/management/server/" name, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("bootstrap-credentials", test_bootstrap_credentials);
  ADD ("register-and-relogin", test_register_and_relogin);
  ADD ("login-refusals", test_login_refusals);
  ADD ("sync-map-and-join", test_sync_map_and_join);
  ADD ("sync-refusals", test_sync_refusals);
  ADD ("listen-bad-address", test_listen_bad_address);
  g_test_add ("/management/client/login-and-sync", Fixture, NULL, fixture_setup,
              test_client_login_and_sync, fixture_teardown);
#undef ADD
  g_test_add_func ("/management/server/bad-config", test_bad_config);
  g_test_add_func ("/management/server/service-properties", test_service_properties);

  return g_test_run ();
}
