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

/* Standard base64 with padding (RFC 4648 §4) of at least a sealed
 * envelope's overhead: the form of a sealed body, challenge or proof. */
gboolean nb_signal_proto_validate_sealed    (const char  *value,
                                             const char  *what,
                                             GError     **error);

/* ---- the session: what a peer and the Signal server say to each other ----
 *
 * One WebSocket per peer; each frame (text or binary) is one JSON object
 * with a "type" (nb-signal-session-proto.c):
 *
 *   peer   -> server  {"type":"hello","key":K}        registers under key K
 *   server -> peer    {"type":"challenge","challenge":C}
 *                     C = seal(server key -> K, 32 random bytes), base64
 *   peer   -> server  {"type":"proof","proof":P}
 *                     P = seal(K -> server key, the 32 bytes opened from C)
 *   server -> peer    {"type":"registered","key":K}
 *   either way        {"type":"message","from":F,"to":T,"body":B}
 *                     an envelope; the server forwards it unchanged
 *   server -> peer    {"type":"undeliverable","key":T} T is not connected
 *   server -> peer    {"type":"error","error":TEXT} before it closes
 *
 * Only the holder of K's private key can open C, and only it can seal P so
 * that it opens as from K (the envelope's X25519 between K and the server's
 * one-time key authenticates the sender), so a registration proves the key.
 */

/* The WebSocket's path on the server. */
#define NB_SIGNAL_PATH "/signal/v1"

/* The nonce of a challenge. */
#define NB_SIGNAL_PROTO_CHALLENGE_LEN 32
/* The largest frame a peer or the server sends: a message frame is an
 * envelope plus its type. */
#define NB_SIGNAL_PROTO_MAX_FRAME_SIZE (NB_SIGNAL_PROTO_MAX_ENVELOPE_SIZE + 64)
/* The longest text of an error frame. */
#define NB_SIGNAL_PROTO_ERROR_MAX 256

/* WebSocket close codes of the Signal server (RFC 6455 §7.4.2: 4000-4999
 * are for applications). A client closed with REPLACED does not reconnect:
 * another connection proved the same key after it. */
#define NB_SIGNAL_CLOSE_REPLACED 4001
#define NB_SIGNAL_CLOSE_PROOF_FAILED 4003
#define NB_SIGNAL_CLOSE_AUTH_TIMEOUT 4008
#define NB_SIGNAL_CLOSE_RATE_LIMITED 4030
/* Nothing came from the other side, not even a pong to a ping, for
 * NB_SIGNAL_SILENT_INTERVALS keepalive intervals: it is taken for gone
 * (a NAT that forgot the flow, a machine that went away without a FIN). */
#define NB_SIGNAL_CLOSE_SILENT 4002
#define NB_SIGNAL_SILENT_INTERVALS 3
#define NB_SIGNAL_DEFAULT_KEEPALIVE_SECONDS 20

typedef enum {
  NB_SIGNAL_FRAME_HELLO,
  NB_SIGNAL_FRAME_CHALLENGE,
  NB_SIGNAL_FRAME_PROOF,
  NB_SIGNAL_FRAME_REGISTERED,
  NB_SIGNAL_FRAME_MESSAGE,
  NB_SIGNAL_FRAME_UNDELIVERABLE,
  NB_SIGNAL_FRAME_ERROR,
} NbSignalFrameType;

typedef struct
{
  NbSignalFrameType type; /* required */
  char *key;              /* hello, registered, undeliverable: a public key */
  char *challenge;        /* challenge: sealed nonce, base64 */
  char *proof;            /* proof: sealed nonce, base64 */
  char *from;             /* message: the envelope's fields */
  char *to;
  char *body;
  char *error;            /* error: what went wrong, for people */
} NbSignalFrame;

NB_PROTO_DECLARE_MESSAGE (NbSignalFrame, nb_signal_frame)

const char    *nb_signal_frame_type_to_string (NbSignalFrameType type);
/* Reads one frame from raw WebSocket payload (no copy of @data). */
NbSignalFrame *nb_signal_frame_from_data      (const char       *data,
                                               gsize             length,
                                               GError          **error);
/* The fast path of nb_signal_frame_from_data(): a message frame in the
 * exact form nb_signal_frame_write_message() writes, checked with the
 * codec's validators, or NULL (no error) for anything else. Whatever it
 * takes, the codec takes the same (the fuzz target checks it). */
NbSignalFrame *nb_signal_frame_from_data_fast (const char       *data,
                                               gsize             length);
/* A message frame for @envelope, and back (the strings are copied). */
GBytes        *nb_signal_frame_write_message  (const NbSignalMsgEnvelope *envelope);
NbSignalMsgEnvelope *nb_signal_frame_to_envelope (const NbSignalFrame *frame);

/* The challenge: 32 random bytes into *@nonce, sealed from @server_key to
 * @peer_key. */
char          *nb_signal_challenge_new        (NbKey            *server_key,
                                               NbKey            *peer_key,
                                               guint8            nonce[NB_SIGNAL_PROTO_CHALLENGE_LEN],
                                               GError          **error);
/* The peer's side: opens @challenge with @peer_key (which holds its private
 * half) and seals the nonce back to whoever sealed it. */
char          *nb_signal_challenge_answer     (NbKey            *peer_key,
                                               const char       *challenge,
                                               GError          **error);
/* The server's side: TRUE when @proof opens with @server_key, was sealed by
 * @peer_key and holds @nonce. */
gboolean       nb_signal_challenge_verify     (NbKey            *server_key,
                                               NbKey            *peer_key,
                                               const guint8      nonce[NB_SIGNAL_PROTO_CHALLENGE_LEN],
                                               const char       *proof,
                                               GError          **error);

G_END_DECLS
