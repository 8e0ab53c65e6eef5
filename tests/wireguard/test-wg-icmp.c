/* test-wg-icmp.c: the destination-unreachable errors of the device
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <string.h>

#include "nb-tun-offload-private.h"
#include "nb-wg-icmp.h"

static const guint8 local4[4] = { 100, 64, 0, 1 };
static const guint8 remote4[4] = { 100, 64, 0, 99 };
static const guint8 local6[16] = { 0xfd, 0x00, [15] = 1 };
static const guint8 remote6[16] = { 0xfd, 0x00, [15] = 0x99 };

/* An IPv4 packet of @len bytes from local4 to remote4. */
static void
make_ipv4 (guint8 *p, gsize len, guint8 protocol, guint8 icmp_type)
{
  memset (p, 0xab, len);
  p[0] = 0x45;
  p[1] = 0;
  p[2] = len >> 8;
  p[3] = len & 0xff;
  p[6] = p[7] = 0;
  p[8] = 64;
  p[9] = protocol;
  memcpy (p + 12, local4, 4);
  memcpy (p + 16, remote4, 4);
  if (protocol == 1)
    p[20] = icmp_type;
}

static void
make_ipv6 (guint8 *p, gsize len, guint8 next, guint8 icmp_type)
{
  memset (p, 0xcd, len);
  p[0] = 0x60;
  p[1] = p[2] = p[3] = 0;
  p[4] = (len - 40) >> 8;
  p[5] = (len - 40) & 0xff;
  p[6] = next;
  p[7] = 64;
  memcpy (p + 8, local6, 16);
  memcpy (p + 24, remote6, 16);
  if (next == 58)
    p[40] = icmp_type;
}

static gboolean
checksum_ok (const guint8 *data, gsize len, guint64 seed)
{
  return nb_csum_fold (nb_csum_partial (data, len, seed)) == 0xffff;
}

static void
test_ipv4_echo (void)
{
  guint8 packet[84], error[NB_WG_ICMP_ERROR_MAX];
  gsize n;

  make_ipv4 (packet, sizeof packet, 1, 8);
  n = nb_wg_icmp_build_unreachable (packet, sizeof packet, error);
  g_assert_cmpuint (n, ==, 20 + 8 + sizeof packet);
  g_assert_cmpuint (error[0], ==, 0x45);
  g_assert_cmpuint ((error[2] << 8) | error[3], ==, n);
  g_assert_cmpuint (error[9], ==, 1);
  g_assert_cmpmem (error + 12, 4, remote4, 4);     /* from the unreachable host */
  g_assert_cmpmem (error + 16, 4, local4, 4);
  g_assert_true (checksum_ok (error, 20, 0));
  g_assert_cmpuint (error[20], ==, 3);             /* destination unreachable */
  g_assert_cmpuint (error[21], ==, 1);             /* host unreachable */
  g_assert_true (checksum_ok (error + 20, n - 20, 0));
  g_assert_cmpmem (error + 28, n - 28, packet, sizeof packet);
}

/* RFC 1812: 576 bytes at most, the original cut to fit; a TCP or UDP
 * packet gets an error as well. */
static void
test_ipv4_quote_limit (void)
{
  guint8 packet[1400], error[NB_WG_ICMP_ERROR_MAX];
  gsize n;

  make_ipv4 (packet, sizeof packet, 6, 0);
  n = nb_wg_icmp_build_unreachable (packet, sizeof packet, error);
  g_assert_cmpuint (n, ==, 576);
  g_assert_true (checksum_ok (error + 20, n - 20, 0));
  g_assert_cmpmem (error + 28, n - 28, packet, n - 28);

  /* Bytes past the IP total length are not the packet's. */
  make_ipv4 (packet, 60, 17, 0);
  n = nb_wg_icmp_build_unreachable (packet, 100, error);
  g_assert_cmpuint (n, ==, 28 + 60);
}

static void
test_ipv4_no_error (void)
{
  guint8 packet[84], error[NB_WG_ICMP_ERROR_MAX];

  make_ipv4 (packet, sizeof packet, 1, 3);         /* an ICMP error */
  g_assert_cmpuint (nb_wg_icmp_build_unreachable (packet, sizeof packet, error), ==, 0);
  make_ipv4 (packet, sizeof packet, 1, 11);        /* time exceeded */
  g_assert_cmpuint (nb_wg_icmp_build_unreachable (packet, sizeof packet, error), ==, 0);

  make_ipv4 (packet, sizeof packet, 17, 0);
  packet[6] = 0x00;
  packet[7] = 0x10;                                /* a later fragment */
  g_assert_cmpuint (nb_wg_icmp_build_unreachable (packet, sizeof packet, error), ==, 0);

  make_ipv4 (packet, sizeof packet, 17, 0);
  packet[16] = 239;                                /* multicast destination */
  g_assert_cmpuint (nb_wg_icmp_build_unreachable (packet, sizeof packet, error), ==, 0);
  memset (packet + 16, 255, 4);                    /* broadcast */
  g_assert_cmpuint (nb_wg_icmp_build_unreachable (packet, sizeof packet, error), ==, 0);

  make_ipv4 (packet, sizeof packet, 17, 0);
  memset (packet + 12, 0, 4);                      /* unspecified source */
  g_assert_cmpuint (nb_wg_icmp_build_unreachable (packet, sizeof packet, error), ==, 0);

  make_ipv4 (packet, sizeof packet, 17, 0);        /* claims more than it has */
  g_assert_cmpuint (nb_wg_icmp_build_unreachable (packet, 50, error), ==, 0);
  packet[0] = 0x44;                                /* header too short */
  g_assert_cmpuint (nb_wg_icmp_build_unreachable (packet, sizeof packet, error), ==, 0);
  g_assert_cmpuint (nb_wg_icmp_build_unreachable (packet, 10, error), ==, 0);
}

