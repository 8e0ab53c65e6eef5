/* nb-mgmt-server-private.h: what the files of the Management server share
 *
 * Library-internal.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#if !defined(NB_COMPILATION)
#error "nb-mgmt-server-private.h is internal to libnetbird."
#endif

#include <libsoup/soup.h>

#include "nb-envelope.h"
#include "nb-management-server.h"
#include "nb-mgmt-store.h"
#include "nb-mgmt-proto-private.h"
#include "nb-mgmt-login-replay-private.h"
#include "nb-service-private.h"

G_BEGIN_DECLS

/* Paths of the client protocol, beside the REST API under /api. */
#define NB_MGMT_PATH_SERVER_KEY "/management/v1/server-key"
#define NB_MGMT_PATH_LOGIN "/management/v1/login"
#define NB_MGMT_PATH_SYNC "/management/v1/sync"

/* The largest sealed request (login body, sync-channel message). */
#define NB_MGMT_MAX_SEALED_REQUEST (NB_MGMT_PROTO_MAX_REQUEST_SIZE + NB_ENVELOPE_OVERHEAD)

/* WebSocket close codes of the sync channel (4000-4999: private use,
 * RFC 6455 §7.4.2). */
typedef enum {
  NB_MGMT_SYNC_CLOSE_MALFORMED = 4000,     /* not a sealed SyncRequest */
  NB_MGMT_SYNC_CLOSE_UNAUTHENTICATED = 4001, /* envelope not for us, or forged */
  NB_MGMT_SYNC_CLOSE_LOGIN_REQUIRED = 4003,  /* login expired, user blocked */
  NB_MGMT_SYNC_CLOSE_NOT_REGISTERED = 4004,  /* unknown or deleted peer */
  NB_MGMT_SYNC_CLOSE_TIMEOUT = NB_SERVICE_CLOSE_AUTH_TIMEOUT, /* 4008: no first message in time */
  NB_MGMT_SYNC_CLOSE_REPLACED = 4009,      /* the peer opened a newer channel */
  NB_MGMT_SYNC_CLOSE_INTERNAL = 4011,      /* the server failed */
  NB_MGMT_SYNC_CLOSE_BACKLOG = NB_SERVICE_CLOSE_BACKLOG, /* 4029: reader too far behind */
} NbMgmtSyncCloseCode;

/* The server's settings: from the configuration file, then defaults. */
typedef struct
{
  char *listen;
  char *data_dir;
  char *dns_domain;
  char *tls_cert_file;
  char *tls_key_file;
  char *signal_uri;
  GPtrArray *stun_uris;
  GPtrArray *turn_uris;
  gboolean turn_uris_given; /* by the caller, not the file */
  char *turn_secret;
  gint64 turn_ttl;
  GPtrArray *relay_urls;
  gboolean relay_urls_given; /* by the caller, not the file */
  char *relay_secret;
  gint64 relay_ttl;
  char *admin_token;
  char *setup_key;
  gint64 ephemeral_idle_seconds;
  char *metrics;
  NbServiceLimits limits; /* zero fields: the service base's defaults */
} NbMgmtServerConfig;

NbMgmtServerConfig *nb_mgmt_server_config_new  (void);
NbMgmtServerConfig *nb_mgmt_server_config_load (const char          *path,
                                                GError             **error);
void                nb_mgmt_server_config_free (NbMgmtServerConfig  *config);
gboolean            nb_mgmt_server_config_override_services (NbMgmtServerConfig  *config,
                                                             const char          *signal_uri,
                                                             const char * const  *stun_uris,
                                                             const char * const  *turn_uris,
                                                             const char          *turn_secret,
                                                             GError             **error);
gboolean            nb_mgmt_server_config_override_relay (NbMgmtServerConfig  *config,
                                                          const char * const  *relay_urls,
                                                          const char          *relay_secret,
                                                          GError             **error);
gboolean            nb_mgmt_server_config_check (NbMgmtServerConfig  *config,
                                                 const char          *path,
                                                 GError             **error);

typedef enum {
  NB_MGMT_SERVICE_SIGNAL,
  NB_MGMT_SERVICE_STUN,
  NB_MGMT_SERVICE_TURN,
  NB_MGMT_SERVICE_RELAY,
} NbMgmtService;

gboolean            nb_mgmt_server_config_check_uri (NbMgmtService   service,
                                                     const char     *uri,
                                                     GError        **error);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NbMgmtServerConfig, nb_mgmt_server_config_free)

