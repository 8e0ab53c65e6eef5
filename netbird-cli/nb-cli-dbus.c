/* nb-cli-dbus.c: how `netbird` and its daemon meet
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * The daemon serves io.netbird.Daemon1 peer-to-peer on a Unix socket; the
 * CLI connects there, and both sides map NbClientError codes to D-Bus error
 * names so a failure keeps its meaning across the socket. Every failure the
 * CLI can meet ends in one exit code of the table below.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <netbird.h>

#include "nb-cli-dbus.h"

G_DEFINE_QUARK (nb-cli-error-quark, nb_cli_error)

const char nb_cli_exit_code_help[] =
  "Exit codes:\n"
  "   0  success (for status --check: the check passed)\n"
  "   1  any other failure (the message says which)\n"
  "   2  wrong command line\n"
  "   3  the daemon is not running (start it: netbird service start,\n"
  "      or netbird service run)\n"
  "   4  permission denied on the daemon's socket (run as root or as a\n"
  "      member of the socket's group)\n"
  "   5  Management is unreachable\n"
  "   6  the setup key is not valid (Management knows no such key)\n"
  "   7  Management refused the login: setup key expired, revoked or used\n"
  "      up, or the peer's login expired\n"
  "   8  this peer is not registered: give a setup key (-k or --setup-key-file)\n"
  "   9  this peer was deleted from the network\n"
  "  10  status --check: the daemon is not ready\n";

static const struct
{
  NbClientError code;
  const char *name;
} client_errors[] = {
  { NB_CLIENT_ERROR_CONFIG, "io.netbird.Daemon1.Error.Config" },
  { NB_CLIENT_ERROR_NEEDS_SETUP_KEY, "io.netbird.Daemon1.Error.NeedsSetupKey" },
  { NB_CLIENT_ERROR_SETUP_KEY_INVALID, "io.netbird.Daemon1.Error.SetupKeyInvalid" },
  { NB_CLIENT_ERROR_LOGIN_REFUSED, "io.netbird.Daemon1.Error.LoginRefused" },
  { NB_CLIENT_ERROR_PEER_DELETED, "io.netbird.Daemon1.Error.PeerDeleted" },
  { NB_CLIENT_ERROR_MANAGEMENT_UNREACHABLE, "io.netbird.Daemon1.Error.ManagementUnreachable" },
  { NB_CLIENT_ERROR_PROTOCOL, "io.netbird.Daemon1.Error.Protocol" },
  { NB_CLIENT_ERROR_DEVICE, "io.netbird.Daemon1.Error.Device" },
  { NB_CLIENT_ERROR_WRONG_STATE, "io.netbird.Daemon1.Error.WrongState" },
};

/* Both ends register the same names: the daemon's
 * g_dbus_method_invocation_return_gerror() sends the name, and the CLI's
 * proxy turns the name back into NB_CLIENT_ERROR and its code. */
void
nb_cli_register_dbus_errors (void)
{
  static gsize registered = 0;

  if (g_once_init_enter (&registered))
    {
      for (gsize i = 0; i < G_N_ELEMENTS (client_errors); i++)
        g_dbus_error_register_error (NB_CLIENT_ERROR, client_errors[i].code,
                                     client_errors[i].name);
      g_once_init_leave (&registered, 1);
    }
}

/* NetBird writes the daemon's address as a URL: unix:///var/run/netbird.sock.
 * Only Unix sockets are served (no TCP: the socket's owner and mode are the
 * access control). */
char *
nb_cli_socket_path_from_address (const char  *daemon_addr,
                                 GError     **error)
{
  const char *path;

  if (g_str_has_prefix (daemon_addr, "unix://"))
    path = daemon_addr + strlen ("unix://");
  else if (g_str_has_prefix (daemon_addr, "unix:"))
    path = daemon_addr + strlen ("unix:");
  else
    {
      g_set_error (error, NB_CLI_ERROR, NB_CLI_ERROR_BAD_ADDRESS,
                   "daemon address '%s' is not a Unix socket: write it as "
                   "unix:///path/to/netbird.sock", daemon_addr);
      return NULL;
    }
  if (path[0] != '/' || strlen (path) >= 108 /* sun_path */)
    {
      g_set_error (error, NB_CLI_ERROR, NB_CLI_ERROR_BAD_ADDRESS,
                   "daemon address '%s' needs an absolute socket path of at "
                   "most 107 bytes, as unix:///var/run/netbird.sock", daemon_addr);
      return NULL;
    }
  return g_strdup (path);
}

