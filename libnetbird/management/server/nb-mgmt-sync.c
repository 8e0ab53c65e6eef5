/* nb-mgmt-sync.c: the sync channel and the update fan-out
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-management"

#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#include <unistd.h>
#endif

#include "nb-mgmt-server-private.h"
#include "nb-mgmt-netmap-private.h"
#include "nb-text-private.h"

/* A peer opens a WebSocket on /management/v1/sync and sends one sealed
 * SyncRequest; that authenticates it (only the holder of the private key
 * can seal as that key). The server answers with the sealed SyncResponse at
 * once and pushes a new one each time the peer's map changes. Each message
 * is one binary frame holding one envelope.
 *
 * Changes reach the server as the store's "changed" signal. They are
 * coalesced for a few milliseconds per account (an API burst makes one
 * push), then the store tells which peers' maps differ from what they were
 * last given, and only those peers get a message. */

#define FLUSH_DELAY_MS 20

/* A burst of connects: at least TRIM_AFTER_MAPS first maps, then none
 * pending for TRIM_QUIET_MS. */
#define TRIM_AFTER_MAPS 64
#define TRIM_QUIET_MS 500

/* The send side is the service base's channel: a network map is a
 * snapshot, so a peer that does not read keeps at most the map in flight
 * and the newest one waiting (NB_SERVICE_SEND_REPLACE), and a channel not
 * authenticated in time closes with NB_MGMT_SYNC_CLOSE_TIMEOUT. */
struct _NbMgmtSyncChannel
{
  NbManagementServer *server;
  SoupWebsocketConnection *connection;
  NbServiceChannel *channel;
  NbKey *peer_key;
  char *peer_id;
  char *account_id;             /* a GRefString shared by the account's channels */
  gulong message_handler;
  gulong closed_handler;
};

void
nb_mgmt_sync_channel_free (NbMgmtSyncChannel *channel)
{
  if (channel == NULL)
    return;
  g_clear_signal_handler (&channel->message_handler, channel->connection);
  g_clear_signal_handler (&channel->closed_handler, channel->connection);
  g_clear_pointer (&channel->channel, nb_service_channel_free); /* closes it if open */
  g_clear_object (&channel->connection);
  g_clear_object (&channel->peer_key);
  g_free (channel->peer_id);
  g_clear_pointer (&channel->account_id, g_ref_string_release);
  g_free (channel);
}

static void
count_account_channel (NbManagementServer *self,
                       const char         *account_id,
                       int                 delta)
{
  guint count = GPOINTER_TO_UINT (g_hash_table_lookup (self->account_channels, account_id));

  count = (guint) ((int) count + delta);
  if (count == 0)
    g_hash_table_remove (self->account_channels, account_id);
  else
    g_hash_table_replace (self->account_channels, g_strdup (account_id), GUINT_TO_POINTER (count));
}

static const char *
channel_name (NbMgmtSyncChannel *channel)
{
  return channel->peer_key != NULL ? nb_key_get_public_base64 (channel->peer_key)
                                   : "(unauthenticated)";
}

static void
close_channel (NbMgmtSyncChannel *channel,
               gushort            code,
               const char        *reason)
{
  if (!g_log_writer_default_would_drop (G_LOG_LEVEL_DEBUG, G_LOG_DOMAIN))
    {
      /* The reason may repeat what the peer sent (a parse error). */
      g_autofree char *quoted = nb_text_escape (reason, -1, NB_TEXT_LOG_MAX);

      g_debug ("Closing sync channel of %s: %u %s", channel_name (channel), code, quoted);
    }
  nb_service_channel_close (channel->channel, code, reason);
}

static gboolean
send_sealed (NbMgmtSyncChannel *channel,
             GString           *plaintext)
{
  NbManagementServer *self = channel->server;
  g_autoptr(GBytes) bytes = g_bytes_new_static (plaintext->str, plaintext->len);
  g_autoptr(GBytes) sealed = NULL;
  g_autoptr(GError) error = NULL;

  sealed = nb_envelope_seal (self->key, channel->peer_key, bytes, &error);
  if (sealed == NULL)
    {
      g_warning ("Cannot seal a network map for %s: %s", channel_name (channel), error->message);
      close_channel (channel, NB_MGMT_SYNC_CLOSE_INTERNAL, "cannot seal");
      return FALSE;
    }
  /* Every message of the sync channel is a whole network map. */
  return nb_service_channel_send (channel->channel, sealed, NB_SERVICE_SEND_REPLACE);
}

