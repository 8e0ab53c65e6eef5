/* test-signal-server.c: the netbird-signal daemon with real clients, raw
 * WebSockets and raw sockets on loopback
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * Every test starts its own daemon, so the metrics it reads are its own.
 */
#include <string.h>
#include <sys/socket.h>

#include "nb-envelope.h"
#include "signal-test-util.h"

static void
connect_peers (Peer *a,
               Peer *b)
{
  g_assert_true (nb_signal_client_start (a->client, NULL));
  if (b != NULL)
    g_assert_true (nb_signal_client_start (b->client, NULL));
  g_assert_true (WAIT_UNTIL (peer_connected (a) && (b == NULL || peer_connected (b)), 5000));
}

/* @from sends one candidate to @to and @to receives it. */
static void
assert_delivers (Peer *from,
                 Peer *to)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbSignalMessage) message = make_candidate ();
  guint before = to->messages->len;

  g_assert_true (nb_signal_client_send (from->client, to->key, message, &error));
  g_assert_no_error (error);
  g_assert_true (WAIT_UNTIL (to->messages->len == before + 1, 5000));
  g_assert_true (nb_key_equal (to->senders->pdata[before], from->key));
}

/* The server key is the sender in the challenge's envelope header. */
static NbKey *
server_key_of (const char *challenge)
{
  gsize len = 0;
  g_autofree guchar *sealed = g_base64_decode (challenge, &len);

  g_assert_cmpuint (len, >, 1 + NB_KEY_LEN);
  return nb_key_new_public_from_data (sealed + 1, NB_KEY_LEN, NULL);
}

static void
test_claim_without_key (void)
{
  g_autoptr(Daemon) daemon = daemon_start (NULL, NULL);
  g_autoptr(Peer) a = peer_new (daemon->url, NULL);
  g_autoptr(Peer) b = peer_new (daemon->url, NULL);
  g_autoptr(NbKey) a_public = nb_key_dup_public (a->key);
  g_autoptr(Peer) no_private = peer_new (daemon->url, a_public);
  g_autoptr(NbKey) impostor = nb_key_generate ();
  g_autoptr(GError) error = NULL;

  connect_peers (a, b);

  /* A client with only the public half cannot even try. */
  g_assert_false (nb_signal_client_start (no_private->client, &error));
  g_assert_error (error, NB_SIGNAL_CLIENT_ERROR, NB_SIGNAL_CLIENT_ERROR_NO_PRIVATE_KEY);
  g_clear_error (&error);

  /* An impostor claims a's key: it cannot open the challenge, so it seals
   * a guess of the nonce to the server with its own key. */
  {
    g_autoptr(Raw) raw = raw_connect (daemon);
    g_autofree char *hello = g_strdup_printf ("{\"type\":\"hello\",\"key\":\"%s\"}",
                                              nb_key_get_public_base64 (a->key));
    g_autoptr(NbSignalFrame) challenge = NULL;
    g_autoptr(NbSignalFrame) refused = NULL;
    g_autoptr(NbKey) server = NULL;
    g_autoptr(GBytes) guess = g_bytes_new_take (g_malloc0 (NB_SIGNAL_PROTO_CHALLENGE_LEN),
                                                NB_SIGNAL_PROTO_CHALLENGE_LEN);
    g_autoptr(GBytes) sealed = NULL;
    g_autofree char *proof = NULL;
    g_autofree char *text = NULL;

    raw_send_text (raw, hello);
    challenge = raw_frame (raw, 0);
    g_assert_cmpint (challenge->type, ==, NB_SIGNAL_FRAME_CHALLENGE);
    g_assert_null (nb_signal_challenge_answer (impostor, challenge->challenge, &error));
    g_assert_error (error, NB_ENVELOPE_ERROR, NB_ENVELOPE_ERROR_WRONG_RECIPIENT);
    g_clear_error (&error);

    server = server_key_of (challenge->challenge);
    sealed = nb_envelope_seal (impostor, server, guess, &error);
    g_assert_no_error (error);
    proof = g_base64_encode (g_bytes_get_data (sealed, NULL), g_bytes_get_size (sealed));
    text = g_strdup_printf ("{\"type\":\"proof\",\"proof\":\"%s\"}", proof);
    raw_send_text (raw, text);

    refused = raw_frame (raw, 1);
    g_assert_cmpint (refused->type, ==, NB_SIGNAL_FRAME_ERROR);
    g_assert_nonnull (strstr (refused->error, "not proven"));
    g_assert_true (WAIT_UNTIL (raw->closed, 5000));
    g_assert_cmpuint (raw->close_code, ==, NB_SIGNAL_CLOSE_PROOF_FAILED);
  }

  /* Nor does sending the challenge back as the proof work. */
  {
    g_autoptr(Raw) raw = raw_connect (daemon);
    g_autofree char *hello = g_strdup_printf ("{\"type\":\"hello\",\"key\":\"%s\"}",
                                              nb_key_get_public_base64 (a->key));
    g_autoptr(NbSignalFrame) challenge = NULL;
    g_autofree char *text = NULL;

    raw_send_text (raw, hello);
    challenge = raw_frame (raw, 0);
    text = g_strdup_printf ("{\"type\":\"proof\",\"proof\":\"%s\"}", challenge->challenge);
    raw_send_text (raw, text);
    g_assert_true (WAIT_UNTIL (raw->closed, 5000));
    g_assert_cmpuint (raw->close_code, ==, NB_SIGNAL_CLOSE_PROOF_FAILED);
  }

  /* a keeps its registration: b's messages still reach it, only it. */
  assert_delivers (b, a);
  assert_delivers (a, b);
  g_assert_false (nb_signal_client_get_replaced (a->client));
  g_assert_cmpuint (nb_signal_client_get_n_connects (a->client), ==, 1);
  g_assert_cmpuint (daemon_metric (daemon, "netbird_signal_closed_total{reason=\"proof_failed\"}"),
                    ==, 2);
  g_assert_cmpuint (daemon_metric (daemon, "netbird_signal_registrations_failed_total"), ==, 2);
  g_assert_cmpuint (daemon_metric (daemon, "netbird_signal_registrations_total"), ==, 2);
  g_assert_cmpuint (daemon_metric (daemon, "netbird_signal_peers_registered"), ==, 2);
}

