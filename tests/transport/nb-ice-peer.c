/* nb-ice-peer.c: one peer as a host runs it, for the namespace tests
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 *   nb-ice-peer --ifname NAME --address 100.64.0.1/10 --private-key FILE
 *               --peer-key BASE64 --peer-allowed-ip 100.64.0.2/32
 *               [--stun URI]... [--turn URI]... [--turn-secret SECRET]
 *               [--relay-only] [--local-address IP]...
 *               --signal ws://HOST:PORT
 *
 * A real TUN device with the overlay address, a WireGuard device with its
 * key and one remote peer, and an ICE session with that peer whose
 * credentials and candidates travel through a Signal server (NbSignalClient,
 * sealed between the two keys). The client engine (next issue) will do this for every peer of a
 * network map; this program does it for one, so that tests and the ICE
 * benchmark can run two hosts in network namespaces.
 *
 * It prints one line per event on stdout, "key=value" words:
 *   start public_key=KEY ifname=NAME
 *   signal=connected|disconnected connects=N elapsed_ms=N
 *   session=ID state=gathering|connecting|connected|failed elapsed_ms=N
 *   state=connected local_type=srflx remote_type=srflx local=IP:PORT
 *     remote=IP:PORT session=ID round=N elapsed_ms=N
 *   transport=socket|channel|none elapsed_ms=N
 *   local_candidate candidate:... | remote_candidate candidate:...
 *   restart session=ID
 *   stats|exit channel_rx=N channel_tx=N signal_rx=N signal_tx=N stale=N
 *     undeliverable=N elapsed_ms=N
 * elapsed_ms counts from the program's start. channel_rx/tx count the
 * WireGuard datagrams that went through the ICE agent rather than the
 * handed-over socket. SIGUSR1 starts a new ICE round
 * (nb_ice_session_restart()), SIGUSR2 prints a stats line; SIGTERM and
 * SIGINT end it cleanly.
 *
 * The WireGuard device also serves wg(8) on /var/run/wireguard/NAME.sock,
 * so tests read it with `wg show` and its counters with stats=1.
 *
 * TURN credentials are made as Management makes them for coturn's
 * use-auth-secret (nb-mgmt-netmap-wire.c): user "EXPIRY:PUBLIC_KEY",
 * password the base64 HMAC-SHA1 of the user under the shared secret.
 *
 * Signalling: an offer carries this side's ICE credentials and session id
 * whenever the session makes new ones (start, restart) and whenever the
 * client (re)connects to Signal; each local candidate follows in a
 * candidate message. An offer with a session id not
 * seen before is answered with the current credentials and every local
 * candidate of the round, so a peer that came late (or reconnected after
 * Signal was down) still gets them. Candidates of a session id other than
 * the other peer's current one are stale and dropped.
 */
#define G_LOG_DOMAIN "nb-ice-peer"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib-unix.h>

#include "nb-ice-session.h"
#include "nb-key.h"
#include "nb-tun.h"
#include "nb-version.h"
#include "nb-wg-device.h"
#include "nb-wg-peer.h"
#include "nb-wg-uapi.h"
#include "nb-signal-client.h"
#include "nb-signal-message.h"

#define TURN_CREDENTIAL_TTL_S 3600

typedef struct
{
  GMainLoop *loop;
  gint64 started;

  NbKey *key;
  NbKey *remote_key;
  NbTun *tun;
  NbWgDevice *device;
  NbWgPeer *peer;
  NbWgUapiServer *uapi;
  NbIceSession *session;
  guint round;

  /* Signalling */
  NbSignalClient *signal;
  gboolean signal_connected;
  guint64 undeliverable;
  char *remote_session_id;        /* the other peer's current session */
  GPtrArray *local_candidates;    /* char *, of this side's current round */
  guint64 signal_rx;
  guint64 signal_tx;
  guint64 stale;
} Peer;

static gint64
elapsed_ms (Peer *p)
{
  return (g_get_monotonic_time () - p->started) / 1000;
}

