/* nb-wg-allowedips.c: the cryptokey routing table
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * A path-compressed binary trie: each node holds a prefix (bits masked past
 * its cidr), maybe a peer, and two children that extend the prefix by the
 * bit at position cidr. Nodes without a peer exist only to join two
 * branches; removal folds them away again.
 */
#define G_LOG_DOMAIN "netbird-wg"

#include <string.h>

#include "nb-wg-allowedips.h"

struct _NbWgAllowedIpsNode
{
  NbWgAllowedIpsNode *child[2];
  gpointer peer;
  guint8 cidr;
  guint8 bits[16];
};

static inline guint
bit_at (const guint8 *bits, guint index)
{
  return (bits[index / 8] >> (7 - index % 8)) & 1;
}

static void
mask_copy (guint8 *dst, const guint8 *src, guint len, guint cidr)
{
  memset (dst, 0, 16);
  memcpy (dst, src, len);
  for (guint i = cidr; i < len * 8; i++)
    dst[i / 8] &= (guint8) ~(0x80 >> (i % 8));
}

/* Does @node's prefix cover @address? */
static inline gboolean
prefix_matches (const NbWgAllowedIpsNode *node, const guint8 *address)
{
  guint whole = node->cidr / 8;
  guint rest = node->cidr % 8;

  if (memcmp (node->bits, address, whole) != 0)
    return FALSE;
  if (rest == 0)
    return TRUE;
  return ((node->bits[whole] ^ address[whole]) & (guint8) (0xff00 >> rest)) == 0;
}

static guint
common_bits (const guint8 *a, const guint8 *b, guint len)
{
  for (guint i = 0; i < len; i++)
    {
      guint8 x = a[i] ^ b[i];
      if (x != 0)
        return i * 8 + (guint) __builtin_clz (x) - 24;
    }
  return len * 8;
}

static NbWgAllowedIpsNode *
node_new (const guint8 *address, guint len, guint8 cidr, gpointer peer)
{
  NbWgAllowedIpsNode *node = g_new0 (NbWgAllowedIpsNode, 1);

  mask_copy (node->bits, address, len, cidr);
  node->cidr = cidr;
  node->peer = peer;
  return node;
}

static void
node_free_all (NbWgAllowedIpsNode *node)
{
  if (node == NULL)
    return;
  node_free_all (node->child[0]);
  node_free_all (node->child[1]);
  g_free (node);
}

void
nb_wg_allowedips_init (NbWgAllowedIps *table)
{
  memset (table, 0, sizeof *table);
}

void
nb_wg_allowedips_free (NbWgAllowedIps *table)
{
  node_free_all (table->root4);
  node_free_all (table->root6);
  memset (table, 0, sizeof *table);
}

static NbWgAllowedIpsNode **
root_of (NbWgAllowedIps *table, guint len)
{
  return len == 4 ? &table->root4 : &table->root6;
}

gboolean
nb_wg_allowedips_insert (NbWgAllowedIps *table,
                         const guint8   *address,
                         guint           address_len,
                         guint8          cidr,
                         gpointer        peer)
{
  NbWgAllowedIpsNode **slot;
  NbWgAllowedIpsNode *node, *fresh;
  guint8 key[16];
  guint common;

  if ((address_len != 4 && address_len != 16) || cidr > address_len * 8 || peer == NULL)
    return FALSE;
  mask_copy (key, address, address_len, cidr);
  table->generation++;

  slot = root_of (table, address_len);
  while ((node = *slot) != NULL && node->cidr <= cidr && prefix_matches (node, key))
    {
      if (node->cidr == cidr)
        {
          node->peer = peer;
          return TRUE;
        }
      slot = &node->child[bit_at (key, node->cidr)];
    }

  fresh = node_new (key, address_len, cidr, peer);
  if (node == NULL)
    {
      *slot = fresh;
      return TRUE;
    }

  common = MIN ((guint) cidr, common_bits (node->bits, key, address_len));
  common = MIN (common, (guint) node->cidr);
  if (common == cidr)
    {
      /* The new prefix covers the node: it goes above it. */
      fresh->child[bit_at (node->bits, cidr)] = node;
      *slot = fresh;
    }
  else
    {
      /* They part at bit @common: a joining node without a peer. */
      NbWgAllowedIpsNode *join = node_new (key, address_len, (guint8) common, NULL);

      join->child[bit_at (node->bits, common)] = node;
      join->child[bit_at (key, common)] = fresh;
      *slot = join;
    }
  return TRUE;
}

