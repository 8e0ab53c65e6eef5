/* nb-tun.c: a TUN network interface
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-netif"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <linux/if_tun.h>

#include "nb-error.h"
#include "nb-netlink-private.h"
#include "nb-tun-offload-private.h"
#include "nb-tun-private.h"

/* Linux 6.2 added UDP segmentation offload to TUN; older headers lack it. */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif

#define NB_TUN_MAX_QUEUES 2

/* Packets handed to one write call are grouped this many at a time. */
#define WRITE_CHUNK 128

/**
 * NbTun:
 *
 * A TUN network interface: the kernel's end of a layer-3 tunnel.
 *
 * nb_tun_new() creates the interface (or attaches to an existing
 * multi-queue TUN of that name) with one queue per core, the virtio-net
 * header and TCP/UDP segmentation offloads, so that the packet path reads
 * and writes up to 64 KiB at a time. The interface lives as long as the
 * object: finalising it closes the queues and the kernel removes the
 * interface.
 *
 * Addresses, routes, the MTU and the link state are set through rtnetlink
 * and need CAP_NET_ADMIN, as creating the interface does.
 *
 * ```c
 * g_autoptr(NbTun) tun = nb_tun_new ("wg0", &error);
 * g_autoptr(GInetAddressMask) net = g_inet_address_mask_new_from_string ("100.64.0.0/10", NULL);
 * nb_tun_set_up (tun, TRUE, &error);
 * nb_tun_add_route (tun, net, &error);
 * ```
 */
struct _NbTun
{
  GObject parent_instance;

  char name[IFNAMSIZ];
  guint ifindex;
  guint mtu;
  guint n_queues;
  int fds[NB_TUN_MAX_QUEUES];
  guint offloads;
  gboolean vnet_hdr;
  gboolean removed;
  GSource *monitor;
  guint64 counters[NB_TUN_N_COUNTERS]; /* atomic: the queues' threads add */
};

