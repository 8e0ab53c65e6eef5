/* nb-ice-peer.c: one peer as a host runs it, for the namespace tests
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 *   nb-ice-peer --ifname NAME --address 100.64.0.1/10 --private-key FILE
 *               --peer-key BASE64 --peer-allowed-ip 100.64.0.2/32
 *               [--stun URI]... [--turn URI]... [--turn-secret SECRET]
 *               [--relay-only] [--local-address IP]...
 *               --signal PATH
 *
 * A real TUN device with the overlay address, a WireGuard device with its
 * key and one remote peer, and an ICE session with that peer whose
 * credentials and candidates travel through Signal, sealed between the two
 * keys. The client engine (next issue) will do this for every peer of a
 * network map; this program does it for one, so that tests and the ICE
 * benchmark can run two hosts in network namespaces.
 *
 * It prints one line per event on stdout, "key=value" words:
 *   start public_key=KEY ifname=NAME
 *   signal=connected | signal=disconnected
 *   session=ID state=gathering|connecting|connected|failed elapsed_ms=N
 *   state=connected local_type=srflx remote_type=srflx local=IP:PORT
 *     remote=IP:PORT session=ID round=N elapsed_ms=N
 *   transport=socket|channel|none elapsed_ms=N
 *   local_candidate candidate:... | remote_candidate candidate:...
 *   restart session=ID
 *   stats|exit channel_rx=N channel_tx=N signal_rx=N signal_tx=N stale=N
 *     elapsed_ms=N
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
 * whenever the session makes new ones (start, restart); each local
 * candidate follows in a candidate message. An offer with a session id not
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
#include <gio/gunixsocketaddress.h>

#include "nb-ice-session.h"
#include "nb-key.h"
#include "nb-tun.h"
#include "nb-version.h"
#include "nb-wg-device.h"
#include "nb-wg-peer.h"
#include "nb-wg-uapi.h"
#include "nb-signal-proto-private.h"
#include "nb-transport-enum-types.h"

#define TURN_CREDENTIAL_TTL_S 3600
#define SIGNAL_RECONNECT_MS 200
/* A line of the interim signalling link: one envelope. */
#define SIGNAL_LINE_MAX (NB_SIGNAL_PROTO_MAX_ENVELOPE_SIZE + 1)

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
  char *signal_path;
  GSocketConnection *connection;
  GDataInputStream *input;
  GCancellable *cancellable;
  guint reconnect_source;
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

/* -- signalling (interim link: see signal-forwarder.py) ---------------------- */

static void signal_connect (Peer *p);

static void
signal_disconnected (Peer *p)
{
  if (p->connection == NULL)
    return;
  g_cancellable_cancel (p->cancellable);
  g_clear_object (&p->cancellable);
  g_clear_object (&p->input);
  g_io_stream_close (G_IO_STREAM (p->connection), NULL, NULL);
  g_clear_object (&p->connection);
  g_print ("signal=disconnected elapsed_ms=%" G_GINT64_FORMAT "\n", elapsed_ms (p));
  signal_connect (p);
}

/* Seals @body to the other peer and sends it; a message sent while Signal
 * is away is lost, as it would be with a Signal server that forwards only
 * to connected peers. */
static void
signal_send (Peer            *p,
             NbSignalMsgBody *body)
{
  g_autoptr(NbSignalMsgEnvelope) envelope = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) line = NULL;
  GOutputStream *out;
  gsize len;
  const char *data;

  body->session_id = g_strdup (nb_ice_session_get_session_id (p->session));
  if (body->kind == NB_SIGNAL_MSG_KIND_OFFER || body->kind == NB_SIGNAL_MSG_KIND_ANSWER)
    {
      body->version = g_strdup (nb_get_version_string ());
      body->wg_listen_port = nb_wg_device_get_listen_port (p->device);
    }

  envelope = nb_signal_msg_seal (p->key, p->remote_key, body, &error);
  if (envelope == NULL)
    g_error ("cannot seal a %s: %s", nb_signal_msg_kind_to_string (body->kind), error->message);
  if (p->connection == NULL)
    return;
  bytes = nb_signal_msg_envelope_to_bytes (envelope);
  data = g_bytes_get_data (bytes, &len);
  line = g_string_new_len (data, len);
  g_string_append_c (line, '\n');
  out = g_io_stream_get_output_stream (G_IO_STREAM (p->connection));
  if (!g_output_stream_write_all (out, line->str, line->len, NULL, NULL, &error))
    {
      g_message ("signal: %s", error->message);
      signal_disconnected (p);
      return;
    }
  p->signal_tx++;
}

static void
send_credentials (Peer            *p,
                  NbSignalMsgKind  kind)
{
  NbSignalMsgBody *body = nb_signal_msg_body_new ();

  body->kind = kind;
  body->ufrag = nb_ice_session_dup_local_ufrag (p->session);
  body->pwd = nb_ice_session_dup_local_password (p->session);
  signal_send (p, body);
  nb_signal_msg_body_free (body);
}

static void
send_candidate (Peer       *p,
                const char *candidate)
{
  NbSignalMsgBody *body = nb_signal_msg_body_new ();

  body->kind = NB_SIGNAL_MSG_KIND_CANDIDATE;
  body->candidate = g_strdup (candidate);
  signal_send (p, body);
  nb_signal_msg_body_free (body);
}

