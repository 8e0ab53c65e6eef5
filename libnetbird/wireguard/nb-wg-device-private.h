/* nb-wg-device-private.h: what other layers (UAPI, transports, tests) may
 * use of an NbWgDevice beyond its public API
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * Notes for the UAPI (wg(8) "get"):
 *  - protocol_version is always 1;
 *  - nb_wg_peer_get_last_handshake_time() returns µs since the Unix epoch
 *    (0 = never): last_handshake_time_sec = t / G_USEC_PER_SEC,
 *    last_handshake_time_nsec = (t % G_USEC_PER_SEC) * 1000;
 *  - nb_wg_device_get_listen_port() returns the port actually bound while the
 *    device is up (even when 0, "any", was configured).
 */
#pragma once

#include "nb-filter-private.h"
#include "nb-wg-device.h"
#include "nb-wg-peer.h"

G_BEGIN_DECLS

/* Monotonic time in µs, like g_get_monotonic_time(). */
typedef gint64 (*NbWgClockFunc) (gpointer user_data);

/* Receives a decrypted IP packet from @peer when the device has no TUN. Runs
 * on a packet thread. */
typedef void (*NbWgPacketFunc) (NbWgDevice   *device,
                                NbWgPeer     *peer,
                                const guint8 *packet,
                                gsize         len,
                                gpointer      user_data);

/* Counters of the packet path (all since the device was created). */
typedef enum {
  NB_WG_COUNTER_RX_DATAGRAMS,
  NB_WG_COUNTER_RX_DATA_PACKETS,
  NB_WG_COUNTER_RX_KEEPALIVES,
  NB_WG_COUNTER_RX_DROP_MALFORMED,     /* bad type, length or reserved bytes */
  NB_WG_COUNTER_RX_DROP_UNKNOWN_INDEX, /* no keypair for the receiver index */
  NB_WG_COUNTER_RX_DROP_DECRYPT,       /* failed authentication */
  NB_WG_COUNTER_RX_DROP_REPLAY,        /* counter seen or too old */
  NB_WG_COUNTER_RX_DROP_EXPIRED_KEY,   /* keypair past REJECT_AFTER_TIME */
  NB_WG_COUNTER_RX_DROP_ALLOWED_IPS,   /* inner source not the peer's */
  NB_WG_COUNTER_RX_DROP_INNER_MALFORMED,
  NB_WG_COUNTER_RX_DROP_MAC1,          /* handshake with a bad mac1 */
  NB_WG_COUNTER_RX_DROP_HANDSHAKE,     /* handshake that did not open */
  NB_WG_COUNTER_RX_HANDSHAKE_INITIATIONS,
  NB_WG_COUNTER_RX_HANDSHAKE_RESPONSES,
  NB_WG_COUNTER_RX_COOKIE_REPLIES,
  NB_WG_COUNTER_TX_COOKIE_REPLIES,     /* sent while under load */
  NB_WG_COUNTER_TX_HANDSHAKE_INITIATIONS,
  NB_WG_COUNTER_TX_DATA_PACKETS,
  NB_WG_COUNTER_TX_DROP_NO_PEER,       /* no allowed IP for the destination */
  NB_WG_COUNTER_TX_DROP_NO_ENDPOINT,
  NB_WG_COUNTER_TX_DROP_STAGED,        /* staged queue full or given up */
  NB_WG_COUNTER_TX_ERRORS,             /* send system call failed */
  NB_WG_COUNTER_RX_DROP_RATELIMITED,   /* under load, too many from one address */
  NB_WG_COUNTER_CRYPT_OFFLOADED,       /* packets sealed or opened by a crypto worker */
  NB_WG_COUNTER_TX_ICMP_UNREACHABLE,   /* errors written back for TX_DROP_NO_PEER */
  NB_WG_COUNTER_RX_DROP_WRONG_PEER,    /* came through one peer's transport, was another's */
  NB_WG_COUNTER_RX_DROP_FILTER,        /* inbound, refused by the packet filter */
  NB_WG_COUNTER_TX_DROP_FILTER,        /* outbound, refused by the packet filter */
  NB_WG_N_COUNTERS
} NbWgCounter;

guint64  nb_wg_device_get_counter     (NbWgDevice   *self,
                                       NbWgCounter   counter);
/* Replaces the clock of timers, key ages and cookies (tests). */
void     nb_wg_device_set_clock       (NbWgDevice   *self,
                                       NbWgClockFunc clock,
                                       gpointer      user_data);
/* Runs the timers of every peer now (the device also does it by itself on
 * its main context every 100 ms while up). */
void     nb_wg_device_tick            (NbWgDevice   *self);
void     nb_wg_device_set_packet_func (NbWgDevice    *self,
                                       NbWgPacketFunc func,
                                       gpointer       user_data);
/* Sends one IP packet as if read from the TUN (copied). FALSE when no peer
 * has the destination in its allowed IPs or the packet is malformed. */
gboolean nb_wg_device_inject_packet   (NbWgDevice   *self,
                                       const guint8 *packet,
                                       gsize         len);
/* Handshake messages per second above which the device is "under load" and
 * demands mac2 (answering with cookie replies). Default 256. */
void     nb_wg_device_set_under_load_threshold (NbWgDevice *self,
                                                guint       per_second);
gboolean nb_wg_device_get_under_load  (NbWgDevice   *self);
/* Copies the peer's preshared key into @out (32 bytes; all zero for none),
 * for the UAPI "get". The caller wipes @out with sodium_memzero(). Returns
 * whether a non-zero key is set. */
gboolean nb_wg_peer_copy_preshared_key (NbWgPeer *peer,
                                        guint8   *out);
/* Starts a handshake with @peer now (as `wg` does on a new endpoint). */
void     nb_wg_peer_initiate_handshake (NbWgPeer    *peer);
/* The time from this side's last handshake initiation to the peer's
 * response, in µs (0 until one completed): the tunnel's round trip, as the
 * client's status shows it. */
gint64   nb_wg_peer_get_handshake_rtt  (NbWgPeer    *peer);

/* The packet filter (nb-filter-private.h), for the engine and the tests:
 * inbound packets are judged after decryption and the allowed-IPs check,
 * outbound ones (and recorded in its connection table) before encryption.
 * Until a rule set or a mode is given the device has no filter and lets
 * everything through.
 *
 * Replaces the rule set in force with @rules (taken; NULL: none, so
 * everything passes in enforcing mode). The swap waits only for the
 * packet threads' current batches; the old set is freed after it. */
void     nb_wg_device_set_filter_rule_set (NbWgDevice      *self,
                                           NbFilterRuleSet *rules);
/* Compiles @rules and puts them in force; on a bad rule nothing changes. */
gboolean nb_wg_device_set_filter_rules (NbWgDevice         *self,
                                        const NbFilterRule *rules,
                                        gsize               n,
                                        GError            **error);
void     nb_wg_device_set_filter_mode  (NbWgDevice  *self,
                                        NbFilterMode mode);
/* (nullable): the filter, once there is one (it stays until the device
 * goes): its mode, rules and counters. */
NbFilter *nb_wg_device_get_filter      (NbWgDevice *self);

G_END_DECLS
