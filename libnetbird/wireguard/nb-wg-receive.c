/* nb-wg-receive.c: the receive path: handshakes, cookies and data
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * One thread waits on the device's UDP sockets (and the sockets of peers'
 * transports) with epoll, reads batches with recvmmsg (each buffer may hold
 * many datagrams glued by UDP_GRO), decrypts data in place, checks the
 * replay window and the inner source against the sending peer's allowed IPs
 * (§2), and writes the packets to the TUN in one batch. Handshake messages
 * are handled inline, behind mac1/mac2 and the under-load check (§5.3).
 *
 * A datagram that came through a peer's transport (a handed-over socket or
 * a channel) belongs to that peer: one that authenticates as another peer's
 * (its keypair, the static key of its initiation, the index a response or
 * cookie names) is dropped and counted as rx_drop_wrong_peer, before it is
 * decrypted or touches that peer's handshake, replay window or timers.
 * Roaming cannot follow it there (answers would go down the first peer's
 * transport), and taking it in would let the transport's other end (a
 * relay) spend the second peer's counters or keep its session looking
 * alive with copies of its packets.
 */
#define G_LOG_DOMAIN "netbird-wg"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <netinet/udp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "nb-tun-private.h"
#include "nb-wg-internal.h"

#ifndef UDP_GRO
#define UDP_GRO 104
#endif

#define MAX_TUN_WRITES 1024
/* Data messages gathered before they are decrypted together. */
#define MAX_PENDING 1024

/* A data message waiting for its decryption. */
typedef struct {
  guint8 *data;
  gsize len;
  guint64 counter;
  NbWgKeypair *keypair;          /* a reference */
  const NbWgEndpoint *from;      /* where to roam to, or NULL */
  gboolean authentic;            /* set by the decryption */
} NbWgRxPending;

struct _NbWgRxBatch
{
  NbWgDevice *device;
  gint64 now;
  gboolean busy;       /* a channel thread's batch, in use */
  NbWgPeer *via;       /* the peer whose transport the datagram came through */

  NbWgRxPending pending[MAX_PENDING];
  guint n_pending;

  guint8 *tun_packets[MAX_TUN_WRITES];
  gsize tun_lens[MAX_TUN_WRITES];
  guint n_tun;

  guint32 cached_index;
  NbWgKeypair *cached_keypair;

  /* The packet filter's memory of this thread's last inbound flow. */
  NbFilterFlowCache filter_cache;

  /* Timer events and roaming, applied once per peer and batch. */
  NbWgPeer *peer;
  gboolean peer_data;
  gboolean peer_has_endpoint;
  NbWgEndpoint peer_endpoint;
  guint64 peer_bytes;

  /* Device counters, added once per batch. */
  guint64 n_datagrams;
  guint64 n_data;

  /* recvmmsg state (receive thread only) */
  guint8 *buffers[NB_WG_RX_BATCH];
  NbWgEndpoint froms[NB_WG_RX_BATCH];
  struct iovec iov[NB_WG_RX_BATCH];
  struct mmsghdr msgs[NB_WG_RX_BATCH];
  struct sockaddr_storage names[NB_WG_RX_BATCH];
  union {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } control[NB_WG_RX_BATCH];
};

NbWgRxBatch *
nb_wg_rx_batch_new (NbWgDevice *device)
{
  NbWgRxBatch *batch = g_new0 (NbWgRxBatch, 1);

  batch->device = device;
  return batch;
}

void
nb_wg_rx_batch_free (NbWgRxBatch *batch)
{
  nb_wg_rx_batch_flush (batch);
  for (guint i = 0; i < NB_WG_RX_BATCH; i++)
    g_free (batch->buffers[i]);
  g_free (batch);
}

static void
apply_peer (NbWgRxBatch *batch)
{
  NbWgPeer *peer = batch->peer;

  if (peer == NULL)
    return;
  g_mutex_lock (&peer->lock);
  nb_wg_timers_any_authenticated_packet_received (&peer->timers);
  nb_wg_timers_any_authenticated_packet_traversal (&peer->timers, batch->now);
  if (batch->peer_data)
    nb_wg_timers_data_received (&peer->timers, batch->now);
  if (batch->peer_has_endpoint)
    peer->endpoint = batch->peer_endpoint;
  g_mutex_unlock (&peer->lock);
  __atomic_fetch_add (&peer->rx_bytes, batch->peer_bytes, __ATOMIC_RELAXED);
  batch->peer = NULL;
  batch->peer_data = FALSE;
  batch->peer_has_endpoint = FALSE;
  batch->peer_bytes = 0;
}

