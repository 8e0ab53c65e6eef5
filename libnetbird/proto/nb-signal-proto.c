/* nb-signal-proto.c: the messages peers exchange through Signal
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-proto"

#include <string.h>

#include "nb-signal-proto-private.h"
#include "nb-envelope.h"

#define REQ NB_PROTO_FIELD_REQUIRED
#define OPT 0

/* Base64 of the largest sealed body, with padding. */
#define SEALED_BODY_BASE64_MAX (4 * ((NB_SIGNAL_PROTO_MAX_SEALED_BODY + 2) / 3))

static const char *const kind_names[] = { "offer", "answer", "candidate", "go_idle", NULL };

const char *
nb_signal_msg_kind_to_string (NbSignalMsgKind kind)
{
  g_return_val_if_fail ((guint) kind < G_N_ELEMENTS (kind_names) - 1, NULL);
  return kind_names[kind];
}

/* ---- validators ---- */

static gboolean
is_ice_char (char c)
{
  return g_ascii_isalnum (c) || c == '+' || c == '/';
}

static gboolean
validate_ice_chars (const char  *value,
                    const char  *what,
                    gsize        min,
                    const char  *name,
                    GError     **error)
{
  gsize len = strlen (value);

  for (gsize i = 0; i < len; i++)
    if (!is_ice_char (value[i]))
      {
        g_set_error (error, NB_PROTO_ERROR, NB_PROTO_ERROR_INVALID_VALUE,
                     "Field “%s” holds “%c”, which an ICE %s cannot hold "
                     "(letters, digits, “+” and “/”, RFC 5245 §15.1)",
                     what, g_ascii_isprint (value[i]) ? value[i] : '?', name);
        return FALSE;
      }
  if (len < min || len > NB_SIGNAL_PROTO_ICE_CHARS_MAX)
    {
      g_set_error (error, NB_PROTO_ERROR, NB_PROTO_ERROR_INVALID_VALUE,
                   "Field “%s” is %" G_GSIZE_FORMAT " characters long; an ICE %s has %"
                   G_GSIZE_FORMAT " to %d (RFC 8445 §5.3)", what, len, name, min,
                   NB_SIGNAL_PROTO_ICE_CHARS_MAX);
      return FALSE;
    }
  return TRUE;
}

gboolean
nb_signal_proto_validate_ufrag (const char  *value,
                                const char  *what,
                                GError     **error)
{
  return validate_ice_chars (value, what, NB_SIGNAL_PROTO_UFRAG_MIN, "username fragment", error);
}

gboolean
nb_signal_proto_validate_pwd (const char  *value,
                              const char  *what,
                              GError     **error)
{
  return validate_ice_chars (value, what, NB_SIGNAL_PROTO_PWD_MIN, "password", error);
}

static gboolean
is_digits (const char *s,
           gsize       max_len)
{
  gsize len = strlen (s);

  return len > 0 && len <= max_len && strspn (s, "0123456789") == len;
}

static gboolean
is_address (const char *s)
{
  /* An IP address, or a name (RFC 5245 allows an FQDN; browsers send
   * mDNS ".local" names). */
  return nb_proto_validate_ip (s, "", NULL) || nb_proto_validate_dns_name (s, "", NULL);
}

static gboolean
is_port (const char *s)
{
  return is_digits (s, 5) && g_ascii_strtoull (s, NULL, 10) <= 65535;
}

