/* nb-tun-offload.c: GSO frames cut into packets, TCP segments coalesced
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * The frame layout is the virtio-net one (virtio spec 1.2 §5.1.6, and
 * include/uapi/linux/virtio_net.h): a 10-byte header, then an IP packet
 * whose transport payload may stand for many segments of gso_size bytes.
 */
#define G_LOG_DOMAIN "netbird-netif"

#include <string.h>
#include <netinet/in.h>

#include "nb-tun-private.h"
#include "nb-tun-offload-private.h"

#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04
#define TCP_FLAG_PSH 0x08
#define TCP_FLAG_ACK 0x10
#define TCP_FLAG_CWR 0x80

static inline guint16
get_be16 (const guint8 *p)
{
  return (guint16) ((p[0] << 8) | p[1]);
}

static inline guint32
get_be32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

static inline void
put_be16 (guint8 *p, guint16 v)
{
  p[0] = (guint8) (v >> 8);
  p[1] = (guint8) v;
}

static inline void
put_be32 (guint8 *p, guint32 v)
{
  p[0] = (guint8) (v >> 24);
  p[1] = (guint8) (v >> 16);
  p[2] = (guint8) (v >> 8);
  p[3] = (guint8) v;
}

static inline guint16
get_le16 (const guint8 *p)
{
  return (guint16) (p[0] | (p[1] << 8));
}

static inline void
put_le16 (guint8 *p, guint16 v)
{
  p[0] = (guint8) v;
  p[1] = (guint8) (v >> 8);
}

void
nb_vnet_hdr_decode (const guint8 *raw,
                    NbVnetHdr    *hdr)
{
  hdr->flags = raw[0];
  hdr->gso_type = raw[1];
  hdr->hdr_len = get_le16 (raw + 2);
  hdr->gso_size = get_le16 (raw + 4);
  hdr->csum_start = get_le16 (raw + 6);
  hdr->csum_offset = get_le16 (raw + 8);
}

void
nb_vnet_hdr_encode (const NbVnetHdr *hdr,
                    guint8          *raw)
{
  raw[0] = hdr->flags;
  raw[1] = hdr->gso_type;
  put_le16 (raw + 2, hdr->hdr_len);
  put_le16 (raw + 4, hdr->gso_size);
  put_le16 (raw + 6, hdr->csum_start);
  put_le16 (raw + 8, hdr->csum_offset);
}

/* RFC 1071 §4.1, eight bytes at a time: the one's-complement sum of 64-bit
 * words folds to the same 16-bit sum as that of the 16-bit words. The sum is
 * in host order of memory words; nb_csum_fold() result is stored back with
 * memcpy, which makes it right on either byte order. */
guint64
nb_csum_partial (const guint8 *data,
                 gsize         len,
                 guint64       sum)
{
  guint64 w;

  while (len >= 32)
    {
      guint64 a, b, c, d;

      memcpy (&a, data, 8);
      memcpy (&b, data + 8, 8);
      memcpy (&c, data + 16, 8);
      memcpy (&d, data + 24, 8);
      sum += a;
      sum += (sum < a);
      sum += b;
      sum += (sum < b);
      sum += c;
      sum += (sum < c);
      sum += d;
      sum += (sum < d);
      data += 32;
      len -= 32;
    }
  while (len >= 8)
    {
      memcpy (&w, data, 8);
      sum += w;
      sum += (sum < w);
      data += 8;
      len -= 8;
    }
  if (len > 0)
    {
      w = 0;
      memcpy (&w, data, len);
      sum += w;
      sum += (sum < w);
    }
  return sum;
}

guint16
nb_csum_fold (guint64 sum)
{
  sum = (sum & 0xffffffffu) + (sum >> 32);
  sum = (sum & 0xffffffffu) + (sum >> 32);
  sum = (sum & 0xffffu) + (sum >> 16);
  sum = (sum & 0xffffu) + (sum >> 16);
  return (guint16) sum;
}

/* Adds a 16-bit big-endian value as it would sit in memory. */
static inline guint64
csum_add_be16 (guint64 sum,
               guint16 v)
{
  guint8 b[2];

  put_be16 (b, v);
  return nb_csum_partial (b, 2, sum);
}

