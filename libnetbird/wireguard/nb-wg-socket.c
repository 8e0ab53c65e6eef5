/* nb-wg-socket.c: the device's UDP sockets
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * One IPv4 and one IPv6-only socket on the same port. Sends are batched:
 * equal-sized datagrams to one endpoint leave in a single sendmsg with
 * UDP_SEGMENT (GSO); receives use UDP_GRO, so one recvmsg returns many
 * datagrams glued together with their size in a control message.
 */
#define G_LOG_DOMAIN "netbird-wg"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/socket.h>

#include "nb-wg-internal.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

static int
open_one (int family, guint16 port, guint32 fwmark, GError **error)
{
  int fd = socket (family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_UDP);
  int one = 1;
  int size = 4 * 1024 * 1024;
  union {
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;
  } addr;
  socklen_t addr_len;

  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, NB_WG_DEVICE_ERROR, NB_WG_DEVICE_ERROR_SYSTEM,
                   "Could not create a UDP socket: %s", g_strerror (saved));
      return -1;
    }

  memset (&addr, 0, sizeof addr);
  if (family == AF_INET)
    {
      addr.v4.sin_family = AF_INET;
      addr.v4.sin_port = g_htons (port);
      addr_len = sizeof addr.v4;
    }
  else
    {
      addr.v6.sin6_family = AF_INET6;
      addr.v6.sin6_port = g_htons (port);
      addr.v6.sin6_addr = in6addr_any;
      addr_len = sizeof addr.v6;
      setsockopt (fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    }

  /* Big buffers absorb bursts; FORCE works as root, the plain one otherwise. */
  if (setsockopt (fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
    setsockopt (fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  if (setsockopt (fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) < 0)
    setsockopt (fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  setsockopt (fd, SOL_UDP, UDP_GRO, &one, sizeof one);
  if (fwmark != 0 && setsockopt (fd, SOL_SOCKET, SO_MARK, &fwmark, sizeof fwmark) < 0)
    {
      int saved = errno;
      g_set_error (error, NB_WG_DEVICE_ERROR, NB_WG_DEVICE_ERROR_SYSTEM,
                   "Could not set fwmark 0x%x on the UDP socket: %s", fwmark,
                   g_strerror (saved));
      close (fd);
      return -1;
    }

  if (bind (fd, (struct sockaddr *) &addr, addr_len) < 0)
    {
      int saved = errno;
      g_set_error (error, NB_WG_DEVICE_ERROR,
                   saved == EADDRINUSE ? NB_WG_DEVICE_ERROR_ADDRESS_IN_USE
                                       : NB_WG_DEVICE_ERROR_SYSTEM,
                   "Could not bind UDP port %u (%s): %s", port,
                   family == AF_INET ? "IPv4" : "IPv6", g_strerror (saved));
      close (fd);
      return -1;
    }
  return fd;
}

static guint16
bound_port (int fd)
{
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;

  if (getsockname (fd, (struct sockaddr *) &ss, &len) < 0)
    return 0;
  if (ss.ss_family == AF_INET)
    return g_ntohs (((struct sockaddr_in *) &ss)->sin_port);
  return g_ntohs (((struct sockaddr_in6 *) &ss)->sin6_port);
}

/* Caller holds the config lock for writing. */
gboolean
nb_wg_socket_open (NbWgDevice *device,
                   GError    **error)
{
  g_autoptr(GError) v6_error = NULL;

  for (guint attempt = 0; attempt < 10; attempt++)
    {
      int fd4 = open_one (AF_INET, device->listen_port, device->fwmark, error);
      int fd6;
      guint16 port;

      if (fd4 < 0)
        return FALSE;
      port = bound_port (fd4);
      g_clear_error (&v6_error);
      fd6 = open_one (AF_INET6, port, device->fwmark, &v6_error);
      if (fd6 < 0 && device->listen_port == 0 &&
          g_error_matches (v6_error, NB_WG_DEVICE_ERROR, NB_WG_DEVICE_ERROR_ADDRESS_IN_USE))
        {
          /* The random IPv4 port is taken in IPv6: try another. */
          close (fd4);
          continue;
        }
      if (fd6 < 0)
        g_debug ("No IPv6 socket, IPv4 only: %s", v6_error->message);
      device->fd4 = fd4;
      device->fd6 = fd6;
      device->bound_port = port;
      device->gso_ok = TRUE;
      return TRUE;
    }
  g_set_error (error, NB_WG_DEVICE_ERROR, NB_WG_DEVICE_ERROR_ADDRESS_IN_USE,
               "Could not find a UDP port free in both IPv4 and IPv6");
  return FALSE;
}

void
nb_wg_socket_close (NbWgDevice *device)
{
  if (device->fd4 >= 0)
    close (device->fd4);
  if (device->fd6 >= 0)
    close (device->fd6);
  device->fd4 = device->fd6 = -1;
  device->bound_port = 0;
}

gboolean
nb_wg_socket_set_fwmark (NbWgDevice *device,
                         guint32     fwmark,
                         GError    **error)
{
  int fds[2] = { device->fd4, device->fd6 };

  for (guint i = 0; i < 2; i++)
    if (fds[i] >= 0 && setsockopt (fds[i], SOL_SOCKET, SO_MARK, &fwmark, sizeof fwmark) < 0)
      {
        int saved = errno;
        g_set_error (error, NB_WG_DEVICE_ERROR, NB_WG_DEVICE_ERROR_SYSTEM,
                     "Could not set fwmark 0x%x: %s", fwmark, g_strerror (saved));
        return FALSE;
      }
  return TRUE;
}

static int
fd_for (NbWgDevice *device, const NbWgEndpoint *endpoint)
{
  return endpoint->addr.ss_family == AF_INET6 ? device->fd6 : device->fd4;
}

static int
send_plain (int fd, const NbWgEndpoint *endpoint, struct iovec *iov, guint n)
{
  struct mmsghdr msgs[NB_WG_MAX_GSO_SEGMENTS];
  guint done = 0;

  while (done < n)
    {
      guint batch = MIN (n - done, (guint) NB_WG_MAX_GSO_SEGMENTS);
      int sent;

      for (guint i = 0; i < batch; i++)
        {
          memset (&msgs[i], 0, sizeof msgs[i]);
          msgs[i].msg_hdr.msg_name = (void *) &endpoint->addr;
          msgs[i].msg_hdr.msg_namelen = endpoint->len;
          msgs[i].msg_hdr.msg_iov = &iov[done + i];
          msgs[i].msg_hdr.msg_iovlen = 1;
        }
      sent = sendmmsg (fd, msgs, batch, 0);
      if (sent < 0 && errno == EINTR)
        continue;
      if (sent < 0 && errno == EAGAIN)
        {
          /* The socket buffer is full: wait for room rather than drop a
           * whole batch. */
          struct pollfd pfd = { .fd = fd, .events = POLLOUT };
          poll (&pfd, 1, 100);
          continue;
        }
      if (sent <= 0)
        return done > 0 ? (int) done : -1;
      done += (guint) sent;
    }
  return (int) done;
}

int
nb_wg_socket_send (NbWgDevice         *device,
                   const NbWgEndpoint *endpoint,
                   struct iovec       *iov,
                   guint               n,
                   gsize               segment_size)
{
  return nb_wg_socket_send_fd (device, fd_for (device, endpoint), endpoint, iov, n, segment_size);
}

int
nb_wg_socket_send_fd (NbWgDevice         *device,
                      int                 fd,
                      const NbWgEndpoint *endpoint,
                      struct iovec       *iov,
                      guint               n,
                      gsize               segment_size)
{
  union {
    char buf[CMSG_SPACE (sizeof (guint16))];
    struct cmsghdr align;
  } control;
  struct msghdr msg;
  struct cmsghdr *cmsg;

  if (fd < 0)
    {
      errno = EAFNOSUPPORT;
      return -1;
    }
  if (n == 1 || segment_size == 0 || !__atomic_load_n (&device->gso_ok, __ATOMIC_RELAXED))
    return send_plain (fd, endpoint, iov, n);

  memset (&msg, 0, sizeof msg);
  msg.msg_name = (void *) &endpoint->addr;
  msg.msg_namelen = endpoint->len;
  msg.msg_iov = iov;
  msg.msg_iovlen = n;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  cmsg = CMSG_FIRSTHDR (&msg);
  cmsg->cmsg_level = SOL_UDP;
  cmsg->cmsg_type = UDP_SEGMENT;
  cmsg->cmsg_len = CMSG_LEN (sizeof (guint16));
  *(guint16 *) (void *) CMSG_DATA (cmsg) = (guint16) segment_size;

  for (;;)
    {
      ssize_t r = sendmsg (fd, &msg, 0);

      if (r >= 0)
        return (int) n;
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN)
        {
          struct pollfd pfd = { .fd = fd, .events = POLLOUT };
          poll (&pfd, 1, 100);
          continue;
        }
      if (errno == EIO || errno == EINVAL || errno == EOPNOTSUPP)
        {
          /* No GSO on this path (the device does not do checksum offload,
           * or an old kernel): plain batches from now on. */
          g_debug ("UDP_SEGMENT refused (%s), sending datagrams one by one",
                   g_strerror (errno));
          __atomic_store_n (&device->gso_ok, FALSE, __ATOMIC_RELAXED);
          return send_plain (fd, endpoint, iov, n);
        }
      return -1;
    }
}

gboolean
nb_wg_socket_send_one (NbWgDevice         *device,
                       const NbWgEndpoint *endpoint,
                       const void         *data,
                       gsize               len)
{
  struct iovec iov = { .iov_base = (void *) data, .iov_len = len };

  return nb_wg_socket_send (device, endpoint, &iov, 1, 0) == 1;
}

/* The bytes a cookie binds (§5.4.7): the IP address then the port, in
 * network byte order. */
void
nb_wg_endpoint_to_source (const NbWgEndpoint *endpoint,
                          guint8             *out,
                          gsize              *out_len)
{
  if (endpoint->addr.ss_family == AF_INET)
    {
      const struct sockaddr_in *in = (const struct sockaddr_in *) &endpoint->addr;
      memcpy (out, &in->sin_addr, 4);
      memcpy (out + 4, &in->sin_port, 2);
      *out_len = 6;
    }
  else if (endpoint->addr.ss_family == AF_INET6)
    {
      const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) &endpoint->addr;
      memcpy (out, &in6->sin6_addr, 16);
      memcpy (out + 16, &in6->sin6_port, 2);
      *out_len = 18;
    }
  else
    *out_len = 0;
}
