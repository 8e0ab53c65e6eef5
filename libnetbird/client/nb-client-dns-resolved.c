/* nb-client-dns-resolved.c: systemd-resolved's per-link DNS over D-Bus
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * org.freedesktop.resolve1(5): the Manager's SetLink* methods take the
 * link's ifindex. The calls are synchronous with a short timeout: resolved
 * answers them from memory, and `netbird down` must not return before the
 * link is reverted.
 */
#define G_LOG_DOMAIN "netbird-dns-host"

#include "nb-client-dns-resolved-private.h"

#include <sys/socket.h>
#include <sys/stat.h>

#define RESOLVE1_NAME "org.freedesktop.resolve1"
#define RESOLVE1_PATH "/org/freedesktop/resolve1"
#define RESOLVE1_MANAGER "org.freedesktop.resolve1.Manager"
#define CALL_TIMEOUT_MS 2000

struct _NbDnsHostResolved
{
  GDBusConnection *bus;
};

/* resolved configures the links of its own network namespace, by index: a
 * client in another one (ip netns exec, a container sharing the host's
 * bus) would set the DNS of whatever link of the host has that index. */
static gboolean
same_network_namespace (GDBusConnection  *bus,
                        GError          **error)
{
  g_autoptr(GVariant) reply = NULL;
  g_autofree char *theirs = NULL;
  struct stat a, b;
  guint32 pid = 0;

  reply = g_dbus_connection_call_sync (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "GetConnectionUnixProcessID",
                                       g_variant_new ("(s)", RESOLVE1_NAME),
                                       G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE,
                                       1000, NULL, error);
  if (reply == NULL)
    return FALSE;
  g_variant_get (reply, "(u)", &pid);
  theirs = g_strdup_printf ("/proc/%u/ns/net", pid);
  if (stat (theirs, &a) < 0 || stat ("/proc/self/ns/net", &b) < 0
      || a.st_dev != b.st_dev || a.st_ino != b.st_ino)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "systemd-resolved (pid %u) runs in another network namespace", pid);
      return FALSE;
    }
  return TRUE;
}

NbDnsHostResolved *
nb_dns_host_resolved_new (GError **error)
{
  g_autoptr(GDBusConnection) bus = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autofree char *address = NULL;
  NbDnsHostResolved *self;
  gboolean has_owner = FALSE;

  address = g_dbus_address_get_for_bus_sync (G_BUS_TYPE_SYSTEM, NULL, error);
  if (address == NULL)
    return NULL;
  /* A bus of our own, not the process's shared one: closed with us. */
  bus = g_dbus_connection_new_for_address_sync (address,
                                                G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                NULL, NULL, error);
  if (bus == NULL)
    return NULL;
  reply = g_dbus_connection_call_sync (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "NameHasOwner",
                                       g_variant_new ("(s)", RESOLVE1_NAME),
                                       G_VARIANT_TYPE ("(b)"), G_DBUS_CALL_FLAGS_NONE,
                                       1000, NULL, error);
  if (reply == NULL)
    return NULL;
  g_variant_get (reply, "(b)", &has_owner);
  if (!has_owner)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "systemd-resolved does not run (no %s on the system bus)", RESOLVE1_NAME);
      return NULL;
    }
  if (!same_network_namespace (bus, error))
    return NULL;
  self = g_new0 (NbDnsHostResolved, 1);
  self->bus = g_steal_pointer (&bus);
  return self;
}

void
nb_dns_host_resolved_free (NbDnsHostResolved *self)
{
  if (self == NULL)
    return;
  g_dbus_connection_close_sync (self->bus, NULL, NULL);
  g_object_unref (self->bus);
  g_free (self);
}

static gboolean
call (NbDnsHostResolved  *self,
      const char         *method,
      GVariant           *args,
      GError            **error)
{
  g_autoptr(GVariant) reply = NULL;

  reply = g_dbus_connection_call_sync (self->bus, RESOLVE1_NAME, RESOLVE1_PATH, RESOLVE1_MANAGER,
                                       method, args, NULL, G_DBUS_CALL_FLAGS_NONE,
                                       CALL_TIMEOUT_MS, NULL, error);
  if (reply == NULL)
    {
      g_prefix_error (error, "systemd-resolved %s: ", method);
      return FALSE;
    }
  return TRUE;
}

gboolean
nb_dns_host_resolved_apply (NbDnsHostResolved   *self,
                            int                  ifindex,
                            const char          *nameserver,
                            const char * const  *search_domains,
                            const char * const  *routing_domains,
                            GError             **error)
{
  g_autoptr(GInetAddress) inet = g_inet_address_new_from_string (nameserver);
  GVariantBuilder servers;
  GVariantBuilder domains;
  int family;

  if (inet == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "\"%s\" is no IP address for a nameserver", nameserver);
      return FALSE;
    }
  family = g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV4 ? AF_INET : AF_INET6;

  g_variant_builder_init (&servers, G_VARIANT_TYPE ("a(iay)"));
  g_variant_builder_add (&servers, "(i@ay)", family,
                         g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE,
                                                    g_inet_address_to_bytes (inet),
                                                    g_inet_address_get_native_size (inet), 1));
  g_variant_builder_init (&domains, G_VARIANT_TYPE ("a(sb)"));
  for (guint i = 0; search_domains != NULL && search_domains[i] != NULL; i++)
    g_variant_builder_add (&domains, "(sb)", search_domains[i], FALSE);
  for (guint i = 0; routing_domains != NULL && routing_domains[i] != NULL; i++)
    if (search_domains == NULL || !g_strv_contains (search_domains, routing_domains[i]))
      g_variant_builder_add (&domains, "(sb)", routing_domains[i], TRUE);

  if (!call (self, "SetLinkDNS", g_variant_new ("(ia(iay))", ifindex, &servers), error) ||
      !call (self, "SetLinkDomains", g_variant_new ("(ia(sb))", ifindex, &domains), error) ||
      !call (self, "SetLinkDefaultRoute", g_variant_new ("(ib)", ifindex, FALSE), error))
    {
      g_variant_builder_clear (&servers);
      g_variant_builder_clear (&domains);
      return FALSE;
    }
  g_debug ("systemd-resolved: link %d uses %s", ifindex, nameserver);
  return TRUE;
}

gboolean
nb_dns_host_resolved_revert (NbDnsHostResolved  *self,
                             int                 ifindex,
                             GError            **error)
{
  return call (self, "RevertLink", g_variant_new ("(i)", ifindex), error);
}
