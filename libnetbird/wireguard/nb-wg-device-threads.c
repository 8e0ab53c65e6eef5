/* nb-wg-device-threads.c: a device's packet threads, sockets and locks
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * Bringing the packet path up and down: the UDP sockets, the epoll set the
 * receive thread waits on (the device's sockets and those handed over by
 * transports), the TUN reader and receive threads, the crypto workers and
 * the timer tick; and the big-reader configuration lock those threads
 * share (see nb-wg-internal.h). Sessions and configuration are
 * nb-wg-device.c's.
 */
#define G_LOG_DOMAIN "netbird-wg"

#include <errno.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <netinet/udp.h>

#include "nb-tun-private.h"
#include "nb-wg-internal.h"

#define TIMER_TICK_MS 100

/* -- the configuration lock ---------------------------------------------- */

void
nb_wg_device_config_write_lock (NbWgDevice *self)
{
  g_rw_lock_writer_lock (&self->config_lock);
  for (guint i = 0; self->packet_locks != NULL && i < self->packet_locks->len; i++)
    g_mutex_lock (g_ptr_array_index (self->packet_locks, i));
}

void
nb_wg_device_config_write_unlock (NbWgDevice *self)
{
  for (guint i = self->packet_locks != NULL ? self->packet_locks->len : 0; i > 0; i--)
    g_mutex_unlock (g_ptr_array_index (self->packet_locks, i - 1));
  g_rw_lock_writer_unlock (&self->config_lock);
}

static NbWgThreadData *
thread_data_new (NbWgDevice *self, guint queue)
{
  NbWgThreadData *data = g_new0 (NbWgThreadData, 1);

  data->device = self;
  data->queue = queue;
  data->lock = g_new (GMutex, 1);
  g_mutex_init (data->lock);
  return data;
}

static void
packet_lock_free (gpointer data)
{
  g_mutex_clear (data);
  g_free (data);
}

/* -- sockets handed over by transports ---------------------------------------------------------- */

void
nb_wg_device_register_transport (NbWgDevice    *self,
                                 NbWgTransport *transport)
{
  int one = 1;

  if (transport->kind != NB_WG_TRANSPORT_SOCKET)
    return;
  /* Batched receive on the handed-over socket too (ignored where the
   * socket is not UDP). */
  setsockopt (transport->fd, SOL_UDP, NB_WG_UDP_GRO, &one, sizeof one);
  g_hash_table_add (self->transports, transport);
  if (self->epoll_fd >= 0)
    {
      struct epoll_event event = { .events = EPOLLIN, .data.ptr = transport };
      epoll_ctl (self->epoll_fd, EPOLL_CTL_ADD, transport->fd, &event);
    }
}

void
nb_wg_device_unregister_transport (NbWgDevice    *self,
                                   NbWgTransport *transport)
{
  if (!g_hash_table_remove (self->transports, transport))
    return;
  if (self->epoll_fd >= 0)
    epoll_ctl (self->epoll_fd, EPOLL_CTL_DEL, transport->fd, NULL);
}

gboolean
nb_wg_device_transport_is_live (NbWgDevice    *self,
                                NbWgTransport *transport)
{
  return g_hash_table_contains (self->transports, transport);
}

/* -- up and down ----------------------------------------------------------- */

static gboolean
timer_tick_cb (gpointer user_data)
{
  nb_wg_device_tick (user_data);
  return G_SOURCE_CONTINUE;
}

