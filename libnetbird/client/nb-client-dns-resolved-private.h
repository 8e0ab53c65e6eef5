/* nb-client-dns-resolved-private.h: systemd-resolved pointed at our resolver
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * Where systemd-resolved runs, the client leaves resolv.conf alone and
 * gives resolved the tunnel link's DNS server and domains over its D-Bus
 * API (org.freedesktop.resolve1.Manager: SetLinkDNS, SetLinkDomains,
 * SetLinkDefaultRoute, RevertLink). The account's domains and the match
 * domains are routing domains ("~corp.test"), so only they go to us; the
 * account domain is a search domain too. The settings belong to the link:
 * they go with the TUN device when the process dies, so there is nothing
 * to repair after a crash.
 */
#pragma once

#if !defined(NB_COMPILATION)
#error "nb-client-dns-resolved-private.h is internal to libnetbird."
#endif

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _NbDnsHostResolved NbDnsHostResolved;

/* Connects to the system bus and checks that org.freedesktop.resolve1 has
 * an owner in this process's network namespace; fails
 * (G_IO_ERROR_NOT_FOUND) when there is none: use resolv.conf then. Blocks
 * for at most a second or two. */
NbDnsHostResolved *nb_dns_host_resolved_new    (GError            **error);
void               nb_dns_host_resolved_free   (NbDnsHostResolved  *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NbDnsHostResolved, nb_dns_host_resolved_free)

/* Link @ifindex: DNS server @nameserver (port 53), @search_domains as
 * search domains, @routing_domains as routing-only, and not the default
 * route for other names. */
gboolean nb_dns_host_resolved_apply  (NbDnsHostResolved   *self,
                                      int                  ifindex,
                                      const char          *nameserver,
                                      const char * const  *search_domains,
                                      const char * const  *routing_domains,
                                      GError             **error);
/* Drops everything set on link @ifindex. */
gboolean nb_dns_host_resolved_revert (NbDnsHostResolved   *self,
                                      int                  ifindex,
                                      GError             **error);

G_END_DECLS
