/* test-mgmt-peers.c: peer registration with setup keys, login, addresses,
 * DNS labels, ephemeral peers
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <string.h>

#include "mgmt-test-util.h"

static NbMgmtSetupKey *
make_key (StoreFixture      *f,
          NbMgmtSetupKeyType type,
          gint64             usage_limit,
          gint64             expires_in,
          gboolean           ephemeral,
          char             **groups,
          char             **out_plain)
{
  g_autoptr(GError) error = NULL;
  NbMgmtSetupKey tmpl = {
    .name = (char *) "test key", .type = type, .usage_limit = usage_limit,
    .expires_at = expires_in > 0 ? nb_mgmt_store_now (f->store) + expires_in : 0,
    .ephemeral = ephemeral, .auto_groups = groups,
  };
  NbMgmtSetupKey *key = nb_mgmt_store_create_setup_key (f->store, f->account->id, f->owner->id, &tmpl,
                                                        NULL, out_plain, &error);
  g_assert_no_error (error);
  return key;
}

static void
assert_register_fails (StoreFixture *f,
                       const char   *setup_key,
                       int           code,
                       const char   *message_part)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *pub = new_peer_key ();
  g_autoptr(NbMgmtPeer) peer = nb_mgmt_store_register_peer (f->store, setup_key, pub, NULL, &error);

  g_assert_null (peer);
  g_assert_error (error, NB_MGMT_ERROR, code);
  if (message_part != NULL)
    g_assert_nonnull (strstr (error->message, message_part));
}

static void
test_register_valid (StoreFixture *f,
                     gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtGroup) g = NULL;
  g_auto(GStrv) groups = NULL;
  g_autofree char *plain = NULL;
  g_autoptr(NbMgmtSetupKey) key = NULL;
  g_autoptr(NbMgmtSetupKey) after = NULL;
  g_autoptr(NbMgmtPeer) peer = NULL;
  g_autoptr(GPtrArray) events = NULL;
  NbMgmtGroup gt = { .name = (char *) "laptops" };
  guint32 net, ip;
  guint prefix;

  g = nb_mgmt_store_create_group (f->store, f->account->id, f->owner->id, &gt, &error);
  g_assert_no_error (error);
  groups = strv_of (g->id, NULL);
  key = make_key (f, NB_MGMT_SETUP_KEY_REUSABLE, 0, 3600, FALSE, groups, &plain);

  peer = add_peer_with (f->store, plain, "Laptop.example.com");
  g_assert_cmpstr (peer->account_id, ==, f->account->id);
  g_assert_cmpstr (peer->name, ==, "Laptop.example.com");
  g_assert_cmpstr (peer->dns_label, ==, "laptop");
  g_assert_cmpstr (peer->setup_key_id, ==, key->id);
  g_assert_null (peer->user_id);
  g_assert_false (peer->ephemeral);
  g_assert_cmpstr (peer->meta.goos, ==, "linux");
  g_assert_true (nb_mgmt_cidr_parse (f->account->network_cidr, &net, &prefix));
  g_assert_true (nb_mgmt_ip_parse (peer->ip, &ip));
  g_assert_cmpuint (ip & 0xffff0000u, ==, net);
  /* "All" and the key's auto-group. */
  g_assert_cmpuint (g_strv_length (peer->groups), ==, 2);
  g_assert_true (g_strv_contains ((const char * const *) peer->groups, g->id));

  after = nb_mgmt_store_get_setup_key (f->store, f->account->id, key->id, &error);
  g_assert_cmpint (after->used_times, ==, 1);
  g_assert_cmpint (after->last_used, >, 0);

  events = nb_mgmt_store_list_events (f->store, f->account->id, NULL, NULL, &error);
  g_assert_cmpstr (((NbMgmtEvent *) events->pdata[0])->activity_code, ==, "setupkey.peer.add");
  g_assert_cmpstr (((NbMgmtEvent *) events->pdata[0])->target_id, ==, peer->id);
}

