/* nb-cli-service.c: `netbird service install|uninstall|start|stop`
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * The daemon as a systemd service: a unit of Type=simple that runs
 * `netbird service run` with the flags given to `install`, restarts it when
 * it fails, and keeps it to the capabilities a tunnel needs, with the file
 * system read-only but for its configuration and socket folders (the way
 * systemd-networkd's and wg-quick@'s units stand). An alternative root
 * (--root DIR, or NB_SYSTEMD_UNIT_DIR naming the unit folder itself) lets
 * images and tests write the unit without touching the machine.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>

#include "nb-cli-dbus.h"
#include "nb-cli-service.h"

#define UNIT_NAME "netbird.service"
#define DEFAULT_CONFIG "/etc/netbird/config.json"

/* sd_booted(): systemd runs this machine when this folder exists. */
static gboolean
systemd_is_running (void)
{
  return g_file_test ("/run/systemd/system", G_FILE_TEST_IS_DIR);
}

char *
nb_cli_service_unit_path (const char *root)
{
  const char *dir = g_getenv ("NB_SYSTEMD_UNIT_DIR");

  if (dir != NULL && dir[0] != '\0')
    return g_build_filename (dir, UNIT_NAME, NULL);
  return g_build_filename (root != NULL ? root : "/", "etc", "systemd", "system", UNIT_NAME,
                           NULL);
}

/* One word of a systemd command line: double quotes around anything
 * unusual, with '\' and '"' escaped, '%' (specifiers) and '$' (variables)
 * doubled. */
static void
append_word (GString    *line,
             const char *word)
{
  gboolean plain = word[0] != '\0';

  for (const char *p = word; *p != '\0'; p++)
    if (!(g_ascii_isalnum (*p) || strchr ("/._-:=+,@", *p) != NULL))
      plain = FALSE;

  g_string_append_c (line, ' ');
  if (plain)
    {
      g_string_append (line, word);
      return;
    }
  g_string_append_c (line, '"');
  for (const char *p = word; *p != '\0'; p++)
    {
      if (*p == '\\' || *p == '"')
        g_string_append_c (line, '\\');
      else if (*p == '%' || *p == '$')
        g_string_append_c (line, *p);
      g_string_append_c (line, *p);
    }
  g_string_append_c (line, '"');
}

static void
append_flag (GString    *line,
             const char *flag,
             const char *value)
{
  if (value == NULL)
    return;
  append_word (line, flag);
  append_word (line, value);
}

char *
nb_cli_service_unit_text (const char                *executable,
                          const NbCliServiceOptions *options)
{
  const char *config = options->config != NULL ? options->config : DEFAULT_CONFIG;
  g_autofree char *config_dir = g_path_get_dirname (config);
  g_autofree char *socket_path = NULL;
  g_autofree char *socket_dir = NULL;
  g_autoptr(GString) exec = g_string_new ("ExecStart=");
  GString *unit = g_string_new (NULL);

  socket_path = nb_cli_socket_path_from_address (options->daemon_addr != NULL
                                                   ? options->daemon_addr
                                                   : NB_CLI_DEFAULT_DAEMON_ADDR, NULL);
  socket_dir = g_path_get_dirname (socket_path != NULL ? socket_path : "/run/netbird.sock");

  g_string_append (exec, executable);
  append_word (exec, "service");
  append_word (exec, "run");
  append_flag (exec, "--config", config);
  append_flag (exec, "--daemon-addr", options->daemon_addr);
  append_flag (exec, "--log-level", options->log_level);
  append_flag (exec, "--daemon-group", options->daemon_group);

  g_string_append (unit,
                   "# Written by 'netbird service install'; 'netbird service uninstall'\n"
                   "# removes it.\n"
                   "[Unit]\n"
                   "Description=NetBird client daemon (libnetbird)\n"
                   "After=network-online.target\n"
                   "Wants=network-online.target\n"
                   "\n"
                   "[Service]\n"
                   "Type=simple\n");
  g_string_append_printf (unit, "%s\n", exec->str);
  g_string_append (unit,
                   "Restart=on-failure\n"
                   "RestartSec=5\n"
                   "# TUN device, addresses and routes; the socket's group.\n"
                   "CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW CAP_NET_BIND_SERVICE "
                   "CAP_CHOWN CAP_FOWNER\n"
                   "NoNewPrivileges=yes\n"
                   "ProtectSystem=strict\n"
                   "ProtectHome=yes\n"
                   "PrivateTmp=yes\n"
                   "ProtectKernelModules=yes\n"
                   "ProtectControlGroups=yes\n"
                   "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK\n");
  /* The configuration's folder (the key and wanted-up files live there
   * too) and /run: the socket's usual place, and where the WireGuard
   * configuration sockets go (/run/wireguard). */
  g_string_append (unit, "ReadWritePaths=");
  {
    g_autoptr(GString) dirs = g_string_new (NULL);
    append_word (dirs, config_dir);
    append_word (dirs, "/run");
    if (!g_str_equal (socket_dir, config_dir) && !g_str_equal (socket_dir, "/run") &&
        !g_str_equal (socket_dir, "/var/run") && !g_str_has_prefix (socket_dir, "/run/") &&
        !g_str_has_prefix (socket_dir, "/var/run/"))
      append_word (dirs, socket_dir);
    /* the leading space of the first word */
    g_string_append (unit, dirs->str + 1);
  }
  g_string_append (unit,
                   "\n"
                   "\n"
                   "[Install]\n"
                   "WantedBy=multi-user.target\n");
  return g_string_free (unit, FALSE);
}

