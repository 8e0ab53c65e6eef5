/* test-client-network.c: NbClients on a network, against a real
 * Management and Signal
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * In network namespaces (root; client-test-net.c makes them): clients
 * register with the setup key Management made on its first start, get each
 * other in their maps, connect through Signal and ICE and ping each other
 * over the tunnel. Then: Management and Signal restarted under them, a
 * client restarted, a client joining later, a relayed path, block-inbound,
 * the firewall rules of a policy in the filter (stats=1 on the UAPI socket
 * shows the drops), disable-firewall, a peer deleted through the REST API
 * (gone from the other's map at once, its own client needs a login and gets
 * back with one), wrong and revoked setup keys, five clients at once.
 */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <netbird.h>

#include "client-test-net.h"

static Host *host_a, *host_b, *host_c;

static void
test_network_ping (void)
{
  guint i;
  gint64 started = g_get_monotonic_time ();

  host_a = host_new (net.setup_key);
  host_b = host_new (net.setup_key);
  host_wait_up (host_a);
  host_wait_up (host_b);
  g_test_message ("a=%s %s b=%s %s", host_a->address, host_a->public_key, host_b->address,
                  host_b->public_key);
  g_assert_cmpstr (host_a->address, !=, host_b->address);

  /* Each gets the other in its map and connects to it through ICE. */
  g_assert_cmpuint (host_wait (host_a, 0, 30, "peer-added key=", host_b->public_key, NULL), >, 0);
  g_assert_cmpuint (host_wait (host_b, 0, 30, "peer-added key=", host_a->public_key, NULL), >, 0);
  i = host_wait (host_a, 0, 30, "peer key=", host_b->public_key, "state=connected type=p2p",
                 "local=host remote=host", NULL);
  g_assert_cmpuint (i, >, 0);
  g_assert_cmpuint (host_wait (host_b, 0, 30, "peer key=", host_a->public_key,
                               "state=connected type=p2p", NULL), >, 0);

  g_assert_true (ping_from (host_a, host_b->address, 20));
  g_test_message ("first ping a -> b after %" G_GINT64_FORMAT " ms",
                  (g_get_monotonic_time () - started) / 1000);
  g_assert_true (ping_from (host_b, host_a->address, 10));
  /* Status: the tunnel's round trip (each side measures its own: the
   * controlled side's first handshake comes a second later) and its
   * bytes, live. */
  {
    g_autofree char *needle = g_strdup_printf ("status key=%s", host_b->public_key);
    const char *line = NULL;

    for (int tries = 0; tries < 30; tries++)
      {
        guint from = host_a->lines->len;

        g_subprocess_send_signal (host_a->proc, SIGUSR1);
        i = host_wait (host_a, from, 5, needle, NULL);
        g_assert_cmpuint (i, >, 0);
        line = host_a->lines->pdata[i - 1];
        if (strstr (line, "latency_us=0") == NULL)
          break;
        iterate_for (200);
      }
    g_assert_null (strstr (line, "latency_us=0"));
    g_assert_null (strstr (line, "rx=0 "));
    g_assert_null (strstr (line, "tx=0 "));
    g_assert_null (strstr (line, "handshake=0 "));
  }
  /* wg(8) sees the client's device and its handshake. */
  g_assert_cmpint (sh ("wg show %s latest-handshakes | grep -q '%s\t[1-9]'", host_a->ifname,
                       host_b->public_key), ==, 0);
  g_assert_cmpint (sh ("ip -n %s -4 addr show %s | grep -q 'inet %s/'", host_a->ns,
                       host_a->ifname, host_a->address), ==, 0);
  g_assert_cmpint (sh ("ip -n %s link show %s | grep -q 'mtu 1280'", host_a->ns,
                       host_a->ifname), ==, 0);
}