/* Writes the packets gathered so far and applies what they taught about
 * their peer. The pending data messages stay pending. */
static void
flush_output (NbWgRxBatch *batch)
{
  NbWgDevice *device = batch->device;

  apply_peer (batch);
  if (batch->n_datagrams > 0)
    nb_wg_device_count (device, NB_WG_COUNTER_RX_DATAGRAMS, batch->n_datagrams);
  if (batch->n_data > 0)
    nb_wg_device_count (device, NB_WG_COUNTER_RX_DATA_PACKETS, batch->n_data);
  batch->n_datagrams = batch->n_data = 0;
  if (batch->n_tun > 0 && device->tun != NULL)
    {
      if (nb_tun_write_packets (device->tun, 0, batch->tun_packets, batch->tun_lens,
                                batch->n_tun) < 0)
        g_debug ("Writing to the TUN failed: %s", g_strerror (errno));
    }
  batch->n_tun = 0;
}

static void process_pending (NbWgRxBatch *batch);

void
nb_wg_rx_batch_flush (NbWgRxBatch *batch)
{
  process_pending (batch);
  flush_output (batch);
  g_clear_pointer (&batch->cached_keypair, nb_wg_keypair_unref);
  batch->cached_index = 0;
}

static void
note_peer (NbWgRxBatch *batch, NbWgPeer *peer, gsize bytes, const NbWgEndpoint *from)
{
  if (batch->peer != peer)
    {
      apply_peer (batch);
      batch->peer = peer;
    }
  batch->peer_bytes += bytes;
  if (from != NULL)
    {
      batch->peer_endpoint = *from;
      batch->peer_has_endpoint = TRUE;
    }
}

/* The inner packet's length from its IP header (the rest is padding) and
 * its source address. FALSE for something that is not IPv4 or IPv6. */
static inline gboolean
inner_packet (const guint8 *packet, gsize len, gsize *ip_len, const guint8 **source,
              guint *source_len)
{
  if (len >= 20 && (packet[0] >> 4) == 4)
    {
      gsize total = ((gsize) packet[2] << 8) | packet[3];
      if (total < 20 || total > len)
        return FALSE;
      *ip_len = total;
      *source = packet + 12;
      *source_len = 4;
      return TRUE;
    }
  if (len >= 40 && (packet[0] >> 4) == 6)
    {
      gsize total = 40 + (((gsize) packet[4] << 8) | packet[5]);
      if (total > len)
        return FALSE;
      *ip_len = total;
      *source = packet + 8;
      *source_len = 16;
      return TRUE;
    }
  return FALSE;
}

/* A data message, first pass: finds its session and keeps it for the
 * decryption of the whole batch. */
static void
receive_data (NbWgRxBatch        *batch,
              guint8             *data,
              gsize               len,
              const NbWgEndpoint *from)
{
  NbWgDevice *device = batch->device;
  const NbWgMessageData *header = (const NbWgMessageData *) (const void *) data;
  guint32 index = GUINT32_FROM_LE (header->receiver_index);
  NbWgRxPending *pending;
  NbWgKeypair *keypair;

  if (batch->cached_keypair == NULL || batch->cached_index != index)
    {
      g_clear_pointer (&batch->cached_keypair, nb_wg_keypair_unref);
      batch->cached_keypair = nb_wg_device_index_lookup_keypair (device, index);
      batch->cached_index = index;
    }
  keypair = batch->cached_keypair;
  if (keypair == NULL)
    {
      nb_wg_device_count (device, NB_WG_COUNTER_RX_DROP_UNKNOWN_INDEX, 1);
      return;
    }
  if (batch->via != NULL && keypair->peer != batch->via)
    {
      nb_wg_device_count (device, NB_WG_COUNTER_RX_DROP_WRONG_PEER, 1);
      return;
    }
  if (!__atomic_load_n (&keypair->is_valid, __ATOMIC_ACQUIRE) ||
      batch->now - keypair->birthdate >= NB_WG_REJECT_AFTER_TIME * G_USEC_PER_SEC)
    {
      nb_wg_device_count (device, NB_WG_COUNTER_RX_DROP_EXPIRED_KEY, 1);
      return;
    }

  if (batch->n_pending == MAX_PENDING)
    process_pending (batch);
  pending = &batch->pending[batch->n_pending++];
  pending->data = data;
  pending->len = len;
  pending->counter = GUINT64_FROM_LE (header->counter);
  pending->keypair = nb_wg_keypair_ref (keypair);
  pending->from = from;
  pending->authentic = FALSE;
}

