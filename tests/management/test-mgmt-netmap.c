/* test-mgmt-netmap.c: network maps from groups and policies, and which peers
 * a change affects
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <string.h>

#include <json-glib/json-glib.h>

#include "mgmt-test-util.h"
#include "nb-mgmt-netmap-private.h"

#define MAX_ITEMS 6

typedef struct {
  const char *name;
  const char *members;          /* peer names, space separated */
} GroupSpec;

typedef struct {
  const char *src;              /* group names, space separated */
  const char *dst;
  gboolean bidirectional;
  NbMgmtRuleAction action;
  NbMgmtProtocol protocol;
  const char *ports;            /* "22 80" */
  const char *ranges;           /* "1000-2000" */
  gboolean disabled;
} RuleSpec;

typedef struct {
  const char *peer;
  const char *reaches;          /* peer names, by address */
  const char *rules;            /* "peer:dir:action:proto[:port|:a-b]", in map order */
} Expect;

typedef struct {
  const char *title;
  const char *peers;
  gboolean keep_default_policy;
  GroupSpec groups[MAX_ITEMS];
  RuleSpec rules[MAX_ITEMS];
  Expect expect[MAX_ITEMS];
} Case;

static const Case cases[] = {
  {
    .title = "default-all-to-all",
    .peers = "a b c",
    .keep_default_policy = TRUE,
    .expect = {
      { "a", "b c", "b:in:accept:all b:out:accept:all c:in:accept:all c:out:accept:all" },
      { "b", "a c", "a:in:accept:all a:out:accept:all c:in:accept:all c:out:accept:all" },
    },
  },
  {
    .title = "one-way-tcp-port",
    .peers = "a b c",
    .groups = { { "admins", "a" }, { "servers", "b" } },
    .rules = { { "admins", "servers", FALSE, NB_MGMT_RULE_ACTION_ACCEPT, NB_MGMT_PROTOCOL_TCP, "22" } },
    .expect = {
      { "a", "b", "b:out:accept:tcp:22" },
      { "b", "a", "a:in:accept:tcp:22" },
      { "c", "", "" },
    },
  },
  {
    .title = "bidirectional-udp-ports-and-range",
    .peers = "a b c",
    .groups = { { "dns", "a" }, { "clients", "b c" } },
    .rules = { { "dns", "clients", TRUE, NB_MGMT_RULE_ACTION_ACCEPT, NB_MGMT_PROTOCOL_UDP, "53", "1000-2000" } },
    .expect = {
      { "a", "b c",
        "b:in:accept:udp:1000-2000 b:in:accept:udp:53 b:out:accept:udp:1000-2000 b:out:accept:udp:53 "
        "c:in:accept:udp:1000-2000 c:in:accept:udp:53 c:out:accept:udp:1000-2000 c:out:accept:udp:53" },
      { "b", "a", "a:in:accept:udp:1000-2000 a:in:accept:udp:53 a:out:accept:udp:1000-2000 a:out:accept:udp:53" },
    },
  },
  {
    .title = "drop-before-accept",
    .peers = "a b c",
    .keep_default_policy = TRUE,
    .groups = { { "ga", "a" }, { "gb", "b" } },
    .rules = { { "ga", "gb", FALSE, NB_MGMT_RULE_ACTION_DROP, NB_MGMT_PROTOCOL_ALL } },
    .expect = {
      { "a", "b c", "b:out:drop:all b:in:accept:all b:out:accept:all c:in:accept:all c:out:accept:all" },
      { "b", "a c", "a:in:drop:all a:in:accept:all a:out:accept:all c:in:accept:all c:out:accept:all" },
    },
  },
  {
    .title = "drop-alone-reaches-nobody",
    .peers = "a b",
    .groups = { { "ga", "a" }, { "gb", "b" } },
    .rules = { { "ga", "gb", TRUE, NB_MGMT_RULE_ACTION_DROP, NB_MGMT_PROTOCOL_ALL } },
    .expect = {
      { "a", "", "" },
      { "b", "", "" },
    },
  },
  {
    .title = "disabled-rule-ignored",
    .peers = "a b",
    .groups = { { "ga", "a" }, { "gb", "b" } },
    .rules = { { "ga", "gb", TRUE, NB_MGMT_RULE_ACTION_ACCEPT, NB_MGMT_PROTOCOL_ALL, .disabled = TRUE } },
    .expect = {
      { "a", "", "" },
      { "b", "", "" },
    },
  },
  {
    .title = "overlapping-groups",
    .peers = "a b c d",
    .groups = { { "left", "a b" }, { "right", "b c" } },
    .rules = { { "left", "right", FALSE, NB_MGMT_RULE_ACTION_ACCEPT, NB_MGMT_PROTOCOL_ALL } },
    .expect = {
      { "a", "b c", "b:out:accept:all c:out:accept:all" },
      { "b", "a c", "a:in:accept:all c:out:accept:all" },
      { "c", "a b", "a:in:accept:all b:in:accept:all" },
      { "d", "", "" },
    },
  },
  {
    .title = "two-rules-same-peers-icmp-and-tcp",
    .peers = "a b",
    .groups = { { "ga", "a" }, { "gb", "b" } },
    .rules = {
      { "ga", "gb", FALSE, NB_MGMT_RULE_ACTION_ACCEPT, NB_MGMT_PROTOCOL_ICMP },
      { "ga gb", "gb", FALSE, NB_MGMT_RULE_ACTION_ACCEPT, NB_MGMT_PROTOCOL_TCP, "443" },
    },
    .expect = {
      { "a", "b", "b:out:accept:tcp:443 b:out:accept:icmp" },
      { "b", "a", "a:in:accept:tcp:443 a:in:accept:icmp" },
    },
  },
};

typedef struct {
  StoreFixture f;
  GHashTable *peers;            /* name -> NbMgmtPeer */
  GHashTable *groups;           /* name -> group id */
  GHashTable *by_ip;            /* ip -> name */
  char *all_id;
} NetFixture;

static void
net_setup (NetFixture   *n,
           gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) groups = NULL;

  store_fixture_setup (&n->f, data);
  n->peers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) nb_mgmt_peer_free);
  n->groups = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  n->by_ip = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  groups = nb_mgmt_store_list_groups (n->f.store, n->f.account->id, &error);
  g_assert_no_error (error);
  n->all_id = g_strdup (((NbMgmtGroup *) groups->pdata[0])->id);
}

static void
net_teardown (NetFixture   *n,
              gconstpointer data)
{
  g_hash_table_unref (n->peers);
  g_hash_table_unref (n->groups);
  g_hash_table_unref (n->by_ip);
  g_free (n->all_id);
  store_fixture_teardown (&n->f, data);
}

static NbMgmtPeer *
net_add_peer (NetFixture *n,
              const char *name)
{
  NbMgmtPeer *p = add_peer (&n->f, name);

  g_hash_table_insert (n->by_ip, g_strdup (p->ip), g_strdup (name));
  g_hash_table_insert (n->peers, g_strdup (name), p);
  return p;
}

static char *
net_add_group (NetFixture *n,
               const char *name,
               const char *members)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) names = g_strsplit (members, " ", -1);
  g_autoptr(GStrvBuilder) ids = g_strv_builder_new ();
  g_auto(GStrv) peer_ids = NULL;
  g_autoptr(NbMgmtGroup) g = NULL;
  NbMgmtGroup tmpl = { .name = (char *) name };

  for (guint i = 0; names[i] != NULL; i++)
    if (*names[i] != '\0')
      g_strv_builder_add (ids, ((NbMgmtPeer *) g_hash_table_lookup (n->peers, names[i]))->id);
  peer_ids = g_strv_builder_end (ids);
  tmpl.peers = peer_ids;
  g = nb_mgmt_store_create_group (n->f.store, n->f.account->id, n->f.owner->id, &tmpl, &error);
  g_assert_no_error (error);
  g_hash_table_insert (n->groups, g_strdup (name), g_strdup (g->id));
  return g_strdup (g->id);
}

static char **
group_ids (NetFixture *n,
           const char *names)
{
  g_auto(GStrv) parts = g_strsplit (names, " ", -1);
  g_autoptr(GStrvBuilder) b = g_strv_builder_new ();

  for (guint i = 0; parts[i] != NULL; i++)
    g_strv_builder_add (b, g_hash_table_lookup (n->groups, parts[i]));
  return g_strv_builder_end (b);
}

