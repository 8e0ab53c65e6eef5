/* nb-relay-client.h: a peer's connection to a Relay server
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

G_BEGIN_DECLS

/**
 * NB_RELAY_CLIENT_ERROR:
 *
 * The error domain of #NbRelayClient.
 */
#define NB_RELAY_CLIENT_ERROR (nb_relay_client_error_quark ())

/**
 * NbRelayClientError:
 * @NB_RELAY_CLIENT_ERROR_INVALID_URL: the URL is not a relay's
 *   (`rel://HOST:PORT`, `rels://HOST:PORT`, `ws://` or `wss://`)
 * @NB_RELAY_CLIENT_ERROR_NO_PRIVATE_KEY: the key has no private half, which
 *   the relay makes the client prove
 *
 * Errors of #NbRelayClient.
 */
typedef enum {
  NB_RELAY_CLIENT_ERROR_INVALID_URL,
  NB_RELAY_CLIENT_ERROR_NO_PRIVATE_KEY,
} NbRelayClientError;

NB_AVAILABLE_IN_ALL
GQuark nb_relay_client_error_quark (void);

/**
 * NbRelayClientState:
 * @NB_RELAY_CLIENT_STATE_STOPPED: not started, or stopped
 * @NB_RELAY_CLIENT_STATE_CONNECTING: connecting and authenticating
 * @NB_RELAY_CLIENT_STATE_CONNECTED: authenticated: datagrams flow
 * @NB_RELAY_CLIENT_STATE_WAITING: disconnected, waiting to reconnect
 *
 * Where a #NbRelayClient is.
 */
typedef enum {
  NB_RELAY_CLIENT_STATE_STOPPED,
  NB_RELAY_CLIENT_STATE_CONNECTING,
  NB_RELAY_CLIENT_STATE_CONNECTED,
  NB_RELAY_CLIENT_STATE_WAITING,
} NbRelayClientState;

#define NB_TYPE_RELAY_CLIENT (nb_relay_client_get_type ())

NB_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (NbRelayClient, nb_relay_client, NB, RELAY_CLIENT, GObject)

NB_AVAILABLE_IN_ALL
NbRelayClient     *nb_relay_client_new            (const char     *url,
                                                   NbKey          *key,
                                                   GError        **error);
NB_AVAILABLE_IN_ALL
void               nb_relay_client_set_token      (NbRelayClient  *self,
                                                   const char     *payload,
                                                   const char     *signature);
NB_AVAILABLE_IN_ALL
void               nb_relay_client_set_tls_database (NbRelayClient *self,
                                                     GTlsDatabase  *database);
NB_AVAILABLE_IN_ALL
void               nb_relay_client_start          (NbRelayClient  *self);
NB_AVAILABLE_IN_ALL
void               nb_relay_client_stop           (NbRelayClient  *self);
NB_AVAILABLE_IN_ALL
NbRelayClientState nb_relay_client_get_state      (NbRelayClient  *self);
NB_AVAILABLE_IN_ALL
guint              nb_relay_client_get_close_code (NbRelayClient  *self);
NB_AVAILABLE_IN_ALL
guint              nb_relay_client_get_n_connects (NbRelayClient  *self);
NB_AVAILABLE_IN_ALL
void               nb_relay_client_watch_peer     (NbRelayClient  *self,
                                                   NbKey          *peer);
NB_AVAILABLE_IN_ALL
void               nb_relay_client_unwatch_peer   (NbRelayClient  *self,
                                                   NbKey          *peer);
NB_AVAILABLE_IN_ALL
gboolean           nb_relay_client_is_peer_online (NbRelayClient  *self,
                                                   NbKey          *peer);
NB_AVAILABLE_IN_ALL
gboolean           nb_relay_client_send           (NbRelayClient  *self,
                                                   NbKey          *peer,
                                                   const guint8   *data,
                                                   gsize           len);
NB_AVAILABLE_IN_ALL
void               nb_relay_client_get_stats      (NbRelayClient  *self,
                                                   guint64        *tx_datagrams,
                                                   guint64        *rx_datagrams,
                                                   guint64        *tx_dropped);

G_END_DECLS
