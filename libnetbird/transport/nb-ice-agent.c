/* nb-ice-agent.c: an ICE session's agent, on a runner's thread
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * libnice emits its signals on whichever thread runs it: the runner's
 * thread the session's agent runs on (nb-ice-runner.c), the caller's
 * during a nice_agent_*() call, or a WireGuard packet thread inside
 * nice_agent_send(). The handlers here only copy what they
 * need into an event; the session handles the events in order on the
 * context it was created in.
 */
#define G_LOG_DOMAIN "netbird-ice"

#include <string.h>
#include <sys/socket.h>

#include "nb-ice-session-private.h"

void
nb_ice_event_free (gpointer data)
{
  NbIceEvent *event = data;

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
char *
nb_ice_candidate_to_attribute (NiceAgent     *agent,
                               NiceCandidate *candidate)
{
  g_autofree char *sdp = nice_agent_generate_local_candidate_sdp (agent, candidate);

  if (sdp == NULL)
    return NULL;
  return g_strdup (g_str_has_prefix (sdp, "a=") ? sdp + 2 : sdp);
}

/* -- the event queue: any thread in, the owner's context out -------------- */

void
nb_ice_session_push_event (NbIceSession *self,
                           NbIceEvent        *event)
{
  g_mutex_lock (&self->lock);
  event->generation = event->generation != 0 ? event->generation : self->generation;
  g_queue_push_tail (&self->events, event);
  if (self->event_source == NULL)
    {
      self->event_source = g_idle_source_new ();
      g_source_set_priority (self->event_source, G_PRIORITY_DEFAULT);
      g_source_set_callback (self->event_source, nb_ice_session_dispatch_events, g_object_ref (self),
                             g_object_unref);
      g_source_set_static_name (self->event_source, "[netbird] ICE session events");
      g_source_attach (self->event_source, self->owner_context);
    }
  g_mutex_unlock (&self->lock);
}

NbIceEvent *
nb_ice_event_new (NbIceEventKind kind)
{
  NbIceEvent *event = g_new0 (NbIceEvent, 1);

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
  NbIceEvent *event;
  char *text;

  if (candidate->stream_id != self->stream_id || candidate->component_id != NB_ICE_COMPONENT_ID)
    return;
  text = nb_ice_candidate_to_attribute (agent, candidate);
  if (text == NULL)
    return;
  event = nb_ice_event_new (NB_ICE_EVENT_CANDIDATE);
  event->text = text;
  nb_ice_session_push_event (self, event);
}

static void
on_gathering_done (NiceAgent *agent,
                   guint      stream_id,
                   gpointer   user_data)
{
  NbIceSession *self = user_data;

  if (stream_id == self->stream_id)
    nb_ice_session_push_event (self, nb_ice_event_new (NB_ICE_EVENT_GATHERING_DONE));
}

static void
on_component_state (NiceAgent *agent,
                    guint      stream_id,
                    guint      component_id,
                    guint      state,
                    gpointer   user_data)
{
  NbIceSession *self = user_data;
  NbIceEvent *event;

  if (stream_id != self->stream_id || component_id != NB_ICE_COMPONENT_ID)
    return;
  event = nb_ice_event_new (NB_ICE_EVENT_STATE);
  event->nice_state = state;
  nb_ice_session_push_event (self, event);
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
  NbIceEvent *event;

  if (stream_id != self->stream_id || component_id != NB_ICE_COMPONENT_ID)
    return;
  event = nb_ice_event_new (NB_ICE_EVENT_SELECTED_PAIR);
  event->local_type = candidate_type_from_nice (local->type);
  event->remote_type = candidate_type_from_nice (remote->type);
  event->local = socket_address_from_nice (&local->addr);
  event->remote = socket_address_from_nice (&remote->addr);
  nb_ice_session_push_event (self, event);
}

/* -- the agent's close, on its runner's thread ------------------------------- */

/* The agent's close as the session and the runner's thread share it. */
typedef struct
{
  gatomicrefcount ref;
  GMutex lock;
  GCond cond;
  gboolean done;
  NiceAgent *agent;       /* the runner's thread's alone once started */
  guint stream_id;
  GSource *timeout;
} AgentClose;

static AgentClose *
agent_close_ref (AgentClose *closing)
{
  g_atomic_ref_count_inc (&closing->ref);
  return closing;
}

static void
agent_close_unref (gpointer data)
{
  AgentClose *closing = data;

  if (!g_atomic_ref_count_dec (&closing->ref))
    return;
  g_clear_object (&closing->agent);
  g_mutex_clear (&closing->lock);
  g_cond_clear (&closing->cond);
  g_free (closing);
}

/* The first of the close's answer and the bound: the stream and the
 * agent go on this thread, which runs their sources, so none of them
 * runs while they go. */
static void
agent_close_finish (AgentClose *closing)
{
  NiceAgent *agent = g_steal_pointer (&closing->agent);

  if (agent == NULL)
    return;
  if (closing->timeout != NULL)
    {
      g_source_destroy (closing->timeout);
      g_clear_pointer (&closing->timeout, g_source_unref);
    }
  nice_agent_attach_recv (agent, closing->stream_id, NB_ICE_COMPONENT_ID,
                          g_main_context_get_thread_default (), NULL, NULL);
  nice_agent_remove_stream (agent, closing->stream_id);
  g_object_unref (agent);

  g_mutex_lock (&closing->lock);
  closing->done = TRUE;
  g_cond_signal (&closing->cond);
  g_mutex_unlock (&closing->lock);
}

static void
agent_closed_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  agent_close_finish (user_data);
  agent_close_unref (user_data);
}

