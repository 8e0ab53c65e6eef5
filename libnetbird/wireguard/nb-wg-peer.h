/* nb-wg-peer.h: a peer of a userspace WireGuard device
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

#define NB_TYPE_WG_PEER (nb_wg_peer_get_type ())

NB_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (NbWgPeer, nb_wg_peer, NB, WG_PEER, GObject)

NB_AVAILABLE_IN_ALL
NbKey              *nb_wg_peer_get_public_key           (NbWgPeer            *self);

NB_AVAILABLE_IN_ALL
gboolean            nb_wg_peer_set_preshared_key        (NbWgPeer            *self,
                                                         const guint8        *key,
                                                         gsize                length,
                                                         GError             **error);
NB_AVAILABLE_IN_ALL
gboolean            nb_wg_peer_has_preshared_key        (NbWgPeer            *self);

NB_AVAILABLE_IN_ALL
void                nb_wg_peer_set_endpoint             (NbWgPeer            *self,
                                                         GInetSocketAddress  *endpoint);
NB_AVAILABLE_IN_ALL
GInetSocketAddress *nb_wg_peer_dup_endpoint             (NbWgPeer            *self);

NB_AVAILABLE_IN_ALL
void                nb_wg_peer_set_persistent_keepalive (NbWgPeer            *self,
                                                         guint16              interval_seconds);
NB_AVAILABLE_IN_ALL
guint16             nb_wg_peer_get_persistent_keepalive (NbWgPeer            *self);

NB_AVAILABLE_IN_ALL
gboolean            nb_wg_peer_add_allowed_ip           (NbWgPeer            *self,
                                                         GInetAddressMask    *prefix,
                                                         GError             **error);
NB_AVAILABLE_IN_ALL
gboolean            nb_wg_peer_remove_allowed_ip        (NbWgPeer            *self,
                                                         GInetAddressMask    *prefix);
NB_AVAILABLE_IN_ALL
void                nb_wg_peer_clear_allowed_ips        (NbWgPeer            *self);
NB_AVAILABLE_IN_ALL
GPtrArray          *nb_wg_peer_list_allowed_ips         (NbWgPeer            *self);

NB_AVAILABLE_IN_ALL
guint64             nb_wg_peer_get_rx_bytes             (NbWgPeer            *self);
NB_AVAILABLE_IN_ALL
guint64             nb_wg_peer_get_tx_bytes             (NbWgPeer            *self);
NB_AVAILABLE_IN_ALL
gint64              nb_wg_peer_get_last_handshake_time  (NbWgPeer            *self);

G_END_DECLS