typedef struct _NbMgmtSyncChannel NbMgmtSyncChannel;

struct _NbManagementServer
{
  GObject parent_instance;

  char *data_dir;
  char *config_file;
  NbMgmtServerConfig *config;
  /* Construct properties over the file's services (the daemon's flags). */
  char *signal_uri;
  GStrv stun_uris;
  GStrv turn_uris;
  char *turn_secret;
  GStrv relay_urls;
  char *relay_secret;

  NbKey *key;
  NbMgmtStore *store;
  GObject *rest_api;
  SoupServer *soup;
  GTlsCertificate *tls_certificate;
  /* The listener, limits and timeouts (nb-service-private.h); the metrics
   * on a listener of their own when asked for. */
  NbService *service;
  NbService *metrics_service;
  GPtrArray *metrics_services;

  char *listen_address;
  guint16 port;
  char *credentials_file;

  /* Login requests taken in the last window (nb-mgmt-login-replay.c). */
  NbMgmtLoginReplay *login_replay;

  /* Authenticated sync channels by peer public key (base64); channels
   * waiting for their first message are in @pending_channels. */
  GHashTable *channels;         /* peer key text (the channel's own) -> NbMgmtSyncChannel */
  GHashTable *pending_channels;
  /* Open channels per account ID: changes to an account nobody listens to
   * cost no map computation. */
  GHashTable *account_channels;
  /* Accounts with a change not yet pushed, and the coalescing timer. */
  GHashTable *dirty_accounts;
  guint flush_source;
  /* Accounts whose maps are being collected (nb-mgmt-sync.c), and what
   * cancels those collections and first maps when the server stops. */
  GHashTable *collecting_accounts;
  GCancellable *collect_cancellable;
  /* Connections of channels whose first map is being computed. */
  GHashTable *first_maps;
  /* First maps given since the heap was last trimmed, and the timer that
   * trims it once a burst of them is over (nb-mgmt-sync.c). */
  guint first_maps_since_trim;
  gint64 last_first_map;
  guint trim_source;
  guint ephemeral_source;
  gulong changed_handler;
  GString *scratch;
};

/* nb-mgmt-bootstrap.c */
gboolean nb_mgmt_server_bootstrap             (NbManagementServer *self,
                                               GError            **error);
char    *nb_mgmt_server_new_admin_token       (NbMgmtStore        *store,
                                               char              **out_account_id,
                                               GError            **error);

/* nb-mgmt-client-protocol.c: server key and login */
void     nb_mgmt_server_add_client_handlers   (NbManagementServer *self);
void     nb_mgmt_server_reply_error           (SoupServerMessage  *msg,
                                               guint               status,
                                               const char         *code,
                                               const char         *message);

/* nb-mgmt-netmap-wire.c: store records to wire messages */
NbMgmtMsgNetbirdConfig *nb_mgmt_server_build_netbird_config (NbManagementServer     *self,
                                                             const char             *peer_key);
NbMgmtMsgPeerConfig    *nb_mgmt_server_build_peer_config    (const char             *address,
                                                             const char             *fqdn,
                                                             gboolean                ssh_enabled);
NbMgmtMsgSyncResponse  *nb_mgmt_server_build_sync_response  (NbManagementServer     *self,
                                                             const NbMgmtNetworkMap *map);
NbMgmtMsgSyncResponse  *nb_mgmt_server_sync_response_from_map (const NbMgmtNetworkMap *map,
                                                               NbMgmtMsgNetbirdConfig *netbird_config);
void                    nb_mgmt_server_write_sync_response  (const NbMgmtNetworkMap       *map,
                                                             const NbMgmtMsgNetbirdConfig *netbird_config,
                                                             GString                      *out);

/* nb-mgmt-sync.c: the sync channels and the update fan-out */
void     nb_mgmt_sync_accept                  (NbManagementServer      *self,
                                               SoupWebsocketConnection *connection);
void     nb_mgmt_sync_on_store_changed        (NbMgmtStore             *store,
                                               const NbMgmtChange      *change,
                                               NbManagementServer      *self);
void     nb_mgmt_sync_close_all               (NbManagementServer      *self);
void     nb_mgmt_sync_channel_free            (NbMgmtSyncChannel       *channel);
gboolean nb_mgmt_sync_delete_idle_ephemeral   (gpointer                 user_data);

G_END_DECLS