static const char *
candidate_type_name (NbIceCandidateType type)
{
  switch (type)
    {
    case NB_ICE_CANDIDATE_TYPE_HOST:
      return "host";
    case NB_ICE_CANDIDATE_TYPE_SERVER_REFLEXIVE:
      return "srflx";
    case NB_ICE_CANDIDATE_TYPE_PEER_REFLEXIVE:
      return "prflx";
    case NB_ICE_CANDIDATE_TYPE_RELAYED:
      return "relay";
    default:
      return "unknown";
    }
}

static const char *
state_name (NbIceSessionState state)
{
  static const char *const names[] = {
    "new", "gathering", "connecting", "connected", "failed", "closed",
  };

  return state < G_N_ELEMENTS (names) ? names[state] : "unknown";
}

/* -- signalling ------------------------------------------------------------------ */

/* Sends @message to the other peer; one sent while Signal is away is lost,
 * as is one to a peer Signal does not have (the server says so). */
static void
signal_send (Peer            *p,
             NbSignalMessage *message)
{
  g_autoptr(NbSignalMessage) owned = message;
  g_autoptr(GError) error = NULL;

  if (!nb_signal_client_send (p->signal, p->remote_key, message, &error))
    {
      if (!g_error_matches (error, NB_SIGNAL_CLIENT_ERROR, NB_SIGNAL_CLIENT_ERROR_NOT_CONNECTED))
        g_error ("cannot send a Signal message: %s", error->message);
      return;
    }
  p->signal_tx++;
}

static void
send_credentials (Peer     *p,
                  gboolean  answer)
{
  g_autofree char *ufrag = nb_ice_session_dup_local_ufrag (p->session);
  g_autofree char *pwd = nb_ice_session_dup_local_password (p->session);
  const char *session_id = nb_ice_session_get_session_id (p->session);
  guint16 port = nb_wg_device_get_listen_port (p->device);

  signal_send (p, answer
               ? nb_signal_message_new_answer (session_id, ufrag, pwd, port,
                                               nb_get_version_string (), NULL)
               : nb_signal_message_new_offer (session_id, ufrag, pwd, port,
                                              nb_get_version_string (), NULL));
}

static void
send_candidate (Peer       *p,
                const char *candidate)
{
  signal_send (p, nb_signal_message_new_candidate (nb_ice_session_get_session_id (p->session),
                                                   candidate));
}

static void
on_signal_message (NbSignalClient  *client,
                   NbKey           *from,
                   NbSignalMessage *message,
                   Peer            *p)
{
  g_autoptr(GError) error = NULL;
  const char *session_id = nb_signal_message_get_session_id (message);
  NbSignalMessageKind kind = nb_signal_message_get_kind (message);
  gboolean new_session;

  /* The seal proves the sender; only the one peer is ours. */
  if (!nb_key_equal (from, p->remote_key))
    {
      g_message ("signal: dropped a message from %s", nb_key_get_public_base64 (from));
      return;
    }
  p->signal_rx++;
  switch (kind)
    {
    case NB_SIGNAL_MESSAGE_KIND_OFFER:
    case NB_SIGNAL_MESSAGE_KIND_ANSWER:
      new_session = g_strcmp0 (p->remote_session_id, session_id) != 0;
      g_free (p->remote_session_id);
      p->remote_session_id = g_strdup (session_id);
      /* Different credentials restart this side's round too (the session
       * does that); the local-credentials handler then offers the new ones. */
      if (!nb_ice_session_set_remote_credentials (p->session, nb_signal_message_get_ufrag (message),
                                                  nb_signal_message_get_pwd (message), &error))
        {
          g_message ("signal: the other peer's credentials: %s", error->message);
          return;
        }
      if (kind == NB_SIGNAL_MESSAGE_KIND_OFFER && new_session)
        {
          send_credentials (p, TRUE);
          for (guint i = 0; i < p->local_candidates->len; i++)
            send_candidate (p, g_ptr_array_index (p->local_candidates, i));
        }
      break;
    case NB_SIGNAL_MESSAGE_KIND_CANDIDATE:
      if (g_strcmp0 (p->remote_session_id, session_id) != 0)
        {
          p->stale++;
          return;
        }
      g_print ("remote_candidate %s\n", nb_signal_message_get_candidate (message));
      if (!nb_ice_session_add_remote_candidate (p->session,
                                                nb_signal_message_get_candidate (message), &error))
        g_message ("signal: the other peer's candidate: %s", error->message);
      break;
    case NB_SIGNAL_MESSAGE_KIND_GO_IDLE:
    default:
      break;
    }
}