static gboolean
epoll_add (NbWgDevice *self, int fd, gpointer tag, GError **error)
{
  struct epoll_event event = { .events = EPOLLIN, .data.ptr = tag };

  if (fd < 0)
    return TRUE;
  if (epoll_ctl (self->epoll_fd, EPOLL_CTL_ADD, fd, &event) < 0)
    {
      int saved = errno;
      g_set_error (error, NB_WG_DEVICE_ERROR, NB_WG_DEVICE_ERROR_SYSTEM,
                   "Could not watch a socket: %s", g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

gboolean
nb_wg_device_up_sockets (NbWgDevice  *self,
                         GError     **error)
{
  GHashTableIter iter;
  gpointer value;

  nb_wg_device_config_write_lock (self);
  if (self->up)
    {
      nb_wg_device_config_write_unlock (self);
      return TRUE;
    }
  if (!nb_wg_socket_open (self, error))
    {
      nb_wg_device_config_write_unlock (self);
      return FALSE;
    }
  if (self->stop_fd < 0)
    self->stop_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  else
    {
      guint64 drain;
      G_GNUC_UNUSED ssize_t r = read (self->stop_fd, &drain, sizeof drain);
    }
  self->epoll_fd = epoll_create1 (EPOLL_CLOEXEC);
  if (self->stop_fd < 0 || self->epoll_fd < 0 ||
      !epoll_add (self, self->stop_fd, NULL, error) ||
      !epoll_add (self, self->fd4, &self->fd4, error) ||
      !epoll_add (self, self->fd6, &self->fd6, error))
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, NB_WG_DEVICE_ERROR, NB_WG_DEVICE_ERROR_SYSTEM,
                     "Could not set up the packet threads: %s", g_strerror (errno));
      if (self->epoll_fd >= 0)
        close (self->epoll_fd);
      self->epoll_fd = -1;
      nb_wg_socket_close (self);
      nb_wg_device_config_write_unlock (self);
      return FALSE;
    }
  g_hash_table_iter_init (&iter, self->transports);
  while (g_hash_table_iter_next (&iter, &value, NULL))
    epoll_add (self, ((NbWgTransport *) value)->fd, value, NULL);

  self->mtu = self->tun != NULL ? nb_tun_get_mtu (self->tun) : 0;
  __atomic_store_n (&self->stopping, FALSE, __ATOMIC_RELEASE);
  self->up = TRUE;
  {
    /* Each thread's lock is taken here, by this writer, so that the unlock
     * at the end of up() covers it like the others. */
    GPtrArray *locks = g_ptr_array_new ();
    NbWgThreadData *data = thread_data_new (self, 0);

    g_ptr_array_add (locks, data->lock);
    g_mutex_lock (data->lock);
    self->crypt_pool = nb_wg_crypt_pool_new (nb_wg_crypt_pool_default_workers (),
                                             &self->counters[NB_WG_COUNTER_CRYPT_OFFLOADED]);
    self->rx_thread = g_thread_new ("nb-wg-rx", nb_wg_rx_thread, data);
    self->tun_threads = g_ptr_array_new ();
    if (self->tun != NULL)
      {
        guint n = nb_tun_get_n_queues (self->tun);

        for (guint q = 0; q < n; q++)
          {
            data = thread_data_new (self, q);
            g_ptr_array_add (locks, data->lock);
            g_mutex_lock (data->lock);
            g_ptr_array_add (self->tun_threads,
                             g_thread_new ("nb-wg-tun", nb_wg_tun_thread, data));
          }
      }
    self->packet_locks = locks;
  }

  self->timer_source = g_timeout_source_new (TIMER_TICK_MS);
  g_source_set_callback (self->timer_source, timer_tick_cb, self, NULL);
  g_source_set_name (self->timer_source, "[netbird] WireGuard timers");
  g_source_attach (self->timer_source, self->context);
  nb_wg_device_config_write_unlock (self);

  /* Persistent keepalives start at once (as wg(8) does on up). */
  g_rw_lock_reader_lock (&self->config_lock);
  g_hash_table_iter_init (&iter, self->peers);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      NbWgPeer *peer = value;

      if (nb_wg_peer_get_persistent_keepalive (peer) > 0)
        nb_wg_send_keepalive (peer);
    }
  g_rw_lock_reader_unlock (&self->config_lock);
  return TRUE;
}

/* Stops the threads and closes the sockets, keeping sessions. */
void
nb_wg_device_down_sockets (NbWgDevice *self)
{
  GPtrArray *threads;
  GPtrArray *locks;
  NbWgCryptPool *pool;
  GThread *rx;
  guint64 one = 1;

  nb_wg_device_config_write_lock (self);
  if (!self->up)
    {
      nb_wg_device_config_write_unlock (self);
      return;
    }
  self->up = FALSE;
  __atomic_store_n (&self->stopping, TRUE, __ATOMIC_RELEASE);
  rx = g_steal_pointer (&self->rx_thread);
  threads = g_steal_pointer (&self->tun_threads);
  if (self->timer_source != NULL)
    {
      g_source_destroy (self->timer_source);
      g_clear_pointer (&self->timer_source, g_source_unref);
    }
  G_GNUC_UNUSED ssize_t r = write (self->stop_fd, &one, sizeof one);
  nb_wg_device_config_write_unlock (self);

  /* The threads take their share of the config lock: join them unlocked. */
  if (rx != NULL)
    g_thread_join (rx);
  for (guint i = 0; threads != NULL && i < threads->len; i++)
    g_thread_join (g_ptr_array_index (threads, i));
  g_clear_pointer (&threads, g_ptr_array_unref);

  /* The threads are gone: their locks leave the set. */
  g_rw_lock_writer_lock (&self->config_lock);
  close (self->epoll_fd);
  self->epoll_fd = -1;
  nb_wg_socket_close (self);
  locks = g_steal_pointer (&self->packet_locks);
  pool = g_steal_pointer (&self->crypt_pool);
  g_rw_lock_writer_unlock (&self->config_lock);
  nb_wg_crypt_pool_free (pool);
  if (locks != NULL)
    {
      g_ptr_array_set_free_func (locks, packet_lock_free);
      g_ptr_array_unref (locks);
    }
}

