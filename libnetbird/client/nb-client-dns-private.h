/* nb-client-dns-private.h: the map's DNS on this peer (nb-client-dns.c)
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#if !defined(NB_COMPILATION)
#error "nb-client-dns-private.h is internal to libnetbird."
#endif

#include "nb-client-private.h"

G_BEGIN_DECLS

typedef struct _NbClientDns NbClientDns;

/* Puts back what a crashed run left in the host's configuration. */
NbClientDns *nb_client_dns_new        (NbClient                 *client);
/* The same without a run: the client's start (nb_client_new). */
void         nb_client_dns_recover    (NbClient                 *client);
/* Stops the resolver and puts the host's configuration back. */
void         nb_client_dns_free       (NbClientDns              *dns);
/* A map's DNS: the resolver started (on @own_address, "100.64.0.7/10")
 * or its zone and groups swapped, the host pointed at it; DNS off in the
 * map or in the settings stops it all. Failures are logged: the rest of
 * the map applies regardless. */
void         nb_client_dns_apply      (NbClientDns              *dns,
                                       const NbMgmtMsgDnsConfig *config,
                                       const char               *own_address);
/* (transfer none) (nullable): a{sv}, see nb_client_get_dns_status(). */
GVariant    *nb_client_dns_get_status (NbClientDns              *dns);

NbClientDns *nb_client_engine_get_dns (NbClientEngine           *engine);

G_END_DECLS