static GArray *
parse_ports (const char *text)
{
  g_auto(GStrv) parts = NULL;
  GArray *a;

  if (text == NULL)
    return NULL;
  a = g_array_new (FALSE, FALSE, sizeof (guint16));
  parts = g_strsplit (text, " ", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      guint16 p = (guint16) atoi (parts[i]);
      g_array_append_val (a, p);
    }
  return a;
}

static GArray *
parse_ranges (const char *text)
{
  g_auto(GStrv) parts = NULL;
  GArray *a;

  if (text == NULL)
    return NULL;
  a = g_array_new (FALSE, FALSE, sizeof (NbMgmtPortRange));
  parts = g_strsplit (text, " ", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      NbMgmtPortRange r;
      sscanf (parts[i], "%hu-%hu", &r.start, &r.end);
      g_array_append_val (a, r);
    }
  return a;
}

static void
net_remove_default_policy (NetFixture *n)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) policies = nb_mgmt_store_list_policies (n->f.store, n->f.account->id, &error);

  for (guint i = 0; i < policies->len; i++)
    g_assert_true (nb_mgmt_store_delete_policy (n->f.store, n->f.account->id, n->f.owner->id,
                                                ((NbMgmtPolicy *) policies->pdata[i])->id, &error));
}

static char *
net_add_policy (NetFixture     *n,
                const RuleSpec *spec)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtPolicy) policy = nb_mgmt_policy_new ();
  g_autoptr(NbMgmtPolicy) created = NULL;
  NbMgmtPolicyRule *rule = nb_mgmt_policy_rule_new ();

  policy->name = g_strdup_printf ("%s to %s", spec->src, spec->dst);
  rule->enabled = !spec->disabled;
  rule->action = spec->action;
  rule->protocol = spec->protocol;
  rule->bidirectional = spec->bidirectional;
  rule->ports = parse_ports (spec->ports);
  rule->port_ranges = parse_ranges (spec->ranges);
  rule->sources = group_ids (n, spec->src);
  rule->destinations = group_ids (n, spec->dst);
  g_ptr_array_add (policy->rules, rule);
  created = nb_mgmt_store_create_policy (n->f.store, n->f.account->id, n->f.owner->id, policy, &error);
  g_assert_no_error (error);
  return g_strdup (created->id);
}

/* The map in the test's notation. */
static char *
describe_reach (NetFixture             *n,
                const NbMgmtNetworkMap *map)
{
  g_autoptr(GString) s = g_string_new (NULL);

  for (guint i = 0; i < map->remote_peers->len; i++)
    {
      const NbMgmtRemotePeer *p = map->remote_peers->pdata[i];
      g_string_append_printf (s, "%s%s", i > 0 ? " " : "", (char *) g_hash_table_lookup (n->by_ip, p->ip));
    }
  return g_strdup (s->str);
}

static char *
describe_rules (NetFixture             *n,
                const NbMgmtNetworkMap *map)
{
  g_autoptr(GString) s = g_string_new (NULL);

  for (guint i = 0; i < map->firewall_rules->len; i++)
    {
      const NbMgmtFirewallRule *r = map->firewall_rules->pdata[i];

      g_string_append_printf (s, "%s%s:%s:%s:%s", i > 0 ? " " : "",
                              (char *) g_hash_table_lookup (n->by_ip, r->peer_ip),
                              nb_mgmt_direction_to_string (r->direction),
                              nb_mgmt_rule_action_to_string (r->action),
                              nb_mgmt_protocol_to_string (r->protocol));
      if (r->port != 0)
        g_string_append_printf (s, ":%u", r->port);
      else if (r->port_range.start != 0)
        g_string_append_printf (s, ":%u-%u", r->port_range.start, r->port_range.end);
    }
  return g_strdup (s->str);
}

static void
test_case (NetFixture   *n,
           gconstpointer data)
{
  const Case *c = data;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) names = g_strsplit (c->peers, " ", -1);

  for (guint i = 0; names[i] != NULL; i++)
    net_add_peer (n, names[i]);
  if (!c->keep_default_policy)
    net_remove_default_policy (n);
  for (guint i = 0; i < MAX_ITEMS && c->groups[i].name != NULL; i++)
    g_free (net_add_group (n, c->groups[i].name, c->groups[i].members));
  for (guint i = 0; i < MAX_ITEMS && c->rules[i].src != NULL; i++)
    g_free (net_add_policy (n, &c->rules[i]));

  for (guint i = 0; i < MAX_ITEMS && c->expect[i].peer != NULL; i++)
    {
      const Expect *e = &c->expect[i];
      NbMgmtPeer *peer = g_hash_table_lookup (n->peers, e->peer);
      g_autoptr(NbMgmtNetworkMap) map = nb_mgmt_store_get_network_map (n->f.store, n->f.account->id, peer->id,
                                                                       &error);
      g_autofree char *reach = NULL;
      g_autofree char *rules = NULL;

      g_assert_no_error (error);
      reach = describe_reach (n, map);
      rules = describe_rules (n, map);
      g_test_message ("%s: %s reaches [%s] with [%s]", c->title, e->peer, reach, rules);
      g_assert_cmpstr (reach, ==, e->reaches);
      g_assert_cmpstr (rules, ==, e->rules);
      /* The zone: itself and exactly the peers it reaches. */
      g_assert_cmpuint (map->dns_records->len, ==, map->remote_peers->len + 1);
      g_assert_true (g_str_has_suffix (map->fqdn, "." NB_MGMT_DEFAULT_DNS_DOMAIN));
      g_assert_true (g_str_has_suffix (map->address, "/16"));
      g_assert_cmpstr (map->peer_key, ==, peer->key);
    }
}

/* ---- Maps beyond policies --------------------------------------------------- */

static void
test_map_contents (NetFixture   *n,
                   gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  NbMgmtPeer *a = net_add_peer (n, "alpha");
  NbMgmtPeer *b = net_add_peer (n, "beta");
  g_autoptr(NbMgmtNetworkMap) map = NULL;
  g_autofree char *json = NULL;
  const NbMgmtRemotePeer *rp;
  gsize len = 0;

  map = nb_mgmt_store_get_network_map (n->f.store, n->f.account->id, a->id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (map->serial, >, 0);
  g_assert_cmpuint (map->remote_peers->len, ==, 1);
  rp = map->remote_peers->pdata[0];
  g_assert_cmpstr (rp->key, ==, b->key);
  g_assert_cmpstr (rp->fqdn, ==, "beta." NB_MGMT_DEFAULT_DNS_DOMAIN);
  g_assert_cmpuint (rp->allowed_ips->len, ==, 1);
  {
    g_autofree char *want = g_strdup_printf ("%s/32", b->ip);
    g_assert_cmpstr (rp->allowed_ips->pdata[0], ==, want);
  }
  g_assert_cmpstr (map->fqdn, ==, "alpha." NB_MGMT_DEFAULT_DNS_DOMAIN);
  g_assert_true (map->dns_enabled);
  g_assert_cmpuint (map->dns_records->len, ==, 2);

  json = nb_mgmt_network_map_to_json (map, &len);
  g_assert_cmpuint (len, ==, strlen (json));
  {
    /* Valid JSON that says what the record says. */
    g_autoptr(JsonNode) root = json_from_string (json, &error);
    JsonObject *o, *peer;
    JsonArray *records;

    g_assert_no_error (error);
    o = json_node_get_object (root);
    g_assert_cmpint (json_object_get_int_member (o, "serial"), ==, (gint64) map->serial);
    g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (o, "peer_config"), "fqdn"),
                     ==, map->fqdn);
    peer = json_array_get_object_element (json_object_get_array_member (o, "remote_peers"), 0);
    g_assert_cmpstr (json_object_get_string_member (peer, "wg_pub_key"), ==, b->key);
    records = json_object_get_array_member (json_array_get_object_element (
      json_object_get_array_member (json_object_get_object_member (o, "dns_config"), "custom_zones"), 0), "records");
    g_assert_cmpuint (json_array_get_length (records), ==, 2);
  }
}

