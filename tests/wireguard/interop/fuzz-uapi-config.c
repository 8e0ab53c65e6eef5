/* fuzz-uapi-config.c: the configuration protocol's "set" parser on any input
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <stdint.h>

#include "nb-wg-uapi-private.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbWgUapiConfig) config = nb_wg_uapi_config_parse ((const char *) data, size, &error);

  g_assert ((config == NULL) != (error == NULL));
  if (config != NULL)
    for (guint i = 0; i < config->peers->len; i++)
      {
        NbWgUapiPeerConfig *peer = g_ptr_array_index (config->peers, i);

        /* What parsed prints back and parses again to the same. */
        if (peer->endpoint != NULL)
          {
            g_autofree char *text = nb_wg_uapi_format_endpoint (peer->endpoint);
            g_autoptr(GInetSocketAddress) back = nb_wg_uapi_parse_endpoint (text);

            g_assert_nonnull (back);
          }
      }
  return 0;
}
