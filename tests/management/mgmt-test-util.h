/* mgmt-test-util.h: what the store tests share: a store in a temp dir,
 * peers with real WireGuard keys
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#include <glib/gstdio.h>

#include "nb-key.h"
#include "nb-mgmt-store.h"
#include "nb-mgmt-store-private.h"

typedef struct {
  char *dir;
  char *path;
  NbMgmtStore *store;
  NbMgmtAccount *account;
  NbMgmtUser *owner;
  char *setup_key;              /* a reusable key, plain */
} StoreFixture;

static inline void
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

static inline void
store_fixture_setup (StoreFixture *f,
                     gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtSetupKey) key = NULL;
  NbMgmtSetupKey tmpl = { .name = (char *) "default", .type = NB_MGMT_SETUP_KEY_REUSABLE };

  f->dir = g_dir_make_tmp ("nb-mgmt-test-XXXXXX", &error);
  g_assert_no_error (error);
  f->path = g_build_filename (f->dir, "store.db", NULL);
  f->store = nb_mgmt_store_open (f->path, &error);
  g_assert_no_error (error);
  f->account = nb_mgmt_store_create_account (f->store, "Owner", "owner@example.com", "example.com",
                                             &f->owner, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f->owner);
  key = nb_mgmt_store_create_setup_key (f->store, f->account->id, f->owner->id, &tmpl, NULL,
                                        &f->setup_key, &error);
  g_assert_no_error (error);
}

static inline void
store_fixture_teardown (StoreFixture *f,
                        gconstpointer data)
{
  g_clear_object (&f->store);
  g_clear_pointer (&f->account, nb_mgmt_account_free);
  g_clear_pointer (&f->owner, nb_mgmt_user_free);
  g_clear_pointer (&f->setup_key, g_free);
  rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->path);
}

/* A fresh public key, base64. */
static inline char *
new_peer_key (void)
{
  g_autoptr(NbKey) key = nb_key_generate ();
  return g_strdup (nb_key_get_public_base64 (key));
}

/* Registers a peer named @hostname with @setup_key; asserts success. */
static inline NbMgmtPeer *
add_peer_with (NbMgmtStore *store,
               const char  *setup_key,
               const char  *hostname)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *pub = new_peer_key ();
  NbMgmtPeerMeta meta = { .hostname = (char *) hostname, .goos = (char *) "linux" };
  NbMgmtPeer *peer = nb_mgmt_store_register_peer (store, setup_key, pub, &meta, &error);

  g_assert_no_error (error);
  g_assert_nonnull (peer);
  return peer;
}

static inline NbMgmtPeer *
add_peer (StoreFixture *f,
          const char   *hostname)
{
  return add_peer_with (f->store, f->setup_key, hostname);
}

static inline char **
strv_of (const char *first,
         ...)
{
  g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
  va_list args;

  va_start (args, first);
  for (const char *s = first; s != NULL; s = va_arg (args, const char *))
    g_strv_builder_add (b, s);
  va_end (args);
  return g_strv_builder_end (b);
}

/* ---- The store's collection of map updates, run to its end ---------------- */

typedef struct {
  NbMgmtStore *store;
  const char *account_id;
  GThread *thread;              /* the caller's: maps must arrive there */
  GPtrArray *maps;              /* NbMgmtNetworkMap, materialized copies */
  NbMgmtMapUpdateStats stats;
  GError *error;
  gboolean done;
  gboolean ok;
} CollectRun;

/* Each map handed over is borrowed: it must say exactly what the same map
 * computed again on this thread and materialized says (JSON and hash); the
 * copy is what the test keeps. */
static inline void
collect_run_on_map (const NbMgmtNetworkMap *map,
                    gpointer                data)
{
  CollectRun *run = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *borrowed = nb_mgmt_network_map_to_json (map, NULL);
  g_autofree char *fresh = NULL;
  NbMgmtNetworkMap *copy;

  g_assert_true (g_thread_self () == run->thread);
  copy = nb_mgmt_store_get_network_map (run->store, run->account_id, map->peer_id, &error);
  g_assert_no_error (error);
  fresh = nb_mgmt_network_map_to_json (copy, NULL);
  g_assert_cmpstr (borrowed, ==, fresh);
  g_assert_cmpuint (map->hash, ==, copy->hash);
  g_ptr_array_add (run->maps, copy);
}

static inline void
collect_run_done (GObject      *source,
                  GAsyncResult *result,
                  gpointer      data)
{
  CollectRun *run = data;

  g_assert_true (g_thread_self () == run->thread);
  run->ok = nb_mgmt_store_collect_network_map_updates_finish (NB_MGMT_STORE (source), result, &run->stats,
                                                              &run->error);
  run->done = TRUE;
}

/* Runs nb_mgmt_store_collect_network_map_updates_async() on the
 * thread-default main context until its callback ran; asserts success.
 * Returns the changed maps (element-type NbMgmtNetworkMap), in the order
 * handed over; @stats (nullable) gets what it did. */
static inline GPtrArray *
collect_map_updates (NbMgmtStore          *store,
                     const char           *account_id,
                     NbMgmtMapUpdateStats *stats)
{
  CollectRun run = { store, account_id, g_thread_self (), NULL, { 0 }, NULL, FALSE, FALSE };
  g_autoptr(GPtrArray) maps = g_ptr_array_new_with_free_func ((GDestroyNotify) nb_mgmt_network_map_free);

  run.maps = maps;
  nb_mgmt_store_collect_network_map_updates_async (store, account_id, collect_run_on_map, &run, NULL,
                                                   collect_run_done, &run);
  while (!run.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_no_error (run.error);
  g_assert_true (run.ok);
  g_assert_cmpuint (run.stats.changed, ==, maps->len);
  g_assert_cmpuint (run.stats.computed, >=, run.stats.changed);
  if (stats != NULL)
    *stats = run.stats;
  return g_steal_pointer (&maps);
}
