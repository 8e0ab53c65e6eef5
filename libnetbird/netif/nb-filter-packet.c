/* nb-filter-packet.c: the packet filter's view of an IP packet
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * RFC 791 (IPv4), RFC 8200 (IPv6 and its extension headers), RFC 9293
 * (TCP), RFC 768 (UDP), RFC 792 and RFC 4443 (ICMP and ICMPv6). Only what
 * the filter decides on is read: addresses, protocol, ports, TCP flags,
 * ICMP type, and the flow an ICMP error quotes.
 */
#include <string.h>

#include "nb-filter-packet-private.h"

/* Extension headers walked before giving up: more than any sane packet has. */
#define MAX_EXTENSION_HEADERS 8

#define IPV6_HOP_BY_HOP 0
#define IPV6_ROUTING 43
#define IPV6_FRAGMENT 44
#define IPV6_AH 51
#define IPV6_DESTINATION 60

static inline guint16
read16 (const guint8 *p)
{
  return (guint16) (((guint) p[0] << 8) | p[1]);
}

static NbFilterIcmpKind
icmp_kind (guint8 family, guint8 type)
{
  if (family == 4)
    switch (type)
      {
      case 8: return NB_FILTER_ICMP_ECHO_REQUEST;
      case 0: return NB_FILTER_ICMP_ECHO_REPLY;
      case 3: case 11: case 12: return NB_FILTER_ICMP_ERROR;
      default: return NB_FILTER_ICMP_OTHER;
      }
  switch (type)
    {
    case 128: return NB_FILTER_ICMP_ECHO_REQUEST;
    case 129: return NB_FILTER_ICMP_ECHO_REPLY;
    case 1: case 2: case 3: case 4: return NB_FILTER_ICMP_ERROR;
    default: return NB_FILTER_ICMP_OTHER;
    }
}

/* Ports (or the echo identifier) of a transport header with @avail bytes
 * present. FALSE when too short for what the filter needs. @full asks for
 * the whole fixed header (a packet of ours), not only the 8 bytes an ICMP
 * error is sure to quote. */
static gboolean
transport_ports (guint8 family, guint8 protocol, const guint8 *l4, gsize avail, gboolean full,
                 guint16 *source_port, guint16 *destination_port, guint8 *tcp_flags,
                 NbFilterIcmpKind *kind)
{
  *source_port = *destination_port = 0;
  *tcp_flags = 0;
  *kind = NB_FILTER_ICMP_OTHER;
  switch (protocol)
    {
    case NB_FILTER_PROTO_TCP:
      if (avail < (full ? 20u : 8u))
        return FALSE;
      *source_port = read16 (l4);
      *destination_port = read16 (l4 + 2);
      if (full)
        {
          /* The data offset must cover the fixed header and fit. */
          gsize offset = (gsize) (l4[12] >> 4) * 4;
          if (offset < 20 || offset > avail)
            return FALSE;
          *tcp_flags = l4[13];
        }
      return TRUE;
    case NB_FILTER_PROTO_UDP:
      if (avail < 8)
        return FALSE;
      *source_port = read16 (l4);
      *destination_port = read16 (l4 + 2);
      return TRUE;
    case NB_FILTER_PROTO_ICMP:
    case NB_FILTER_PROTO_ICMPV6:
      if ((protocol == NB_FILTER_PROTO_ICMP) != (family == 4))
        return TRUE; /* ICMPv6 in IPv4 or the reverse: an unknown protocol */
      if (avail < 8)
        return FALSE;
      *kind = icmp_kind (family, l4[0]);
      if (*kind == NB_FILTER_ICMP_ECHO_REQUEST || *kind == NB_FILTER_ICMP_ECHO_REPLY)
        *source_port = *destination_port = read16 (l4 + 4);
      return TRUE;
    default:
      return TRUE;
    }
}

/* The IP header an ICMP error quotes at @p (@avail bytes): best effort,
 * `present` stays FALSE when it names no flow. */
