/* nb-service-private.h: the hardened service base of the network servers
 *
 * Library-internal. Management uses it; Signal and Relay will.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#if !defined(NB_COMPILATION)
#error "nb-service-private.h is internal to libnetbird."
#endif

#include <libsoup/soup.h>

G_BEGIN_DECLS

/* Limits and timeouts of one service. Zero fields take the defaults of
 * nb_service_limits_init() (the caps derived from the descriptor limit). */
typedef struct
{
  guint max_connections;             /* open connections, all sources */
  guint max_connections_per_address; /* open connections of one source address */
  gsize max_body_size;               /* request body, announced or read */
  gsize max_header_size;             /* request line and headers */
  guint tls_timeout_ms;              /* TLS handshake */
  guint header_timeout_ms;           /* accept (or last response) to headers complete */
  guint body_timeout_ms;             /* headers complete to body complete */
  guint idle_timeout_ms;             /* keep-alive: response to next request's first byte */
  guint websocket_auth_timeout_ms;   /* WebSocket upgraded to authenticated */
  gsize channel_max_queued;          /* WebSocket bytes handed over and not yet written */
} NbServiceLimits;

#define NB_SERVICE_DEFAULT_MAX_BODY_SIZE (1024 * 1024)
#define NB_SERVICE_DEFAULT_MAX_HEADER_SIZE (32 * 1024)
#define NB_SERVICE_DEFAULT_TLS_TIMEOUT_MS (10 * 1000)
#define NB_SERVICE_DEFAULT_HEADER_TIMEOUT_MS (15 * 1000)
#define NB_SERVICE_DEFAULT_BODY_TIMEOUT_MS (30 * 1000)
#define NB_SERVICE_DEFAULT_IDLE_TIMEOUT_MS (60 * 1000)
#define NB_SERVICE_DEFAULT_WEBSOCKET_AUTH_TIMEOUT_MS (5 * 1000)
#define NB_SERVICE_DEFAULT_CHANNEL_MAX_QUEUED (8 * 1024 * 1024)
/* Descriptors kept out of the global cap: store, logs, listeners, TLS. */
#define NB_SERVICE_DESCRIPTOR_RESERVE 64

/* WebSocket close code of a channel whose reader fell too far behind; the
 * client reconnects and gets the current state (RFC 6455 §7.4.2: 4000-4999
 * are private use; 4029 reads as HTTP's 429). */
#define NB_SERVICE_CLOSE_BACKLOG 4029
/* An upgraded WebSocket that did not authenticate in time. */
#define NB_SERVICE_CLOSE_AUTH_TIMEOUT 4008

/* nb-service-limits.c */
guint64  nb_service_get_fd_limit        (void);
void     nb_service_limits_init         (NbServiceLimits       *limits);
void     nb_service_limits_complete     (NbServiceLimits       *limits);

/* nb-service-stream.c: a GIOStream over an accepted connection that counts
 * what goes through and can hold reads back. Both halves are pollable. */
#define NB_TYPE_SERVICE_STREAM (nb_service_stream_get_type ())
G_DECLARE_FINAL_TYPE (NbServiceStream, nb_service_stream, NB, SERVICE_STREAM, GIOStream)

typedef void (*NbServiceStreamFunc) (NbServiceStream *stream,
                                     gpointer         user_data);

NbServiceStream *nb_service_stream_new            (GIOStream           *base);
GIOStream       *nb_service_stream_get_base       (NbServiceStream     *self);
guint64          nb_service_stream_get_bytes_read (NbServiceStream     *self);
guint64          nb_service_stream_get_bytes_written (NbServiceStream  *self);
void             nb_service_stream_set_read_budget (NbServiceStream    *self,
                                                    guint64             budget);
void             nb_service_stream_set_callbacks  (NbServiceStream     *self,
                                                   NbServiceStreamFunc  over_budget,
                                                   NbServiceStreamFunc  wrote,
                                                   NbServiceStreamFunc  closed,
                                                   gpointer             user_data);
gpointer         nb_service_stream_get_user_data  (NbServiceStream     *self);
NbServiceStream *nb_service_stream_find           (GIOStream           *stream);

