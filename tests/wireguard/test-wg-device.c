/* test-wg-device.c: devices over loopback UDP: handshakes, data, timers, configuration
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <errno.h>

#include "wg-test-pair.h"

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
  g_clear_error (&error);

  /* Taking a peer's key as the device's own removes that peer. */
  g_assert_nonnull (nb_wg_device_add_peer (dev, other, &error));
  g_assert_true (nb_wg_device_set_private_key (dev, other, &error));
  g_assert_null (nb_wg_device_lookup_peer (dev, other));
}

/* Whether this process may set SO_MARK: only a user without CAP_NET_ADMIN
 * gets EPERM, which is the one reason test_fwmark() skips. */
static gboolean
may_set_mark (void)
{
  guint32 mark = 1;
  int fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int r, saved;

  g_assert_cmpint (fd, >=, 0);
  r = setsockopt (fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark);
  saved = errno;
  close (fd);
  if (r == 0)
    return TRUE;
  if (saved != EPERM || geteuid () == 0)
    g_error ("SO_MARK as uid %u: %s", (guint) geteuid (), g_strerror (saved));
  return FALSE;
}

/* SO_MARK on both sockets, before and after up (needs CAP_NET_ADMIN). */
static void
test_fwmark (void)
{
  g_autoptr(NbWgDevice) dev = nb_wg_device_new (NULL);
  g_autoptr(GError) error = NULL;
  guint32 mark = 0;
  socklen_t len = sizeof mark;

  if (!may_set_mark ())
    {
      g_test_skip ("setting SO_MARK needs CAP_NET_ADMIN (not root)");
      return;
    }
  g_assert_true (nb_wg_device_set_fwmark (dev, 0x51820, &error));
  g_assert_no_error (error);
  g_assert_true (nb_wg_device_up (dev, &error));
  g_assert_no_error (error);
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

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/wg/device/handshake-and-data", test_handshake_and_data);
  g_test_add_func ("/wg/device/handshake-psk", test_handshake_psk);
  g_test_add_func ("/wg/device/rekey-after-time", test_rekey_after_time);
  g_test_add_func ("/wg/device/zero-keys-after-reject", test_zero_keys_after_reject);
  g_test_add_func ("/wg/device/retransmit-and-give-up", test_retransmit_and_give_up);
  g_test_add_func ("/wg/device/simultaneous-initiation", test_simultaneous_initiation);
  g_test_add_func ("/wg/device/several-peers", test_several_peers);
  g_test_add_func ("/wg/device/config-errors", test_config_errors);
  g_test_add_func ("/wg/device/fwmark", test_fwmark);
  g_test_add_func ("/wg/device/properties-notify", test_properties_notify);
  g_test_add_func ("/wg/device/port-in-use", test_port_in_use);
  return g_test_run ();
}
