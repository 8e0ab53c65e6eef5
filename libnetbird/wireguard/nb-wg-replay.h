/* nb-wg-replay.h: the receive counter and its sliding window
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define NB_WG_REPLAY_BITS_TOTAL 8192
#define NB_WG_REPLAY_WORD_BITS 64
/* One word of the ring is always being recycled, so the window a receiver
 * can count on is one word short of the ring (RFC 6479 §2). */
#define NB_WG_REPLAY_WINDOW_SIZE (NB_WG_REPLAY_BITS_TOTAL - NB_WG_REPLAY_WORD_BITS)

typedef struct {
  /* One more than the greatest counter accepted; 0 before the first. */
  guint64 next;
  guint64 bitmap[NB_WG_REPLAY_BITS_TOTAL / NB_WG_REPLAY_WORD_BITS];
} NbWgReplay;

void     nb_wg_replay_init     (NbWgReplay *replay);
/* TRUE and records @counter when it was not seen before, is not too old for
 * the window and is below REJECT_AFTER_MESSAGES. Call only for packets that
 * authenticated. */
gboolean nb_wg_replay_validate (NbWgReplay *replay,
                                guint64     counter);

G_END_DECLS
