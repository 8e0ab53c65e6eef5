/* test-wg-allowedips.c: the cryptokey routing trie
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <arpa/inet.h>
#include <string.h>

#include "nb-wg-allowedips.h"

#define PEER(n) GUINT_TO_POINTER (n)

static void
v4 (guint8 out[4], const char *text)
{
  g_assert_cmpint (inet_pton (AF_INET, text, out), ==, 1);
}

static void
v6 (guint8 out[16], const char *text)
{
  g_assert_cmpint (inet_pton (AF_INET6, text, out), ==, 1);
}

static void
insert4 (NbWgAllowedIps *t, const char *text, guint8 cidr, guint peer)
{
  guint8 a[4];

  v4 (a, text);
  g_assert_true (nb_wg_allowedips_insert (t, a, 4, cidr, PEER (peer)));
}

static guint
lookup4 (NbWgAllowedIps *t, const char *text)
{
  guint8 a[4];

  v4 (a, text);
  return GPOINTER_TO_UINT (nb_wg_allowedips_lookup (t, a, 4));
}

static void
insert6 (NbWgAllowedIps *t, const char *text, guint8 cidr, guint peer)
{
  guint8 a[16];

  v6 (a, text);
  g_assert_true (nb_wg_allowedips_insert (t, a, 16, cidr, PEER (peer)));
}

static guint
lookup6 (NbWgAllowedIps *t, const char *text)
{
  guint8 a[16];

  v6 (a, text);
  return GPOINTER_TO_UINT (nb_wg_allowedips_lookup (t, a, 16));
}

static void
test_insert_lookup (void)
{
  NbWgAllowedIps t;

  nb_wg_allowedips_init (&t);
  g_assert_cmpuint (lookup4 (&t, "10.0.0.1"), ==, 0);
  insert4 (&t, "10.0.0.0", 8, 1);
  insert4 (&t, "192.168.1.0", 24, 2);
  g_assert_cmpuint (lookup4 (&t, "10.1.2.3"), ==, 1);
  g_assert_cmpuint (lookup4 (&t, "192.168.1.77"), ==, 2);
  g_assert_cmpuint (lookup4 (&t, "192.168.2.1"), ==, 0);
  g_assert_cmpuint (lookup4 (&t, "11.0.0.1"), ==, 0);
  nb_wg_allowedips_free (&t);
}

static void
test_overlapping (void)
{
  NbWgAllowedIps t;

  nb_wg_allowedips_init (&t);
  insert4 (&t, "10.0.0.0", 8, 1);
  insert4 (&t, "10.1.0.0", 16, 2);
  insert4 (&t, "10.1.1.0", 24, 3);
  insert4 (&t, "0.0.0.0", 0, 4);
  /* Inserted in another order the answers are the same. */
  insert4 (&t, "10.1.1.128", 25, 5);
  g_assert_cmpuint (lookup4 (&t, "10.1.1.200"), ==, 5);
  g_assert_cmpuint (lookup4 (&t, "10.1.1.1"), ==, 3);
  g_assert_cmpuint (lookup4 (&t, "10.1.2.1"), ==, 2);
  g_assert_cmpuint (lookup4 (&t, "10.2.0.1"), ==, 1);
  g_assert_cmpuint (lookup4 (&t, "8.8.8.8"), ==, 4);
  /* Host bits are ignored; re-inserting moves the prefix. */
  insert4 (&t, "10.1.77.77", 16, 6);
  g_assert_cmpuint (lookup4 (&t, "10.1.2.1"), ==, 6);
  nb_wg_allowedips_free (&t);
}

static void
test_host_routes (void)
{
  NbWgAllowedIps t;

  nb_wg_allowedips_init (&t);
  insert4 (&t, "100.64.0.1", 32, 1);
  insert4 (&t, "100.64.0.2", 32, 2);
  insert4 (&t, "100.64.0.0", 10, 3);
  g_assert_cmpuint (lookup4 (&t, "100.64.0.1"), ==, 1);
  g_assert_cmpuint (lookup4 (&t, "100.64.0.2"), ==, 2);
  g_assert_cmpuint (lookup4 (&t, "100.64.0.3"), ==, 3);
  g_assert_cmpuint (lookup4 (&t, "100.128.0.1"), ==, 0);
  nb_wg_allowedips_free (&t);
}

static void
test_ipv6 (void)
{
  NbWgAllowedIps t;

  nb_wg_allowedips_init (&t);
  insert6 (&t, "fd00::", 8, 1);
  insert6 (&t, "fd00:1234::", 32, 2);
  insert6 (&t, "fd00:1234::1", 128, 3);
  insert4 (&t, "0.0.0.0", 0, 9);
  g_assert_cmpuint (lookup6 (&t, "fd00:1234::1"), ==, 3);
  g_assert_cmpuint (lookup6 (&t, "fd00:1234::2"), ==, 2);
  g_assert_cmpuint (lookup6 (&t, "fd99::1"), ==, 1);
  g_assert_cmpuint (lookup6 (&t, "2001:db8::1"), ==, 0);
  /* Families do not mix. */
  g_assert_cmpuint (lookup6 (&t, "::ffff:1.2.3.4"), ==, 0);
  nb_wg_allowedips_free (&t);
}

