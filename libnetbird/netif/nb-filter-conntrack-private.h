/* nb-filter-conntrack-private.h: the connections this host opened
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * A fixed table, allocated once: buckets of NB_FILTER_CONNTRACK_WAYS
 * entries, each bucket under one of a set of striped locks taken for a few
 * compares. An outbound packet creates or refreshes its flow's entry; an
 * inbound packet passes when it is the reply of one. A full bucket takes a
 * new flow in place of its expired entries first, else of the one closest
 * to expiry (counted as an eviction). Time is the caller's (monotonic µs),
 * so tests drive it.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define NB_FILTER_CONNTRACK_WAYS 4
/* Entries when the caller asks for 0. */
#define NB_FILTER_CONNTRACK_DEFAULT_CAPACITY 65536

/* Timeouts in seconds, the Linux defaults (nf_conntrack_tcp_timeout_*,
 * nf_conntrack_udp_timeout{,_stream}, nf_conntrack_icmp_timeout). */
#define NB_FILTER_TIMEOUT_TCP_SYN_SENT 120
#define NB_FILTER_TIMEOUT_TCP_ESTABLISHED (5 * 24 * 3600)
#define NB_FILTER_TIMEOUT_TCP_CLOSING 120 /* FIN seen: fin_wait and time_wait */
#define NB_FILTER_TIMEOUT_TCP_CLOSE 10    /* RST seen */
#define NB_FILTER_TIMEOUT_UDP 30
#define NB_FILTER_TIMEOUT_UDP_STREAM 120  /* replied to */
#define NB_FILTER_TIMEOUT_ICMP 30

/* A flow as this host sees it: its own address and port first. For an
 * ICMP echo both ports are the echo identifier. Addresses of IPv4 flows
 * fill the first 4 bytes, the rest zero. */
typedef struct {
  guint8 local[16];
  guint8 remote[16];
  guint16 local_port;
  guint16 remote_port;
  guint8 protocol;
  guint8 family;
  guint8 pad[2];
} NbFilterFlowKey;

typedef struct _NbFilterConntrack NbFilterConntrack;

typedef enum {
  NB_FILTER_CONNTRACK_CREATED,
  NB_FILTER_CONNTRACK_EVICTED,  /* a live entry given up for a new flow */
  NB_FILTER_CONNTRACK_N_COUNTERS
} NbFilterConntrackCounter;

/* @capacity entries, rounded up to a power of two (0: the default). */
NbFilterConntrack *nb_filter_conntrack_new  (guint              capacity);
void               nb_filter_conntrack_free (NbFilterConntrack *conntrack);
guint              nb_filter_conntrack_get_capacity (NbFilterConntrack *conntrack);

/* An outbound packet of @key (TCP flags for TCP, else 0). @create: whether
 * a flow without an entry gets one (FALSE: only refresh). */
void     nb_filter_conntrack_outbound (NbFilterConntrack     *conntrack,
                                       const NbFilterFlowKey *key,
                                       guint8                 tcp_flags,
                                       gboolean               create,
                                       gint64                 now);
/* An inbound packet whose flow, seen from here, is @key: TRUE when it is
 * the reply of a live entry (which it then refreshes and moves on). */
gboolean nb_filter_conntrack_inbound  (NbFilterConntrack     *conntrack,
                                       const NbFilterFlowKey *key,
                                       guint8                 tcp_flags,
                                       gint64                 now);
/* Whether @key has a live entry, changing nothing (ICMP errors). */
gboolean nb_filter_conntrack_contains (NbFilterConntrack     *conntrack,
                                       const NbFilterFlowKey *key,
                                       gint64                 now);
/* Live entries at @now (walks the table: for statistics). */
guint    nb_filter_conntrack_count_live (NbFilterConntrack *conntrack,
                                         gint64             now);
guint64  nb_filter_conntrack_get_counter (NbFilterConntrack       *conntrack,
                                          NbFilterConntrackCounter counter);

G_END_DECLS
