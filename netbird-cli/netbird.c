/* netbird.c: the `netbird` command line client
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * A thin front-end: it parses arguments, calls libnetbird or the daemon
 * and prints. `up`, `down`, `login`, `logout` and `status` speak D-Bus to
 * the daemon (`netbird service run`) and nothing else; `service run` is
 * the daemon; `version`, `genkey` and `pubkey` work alone.
 */
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <netbird.h>

#include "nb-cli-daemon.h"
#include "nb-cli-dbus.h"
#include "nb-cli-log.h"
#include "nb-cli-options.h"
#include "nb-cli-service.h"
#include "nb-cli-status.h"

typedef struct
{
  const char *name;
  const char *summary;
  int (*run) (NbCliCommandLine *line);
} Command;

static int
cmd_version (NbCliCommandLine *line)
{
  g_print ("%s\n", nb_get_version_string ());
  return 0;
}

/* Like `wg genkey`: a new private key in base64 on stdout. The key is
 * written to nothing but the terminal or pipe the user chose. */
static int
cmd_genkey (NbCliCommandLine *line)
{
  g_autoptr(NbKey) key = nb_key_generate ();
  g_autoptr(GError) error = NULL;
  char *text;

  if (isatty (STDOUT_FILENO))
    g_printerr ("Warning: writing a private key to a terminal\n");

  text = nb_key_dup_private_base64 (key, &error);
  if (text == NULL)
    {
      g_printerr ("netbird genkey: %s\n", error->message);
      return 1;
    }
  fputs (text, stdout);
  fputc ('\n', stdout);
  sodium_memzero (text, strlen (text));
  g_free (text);

  return fflush (stdout) == 0 ? 0 : 1;
}

/* Like `wg pubkey`: a private key in base64 on stdin, its public key on
 * stdout. Leading and trailing white space around the key is ignored. */
static int
cmd_pubkey (NbCliCommandLine *line)
{
  char buffer[128];
  size_t length;
  g_autoptr(NbKey) key = NULL;
  g_autoptr(GError) error = NULL;
  char *start;
  int c;

  length = fread (buffer, 1, sizeof buffer - 1, stdin);
  if (length == sizeof buffer - 1 && (c = fgetc (stdin)) != EOF)
    {
      sodium_memzero (buffer, sizeof buffer);
      g_printerr ("netbird pubkey: input is too long to be a key\n");
      return 1;
    }
  buffer[length] = '\0';
  start = g_strstrip (buffer);

  key = nb_key_new_from_base64 (start, &error);
  sodium_memzero (buffer, sizeof buffer);
  if (key == NULL)
    {
      g_printerr ("netbird pubkey: %s\n", error->message);
      return 1;
    }

  g_print ("%s\n", nb_key_get_public_base64 (key));
  return fflush (stdout) == 0 ? 0 : 1;
}


/* -- Talking to the daemon ------------------------------------------------ */

static int
fail (const char   *command,
      const GError *error)
{
  g_autofree char *message = nb_cli_describe_error (error);

  g_printerr ("netbird %s: %s\n", command, message);
  return nb_cli_exit_code_for_error (error);
}

/* Parses the command's flags, opens the log and connects to the daemon. */
static NbDBusDaemon *
prepare (const char         *command,
         const char         *summary,
         const GOptionEntry *entries,
         NbCliCommandLine   *line,
         int                *exit_code)
{
  g_autoptr(GError) error = NULL;
  NbDBusDaemon *proxy;

  if (!nb_cli_options_parse (command, summary, entries, line, &error) ||
      !nb_cli_log_setup (nb_cli_globals.log_level, &error))
    {
      *exit_code = fail (command, error);
      return NULL;
    }
  proxy = nb_cli_connect (nb_cli_globals.daemon_addr, &error);
  if (proxy == NULL)
    *exit_code = fail (command, error);
  return proxy;
}

/* The flags of `up` and `login`, NetBird's names. */
static gboolean up_block_inbound;
static gboolean up_disable_firewall;
static gboolean up_disable_dns;
static char *up_interface_name;
static int up_wireguard_port;
static char *up_preshared_key;