static void
test_register_expired (StoreFixture *f,
                       gconstpointer data)
{
  g_autofree char *plain = NULL;
  g_autoptr(NbMgmtSetupKey) key = make_key (f, NB_MGMT_SETUP_KEY_REUSABLE, 0, 3600, FALSE, NULL, &plain);

  nb_mgmt_store_set_time_override (f->store, nb_mgmt_store_now (f->store) + 7200);
  assert_register_fails (f, plain, NB_MGMT_ERROR_PRECONDITION_FAILED, "expired");
}

static void
test_register_revoked (StoreFixture *f,
                       gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *plain = NULL;
  g_autoptr(NbMgmtSetupKey) key = make_key (f, NB_MGMT_SETUP_KEY_REUSABLE, 0, 0, FALSE, NULL, &plain);
  g_autoptr(NbMgmtSetupKey) revoked = NULL;

  key->revoked = TRUE;
  revoked = nb_mgmt_store_update_setup_key (f->store, f->account->id, f->owner->id, key, &error);
  g_assert_no_error (error);
  assert_register_fails (f, plain, NB_MGMT_ERROR_PRECONDITION_FAILED, "revoked");
}

static void
test_register_exhausted (StoreFixture *f,
                         gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *plain = NULL;
  g_autoptr(NbMgmtSetupKey) key = make_key (f, NB_MGMT_SETUP_KEY_REUSABLE, 2, 0, FALSE, NULL, &plain);
  g_autoptr(NbMgmtPeer) a = add_peer_with (f->store, plain, "a");
  g_autoptr(NbMgmtPeer) b = add_peer_with (f->store, plain, "b");
  g_autoptr(NbMgmtSetupKey) after = NULL;

  assert_register_fails (f, plain, NB_MGMT_ERROR_PRECONDITION_FAILED, "usage limit");
  after = nb_mgmt_store_get_setup_key (f->store, f->account->id, key->id, &error);
  g_assert_cmpint (after->used_times, ==, 2);
  g_assert_cmpint (nb_mgmt_setup_key_get_state (after, nb_mgmt_store_now (f->store)), ==,
                   NB_MGMT_SETUP_KEY_STATE_OVERUSED);
}

static void
test_register_one_off_reused (StoreFixture *f,
                              gconstpointer data)
{
  g_autofree char *plain = NULL;
  g_autoptr(NbMgmtSetupKey) key = make_key (f, NB_MGMT_SETUP_KEY_ONE_OFF, 0, 0, FALSE, NULL, &plain);
  g_autoptr(NbMgmtPeer) a = add_peer_with (f->store, plain, "first");

  assert_register_fails (f, plain, NB_MGMT_ERROR_PRECONDITION_FAILED, "already used");
}

static void
test_register_bad_input (StoreFixture *f,
                         gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtPeer) peer = add_peer (f, "dup");
  g_autoptr(NbMgmtPeer) again = NULL;
  g_autoptr(GPtrArray) peers = NULL;

  assert_register_fails (f, "not-a-key", NB_MGMT_ERROR_UNAUTHENTICATED, NULL);
  assert_register_fails (f, NULL, NB_MGMT_ERROR_UNAUTHENTICATED, NULL);
  g_assert_null (nb_mgmt_store_register_peer (f->store, f->setup_key, "not base64!", NULL, &error));
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  /* The same WireGuard key twice. */
  again = nb_mgmt_store_register_peer (f->store, f->setup_key, peer->key, NULL, &error);
  g_assert_null (again);
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_ALREADY_EXISTS);
  g_clear_error (&error);
  peers = nb_mgmt_store_list_peers (f->store, f->account->id, NULL, &error);
  g_assert_cmpuint (peers->len, ==, 1);
}