guint64
nb_csum_pseudo (const guint8 *ip,
                guint8        protocol,
                gsize         l4_len)
{
  guint64 sum = 0;
  guint8 tail[8] = { 0 };

  if ((ip[0] >> 4) == 4)
    sum = nb_csum_partial (ip + 12, 8, 0);
  else
    sum = nb_csum_partial (ip + 8, 32, 0);
  /* RFC 8200 §8.1: the length is 32 bits for IPv6; the upper 16 are zero
   * for anything a TUN carries, and the RFC 793 form is the same sum. */
  put_be16 (tail, (guint16) l4_len);
  tail[3] = protocol;
  return nb_csum_partial (tail, 4, sum);
}

static inline void
store_csum (guint8  *p,
            guint16  folded)
{
  memcpy (p, &folded, 2);
}

static void
ipv4_header_checksum (guint8 *ip,
                      guint   ihl)
{
  ip[10] = ip[11] = 0;
  store_csum (ip + 10, (guint16) ~nb_csum_fold (nb_csum_partial (ip, ihl, 0)));
}

/* Locates the transport header: @csum_start when the kernel gave one (it
 * does for every GSO frame, and it steps over IPv6 extension headers),
 * otherwise right after a plain IP header. */
static gboolean
locate_l4 (const guint8    *ip,
           gsize            len,
           const NbVnetHdr *hdr,
           guint           *l4_off,
           guint8          *protocol)
{
  guint version;

  if (len < 20)
    return FALSE;
  version = ip[0] >> 4;
  if (version == 4)
    {
      guint ihl = (ip[0] & 0x0f) * 4u;

      if (ihl < 20 || ihl > len)
        return FALSE;
      *l4_off = ihl;
      *protocol = ip[9];
    }
  else if (version == 6)
    {
      if (len < 40)
        return FALSE;
      *l4_off = 40;
      *protocol = ip[6];
    }
  else
    return FALSE;

  if ((hdr->flags & NB_VNET_HDR_F_NEEDS_CSUM) && hdr->csum_start >= *l4_off &&
      hdr->csum_start < len)
    *l4_off = hdr->csum_start;
  return TRUE;
}

static int
copy_finishing_csum (const guint8    *ip,
                     gsize            len,
                     const NbVnetHdr *hdr,
                     guint8          *dst,
                     gsize            room,
                     gsize           *out_len)
{
  if (len > room || len == 0)
    return 0;
  if (hdr->flags & NB_VNET_HDR_F_NEEDS_CSUM)
    {
      gsize start = hdr->csum_start;
      gsize at = start + hdr->csum_offset;

      if (start >= len || at + 2 > len)
        return 0;
      memcpy (dst, ip, len);
      /* The field holds the pseudo-header sum already (CHECKSUM_PARTIAL):
       * summing from csum_start over it finishes the checksum. */
      store_csum (dst + at, (guint16) ~nb_csum_fold (nb_csum_partial (dst + start, len - start, 0)));
    }
  else
    memcpy (dst, ip, len);
  *out_len = len;
  return 1;
}

