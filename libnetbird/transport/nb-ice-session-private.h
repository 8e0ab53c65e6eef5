/* nb-ice-session-private.h: what the files of NbIceSession share
 *
 * Library-internal. nb-ice-session.c holds the object, its state and its
 * public face; nb-ice-runner.c the threads the agents share;
 * nb-ice-agent.c libnice's callbacks and the agent's close;
 * nb-ice-negotiation.c what comes from the other peer (credentials,
 * candidates, restarts); nb-ice-wg-path.c the WireGuard peer's transport
 * (channel and socket hand-over); nb-ice-servers.c STUN and TURN servers.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#if !defined(NB_COMPILATION)
#error "nb-ice-session-private.h is internal to libnetbird."
#endif

#include <nice/agent.h>

#include "nb-ice-session.h"
#include "nb-wg-transport.h"

G_BEGIN_DECLS

#define NB_ICE_COMPONENT_ID 1
#define NB_ICE_RESTART_DELAY_MIN_MS 1000
#define NB_ICE_RESTART_DELAY_MAX_MS 32000
#define NB_ICE_CLOSE_TIMEOUT_MS 2000
/* Remote candidates one round takes: a peer has a few per interface and
 * server; more would only make check lists grow. */
#define NB_ICE_MAX_REMOTE_CANDIDATES 64
/* The largest datagram the receive callback copies (libnice's own buffer
 * is 64 KiB too). */
#define NB_ICE_RX_BUFFER_SIZE 65536
/* WireGuard handshake messages (initiation 148 bytes, response 92, cookie
 * reply 64) held while this side has no path to answer on yet. */
#define NB_ICE_HELD_MAX 4
#define NB_ICE_HELD_SIZE 256
/* Threads the agents of every session in the process share. */
#define NB_ICE_RUNNER_THREADS 2

typedef struct _NbIceRunner NbIceRunner;

/* A STUN or TURN server, as given (host resolved before gathering). */
typedef struct
{
  char *host;
  guint16 port;
  NiceRelayType relay_type;
  char *username;
  char *password;
} NbIceServer;

/* What a channel transport needs: shared by the session and every channel
 * transport it handed out, which may outlive it briefly. */
typedef struct
{
  gatomicrefcount ref;
  NiceAgent *agent;
  guint stream_id;
  guint64 tx;             /* atomic */
} NbIceChannel;

typedef enum {
  NB_ICE_EVENT_CREDENTIALS,
  NB_ICE_EVENT_CANDIDATE,
  NB_ICE_EVENT_GATHERING_DONE,
  NB_ICE_EVENT_STATE,
  NB_ICE_EVENT_SELECTED_PAIR,
  NB_ICE_EVENT_WG_SEEN,
} NbIceEventKind;

typedef struct
{
  NbIceEventKind kind;
  guint generation;
  char *text;             /* candidate, or ufrag */
  char *text2;            /* pwd */
  NiceComponentState nice_state;
  NbIceCandidateType local_type;
  NbIceCandidateType remote_type;
  GInetSocketAddress *local;
  GInetSocketAddress *remote;
} NbIceEvent;

struct _NbIceSession
{
  GObject parent_instance;

  NbKey *local_key;
  NbKey *remote_key;
  gboolean controlling;
  gboolean auto_restart;
  gboolean relay_only;

  GMainContext *owner_context;
  NbIceRunner *runner;       /* the agent's thread, from the start */
  gboolean parked;

  NiceAgent *agent;
  guint stream_id;
  NbIceChannel *channel;
  GPtrArray *stun_servers;   /* NbIceServer */
  GPtrArray *turn_servers;   /* NbIceServer */
  GPtrArray *local_addresses; /* GInetAddress */
  GCancellable *cancellable;
  guint n_resolving;

  NbIceSessionState state;
  guint generation;          /* bumped by every restart */
  char *session_id;
  char *remote_ufrag;
  char *remote_pwd;
  GPtrArray *pending_candidates; /* char *, until the remote credentials */
  guint n_remote_candidates;     /* taken this round */
  gboolean nice_ready;
  guint restart_source;
  guint restart_delay_ms;

  gboolean have_pair;
  NbIceCandidateType local_type;
  NbIceCandidateType remote_type;
  GInetSocketAddress *local_address;
  GInetSocketAddress *remote_address;
  NbIceTransportKind transport_kind;

  /* Shared with the runner's thread and libnice's callbacks. */
  GMutex lock;
  NbWgDevice *device;
  NbWgPeer *peer;
  gboolean wg_seen;          /* a WireGuard datagram came through the agent */
  guint64 rx;
  /* Before the first pair is selected the peer has no transport of this
   * session, yet the other side may have selected its own and sent its
   * handshake initiation: held here until there is a way to answer. */
  gboolean wg_path;          /* the peer has a transport of the session */
  guint n_held;
  guint16 held_len[NB_ICE_HELD_MAX];
  guint8 held[NB_ICE_HELD_MAX][NB_ICE_HELD_SIZE];
  GQueue events;
  GSource *event_source;
};

/* nb-ice-session.c */
gboolean nb_ice_session_dispatch_events    (gpointer            user_data);
void     nb_ice_session_set_state          (NbIceSession       *self,
                                            NbIceSessionState   state);
void     nb_ice_session_set_transport_kind (NbIceSession       *self,
                                            NbIceTransportKind  kind);
void     nb_ice_session_new_session_id     (NbIceSession       *self);
void     nb_ice_session_queue_credentials  (NbIceSession       *self);

/* nb-ice-agent.c: libnice's callbacks, any thread in; the session's
 * context out, through the event queue */
NbIceEvent *nb_ice_event_new                (NbIceEventKind      kind);
void        nb_ice_event_free               (gpointer            event);
void        nb_ice_session_push_event       (NbIceSession       *self,
                                             NbIceEvent         *event);
char       *nb_ice_candidate_to_attribute   (NiceAgent          *agent,
                                             NiceCandidate      *candidate);
void        nb_ice_session_connect_agent    (NbIceSession       *self);
void        nb_ice_session_close_agent      (NbIceSession       *self);

/* nb-ice-runner.c: the threads the agents share */
NbIceRunner  *nb_ice_runner_acquire          (void);
void          nb_ice_runner_release          (NbIceRunner        *runner);
GMainContext *nb_ice_runner_get_context      (NbIceRunner        *runner);
GMainContext *nb_ice_runner_get_park_context (NbIceRunner        *runner);
guint8       *nb_ice_runner_get_rx_buffer    (NbIceRunner        *runner);
guint         nb_ice_runner_count_threads    (void);

/* nb-ice-negotiation.c */
void     nb_ice_session_restart_agent      (NbIceSession       *self);

/* nb-ice-wg-path.c */
NbIceChannel *nb_ice_channel_new             (NiceAgent          *agent,
                                              guint               stream_id);
void          nb_ice_channel_unref           (gpointer            channel);
void          nb_ice_session_on_receive      (NiceAgent          *agent,
                                              guint               stream_id,
                                              guint               component_id,
                                              guint               len,
                                              gchar              *buf,
                                              gpointer            user_data);
void          nb_ice_session_set_parked      (NbIceSession       *self,
                                              gboolean            parked);
void          nb_ice_session_update_transport (NbIceSession      *self);

/* nb-ice-servers.c */
void     nb_ice_server_free                (gpointer            server);
gboolean nb_ice_session_check_new          (NbIceSession       *self,
                                            GError            **error);
void     nb_ice_session_resolve_servers    (NbIceSession       *self,
                                            GPtrArray          *servers);
void     nb_ice_session_gather             (NbIceSession       *self);

G_END_DECLS
