/* service-test-util.h: a tiny server on the service base, and raw clients
 *
 * Signal and Relay reuse these for their own service tests: a server over
 * NbService on a loopback port, and clients on plain sockets that never
 * block the main loop the server runs on.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#include <gio/gio.h>

#include "nb-service-private.h"

typedef struct
{
  SoupServer *soup;
  NbService *service;
  guint16 port;
  NbServiceChannel *channel;  /* the last WebSocket channel opened */
  gboolean channel_closed;
} TestServer;

TestServer *test_server_new      (const NbServiceLimits *limits);
TestServer *test_server_new_tls  (const NbServiceLimits *limits,
                                  GTlsCertificate       *certificate);
void        test_server_free     (TestServer            *server);

/* A connected non-blocking client socket, from @source (NULL: 127.0.0.1). */
GSocket    *test_connect         (TestServer            *server,
                                  const char            *source);
void        test_send            (GSocket               *socket,
                                  const char            *data,
                                  gsize                  length);
/* Reads what arrives within @timeout_ms while the main loop runs; stops
 * at the end of the stream (*closed set) or once @until appears. */
GString    *test_receive         (GSocket               *socket,
                                  guint                  timeout_ms,
                                  const char            *until,
                                  gboolean              *closed);
void        test_iterate         (guint                  ms);
gboolean    test_wait_for        (gboolean             (*done) (gpointer),
                                  gpointer               data,
                                  guint                  timeout_ms);
