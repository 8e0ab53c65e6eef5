/* nb-wg-noise.c: the Noise_IKpsk2 handshake of WireGuard
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-wg"

#include <string.h>

#include <blake2.h>
#include <sodium.h>

#include "nb-sodium-private.h"
#include "nb-wg-noise.h"

#define BLAKE2S_BLOCK_LEN 64

/* HASH(CONSTRUCTION) and HASH(HASH(CONSTRUCTION) || IDENTIFIER), §5.4.2:
 * the same for every handshake, so computed once. */
static guint8 initial_chaining_key[NB_WG_HASH_LEN];
static guint8 initial_hash[NB_WG_HASH_LEN];

static void
noise_ensure_init (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done))
    {
      nb_sodium_ensure_init ();
      nb_wg_hash (initial_chaining_key, (const guint8 *) NB_WG_CONSTRUCTION,
                  strlen (NB_WG_CONSTRUCTION), NULL, 0);
      nb_wg_hash (initial_hash, initial_chaining_key, NB_WG_HASH_LEN,
                  (const guint8 *) NB_WG_IDENTIFIER, strlen (NB_WG_IDENTIFIER));
      g_once_init_leave (&done, 1);
    }
}

void
nb_wg_hash (guint8       out[NB_WG_HASH_LEN],
            const guint8 *a,
            gsize         a_len,
            const guint8 *b,
            gsize         b_len)
{
  blake2s_state state;

  blake2s_init (&state, NB_WG_HASH_LEN);
  if (a_len > 0)
    blake2s_update (&state, a, a_len);
  if (b_len > 0)
    blake2s_update (&state, b, b_len);
  blake2s_final (&state, out, NB_WG_HASH_LEN);
}

void
nb_wg_mac (guint8       out[NB_WG_MAC_LEN],
           const guint8 *key,
           gsize         key_len,
           const guint8 *data,
           gsize         data_len)
{
  blake2s (out, data, key, NB_WG_MAC_LEN, data_len, key_len);
}

/* HMAC (RFC 2104) over BLAKE2s, 32-byte key and output. */
static void
hmac (guint8       out[NB_WG_HASH_LEN],
      const guint8 *key,
      gsize         key_len,
      const guint8 *in,
      gsize         in_len)
{
  guint8 block[BLAKE2S_BLOCK_LEN];
  guint8 inner[NB_WG_HASH_LEN];
  blake2s_state state;

  g_assert (key_len <= BLAKE2S_BLOCK_LEN);
  memset (block, 0, sizeof block);
  memcpy (block, key, key_len);
  for (guint i = 0; i < BLAKE2S_BLOCK_LEN; i++)
    block[i] ^= 0x36;
  blake2s_init (&state, NB_WG_HASH_LEN);
  blake2s_update (&state, block, BLAKE2S_BLOCK_LEN);
  blake2s_update (&state, in, in_len);
  blake2s_final (&state, inner, NB_WG_HASH_LEN);

  for (guint i = 0; i < BLAKE2S_BLOCK_LEN; i++)
    block[i] ^= 0x36 ^ 0x5c;
  blake2s_init (&state, NB_WG_HASH_LEN);
  blake2s_update (&state, block, BLAKE2S_BLOCK_LEN);
  blake2s_update (&state, inner, NB_WG_HASH_LEN);
  blake2s_final (&state, out, NB_WG_HASH_LEN);

  sodium_memzero (block, sizeof block);
  sodium_memzero (inner, sizeof inner);
  sodium_memzero (&state, sizeof state);
}

