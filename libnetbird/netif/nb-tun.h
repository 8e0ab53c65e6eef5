/* nb-tun.h: a TUN network interface
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
 * NB_TUN_DEFAULT_MTU:
 *
 * The MTU a new tunnel interface gets: WireGuard's 1420, which leaves room for
 * its 32 bytes of header and tag and for IPv6 and UDP headers in a 1500-byte
 * underlay.
 */
#define NB_TUN_DEFAULT_MTU 1420

#define NB_TYPE_TUN (nb_tun_get_type ())

NB_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (NbTun, nb_tun, NB, TUN, GObject)

NB_AVAILABLE_IN_ALL
NbTun      *nb_tun_new            (const char        *name,
                                   GError           **error);
NB_AVAILABLE_IN_ALL
const char *nb_tun_get_name       (NbTun             *self);
NB_AVAILABLE_IN_ALL
guint       nb_tun_get_ifindex    (NbTun             *self);
NB_AVAILABLE_IN_ALL
guint       nb_tun_get_mtu        (NbTun             *self);
NB_AVAILABLE_IN_ALL
gboolean    nb_tun_set_mtu        (NbTun             *self,
                                   guint              mtu,
                                   GError           **error);
NB_AVAILABLE_IN_ALL
gboolean    nb_tun_set_up         (NbTun             *self,
                                   gboolean           up,
                                   GError           **error);
NB_AVAILABLE_IN_ALL
gboolean    nb_tun_add_address    (NbTun             *self,
                                   GInetAddressMask  *address,
                                   GError           **error);
NB_AVAILABLE_IN_ALL
gboolean    nb_tun_add_address_full (NbTun           *self,
                                   GInetAddress      *address,
                                   guint              prefix_length,
                                   GError           **error);
NB_AVAILABLE_IN_ALL
gboolean    nb_tun_add_route      (NbTun             *self,
                                   GInetAddressMask  *destination,
                                   GError           **error);
NB_AVAILABLE_IN_ALL
gboolean    nb_tun_remove_route   (NbTun             *self,
                                   GInetAddressMask  *destination,
                                   GError           **error);

G_END_DECLS
