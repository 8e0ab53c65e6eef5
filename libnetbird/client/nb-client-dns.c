/* nb-client-dns.c: the network map's DNS on this peer
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * When the map has DNS (service_enable), a resolver (libnetbird/dns/)
 * listens on the peer's NetBird address, port 53, with the map's zone and
 * nameserver groups, and the host's resolv.conf points at it
 * (nb-client-dns-host.c), or, where systemd-resolved runs, the tunnel link's
 * DNS in resolved (nb-client-dns-resolved.c); names no group matches go to
 * the nameservers the host had before. Each map swaps the zone. The engine owns one NbClientDns
 * for the run: freeing it (down, daemon exit) stops the resolver and puts
 * the host's configuration back; making it (up) first repairs what a
 * crashed run left.
 */
#define G_LOG_DOMAIN "netbird-client"

#include "nb-client-dns-private.h"
#include "nb-client-dns-host-private.h"
#include "nb-client-dns-resolved-private.h"
#include "nb-dns-private.h"

#include <net/if.h>
#include <string.h>

#define DNS_PORT 53

struct _NbClientDns
{
  NbClient *client;               /* the owner of the engine that owns us */
  NbDnsResolver *resolver;        /* NULL: no DNS in force */
  char *listen_ip;
  NbDnsHostResolvconf *host;
  NbDnsHostResolved *resolved;    /* non-NULL: resolved mode */
  int resolved_ifindex;           /* the link configured, 0: none */
  gboolean host_applied;
  GVariant *status;               /* a{sv}, floating reference sunk */
};

/* "/etc/netbird/config.json" -> "/etc/netbird/config" */
static char *
state_prefix_of (NbClient *client)
{
  g_autofree char *config_path = NULL;

  g_object_get (client, "config-path", &config_path, NULL);
  if (g_str_has_suffix (config_path, ".json"))
    config_path[strlen (config_path) - 5] = '\0';
  return g_steal_pointer (&config_path);
}

static NbDnsHostResolvconf *
resolvconf_for (NbClient *client)
{
  g_autofree char *state_prefix = state_prefix_of (client);
  const char *path = g_getenv ("NB_DNS_RESOLV_CONF");

  /* NB_DNS_RESOLV_CONF: a test's own file instead of /etc/resolv.conf. */
  return nb_dns_host_resolvconf_new (path != NULL && path[0] != '\0' ? path
                                                                     : NB_DNS_HOST_RESOLV_CONF,
                                     state_prefix);
}

void
nb_client_dns_recover (NbClient *client)
{
  g_autoptr(NbDnsHostResolvconf) host = resolvconf_for (client);
  g_autoptr(GError) error = NULL;

  if (!nb_dns_host_resolvconf_recover (host, NULL, &error))
    g_warning ("Cannot put back the host's DNS configuration an earlier run left: %s",
               error->message);
}

NbClientDns *
nb_client_dns_new (NbClient *client)
{
  NbClientDns *dns = g_new0 (NbClientDns, 1);
  g_autoptr(GError) error = NULL;
  const char *path = g_getenv ("NB_DNS_RESOLV_CONF");

  dns->client = client;
  dns->host = resolvconf_for (client);
  if (!nb_dns_host_resolvconf_recover (dns->host, NULL, &error))
    g_warning ("Cannot put back the host's DNS configuration an earlier run left: %s",
               error->message);
  g_clear_error (&error);
  /* systemd-resolved where it runs (but not for a test's own file). */
  if (path == NULL || path[0] == '\0')
    {
      dns->resolved = nb_dns_host_resolved_new (&error);
      if (dns->resolved == NULL)
        g_debug ("DNS host configuration through resolv.conf: %s", error->message);
      else
        g_message ("DNS host configuration through systemd-resolved");
    }
  return dns;
}

static void
clear_status (NbClientDns *dns)
{
  g_clear_pointer (&dns->status, g_variant_unref);
}

static void
stop (NbClientDns *dns)
{
  if (dns->resolved_ifindex > 0)
    {
      g_autoptr(GError) error = NULL;

      if (!nb_dns_host_resolved_revert (dns->resolved, dns->resolved_ifindex, &error))
        g_message ("Cannot revert the tunnel's link in systemd-resolved: %s", error->message);
      dns->resolved_ifindex = 0;
    }
  if (dns->host_applied)
    {
      g_autoptr(GError) error = NULL;

      if (!nb_dns_host_resolvconf_restore (dns->host, &error))
        g_warning ("Cannot put back the host's DNS configuration: %s", error->message);
      dns->host_applied = FALSE;
    }
  if (dns->resolver != NULL)
    {
      nb_dns_resolver_close (dns->resolver);
      g_clear_object (&dns->resolver);
      g_message ("DNS resolver on %s stopped", dns->listen_ip);
    }
  g_clear_pointer (&dns->listen_ip, g_free);
  clear_status (dns);
}

void
nb_client_dns_free (NbClientDns *dns)
{
  if (dns == NULL)
    return;
  stop (dns);
  nb_dns_host_resolvconf_free (dns->host);
  nb_dns_host_resolved_free (dns->resolved);
  g_free (dns);
}

