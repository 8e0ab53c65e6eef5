/* test-tun.c: a real TUN interface in a fresh network namespace (root)
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * The whole process moves to its own network namespace first, so nothing
 * here touches the host's interfaces, and the kernel removes everything
 * when the process exits, even when a test fails.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>
#include <poll.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "nb-error.h"
#include "nb-tun-private.h"
#include "nb-tun-offload-private.h"

static gboolean in_netns;
static int netns_errno;

static char *
run_ip (const char *args)
{
  g_autofree char *cmd = g_strdup_printf ("ip %s", args);
  g_autoptr(GError) error = NULL;
  char *out = NULL;
  int status = 0;

  g_spawn_command_line_sync (cmd, &out, NULL, &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  return out;
}

/* Without root, unshare() says EPERM and the test cannot run: a skip. As
 * root, or on any other error, a namespace that cannot be made is a failure. */
static gboolean
need_netns (void)
{
  if (in_netns)
    return TRUE;
  if (geteuid () != 0 && netns_errno == EPERM)
    {
      g_test_skip ("needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) for a network namespace");
      return FALSE;
    }
  g_test_fail_printf ("cannot make a network namespace as uid %u: unshare: %s",
                      (guint) geteuid (), g_strerror (netns_errno));
  return FALSE;
}

static void
test_create_and_configure (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbTun) tun = NULL;
  g_autoptr(GInetAddressMask) host4 = g_inet_address_mask_new_from_string ("100.64.0.1/32", NULL);
  g_autoptr(GInetAddress) host6 = g_inet_address_new_from_string ("fd00:100::1");
  g_autoptr(GInetAddressMask) route4 = g_inet_address_mask_new_from_string ("100.64.0.0/10", NULL);
  g_autoptr(GInetAddressMask) route6 = g_inet_address_mask_new_from_string ("fd00:200::/64", NULL);
  g_autofree char *link = NULL;
  g_autofree char *addr = NULL;
  g_autofree char *routes = NULL;
  g_autofree char *routes6 = NULL;

  if (!need_netns ())
    return;

  tun = nb_tun_new ("nbtest0", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (nb_tun_get_name (tun), ==, "nbtest0");
  g_assert_cmpuint (nb_tun_get_ifindex (tun), >, 0);
  g_assert_cmpuint (nb_tun_get_mtu (tun), ==, NB_TUN_DEFAULT_MTU);
  g_assert_cmpuint (nb_tun_get_n_queues (tun), >=, 1);
  g_assert_true (nb_tun_has_vnet_hdr (tun));

  g_assert_true (nb_tun_set_mtu (tun, 1380, &error));
  g_assert_no_error (error);
  g_assert_true (nb_tun_set_up (tun, TRUE, &error));
  g_assert_no_error (error);
  g_assert_true (nb_tun_add_address (tun, host4, &error));
  g_assert_no_error (error);
  g_assert_true (nb_tun_add_address_full (tun, host6, 64, &error));
  g_assert_no_error (error);
  g_assert_true (nb_tun_add_route (tun, route4, &error));
  g_assert_no_error (error);
  g_assert_true (nb_tun_add_route (tun, route6, &error));
  g_assert_no_error (error);

  link = run_ip ("link show dev nbtest0");
  g_assert_nonnull (strstr (link, "mtu 1380"));
  g_assert_nonnull (strstr (link, ",UP"));
  g_assert_cmpuint (nb_tun_get_mtu (tun), ==, 1380);

  addr = run_ip ("address show dev nbtest0");
  g_assert_nonnull (strstr (addr, "inet 100.64.0.1/32"));
  g_assert_nonnull (strstr (addr, "inet6 fd00:100::1/64"));

  routes = run_ip ("route show dev nbtest0");
  g_assert_nonnull (strstr (routes, "100.64.0.0/10"));
  routes6 = run_ip ("-6 route show dev nbtest0");
  g_assert_nonnull (strstr (routes6, "fd00:200::/64"));

  /* The same route again is refused, with a message that says what. */
  g_assert_false (nb_tun_add_route (tun, route4, &error));
  g_assert_error (error, NB_ERROR, NB_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "100.64.0.0/10"));
  g_clear_error (&error);

  g_assert_true (nb_tun_remove_route (tun, route4, &error));
  g_assert_no_error (error);
  g_free (routes);
  routes = run_ip ("route show dev nbtest0");
  g_assert_null (strstr (routes, "100.64.0.0/10"));

  g_assert_true (nb_tun_set_up (tun, FALSE, &error));
  g_assert_no_error (error);
  g_free (link);
  link = run_ip ("link show dev nbtest0");
  g_assert_null (strstr (link, ",UP"));

  g_assert_false (nb_tun_set_mtu (tun, 100, &error));
  g_assert_error (error, NB_ERROR, NB_ERROR_INVALID_ARGUMENT);
}

