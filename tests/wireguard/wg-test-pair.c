/* wg-test-pair.c: two (or more) NbWgDevice in one process, for the tests
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include "wg-test-pair.h"

gint64 fake_now;
gboolean use_fake_clock;

static void
packet_cb (NbWgDevice *device, NbWgPeer *peer, const guint8 *packet, gsize len, gpointer user_data)
{
  Side *side = user_data;

  g_mutex_lock (&side->lock);
  side->n_packets++;
  memcpy (side->last_packet, packet, MIN (len, sizeof side->last_packet));
  side->last_len = len;
  g_mutex_unlock (&side->lock);
}

GInetSocketAddress *
loopback (guint16 port)
{
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  return G_INET_SOCKET_ADDRESS (g_inet_socket_address_new (lo, port));
}

void
add_prefix (NbWgPeer *peer, const char *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddressMask) mask = g_inet_address_mask_new_from_string (text, &error);

  g_assert_no_error (error);
  g_assert_true (nb_wg_peer_add_allowed_ip (peer, mask, &error));
  g_assert_no_error (error);
}

static gint64
fake_clock (gpointer user_data)
{
  return __atomic_load_n (&fake_now, __ATOMIC_SEQ_CST);
}

void
advance (gint64 usec)
{
  __atomic_add_fetch (&fake_now, usec, __ATOMIC_SEQ_CST);
}

void
side_init (Side *side)
{
  g_autoptr(GError) error = NULL;

  g_mutex_init (&side->lock);
  side->key = nb_key_generate ();
  side->dev = nb_wg_device_new (NULL);
  if (use_fake_clock)
    nb_wg_device_set_clock (side->dev, fake_clock, NULL);
  g_assert_true (nb_wg_device_set_private_key (side->dev, side->key, &error));
  g_assert_no_error (error);
  nb_wg_device_set_packet_func (side->dev, packet_cb, side);
  g_assert_true (nb_wg_device_up (side->dev, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (nb_wg_device_get_listen_port (side->dev), !=, 0);
}

void
pair_setup (Pair *pair, const guint8 *psk)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetSocketAddress) ep_a = NULL;
  g_autoptr(GInetSocketAddress) ep_b = NULL;

  side_init (&pair->a);
  side_init (&pair->b);
  pair->a.peer = nb_wg_device_add_peer (pair->a.dev, pair->b.key, &error);
  g_assert_no_error (error);
  pair->b.peer = nb_wg_device_add_peer (pair->b.dev, pair->a.key, &error);
  g_assert_no_error (error);
  add_prefix (pair->a.peer, "100.64.0.2/32");
  add_prefix (pair->b.peer, "100.64.0.1/32");
  ep_a = loopback (nb_wg_device_get_listen_port (pair->a.dev));
  ep_b = loopback (nb_wg_device_get_listen_port (pair->b.dev));
  nb_wg_peer_set_endpoint (pair->a.peer, ep_b);
  nb_wg_peer_set_endpoint (pair->b.peer, ep_a);
  if (psk != NULL)
    {
      g_assert_true (nb_wg_peer_set_preshared_key (pair->a.peer, psk, 32, &error));
      g_assert_true (nb_wg_peer_set_preshared_key (pair->b.peer, psk, 32, &error));
    }
}

void
side_clear (Side *side)
{
  nb_wg_device_down (side->dev);
  g_clear_object (&side->dev);
  g_clear_object (&side->key);
  g_mutex_clear (&side->lock);
}

void
pair_teardown (Pair *pair)
{
  side_clear (&pair->a);
  side_clear (&pair->b);
}

gboolean
wait_for (gboolean (*cond) (gpointer), gpointer data)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  while (!cond (data))
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  return TRUE;
}

static gboolean
handshake_done (gpointer data)
{
  Pair *pair = data;

  return nb_wg_peer_get_last_handshake_time (pair->a.peer) != 0 &&
         nb_wg_peer_get_last_handshake_time (pair->b.peer) != 0;
}

/* A minimal IPv4/UDP packet from @src to @dst with @payload_len bytes. */
gsize
make_ipv4 (guint8 *out, const char *src, const char *dst, gsize payload_len)
{
  gsize total = 20 + 8 + payload_len;
  g_autoptr(GInetAddress) s = g_inet_address_new_from_string (src);
  g_autoptr(GInetAddress) d = g_inet_address_new_from_string (dst);

  memset (out, 0, total);
  out[0] = 0x45;
  out[2] = (guint8) (total >> 8);
  out[3] = (guint8) total;
  out[8] = 64;
  out[9] = 17;
  memcpy (out + 12, g_inet_address_to_bytes (s), 4);
  memcpy (out + 16, g_inet_address_to_bytes (d), 4);
  for (gsize i = 0; i < payload_len; i++)
    out[28 + i] = (guint8) i;
  return total;
}

