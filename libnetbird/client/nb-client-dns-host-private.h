/* nb-client-dns-host-private.h: the host's resolver pointed at ours
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * resolv.conf mode: the file is rewritten with our nameserver first and
 * the account's domains first in "search"; its original bytes are kept in
 * a backup file beside the client's configuration (PREFIX.resolv.conf.
 * original, PREFIX the configuration's path without ".json"), and a state
 * file (PREFIX.dns-host.state) says
 * that a backup is in force, so the next start after a crash (kill -9)
 * puts it back. The file may be a bind mount ("ip netns exec" binds
 * /etc/netns/NAME/resolv.conf over /etc/resolv.conf; containers bind
 * theirs), where a rename over it fails with EBUSY, and where it is not,
 * a rename would detach the bind mounts other namespaces have on it: a
 * regular file is always written in place.
 */
#pragma once

#if !defined(NB_COMPILATION)
#error "nb-client-dns-host-private.h is internal to libnetbird."
#endif

#include <glib.h>

G_BEGIN_DECLS

#define NB_DNS_HOST_RESOLV_CONF "/etc/resolv.conf"

typedef struct _NbDnsHostResolvconf NbDnsHostResolvconf;

/* @resolv_path: the file to manage (NB_DNS_HOST_RESOLV_CONF but in
 * tests); @state_prefix: the path the backup's and the state file's names
 * start with. Nothing is touched yet. */
NbDnsHostResolvconf *nb_dns_host_resolvconf_new      (const char *resolv_path,
                                                      const char *state_prefix);
void                 nb_dns_host_resolvconf_free     (NbDnsHostResolvconf *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NbDnsHostResolvconf, nb_dns_host_resolvconf_free)

/* Puts the original back when a state file says an earlier run left the
 * file rewritten (a crash). *restored says whether there was anything to
 * do. A file someone else has rewritten since is left as it is (and the
 * stale backup dropped). */
gboolean    nb_dns_host_resolvconf_recover   (NbDnsHostResolvconf *self,
                                              gboolean            *restored,
                                              GError             **error);

/* Rewrites the file: @nameserver (an IPv4 or IPv6 address) first, then
 * the original's nameservers (glibc reads three), @domains first in
 * "search" and then the original's, the original's other lines kept.
 * The first call keeps the original; later calls (a new map) rewrite it
 * from that original again. */
gboolean    nb_dns_host_resolvconf_apply     (NbDnsHostResolvconf *self,
                                              const char          *nameserver,
                                              const char * const  *domains,
                                              GError             **error);

/* Puts the original back byte for byte and removes the backup and state
 * files. Nothing to do when apply was never called. */
gboolean    nb_dns_host_resolvconf_restore   (NbDnsHostResolvconf *self,
                                              GError             **error);

/* (transfer full): the "nameserver" addresses of the original (the
 * backup when the file is rewritten, the file itself otherwise), for the
 * resolver's fallback upstream. Empty when there are none. */
GStrv       nb_dns_host_resolvconf_original_nameservers (NbDnsHostResolvconf *self);

/* Whether the last write went in place (a regular file) rather than by
 * a rename over a symlink; tests read it. */
gboolean    nb_dns_host_resolvconf_wrote_in_place (NbDnsHostResolvconf *self);

/* Parses resolv.conf text: (transfer full) the nameserver addresses. */
GStrv       nb_dns_host_resolvconf_parse_nameservers (const char *text);

G_END_DECLS