static void
test_map_routes (NetFixture   *n,
                 gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  NbMgmtPeer *a = net_add_peer (n, "a");
  NbMgmtPeer *r = net_add_peer (n, "router");
  NbMgmtPeer *c = net_add_peer (n, "c");
  g_autofree char *ga = NULL;
  g_auto(GStrv) dist = NULL;
  g_autoptr(NbMgmtRoute) route = NULL;
  g_autoptr(NbMgmtNetworkMap) ma = NULL;
  g_autoptr(NbMgmtNetworkMap) mr = NULL;
  g_autoptr(NbMgmtNetworkMap) mc = NULL;
  NbMgmtRoute tmpl = { .network_id = (char *) "lan \"a\\b\" ✓", .enabled = TRUE,
                       .network = (char *) "192.168.1.0/24",
                       .metric = 9999, .masquerade = TRUE };
  const NbMgmtRouteEntry *e;

  net_remove_default_policy (n);
  ga = net_add_group (n, "ga", "a");
  dist = strv_of (ga, NULL);
  tmpl.peer = r->id;
  tmpl.groups = dist;
  route = nb_mgmt_store_create_route (n->f.store, n->f.account->id, n->f.owner->id, &tmpl, &error);
  g_assert_no_error (error);

  ma = nb_mgmt_store_get_network_map (n->f.store, n->f.account->id, a->id, &error);
  g_assert_cmpuint (ma->routes->len, ==, 1);
  e = ma->routes->pdata[0];
  g_assert_cmpstr (e->network, ==, "192.168.1.0/24");
  {
    /* The route's free-text name survives JSON escaping. */
    g_autofree char *json = nb_mgmt_network_map_to_json (ma, NULL);
    g_autoptr(JsonNode) root = json_from_string (json, &error);
    JsonObject *jr;

    g_assert_no_error (error);
    jr = json_array_get_object_element (json_object_get_array_member (json_node_get_object (root), "routes"), 0);
    g_assert_cmpstr (json_object_get_string_member (jr, "net_id"), ==, "lan \"a\\b\" ✓");
  }
  g_assert_cmpstr (e->peer_key, ==, r->key);
  g_assert_true (e->masquerade);
  g_assert_cmpuint (ma->remote_peers->len, ==, 1);
  g_assert_cmpstr (((NbMgmtRemotePeer *) ma->remote_peers->pdata[0])->key, ==, r->key);

  /* The router learns the route with its own key and sees its clients. */
  mr = nb_mgmt_store_get_network_map (n->f.store, n->f.account->id, r->id, &error);
  g_assert_cmpuint (mr->routes->len, ==, 1);
  g_assert_cmpstr (((NbMgmtRouteEntry *) mr->routes->pdata[0])->peer_key, ==, r->key);
  g_assert_cmpuint (mr->remote_peers->len, ==, 1);
  g_assert_cmpstr (((NbMgmtRemotePeer *) mr->remote_peers->pdata[0])->key, ==, a->key);

  /* Not distributed to c. */
  mc = nb_mgmt_store_get_network_map (n->f.store, n->f.account->id, c->id, &error);
  g_assert_cmpuint (mc->routes->len, ==, 0);
  g_assert_cmpuint (mc->remote_peers->len, ==, 0);
}

static void
test_map_dns (NetFixture   *n,
              gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  NbMgmtPeer *a = net_add_peer (n, "a");
  NbMgmtPeer *b = net_add_peer (n, "b");
  g_autofree char *ga = net_add_group (n, "ga", "a");
  g_autofree char *gb = net_add_group (n, "gb", "b");
  g_autoptr(NbMgmtNameserverGroup) ns = nb_mgmt_nameserver_group_new ();
  g_autoptr(NbMgmtNameserverGroup) created = NULL;
  g_autoptr(NbMgmtDnsSettings) settings = NULL;
  g_autoptr(NbMgmtNetworkMap) ma = NULL;
  g_autoptr(NbMgmtNetworkMap) mb = NULL;
  g_auto(GStrv) disabled = strv_of (gb, NULL);
  NbMgmtDnsSettings want = { .disabled_management_groups = disabled };
  NbMgmtAccountSettings account_settings = n->f.account->settings;

  ns->name = g_strdup ("corp");
  ns->groups = strv_of (ga, NULL);
  ns->domains = strv_of ("corp.example", NULL);
  g_ptr_array_add (ns->nameservers, nb_mgmt_nameserver_new ("10.0.0.53", "udp", 53));
  created = nb_mgmt_store_create_nameserver_group (n->f.store, n->f.account->id, n->f.owner->id, ns, &error);
  g_assert_no_error (error);
  settings = nb_mgmt_store_update_dns_settings (n->f.store, n->f.account->id, n->f.owner->id, &want, &error);
  g_assert_no_error (error);
  account_settings.dns_domain = (char *) "mesh.test";
  g_clear_pointer (&n->f.account, nb_mgmt_account_free);
  n->f.account = nb_mgmt_store_update_account_settings (n->f.store, settings != NULL ? created->account_id : NULL,
                                                        NULL, &account_settings, &error);
  g_assert_no_error (error);

  ma = nb_mgmt_store_get_network_map (n->f.store, n->f.account->id, a->id, &error);
  mb = nb_mgmt_store_get_network_map (n->f.store, n->f.account->id, b->id, &error);
  g_assert_true (ma->dns_enabled);
  g_assert_false (mb->dns_enabled);
  g_assert_cmpuint (ma->nameserver_groups->len, ==, 1);
  g_assert_cmpuint (mb->nameserver_groups->len, ==, 0);
  g_assert_cmpstr (ma->fqdn, ==, "a.mesh.test");
  g_assert_cmpstr (ma->dns_domain, ==, "mesh.test");
  g_assert_cmpstr (((NbMgmtDnsRecord *) ma->dns_records->pdata[0])->name, ==, "a.mesh.test");
  g_assert_cmpstr (((NbMgmtDnsRecord *) ma->dns_records->pdata[1])->name, ==, "b.mesh.test");
  g_assert_cmpstr (((NbMgmtDnsRecord *) ma->dns_records->pdata[1])->rdata, ==, b->ip);
}

static void
test_map_excludes_blocked_users_peers (NetFixture   *n,
                                       gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  NbMgmtPeer *a = net_add_peer (n, "a");
  g_autoptr(NbMgmtUser) user = NULL;
  g_autoptr(NbMgmtUser) blocked = NULL;
  g_autoptr(NbMgmtPeer) up = NULL;
  g_autoptr(NbMgmtNetworkMap) before = NULL;
  g_autoptr(NbMgmtNetworkMap) after = NULL;
  g_autofree char *pub = new_peer_key ();
  NbMgmtUser tmpl = { .email = (char *) "u@example.com", .role = NB_MGMT_ROLE_USER };
  NbMgmtPeerMeta meta = { .hostname = (char *) "users-laptop" };

  user = nb_mgmt_store_create_user (n->f.store, n->f.account->id, n->f.owner->id, &tmpl, &error);
  g_assert_no_error (error);
  up = nb_mgmt_store_register_peer_for_user (n->f.store, n->f.account->id, user->id, pub, &meta, &error);
  g_assert_no_error (error);
  before = nb_mgmt_store_get_network_map (n->f.store, n->f.account->id, a->id, &error);
  g_assert_cmpuint (before->remote_peers->len, ==, 1);

  user->is_blocked = TRUE;
  blocked = nb_mgmt_store_update_user (n->f.store, n->f.account->id, n->f.owner->id, user, &error);
  g_assert_no_error (error);
  after = nb_mgmt_store_get_network_map (n->f.store, n->f.account->id, a->id, &error);
  g_assert_cmpuint (after->remote_peers->len, ==, 0);
  g_assert_cmpuint (after->serial, >, before->serial);
}

/* ---- Which peers a change affects ------------------------------------------ */

static int
cmp_names (gconstpointer a,
           gconstpointer b)
{
  return g_strcmp0 (*(char * const *) a, *(char * const *) b);
}

static char *
updated_names (NetFixture *n,
               GPtrArray  *maps)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new ();

  for (guint i = 0; i < maps->len; i++)
    {
      NbMgmtNetworkMap *m = maps->pdata[i];
      GHashTableIter iter;
      gpointer k, v;

      g_hash_table_iter_init (&iter, n->peers);
      while (g_hash_table_iter_next (&iter, &k, &v))
        if (g_strcmp0 (((NbMgmtPeer *) v)->id, m->peer_id) == 0)
          g_ptr_array_add (names, k);
    }
  g_ptr_array_sort (names, cmp_names);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (" ", (char **) names->pdata);
}

