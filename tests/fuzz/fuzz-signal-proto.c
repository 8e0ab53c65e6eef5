/* fuzz-signal-proto.c: the Signal message parsers on any input
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * The session frame (hello, challenge, proof, message...) is what the
 * Signal server and a peer read from any connection, the envelope what a
 * message frame carries; the body is what a peer reads once it opened an
 * envelope. Each parse gives a
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

/* A frame as both sides treat it: a challenge is answered (it opens with
 * no key of ours), a proof verified (it proves nothing), a message frame
 * becomes an envelope that writes back to the same frame. */
static void
check_frame (GBytes *bytes)
{
  g_autoptr(NbSignalFrame) frame = NULL;
  g_autoptr(GError) direct_error = NULL;
  gsize len = 0;
  const char *data = g_bytes_get_data (bytes, &len);
  g_autoptr(NbSignalFrame) direct = nb_signal_frame_from_data (data, len, &direct_error);

  CHECK_MESSAGE (NbSignalFrame, nb_signal_frame, bytes, &frame);
  g_assert_true ((frame == NULL) == (direct == NULL));

  /* The fast path takes nothing the codec would not, and reads it alike. */
  {
    g_autoptr(NbSignalFrame) fast = nb_signal_frame_from_data_fast (data, len);

    if (fast != NULL)
      {
        g_assert_nonnull (frame);
        g_assert_cmpint (frame->type, ==, NB_SIGNAL_FRAME_MESSAGE);
        g_assert_cmpstr (fast->from, ==, frame->from);
        g_assert_cmpstr (fast->to, ==, frame->to);
        g_assert_cmpstr (fast->body, ==, frame->body);
      }
  }
  if (frame == NULL)
    return;

  if (frame->type == NB_SIGNAL_FRAME_CHALLENGE)
    {
      g_autoptr(GError) local_error = NULL;
      g_autofree char *proof = nb_signal_challenge_answer (recipient_key, frame->challenge,
                                                           &local_error);

      g_assert_null (proof);
      g_assert_nonnull (local_error);
    }
  else if (frame->type == NB_SIGNAL_FRAME_PROOF)
    {
      g_autoptr(GError) local_error = NULL;
      guint8 nonce[NB_SIGNAL_PROTO_CHALLENGE_LEN] = { 0 };

      g_assert_false (nb_signal_challenge_verify (recipient_key, sender_key, nonce, frame->proof,
                                                  &local_error));
      g_assert_nonnull (local_error);
    }
  else if (frame->type == NB_SIGNAL_FRAME_MESSAGE)
    {
      g_autoptr(NbSignalMsgEnvelope) envelope = nb_signal_frame_to_envelope (frame);
      g_autoptr(GBytes) written = nb_signal_frame_write_message (envelope);
      g_autoptr(GBytes) expected = nb_signal_frame_to_bytes (frame);
      g_autoptr(NbSignalFrame) fast = NULL;

      g_assert_true (g_bytes_equal (written, expected));
      fast = nb_signal_frame_from_data_fast (g_bytes_get_data (written, NULL),
                                             g_bytes_get_size (written));
      g_assert_nonnull (fast);
    }
}

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

  check_frame (bytes);

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
