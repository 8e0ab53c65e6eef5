/* wg-test-pair.h: two (or more) NbWgDevice in one process, for the tests
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * Devices without a TUN talk over loopback UDP; decrypted packets land in
 * a Side through the private packet hook. A shared fake clock drives timers
 * when use_fake_clock is set while the devices are made.
 */
#pragma once

#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <gio/gio.h>
#include <sodium.h>

#include "nb-wg-device-private.h"
#include "nb-wg-internal.h"

typedef struct {
  NbWgDevice *dev;
  NbKey *key;
  NbWgPeer *peer; /* the other side, as this device knows it */
  GMutex lock;
  guint n_packets;
  guint8 last_packet[2048];
  gsize last_len;
} Side;

typedef struct {
  Side a;
  Side b;
} Pair;

typedef struct {
  NbWgDevice *dev;
  NbWgCounter counter;
  guint64 at_least;
} CounterWait;

extern gint64 fake_now;
extern gboolean use_fake_clock;

GInetSocketAddress *loopback (guint16 port);
void add_prefix (NbWgPeer *peer, const char *text);
void advance (gint64 usec);
void side_init (Side *side);
void pair_setup (Pair *pair, const guint8 *psk);
void side_clear (Side *side);
void pair_teardown (Pair *pair);
gboolean wait_for (gboolean (*cond) (gpointer), gpointer data);
gsize make_ipv4 (guint8 *out, const char *src, const char *dst, gsize payload_len);
gboolean b_got_packet (gpointer data);
void check_exchange (Pair *pair);
int raw_socket (void);
guint16 raw_port (int fd);
void raw_send (int fd, NbWgDevice *to, const void *data, gsize len);
void assert_counter_reaches (NbWgDevice *dev, NbWgCounter counter, guint64 at_least);
gsize seal_data (guint8 *out, NbWgKeypair *keypair, guint64 counter, const guint8 *inner,
                 gsize len);
