/* nb-wg-internal.h: what the files of the wireguard layer share
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * Not for other layers: they use nb-wg-device-private.h.
 *
 * Locking, outermost first:
 *   The configuration (identity, peer table, allowed IPs, sockets,
 *   transports): a "big reader" lock. Each packet thread has a mutex of its
 *   own that it holds for one batch at a time, so readers on the packet path
 *   share no lock and no cache line; other readers (timer tick, getters,
 *   channel transports) take device->config_lock for reading. A writer takes
 *   config_lock for writing and then every packet thread's mutex:
 *   nb_wg_device_config_write_lock().
 *   peer->lock: endpoint, timers, staged packets, flags. Never held
 *   across a handshake step.
 *   peer->handshake.lock: taken only inside nb-wg-noise.c, once per step
 *   (nb-wg-noise.h); the step's hooks (nb-wg-peer.c) take the two below
 *   under it, so an index changes hands with the state it names and
 *   keypairs are slotted in the order their handshakes completed.
 *   peer->cookie.lock, peer->keypairs_lock.
 *   device->index_lock: the receiver-index table.
 *   keypair->replay_lock: the receive window.
 */
#pragma once

#include <sys/socket.h>
#include <netinet/in.h>

#include "nb-wg-allowedips.h"
#include "nb-wg-cookie.h"
#include "nb-wg-crypt-pool.h"
#include "nb-wg-device-private.h"
#include "nb-wg-device.h"
#include "nb-wg-messages.h"
#include "nb-wg-noise.h"
#include "nb-wg-ratelimiter.h"
#include "nb-wg-peer.h"
#include "nb-wg-replay.h"
#include "nb-wg-timers.h"
#include "nb-wg-transport.h"

G_BEGIN_DECLS

/* Room around each packet buffer of the packet path: the data header goes
 * before the plaintext, the tag and up to 15 bytes of padding after it. */
#define NB_WG_HEADROOM 16
#define NB_WG_TAILROOM 48
/* The largest inner packet the packet path carries (jumbo MTUs fit). */
#define NB_WG_MAX_PACKET 9216
#define NB_WG_PACKET_BUFFER_SIZE (NB_WG_HEADROOM + NB_WG_MAX_PACKET + NB_WG_TAILROOM)
/* Datagrams one UDP_SEGMENT send may carry (the kernel's UDP_MAX_SEGMENTS). */
#define NB_WG_MAX_GSO_SEGMENTS 64
#define NB_WG_MAX_GSO_BYTES 65000
/* Buffers of one recvmmsg batch, each big enough for a GRO super-datagram. */
#define NB_WG_RX_BATCH 8
#define NB_WG_RX_BUFFER_SIZE 65536
/* Socket options (linux/udp.h), for libcs that lack them. */
#define NB_WG_UDP_SEGMENT 103
#define NB_WG_UDP_GRO 104

typedef struct {
  struct sockaddr_storage addr;
  socklen_t len;
} NbWgEndpoint;

typedef enum {
  NB_WG_TRANSPORT_SOCKET,
  NB_WG_TRANSPORT_CHANNEL,
} NbWgTransportKind;

struct _NbWgTransport
{
  NbWgTransportKind kind;
  int fd;
  NbWgEndpoint remote;
  NbWgTransportSendFunc send_func;
  gpointer user_data;
  GDestroyNotify destroy;
  NbWgPeer *peer; /* not owned; set while a peer holds it */
};

typedef struct _NbWgKeypair NbWgKeypair;
struct _NbWgKeypair
{
  gint ref_count;
  NbWgSessionKeys keys;
  guint64 send_counter; /* atomic */
  gint64 birthdate;     /* device clock, µs */
  gboolean is_valid;    /* cleared (atomically) when keys are zeroed */
  GMutex replay_lock;
  NbWgReplay replay;
  NbWgPeer *peer;       /* strong */
};

NbWgKeypair *nb_wg_keypair_ref   (NbWgKeypair *keypair);
void         nb_wg_keypair_unref (NbWgKeypair *keypair);

typedef enum {
  NB_WG_INDEX_HANDSHAKE,
  NB_WG_INDEX_KEYPAIR,
} NbWgIndexKind;

typedef struct {
  NbWgIndexKind kind;
  NbWgPeer *peer;        /* not owned */
  NbWgKeypair *keypair;  /* owned when kind is KEYPAIR */
} NbWgIndexEntry;

typedef struct {
  guint8 *data;
  gsize len;
} NbWgStagedPacket;

struct _NbWgPeer
{
  GObject parent_instance;

  NbWgDevice *device; /* not owned; NULL once removed */
  NbKey *public_key;
  guint8 public_key_bytes[NB_KEY_LEN];

  NbWgHandshake handshake;
  NbWgCookie cookie;