/* KDF_n of §5.4: the HKDF chain, up to three 32-byte outputs. */
void
nb_wg_kdf (guint8       *out1,
           guint8       *out2,
           guint8       *out3,
           const guint8 *key,
           const guint8 *input,
           gsize         input_len)
{
  guint8 prk[NB_WG_HASH_LEN];
  guint8 t[NB_WG_HASH_LEN + 1];

  hmac (prk, key, NB_WG_HASH_LEN, input, input_len);

  t[0] = 1;
  hmac (t, prk, NB_WG_HASH_LEN, t, 1);
  if (out1 != NULL)
    memcpy (out1, t, NB_WG_HASH_LEN);
  if (out2 != NULL || out3 != NULL)
    {
      t[NB_WG_HASH_LEN] = 2;
      hmac (t, prk, NB_WG_HASH_LEN, t, NB_WG_HASH_LEN + 1);
      if (out2 != NULL)
        memcpy (out2, t, NB_WG_HASH_LEN);
    }
  if (out3 != NULL)
    {
      t[NB_WG_HASH_LEN] = 3;
      hmac (t, prk, NB_WG_HASH_LEN, t, NB_WG_HASH_LEN + 1);
      memcpy (out3, t, NB_WG_HASH_LEN);
    }
  sodium_memzero (prk, sizeof prk);
  sodium_memzero (t, sizeof t);
}

/* TAI64N (§5.4.2), with the nanoseconds rounded down to a power of two near
 * 1/INITIATIONS_PER_SECOND so the timestamp does not leak fine timing. */
void
nb_wg_tai64n_now (guint8 out[NB_WG_TIMESTAMP_LEN])
{
  gint64 now = g_get_real_time ();
  guint64 seconds = (G_GUINT64_CONSTANT (1) << 62) + (guint64) (now / G_USEC_PER_SEC);
  guint32 nanoseconds = (guint32) (now % G_USEC_PER_SEC) * 1000;

  nanoseconds &= ~((1u << 24) - 1);
  for (int i = 0; i < 8; i++)
    out[i] = (guint8) (seconds >> (56 - 8 * i));
  for (int i = 0; i < 4; i++)
    out[8 + i] = (guint8) (nanoseconds >> (24 - 8 * i));
}

static void
aead_nonce (guint8 nonce[12], guint64 counter)
{
  memset (nonce, 0, 4);
  for (int i = 0; i < 8; i++)
    nonce[4 + i] = (guint8) (counter >> (8 * i));
}

void
nb_wg_aead_encrypt (guint8       *dst,
                    const guint8 *src,
                    gsize         len,
                    guint64       counter,
                    const guint8 *key)
{
  guint8 nonce[12];

  aead_nonce (nonce, counter);
  crypto_aead_chacha20poly1305_ietf_encrypt (dst, NULL, src, len, NULL, 0, NULL, nonce, key);
}

/* @len includes the tag. */
gboolean
nb_wg_aead_decrypt (guint8       *dst,
                    const guint8 *src,
                    gsize         len,
                    guint64       counter,
                    const guint8 *key)
{
  guint8 nonce[12];

  aead_nonce (nonce, counter);
  return crypto_aead_chacha20poly1305_ietf_decrypt (dst, NULL, NULL, src, len, NULL, 0, nonce,
                                                    key) == 0;
}

static void
mix_hash (guint8 hash[NB_WG_HASH_LEN], const guint8 *data, gsize len)
{
  nb_wg_hash (hash, hash, NB_WG_HASH_LEN, data, len);
}

/* Ci := KDF1(Ci, data); also used for the ephemeral key (§5.4.2). */
static void
mix_key (guint8 chaining_key[NB_WG_HASH_LEN], const guint8 *data, gsize len)
{
  nb_wg_kdf (chaining_key, NULL, NULL, chaining_key, data, len);
}

/* (Ci, k) := KDF2(Ci, DH(...)); FALSE for an all-zero DH result. */
static gboolean
mix_dh (guint8        chaining_key[NB_WG_HASH_LEN],
        guint8        key[NB_WG_KEY_LEN],
        const guint8 *private_key,
        const guint8 *public_key)
{
  guint8 dh[NB_WG_KEY_LEN];

  if (crypto_scalarmult (dh, private_key, public_key) != 0)
    return FALSE;
  nb_wg_kdf (chaining_key, key, NULL, chaining_key, dh, NB_WG_KEY_LEN);
  sodium_memzero (dh, sizeof dh);
  return TRUE;
}