/* "netbird.test." -> "netbird.test" */
static char *
domain_of (const char *name)
{
  gsize len = name != NULL ? strlen (name) : 0;

  while (len > 0 && name[len - 1] == '.')
    len--;
  return g_strndup (name != NULL ? name : "", len);
}

static void
add_unique (GPtrArray  *array,
            const char *name)
{
  g_autofree char *domain = domain_of (name);

  if (domain[0] == '\0')
    return;
  for (guint i = 0; i < array->len; i++)
    if (g_ascii_strcasecmp (array->pdata[i], domain) == 0)
      return;
  g_ptr_array_add (array, g_steal_pointer (&domain));
}

static GVariant *
strv_variant (GPtrArray *array)
{
  return g_variant_new_strv ((const char * const *) array->pdata, array->len);
}

/* What `netbird status` shows: the resolver, how the host points at it,
 * the search domains, and each nameserver group (NetBird's "dnsServers"). */
static void
make_status (NbClientDns              *dns,
             const NbMgmtMsgDnsConfig *config,
             GPtrArray                *domains,
             const char               *host_error)
{
  GVariantDict dict;
  GVariantBuilder groups;

  g_variant_builder_init (&groups, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; config->nameserver_groups != NULL && i < config->nameserver_groups->len; i++)
    {
      const NbMgmtMsgNameServerGroup *group = config->nameserver_groups->pdata[i];
      g_autoptr(GPtrArray) servers = g_ptr_array_new_with_free_func (g_free);
      g_autoptr(GPtrArray) match = g_ptr_array_new_with_free_func (g_free);
      GVariantDict entry;

      for (guint j = 0; group->nameservers != NULL && j < group->nameservers->len; j++)
        {
          const NbMgmtMsgNameServer *ns = group->nameservers->pdata[j];
          gboolean v6 = strchr (ns->ip, ':') != NULL;

          g_ptr_array_add (servers, g_strdup_printf (v6 ? "[%s]:%" G_GINT64_FORMAT
                                                        : "%s:%" G_GINT64_FORMAT,
                                                     ns->ip, ns->port > 0 ? ns->port : 53));
        }
      for (guint j = 0; group->domains != NULL && j < group->domains->len; j++)
        add_unique (match, group->domains->pdata[j]);
      if (group->primary || match->len == 0)
        g_ptr_array_add (match, g_strdup ("."));
      g_variant_dict_init (&entry, NULL);
      g_variant_dict_insert_value (&entry, "servers", strv_variant (servers));
      g_variant_dict_insert_value (&entry, "domains", strv_variant (match));
      g_variant_dict_insert (&entry, "enabled", "b", dns->resolver != NULL);
      g_variant_dict_insert (&entry, "error", "s", "");
      g_variant_builder_add_value (&groups, g_variant_dict_end (&entry));
    }

  g_variant_dict_init (&dict, NULL);
  if (dns->resolver != NULL)
    {
      g_autofree char *resolver = g_strdup_printf ("%s:%u", dns->listen_ip,
                                                   nb_dns_resolver_get_port (dns->resolver));
      g_variant_dict_insert (&dict, "resolver", "s", resolver);
    }
  else
    g_variant_dict_insert (&dict, "resolver", "s", "");
  g_variant_dict_insert (&dict, "hostConfig", "s",
                         dns->resolved_ifindex > 0 ? "systemd-resolved"
                         : dns->host_applied ? "resolv.conf" : "");
  g_variant_dict_insert (&dict, "hostError", "s", host_error != NULL ? host_error : "");
  g_variant_dict_insert_value (&dict, "domains", strv_variant (domains));
  g_variant_dict_insert_value (&dict, "dnsServers", g_variant_builder_end (&groups));
  clear_status (dns);
  dns->status = g_variant_ref_sink (g_variant_dict_end (&dict));
}

/* resolved mode: the zones' domains searched and routed to us, the match
 * domains routed to us; other names stay with the host's own servers. */
static void
apply_resolved (NbClientDns              *dns,
                const NbMgmtMsgDnsConfig *config,
                const char               *ip,
                const char * const       *search,
                GError                  **error)
{
  const NbClientConfig *settings = nb_client_get_config (dns->client);
  g_autoptr(GPtrArray) routing = g_ptr_array_new_with_free_func (g_free);
  int ifindex = (int) if_nametoindex (settings->interface_name);

  for (guint i = 0; config->nameserver_groups != NULL && i < config->nameserver_groups->len; i++)
    {
      const NbMgmtMsgNameServerGroup *group = config->nameserver_groups->pdata[i];

      for (guint j = 0; group->domains != NULL && j < group->domains->len; j++)
        add_unique (routing, group->domains->pdata[j]);
    }
  g_ptr_array_add (routing, NULL);
  if (ifindex <= 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no link %s for systemd-resolved",
                   settings->interface_name);
      g_warning ("%s", (*error)->message);
      return;
    }
  if (!nb_dns_host_resolved_apply (dns->resolved, ifindex, ip, search,
                                   (const char * const *) routing->pdata, error))
    {
      g_warning ("%s", (*error)->message);
      return;
    }
  dns->resolved_ifindex = ifindex;
}

