/* nb-wg-replay.c: the receive counter and its sliding window
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * RFC 6479: a ring of bit words. Moving the window forward clears whole
 * words instead of shifting the bitmap; a counter is accepted once, and only
 * while it is within NB_WG_REPLAY_WINDOW_SIZE of the greatest one seen
 * (WireGuard paper §5.4.6).
 */
#define G_LOG_DOMAIN "netbird-wg"

#include <string.h>

#include "nb-wg-messages.h"
#include "nb-wg-replay.h"

#define N_WORDS (NB_WG_REPLAY_BITS_TOTAL / NB_WG_REPLAY_WORD_BITS)
G_STATIC_ASSERT ((N_WORDS & (N_WORDS - 1)) == 0);

void
nb_wg_replay_init (NbWgReplay *replay)
{
  memset (replay, 0, sizeof *replay);
}

gboolean
nb_wg_replay_validate (NbWgReplay *replay,
                       guint64     counter)
{
  guint64 position, word, bit;

  if (counter >= NB_WG_REJECT_AFTER_MESSAGES)
    return FALSE;

  /* Work in "counter + 1" so that 0 means nothing seen yet. */
  position = counter + 1;
  if (position + NB_WG_REPLAY_WINDOW_SIZE < replay->next)
    return FALSE;

  word = position / NB_WG_REPLAY_WORD_BITS;
  if (position > replay->next)
    {
      guint64 current = replay->next / NB_WG_REPLAY_WORD_BITS;
      guint64 advance = MIN (word - current, (guint64) N_WORDS);

      for (guint64 i = 1; i <= advance; i++)
        replay->bitmap[(current + i) & (N_WORDS - 1)] = 0;
      replay->next = position;
    }

  bit = G_GUINT64_CONSTANT (1) << (position % NB_WG_REPLAY_WORD_BITS);
  word &= N_WORDS - 1;
  if (replay->bitmap[word] & bit)
    return FALSE;
  replay->bitmap[word] |= bit;
  return TRUE;
}