static gboolean
mix_precomputed_dh (guint8        chaining_key[NB_WG_HASH_LEN],
                    guint8        key[NB_WG_KEY_LEN],
                    const guint8 *precomputed)
{
  if (sodium_is_zero (precomputed, NB_WG_KEY_LEN))
    return FALSE;
  nb_wg_kdf (chaining_key, key, NULL, chaining_key, precomputed, NB_WG_KEY_LEN);
  return TRUE;
}

/* (Ci, τ, k) := KDF3(Ci, Q); Hi := HASH(Hi || τ), §5.4.3. */
static void
mix_psk (guint8        chaining_key[NB_WG_HASH_LEN],
         guint8        hash[NB_WG_HASH_LEN],
         guint8        key[NB_WG_KEY_LEN],
         const guint8 *psk)
{
  guint8 tau[NB_WG_HASH_LEN];

  nb_wg_kdf (chaining_key, tau, key, chaining_key, psk, NB_WG_KEY_LEN);
  mix_hash (hash, tau, NB_WG_HASH_LEN);
  sodium_memzero (tau, sizeof tau);
}

/* AEAD(k, 0, plain, hash); hash := HASH(hash || ciphertext) */
static void
encrypt_and_hash (guint8       *dst,
                  const guint8 *src,
                  gsize         len,
                  const guint8 *key,
                  guint8        hash[NB_WG_HASH_LEN])
{
  guint8 nonce[12] = { 0 };

  crypto_aead_chacha20poly1305_ietf_encrypt (dst, NULL, src, len, hash, NB_WG_HASH_LEN, NULL,
                                             nonce, key);
  mix_hash (hash, dst, len + NB_WG_AEAD_TAG_LEN);
}

static gboolean
decrypt_and_hash (guint8       *dst,
                  const guint8 *src,
                  gsize         len,
                  const guint8 *key,
                  guint8        hash[NB_WG_HASH_LEN])
{
  guint8 nonce[12] = { 0 };

  if (crypto_aead_chacha20poly1305_ietf_decrypt (dst, NULL, NULL, src, len, hash,
                                                 NB_WG_HASH_LEN, nonce, key) != 0)
    return FALSE;
  mix_hash (hash, src, len);
  return TRUE;
}

gboolean
nb_wg_static_identity_set (NbWgStaticIdentity *identity,
                           const guint8       *private_key)
{
  noise_ensure_init ();
  memcpy (identity->static_private, private_key, NB_WG_KEY_LEN);
  if (crypto_scalarmult_base (identity->static_public, identity->static_private) != 0)
    {
      nb_wg_static_identity_clear (identity);
      return FALSE;
    }
  identity->has_identity = TRUE;
  return TRUE;
}

void
nb_wg_static_identity_clear (NbWgStaticIdentity *identity)
{
  sodium_memzero (identity, sizeof *identity);
}

/* Caller holds the lock, or nobody else sees the handshake yet. */
static void
precompute_locked (NbWgHandshake            *handshake,
                   const NbWgStaticIdentity *identity)
{
  if (identity == NULL || !identity->has_identity ||
      crypto_scalarmult (handshake->precomputed_static_static, identity->static_private,
                         handshake->remote_static) != 0)
    sodium_memzero (handshake->precomputed_static_static, NB_WG_KEY_LEN);
}

void
nb_wg_handshake_precompute (NbWgHandshake            *handshake,
                            const NbWgStaticIdentity *identity)
{
  g_mutex_lock (&handshake->lock);
  precompute_locked (handshake, identity);
  g_mutex_unlock (&handshake->lock);
}