static void
test_gone_when_finalized (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  NbTun *tun;
  int status = 0;

  if (!need_netns ())
    return;

  tun = nb_tun_new ("nbtest1", &error);
  g_assert_no_error (error);
  g_object_unref (tun);
  g_spawn_command_line_sync ("ip link show dev nbtest1", &out, &err, &status, &error);
  g_assert_no_error (error);
  g_assert_false (g_spawn_check_wait_status (status, NULL));
}

static void
on_removed (NbTun    *tun,
            gboolean *flag)
{
  *flag = TRUE;
}

static void
on_mtu (GObject    *object,
        GParamSpec *pspec,
        gboolean   *flag)
{
  *flag = TRUE;
}

static gboolean
wait_for (gboolean *flag)
{
  gint64 deadline = g_get_monotonic_time () + 3 * G_USEC_PER_SEC;

  while (!*flag && g_get_monotonic_time () < deadline)
    {
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (10000);
    }
  return *flag;
}

/* Link events reach the object: an MTU set behind its back, and the
 * interface deleted by someone else. */
static void
test_link_events (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbTun) tun = NULL;
  g_autofree char *out = NULL;
  gboolean removed = FALSE, mtu_changed = FALSE;

  if (!need_netns ())
    return;

  tun = nb_tun_new ("nbtest4", &error);
  g_assert_no_error (error);
  g_signal_connect (tun, "removed", G_CALLBACK (on_removed), &removed);
  g_signal_connect (tun, "notify::mtu", G_CALLBACK (on_mtu), &mtu_changed);

  out = run_ip ("link set dev nbtest4 mtu 1300");
  g_assert_true (wait_for (&mtu_changed));
  g_assert_false (removed);
  g_assert_cmpuint (nb_tun_get_mtu (tun), ==, 1300);

  g_free (out);
  out = run_ip ("link del dev nbtest4");
  g_assert_true (wait_for (&removed));
}

static void
test_bad_name_rejected (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbTun) tun = nb_tun_new ("a-name-far-too-long-for-linux", &error);

  g_assert_null (tun);
  g_assert_error (error, NB_ERROR, NB_ERROR_INVALID_ARGUMENT);
}

static void
test_needs_cap_net_admin (void)
{
  if (getuid () != 0)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(NbTun) tun = nb_tun_new ("nbtest2", &error);

      g_assert_null (tun);
      g_assert_error (error, NB_ERROR, NB_ERROR_PERMISSION_DENIED);
      g_assert_nonnull (strstr (error->message, "CAP_NET_ADMIN"));
      return;
    }

  /* As root: drop to nobody in a child and try there. */
  if (g_test_subprocess ())
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(NbTun) tun = NULL;

      g_assert_cmpint (setgid (65534), ==, 0);
      g_assert_cmpint (setuid (65534), ==, 0);
      tun = nb_tun_new ("nbtest2", &error);
      g_assert_null (tun);
      g_assert_error (error, NB_ERROR, NB_ERROR_PERMISSION_DENIED);
      g_assert_nonnull (strstr (error->message, "Creating TUN device nbtest2 needs CAP_NET_ADMIN"));
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

static guint16
be16 (const guint8 *p)
{
  return (guint16) ((p[0] << 8) | p[1]);
}

/* A datagram sent to an address routed into the TUN comes out of one of its
 * queues as an IP packet with a complete checksum, and a packet written to
 * the TUN is delivered to a local socket. */