G_DEFINE_TYPE (NbTun, nb_tun, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_NAME,
  PROP_IFINDEX,
  PROP_MTU,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_REMOVED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
nb_tun_finalize (GObject *object)
{
  NbTun *self = NB_TUN (object);

  if (self->monitor != NULL)
    {
      g_source_destroy (self->monitor);
      g_clear_pointer (&self->monitor, g_source_unref);
    }
  for (guint i = 0; i < self->n_queues; i++)
    if (self->fds[i] >= 0)
      close (self->fds[i]);

  G_OBJECT_CLASS (nb_tun_parent_class)->finalize (object);
}

static void
nb_tun_get_property (GObject    *object,
                     guint       prop_id,
                     GValue     *value,
                     GParamSpec *pspec)
{
  NbTun *self = NB_TUN (object);

  switch (prop_id)
    {
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case PROP_IFINDEX:
      g_value_set_uint (value, self->ifindex);
      break;
    case PROP_MTU:
      g_value_set_uint (value, nb_tun_get_mtu (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
nb_tun_class_init (NbTunClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = nb_tun_finalize;
  object_class->get_property = nb_tun_get_property;

  /**
   * NbTun:name:
   *
   * The interface name, as the kernel gave it.
   */
  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * NbTun:ifindex:
   *
   * The interface index.
   */
  properties[PROP_IFINDEX] =
    g_param_spec_uint ("ifindex", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * NbTun:mtu:
   *
   * The interface MTU in bytes.
   */
  properties[PROP_MTU] =
    g_param_spec_uint ("mtu", NULL, NULL, 0, G_MAXUINT, NB_TUN_DEFAULT_MTU,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * NbTun::removed:
   * @self: the interface
   *
   * Emitted on the main context that was the thread default when the
   * interface was created, once someone deleted the interface (`ip link
   * del`). The queues are useless after it; a daemon shuts down, as
   * wireguard-go does.
   */
  signals[SIGNAL_REMOVED] =
    g_signal_new ("removed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
nb_tun_init (NbTun *self)
{
  for (guint i = 0; i < NB_TUN_MAX_QUEUES; i++)
    self->fds[i] = -1;
  self->mtu = NB_TUN_DEFAULT_MTU;
}

static void
set_tun_error (GError     **error,
               int          err,
               const char  *name,
               const char  *what)
{
  if (err == EPERM || err == EACCES)
    g_set_error (error, NB_ERROR, NB_ERROR_PERMISSION_DENIED,
                 "Creating TUN device %s needs CAP_NET_ADMIN (%s: %s)",
                 name, what, g_strerror (err));
  else if (err == ENOENT || err == ENODEV || err == ENXIO)
    g_set_error (error, NB_ERROR, NB_ERROR_NOT_SUPPORTED,
                 "Creating TUN device %s: %s: %s (is the tun module loaded and /dev/net/tun present?)",
                 name, what, g_strerror (err));
  else if (err == EBUSY || err == EINVAL)
    g_set_error (error, NB_ERROR, NB_ERROR_FAILED,
                 "Creating TUN device %s: %s: %s (an interface of that name exists and is "
                 "not a multi-queue TUN with a virtio-net header, or is in use)",
                 name, what, g_strerror (err));
  else
    g_set_error (error, NB_ERROR, NB_ERROR_FAILED, "Creating TUN device %s: %s: %s",
                 name, what, g_strerror (err));
}

static void
on_link_event (guint    ifindex,
               gboolean removed,
               guint    mtu,
               gpointer user_data)
{
  NbTun *self = user_data;

  if (removed)
    {
      if (self->removed)
        return;
      self->removed = TRUE;
      g_debug ("TUN %s was removed", self->name);
      g_signal_emit (self, signals[SIGNAL_REMOVED], 0);
    }
  else if (mtu != 0 && mtu != self->mtu)
    {
      self->mtu = mtu;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MTU]);
    }
}

/* The offloads we ask for, most first: the kernel refuses flags it does not
 * know with EINVAL, so fall back a step at a time. */
static const guint offload_choices[] = {
  TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_USO4 | TUN_F_USO6,
  TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6,
  TUN_F_CSUM,
  0,
};

static int
open_queue (NbTun       *self,
            const char  *name,
            GError     **error)
{
  struct ifreq ifr;
  int fd, hdr_size = NB_TUN_VNET_HDR_LEN;

  fd = open ("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0)
    {
      set_tun_error (error, errno, name, "opening /dev/net/tun");
      return -1;
    }

  memset (&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE;
  if (name != NULL)
    g_strlcpy (ifr.ifr_name, name, sizeof ifr.ifr_name);
  if (ioctl (fd, TUNSETIFF, &ifr) < 0)
    {
      int err = errno;

      close (fd);
      set_tun_error (error, err, name ? name : "(any)", "TUNSETIFF");
      return -1;
    }
  g_strlcpy (self->name, ifr.ifr_name, sizeof self->name);

  if (ioctl (fd, TUNSETVNETHDRSZ, &hdr_size) < 0)
    {
      int err = errno;

      close (fd);
      set_tun_error (error, err, self->name, "TUNSETVNETHDRSZ");
      return -1;
    }

  for (guint i = 0; i < G_N_ELEMENTS (offload_choices); i++)
    if (ioctl (fd, TUNSETOFFLOAD, (unsigned long) offload_choices[i]) == 0)
      {
        self->offloads = offload_choices[i];
        break;
      }
  return fd;
}

/**
 * nb_tun_new:
 * @name: (nullable): the interface name (at most 15 bytes), or %NULL to let
 *   the kernel choose one (`tunN`)
 * @error: return location for a #GError
 *
 * Creates the TUN interface @name, or attaches to an existing multi-queue
 * TUN interface of that name, with one queue per core (at most two), the
 * virtio-net header, checksum and TCP/UDP segmentation offloads where the
 * kernel has them, and an MTU of %NB_TUN_DEFAULT_MTU. The link is left down:
 * see nb_tun_set_up().
 *
 * Needs CAP_NET_ADMIN; without it fails with %NB_ERROR_PERMISSION_DENIED.
 *
 * Returns: (transfer full): the interface, or %NULL with @error set
 */
NbTun *
nb_tun_new (const char  *name,
            GError     **error)
{
  g_autoptr(NbTun) self = NULL;
  guint cores = g_get_num_processors ();
  guint want = CLAMP (cores, 1, NB_TUN_MAX_QUEUES);

  if (name != NULL && (name[0] == '\0' || strlen (name) >= IFNAMSIZ ||
                       strchr (name, '/') != NULL || strchr (name, ' ') != NULL))
    {
      g_set_error (error, NB_ERROR, NB_ERROR_INVALID_ARGUMENT,
                   "“%s” is not a valid interface name: 1 to %d characters, no “/” or spaces",
                   name, IFNAMSIZ - 1);
      return NULL;
    }

  self = g_object_new (NB_TYPE_TUN, NULL);
  for (guint i = 0; i < want; i++)
    {
      int fd = open_queue (self, i == 0 ? name : self->name, error);

      if (fd < 0)
        return NULL;
      self->fds[self->n_queues++] = fd;
    }
  self->vnet_hdr = TRUE;

  self->ifindex = if_nametoindex (self->name);
  if (self->ifindex == 0)
    {
      set_tun_error (error, errno, self->name, "looking up its index");
      return NULL;
    }

  if (!nb_netlink_set_mtu (self->ifindex, self->name, NB_TUN_DEFAULT_MTU, error))
    return NULL;
  self->mtu = NB_TUN_DEFAULT_MTU;

  /* Link events: someone deleting the interface or changing its MTU. */
  self->monitor = nb_netlink_link_monitor_new (self->ifindex, on_link_event, self, error);
  if (self->monitor == NULL)
    return NULL;
  g_source_attach (self->monitor, g_main_context_get_thread_default ());

  g_debug ("TUN %s (index %u): %u queues, offloads 0x%x", self->name, self->ifindex,
           self->n_queues, self->offloads);
  return g_steal_pointer (&self);
}

/**
 * nb_tun_get_name:
 * @self: a #NbTun
 *
 * Returns: the interface name
 */
const char *
nb_tun_get_name (NbTun *self)
{
  g_return_val_if_fail (NB_IS_TUN (self), NULL);
  return self->name;
}

/**
 * nb_tun_get_ifindex:
 * @self: a #NbTun
 *
 * Returns: the interface index
 */
guint
nb_tun_get_ifindex (NbTun *self)
{
  g_return_val_if_fail (NB_IS_TUN (self), 0);
  return self->ifindex;
}

/**
 * nb_tun_get_mtu:
 * @self: a #NbTun
 *
 * Gets the interface MTU as the kernel has it now (someone may have changed
 * it with `ip link set`).
 *
 * Returns: the MTU in bytes
 */
guint
nb_tun_get_mtu (NbTun *self)
{
  struct ifreq ifr;
  int sock;

  g_return_val_if_fail (NB_IS_TUN (self), 0);

  sock = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock >= 0)
    {
      memset (&ifr, 0, sizeof ifr);
      g_strlcpy (ifr.ifr_name, self->name, sizeof ifr.ifr_name);
      if (ioctl (sock, SIOCGIFMTU, &ifr) == 0)
        self->mtu = (guint) ifr.ifr_mtu;
      close (sock);
    }
  return self->mtu;
}

/**
 * nb_tun_set_mtu:
 * @self: a #NbTun
 * @mtu: the MTU in bytes (576 to 65535 for IPv4; IPv6 needs 1280)
 * @error: return location for a #GError
 *
 * Sets the interface MTU.
 *
 * Returns: %TRUE on success
 */
gboolean
nb_tun_set_mtu (NbTun   *self,
                guint    mtu,
                GError **error)
{
  g_return_val_if_fail (NB_IS_TUN (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (mtu < 576 || mtu > 65535)
    {
      g_set_error (error, NB_ERROR, NB_ERROR_INVALID_ARGUMENT,
                   "MTU %u of %s is out of range: it must be 576 to 65535", mtu, self->name);
      return FALSE;
    }
  if (!nb_netlink_set_mtu (self->ifindex, self->name, mtu, error))
    return FALSE;
  if (self->mtu != mtu)
    {
      self->mtu = mtu;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MTU]);
    }
  return TRUE;
}

/**
 * nb_tun_set_up:
 * @self: a #NbTun
 * @up: %TRUE to bring the link up, %FALSE to take it down
 * @error: return location for a #GError
 *
 * Sets the administrative state of the interface.
 *
 * Returns: %TRUE on success
 */
gboolean
nb_tun_set_up (NbTun    *self,
               gboolean  up,
               GError  **error)
{
  g_return_val_if_fail (NB_IS_TUN (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return nb_netlink_set_up (self->ifindex, self->name, up, error);
}

/**
 * nb_tun_add_address:
 * @self: a #NbTun
 * @address: the address and its prefix length; a #GInetAddressMask holds
 *   no host bits beyond its length, so this is for a host address
 *   (`100.64.0.1/32`) or a network address: see nb_tun_add_address_full()
 *   for `100.64.0.1/10`
 * @error: return location for a #GError
 *
 * Adds an IPv4 or IPv6 address to the interface (replacing one that is
 * there already).
 *
 * Returns: %TRUE on success
 */
gboolean
nb_tun_add_address (NbTun             *self,
                    GInetAddressMask  *address,
                    GError           **error)
{
  g_return_val_if_fail (NB_IS_TUN (self), FALSE);
  g_return_val_if_fail (G_IS_INET_ADDRESS_MASK (address), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return nb_netlink_add_address (self->ifindex, self->name,
                                 g_inet_address_mask_get_address (address),
                                 g_inet_address_mask_get_length (address), error);
}

/**
 * nb_tun_add_address_full:
 * @self: a #NbTun
 * @address: the interface's address
 * @prefix_length: the length of the network prefix it belongs to (the
 *   kernel adds the route to that network)
 * @error: return location for a #GError
 *
 * Adds an IPv4 or IPv6 address with the prefix of its network, as
 * `ip address add 100.64.0.1/10 dev wg0` does.
 *
 * Returns: %TRUE on success
 */
gboolean
nb_tun_add_address_full (NbTun         *self,
                         GInetAddress  *address,
                         guint          prefix_length,
                         GError       **error)
{
  g_return_val_if_fail (NB_IS_TUN (self), FALSE);
  g_return_val_if_fail (G_IS_INET_ADDRESS (address), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return nb_netlink_add_address (self->ifindex, self->name, address, prefix_length, error);
}

/**
 * nb_tun_add_route:
 * @self: a #NbTun
 * @destination: the network to route through the interface
 * @error: return location for a #GError
 *
 * Adds a route to @destination through the interface in the main table.
 * Fails if the same route exists.
 *
 * Returns: %TRUE on success
 */
gboolean
nb_tun_add_route (NbTun             *self,
                  GInetAddressMask  *destination,
                  GError           **error)
{
  g_return_val_if_fail (NB_IS_TUN (self), FALSE);
  g_return_val_if_fail (G_IS_INET_ADDRESS_MASK (destination), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return nb_netlink_route (self->ifindex, self->name,
                           g_inet_address_mask_get_address (destination),
                           g_inet_address_mask_get_length (destination), TRUE, error);
}

/**
 * nb_tun_remove_route:
 * @self: a #NbTun
 * @destination: the network routed through the interface
 * @error: return location for a #GError
 *
 * Removes the route to @destination through the interface.
 *
 * Returns: %TRUE on success
 */
gboolean
nb_tun_remove_route (NbTun             *self,
                     GInetAddressMask  *destination,
                     GError           **error)
{
  g_return_val_if_fail (NB_IS_TUN (self), FALSE);
  g_return_val_if_fail (G_IS_INET_ADDRESS_MASK (destination), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return nb_netlink_route (self->ifindex, self->name,
                           g_inet_address_mask_get_address (destination),
                           g_inet_address_mask_get_length (destination), FALSE, error);
}

/* ---- the packet path (nb-tun-private.h) ---------------------------- */

guint
nb_tun_get_n_queues (NbTun *self)
{
  return self->n_queues;
}

int
nb_tun_get_queue_fd (NbTun *self,
                     guint  queue)
{
  return queue < self->n_queues ? self->fds[queue] : -1;
}

gboolean
nb_tun_has_vnet_hdr (NbTun *self)
{
  return self->vnet_hdr;
}

gboolean
nb_tun_has_uso (NbTun *self)
{
  return (self->offloads & (TUN_F_USO4 | TUN_F_USO6)) == (TUN_F_USO4 | TUN_F_USO6);
}

int
nb_tun_read_packets (NbTun   *self,
                     guint    queue,
                     guint8  *scratch,
                     gsize    scratch_size,
                     guint8 **out,
                     gsize   *out_len,
                     guint    max_out,
                     gsize    out_headroom,
                     gsize    out_tailroom,
                     gsize    out_size)
{
  ssize_t n;
  int packets;

  if (queue >= self->n_queues)
    {
      errno = EBADF;
      return -1;
    }
  n = read (self->fds[queue], scratch, scratch_size);
  if (n < 0)
    return -1;
  if (!self->vnet_hdr)
    {
      gsize room = out_size - out_headroom - out_tailroom;

      if (n == 0 || max_out == 0 || (gsize) n > room)
        return 0;
      memcpy (out[0] + out_headroom, scratch, (gsize) n);
      out_len[0] = (gsize) n;
      return 1;
    }
  packets = nb_tun_offload_split (scratch, (gsize) n, out, out_len, max_out,
                                  out_headroom, out_tailroom, out_size);
  /* One add per frame the kernel segmented for us, none per packet: what
   * shows that TSO/USO were on and used (UAPI stats=1). */
  if (packets > 0 && n > NB_TUN_VNET_HDR_LEN)
    {
      NbVnetHdr hdr;

      nb_vnet_hdr_decode (scratch, &hdr);
      switch (hdr.gso_type & ~NB_VNET_HDR_GSO_ECN)
        {
        case NB_VNET_HDR_GSO_TCPV4:
        case NB_VNET_HDR_GSO_TCPV6:
          __atomic_fetch_add (&self->counters[NB_TUN_COUNTER_RX_TSO_FRAMES], 1, __ATOMIC_RELAXED);
          break;
        case NB_VNET_HDR_GSO_UDP_L4:
          __atomic_fetch_add (&self->counters[NB_TUN_COUNTER_RX_USO_FRAMES], 1, __ATOMIC_RELAXED);
          break;
        default:
          break;
        }
    }
  return packets;
}

guint64
nb_tun_get_counter (NbTun        *self,
                    NbTunCounter  counter)
{
  g_return_val_if_fail (NB_IS_TUN (self), 0);
  g_return_val_if_fail (counter < NB_TUN_N_COUNTERS, 0);
  return __atomic_load_n (&self->counters[counter], __ATOMIC_RELAXED);
}

/* Returns FALSE if the fd cannot take more (the caller stops there). A frame
 * the kernel rejects as malformed (EINVAL, EFAULT...) is dropped. */
static gboolean
write_frame (int           fd,
             struct iovec *iov,
             int           iovcnt,
             int          *err)
{
  ssize_t r;

  do
    r = writev (fd, iov, iovcnt);
  while (r < 0 && errno == EINTR);

  if (r >= 0)
    return TRUE;
  *err = errno;
  return !(errno == EAGAIN || errno == EWOULDBLOCK || errno == EBADF || errno == EIO);
}

int
nb_tun_write_packets (NbTun   *self,
                      guint    queue,
                      guint8 **packets,
                      gsize   *lens,
                      guint    n)
{
  NbTunGroup groups[WRITE_CHUNK];
  guint next[WRITE_CHUNK];
  struct iovec iov[NB_TUN_GRO_MAX_SEGMENTS + 1];
  guint done = 0;
  int fd, err = 0;

  if (queue >= self->n_queues)
    {
      errno = EBADF;
      return -1;
    }
  fd = self->fds[queue];

  while (done < n)
    {
      guint chunk = MIN (n - done, WRITE_CHUNK);
      guint8 **p = packets + done;
      gsize *l = lens + done;
      guint n_groups = nb_tun_offload_coalesce (p, l, chunk, groups, next);

      for (guint g = 0; g < n_groups; g++)
        {
          const NbTunGroup *group = &groups[g];
          int iovcnt = 1;

          nb_tun_offload_finish_group (p, l, group);
          iov[0].iov_base = p[group->first] - NB_TUN_VNET_HDR_LEN;
          iov[0].iov_len = l[group->first] + NB_TUN_VNET_HDR_LEN;
          for (guint i = next[group->first]; i != G_MAXUINT; i = next[i])
            {
              iov[iovcnt].iov_base = p[i] + group->hdr_len;
              iov[iovcnt].iov_len = l[i] - group->hdr_len;
              iovcnt++;
            }

          if (!write_frame (fd, iov, iovcnt, &err))
            {
              /* Nothing went out: let the caller see why. Otherwise the
               * rest of the batch is lost, as a full queue loses it. */
              if (done == 0 && g == 0)
                {
                  errno = err;
                  return -1;
                }
              return (int) n;
            }
        }
      done += chunk;
    }
  return (int) n;
}