static void
test_ipv6_echo (void)
{
  guint8 packet[104], error[NB_WG_ICMP_ERROR_MAX];
  gsize n;

  make_ipv6 (packet, sizeof packet, 58, 128);
  n = nb_wg_icmp_build_unreachable (packet, sizeof packet, error);
  g_assert_cmpuint (n, ==, 40 + 8 + sizeof packet);
  g_assert_cmpuint (error[0] >> 4, ==, 6);
  g_assert_cmpuint ((error[4] << 8) | error[5], ==, n - 40);
  g_assert_cmpuint (error[6], ==, 58);
  g_assert_cmpmem (error + 8, 16, remote6, 16);
  g_assert_cmpmem (error + 24, 16, local6, 16);
  g_assert_cmpuint (error[40], ==, 1);             /* destination unreachable */
  g_assert_cmpuint (error[41], ==, 3);             /* address unreachable */
  g_assert_true (checksum_ok (error + 40, n - 40, nb_csum_pseudo (error, 58, n - 40)));
  g_assert_cmpmem (error + 48, n - 48, packet, sizeof packet);
}

static void
test_ipv6_quote_limit (void)
{
  guint8 packet[1400], error[NB_WG_ICMP_ERROR_MAX];
  gsize n;

  make_ipv6 (packet, sizeof packet, 6, 0);
  n = nb_wg_icmp_build_unreachable (packet, sizeof packet, error);
  g_assert_cmpuint (n, ==, 1280);
  g_assert_true (checksum_ok (error + 40, n - 40, nb_csum_pseudo (error, 58, n - 40)));
}

static void
test_ipv6_no_error (void)
{
  guint8 packet[104], error[NB_WG_ICMP_ERROR_MAX];

  make_ipv6 (packet, sizeof packet, 58, 1);        /* an ICMPv6 error */
  g_assert_cmpuint (nb_wg_icmp_build_unreachable (packet, sizeof packet, error), ==, 0);
  make_ipv6 (packet, sizeof packet, 17, 0);
  packet[24] = 0xff;                               /* multicast destination */
  g_assert_cmpuint (nb_wg_icmp_build_unreachable (packet, sizeof packet, error), ==, 0);
  make_ipv6 (packet, sizeof packet, 17, 0);
  memset (packet + 8, 0, 16);                      /* unspecified source */
  g_assert_cmpuint (nb_wg_icmp_build_unreachable (packet, sizeof packet, error), ==, 0);
  make_ipv6 (packet, sizeof packet, 17, 0);
  g_assert_cmpuint (nb_wg_icmp_build_unreachable (packet, 80, error), ==, 0);
  g_assert_cmpuint (nb_wg_icmp_build_unreachable (packet, 39, error), ==, 0);
  packet[0] = 0x50;                                /* neither version */
  g_assert_cmpuint (nb_wg_icmp_build_unreachable (packet, sizeof packet, error), ==, 0);
}

/* 100 a second, bursts of 10. */
static void
test_rate (void)
{
  NbWgIcmpRate rate = { 0 };
  gint64 t = 5 * G_USEC_PER_SEC;
  guint allowed = 0;

  for (guint i = 0; i < 50; i++)
    allowed += nb_wg_icmp_rate_allow (&rate, t);
  g_assert_cmpuint (allowed, ==, 10);
  g_assert_false (nb_wg_icmp_rate_allow (&rate, t + 5000));
  g_assert_true (nb_wg_icmp_rate_allow (&rate, t + 10000));
  g_assert_false (nb_wg_icmp_rate_allow (&rate, t + 10000));
  /* A token given back (no error was sent) can be taken again. */
  nb_wg_icmp_rate_return (&rate);
  g_assert_true (nb_wg_icmp_rate_allow (&rate, t + 10000));
  g_assert_false (nb_wg_icmp_rate_allow (&rate, t + 10000));

  /* A quiet second refills the burst, not more. */
  allowed = 0;
  for (guint i = 0; i < 50; i++)
    allowed += nb_wg_icmp_rate_allow (&rate, t + 2 * G_USEC_PER_SEC);
  g_assert_cmpuint (allowed, ==, 10);

  /* A steady second at 1000 packets gets about 100 errors. */
  allowed = 0;
  for (guint i = 0; i < 1000; i++)
    allowed += nb_wg_icmp_rate_allow (&rate, t + 3 * G_USEC_PER_SEC + i * 1000);
  g_assert_cmpuint (allowed, >=, 100);
  g_assert_cmpuint (allowed, <=, 110);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/wg/icmp/ipv4-echo", test_ipv4_echo);
  g_test_add_func ("/wg/icmp/ipv4-quote-limit", test_ipv4_quote_limit);
  g_test_add_func ("/wg/icmp/ipv4-no-error", test_ipv4_no_error);
  g_test_add_func ("/wg/icmp/ipv6-echo", test_ipv6_echo);
  g_test_add_func ("/wg/icmp/ipv6-quote-limit", test_ipv6_quote_limit);
  g_test_add_func ("/wg/icmp/ipv6-no-error", test_ipv6_no_error);
  g_test_add_func ("/wg/icmp/rate", test_rate);
  return g_test_run ();
}
