/* test-relay-server.c: the netbird-relay daemon with real clients
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <string.h>
#include <signal.h>
#include <sys/socket.h>

#include "relay-test-util.h"

static gboolean
is_connected (NbRelayClient *client)
{
  return nb_relay_client_get_state (client) == NB_RELAY_CLIENT_STATE_CONNECTED;
}

static void
count_signal (NbRelayClient *client,
              NbKey         *peer,
              guint         *count)
{
  (*count)++;
}

/* Two clients: presence, then datagrams both ways through the relay. */
static void
test_forward (void)
{
  g_autoptr(Daemon) daemon = daemon_start (NULL, NULL);
  g_autoptr(NbKey) key_a = nb_key_generate ();
  g_autoptr(NbKey) key_b = nb_key_generate ();
  g_autoptr(NbRelayClient) a = client_new (daemon, key_a);
  g_autoptr(NbRelayClient) b = NULL;
  Inbox *inbox_a = inbox_new ();
  Inbox *inbox_b = inbox_new ();
  guint online = 0, offline = 0;
  const guint8 hello[] = "datagram from a";
  const guint8 reply[] = "datagram from b";
  guint64 tx = 0, rx = 0, dropped = 0;

  g_signal_connect (a, "peer-online", G_CALLBACK (count_signal), &online);
  g_signal_connect (a, "peer-offline", G_CALLBACK (count_signal), &offline);
  g_assert_true (WAIT_UNTIL (is_connected (a), 10000));
  nb_relay_client_watch_peer (a, key_b);
  nb_relay_client_set_receiver (a, key_b, inbox_receive, inbox_a, NULL);

  /* Not there yet: the relay says so. */
  g_assert_true (nb_relay_client_send (a, key_b, hello, sizeof hello));
  g_assert_true (WAIT_UNTIL (daemon_metric (daemon, "netbird_relay_undeliverable_total") == 1,
                             5000));

  b = client_new (daemon, key_b);
  nb_relay_client_set_receiver (b, key_a, inbox_receive, inbox_b, NULL);
  g_assert_true (WAIT_UNTIL (is_connected (b), 10000));
  g_assert_true (WAIT_UNTIL (online == 1, 5000));
  g_assert_true (nb_relay_client_is_peer_online (a, key_b));

  g_assert_true (nb_relay_client_send (a, key_b, hello, sizeof hello));
  g_assert_true (WAIT_UNTIL (inbox_count (inbox_b) == 1, 5000));
  g_assert_cmpmem (inbox_b->last->data, inbox_b->last->len, hello, sizeof hello);
  g_assert_true (nb_relay_client_send (b, key_a, reply, sizeof reply));
  g_assert_true (WAIT_UNTIL (inbox_count (inbox_a) == 1, 5000));
  g_assert_cmpmem (inbox_a->last->data, inbox_a->last->len, reply, sizeof reply);

  /* A thousand in a row arrive in order and whole. */
  for (guint i = 0; i < 1000; i++)
    {
      guint8 datagram[1400];

      memset (datagram, i & 0xff, sizeof datagram);
      while (!nb_relay_client_send (a, key_b, datagram, sizeof datagram))
        g_usleep (1000);
    }
  g_assert_true (WAIT_UNTIL (inbox_count (inbox_b) == 1001, 10000));
  g_assert_cmpuint (inbox_b->last->len, ==, 1400);
  g_assert_cmpuint (inbox_b->last->data[0], ==, 999 & 0xff);
  g_assert_cmpuint (daemon_metric (daemon, "netbird_relay_forwarded_total"), ==, 1002);
  g_assert_cmpuint (daemon_metric (daemon, "netbird_relay_peers"), ==, 2);
  nb_relay_client_get_stats (b, &tx, &rx, &dropped);
  g_assert_cmpuint (rx, ==, 1001);
  g_assert_cmpuint (tx, ==, 1);

  /* B leaves: A is told. */
  nb_relay_client_stop (b);
  g_assert_true (WAIT_UNTIL (offline == 1, 5000));
  g_assert_false (nb_relay_client_is_peer_online (a, key_b));

  nb_relay_client_set_receiver (a, key_b, NULL, NULL, NULL);
  nb_relay_client_set_receiver (b, key_a, NULL, NULL, NULL);
  nb_relay_client_stop (a);
  inbox_free (inbox_a);
  inbox_free (inbox_b);
}