static const GOptionEntry up_entries[] = {
  { "block-inbound", 0, 0, G_OPTION_ARG_NONE, &up_block_inbound,
    "Drop every connection other peers open to this one", NULL },
  { "disable-firewall", 0, 0, G_OPTION_ARG_NONE, &up_disable_firewall,
    "Do not filter traffic by the network's access policies", NULL },
  { "disable-dns", 0, 0, G_OPTION_ARG_NONE, &up_disable_dns,
    "Leave the host's DNS alone: no resolver, resolv.conf untouched", NULL },
  { "interface-name", 0, 0, G_OPTION_ARG_STRING, &up_interface_name,
    "The tunnel device's name (default wt0)", "NAME" },
  { "wireguard-port", 0, 0, G_OPTION_ARG_INT, &up_wireguard_port,
    "WireGuard's UDP port (default 51820)", "PORT" },
  { "preshared-key", 0, 0, G_OPTION_ARG_STRING, &up_preshared_key,
    "A WireGuard pre-shared key every peer of the network uses", "BASE64" },
  G_OPTION_ENTRY_NULL
};

/* What `up` and `login` send: the settings given, and the setup key. */
static GVariant *
settings_options (GError **error)
{
  g_autofree char *setup_key = NULL;
  GVariantDict dict;

  setup_key = nb_cli_setup_key (error);
  if (setup_key == NULL && error != NULL && *error != NULL)
    return NULL;
  if (up_wireguard_port < 0 || up_wireguard_port > 65535)
    {
      g_set_error (error, NB_CLI_ERROR, NB_CLI_ERROR_USAGE,
                   "--wireguard-port %d: a port is 1 to 65535", up_wireguard_port);
      return NULL;
    }

  g_variant_dict_init (&dict, NULL);
  if (setup_key != NULL)
    {
      g_variant_dict_insert (&dict, "setup-key", "s", setup_key);
      sodium_memzero (setup_key, strlen (setup_key));
    }
  if (nb_cli_globals.management_url != NULL)
    g_variant_dict_insert (&dict, "management-url", "s", nb_cli_globals.management_url);
  if (nb_cli_globals.hostname != NULL)
    g_variant_dict_insert (&dict, "hostname", "s", nb_cli_globals.hostname);
  if (nb_cli_globals.config != NULL)
    {
      g_autofree char *path = g_canonicalize_filename (nb_cli_globals.config, NULL);

      g_variant_dict_insert (&dict, "config", "s", path);
    }
  if (up_interface_name != NULL)
    g_variant_dict_insert (&dict, "interface-name", "s", up_interface_name);
  if (up_wireguard_port != 0)
    g_variant_dict_insert (&dict, "wireguard-port", "q", (guint16) up_wireguard_port);
  if (up_preshared_key != NULL)
    g_variant_dict_insert (&dict, "preshared-key", "s", up_preshared_key);
  if (up_block_inbound)
    g_variant_dict_insert (&dict, "block-inbound", "b", TRUE);
  if (up_disable_firewall)
    g_variant_dict_insert (&dict, "disable-firewall", "b", TRUE);
  if (up_disable_dns)
    g_variant_dict_insert (&dict, "disable-dns", "b", TRUE);
  return g_variant_dict_end (&dict);
}

static int
cmd_up (NbCliCommandLine *line)
{
  g_autoptr(NbDBusDaemon) proxy = NULL;
  g_autoptr(GError) error = NULL;
  GVariant *options;
  int code = 0;

  proxy = prepare ("up", "bring the tunnel up (registering with a setup key if needed)",
                   up_entries, line, &code);
  if (proxy == NULL)
    return code;
  if (g_strcmp0 (nb_dbus_daemon_get_daemon_status (proxy), "Connected") == 0)
    {
      g_print ("Already connected\n");
      return NB_CLI_EXIT_OK;
    }
  options = settings_options (&error);
  if (options == NULL)
    return fail ("up", error);

  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (proxy), NB_CLI_LONG_CALL_TIMEOUT_MS);
  if (!nb_dbus_daemon_call_up_sync (proxy, options, NULL, &error))
    return fail ("up", error);
  g_print ("Connected\n");
  return NB_CLI_EXIT_OK;
}

static int
cmd_login (NbCliCommandLine *line)
{
  g_autoptr(NbDBusDaemon) proxy = NULL;
  g_autoptr(GError) error = NULL;
  GVariant *options;
  int code = 0;

  proxy = prepare ("login", "register or log this peer in without bringing the tunnel up",
                   up_entries, line, &code);
  if (proxy == NULL)
    return code;
  options = settings_options (&error);
  if (options == NULL)
    return fail ("login", error);

  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (proxy), NB_CLI_LONG_CALL_TIMEOUT_MS);
  if (!nb_dbus_daemon_call_login_sync (proxy, options, NULL, &error))
    return fail ("login", error);
  g_print ("Logged in\n");
  return NB_CLI_EXIT_OK;
}

