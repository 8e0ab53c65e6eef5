/* nb-relay-token.c: relay tokens and peer ids
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <string.h>

#include <sodium.h>

#include "nb-relay-frame-private.h"
#include "nb-relay-token-private.h"

void
nb_relay_peer_id_of_key (const guint8 key[32],
                         guint8       id[NB_RELAY_PEER_ID_LEN])
{
  guint8 digest[crypto_hash_sha256_BYTES];

  crypto_hash_sha256 (digest, key, 32);
  memcpy (id, digest, NB_RELAY_PEER_ID_LEN);
}

char *
nb_relay_peer_id_to_string (const guint8 id[NB_RELAY_PEER_ID_LEN])
{
  char hex[NB_RELAY_PEER_ID_LEN * 2 + 1];

  sodium_bin2hex (hex, sizeof hex, id, NB_RELAY_PEER_ID_LEN);
  return g_strdup (hex);
}

static void
hmac (const char   *secret,
      const char   *payload,
      gsize         payload_len,
      guint8        out[crypto_auth_hmacsha256_BYTES])
{
  crypto_auth_hmacsha256_state state;

  crypto_auth_hmacsha256_init (&state, (const guint8 *) secret, strlen (secret));
  crypto_auth_hmacsha256_update (&state, (const guint8 *) payload, payload_len);
  crypto_auth_hmacsha256_final (&state, out);
  sodium_memzero (&state, sizeof state);
}

void
nb_relay_token_make (const char  *secret,
                     gint64       expires,
                     const char  *key_base64,
                     char       **payload,
                     char       **signature)
{
  guint8 digest[crypto_auth_hmacsha256_BYTES];

  *payload = g_strdup_printf ("%" G_GINT64_FORMAT ":%s", expires, key_base64);
  hmac (secret, *payload, strlen (*payload), digest);
  *signature = g_base64_encode (digest, sizeof digest);
}

NbRelayTokenResult
nb_relay_token_verify (const char   *secret,
                       const char   *payload,
                       gsize         payload_len,
                       const char   *signature,
                       gsize         signature_len,
                       const guint8  key[32],
                       gint64        now)
{
  guint8 expected[crypto_auth_hmacsha256_BYTES];
  guint8 given[crypto_auth_hmacsha256_BYTES];
  guint8 token_key[32];
  gsize given_len = 0, key_len = 0;
  const char *colon;
  gint64 expires = 0;

  /* The signature first: nothing of an unsigned payload is read. */
  if (sodium_base642bin (given, sizeof given, signature, signature_len, NULL, &given_len, NULL,
                         sodium_base64_VARIANT_ORIGINAL) != 0 ||
      given_len != sizeof given)
    return NB_RELAY_TOKEN_INVALID;
  hmac (secret, payload, payload_len, expected);
  if (sodium_memcmp (expected, given, sizeof expected) != 0)
    return NB_RELAY_TOKEN_INVALID;

  colon = memchr (payload, ':', payload_len);
  if (colon == NULL || colon == payload || colon - payload > 18)
    return NB_RELAY_TOKEN_INVALID;
  for (const char *p = payload; p < colon; p++)
    {
      if (!g_ascii_isdigit (*p))
        return NB_RELAY_TOKEN_INVALID;
      expires = expires * 10 + (*p - '0');
    }
  if (sodium_base642bin (token_key, sizeof token_key, colon + 1,
                         payload_len - (colon + 1 - payload), NULL, &key_len, NULL,
                         sodium_base64_VARIANT_ORIGINAL) != 0 ||
      key_len != sizeof token_key)
    return NB_RELAY_TOKEN_INVALID;
  if (expires <= now)
    return NB_RELAY_TOKEN_EXPIRED;
  if (sodium_memcmp (token_key, key, sizeof token_key) != 0)
    return NB_RELAY_TOKEN_OTHER_PEER;
  return NB_RELAY_TOKEN_VALID;
}
