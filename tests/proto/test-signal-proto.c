/* test-signal-proto.c: the messages peers exchange through Signal
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <string.h>

#include "nb-envelope.h"
#include "nb-proto-error.h"
#include "nb-signal-proto-private.h"

#define KEY_A "mEFWIwMpXq3CEKVMStBYDw8OXIyZSc1E5pJeCG9Yq2I="
#define KEY_B "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw="
#define SESSION "0123456789abcdef"
#define UFRAG "Xy3+"
#define PWD "abcdefghijklmnopqrstuv"
#define CANDIDATE "candidate:1 1 UDP 2013266431 198.18.0.1 51820 typ host"

static GBytes *
text (const char *json)
{
  return g_bytes_new (json, strlen (json));
}

static void
assert_error_mentions (const GError *error,
                       const char   *part)
{
  if (part != NULL && strstr (error->message, part) == NULL)
    g_error ("error “%s” does not mention “%s”", error->message, part);
}

static void
assert_body_fails (const char *json,
                   int         code,
                   const char *part)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = text (json);
  g_autoptr(NbSignalMsgBody) body = nb_signal_msg_body_from_bytes (bytes, &error);

  g_assert_null (body);
  g_assert_error (error, NB_PROTO_ERROR, code);
  assert_error_mentions (error, part);
}

static void
assert_envelope_fails (const char *json,
                       int         code,
                       const char *part)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = text (json);
  g_autoptr(NbSignalMsgEnvelope) envelope = nb_signal_msg_envelope_from_bytes (bytes, &error);

  g_assert_null (envelope);
  g_assert_error (error, NB_PROTO_ERROR, code);
  assert_error_mentions (error, part);
}

static NbSignalMsgBody *
parse_body (const char *json)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = text (json);
  NbSignalMsgBody *body = nb_signal_msg_body_from_bytes (bytes, &error);

  g_assert_no_error (error);
  g_assert_nonnull (body);
  return body;
}

static char *
offer_json (const char *ufrag,
            const char *pwd)
{
  return g_strdup_printf ("{\"kind\":\"offer\",\"session_id\":\"" SESSION "\",\"ufrag\":\"%s\","
                          "\"pwd\":\"%s\",\"wg_listen_port\":51820,\"version\":\"0.1.0\"}",
                          ufrag, pwd);
}

static void
test_offer_round_trip (void)
{
  g_autoptr(NbSignalMsgBody) offer = parse_body (
      "{\"kind\":\"offer\",\"session_id\":\"" SESSION "\",\"ufrag\":\"" UFRAG "\","
      "\"pwd\":\"" PWD "\",\"wg_listen_port\":51820,\"version\":\"0.1.0\","
      "\"relay_address\":\"rels://relay.example:443\",\"future\":[1,2]}");
  g_autoptr(GBytes) written = NULL;
  g_autoptr(NbSignalMsgBody) again = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (offer->kind, ==, NB_SIGNAL_MSG_KIND_OFFER);
  g_assert_cmpstr (offer->session_id, ==, SESSION);
  g_assert_cmpstr (offer->ufrag, ==, UFRAG);
  g_assert_cmpstr (offer->pwd, ==, PWD);
  g_assert_cmpint (offer->wg_listen_port, ==, 51820);
  g_assert_cmpstr (offer->version, ==, "0.1.0");
  g_assert_cmpstr (offer->relay_address, ==, "rels://relay.example:443");
  g_assert_null (offer->candidate);

  written = nb_signal_msg_body_to_bytes (offer);
  again = nb_signal_msg_body_from_bytes (written, &error);
  g_assert_no_error (error);
  g_assert_cmpint (again->kind, ==, NB_SIGNAL_MSG_KIND_OFFER);
  g_assert_cmpstr (again->pwd, ==, PWD);
  g_assert_cmpstr (again->relay_address, ==, "rels://relay.example:443");
  /* The unknown member was read past, not carried. */
  g_assert_null (strstr (g_bytes_get_data (written, NULL), "future"));
}