void
nb_wg_handshake_init (NbWgHandshake            *handshake,
                      const guint8             *remote_static,
                      const NbWgStaticIdentity *identity,
                      const NbWgHandshakeOps   *ops,
                      gpointer                  owner)
{
  g_return_if_fail (ops != NULL && ops->index_insert != NULL && ops->index_remove != NULL &&
                    ops->add_session != NULL);

  noise_ensure_init ();
  memset (handshake, 0, sizeof *handshake);
  g_mutex_init (&handshake->lock);
  memcpy (handshake->remote_static, remote_static, NB_WG_KEY_LEN);
  handshake->ops = ops;
  handshake->owner = owner;
  precompute_locked (handshake, identity);
}

/* Forgets the ephemeral state of a handshake under way; its index, the
 * peer's keys, PSK and latest timestamp stay. Lock held. */
static void
handshake_zero (NbWgHandshake *handshake)
{
  sodium_memzero (handshake->ephemeral_private, NB_WG_KEY_LEN);
  sodium_memzero (handshake->remote_ephemeral, NB_WG_KEY_LEN);
  sodium_memzero (handshake->hash, NB_WG_HASH_LEN);
  sodium_memzero (handshake->chaining_key, NB_WG_HASH_LEN);
  handshake->remote_index = 0;
  handshake->state = NB_WG_HANDSHAKE_ZEROED;
}

/* Registers a fresh index for the message being made, in place of the one
 * the handshake had. Lock held. */
static gboolean
take_fresh_index (NbWgHandshake *handshake)
{
  guint32 index = handshake->ops->index_insert (handshake, handshake->local_index);

  if (index == 0)
    {
      /* The owner dropped the old index and has no new one. */
      handshake->local_index = 0;
      return FALSE;
    }
  handshake->local_index = index;
  return TRUE;
}

void
nb_wg_handshake_clear (NbWgHandshake *handshake)
{
  g_mutex_lock (&handshake->lock);
  if (handshake->local_index != 0)
    handshake->ops->index_remove (handshake, handshake->local_index);
  handshake->local_index = 0;
  handshake_zero (handshake);
  g_mutex_unlock (&handshake->lock);
}

void
nb_wg_handshake_destroy (NbWgHandshake *handshake)
{
  /* Nobody else sees it any more: no lock. */
  if (handshake->local_index != 0)
    handshake->ops->index_remove (handshake, handshake->local_index);
  g_mutex_clear (&handshake->lock);
  sodium_memzero (handshake, sizeof *handshake);
}

gboolean
nb_wg_handshake_set_preshared_key (NbWgHandshake *handshake,
                                   const guint8  *psk)
{
  gboolean has;

  g_mutex_lock (&handshake->lock);
  if (psk != NULL)
    memcpy (handshake->preshared_key, psk, NB_WG_KEY_LEN);
  else
    sodium_memzero (handshake->preshared_key, NB_WG_KEY_LEN);
  has = !sodium_is_zero (handshake->preshared_key, NB_WG_KEY_LEN);
  g_mutex_unlock (&handshake->lock);
  return has;
}

gboolean
nb_wg_handshake_copy_preshared_key (NbWgHandshake *handshake,
                                    guint8        *out)
{
  g_mutex_lock (&handshake->lock);
  memcpy (out, handshake->preshared_key, NB_WG_KEY_LEN);
  g_mutex_unlock (&handshake->lock);
  return !sodium_is_zero (out, NB_WG_KEY_LEN);
}