/* Management away: the tunnels keep running; back: the clients reconnect. */
static void
test_network_management_restart (void)
{
  guint from_a, from_b;
  gint64 t0;

  g_assert_nonnull (host_a);
  from_a = host_a->lines->len;
  from_b = host_b->lines->len;
  stop_proc (net.mgmt);
  g_assert_cmpuint (host_wait (host_a, from_a, 10, "management connected=0", NULL), >, 0);
  g_assert_cmpuint (host_wait (host_b, from_b, 10, "management connected=0", NULL), >, 0);
  g_assert_true (ping_from (host_a, host_b->address, 3));
  g_assert_true (ping_from (host_b, host_a->address, 3));
  iterate_for (2000);
  g_assert_true (ping_from (host_a, host_b->address, 3));

  t0 = g_get_monotonic_time ();
  restart_mgmt ();
  g_assert_cmpuint (host_wait (host_a, from_a, 40, "management connected=1", NULL), >, 0);
  g_assert_cmpuint (host_wait (host_b, from_b, 40, "management connected=1", NULL), >, 0);
  g_test_message ("both reconnected %" G_GINT64_FORMAT " ms after Management restarted",
                  (g_get_monotonic_time () - t0) / 1000);
  g_assert_true (ping_from (host_a, host_b->address, 5));
}

/* Signal away: the tunnels keep running; back: both clients reconnect to
 * it (and offer again what was lost meanwhile). */
static void
test_network_signal_restart (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *log = g_build_filename (net.tmp, "signal2.log", NULL);
  g_autofree char *listen = g_strdup_printf ("%s:%d", HUB_ADDRESS, SIGNAL_PORT);
  guint from_a, from_b;
  gint64 t0;

  g_assert_nonnull (host_a);
  from_a = host_a->lines->len;
  from_b = host_b->lines->len;
  g_assert_cmpint (stop_proc (net.signal), ==, 0);
  g_assert_cmpuint (host_wait (host_a, from_a, 10, "signal connected=0", NULL), >, 0);
  g_assert_cmpuint (host_wait (host_b, from_b, 10, "signal connected=0", NULL), >, 0);
  g_assert_true (ping_from (host_a, host_b->address, 3));

  t0 = g_get_monotonic_time ();
  g_clear_object (&net.signal);
  net.signal = spawn_in (net.hub, log, &error, g_getenv ("NETBIRD_SIGNAL"), "--listen", listen,
                         NULL);
  g_assert_no_error (error);
  g_assert_true (wait_file (log, "Listening on", 30));
  g_assert_cmpuint (host_wait (host_a, from_a, 40, "signal connected=1", NULL), >, 0);
  g_assert_cmpuint (host_wait (host_b, from_b, 40, "signal connected=1", NULL), >, 0);
  g_test_message ("both back on Signal %" G_GINT64_FORMAT " ms after it restarted",
                  (g_get_monotonic_time () - t0) / 1000);
  g_assert_true (ping_from (host_b, host_a->address, 5));
}

/* A restarted client is the same peer: same key, same address, no setup
 * key needed. */
static void
test_network_client_restart (void)
{
  g_autofree char *key = NULL;
  g_autofree char *address = NULL;

  g_assert_nonnull (host_b);
  key = g_steal_pointer (&host_b->public_key);
  address = g_steal_pointer (&host_b->address);
  g_assert_cmpint (host_stop (host_b), ==, 0);
  g_ptr_array_set_size (host_b->lines, 0);
  /* Its interface went with it. */
  g_assert_cmpint (sh ("ip -n %s link show %s 2>/dev/null", host_b->ns, host_b->ifname), !=, 0);
  host_start (host_b, NULL);
  host_wait_up (host_b);
  g_assert_cmpstr (host_b->public_key, ==, key);
  g_assert_cmpstr (host_b->address, ==, address);
  g_assert_true (ping_from (host_a, host_b->address, 20));
  g_assert_true (ping_from (host_b, host_a->address, 5));
}

/* A peer that joins later: the others get it in their maps and reach it
 * within seconds. */
