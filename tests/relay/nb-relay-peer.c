/* nb-relay-peer.c: one peer whose WireGuard runs over a relay only, for the
 * namespace test and the relay benchmark
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 *   nb-relay-peer --ifname NAME --address 100.64.0.1/24 --private-key FILE
 *                 --peer-key BASE64 --peer-allowed-ip 100.64.0.2/32
 *                 --relay rel://HOST:PORT --relay-secret SECRET
 *
 * A real TUN device with the overlay address, a WireGuard device with one
 * remote peer and no endpoint, and an NbRelayClient whose channel transport
 * the peer uses: every WireGuard datagram goes through the relay. The token
 * is made as Management makes it (nb-mgmt-netmap-wire.c), from the shared
 * secret. The client engine will do this for each peer of a map.
 *
 * It prints one line per event on stdout:
 *   start public_key=KEY ifname=NAME
 *   relay=connected|connecting|waiting connects=N
 *   peer=online|offline
 *   stats|exit relay_tx=N relay_rx=N relay_dropped=N
 * SIGUSR2 prints a stats line; SIGTERM and SIGINT end it cleanly. wg(8)
 * reads the device on /var/run/wireguard/NAME.sock.
 */
#define G_LOG_DOMAIN "nb-relay-peer"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib-unix.h>

#include "nb-key.h"
#include "nb-relay-client-private.h"
#include "nb-relay-token-private.h"
#include "nb-tun.h"
#include "nb-wg-device.h"
#include "nb-wg-peer.h"
#include "nb-wg-uapi.h"

typedef struct
{
  GMainLoop *loop;
  NbRelayClient *client;
} Peer;

static gboolean
on_quit (gpointer user_data)
{
  g_main_loop_quit (((Peer *) user_data)->loop);
  return G_SOURCE_CONTINUE;
}

static void
print_stats (Peer       *p,
             const char *what)
{
  guint64 tx = 0, rx = 0, dropped = 0;

  nb_relay_client_get_stats (p->client, &tx, &rx, &dropped);
  g_print ("%s relay_tx=%" G_GUINT64_FORMAT " relay_rx=%" G_GUINT64_FORMAT
           " relay_dropped=%" G_GUINT64_FORMAT "\n", what, tx, rx, dropped);
}

static gboolean
on_stats (gpointer user_data)
{
  print_stats (user_data, "stats");
  return G_SOURCE_CONTINUE;
}

static void
on_state (NbRelayClient *client,
          GParamSpec    *pspec,
          Peer          *p)
{
  static const char *const names[] = { "stopped", "connecting", "connected", "waiting" };

  g_print ("relay=%s connects=%u close_code=%u\n", names[nb_relay_client_get_state (client)],
           nb_relay_client_get_n_connects (client), nb_relay_client_get_close_code (client));
}

static void
on_peer (NbRelayClient *client,
         NbKey         *key,
         gpointer       online)
{
  g_print ("peer=%s\n", online ? "online" : "offline");
}

static gboolean
parse_prefix (const char    *text,
              GInetAddress **address,
              guint         *length)
{
  g_auto(GStrv) parts = g_strsplit (text, "/", 2);
  guint64 value = 0;

  *address = parts[0] != NULL ? g_inet_address_new_from_string (parts[0]) : NULL;
  if (*address == NULL || parts[1] == NULL ||
      !g_ascii_string_to_unsigned (parts[1], 10, 0, 128, &value, NULL))
    {
      g_clear_object (address);
      return FALSE;
    }
  *length = value;
  return TRUE;
}

