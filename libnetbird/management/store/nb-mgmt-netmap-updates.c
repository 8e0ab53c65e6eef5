/* nb-mgmt-netmap-updates.c: which peer was given which map, and which maps a change alters
 *
 * The store remembers the hash of the map each peer was last given. A
 * change marks its account dirty: with the peers it concerns when it is
 * about one peer, for everyone otherwise. Collecting updates recomputes
 * only the candidates: the changed peer and the peers that saw it before
 * the change or see it after, among those that were given a map.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-mgmt-store"

#include <string.h>

#include <gio/gio.h>

#include "nb-mgmt-netmap-private.h"

/* ---- Given-map bookkeeping ----------------------------------------------- */

static GHashTable *
given_for (NbMgmtStore *store,
           const char  *account_id)
{
  GHashTable *given = g_hash_table_lookup (store->given_hashes, account_id);

  if (given == NULL)
    {
      given = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      g_hash_table_insert (store->given_hashes, g_strdup (account_id), given);
    }
  return given;
}

static void
record_given (NbMgmtStore *store,
              const char  *account_id,
              const char  *peer_id,
              guint64      hash)
{
  guint64 *v = g_new (guint64, 1);

  *v = hash;
  g_hash_table_replace (given_for (store, account_id), g_strdup (peer_id), v);
}

/* What a change left to do for an account: the peers it concerns, or all;
 * and the snapshot from before the first change, to find who saw them. */
typedef struct {
  gboolean all;
  gboolean dns_settings;
  GHashTable *peers;            /* sets of IDs of what changed */
  GHashTable *groups;
  GHashTable *policies;
  GHashTable *routes;
  GHashTable *ns_groups;
  GHashTable *users;
  NbMgmtSnapshot *before;       /* nullable */
} Dirty;

