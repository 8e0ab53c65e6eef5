/* nb-service-limits.c: the descriptor limit and the defaults derived from it
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-service"

#include <sys/resource.h>

#include "nb-service-private.h"

guint64
nb_service_get_fd_limit (void)
{
  struct rlimit limit;

  if (getrlimit (RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY)
    return 1024 * 1024;
  return limit.rlim_cur;
}

void
nb_service_limits_init (NbServiceLimits *limits)
{
  *limits = (NbServiceLimits) { 0 };
  nb_service_limits_complete (limits);
}

/* The global cap leaves a reserve for the store, the logs and the
 * listeners, so that accept() fails on the cap, not on EMFILE. One source
 * address may hold three quarters of it: many peers sit behind one NAT,
 * and a quarter stays for everyone else. */
void
nb_service_limits_complete (NbServiceLimits *limits)
{
  if (limits->max_connections == 0)
    {
      guint64 fds = nb_service_get_fd_limit ();
      guint64 reserve = MAX (NB_SERVICE_DESCRIPTOR_RESERVE, fds / 16);

      limits->max_connections = (guint) CLAMP (fds > reserve ? fds - reserve : 16, 16,
                                               G_MAXINT);
    }
  if (limits->max_connections_per_address == 0)
    limits->max_connections_per_address = MAX ((guint) ((guint64) limits->max_connections * 3 / 4),
                                               1);
  if (limits->max_body_size == 0)
    limits->max_body_size = NB_SERVICE_DEFAULT_MAX_BODY_SIZE;
  if (limits->max_header_size == 0)
    limits->max_header_size = NB_SERVICE_DEFAULT_MAX_HEADER_SIZE;
  if (limits->tls_timeout_ms == 0)
    limits->tls_timeout_ms = NB_SERVICE_DEFAULT_TLS_TIMEOUT_MS;
  if (limits->header_timeout_ms == 0)
    limits->header_timeout_ms = NB_SERVICE_DEFAULT_HEADER_TIMEOUT_MS;
  if (limits->body_timeout_ms == 0)
    limits->body_timeout_ms = NB_SERVICE_DEFAULT_BODY_TIMEOUT_MS;
  if (limits->idle_timeout_ms == 0)
    limits->idle_timeout_ms = NB_SERVICE_DEFAULT_IDLE_TIMEOUT_MS;
  if (limits->websocket_auth_timeout_ms == 0)
    limits->websocket_auth_timeout_ms = NB_SERVICE_DEFAULT_WEBSOCKET_AUTH_TIMEOUT_MS;
  if (limits->channel_max_queued == 0)
    limits->channel_max_queued = NB_SERVICE_DEFAULT_CHANNEL_MAX_QUEUED;
}
