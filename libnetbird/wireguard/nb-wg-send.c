/* nb-wg-send.c: the send path: handshake initiations, keepalives and data
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * WireGuard paper §5.4.6: each IP packet is padded to a multiple of 16,
 * encrypted in place behind a 16-byte header with the keypair's next
 * counter, and sent. Runs on the TUN reader threads (no allocation, one
 * UDP_SEGMENT send per run of equal-sized packets) and, for handshakes and
 * keepalives, on whatever thread needs it.
 */
#define G_LOG_DOMAIN "netbird-wg"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "nb-tun-private.h"
#include "nb-wg-icmp.h"
#include "nb-wg-internal.h"

gboolean
nb_wg_send_datagrams (NbWgPeer     *peer,
                      struct iovec *iov,
                      guint         n,
                      gsize         segment_size)
{
  NbWgDevice *device = peer->device;
  NbWgTransport *transport = peer->transport;
  NbWgEndpoint endpoint;
  gsize bytes = 0;
  int sent;

  if (device == NULL || n == 0)
    return FALSE;
  for (guint i = 0; i < n; i++)
    bytes += iov[i].iov_len;

  if (transport != NULL && transport->kind == NB_WG_TRANSPORT_CHANNEL)
    {
      for (guint i = 0; i < n; i++)
        if (!transport->send_func (iov[i].iov_base, iov[i].iov_len, transport->user_data))
          {
            nb_wg_device_count (device, NB_WG_COUNTER_TX_ERRORS, 1);
            return FALSE;
          }
      sent = (int) n;
    }
  else if (transport != NULL)
    sent = nb_wg_socket_send_fd (device, transport->fd, &transport->remote, iov, n, segment_size);
  else
    {
      if (!nb_wg_peer_get_endpoint_raw (peer, &endpoint))
        {
          nb_wg_device_count (device, NB_WG_COUNTER_TX_DROP_NO_ENDPOINT, n);
          return FALSE;
        }
      sent = nb_wg_socket_send (device, &endpoint, iov, n, segment_size);
    }
  if (sent < 0)
    {
      g_debug ("Sending to peer %s failed: %s", nb_key_get_public_base64 (peer->public_key),
               g_strerror (errno));
      nb_wg_device_count (device, NB_WG_COUNTER_TX_ERRORS, 1);
      return FALSE;
    }
  __atomic_fetch_add (&peer->tx_bytes, bytes, __ATOMIC_RELAXED);
  return TRUE;
}

static gboolean
peer_has_path (NbWgPeer *peer)
{
  NbWgEndpoint endpoint;

  return peer->transport != NULL || nb_wg_peer_get_endpoint_raw (peer, &endpoint);
}

/* §5.4.2 and §6.4: an initiation at most every REKEY_TIMEOUT. Config lock
 * held for reading. */
void
nb_wg_send_handshake_initiation (NbWgPeer *peer,
                                 gboolean  is_retry)
{
  NbWgDevice *device = peer->device;
  NbWgMessageInitiation msg;
  struct iovec iov = { .iov_base = &msg, .iov_len = sizeof msg };
  guint8 timestamp[NB_WG_TIMESTAMP_LEN];
  gboolean has_path;
  gint64 now;

  if (device == NULL || !device->up || !device->identity.has_identity)
    return;
  now = nb_wg_device_now (device);

  /* Before taking the peer's lock: reading the endpoint takes it too. */
  has_path = peer_has_path (peer);

  g_mutex_lock (&peer->lock);
  if (!is_retry)
    peer->timers.handshake_attempts = 0;
  if (peer->last_sent_handshake != 0 &&
      now - peer->last_sent_handshake < NB_WG_REKEY_TIMEOUT * G_USEC_PER_SEC)
    {
      g_mutex_unlock (&peer->lock);
      return;
    }
  if (!has_path)
    {
      /* Nowhere to send it: keep the retransmit timer going so it goes out
       * once an endpoint is known. Nothing was sent, so REKEY_TIMEOUT does
       * not start: the first packet after a path appears (an ICE pair
       * handed over, an endpoint set) initiates at once instead of up to
       * 5 s later. */
      nb_wg_timers_handshake_initiated (&peer->timers, now);
      g_mutex_unlock (&peer->lock);
      return;
    }
  peer->last_sent_handshake = now;
  g_mutex_unlock (&peer->lock);

  nb_wg_tai64n_now (timestamp);
  if (!nb_wg_noise_create_initiation (&peer->handshake, &device->identity, timestamp, &msg))
    {
      g_debug ("Could not create a handshake initiation for peer %s",
               nb_key_get_public_base64 (peer->public_key));
      return;
    }
  nb_wg_cookie_add_macs (&peer->cookie, (guint8 *) &msg, sizeof msg, now);
  nb_wg_device_count (device, NB_WG_COUNTER_TX_HANDSHAKE_INITIATIONS, 1);
  g_debug ("Sending handshake initiation to peer %s%s",
           nb_key_get_public_base64 (peer->public_key), is_retry ? " (retry)" : "");
  nb_wg_send_datagrams (peer, &iov, 1, 0);

  g_mutex_lock (&peer->lock);
  nb_wg_timers_any_authenticated_packet_traversal (&peer->timers, now);
  nb_wg_timers_any_authenticated_packet_sent (&peer->timers);
  nb_wg_timers_handshake_initiated (&peer->timers, now);
  g_mutex_unlock (&peer->lock);
}

