/* bench-wireguard.c: in-process figures of the WireGuard core
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * Prints key=value lines:
 *   handshakes_per_second   full Noise_IKpsk2 handshakes (both sides) on one core
 *   encrypt_pps, decrypt_pps, seal_open_gbps  ChaCha20-Poly1305 transport
 *     data at the packet size (default 1420 B) on one core, in place, as the
 *     packet path does it
 *   replay_checks_per_second, allowedips_lookups_per_second
 *
 * Usage: bench-wireguard [--seconds=S] [--size=BYTES]
 */
#include <string.h>

#include <sodium.h>

#include "nb-wg-allowedips.h"
#include "nb-wg-crypt-pool.h"
#include "nb-wg-noise.h"
#include "nb-wg-replay.h"

static double seconds = 2.0;
static int size = 1420;

/* What a peer would be to its handshake: one index, and the keys of the
 * last session. */
typedef struct {
  guint32 index;
  NbWgSessionKeys keys;
} Owner;

typedef struct {
  NbWgStaticIdentity id_i, id_r;
  NbWgHandshake hs_i, hs_r;
  Owner owner_i, owner_r;
} Pair;

static guint32
index_insert (NbWgHandshake *handshake, guint32 old_index)
{
  return ((Owner *) handshake->owner)->index;
}

static void
index_remove (NbWgHandshake *handshake, guint32 index)
{
}

static void
add_session (NbWgHandshake *handshake, const NbWgSessionKeys *keys, gint64 now)
{
  ((Owner *) handshake->owner)->keys = *keys;
}

static const NbWgHandshakeOps ops = {
  .index_insert = index_insert,
  .index_remove = index_remove,
  .add_session = add_session,
};

static NbWgHandshake *
by_static (const guint8 *key, gpointer data)
{
  Pair *p = data;
  return &p->hs_r;
}

static NbWgHandshake *
by_index (guint32 index, gpointer data)
{
  Pair *p = data;
  return &p->hs_i;
}