static void
on_signal_state (NbSignalClient *client,
                 GParamSpec     *pspec,
                 Peer           *p)
{
  gboolean connected = nb_signal_client_get_state (client) == NB_SIGNAL_CLIENT_STATE_CONNECTED;

  if (connected == p->signal_connected)
    return;
  p->signal_connected = connected;
  g_print ("signal=%s connects=%u elapsed_ms=%" G_GINT64_FORMAT "\n",
           connected ? "connected" : "disconnected", nb_signal_client_get_n_connects (client),
           elapsed_ms (p));
  /* What was sent while Signal was away is lost: the round's offer and
   * candidates again (the other side ignores what it has). */
  if (connected && nb_ice_session_get_session_id (p->session) != NULL)
    {
      send_credentials (p, FALSE);
      for (guint i = 0; i < p->local_candidates->len; i++)
        send_candidate (p, g_ptr_array_index (p->local_candidates, i));
    }
}

static void
on_undeliverable (NbSignalClient *client,
                  NbKey          *to,
                  Peer           *p)
{
  p->undeliverable++;
}

/* -- the ICE session ----------------------------------------------------------- */

static void
on_local_credentials (NbIceSession *session,
                      const char   *ufrag,
                      const char   *pwd,
                      Peer         *p)
{
  /* A new round: its candidates follow. */
  g_ptr_array_set_size (p->local_candidates, 0);
  send_credentials (p, FALSE);
}

static void
on_local_candidate (NbIceSession *session,
                    const char   *candidate,
                    Peer         *p)
{
  g_ptr_array_add (p->local_candidates, g_strdup (candidate));
  g_print ("local_candidate %s\n", candidate);
  send_candidate (p, candidate);
}

static void
print_pair (Peer *p)
{
  NbIceCandidateType local_type, remote_type;
  g_autoptr(GInetSocketAddress) local = NULL;
  g_autoptr(GInetSocketAddress) remote = NULL;
  g_autofree char *l = NULL, *r = NULL;

  if (nb_ice_session_get_state (p->session) != NB_ICE_SESSION_STATE_CONNECTED ||
      !nb_ice_session_get_selected_pair (p->session, &local_type, &local, &remote_type, &remote))
    return;
  l = g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (local));
  r = g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (remote));
  p->round++;
  g_print ("state=connected local_type=%s remote_type=%s local=%s remote=%s session=%s round=%u "
           "elapsed_ms=%" G_GINT64_FORMAT "\n",
           candidate_type_name (local_type), candidate_type_name (remote_type), l, r,
           nb_ice_session_get_session_id (p->session), p->round, elapsed_ms (p));
}

static void
on_state (NbIceSession *session,
          GParamSpec   *pspec,
          Peer         *p)
{
  NbIceSessionState state = nb_ice_session_get_state (session);

  g_print ("session=%s state=%s elapsed_ms=%" G_GINT64_FORMAT "\n",
           nb_ice_session_get_session_id (session), state_name (state), elapsed_ms (p));
  if (state == NB_ICE_SESSION_STATE_CONNECTED)
    print_pair (p);
}

static void
on_pair (NbIceSession *session,
         Peer         *p)
{
  print_pair (p);
}

static void
on_transport_kind (NbIceSession *session,
                   GParamSpec   *pspec,
                   Peer         *p)
{
  static const char *const names[] = { "none", "channel", "socket" };
  NbIceTransportKind kind = nb_ice_session_get_transport_kind (session);

  g_print ("transport=%s elapsed_ms=%" G_GINT64_FORMAT "\n",
           kind < G_N_ELEMENTS (names) ? names[kind] : "unknown", elapsed_ms (p));
}

/* Host candidates on every address of every interface but the tunnel's
 * own (a candidate on the overlay would route checks into WireGuard) and
 * loopback. */
