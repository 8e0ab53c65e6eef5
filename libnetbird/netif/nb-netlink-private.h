/* nb-netlink-private.h: links, addresses and routes over rtnetlink
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * Synchronous requests on a short-lived NETLINK_ROUTE socket: each call sends
 * one request with NLM_F_ACK and waits for the kernel's answer, so errors come
 * back as a GError naming the interface and what was asked.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

gboolean nb_netlink_set_mtu     (guint          ifindex,
                                 const char    *ifname,
                                 guint          mtu,
                                 GError       **error);
gboolean nb_netlink_set_up      (guint          ifindex,
                                 const char    *ifname,
                                 gboolean       up,
                                 GError       **error);
gboolean nb_netlink_add_address (guint          ifindex,
                                 const char    *ifname,
                                 GInetAddress  *address,
                                 guint          prefix_length,
                                 GError       **error);
gboolean nb_netlink_route       (guint          ifindex,
                                 const char    *ifname,
                                 GInetAddress  *destination,
                                 guint          prefix_length,
                                 gboolean       add,
                                 GError       **error);

G_END_DECLS

G_BEGIN_DECLS

/* Called on the monitor's main context for each change of the watched
 * link: @removed when it is gone, else its current @mtu. */
typedef void (*NbNetlinkLinkFunc) (guint    ifindex,
                                   gboolean removed,
                                   guint    mtu,
                                   gpointer user_data);

/* Watches link events (RTMGRP_LINK) of @ifindex: a source to attach to a
 * main context; destroying it closes the netlink socket. */
GSource *nb_netlink_link_monitor_new (guint              ifindex,
                                      NbNetlinkLinkFunc  func,
                                      gpointer           user_data,
                                      GError           **error);

G_END_DECLS