/* Second pass, on the receive thread and the crypto workers at once. */
static void
decrypt_chunk (gpointer data, guint first, guint n)
{
  NbWgRxBatch *batch = data;

  for (guint i = first; i < first + n; i++)
    {
      NbWgRxPending *pending = &batch->pending[i];
      guint8 *payload = pending->data + NB_WG_DATA_HEADER_LEN;

      pending->authentic = nb_wg_aead_decrypt (payload, payload,
                                               pending->len - NB_WG_DATA_HEADER_LEN,
                                               pending->counter,
                                               pending->keypair->keys.receive_key);
    }
}

/* Third pass, in arrival order: replay window, timers, roaming, cryptokey
 * routing, and the packet into the TUN batch. */
static void
accept_data (NbWgRxBatch *batch, const NbWgRxPending *pending)
{
  NbWgDevice *device = batch->device;
  NbWgKeypair *keypair = pending->keypair;
  guint8 *plain = pending->data + NB_WG_DATA_HEADER_LEN;
  gsize plain_len = pending->len - NB_WG_DATA_MIN_LEN;
  NbWgPeer *peer;
  gboolean fresh;
  const guint8 *source;
  guint source_len;
  gsize ip_len;

  if (!pending->authentic)
    {
      nb_wg_device_count (device, NB_WG_COUNTER_RX_DROP_DECRYPT, 1);
      return;
    }
  /* The window moves only for authentic packets (§5.4.6). */
  g_mutex_lock (&keypair->replay_lock);
  fresh = nb_wg_replay_validate (&keypair->replay, pending->counter);
  g_mutex_unlock (&keypair->replay_lock);
  if (!fresh)
    {
      nb_wg_device_count (device, NB_WG_COUNTER_RX_DROP_REPLAY, 1);
      return;
    }

  peer = keypair->peer;
  if (peer->device != device)
    return;
  note_peer (batch, peer, pending->len, pending->from);

  if (nb_wg_peer_received_with_keypair (peer, keypair))
    {
      /* The responder's handshake completes with the first data (§5.4.5). */
      nb_wg_peer_handshake_completed (peer);
      g_mutex_lock (&peer->lock);
      nb_wg_timers_handshake_complete (&peer->timers);
      g_mutex_unlock (&peer->lock);
      nb_wg_send_staged_packets (peer);
    }

  /* §6.2: an initiator whose keys near REJECT_AFTER_TIME renews them once. */
  if (keypair->keys.is_initiator &&
      batch->now - keypair->birthdate >=
          (NB_WG_REJECT_AFTER_TIME - NB_WG_KEEPALIVE_TIMEOUT - NB_WG_REKEY_TIMEOUT) *
              G_USEC_PER_SEC)
    {
      gboolean send = FALSE;

      g_mutex_lock (&peer->lock);
      if (!peer->sent_lastminute_handshake)
        send = peer->sent_lastminute_handshake = TRUE;
      g_mutex_unlock (&peer->lock);
      if (send)
        nb_wg_send_handshake_initiation (peer, FALSE);
    }

  if (plain_len == 0)
    {
      nb_wg_device_count (device, NB_WG_COUNTER_RX_KEEPALIVES, 1);
      return;
    }
  if (!inner_packet (plain, plain_len, &ip_len, &source, &source_len))
    {
      nb_wg_device_count (device, NB_WG_COUNTER_RX_DROP_INNER_MALFORMED, 1);
      return;
    }
  if (nb_wg_allowedips_lookup (&device->allowedips, source, source_len) != peer)
    {
      nb_wg_device_count (device, NB_WG_COUNTER_RX_DROP_ALLOWED_IPS, 1);
      return;
    }
  batch->peer_data = TRUE;
  batch->n_data++;

  /* The packet filter sees what passed cryptokey routing (issue 16). */
  if (device->filter != NULL &&
      !nb_filter_inbound (device->filter, &batch->filter_cache, plain, ip_len, batch->now))
    {
      nb_wg_device_count (device, NB_WG_COUNTER_RX_DROP_FILTER, 1);
      return;
    }

  if (device->tun != NULL)
    {
      if (batch->n_tun == MAX_TUN_WRITES)
        {
          flush_output (batch);
          note_peer (batch, peer, 0, NULL);
        }
      batch->tun_packets[batch->n_tun] = plain;
      batch->tun_lens[batch->n_tun] = ip_len;
      batch->n_tun++;
    }
  else if (device->packet_func != NULL)
    device->packet_func (device, peer, plain, ip_len, device->packet_data);
}

