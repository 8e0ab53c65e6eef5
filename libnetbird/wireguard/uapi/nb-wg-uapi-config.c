/* nb-wg-uapi-config.c: parsing a "set" of the configuration protocol
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * The protocol: https://www.wireguard.com/xplatform/#configuration-protocol
 * Lines are key=value; device keys come first, then each public_key line
 * starts a peer whose keys follow it. Errors answer as wireguard-go's do:
 * a line without "=" is EPROTO, any bad key or value EINVAL.
 */
#define G_LOG_DOMAIN "netbird-wg-uapi"

#include <errno.h>
#include <string.h>

#include "nb-wg-uapi-private.h"

G_DEFINE_QUARK (nb-wg-uapi-error-quark, nb_wg_uapi_error)

/**
 * nb_wg_uapi_error_to_errno:
 * @error: an error of any domain
 *
 * The errno value the configuration protocol reports for @error: `-22`
 * (EINVAL) for %NB_WG_UAPI_ERROR_INVALID and errors of other domains about
 * a value, `-71` (EPROTO), `-98` (EADDRINUSE), `-5` (EIO), as wireguard-go
 * answers.
 *
 * Returns: a negative errno value
 */
int
nb_wg_uapi_error_to_errno (const GError *error)
{
  g_return_val_if_fail (error != NULL, -EINVAL);

  if (error->domain == NB_WG_UAPI_ERROR)
    switch ((NbWgUapiError) error->code)
      {
      case NB_WG_UAPI_ERROR_INVALID:
        return -EINVAL;
      case NB_WG_UAPI_ERROR_PROTOCOL:
        return -EPROTO;
      case NB_WG_UAPI_ERROR_ADDRESS_IN_USE:
        return -EADDRINUSE;
      case NB_WG_UAPI_ERROR_IO:
      case NB_WG_UAPI_ERROR_SOCKET:
        return -EIO;
      }
  if (error->domain == NB_WG_DEVICE_ERROR && error->code == NB_WG_DEVICE_ERROR_ADDRESS_IN_USE)
    return -EADDRINUSE;
  if (error->domain == NB_WG_DEVICE_ERROR && error->code == NB_WG_DEVICE_ERROR_SYSTEM)
    return -EIO;
  return -EINVAL;
}

static void
peer_config_free (gpointer data)
{
  NbWgUapiPeerConfig *peer = data;

  g_clear_object (&peer->endpoint);
  g_clear_pointer (&peer->allowed_ips, g_array_unref);
  memset (peer->preshared_key, 0, sizeof peer->preshared_key);
  g_free (peer);
}

static void
allowed_ip_clear (gpointer data)
{
  NbWgUapiAllowedIp *aip = data;

  g_clear_object (&aip->prefix);
}

void
nb_wg_uapi_config_free (NbWgUapiConfig *config)
{
  if (config == NULL)
    return;
  g_clear_pointer (&config->peers, g_ptr_array_unref);
  g_clear_pointer (&config->filter_rules, g_array_unref);
  g_clear_pointer (&config->filter_rule_set, nb_filter_rule_set_free);
  memset (config->private_key, 0, sizeof config->private_key);
  g_free (config);
}