gboolean
nb_signal_proto_validate_candidate (const char  *value,
                                    const char  *what,
                                    GError     **error)
{
  g_auto(GStrv) tokens = NULL;
  const char *problem = NULL;
  guint n;

  if (!g_str_has_prefix (value, "candidate:"))
    {
      g_set_error (error, NB_PROTO_ERROR, NB_PROTO_ERROR_INVALID_VALUE,
                   "Field “%s” must start with “candidate:” (RFC 5245 §15.1)", what);
      return FALSE;
    }
  tokens = g_strsplit (value + strlen ("candidate:"), " ", -1);
  n = g_strv_length (tokens);

  for (guint i = 0; i < n && problem == NULL; i++)
    if (tokens[i][0] == '\0')
      problem = "an empty element (two spaces in a row, or one at an end)";
  if (problem != NULL)
    ;
  else if (n < 8)
    problem = "fewer than the 8 elements every candidate has";
  else if (strlen (tokens[0]) > 32 ||
           !validate_ice_chars (tokens[0], what, 1, "foundation", NULL))
    problem = "a foundation that is not 1 to 32 ice-chars";
  else if (!is_digits (tokens[1], 3) || g_ascii_strtoull (tokens[1], NULL, 10) < 1 ||
           g_ascii_strtoull (tokens[1], NULL, 10) > 256)
    problem = "a component id that is not between 1 and 256";
  else if (g_ascii_strcasecmp (tokens[2], "udp") != 0 && g_ascii_strcasecmp (tokens[2], "tcp") != 0)
    problem = "a transport other than udp or tcp";
  else if (!is_digits (tokens[3], 10) || g_ascii_strtoull (tokens[3], NULL, 10) > G_MAXUINT32)
    problem = "a priority that is not between 0 and 2^32-1";
  else if (!is_address (tokens[4]))
    problem = "a connection address that is neither an IP address nor a host name";
  else if (!is_port (tokens[5]))
    problem = "a port that is not between 0 and 65535";
  else if (!g_str_equal (tokens[6], "typ"))
    problem = "no “typ” where the candidate type belongs";
  else if (!g_strv_contains ((const char *const[]) { "host", "srflx", "prflx", "relay", NULL },
                             tokens[7]))
    problem = "a type other than host, srflx, prflx or relay";
  else if ((n - 8) % 2 != 0)
    problem = "an attribute name without a value";
  else
    for (guint i = 8; i + 1 < n && problem == NULL; i += 2)
      {
        if (g_str_equal (tokens[i], "raddr") && !is_address (tokens[i + 1]))
          problem = "a related address that is not an address";
        else if (g_str_equal (tokens[i], "rport") && !is_port (tokens[i + 1]))
          problem = "a related port that is not a port";
      }

  if (problem != NULL)
    {
      g_set_error (error, NB_PROTO_ERROR, NB_PROTO_ERROR_INVALID_VALUE,
                   "Field “%s” is not an ICE candidate attribute: it has %s", what, problem);
      return FALSE;
    }
  return TRUE;
}

static gboolean
validate_session_id (const char  *value,
                     const char  *what,
                     GError     **error)
{
  gsize len = strlen (value);

  if (len < NB_SIGNAL_PROTO_SESSION_ID_MIN || len > NB_SIGNAL_PROTO_SESSION_ID_MAX ||
      strspn (value, "0123456789abcdef") != len)
    {
      g_set_error (error, NB_PROTO_ERROR, NB_PROTO_ERROR_INVALID_VALUE,
                   "Field “%s” must be %d to %d lowercase hexadecimal digits", what,
                   NB_SIGNAL_PROTO_SESSION_ID_MIN, NB_SIGNAL_PROTO_SESSION_ID_MAX);
      return FALSE;
    }
  return TRUE;
}

/* Standard base64 with padding (RFC 4648 §4), of a sealed envelope: at least
 * an envelope's overhead. g_base64_decode() accepts anything, so the form is
 * checked here first. */
gboolean
nb_signal_proto_validate_sealed (const char  *value,
                                 const char  *what,
                                 GError     **error)
{
  gsize len = strlen (value);
  gsize padding = 0;
  gsize decoded;

  if (len == 0 || len % 4 != 0)
    goto invalid;
  if (value[len - 1] == '=')
    padding = value[len - 2] == '=' ? 2 : 1;
  for (gsize i = 0; i < len - padding; i++)
    if (!g_ascii_isalnum (value[i]) && value[i] != '+' && value[i] != '/')
      goto invalid;
  decoded = len / 4 * 3 - padding;
  if (decoded < NB_ENVELOPE_OVERHEAD)
    {
      g_set_error (error, NB_PROTO_ERROR, NB_PROTO_ERROR_INVALID_VALUE,
                   "Field “%s” holds %" G_GSIZE_FORMAT " bytes, fewer than a sealed "
                   "envelope's %d", what, decoded, NB_ENVELOPE_OVERHEAD);
      return FALSE;
    }
  return TRUE;

invalid:
  g_set_error (error, NB_PROTO_ERROR, NB_PROTO_ERROR_INVALID_VALUE,
               "Field “%s” is not base64 (RFC 4648 §4, with padding)", what);
  return FALSE;
}

/* ---- envelope ---- */

static const NbProtoField envelope_fields[] = {
  NB_PROTO_F_STRING (NbSignalMsgEnvelope, from, "from", REQ, NB_KEY_BASE64_LEN,
                     nb_proto_validate_key),
  NB_PROTO_F_STRING (NbSignalMsgEnvelope, to, "to", REQ, NB_KEY_BASE64_LEN,
                     nb_proto_validate_key),
  NB_PROTO_F_STRING (NbSignalMsgEnvelope, body, "body", REQ, SEALED_BODY_BASE64_MAX,
                     nb_signal_proto_validate_sealed),
};

