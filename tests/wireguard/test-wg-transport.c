/* test-wg-transport.c: other underlays: IPv6, channels and handed-over sockets
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include "wg-test-pair.h"

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

/* -- a hub with two peers on channels --------------------------------------- */

/* One direction of a channel: what its sender sent, in order, handed over
 * by the test itself, so each datagram can be delivered on the channel of
 * the test's choosing. */
typedef struct {
  GMutex lock;
  GQueue datagrams; /* of GBytes */
} Wire;

static gboolean
wire_send (const guint8 *data, gsize len, gpointer user_data)
{
  Wire *wire = user_data;

  g_mutex_lock (&wire->lock);
  g_queue_push_tail (&wire->datagrams, g_bytes_new (data, len));
  g_mutex_unlock (&wire->lock);
  return TRUE;
}

static GBytes *
wire_take (Wire *wire)
{
  GBytes *datagram;

  g_mutex_lock (&wire->lock);
  datagram = g_queue_pop_head (&wire->datagrams);
  g_mutex_unlock (&wire->lock);
  g_assert_nonnull (datagram);
  return datagram;
}

static guint
wire_pending (Wire *wire)
{
  guint n;

  g_mutex_lock (&wire->lock);
  n = g_queue_get_length (&wire->datagrams);
  g_mutex_unlock (&wire->lock);
  return n;
}

static void
wire_clear (Wire *wire)
{
  g_queue_clear_full (&wire->datagrams, (GDestroyNotify) g_bytes_unref);
  g_mutex_clear (&wire->lock);
}

/* Hands a copy of @datagram to @dev as if @via's channel carried it. */
static void
deliver (GBytes *datagram, NbWgDevice *dev, NbWgPeer *via)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (datagram, &len);
  g_autofree guint8 *copy = g_memdup2 (data, len);

  nb_wg_device_receive_from_transport (dev, via, copy, len);
}

/* The hub's packets, with the peer each was attributed to. */
typedef struct {
  GMutex lock;
  NbWgPeer *last_peer;
  guint n;
} HubInbox;

static void
hub_packet (NbWgDevice *device, NbWgPeer *peer, const guint8 *packet, gsize len, gpointer data)
{
  HubInbox *inbox = data;

  g_mutex_lock (&inbox->lock);
  inbox->last_peer = peer;
  inbox->n++;
  g_mutex_unlock (&inbox->lock);
}

typedef struct {
  Side hub;
  Side spoke[2];
  NbWgPeer *at_hub[2];   /* spoke i as the hub knows it */
  Wire to_hub[2];        /* spoke i's channel to the hub */
  Wire to_spoke[2];      /* the hub's channel to spoke i */
  HubInbox inbox;
} Star;

static guint64
hub_counter (Star *star, NbWgCounter counter)
{
  return nb_wg_device_get_counter (star->hub.dev, counter);
}

static void
star_setup (Star *star)
{
  g_autoptr(GError) error = NULL;

  side_init (&star->hub);
  g_mutex_init (&star->inbox.lock);
  nb_wg_device_set_packet_func (star->hub.dev, hub_packet, &star->inbox);
  for (guint i = 0; i < 2; i++)
    {
      char prefix[32];

      side_init (&star->spoke[i]);
      g_mutex_init (&star->to_hub[i].lock);
      g_mutex_init (&star->to_spoke[i].lock);
      star->spoke[i].peer = nb_wg_device_add_peer (star->spoke[i].dev, star->hub.key, &error);
      g_assert_no_error (error);
      add_prefix (star->spoke[i].peer, "100.64.0.100/32");
      star->at_hub[i] = nb_wg_device_add_peer (star->hub.dev, star->spoke[i].key, &error);
      g_assert_no_error (error);
      g_snprintf (prefix, sizeof prefix, "100.64.0.%u/32", i + 1);
      add_prefix (star->at_hub[i], prefix);
      /* No endpoints: channels only. */
      nb_wg_peer_set_transport (star->spoke[i].peer,
                                nb_wg_transport_new_channel (wire_send, &star->to_hub[i], NULL));
      nb_wg_peer_set_transport (star->at_hub[i],
                                nb_wg_transport_new_channel (wire_send, &star->to_spoke[i], NULL));
    }
}

static void
star_teardown (Star *star)
{
  side_clear (&star->hub);
  for (guint i = 0; i < 2; i++)
    {
      side_clear (&star->spoke[i]);
      wire_clear (&star->to_hub[i]);
      wire_clear (&star->to_spoke[i]);
    }
  g_mutex_clear (&star->inbox.lock);
}

