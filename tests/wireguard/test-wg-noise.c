/* test-wg-noise.c: the Noise_IKpsk2 handshake and its primitives
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <string.h>

#include <sodium.h>

#include "nb-wg-noise.h"

/* A handshake's owner, as a peer would be: hands out the index the test
 * chose and keeps the last session. Its hooks check that they are called
 * in the order the handshake lock makes (the index passed back is always
 * the one registered). */
typedef struct {
  guint32 next_index;      /* what index_insert hands out */
  guint32 registered;      /* the handshake's index now, 0 none */
  NbWgSessionKeys keys;    /* the last session begun */
  guint n_sessions;
} Owner;

static guint32
owner_index_insert (NbWgHandshake *handshake, guint32 old_index)
{
  Owner *o = handshake->owner;

  g_assert_cmpuint (old_index, ==, o->registered);
  o->registered = o->next_index;
  return o->registered;
}

static void
owner_index_remove (NbWgHandshake *handshake, guint32 index)
{
  Owner *o = handshake->owner;

  g_assert_cmpuint (index, ==, o->registered);
  o->registered = 0;
}

static void
owner_add_session (NbWgHandshake *handshake, const NbWgSessionKeys *keys, gint64 now)
{
  Owner *o = handshake->owner;

  /* The keypair takes the handshake's index over. */
  g_assert_cmpuint (keys->local_index, ==, o->registered);
  o->registered = 0;
  o->keys = *keys;
  o->n_sessions++;
}

static const NbWgHandshakeOps owner_ops = {
  .index_insert = owner_index_insert,
  .index_remove = owner_index_remove,
  .add_session = owner_add_session,
};

typedef struct {
  NbWgStaticIdentity initiator_id;
  NbWgStaticIdentity responder_id;
  NbWgHandshake initiator; /* the initiator's view of the responder */
  NbWgHandshake responder; /* the responder's view of the initiator */
  Owner initiator_owner;
  Owner responder_owner;
} Fixture;

static NbWgHandshake *
lookup_static (const guint8 *remote_static, gpointer user_data)
{
  Fixture *f = user_data;

  if (memcmp (remote_static, f->responder.remote_static, 32) == 0)
    return &f->responder;
  return NULL;
}

static NbWgHandshake *
lookup_index (guint32 index, gpointer user_data)
{
  Fixture *f = user_data;

  return index == f->initiator.local_index ? &f->initiator : NULL;
}

static void
fixture_setup (Fixture *f)
{
  guint8 priv[32];

  g_assert_cmpint (sodium_init (), >=, 0);
  randombytes_buf (priv, 32);
  g_assert_true (nb_wg_static_identity_set (&f->initiator_id, priv));
  randombytes_buf (priv, 32);
  g_assert_true (nb_wg_static_identity_set (&f->responder_id, priv));
  f->initiator_owner.next_index = 1;
  f->responder_owner.next_index = 1;
  nb_wg_handshake_init (&f->initiator, f->responder_id.static_public, &f->initiator_id,
                        &owner_ops, &f->initiator_owner);
  nb_wg_handshake_init (&f->responder, f->initiator_id.static_public, &f->responder_id,
                        &owner_ops, &f->responder_owner);
}

static void
fixture_teardown (Fixture *f)
{
  nb_wg_handshake_destroy (&f->initiator);
  nb_wg_handshake_destroy (&f->responder);
  /* Destroying drops what was still registered. */
  g_assert_cmpuint (f->initiator_owner.registered, ==, 0);
  g_assert_cmpuint (f->responder_owner.registered, ==, 0);
}