static GHashTable *
id_set (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

void
nb_mgmt_netmap_dirty_free (gpointer data)
{
  Dirty *d = data;

  g_hash_table_unref (d->peers);
  g_hash_table_unref (d->groups);
  g_hash_table_unref (d->policies);
  g_hash_table_unref (d->routes);
  g_hash_table_unref (d->ns_groups);
  g_hash_table_unref (d->users);
  nb_mgmt_snapshot_free (d->before);
  g_free (d);
}

static void
add_or_all (Dirty      *d,
            GHashTable *set,
            const char *id)
{
  if (id == NULL)
    d->all = TRUE;
  else
    g_hash_table_add (set, g_strdup (id));
}

void
nb_mgmt_netmap_mark_dirty (NbMgmtStore      *store,
                           const char       *account_id,
                           NbMgmtChangeKind  kind,
                           const char       *object_id)
{
  Dirty *d = g_hash_table_lookup (store->dirty, account_id);

  if (d == NULL)
    {
      NbMgmtSnapshot *cached = g_hash_table_lookup (store->snapshots, account_id);
      sqlite3_stmt *stmt;
      gboolean has_row = FALSE;

      d = g_new0 (Dirty, 1);
      d->peers = id_set ();
      d->groups = id_set ();
      d->policies = id_set ();
      d->routes = id_set ();
      d->ns_groups = id_set ();
      d->users = id_set ();
      /* The cached snapshot is "before" only if it matches the serial as it
       * is now, before this change bumps it. */
      stmt = nb_mgmt_store_prepare (store, "SELECT serial FROM accounts WHERE id = ?1", NULL);
      if (stmt != NULL)
        {
          nb_mgmt_bind_text (stmt, 1, account_id);
          if (nb_mgmt_store_step_row (store, stmt, &has_row, NULL) && has_row && cached != NULL &&
              (guint64) sqlite3_column_int64 (stmt, 0) == cached->serial)
            d->before = nb_mgmt_snapshot_ref (cached);
          sqlite3_reset (stmt);
        }
      if (d->before == NULL)
        d->all = TRUE;
      g_hash_table_insert (store->dirty, g_strdup (account_id), d);
    }

  /* What changed, to find later whom it concerns; without an ID, all. */
  switch (kind)
    {
    case NB_MGMT_CHANGE_PEER_ADDED:
    case NB_MGMT_CHANGE_PEER_UPDATED:
    case NB_MGMT_CHANGE_PEER_DELETED:
      add_or_all (d, d->peers, object_id);
      break;
    case NB_MGMT_CHANGE_GROUP:
      add_or_all (d, d->groups, object_id);
      break;
    case NB_MGMT_CHANGE_POLICY:
      add_or_all (d, d->policies, object_id);
      break;
    case NB_MGMT_CHANGE_ROUTE:
      add_or_all (d, d->routes, object_id);
      break;
    case NB_MGMT_CHANGE_NAMESERVER_GROUP:
      add_or_all (d, d->ns_groups, object_id);
      break;
    case NB_MGMT_CHANGE_USER:
      add_or_all (d, d->users, object_id);
      break;
    case NB_MGMT_CHANGE_DNS_SETTINGS:
      d->dns_settings = TRUE;
      break;
    case NB_MGMT_CHANGE_PEER_STATUS:
    case NB_MGMT_CHANGE_PAT:
    case NB_MGMT_CHANGE_SETUP_KEY:
      break;
    case NB_MGMT_CHANGE_ACCOUNT:
    case NB_MGMT_CHANGE_ACCOUNT_DELETED:
      /* Domain, network, login expiry: every map. */
      d->all = TRUE;
      break;
    }
}

/* Adds to @out (a set of peer ids) every peer whose map in @s may mention
 * peer @pid: @pid itself, the peers on the other side of every rule naming
 * one of its groups, and the peers its routes go to or come from. */
static void
add_neighbours (const NbMgmtSnapshot *s,
                const char           *pid,
                GHashTable           *out)
{
  gpointer v = g_hash_table_lookup (s->peer_index, pid);
  const SnapPeer *p;

  if (v == NULL)
    return;
  p = s->peers->pdata[GPOINTER_TO_UINT (v) - 1];
  g_hash_table_add (out, p->id);
  for (guint gi = 0; gi < p->groups->len; gi++)
    {
      const SnapGroup *g = s->groups->pdata[g_array_index (p->groups, guint32, gi)];

      for (guint k = 0; k < g->rule_refs->len; k++)
        {
          const RuleRef *ref = &g_array_index (g->rule_refs, RuleRef, k);
          const SnapRule *r = s->rules->pdata[ref->rule];
          const GArray *other = r->sides[1 - ref->side];

          for (guint o = 0; o < other->len; o++)
            {
              const SnapGroup *og = s->groups->pdata[g_array_index (other, guint32, o)];
              for (guint m = 0; m < og->peers->len; m++)
                g_hash_table_add (out, ((SnapPeer *) s->peers->pdata[g_array_index (og->peers, guint32, m)])->id);
            }
        }
      for (guint k = 0; k < g->route_dist->len; k++)
        {
          const SnapRoute *route = s->routes->pdata[g_array_index (g->route_dist, guint32, k)];
          for (guint m = 0; m < route->routers->len; m++)
            g_hash_table_add (out, ((SnapPeer *) s->peers->pdata[g_array_index (route->routers, guint32, m)])->id);
        }
    }
  {
    GArray *mine = g_array_index (s->peer_routes, GArray *, GPOINTER_TO_UINT (v) - 1);
    for (guint k = 0; mine != NULL && k < mine->len; k++)
      {
        const SnapRoute *route = s->routes->pdata[g_array_index (mine, guint32, k)];
        for (guint d = 0; d < route->dist->len; d++)
          {
            const SnapGroup *dg = s->groups->pdata[g_array_index (route->dist, guint32, d)];
            for (guint m = 0; m < dg->peers->len; m++)
              g_hash_table_add (out, ((SnapPeer *) s->peers->pdata[g_array_index (dg->peers, guint32, m)])->id);
          }
      }
  }
}

static void
add_members (const NbMgmtSnapshot *s,
             guint32               group,
             GHashTable           *out)
{
  const SnapGroup *g = s->groups->pdata[group];

  for (guint m = 0; m < g->peers->len; m++)
    g_hash_table_add (out, ((SnapPeer *) s->peers->pdata[g_array_index (g->peers, guint32, m)])->id);
}

static void
add_members_of (const NbMgmtSnapshot *s,
                const GArray         *groups,
                GHashTable           *out)
{
  for (guint i = 0; groups != NULL && i < groups->len; i++)
    add_members (s, g_array_index (groups, guint32, i), out);
}

static gboolean
lookup_group (const NbMgmtSnapshot *s,
              const char           *id,
              guint32              *index)
{
  gpointer v = id != NULL ? g_hash_table_lookup (s->group_index, id) : NULL;

  if (v == NULL)
    return FALSE;
  *index = GPOINTER_TO_UINT (v) - 1;
  return TRUE;
}

/* A group's membership or name changed: its members, the peers across every
 * rule naming it, the routers of routes distributed to it, and the
 * recipients of routes it routes. */
static void
add_group_candidates (const NbMgmtSnapshot *s,
                      const char           *group_id,
                      GHashTable           *out)
{
  const SnapGroup *g;
  guint32 gi;

  if (!lookup_group (s, group_id, &gi))
    return;
  g = s->groups->pdata[gi];
  add_members (s, gi, out);
  for (guint k = 0; k < g->rule_refs->len; k++)
    {
      const RuleRef *ref = &g_array_index (g->rule_refs, RuleRef, k);
      add_members_of (s, ((SnapRule *) s->rules->pdata[ref->rule])->sides[1 - ref->side], out);
    }
  for (guint k = 0; k < g->route_dist->len; k++)
    {
      const SnapRoute *route = s->routes->pdata[g_array_index (g->route_dist, guint32, k)];
      for (guint m = 0; m < route->routers->len; m++)
        g_hash_table_add (out, ((SnapPeer *) s->peers->pdata[g_array_index (route->routers, guint32, m)])->id);
    }
  for (guint r = 0; r < s->routes->len; r++)
    {
      const SnapRoute *route = s->routes->pdata[r];
      for (guint k = 0; k < route->router_groups->len; k++)
        if (g_array_index (route->router_groups, guint32, k) == gi)
          {
            add_members_of (s, route->dist, out);
            break;
          }
    }
}

/* A policy changed: the members of both sides of each of its rules. */
static void
add_policy_candidates (const NbMgmtSnapshot *s,
                       const char           *policy_id,
                       GHashTable           *out)
{
  for (guint r = 0; r < s->rules->len; r++)
    {
      const SnapRule *rule = s->rules->pdata[r];

      if (g_strcmp0 (rule->policy_id, policy_id) != 0)
        continue;
      add_members_of (s, rule->sides[0], out);
      add_members_of (s, rule->sides[1], out);
    }
}

/* A route changed: its routers and the members of its groups. */
static void
add_route_candidates (const NbMgmtSnapshot *s,
                      const char           *route_id,
                      GHashTable           *out)
{
  for (guint r = 0; r < s->routes->len; r++)
    {
      const SnapRoute *route = s->routes->pdata[r];

      if (g_strcmp0 (route->route->id, route_id) != 0)
        continue;
      for (guint m = 0; m < route->routers->len; m++)
        g_hash_table_add (out, ((SnapPeer *) s->peers->pdata[g_array_index (route->routers, guint32, m)])->id);
      add_members_of (s, route->dist, out);
    }
}

/* A nameserver group changed: the members of the groups it goes to. */
static void
add_ns_candidates (const NbMgmtSnapshot *s,
                   const char           *ns_id,
                   GHashTable           *out)
{
  for (guint i = 0; i < s->ns_groups->len; i++)
    {
      const NbMgmtNameserverGroup *ns = s->ns_groups->pdata[i];
      guint32 gi;

      if (g_strcmp0 (ns->id, ns_id) != 0)
        continue;
      for (guint k = 0; ns->groups != NULL && ns->groups[k] != NULL; k++)
        if (lookup_group (s, ns->groups[k], &gi))
          add_members (s, gi, out);
    }
}

/* The DNS settings changed: the members of the groups it disables. */
static void
add_dns_candidates (const NbMgmtSnapshot *s,
                    GHashTable           *out)
{
  for (guint i = 0; i < s->groups->len; i++)
    if (((SnapGroup *) s->groups->pdata[i])->dns_disabled)
      add_members (s, i, out);
}

/* A user was blocked, unblocked or deleted: its peers and who sees them. */
static void
add_user_candidates (const NbMgmtSnapshot *s,
                     const char           *user_id,
                     GHashTable           *out)
{
  for (guint i = 0; i < s->peers->len; i++)
    {
      const SnapPeer *p = s->peers->pdata[i];
      if (g_strcmp0 (p->user_id, user_id) == 0)
        add_neighbours (s, p->id, out);
    }
}

static void
add_candidates (const NbMgmtSnapshot *s,
                Dirty                *d,
                GHashTable           *out)
{
  GHashTableIter iter;
  gpointer id;

  g_hash_table_iter_init (&iter, d->peers);
  while (g_hash_table_iter_next (&iter, &id, NULL))
    add_neighbours (s, id, out);
  g_hash_table_iter_init (&iter, d->groups);
  while (g_hash_table_iter_next (&iter, &id, NULL))
    add_group_candidates (s, id, out);
  g_hash_table_iter_init (&iter, d->policies);
  while (g_hash_table_iter_next (&iter, &id, NULL))
    add_policy_candidates (s, id, out);
  g_hash_table_iter_init (&iter, d->routes);
  while (g_hash_table_iter_next (&iter, &id, NULL))
    add_route_candidates (s, id, out);
  g_hash_table_iter_init (&iter, d->ns_groups);
  while (g_hash_table_iter_next (&iter, &id, NULL))
    add_ns_candidates (s, id, out);
  g_hash_table_iter_init (&iter, d->users);
  while (g_hash_table_iter_next (&iter, &id, NULL))
    add_user_candidates (s, id, out);
  if (d->dns_settings)
    add_dns_candidates (s, out);
}

/* The peers the pending changes may concern, from the state before them
 * and the state after; NULL for all. The set points into the snapshots'
 * strings: free it before them. */
static GHashTable *
dirty_candidates (Dirty                *d,
                  const NbMgmtSnapshot *s)
{
  GHashTable *candidates;

  if (d->all || d->before == NULL)
    return NULL;
  candidates = g_hash_table_new (g_str_hash, g_str_equal);
  add_candidates (d->before, d, candidates);
  add_candidates (s, d, candidates);
  return candidates;
}

/* Deleted peers: forget what they were given. */
static void
forget_deleted (GHashTable           *given,
                const NbMgmtSnapshot *s)
{
  GHashTableIter iter;
  gpointer pid;

  g_hash_table_iter_init (&iter, given);
  while (g_hash_table_iter_next (&iter, &pid, NULL))
    if (!g_hash_table_contains (s->peer_index, pid))
      g_hash_table_iter_remove (&iter);
}

/* ---- Public entry points -------------------------------------------------- */

/* The account's snapshot and @peer_id's slot in it, or NULL with NOT_FOUND. */
static NbMgmtSnapshot *
snapshot_and_slot (NbMgmtStore  *store,
                   const char   *account_id,
                   const char   *peer_id,
                   guint        *slot,
                   GError      **error)
{
  NbMgmtSnapshot *s = nb_mgmt_snapshot_get (store, account_id, error);
  gpointer v;

  if (s == NULL)
    return NULL;
  v = peer_id != NULL ? g_hash_table_lookup (s->peer_index, peer_id) : NULL;
  if (v == NULL)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_NOT_FOUND, "Peer %s not found",
                   peer_id != NULL ? peer_id : "(none)");
      return NULL;
    }
  *slot = GPOINTER_TO_UINT (v) - 1;
  return s;
}