static void
test_answer_and_candidate (void)
{
  g_autoptr(NbSignalMsgBody) answer = parse_body (
      "{\"kind\":\"answer\",\"session_id\":\"" SESSION "\",\"ufrag\":\"abcd\","
      "\"pwd\":\"" PWD "\",\"wg_listen_port\":1,\"version\":\"x\"}");
  g_autoptr(NbSignalMsgBody) candidate = parse_body (
      "{\"kind\":\"candidate\",\"session_id\":\"" SESSION "\",\"candidate\":"
      "\"candidate:7 1 udp 1677721855 198.51.100.7 40000 typ srflx raddr 10.0.0.2 rport 5000 "
      "generation 0\"}");
  g_autoptr(NbSignalMsgBody) idle = parse_body (
      "{\"kind\":\"go_idle\",\"session_id\":\"" SESSION "\"}");

  g_assert_cmpint (answer->kind, ==, NB_SIGNAL_MSG_KIND_ANSWER);
  g_assert_cmpint (candidate->kind, ==, NB_SIGNAL_MSG_KIND_CANDIDATE);
  g_assert_true (g_str_has_prefix (candidate->candidate, "candidate:7 1 udp"));
  g_assert_cmpint (idle->kind, ==, NB_SIGNAL_MSG_KIND_GO_IDLE);
  g_assert_cmpstr (nb_signal_msg_kind_to_string (NB_SIGNAL_MSG_KIND_GO_IDLE), ==, "go_idle");
}

static void
test_kind_fields (void)
{
  assert_body_fails ("{\"session_id\":\"" SESSION "\"}", NB_PROTO_ERROR_MISSING_FIELD, "kind");
  assert_body_fails ("{\"kind\":\"hello\",\"session_id\":\"" SESSION "\"}",
                     NB_PROTO_ERROR_INVALID_VALUE, "offer, answer, candidate, go_idle");
  assert_body_fails ("{\"kind\":\"go_idle\"}", NB_PROTO_ERROR_MISSING_FIELD, "session_id");
  assert_body_fails ("{\"kind\":\"offer\",\"session_id\":\"" SESSION "\",\"pwd\":\"" PWD "\","
                     "\"wg_listen_port\":5,\"version\":\"1\"}",
                     NB_PROTO_ERROR_MISSING_FIELD, "ufrag");
  assert_body_fails ("{\"kind\":\"answer\",\"session_id\":\"" SESSION "\",\"ufrag\":\"" UFRAG "\","
                     "\"pwd\":\"" PWD "\",\"version\":\"1\"}",
                     NB_PROTO_ERROR_MISSING_FIELD, "wg_listen_port");
  assert_body_fails ("{\"kind\":\"candidate\",\"session_id\":\"" SESSION "\"}",
                     NB_PROTO_ERROR_MISSING_FIELD, "candidate");
  /* One kind does not carry another's fields. */
  assert_body_fails ("{\"kind\":\"candidate\",\"session_id\":\"" SESSION "\",\"candidate\":\""
                     CANDIDATE "\",\"ufrag\":\"" UFRAG "\"}",
                     NB_PROTO_ERROR_INVALID_VALUE, "cannot carry the field “ufrag”");
  assert_body_fails ("{\"kind\":\"go_idle\",\"session_id\":\"" SESSION "\",\"candidate\":\""
                     CANDIDATE "\"}", NB_PROTO_ERROR_INVALID_VALUE, "candidate");
  assert_body_fails ("{\"kind\":\"offer\",\"session_id\":\"" SESSION "\",\"ufrag\":\"" UFRAG "\","
                     "\"pwd\":\"" PWD "\",\"wg_listen_port\":5,\"version\":\"1\",\"candidate\":\""
                     CANDIDATE "\"}", NB_PROTO_ERROR_INVALID_VALUE, "candidate");
}

