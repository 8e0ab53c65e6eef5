/* nb-wg-crypt-pool.h: crypto workers that the packet threads share
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * A packet thread with a batch of packets to encrypt or decrypt hands the
 * batch to nb_wg_crypt_pool_run(): the workers and the calling thread take
 * chunks of it until none is left, and the call returns when every chunk is
 * done. The packets stay where they are and in their order, so what follows
 * the crypto (replay window, TUN writes, sends) runs on the packet thread as
 * before: one flow uses several cores without any reordering. Nothing is
 * allocated per run; the job lives on the caller's stack.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _NbWgCryptPool NbWgCryptPool;

/* Processes items [@first, @first + @n) of @job. Runs on a worker or on the
 * calling packet thread, concurrently with other chunks of the same job. */
typedef void (*NbWgCryptFunc) (gpointer job,
                               guint    first,
                               guint    n);

/* Items the workers do are added to *@offloaded (atomically), if given. */
NbWgCryptPool *nb_wg_crypt_pool_new       (guint          n_workers,
                                           guint64       *offloaded);
void           nb_wg_crypt_pool_free      (NbWgCryptPool *pool);
guint          nb_wg_crypt_pool_get_n_workers (NbWgCryptPool *pool);
/* Runs @func over @n_items items of @job and returns when all are done.
 * A small job, or a %NULL @pool, runs on the calling thread alone. */
void           nb_wg_crypt_pool_run       (NbWgCryptPool *pool,
                                           NbWgCryptFunc  func,
                                           gpointer       job,
                                           guint          n_items);
/* How many workers a device starts: NB_WG_CRYPT_WORKERS from the
 * environment if set (0 turns them off), else none on up to 3 cores and
 * two less than the cores the process may use above that, at most 7. */
guint          nb_wg_crypt_pool_default_workers (void);
/* The default without NB_WG_CRYPT_WORKERS, for a process that may use
 * @cores cores. */
guint          nb_wg_crypt_pool_workers_for_cores (guint cores);

G_END_DECLS
