/* nb-ice-session.c: one ICE session between two peers, over libnice
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * Threads. The NiceAgent lives on a thread of the session's own with a
 * GMainContext of its own: its timers, its STUN/TURN traffic and the
 * WireGuard datagrams it receives on a relayed pair never touch the
 * caller's main loop. libnice emits its signals on whichever thread runs
 * it (that thread, or the caller's during a nice_agent_*() call); the
 * handlers here only queue an event, and the session's own signals and
 * property changes are emitted from that queue on the context the session
 * was created in.
 *
 * The hand-over. Once a pair is selected the attached WireGuard peer gets a
 * channel transport that sends with nice_agent_send() and receives from the
 * agent's receive callback (on the session's thread). For a host, server-
 * or peer-reflexive pair, the selected socket is then duplicated and handed
 * to the peer with nb_wg_transport_new_socket(), so the packet threads read
 * and write it directly. Two things must hold first, or the packet threads
 * would eat connectivity checks that libnice still needs: this side's
 * checks are done (libnice's READY), and the other side's are too, which
 * its first WireGuard datagram proves (a peer sends WireGuard on a pair only
 * once it selected it). From then on the agent's sockets wait on a context
 * nobody runs ("parked"), so every datagram goes to the packet threads; a
 * restart moves the peer back to the channel and the sockets back to the
 * session's thread before new checks start.
 *
 * After a restart the proof is weaker: the old pair stays selected (RFC
 * 8445 §9) and keeps carrying the other side's WireGuard while it checks,
 * so this side may park while the other still has checks in flight. Those
 * it loses fail on its side; it keeps its pair or, failing, restarts.
 */
#define G_LOG_DOMAIN "netbird-ice"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <nice/agent.h>
#include <sodium.h>

#include "nb-ice-session.h"
#include "nb-transport-enum-types.h"
#include "nb-wg-transport.h"
#include "nb-proto-error.h"
#include "nb-signal-proto-private.h"

#define COMPONENT_ID 1
#define RESTART_DELAY_MIN_MS 1000
#define RESTART_DELAY_MAX_MS 32000
#define CLOSE_TIMEOUT_MS 2000
/* Remote candidates one round takes: a peer has a few per interface and
 * server; more would only make check lists grow. */
#define MAX_REMOTE_CANDIDATES 64
/* The largest datagram the receive callback copies (libnice's own buffer
 * is 64 KiB too). */
#define RX_BUFFER_SIZE 65536

G_DEFINE_QUARK (nb-ice-session-error-quark, nb_ice_session_error)

/**
 * NbIceSession:
 *
 * One ICE session (RFC 8445, in libnice's RFC 5245 mode) between this peer
 * and another, to find a UDP path between them through NATs, and the path
 * the attached WireGuard peer's packets then take.
 *
 * The two peers exchange what a session emits through a signalling channel
 * (Signal, sealed between their keys): #NbIceSession::local-credentials
 * goes into an offer or answer, each #NbIceSession::local-candidate into a
 * candidate message; what arrives goes into
 * nb_ice_session_set_remote_credentials() and
 * nb_ice_session_add_remote_candidate(). The side whose public key is the
 * greater takes the controlling role.
 *
 * Once a pair is selected, the peer attached with
 * nb_ice_session_set_wg_peer() gets the path: the selected socket itself
 * for a host, server-reflexive or peer-reflexive pair (the WireGuard packet
 * threads read and write it), a channel through the agent for a relayed
 * pair.
 *
 * The agent runs on a thread of the session's own. Signals and property
 * notifications are emitted on the thread-default main context of the
 * thread that created the session, and methods are called from it.
 */

typedef struct
{
  char *host;
  guint16 port;
  NiceRelayType relay_type;
  char *username;
  char *password;
} Server;

/* What a channel transport needs: shared by the session and every channel
 * transport it handed out, which may outlive it briefly. */
typedef struct
{
  gatomicrefcount ref;
  NiceAgent *agent;
  guint stream_id;
  guint64 tx;             /* atomic */
} Channel;

typedef enum {
  EVENT_CREDENTIALS,
  EVENT_CANDIDATE,
  EVENT_GATHERING_DONE,
  EVENT_STATE,
  EVENT_SELECTED_PAIR,
  EVENT_WG_SEEN,
} EventKind;

typedef struct
{
  EventKind kind;
  guint generation;
  char *text;             /* candidate, or ufrag */
  char *text2;            /* pwd */
  NiceComponentState nice_state;
  NbIceCandidateType local_type;
  NbIceCandidateType remote_type;
  GInetSocketAddress *local;
  GInetSocketAddress *remote;
} Event;

struct _NbIceSession
{
  GObject parent_instance;

  NbKey *local_key;
  NbKey *remote_key;
  gboolean controlling;
  gboolean auto_restart;
  gboolean relay_only;

  GMainContext *owner_context;
  GMainContext *worker_context;
  GMainLoop *worker_loop;
  GThread *worker;
  GMainContext *park_context;
  gboolean parked;

  NiceAgent *agent;
  guint stream_id;
  Channel *channel;
  GPtrArray *stun_servers;   /* Server */
  GPtrArray *turn_servers;   /* Server */
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

  /* Shared with the session's thread and libnice's callbacks. */
  GMutex lock;
  NbWgDevice *device;
  NbWgPeer *peer;
  gboolean wg_seen;          /* a WireGuard datagram came through the agent */
  guint64 rx;
  guint8 *rx_buffer;
  GQueue events;
  GSource *event_source;
};