static void
test_ice_credentials (void)
{
  g_autofree char *long_ufrag = g_strnfill (NB_SIGNAL_PROTO_ICE_CHARS_MAX + 1, 'u');
  g_autofree char *max_pwd = g_strnfill (NB_SIGNAL_PROTO_ICE_CHARS_MAX, 'p');
  struct { const char *ufrag, *pwd; int code; const char *part; } cases[] = {
    { "abc", PWD, NB_PROTO_ERROR_INVALID_VALUE, "RFC 8445 §5.3" },      /* 3 < 4 */
    { "ab-d", PWD, NB_PROTO_ERROR_INVALID_VALUE, "“-”" },               /* not an ice-char */
    { "ab d", PWD, NB_PROTO_ERROR_INVALID_VALUE, "“ ”" },
    { "ab:d", PWD, NB_PROTO_ERROR_INVALID_VALUE, "username fragment" },
    { UFRAG, "abcdefghijklmnopqrstu", NB_PROTO_ERROR_INVALID_VALUE, "password" }, /* 21 */
    { UFRAG, "abcdefghijklmnopqrstu=", NB_PROTO_ERROR_INVALID_VALUE, "“=”" },
    { long_ufrag, PWD, NB_PROTO_ERROR_TOO_LARGE, "ufrag" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *json = offer_json (cases[i].ufrag, cases[i].pwd);
      assert_body_fails (json, cases[i].code, cases[i].part);
    }

  /* The bounds themselves are accepted. */
  {
    g_autofree char *json = offer_json ("a+/9", max_pwd);
    g_autoptr(NbSignalMsgBody) body = parse_body (json);
    g_assert_cmpuint (strlen (body->pwd), ==, NB_SIGNAL_PROTO_ICE_CHARS_MAX);
  }
}

static void
test_port_session_relay (void)
{
  assert_body_fails ("{\"kind\":\"offer\",\"session_id\":\"" SESSION "\",\"ufrag\":\"" UFRAG "\","
                     "\"pwd\":\"" PWD "\",\"wg_listen_port\":65536,\"version\":\"1\"}",
                     NB_PROTO_ERROR_INVALID_VALUE, "between 0 and 65535");
  assert_body_fails ("{\"kind\":\"offer\",\"session_id\":\"" SESSION "\",\"ufrag\":\"" UFRAG "\","
                     "\"pwd\":\"" PWD "\",\"wg_listen_port\":0,\"version\":\"1\"}",
                     NB_PROTO_ERROR_MISSING_FIELD, "from 1 to 65535");
  assert_body_fails ("{\"kind\":\"offer\",\"session_id\":\"" SESSION "\",\"ufrag\":\"" UFRAG "\","
                     "\"pwd\":\"" PWD "\",\"wg_listen_port\":\"51820\",\"version\":\"1\"}",
                     NB_PROTO_ERROR_WRONG_TYPE, "wg_listen_port");
  assert_body_fails ("{\"kind\":\"go_idle\",\"session_id\":\"0123456789ABCDEF\"}",
                     NB_PROTO_ERROR_INVALID_VALUE, "hexadecimal");
  assert_body_fails ("{\"kind\":\"go_idle\",\"session_id\":\"0123\"}",
                     NB_PROTO_ERROR_INVALID_VALUE, "hexadecimal");
  assert_body_fails ("{\"kind\":\"go_idle\",\"session_id\":\"0123456789abcdef0123456789abcdef0\"}",
                     NB_PROTO_ERROR_TOO_LARGE, "session_id");
  assert_body_fails ("{\"kind\":\"offer\",\"session_id\":\"" SESSION "\",\"ufrag\":\"" UFRAG "\","
                     "\"pwd\":\"" PWD "\",\"wg_listen_port\":1,\"version\":\"1\","
                     "\"relay_address\":\"no scheme\"}",
                     NB_PROTO_ERROR_INVALID_VALUE, "relay_address");
}

static void
test_candidate_form (void)
{
  static const struct { const char *candidate; const char *part; } bad[] = {
    { "a=candidate:1 1 UDP 1 198.18.0.1 5 typ host", "must start with" },
    { "candidate:1 1 UDP 1 198.18.0.1 5 typ", "fewer than" },
    { "candidate:1 1 UDP 1 198.18.0.1  5 typ host", "empty element" },
    { "candidate:1 1 UDP 1 198.18.0.1 5 typ host ", "empty element" },
    { "candidate:f-1 1 UDP 1 198.18.0.1 5 typ host", "foundation" },
    { "candidate:1 0 UDP 1 198.18.0.1 5 typ host", "component" },
    { "candidate:1 257 UDP 1 198.18.0.1 5 typ host", "component" },
    { "candidate:1 1 SCTP 1 198.18.0.1 5 typ host", "transport" },
    { "candidate:1 1 UDP 4294967296 198.18.0.1 5 typ host", "priority" },
    { "candidate:1 1 UDP -1 198.18.0.1 5 typ host", "priority" },
    { "candidate:1 1 UDP 1 198.18.0.1/24 5 typ host", "connection address" },
    { "candidate:1 1 UDP 1 198.18.0.1 65536 typ host", "port" },
    { "candidate:1 1 UDP 1 198.18.0.1 5 type host", "typ" },
    { "candidate:1 1 UDP 1 198.18.0.1 5 typ turn", "type other" },
    { "candidate:1 1 UDP 1 198.18.0.1 5 typ srflx raddr", "without a value" },
    { "candidate:1 1 UDP 1 198.18.0.1 5 typ srflx raddr 1.2.3.4/8 rport 1", "related address" },
    { "candidate:1 1 UDP 1 198.18.0.1 5 typ srflx raddr 1.2.3.4 rport x", "related port" },
  };
  g_autoptr(GString) too_long = g_string_new ("candidate:1 1 UDP 1 198.18.0.1 5 typ host");

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *json = g_strdup_printf (
          "{\"kind\":\"candidate\",\"session_id\":\"" SESSION "\",\"candidate\":\"%s\"}",
          bad[i].candidate);
      assert_body_fails (json, NB_PROTO_ERROR_INVALID_VALUE, bad[i].part);
    }

  while (too_long->len <= NB_SIGNAL_PROTO_CANDIDATE_MAX)
    g_string_append (too_long, " generation 0");
  {
    g_autofree char *json = g_strdup_printf (
        "{\"kind\":\"candidate\",\"session_id\":\"" SESSION "\",\"candidate\":\"%s\"}",
        too_long->str);
    assert_body_fails (json, NB_PROTO_ERROR_TOO_LARGE, "candidate");
  }

  /* IPv6, TCP and a host name (mDNS) are candidates too. */
  g_assert_true (nb_signal_proto_validate_candidate (
      "candidate:2 1 TCP 1015022079 2001:db8::7 9 typ host tcptype active", "c", NULL));
  g_assert_true (nb_signal_proto_validate_candidate (
      "candidate:3 2 udp 2122260223 6a0f52f7-4b1a.local 53333 typ host", "c", NULL));
}