static int
cmd_down (NbCliCommandLine *line)
{
  g_autoptr(NbDBusDaemon) proxy = NULL;
  g_autoptr(GError) error = NULL;
  int code = 0;

  proxy = prepare ("down", "bring the tunnel down", NULL, line, &code);
  if (proxy == NULL)
    return code;
  if (!nb_dbus_daemon_call_down_sync (proxy, NULL, &error))
    return fail ("down", error);
  g_print ("Disconnected\n");
  return NB_CLI_EXIT_OK;
}

static int
cmd_logout (NbCliCommandLine *line)
{
  g_autoptr(NbDBusDaemon) proxy = NULL;
  g_autoptr(GError) error = NULL;
  int code = 0;

  proxy = prepare ("logout", "bring the tunnel down and forget this peer's registration",
                   NULL, line, &code);
  if (proxy == NULL)
    return code;
  if (!nb_dbus_daemon_call_logout_sync (proxy, NULL, &error))
    return fail ("logout", error);
  g_print ("Logged out\n");
  return NB_CLI_EXIT_OK;
}

static gboolean status_detail;
static gboolean status_json;
static char *status_check;

static const GOptionEntry status_entries[] = {
  { "detail", 'd', 0, G_OPTION_ARG_NONE, &status_detail,
    "Every peer's connection in detail", NULL },
  { "json", 0, 0, G_OPTION_ARG_NONE, &status_json,
    "JSON with NetBird's field names", NULL },
  { "check", 'C', 0, G_OPTION_ARG_STRING, &status_check,
    "Print nothing, exit 0 if the check passes: live (the daemon answers), "
    "ready (connected), startup (connected, Management and Signal too)", "CHECK" },
  G_OPTION_ENTRY_NULL
};

static int
status_check_result (NbDBusDaemon *proxy)
{
  const char *state = nb_dbus_daemon_get_daemon_status (proxy);
  gboolean connected = g_strcmp0 (state, "Connected") == 0;

  if (g_str_equal (status_check, "live"))
    return NB_CLI_EXIT_OK;
  if (g_str_equal (status_check, "ready") && connected)
    return NB_CLI_EXIT_OK;
  if (g_str_equal (status_check, "startup") && connected &&
      nb_dbus_daemon_get_management_connected (proxy) &&
      nb_dbus_daemon_get_signal_connected (proxy))
    return NB_CLI_EXIT_OK;
  g_printerr ("netbird status: not %s: the daemon is %s\n", status_check,
              state != NULL ? state : "unknown");
  return NB_CLI_EXIT_NOT_READY;
}

static int
cmd_status (NbCliCommandLine *line)
{
  g_autoptr(NbDBusDaemon) proxy = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) status = NULL;
  g_autofree char *text = NULL;
  NbCliStatusFormat format;
  int code = 0;

  proxy = prepare ("status", "the tunnel and its peers", status_entries, line, &code);
  if (proxy == NULL)
    return code;

  if (status_check != NULL)
    {
      if (!g_str_equal (status_check, "live") && !g_str_equal (status_check, "ready") &&
          !g_str_equal (status_check, "startup"))
        {
          g_printerr ("netbird status: --check %s: use live, ready or startup\n", status_check);
          return NB_CLI_EXIT_USAGE;
        }
      return status_check_result (proxy);
    }

  if (!nb_dbus_daemon_call_get_status_sync (proxy, &status, NULL, &error))
    return fail ("status", error);
  format = status_json ? NB_CLI_STATUS_JSON
                       : status_detail ? NB_CLI_STATUS_DETAIL : NB_CLI_STATUS_SUMMARY;
  text = nb_cli_status_format (status, format, g_get_real_time ());
  fputs (text, stdout);
  return fflush (stdout) == 0 ? NB_CLI_EXIT_OK : NB_CLI_EXIT_FAILURE;
}

/* -- `service` ------------------------------------------------------------- */

static char *service_daemon_group;
static char *service_root;

static const GOptionEntry service_run_entries[] = {
  { "daemon-group", 0, 0, G_OPTION_ARG_STRING, &service_daemon_group,
    "Group whose members may use the daemon (the socket's group; default root's)", "GROUP" },
  G_OPTION_ENTRY_NULL
};

static const GOptionEntry service_install_entries[] = {
  { "daemon-group", 0, 0, G_OPTION_ARG_STRING, &service_daemon_group,
    "Group whose members may use the daemon (the socket's group; default root's)", "GROUP" },
  { "root", 0, 0, G_OPTION_ARG_FILENAME, &service_root,
    "Write the unit under this root instead of / (images, tests)", "DIR" },
  G_OPTION_ENTRY_NULL
};

