/* nb-wg-transport.c: the transports a peer's packets may use
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-wg"

#include <string.h>
#include <unistd.h>

#include "nb-wg-internal.h"

/*
 * nb_wg_transport_new_socket:
 * @fd: a datagram socket, owned by the transport from now on
 * @remote: where datagrams go
 * @error: return location for a #GError
 *
 * Private API (nb-wg-transport.h).
 *
 * Returns: (transfer full): a transport, or %NULL with
 *   %NB_WG_DEVICE_ERROR_INVALID_CONFIG
 */
NbWgTransport *
nb_wg_transport_new_socket (int                  fd,
                            GInetSocketAddress  *remote,
                            GError             **error)
{
  NbWgTransport *transport;
  gssize size;

  g_return_val_if_fail (G_IS_INET_SOCKET_ADDRESS (remote), NULL);

  size = g_socket_address_get_native_size (G_SOCKET_ADDRESS (remote));
  if (fd < 0 || size <= 0 || (gsize) size > sizeof (struct sockaddr_storage))
    {
      g_set_error (error, NB_WG_DEVICE_ERROR, NB_WG_DEVICE_ERROR_INVALID_CONFIG,
                   "A socket transport needs an open socket and an IP remote address");
      if (fd >= 0)
        close (fd);
      return NULL;
    }
  transport = g_new0 (NbWgTransport, 1);
  transport->kind = NB_WG_TRANSPORT_SOCKET;
  transport->fd = fd;
  g_socket_address_to_native (G_SOCKET_ADDRESS (remote), &transport->remote.addr,
                              sizeof transport->remote.addr, NULL);
  transport->remote.len = (socklen_t) size;
  return transport;
}

/*
 * nb_wg_transport_new_channel:
 * @send_func: sends one datagram
 * @user_data: data for @send_func
 * @destroy: (nullable): frees @user_data with the transport
 *
 * Private API (nb-wg-transport.h).
 *
 * Returns: (transfer full): a transport
 */
NbWgTransport *
nb_wg_transport_new_channel (NbWgTransportSendFunc send_func,
                             gpointer              user_data,
                             GDestroyNotify        destroy)
{
  NbWgTransport *transport;

  g_return_val_if_fail (send_func != NULL, NULL);
  transport = g_new0 (NbWgTransport, 1);
  transport->kind = NB_WG_TRANSPORT_CHANNEL;
  transport->fd = -1;
  transport->send_func = send_func;
  transport->user_data = user_data;
  transport->destroy = destroy;
  return transport;
}

/*
 * nb_wg_transport_free:
 * @transport: a transport no peer holds
 *
 * Private API (nb-wg-transport.h).
 */
void
nb_wg_transport_free (NbWgTransport *transport)
{
  if (transport == NULL)
    return;
  if (transport->fd >= 0)
    close (transport->fd);
  if (transport->destroy != NULL)
    transport->destroy (transport->user_data);
  g_free (transport);
}