int
nb_tun_offload_split (const guint8  *frame,
                      gsize          frame_len,
                      guint8       **out,
                      gsize         *out_len,
                      guint          max_out,
                      gsize          out_headroom,
                      gsize          out_tailroom,
                      gsize          out_size)
{
  NbVnetHdr hdr;
  const guint8 *ip;
  gsize len, room, hdr_len, data_len, offset;
  guint l4_off, gso_type, n, i;
  guint8 protocol;
  gboolean v4, tcp;

  if (frame_len <= NB_TUN_VNET_HDR_LEN || max_out == 0 ||
      out_size < out_headroom + out_tailroom)
    return 0;
  room = out_size - out_headroom - out_tailroom;
  nb_vnet_hdr_decode (frame, &hdr);
  ip = frame + NB_TUN_VNET_HDR_LEN;
  len = frame_len - NB_TUN_VNET_HDR_LEN;
  gso_type = hdr.gso_type & ~NB_VNET_HDR_GSO_ECN;

  if (gso_type == NB_VNET_HDR_GSO_NONE || hdr.gso_size == 0)
    return copy_finishing_csum (ip, len, &hdr, out[0] + out_headroom, room, &out_len[0]);

  if (!locate_l4 (ip, len, &hdr, &l4_off, &protocol))
    return 0;
  v4 = (ip[0] >> 4) == 4;
  switch (gso_type)
    {
    case NB_VNET_HDR_GSO_TCPV4:
    case NB_VNET_HDR_GSO_TCPV6:
      if (protocol != IPPROTO_TCP || v4 != (gso_type == NB_VNET_HDR_GSO_TCPV4) ||
          l4_off + 20 > len)
        return 0;
      tcp = TRUE;
      hdr_len = l4_off + (ip[l4_off + 12] >> 4) * 4u;
      if (hdr_len < l4_off + 20)
        return 0;
      break;
    case NB_VNET_HDR_GSO_UDP_L4:
      if (protocol != IPPROTO_UDP)
        return 0;
      tcp = FALSE;
      hdr_len = l4_off + 8;
      break;
    default:
      /* UFO (IP fragmentation of UDP) is never enabled on our queues. */
      return 0;
    }
  if (hdr_len >= len)
    return 0;
  data_len = len - hdr_len;
  n = (guint) ((data_len + hdr.gso_size - 1) / hdr.gso_size);
  if (n > max_out)
    n = max_out;
  if (hdr_len + hdr.gso_size > room && n > 1)
    return 0;

  for (i = 0, offset = hdr_len; i < n; i++, offset += hdr.gso_size)
    {
      guint8 *dst = out[i] + out_headroom;
      gsize seg = MIN ((gsize) hdr.gso_size, len - offset);
      gsize total = hdr_len + seg;
      gsize l4_len = total - l4_off;
      guint64 sum;

      if (total > room)
        return (int) i;
      memcpy (dst, ip, hdr_len);
      memcpy (dst + hdr_len, ip + offset, seg);

      if (v4)
        {
          put_be16 (dst + 2, (guint16) total);
          /* The kernel's GSO numbers the segments' IDs on from the first
           * (net/ipv4/af_inet.c, inet_gso_segment). */
          put_be16 (dst + 4, (guint16) (get_be16 (ip + 4) + i));
          ipv4_header_checksum (dst, (ip[0] & 0x0f) * 4u);
        }
      else
        put_be16 (dst + 4, (guint16) (total - 40));

      if (tcp)
        {
          guint8 *th = dst + l4_off;

          put_be32 (th + 4, get_be32 (ip + l4_off + 4) + (guint32) (offset - hdr_len));
          if (i + 1 < n)
            th[13] &= (guint8) ~(TCP_FLAG_FIN | TCP_FLAG_PSH);
          if (i > 0)
            th[13] &= (guint8) ~TCP_FLAG_CWR;
          th[16] = th[17] = 0;
          sum = nb_csum_pseudo (dst, IPPROTO_TCP, l4_len);
          sum = nb_csum_partial (th, l4_len, sum);
          store_csum (th + 16, (guint16) ~nb_csum_fold (sum));
        }
      else
        {
          guint8 *uh = dst + l4_off;
          guint16 c;

          put_be16 (uh + 4, (guint16) l4_len);
          uh[6] = uh[7] = 0;
          sum = nb_csum_pseudo (dst, IPPROTO_UDP, l4_len);
          sum = nb_csum_partial (uh, l4_len, sum);
          c = (guint16) ~nb_csum_fold (sum);
          /* RFC 768: a computed zero is sent as all ones. */
          store_csum (uh + 6, c == 0 ? 0xffff : c);
        }
      out_len[i] = total;
    }
  return (int) n;
}

/* ---- coalescing ---------------------------------------------------- */

typedef struct
{
  guint iph_len;
  guint hdr_len;      /* IP + TCP */
  guint payload;
  guint32 seq;
  guint8 flags;
  gboolean v6;
} TcpSegment;

/* A plain TCP segment (no IP options or extension headers, not a fragment)
 * whose lengths agree with @len, or FALSE. */
