/* nb-service-internal.h: what the files of the service base share
 *
 * Library-internal; users of the base include nb-service-private.h.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#include "nb-service-private.h"

G_BEGIN_DECLS

/* Where a connection is; each phase but the handler's and the WebSocket's
 * has a deadline (NbServiceLimits). */
typedef enum {
  NB_SERVICE_PHASE_TLS,       /* TLS handshake */
  NB_SERVICE_PHASE_HEADERS,   /* waiting for the request line and headers */
  NB_SERVICE_PHASE_BODY,      /* reading the request body */
  NB_SERVICE_PHASE_HANDLER,   /* the handler and the response */
  NB_SERVICE_PHASE_IDLE,      /* keep-alive, between requests */
  NB_SERVICE_PHASE_WEBSOCKET, /* upgraded: the channel's own rules apply */
  NB_SERVICE_PHASE_CLOSING,   /* refused: the answer is out, draining briefly */
} NbServicePhase;

/* One accepted connection, from accept() to close. */
typedef struct
{
  NbService *service;
  GSocket *socket;
  GSocketAddress *remote;
  GSocketAddress *local;
  char *address;             /* the remote address as text, for the per-address cap */
  GIOStream *transport;      /* the TCP connection, or TLS over it */
  GCancellable *tls_cancellable;
  NbServiceStream *stream;   /* what libsoup reads and writes */
  NbServicePhase phase;
  GSource *timer;
  GSource *drain;
  guint64 drained;
  SoupServerMessage *msg;    /* the request in progress */
  NbServiceChannel *channel; /* once a WebSocket channel took it */
} NbServiceConn;

struct _NbService
{
  GObject parent_instance;

  char *name;
  SoupServer *soup;
  GTlsCertificate *tls_certificate;
  NbServiceLimits limits;
  NbServiceMetrics metrics;

  GSocket *listen_socket;
  GSocketAddress *local_address;
  GSocketAddress *last_local;  /* the latest connection's, shared with the next */
  GSource *accept_source;
  guint backoff_source;
  int spare_fd;

  GHashTable *connections;   /* NbServiceConn set, owned */
  GHashTable *per_address;   /* address text -> open connections */
  gulong started_handler;
  gulong finished_handler;
  gulong aborted_handler;
  gulong read_handler;
};

/* nb-service.c */
void           nb_service_take_socket      (NbService     *self,
                                            GSocket       *socket,
                                            GSocketAddress *remote,
                                            const char    *address);
NbServiceConn *nb_service_conn_of_stream   (NbService     *self,
                                            NbServiceStream *stream);
void           nb_service_conn_set_channel (NbServiceConn *conn,
                                            NbServiceChannel *channel);

/* nb-service-listener.c */
gboolean       nb_service_listener_open    (NbService      *self,
                                            GSocketAddress *address,
                                            GError        **error);
void           nb_service_listener_close   (NbService      *self);

/* nb-service-channel.c */
void           nb_service_channel_wrote    (NbServiceChannel *channel);

G_END_DECLS
