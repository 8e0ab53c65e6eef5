/* nb-mgmt-rest-writer.c: JSON responses written straight into a buffer
 *
 * Responses are only ever written, never inspected, so they need no tree:
 * json-glib's builder allocates a node and a hash table per object, which
 * made allocation most of the cost of listing 10,000 peers. This writer
 * appends to one GString with RFC 8259 escaping and keeps only the comma
 * state of each open level.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-mgmt-rest"

#include <string.h>
#include <time.h>

#include "nb-mgmt-rest-private.h"

#define MAX_DEPTH 64

struct _NbJsonWriter
{
  GString *out;
  guint depth;
  /* Per open level: something was written there, the next needs a comma. */
  gboolean has_items[MAX_DEPTH];
  /* A member name was just written: the value needs no comma. */
  gboolean after_name;
};

NbJsonWriter *
nb_json_writer_new (void)
{
  NbJsonWriter *w = g_new0 (NbJsonWriter, 1);

  w->out = g_string_sized_new (256);
  return w;
}

void
nb_json_writer_free (NbJsonWriter *w)
{
  if (w == NULL)
    return;
  g_string_free (w->out, TRUE);
  g_free (w);
}

char *
nb_json_writer_steal (NbJsonWriter *w,
                      gsize        *len)
{
  char *text;

  g_warn_if_fail (w->depth == 0);
  *len = w->out->len;
  text = g_string_free (w->out, FALSE);
  w->out = g_string_new (NULL);
  return text;
}

static void
before_value (NbJsonWriter *w)
{
  if (w->after_name)
    {
      w->after_name = FALSE;
      return;
    }
  if (w->depth > 0)
    {
      if (w->has_items[w->depth - 1])
        g_string_append_c (w->out, ',');
      w->has_items[w->depth - 1] = TRUE;
    }
}

static void
append_escaped (GString    *out,
                const char *text)
{
  g_autofree char *valid = NULL;
  const char *run, *p;

  /* Names and meta from elsewhere are free text: never emit invalid UTF-8. */
  if (!g_utf8_validate (text, -1, NULL))
    text = valid = g_utf8_make_valid (text, -1);

  g_string_append_c (out, '"');
  /* Copy runs of characters that need no escape in one go. */
  for (run = p = text; *p; p++)
    {
      guchar c = (guchar) *p;

      if (c >= 0x20 && c != '"' && c != '\\')
        continue;
      g_string_append_len (out, run, p - run);
      run = p + 1;
      switch (c)
        {
        case '"':
          g_string_append (out, "\\\"");
          break;
        case '\\':
          g_string_append (out, "\\\\");
          break;
        case '\n':
          g_string_append (out, "\\n");
          break;
        case '\r':
          g_string_append (out, "\\r");
          break;
        case '\t':
          g_string_append (out, "\\t");
          break;
        default:
          g_string_append_printf (out, "\\u%04x", c);
        }
    }
  g_string_append_len (out, run, p - run);
  g_string_append_c (out, '"');
}

static void
open_level (NbJsonWriter *w,
            char          c)
{
  before_value (w);
  g_string_append_c (w->out, c);
  g_return_if_fail (w->depth < MAX_DEPTH);
  w->has_items[w->depth++] = FALSE;
}

static void
close_level (NbJsonWriter *w,
             char          c)
{
  g_return_if_fail (w->depth > 0);
  w->depth--;
  g_string_append_c (w->out, c);
}

void
nb_json_writer_begin_object (NbJsonWriter *w)
{
  open_level (w, '{');
}

void
nb_json_writer_end_object (NbJsonWriter *w)
{
  close_level (w, '}');
}

void
nb_json_writer_begin_array (NbJsonWriter *w)
{
  open_level (w, '[');
}

void
nb_json_writer_end_array (NbJsonWriter *w)
{
  close_level (w, ']');
}

void
nb_json_writer_member (NbJsonWriter *w,
                       const char   *name)
{
  before_value (w);
  append_escaped (w->out, name);
  g_string_append_c (w->out, ':');
  w->after_name = TRUE;
}

void
nb_json_writer_string (NbJsonWriter *w,
                       const char   *value)
{
  before_value (w);
  append_escaped (w->out, value ? value : "");
}

void
nb_json_writer_int (NbJsonWriter *w,
                    gint64        value)
{
  before_value (w);
  g_string_append_printf (w->out, "%" G_GINT64_FORMAT, value);
}

void
nb_json_writer_bool (NbJsonWriter *w,
                     gboolean      value)
{
  before_value (w);
  g_string_append (w->out, value ? "true" : "false");
}

/* RFC 3339 in UTC, as NetBird's Go time.Time marshals whole seconds. Go's
 * zero time stands for "never". */
void
nb_json_writer_time (NbJsonWriter *w,
                     gint64        unix_seconds)
{
  char text[64];
  struct tm tm;
  time_t t = (time_t) unix_seconds;

  before_value (w);
  if (unix_seconds <= 0 || gmtime_r (&t, &tm) == NULL ||
      strftime (text, sizeof text, "\"%Y-%m-%dT%H:%M:%SZ\"", &tm) == 0)
    g_string_append (w->out, "\"0001-01-01T00:00:00Z\"");
  else
    g_string_append (w->out, text);
}
