/* test-uapi-device.c: "set" and "get" on a real NbWgDevice, and the socket
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * The device has no TUN here: configuration needs none, so this runs
 * without privileges.
 */
#include <errno.h>
#include <string.h>
#include <glib/gstdio.h>
#include <gio/gunixsocketaddress.h>

#include "nb-wg-device-private.h"
#include "nb-wg-uapi-private.h"

#define PRIV_A "e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a"
#define PUB_B  "58402e695ba1772b1cc9309755f043251ea77fdcf10fbe63989ceb7e19321376"
#define PUB_C  "662e2f8e36f7eb2c10a4f6d2c3e1f0a8f4f1b8c8d2e4f6a8b0c2d4e6f8a0b2c4"
#define PSK    "188515093e952f5f22e865cef3012e72f8b5f0b598ac0309d5dacce3b70fcf52"

static void
assert_contains (const char *haystack, const char *needle)
{
  if (strstr (haystack, needle) == NULL)
    g_error ("“%s” not in:\n%s", needle, haystack);
}

static void
test_set_then_get (void)
{
  g_autoptr(NbWgDevice) device = nb_wg_device_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *get = NULL;

  g_assert_true (nb_wg_uapi_apply_config (device,
    "private_key=" PRIV_A "\n"
    "fwmark=7\n"
    "public_key=" PUB_B "\n"
    "preshared_key=" PSK "\n"
    "endpoint=198.18.0.2:51821\n"
    "persistent_keepalive_interval=25\n"
    "allowed_ip=100.64.0.2/32\n"
    "allowed_ip=fd00::2/128\n"
    "public_key=" PUB_C "\n"
    "endpoint=[fd00::3]:7\n"
    "allowed_ip=10.1.2.3/16\n", -1, &error));
  g_assert_no_error (error);

  get = nb_wg_uapi_get_config (device);
  g_test_message ("%s", get);
  assert_contains (get, "private_key=" PRIV_A "\n");
  assert_contains (get, "fwmark=7\n");
  assert_contains (get, "public_key=" PUB_B "\npreshared_key=" PSK "\nprotocol_version=1\n"
                        "endpoint=198.18.0.2:51821\nlast_handshake_time_sec=0\n"
                        "last_handshake_time_nsec=0\ntx_bytes=0\nrx_bytes=0\n"
                        "persistent_keepalive_interval=25\n");
  assert_contains (get, "allowed_ip=100.64.0.2/32\n");
  assert_contains (get, "allowed_ip=fd00::2/128\n");
  assert_contains (get, "public_key=" PUB_C "\npreshared_key="
                        "0000000000000000000000000000000000000000000000000000000000000000\n");
  assert_contains (get, "endpoint=[fd00::3]:7\n");
  assert_contains (get, "allowed_ip=10.1.0.0/16\n");
  g_assert_null (strstr (get, "listen_port="));
}

static void
test_bad_line_changes_nothing (void)
{
  g_autoptr(NbWgDevice) device = nb_wg_device_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;

  g_assert_true (nb_wg_uapi_apply_config (device, "private_key=" PRIV_A "\npublic_key=" PUB_B "\n"
                                          "allowed_ip=100.64.0.2/32\n", -1, &error));
  before = nb_wg_uapi_get_config (device);

  /* Good lines first, then a bad one: none of it applies. */
  g_assert_false (nb_wg_uapi_apply_config (device,
    "fwmark=9\nreplace_peers=true\npublic_key=" PUB_C "\nallowed_ip=10.0.0.0/8\n"
    "allowed_ip=300.0.0.0/8\n", -1, &error));
  g_assert_error (error, NB_WG_UAPI_ERROR, NB_WG_UAPI_ERROR_INVALID);
  g_assert_cmpint (nb_wg_uapi_error_to_errno (error), ==, -EINVAL);
  after = nb_wg_uapi_get_config (device);
  g_assert_cmpstr (before, ==, after);
}

static void
test_peer_operations (void)
{
  g_autoptr(NbWgDevice) device = nb_wg_device_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(NbKey) own = NULL;
  char own_hex[65];
  g_autofree char *set_own = NULL;
  g_autofree char *get = NULL;
  gsize len;

  g_assert_true (nb_wg_uapi_apply_config (device, "private_key=" PRIV_A "\n"
    "public_key=" PUB_B "\nallowed_ip=100.64.0.2/32\nallowed_ip=100.64.1.0/24\n", -1, &error));
  g_assert_no_error (error);

  /* update_only does not create; replace_allowed_ips replaces. */
  g_assert_true (nb_wg_uapi_apply_config (device, "public_key=" PUB_C "\nupdate_only=true\n"
    "allowed_ip=10.0.0.0/8\npublic_key=" PUB_B "\nreplace_allowed_ips=true\n"
    "allowed_ip=100.64.0.22/32\n", -1, &error));
  g_assert_no_error (error);
  get = nb_wg_uapi_get_config (device);
  g_assert_null (strstr (get, PUB_C));
  g_assert_null (strstr (get, "100.64.1.0/24"));
  assert_contains (get, "allowed_ip=100.64.0.22/32\n");
  g_clear_pointer (&get, g_free);

  /* A peer with the device's own key is ignored, as wireguard-go does. */
  own = nb_key_dup_public (nb_wg_device_get_private_key (device));
  nb_wg_uapi_format_hex_key (nb_key_get_public_data (own, &len), own_hex);
  set_own = g_strdup_printf ("public_key=%s\nallowed_ip=1.1.1.1/32\n", own_hex);
  g_assert_true (nb_wg_uapi_apply_config (device, set_own, -1, &error));
  g_assert_no_error (error);
  get = nb_wg_uapi_get_config (device);
  g_assert_null (strstr (get, own_hex));
  g_clear_pointer (&get, g_free);

  /* remove, and replace_peers. */
  g_assert_true (nb_wg_uapi_apply_config (device, "public_key=" PUB_B "\nremove=true\n"
    "public_key=" PUB_C "\n", -1, &error));
  get = nb_wg_uapi_get_config (device);
  g_assert_null (strstr (get, PUB_B));
  assert_contains (get, PUB_C);
  g_clear_pointer (&get, g_free);
  g_assert_true (nb_wg_uapi_apply_config (device, "replace_peers=true\n", -1, &error));
  get = nb_wg_uapi_get_config (device);
  g_assert_null (strstr (get, "public_key="));

  /* An all-zero private key removes it. */
  g_assert_true (nb_wg_uapi_apply_config (device, "private_key="
    "0000000000000000000000000000000000000000000000000000000000000000\n", -1, &error));
  g_assert_no_error (error);
  g_assert_null (nb_wg_device_get_private_key (device));
}