static void
push_map (NbMgmtSyncChannel      *channel,
          const NbMgmtNetworkMap *map)
{
  NbManagementServer *self = channel->server;
  g_autoptr(NbMgmtMsgNetbirdConfig) config = nb_mgmt_server_build_netbird_config (self,
                                                                                  map->peer_key);

  g_string_truncate (self->scratch, 0);
  nb_mgmt_server_write_sync_response (map, config, self->scratch);
  g_debug ("Pushing network map serial %" G_GUINT64_FORMAT " (%" G_GSIZE_FORMAT " bytes) to %s",
           map->serial, self->scratch->len, channel_name (channel));
  send_sealed (channel, self->scratch);
}

static void
on_closed (SoupWebsocketConnection *connection,
           NbMgmtSyncChannel       *channel)
{
  NbManagementServer *self = channel->server;

  if (channel->peer_key == NULL)
    {
      g_hash_table_remove (self->pending_channels, channel);
      return;
    }

  /* A channel replaced by a newer one of the same peer is no longer in the
   * table and must not mark the peer disconnected. */
  if (g_hash_table_lookup (self->channels, nb_key_get_public_base64 (channel->peer_key)) ==
      channel)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *key = g_strdup (nb_key_get_public_base64 (channel->peer_key));
      g_autofree char *account_id = g_strdup (channel->account_id);
      g_autofree char *peer_id = g_strdup (channel->peer_id);

      g_info ("Peer %s disconnected", key);
      g_hash_table_remove (self->channels, key); /* frees @channel */
      count_account_channel (self, account_id, -1);
      nb_mgmt_store_forget_network_map (self->store, account_id, peer_id);
      if (!nb_mgmt_store_set_peer_connected (self->store, key, FALSE, &error) &&
          !g_error_matches (error, NB_MGMT_ERROR, NB_MGMT_ERROR_NOT_FOUND))
        g_warning ("Cannot mark peer %s disconnected: %s", key, error->message);
    }
}

static void
on_closed_replaced (SoupWebsocketConnection *connection,
                    NbMgmtSyncChannel       *channel)
{
  nb_mgmt_sync_channel_free (channel);
}

/* A sync request whose peer's first map is being computed. */
typedef struct {
  NbManagementServer *self;
  NbMgmtSyncChannel *channel;           /* valid while in pending_channels with @connection */
  SoupWebsocketConnection *connection;  /* held: no other channel can have it */
  NbKey *peer_key;
  char *peer_id;
  char *account_id;
} FirstMap;

static void
first_map_free (FirstMap *first)
{
  g_object_unref (first->connection);
  g_clear_object (&first->peer_key);
  g_free (first->peer_id);
  g_free (first->account_id);
  g_free (first);
}

static void schedule_flush (NbManagementServer *self);

/* The end of a burst of connects. Each first map is written, sealed and
 * framed on the main loop (~300 KB each at 10,000 peers, three copies),
 * and the channels' own objects are allocated between those buffers while
 * they are in use: once the burst is over, malloc keeps the pages of the
 * freed buffers, scattered among live objects, and glibc returns free
 * memory to the system only from the top of the heap. malloc_trim() gives
 * back every whole free page of every arena (madvise, nothing moves): at
 * 2,000 channels in about a millisecond, once per burst. */
#ifdef __GLIBC__
/* The process's resident memory, or 0 when unknown. */
static guint64
resident_kb (void)
{
  g_autofree char *statm = NULL;
  char **fields;
  guint64 pages = 0;

  if (!g_file_get_contents ("/proc/self/statm", &statm, NULL, NULL))
    return 0;
  fields = g_strsplit (statm, " ", 3);
  if (fields[0] != NULL && fields[1] != NULL)
    pages = g_ascii_strtoull (fields[1], NULL, 10);
  g_strfreev (fields);
  return pages * (guint64) sysconf (_SC_PAGESIZE) / 1024;
}
#endif

