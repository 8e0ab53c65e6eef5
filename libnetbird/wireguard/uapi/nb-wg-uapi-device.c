/* nb-wg-uapi-device.c: "get" and "set" of the configuration protocol on a device
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-wg-uapi"

#include <errno.h>
#include <string.h>
#include <sodium.h>

#include "nb-key-private.h"
#include "nb-wg-device-private.h"
#include "nb-wg-uapi-private.h"

static void
append_key (GString      *out,
            const char   *name,
            const guint8 *key)
{
  char hex[2 * NB_WG_UAPI_KEY_LEN + 1];

  nb_wg_uapi_format_hex_key (key, hex);
  g_string_append_printf (out, "%s=%s\n", name, hex);
  sodium_memzero (hex, sizeof hex);
}

/**
 * nb_wg_uapi_get_config:
 * @device: a #NbWgDevice
 *
 * Describes @device as the configuration protocol's "get" does: the
 * `key=value` lines `wg show` and `wg showconf` read (private key, listen
 * port, fwmark, then per peer its public and preshared keys, endpoint,
 * handshake time, byte counters, keepalive and allowed IPs), without the
 * closing `errno=` line. Keys are in hexadecimal; the text holds the
 * private key, so treat it as a secret.
 *
 * Returns: (transfer full): the lines
 */
char *
nb_wg_uapi_get_config (NbWgDevice *device)
{
  GString *out = g_string_sized_new (256);
  NbKey *private_key;
  g_autoptr(GPtrArray) peers = NULL;

  g_return_val_if_fail (NB_IS_WG_DEVICE (device), NULL);

  private_key = nb_wg_device_get_private_key (device);
  if (private_key != NULL && nb_key_has_private (private_key))
    append_key (out, "private_key", nb_key_get_private_data (private_key));
  if (nb_wg_device_get_listen_port (device) != 0)
    g_string_append_printf (out, "listen_port=%u\n", nb_wg_device_get_listen_port (device));
  if (nb_wg_device_get_fwmark (device) != 0)
    g_string_append_printf (out, "fwmark=%u\n", nb_wg_device_get_fwmark (device));

  peers = nb_wg_device_list_peers (device);
  for (guint i = 0; peers != NULL && i < peers->len; i++)
    {
      NbWgPeer *peer = g_ptr_array_index (peers, i);
      g_autoptr(GInetSocketAddress) endpoint = nb_wg_peer_dup_endpoint (peer);
      g_autoptr(GPtrArray) allowed = nb_wg_peer_list_allowed_ips (peer);
      guint8 psk[NB_WG_UAPI_KEY_LEN];
      gint64 handshake = nb_wg_peer_get_last_handshake_time (peer);
      gsize len;

      append_key (out, "public_key", nb_key_get_public_data (nb_wg_peer_get_public_key (peer), &len));
      /* All zero when there is none, as wireguard-go prints it. */
      nb_wg_peer_copy_preshared_key (peer, psk);
      append_key (out, "preshared_key", psk);
      sodium_memzero (psk, sizeof psk);
      g_string_append (out, "protocol_version=1\n");
      if (endpoint != NULL)
        {
          g_autofree char *text = nb_wg_uapi_format_endpoint (endpoint);

          g_string_append_printf (out, "endpoint=%s\n", text);
        }
      /* nb-wg-device-private.h: µs since the epoch, 0 for never. */
      g_string_append_printf (out, "last_handshake_time_sec=%" G_GINT64_FORMAT "\n"
                                   "last_handshake_time_nsec=%" G_GINT64_FORMAT "\n",
                              handshake / G_USEC_PER_SEC,
                              (handshake % G_USEC_PER_SEC) * 1000);
      g_string_append_printf (out, "tx_bytes=%" G_GUINT64_FORMAT "\n"
                                   "rx_bytes=%" G_GUINT64_FORMAT "\n",
                              nb_wg_peer_get_tx_bytes (peer), nb_wg_peer_get_rx_bytes (peer));
      g_string_append_printf (out, "persistent_keepalive_interval=%u\n",
                              nb_wg_peer_get_persistent_keepalive (peer));
      for (guint j = 0; allowed != NULL && j < allowed->len; j++)
        {
          g_autofree char *prefix = g_inet_address_mask_to_string (g_ptr_array_index (allowed, j));

          /* GInetAddressMask prints a full-length mask without "/n". */
          if (strchr (prefix, '/') == NULL)
            g_string_append_printf (out, "allowed_ip=%s/%u\n", prefix,
                                    g_inet_address_mask_get_length (g_ptr_array_index (allowed, j)));
          else
            g_string_append_printf (out, "allowed_ip=%s\n", prefix);
        }
    }
  return g_string_free (out, FALSE);
}