static void
test_read_and_write_packets (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbTun) tun = NULL;
  g_autoptr(GInetAddressMask) host = g_inet_address_mask_new_from_string ("100.64.0.1/32", NULL);
  g_autoptr(GInetAddressMask) net = g_inet_address_mask_new_from_string ("100.64.0.0/10", NULL);
  g_autofree guint8 *scratch = g_malloc (65536 + NB_TUN_VNET_HDR_LEN);
  guint8 storage[4][2048];
  guint8 *out[4] = { storage[0], storage[1], storage[2], storage[3] };
  gsize out_len[4] = { 0 };
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons (4000) };
  struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons (4001) };
  struct pollfd pfd[2];
  guint8 *ip = NULL;
  guint8 got[64];
  int sock, n = 0;
  guint queue;

  if (!need_netns ())
    return;

  tun = nb_tun_new ("nbtest3", &error);
  g_assert_no_error (error);
  g_assert_true (nb_tun_set_up (tun, TRUE, &error));
  g_assert_true (nb_tun_add_address (tun, host, &error));
  g_assert_true (nb_tun_add_route (tun, net, &error));
  g_assert_no_error (error);

  sock = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (sock, >=, 0);
  me.sin_addr.s_addr = htonl (0x64400001);     /* 100.64.0.1 */
  g_assert_cmpint (bind (sock, (struct sockaddr *) &me, sizeof me), ==, 0);
  to.sin_addr.s_addr = htonl (0x64400002);     /* 100.64.0.2, through the TUN */
  g_assert_cmpint (sendto (sock, "hello tun", 9, 0, (struct sockaddr *) &to, sizeof to), ==, 9);

  /* IPv6 router solicitations may come first: read until ours. */
  for (int tries = 0; tries < 10 && ip == NULL; tries++)
    {
      for (queue = 0; queue < nb_tun_get_n_queues (tun); queue++)
        {
          pfd[queue].fd = nb_tun_get_queue_fd (tun, queue);
          pfd[queue].events = POLLIN;
        }
      g_assert_cmpint (poll (pfd, nb_tun_get_n_queues (tun), 2000), >, 0);
      for (queue = 0; queue < nb_tun_get_n_queues (tun); queue++)
        if (pfd[queue].revents & POLLIN)
          break;
      n = nb_tun_read_packets (tun, queue, scratch, 65536 + NB_TUN_VNET_HDR_LEN,
                               out, out_len, 4, 16, 16, 2048);
      g_assert_cmpint (n, >=, 0);
      if (n == 1 && out[0][16] >> 4 == 4)
        ip = out[0] + 16;
    }
  if (ip == NULL)
    g_error ("no UDP packet came out of the TUN");
  g_assert_cmpuint (ip[9], ==, IPPROTO_UDP);
  g_assert_cmpuint (out_len[0], ==, 20 + 8 + 9);
  g_assert_cmpmem (ip + 28, 9, "hello tun", 9);
  {
    /* Complete checksums: IP header and UDP with the pseudo header. */
    guint64 sum = nb_csum_partial (ip, 20, 0);

    g_assert_cmpuint (nb_csum_fold (sum), ==, 0xffff);
    sum = nb_csum_pseudo (ip, IPPROTO_UDP, 17);
    sum = nb_csum_partial (ip + 20, 17, sum);
    g_assert_cmpuint (nb_csum_fold (sum), ==, 0xffff);
  }

  /* Answer it: swap addresses and ports, write it back. */
  {
    guint8 tmp[4];
    guint8 *pkts[1] = { ip };
    gsize lens[1] = { out_len[0] };

    memcpy (tmp, ip + 12, 4);
    memcpy (ip + 12, ip + 16, 4);
    memcpy (ip + 16, tmp, 4);
    memcpy (tmp, ip + 20, 2);
    memcpy (ip + 20, ip + 22, 2);
    memcpy (ip + 22, tmp, 2);
    g_assert_cmpint (be16 (ip + 22), ==, 4001);
    g_assert_cmpint (nb_tun_write_packets (tun, 0, pkts, lens, 1), ==, 1);
  }
  pfd[0].fd = sock;
  pfd[0].events = POLLIN;
  g_assert_cmpint (poll (pfd, 1, 2000), ==, 1);
  g_assert_cmpint (recv (sock, got, sizeof got, 0), ==, 9);
  g_assert_cmpmem (got, 9, "hello tun", 9);
  close (sock);
}

/* Reads the TUN's queues until a UDP packet of IPv4 comes, skipping the
 * kernel's own IPv6 traffic; returns the number of packets of that frame. */
static int
read_udp_frame (NbTun *tun, guint8 *scratch, guint8 **out, gsize *out_len, guint max_out)
{
  struct pollfd pfd[16];
  guint n_queues = nb_tun_get_n_queues (tun), queue;

  g_assert_cmpuint (n_queues, <=, G_N_ELEMENTS (pfd));

  for (int tries = 0; tries < 10; tries++)
    {
      int n;

      for (queue = 0; queue < n_queues; queue++)
        {
          pfd[queue].fd = nb_tun_get_queue_fd (tun, queue);
          pfd[queue].events = POLLIN;
        }
      g_assert_cmpint (poll (pfd, n_queues, 2000), >, 0);
      for (queue = 0; queue < n_queues; queue++)
        if (pfd[queue].revents & POLLIN)
          break;
      n = nb_tun_read_packets (tun, queue, scratch, 65536 + NB_TUN_VNET_HDR_LEN,
                               out, out_len, max_out, 16, 16, 2048);
      g_assert_cmpint (n, >=, 0);
      if (n >= 1 && out[0][16] >> 4 == 4 && out[0][16 + 9] == IPPROTO_UDP)
        return n;
    }
  g_error ("no UDP packet came out of the TUN");
}

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

