/* nb-ice-session.c: one ICE session between two peers, over libnice
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * Threads. The NiceAgent lives on one of a few threads that every
 * session's agent shares (nb-ice-runner.c), each with a GMainContext of
 * its own: its timers, its STUN/TURN traffic and the WireGuard datagrams
 * it receives on a relayed pair never touch the caller's main loop, and a
 * daemon with hundreds of peers does not run hundreds of threads. The
 * session's close waits for its agent to be gone from that thread, which
 * goes on with the others. libnice emits its signals on whichever thread runs
 * it (that thread, or the caller's during a nice_agent_*() call); its
 * handlers (nb-ice-agent.c) only queue an event, and the session's own
 * signals and property changes are emitted from that queue on the context
 * the session was created in.
 *
 * The files: this one holds the object, its state and its public face;
 * nb-ice-runner.c the shared threads; nb-ice-agent.c libnice's callbacks
 * and the agent's close;
 * nb-ice-negotiation.c what comes from the other peer; nb-ice-wg-path.c
 * the WireGuard peer's transport (the socket hand-over); nb-ice-servers.c
 * the STUN and TURN servers.
 */
#define G_LOG_DOMAIN "netbird-ice"

#include <string.h>

#include "nb-ice-session-private.h"
#include "nb-transport-enum-types.h"

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
 * The agent runs on one of a few threads all sessions share. Signals and property
 * notifications are emitted on the thread-default main context of the
 * thread that created the session, and methods are called from it.
 */

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

/* -- state ---------------------------------------------------------------- */

void
nb_ice_session_set_state (NbIceSession      *self,
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

void
nb_ice_session_new_session_id (NbIceSession *self)
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
  self->restart_delay_ms = MIN (self->restart_delay_ms * 2, NB_ICE_RESTART_DELAY_MAX_MS);
}

static void
handle_state (NbIceSession       *self,
              NiceComponentState  nice_state)
{
  self->nice_ready = nice_state == NICE_COMPONENT_STATE_READY;
  switch (nice_state)
    {
    case NICE_COMPONENT_STATE_GATHERING:
      nb_ice_session_set_state (self, NB_ICE_SESSION_STATE_GATHERING);
      break;
    case NICE_COMPONENT_STATE_CONNECTING:
      nb_ice_session_set_state (self, NB_ICE_SESSION_STATE_CONNECTING);
      break;
    case NICE_COMPONENT_STATE_CONNECTED:
    case NICE_COMPONENT_STATE_READY:
      self->restart_delay_ms = NB_ICE_RESTART_DELAY_MIN_MS;
      nb_ice_session_set_state (self, NB_ICE_SESSION_STATE_CONNECTED);
      nb_ice_session_update_transport (self);
      break;
    case NICE_COMPONENT_STATE_FAILED:
      nb_ice_session_set_state (self, NB_ICE_SESSION_STATE_FAILED);
      schedule_restart (self);
      break;
    case NICE_COMPONENT_STATE_DISCONNECTED:
    case NICE_COMPONENT_STATE_LAST:
    default:
      break;
    }
}

gboolean
nb_ice_session_dispatch_events (gpointer user_data)
{
  NbIceSession *self = user_data;
  NbIceEvent *event;

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
          nb_ice_event_free (event);
          continue;
        }

      switch (event->kind)
        {
        case NB_ICE_EVENT_CREDENTIALS:
          if (event->generation == self->generation)
            g_signal_emit (self, signals[SIGNAL_LOCAL_CREDENTIALS], 0, event->text, event->text2);
          break;
        case NB_ICE_EVENT_CANDIDATE:
          /* A candidate queued before a restart was sent again after it. */
          if (event->generation == self->generation)
            g_signal_emit (self, signals[SIGNAL_LOCAL_CANDIDATE], 0, event->text);
          break;
        case NB_ICE_EVENT_GATHERING_DONE:
          g_signal_emit (self, signals[SIGNAL_LOCAL_GATHERING_DONE], 0);
          break;
        case NB_ICE_EVENT_STATE:
          handle_state (self, event->nice_state);
          break;
        case NB_ICE_EVENT_SELECTED_PAIR:
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
          nb_ice_session_update_transport (self);
          g_signal_emit (self, signals[SIGNAL_SELECTED_PAIR_CHANGED], 0);
          break;
        case NB_ICE_EVENT_WG_SEEN:
          nb_ice_session_update_transport (self);
          break;
        default:
          g_assert_not_reached ();
        }
      nb_ice_event_free (event);
    }
  return G_SOURCE_REMOVE;
}

