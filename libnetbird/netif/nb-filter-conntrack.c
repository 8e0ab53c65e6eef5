/* nb-filter-conntrack.c: the connections this host opened
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * See nb-filter-conntrack-private.h. The states follow Linux's
 * nf_conntrack at the grain the filter needs: a TCP flow is "SYN sent"
 * until the other side answers, then established, then closing once a FIN
 * went either way, and nearly gone after a RST; a UDP flow lives 30 s until
 * replied to and 120 s after; an ICMP echo 30 s. An outbound TCP packet of
 * a flow without an entry (other than a RST) takes it up as established,
 * as nf_conntrack_tcp_loose does by default: it can only come from a
 * socket of this host, so a filter installed under live connections does
 * not cut them.
 */
#include <string.h>

#include "nb-filter-conntrack-private.h"
#include "nb-filter-packet-private.h"

#define MAX_LOCKS 1024

typedef enum {
  STATE_EMPTY,
  STATE_TCP_SYN_SENT,
  STATE_TCP_ESTABLISHED,
  STATE_TCP_CLOSING,
  STATE_TCP_CLOSE,
  STATE_UDP,
  STATE_UDP_STREAM,
  STATE_ICMP,
} State;

typedef struct {
  NbFilterFlowKey key;
  gint64 expires;  /* µs, the caller's clock; atomic reads for statistics */
  guint8 state;
} Entry;

struct _NbFilterConntrack
{
  Entry *entries;       /* n_buckets * WAYS */
  guint n_buckets;      /* a power of two */
  GMutex *locks;
  guint n_locks;        /* a power of two */
  guint64 seed;
  guint64 counters[NB_FILTER_CONNTRACK_N_COUNTERS]; /* atomic */
};

NbFilterConntrack *
nb_filter_conntrack_new (guint capacity)
{
  NbFilterConntrack *self = g_new0 (NbFilterConntrack, 1);
  guint buckets = 1;

  if (capacity == 0)
    capacity = NB_FILTER_CONNTRACK_DEFAULT_CAPACITY;
  capacity = MIN (capacity, 1u << 24);
  while (buckets * NB_FILTER_CONNTRACK_WAYS < capacity)
    buckets <<= 1;
  self->n_buckets = buckets;
  self->entries = g_new0 (Entry, (gsize) buckets * NB_FILTER_CONNTRACK_WAYS);
  self->n_locks = MIN (buckets, (guint) MAX_LOCKS);
  self->locks = g_new (GMutex, self->n_locks);
  for (guint i = 0; i < self->n_locks; i++)
    g_mutex_init (&self->locks[i]);
  /* Flows are chosen by whoever sends: a seed keeps their buckets unguessable. */
  self->seed = ((guint64) g_random_int () << 32) | g_random_int ();
  return self;
}

void
nb_filter_conntrack_free (NbFilterConntrack *self)
{
  if (self == NULL)
    return;
  for (guint i = 0; i < self->n_locks; i++)
    g_mutex_clear (&self->locks[i]);
  g_free (self->locks);
  g_free (self->entries);
  g_free (self);
}

guint
nb_filter_conntrack_get_capacity (NbFilterConntrack *self)
{
  return self->n_buckets * NB_FILTER_CONNTRACK_WAYS;
}

static inline guint64
mix (guint64 h, guint64 v)
{
  h ^= v;
  h *= 0x9e3779b97f4a7c15ULL;
  return h ^ (h >> 29);
}

static guint
bucket_of (NbFilterConntrack *self, const NbFilterFlowKey *key)
{
  guint64 words[5];
  guint64 h = self->seed;

  G_STATIC_ASSERT (sizeof (NbFilterFlowKey) == 40);
  memcpy (words, key, sizeof words);
  for (guint i = 0; i < G_N_ELEMENTS (words); i++)
    h = mix (h, words[i]);
  return (guint) (h ^ (h >> 32)) & (self->n_buckets - 1);
}

static inline gboolean
key_equal (const NbFilterFlowKey *a, const NbFilterFlowKey *b)
{
  return memcmp (a, b, sizeof *a) == 0;
}

static gint64
timeout_of (State state)
{
  gint64 seconds;

  switch (state)
    {
    case STATE_TCP_SYN_SENT: seconds = NB_FILTER_TIMEOUT_TCP_SYN_SENT; break;
    case STATE_TCP_ESTABLISHED: seconds = NB_FILTER_TIMEOUT_TCP_ESTABLISHED; break;
    case STATE_TCP_CLOSING: seconds = NB_FILTER_TIMEOUT_TCP_CLOSING; break;
    case STATE_TCP_CLOSE: seconds = NB_FILTER_TIMEOUT_TCP_CLOSE; break;
    case STATE_UDP: seconds = NB_FILTER_TIMEOUT_UDP; break;
    case STATE_UDP_STREAM: seconds = NB_FILTER_TIMEOUT_UDP_STREAM; break;
    case STATE_ICMP: seconds = NB_FILTER_TIMEOUT_ICMP; break;
    case STATE_EMPTY:
    default: seconds = 0; break;
    }
  return seconds * G_USEC_PER_SEC;
}

static void
set_state (Entry *entry, State state, gint64 now)
{
  entry->state = (guint8) state;
  __atomic_store_n (&entry->expires, now + timeout_of (state), __ATOMIC_RELAXED);
}

/* TCP flags move a flow on, in either direction (RFC 9293 §3.3.2, at the
 * grain of nf_conntrack's timeouts). */
