/* nb-ice-negotiation.c: what an ICE session takes from the other peer
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * The remote credentials and trickled candidates, as Signal brings them,
 * and the restarts (RFC 8445 §9) they or this side ask for.
 */
#define G_LOG_DOMAIN "netbird-ice"

#include <string.h>

#include "nb-ice-session-private.h"
#include "nb-signal-proto-private.h"

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
  if (parsed->component_id != NB_ICE_COMPONENT_ID)
    {
      g_set_error (error, NB_ICE_SESSION_ERROR, NB_ICE_SESSION_ERROR_INVALID_CANDIDATE,
                   "The candidate “%s” is for component %u; a session has only component 1",
                   candidate, parsed->component_id);
      nice_candidate_free (parsed);
      return FALSE;
    }
  list = g_slist_append (NULL, parsed);
  added = nice_agent_set_remote_candidates (self->agent, self->stream_id, NB_ICE_COMPONENT_ID, list);
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
  nb_ice_session_new_session_id (self);

  /* Back on the agent before it checks again: the packet threads would eat
   * the checks on the socket they read. The old pair stays selected (RFC
   * 8445 §9), so packets keep flowing meanwhile. */
  nb_ice_session_update_transport (self);
  nice_agent_restart_stream (self->agent, self->stream_id);
  nb_ice_session_queue_credentials (self);
  candidates = nice_agent_get_local_candidates (self->agent, self->stream_id, NB_ICE_COMPONENT_ID);
  for (GSList *l = candidates; l != NULL; l = l->next)
    {
      char *text = nb_ice_candidate_to_attribute (self->agent, l->data);

      if (text != NULL)
        {
          NbIceEvent *event = nb_ice_event_new (NB_ICE_EVENT_CANDIDATE);
          event->text = text;
          nb_ice_session_push_event (self, event);
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
  if (self->n_remote_candidates >= NB_ICE_MAX_REMOTE_CANDIDATES)
    {
      g_set_error (error, NB_ICE_SESSION_ERROR, NB_ICE_SESSION_ERROR_INVALID_CANDIDATE,
                   "The other peer sent more than %d candidates", NB_ICE_MAX_REMOTE_CANDIDATES);
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
