/* test-version.c: version macros and run-time version
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include "netbird.h"

static void
test_version_consistent (void)
{
  g_autofree char *built = g_strdup_printf ("%u.%u.%u", nb_get_major_version (),
                                            nb_get_minor_version (), nb_get_micro_version ());

  g_assert_cmpstr (built, ==, nb_get_version_string ());
  g_assert_cmpstr (NB_VERSION_STRING, ==, nb_get_version_string ());
  g_assert_true (NB_CHECK_VERSION (NB_MAJOR_VERSION, NB_MINOR_VERSION, NB_MICRO_VERSION));
  g_assert_false (NB_CHECK_VERSION (NB_MAJOR_VERSION + 1, 0, 0));
  g_assert_true (nb_check_version (NB_MAJOR_VERSION, NB_MINOR_VERSION, NB_MICRO_VERSION));
  g_assert_true (nb_check_version (NB_MAJOR_VERSION, 0, 0) || NB_MINOR_VERSION == 0);
  g_assert_false (nb_check_version (NB_MAJOR_VERSION + 1, 0, 0));
  g_assert_false (nb_check_version (NB_MAJOR_VERSION, NB_MINOR_VERSION + 1, 0));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/version/consistent", test_version_consistent);
  return g_test_run ();
}
