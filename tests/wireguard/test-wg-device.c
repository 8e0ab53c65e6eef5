/* test-wg-device.c: two NbWgDevice in one process over loopback UDP
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <gio/gio.h>
#include <sodium.h>

#include "nb-wg-device-private.h"
#include "nb-wg-internal.h"

typedef struct {
  NbWgDevice *dev;
  NbKey *key;
  NbWgPeer *peer; /* the other side, as this device knows it */
  GMutex lock;
  guint n_packets;
  guint8 last_packet[2048];
  gsize last_len;
} Side;

typedef struct {
  Side a;
  Side b;
} Pair;

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

static GInetSocketAddress *
loopback (guint16 port)
{
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  return G_INET_SOCKET_ADDRESS (g_inet_socket_address_new (lo, port));
}

static void
add_prefix (NbWgPeer *peer, const char *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddressMask) mask = g_inet_address_mask_new_from_string (text, &error);

  g_assert_no_error (error);
  g_assert_true (nb_wg_peer_add_allowed_ip (peer, mask, &error));
  g_assert_no_error (error);
}

static gint64 fake_now;
static gboolean use_fake_clock;

static gint64
fake_clock (gpointer user_data)
{
  return __atomic_load_n (&fake_now, __ATOMIC_SEQ_CST);
}

static void
advance (gint64 usec)
{
  __atomic_add_fetch (&fake_now, usec, __ATOMIC_SEQ_CST);
}

static void
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

static void
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

static void
side_clear (Side *side)
{
  nb_wg_device_down (side->dev);
  g_clear_object (&side->dev);
  g_clear_object (&side->key);
  g_mutex_clear (&side->lock);
}

static void
pair_teardown (Pair *pair)
{
  side_clear (&pair->a);
  side_clear (&pair->b);
}

static gboolean
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
static gsize
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

static gboolean
b_got_packet (gpointer data)
{
  Side *side = data;
  gboolean got;

  g_mutex_lock (&side->lock);
  got = side->n_packets > 0;
  g_mutex_unlock (&side->lock);
  return got;
}

static void
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

static void
count_cb (NbWgPeer *peer, gpointer user_data)
{
  (*(guint *) user_data)++;
}

static gboolean
uint_nonzero (gpointer data)
{
  return *(guint *) data > 0;
}

static void
test_handshake_and_data (void)
{
  Pair pair = { 0 };
  guint completed_a = 0, completed_b = 0;

  pair_setup (&pair, NULL);
  g_signal_connect (pair.a.peer, "handshake-completed", G_CALLBACK (count_cb), &completed_a);
  g_signal_connect (pair.b.peer, "handshake-completed", G_CALLBACK (count_cb), &completed_b);
  check_exchange (&pair);
  /* Both sides hear of it on their main context. */
  g_assert_true (wait_for (uint_nonzero, &completed_a));
  g_assert_true (wait_for (uint_nonzero, &completed_b));
  g_assert_cmpuint (completed_a, ==, 1);
  g_assert_cmpuint (completed_b, ==, 1);
  {
    gint64 when = 0;
    guint port = 0;
    gboolean up = FALSE;
    g_autoptr(NbKey) key = NULL;

    g_object_get (pair.a.peer, "last-handshake-time", &when, "public-key", &key, NULL);
    g_assert_cmpint (when, ==, nb_wg_peer_get_last_handshake_time (pair.a.peer));
    g_assert_true (nb_key_equal (key, pair.b.key));
    g_object_get (pair.a.dev, "listen-port", &port, "is-up", &up, NULL);
    g_assert_cmpuint (port, ==, nb_wg_device_get_listen_port (pair.a.dev));
    g_assert_true (up);
  }
  pair_teardown (&pair);
}

static void
test_handshake_psk (void)
{
  Pair pair = { 0 };
  guint8 psk[32];

  memset (psk, 0x42, sizeof psk);
  pair_setup (&pair, psk);
  check_exchange (&pair);
  pair_teardown (&pair);
}

/* -- raw datagrams from a test socket ------------------------------------ */

static int
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

static guint16
raw_port (int fd)
{
  struct sockaddr_in addr;
  socklen_t len = sizeof addr;

  g_assert_cmpint (getsockname (fd, (struct sockaddr *) &addr, &len), ==, 0);
  return g_ntohs (addr.sin_port);
}

static void
raw_send (int fd, NbWgDevice *to, const void *data, gsize len)
{
  struct sockaddr_in addr = {
    .sin_family = AF_INET,
    .sin_addr.s_addr = g_htonl (INADDR_LOOPBACK),
    .sin_port = g_htons (nb_wg_device_get_listen_port (to)),
  };

  g_assert_cmpint (sendto (fd, data, len, 0, (struct sockaddr *) &addr, sizeof addr), ==, len);
}

typedef struct {
  NbWgDevice *dev;
  NbWgCounter counter;
  guint64 at_least;
} CounterWait;

static gboolean
counter_reached (gpointer data)
{
  CounterWait *w = data;

  return nb_wg_device_get_counter (w->dev, w->counter) >= w->at_least;
}

static void
assert_counter_reaches (NbWgDevice *dev, NbWgCounter counter, guint64 at_least)
{
  CounterWait w = { dev, counter, at_least };

  if (!wait_for (counter_reached, &w))
    g_error ("counter %d is %" G_GUINT64_FORMAT ", expected at least %" G_GUINT64_FORMAT,
             counter, nb_wg_device_get_counter (dev, counter), at_least);
}

/* A data message for @keypair's peer, as its owner would send it. */
static gsize
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

