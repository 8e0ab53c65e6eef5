/* test-envelope.c: sealed envelopes
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <string.h>

#include "netbird.h"

typedef struct
{
  NbKey *alice;
  NbKey *bob;
  NbKey *mallory;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  f->alice = nb_key_generate ();
  f->bob = nb_key_generate ();
  f->mallory = nb_key_generate ();
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_clear_object (&f->alice);
  g_clear_object (&f->bob);
  g_clear_object (&f->mallory);
}

static GBytes *
seal_text (Fixture    *f,
           const char *text)
{
  g_autoptr(GBytes) plain = g_bytes_new (text, strlen (text));
  g_autoptr(GError) error = NULL;
  GBytes *envelope = nb_envelope_seal (f->alice, f->bob, plain, &error);

  g_assert_no_error (error);
  g_assert_nonnull (envelope);
  return envelope;
}

static void
assert_open_fails (Fixture *f,
                   GBytes  *envelope,
                   int      code)
{
  g_autoptr(GError) error = NULL;
  NbKey *sender = NULL;
  GBytes *opened = nb_envelope_open (f->bob, envelope, &sender, &error);

  g_assert_null (opened);
  g_assert_null (sender);
  g_assert_error (error, NB_ENVELOPE_ERROR, code);
}

static void
test_roundtrip (Fixture       *f,
                gconstpointer  data)
{
  gsize sizes[] = { 0, 1, 15, 16, 17, 1420, 65536, 1 << 20 };

  for (gsize i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autofree guint8 *message = g_malloc (sizes[i] + 1);
      g_autoptr(GBytes) plain = NULL;
      g_autoptr(GBytes) envelope = NULL;
      g_autoptr(GBytes) opened = NULL;
      g_autoptr(NbKey) sender = NULL;
      g_autoptr(GError) error = NULL;

      for (gsize j = 0; j < sizes[i]; j++)
        message[j] = (guint8) (j * 7 + i);
      plain = g_bytes_new (message, sizes[i]);

      envelope = nb_envelope_seal (f->alice, f->bob, plain, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (g_bytes_get_size (envelope), ==, sizes[i] + NB_ENVELOPE_OVERHEAD);

      opened = nb_envelope_open (f->bob, envelope, &sender, &error);
      g_assert_no_error (error);
      g_assert_true (g_bytes_equal (opened, plain));
      g_assert_nonnull (sender);
      g_assert_false (nb_key_has_private (sender));
      g_assert_true (nb_key_equal (sender, f->alice));
    }
}

static void
test_recipient_public_half_is_enough (Fixture       *f,
                                      gconstpointer  data)
{
  g_autoptr(NbKey) bob_public = nb_key_dup_public (f->bob);
  g_autoptr(GBytes) plain = g_bytes_new_static ("hello", 5);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) envelope = nb_envelope_seal (f->alice, bob_public, plain, &error);
  g_autoptr(GBytes) opened = NULL;

  g_assert_no_error (error);
  opened = nb_envelope_open (f->bob, envelope, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (opened, plain));
}

static void
test_fresh_nonce (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GBytes) a = seal_text (f, "same message");
  g_autoptr(GBytes) b = seal_text (f, "same message");

  g_assert_false (g_bytes_equal (a, b));
}

/* Every single-bit change anywhere in the envelope is refused, with the error
 * that names what is wrong with it. */
static void
test_tampered (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GBytes) envelope = seal_text (f, "a message of some length");
  gsize len = 0;
  const guint8 *orig = g_bytes_get_data (envelope, &len);

  for (gsize pos = 0; pos < len; pos++)
    for (int bit = 0; bit < 8; bit++)
      {
        g_autofree guint8 *copy = g_memdup2 (orig, len);
        g_autoptr(GBytes) tampered = NULL;
        int expected;

        copy[pos] ^= (guint8) (1 << bit);
        tampered = g_bytes_new (copy, len);

        if (pos == 0)
          expected = NB_ENVELOPE_ERROR_UNKNOWN_VERSION;
        else if (pos >= 33 && pos < 65)
          expected = NB_ENVELOPE_ERROR_WRONG_RECIPIENT;
        else
          expected = NB_ENVELOPE_ERROR_AUTHENTICATION_FAILED;

        assert_open_fails (f, tampered, expected);
      }
}

