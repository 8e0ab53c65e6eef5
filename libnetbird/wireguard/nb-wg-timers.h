/* nb-wg-timers.h: the timer state machine of a peer (WireGuard paper §6)
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * Pure bookkeeping with an injected clock: events (packet sent, handshake
 * complete...) arm or disarm deadlines, and nb_wg_timers_expire() tells the
 * caller which timers fired at a given time. The peer code performs the
 * actions; the device polls from its GLib main context. Callers lock.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  NB_WG_TIMER_RETRANSMIT_HANDSHAKE,
  NB_WG_TIMER_SEND_KEEPALIVE,
  NB_WG_TIMER_NEW_HANDSHAKE,
  NB_WG_TIMER_ZERO_KEY_MATERIAL,
  NB_WG_TIMER_PERSISTENT_KEEPALIVE,
  NB_WG_N_TIMERS
} NbWgTimer;

typedef enum {
  NB_WG_TIMER_ACTION_NONE = 0,
  /* Send a new initiation (a retransmission or a new handshake). */
  NB_WG_TIMER_ACTION_SEND_INITIATION = 1 << 0,
  /* Send an empty data packet. */
  NB_WG_TIMER_ACTION_SEND_KEEPALIVE = 1 << 1,
  /* Give up: drop the packets waiting for a handshake. */
  NB_WG_TIMER_ACTION_DROP_STAGED = 1 << 2,
  /* Forget every key of the peer. */
  NB_WG_TIMER_ACTION_ZERO_KEYS = 1 << 3,
  /* A handshake retransmission (not a first try): counted in stats. */
  NB_WG_TIMER_ACTION_IS_RETRY = 1 << 4,
} NbWgTimerActions;

typedef struct {
  /* Absolute deadline in the clock's µs, or 0 when not armed. */
  gint64 deadline[NB_WG_N_TIMERS];
  guint handshake_attempts;
  gboolean need_another_keepalive;
  guint16 persistent_keepalive_interval;
} NbWgTimers;

void nb_wg_timers_init (NbWgTimers *timers);
gboolean nb_wg_timers_is_armed (const NbWgTimers *timers,
                                NbWgTimer          timer);
/* The earliest armed deadline, or G_MAXINT64. */
gint64 nb_wg_timers_next_deadline (const NbWgTimers *timers);

/* Events of §6, named as the kernel's timers.c names them. @now is µs of the
 * same clock for all. */
void nb_wg_timers_handshake_initiated          (NbWgTimers *timers,
                                                gint64      now);
void nb_wg_timers_handshake_complete           (NbWgTimers *timers);
void nb_wg_timers_session_derived              (NbWgTimers *timers,
                                                gint64      now);
void nb_wg_timers_data_sent                    (NbWgTimers *timers,
                                                gint64      now);
void nb_wg_timers_data_received                (NbWgTimers *timers,
                                                gint64      now);
void nb_wg_timers_any_authenticated_packet_sent      (NbWgTimers *timers);
void nb_wg_timers_any_authenticated_packet_received  (NbWgTimers *timers);
void nb_wg_timers_any_authenticated_packet_traversal (NbWgTimers *timers,
                                                      gint64      now);
void nb_wg_timers_set_persistent_keepalive     (NbWgTimers *timers,
                                                guint16     interval,
                                                gint64      now);
void nb_wg_timers_stop_all                     (NbWgTimers *timers);

/* Disarms every timer whose deadline is <= @now and returns what to do. */
NbWgTimerActions nb_wg_timers_expire (NbWgTimers *timers,
                                      gint64      now);

G_END_DECLS
