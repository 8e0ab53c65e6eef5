/* nb-netlink.c: links, addresses and routes over rtnetlink
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-netif"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <net/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>
#include <glib-unix.h>

#include "nb-error.h"
#include "nb-netlink-private.h"

/* Sends the request in @buf and reads until its ACK (or error) arrives.
 * @what is the action for the error message ("setting the MTU of wg0"). */
static gboolean
netlink_transact (struct nlmsghdr  *nlh,
                  const char       *what,
                  GError          **error)
{
  struct mnl_socket *nl;
  char buf[MNL_SOCKET_BUFFER_SIZE];
  unsigned int seq, portid;
  ssize_t n;
  int ret = MNL_CB_OK;
  int saved_errno = 0;

  nl = mnl_socket_open (NETLINK_ROUTE);
  if (nl == NULL)
    {
      saved_errno = errno;
      g_set_error (error, NB_ERROR, NB_ERROR_FAILED,
                   "%s: cannot open a netlink socket: %s", what,
                   g_strerror (saved_errno));
      return FALSE;
    }
  if (mnl_socket_bind (nl, 0, MNL_SOCKET_AUTOPID) < 0)
    {
      saved_errno = errno;
      mnl_socket_close (nl);
      g_set_error (error, NB_ERROR, NB_ERROR_FAILED,
                   "%s: cannot bind a netlink socket: %s", what,
                   g_strerror (saved_errno));
      return FALSE;
    }
  portid = mnl_socket_get_portid (nl);
  seq = (unsigned int) time (NULL);
  nlh->nlmsg_seq = seq;
  nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;

  if (mnl_socket_sendto (nl, nlh, nlh->nlmsg_len) < 0)
    {
      saved_errno = errno;
      mnl_socket_close (nl);
      g_set_error (error, NB_ERROR, NB_ERROR_FAILED, "%s: netlink send failed: %s",
                   what, g_strerror (saved_errno));
      return FALSE;
    }

  /* mnl_cb_run() turns an NLMSG_ERROR into -1 with errno set, and the ACK
   * (an NLMSG_ERROR with error 0) into MNL_CB_STOP. */
  while ((n = mnl_socket_recvfrom (nl, buf, sizeof buf)) > 0)
    {
      ret = mnl_cb_run (buf, (size_t) n, seq, portid, NULL, NULL);
      if (ret <= MNL_CB_STOP)
        break;
    }
  if (n < 0)
    ret = -1;
  saved_errno = errno;
  mnl_socket_close (nl);

  if (ret < 0)
    {
      if (saved_errno == EPERM || saved_errno == EACCES)
        g_set_error (error, NB_ERROR, NB_ERROR_PERMISSION_DENIED,
                     "%s needs CAP_NET_ADMIN: %s", what, g_strerror (saved_errno));
      else
        g_set_error (error, NB_ERROR, NB_ERROR_FAILED, "%s failed: %s", what,
                     g_strerror (saved_errno));
      return FALSE;
    }
  return TRUE;
}

static struct nlmsghdr *
put_link_header (char              *buf,
                 guint              ifindex,
                 struct ifinfomsg **ifm_out)
{
  struct nlmsghdr *nlh = mnl_nlmsg_put_header (buf);
  struct ifinfomsg *ifm;

  nlh->nlmsg_type = RTM_NEWLINK;
  ifm = mnl_nlmsg_put_extra_header (nlh, sizeof *ifm);
  ifm->ifi_family = AF_UNSPEC;
  ifm->ifi_index = (int) ifindex;
  *ifm_out = ifm;
  return nlh;
}

gboolean
nb_netlink_set_mtu (guint        ifindex,
                    const char  *ifname,
                    guint        mtu,
                    GError     **error)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  g_autofree char *what = g_strdup_printf ("Setting the MTU of %s to %u", ifname, mtu);
  struct ifinfomsg *ifm;
  struct nlmsghdr *nlh = put_link_header (buf, ifindex, &ifm);

  mnl_attr_put_u32 (nlh, IFLA_MTU, mtu);
  return netlink_transact (nlh, what, error);
}

