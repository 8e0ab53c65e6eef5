/* test-tun-offload.c: virtio-net GSO frames cut, TCP segments coalesced
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <string.h>
#include <netinet/in.h>

#include "nb-tun-private.h"
#include "nb-tun-offload-private.h"

#define HEADROOM 16
#define TAILROOM 16
#define SLOT 2048

typedef struct
{
  guint8 *slots[NB_TUN_MAX_SEGMENTS];
  gsize lens[NB_TUN_MAX_SEGMENTS];
  guint8 storage[NB_TUN_MAX_SEGMENTS][SLOT];
} Out;

static Out *
out_new (void)
{
  Out *o = g_new0 (Out, 1);

  for (guint i = 0; i < NB_TUN_MAX_SEGMENTS; i++)
    o->slots[i] = o->storage[i];
  return o;
}

static void
put16 (guint8 *p, guint16 v)
{
  p[0] = (guint8) (v >> 8);
  p[1] = (guint8) v;
}

static guint16
get16 (const guint8 *p)
{
  return (guint16) ((p[0] << 8) | p[1]);
}

static void
put32 (guint8 *p, guint32 v)
{
  put16 (p, (guint16) (v >> 16));
  put16 (p + 2, (guint16) v);
}

static guint32
get32 (const guint8 *p)
{
  return ((guint32) get16 (p) << 16) | get16 (p + 2);
}

/* Plain RFC 1071 over 16-bit big-endian words, the slow way, as a referee
 * for the library's 64-bit sum. */
static guint16
ref_checksum (const guint8 *a, gsize alen, const guint8 *b, gsize blen)
{
  guint32 sum = 0;
  gsize i;

  for (i = 0; i + 1 < alen; i += 2)
    sum += get16 (a + i);
  if (alen & 1)
    sum += (guint32) a[alen - 1] << 8;
  for (i = 0; i + 1 < blen; i += 2)
    sum += get16 (b + i);
  if (blen & 1)
    sum += (guint32) b[blen - 1] << 8;
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return (guint16) ~sum;
}

/* The pseudo header of @ip's transport segment, for ref_checksum(). */
static gsize
ref_pseudo (const guint8 *ip, guint8 proto, gsize l4_len, guint8 *ph)
{
  if ((ip[0] >> 4) == 4)
    {
      memcpy (ph, ip + 12, 8);
      ph[8] = 0;
      ph[9] = proto;
      put16 (ph + 10, (guint16) l4_len);
      return 12;
    }
  memcpy (ph, ip + 8, 32);
  put32 (ph + 32, (guint32) l4_len);
  ph[36] = ph[37] = ph[38] = 0;
  ph[39] = proto;
  return 40;
}

static void
assert_ip_valid (const guint8 *ip, gsize len)
{
  guint8 ph[40];
  gsize phl;
  guint iphl;
  guint8 proto;

  if ((ip[0] >> 4) == 4)
    {
      iphl = (ip[0] & 15) * 4u;
      g_assert_cmpuint (get16 (ip + 2), ==, len);
      g_assert_cmpuint (ref_checksum (ip, iphl, NULL, 0), ==, 0);
      proto = ip[9];
    }
  else
    {
      iphl = 40;
      g_assert_cmpuint (get16 (ip + 4) + 40u, ==, len);
      proto = ip[6];
    }
  phl = ref_pseudo (ip, proto, len - iphl, ph);
  /* A packet with a correct checksum sums to zero, pseudo header included. */
  g_assert_cmpuint (ref_checksum (ph, phl, ip + iphl, len - iphl), ==, 0);
  if (proto == IPPROTO_UDP)
    g_assert_cmpuint (get16 (ip + iphl + 4), ==, len - iphl);
}

/* Builds an IP + TCP/UDP packet of @payload bytes at @ip, checksums
 * complete. Returns its length. */
