/* nb-signal-proto-private.h: the messages peers exchange through Signal
 *
 * Library-internal: plain C structs with JSON codecs, used by the Signal
 * server (which reads only the envelope) and by the peers (which seal and
 * open the body).
 *
 * Two layers:
 *  - the envelope, which the Signal server reads: the sender's and the
 *    destination's public keys and an opaque body. The server forwards the
 *    body as it came; it never holds the key that opens it.
 *  - the body, sealed with nb_envelope_seal() from the sender's key to the
 *    destination's key: an offer or answer (ICE credentials, WireGuard port,
 *    agent version, session id, optional relay address), one trickled ICE
 *    candidate, or go-idle.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#if !defined(NB_COMPILATION)
#error "nb-signal-proto-private.h is internal to libnetbird."
#endif

#include <glib.h>
#include "nb-key.h"
#include "nb-proto-codec-private.h"

G_BEGIN_DECLS

/* The largest sealed body an envelope may carry, and the largest JSON text
 * of an envelope (the body in base64 plus two keys and the framing) and of
 * a body. A body holds one candidate or one set of credentials: a few
 * hundred bytes. */
#define NB_SIGNAL_PROTO_MAX_SEALED_BODY 4096
#define NB_SIGNAL_PROTO_MAX_ENVELOPE_SIZE 8192
#define NB_SIGNAL_PROTO_MAX_BODY_SIZE 2048

/* RFC 8445 §5.3: a username fragment carries at least 24 bits of randomness
 * (4 ice-chars), a password at least 128 bits (22 ice-chars); RFC 5245 §15.4
 * bounds both at 256 characters. */
#define NB_SIGNAL_PROTO_UFRAG_MIN 4
#define NB_SIGNAL_PROTO_PWD_MIN 22
#define NB_SIGNAL_PROTO_ICE_CHARS_MAX 256

/* One candidate attribute ("candidate:..."), RFC 5245 §15.1. */
#define NB_SIGNAL_PROTO_CANDIDATE_MAX 512

/* A session id is 8 to 16 random bytes in lowercase hex. */
#define NB_SIGNAL_PROTO_SESSION_ID_MIN 16
#define NB_SIGNAL_PROTO_SESSION_ID_MAX 32

typedef enum {
  NB_SIGNAL_MSG_KIND_OFFER,
  NB_SIGNAL_MSG_KIND_ANSWER,
  NB_SIGNAL_MSG_KIND_CANDIDATE,
  NB_SIGNAL_MSG_KIND_GO_IDLE,
} NbSignalMsgKind;

/* What the Signal server reads and forwards. */
typedef struct
{
  char *from;             /* required, the sender's public key, base64 */
  char *to;               /* required, the destination's public key */
  char *body;             /* required, the sealed body in base64 */
} NbSignalMsgEnvelope;

/* What only the two peers read. */
typedef struct
{
  NbSignalMsgKind kind;   /* required */
  /* Required. Chosen by the sender when its ICE session starts or
   * restarts: a message whose session id is not the current one of its
   * sender is stale (sent before a restart) and is dropped. */
  char *session_id;
  /* offer and answer: required */
  char *ufrag;            /* ICE username fragment, 4..256 ice-chars */
  char *pwd;              /* ICE password, 22..256 ice-chars */
  gint64 wg_listen_port;  /* 1..65535; 0 in the other kinds */
  char *version;          /* the sender's agent version, "0.1.0" */
  /* offer and answer: optional, the sender's relay ("rels://relay:443") */
  char *relay_address;
  /* candidate: required, "candidate:1 1 udp 2130706431 198.18.0.1 51820 typ host" */
  char *candidate;
} NbSignalMsgBody;

NB_PROTO_DECLARE_MESSAGE (NbSignalMsgEnvelope, nb_signal_msg_envelope)
NB_PROTO_DECLARE_MESSAGE (NbSignalMsgBody, nb_signal_msg_body)

const char *nb_signal_msg_kind_to_string (NbSignalMsgKind kind);

/* ice-char = ALPHA / DIGIT / "+" / "/" (RFC 5245 §15.1), between @min and
 * NB_SIGNAL_PROTO_ICE_CHARS_MAX characters. */
gboolean nb_signal_proto_validate_ufrag     (const char  *value,
                                             const char  *what,
                                             GError     **error);
gboolean nb_signal_proto_validate_pwd       (const char  *value,
                                             const char  *what,
                                             GError     **error);
/* "candidate:FOUNDATION COMPONENT TRANSPORT PRIORITY ADDRESS PORT typ TYPE
 * [raddr ADDRESS rport PORT] [NAME VALUE]..." (RFC 5245 §15.1). */
gboolean nb_signal_proto_validate_candidate (const char  *value,
                                             const char  *what,
                                             GError     **error);

/* Seals @body from @sender (which holds its private key) to @recipient and
 * wraps it in an envelope. */
NbSignalMsgEnvelope *nb_signal_msg_seal (NbKey                 *sender,
                                         NbKey                 *recipient,
                                         const NbSignalMsgBody *body,
                                         GError               **error);
/* Opens the body of @envelope with @recipient's private key. Fails unless
 * the envelope is addressed to @recipient and was sealed by the key it
 * names in “from” (the server routes by those fields, the seal proves
 * them). On success *@sender (optional) holds the sender's public key. */
NbSignalMsgBody     *nb_signal_msg_open (NbKey                     *recipient,
                                         const NbSignalMsgEnvelope *envelope,
                                         NbKey                    **sender,
                                         GError                   **error);

G_END_DECLS