static void
test_register_ephemeral (StoreFixture *f,
                         gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *plain = NULL;
  g_autoptr(NbMgmtSetupKey) key = make_key (f, NB_MGMT_SETUP_KEY_REUSABLE, 0, 0, TRUE, NULL, &plain);
  g_autoptr(NbMgmtPeer) eph = add_peer_with (f->store, plain, "container");
  g_autoptr(NbMgmtPeer) eph_live = add_peer_with (f->store, plain, "container");
  g_autoptr(NbMgmtPeer) normal = add_peer (f, "server");
  g_autoptr(GPtrArray) left = NULL;
  guint deleted = 99;

  g_assert_true (eph->ephemeral);
  g_assert_false (normal->ephemeral);
  g_assert_true (nb_mgmt_store_set_peer_connected (f->store, eph_live->key, TRUE, &error));

  /* Not idle long enough yet. */
  g_assert_true (nb_mgmt_store_delete_idle_ephemeral_peers (f->store, 600, &deleted, &error));
  g_assert_cmpuint (deleted, ==, 0);

  nb_mgmt_store_set_time_override (f->store, nb_mgmt_store_now (f->store) + 601);
  g_assert_true (nb_mgmt_store_delete_idle_ephemeral_peers (f->store, 600, &deleted, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (deleted, ==, 1);
  left = nb_mgmt_store_list_peers (f->store, f->account->id, NULL, &error);
  g_assert_cmpuint (left->len, ==, 2);
  for (guint i = 0; i < left->len; i++)
    g_assert_cmpstr (((NbMgmtPeer *) left->pdata[i])->id, !=, eph->id);
}

static void
test_relogin_keeps_address_and_label (StoreFixture *f,
                                      gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtPeer) peer = add_peer (f, "box");
  g_autoptr(NbMgmtPeer) other = add_peer (f, "box");
  g_autoptr(NbMgmtPeer) again = NULL;
  g_autoptr(NbMgmtPeer) reopened = NULL;
  NbMgmtPeerMeta meta = { .hostname = (char *) "box", .os_version = (char *) "13" };
  gboolean registered = TRUE;

  g_assert_cmpstr (other->dns_label, ==, "box-1");
  /* Logging in again with a setup key does not register twice. */
  again = nb_mgmt_store_login (f->store, peer->key, f->setup_key, &meta, &registered, &error);
  g_assert_no_error (error);
  g_assert_false (registered);
  g_assert_cmpstr (again->id, ==, peer->id);
  g_assert_cmpstr (again->ip, ==, peer->ip);
  g_assert_cmpstr (again->dns_label, ==, "box");
  g_assert_cmpstr (again->meta.os_version, ==, "13");
  {
    /* The same system again: no event; a new version: one. */
    NbMgmtEventFilter filter = { .activity_code = "peer.meta.update" };
    g_autoptr(GPtrArray) e1 = nb_mgmt_store_list_events (f->store, f->account->id, &filter, NULL, &error);
    g_autoptr(NbMgmtPeer) same = nb_mgmt_store_login_peer (f->store, peer->key, &meta, &error);
    g_autoptr(GPtrArray) e2 = nb_mgmt_store_list_events (f->store, f->account->id, &filter, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (e1->len, ==, 1);
    g_assert_cmpuint (e2->len, ==, 1);
    g_assert_cmpint (same->last_login, >=, again->last_login);
  }

  g_clear_object (&f->store);
  f->store = nb_mgmt_store_open (f->path, &error);
  g_assert_no_error (error);
  reopened = nb_mgmt_store_login (f->store, peer->key, NULL, NULL, &registered, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (reopened->ip, ==, peer->ip);
  g_assert_cmpstr (reopened->dns_label, ==, "box");
  g_assert_cmpstr (reopened->meta.os_version, ==, "13");
}

static void
test_login_unknown_without_key (StoreFixture *f,
                                gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *pub = new_peer_key ();
  gboolean registered = TRUE;
  g_autoptr(NbMgmtPeer) peer = nb_mgmt_store_login (f->store, pub, NULL, NULL, &registered, &error);
  g_autoptr(NbMgmtPeer) now = NULL;

  g_assert_null (peer);
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "setup key"));
  g_clear_error (&error);
  now = nb_mgmt_store_login (f->store, pub, f->setup_key, NULL, &registered, &error);
  g_assert_no_error (error);
  g_assert_true (registered);
}

static void
test_addresses_unique_and_stable (StoreFixture *f,
                                  gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) by_key = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GHashTable) ips = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) peers = NULL;

  for (guint i = 0; i < 60; i++)
    {
      g_autoptr(NbMgmtPeer) p = add_peer (f, "node");
      g_assert_false (g_hash_table_contains (ips, p->ip));
      g_hash_table_insert (by_key, g_strdup (p->key), g_strdup (p->ip));
      g_hash_table_add (ips, g_hash_table_lookup (by_key, p->key));
    }
  g_clear_object (&f->store);
  f->store = nb_mgmt_store_open (f->path, &error);
  g_assert_no_error (error);
  peers = nb_mgmt_store_list_peers (f->store, f->account->id, NULL, &error);
  g_assert_cmpuint (peers->len, ==, 60);
  for (guint i = 0; i < peers->len; i++)
    {
      NbMgmtPeer *p = peers->pdata[i];
      g_assert_cmpstr (p->ip, ==, g_hash_table_lookup (by_key, p->key));
    }
}

