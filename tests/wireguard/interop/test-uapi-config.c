/* test-uapi-config.c: parsing the configuration protocol, without sockets
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <errno.h>
#include <string.h>

#include "nb-wg-uapi-private.h"

#define KEY_A "e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a"
#define KEY_B "58402e695ba1772b1cc9309755f043251ea77fdcf10fbe63989ceb7e19321376"

static NbWgUapiConfig *
parse (const char *text, GError **error)
{
  return nb_wg_uapi_config_parse (text, strlen (text), error);
}

static void
test_device_keys (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbWgUapiConfig) c =
    parse ("private_key=" KEY_A "\nlisten_port=51820\nfwmark=4294967295\nreplace_peers=true\n",
           &error);
  char hex[65];

  g_assert_no_error (error);
  g_assert_true (c->has_private_key);
  nb_wg_uapi_format_hex_key (c->private_key, hex);
  g_assert_cmpstr (hex, ==, KEY_A);
  g_assert_true (c->has_listen_port);
  g_assert_cmpuint (c->listen_port, ==, 51820);
  g_assert_true (c->has_fwmark);
  g_assert_cmpuint (c->fwmark, ==, G_MAXUINT32);
  g_assert_true (c->replace_peers);
  g_assert_cmpuint (c->peers->len, ==, 0);
}

static void
test_peer_keys (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbWgUapiConfig) c =
    parse ("public_key=" KEY_A "\n"
           "preshared_key=" KEY_B "\n"
           "endpoint=[fd00::2]:51821\n"
           "persistent_keepalive_interval=25\n"
           "replace_allowed_ips=true\n"
           "allowed_ip=100.64.0.2/32\n"
           "allowed_ip=fd00:1::7/64\n"
           "protocol_version=1\n"
           "public_key=" KEY_B "\n"
           "update_only=true\n"
           "endpoint=198.18.0.1:9\n"
           "public_key=" KEY_A "\n"
           "remove=true\n"
           "\n"
           "this is after the end and never read\n",
           &error);
  NbWgUapiPeerConfig *p;
  NbWgUapiAllowedIp *aip;
  g_autofree char *endpoint = NULL;
  g_autofree char *prefix = NULL;

  g_assert_no_error (error);
  g_assert_cmpuint (c->peers->len, ==, 3);

  p = g_ptr_array_index (c->peers, 0);
  g_assert_true (p->has_preshared_key);
  g_assert_true (p->has_keepalive);
  g_assert_cmpuint (p->keepalive, ==, 25);
  endpoint = nb_wg_uapi_format_endpoint (p->endpoint);
  g_assert_cmpstr (endpoint, ==, "[fd00::2]:51821");
  g_assert_cmpuint (p->allowed_ips->len, ==, 3);
  aip = &g_array_index (p->allowed_ips, NbWgUapiAllowedIp, 0);
  g_assert_cmpint (aip->op, ==, NB_WG_UAPI_ALLOWED_IP_REPLACE);
  aip = &g_array_index (p->allowed_ips, NbWgUapiAllowedIp, 2);
  g_assert_cmpint (aip->op, ==, NB_WG_UAPI_ALLOWED_IP_ADD);
  /* Host bits cleared as the kernel stores the prefix. */
  prefix = g_inet_address_mask_to_string (aip->prefix);
  g_assert_cmpstr (prefix, ==, "fd00:1::/64");

  p = g_ptr_array_index (c->peers, 1);
  g_assert_true (p->update_only);
  g_assert_false (p->remove);
  p = g_ptr_array_index (c->peers, 2);
  g_assert_true (p->remove);
}

static void
assert_rejected (const char *text, int expected_errno)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbWgUapiConfig) c = parse (text, &error);

  g_assert_null (c);
  g_assert_nonnull (error);
  g_test_message ("%s -> %s", text, error->message);
  g_assert_cmpint (nb_wg_uapi_error_to_errno (error), ==, expected_errno);
  /* The message says which line. */
  g_assert_true (g_str_has_prefix (error->message, "line "));
}