static State
tcp_next (State state, guint8 flags, gboolean inbound)
{
  if (flags & NB_FILTER_TCP_RST)
    return STATE_TCP_CLOSE;
  if (flags & NB_FILTER_TCP_FIN)
    return state == STATE_TCP_CLOSE ? STATE_TCP_CLOSE : STATE_TCP_CLOSING;
  if (state == STATE_TCP_SYN_SENT && inbound)
    return STATE_TCP_ESTABLISHED; /* the SYN-ACK, or whatever answers */
  return state;
}

static Entry *
find (Entry *bucket, const NbFilterFlowKey *key, gint64 now)
{
  for (guint i = 0; i < NB_FILTER_CONNTRACK_WAYS; i++)
    if (bucket[i].state != STATE_EMPTY && bucket[i].expires > now &&
        key_equal (&bucket[i].key, key))
      return &bucket[i];
  return NULL;
}

void
nb_filter_conntrack_outbound (NbFilterConntrack     *self,
                              const NbFilterFlowKey *key,
                              guint8                 tcp_flags,
                              gboolean               create,
                              gint64                 now)
{
  guint b = bucket_of (self, key);
  GMutex *lock = &self->locks[b & (self->n_locks - 1)];
  Entry *bucket = &self->entries[(gsize) b * NB_FILTER_CONNTRACK_WAYS];
  Entry *entry;
  State state;

  g_mutex_lock (lock);
  entry = find (bucket, key, now);
  if (entry != NULL)
    {
      state = entry->state;
      if (key->protocol == NB_FILTER_PROTO_TCP)
        state = tcp_next (state, tcp_flags, FALSE);
      set_state (entry, state, now);
      g_mutex_unlock (lock);
      return;
    }
  if (!create)
    {
      g_mutex_unlock (lock);
      return;
    }
  switch (key->protocol)
    {
    case NB_FILTER_PROTO_TCP:
      if (tcp_flags & NB_FILTER_TCP_RST)
        {
          g_mutex_unlock (lock);
          return;
        }
      if ((tcp_flags & (NB_FILTER_TCP_SYN | NB_FILTER_TCP_ACK)) == NB_FILTER_TCP_SYN)
        state = STATE_TCP_SYN_SENT;
      else
        state = tcp_next (STATE_TCP_ESTABLISHED, tcp_flags, FALSE);
      break;
    case NB_FILTER_PROTO_UDP:
      state = STATE_UDP;
      break;
    default:
      state = STATE_ICMP;
      break;
    }

  /* A free or expired way, else the one nearest its end. */
  entry = &bucket[0];
  for (guint i = 0; i < NB_FILTER_CONNTRACK_WAYS; i++)
    {
      if (bucket[i].state == STATE_EMPTY || bucket[i].expires <= now)
        {
          entry = &bucket[i];
          break;
        }
      if (bucket[i].expires < entry->expires)
        entry = &bucket[i];
    }
  if (entry->state != STATE_EMPTY && entry->expires > now)
    __atomic_fetch_add (&self->counters[NB_FILTER_CONNTRACK_EVICTED], 1, __ATOMIC_RELAXED);
  entry->key = *key;
  set_state (entry, state, now);
  g_mutex_unlock (lock);
  __atomic_fetch_add (&self->counters[NB_FILTER_CONNTRACK_CREATED], 1, __ATOMIC_RELAXED);
}

gboolean
nb_filter_conntrack_inbound (NbFilterConntrack     *self,
                             const NbFilterFlowKey *key,
                             guint8                 tcp_flags,
                             gint64                 now)
{
  guint b = bucket_of (self, key);
  GMutex *lock = &self->locks[b & (self->n_locks - 1)];
  Entry *entry;

  g_mutex_lock (lock);
  entry = find (&self->entries[(gsize) b * NB_FILTER_CONNTRACK_WAYS], key, now);
  if (entry != NULL)
    {
      State state = entry->state;

      if (key->protocol == NB_FILTER_PROTO_TCP)
        state = tcp_next (state, tcp_flags, TRUE);
      else if (state == STATE_UDP)
        state = STATE_UDP_STREAM;
      set_state (entry, state, now);
    }
  g_mutex_unlock (lock);
  return entry != NULL;
}

gboolean
nb_filter_conntrack_contains (NbFilterConntrack     *self,
                              const NbFilterFlowKey *key,
                              gint64                 now)
{
  guint b = bucket_of (self, key);
  GMutex *lock = &self->locks[b & (self->n_locks - 1)];
  gboolean found;

  g_mutex_lock (lock);
  found = find (&self->entries[(gsize) b * NB_FILTER_CONNTRACK_WAYS], key, now) != NULL;
  g_mutex_unlock (lock);
  return found;
}

guint
nb_filter_conntrack_count_live (NbFilterConntrack *self,
                                gint64             now)
{
  gsize n = (gsize) self->n_buckets * NB_FILTER_CONNTRACK_WAYS;
  guint live = 0;

  /* Unlocked: a figure for statistics may be a packet late. */
  for (gsize i = 0; i < n; i++)
    if (__atomic_load_n (&self->entries[i].expires, __ATOMIC_RELAXED) > now)
      live++;
  return live;
}

guint64
nb_filter_conntrack_get_counter (NbFilterConntrack       *self,
                                 NbFilterConntrackCounter counter)
{
  return __atomic_load_n (&self->counters[counter], __ATOMIC_RELAXED);
}