static void
add_local_addresses (Peer *p)
{
  struct ifaddrs *list = NULL;

  if (getifaddrs (&list) != 0)
    g_error ("getifaddrs failed");
  for (struct ifaddrs *ifa = list; ifa != NULL; ifa = ifa->ifa_next)
    {
      g_autoptr(GSocketAddress) address = NULL;
      GInetAddress *inet;

      if (ifa->ifa_addr == NULL || (ifa->ifa_flags & IFF_LOOPBACK) ||
          !(ifa->ifa_flags & IFF_UP) || g_str_equal (ifa->ifa_name, nb_tun_get_name (p->tun)) ||
          (ifa->ifa_addr->sa_family != AF_INET && ifa->ifa_addr->sa_family != AF_INET6))
        continue;
      address = g_socket_address_new_from_native (ifa->ifa_addr,
                                                  ifa->ifa_addr->sa_family == AF_INET
                                                  ? sizeof (struct sockaddr_in)
                                                  : sizeof (struct sockaddr_in6));
      inet = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address));
      if (g_inet_address_get_is_link_local (inet))
        continue;
      nb_ice_session_add_local_address (p->session, inet);
    }
  freeifaddrs (list);
}

static void
turn_credentials (const char  *secret,
                  NbKey       *key,
                  char       **user,
                  char       **password)
{
  guint8 digest[20];
  gsize digest_len = sizeof digest;
  g_autoptr(GHmac) hmac = g_hmac_new (G_CHECKSUM_SHA1, (const guchar *) secret, strlen (secret));

  *user = g_strdup_printf ("%" G_GINT64_FORMAT ":%s",
                           g_get_real_time () / G_USEC_PER_SEC + TURN_CREDENTIAL_TTL_S,
                           nb_key_get_public_base64 (key));
  g_hmac_update (hmac, (const guchar *) *user, -1);
  g_hmac_get_digest (hmac, digest, &digest_len);
  *password = g_base64_encode (digest, digest_len);
}

/* -- main ---------------------------------------------------------------------- */

static gboolean
on_quit (gpointer user_data)
{
  Peer *p = user_data;

  g_main_loop_quit (p->loop);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_restart (gpointer user_data)
{
  Peer *p = user_data;
  g_autoptr(GError) error = NULL;

  if (!nb_ice_session_restart (p->session, &error))
    g_message ("no restart: %s", error->message);
  else
    g_print ("restart session=%s elapsed_ms=%" G_GINT64_FORMAT "\n",
             nb_ice_session_get_session_id (p->session), elapsed_ms (p));
  return G_SOURCE_CONTINUE;
}

static void
print_stats (Peer       *p,
             const char *what)
{
  g_print ("%s channel_rx=%" G_GUINT64_FORMAT " channel_tx=%" G_GUINT64_FORMAT
           " signal_rx=%" G_GUINT64_FORMAT " signal_tx=%" G_GUINT64_FORMAT
           " stale=%" G_GUINT64_FORMAT " undeliverable=%" G_GUINT64_FORMAT
           " elapsed_ms=%" G_GINT64_FORMAT "\n", what,
           nb_ice_session_get_channel_rx_datagrams (p->session),
           nb_ice_session_get_channel_tx_datagrams (p->session), p->signal_rx, p->signal_tx,
           p->stale, p->undeliverable, elapsed_ms (p));
}

static gboolean
on_stats (gpointer user_data)
{
  print_stats (user_data, "stats");
  return G_SOURCE_CONTINUE;
}

static gboolean
parse_prefix (const char    *text,
              GInetAddress **address,
              guint         *length,
              GError       **error)
{
  g_auto(GStrv) parts = g_strsplit (text, "/", 2);
  guint64 value = 0;

  *address = parts[0] != NULL ? g_inet_address_new_from_string (parts[0]) : NULL;
  if (*address == NULL || parts[1] == NULL ||
      !g_ascii_string_to_unsigned (parts[1], 10, 0,
                                   g_inet_address_get_family (*address) == G_SOCKET_FAMILY_IPV4
                                   ? 32 : 128, &value, NULL))
    {
      g_clear_object (address);
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "“%s” is not an address with a prefix length (100.64.0.1/10)", text);
      return FALSE;
    }
  *length = value;
  return TRUE;
}