/* Decrypts the gathered data messages (in parallel when there are many)
 * and takes them in, in the order they came. */
static void
process_pending (NbWgRxBatch *batch)
{
  guint n = batch->n_pending;

  if (n == 0)
    return;
  nb_wg_crypt_pool_run (batch->device->crypt_pool, decrypt_chunk, batch, n);
  batch->n_pending = 0;
  for (guint i = 0; i < n; i++)
    {
      accept_data (batch, &batch->pending[i]);
      nb_wg_keypair_unref (batch->pending[i].keypair);
    }
}

/* What the handshake lookups need: the device, and the peer whose
 * transport the message came through (NULL: the device's sockets). */
typedef struct {
  NbWgDevice *device;
  NbWgPeer *via;
  gboolean wrong_peer; /* set when a lookup refused another peer */
} HandshakeLookup;

static NbWgHandshake *
lookup_refusing_others (HandshakeLookup *lookup, NbWgPeer *peer)
{
  if (peer == NULL)
    return NULL;
  if (lookup->via != NULL && peer != lookup->via)
    {
      lookup->wrong_peer = TRUE;
      return NULL;
    }
  return &peer->handshake;
}

static NbWgHandshake *
handshake_by_static (const guint8 *remote_static, gpointer user_data)
{
  HandshakeLookup *lookup = user_data;

  return lookup_refusing_others (lookup,
                                 nb_wg_device_lookup_peer_raw (lookup->device, remote_static));
}

static NbWgHandshake *
handshake_by_index (guint32 index, gpointer user_data)
{
  HandshakeLookup *lookup = user_data;

  return lookup_refusing_others (lookup, nb_wg_device_index_lookup_peer (lookup->device, index));
}

static void
count_refused (NbWgDevice *device, const HandshakeLookup *lookup)
{
  nb_wg_device_count (device,
                      lookup->wrong_peer ? NB_WG_COUNTER_RX_DROP_WRONG_PEER
                                         : NB_WG_COUNTER_RX_DROP_HANDSHAKE,
                      1);
}