static gsize
build_packet (guint8 *ip, gboolean v6, guint8 proto, guint32 seq, guint8 flags,
              gsize payload, guint8 fill, guint16 sport)
{
  guint iphl = v6 ? 40 : 20;
  guint l4hl = proto == IPPROTO_TCP ? 32 : 8;   /* TCP with 12 bytes of options */
  gsize len = iphl + l4hl + payload;
  guint8 *l4 = ip + iphl;
  guint8 ph[40];
  gsize phl;
  guint16 c;

  memset (ip, 0, iphl + l4hl);
  if (v6)
    {
      ip[0] = 0x60;
      put16 (ip + 4, (guint16) (len - 40));
      ip[6] = proto;
      ip[7] = 64;
      ip[8] = 0xfd; ip[23] = 1;        /* fd00::1 */
      ip[24] = 0xfd; ip[39] = 2;       /* fd00::2 */
    }
  else
    {
      ip[0] = 0x45;
      put16 (ip + 2, (guint16) len);
      put16 (ip + 4, 0x1234);
      ip[6] = 0x40;                    /* DF */
      ip[8] = 64;
      ip[9] = proto;
      ip[12] = 100; ip[13] = 64; ip[15] = 1;
      ip[16] = 100; ip[17] = 64; ip[19] = 2;
      c = ref_checksum (ip, 20, NULL, 0);
      put16 (ip + 10, c);
    }
  put16 (l4, sport);
  put16 (l4 + 2, 5201);
  if (proto == IPPROTO_TCP)
    {
      put32 (l4 + 4, seq);
      put32 (l4 + 8, 0xabcdef01);
      l4[12] = 8 << 4;
      l4[13] = flags;
      put16 (l4 + 14, 512);
      l4[20] = 1; l4[21] = 1; l4[22] = 8; l4[23] = 10;   /* NOP NOP timestamps */
      put32 (l4 + 24, 7777);
      put32 (l4 + 28, 8888);
    }
  else
    put16 (l4 + 4, (guint16) (l4hl + payload));
  for (gsize i = 0; i < payload; i++)
    l4[l4hl + i] = (guint8) (fill + i * 7);
  phl = ref_pseudo (ip, proto, len - iphl, ph);
  c = ref_checksum (ph, phl, l4, len - iphl);
  put16 (l4 + (proto == IPPROTO_TCP ? 16 : 6), c);
  return len;
}

static void
test_csum_matches_reference (void)
{
  guint8 buf[1501];

  for (gsize i = 0; i < sizeof buf; i++)
    buf[i] = (guint8) g_test_rand_int ();
  for (gsize len = 0; len <= sizeof buf; len += 37)
    {
      guint16 mine = (guint16) ~nb_csum_fold (nb_csum_partial (buf, len, 0));
      guint16 ref = ref_checksum (buf, len, NULL, 0);
      guint8 stored[2];

      memcpy (stored, &mine, 2);
      g_assert_cmpuint (get16 (stored), ==, ref);
    }
}

/* A GSO frame as the kernel hands it: the whole payload after one header,
 * the transport checksum left partial. */
static gsize
build_gso_frame (guint8 *frame, gboolean v6, guint8 proto, gsize payload, guint16 mss,
                 guint8 tcp_flags)
{
  guint8 *ip = frame + NB_TUN_VNET_HDR_LEN;
  gsize len = build_packet (ip, v6, proto, 1000, tcp_flags, payload, 3, 40000);
  guint iphl = v6 ? 40 : 20;
  NbVnetHdr hdr = {
    .flags = NB_VNET_HDR_F_NEEDS_CSUM,
    .gso_type = proto == IPPROTO_UDP ? NB_VNET_HDR_GSO_UDP_L4
                : v6 ? NB_VNET_HDR_GSO_TCPV6 : NB_VNET_HDR_GSO_TCPV4,
    .hdr_len = (guint16) (iphl + (proto == IPPROTO_TCP ? 32 : 8)),
    .gso_size = mss,
    .csum_start = (guint16) iphl,
    .csum_offset = proto == IPPROTO_TCP ? 16 : 6,
  };

  /* The kernel leaves garbage-free but partial sums; spoil it to show we
   * compute each segment's from scratch. */
  ip[iphl + hdr.csum_offset] = 0x55;
  nb_vnet_hdr_encode (&hdr, frame);
  return len + NB_TUN_VNET_HDR_LEN;
}