/* The kind of path nb-ice-wg-path.c gave the peer, as a property. */
void
nb_ice_session_set_transport_kind (NbIceSession       *self,
                                   NbIceTransportKind  kind)
{
  if (self->transport_kind == kind)
    return;
  self->transport_kind = kind;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TRANSPORT_KIND]);
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

  g_queue_clear_full (&self->events, nb_ice_event_free);
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
  self->restart_delay_ms = NB_ICE_RESTART_DELAY_MIN_MS;
  self->owner_context = g_main_context_ref_thread_default ();
  self->stun_servers = g_ptr_array_new_with_free_func (nb_ice_server_free);
  self->turn_servers = g_ptr_array_new_with_free_func (nb_ice_server_free);
  self->local_addresses = g_ptr_array_new_with_free_func (g_object_unref);
  self->pending_candidates = g_ptr_array_new_with_free_func (g_free);
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
      nb_ice_session_set_parked (self, FALSE);
      nb_wg_peer_set_transport (old_peer, NULL);
    }
  if (old_peer != peer)
    nb_ice_session_set_transport_kind (self, NB_ICE_TRANSPORT_NONE);
  g_clear_object (&old_peer);
  g_clear_object (&old_device);
  nb_ice_session_update_transport (self);
}

void
nb_ice_session_queue_credentials (NbIceSession *self)
{
  gchar *ufrag = NULL, *pwd = NULL;
  NbIceEvent *event;

  if (!nice_agent_get_local_credentials (self->agent, self->stream_id, &ufrag, &pwd))
    return;
  event = nb_ice_event_new (NB_ICE_EVENT_CREDENTIALS);
  event->text = ufrag;
  event->text2 = pwd;
  nb_ice_session_push_event (self, event);
}

/**
 * nb_ice_session_start:
 * @self: a #NbIceSession
 * @error: return location for a #GError
 *
 * Starts the agent on a thread the sessions share and gathers candidates:
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

  self->runner = nb_ice_runner_acquire ();
  /* RFC 5245 mode, unreliable, ICE-UDP only; no UPnP (it would hold
   * gathering up waiting for a router). */
  self->agent = g_object_new (NICE_TYPE_AGENT,
                              "main-context", nb_ice_runner_get_context (self->runner),
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
      g_clear_pointer (&self->runner, nb_ice_runner_release);
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

  self->channel = nb_ice_channel_new (self->agent, self->stream_id);

  nb_ice_session_connect_agent (self);
  nice_agent_attach_recv (self->agent, self->stream_id, NB_ICE_COMPONENT_ID,
                          nb_ice_runner_get_context (self->runner), nb_ice_session_on_receive, self);

  self->generation = 1;
  nb_ice_session_new_session_id (self);
  self->cancellable = g_cancellable_new ();
  nb_ice_session_set_state (self, NB_ICE_SESSION_STATE_GATHERING);
  nb_ice_session_queue_credentials (self);
  nb_ice_session_resolve_servers (self, self->stun_servers);
  nb_ice_session_resolve_servers (self, self->turn_servers);
  if (self->n_resolving == 0)
    nb_ice_session_gather (self);
  return TRUE;
}

/**
 * nb_ice_session_close:
 * @self: a #NbIceSession
 *
 * Stops the session: the attached peer loses its transport of the session,
 * the agent stops (and the thread it ran on, if no other session's agent
 * runs there). The session is CLOSED from then on.
 */
void
nb_ice_session_close (NbIceSession *self)
{
  NbWgPeer *peer;

  g_return_if_fail (NB_IS_ICE_SESSION (self));

  if (self->state == NB_ICE_SESSION_STATE_CLOSED)
    return;
  nb_ice_session_set_state (self, NB_ICE_SESSION_STATE_CLOSED);
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
  nb_ice_session_set_transport_kind (self, NB_ICE_TRANSPORT_NONE);

  /* The channel's reference to the agent goes first, so that the agent
   * goes on its runner's thread (a transport the peer still holds may
   * keep it a little longer). */
  g_clear_pointer (&self->channel, nb_ice_channel_unref);
  if (self->agent != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->agent, self);
      nb_ice_session_close_agent (self);
    }

  {
    GSource *events;
    NbWgDevice *device;

    g_mutex_lock (&self->lock);
    device = g_steal_pointer (&self->device);
    g_queue_clear_full (&self->events, nb_ice_event_free);
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

  g_clear_pointer (&self->runner, nb_ice_runner_release);
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