static void
test_truncated (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GBytes) envelope = seal_text (f, "truncate me");
  gsize len = g_bytes_get_size (envelope);

  for (gsize cut = 0; cut < len; cut++)
    {
      g_autoptr(GBytes) shorter = g_bytes_new_from_bytes (envelope, 0, cut);

      /* Shorter than header and tag: truncated. Longer: the tag no longer
       * matches what is left. */
      assert_open_fails (f, shorter,
                         cut < NB_ENVELOPE_OVERHEAD ? NB_ENVELOPE_ERROR_TRUNCATED
                                                    : NB_ENVELOPE_ERROR_AUTHENTICATION_FAILED);
    }
}

static void
test_wrong_recipient (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(GBytes) envelope = seal_text (f, "for bob only");
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) opened = nb_envelope_open (f->mallory, envelope, NULL, &error);

  g_assert_null (opened);
  g_assert_error (error, NB_ENVELOPE_ERROR, NB_ENVELOPE_ERROR_WRONG_RECIPIENT);
  g_assert_nonnull (strstr (error->message, nb_key_get_public_base64 (f->bob)));
}

/* Mallory seals to Bob but writes Alice's key into the sender field: the box
 * does not open, so she cannot pass as Alice. */
static void
test_forged_sender (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GBytes) plain = g_bytes_new_static ("I am alice", 10);
  g_autoptr(GBytes) envelope = nb_envelope_seal (f->mallory, f->bob, plain, NULL);
  gsize len = g_bytes_get_size (envelope);
  g_autofree guint8 *copy = g_memdup2 (g_bytes_get_data (envelope, NULL), len);
  g_autoptr(GBytes) forged = NULL;

  memcpy (copy + 1, nb_key_get_public_data (f->alice, NULL), NB_KEY_LEN);
  forged = g_bytes_new (copy, len);
  assert_open_fails (f, forged, NB_ENVELOPE_ERROR_AUTHENTICATION_FAILED);
}

static void
test_public_only_keys (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(NbKey) alice_public = nb_key_dup_public (f->alice);
  g_autoptr(NbKey) bob_public = nb_key_dup_public (f->bob);
  g_autoptr(GBytes) plain = g_bytes_new_static ("x", 1);
  g_autoptr(GBytes) envelope = seal_text (f, "x");
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) error2 = NULL;

  g_assert_null (nb_envelope_seal (alice_public, f->bob, plain, &error));
  g_assert_error (error, NB_ENVELOPE_ERROR, NB_ENVELOPE_ERROR_NO_PRIVATE_KEY);
  g_assert_null (nb_envelope_open (bob_public, envelope, NULL, &error2));
  g_assert_error (error2, NB_ENVELOPE_ERROR, NB_ENVELOPE_ERROR_NO_PRIVATE_KEY);
}

/* A low-order point as recipient would make the shared secret zero. */
static void
test_low_order_recipient (Fixture       *f,
                          gconstpointer  data)
{
  guint8 zero[NB_KEY_LEN] = { 0 };
  g_autoptr(NbKey) bad = nb_key_new_public_from_data (zero, sizeof zero, NULL);
  g_autoptr(GBytes) plain = g_bytes_new_static ("x", 1);
  g_autoptr(GError) error = NULL;

  g_assert_null (nb_envelope_seal (f->alice, bad, plain, &error));
  g_assert_error (error, NB_ENVELOPE_ERROR, NB_ENVELOPE_ERROR_AUTHENTICATION_FAILED);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/envelope/roundtrip", test_roundtrip);
  ADD ("/envelope/recipient-public-half-is-enough", test_recipient_public_half_is_enough);
  ADD ("/envelope/fresh-nonce", test_fresh_nonce);
  ADD ("/envelope/tampered", test_tampered);
  ADD ("/envelope/truncated", test_truncated);
  ADD ("/envelope/wrong-recipient", test_wrong_recipient);
  ADD ("/envelope/forged-sender", test_forged_sender);
  ADD ("/envelope/public-only-keys", test_public_only_keys);
  ADD ("/envelope/low-order-recipient", test_low_order_recipient);
#undef ADD

  return g_test_run ();
}