static void
test_bad_values_rejected (void)
{
  assert_rejected ("private_key=abc\n", -EINVAL);
  assert_rejected ("private_key=" KEY_A "0\n", -EINVAL);
  assert_rejected ("private_key=zz4b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a\n", -EINVAL);
  assert_rejected ("listen_port=65536\n", -EINVAL);
  assert_rejected ("listen_port=-1\n", -EINVAL);
  assert_rejected ("listen_port=\n", -EINVAL);
  assert_rejected ("fwmark=4294967296\n", -EINVAL);
  assert_rejected ("replace_peers=false\n", -EINVAL);
  assert_rejected ("no_such_key=1\n", -EINVAL);
  assert_rejected ("preshared_key=" KEY_A "\n", -EINVAL);   /* peer key before a peer */
  assert_rejected ("public_key=nothex\n", -EINVAL);
  assert_rejected ("public_key=" KEY_A "\nendpoint=1.2.3.4\n", -EINVAL);
  assert_rejected ("public_key=" KEY_A "\nendpoint=fd00::1:5\n", -EINVAL);
  assert_rejected ("public_key=" KEY_A "\nendpoint=[1.2.3.4]:5\n", -EINVAL);
  assert_rejected ("public_key=" KEY_A "\nendpoint=host.example:5\n", -EINVAL);
  assert_rejected ("public_key=" KEY_A "\nallowed_ip=10.0.0.0/33\n", -EINVAL);
  assert_rejected ("public_key=" KEY_A "\nallowed_ip=10.0.0.1\n", -EINVAL);
  assert_rejected ("public_key=" KEY_A "\nprotocol_version=2\n", -EINVAL);
  assert_rejected ("public_key=" KEY_A "\npersistent_keepalive_interval=70000\n", -EINVAL);
  assert_rejected ("public_key=" KEY_A "\nlisten_port=1\n", -EINVAL);   /* device key in a peer */
  assert_rejected ("listen_port 1\n", -EPROTO);
  assert_rejected ("public_key=" KEY_A "\ngarbage\n", -EPROTO);
}

/* Our extension for the packet filter: a mode, and rules that compile
 * while parsing, so that a bad set is refused before anything applies. */
static void
test_filter_keys (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbWgUapiConfig) c =
    parse ("filter_mode=block-inbound\nfilter_rule=in accept tcp 100.64.0.2 22\n"
           "filter_rule=out drop udp fd00::9 53-54\nlisten_port=1\n", &error);

  g_assert_no_error (error);
  g_assert_true (c->has_filter_mode);
  g_assert_cmpint (c->filter_mode, ==, NB_FILTER_MODE_BLOCK_INBOUND);
  g_assert_true (c->filter_replace_rules);
  g_assert_cmpuint (c->filter_rules->len, ==, 2);
  g_assert_nonnull (c->filter_rule_set);
  g_assert_cmpuint (nb_filter_rule_set_get_n_rules (c->filter_rule_set), ==, 2);
  g_clear_pointer (&c, nb_wg_uapi_config_free);

  /* An empty set (inbound closed) and no set (all open) are different. */
  c = parse ("filter_replace_rules=true\n", &error);
  g_assert_no_error (error);
  g_assert_nonnull (c->filter_rule_set);
  g_assert_cmpuint (nb_filter_rule_set_get_n_rules (c->filter_rule_set), ==, 0);
  g_clear_pointer (&c, nb_wg_uapi_config_free);
  c = parse ("filter_remove_rules=true\n", &error);
  g_assert_no_error (error);
  g_assert_true (c->filter_remove_rules);
  g_assert_null (c->filter_rule_set);
  g_clear_pointer (&c, nb_wg_uapi_config_free);

  assert_rejected ("filter_mode=paranoid\n", -EINVAL);
  assert_rejected ("filter_rule=in accept tcp 100.64.0.2 99999\n", -EINVAL);
  assert_rejected ("filter_rule=in accept\n", -EINVAL);
  assert_rejected ("filter_remove_rules=yes\n", -EINVAL);
  assert_rejected ("public_key=" KEY_A "\nfilter_mode=disabled\n", -EINVAL); /* in a peer */

  /* Parsed lines that do not make a rule set, or ask for two things. */
  c = parse ("filter_rule=in accept icmp 100.64.0.2 5\n", &error);
  g_assert_null (c);
  g_assert_nonnull (strstr (error->message, "ICMP has no ports"));
  g_assert_cmpint (nb_wg_uapi_error_to_errno (error), ==, -EINVAL);
  g_clear_error (&error);
  c = parse ("filter_rule=in accept icmp 100.64.0.2\nfilter_remove_rules=true\n", &error);
  g_assert_null (c);
  g_assert_cmpint (nb_wg_uapi_error_to_errno (error), ==, -EINVAL);
}