/* Runs a handshake; FALSE at the first step that fails. */
static gboolean
run_handshake (Fixture *f, NbWgSessionKeys *keys_i, NbWgSessionKeys *keys_r)
{
  NbWgMessageInitiation init;
  NbWgMessageResponse resp;
  guint8 ts[NB_WG_TIMESTAMP_LEN];

  nb_wg_tai64n_now (ts);
  f->initiator_owner.next_index = 0x11223344;
  if (!nb_wg_noise_create_initiation (&f->initiator, &f->initiator_id, ts, &init))
    return FALSE;
  g_assert_cmpuint (init.header.type, ==, 1);
  g_assert_cmpuint (GUINT32_FROM_LE (init.sender_index), ==, 0x11223344);
  /* Back-to-back handshakes here are not the replays and floods that other
   * tests check. */
  memset (f->responder.latest_timestamp, 0, sizeof f->responder.latest_timestamp);
  f->responder.last_initiation_consumption = 0;
  f->responder_owner.next_index = 0x55667788;
  if (nb_wg_noise_consume_initiation (&f->responder_id, &init, g_get_monotonic_time (),
                                      lookup_static, f, &resp) != &f->responder)
    return FALSE;
  g_assert_cmpuint (resp.header.type, ==, 2);
  g_assert_cmpuint (GUINT32_FROM_LE (resp.receiver_index), ==, 0x11223344);
  g_assert_cmpuint (GUINT32_FROM_LE (resp.sender_index), ==, 0x55667788);
  /* The responder's session began in the same step, under the response's
   * index. */
  *keys_r = f->responder_owner.keys;
  g_assert_cmpuint (keys_r->local_index, ==, 0x55667788);
  if (nb_wg_noise_consume_response (&f->initiator_id, &resp, g_get_monotonic_time (),
                                    lookup_index, f) != &f->initiator)
    return FALSE;
  *keys_i = f->initiator_owner.keys;
  return TRUE;
}

static void
assert_matching_keys (const NbWgSessionKeys *i, const NbWgSessionKeys *r)
{
  guint8 plain[100], sealed[116], opened[100];

  g_assert_true (i->is_initiator);
  g_assert_false (r->is_initiator);
  g_assert_cmpmem (i->send_key, 32, r->receive_key, 32);
  g_assert_cmpmem (i->receive_key, 32, r->send_key, 32);
  g_assert_true (memcmp (i->send_key, i->receive_key, 32) != 0);
  g_assert_cmpuint (i->local_index, ==, r->remote_index);
  g_assert_cmpuint (i->remote_index, ==, r->local_index);

  randombytes_buf (plain, sizeof plain);
  nb_wg_aead_encrypt (sealed, plain, sizeof plain, 7, i->send_key);
  g_assert_true (nb_wg_aead_decrypt (opened, sealed, sizeof sealed, 7, r->receive_key));
  g_assert_cmpmem (opened, sizeof opened, plain, sizeof plain);
  g_assert_false (nb_wg_aead_decrypt (opened, sealed, sizeof sealed, 8, r->receive_key));
}

static void
test_handshake (void)
{
  Fixture f = { 0 };
  NbWgSessionKeys ki, kr;

  fixture_setup (&f);
  g_assert_true (run_handshake (&f, &ki, &kr));
  assert_matching_keys (&ki, &kr);
  /* Both handshakes are zeroed after the session began. */
  g_assert_cmpint (f.initiator.state, ==, NB_WG_HANDSHAKE_ZEROED);
  g_assert_cmpint (f.responder.state, ==, NB_WG_HANDSHAKE_ZEROED);
  g_assert_true (sodium_is_zero (f.initiator.chaining_key, 32));
  fixture_teardown (&f);
}

static void
test_handshake_psk (void)
{
  Fixture f = { 0 };
  NbWgSessionKeys ki, kr, ki_plain, kr_plain;

  fixture_setup (&f);
  g_assert_true (run_handshake (&f, &ki_plain, &kr_plain));
  memset (f.initiator.preshared_key, 0xa5, 32);
  memset (f.responder.preshared_key, 0xa5, 32);
  g_assert_true (run_handshake (&f, &ki, &kr));
  assert_matching_keys (&ki, &kr);
  g_assert_true (memcmp (ki.send_key, ki_plain.send_key, 32) != 0);
  fixture_teardown (&f);
}

static void
test_psk_mismatch (void)
{
  Fixture f = { 0 };
  NbWgSessionKeys ki, kr;

  fixture_setup (&f);
  memset (f.initiator.preshared_key, 1, 32);
  memset (f.responder.preshared_key, 2, 32);
  g_assert_false (run_handshake (&f, &ki, &kr));
  g_assert_cmpint (f.initiator.state, ==, NB_WG_HANDSHAKE_CREATED_INITIATION);
  fixture_teardown (&f);
}

