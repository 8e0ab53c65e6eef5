/* nb-cli-status.h: `netbird status` in NetBird's three shapes
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  NB_CLI_STATUS_SUMMARY,
  NB_CLI_STATUS_DETAIL,
  NB_CLI_STATUS_JSON,
} NbCliStatusFormat;

char *nb_cli_status_format (GVariant          *status,
                            NbCliStatusFormat  format,
                            gint64             now_us);

char *nb_cli_format_time_ago  (gint64 then_us,
                               gint64 now_us);
char *nb_cli_format_bytes     (guint64 bytes);
char *nb_cli_format_duration  (gint64 microseconds);

G_END_DECLS
