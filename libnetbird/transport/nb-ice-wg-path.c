/* nb-ice-wg-path.c: the path an ICE session gives its WireGuard peer
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * Once a pair is selected the attached WireGuard peer gets a channel
 * transport that sends with nice_agent_send() and receives from the
 * agent's receive callback (on the runner's thread). For a host, server-
 * or peer-reflexive pair, the selected socket is then duplicated and handed
 * to the peer with nb_wg_transport_new_socket(), so the packet threads read
 * and write it directly. Two things must hold first, or the packet threads
 * would eat connectivity checks that libnice still needs: this side's
 * checks are done (libnice's READY), and the other side's are too, which
 * its first WireGuard datagram proves (a peer sends WireGuard on a pair only
 * once it selected it). From then on the agent's sockets wait on a context
 * nobody runs ("parked"), so every datagram goes to the packet threads; a
 * restart moves the peer back to the channel and the sockets back to the
 * runner's thread before new checks start.
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
#include <netinet/in.h>
#include <netinet/udp.h>

#include "nb-ice-session-private.h"

static NbIceChannel *
nb_ice_channel_ref (NbIceChannel *channel)
{
  g_atomic_ref_count_inc (&channel->ref);
  return channel;
}

void
nb_ice_channel_unref (gpointer data)
{
  NbIceChannel *channel = data;

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
  NbIceChannel *channel = user_data;
  gint sent;

  sent = nice_agent_send (channel->agent, channel->stream_id, NB_ICE_COMPONENT_ID, (guint) len,
                          (const gchar *) data);
  if (sent < 0 || (gsize) sent != len)
    return FALSE;
  __atomic_add_fetch (&channel->tx, 1, __ATOMIC_RELAXED);
  return TRUE;
}

/* A datagram that is not STUN came through the agent: WireGuard from the
 * other peer. Runs on the runner's thread. */
void
nb_ice_session_on_receive (NiceAgent *agent,
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

  /* Only the runner's thread runs its agents' receive callbacks, one at a
   * time, so its buffer is theirs; the lock is not held into WireGuard, whose sends may come back
   * into libnice and from there into this session's handlers. */
  g_mutex_lock (&self->lock);
  self->rx++;
  first = !self->wg_seen;
  self->wg_seen = TRUE;
  if (self->device != NULL && self->peer != NULL)
    {
      if (!self->wg_path)
        {
          /* No pair selected here yet: an answer would have nowhere to go
           * and the other side would wait REKEY_TIMEOUT (5 s) to try again.
           * Handshake messages wait for the path instead. */
          if (len <= NB_ICE_HELD_SIZE && self->n_held < NB_ICE_HELD_MAX)
            {
              memcpy (self->held[self->n_held], buf, len);
              self->held_len[self->n_held++] = (guint16) len;
            }
        }
      else
        {
          device = g_object_ref (self->device);
          peer = g_object_ref (self->peer);
        }
    }
  g_mutex_unlock (&self->lock);

  if (peer != NULL && len <= NB_ICE_RX_BUFFER_SIZE)
    {
      /* The receive path decrypts in place: into a buffer of ours. */
      guint8 *rx_buffer = nb_ice_runner_get_rx_buffer (self->runner);

      memcpy (rx_buffer, buf, len);
      nb_wg_device_receive_from_transport (device, peer, rx_buffer, len);
    }
  g_clear_object (&peer);
  g_clear_object (&device);

  if (first)
    nb_ice_session_push_event (self, nb_ice_event_new (NB_ICE_EVENT_WG_SEEN));
}

/* Where the agent's sockets are watched: the runner's thread, or nowhere
 * while the packet threads own the selected socket. */
