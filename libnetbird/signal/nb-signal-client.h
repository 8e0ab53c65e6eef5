/* nb-signal-client.h: a peer's connection to a Signal server
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#if !defined(__NETBIRD_H_INSIDE__) && !defined(NB_COMPILATION)
#error "Only <netbird.h> can be included directly."
#endif

#include <gio/gio.h>
#include "nb-export.h"
#include "nb-key.h"
#include "nb-signal-message.h"

G_BEGIN_DECLS

/**
 * NB_SIGNAL_CLIENT_ERROR:
 *
 * The error domain of #NbSignalClient.
 */
#define NB_SIGNAL_CLIENT_ERROR (nb_signal_client_error_quark ())

/**
 * NbSignalClientError:
 * @NB_SIGNAL_CLIENT_ERROR_NOT_CONNECTED: the client is not registered with
 *   the server right now (see #NbSignalClient:state); nothing was sent
 * @NB_SIGNAL_CLIENT_ERROR_INVALID_MESSAGE: the message does not fit the
 *   Signal protocol's limits (a field too long or of the wrong form)
 * @NB_SIGNAL_CLIENT_ERROR_INVALID_URL: the URL is not `ws://HOST:PORT[/PATH]`
 *   or `wss://HOST:PORT[/PATH]`
 * @NB_SIGNAL_CLIENT_ERROR_NO_PRIVATE_KEY: the key given to the client holds
 *   no private half, so it cannot prove it or open messages
 *
 * Errors of #NbSignalClient.
 */
typedef enum {
  NB_SIGNAL_CLIENT_ERROR_NOT_CONNECTED,
  NB_SIGNAL_CLIENT_ERROR_INVALID_MESSAGE,
  NB_SIGNAL_CLIENT_ERROR_INVALID_URL,
  NB_SIGNAL_CLIENT_ERROR_NO_PRIVATE_KEY,
} NbSignalClientError;

/**
 * NbSignalClientState:
 * @NB_SIGNAL_CLIENT_STATE_DISCONNECTED: not connected: stopped, replaced
 *   by another registration of the same key, or waiting to reconnect
 * @NB_SIGNAL_CLIENT_STATE_CONNECTING: connecting and proving the key
 * @NB_SIGNAL_CLIENT_STATE_CONNECTED: registered: messages can be sent and
 *   are received
 *
 * Where a #NbSignalClient stands.
 */
typedef enum {
  NB_SIGNAL_CLIENT_STATE_DISCONNECTED,
  NB_SIGNAL_CLIENT_STATE_CONNECTING,
  NB_SIGNAL_CLIENT_STATE_CONNECTED,
} NbSignalClientState;

#define NB_TYPE_SIGNAL_CLIENT (nb_signal_client_get_type ())

NB_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (NbSignalClient, nb_signal_client, NB, SIGNAL_CLIENT, GObject)

NB_AVAILABLE_IN_ALL
GQuark               nb_signal_client_error_quark   (void);

NB_AVAILABLE_IN_ALL
NbSignalClient      *nb_signal_client_new           (const char       *url,
                                                     NbKey            *key);
NB_AVAILABLE_IN_ALL
void                 nb_signal_client_set_tls_database (NbSignalClient *self,
                                                        GTlsDatabase   *database);
NB_AVAILABLE_IN_ALL
gboolean             nb_signal_client_start         (NbSignalClient   *self,
                                                     GError          **error);
NB_AVAILABLE_IN_ALL
void                 nb_signal_client_stop          (NbSignalClient   *self);

NB_AVAILABLE_IN_ALL
gboolean             nb_signal_client_send          (NbSignalClient   *self,
                                                     NbKey            *to,
                                                     NbSignalMessage  *message,
                                                     GError          **error);

NB_AVAILABLE_IN_ALL
NbSignalClientState  nb_signal_client_get_state     (NbSignalClient   *self);
NB_AVAILABLE_IN_ALL
const char          *nb_signal_client_get_url       (NbSignalClient   *self);
NB_AVAILABLE_IN_ALL
NbKey               *nb_signal_client_get_key       (NbSignalClient   *self);
NB_AVAILABLE_IN_ALL
gboolean             nb_signal_client_get_replaced  (NbSignalClient   *self);
NB_AVAILABLE_IN_ALL
guint                nb_signal_client_get_n_connects (NbSignalClient  *self);

G_END_DECLS
