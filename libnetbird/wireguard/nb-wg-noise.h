/* nb-wg-noise.h: the Noise_IKpsk2 handshake of WireGuard (plain C core)
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * WireGuard paper §5.4. This file knows nothing of GObject, sockets or
 * threads beyond the mutex that guards one handshake: the device and peer
 * code drive it.
 */
#pragma once

#include <glib.h>
#include "nb-wg-messages.h"

G_BEGIN_DECLS

/* The device's own key pair. Written only under the device's config lock. */
typedef struct {
  gboolean has_identity;
  guint8 static_private[NB_WG_KEY_LEN];
  guint8 static_public[NB_WG_KEY_LEN];
} NbWgStaticIdentity;

typedef enum {
  NB_WG_HANDSHAKE_ZEROED,
  NB_WG_HANDSHAKE_CREATED_INITIATION,
  NB_WG_HANDSHAKE_CONSUMED_INITIATION,
  NB_WG_HANDSHAKE_CREATED_RESPONSE,
  NB_WG_HANDSHAKE_CONSUMED_RESPONSE,
} NbWgHandshakeState;

/* The handshake state a peer keeps; every field is guarded by @lock. */
typedef struct {
  GMutex lock;
  NbWgHandshakeState state;
  guint8 remote_static[NB_WG_KEY_LEN];
  /* DH(S_priv_local, S_pub_remote), precomputed (§5.4.2); all zero when the
   * remote key is a low-order point, which makes every handshake fail. */
  guint8 precomputed_static_static[NB_WG_KEY_LEN];
  guint8 preshared_key[NB_WG_KEY_LEN];
  guint8 ephemeral_private[NB_WG_KEY_LEN];
  guint8 remote_ephemeral[NB_WG_KEY_LEN];
  guint8 hash[NB_WG_HASH_LEN];
  guint8 chaining_key[NB_WG_HASH_LEN];
  guint32 local_index;
  guint32 remote_index;
  /* Greatest TAI64N timestamp accepted from this peer (replay, §5.1). */
  guint8 latest_timestamp[NB_WG_TIMESTAMP_LEN];
  /* Monotonic µs of the last initiation accepted (flood limit), or 0. */
  gint64 last_initiation_consumption;
  gpointer owner;
} NbWgHandshake;

/* The transport keys one completed handshake yields (§5.4.5). */
typedef struct {
  guint8 send_key[NB_WG_KEY_LEN];
  guint8 receive_key[NB_WG_KEY_LEN];
  guint32 local_index;
  guint32 remote_index;
  gboolean is_initiator;
} NbWgSessionKeys;

/* Returns the handshake of the peer with this static public key, or NULL. */
typedef NbWgHandshake *(*NbWgHandshakeByStaticFunc) (const guint8 *remote_static,
                                                     gpointer      user_data);
/* Returns the handshake that owns this local index, or NULL. */
typedef NbWgHandshake *(*NbWgHandshakeByIndexFunc) (guint32  local_index,
                                                    gpointer user_data);

/* Primitives (§5.4): BLAKE2s hash, keyed MAC, HMAC and the HKDF chain. */
void nb_wg_hash (guint8       out[NB_WG_HASH_LEN],
                 const guint8 *a,
                 gsize         a_len,
                 const guint8 *b,
                 gsize         b_len);
void nb_wg_mac (guint8       out[NB_WG_MAC_LEN],
                const guint8 *key,
                gsize         key_len,
                const guint8 *data,
                gsize         data_len);
void nb_wg_kdf (guint8       *out1,
                guint8       *out2,
                guint8       *out3,
                const guint8 *key,
                const guint8 *input,
                gsize         input_len);
void nb_wg_tai64n_now (guint8 out[NB_WG_TIMESTAMP_LEN]);

gboolean nb_wg_static_identity_set (NbWgStaticIdentity *identity,
                                    const guint8       *private_key);
void     nb_wg_static_identity_clear (NbWgStaticIdentity *identity);

void nb_wg_handshake_init       (NbWgHandshake            *handshake,
                                 const guint8             *remote_static,
                                 const NbWgStaticIdentity *identity,
                                 gpointer                  owner);
void nb_wg_handshake_precompute (NbWgHandshake            *handshake,
                                 const NbWgStaticIdentity *identity);
void nb_wg_handshake_clear      (NbWgHandshake *handshake);
void nb_wg_handshake_destroy    (NbWgHandshake *handshake);

/* Fills @msg (except its MACs) and moves @handshake to CREATED_INITIATION.
 * Takes the handshake lock. */
gboolean nb_wg_noise_create_initiation (NbWgHandshake            *handshake,
                                        const NbWgStaticIdentity *identity,
                                        guint32                   local_index,
                                        const guint8             *timestamp,
                                        NbWgMessageInitiation    *msg);
/* Opens an initiation whose MACs were checked. @now is monotonic µs. Returns
 * the handshake of the sending peer, moved to CONSUMED_INITIATION, or NULL
 * (unknown peer, failed decryption, replayed or too frequent initiation). */
NbWgHandshake *nb_wg_noise_consume_initiation (const NbWgStaticIdentity    *identity,
                                               const NbWgMessageInitiation *msg,
                                               gint64                       now,
                                               NbWgHandshakeByStaticFunc    lookup,
                                               gpointer                     user_data);
gboolean nb_wg_noise_create_response (NbWgHandshake            *handshake,
                                      guint32                   local_index,
                                      NbWgMessageResponse      *msg);
NbWgHandshake *nb_wg_noise_consume_response (const NbWgStaticIdentity  *identity,
                                             const NbWgMessageResponse *msg,
                                             NbWgHandshakeByIndexFunc   lookup,
                                             gpointer                   user_data);
/* Derives the transport keys of a handshake in CREATED_RESPONSE (responder)
 * or CONSUMED_RESPONSE (initiator) state and zeroes the handshake. The
 * caller holds the handshake lock. */
gboolean nb_wg_noise_begin_session (NbWgHandshake   *handshake,
                                    NbWgSessionKeys *keys);

/* Transport data AEAD (§5.4.6): ChaCha20-Poly1305 with a 64-bit counter. */
void     nb_wg_aead_encrypt (guint8       *dst,
                             const guint8 *src,
                             gsize         len,
                             guint64       counter,
                             const guint8 *key);
gboolean nb_wg_aead_decrypt (guint8       *dst,
                             const guint8 *src,
                             gsize         len,
                             guint64       counter,
                             const guint8 *key);

G_END_DECLS