static char *
collect (NetFixture *n)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) maps = collect_map_updates (n->f.store, n->f.account->id, NULL);

  g_assert_no_error (error);
  return updated_names (n, maps);
}

static void
give_all (NetFixture *n)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) maps = nb_mgmt_store_get_all_network_maps (n->f.store, n->f.account->id, &error);

  g_assert_no_error (error);
}

static void
test_change_peer_join (NetFixture   *n,
                       gconstpointer data)
{
  g_autofree char *u = NULL;
  g_autofree char *gs = NULL;
  g_autofree char *gc = NULL;

  net_add_peer (n, "a");
  net_add_peer (n, "b");
  net_add_peer (n, "c");
  net_remove_default_policy (n);
  gs = net_add_group (n, "ga", "a");
  gc = net_add_group (n, "gb", "b");
  {
    RuleSpec r = { "ga", "gb", TRUE, NB_MGMT_RULE_ACTION_ACCEPT, NB_MGMT_PROTOCOL_ALL };
    g_free (net_add_policy (n, &r));
  }
  give_all (n);
  u = collect (n);
  g_assert_cmpstr (u, ==, "");

  /* A peer in no group but "All" concerns nobody. */
  net_add_peer (n, "d");
  g_free (u);
  u = collect (n);
  g_assert_cmpstr (u, ==, "");
}

static void
test_change_peer_join_default_policy (NetFixture   *n,
                                      gconstpointer data)
{
  g_autofree char *u = NULL;

  net_add_peer (n, "a");
  net_add_peer (n, "b");
  give_all (n);
  net_add_peer (n, "c");
  /* Everyone sees the newcomer; the newcomer gets its map on sync. */
  u = collect (n);
  g_assert_cmpstr (u, ==, "a b");
  g_free (u);
  u = collect (n);
  g_assert_cmpstr (u, ==, "");
}

static void
test_change_group_membership (NetFixture   *n,
                              gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *u = NULL;
  g_autofree char *ga = NULL;
  g_autofree char *gb = NULL;
  g_autoptr(NbMgmtGroup) g = NULL;
  g_autoptr(NbMgmtGroup) updated = NULL;
  NbMgmtPeer *c;

  net_add_peer (n, "a");
  net_add_peer (n, "b");
  c = net_add_peer (n, "c");
  net_add_peer (n, "d");
  net_remove_default_policy (n);
  ga = net_add_group (n, "ga", "a");
  gb = net_add_group (n, "gb", "b");
  {
    RuleSpec r = { "ga", "gb", FALSE, NB_MGMT_RULE_ACTION_ACCEPT, NB_MGMT_PROTOCOL_TCP, "80" };
    g_free (net_add_policy (n, &r));
  }
  give_all (n);

  /* c joins gb: a (source) and c itself change; b and d do not. */
  g = nb_mgmt_store_get_group (n->f.store, n->f.account->id, gb, &error);
  g_strfreev (g->peers);
  g->peers = strv_of (((NbMgmtPeer *) g_hash_table_lookup (n->peers, "b"))->id, c->id, NULL);
  updated = nb_mgmt_store_update_group (n->f.store, n->f.account->id, n->f.owner->id, g, &error);
  g_assert_no_error (error);
  u = collect (n);
  g_assert_cmpstr (u, ==, "a c");
}

static void
test_change_peer_delete_and_rename (NetFixture   *n,
                                    gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *u = NULL;
  g_autofree char *ga = NULL;
  g_autofree char *gb = NULL;
  g_autoptr(NbMgmtPeer) renamed = NULL;
  NbMgmtPeer *b;
  NbMgmtPeer *d;

  net_add_peer (n, "a");
  b = net_add_peer (n, "b");
  net_add_peer (n, "c");
  d = net_add_peer (n, "d");
  net_remove_default_policy (n);
  ga = net_add_group (n, "ga", "a");
  gb = net_add_group (n, "gb", "b d");
  {
    RuleSpec r = { "ga", "gb", TRUE, NB_MGMT_RULE_ACTION_ACCEPT, NB_MGMT_PROTOCOL_ALL };
    g_free (net_add_policy (n, &r));
  }
  give_all (n);

  /* Renaming b changes its FQDN: b and the peer that sees it, a. */
  g_free (b->name);
  b->name = g_strdup ("bee");
  renamed = nb_mgmt_store_update_peer (n->f.store, n->f.account->id, n->f.owner->id, b, &error);
  g_assert_no_error (error);
  u = collect (n);
  g_assert_cmpstr (u, ==, "a b");

  /* Deleting d: only a saw it. */
  g_assert_true (nb_mgmt_store_delete_peer (n->f.store, n->f.account->id, n->f.owner->id, d->id, &error));
  g_free (u);
  u = collect (n);
  g_assert_cmpstr (u, ==, "a");
}

static void
test_change_unrelated_policy (NetFixture   *n,
                              gconstpointer data)
{
  g_autofree char *u = NULL;
  g_autofree char *ga = NULL;
  g_autofree char *gb = NULL;
  g_autofree char *gx = NULL;

  net_add_peer (n, "a");
  net_add_peer (n, "b");
  net_add_peer (n, "c");
  net_remove_default_policy (n);
  ga = net_add_group (n, "ga", "a");
  gb = net_add_group (n, "gb", "b");
  gx = net_add_group (n, "empty", "");
  {
    RuleSpec r = { "ga", "gb", TRUE, NB_MGMT_RULE_ACTION_ACCEPT, NB_MGMT_PROTOCOL_ALL };
    g_free (net_add_policy (n, &r));
  }
  give_all (n);
  {
    /* A policy between an empty group and a's group changes no map. */
    RuleSpec r = { "empty", "ga", TRUE, NB_MGMT_RULE_ACTION_ACCEPT, NB_MGMT_PROTOCOL_ALL };
    g_free (net_add_policy (n, &r));
  }
  u = collect (n);
  g_assert_cmpstr (u, ==, "");
}

/* The maps come in address order, each recorded as given: a second
 * collection has nothing to hand over, and computes nothing. */
static void
test_change_collect_in_order (NetFixture   *n,
                              gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) maps = NULL;
  g_autoptr(GPtrArray) again = NULL;
  NbMgmtMapUpdateStats stats;
  NbMgmtPeer *a = net_add_peer (n, "a");
  NbMgmtPeer *b = net_add_peer (n, "b");

  give_all (n);
  net_add_peer (n, "c");
  maps = collect_map_updates (n->f.store, n->f.account->id, &stats);
  g_assert_no_error (error);
  g_assert_cmpuint (maps->len, ==, 2);
  g_assert_cmpstr (((NbMgmtNetworkMap *) maps->pdata[0])->peer_id, ==, a->id);
  g_assert_cmpstr (((NbMgmtNetworkMap *) maps->pdata[1])->peer_id, ==, b->id);
  g_assert_cmpuint (stats.computed, ==, 2);
  g_assert_cmpuint (stats.changed, ==, 2);
  again = collect_map_updates (n->f.store, n->f.account->id, &stats);
  g_assert_no_error (error);
  g_assert_cmpuint (again->len, ==, 0);
  g_assert_cmpuint (stats.computed, ==, 0);
}

/* Many random changes; after each, the incremental update must name
 * exactly the peers whose map a full recomputation (a second store on the
 * same file, with nothing cached) finds changed. */