gboolean
nb_wg_noise_create_initiation (NbWgHandshake            *handshake,
                               const NbWgStaticIdentity *identity,
                               const guint8             *timestamp,
                               NbWgMessageInitiation    *msg)
{
  guint8 key[NB_WG_KEY_LEN];
  gboolean ok = FALSE;

  noise_ensure_init ();
  g_mutex_lock (&handshake->lock);
  if (!identity->has_identity)
    goto out;

  memset (msg, 0, sizeof *msg);
  msg->header.type = NB_WG_MESSAGE_HANDSHAKE_INITIATION;

  /* Ci, Hi (§5.4.2) */
  memcpy (handshake->chaining_key, initial_chaining_key, NB_WG_HASH_LEN);
  memcpy (handshake->hash, initial_hash, NB_WG_HASH_LEN);
  mix_hash (handshake->hash, handshake->remote_static, NB_WG_KEY_LEN);

  /* ephemeral */
  randombytes_buf (handshake->ephemeral_private, NB_WG_KEY_LEN);
  if (crypto_scalarmult_base (msg->unencrypted_ephemeral, handshake->ephemeral_private) != 0)
    goto out;
  mix_key (handshake->chaining_key, msg->unencrypted_ephemeral, NB_WG_KEY_LEN);
  mix_hash (handshake->hash, msg->unencrypted_ephemeral, NB_WG_KEY_LEN);

  /* es */
  if (!mix_dh (handshake->chaining_key, key, handshake->ephemeral_private,
               handshake->remote_static))
    goto out;
  encrypt_and_hash (msg->encrypted_static, identity->static_public, NB_WG_KEY_LEN, key,
                    handshake->hash);

  /* ss */
  if (!mix_precomputed_dh (handshake->chaining_key, key, handshake->precomputed_static_static))
    goto out;
  encrypt_and_hash (msg->encrypted_timestamp, timestamp, NB_WG_TIMESTAMP_LEN, key,
                    handshake->hash);

  /* The index goes in with the state it names: a response to it finds
   * this initiation, never one made since. */
  if (!take_fresh_index (handshake))
    goto out;
  msg->sender_index = GUINT32_TO_LE (handshake->local_index);
  handshake->state = NB_WG_HANDSHAKE_CREATED_INITIATION;
  ok = TRUE;

out:
  if (!ok)
    handshake_zero (handshake);
  g_mutex_unlock (&handshake->lock);
  sodium_memzero (key, sizeof key);
  return ok;
}

/* §5.4.3, lock held: from CONSUMED_INITIATION to CREATED_RESPONSE. */
static gboolean
create_response (NbWgHandshake       *handshake,
                 NbWgMessageResponse *msg)
{
  guint8 key[NB_WG_KEY_LEN];
  gboolean ok = FALSE;

  if (handshake->state != NB_WG_HANDSHAKE_CONSUMED_INITIATION)
    goto out;

  memset (msg, 0, sizeof *msg);
  msg->header.type = NB_WG_MESSAGE_HANDSHAKE_RESPONSE;
  msg->receiver_index = GUINT32_TO_LE (handshake->remote_index);

  /* e */
  randombytes_buf (handshake->ephemeral_private, NB_WG_KEY_LEN);
  if (crypto_scalarmult_base (msg->unencrypted_ephemeral, handshake->ephemeral_private) != 0)
    goto out;
  mix_key (handshake->chaining_key, msg->unencrypted_ephemeral, NB_WG_KEY_LEN);
  mix_hash (handshake->hash, msg->unencrypted_ephemeral, NB_WG_KEY_LEN);

  /* ee, se (§5.4.3) */
  if (!mix_dh (handshake->chaining_key, key, handshake->ephemeral_private,
               handshake->remote_ephemeral))
    goto out;
  if (!mix_dh (handshake->chaining_key, key, handshake->ephemeral_private,
               handshake->remote_static))
    goto out;

  /* psk */
  mix_psk (handshake->chaining_key, handshake->hash, key, handshake->preshared_key);

  /* {} */
  encrypt_and_hash (msg->encrypted_nothing, NULL, 0, key, handshake->hash);

  if (!take_fresh_index (handshake))
    goto out;
  msg->sender_index = GUINT32_TO_LE (handshake->local_index);
  handshake->state = NB_WG_HANDSHAKE_CREATED_RESPONSE;
  ok = TRUE;

out:
  if (!ok)
    handshake_zero (handshake);
  sodium_memzero (key, sizeof key);
  return ok;
}

/* §5.4.5, lock held: derives the transport keys of a handshake in
 * CREATED_RESPONSE (responder) or CONSUMED_RESPONSE (initiator) state,
 * hands them to the owner, whose keypair takes the index over, and zeroes
 * the handshake. */
