/* nb-wg-icmp.h: "destination unreachable" for packets no peer takes
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * Linux's WireGuard answers a packet whose destination is in no peer's
 * allowed IPs with an ICMP (or ICMPv6) destination-unreachable, so that
 * applications fail at once instead of timing out. The device does the
 * same by writing the error back into its TUN. The error comes from the
 * unreachable address itself: the kernel drops packets that arrive on an
 * interface with one of its own addresses as the source.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The longest error built: the IPv6 minimum MTU (RFC 4443 §2.4). IPv4
 * errors stop at 576 bytes (RFC 1812 §4.3.2.3). */
#define NB_WG_ICMP_ERROR_MAX 1280

/* A token bucket of errors, one per TUN reader thread. */
typedef struct {
  gint64 updated;   /* µs */
  guint tokens;
} NbWgIcmpRate;

/* Builds into @out the destination-unreachable error for the IP packet
 * @packet of @len bytes: host unreachable for IPv4, address unreachable for
 * IPv6. Returns its length, or 0 where no error may be sent (RFC 1122
 * §3.2.2, RFC 4443 §2.4 (e)): an ICMP error itself, a fragment other than
 * the first, a multicast or broadcast destination, an unspecified,
 * multicast or broadcast source, or a malformed packet. */
gsize    nb_wg_icmp_build_unreachable (const guint8 *packet,
                                       gsize         len,
                                       guint8       *out);
/* Whether one more error may go at @now (100 a second, bursts of 10). */
gboolean nb_wg_icmp_rate_allow        (NbWgIcmpRate *rate,
                                       gint64        now);
/* Gives back what nb_wg_icmp_rate_allow() took, for an error not sent. */
void     nb_wg_icmp_rate_return       (NbWgIcmpRate *rate);

G_END_DECLS