static void
test_addresses_reused_last (StoreFixture *f,
                            gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtPeer) a = add_peer (f, "a");
  g_autoptr(NbMgmtPeer) b = add_peer (f, "b");
  g_autoptr(NbMgmtPeer) c = NULL;
  guint32 ia, ib, ic;

  g_assert_true (nb_mgmt_store_delete_peer (f->store, f->account->id, f->owner->id, a->id, &error));
  g_assert_no_error (error);
  c = add_peer (f, "c");
  nb_mgmt_ip_parse (a->ip, &ia);
  nb_mgmt_ip_parse (b->ip, &ib);
  nb_mgmt_ip_parse (c->ip, &ic);
  /* The freed address waits: the new peer gets the next one. */
  g_assert_cmpuint (ib, ==, ia + 1);
  g_assert_cmpuint (ic, ==, ib + 1);
}

/* At the top of the range the next address wraps to the lowest free one. */
static void
test_addresses_wrap_to_free (StoreFixture *f,
                             gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtPeer) a = add_peer (f, "a");
  g_autoptr(NbMgmtPeer) b = add_peer (f, "b");
  g_autoptr(NbMgmtPeer) last = NULL;
  g_autoptr(NbMgmtPeer) wrapped = NULL;
  guint32 net, ia, ilast, iw;
  guint prefix;

  g_assert_true (nb_mgmt_store_delete_peer (f->store, f->account->id, NULL, a->id, &error));
  /* Pretend the range was used up to its last host. */
  g_assert_true (nb_mgmt_store_exec (f->store, "UPDATE accounts SET next_ip = 65534", &error));
  last = add_peer (f, "last");
  wrapped = add_peer (f, "wrapped");
  g_assert_true (nb_mgmt_cidr_parse (f->account->network_cidr, &net, &prefix));
  nb_mgmt_ip_parse (a->ip, &ia);
  nb_mgmt_ip_parse (last->ip, &ilast);
  nb_mgmt_ip_parse (wrapped->ip, &iw);
  g_assert_cmpuint (ilast, ==, net + 65534);
  /* a's freed address, the lowest free one. */
  g_assert_cmpuint (iw, ==, ia);
  g_assert_cmpstr (b->ip, !=, wrapped->ip);
}

static void
test_labels (StoreFixture *f,
             gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtPeer) h0 = add_peer (f, "host");
  g_autoptr(NbMgmtPeer) h1 = add_peer (f, "HOST");
  g_autoptr(NbMgmtPeer) h2 = add_peer (f, "host.lan");
  g_autoptr(NbMgmtPeer) weird = add_peer (f, "My Laptop_2 (work)!");
  g_autoptr(NbMgmtPeer) empty = add_peer (f, "");
  g_autoptr(NbMgmtPeer) renamed = NULL;
  g_autoptr(NbMgmtPeer) h3 = NULL;

  g_assert_cmpstr (h0->dns_label, ==, "host");
  g_assert_cmpstr (h1->dns_label, ==, "host-1");
  g_assert_cmpstr (h2->dns_label, ==, "host-2");
  g_assert_cmpstr (weird->dns_label, ==, "my-laptop-2-work");
  g_assert_cmpstr (empty->dns_label, ==, "peer");

  /* Renaming frees the old label and takes a unique new one. */
  g_free (h0->name);
  h0->name = g_strdup ("web");
  renamed = nb_mgmt_store_update_peer (f->store, f->account->id, f->owner->id, h0, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (renamed->name, ==, "web");
  g_assert_cmpstr (renamed->dns_label, ==, "web");
  g_assert_cmpstr (renamed->ip, ==, h0->ip);
  h3 = add_peer (f, "host");
  g_assert_cmpstr (h3->dns_label, ==, "host");
}

