/* nb-filter-packet-private.h: what the packet filter reads of an IP packet
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * A parser that trusts no length it reads: the IP header's own lengths are
 * checked against the buffer, IPv6 extension headers are walked with a
 * bound, and a transport header that does not fit is "malformed", never
 * read past. It copies nothing: addresses point into the packet.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  NB_FILTER_PARSE_OK,
  NB_FILTER_PARSE_MALFORMED, /* truncated or inconsistent headers */
  NB_FILTER_PARSE_FRAGMENT,  /* a fragment after the first: no transport header */
} NbFilterParseResult;

/* ICMP types the filter tells apart (ICMPv4 and ICMPv6 folded together). */
typedef enum {
  NB_FILTER_ICMP_OTHER,
  NB_FILTER_ICMP_ECHO_REQUEST,
  NB_FILTER_ICMP_ECHO_REPLY,
  NB_FILTER_ICMP_ERROR,      /* unreachable, time exceeded, parameter problem, too big */
} NbFilterIcmpKind;

/* The transport header of the packet an ICMP error quotes (RFC 792: the IP
 * header and at least 8 bytes of what followed; RFC 4443 §3). */
typedef struct {
  gboolean present;          /* FALSE: not quoted far enough to name a flow */
  guint8 protocol;
  const guint8 *source;
  const guint8 *destination;
  guint16 source_port;       /* for a quoted echo: its identifier */
  guint16 destination_port;
  NbFilterIcmpKind icmp_kind;
} NbFilterQuoted;

typedef struct {
  guint8 family;             /* 4 or 6 */
  guint8 protocol;           /* IP protocol number, after IPv6 extension headers */
  guint8 address_len;        /* 4 or 16 */
  const guint8 *source;
  const guint8 *destination;
  guint16 source_port;       /* TCP, UDP; an ICMP echo's identifier */
  guint16 destination_port;
  guint8 tcp_flags;
  NbFilterIcmpKind icmp_kind;
  NbFilterQuoted quoted;     /* for NB_FILTER_ICMP_ERROR */
} NbFilterPacket;

/* TCP flags (RFC 9293 §3.1). */
#define NB_FILTER_TCP_FIN 0x01
#define NB_FILTER_TCP_SYN 0x02
#define NB_FILTER_TCP_RST 0x04
#define NB_FILTER_TCP_ACK 0x10

#define NB_FILTER_PROTO_ICMP 1
#define NB_FILTER_PROTO_TCP 6
#define NB_FILTER_PROTO_UDP 17
#define NB_FILTER_PROTO_ICMPV6 58

/* Parses @len bytes of an IPv4 or IPv6 packet into @out. On MALFORMED @out
 * is undefined; on FRAGMENT only the family, addresses and protocol are
 * set. */
NbFilterParseResult nb_filter_packet_parse (const guint8   *packet,
                                            gsize           len,
                                            NbFilterPacket *out);

G_END_DECLS