static gboolean
begin_session (NbWgHandshake *handshake,
               gint64         now)
{
  NbWgSessionKeys keys;
  guint8 first[NB_WG_KEY_LEN];
  guint8 second[NB_WG_KEY_LEN];

  if (handshake->state != NB_WG_HANDSHAKE_CREATED_RESPONSE &&
      handshake->state != NB_WG_HANDSHAKE_CONSUMED_RESPONSE)
    return FALSE;

  /* (T_send_i, T_recv_i) = (T_recv_r, T_send_r) = KDF2(C, ε), §5.4.5 */
  nb_wg_kdf (first, second, NULL, handshake->chaining_key, NULL, 0);
  keys.is_initiator = handshake->state == NB_WG_HANDSHAKE_CONSUMED_RESPONSE;
  memcpy (keys.send_key, keys.is_initiator ? first : second, NB_WG_KEY_LEN);
  memcpy (keys.receive_key, keys.is_initiator ? second : first, NB_WG_KEY_LEN);
  keys.local_index = handshake->local_index;
  keys.remote_index = handshake->remote_index;
  handshake_zero (handshake);
  handshake->ops->add_session (handshake, &keys, now);
  handshake->local_index = 0;
  sodium_memzero (&keys, sizeof keys);
  sodium_memzero (first, sizeof first);
  sodium_memzero (second, sizeof second);
  return TRUE;
}

NbWgHandshake *
nb_wg_noise_consume_initiation (const NbWgStaticIdentity    *identity,
                                const NbWgMessageInitiation *msg,
                                gint64                       now,
                                NbWgHandshakeByStaticFunc    lookup,
                                gpointer                     user_data,
                                NbWgMessageResponse         *response)
{
  guint8 chaining_key[NB_WG_HASH_LEN];
  guint8 hash[NB_WG_HASH_LEN];
  guint8 key[NB_WG_KEY_LEN];
  guint8 remote_static[NB_WG_KEY_LEN];
  guint8 timestamp[NB_WG_TIMESTAMP_LEN];
  NbWgHandshake *handshake = NULL;
  gboolean replay, flood, ok = FALSE;

  noise_ensure_init ();
  if (!identity->has_identity)
    return NULL;

  /* Who sent it takes one DH and needs no peer state: done before the
   * lock, so a flood of initiations does not hold it. */
  memcpy (chaining_key, initial_chaining_key, NB_WG_HASH_LEN);
  memcpy (hash, initial_hash, NB_WG_HASH_LEN);
  mix_hash (hash, identity->static_public, NB_WG_KEY_LEN);

  /* e */
  mix_key (chaining_key, msg->unencrypted_ephemeral, NB_WG_KEY_LEN);
  mix_hash (hash, msg->unencrypted_ephemeral, NB_WG_KEY_LEN);

  /* es */
  if (!mix_dh (chaining_key, key, identity->static_private, msg->unencrypted_ephemeral))
    goto out;
  if (!decrypt_and_hash (remote_static, msg->encrypted_static,
                         sizeof msg->encrypted_static, key, hash))
    goto out;

  handshake = lookup (remote_static, user_data);
  if (handshake == NULL)
    goto out;

  g_mutex_lock (&handshake->lock);
  /* ss */
  if (!mix_precomputed_dh (chaining_key, key, handshake->precomputed_static_static))
    goto out_locked;
  if (!decrypt_and_hash (timestamp, msg->encrypted_timestamp,
                         sizeof msg->encrypted_timestamp, key, hash))
    goto out_locked;

  /* §5.1: a timestamp not greater than the last one is a replay; initiations
   * closer together than 1/INITIATIONS_PER_SECOND are a flood. */
  replay = memcmp (timestamp, handshake->latest_timestamp, NB_WG_TIMESTAMP_LEN) <= 0;
  flood = handshake->last_initiation_consumption != 0 &&
          now - handshake->last_initiation_consumption <
              G_USEC_PER_SEC / NB_WG_INITIATIONS_PER_SECOND;
  if (replay || flood)
    goto out_locked;

  memcpy (handshake->remote_ephemeral, msg->unencrypted_ephemeral, NB_WG_KEY_LEN);
  memcpy (handshake->latest_timestamp, timestamp, NB_WG_TIMESTAMP_LEN);
  memcpy (handshake->hash, hash, NB_WG_HASH_LEN);
  memcpy (handshake->chaining_key, chaining_key, NB_WG_HASH_LEN);
  handshake->remote_index = GUINT32_FROM_LE (msg->sender_index);
  handshake->last_initiation_consumption = now;
  handshake->state = NB_WG_HANDSHAKE_CONSUMED_INITIATION;

  /* Answer in the same hold: nothing in between can replace the state the
   * response is made of, nor the index it carries. */
  ok = create_response (handshake, response) && begin_session (handshake, now);

out_locked:
  g_mutex_unlock (&handshake->lock);
out:
  sodium_memzero (chaining_key, sizeof chaining_key);
  sodium_memzero (hash, sizeof hash);
  sodium_memzero (key, sizeof key);
  sodium_memzero (timestamp, sizeof timestamp);
  return ok ? handshake : NULL;
}