static void
test_envelope_fields (void)
{
  /* Base64 of 105 zero bytes: an envelope's minimum size. */
  guint8 zeros[NB_ENVELOPE_OVERHEAD] = { 0 };
  g_autofree char *body = g_base64_encode (zeros, sizeof zeros);
  g_autofree char *short_body = g_base64_encode (zeros, sizeof zeros - 1);
  g_autofree char *ok = g_strdup_printf ("{\"from\":\"" KEY_A "\",\"to\":\"" KEY_B "\","
                                         "\"body\":\"%s\"}", body);
  g_autoptr(GBytes) ok_bytes = text (ok);
  g_autoptr(GError) error = NULL;
  g_autoptr(NbSignalMsgEnvelope) envelope = nb_signal_msg_envelope_from_bytes (ok_bytes, &error);
  g_autofree char *json = NULL;
  g_autoptr(GString) big = g_string_new ("{\"from\":\"" KEY_A "\",\"to\":\"" KEY_B "\",\"body\":\"");

  g_assert_no_error (error);
  g_assert_cmpstr (envelope->from, ==, KEY_A);
  g_assert_cmpstr (envelope->to, ==, KEY_B);

  assert_envelope_fails ("{\"to\":\"" KEY_B "\",\"body\":\"AAAA\"}",
                         NB_PROTO_ERROR_MISSING_FIELD, "from");
  json = g_strdup_printf ("{\"from\":\"" KEY_A "\",\"to\":\"" KEY_A "\",\"body\":\"%s\"}", body);
  assert_envelope_fails (json, NB_PROTO_ERROR_INVALID_VALUE, "own sender");
  g_clear_pointer (&json, g_free);
  json = g_strdup_printf ("{\"from\":\"abc\",\"to\":\"" KEY_B "\",\"body\":\"%s\"}", body);
  assert_envelope_fails (json, NB_PROTO_ERROR_INVALID_VALUE, "not a WireGuard public key");
  g_clear_pointer (&json, g_free);
  json = g_strdup_printf ("{\"from\":\"" KEY_A "\",\"to\":\"" KEY_B "\",\"body\":\"%s\"}",
                          short_body);
  assert_envelope_fails (json, NB_PROTO_ERROR_INVALID_VALUE, "fewer than");
  assert_envelope_fails ("{\"from\":\"" KEY_A "\",\"to\":\"" KEY_B "\",\"body\":\"AAA\"}",
                         NB_PROTO_ERROR_INVALID_VALUE, "base64");
  assert_envelope_fails ("{\"from\":\"" KEY_A "\",\"to\":\"" KEY_B "\",\"body\":\"A=AA\"}",
                         NB_PROTO_ERROR_INVALID_VALUE, "base64");
  assert_envelope_fails ("{\"from\":\"" KEY_A "\",\"to\":\"" KEY_B "\",\"body\":7}",
                         NB_PROTO_ERROR_WRONG_TYPE, "body");

  /* A body over the bound, then a text over the bound. */
  while (big->len < NB_SIGNAL_PROTO_MAX_ENVELOPE_SIZE - 100)
    g_string_append (big, "AAAA");
  g_string_append (big, "\"}");
  assert_envelope_fails (big->str, NB_PROTO_ERROR_TOO_LARGE, "body");
  g_string_truncate (big, big->len - 2);
  while (big->len < NB_SIGNAL_PROTO_MAX_ENVELOPE_SIZE + 4)
    g_string_append (big, "AAAA");
  g_string_append (big, "\"}");
  assert_envelope_fails (big->str, NB_PROTO_ERROR_TOO_LARGE, "bytes allowed");
  assert_envelope_fails ("{\"from\":", NB_PROTO_ERROR_MALFORMED, NULL);
}

