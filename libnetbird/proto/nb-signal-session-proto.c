/* nb-signal-session-proto.c: what a peer and the Signal server say to each
 * other: registration with proof of key, messages, undeliverable answers
 *
 * See the protocol in nb-signal-proto-private.h.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-proto"

#include <string.h>
#include <sodium.h>

#include "nb-signal-proto-private.h"
#include "nb-envelope.h"

#define REQ NB_PROTO_FIELD_REQUIRED
#define OPT 0

/* Base64 of the largest sealed body, with padding. */
#define SEALED_BODY_BASE64_MAX (4 * ((NB_SIGNAL_PROTO_MAX_SEALED_BODY + 2) / 3))
/* Base64 of a sealed nonce. */
#define SEALED_NONCE_BASE64_MAX \
  (4 * ((NB_SIGNAL_PROTO_CHALLENGE_LEN + NB_ENVELOPE_OVERHEAD + 2) / 3))

static const char *const type_names[] = {
  "hello", "challenge", "proof", "registered", "message", "undeliverable", "error", NULL
};

const char *
nb_signal_frame_type_to_string (NbSignalFrameType type)
{
  g_return_val_if_fail ((guint) type < G_N_ELEMENTS (type_names) - 1, NULL);
  return type_names[type];
}

static const NbProtoField frame_fields[] = {
  NB_PROTO_F_ENUM (NbSignalFrame, type, "type", REQ, type_names),
  NB_PROTO_F_STRING (NbSignalFrame, key, "key", OPT, NB_KEY_BASE64_LEN, nb_proto_validate_key),
  NB_PROTO_F_STRING (NbSignalFrame, challenge, "challenge", OPT, SEALED_NONCE_BASE64_MAX,
                     nb_signal_proto_validate_sealed),
  NB_PROTO_F_STRING (NbSignalFrame, proof, "proof", OPT, SEALED_NONCE_BASE64_MAX,
                     nb_signal_proto_validate_sealed),
  NB_PROTO_F_STRING (NbSignalFrame, from, "from", OPT, NB_KEY_BASE64_LEN, nb_proto_validate_key),
  NB_PROTO_F_STRING (NbSignalFrame, to, "to", OPT, NB_KEY_BASE64_LEN, nb_proto_validate_key),
  NB_PROTO_F_STRING (NbSignalFrame, body, "body", OPT, SEALED_BODY_BASE64_MAX,
                     nb_signal_proto_validate_sealed),
  NB_PROTO_F_STRING (NbSignalFrame, error, "error", OPT, NB_SIGNAL_PROTO_ERROR_MAX, NULL),
};

/* The fields each type carries; a frame carries those and no others, so it
 * means one thing. */
typedef struct
{
  gsize offset;
  const char *name;
} FrameMember;

#define MEMBER(m) { G_STRUCT_OFFSET (NbSignalFrame, m), #m }

static const FrameMember all_members[] = {
  MEMBER (key), MEMBER (challenge), MEMBER (proof), MEMBER (from), MEMBER (to), MEMBER (body),
  MEMBER (error),
};

static const char *const *
members_of (NbSignalFrameType type)
{
  static const char *const hello[] = { "key", NULL };
  static const char *const challenge[] = { "challenge", NULL };
  static const char *const proof[] = { "proof", NULL };
  static const char *const message[] = { "from", "to", "body", NULL };
  static const char *const error[] = { "error", NULL };

  switch (type)
    {
    case NB_SIGNAL_FRAME_HELLO:
    case NB_SIGNAL_FRAME_REGISTERED:
    case NB_SIGNAL_FRAME_UNDELIVERABLE:
      return hello;
    case NB_SIGNAL_FRAME_CHALLENGE:
      return challenge;
    case NB_SIGNAL_FRAME_PROOF:
      return proof;
    case NB_SIGNAL_FRAME_MESSAGE:
      return message;
    case NB_SIGNAL_FRAME_ERROR:
    default:
      return error;
    }
}

static gboolean
check_frame (gconstpointer message,
             GError      **error)
{
  const NbSignalFrame *frame = message;
  const char *const *wanted = members_of (frame->type);
  const char *type = nb_signal_frame_type_to_string (frame->type);

  for (guint i = 0; i < G_N_ELEMENTS (all_members); i++)
    {
      const char *value = G_STRUCT_MEMBER (const char *, frame, all_members[i].offset);
      gboolean belongs = g_strv_contains (wanted, all_members[i].name);

      if (belongs && value == NULL)
        {
          g_set_error (error, NB_PROTO_ERROR, NB_PROTO_ERROR_MISSING_FIELD,
                       "A Signal “%s” frame must have the field “%s”", type,
                       all_members[i].name);
          return FALSE;
        }
      if (!belongs && value != NULL)
        {
          g_set_error (error, NB_PROTO_ERROR, NB_PROTO_ERROR_INVALID_VALUE,
                       "A Signal “%s” frame cannot carry the field “%s”", type,
                       all_members[i].name);
          return FALSE;
        }
    }

  if (frame->type == NB_SIGNAL_FRAME_MESSAGE && g_str_equal (frame->from, frame->to))
    {
      g_set_error_literal (error, NB_PROTO_ERROR, NB_PROTO_ERROR_INVALID_VALUE,
                           "A Signal message cannot be addressed to its own sender");
      return FALSE;
    }
  return TRUE;
}
NB_PROTO_DESC (frame_desc, NbSignalFrame, frame_fields, check_frame);

