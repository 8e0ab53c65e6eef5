/* test-client-relay.c: two clients through the WebSocket relay, then a
 * direct path, then the relay again, under one running TCP transfer
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * Real netbird-management (with --relay-url and --relay-secret-file),
 * netbird-signal, netbird-relay and coturn (STUN only) in a hub
 * namespace; clients a and b in namespaces of their own on its bridge. A
 * bridge rule in the hub drops the UDP between a and b: ICE finds nothing
 * and the pair goes through the relay (TCP to the hub). Lifting the rule
 * lets ICE find the direct pair; putting it back kills that pair and the
 * pair returns to the relay. Needs root.
 */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "client-test-net.h"

#define STREAM_PORT 5201
#define BULK_BYTES (50 * 1024 * 1024)
/* The long transfer: slow enough to run through every switch. */
#define STREAM_RATE (512 * 1024)

static Host *host_a, *host_b;

static void
block_udp (gboolean block)
{
  if (block)
    g_assert_cmpint (sh ("ip netns exec %s nft add table bridge nbr && "
                         "ip netns exec %s nft add chain bridge nbr nbrforward "
                         "'{ type filter hook forward priority 0; }' && "
                         "ip netns exec %s nft add rule bridge nbr nbrforward ip saddr 198.18.0.10 "
                         "ip daddr 198.18.0.11 meta l4proto udp drop && "
                         "ip netns exec %s nft add rule bridge nbr nbrforward ip saddr 198.18.0.11 "
                         "ip daddr 198.18.0.10 meta l4proto udp drop",
                         net.hub, net.hub, net.hub, net.hub), ==, 0);
  else
    g_assert_cmpint (sh ("ip netns exec %s nft delete table bridge nbr", net.hub), ==, 0);
}

static guint64
relay_forwarded_bytes (void)
{
  g_autofree char *path = g_build_filename (net.tmp, "relay-metrics", NULL);
  g_autofree char *text = NULL;
  const char *line;

  g_assert_cmpint (sh ("ip netns exec %s curl -s -o %s http://" RELAY_METRICS "/metrics",
                       net.hub, path), ==, 0);
  text = read_file (path);
  g_assert_nonnull (text);
  line = strstr (text, "\nnetbird_relay_forwarded_bytes_total ");
  g_assert_nonnull (line);
  return g_ascii_strtoull (line + strlen ("\nnetbird_relay_forwarded_bytes_total "), NULL, 10);
}

static guint64
handshakes (Host *host)
{
  return uapi_stat (host, "tx_handshake_initiations") +
         uapi_stat (host, "rx_handshake_initiations");
}

/* What @host's WireGuard peer @key received over its life (nb-client-run
 * prints it on SIGUSR1): a peer made again would count from 0. */
static guint64
peer_rx (Host       *host,
         const char *key)
{
  guint from = host->lines->len;
  const char *line;
  guint i;

  g_subprocess_send_signal (host->proc, SIGUSR1);
  i = host_wait (host, from, 10, "status key=", key, NULL);
  g_assert_cmpuint (i, >, 0);
  line = strstr (host->lines->pdata[i - 1], " rx=");
  g_assert_nonnull (line);
  return g_ascii_strtoull (line + strlen (" rx="), NULL, 10);
}

/* Waits for the file @path and returns its first line. */
static char *
wait_report (const char *path,
             guint       timeout_s)
{
  gint64 until = g_get_monotonic_time () + timeout_s * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < until)
    {
      char *text = read_file (path);

      if (text != NULL)
        {
          text[strcspn (text, "\n")] = '\0';
          return text;
        }
      iterate_for (200);
    }
  return NULL;
}

static guint64
progress (const char *report)
{
  g_autofree char *path = g_strconcat (report, ".progress", NULL);
  g_autofree char *text = read_file (path);

  return text != NULL && g_str_has_prefix (text, "bytes=")
         ? g_ascii_strtoull (text + strlen ("bytes="), NULL, 10) : 0;
}

/* The receiver's bytes grow past @from within @timeout_s. */
static gboolean
progress_past (const char *report,
               guint64     from,
               guint       timeout_s)
{
  gint64 until = g_get_monotonic_time () + timeout_s * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < until)
    {
      if (progress (report) > from)
        return TRUE;
      iterate_for (200);
    }
  return FALSE;
}

typedef struct
{
  char *recv_report;
  char *send_report;
  char *stop;
  GSubprocess *receiver;
  GSubprocess *sender;
} Stream;

/* A TCP transfer from a to b over the tunnel: @bytes of them, or until
 * stream_finish() when 0. */
