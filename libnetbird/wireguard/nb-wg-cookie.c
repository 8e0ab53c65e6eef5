/* nb-wg-cookie.c: mac1, mac2 and cookie replies
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * WireGuard paper §5.3 and §5.4.7. mac1 proves the sender knows our public
 * key; under load, mac2 proves it can receive at its source address, which
 * the cookie (a MAC of that address under a secret rotated every two
 * minutes) binds.
 */
#define G_LOG_DOMAIN "netbird-wg"

#include <string.h>

#include <sodium.h>

#include "nb-sodium-private.h"
#include "nb-wg-cookie.h"
#include "nb-wg-noise.h"

static void
derive_key (guint8 out[NB_WG_HASH_LEN], const char *label, const guint8 *public_key)
{
  nb_wg_hash (out, (const guint8 *) label, strlen (label), public_key, NB_WG_KEY_LEN);
}

void
nb_wg_cookie_checker_init (NbWgCookieChecker *checker)
{
  nb_sodium_ensure_init ();
  memset (checker, 0, sizeof *checker);
  g_mutex_init (&checker->lock);
}

void
nb_wg_cookie_checker_set_key (NbWgCookieChecker *checker,
                              const guint8      *own_public_key)
{
  g_mutex_lock (&checker->lock);
  if (own_public_key != NULL)
    {
      derive_key (checker->mac1_key, NB_WG_LABEL_MAC1, own_public_key);
      derive_key (checker->cookie_encryption_key, NB_WG_LABEL_COOKIE, own_public_key);
    }
  else
    {
      sodium_memzero (checker->mac1_key, sizeof checker->mac1_key);
      sodium_memzero (checker->cookie_encryption_key, sizeof checker->cookie_encryption_key);
    }
  g_mutex_unlock (&checker->lock);
}

void
nb_wg_cookie_checker_clear (NbWgCookieChecker *checker)
{
  g_mutex_clear (&checker->lock);
  sodium_memzero (checker, sizeof *checker);
}

/* τ = MAC(Rm, Aip); the secret is renewed when older than two minutes.
 * Caller holds the checker lock. */
static void
make_cookie (NbWgCookieChecker *checker,
             guint8             cookie[NB_WG_COOKIE_LEN],
             const guint8      *source,
             gsize              source_len,
             gint64             now)
{
  if (checker->secret_birthdate == 0 ||
      now - checker->secret_birthdate > NB_WG_COOKIE_SECRET_MAX_AGE * G_USEC_PER_SEC)
    {
      randombytes_buf (checker->secret, sizeof checker->secret);
      checker->secret_birthdate = now;
    }
  nb_wg_mac (cookie, checker->secret, sizeof checker->secret, source, source_len);
}

NbWgCookieMacState
nb_wg_cookie_validate (NbWgCookieChecker *checker,
                       const guint8      *message,
                       gsize              len,
                       const guint8      *source,
                       gsize              source_len,
                       gboolean           check_mac2,
                       gint64             now)
{
  const NbWgMacs *macs;
  guint8 computed[NB_WG_MAC_LEN];
  guint8 cookie[NB_WG_COOKIE_LEN];
  NbWgCookieMacState state = NB_WG_COOKIE_MAC_INVALID;
  gsize mac1_offset;

  if (len < sizeof (NbWgMacs))
    return NB_WG_COOKIE_MAC_INVALID;
  macs = (const NbWgMacs *) (message + len - sizeof (NbWgMacs));
  mac1_offset = len - sizeof (NbWgMacs);

  g_mutex_lock (&checker->lock);
  nb_wg_mac (computed, checker->mac1_key, sizeof checker->mac1_key, message, mac1_offset);
  if (sodium_memcmp (computed, macs->mac1, NB_WG_MAC_LEN) != 0)
    goto out;
  state = NB_WG_COOKIE_MAC_VALID_NO_COOKIE;
  if (!check_mac2)
    goto out;

  /* A secret older than its lifetime makes no valid cookie any more. */
  if (checker->secret_birthdate == 0 ||
      now - checker->secret_birthdate > NB_WG_COOKIE_SECRET_MAX_AGE * G_USEC_PER_SEC)
    goto out;
  make_cookie (checker, cookie, source, source_len, now);
  nb_wg_mac (computed, cookie, sizeof cookie, message, mac1_offset + NB_WG_MAC_LEN);
  if (sodium_memcmp (computed, macs->mac2, NB_WG_MAC_LEN) == 0)
    state = NB_WG_COOKIE_MAC_VALID_WITH_COOKIE;

out:
  g_mutex_unlock (&checker->lock);
  sodium_memzero (cookie, sizeof cookie);
  return state;
}