static void
test_network_late_joiner (void)
{
  guint from_a, from_b;
  gint64 t0 = g_get_monotonic_time ();

  g_assert_nonnull (host_b);
  from_a = host_a->lines->len;
  from_b = host_b->lines->len;
  host_c = host_new (net.setup_key);
  host_wait_up (host_c);
  g_assert_cmpuint (host_wait (host_a, from_a, 10, "peer-added key=", host_c->public_key, NULL),
                    >, 0);
  g_assert_cmpuint (host_wait (host_b, from_b, 10, "peer-added key=", host_c->public_key, NULL),
                    >, 0);
  /* The new peer's first ping, as `netbird up` then ping would send it:
   * its handshake must not cross one of ours (5 s lost). */
  g_assert_true (ping_from (host_c, host_a->address, 10));
  g_test_message ("the late joiner reached a %" G_GINT64_FORMAT " ms after it started",
                  (g_get_monotonic_time () - t0) / 1000);
  g_assert_cmpint ((g_get_monotonic_time () - t0) / 1000, <, 4000);
  g_assert_true (ping_from (host_a, host_c->address, 10));
  g_assert_true (ping_from (host_c, host_b->address, 10));
  {
    /* For the record: what a client with two connected peers holds. */
    g_autofree char *path =
      g_strdup_printf ("/proc/%s/status", g_subprocess_get_identifier (host_a->proc));
    g_autofree char *text = read_file (path);
    const char *rss = text != NULL ? strstr (text, "VmRSS:") : NULL;

    g_assert_nonnull (rss);
    g_test_message ("client a with 2 connected peers: %.*s", (int) strcspn (rss, "\n"), rss);
  }
}

/* UDP between two clients dropped (a bridge rule in the hub): ICE fails
 * the direct pairs, and the relay-only round goes through coturn. */
static void
test_network_relay_fallback (void)
{
  Host *host_d;
  guint i;
  gint64 t0;

  g_assert_nonnull (host_a);
  g_assert_cmpint (sh ("ip netns exec %s nft add table bridge nbc && "
                       "ip netns exec %s nft add chain bridge nbc nbcforward "
                       "'{ type filter hook forward priority 0; }' && "
                       "ip netns exec %s nft add rule bridge nbc nbcforward ip saddr 198.18.0.10 "
                       "ip daddr 198.18.0.13 meta l4proto udp drop && "
                       "ip netns exec %s nft add rule bridge nbc nbcforward ip saddr 198.18.0.13 "
                       "ip daddr 198.18.0.10 meta l4proto udp drop",
                       net.hub, net.hub, net.hub, net.hub), ==, 0);
  t0 = g_get_monotonic_time ();
  host_d = host_new (net.setup_key);
  host_wait_up (host_d);
  i = host_wait (host_a, 0, 90, "peer key=", host_d->public_key, "state=connected type=relayed",
                 NULL);
  g_assert_cmpuint (i, >, 0);
  g_test_message ("a and d connected through the relay after %" G_GINT64_FORMAT " ms",
                  (g_get_monotonic_time () - t0) / 1000);
  g_assert_true (ping_from (host_a, host_d->address, 20));
  g_assert_true (ping_from (host_d, host_a->address, 10));
  /* d reaches b directly. */
  g_assert_true (ping_from (host_d, host_b->address, 20));
  g_assert_cmpuint (host_wait (host_d, 0, 5, "peer key=", host_b->public_key,
                               "state=connected type=p2p", NULL), >, 0);
  host_free (host_d);
  g_assert_cmpint (sh ("ip netns exec %s nft delete table bridge nbc", net.hub), ==, 0);
}

/* block-inbound: nothing comes in to B, whatever the policy, but B's own
 * connections get their replies. */