static void
die (const char *what,
     GError     *error)
{
  g_printerr ("nb-relay-peer: %s: %s\n", what, error != NULL ? error->message : "invalid");
  exit (1);
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *ifname = NULL, *address = NULL, *key_path = NULL, *peer_key = NULL;
  g_autofree char *allowed_ip = NULL, *relay_url = NULL, *relay_secret = NULL;
  GOptionEntry entries[] = {
    { "ifname", 0, 0, G_OPTION_ARG_STRING, &ifname, "TUN interface name", "NAME" },
    { "address", 0, 0, G_OPTION_ARG_STRING, &address, "Overlay address", "IP/LEN" },
    { "private-key", 0, 0, G_OPTION_ARG_FILENAME, &key_path, "WireGuard private key file", "FILE" },
    { "peer-key", 0, 0, G_OPTION_ARG_STRING, &peer_key, "The other peer's public key", "BASE64" },
    { "peer-allowed-ip", 0, 0, G_OPTION_ARG_STRING, &allowed_ip, "The other peer's allowed IP",
      "IP/LEN" },
    { "relay", 0, 0, G_OPTION_ARG_STRING, &relay_url, "The relay", "rel://HOST:PORT" },
    { "relay-secret", 0, 0, G_OPTION_ARG_STRING, &relay_secret, "The relay's auth secret",
      "SECRET" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- one WireGuard peer over a relay");
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) overlay = NULL, allowed = NULL;
  g_autoptr(GInetAddressMask) allowed_mask = NULL;
  g_autoptr(NbKey) key = NULL, remote_key = NULL;
  g_autoptr(NbTun) tun = NULL;
  g_autoptr(NbWgDevice) device = NULL;
  g_autoptr(NbWgUapiServer) uapi = NULL;
  g_autofree char *payload = NULL, *signature = NULL;
  guint overlay_len = 0, allowed_len = 0;
  NbWgPeer *wg_peer;
  Peer p = { 0 };

  setvbuf (stdout, NULL, _IOLBF, 0);
  p.loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGTERM, on_quit, &p);
  g_unix_signal_add (SIGINT, on_quit, &p);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    die ("options", error);
  if (ifname == NULL || address == NULL || key_path == NULL || peer_key == NULL ||
      allowed_ip == NULL || relay_url == NULL || relay_secret == NULL)
    {
      g_printerr ("nb-relay-peer: --ifname, --address, --private-key, --peer-key, "
                  "--peer-allowed-ip, --relay and --relay-secret are required\n");
      return 2;
    }
  if (!parse_prefix (address, &overlay, &overlay_len) ||
      !parse_prefix (allowed_ip, &allowed, &allowed_len))
    die ("an address with a prefix length (100.64.0.1/24)", NULL);
  allowed_mask = g_inet_address_mask_new (allowed, allowed_len, &error);
  if (allowed_mask == NULL)
    die ("--peer-allowed-ip", error);
  key = nb_key_new_from_file (key_path, &error);
  if (key == NULL)
    die ("--private-key", error);
  remote_key = nb_key_new_public_from_base64 (peer_key, &error);
  if (remote_key == NULL)
    die ("--peer-key", error);

  tun = nb_tun_new (ifname, &error);
  if (tun == NULL)
    die ("TUN", error);
  device = nb_wg_device_new (tun);
  if (!nb_wg_device_set_private_key (device, key, &error))
    die ("WireGuard", error);
  wg_peer = nb_wg_device_add_peer (device, remote_key, &error);
  if (wg_peer == NULL || !nb_wg_peer_add_allowed_ip (wg_peer, allowed_mask, &error))
    die ("WireGuard peer", error);
  if (!nb_wg_device_up (device, &error))
    die ("WireGuard", error);
  uapi = nb_wg_uapi_server_new (device, ifname, &error);
  if (uapi == NULL)
    die ("wg(8) socket", error);
  if (!nb_tun_add_address_full (tun, overlay, overlay_len, &error) ||
      !nb_tun_set_up (tun, TRUE, &error))
    die ("TUN", error);

  p.client = nb_relay_client_new (relay_url, key, &error);
  if (p.client == NULL)
    die ("--relay", error);
  nb_relay_token_make (relay_secret, g_get_real_time () / G_USEC_PER_SEC + 3600,
                       nb_key_get_public_base64 (key), &payload, &signature);
  nb_relay_client_set_token (p.client, payload, signature);
  g_signal_connect (p.client, "notify::state", G_CALLBACK (on_state), &p);
  g_signal_connect (p.client, "peer-online", G_CALLBACK (on_peer), GINT_TO_POINTER (TRUE));
  g_signal_connect (p.client, "peer-offline", G_CALLBACK (on_peer), GINT_TO_POINTER (FALSE));
  nb_relay_client_watch_peer (p.client, remote_key);
  nb_wg_peer_set_transport (wg_peer, nb_relay_client_new_wg_transport (p.client, remote_key,
                                                                       device, wg_peer));
  g_print ("start public_key=%s ifname=%s\n", nb_key_get_public_base64 (key), ifname);
  nb_relay_client_start (p.client);

  g_unix_signal_add (SIGUSR2, on_stats, &p);
  g_main_loop_run (p.loop);

  print_stats (&p, "exit");
  nb_wg_peer_set_transport (wg_peer, NULL);
  nb_relay_client_stop (p.client);
  nb_wg_uapi_server_close (uapi);
  nb_wg_device_down (device);
  g_clear_object (&p.client);
  g_main_loop_unref (p.loop);
  return 0;
}
