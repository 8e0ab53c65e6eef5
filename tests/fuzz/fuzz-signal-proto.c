/* fuzz-signal-proto.c: the Signal message parsers on any input
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * The envelope is what the Signal server reads from any connection; the
 * body is what a peer reads once it opened an envelope. Each parse gives a
 * message or an NB_PROTO_ERROR, never both, and a message it gives writes
 * back to JSON that parses again to the same bytes. A body is also sealed
 * and opened again, as a peer would send it on.
 */
#include <stdint.h>

#include "nb-signal-proto-private.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define CHECK_MESSAGE(TypeName, type_name, bytes, out)                             \
  G_STMT_START {                                                                   \
    g_autoptr(GError) error = NULL;                                                \
    TypeName *message = type_name##_from_bytes ((bytes), &error);                  \
                                                                                   \
    g_assert ((message == NULL) != (error == NULL));                               \
    if (message == NULL)                                                           \
      g_assert_true (error->domain == NB_PROTO_ERROR);                             \
    else                                                                           \
      {                                                                            \
        g_autoptr(GBytes) written = type_name##_to_bytes (message);                \
        g_autoptr(TypeName) again = type_name##_from_bytes (written, &error);      \
        g_autoptr(GBytes) rewritten = NULL;                                        \
                                                                                   \
        g_assert_no_error (error);                                                 \
        rewritten = type_name##_to_bytes (again);                                  \
        g_assert_true (g_bytes_equal (written, rewritten));                        \
      }                                                                            \
    *(out) = message;                                                              \
  } G_STMT_END

static NbKey *sender_key, *recipient_key;

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GBytes) bytes = g_bytes_new_static (data, size);
  g_autoptr(NbSignalMsgEnvelope) envelope = NULL;
  g_autoptr(NbSignalMsgBody) body = NULL;

  if (sender_key == NULL)
    {
      sender_key = nb_key_generate ();
      recipient_key = nb_key_generate ();
    }

  /* What the server reads. */
  CHECK_MESSAGE (NbSignalMsgEnvelope, nb_signal_msg_envelope, bytes, &envelope);
  if (envelope != NULL)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(NbSignalMsgBody) opened = nb_signal_msg_open (recipient_key, envelope, NULL, &error);

      /* Nobody sealed this one to our key. */
      g_assert_null (opened);
      g_assert_nonnull (error);
    }

  /* What a peer reads inside an envelope. */
  CHECK_MESSAGE (NbSignalMsgBody, nb_signal_msg_body, bytes, &body);
  if (body != NULL)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(NbSignalMsgEnvelope) sealed = nb_signal_msg_seal (sender_key, recipient_key,
                                                                   body, &error);
      g_autoptr(NbSignalMsgBody) opened = NULL;

      g_assert_no_error (error);
      opened = nb_signal_msg_open (recipient_key, sealed, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (opened->kind, ==, body->kind);
      g_assert_cmpstr (opened->session_id, ==, body->session_id);
    }
  return 0;
}
