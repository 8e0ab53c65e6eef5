/* nb-mgmt-rest-api.h: the management REST API under /api
 *
 * Library-internal: not exported from libnetbird-1.so, not in the GIR.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#if !defined(NB_COMPILATION)
#error "nb-mgmt-rest-api.h is internal to libnetbird."
#endif

#include <glib-object.h>
#include <libsoup/soup.h>

#include "nb-mgmt-store.h"

G_BEGIN_DECLS

/**
 * NB_MGMT_REST_API_DEFAULT_MAX_BODY:
 *
 * The largest request body the REST API accepts unless told otherwise, in
 * bytes. Larger bodies are answered with 413 before they are parsed.
 */
#define NB_MGMT_REST_API_DEFAULT_MAX_BODY (1024 * 1024)

#define NB_TYPE_MGMT_REST_API (nb_mgmt_rest_api_get_type ())
G_DECLARE_FINAL_TYPE (NbMgmtRestApi, nb_mgmt_rest_api, NB, MGMT_REST_API, GObject)

/**
 * nb_mgmt_rest_api_new:
 * @store: the management store every request reads and writes through
 *
 * Creates the REST API handlers (NetBird's public REST API: /api/accounts,
 * /api/users, /api/peers, /api/setup-keys, /api/groups, /api/policies,
 * /api/routes, /api/dns/..., /api/events/audit). Requests authenticate with
 * `Authorization: Token nbp_...` (a personal access token in @store).
 * Every write goes through the store's account logic, so it records an
 * activity event and fires the store's change notification.
 *
 * Returns: (transfer full): a new #NbMgmtRestApi holding a reference on @store
 */
NbMgmtRestApi *nb_mgmt_rest_api_new (NbMgmtStore *store);

/**
 * nb_mgmt_rest_api_attach:
 * @self: a #NbMgmtRestApi
 * @server: the server to mount the API on
 *
 * Adds a handler for the path prefix `/api` to @server. Requests are handled
 * on the thread (main context) of @server. Attach one API to one server;
 * the server keeps a reference on @self until the handler is removed.
 */
void nb_mgmt_rest_api_attach (NbMgmtRestApi *self,
                              SoupServer    *server);

/**
 * nb_mgmt_rest_api_set_max_body_size:
 * @self: a #NbMgmtRestApi
 * @max_bytes: the largest request body accepted, in bytes
 *
 * Sets the body limit (default %NB_MGMT_REST_API_DEFAULT_MAX_BODY). Larger
 * requests get 413 and change nothing.
 */
void nb_mgmt_rest_api_set_max_body_size (NbMgmtRestApi *self,
                                         gsize          max_bytes);

G_END_DECLS
