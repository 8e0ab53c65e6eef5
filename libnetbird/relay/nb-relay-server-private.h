/* nb-relay-server-private.h: what the files of the Relay server share
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#if !defined(NB_COMPILATION)
#error "nb-relay-server-private.h is internal to libnetbird."
#endif

#include <libsoup/soup.h>

#include "nb-key.h"
#include "nb-relay-frame-private.h"
#include "nb-relay-server.h"
#include "nb-service-private.h"

G_BEGIN_DECLS

/* The WebSocket path of the Relay. */
#define NB_RELAY_PATH "/relay/v1"
/* Keepalive intervals of silence after which a peer is taken for gone. */
#define NB_RELAY_SILENT_INTERVALS 3

typedef enum {
  NB_RELAY_DROP_MALFORMED,   /* not a frame of the protocol */
  NB_RELAY_DROP_OVERSIZE,    /* larger than NB_RELAY_PROTO_MAX_FRAME */
  NB_RELAY_DROP_UNEXPECTED,  /* a frame that does not fit the connection's phase */
  NB_RELAY_DROP_BACKLOG,     /* the destination's queue was full */
  NB_RELAY_N_DROPS
} NbRelayDrop;

typedef enum {
  NB_RELAY_CLOSED_TOKEN_INVALID,
  NB_RELAY_CLOSED_TOKEN_EXPIRED,
  NB_RELAY_CLOSED_TOKEN_OTHER_PEER,
  NB_RELAY_CLOSED_PROOF_FAILED,
  NB_RELAY_CLOSED_PROTOCOL,
  NB_RELAY_CLOSED_OVERSIZE,
  NB_RELAY_CLOSED_REPLACED,
  NB_RELAY_CLOSED_SILENT,
  NB_RELAY_CLOSED_SHUTDOWN,
  NB_RELAY_N_CLOSED
} NbRelayClosed;

typedef struct
{
  guint64 accepted;
  guint64 authenticated;
  guint64 forwarded;
  guint64 forwarded_bytes;
  guint64 undeliverable;
  guint64 pings;
  guint64 drops[NB_RELAY_N_DROPS];
  guint64 closed[NB_RELAY_N_CLOSED];
} NbRelayCounters;

typedef struct _NbRelayConn NbRelayConn;

struct _NbRelayServer
{
  GObject parent_instance;

  char *secret;
  /* One key per server run: it seals the challenges, nothing else. */
  NbKey *key;
  GTlsCertificate *tls_certificate;
  /* The service base holds the listeners, TLS, connection caps, HTTP
   * deadlines, the authentication deadline and the bounded send queues;
   * the SoupServers only route. */
  NbService *service;
  NbService *metrics_service;
  GPtrArray *services;
  char *listen_address;
  char *metrics_address;
  guint16 port;

  guint auth_timeout_ms;
  guint keepalive_seconds;
  gsize queue_bytes;
  guint max_connections;
  guint max_connections_per_address;
  guint sweep_source;

  GHashTable *conns;     /* NbRelayConn *, owned */
  GHashTable *peers;     /* peer id (16 bytes, the conn's) -> NbRelayConn * */
  GHashTable *watchers;  /* peer id (owned copy) -> GPtrArray of NbRelayConn * */
  NbRelayCounters counters;
};

guint     nb_relay_peer_id_hash  (gconstpointer id);
gboolean  nb_relay_peer_id_equal (gconstpointer a,
                                  gconstpointer b);

/* nb-relay-server-conn.c */
void nb_relay_conn_accept      (NbRelayServer           *server,
                                SoupWebsocketConnection *ws,
                                const char              *remote);
void nb_relay_conn_free        (NbRelayConn             *conn);
void nb_relay_conn_check_alive (NbRelayConn             *conn,
                                gint64                   now_us);

/* nb-relay-server-metrics.c */
void nb_relay_server_write_metrics (NbRelayServer *self,
                                    GString       *out);

G_END_DECLS
