/* nb-client-settings.c: NbClient's settings
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * What nb_client_save_config() writes (nb-client-config.c): each a
 * property too. Settings of the tunnel take effect at the next up; those
 * of the packet filter at once.
 */
#define G_LOG_DOMAIN "netbird-client"

#include <string.h>
#include <sodium.h>

#include "nb-client-private.h"
#include "nb-wg-uapi.h"

/* -- settings ------------------------------------------------------------- */

/**
 * nb_client_get_config_path:
 * @self: a #NbClient
 *
 * Returns: (type filename): the configuration file
 */
const char *
nb_client_get_config_path (NbClient *self)
{
  g_return_val_if_fail (NB_IS_CLIENT (self), NULL);
  return self->config_path;
}

/**
 * nb_client_get_management_url:
 * @self: a #NbClient
 *
 * Returns: Management's URL
 */
const char *
nb_client_get_management_url (NbClient *self)
{
  g_return_val_if_fail (NB_IS_CLIENT (self), NULL);
  return self->config != NULL ? self->config->management_url : NULL;
}

/**
 * nb_client_set_management_url:
 * @self: a #NbClient
 * @url: Management's URL, `http://` or `https://` with host and port
 * @error: return location for a #GError
 *
 * Sets #NbClient:management-url (saved by nb_client_save_config()).
 *
 * Returns: %TRUE, or %FALSE with %NB_CLIENT_ERROR_CONFIG for a URL that is
 *   not one
 */
gboolean
nb_client_set_management_url (NbClient    *self,
                              const char  *url,
                              GError     **error)
{
  g_autoptr(GUri) uri = NULL;
  g_autofree char *clean = NULL;

  g_return_val_if_fail (NB_IS_CLIENT (self), FALSE);
  if (url == NULL)
    {
      g_set_error_literal (error, NB_CLIENT_ERROR, NB_CLIENT_ERROR_CONFIG,
                           "A Management URL is required");
      return FALSE;
    }
  uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL || g_uri_get_host (uri) == NULL || g_uri_get_host (uri)[0] == '\0' ||
      (g_strcmp0 (g_uri_get_scheme (uri), "http") != 0 &&
       g_strcmp0 (g_uri_get_scheme (uri), "https") != 0))
    {
      g_set_error (error, NB_CLIENT_ERROR, NB_CLIENT_ERROR_CONFIG,
                   "“%s” is not a Management URL: give http(s)://HOST:PORT", url);
      return FALSE;
    }
  clean = g_strdup (url);
  while (g_str_has_suffix (clean, "/"))
    clean[strlen (clean) - 1] = '\0';
  if (self->config == NULL || g_strcmp0 (self->config->management_url, clean) == 0)
    return TRUE;
  g_free (self->config->management_url);
  self->config->management_url = g_steal_pointer (&clean);
  nb_client_notify (self, "management-url");
  return TRUE;
}

/**
 * nb_client_get_hostname:
 * @self: a #NbClient
 *
 * Returns: (nullable): the name the peer registers with, %NULL for the
 *   machine's
 */
const char *
nb_client_get_hostname (NbClient *self)
{
  g_return_val_if_fail (NB_IS_CLIENT (self), NULL);
  return self->config != NULL ? self->config->hostname : NULL;
}

/**
 * nb_client_set_hostname:
 * @self: a #NbClient
 * @hostname: (nullable): the name the peer registers with, %NULL for the
 *   machine's
 *
 * Sets #NbClient:hostname.
 */
void
nb_client_set_hostname (NbClient   *self,
                        const char *hostname)
{
  g_return_if_fail (NB_IS_CLIENT (self));
  if (hostname != NULL && hostname[0] == '\0')
    hostname = NULL;
  if (self->config == NULL || g_strcmp0 (self->config->hostname, hostname) == 0)
    return;
  g_free (self->config->hostname);
  self->config->hostname = g_strdup (hostname);
  nb_client_notify (self, "hostname");
}

/**
 * nb_client_get_interface_name:
 * @self: a #NbClient
 *
 * Returns: the TUN interface's name
 */
const char *
nb_client_get_interface_name (NbClient *self)
{
  g_return_val_if_fail (NB_IS_CLIENT (self), NULL);
  return self->config != NULL ? self->config->interface_name : NULL;
}

/**
 * nb_client_set_interface_name:
 * @self: a #NbClient
 * @name: an interface name (1 to 15 characters)
 * @error: return location for a #GError
 *
 * Sets #NbClient:interface-name.
 *
 * Returns: %TRUE, or %FALSE with %NB_CLIENT_ERROR_CONFIG
 */
gboolean
nb_client_set_interface_name (NbClient    *self,
                              const char  *name,
                              GError     **error)
{
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (NB_IS_CLIENT (self), FALSE);
  if (name == NULL || !nb_wg_uapi_server_check_name (name, &local_error))
    {
      g_set_error (error, NB_CLIENT_ERROR, NB_CLIENT_ERROR_CONFIG,
                   "“%s” is not an interface name%s%s", name != NULL ? name : "",
                   local_error != NULL ? ": " : "",
                   local_error != NULL ? local_error->message : "");
      return FALSE;
    }
  if (self->config == NULL || g_str_equal (self->config->interface_name, name))
    return TRUE;
  g_free (self->config->interface_name);
  self->config->interface_name = g_strdup (name);
  nb_client_notify (self, "interface-name");
  return TRUE;
}

