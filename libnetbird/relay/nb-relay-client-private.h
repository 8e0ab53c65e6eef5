/* nb-relay-client-private.h: what the library's engine uses of
 * NbRelayClient beyond its public API
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#if !defined(NB_COMPILATION)
#error "nb-relay-client-private.h is internal to libnetbird."
#endif

#include "nb-relay-client.h"
#include "nb-wg-device.h"
#include "nb-wg-peer.h"
#include "nb-wg-transport.h"

G_BEGIN_DECLS

/* The largest datagram the client carries (a WireGuard datagram of a
 * 1,500-byte MTU and more): larger ones are dropped at send. */
#define NB_RELAY_CLIENT_MAX_DATAGRAM 2048

/* Called on the client's own thread for each datagram @peer sent through
 * the relay; @data is the client's buffer, valid (and writable) during
 * the call. */
typedef void (*NbRelayReceiveFunc) (guint8   *data,
                                    gsize     len,
                                    gpointer  user_data);

/* Delivers what @peer sends through the relay to @func (replacing any
 * earlier receiver of @peer); NULL @func removes it. @destroy frees
 * @user_data once no call is in flight. */
void           nb_relay_client_set_receiver     (NbRelayClient      *self,
                                                 NbKey              *peer,
                                                 NbRelayReceiveFunc  func,
                                                 gpointer            user_data,
                                                 GDestroyNotify      destroy);

/* A WireGuard channel transport to @peer through the relay: hand it to
 * @wg_peer with nb_wg_peer_set_transport(). Sends take a preallocated slot
 * of the client's queue (dropped when full or disconnected); datagrams from
 * @peer go to nb_wg_device_receive_from_transport() on the client's
 * thread. Freeing the transport stops the delivery. */
NbWgTransport *nb_relay_client_new_wg_transport (NbRelayClient      *self,
                                                 NbKey              *peer,
                                                 NbWgDevice         *device,
                                                 NbWgPeer           *wg_peer);

G_END_DECLS
