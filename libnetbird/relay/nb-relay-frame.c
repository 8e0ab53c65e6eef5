/* nb-relay-frame.c: reading and writing the Relay protocol's frames
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <string.h>

#include "nb-proto-error.h"
#include "nb-relay-frame-private.h"

const char *
nb_relay_frame_type_to_string (NbRelayFrameType type)
{
  switch (type)
    {
    case NB_RELAY_FRAME_AUTH: return "auth";
    case NB_RELAY_FRAME_CHALLENGE: return "challenge";
    case NB_RELAY_FRAME_PROOF: return "proof";
    case NB_RELAY_FRAME_AUTH_OK: return "auth-ok";
    case NB_RELAY_FRAME_TRANSPORT: return "transport";
    case NB_RELAY_FRAME_WATCH: return "watch";
    case NB_RELAY_FRAME_ONLINE: return "online";
    case NB_RELAY_FRAME_OFFLINE: return "offline";
    case NB_RELAY_FRAME_PING: return "ping";
    case NB_RELAY_FRAME_PONG: return "pong";
    case NB_RELAY_FRAME_CLOSE: return "close";
    default: return "unknown";
    }
}

/* A cursor over the frame's body: every read is checked against what is
 * left, so no length read from the wire is trusted. */
typedef struct
{
  const guint8 *p;
  gsize left;
} Reader;

static gboolean
take (Reader        *r,
      gsize          n,
      const guint8 **out)
{
  if (r->left < n)
    return FALSE;
  *out = r->p;
  r->p += n;
  r->left -= n;
  return TRUE;
}

static gboolean
take_u16 (Reader  *r,
          guint16 *out)
{
  const guint8 *p;

  if (!take (r, 2, &p))
    return FALSE;
  *out = (guint16) ((p[0] << 8) | p[1]);
  return TRUE;
}

static gboolean
take_u64 (Reader  *r,
          guint64 *out)
{
  const guint8 *p;

  if (!take (r, 8, &p))
    return FALSE;
  *out = 0;
  for (guint i = 0; i < 8; i++)
    *out = (*out << 8) | p[i];
  return TRUE;
}

/* Tokens and challenges are base64 or "EXPIRY:KEY": printable ASCII only. */
static gboolean
is_printable (const char *s,
              gsize       len)
{
  for (gsize i = 0; i < len; i++)
    if (s[i] < 0x21 || s[i] > 0x7e)
      return FALSE;
  return TRUE;
}

#define FAIL(code, ...)                                                 \
  G_STMT_START {                                                        \
    g_set_error (error, NB_PROTO_ERROR, (code), __VA_ARGS__);           \
    return FALSE;                                                       \
  } G_STMT_END