static int
hex_value (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

gboolean
nb_wg_uapi_parse_hex_key (const char *text,
                          guint8      key[NB_WG_UAPI_KEY_LEN])
{
  if (strlen (text) != 2 * NB_WG_UAPI_KEY_LEN)
    return FALSE;
  for (guint i = 0; i < NB_WG_UAPI_KEY_LEN; i++)
    {
      int hi = hex_value (text[2 * i]);
      int lo = hex_value (text[2 * i + 1]);

      if (hi < 0 || lo < 0)
        return FALSE;
      key[i] = (guint8) (hi << 4 | lo);
    }
  return TRUE;
}

void
nb_wg_uapi_format_hex_key (const guint8 key[NB_WG_UAPI_KEY_LEN],
                           char         out[2 * NB_WG_UAPI_KEY_LEN + 1])
{
  static const char digits[] = "0123456789abcdef";

  for (guint i = 0; i < NB_WG_UAPI_KEY_LEN; i++)
    {
      out[2 * i] = digits[key[i] >> 4];
      out[2 * i + 1] = digits[key[i] & 15];
    }
  out[2 * NB_WG_UAPI_KEY_LEN] = '\0';
}

/* Decimal digits only, no sign, no spaces, at most @max. */
static gboolean
parse_uint (const char *text,
            guint64     max,
            guint64    *out)
{
  guint64 v = 0;

  if (*text == '\0')
    return FALSE;
  for (const char *p = text; *p; p++)
    {
      if (*p < '0' || *p > '9')
        return FALSE;
      v = v * 10 + (guint64) (*p - '0');
      if (v > max)
        return FALSE;
    }
  *out = v;
  return TRUE;
}

GInetSocketAddress *
nb_wg_uapi_parse_endpoint (const char *text)
{
  g_autofree char *host = NULL;
  g_autoptr(GInetAddress) address = NULL;
  const char *port_text;
  guint64 port;

  if (text[0] == '[')
    {
      const char *close = strchr (text, ']');

      if (close == NULL || close[1] != ':')
        return NULL;
      host = g_strndup (text + 1, (gsize) (close - text - 1));
      port_text = close + 2;
      address = g_inet_address_new_from_string (host);
      if (address == NULL || g_inet_address_get_family (address) != G_SOCKET_FAMILY_IPV6)
        return NULL;
    }
  else
    {
      const char *colon = strrchr (text, ':');

      if (colon == NULL)
        return NULL;
      host = g_strndup (text, (gsize) (colon - text));
      port_text = colon + 1;
      address = g_inet_address_new_from_string (host);
      if (address == NULL || g_inet_address_get_family (address) != G_SOCKET_FAMILY_IPV4)
        return NULL;
    }
  if (!parse_uint (port_text, G_MAXUINT16, &port))
    return NULL;
  return G_INET_SOCKET_ADDRESS (g_inet_socket_address_new (address, (guint16) port));
}

char *
nb_wg_uapi_format_endpoint (GInetSocketAddress *endpoint)
{
  GInetAddress *address = g_inet_socket_address_get_address (endpoint);
  g_autofree char *host = g_inet_address_to_string (address);
  guint16 port = g_inet_socket_address_get_port (endpoint);

  if (g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6)
    return g_strdup_printf ("[%s]:%u", host, port);
  return g_strdup_printf ("%s:%u", host, port);
}

/* "10.0.0.1/24" as the kernel stores it: 10.0.0.0/24. A missing length is
 * refused, as netip.ParsePrefix and the kernel's netlink API refuse it. */
static GInetAddressMask *
parse_prefix (const char *text)
{
  g_autofree char *host = NULL;
  g_autoptr(GInetAddress) address = NULL;
  const char *slash = strchr (text, '/');
  guint8 bytes[16];
  guint64 length;
  gsize size;

  if (slash == NULL)
    return NULL;
  host = g_strndup (text, (gsize) (slash - text));
  address = g_inet_address_new_from_string (host);
  if (address == NULL || strchr (host, '%') != NULL)
    return NULL;
  size = g_inet_address_get_native_size (address);
  if (!parse_uint (slash + 1, size * 8, &length))
    return NULL;
  memcpy (bytes, g_inet_address_to_bytes (address), size);
  for (gsize bit = (gsize) length; bit < size * 8; bit++)
    bytes[bit / 8] &= (guint8) ~(0x80 >> (bit % 8));
  g_clear_object (&address);
  address = g_inet_address_new_from_bytes (bytes, size == 4 ? G_SOCKET_FAMILY_IPV4
                                                             : G_SOCKET_FAMILY_IPV6);
  return g_inet_address_mask_new (address, (guint) length, NULL);
}

static gboolean
invalid (GError    **error,
         const char *format,
         ...) G_GNUC_PRINTF (2, 3);

static gboolean
invalid (GError    **error,
         const char *format,
         ...)
{
  va_list args;
  char *message;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, NB_WG_UAPI_ERROR, NB_WG_UAPI_ERROR_INVALID, message);
  g_free (message);
  return FALSE;
}