static void
receive_handshake (NbWgRxBatch        *batch,
                   NbWgMessageType     type,
                   guint8             *data,
                   gsize               len,
                   const NbWgEndpoint *from,
                   gboolean            roam)
{
  NbWgDevice *device = batch->device;
  HandshakeLookup lookup = { .device = device, .via = batch->via };
  guint8 source[18];
  gsize source_len = 0;
  gboolean under_load;
  NbWgCookieMacState mac_state;
  NbWgHandshake *handshake;
  NbWgPeer *peer;
  gint64 now = batch->now;

  if (from != NULL)
    nb_wg_endpoint_to_source (from, source, &source_len);

  if (type == NB_WG_MESSAGE_HANDSHAKE_COOKIE)
    {
      const NbWgMessageCookieReply *reply = (const NbWgMessageCookieReply *) (const void *) data;

      handshake = handshake_by_index (GUINT32_FROM_LE (reply->receiver_index), &lookup);
      peer = handshake != NULL ? handshake->owner : NULL;
      if (peer == NULL || !nb_wg_cookie_consume_reply (&peer->cookie, reply, now))
        {
          count_refused (device, &lookup);
          return;
        }
      nb_wg_device_count (device, NB_WG_COUNTER_RX_COOKIE_REPLIES, 1);
      g_debug ("Got a cookie from peer %s", nb_key_get_public_base64 (peer->public_key));
      return;
    }

  under_load = nb_wg_device_is_under_load (device, now);
  mac_state = nb_wg_cookie_validate (&device->cookie_checker, data, len, source, source_len,
                                     under_load, now);
  if (mac_state == NB_WG_COOKIE_MAC_INVALID)
    {
      nb_wg_device_count (device, NB_WG_COUNTER_RX_DROP_MAC1, 1);
      return;
    }
  if (under_load && mac_state != NB_WG_COOKIE_MAC_VALID_WITH_COOKIE)
    {
      /* §5.3: prove your address first. Both messages carry the sender's
       * index right after the header. */
      NbWgMessageCookieReply reply;
      guint32 sender_index;

      if (from == NULL)
        return;
      memcpy (&sender_index, data + sizeof (NbWgMessageHeader), sizeof sender_index);
      nb_wg_cookie_create_reply (&device->cookie_checker, data, len,
                                 GUINT32_FROM_LE (sender_index), source, source_len, now, &reply);
      if (nb_wg_socket_send_one (device, from, &reply, sizeof reply))
        nb_wg_device_count (device, NB_WG_COUNTER_TX_COOKIE_REPLIES, 1);
      return;
    }

  /* Proven addresses still get only so many handshakes each (§5.3). */
  if (under_load && !nb_wg_ratelimiter_allow (&device->ratelimiter, source, source_len, now))
    {
      nb_wg_device_count (device, NB_WG_COUNTER_RX_DROP_RATELIMITED, 1);
      return;
    }

  if (type == NB_WG_MESSAGE_HANDSHAKE_INITIATION)
    {
      NbWgMessageResponse response;
      struct iovec iov = { .iov_base = &response, .iov_len = sizeof response };

      /* One step under the handshake lock: the initiation, our response
       * and the keys the initiator's first data packet will find. */
      handshake = nb_wg_noise_consume_initiation (&device->identity,
                                                  (const NbWgMessageInitiation *) (void *) data,
                                                  now, handshake_by_static, &lookup, &response);
      if (handshake == NULL)
        {
          count_refused (device, &lookup);
          return;
        }
      peer = handshake->owner;
      nb_wg_device_count (device, NB_WG_COUNTER_RX_HANDSHAKE_INITIATIONS, 1);
      if (roam && from != NULL)
        nb_wg_peer_update_endpoint (peer, from);
      __atomic_fetch_add (&peer->rx_bytes, len, __ATOMIC_RELAXED);
      nb_wg_cookie_add_macs (&peer->cookie, (guint8 *) &response, sizeof response, now);
      g_mutex_lock (&peer->lock);
      nb_wg_timers_any_authenticated_packet_received (&peer->timers);
      nb_wg_timers_session_derived (&peer->timers, now);
      nb_wg_timers_any_authenticated_packet_traversal (&peer->timers, now);
      nb_wg_timers_any_authenticated_packet_sent (&peer->timers);
      g_mutex_unlock (&peer->lock);
      g_debug ("Handshake initiation from peer %s", nb_key_get_public_base64 (peer->public_key));
      nb_wg_send_datagrams (peer, &iov, 1, 0);
      return;
    }

  /* NB_WG_MESSAGE_HANDSHAKE_RESPONSE: one step too, the response and the
   * keypair that replaces the initiation's index. */
  handshake = nb_wg_noise_consume_response (&device->identity,
                                            (const NbWgMessageResponse *) (void *) data, now,
                                            handshake_by_index, &lookup);
  if (handshake == NULL)
    {
      count_refused (device, &lookup);
      return;
    }
  peer = handshake->owner;
  nb_wg_device_count (device, NB_WG_COUNTER_RX_HANDSHAKE_RESPONSES, 1);
  if (roam && from != NULL)
    nb_wg_peer_update_endpoint (peer, from);
  __atomic_fetch_add (&peer->rx_bytes, len, __ATOMIC_RELAXED);
  g_mutex_lock (&peer->lock);
  /* The response answers the initiation sent last (an older one's would
   * not have been consumed): the round trip, for the client's status,
   * stored before the handshake-completed signal is queued. */
  if (peer->last_sent_handshake != 0 && now > peer->last_sent_handshake)
    __atomic_store_n (&peer->handshake_rtt, now - peer->last_sent_handshake, __ATOMIC_RELAXED);
  nb_wg_peer_handshake_completed (peer);
  nb_wg_timers_session_derived (&peer->timers, now);
  nb_wg_timers_handshake_complete (&peer->timers);
  nb_wg_timers_any_authenticated_packet_received (&peer->timers);
  nb_wg_timers_any_authenticated_packet_traversal (&peer->timers, now);
  peer->sent_lastminute_handshake = FALSE;
  g_mutex_unlock (&peer->lock);
  g_debug ("Handshake with peer %s complete", nb_key_get_public_base64 (peer->public_key));
  /* Confirms the session at once: queued packets, or else a keepalive. */
  nb_wg_send_keepalive (peer);
}