static NbSignalMsgBody *
make_offer (void)
{
  NbSignalMsgBody *body = nb_signal_msg_body_new ();

  body->kind = NB_SIGNAL_MSG_KIND_OFFER;
  body->session_id = g_strdup (SESSION);
  body->ufrag = g_strdup (UFRAG);
  body->pwd = g_strdup (PWD);
  body->wg_listen_port = 51820;
  body->version = g_strdup ("0.1.0");
  return body;
}

static void
test_seal_open (void)
{
  g_autoptr(NbKey) a = nb_key_generate ();
  g_autoptr(NbKey) b = nb_key_generate ();
  g_autoptr(NbSignalMsgBody) offer = make_offer ();
  g_autoptr(GError) error = NULL;
  g_autoptr(NbSignalMsgEnvelope) envelope = nb_signal_msg_seal (a, b, offer, &error);
  g_autoptr(GBytes) wire = NULL;
  g_autoptr(NbSignalMsgEnvelope) received = NULL;
  g_autoptr(NbSignalMsgBody) opened = NULL;
  g_autoptr(NbKey) sender = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (envelope->from, ==, nb_key_get_public_base64 (a));
  g_assert_cmpstr (envelope->to, ==, nb_key_get_public_base64 (b));

  /* What the server sees holds keys and ciphertext, not the credentials. */
  wire = nb_signal_msg_envelope_to_bytes (envelope);
  g_assert_null (g_strstr_len (g_bytes_get_data (wire, NULL), g_bytes_get_size (wire), PWD));
  g_assert_null (g_strstr_len (g_bytes_get_data (wire, NULL), g_bytes_get_size (wire), "offer"));

  received = nb_signal_msg_envelope_from_bytes (wire, &error);
  g_assert_no_error (error);
  opened = nb_signal_msg_open (b, received, &sender, &error);
  g_assert_no_error (error);
  g_assert_true (nb_key_equal (sender, a));
  g_assert_cmpint (opened->kind, ==, NB_SIGNAL_MSG_KIND_OFFER);
  g_assert_cmpstr (opened->pwd, ==, PWD);
  g_assert_cmpint (opened->wg_listen_port, ==, 51820);
}

static void
test_open_refuses (void)
{
  g_autoptr(NbKey) a = nb_key_generate ();
  g_autoptr(NbKey) b = nb_key_generate ();
  g_autoptr(NbKey) c = nb_key_generate ();
  g_autoptr(NbSignalMsgBody) offer = make_offer ();
  g_autoptr(NbSignalMsgEnvelope) envelope = nb_signal_msg_seal (a, b, offer, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(NbSignalMsgBody) opened = NULL;
  g_autofree guchar *raw = NULL;
  gsize len = 0;

  /* Not addressed to c. */
  opened = nb_signal_msg_open (c, envelope, NULL, &error);
  g_assert_null (opened);
  g_assert_error (error, NB_ENVELOPE_ERROR, NB_ENVELOPE_ERROR_WRONG_RECIPIENT);
  g_clear_error (&error);

  /* c claims to be the sender of a's message: the seal says otherwise. */
  g_free (envelope->from);
  envelope->from = g_strdup (nb_key_get_public_base64 (c));
  opened = nb_signal_msg_open (b, envelope, NULL, &error);
  g_assert_null (opened);
  g_assert_error (error, NB_ENVELOPE_ERROR, NB_ENVELOPE_ERROR_AUTHENTICATION_FAILED);
  assert_error_mentions (error, "sealed by");
  g_clear_error (&error);
  g_free (envelope->from);
  envelope->from = g_strdup (nb_key_get_public_base64 (a));

  /* One flipped bit of ciphertext. */
  raw = g_base64_decode (envelope->body, &len);
  raw[len - 1] ^= 1;
  g_free (envelope->body);
  envelope->body = g_base64_encode (raw, len);
  opened = nb_signal_msg_open (b, envelope, NULL, &error);
  g_assert_null (opened);
  g_assert_error (error, NB_ENVELOPE_ERROR, NB_ENVELOPE_ERROR_AUTHENTICATION_FAILED);
}

static void
test_open_checks_body (void)
{
  g_autoptr(NbKey) a = nb_key_generate ();
  g_autoptr(NbKey) b = nb_key_generate ();
  g_autoptr(GBytes) plain = text ("{\"kind\":\"offer\",\"session_id\":\"" SESSION "\"}");
  g_autoptr(GBytes) sealed = nb_envelope_seal (a, b, plain, NULL);
  g_autoptr(NbSignalMsgEnvelope) envelope = nb_signal_msg_envelope_new ();
  g_autoptr(NbSignalMsgBody) opened = NULL;
  g_autoptr(GError) error = NULL;

  /* A peer that seals a bad body gets it refused by the receiver too. */
  envelope->from = g_strdup (nb_key_get_public_base64 (a));
  envelope->to = g_strdup (nb_key_get_public_base64 (b));
  envelope->body = g_base64_encode (g_bytes_get_data (sealed, NULL), g_bytes_get_size (sealed));
  opened = nb_signal_msg_open (b, envelope, NULL, &error);
  g_assert_null (opened);
  g_assert_error (error, NB_PROTO_ERROR, NB_PROTO_ERROR_MISSING_FIELD);
}

/* ---- the session: frames and the proof of key ---- */

static NbSignalFrame *
frame_parse (const char  *json,
             GError     **error)
{
  return nb_signal_frame_from_data (json, strlen (json), error);
}

static void
assert_frame_fails (const char *json,
                    int         code,
                    const char *part)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbSignalFrame) frame = frame_parse (json, &error);

  g_assert_null (frame);
  g_assert_error (error, NB_PROTO_ERROR, code);
  assert_error_mentions (error, part);
}