/* Each token the relay must refuse, with its own close code. */
static void
check_refused (Daemon     *daemon,
               const char *secret,
               NbKey      *key,
               NbKey      *token_key,
               gint64      ttl,
               guint       expected_code,
               const char *series)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *payload = NULL;
  g_autofree char *signature = NULL;
  g_autoptr(NbRelayClient) client = nb_relay_client_new (daemon->url, key, &error);

  g_assert_no_error (error);
  make_token (secret, token_key, ttl, &payload, &signature);
  nb_relay_client_set_token (client, payload, signature);
  nb_relay_client_start (client);
  g_assert_true (WAIT_UNTIL (nb_relay_client_get_close_code (client) == expected_code, 10000));
  g_assert_cmpuint (nb_relay_client_get_n_connects (client), ==, 0);
  nb_relay_client_stop (client);
  g_assert_cmpuint (daemon_metric (daemon, series), >=, 1);
}

static void
test_tokens_refused (void)
{
  g_autoptr(Daemon) daemon = daemon_start (NULL, NULL);
  g_autoptr(NbKey) key = nb_key_generate ();
  g_autoptr(NbKey) other = nb_key_generate ();

  check_refused (daemon, TEST_SECRET, key, key, -10, NB_RELAY_CLOSE_TOKEN_EXPIRED,
                 "netbird_relay_closed_total{reason=\"token_expired\"}");
  check_refused (daemon, "not-the-secret", key, key, 3600, NB_RELAY_CLOSE_TOKEN_INVALID,
                 "netbird_relay_closed_total{reason=\"token_invalid\"}");
  check_refused (daemon, TEST_SECRET, key, other, 3600, NB_RELAY_CLOSE_TOKEN_OTHER_PEER,
                 "netbird_relay_closed_total{reason=\"token_other_peer\"}");
  g_assert_cmpuint (daemon_metric (daemon, "netbird_relay_authenticated_total"), ==, 0);

  /* Another peer's genuine token with its public key: the proof fails. */
  {
    g_autoptr(GSocketConnection) conn = raw_connect (daemon);
    g_autofree char *payload = NULL;
    g_autofree char *signature = NULL;
    g_autoptr(GBytes) auth = NULL;
    g_autoptr(GBytes) proof = nb_relay_frame_new_text (NB_RELAY_FRAME_PROOF, "AAAA");
    g_autoptr(GBytes) challenge = NULL;
    guint code = 0;

    make_token (TEST_SECRET, other, 3600, &payload, &signature);
    auth = nb_relay_frame_new_auth (nb_key_get_public_data (other, NULL), payload, signature);
    raw_send (conn, 2, g_bytes_get_data (auth, NULL), g_bytes_get_size (auth));
    challenge = raw_read (conn, &code);
    g_assert_nonnull (challenge);
    raw_send (conn, 2, g_bytes_get_data (proof, NULL), g_bytes_get_size (proof));
    g_assert_cmpuint (raw_wait_close (conn), ==, NB_RELAY_CLOSE_PROOF_FAILED);
    g_assert_cmpuint (daemon_metric (daemon,
                                     "netbird_relay_closed_total{reason=\"proof_failed\"}"),
                      ==, 1);
  }

  /* With a good token the same key gets in. */
  {
    g_autoptr(NbRelayClient) client = client_new (daemon, key);

    g_assert_true (WAIT_UNTIL (is_connected (client), 10000));
    nb_relay_client_stop (client);
  }
}

/* Garbage, text, unknown types, oversize frames, frames before auth: each
 * closes only its own connection; a client keeps working meanwhile. */