static void
test_unknown_peer (void)
{
  Fixture f = { 0 };
  NbWgMessageInitiation init;
  NbWgMessageResponse resp;
  guint8 ts[12];

  fixture_setup (&f);
  /* The responder knows some other key, not the initiator's. */
  randombytes_buf (f.responder.remote_static, 32);
  nb_wg_tai64n_now (ts);
  g_assert_true (nb_wg_noise_create_initiation (&f.initiator, &f.initiator_id, ts, &init));
  g_assert_null (
      nb_wg_noise_consume_initiation (&f.responder_id, &init, 1, lookup_static, &f, &resp));
  fixture_teardown (&f);
}

static void
test_wrong_responder_key (void)
{
  Fixture f = { 0 };
  NbWgStaticIdentity other;
  NbWgMessageInitiation init;
  NbWgMessageResponse resp;
  guint8 priv[32], ts[12];

  fixture_setup (&f);
  randombytes_buf (priv, 32);
  nb_wg_static_identity_set (&other, priv);
  nb_wg_tai64n_now (ts);
  g_assert_true (nb_wg_noise_create_initiation (&f.initiator, &f.initiator_id, ts, &init));
  g_assert_null (nb_wg_noise_consume_initiation (&other, &init, 1, lookup_static, &f, &resp));
  fixture_teardown (&f);
}

static void
test_tampered_initiation (void)
{
  Fixture f = { 0 };
  NbWgMessageInitiation init;
  NbWgMessageResponse resp;
  guint8 ts[12];

  fixture_setup (&f);
  nb_wg_tai64n_now (ts);
  g_assert_true (nb_wg_noise_create_initiation (&f.initiator, &f.initiator_id, ts, &init));
  init.encrypted_timestamp[3] ^= 1;
  g_assert_null (
      nb_wg_noise_consume_initiation (&f.responder_id, &init, 1, lookup_static, &f, &resp));
  fixture_teardown (&f);
}

/* §5.1: an initiation whose timestamp is not newer is a replay. */
static void
test_initiation_replay_refused (void)
{
  Fixture f = { 0 };
  NbWgMessageInitiation init;
  NbWgMessageResponse resp;
  guint8 ts[12];
  gint64 now = 1000 * G_USEC_PER_SEC;

  fixture_setup (&f);
  nb_wg_tai64n_now (ts);
  g_assert_true (nb_wg_noise_create_initiation (&f.initiator, &f.initiator_id, ts, &init));
  g_assert_true (nb_wg_noise_consume_initiation (&f.responder_id, &init, now, lookup_static, &f,
                                                 &resp) == &f.responder);
  /* The same message a minute later: not a flood, still a replay. */
  g_assert_null (nb_wg_noise_consume_initiation (&f.responder_id, &init,
                                                 now + 60 * G_USEC_PER_SEC, lookup_static, &f,
                                                 &resp));
  /* An older timestamp too. */
  ts[7] -= 1;
  g_assert_true (nb_wg_noise_create_initiation (&f.initiator, &f.initiator_id, ts, &init));
  g_assert_null (nb_wg_noise_consume_initiation (&f.responder_id, &init,
                                                 now + 120 * G_USEC_PER_SEC, lookup_static, &f,
                                                 &resp));
  fixture_teardown (&f);
}

/* §5.1: initiations closer than 1/50 s are dropped even when fresh. */
static void
test_initiation_flood_refused (void)
{
  Fixture f = { 0 };
  NbWgMessageInitiation init;
  NbWgMessageResponse resp;
  guint8 ts[12];
  gint64 now = 1000 * G_USEC_PER_SEC;

  fixture_setup (&f);
  nb_wg_tai64n_now (ts);
  g_assert_true (nb_wg_noise_create_initiation (&f.initiator, &f.initiator_id, ts, &init));
  g_assert_nonnull (
      nb_wg_noise_consume_initiation (&f.responder_id, &init, now, lookup_static, &f, &resp));
  ts[11] += 1;
  g_assert_true (nb_wg_noise_create_initiation (&f.initiator, &f.initiator_id, ts, &init));
  g_assert_null (nb_wg_noise_consume_initiation (&f.responder_id, &init, now + 1000,
                                                 lookup_static, &f, &resp));
  g_assert_nonnull (nb_wg_noise_consume_initiation (&f.responder_id, &init,
                                                    now + G_USEC_PER_SEC / 50, lookup_static, &f,
                                                    &resp));
  fixture_teardown (&f);
}