NbWgHandshake *
nb_wg_noise_consume_response (const NbWgStaticIdentity  *identity,
                              const NbWgMessageResponse *msg,
                              gint64                     now,
                              NbWgHandshakeByIndexFunc   lookup,
                              gpointer                   user_data)
{
  guint8 chaining_key[NB_WG_HASH_LEN];
  guint8 hash[NB_WG_HASH_LEN];
  guint8 key[NB_WG_KEY_LEN];
  NbWgHandshake *handshake;
  gboolean ok = FALSE;

  if (!identity->has_identity)
    return NULL;
  handshake = lookup (GUINT32_FROM_LE (msg->receiver_index), user_data);
  if (handshake == NULL)
    return NULL;

  g_mutex_lock (&handshake->lock);
  if (handshake->state != NB_WG_HANDSHAKE_CREATED_INITIATION ||
      handshake->local_index != GUINT32_FROM_LE (msg->receiver_index))
    goto out;
  memcpy (chaining_key, handshake->chaining_key, NB_WG_HASH_LEN);
  memcpy (hash, handshake->hash, NB_WG_HASH_LEN);

  /* e */
  mix_key (chaining_key, msg->unencrypted_ephemeral, NB_WG_KEY_LEN);
  mix_hash (hash, msg->unencrypted_ephemeral, NB_WG_KEY_LEN);
  /* ee */
  if (!mix_dh (chaining_key, key, handshake->ephemeral_private, msg->unencrypted_ephemeral))
    goto out;
  /* se */
  if (!mix_dh (chaining_key, key, identity->static_private, msg->unencrypted_ephemeral))
    goto out;
  /* psk */
  mix_psk (chaining_key, hash, key, handshake->preshared_key);
  /* {} */
  if (!decrypt_and_hash (NULL, msg->encrypted_nothing, sizeof msg->encrypted_nothing, key, hash))
    goto out;

  memcpy (handshake->remote_ephemeral, msg->unencrypted_ephemeral, NB_WG_KEY_LEN);
  memcpy (handshake->chaining_key, chaining_key, NB_WG_HASH_LEN);
  memcpy (handshake->hash, hash, NB_WG_HASH_LEN);
  handshake->remote_index = GUINT32_FROM_LE (msg->sender_index);
  handshake->state = NB_WG_HANDSHAKE_CONSUMED_RESPONSE;
  ok = begin_session (handshake, now);

out:
  g_mutex_unlock (&handshake->lock);
  sodium_memzero (chaining_key, sizeof chaining_key);
  sodium_memzero (hash, sizeof hash);
  sodium_memzero (key, sizeof key);
  return ok ? handshake : NULL;
}
