/* nb-wg-uapi.h: the wg(8) configuration protocol of a userspace device
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#if !defined(__NETBIRD_H_INSIDE__) && !defined(NB_COMPILATION)
#error "Only <netbird.h> can be included directly."
#endif

#include <gio/gio.h>
#include "nb-export.h"
#include "nb-wg-device.h"

G_BEGIN_DECLS

/**
 * NB_WG_UAPI_ERROR:
 *
 * The error domain of the configuration protocol. Each code stands for the
 * errno value the protocol answers with (`errno=-22` and so on).
 */
#define NB_WG_UAPI_ERROR (nb_wg_uapi_error_quark ())

/**
 * NbWgUapiError:
 * @NB_WG_UAPI_ERROR_INVALID: a key or value is not valid (EINVAL)
 * @NB_WG_UAPI_ERROR_PROTOCOL: a line is not `key=value` (EPROTO)
 * @NB_WG_UAPI_ERROR_ADDRESS_IN_USE: the listen port is taken (EADDRINUSE)
 * @NB_WG_UAPI_ERROR_IO: reading or writing the socket failed (EIO)
 * @NB_WG_UAPI_ERROR_SOCKET: the socket could not be created or is in use
 *
 * Errors of the configuration protocol and its socket.
 */
typedef enum {
  NB_WG_UAPI_ERROR_INVALID,
  NB_WG_UAPI_ERROR_PROTOCOL,
  NB_WG_UAPI_ERROR_ADDRESS_IN_USE,
  NB_WG_UAPI_ERROR_IO,
  NB_WG_UAPI_ERROR_SOCKET,
} NbWgUapiError;

NB_AVAILABLE_IN_ALL
GQuark nb_wg_uapi_error_quark (void);

NB_AVAILABLE_IN_ALL
char      *nb_wg_uapi_get_config      (NbWgDevice   *device);
NB_AVAILABLE_IN_ALL
gboolean   nb_wg_uapi_apply_config    (NbWgDevice   *device,
                                       const char   *text,
                                       gssize        length,
                                       GError      **error);
NB_AVAILABLE_IN_ALL
int        nb_wg_uapi_error_to_errno  (const GError *error);

#define NB_TYPE_WG_UAPI_SERVER (nb_wg_uapi_server_get_type ())

NB_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (NbWgUapiServer, nb_wg_uapi_server, NB, WG_UAPI_SERVER, GObject)

NB_AVAILABLE_IN_ALL
NbWgUapiServer *nb_wg_uapi_server_new          (NbWgDevice      *device,
                                                const char      *ifname,
                                                GError         **error);
NB_AVAILABLE_IN_ALL
NbWgUapiServer *nb_wg_uapi_server_new_for_path (NbWgDevice      *device,
                                                const char      *path,
                                                GError         **error);
NB_AVAILABLE_IN_ALL
gboolean        nb_wg_uapi_server_check_name   (const char      *ifname,
                                                GError         **error);
NB_AVAILABLE_IN_ALL
const char     *nb_wg_uapi_server_get_path     (NbWgUapiServer  *self);
NB_AVAILABLE_IN_ALL
NbWgDevice     *nb_wg_uapi_server_get_device   (NbWgUapiServer  *self);
NB_AVAILABLE_IN_ALL
void            nb_wg_uapi_server_close        (NbWgUapiServer  *self);

G_END_DECLS
