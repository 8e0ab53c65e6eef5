/* nb-wg-allowedips.h: the cryptokey routing table (WireGuard paper §2)
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * A longest-prefix-match trie per address family, mapping prefixes to peers
 * (opaque pointers here). Not locked: the device guards it with its
 * configuration lock, read-held by the packet threads for a whole batch.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _NbWgAllowedIpsNode NbWgAllowedIpsNode;

typedef struct {
  NbWgAllowedIpsNode *root4;
  NbWgAllowedIpsNode *root6;
  guint64 generation;
} NbWgAllowedIps;

/* Called for each prefix of a peer: @address is 4 or 16 bytes. */
typedef void (*NbWgAllowedIpsFunc) (const guint8 *address,
                                    guint         address_len,
                                    guint8        cidr,
                                    gpointer      user_data);

void     nb_wg_allowedips_init   (NbWgAllowedIps *table);
void     nb_wg_allowedips_free   (NbWgAllowedIps *table);
/* @address_len is 4 or 16; @cidr at most 32 or 128. Host bits are ignored.
 * An existing prefix moves to @peer. FALSE for an invalid length or cidr. */
gboolean nb_wg_allowedips_insert (NbWgAllowedIps *table,
                                  const guint8   *address,
                                  guint           address_len,
                                  guint8          cidr,
                                  gpointer        peer);
/* Removes the prefix if @peer holds it (any peer if @peer is NULL). */
gboolean nb_wg_allowedips_remove (NbWgAllowedIps *table,
                                  const guint8   *address,
                                  guint           address_len,
                                  guint8          cidr,
                                  gpointer        peer);
void     nb_wg_allowedips_remove_by_peer (NbWgAllowedIps *table,
                                          gpointer        peer);
/* The peer of the longest prefix holding @address, or NULL. */
gpointer nb_wg_allowedips_lookup (const NbWgAllowedIps *table,
                                  const guint8         *address,
                                  guint                 address_len);
void     nb_wg_allowedips_foreach_of_peer (const NbWgAllowedIps *table,
                                           gpointer              peer,
                                           NbWgAllowedIpsFunc    func,
                                           gpointer              user_data);

G_END_DECLS