gboolean
nb_netlink_set_up (guint        ifindex,
                   const char  *ifname,
                   gboolean     up,
                   GError     **error)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  g_autofree char *what = g_strdup_printf ("Setting %s %s", ifname, up ? "up" : "down");
  struct ifinfomsg *ifm;
  struct nlmsghdr *nlh = put_link_header (buf, ifindex, &ifm);

  ifm->ifi_change = IFF_UP;
  ifm->ifi_flags = up ? IFF_UP : 0;
  return netlink_transact (nlh, what, error);
}

static gboolean
check_prefix (GInetAddress  *address,
              guint          prefix_length,
              const char    *what,
              GError       **error)
{
  guint max = g_inet_address_get_native_size (address) * 8;

  if (prefix_length > max)
    {
      g_set_error (error, NB_ERROR, NB_ERROR_INVALID_ARGUMENT,
                   "%s: prefix length %u is longer than the %u bits of the address",
                   what, prefix_length, max);
      return FALSE;
    }
  return TRUE;
}

gboolean
nb_netlink_add_address (guint          ifindex,
                        const char    *ifname,
                        GInetAddress  *address,
                        guint          prefix_length,
                        GError       **error)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  g_autofree char *text = g_inet_address_to_string (address);
  g_autofree char *what = g_strdup_printf ("Adding address %s/%u to %s", text,
                                           prefix_length, ifname);
  gboolean v6 = g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6;
  gsize len = g_inet_address_get_native_size (address);
  struct nlmsghdr *nlh;
  struct ifaddrmsg *ifa;

  if (!check_prefix (address, prefix_length, what, error))
    return FALSE;

  nlh = mnl_nlmsg_put_header (buf);
  nlh->nlmsg_type = RTM_NEWADDR;
  nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
  ifa = mnl_nlmsg_put_extra_header (nlh, sizeof *ifa);
  ifa->ifa_family = v6 ? AF_INET6 : AF_INET;
  ifa->ifa_prefixlen = (unsigned char) prefix_length;
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = ifindex;
  /* A tunnel has no link layer on which duplicates could be detected; an
   * address in DAD would stay "tentative" and unusable for a second. */
  ifa->ifa_flags = v6 ? IFA_F_NODAD : 0;

  mnl_attr_put (nlh, IFA_LOCAL, len, g_inet_address_to_bytes (address));
  mnl_attr_put (nlh, IFA_ADDRESS, len, g_inet_address_to_bytes (address));
  if (v6)
    mnl_attr_put_u32 (nlh, IFA_FLAGS, IFA_F_NODAD);

  return netlink_transact (nlh, what, error);
}

gboolean
nb_netlink_route (guint          ifindex,
                  const char    *ifname,
                  GInetAddress  *destination,
                  guint          prefix_length,
                  gboolean       add,
                  GError       **error)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  g_autofree char *text = g_inet_address_to_string (destination);
  g_autofree char *what = g_strdup_printf ("%s route %s/%u %s %s",
                                           add ? "Adding" : "Removing", text,
                                           prefix_length, add ? "to" : "from", ifname);
  gboolean v6 = g_inet_address_get_family (destination) == G_SOCKET_FAMILY_IPV6;
  gsize len = g_inet_address_get_native_size (destination);
  struct nlmsghdr *nlh;
  struct rtmsg *rtm;

  if (!check_prefix (destination, prefix_length, what, error))
    return FALSE;

  nlh = mnl_nlmsg_put_header (buf);
  nlh->nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
  nlh->nlmsg_flags = add ? (NLM_F_CREATE | NLM_F_EXCL) : 0;
  rtm = mnl_nlmsg_put_extra_header (nlh, sizeof *rtm);
  rtm->rtm_family = v6 ? AF_INET6 : AF_INET;
  rtm->rtm_dst_len = (unsigned char) prefix_length;
  rtm->rtm_table = RT_TABLE_MAIN;
  rtm->rtm_protocol = RTPROT_BOOT;
  rtm->rtm_scope = RT_SCOPE_LINK;
  rtm->rtm_type = RTN_UNICAST;

  mnl_attr_put (nlh, RTA_DST, len, g_inet_address_to_bytes (destination));
  mnl_attr_put_u32 (nlh, RTA_OIF, ifindex);

  return netlink_transact (nlh, what, error);
}