/**
 * nb_mgmt_store_get_network_map:
 * @store: a store
 * @account_id: the account
 * @peer_id: the peer
 * @error: return location for a #GError
 *
 * Computes the peer's current map and records it as the one it was given.
 *
 * Returns: (transfer full): the map, or %NULL (NOT_FOUND)
 */
NbMgmtNetworkMap *
nb_mgmt_store_get_network_map (NbMgmtStore *store,
                               const char  *account_id,
                               const char  *peer_id,
                               GError     **error)
{
  NbMgmtSnapshot *s;
  NbMgmtNetworkMap *map;
  Scratch sc;
  guint slot;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  s = snapshot_and_slot (store, account_id, peer_id, &slot, error);
  if (s == NULL)
    return NULL;
  nb_mgmt_scratch_init (&sc, s);
  nb_mgmt_netmap_compute (s, slot, &sc);
  map = nb_mgmt_netmap_materialize (s, slot, &sc);
  nb_mgmt_scratch_clear (&sc);
  record_given (store, account_id, peer_id, map->hash);
  return map;
}

/* ---- A peer's first map, off the main loop ------------------------------
 *
 * First maps are computed on one thread of their own, not GTask's pool.
 * When thousands of channels connect at once, the pool ran a first map on
 * each of its threads, and glibc gave every thread a malloc arena of its
 * own that kept its pages afterwards: 10 arenas of 2.5-5.5 MB each (at
 * 10,000 channels, 101 MB resident against 90 MB with one thread).
 *
 * At most FIRST_MAP_IN_FLIGHT requests of a store are started at a time,
 * from taking the snapshot to the caller's callback; the others wait as
 * requests (a few ids, no snapshot). With the thread alone, a burst of
 * connects had the worker compute maps faster than the main loop took them
 * (writing, sealing and queueing ~300 KB each at 10,000 peers, between
 * polls of 10,000 descriptors): dozens of computed maps waited for the main
 * loop at once, and the thread's arena kept that peak (16-20 MB) after the
 * burst. Two in flight keep the worker and the main loop busy together
 * while the arena holds two maps. (Eight connected 10,000 channels a
 * quarter faster, 55 s against 73 s on a loaded machine, for 1.1 MB more
 * resident afterwards.) A request takes its snapshot when it
 * starts, so a waiting one neither pins an older snapshot nor computes a
 * map the account has changed since. */

