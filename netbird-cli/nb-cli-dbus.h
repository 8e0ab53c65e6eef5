/* nb-cli-dbus.h: how `netbird` and its daemon meet: the socket address,
 * the D-Bus errors, the exit codes a failure maps to
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#include <gio/gio.h>

#include "nb-daemon-dbus.h"

G_BEGIN_DECLS

/* Where the daemon listens unless told otherwise (NetBird's default). */
#define NB_CLI_DEFAULT_DAEMON_ADDR "unix:///var/run/netbird.sock"
/* The one object the daemon exports on every connection. */
#define NB_CLI_DAEMON_OBJECT_PATH "/io/netbird/Daemon"
/* How long `up` and `login` wait for the daemon: a login against a slow
 * Management, then the first network map. */
#define NB_CLI_LONG_CALL_TIMEOUT_MS (120 * 1000)

/* The exit codes of `netbird`, one per failure a script may want to tell
 * apart; docs/cli.md and `netbird --help` list them. */
typedef enum {
  NB_CLI_EXIT_OK = 0,
  NB_CLI_EXIT_FAILURE = 1,
  NB_CLI_EXIT_USAGE = 2,
  NB_CLI_EXIT_DAEMON_NOT_RUNNING = 3,
  NB_CLI_EXIT_PERMISSION_DENIED = 4,
  NB_CLI_EXIT_MANAGEMENT_UNREACHABLE = 5,
  NB_CLI_EXIT_SETUP_KEY_INVALID = 6,
  NB_CLI_EXIT_LOGIN_REFUSED = 7,
  NB_CLI_EXIT_NEEDS_SETUP_KEY = 8,
  NB_CLI_EXIT_PEER_DELETED = 9,
  NB_CLI_EXIT_NOT_READY = 10,
} NbCliExit;

/* The text of the exit code table, for `--help`. */
extern const char nb_cli_exit_code_help[];

/* Failures of the front-end itself (reaching the daemon, arguments). */
#define NB_CLI_ERROR (nb_cli_error_quark ())

typedef enum {
  NB_CLI_ERROR_BAD_ADDRESS,
  NB_CLI_ERROR_DAEMON_NOT_RUNNING,
  NB_CLI_ERROR_PERMISSION_DENIED,
  NB_CLI_ERROR_USAGE,
} NbCliError;

GQuark            nb_cli_error_quark              (void);

void              nb_cli_register_dbus_errors     (void);

char             *nb_cli_socket_path_from_address (const char  *daemon_addr,
                                                   GError     **error);
char             *nb_cli_dbus_address_for_path    (const char  *socket_path);

NbDBusDaemon     *nb_cli_connect                  (const char  *daemon_addr,
                                                   GError     **error);

NbCliExit         nb_cli_exit_code_for_error      (const GError *error);
char             *nb_cli_describe_error           (const GError *error);

G_END_DECLS
