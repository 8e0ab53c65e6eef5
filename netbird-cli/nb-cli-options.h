/* nb-cli-options.h: NetBird's flags: before or after the command, and from
 * the environment as NB_<FLAG>
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The flags every command accepts (NetBird's persistent flags). */
typedef struct
{
  char *daemon_addr;
  char *management_url;
  char *setup_key;
  char *setup_key_file;
  char *config;
  char *hostname;
  char *log_level;
} NbCliGlobals;

extern NbCliGlobals nb_cli_globals;

/* What is left of the command line once the command words are found. */
typedef struct
{
  const char *words[2];   /* "up", or "service" "run"; NULL if absent */
  guint n_words;
  GPtrArray *rest;        /* argv[0] and every other argument, NULL-terminated */
} NbCliCommandLine;

void      nb_cli_command_line_split   (int                 argc,
                                       char              **argv,
                                       const GOptionEntry *const *tables,
                                       NbCliCommandLine   *line);
void      nb_cli_command_line_clear   (NbCliCommandLine   *line);

gboolean  nb_cli_options_parse        (const char         *command,
                                       const char         *summary,
                                       const GOptionEntry *entries,
                                       NbCliCommandLine   *line,
                                       GError            **error);

char     *nb_cli_setup_key            (GError            **error);

G_END_DECLS