static void
test_response_to_unknown_index (void)
{
  Fixture f = { 0 };
  NbWgMessageInitiation init;
  NbWgMessageResponse resp;
  guint8 ts[12];

  fixture_setup (&f);
  nb_wg_tai64n_now (ts);
  f.initiator_owner.next_index = 9;
  g_assert_true (nb_wg_noise_create_initiation (&f.initiator, &f.initiator_id, ts, &init));
  f.responder_owner.next_index = 10;
  /* Consumed, and answered in the same step. */
  g_assert_nonnull (
      nb_wg_noise_consume_initiation (&f.responder_id, &init, 1, lookup_static, &f, &resp));
  g_assert_cmpuint (GUINT32_FROM_LE (resp.sender_index), ==, 10);
  resp.receiver_index = GUINT32_TO_LE (12345);
  g_assert_null (nb_wg_noise_consume_response (&f.initiator_id, &resp, 1, lookup_index, &f));
  /* The initiation still waits for its answer under its index. */
  g_assert_cmpint (f.initiator.state, ==, NB_WG_HANDSHAKE_CREATED_INITIATION);
  g_assert_cmpuint (f.initiator_owner.registered, ==, 9);
  fixture_teardown (&f);
}

/* The index follows the state under the handshake lock: a new initiation
 * replaces the index of the last one (whose response is then refused), a
 * keypair takes the index over, clearing drops it. */
static void
test_index_follows_state (void)
{
  Fixture f = { 0 };
  NbWgMessageInitiation first, second;
  NbWgMessageResponse resp;
  guint8 ts[12];

  fixture_setup (&f);
  nb_wg_tai64n_now (ts);
  f.initiator_owner.next_index = 5;
  g_assert_true (nb_wg_noise_create_initiation (&f.initiator, &f.initiator_id, ts, &first));
  g_assert_cmpuint (f.initiator_owner.registered, ==, 5);
  f.initiator_owner.next_index = 6;
  ts[11]++;
  g_assert_true (nb_wg_noise_create_initiation (&f.initiator, &f.initiator_id, ts, &second));
  /* The owner was asked to replace 5 (checked by its hook), not to add. */
  g_assert_cmpuint (f.initiator_owner.registered, ==, 6);
  g_assert_cmpuint (f.initiator.local_index, ==, 6);

  /* The answer to the first initiation finds nothing: it was replaced. */
  g_assert_nonnull (nb_wg_noise_consume_initiation (&f.responder_id, &first, 1, lookup_static, &f,
                                                    &resp));
  g_assert_null (nb_wg_noise_consume_response (&f.initiator_id, &resp, 1, lookup_index, &f));
  g_assert_cmpuint (f.initiator_owner.n_sessions, ==, 0);

  /* The answer to the second begins the session under 6. */
  g_assert_nonnull (nb_wg_noise_consume_initiation (&f.responder_id, &second,
                                                    1 + G_USEC_PER_SEC, lookup_static, &f,
                                                    &resp));
  g_assert_true (nb_wg_noise_consume_response (&f.initiator_id, &resp, 1, lookup_index, &f) ==
                 &f.initiator);
  g_assert_cmpuint (f.initiator_owner.n_sessions, ==, 1);
  g_assert_cmpuint (f.initiator_owner.keys.local_index, ==, 6);
  g_assert_cmpuint (f.initiator_owner.registered, ==, 0);
  g_assert_cmpuint (f.initiator.local_index, ==, 0);
  g_assert_cmpuint (f.responder_owner.n_sessions, ==, 2);

  /* Clearing drops an index under way. */
  f.initiator_owner.next_index = 7;
  g_assert_true (nb_wg_noise_create_initiation (&f.initiator, &f.initiator_id, ts, &first));
  nb_wg_handshake_clear (&f.initiator);
  g_assert_cmpuint (f.initiator_owner.registered, ==, 0);
  g_assert_cmpint (f.initiator.state, ==, NB_WG_HANDSHAKE_ZEROED);
  fixture_teardown (&f);
}

