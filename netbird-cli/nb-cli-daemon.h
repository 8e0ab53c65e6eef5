/* nb-cli-daemon.h: `netbird service run`: one NbClient served over D-Bus
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  const char *config;        /* the client's configuration file */
  const char *daemon_addr;   /* unix:///path of the socket to serve */
  const char *daemon_group;  /* the socket's group, or NULL for the daemon's own */
} NbCliDaemonOptions;

gboolean nb_cli_daemon_run (const NbCliDaemonOptions  *options,
                            GError                   **error);

G_END_DECLS
