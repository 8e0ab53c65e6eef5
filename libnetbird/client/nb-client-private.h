/* nb-client-private.h: what the files of NbClient share
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * nb-client.c          the GObject: status properties and signals
 * nb-client-settings.c its settings (properties too)
 * nb-client-session.c  the life cycle: login, up, down, the sync channel
 *                      and its reconnects
 * nb-client-config.c   the configuration file and the private key file
 * nb-client-meta.c     what the peer tells Management about its system
 * nb-client-engine.c   a network map applied: the TUN and WireGuard
 *                      devices, the peers, the packet filter, Signal
 * nb-client-peer-conn.c one remote peer's connection: offer, answer and
 *                      candidates through Signal, its ICE session, a new
 *                      round when the path dies
 * nb-client-peer.c     the public status object of a remote peer
 *
 * Everything runs on the thread-default main context of the thread that
 * made the client (the ICE sessions' agents run on threads of their own
 * and report back to that context).
 */
#pragma once

#if !defined(NB_COMPILATION)
#error "nb-client-private.h is internal to libnetbird."
#endif

#include "nb-client.h"
#include "nb-key.h"
#include "nb-mgmt-client.h"
#include "nb-mgmt-proto-private.h"
#include "nb-signal-client.h"
#include "nb-tun.h"
#include "nb-wg-device.h"
#include "nb-wg-uapi.h"

G_BEGIN_DECLS

/* -- configuration (nb-client-config.c) ----------------------------------- */

#define NB_CLIENT_DEFAULT_INTERFACE "wt0"
#define NB_CLIENT_DEFAULT_WG_PORT 51820
#define NB_CLIENT_DEFAULT_MANAGEMENT_URL "https://api.netbird.io:443"

typedef struct
{
  char *management_url;
  char *hostname;           /* NULL: the machine's */
  char *interface_name;
  guint16 wireguard_port;   /* 0: any */
  char *preshared_key;      /* base64, NULL: none */
  gboolean block_inbound;
  gboolean disable_firewall;
  gboolean disable_dns;      /* the host's resolver left alone */
  char *private_key_file;   /* absolute */
} NbClientConfig;

void            nb_client_config_free     (NbClientConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NbClientConfig, nb_client_config_free)

/* Reads @path, or makes the defaults when there is no such file (and
 * writes them). */
NbClientConfig *nb_client_config_load     (const char     *path,
                                           GError        **error);
gboolean        nb_client_config_save     (const NbClientConfig *config,
                                           const char     *path,
                                           GError        **error);
/* The private key of the config's key file, made (and written, mode 0600)
 * when there is none yet. */
NbKey          *nb_client_config_load_key (const NbClientConfig *config,
                                           GError        **error);
/* A fresh key replaces the one in the key file (logout). */
NbKey          *nb_client_config_new_key  (const NbClientConfig *config,
                                           GError        **error);
gboolean        nb_client_config_check_preshared_key (const char  *base64,
                                                      GError     **error);

/* -- system meta (nb-client-meta.c) --------------------------------------- */

/* @hostname: NULL for the machine's; @skip_ifname: the tunnel's own
 * interface (its address is no address of the host's). */
NbMgmtMsgPeerMeta *nb_client_meta_collect (const char *hostname,
                                           const char *skip_ifname);
/* The host's own addresses to gather ICE host candidates on: every
 * address of every interface that is up, but loopback, link-local and
 * @skip_ifname's. (transfer full) GInetAddress array. */
GPtrArray         *nb_client_meta_local_addresses (const char *skip_ifname);

/* Drops a reference from the next main-loop iteration of the thread-default
 * context: for objects let go of from within their own signal handlers
 * (an NbMgmtClient closed from its "network-map" or "closed" handler, an
 * ICE session closed from its notification), which must outlive the
 * emission (nb-client.c). */
void nb_client_unref_later (gpointer object);

/* -- the remote peers' status objects (nb-client-peer.c) ------------------ */

NbClientPeer *nb_client_peer_new             (const char *public_key);
void          nb_client_peer_set_address     (NbClientPeer *self,
                                              const char   *address);
