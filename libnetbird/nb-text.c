/* nb-text.c: text that came from outside: what names may hold, and how a
 * log line quotes it
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <string.h>

#include "nb-text-private.h"

static gboolean
is_bidi_control (gunichar c)
{
  /* Unicode TR #9 §2: ALM, LRM, RLM, the embeddings and overrides
   * (LRE RLE PDF LRO RLO) and the isolates (LRI RLI FSI PDI). */
  return c == 0x061c || c == 0x200e || c == 0x200f ||
         (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

NbTextCharClass
nb_text_char_class (gunichar c)
{
  /* The common case first: printable ASCII. */
  if (c >= 0x20 && c < 0x7f)
    return NB_TEXT_CHAR_OK;
  if (is_bidi_control (c))
    return NB_TEXT_CHAR_BIDI;
  switch (g_unichar_type (c))
    {
    case G_UNICODE_CONTROL:
      return NB_TEXT_CHAR_CONTROL;
    case G_UNICODE_LINE_SEPARATOR:
    case G_UNICODE_PARAGRAPH_SEPARATOR:
      return NB_TEXT_CHAR_SEPARATOR;
    case G_UNICODE_FORMAT:
      /* ZWNJ and ZWJ join or keep apart the letters of Arabic, Persian,
       * Indic scripts and emoji sequences; they move nothing. */
      if (c == 0x200c || c == 0x200d)
        return NB_TEXT_CHAR_OK;
      return NB_TEXT_CHAR_INVISIBLE;
    default:
      return NB_TEXT_CHAR_OK;
    }
}

gssize
nb_text_find_unsafe (const char *text,
                     gsize       length,
                     gunichar   *out_char)
{
  const char *p = text;
  const char *end = text + length;

  while (p < end)
    {
      gunichar c;

      /* Printable ASCII needs no decoding. */
      if ((guchar) *p >= 0x20 && (guchar) *p < 0x7f)
        {
          p++;
          continue;
        }
      c = g_utf8_get_char_validated (p, end - p);
      if (c == (gunichar) -1 || c == (gunichar) -2)
        {
          /* The callers validated the text; should one not have, an
           * undecodable byte is refused like a control character. */
          if (out_char != NULL)
            *out_char = (guchar) *p;
          return p - text;
        }
      if (nb_text_char_class (c) != NB_TEXT_CHAR_OK)
        {
          if (out_char != NULL)
            *out_char = c;
          return p - text;
        }
      p = g_utf8_next_char (p);
    }
  return -1;
}

char *
nb_text_describe_char (gunichar c)
{
  switch (nb_text_char_class (c))
    {
    case NB_TEXT_CHAR_CONTROL:
      return g_strdup_printf ("the control character U+%04X", c);
    case NB_TEXT_CHAR_SEPARATOR:
      return g_strdup_printf ("the line break U+%04X", c);
    case NB_TEXT_CHAR_BIDI:
      return g_strdup_printf ("the bidirectional control U+%04X", c);
    case NB_TEXT_CHAR_INVISIBLE:
      return g_strdup_printf ("the invisible format character U+%04X", c);
    case NB_TEXT_CHAR_OK:
    default:
      return g_strdup_printf ("the character U+%04X", c);
    }
}

char *
nb_text_escape (const char *text,
                gssize      length,
                gsize       max)
{
  GString *out;
  const char *p, *end;
  gboolean cut = FALSE;

  if (text == NULL)
    return g_strdup ("(null)");
  if (length < 0)
    length = strlen (text);
  if ((gsize) length > max)
    {
      length = max;
      cut = TRUE;
    }

  out = g_string_sized_new (length + 8);
  p = text;
  end = text + length;
  while (p < end)
    {
      guchar b = (guchar) *p;
      gunichar c;

      if (b >= 0x20 && b < 0x7f && b != '\\' && b != '"')
        {
          g_string_append_c (out, b);
          p++;
          continue;
        }
      switch (b)
        {
        case '\\':
          g_string_append (out, "\\\\");
          p++;
          continue;
        case '"':
          g_string_append (out, "\\\"");
          p++;
          continue;
        case '\n':
          g_string_append (out, "\\n");
          p++;
          continue;
        case '\r':
          g_string_append (out, "\\r");
          p++;
          continue;
        case '\t':
          g_string_append (out, "\\t");
          p++;
          continue;
        default:
          if (b < 0x20 || b == 0x7f)
            {
              g_string_append_printf (out, "\\x%02x", b);
              p++;
              continue;
            }
          break;
        }

      c = g_utf8_get_char_validated (p, end - p);
      if (c == (gunichar) -2 && cut)
        break; /* a character cut by the bound: the "…" says so */
      if (c == (gunichar) -1 || c == (gunichar) -2)
        {
          g_string_append_printf (out, "\\x%02x", b);
          p++;
          continue;
        }
      if (nb_text_char_class (c) != NB_TEXT_CHAR_OK)
        g_string_append_printf (out, "\\u{%04x}", c);
      else
        g_string_append_len (out, p, g_utf8_next_char (p) - p);
      p = g_utf8_next_char (p);
    }
  if (cut)
    g_string_append (out, "…");
  return g_string_free (out, FALSE);
}