static gboolean
check_envelope (gconstpointer message,
                GError      **error)
{
  const NbSignalMsgEnvelope *envelope = message;

  if (g_str_equal (envelope->from, envelope->to))
    {
      g_set_error_literal (error, NB_PROTO_ERROR, NB_PROTO_ERROR_INVALID_VALUE,
                           "A Signal message cannot be addressed to its own sender");
      return FALSE;
    }
  return TRUE;
}
NB_PROTO_DESC (envelope_desc, NbSignalMsgEnvelope, envelope_fields, check_envelope);

/* ---- body ---- */

static const NbProtoField body_fields[] = {
  NB_PROTO_F_ENUM (NbSignalMsgBody, kind, "kind", REQ, kind_names),
  NB_PROTO_F_STRING (NbSignalMsgBody, session_id, "session_id", REQ,
                     NB_SIGNAL_PROTO_SESSION_ID_MAX, validate_session_id),
  NB_PROTO_F_STRING (NbSignalMsgBody, ufrag, "ufrag", OPT, NB_SIGNAL_PROTO_ICE_CHARS_MAX,
                     nb_signal_proto_validate_ufrag),
  NB_PROTO_F_STRING (NbSignalMsgBody, pwd, "pwd", OPT, NB_SIGNAL_PROTO_ICE_CHARS_MAX,
                     nb_signal_proto_validate_pwd),
  /* 0 stands for absent: the codec writes every integer, and the kinds
   * without a port carry 0 (check_body). */
  NB_PROTO_F_INT (NbSignalMsgBody, wg_listen_port, "wg_listen_port", OPT, 0, 65535),
  NB_PROTO_F_STRING (NbSignalMsgBody, version, "version", OPT, 64, NULL),
  NB_PROTO_F_STRING (NbSignalMsgBody, relay_address, "relay_address", OPT, 1024,
                     nb_proto_validate_uri),
  NB_PROTO_F_STRING (NbSignalMsgBody, candidate, "candidate", OPT, NB_SIGNAL_PROTO_CANDIDATE_MAX,
                     nb_signal_proto_validate_candidate),
};

static gboolean
missing (const char  *kind,
         const char  *field,
         GError     **error)
{
  g_set_error (error, NB_PROTO_ERROR, NB_PROTO_ERROR_MISSING_FIELD,
               "A Signal %s must have the field “%s”", kind, field);
  return FALSE;
}

static gboolean
misplaced (const char  *kind,
           const char  *field,
           GError     **error)
{
  g_set_error (error, NB_PROTO_ERROR, NB_PROTO_ERROR_INVALID_VALUE,
               "A Signal %s cannot carry the field “%s”", kind, field);
  return FALSE;
}

/* Each kind carries its own fields and no other kind's, so a message means
 * one thing. */
static gboolean
check_body (gconstpointer message,
            GError      **error)
{
  const NbSignalMsgBody *body = message;
  const char *kind = nb_signal_msg_kind_to_string (body->kind);
  gboolean credentials = body->kind == NB_SIGNAL_MSG_KIND_OFFER ||
                         body->kind == NB_SIGNAL_MSG_KIND_ANSWER;

  if (credentials)
    {
      if (body->ufrag == NULL)
        return missing (kind, "ufrag", error);
      if (body->pwd == NULL)
        return missing (kind, "pwd", error);
      if (body->wg_listen_port == 0)
        return missing (kind, "wg_listen_port (a port from 1 to 65535)", error);
      if (body->version == NULL)
        return missing (kind, "version", error);
      if (body->candidate != NULL)
        return misplaced (kind, "candidate", error);
      return TRUE;
    }

  if (body->ufrag != NULL)
    return misplaced (kind, "ufrag", error);
  if (body->pwd != NULL)
    return misplaced (kind, "pwd", error);
  if (body->wg_listen_port != 0)
    return misplaced (kind, "wg_listen_port", error);
  if (body->version != NULL)
    return misplaced (kind, "version", error);
  if (body->relay_address != NULL)
    return misplaced (kind, "relay_address", error);
  if (body->kind == NB_SIGNAL_MSG_KIND_CANDIDATE && body->candidate == NULL)
    return missing (kind, "candidate", error);
  if (body->kind == NB_SIGNAL_MSG_KIND_GO_IDLE && body->candidate != NULL)
    return misplaced (kind, "candidate", error);
  return TRUE;
}
NB_PROTO_DESC (body_desc, NbSignalMsgBody, body_fields, check_body);