G_DEFINE_FINAL_TYPE (NbIceSession, nb_ice_session, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_LOCAL_KEY,
  PROP_REMOTE_KEY,
  PROP_CONTROLLING,
  PROP_STATE,
  PROP_SESSION_ID,
  PROP_AUTO_RESTART,
  PROP_TRANSPORT_KIND,
  PROP_RELAY_ONLY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_LOCAL_CREDENTIALS,
  SIGNAL_LOCAL_CANDIDATE,
  SIGNAL_LOCAL_GATHERING_DONE,
  SIGNAL_SELECTED_PAIR_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void update_transport (NbIceSession *self);

/* -- small pieces --------------------------------------------------------- */

static void
server_free (gpointer data)
{
  Server *server = data;

  g_free (server->host);
  g_free (server->username);
  if (server->password != NULL)
    sodium_memzero (server->password, strlen (server->password));
  g_free (server->password);
  g_free (server);
}

static Channel *
channel_ref (Channel *channel)
{
  g_atomic_ref_count_inc (&channel->ref);
  return channel;
}

static void
channel_unref (gpointer data)
{
  Channel *channel = data;

  if (g_atomic_ref_count_dec (&channel->ref))
    {
      g_object_unref (channel->agent);
      g_free (channel);
    }
}

/* Runs on a WireGuard packet thread. */
static gboolean
channel_send (const guint8 *data,
              gsize         len,
              gpointer      user_data)
{
  Channel *channel = user_data;
  gint sent;

  sent = nice_agent_send (channel->agent, channel->stream_id, COMPONENT_ID, (guint) len,
                          (const gchar *) data);
  if (sent < 0 || (gsize) sent != len)
    return FALSE;
  __atomic_add_fetch (&channel->tx, 1, __ATOMIC_RELAXED);
  return TRUE;
}

static void
event_free (gpointer data)
{
  Event *event = data;

  g_free (event->text);
  g_free (event->text2);
  g_clear_object (&event->local);
  g_clear_object (&event->remote);
  g_free (event);
}

static NbIceCandidateType
candidate_type_from_nice (NiceCandidateType type)
{
  switch (type)
    {
    case NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE:
      return NB_ICE_CANDIDATE_TYPE_SERVER_REFLEXIVE;
    case NICE_CANDIDATE_TYPE_PEER_REFLEXIVE:
      return NB_ICE_CANDIDATE_TYPE_PEER_REFLEXIVE;
    case NICE_CANDIDATE_TYPE_RELAYED:
      return NB_ICE_CANDIDATE_TYPE_RELAYED;
    case NICE_CANDIDATE_TYPE_HOST:
    default:
      return NB_ICE_CANDIDATE_TYPE_HOST;
    }
}

static GInetSocketAddress *
socket_address_from_nice (const NiceAddress *address)
{
  struct sockaddr_storage native;

  memset (&native, 0, sizeof native);
  nice_address_copy_to_sockaddr (address, (struct sockaddr *) &native);
  return G_INET_SOCKET_ADDRESS (g_socket_address_new_from_native (
      &native, native.ss_family == AF_INET6 ? sizeof (struct sockaddr_in6)
                                            : sizeof (struct sockaddr_in)));
}

/* "candidate:..." from libnice's "a=candidate:..." */
static char *
candidate_to_attribute (NiceAgent     *agent,
                        NiceCandidate *candidate)
{
  g_autofree char *sdp = nice_agent_generate_local_candidate_sdp (agent, candidate);

  if (sdp == NULL)
    return NULL;
  return g_strdup (g_str_has_prefix (sdp, "a=") ? sdp + 2 : sdp);
}

/* -- the event queue: any thread in, the owner's context out -------------- */

static gboolean dispatch_events (gpointer user_data);

static void
push_event (NbIceSession *self,
            Event        *event)
{
  g_mutex_lock (&self->lock);
  event->generation = event->generation != 0 ? event->generation : self->generation;
  g_queue_push_tail (&self->events, event);
  if (self->event_source == NULL)
    {
      self->event_source = g_idle_source_new ();
      g_source_set_priority (self->event_source, G_PRIORITY_DEFAULT);
      g_source_set_callback (self->event_source, dispatch_events, g_object_ref (self),
                             g_object_unref);
      g_source_set_static_name (self->event_source, "[netbird] ICE session events");
      g_source_attach (self->event_source, self->owner_context);
    }
  g_mutex_unlock (&self->lock);
}

static Event *
event_new (EventKind kind)
{
  Event *event = g_new0 (Event, 1);

  event->kind = kind;
  return event;
}

/* -- libnice's callbacks (any thread) -------------------------------------- */

static void
on_new_candidate (NiceAgent     *agent,
                  NiceCandidate *candidate,
                  gpointer       user_data)
{
  NbIceSession *self = user_data;
  Event *event;
  char *text;

  if (candidate->stream_id != self->stream_id || candidate->component_id != COMPONENT_ID)
    return;
  text = candidate_to_attribute (agent, candidate);
  if (text == NULL)
    return;
  event = event_new (EVENT_CANDIDATE);
  event->text = text;
  push_event (self, event);
}

static void
on_gathering_done (NiceAgent *agent,
                   guint      stream_id,
                   gpointer   user_data)
{
  NbIceSession *self = user_data;

  if (stream_id == self->stream_id)
    push_event (self, event_new (EVENT_GATHERING_DONE));
}

static void
on_component_state (NiceAgent *agent,
                    guint      stream_id,
                    guint      component_id,
                    guint      state,
                    gpointer   user_data)
{
  NbIceSession *self = user_data;
  Event *event;

  if (stream_id != self->stream_id || component_id != COMPONENT_ID)
    return;
  event = event_new (EVENT_STATE);
  event->nice_state = state;
  push_event (self, event);
}

static void
on_selected_pair (NiceAgent     *agent,
                  guint          stream_id,
                  guint          component_id,
                  NiceCandidate *local,
                  NiceCandidate *remote,
                  gpointer       user_data)
{
  NbIceSession *self = user_data;
  Event *event;

  if (stream_id != self->stream_id || component_id != COMPONENT_ID)
    return;
  event = event_new (EVENT_SELECTED_PAIR);
  event->local_type = candidate_type_from_nice (local->type);
  event->remote_type = candidate_type_from_nice (remote->type);
  event->local = socket_address_from_nice (&local->addr);
  event->remote = socket_address_from_nice (&remote->addr);
  push_event (self, event);
}

/* A datagram that is not STUN came through the agent: WireGuard from the
 * other peer. Runs on the session's thread. */
static void
on_receive (NiceAgent *agent,
            guint      stream_id,
            guint      component_id,
            guint      len,
            gchar     *buf,
            gpointer   user_data)
{
  NbIceSession *self = user_data;
  NbWgDevice *device = NULL;
  NbWgPeer *peer = NULL;
  gboolean first;

  /* Only this thread runs the agent's receive callback, so the buffer is
   * its own; the lock is not held into WireGuard, whose sends may come back
   * into libnice and from there into this session's handlers. */
  g_mutex_lock (&self->lock);
  self->rx++;
  first = !self->wg_seen;
  self->wg_seen = TRUE;
  if (self->device != NULL && self->peer != NULL)
    {
      device = g_object_ref (self->device);
      peer = g_object_ref (self->peer);
    }
  g_mutex_unlock (&self->lock);

  if (peer != NULL && len <= RX_BUFFER_SIZE)
    {
      /* The receive path decrypts in place: into a buffer of ours. */
      memcpy (self->rx_buffer, buf, len);
      nb_wg_device_receive_from_transport (device, peer, self->rx_buffer, len);
    }
  g_clear_object (&peer);
  g_clear_object (&device);

  if (first)
    push_event (self, event_new (EVENT_WG_SEEN));
}

/* -- the session's thread ---------------------------------------------------- */

static gpointer
worker_main (gpointer user_data)
{
  NbIceSession *self = user_data;

  g_main_context_push_thread_default (self->worker_context);
  g_main_loop_run (self->worker_loop);
  g_main_context_pop_thread_default (self->worker_context);
  return NULL;
}

static gboolean
quit_worker (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

static void
agent_closed_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_main_loop_quit (user_data);
}

/* On the session's thread, so that the callback comes back to it. */
static gboolean
close_agent (gpointer user_data)
{
  NbIceSession *self = user_data;

  nice_agent_close_async (self->agent, agent_closed_cb, self->worker_loop);
  return G_SOURCE_REMOVE;
}

/* Where the agent's sockets are watched: the session's thread, or nowhere
 * while the packet threads own the selected socket. */
static void
set_parked (NbIceSession *self,
            gboolean      parked)
{
  if (self->parked == parked || self->agent == NULL)
    return;
  self->parked = parked;
  nice_agent_attach_recv (self->agent, self->stream_id, COMPONENT_ID,
                          parked ? self->park_context : self->worker_context, on_receive, self);
  g_debug ("ICE session %s: the agent's sockets are %s", self->session_id,
           parked ? "parked, WireGuard reads the selected one" : "read by the agent");
}

/* -- state ---------------------------------------------------------------- */

static void
set_state (NbIceSession      *self,
           NbIceSessionState  state)
{
  if (self->state == state)
    return;
  if (g_log_writer_default_would_drop (G_LOG_LEVEL_DEBUG, G_LOG_DOMAIN) == FALSE)
    {
      g_autofree char *name = g_enum_to_string (NB_TYPE_ICE_SESSION_STATE, state);
      g_debug ("ICE session %s: %s", self->session_id != NULL ? self->session_id : "-", name);
    }
  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

static void
new_session_id (NbIceSession *self)
{
  guint8 bytes[8];

  for (guint i = 0; i < sizeof bytes; i += 4)
    {
      guint32 r = g_random_int ();
      memcpy (bytes + i, &r, 4);
    }
  g_free (self->session_id);
  self->session_id = g_malloc (2 * sizeof bytes + 1);
  for (guint i = 0; i < sizeof bytes; i++)
    g_snprintf (self->session_id + 2 * i, 3, "%02x", bytes[i]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SESSION_ID]);
}

static gboolean
restart_timeout_cb (gpointer user_data)
{
  NbIceSession *self = user_data;
  g_autoptr(GError) error = NULL;

  self->restart_source = 0;
  if (!nb_ice_session_restart (self, &error))
    g_debug ("ICE session: no restart after failure: %s", error->message);
  return G_SOURCE_REMOVE;
}

static void
schedule_restart (NbIceSession *self)
{
  GSource *source;

  if (!self->auto_restart || self->restart_source != 0)
    return;
  g_debug ("ICE session %s failed: a new round in %u ms", self->session_id,
           self->restart_delay_ms);
  source = g_timeout_source_new (self->restart_delay_ms);
  g_source_set_callback (source, restart_timeout_cb, self, NULL);
  g_source_set_static_name (source, "[netbird] ICE restart");
  self->restart_source = g_source_attach (source, self->owner_context);
  g_source_unref (source);
  self->restart_delay_ms = MIN (self->restart_delay_ms * 2, RESTART_DELAY_MAX_MS);
}

static void
handle_state (NbIceSession       *self,
              NiceComponentState  nice_state)
{
  self->nice_ready = nice_state == NICE_COMPONENT_STATE_READY;
  switch (nice_state)
    {
    case NICE_COMPONENT_STATE_GATHERING:
      set_state (self, NB_ICE_SESSION_STATE_GATHERING);
      break;
    case NICE_COMPONENT_STATE_CONNECTING:
      set_state (self, NB_ICE_SESSION_STATE_CONNECTING);
      break;
    case NICE_COMPONENT_STATE_CONNECTED:
    case NICE_COMPONENT_STATE_READY:
      self->restart_delay_ms = RESTART_DELAY_MIN_MS;
      set_state (self, NB_ICE_SESSION_STATE_CONNECTED);
      update_transport (self);
      break;
    case NICE_COMPONENT_STATE_FAILED:
      set_state (self, NB_ICE_SESSION_STATE_FAILED);
      schedule_restart (self);
      break;
    case NICE_COMPONENT_STATE_DISCONNECTED:
    case NICE_COMPONENT_STATE_LAST:
    default:
      break;
    }
}

static gboolean
dispatch_events (gpointer user_data)
{
  NbIceSession *self = user_data;
  Event *event;

  g_mutex_lock (&self->lock);
  g_clear_pointer (&self->event_source, g_source_unref);
  g_mutex_unlock (&self->lock);

  for (;;)
    {
      g_mutex_lock (&self->lock);
      event = g_queue_pop_head (&self->events);
      g_mutex_unlock (&self->lock);
      if (event == NULL)
        break;
      if (self->state == NB_ICE_SESSION_STATE_CLOSED)
        {
          event_free (event);
          continue;
        }

      switch (event->kind)
        {
        case EVENT_CREDENTIALS:
          if (event->generation == self->generation)
            g_signal_emit (self, signals[SIGNAL_LOCAL_CREDENTIALS], 0, event->text, event->text2);
          break;
        case EVENT_CANDIDATE:
          /* A candidate queued before a restart was sent again after it. */
          if (event->generation == self->generation)
            g_signal_emit (self, signals[SIGNAL_LOCAL_CANDIDATE], 0, event->text);
          break;
        case EVENT_GATHERING_DONE:
          g_signal_emit (self, signals[SIGNAL_LOCAL_GATHERING_DONE], 0);
          break;
        case EVENT_STATE:
          handle_state (self, event->nice_state);
          break;
        case EVENT_SELECTED_PAIR:
          self->have_pair = TRUE;
          self->local_type = event->local_type;
          self->remote_type = event->remote_type;
          g_set_object (&self->local_address, event->local);
          g_set_object (&self->remote_address, event->remote);
          {
            g_autofree char *l = g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (event->local));
            g_autofree char *r = g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (event->remote));
            g_autofree char *lt = g_enum_to_string (NB_TYPE_ICE_CANDIDATE_TYPE, event->local_type);
            g_autofree char *rt = g_enum_to_string (NB_TYPE_ICE_CANDIDATE_TYPE, event->remote_type);
            g_debug ("ICE session %s: selected pair %s %s - %s %s", self->session_id, lt, l, rt, r);
          }
          update_transport (self);
          g_signal_emit (self, signals[SIGNAL_SELECTED_PAIR_CHANGED], 0);
          break;
        case EVENT_WG_SEEN:
          update_transport (self);
          break;
        default:
          g_assert_not_reached ();
        }
      event_free (event);
    }
  return G_SOURCE_REMOVE;
}