static void
handle_body (Peer                  *p,
             const NbSignalMsgBody *body)
{
  g_autoptr(GError) error = NULL;
  gboolean new_session;

  switch (body->kind)
    {
    case NB_SIGNAL_MSG_KIND_OFFER:
    case NB_SIGNAL_MSG_KIND_ANSWER:
      new_session = g_strcmp0 (p->remote_session_id, body->session_id) != 0;
      g_free (p->remote_session_id);
      p->remote_session_id = g_strdup (body->session_id);
      /* Different credentials restart this side's round too (the session
       * does that); the local-credentials handler then offers the new ones. */
      if (!nb_ice_session_set_remote_credentials (p->session, body->ufrag, body->pwd, &error))
        {
          g_message ("signal: the other peer's credentials: %s", error->message);
          return;
        }
      if (body->kind == NB_SIGNAL_MSG_KIND_OFFER && new_session)
        {
          send_credentials (p, NB_SIGNAL_MSG_KIND_ANSWER);
          for (guint i = 0; i < p->local_candidates->len; i++)
            send_candidate (p, g_ptr_array_index (p->local_candidates, i));
        }
      break;
    case NB_SIGNAL_MSG_KIND_CANDIDATE:
      if (g_strcmp0 (p->remote_session_id, body->session_id) != 0)
        {
          p->stale++;
          return;
        }
      g_print ("remote_candidate %s\n", body->candidate);
      if (!nb_ice_session_add_remote_candidate (p->session, body->candidate, &error))
        g_message ("signal: the other peer's candidate: %s", error->message);
      break;
    case NB_SIGNAL_MSG_KIND_GO_IDLE:
    default:
      break;
    }
}

static void
on_signal_line (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  Peer *p = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  gsize len = 0;

  line = g_data_input_stream_read_line_finish (G_DATA_INPUT_STREAM (source), result, &len, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (line == NULL)
    {
      signal_disconnected (p);
      return;
    }
  if (len > 0 && len < SIGNAL_LINE_MAX)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (line, len);
      g_autoptr(NbSignalMsgEnvelope) envelope = NULL;
      g_autoptr(NbSignalMsgBody) body = NULL;
      g_autoptr(NbKey) sender = NULL;

      envelope = nb_signal_msg_envelope_from_bytes (bytes, &error);
      if (envelope != NULL)
        body = nb_signal_msg_open (p->key, envelope, &sender, &error);
      if (body == NULL)
        g_message ("signal: dropped a message: %s", error->message);
      else if (!nb_key_equal (sender, p->remote_key))
        g_message ("signal: dropped a message from %s", nb_key_get_public_base64 (sender));
      else
        {
          p->signal_rx++;
          handle_body (p, body);
        }
    }
  g_data_input_stream_read_line_async (p->input, G_PRIORITY_DEFAULT, p->cancellable,
                                       on_signal_line, p);
}

static gboolean
signal_reconnect_cb (gpointer user_data)
{
  Peer *p = user_data;

  p->reconnect_source = 0;
  signal_connect (p);
  return G_SOURCE_REMOVE;
}

static void
signal_connect (Peer *p)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketAddress) address = g_unix_socket_address_new (p->signal_path);
  g_autoptr(GError) error = NULL;
  g_autofree char *hello = NULL;
  GOutputStream *out;

  if (p->reconnect_source != 0)
    return;
  p->connection = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (address), NULL, &error);
  if (p->connection != NULL)
    {
      /* The link learns which key this connection receives for. */
      hello = g_strdup_printf ("hello %s\n", nb_key_get_public_base64 (p->key));
      out = g_io_stream_get_output_stream (G_IO_STREAM (p->connection));
      if (!g_output_stream_write_all (out, hello, strlen (hello), NULL, NULL, &error))
        g_clear_object (&p->connection);
    }
  if (p->connection == NULL)
    {
      p->reconnect_source = g_timeout_add (SIGNAL_RECONNECT_MS, signal_reconnect_cb, p);
      return;
    }
  p->cancellable = g_cancellable_new ();
  p->input = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (p->connection)));
  g_data_input_stream_read_line_async (p->input, G_PRIORITY_DEFAULT, p->cancellable,
                                       on_signal_line, p);
  g_print ("signal=connected elapsed_ms=%" G_GINT64_FORMAT "\n", elapsed_ms (p));
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
  send_credentials (p, NB_SIGNAL_MSG_KIND_OFFER);
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
           " stale=%" G_GUINT64_FORMAT " elapsed_ms=%" G_GINT64_FORMAT "\n", what,
           nb_ice_session_get_channel_rx_datagrams (p->session),
           nb_ice_session_get_channel_tx_datagrams (p->session), p->signal_rx, p->signal_tx,
           p->stale, elapsed_ms (p));
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
  g_autofree char *allowed_ip = NULL, *turn_secret = NULL, *signal_path = NULL;
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
    { "signal", 0, 0, G_OPTION_ARG_FILENAME, &signal_path, "Signalling link (UNIX socket)",
      "PATH" },
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
      allowed_ip == NULL || signal_path == NULL)
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

  p.signal_path = g_strdup (signal_path);
  signal_connect (&p);
  if (!nb_ice_session_start (p.session, &error))
    die ("ICE", error);

  g_unix_signal_add (SIGUSR1, on_restart, &p);
  g_unix_signal_add (SIGUSR2, on_stats, &p);
  g_main_loop_run (p.loop);

  print_stats (&p, "exit");

  nb_ice_session_close (p.session);
  if (p.reconnect_source != 0)
    g_source_remove (p.reconnect_source);
  if (p.cancellable != NULL)
    g_cancellable_cancel (p.cancellable);
  g_clear_object (&p.input);
  g_clear_object (&p.connection);
  g_clear_object (&p.cancellable);
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
  g_free (p.signal_path);
  return 0;
}