static void
test_labels_many_same_host (StoreFixture *f,
                            gconstpointer data)
{
  g_autoptr(GHashTable) labels = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *long_name = g_strnfill (80, 'x');

  for (guint i = 0; i < 200; i++)
    {
      g_autoptr(NbMgmtPeer) p = add_peer (f, "localhost");
      g_autofree char *want = i == 0 ? g_strdup ("localhost") : g_strdup_printf ("localhost-%u", i);
      g_assert_cmpstr (p->dns_label, ==, want);
    }
  /* Long host names are cut to 63 characters, suffix included. */
  for (guint i = 0; i < 12; i++)
    {
      g_autoptr(NbMgmtPeer) p = add_peer (f, long_name);
      g_assert_cmpuint (strlen (p->dns_label), <=, 63);
      g_assert_false (g_hash_table_contains (labels, p->dns_label));
      g_hash_table_add (labels, g_strdup (p->dns_label));
    }
}

static void
test_user_peer_login_expiry (StoreFixture *f,
                             gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *pub = new_peer_key ();
  g_autoptr(NbMgmtPeer) peer = NULL;
  g_autoptr(NbMgmtPeer) again = NULL;
  NbMgmtPeerMeta meta = { .hostname = (char *) "workstation" };

  peer = nb_mgmt_store_register_peer_for_user (f->store, f->account->id, f->owner->id, pub, &meta, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (peer->user_id, ==, f->owner->id);
  g_assert_true (peer->login_expiration_enabled);
  g_assert_false (nb_mgmt_peer_login_expired (peer, &f->account->settings, nb_mgmt_store_now (f->store)));

  nb_mgmt_store_set_time_override (f->store, nb_mgmt_store_now (f->store) + 2 * 86400);
  g_assert_true (nb_mgmt_peer_login_expired (peer, &f->account->settings, nb_mgmt_store_now (f->store)));
  again = nb_mgmt_store_login_peer (f->store, pub, NULL, &error);
  g_assert_null (again);
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PRECONDITION_FAILED);
  g_assert_nonnull (strstr (error->message, "expired"));
}

/* The expiry job takes an expired user peer out of every map; its user
 * logging it in again brings it back with the same address and label. */
