/* nb-mgmt-login-replay.c: each sealed login request is taken once
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-management"

#include "nb-mgmt-login-replay-private.h"

/* A sealed login request proves who sealed it, not when: captured on the
 * way, it could be sent again after its peer was deleted, and register the
 * peer once more. So a request carries its time and a random nonce (inside
 * the envelope, where they cannot be changed), and the server takes it only
 *
 * - when its time is within @window seconds of the server's clock, either
 *   way (a clock that far off is refused as stale: fix the clock); and
 * - once: the (peer key, nonce) pairs taken are kept until their time is
 *   @window seconds in the past, when the time check alone refuses them.
 *
 * The cache holds at most @capacity pairs, so a flood of requests (keys
 * cost nothing) cannot grow it without bound. When full, the oldest taken
 * pair goes, and the cache remembers the newest time of a pair it dropped
 * (the watermark): from then on, a request whose time is not after the
 * watermark is refused as stale too, since the cache can no longer tell
 * whether it was taken. Nothing taken can come back: a pair is either in
 * the cache, or its time is at most the watermark, or it is out of the
 * window. Under a flood the watermark follows the flood's rate, and only
 * clients whose clocks lag the server by more than the cache's span are
 * refused (they send a new request with a fresh time). Times are whole
 * seconds: past @capacity requests within one second, the rest of that
 * second's are refused as stale, and their clients retry a second later. */

typedef struct
{
  char *key;                    /* "PEER_KEY NONCE", also the set's key */
  gint64 timestamp;
} Entry;

struct _NbMgmtLoginReplay
{
  gint64 window;
  guint capacity;
  GHashTable *taken;            /* key -> Entry (in @order) */
  GQueue order;                 /* Entry, oldest taken first */
  gint64 watermark;             /* newest time of a dropped entry */
  guint64 n_stale;
  guint64 n_replayed;
};

static void
entry_free (Entry *entry)
{
  g_free (entry->key);
  g_free (entry);
}

NbMgmtLoginReplay *
nb_mgmt_login_replay_new (gint64 window,
                          guint  capacity)
{
  NbMgmtLoginReplay *self;

  g_return_val_if_fail (window > 0 && capacity > 0, NULL);

  self = g_new0 (NbMgmtLoginReplay, 1);
  self->window = window;
  self->capacity = capacity;
  self->taken = g_hash_table_new (g_str_hash, g_str_equal);
  g_queue_init (&self->order);
  self->watermark = G_MININT64;
  return self;
}

void
nb_mgmt_login_replay_free (NbMgmtLoginReplay *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->taken);
  g_queue_clear_full (&self->order, (GDestroyNotify) entry_free);
  g_free (self);
}

static void
drop_oldest (NbMgmtLoginReplay *self)
{
  Entry *entry = g_queue_pop_head (&self->order);

  g_hash_table_remove (self->taken, entry->key);
  entry_free (entry);
}

NbMgmtLoginFreshness
nb_mgmt_login_replay_check (NbMgmtLoginReplay *self,
                            const char        *peer_key,
                            gint64             timestamp,
                            const char        *nonce,
                            gint64             now)
{
  g_autofree char *key = NULL;
  Entry *entry;

  if (timestamp < now - self->window || timestamp > now + self->window ||
      timestamp <= self->watermark)
    {
      self->n_stale++;
      return NB_MGMT_LOGIN_STALE;
    }

  /* Out of the window for good: the time check refuses them now. */
  while (!g_queue_is_empty (&self->order) &&
         ((Entry *) g_queue_peek_head (&self->order))->timestamp < now - self->window)
    drop_oldest (self);

  key = g_strconcat (peer_key, " ", nonce, NULL);
  if (g_hash_table_contains (self->taken, key))
    {
      self->n_replayed++;
      return NB_MGMT_LOGIN_REPLAYED;
    }

  if (g_queue_get_length (&self->order) >= self->capacity)
    {
      Entry *oldest = g_queue_peek_head (&self->order);

      self->watermark = MAX (self->watermark, oldest->timestamp);
      drop_oldest (self);
    }
  entry = g_new (Entry, 1);
  entry->key = g_steal_pointer (&key);
  entry->timestamp = timestamp;
  g_queue_push_tail (&self->order, entry);
  g_hash_table_add (self->taken, entry->key);
  return NB_MGMT_LOGIN_FRESH;
}

guint
nb_mgmt_login_replay_get_size (NbMgmtLoginReplay *self)
{
  return g_queue_get_length (&self->order);
}

guint64
nb_mgmt_login_replay_get_n_refused (NbMgmtLoginReplay    *self,
                                    NbMgmtLoginFreshness  reason)
{
  switch (reason)
    {
    case NB_MGMT_LOGIN_STALE:
      return self->n_stale;
    case NB_MGMT_LOGIN_REPLAYED:
      return self->n_replayed;
    case NB_MGMT_LOGIN_FRESH:
    default:
      return 0;
    }
}