static void
test_change_randomized_matches_full (NetFixture   *n,
                                     gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (GPOINTER_TO_UINT (data));
  g_autoptr(GHashTable) given = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GPtrArray) peers = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) groups = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) policies = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) routes = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(NbMgmtUser) user = NULL;
  NbMgmtUser ut = { .email = (char *) "user@example.com", .role = NB_MGMT_ROLE_USER };
  guint n_updates = 0;

  user = nb_mgmt_store_create_user (n->f.store, n->f.account->id, n->f.owner->id, &ut, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < 10; i++)
    {
      g_autofree char *name = g_strdup_printf ("p%u", i);
      g_ptr_array_add (peers, g_strdup (net_add_peer (n, name)->id));
    }
  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *name = g_strdup_printf ("g%u", i);
      g_ptr_array_add (groups, net_add_group (n, name, ""));
    }
  {
    g_autoptr(GPtrArray) maps = nb_mgmt_store_get_all_network_maps (n->f.store, n->f.account->id, &error);
    for (guint i = 0; i < maps->len; i++)
      {
        NbMgmtNetworkMap *m = maps->pdata[i];
        g_hash_table_insert (given, g_strdup (m->peer_id), g_memdup2 (&m->hash, sizeof m->hash));
      }
  }

  for (guint step = 0; step < 150; step++)
    {
      g_autoptr(GPtrArray) updates = NULL;
      g_autoptr(NbMgmtStore) fresh = NULL;
      g_autoptr(GHashTable) updated = g_hash_table_new (g_str_hash, g_str_equal);
      GHashTableIter iter;
      gpointer k, v;
      guint op = g_rand_int_range (rand, 0, 10);
      const char *any_group = groups->pdata[g_rand_int_range (rand, 0, groups->len)];

      switch (op)
        {
        case 0: /* a peer joins (and syncs) */
          {
            g_autofree char *name = g_strdup_printf ("new%u", step);
            NbMgmtPeer *p = net_add_peer (n, name);
            g_autoptr(NbMgmtNetworkMap) m = NULL;
            g_ptr_array_add (peers, g_strdup (p->id));
            /* Its own first map, as on sync, after the others' updates. */
            updates = collect_map_updates (n->f.store, n->f.account->id, NULL);
            m = nb_mgmt_store_get_network_map (n->f.store, n->f.account->id, p->id, &error);
            g_hash_table_insert (given, g_strdup (p->id), g_memdup2 (&m->hash, sizeof m->hash));
            break;
          }
        case 1: /* a peer is deleted */
          if (peers->len > 3)
            {
              guint i = g_rand_int_range (rand, 0, peers->len);
              if (nb_mgmt_store_delete_peer (n->f.store, n->f.account->id, NULL, peers->pdata[i], NULL))
                {
                  g_hash_table_remove (given, peers->pdata[i]);
                  g_ptr_array_remove_index (peers, i);
                }
            }
          break;
        case 2: /* a peer is renamed */
          {
            g_autoptr(NbMgmtPeer) p = nb_mgmt_store_get_peer (n->f.store, n->f.account->id,
                                                              peers->pdata[g_rand_int_range (rand, 0, peers->len)],
                                                              &error);
            g_autoptr(NbMgmtPeer) r = NULL;
            g_free (p->name);
            p->name = g_strdup_printf ("renamed%u", step);
            p->ssh_enabled = g_rand_boolean (rand);
            r = nb_mgmt_store_update_peer (n->f.store, n->f.account->id, NULL, p, &error);
            g_assert_no_error (error);
            break;
          }
        case 3: case 4: /* group membership */
          {
            g_autoptr(NbMgmtGroup) g = nb_mgmt_store_get_group (n->f.store, n->f.account->id, any_group, &error);
            g_autoptr(NbMgmtGroup) r = NULL;
            g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
            for (guint i = 0; i < peers->len; i++)
              if (g_rand_int_range (rand, 0, 4) == 0)
                g_strv_builder_add (b, peers->pdata[i]);
            g_strfreev (g->peers);
            g->peers = g_strv_builder_end (b);
            r = nb_mgmt_store_update_group (n->f.store, n->f.account->id, NULL, g, &error);
            g_assert_no_error (error);
            break;
          }
        case 5: /* a policy is added */
          {
            RuleSpec r = { NULL, NULL, g_rand_boolean (rand),
                           g_rand_int_range (rand, 0, 4) == 0 ? NB_MGMT_RULE_ACTION_DROP : NB_MGMT_RULE_ACTION_ACCEPT,
                           g_rand_boolean (rand) ? NB_MGMT_PROTOCOL_ALL : NB_MGMT_PROTOCOL_TCP };
            g_autofree char *src = g_strdup_printf ("g%d", g_rand_int_range (rand, 0, 5));
            g_autofree char *dst = g_strdup_printf ("g%d", g_rand_int_range (rand, 0, 5));
            r.src = src;
            r.dst = dst;
            r.ports = r.protocol == NB_MGMT_PROTOCOL_TCP ? "22" : NULL;
            g_ptr_array_add (policies, net_add_policy (n, &r));
            break;
          }
        case 6: /* a policy is disabled, enabled or deleted */
          if (policies->len > 0)
            {
              guint i = g_rand_int_range (rand, 0, policies->len);
              g_autoptr(NbMgmtPolicy) pol = nb_mgmt_store_get_policy (n->f.store, n->f.account->id,
                                                                      policies->pdata[i], &error);
              g_assert_no_error (error);
              if (g_rand_boolean (rand))
                {
                  g_autoptr(NbMgmtPolicy) r = NULL;
                  pol->enabled = !pol->enabled;
                  r = nb_mgmt_store_update_policy (n->f.store, n->f.account->id, NULL, pol, &error);
                  g_assert_no_error (error);
                }
              else
                {
                  g_assert_true (nb_mgmt_store_delete_policy (n->f.store, n->f.account->id, NULL,
                                                              policies->pdata[i], &error));
                  g_ptr_array_remove_index (policies, i);
                }
            }
          break;
        case 7: /* a route through a peer or a group, or one removed */
          if (routes->len > 0 && g_rand_boolean (rand))
            {
              guint i = g_rand_int_range (rand, 0, routes->len);
              g_assert_true (nb_mgmt_store_delete_route (n->f.store, n->f.account->id, NULL, routes->pdata[i],
                                                         &error));
              g_ptr_array_remove_index (routes, i);
            }
          else
            {
              char *dist[] = { groups->pdata[g_rand_int_range (rand, 0, groups->len)], NULL };
              char *via[] = { groups->pdata[g_rand_int_range (rand, 0, groups->len)], NULL };
              NbMgmtRoute tmpl = { .network_id = (char *) "r", .enabled = TRUE, .network = (char *) "10.9.0.0/16",
                                   .metric = 10, .groups = dist };
              g_autoptr(NbMgmtRoute) r = NULL;
              if (g_rand_boolean (rand))
                tmpl.peer = peers->pdata[g_rand_int_range (rand, 0, peers->len)];
              else
                tmpl.peer_groups = via;
              r = nb_mgmt_store_create_route (n->f.store, n->f.account->id, NULL, &tmpl, &error);
              g_assert_no_error (error);
              g_ptr_array_add (routes, g_strdup (r->id));
            }
          break;
        case 8: /* DNS: a nameserver group or the disabled groups */
          if (g_rand_boolean (rand))
            {
              g_autoptr(NbMgmtNameserverGroup) ns = nb_mgmt_nameserver_group_new ();
              g_autoptr(NbMgmtNameserverGroup) r = NULL;
              ns->name = g_strdup_printf ("ns%u", step);
              ns->primary = TRUE;
              ns->groups = strv_of (any_group, NULL);
              g_ptr_array_add (ns->nameservers, nb_mgmt_nameserver_new ("10.0.0.53", "udp", 53));
              r = nb_mgmt_store_create_nameserver_group (n->f.store, n->f.account->id, NULL, ns, &error);
              g_assert_no_error (error);
            }
          else
            {
              g_auto(GStrv) disabled = g_rand_boolean (rand) ? strv_of (any_group, NULL) : NULL;
              NbMgmtDnsSettings want = { .disabled_management_groups = disabled };
              g_autoptr(NbMgmtDnsSettings) r = nb_mgmt_store_update_dns_settings (n->f.store, n->f.account->id,
                                                                                  NULL, &want, &error);
              g_assert_no_error (error);
            }
          break;
        default: /* a user's peer appears, or the user is blocked or unblocked */
          if (g_rand_boolean (rand) && !user->is_blocked)
            {
              g_autofree char *pub = new_peer_key ();
              NbMgmtPeerMeta meta = { .hostname = (char *) "users-box" };
              g_autoptr(NbMgmtPeer) p = nb_mgmt_store_register_peer_for_user (n->f.store, n->f.account->id,
                                                                              user->id, pub, &meta, &error);
              g_autoptr(NbMgmtNetworkMap) m = NULL;
              g_assert_no_error (error);
              g_hash_table_insert (n->by_ip, g_strdup (p->ip), g_strdup ("users-box"));
              g_ptr_array_add (peers, g_strdup (p->id));
              updates = collect_map_updates (n->f.store, n->f.account->id, NULL);
              m = nb_mgmt_store_get_network_map (n->f.store, n->f.account->id, p->id, &error);
              g_hash_table_insert (given, g_strdup (p->id), g_memdup2 (&m->hash, sizeof m->hash));
            }
          else
            {
              g_autoptr(NbMgmtUser) r = NULL;
              if (g_rand_boolean (rand))
                user->is_blocked = !user->is_blocked;
              else
                {
                  /* New auto-groups take the user's peers along. */
                  g_strfreev (user->auto_groups);
                  user->auto_groups = g_rand_boolean (rand) ? strv_of (any_group, NULL) : NULL;
                }
              r = nb_mgmt_store_update_user (n->f.store, n->f.account->id, n->f.owner->id, user, &error);
              g_assert_no_error (error);
            }
          break;
        }
      g_clear_error (&error);

      if (updates == NULL)
        updates = collect_map_updates (n->f.store, n->f.account->id, NULL);
      g_assert_no_error (error);
      for (guint i = 0; i < updates->len; i++)
        {
          NbMgmtNetworkMap *m = updates->pdata[i];
          guint64 *old = g_hash_table_lookup (given, m->peer_id);
          g_assert_nonnull (old);
          /* Only maps that really changed are sent. */
          g_assert_cmpuint (*old, !=, m->hash);
          *old = m->hash;
          g_hash_table_add (updated, m->peer_id);
          n_updates++;
        }

      /* Ground truth: every peer's map computed from scratch. */
      fresh = nb_mgmt_store_open (n->f.path, &error);
      g_assert_no_error (error);
      g_hash_table_iter_init (&iter, given);
      while (g_hash_table_iter_next (&iter, &k, &v))
        {
          g_autoptr(NbMgmtNetworkMap) m = nb_mgmt_store_get_network_map (fresh, n->f.account->id, k, &error);
          g_assert_no_error (error);
          if (m->hash != *(guint64 *) v)
            g_error ("step %u (op %u): peer %s's map changed but was not updated", step, op, (char *) k);
        }
    }
  g_test_message ("%u map updates over 150 random changes", n_updates);
  g_assert_cmpuint (n_updates, >, 0);
}