void
nb_wg_receive_datagram (NbWgRxBatch        *batch,
                        guint8             *data,
                        gsize               len,
                        const NbWgEndpoint *from,
                        NbWgPeer           *via)
{
  NbWgDevice *device = batch->device;
  NbWgMessageType type = nb_wg_message_classify (data, len);
  /* Only the device's own sockets roam: a transport's remote is fixed. */
  gboolean roam = via == NULL;

  batch->n_datagrams++;
  batch->via = via;
  switch (type)
    {
    case NB_WG_MESSAGE_DATA:
      receive_data (batch, data, len, roam ? from : NULL);
      break;
    case NB_WG_MESSAGE_HANDSHAKE_INITIATION:
    case NB_WG_MESSAGE_HANDSHAKE_RESPONSE:
    case NB_WG_MESSAGE_HANDSHAKE_COOKIE:
      if (!device->identity.has_identity)
        return;
      /* Handshakes may send: let queued TUN writes go first. */
      nb_wg_rx_batch_flush (batch);
      receive_handshake (batch, type, data, len, from, roam);
      break;
    case NB_WG_MESSAGE_INVALID:
    default:
      nb_wg_device_count (device, NB_WG_COUNTER_RX_DROP_MALFORMED, 1);
      break;
    }
}

/* Reads what is waiting on @fd, a batch at a time. Config lock not held. */
static void
drain_socket (NbWgRxBatch *batch, GMutex *lock, int fd, NbWgTransport *transport)
{
  NbWgDevice *device = batch->device;

  for (guint round = 0; round < 16; round++)
    {
      int n;

      for (guint i = 0; i < NB_WG_RX_BATCH; i++)
        {
          struct msghdr *hdr = &batch->msgs[i].msg_hdr;

          batch->iov[i].iov_base = batch->buffers[i];
          batch->iov[i].iov_len = NB_WG_RX_BUFFER_SIZE;
          memset (hdr, 0, sizeof *hdr);
          hdr->msg_name = &batch->names[i];
          hdr->msg_namelen = sizeof batch->names[i];
          hdr->msg_iov = &batch->iov[i];
          hdr->msg_iovlen = 1;
          hdr->msg_control = batch->control[i].buf;
          hdr->msg_controllen = sizeof batch->control[i].buf;
        }
      n = recvmmsg (fd, batch->msgs, NB_WG_RX_BATCH, MSG_DONTWAIT, NULL);
      if (n <= 0)
        return;

      g_mutex_lock (lock);
      batch->now = nb_wg_device_now (device);
      if (device->up && (transport == NULL || nb_wg_device_transport_is_live (device, transport)))
        for (int i = 0; i < n; i++)
          {
            struct msghdr *hdr = &batch->msgs[i].msg_hdr;
            gsize len = batch->msgs[i].msg_len;
            gsize segment = len;
            NbWgEndpoint *from = &batch->froms[i];
            struct cmsghdr *cmsg;

            if (hdr->msg_flags & MSG_TRUNC)
              {
                nb_wg_device_count (device, NB_WG_COUNTER_RX_DROP_MALFORMED, 1);
                continue;
              }
            for (cmsg = CMSG_FIRSTHDR (hdr); cmsg != NULL; cmsg = CMSG_NXTHDR (hdr, cmsg))
              if (cmsg->cmsg_level == SOL_UDP && cmsg->cmsg_type == UDP_GRO)
                {
                  int size;
                  memcpy (&size, CMSG_DATA (cmsg), sizeof size);
                  if (size > 0)
                    segment = (gsize) size;
                }
            if (transport != NULL)
              *from = transport->remote;
            else
              {
                memcpy (&from->addr, &batch->names[i], sizeof from->addr);
                from->len = hdr->msg_namelen;
              }
            for (gsize off = 0; off < len; off += segment)
              nb_wg_receive_datagram (batch, batch->buffers[i] + off, MIN (segment, len - off),
                                      from, transport != NULL ? transport->peer : NULL);
          }
      nb_wg_rx_batch_flush (batch);
      g_mutex_unlock (lock);
      if (n < NB_WG_RX_BATCH)
        return;
    }
}