static void
test_malformed_dropped (void)
{
  Pair pair = { 0 };
  int fd;
  guint8 buf[400];
  guint64 malformed;

  pair_setup (&pair, NULL);
  check_exchange (&pair);
  fd = raw_socket ();
  malformed = nb_wg_device_get_counter (pair.b.dev, NB_WG_COUNTER_RX_DROP_MALFORMED);

  memset (buf, 0, sizeof buf);
  buf[0] = 1;
  raw_send (fd, pair.b.dev, buf, 3);     /* truncated header */
  raw_send (fd, pair.b.dev, buf, 147);   /* initiation one byte short */
  raw_send (fd, pair.b.dev, buf, 149);   /* initiation one byte long */
  buf[0] = 2;
  raw_send (fd, pair.b.dev, buf, 300);   /* oversized response */
  buf[0] = 4;
  raw_send (fd, pair.b.dev, buf, 31);    /* data shorter than header + tag */
  buf[0] = 9;
  raw_send (fd, pair.b.dev, buf, 148);   /* unknown type */
  buf[0] = 1;
  buf[2] = 1;
  raw_send (fd, pair.b.dev, buf, 148);   /* reserved bytes not zero */
  assert_counter_reaches (pair.b.dev, NB_WG_COUNTER_RX_DROP_MALFORMED, malformed + 7);

  /* Well-formed but forged: bad mac1, unknown receiver index. */
  memset (buf, 0x5a, sizeof buf);
  buf[0] = 1;
  buf[1] = buf[2] = buf[3] = 0;
  raw_send (fd, pair.b.dev, buf, 148);
  assert_counter_reaches (pair.b.dev, NB_WG_COUNTER_RX_DROP_MAC1, 1);
  buf[0] = 4;
  raw_send (fd, pair.b.dev, buf, 200);
  assert_counter_reaches (pair.b.dev, NB_WG_COUNTER_RX_DROP_UNKNOWN_INDEX, 1);

  /* The tunnel still works. */
  pair.b.n_packets = 0;
  check_exchange (&pair);
  close (fd);
  pair_teardown (&pair);
}

static void
test_replayed_and_forged_data (void)
{
  Pair pair = { 0 };
  NbWgKeypair *keypair;
  guint8 inner[100], wire[200];
  gsize len;
  int fd;

  pair_setup (&pair, NULL);
  check_exchange (&pair);
  fd = raw_socket ();
  keypair = nb_wg_peer_get_current_keypair (pair.a.peer);
  g_assert_nonnull (keypair);

  /* Counter 0 went with the first packet: a replay. */
  make_ipv4 (inner, "100.64.0.1", "100.64.0.2", 20);
  len = seal_data (wire, keypair, 0, inner, 48);
  raw_send (fd, pair.b.dev, wire, len);
  assert_counter_reaches (pair.b.dev, NB_WG_COUNTER_RX_DROP_REPLAY, 1);

  /* Truncated by one byte: fails authentication. */
  len = seal_data (wire, keypair, 500, inner, 48);
  raw_send (fd, pair.b.dev, wire, len - 1);
  assert_counter_reaches (pair.b.dev, NB_WG_COUNTER_RX_DROP_DECRYPT, 1);
  /* A flipped bit too. */
  wire[40] ^= 1;
  raw_send (fd, pair.b.dev, wire, len);
  assert_counter_reaches (pair.b.dev, NB_WG_COUNTER_RX_DROP_DECRYPT, 2);

  /* Authentic, but from a source the peer may not use (§2). */
  make_ipv4 (inner, "100.64.0.99", "100.64.0.2", 20);
  len = seal_data (wire, keypair, 1000, inner, 48);
  raw_send (fd, pair.b.dev, wire, len);
  assert_counter_reaches (pair.b.dev, NB_WG_COUNTER_RX_DROP_ALLOWED_IPS, 1);

  /* Garbage inside an authentic packet. */
  memset (inner, 0xee, sizeof inner);
  len = seal_data (wire, keypair, 1001, inner, 48);
  raw_send (fd, pair.b.dev, wire, len);
  assert_counter_reaches (pair.b.dev, NB_WG_COUNTER_RX_DROP_INNER_MALFORMED, 1);

  nb_wg_keypair_unref (keypair);
  close (fd);
  pair_teardown (&pair);
}

/* §2.1: the endpoint follows the source of the last authenticated packet. */
static void
test_roaming (void)
{
  Pair pair = { 0 };
  NbWgKeypair *keypair;
  g_autoptr(GInetSocketAddress) endpoint = NULL;
  guint8 inner[100], wire[200];
  gsize len;
  int fd;

  pair_setup (&pair, NULL);
  check_exchange (&pair);
  fd = raw_socket ();
  keypair = nb_wg_peer_get_current_keypair (pair.a.peer);

  /* Forged from a new address: the endpoint stays. */
  make_ipv4 (inner, "100.64.0.1", "100.64.0.2", 20);
  len = seal_data (wire, keypair, 2000, inner, 48);
  wire[30] ^= 1;
  raw_send (fd, pair.b.dev, wire, len);
  assert_counter_reaches (pair.b.dev, NB_WG_COUNTER_RX_DROP_DECRYPT, 1);
  endpoint = nb_wg_peer_dup_endpoint (pair.b.peer);
  g_assert_cmpuint (g_inet_socket_address_get_port (endpoint), ==,
                    nb_wg_device_get_listen_port (pair.a.dev));
  g_clear_object (&endpoint);

  /* Authentic from the new address: it moves there. */
  len = seal_data (wire, keypair, 2001, inner, 48);
  pair.b.n_packets = 0;
  raw_send (fd, pair.b.dev, wire, len);
  g_assert_true (wait_for (b_got_packet, &pair.b));
  endpoint = nb_wg_peer_dup_endpoint (pair.b.peer);
  g_assert_cmpuint (g_inet_socket_address_get_port (endpoint), ==, raw_port (fd));

  nb_wg_keypair_unref (keypair);
  close (fd);
  pair_teardown (&pair);
}