/* Spoke @i sends one IPv4 packet to the hub; returns its datagram. */
static GBytes *
spoke_data (Star *star, guint i)
{
  guint8 packet[128];
  char src[32];
  gsize len;

  g_snprintf (src, sizeof src, "100.64.0.%u", i + 1);
  len = make_ipv4 (packet, src, "100.64.0.100", 40);
  g_assert_true (nb_wg_device_inject_packet (star->spoke[i].dev, packet, len));
  return wire_take (&star->to_hub[i]);
}

/* Spoke @i's handshake with the hub over their channels, the initiation
 * first shown to the hub on the other spoke's channel. */
static void
star_handshake (Star *star, guint i)
{
  guint other = 1 - i;
  g_autoptr(GBytes) initiation = NULL;
  g_autoptr(GBytes) response = NULL;
  g_autoptr(GBytes) keepalive = NULL;
  guint64 wrong = hub_counter (star, NB_WG_COUNTER_RX_DROP_WRONG_PEER);
  guint64 taken = hub_counter (star, NB_WG_COUNTER_RX_HANDSHAKE_INITIATIONS);

  nb_wg_peer_initiate_handshake (star->spoke[i].peer);
  initiation = wire_take (&star->to_hub[i]);

  /* On the wrong channel: refused before it touches spoke i's handshake,
   * and nothing answers. */
  deliver (initiation, star->hub.dev, star->at_hub[other]);
  g_assert_cmpuint (hub_counter (star, NB_WG_COUNTER_RX_DROP_WRONG_PEER), ==, wrong + 1);
  g_assert_cmpuint (hub_counter (star, NB_WG_COUNTER_RX_HANDSHAKE_INITIATIONS), ==, taken);
  g_assert_cmpuint (wire_pending (&star->to_spoke[0]) + wire_pending (&star->to_spoke[1]), ==, 0);

  /* The same message on its own channel is not a replay: the refused copy
   * left the timestamp alone. */
  deliver (initiation, star->hub.dev, star->at_hub[i]);
  g_assert_cmpuint (hub_counter (star, NB_WG_COUNTER_RX_HANDSHAKE_INITIATIONS), ==, taken + 1);
  response = wire_take (&star->to_spoke[i]);
  deliver (response, star->spoke[i].dev, star->spoke[i].peer);
  keepalive = wire_take (&star->to_hub[i]);
  deliver (keepalive, star->hub.dev, star->at_hub[i]);
  g_assert_cmpint (nb_wg_peer_get_last_handshake_time (star->spoke[i].peer), !=, 0);
  g_assert_cmpint (nb_wg_peer_get_last_handshake_time (star->at_hub[i]), !=, 0);
}

/* A datagram that came through a peer's channel is that peer's: one that
 * authenticates as another peer's is dropped and counted before it is
 * decrypted, so the other peer's replay window, handshake and timers stay
 * as they were; on its own channel it is then taken in. */
static void
test_channel_attributes_to_peer (void)
{
  Star star = { 0 };
  g_autoptr(GBytes) from_0 = NULL;
  g_autoptr(GBytes) from_1 = NULL;
  guint64 data_before, decrypt_before;
  guint64 rx_before;

  star_setup (&star);
  star_handshake (&star, 0);
  star_handshake (&star, 1);

  /* Spoke 0's packet on spoke 0's channel: taken, and spoke 0's. */
  data_before = hub_counter (&star, NB_WG_COUNTER_RX_DATA_PACKETS);
  from_0 = spoke_data (&star, 0);
  deliver (from_0, star.hub.dev, star.at_hub[0]);
  g_assert_cmpuint (hub_counter (&star, NB_WG_COUNTER_RX_DATA_PACKETS), ==, data_before + 1);
  g_assert_true (star.inbox.last_peer == star.at_hub[0]);

  /* Spoke 1's packet on spoke 0's channel: dropped and counted, without a
   * decryption, and neither spoke's byte count moves. */
  from_1 = spoke_data (&star, 1);
  decrypt_before = hub_counter (&star, NB_WG_COUNTER_RX_DROP_DECRYPT);
  rx_before = nb_wg_peer_get_rx_bytes (star.at_hub[1]);
  deliver (from_1, star.hub.dev, star.at_hub[0]);
  g_assert_cmpuint (hub_counter (&star, NB_WG_COUNTER_RX_DROP_WRONG_PEER), ==, 3);
  g_assert_cmpuint (hub_counter (&star, NB_WG_COUNTER_RX_DATA_PACKETS), ==, data_before + 1);
  g_assert_cmpuint (hub_counter (&star, NB_WG_COUNTER_RX_DROP_DECRYPT), ==, decrypt_before);
  g_assert_cmpuint (hub_counter (&star, NB_WG_COUNTER_RX_DROP_REPLAY), ==, 0);
  g_assert_cmpuint (nb_wg_peer_get_rx_bytes (star.at_hub[1]), ==, rx_before);
  g_assert_cmpuint (star.inbox.n, ==, 1);

  /* The same datagram on its own channel: its counter was not spent. */
  deliver (from_1, star.hub.dev, star.at_hub[1]);
  g_assert_cmpuint (hub_counter (&star, NB_WG_COUNTER_RX_DATA_PACKETS), ==, data_before + 2);
  g_assert_cmpuint (hub_counter (&star, NB_WG_COUNTER_RX_DROP_REPLAY), ==, 0);
  g_assert_true (star.inbox.last_peer == star.at_hub[1]);
  g_assert_cmpuint (nb_wg_peer_get_rx_bytes (star.at_hub[1]), >, rx_before);

  star_teardown (&star);
}