  GMutex keypairs_lock;
  NbWgKeypair *current;
  NbWgKeypair *previous;
  NbWgKeypair *next;

  GMutex lock;
  NbWgEndpoint endpoint;
  NbWgTransport *transport;
  NbWgTimers timers;
  gint64 last_sent_handshake; /* device clock, µs; 0 never */
  gboolean sent_lastminute_handshake;
  GQueue staged; /* of NbWgStagedPacket */
  GPtrArray *allowed_ips; /* of GInetAddressMask, in the order given */

  guint64 rx_bytes;                 /* atomic */
  guint64 tx_bytes;                 /* atomic */
  gint64 last_handshake_real_time;  /* atomic, µs since the epoch */
  gint64 handshake_rtt;             /* atomic, µs: our last initiation to its
                                     * response; 0 unknown */
};

struct _NbWgDevice
{
  GObject parent_instance;

  NbTun *tun;
  GMainContext *context;

  GRWLock config_lock;
  NbWgStaticIdentity identity;
  NbKey *private_key;
  NbWgCookieChecker cookie_checker;
  GHashTable *peers;      /* public key bytes -> NbWgPeer (owned) */
  GPtrArray *peer_order;  /* of NbWgPeer, not owned: listing order */
  NbWgAllowedIps allowedips;
  guint16 listen_port;    /* as configured; 0 = any */
  guint16 bound_port;     /* as bound while up */
  guint32 fwmark;
  gboolean up;
  int fd4;
  int fd6;
  gboolean gso_ok;        /* UDP_SEGMENT accepted by the kernel */
  guint mtu;              /* of the TUN when up; caps the padding */

  GRWLock index_lock;
  GHashTable *index_table; /* guint32 -> NbWgIndexEntry* */
  GHashTable *transports;  /* set of live socket transports (config_lock) */

  /* Packet threads */
  int epoll_fd;
  int stop_fd;            /* eventfd: wakes and stops the threads */
  gboolean stopping;      /* atomic */
  GThread *rx_thread;
  GPtrArray *tun_threads;
  GPtrArray *packet_locks; /* of GMutex*, one per packet thread */
  NbWgCryptPool *crypt_pool; /* while up; shared by the packet threads */

  GSource *timer_source;

  /* Clock: monotonic µs; replaceable for tests. */
  NbWgClockFunc clock;
  gpointer clock_data;

  /* Under load (§5.3): handshake messages counted per second. */
  gint64 load_window_start;   /* guarded by load_lock */
  guint load_count;
  gint64 under_load_until;
  guint load_threshold;
  GMutex load_lock;
  NbWgRatelimiter ratelimiter;

  /* The packet filter: NULL until configured, then kept (set under the
   * configuration write lock, read by the packet paths under their share). */
  NbFilter *filter;

  /* Without a TUN, decrypted packets go here (tests, transports). */
  NbWgPacketFunc packet_func;
  gpointer packet_data;

  guint64 counters[NB_WG_N_COUNTERS]; /* atomic */
};

static inline gint64
nb_wg_device_now (NbWgDevice *device)
{
  return device->clock (device->clock_data);
}

static inline void
nb_wg_device_count (NbWgDevice *device, NbWgCounter counter, guint64 n)
{
  __atomic_fetch_add (&device->counters[counter], n, __ATOMIC_RELAXED);
}

/* nb-wg-peer.c */
NbWgPeer *nb_wg_peer_new_internal (NbWgDevice *device,
                                   NbKey      *public_key);
void      nb_wg_peer_detach       (NbWgPeer *peer);
gboolean  nb_wg_peer_received_with_keypair (NbWgPeer    *peer,
                                            NbWgKeypair *keypair);
NbWgKeypair *nb_wg_peer_get_current_keypair (NbWgPeer *peer);
void      nb_wg_peer_purge_staged (NbWgPeer *peer);
void      nb_wg_peer_handshake_completed (NbWgPeer *peer);
void      nb_wg_peer_zero_keys    (NbWgPeer *peer);
void      nb_wg_peer_tick         (NbWgPeer *peer,
                                   gint64    now);
gboolean  nb_wg_peer_get_endpoint_raw (NbWgPeer     *peer,
                                       NbWgEndpoint *out);
void      nb_wg_peer_update_endpoint  (NbWgPeer           *peer,
                                       const NbWgEndpoint *from);

/* nb-wg-index.c: the index table */
GHashTable *nb_wg_index_table_new (void);
guint32   nb_wg_device_index_add_handshake (NbWgDevice *device,
                                            NbWgPeer   *peer,
                                            guint32     old_index);
void      nb_wg_device_index_remove_handshake (NbWgDevice *device,
                                               NbWgPeer   *peer,
                                               guint32     index);
