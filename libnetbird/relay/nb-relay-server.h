/* nb-relay-server.h: an embeddable Relay server
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#if !defined(__NETBIRD_H_INSIDE__) && !defined(NB_COMPILATION)
#error "Only <netbird.h> can be included directly."
#endif

#include <gio/gio.h>
#include "nb-export.h"

G_BEGIN_DECLS

/**
 * NB_RELAY_SERVER_DEFAULT_PORT:
 *
 * The port a Relay server listens on unless told otherwise.
 */
#define NB_RELAY_SERVER_DEFAULT_PORT 33080

/**
 * NB_RELAY_SERVER_DEFAULT_AUTH_TIMEOUT_MS:
 *
 * How long a connection may take to authenticate before it is closed.
 */
#define NB_RELAY_SERVER_DEFAULT_AUTH_TIMEOUT_MS 5000

/**
 * NB_RELAY_SERVER_DEFAULT_KEEPALIVE_SECONDS:
 *
 * Seconds between the pings the server sends each peer; a peer silent for
 * three of them is dropped.
 */
#define NB_RELAY_SERVER_DEFAULT_KEEPALIVE_SECONDS 20

/**
 * NB_RELAY_SERVER_DEFAULT_QUEUE_BYTES:
 *
 * Bytes waiting to be written to one peer past which datagrams to it are
 * dropped (a relay carries datagrams: loss is what a full queue means).
 */
#define NB_RELAY_SERVER_DEFAULT_QUEUE_BYTES (1024 * 1024)

/**
 * NB_RELAY_SERVER_ERROR:
 *
 * The error domain of #NbRelayServer.
 */
#define NB_RELAY_SERVER_ERROR (nb_relay_server_error_quark ())

/**
 * NbRelayServerError:
 * @NB_RELAY_SERVER_ERROR_LISTEN: the server cannot listen on the address
 *   (not an address, in use, or it already listens)
 * @NB_RELAY_SERVER_ERROR_TLS: the TLS certificate or key cannot be loaded
 *
 * Errors of #NbRelayServer.
 */
typedef enum {
  NB_RELAY_SERVER_ERROR_LISTEN,
  NB_RELAY_SERVER_ERROR_TLS,
} NbRelayServerError;

NB_AVAILABLE_IN_ALL
GQuark nb_relay_server_error_quark (void);

#define NB_TYPE_RELAY_SERVER (nb_relay_server_get_type ())

NB_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (NbRelayServer, nb_relay_server, NB, RELAY_SERVER, GObject)

NB_AVAILABLE_IN_ALL
NbRelayServer *nb_relay_server_new                    (const char     *auth_secret);
NB_AVAILABLE_IN_ALL
gboolean       nb_relay_server_set_tls_files          (NbRelayServer  *self,
                                                       const char     *cert_file,
                                                       const char     *key_file,
                                                       GError        **error);
NB_AVAILABLE_IN_ALL
void           nb_relay_server_set_connection_limits  (NbRelayServer  *self,
                                                       guint           max_connections,
                                                       guint           max_per_address);
NB_AVAILABLE_IN_ALL
void           nb_relay_server_set_queue_limit        (NbRelayServer  *self,
                                                       gsize           bytes);
NB_AVAILABLE_IN_ALL
gboolean       nb_relay_server_listen                 (NbRelayServer  *self,
                                                       const char     *address,
                                                       GError        **error);
NB_AVAILABLE_IN_ALL
gboolean       nb_relay_server_listen_metrics         (NbRelayServer  *self,
                                                       const char     *address,
                                                       GError        **error);
NB_AVAILABLE_IN_ALL
void           nb_relay_server_stop                   (NbRelayServer  *self);

NB_AVAILABLE_IN_ALL
const char    *nb_relay_server_get_listen_address     (NbRelayServer  *self);
NB_AVAILABLE_IN_ALL
const char    *nb_relay_server_get_metrics_address    (NbRelayServer  *self);
NB_AVAILABLE_IN_ALL
guint16        nb_relay_server_get_port               (NbRelayServer  *self);
NB_AVAILABLE_IN_ALL
guint          nb_relay_server_get_n_connections      (NbRelayServer  *self);
NB_AVAILABLE_IN_ALL
guint          nb_relay_server_get_n_peers            (NbRelayServer  *self);
NB_AVAILABLE_IN_ALL
char          *nb_relay_server_dup_metrics            (NbRelayServer  *self);

G_END_DECLS
