/* nb-relay-frame-private.h: the Relay protocol's frames
 *
 * Library-internal. Plain C over byte buffers (no GObject): the server, the
 * client and the fuzz target share it.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * Each frame is one binary WebSocket message (RFC 6455 §5.6):
 *
 *   byte 0     version, NB_RELAY_PROTO_VERSION
 *   byte 1     type (NbRelayFrameType)
 *   bytes 2..  the type's body, integers big-endian:
 *
 *   auth       client: key[32] u16 n payload[n] u16 m signature[m]
 *              (the token Management issued: "EXPIRY:KEY" and its HMAC)
 *   challenge  server: the sealed nonce, base64 text (rest of the frame)
 *   proof      client: the nonce sealed back, base64 text (rest)
 *   auth-ok    server: id[16], the client's own peer id
 *   transport  both: id[16] payload[1..NB_RELAY_PROTO_MAX_PAYLOAD]; from a
 *              client the id is the destination, from the server the source
 *   watch      client: u16 n, then n ids (at most NB_RELAY_PROTO_MAX_WATCH)
 *   online     server: id[16], a watched peer is connected
 *   offline    server: id[16], a watched (or addressed) peer is not
 *   ping/pong  both: u64 nonce
 *   close      server: u16 code, reason (UTF-8, rest, at most 123 bytes)
 *
 * A peer id is the first 16 bytes of SHA-256 over the peer's 32-byte
 * WireGuard public key (nb_relay_peer_id_of_key()): fixed size in every
 * transport header, and the server never needs the keys of the peers a
 * client talks to.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define NB_RELAY_PROTO_VERSION 1
#define NB_RELAY_PEER_ID_LEN 16
#define NB_RELAY_PROTO_HEADER_LEN 2
#define NB_RELAY_PROTO_TRANSPORT_HEADER_LEN (NB_RELAY_PROTO_HEADER_LEN + NB_RELAY_PEER_ID_LEN)
/* A WireGuard datagram (its largest is the device MTU plus 32 bytes): the
 * bound leaves room for jumbo MTUs and nothing more. */
#define NB_RELAY_PROTO_MAX_PAYLOAD 9216
#define NB_RELAY_PROTO_MAX_FRAME (NB_RELAY_PROTO_TRANSPORT_HEADER_LEN + NB_RELAY_PROTO_MAX_PAYLOAD)
#define NB_RELAY_PROTO_MAX_TOKEN 512
#define NB_RELAY_PROTO_MAX_WATCH 1024
#define NB_RELAY_PROTO_MAX_REASON 123

/* WebSocket close codes of the Relay (RFC 6455 §7.4.2: 4000-4999 are
 * private use). The service base's 4008 (authentication timeout) and 4029
 * (send queue full) apply too. */
#define NB_RELAY_CLOSE_TOKEN_INVALID 4001  /* forged or unreadable token */
#define NB_RELAY_CLOSE_TOKEN_EXPIRED 4002
#define NB_RELAY_CLOSE_TOKEN_OTHER_PEER 4003  /* the token names another key */
#define NB_RELAY_CLOSE_PROOF_FAILED 4004   /* the key was not proven */
#define NB_RELAY_CLOSE_PROTOCOL 4005       /* malformed or out-of-place frame */
#define NB_RELAY_CLOSE_REPLACED 4006       /* the same peer connected again */
#define NB_RELAY_CLOSE_SILENT 4007         /* nothing received for too long */

typedef enum {
  NB_RELAY_FRAME_AUTH = 1,
  NB_RELAY_FRAME_CHALLENGE,
  NB_RELAY_FRAME_PROOF,
  NB_RELAY_FRAME_AUTH_OK,
  NB_RELAY_FRAME_TRANSPORT,
  NB_RELAY_FRAME_WATCH,
  NB_RELAY_FRAME_ONLINE,
  NB_RELAY_FRAME_OFFLINE,
  NB_RELAY_FRAME_PING,
  NB_RELAY_FRAME_PONG,
  NB_RELAY_FRAME_CLOSE,
} NbRelayFrameType;

/* A parsed frame: pointers into the buffer it was read from, nothing
 * allocated (the transport path parses every datagram). Text fields are
 * not NUL-terminated: use their lengths. */
typedef struct
{
  NbRelayFrameType type;
  const guint8 *id;          /* auth-ok, transport, online, offline */
  const guint8 *key;         /* auth: 32 bytes */
  const char *token_payload; /* auth */
  gsize token_payload_len;
  const char *token_signature;
  gsize token_signature_len;
  const char *text;          /* challenge, proof, close reason */
  gsize text_len;
  const guint8 *payload;     /* transport */
  gsize payload_len;
  const guint8 *ids;         /* watch: n_ids * NB_RELAY_PEER_ID_LEN bytes */
  guint n_ids;
  guint64 nonce;             /* ping, pong */
  guint16 code;              /* close */
} NbRelayFrame;

const char *nb_relay_frame_type_to_string (NbRelayFrameType type);

/* Reads @data; FALSE with an NB_PROTO_ERROR for anything that is not one
 * well-formed frame of this version. @frame points into @data. */
gboolean nb_relay_frame_parse   (const guint8   *data,
                                 gsize           len,
                                 NbRelayFrame   *frame,
                                 GError        **error);

/* Writers: each returns a new frame (the control path). */
GBytes  *nb_relay_frame_new_auth      (const guint8 key[32],
                                       const char  *token_payload,
                                       const char  *token_signature);
GBytes  *nb_relay_frame_new_text      (NbRelayFrameType type,
                                       const char      *text);
GBytes  *nb_relay_frame_new_id        (NbRelayFrameType type,
                                       const guint8     id[NB_RELAY_PEER_ID_LEN]);
GBytes  *nb_relay_frame_new_watch     (const guint8    *ids,
                                       guint            n_ids);
GBytes  *nb_relay_frame_new_ping      (NbRelayFrameType type,
                                       guint64          nonce);
GBytes  *nb_relay_frame_new_close     (guint16          code,
                                       const char      *reason);
/* The transport path: writes the header for @id in front of a payload
 * already at @buf + NB_RELAY_PROTO_TRANSPORT_HEADER_LEN (no allocation). */
void     nb_relay_frame_write_transport_header (guint8       *buf,
                                                const guint8  id[NB_RELAY_PEER_ID_LEN]);

/* nb-relay-token.c */
void     nb_relay_peer_id_of_key      (const guint8  key[32],
                                       guint8        id[NB_RELAY_PEER_ID_LEN]);
char    *nb_relay_peer_id_to_string   (const guint8  id[NB_RELAY_PEER_ID_LEN]);

G_END_DECLS
