/* test-wg-noise.c: the Noise_IKpsk2 handshake and its primitives
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <string.h>

#include <sodium.h>

#include "nb-wg-noise.h"

typedef struct {
  NbWgStaticIdentity initiator_id;
  NbWgStaticIdentity responder_id;
  NbWgHandshake initiator; /* the initiator's view of the responder */
  NbWgHandshake responder; /* the responder's view of the initiator */
} Fixture;

static NbWgHandshake *
lookup_static (const guint8 *remote_static, gpointer user_data)
{
  Fixture *f = user_data;

  if (memcmp (remote_static, f->responder.remote_static, 32) == 0)
    return &f->responder;
  return NULL;
}

static NbWgHandshake *
lookup_index (guint32 index, gpointer user_data)
{
  Fixture *f = user_data;

  return index == f->initiator.local_index ? &f->initiator : NULL;
}

static void
fixture_setup (Fixture *f)
{
  guint8 priv[32];

  g_assert_cmpint (sodium_init (), >=, 0);
  randombytes_buf (priv, 32);
  g_assert_true (nb_wg_static_identity_set (&f->initiator_id, priv));
  randombytes_buf (priv, 32);
  g_assert_true (nb_wg_static_identity_set (&f->responder_id, priv));
  nb_wg_handshake_init (&f->initiator, f->responder_id.static_public, &f->initiator_id, NULL);
  nb_wg_handshake_init (&f->responder, f->initiator_id.static_public, &f->responder_id, NULL);
}

static void
fixture_teardown (Fixture *f)
{
  nb_wg_handshake_destroy (&f->initiator);
  nb_wg_handshake_destroy (&f->responder);
}

/* Runs a handshake; FALSE at the first step that fails. */
static gboolean
run_handshake (Fixture *f, NbWgSessionKeys *keys_i, NbWgSessionKeys *keys_r)
{
  NbWgMessageInitiation init;
  NbWgMessageResponse resp;
  guint8 ts[NB_WG_TIMESTAMP_LEN];

  nb_wg_tai64n_now (ts);
  if (!nb_wg_noise_create_initiation (&f->initiator, &f->initiator_id, 0x11223344, ts, &init))
    return FALSE;
  g_assert_cmpuint (init.header.type, ==, 1);
  /* Back-to-back handshakes here are not the replays and floods that other
   * tests check. */
  memset (f->responder.latest_timestamp, 0, sizeof f->responder.latest_timestamp);
  f->responder.last_initiation_consumption = 0;
  if (nb_wg_noise_consume_initiation (&f->responder_id, &init, g_get_monotonic_time (),
                                      lookup_static, f) != &f->responder)
    return FALSE;
  if (!nb_wg_noise_create_response (&f->responder, 0x55667788, &resp))
    return FALSE;
  g_assert_cmpuint (resp.header.type, ==, 2);
  g_assert_cmpuint (GUINT32_FROM_LE (resp.receiver_index), ==, 0x11223344);
  if (!nb_wg_noise_begin_session (&f->responder, keys_r))
    return FALSE;
  if (nb_wg_noise_consume_response (&f->initiator_id, &resp, lookup_index, f) != &f->initiator)
    return FALSE;
  return nb_wg_noise_begin_session (&f->initiator, keys_i);
}

static void
assert_matching_keys (const NbWgSessionKeys *i, const NbWgSessionKeys *r)
{
  guint8 plain[100], sealed[116], opened[100];

  g_assert_true (i->is_initiator);
  g_assert_false (r->is_initiator);
  g_assert_cmpmem (i->send_key, 32, r->receive_key, 32);
  g_assert_cmpmem (i->receive_key, 32, r->send_key, 32);
  g_assert_true (memcmp (i->send_key, i->receive_key, 32) != 0);
  g_assert_cmpuint (i->local_index, ==, r->remote_index);
  g_assert_cmpuint (i->remote_index, ==, r->local_index);

  randombytes_buf (plain, sizeof plain);
  nb_wg_aead_encrypt (sealed, plain, sizeof plain, 7, i->send_key);
  g_assert_true (nb_wg_aead_decrypt (opened, sealed, sizeof sealed, 7, r->receive_key));
  g_assert_cmpmem (opened, sizeof opened, plain, sizeof plain);
  g_assert_false (nb_wg_aead_decrypt (opened, sealed, sizeof sealed, 8, r->receive_key));
}