static gboolean
apply_peer (NbWgDevice          *device,
            NbWgUapiPeerConfig  *config,
            const guint8        *own_public,
            GError             **error)
{
  g_autoptr(NbKey) key = NULL;
  g_autoptr(NbWgPeer) peer = NULL;

  /* A peer with the device's own key is ignored, as wireguard-go does. */
  if (own_public != NULL && sodium_memcmp (own_public, config->public_key, NB_WG_UAPI_KEY_LEN) == 0)
    return TRUE;

  key = nb_key_new_public_from_data (config->public_key, NB_WG_UAPI_KEY_LEN, error);
  if (key == NULL)
    return FALSE;

  /* The device owns its peers: lookup and add return them unowned. */
  peer = nb_wg_device_lookup_peer (device, key);
  if (peer != NULL)
    g_object_ref (peer);
  if (config->remove)
    {
      if (peer != NULL && !nb_wg_device_remove_peer (device, key, error))
        return FALSE;
      return TRUE;
    }
  if (peer == NULL)
    {
      if (config->update_only)
        return TRUE;
      peer = nb_wg_device_add_peer (device, key, error);
      if (peer == NULL)
        return FALSE;
      g_object_ref (peer);
    }

  if (config->has_preshared_key)
    {
      /* All zero removes it (nb_wg_peer_set_preshared_key() keeps none). */
      if (!nb_wg_peer_set_preshared_key (peer, config->preshared_key, NB_WG_UAPI_KEY_LEN, error))
        return FALSE;
    }
  if (config->endpoint != NULL)
    nb_wg_peer_set_endpoint (peer, config->endpoint);
  if (config->has_keepalive)
    {
      guint16 old = nb_wg_peer_get_persistent_keepalive (peer);

      nb_wg_peer_set_persistent_keepalive (peer, config->keepalive);
      /* Turning keepalive on sends one now (a handshake if there is no
       * session yet), so the peer learns our endpoint at once. */
      if (old == 0 && config->keepalive != 0 && nb_wg_device_is_up (device))
        nb_wg_peer_initiate_handshake (peer);
    }
  for (guint i = 0; i < config->allowed_ips->len; i++)
    {
      NbWgUapiAllowedIp *aip = &g_array_index (config->allowed_ips, NbWgUapiAllowedIp, i);

      if (aip->op == NB_WG_UAPI_ALLOWED_IP_REPLACE)
        nb_wg_peer_clear_allowed_ips (peer);
      else if (!nb_wg_peer_add_allowed_ip (peer, aip->prefix, error))
        return FALSE;
    }
  return TRUE;
}

/* Turns a device error into the protocol's: a taken port is EADDRINUSE,
 * anything else about a value EINVAL. */
