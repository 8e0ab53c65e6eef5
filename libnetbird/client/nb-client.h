/* nb-client.h: a peer of a NetBird network, as a machine runs it
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#if !defined(__NETBIRD_H_INSIDE__) && !defined(NB_COMPILATION)
#error "Only <netbird.h> can be included directly."
#endif

#include <gio/gio.h>
#include "nb-export.h"
#include "nb-client-peer.h"

G_BEGIN_DECLS

/**
 * NB_CLIENT_ERROR:
 *
 * The error domain of #NbClient.
 */
#define NB_CLIENT_ERROR (nb_client_error_quark ())

/**
 * NbClientError:
 * @NB_CLIENT_ERROR_CONFIG: the configuration or state file cannot be read,
 *   parsed or written, or a setting is not valid
 * @NB_CLIENT_ERROR_NEEDS_SETUP_KEY: Management does not know this peer and
 *   no setup key was given to register it
 * @NB_CLIENT_ERROR_SETUP_KEY_INVALID: Management knows no such setup key
 * @NB_CLIENT_ERROR_LOGIN_REFUSED: Management refused the login: the setup
 *   key expired, was revoked or used up, or the peer's login expired; the
 *   message says which
 * @NB_CLIENT_ERROR_PEER_DELETED: this peer was deleted from the account
 * @NB_CLIENT_ERROR_MANAGEMENT_UNREACHABLE: Management did not answer
 * @NB_CLIENT_ERROR_PROTOCOL: Management answered something this client
 *   cannot use
 * @NB_CLIENT_ERROR_DEVICE: the TUN or WireGuard device could not be set up
 * @NB_CLIENT_ERROR_WRONG_STATE: the call does not fit the client's state
 *   (up while up, login while up)
 *
 * Errors of #NbClient.
 */
typedef enum {
  NB_CLIENT_ERROR_CONFIG,
  NB_CLIENT_ERROR_NEEDS_SETUP_KEY,
  NB_CLIENT_ERROR_SETUP_KEY_INVALID,
  NB_CLIENT_ERROR_LOGIN_REFUSED,
  NB_CLIENT_ERROR_PEER_DELETED,
  NB_CLIENT_ERROR_MANAGEMENT_UNREACHABLE,
  NB_CLIENT_ERROR_PROTOCOL,
  NB_CLIENT_ERROR_DEVICE,
  NB_CLIENT_ERROR_WRONG_STATE,
} NbClientError;

/**
 * NbClientState:
 * @NB_CLIENT_STATE_DOWN: no tunnel: not started, or brought down
 * @NB_CLIENT_STATE_CONNECTING: logging in, or waiting for the first
 *   network map
 * @NB_CLIENT_STATE_CONNECTED: the tunnel is up and the network map applied
 *   (Management may be away for a while: see
 *   #NbClient:management-connected)
 * @NB_CLIENT_STATE_NEEDS_LOGIN: Management refused this peer (deleted, login
 *   expired, no setup key): nb_client_login_async() with a setup key
 *
 * Where a #NbClient stands (`daemonStatus` in `netbird status --json`).
 */
typedef enum {
  NB_CLIENT_STATE_DOWN,
  NB_CLIENT_STATE_CONNECTING,
  NB_CLIENT_STATE_CONNECTED,
  NB_CLIENT_STATE_NEEDS_LOGIN,
} NbClientState;

/**
 * NbClientFirewallMode:
 * @NB_CLIENT_FIREWALL_MODE_ENFORCING: the policies' rules decide what comes
 *   in; replies to this machine's connections pass
 * @NB_CLIENT_FIREWALL_MODE_BLOCK_INBOUND: no connection comes in, whatever
 *   the policies allow; replies pass (#NbClient:block-inbound)
 * @NB_CLIENT_FIREWALL_MODE_DISABLED: everything passes
 *   (#NbClient:disable-firewall, for debugging)
 *
 * What the packet filter of the tunnel does with inbound packets.
 */
typedef enum {
  NB_CLIENT_FIREWALL_MODE_ENFORCING,
  NB_CLIENT_FIREWALL_MODE_BLOCK_INBOUND,
  NB_CLIENT_FIREWALL_MODE_DISABLED,
} NbClientFirewallMode;

#define NB_TYPE_CLIENT (nb_client_get_type ())

NB_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (NbClient, nb_client, NB, CLIENT, GObject)

NB_AVAILABLE_IN_ALL
GQuark         nb_client_error_quark          (void);

NB_AVAILABLE_IN_ALL
NbClient      *nb_client_new                  (const char          *config_path,
                                               GError             **error);
NB_AVAILABLE_IN_ALL
gboolean       nb_client_save_config          (NbClient            *self,
                                               GError             **error);