static void
test_handshake (void)
{
  Fixture f = { 0 };
  NbWgSessionKeys ki, kr;

  fixture_setup (&f);
  g_assert_true (run_handshake (&f, &ki, &kr));
  assert_matching_keys (&ki, &kr);
  /* Both handshakes are zeroed after the session began. */
  g_assert_cmpint (f.initiator.state, ==, NB_WG_HANDSHAKE_ZEROED);
  g_assert_cmpint (f.responder.state, ==, NB_WG_HANDSHAKE_ZEROED);
  g_assert_true (sodium_is_zero (f.initiator.chaining_key, 32));
  fixture_teardown (&f);
}

static void
test_handshake_psk (void)
{
  Fixture f = { 0 };
  NbWgSessionKeys ki, kr, ki_plain, kr_plain;

  fixture_setup (&f);
  g_assert_true (run_handshake (&f, &ki_plain, &kr_plain));
  memset (f.initiator.preshared_key, 0xa5, 32);
  memset (f.responder.preshared_key, 0xa5, 32);
  g_assert_true (run_handshake (&f, &ki, &kr));
  assert_matching_keys (&ki, &kr);
  g_assert_true (memcmp (ki.send_key, ki_plain.send_key, 32) != 0);
  fixture_teardown (&f);
}

static void
test_psk_mismatch (void)
{
  Fixture f = { 0 };
  NbWgSessionKeys ki, kr;

  fixture_setup (&f);
  memset (f.initiator.preshared_key, 1, 32);
  memset (f.responder.preshared_key, 2, 32);
  g_assert_false (run_handshake (&f, &ki, &kr));
  g_assert_cmpint (f.initiator.state, ==, NB_WG_HANDSHAKE_CREATED_INITIATION);
  fixture_teardown (&f);
}

static void
test_unknown_peer (void)
{
  Fixture f = { 0 };
  NbWgMessageInitiation init;
  guint8 ts[12];

  fixture_setup (&f);
  /* The responder knows some other key, not the initiator's. */
  randombytes_buf (f.responder.remote_static, 32);
  nb_wg_tai64n_now (ts);
  g_assert_true (nb_wg_noise_create_initiation (&f.initiator, &f.initiator_id, 1, ts, &init));
  g_assert_null (nb_wg_noise_consume_initiation (&f.responder_id, &init, 1, lookup_static, &f));
  fixture_teardown (&f);
}

static void
test_wrong_responder_key (void)
{
  Fixture f = { 0 };
  NbWgStaticIdentity other;
  NbWgMessageInitiation init;
  guint8 priv[32], ts[12];

  fixture_setup (&f);
  randombytes_buf (priv, 32);
  nb_wg_static_identity_set (&other, priv);
  nb_wg_tai64n_now (ts);
  g_assert_true (nb_wg_noise_create_initiation (&f.initiator, &f.initiator_id, 1, ts, &init));
  g_assert_null (nb_wg_noise_consume_initiation (&other, &init, 1, lookup_static, &f));
  fixture_teardown (&f);
}

static void
test_tampered_initiation (void)
{
  Fixture f = { 0 };
  NbWgMessageInitiation init;
  guint8 ts[12];

  fixture_setup (&f);
  nb_wg_tai64n_now (ts);
  g_assert_true (nb_wg_noise_create_initiation (&f.initiator, &f.initiator_id, 1, ts, &init));
  init.encrypted_timestamp[3] ^= 1;
  g_assert_null (nb_wg_noise_consume_initiation (&f.responder_id, &init, 1, lookup_static, &f));
  fixture_teardown (&f);
}