gboolean
b_got_packet (gpointer data)
{
  Side *side = data;
  gboolean got;

  g_mutex_lock (&side->lock);
  got = side->n_packets > 0;
  g_mutex_unlock (&side->lock);
  return got;
}

void
check_exchange (Pair *pair)
{
  guint8 packet[1500];
  gsize len;

  /* The first packet is staged and starts the handshake (§6.2). */
  len = make_ipv4 (packet, "100.64.0.1", "100.64.0.2", 1000);
  g_assert_true (nb_wg_device_inject_packet (pair->a.dev, packet, len));
  g_assert_true (wait_for (handshake_done, pair));
  g_assert_true (wait_for (b_got_packet, &pair->b));
  g_mutex_lock (&pair->b.lock);
  g_assert_cmpmem (pair->b.last_packet, pair->b.last_len, packet, len);
  g_mutex_unlock (&pair->b.lock);

  /* And back. */
  len = make_ipv4 (packet, "100.64.0.2", "100.64.0.1", 77);
  g_assert_true (nb_wg_device_inject_packet (pair->b.dev, packet, len));
  g_assert_true (wait_for (b_got_packet, &pair->a));
  g_mutex_lock (&pair->a.lock);
  g_assert_cmpmem (pair->a.last_packet, pair->a.last_len, packet, len);
  g_mutex_unlock (&pair->a.lock);

  g_assert_cmpuint (nb_wg_peer_get_tx_bytes (pair->a.peer), >, 0);
  g_assert_cmpuint (nb_wg_peer_get_rx_bytes (pair->b.peer), >, 0);
}

int
raw_socket (void)
{
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = g_htonl (INADDR_LOOPBACK) };
  int fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &addr, sizeof addr), ==, 0);
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

guint16
raw_port (int fd)
{
  struct sockaddr_in addr;
  socklen_t len = sizeof addr;

  g_assert_cmpint (getsockname (fd, (struct sockaddr *) &addr, &len), ==, 0);
  return g_ntohs (addr.sin_port);
}

void
raw_send (int fd, NbWgDevice *to, const void *data, gsize len)
{
  struct sockaddr_in addr = {
    .sin_family = AF_INET,
    .sin_addr.s_addr = g_htonl (INADDR_LOOPBACK),
    .sin_port = g_htons (nb_wg_device_get_listen_port (to)),
  };

  g_assert_cmpint (sendto (fd, data, len, 0, (struct sockaddr *) &addr, sizeof addr), ==, len);
}

static gboolean
counter_reached (gpointer data)
{
  CounterWait *w = data;

  return nb_wg_device_get_counter (w->dev, w->counter) >= w->at_least;
}

void
assert_counter_reaches (NbWgDevice *dev, NbWgCounter counter, guint64 at_least)
{
  CounterWait w = { dev, counter, at_least };

  if (!wait_for (counter_reached, &w))
    g_error ("counter %d is %" G_GUINT64_FORMAT ", expected at least %" G_GUINT64_FORMAT,
             counter, nb_wg_device_get_counter (dev, counter), at_least);
}

/* A data message for @keypair's peer, as its owner would send it. */
gsize
seal_data (guint8 *out, NbWgKeypair *keypair, guint64 counter, const guint8 *inner, gsize len)
{
  NbWgMessageData *header = (NbWgMessageData *) (void *) out;
  gsize padded = (len + 15) & ~(gsize) 15;

  memset (out, 0, 16 + padded + 16);
  header->header.type = 4;
  header->receiver_index = GUINT32_TO_LE (keypair->keys.remote_index);
  header->counter = GUINT64_TO_LE (counter);
  memcpy (out + 16, inner, len);
  nb_wg_aead_encrypt (out + 16, out + 16, padded, counter, keypair->keys.send_key);
  return 16 + padded + 16;
}