static void
test_network_block_inbound (void)
{
  guint64 blocked;

  g_assert_nonnull (host_b);
  g_assert_cmpint (host_stop (host_b), ==, 0);
  g_ptr_array_set_size (host_b->lines, 0);
  g_clear_pointer (&host_b->public_key, g_free);
  g_clear_pointer (&host_b->address, g_free);
  host_start_with (host_b, NULL, "--block-inbound");
  host_wait_up (host_b);
  g_assert_true (ping_from (host_b, host_a->address, 20));
  g_assert_false (ping_from (host_a, host_b->address, 2));
  blocked = uapi_stat (host_b, "filter_drop_block_inbound");
  g_assert_cmpuint (blocked, >, 0);
  g_assert_cmpuint (uapi_stat (host_b, "filter_accept_conntrack"), >, 0);
  g_test_message ("block-inbound dropped %" G_GUINT64_FORMAT " packets", blocked);

  /* Back to the policy's rules. */
  g_assert_cmpint (host_stop (host_b), ==, 0);
  g_ptr_array_set_size (host_b->lines, 0);
  g_clear_pointer (&host_b->public_key, g_free);
  g_clear_pointer (&host_b->address, g_free);
  host_start (host_b, NULL);
  host_wait_up (host_b);
  g_assert_true (ping_from (host_a, host_b->address, 20));
}

static void
test_network_firewall (void)
{
  g_autoptr(JsonNode) policies = NULL;
  g_autofree char *body = NULL;
  JsonArray *list;
  JsonObject *policy;
  const char *id;
  guint64 dropped;
  guint from;
  guint i;

  g_assert_nonnull (host_a);
  /* The default policy (All <-> All) lets everything through. */
  g_assert_cmpuint (uapi_stat (host_b, "filter_rules"), >, 0);
  dropped = uapi_stat (host_b, "rx_drop_filter");

  /* Only TCP 22 from the group to itself: pings are dropped now, and the
   * drops counted. */
  policies = rest ("GET", "/policies", NULL, 200);
  list = json_node_get_array (policies);
  g_assert_cmpuint (json_array_get_length (list), >, 0);
  policy = json_array_get_object_element (list, 0);
  id = json_object_get_string_member (policy, "id");
  {
    JsonArray *rules = json_object_get_array_member (policy, "rules");
    JsonObject *rule = json_array_get_object_element (rules, 0);
    JsonArray *sources = json_object_get_array_member (rule, "sources");
    JsonNode *group = json_array_get_element (sources, 0);
    const char *group_id = JSON_NODE_HOLDS_OBJECT (group)
                           ? json_object_get_string_member (json_node_get_object (group), "id")
                           : json_node_get_string (group);

    body = g_strdup_printf ("{\"name\": \"ssh only\", \"enabled\": true, \"rules\": [{"
                            "\"name\": \"ssh\", \"enabled\": true, \"action\": \"accept\", "
                            "\"bidirectional\": true, \"protocol\": \"tcp\", \"ports\": [\"22\"], "
                            "\"sources\": [\"%s\"], \"destinations\": [\"%s\"]}]}",
                            group_id, group_id);
  }
  {
    g_autofree char *path = g_strdup_printf ("/policies/%s", id);
    g_autoptr(JsonNode) updated = NULL;

    from = host_b->lines->len;
    updated = rest ("PUT", path, body, 200);
  }
  g_assert_cmpuint (host_wait (host_b, from, 10, "map serial=", NULL), >, 0);
  g_assert_false (ping_from (host_a, host_b->address, 2));
  g_assert_cmpuint (uapi_stat (host_b, "rx_drop_filter"), >, dropped);
  g_assert_cmpuint (uapi_stat (host_b, "filter_drop_no_rule") +
                    uapi_stat (host_b, "filter_drop_protocol"), >, 0);
  /* The client's status says so too. */
  {
    const char *line;

    from = host_b->lines->len;
    g_subprocess_send_signal (host_b->proc, SIGUSR1);
    i = host_wait (host_b, from, 5, "status-end", NULL);
    g_assert_cmpuint (i, >, 0);
    line = host_b->lines->pdata[i - 1];
    g_assert_nonnull (strstr (line, "firewall_mode=enforcing"));
    g_assert_null (strstr (line, "firewall_rules=0 "));
    g_assert_null (strstr (line, "firewall_drops=0"));
  }

  /* disable-firewall: the same policy, nothing enforced. */
  g_assert_cmpint (host_stop (host_b), ==, 0);
  g_ptr_array_set_size (host_b->lines, 0);
  g_clear_pointer (&host_b->public_key, g_free);
  g_clear_pointer (&host_b->address, g_free);
  host_start_with (host_b, NULL, "--disable-firewall");
  host_wait_up (host_b);
  g_assert_true (ping_from (host_a, host_b->address, 20));
  {
    const char *line;

    from = host_b->lines->len;
    g_subprocess_send_signal (host_b->proc, SIGUSR1);
    i = host_wait (host_b, from, 5, "status-end", NULL);
    g_assert_cmpuint (i, >, 0);
    line = host_b->lines->pdata[i - 1];
    g_assert_nonnull (strstr (line, "firewall_mode=disabled"));
  }
}