static void
stage_packets (NbWgPeer *peer, guint8 **bufs, gsize *lens, guint n)
{
  guint dropped = 0;

  g_mutex_lock (&peer->lock);
  for (guint i = 0; i < n; i++)
    {
      NbWgStagedPacket *packet = g_new (NbWgStagedPacket, 1);

      packet->data = g_malloc (NB_WG_HEADROOM + lens[i] + NB_WG_TAILROOM);
      memcpy (packet->data + NB_WG_HEADROOM, bufs[i] + NB_WG_HEADROOM, lens[i]);
      packet->len = lens[i];
      g_queue_push_tail (&peer->staged, packet);
      while (g_queue_get_length (&peer->staged) > NB_WG_MAX_STAGED_PACKETS)
        {
          NbWgStagedPacket *old = g_queue_pop_head (&peer->staged);
          g_free (old->data);
          g_free (old);
          dropped++;
        }
    }
  g_mutex_unlock (&peer->lock);
  if (dropped > 0)
    nb_wg_device_count (peer->device, NB_WG_COUNTER_TX_DROP_STAGED, dropped);
}

static inline gsize
padded_length (NbWgDevice *device, gsize len)
{
  gsize padded = (len + NB_WG_PADDING_MULTIPLE - 1) & ~(gsize) (NB_WG_PADDING_MULTIPLE - 1);

  /* Padding never makes a packet bigger than the MTU (§5.4.6). */
  if (device->mtu > 0 && padded > device->mtu && len <= device->mtu)
    padded = device->mtu;
  return padded;
}

/* Sends @n datagrams (built in place in @bufs, lengths in @wire) in runs of
 * equal size, each run one GSO send. */
static void
send_runs (NbWgPeer *peer, guint8 **bufs, gsize *wire, guint n)
{
  struct iovec iov[NB_WG_MAX_GSO_SEGMENTS];
  guint start = 0;

  while (start < n)
    {
      gsize size = wire[start];
      gsize total = size;
      guint count = 1;

      iov[0].iov_base = bufs[start];
      iov[0].iov_len = size;
      /* A run: same-sized datagrams, then at most one shorter last one. */
      while (start + count < n && count < NB_WG_MAX_GSO_SEGMENTS &&
             total + wire[start + count] <= NB_WG_MAX_GSO_BYTES && wire[start + count] <= size)
        {
          iov[count].iov_base = bufs[start + count];
          iov[count].iov_len = wire[start + count];
          total += wire[start + count];
          count++;
          if (wire[start + count - 1] < size)
            break;
        }
      nb_wg_send_datagrams (peer, iov, count, count > 1 ? size : 0);
      start += count;
    }
}

/* Encrypts a batch in place: on the calling TUN thread, and on the crypto
 * workers too when it is big. */
typedef struct {
  NbWgDevice *device;
  NbWgKeypair *keypair;
  guint8 **bufs;
  gsize *lens;
  gsize *wire;
  guint64 base;
} EncryptJob;

static void
encrypt_chunk (gpointer data, guint first, guint n)
{
  EncryptJob *job = data;

  for (guint i = first; i < first + n; i++)
    {
      guint8 *buf = job->bufs[i];
      gsize len = job->lens[i];
      gsize padded = padded_length (job->device, len);
      NbWgMessageData *header = (NbWgMessageData *) (void *) buf;
      guint64 counter = job->base + i;

      memset (buf + NB_WG_HEADROOM + len, 0, padded - len);
      header->header.type = NB_WG_MESSAGE_DATA;
      header->header.reserved[0] = header->header.reserved[1] = header->header.reserved[2] = 0;
      header->receiver_index = GUINT32_TO_LE (job->keypair->keys.remote_index);
      header->counter = GUINT64_TO_LE (counter);
      nb_wg_aead_encrypt (buf + NB_WG_HEADROOM, buf + NB_WG_HEADROOM, padded, counter,
                          job->keypair->keys.send_key);
      job->wire[i] = NB_WG_DATA_HEADER_LEN + padded + NB_WG_AEAD_TAG_LEN;
    }
}