static void
test_remove (void)
{
  NbWgAllowedIps t;
  guint8 a[4];

  nb_wg_allowedips_init (&t);
  insert4 (&t, "10.0.0.0", 8, 1);
  insert4 (&t, "10.1.0.0", 16, 2);
  v4 (a, "10.1.0.0");
  /* Only its holder may remove it. */
  g_assert_false (nb_wg_allowedips_remove (&t, a, 4, 16, PEER (1)));
  g_assert_true (nb_wg_allowedips_remove (&t, a, 4, 16, PEER (2)));
  g_assert_false (nb_wg_allowedips_remove (&t, a, 4, 16, PEER (2)));
  g_assert_cmpuint (lookup4 (&t, "10.1.0.1"), ==, 1);
  v4 (a, "10.0.0.0");
  g_assert_true (nb_wg_allowedips_remove (&t, a, 4, 8, NULL));
  g_assert_cmpuint (lookup4 (&t, "10.1.0.1"), ==, 0);
  g_assert_null (t.root4);
  nb_wg_allowedips_free (&t);
}

static void
count_cb (const guint8 *address, guint len, guint8 cidr, gpointer user_data)
{
  (*(guint *) user_data)++;
}

static void
test_remove_by_peer (void)
{
  NbWgAllowedIps t;
  guint n = 0;

  nb_wg_allowedips_init (&t);
  insert4 (&t, "10.0.0.0", 8, 1);
  insert4 (&t, "10.1.0.0", 16, 2);
  insert4 (&t, "10.1.1.0", 24, 1);
  insert4 (&t, "172.16.0.0", 12, 1);
  insert6 (&t, "fd00::", 16, 1);
  nb_wg_allowedips_foreach_of_peer (&t, PEER (1), count_cb, &n);
  g_assert_cmpuint (n, ==, 4);
  nb_wg_allowedips_remove_by_peer (&t, PEER (1));
  g_assert_cmpuint (lookup4 (&t, "10.1.1.1"), ==, 2);
  g_assert_cmpuint (lookup4 (&t, "10.2.0.1"), ==, 0);
  g_assert_cmpuint (lookup4 (&t, "172.16.0.1"), ==, 0);
  g_assert_cmpuint (lookup6 (&t, "fd00::1"), ==, 0);
  g_assert_null (t.root6);
  n = 0;
  nb_wg_allowedips_foreach_of_peer (&t, PEER (1), count_cb, &n);
  g_assert_cmpuint (n, ==, 0);
  nb_wg_allowedips_free (&t);
}

static void
test_invalid (void)
{
  NbWgAllowedIps t;
  guint8 a[16] = { 0 };

  nb_wg_allowedips_init (&t);
  g_assert_false (nb_wg_allowedips_insert (&t, a, 4, 33, PEER (1)));
  g_assert_false (nb_wg_allowedips_insert (&t, a, 16, 129, PEER (1)));
  g_assert_false (nb_wg_allowedips_insert (&t, a, 5, 8, PEER (1)));
  g_assert_null (nb_wg_allowedips_lookup (&t, a, 3));
  nb_wg_allowedips_free (&t);
}

/* Random prefixes against a linear longest-match scan. */
static void
test_random_against_linear (void)
{
  NbWgAllowedIps t;
  struct { guint32 addr; guint8 cidr; guint peer; } prefixes[300];
  GRand *rand = g_rand_new_with_seed (1234);

  nb_wg_allowedips_init (&t);
  for (guint i = 0; i < G_N_ELEMENTS (prefixes); i++)
    {
      guint32 addr = g_rand_int (rand) & 0xff0fffff;
      guint8 cidr = (guint8) g_rand_int_range (rand, 4, 33);
      guint32 mask = cidr == 0 ? 0 : 0xffffffffu << (32 - cidr);
      guint32 be = g_htonl (addr);

      prefixes[i].addr = addr & mask;
      prefixes[i].cidr = cidr;
      prefixes[i].peer = i + 1;
      nb_wg_allowedips_insert (&t, (guint8 *) &be, 4, cidr, PEER (i + 1));
    }
  for (guint j = 0; j < 20000; j++)
    {
      guint32 addr = g_rand_int (rand) & 0xff0fffff;
      guint32 be = g_htonl (addr);
      guint best = 0;
      gint best_cidr = -1;

      for (guint i = 0; i < G_N_ELEMENTS (prefixes); i++)
        {
          guint32 mask = prefixes[i].cidr == 0 ? 0 : 0xffffffffu << (32 - prefixes[i].cidr);
          /* Later inserts of the same prefix win, as in the trie. */
          if ((addr & mask) == prefixes[i].addr && prefixes[i].cidr >= best_cidr)
            {
              best = prefixes[i].peer;
              best_cidr = prefixes[i].cidr;
            }
        }
      g_assert_cmpuint (GPOINTER_TO_UINT (nb_wg_allowedips_lookup (&t, (guint8 *) &be, 4)), ==,
                        best);
    }
  g_rand_free (rand);
  nb_wg_allowedips_free (&t);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/wg/allowedips/insert-lookup", test_insert_lookup);
  g_test_add_func ("/wg/allowedips/overlapping", test_overlapping);
  g_test_add_func ("/wg/allowedips/host-routes", test_host_routes);
  g_test_add_func ("/wg/allowedips/ipv6", test_ipv6);
  g_test_add_func ("/wg/allowedips/remove", test_remove);
  g_test_add_func ("/wg/allowedips/remove-by-peer", test_remove_by_peer);
  g_test_add_func ("/wg/allowedips/invalid", test_invalid);
  g_test_add_func ("/wg/allowedips/random-against-linear", test_random_against_linear);
  return g_test_run ();
}