static gboolean
trim_after_burst (gpointer user_data)
{
  NbManagementServer *self = user_data;
  gint64 quiet = g_get_monotonic_time () - self->last_first_map;

  self->trim_source = 0;
  /* Not over: the last first map of this burst re-arms the timer. */
  if (g_hash_table_size (self->first_maps) > 0)
    return G_SOURCE_REMOVE;
  if (quiet < TRIM_QUIET_MS * G_TIME_SPAN_MILLISECOND)
    {
      self->trim_source = g_timeout_add (TRIM_QUIET_MS - quiet / G_TIME_SPAN_MILLISECOND,
                                         trim_after_burst, self);
      return G_SOURCE_REMOVE;
    }
#ifdef __GLIBC__
  {
    guint64 before = resident_kb ();
    gint64 start = g_get_monotonic_time ();

    malloc_trim (0);
    g_debug ("A burst of %u first maps is over: heap trimmed in %" G_GINT64_FORMAT " us,"
             " resident %" G_GUINT64_FORMAT " -> %" G_GUINT64_FORMAT " kB",
             self->first_maps_since_trim, g_get_monotonic_time () - start, before,
             resident_kb ());
  }
#endif
  self->first_maps_since_trim = 0;
  return G_SOURCE_REMOVE;
}

static void
first_map_done (NbManagementServer *self)
{
  self->first_maps_since_trim++;
  self->last_first_map = g_get_monotonic_time ();
  if (self->first_maps_since_trim >= TRIM_AFTER_MAPS && self->trim_source == 0 &&
      g_hash_table_size (self->first_maps) == 0)
    self->trim_source = g_timeout_add (TRIM_QUIET_MS, trim_after_burst, self);
}

static void
on_first_map (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  FirstMap *first = user_data;
  NbManagementServer *self = first->self;
  NbMgmtSyncChannel *channel = first->channel;
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtNetworkMap) map = NULL;
  NbMgmtSyncChannel *previous;
  gboolean outdated = FALSE;
  const char *key = nb_key_get_public_base64 (first->peer_key);

  map = nb_mgmt_store_get_network_map_finish (NB_MGMT_STORE (source), result, &outdated, &error);
  /* Cancelled: the server stopped, and @self may be gone. */
  if (map == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      first_map_free (first);
      return;
    }
  g_hash_table_remove (self->first_maps, first->connection);
  first_map_done (self);

  /* Closed meanwhile (by the peer, or the authentication timeout). */
  if (!g_hash_table_contains (self->pending_channels, channel) ||
      channel->connection != first->connection)
    {
      if (map != NULL && g_hash_table_lookup (self->channels, key) == NULL)
        nb_mgmt_store_forget_network_map (self->store, first->account_id, first->peer_id);
      first_map_free (first);
      return;
    }
  if (map == NULL)
    {
      g_warning ("Cannot compute the first network map of %s: %s", key, error->message);
      close_channel (channel, NB_MGMT_SYNC_CLOSE_INTERNAL, "internal error: try again later");
      first_map_free (first);
      return;
    }
  /* Deleted (or its account) while the map was computed: the deletion
   * closed the channels it knew, not this one yet. */
  if (outdated)
    {
      g_autoptr(NbMgmtPeer) peer = nb_mgmt_store_get_peer_by_key (self->store, key, &error);

      if (peer == NULL || g_strcmp0 (peer->id, first->peer_id) != 0)
        {
          nb_mgmt_store_forget_network_map (self->store, first->account_id, first->peer_id);
          if (peer == NULL && !g_error_matches (error, NB_MGMT_ERROR, NB_MGMT_ERROR_NOT_FOUND))
            {
              g_warning ("Cannot look up the peer of sync channel %s: %s", key, error->message);
              close_channel (channel, NB_MGMT_SYNC_CLOSE_INTERNAL, "internal error: try again later");
            }
          else
            close_channel (channel, NB_MGMT_SYNC_CLOSE_NOT_REGISTERED, "peer was deleted");
          first_map_free (first);
          return;
        }
    }

  channel->peer_key = g_steal_pointer (&first->peer_key);
  channel->peer_id = g_strdup (first->peer_id);
  channel->account_id = g_ref_string_new_intern (first->account_id);
  nb_service_channel_set_authenticated (channel->channel);
  key = nb_key_get_public_base64 (channel->peer_key);

  /* One channel per peer: a newer one replaces the older. */
  g_hash_table_steal (self->pending_channels, channel);
  previous = g_hash_table_lookup (self->channels, key);
  if (previous != NULL)
    {
      g_hash_table_steal (self->channels, key);
      count_account_channel (self, previous->account_id, -1);
      g_clear_signal_handler (&previous->closed_handler, previous->connection);
      previous->closed_handler = g_signal_connect (previous->connection, "closed",
                                                   G_CALLBACK (on_closed_replaced), previous);
      close_channel (previous, NB_MGMT_SYNC_CLOSE_REPLACED, "replaced by a newer sync channel");
    }
  /* The key is the channel's own (its peer key's text): it lives as long. */
  g_hash_table_insert (self->channels, (gpointer) key, channel);
  count_account_channel (self, channel->account_id, +1);

  if (!nb_mgmt_store_set_peer_connected (self->store, key, TRUE, &error))
    g_warning ("Cannot mark peer %s connected: %s", key, error->message);
  g_info ("Peer %s connected its sync channel", key);

  push_map (channel, map);
  /* The account changed while the map was computed: the next collection
   * brings this peer up to date. */
  if (outdated)
    {
      g_hash_table_add (self->dirty_accounts, g_strdup (channel->account_id));
      schedule_flush (self);
    }
  first_map_free (first);
}