void
nb_wg_send_packets (NbWgPeer *peer,
                    guint8  **bufs,
                    gsize    *lens,
                    guint     n)
{
  NbWgDevice *device = peer->device;
  NbWgKeypair *keypair;
  gsize wire[NB_TUN_MAX_SEGMENTS];
  gboolean data_sent = FALSE;
  gboolean rekey = FALSE;
  gint64 now;
  guint done = 0;

  if (device == NULL)
    return;
  now = nb_wg_device_now (device);
  keypair = nb_wg_peer_get_current_keypair (peer);

  if (keypair == NULL || !__atomic_load_n (&keypair->is_valid, __ATOMIC_ACQUIRE) ||
      now - keypair->birthdate >= NB_WG_REJECT_AFTER_TIME * G_USEC_PER_SEC ||
      __atomic_load_n (&keypair->send_counter, __ATOMIC_RELAXED) >= NB_WG_REJECT_AFTER_MESSAGES)
    {
      /* No usable session: keep the packets and start a handshake (§6.2). */
      nb_wg_keypair_unref (keypair);
      stage_packets (peer, bufs, lens, n);
      nb_wg_send_handshake_initiation (peer, FALSE);
      return;
    }

  while (done < n)
    {
      guint batch = MIN (n - done, (guint) NB_TUN_MAX_SEGMENTS);
      /* One atomic per batch: the nonces of the whole batch at once. */
      guint64 base = __atomic_fetch_add (&keypair->send_counter, batch, __ATOMIC_RELAXED);
      EncryptJob job = {
        .device = device,
        .keypair = keypair,
        .bufs = bufs + done,
        .lens = lens + done,
        .wire = wire,
        .base = base,
      };

      if (base >= NB_WG_REJECT_AFTER_MESSAGES)
        break;
      batch = (guint) MIN ((guint64) batch, NB_WG_REJECT_AFTER_MESSAGES - base);
      nb_wg_crypt_pool_run (device->crypt_pool, encrypt_chunk, &job, batch);
      for (guint i = 0; i < batch && !data_sent; i++)
        data_sent = lens[done + i] > 0;
      if (base + batch - 1 > NB_WG_REKEY_AFTER_MESSAGES)
        rekey = TRUE;
      send_runs (peer, bufs + done, wire, batch);
      nb_wg_device_count (device, NB_WG_COUNTER_TX_DATA_PACKETS, batch);
      done += batch;
    }

  g_mutex_lock (&peer->lock);
  nb_wg_timers_any_authenticated_packet_traversal (&peer->timers, now);
  nb_wg_timers_any_authenticated_packet_sent (&peer->timers);
  if (data_sent)
    nb_wg_timers_data_sent (&peer->timers, now);
  g_mutex_unlock (&peer->lock);

  /* §6.2: the initiator renews old or much-used keys. */
  if (keypair->keys.is_initiator &&
      (rekey || now - keypair->birthdate >= NB_WG_REKEY_AFTER_TIME * G_USEC_PER_SEC))
    nb_wg_send_handshake_initiation (peer, FALSE);
  nb_wg_keypair_unref (keypair);
}

void
nb_wg_send_staged_packets (NbWgPeer *peer)
{
  NbWgStagedPacket *items[NB_WG_MAX_STAGED_PACKETS];
  guint8 *bufs[NB_WG_MAX_STAGED_PACKETS];
  gsize lens[NB_WG_MAX_STAGED_PACKETS];
  guint n = 0;

  g_mutex_lock (&peer->lock);
  while (n < NB_WG_MAX_STAGED_PACKETS && !g_queue_is_empty (&peer->staged))
    {
      items[n] = g_queue_pop_head (&peer->staged);
      bufs[n] = items[n]->data;
      lens[n] = items[n]->len;
      n++;
    }
  g_mutex_unlock (&peer->lock);

  if (n > 0)
    nb_wg_send_packets (peer, bufs, lens, n);
  for (guint i = 0; i < n; i++)
    {
      g_free (items[i]->data);
      g_free (items[i]);
    }
}