/* -- many threads on one handshake ---------------------------------------- */

/* The device's side of one peer, shared by every thread: its hooks record
 * each session under its index and check that the index they are handed
 * is the one registered, which holds only if each step is one hold of the
 * handshake lock. */
typedef struct {
  GMutex lock;            /* the record, not the handshake */
  guint32 registered;
  GHashTable *sessions;   /* local index -> NbWgSessionKeys */
  guint misordered;       /* hooks called with an index not registered */
} Recorder;

typedef struct {
  NbWgStaticIdentity device_id;
  NbWgStaticIdentity remote_id;
  NbWgHandshake shared;   /* the device's view of the remote peer */
  Recorder recorder;
  guint32 next_index;     /* atomic: indices are never reused */
  guint64 next_stamp;     /* atomic: TAI64N of the remote's initiations */
  gint64 clock;           /* atomic, µs */
  guint rounds;
  gint64 deadline;        /* monotonic µs: rounds go on until a step lost */
  gboolean go;            /* atomic: all threads start at once */
  gboolean stop;          /* atomic */
  /* Outcomes, atomic */
  guint responded;        /* responses the device made */
  guint completed;        /* sessions the device began as initiator */
  guint refused;          /* steps a concurrent step made fail */
  guint clears;
} Stress;

static guint32
stress_index_insert (NbWgHandshake *handshake, guint32 old_index)
{
  Stress *st = handshake->owner;
  Recorder *r = &st->recorder;
  guint32 index = __atomic_add_fetch (&st->next_index, 1, __ATOMIC_SEQ_CST);

  g_mutex_lock (&r->lock);
  if (old_index != r->registered)
    r->misordered++;
  r->registered = index;
  g_mutex_unlock (&r->lock);
  return index;
}

static void
stress_index_remove (NbWgHandshake *handshake, guint32 index)
{
  Recorder *r = &((Stress *) handshake->owner)->recorder;

  g_mutex_lock (&r->lock);
  if (index != r->registered)
    r->misordered++;
  r->registered = 0;
  g_mutex_unlock (&r->lock);
}

static void
stress_add_session (NbWgHandshake *handshake, const NbWgSessionKeys *keys, gint64 now)
{
  Recorder *r = &((Stress *) handshake->owner)->recorder;

  g_mutex_lock (&r->lock);
  if (keys->local_index != r->registered ||
      g_hash_table_contains (r->sessions, GUINT_TO_POINTER (keys->local_index)))
    r->misordered++;
  r->registered = 0;
  g_hash_table_insert (r->sessions, GUINT_TO_POINTER (keys->local_index),
                       g_memdup2 (keys, sizeof *keys));
  g_mutex_unlock (&r->lock);
}

static const NbWgHandshakeOps stress_ops = {
  .index_insert = stress_index_insert,
  .index_remove = stress_index_remove,
  .add_session = stress_add_session,
};

static NbWgHandshake *
stress_by_static (const guint8 *remote_static, gpointer user_data)
{
  Stress *st = user_data;

  return memcmp (remote_static, st->shared.remote_static, 32) == 0 ? &st->shared : NULL;
}

static NbWgHandshake *
stress_by_index (guint32 index, gpointer user_data)
{
  return &((Stress *) user_data)->shared;
}

/* A thread's own remote handshake (the remote peer is one key, but each
 * thread talks as a separate run of it). */
typedef struct {
  Stress *st;
  NbWgHandshake remote;
  Owner owner;
} Worker;

static NbWgHandshake *
worker_remote (const guint8 *key, gpointer user_data)
{
  return &((Worker *) user_data)->remote;
}

static NbWgHandshake *
worker_remote_by_index (guint32 index, gpointer user_data)
{
  return &((Worker *) user_data)->remote;
}

/* The device's session at @index mirrors the remote's @keys. */
static void
assert_recorded (Stress *st, guint32 index, const NbWgSessionKeys *remote)
{
  NbWgSessionKeys *mine;

  g_mutex_lock (&st->recorder.lock);
  mine = g_hash_table_lookup (st->recorder.sessions, GUINT_TO_POINTER (index));
  g_assert_nonnull (mine);
  g_assert_cmpmem (mine->send_key, 32, remote->receive_key, 32);
  g_assert_cmpmem (mine->receive_key, 32, remote->send_key, 32);
  g_assert_cmpuint (mine->remote_index, ==, remote->local_index);
  g_assert_cmpuint (mine->is_initiator, !=, remote->is_initiator);
  g_mutex_unlock (&st->recorder.lock);
}