gboolean
nb_relay_frame_parse (const guint8  *data,
                      gsize          len,
                      NbRelayFrame  *frame,
                      GError       **error)
{
  Reader r;
  const guint8 *p;
  guint16 n;

  memset (frame, 0, sizeof *frame);
  if (len < NB_RELAY_PROTO_HEADER_LEN)
    FAIL (NB_PROTO_ERROR_MALFORMED, "A relay frame of %" G_GSIZE_FORMAT " bytes is too short",
          len);
  if (len > NB_RELAY_PROTO_MAX_FRAME)
    FAIL (NB_PROTO_ERROR_TOO_LARGE, "A relay frame of %" G_GSIZE_FORMAT " bytes is larger than "
          "the %d allowed", len, NB_RELAY_PROTO_MAX_FRAME);
  if (data[0] != NB_RELAY_PROTO_VERSION)
    FAIL (NB_PROTO_ERROR_INVALID_VALUE, "Relay protocol version %u is not spoken here (%u is)",
          data[0], NB_RELAY_PROTO_VERSION);
  frame->type = data[1];
  r.p = data + NB_RELAY_PROTO_HEADER_LEN;
  r.left = len - NB_RELAY_PROTO_HEADER_LEN;

  switch (frame->type)
    {
    case NB_RELAY_FRAME_AUTH:
      if (!take (&r, 32, &frame->key) || !take_u16 (&r, &n) || n == 0 ||
          n > NB_RELAY_PROTO_MAX_TOKEN || !take (&r, n, &p))
        FAIL (NB_PROTO_ERROR_MALFORMED, "An auth frame needs a key and a token payload of "
              "1 to %d bytes", NB_RELAY_PROTO_MAX_TOKEN);
      frame->token_payload = (const char *) p;
      frame->token_payload_len = n;
      if (!take_u16 (&r, &n) || n == 0 || n > NB_RELAY_PROTO_MAX_TOKEN || !take (&r, n, &p))
        FAIL (NB_PROTO_ERROR_MALFORMED, "An auth frame needs a token signature of 1 to %d "
              "bytes", NB_RELAY_PROTO_MAX_TOKEN);
      frame->token_signature = (const char *) p;
      frame->token_signature_len = n;
      if (!is_printable (frame->token_payload, frame->token_payload_len) ||
          !is_printable (frame->token_signature, frame->token_signature_len))
        FAIL (NB_PROTO_ERROR_INVALID_VALUE, "A relay token is printable ASCII");
      break;

    case NB_RELAY_FRAME_CHALLENGE:
    case NB_RELAY_FRAME_PROOF:
      if (r.left == 0 || r.left > NB_RELAY_PROTO_MAX_TOKEN || !is_printable ((const char *) r.p,
                                                                             r.left))
        FAIL (NB_PROTO_ERROR_INVALID_VALUE, "A %s frame holds 1 to %d bytes of base64",
              nb_relay_frame_type_to_string (frame->type), NB_RELAY_PROTO_MAX_TOKEN);
      frame->text = (const char *) r.p;
      frame->text_len = r.left;
      r.left = 0;
      break;

    case NB_RELAY_FRAME_AUTH_OK:
    case NB_RELAY_FRAME_ONLINE:
    case NB_RELAY_FRAME_OFFLINE:
      if (!take (&r, NB_RELAY_PEER_ID_LEN, &frame->id))
        FAIL (NB_PROTO_ERROR_MALFORMED, "A %s frame holds a peer id",
              nb_relay_frame_type_to_string (frame->type));
      break;

    case NB_RELAY_FRAME_TRANSPORT:
      if (!take (&r, NB_RELAY_PEER_ID_LEN, &frame->id) || r.left == 0)
        FAIL (NB_PROTO_ERROR_MALFORMED, "A transport frame holds a peer id and a payload");
      frame->payload = r.p;
      frame->payload_len = r.left;
      r.left = 0;
      break;

    case NB_RELAY_FRAME_WATCH:
      if (!take_u16 (&r, &n) || n > NB_RELAY_PROTO_MAX_WATCH ||
          !take (&r, (gsize) n * NB_RELAY_PEER_ID_LEN, &frame->ids))
        FAIL (NB_PROTO_ERROR_MALFORMED, "A watch frame holds a count (at most %d) and as many "
              "peer ids", NB_RELAY_PROTO_MAX_WATCH);
      frame->n_ids = n;
      break;

    case NB_RELAY_FRAME_PING:
    case NB_RELAY_FRAME_PONG:
      if (!take_u64 (&r, &frame->nonce))
        FAIL (NB_PROTO_ERROR_MALFORMED, "A %s frame holds an 8-byte nonce",
              nb_relay_frame_type_to_string (frame->type));
      break;

    case NB_RELAY_FRAME_CLOSE:
      if (!take_u16 (&r, &frame->code) || r.left > NB_RELAY_PROTO_MAX_REASON ||
          !g_utf8_validate_len ((const char *) r.p, r.left, NULL))
        FAIL (NB_PROTO_ERROR_MALFORMED, "A close frame holds a code and at most %d bytes of "
              "UTF-8", NB_RELAY_PROTO_MAX_REASON);
      frame->text = (const char *) r.p;
      frame->text_len = r.left;
      r.left = 0;
      break;

    default:
      FAIL (NB_PROTO_ERROR_INVALID_VALUE, "Relay frame type %u is unknown", data[1]);
    }

  if (r.left != 0)
    FAIL (NB_PROTO_ERROR_MALFORMED, "A %s frame has %" G_GSIZE_FORMAT " bytes too many",
          nb_relay_frame_type_to_string (frame->type), r.left);
  return TRUE;
}

