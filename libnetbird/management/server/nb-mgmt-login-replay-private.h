/* nb-mgmt-login-replay-private.h: each sealed login request is taken once
 *
 * Library-internal. Plain C, no I/O, the clock passed in (tests move it).
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  NB_MGMT_LOGIN_FRESH,          /* taken, and remembered */
  NB_MGMT_LOGIN_STALE,          /* its time is out of the window */
  NB_MGMT_LOGIN_REPLAYED,       /* taken before */
} NbMgmtLoginFreshness;

typedef struct _NbMgmtLoginReplay NbMgmtLoginReplay;

/* What the server keeps: at ~150 bytes a pair, 2-3 MB at most; beyond
 * 16,384 logins in a window, see the watermark in the .c file. */
#define NB_MGMT_LOGIN_REPLAY_CAPACITY 16384

/* @window: seconds a request's time may be off the clock, either way;
 * @capacity: most (peer key, nonce) pairs kept. */
NbMgmtLoginReplay   *nb_mgmt_login_replay_new   (gint64              window,
                                                 guint               capacity);
void                 nb_mgmt_login_replay_free  (NbMgmtLoginReplay  *self);
/* Takes the request of @peer_key made at @timestamp (unix seconds) with
 * @nonce, at @now (unix seconds), unless it is stale or replayed. */
NbMgmtLoginFreshness nb_mgmt_login_replay_check (NbMgmtLoginReplay  *self,
                                                 const char         *peer_key,
                                                 gint64              timestamp,
                                                 const char         *nonce,
                                                 gint64              now);
guint                nb_mgmt_login_replay_get_size (NbMgmtLoginReplay *self);
guint64              nb_mgmt_login_replay_get_n_refused (NbMgmtLoginReplay    *self,
                                                         NbMgmtLoginFreshness  reason);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NbMgmtLoginReplay, nb_mgmt_login_replay_free)

G_END_DECLS
