/* nb-cli-daemon-status.h: what the daemon tells of its NbClient
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#include <netbird.h>

G_BEGIN_DECLS

const char *nb_cli_client_state_name   (NbClientState  state);
GVariant   *nb_cli_daemon_status_build (NbClient      *client);

G_END_DECLS
