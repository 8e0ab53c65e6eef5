/* nb-cli-options.c: NetBird's flags: before or after the command, and from
 * the environment as NB_<FLAG>
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * NetBird's users write `netbird --daemon-addr X up -k K` as often as
 * `netbird up -k K --daemon-addr X`, and set NB_SETUP_KEY in their
 * scripts. So the command words are picked out of the command line first,
 * wherever they stand, and the rest is parsed by one GOptionContext that
 * holds the global flags and the command's own. A flag not given on the
 * command line takes its value from NB_<LONG_NAME> (upper case, '-' as '_');
 * the command line wins over the environment.
 */
#include <errno.h>
#include <string.h>

#include "nb-cli-dbus.h"
#include "nb-cli-options.h"

NbCliGlobals nb_cli_globals;

static const GOptionEntry global_entries[] = {
  { "daemon-addr", 0, 0, G_OPTION_ARG_STRING, &nb_cli_globals.daemon_addr,
    "The daemon's socket (default " NB_CLI_DEFAULT_DAEMON_ADDR ")", "unix:///PATH" },
  { "management-url", 'm', 0, G_OPTION_ARG_STRING, &nb_cli_globals.management_url,
    "Management's URL (saved in the configuration)", "URL" },
  { "setup-key", 'k', 0, G_OPTION_ARG_STRING, &nb_cli_globals.setup_key,
    "Setup key to register this peer with", "KEY" },
  { "setup-key-file", 0, 0, G_OPTION_ARG_FILENAME, &nb_cli_globals.setup_key_file,
    "File holding the setup key (safer than -k: not in the process list)", "FILE" },
  { "config", 'c', 0, G_OPTION_ARG_FILENAME, &nb_cli_globals.config,
    "The daemon's configuration file (default /etc/netbird/config.json)", "FILE" },
  { "hostname", 'n', 0, G_OPTION_ARG_STRING, &nb_cli_globals.hostname,
    "The name this peer registers with (default: the machine's)", "NAME" },
  { "log-level", 'l', 0, G_OPTION_ARG_STRING, &nb_cli_globals.log_level,
    "error, warn, info (default), debug or trace", "LEVEL" },
  G_OPTION_ENTRY_NULL
};

static gboolean
entry_takes_value (const GOptionEntry *entry)
{
  return entry->arg != G_OPTION_ARG_NONE && !(entry->flags & G_OPTION_FLAG_NO_ARG);
}

/* Whether ARG is an option that takes the next argument as its value:
 * "--setup-key" (not "--setup-key=K") or "-k" (not "-kK"). */
static gboolean
option_consumes_next (const char                *arg,
                      const GOptionEntry *const *tables)
{
  const GOptionEntry *const global_table[] = { global_entries, NULL };

  if (g_str_has_prefix (arg, "--"))
    {
      if (strchr (arg, '=') != NULL)
        return FALSE;
    }
  else if (strlen (arg) != 2)
    return FALSE;

  for (guint pass = 0; pass < 2; pass++)
    {
      const GOptionEntry *const *t = pass == 0 ? global_table : tables;

      for (; t != NULL && *t != NULL; t++)
        for (const GOptionEntry *e = *t; e->long_name != NULL; e++)
          {
            gboolean match = arg[1] == '-' ? g_str_equal (arg + 2, e->long_name)
                                           : (e->short_name != 0 && arg[1] == e->short_name);
            if (match)
              return entry_takes_value (e);
          }
    }
  return FALSE;
}

void
nb_cli_command_line_split (int                         argc,
                           char                      **argv,
                           const GOptionEntry *const  *tables,
                           NbCliCommandLine           *line)
{
  gboolean options_done = FALSE;
  guint max_words = 1;

  memset (line, 0, sizeof *line);
  line->rest = g_ptr_array_new ();
  g_ptr_array_add (line->rest, argv[0]);

  for (int i = 1; i < argc; i++)
    {
      const char *arg = argv[i];

      if (!options_done && g_str_equal (arg, "--"))
        {
          options_done = TRUE;
          g_ptr_array_add (line->rest, argv[i]);
          continue;
        }
      if (!options_done && arg[0] == '-' && arg[1] != '\0')
        {
          g_ptr_array_add (line->rest, argv[i]);
          if (option_consumes_next (arg, tables) && i + 1 < argc)
            g_ptr_array_add (line->rest, argv[++i]);
          continue;
        }
      if (line->n_words < max_words)
        {
          line->words[line->n_words++] = arg;
          /* `service` is a group: its subcommand is the next word. */
          if (line->n_words == 1 && g_str_equal (arg, "service"))
            max_words = 2;
          continue;
        }
      g_ptr_array_add (line->rest, argv[i]);
    }
  g_ptr_array_add (line->rest, NULL);
}

void
nb_cli_command_line_clear (NbCliCommandLine *line)
{
  g_clear_pointer (&line->rest, g_ptr_array_unref);
}

static char *
env_name_for (const char *long_name)
{
  g_autofree char *upper = g_ascii_strup (long_name, -1);

  g_strdelimit (upper, "-", '_');
  return g_strconcat ("NB_", upper, NULL);
}

static gboolean
parse_env_bool (const char *name,
                const char *value,
                gboolean   *out,
                GError    **error)
{
  if (g_ascii_strcasecmp (value, "true") == 0 || g_str_equal (value, "1") ||
      g_ascii_strcasecmp (value, "yes") == 0)
    *out = TRUE;
  else if (g_ascii_strcasecmp (value, "false") == 0 || g_str_equal (value, "0") ||
           g_ascii_strcasecmp (value, "no") == 0 || value[0] == '\0')
    *out = FALSE;
  else
    {
      g_set_error (error, NB_CLI_ERROR, NB_CLI_ERROR_USAGE,
                   "%s=%s: expected true or false", name, value);
      return FALSE;
    }
  return TRUE;
}