static void
parse_quoted (guint8 family, const guint8 *p, gsize avail, NbFilterQuoted *out)
{
  gsize header_len;
  guint8 flags;

  memset (out, 0, sizeof *out);
  if (family == 4)
    {
      if (avail < 20 || (p[0] >> 4) != 4)
        return;
      header_len = (gsize) (p[0] & 0x0f) * 4;
      if (header_len < 20 || header_len > avail)
        return;
      if ((read16 (p + 6) & 0x1fff) != 0)
        return;
      out->protocol = p[9];
      out->source = p + 12;
      out->destination = p + 16;
    }
  else
    {
      if (avail < 40 || (p[0] >> 4) != 6)
        return;
      /* Extension headers in a quote are not walked: flows we track carry
       * none. */
      header_len = 40;
      out->protocol = p[6];
      out->source = p + 8;
      out->destination = p + 24;
    }
  if (out->protocol != NB_FILTER_PROTO_TCP && out->protocol != NB_FILTER_PROTO_UDP &&
      out->protocol != (family == 4 ? NB_FILTER_PROTO_ICMP : NB_FILTER_PROTO_ICMPV6))
    return;
  out->present = transport_ports (family, out->protocol, p + header_len, avail - header_len,
                                  FALSE, &out->source_port, &out->destination_port, &flags,
                                  &out->icmp_kind);
}

static NbFilterParseResult
parse_transport (NbFilterPacket *out, const guint8 *l4, gsize avail)
{
  if (!transport_ports (out->family, out->protocol, l4, avail, TRUE, &out->source_port,
                        &out->destination_port, &out->tcp_flags, &out->icmp_kind))
    return NB_FILTER_PARSE_MALFORMED;
  if (out->icmp_kind == NB_FILTER_ICMP_ERROR)
    parse_quoted (out->family, l4 + 8, avail - 8, &out->quoted);
  else
    out->quoted.present = FALSE;
  return NB_FILTER_PARSE_OK;
}

static NbFilterParseResult
parse_ipv4 (const guint8 *packet, gsize len, NbFilterPacket *out)
{
  gsize header_len = (gsize) (packet[0] & 0x0f) * 4;
  gsize total = read16 (packet + 2);

  if (header_len < 20 || total < header_len || total > len)
    return NB_FILTER_PARSE_MALFORMED;
  out->family = 4;
  out->address_len = 4;
  out->protocol = packet[9];
  out->source = packet + 12;
  out->destination = packet + 16;
  /* A fragment after the first carries no transport header (RFC 791). */
  if ((read16 (packet + 6) & 0x1fff) != 0)
    return NB_FILTER_PARSE_FRAGMENT;
  return parse_transport (out, packet + header_len, total - header_len);
}

static NbFilterParseResult
parse_ipv6 (const guint8 *packet, gsize len, NbFilterPacket *out)
{
  gsize total = 40 + (gsize) read16 (packet + 4);
  gsize offset = 40;
  guint8 next = packet[6];

  if (total > len)
    return NB_FILTER_PARSE_MALFORMED;
  out->family = 6;
  out->address_len = 16;
  out->source = packet + 8;
  out->destination = packet + 24;

  /* RFC 8200 §4: the extension headers before the upper layer. */
  for (guint i = 0;; i++)
    {
      gsize ext_len;

      if (next != IPV6_HOP_BY_HOP && next != IPV6_ROUTING && next != IPV6_FRAGMENT &&
          next != IPV6_AH && next != IPV6_DESTINATION)
        break;
      if (i == MAX_EXTENSION_HEADERS || total - offset < 8)
        return NB_FILTER_PARSE_MALFORMED;
      if (next == IPV6_FRAGMENT)
        {
          ext_len = 8;
          if ((read16 (packet + offset + 2) & 0xfff8) != 0)
            {
              out->protocol = packet[offset];
              return NB_FILTER_PARSE_FRAGMENT;
            }
        }
      else if (next == IPV6_AH)
        ext_len = ((gsize) packet[offset + 1] + 2) * 4; /* RFC 4302 §2.2 */
      else
        ext_len = ((gsize) packet[offset + 1] + 1) * 8;
      if (ext_len > total - offset)
        return NB_FILTER_PARSE_MALFORMED;
      next = packet[offset];
      offset += ext_len;
    }
  out->protocol = next;
  return parse_transport (out, packet + offset, total - offset);
}

NbFilterParseResult
nb_filter_packet_parse (const guint8   *packet,
                        gsize           len,
                        NbFilterPacket *out)
{
  if (len >= 20 && (packet[0] >> 4) == 4)
    return parse_ipv4 (packet, len, out);
  if (len >= 40 && (packet[0] >> 4) == 6)
    return parse_ipv6 (packet, len, out);
  return NB_FILTER_PARSE_MALFORMED;
}