static void
check_split (gboolean v6, guint8 proto)
{
  g_autofree Out *o = out_new ();
  g_autofree guint8 *frame = g_malloc (70000);
  guint iphl = v6 ? 40 : 20;
  guint hl = iphl + (proto == IPPROTO_TCP ? 32 : 8);
  gsize payload = 3500;
  gsize flen = build_gso_frame (frame, v6, proto, payload, 1200,
                                0x10 | 0x08 | 0x01);   /* ACK PSH FIN */
  const guint8 *orig = frame + NB_TUN_VNET_HDR_LEN;
  int n = nb_tun_offload_split (frame, flen, o->slots, o->lens, NB_TUN_MAX_SEGMENTS,
                                HEADROOM, TAILROOM, SLOT);

  g_assert_cmpint (n, ==, 3);
  for (int i = 0; i < n; i++)
    {
      const guint8 *ip = o->slots[i] + HEADROOM;
      gsize seg = i < 2 ? 1200 : 1100;

      g_assert_cmpuint (o->lens[i], ==, hl + seg);
      assert_ip_valid (ip, o->lens[i]);
      g_assert_cmpmem (ip + hl, seg, orig + hl + i * 1200, seg);
      if (!v6)
        g_assert_cmpuint (get16 (ip + 4), ==, 0x1234 + i);
      if (proto == IPPROTO_TCP)
        {
          g_assert_cmpuint (get32 (ip + iphl + 4), ==, 1000 + i * 1200);
          /* PSH and FIN only on the last segment. */
          g_assert_cmpuint (ip[iphl + 13], ==, i == 2 ? 0x19 : 0x10);
        }
    }
}

static void
test_split_tcp4 (void)
{
  check_split (FALSE, IPPROTO_TCP);
}

static void
test_split_tcp6 (void)
{
  check_split (TRUE, IPPROTO_TCP);
}

static void
test_split_udp4 (void)
{
  check_split (FALSE, IPPROTO_UDP);
}

static void
test_split_udp6 (void)
{
  check_split (TRUE, IPPROTO_UDP);
}

static void
test_split_plain_copied (void)
{
  g_autofree Out *o = out_new ();
  guint8 frame[2000] = { 0 };
  gsize len = build_packet (frame + NB_TUN_VNET_HDR_LEN, FALSE, IPPROTO_UDP, 0, 0, 100, 9, 53);
  int n = nb_tun_offload_split (frame, len + NB_TUN_VNET_HDR_LEN, o->slots, o->lens, 4,
                                HEADROOM, TAILROOM, SLOT);

  g_assert_cmpint (n, ==, 1);
  g_assert_cmpmem (o->slots[0] + HEADROOM, o->lens[0], frame + NB_TUN_VNET_HDR_LEN, len);
}

static void
test_split_needs_csum_finished (void)
{
  g_autofree Out *o = out_new ();
  guint8 frame[2000] = { 0 };
  guint8 *ip = frame + NB_TUN_VNET_HDR_LEN;
  gsize len = build_packet (ip, TRUE, IPPROTO_TCP, 5, 0x18, 333, 1, 22);
  NbVnetHdr hdr = { .flags = NB_VNET_HDR_F_NEEDS_CSUM, .csum_start = 40, .csum_offset = 16 };
  guint8 ph[40];
  gsize phl = ref_pseudo (ip, IPPROTO_TCP, len - 40, ph);
  guint16 pseudo = (guint16) ~ref_checksum (ph, phl, NULL, 0);
  int n;

  /* CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum. */
  put16 (ip + 40 + 16, pseudo);
  nb_vnet_hdr_encode (&hdr, frame);
  n = nb_tun_offload_split (frame, len + NB_TUN_VNET_HDR_LEN, o->slots, o->lens, 4,
                            HEADROOM, TAILROOM, SLOT);
  g_assert_cmpint (n, ==, 1);
  assert_ip_valid (o->slots[0] + HEADROOM, o->lens[0]);
}