/* Initiations that carry a valid mac1 for @dev but come from nobody it
 * knows, as a flood would. */
static void
flood (int fd, NbWgDevice *dev, guint n)
{
  NbWgCookie cookie;
  guint8 msg[148];

  nb_wg_cookie_init (&cookie, nb_key_get_public_data (nb_wg_device_get_private_key (dev), NULL));
  for (guint i = 0; i < n; i++)
    {
      randombytes_buf (msg, sizeof msg);
      msg[0] = 1;
      msg[1] = msg[2] = msg[3] = 0;
      nb_wg_cookie_add_macs (&cookie, msg, sizeof msg, 0);
      raw_send (fd, dev, msg, sizeof msg);
    }
  nb_wg_cookie_clear (&cookie);
}

static gboolean
a_got_cookie (gpointer data)
{
  Pair *pair = data;

  return nb_wg_device_get_counter (pair->a.dev, NB_WG_COUNTER_RX_COOKIE_REPLIES) > 0;
}

/* §5.3: a flood of initiations puts the device under load: it answers with
 * cookie replies instead of doing DH, an established peer keeps working,
 * and a real peer gets through with its cookie (mac2). */
static void
test_under_load_cookies (void)
{
  Pair pair = { 0 };
  guint8 reply[256];
  guint64 initiations_before;
  gint64 hs_before;
  int fd;
  ssize_t n;
  guint cookies = 0;

  fake_now = (gint64) 1000 * G_USEC_PER_SEC;
  use_fake_clock = TRUE;
  pair_setup (&pair, NULL);
  use_fake_clock = FALSE;
  nb_wg_device_set_under_load_threshold (pair.b.dev, 8);
  check_exchange (&pair);
  fd = raw_socket ();

  advance (10 * G_USEC_PER_SEC);
  flood (fd, pair.b.dev, 40);
  while ((n = recv (fd, reply, sizeof reply, 0)) > 0)
    {
      g_assert_cmpint (n, ==, 64);
      g_assert_cmpuint (reply[0], ==, 3);
      cookies++;
    }
  g_assert_cmpuint (cookies, >, 0);
  g_assert_true (nb_wg_device_get_under_load (pair.b.dev));
  assert_counter_reaches (pair.b.dev, NB_WG_COUNTER_TX_COOKIE_REPLIES, cookies);

  /* The established session is untouched. */
  pair.a.n_packets = pair.b.n_packets = 0;
  check_exchange (&pair);

  /* A new handshake from the real peer gets a cookie... */
  initiations_before = nb_wg_device_get_counter (pair.b.dev, NB_WG_COUNTER_RX_HANDSHAKE_INITIATIONS);
  hs_before = nb_wg_peer_get_last_handshake_time (pair.a.peer);
  nb_wg_peer_initiate_handshake (pair.a.peer);
  g_assert_true (wait_for (a_got_cookie, &pair));
  g_assert_cmpuint (nb_wg_device_get_counter (pair.b.dev, NB_WG_COUNTER_RX_HANDSHAKE_INITIATIONS),
                    ==, initiations_before);

  /* ...and its retry, still under load, goes through with mac2. */
  advance (6 * G_USEC_PER_SEC);
  flood (fd, pair.b.dev, 20);
  while (recv (fd, reply, sizeof reply, 0) > 0)
    ;
  g_assert_true (nb_wg_device_get_under_load (pair.b.dev));
  nb_wg_peer_initiate_handshake (pair.a.peer);
  assert_counter_reaches (pair.b.dev, NB_WG_COUNTER_RX_HANDSHAKE_INITIATIONS,
                          initiations_before + 1);
  assert_counter_reaches (pair.a.dev, NB_WG_COUNTER_RX_HANDSHAKE_RESPONSES, 2);
  g_assert_cmpint (nb_wg_peer_get_last_handshake_time (pair.a.peer), >, hs_before);

  close (fd);
  pair_teardown (&pair);
}

/* §6.2: the initiator renews keys older than REKEY_AFTER_TIME when it sends;
 * past REJECT_AFTER_TIME they are not used at all. */
static void
test_rekey_after_time (void)
{
  Pair pair = { 0 };
  guint8 packet[200];
  gsize len;
  guint64 before;

  fake_now = (gint64) 5000 * G_USEC_PER_SEC;
  use_fake_clock = TRUE;
  pair_setup (&pair, NULL);
  use_fake_clock = FALSE;
  check_exchange (&pair);
  before = nb_wg_device_get_counter (pair.a.dev, NB_WG_COUNTER_TX_HANDSHAKE_INITIATIONS);

  advance (60 * G_USEC_PER_SEC);
  len = make_ipv4 (packet, "100.64.0.1", "100.64.0.2", 10);
  g_assert_true (nb_wg_device_inject_packet (pair.a.dev, packet, len));
  g_assert_cmpuint (nb_wg_device_get_counter (pair.a.dev, NB_WG_COUNTER_TX_HANDSHAKE_INITIATIONS),
                    ==, before);

  advance (61 * G_USEC_PER_SEC);
  /* TAI64N timestamps are coarse (§5.1 whitening): let real time pass so the
   * new initiation's is newer, as 120 s would make it. */
  g_usleep (50000);
  g_assert_true (nb_wg_device_inject_packet (pair.a.dev, packet, len));
  g_assert_cmpuint (nb_wg_device_get_counter (pair.a.dev, NB_WG_COUNTER_TX_HANDSHAKE_INITIATIONS),
                    ==, before + 1);
  assert_counter_reaches (pair.a.dev, NB_WG_COUNTER_RX_HANDSHAKE_RESPONSES, 2);
  pair_teardown (&pair);
}