static void
propagate_device_error (GError **error,
                        GError  *device_error)
{
  int code = NB_WG_UAPI_ERROR_INVALID;

  if (device_error->domain == NB_WG_DEVICE_ERROR &&
      device_error->code == NB_WG_DEVICE_ERROR_ADDRESS_IN_USE)
    code = NB_WG_UAPI_ERROR_ADDRESS_IN_USE;
  else if (device_error->domain == NB_WG_DEVICE_ERROR &&
           device_error->code == NB_WG_DEVICE_ERROR_SYSTEM)
    code = NB_WG_UAPI_ERROR_IO;
  g_set_error_literal (error, NB_WG_UAPI_ERROR, code, device_error->message);
  g_error_free (device_error);
}

/**
 * nb_wg_uapi_apply_config:
 * @device: a #NbWgDevice
 * @text: (array length=length) (element-type guint8): the lines of a "set"
 *   operation, without the `set=1` line
 * @length: the length of @text, or -1 if it is nul-terminated
 * @error: return location for a #GError
 *
 * Applies a configuration written in the configuration protocol
 * (`private_key=...`, `listen_port=...`, `public_key=...` and the peer keys
 * after it), stopping at the first empty line. The whole text is checked
 * before anything is applied: a line that is not `key=value` fails with
 * %NB_WG_UAPI_ERROR_PROTOCOL, a bad key or value with
 * %NB_WG_UAPI_ERROR_INVALID, and the device stays as it was. A listen port
 * that is taken fails with %NB_WG_UAPI_ERROR_ADDRESS_IN_USE before any
 * other change.
 *
 * Returns: %TRUE on success
 */
gboolean
nb_wg_uapi_apply_config (NbWgDevice  *device,
                         const char  *text,
                         gssize       length,
                         GError     **error)
{
  static const guint8 zero_key[NB_WG_UAPI_KEY_LEN];
  g_autoptr(NbWgUapiConfig) config = NULL;
  GError *local_error = NULL;
  const guint8 *own_public = NULL;
  NbKey *current;
  gsize len;

  g_return_val_if_fail (NB_IS_WG_DEVICE (device), FALSE);
  g_return_val_if_fail (text != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  config = nb_wg_uapi_config_parse (text, length < 0 ? strlen (text) : (gsize) length, error);
  if (config == NULL)
    return FALSE;

  /* The one step that can fail for reasons outside the text goes first. */
  if (config->has_listen_port &&
      config->listen_port != nb_wg_device_get_listen_port (device) &&
      !nb_wg_device_set_listen_port (device, config->listen_port, &local_error))
    {
      propagate_device_error (error, local_error);
      return FALSE;
    }
  if (config->has_fwmark &&
      !nb_wg_device_set_fwmark (device, config->fwmark, &local_error))
    {
      propagate_device_error (error, local_error);
      return FALSE;
    }

  if (config->filter_replace_rules)
    nb_wg_device_set_filter_rule_set (device, g_steal_pointer (&config->filter_rule_set));
  else if (config->filter_remove_rules)
    nb_wg_device_set_filter_rule_set (device, NULL);
  if (config->has_filter_mode)
    nb_wg_device_set_filter_mode (device, config->filter_mode);

  if (config->has_private_key)
    {
      g_autoptr(NbKey) key = NULL;

      if (sodium_memcmp (config->private_key, zero_key, NB_WG_UAPI_KEY_LEN) != 0)
        {
          key = nb_key_new_from_data (config->private_key, NB_WG_UAPI_KEY_LEN, &local_error);
          if (key == NULL)
            {
              propagate_device_error (error, local_error);
              return FALSE;
            }
        }
      if (!nb_wg_device_set_private_key (device, key, &local_error))
        {
          propagate_device_error (error, local_error);
          return FALSE;
        }
    }

  current = nb_wg_device_get_private_key (device);
  if (current != NULL)
    own_public = nb_key_get_public_data (current, &len);

  if (config->replace_peers)
    nb_wg_device_remove_all_peers (device);

  for (guint i = 0; i < config->peers->len; i++)
    if (!apply_peer (device, g_ptr_array_index (config->peers, i), own_public, &local_error))
      {
        propagate_device_error (error, local_error);
        return FALSE;
      }
  return TRUE;
}