/* -- the WireGuard peer's transport ------------------------------------------ */

static void
set_transport_kind (NbIceSession       *self,
                    NbIceTransportKind  kind)
{
  if (self->transport_kind == kind)
    return;
  self->transport_kind = kind;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TRANSPORT_KIND]);
}

static NbWgTransport *
socket_transport_new (NbIceSession  *self,
                      GError       **error)
{
  g_autoptr(GSocket) socket = NULL;
  int fd;

  socket = nice_agent_get_selected_socket (self->agent, self->stream_id, COMPONENT_ID);
  if (socket == NULL)
    {
      g_set_error_literal (error, NB_ICE_SESSION_ERROR, NB_ICE_SESSION_ERROR_AGENT,
                           "The agent has no socket for the selected pair");
      return NULL;
    }
  fd = fcntl (g_socket_get_fd (socket), F_DUPFD_CLOEXEC, 0);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, NB_ICE_SESSION_ERROR, NB_ICE_SESSION_ERROR_AGENT,
                   "Could not duplicate the selected socket: %s", g_strerror (saved));
      return NULL;
    }
  /* The packet threads send and receive in bursts: buffers as big as the
   * device's own sockets have (4 MiB; FORCE works as root). */
  {
    int size = 4 * 1024 * 1024;

    if (setsockopt (fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
      setsockopt (fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    if (setsockopt (fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) < 0)
      setsockopt (fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  }
  return nb_wg_transport_new_socket (fd, self->remote_address, error);
}

/* Gives the attached peer the transport the session's state calls for. */
static void
update_transport (NbIceSession *self)
{
  NbIceTransportKind wanted = NB_ICE_TRANSPORT_NONE;
  NbWgTransport *transport = NULL;
  NbWgPeer *peer;
  gboolean wg_seen;

  g_mutex_lock (&self->lock);
  peer = self->peer != NULL ? g_object_ref (self->peer) : NULL;
  wg_seen = self->wg_seen;
  g_mutex_unlock (&self->lock);

  if (peer != NULL && self->have_pair && self->state != NB_ICE_SESSION_STATE_CLOSED)
    {
      if (self->local_type != NB_ICE_CANDIDATE_TYPE_RELAYED && self->nice_ready && wg_seen)
        wanted = NB_ICE_TRANSPORT_SOCKET;
      else
        wanted = NB_ICE_TRANSPORT_CHANNEL;
    }

  /* A socket goes stale when the pair changes: that comes through here with
   * nice_ready and wg_seen cleared by the restart, so SOCKET → SOCKET never
   * needs a new socket. */
  if (wanted == self->transport_kind)
    {
      g_clear_object (&peer);
      return;
    }

  if (wanted == NB_ICE_TRANSPORT_SOCKET)
    {
      g_autoptr(GError) error = NULL;

      transport = socket_transport_new (self, &error);
      if (transport == NULL)
        {
          g_warning ("ICE session %s: keeping WireGuard on the agent: %s", self->session_id,
                     error->message);
          wanted = NB_ICE_TRANSPORT_CHANNEL;
          if (wanted == self->transport_kind)
            {
              g_clear_object (&peer);
              return;
            }
        }
    }
  if (wanted == NB_ICE_TRANSPORT_CHANNEL)
    transport = nb_wg_transport_new_channel (channel_send, channel_ref (self->channel),
                                             channel_unref);

  /* Park only once the packet threads read the socket; unpark before they
   * stop, so no datagram waits for a reader. */
  if (wanted != NB_ICE_TRANSPORT_SOCKET)
    set_parked (self, FALSE);
  if (peer != NULL)
    nb_wg_peer_set_transport (peer, transport);
  if (wanted == NB_ICE_TRANSPORT_SOCKET)
    set_parked (self, TRUE);
  g_debug ("ICE session %s: WireGuard goes %s", self->session_id,
           wanted == NB_ICE_TRANSPORT_SOCKET ? "on the selected socket" :
           wanted == NB_ICE_TRANSPORT_CHANNEL ? "through the agent" : "nowhere through ICE");
  set_transport_kind (self, wanted);
  g_clear_object (&peer);
}

/* -- GObject ----------------------------------------------------------------- */

static void
nb_ice_session_dispose (GObject *object)
{
  NbIceSession *self = NB_ICE_SESSION (object);

  nb_ice_session_close (self);
  G_OBJECT_CLASS (nb_ice_session_parent_class)->dispose (object);
}

static void
nb_ice_session_finalize (GObject *object)
{
  NbIceSession *self = NB_ICE_SESSION (object);

  g_queue_clear_full (&self->events, event_free);
  g_clear_object (&self->local_key);
  g_clear_object (&self->remote_key);
  g_clear_pointer (&self->owner_context, g_main_context_unref);
  g_clear_pointer (&self->stun_servers, g_ptr_array_unref);
  g_clear_pointer (&self->turn_servers, g_ptr_array_unref);
  g_clear_pointer (&self->local_addresses, g_ptr_array_unref);
  g_clear_pointer (&self->pending_candidates, g_ptr_array_unref);
  g_free (self->session_id);
  g_free (self->remote_ufrag);
  g_free (self->remote_pwd);
  g_clear_object (&self->local_address);
  g_clear_object (&self->remote_address);
  g_free (self->rx_buffer);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (nb_ice_session_parent_class)->finalize (object);
}

static void
nb_ice_session_constructed (GObject *object)
{
  NbIceSession *self = NB_ICE_SESSION (object);
  gsize len_a = 0, len_b = 0;
  const guint8 *a, *b;

  G_OBJECT_CLASS (nb_ice_session_parent_class)->constructed (object);

  g_return_if_fail (self->local_key != NULL && self->remote_key != NULL);
  /* RFC 8445 §6.1.1 leaves the roles to the signalling: the peer whose
   * public key is greater controls. Both peers compute the same answer,
   * and libnice's tie-breaker would settle a conflict anyway. */
  a = nb_key_get_public_data (self->local_key, &len_a);
  b = nb_key_get_public_data (self->remote_key, &len_b);
  self->controlling = memcmp (a, b, MIN (len_a, len_b)) > 0;
}

static void
nb_ice_session_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  NbIceSession *self = NB_ICE_SESSION (object);

  switch (prop_id)
    {
    case PROP_LOCAL_KEY:
      g_value_set_object (value, self->local_key);
      break;
    case PROP_REMOTE_KEY:
      g_value_set_object (value, self->remote_key);
      break;
    case PROP_CONTROLLING:
      g_value_set_boolean (value, self->controlling);
      break;
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_SESSION_ID:
      g_value_set_string (value, self->session_id);
      break;
    case PROP_AUTO_RESTART:
      g_value_set_boolean (value, self->auto_restart);
      break;
    case PROP_TRANSPORT_KIND:
      g_value_set_enum (value, self->transport_kind);
      break;
    case PROP_RELAY_ONLY:
      g_value_set_boolean (value, self->relay_only);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
nb_ice_session_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  NbIceSession *self = NB_ICE_SESSION (object);

  switch (prop_id)
    {
    case PROP_LOCAL_KEY:
      self->local_key = g_value_dup_object (value);
      break;
    case PROP_REMOTE_KEY:
      self->remote_key = nb_key_dup_public (g_value_get_object (value));
      break;
    case PROP_AUTO_RESTART:
      self->auto_restart = g_value_get_boolean (value);
      break;
    case PROP_RELAY_ONLY:
      nb_ice_session_set_relay_only (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
nb_ice_session_class_init (NbIceSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = nb_ice_session_constructed;
  object_class->dispose = nb_ice_session_dispose;
  object_class->finalize = nb_ice_session_finalize;
  object_class->get_property = nb_ice_session_get_property;
  object_class->set_property = nb_ice_session_set_property;

  /**
   * NbIceSession:local-key:
   *
   * This peer's WireGuard key (the public half is what matters here).
   */
  properties[PROP_LOCAL_KEY] =
    g_param_spec_object ("local-key", NULL, NULL, NB_TYPE_KEY,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * NbIceSession:remote-key:
   *
   * The other peer's WireGuard public key.
   */
  properties[PROP_REMOTE_KEY] =
    g_param_spec_object ("remote-key", NULL, NULL, NB_TYPE_KEY,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * NbIceSession:controlling:
   *
   * Whether this side takes the controlling role: the side whose public key
   * is the greater one, compared as 32 bytes.
   */
  properties[PROP_CONTROLLING] =
    g_param_spec_boolean ("controlling", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * NbIceSession:state:
   *
   * Where the session stands; notified on every change.
   */
  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL, NB_TYPE_ICE_SESSION_STATE, NB_ICE_SESSION_STATE_NEW,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * NbIceSession:session-id:
   *
   * 16 lowercase hexadecimal digits, new at every start and restart: the
   * session id of the Signal messages this session's credentials and
   * candidates travel in, so the other peer can drop stale ones.
   */
  properties[PROP_SESSION_ID] =
    g_param_spec_string ("session-id", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * NbIceSession:auto-restart:
   *
   * Whether a failed session starts a new round by itself, after 1 s, then
   * twice as long after each failure up to 32 s; a connection resets the
   * delay.
   */
  properties[PROP_AUTO_RESTART] =
    g_param_spec_boolean ("auto-restart", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  /**
   * NbIceSession:transport-kind:
   *
   * How the attached WireGuard peer's packets travel.
   */
  properties[PROP_TRANSPORT_KIND] =
    g_param_spec_enum ("transport-kind", NULL, NULL, NB_TYPE_ICE_TRANSPORT_KIND,
                       NB_ICE_TRANSPORT_NONE,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * NbIceSession:relay-only:
   *
   * Whether only relayed candidates are offered and used, so that packets
   * always go through a TURN server (for networks that must not be
   * reached directly, and for tests). Set before nb_ice_session_start().
   */
  properties[PROP_RELAY_ONLY] =
    g_param_spec_boolean ("relay-only", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * NbIceSession::local-credentials:
   * @self: the session
   * @ufrag: the local ICE username fragment
   * @pwd: the local ICE password
   *
   * The local credentials to send to the other peer (in an offer or an
   * answer): after nb_ice_session_start() and after every restart.
   */
  signals[SIGNAL_LOCAL_CREDENTIALS] =
    g_signal_new ("local-credentials", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
  /**
   * NbIceSession::local-candidate:
   * @self: the session
   * @candidate: the candidate attribute, `candidate:...` (RFC 5245 §15.1)
   *
   * A local candidate to trickle to the other peer. After a restart every
   * local candidate is emitted again, after #NbIceSession::local-credentials.
   */
  signals[SIGNAL_LOCAL_CANDIDATE] =
    g_signal_new ("local-candidate", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  /**
   * NbIceSession::local-gathering-done:
   * @self: the session
   *
   * Every local candidate was emitted (host, server-reflexive, relayed).
   */
  signals[SIGNAL_LOCAL_GATHERING_DONE] =
    g_signal_new ("local-gathering-done", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 0);
  /**
   * NbIceSession::selected-pair-changed:
   * @self: the session
   *
   * A candidate pair was selected; nb_ice_session_get_selected_pair() tells
   * which.
   */
  signals[SIGNAL_SELECTED_PAIR_CHANGED] =
    g_signal_new ("selected-pair-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
nb_ice_session_init (NbIceSession *self)
{
  g_mutex_init (&self->lock);
  g_queue_init (&self->events);
  self->auto_restart = TRUE;
  self->restart_delay_ms = RESTART_DELAY_MIN_MS;
  self->owner_context = g_main_context_ref_thread_default ();
  self->stun_servers = g_ptr_array_new_with_free_func (server_free);
  self->turn_servers = g_ptr_array_new_with_free_func (server_free);
  self->local_addresses = g_ptr_array_new_with_free_func (g_object_unref);
  self->pending_candidates = g_ptr_array_new_with_free_func (g_free);
  self->rx_buffer = g_malloc (RX_BUFFER_SIZE);
}

/* -- public API ----------------------------------------------------------------- */

/**
 * nb_ice_session_new:
 * @local_key: this peer's key
 * @remote_key: the other peer's public key
 *
 * Creates an ICE session with the peer that holds @remote_key. Its signals
 * are emitted on the thread-default main context of the caller.
 *
 * Returns: (transfer full): a new #NbIceSession
 */
NbIceSession *
nb_ice_session_new (NbKey *local_key,
                    NbKey *remote_key)
{
  g_return_val_if_fail (NB_IS_KEY (local_key), NULL);
  g_return_val_if_fail (NB_IS_KEY (remote_key), NULL);

  return g_object_new (NB_TYPE_ICE_SESSION, "local-key", local_key, "remote-key", remote_key,
                       NULL);
}

/* RFC 7064 §3.1 and RFC 7065 §3.1: SCHEME:HOST[:PORT][?transport=udp|tcp] */
static Server *
parse_server_uri (const char  *uri,
                  gboolean     turn,
                  GError     **error)
{
  g_autoptr(GUri) parsed = NULL;
  g_autofree char *with_slashes = NULL;
  const char *colon = uri != NULL ? strchr (uri, ':') : NULL;
  g_autofree char *scheme = NULL;
  const char *query;
  Server *server;
  gint port;

  if (colon == NULL)
    goto invalid;
  scheme = g_ascii_strdown (uri, colon - uri);
  if (turn ? !(g_str_equal (scheme, "turn") || g_str_equal (scheme, "turns"))
           : !g_str_equal (scheme, "stun"))
    goto invalid;
  /* GUri reads a host only after "//". */
  with_slashes = g_strdup_printf ("%s://%s", scheme, colon + 1);
  parsed = g_uri_parse (with_slashes, G_URI_FLAGS_NON_DNS, NULL);
  if (parsed == NULL || g_uri_get_host (parsed) == NULL || g_uri_get_host (parsed)[0] == '\0' ||
      g_uri_get_userinfo (parsed) != NULL ||
      (g_uri_get_path (parsed)[0] != '\0'))
    goto invalid;

  server = g_new0 (Server, 1);
  server->host = g_strdup (g_uri_get_host (parsed));
  port = g_uri_get_port (parsed);
  server->port = port > 0 ? port : g_str_equal (scheme, "turns") ? 5349 : 3478;
  server->relay_type = g_str_equal (scheme, "turns") ? NICE_RELAY_TYPE_TURN_TLS
                                                      : NICE_RELAY_TYPE_TURN_UDP;
  query = g_uri_get_query (parsed);
  if (query != NULL)
    {
      if (turn && g_str_equal (query, "transport=tcp"))
        server->relay_type = server->relay_type == NICE_RELAY_TYPE_TURN_TLS
                             ? NICE_RELAY_TYPE_TURN_TLS : NICE_RELAY_TYPE_TURN_TCP;
      else if (!(turn && g_str_equal (query, "transport=udp") &&
                 server->relay_type == NICE_RELAY_TYPE_TURN_UDP))
        {
          server_free (server);
          goto invalid;
        }
    }
  return server;

invalid:
  g_set_error (error, NB_ICE_SESSION_ERROR, NB_ICE_SESSION_ERROR_INVALID_SERVER,
               "“%s” is not a %s server URI (like %s)", uri != NULL ? uri : "",
               turn ? "TURN" : "STUN",
               turn ? "turn:turn.example.org:3478?transport=udp" : "stun:stun.example.org:3478");
  return NULL;
}

static gboolean
check_new (NbIceSession  *self,
           GError       **error)
{
  if (self->state != NB_ICE_SESSION_STATE_NEW)
    {
      g_set_error_literal (error, NB_ICE_SESSION_ERROR, NB_ICE_SESSION_ERROR_WRONG_STATE,
                           "Servers and addresses are set before the ICE session starts");
      return FALSE;
    }
  return TRUE;
}

/**
 * nb_ice_session_add_stun_server:
 * @self: a #NbIceSession
 * @uri: `stun:HOST[:PORT]` (RFC 7064), as Management hands it out
 * @error: return location for a #GError
 *
 * Adds a STUN server to learn server-reflexive candidates from, before
 * nb_ice_session_start(). libnice asks one STUN server: the first one
 * added (TURN servers yield server-reflexive candidates too).
 *
 * Returns: %TRUE, or %FALSE with %NB_ICE_SESSION_ERROR_INVALID_SERVER
 */
gboolean
nb_ice_session_add_stun_server (NbIceSession  *self,
                                const char    *uri,
                                GError       **error)
{
  Server *server;

  g_return_val_if_fail (NB_IS_ICE_SESSION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_new (self, error))
    return FALSE;
  server = parse_server_uri (uri, FALSE, error);
  if (server == NULL)
    return FALSE;
  g_ptr_array_add (self->stun_servers, server);
  return TRUE;
}

/**
 * nb_ice_session_add_turn_server:
 * @self: a #NbIceSession
 * @uri: `turn:HOST[:PORT][?transport=udp|tcp]` or `turns:HOST[:PORT]`
 *   (RFC 7065)
 * @username: the TURN user name (Management's time-limited credentials)
 * @password: its password
 * @error: return location for a #GError
 *
 * Adds a TURN server to allocate a relayed candidate on, before
 * nb_ice_session_start().
 *
 * Returns: %TRUE, or %FALSE with %NB_ICE_SESSION_ERROR_INVALID_SERVER
 */
gboolean
nb_ice_session_add_turn_server (NbIceSession  *self,
                                const char    *uri,
                                const char    *username,
                                const char    *password,
                                GError       **error)
{
  Server *server;

  g_return_val_if_fail (NB_IS_ICE_SESSION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_new (self, error))
    return FALSE;
  if (username == NULL || username[0] == '\0' || password == NULL || password[0] == '\0')
    {
      g_set_error (error, NB_ICE_SESSION_ERROR, NB_ICE_SESSION_ERROR_INVALID_SERVER,
                   "The TURN server “%s” needs a user name and a password", uri);
      return FALSE;
    }
  server = parse_server_uri (uri, TRUE, error);
  if (server == NULL)
    return FALSE;
  server->username = g_strdup (username);
  server->password = g_strdup (password);
  g_ptr_array_add (self->turn_servers, server);
  return TRUE;
}

/**
 * nb_ice_session_add_local_address:
 * @self: a #NbIceSession
 * @address: a local address
 *
 * Gathers host candidates on @address only (and on the others added the
 * same way), instead of on every interface's address. libnice leaves out
 * loopback addresses unless they are named here. Call it before
 * nb_ice_session_start().
 */
void
nb_ice_session_add_local_address (NbIceSession *self,
                                  GInetAddress *address)
{
  g_return_if_fail (NB_IS_ICE_SESSION (self));
  g_return_if_fail (G_IS_INET_ADDRESS (address));
  g_return_if_fail (self->state == NB_ICE_SESSION_STATE_NEW);

  g_ptr_array_add (self->local_addresses, g_object_ref (address));
}

/**
 * nb_ice_session_set_relay_only:
 * @self: a #NbIceSession
 * @relay_only: whether to use relayed candidates only
 *
 * Sets #NbIceSession:relay-only, before nb_ice_session_start().
 */
void
nb_ice_session_set_relay_only (NbIceSession *self,
                               gboolean      relay_only)
{
  g_return_if_fail (NB_IS_ICE_SESSION (self));
  g_return_if_fail (self->state == NB_ICE_SESSION_STATE_NEW);

  relay_only = !!relay_only;
  if (self->relay_only == relay_only)
    return;
  self->relay_only = relay_only;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RELAY_ONLY]);
}

/**
 * nb_ice_session_set_wg_peer:
 * @self: a #NbIceSession
 * @device: (nullable): the device @peer belongs to
 * @peer: (nullable): the WireGuard peer whose packets take this session's
 *   path, or %NULL to let go of the one attached
 *
 * Attaches a WireGuard peer: once a pair is selected it gets a transport
 * (a channel through the agent, then the selected socket itself for a
 * direct pair). A peer let go of keeps no transport of the session.
 */
void
nb_ice_session_set_wg_peer (NbIceSession *self,
                            NbWgDevice   *device,
                            NbWgPeer     *peer)
{
  NbWgPeer *old_peer;
  NbWgDevice *old_device;

  g_return_if_fail (NB_IS_ICE_SESSION (self));
  g_return_if_fail ((device == NULL) == (peer == NULL));
  g_return_if_fail (device == NULL || NB_IS_WG_DEVICE (device));
  g_return_if_fail (peer == NULL || NB_IS_WG_PEER (peer));

  g_mutex_lock (&self->lock);
  old_peer = self->peer;
  old_device = self->device;
  self->peer = peer != NULL ? g_object_ref (peer) : NULL;
  self->device = device != NULL ? g_object_ref (device) : NULL;
  g_mutex_unlock (&self->lock);

  if (old_peer != NULL && old_peer != peer && self->transport_kind != NB_ICE_TRANSPORT_NONE)
    {
      set_parked (self, FALSE);
      nb_wg_peer_set_transport (old_peer, NULL);
    }
  if (old_peer != peer)
    set_transport_kind (self, NB_ICE_TRANSPORT_NONE);
  g_clear_object (&old_peer);
  g_clear_object (&old_device);
  update_transport (self);
}

static void gather (NbIceSession *self);

typedef struct
{
  NbIceSession *self;
  Server *server;
} Lookup;

static void
resolved_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Lookup *lookup = user_data;
  g_autoptr(NbIceSession) self = lookup->self;
  Server *server = lookup->server;
  g_autoptr(GError) error = NULL;
  GList *addresses = g_resolver_lookup_by_name_finish (G_RESOLVER (source), result, &error);

  g_free (lookup);
  if (addresses == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_message ("ICE server %s is left out: %s", server->host, error->message);
    }
  else
    {
      g_free (server->host);
      server->host = g_inet_address_to_string (addresses->data);
      g_resolver_free_addresses (addresses);
    }
  if (self->state != NB_ICE_SESSION_STATE_CLOSED && --self->n_resolving == 0)
    gather (self);
}

static gboolean
is_ip_literal (const char *host)
{
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string (host);

  return address != NULL;
}

/* libnice takes servers as IP addresses: the others are resolved first,
 * without blocking. */
static void
resolve_servers (NbIceSession *self,
                 GPtrArray    *servers)
{
  for (guint i = 0; i < servers->len; i++)
    {
      Server *server = g_ptr_array_index (servers, i);
      g_autoptr(GResolver) resolver = NULL;
      Lookup *lookup;

      if (is_ip_literal (server->host))
        continue;
      resolver = g_resolver_get_default ();
      lookup = g_new (Lookup, 1);
      lookup->self = g_object_ref (self);
      lookup->server = server;
      self->n_resolving++;
      g_resolver_lookup_by_name_async (resolver, server->host, self->cancellable, resolved_cb,
                                       lookup);
    }
}

static void
gather (NbIceSession *self)
{
  for (guint i = 0; i < self->stun_servers->len && i < 1; i++)
    {
      Server *server = g_ptr_array_index (self->stun_servers, i);

      if (is_ip_literal (server->host))
        g_object_set (self->agent, "stun-server", server->host, "stun-server-port",
                      (guint) server->port, NULL);
    }
  for (guint i = 0; i < self->turn_servers->len; i++)
    {
      Server *server = g_ptr_array_index (self->turn_servers, i);

      if (is_ip_literal (server->host) &&
          !nice_agent_set_relay_info (self->agent, self->stream_id, COMPONENT_ID, server->host,
                                      server->port, server->username, server->password,
                                      server->relay_type))
        g_message ("TURN server %s:%u is left out: libnice refused it", server->host,
                   server->port);
    }
  if (!nice_agent_gather_candidates (self->agent, self->stream_id))
    {
      g_warning ("ICE session %s: libnice could not gather candidates", self->session_id);
      set_state (self, NB_ICE_SESSION_STATE_FAILED);
    }
}

static void
queue_credentials (NbIceSession *self)
{
  gchar *ufrag = NULL, *pwd = NULL;
  Event *event;

  if (!nice_agent_get_local_credentials (self->agent, self->stream_id, &ufrag, &pwd))
    return;
  event = event_new (EVENT_CREDENTIALS);
  event->text = ufrag;
  event->text2 = pwd;
  push_event (self, event);
}

/**
 * nb_ice_session_start:
 * @self: a #NbIceSession
 * @error: return location for a #GError
 *
 * Starts the agent on the session's own thread and gathers candidates:
 * #NbIceSession::local-credentials, then #NbIceSession::local-candidate for
 * each candidate as it is found, then #NbIceSession::local-gathering-done.
 *
 * Returns: %TRUE, or %FALSE with an #NbIceSessionError
 */
gboolean
nb_ice_session_start (NbIceSession  *self,
                      GError       **error)
{
  g_return_val_if_fail (NB_IS_ICE_SESSION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->state != NB_ICE_SESSION_STATE_NEW)
    {
      g_set_error_literal (error, NB_ICE_SESSION_ERROR, NB_ICE_SESSION_ERROR_WRONG_STATE,
                           "The ICE session was started already");
      return FALSE;
    }

  self->worker_context = g_main_context_new ();
  self->park_context = g_main_context_new ();
  self->worker_loop = g_main_loop_new (self->worker_context, FALSE);
  /* RFC 5245 mode, unreliable, ICE-UDP only; no UPnP (it would hold
   * gathering up waiting for a router). */
  self->agent = g_object_new (NICE_TYPE_AGENT,
                              "main-context", self->worker_context,
                              "compatibility", NICE_COMPATIBILITY_RFC5245,
                              "reliable", FALSE,
                              "controlling-mode", self->controlling,
                              "ice-udp", TRUE,
                              "ice-tcp", FALSE,
                              "upnp", FALSE,
                              "force-relay", self->relay_only,
                              NULL);
  self->stream_id = nice_agent_add_stream (self->agent, 1);
  if (self->stream_id == 0)
    {
      g_set_error_literal (error, NB_ICE_SESSION_ERROR, NB_ICE_SESSION_ERROR_AGENT,
                           "libnice could not add a stream");
      g_clear_object (&self->agent);
      return FALSE;
    }
  nice_agent_set_stream_name (self->agent, self->stream_id, "application");
  for (guint i = 0; i < self->local_addresses->len; i++)
    {
      NiceAddress address;
      g_autofree char *text = g_inet_address_to_string (g_ptr_array_index (self->local_addresses, i));

      nice_address_init (&address);
      if (nice_address_set_from_string (&address, text))
        nice_agent_add_local_address (self->agent, &address);
    }

  self->channel = g_new0 (Channel, 1);
  g_atomic_ref_count_init (&self->channel->ref);
  self->channel->agent = g_object_ref (self->agent);
  self->channel->stream_id = self->stream_id;

  g_signal_connect (self->agent, "new-candidate-full", G_CALLBACK (on_new_candidate), self);
  g_signal_connect (self->agent, "candidate-gathering-done", G_CALLBACK (on_gathering_done), self);
  g_signal_connect (self->agent, "component-state-changed", G_CALLBACK (on_component_state), self);
  g_signal_connect (self->agent, "new-selected-pair-full", G_CALLBACK (on_selected_pair), self);
  nice_agent_attach_recv (self->agent, self->stream_id, COMPONENT_ID, self->worker_context,
                          on_receive, self);
  self->worker = g_thread_new ("nb-ice", worker_main, self);

  self->generation = 1;
  new_session_id (self);
  self->cancellable = g_cancellable_new ();
  set_state (self, NB_ICE_SESSION_STATE_GATHERING);
  queue_credentials (self);
  resolve_servers (self, self->stun_servers);
  resolve_servers (self, self->turn_servers);
  if (self->n_resolving == 0)
    gather (self);
  return TRUE;
}

static gboolean
check_running (NbIceSession  *self,
               GError       **error)
{
  if (self->state == NB_ICE_SESSION_STATE_NEW || self->state == NB_ICE_SESSION_STATE_CLOSED)
    {
      g_set_error (error, NB_ICE_SESSION_ERROR, NB_ICE_SESSION_ERROR_WRONG_STATE,
                   "The ICE session is %s", self->state == NB_ICE_SESSION_STATE_NEW
                   ? "not started" : "closed");
      return FALSE;
    }
  return TRUE;
}

static gboolean
add_candidate_now (NbIceSession  *self,
                   const char    *candidate,
                   GError       **error)
{
  g_autofree char *sdp = g_strconcat ("a=", candidate, NULL);
  NiceCandidate *parsed;
  GSList *list;
  int added;

  parsed = nice_agent_parse_remote_candidate_sdp (self->agent, self->stream_id, sdp);
  if (parsed == NULL)
    {
      g_set_error (error, NB_ICE_SESSION_ERROR, NB_ICE_SESSION_ERROR_INVALID_CANDIDATE,
                   "libnice cannot read the candidate “%s”", candidate);
      return FALSE;
    }
  if (parsed->component_id != COMPONENT_ID)
    {
      g_set_error (error, NB_ICE_SESSION_ERROR, NB_ICE_SESSION_ERROR_INVALID_CANDIDATE,
                   "The candidate “%s” is for component %u; a session has only component 1",
                   candidate, parsed->component_id);
      nice_candidate_free (parsed);
      return FALSE;
    }
  list = g_slist_append (NULL, parsed);
  added = nice_agent_set_remote_candidates (self->agent, self->stream_id, COMPONENT_ID, list);
  g_slist_free_full (list, (GDestroyNotify) nice_candidate_free);
  if (added < 0)
    {
      g_set_error (error, NB_ICE_SESSION_ERROR, NB_ICE_SESSION_ERROR_INVALID_CANDIDATE,
                   "libnice refused the candidate “%s”", candidate);
      return FALSE;
    }
  return TRUE;
}

static void
restart_agent (NbIceSession *self)
{
  g_autoptr(GSList) candidates = NULL;

  if (self->restart_source != 0)
    {
      g_source_remove (self->restart_source);
      self->restart_source = 0;
    }
  g_mutex_lock (&self->lock);
  self->generation++;
  self->wg_seen = FALSE;
  g_mutex_unlock (&self->lock);
  self->nice_ready = FALSE;
  g_clear_pointer (&self->remote_ufrag, g_free);
  g_clear_pointer (&self->remote_pwd, g_free);
  g_ptr_array_set_size (self->pending_candidates, 0);
  self->n_remote_candidates = 0;
  new_session_id (self);

  /* Back on the agent before it checks again: the packet threads would eat
   * the checks on the socket they read. The old pair stays selected (RFC
   * 8445 §9), so packets keep flowing meanwhile. */
  update_transport (self);
  nice_agent_restart_stream (self->agent, self->stream_id);
  queue_credentials (self);
  candidates = nice_agent_get_local_candidates (self->agent, self->stream_id, COMPONENT_ID);
  for (GSList *l = candidates; l != NULL; l = l->next)
    {
      char *text = candidate_to_attribute (self->agent, l->data);

      if (text != NULL)
        {
          Event *event = event_new (EVENT_CANDIDATE);
          event->text = text;
          push_event (self, event);
        }
      nice_candidate_free (l->data);
    }
}

/**
 * nb_ice_session_set_remote_credentials:
 * @self: a started #NbIceSession
 * @ufrag: the other peer's ICE username fragment
 * @pwd: the other peer's ICE password
 * @error: return location for a #GError
 *
 * Takes the other peer's credentials (from its offer or answer). Different
 * credentials from those set before mean the other peer restarted: this
 * side restarts too (RFC 8445 §9), emitting new local credentials and its
 * candidates again, and checks begin with the new ones.
 *
 * Returns: %TRUE, or %FALSE with an #NbIceSessionError
 */
gboolean
nb_ice_session_set_remote_credentials (NbIceSession  *self,
                                       const char    *ufrag,
                                       const char    *pwd,
                                       GError       **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GPtrArray) pending = NULL;

  g_return_val_if_fail (NB_IS_ICE_SESSION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_running (self, error))
    return FALSE;
  if (ufrag == NULL || pwd == NULL ||
      strlen (ufrag) > NB_SIGNAL_PROTO_ICE_CHARS_MAX ||
      strlen (pwd) > NB_SIGNAL_PROTO_ICE_CHARS_MAX ||
      !nb_signal_proto_validate_ufrag (ufrag, "ufrag", &local_error) ||
      !nb_signal_proto_validate_pwd (pwd, "pwd", &local_error))
    {
      g_set_error (error, NB_ICE_SESSION_ERROR, NB_ICE_SESSION_ERROR_INVALID_CREDENTIALS,
                   "Invalid remote ICE credentials: %s",
                   local_error != NULL ? local_error->message : "longer than 256 characters");
      return FALSE;
    }
  if (self->remote_ufrag != NULL &&
      g_str_equal (self->remote_ufrag, ufrag) && g_str_equal (self->remote_pwd, pwd))
    return TRUE;
  if (self->remote_ufrag != NULL)
    {
      g_debug ("ICE session %s: the other peer restarted", self->session_id);
      restart_agent (self);
    }

  self->remote_ufrag = g_strdup (ufrag);
  self->remote_pwd = g_strdup (pwd);
  if (!nice_agent_set_remote_credentials (self->agent, self->stream_id, ufrag, pwd))
    {
      g_set_error_literal (error, NB_ICE_SESSION_ERROR, NB_ICE_SESSION_ERROR_AGENT,
                           "libnice refused the remote credentials");
      return FALSE;
    }
  pending = g_steal_pointer (&self->pending_candidates);
  self->pending_candidates = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < pending->len; i++)
    {
      g_autoptr(GError) candidate_error = NULL;

      if (!add_candidate_now (self, g_ptr_array_index (pending, i), &candidate_error))
        g_debug ("ICE session %s: %s", self->session_id, candidate_error->message);
    }
  return TRUE;
}

/**
 * nb_ice_session_add_remote_candidate:
 * @self: a started #NbIceSession
 * @candidate: a candidate attribute of the other peer, `candidate:...`
 *   (RFC 5245 §15.1; an `a=` prefix is accepted)
 * @error: return location for a #GError
 *
 * Takes one trickled candidate of the other peer. Candidates that arrive
 * before the remote credentials wait for them. A round takes at most 64.
 *
 * Returns: %TRUE, or %FALSE with an #NbIceSessionError
 */
gboolean
nb_ice_session_add_remote_candidate (NbIceSession  *self,
                                     const char    *candidate,
                                     GError       **error)
{
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (NB_IS_ICE_SESSION (self), FALSE);
  g_return_val_if_fail (candidate != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_running (self, error))
    return FALSE;
  if (g_str_has_prefix (candidate, "a="))
    candidate += 2;
  if (strlen (candidate) > NB_SIGNAL_PROTO_CANDIDATE_MAX ||
      !nb_signal_proto_validate_candidate (candidate, "candidate", &local_error))
    {
      g_set_error (error, NB_ICE_SESSION_ERROR, NB_ICE_SESSION_ERROR_INVALID_CANDIDATE,
                   "Invalid remote candidate: %s",
                   local_error != NULL ? local_error->message : "longer than 512 bytes");
      return FALSE;
    }
  if (self->n_remote_candidates >= MAX_REMOTE_CANDIDATES)
    {
      g_set_error (error, NB_ICE_SESSION_ERROR, NB_ICE_SESSION_ERROR_INVALID_CANDIDATE,
                   "The other peer sent more than %d candidates", MAX_REMOTE_CANDIDATES);
      return FALSE;
    }
  self->n_remote_candidates++;
  if (self->remote_ufrag == NULL)
    {
      g_ptr_array_add (self->pending_candidates, g_strdup (candidate));
      return TRUE;
    }
  return add_candidate_now (self, candidate, error);
}

/**
 * nb_ice_session_restart:
 * @self: a started #NbIceSession
 * @error: return location for a #GError
 *
 * Starts a new round of checks with new local credentials (an ICE restart,
 * RFC 8445 §9): #NbIceSession::local-credentials is emitted, then every
 * local candidate again, and the session forgets the remote credentials
 * and candidates until the other peer sends its new ones. The pair in use
 * keeps carrying packets until a new one is selected.
 *
 * Returns: %TRUE, or %FALSE with %NB_ICE_SESSION_ERROR_WRONG_STATE
 */
gboolean
nb_ice_session_restart (NbIceSession  *self,
                        GError       **error)
{
  g_return_val_if_fail (NB_IS_ICE_SESSION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_running (self, error))
    return FALSE;
  g_debug ("ICE session %s: restart", self->session_id);
  restart_agent (self);
  return TRUE;
}

/**
 * nb_ice_session_close:
 * @self: a #NbIceSession
 *
 * Stops the session: the attached peer loses its transport of the session,
 * the agent and its thread stop. The session is CLOSED from then on.
 */
void
nb_ice_session_close (NbIceSession *self)
{
  NbWgPeer *peer;

  g_return_if_fail (NB_IS_ICE_SESSION (self));

  if (self->state == NB_ICE_SESSION_STATE_CLOSED)
    return;
  set_state (self, NB_ICE_SESSION_STATE_CLOSED);
  if (self->restart_source != 0)
    {
      g_source_remove (self->restart_source);
      self->restart_source = 0;
    }
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);

  g_mutex_lock (&self->lock);
  peer = g_steal_pointer (&self->peer);
  g_mutex_unlock (&self->lock);
  if (peer != NULL && self->transport_kind != NB_ICE_TRANSPORT_NONE)
    nb_wg_peer_set_transport (peer, NULL);
  g_clear_object (&peer);
  set_transport_kind (self, NB_ICE_TRANSPORT_NONE);

  if (self->agent != NULL)
    g_signal_handlers_disconnect_by_data (self->agent, self);
  if (self->worker != NULL)
    {
      GSource *source = g_timeout_source_new (CLOSE_TIMEOUT_MS);

      /* TURN allocations are released (a refresh with lifetime 0, RFC 8656
       * §7) before the agent goes; their answers come on the session's
       * thread, which stops when they did, or after a bound. */
      g_source_set_callback (source, quit_worker, self->worker_loop, NULL);
      g_source_attach (source, self->worker_context);
      g_source_unref (source);
      g_main_context_invoke (self->worker_context, close_agent, self);
      g_thread_join (g_steal_pointer (&self->worker));
    }
  if (self->agent != NULL)
    {
      nice_agent_attach_recv (self->agent, self->stream_id, COMPONENT_ID, self->worker_context,
                              NULL, NULL);
      nice_agent_remove_stream (self->agent, self->stream_id);
      g_clear_object (&self->agent);
    }
  g_clear_pointer (&self->channel, channel_unref);

  {
    GSource *events;
    NbWgDevice *device;

    g_mutex_lock (&self->lock);
    device = g_steal_pointer (&self->device);
    g_queue_clear_full (&self->events, event_free);
    events = g_steal_pointer (&self->event_source);
    g_mutex_unlock (&self->lock);
    /* The source holds a reference to the session: dropped here, outside
     * the lock. */
    if (events != NULL)
      {
        g_source_destroy (events);
        g_source_unref (events);
      }
    g_clear_object (&device);
  }

  g_clear_pointer (&self->worker_loop, g_main_loop_unref);
  g_clear_pointer (&self->worker_context, g_main_context_unref);
  g_clear_pointer (&self->park_context, g_main_context_unref);
}

/**
 * nb_ice_session_get_state:
 * @self: a #NbIceSession
 *
 * Returns: where the session stands
 */
NbIceSessionState
nb_ice_session_get_state (NbIceSession *self)
{
  g_return_val_if_fail (NB_IS_ICE_SESSION (self), NB_ICE_SESSION_STATE_CLOSED);
  return self->state;
}

/**
 * nb_ice_session_get_controlling:
 * @self: a #NbIceSession
 *
 * Returns: whether this side controls (its public key is the greater)
 */
gboolean
nb_ice_session_get_controlling (NbIceSession *self)
{
  g_return_val_if_fail (NB_IS_ICE_SESSION (self), FALSE);
  return self->controlling;
}

/**
 * nb_ice_session_get_session_id:
 * @self: a #NbIceSession
 *
 * Returns: (nullable): the current session id, %NULL before the start
 */
const char *
nb_ice_session_get_session_id (NbIceSession *self)
{
  g_return_val_if_fail (NB_IS_ICE_SESSION (self), NULL);
  return self->session_id;
}

static char *
dup_local_credential (NbIceSession *self,
                      gboolean      password)
{
  gchar *ufrag = NULL, *pwd = NULL;

  if (self->agent == NULL ||
      !nice_agent_get_local_credentials (self->agent, self->stream_id, &ufrag, &pwd))
    return NULL;
  if (password)
    {
      g_free (ufrag);
      return pwd;
    }
  g_free (pwd);
  return ufrag;
}

/**
 * nb_ice_session_dup_local_ufrag:
 * @self: a #NbIceSession
 *
 * Returns: (transfer full) (nullable): the local username fragment, %NULL
 *   before the start
 */
char *
nb_ice_session_dup_local_ufrag (NbIceSession *self)
{
  g_return_val_if_fail (NB_IS_ICE_SESSION (self), NULL);
  return dup_local_credential (self, FALSE);
}

/**
 * nb_ice_session_dup_local_password:
 * @self: a #NbIceSession
 *
 * Returns: (transfer full) (nullable): the local password, %NULL before
 *   the start
 */
char *
nb_ice_session_dup_local_password (NbIceSession *self)
{
  g_return_val_if_fail (NB_IS_ICE_SESSION (self), NULL);
  return dup_local_credential (self, TRUE);
}

/**
 * nb_ice_session_get_selected_pair:
 * @self: a #NbIceSession
 * @local_type: (out) (optional): the local candidate's type
 * @local_address: (out) (optional) (transfer full): the local candidate's
 *   address
 * @remote_type: (out) (optional): the remote candidate's type
 * @remote_address: (out) (optional) (transfer full): the remote candidate's
 *   address
 *
 * Tells the pair selected last (it stays while a restart looks for another).
 *
 * Returns: %TRUE if a pair was selected
 */
gboolean
nb_ice_session_get_selected_pair (NbIceSession        *self,
                                  NbIceCandidateType  *local_type,
                                  GInetSocketAddress **local_address,
                                  NbIceCandidateType  *remote_type,
                                  GInetSocketAddress **remote_address)
{
  g_return_val_if_fail (NB_IS_ICE_SESSION (self), FALSE);

  if (!self->have_pair)
    return FALSE;
  if (local_type != NULL)
    *local_type = self->local_type;
  if (local_address != NULL)
    *local_address = g_object_ref (self->local_address);
  if (remote_type != NULL)
    *remote_type = self->remote_type;
  if (remote_address != NULL)
    *remote_address = g_object_ref (self->remote_address);
  return TRUE;
}

/**
 * nb_ice_session_get_transport_kind:
 * @self: a #NbIceSession
 *
 * Returns: how the attached WireGuard peer's packets travel
 */
NbIceTransportKind
nb_ice_session_get_transport_kind (NbIceSession *self)
{
  g_return_val_if_fail (NB_IS_ICE_SESSION (self), NB_ICE_TRANSPORT_NONE);
  return self->transport_kind;
}

/**
 * nb_ice_session_get_channel_rx_datagrams:
 * @self: a #NbIceSession
 *
 * Returns: how many WireGuard datagrams came in through the agent (on a
 *   relayed pair, or before the socket was handed over)
 */
guint64
nb_ice_session_get_channel_rx_datagrams (NbIceSession *self)
{
  guint64 rx;

  g_return_val_if_fail (NB_IS_ICE_SESSION (self), 0);
  g_mutex_lock (&self->lock);
  rx = self->rx;
  g_mutex_unlock (&self->lock);
  return rx;
}

/**
 * nb_ice_session_get_channel_tx_datagrams:
 * @self: a #NbIceSession
 *
 * Returns: how many WireGuard datagrams went out through the agent
 */
guint64
nb_ice_session_get_channel_tx_datagrams (NbIceSession *self)
{
  g_return_val_if_fail (NB_IS_ICE_SESSION (self), 0);
  if (self->channel == NULL)
    return 0;
  return __atomic_load_n (&self->channel->tx, __ATOMIC_RELAXED);
}