static void
test_split_malformed_dropped (void)
{
  g_autofree Out *o = out_new ();
  g_autofree guint8 *frame = g_malloc0 (70000);
  gsize flen = build_gso_frame (frame, FALSE, IPPROTO_TCP, 3000, 1000, 0x10);
  NbVnetHdr hdr;

  /* Every truncation of a GSO frame, and headers that lie. */
  for (gsize cut = 0; cut < flen; cut += 7)
    {
      int n = nb_tun_offload_split (frame, cut, o->slots, o->lens, NB_TUN_MAX_SEGMENTS,
                                    HEADROOM, TAILROOM, SLOT);
      g_assert_cmpint (n, >=, 0);
      g_assert_cmpint (n, <=, 3);
    }

  nb_vnet_hdr_decode (frame, &hdr);
  hdr.csum_start = 60000;
  hdr.csum_offset = 60000;
  nb_vnet_hdr_encode (&hdr, frame);
  g_assert_cmpint (nb_tun_offload_split (frame, flen, o->slots, o->lens, NB_TUN_MAX_SEGMENTS,
                                         HEADROOM, TAILROOM, SLOT), <=, 3);
  hdr.gso_type = NB_VNET_HDR_GSO_UDP;     /* UFO: never asked for */
  nb_vnet_hdr_encode (&hdr, frame);
  g_assert_cmpint (nb_tun_offload_split (frame, flen, o->slots, o->lens, NB_TUN_MAX_SEGMENTS,
                                         HEADROOM, TAILROOM, SLOT), ==, 0);
  hdr.gso_type = NB_VNET_HDR_GSO_TCPV6;   /* disagrees with the IPv4 packet */
  nb_vnet_hdr_encode (&hdr, frame);
  g_assert_cmpint (nb_tun_offload_split (frame, flen, o->slots, o->lens, NB_TUN_MAX_SEGMENTS,
                                         HEADROOM, TAILROOM, SLOT), ==, 0);
  frame[NB_TUN_VNET_HDR_LEN] = 0x75;      /* IP version 7 */
  hdr.gso_type = NB_VNET_HDR_GSO_TCPV4;
  nb_vnet_hdr_encode (&hdr, frame);
  g_assert_cmpint (nb_tun_offload_split (frame, flen, o->slots, o->lens, NB_TUN_MAX_SEGMENTS,
                                         HEADROOM, TAILROOM, SLOT), ==, 0);

  /* Random bytes never crash it. */
  for (guint round = 0; round < 2000; round++)
    {
      gsize len = g_test_rand_int_range (0, 300);

      for (gsize i = 0; i < len; i++)
        frame[i] = (guint8) g_test_rand_int ();
      if (round & 1)
        frame[1] = (guint8) g_test_rand_int_range (0, 6);
      g_assert_cmpint (nb_tun_offload_split (frame, len, o->slots, o->lens, NB_TUN_MAX_SEGMENTS,
                                             HEADROOM, TAILROOM, SLOT), >=, 0);
    }
}

static void
test_split_oversized_segment_dropped (void)
{
  g_autofree Out *o = out_new ();
  g_autofree guint8 *frame = g_malloc0 (70000);
  gsize flen = build_gso_frame (frame, FALSE, IPPROTO_TCP, 9000, 3000, 0x10);

  /* 3000-byte segments do not fit 2048-byte slots. */
  g_assert_cmpint (nb_tun_offload_split (frame, flen, o->slots, o->lens, NB_TUN_MAX_SEGMENTS,
                                         HEADROOM, TAILROOM, SLOT), ==, 0);
  /* Fewer slots than segments: the first ones come out. */
  flen = build_gso_frame (frame, FALSE, IPPROTO_TCP, 9000, 1000, 0x10);
  g_assert_cmpint (nb_tun_offload_split (frame, flen, o->slots, o->lens, 4,
                                         HEADROOM, TAILROOM, SLOT), ==, 4);
}

/* ---- coalescing ---- */

typedef struct
{
  guint8 *pkts[64];
  gsize lens[64];
  guint8 *bufs[64];
  guint n;
} Batch;

static void
batch_add (Batch *b, gboolean v6, guint32 seq, guint8 flags, gsize payload, guint16 sport)
{
  guint8 *buf = g_malloc0 (SLOT);

  b->bufs[b->n] = buf;
  b->pkts[b->n] = buf + HEADROOM;
  b->lens[b->n] = build_packet (buf + HEADROOM, v6, IPPROTO_TCP, seq, flags, payload,
                                (guint8) seq, sport);
  b->n++;
}

static void
batch_free (Batch *b)
{
  for (guint i = 0; i < b->n; i++)
    g_free (b->bufs[i]);
}

/* Builds the frame nb_tun_write_packets() would write for group @g. */
static gsize
group_frame (Batch *b, const NbTunGroup *g, const guint *next, guint8 *frame)
{
  gsize off = NB_TUN_VNET_HDR_LEN + b->lens[g->first];

  nb_tun_offload_finish_group (b->pkts, b->lens, g);
  memcpy (frame, b->pkts[g->first] - NB_TUN_VNET_HDR_LEN, off);
  for (guint i = next[g->first]; i != G_MAXUINT; i = next[i])
    {
      memcpy (frame + off, b->pkts[i] + g->hdr_len, b->lens[i] - g->hdr_len);
      off += b->lens[i] - g->hdr_len;
    }
  return off;
}