void          nb_client_peer_set_fqdn        (NbClientPeer *self,
                                              const char   *fqdn);
void          nb_client_peer_set_state       (NbClientPeer      *self,
                                              NbClientPeerState  state);
/* The path in use (NULL endpoints: none). */
void          nb_client_peer_set_path        (NbClientPeer           *self,
                                              NbClientConnectionType  type,
                                              NbIceCandidateType      local_type,
                                              NbIceCandidateType      remote_type,
                                              const char             *local_endpoint,
                                              const char             *remote_endpoint,
                                              const char             *relay_address);
void          nb_client_peer_set_latency     (NbClientPeer *self,
                                              gint64        latency_us);
/* The WireGuard peer whose counters the status reads live (NULL: none). */
void          nb_client_peer_set_wg_peer     (NbClientPeer *self,
                                              NbWgPeer     *peer);
NbWgPeer     *nb_client_peer_get_wg_peer     (NbClientPeer *self);

/* -- one remote peer's connection (nb-client-peer-conn.c) ----------------- */

typedef struct _NbClientPeerConn NbClientPeerConn;

/* A STUN or TURN server as Management hands it out. */
typedef struct
{
  char *uri;
  char *user;       /* TURN only */
  char *password;
} NbClientIceServer;

void nb_client_ice_server_free (NbClientIceServer *server);

/* The client's side the connections of its peers share. */
typedef struct
{
  NbKey *key;
  NbWgDevice *device;
  NbSignalClient *signal;
  GPtrArray *stuns;            /* NbClientIceServer */
  GPtrArray *turns;            /* NbClientIceServer */
  GPtrArray *local_addresses;  /* GInetAddress */
  const guint8 *preshared_key; /* 32 bytes, or NULL */
  GHashTable *relays;          /* URL -> NbRelayClient, one per relay of
                                * the map */
  char *home_relay;            /* the URL of the first relay that
                                * answered, named in offers; NULL */
} NbClientConnContext;

/* A connection to the remote peer @remote_key, whose NbWgPeer on the
 * context's device is @wg_peer and whose status object is @status. It
 * starts its ICE session at once. */
NbClientPeerConn *nb_client_peer_conn_new      (NbClientConnContext *context,
                                                NbKey               *remote_key,
                                                NbWgPeer            *wg_peer,
                                                NbClientPeer        *status);
void              nb_client_peer_conn_free     (NbClientPeerConn    *conn);
NbKey            *nb_client_peer_conn_get_remote_key (NbClientPeerConn *conn);
/* A message from the remote peer through Signal. */
void              nb_client_peer_conn_handle_message (NbClientPeerConn *conn,
                                                      NbSignalMessage  *message);
/* Signal is back: what was sent while it was away is lost. */
void              nb_client_peer_conn_signal_connected (NbClientPeerConn *conn);
/* The STUN and TURN servers changed (new credentials): used by the next
 * round. */
void              nb_client_peer_conn_servers_changed (NbClientPeerConn *conn);
/* The relays changed, or this side's home relay became known: offers it
 * to the peer and takes the relay path when both sides have one. */
void              nb_client_peer_conn_relays_changed (NbClientPeerConn *conn);
/* Looks at the path once (every few seconds): a new round when WireGuard
 * handshakes stopped completing over it. */
void              nb_client_peer_conn_check (NbClientPeerConn *conn,
                                             gint64            now);
/* Counters of the connection, for tests and logs. */
guint             nb_client_peer_conn_get_rounds (NbClientPeerConn *conn);
/* Times the WireGuard peer was handed the relay's transport. */
guint             nb_client_peer_conn_get_relay_switches (NbClientPeerConn *conn);

/* -- the relays (nb-client-relays.c) -------------------------------------- */

typedef struct _NbClientRelays NbClientRelays;

/* The engine's relay connections: they fill @context's relays and
 * home_relay and tell the connections of @conns (public key base64 ->
 * NbClientPeerConn) when those change. */
NbClientRelays *nb_client_relays_new    (NbClientConnContext        *context,
                                         GHashTable                 *conns);