static void
stamp (Stress *st, guint8 ts[12])
{
  guint64 n = __atomic_add_fetch (&st->next_stamp, 1, __ATOMIC_SEQ_CST);

  memset (ts, 0, 12);
  ts[0] = 0x40;
  for (int i = 0; i < 8; i++)
    ts[4 + i] = (guint8) (n >> (56 - 8 * i));
}

/* TRUE while a worker's rounds should go on: at least st->rounds, and
 * more (to a deadline) until some step lost to another thread and, for
 * @done, its own kind of step succeeded, however the scheduler ran them. */
static gboolean
more_rounds (Stress *st, guint i, guint *done)
{
  while (!__atomic_load_n (&st->go, __ATOMIC_SEQ_CST))
    g_thread_yield ();
  if (i < st->rounds)
    return TRUE;
  return (__atomic_load_n (&st->refused, __ATOMIC_SEQ_CST) == 0 ||
          __atomic_load_n (done, __ATOMIC_SEQ_CST) == 0) &&
         g_get_monotonic_time () < st->deadline;
}

/* The remote initiates; the device consumes, responds and begins the
 * session in one step; the remote's keys must be the device's. */
static gpointer
stress_responder (gpointer data)
{
  Worker *w = data;
  Stress *st = w->st;

  for (guint i = 0; more_rounds (st, i, &st->responded); i++)
    {
      NbWgMessageInitiation init;
      NbWgMessageResponse resp;
      guint8 ts[12];
      gint64 now = __atomic_add_fetch (&st->clock, G_USEC_PER_SEC, __ATOMIC_SEQ_CST);

      stamp (st, ts);
      w->owner.next_index = 1 + i;
      g_assert_true (nb_wg_noise_create_initiation (&w->remote, &st->remote_id, ts, &init));
      if (nb_wg_noise_consume_initiation (&st->device_id, &init, now, stress_by_static, st,
                                          &resp) == NULL)
        {
          /* Another thread's newer initiation or clock got in first. */
          __atomic_add_fetch (&st->refused, 1, __ATOMIC_SEQ_CST);
          continue;
        }
      g_assert_true (nb_wg_noise_consume_response (&st->remote_id, &resp, now,
                                                   worker_remote_by_index, w) == &w->remote);
      /* Whatever ran in between, the response that left is the session
       * the device keeps under its index. */
      assert_recorded (st, GUINT32_FROM_LE (resp.sender_index), &w->owner.keys);
      __atomic_add_fetch (&st->responded, 1, __ATOMIC_SEQ_CST);
    }
  return NULL;
}

/* The device initiates; the remote answers; the device consumes the
 * response and begins the session in one step. */
static gpointer
stress_initiator (gpointer data)
{
  Worker *w = data;
  Stress *st = w->st;

  for (guint i = 0; more_rounds (st, i, &st->completed); i++)
    {
      NbWgMessageInitiation init;
      NbWgMessageResponse resp;
      guint8 ts[12];

      nb_wg_tai64n_now (ts);
      if (!nb_wg_noise_create_initiation (&st->shared, &st->device_id, ts, &init))
        g_assert_not_reached ();
      memset (w->remote.latest_timestamp, 0, 12);
      w->remote.last_initiation_consumption = 0;
      w->owner.next_index = 1 + i;
      g_assert_true (nb_wg_noise_consume_initiation (&st->remote_id, &init, 1, worker_remote, w,
                                                     &resp) == &w->remote);
      if (nb_wg_noise_consume_response (&st->device_id, &resp, 1, stress_by_index, st) == NULL)
        {
          /* A responder step or a clear replaced the initiation. */
          __atomic_add_fetch (&st->refused, 1, __ATOMIC_SEQ_CST);
          continue;
        }
      assert_recorded (st, GUINT32_FROM_LE (init.sender_index), &w->owner.keys);
      __atomic_add_fetch (&st->completed, 1, __ATOMIC_SEQ_CST);
    }
  return NULL;
}