static void
test_frame_types (void)
{
  g_autoptr(NbKey) a = nb_key_generate ();
  g_autoptr(NbKey) b = nb_key_generate ();
  g_autoptr(NbSignalMsgBody) offer = make_offer ();
  g_autoptr(NbSignalMsgEnvelope) envelope = nb_signal_msg_seal (a, b, offer, NULL);
  g_autoptr(GBytes) wire = nb_signal_frame_write_message (envelope);
  g_autoptr(GError) error = NULL;
  g_autoptr(NbSignalFrame) frame = NULL;
  g_autoptr(NbSignalMsgEnvelope) back = NULL;
  g_autoptr(NbSignalFrame) hello = NULL;

  /* A message frame carries the envelope's three fields as they were. */
  frame = nb_signal_frame_from_bytes (wire, &error);
  g_assert_no_error (error);
  g_assert_cmpint (frame->type, ==, NB_SIGNAL_FRAME_MESSAGE);
  back = nb_signal_frame_to_envelope (frame);
  g_assert_cmpstr (back->from, ==, envelope->from);
  g_assert_cmpstr (back->to, ==, envelope->to);
  g_assert_cmpstr (back->body, ==, envelope->body);

  hello = frame_parse ("{\"type\":\"hello\",\"key\":\"" KEY_A "\"}", &error);
  g_assert_no_error (error);
  g_assert_cmpint (hello->type, ==, NB_SIGNAL_FRAME_HELLO);
  g_assert_cmpstr (hello->key, ==, KEY_A);

  for (guint i = 0; i <= NB_SIGNAL_FRAME_ERROR; i++)
    g_assert_nonnull (nb_signal_frame_type_to_string (i));
}

static void
test_frame_fields (void)
{
  /* Each type carries its own fields, all of them, and no others. */
  assert_frame_fails ("{\"type\":\"hello\"}", NB_PROTO_ERROR_MISSING_FIELD, "key");
  assert_frame_fails ("{\"type\":\"hello\",\"key\":\"" KEY_A "\",\"error\":\"x\"}",
                      NB_PROTO_ERROR_INVALID_VALUE, "cannot carry the field “error”");
  assert_frame_fails ("{\"type\":\"message\",\"from\":\"" KEY_A "\",\"to\":\"" KEY_B "\"}",
                      NB_PROTO_ERROR_MISSING_FIELD, "body");
  assert_frame_fails ("{\"type\":\"proof\"}", NB_PROTO_ERROR_MISSING_FIELD, "proof");
  assert_frame_fails ("{\"type\":\"undeliverable\",\"key\":\"nokey\"}",
                      NB_PROTO_ERROR_INVALID_VALUE, NULL);
  assert_frame_fails ("{\"type\":\"subscribe\",\"key\":\"" KEY_A "\"}",
                      NB_PROTO_ERROR_INVALID_VALUE, NULL);
  assert_frame_fails ("{\"key\":\"" KEY_A "\"}", NB_PROTO_ERROR_MISSING_FIELD, "type");
  assert_frame_fails ("[\"hello\"]", NB_PROTO_ERROR_MALFORMED, NULL);
  assert_frame_fails ("hello", NB_PROTO_ERROR_MALFORMED, NULL);
  /* A proof is base64 of at least an envelope's overhead. */
  assert_frame_fails ("{\"type\":\"proof\",\"proof\":\"AAAA\"}", NB_PROTO_ERROR_INVALID_VALUE,
                      "fewer than");
  /* A message to its own sender. */
  assert_frame_fails ("{\"type\":\"message\",\"from\":\"" KEY_A "\",\"to\":\"" KEY_A "\","
                      "\"body\":\"" "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKiss"
                      "LS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFi"
                      "Y2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6PkJGSk5SV\"}",
                      NB_PROTO_ERROR_INVALID_VALUE, "own sender");

  /* The whole frame is bounded before it is parsed. */
  {
    g_autoptr(GString) big = g_string_new ("{\"type\":\"error\",\"error\":\"");
    g_autoptr(GError) error = NULL;
    g_autoptr(NbSignalFrame) frame = NULL;

    while (big->len < NB_SIGNAL_PROTO_MAX_FRAME_SIZE + 10)
      g_string_append_c (big, 'x');
    g_string_append (big, "\"}");
    frame = nb_signal_frame_from_data (big->str, big->len, &error);
    g_assert_null (frame);
    g_assert_error (error, NB_PROTO_ERROR, NB_PROTO_ERROR_TOO_LARGE);
  }
}