static void
test_malformed (void)
{
  g_autoptr(Daemon) daemon = daemon_start (NULL, NULL);
  g_autoptr(NbKey) key = nb_key_generate ();
  g_autoptr(NbRelayClient) client = client_new (daemon, key);
  const guint8 garbage[] = { 0xff, 0x00, 0x13, 0x37 };
  const guint8 unknown[] = { NB_RELAY_PROTO_VERSION, 200, 1, 2, 3 };
  const guint8 short_auth[] = { NB_RELAY_PROTO_VERSION, NB_RELAY_FRAME_AUTH, 1, 2 };
  guint8 transport[NB_RELAY_PROTO_TRANSPORT_HEADER_LEN + 4] = { 0 };
  g_autofree guint8 *huge = g_malloc0 (200 * 1024);
  struct {
    guint8 opcode;
    const guint8 *data;
    gsize len;
    guint code;
  } cases[] = {
    { 2, garbage, sizeof garbage, NB_RELAY_CLOSE_PROTOCOL },
    { 1, (const guint8 *) "{\"type\":\"auth\"}", 15, NB_RELAY_CLOSE_PROTOCOL },
    { 2, unknown, sizeof unknown, NB_RELAY_CLOSE_PROTOCOL },
    { 2, short_auth, sizeof short_auth, NB_RELAY_CLOSE_PROTOCOL },
    { 2, transport, sizeof transport, NB_RELAY_CLOSE_PROTOCOL },
    { 2, huge, NB_RELAY_PROTO_MAX_FRAME + 1, SOUP_WEBSOCKET_CLOSE_TOO_BIG },
    /* Past libsoup's own bound: it closes while the frame is still being
     * written, so the close frame may be lost to the reset (1006). */
    { 2, huge, 200 * 1024, 0 },
  };

  g_assert_true (WAIT_UNTIL (is_connected (client), 10000));
  nb_relay_frame_write_transport_header (transport, transport + 2);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GSocketConnection) conn = raw_connect (daemon);
      guint code;

      g_test_message ("case %u: %zu bytes", i, cases[i].len);
      raw_send (conn, cases[i].opcode, cases[i].data, cases[i].len);
      code = raw_wait_close (conn);
      if (cases[i].code != 0)
        g_assert_cmpuint (code, ==, cases[i].code);
      else
        g_assert_true (code == SOUP_WEBSOCKET_CLOSE_TOO_BIG || code == 1006);
    }
  /* Authenticated, then a bad frame. */
  {
    g_autoptr(NbKey) raw_key = nb_key_generate ();
    g_autoptr(GSocketConnection) conn = raw_connect (daemon);

    raw_authenticate (conn, raw_key);
    raw_send (conn, 2, garbage, sizeof garbage);
    g_assert_cmpuint (raw_wait_close (conn), ==, NB_RELAY_CLOSE_PROTOCOL);
  }
  g_assert_cmpuint (daemon_metric (daemon, "netbird_relay_drops_total{reason=\"malformed\"}"),
                    >=, 5);
  g_assert_cmpuint (daemon_metric (daemon, "netbird_relay_drops_total{reason=\"oversize\"}"),
                    >=, 2);
  /* The first client never noticed. */
  g_assert_true (is_connected (client));
  g_assert_cmpuint (nb_relay_client_get_n_connects (client), ==, 1);
  g_assert_cmpuint (daemon_metric (daemon, "netbird_relay_peers"), ==, 1);
  nb_relay_client_stop (client);
}

/* A peer that authenticates and then never reads: datagrams to it are
 * dropped once its queue is full, and the server's memory stays put. */
static void
test_slow_reader (void)
{
  const char *args[] = { "--queue-limit", "256", NULL };
  g_autoptr(Daemon) daemon = daemon_start (NULL, args);
  g_autoptr(NbKey) mute_key = nb_key_generate ();
  g_autoptr(NbKey) key = nb_key_generate ();
  g_autoptr(GSocketConnection) mute = raw_connect (daemon);
  g_autoptr(NbRelayClient) sender = NULL;
  guint8 datagram[1400];
  guint64 rss_before, rss_after, sent = 0;
  gsize sent_bytes = 0;

  /* Keep the mute peer's receive buffer small, as a stalled reader's is. */
  {
    int size = 64 * 1024;

    g_socket_set_option (g_socket_connection_get_socket (mute), SOL_SOCKET, SO_RCVBUF, size,
                         NULL);
  }
  raw_authenticate (mute, mute_key);
  sender = client_new (daemon, key);
  g_assert_true (WAIT_UNTIL (is_connected (sender), 10000));
  /* A first burst so that the allocator's arenas exist before the baseline. */
  memset (datagram, 0x5a, sizeof datagram);
  for (guint i = 0; daemon_metric (daemon, "netbird_relay_drops_total{reason=\"backlog\"}") == 0;
       i++)
    {
      g_assert_cmpuint (i, <, 100);
      for (guint j = 0; j < 1000; j++)
        while (!nb_relay_client_send (sender, mute_key, datagram, sizeof datagram))
          g_usleep (500);
      g_usleep (50 * 1000);
    }
  rss_before = daemon_rss_kib (daemon);

  /* 100 MB at it. */
  while (sent_bytes < 100 * 1024 * 1024)
    {
      if (nb_relay_client_send (sender, mute_key, datagram, sizeof datagram))
        {
          sent++;
          sent_bytes += sizeof datagram;
        }
      else
        g_usleep (200);
    }
  g_usleep (500 * 1000);
  rss_after = daemon_rss_kib (daemon);
  g_test_message ("RSS before %" G_GUINT64_FORMAT " KiB, after %" G_GUINT64_FORMAT " KiB; "
                  "%" G_GUINT64_FORMAT " datagrams sent, %" G_GUINT64_FORMAT " dropped at the "
                  "relay", rss_before, rss_after, sent,
                  daemon_metric (daemon, "netbird_relay_drops_total{reason=\"backlog\"}"));
  g_print ("# slow reader: RSS %" G_GUINT64_FORMAT " KiB -> %" G_GUINT64_FORMAT " KiB after "
           "%" G_GSIZE_FORMAT " MB sent to it\n", rss_before, rss_after,
           sent_bytes / (1024 * 1024));
  /* The queue is 256 KiB; allow the allocator some slack, far below the
   * 100 MB a queue without bound would hold. */
  g_assert_cmpuint (rss_after, <, rss_before + 8 * 1024);
  /* Most of it reached the relay and was dropped there (the sender's own
   * client drops some too when the relay reads slower than it sends). */
  g_assert_cmpuint (daemon_metric (daemon, "netbird_relay_drops_total{reason=\"backlog\"}"), >,
                    10000);
  /* The server still serves. */
  g_assert_cmpuint (daemon_metric (daemon, "netbird_relay_peers"), ==, 2);
  nb_relay_client_stop (sender);
}