static void
bench_handshakes (void)
{
  Pair p;
  guint8 priv[32], ts[12];
  NbWgMessageInitiation init;
  NbWgMessageResponse resp;
  gint64 start, end;
  guint64 n = 0;

  randombytes_buf (priv, 32);
  nb_wg_static_identity_set (&p.id_i, priv);
  randombytes_buf (priv, 32);
  nb_wg_static_identity_set (&p.id_r, priv);
  p.owner_i.index = 1;
  p.owner_r.index = 2;
  nb_wg_handshake_init (&p.hs_i, p.id_r.static_public, &p.id_i, &ops, &p.owner_i);
  nb_wg_handshake_init (&p.hs_r, p.id_i.static_public, &p.id_r, &ops, &p.owner_r);
  nb_wg_tai64n_now (ts);

  start = g_get_monotonic_time ();
  end = start + (gint64) (seconds * G_USEC_PER_SEC);
  while (g_get_monotonic_time () < end)
    {
      memset (p.hs_r.latest_timestamp, 0, 12);
      p.hs_r.last_initiation_consumption = 0;
      /* Both sides' steps: initiation; response and responder's keys;
       * initiator's keys. */
      if (!nb_wg_noise_create_initiation (&p.hs_i, &p.id_i, ts, &init) ||
          nb_wg_noise_consume_initiation (&p.id_r, &init, 1, by_static, &p, &resp) == NULL ||
          nb_wg_noise_consume_response (&p.id_i, &resp, 1, by_index, &p) == NULL ||
          memcmp (p.owner_i.keys.send_key, p.owner_r.keys.receive_key, 32) != 0)
        g_error ("handshake failed");
      n++;
    }
  g_print ("handshakes_per_second=%.0f\n",
           n / ((g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC));
  nb_wg_handshake_destroy (&p.hs_i);
  nb_wg_handshake_destroy (&p.hs_r);
}

static void
bench_data (void)
{
  guint8 key[32];
  guint8 *buf = g_malloc (size + 64);
  gint64 start, elapsed_enc = 0, elapsed_dec = 0;
  guint64 n = 0;
  gint64 end;

  randombytes_buf (key, sizeof key);
  randombytes_buf (buf, size);
  end = g_get_monotonic_time () + (gint64) (seconds * G_USEC_PER_SEC);
  while (g_get_monotonic_time () < end)
    {
      /* Batches as the packet path has them. */
      for (guint i = 0; i < 64; i++)
        {
          start = g_get_monotonic_time ();
          nb_wg_aead_encrypt (buf, buf, size, n, key);
          elapsed_enc += g_get_monotonic_time () - start;
          start = g_get_monotonic_time ();
          if (!nb_wg_aead_decrypt (buf, buf, size + 16, n, key))
            g_error ("decrypt failed");
          elapsed_dec += g_get_monotonic_time () - start;
          n++;
        }
    }
  g_print ("packet_size=%d\n", size);
  g_print ("encrypt_pps=%.0f\n", n / (elapsed_enc / (double) G_USEC_PER_SEC));
  g_print ("decrypt_pps=%.0f\n", n / (elapsed_dec / (double) G_USEC_PER_SEC));
  g_print ("encrypt_gbps=%.2f\n", n * size * 8.0 / (elapsed_enc * 1000.0));
  g_print ("decrypt_gbps=%.2f\n", n * size * 8.0 / (elapsed_dec * 1000.0));
  /* One core doing both ends of a packet: the tunnel's ceiling per core. */
  g_print ("seal_open_pps=%.0f\n", n / ((elapsed_enc + elapsed_dec) / (double) G_USEC_PER_SEC));
  g_print ("seal_open_gbps=%.2f\n", n * size * 8.0 / ((elapsed_enc + elapsed_dec) * 1000.0));
  g_free (buf);
}

/* One flow's batches (64 packets, as a GSO frame brings them) sealed on the
 * calling thread alone, then with the crypto workers a device would start
 * on this machine (with at least one, so the figure exists on 2 cores). */
typedef struct {
  guint8 *bufs[64];
  guint8 key[32];
  guint64 base;
} PoolBatch;

static void
seal_chunk (gpointer data, guint first, guint n)
{
  PoolBatch *batch = data;

  for (guint i = first; i < first + n; i++)
    nb_wg_aead_encrypt (batch->bufs[i], batch->bufs[i], size, batch->base + i, batch->key);
}

static double
pool_pps (NbWgCryptPool *pool, PoolBatch *batch)
{
  gint64 start = g_get_monotonic_time ();
  gint64 end = start + (gint64) (seconds * G_USEC_PER_SEC / 2);
  guint64 n = 0;

  while (g_get_monotonic_time () < end)
    {
      nb_wg_crypt_pool_run (pool, seal_chunk, batch, G_N_ELEMENTS (batch->bufs));
      batch->base += G_N_ELEMENTS (batch->bufs);
      n += G_N_ELEMENTS (batch->bufs);
    }
  return n / ((g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC);
}

static void
bench_pool (void)
{
  guint workers = MAX (nb_wg_crypt_pool_default_workers (), 1);
  NbWgCryptPool *pool = nb_wg_crypt_pool_new (workers, NULL);
  PoolBatch batch = { 0 };
  double alone, shared;

  randombytes_buf (batch.key, sizeof batch.key);
  for (guint i = 0; i < G_N_ELEMENTS (batch.bufs); i++)
    batch.bufs[i] = g_malloc0 (size + 16);
  alone = pool_pps (NULL, &batch);
  shared = pool_pps (pool, &batch);
  g_print ("crypt_pool_workers=%u\n", workers);
  g_print ("one_flow_encrypt_pps_alone=%.0f\n", alone);
  g_print ("one_flow_encrypt_pps_with_workers=%.0f\n", shared);
  g_print ("one_flow_speedup=%.2f\n", shared / alone);
  for (guint i = 0; i < G_N_ELEMENTS (batch.bufs); i++)
    g_free (batch.bufs[i]);
  nb_wg_crypt_pool_free (pool);
}

static void
bench_replay (void)
{
  NbWgReplay r;
  guint64 n = 0;
  gint64 start = g_get_monotonic_time ();
  gint64 end = start + (gint64) (seconds * G_USEC_PER_SEC / 4);

  nb_wg_replay_init (&r);
  while (g_get_monotonic_time () < end)
    for (guint i = 0; i < 4096; i++, n++)
      nb_wg_replay_validate (&r, n ^ (i & 7));
  g_print ("replay_checks_per_second=%.0f\n",
           n / ((g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC));
}

static void
bench_allowedips (void)
{
  NbWgAllowedIps t;
  GRand *rand = g_rand_new_with_seed (7);
  guint64 n = 0;
  gint64 start, end;
  guint32 addr;

  nb_wg_allowedips_init (&t);
  for (guint i = 0; i < 1000; i++)
    {
      addr = g_htonl (0x64400000u | (i << 8));
      nb_wg_allowedips_insert (&t, (guint8 *) &addr, 4, 24, GUINT_TO_POINTER (i + 1));
    }
  start = g_get_monotonic_time ();
  end = start + (gint64) (seconds * G_USEC_PER_SEC / 4);
  while (g_get_monotonic_time () < end)
    for (guint i = 0; i < 4096; i++, n++)
      {
        addr = g_htonl (0x64400000u | (g_rand_int (rand) & 0x3ffff));
        (void) nb_wg_allowedips_lookup (&t, (guint8 *) &addr, 4);
      }
  g_print ("allowedips_peers=1000\nallowedips_lookups_per_second=%.0f\n",
           n / ((g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC));
  nb_wg_allowedips_free (&t);
  g_rand_free (rand);
}

int
main (int argc, char **argv)
{
  GOptionEntry entries[] = {
    { "seconds", 's', 0, G_OPTION_ARG_DOUBLE, &seconds, "Seconds per figure", "S" },
    { "size", 0, 0, G_OPTION_ARG_INT, &size, "Packet size in bytes", "BYTES" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- WireGuard core benchmarks");
  g_autoptr(GError) error = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  if (size < 0 || size > 65535 || seconds <= 0)
    {
      g_printerr ("--size must be 0..65535 and --seconds positive\n");
      return 2;
    }
  if (sodium_init () < 0)
    return 1;
  bench_handshakes ();
  bench_data ();
  bench_pool ();
  bench_replay ();
  bench_allowedips ();
  return 0;
}
