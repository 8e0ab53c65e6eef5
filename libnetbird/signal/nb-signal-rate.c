/* nb-signal-rate.c: the rate limit of one Signal connection
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include "nb-signal-private.h"

void
nb_signal_rate_init (NbSignalRate *rate,
                     guint         per_second,
                     guint         burst,
                     gint64        now_us)
{
  rate->per_second = MAX (per_second, 1);
  rate->burst = MAX (burst, 1);
  rate->tokens = rate->burst;
  rate->excess = 0;
  rate->last_us = now_us;
}

NbSignalRateVerdict
nb_signal_rate_take (NbSignalRate *rate,
                     gint64        now_us)
{
  double refill = 0;

  if (now_us > rate->last_us)
    {
      refill = (double) (now_us - rate->last_us) * rate->per_second / G_USEC_PER_SEC;
      rate->last_us = now_us;
    }
  rate->tokens = MIN (rate->burst, rate->tokens + refill);
  rate->excess = MAX (0.0, rate->excess - refill);

  if (rate->tokens >= 1.0)
    {
      rate->tokens -= 1.0;
      return NB_SIGNAL_RATE_PASS;
    }
  rate->excess += 1.0;
  if (rate->excess > rate->burst + rate->per_second * NB_SIGNAL_RATE_FLOOD_SECONDS)
    return NB_SIGNAL_RATE_FLOOD;
  return NB_SIGNAL_RATE_DROP;
}