static const GOptionEntry service_root_entries[] = {
  { "root", 0, 0, G_OPTION_ARG_FILENAME, &service_root,
    "Remove the unit under this root instead of /", "DIR" },
  G_OPTION_ENTRY_NULL
};

static gboolean
parse_only (const char         *command,
            const char         *summary,
            const GOptionEntry *entries,
            NbCliCommandLine   *line,
            int                *code)
{
  g_autoptr(GError) error = NULL;

  if (!nb_cli_options_parse (command, summary, entries, line, &error) ||
      !nb_cli_log_setup (nb_cli_globals.log_level, &error))
    {
      *code = fail (command, error);
      return FALSE;
    }
  return TRUE;
}

static int
cmd_service_run (NbCliCommandLine *line)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *config = NULL;
  NbCliDaemonOptions options = { 0 };
  int code = 0;

  if (!parse_only ("service run", "run the daemon in the foreground (as root)",
                   service_run_entries, line, &code))
    return code;
  /* Absolute, so `netbird up -c FILE` from any folder can name it. */
  config = g_canonicalize_filename (nb_cli_globals.config != NULL ? nb_cli_globals.config
                                                                  : "/etc/netbird/config.json",
                                    NULL);
  options.config = config;
  options.daemon_addr = nb_cli_globals.daemon_addr;
  options.daemon_group = service_daemon_group;
  if (!nb_cli_daemon_run (&options, &error))
    return fail ("service run", error);
  return NB_CLI_EXIT_OK;
}

static NbCliServiceOptions
service_options (void)
{
  NbCliServiceOptions options = {
    .root = service_root,
    .config = nb_cli_globals.config,
    .daemon_addr = nb_cli_globals.daemon_addr,
    .log_level = nb_cli_globals.log_level,
    .daemon_group = service_daemon_group,
  };

  /* The unit names the configuration by an absolute path. */
  if (options.config != NULL && !g_path_is_absolute (options.config))
    {
      char *absolute = g_canonicalize_filename (options.config, NULL);

      g_free (nb_cli_globals.config);
      nb_cli_globals.config = absolute;
      options.config = absolute;
    }
  return options;
}

static int
cmd_service_install (NbCliCommandLine *line)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  NbCliServiceOptions options;
  int code = 0;

  if (!parse_only ("service install", "install the systemd unit of the daemon",
                   service_install_entries, line, &code))
    return code;
  /* Only the flags given go into ExecStart. */
  if (g_str_equal (nb_cli_globals.daemon_addr, NB_CLI_DEFAULT_DAEMON_ADDR))
    g_clear_pointer (&nb_cli_globals.daemon_addr, g_free);
  options = service_options ();
  if (!nb_cli_service_install (&options, &path, &error))
    return fail ("service install", error);
  g_print ("NetBird service installed: %s\n", path);
  return NB_CLI_EXIT_OK;
}

static int
cmd_service_uninstall (NbCliCommandLine *line)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  NbCliServiceOptions options;
  int code = 0;

  if (!parse_only ("service uninstall", "remove the systemd unit of the daemon",
                   service_root_entries, line, &code))
    return code;
  options = service_options ();
  if (!nb_cli_service_uninstall (&options, &path, &error))
    return fail ("service uninstall", error);
  g_print ("NetBird service uninstalled: %s removed\n", path);
  return NB_CLI_EXIT_OK;
}

static int
service_systemctl (NbCliCommandLine *line,
                   const char       *verb)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *command = g_strconcat ("service ", verb, NULL);
  int code = 0;

  if (!parse_only (command, "through systemd", NULL, line, &code))
    return code;
  if (!nb_cli_service_systemctl (verb, &error))
    return fail (command, error);
  g_print ("NetBird service %s\n", g_str_equal (verb, "start") ? "started" : "stopped");
  return NB_CLI_EXIT_OK;
}

static int
cmd_service_start (NbCliCommandLine *line)
{
  return service_systemctl (line, "start");
}

static int
cmd_service_stop (NbCliCommandLine *line)
{
  return service_systemctl (line, "stop");
}

/* -- The command table ------------------------------------------------------ */

static const Command commands[] = {
  { "up", "Bring the tunnel up (-k KEY registers this peer)", cmd_up },
  { "down", "Bring the tunnel down", cmd_down },
  { "status", "Show the tunnel and its peers (-d detail, --json, -C ready)", cmd_status },
  { "login", "Register or log in without bringing the tunnel up", cmd_login },
  { "logout", "Bring the tunnel down and forget the registration", cmd_logout },
  { "version", "Print the version", cmd_version },
  { "genkey", "Generate a private key and print it in base64 (as wg genkey)", cmd_genkey },
  { "pubkey", "Read a private key on stdin and print its public key (as wg pubkey)",
    cmd_pubkey },
};

