/* netbird.c: the `netbird` command line client
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * A thin front-end: it parses arguments, calls libnetbird and prints.
 */
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <netbird.h>

typedef struct
{
  const char *name;
  const char *summary;
  int (*run) (int argc, char **argv);
} Command;

static int
cmd_version (int    argc,
             char **argv)
{
  g_print ("%s\n", nb_get_version_string ());
  return 0;
}

/* Like `wg genkey`: a new private key in base64 on stdout. The key is
 * written to nothing but the terminal or pipe the user chose. */
static int
cmd_genkey (int    argc,
            char **argv)
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
cmd_pubkey (int    argc,
            char **argv)
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

static const Command commands[] = {
  { "version", "Print the version of libnetbird", cmd_version },
  { "genkey", "Generate a private key and print it in base64 (as wg genkey)", cmd_genkey },
  { "pubkey", "Read a private key on stdin and print its public key (as wg pubkey)", cmd_pubkey },
};

static void
usage (FILE *out)
{
  fprintf (out, "Usage: netbird COMMAND [ARGS...]\n\nCommands:\n");
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

int
main (int    argc,
      char **argv)
{
  setlocale (LC_ALL, "");

  if (argc < 2)
    {
      usage (stderr);
      return 2;
    }
  if (g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h") ||
      g_str_equal (argv[1], "help"))
    {
      usage (stdout);
      return 0;
    }
  if (g_str_equal (argv[1], "--version"))
    return cmd_version (argc - 1, argv + 1);

  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (argv[1], commands[i].name))
      return commands[i].run (argc - 1, argv + 1);

  g_printerr ("netbird: unknown command '%s'\n\n", argv[1]);
  usage (stderr);
  return 2;
}
