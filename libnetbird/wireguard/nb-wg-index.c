/* nb-wg-index.c: the receiver-index table of a device
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * Every handshake and every keypair is known to the peer on the other side
 * by a random 32-bit index (WireGuard paper §5.4.2): the receiver index of
 * the messages it sends us. A keypair takes over the index of the handshake
 * that made it.
 */
#define G_LOG_DOMAIN "netbird-wg"

#include <sodium.h>

#include "nb-wg-internal.h"

static void
index_entry_free (gpointer data)
{
  NbWgIndexEntry *entry = data;

  if (entry->kind == NB_WG_INDEX_KEYPAIR)
    nb_wg_keypair_unref (entry->keypair);
  g_free (entry);
}

GHashTable *
nb_wg_index_table_new (void)
{
  return g_hash_table_new_full (NULL, NULL, NULL, index_entry_free);
}

/* A fresh random index for @peer's handshake, in place of @old_index (0:
 * none), both under one hold of the table lock. Called by the handshake
 * with its lock held (nb-wg-noise.h), so the index changes hands with the
 * state it names. */
guint32
nb_wg_device_index_add_handshake (NbWgDevice *self,
                                  NbWgPeer   *peer,
                                  guint32     old_index)
{
  NbWgIndexEntry *entry = g_new0 (NbWgIndexEntry, 1);
  guint32 index;

  entry->kind = NB_WG_INDEX_HANDSHAKE;
  entry->peer = peer;
  g_rw_lock_writer_lock (&self->index_lock);
  if (old_index != 0)
    {
      NbWgIndexEntry *old = g_hash_table_lookup (self->index_table, GUINT_TO_POINTER (old_index));

      /* Only ever the handshake's own entry: a keypair that took an index
       * over is retired with its slot, not here. */
      if (old != NULL && old->kind == NB_WG_INDEX_HANDSHAKE && old->peer == peer)
        g_hash_table_remove (self->index_table, GUINT_TO_POINTER (old_index));
    }
  do
    index = randombytes_random ();
  while (index == 0 || g_hash_table_contains (self->index_table, GUINT_TO_POINTER (index)));
  g_hash_table_insert (self->index_table, GUINT_TO_POINTER (index), entry);
  g_rw_lock_writer_unlock (&self->index_lock);
  return index;
}

/* The keypair of a completed handshake takes over the handshake's index
 * (replacing its entry); called by the handshake with its lock held. */
guint32
nb_wg_device_index_add_keypair (NbWgDevice  *self,
                                NbWgKeypair *keypair,
                                guint32      reuse_index)
{
  NbWgIndexEntry *entry = g_new0 (NbWgIndexEntry, 1);

  entry->kind = NB_WG_INDEX_KEYPAIR;
  entry->peer = keypair->peer;
  entry->keypair = nb_wg_keypair_ref (keypair);
  g_rw_lock_writer_lock (&self->index_lock);
  g_hash_table_replace (self->index_table, GUINT_TO_POINTER (reuse_index), entry);
  g_rw_lock_writer_unlock (&self->index_lock);
  return reuse_index;
}

void
nb_wg_device_index_remove (NbWgDevice *self,
                           guint32     index)
{
  g_rw_lock_writer_lock (&self->index_lock);
  g_hash_table_remove (self->index_table, GUINT_TO_POINTER (index));
  g_rw_lock_writer_unlock (&self->index_lock);
}

/* Drops @index if it still names @peer's handshake (a keypair that took it
 * over stays). Called by the handshake with its lock held. */
void
nb_wg_device_index_remove_handshake (NbWgDevice *self,
                                     NbWgPeer   *peer,
                                     guint32     index)
{
  NbWgIndexEntry *entry;

  g_rw_lock_writer_lock (&self->index_lock);
  entry = g_hash_table_lookup (self->index_table, GUINT_TO_POINTER (index));
  if (entry != NULL && entry->kind == NB_WG_INDEX_HANDSHAKE && entry->peer == peer)
    g_hash_table_remove (self->index_table, GUINT_TO_POINTER (index));
  g_rw_lock_writer_unlock (&self->index_lock);
}

/* Returns: (transfer full): the keypair of @index, or NULL */
NbWgKeypair *
nb_wg_device_index_lookup_keypair (NbWgDevice *self,
                                   guint32     index)
{
  NbWgIndexEntry *entry;
  NbWgKeypair *keypair = NULL;

  g_rw_lock_reader_lock (&self->index_lock);
  entry = g_hash_table_lookup (self->index_table, GUINT_TO_POINTER (index));
  if (entry != NULL && entry->kind == NB_WG_INDEX_KEYPAIR)
    keypair = nb_wg_keypair_ref (entry->keypair);
  g_rw_lock_reader_unlock (&self->index_lock);
  return keypair;
}

/* The peer of a handshake or keypair index; valid while the caller holds the
 * config lock. */
NbWgPeer *
nb_wg_device_index_lookup_peer (NbWgDevice *self,
                                guint32     index)
{
  NbWgIndexEntry *entry;
  NbWgPeer *peer = NULL;

  g_rw_lock_reader_lock (&self->index_lock);
  entry = g_hash_table_lookup (self->index_table, GUINT_TO_POINTER (index));
  if (entry != NULL)
    peer = entry->peer;
  g_rw_lock_reader_unlock (&self->index_lock);
  return peer;
}

NbWgPeer *
nb_wg_device_lookup_peer_raw (NbWgDevice   *self,
                              const guint8 *public_key)
{
  return g_hash_table_lookup (self->peers, public_key);
}