/* Settings (properties too; saved by nb_client_save_config()) */
NB_AVAILABLE_IN_ALL
const char    *nb_client_get_config_path      (NbClient            *self);
NB_AVAILABLE_IN_ALL
const char    *nb_client_get_management_url   (NbClient            *self);
NB_AVAILABLE_IN_ALL
gboolean       nb_client_set_management_url   (NbClient            *self,
                                               const char          *url,
                                               GError             **error);
NB_AVAILABLE_IN_ALL
const char    *nb_client_get_hostname         (NbClient            *self);
NB_AVAILABLE_IN_ALL
void           nb_client_set_hostname         (NbClient            *self,
                                               const char          *hostname);
NB_AVAILABLE_IN_ALL
const char    *nb_client_get_interface_name   (NbClient            *self);
NB_AVAILABLE_IN_ALL
gboolean       nb_client_set_interface_name   (NbClient            *self,
                                               const char          *name,
                                               GError             **error);
NB_AVAILABLE_IN_ALL
guint16        nb_client_get_wireguard_port   (NbClient            *self);
NB_AVAILABLE_IN_ALL
void           nb_client_set_wireguard_port   (NbClient            *self,
                                               guint16              port);
NB_AVAILABLE_IN_ALL
gboolean       nb_client_set_preshared_key    (NbClient            *self,
                                               const char          *base64,
                                               GError             **error);
NB_AVAILABLE_IN_ALL
gboolean       nb_client_get_block_inbound    (NbClient            *self);
NB_AVAILABLE_IN_ALL
void           nb_client_set_block_inbound    (NbClient            *self,
                                               gboolean             block);
NB_AVAILABLE_IN_ALL
gboolean       nb_client_get_disable_firewall (NbClient            *self);
NB_AVAILABLE_IN_ALL
void           nb_client_set_disable_firewall (NbClient            *self,
                                               gboolean             disable);
NB_AVAILABLE_IN_ALL
gboolean       nb_client_get_disable_dns      (NbClient            *self);
NB_AVAILABLE_IN_ALL
void           nb_client_set_disable_dns      (NbClient            *self,
                                               gboolean             disable);
NB_AVAILABLE_IN_ALL
GVariant      *nb_client_get_dns_status       (NbClient            *self);

/* Life cycle */
NB_AVAILABLE_IN_ALL
void           nb_client_login_async          (NbClient            *self,
                                               const char          *setup_key,
                                               GCancellable        *cancellable,
                                               GAsyncReadyCallback  callback,
                                               gpointer             user_data);
NB_AVAILABLE_IN_ALL
gboolean       nb_client_login_finish         (NbClient            *self,
                                               GAsyncResult        *result,
                                               GError             **error);
NB_AVAILABLE_IN_ALL
void           nb_client_up_async             (NbClient            *self,
                                               const char          *setup_key,
                                               GCancellable        *cancellable,
                                               GAsyncReadyCallback  callback,
                                               gpointer             user_data);
NB_AVAILABLE_IN_ALL
gboolean       nb_client_up_finish            (NbClient            *self,
                                               GAsyncResult        *result,
                                               GError             **error);
NB_AVAILABLE_IN_ALL
void           nb_client_down                 (NbClient            *self);
NB_AVAILABLE_IN_ALL
gboolean       nb_client_logout               (NbClient            *self,
                                               GError             **error);

/* Status (properties too) */
NB_AVAILABLE_IN_ALL
NbClientState  nb_client_get_state            (NbClient            *self);
NB_AVAILABLE_IN_ALL
const char    *nb_client_get_public_key       (NbClient            *self);
NB_AVAILABLE_IN_ALL
const char    *nb_client_get_address          (NbClient            *self);
NB_AVAILABLE_IN_ALL
const char    *nb_client_get_fqdn             (NbClient            *self);
NB_AVAILABLE_IN_ALL
gboolean       nb_client_get_management_connected (NbClient        *self);
NB_AVAILABLE_IN_ALL
const char    *nb_client_get_management_error (NbClient            *self);
NB_AVAILABLE_IN_ALL
const char    *nb_client_get_signal_url       (NbClient            *self);
NB_AVAILABLE_IN_ALL
gboolean       nb_client_get_signal_connected (NbClient            *self);
NB_AVAILABLE_IN_ALL
const char    *nb_client_get_signal_error     (NbClient            *self);
NB_AVAILABLE_IN_ALL
NbClientFirewallMode nb_client_get_firewall_mode (NbClient         *self);
NB_AVAILABLE_IN_ALL
guint          nb_client_get_firewall_rules   (NbClient            *self);
NB_AVAILABLE_IN_ALL
guint64        nb_client_get_firewall_drops   (NbClient            *self);
NB_AVAILABLE_IN_ALL
GPtrArray     *nb_client_list_peers           (NbClient            *self);
NB_AVAILABLE_IN_ALL
NbClientPeer  *nb_client_lookup_peer          (NbClient            *self,
                                               const char          *public_key);

G_END_DECLS