/* The relay dies and comes back on the same port: the clients reconnect,
 * authenticate again and datagrams flow again. */
static void
test_restart (void)
{
  g_autoptr(Daemon) first = daemon_start (NULL, NULL);
  g_autoptr(Daemon) second = NULL;
  g_autoptr(NbKey) key_a = nb_key_generate ();
  g_autoptr(NbKey) key_b = nb_key_generate ();
  g_autoptr(NbRelayClient) a = client_new (first, key_a);
  g_autoptr(NbRelayClient) b = client_new (first, key_b);
  g_autofree char *address = g_strdup (first->address);
  Inbox *inbox = inbox_new ();
  const guint8 datagram[] = "after the restart";

  nb_relay_client_set_receiver (b, key_a, inbox_receive, inbox, NULL);
  g_assert_true (WAIT_UNTIL (is_connected (a) && is_connected (b), 10000));
  g_assert_true (nb_relay_client_send (a, key_b, datagram, sizeof datagram));
  g_assert_true (WAIT_UNTIL (inbox_count (inbox) == 1, 5000));

  daemon_kill (first);
  g_assert_true (WAIT_UNTIL (!is_connected (a) && !is_connected (b), 10000));
  g_assert_false (nb_relay_client_send (a, key_b, datagram, sizeof datagram));
  second = daemon_start (address, NULL);
  g_assert_true (WAIT_UNTIL (is_connected (a) && is_connected (b), 15000));
  g_assert_cmpuint (nb_relay_client_get_n_connects (a), ==, 2);
  g_assert_cmpuint (nb_relay_client_get_n_connects (b), ==, 2);
  g_assert_true (nb_relay_client_send (a, key_b, datagram, sizeof datagram));
  g_assert_true (WAIT_UNTIL (inbox_count (inbox) == 2, 5000));
  g_assert_cmpuint (daemon_metric (second, "netbird_relay_forwarded_total"), ==, 1);

  nb_relay_client_set_receiver (b, key_a, NULL, NULL, NULL);
  nb_relay_client_stop (a);
  nb_relay_client_stop (b);
  inbox_free (inbox);
}

/* The same peer twice: the newer connection wins, the older is told. */
static void
test_replaced (void)
{
  g_autoptr(Daemon) daemon = daemon_start (NULL, NULL);
  g_autoptr(NbKey) key = nb_key_generate ();
  g_autoptr(GSocketConnection) old = raw_connect (daemon);
  g_autoptr(NbRelayClient) client = NULL;

  raw_authenticate (old, key);
  client = client_new (daemon, key);
  g_assert_true (WAIT_UNTIL (is_connected (client), 10000));
  g_assert_cmpuint (raw_wait_close (old), ==, NB_RELAY_CLOSE_REPLACED);
  g_assert_cmpuint (daemon_metric (daemon, "netbird_relay_peers"), ==, 1);
  nb_relay_client_stop (client);
}

/* The protocol's health check: a ping before and after authentication is
 * answered with its nonce. */