static Stream *
stream_start (const char *name,
              guint64     bytes,
              guint       rate)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *script = g_test_build_filename (G_TEST_DIST, "tcp-stream.py", NULL);
  g_autofree char *port = g_strdup_printf ("%d", STREAM_PORT);
  g_autofree char *size = g_strdup_printf ("%" G_GUINT64_FORMAT, bytes);
  g_autofree char *per_s = g_strdup_printf ("%u", rate);
  g_autofree char *log = g_build_filename (net.tmp, name, NULL);
  g_autofree char *recv_log = NULL;
  g_autofree char *send_log = NULL;
  Stream *s = g_new0 (Stream, 1);

  s->recv_report = g_strdup_printf ("%s.recv", log);
  s->send_report = g_strdup_printf ("%s.send", log);
  s->stop = g_strdup_printf ("%s.stop", log);
  recv_log = g_strdup_printf ("%s.log", s->recv_report);
  send_log = g_strdup_printf ("%s.log", s->send_report);
  s->receiver = spawn_in (host_b->ns, recv_log, &error, "/usr/bin/python3", script, "recv",
                          host_b->address, port, s->recv_report, NULL);
  g_assert_no_error (error);
  /* The receiver listens before the sender connects. */
  for (int tries = 0; sh ("ip netns exec %s ss -ltn | grep -q '%s:%d '", host_b->ns,
                          host_b->address, STREAM_PORT) != 0; tries++)
    {
      g_assert_cmpint (tries, <, 100);
      iterate_for (100);
    }
  s->sender = spawn_in (host_a->ns, send_log, &error, "/usr/bin/python3", script, "send",
                        host_b->address, port, size, per_s, s->send_report, s->stop, NULL);
  g_assert_no_error (error);
  return s;
}

/* Ends the transfer and checks both ends saw the same bytes. */
static guint64
stream_finish (Stream *s,
               guint   timeout_s)
{
  g_autofree char *sent = NULL;
  g_autofree char *received = NULL;
  guint64 bytes;

  g_assert_true (g_file_set_contents (s->stop, "", 0, NULL));
  sent = wait_report (s->send_report, timeout_s);
  g_assert_nonnull (sent);
  g_assert_true (g_str_has_prefix (sent, "bytes="));
  received = wait_report (s->recv_report, 30);
  g_assert_nonnull (received);
  g_test_message ("sent:     %s", sent);
  g_test_message ("received: %s", received);
  g_assert_true (g_str_has_prefix (sent, received));
  bytes = g_ascii_strtoull (received + strlen ("bytes="), NULL, 10);
  g_assert_cmpint (g_subprocess_wait_check (s->sender, NULL, NULL), ==, TRUE);
  g_assert_cmpint (g_subprocess_wait_check (s->receiver, NULL, NULL), ==, TRUE);
  g_clear_object (&s->sender);
  g_clear_object (&s->receiver);
  g_free (s->recv_report);
  g_free (s->send_report);
  g_free (s->stop);
  g_free (s);
  return bytes;
}

/* `netbird status --json` of a daemon whose UDP to a and b is dropped:
 * its peers are Relayed, with the relay's address. */
