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
 *   filter_compile_ms_N, filter_swap_ms_N   a packet filter rule set of N
 *     rules (N = 1,000 and 10,000) compiled, then swapped into a running
 *     device (goal: compile and swap of 1,000 under 10 ms)
 *   filter_*_ns   the filter's cost per packet: no rule set (the default),
 *     1,000 rules with each packet from another peer (no flow cache) and in
 *     batches of one flow (as a GSO frame brings them), the connection
 *     table learning outbound flows and letting their replies in; beside
 *     them the decryption of the same packet, for scale
 *
 * Usage: bench-wireguard [--seconds=S] [--size=BYTES]
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "nb-filter-private.h"
#include "nb-wg-allowedips.h"
#include "nb-wg-crypt-pool.h"
#include "nb-wg-noise.h"
#include "nb-wg-replay.h"
#include "nb-wg-device-private.h"

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


/* -- the packet filter ------------------------------------------------------ */

/* N rules as Management would send them for N peers of 100.64.0.0/16: a
 * mix of protocols, single ports and ranges. */
static NbFilterRule *
filter_rules (guint n)
{
  NbFilterRule *rules = g_new0 (NbFilterRule, n);

  for (guint i = 0; i < n; i++)
    {
      NbFilterRule *r = &rules[i];
      guint peer = 2 + i % 60000;

      r->family = 4;
      r->address[0] = 100;
      r->address[1] = 64;
      r->address[2] = (guint8) (peer >> 8);
      r->address[3] = (guint8) peer;
      r->direction = NB_FILTER_DIRECTION_IN;
      r->action = i % 50 == 49 ? NB_FILTER_ACTION_DROP : NB_FILTER_ACTION_ACCEPT;
      switch (i % 4)
        {
        case 0: r->protocol = NB_FILTER_PROTOCOL_TCP; r->port_start = r->port_end = 22; break;
        case 1:
          r->protocol = NB_FILTER_PROTOCOL_UDP;
          r->port_start = (guint16) (1000 + i % 100);
          r->port_end = (guint16) (r->port_start + 50);
          break;
        case 2: r->protocol = NB_FILTER_PROTOCOL_ICMP; break;
        default: r->protocol = NB_FILTER_PROTOCOL_TCP; r->port_start = 8000; r->port_end = 8080; break;
        }
    }
  return rules;
}

static int
compare_gint64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;
  return x < y ? -1 : x > y;
}

/* Median of 9 compiles and swaps into a device whose packet threads run. */
static gboolean
bench_filter_compile (NbWgDevice *device, guint n, double *compile_ms, double *swap_ms)
{
  g_autofree NbFilterRule *rules = filter_rules (n);
  gint64 compile[9], swap[9];

  for (guint round = 0; round < G_N_ELEMENTS (compile); round++)
    {
      g_autoptr(GError) error = NULL;
      gint64 t0 = g_get_monotonic_time ();
      NbFilterRuleSet *set = nb_filter_rule_set_compile (rules, n, &error);
      gint64 t1 = g_get_monotonic_time ();

      if (set == NULL)
        {
          g_printerr ("FAIL: compiling %u rules: %s\n", n, error->message);
          return FALSE;
        }
      nb_wg_device_set_filter_rule_set (device, set);
      compile[round] = t1 - t0;
      swap[round] = g_get_monotonic_time () - t1;
      if (nb_filter_get_n_rules (nb_wg_device_get_filter (device)) != n)
        {
          g_printerr ("FAIL: the device holds %" G_GSIZE_FORMAT " rules, not %u\n",
                      nb_filter_get_n_rules (nb_wg_device_get_filter (device)), n);
          return FALSE;
        }
    }
  qsort (compile, G_N_ELEMENTS (compile), sizeof compile[0], (GCompareFunc) compare_gint64);
  qsort (swap, G_N_ELEMENTS (swap), sizeof swap[0], (GCompareFunc) compare_gint64);
  *compile_ms = compile[G_N_ELEMENTS (compile) / 2] / 1000.0;
  *swap_ms = swap[G_N_ELEMENTS (swap) / 2] / 1000.0;
  return TRUE;
}

static gsize
udp_packet (guint8 *p, guint peer, guint16 sport, guint16 dport, gboolean inbound)
{
  guint8 remote[4] = { 100, 64, (guint8) (peer >> 8), (guint8) peer };
  guint8 local[4] = { 100, 64, 0, 1 };
  gsize len = MAX ((gsize) size, 28u);

  memset (p, 0, len);
  p[0] = 0x45;
  p[2] = (guint8) (len >> 8);
  p[3] = (guint8) len;
  p[8] = 64;
  p[9] = 17;
  memcpy (p + 12, inbound ? remote : local, 4);
  memcpy (p + 16, inbound ? local : remote, 4);
  p[20] = sport >> 8, p[21] = sport & 0xff;
  p[22] = dport >> 8, p[23] = dport & 0xff;
  return len;
}

#define FILTER_PACKETS 4096

typedef enum { IN_UNCACHED, IN_BATCHED, OUT_UNCACHED, REPLY_UNCACHED } FilterPath;