static void
authenticate (NbMgmtSyncChannel *channel,
              GBytes            *message)
{
  NbManagementServer *self = channel->server;
  g_autoptr(GError) error = NULL;
  g_autoptr(NbKey) peer_key = NULL;
  g_autoptr(GBytes) plaintext = NULL;
  g_autoptr(NbMgmtMsgSyncRequest) request = NULL;
  g_autoptr(NbMgmtPeer) peer = NULL;
  g_autoptr(NbMgmtAccount) account = NULL;
  FirstMap *first;
  const char *key;

  /* One sync request: more while its map is computed are ignored. */
  if (g_hash_table_contains (self->first_maps, channel->connection))
    return;
  plaintext = nb_envelope_open (self->key, message, &peer_key, &error);
  if (plaintext == NULL)
    {
      g_autofree char *reason = nb_text_escape (error->message, -1, NB_TEXT_LOG_MAX);

      g_info ("Sync channel refused: %s", reason);
      if (g_error_matches (error, NB_ENVELOPE_ERROR, NB_ENVELOPE_ERROR_WRONG_RECIPIENT) ||
          g_error_matches (error, NB_ENVELOPE_ERROR, NB_ENVELOPE_ERROR_AUTHENTICATION_FAILED))
        close_channel (channel, NB_MGMT_SYNC_CLOSE_UNAUTHENTICATED, error->message);
      else
        close_channel (channel, NB_MGMT_SYNC_CLOSE_MALFORMED, error->message);
      return;
    }

  request = nb_mgmt_msg_sync_request_from_bytes (plaintext, &error);
  if (request == NULL)
    {
      close_channel (channel, NB_MGMT_SYNC_CLOSE_MALFORMED, error->message);
      return;
    }

  key = nb_key_get_public_base64 (peer_key);
  peer = nb_mgmt_store_get_peer_by_key (self->store, key, &error);
  if (peer == NULL && g_error_matches (error, NB_MGMT_ERROR, NB_MGMT_ERROR_NOT_FOUND))
    {
      close_channel (channel, NB_MGMT_SYNC_CLOSE_NOT_REGISTERED, "peer is not registered: log in first");
      return;
    }
  if (peer == NULL)
    {
      /* The store failed, not the peer: say so, so that it retries rather
       * than logs in again. The details stay in our log. */
      g_warning ("Cannot look up the peer of sync channel %s: %s", key, error->message);
      close_channel (channel, NB_MGMT_SYNC_CLOSE_INTERNAL, "internal error: try again later");
      return;
    }
  account = nb_mgmt_store_get_account (self->store, peer->account_id, &error);
  if (account == NULL)
    {
      close_channel (channel, NB_MGMT_SYNC_CLOSE_INTERNAL, error->message);
      return;
    }
  if (nb_mgmt_peer_login_expired (peer, &account->settings, nb_mgmt_store_now (self->store)))
    {
      close_channel (channel, NB_MGMT_SYNC_CLOSE_LOGIN_REQUIRED, "peer login expired: log in again");
      return;
    }

  /* The map is computed on a worker; the channel is taken in when it is
   * back (on_first_map), if it is still open then. */
  first = g_new0 (FirstMap, 1);
  first->self = self;
  first->channel = channel;
  first->connection = g_object_ref (channel->connection);
  first->peer_key = g_steal_pointer (&peer_key);
  first->peer_id = g_strdup (peer->id);
  first->account_id = g_strdup (peer->account_id);
  g_hash_table_add (self->first_maps, first->connection);
  if (self->collect_cancellable == NULL)
    self->collect_cancellable = g_cancellable_new ();
  nb_mgmt_store_get_network_map_async (self->store, peer->account_id, peer->id,
                                       self->collect_cancellable, on_first_map, first);
}