guint32   nb_wg_device_index_add_keypair   (NbWgDevice  *device,
                                            NbWgKeypair *keypair,
                                            guint32      reuse_index);
void      nb_wg_device_index_remove        (NbWgDevice *device,
                                            guint32     index);
NbWgKeypair *nb_wg_device_index_lookup_keypair (NbWgDevice *device,
                                                guint32     index);
NbWgPeer *nb_wg_device_index_lookup_peer   (NbWgDevice *device,
                                            guint32     index);
NbWgPeer *nb_wg_device_lookup_peer_raw     (NbWgDevice   *device,
                                            const guint8 *public_key);
gboolean  nb_wg_device_is_under_load       (NbWgDevice *device,
                                            gint64      now);
void      nb_wg_device_register_transport   (NbWgDevice    *device,
                                             NbWgTransport *transport);
void      nb_wg_device_unregister_transport (NbWgDevice    *device,
                                             NbWgTransport *transport);

typedef struct {
  NbWgDevice *device;
  guint queue;
  GMutex *lock; /* this thread's share of the configuration lock */
} NbWgThreadData;

void      nb_wg_device_config_write_lock   (NbWgDevice *device);
void      nb_wg_device_config_write_unlock (NbWgDevice *device);

/* nb-wg-device-threads.c: open the sockets and start the packet threads
 * (a no-op when up), and the reverse, keeping sessions. */
gboolean  nb_wg_device_up_sockets   (NbWgDevice  *device,
                                     GError     **error);
void      nb_wg_device_down_sockets (NbWgDevice *device);
gboolean  nb_wg_device_transport_is_live (NbWgDevice    *device,
                                          NbWgTransport *transport);

/* nb-wg-socket.c */
gboolean  nb_wg_socket_open   (NbWgDevice *device,
                               GError    **error);
void      nb_wg_socket_close  (NbWgDevice *device);
gboolean  nb_wg_socket_set_fwmark (NbWgDevice *device,
                                   guint32     fwmark,
                                   GError    **error);
/* Sends @n datagrams to @endpoint; with @segment_size > 0 they are all that
 * long except maybe the last, and go as one UDP_SEGMENT send. */
int       nb_wg_socket_send   (NbWgDevice         *device,
                               const NbWgEndpoint *endpoint,
                               struct iovec       *iov,
                               guint               n,
                               gsize               segment_size);
int       nb_wg_socket_send_fd (NbWgDevice         *device,
                                int                 fd,
                                const NbWgEndpoint *endpoint,
                                struct iovec       *iov,
                                guint               n,
                                gsize               segment_size);
gboolean  nb_wg_socket_send_one (NbWgDevice         *device,
                                 const NbWgEndpoint *endpoint,
                                 const void         *data,
                                 gsize               len);
void      nb_wg_endpoint_to_source (const NbWgEndpoint *endpoint,
                                    guint8             *out,
                                    gsize              *out_len);

/* nb-wg-send.c */
/* Encrypts and sends packets (IP packets at buf[i] + NB_WG_HEADROOM of
 * lens[i] bytes, buffers of NB_WG_PACKET_BUFFER_SIZE) to @peer, or stages
 * them and starts a handshake. Caller holds the config lock (read). */
void      nb_wg_send_packets          (NbWgPeer *peer,
                                       guint8  **bufs,
                                       gsize    *lens,
                                       guint     n);
void      nb_wg_send_keepalive        (NbWgPeer *peer);
void      nb_wg_send_handshake_initiation (NbWgPeer *peer,
                                           gboolean  is_retry);
void      nb_wg_send_staged_packets   (NbWgPeer *peer);
/* Sends already built datagrams through the peer's transport. */
gboolean  nb_wg_send_datagrams        (NbWgPeer     *peer,
                                       struct iovec *iov,
                                       guint         n,
                                       gsize         segment_size);
gpointer  nb_wg_tun_thread            (gpointer data);

/* nb-wg-receive.c */
typedef struct _NbWgRxBatch NbWgRxBatch;
NbWgRxBatch *nb_wg_rx_batch_new  (NbWgDevice *device);
void         nb_wg_rx_batch_free (NbWgRxBatch *batch);
/* Handles one datagram (decrypted in place); TUN writes are collected in
 * @batch until nb_wg_rx_batch_flush(). @via is the peer whose transport
 * brought it (its datagrams only are taken, and nothing roams), NULL for
 * the device's own sockets (then @from is the source, for roaming). Caller
 * holds the config lock (read). */
void         nb_wg_receive_datagram (NbWgRxBatch        *batch,
                                     guint8             *data,
                                     gsize               len,
                                     const NbWgEndpoint *from,
                                     NbWgPeer           *via);
void         nb_wg_rx_batch_flush   (NbWgRxBatch *batch);
gpointer     nb_wg_rx_thread        (gpointer data);

G_END_DECLS
