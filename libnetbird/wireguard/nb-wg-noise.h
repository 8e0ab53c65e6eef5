/* nb-wg-noise.h: the Noise_IKpsk2 handshake of WireGuard (plain C core)
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * WireGuard paper §5.4. This file knows nothing of GObject, sockets or
 * threads beyond the mutex that guards one handshake: the device and peer
 * code drive it, and lend it their index table and keypair slots through
 * the hooks of #NbWgHandshakeOps.
 *
 * Locking, one rule: the handshake lock is taken only inside the functions
 * of this file, never by their callers. Each function that reads or writes
 * a handshake takes its lock once and does its whole step under it, the
 * hooks included, as Linux's noise.c does under its handshake semaphore:
 *  - create_initiation: the initiation and a fresh receiver index;
 *  - consume_initiation: opening the initiation, the response, a fresh
 *    index, the session keys and their keypair (which takes the index over);
 *  - consume_response: opening the response, the keys and their keypair.
 * So no other thread sees a handshake between two parts of one step, and
 * the index a message carries is always the one registered for the state
 * that made it. The expensive part of an initiation that needs no peer (the
 * ephemeral-static DH that reveals who sent it) runs before the lock.
 * Hooks run with the lock held: they may take locks that come after it
 * (keypair slots, index table), never the handshake lock again.
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

typedef struct _NbWgHandshake NbWgHandshake;

/* The transport keys one completed handshake yields (§5.4.5). */
typedef struct {
  guint8 send_key[NB_WG_KEY_LEN];
  guint8 receive_key[NB_WG_KEY_LEN];
  guint32 local_index;
  guint32 remote_index;
  gboolean is_initiator;
} NbWgSessionKeys;

/* What a handshake needs of its owner (a peer, and its device's index
 * table). Called with the handshake lock held. */
typedef struct {
  /* Registers the handshake under a fresh random index in place of
   * @old_index (0: none) and returns it; 0 if the owner cannot (the old
   * index is gone then too). */
  guint32 (*index_insert) (NbWgHandshake *handshake,
                           guint32        old_index);
  /* Drops the handshake's index @index. */
  void    (*index_remove) (NbWgHandshake *handshake,
                           guint32        index);
  /* Makes a keypair of @keys and slots it; it takes over the handshake's
   * index, keys->local_index. @now is monotonic µs. */
  void    (*add_session)  (NbWgHandshake         *handshake,
                           const NbWgSessionKeys *keys,
                           gint64                 now);
} NbWgHandshakeOps;

/* The handshake state a peer keeps; every field but @ops and @owner (fixed
 * at init) is guarded by @lock. */
struct _NbWgHandshake {
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
  /* The index registered with the owner for this handshake (index_insert),
   * 0 when none: a keypair took it over, or it was dropped. */
  guint32 local_index;
  guint32 remote_index;
  /* Greatest TAI64N timestamp accepted from this peer (replay, §5.1). */
  guint8 latest_timestamp[NB_WG_TIMESTAMP_LEN];
  /* Monotonic µs of the last initiation accepted (flood limit), or 0. */
  gint64 last_initiation_consumption;
  const NbWgHandshakeOps *ops;
  gpointer owner;
};

/* Returns the handshake of the peer with this static public key, or NULL
 * (also to refuse a peer). Called without any handshake lock. */
typedef NbWgHandshake *(*NbWgHandshakeByStaticFunc) (const guint8 *remote_static,
                                                     gpointer      user_data);
/* Returns the handshake that owns this local index, or NULL (also to refuse
 * a peer). Called without any handshake lock. */
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

/* Sets a handshake up (no lock needed: nobody else sees it yet). */
void     nb_wg_handshake_init       (NbWgHandshake            *handshake,
                                     const guint8             *remote_static,
                                     const NbWgStaticIdentity *identity,
                                     const NbWgHandshakeOps   *ops,
                                     gpointer                  owner);
/* Recomputes the static-static DH for a new local identity. */
void     nb_wg_handshake_precompute (NbWgHandshake            *handshake,
                                     const NbWgStaticIdentity *identity);
/* Forgets the handshake under way and drops its index; the peer's keys,
 * PSK and latest timestamp stay (§6.3, and a peer leaving). */
void     nb_wg_handshake_clear      (NbWgHandshake *handshake);
/* Frees what init set up, and drops an index left (nobody else may use the
 * handshake any more). */
void     nb_wg_handshake_destroy    (NbWgHandshake *handshake);
/* Sets (@psk 32 bytes) or removes (@psk %NULL) the preshared key; returns
 * whether a non-zero key is now set. */
gboolean nb_wg_handshake_set_preshared_key  (NbWgHandshake *handshake,
                                             const guint8  *psk);
/* Copies the preshared key into @out (32 bytes, all zero for none); returns
 * whether it is non-zero. */
gboolean nb_wg_handshake_copy_preshared_key (NbWgHandshake *handshake,
                                             guint8        *out);

/* Fills @msg (except its MACs) under a fresh index from the owner and moves
 * @handshake to CREATED_INITIATION (§5.4.2). */
gboolean nb_wg_noise_create_initiation (NbWgHandshake            *handshake,
                                        const NbWgStaticIdentity *identity,
                                        const guint8             *timestamp,
                                        NbWgMessageInitiation    *msg);
/* The responder's step, whole: opens an initiation whose MACs were checked
 * (§5.4.2), fills @response (except its MACs) under a fresh index (§5.4.3)
 * and begins the session (§5.4.5), whose keypair the owner slots under that
 * index. @now is monotonic µs. Returns the handshake of the sending peer,
 * zeroed again, or NULL: unknown peer (or one @lookup refuses), failed
 * decryption, replayed or too frequent initiation, no index. */
NbWgHandshake *nb_wg_noise_consume_initiation (const NbWgStaticIdentity    *identity,
                                               const NbWgMessageInitiation *msg,
                                               gint64                       now,
                                               NbWgHandshakeByStaticFunc    lookup,
                                               gpointer                     user_data,
                                               NbWgMessageResponse         *response);
/* The initiator's last step, whole: opens a response (§5.4.3) to the
 * initiation of the handshake @lookup finds by its receiver index, and
 * begins the session (§5.4.5), whose keypair the owner slots under the
 * initiation's index. @now is monotonic µs. Returns the handshake, zeroed
 * again, or NULL: no such initiation under way (or a peer @lookup refuses),
 * failed decryption. */
NbWgHandshake *nb_wg_noise_consume_response (const NbWgStaticIdentity  *identity,
                                             const NbWgMessageResponse *msg,
                                             gint64                     now,
                                             NbWgHandshakeByIndexFunc   lookup,
                                             gpointer                   user_data);

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