#define FIRST_MAP_IN_FLIGHT 2

typedef struct {
  NbMgmtSnapshot *snapshot;     /* set when started */
  guint32 slot;
  char *account_id;
  char *peer_id;
  GError *error;                /* set when started: no map to compute */
} FirstMapJob;

static void
first_map_job_free (gpointer data)
{
  FirstMapJob *job = data;

  g_clear_pointer (&job->snapshot, nb_mgmt_snapshot_free);
  g_free (job->account_id);
  g_free (job->peer_id);
  g_clear_error (&job->error);
  g_free (job);
}

/* The worker thread: reads only the snapshot. */
static void
first_map_run (gpointer data,
               gpointer user_data)
{
  g_autoptr(GTask) task = data;
  FirstMapJob *job = g_task_get_task_data (task);
  NbMgmtNetworkMap *map;
  Scratch sc;

  if (job->error != NULL)
    {
      g_task_return_error (task, g_steal_pointer (&job->error));
      return;
    }
  nb_mgmt_scratch_init (&sc, job->snapshot);
  nb_mgmt_netmap_compute (job->snapshot, job->slot, &sc);
  map = nb_mgmt_netmap_materialize (job->snapshot, job->slot, &sc);
  nb_mgmt_scratch_clear (&sc);
  g_task_return_pointer (task, map, (GDestroyNotify) nb_mgmt_network_map_free);
}

static GThreadPool *
first_map_pool (void)
{
  static GThreadPool *pool;

  if (g_once_init_enter (&pool))
    g_once_init_leave (&pool, g_thread_pool_new (first_map_run, NULL, 1, FALSE, NULL));
  return pool;
}

static void first_map_start (NbMgmtStore *store,
                             GTask       *task);

/* The caller's callback has run: the next waiting request starts. */
static void
first_map_completed (GTask      *task,
                     GParamSpec *pspec,
                     gpointer    user_data)
{
  NbMgmtStore *store = g_task_get_source_object (task);
  GTask *next;

  g_signal_handlers_disconnect_by_func (task, first_map_completed, user_data);
  store->first_maps_started--;
  next = g_queue_pop_head (&store->first_maps_waiting);
  if (next != NULL)
    first_map_start (store, next);
}

/* Takes @task. On the caller's thread: the snapshot as it is now, then the
 * worker. A request that cannot start (cancelled, peer gone) goes through
 * the worker too, carrying its error: it completes in a later iteration of
 * the main loop, never inside the callback of the request before it. */
static void
first_map_start (NbMgmtStore *store,
                 GTask       *task)
{
  FirstMapJob *job = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  guint slot;

  store->first_maps_started++;
  g_signal_connect (task, "notify::completed", G_CALLBACK (first_map_completed), NULL);
  if (!g_cancellable_set_error_if_cancelled (cancellable, &job->error))
    {
      NbMgmtSnapshot *s = snapshot_and_slot (store, job->account_id, job->peer_id, &slot,
                                             &job->error);

      if (s != NULL)
        {
          job->snapshot = nb_mgmt_snapshot_ref (s);
          job->slot = slot;
        }
    }
  g_thread_pool_push (first_map_pool (), task, NULL);
}

/**
 * nb_mgmt_store_get_network_map_async:
 * @store: a store
 * @account_id: the account
 * @peer_id: the peer
 * @cancellable: (nullable): a #GCancellable
 * @callback: called on the caller's thread-default main context
 * @user_data: data for @callback
 *
 * See nb-mgmt-store.h.
 */
