/* nb-dns-private.h: the client's DNS resolver (zone + forwarder)
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * Private to libnetbird: the client engine drives it from the network map and
 * the host configuration; nothing outside the library needs a DNS server
 * object, and keeping it out of the GIR leaves us free to change it (and its
 * ldns dependency stays out of the public headers).
 */
#pragma once

#if !defined(NB_COMPILATION)
#error "nb-dns-private.h is internal to libnetbird."
#endif

#include <gio/gio.h>
#include <ldns/ldns.h>

#include "nb-mgmt-proto-private.h"

G_BEGIN_DECLS

/* TTL of every answer the resolver makes from the zone, in seconds. NetBird
 * puts 300 in the records Management sends; we ignore it for the account
 * zone: a peer removed from the map must stop resolving quickly, and the
 * resolver answers from memory in the tunnel, so a short TTL costs nothing.
 * Custom records keep their own TTL, capped at this value. */
#define NB_DNS_ZONE_TTL 5

#define NB_DNS_ERROR (nb_dns_error_quark ())
GQuark nb_dns_error_quark (void);

typedef enum {
  NB_DNS_ERROR_INVALID,   /* a record, zone or address that does not parse */
  NB_DNS_ERROR_LISTEN,    /* cannot bind the address */
} NbDnsError;

/* ------------------------------------------------------------------------
 * NbDnsZone (nb-dns-zone.c): an immutable snapshot of the names this peer
 * answers for. Reference counted and thread safe once built: the resolver
 * thread takes a reference per lookup batch and the engine swaps a new one in.
 */
typedef struct _NbDnsZone NbDnsZone;

typedef enum {
  NB_DNS_ZONE_HIT,        /* records of the asked type: *out_rrs filled */
  NB_DNS_ZONE_NODATA,     /* the name exists, not with that type */
  NB_DNS_ZONE_NXDOMAIN,   /* under a zone we own, the name does not exist */
  NB_DNS_ZONE_NOT_OURS,   /* not under any zone we own: forward it */
} NbDnsZoneResult;

/* An empty zone builder. @domains: the zones this peer is authoritative for
 * ("netbird.cloud"), added with nb_dns_zone_add_domain(). */
NbDnsZone *nb_dns_zone_new (void);
/* Builders: only before the zone is handed to a resolver. */
void       nb_dns_zone_add_domain (NbDnsZone  *zone,
                                   const char *domain);
/* Adds one record (type A, AAAA, CNAME... as a numeric RR type) with rdata in
 * presentation form ("100.64.0.7"); also adds the PTR record for A/AAAA.
 * Fails with NB_DNS_ERROR_INVALID on a bad name or rdata. */
gboolean   nb_dns_zone_add_record (NbDnsZone  *zone,
                                   const char *name,
                                   guint16     rr_type,
                                   guint32     ttl,
                                   const char *rdata,
                                   GError    **error);
/* Builds a zone from a network map's DNS config: every custom zone (the
 * account zone Management fills with the reachable peers and this one, and
 * the user's zones). Records that do not parse are skipped with a warning
 * (a bad record from the server must not take the other names down). */
NbDnsZone *nb_dns_zone_new_from_config (const NbMgmtMsgDnsConfig *config);

NbDnsZone *nb_dns_zone_ref   (NbDnsZone *zone);
void       nb_dns_zone_unref (NbDnsZone *zone);
guint      nb_dns_zone_get_n_records (const NbDnsZone *zone);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NbDnsZone, nb_dns_zone_unref)

/* ------------------------------------------------------------------------
 * NbDnsResolver (nb-dns-resolver.c): a DNS server on UDP and TCP, running
 * on a thread with a GMainContext of its own. Every setter may be called
 * from any thread; the change is seen by the next query.
 */
#define NB_TYPE_DNS_RESOLVER (nb_dns_resolver_get_type ())
G_DECLARE_FINAL_TYPE (NbDnsResolver, nb_dns_resolver, NB, DNS_RESOLVER, GObject)

typedef struct
{
  guint64 queries;           /* every query that parsed or not */
  guint64 answered_locally;  /* answered from the zone (incl. NXDOMAIN/NODATA) */
  guint64 forwarded;         /* sent upstream and answered */
  guint64 nxdomain;          /* NXDOMAIN answers from the zone */
  guint64 formerr;           /* malformed queries (answered FORMERR or dropped) */
  guint64 rate_limited;      /* dropped by the per-source rate limit */
  guint64 upstream_failures; /* upstream timeouts/errors (each server tried) */
  guint64 servfail;          /* SERVFAIL answered: no upstream worked */
  guint64 tcp_retries;       /* truncated UDP answers retried over TCP */
} NbDnsResolverStats;

/* A nameserver group as the resolver uses it: @domains the match domains
 * (empty for a primary group), @servers "IP:PORT" strings tried in order. */
typedef struct
{
  GStrv    domains;
  GStrv    servers;
  gboolean primary;
} NbDnsForwardGroup;

NbDnsResolver *nb_dns_resolver_new (void);