static void
check_coalesce_roundtrip (gboolean v6)
{
  Batch b = { 0 };
  NbTunGroup groups[64];
  guint next[64];
  g_autofree guint8 *frame = g_malloc (70000);
  g_autofree Out *o = out_new ();
  g_autofree guint8 *copy = g_malloc (4 * SLOT);
  gsize flen;
  guint n;
  int segs;

  batch_add (&b, v6, 100, 0x10, 1000, 40000);
  batch_add (&b, v6, 1100, 0x10, 1000, 40000);
  batch_add (&b, v6, 2100, 0x10, 1000, 40000);
  batch_add (&b, v6, 3100, 0x18, 500, 40000);    /* PSH, shorter: the last */
  for (guint i = 0; i < 4; i++)
    memcpy (copy + i * SLOT, b.pkts[i], b.lens[i]);

  n = nb_tun_offload_coalesce (b.pkts, b.lens, b.n, groups, next);
  g_assert_cmpuint (n, ==, 1);
  g_assert_cmpuint (groups[0].count, ==, 4);

  /* Cut up again the way the kernel's GSO would, it gives back the very
   * packets that went in. */
  flen = group_frame (&b, &groups[0], next, frame);
  {
    NbVnetHdr hdr;

    nb_vnet_hdr_decode (frame, &hdr);
    g_assert_cmpuint (hdr.gso_type, ==, v6 ? NB_VNET_HDR_GSO_TCPV6 : NB_VNET_HDR_GSO_TCPV4);
    g_assert_cmpuint (hdr.gso_size, ==, 1000);
    g_assert_cmpuint (hdr.flags, ==, NB_VNET_HDR_F_NEEDS_CSUM);
    g_assert_cmpuint (flen, ==, NB_TUN_VNET_HDR_LEN + (v6 ? 40 : 20) + 32 + 3500);
  }
  segs = nb_tun_offload_split (frame, flen, o->slots, o->lens, NB_TUN_MAX_SEGMENTS,
                               HEADROOM, TAILROOM, SLOT);
  g_assert_cmpint (segs, ==, 4);
  for (guint i = 0; i < 4; i++)
    {
      guint8 *orig = copy + i * SLOT;

      if (!v6)
        put16 (orig + 4, (guint16) (0x1234 + i));   /* GSO numbers the IDs */
      if (!v6)
        {
          orig[10] = orig[11] = 0;
          put16 (orig + 10, ref_checksum (orig, 20, NULL, 0));
        }
      g_assert_cmpmem (o->slots[i] + HEADROOM, o->lens[i], orig, b.lens[i]);
    }
  batch_free (&b);
}

static void
test_coalesce_tcp4 (void)
{
  check_coalesce_roundtrip (FALSE);
}

static void
test_coalesce_tcp6 (void)
{
  check_coalesce_roundtrip (TRUE);
}

static void
test_coalesce_gap_splits (void)
{
  Batch b = { 0 };
  NbTunGroup groups[64];
  guint next[64];
  guint n;

  batch_add (&b, FALSE, 100, 0x10, 1000, 40000);
  batch_add (&b, FALSE, 1100, 0x10, 1000, 40000);
  batch_add (&b, FALSE, 9999, 0x10, 1000, 40000);   /* a hole before it */
  batch_add (&b, FALSE, 10999, 0x10, 1000, 40000);
  n = nb_tun_offload_coalesce (b.pkts, b.lens, b.n, groups, next);
  g_assert_cmpuint (n, ==, 2);
  g_assert_cmpuint (groups[0].count, ==, 2);
  g_assert_cmpuint (groups[1].first, ==, 2);
  g_assert_cmpuint (groups[1].count, ==, 2);
  batch_free (&b);
}

static void
test_coalesce_interleaved_flows (void)
{
  Batch b = { 0 };
  NbTunGroup groups[64];
  guint next[64];
  guint n;

  for (guint i = 0; i < 3; i++)
    {
      batch_add (&b, FALSE, 100 + i * 1000, 0x10, 1000, 40000);
      batch_add (&b, FALSE, 5000 + i * 1000, 0x10, 1000, 40001);
    }
  n = nb_tun_offload_coalesce (b.pkts, b.lens, b.n, groups, next);
  g_assert_cmpuint (n, ==, 2);
  g_assert_cmpuint (groups[0].first, ==, 0);
  g_assert_cmpuint (groups[0].count, ==, 3);
  g_assert_cmpuint (next[0], ==, 2);
  g_assert_cmpuint (next[2], ==, 4);
  g_assert_cmpuint (groups[1].first, ==, 1);
  g_assert_cmpuint (groups[1].count, ==, 3);
  batch_free (&b);
}