static void
test_login_expiry_job (StoreFixture *f,
                       gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *pub = new_peer_key ();
  g_autoptr(NbMgmtPeer) other = add_peer (f, "server");
  g_autoptr(NbMgmtPeer) laptop = NULL;
  g_autoptr(NbMgmtPeer) marked = NULL;
  g_autoptr(NbMgmtPeer) renewed = NULL;
  g_autoptr(NbMgmtPeer) refused = NULL;
  g_autoptr(NbMgmtNetworkMap) map = NULL;
  g_autoptr(GPtrArray) updates = NULL;
  g_autoptr(GPtrArray) back = NULL;
  g_autoptr(GPtrArray) events = NULL;
  NbMgmtPeerMeta meta = { .hostname = (char *) "laptop" };
  guint expired = 99;

  laptop = nb_mgmt_store_register_peer_for_user (f->store, f->account->id, f->owner->id, pub, &meta, &error);
  g_assert_no_error (error);
  map = nb_mgmt_store_get_network_map (f->store, f->account->id, other->id, &error);
  g_assert_cmpuint (map->remote_peers->len, ==, 1);

  g_assert_true (nb_mgmt_store_expire_peer_logins (f->store, &expired, &error));
  g_assert_cmpuint (expired, ==, 0);
  nb_mgmt_store_set_time_override (f->store, nb_mgmt_store_now (f->store) + 86400 + 1);
  g_assert_true (nb_mgmt_store_expire_peer_logins (f->store, &expired, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (expired, ==, 1);
  /* Once only. */
  g_assert_true (nb_mgmt_store_expire_peer_logins (f->store, &expired, &error));
  g_assert_cmpuint (expired, ==, 0);

  marked = nb_mgmt_store_get_peer (f->store, f->account->id, laptop->id, &error);
  g_assert_true (marked->login_expired);
  events = nb_mgmt_store_list_events (f->store, f->account->id, NULL, NULL, &error);
  g_assert_cmpstr (((NbMgmtEvent *) events->pdata[0])->activity_code, ==, "peer.login.expire");
  updates = collect_map_updates (f->store, f->account->id, NULL);
  g_assert_cmpuint (updates->len, ==, 1);
  g_assert_cmpuint (((NbMgmtNetworkMap *) updates->pdata[0])->remote_peers->len, ==, 0);

  /* The peer alone cannot come back; its user can. */
  refused = nb_mgmt_store_login_peer (f->store, pub, NULL, &error);
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PRECONDITION_FAILED);
  g_clear_error (&error);
  renewed = nb_mgmt_store_register_peer_for_user (f->store, f->account->id, f->owner->id, pub, &meta, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (renewed->id, ==, laptop->id);
  g_assert_cmpstr (renewed->ip, ==, laptop->ip);
  g_assert_cmpstr (renewed->dns_label, ==, laptop->dns_label);
  g_assert_false (renewed->login_expired);
  back = collect_map_updates (f->store, f->account->id, NULL);
  g_assert_cmpuint (back->len, ==, 1);
  g_assert_cmpuint (((NbMgmtNetworkMap *) back->pdata[0])->remote_peers->len, ==, 1);
}

/* A user's peer logging in again reports its whole system, as a peer's
 * own login does: every field of the meta is updated, not only four. */
static void
test_user_relogin_updates_all_meta (StoreFixture *f,
                                    gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *pub = new_peer_key ();
  g_autoptr(NbMgmtPeer) first = NULL;
  g_autoptr(NbMgmtPeer) again = NULL;
  g_autoptr(NbMgmtPeer) stored = NULL;
  NbMgmtPeerMeta before = {
    .hostname = (char *) "laptop", .goos = (char *) "linux", .kernel = (char *) "Linux",
    .kernel_version = (char *) "6.1.0", .core = (char *) "12", .platform = (char *) "x86_64",
    .os = (char *) "Debian GNU/Linux", .os_version = (char *) "12",
    .netbird_version = (char *) "0.1.0", .ui_version = (char *) "0.1.0",
  };
  NbMgmtPeerMeta after = {
    .hostname = (char *) "laptop-2", .goos = (char *) "darwin", .kernel = (char *) "Darwin",
    .kernel_version = (char *) "23.4.0", .core = (char *) "14.4", .platform = (char *) "arm64",
    .os = (char *) "macOS", .os_version = (char *) "14.4",
    .netbird_version = (char *) "0.2.0", .ui_version = (char *) "0.2.1",
  };

  first = nb_mgmt_store_register_peer_for_user (f->store, f->account->id, f->owner->id, pub, &before,
                                                &error);
  g_assert_no_error (error);
  again = nb_mgmt_store_register_peer_for_user (f->store, f->account->id, f->owner->id, pub, &after,
                                                &error);
  g_assert_no_error (error);
  g_assert_cmpstr (again->id, ==, first->id);

  stored = nb_mgmt_store_get_peer (f->store, f->account->id, first->id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (stored->meta.hostname, ==, "laptop-2");
  g_assert_cmpstr (stored->meta.goos, ==, "darwin");
  g_assert_cmpstr (stored->meta.kernel, ==, "Darwin");
  g_assert_cmpstr (stored->meta.kernel_version, ==, "23.4.0");
  g_assert_cmpstr (stored->meta.core, ==, "14.4");
  g_assert_cmpstr (stored->meta.platform, ==, "arm64");
  g_assert_cmpstr (stored->meta.os, ==, "macOS");
  g_assert_cmpstr (stored->meta.os_version, ==, "14.4");
  g_assert_cmpstr (stored->meta.netbird_version, ==, "0.2.0");
  g_assert_cmpstr (stored->meta.ui_version, ==, "0.2.1");
  /* The name and address a user gave the peer stay. */
  g_assert_cmpstr (stored->name, ==, first->name);
  g_assert_cmpstr (stored->ip, ==, first->ip);
}

static NbMgmtUser *
add_user (StoreFixture *f,
          const char   *email)
{
  g_autoptr(GError) error = NULL;
  NbMgmtUser tmpl = { .name = (char *) "Dev", .email = (char *) email, .role = NB_MGMT_ROLE_ADMIN };
  NbMgmtUser *user = nb_mgmt_store_create_user (f->store, f->account->id, f->owner->id, &tmpl, &error);

  g_assert_no_error (error);
  return user;
}

static void
set_blocked (StoreFixture *f,
             NbMgmtUser   *user,
             gboolean      blocked)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtUser) done = NULL;

  user->is_blocked = blocked;
  done = nb_mgmt_store_update_user (f->store, f->account->id, f->owner->id, user, &error);
  g_assert_no_error (error);
  g_assert_cmpint (done->is_blocked, ==, blocked);
}

/* A blocked user's peer must not log in because its user could not be
 * read: the database error is the answer, and the peer stays out. */
static void
test_login_fails_closed_when_user_unreadable (StoreFixture *f,
                                              gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *pub = new_peer_key ();
  g_autoptr(NbMgmtUser) dev = add_user (f, "dev@example.com");
  g_autoptr(NbMgmtPeer) peer = NULL;
  g_autoptr(NbMgmtPeer) refused = NULL;
  g_autoptr(NbMgmtPeer) blocked = NULL;
  g_autoptr(NbMgmtPeer) back = NULL;
  NbMgmtPeerMeta meta = { .hostname = (char *) "devbox" };
  gboolean registered = TRUE;

  peer = nb_mgmt_store_register_peer_for_user (f->store, f->account->id, dev->id, pub, &meta, &error);
  g_assert_no_error (error);
  set_blocked (f, dev, TRUE);

  nb_mgmt_store_refuse_for_testing (f->store, "users", NULL);
  refused = nb_mgmt_store_login (f->store, pub, f->setup_key, &meta, &registered, &error);
  g_assert_null (refused);
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INTERNAL);
  g_assert_nonnull (strstr (error->message, "Cannot check the user"));
  g_assert_nonnull (strstr (error->message, "Database error"));
  g_assert_false (registered);
  g_clear_error (&error);

  /* With the database readable again, the block is what refuses it. */
  nb_mgmt_store_refuse_for_testing (f->store, NULL, NULL);
  blocked = nb_mgmt_store_login (f->store, pub, NULL, &meta, NULL, &error);
  g_assert_null (blocked);
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PRECONDITION_FAILED);
  g_assert_nonnull (strstr (error->message, "blocked"));
  g_clear_error (&error);

  set_blocked (f, dev, FALSE);
  back = nb_mgmt_store_login (f->store, pub, NULL, &meta, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (back->id, ==, peer->id);
}