/* §5.1: an initiation whose timestamp is not newer is a replay. */
static void
test_initiation_replay_refused (void)
{
  Fixture f = { 0 };
  NbWgMessageInitiation init;
  guint8 ts[12];
  gint64 now = 1000 * G_USEC_PER_SEC;

  fixture_setup (&f);
  nb_wg_tai64n_now (ts);
  g_assert_true (nb_wg_noise_create_initiation (&f.initiator, &f.initiator_id, 1, ts, &init));
  g_assert_true (nb_wg_noise_consume_initiation (&f.responder_id, &init, now, lookup_static, &f) ==
                 &f.responder);
  /* The same message a minute later: not a flood, still a replay. */
  g_assert_null (nb_wg_noise_consume_initiation (&f.responder_id, &init,
                                                 now + 60 * G_USEC_PER_SEC, lookup_static, &f));
  /* An older timestamp too. */
  ts[7] -= 1;
  g_assert_true (nb_wg_noise_create_initiation (&f.initiator, &f.initiator_id, 2, ts, &init));
  g_assert_null (nb_wg_noise_consume_initiation (&f.responder_id, &init,
                                                 now + 120 * G_USEC_PER_SEC, lookup_static, &f));
  fixture_teardown (&f);
}

/* §5.1: initiations closer than 1/50 s are dropped even when fresh. */
static void
test_initiation_flood_refused (void)
{
  Fixture f = { 0 };
  NbWgMessageInitiation init;
  guint8 ts[12];
  gint64 now = 1000 * G_USEC_PER_SEC;

  fixture_setup (&f);
  nb_wg_tai64n_now (ts);
  g_assert_true (nb_wg_noise_create_initiation (&f.initiator, &f.initiator_id, 1, ts, &init));
  g_assert_nonnull (
      nb_wg_noise_consume_initiation (&f.responder_id, &init, now, lookup_static, &f));
  ts[11] += 1;
  g_assert_true (nb_wg_noise_create_initiation (&f.initiator, &f.initiator_id, 2, ts, &init));
  g_assert_null (nb_wg_noise_consume_initiation (&f.responder_id, &init, now + 1000,
                                                 lookup_static, &f));
  g_assert_nonnull (nb_wg_noise_consume_initiation (&f.responder_id, &init,
                                                    now + G_USEC_PER_SEC / 50, lookup_static, &f));
  fixture_teardown (&f);
}

static void
test_response_to_unknown_index (void)
{
  Fixture f = { 0 };
  NbWgMessageInitiation init;
  NbWgMessageResponse resp;
  guint8 ts[12];

  fixture_setup (&f);
  nb_wg_tai64n_now (ts);
  g_assert_true (nb_wg_noise_create_initiation (&f.initiator, &f.initiator_id, 9, ts, &init));
  g_assert_nonnull (nb_wg_noise_consume_initiation (&f.responder_id, &init, 1, lookup_static, &f));
  g_assert_true (nb_wg_noise_create_response (&f.responder, 10, &resp));
  resp.receiver_index = GUINT32_TO_LE (12345);
  g_assert_null (nb_wg_noise_consume_response (&f.initiator_id, &resp, lookup_index, &f));
  fixture_teardown (&f);
}

/* Known answers: RFC 7693 Appendix A (BLAKE2s-256 of "abc"), and the
 * chaining key and hash every WireGuard handshake starts from,
 * HASH(CONSTRUCTION) and HASH(that || IDENTIFIER) (§5.4.2), as other
 * implementations publish them. */
