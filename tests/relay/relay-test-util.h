/* relay-test-util.h: a real netbird-relay daemon, real clients and a raw
 * WebSocket for the Relay tests
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#include <libsoup/soup.h>

#include "nb-key.h"
#include "nb-relay-client-private.h"
#include "nb-relay-frame-private.h"
#include "nb-relay-token-private.h"

#define TEST_SECRET "relay-test-secret"

/* Runs the main context until @expr holds or @ms pass; gives whether it
 * holds. */
#define WAIT_UNTIL(expr, ms)                                                       \
  ({                                                                               \
    gint64 deadline_ = g_get_monotonic_time () + (gint64) (ms) * 1000;             \
    while (!(expr) && g_get_monotonic_time () < deadline_)                         \
      if (!g_main_context_iteration (NULL, FALSE))                                 \
        g_usleep (1000);                                                           \
    (expr);                                                                        \
  })

typedef struct
{
  GSubprocess *process;
  char *address;       /* HOST:PORT */
  char *url;           /* rel://HOST:PORT */
  char *metrics_url;
  SoupSession *http;
  gboolean killed;
  char *log_path;
} Daemon;

Daemon  *daemon_start     (const char         *listen,
                           const char *const  *extra_args);
void     daemon_kill      (Daemon             *daemon);
void     daemon_free      (Daemon             *daemon);
guint64  daemon_metric    (Daemon             *daemon,
                           const char         *series);
/* The daemon's resident memory (VmRSS), KiB. */
guint64  daemon_rss_kib   (Daemon             *daemon);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Daemon, daemon_free)

/* A token for @key valid for @ttl seconds (negative: expired) under @secret. */
void     make_token       (const char         *secret,
                           NbKey              *key,
                           gint64              ttl,
                           char              **payload,
                           char              **signature);

/* A started client of @daemon with a good token. */
NbRelayClient *client_new (Daemon             *daemon,
                           NbKey              *key);

/* Datagrams a receiver got. */
typedef struct
{
  GMutex lock;
  guint count;
  GByteArray *last;
} Inbox;

Inbox   *inbox_new        (void);
void     inbox_free       (Inbox              *inbox);
void     inbox_receive    (guint8             *data,
                           gsize               len,
                           gpointer            user_data);
guint    inbox_count      (Inbox              *inbox);

/* A WebSocket on a plain socket, frames made by hand. */
GSocketConnection *raw_connect     (Daemon            *daemon);
void               raw_send        (GSocketConnection *conn,
                                    guint8             opcode,
                                    const guint8      *data,
                                    gsize              len);
/* The next data frame's payload, or NULL at a close frame (its code in
 * *@close_code). */
GBytes            *raw_read        (GSocketConnection *conn,
                                    guint             *close_code);
/* Reads until the server closes; gives the close code. */
guint              raw_wait_close  (GSocketConnection *conn);
/* auth, challenge, proof, auth-ok as @key. */
void               raw_authenticate (GSocketConnection *conn,
                                     NbKey             *key);
