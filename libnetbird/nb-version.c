/* nb-version.c: libnetbird version at run time
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include "nb-version.h"

/**
 * nb_get_major_version:
 *
 * The major version of the libnetbird that is loaded, which may differ from
 * %NB_MAJOR_VERSION the application was compiled against.
 *
 * Returns: the major version
 */
guint
nb_get_major_version (void)
{
  return NB_MAJOR_VERSION;
}

/**
 * nb_get_minor_version:
 *
 * The minor version of the libnetbird that is loaded.
 *
 * Returns: the minor version
 */
guint
nb_get_minor_version (void)
{
  return NB_MINOR_VERSION;
}

/**
 * nb_get_micro_version:
 *
 * The micro version of the libnetbird that is loaded.
 *
 * Returns: the micro version
 */
guint
nb_get_micro_version (void)
{
  return NB_MICRO_VERSION;
}

/**
 * nb_get_version_string:
 *
 * The version of the libnetbird that is loaded, such as "0.1.0".
 *
 * Returns: (transfer none): the version string
 */
const char *
nb_get_version_string (void)
{
  return NB_VERSION_STRING;
}

/**
 * nb_check_version:
 * @major: the required major version
 * @minor: the required minor version
 * @micro: the required micro version
 *
 * Whether the libnetbird that is loaded is compatible with the given version:
 * same major version, and at least @minor.@micro.
 *
 * Returns: %TRUE if the loaded library satisfies the requirement
 */
gboolean
nb_check_version (guint major,
                  guint minor,
                  guint micro)
{
  if (major != NB_MAJOR_VERSION)
    return FALSE;
  if (minor != NB_MINOR_VERSION)
    return minor < NB_MINOR_VERSION;
  return micro <= NB_MICRO_VERSION;
}