NB_PROTO_DEFINE_MESSAGE (NbSignalFrame, nb_signal_frame, frame_desc,
                         NB_SIGNAL_PROTO_MAX_FRAME_SIZE)

/* The message frame as peers write it (nb_signal_frame_write_message(),
 * the codec's field order), the one frame a busy server reads over and
 * over. Only base64 characters inside the quotes, so no escape to decode;
 * then the same validators as the codec's. */
static const char fast_head[] = "{\"type\":\"message\",\"from\":\"";
static const char fast_to[] = "\",\"to\":\"";
static const char fast_body[] = "\",\"body\":\"";
static const char fast_tail[] = "\"}";

static gsize
base64_span (const char *p,
             const char *end)
{
  const char *start = p;

  while (p < end && (g_ascii_isalnum (*p) || *p == '+' || *p == '/' || *p == '='))
    p++;
  return p - start;
}

static gboolean
take (const char **p,
      const char  *end,
      const char  *literal,
      gsize        literal_len)
{
  if ((gsize) (end - *p) < literal_len || memcmp (*p, literal, literal_len) != 0)
    return FALSE;
  *p += literal_len;
  return TRUE;
}

NbSignalFrame *
nb_signal_frame_from_data_fast (const char *data,
                                gsize       length)
{
  const char *p = data;
  const char *end = data + length;
  const char *from, *to, *body;
  gsize from_len, to_len, body_len;
  g_autoptr(NbSignalFrame) frame = NULL;

  if (length > NB_SIGNAL_PROTO_MAX_FRAME_SIZE ||
      !take (&p, end, fast_head, sizeof fast_head - 1))
    return NULL;
  from = p;
  from_len = base64_span (p, end);
  p += from_len;
  if (from_len != NB_KEY_BASE64_LEN || !take (&p, end, fast_to, sizeof fast_to - 1))
    return NULL;
  to = p;
  to_len = base64_span (p, end);
  p += to_len;
  if (to_len != NB_KEY_BASE64_LEN || !take (&p, end, fast_body, sizeof fast_body - 1))
    return NULL;
  body = p;
  body_len = base64_span (p, end);
  p += body_len;
  if (body_len == 0 || body_len > SEALED_BODY_BASE64_MAX ||
      !take (&p, end, fast_tail, sizeof fast_tail - 1) || p != end)
    return NULL;

  frame = nb_signal_frame_new ();
  frame->type = NB_SIGNAL_FRAME_MESSAGE;
  frame->from = g_strndup (from, from_len);
  frame->to = g_strndup (to, to_len);
  frame->body = g_strndup (body, body_len);
  if (!nb_proto_validate_key (frame->from, "from", NULL) ||
      !nb_proto_validate_key (frame->to, "to", NULL) ||
      !nb_signal_proto_validate_sealed (frame->body, "body", NULL) ||
      !check_frame (frame, NULL))
    return NULL;
  return g_steal_pointer (&frame);
}

NbSignalFrame *
nb_signal_frame_from_data (const char  *data,
                           gsize        length,
                           GError     **error)
{
  NbSignalFrame *frame = nb_signal_frame_from_data_fast (data, length);

  /* Anything else, including a message frame this does not take (another
   * order, spaces, escapes, a bad field for the error message), goes
   * through the codec. */
  if (frame != NULL)
    return frame;
  return nb_proto_message_from_data (&frame_desc, data, length, NB_SIGNAL_PROTO_MAX_FRAME_SIZE,
                                     error);
}

GBytes *
nb_signal_frame_write_message (const NbSignalMsgEnvelope *envelope)
{
  NbSignalFrame frame = {
    .type = NB_SIGNAL_FRAME_MESSAGE,
    .from = envelope->from,
    .to = envelope->to,
    .body = envelope->body,
  };

  return nb_proto_message_to_bytes (&frame_desc, &frame);
}

