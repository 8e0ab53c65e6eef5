/* test-key.c: NbKey
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <sys/stat.h>
#include <string.h>
#include <glib/gstdio.h>
#include <gio/gio.h>

#include "netbird.h"

/* RFC 7748 §6.1: Alice's key pair. */
static const guint8 rfc7748_private[32] = {
  0x77, 0x07, 0x6d, 0x0a, 0x73, 0x18, 0xa5, 0x7d, 0x3c, 0x16, 0xc1, 0x72, 0x51, 0xb2, 0x66, 0x45,
  0xdf, 0x4c, 0x2f, 0x87, 0xeb, 0xc0, 0x99, 0x2a, 0xb1, 0x77, 0xfb, 0xa5, 0x1d, 0xb9, 0x2c, 0x2a,
};
static const guint8 rfc7748_public[32] = {
  0x85, 0x20, 0xf0, 0x09, 0x89, 0x30, 0xa7, 0x54, 0x74, 0x8b, 0x7d, 0xdc, 0xb4, 0x3e, 0xf7, 0x5a,
  0x0d, 0xbf, 0x3a, 0x0d, 0x26, 0x38, 0x1a, 0xf4, 0xeb, 0xa4, 0xa9, 0x8e, 0xaa, 0x9b, 0x4e, 0x6a,
};

static void
test_rfc7748_known_answer (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbKey) key = nb_key_new_from_data (rfc7748_private, 32, &error);
  g_autofree char *expected = g_base64_encode (rfc7748_public, 32);
  gsize len = 0;

  g_assert_no_error (error);
  g_assert_true (nb_key_has_private (key));
  g_assert_cmpmem (nb_key_get_public_data (key, &len), len, rfc7748_public, 32);
  g_assert_cmpstr (nb_key_get_public_base64 (key), ==, expected);
}

static void
test_generate_clamped_and_unique (void)
{
  g_autoptr(NbKey) a = nb_key_generate ();
  g_autoptr(NbKey) b = nb_key_generate ();
  g_autofree char *text = nb_key_dup_private_base64 (a, NULL);
  g_autofree guint8 *raw = NULL;
  gsize raw_len = 0;

  g_assert_cmpuint (strlen (text), ==, NB_KEY_BASE64_LEN);
  raw = g_base64_decode (text, &raw_len);
  g_assert_cmpuint (raw_len, ==, 32);
  /* Clamped as wg genkey clamps (RFC 7748 §5). */
  g_assert_cmpuint (raw[0] & 7, ==, 0);
  g_assert_cmpuint (raw[31] & 128, ==, 0);
  g_assert_cmpuint (raw[31] & 64, ==, 64);

  g_assert_false (nb_key_equal (a, b));
}

static void
test_base64_roundtrip (void)
{
  g_autoptr(NbKey) key = nb_key_generate ();
  g_autofree char *text = nb_key_dup_private_base64 (key, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(NbKey) again = nb_key_new_from_base64 (text, &error);
  g_autofree char *text_again = NULL;
  g_autoptr(NbKey) pub = NULL;

  g_assert_no_error (error);
  text_again = nb_key_dup_private_base64 (again, NULL);
  g_assert_cmpstr (text, ==, text_again);
  g_assert_true (nb_key_equal (key, again));

  pub = nb_key_new_public_from_base64 (nb_key_get_public_base64 (key), &error);
  g_assert_no_error (error);
  g_assert_false (nb_key_has_private (pub));
  g_assert_true (nb_key_equal (key, pub));
  g_assert_cmpuint (nb_key_hash (key), ==, nb_key_hash (pub));
}

static void
test_base64_invalid (void)
{
  const char *bad[] = {
    "",
    "abc",
    "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk",    /* 43 characters */
    "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk==",  /* 45 characters */
    "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBm!=",   /* not base64 */
    "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fB===",   /* 31 bytes */
    " Anz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=",   /* white space inside */
    "yAnz5TF+lXXJte14tji3z\354MNq+hd2rYUIgJBgB3fBmk=", /* byte outside the alphabet */
    "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmn=",   /* non-canonical last character */
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(NbKey) key = nb_key_new_from_base64 (bad[i], &error);
      g_autoptr(GError) error2 = NULL;
      g_autoptr(NbKey) key2 = nb_key_new_public_from_base64 (bad[i], &error2);

      g_assert_null (key);
      g_assert_error (error, NB_KEY_ERROR, NB_KEY_ERROR_INVALID_BASE64);
      g_assert_null (key2);
      g_assert_error (error2, NB_KEY_ERROR, NB_KEY_ERROR_INVALID_BASE64);
    }
}

static void
test_data_invalid_length (void)
{
  guint8 data[33] = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) error2 = NULL;

  g_assert_null (nb_key_new_from_data (data, 31, &error));
  g_assert_error (error, NB_KEY_ERROR, NB_KEY_ERROR_INVALID_LENGTH);
  g_assert_null (nb_key_new_public_from_data (data, 33, &error2));
  g_assert_error (error2, NB_KEY_ERROR, NB_KEY_ERROR_INVALID_LENGTH);
}

