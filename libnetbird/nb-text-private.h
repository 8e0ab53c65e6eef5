/* nb-text-private.h: text that came from outside: what names may hold, and
 * how a log line quotes it
 *
 * Library-internal.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#if !defined(NB_COMPILATION)
#error "nb-text-private.h is internal to libnetbird."
#endif

#include <glib.h>

G_BEGIN_DECLS

/* What a character that names and protocol strings may not hold is. A name
 * is shown to people (the dashboard, `netbird status`, logs, DNS), so it
 * must read as what it is: no characters that break a line or a terminal,
 * none that reorder the text around them (the bidirectional controls of
 * Unicode TR #9 §2, the "Trojan Source" characters), and none that are
 * invisible (zero-width space, BOM, tags). ZWNJ and ZWJ (U+200C, U+200D)
 * stay allowed: scripts and emoji need them, and they reorder nothing. */
typedef enum {
  NB_TEXT_CHAR_OK,
  NB_TEXT_CHAR_CONTROL,    /* C0, DEL, C1 (Unicode category Cc) */
  NB_TEXT_CHAR_SEPARATOR,  /* U+2028 LINE and U+2029 PARAGRAPH SEPARATOR */
  NB_TEXT_CHAR_BIDI,       /* embeddings, overrides, isolates, marks */
  NB_TEXT_CHAR_INVISIBLE,  /* the other format characters (category Cf) */
} NbTextCharClass;

NbTextCharClass nb_text_char_class (gunichar c);

/* Finds the first character of @text (@length bytes of valid UTF-8) that
 * is not NB_TEXT_CHAR_OK. Returns its byte offset, or -1 when there is
 * none; *out_char (optional) gets the character. */
gssize          nb_text_find_unsafe (const char *text,
                                     gsize       length,
                                     gunichar   *out_char);

/* A phrase naming @c for error messages ("the control character U+000A",
 * "the bidirectional control U+202E"); @c is not NB_TEXT_CHAR_OK. */
char           *nb_text_describe_char (gunichar c);

/* The longest quotation nb_text_escape() makes for a log line, in bytes of
 * input: a path, a name or an error message says enough in that much. */
#define NB_TEXT_LOG_MAX 200

/* Quotes @text (@length bytes, or -1 up to its NUL) for one log line:
 * backslash escapes for control characters (\n, \t, \x1b...), for the
 * characters nb_text_char_class() refuses (\u{202e}), for bytes that are
 * not UTF-8 (\xff) and for the backslash and double quote themselves; at
 * most @max bytes of input are quoted, and a cut is marked with "…".
 * Whatever the input, the result holds no line break and no character
 * that changes how the rest of the line reads. %NULL gives "(null)". */
char           *nb_text_escape      (const char *text,
                                     gssize      length,
                                     gsize       max);

G_END_DECLS