/* §6.3: with no new session, keys go 3 * REJECT_AFTER_TIME later. */
static void
test_zero_keys_after_reject (void)
{
  Pair pair = { 0 };
  NbWgKeypair *keypair;

  fake_now = (gint64) 9000 * G_USEC_PER_SEC;
  use_fake_clock = TRUE;
  pair_setup (&pair, NULL);
  use_fake_clock = FALSE;
  check_exchange (&pair);
  keypair = nb_wg_peer_get_current_keypair (pair.a.peer);
  g_assert_nonnull (keypair);
  nb_wg_keypair_unref (keypair);

  advance (3 * NB_WG_REJECT_AFTER_TIME * G_USEC_PER_SEC + 1);
  nb_wg_device_tick (pair.a.dev);
  g_assert_null (nb_wg_peer_get_current_keypair (pair.a.peer));
  pair_teardown (&pair);
}

/* §6.1, §6.4: an unanswered initiation is sent again every REKEY_TIMEOUT
 * (+ jitter) until REKEY_ATTEMPT_TIME, then queued packets are dropped. */
static void
test_retransmit_and_give_up (void)
{
  Pair pair = { 0 };
  g_autoptr(GInetSocketAddress) nowhere = NULL;
  guint8 packet[200];
  gsize len;
  int fd;
  guint64 sent;

  fake_now = (gint64) 20000 * G_USEC_PER_SEC;
  use_fake_clock = TRUE;
  pair_setup (&pair, NULL);
  use_fake_clock = FALSE;
  /* A socket that never answers stands in for the peer. */
  fd = raw_socket ();
  nowhere = loopback (raw_port (fd));
  nb_wg_peer_set_endpoint (pair.a.peer, nowhere);

  len = make_ipv4 (packet, "100.64.0.1", "100.64.0.2", 10);
  g_assert_true (nb_wg_device_inject_packet (pair.a.dev, packet, len));
  g_assert_cmpuint (nb_wg_device_get_counter (pair.a.dev, NB_WG_COUNTER_TX_HANDSHAKE_INITIATIONS),
                    ==, 1);

  /* Not before REKEY_TIMEOUT... */
  advance (4 * G_USEC_PER_SEC);
  nb_wg_device_tick (pair.a.dev);
  g_assert_cmpuint (nb_wg_device_get_counter (pair.a.dev, NB_WG_COUNTER_TX_HANDSHAKE_INITIATIONS),
                    ==, 1);
  /* ...and surely after REKEY_TIMEOUT + the largest jitter. */
  advance (G_USEC_PER_SEC + NB_WG_REKEY_TIMEOUT_JITTER_MAX_USEC);
  nb_wg_device_tick (pair.a.dev);
  g_assert_cmpuint (nb_wg_device_get_counter (pair.a.dev, NB_WG_COUNTER_TX_HANDSHAKE_INITIATIONS),
                    ==, 2);

  /* Keep failing until REKEY_ATTEMPT_TIME has passed. */
  for (guint i = 0; i < 40; i++)
    {
      advance (NB_WG_REKEY_TIMEOUT * G_USEC_PER_SEC + NB_WG_REKEY_TIMEOUT_JITTER_MAX_USEC);
      nb_wg_device_tick (pair.a.dev);
    }
  sent = nb_wg_device_get_counter (pair.a.dev, NB_WG_COUNTER_TX_HANDSHAKE_INITIATIONS);
  g_assert_cmpuint (sent, ==, NB_WG_MAX_TIMER_HANDSHAKES + 2);
  /* The staged packet was dropped when it gave up. */
  g_assert_cmpuint (nb_wg_device_get_counter (pair.a.dev, NB_WG_COUNTER_TX_DROP_STAGED), ==, 1);

  close (fd);
  pair_teardown (&pair);
}

static gboolean
both_got_packets (gpointer data)
{
  Pair *pair = data;

  return b_got_packet (&pair->a) && b_got_packet (&pair->b);
}

/* Both sides start a handshake at the same moment: each answers the other's
 * initiation, and the retransmission (with its jitter) settles it. */
static void
test_simultaneous_initiation (void)
{
  Pair pair = { 0 };
  guint8 pa[200], pb[200];
  gsize la, lb;

  fake_now = (gint64) 30000 * G_USEC_PER_SEC;
  use_fake_clock = TRUE;
  pair_setup (&pair, NULL);
  use_fake_clock = FALSE;
  la = make_ipv4 (pa, "100.64.0.1", "100.64.0.2", 10);
  lb = make_ipv4 (pb, "100.64.0.2", "100.64.0.1", 10);
  g_assert_true (nb_wg_device_inject_packet (pair.a.dev, pa, la));
  g_assert_true (nb_wg_device_inject_packet (pair.b.dev, pb, lb));

  /* Time moves in the device's 100 ms ticks, so that the retransmission
   * jitter (up to 333 ms) can part the two sides' next tries. */
  for (guint i = 0; i < 400 && !both_got_packets (&pair); i++)
    {
      gint64 end = g_get_monotonic_time () + 3000;

      while (g_get_monotonic_time () < end && !both_got_packets (&pair))
        g_usleep (500);
      advance (G_USEC_PER_SEC / 10);
      nb_wg_device_tick (pair.a.dev);
      nb_wg_device_tick (pair.b.dev);
    }
  g_assert_true (wait_for (both_got_packets, &pair));
  pair_teardown (&pair);
}

