/* test-wg-hostile.c: malformed, forged, replayed and flooding input to a device
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include "wg-test-pair.h"

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
  initiations_before =
      nb_wg_device_get_counter (pair.b.dev, NB_WG_COUNTER_RX_HANDSHAKE_INITIATIONS);
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
            buf[g_rand_int_range (rand, 0, (gint32) len)] ^=
                (guint8) (1 << g_rand_int_range (rand, 0, 8));
          break;
        case 1: /* truncation */
          len = g_rand_int_range (rand, 0, (gint32) len);
          break;
        case 2: /* extension: random bytes after the seed, all of them sent */
          {
            gsize extra = (gsize) g_rand_int_range (rand, 1, 100);

            for (gsize k = len; k < len + extra; k++)
              buf[k] = (guint8) g_rand_int (rand);
            len += extra;
          }
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

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/wg/hostile/malformed-dropped", test_malformed_dropped);
  g_test_add_func ("/wg/hostile/replayed-and-forged-data", test_replayed_and_forged_data);
  g_test_add_func ("/wg/hostile/roaming", test_roaming);
  g_test_add_func ("/wg/hostile/mutated-datagrams", test_mutated_datagrams);
  g_test_add_func ("/wg/hostile/under-load-cookies", test_under_load_cookies);
  return g_test_run ();
}
