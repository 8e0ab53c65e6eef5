/* fuzz-key.c: key parsing from base64 on any input
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <stdint.h>

#include "netbird.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *text = g_strndup ((const char *) data, size);
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) error2 = NULL;
  g_autoptr(NbKey) key = nb_key_new_from_base64 (text, &error);
  g_autoptr(NbKey) pub = nb_key_new_public_from_base64 (text, &error2);

  g_assert ((key == NULL) != (error == NULL));
  g_assert ((pub == NULL) != (error2 == NULL));
  if (key != NULL)
    {
      g_autofree char *again = nb_key_dup_private_base64 (key, NULL);
      /* What parses must serialise back to the same text. */
      g_assert_cmpstr (again, ==, text);
      g_assert_true (nb_key_equal (key, key));
    }
  return 0;
}