/* ---- over the socket ---- */

typedef struct
{
  char *path;
  char *request;
  char *reply;
  gboolean done;
} Exchange;

static gpointer
client_thread (gpointer data)
{
  Exchange *x = data;
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketAddress) address = g_unix_socket_address_new (x->path);
  g_autoptr(GSocketConnection) conn = NULL;
  g_autoptr(GString) reply = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  char buf[4096];
  gssize n;

  conn = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (address), NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)),
                                            x->request, strlen (x->request), NULL, NULL, &error));
  g_assert_no_error (error);
  /* Done sending: the server answers everything, then hangs up. */
  g_assert_true (g_socket_shutdown (g_socket_connection_get_socket (conn), FALSE, TRUE, &error));
  while ((n = g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (conn)),
                                   buf, sizeof buf, NULL, NULL)) > 0)
    g_string_append_len (reply, buf, n);
  x->reply = g_string_free (g_steal_pointer (&reply), FALSE);
  g_atomic_int_set (&x->done, TRUE);
  g_main_context_wakeup (NULL);
  return NULL;
}

static char *
exchange (const char *path, const char *request)
{
  Exchange x = { (char *) path, (char *) request, NULL, FALSE };
  GThread *thread = g_thread_new ("uapi-client", client_thread, &x);

  while (!g_atomic_int_get (&x.done))
    g_main_context_iteration (NULL, TRUE);
  g_thread_join (thread);
  return x.reply;
}

static void
test_socket_get_set (void)
{
  g_autoptr(NbWgDevice) device = nb_wg_device_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("nb-uapi-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "wgtest.sock", NULL);
  g_autoptr(NbWgUapiServer) server = NULL;
  g_autofree char *reply = NULL;
  GStatBuf st;

  g_assert_no_error (error);
  server = nb_wg_uapi_server_new_for_path (device, path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  reply = exchange (path, "set=1\nprivate_key=" PRIV_A "\npublic_key=" PUB_B "\n"
                          "allowed_ip=100.64.0.2/32\n\n");
  g_assert_cmpstr (reply, ==, "errno=0\n\n");
  g_clear_pointer (&reply, g_free);

  reply = exchange (path, "get=1\n\n");
  assert_contains (reply, "private_key=" PRIV_A "\n");
  assert_contains (reply, "allowed_ip=100.64.0.2/32\n");
  g_assert_true (g_str_has_suffix (reply, "\nerrno=0\n\n"));
  g_clear_pointer (&reply, g_free);

  /* Errors answer with wireguard-go's errno values. */
  reply = exchange (path, "set=1\nlisten_port=99999\n\n");
  g_assert_cmpstr (reply, ==, "errno=-22\n\n");
  g_clear_pointer (&reply, g_free);
  reply = exchange (path, "set=1\nno equals sign\n\n");
  g_assert_cmpstr (reply, ==, "errno=-71\n\n");
  g_clear_pointer (&reply, g_free);

  /* The counters, by the names tools read (tests/lib/nbt.sh). */
  reply = exchange (path, "stats=1\n\n");
  assert_contains (reply, "rx_drop_handshake=0\n");
  assert_contains (reply, "rx_drop_wrong_peer=0\n");
  g_assert_true (g_str_has_suffix (reply, "\nerrno=0\n\n"));
  g_clear_pointer (&reply, g_free);

  /* Two operations on one connection. */
  reply = exchange (path, "set=1\nfwmark=3\n\nget=1\n\n");
  assert_contains (reply, "errno=0\n\n");
  assert_contains (reply, "fwmark=3\n");
  g_clear_pointer (&reply, g_free);

  /* An unknown operation: the server hangs up without an answer. */
  reply = exchange (path, "bogus=1\n\n");
  g_assert_cmpstr (reply, ==, "");
  g_clear_pointer (&reply, g_free);

  /* A second server on the same live socket is refused. */
  {
    g_autoptr(GError) busy = NULL;
    g_autoptr(NbWgUapiServer) second = nb_wg_uapi_server_new_for_path (device, path, &busy);

    g_assert_null (second);
    g_assert_error (busy, NB_WG_UAPI_ERROR, NB_WG_UAPI_ERROR_SOCKET);
  }

  nb_wg_uapi_server_close (server);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/wg/uapi/device/set-then-get", test_set_then_get);
  g_test_add_func ("/wg/uapi/device/bad-line-changes-nothing", test_bad_line_changes_nothing);
  g_test_add_func ("/wg/uapi/device/peer-operations", test_peer_operations);
  g_test_add_func ("/wg/uapi/socket/get-set", test_socket_get_set);

  return g_test_run ();
}
