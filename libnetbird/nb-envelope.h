/* nb-envelope.h: sealed envelopes between two keys
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#if !defined(__NETBIRD_H_INSIDE__) && !defined(NB_COMPILATION)
#error "Only <netbird.h> can be included directly."
#endif

#include <glib-object.h>
#include "nb-export.h"
#include "nb-key.h"

G_BEGIN_DECLS

/**
 * NB_ENVELOPE_HEADER_LEN:
 *
 * The bytes an envelope carries before its sealed box: a version byte, the
 * sender's and the recipient's public keys and a 24-byte nonce.
 */
#define NB_ENVELOPE_HEADER_LEN 89 /* 1 + 32 + 32 + 24 */

/**
 * NB_ENVELOPE_OVERHEAD:
 *
 * How many bytes longer an envelope is than the plaintext it seals.
 */
#define NB_ENVELOPE_OVERHEAD 105 /* NB_ENVELOPE_HEADER_LEN + 16 */

/**
 * NB_ENVELOPE_ERROR:
 *
 * The error domain of nb_envelope_open() and nb_envelope_seal().
 */
#define NB_ENVELOPE_ERROR (nb_envelope_error_quark ())

/**
 * NbEnvelopeError:
 * @NB_ENVELOPE_ERROR_TRUNCATED: the envelope is shorter than its header and
 *   authentication tag
 * @NB_ENVELOPE_ERROR_UNKNOWN_VERSION: the envelope was written in a format
 *   this library does not know
 * @NB_ENVELOPE_ERROR_WRONG_RECIPIENT: the envelope is addressed to another key
 * @NB_ENVELOPE_ERROR_AUTHENTICATION_FAILED: the envelope was altered, or was
 *   not sealed by the key it names as its sender
 * @NB_ENVELOPE_ERROR_NO_PRIVATE_KEY: the key given as sender (to seal) or as
 *   recipient (to open) holds no private key
 *
 * Errors of sealed envelopes.
 */
typedef enum {
  NB_ENVELOPE_ERROR_TRUNCATED,
  NB_ENVELOPE_ERROR_UNKNOWN_VERSION,
  NB_ENVELOPE_ERROR_WRONG_RECIPIENT,
  NB_ENVELOPE_ERROR_AUTHENTICATION_FAILED,
  NB_ENVELOPE_ERROR_NO_PRIVATE_KEY,
} NbEnvelopeError;

NB_AVAILABLE_IN_ALL
GQuark  nb_envelope_error_quark (void);

NB_AVAILABLE_IN_ALL
GBytes *nb_envelope_seal        (NbKey    *sender,
                                 NbKey    *recipient,
                                 GBytes   *plaintext,
                                 GError  **error);
NB_AVAILABLE_IN_ALL
GBytes *nb_envelope_open        (NbKey    *recipient,
                                 GBytes   *envelope,
                                 NbKey   **sender,
                                 GError  **error);

G_END_DECLS