static void
test_coalesce_control_alone (void)
{
  Batch b = { 0 };
  NbTunGroup groups[64];
  guint next[64];
  g_autofree guint8 *frame = g_malloc (70000);
  NbVnetHdr hdr;
  guint n;

  batch_add (&b, FALSE, 100, 0x10, 1000, 40000);
  batch_add (&b, FALSE, 1100, 0x11, 1000, 40000);   /* FIN */
  batch_add (&b, FALSE, 2100, 0x10, 1000, 40000);   /* must not jump before the FIN */
  batch_add (&b, FALSE, 3100, 0x18, 1000, 40000);   /* PSH ends a frame */
  batch_add (&b, FALSE, 4100, 0x10, 1000, 40000);
  n = nb_tun_offload_coalesce (b.pkts, b.lens, b.n, groups, next);
  g_assert_cmpuint (n, ==, 4);
  g_assert_cmpuint (groups[0].count, ==, 1);
  g_assert_cmpuint (groups[1].first, ==, 1);
  g_assert_cmpuint (groups[2].first, ==, 2);
  g_assert_cmpuint (groups[2].count, ==, 2);
  g_assert_cmpuint (groups[3].first, ==, 4);

  /* A lone packet goes out with an empty virtio-net header, untouched. */
  group_frame (&b, &groups[1], next, frame);
  nb_vnet_hdr_decode (frame, &hdr);
  g_assert_cmpuint (hdr.gso_type, ==, NB_VNET_HDR_GSO_NONE);
  g_assert_cmpuint (hdr.flags, ==, 0);
  assert_ip_valid (frame + NB_TUN_VNET_HDR_LEN, b.lens[1]);
  batch_free (&b);
}

static void
test_coalesce_unparsed_tcp_closes_flows (void)
{
  Batch b = { 0 };
  NbTunGroup groups[64];
  guint next[64];
  guint n;

  batch_add (&b, FALSE, 100, 0x10, 1000, 40000);
  batch_add (&b, FALSE, 1100, 0x10, 1000, 40000);
  /* The same flow with IP options: not merged, and what follows it must
   * not be merged into the group before it. */
  batch_add (&b, FALSE, 2100, 0x10, 1000, 40000);
  b.pkts[2][0] = 0x46;
  batch_add (&b, FALSE, 3100, 0x10, 1000, 40000);
  n = nb_tun_offload_coalesce (b.pkts, b.lens, b.n, groups, next);
  g_assert_cmpuint (n, ==, 3);
  g_assert_cmpuint (groups[0].count, ==, 2);
  g_assert_cmpuint (groups[1].first, ==, 2);
  g_assert_cmpuint (groups[2].first, ==, 3);
  batch_free (&b);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/netif/csum/matches-reference", test_csum_matches_reference);
  g_test_add_func ("/netif/offload/split-tcp4", test_split_tcp4);
  g_test_add_func ("/netif/offload/split-tcp6", test_split_tcp6);
  g_test_add_func ("/netif/offload/split-udp4", test_split_udp4);
  g_test_add_func ("/netif/offload/split-udp6", test_split_udp6);
  g_test_add_func ("/netif/offload/split-plain-copied", test_split_plain_copied);
  g_test_add_func ("/netif/offload/split-needs-csum-finished", test_split_needs_csum_finished);
  g_test_add_func ("/netif/offload/split-malformed-dropped", test_split_malformed_dropped);
  g_test_add_func ("/netif/offload/split-oversized-segment-dropped", test_split_oversized_segment_dropped);
  g_test_add_func ("/netif/offload/coalesce-tcp4", test_coalesce_tcp4);
  g_test_add_func ("/netif/offload/coalesce-tcp6", test_coalesce_tcp6);
  g_test_add_func ("/netif/offload/coalesce-gap-splits", test_coalesce_gap_splits);
  g_test_add_func ("/netif/offload/coalesce-interleaved-flows", test_coalesce_interleaved_flows);
  g_test_add_func ("/netif/offload/coalesce-control-alone", test_coalesce_control_alone);
  g_test_add_func ("/netif/offload/coalesce-unparsed-tcp-closes-flows",
                   test_coalesce_unparsed_tcp_closes_flows);

  return g_test_run ();
}