/* ---- link monitor ------------------------------------------------------ */

typedef struct
{
  struct mnl_socket *nl;
  guint ifindex;
  NbNetlinkLinkFunc func;
  gpointer user_data;
} LinkMonitor;

static void
link_monitor_free (gpointer data)
{
  LinkMonitor *monitor = data;

  mnl_socket_close (monitor->nl);
  g_free (monitor);
}

static int
link_attr_mtu (const struct nlattr *attr,
               void                *data)
{
  if (mnl_attr_get_type (attr) == IFLA_MTU && mnl_attr_validate (attr, MNL_TYPE_U32) >= 0)
    *(guint *) data = mnl_attr_get_u32 (attr);
  return MNL_CB_OK;
}

static int
link_event (const struct nlmsghdr *nlh,
            void                  *data)
{
  LinkMonitor *monitor = data;
  const struct ifinfomsg *ifm;
  guint mtu = 0;

  if (nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK)
    return MNL_CB_OK;
  if (mnl_nlmsg_get_payload_len (nlh) < sizeof *ifm)
    return MNL_CB_OK;
  ifm = mnl_nlmsg_get_payload (nlh);
  if ((guint) ifm->ifi_index != monitor->ifindex)
    return MNL_CB_OK;
  if (nlh->nlmsg_type == RTM_DELLINK)
    {
      monitor->func (monitor->ifindex, TRUE, 0, monitor->user_data);
      return MNL_CB_OK;
    }
  mnl_attr_parse (nlh, sizeof *ifm, link_attr_mtu, &mtu);
  monitor->func (monitor->ifindex, FALSE, mtu, monitor->user_data);
  return MNL_CB_OK;
}

static gboolean
link_monitor_readable (gint         fd,
                       GIOCondition condition,
                       gpointer     user_data)
{
  LinkMonitor *monitor = user_data;
  char buf[MNL_SOCKET_BUFFER_SIZE];
  ssize_t n;

  /* Non-blocking: drain what is there, never wait on the main context. */
  while ((n = recv (fd, buf, sizeof buf, MSG_DONTWAIT)) > 0)
    mnl_cb_run (buf, (size_t) n, 0, 0, link_event, monitor);
  if (n < 0 && errno == ENOBUFS)
    g_debug ("netlink link events overflowed; some were lost");
  return G_SOURCE_CONTINUE;
}

GSource *
nb_netlink_link_monitor_new (guint              ifindex,
                             NbNetlinkLinkFunc  func,
                             gpointer           user_data,
                             GError           **error)
{
  LinkMonitor *monitor;
  struct mnl_socket *nl;
  GSource *source;

  nl = mnl_socket_open2 (NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (nl == NULL || mnl_socket_bind (nl, RTMGRP_LINK, MNL_SOCKET_AUTOPID) < 0)
    {
      int err = errno;

      if (nl != NULL)
        mnl_socket_close (nl);
      g_set_error (error, NB_ERROR, NB_ERROR_FAILED,
                   "Cannot watch link events on netlink: %s", g_strerror (err));
      return NULL;
    }
  monitor = g_new0 (LinkMonitor, 1);
  monitor->nl = nl;
  monitor->ifindex = ifindex;
  monitor->func = func;
  monitor->user_data = user_data;

  source = g_unix_fd_source_new (mnl_socket_get_fd (nl), G_IO_IN);
  g_source_set_callback (source, G_SOURCE_FUNC (link_monitor_readable), monitor,
                         link_monitor_free);
  g_source_set_static_name (source, "nb-netlink-link-monitor");
  return source;
}