static void
test_second_registration_replaces (void)
{
  g_autoptr(Daemon) daemon = daemon_start (NULL, NULL);
  g_autoptr(Peer) first = peer_new (daemon->url, NULL);
  g_autoptr(Peer) second = peer_new (daemon->url, first->key);
  g_autoptr(Peer) b = peer_new (daemon->url, NULL);

  connect_peers (first, b);
  g_assert_true (nb_signal_client_start (second->client, NULL));
  g_assert_true (WAIT_UNTIL (peer_connected (second) &&
                             nb_signal_client_get_replaced (first->client), 5000));
  g_assert_false (peer_connected (first));

  /* The replaced client does not fight back: a second and a half later
   * (three of its first backoff delays) it is still out. */
  WAIT_UNTIL (FALSE, 1500);
  g_assert_cmpint (nb_signal_client_get_state (first->client), ==,
                   NB_SIGNAL_CLIENT_STATE_DISCONNECTED);
  g_assert_cmpuint (nb_signal_client_get_n_connects (first->client), ==, 1);
  g_assert_true (peer_connected (second));
  g_assert_cmpuint (nb_signal_client_get_n_connects (second->client), ==, 1);

  /* Messages to the key reach the newer connection. */
  assert_delivers (b, second);
  g_assert_cmpuint (first->messages->len, ==, 0);
  g_assert_cmpuint (daemon_metric (daemon, "netbird_signal_closed_total{reason=\"replaced\"}"),
                    ==, 1);
  g_assert_cmpuint (daemon_metric (daemon, "netbird_signal_peers_registered"), ==, 2);

  /* Started again by its owner, the first one takes the key back. */
  g_assert_true (nb_signal_client_start (first->client, NULL));
  g_assert_true (WAIT_UNTIL (peer_connected (first) &&
                             nb_signal_client_get_replaced (second->client), 5000));
  assert_delivers (b, first);
}

