/* signal-test-util.h: a real netbird-signal daemon, real clients and raw
 * WebSockets for the Signal tests
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#include <libsoup/soup.h>

#include "nb-signal-client.h"
#include "nb-signal-server.h"
#include "nb-signal-private.h"

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

/* ---- the daemon ---- */

typedef struct
{
  GSubprocess *process;
  char *address;          /* HOST:PORT */
  char *url;              /* ws[s]://HOST:PORT */
  char *metrics_url;
  SoupSession *http;
  gboolean killed;
  char *log_path;         /* the daemon's stderr */
} Daemon;

Daemon  *daemon_start     (const char  *listen,
                           const char  *const *extra_args);
void     daemon_kill      (Daemon      *daemon);
void     daemon_free      (Daemon      *daemon);
/* A counter or gauge of the metrics page ("name" or "name{reason=\"x\"}"). */
guint64  daemon_metric    (Daemon      *daemon,
                           const char  *series);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Daemon, daemon_free)

/* ---- a peer through NbSignalClient ---- */

typedef struct
{
  NbKey *key;
  NbSignalClient *client;
  GPtrArray *messages;       /* NbSignalMessage */
  GPtrArray *senders;        /* NbKey */
  GPtrArray *undeliverable;  /* NbKey */
} Peer;

Peer    *peer_new         (const char  *url,
                           NbKey       *key);
gboolean peer_connected   (Peer        *peer);
void     peer_free        (Peer        *peer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Peer, peer_free)

NbSignalMessage *make_candidate (void);

/* ---- a raw WebSocket that says what a test makes it say ---- */

typedef struct
{
  SoupSession *session;
  SoupWebsocketConnection *ws;
  GPtrArray *frames;         /* GBytes received */
  gboolean done;             /* connect finished */
  gboolean closed;
  gushort close_code;
} Raw;

Raw         *raw_connect        (Daemon       *daemon);
void         raw_send_text      (Raw          *raw,
                                 const char   *text);
/* Waits for frame @index (0-based) and parses it. */
NbSignalFrame *raw_frame        (Raw          *raw,
                                 guint         index);
/* hello, challenge, proof, registered, with @key. */
void         raw_register       (Raw          *raw,
                                 NbKey        *key);
void         raw_free           (Raw          *raw);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Raw, raw_free)

/* A peer on a plain TCP socket, WebSocket frames made by hand: it
 * registers as @key and then answers nothing, not even pings, as a peer
 * behind a NAT that forgot the flow. */
GSocketConnection *mute_register (Daemon     *daemon,
                                  NbKey      *key);