/* Cryptokey routing with several peers: each destination goes to the peer
 * whose allowed IPs hold it, and only that peer can send from it. */
static void
test_several_peers (void)
{
  Side a = { 0 }, b = { 0 }, c = { 0 };
  g_autoptr(GError) error = NULL;
  NbWgPeer *ab, *ac, *ba, *ca;
  guint8 packet[200];
  gsize len;
  g_autoptr(GInetSocketAddress) ep_a = NULL;
  g_autoptr(GInetSocketAddress) ep_b = NULL;
  g_autoptr(GInetSocketAddress) ep_c = NULL;

  side_init (&a);
  side_init (&b);
  side_init (&c);
  ep_a = loopback (nb_wg_device_get_listen_port (a.dev));
  ep_b = loopback (nb_wg_device_get_listen_port (b.dev));
  ep_c = loopback (nb_wg_device_get_listen_port (c.dev));
  ab = nb_wg_device_add_peer (a.dev, b.key, &error);
  ac = nb_wg_device_add_peer (a.dev, c.key, &error);
  ba = nb_wg_device_add_peer (b.dev, a.key, &error);
  ca = nb_wg_device_add_peer (c.dev, a.key, &error);
  g_assert_no_error (error);
  add_prefix (ab, "100.64.0.2/32");
  add_prefix (ab, "10.2.0.0/16");
  add_prefix (ac, "100.64.0.3/32");
  add_prefix (ac, "10.0.0.0/8");
  add_prefix (ba, "100.64.0.1/32");
  add_prefix (ca, "100.64.0.1/32");
  nb_wg_peer_set_endpoint (ab, ep_b);
  nb_wg_peer_set_endpoint (ac, ep_c);
  nb_wg_peer_set_endpoint (ba, ep_a);
  nb_wg_peer_set_endpoint (ca, ep_a);

  len = make_ipv4 (packet, "100.64.0.1", "10.2.3.4", 30);
  g_assert_true (nb_wg_device_inject_packet (a.dev, packet, len));
  g_assert_true (wait_for (b_got_packet, &b));
  len = make_ipv4 (packet, "100.64.0.1", "10.3.0.1", 30);
  g_assert_true (nb_wg_device_inject_packet (a.dev, packet, len));
  g_assert_true (wait_for (b_got_packet, &c));
  g_assert_cmpuint (b.n_packets, ==, 1);
  g_assert_cmpuint (c.n_packets, ==, 1);
  len = make_ipv4 (packet, "100.64.0.1", "192.0.2.1", 30);
  g_assert_false (nb_wg_device_inject_packet (a.dev, packet, len));

  /* B may not send from C's address. */
  len = make_ipv4 (packet, "100.64.0.3", "100.64.0.1", 30);
  g_assert_true (nb_wg_device_inject_packet (b.dev, packet, len));
  assert_counter_reaches (a.dev, NB_WG_COUNTER_RX_DROP_ALLOWED_IPS, 1);
  g_assert_cmpuint (a.n_packets, ==, 0);

  /* Removing C's peer removes its routes. */
  g_assert_true (nb_wg_device_remove_peer (a.dev, c.key, &error));
  len = make_ipv4 (packet, "100.64.0.1", "10.3.0.1", 30);
  g_assert_false (nb_wg_device_inject_packet (a.dev, packet, len));

  side_clear (&a);
  side_clear (&b);
  side_clear (&c);
}

static void
test_config_errors (void)
{
  g_autoptr(NbWgDevice) dev = nb_wg_device_new (NULL);
  g_autoptr(NbKey) key = nb_key_generate ();
  g_autoptr(NbKey) pub = nb_key_dup_public (key);
  g_autoptr(NbKey) other = nb_key_generate ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) peers = NULL;
  g_autoptr(GPtrArray) ips = NULL;
  g_autoptr(GInetAddressMask) mask = g_inet_address_mask_new_from_string ("10.0.0.0/8", NULL);
  NbWgPeer *peer;

  g_assert_false (nb_wg_device_set_private_key (dev, pub, &error));
  g_assert_error (error, NB_WG_DEVICE_ERROR, NB_WG_DEVICE_ERROR_NO_PRIVATE_KEY);
  g_clear_error (&error);
  g_assert_true (nb_wg_device_set_private_key (dev, key, &error));
  g_assert_null (nb_wg_device_add_peer (dev, pub, &error));
  g_assert_error (error, NB_WG_DEVICE_ERROR, NB_WG_DEVICE_ERROR_INVALID_CONFIG);
  g_clear_error (&error);
  peer = nb_wg_device_add_peer (dev, other, &error);
  g_assert_nonnull (peer);
  g_assert_null (nb_wg_device_add_peer (dev, other, &error));
  g_assert_error (error, NB_WG_DEVICE_ERROR, NB_WG_DEVICE_ERROR_PEER_EXISTS);
  g_clear_error (&error);
  g_assert_false (nb_wg_peer_set_preshared_key (peer, (const guint8 *) "short", 5, &error));
  g_assert_error (error, NB_WG_DEVICE_ERROR, NB_WG_DEVICE_ERROR_INVALID_CONFIG);
  g_clear_error (&error);
  {
    guint8 psk[32], out[32];

    g_assert_false (nb_wg_peer_copy_preshared_key (peer, out));
    memset (psk, 7, sizeof psk);
    g_assert_true (nb_wg_peer_set_preshared_key (peer, psk, sizeof psk, &error));
    g_assert_true (nb_wg_peer_has_preshared_key (peer));
    g_assert_true (nb_wg_peer_copy_preshared_key (peer, out));
    g_assert_cmpmem (out, 32, psk, 32);
    g_assert_true (nb_wg_peer_set_preshared_key (peer, NULL, 0, &error));
    g_assert_false (nb_wg_peer_has_preshared_key (peer));
  }
  g_assert_true (nb_wg_peer_add_allowed_ip (peer, mask, &error));
  ips = nb_wg_peer_list_allowed_ips (peer);
  g_assert_cmpuint (ips->len, ==, 1);
  {
    g_autofree char *text = g_inet_address_mask_to_string (g_ptr_array_index (ips, 0));
    g_assert_cmpstr (text, ==, "10.0.0.0/8");
  }
  peers = nb_wg_device_list_peers (dev);
  g_assert_cmpuint (peers->len, ==, 1);
  g_assert_true (nb_wg_device_remove_peer (dev, other, &error));
  g_assert_false (nb_wg_device_remove_peer (dev, other, &error));
  g_assert_error (error, NB_WG_DEVICE_ERROR, NB_WG_DEVICE_ERROR_NO_SUCH_PEER);
}