NbSignalMsgEnvelope *
nb_signal_frame_to_envelope (const NbSignalFrame *frame)
{
  NbSignalMsgEnvelope *envelope;

  g_return_val_if_fail (frame->type == NB_SIGNAL_FRAME_MESSAGE, NULL);

  envelope = nb_signal_msg_envelope_new ();
  envelope->from = g_strdup (frame->from);
  envelope->to = g_strdup (frame->to);
  envelope->body = g_strdup (frame->body);
  return envelope;
}

/* ---- proof of key ---- */

static char *
seal_base64 (NbKey         *sender,
             NbKey         *recipient,
             const guint8  *data,
             gsize          length,
             GError       **error)
{
  g_autoptr(GBytes) plain = g_bytes_new (data, length);
  g_autoptr(GBytes) sealed = nb_envelope_seal (sender, recipient, plain, error);
  gsize len = 0;
  const guint8 *bytes;

  if (sealed == NULL)
    return NULL;
  bytes = g_bytes_get_data (sealed, &len);
  return g_base64_encode (bytes, len);
}

/* Opens the base64 @text (its form was checked by the codec) with
 * @recipient; returns the plaintext, exactly @length bytes long. */
static GBytes *
open_base64 (NbKey       *recipient,
             const char  *text,
             gsize        length,
             NbKey      **sender,
             GError     **error)
{
  g_autoptr(GBytes) sealed = NULL;
  g_autoptr(GBytes) plain = NULL;
  gsize len = 0;
  guchar *data;

  if (nb_signal_proto_validate_sealed (text, "challenge", error) == FALSE)
    return NULL;
  data = g_base64_decode (text, &len);
  sealed = g_bytes_new_take (data, len);
  plain = nb_envelope_open (recipient, sealed, sender, error);
  if (plain == NULL)
    return NULL;
  if (g_bytes_get_size (plain) != length)
    {
      g_set_error (error, NB_PROTO_ERROR, NB_PROTO_ERROR_INVALID_VALUE,
                   "A Signal challenge holds %" G_GSIZE_FORMAT " bytes, not %" G_GSIZE_FORMAT,
                   g_bytes_get_size (plain), length);
      return NULL;
    }
  return g_steal_pointer (&plain);
}

char *
nb_signal_challenge_new (NbKey   *server_key,
                         NbKey   *peer_key,
                         guint8   nonce[NB_SIGNAL_PROTO_CHALLENGE_LEN],
                         GError **error)
{
  g_return_val_if_fail (NB_IS_KEY (server_key), NULL);
  g_return_val_if_fail (NB_IS_KEY (peer_key), NULL);

  randombytes_buf (nonce, NB_SIGNAL_PROTO_CHALLENGE_LEN);
  return seal_base64 (server_key, peer_key, nonce, NB_SIGNAL_PROTO_CHALLENGE_LEN, error);
}

char *
nb_signal_challenge_answer (NbKey       *peer_key,
                            const char  *challenge,
                            GError     **error)
{
  g_autoptr(NbKey) server_key = NULL;
  g_autoptr(GBytes) nonce = NULL;

  g_return_val_if_fail (NB_IS_KEY (peer_key), NULL);
  g_return_val_if_fail (challenge != NULL, NULL);

  nonce = open_base64 (peer_key, challenge, NB_SIGNAL_PROTO_CHALLENGE_LEN, &server_key, error);
  if (nonce == NULL)
    return NULL;
  return seal_base64 (peer_key, server_key, g_bytes_get_data (nonce, NULL),
                      NB_SIGNAL_PROTO_CHALLENGE_LEN, error);
}

gboolean
nb_signal_challenge_verify (NbKey        *server_key,
                            NbKey        *peer_key,
                            const guint8  nonce[NB_SIGNAL_PROTO_CHALLENGE_LEN],
                            const char   *proof,
                            GError      **error)
{
  g_autoptr(NbKey) sealed_by = NULL;
  g_autoptr(GBytes) opened = NULL;

  g_return_val_if_fail (NB_IS_KEY (server_key), FALSE);
  g_return_val_if_fail (NB_IS_KEY (peer_key), FALSE);
  g_return_val_if_fail (proof != NULL, FALSE);

  opened = open_base64 (server_key, proof, NB_SIGNAL_PROTO_CHALLENGE_LEN, &sealed_by, error);
  if (opened == NULL)
    return FALSE;
  /* Sealed by the key that was claimed (the envelope's X25519 between that
   * key and ours authenticates it) and holding this connection's nonce. */
  if (!nb_key_equal (sealed_by, peer_key) ||
      sodium_memcmp (g_bytes_get_data (opened, NULL), nonce, NB_SIGNAL_PROTO_CHALLENGE_LEN) != 0)
    {
      g_set_error_literal (error, NB_ENVELOPE_ERROR, NB_ENVELOPE_ERROR_AUTHENTICATION_FAILED,
                           "The proof does not answer this connection's challenge with the "
                           "claimed key");
      return FALSE;
    }
  return TRUE;
}