gpointer
nb_wg_rx_thread (gpointer user_data)
{
  NbWgThreadData *data = user_data;
  NbWgDevice *device = data->device;
  GMutex *lock = data->lock;
  NbWgRxBatch *batch = nb_wg_rx_batch_new (device);
  struct epoll_event events[8];

  g_free (data);
  for (guint i = 0; i < NB_WG_RX_BATCH; i++)
    batch->buffers[i] = g_malloc (NB_WG_RX_BUFFER_SIZE);

  while (!__atomic_load_n (&device->stopping, __ATOMIC_ACQUIRE))
    {
      int n = epoll_wait (device->epoll_fd, events, G_N_ELEMENTS (events), -1);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          g_warning ("Waiting for UDP packets failed: %s", g_strerror (errno));
          break;
        }
      for (int i = 0; i < n; i++)
        {
          gpointer tag = events[i].data.ptr;

          if (tag == NULL)
            goto out;
          if (tag == &device->fd4 || tag == &device->fd6)
            drain_socket (batch, lock, *(int *) tag, NULL);
          else
            drain_socket (batch, lock, ((NbWgTransport *) tag)->fd, tag);
        }
    }
out:
  nb_wg_rx_batch_free (batch);
  return NULL;
}

/*
 * nb_wg_device_receive_from_transport:
 * @device: a #NbWgDevice
 * @peer: the peer whose channel transport delivered the datagram
 * @data: (array length=len): a WireGuard datagram, decrypted in place
 * @len: its length
 *
 * Private API (nb-wg-transport.h). The datagram is @peer's: one that
 * authenticates as another peer's is dropped (rx_drop_wrong_peer), and so
 * is every datagram once @peer has left @device.
 */
void
nb_wg_device_receive_from_transport (NbWgDevice *device,
                                     NbWgPeer   *peer,
                                     guint8     *data,
                                     gsize       len)
{
  /* Channels deliver on threads of their own: each such thread keeps one
   * batch, empty between calls, so a datagram costs no allocation. */
  static GPrivate thread_batch = G_PRIVATE_INIT (g_free);
  NbWgRxBatch *batch;
  gboolean reentered;

  g_return_if_fail (NB_IS_WG_DEVICE (device));
  g_return_if_fail (NB_IS_WG_PEER (peer));
  batch = g_private_get (&thread_batch);
  if (batch == NULL)
    {
      batch = g_new0 (NbWgRxBatch, 1);
      g_private_set (&thread_batch, batch);
    }
  /* Entered again from inside a receive (which the contract forbids, but
   * must not corrupt the batch): take a batch of its own. */
  reentered = batch->busy;
  if (reentered)
    batch = g_new0 (NbWgRxBatch, 1);
  batch->busy = TRUE;
  batch->device = device;

  g_rw_lock_reader_lock (&device->config_lock);
  /* A peer leaves its device under the config lock (written), so it is
   * either still the device's here or gone for good. */
  if (device->up && peer->device != device)
    nb_wg_device_count (device, NB_WG_COUNTER_RX_DROP_WRONG_PEER, 1);
  else if (device->up)
    {
      batch->now = nb_wg_device_now (device);
      nb_wg_receive_datagram (batch, data, len, NULL, peer);
      nb_wg_rx_batch_flush (batch);
    }
  g_rw_lock_reader_unlock (&device->config_lock);

  batch->device = NULL;
  batch->via = NULL;
  batch->busy = FALSE;
  if (reentered)
    g_free (batch);
}