void
nb_mgmt_store_get_network_map_async (NbMgmtStore         *store,
                                     const char          *account_id,
                                     const char          *peer_id,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  GTask *task;
  FirstMapJob *job;

  g_return_if_fail (NB_IS_MGMT_STORE (store));

  task = g_task_new (store, cancellable, callback, user_data);
  g_task_set_source_tag (task, nb_mgmt_store_get_network_map_async);
  job = g_new0 (FirstMapJob, 1);
  job->account_id = g_strdup (account_id);
  job->peer_id = g_strdup (peer_id);
  g_task_set_task_data (task, job, first_map_job_free);
  if (store->first_maps_started < FIRST_MAP_IN_FLIGHT)
    first_map_start (store, task);
  else
    g_queue_push_tail (&store->first_maps_waiting, task);
}

/**
 * nb_mgmt_store_get_network_map_finish:
 * @store: a store
 * @result: the result given to the callback
 * @outdated: (out) (optional): set to whether the account changed since the
 *   map was computed
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the map, recorded as given, or %NULL
 */
NbMgmtNetworkMap *
nb_mgmt_store_get_network_map_finish (NbMgmtStore   *store,
                                      GAsyncResult  *result,
                                      gboolean      *outdated,
                                      GError       **error)
{
  FirstMapJob *job;
  NbMgmtNetworkMap *map;
  sqlite3_stmt *stmt;
  gboolean has_row = FALSE;
  gboolean stale = FALSE;

  g_return_val_if_fail (g_task_is_valid (result, store), NULL);

  if (outdated != NULL)
    *outdated = FALSE;
  map = g_task_propagate_pointer (G_TASK (result), error);
  if (map == NULL)
    return NULL;
  job = g_task_get_task_data (G_TASK (result));
  record_given (store, job->account_id, job->peer_id, map->hash);

  /* A change committed while the worker ran was collected without this
   * peer, which had no map yet: make it a candidate of the next one. */
  stmt = nb_mgmt_store_prepare (store, "SELECT serial FROM accounts WHERE id = ?1", NULL);
  if (stmt != NULL)
    {
      nb_mgmt_bind_text (stmt, 1, job->account_id);
      /* No row: the account was deleted meanwhile, which is a change too. */
      stale = !nb_mgmt_store_step_row (store, stmt, &has_row, NULL) || !has_row ||
              (guint64) sqlite3_column_int64 (stmt, 0) != map->serial;
      sqlite3_reset (stmt);
    }
  else
    stale = TRUE;
  if (stale)
    nb_mgmt_netmap_mark_dirty (store, job->account_id, NB_MGMT_CHANGE_PEER_UPDATED, job->peer_id);
  if (outdated != NULL)
    *outdated = stale;
  return map;
}

/**
 * nb_mgmt_store_get_all_network_maps:
 * @store: a store
 * @account_id: the account
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (element-type NbMgmtNetworkMap): every peer's
 *   map, by address, each recorded as given
 */
GPtrArray *
nb_mgmt_store_get_all_network_maps (NbMgmtStore *store,
                                    const char  *account_id,
                                    GError     **error)
{
  GPtrArray *maps;
  NbMgmtSnapshot *s;
  Scratch sc;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  s = nb_mgmt_snapshot_get (store, account_id, error);
  if (s == NULL)
    return NULL;
  maps = g_ptr_array_new_full (s->peers->len, (GDestroyNotify) nb_mgmt_network_map_free);
  nb_mgmt_scratch_init (&sc, s);
  for (guint i = 0; i < s->peers->len; i++)
    {
      NbMgmtNetworkMap *map;

      nb_mgmt_netmap_compute (s, i, &sc);
      map = nb_mgmt_netmap_materialize (s, i, &sc);
      record_given (store, account_id, map->peer_id, map->hash);
      g_ptr_array_add (maps, map);
    }
  nb_mgmt_scratch_clear (&sc);
  g_hash_table_remove (store->dirty, account_id);
  return maps;
}

guint64
nb_mgmt_store_compute_all_compact (NbMgmtStore *store,
                                   const char  *account_id,
                                   GError     **error)
{
  NbMgmtSnapshot *s = nb_mgmt_snapshot_get (store, account_id, error);
  guint64 total = 0;
  Scratch sc;

  if (s == NULL)
    return 0;
  nb_mgmt_scratch_init (&sc, s);
  for (guint i = 0; i < s->peers->len; i++)
    {
      nb_mgmt_netmap_compute (s, i, &sc);
      total += sc.remote->len + sc.fw->len + sc.routes->len;
    }
  nb_mgmt_scratch_clear (&sc);
  return total;
}

/* ---- Collecting the maps a change altered --------------------------------
 *
 * The one way the maps of connected peers are brought up to date. On the
 * caller's thread: the account's snapshot (loaded from SQLite when its
 * serial moved), the pending changes taken, and the candidates chosen with
 * what each was given. On a worker thread: each candidate's map computed
 * from the snapshot (immutable, referenced), and those whose hash changed
 * written into a borrowed MapView. The views go back to the caller's main
 * context through a queue of COLLECT_IN_FLIGHT slots: the worker waits for
 * a free slot, so memory stays bounded by a few maps however many a change
 * concerns, and the first maps are on their way while the others are
 * computed. The caller's thread takes maps for a slice of time (one map
 * at least), waiting for the worker's next one within it, then lets its
 * other sources run: a REST request waits for a slice, not for a whole
 * fan-out.
 *
 * A slice is at least COLLECT_SLICE_US, and four times what the main loop
 * took between the last two slices, up to COLLECT_SLICE_MAX_US: with
 * 10,000 sync channels one iteration of the loop (prepare, poll and check
 * every channel's sources) costs milliseconds of CPU, and slices of a
 * fixed 5 ms made a 500-map fan-out cost hundreds of iterations, six times
 * the CPU of computing it all in one go. Scaled to the loop's own cost,
 * the iterations stay a fifth of the fan-out at most, whatever the number
 * of channels. */