static const Command service_commands[] = {
  { "run", "Run the daemon in the foreground (as root)", cmd_service_run },
  { "install", "Install the systemd unit (flags given go into its ExecStart)",
    cmd_service_install },
  { "uninstall", "Remove the systemd unit", cmd_service_uninstall },
  { "start", "Start the daemon through systemd", cmd_service_start },
  { "stop", "Stop the daemon through systemd", cmd_service_stop },
};

/* Every flag table, so the command words are found among flag values. */
static const GOptionEntry *const all_entries[] = {
  up_entries, status_entries, service_install_entries, NULL
};

static void
usage (FILE *out)
{
  fprintf (out, "Usage: netbird [FLAGS] COMMAND [FLAGS]\n\nCommands:\n");
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-18s %s\n", commands[i].name, commands[i].summary);
  for (gsize i = 0; i < G_N_ELEMENTS (service_commands); i++)
    {
      g_autofree char *name = g_strconcat ("service ", service_commands[i].name, NULL);
      fprintf (out, "  %-18s %s\n", name, service_commands[i].summary);
    }
  fprintf (out,
           "\nGlobal flags (before or after the command; each also from the environment\n"
           "as NB_<FLAG>, e.g. NB_SETUP_KEY, NB_MANAGEMENT_URL, NB_DAEMON_ADDR):\n"
           "  --daemon-addr unix:///PATH   the daemon's socket (default %s)\n"
           "  -m, --management-url URL     Management's URL\n"
           "  -k, --setup-key KEY          setup key to register this peer with\n"
           "  --setup-key-file FILE        the setup key, read from a file\n"
           "  -c, --config FILE            the daemon's configuration "
           "(default /etc/netbird/config.json)\n"
           "  -n, --hostname NAME          the name this peer registers with\n"
           "  -l, --log-level LEVEL        error, warn, info, debug or trace\n"
           "\n'netbird COMMAND --help' shows the flags of a command.\n\n%s",
           NB_CLI_DEFAULT_DAEMON_ADDR, nb_cli_exit_code_help);
}

static const Command *
find_command (const Command *table,
              gsize          n,
              const char    *name)
{
  for (gsize i = 0; i < n; i++)
    if (g_str_equal (name, table[i].name))
      return &table[i];
  return NULL;
}

int
main (int    argc,
      char **argv)
{
  NbCliCommandLine line;
  const Command *command = NULL;
  int code;

  setlocale (LC_ALL, "");

  nb_cli_command_line_split (argc, argv, all_entries, &line);

  if (line.n_words == 0)
    {
      gboolean help = FALSE, version = FALSE;

      for (guint i = 1; i + 1 < line.rest->len; i++)
        {
          const char *arg = line.rest->pdata[i];
          help |= g_str_equal (arg, "--help") || g_str_equal (arg, "-h");
          version |= g_str_equal (arg, "--version") || g_str_equal (arg, "-v");
        }
      nb_cli_command_line_clear (&line);
      if (version)
        return cmd_version (NULL);
      usage (help ? stdout : stderr);
      return help ? NB_CLI_EXIT_OK : NB_CLI_EXIT_USAGE;
    }
  if (g_str_equal (line.words[0], "help"))
    {
      nb_cli_command_line_clear (&line);
      usage (stdout);
      return NB_CLI_EXIT_OK;
    }

  if (g_str_equal (line.words[0], "service"))
    {
      if (line.n_words < 2)
        {
          g_printerr ("netbird service: give a subcommand: run, install, uninstall, start "
                      "or stop\n\n");
          usage (stderr);
          nb_cli_command_line_clear (&line);
          return NB_CLI_EXIT_USAGE;
        }
      command = find_command (service_commands, G_N_ELEMENTS (service_commands), line.words[1]);
      if (command == NULL)
        {
          g_printerr ("netbird service: unknown subcommand '%s'\n\n", line.words[1]);
          usage (stderr);
          nb_cli_command_line_clear (&line);
          return NB_CLI_EXIT_USAGE;
        }
    }
  else
    {
      command = find_command (commands, G_N_ELEMENTS (commands), line.words[0]);
      if (command == NULL)
        {
          g_printerr ("netbird: unknown command '%s'\n\n", line.words[0]);
          usage (stderr);
          nb_cli_command_line_clear (&line);
          return NB_CLI_EXIT_USAGE;
        }
    }

  code = command->run (&line);
  nb_cli_command_line_clear (&line);
  return code;
}