static void
test_frame_fast_path (void)
{
  g_autoptr(NbKey) a = nb_key_generate ();
  g_autoptr(NbKey) b = nb_key_generate ();
  g_autoptr(NbSignalMsgBody) offer = make_offer ();
  g_autoptr(NbSignalMsgEnvelope) envelope = nb_signal_msg_seal (a, b, offer, NULL);
  g_autoptr(GBytes) wire = nb_signal_frame_write_message (envelope);
  g_autofree char *text = g_strndup (g_bytes_get_data (wire, NULL), g_bytes_get_size (wire));
  g_autoptr(NbSignalFrame) fast = nb_signal_frame_from_data_fast (text, strlen (text));
  const char *const variants[] = {
    /* the same frame in forms only the codec reads */
    "{\"type\":\"message\",\"to\":\"%2$s\",\"from\":\"%1$s\",\"body\":\"%3$s\"}",
    "{ \"type\":\"message\",\"from\":\"%1$s\",\"to\":\"%2$s\",\"body\":\"%3$s\"}",
    "{\"type\":\"message\",\"from\":\"%1$s\",\"to\":\"%2$s\",\"body\":\"%3$s\",\"x\":1}",
    "{\"type\":\"message\",\"from\":\"%1$s\",\"to\":\"%2$s\",\"body\":\"%3$s\"}\n",
  };

  /* What peers write takes the fast path, with the same fields. */
  g_assert_nonnull (fast);
  g_assert_cmpstr (fast->from, ==, envelope->from);
  g_assert_cmpstr (fast->to, ==, envelope->to);
  g_assert_cmpstr (fast->body, ==, envelope->body);

  for (guint i = 0; i < G_N_ELEMENTS (variants); i++)
    {
      g_autofree char *variant = g_strdup_printf (variants[i], envelope->from, envelope->to,
                                                  envelope->body);
      g_autoptr(NbSignalFrame) slow = NULL;
      g_autoptr(GError) error = NULL;

      g_assert_null (nb_signal_frame_from_data_fast (variant, strlen (variant)));
      slow = nb_signal_frame_from_data (variant, strlen (variant), &error);
      g_assert_no_error (error);
      g_assert_cmpstr (slow->body, ==, envelope->body);
    }

  /* A bad field in the fast form is refused, by the codec's message. */
  {
    g_autofree char *self_addressed =
      g_strdup_printf ("{\"type\":\"message\",\"from\":\"%s\",\"to\":\"%s\",\"body\":\"%s\"}",
                       envelope->from, envelope->from, envelope->body);
    g_autofree char *short_body =
      g_strdup_printf ("{\"type\":\"message\",\"from\":\"%s\",\"to\":\"%s\",\"body\":\"AAAA\"}",
                       envelope->from, envelope->to);

    g_assert_null (nb_signal_frame_from_data_fast (self_addressed, strlen (self_addressed)));
    assert_frame_fails (self_addressed, NB_PROTO_ERROR_INVALID_VALUE, "own sender");
    g_assert_null (nb_signal_frame_from_data_fast (short_body, strlen (short_body)));
    assert_frame_fails (short_body, NB_PROTO_ERROR_INVALID_VALUE, "fewer than");
  }
}