static void
test_forward (void)
{
  g_autoptr(Daemon) daemon = daemon_start (NULL, NULL);
  g_autoptr(Peer) a = peer_new (daemon->url, NULL);
  g_autoptr(Peer) b = peer_new (daemon->url, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(NbSignalMessage) offer =
    nb_signal_message_new_offer ("00112233445566778899aabbccddeeff", "Xy3+",
                                 "abcdefghijklmnopqrstuv", 51820, "0.1.0", "rels://relay:443");
  g_autoptr(NbSignalMessage) go_idle = nb_signal_message_new_go_idle ("0011223344556677");
  NbSignalMessage *got;

  connect_peers (a, b);
  g_assert_true (nb_signal_client_send (a->client, b->key, offer, &error));
  g_assert_no_error (error);
  g_assert_true (nb_signal_client_send (a->client, b->key, go_idle, &error));
  g_assert_no_error (error);
  g_assert_true (WAIT_UNTIL (b->messages->len == 2, 5000));

  got = b->messages->pdata[0];
  g_assert_true (nb_key_equal (b->senders->pdata[0], a->key));
  g_assert_cmpint (nb_signal_message_get_kind (got), ==, NB_SIGNAL_MESSAGE_KIND_OFFER);
  g_assert_cmpstr (nb_signal_message_get_session_id (got), ==, "00112233445566778899aabbccddeeff");
  g_assert_cmpstr (nb_signal_message_get_ufrag (got), ==, "Xy3+");
  g_assert_cmpstr (nb_signal_message_get_pwd (got), ==, "abcdefghijklmnopqrstuv");
  g_assert_cmpuint (nb_signal_message_get_wg_listen_port (got), ==, 51820);
  g_assert_cmpstr (nb_signal_message_get_version (got), ==, "0.1.0");
  g_assert_cmpstr (nb_signal_message_get_relay_address (got), ==, "rels://relay:443");
  g_assert_null (nb_signal_message_get_candidate (got));
  got = b->messages->pdata[1];
  g_assert_cmpint (nb_signal_message_get_kind (got), ==, NB_SIGNAL_MESSAGE_KIND_GO_IDLE);

  assert_delivers (b, a);
  g_assert_cmpuint (daemon_metric (daemon, "netbird_signal_messages_forwarded_total"), ==, 3);

  /* A message the protocol cannot carry is the sender's error, and so is
   * one to itself; nothing leaves. */
  {
    g_autoptr(NbSignalMessage) bad = nb_signal_message_new_candidate ("0011223344556677",
                                                                      "candidate:nonsense");

    g_assert_false (nb_signal_client_send (a->client, b->key, bad, &error));
    g_assert_error (error, NB_SIGNAL_CLIENT_ERROR, NB_SIGNAL_CLIENT_ERROR_INVALID_MESSAGE);
    g_clear_error (&error);
    g_assert_false (nb_signal_client_send (a->client, a->key, go_idle, &error));
    g_assert_error (error, NB_SIGNAL_CLIENT_ERROR, NB_SIGNAL_CLIENT_ERROR_INVALID_MESSAGE);
    g_clear_error (&error);
  }
  g_assert_cmpuint (daemon_metric (daemon, "netbird_signal_messages_forwarded_total"), ==, 3);
}

static void
test_undeliverable_stores_nothing (void)
{
  g_autoptr(Daemon) daemon = daemon_start (NULL, NULL);
  g_autoptr(Peer) a = peer_new (daemon->url, NULL);
  g_autoptr(Peer) c = peer_new (daemon->url, NULL);
  g_autoptr(NbSignalMessage) message = make_candidate ();
  g_autoptr(GError) error = NULL;

  connect_peers (a, NULL);
  g_assert_true (nb_signal_client_send (a->client, c->key, message, &error));
  g_assert_no_error (error);
  g_assert_true (WAIT_UNTIL (a->undeliverable->len == 1, 5000));
  g_assert_true (nb_key_equal (a->undeliverable->pdata[0], c->key));
  g_assert_cmpuint (daemon_metric (daemon, "netbird_signal_messages_undeliverable_total"), ==, 1);

  /* c comes online: the earlier message was not kept for it. */
  connect_peers (c, NULL);
  WAIT_UNTIL (FALSE, 500);
  g_assert_cmpuint (c->messages->len, ==, 0);
  assert_delivers (a, c);
  g_assert_cmpuint (a->undeliverable->len, ==, 1);

  /* Sending before registration is refused locally. */
  nb_signal_client_stop (a->client);
  g_assert_false (nb_signal_client_send (a->client, c->key, message, &error));
  g_assert_error (error, NB_SIGNAL_CLIENT_ERROR, NB_SIGNAL_CLIENT_ERROR_NOT_CONNECTED);
}

/* Each connection sends one bad thing and is closed with @code; a and b
 * keep talking. */
static void
assert_refused (Daemon     *daemon,
                Peer       *a,
                Peer       *b,
                NbKey      *register_as,
                const char *text,
                GBytes     *binary,
                gushort     code)
{
  g_autoptr(Raw) raw = raw_connect (daemon);

  if (register_as != NULL)
    raw_register (raw, register_as);
  if (text != NULL)
    raw_send_text (raw, text);
  else
    soup_websocket_connection_send_message (raw->ws, SOUP_WEBSOCKET_DATA_BINARY, binary);
  if (!WAIT_UNTIL (raw->closed, 5000))
    g_error ("the server did not close a connection that sent %.60s", text ? text : "binary");
  /* 0: libsoup's own bound, where the server may reset the connection
   * while the client still writes, so no close frame arrives. */
  if (code != 0)
    g_assert_cmpuint (raw->close_code, ==, code);
  assert_delivers (a, b);
}

static void
test_malformed (void)
{
  g_autoptr(Daemon) daemon = daemon_start (NULL, NULL);
  g_autoptr(Peer) a = peer_new (daemon->url, NULL);
  g_autoptr(Peer) b = peer_new (daemon->url, NULL);
  g_autoptr(NbKey) mallory = nb_key_generate ();
  g_autoptr(GString) deep = g_string_new (NULL);
  g_autoptr(GBytes) junk = g_bytes_new_static ("\xff\xfe\x00\x01\x80", 5);
  g_autofree char *forged = NULL;
  g_autofree char *hello_again = g_strdup_printf ("{\"type\":\"hello\",\"key\":\"%s\"}",
                                              nb_key_get_public_base64 (mallory));

  connect_peers (a, b);
  for (guint i = 0; i < 5000; i++)
    g_string_append_c (deep, '[');

  assert_refused (daemon, a, b, NULL, "not json", NULL, SOUP_WEBSOCKET_CLOSE_BAD_DATA);
  assert_refused (daemon, a, b, NULL, "{}", NULL, SOUP_WEBSOCKET_CLOSE_BAD_DATA);
  assert_refused (daemon, a, b, NULL, deep->str, NULL, SOUP_WEBSOCKET_CLOSE_BAD_DATA);
  assert_refused (daemon, a, b, NULL, NULL, junk, SOUP_WEBSOCKET_CLOSE_BAD_DATA);
  assert_refused (daemon, a, b, NULL, "{\"type\":\"hello\",\"key\":\"x\\u0000y\"}", NULL,
                  SOUP_WEBSOCKET_CLOSE_BAD_DATA);
  /* Well-formed, but out of place. */
  assert_refused (daemon, a, b, NULL, "{\"type\":\"registered\",\"key\":\""
                  "mEFWIwMpXq3CEKVMStBYDw8OXIyZSc1E5pJeCG9Yq2I=\"}", NULL,
                  SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION);
  assert_refused (daemon, a, b, mallory, hello_again, NULL, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION);
  /* Registered as mallory, sending as a. */
  {
    g_autoptr(NbSignalMessage) message = make_candidate ();
    NbSignalMsgBody body = { 0 };
    g_autoptr(NbSignalMsgEnvelope) envelope = NULL;
    g_autoptr(GBytes) frame = NULL;

    nb_signal_message_fill_body (message, &body);
    envelope = nb_signal_msg_seal (a->key, b->key, &body, NULL);
    frame = nb_signal_frame_write_message (envelope);
    forged = g_strndup (g_bytes_get_data (frame, NULL), g_bytes_get_size (frame));
  }
  assert_refused (daemon, a, b, mallory, forged, NULL, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION);
  /* b got nothing from the forgery. */
  g_assert_cmpuint (b->messages->len, ==, 8);

  g_assert_cmpuint (daemon_metric (daemon, "netbird_signal_drops_total{reason=\"malformed\"}"),
                    ==, 5);
  g_assert_cmpuint (daemon_metric (daemon, "netbird_signal_drops_total{reason=\"unexpected\"}"),
                    ==, 2);
  g_assert_cmpuint (daemon_metric (daemon,
                                   "netbird_signal_drops_total{reason=\"wrong_sender\"}"), ==, 1);
  g_assert_true (WAIT_UNTIL (daemon_metric (daemon, "netbird_signal_connections") == 2, 5000));
  g_assert_cmpuint (daemon_metric (daemon, "netbird_signal_peers_registered"), ==, 2);
}

static void
test_oversize (void)
{
  g_autoptr(Daemon) daemon = daemon_start (NULL, NULL);
  g_autoptr(Peer) a = peer_new (daemon->url, NULL);
  g_autoptr(Peer) b = peer_new (daemon->url, NULL);
  g_autoptr(NbKey) key = nb_key_generate ();
  g_autofree char *big = g_malloc (200 * 1024 + 1);

  connect_peers (a, b);
  /* Over the protocol's bound, and over libsoup's own. */
  memset (big, 'x', 200 * 1024);
  big[NB_SIGNAL_PROTO_MAX_FRAME_SIZE + 1] = '\0';
  assert_refused (daemon, a, b, key, big, NULL, SOUP_WEBSOCKET_CLOSE_TOO_BIG);
  big[NB_SIGNAL_PROTO_MAX_FRAME_SIZE + 1] = 'x';
  big[200 * 1024] = '\0';
  assert_refused (daemon, a, b, NULL, big, NULL, 0);

  g_assert_cmpuint (daemon_metric (daemon, "netbird_signal_drops_total{reason=\"oversize\"}"),
                    ==, 2);
  g_assert_cmpuint (daemon_metric (daemon, "netbird_signal_peers_registered"), ==, 2);
}

static void
test_flood (void)
{
  const char *const args[] = { "--rate-limit", "100", "--rate-burst", "200", NULL };
  g_autoptr(Daemon) daemon = daemon_start (NULL, args);
  g_autoptr(Peer) a = peer_new (daemon->url, NULL);
  g_autoptr(Peer) b = peer_new (daemon->url, NULL);
  g_autoptr(NbKey) flooder = nb_key_generate ();
  g_autoptr(Raw) raw = raw_connect (daemon);
  g_autoptr(NbSignalMessage) message = make_candidate ();
  NbSignalMsgBody body = { 0 };
  g_autoptr(NbSignalMsgEnvelope) envelope = NULL;
  g_autoptr(GBytes) frame = NULL;
  guint64 dropped, forwarded;

  connect_peers (a, b);
  raw_register (raw, flooder);
  nb_signal_message_fill_body (message, &body);
  envelope = nb_signal_msg_seal (flooder, b->key, &body, NULL);
  frame = nb_signal_frame_write_message (envelope);

  /* 5,000 at once against a burst of 200 and 100 a second. */
  for (guint i = 0; i < 5000; i++)
    soup_websocket_connection_send_message (raw->ws, SOUP_WEBSOCKET_DATA_TEXT, frame);
  g_assert_true (WAIT_UNTIL (raw->closed, 10000));
  g_assert_cmpuint (raw->close_code, ==, NB_SIGNAL_CLOSE_RATE_LIMITED);

  dropped = daemon_metric (daemon, "netbird_signal_drops_total{reason=\"rate_limited\"}");
  forwarded = daemon_metric (daemon, "netbird_signal_messages_forwarded_total");
  g_test_message ("flood: %" G_GUINT64_FORMAT " forwarded, %" G_GUINT64_FORMAT " dropped",
                  forwarded, dropped);
  g_assert_cmpuint (dropped, >, 500);
  g_assert_cmpuint (forwarded, >=, 200 - 2); /* hello and proof took two */
  g_assert_cmpuint (forwarded, <, 1000);
  g_assert_cmpuint (daemon_metric (daemon, "netbird_signal_closed_total{reason=\"flood\"}"), ==, 1);
  g_assert_true (WAIT_UNTIL (b->messages->len == forwarded, 5000));

  /* The others' own limits are untouched. */
  assert_delivers (a, b);
  assert_delivers (b, a);
}

/* Connections that end in the middle of things, without a goodbye. */
static void
test_abrupt_disconnects (void)
{
  g_autoptr(Daemon) daemon = daemon_start (NULL, NULL);
  g_autoptr(Peer) a = peer_new (daemon->url, NULL);
  g_autoptr(Peer) b = peer_new (daemon->url, NULL);
  g_autoptr(GSocketClient) tcp = g_socket_client_new ();
  const char *const partial[] = {
    "",
    "GET /signal/v1 HTTP/1.1\r\nHost: x\r\n",
    "GET /signal/v1 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    "\x81\xfe\x10",
  };

  connect_peers (a, b);

  for (guint i = 0; i < G_N_ELEMENTS (partial); i++)
    for (guint j = 0; j < 20; j++)
      {
        g_autoptr(GError) error = NULL;
        g_autoptr(GSocketConnection) conn = g_socket_client_connect_to_host (tcp, daemon->address,
                                                                             0, NULL, &error);

        g_assert_no_error (error);
        g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)),
                                   partial[i], strlen (partial[i]), NULL, NULL, &error);
        g_assert_no_error (error);
        /* Every other one with SO_LINGER 0: a reset, not a FIN. */
        if (j % 2 == 0)
          {
            struct linger linger = { .l_onoff = 1, .l_linger = 0 };

            g_assert_cmpint (setsockopt (g_socket_get_fd (g_socket_connection_get_socket (conn)),
                                         SOL_SOCKET, SO_LINGER, &linger, sizeof linger), ==, 0);
          }
        g_io_stream_close (G_IO_STREAM (conn), NULL, NULL);
      }

  /* Registered peers that vanish: their sockets closed under libsoup. */
  for (guint i = 0; i < 10; i++)
    {
      g_autoptr(Raw) raw = raw_connect (daemon);
      g_autoptr(NbKey) key = nb_key_generate ();
      GIOStream *stream;

      raw_register (raw, key);
      stream = soup_websocket_connection_get_io_stream (raw->ws);
      g_io_stream_close (stream, NULL, NULL);
    }

  g_assert_true (WAIT_UNTIL (daemon_metric (daemon, "netbird_signal_connections") == 2, 10000));
  g_assert_cmpuint (daemon_metric (daemon, "netbird_signal_peers_registered"), ==, 2);
  g_assert_cmpuint (daemon_metric (daemon, "netbird_signal_registrations_total"), ==, 12);
  assert_delivers (a, b);
  assert_delivers (b, a);
}