static void
put_u16 (GByteArray *out,
         guint16     v)
{
  guint8 b[2] = { v >> 8, v & 0xff };

  g_byte_array_append (out, b, 2);
}

static GByteArray *
start (NbRelayFrameType type)
{
  GByteArray *out = g_byte_array_sized_new (64);
  guint8 header[2] = { NB_RELAY_PROTO_VERSION, type };

  g_byte_array_append (out, header, 2);
  return out;
}

GBytes *
nb_relay_frame_new_auth (const guint8  key[32],
                         const char   *token_payload,
                         const char   *token_signature)
{
  GByteArray *out = start (NB_RELAY_FRAME_AUTH);
  gsize n = MIN (strlen (token_payload), NB_RELAY_PROTO_MAX_TOKEN);
  gsize m = MIN (strlen (token_signature), NB_RELAY_PROTO_MAX_TOKEN);

  g_byte_array_append (out, key, 32);
  put_u16 (out, n);
  g_byte_array_append (out, (const guint8 *) token_payload, n);
  put_u16 (out, m);
  g_byte_array_append (out, (const guint8 *) token_signature, m);
  return g_byte_array_free_to_bytes (out);
}

GBytes *
nb_relay_frame_new_text (NbRelayFrameType  type,
                         const char       *text)
{
  GByteArray *out = start (type);

  g_byte_array_append (out, (const guint8 *) text, MIN (strlen (text), NB_RELAY_PROTO_MAX_TOKEN));
  return g_byte_array_free_to_bytes (out);
}

GBytes *
nb_relay_frame_new_id (NbRelayFrameType type,
                       const guint8     id[NB_RELAY_PEER_ID_LEN])
{
  GByteArray *out = start (type);

  g_byte_array_append (out, id, NB_RELAY_PEER_ID_LEN);
  return g_byte_array_free_to_bytes (out);
}

GBytes *
nb_relay_frame_new_watch (const guint8 *ids,
                          guint         n_ids)
{
  GByteArray *out = start (NB_RELAY_FRAME_WATCH);

  n_ids = MIN (n_ids, NB_RELAY_PROTO_MAX_WATCH);
  put_u16 (out, n_ids);
  if (n_ids > 0)
    g_byte_array_append (out, ids, n_ids * NB_RELAY_PEER_ID_LEN);
  return g_byte_array_free_to_bytes (out);
}

GBytes *
nb_relay_frame_new_ping (NbRelayFrameType type,
                         guint64          nonce)
{
  GByteArray *out = start (type);
  guint8 b[8];

  for (guint i = 0; i < 8; i++)
    b[i] = (guint8) (nonce >> (56 - 8 * i));
  g_byte_array_append (out, b, 8);
  return g_byte_array_free_to_bytes (out);
}

GBytes *
nb_relay_frame_new_close (guint16     code,
                          const char *reason)
{
  GByteArray *out = start (NB_RELAY_FRAME_CLOSE);
  gsize len = reason != NULL ? strlen (reason) : 0;

  /* Cut at a character's start so the reason stays UTF-8. */
  if (len > NB_RELAY_PROTO_MAX_REASON)
    len = g_utf8_find_prev_char (reason, reason + NB_RELAY_PROTO_MAX_REASON + 1) - reason;
  put_u16 (out, code);
  if (len > 0)
    g_byte_array_append (out, (const guint8 *) reason, len);
  return g_byte_array_free_to_bytes (out);
}

void
nb_relay_frame_write_transport_header (guint8       *buf,
                                       const guint8  id[NB_RELAY_PEER_ID_LEN])
{
  buf[0] = NB_RELAY_PROTO_VERSION;
  buf[1] = NB_RELAY_FRAME_TRANSPORT;
  memcpy (buf + NB_RELAY_PROTO_HEADER_LEN, id, NB_RELAY_PEER_ID_LEN);
}
