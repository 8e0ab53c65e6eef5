/* nb-envelope.c: sealed envelopes between two keys
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <string.h>

#include <sodium.h>

#include "nb-envelope.h"
#include "nb-key-private.h"
#include "nb-sodium-private.h"

/**
 * NbEnvelope:
 *
 * Sealed envelopes carry every message a peer sends to Management or, through
 * Signal, to another peer: authenticated encryption between the sender's
 * WireGuard key and the recipient's (crypto_box: X25519, XSalsa20-Poly1305).
 * A relay in between sees the two public keys and ciphertext, nothing else.
 *
 * An envelope is laid out as:
 *
 * | bytes | content |
 * | --- | --- |
 * | 1 | format version, 1 |
 * | 32 | sender's public key |
 * | 32 | recipient's public key |
 * | 24 | random nonce |
 * | 16 + n | Poly1305 tag and ciphertext of the n-byte message |
 *
 * Naming both keys lets a server find the sender's record before it opens the
 * box, and lets the recipient tell a misdelivered envelope from a forged one.
 * The header is authenticated with the message: X25519 ignores the top bit of
 * a public key (RFC 7748 §5), so without that a sender field with its top
 * bit flipped would still open, naming a key the sender never had.
 */

#define ENVELOPE_VERSION 1
#define OFFSET_SENDER 1
#define OFFSET_RECIPIENT (OFFSET_SENDER + NB_KEY_LEN)
#define OFFSET_NONCE (OFFSET_RECIPIENT + NB_KEY_LEN)
#define OFFSET_BOX (OFFSET_NONCE + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)

