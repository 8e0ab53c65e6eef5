/* nb-wg-device.h: a userspace WireGuard device
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
#include "nb-tun.h"
#include "nb-wg-peer.h"

G_BEGIN_DECLS

/**
 * NB_WG_DEVICE_ERROR:
 *
 * The error domain of #NbWgDevice.
 */
#define NB_WG_DEVICE_ERROR (nb_wg_device_error_quark ())

/**
 * NbWgDeviceError:
 * @NB_WG_DEVICE_ERROR_ADDRESS_IN_USE: the listen port is taken
 * @NB_WG_DEVICE_ERROR_NO_PRIVATE_KEY: the device needs a private key first
 * @NB_WG_DEVICE_ERROR_PEER_EXISTS: a peer with this public key is configured
 * @NB_WG_DEVICE_ERROR_NO_SUCH_PEER: no peer with this public key
 * @NB_WG_DEVICE_ERROR_INVALID_CONFIG: a value is out of range or inconsistent
 *   (such as the device's own public key given as a peer)
 * @NB_WG_DEVICE_ERROR_SYSTEM: a system call failed; the message says which
 *
 * Errors of #NbWgDevice and #NbWgPeer.
 */
typedef enum {
  NB_WG_DEVICE_ERROR_ADDRESS_IN_USE,
  NB_WG_DEVICE_ERROR_NO_PRIVATE_KEY,
  NB_WG_DEVICE_ERROR_PEER_EXISTS,
  NB_WG_DEVICE_ERROR_NO_SUCH_PEER,
  NB_WG_DEVICE_ERROR_INVALID_CONFIG,
  NB_WG_DEVICE_ERROR_SYSTEM,
} NbWgDeviceError;

NB_AVAILABLE_IN_ALL
GQuark nb_wg_device_error_quark (void);

#define NB_TYPE_WG_DEVICE (nb_wg_device_get_type ())

NB_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (NbWgDevice, nb_wg_device, NB, WG_DEVICE, GObject)

NB_AVAILABLE_IN_ALL
NbWgDevice  *nb_wg_device_new                (NbTun        *tun);
NB_AVAILABLE_IN_ALL
NbTun       *nb_wg_device_get_tun            (NbWgDevice   *self);

NB_AVAILABLE_IN_ALL
gboolean     nb_wg_device_set_private_key    (NbWgDevice   *self,
                                              NbKey        *key,
                                              GError      **error);
NB_AVAILABLE_IN_ALL
NbKey       *nb_wg_device_get_private_key    (NbWgDevice   *self);
NB_AVAILABLE_IN_ALL
gboolean     nb_wg_device_set_listen_port    (NbWgDevice   *self,
                                              guint16       port,
                                              GError      **error);
NB_AVAILABLE_IN_ALL
guint16      nb_wg_device_get_listen_port    (NbWgDevice   *self);
NB_AVAILABLE_IN_ALL
gboolean     nb_wg_device_set_fwmark         (NbWgDevice   *self,
                                              guint32       fwmark,
                                              GError      **error);
NB_AVAILABLE_IN_ALL
guint32      nb_wg_device_get_fwmark         (NbWgDevice   *self);

NB_AVAILABLE_IN_ALL
NbWgPeer    *nb_wg_device_add_peer           (NbWgDevice   *self,
                                              NbKey        *public_key,
                                              GError      **error);
NB_AVAILABLE_IN_ALL
NbWgPeer    *nb_wg_device_lookup_peer        (NbWgDevice   *self,
                                              NbKey        *public_key);
NB_AVAILABLE_IN_ALL
gboolean     nb_wg_device_remove_peer        (NbWgDevice   *self,
                                              NbKey        *public_key,
                                              GError      **error);
NB_AVAILABLE_IN_ALL
void         nb_wg_device_remove_all_peers   (NbWgDevice   *self);
NB_AVAILABLE_IN_ALL
GPtrArray   *nb_wg_device_list_peers         (NbWgDevice   *self);

NB_AVAILABLE_IN_ALL
gboolean     nb_wg_device_up                 (NbWgDevice   *self,
                                              GError      **error);
NB_AVAILABLE_IN_ALL
void         nb_wg_device_down               (NbWgDevice   *self);
NB_AVAILABLE_IN_ALL
gboolean     nb_wg_device_is_up              (NbWgDevice   *self);

G_END_DECLS