static gboolean
parse_true (const char  *key,
            const char  *value,
            GError     **error)
{
  if (strcmp (value, "true") != 0)
    return invalid (error, "%s must be “true”, not “%s”", key, value);
  return TRUE;
}

static gboolean
parse_device_line (NbWgUapiConfig  *config,
                   const char      *key,
                   const char      *value,
                   GError         **error)
{
  guint64 v;

  if (strcmp (key, "private_key") == 0)
    {
      if (!nb_wg_uapi_parse_hex_key (value, config->private_key))
        return invalid (error, "private_key must be 64 hexadecimal digits");
      config->has_private_key = TRUE;
    }
  else if (strcmp (key, "listen_port") == 0)
    {
      if (!parse_uint (value, G_MAXUINT16, &v))
        return invalid (error, "listen_port “%s” is not a port number (0 to 65535)", value);
      config->has_listen_port = TRUE;
      config->listen_port = (guint16) v;
    }
  else if (strcmp (key, "fwmark") == 0)
    {
      if (!parse_uint (value, G_MAXUINT32, &v))
        return invalid (error, "fwmark “%s” is not a 32-bit number", value);
      config->has_fwmark = TRUE;
      config->fwmark = (guint32) v;
    }
  else if (strcmp (key, "replace_peers") == 0)
    {
      if (!parse_true (key, value, error))
        return FALSE;
      config->replace_peers = TRUE;
    }
  else if (strcmp (key, "filter_mode") == 0)
    {
      if (!nb_filter_mode_from_string (value, &config->filter_mode))
        return invalid (error, "filter_mode “%s” is not enforcing, block-inbound or disabled",
                        value);
      config->has_filter_mode = TRUE;
    }
  else if (strcmp (key, "filter_rule") == 0)
    {
      NbFilterRule rule;
      g_autoptr(GError) rule_error = NULL;

      if (!nb_filter_rule_parse (value, &rule, &rule_error))
        return invalid (error, "%s", rule_error->message);
      if (config->filter_rules == NULL)
        config->filter_rules = g_array_new (FALSE, FALSE, sizeof (NbFilterRule));
      g_array_append_val (config->filter_rules, rule);
      config->filter_replace_rules = TRUE;
    }
  else if (strcmp (key, "filter_replace_rules") == 0)
    {
      if (!parse_true (key, value, error))
        return FALSE;
      config->filter_replace_rules = TRUE;
    }
  else if (strcmp (key, "filter_remove_rules") == 0)
    {
      if (!parse_true (key, value, error))
        return FALSE;
      config->filter_remove_rules = TRUE;
    }
  else
    return invalid (error, "“%s” is not a device key", key);
  return TRUE;
}

static gboolean
parse_peer_line (NbWgUapiPeerConfig  *peer,
                 const char          *key,
                 const char          *value,
                 GError             **error)
{
  guint64 v;

  if (strcmp (key, "remove") == 0)
    {
      if (!parse_true (key, value, error))
        return FALSE;
      peer->remove = TRUE;
    }
  else if (strcmp (key, "update_only") == 0)
    {
      if (!parse_true (key, value, error))
        return FALSE;
      peer->update_only = TRUE;
    }
  else if (strcmp (key, "preshared_key") == 0)
    {
      if (!nb_wg_uapi_parse_hex_key (value, peer->preshared_key))
        return invalid (error, "preshared_key must be 64 hexadecimal digits");
      peer->has_preshared_key = TRUE;
    }
  else if (strcmp (key, "endpoint") == 0)
    {
      GInetSocketAddress *endpoint = nb_wg_uapi_parse_endpoint (value);

      if (endpoint == NULL)
        return invalid (error, "endpoint “%s” is not IPv4:port or [IPv6]:port", value);
      g_clear_object (&peer->endpoint);
      peer->endpoint = endpoint;
    }
  else if (strcmp (key, "persistent_keepalive_interval") == 0)
    {
      if (!parse_uint (value, G_MAXUINT16, &v))
        return invalid (error, "persistent_keepalive_interval “%s” is not 0 to 65535 seconds",
                        value);
      peer->has_keepalive = TRUE;
      peer->keepalive = (guint16) v;
    }
  else if (strcmp (key, "replace_allowed_ips") == 0)
    {
      NbWgUapiAllowedIp aip = { NB_WG_UAPI_ALLOWED_IP_REPLACE, NULL };

      if (!parse_true (key, value, error))
        return FALSE;
      g_array_append_val (peer->allowed_ips, aip);
    }
  else if (strcmp (key, "allowed_ip") == 0)
    {
      NbWgUapiAllowedIp aip = { NB_WG_UAPI_ALLOWED_IP_ADD, parse_prefix (value) };

      if (aip.prefix == NULL)
        return invalid (error, "allowed_ip “%s” is not an address/length prefix", value);
      g_array_append_val (peer->allowed_ips, aip);
    }
  else if (strcmp (key, "protocol_version") == 0)
    {
      if (strcmp (value, "1") != 0)
        return invalid (error, "protocol_version %s is not supported (only 1 is)", value);
    }
  else
    return invalid (error, "“%s” is not a peer key", key);
  return TRUE;
}