static void
test_relay_daemon_status (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) daemon = NULL;
  g_autofree char *ns = g_strdup_printf ("nbc-%d-d", (int) getpid ());
  g_autofree char *ifname = g_strdup_printf ("nbc%dd", (int) getpid ());
  g_autofree char *veth = g_strdup_printf ("nbc%dvd", (int) getpid ());
  g_autofree char *dir = g_build_filename (net.tmp, "d", NULL);
  g_autofree char *config = g_build_filename (dir, "config.json", NULL);
  g_autofree char *sock = g_build_filename (net.tmp, "d.sock", NULL);
  g_autofree char *log = g_build_filename (net.tmp, "d.log", NULL);
  g_autofree char *addr = g_strdup_printf ("unix://%s", sock);
  const char *cli = g_getenv ("NETBIRD_CLI");
  gint64 until;
  gboolean relayed = FALSE;

  g_assert_nonnull (cli);
  g_assert_nonnull (host_a);
  g_ptr_array_add (net.namespaces, g_strdup (ns));
  g_assert_cmpint (sh ("ip netns add %s && ip -n %s link set lo up && "
                       "ip link add %s netns %s type veth peer name eth0 netns %s && "
                       "ip -n %s link set %s master br0 up && "
                       "ip -n %s addr add 198.18.0.20/24 dev eth0 && ip -n %s link set eth0 up",
                       ns, ns, veth, net.hub, ns, net.hub, veth, ns, ns), ==, 0);
  g_assert_cmpint (sh ("ip netns exec %s nft add table bridge nbd && "
                       "ip netns exec %s nft add chain bridge nbd nbdforward "
                       "'{ type filter hook forward priority 0; }' && "
                       "ip netns exec %s nft add rule bridge nbd nbdforward ip saddr 198.18.0.20 "
                       "ip daddr 198.18.0.0/24 ip daddr != " HUB_ADDRESS " meta l4proto udp drop && "
                       "ip netns exec %s nft add rule bridge nbd nbdforward ip daddr 198.18.0.20 "
                       "ip saddr 198.18.0.0/24 ip saddr != " HUB_ADDRESS " meta l4proto udp drop",
                       net.hub, net.hub, net.hub, net.hub), ==, 0);
  daemon = spawn_in (ns, log, &error, cli, "service", "run", "-c", config, "--daemon-addr", addr,
                     NULL);
  g_assert_no_error (error);
  for (int tries = 0; !g_file_test (sock, G_FILE_TEST_EXISTS); tries++)
    {
      g_assert_cmpint (tries, <, 100);
      iterate_for (100);
    }
  g_assert_cmpint (sh ("%s up -m %s -k %s -n peer-d --interface-name %s --daemon-addr %s",
                       cli, MGMT_URL, net.setup_key, ifname, addr), ==, 0);

  until = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (!relayed && g_get_monotonic_time () < until)
    {
      g_autofree char *json = NULL;
      g_autofree char *cmd = g_strdup_printf ("%s status --json --daemon-addr %s", cli, addr);
      g_autoptr(JsonParser) parser = json_parser_new ();
      JsonArray *details;

      iterate_for (500);
      if (!g_spawn_command_line_sync (cmd, &json, NULL, NULL, NULL) ||
          !json_parser_load_from_data (parser, json, -1, NULL))
        continue;
      details = json_object_get_array_member (
        json_object_get_object_member (json_node_get_object (json_parser_get_root (parser)),
                                       "peers"), "details");
      for (guint i = 0; details != NULL && i < json_array_get_length (details); i++)
        {
          JsonObject *peer = json_array_get_object_element (details, i);

          if (g_strcmp0 (json_object_get_string_member (peer, "publicKey"),
                         host_a->public_key) == 0 &&
              g_strcmp0 (json_object_get_string_member (peer, "status"), "Connected") == 0 &&
              g_strcmp0 (json_object_get_string_member (peer, "connectionType"), "Relayed") == 0 &&
              g_strcmp0 (json_object_get_string_member (peer, "relayAddress"), RELAY_URL) == 0)
            {
              g_test_message ("netbird status --json: a is Connected, connectionType Relayed, "
                              "relayAddress %s", RELAY_URL);
              relayed = TRUE;
            }
        }
    }
  g_assert_true (relayed);
  g_assert_cmpint (sh ("%s down --daemon-addr %s", cli, addr), ==, 0);
  g_assert_cmpint (stop_proc (daemon), ==, 0);
  sh ("rm -f /var/run/wireguard/%s.sock", ifname);
  g_assert_cmpint (sh ("ip netns exec %s nft delete table bridge nbd", net.hub), ==, 0);
}

static void
test_relay_needs_root (void)
{
  g_test_fail_printf ("the relay client tests make network namespaces: run them as root");
}

/* UDP between a and b dropped from the start: the pair goes through the
 * WebSocket relay; ping and 50 MB with their checksum go through it. */
static void
test_relay_blocked (void)
{
  Stream *s;
  guint64 relayed0, relayed1, bytes;
  gint64 t0;
  guint i;

  block_udp (TRUE);
  t0 = g_get_monotonic_time ();
  host_a = host_new (net.setup_key);
  host_b = host_new (net.setup_key);
  host_wait_up (host_a);
  host_wait_up (host_b);
  i = host_wait (host_a, 0, 60, "peer key=", host_b->public_key,
                 "state=connected type=relayed", "relay=" RELAY_URL, NULL);
  g_assert_cmpuint (i, >, 0);
  g_test_message ("a and b connected through the relay %" G_GINT64_FORMAT " ms after they "
                  "started", (g_get_monotonic_time () - t0) / 1000);
  g_assert_cmpuint (host_wait (host_b, 0, 30, "peer key=", host_a->public_key,
                               "state=connected type=relayed", "relay=" RELAY_URL, NULL), >, 0);
  g_assert_true (ping_from (host_a, host_b->address, 20));
  g_assert_true (ping_from (host_b, host_a->address, 10));

  relayed0 = relay_forwarded_bytes ();
  t0 = g_get_monotonic_time ();
  s = stream_start ("bulk", BULK_BYTES, 0);
  bytes = stream_finish (s, 240);
  g_assert_cmpuint (bytes, ==, BULK_BYTES);
  relayed1 = relay_forwarded_bytes ();
  g_test_message ("50 MiB through the relay in %" G_GINT64_FORMAT " ms; the relay forwarded "
                  "%" G_GUINT64_FORMAT " bytes", (g_get_monotonic_time () - t0) / 1000,
                  relayed1 - relayed0);
  /* Every byte went through the relay (WireGuard's overhead on top). */
  g_assert_cmpuint (relayed1 - relayed0, >, BULK_BYTES);
  /* And never over a direct path. */
  g_assert_cmpuint (host_wait (host_a, 0, 0, "peer key=", host_b->public_key, "type=p2p", NULL),
                    ==, 0);
}