typedef struct {
  GPtrArray *peer_ids;
  guint ticks;                  /* of a 1 ms timer, while the collection ran */
  guint ticks_before_first;     /* ... before the first map arrived */
  NbMgmtMapUpdateStats stats;
  gboolean done;
} RaceRun;

static void
race_on_map (const NbMgmtNetworkMap *map,
             gpointer                data)
{
  RaceRun *run = data;

  if (run->peer_ids->len == 0)
    run->ticks_before_first = run->ticks;
  g_ptr_array_add (run->peer_ids, g_strdup (map->peer_id));
}

static void
race_done (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  RaceRun *run = data;
  g_autoptr(GError) error = NULL;

  g_assert_true (nb_mgmt_store_collect_network_map_updates_finish (NB_MGMT_STORE (source), result,
                                                                   &run->stats, &error));
  g_assert_no_error (error);
  run->done = TRUE;
}

static gboolean
race_tick (gpointer data)
{
  ((RaceRun *) data)->ticks++;
  return G_SOURCE_CONTINUE;
}

/* A peer given a fresh map while the worker ran (its channel opened again)
 * is left out: it has that map already. */
static void
test_change_collect_leaves_out_fresh (NetFixture   *n,
                                      gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtNetworkMap) fresh = NULL;
  NbMgmtPeer *a = net_add_peer (n, "a");
  NbMgmtPeer *b = net_add_peer (n, "b");
  RaceRun run = { g_ptr_array_new_with_free_func (g_free), 0, 0, { 0 }, FALSE };

  give_all (n);
  net_add_peer (n, "c");
  nb_mgmt_store_collect_network_map_updates_async (n->f.store, n->f.account->id, race_on_map, &run, NULL,
                                                   race_done, &run);
  fresh = nb_mgmt_store_get_network_map (n->f.store, n->f.account->id, b->id, &error);
  g_assert_no_error (error);
  while (!run.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (run.stats.computed, ==, 2);
  g_assert_cmpuint (run.peer_ids->len, ==, 1);
  g_assert_cmpstr (run.peer_ids->pdata[0], ==, a->id);
  g_assert_cmpuint (run.stats.changed, ==, 1);
  g_ptr_array_unref (run.peer_ids);
}

/* The maps are computed off the main loop: with big maps (a rule of the
 * most ports allowed, 40 peers each side), the main loop keeps turning
 * while they are computed, before the first one arrives, and every map
 * that changed still arrives, each once. */
static void
test_change_collect_main_loop_turns (NetFixture   *n,
                                     gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) ports = g_string_new (NULL);
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree char *policy = NULL;
  g_autofree char *gs = NULL;
  g_autofree char *gd = NULL;
  GString *src = g_string_new (NULL);
  GString *dst = g_string_new (NULL);
  RaceRun run = { g_ptr_array_new_with_free_func (g_free), 0, 0, { 0 }, FALSE };
  RuleSpec r = { NULL, NULL, TRUE, NB_MGMT_RULE_ACTION_ACCEPT, NB_MGMT_PROTOCOL_TCP };
  guint tick;

  for (guint i = 0; i < 80; i++)
    {
      g_autofree char *name = g_strdup_printf ("p%02u", i);
      net_add_peer (n, name);
      g_string_append_printf (i % 2 == 0 ? src : dst, "%s%s", (i % 2 == 0 ? src : dst)->len > 0 ? " " : "",
                              name);
    }
  gs = net_add_group (n, "src", src->str);
  gd = net_add_group (n, "dst", dst->str);
  g_string_free (src, TRUE);
  g_string_free (dst, TRUE);
  /* Shuffled ports, as a user would list them: the sort sees no order. */
  for (guint i = 0; i < NB_MGMT_MAX_RULE_PORTS; i++)
    g_string_append_printf (ports, "%s%u", i > 0 ? " " : "", 1 + (i * 7919u) % 60000u);
  r.src = "src";
  r.dst = "dst";
  r.ports = ports->str;
  net_remove_default_policy (n);
  give_all (n);
  policy = net_add_policy (n, &r);

  tick = g_timeout_add (1, race_tick, &run);
  nb_mgmt_store_collect_network_map_updates_async (n->f.store, n->f.account->id, race_on_map, &run, NULL,
                                                   race_done, &run);
  while (!run.done)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick);

  g_test_message ("80 maps of %u ports each side computed on a worker in %" G_GINT64_FORMAT " us; "
                  "main loop ticks: %u before the first map, %u in all",
                  NB_MGMT_MAX_RULE_PORTS, run.stats.compute_us, run.ticks_before_first, run.ticks);
  g_assert_cmpuint (run.stats.computed, ==, 80);
  g_assert_cmpuint (run.peer_ids->len, ==, 80);
  for (guint i = 0; i < run.peer_ids->len; i++)
    g_assert_true (g_hash_table_add (seen, run.peer_ids->pdata[i]));
  g_assert_cmpuint (run.ticks_before_first, >, 0);
  g_ptr_array_unref (run.peer_ids);
}

static void
test_change_forgotten_peer_not_updated (NetFixture   *n,
                                        gconstpointer data)
{
  g_autofree char *u = NULL;
  NbMgmtPeer *a;

  a = net_add_peer (n, "a");
  net_add_peer (n, "b");
  give_all (n);
  /* a's sync channel closed. */
  nb_mgmt_store_forget_network_map (n->f.store, n->f.account->id, a->id);
  net_add_peer (n, "c");
  u = collect (n);
  g_assert_cmpstr (u, ==, "b");
}

/* The fan-out's borrowed maps say what the materialized ones say: remote
 * peers, rules, a route with its router, nameservers and DNS records. */