/* §6.5: an empty data packet, unless queued packets can go instead. */
void
nb_wg_send_keepalive (NbWgPeer *peer)
{
  guint8 buffer[NB_WG_HEADROOM + NB_WG_TAILROOM];
  guint8 *bufs[1] = { buffer };
  gsize lens[1] = { 0 };
  gboolean staged;

  g_mutex_lock (&peer->lock);
  staged = !g_queue_is_empty (&peer->staged);
  g_mutex_unlock (&peer->lock);

  if (staged)
    {
      NbWgKeypair *keypair = nb_wg_peer_get_current_keypair (peer);
      gboolean usable = keypair != NULL && __atomic_load_n (&keypair->is_valid, __ATOMIC_ACQUIRE);

      nb_wg_keypair_unref (keypair);
      if (usable)
        {
          nb_wg_send_staged_packets (peer);
          return;
        }
    }
  nb_wg_send_packets (peer, bufs, lens, 1);
}

/* -- the TUN reader threads ---------------------------------------------- */

static inline gboolean
destination_of (const guint8 *packet, gsize len, const guint8 **address, guint *address_len)
{
  if (len >= 20 && (packet[0] >> 4) == 4)
    {
      *address = packet + 16;
      *address_len = 4;
      return TRUE;
    }
  if (len >= 40 && (packet[0] >> 4) == 6)
    {
      *address = packet + 24;
      *address_len = 16;
      return TRUE;
    }
  return FALSE;
}

/* What a TUN reader keeps besides its packet buffers. */
typedef struct {
  guint queue;
  NbFilterFlowCache filter_cache; /* the last outbound flow the filter saw */
  NbWgIcmpRate icmp_rate;
  guint8 icmp[NB_TUN_VNET_HDR_LEN + NB_WG_ICMP_ERROR_MAX];
} TunReader;

/* A packet for which no peer has an allowed IP: tell the sender at once,
 * as Linux's WireGuard does, within a rate. */
static void
reply_unreachable (NbWgDevice *device, TunReader *reader, const guint8 *packet, gsize len)
{
  guint8 *error = reader->icmp + NB_TUN_VNET_HDR_LEN;
  gsize error_len;

  /* The rate first: under a flood of packets for nobody, most are over
   * it and cost no copy. */
  if (!nb_wg_icmp_rate_allow (&reader->icmp_rate, nb_wg_device_now (device)))
    return;
  error_len = nb_wg_icmp_build_unreachable (packet, len, error);
  if (error_len == 0)
    {
      nb_wg_icmp_rate_return (&reader->icmp_rate);
      return;
    }
  if (nb_tun_write_packets (device->tun, reader->queue, &error, &error_len, 1) < 0)
    g_debug ("Writing an ICMP error to the TUN failed: %s", g_strerror (errno));
  else
    nb_wg_device_count (device, NB_WG_COUNTER_TX_ICMP_UNREACHABLE, 1);
}

/* Routes a batch of IP packets (at bufs[i] + NB_WG_HEADROOM) to their peers
 * by destination (cryptokey routing, §2) and sends each peer's run. Config
 * lock held for reading. */
static void
route_and_send (NbWgDevice *device, TunReader *reader, guint8 **bufs, gsize *lens, guint n)
{
  guint start = 0;
  NbWgPeer *run_peer = NULL;
  NbFilter *filter = device->filter;
  gint64 now = filter != NULL ? nb_wg_device_now (device) : 0;

  for (guint i = 0; i <= n; i++)
    {
      NbWgPeer *peer = NULL;

      if (i < n)
        {
          const guint8 *address;
          guint address_len;

          if (destination_of (bufs[i] + NB_WG_HEADROOM, lens[i], &address, &address_len))
            peer = nb_wg_allowedips_lookup (&device->allowedips, address, address_len);
          if (peer == NULL)
            {
              nb_wg_device_count (device, NB_WG_COUNTER_TX_DROP_NO_PEER, 1);
              reply_unreachable (device, reader, bufs[i] + NB_WG_HEADROOM, lens[i]);
            }
          /* Before encryption: the filter records the flow (or drops it
           * by an outbound rule). A dropped packet ends the peer's run. */
          else if (filter != NULL &&
                   !nb_filter_outbound (filter, &reader->filter_cache, bufs[i] + NB_WG_HEADROOM,
                                        lens[i], now))
            {
              nb_wg_device_count (device, NB_WG_COUNTER_TX_DROP_FILTER, 1);
              peer = NULL;
            }
        }
      if (i == n || peer != run_peer)
        {
          if (run_peer != NULL && i > start)
            nb_wg_send_packets (run_peer, bufs + start, lens + start, i - start);
          run_peer = peer;
          start = peer != NULL ? i : i + 1;
        }
    }
}

