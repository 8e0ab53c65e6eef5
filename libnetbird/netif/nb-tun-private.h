/* nb-tun-private.h: the TUN device as the packet path sees it
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * CONTRACT between netif/ (which implements it) and wireguard/ (whose packet
 * threads call it). These functions run on packet threads: they never touch
 * the GLib main context, never allocate, and never take a lock shared with
 * another queue.
 */
#pragma once

#include "nb-tun.h"

G_BEGIN_DECLS

/* Size of struct virtio_net_hdr (without num_buffers). */
#define NB_TUN_VNET_HDR_LEN 10

/* The most IP packets one TUN read can yield: a 64 KiB TSO/USO frame cut at
 * the smallest MSS the kernel will use. */
#define NB_TUN_MAX_SEGMENTS 128

/* Queues: the interface is opened with IFF_MULTI_QUEUE; each queue has its
 * own fd and is served by one reader thread. */
guint    nb_tun_get_n_queues    (NbTun *self);
int      nb_tun_get_queue_fd    (NbTun *self,
                                 guint  queue);
gboolean nb_tun_has_vnet_hdr    (NbTun *self);
/* Whether the kernel hands us UDP_SEGMENT sends whole (USO, Linux 6.2 on);
 * older kernels segment them before the TUN. */
gboolean nb_tun_has_uso         (NbTun *self);

/* Reads one frame from @queue's fd (blocking or not, as the fd was set) and
 * turns it into plain IP packets with complete checksums: a GSO frame
 * (IFF_VNET_HDR with TSO/USO) is cut into segments, a NEEDS_CSUM frame has
 * its checksum finished.
 *
 * @scratch (of @scratch_size >= 65535 + NB_TUN_VNET_HDR_LEN bytes) is the
 * caller's per-thread buffer for the raw frame. Packet i is written at
 * out[i] + out_headroom and its length stored in out_len[i]; each out[i] is
 * @out_size bytes long in all, and a packet that does not fit in
 * out_size - out_headroom - out_tailroom is dropped.
 *
 * Returns the number of packets (0 for a frame that held nothing usable),
 * or -1 with errno set (EAGAIN, EINTR, EBADF after close). */
int      nb_tun_read_packets    (NbTun   *self,
                                 guint    queue,
                                 guint8  *scratch,
                                 gsize    scratch_size,
                                 guint8 **out,
                                 gsize   *out_len,
                                 guint    max_out,
                                 gsize    out_headroom,
                                 gsize    out_tailroom,
                                 gsize    out_size);

/* Counters of nb_tun_read_packets(), over all queues. */
typedef enum
{
  NB_TUN_COUNTER_RX_TSO_FRAMES, /* TCP frames the kernel left for us to segment */
  NB_TUN_COUNTER_RX_USO_FRAMES, /* UDP frames (UDP_SEGMENT) left for us to segment */
  NB_TUN_N_COUNTERS
} NbTunCounter;

guint64  nb_tun_get_counter     (NbTun        *self,
                                 NbTunCounter  counter);

/* Writes @n IP packets to @queue. packets[i] points at the IP header of a
 * packet of lens[i] bytes; the NB_TUN_VNET_HDR_LEN bytes before each
 * packets[i] belong to the caller's buffer and may be overwritten (the
 * WireGuard data header sits there). Consecutive TCP segments of one flow
 * may be coalesced into one GSO frame (GRO) where the kernel takes it.
 *
 * Returns the number of packets written, or -1 with errno set. */
int      nb_tun_write_packets   (NbTun   *self,
                                 guint    queue,
                                 guint8 **packets,
                                 gsize   *lens,
                                 guint    n);

G_END_DECLS