/* As the timers do when keys expire: drop the handshake under way. */
static gpointer
stress_clearer (gpointer data)
{
  Stress *st = data;

  while (!__atomic_load_n (&st->stop, __ATOMIC_SEQ_CST))
    {
      nb_wg_handshake_clear (&st->shared);
      __atomic_add_fetch (&st->clears, 1, __ATOMIC_SEQ_CST);
      g_usleep (2000);
    }
  return NULL;
}

/* Two threads answer initiations for one peer while a third initiates to
 * it and begins sessions from the responses, and a fourth clears the
 * handshake: every response that left matches the session kept under its
 * index, every session the initiator began matches the remote's, and the
 * hooks always saw the index that was registered. Under the sanitizer
 * build this also checks that nothing reads freed or torn state. */
static void
test_concurrent_steps (void)
{
  Stress st = { 0 };
  Worker workers[3] = { 0 };
  GThread *threads[3], *clearer;
  guint8 priv[32];

  g_assert_cmpint (sodium_init (), >=, 0);
  randombytes_buf (priv, 32);
  g_assert_true (nb_wg_static_identity_set (&st.device_id, priv));
  randombytes_buf (priv, 32);
  g_assert_true (nb_wg_static_identity_set (&st.remote_id, priv));
  g_mutex_init (&st.recorder.lock);
  st.recorder.sessions = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  st.rounds = g_test_slow () ? 2000 : 150;
  st.clock = G_USEC_PER_SEC;
  nb_wg_handshake_init (&st.shared, st.remote_id.static_public, &st.device_id, &stress_ops, &st);
  for (guint i = 0; i < 3; i++)
    {
      workers[i].st = &st;
      nb_wg_handshake_init (&workers[i].remote, st.device_id.static_public, &st.remote_id,
                            &owner_ops, &workers[i].owner);
    }

  clearer = g_thread_new ("clear", stress_clearer, &st);
  threads[0] = g_thread_new ("respond-1", stress_responder, &workers[0]);
  threads[1] = g_thread_new ("respond-2", stress_responder, &workers[1]);
  threads[2] = g_thread_new ("initiate", stress_initiator, &workers[2]);
  st.deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  __atomic_store_n (&st.go, TRUE, __ATOMIC_SEQ_CST);
  for (guint i = 0; i < 3; i++)
    g_thread_join (threads[i]);
  __atomic_store_n (&st.stop, TRUE, __ATOMIC_SEQ_CST);
  g_thread_join (clearer);

  g_test_message ("responded=%u completed=%u refused=%u clears=%u sessions=%u", st.responded,
                  st.completed, st.refused, st.clears,
                  g_hash_table_size (st.recorder.sessions));
  g_assert_cmpuint (st.recorder.misordered, ==, 0);
  /* Every session the device kept came from a step that reported it, and
   * each step that reported one left exactly one. */
  g_assert_cmpuint (g_hash_table_size (st.recorder.sessions), ==, st.responded + st.completed);
  g_assert_cmpuint (st.recorder.registered, ==, st.shared.local_index);
  /* The threads did meet: both kinds of step succeeded many times, and
   * some steps lost to another one. */
  g_assert_cmpuint (st.responded, >=, st.rounds / 2);
  g_assert_cmpuint (st.completed, >=, 1);
  g_assert_cmpuint (st.refused, >=, 1);

  for (guint i = 0; i < 3; i++)
    nb_wg_handshake_destroy (&workers[i].remote);
  nb_wg_handshake_destroy (&st.shared);
  g_assert_cmpuint (st.recorder.registered, ==, 0);
  g_hash_table_unref (st.recorder.sessions);
  g_mutex_clear (&st.recorder.lock);
}

/* Known answers: RFC 7693 Appendix A (BLAKE2s-256 of "abc"), and the
 * chaining key and hash every WireGuard handshake starts from,
 * HASH(CONSTRUCTION) and HASH(that || IDENTIFIER) (§5.4.2), as other
 * implementations publish them. */