/* Binds UDP and TCP on @address:@port (port 0 picks one; see _get_port)
 * and starts the thread. */
gboolean nb_dns_resolver_listen   (NbDnsResolver *self,
                                   const char    *address,
                                   guint16        port,
                                   GError       **error);
guint16  nb_dns_resolver_get_port (NbDnsResolver *self);

/* Swaps the zone: takes a reference; NULL empties it. */
void nb_dns_resolver_set_zone (NbDnsResolver *self,
                               NbDnsZone     *zone);

/* Replaces the nameserver groups: an array of NbDnsForwardGroup (copied).
 * Match domains are matched on label boundaries, longest first. */
void nb_dns_resolver_set_forward_groups (NbDnsResolver           *self,
                                         const NbDnsForwardGroup *groups,
                                         guint                    n_groups);
/* Fills @groups from a network map's nameserver groups (helper for the
 * engine); returns the number, free with nb_dns_forward_groups_free(). */
NbDnsForwardGroup *nb_dns_forward_groups_from_config (const NbMgmtMsgDnsConfig *config,
                                                      guint                    *n_groups);
void               nb_dns_forward_groups_free        (NbDnsForwardGroup *groups,
                                                      guint              n_groups);

/* The upstream the host had before: "IP:PORT" or "IP" (port 53), used for
 * names no group matches when no group is primary. (element-type utf8) */
void nb_dns_resolver_set_fallback_upstreams (NbDnsResolver *self,
                                             GPtrArray     *upstreams);

/* Per-source token bucket: @per_second queries refilled, @burst at once.
 * Defaults: 1000/s, burst 2000. 0 disables the limit. */
void nb_dns_resolver_set_rate_limit (NbDnsResolver *self,
                                     double         per_second,
                                     double         burst);

/* Upstream timeout per server try, ms (default 2000). */
void nb_dns_resolver_set_upstream_timeout (NbDnsResolver *self,
                                           guint          timeout_ms);

void nb_dns_resolver_get_stats (NbDnsResolver      *self,
                                NbDnsResolverStats *out);

/* Stops the thread and closes the sockets; idempotent (finalize calls it). */
void nb_dns_resolver_close (NbDnsResolver *self);

/* ------------------------------------------------------------------------
 * The parts the resolver is made of, shared with the tests and fuzz target.
 */

/* nb-dns-zone.c: the records for @qname of @qtype, borrowed from the zone
 * (valid while the caller holds its reference); for NXDOMAIN and NODATA
 * *out_soa is the SOA of the owning domain, for the authority section. */
NbDnsZoneResult nb_dns_zone_lookup (const NbDnsZone *zone,
                                    const ldns_rdf  *qname,
                                    ldns_rr_type     qtype,
                                    GPtrArray      **out_rrs,
                                    const ldns_rr  **out_soa);

/* nb-dns-query.c: one query from a client, answered from the zone or marked
 * to forward. Never trusts the input: ldns parses it. */
typedef enum {
  NB_DNS_VERDICT_ANSWER,   /* @out holds the answer (local, or FORMERR/NOTIMP) */
  NB_DNS_VERDICT_FORWARD,  /* not ours: forward the query bytes upstream */
  NB_DNS_VERDICT_DROP,     /* not worth an answer (too short, a response) */
} NbDnsVerdict;

typedef struct
{
  ldns_rdf *qname;         /* FORWARD: the question's name (owned) */
  guint16   max_udp;       /* the client's UDP payload limit (512 or EDNS) */
  guint8    rcode;         /* ANSWER: the rcode written */
  gboolean  formerr;       /* the query was malformed */
  gboolean  local;         /* ANSWER: made from the zone */
} NbDnsQueryInfo;

NbDnsVerdict nb_dns_query_handle     (const NbDnsZone *zone,
                                      const guint8    *query,
                                      gsize            len,
                                      ldns_buffer     *out,
                                      NbDnsQueryInfo  *info);
void         nb_dns_query_info_clear (NbDnsQueryInfo *info);
/* Writes a header-only answer with @rcode (and TC if @truncated) and the
 * question of @query, which must have parsed. */
void         nb_dns_query_write_error (const guint8 *query,
                                       gsize         len,
                                       guint8        rcode,
                                       gboolean      truncated,
                                       ldns_buffer  *out);

/* nb-dns-forward.c: one exchange with a group's servers, blocking (runs on
 * a worker thread): UDP, then TCP when the answer is truncated; each server
 * in turn gets @timeout_ms. The answer carries the query's ID. */
gboolean nb_dns_forward_exchange (const char * const *servers,
                                  const guint8       *query,
                                  gsize               len,
                                  guint               timeout_ms,
                                  GByteArray         *answer,
                                  guint64            *failures,
                                  guint64            *tcp_retries,
                                  GError            **error);
/* Parses "IP", "IP:PORT" or "[IPv6]:PORT" (port 53 when absent). */
GInetSocketAddress *nb_dns_parse_server (const char *server,
                                         GError    **error);

G_END_DECLS