static void
test_nul_byte_rejected (void)
{
  g_autoptr(GError) error = NULL;
  static const char text[] = "listen_port=1\0junk\n";
  g_autoptr(NbWgUapiConfig) c = nb_wg_uapi_config_parse (text, sizeof text - 1, &error);

  g_assert_null (c);
  g_assert_cmpint (nb_wg_uapi_error_to_errno (error), ==, -EPROTO);
}

static void
test_empty_is_valid (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbWgUapiConfig) c = parse ("", &error);

  g_assert_no_error (error);
  g_assert_false (c->has_private_key);
  g_assert_cmpuint (c->peers->len, ==, 0);
}

static void
test_endpoint_roundtrip (void)
{
  const char *good[] = { "1.2.3.4:51820", "[fd00::1]:1", "[::]:0", "0.0.0.0:65535" };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(GInetSocketAddress) e = nb_wg_uapi_parse_endpoint (good[i]);
      g_autofree char *text = NULL;

      g_assert_nonnull (e);
      text = nb_wg_uapi_format_endpoint (e);
      g_assert_cmpstr (text, ==, good[i]);
    }
}

static void
test_random_input_never_crashes (void)
{
  static const char *pieces[] = {
    "public_key=", KEY_A, KEY_B, "=", "\n", "allowed_ip=", "10.0.0.0/8", "/", "[", "]:",
    "endpoint=", "private_key=", "listen_port=", "99999", "true", "remove=", "\0", "ff",
  };

  for (guint round = 0; round < 3000; round++)
    {
      g_autoptr(GString) s = g_string_new (NULL);
      g_autoptr(GError) error = NULL;
      NbWgUapiConfig *c;
      guint n = g_test_rand_int_range (0, 12);

      for (guint i = 0; i < n; i++)
        {
          const char *piece = pieces[g_test_rand_int_range (0, G_N_ELEMENTS (pieces))];

          g_string_append_len (s, piece, piece[0] ? (gssize) strlen (piece) : 1);
        }
      c = nb_wg_uapi_config_parse (s->str, s->len, &error);
      g_assert_true ((c == NULL) != (error == NULL));
      nb_wg_uapi_config_free (c);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/wg/uapi/config/device-keys", test_device_keys);
  g_test_add_func ("/wg/uapi/config/peer-keys", test_peer_keys);
  g_test_add_func ("/wg/uapi/config/bad-values-rejected", test_bad_values_rejected);
  g_test_add_func ("/wg/uapi/config/filter-keys", test_filter_keys);
  g_test_add_func ("/wg/uapi/config/nul-byte-rejected", test_nul_byte_rejected);
  g_test_add_func ("/wg/uapi/config/empty-is-valid", test_empty_is_valid);
  g_test_add_func ("/wg/uapi/config/endpoint-roundtrip", test_endpoint_roundtrip);
  g_test_add_func ("/wg/uapi/config/random-input-never-crashes", test_random_input_never_crashes);

  return g_test_run ();
}
