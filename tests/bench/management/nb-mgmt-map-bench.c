/* nb-mgmt-map-bench.c: how long Management takes to compute network maps
 *
 * Builds an account in a temporary SQLite store, by default of the shape
 * tests/bench/management.sh gives its live server: N peers, G groups, each
 * peer in one group (peer i in group i mod G, as the benchmark's clients
 * pick their setup keys), P policies of one bidirectional rule for all
 * protocols between two different random groups (fixed seed), the default
 * All <-> All policy removed. With --mixed, each peer is in 1 to 3 random
 * groups and the rules mix directions and protocols (all, tcp with a port,
 * udp with a range). Then it measures and prints one line of key=value
 * pairs:
 *
 *   setup_ms          building the account (not part of the figures below)
 *   snapshot_ms       loading the account's indexed snapshot from SQLite
 *   all_maps_ms       computing every peer's map (compact form + hash), the
 *                     work a change to the whole account costs
 *   map_entries       remote peers + firewall rules + routes over all maps
 *   all_maps_json_ms  every map as records and as JSON, one at a time, as
 *                     peers connecting get theirs
 *   all_maps_json_bytes
 *   join_ms           one more peer registers (into one group; two with
 *                     --mixed), and the maps that changed reach the
 *                     server's sync channels: the sum of
 *   join_register_ms  registering it (SQLite)
 *   join_collect_ms   the server's own path: the store's collection
 *                     (snapshot on this thread, maps computed on its worker
 *                     thread), each map handed back written as the server
 *                     writes a SyncResponse and sealed to its peer
 *   join_collect_wall_ms  the same in wall-clock time
 *   join_worker_ms    of which the worker's time computing maps
 *   join_affected     how many peers' maps changed (they were all given one);
 *                     it follows how many policies the draw gave the
 *                     newcomer's group, so it differs from management.sh's
 *                     join_receivers (Python draws there) for the same shape
 *   join_bytes        the sealed bytes of those maps
 *   group_change_ms   one peer added to a group by the API, and the same
 *                     collection (maps counted, not written)
 *   group_affected    how many peers' maps changed
 *   list_peers_ms     reading every peer with its groups (GET /api/peers)
 *   rss_mb            peak resident memory of the process
 *
 * Times are CPU time of the process, all threads: on a shared machine they
 * do not count other processes' turns. On any failure it prints what failed
 * and exits with 1, never a figure.
 *
 * Usage: nb-mgmt-map-bench [--peers N] [--groups G] [--policies P] [--seed S] [--mixed]
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-mgmt-bench"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <glib/gstdio.h>

#include "nb-envelope.h"
#include "nb-key.h"
#include "nb-mgmt-store.h"
#include "nb-mgmt-store-private.h"
#include "nb-mgmt-server-private.h"

static gint64
now_us (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (gint64) ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

static double
ms_since (gint64 start)
{
  return (now_us () - start) / 1000.0;
}

/* What the server does with each map a collection hands back: write the
 * SyncResponse, seal it to the peer. */
typedef struct {
  NbKey *server_key;
  GHashTable *peer_keys;        /* public base64 -> NbKey */
  GString *scratch;
  gboolean write;               /* FALSE: count only */
  guint64 bytes;
  guint maps;
  gboolean failed;
  GError *error;
  gboolean done;
  NbMgmtMapUpdateStats stats;
} Collect;

static void
on_map (const NbMgmtNetworkMap *map,
        gpointer                data)
{
  Collect *c = data;
  g_autoptr(GBytes) plain = NULL;
  g_autoptr(GBytes) sealed = NULL;
  NbKey *peer;

  c->maps++;
  if (!c->write || c->failed)
    return;
  peer = g_hash_table_lookup (c->peer_keys, map->peer_key);
  if (peer == NULL)
    {
      c->failed = TRUE;
      g_set_error (&c->error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no key for peer %s", map->peer_id);
      return;
    }
  g_string_truncate (c->scratch, 0);
  nb_mgmt_server_write_sync_response (map, NULL, c->scratch);
  plain = g_bytes_new_static (c->scratch->str, c->scratch->len);
  sealed = nb_envelope_seal (c->server_key, peer, plain, &c->error);
  if (sealed == NULL)
    {
      c->failed = TRUE;
      return;
    }
  c->bytes += g_bytes_get_size (sealed);
}

static void
on_collected (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  Collect *c = data;

  if (!nb_mgmt_store_collect_network_map_updates_finish (NB_MGMT_STORE (source), result, &c->stats,
                                                         c->failed ? NULL : &c->error))
    c->failed = TRUE;
  c->done = TRUE;
}

/* The server's one path for map updates, run to its end. */
static gboolean
collect (NbMgmtStore *store,
         const char  *account_id,
         Collect     *c,
         GError     **error)
{
  c->done = FALSE;
  c->failed = FALSE;
  c->maps = 0;
  c->bytes = 0;
  nb_mgmt_store_collect_network_map_updates_async (store, account_id, on_map, c, NULL, on_collected, c);
  while (!c->done)
    g_main_context_iteration (NULL, TRUE);
  if (c->failed)
    {
      if (c->error != NULL)
        g_propagate_error (error, g_steal_pointer (&c->error));
      else
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "collection failed");
      return FALSE;
    }
  return TRUE;
}