/**
 * nb_client_get_wireguard_port:
 * @self: a #NbClient
 *
 * Returns: WireGuard's UDP port, 0 for any
 */
guint16
nb_client_get_wireguard_port (NbClient *self)
{
  g_return_val_if_fail (NB_IS_CLIENT (self), 0);
  return self->config != NULL ? self->config->wireguard_port : 0;
}

/**
 * nb_client_set_wireguard_port:
 * @self: a #NbClient
 * @port: WireGuard's UDP port, 0 for any
 *
 * Sets #NbClient:wireguard-port.
 */
void
nb_client_set_wireguard_port (NbClient *self,
                              guint16   port)
{
  g_return_if_fail (NB_IS_CLIENT (self));
  if (self->config == NULL || self->config->wireguard_port == port)
    return;
  self->config->wireguard_port = port;
  nb_client_notify (self, "wireguard-port");
}

/**
 * nb_client_set_preshared_key:
 * @self: a #NbClient
 * @base64: (nullable): a WireGuard pre-shared key (as `wg genpsk` prints
 *   it), or %NULL for none
 * @error: return location for a #GError
 *
 * Sets the pre-shared key every WireGuard peer of the tunnel gets (all
 * peers of the network must have the same). Takes effect at the next
 * nb_client_up_async(); saved (mode 0600) by nb_client_save_config().
 *
 * Returns: %TRUE, or %FALSE with %NB_CLIENT_ERROR_CONFIG
 */
gboolean
nb_client_set_preshared_key (NbClient    *self,
                             const char  *base64,
                             GError     **error)
{
  g_return_val_if_fail (NB_IS_CLIENT (self), FALSE);
  if (!nb_client_config_check_preshared_key (base64, error))
    return FALSE;
  if (self->config->preshared_key != NULL)
    sodium_memzero (self->config->preshared_key, strlen (self->config->preshared_key));
  g_free (self->config->preshared_key);
  self->config->preshared_key = base64 != NULL && base64[0] != '\0' ? g_strdup (base64) : NULL;
  return TRUE;
}

/**
 * nb_client_get_block_inbound:
 * @self: a #NbClient
 *
 * Returns: whether inbound connections are all dropped
 */
gboolean
nb_client_get_block_inbound (NbClient *self)
{
  g_return_val_if_fail (NB_IS_CLIENT (self), FALSE);
  return self->config != NULL && self->config->block_inbound;
}

/**
 * nb_client_set_block_inbound:
 * @self: a #NbClient
 * @block: whether to drop every inbound connection
 *
 * Sets #NbClient:block-inbound.
 */
void
nb_client_set_block_inbound (NbClient *self,
                             gboolean  block)
{
  g_return_if_fail (NB_IS_CLIENT (self));
  block = !!block;
  if (self->config == NULL || self->config->block_inbound == block)
    return;
  self->config->block_inbound = block;
  if (self->engine != NULL)
    nb_client_engine_update_filter_mode (self->engine);
  nb_client_notify (self, "block-inbound");
  nb_client_notify (self, "firewall-mode");
}

/**
 * nb_client_get_disable_firewall:
 * @self: a #NbClient
 *
 * Returns: whether the packet filter is off
 */
gboolean
nb_client_get_disable_firewall (NbClient *self)
{
  g_return_val_if_fail (NB_IS_CLIENT (self), FALSE);
  return self->config != NULL && self->config->disable_firewall;
}

/**
 * nb_client_set_disable_firewall:
 * @self: a #NbClient
 * @disable: whether to turn the packet filter off
 *
 * Sets #NbClient:disable-firewall.
 */
void
nb_client_set_disable_firewall (NbClient *self,
                                gboolean  disable)
{
  g_return_if_fail (NB_IS_CLIENT (self));
  disable = !!disable;
  if (self->config == NULL || self->config->disable_firewall == disable)
    return;
  self->config->disable_firewall = disable;
  if (self->engine != NULL)
    nb_client_engine_update_filter_mode (self->engine);
  nb_client_notify (self, "disable-firewall");
  nb_client_notify (self, "firewall-mode");
}

/**
 * nb_client_get_disable_dns:
 * @self: a #NbClient
 *
 * Returns: whether the client leaves the host's DNS alone
 */
gboolean
nb_client_get_disable_dns (NbClient *self)
{
  g_return_val_if_fail (NB_IS_CLIENT (self), FALSE);
  return self->config != NULL && self->config->disable_dns;
}

/**
 * nb_client_set_disable_dns:
 * @self: a #NbClient
 * @disable: whether to leave the host's DNS alone
 *
 * Sets #NbClient:disable-dns.
 */
void
nb_client_set_disable_dns (NbClient *self,
                           gboolean  disable)
{
  g_return_if_fail (NB_IS_CLIENT (self));
  disable = !!disable;
  if (self->config == NULL || self->config->disable_dns == disable)
    return;
  self->config->disable_dns = disable;
  if (disable && self->engine != NULL)
    nb_client_engine_stop_dns (self->engine);
  nb_client_notify (self, "disable-dns");
}
