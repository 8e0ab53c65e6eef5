/* nb-client-meta.c: what a peer tells Management about its system
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * NetBird's PeerSystemMeta: the hostname the peer registers with, the
 * kernel (uname), the OS (os-release(5)) and the host's addresses, which
 * the dashboard shows. The same walk over the interfaces gives the
 * addresses ICE gathers host candidates on.
 */
#define G_LOG_DOMAIN "netbird-client"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/utsname.h>

#include "nb-client-private.h"
#include "nb-version.h"

/* Every usable address of the host, as GSocketAddresses with their
 * prefix length. */
static void
walk_addresses (const char *skip_ifname,
                void      (*each) (GInetAddress *address, guint prefix, gpointer data),
                gpointer    data)
{
  struct ifaddrs *list = NULL;

  if (getifaddrs (&list) != 0)
    return;
  for (struct ifaddrs *ifa = list; ifa != NULL; ifa = ifa->ifa_next)
    {
      g_autoptr(GSocketAddress) address = NULL;
      g_autoptr(GSocketAddress) mask = NULL;
      GInetAddress *inet;
      gsize size;
      guint prefix = 0;

      if (ifa->ifa_addr == NULL || (ifa->ifa_flags & IFF_LOOPBACK) ||
          !(ifa->ifa_flags & IFF_UP) ||
          (skip_ifname != NULL && g_str_equal (ifa->ifa_name, skip_ifname)) ||
          (ifa->ifa_addr->sa_family != AF_INET && ifa->ifa_addr->sa_family != AF_INET6))
        continue;
      size = ifa->ifa_addr->sa_family == AF_INET ? sizeof (struct sockaddr_in)
                                                 : sizeof (struct sockaddr_in6);
      address = g_socket_address_new_from_native (ifa->ifa_addr, size);
      if (address == NULL)
        continue;
      inet = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address));
      if (g_inet_address_get_is_link_local (inet))
        continue;
      if (ifa->ifa_netmask != NULL)
        {
          const guint8 *bytes;
          gsize n;

          mask = g_socket_address_new_from_native (ifa->ifa_netmask, size);
          if (mask != NULL)
            {
              GInetAddress *m = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (mask));

              bytes = g_inet_address_to_bytes (m);
              n = g_inet_address_get_native_size (m);
              for (gsize i = 0; i < n; i++)
                prefix += __builtin_popcount (bytes[i]);
            }
        }
      each (inet, prefix, data);
    }
  freeifaddrs (list);
}

static void
add_network_address (GInetAddress *address,
                     guint         prefix,
                     gpointer      data)
{
  GPtrArray *out = data;
  g_autofree char *text = g_inet_address_to_string (address);

  g_ptr_array_add (out, g_strdup_printf ("%s/%u", text, prefix));
}

static void
add_local_address (GInetAddress *address,
                   guint         prefix,
                   gpointer      data)
{
  g_ptr_array_add (data, g_object_ref (address));
}

GPtrArray *
nb_client_meta_local_addresses (const char *skip_ifname)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_object_unref);

  walk_addresses (skip_ifname, add_local_address, out);
  return out;
}

/* NAME and VERSION_ID of os-release(5), unquoted. */
static void
read_os_release (char **name,
                 char **version)
{
  static const char *const paths[] = { "/etc/os-release", "/usr/lib/os-release" };

  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      g_autofree char *text = NULL;
      g_auto(GStrv) lines = NULL;

      if (!g_file_get_contents (paths[i], &text, NULL, NULL))
        continue;
      lines = g_strsplit (text, "\n", -1);
      for (guint j = 0; lines[j] != NULL; j++)
        {
          char **out = NULL;
          const char *value;

          if (g_str_has_prefix (lines[j], "NAME="))
            out = name;
          else if (g_str_has_prefix (lines[j], "VERSION_ID="))
            out = version;
          else
            continue;
          value = strchr (lines[j], '=') + 1;
          g_free (*out);
          *out = g_shell_unquote (value, NULL);
          if (*out == NULL)
            *out = g_strdup (value);
        }
      return;
    }
}

NbMgmtMsgPeerMeta *
nb_client_meta_collect (const char *hostname,
                        const char *skip_ifname)
{
  NbMgmtMsgPeerMeta *meta = nb_mgmt_msg_peer_meta_new ();
  struct utsname un;

  meta->hostname = g_strdup (hostname != NULL && hostname[0] != '\0' ? hostname
                                                                     : g_get_host_name ());
  meta->go_os = g_strdup ("linux");
  if (uname (&un) == 0)
    {
      meta->kernel = g_strdup (un.sysname);
      meta->kernel_version = g_strdup (un.release);
      meta->platform = g_strdup (un.machine);
      meta->core = g_strdup (un.version);
    }
  read_os_release (&meta->os, &meta->os_version);
  meta->netbird_version = g_strdup (nb_get_version_string ());
  if (meta->network_addresses == NULL)
    meta->network_addresses = g_ptr_array_new_with_free_func (g_free);
  walk_addresses (skip_ifname, add_network_address, meta->network_addresses);
  return meta;
}
