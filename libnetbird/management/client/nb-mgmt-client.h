/* nb-mgmt-client.h: the peer's side of Management's client protocol
 *
 * Library-internal (the client engine builds on it); not exported, not in
 * the GIR.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#if !defined(NB_COMPILATION)
#error "nb-mgmt-client.h is internal to libnetbird."
#endif

#include <gio/gio.h>
#include "nb-key.h"
#include "nb-mgmt-proto-private.h"

G_BEGIN_DECLS

/**
 * NB_MGMT_CLIENT_ERROR:
 *
 * Errors of #NbMgmtClient: the server refused (its code and message are
 * kept in the message), or answered something that is not the protocol.
 */
#define NB_MGMT_CLIENT_ERROR (nb_mgmt_client_error_quark ())

typedef enum {
  NB_MGMT_CLIENT_ERROR_REFUSED,        /* 4xx/5xx with an error body */
  NB_MGMT_CLIENT_ERROR_PROTOCOL,       /* unsealed, wrongly sealed or invalid answer */
  NB_MGMT_CLIENT_ERROR_NOT_REGISTERED, /* login needs a setup key */
  NB_MGMT_CLIENT_ERROR_UNAUTHENTICATED, /* "unauthenticated": no such setup key; the
                                          * message is the server's */
  NB_MGMT_CLIENT_ERROR_LOGIN_REFUSED,  /* "login_refused": key expired, revoked, used
                                        * up; the message is the server's */
} NbMgmtClientError;

GQuark nb_mgmt_client_error_quark (void);

#define NB_TYPE_MGMT_CLIENT (nb_mgmt_client_get_type ())
G_DECLARE_FINAL_TYPE (NbMgmtClient, nb_mgmt_client, NB, MGMT_CLIENT, GObject)

/* @url: the server's base URL ("https://mgmt.example:33073");
 * @key: the peer's WireGuard key, with its private half. */
NbMgmtClient          *nb_mgmt_client_new              (const char          *url,
                                                        NbKey               *key);

/* Fetches (once) the server's key; login and sync do it when needed. */
void                   nb_mgmt_client_get_server_key_async  (NbMgmtClient        *self,
                                                             GCancellable        *cancellable,
                                                             GAsyncReadyCallback  callback,
                                                             gpointer             user_data);
NbKey                 *nb_mgmt_client_get_server_key_finish (NbMgmtClient        *self,
                                                             GAsyncResult        *result,
                                                             GError             **error);

/* Logs in (registering with @setup_key when the server does not know the
 * key yet; %NULL to log in again). @meta is borrowed. */
void                   nb_mgmt_client_login_async      (NbMgmtClient          *self,
                                                        const char            *setup_key,
                                                        const NbMgmtMsgPeerMeta *meta,
                                                        GCancellable          *cancellable,
                                                        GAsyncReadyCallback    callback,
                                                        gpointer               user_data);
NbMgmtMsgLoginResponse *nb_mgmt_client_login_finish    (NbMgmtClient          *self,
                                                        GAsyncResult          *result,
                                                        GError               **error);

/* Opens the sync channel. Every map the server pushes is emitted as
 * "network-map" (NbMgmtClient *, NbMgmtMsgSyncResponse * (transfer none));
 * the channel's end as "closed" (NbMgmtClient *, guint code, const char
 * *reason). The async call completes once the first map arrived. */
void                   nb_mgmt_client_sync_async       (NbMgmtClient          *self,
                                                        const NbMgmtMsgPeerMeta *meta,
                                                        GCancellable          *cancellable,
                                                        GAsyncReadyCallback    callback,
                                                        gpointer               user_data);
gboolean               nb_mgmt_client_sync_finish      (NbMgmtClient          *self,
                                                        GAsyncResult          *result,
                                                        GError               **error);
void                   nb_mgmt_client_close            (NbMgmtClient          *self);

G_END_DECLS