G_STATIC_ASSERT (crypto_box_BEFORENMBYTES == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
G_STATIC_ASSERT (crypto_aead_xchacha20poly1305_ietf_ABYTES == 16);

G_STATIC_ASSERT (OFFSET_BOX == NB_ENVELOPE_HEADER_LEN);
G_STATIC_ASSERT (NB_ENVELOPE_OVERHEAD == NB_ENVELOPE_HEADER_LEN + 16);

G_DEFINE_QUARK (nb-envelope-error-quark, nb_envelope_error)

/**
 * nb_envelope_seal:
 * @sender: the sender's key, with its private half
 * @recipient: the recipient's key; its public half is enough
 * @plaintext: the message
 * @error: return location for a #GError
 *
 * Seals @plaintext so that only @recipient can open it, and so that the
 * recipient knows @sender wrote it. Each envelope carries a fresh random
 * nonce.
 *
 * Returns: (transfer full): the envelope, %NB_ENVELOPE_OVERHEAD bytes longer
 *   than @plaintext, or %NULL with @error set to
 *   %NB_ENVELOPE_ERROR_NO_PRIVATE_KEY
 */
GBytes *
nb_envelope_seal (NbKey   *sender,
                  NbKey   *recipient,
                  GBytes  *plaintext,
                  GError **error)
{
  const guint8 *sender_private;
  const guint8 *message;
  gsize message_len = 0;
  guint8 shared[crypto_box_BEFORENMBYTES];
  guint8 *out;

  g_return_val_if_fail (NB_IS_KEY (sender), NULL);
  g_return_val_if_fail (NB_IS_KEY (recipient), NULL);
  g_return_val_if_fail (plaintext != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  nb_sodium_ensure_init ();

  sender_private = nb_key_get_private_data (sender);
  if (sender_private == NULL)
    {
      g_set_error_literal (error, NB_ENVELOPE_ERROR, NB_ENVELOPE_ERROR_NO_PRIVATE_KEY,
                           "Cannot seal an envelope with a sender key that has no private half");
      return NULL;
    }

  message = g_bytes_get_data (plaintext, &message_len);
  if (message_len > G_MAXSIZE - NB_ENVELOPE_OVERHEAD)
    {
      g_set_error_literal (error, NB_ENVELOPE_ERROR, NB_ENVELOPE_ERROR_TRUNCATED,
                           "Message too large to seal");
      return NULL;
    }

  out = g_malloc (message_len + NB_ENVELOPE_OVERHEAD);
  out[0] = ENVELOPE_VERSION;
  memcpy (out + OFFSET_SENDER, nb_key_get_public_data (sender, NULL), NB_KEY_LEN);
  memcpy (out + OFFSET_RECIPIENT, nb_key_get_public_data (recipient, NULL), NB_KEY_LEN);
  randombytes_buf (out + OFFSET_NONCE, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);

  /* crypto_box_beforenm fails only for a low-order public key, whose shared
   * secret would be all zeroes: refuse to seal to it. */
  if (crypto_box_beforenm (shared, nb_key_get_public_data (recipient, NULL), sender_private) != 0)
    {
      g_free (out);
      g_set_error (error, NB_ENVELOPE_ERROR, NB_ENVELOPE_ERROR_AUTHENTICATION_FAILED,
                   "Cannot seal to key %s: it is not a usable Curve25519 public key",
                   nb_key_get_public_base64 (recipient));
      return NULL;
    }

  crypto_aead_xchacha20poly1305_ietf_encrypt (out + OFFSET_BOX, NULL,
                                              message, message_len,
                                              out, OFFSET_NONCE,
                                              NULL, out + OFFSET_NONCE, shared);
  sodium_memzero (shared, sizeof shared);

  return g_bytes_new_take (out, message_len + NB_ENVELOPE_OVERHEAD);
}

/**
 * nb_envelope_open:
 * @recipient: the recipient's key, with its private half
 * @envelope: an envelope made by nb_envelope_seal()
 * @sender: (out) (optional) (transfer full): the sender's public key, once
 *   the envelope has been authenticated
 * @error: return location for a #GError
 *
 * Opens an envelope addressed to @recipient and authenticates its sender.
 *
 * An envelope that is too short fails with %NB_ENVELOPE_ERROR_TRUNCATED, one
 * addressed to another key with %NB_ENVELOPE_ERROR_WRONG_RECIPIENT, and one
 * altered in any byte, or forged, with
 * %NB_ENVELOPE_ERROR_AUTHENTICATION_FAILED. Nothing of an envelope is
 * returned unless it is authentic.
 *
 * Returns: (transfer full): the message, or %NULL with @error set
 */
GBytes *
nb_envelope_open (NbKey   *recipient,
                  GBytes  *envelope,
                  NbKey  **sender,
                  GError **error)
{
  const guint8 *recipient_private;
  const guint8 *data;
  gsize data_len = 0;
  gsize message_len;
  guint8 shared[crypto_box_BEFORENMBYTES];
  guint8 *message;
  int rc;

  g_return_val_if_fail (NB_IS_KEY (recipient), NULL);
  g_return_val_if_fail (envelope != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  nb_sodium_ensure_init ();

  recipient_private = nb_key_get_private_data (recipient);
  if (recipient_private == NULL)
    {
      g_set_error_literal (error, NB_ENVELOPE_ERROR, NB_ENVELOPE_ERROR_NO_PRIVATE_KEY,
                           "Cannot open an envelope with a recipient key that has no private half");
      return NULL;
    }

  data = g_bytes_get_data (envelope, &data_len);
  if (data_len < 1)
    {
      g_set_error_literal (error, NB_ENVELOPE_ERROR, NB_ENVELOPE_ERROR_TRUNCATED,
                           "Envelope is empty");
      return NULL;
    }
  if (data[0] != ENVELOPE_VERSION)
    {
      g_set_error (error, NB_ENVELOPE_ERROR, NB_ENVELOPE_ERROR_UNKNOWN_VERSION,
                   "Envelope format %u is not known (this library reads format %u)",
                   data[0], ENVELOPE_VERSION);
      return NULL;
    }
  if (data_len < NB_ENVELOPE_OVERHEAD)
    {
      g_set_error (error, NB_ENVELOPE_ERROR, NB_ENVELOPE_ERROR_TRUNCATED,
                   "Envelope is truncated: %" G_GSIZE_FORMAT " bytes, at least %d expected",
                   data_len, NB_ENVELOPE_OVERHEAD);
      return NULL;
    }
  if (sodium_memcmp (data + OFFSET_RECIPIENT, nb_key_get_public_data (recipient, NULL),
                     NB_KEY_LEN) != 0)
    {
      char addressee[NB_KEY_BASE64_LEN + 1];

      sodium_bin2base64 (addressee, sizeof addressee, data + OFFSET_RECIPIENT, NB_KEY_LEN,
                         sodium_base64_VARIANT_ORIGINAL);
      g_set_error (error, NB_ENVELOPE_ERROR, NB_ENVELOPE_ERROR_WRONG_RECIPIENT,
                   "Envelope is addressed to key %s, not to %s",
                   addressee, nb_key_get_public_base64 (recipient));
      return NULL;
    }

  message_len = data_len - NB_ENVELOPE_OVERHEAD;
  message = g_malloc (message_len + 1);
  rc = crypto_box_beforenm (shared, data + OFFSET_SENDER, recipient_private);
  if (rc == 0)
    rc = crypto_aead_xchacha20poly1305_ietf_decrypt (message, NULL, NULL,
                                                     data + OFFSET_BOX, data_len - OFFSET_BOX,
                                                     data, OFFSET_NONCE,
                                                     data + OFFSET_NONCE, shared);
  sodium_memzero (shared, sizeof shared);
  if (rc != 0)
    {
      g_free (message);
      g_set_error_literal (error, NB_ENVELOPE_ERROR, NB_ENVELOPE_ERROR_AUTHENTICATION_FAILED,
                           "Envelope failed authentication: it was altered, or not sealed "
                           "by the key it names as sender");
      return NULL;
    }
  /* A NUL past the end makes text messages safe to read as C strings;
   * it is not part of the returned length. */
  message[message_len] = '\0';

  if (sender != NULL)
    *sender = nb_key_new_public_from_data (data + OFFSET_SENDER, NB_KEY_LEN, NULL);

  return g_bytes_new_take (message, message_len);
}