/* SO_MARK on both sockets, before and after up (needs CAP_NET_ADMIN). */
static void
test_fwmark (void)
{
  g_autoptr(NbWgDevice) dev = nb_wg_device_new (NULL);
  g_autoptr(GError) error = NULL;
  guint32 mark = 0;
  socklen_t len = sizeof mark;

  if (!nb_wg_device_set_fwmark (dev, 0x51820, &error))
    g_assert_no_error (error);
  if (!nb_wg_device_up (dev, &error))
    {
      if (g_error_matches (error, NB_WG_DEVICE_ERROR, NB_WG_DEVICE_ERROR_SYSTEM))
        {
          g_test_skip ("setting SO_MARK needs CAP_NET_ADMIN");
          return;
        }
      g_assert_no_error (error);
    }
  g_assert_cmpint (getsockopt (dev->fd4, SOL_SOCKET, SO_MARK, &mark, &len), ==, 0);
  g_assert_cmphex (mark, ==, 0x51820);
  g_assert_true (nb_wg_device_set_fwmark (dev, 7, &error));
  g_assert_cmpint (getsockopt (dev->fd4, SOL_SOCKET, SO_MARK, &mark, &len), ==, 0);
  g_assert_cmphex (mark, ==, 7);
  if (dev->fd6 >= 0)
    {
      g_assert_cmpint (getsockopt (dev->fd6, SOL_SOCKET, SO_MARK, &mark, &len), ==, 0);
      g_assert_cmphex (mark, ==, 7);
    }
  g_assert_cmpuint (nb_wg_device_get_fwmark (dev), ==, 7);
}

static void
notify_count_cb (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  (*(guint *) user_data)++;
}

static void
test_properties_notify (void)
{
  g_autoptr(NbWgDevice) dev = nb_wg_device_new (NULL);
  g_autoptr(NbKey) key = nb_key_generate ();
  g_autoptr(GError) error = NULL;
  guint up_notes = 0, keepalive_notes = 0, interval = 0;
  NbWgPeer *peer;

  g_signal_connect (dev, "notify::is-up", G_CALLBACK (notify_count_cb), &up_notes);
  g_assert_true (nb_wg_device_up (dev, &error));
  g_assert_true (nb_wg_device_up (dev, &error));
  g_assert_cmpuint (up_notes, ==, 1);
  nb_wg_device_down (dev);
  g_assert_cmpuint (up_notes, ==, 2);

  peer = nb_wg_device_add_peer (dev, key, &error);
  g_signal_connect (peer, "notify::persistent-keepalive", G_CALLBACK (notify_count_cb),
                    &keepalive_notes);
  g_object_set (peer, "persistent-keepalive", 25, NULL);
  g_object_set (peer, "persistent-keepalive", 25, NULL);
  g_assert_cmpuint (keepalive_notes, ==, 1);
  g_object_get (peer, "persistent-keepalive", &interval, NULL);
  g_assert_cmpuint (interval, ==, 25);
}

