/* nb-sodium.c: libsodium start-up
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <sodium.h>

#include "nb-sodium-private.h"

void
nb_sodium_ensure_init (void)
{
  static gsize initialised = 0;

  if (g_once_init_enter (&initialised))
    {
      /* sodium_init() fails only when no entropy source can be opened: then
       * no key may ever be generated, and no caller could recover. */
      if (sodium_init () < 0)
        g_error ("libsodium could not be initialised: no source of randomness");
      g_once_init_leave (&initialised, 1);
    }
}