/* ns per packet over FILTER_PACKETS prepared packets, passed @rounds times. */
static double
filter_ns (NbFilter *filter, guint8 **packets, gsize len, FilterPath path)
{
  NbFilterFlowCache cache = { 0 };
  gint64 now = g_get_monotonic_time ();
  gint64 start = now, end = start + (gint64) (seconds * G_USEC_PER_SEC / 8);
  guint64 n = 0, passed = 0;

  while (g_get_monotonic_time () < end)
    for (guint i = 0; i < FILTER_PACKETS; i++, n++)
      switch (path)
        {
        case IN_UNCACHED:
        case REPLY_UNCACHED:
          passed += nb_filter_inbound (filter, NULL, packets[i], len, now);
          break;
        case IN_BATCHED:
          passed += nb_filter_inbound (filter, &cache, packets[i / 64], len, now);
          break;
        case OUT_UNCACHED:
          passed += nb_filter_outbound (filter, NULL, packets[i], len, now);
          break;
        }
  if (passed == 0)
    {
      g_printerr ("FAIL: the filter passed none of the benchmark's packets\n");
      exit (1);
    }
  return (g_get_monotonic_time () - start) * 1000.0 / n;
}

static int
bench_filter (void)
{
  g_autoptr(NbWgDevice) device = nb_wg_device_new (NULL);
  g_autoptr(NbKey) key = nb_key_generate ();
  g_autoptr(GError) error = NULL;
  g_autofree NbFilterRule *rules = filter_rules (1000);
  g_autofree guint8 *storage = g_malloc ((gsize) FILTER_PACKETS * 2 * (size + 64));
  guint8 *in[FILTER_PACKETS], *out[FILTER_PACKETS];
  guint8 aead_key[32];
  NbFilter *filter;
  double compile_ms, swap_ms, decrypt_ns;
  gsize len = 0;
  int rc = 0;

  if (!nb_wg_device_set_private_key (device, key, &error) || !nb_wg_device_up (device, &error))
    {
      g_printerr ("FAIL: a device for the filter benchmark: %s\n", error->message);
      return 1;
    }
  for (guint i = 0; i < 2; i++)
    {
      guint n = i == 0 ? 1000 : 10000;

      if (!bench_filter_compile (device, n, &compile_ms, &swap_ms))
        return 1;
      g_print ("filter_compile_ms_%u=%.3f\nfilter_swap_ms_%u=%.3f\n", n, compile_ms, n, swap_ms);
      if (n == 1000)
        g_print ("filter_compile_swap_1000_goal=%s (%.3f ms against 10 ms)\n",
                 compile_ms + swap_ms < 10.0 ? "met" : "MISSED", compile_ms + swap_ms);
    }

  /* Per packet: inbound from 1,000 peers, each allowed UDP 1000-1050 by
   * its rule (rules i % 4 == 1); outbound flows, and their replies. */
  for (guint i = 0; i < FILTER_PACKETS; i++)
    {
      guint peer = 2 + (1 + 4 * (i % 250)) % 60000;

      in[i] = storage + (gsize) i * (size + 64);
      out[i] = storage + (gsize) (FILTER_PACKETS + i) * (size + 64);
      len = udp_packet (in[i], peer, 5000, (guint16) (1000 + (1 + 4 * (i % 250)) % 100), TRUE);
      udp_packet (out[i], peer, (guint16) (20000 + i), 53, FALSE);
    }
  filter = nb_filter_new (0);
  g_print ("filter_inbound_ns_no_rules=%.1f\n", filter_ns (filter, in, len, IN_UNCACHED));
  nb_filter_swap_rules (filter, nb_filter_rule_set_compile (rules, 1000, NULL));
  g_print ("filter_inbound_ns_1000_rules_each_packet_another_peer=%.1f\n",
           filter_ns (filter, in, len, IN_UNCACHED));
  g_print ("filter_inbound_ns_1000_rules_batches_of_one_flow=%.1f\n",
           filter_ns (filter, in, len, IN_BATCHED));
  g_print ("filter_outbound_track_ns_each_packet_another_flow=%.1f\n",
           filter_ns (filter, out, len, OUT_UNCACHED));
  /* The replies of those flows: the datagrams from port 53 back. */
  for (guint i = 0; i < FILTER_PACKETS; i++)
    {
      guint peer = 2 + (1 + 4 * (i % 250)) % 60000;
      udp_packet (out[i], peer, 53, (guint16) (20000 + i), TRUE);
    }
  g_print ("filter_inbound_reply_ns_each_packet_another_flow=%.1f\n",
           filter_ns (filter, out, len, REPLY_UNCACHED));
  /* The same packets against 10,000 rules (the same peers' rules among
   * them, so the same verdicts): the cost must not follow the count. */
  {
    g_autofree NbFilterRule *more = filter_rules (10000);

    nb_filter_rule_set_free (nb_filter_swap_rules (filter,
                                                   nb_filter_rule_set_compile (more, 10000, NULL)));
    g_print ("filter_inbound_ns_10000_rules_each_packet_another_peer=%.1f\n",
             filter_ns (filter, in, len, IN_UNCACHED));
  }
  if (nb_filter_get_counter (filter, NB_FILTER_COUNTER_ACCEPT_CONNTRACK) == 0 ||
      nb_filter_get_counter (filter, NB_FILTER_COUNTER_ACCEPT_RULE) == 0)
    {
      g_printerr ("FAIL: the filter benchmark did not exercise its rules and table\n");
      rc = 1;
    }
  nb_filter_free (filter);

  /* For scale: the decryption of the same packet. */
  randombytes_buf (aead_key, sizeof aead_key);
  {
    guint8 *buf = in[0];
    gint64 start = g_get_monotonic_time ();
    guint n = 0;

    for (; n < 20000; n++)
      {
        nb_wg_aead_encrypt (buf, buf, len, n, aead_key);
        if (!nb_wg_aead_decrypt (buf, buf, len + 16, n, aead_key))
          g_error ("decrypt failed");
      }
    decrypt_ns = (g_get_monotonic_time () - start) * 1000.0 / n / 2;
  }
  g_print ("filter_beside_decrypt_ns=%.1f\n", decrypt_ns);
  nb_wg_device_down (device);
  return rc;
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
  return bench_filter ();
}