gpointer
nb_wg_tun_thread (gpointer user_data)
{
  NbWgThreadData *data = user_data;
  NbWgDevice *device = data->device;
  guint queue = data->queue;
  GMutex *lock = data->lock;
  gsize scratch_size = 65535 + NB_TUN_VNET_HDR_LEN + 64;
  guint8 *scratch = g_malloc (scratch_size);
  guint8 *pool = g_malloc ((gsize) NB_TUN_MAX_SEGMENTS * NB_WG_PACKET_BUFFER_SIZE);
  guint8 *bufs[NB_TUN_MAX_SEGMENTS];
  guint8 *work[NB_TUN_MAX_SEGMENTS];
  gsize lens[NB_TUN_MAX_SEGMENTS];
  int tun_fd = nb_tun_get_queue_fd (device->tun, queue);
  TunReader *reader = g_new0 (TunReader, 1);

  g_free (data);
  reader->queue = queue;
  for (guint i = 0; i < NB_TUN_MAX_SEGMENTS; i++)
    bufs[i] = pool + (gsize) i * NB_WG_PACKET_BUFFER_SIZE;

  while (!__atomic_load_n (&device->stopping, __ATOMIC_ACQUIRE))
    {
      struct pollfd fds[2] = {
        { .fd = tun_fd, .events = POLLIN },
        { .fd = device->stop_fd, .events = POLLIN },
      };
      int n;

      if (poll (fds, 2, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          g_warning ("Polling the TUN failed: %s", g_strerror (errno));
          break;
        }
      if (fds[1].revents != 0)
        break;
      if (!(fds[0].revents & POLLIN))
        {
          if (fds[0].revents & (POLLERR | POLLHUP | POLLNVAL))
            break;
          continue;
        }
      n = nb_tun_read_packets (device->tun, queue, scratch, scratch_size, bufs, lens,
                               NB_TUN_MAX_SEGMENTS, NB_WG_HEADROOM, NB_WG_TAILROOM,
                               NB_WG_PACKET_BUFFER_SIZE);
      if (n < 0)
        {
          if (errno == EAGAIN || errno == EINTR)
            continue;
          if (errno == EBADF)
            break;
          g_debug ("Reading the TUN failed: %s", g_strerror (errno));
          continue;
        }
      if (n == 0)
        continue;
      /* nb_wg_send_packets() works on the pointers it is given. */
      memcpy (work, bufs, (gsize) n * sizeof work[0]);
      g_mutex_lock (lock);
      if (device->up)
        route_and_send (device, reader, work, lens, (guint) n);
      g_mutex_unlock (lock);
    }

  g_free (reader);
  g_free (pool);
  g_free (scratch);
  return NULL;
}

/*
 * nb_wg_device_inject_packet:
 * @self: a #NbWgDevice
 * @packet: (array length=len): an IP packet
 * @len: its length
 *
 * Private API (nb-wg-device-private.h): sends @packet as if the TUN had
 * given it.
 *
 * Returns: %TRUE when a peer took it
 */
gboolean
nb_wg_device_inject_packet (NbWgDevice   *self,
                            const guint8 *packet,
                            gsize         len)
{
  g_autofree guint8 *buf = NULL;
  const guint8 *address;
  guint address_len;
  NbWgPeer *peer = NULL;
  gsize lens[1] = { len };
  guint8 *bufs[1];

  g_return_val_if_fail (NB_IS_WG_DEVICE (self), FALSE);
  if (len > NB_WG_MAX_PACKET || !destination_of (packet, len, &address, &address_len))
    return FALSE;
  buf = g_malloc (NB_WG_PACKET_BUFFER_SIZE);
  memcpy (buf + NB_WG_HEADROOM, packet, len);
  bufs[0] = buf;

  g_rw_lock_reader_lock (&self->config_lock);
  if (self->up)
    peer = nb_wg_allowedips_lookup (&self->allowedips, address, address_len);
  if (peer == NULL)
    nb_wg_device_count (self, NB_WG_COUNTER_TX_DROP_NO_PEER, 1);
  else if (self->filter != NULL &&
           !nb_filter_outbound (self->filter, NULL, packet, len, nb_wg_device_now (self)))
    {
      nb_wg_device_count (self, NB_WG_COUNTER_TX_DROP_FILTER, 1);
      peer = NULL;
    }
  else
    nb_wg_send_packets (peer, bufs, lens, 1);
  g_rw_lock_reader_unlock (&self->config_lock);
  return peer != NULL;
}
