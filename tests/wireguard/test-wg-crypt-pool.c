/* test-wg-crypt-pool.c: the crypto workers the packet threads share
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <string.h>

#include "nb-wg-crypt-pool.h"

#define N_ITEMS 1000

typedef struct {
  guint visits[N_ITEMS];      /* atomic */
  GThread *ran_on[N_ITEMS];
  guint64 value[N_ITEMS];
} Job;

static void
mark (gpointer data, guint first, guint n)
{
  Job *job = data;

  for (guint i = first; i < first + n; i++)
    {
      /* A little work per item, so the workers get a share. */
      guint64 x = i;
      for (guint k = 0; k < 2000; k++)
        x = x * 6364136223846793005ull + 1442695040888963407ull;
      job->value[i] = x;
      job->ran_on[i] = g_thread_self ();
      __atomic_fetch_add (&job->visits[i], 1, __ATOMIC_RELAXED);
    }
}

static guint
count_foreign (Job *job, guint n, GThread *caller)
{
  guint foreign = 0;

  for (guint i = 0; i < n; i++)
    {
      g_assert_cmpuint (job->visits[i], ==, 1);
      if (job->ran_on[i] != caller)
        foreign++;
    }
  return foreign;
}

/* Every item is done exactly once, and the workers take part. */
static void
test_every_item_once (void)
{
  guint64 offloaded = 0;
  NbWgCryptPool *pool = nb_wg_crypt_pool_new (3, &offloaded);
  guint foreign = 0;

  g_assert_cmpuint (nb_wg_crypt_pool_get_n_workers (pool), ==, 3);
  /* On a loaded machine a worker may not get a core for a while: go on
   * until one has taken part (within reason). */
  for (guint round = 0; round < 50 || (foreign == 0 && round < 5000); round++)
    {
      g_autofree Job *job = g_new0 (Job, 1);

      nb_wg_crypt_pool_run (pool, mark, job, N_ITEMS);
      foreign += count_foreign (job, N_ITEMS, g_thread_self ());
    }
  g_assert_cmpuint (foreign, >, 0);
  g_assert_cmpuint (offloaded, ==, foreign);
  nb_wg_crypt_pool_free (pool);
}

/* A small batch, a pool without workers, and no pool at all run on the
 * caller alone. */
static void
test_small_runs_inline (void)
{
  NbWgCryptPool *pool = nb_wg_crypt_pool_new (2, NULL);
  NbWgCryptPool *none = nb_wg_crypt_pool_new (0, NULL);
  g_autofree Job *job = g_new0 (Job, 1);

  nb_wg_crypt_pool_run (pool, mark, job, 5);
  g_assert_cmpuint (count_foreign (job, 5, g_thread_self ()), ==, 0);

  memset (job, 0, sizeof *job);
  nb_wg_crypt_pool_run (none, mark, job, N_ITEMS);
  g_assert_cmpuint (count_foreign (job, N_ITEMS, g_thread_self ()), ==, 0);

  memset (job, 0, sizeof *job);
  nb_wg_crypt_pool_run (NULL, mark, job, N_ITEMS);
  g_assert_cmpuint (count_foreign (job, N_ITEMS, g_thread_self ()), ==, 0);

  nb_wg_crypt_pool_run (pool, mark, job, 0);
  nb_wg_crypt_pool_free (none);
  nb_wg_crypt_pool_free (pool);
}

/* Several packet threads run jobs at once: no item is lost, none done twice,
 * and each run returns only when its own job is complete. */
typedef struct {
  NbWgCryptPool *pool;
  guint rounds;
} Caller;

static gpointer
caller_main (gpointer data)
{
  Caller *caller = data;
  g_autofree Job *job = g_new0 (Job, 1);

  for (guint round = 0; round < caller->rounds; round++)
    {
      guint n = 16 + g_random_int_range (0, N_ITEMS - 16);

      memset (job, 0, sizeof *job);
      nb_wg_crypt_pool_run (caller->pool, mark, job, n);
      count_foreign (job, n, g_thread_self ());
      for (guint i = n; i < N_ITEMS; i++)
        g_assert_cmpuint (job->visits[i], ==, 0);
    }
  return NULL;
}

static void
test_concurrent_callers (void)
{
  NbWgCryptPool *pool = nb_wg_crypt_pool_new (2, NULL);
  Caller caller = { .pool = pool, .rounds = 100 };
  GThread *threads[4];

  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("caller", caller_main, &caller);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);
  nb_wg_crypt_pool_free (pool);
}

/* NB_WG_CRYPT_WORKERS sets the count; nonsense in it is ignored. Without
 * it: none up to 3 cores, then two less than the cores, at most 7. */
static void
test_default_workers (void)
{
  static const struct { guint cores, workers; } known[] = {
    { 0, 0 }, { 1, 0 }, { 2, 0 }, { 3, 0 }, { 4, 2 }, { 5, 3 }, { 8, 6 }, { 9, 7 },
    { 10, 7 }, { 64, 7 }, { 1024, 7 },
  };
  guint expected = nb_wg_crypt_pool_workers_for_cores (g_get_num_processors ());

  for (guint i = 0; i < G_N_ELEMENTS (known); i++)
    g_assert_cmpuint (nb_wg_crypt_pool_workers_for_cores (known[i].cores), ==, known[i].workers);

  g_setenv ("NB_WG_CRYPT_WORKERS", "0", TRUE);
  g_assert_cmpuint (nb_wg_crypt_pool_default_workers (), ==, 0);
  g_setenv ("NB_WG_CRYPT_WORKERS", "5", TRUE);
  g_assert_cmpuint (nb_wg_crypt_pool_default_workers (), ==, 5);
  g_unsetenv ("NB_WG_CRYPT_WORKERS");
  g_assert_cmpuint (nb_wg_crypt_pool_default_workers (), ==, expected);

  g_setenv ("NB_WG_CRYPT_WORKERS", "lots", TRUE);
  g_test_expect_message ("netbird-wg", G_LOG_LEVEL_WARNING,
                         "NB_WG_CRYPT_WORKERS=lots is not a number*");
  g_assert_cmpuint (nb_wg_crypt_pool_default_workers (), ==, expected);
  g_test_assert_expected_messages ();
  g_unsetenv ("NB_WG_CRYPT_WORKERS");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/wg/crypt-pool/every-item-once", test_every_item_once);
  g_test_add_func ("/wg/crypt-pool/small-runs-inline", test_small_runs_inline);
  g_test_add_func ("/wg/crypt-pool/concurrent-callers", test_concurrent_callers);
  g_test_add_func ("/wg/crypt-pool/default-workers", test_default_workers);
  return g_test_run ();
}