static void
die (const char *what,
     GError     *error)
{
  g_printerr ("nb-ice-peer: %s: %s\n", what, error->message);
  exit (1);
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *ifname = NULL, *address = NULL, *key_path = NULL, *peer_key = NULL;
  g_autofree char *allowed_ip = NULL, *turn_secret = NULL, *signal_url = NULL;
  g_auto(GStrv) stun = NULL, turn = NULL, local_addresses = NULL;
  gboolean relay_only = FALSE;
  int listen_port = 0;
  GOptionEntry entries[] = {
    { "ifname", 0, 0, G_OPTION_ARG_STRING, &ifname, "TUN interface name", "NAME" },
    { "address", 0, 0, G_OPTION_ARG_STRING, &address, "Overlay address", "IP/LEN" },
    { "private-key", 0, 0, G_OPTION_ARG_FILENAME, &key_path, "WireGuard private key file", "FILE" },
    { "listen-port", 0, 0, G_OPTION_ARG_INT, &listen_port, "WireGuard's own UDP port", "PORT" },
    { "peer-key", 0, 0, G_OPTION_ARG_STRING, &peer_key, "The other peer's public key", "BASE64" },
    { "peer-allowed-ip", 0, 0, G_OPTION_ARG_STRING, &allowed_ip, "The other peer's allowed IP",
      "IP/LEN" },
    { "stun", 0, 0, G_OPTION_ARG_STRING_ARRAY, &stun, "STUN server", "stun:HOST:PORT" },
    { "turn", 0, 0, G_OPTION_ARG_STRING_ARRAY, &turn, "TURN server", "turn:HOST:PORT" },
    { "turn-secret", 0, 0, G_OPTION_ARG_STRING, &turn_secret, "coturn's static-auth-secret",
      "SECRET" },
    { "relay-only", 0, 0, G_OPTION_ARG_NONE, &relay_only, "Use relayed candidates only", NULL },
    { "local-address", 0, 0, G_OPTION_ARG_STRING_ARRAY, &local_addresses,
      "Gather host candidates on this address only", "IP" },
    { "signal", 0, 0, G_OPTION_ARG_STRING, &signal_url, "Signal server", "ws://HOST:PORT" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- one ICE peer over WireGuard");
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) overlay = NULL;
  g_autoptr(GInetAddress) allowed = NULL;
  g_autoptr(GInetAddressMask) allowed_mask = NULL;
  guint overlay_len = 0, allowed_len = 0;
  Peer p = { 0 };

  setvbuf (stdout, NULL, _IOLBF, 0);
  p.started = g_get_monotonic_time ();
  /* A SIGTERM during the setup ends the program cleanly once it runs. */
  p.loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGTERM, on_quit, &p);
  g_unix_signal_add (SIGINT, on_quit, &p);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    die ("options", error);
  if (ifname == NULL || address == NULL || key_path == NULL || peer_key == NULL ||
      allowed_ip == NULL || signal_url == NULL)
    {
      g_printerr ("nb-ice-peer: --ifname, --address, --private-key, --peer-key, "
                  "--peer-allowed-ip and --signal are required\n");
      return 2;
    }
  if (turn != NULL && turn_secret == NULL)
    {
      g_printerr ("nb-ice-peer: --turn needs --turn-secret\n");
      return 2;
    }
  if (!parse_prefix (address, &overlay, &overlay_len, &error) ||
      !parse_prefix (allowed_ip, &allowed, &allowed_len, &error))
    die ("options", error);
  allowed_mask = g_inet_address_mask_new (allowed, allowed_len, &error);
  if (allowed_mask == NULL)
    die ("--peer-allowed-ip", error);

  p.key = nb_key_new_from_file (key_path, &error);
  if (p.key == NULL)
    die ("--private-key", error);
  p.remote_key = nb_key_new_public_from_base64 (peer_key, &error);
  if (p.remote_key == NULL)
    die ("--peer-key", error);

  /* The host: TUN with the overlay address, WireGuard, wg(8)'s socket. */
  p.tun = nb_tun_new (ifname, &error);
  if (p.tun == NULL)
    die ("TUN", error);
  p.device = nb_wg_device_new (p.tun);
  if (!nb_wg_device_set_private_key (p.device, p.key, &error) ||
      !nb_wg_device_set_listen_port (p.device, listen_port, &error))
    die ("WireGuard", error);
  p.peer = nb_wg_device_add_peer (p.device, p.remote_key, &error);
  if (p.peer == NULL || !nb_wg_peer_add_allowed_ip (p.peer, allowed_mask, &error))
    die ("WireGuard peer", error);
  if (!nb_wg_device_up (p.device, &error))
    die ("WireGuard", error);
  p.uapi = nb_wg_uapi_server_new (p.device, ifname, &error);
  if (p.uapi == NULL)
    die ("wg(8) socket", error);
  if (!nb_tun_add_address_full (p.tun, overlay, overlay_len, &error) ||
      !nb_tun_set_up (p.tun, TRUE, &error))
    die ("TUN", error);

  /* The ICE session with the other peer, WireGuard attached. */
  p.session = nb_ice_session_new (p.key, p.remote_key);
  for (guint i = 0; stun != NULL && stun[i] != NULL; i++)
    if (!nb_ice_session_add_stun_server (p.session, stun[i], &error))
      die ("--stun", error);
  for (guint i = 0; turn != NULL && turn[i] != NULL; i++)
    {
      g_autofree char *user = NULL, *password = NULL;

      turn_credentials (turn_secret, p.key, &user, &password);
      if (!nb_ice_session_add_turn_server (p.session, turn[i], user, password, &error))
        die ("--turn", error);
    }
  if (local_addresses != NULL)
    {
      for (guint i = 0; local_addresses[i] != NULL; i++)
        {
          g_autoptr(GInetAddress) inet = g_inet_address_new_from_string (local_addresses[i]);

          if (inet == NULL)
            {
              g_printerr ("nb-ice-peer: --local-address: “%s” is not an IP address\n",
                          local_addresses[i]);
              return 2;
            }
          nb_ice_session_add_local_address (p.session, inet);
        }
    }
  else
    add_local_addresses (&p);
  nb_ice_session_set_relay_only (p.session, relay_only);
  nb_ice_session_set_wg_peer (p.session, p.device, p.peer);
  p.local_candidates = g_ptr_array_new_with_free_func (g_free);
  g_signal_connect (p.session, "local-credentials", G_CALLBACK (on_local_credentials), &p);
  g_signal_connect (p.session, "local-candidate", G_CALLBACK (on_local_candidate), &p);
  g_signal_connect (p.session, "notify::state", G_CALLBACK (on_state), &p);
  g_signal_connect (p.session, "selected-pair-changed", G_CALLBACK (on_pair), &p);
  g_signal_connect (p.session, "notify::transport-kind", G_CALLBACK (on_transport_kind), &p);

  g_print ("start public_key=%s ifname=%s listen_port=%u elapsed_ms=%" G_GINT64_FORMAT "\n",
           nb_key_get_public_base64 (p.key), ifname, nb_wg_device_get_listen_port (p.device),
           elapsed_ms (&p));

  p.signal = nb_signal_client_new (signal_url, p.key);
  g_signal_connect (p.signal, "message-received", G_CALLBACK (on_signal_message), &p);
  g_signal_connect (p.signal, "undeliverable", G_CALLBACK (on_undeliverable), &p);
  g_signal_connect (p.signal, "notify::state", G_CALLBACK (on_signal_state), &p);
  if (!nb_signal_client_start (p.signal, &error))
    die ("--signal", error);
  if (!nb_ice_session_start (p.session, &error))
    die ("ICE", error);

  g_unix_signal_add (SIGUSR1, on_restart, &p);
  g_unix_signal_add (SIGUSR2, on_stats, &p);
  g_main_loop_run (p.loop);

  print_stats (&p, "exit");

  nb_ice_session_close (p.session);
  nb_signal_client_stop (p.signal);
  g_clear_object (&p.signal);
  nb_wg_uapi_server_close (p.uapi);
  nb_wg_device_down (p.device);
  g_clear_object (&p.session);
  g_clear_object (&p.uapi);
  p.peer = NULL;   /* the device's */
  g_clear_object (&p.device);
  g_clear_object (&p.tun);
  g_clear_object (&p.key);
  g_clear_object (&p.remote_key);
  g_clear_pointer (&p.local_candidates, g_ptr_array_unref);
  g_clear_pointer (&p.loop, g_main_loop_unref);
  g_free (p.remote_session_id);
  return 0;
}
