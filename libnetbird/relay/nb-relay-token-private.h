/* nb-relay-token-private.h: the tokens that admit a peer to a relay
 *
 * Library-internal.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * Management issues them (nb-mgmt-netmap-wire.c, make_relay_token()): the
 * payload is "EXPIRY:KEY" (Unix seconds, the peer's WireGuard public key in
 * base64), the signature the base64 of HMAC-SHA256 over the payload keyed
 * with the secret Management and the relay share. A token is bound to the
 * peer (its key) and to a time; the relay also makes the peer prove that it
 * holds the key's private half, so a token seen by someone else is of no
 * use to them.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  NB_RELAY_TOKEN_VALID,
  NB_RELAY_TOKEN_INVALID,     /* unreadable, or the signature does not match */
  NB_RELAY_TOKEN_EXPIRED,
  NB_RELAY_TOKEN_OTHER_PEER,  /* genuine, but for another key */
} NbRelayTokenResult;

/* The token for @key_base64 valid until @expires (Unix seconds). */
void               nb_relay_token_make   (const char    *secret,
                                          gint64         expires,
                                          const char    *key_base64,
                                          char         **payload,
                                          char         **signature);
/* Checks a token as an auth frame carries it (not NUL-terminated) for the
 * peer whose raw public key is @key, at @now (Unix seconds). */
NbRelayTokenResult nb_relay_token_verify (const char    *secret,
                                          const char    *payload,
                                          gsize          payload_len,
                                          const char    *signature,
                                          gsize          signature_len,
                                          const guint8   key[32],
                                          gint64         now);

G_END_DECLS