static void
on_message (SoupWebsocketConnection *connection,
            gint                     type,
            GBytes                  *message,
            NbMgmtSyncChannel       *channel)
{
  if (type != SOUP_WEBSOCKET_DATA_BINARY)
    {
      close_channel (channel, SOUP_WEBSOCKET_CLOSE_UNSUPPORTED_DATA,
                     "sync messages are binary sealed envelopes");
      return;
    }

  if (channel->peer_key == NULL)
    {
      authenticate (channel, message);
      return;
    }

  /* Later messages must still come from the same peer; they carry nothing
   * the server needs yet. */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(NbKey) sender = NULL;
    g_autoptr(GBytes) plaintext = nb_envelope_open (channel->server->key, message, &sender,
                                                    &error);

    if (plaintext == NULL || !nb_key_equal (sender, channel->peer_key))
      close_channel (channel, NB_MGMT_SYNC_CLOSE_UNAUTHENTICATED,
                     plaintext == NULL ? error->message : "message sealed by another key");
  }
}

void
nb_mgmt_sync_accept (NbManagementServer      *self,
                     SoupWebsocketConnection *connection)
{
  NbMgmtSyncChannel *channel = g_new0 (NbMgmtSyncChannel, 1);

  channel->server = self;
  channel->connection = g_object_ref (connection);
  channel->channel = nb_service_channel_new (self->service, connection);
  soup_websocket_connection_set_max_incoming_payload_size (connection,
                                                           NB_MGMT_MAX_SEALED_REQUEST);
  /* No keepalive timer per channel: at 10,000 channels those were 10,000
   * more sources the main loop prepares and checks on every iteration (a
   * join's CPU a quarter higher, 2.8 MB). The client pings; the service
   * base has the kernel probe the connection (TCP keepalive). */
  channel->message_handler = g_signal_connect (connection, "message",
                                               G_CALLBACK (on_message), channel);
  channel->closed_handler = g_signal_connect (connection, "closed",
                                              G_CALLBACK (on_closed), channel);
  g_hash_table_add (self->pending_channels, channel);
}

static void
close_peer_channel (NbManagementServer *self,
                    const char         *peer_key,
                    const char         *reason)
{
  NbMgmtSyncChannel *channel = peer_key != NULL ? g_hash_table_lookup (self->channels, peer_key)
                                                : NULL;

  if (channel != NULL)
    close_channel (channel, NB_MGMT_SYNC_CLOSE_NOT_REGISTERED, reason);
}

typedef struct {
  NbManagementServer *self;
  char *account_id;
  gint64 start;
  gint64 push_us;
  guint pushed;
} PushRound;

static void
push_round_free (PushRound *round)
{
  g_free (round->account_id);
  g_free (round);
}

/* Called on the main loop with each changed map as the store's worker
 * computes it, borrowed: pushed at once, none is copied. */
static void
push_update (const NbMgmtNetworkMap *map,
             gpointer                user_data)
{
  PushRound *round = user_data;
  NbMgmtSyncChannel *channel = g_hash_table_lookup (round->self->channels, map->peer_key);
  gint64 start;

  if (channel == NULL)
    return;
  start = g_get_monotonic_time ();
  push_map (channel, map);
  round->push_us += g_get_monotonic_time () - start;
  round->pushed++;
}

static gboolean flush_updates (gpointer user_data);

static void
schedule_flush (NbManagementServer *self)
{
  if (self->flush_source == 0)
    self->flush_source = g_timeout_add (FLUSH_DELAY_MS, flush_updates, self);
}

static void
on_updates_collected (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  PushRound *round = user_data;
  NbManagementServer *self = round->self;
  g_autoptr(GError) error = NULL;
  NbMgmtMapUpdateStats stats;

  if (!nb_mgmt_store_collect_network_map_updates_finish (NB_MGMT_STORE (source), result, &stats,
                                                         &error))
    {
      /* Cancelled: the server stopped, and @self may be gone. */
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_warning ("Cannot compute the network maps of account %s: %s", round->account_id,
                     error->message);
          g_hash_table_remove (self->collecting_accounts, round->account_id);
        }
      push_round_free (round);
      return;
    }
  g_debug ("Account %s: %u maps changed, %u pushed in %" G_GINT64_FORMAT " µs"
           " (snapshot %" G_GINT64_FORMAT " µs on the main loop; %u maps computed on a worker"
           " in %" G_GINT64_FORMAT " µs; %" G_GINT64_FORMAT " µs writing, sealing and queueing them)",
           round->account_id, stats.changed, round->pushed, g_get_monotonic_time () - round->start,
           stats.snapshot_us, stats.computed, stats.compute_us, round->push_us);
  g_hash_table_remove (self->collecting_accounts, round->account_id);
  /* Changes that came meanwhile waited for this round. */
  if (g_hash_table_contains (self->dirty_accounts, round->account_id))
    schedule_flush (self);
  push_round_free (round);
}

