/* nb-signal-server.h: an embeddable Signal server
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
 * NB_SIGNAL_SERVER_DEFAULT_PORT:
 *
 * The port a Signal server listens on unless told otherwise (NetBird's).
 */
#define NB_SIGNAL_SERVER_DEFAULT_PORT 10000

/**
 * NB_SIGNAL_SERVER_DEFAULT_RATE_LIMIT:
 *
 * Messages a second one connection may send (a token bucket's refill).
 */
#define NB_SIGNAL_SERVER_DEFAULT_RATE_LIMIT 200

/**
 * NB_SIGNAL_SERVER_DEFAULT_RATE_BURST:
 *
 * Messages one connection may send at once (a token bucket's size): a peer
 * that starts offers and candidates to many peers together.
 */
#define NB_SIGNAL_SERVER_DEFAULT_RATE_BURST 2000

/**
 * NB_SIGNAL_SERVER_DEFAULT_AUTH_TIMEOUT_MS:
 *
 * How long a connection may take to prove its key before it is closed.
 */
#define NB_SIGNAL_SERVER_DEFAULT_AUTH_TIMEOUT_MS 5000

/**
 * NB_SIGNAL_SERVER_ERROR:
 *
 * The error domain of #NbSignalServer.
 */
#define NB_SIGNAL_SERVER_ERROR (nb_signal_server_error_quark ())

/**
 * NbSignalServerError:
 * @NB_SIGNAL_SERVER_ERROR_LISTEN: the server cannot listen on the address
 *   (not an address, in use, or it already listens)
 * @NB_SIGNAL_SERVER_ERROR_TLS: the TLS certificate or key cannot be loaded
 *
 * Errors of #NbSignalServer.
 */
typedef enum {
  NB_SIGNAL_SERVER_ERROR_LISTEN,
  NB_SIGNAL_SERVER_ERROR_TLS,
} NbSignalServerError;

NB_AVAILABLE_IN_ALL
GQuark nb_signal_server_error_quark (void);

#define NB_TYPE_SIGNAL_SERVER (nb_signal_server_get_type ())

NB_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (NbSignalServer, nb_signal_server, NB, SIGNAL_SERVER, GObject)

NB_AVAILABLE_IN_ALL
NbSignalServer *nb_signal_server_new                  (void);
NB_AVAILABLE_IN_ALL
gboolean        nb_signal_server_set_tls_files        (NbSignalServer  *self,
                                                       const char      *cert_file,
                                                       const char      *key_file,
                                                       GError         **error);
NB_AVAILABLE_IN_ALL
void            nb_signal_server_set_rate_limit       (NbSignalServer  *self,
                                                       guint            per_second,
                                                       guint            burst);
NB_AVAILABLE_IN_ALL
void            nb_signal_server_set_connection_limits (NbSignalServer *self,
                                                        guint           max_connections,
                                                        guint           max_per_address);
NB_AVAILABLE_IN_ALL
gboolean        nb_signal_server_listen               (NbSignalServer  *self,
                                                       const char      *address,
                                                       GError         **error);
NB_AVAILABLE_IN_ALL
gboolean        nb_signal_server_listen_metrics       (NbSignalServer  *self,
                                                       const char      *address,
                                                       GError         **error);
NB_AVAILABLE_IN_ALL
void            nb_signal_server_stop                 (NbSignalServer  *self);

NB_AVAILABLE_IN_ALL
const char     *nb_signal_server_get_listen_address   (NbSignalServer  *self);
NB_AVAILABLE_IN_ALL
const char     *nb_signal_server_get_metrics_address  (NbSignalServer  *self);
NB_AVAILABLE_IN_ALL
guint16         nb_signal_server_get_port             (NbSignalServer  *self);
NB_AVAILABLE_IN_ALL
guint           nb_signal_server_get_n_connections    (NbSignalServer  *self);
NB_AVAILABLE_IN_ALL
guint           nb_signal_server_get_n_peers          (NbSignalServer  *self);
NB_AVAILABLE_IN_ALL
char           *nb_signal_server_dup_metrics          (NbSignalServer  *self);

G_END_DECLS