char *
nb_cli_dbus_address_for_path (const char *socket_path)
{
  g_autofree char *escaped = g_dbus_address_escape_value (socket_path);

  return g_strconcat ("unix:path=", escaped, NULL);
}

/* Why a connection to the daemon failed, in words that say what to do:
 * the socket's absence, a refused connect() (a stale socket) and an
 * authentication the daemon turned down each get their own error. */
static void
explain_connect_failure (const char  *daemon_addr,
                         const char  *path,
                         GError      *cause,
                         GError     **error)
{
  struct stat st;

  if (stat (path, &st) != 0 && errno == ENOENT)
    {
      g_set_error (error, NB_CLI_ERROR, NB_CLI_ERROR_DAEMON_NOT_RUNNING,
                   "the NetBird daemon is not running (no socket at %s). Start it "
                   "with 'netbird service start' (systemd) or 'netbird service run "
                   "--daemon-addr %s' as root", path, daemon_addr);
      return;
    }
  if (g_error_matches (cause, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED) ||
      g_error_matches (cause, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    {
      g_set_error (error, NB_CLI_ERROR, NB_CLI_ERROR_DAEMON_NOT_RUNNING,
                   "the NetBird daemon is not running (nothing answers on %s). "
                   "Start it with 'netbird service start' (systemd) or 'netbird "
                   "service run --daemon-addr %s' as root", path, daemon_addr);
      return;
    }
  if (g_error_matches (cause, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED))
    {
      g_set_error (error, NB_CLI_ERROR, NB_CLI_ERROR_PERMISSION_DENIED,
                   "permission denied on the daemon's socket %s: run netbird as "
                   "root (sudo) or as a member of the socket's group", path);
      return;
    }
  /* The socket accepted us but the daemon ended the authentication: it
   * serves only root and members of the socket's group. */
  if (access (path, R_OK | W_OK) == 0 && cause->domain == G_IO_ERROR)
    {
      g_set_error (error, NB_CLI_ERROR, NB_CLI_ERROR_PERMISSION_DENIED,
                   "the daemon on %s refused this user (uid %u): run netbird as "
                   "root (sudo) or as a member of the socket's group",
                   path, (guint) getuid ());
      return;
    }
  g_set_error (error, NB_CLI_ERROR, NB_CLI_ERROR_DAEMON_NOT_RUNNING,
               "cannot reach the NetBird daemon on %s: %s", path, cause->message);
}

NbDBusDaemon *
nb_cli_connect (const char  *daemon_addr,
                GError     **error)
{
  g_autofree char *path = NULL;
  g_autofree char *address = NULL;
  g_autoptr(GDBusConnection) connection = NULL;
  g_autoptr(GError) local_error = NULL;
  NbDBusDaemon *proxy;

  nb_cli_register_dbus_errors ();

  path = nb_cli_socket_path_from_address (daemon_addr, error);
  if (path == NULL)
    return NULL;
  address = nb_cli_dbus_address_for_path (path);

  connection = g_dbus_connection_new_for_address_sync (address,
                                                       G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT,
                                                       NULL, NULL, &local_error);
  if (connection == NULL)
    {
      explain_connect_failure (daemon_addr, path, local_error, error);
      return NULL;
    }

  /* A peer-to-peer connection has no bus names: the proxy talks to the
   * other end directly. Loading the properties is the first call: without
   * them, what answered is not a NetBird daemon. */
  proxy = nb_dbus_daemon_proxy_new_sync (connection, G_DBUS_PROXY_FLAGS_NONE, NULL,
                                         NB_CLI_DAEMON_OBJECT_PATH, NULL, &local_error);
  if (proxy == NULL)
    {
      explain_connect_failure (daemon_addr, path, local_error, error);
      return NULL;
    }
  if (nb_dbus_daemon_get_version (proxy) == NULL)
    {
      g_clear_object (&proxy);
      g_set_error (error, NB_CLI_ERROR, NB_CLI_ERROR_DAEMON_NOT_RUNNING,
                   "no NetBird daemon answers on %s (another program's socket?): start "
                   "one with 'netbird service run --daemon-addr %s'", path, daemon_addr);
      return NULL;
    }
  return proxy;
}

NbCliExit
nb_cli_exit_code_for_error (const GError *error)
{
  if (error->domain == NB_CLI_ERROR)
    {
      switch ((NbCliError) error->code)
        {
        case NB_CLI_ERROR_DAEMON_NOT_RUNNING:
          return NB_CLI_EXIT_DAEMON_NOT_RUNNING;
        case NB_CLI_ERROR_PERMISSION_DENIED:
          return NB_CLI_EXIT_PERMISSION_DENIED;
        case NB_CLI_ERROR_BAD_ADDRESS:
        case NB_CLI_ERROR_USAGE:
          return NB_CLI_EXIT_USAGE;
        }
    }
  if (error->domain == NB_CLIENT_ERROR)
    {
      switch ((NbClientError) error->code)
        {
        case NB_CLIENT_ERROR_MANAGEMENT_UNREACHABLE:
          return NB_CLI_EXIT_MANAGEMENT_UNREACHABLE;
        case NB_CLIENT_ERROR_SETUP_KEY_INVALID:
          return NB_CLI_EXIT_SETUP_KEY_INVALID;
        case NB_CLIENT_ERROR_LOGIN_REFUSED:
          return NB_CLI_EXIT_LOGIN_REFUSED;
        case NB_CLIENT_ERROR_NEEDS_SETUP_KEY:
          return NB_CLI_EXIT_NEEDS_SETUP_KEY;
        case NB_CLIENT_ERROR_PEER_DELETED:
          return NB_CLI_EXIT_PEER_DELETED;
        case NB_CLIENT_ERROR_CONFIG:
        case NB_CLIENT_ERROR_PROTOCOL:
        case NB_CLIENT_ERROR_DEVICE:
        case NB_CLIENT_ERROR_WRONG_STATE:
          return NB_CLI_EXIT_FAILURE;
        }
    }
  if (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS))
    return NB_CLI_EXIT_USAGE;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CLOSED))
    return NB_CLI_EXIT_DAEMON_NOT_RUNNING;
  return NB_CLI_EXIT_FAILURE;
}