#define COLLECT_IN_FLIGHT 4
#define COLLECT_WAIT_US (50 * G_TIME_SPAN_MILLISECOND)
#define COLLECT_SLICE_US (5 * G_TIME_SPAN_MILLISECOND)
#define COLLECT_SLICE_MAX_US (100 * G_TIME_SPAN_MILLISECOND)
#define COLLECT_SLICE_PER_GAP 4

typedef struct {
  guint k;                      /* index into the job's candidates */
  guint64 hash;
  MapView view;
} CollectSlot;

typedef struct {
  gatomicrefcount ref;
  NbMgmtStore *store;           /* touched on the caller's thread only */
  NbMgmtSnapshot *snapshot;     /* nullable: nothing to compute */
  char *account_id;
  GArray *indexes;              /* guint32: the candidates' peer indexes */
  GArray *old_hashes;           /* guint64: what each was given at the start */
  NbMgmtMapUpdateFunc func;
  gpointer func_data;
  GCancellable *cancellable;    /* nullable */
  GMainContext *context;
  GAsyncQueue *free_slots;      /* CollectSlot */
  GAsyncQueue *ready;           /* CollectSlot */
  CollectSlot slots[COLLECT_IN_FLIGHT];
  CollectSlot end;              /* queued by the worker after its last map */
  gboolean worker_ended;        /* caller's thread: @end was taken */
  gint wake_pending;            /* atomic: a deliver_ready_cb() is attached */
  GTask *task;                  /* the caller's, once the worker returned */
  gboolean done;                /* caller's thread: the task was returned */
  gboolean failed;              /* the worker stopped early (cancelled) */
  gint64 slice_end;             /* caller's thread: when the last slice ended, or 0 */
  NbMgmtMapUpdateStats stats;
} CollectJob;

static CollectJob *
collect_job_ref (CollectJob *job)
{
  g_atomic_ref_count_inc (&job->ref);
  return job;
}

static void
collect_job_unref (gpointer data)
{
  CollectJob *job = data;

  if (!g_atomic_ref_count_dec (&job->ref))
    return;
  nb_mgmt_snapshot_free (job->snapshot);
  g_free (job->account_id);
  g_array_unref (job->indexes);
  g_array_unref (job->old_hashes);
  g_clear_object (&job->cancellable);
  g_main_context_unref (job->context);
  g_async_queue_unref (job->free_slots);
  g_async_queue_unref (job->ready);
  for (guint i = 0; i < COLLECT_IN_FLIGHT; i++)
    nb_mgmt_map_view_clear (&job->slots[i].view);
  g_object_unref (job->store);
  g_free (job);
}

static gboolean deliver_ready_cb (gpointer data);

/* Any thread: have the caller's main context run deliver_ready_cb(). An
 * attached source, not g_main_context_invoke(): that would run it on the
 * calling thread when no thread holds the context. */
static void
wake_caller (CollectJob *job)
{
  GSource *idle;

  if (!g_atomic_int_compare_and_exchange (&job->wake_pending, 0, 1))
    return;
  idle = g_idle_source_new ();
  g_source_set_priority (idle, G_PRIORITY_DEFAULT);
  g_source_set_callback (idle, deliver_ready_cb, collect_job_ref (job), collect_job_unref);
  g_source_set_static_name (idle, "[netbird] network maps ready");
  g_source_attach (idle, job->context);
  g_source_unref (idle);
}

/* Caller's thread: hands computed maps to the caller's function for one
 * slice of time, each if the peer still has what it had at the start (one
 * given a newer map meanwhile, by nb_mgmt_store_get_network_map(), has it
 * already), and frees their slots for the worker. Returns whether none is
 * left. */
static gboolean
deliver_ready (CollectJob *job)
{
  gint64 now = g_get_monotonic_time ();
  gint64 slice = COLLECT_SLICE_US;
  gint64 deadline;
  CollectSlot *slot;
  gint64 left;

  if (job->slice_end != 0)
    slice = CLAMP ((now - job->slice_end) * COLLECT_SLICE_PER_GAP, COLLECT_SLICE_US,
                   COLLECT_SLICE_MAX_US);
  deadline = now + slice;

  for (;;)
    {
      GHashTable *given;
      const SnapPeer *p;
      guint64 *cur;

      slot = g_async_queue_try_pop (job->ready);
      /* While the worker computes, wait for its next map for what is left
       * of the slice: one main loop iteration (a poll of every descriptor,
       * thousands with every sync channel open) then takes many maps, not
       * one each. */
      while (slot == NULL && !job->worker_ended && (left = deadline - g_get_monotonic_time ()) > 0)
        slot = g_async_queue_timeout_pop (job->ready, left);
      if (slot == &job->end)
        {
          job->worker_ended = TRUE;
          continue;
        }
      if (slot == NULL)
        {
          job->slice_end = g_get_monotonic_time ();
          return g_async_queue_length (job->ready) == 0;
        }

      given = g_hash_table_lookup (job->store->given_hashes, job->account_id);
      p = job->snapshot->peers->pdata[g_array_index (job->indexes, guint32, slot->k)];
      cur = given != NULL ? g_hash_table_lookup (given, p->id) : NULL;
      if (!job->done && !g_cancellable_is_cancelled (job->cancellable) && cur != NULL &&
          *cur == g_array_index (job->old_hashes, guint64, slot->k))
        {
          *cur = slot->hash;
          job->stats.changed++;
          /* @func may change the store: it no longer matters to us. */
          job->func (&slot->view.map, job->func_data);
        }
      /* The slot used last is the next the worker takes: its buffers are
       * the right size already. */
      g_async_queue_push_front (job->free_slots, slot);
      if ((now = g_get_monotonic_time ()) >= deadline)
        {
          job->slice_end = now;
          return g_async_queue_length (job->ready) == 0;
        }
    }
}