static gboolean
flush_updates (gpointer user_data)
{
  NbManagementServer *self = user_data;
  GHashTableIter iter;
  const char *account_id;

  self->flush_source = 0;
  if (self->collect_cancellable == NULL)
    self->collect_cancellable = g_cancellable_new ();

  g_hash_table_iter_init (&iter, self->dirty_accounts);
  while (g_hash_table_iter_next (&iter, (gpointer *) &account_id, NULL))
    {
      PushRound *round;

      /* One collection per account at a time: a second could hand a peer
       * an older map after a newer one. This one waits for the first. */
      if (g_hash_table_contains (self->collecting_accounts, account_id))
        continue;
      /* Nobody of this account listens: maps are computed when they
       * connect. */
      if (!g_hash_table_contains (self->account_channels, account_id))
        {
          g_hash_table_iter_remove (&iter);
          continue;
        }
      round = g_new0 (PushRound, 1);
      round->self = self;
      round->account_id = g_strdup (account_id);
      round->start = g_get_monotonic_time ();
      g_hash_table_add (self->collecting_accounts, g_strdup (account_id));
      nb_mgmt_store_collect_network_map_updates_async (self->store, account_id, push_update, round,
                                                       self->collect_cancellable,
                                                       on_updates_collected, round);
      g_hash_table_iter_remove (&iter);
    }

  return G_SOURCE_REMOVE;
}

void
nb_mgmt_sync_on_store_changed (NbMgmtStore        *store,
                               const NbMgmtChange *change,
                               NbManagementServer *self)
{
  switch (change->kind)
    {
    case NB_MGMT_CHANGE_PEER_DELETED:
      close_peer_channel (self, change->peer_key, "peer was deleted");
      break;
    case NB_MGMT_CHANGE_ACCOUNT_DELETED:
      {
        GHashTableIter iter;
        NbMgmtSyncChannel *channel;

        g_hash_table_iter_init (&iter, self->channels);
        while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &channel))
          if (g_strcmp0 (channel->account_id, change->account_id) == 0)
            close_channel (channel, NB_MGMT_SYNC_CLOSE_NOT_REGISTERED, "account was deleted");
        return;
      }
    default:
      break;
    }

  if (!change->network_changed)
    return;

  g_hash_table_add (self->dirty_accounts, g_strdup (change->account_id));
  schedule_flush (self);
}

void
nb_mgmt_sync_close_all (NbManagementServer *self)
{
  GHashTableIter iter;
  const char *key;

  g_clear_handle_id (&self->flush_source, g_source_remove);
  g_clear_handle_id (&self->trim_source, g_source_remove);
  /* Collections under way hand over nothing more, and their callbacks
   * leave @self alone. */
  g_cancellable_cancel (self->collect_cancellable);
  g_clear_object (&self->collect_cancellable);
  g_hash_table_remove_all (self->collecting_accounts);
  g_hash_table_remove_all (self->first_maps);
  /* The peers are no longer connected to us; then freeing a channel closes
   * its connection. */
  g_hash_table_iter_init (&iter, self->channels);
  while (g_hash_table_iter_next (&iter, (gpointer *) &key, NULL))
    nb_mgmt_store_set_peer_connected (self->store, key, FALSE, NULL);
  g_hash_table_remove_all (self->pending_channels);
  g_hash_table_remove_all (self->channels);
  g_hash_table_remove_all (self->account_channels);
}

gboolean
nb_mgmt_sync_delete_idle_ephemeral (gpointer user_data)
{
  NbManagementServer *self = user_data;
  g_autoptr(GError) error = NULL;
  guint deleted = 0;

  if (!nb_mgmt_store_delete_idle_ephemeral_peers (self->store,
                                                  self->config->ephemeral_idle_seconds,
                                                  &deleted, &error))
    g_warning ("Cannot remove idle ephemeral peers: %s", error->message);
  else if (deleted > 0)
    g_info ("Removed %u ephemeral peers idle for %" G_GINT64_FORMAT " s", deleted,
            self->config->ephemeral_idle_seconds);
  return G_SOURCE_CONTINUE;
}