static void
test_change_borrowed_maps (NetFixture   *n,
                              gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  NbMgmtPeer *r = net_add_peer (n, "router");
  g_autofree char *ga = NULL;
  g_auto(GStrv) dist = NULL;
  g_autoptr(NbMgmtRoute) route = NULL;
  g_autoptr(NbMgmtNameserverGroup) ns = nb_mgmt_nameserver_group_new ();
  g_autoptr(NbMgmtNameserverGroup) created = NULL;
  NbMgmtAccountSettings account_settings = n->f.account->settings;
  NbMgmtRoute tmpl = { .network_id = (char *) "lan \"a\"", .enabled = TRUE,
                       .network = (char *) "192.168.1.0/24", .metric = 10 };
  g_autoptr(GPtrArray) maps = NULL;
  g_autoptr(GPtrArray) none = NULL;

  net_add_peer (n, "a");
  net_add_peer (n, "b");
  ga = net_add_group (n, "ga", "a");
  dist = strv_of (ga, NULL);
  tmpl.peer = r->id;
  tmpl.groups = dist;
  route = nb_mgmt_store_create_route (n->f.store, n->f.account->id, n->f.owner->id, &tmpl, &error);
  g_assert_no_error (error);
  ns->name = g_strdup ("corp");
  ns->groups = strv_of (ga, NULL);
  ns->domains = strv_of ("corp.example", NULL);
  g_ptr_array_add (ns->nameservers, nb_mgmt_nameserver_new ("10.0.0.53", "udp", 53));
  created = nb_mgmt_store_create_nameserver_group (n->f.store, n->f.account->id, n->f.owner->id,
                                                   ns, &error);
  g_assert_no_error (error);
  account_settings.dns_domain = (char *) "mesh.test";
  g_clear_pointer (&n->f.account, nb_mgmt_account_free);
  n->f.account = nb_mgmt_store_update_account_settings (n->f.store, created->account_id, NULL,
                                                        &account_settings, &error);
  g_assert_no_error (error);
  give_all (n);

  /* Everyone sees a newcomer through the default policy. */
  net_add_peer (n, "late");
  /* collect_map_updates() checks each borrowed map against the same map
   * materialized, JSON and hash. */
  maps = collect_map_updates (n->f.store, n->f.account->id, NULL);
  g_assert_no_error (error);
  g_assert_cmpuint (maps->len, ==, 3);

  /* Then nothing is left to send. */
  none = collect_map_updates (n->f.store, n->f.account->id, NULL);
  g_assert_no_error (error);
  g_assert_cmpuint (none->len, ==, 0);
}

typedef struct {
  NbMgmtNetworkMap *map;
  gboolean outdated;
  GThread *thread;
  gboolean done;
} FirstRun;

static void
first_done (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  FirstRun *run = data;
  g_autoptr(GError) error = NULL;

  g_assert_true (g_thread_self () == run->thread);
  run->map = nb_mgmt_store_get_network_map_finish (NB_MGMT_STORE (source), result, &run->outdated, &error);
  g_assert_no_error (error);
  run->done = TRUE;
}

/* A peer's first map, computed on a worker: the same map as computed on
 * this thread, recorded as given; and when the account changes while it is
 * computed, it says so and the next collection brings the peer up to date,
 * though the change was collected before the peer had a map. */
static void
test_first_map_async (NetFixture   *n,
                      gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtNetworkMap) same = NULL;
  g_autoptr(GPtrArray) none = NULL;
  g_autoptr(GPtrArray) maps = NULL;
  g_autofree char *json = NULL;
  g_autofree char *same_json = NULL;
  NbMgmtPeer *a = net_add_peer (n, "a");
  NbMgmtPeer *b = net_add_peer (n, "b");
  FirstRun run = { NULL, TRUE, g_thread_self (), FALSE };

  nb_mgmt_store_get_network_map_async (n->f.store, n->f.account->id, a->id, NULL, first_done, &run);
  while (!run.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (run.outdated);
  same = nb_mgmt_store_get_network_map (n->f.store, n->f.account->id, a->id, &error);
  g_assert_no_error (error);
  json = nb_mgmt_network_map_to_json (run.map, NULL);
  same_json = nb_mgmt_network_map_to_json (same, NULL);
  g_assert_cmpstr (json, ==, same_json);
  g_clear_pointer (&run.map, nb_mgmt_network_map_free);
  /* Recorded as given: the next change updates it. */
  net_add_peer (n, "d");
  g_clear_pointer (&maps, g_ptr_array_unref);
  maps = collect_map_updates (n->f.store, n->f.account->id, NULL);
  g_assert_cmpuint (maps->len, ==, 1);
  g_assert_cmpstr (((NbMgmtNetworkMap *) maps->pdata[0])->peer_id, ==, a->id);
  g_clear_pointer (&maps, g_ptr_array_unref);

  /* b's first map is under way when c joins, and that change is collected
   * before b's map is back: b was nobody to update then. */
  run.done = FALSE;
  nb_mgmt_store_get_network_map_async (n->f.store, n->f.account->id, b->id, NULL, first_done, &run);
  net_add_peer (n, "c");
  maps = collect_map_updates (n->f.store, n->f.account->id, NULL);
  g_assert_cmpuint (maps->len, ==, 1);           /* a */
  while (!run.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (run.outdated);
  g_assert_cmpuint (run.map->remote_peers->len, ==, 2);   /* a and d: not c */
  g_clear_pointer (&run.map, nb_mgmt_network_map_free);
  g_clear_pointer (&maps, g_ptr_array_unref);
  maps = collect_map_updates (n->f.store, n->f.account->id, NULL);
  g_assert_cmpuint (maps->len, ==, 1);
  g_assert_cmpstr (((NbMgmtNetworkMap *) maps->pdata[0])->peer_id, ==, b->id);
  g_assert_cmpuint (((NbMgmtNetworkMap *) maps->pdata[0])->remote_peers->len, ==, 3);
  none = collect_map_updates (n->f.store, n->f.account->id, NULL);
  g_assert_cmpuint (none->len, ==, 0);
}

typedef struct {
  NbMgmtNetworkMap *map;
  GError *error;
  gboolean outdated;
  guint *done;
  guint order;
} BoundedRun;

static void
bounded_done (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  BoundedRun *run = data;

  run->map = nb_mgmt_store_get_network_map_finish (NB_MGMT_STORE (source), result, &run->outdated,
                                                   &run->error);
  run->order = ++*run->done;
}

/* First maps are started two at a time; the other requests wait as
 * requests and take the account as it is when their turn comes. A change
 * made while all are pending reaches the waiting ones' maps (not outdated)
 * but not the two started before it (outdated: the next collection brings
 * them up to date); a peer deleted while its request waits gets NOT_FOUND;
 * they complete in the order they were made. A burst of connects thus
 * queues requests, not computed maps. */
static void
test_first_maps_bounded (NetFixture   *n,
                         gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  const char *names[] = { "a", "b", "c", "d", "e" };
  BoundedRun runs[G_N_ELEMENTS (names)] = { 0 };
  guint done = 0;

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    net_add_peer (n, names[i]);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      NbMgmtPeer *p = g_hash_table_lookup (n->peers, names[i]);

      runs[i].done = &done;
      nb_mgmt_store_get_network_map_async (n->f.store, n->f.account->id, p->id, NULL,
                                           bounded_done, &runs[i]);
    }
  /* While all five are pending: one peer more, and e deleted. */
  net_add_peer (n, "f");
  g_assert_true (nb_mgmt_store_delete_peer (n->f.store, n->f.account->id, NULL,
                                            ((NbMgmtPeer *) g_hash_table_lookup (n->peers, "e"))->id,
                                            &error));
  g_assert_no_error (error);
  while (done < G_N_ELEMENTS (names))
    g_main_context_iteration (NULL, TRUE);

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    g_assert_cmpuint (runs[i].order, ==, i + 1);
  /* Started at once: the account before f (and with e). */
  for (guint i = 0; i < 2; i++)
    {
      g_assert_no_error (runs[i].error);
      g_assert_true (runs[i].outdated);
      g_assert_cmpuint (runs[i].map->remote_peers->len, ==, 4);
    }
  /* Waited: a, b, c or d without itself, and f; not e. */
  for (guint i = 2; i < 4; i++)
    {
      g_assert_no_error (runs[i].error);
      g_assert_false (runs[i].outdated);
      g_assert_cmpuint (runs[i].map->remote_peers->len, ==, 4);
      for (guint k = 0; k < runs[i].map->remote_peers->len; k++)
        {
          NbMgmtRemotePeer *r = runs[i].map->remote_peers->pdata[k];

          g_assert_cmpstr (g_hash_table_lookup (n->by_ip, r->ip), !=, "e");
        }
    }
  g_assert_error (runs[4].error, NB_MGMT_ERROR, NB_MGMT_ERROR_NOT_FOUND);
  g_assert_null (runs[4].map);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    g_clear_pointer (&runs[i].map, nb_mgmt_network_map_free);
  g_clear_error (&runs[4].error);
}