static void
test_auth_timeout (void)
{
  const char *const args[] = { "--auth-timeout", "1000", NULL };
  g_autoptr(Daemon) daemon = daemon_start (NULL, args);
  g_autoptr(Peer) a = peer_new (daemon->url, NULL);
  g_autoptr(Raw) silent = raw_connect (daemon);
  g_autoptr(Raw) no_proof = raw_connect (daemon);
  g_autoptr(NbKey) key = nb_key_generate ();
  g_autoptr(GSocketClient) tcp = g_socket_client_new ();
  g_autoptr(GSocketConnection) no_upgrade = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *hello = g_strdup_printf ("{\"type\":\"hello\",\"key\":\"%s\"}",
                                            nb_key_get_public_base64 (key));
  gint64 start = g_get_monotonic_time ();
  gint64 elapsed_ms;
  char buf[256];
  gssize n;

  /* One says nothing at all, one upgrades and says nothing, one says
   * hello and never proves the key. */
  no_upgrade = g_socket_client_connect_to_host (tcp, daemon->address, 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (nb_signal_client_start (a->client, NULL));
  raw_send_text (no_proof, hello);
  g_assert_true (WAIT_UNTIL (silent->closed && no_proof->closed, 5000));
  elapsed_ms = (g_get_monotonic_time () - start) / 1000;
  g_test_message ("unauthenticated WebSockets closed after %" G_GINT64_FORMAT " ms", elapsed_ms);
  g_assert_cmpint (elapsed_ms, >=, 900);
  g_assert_cmpint (elapsed_ms, <, 3000);
  g_assert_cmpuint (silent->close_code, ==, NB_SIGNAL_CLOSE_AUTH_TIMEOUT);
  g_assert_cmpuint (no_proof->close_code, ==, NB_SIGNAL_CLOSE_AUTH_TIMEOUT);

  /* The bare TCP connection is gone too (the server's answer, then EOF). */
  g_socket_set_timeout (g_socket_connection_get_socket (no_upgrade), 5);
  do
    n = g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (no_upgrade)), buf,
                             sizeof buf, NULL, &error);
  while (n > 0);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, 0);
  elapsed_ms = (g_get_monotonic_time () - start) / 1000;
  g_assert_cmpint (elapsed_ms, <, 3000);

  g_assert_cmpuint (daemon_metric (daemon, "nb_service_timeouts_total{service=\"signal\","
                                           "kind=\"websocket_auth\"}"), ==, 2);
  g_assert_cmpuint (daemon_metric (daemon, "nb_service_timeouts_total{service=\"signal\","
                                           "kind=\"headers\"}"), ==, 1);

  /* The client that proved its key in time stays. */
  g_assert_true (peer_connected (a));
  g_assert_cmpuint (daemon_metric (daemon, "netbird_signal_connections"), ==, 1);
}