static void
test_network_peer_deleted (void)
{
  g_autoptr(JsonNode) peers = NULL;
  g_autofree char *path = NULL;
  JsonArray *list;
  const char *id = NULL;
  guint from_a, from_b;
  gint64 t0;

  g_assert_nonnull (host_a);
  peers = rest ("GET", "/peers", NULL, 200);
  list = json_node_get_array (peers);
  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonObject *p = json_array_get_object_element (list, i);

      if (g_strcmp0 (json_object_get_string_member (p, "ip"), host_b->address) == 0)
        id = json_object_get_string_member (p, "id");
    }
  g_assert_nonnull (id);
  path = g_strdup_printf ("/peers/%s", id);
  from_a = host_a->lines->len;
  from_b = host_b->lines->len;
  t0 = g_get_monotonic_time ();
  g_clear_pointer (&peers, json_node_unref);
  peers = rest ("DELETE", path, NULL, 200);
  /* The other side drops it at once; the deleted one learns it is. */
  g_assert_cmpuint (host_wait (host_a, from_a, 5, "peer-removed key=", host_b->public_key, NULL),
                    >, 0);
  g_test_message ("peer removed on a after %" G_GINT64_FORMAT " ms",
                  (g_get_monotonic_time () - t0) / 1000);
  g_assert_cmpuint (host_wait (host_b, from_b, 5, "state=needs-login", NULL), >, 0);
  g_assert_cmpuint (host_wait (host_b, from_b, 5, "peer-removed key=", host_a->public_key, NULL),
                    >, 0);
  g_assert_cmpuint (host_wait (host_b, from_b, 5, "management connected=0 error=This peer was deleted",
                               NULL), >, 0);
  g_assert_false (ping_from (host_a, host_b->address, 1));

  /* A login with the setup key brings it back, as a new peer with the
   * same key: the others get it again and reach it. */
  from_a = host_a->lines->len;
  from_b = host_b->lines->len;
  g_subprocess_send_signal (host_b->proc, SIGUSR2);
  g_assert_cmpuint (host_wait (host_b, from_b, 10, "login ok", NULL), >, 0);
  g_assert_cmpuint (host_wait (host_b, from_b, 10, "state=connected", NULL), >, 0);
  g_assert_cmpuint (host_wait (host_b, from_b, 10, "management connected=1", NULL), >, 0);
  g_assert_cmpuint (host_wait (host_a, from_a, 10, "peer-added key=", host_b->public_key, NULL),
                    >, 0);
  {
    guint i = host_wait (host_a, from_a, 10, "peer-added key=", host_b->public_key, NULL);
    const char *line = host_a->lines->pdata[i - 1];

    g_free (host_b->address);
    host_b->address = g_strdup (strstr (line, "address=") + strlen ("address="));
  }
  /* Connected again (the policy of the firewall test lets no ping
   * through: the connection is the proof). */
  g_assert_cmpuint (host_wait (host_a, from_a, 20, "peer key=", host_b->public_key,
                               "state=connected", NULL), >, 0);
  g_assert_cmpuint (host_wait (host_b, from_b, 20, "peer key=", host_a->public_key,
                               "state=connected", NULL), >, 0);
}

static void
test_network_wrong_setup_key (void)
{
  Host *host = host_new ("00000000-0000-0000-0000-000000000000");

  g_assert_cmpuint (host_wait (host, 0, 20, "up-failed error=setup-key-invalid", NULL), >, 0);
  /* It ends by itself, with status 3 (nb-client-run's "up failed"). */
  g_assert_cmpint (host_stop (host), ==, 3);
  host_free_stopped (host);
}

