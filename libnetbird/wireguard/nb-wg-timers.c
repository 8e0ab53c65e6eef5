/* nb-wg-timers.c: the timer state machine of a peer
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * WireGuard paper §6.2-§6.5: retransmit an unanswered initiation every
 * REKEY_TIMEOUT (+ jitter) for REKEY_ATTEMPT_TIME; answer received data with
 * a keepalive after KEEPALIVE_TIMEOUT if nothing else went back; start a new
 * handshake when sent data got no answer for KEEPALIVE_TIMEOUT +
 * REKEY_TIMEOUT; forget keys after 3 * REJECT_AFTER_TIME without a new one.
 */
#define G_LOG_DOMAIN "netbird-wg"

#include <string.h>

#include <sodium.h>

#include "nb-wg-messages.h"
#include "nb-wg-timers.h"

#define SEC(s) ((gint64) (s) * G_USEC_PER_SEC)

static inline void
arm (NbWgTimers *timers, NbWgTimer timer, gint64 when)
{
  /* 0 means "not armed": a clock starting at 0 still arms. */
  timers->deadline[timer] = when != 0 ? when : 1;
}

static inline void
disarm (NbWgTimers *timers, NbWgTimer timer)
{
  timers->deadline[timer] = 0;
}

void
nb_wg_timers_init (NbWgTimers *timers)
{
  memset (timers, 0, sizeof *timers);
}

gboolean
nb_wg_timers_is_armed (const NbWgTimers *timers,
                       NbWgTimer          timer)
{
  return timers->deadline[timer] != 0;
}

gint64
nb_wg_timers_next_deadline (const NbWgTimers *timers)
{
  gint64 next = G_MAXINT64;

  for (guint i = 0; i < NB_WG_N_TIMERS; i++)
    if (timers->deadline[i] != 0 && timers->deadline[i] < next)
      next = timers->deadline[i];
  return next;
}

/* §6.1: every retransmission waits REKEY_TIMEOUT plus up to 333 ms of jitter
 * so that two peers do not keep colliding. */
void
nb_wg_timers_handshake_initiated (NbWgTimers *timers,
                                  gint64      now)
{
  gint64 jitter = randombytes_uniform (NB_WG_REKEY_TIMEOUT_JITTER_MAX_USEC + 1);

  arm (timers, NB_WG_TIMER_RETRANSMIT_HANDSHAKE, now + SEC (NB_WG_REKEY_TIMEOUT) + jitter);
}

void
nb_wg_timers_handshake_complete (NbWgTimers *timers)
{
  disarm (timers, NB_WG_TIMER_RETRANSMIT_HANDSHAKE);
  timers->handshake_attempts = 0;
}

void
nb_wg_timers_session_derived (NbWgTimers *timers,
                              gint64      now)
{
  arm (timers, NB_WG_TIMER_ZERO_KEY_MATERIAL, now + SEC (3 * NB_WG_REJECT_AFTER_TIME));
}

void
nb_wg_timers_data_sent (NbWgTimers *timers,
                        gint64      now)
{
  if (!nb_wg_timers_is_armed (timers, NB_WG_TIMER_NEW_HANDSHAKE))
    arm (timers, NB_WG_TIMER_NEW_HANDSHAKE,
         now + SEC (NB_WG_KEEPALIVE_TIMEOUT + NB_WG_REKEY_TIMEOUT));
}

void
nb_wg_timers_data_received (NbWgTimers *timers,
                            gint64      now)
{
  if (!nb_wg_timers_is_armed (timers, NB_WG_TIMER_SEND_KEEPALIVE))
    arm (timers, NB_WG_TIMER_SEND_KEEPALIVE, now + SEC (NB_WG_KEEPALIVE_TIMEOUT));
  else
    timers->need_another_keepalive = TRUE;
}

void
nb_wg_timers_any_authenticated_packet_sent (NbWgTimers *timers)
{
  disarm (timers, NB_WG_TIMER_SEND_KEEPALIVE);
}

void
nb_wg_timers_any_authenticated_packet_received (NbWgTimers *timers)
{
  disarm (timers, NB_WG_TIMER_NEW_HANDSHAKE);
}

void
nb_wg_timers_any_authenticated_packet_traversal (NbWgTimers *timers,
                                                 gint64      now)
{
  if (timers->persistent_keepalive_interval > 0)
    arm (timers, NB_WG_TIMER_PERSISTENT_KEEPALIVE,
         now + SEC (timers->persistent_keepalive_interval));
}

void
nb_wg_timers_set_persistent_keepalive (NbWgTimers *timers,
                                       guint16     interval,
                                       gint64      now)
{
  timers->persistent_keepalive_interval = interval;
  if (interval == 0)
    disarm (timers, NB_WG_TIMER_PERSISTENT_KEEPALIVE);
  else
    arm (timers, NB_WG_TIMER_PERSISTENT_KEEPALIVE, now + SEC (interval));
}

void
nb_wg_timers_stop_all (NbWgTimers *timers)
{
  for (guint i = 0; i < NB_WG_N_TIMERS; i++)
    disarm (timers, i);
  timers->handshake_attempts = 0;
  timers->need_another_keepalive = FALSE;
}

static inline gboolean
fired (NbWgTimers *timers, NbWgTimer timer, gint64 now)
{
  if (timers->deadline[timer] == 0 || timers->deadline[timer] > now)
    return FALSE;
  disarm (timers, timer);
  return TRUE;
}

NbWgTimerActions
nb_wg_timers_expire (NbWgTimers *timers,
                     gint64      now)
{
  NbWgTimerActions actions = NB_WG_TIMER_ACTION_NONE;

  if (fired (timers, NB_WG_TIMER_RETRANSMIT_HANDSHAKE, now))
    {
      if (timers->handshake_attempts > NB_WG_MAX_TIMER_HANDSHAKES)
        {
          /* §6.4: after REKEY_ATTEMPT_TIME, give up and forget keys later. */
          disarm (timers, NB_WG_TIMER_SEND_KEEPALIVE);
          disarm (timers, NB_WG_TIMER_NEW_HANDSHAKE);
          actions |= NB_WG_TIMER_ACTION_DROP_STAGED;
          if (!nb_wg_timers_is_armed (timers, NB_WG_TIMER_ZERO_KEY_MATERIAL))
            arm (timers, NB_WG_TIMER_ZERO_KEY_MATERIAL, now + SEC (3 * NB_WG_REJECT_AFTER_TIME));
        }
      else
        {
          timers->handshake_attempts++;
          actions |= NB_WG_TIMER_ACTION_SEND_INITIATION | NB_WG_TIMER_ACTION_IS_RETRY;
        }
    }

  if (fired (timers, NB_WG_TIMER_SEND_KEEPALIVE, now))
    {
      actions |= NB_WG_TIMER_ACTION_SEND_KEEPALIVE;
      if (timers->need_another_keepalive)
        {
          timers->need_another_keepalive = FALSE;
          arm (timers, NB_WG_TIMER_SEND_KEEPALIVE, now + SEC (NB_WG_KEEPALIVE_TIMEOUT));
        }
    }

  if (fired (timers, NB_WG_TIMER_NEW_HANDSHAKE, now))
    actions |= NB_WG_TIMER_ACTION_SEND_INITIATION;

  if (fired (timers, NB_WG_TIMER_ZERO_KEY_MATERIAL, now))
    actions |= NB_WG_TIMER_ACTION_ZERO_KEYS;

  if (fired (timers, NB_WG_TIMER_PERSISTENT_KEEPALIVE, now))
    actions |= NB_WG_TIMER_ACTION_SEND_KEEPALIVE;

  return actions;
}