/* Caller's thread, once the worker returned and every map was handed over:
 * the caller's callback. */
static void
collect_finish (CollectJob *job)
{
  g_autoptr(GTask) task = g_steal_pointer (&job->task);

  job->done = TRUE;
  if (job->failed || g_cancellable_is_cancelled (job->cancellable))
    {
      /* The pending changes were taken: nothing may be missed. */
      nb_mgmt_netmap_mark_dirty (job->store, job->account_id, NB_MGMT_CHANGE_ACCOUNT, NULL);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               "Collecting the network maps of account %s was cancelled", job->account_id);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static gboolean
deliver_ready_cb (gpointer data)
{
  CollectJob *job = data;

  /* Cleared first: a map queued from now on schedules another call. */
  g_atomic_int_set (&job->wake_pending, 0);
  if (!deliver_ready (job))
    {
      wake_caller (job);
      return G_SOURCE_REMOVE;
    }
  if (job->task != NULL && !job->done)
    collect_finish (job);
  return G_SOURCE_REMOVE;
}

/* Worker thread: reads only the snapshot and the job's own arrays. */
static void
collect_thread (GTask        *task,
                gpointer      source,
                gpointer      data,
                GCancellable *cancellable)
{
  CollectJob *job = data;
  gint64 start = g_get_monotonic_time ();
  Scratch sc;

  nb_mgmt_scratch_init (&sc, job->snapshot);
  for (guint k = 0; k < job->indexes->len && !job->failed; k++)
    {
      guint32 x = g_array_index (job->indexes, guint32, k);
      CollectSlot *slot = NULL;

      if (g_cancellable_is_cancelled (cancellable))
        {
          job->failed = TRUE;
          break;
        }
      nb_mgmt_netmap_compute (job->snapshot, x, &sc);
      job->stats.computed++;
      if (sc.hash == g_array_index (job->old_hashes, guint64, k))
        continue;
      /* Wait for the main loop to take what it was given; a cancelled job
       * whose main loop stopped turning still ends. */
      while (slot == NULL && !job->failed)
        {
          slot = g_async_queue_timeout_pop (job->free_slots, COLLECT_WAIT_US);
          if (slot == NULL && g_cancellable_is_cancelled (cancellable))
            job->failed = TRUE;
        }
      if (slot == NULL)
        break;
      slot->k = k;
      slot->hash = sc.hash;
      nb_mgmt_netmap_view (job->snapshot, x, &sc, &slot->view);
      g_async_queue_push (job->ready, slot);
      wake_caller (job);
    }
  nb_mgmt_scratch_clear (&sc);
  job->stats.compute_us = g_get_monotonic_time () - start;
  g_async_queue_push (job->ready, &job->end);
  wake_caller (job);
  g_task_return_boolean (task, TRUE);
}

/* Caller's thread, once the worker returned: the last maps go as the
 * others did, then the caller's callback. */
static void
collect_worker_done (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  GTask *task = user_data;
  CollectJob *job = g_task_get_task_data (task);

  job->task = task;
  wake_caller (job);
}

/**
 * nb_mgmt_store_collect_network_map_updates_async:
 * @store: a store
 * @account_id: the account
 * @func: called on the caller's main context with each changed map,
 *   borrowed (valid during the call only)
 * @func_data: data for @func, until @callback
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when every changed map was handed to @func
 * @user_data: data for @callback
 *
 * See nb-mgmt-store.h.
 */
void
nb_mgmt_store_collect_network_map_updates_async (NbMgmtStore         *store,
                                                 const char          *account_id,
                                                 NbMgmtMapUpdateFunc  func,
                                                 gpointer             func_data,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GTask) worker = NULL;
  g_autoptr(GHashTable) candidates = NULL;
  GError *error = NULL;
  GHashTable *given;
  NbMgmtSnapshot *s;
  CollectJob *job;
  Dirty *d;
  gint64 start = g_get_monotonic_time ();

  g_return_if_fail (NB_IS_MGMT_STORE (store));
  g_return_if_fail (account_id != NULL);
  g_return_if_fail (func != NULL);

  task = g_task_new (store, cancellable, callback, user_data);
  g_task_set_source_tag (task, nb_mgmt_store_collect_network_map_updates_async);

  job = g_new0 (CollectJob, 1);
  g_atomic_ref_count_init (&job->ref);
  job->store = g_object_ref (store);
  job->account_id = g_strdup (account_id);
  job->indexes = g_array_new (FALSE, FALSE, sizeof (guint32));
  job->old_hashes = g_array_new (FALSE, FALSE, sizeof (guint64));
  job->func = func;
  job->func_data = func_data;
  job->cancellable = cancellable != NULL ? g_object_ref (cancellable) : NULL;
  job->context = g_main_context_ref_thread_default ();
  job->free_slots = g_async_queue_new ();
  job->ready = g_async_queue_new ();
  for (guint i = 0; i < COLLECT_IN_FLIGHT; i++)
    {
      nb_mgmt_map_view_init (&job->slots[i].view);
      g_async_queue_push (job->free_slots, &job->slots[i]);
    }
  g_task_set_task_data (task, job, collect_job_unref);

  d = g_hash_table_lookup (store->dirty, account_id);
  given = g_hash_table_lookup (store->given_hashes, account_id);
  if (d == NULL || given == NULL || g_hash_table_size (given) == 0)
    {
      /* Nothing changed, or nobody was given a map: nothing to compute. */
      g_hash_table_remove (store->dirty, account_id);
      job->done = TRUE;
      if (!nb_mgmt_store_account_exists (store, account_id, &error))
        g_task_return_error (task, error);
      else
        g_task_return_boolean (task, TRUE);
      return;
    }
  s = nb_mgmt_snapshot_get (store, account_id, &error);
  job->stats.snapshot_us = g_get_monotonic_time () - start;
  if (s == NULL)
    {
      job->done = TRUE;
      g_task_return_error (task, error);
      return;
    }
  job->snapshot = nb_mgmt_snapshot_ref (s);
  candidates = dirty_candidates (d, s);
  for (guint i = 0; i < s->peers->len; i++)
    {
      const SnapPeer *p = s->peers->pdata[i];
      guint64 *old = g_hash_table_lookup (given, p->id);

      if (old == NULL || (candidates != NULL && !g_hash_table_contains (candidates, p->id)))
        continue;
      g_array_append_val (job->indexes, i);
      g_array_append_val (job->old_hashes, *old);
    }
  forget_deleted (given, s);
  /* candidates points into the snapshots' strings: drop it before them. */
  g_clear_pointer (&candidates, g_hash_table_unref);
  g_hash_table_remove (store->dirty, account_id);

  worker = g_task_new (NULL, cancellable, collect_worker_done, g_object_ref (task));
  g_task_set_source_tag (worker, collect_thread);
  g_task_set_task_data (worker, collect_job_ref (job), collect_job_unref);
  g_task_run_in_thread (worker, collect_thread);
}