/* Under one running transfer: UDP allowed (the pair goes P2P with no new
 * handshake), then dropped again (back to the relay); the transfer
 * carries on through both. */
static void
test_relay_upgrade_fallback (void)
{
  Stream *s;
  guint64 hs0, hs1, at, relayed0, relayed1, bytes;
  gint64 t0;
  guint i, j;

  g_assert_nonnull (host_a);
  g_assert_nonnull (host_b);
  s = stream_start ("stream", 0, STREAM_RATE);
  g_assert_true (progress_past (s->recv_report, 1024 * 1024, 30));

  /* Handshakes settled first: initiations that crossed at the start are
   * retried after REKEY_TIMEOUT (5 s). */
  for (guint tries = 0;; tries++)
    {
      hs0 = handshakes (host_a) + handshakes (host_b);
      iterate_for (6000);
      if (hs0 == handshakes (host_a) + handshakes (host_b))
        break;
      g_assert_cmpuint (tries, <, 5);
    }
  t0 = g_get_monotonic_time ();
  block_udp (FALSE);
  i = host_wait (host_a, 0, 120, "peer key=", host_b->public_key, "state=connected type=p2p",
                 NULL);
  g_assert_cmpuint (i, >, 0);
  hs1 = handshakes (host_a) + handshakes (host_b);
  g_test_message ("upgraded to P2P %" G_GINT64_FORMAT " ms after UDP was let through; "
                  "handshakes on both sides %" G_GUINT64_FORMAT " before, %" G_GUINT64_FORMAT
                  " after", (g_get_monotonic_time () - t0) / 1000, hs0, hs1);
  /* The switch itself makes none: the session goes on over the new path
   * (one is WireGuard's own renewal, every 120 s, landing in the window). */
  g_assert_cmpuint (hs1 - hs0, <=, 1);
  /* The transfer goes on over the direct path, and not through the relay. */
  at = progress (s->recv_report);
  iterate_for (2000);
  relayed0 = relay_forwarded_bytes ();
  g_assert_true (progress_past (s->recv_report, at + 1024 * 1024, 30));
  relayed1 = relay_forwarded_bytes ();
  g_test_message ("on the direct path: the relay forwarded %" G_GUINT64_FORMAT " bytes while "
                  "1 MiB went through", relayed1 - relayed0);
  g_assert_cmpuint (relayed1 - relayed0, <, 1024 * 1024);

  t0 = g_get_monotonic_time ();
  block_udp (TRUE);
  j = host_wait (host_a, i, 120, "peer key=", host_b->public_key,
                 "state=connected type=relayed", "relay=" RELAY_URL, NULL);
  g_assert_cmpuint (j, >, 0);
  g_test_message ("back on the relay %" G_GINT64_FORMAT " ms after UDP was dropped",
                  (g_get_monotonic_time () - t0) / 1000);
  at = progress (s->recv_report);
  relayed0 = relay_forwarded_bytes ();
  g_assert_true (progress_past (s->recv_report, at + 1024 * 1024, 90));
  relayed1 = relay_forwarded_bytes ();
  g_assert_cmpuint (relayed1 - relayed0, >, 1024 * 1024);

  /* One connection from start to end, every byte as sent. */
  bytes = stream_finish (s, 120);
  g_test_message ("%" G_GUINT64_FORMAT " bytes in one TCP connection across both switches",
                  bytes);
  /* The WireGuard peer was never replaced: it counted both transfers. */
  g_assert_cmpuint (peer_rx (host_b, host_a->public_key), >, BULK_BYTES + bytes);
}

int
main (int    argc,
      char **argv)
{
  int rc;

  g_test_init (&argc, &argv, NULL);
  if (getuid () != 0)
    {
      g_test_add_func ("/client/relay", test_relay_needs_root);
      return g_test_run ();
    }
  net_setup_relay ();
  g_test_add_func ("/client/relay/blocked", test_relay_blocked);
  g_test_add_func ("/client/relay/upgrade-fallback", test_relay_upgrade_fallback);
  g_test_add_func ("/client/relay/daemon-status", test_relay_daemon_status);
  rc = g_test_run ();
  g_clear_pointer (&host_a, host_free);
  g_clear_pointer (&host_b, host_free);
  net_teardown ();
  return rc;
}
