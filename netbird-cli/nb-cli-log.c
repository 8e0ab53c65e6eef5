/* nb-cli-log.c: `-l/--log-level` for the CLI and the daemon
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * NetBird's levels (error, warn, info, debug, trace) over GLib's: messages
 * below the chosen level are dropped, the rest go to stderr one line each,
 * with a UTC time stamp and the log domain, as journald and a terminal both
 * read well. G_MESSAGES_DEBUG still opens debug messages of single domains.
 */
#include <stdio.h>
#include <string.h>

#include "nb-cli-dbus.h"
#include "nb-cli-log.h"

static GLogLevelFlags threshold = G_LOG_LEVEL_INFO;

static int
rank (GLogLevelFlags level)
{
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
    return 0;
  if (level & G_LOG_LEVEL_WARNING)
    return 1;
  if (level & (G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO))
    return 2;
  return 3;
}

static const char *
level_name (GLogLevelFlags level)
{
  if (level & G_LOG_LEVEL_ERROR)
    return "FATAL";
  if (level & G_LOG_LEVEL_CRITICAL)
    return "ERROR";
  if (level & G_LOG_LEVEL_WARNING)
    return "WARN";
  if (level & (G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO))
    return "INFO";
  return "DEBUG";
}

static GLogWriterOutput
write_line (GLogLevelFlags   level,
            const GLogField *fields,
            gsize            n_fields,
            gpointer         user_data)
{
  const char *domain = NULL;
  const char *message = NULL;
  g_autoptr(GDateTime) now = NULL;
  g_autofree char *stamp = NULL;

  for (gsize i = 0; i < n_fields; i++)
    {
      if (g_str_equal (fields[i].key, "GLIB_DOMAIN"))
        domain = fields[i].value;
      else if (g_str_equal (fields[i].key, "MESSAGE"))
        message = fields[i].value;
    }

  /* Debug messages pass the level, or G_MESSAGES_DEBUG naming the domain. */
  if (rank (level) > rank (threshold) &&
      (rank (level) < 3 || g_log_writer_default_would_drop (level, domain)))
    return G_LOG_WRITER_HANDLED;

  now = g_date_time_new_now_utc ();
  stamp = g_date_time_format (now, "%Y-%m-%dT%H:%M:%S.%fZ");
  /* %f gives microseconds; milliseconds read better. */
  if (stamp != NULL && strlen (stamp) > 24)
    {
      stamp[23] = 'Z';
      stamp[24] = '\0';
    }
  fprintf (stderr, "%s %s %s%s%s\n", stamp != NULL ? stamp : "-", level_name (level),
           domain != NULL ? domain : "", domain != NULL ? ": " : "",
           message != NULL ? message : "");
  fflush (stderr);
  return G_LOG_WRITER_HANDLED;
}

gboolean
nb_cli_log_setup (const char  *level,
                  GError     **error)
{
  if (level == NULL || g_ascii_strcasecmp (level, "info") == 0)
    threshold = G_LOG_LEVEL_INFO;
  else if (g_ascii_strcasecmp (level, "error") == 0 ||
           g_ascii_strcasecmp (level, "fatal") == 0 ||
           g_ascii_strcasecmp (level, "panic") == 0)
    threshold = G_LOG_LEVEL_CRITICAL;
  else if (g_ascii_strcasecmp (level, "warn") == 0 ||
           g_ascii_strcasecmp (level, "warning") == 0)
    threshold = G_LOG_LEVEL_WARNING;
  else if (g_ascii_strcasecmp (level, "debug") == 0 ||
           g_ascii_strcasecmp (level, "trace") == 0)
    threshold = G_LOG_LEVEL_DEBUG;
  else
    {
      g_set_error (error, NB_CLI_ERROR, NB_CLI_ERROR_USAGE,
                   "unknown log level '%s': use error, warn, info, debug or trace", level);
      return FALSE;
    }

  if (threshold == G_LOG_LEVEL_DEBUG)
    g_log_set_debug_enabled (TRUE);
  g_log_set_writer_func (write_line, NULL, NULL);
  return TRUE;
}