/* A response is the peer's whose initiation it answers: on another peer's
 * channel it is dropped, and the initiation still waits for it. */
static void
test_channel_response_attributed (void)
{
  Star star = { 0 };
  g_autoptr(GBytes) initiation = NULL;
  g_autoptr(GBytes) response = NULL;
  guint64 responses;

  star_setup (&star);
  /* The hub initiates to spoke 0. */
  nb_wg_peer_initiate_handshake (star.at_hub[0]);
  initiation = wire_take (&star.to_spoke[0]);
  deliver (initiation, star.spoke[0].dev, star.spoke[0].peer);
  response = wire_take (&star.to_hub[0]);

  responses = hub_counter (&star, NB_WG_COUNTER_RX_HANDSHAKE_RESPONSES);
  deliver (response, star.hub.dev, star.at_hub[1]);
  g_assert_cmpuint (hub_counter (&star, NB_WG_COUNTER_RX_DROP_WRONG_PEER), ==, 1);
  g_assert_cmpuint (hub_counter (&star, NB_WG_COUNTER_RX_HANDSHAKE_RESPONSES), ==, responses);
  g_assert_cmpint (nb_wg_peer_get_last_handshake_time (star.at_hub[0]), ==, 0);

  deliver (response, star.hub.dev, star.at_hub[0]);
  g_assert_cmpuint (hub_counter (&star, NB_WG_COUNTER_RX_HANDSHAKE_RESPONSES), ==, responses + 1);
  g_assert_cmpint (nb_wg_peer_get_last_handshake_time (star.at_hub[0]), !=, 0);
  star_teardown (&star);
}

/* A channel still delivering for a peer that left the device: dropped. */
static void
test_channel_peer_removed (void)
{
  Star star = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) from_0 = NULL;
  g_autoptr(NbWgPeer) gone = NULL;
  guint64 data_before;

  star_setup (&star);
  star_handshake (&star, 0);
  from_0 = spoke_data (&star, 0);
  gone = g_object_ref (star.at_hub[0]);
  g_assert_true (nb_wg_device_remove_peer (star.hub.dev, star.spoke[0].key, &error));
  g_assert_no_error (error);
  data_before = hub_counter (&star, NB_WG_COUNTER_RX_DATA_PACKETS);
  deliver (from_0, star.hub.dev, gone);
  g_assert_cmpuint (hub_counter (&star, NB_WG_COUNTER_RX_DROP_WRONG_PEER), ==, 2);
  g_assert_cmpuint (hub_counter (&star, NB_WG_COUNTER_RX_DATA_PACKETS), ==, data_before);
  star_teardown (&star);
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
  g_test_add_func ("/wg/transport/ipv6-underlay", test_ipv6_underlay);
  g_test_add_func ("/wg/transport/channel", test_transport_channel);
  g_test_add_func ("/wg/transport/channel-attributes-to-peer", test_channel_attributes_to_peer);
  g_test_add_func ("/wg/transport/channel-response-attributed", test_channel_response_attributed);
  g_test_add_func ("/wg/transport/channel-peer-removed", test_channel_peer_removed);
  g_test_add_func ("/wg/transport/socket", test_transport_socket);
  g_test_add_func ("/wg/transport/socket-invalid", test_transport_socket_invalid);
  return g_test_run ();
}