static char *
own_executable (void)
{
  g_autoptr(GError) error = NULL;
  char *path = g_file_read_link ("/proc/self/exe", &error);

  return path != NULL ? path : g_strdup ("/usr/bin/netbird");
}

static gboolean
run_systemctl (const char *const *args,
               GError           **error)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *err = NULL;
  int status = 0;

  g_ptr_array_add (argv, (char *) "systemctl");
  for (const char *const *a = args; *a != NULL; a++)
    g_ptr_array_add (argv, (char *) *a);
  g_ptr_array_add (argv, NULL);

  if (!g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                     NULL, &err, &status, error))
    return FALSE;
  if (!g_spawn_check_wait_status (status, NULL))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "systemctl %s failed: %s", args[0],
                   err != NULL ? g_strstrip (err) : "");
      return FALSE;
    }
  return TRUE;
}

/* The machine's own systemd is told only when the unit went to the
 * machine's own folder. */
static gboolean
is_machine_root (const NbCliServiceOptions *options)
{
  const char *dir = g_getenv ("NB_SYSTEMD_UNIT_DIR");

  return (options->root == NULL || g_str_equal (options->root, "/")) &&
         (dir == NULL || dir[0] == '\0');
}

gboolean
nb_cli_service_install (const NbCliServiceOptions  *options,
                        char                      **unit_path,
                        GError                    **error)
{
  g_autofree char *path = nb_cli_service_unit_path (options->root);
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *executable = own_executable ();
  g_autofree char *text = NULL;

  if (options->daemon_addr != NULL)
    {
      g_autofree char *socket_path = nb_cli_socket_path_from_address (options->daemon_addr,
                                                                      error);
      if (socket_path == NULL)
        return FALSE;
    }
  if (g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                   "the service is already installed (%s): run 'netbird service "
                   "uninstall' first", path);
      return FALSE;
    }
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "cannot create %s: %s", dir, g_strerror (saved));
      return FALSE;
    }
  text = nb_cli_service_unit_text (executable, options);
  if (!g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644, error))
    return FALSE;

  /* ReadWritePaths= needs its folders to exist when the service starts. */
  if (is_machine_root (options))
    {
      g_autofree char *config_dir = g_path_get_dirname (options->config != NULL
                                                          ? options->config
                                                          : DEFAULT_CONFIG);
      g_autofree char *socket_path = nb_cli_socket_path_from_address (
        options->daemon_addr != NULL ? options->daemon_addr : NB_CLI_DEFAULT_DAEMON_ADDR, NULL);
      g_autofree char *socket_dir = g_path_get_dirname (socket_path);

      if (g_mkdir_with_parents (config_dir, 0700) != 0 ||
          g_mkdir_with_parents (socket_dir, 0755) != 0)
        {
          int saved = errno;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                       "cannot create %s or %s: %s", config_dir, socket_dir,
                       g_strerror (saved));
          return FALSE;
        }
    }
  if (is_machine_root (options) && systemd_is_running ())
    {
      const char *reload[] = { "daemon-reload", NULL };
      const char *enable[] = { "enable", UNIT_NAME, NULL };

      if (!run_systemctl (reload, error) || !run_systemctl (enable, error))
        return FALSE;
    }
  if (unit_path != NULL)
    *unit_path = g_steal_pointer (&path);
  return TRUE;
}

gboolean
nb_cli_service_uninstall (const NbCliServiceOptions  *options,
                          char                      **unit_path,
                          GError                    **error)
{
  g_autofree char *path = nb_cli_service_unit_path (options->root);
  gboolean machine = is_machine_root (options) && systemd_is_running ();

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "the service is not installed (no %s)", path);
      return FALSE;
    }
  if (machine)
    {
      const char *disable[] = { "disable", "--now", UNIT_NAME, NULL };

      if (!run_systemctl (disable, error))
        return FALSE;
    }
  if (unlink (path) != 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "cannot remove %s: %s", path, g_strerror (saved));
      return FALSE;
    }
  if (machine)
    {
      const char *reload[] = { "daemon-reload", NULL };

      if (!run_systemctl (reload, error))
        return FALSE;
    }
  if (unit_path != NULL)
    *unit_path = g_steal_pointer (&path);
  return TRUE;
}

gboolean
nb_cli_service_systemctl (const char  *verb,
                          GError     **error)
{
  const char *args[] = { verb, UNIT_NAME, NULL };

  if (!systemd_is_running ())
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "systemd is not running on this machine: run the daemon yourself "
                   "as root with 'netbird service run' (and stop it with Ctrl-C or "
                   "SIGTERM)");
      return FALSE;
    }
  return run_systemctl (args, error);
}
