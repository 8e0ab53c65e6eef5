/* nb-signal-private.h: what the files of the Signal layer share
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#if !defined(NB_COMPILATION)
#error "nb-signal-private.h is internal to libnetbird."
#endif

#include "nb-signal-message.h"
#include "nb-signal-proto-private.h"

G_BEGIN_DECLS

/* nb-signal-message.c: the public message and the wire body.
 * nb_signal_message_fill_body() fills a body on the stack with the
 * message's own strings: it lives no longer than the message and is never
 * freed with nb_signal_msg_body_free(). */
NbSignalMessage *nb_signal_message_new_from_body (const NbSignalMsgBody *body);
void             nb_signal_message_fill_body     (NbSignalMessage       *self,
                                                  NbSignalMsgBody       *body);

/* nb-signal-rate.c: a connection's rate limit. A token bucket of @burst
 * tokens refilled at @per_second; a message takes one or is dropped. Drops
 * fill a second bucket that leaks at @per_second: once it holds more than
 * the burst and NB_SIGNAL_RATE_FLOOD_SECONDS of the rate, the sender has
 * kept sending at more than twice its limit for seconds, and is cut off. */
#define NB_SIGNAL_RATE_FLOOD_SECONDS 3

typedef enum {
  NB_SIGNAL_RATE_PASS,
  NB_SIGNAL_RATE_DROP,
  NB_SIGNAL_RATE_FLOOD,
} NbSignalRateVerdict;

typedef struct
{
  double per_second;
  double burst;
  double tokens;
  double excess;
  gint64 last_us;
} NbSignalRate;

void                nb_signal_rate_init  (NbSignalRate *rate,
                                          guint         per_second,
                                          guint         burst,
                                          gint64        now_us);
NbSignalRateVerdict nb_signal_rate_take  (NbSignalRate *rate,
                                          gint64        now_us);

G_END_DECLS