/* Fills each option the command line left unset from NB_<FLAG>. Strings
 * are unset when NULL, numbers when 0, flags when FALSE (a flag cannot be
 * turned off on the command line, so the environment may turn it on). */
static gboolean
apply_environment (const GOptionEntry  *entries,
                   GError             **error)
{
  for (const GOptionEntry *e = entries; e->long_name != NULL; e++)
    {
      g_autofree char *name = env_name_for (e->long_name);
      const char *value = g_getenv (name);

      if (value == NULL || e->arg_data == NULL)
        continue;

      switch (e->arg)
        {
        case G_OPTION_ARG_STRING:
        case G_OPTION_ARG_FILENAME:
          if (*(char **) e->arg_data == NULL && value[0] != '\0')
            *(char **) e->arg_data = g_strdup (value);
          break;
        case G_OPTION_ARG_NONE:
          if (!*(gboolean *) e->arg_data &&
              !parse_env_bool (name, value, (gboolean *) e->arg_data, error))
            return FALSE;
          break;
        case G_OPTION_ARG_INT:
          if (*(int *) e->arg_data == 0 && value[0] != '\0')
            {
              gint64 number;

              if (!g_ascii_string_to_signed (value, 10, G_MININT, G_MAXINT, &number, NULL))
                {
                  g_set_error (error, NB_CLI_ERROR, NB_CLI_ERROR_USAGE,
                               "%s=%s: expected a number", name, value);
                  return FALSE;
                }
              *(int *) e->arg_data = (int) number;
            }
          break;
        default:
          break;
        }
    }
  return TRUE;
}

gboolean
nb_cli_options_parse (const char         *command,
                      const char         *summary,
                      const GOptionEntry *entries,
                      NbCliCommandLine   *line,
                      GError            **error)
{
  g_autofree char *parameter = g_strdup_printf ("%s - %s", command, summary);
  g_autoptr(GOptionContext) context = g_option_context_new (parameter);
  char **argv = (char **) line->rest->pdata;
  int argc = (int) line->rest->len - 1;

  g_option_context_set_summary (context, "Flags are accepted before or after the command; "
                                "each also comes from the environment as NB_<FLAG> "
                                "(NB_SETUP_KEY, NB_DAEMON_ADDR, ...).");
  g_option_context_set_description (context, nb_cli_exit_code_help);
  /* The command's flags and the global ones in one list: `netbird up
   * --help` shows everything `up` accepts. */
  if (entries != NULL)
    g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_add_main_entries (context, global_entries, NULL);

  /* GOption moves the arguments it parsed out of argv; argv is our array's
   * storage, so the array keeps pointing at what is left. */
  if (!g_option_context_parse (context, &argc, &argv, error))
    {
      if (*error != NULL && (*error)->domain == G_OPTION_ERROR)
        {
          GError *e = *error;
          *error = g_error_new (NB_CLI_ERROR, NB_CLI_ERROR_USAGE, "%s", e->message);
          g_error_free (e);
        }
      return FALSE;
    }
  g_ptr_array_set_size (line->rest, (guint) argc);
  g_ptr_array_add (line->rest, NULL);

  if (argc > 1)
    {
      g_set_error (error, NB_CLI_ERROR, NB_CLI_ERROR_USAGE,
                   "unexpected argument '%s' (see netbird %s --help)", argv[1], command);
      return FALSE;
    }

  if (!apply_environment (global_entries, error) ||
      (entries != NULL && !apply_environment (entries, error)))
    return FALSE;

  if (nb_cli_globals.daemon_addr == NULL)
    nb_cli_globals.daemon_addr = g_strdup (NB_CLI_DEFAULT_DAEMON_ADDR);
  return TRUE;
}

/* The setup key from -k/--setup-key or NB_SETUP_KEY, else from the file of
 * --setup-key-file (its first line, white space stripped); NULL without
 * error when neither was given. */
char *
nb_cli_setup_key (GError **error)
{
  g_autofree char *contents = NULL;
  g_autoptr(GError) local_error = NULL;
  char *newline;

  if (nb_cli_globals.setup_key != NULL && nb_cli_globals.setup_key_file != NULL)
    {
      g_set_error_literal (error, NB_CLI_ERROR, NB_CLI_ERROR_USAGE,
                           "give the setup key with --setup-key or --setup-key-file, not both");
      return NULL;
    }
  if (nb_cli_globals.setup_key != NULL)
    return g_strstrip (g_strdup (nb_cli_globals.setup_key));
  if (nb_cli_globals.setup_key_file == NULL)
    return NULL;

  if (!g_file_get_contents (nb_cli_globals.setup_key_file, &contents, NULL, &local_error))
    {
      g_set_error (error, NB_CLI_ERROR, NB_CLI_ERROR_USAGE,
                   "cannot read the setup key file: %s", local_error->message);
      return NULL;
    }
  newline = strchr (contents, '\n');
  if (newline != NULL && newline[strspn (newline, " \t\r\n")] != '\0')
    {
      g_set_error (error, NB_CLI_ERROR, NB_CLI_ERROR_USAGE,
                   "the setup key file %s holds more than one line",
                   nb_cli_globals.setup_key_file);
      return NULL;
    }
  g_strstrip (contents);
  if (contents[0] == '\0')
    {
      g_set_error (error, NB_CLI_ERROR, NB_CLI_ERROR_USAGE, "the setup key file %s is empty",
                   nb_cli_globals.setup_key_file);
      return NULL;
    }
  return g_steal_pointer (&contents);
}