static void
test_public_only (void)
{
  g_autoptr(NbKey) key = nb_key_generate ();
  g_autoptr(NbKey) pub = nb_key_dup_public (key);
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *property = NULL;

  g_assert_false (nb_key_has_private (pub));
  g_assert_true (nb_key_equal (key, pub));
  text = nb_key_dup_private_base64 (pub, &error);
  g_assert_null (text);
  g_assert_error (error, NB_KEY_ERROR, NB_KEY_ERROR_NO_PRIVATE_KEY);

  g_object_get (pub, "public-key", &property, NULL);
  g_assert_cmpstr (property, ==, nb_key_get_public_base64 (key));
}

static void
test_file_roundtrip (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("nb-key-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "private.key", NULL);
  g_autoptr(NbKey) key = nb_key_generate ();
  g_autoptr(NbKey) loaded = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *text = nb_key_dup_private_base64 (key, NULL);
  struct stat st;

  g_assert_no_error (error);
  g_assert_true (nb_key_save_to_file (key, path, &error));
  g_assert_no_error (error);

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_true (g_str_has_prefix (contents, text));
  g_assert_cmpstr (contents + NB_KEY_BASE64_LEN, ==, "\n");

  loaded = nb_key_new_from_file (path, &error);
  g_assert_no_error (error);
  g_assert_true (nb_key_has_private (loaded));
  g_assert_true (nb_key_equal (key, loaded));

  g_unlink (path);
  g_rmdir (dir);
}

static void
test_file_refused (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("nb-key-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "private.key", NULL);
  g_autofree char *missing = g_build_filename (dir, "missing.key", NULL);
  g_autoptr(NbKey) key = nb_key_generate ();
  g_autoptr(NbKey) pub = nb_key_dup_public (key);
  NbKey *loaded;

  g_assert_true (nb_key_save_to_file (key, path, &error));
  g_assert_cmpint (g_chmod (path, 0644), ==, 0);
  loaded = nb_key_new_from_file (path, &error);
  g_assert_null (loaded);
  g_assert_error (error, NB_KEY_ERROR, NB_KEY_ERROR_INSECURE_FILE);
  g_clear_error (&error);

  loaded = nb_key_new_from_file (missing, &error);
  g_assert_null (loaded);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_false (nb_key_save_to_file (pub, missing, &error));
  g_assert_error (error, NB_KEY_ERROR, NB_KEY_ERROR_NO_PRIVATE_KEY);
  g_assert_false (g_file_test (missing, G_FILE_TEST_EXISTS));

  g_unlink (path);
  g_rmdir (dir);
}

/* wireguard-tools is the reference: the same private key gives the same
 * public key, byte for byte, and our generated keys are ones wg accepts. */
static char *
run_wg (const char *const *argv,
        const char        *input)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  g_autofree char *out = NULL;

  proc = g_subprocess_newv (argv,
                            G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE,
                            &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, input, NULL, &out, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_successful (proc));
  return g_strdup (g_strstrip (out));
}

static void
test_wg_known_answers (void)
{
  g_autofree char *wg = g_find_program_in_path ("wg");
  const char *genkey[] = { "wg", "genkey", NULL };
  const char *pubkey[] = { "wg", "pubkey", NULL };

  if (wg == NULL)
    {
      g_test_skip ("wg (wireguard-tools) is not installed");
      return;
    }

  for (int i = 0; i < 16; i++)
    {
      g_autofree char *private_text = run_wg (genkey, NULL);
      g_autofree char *public_text = run_wg (pubkey, private_text);
      g_autoptr(GError) error = NULL;
      g_autoptr(NbKey) key = nb_key_new_from_base64 (private_text, &error);
      g_autofree char *again = NULL;

      g_assert_no_error (error);
      g_assert_cmpstr (nb_key_get_public_base64 (key), ==, public_text);
      again = nb_key_dup_private_base64 (key, NULL);
      g_assert_cmpstr (again, ==, private_text);
    }

  for (int i = 0; i < 16; i++)
    {
      g_autoptr(NbKey) key = nb_key_generate ();
      g_autofree char *private_text = nb_key_dup_private_base64 (key, NULL);
      g_autofree char *public_text = run_wg (pubkey, private_text);

      g_assert_cmpstr (nb_key_get_public_base64 (key), ==, public_text);
    }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/key/rfc7748-known-answer", test_rfc7748_known_answer);
  g_test_add_func ("/key/generate/clamped-and-unique", test_generate_clamped_and_unique);
  g_test_add_func ("/key/base64/roundtrip", test_base64_roundtrip);
  g_test_add_func ("/key/base64/invalid", test_base64_invalid);
  g_test_add_func ("/key/data/invalid-length", test_data_invalid_length);
  g_test_add_func ("/key/public-only", test_public_only);
  g_test_add_func ("/key/file/roundtrip-mode-0600", test_file_roundtrip);
  g_test_add_func ("/key/file/refused", test_file_refused);
  g_test_add_func ("/key/wg-known-answers", test_wg_known_answers);

  return g_test_run ();
}
