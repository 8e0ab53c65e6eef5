/* nb-wg-ratelimiter.c: handshake messages per source address, under load
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * WireGuard paper §5.3: a cookie proves that a sender owns its address, but
 * one real address could still make the device do DH at line rate. Under
 * load, each address gets a token bucket: NB_WG_RATELIMIT_PER_SECOND
 * handshakes per second with bursts of NB_WG_RATELIMIT_BURST. IPv6 senders
 * are counted per /64, which is what one host usually holds.
 */
#define G_LOG_DOMAIN "netbird-wg"

#include <string.h>

#include "nb-wg-ratelimiter.h"

#define COST (G_USEC_PER_SEC / NB_WG_RATELIMIT_PER_SECOND)
#define TOKENS_MAX (COST * NB_WG_RATELIMIT_BURST)

typedef struct {
  gint64 tokens;
  gint64 last;
} Bucket;

static guint
key_hash (gconstpointer key)
{
  return g_int64_hash (key);
}

static gboolean
key_equal (gconstpointer a, gconstpointer b)
{
  return g_int64_equal (a, b);
}

void
nb_wg_ratelimiter_init (NbWgRatelimiter *limiter)
{
  g_mutex_init (&limiter->lock);
  limiter->buckets = g_hash_table_new_full (key_hash, key_equal, g_free, g_free);
  limiter->last_gc = 0;
}

void
nb_wg_ratelimiter_clear (NbWgRatelimiter *limiter)
{
  g_hash_table_unref (limiter->buckets);
  g_mutex_clear (&limiter->lock);
}

static gboolean
stale (gpointer key, gpointer value, gpointer user_data)
{
  const Bucket *bucket = value;
  gint64 now = *(const gint64 *) user_data;

  /* A bucket untouched for a second is full again: forget it. */
  return now - bucket->last >= G_USEC_PER_SEC;
}

gboolean
nb_wg_ratelimiter_allow (NbWgRatelimiter *limiter,
                         const guint8    *source,
                         gsize            source_len,
                         gint64           now)
{
  gint64 key = 0;
  Bucket *bucket;
  gboolean ok;

  if (source_len >= 16)
    {
      /* IPv6: the /64, tagged so it never equals an IPv4 key. */
      memcpy (&key, source, 8);
      key ^= G_GINT64_CONSTANT (0x5a5a5a5a00000000);
    }
  else if (source_len >= 4)
    memcpy (&key, source, 4);
  else
    return TRUE;

  g_mutex_lock (&limiter->lock);
  if (now - limiter->last_gc >= G_USEC_PER_SEC)
    {
      g_hash_table_foreach_remove (limiter->buckets, stale, &now);
      limiter->last_gc = now;
    }
  bucket = g_hash_table_lookup (limiter->buckets, &key);
  if (bucket == NULL)
    {
      if (g_hash_table_size (limiter->buckets) >= NB_WG_RATELIMIT_MAX_SOURCES)
        {
          g_mutex_unlock (&limiter->lock);
          return FALSE;
        }
      bucket = g_new (Bucket, 1);
      bucket->tokens = TOKENS_MAX - COST;
      bucket->last = now;
      g_hash_table_insert (limiter->buckets, g_memdup2 (&key, sizeof key), bucket);
      g_mutex_unlock (&limiter->lock);
      return TRUE;
    }
  bucket->tokens = MIN (TOKENS_MAX, bucket->tokens + (now - bucket->last));
  bucket->last = now;
  ok = bucket->tokens >= COST;
  if (ok)
    bucket->tokens -= COST;
  g_mutex_unlock (&limiter->lock);
  return ok;
}