static void
test_proof_of_key (void)
{
  g_autoptr(NbKey) server = nb_key_generate ();
  g_autoptr(NbKey) peer = nb_key_generate ();
  g_autoptr(GError) error = NULL;
  guint8 nonce[NB_SIGNAL_PROTO_CHALLENGE_LEN];
  g_autofree char *challenge = nb_signal_challenge_new (server, peer, nonce, &error);
  g_autofree char *proof = NULL;
  g_autoptr(NbSignalFrame) frame = NULL;
  g_autoptr(GBytes) bytes = NULL;
  NbSignalFrame wire = { .type = NB_SIGNAL_FRAME_CHALLENGE };

  g_assert_no_error (error);
  /* The challenge crosses the wire in a frame the codec accepts. */
  wire.challenge = challenge;
  bytes = nb_signal_frame_to_bytes (&wire);
  frame = nb_signal_frame_from_bytes (bytes, &error);
  g_assert_no_error (error);

  proof = nb_signal_challenge_answer (peer, frame->challenge, &error);
  g_assert_no_error (error);
  g_assert_true (nb_signal_challenge_verify (server, peer, nonce, proof, &error));
  g_assert_no_error (error);
}

static void
test_proof_refused (void)
{
  g_autoptr(NbKey) server = nb_key_generate ();
  g_autoptr(NbKey) peer = nb_key_generate ();
  g_autoptr(NbKey) peer_public = nb_key_dup_public (peer);
  g_autoptr(NbKey) impostor = nb_key_generate ();
  g_autoptr(GError) error = NULL;
  guint8 nonce[NB_SIGNAL_PROTO_CHALLENGE_LEN];
  guint8 other_nonce[NB_SIGNAL_PROTO_CHALLENGE_LEN];
  g_autofree char *challenge = nb_signal_challenge_new (server, peer_public, nonce, &error);
  g_autofree char *other = nb_signal_challenge_new (server, peer, other_nonce, &error);
  g_autofree char *proof = NULL;
  g_autoptr(GBytes) plain = NULL;
  g_autoptr(GBytes) sealed = NULL;
  g_autofree char *forged = NULL;

  g_assert_no_error (error);

  /* Without the private half, the challenge does not open. */
  proof = nb_signal_challenge_answer (impostor, challenge, &error);
  g_assert_null (proof);
  g_assert_error (error, NB_ENVELOPE_ERROR, NB_ENVELOPE_ERROR_WRONG_RECIPIENT);
  g_clear_error (&error);
  proof = nb_signal_challenge_answer (peer_public, challenge, &error);
  g_assert_null (proof);
  g_assert_nonnull (error);
  g_clear_error (&error);

  /* The challenge echoed back is no proof. */
  g_assert_false (nb_signal_challenge_verify (server, peer_public, nonce, challenge, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);

  /* The right nonce, sealed by another key (the impostor read it somehow). */
  plain = g_bytes_new (nonce, sizeof nonce);
  sealed = nb_envelope_seal (impostor, server, plain, NULL);
  forged = g_base64_encode (g_bytes_get_data (sealed, NULL), g_bytes_get_size (sealed));
  g_assert_false (nb_signal_challenge_verify (server, peer_public, nonce, forged, &error));
  g_assert_error (error, NB_ENVELOPE_ERROR, NB_ENVELOPE_ERROR_AUTHENTICATION_FAILED);
  g_clear_error (&error);

  /* A proof of another connection's challenge (a replay) fails here. */
  g_clear_pointer (&proof, g_free);
  proof = nb_signal_challenge_answer (peer, other, &error);
  g_assert_no_error (error);
  g_assert_true (nb_signal_challenge_verify (server, peer, other_nonce, proof, NULL));
  g_assert_false (nb_signal_challenge_verify (server, peer, nonce, proof, &error));
  g_assert_error (error, NB_ENVELOPE_ERROR, NB_ENVELOPE_ERROR_AUTHENTICATION_FAILED);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/proto/signal/offer-round-trip", test_offer_round_trip);
  g_test_add_func ("/proto/signal/answer-candidate-go-idle", test_answer_and_candidate);
  g_test_add_func ("/proto/signal/kind-fields", test_kind_fields);
  g_test_add_func ("/proto/signal/ice-credentials", test_ice_credentials);
  g_test_add_func ("/proto/signal/port-session-relay", test_port_session_relay);
  g_test_add_func ("/proto/signal/candidate-form", test_candidate_form);
  g_test_add_func ("/proto/signal/envelope-fields", test_envelope_fields);
  g_test_add_func ("/proto/signal/seal-open", test_seal_open);
  g_test_add_func ("/proto/signal/open-refuses", test_open_refuses);
  g_test_add_func ("/proto/signal/open-checks-body", test_open_checks_body);
  g_test_add_func ("/proto/signal/frame-types", test_frame_types);
  g_test_add_func ("/proto/signal/frame-fields", test_frame_fields);
  g_test_add_func ("/proto/signal/frame-fast-path", test_frame_fast_path);
  g_test_add_func ("/proto/signal/proof-of-key", test_proof_of_key);
  g_test_add_func ("/proto/signal/proof-refused", test_proof_refused);

  return g_test_run ();
}