static gboolean
parse_tcp (const guint8 *ip,
           gsize         len,
           TcpSegment   *seg)
{
  guint thl;

  if (len < 40)
    return FALSE;
  if ((ip[0] >> 4) == 4)
    {
      if (ip[0] != 0x45 || ip[9] != IPPROTO_TCP || get_be16 (ip + 2) != len ||
          (get_be16 (ip + 6) & 0x3fff) != 0)
        return FALSE;
      seg->iph_len = 20;
      seg->v6 = FALSE;
    }
  else if ((ip[0] >> 4) == 6)
    {
      if (len < 60 || ip[6] != IPPROTO_TCP || (gsize) get_be16 (ip + 4) + 40 != len)
        return FALSE;
      seg->iph_len = 40;
      seg->v6 = TRUE;
    }
  else
    return FALSE;

  thl = (ip[seg->iph_len + 12] >> 4) * 4u;
  if (thl < 20 || seg->iph_len + thl > len)
    return FALSE;
  seg->hdr_len = seg->iph_len + thl;
  seg->payload = (guint) (len - seg->hdr_len);
  seg->seq = get_be32 (ip + seg->iph_len + 4);
  seg->flags = ip[seg->iph_len + 13];
  return TRUE;
}

/* Only data segments with ACK (and maybe PSH) merge; anything else (SYN,
 * FIN, RST, URG, ECN marks, a bare ACK) goes through alone, as Linux GRO
 * does (net/ipv4/tcp_offload.c). */
static inline gboolean
segment_mergeable (const TcpSegment *seg)
{
  return seg->payload > 0 && (seg->flags & ~TCP_FLAG_PSH) == TCP_FLAG_ACK;
}

static gboolean
same_flow (const guint8 *a,
           const guint8 *b,
           gboolean      v6,
           guint         iph_len)
{
  if (v6)
    {
      if (memcmp (a + 8, b + 8, 32) != 0)
        return FALSE;
    }
  else if (memcmp (a + 12, b + 12, 8) != 0)
    return FALSE;
  return memcmp (a + iph_len, b + iph_len, 4) == 0;
}

/* What must be equal in every segment of one frame besides the flow: the
 * IP fields the merged header keeps (TOS/traffic class, TTL/hop limit, DF),
 * and the TCP acknowledgement, header length and options. */
static gboolean
same_headers (const guint8     *a,
              const guint8     *b,
              const TcpSegment *s)
{
  if (s->v6)
    {
      if (memcmp (a, b, 4) != 0 || a[7] != b[7])
        return FALSE;
    }
  else if (a[1] != b[1] || a[8] != b[8] || (a[6] & 0x40) != (b[6] & 0x40))
    return FALSE;

  return memcmp (a + s->iph_len + 8, b + s->iph_len + 8, 4) == 0 &&
         a[s->iph_len + 12] == b[s->iph_len + 12] &&
         memcmp (a + s->iph_len + 20, b + s->iph_len + 20, s->hdr_len - s->iph_len - 20) == 0;
}

#define OPEN_FLOWS 8

static gboolean
might_be_tcp (const guint8 *ip,
              gsize         len)
{
  if (len < 20)
    return FALSE;
  if ((ip[0] >> 4) == 4)
    return ip[9] == IPPROTO_TCP;
  if ((ip[0] >> 4) == 6 && len >= 40)
    return ip[6] != IPPROTO_UDP && ip[6] != IPPROTO_ICMPV6;
  return FALSE;
}

