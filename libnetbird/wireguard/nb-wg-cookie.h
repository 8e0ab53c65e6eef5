/* nb-wg-cookie.h: mac1, mac2 and cookie replies (WireGuard paper §5.4.4, §5.4.7)
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#include <glib.h>
#include "nb-wg-messages.h"

G_BEGIN_DECLS

/* The device's side: checks MACs of incoming handshake messages and makes
 * cookies. Guarded by @lock (the secret rotates). */
typedef struct {
  GMutex lock;
  guint8 secret[NB_WG_HASH_LEN];
  gint64 secret_birthdate;
  guint8 mac1_key[NB_WG_HASH_LEN];
  guint8 cookie_encryption_key[NB_WG_KEY_LEN];
} NbWgCookieChecker;

/* A peer's side: the MAC keys for messages to it and the last cookie it
 * gave us. Guarded by @lock. */
typedef struct {
  GMutex lock;
  guint8 mac1_key[NB_WG_HASH_LEN];
  guint8 cookie_decryption_key[NB_WG_KEY_LEN];
  guint8 cookie[NB_WG_COOKIE_LEN];
  gint64 cookie_birthdate;
  gboolean is_cookie_valid;
  gboolean have_sent_mac1;
  guint8 last_mac1_sent[NB_WG_MAC_LEN];
} NbWgCookie;

typedef enum {
  NB_WG_COOKIE_MAC_INVALID,
  NB_WG_COOKIE_MAC_VALID_NO_COOKIE,
  NB_WG_COOKIE_MAC_VALID_WITH_COOKIE,
} NbWgCookieMacState;

void nb_wg_cookie_checker_init    (NbWgCookieChecker *checker);
void nb_wg_cookie_checker_set_key (NbWgCookieChecker *checker,
                                   const guint8      *own_public_key);
void nb_wg_cookie_checker_clear   (NbWgCookieChecker *checker);

/* @message is an initiation or response of @len bytes, ending with its
 * NbWgMacs. @source is the sender's address as bytes (IP then port, network
 * order), @check_mac2 whether the device is under load. @now: monotonic µs. */
NbWgCookieMacState nb_wg_cookie_validate (NbWgCookieChecker *checker,
                                          const guint8      *message,
                                          gsize              len,
                                          const guint8      *source,
                                          gsize              source_len,
                                          gboolean           check_mac2,
                                          gint64             now);
void nb_wg_cookie_create_reply (NbWgCookieChecker      *checker,
                                const guint8           *message,
                                gsize                   len,
                                guint32                 sender_index,
                                const guint8           *source,
                                gsize                   source_len,
                                gint64                  now,
                                NbWgMessageCookieReply *reply);

void     nb_wg_cookie_init       (NbWgCookie   *cookie,
                                  const guint8 *peer_public_key);
void     nb_wg_cookie_clear      (NbWgCookie *cookie);
/* Fills the MACs at the end of @message (§5.4.4). */
void     nb_wg_cookie_add_macs   (NbWgCookie *cookie,
                                  guint8     *message,
                                  gsize       len,
                                  gint64      now);
gboolean nb_wg_cookie_consume_reply (NbWgCookie                   *cookie,
                                     const NbWgMessageCookieReply *reply,
                                     gint64                        now);

G_END_DECLS