/* A user's login looks its key up inside its transaction, and only "not
 * found" means a new peer: a database error there is reported as one, not
 * taken for an unknown key (whose insert then met the existing key). */
static void
test_user_login_lookup_error_is_not_unknown_key (StoreFixture *f,
                                                 gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *pub = new_peer_key ();
  g_autoptr(NbMgmtPeer) peer = NULL;
  g_autoptr(NbMgmtPeer) failed = NULL;
  g_autoptr(NbMgmtPeer) renewed = NULL;
  g_autoptr(GPtrArray) events_before = NULL;
  g_autoptr(GPtrArray) events_after = NULL;
  NbMgmtPeerMeta meta = { .hostname = (char *) "workstation" };
  NbMgmtPeerMeta newer = { .hostname = (char *) "workstation", .os_version = (char *) "13" };

  peer = nb_mgmt_store_register_peer_for_user (f->store, f->account->id, f->owner->id, pub, &meta, &error);
  g_assert_no_error (error);
  events_before = nb_mgmt_store_list_events (f->store, f->account->id, NULL, NULL, &error);
  g_assert_no_error (error);

  nb_mgmt_store_refuse_for_testing (f->store, "peers", "key");
  failed = nb_mgmt_store_register_peer_for_user (f->store, f->account->id, f->owner->id, pub, &newer,
                                                 &error);
  g_assert_null (failed);
  g_assert_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_INTERNAL);
  g_assert_nonnull (strstr (error->message, "Database error"));
  g_clear_error (&error);
  nb_mgmt_store_refuse_for_testing (f->store, NULL, NULL);

  /* Nothing was written: no event, the old meta. */
  events_after = nb_mgmt_store_list_events (f->store, f->account->id, NULL, NULL, &error);
  g_assert_cmpuint (events_after->len, ==, events_before->len);
  renewed = nb_mgmt_store_get_peer (f->store, f->account->id, peer->id, &error);
  g_assert_null (renewed->meta.os_version);
  g_clear_pointer (&renewed, nb_mgmt_peer_free);

  renewed = nb_mgmt_store_register_peer_for_user (f->store, f->account->id, f->owner->id, pub, &newer,
                                                  &error);
  g_assert_no_error (error);
  g_assert_cmpstr (renewed->id, ==, peer->id);
  g_assert_cmpstr (renewed->meta.os_version, ==, "13");
}