static double
peak_rss_mb (void)
{
  g_autofree char *status = NULL;
  const char *p;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return 0;
  p = strstr (status, "VmHWM:");
  if (p == NULL)
    return 0;
  return g_ascii_strtod (p + 6, NULL) / 1024.0;
}

static void
rm_rf (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *p = g_build_filename (dir, name, NULL);
      g_remove (p);
    }
  g_rmdir (dir);
}

static void
remove_tmp_dir (char **dir)
{
  if (*dir != NULL)
    rm_rf (*dir);
  g_free (*dir);
}

#define CHECK(expr) \
  G_STMT_START { \
    if (!(expr)) \
      { \
        g_printerr ("nb-mgmt-map-bench: %s: %s\n", #expr, error != NULL ? error->message : "failed"); \
        return 1; \
      } \
  } G_STMT_END

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GOptionContext) context = NULL;
  gint n_peers = 1000, n_groups = 100, n_policies = 200, seed = 1;
  gboolean mixed = FALSE;
  GOptionEntry entries[] = {
    { "peers", 0, 0, G_OPTION_ARG_INT, &n_peers, "Peers in the account", "N" },
    { "groups", 0, 0, G_OPTION_ARG_INT, &n_groups, "Groups", "G" },
    { "policies", 0, 0, G_OPTION_ARG_INT, &n_policies, "Policies", "P" },
    { "seed", 0, 0, G_OPTION_ARG_INT, &seed, "Seed of the generator", "S" },
    { "mixed", 0, 0, G_OPTION_ARG_NONE, &mixed, "Peers in 1-3 groups, rules of every kind", NULL },
    { NULL }
  };
  /* Removed however main() returns; the store, declared after, is closed
   * before. */
  __attribute__ ((cleanup (remove_tmp_dir))) char *dir = NULL;
  g_autofree char *path = NULL;
  g_autofree char *setup_key = NULL;
  g_autofree char *join_key = NULL;
  g_autoptr(NbMgmtStore) store = NULL;
  g_autoptr(NbMgmtAccount) account = NULL;
  g_autoptr(NbMgmtUser) owner = NULL;
  g_autoptr(GPtrArray) peer_ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) group_ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) members = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  g_autoptr(GRand) rand = NULL;
  g_autoptr(NbMgmtPeer) joined = NULL;
  g_autoptr(NbKey) server_key = nb_key_generate ();
  g_autoptr(GHashTable) peer_keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  g_autoptr(GString) scratch = g_string_new (NULL);
  Collect c = { server_key, peer_keys, scratch };
  guint64 entries_total, json_bytes = 0, join_bytes;
  guint join_affected, group_affected;
  double group_ms, list_ms;
  double setup_ms, snapshot_ms, all_ms, json_ms, join_ms, join_register_ms, join_collect_ms, join_wall_ms;
  double join_worker_ms;
  gint64 t, wall;

  context = g_option_context_new ("- Management network-map benchmark");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("nb-mgmt-map-bench: %s\n", error->message);
      return 2;
    }
  if (n_peers < 2 || n_groups < 2 || n_policies < 1 || n_peers > 60000)
    {
      g_printerr ("nb-mgmt-map-bench: need 2 <= peers <= 60000, groups >= 2, policies >= 1\n");
      return 2;
    }
  rand = g_rand_new_with_seed ((guint32) seed);

  dir = g_dir_make_tmp ("nb-mgmt-bench-XXXXXX", &error);
  CHECK (dir != NULL);
  path = g_build_filename (dir, "bench.db", NULL);
  store = nb_mgmt_store_open (path, &error);
  CHECK (store != NULL);

  /* Building 10,000 peers one durable transaction at a time measures the
   * disk, not the maps: the setup runs without fsync. */
  t = now_us ();
  CHECK (nb_mgmt_store_exec (store, "PRAGMA synchronous = OFF", &error));
  account = nb_mgmt_store_create_account (store, "Bench", "bench@example.com", NULL, &owner, &error);
  CHECK (account != NULL);
  {
    g_autoptr(GPtrArray) policies = nb_mgmt_store_list_policies (store, account->id, &error);
    CHECK (policies != NULL);
    for (guint i = 0; i < policies->len; i++)
      CHECK (nb_mgmt_store_delete_policy (store, account->id, owner->id,
                                          ((NbMgmtPolicy *) policies->pdata[i])->id, &error));
  }
  {
    NbMgmtSetupKey tmpl = { .name = (char *) "bench", .type = NB_MGMT_SETUP_KEY_REUSABLE };
    g_autoptr(NbMgmtSetupKey) key = nb_mgmt_store_create_setup_key (store, account->id, owner->id, &tmpl, NULL,
                                                                    &setup_key, &error);
    CHECK (key != NULL);
  }
  for (gint i = 0; i < n_groups; i++)
    g_ptr_array_add (members, g_ptr_array_new ());
  for (gint i = 0; i < n_peers; i++)
    {
      g_autoptr(NbKey) k = nb_key_generate ();
      g_autofree char *host = g_strdup_printf ("peer-%05d", i);
      NbMgmtPeerMeta meta = { .hostname = host, .goos = (char *) "linux" };
      g_autoptr(NbMgmtPeer) p = nb_mgmt_store_register_peer (store, setup_key, nb_key_get_public_base64 (k),
                                                             &meta, &error);
      guint n_in = mixed ? 1 + g_rand_int_range (rand, 0, 3) : 1;

      CHECK (p != NULL);
      g_ptr_array_add (peer_ids, g_strdup (p->id));
      g_hash_table_insert (peer_keys, g_strdup (nb_key_get_public_base64 (k)), g_object_ref (k));
      for (guint k2 = 0; k2 < n_in; k2++)
        g_ptr_array_add (members->pdata[mixed ? g_rand_int_range (rand, 0, n_groups) : i % n_groups],
                         peer_ids->pdata[i]);
    }
  for (gint i = 0; i < n_groups; i++)
    {
      g_autofree char *name = g_strdup_printf ("group-%03d", i);
      GPtrArray *m = members->pdata[i];
      g_autoptr(NbMgmtGroup) g = NULL;
      NbMgmtGroup tmpl = { .name = name };

      g_ptr_array_add (m, NULL);
      tmpl.peers = (char **) m->pdata;
      g = nb_mgmt_store_create_group (store, account->id, owner->id, &tmpl, &error);
      CHECK (g != NULL);
      g_ptr_array_add (group_ids, g_strdup (g->id));
    }
  for (gint i = 0; i < n_policies; i++)
    {
      g_autoptr(NbMgmtPolicy) policy = nb_mgmt_policy_new ();
      g_autoptr(NbMgmtPolicy) created = NULL;
      NbMgmtPolicyRule *rule = nb_mgmt_policy_rule_new ();
      gint a = g_rand_int_range (rand, 0, n_groups);
      /* Two different groups unless --mixed. */
      gint b = mixed ? g_rand_int_range (rand, 0, n_groups) : (a + g_rand_int_range (rand, 1, n_groups)) % n_groups;
      char *src[] = { group_ids->pdata[a], NULL };
      char *dst[] = { group_ids->pdata[b], NULL };

      policy->name = g_strdup_printf ("policy-%03d", i);
      rule->bidirectional = mixed ? g_rand_boolean (rand) : TRUE;
      switch (mixed ? g_rand_int_range (rand, 0, 3) : 0)
        {
        case 0:
          rule->protocol = NB_MGMT_PROTOCOL_ALL;
          break;
        case 1:
          {
            guint16 port = (guint16) g_rand_int_range (rand, 1, 65536);
            rule->protocol = NB_MGMT_PROTOCOL_TCP;
            rule->ports = g_array_new (FALSE, FALSE, sizeof (guint16));
            g_array_append_val (rule->ports, port);
            break;
          }
        default:
          {
            NbMgmtPortRange r = { 10000, 20000 };
            rule->protocol = NB_MGMT_PROTOCOL_UDP;
            rule->port_ranges = g_array_new (FALSE, FALSE, sizeof (NbMgmtPortRange));
            g_array_append_val (rule->port_ranges, r);
            break;
          }
        }
      rule->sources = g_strdupv (src);
      rule->destinations = g_strdupv (dst);
      g_ptr_array_add (policy->rules, rule);
      created = nb_mgmt_store_create_policy (store, account->id, owner->id, policy, &error);
      CHECK (created != NULL);
    }
  {
    char *auto_groups[] = { group_ids->pdata[0], mixed ? group_ids->pdata[1] : NULL, NULL };
    NbMgmtSetupKey tmpl = { .name = (char *) "join", .type = NB_MGMT_SETUP_KEY_ONE_OFF,
                            .auto_groups = auto_groups };
    g_autoptr(NbMgmtSetupKey) key = nb_mgmt_store_create_setup_key (store, account->id, owner->id, &tmpl, NULL,
                                                                    &join_key, &error);
    CHECK (key != NULL);
  }
  CHECK (nb_mgmt_store_exec (store, "PRAGMA synchronous = FULL", &error));
  /* As the server does after every change: nobody holds a map yet, so this
   * only settles the pending changes of the setup. */
  CHECK (collect (store, account->id, &c, &error));
  CHECK (c.maps == 0);
  setup_ms = ms_since (t);

  /* Snapshot load, then every map computed from it. */
  t = now_us ();
  CHECK (nb_mgmt_store_load_snapshot (store, account->id, &error));
  snapshot_ms = ms_since (t);
  t = now_us ();
  entries_total = nb_mgmt_store_compute_all_compact (store, account->id, &error);
  CHECK (error == NULL);
  all_ms = ms_since (t);

  /* Every map as records and JSON, one at a time, as peers connecting get
   * theirs; this also records what each peer was given. */
  t = now_us ();
  for (guint i = 0; i < peer_ids->len; i++)
    {
      g_autoptr(NbMgmtNetworkMap) map = nb_mgmt_store_get_network_map (store, account->id, peer_ids->pdata[i],
                                                                       &error);
      g_autofree char *json = NULL;
      gsize len;

      CHECK (map != NULL);
      json = nb_mgmt_network_map_to_json (map, &len);
      json_bytes += len;
    }
  json_ms = ms_since (t);

  /* One peer joins: register it; the maps that changed are computed,
   * written and sealed as the server does for its sync channels. */
  t = now_us ();
  {
    g_autoptr(NbKey) k = nb_key_generate ();
    NbMgmtPeerMeta meta = { .hostname = (char *) "newcomer", .goos = (char *) "linux" };
    joined = nb_mgmt_store_register_peer (store, join_key, nb_key_get_public_base64 (k), &meta, &error);
    CHECK (joined != NULL);
  }
  join_register_ms = ms_since (t);
  t = now_us ();
  wall = g_get_monotonic_time ();
  c.write = TRUE;
  CHECK (collect (store, account->id, &c, &error));
  join_collect_ms = ms_since (t);
  join_wall_ms = (g_get_monotonic_time () - wall) / 1000.0;
  join_worker_ms = c.stats.compute_us / 1000.0;
  join_affected = c.maps;
  join_bytes = c.bytes;
  CHECK (join_affected > 0 && join_affected == c.stats.changed);
  join_ms = join_register_ms + join_collect_ms;

  /* An administrator adds one peer to a group. */
  t = now_us ();
  {
    g_autoptr(NbMgmtGroup) g = nb_mgmt_store_get_group (store, account->id, group_ids->pdata[2], &error);
    g_autoptr(NbMgmtGroup) updated = NULL;
    g_autoptr(GStrvBuilder) b = g_strv_builder_new ();

    CHECK (g != NULL);
    g_strv_builder_addv (b, (const char **) g->peers);
    g_strv_builder_add (b, joined->id);
    g_strfreev (g->peers);
    g->peers = g_strv_builder_end (b);
    updated = nb_mgmt_store_update_group (store, account->id, owner->id, g, &error);
    CHECK (updated != NULL);
    c.write = FALSE;
    CHECK (collect (store, account->id, &c, &error));
    group_affected = c.maps;
  }
  group_ms = ms_since (t);

  t = now_us ();
  {
    g_autoptr(GPtrArray) all = nb_mgmt_store_list_peers (store, account->id, NULL, &error);
    CHECK (all != NULL && all->len == (guint) n_peers + 1);
  }
  list_ms = ms_since (t);

  printf ("peers=%d groups=%d policies=%d shape=%s setup_ms=%.0f snapshot_ms=%.1f all_maps_ms=%.1f "
          "map_entries=%" G_GUINT64_FORMAT " all_maps_json_ms=%.1f all_maps_json_bytes=%" G_GUINT64_FORMAT " "
          "join_ms=%.1f join_register_ms=%.1f join_collect_ms=%.1f join_collect_wall_ms=%.1f "
          "join_worker_ms=%.1f join_affected=%u join_bytes=%" G_GUINT64_FORMAT " group_change_ms=%.1f "
          "group_affected=%u list_peers_ms=%.1f rss_mb=%.1f\n",
          n_peers, n_groups, n_policies, mixed ? "mixed" : "sync", setup_ms, snapshot_ms, all_ms, entries_total,
          json_ms, json_bytes, join_ms, join_register_ms, join_collect_ms, join_wall_ms, join_worker_ms,
          join_affected, join_bytes, group_ms, group_affected, list_ms, peak_rss_mb ());

  return 0;
}