static void
test_network_needs_root (void)
{
  g_test_skip ("the network tests make namespaces and TUN devices: run them as root");
}

/* A revoked setup key: the login is refused, with Management's words. */
static void
test_network_revoked_setup_key (void)
{
  g_autoptr(JsonNode) key = rest ("POST", "/setup-keys",
                                  "{\"name\": \"revoked\", \"type\": \"reusable\", "
                                  "\"expires_in\": 86400, \"auto_groups\": [], "
                                  "\"usage_limit\": 0, \"ephemeral\": false}", 200);
  JsonObject *o = json_node_get_object (key);
  g_autofree char *path = g_strdup_printf ("/setup-keys/%s", json_object_get_string_member (o, "id"));
  g_autoptr(JsonNode) revoked = rest ("PUT", path, "{\"revoked\": true, \"auto_groups\": []}",
                                      200);
  Host *host = host_new (json_object_get_string_member (o, "key"));
  guint i = host_wait (host, 0, 20, "up-failed error=login-refused", NULL);

  g_assert_cmpuint (i, >, 0);
  g_assert_nonnull (strstr (host->lines->pdata[i - 1], "revoked"));
  g_assert_cmpint (host_stop (host), ==, 3);
  host_free_stopped (host);
}

/* Five clients starting at once: every one connects to every other. */
#define MESH_SIZE 5

static void
test_network_mesh (void)
{
  Host *mesh[MESH_SIZE];
  gint64 t0 = g_get_monotonic_time ();

  for (guint i = 0; i < MESH_SIZE; i++)
    mesh[i] = host_new (net.setup_key);
  for (guint i = 0; i < MESH_SIZE; i++)
    host_wait_up (mesh[i]);
  for (guint i = 0; i < MESH_SIZE; i++)
    for (guint j = 0; j < MESH_SIZE; j++)
      if (i != j)
        {
          guint line = host_wait (mesh[i], 0, 30, "peer key=", mesh[j]->public_key,
                                  "state=connected", NULL);

          if (line == 0)
            g_error ("%s did not connect to %s", mesh[i]->name, mesh[j]->name);
        }
  g_test_message ("%u clients, every pair connected %" G_GINT64_FORMAT " ms after they started",
                  MESH_SIZE, (g_get_monotonic_time () - t0) / 1000);
  for (guint i = 0; i < MESH_SIZE; i++)
    host_free (mesh[i]);
}

int
main (int    argc,
      char **argv)
{
  int rc;

  g_test_init (&argc, &argv, NULL);
  if (getuid () != 0)
    {
      g_test_add_func ("/client/network", test_network_needs_root);
      return g_test_run ();
    }
  net_setup ();
  g_test_add_func ("/client/network/ping", test_network_ping);
  g_test_add_func ("/client/network/management-restart", test_network_management_restart);
  g_test_add_func ("/client/network/signal-restart", test_network_signal_restart);
  g_test_add_func ("/client/network/client-restart", test_network_client_restart);
  g_test_add_func ("/client/network/late-joiner", test_network_late_joiner);
  g_test_add_func ("/client/network/relay-fallback", test_network_relay_fallback);
  g_test_add_func ("/client/network/block-inbound", test_network_block_inbound);
  g_test_add_func ("/client/network/firewall", test_network_firewall);
  g_test_add_func ("/client/network/peer-deleted", test_network_peer_deleted);
  g_test_add_func ("/client/network/wrong-setup-key", test_network_wrong_setup_key);
  g_test_add_func ("/client/network/revoked-setup-key", test_network_revoked_setup_key);
  g_test_add_func ("/client/network/mesh", test_network_mesh);
  rc = g_test_run ();
  g_clear_pointer (&host_a, host_free);
  g_clear_pointer (&host_b, host_free);
  g_clear_pointer (&host_c, host_free);
  net_teardown ();
  return rc;
}
