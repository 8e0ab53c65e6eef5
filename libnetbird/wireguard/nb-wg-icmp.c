/* nb-wg-icmp.c: "destination unreachable" for packets no peer takes
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-wg"

#include <string.h>

#include "nb-tun-offload-private.h"
#include "nb-wg-icmp.h"

#define IPV4_HEADER_LEN 20
#define IPV6_HEADER_LEN 40
#define ICMP_HEADER_LEN 8
/* RFC 1812 §4.3.2.3: an IPv4 error quotes as much as fits in 576 bytes. */
#define IPV4_ERROR_MAX 576

#define PROTO_ICMP 1
#define PROTO_ICMPV6 58
#define ICMP_DEST_UNREACH 3
#define ICMP_HOST_UNREACH 1
#define ICMPV6_DEST_UNREACH 1
#define ICMPV6_ADDR_UNREACH 3

#define RATE_PER_SECOND 100
#define RATE_BURST 10

static inline guint16
be16 (const guint8 *p)
{
  return (guint16) (p[0] << 8 | p[1]);
}

static inline void
put_be16 (guint8 *p, guint16 v)
{
  p[0] = v >> 8;
  p[1] = v & 0xff;
}

static inline void
store_checksum (guint8 *p, guint64 sum)
{
  guint16 folded = ~nb_csum_fold (sum);

  memcpy (p, &folded, 2);
}

/* Multicast, limited broadcast or "this network": never the subject or
 * the target of an error. */
static gboolean
ipv4_is_special (const guint8 *a)
{
  return a[0] >= 224 || a[0] == 0;
}

static gsize
build_ipv4 (const guint8 *packet, gsize len, guint8 *out)
{
  gsize ihl = (gsize) (packet[0] & 0x0f) * 4;
  gsize total = be16 (packet + 2);
  gsize quote;
  guint8 *icmp;

  if (ihl < IPV4_HEADER_LEN || total < ihl || total > len)
    return 0;
  len = total;
  if ((be16 (packet + 6) & 0x1fff) != 0)
    return 0;                                   /* not the first fragment */
  if (ipv4_is_special (packet + 12) || ipv4_is_special (packet + 16))
    return 0;
  if (packet[9] == PROTO_ICMP)
    {
      guint8 type;

      if (len < ihl + 1)
        return 0;
      type = packet[ihl];
      /* Errors (and unknown types, to be safe) get no error back. */
      if (type != 0 && type != 8 && type != 13 && type != 14)
        return 0;
    }

  quote = MIN (len, (gsize) IPV4_ERROR_MAX - IPV4_HEADER_LEN - ICMP_HEADER_LEN);
  memset (out, 0, IPV4_HEADER_LEN + ICMP_HEADER_LEN);
  out[0] = 0x45;
  out[1] = 0xc0;                                /* internetwork control */
  put_be16 (out + 2, (guint16) (IPV4_HEADER_LEN + ICMP_HEADER_LEN + quote));
  out[8] = 64;
  out[9] = PROTO_ICMP;
  memcpy (out + 12, packet + 16, 4);            /* from the unreachable address */
  memcpy (out + 16, packet + 12, 4);
  store_checksum (out + 10, nb_csum_partial (out, IPV4_HEADER_LEN, 0));

  icmp = out + IPV4_HEADER_LEN;
  icmp[0] = ICMP_DEST_UNREACH;
  icmp[1] = ICMP_HOST_UNREACH;
  memcpy (icmp + ICMP_HEADER_LEN, packet, quote);
  store_checksum (icmp + 2, nb_csum_partial (icmp, ICMP_HEADER_LEN + quote, 0));
  return IPV4_HEADER_LEN + ICMP_HEADER_LEN + quote;
}

static gboolean
ipv6_is_unspecified (const guint8 *a)
{
  static const guint8 zero[16];

  return memcmp (a, zero, 16) == 0;
}

static gsize
build_ipv6 (const guint8 *packet, gsize len, guint8 *out)
{
  gsize total = IPV6_HEADER_LEN + be16 (packet + 4);
  gsize quote;
  guint8 *icmp;

  if (total > len)
    return 0;
  len = total;
  if (packet[8] == 0xff || ipv6_is_unspecified (packet + 8) || packet[24] == 0xff)
    return 0;
  if (packet[6] == PROTO_ICMPV6)
    {
      if (len < IPV6_HEADER_LEN + 1 || packet[IPV6_HEADER_LEN] < 128)
        return 0;                               /* an error message */
    }

  quote = MIN (len, (gsize) NB_WG_ICMP_ERROR_MAX - IPV6_HEADER_LEN - ICMP_HEADER_LEN);
  memset (out, 0, IPV6_HEADER_LEN + ICMP_HEADER_LEN);
  out[0] = 0x60;
  put_be16 (out + 4, (guint16) (ICMP_HEADER_LEN + quote));
  out[6] = PROTO_ICMPV6;
  out[7] = 64;
  memcpy (out + 8, packet + 24, 16);            /* from the unreachable address */
  memcpy (out + 24, packet + 8, 16);

  icmp = out + IPV6_HEADER_LEN;
  icmp[0] = ICMPV6_DEST_UNREACH;
  icmp[1] = ICMPV6_ADDR_UNREACH;
  memcpy (icmp + ICMP_HEADER_LEN, packet, quote);
  store_checksum (icmp + 2,
                  nb_csum_partial (icmp, ICMP_HEADER_LEN + quote,
                                   nb_csum_pseudo (out, PROTO_ICMPV6, ICMP_HEADER_LEN + quote)));
  return IPV6_HEADER_LEN + ICMP_HEADER_LEN + quote;
}

gsize
nb_wg_icmp_build_unreachable (const guint8 *packet,
                              gsize         len,
                              guint8       *out)
{
  if (len >= IPV4_HEADER_LEN && (packet[0] >> 4) == 4)
    return build_ipv4 (packet, len, out);
  if (len >= IPV6_HEADER_LEN && (packet[0] >> 4) == 6)
    return build_ipv6 (packet, len, out);
  return 0;
}

gboolean
nb_wg_icmp_rate_allow (NbWgIcmpRate *rate,
                       gint64        now)
{
  gint64 step = G_USEC_PER_SEC / RATE_PER_SECOND;

  if (rate->updated == 0)
    {
      rate->updated = now;
      rate->tokens = RATE_BURST;
    }
  else if (now - rate->updated >= step)
    {
      gint64 earned = (now - rate->updated) / step;

      rate->tokens = (guint) MIN ((gint64) RATE_BURST, rate->tokens + earned);
      rate->updated += earned * step;
    }
  if (rate->tokens == 0)
    return FALSE;
  rate->tokens--;
  return TRUE;
}

void
nb_wg_icmp_rate_return (NbWgIcmpRate *rate)
{
  rate->tokens = MIN (rate->tokens + 1, (guint) RATE_BURST);
}