static void
test_port_in_use (void)
{
  g_autoptr(NbWgDevice) a = nb_wg_device_new (NULL);
  g_autoptr(NbWgDevice) b = nb_wg_device_new (NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (nb_wg_device_up (a, &error));
  g_assert_true (nb_wg_device_set_listen_port (b, nb_wg_device_get_listen_port (a), &error));
  g_assert_false (nb_wg_device_up (b, &error));
  g_assert_error (error, NB_WG_DEVICE_ERROR, NB_WG_DEVICE_ERROR_ADDRESS_IN_USE);
  g_assert_false (nb_wg_device_is_up (b));
  nb_wg_device_down (a);
  g_assert_false (nb_wg_device_is_up (a));
}

/* Mutations of valid messages of every type go into the receive path; the
 * device survives every one and the tunnel still works after. */
static void
test_mutated_datagrams (void)
{
  Pair pair = { 0 };
  NbWgKeypair *keypair;
  NbWgCookie cookie;
  guint8 seeds[4][200];
  gsize seed_len[4];
  guint8 inner[100];
  guint8 buf[400];
  GRand *rand = g_rand_new_with_seed (42);

  pair_setup (&pair, NULL);
  check_exchange (&pair);
  keypair = nb_wg_peer_get_current_keypair (pair.a.peer);
  make_ipv4 (inner, "100.64.0.1", "100.64.0.2", 20);
  seed_len[0] = seal_data (seeds[0], keypair, 3000, inner, 48);
  nb_wg_cookie_init (&cookie, nb_key_get_public_data (pair.b.key, NULL));
  memset (seeds[1], 0x11, 148);
  seeds[1][0] = 1, seeds[1][1] = seeds[1][2] = seeds[1][3] = 0;
  nb_wg_cookie_add_macs (&cookie, seeds[1], 148, 0);
  seed_len[1] = 148;
  memset (seeds[2], 0x22, 92);
  seeds[2][0] = 2, seeds[2][1] = seeds[2][2] = seeds[2][3] = 0;
  nb_wg_cookie_add_macs (&cookie, seeds[2], 92, 0);
  seed_len[2] = 92;
  memset (seeds[3], 0x33, 64);
  seeds[3][0] = 3, seeds[3][1] = seeds[3][2] = seeds[3][3] = 0;
  seed_len[3] = 64;
  nb_wg_cookie_clear (&cookie);

  for (guint i = 0; i < 4000; i++)
    {
      guint which = g_rand_int_range (rand, 0, 4);
      gsize len = seed_len[which];

      memcpy (buf, seeds[which], len);
      switch (g_rand_int_range (rand, 0, 4))
        {
        case 0: /* bit flips */
          for (guint k = g_rand_int_range (rand, 1, 4); k > 0; k--)
            buf[g_rand_int_range (rand, 0, (gint32) len)] ^= (guint8) (1 << g_rand_int_range (rand, 0, 8));
          break;
        case 1: /* truncation */
          len = g_rand_int_range (rand, 0, (gint32) len);
          break;
        case 2: /* extension */
          for (gsize k = len, end = len + g_rand_int_range (rand, 1, 100); k < end; k++)
            buf[k] = (guint8) g_rand_int (rand);
          len += g_rand_int_range (rand, 1, 100);
          break;
        default: /* a byte of the header or index */
          buf[g_rand_int_range (rand, 0, 16)] = (guint8) g_rand_int (rand);
          break;
        }
      nb_wg_device_receive_from_transport (pair.b.dev, pair.b.peer, buf, len);
    }

  g_assert_cmpuint (nb_wg_device_get_counter (pair.b.dev, NB_WG_COUNTER_RX_DROP_MALFORMED) +
                    nb_wg_device_get_counter (pair.b.dev, NB_WG_COUNTER_RX_DROP_DECRYPT) +
                    nb_wg_device_get_counter (pair.b.dev, NB_WG_COUNTER_RX_DROP_MAC1), >, 1000);
  pair.a.n_packets = pair.b.n_packets = 0;
  check_exchange (&pair);
  nb_wg_keypair_unref (keypair);
  g_rand_free (rand);
  pair_teardown (&pair);
}

static gboolean
ipv6_loopback_works (void)
{
  struct sockaddr_in6 addr = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
  int fd = socket (AF_INET6, SOCK_DGRAM, 0);
  gboolean ok = fd >= 0 && bind (fd, (struct sockaddr *) &addr, sizeof addr) == 0;

  if (fd >= 0)
    close (fd);
  return ok;
}

/* The underlay may be IPv6: the device's second socket carries it. */
static void
test_ipv6_underlay (void)
{
  Pair pair = { 0 };
  g_autoptr(GInetAddress) lo6 = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV6);
  g_autoptr(GSocketAddress) ep_a = NULL;
  g_autoptr(GSocketAddress) ep_b = NULL;
  g_autoptr(GInetSocketAddress) seen = NULL;

  if (!ipv6_loopback_works ())
    {
      g_test_skip ("no IPv6 loopback here");
      return;
    }
  pair_setup (&pair, NULL);
  ep_a = g_inet_socket_address_new (lo6, nb_wg_device_get_listen_port (pair.a.dev));
  ep_b = g_inet_socket_address_new (lo6, nb_wg_device_get_listen_port (pair.b.dev));
  nb_wg_peer_set_endpoint (pair.a.peer, G_INET_SOCKET_ADDRESS (ep_b));
  nb_wg_peer_set_endpoint (pair.b.peer, G_INET_SOCKET_ADDRESS (ep_a));
  check_exchange (&pair);
  seen = nb_wg_peer_dup_endpoint (pair.b.peer);
  g_assert_cmpint (g_inet_address_get_family (g_inet_socket_address_get_address (seen)), ==,
                   G_SOCKET_FAMILY_IPV6);
  pair_teardown (&pair);
}

/* -- the transport seam --------------------------------------------------- */

typedef struct {
  GAsyncQueue *queue; /* of GBytes, tagged with the destination side */
  Pair *pair;
  gboolean stop;
  guint sent;
} Relay;

typedef struct {
  Relay *relay;
  Side *to;
} ChannelEnd;

typedef struct {
  Side *to;
  GBytes *datagram;
} Carried;

static gboolean
channel_send (const guint8 *data, gsize len, gpointer user_data)
{
  ChannelEnd *end = user_data;
  Carried *c = g_new (Carried, 1);

  c->to = end->to;
  c->datagram = g_bytes_new (data, len);
  __atomic_add_fetch (&end->relay->sent, 1, __ATOMIC_SEQ_CST);
  g_async_queue_push (end->relay->queue, c);
  return TRUE;
}