static void
test_silent_peer_dropped (void)
{
  const char *const args[] = { "--keepalive", "1", NULL };
  g_autoptr(Daemon) daemon = daemon_start (NULL, args);
  g_autoptr(Peer) a = peer_new (daemon->url, NULL);
  g_autoptr(NbKey) mute_key = nb_key_generate ();
  g_autoptr(GSocketConnection) mute = NULL;
  g_autoptr(NbSignalMessage) message = make_candidate ();
  g_autoptr(GError) error = NULL;
  gint64 start;

  /* a's own pings are answered: it stays through all of this. */
  g_object_set (a->client, "keepalive-interval", 1, NULL);
  connect_peers (a, NULL);
  mute = mute_register (daemon, mute_key);
  start = g_get_monotonic_time ();
  g_assert_cmpuint (daemon_metric (daemon, "netbird_signal_peers_registered"), ==, 2);

  /* While registered, messages to it are taken (and written into a
   * connection nobody reads); once it has been silent for three pings,
   * it is gone and senders hear so. */
  g_assert_true (WAIT_UNTIL (daemon_metric (daemon, "netbird_signal_peers_registered") == 1,
                             8000));
  g_test_message ("a mute peer was dropped after %" G_GINT64_FORMAT " ms",
                  (g_get_monotonic_time () - start) / 1000);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 2500 * 1000);
  g_assert_cmpuint (daemon_metric (daemon, "netbird_signal_closed_total{reason=\"silent\"}"),
                    ==, 1);
  g_assert_true (nb_signal_client_send (a->client, mute_key, message, &error));
  g_assert_no_error (error);
  g_assert_true (WAIT_UNTIL (a->undeliverable->len == 1, 5000));
  g_assert_true (peer_connected (a));
  g_assert_cmpuint (nb_signal_client_get_n_connects (a->client), ==, 1);
}