/* The message of an error from the daemon without GDBus's
 * "GDBus.Error:io.netbird...: " prefix, plus what to do where there is
 * something to do. */
char *
nb_cli_describe_error (const GError *error)
{
  g_autoptr(GError) copy = g_error_copy (error);

  if (g_dbus_error_is_remote_error (copy))
    g_dbus_error_strip_remote_error (copy);

  if (copy->domain == NB_CLIENT_ERROR)
    {
      switch ((NbClientError) copy->code)
        {
        case NB_CLIENT_ERROR_NEEDS_SETUP_KEY:
          return g_strdup_printf ("%s (netbird up --setup-key KEY, or --setup-key-file "
                                  "FILE, or NB_SETUP_KEY)", copy->message);
        case NB_CLIENT_ERROR_MANAGEMENT_UNREACHABLE:
          return g_strdup_printf ("%s; check the management URL (-m/--management-url) "
                                  "and that Management is running", copy->message);
        case NB_CLIENT_ERROR_PEER_DELETED:
          return g_strdup_printf ("%s; register it again with a setup key: netbird up "
                                  "--setup-key KEY", copy->message);
        default:
          break;
        }
    }
  if (g_error_matches (copy, G_IO_ERROR, G_IO_ERROR_CLOSED))
    return g_strdup_printf ("the daemon closed the connection (it stopped?): %s",
                            copy->message);
  return g_strdup (copy->message);
}