/* One client per URL of @config (new ones started, gone ones stopped),
 * each with @config's token. */
void            nb_client_relays_update (NbClientRelays             *relays,
                                         const NbMgmtMsgRelayConfig *config);
/* Every relay connection stopped; call once the connections are gone. */
void            nb_client_relays_free   (NbClientRelays             *relays);

/* -- the engine (nb-client-engine.c) -------------------------------------- */

typedef struct _NbClientEngine NbClientEngine;

NbClientEngine *nb_client_engine_new   (NbClient         *client,
                                        NbKey            *key);
void            nb_client_engine_free  (NbClientEngine   *engine);
/* Applies what Management said of the other services (Signal, STUN,
 * TURN). */
gboolean        nb_client_engine_set_services (NbClientEngine               *engine,
                                               const NbMgmtMsgNetbirdConfig *config,
                                               GError                      **error);
/* Applies a whole map: device, address, peers, rules. */
gboolean        nb_client_engine_apply_map (NbClientEngine            *engine,
                                            const NbMgmtMsgNetworkMap *map,
                                            GError                   **error);
/* Every remote peer gone (the own peer was deleted). */
void            nb_client_engine_remove_all_peers (NbClientEngine *engine);
/* The filter mode from the settings (block-inbound, disable-firewall). */
void            nb_client_engine_update_filter_mode (NbClientEngine *engine);
NbWgDevice     *nb_client_engine_get_device (NbClientEngine *engine);
/* DNS off in the settings: stops the resolver, puts the host's back. */
void            nb_client_engine_stop_dns (NbClientEngine *engine);
/* The rules in force, and the filter's drops both ways. */
guint           nb_client_engine_get_n_rules (NbClientEngine *engine);
guint64         nb_client_engine_get_drops  (NbClientEngine *engine);

/* -- NbClient's own (nb-client.c), for its other files --------------------- */

/* The object, shared by nb-client.c (properties, status),
 * nb-client-settings.c and nb-client-session.c (the life cycle). */
struct _NbClient
{
  GObject parent_instance;

  char *config_path;
  NbClientConfig *config;
  NbKey *key;

  NbClientState state;
  char *address;
  char *fqdn;
  gboolean management_connected;
  char *management_error;
  char *signal_url;
  gboolean signal_connected;
  char *signal_error;

  GMainContext *context;
  NbMgmtClient *mgmt;
  NbClientEngine *engine;
  GCancellable *cancellable;    /* of the run, from up to down */
  GTask *up_task;               /* until the first map is applied */
  GSource *reconnect_source;
  guint reconnect_attempts;
  gboolean syncing;             /* the sync channel is open or opening */
};

void  nb_client_set_state             (NbClient      *self,
                                       NbClientState  state);
void  nb_client_set_management        (NbClient      *self,
                                       gboolean       connected,
                                       const char    *error);
void  nb_client_notify                (NbClient      *self,
                                       const char    *property);
/* Ends the run (up to down): Management, reconnects, the engine
 * (nb-client-session.c). */
void  nb_client_stop_run              (NbClient      *self);
/* Fails a pending up with @error (taken). */
void  nb_client_fail_up               (NbClient      *self,
                                       GError        *error);

const NbClientConfig *nb_client_get_config (NbClient *self);
void  nb_client_emit_peer_added       (NbClient     *self,
                                       NbClientPeer *peer);
void  nb_client_emit_peer_removed     (NbClient     *self,
                                       NbClientPeer *peer);
void  nb_client_emit_network_map_applied (NbClient *self,
                                          gint64    serial);
void  nb_client_set_signal_status     (NbClient     *self,
                                       const char   *url,
                                       gboolean      connected,
                                       const char   *error);
void  nb_client_set_own_address       (NbClient     *self,
                                       const char   *address,
                                       const char   *fqdn);
/* The engine's peers, in the order Management listed them. */
GPtrArray *nb_client_engine_list_peers (NbClientEngine *engine);
NbClientPeer *nb_client_engine_lookup_peer (NbClientEngine *engine,
                                            const char     *public_key);

G_END_DECLS