/* nb-service.c: the service (listener, limits, timeouts) over a SoupServer */
#define NB_TYPE_SERVICE (nb_service_get_type ())
G_DECLARE_FINAL_TYPE (NbService, nb_service, NB, SERVICE, GObject)

typedef enum {
  NB_SERVICE_REFUSED_GLOBAL_CAP,
  NB_SERVICE_REFUSED_ADDRESS_CAP,
  NB_SERVICE_REFUSED_DESCRIPTORS,
  NB_SERVICE_REFUSED_BODY_TOO_LARGE,
  NB_SERVICE_REFUSED_HEADERS_TOO_LARGE,
  NB_SERVICE_REFUSED_TLS_FAILED,
  NB_SERVICE_N_REFUSED
} NbServiceRefused;

typedef enum {
  NB_SERVICE_TIMEOUT_TLS,
  NB_SERVICE_TIMEOUT_HEADERS,
  NB_SERVICE_TIMEOUT_BODY,
  NB_SERVICE_TIMEOUT_IDLE,
  NB_SERVICE_TIMEOUT_WEBSOCKET_AUTH,
  NB_SERVICE_N_TIMEOUTS
} NbServiceTimeout;

/* What a service counted since it was made (nb-service-metrics.c writes it
 * out in Prometheus' text format). */
typedef struct
{
  guint64 connections_open;
  guint64 accepted;
  guint64 refused[NB_SERVICE_N_REFUSED];
  guint64 accept_errors;
  guint64 timeouts[NB_SERVICE_N_TIMEOUTS];
  guint64 bytes_received;
  guint64 bytes_sent;
  guint64 channels_open;
  guint64 channel_messages;
  guint64 channel_replaced;
  guint64 channel_overflows;
} NbServiceMetrics;

NbService   *nb_service_new             (const char            *name,
                                         SoupServer            *soup,
                                         GTlsCertificate       *tls_certificate,
                                         const NbServiceLimits *limits);
gboolean     nb_service_listen          (NbService             *self,
                                         GSocketAddress        *address,
                                         GError               **error);
void         nb_service_stop            (NbService             *self);
GSocketAddress *nb_service_get_local_address (NbService        *self);
const NbServiceLimits *nb_service_get_limits (NbService        *self);
const char  *nb_service_get_name        (NbService             *self);
SoupServer  *nb_service_get_soup        (NbService             *self);
guint        nb_service_get_n_connections (NbService           *self);
void         nb_service_count_timeout   (NbService             *self,
                                         NbServiceTimeout       kind);
NbServiceMetrics *nb_service_get_metrics (NbService            *self);

/* nb-service-metrics.c */
void         nb_service_write_metrics   (GPtrArray             *services,
                                         GString               *out);
void         nb_service_serve_metrics   (NbService             *metrics,
                                         GPtrArray             *services);

/* nb-service-channel.c: a WebSocket with a bounded send queue */
typedef struct _NbServiceChannel NbServiceChannel;

typedef enum {
  /* Queued after what is pending; past the cap the channel closes. */
  NB_SERVICE_SEND_QUEUE,
  /* A state snapshot (a network map): while an earlier one is still being
   * written, only the newest waits, and it goes once the queue drains. */
  NB_SERVICE_SEND_REPLACE,
} NbServiceSendPolicy;

NbServiceChannel *nb_service_channel_new        (NbService               *service,
                                                 SoupWebsocketConnection *connection);
void              nb_service_channel_free       (NbServiceChannel        *channel);
void              nb_service_channel_set_authenticated (NbServiceChannel *channel);
gboolean          nb_service_channel_send       (NbServiceChannel        *channel,
                                                 GBytes                  *message,
                                                 NbServiceSendPolicy      policy);
void              nb_service_channel_close      (NbServiceChannel        *channel,
                                                 gushort                  code,
                                                 const char              *reason);
gsize             nb_service_channel_get_queued (NbServiceChannel        *channel);
gboolean          nb_service_channel_has_pending (NbServiceChannel       *channel);
SoupWebsocketConnection *nb_service_channel_get_connection (NbServiceChannel *channel);

G_END_DECLS