static void
on_cap_connected (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  GError **error = user_data;
  g_autoptr(SoupWebsocketConnection) ws =
    soup_session_websocket_connect_finish (SOUP_SESSION (source), result, error);

  g_assert_null (ws);
  g_assert_nonnull (*error);
}

static void
test_connection_cap (void)
{
  const char *const args[] = { "--max-connections-per-address", "3", NULL };
  g_autoptr(Daemon) daemon = daemon_start (NULL, args);
  g_autoptr(Peer) a = peer_new (daemon->url, NULL);
  g_autoptr(Peer) b = peer_new (daemon->url, NULL);
  g_autoptr(Raw) third = NULL;
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autofree char *url = g_strdup_printf ("%s%s", daemon->url, NB_SIGNAL_PATH);
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", url);
  g_autoptr(GError) error = NULL;

  connect_peers (a, b);
  third = raw_connect (daemon);

  /* The fourth from the same address is refused at once. */
  soup_session_websocket_connect_async (session, msg, NULL, NULL, G_PRIORITY_DEFAULT, NULL,
                                        on_cap_connected, &error);
  g_assert_true (WAIT_UNTIL (error != NULL, 5000));
  g_test_message ("fourth connection: %s", error->message);
  g_assert_cmpuint (daemon_metric (daemon, "nb_service_connections_refused_total"
                                           "{service=\"signal\",reason=\"address_cap\"}"), ==, 1);
  assert_delivers (a, b);
  assert_delivers (b, a);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/signal/server/claim-without-key", test_claim_without_key);
  g_test_add_func ("/signal/server/second-registration-replaces",
                   test_second_registration_replaces);
  g_test_add_func ("/signal/server/forward", test_forward);
  g_test_add_func ("/signal/server/undeliverable-stores-nothing",
                   test_undeliverable_stores_nothing);
  g_test_add_func ("/signal/server/malformed", test_malformed);
  g_test_add_func ("/signal/server/oversize", test_oversize);
  g_test_add_func ("/signal/server/flood", test_flood);
  g_test_add_func ("/signal/server/abrupt-disconnects", test_abrupt_disconnects);
  g_test_add_func ("/signal/server/auth-timeout", test_auth_timeout);
  g_test_add_func ("/signal/server/connection-cap", test_connection_cap);
  g_test_add_func ("/signal/server/silent-peer-dropped", test_silent_peer_dropped);
  return g_test_run ();
}
