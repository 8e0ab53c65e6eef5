/* fuzz-relay-proto.c: the Relay frame parser and token check on any input
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * What the relay and its clients read from any connection. A parse gives a
 * frame or an NB_PROTO_ERROR, never both; every pointer of a frame lies in
 * the input; a frame the writers can make writes back to the same bytes.
 * An auth frame's token is checked as the server checks it: no input makes
 * it valid without the secret.
 */
#include <stdint.h>
#include <string.h>

#include "nb-proto-error.h"
#include "nb-relay-frame-private.h"
#include "nb-relay-token-private.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
assert_inside (const uint8_t *data,
               size_t         size,
               const void    *p,
               size_t         len)
{
  if (p == NULL)
    return;
  g_assert_true ((const uint8_t *) p >= data);
  g_assert_true ((const uint8_t *) p + len <= data + size);
}

static void
check_rewrite (const uint8_t *data,
               size_t         size,
               GBytes        *written)
{
  g_assert_cmpmem (g_bytes_get_data (written, NULL), g_bytes_get_size (written), data, size);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GError) error = NULL;
  NbRelayFrame frame;
  gboolean ok = nb_relay_frame_parse (data, size, &frame, &error);

  g_assert_true (ok == (error == NULL));
  if (!ok)
    {
      g_assert_true (error->domain == NB_PROTO_ERROR);
      return 0;
    }
  assert_inside (data, size, frame.id, NB_RELAY_PEER_ID_LEN);
  assert_inside (data, size, frame.key, 32);
  assert_inside (data, size, frame.token_payload, frame.token_payload_len);
  assert_inside (data, size, frame.token_signature, frame.token_signature_len);
  assert_inside (data, size, frame.text, frame.text_len);
  assert_inside (data, size, frame.payload, frame.payload_len);
  assert_inside (data, size, frame.ids, (size_t) frame.n_ids * NB_RELAY_PEER_ID_LEN);

  switch (frame.type)
    {
    case NB_RELAY_FRAME_AUTH:
      {
        g_autofree char *payload = g_strndup (frame.token_payload, frame.token_payload_len);
        g_autofree char *signature = g_strndup (frame.token_signature, frame.token_signature_len);
        g_autoptr(GBytes) written = nb_relay_frame_new_auth (frame.key, payload, signature);

        check_rewrite (data, size, written);
        g_assert_cmpint (nb_relay_token_verify ("fuzz-secret", frame.token_payload,
                                                frame.token_payload_len, frame.token_signature,
                                                frame.token_signature_len, frame.key, 0),
                         ==, NB_RELAY_TOKEN_INVALID);
      }
      break;
    case NB_RELAY_FRAME_CHALLENGE:
    case NB_RELAY_FRAME_PROOF:
      {
        g_autofree char *text = g_strndup (frame.text, frame.text_len);
        g_autoptr(GBytes) written = nb_relay_frame_new_text (frame.type, text);

        check_rewrite (data, size, written);
      }
      break;
    case NB_RELAY_FRAME_AUTH_OK:
    case NB_RELAY_FRAME_ONLINE:
    case NB_RELAY_FRAME_OFFLINE:
      {
        g_autoptr(GBytes) written = nb_relay_frame_new_id (frame.type, frame.id);

        check_rewrite (data, size, written);
      }
      break;
    case NB_RELAY_FRAME_WATCH:
      {
        g_autoptr(GBytes) written = nb_relay_frame_new_watch (frame.ids, frame.n_ids);

        check_rewrite (data, size, written);
      }
      break;
    case NB_RELAY_FRAME_PING:
    case NB_RELAY_FRAME_PONG:
      {
        g_autoptr(GBytes) written = nb_relay_frame_new_ping (frame.type, frame.nonce);

        check_rewrite (data, size, written);
      }
      break;
    case NB_RELAY_FRAME_TRANSPORT:
      {
        g_autofree guint8 *copy = g_malloc (size);

        memcpy (copy + NB_RELAY_PROTO_TRANSPORT_HEADER_LEN, frame.payload, frame.payload_len);
        nb_relay_frame_write_transport_header (copy, frame.id);
        g_assert_cmpmem (copy, size, data, size);
      }
      break;
    case NB_RELAY_FRAME_CLOSE:
      g_assert_true (g_utf8_validate_len (frame.text, frame.text_len, NULL));
      break;
    default:
      g_assert_not_reached ();
    }
  return 0;
}
