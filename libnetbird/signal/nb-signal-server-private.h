/* nb-signal-server-private.h: what the files of the Signal server share
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#if !defined(NB_COMPILATION)
#error "nb-signal-server-private.h is internal to libnetbird."
#endif

#include <libsoup/soup.h>

#include "nb-key.h"
#include "nb-service-private.h"
#include "nb-signal-server.h"
#include "nb-signal-private.h"

G_BEGIN_DECLS

/* Why a frame was dropped (counted in netbird_signal_drops_total). */
typedef enum {
  NB_SIGNAL_DROP_MALFORMED,      /* not a frame of the protocol */
  NB_SIGNAL_DROP_OVERSIZE,       /* larger than NB_SIGNAL_PROTO_MAX_FRAME_SIZE */
  NB_SIGNAL_DROP_RATE_LIMITED,   /* over the connection's rate */
  NB_SIGNAL_DROP_UNEXPECTED,     /* a frame that does not fit the connection's phase */
  NB_SIGNAL_DROP_WRONG_SENDER,   /* a message whose “from” is not the registered key */
  NB_SIGNAL_DROP_BACKLOG,        /* the destination's send queue was full (it is closed) */
  NB_SIGNAL_N_DROPS
} NbSignalDrop;

/* Why the server closed a connection (netbird_signal_closed_total). */
typedef enum {
  NB_SIGNAL_CLOSED_PROOF_FAILED,
  NB_SIGNAL_CLOSED_REPLACED,
  NB_SIGNAL_CLOSED_FLOOD,
  NB_SIGNAL_CLOSED_MALFORMED,
  NB_SIGNAL_CLOSED_OVERSIZE,
  NB_SIGNAL_CLOSED_UNEXPECTED,
  NB_SIGNAL_CLOSED_WRONG_SENDER,
  NB_SIGNAL_CLOSED_SHUTDOWN,
  NB_SIGNAL_CLOSED_SILENT,
  NB_SIGNAL_N_CLOSED
} NbSignalClosed;

typedef struct
{
  guint64 accepted;
  guint64 registrations;
  guint64 registrations_failed;
  guint64 forwarded;
  guint64 undeliverable;
  guint64 drops[NB_SIGNAL_N_DROPS];
  guint64 closed[NB_SIGNAL_N_CLOSED];
} NbSignalCounters;

typedef struct _NbSignalConn NbSignalConn;

struct _NbSignalServer
{
  GObject parent_instance;

  /* One key per server run: it seals the challenges, nothing else. */
  NbKey *key;
  GTlsCertificate *tls_certificate;
  /* The service base holds the listeners, TLS, connection caps, HTTP
   * deadlines, the WebSocket authentication deadline and bounded send
   * queues; the SoupServers only route. */
  NbService *service;
  NbService *metrics_service;
  GPtrArray *services;  /* both, for the metrics */
  char *listen_address;
  char *metrics_address;
  guint16 port;

  guint rate_per_second;
  guint rate_burst;
  guint auth_timeout_ms;
  guint keepalive_seconds;
  guint sweep_source;
  guint max_connections;              /* 0: the service base's default */
  guint max_connections_per_address;

  GHashTable *conns;   /* NbSignalConn *, owned */
  GHashTable *peers;   /* registered key (base64, the conn's) -> NbSignalConn * */
  NbSignalCounters counters;
  GPtrArray *corked;   /* NbSignalConn * corked this iteration */
  guint uncork_source;
};

/* nb-signal-server-conn.c: one peer's connection */
void         nb_signal_conn_accept      (NbSignalServer          *server,
                                         SoupWebsocketConnection *ws,
                                         const char              *remote);
void         nb_signal_conn_close       (NbSignalConn            *conn,
                                         NbSignalClosed           why,
                                         gushort                  code,
                                         const char              *reason);
void         nb_signal_conn_free        (NbSignalConn            *conn);
/* Closes @conn when nothing (not even a pong) came from it for
 * NB_SIGNAL_SILENT_INTERVALS keepalive intervals. */
void         nb_signal_conn_check_alive (NbSignalConn            *conn,
                                         gint64                   now_us);

/* nb-signal-server-metrics.c */
void         nb_signal_server_write_metrics (NbSignalServer      *self,
                                             GString             *out);

G_END_DECLS
