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
