/* nb-wg-crypt-pool.c: crypto workers that the packet threads share
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * Fork and join per batch. A run puts a job (on the caller's stack) at the
 * tail of the pool's queue and wakes as many workers as it has chunks to
 * spare; everyone then claims chunks with one atomic add each. The caller
 * takes its job off the queue once it finds nothing left to claim, and
 * waits until the chunks that workers took are done and no worker still
 * looks at the job, which may then leave the stack. Linux WireGuard spreads
 * packets over per-CPU workers and puts them back in order afterwards; here
 * the order never changes, since only the crypto leaves the packet thread.
 */
#define G_LOG_DOMAIN "netbird-wg"

#include <stdlib.h>

#include "nb-wg-crypt-pool.h"

/* Items a claim takes: about 10 µs of ChaCha20-Poly1305 on full packets,
 * well above what a claim and a wake-up cost. */
#define CHUNK 8
/* Smaller runs stay on the calling thread: the workers would not be awake
 * before it is done. */
#define PARALLEL_MIN (2 * CHUNK)
#define MAX_DEFAULT_WORKERS 7
/* A worker that ran out of work watches for the next job this long before
 * it sleeps: under traffic, batches come every few tens of microseconds,
 * and a futex wake-up per batch would cost the caller most of its gain. */
#define SPIN_USEC 50

static inline void
cpu_relax (void)
{
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause ();
#elif defined(__aarch64__)
  __asm__ __volatile__ ("yield");
#endif
}

typedef struct {
  GList link;           /* in pool->jobs while chunks may be unclaimed */
  NbWgCryptFunc func;
  gpointer data;
  guint n_items;
  guint next;           /* atomic: the first unclaimed item */
  guint done;           /* atomic: items finished */
  guint users;          /* workers working on it (pool->lock) */
  gboolean queued;      /* pool->lock */
} Job;

struct _NbWgCryptPool
{
  GMutex lock;
  GCond work_cond;
  GCond done_cond;
  GQueue jobs;          /* of Job, linked through Job.link */
  guint n_jobs;         /* atomic: pool->jobs.length, for spinning workers */
  guint n_sleeping;     /* workers in g_cond_wait() (pool->lock) */
  gboolean stopping;
  GThread **workers;
  guint n_workers;
  guint64 *offloaded;   /* atomic, nullable */
};

/* Returns how many items it did. */
static guint
work_on (Job *job)
{
  guint did = 0;

  for (;;)
    {
      guint first = __atomic_fetch_add (&job->next, CHUNK, __ATOMIC_RELAXED);
      guint n;

      if (first >= job->n_items)
        return did;
      n = MIN (CHUNK, job->n_items - first);
      job->func (job->data, first, n);
      /* Release: the caller reads the items once it sees them done. */
      __atomic_fetch_add (&job->done, n, __ATOMIC_RELEASE);
      did += n;
    }
}

static void
unqueue (NbWgCryptPool *pool, Job *job)
{
  if (job->queued)
    {
      g_queue_unlink (&pool->jobs, &job->link);
      job->queued = FALSE;
      __atomic_store_n (&pool->n_jobs, pool->jobs.length, __ATOMIC_RELAXED);
    }
}

/* The oldest job with chunks left; drops fully claimed ones. Lock held. */
static Job *
open_job (NbWgCryptPool *pool)
{
  while (pool->jobs.head != NULL)
    {
      Job *job = pool->jobs.head->data;

      if (__atomic_load_n (&job->next, __ATOMIC_RELAXED) < job->n_items)
        return job;
      unqueue (pool, job);
    }
  return NULL;
}

static gpointer
worker_main (gpointer user_data)
{
  NbWgCryptPool *pool = user_data;

  g_mutex_lock (&pool->lock);
  for (;;)
    {
      Job *job = NULL;
      guint did;

      gboolean spun = FALSE;

      while (!pool->stopping && (job = open_job (pool)) == NULL)
        {
          if (!spun)
            {
              gint64 until = g_get_monotonic_time () + SPIN_USEC;

              g_mutex_unlock (&pool->lock);
              while (__atomic_load_n (&pool->n_jobs, __ATOMIC_RELAXED) == 0 &&
                     g_get_monotonic_time () < until)
                for (guint i = 0; i < 64; i++)
                  cpu_relax ();
              g_mutex_lock (&pool->lock);
              spun = TRUE;
              continue;
            }
          pool->n_sleeping++;
          g_cond_wait (&pool->work_cond, &pool->lock);
          pool->n_sleeping--;
          spun = FALSE;
        }
      if (pool->stopping)
        break;
      job->users++;
      g_mutex_unlock (&pool->lock);

      did = work_on (job);
      if (pool->offloaded != NULL && did > 0)
        __atomic_fetch_add (pool->offloaded, did, __ATOMIC_RELAXED);

      g_mutex_lock (&pool->lock);
      if (--job->users == 0 &&
          __atomic_load_n (&job->done, __ATOMIC_ACQUIRE) == job->n_items)
        g_cond_broadcast (&pool->done_cond);
    }
  g_mutex_unlock (&pool->lock);
  return NULL;
}