static void
test_known_answers (void)
{
  static const guint8 abc[32] = {
    0x50, 0x8C, 0x5E, 0x8C, 0x32, 0x7C, 0x14, 0xE2, 0xE1, 0xA7, 0x2B, 0xA3, 0x4E, 0xEB, 0x45, 0x2F,
    0x37, 0x45, 0x8B, 0x20, 0x9E, 0xD6, 0x3A, 0x29, 0x4D, 0x99, 0x9B, 0x4C, 0x86, 0x67, 0x59, 0x82,
  };
  static const guint8 chaining_key[32] = {
    0x60, 0xe2, 0x6d, 0xae, 0xf3, 0x27, 0xef, 0xc0, 0x2e, 0xc3, 0x35, 0xe2, 0xa0, 0x25, 0xd2, 0xd0,
    0x16, 0xeb, 0x42, 0x06, 0xf8, 0x72, 0x77, 0xf5, 0x2d, 0x38, 0xd1, 0x98, 0x8b, 0x78, 0xcd, 0x36,
  };
  static const guint8 hash[32] = {
    34, 17, 179, 97, 8, 26, 197, 102, 105, 18, 67, 219, 69, 138, 213, 50,
    45, 156, 108, 102, 34, 147, 232, 183, 14, 225, 156, 101, 186, 7, 158, 243,
  };
  guint8 out[32], h[32];

  nb_wg_hash (out, (const guint8 *) "abc", 3, NULL, 0);
  g_assert_cmpmem (out, 32, abc, 32);
  nb_wg_hash (out, (const guint8 *) NB_WG_CONSTRUCTION, strlen (NB_WG_CONSTRUCTION), NULL, 0);
  g_assert_cmpmem (out, 32, chaining_key, 32);
  nb_wg_hash (h, out, 32, (const guint8 *) NB_WG_IDENTIFIER, strlen (NB_WG_IDENTIFIER));
  g_assert_cmpmem (h, 32, hash, 32);
}

/* HKDF outputs chain: KDF3's first two outputs are KDF2's (§5.4 KDF_n). */
static void
test_kdf_prefix (void)
{
  guint8 key[32], a1[32], a2[32], b1[32], b2[32], b3[32];

  memset (key, 7, sizeof key);
  nb_wg_kdf (a1, a2, NULL, key, (const guint8 *) "x", 1);
  nb_wg_kdf (b1, b2, b3, key, (const guint8 *) "x", 1);
  g_assert_cmpmem (a1, 32, b1, 32);
  g_assert_cmpmem (a2, 32, b2, 32);
  g_assert_true (memcmp (b2, b3, 32) != 0);
}

static void
test_tai64n_monotonic (void)
{
  guint8 a[12], b[12];

  nb_wg_tai64n_now (a);
  g_usleep (40000);
  nb_wg_tai64n_now (b);
  /* Big-endian, so bytewise order is time order; 2^62 offset (TAI64). */
  g_assert_cmpint (memcmp (a, b, 12), <, 0);
  g_assert_cmpuint (a[0], ==, 0x40);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/wg/noise/handshake", test_handshake);
  g_test_add_func ("/wg/noise/handshake-psk", test_handshake_psk);
  g_test_add_func ("/wg/noise/psk-mismatch", test_psk_mismatch);
  g_test_add_func ("/wg/noise/unknown-peer", test_unknown_peer);
  g_test_add_func ("/wg/noise/wrong-responder-key", test_wrong_responder_key);
  g_test_add_func ("/wg/noise/tampered-initiation", test_tampered_initiation);
  g_test_add_func ("/wg/noise/initiation-replay-refused", test_initiation_replay_refused);
  g_test_add_func ("/wg/noise/initiation-flood-refused", test_initiation_flood_refused);
  g_test_add_func ("/wg/noise/response-unknown-index", test_response_to_unknown_index);
  g_test_add_func ("/wg/noise/index-follows-state", test_index_follows_state);
  g_test_add_func ("/wg/noise/concurrent-steps", test_concurrent_steps);
  g_test_add_func ("/wg/noise/known-answers", test_known_answers);
  g_test_add_func ("/wg/noise/kdf-prefix", test_kdf_prefix);
  g_test_add_func ("/wg/noise/tai64n", test_tai64n_monotonic);
  return g_test_run ();
}