void
nb_client_dns_apply (NbClientDns              *dns,
                     const NbMgmtMsgDnsConfig *config,
                     const char               *own_address)
{
  g_autoptr(NbDnsZone) zone = NULL;
  g_autoptr(GPtrArray) domains = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) upstreams = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) original = NULL;
  g_auto(GStrv) parts = NULL;
  NbDnsForwardGroup *groups;
  guint n_groups = 0;
  const char *ip;

  if (nb_client_get_disable_dns (dns->client))
    {
      if (dns->resolver != NULL)
        g_message ("DNS disabled in the settings: the host's configuration is left alone");
      stop (dns);
      return;
    }
  if (config == NULL || !config->service_enable || own_address == NULL)
    {
      stop (dns);
      return;
    }

  parts = g_strsplit (own_address, "/", 2);
  ip = parts[0];
  if (dns->resolver != NULL && g_strcmp0 (dns->listen_ip, ip) != 0)
    stop (dns);  /* a new address: listen there */
  if (dns->resolver == NULL)
    {
      g_autoptr(NbDnsResolver) resolver = nb_dns_resolver_new ();

      if (!nb_dns_resolver_listen (resolver, ip, DNS_PORT, &error))
        {
          /* The map still applies; names just do not resolve through us,
           * and the host is left as it is rather than pointed at nothing. */
          g_warning ("No DNS resolver on %s: %s", ip, error->message);
          return;
        }
      dns->resolver = g_steal_pointer (&resolver);
      dns->listen_ip = g_strdup (ip);
      g_message ("DNS resolver listening on %s port %u", ip, nb_dns_resolver_get_port (dns->resolver));
    }

  zone = nb_dns_zone_new_from_config (config);
  nb_dns_resolver_set_zone (dns->resolver, zone);
  groups = nb_dns_forward_groups_from_config (config, &n_groups);
  nb_dns_resolver_set_forward_groups (dns->resolver, groups, n_groups);
  nb_dns_forward_groups_free (groups, n_groups);

  /* The host's own nameservers before us: the upstream for the rest. */
  original = nb_dns_host_resolvconf_original_nameservers (dns->host);
  for (guint i = 0; original[i] != NULL; i++)
    if (g_strcmp0 (original[i], ip) != 0)
      g_ptr_array_add (upstreams, g_strdup (original[i]));
  nb_dns_resolver_set_fallback_upstreams (dns->resolver, upstreams);

  for (guint i = 0; config->custom_zones != NULL && i < config->custom_zones->len; i++)
    add_unique (domains, ((NbMgmtMsgCustomZone *) config->custom_zones->pdata[i])->domain);
  for (guint i = 0; config->nameserver_groups != NULL && i < config->nameserver_groups->len; i++)
    {
      const NbMgmtMsgNameServerGroup *group = config->nameserver_groups->pdata[i];

      for (guint j = 0; group->search_domains_enabled && group->domains != NULL
                        && j < group->domains->len; j++)
        add_unique (domains, group->domains->pdata[j]);
    }
  g_ptr_array_add (domains, NULL);
  if (dns->resolved != NULL)
    apply_resolved (dns, config, ip, (const char * const *) domains->pdata, &error);
  else if (nb_dns_host_resolvconf_apply (dns->host, ip, (const char * const *) domains->pdata, &error))
    dns->host_applied = TRUE;
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    g_message ("The host's resolver is left alone: %s", error->message);
  else
    g_warning ("Cannot point the host's resolver at %s: %s", ip, error->message);
  g_ptr_array_remove_index (domains, domains->len - 1);

  make_status (dns, config, domains, error != NULL ? error->message : NULL);
  g_debug ("DNS: %u records, %u nameserver groups, %u upstreams", nb_dns_zone_get_n_records (zone),
           n_groups, upstreams->len);
}

GVariant *
nb_client_dns_get_status (NbClientDns *dns)
{
  return dns != NULL ? dns->status : NULL;
}

/**
 * nb_client_get_dns_status:
 * @self: a #NbClient
 *
 * The DNS in force while the client is up, as a dictionary: "resolver"
 * (s, "100.64.0.7:53", empty when none runs), "hostConfig" (s,
 * "resolv.conf" when the host points at it, empty otherwise), "hostError"
 * (s), "domains" (as, the search domains given to the host) and
 * "dnsServers" (aa{sv}, one per nameserver group of the map: "servers"
 * (as, "IP:PORT"), "domains" (as, "." for a primary group), "enabled" (b),
 * "error" (s)).
 *
 * Returns: (transfer full) (nullable): the dictionary (type a{sv}), %NULL
 *   when no DNS is in force
 */
GVariant *
nb_client_get_dns_status (NbClient *self)
{
  GVariant *status;

  g_return_val_if_fail (NB_IS_CLIENT (self), NULL);

  status = self->engine != NULL ? nb_client_dns_get_status (nb_client_engine_get_dns (self->engine))
                                : NULL;
  return status != NULL ? g_variant_ref (status) : NULL;
}