NbWgCryptPool *
nb_wg_crypt_pool_new (guint    n_workers,
                      guint64 *offloaded)
{
  NbWgCryptPool *pool = g_new0 (NbWgCryptPool, 1);

  g_mutex_init (&pool->lock);
  g_cond_init (&pool->work_cond);
  g_cond_init (&pool->done_cond);
  g_queue_init (&pool->jobs);
  pool->n_workers = n_workers;
  pool->offloaded = offloaded;
  pool->workers = g_new0 (GThread *, MAX (n_workers, 1));
  for (guint i = 0; i < n_workers; i++)
    pool->workers[i] = g_thread_new ("nb-wg-crypt", worker_main, pool);
  return pool;
}

/* No run may be in progress. */
void
nb_wg_crypt_pool_free (NbWgCryptPool *pool)
{
  if (pool == NULL)
    return;
  g_mutex_lock (&pool->lock);
  pool->stopping = TRUE;
  g_cond_broadcast (&pool->work_cond);
  g_mutex_unlock (&pool->lock);
  for (guint i = 0; i < pool->n_workers; i++)
    g_thread_join (pool->workers[i]);
  g_free (pool->workers);
  g_cond_clear (&pool->done_cond);
  g_cond_clear (&pool->work_cond);
  g_mutex_clear (&pool->lock);
  g_free (pool);
}

guint
nb_wg_crypt_pool_get_n_workers (NbWgCryptPool *pool)
{
  return pool != NULL ? pool->n_workers : 0;
}

void
nb_wg_crypt_pool_run (NbWgCryptPool *pool,
                      NbWgCryptFunc  func,
                      gpointer       data,
                      guint          n_items)
{
  Job job = { .func = func, .data = data, .n_items = n_items };
  guint spare;

  if (pool == NULL || pool->n_workers == 0 || n_items < PARALLEL_MIN)
    {
      if (n_items > 0)
        func (data, 0, n_items);
      return;
    }

  /* The caller takes one chunk's share itself; wake a worker per other. */
  spare = MIN (pool->n_workers, (n_items + CHUNK - 1) / CHUNK - 1);
  job.link.data = &job;
  g_mutex_lock (&pool->lock);
  g_queue_push_tail_link (&pool->jobs, &job.link);
  job.queued = TRUE;
  __atomic_store_n (&pool->n_jobs, pool->jobs.length, __ATOMIC_RELAXED);
  /* Spinning workers see the job by themselves. */
  for (guint i = 0; i < MIN (spare, pool->n_sleeping); i++)
    g_cond_signal (&pool->work_cond);
  g_mutex_unlock (&pool->lock);

  work_on (&job);

  /* The workers' last chunks are a few microseconds away: watch for them
   * before going to sleep on them. */
  {
    gint64 until = g_get_monotonic_time () + SPIN_USEC;

    while (__atomic_load_n (&job.done, __ATOMIC_ACQUIRE) < n_items &&
           g_get_monotonic_time () < until)
      for (guint i = 0; i < 64; i++)
        cpu_relax ();
  }
  g_mutex_lock (&pool->lock);
  unqueue (pool, &job);
  while (job.users > 0 || __atomic_load_n (&job.done, __ATOMIC_ACQUIRE) < n_items)
    g_cond_wait (&pool->done_cond, &pool->lock);
  g_mutex_unlock (&pool->lock);
}

guint
nb_wg_crypt_pool_default_workers (void)
{
  const char *env = g_getenv ("NB_WG_CRYPT_WORKERS");

  if (env != NULL && *env != '\0')
    {
      guint64 n;

      if (g_ascii_string_to_unsigned (env, 10, 0, 64, &n, NULL))
        return (guint) n;
      g_warning ("NB_WG_CRYPT_WORKERS=%s is not a number from 0 to 64: ignored", env);
    }
  return nb_wg_crypt_pool_workers_for_cores (g_get_num_processors ());
}

guint
nb_wg_crypt_pool_workers_for_cores (guint cores)
{
  /* Two cores stay with the flow's packet threads, the kernel's share of
   * it and the applications: on this project's 2-core machine, where both
   * ends of the benchmark tunnel run, one worker took a single TCP stream
   * from 3.6-4.0 down to 2.6-3.1 Gbit/s by competing with them. */
  return cores > 3 ? MIN (cores - 2, MAX_DEFAULT_WORKERS) : 0;
}
