/* nb-tun-offload-private.h: virtio-net offloads of a TUN device
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * With IFF_VNET_HDR each frame on a TUN fd starts with a struct
 * virtio_net_hdr (include/uapi/linux/virtio_net.h). With TSO/USO enabled
 * through TUNSETOFFLOAD the kernel hands us frames of up to 64 KiB that
 * stand for many IP packets (GSO), and packets whose transport checksum is
 * left for us to finish (NEEDS_CSUM). The other way we may give the kernel
 * one big TCP frame built of consecutive segments (GRO), which saves a trip
 * through its stack per segment.
 *
 * Everything here is pure computation on caller's buffers: no allocation,
 * no system calls, safe on any thread.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* virtio_net_hdr as it sits in the frame (little-endian on every host we
 * run on: TUN uses the host's byte order unless TUNSETVNETBE says else). */
#define NB_VNET_HDR_F_NEEDS_CSUM 1
#define NB_VNET_HDR_GSO_NONE     0
#define NB_VNET_HDR_GSO_TCPV4    1
#define NB_VNET_HDR_GSO_UDP      3
#define NB_VNET_HDR_GSO_TCPV6    4
#define NB_VNET_HDR_GSO_UDP_L4   5
#define NB_VNET_HDR_GSO_ECN      0x80

typedef struct
{
  guint8  flags;
  guint8  gso_type;
  guint16 hdr_len;
  guint16 gso_size;
  guint16 csum_start;
  guint16 csum_offset;
} NbVnetHdr;

void  nb_vnet_hdr_decode (const guint8 *raw,
                          NbVnetHdr    *hdr);
void  nb_vnet_hdr_encode (const NbVnetHdr *hdr,
                          guint8          *raw);

/* Internet checksum (RFC 1071) helpers. A partial sum is a 64-bit
 * one's-complement accumulator over 16-bit words in memory order. */
guint64 nb_csum_partial  (const guint8 *data,
                          gsize         len,
                          guint64       sum);
guint16 nb_csum_fold     (guint64       sum);
/* The RFC 793/8200 pseudo header of a transport segment of @l4_len bytes. */
guint64 nb_csum_pseudo   (const guint8 *ip_packet,
                          guint8        protocol,
                          gsize         l4_len);

/* Cuts @frame (its virtio_net_hdr first, @frame_len bytes in all) into IP
 * packets with complete checksums, as nb_tun_read_packets() documents.
 * Returns the number of packets, 0 when the frame is malformed or none
 * fits. */
int   nb_tun_offload_split (const guint8  *frame,
                            gsize          frame_len,
                            guint8       **out,
                            gsize         *out_len,
                            guint          max_out,
                            gsize          out_headroom,
                            gsize          out_tailroom,
                            gsize          out_size);

/* The most packets one coalesced frame gathers. */
#define NB_TUN_GRO_MAX_SEGMENTS 64

/* A frame to write: packets chained from @first through next[] (G_MAXUINT
 * ends the chain). The first packet's headers (already rewritten, with the
 * virtio_net_hdr in the NB_TUN_VNET_HDR_LEN bytes before it) lead; of the
 * others only the bytes after @hdr_len follow. */
typedef struct
{
  guint first;
  guint last;
  guint count;
  guint hdr_len;
  guint payload_len;   /* all payload bytes of the frame */
} NbTunGroup;

/* Groups @n packets into frames: consecutive segments of one TCP flow join
 * one frame where the kernel can take it as GSO. @groups and @next have
 * room for @n entries. Fills them and returns the number of groups, in the
 * order of their first packets (which keeps each flow in order). Nothing
 * is rewritten yet: see nb_tun_offload_finish_group(). */
guint nb_tun_offload_coalesce     (guint8     **packets,
                                   const gsize *lens,
                                   guint        n,
                                   NbTunGroup  *groups,
                                   guint       *next);

/* Writes the virtio_net_hdr in the NB_TUN_VNET_HDR_LEN bytes before the
 * group's first packet and, for a group of several packets, rewrites its
 * IP and TCP headers to describe the whole frame. */
void  nb_tun_offload_finish_group (guint8          **packets,
                                   const gsize      *lens,
                                   const NbTunGroup *group);

G_END_DECLS