/* Delivers on a thread of its own, as a relay client would from its
 * context: never from inside the sender's packet path. */
static gpointer
relay_thread (gpointer data)
{
  Relay *relay = data;

  while (!__atomic_load_n (&relay->stop, __ATOMIC_SEQ_CST))
    {
      Carried *c = g_async_queue_timeout_pop (relay->queue, 10000);
      gsize len;
      guint8 *copy;
      NbWgPeer *from;

      if (c == NULL)
        continue;
      copy = g_bytes_unref_to_data (c->datagram, &len);
      from = c->to == &relay->pair->a ? relay->pair->a.peer : relay->pair->b.peer;
      nb_wg_device_receive_from_transport (c->to->dev, from, copy, len);
      g_free (copy);
      g_free (c);
    }
  return NULL;
}

static void
test_transport_channel (void)
{
  Pair pair = { 0 };
  Relay relay = { 0 };
  ChannelEnd to_a, to_b;
  GThread *thread;
  guint64 udp_before;

  pair_setup (&pair, NULL);
  /* No endpoints: the only way is the channel. */
  nb_wg_peer_set_endpoint (pair.a.peer, NULL);
  nb_wg_peer_set_endpoint (pair.b.peer, NULL);
  relay.queue = g_async_queue_new ();
  relay.pair = &pair;
  to_a.relay = to_b.relay = &relay;
  to_a.to = &pair.a;
  to_b.to = &pair.b;
  nb_wg_peer_set_transport (pair.a.peer, nb_wg_transport_new_channel (channel_send, &to_b, NULL));
  nb_wg_peer_set_transport (pair.b.peer, nb_wg_transport_new_channel (channel_send, &to_a, NULL));
  thread = g_thread_new ("relay", relay_thread, &relay);
  udp_before = nb_wg_device_get_counter (pair.b.dev, NB_WG_COUNTER_RX_DATAGRAMS);

  check_exchange (&pair);
  g_assert_cmpuint (relay.sent, >=, 4);

  __atomic_store_n (&relay.stop, TRUE, __ATOMIC_SEQ_CST);
  g_thread_join (thread);
  /* Everything that reached B came through the channel. */
  g_assert_cmpuint (nb_wg_device_get_counter (pair.b.dev, NB_WG_COUNTER_RX_DATAGRAMS) - udp_before,
                    <=, relay.sent);
  pair_teardown (&pair);
  g_async_queue_unref (relay.queue);
}

/* A socket handed over (as an ICE pair's would be): the packet threads send
 * through it and poll it for answers. */
static void
test_transport_socket (void)
{
  Pair pair = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetSocketAddress) to_b = NULL;
  g_autoptr(GInetSocketAddress) seen = NULL;
  NbWgTransport *transport;
  int fd;

  pair_setup (&pair, NULL);
  nb_wg_peer_set_endpoint (pair.a.peer, NULL);
  fd = raw_socket ();
  to_b = loopback (nb_wg_device_get_listen_port (pair.b.dev));
  transport = nb_wg_transport_new_socket (fd, to_b, &error);
  g_assert_no_error (error);
  nb_wg_peer_set_transport (pair.a.peer, transport);

  check_exchange (&pair);
  /* B roamed to the transport's socket, and its answers came back in it. */
  seen = nb_wg_peer_dup_endpoint (pair.b.peer);
  g_assert_cmpuint (g_inet_socket_address_get_port (seen), ==, raw_port (fd));

  /* Back to the device's own socket. */
  nb_wg_peer_set_transport (pair.a.peer, NULL);
  pair_teardown (&pair);
}

static void
test_transport_socket_invalid (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetSocketAddress) addr = loopback (1);

  g_assert_null (nb_wg_transport_new_socket (-1, addr, &error));
  g_assert_error (error, NB_WG_DEVICE_ERROR, NB_WG_DEVICE_ERROR_INVALID_CONFIG);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/wg/device/handshake-and-data", test_handshake_and_data);
  g_test_add_func ("/wg/device/handshake-psk", test_handshake_psk);
  g_test_add_func ("/wg/device/malformed-dropped", test_malformed_dropped);
  g_test_add_func ("/wg/device/replayed-and-forged-data", test_replayed_and_forged_data);
  g_test_add_func ("/wg/device/roaming", test_roaming);
  g_test_add_func ("/wg/device/ipv6-underlay", test_ipv6_underlay);
  g_test_add_func ("/wg/device/mutated-datagrams", test_mutated_datagrams);
  g_test_add_func ("/wg/device/under-load-cookies", test_under_load_cookies);
  g_test_add_func ("/wg/device/rekey-after-time", test_rekey_after_time);
  g_test_add_func ("/wg/device/zero-keys-after-reject", test_zero_keys_after_reject);
  g_test_add_func ("/wg/device/retransmit-and-give-up", test_retransmit_and_give_up);
  g_test_add_func ("/wg/device/simultaneous-initiation", test_simultaneous_initiation);
  g_test_add_func ("/wg/device/several-peers", test_several_peers);
  g_test_add_func ("/wg/device/config-errors", test_config_errors);
  g_test_add_func ("/wg/device/transport-channel", test_transport_channel);
  g_test_add_func ("/wg/device/transport-socket", test_transport_socket);
  g_test_add_func ("/wg/device/transport-socket-invalid", test_transport_socket_invalid);
  g_test_add_func ("/wg/device/fwmark", test_fwmark);
  g_test_add_func ("/wg/device/properties-notify", test_properties_notify);
  g_test_add_func ("/wg/device/port-in-use", test_port_in_use);
  return g_test_run ();
}