static gboolean
agent_close_timeout_cb (gpointer user_data)
{
  agent_close_finish (user_data);
  return G_SOURCE_REMOVE;
}

static gboolean
agent_close_start (gpointer user_data)
{
  AgentClose *closing = user_data;
  NiceAgent *agent = g_object_ref (closing->agent);

  /* TURN allocations are released (a refresh with lifetime 0, RFC 8656
   * §7) before the agent goes; their answers come on this thread, or the
   * bound ends the wait. */
  closing->timeout = g_timeout_source_new (NB_ICE_CLOSE_TIMEOUT_MS);
  g_source_set_callback (closing->timeout, agent_close_timeout_cb, agent_close_ref (closing),
                         agent_close_unref);
  g_source_set_static_name (closing->timeout, "[netbird] ICE agent close");
  g_source_attach (closing->timeout, g_main_context_get_thread_default ());
  nice_agent_close_async (agent, agent_closed_cb, agent_close_ref (closing));
  g_object_unref (agent);
  return G_SOURCE_REMOVE;
}

/* Closes the session's agent on its runner's thread, which goes on
 * running other sessions' agents, and waits until it is gone from there:
 * then no callback of it runs, nor will. Called on the session's context,
 * never on a runner's thread. */
void
nb_ice_session_close_agent (NbIceSession *self)
{
  AgentClose *closing = g_new0 (AgentClose, 1);

  g_atomic_ref_count_init (&closing->ref);
  g_mutex_init (&closing->lock);
  g_cond_init (&closing->cond);
  closing->agent = g_steal_pointer (&self->agent);
  closing->stream_id = self->stream_id;
  g_main_context_invoke_full (nb_ice_runner_get_context (self->runner), G_PRIORITY_DEFAULT,
                              agent_close_start, agent_close_ref (closing), agent_close_unref);
  g_mutex_lock (&closing->lock);
  while (!closing->done)
    g_cond_wait (&closing->cond, &closing->lock);
  g_mutex_unlock (&closing->lock);
  agent_close_unref (closing);
}

void
nb_ice_session_connect_agent (NbIceSession *self)
{
  g_signal_connect (self->agent, "new-candidate-full", G_CALLBACK (on_new_candidate), self);
  g_signal_connect (self->agent, "candidate-gathering-done", G_CALLBACK (on_gathering_done), self);
  g_signal_connect (self->agent, "component-state-changed", G_CALLBACK (on_component_state), self);
  g_signal_connect (self->agent, "new-selected-pair-full", G_CALLBACK (on_selected_pair), self);
}