/* What a peer reports about itself is kept without the characters a name
 * may not hold (the client protocol refuses them; the store cleans what
 * reaches it another way). */
static void
test_meta_cleaned_of_unsafe_characters (StoreFixture *f,
                                        gconstpointer data)
{
  g_autoptr(NbMgmtPeer) peer = add_peer (f, "lap\xe2\x80\xaetop\n\xe2\x80\x8b");

  g_assert_cmpstr (peer->name, ==, "laptop");
  g_assert_cmpstr (peer->meta.hostname, ==, "laptop");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn) \
  g_test_add (path, StoreFixture, NULL, store_fixture_setup, fn, store_fixture_teardown)

  ADD ("/mgmt/peers/register-valid", test_register_valid);
  ADD ("/mgmt/peers/register-expired-key", test_register_expired);
  ADD ("/mgmt/peers/register-revoked-key", test_register_revoked);
  ADD ("/mgmt/peers/register-exhausted-key", test_register_exhausted);
  ADD ("/mgmt/peers/register-one-off-reused", test_register_one_off_reused);
  ADD ("/mgmt/peers/register-bad-input", test_register_bad_input);
  ADD ("/mgmt/peers/register-ephemeral", test_register_ephemeral);
  ADD ("/mgmt/peers/relogin-keeps-address-and-label", test_relogin_keeps_address_and_label);
  ADD ("/mgmt/peers/login-unknown-without-key", test_login_unknown_without_key);
  ADD ("/mgmt/peers/addresses-unique-and-stable", test_addresses_unique_and_stable);
  ADD ("/mgmt/peers/addresses-reused-last", test_addresses_reused_last);
  ADD ("/mgmt/peers/addresses-wrap-to-free", test_addresses_wrap_to_free);
  ADD ("/mgmt/peers/labels", test_labels);
  ADD ("/mgmt/peers/labels-many-same-host", test_labels_many_same_host);
  ADD ("/mgmt/peers/user-peer-login-expiry", test_user_peer_login_expiry);
  ADD ("/mgmt/peers/login-expiry-job", test_login_expiry_job);
  ADD ("/mgmt/peers/user-relogin-updates-all-meta", test_user_relogin_updates_all_meta);
  ADD ("/mgmt/peers/login-fails-closed-when-user-unreadable",
       test_login_fails_closed_when_user_unreadable);
  ADD ("/mgmt/peers/user-login-lookup-error-is-not-unknown-key",
       test_user_login_lookup_error_is_not_unknown_key);
  ADD ("/mgmt/peers/meta-cleaned-of-unsafe-characters", test_meta_cleaned_of_unsafe_characters);

  return g_test_run ();
}