/* A rule may list at most NB_MGMT_MAX_RULE_PORTS ports, and as many
 * ranges: one more is an invalid argument (HTTP 422), naming the field and
 * saying what to use instead. */
static void
test_ports_per_rule_capped (NetFixture   *n,
                            gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtPolicy) policy = nb_mgmt_policy_new ();
  g_autoptr(NbMgmtPolicy) created = NULL;
  NbMgmtPolicyRule *rule = nb_mgmt_policy_rule_new ();
  g_autofree char *g = NULL;

  net_add_peer (n, "a");
  g = net_add_group (n, "g", "a");
  policy->name = g_strdup ("many ports");
  rule->protocol = NB_MGMT_PROTOCOL_TCP;
  rule->sources = strv_of (g, NULL);
  rule->destinations = strv_of (g, NULL);
  rule->ports = g_array_new (FALSE, FALSE, sizeof (guint16));
  for (guint16 p = 1; p <= NB_MGMT_MAX_RULE_PORTS + 1; p++)
    g_array_append_val (rule->ports, p);
  g_ptr_array_add (policy->rules, rule);

  created = nb_mgmt_store_create_policy (n->f.store, n->f.account->id, n->f.owner->id, policy, &error);
  g_assert_null (created);
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "rules[0].ports"));
  g_assert_nonnull (strstr (error->message, "port_ranges"));
  g_clear_error (&error);

  g_array_set_size (rule->ports, NB_MGMT_MAX_RULE_PORTS);
  created = nb_mgmt_store_create_policy (n->f.store, n->f.account->id, n->f.owner->id, policy, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (((NbMgmtPolicyRule *) created->rules->pdata[0])->ports->len, ==, NB_MGMT_MAX_RULE_PORTS);
  g_clear_pointer (&created, nb_mgmt_policy_free);

  g_clear_pointer (&rule->ports, g_array_unref);
  rule->port_ranges = g_array_new (FALSE, FALSE, sizeof (NbMgmtPortRange));
  for (guint16 p = 1; p <= NB_MGMT_MAX_RULE_PORTS + 1; p++)
    {
      NbMgmtPortRange r = { p, p };
      g_array_append_val (rule->port_ranges, r);
    }
  created = nb_mgmt_store_create_policy (n->f.store, n->f.account->id, n->f.owner->id, policy, &error);
  g_assert_null (created);
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "rules[0].port_ranges"));
}

/* A rule stored with far more ports than the cap (by an older version)
 * still computes in n log n: 30,000 shuffled ports to 5 peers both ways
 * took 10 s with an insertion sort; the rules come out in port order. */
static void
test_huge_stored_port_rule (NetFixture   *n,
                            gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) ports = g_string_new ("[");
  g_autoptr(NbMgmtStore) restarted = NULL;
  g_autoptr(NbMgmtNetworkMap) map = NULL;
  g_autofree char *gs = NULL;
  g_autofree char *gd = NULL;
  g_autofree char *policy = NULL;
  g_autofree char *sql = NULL;
  RuleSpec r = { "src", "dst", TRUE, NB_MGMT_RULE_ACTION_ACCEPT, NB_MGMT_PROTOCOL_TCP, "1" };
  const guint n_ports = 30000;
  NbMgmtPeer *me = NULL;
  gint64 start;
  double ms;

  for (guint i = 0; i < 10; i++)
    {
      g_autofree char *name = g_strdup_printf ("p%u", i);
      NbMgmtPeer *p = net_add_peer (n, name);
      if (i == 0)
        me = p;
    }
  gs = net_add_group (n, "src", "p0 p1 p2 p3 p4");
  gd = net_add_group (n, "dst", "p5 p6 p7 p8 p9");
  net_remove_default_policy (n);
  policy = net_add_policy (n, &r);
  /* Distinct ports in a scrambled order (7919 is prime to 65535). */
  for (guint i = 0; i < n_ports; i++)
    g_string_append_printf (ports, "%s%u", i > 0 ? "," : "", 1 + (i * 7919u) % 65535u);
  g_string_append_c (ports, ']');
  sql = g_strdup_printf ("UPDATE policy_rules SET ports = '%s' WHERE policy_id = '%s'", ports->str, policy);
  g_assert_true (nb_mgmt_store_exec (n->f.store, sql, &error));
  g_assert_no_error (error);

  /* As after a restart: the store loads what is on disk. */
  restarted = nb_mgmt_store_open (n->f.path, &error);
  g_assert_no_error (error);
  start = g_get_monotonic_time ();
  map = nb_mgmt_store_get_network_map (restarted, n->f.account->id, me->id, &error);
  ms = (g_get_monotonic_time () - start) / 1000.0;
  g_assert_no_error (error);
  g_test_message ("one map with a stored rule of %u ports to 5 peers both ways: %u firewall rules in %.0f ms",
                  n_ports, map->firewall_rules->len, ms);
  g_assert_cmpuint (map->remote_peers->len, ==, 5);
  g_assert_cmpuint (map->firewall_rules->len, ==, 5 * 2 * n_ports);
  for (guint i = 1; i < map->firewall_rules->len; i++)
    {
      const NbMgmtFirewallRule *x = map->firewall_rules->pdata[i - 1];
      const NbMgmtFirewallRule *y = map->firewall_rules->pdata[i];

      /* Same peer and direction: strictly by port. */
      if (g_strcmp0 (x->peer_ip, y->peer_ip) == 0 && x->direction == y->direction)
        g_assert_cmpuint (x->port, <, y->port);
    }
  /* Generous for a loaded machine or a sanitizer build; the insertion
   * sort took 10 s here. */
  g_assert_cmpfloat (ms, <, 2500);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn, data) \
  g_test_add (path, NetFixture, data, net_setup, fn, net_teardown)

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/mgmt/netmap/policy/%s", cases[i].title);
      ADD (path, test_case, &cases[i]);
    }
  ADD ("/mgmt/netmap/contents", test_map_contents, NULL);
  ADD ("/mgmt/netmap/first-map-async", test_first_map_async, NULL);
  ADD ("/mgmt/netmap/first-maps-bounded", test_first_maps_bounded, NULL);
  ADD ("/mgmt/netmap/ports-per-rule-capped", test_ports_per_rule_capped, NULL);
  ADD ("/mgmt/netmap/huge-stored-port-rule", test_huge_stored_port_rule, NULL);
  ADD ("/mgmt/netmap/routes", test_map_routes, NULL);
  ADD ("/mgmt/netmap/dns", test_map_dns, NULL);
  ADD ("/mgmt/netmap/blocked-users-peers-excluded", test_map_excludes_blocked_users_peers, NULL);
  ADD ("/mgmt/netmap/change/peer-join-concerns-nobody", test_change_peer_join, NULL);
  ADD ("/mgmt/netmap/change/peer-join-default-policy", test_change_peer_join_default_policy, NULL);
  ADD ("/mgmt/netmap/change/group-membership", test_change_group_membership, NULL);
  ADD ("/mgmt/netmap/change/peer-delete-and-rename", test_change_peer_delete_and_rename, NULL);
  ADD ("/mgmt/netmap/change/unrelated-policy", test_change_unrelated_policy, NULL);
  ADD ("/mgmt/netmap/change/collect-in-order", test_change_collect_in_order, NULL);
  ADD ("/mgmt/netmap/change/randomized-matches-full-recompute/seed-7", test_change_randomized_matches_full,
       GUINT_TO_POINTER (7));
  ADD ("/mgmt/netmap/change/randomized-matches-full-recompute/seed-1234", test_change_randomized_matches_full,
       GUINT_TO_POINTER (1234));
  ADD ("/mgmt/netmap/change/randomized-matches-full-recompute/seed-99991", test_change_randomized_matches_full,
       GUINT_TO_POINTER (99991));
  ADD ("/mgmt/netmap/change/collect-leaves-out-fresh", test_change_collect_leaves_out_fresh, NULL);
  ADD ("/mgmt/netmap/change/collect-main-loop-turns", test_change_collect_main_loop_turns, NULL);
  ADD ("/mgmt/netmap/change/borrowed-maps", test_change_borrowed_maps, NULL);
  ADD ("/mgmt/netmap/change/forgotten-peer-not-updated", test_change_forgotten_peer_not_updated, NULL);

  return g_test_run ();
}
