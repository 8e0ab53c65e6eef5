/* nb-wg-messages.h: WireGuard wire formats and protocol constants
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * WireGuard paper §5.4 (messages) and §6 (timers). Every multi-byte integer on
 * the wire is little-endian. The structs are packed and only ever overlaid on
 * buffers whose length was checked against their size first.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define NB_WG_KEY_LEN 32
#define NB_WG_HASH_LEN 32
#define NB_WG_MAC_LEN 16
#define NB_WG_AEAD_TAG_LEN 16
#define NB_WG_TIMESTAMP_LEN 12
#define NB_WG_COOKIE_LEN 16
#define NB_WG_COOKIE_NONCE_LEN 24

/* WireGuard paper §5.4: the protocol's name and identifier strings. */
#define NB_WG_CONSTRUCTION "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
#define NB_WG_IDENTIFIER "WireGuard v1 zx2c4 Jason@zx2c4.com"
#define NB_WG_LABEL_MAC1 "mac1----"
#define NB_WG_LABEL_COOKIE "cookie--"

/* WireGuard paper §6.1 and §6.4: limits and timers. Times in seconds. */
#define NB_WG_REKEY_AFTER_MESSAGES (G_GUINT64_CONSTANT (1) << 60)
#define NB_WG_REJECT_AFTER_MESSAGES (G_MAXUINT64 - (G_GUINT64_CONSTANT (1) << 13))
#define NB_WG_REKEY_AFTER_TIME 120
#define NB_WG_REJECT_AFTER_TIME 180
#define NB_WG_REKEY_ATTEMPT_TIME 90
#define NB_WG_REKEY_TIMEOUT 5
#define NB_WG_KEEPALIVE_TIMEOUT 10
#define NB_WG_COOKIE_SECRET_MAX_AGE 120
#define NB_WG_COOKIE_SECRET_LATENCY 5
#define NB_WG_MAX_TIMER_HANDSHAKES (NB_WG_REKEY_ATTEMPT_TIME / NB_WG_REKEY_TIMEOUT)
/* Retransmissions are jittered by up to a third of a second (§6.1). */
#define NB_WG_REKEY_TIMEOUT_JITTER_MAX_USEC (G_USEC_PER_SEC / 3)
/* Initiations from one peer closer together than this are dropped (§5.1). */
#define NB_WG_INITIATIONS_PER_SECOND 50
/* Packets queued for a peer while its handshake is under way. */
#define NB_WG_MAX_STAGED_PACKETS 128

typedef enum {
  NB_WG_MESSAGE_INVALID = 0,
  NB_WG_MESSAGE_HANDSHAKE_INITIATION = 1,
  NB_WG_MESSAGE_HANDSHAKE_RESPONSE = 2,
  NB_WG_MESSAGE_HANDSHAKE_COOKIE = 3,
  NB_WG_MESSAGE_DATA = 4,
} NbWgMessageType;

typedef struct __attribute__ ((packed)) {
  guint8 type;
  guint8 reserved[3];
} NbWgMessageHeader;

typedef struct __attribute__ ((packed)) {
  guint8 mac1[NB_WG_MAC_LEN];
  guint8 mac2[NB_WG_MAC_LEN];
} NbWgMacs;

/* 148 bytes */
typedef struct __attribute__ ((packed)) {
  NbWgMessageHeader header;
  guint32 sender_index;
  guint8 unencrypted_ephemeral[NB_WG_KEY_LEN];
  guint8 encrypted_static[NB_WG_KEY_LEN + NB_WG_AEAD_TAG_LEN];
  guint8 encrypted_timestamp[NB_WG_TIMESTAMP_LEN + NB_WG_AEAD_TAG_LEN];
  NbWgMacs macs;
} NbWgMessageInitiation;

/* 92 bytes */
typedef struct __attribute__ ((packed)) {
  NbWgMessageHeader header;
  guint32 sender_index;
  guint32 receiver_index;
  guint8 unencrypted_ephemeral[NB_WG_KEY_LEN];
  guint8 encrypted_nothing[NB_WG_AEAD_TAG_LEN];
  NbWgMacs macs;
} NbWgMessageResponse;

/* 64 bytes */
typedef struct __attribute__ ((packed)) {
  NbWgMessageHeader header;
  guint32 receiver_index;
  guint8 nonce[NB_WG_COOKIE_NONCE_LEN];
  guint8 encrypted_cookie[NB_WG_COOKIE_LEN + NB_WG_AEAD_TAG_LEN];
} NbWgMessageCookieReply;

/* 16 bytes, followed by the encrypted packet and its 16-byte tag */
typedef struct __attribute__ ((packed)) {
  NbWgMessageHeader header;
  guint32 receiver_index;
  guint64 counter;
} NbWgMessageData;

G_STATIC_ASSERT (sizeof (NbWgMessageInitiation) == 148);
G_STATIC_ASSERT (sizeof (NbWgMessageResponse) == 92);
G_STATIC_ASSERT (sizeof (NbWgMessageCookieReply) == 64);
G_STATIC_ASSERT (sizeof (NbWgMessageData) == 16);

#define NB_WG_DATA_HEADER_LEN ((gsize) sizeof (NbWgMessageData))
/* A keepalive: header and tag around nothing (§6.5). */
#define NB_WG_DATA_MIN_LEN (NB_WG_DATA_HEADER_LEN + NB_WG_AEAD_TAG_LEN)
/* Plaintext is padded to a multiple of this (§5.4.6). */
#define NB_WG_PADDING_MULTIPLE 16

/* The type of a message, or NB_WG_MESSAGE_INVALID when its length does not
 * fit its type or its reserved bytes are not zero. */
static inline NbWgMessageType
nb_wg_message_classify (const guint8 *data,
                        gsize         len)
{
  if (len < sizeof (NbWgMessageHeader) || data[1] != 0 || data[2] != 0 || data[3] != 0)
    return NB_WG_MESSAGE_INVALID;
  switch (data[0])
    {
    case NB_WG_MESSAGE_HANDSHAKE_INITIATION:
      return len == sizeof (NbWgMessageInitiation) ? NB_WG_MESSAGE_HANDSHAKE_INITIATION
                                                   : NB_WG_MESSAGE_INVALID;
    case NB_WG_MESSAGE_HANDSHAKE_RESPONSE:
      return len == sizeof (NbWgMessageResponse) ? NB_WG_MESSAGE_HANDSHAKE_RESPONSE
                                                 : NB_WG_MESSAGE_INVALID;
    case NB_WG_MESSAGE_HANDSHAKE_COOKIE:
      return len == sizeof (NbWgMessageCookieReply) ? NB_WG_MESSAGE_HANDSHAKE_COOKIE
                                                    : NB_WG_MESSAGE_INVALID;
    case NB_WG_MESSAGE_DATA:
      return len >= NB_WG_DATA_MIN_LEN ? NB_WG_MESSAGE_DATA : NB_WG_MESSAGE_INVALID;
    default:
      return NB_WG_MESSAGE_INVALID;
    }
}

G_END_DECLS
