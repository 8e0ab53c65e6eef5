/* nb-wg-ratelimiter.h: handshake messages per source address, under load
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Each source (an IPv4 address, or the /64 of an IPv6 one) may start this
 * many handshakes per second, in bursts of NB_WG_RATELIMIT_BURST. */
#define NB_WG_RATELIMIT_PER_SECOND 20
#define NB_WG_RATELIMIT_BURST 5
/* Sources tracked at most; beyond it new sources are refused. */
#define NB_WG_RATELIMIT_MAX_SOURCES 16384

typedef struct {
  GMutex lock;
  GHashTable *buckets; /* guint64 key -> Bucket */
  gint64 last_gc;
} NbWgRatelimiter;

void     nb_wg_ratelimiter_init  (NbWgRatelimiter *limiter);
void     nb_wg_ratelimiter_clear (NbWgRatelimiter *limiter);
/* @source: 4 or 16 address bytes (then maybe the port, ignored). @now in
 * µs of a monotonic clock. TRUE if a handshake from @source may go on. */
gboolean nb_wg_ratelimiter_allow (NbWgRatelimiter *limiter,
                                  const guint8    *source,
                                  gsize            source_len,
                                  gint64           now);

G_END_DECLS