static void
test_known_answers (void)
{
  static const guint8 abc[32] = {
    0x50, 0x8C, 0x5E, 0x8C, 0x32, 0x7C, 0x14, 0xE2, 0xE1, 0xA7, 0x2B, 0xA3, 0x4E, 0xEB, 0x45, 0x2F,
    0x37, 0x45, 0x8B, 0x20, 0x9E, 0xD6, 0x3A, 0x29, 0x4D, 0x99, 0x9B, 0x4C, 0x86, 0x67, 0x59, 0x82,
  };
  static const guint8 chaining_key[32] = {
    0x60, 0xe2, 0x6d, 0xae, 0xf3, 0x27, 0xef, 0xc0, 0x2e, 0xc3, 0x35, 0xe2, 0xa0, 0x25, 0xd2, 0xd0,
    0x16, 0xeb, 0x42, 0x06, 0xf8, 0x72, 0x77, 0xf5, 0x2d, 0x38, 0xd1, 0x98, 0x8b, 0x78, 0xcd, 0x36,
  };
  static const guint8 hash[32] = {
    34, 17, 179, 97, 8, 26, 197, 102, 105, 18, 67, 219, 69, 138, 213, 50,
    45, 156, 108, 102, 34, 147, 232, 183, 14, 225, 156, 101, 186, 7, 158, 243,
  };
  guint8 out[32], h[32];

  nb_wg_hash (out, (const guint8 *) "abc", 3, NULL, 0);
  g_assert_cmpmem (out, 32, abc, 32);
  nb_wg_hash (out, (const guint8 *) NB_WG_CONSTRUCTION, strlen (NB_WG_CONSTRUCTION), NULL, 0);
  g_assert_cmpmem (out, 32, chaining_key, 32);
  nb_wg_hash (h, out, 32, (const guint8 *) NB_WG_IDENTIFIER, strlen (NB_WG_IDENTIFIER));
  g_assert_cmpmem (h, 32, hash, 32);
}

/* HKDF outputs chain: KDF3's first two outputs are KDF2's (§5.4 KDF_n). */
static void
test_kdf_prefix (void)
{
  guint8 key[32], a1[32], a2[32], b1[32], b2[32], b3[32];

  memset (key, 7, sizeof key);
  nb_wg_kdf (a1, a2, NULL, key, (const guint8 *) "x", 1);
  nb_wg_kdf (b1, b2, b3, key, (const guint8 *) "x", 1);
  g_assert_cmpmem (a1, 32, b1, 32);
  g_assert_cmpmem (a2, 32, b2, 32);
  g_assert_true (memcmp (b2, b3, 32) != 0);
}

static void
test_tai64n_monotonic (void)
{
  guint8 a[12], b[12];

  nb_wg_tai64n_now (a);
  g_usleep (40000);
  nb_wg_tai64n_now (b);
  /* Big-endian, so bytewise order is time order; 2^62 offset (TAI64). */
  g_assert_cmpint (memcmp (a, b, 12), <, 0);
  g_assert_cmpuint (a[0], ==, 0x40);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/wg/noise/handshake", test_handshake);
  g_test_add_func ("/wg/noise/handshake-psk", test_handshake_psk);
  g_test_add_func ("/wg/noise/psk-mismatch", test_psk_mismatch);
  g_test_add_func ("/wg/noise/unknown-peer", test_unknown_peer);
  g_test_add_func ("/wg/noise/wrong-responder-key", test_wrong_responder_key);
  g_test_add_func ("/wg/noise/tampered-initiation", test_tampered_initiation);
  g_test_add_func ("/wg/noise/initiation-replay-refused", test_initiation_replay_refused);
  g_test_add_func ("/wg/noise/initiation-flood-refused", test_initiation_flood_refused);
  g_test_add_func ("/wg/noise/response-unknown-index", test_response_to_unknown_index);
  g_test_add_func ("/wg/noise/known-answers", test_known_answers);
  g_test_add_func ("/wg/noise/kdf-prefix", test_kdf_prefix);
  g_test_add_func ("/wg/noise/tai64n", test_tai64n_monotonic);
  return g_test_run ();
}