/* One UDP_SEGMENT send of four datagrams reaches the TUN as one USO frame
 * (Linux 6.2 on), is cut into the four, and is counted once; a plain
 * datagram is not counted. */
static void
test_uso_frame_counted (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbTun) tun = NULL;
  g_autoptr(GInetAddressMask) host = g_inet_address_mask_new_from_string ("100.64.0.1/32", NULL);
  g_autoptr(GInetAddressMask) net = g_inet_address_mask_new_from_string ("100.64.0.0/10", NULL);
  g_autofree guint8 *scratch = g_malloc (65536 + NB_TUN_VNET_HDR_LEN);
  guint8 storage[8][2048];
  guint8 *out[8];
  gsize out_len[8] = { 0 };
  guint8 payload[4 * 500];
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons (4000) };
  int sock, seg = 500, n;

  if (!need_netns ())
    return;
  for (guint i = 0; i < G_N_ELEMENTS (out); i++)
    out[i] = storage[i];
  for (guint i = 0; i < sizeof payload; i++)
    payload[i] = (guint8) (i / 500 + i);

  tun = nb_tun_new ("nbtest4", &error);
  g_assert_no_error (error);
  g_assert_true (nb_tun_set_up (tun, TRUE, &error));
  g_assert_true (nb_tun_add_address (tun, host, &error));
  g_assert_true (nb_tun_add_route (tun, net, &error));
  g_assert_no_error (error);

  sock = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (sock, >=, 0);
  to.sin_addr.s_addr = htonl (0x64400002);     /* 100.64.0.2, through the TUN */
  g_assert_cmpint (sendto (sock, payload, 100, 0, (struct sockaddr *) &to, sizeof to), ==, 100);
  g_assert_cmpint (read_udp_frame (tun, scratch, out, out_len, 8), ==, 1);
  g_assert_cmpuint (nb_tun_get_counter (tun, NB_TUN_COUNTER_RX_USO_FRAMES), ==, 0);

  g_assert_cmpint (setsockopt (sock, IPPROTO_UDP, UDP_SEGMENT, &seg, sizeof seg), ==, 0);
  g_assert_cmpint (sendto (sock, payload, sizeof payload, 0, (struct sockaddr *) &to, sizeof to),
                   ==, sizeof payload);
  n = read_udp_frame (tun, scratch, out, out_len, 8);
  if (nb_tun_has_uso (tun))
    {
      g_assert_cmpint (n, ==, 4);
      g_assert_cmpuint (nb_tun_get_counter (tun, NB_TUN_COUNTER_RX_USO_FRAMES), ==, 1);
      for (int i = 0; i < n; i++)
        {
          g_assert_cmpuint (out_len[i], ==, 20 + 8 + 500);
          g_assert_cmpmem (out[i] + 16 + 28, 500, payload + 500 * i, 500);
        }
    }
  else
    {
      /* The kernel cut it before the TUN: nothing of ours to count. */
      g_test_message ("this kernel gives the TUN no USO frames");
      g_assert_cmpint (n, ==, 1);
      g_assert_cmpuint (nb_tun_get_counter (tun, NB_TUN_COUNTER_RX_USO_FRAMES), ==, 0);
    }
  g_assert_cmpuint (nb_tun_get_counter (tun, NB_TUN_COUNTER_RX_TSO_FRAMES), ==, 0);
  close (sock);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  /* Every process of the test (g_test_trap_subprocess() children too)
   * moves to a namespace of its own. */
  if (unshare (CLONE_NEWNET) == 0)
    in_netns = TRUE;
  else
    netns_errno = errno;

  g_test_add_func ("/netif/tun/create-and-configure", test_create_and_configure);
  g_test_add_func ("/netif/tun/gone-when-finalized", test_gone_when_finalized);
  g_test_add_func ("/netif/tun/link-events", test_link_events);
  g_test_add_func ("/netif/tun/bad-name-rejected", test_bad_name_rejected);
  g_test_add_func ("/netif/tun/needs-cap-net-admin", test_needs_cap_net_admin);
  g_test_add_func ("/netif/tun/read-and-write-packets", test_read_and_write_packets);
  g_test_add_func ("/netif/tun/uso-frame-counted", test_uso_frame_counted);

  return g_test_run ();
}