/**
 * nb_mgmt_store_collect_network_map_updates_finish:
 * @store: a store
 * @result: the result given to the callback
 * @stats: (out caller-allocates) (optional): what the collection did
 * @error: return location for a #GError
 *
 * Returns: %TRUE when every changed map was handed over; %FALSE on error
 *   (then every peer of the account is a candidate at the next collection)
 */
gboolean
nb_mgmt_store_collect_network_map_updates_finish (NbMgmtStore           *store,
                                                  GAsyncResult          *result,
                                                  NbMgmtMapUpdateStats  *stats,
                                                  GError               **error)
{
  CollectJob *job;

  g_return_val_if_fail (g_task_is_valid (result, store), FALSE);

  job = g_task_get_task_data (G_TASK (result));
  if (stats != NULL)
    *stats = job->stats;
  return g_task_propagate_boolean (G_TASK (result), error);
}

gboolean
nb_mgmt_store_load_snapshot (NbMgmtStore *store,
                             const char  *account_id,
                             GError     **error)
{
  return nb_mgmt_snapshot_get (store, account_id, error) != NULL;
}

/**
 * nb_mgmt_store_forget_network_map:
 * @store: a store
 * @account_id: the account
 * @peer_id: (nullable): the peer; %NULL for every peer of the account
 *
 * Forgets which map the peer was given: it will not be in updates until it
 * gets one again.
 */
void
nb_mgmt_store_forget_network_map (NbMgmtStore *store,
                                  const char  *account_id,
                                  const char  *peer_id)
{
  GHashTable *given;

  g_return_if_fail (NB_IS_MGMT_STORE (store));

  given = g_hash_table_lookup (store->given_hashes, account_id);
  if (given == NULL)
    return;
  if (peer_id == NULL)
    g_hash_table_remove (store->given_hashes, account_id);
  else
    g_hash_table_remove (given, peer_id);
}

/**
 * nb_mgmt_store_list_accessible_peers:
 * @store: a store
 * @account_id: the account
 * @peer_id: the peer
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (element-type NbMgmtPeer): the peers in its map
 */
GPtrArray *
nb_mgmt_store_list_accessible_peers (NbMgmtStore *store,
                                     const char  *account_id,
                                     const char  *peer_id,
                                     GError     **error)
{
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(GHashTable) wanted = g_hash_table_new (g_str_hash, g_str_equal);
  GPtrArray *out;
  NbMgmtSnapshot *s;
  Scratch sc;
  guint slot;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  s = snapshot_and_slot (store, account_id, peer_id, &slot, error);
  if (s == NULL)
    return NULL;
  nb_mgmt_scratch_init (&sc, s);
  nb_mgmt_netmap_compute (s, slot, &sc);
  for (guint i = 0; i < sc.remote->len; i++)
    g_hash_table_add (wanted, ((SnapPeer *) s->peers->pdata[g_array_index (sc.remote, guint32, i)])->id);
  nb_mgmt_scratch_clear (&sc);

  all = nb_mgmt_store_list_peers (store, account_id, NULL, error);
  if (all == NULL)
    return NULL;
  out = g_ptr_array_new_with_free_func ((GDestroyNotify) nb_mgmt_peer_free);
  for (guint i = 0; i < all->len; i++)
    {
      NbMgmtPeer *p = all->pdata[i];
      if (g_hash_table_contains (wanted, p->id))
        g_ptr_array_add (out, g_steal_pointer (&all->pdata[i]));
    }
  return out;
}
