/* nb-cli-log.h: `-l/--log-level` for the CLI and the daemon
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gboolean nb_cli_log_setup (const char  *level,
                           GError     **error);

G_END_DECLS
