/* test-client.c: NbClient in process, without a network
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * The configuration and key files (round trip, file modes, bad input), and
 * the errors a client gets from a Management that is not there. The
 * clients on a network are test-client-network.c's.
 */
#include <string.h>
#include <glib/gstdio.h>

#include <netbird.h>

#include "client-test-net.h"

/* -- in process: configuration ----------------------------------------------- */

static void
test_config_round_trip (void)
{
  g_autofree char *dir = tmp_dir ();
  g_autofree char *conf_dir = g_build_filename (dir, "etc", "netbird", NULL);
  g_autofree char *path = g_build_filename (conf_dir, "config.json", NULL);
  g_autofree char *key_path = g_build_filename (conf_dir, "config.key", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(NbClient) client = NULL;
  g_autoptr(NbClient) again = NULL;
  g_autofree char *public_key = NULL;
  g_autofree char *text = NULL;

  client = nb_client_new (path, &error);
  g_assert_no_error (error);
  /* Defaults, written at once with the modes a secret needs. */
  g_assert_cmpstr (nb_client_get_interface_name (client), ==, "wt0");
  g_assert_cmpuint (nb_client_get_wireguard_port (client), ==, 51820);
  g_assert_cmpint (nb_client_get_state (client), ==, NB_CLIENT_STATE_DOWN);
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
  g_assert_cmphex (file_mode (path), ==, 0600);
  g_assert_cmphex (file_mode (conf_dir), ==, 0700);
  g_assert_cmphex (file_mode (key_path), ==, 0600);
  public_key = g_strdup (nb_client_get_public_key (client));
  g_assert_cmpuint (strlen (public_key), ==, 44);

  g_assert_true (nb_client_set_management_url (client, "https://mgmt.example:33073/", &error));
  g_assert_cmpstr (nb_client_get_management_url (client), ==, "https://mgmt.example:33073");
  nb_client_set_hostname (client, "laptop");
  g_assert_true (nb_client_set_interface_name (client, "nbtest0", &error));
  nb_client_set_wireguard_port (client, 0);
  nb_client_set_block_inbound (client, TRUE);
  g_assert_true (nb_client_set_preshared_key (client,
                                              "FpCyhws9cxwWoV4xELtfJvjJN+zQVRPISllRWgeopVE=",
                                              &error));
  g_assert_true (nb_client_save_config (client, &error));
  g_assert_no_error (error);
  g_assert_cmphex (file_mode (path), ==, 0600);

  /* Bad settings are refused, and change nothing. */
  g_assert_false (nb_client_set_management_url (client, "ftp://x", &error));
  g_assert_error (error, NB_CLIENT_ERROR, NB_CLIENT_ERROR_CONFIG);
  g_clear_error (&error);
  g_assert_false (nb_client_set_interface_name (client, "a/b", &error));
  g_assert_error (error, NB_CLIENT_ERROR, NB_CLIENT_ERROR_CONFIG);
  g_clear_error (&error);
  g_assert_false (nb_client_set_preshared_key (client, "short", &error));
  g_assert_error (error, NB_CLIENT_ERROR, NB_CLIENT_ERROR_CONFIG);
  g_clear_error (&error);
  g_clear_object (&client);

  /* A restarted client: the same settings and the same key. */
  again = nb_client_new (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (nb_client_get_public_key (again), ==, public_key);
  g_assert_cmpstr (nb_client_get_management_url (again), ==, "https://mgmt.example:33073");
  g_assert_cmpstr (nb_client_get_hostname (again), ==, "laptop");
  g_assert_cmpstr (nb_client_get_interface_name (again), ==, "nbtest0");
  g_assert_cmpuint (nb_client_get_wireguard_port (again), ==, 0);
  g_assert_true (nb_client_get_block_inbound (again));
  g_assert_false (nb_client_get_disable_firewall (again));
  g_clear_object (&again);

  /* The key file is a name beside the configuration. */
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "\"private_key_file\" : \"config.key\""));
  g_clear_pointer (&text, g_free);

  /* A key others can read is taken as leaked. */
  g_assert_cmpint (g_chmod (key_path, 0644), ==, 0);
  again = nb_client_new (path, &error);
  g_assert_null (again);
  g_assert_error (error, NB_CLIENT_ERROR, NB_CLIENT_ERROR_CONFIG);
  g_clear_error (&error);
  g_assert_cmpint (g_chmod (key_path, 0600), ==, 0);

  /* Not JSON, or a member of the wrong type: an error that says where. */
  g_assert_true (g_file_set_contents (path, "{\"wireguard_port\": \"x\"}", -1, NULL));
  again = nb_client_new (path, &error);
  g_assert_null (again);
  g_assert_error (error, NB_CLIENT_ERROR, NB_CLIENT_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "wireguard_port"));
  g_clear_error (&error);
  g_assert_true (g_file_set_contents (path, "not json", -1, NULL));
  again = nb_client_new (path, &error);
  g_assert_null (again);
  g_assert_error (error, NB_CLIENT_ERROR, NB_CLIENT_ERROR_CONFIG);
  g_clear_error (&error);

  rm_rf (dir);
}

/* -- in process: a Management that is not there ------------------------------ */

static void
on_async (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static GAsyncResult *
wait_async (GAsyncResult **slot,
            guint          timeout_s)
{
  gint64 until = g_get_monotonic_time () + timeout_s * G_USEC_PER_SEC;

  while (*slot == NULL && g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (*slot);
  return *slot;
}

static void
test_unreachable (void)
{
  g_autofree char *dir = tmp_dir ();
  g_autofree char *path = g_build_filename (dir, "config.json", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(NbClient) client = nb_client_new (path, &error);
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) any = NULL;
  g_autoptr(GInetSocketAddress) bound = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autofree char *url = NULL;
  g_autofree char *text = NULL;

  g_assert_no_error (error);
  /* A port nobody listens on: bound, never listening. */
  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                         &error);
  g_assert_no_error (error);
  any = g_inet_socket_address_new_from_string ("127.0.0.1", 0);
  g_assert_true (g_socket_bind (socket, any, FALSE, &error));
  bound = G_INET_SOCKET_ADDRESS (g_socket_get_local_address (socket, &error));
  url = g_strdup_printf ("http://127.0.0.1:%u", g_inet_socket_address_get_port (bound));
  g_assert_true (nb_client_set_management_url (client, url, &error));

  nb_client_up_async (client, "A-SETUP-KEY-THAT-IS-NOT-SAVED", NULL, on_async, &result);
  g_assert_cmpint (nb_client_get_state (client), ==, NB_CLIENT_STATE_CONNECTING);
  g_assert_false (nb_client_up_finish (client, wait_async (&result, 20), &error));
  g_assert_error (error, NB_CLIENT_ERROR, NB_CLIENT_ERROR_MANAGEMENT_UNREACHABLE);
  g_assert_nonnull (strstr (error->message, url));
  g_test_message ("unreachable: %s", error->message);
  g_clear_error (&error);
  g_assert_cmpint (nb_client_get_state (client), ==, NB_CLIENT_STATE_DOWN);
  g_assert_false (nb_client_get_management_connected (client));
  g_assert_nonnull (nb_client_get_management_error (client));

  /* The setup key is a credential: never written. */
  g_assert_true (nb_client_save_config (client, &error));
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_null (strstr (text, "A-SETUP-KEY"));
  rm_rf (dir);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/client/config/round-trip", test_config_round_trip);
  g_test_add_func ("/client/up/management-unreachable", test_unreachable);
  return g_test_run ();
}
