/* nb-wg-transport.h: how one peer's packets leave and enter the device
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * The transport seam (docs/architecture.md, "Transports"). By default a peer
 * uses the device's own UDP sockets and its endpoint. A transport replaces
 * that for one peer:
 *  - a socket: a datagram fd with a remote address (an ICE pair's socket
 *    duplicated from libnice). The packet threads use it like their own UDP
 *    socket: the receive thread polls it, sends are batched;
 *  - a channel: framed send/receive through an object (relay, TURN). Sends
 *    call @send_func on a packet thread, one datagram at a time; received
 *    datagrams are handed to nb_wg_device_receive_from_transport().
 */
#pragma once

#include <sys/uio.h>
#include <gio/gio.h>

#include "nb-wg-device.h"
#include "nb-wg-peer.h"

G_BEGIN_DECLS

typedef struct _NbWgTransport NbWgTransport;

/* Sends one datagram; runs on a packet thread (or the main context, for
 * timers) and must not block long. It must not call configuration functions
 * of the device nor nb_wg_device_receive_from_transport(): queue the work for
 * another thread or context instead. */
typedef gboolean (*NbWgTransportSendFunc) (const guint8 *data,
                                           gsize         len,
                                           gpointer      user_data);

/* Takes ownership of @fd (closed when the transport is freed). */
NbWgTransport *nb_wg_transport_new_socket  (int                   fd,
                                            GInetSocketAddress   *remote,
                                            GError              **error);
NbWgTransport *nb_wg_transport_new_channel (NbWgTransportSendFunc send_func,
                                            gpointer              user_data,
                                            GDestroyNotify        destroy);
void           nb_wg_transport_free        (NbWgTransport        *transport);

/* Hands @transport (transfer full, nullable: back to the device's sockets)
 * to @peer. */
void     nb_wg_peer_set_transport            (NbWgPeer      *peer,
                                              NbWgTransport *transport);
/* A datagram that arrived through @peer's channel transport enters the same
 * receive path as the device's UDP datagrams. @data is decrypted in place.
 * It is @peer's: one that authenticates as another peer's (or arrives after
 * @peer left the device) is dropped and counted as rx_drop_wrong_peer,
 * untouched by the other peer's state. Call it from the channel's own
 * thread or context (any thread works), not from inside a send_func. */
void     nb_wg_device_receive_from_transport (NbWgDevice    *device,
                                              NbWgPeer      *peer,
                                              guint8        *data,
                                              gsize          len);

G_END_DECLS