/* Folds away *slot if it has no peer and at most one child. */
static void
compact (NbWgAllowedIpsNode **slot)
{
  NbWgAllowedIpsNode *node = *slot;

  if (node == NULL || node->peer != NULL)
    return;
  if (node->child[0] != NULL && node->child[1] != NULL)
    return;
  *slot = node->child[0] != NULL ? node->child[0] : node->child[1];
  g_free (node);
}

static gboolean
remove_at (NbWgAllowedIpsNode **slot, const guint8 *key, guint8 cidr, gpointer peer)
{
  NbWgAllowedIpsNode *node = *slot;
  gboolean removed;

  if (node == NULL || node->cidr > cidr || !prefix_matches (node, key))
    return FALSE;
  if (node->cidr == cidr)
    {
      if (node->peer == NULL || (peer != NULL && node->peer != peer))
        return FALSE;
      node->peer = NULL;
      removed = TRUE;
    }
  else
    removed = remove_at (&node->child[bit_at (key, node->cidr)], key, cidr, peer);
  if (removed)
    compact (slot);
  return removed;
}

gboolean
nb_wg_allowedips_remove (NbWgAllowedIps *table,
                         const guint8   *address,
                         guint           address_len,
                         guint8          cidr,
                         gpointer        peer)
{
  guint8 key[16];

  if ((address_len != 4 && address_len != 16) || cidr > address_len * 8)
    return FALSE;
  mask_copy (key, address, address_len, cidr);
  table->generation++;
  return remove_at (root_of (table, address_len), key, cidr, peer);
}

static void
remove_peer_at (NbWgAllowedIpsNode **slot, gpointer peer)
{
  NbWgAllowedIpsNode *node = *slot;

  if (node == NULL)
    return;
  remove_peer_at (&node->child[0], peer);
  remove_peer_at (&node->child[1], peer);
  if (node->peer == peer)
    node->peer = NULL;
  compact (slot);
}

void
nb_wg_allowedips_remove_by_peer (NbWgAllowedIps *table,
                                 gpointer        peer)
{
  table->generation++;
  remove_peer_at (&table->root4, peer);
  remove_peer_at (&table->root6, peer);
}

gpointer
nb_wg_allowedips_lookup (const NbWgAllowedIps *table,
                         const guint8         *address,
                         guint                 address_len)
{
  const NbWgAllowedIpsNode *node;
  gpointer best = NULL;
  guint max_bits = address_len * 8;

  if (address_len == 4)
    node = table->root4;
  else if (address_len == 16)
    node = table->root6;
  else
    return NULL;

  while (node != NULL && prefix_matches (node, address))
    {
      if (node->peer != NULL)
        best = node->peer;
      if (node->cidr >= max_bits)
        break;
      node = node->child[bit_at (address, node->cidr)];
    }
  return best;
}

static void
foreach_at (const NbWgAllowedIpsNode *node,
            guint                     len,
            gpointer                  peer,
            NbWgAllowedIpsFunc        func,
            gpointer                  user_data)
{
  if (node == NULL)
    return;
  if (node->peer == peer)
    func (node->bits, len, node->cidr, user_data);
  foreach_at (node->child[0], len, peer, func, user_data);
  foreach_at (node->child[1], len, peer, func, user_data);
}

void
nb_wg_allowedips_foreach_of_peer (const NbWgAllowedIps *table,
                                  gpointer              peer,
                                  NbWgAllowedIpsFunc    func,
                                  gpointer              user_data)
{
  foreach_at (table->root4, 4, peer, func, user_data);
  foreach_at (table->root6, 16, peer, func, user_data);
}
