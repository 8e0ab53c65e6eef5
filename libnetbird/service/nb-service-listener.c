/* nb-service-listener.c: the accept loop, its caps and its recovery
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-service"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/socket.h>

#include "nb-service-internal.h"

/* The listening socket is ours, not libsoup's: libsoup 3.2's listener
 * removes its watch for good when one accept() fails (EMFILE), and the
 * server never accepts again. Here a failed accept() backs off briefly and
 * the watch comes back; with descriptors exhausted, a spare one is given up
 * to take the next connection off the queue and close it, so the queue
 * keeps moving. Connections over a cap are accepted and refused at once (a
 * short 503 when there is no TLS) rather than left in the queue. */

/* Thousands of peers reconnect at once after a restart; the kernel caps it
 * at net.core.somaxconn. */
#define LISTEN_BACKLOG 4096
#define ACCEPT_BATCH 64
#define ACCEPT_BACKOFF_MS 100

static gboolean on_incoming (GSocket *socket, GIOCondition condition, gpointer user_data);

static void
watch_listener (NbService *self)
{
  self->accept_source = g_socket_create_source (self->listen_socket, G_IO_IN, NULL);
  g_source_set_callback (self->accept_source, G_SOURCE_FUNC (on_incoming), self, NULL);
  g_source_attach (self->accept_source, g_main_context_get_thread_default ());
}

static gboolean
on_backoff_over (gpointer user_data)
{
  NbService *self = user_data;

  self->backoff_source = 0;
  if (self->listen_socket != NULL)
    watch_listener (self);
  return G_SOURCE_REMOVE;
}

static void
open_spare (NbService *self)
{
  if (self->spare_fd < 0)
    self->spare_fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Out of descriptors: the spare one makes room to take one connection off
 * the queue and close it. */
static void
shed_one (NbService *self)
{
  int fd;

  if (self->spare_fd < 0)
    return;
  close (self->spare_fd);
  self->spare_fd = -1;
  fd = accept4 (g_socket_get_fd (self->listen_socket), NULL, NULL, SOCK_CLOEXEC);
  if (fd >= 0)
    {
      close (fd);
      self->metrics.refused[NB_SERVICE_REFUSED_DESCRIPTORS]++;
    }
  open_spare (self);
}

static void
refuse_at_once (NbService        *self,
                GSocket          *socket,
                NbServiceRefused  reason)
{
  static const char answer[] =
    "HTTP/1.1 503 Service Unavailable\r\n"
    "Connection: close\r\n"
    "Retry-After: 5\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 51\r\n"
    "\r\n"
    "{\"code\":503,\"message\":\"too many open connections\"}\n";

  self->metrics.refused[reason]++;
  if (self->tls_certificate == NULL)
    g_socket_send_with_blocking (socket, answer, sizeof answer - 1, FALSE, NULL, NULL);
  g_socket_shutdown (socket, FALSE, TRUE, NULL);
  g_socket_close (socket, NULL);
}

static void
take (NbService *self,
      GSocket   *socket)
{
  g_autoptr(GSocketAddress) remote = g_socket_get_remote_address (socket, NULL);
  g_autofree char *address = NULL;
  guint from_address;

  if (remote == NULL || !G_IS_INET_SOCKET_ADDRESS (remote))
    {
      g_socket_close (socket, NULL);
      return;
    }
  address = g_inet_address_to_string (
    g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)));
  from_address = GPOINTER_TO_UINT (g_hash_table_lookup (self->per_address, address));

  if (g_hash_table_size (self->connections) >= self->limits.max_connections)
    {
      refuse_at_once (self, socket, NB_SERVICE_REFUSED_GLOBAL_CAP);
      return;
    }
  if (from_address >= self->limits.max_connections_per_address)
    {
      refuse_at_once (self, socket, NB_SERVICE_REFUSED_ADDRESS_CAP);
      return;
    }
  nb_service_take_socket (self, socket, remote, address);
}

static gboolean
on_incoming (GSocket      *listen_socket,
             GIOCondition  condition,
             gpointer      user_data)
{
  NbService *self = user_data;

  for (guint i = 0; i < ACCEPT_BATCH; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GSocket) socket = g_socket_accept (listen_socket, NULL, &error);

      if (socket != NULL)
        {
          take (self, socket);
          continue;
        }
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        return G_SOURCE_CONTINUE;

      /* EMFILE, ENFILE, ENOMEM, ENOBUFS...: never give up the listener. */
      self->metrics.accept_errors++;
      if (self->metrics.accept_errors == 1 || self->metrics.accept_errors % 1000 == 0)
        g_message ("%s: accept failed (%" G_GUINT64_FORMAT " times so far): %s; retrying in %d ms",
                   self->name, self->metrics.accept_errors, error->message, ACCEPT_BACKOFF_MS);
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TOO_MANY_OPEN_FILES))
        shed_one (self);
      g_clear_pointer (&self->accept_source, g_source_unref);
      self->backoff_source = g_timeout_add (ACCEPT_BACKOFF_MS, on_backoff_over, self);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

gboolean
nb_service_listener_open (NbService       *self,
                          GSocketAddress  *address,
                          GError         **error)
{
  g_autoptr(GSocket) socket = NULL;

  if (self->listen_socket != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS, "%s already listens", self->name);
      return FALSE;
    }
  socket = g_socket_new (g_socket_address_get_family (address), G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL)
    return FALSE;
  g_socket_set_blocking (socket, FALSE);
  g_socket_set_listen_backlog (socket, LISTEN_BACKLOG);
  if (!g_socket_bind (socket, address, TRUE, error) || !g_socket_listen (socket, error))
    return FALSE;
  self->local_address = g_socket_get_local_address (socket, error);
  if (self->local_address == NULL)
    return FALSE;
  self->listen_socket = g_steal_pointer (&socket);
  open_spare (self);
  watch_listener (self);
  return TRUE;
}

void
nb_service_listener_close (NbService *self)
{
  g_clear_handle_id (&self->backoff_source, g_source_remove);
  if (self->accept_source != NULL)
    {
      g_source_destroy (self->accept_source);
      g_clear_pointer (&self->accept_source, g_source_unref);
    }
  if (self->listen_socket != NULL)
    g_socket_close (self->listen_socket, NULL);
  g_clear_object (&self->listen_socket);
  g_clear_object (&self->local_address);
  g_clear_object (&self->last_local);
  if (self->spare_fd >= 0)
    close (self->spare_fd);
  self->spare_fd = -1;
}
