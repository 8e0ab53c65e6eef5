/* fuzz-wg-icmp.c: the destination-unreachable builder on any packet
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * The TUN hands the device whatever the host routes to it: the builder
 * reads only the bytes it is given, writes only NB_WG_ICMP_ERROR_MAX, and
 * what it builds is a well-formed error with correct checksums.
 */
#include <stdint.h>
#include <string.h>

#include "nb-tun-offload-private.h"
#include "nb-wg-icmp.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  /* Exactly as long as the limit: ASan sees a write past it. */
  g_autofree guint8 *error = g_malloc (NB_WG_ICMP_ERROR_MAX);
  gsize n = nb_wg_icmp_build_unreachable (data, size, error);

  if (n == 0)
    return 0;
  g_assert_cmpuint (n, <=, NB_WG_ICMP_ERROR_MAX);
  if ((error[0] >> 4) == 4)
    {
      g_assert_cmpuint (n, >=, 28);
      g_assert_cmpuint (n, <=, 576);
      g_assert_cmpuint ((gsize) ((error[2] << 8) | error[3]), ==, n);
      g_assert_cmpuint (nb_csum_fold (nb_csum_partial (error, 20, 0)), ==, 0xffff);
      g_assert_cmpuint (nb_csum_fold (nb_csum_partial (error + 20, n - 20, 0)), ==, 0xffff);
      g_assert_cmpmem (error + 28, n - 28, data, n - 28);
    }
  else
    {
      g_assert_cmpuint (error[0] >> 4, ==, 6);
      g_assert_cmpuint (n, >=, 48);
      g_assert_cmpuint ((gsize) ((error[4] << 8) | error[5]), ==, n - 40);
      g_assert_cmpuint (nb_csum_fold (nb_csum_partial (error + 40, n - 40,
                                                       nb_csum_pseudo (error, 58, n - 40))),
                        ==, 0xffff);
      g_assert_cmpmem (error + 48, n - 48, data, n - 48);
    }
  return 0;
}
