/* nb-ice-agent.c: an ICE session's agent, on a thread of its own
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * libnice emits its signals on whichever thread runs it: the session's
 * thread, the caller's during a nice_agent_*() call, or a WireGuard packet
 * thread inside nice_agent_send(). The handlers here only copy what they
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

/* -- the session's thread ---------------------------------------------------- */

gpointer
nb_ice_session_worker_main (gpointer user_data)
{
  NbIceSession *self = user_data;

  g_main_context_push_thread_default (self->worker_context);
  g_main_loop_run (self->worker_loop);
  g_main_context_pop_thread_default (self->worker_context);
  return NULL;
}

gboolean
nb_ice_quit_loop (gpointer user_data)
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
gboolean
nb_ice_session_close_agent (gpointer user_data)
{
  NbIceSession *self = user_data;

  nice_agent_close_async (self->agent, agent_closed_cb, self->worker_loop);
  return G_SOURCE_REMOVE;
}

void
nb_ice_session_connect_agent (NbIceSession *self)
{
  g_signal_connect (self->agent, "new-candidate-full", G_CALLBACK (on_new_candidate), self);
  g_signal_connect (self->agent, "candidate-gathering-done", G_CALLBACK (on_gathering_done), self);
  g_signal_connect (self->agent, "component-state-changed", G_CALLBACK (on_component_state), self);
  g_signal_connect (self->agent, "new-selected-pair-full", G_CALLBACK (on_selected_pair), self);
}