void
nb_ice_session_set_parked (NbIceSession *self,
                           gboolean      parked)
{
  if (self->parked == parked || self->agent == NULL)
    return;
  self->parked = parked;
  /* While parked the packet threads alone read the socket, with UDP_GRO
   * as on the device's own sockets: one receive holds a run of datagrams
   * of one size, which they cut apart. libnice reads one datagram at a
   * time and would take a run for one datagram, so GRO is on only while
   * the agent does not read (the handed-over fd shares the socket). */
  {
    g_autoptr(GSocket) socket = nice_agent_get_selected_socket (self->agent, self->stream_id,
                                                                NB_ICE_COMPONENT_ID);
    int gro = parked ? 1 : 0;

    if (socket != NULL)
      setsockopt (g_socket_get_fd (socket), SOL_UDP, UDP_GRO, &gro, sizeof gro);
  }
  nice_agent_attach_recv (self->agent, self->stream_id, NB_ICE_COMPONENT_ID,
                          parked ? nb_ice_runner_get_park_context (self->runner)
                                 : nb_ice_runner_get_context (self->runner),
                          nb_ice_session_on_receive, self);
  g_debug ("ICE session %s: the agent's sockets are %s", self->session_id,
           parked ? "parked, WireGuard reads the selected one" : "read by the agent");
}

static NbWgTransport *
socket_transport_new (NbIceSession  *self,
                      GError       **error)
{
  g_autoptr(GSocket) socket = NULL;
  int fd;

  socket = nice_agent_get_selected_socket (self->agent, self->stream_id, NB_ICE_COMPONENT_ID);
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

/* Marks whether the peer has a path of the session; once it has, what was
 * held for it goes to WireGuard, which can answer now. */
static void
deliver_held (NbIceSession *self,
              NbWgPeer     *peer,
              gboolean      path)
{
  NbWgDevice *device = NULL;
  guint n;

  g_mutex_lock (&self->lock);
  self->wg_path = path && peer != NULL;
  n = self->wg_path ? self->n_held : 0;
  self->n_held = 0;
  if (n > 0 && self->device != NULL)
    device = g_object_ref (self->device);
  g_mutex_unlock (&self->lock);

  /* The receive callback no longer writes the slots once wg_path is set. */
  for (guint i = 0; device != NULL && i < n; i++)
    nb_wg_device_receive_from_transport (device, peer, self->held[i], self->held_len[i]);
  if (n > 0)
    g_debug ("ICE session %s: %u WireGuard message%s held until a pair was selected",
             self->session_id, n, n == 1 ? "" : "s");
  g_clear_object (&device);
}

/* Gives the attached peer the transport the session's state calls for. */
void
nb_ice_session_update_transport (NbIceSession *self)
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
    transport = nb_wg_transport_new_channel (channel_send, nb_ice_channel_ref (self->channel),
                                             nb_ice_channel_unref);

  /* Park only once the packet threads read the socket; unpark before they
   * stop, so no datagram waits for a reader. */
  if (wanted != NB_ICE_TRANSPORT_SOCKET)
    nb_ice_session_set_parked (self, FALSE);
  if (peer != NULL)
    nb_wg_peer_set_transport (peer, transport);
  if (wanted == NB_ICE_TRANSPORT_SOCKET)
    nb_ice_session_set_parked (self, TRUE);
  deliver_held (self, peer, wanted != NB_ICE_TRANSPORT_NONE);
  g_debug ("ICE session %s: WireGuard goes %s", self->session_id,
           wanted == NB_ICE_TRANSPORT_SOCKET ? "on the selected socket" :
           wanted == NB_ICE_TRANSPORT_CHANNEL ? "through the agent" : "nowhere through ICE");
  nb_ice_session_set_transport_kind (self, wanted);
  g_clear_object (&peer);
}

NbIceChannel *
nb_ice_channel_new (NiceAgent *agent,
                    guint      stream_id)
{
  NbIceChannel *channel = g_new0 (NbIceChannel, 1);

  g_atomic_ref_count_init (&channel->ref);
  channel->agent = g_object_ref (agent);
  channel->stream_id = stream_id;
  return channel;
}
