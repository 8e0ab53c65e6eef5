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
  g_test_add_func ("/wg/transport/socket", test_transport_socket);
  g_test_add_func ("/wg/transport/socket-invalid", test_transport_socket_invalid);
  return g_test_run ();
}
