/* test-text.c: what names may hold, and how log lines quote outside text
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <string.h>

#include "nb-text-private.h"

static void
test_char_classes (void)
{
  static const struct { gunichar c; NbTextCharClass expected; } cases[] = {
    { 'a', NB_TEXT_CHAR_OK },
    { ' ', NB_TEXT_CHAR_OK },
    { 0x00e9, NB_TEXT_CHAR_OK },          /* é */
    { 0x4e2d, NB_TEXT_CHAR_OK },          /* 中 */
    { 0x1f600, NB_TEXT_CHAR_OK },         /* an emoji */
    { 0x200c, NB_TEXT_CHAR_OK },          /* ZWNJ, Persian needs it */
    { 0x200d, NB_TEXT_CHAR_OK },          /* ZWJ, emoji sequences */
    { 0x0000, NB_TEXT_CHAR_CONTROL },
    { '\n', NB_TEXT_CHAR_CONTROL },
    { 0x1b, NB_TEXT_CHAR_CONTROL },       /* ESC: terminal sequences */
    { 0x7f, NB_TEXT_CHAR_CONTROL },
    { 0x85, NB_TEXT_CHAR_CONTROL },       /* NEL */
    { 0x9b, NB_TEXT_CHAR_CONTROL },       /* CSI */
    { 0x2028, NB_TEXT_CHAR_SEPARATOR },
    { 0x2029, NB_TEXT_CHAR_SEPARATOR },
    { 0x061c, NB_TEXT_CHAR_BIDI },
    { 0x200e, NB_TEXT_CHAR_BIDI },
    { 0x200f, NB_TEXT_CHAR_BIDI },
    { 0x202a, NB_TEXT_CHAR_BIDI },
    { 0x202e, NB_TEXT_CHAR_BIDI },        /* RLO, the "Trojan Source" one */
    { 0x2066, NB_TEXT_CHAR_BIDI },
    { 0x2069, NB_TEXT_CHAR_BIDI },
    { 0x200b, NB_TEXT_CHAR_INVISIBLE },   /* zero-width space */
    { 0x00ad, NB_TEXT_CHAR_INVISIBLE },   /* soft hyphen */
    { 0xfeff, NB_TEXT_CHAR_INVISIBLE },   /* BOM */
    { 0xe0041, NB_TEXT_CHAR_INVISIBLE },  /* TAG LATIN CAPITAL LETTER A */
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      if (nb_text_char_class (cases[i].c) != cases[i].expected)
        g_error ("U+%04X: class %d, expected %d", cases[i].c,
                 nb_text_char_class (cases[i].c), cases[i].expected);
    }
}

static void
test_find_unsafe (void)
{
  const char *plain = "laptop-7 Zoë 中文";
  const char *rlo = "invoice\xe2\x80\xaegpj.exe";  /* U+202E at byte 7 */
  gunichar c = 0;

  g_assert_cmpint (nb_text_find_unsafe (plain, strlen (plain), &c), ==, -1);
  g_assert_cmpint (nb_text_find_unsafe (rlo, strlen (rlo), &c), ==, 7);
  g_assert_cmpuint (c, ==, 0x202e);
  /* A NUL inside the given length is found, not taken for the end. */
  g_assert_cmpint (nb_text_find_unsafe ("ab\0cd", 5, &c), ==, 2);
  g_assert_cmpuint (c, ==, 0);
  g_assert_cmpint (nb_text_find_unsafe ("a\tb", 3, NULL), ==, 1);
}

static void
test_describe (void)
{
  g_autofree char *control = nb_text_describe_char ('\n');
  g_autofree char *bidi = nb_text_describe_char (0x202e);
  g_autofree char *invisible = nb_text_describe_char (0x200b);

  g_assert_cmpstr (control, ==, "the control character U+000A");
  g_assert_cmpstr (bidi, ==, "the bidirectional control U+202E");
  g_assert_cmpstr (invisible, ==, "the invisible format character U+200B");
}

static void
test_escape (void)
{
  static const struct { const char *in; const char *out; } cases[] = {
    { "GET /api/peers", "GET /api/peers" },
    { "x\nnetbird-DEBUG: forged", "x\\nnetbird-DEBUG: forged" },
    { "a\r\tb", "a\\r\\tb" },
    { "\x1b[31mred", "\\x1b[31mred" },
    { "back\\slash \"q\"", "back\\\\slash \\\"q\\\"" },
    { "abc\xe2\x80\xae" "def", "abc\\u{202e}def" },
    { "line\xe2\x80\xa8sep", "line\\u{2028}sep" },
    { "nel\xc2\x85", "nel\\u{0085}" },
    { "bad\xff\xfe", "bad\\xff\\xfe" },
    { "Zoë 中文 \xe2\x80\x8d", "Zoë 中文 \xe2\x80\x8d" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *escaped = nb_text_escape (cases[i].in, -1, NB_TEXT_LOG_MAX);
      g_assert_cmpstr (escaped, ==, cases[i].out);
      g_assert_true (g_utf8_validate (escaped, -1, NULL));
    }
  {
    g_autofree char *null = nb_text_escape (NULL, -1, 10);
    g_autofree char *nul = nb_text_escape ("a\0b", 3, 10);

    g_assert_cmpstr (null, ==, "(null)");
    g_assert_cmpstr (nul, ==, "a\\x00b");
  }
}

static void
test_escape_bound (void)
{
  g_autofree char *long_text = g_strnfill (10000, 'a');
  g_autofree char *escaped = nb_text_escape (long_text, -1, NB_TEXT_LOG_MAX);
  /* "é" is two bytes: a bound of 5 falls inside the third one. */
  g_autofree char *cut_char = nb_text_escape ("ééé", -1, 5);

  g_assert_cmpuint (strlen (escaped), ==, NB_TEXT_LOG_MAX + strlen ("…"));
  g_assert_true (g_str_has_suffix (escaped, "…"));
  g_assert_cmpstr (cut_char, ==, "éé…");
}

/* Whatever bytes come in, the quotation is one line of valid UTF-8 with no
 * character that would change how the rest of the line reads. */
static void
test_escape_any_input (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (12);
  guint8 input[64];

  for (guint round = 0; round < 20000; round++)
    {
      gsize len = g_rand_int_range (rand, 0, sizeof input);
      g_autofree char *escaped = NULL;

      for (gsize i = 0; i < len; i++)
        {
          /* Mostly the bytes that matter: controls, UTF-8 lead and
           * continuation bytes, the start of U+202E and U+2028. */
          static const guint8 interesting[] = { 0, '\n', '\r', 0x1b, 0x7f, '\\', '"', 'a',
                                                0xc2, 0x85, 0xe2, 0x80, 0xae, 0xa8, 0xff };
          input[i] = g_rand_boolean (rand) ? interesting[g_rand_int_range (rand, 0, G_N_ELEMENTS (interesting))]
                                           : (guint8) g_rand_int_range (rand, 0, 256);
        }
      escaped = nb_text_escape ((const char *) input, len, 48);
      g_assert_true (g_utf8_validate (escaped, -1, NULL));
      g_assert_cmpint (nb_text_find_unsafe (escaped, strlen (escaped), NULL), ==, -1);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/text/char-classes", test_char_classes);
  g_test_add_func ("/text/find-unsafe", test_find_unsafe);
  g_test_add_func ("/text/describe", test_describe);
  g_test_add_func ("/text/escape", test_escape);
  g_test_add_func ("/text/escape-bound", test_escape_bound);
  g_test_add_func ("/text/escape-any-input", test_escape_any_input);

  return g_test_run ();
}
