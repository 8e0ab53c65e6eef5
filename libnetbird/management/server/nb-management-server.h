/* nb-management-server.h: an embeddable Management server
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
 * NB_MANAGEMENT_SERVER_DEFAULT_PORT:
 *
 * The port Management listens on when none is given (as NetBird's).
 */
#define NB_MANAGEMENT_SERVER_DEFAULT_PORT 33073

/**
 * NB_MANAGEMENT_SERVER_CREDENTIALS_FILE:
 *
 * The file, in the data directory, where the first start writes the admin
 * token and the setup key it created.
 */
#define NB_MANAGEMENT_SERVER_CREDENTIALS_FILE "initial-credentials.json"

/**
 * NB_MANAGEMENT_SERVER_ERROR:
 *
 * The error domain of #NbManagementServer.
 */
#define NB_MANAGEMENT_SERVER_ERROR (nb_management_server_error_quark ())

/**
 * NbManagementServerError:
 * @NB_MANAGEMENT_SERVER_ERROR_INVALID_CONFIG: the configuration file or a
 *   setting is not valid; the message names the setting
 * @NB_MANAGEMENT_SERVER_ERROR_DATA_DIR: the data directory cannot be
 *   created, read or written
 * @NB_MANAGEMENT_SERVER_ERROR_LISTEN: the server cannot listen on the
 *   address given
 * @NB_MANAGEMENT_SERVER_ERROR_BOOTSTRAP: the first start could not create
 *   the initial account and credentials
 * @NB_MANAGEMENT_SERVER_ERROR_INVALID_ARGUMENT: a setting given to the
 *   server directly (a construct property such as
 *   #NbManagementServer:stun-uris), not through the configuration file, is
 *   not valid; the message names it
 *
 * Errors of #NbManagementServer.
 */
typedef enum {
  NB_MANAGEMENT_SERVER_ERROR_INVALID_CONFIG,
  NB_MANAGEMENT_SERVER_ERROR_DATA_DIR,
  NB_MANAGEMENT_SERVER_ERROR_LISTEN,
  NB_MANAGEMENT_SERVER_ERROR_BOOTSTRAP,
  NB_MANAGEMENT_SERVER_ERROR_INVALID_ARGUMENT,
} NbManagementServerError;

NB_AVAILABLE_IN_ALL
GQuark nb_management_server_error_quark (void);

#define NB_TYPE_MANAGEMENT_SERVER (nb_management_server_get_type ())

NB_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (NbManagementServer, nb_management_server, NB, MANAGEMENT_SERVER, GObject)

NB_AVAILABLE_IN_ALL
NbManagementServer *nb_management_server_new              (const char          *data_dir,
                                                           const char          *config_file,
                                                           GError             **error);
NB_AVAILABLE_IN_ALL
gboolean            nb_management_server_listen           (NbManagementServer  *self,
                                                           const char          *address,
                                                           GError             **error);
NB_AVAILABLE_IN_ALL
gboolean            nb_management_server_listen_socket_address (NbManagementServer *self,
                                                                GSocketAddress     *address,
                                                                GError            **error);
NB_AVAILABLE_IN_ALL
void                nb_management_server_stop             (NbManagementServer  *self);
NB_AVAILABLE_IN_ALL
void                nb_management_server_set_connection_limits (NbManagementServer *self,
                                                                guint               max_connections,
                                                                guint               max_connections_per_address);
NB_AVAILABLE_IN_ALL
gboolean            nb_management_server_listen_metrics   (NbManagementServer  *self,
                                                           const char          *address,
                                                           GError             **error);

NB_AVAILABLE_IN_ALL
const char         *nb_management_server_get_data_dir     (NbManagementServer  *self);
NB_AVAILABLE_IN_ALL
NbKey              *nb_management_server_get_public_key   (NbManagementServer  *self);
NB_AVAILABLE_IN_ALL
guint16             nb_management_server_get_port         (NbManagementServer  *self);
NB_AVAILABLE_IN_ALL
const char         *nb_management_server_get_listen_address (NbManagementServer *self);
NB_AVAILABLE_IN_ALL
const char         *nb_management_server_get_credentials_file (NbManagementServer *self);
NB_AVAILABLE_IN_ALL
guint               nb_management_server_get_n_sync_channels (NbManagementServer *self);

NB_AVAILABLE_IN_ALL
char               *nb_management_server_reset_admin_token (const char  *data_dir,
                                                            const char  *config_file,
                                                            char       **out_account_id,
                                                            GError     **error);

G_END_DECLS
