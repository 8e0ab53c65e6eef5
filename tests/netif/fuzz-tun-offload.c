/* fuzz-tun-offload.c: virtio-net frames cut, and the packets coalesced again
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * The input is a frame as a TUN queue hands it (virtio_net_hdr first). What
 * it splits into is then coalesced and each resulting frame split again:
 * both directions of nb-tun-offload.c on any bytes.
 */
#include <stdint.h>
#include <string.h>

#include "nb-tun-private.h"
#include "nb-tun-offload-private.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define HEADROOM 16
#define SLOT 2048

static guint8 storage[NB_TUN_MAX_SEGMENTS][SLOT];
static guint8 again[NB_TUN_MAX_SEGMENTS][SLOT];
static guint8 frame[NB_TUN_VNET_HDR_LEN + 65536];

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  guint8 *out[NB_TUN_MAX_SEGMENTS];
  gsize lens[NB_TUN_MAX_SEGMENTS];
  guint8 *out2[NB_TUN_MAX_SEGMENTS];
  gsize lens2[NB_TUN_MAX_SEGMENTS];
  guint8 *pkts[NB_TUN_MAX_SEGMENTS];
  NbTunGroup groups[NB_TUN_MAX_SEGMENTS];
  guint next[NB_TUN_MAX_SEGMENTS];
  int n;
  guint n_groups;

  for (guint i = 0; i < NB_TUN_MAX_SEGMENTS; i++)
    {
      out[i] = storage[i];
      out2[i] = again[i];
    }
  n = nb_tun_offload_split (data, size, out, lens, NB_TUN_MAX_SEGMENTS, HEADROOM, 16, SLOT);
  g_assert (n >= 0 && n <= NB_TUN_MAX_SEGMENTS);
  for (int i = 0; i < n; i++)
    {
      g_assert (lens[i] <= SLOT - HEADROOM - 16);
      pkts[i] = out[i] + HEADROOM;
    }

  n_groups = nb_tun_offload_coalesce (pkts, lens, (guint) n, groups, next);
  g_assert (n_groups <= (guint) n);
  for (guint g = 0; g < n_groups; g++)
    {
      gsize off;
      int m;

      nb_tun_offload_finish_group (pkts, lens, &groups[g]);
      off = NB_TUN_VNET_HDR_LEN + lens[groups[g].first];
      memcpy (frame, pkts[groups[g].first] - NB_TUN_VNET_HDR_LEN, off);
      for (guint i = next[groups[g].first]; i != G_MAXUINT; i = next[i])
        {
          g_assert (off + lens[i] - groups[g].hdr_len <= sizeof frame);
          memcpy (frame + off, pkts[i] + groups[g].hdr_len, lens[i] - groups[g].hdr_len);
          off += lens[i] - groups[g].hdr_len;
        }
      /* A coalesced frame cuts back into as many packets as went in. */
      m = nb_tun_offload_split (frame, off, out2, lens2, NB_TUN_MAX_SEGMENTS, HEADROOM, 16, SLOT);
      if (groups[g].count > 1)
        g_assert_cmpint (m, ==, (int) groups[g].count);
    }
  return 0;
}
