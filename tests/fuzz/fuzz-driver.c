/* fuzz-driver.c: runs a libFuzzer target without libFuzzer
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * Built with clang and -Dfuzzing=true, each fuzz target links libFuzzer
 * instead of this file and explores for as long as it is let. In every other
 * build this driver makes the target a regression test: it feeds the files
 * given on the command line (the seed corpus), then a fixed number of
 * deterministic mutations of them (bit flips, truncations, insertions and
 * splices), so that a parser that crashed once keeps being checked: 20,000
 * in every build, or NB_FUZZ_ITERATIONS.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT 65536

static void
run_one (const guint8 *data,
         gsize         size)
{
  /* A private copy, exactly as long as the input: ASan then catches any
   * read past its end. */
  g_autofree guint8 *copy = g_memdup2 (data, size);

  LLVMFuzzerTestOneInput (copy, size);
}

static gsize
mutate (GRand        *rand,
        const guint8 *in,
        gsize         in_size,
        const guint8 *other,
        gsize         other_size,
        guint8       *out)
{
  gsize size = MIN (in_size, FUZZ_MAX_INPUT);
  guint n = g_rand_int_range (rand, 1, 8);

  memcpy (out, in, size);
  while (n-- > 0)
    {
      switch (g_rand_int_range (rand, 0, 6))
        {
        case 0: /* flip a bit */
          if (size > 0)
            out[g_rand_int_range (rand, 0, size)] ^= 1 << g_rand_int_range (rand, 0, 8);
          break;
        case 1: /* set a byte to an interesting value */
          if (size > 0)
            {
              static const guint8 values[] = { 0, 1, 0x7f, 0x80, 0xff, '"', '\\', '{', '=', '\n' };
              out[g_rand_int_range (rand, 0, size)] = values[g_rand_int_range (rand, 0, G_N_ELEMENTS (values))];
            }
          break;
        case 2: /* truncate */
          if (size > 0)
            size = g_rand_int_range (rand, 0, size);
          break;
        case 3: /* insert random bytes */
          if (size < FUZZ_MAX_INPUT - 16)
            {
              gsize at = g_rand_int_range (rand, 0, size + 1);
              gsize len = g_rand_int_range (rand, 1, 16);
              memmove (out + at + len, out + at, size - at);
              for (gsize i = 0; i < len; i++)
                out[at + i] = g_rand_int_range (rand, 0, 256);
              size += len;
            }
          break;
        case 4: /* splice the tail of another input */
          if (other_size > 0)
            {
              gsize at = g_rand_int_range (rand, 0, size + 1);
              gsize from = g_rand_int_range (rand, 0, other_size);
              gsize len = MIN (other_size - from, FUZZ_MAX_INPUT - at);
              memcpy (out + at, other + from, len);
              size = at + len;
            }
          break;
        default: /* duplicate a chunk */
          if (size > 0 && size < FUZZ_MAX_INPUT / 2)
            {
              gsize from = g_rand_int_range (rand, 0, size);
              gsize len = MIN (size - from, (gsize) FUZZ_MAX_INPUT - size);
              memmove (out + from + len, out + from, size - from);
              size += len;
            }
          break;
        }
    }
  return size;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GPtrArray) seeds = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(GRand) rand = g_rand_new_with_seed (0x6e6574);
  g_autofree guint8 *buffer = g_malloc (FUZZ_MAX_INPUT * 2);
  guint iterations = 20000;
  const char *env = g_getenv ("NB_FUZZ_ITERATIONS");

  if (env != NULL)
    iterations = (guint) g_ascii_strtoull (env, NULL, 10);

  for (int i = 1; i < argc; i++)
    {
      g_autoptr(GError) error = NULL;
      char *contents = NULL;
      gsize length = 0;

      if (!g_file_get_contents (argv[i], &contents, &length, &error))
        {
          g_printerr ("%s\n", error->message);
          return 1;
        }
      g_ptr_array_add (seeds, g_bytes_new_take (contents, length));
    }
  if (seeds->len == 0)
    g_ptr_array_add (seeds, g_bytes_new_static ("", 0));

  for (guint i = 0; i < seeds->len; i++)
    {
      gsize size = 0;
      const guint8 *data = g_bytes_get_data (seeds->pdata[i], &size);
      run_one (data, size);
    }

  for (guint i = 0; i < iterations; i++)
    {
      GBytes *seed = seeds->pdata[g_rand_int_range (rand, 0, seeds->len)];
      GBytes *other = seeds->pdata[g_rand_int_range (rand, 0, seeds->len)];
      gsize seed_size = 0, other_size = 0;
      const guint8 *seed_data = g_bytes_get_data (seed, &seed_size);
      const guint8 *other_data = g_bytes_get_data (other, &other_size);
      gsize size = mutate (rand, seed_data ? seed_data : (const guint8 *) "", seed_size,
                           other_data, other_size, buffer);

      run_one (buffer, size);
    }

  printf ("%u seeds and %u mutations ran without a fault\n", seeds->len, iterations);
  return 0;
}