NB_PROTO_DEFINE_MESSAGE (NbSignalMsgEnvelope, nb_signal_msg_envelope, envelope_desc,
                         NB_SIGNAL_PROTO_MAX_ENVELOPE_SIZE)
NB_PROTO_DEFINE_MESSAGE (NbSignalMsgBody, nb_signal_msg_body, body_desc,
                         NB_SIGNAL_PROTO_MAX_BODY_SIZE)

/* ---- sealing ---- */

NbSignalMsgEnvelope *
nb_signal_msg_seal (NbKey                 *sender,
                    NbKey                 *recipient,
                    const NbSignalMsgBody *body,
                    GError               **error)
{
  g_autoptr(GBytes) plain = NULL;
  g_autoptr(GBytes) sealed = NULL;
  g_autoptr(NbSignalMsgEnvelope) envelope = NULL;
  gsize len = 0;
  const guint8 *data;

  g_return_val_if_fail (NB_IS_KEY (sender), NULL);
  g_return_val_if_fail (NB_IS_KEY (recipient), NULL);
  g_return_val_if_fail (body != NULL, NULL);

  plain = nb_signal_msg_body_to_bytes (body);
  if (g_bytes_get_size (plain) > NB_SIGNAL_PROTO_MAX_BODY_SIZE)
    {
      g_set_error (error, NB_PROTO_ERROR, NB_PROTO_ERROR_TOO_LARGE,
                   "A Signal message body of %" G_GSIZE_FORMAT " bytes is larger than the %d "
                   "bytes allowed", g_bytes_get_size (plain), NB_SIGNAL_PROTO_MAX_BODY_SIZE);
      return NULL;
    }
  sealed = nb_envelope_seal (sender, recipient, plain, error);
  if (sealed == NULL)
    return NULL;

  data = g_bytes_get_data (sealed, &len);
  envelope = nb_signal_msg_envelope_new ();
  envelope->from = g_strdup (nb_key_get_public_base64 (sender));
  envelope->to = g_strdup (nb_key_get_public_base64 (recipient));
  envelope->body = g_base64_encode (data, len);
  return g_steal_pointer (&envelope);
}

NbSignalMsgBody *
nb_signal_msg_open (NbKey                     *recipient,
                    const NbSignalMsgEnvelope *envelope,
                    NbKey                    **sender,
                    GError                   **error)
{
  g_autoptr(NbKey) sealed_by = NULL;
  g_autoptr(GBytes) sealed = NULL;
  g_autoptr(GBytes) plain = NULL;
  guchar *data;
  gsize len = 0;
  NbSignalMsgBody *body;

  g_return_val_if_fail (NB_IS_KEY (recipient), NULL);
  g_return_val_if_fail (envelope != NULL && envelope->body != NULL, NULL);
  g_return_val_if_fail (sender == NULL || *sender == NULL, NULL);

  if (envelope->to == NULL || !g_str_equal (envelope->to, nb_key_get_public_base64 (recipient)))
    {
      g_set_error (error, NB_ENVELOPE_ERROR, NB_ENVELOPE_ERROR_WRONG_RECIPIENT,
                   "This Signal message is addressed to %s, not to this peer",
                   envelope->to != NULL ? envelope->to : "nobody");
      return NULL;
    }
  data = g_base64_decode (envelope->body, &len);
  sealed = g_bytes_new_take (data, len);
  plain = nb_envelope_open (recipient, sealed, &sealed_by, error);
  if (plain == NULL)
    return NULL;
  /* The server routed by “from”; the seal names who wrote it. */
  if (envelope->from == NULL ||
      !g_str_equal (envelope->from, nb_key_get_public_base64 (sealed_by)))
    {
      g_set_error (error, NB_ENVELOPE_ERROR, NB_ENVELOPE_ERROR_AUTHENTICATION_FAILED,
                   "This Signal message says it is from %s but was sealed by %s",
                   envelope->from != NULL ? envelope->from : "nobody",
                   nb_key_get_public_base64 (sealed_by));
      return NULL;
    }
  body = nb_signal_msg_body_from_bytes (plain, error);
  if (body != NULL && sender != NULL)
    *sender = g_steal_pointer (&sealed_by);
  return body;
}
