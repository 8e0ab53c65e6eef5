/* nb-limits.c: process limits the network daemons set at start
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird"

#include <errno.h>
#include <sys/resource.h>

#include "nb-limits.h"

/**
 * nb_raise_descriptor_limit:
 *
 * Raises the soft limit of open descriptors (`RLIMIT_NOFILE`) to the hard
 * limit and logs what was got. Each connection a server holds takes a
 * descriptor, and systemd starts services with a soft limit of 1,024; the
 * servers' connection caps are derived from the limit in force when they
 * start listening, so daemons call this first.
 *
 * Returns: the soft limit now in force, 0 when it cannot be read
 */
guint64
nb_raise_descriptor_limit (void)
{
  struct rlimit limit;
  rlim_t before;

  if (getrlimit (RLIMIT_NOFILE, &limit) != 0)
    {
      g_warning ("Cannot read the descriptor limit: %s", g_strerror (errno));
      return 0;
    }
  before = limit.rlim_cur;
  if (limit.rlim_cur < limit.rlim_max)
    {
      limit.rlim_cur = limit.rlim_max;
      if (setrlimit (RLIMIT_NOFILE, &limit) != 0)
        {
          g_warning ("Cannot raise the descriptor limit from %" G_GUINT64_FORMAT
                     " to %" G_GUINT64_FORMAT ": %s", (guint64) before,
                     (guint64) limit.rlim_max, g_strerror (errno));
          return before;
        }
    }
  g_message ("Descriptor limit: %" G_GUINT64_FORMAT " (was %" G_GUINT64_FORMAT
             ", hard limit %" G_GUINT64_FORMAT ")", (guint64) limit.rlim_cur,
             (guint64) before, (guint64) limit.rlim_max);
  return limit.rlim_cur;
}