void
nb_wg_cookie_create_reply (NbWgCookieChecker      *checker,
                           const guint8           *message,
                           gsize                   len,
                           guint32                 sender_index,
                           const guint8           *source,
                           gsize                   source_len,
                           gint64                  now,
                           NbWgMessageCookieReply *reply)
{
  const NbWgMacs *macs = (const NbWgMacs *) (message + len - sizeof (NbWgMacs));
  guint8 cookie[NB_WG_COOKIE_LEN];

  memset (reply, 0, sizeof *reply);
  reply->header.type = NB_WG_MESSAGE_HANDSHAKE_COOKIE;
  reply->receiver_index = GUINT32_TO_LE (sender_index);
  randombytes_buf (reply->nonce, sizeof reply->nonce);

  g_mutex_lock (&checker->lock);
  make_cookie (checker, cookie, source, source_len, now);
  /* §5.4.7: XAEAD(HASH(LABEL_COOKIE || Spub_m), nonce, τ, mac1 of the message) */
  crypto_aead_xchacha20poly1305_ietf_encrypt (reply->encrypted_cookie, NULL, cookie,
                                              sizeof cookie, macs->mac1, NB_WG_MAC_LEN, NULL,
                                              reply->nonce, checker->cookie_encryption_key);
  g_mutex_unlock (&checker->lock);
  sodium_memzero (cookie, sizeof cookie);
}

void
nb_wg_cookie_init (NbWgCookie   *cookie,
                   const guint8 *peer_public_key)
{
  nb_sodium_ensure_init ();
  memset (cookie, 0, sizeof *cookie);
  g_mutex_init (&cookie->lock);
  derive_key (cookie->mac1_key, NB_WG_LABEL_MAC1, peer_public_key);
  derive_key (cookie->cookie_decryption_key, NB_WG_LABEL_COOKIE, peer_public_key);
}

void
nb_wg_cookie_clear (NbWgCookie *cookie)
{
  g_mutex_clear (&cookie->lock);
  sodium_memzero (cookie, sizeof *cookie);
}

void
nb_wg_cookie_add_macs (NbWgCookie *cookie,
                       guint8     *message,
                       gsize       len,
                       gint64      now)
{
  NbWgMacs *macs = (NbWgMacs *) (message + len - sizeof (NbWgMacs));
  gsize mac1_offset = len - sizeof (NbWgMacs);

  g_mutex_lock (&cookie->lock);
  nb_wg_mac (macs->mac1, cookie->mac1_key, sizeof cookie->mac1_key, message, mac1_offset);
  memcpy (cookie->last_mac1_sent, macs->mac1, NB_WG_MAC_LEN);
  cookie->have_sent_mac1 = TRUE;

  /* A cookie is used until shortly before the responder's secret may have
   * changed (§5.4.7). */
  if (cookie->is_cookie_valid &&
      now - cookie->cookie_birthdate <
          (NB_WG_COOKIE_SECRET_MAX_AGE - NB_WG_COOKIE_SECRET_LATENCY) * G_USEC_PER_SEC)
    nb_wg_mac (macs->mac2, cookie->cookie, NB_WG_COOKIE_LEN, message,
               mac1_offset + NB_WG_MAC_LEN);
  else
    memset (macs->mac2, 0, NB_WG_MAC_LEN);
  g_mutex_unlock (&cookie->lock);
}

gboolean
nb_wg_cookie_consume_reply (NbWgCookie                   *cookie,
                            const NbWgMessageCookieReply *reply,
                            gint64                        now)
{
  guint8 value[NB_WG_COOKIE_LEN];
  gboolean ok = FALSE;

  g_mutex_lock (&cookie->lock);
  if (!cookie->have_sent_mac1)
    goto out;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt (value, NULL, NULL, reply->encrypted_cookie,
                                                  sizeof reply->encrypted_cookie,
                                                  cookie->last_mac1_sent, NB_WG_MAC_LEN,
                                                  reply->nonce,
                                                  cookie->cookie_decryption_key) != 0)
    goto out;
  memcpy (cookie->cookie, value, NB_WG_COOKIE_LEN);
  cookie->cookie_birthdate = now;
  cookie->is_cookie_valid = TRUE;
  cookie->have_sent_mac1 = FALSE;
  ok = TRUE;

out:
  g_mutex_unlock (&cookie->lock);
  sodium_memzero (value, sizeof value);
  return ok;
}