static void
test_ping (void)
{
  g_autoptr(Daemon) daemon = daemon_start (NULL, NULL);
  g_autoptr(NbKey) key = nb_key_generate ();
  g_autoptr(GSocketConnection) conn = raw_connect (daemon);

  for (guint round = 0; round < 2; round++)
    {
      guint64 nonce = G_GUINT64_CONSTANT (0x0123456789abcdef) + round;
      g_autoptr(GBytes) ping = nb_relay_frame_new_ping (NB_RELAY_FRAME_PING, nonce);
      g_autoptr(GBytes) pong = NULL;
      g_autoptr(GError) error = NULL;
      NbRelayFrame frame;
      guint code = 0;

      if (round == 1)
        raw_authenticate (conn, key);
      raw_send (conn, 2, g_bytes_get_data (ping, NULL), g_bytes_get_size (ping));
      pong = raw_read (conn, &code);
      g_assert_nonnull (pong);
      g_assert_true (nb_relay_frame_parse (g_bytes_get_data (pong, NULL),
                                           g_bytes_get_size (pong), &frame, &error));
      g_assert_cmpint (frame.type, ==, NB_RELAY_FRAME_PONG);
      g_assert_cmpuint (frame.nonce, ==, nonce);
    }
  g_assert_cmpuint (daemon_metric (daemon, "netbird_relay_pings_total"), ==, 2);
}

static guint64
self_rss_kib (void)
{
  g_autofree char *text = NULL;
  const char *line;

  g_assert_true (g_file_get_contents ("/proc/self/status", &text, NULL, NULL));
  line = strstr (text, "VmRSS:");
  g_assert_nonnull (line);
  return g_ascii_strtoull (line + strlen ("VmRSS:"), NULL, 10);
}

/* The relay stops reading (SIGSTOP): the client drops instead of letting
 * libsoup queue without bound, and carries on once the relay does. */
static void
test_stalled_relay (void)
{
  g_autoptr(Daemon) daemon = daemon_start (NULL, NULL);
  g_autoptr(NbKey) key_a = nb_key_generate ();
  g_autoptr(NbKey) key_b = nb_key_generate ();
  g_autoptr(NbRelayClient) a = client_new (daemon, key_a);
  g_autoptr(NbRelayClient) b = client_new (daemon, key_b);
  Inbox *inbox = inbox_new ();
  guint8 datagram[1400];
  guint64 rss_before, rss_after, dropped = 0;
  gsize sent = 0;
  guint received;

  memset (datagram, 0x33, sizeof datagram);
  nb_relay_client_set_receiver (b, key_a, inbox_receive, inbox, NULL);
  g_assert_true (WAIT_UNTIL (is_connected (a) && is_connected (b), 10000));
  g_assert_true (nb_relay_client_send (a, key_b, datagram, sizeof datagram));
  g_assert_true (WAIT_UNTIL (inbox_count (inbox) == 1, 5000));

  g_subprocess_send_signal (daemon->process, SIGSTOP);
  rss_before = self_rss_kib ();
  while (sent < 100 * 1024 * 1024)
    {
      if (nb_relay_client_send (a, key_b, datagram, sizeof datagram))
        sent += sizeof datagram;
      else
        g_usleep (100);
    }
  g_usleep (200 * 1000);
  rss_after = self_rss_kib ();
  nb_relay_client_get_stats (a, NULL, NULL, &dropped);
  g_print ("# stalled relay: client RSS %" G_GUINT64_FORMAT " KiB -> %" G_GUINT64_FORMAT
           " KiB after 100 MB sent, %" G_GUINT64_FORMAT " dropped\n", rss_before, rss_after,
           dropped);
  g_assert_cmpuint (dropped, >, 50000);
  g_assert_cmpuint (rss_after, <, rss_before + 16 * 1024);

  /* The relay reads again: what was queued drains, new datagrams pass. */
  g_subprocess_send_signal (daemon->process, SIGCONT);
  received = inbox_count (inbox);
  g_assert_true (WAIT_UNTIL (inbox_count (inbox) > received, 10000));
  g_usleep (500 * 1000);
  received = inbox_count (inbox);
  g_assert_true (nb_relay_client_send (a, key_b, datagram, sizeof datagram));
  g_assert_true (WAIT_UNTIL (inbox_count (inbox) == received + 1, 5000));
  g_assert_cmpuint (nb_relay_client_get_n_connects (a), ==, 1);

  nb_relay_client_set_receiver (b, key_a, NULL, NULL, NULL);
  nb_relay_client_stop (a);
  nb_relay_client_stop (b);
  inbox_free (inbox);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/relay/server/forward", test_forward);
  g_test_add_func ("/relay/server/tokens-refused", test_tokens_refused);
  g_test_add_func ("/relay/server/malformed", test_malformed);
  g_test_add_func ("/relay/server/slow-reader", test_slow_reader);
  g_test_add_func ("/relay/server/restart", test_restart);
  g_test_add_func ("/relay/server/replaced", test_replaced);
  g_test_add_func ("/relay/server/ping", test_ping);
  g_test_add_func ("/relay/client/stalled-relay", test_stalled_relay);
  return g_test_run ();
}