guint
nb_tun_offload_coalesce (guint8     **packets,
                         const gsize *lens,
                         guint        n,
                         NbTunGroup  *groups,
                         guint       *next)
{
  /* Open groups, one per flow at most; a packet of a flow joins only the
   * newest group of that flow, so writing groups in the order of their
   * first packets keeps every flow in order. */
  guint open[OPEN_FLOWS];
  guint n_open = 0, victim = 0;
  guint n_groups = 0;
  guint i, j;

  for (i = 0; i < n; i++)
    {
      TcpSegment seg;
      gboolean tcp = parse_tcp (packets[i], lens[i], &seg);
      gint slot = -1;

      next[i] = G_MAXUINT;

      /* TCP we cannot parse (IP options, extension headers, fragments):
       * it may belong to an open flow, whose later segments must not be
       * written before it. Close every open group. */
      if (!tcp && might_be_tcp (packets[i], lens[i]))
        n_open = victim = 0;

      if (tcp)
        {
          for (j = 0; j < n_open; j++)
            {
              NbTunGroup *g = &groups[open[j]];
              const guint8 *first = packets[g->first];

              if ((first[0] >> 4) == (seg.v6 ? 6 : 4) &&
                  same_flow (first, packets[i], seg.v6, seg.iph_len))
                {
                  slot = (gint) j;
                  break;
                }
            }
        }

      if (slot >= 0 && segment_mergeable (&seg))
        {
          NbTunGroup *g = &groups[open[slot]];
          const guint8 *first = packets[g->first];
          const guint8 *last = packets[g->last];
          gsize gso_size = lens[g->first] - g->hdr_len;
          gsize last_payload = lens[g->last] - g->hdr_len;

          if (g->count < NB_TUN_GRO_MAX_SEGMENTS &&
              seg.hdr_len == g->hdr_len &&
              last_payload == gso_size &&
              seg.payload <= gso_size &&
              !(last[seg.iph_len + 13] & TCP_FLAG_PSH) &&
              seg.seq == get_be32 (last + seg.iph_len + 4) + (guint32) last_payload &&
              g->hdr_len + g->payload_len + seg.payload <= G_MAXUINT16 &&
              same_headers (first, packets[i], &seg))
            {
              next[g->last] = i;
              g->last = i;
              g->count++;
              g->payload_len += seg.payload;
              continue;
            }
        }

      /* A group of its own. */
      groups[n_groups].first = i;
      groups[n_groups].last = i;
      groups[n_groups].count = 1;
      groups[n_groups].hdr_len = tcp ? seg.hdr_len : 0;
      groups[n_groups].payload_len = tcp ? seg.payload : 0;

      if (tcp && segment_mergeable (&seg))
        {
          if (slot < 0)
            {
              if (n_open < OPEN_FLOWS)
                slot = (gint) n_open++;
              else
                {
                  slot = (gint) victim;
                  victim = (victim + 1) % OPEN_FLOWS;
                }
            }
          open[slot] = n_groups;
        }
      else if (slot >= 0)
        {
          /* A SYN, FIN, RST or bare ACK of an open flow: later data must not
           * jump ahead of it into the older group. */
          open[slot] = open[--n_open];
          if (victim >= n_open)
            victim = 0;
        }
      n_groups++;
    }
  return n_groups;
}

void
nb_tun_offload_finish_group (guint8          **packets,
                             const gsize      *lens,
                             const NbTunGroup *group)
{
  guint8 *ip = packets[group->first];
  NbVnetHdr hdr = { 0 };

  if (group->count > 1)
    {
      gboolean v6 = (ip[0] >> 4) == 6;
      guint iph_len = v6 ? 40 : 20;
      gsize total = group->hdr_len + group->payload_len;
      const guint8 *last = packets[group->last];
      guint8 *th = ip + iph_len;

      if (v6)
        put_be16 (ip + 4, (guint16) (total - 40));
      else
        {
          put_be16 (ip + 2, (guint16) total);
          ipv4_header_checksum (ip, 20);
        }
      th[13] |= last[iph_len + 13] & TCP_FLAG_PSH;
      memcpy (th + 14, last + iph_len + 14, 2);   /* the latest window */

      /* CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum, the
       * kernel (or the segmentation on the way out) adds the rest. No check
       * of the segments' own checksums: their integrity is WireGuard's
       * authenticated encryption, as Linux's wg marks decrypted packets
       * CHECKSUM_UNNECESSARY (drivers/net/wireguard/receive.c). */
      th[16] = th[17] = 0;
      store_csum (th + 16, nb_csum_fold (nb_csum_pseudo (ip, IPPROTO_TCP, total - iph_len)));

      hdr.flags = NB_VNET_HDR_F_NEEDS_CSUM;
      hdr.gso_type = v6 ? NB_VNET_HDR_GSO_TCPV6 : NB_VNET_HDR_GSO_TCPV4;
      hdr.hdr_len = (guint16) group->hdr_len;
      hdr.gso_size = (guint16) (lens[group->first] - group->hdr_len);
      hdr.csum_start = (guint16) iph_len;
      hdr.csum_offset = 16;
    }
  nb_vnet_hdr_encode (&hdr, ip - NB_TUN_VNET_HDR_LEN);
}
