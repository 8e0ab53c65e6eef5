/* nb-cli-service.h: `netbird service install|uninstall|start|stop`
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  const char *root;          /* alternative root (tests, images), or NULL */
  const char *config;        /* the flags `service run` gets in the unit */
  const char *daemon_addr;
  const char *log_level;
  const char *daemon_group;
} NbCliServiceOptions;

char     *nb_cli_service_unit_path  (const char                 *root);
char     *nb_cli_service_unit_text  (const char                 *executable,
                                     const NbCliServiceOptions  *options);
gboolean  nb_cli_service_install    (const NbCliServiceOptions  *options,
                                     char                      **unit_path,
                                     GError                    **error);
gboolean  nb_cli_service_uninstall  (const NbCliServiceOptions  *options,
                                     char                      **unit_path,
                                     GError                    **error);
gboolean  nb_cli_service_systemctl  (const char                 *verb,
                                     GError                    **error);

G_END_DECLS