NbWgUapiConfig *
nb_wg_uapi_config_parse (const char  *text,
                         gsize        length,
                         GError     **error)
{
  g_autoptr(NbWgUapiConfig) config = g_new0 (NbWgUapiConfig, 1);
  NbWgUapiPeerConfig *peer = NULL;
  const char *p = text, *end = text + length;
  guint line_number = 0;

  config->peers = g_ptr_array_new_with_free_func (peer_config_free);

  while (p < end)
    {
      const char *eol = memchr (p, '\n', (gsize) (end - p));
      gsize line_len = (gsize) ((eol ? eol : end) - p);
      g_autofree char *line = g_strndup (p, line_len);
      g_autoptr(GError) local_error = NULL;
      char *eq;

      p = eol ? eol + 1 : end;
      line_number++;
      if (line_len == 0)
        break;                       /* an empty line ends the operation */
      if (strlen (line) != line_len)
        {
          g_set_error (error, NB_WG_UAPI_ERROR, NB_WG_UAPI_ERROR_PROTOCOL,
                       "line %u holds a NUL byte", line_number);
          return NULL;
        }
      eq = strchr (line, '=');
      if (eq == NULL)
        {
          g_set_error (error, NB_WG_UAPI_ERROR, NB_WG_UAPI_ERROR_PROTOCOL,
                       "line %u is not key=value", line_number);
          return NULL;
        }
      *eq = '\0';

      if (strcmp (line, "public_key") == 0)
        {
          peer = g_new0 (NbWgUapiPeerConfig, 1);
          peer->allowed_ips = g_array_new (FALSE, FALSE, sizeof (NbWgUapiAllowedIp));
          g_array_set_clear_func (peer->allowed_ips, allowed_ip_clear);
          g_ptr_array_add (config->peers, peer);
          if (!nb_wg_uapi_parse_hex_key (eq + 1, peer->public_key))
            invalid (&local_error, "public_key must be 64 hexadecimal digits");
        }
      else if (peer == NULL)
        parse_device_line (config, line, eq + 1, &local_error);
      else
        parse_peer_line (peer, line, eq + 1, &local_error);

      if (local_error != NULL)
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&local_error), "line %u: ",
                                      line_number);
          return NULL;
        }
    }

  /* The filter's rules are checked whole here too, before anything is
   * applied. */
  if (config->filter_replace_rules && config->filter_remove_rules)
    {
      g_set_error (error, NB_WG_UAPI_ERROR, NB_WG_UAPI_ERROR_INVALID,
                   "filter_remove_rules cannot come with filter rules to put in force");
      return NULL;
    }
  if (config->filter_replace_rules)
    {
      GArray *rules = config->filter_rules;

      config->filter_rule_set =
          nb_filter_rule_set_compile (rules != NULL ? (const NbFilterRule *) (void *) rules->data
                                                    : NULL,
                                      rules != NULL ? rules->len : 0, error);
      if (config->filter_rule_set == NULL)
        return NULL;
    }
  return g_steal_pointer (&config);
}
