/* nb-wg-device.c: a userspace WireGuard device
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-wg"

#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "nb-key-private.h"
#include "nb-sodium-private.h"
#include "nb-tun-private.h"
#include "nb-wg-internal.h"

/**
 * NbWgDevice:
 *
 * A WireGuard device in user space: the Noise_IKpsk2 handshake, cookies,
 * timers and the encrypted packet path between a TUN interface (#NbTun) and
 * UDP, interoperable with the Linux kernel's WireGuard and wireguard-go.
 *
 * Configuration calls are made from the thread that owns the device's
 * #GMainContext (the thread-default context when it was created), where its
 * timers run. Packets never pass through that context: the device reads the
 * TUN and its UDP sockets on threads of its own while it is up.
 *
 * A device made without a TUN (nb_wg_device_new() with %NULL) still does
 * handshakes and keepalives; that is how two devices talk in one process.
 *
 * ```c
 * g_autoptr(NbWgDevice) device = nb_wg_device_new (tun);
 * nb_wg_device_set_private_key (device, key, &error);
 * peer = nb_wg_device_add_peer (device, peer_key, &error);
 * nb_wg_peer_add_allowed_ip (peer, prefix, &error);
 * nb_wg_device_up (device, &error);
 * ```
 */

G_DEFINE_TYPE (NbWgDevice, nb_wg_device, G_TYPE_OBJECT)

G_DEFINE_QUARK (nb-wg-device-error-quark, nb_wg_device_error)

#define DEFAULT_UNDER_LOAD_THRESHOLD 256

static gint64
default_clock (gpointer user_data)
{
  return g_get_monotonic_time ();
}

static guint
key_bytes_hash (gconstpointer key)
{
  const guint8 *bytes = key;
  guint h;

  memcpy (&h, bytes, sizeof h);
  return h;
}

static gboolean
key_bytes_equal (gconstpointer a,
                 gconstpointer b)
{
  return memcmp (a, b, NB_KEY_LEN) == 0;
}

static void
nb_wg_device_dispose (GObject *object)
{
  NbWgDevice *self = NB_WG_DEVICE (object);

  nb_wg_device_down (self);
  nb_wg_device_remove_all_peers (self);
  G_OBJECT_CLASS (nb_wg_device_parent_class)->dispose (object);
}

static void
nb_wg_device_finalize (GObject *object)
{
  NbWgDevice *self = NB_WG_DEVICE (object);

  g_clear_object (&self->tun);
  g_clear_object (&self->private_key);
  g_hash_table_unref (self->peers);
  g_ptr_array_unref (self->peer_order);
  g_hash_table_unref (self->index_table);
  g_hash_table_unref (self->transports);
  nb_wg_allowedips_free (&self->allowedips);
  nb_wg_static_identity_clear (&self->identity);
  nb_wg_cookie_checker_clear (&self->cookie_checker);
  g_rw_lock_clear (&self->config_lock);
  g_rw_lock_clear (&self->index_lock);
  g_mutex_clear (&self->load_lock);
  nb_wg_ratelimiter_clear (&self->ratelimiter);
  nb_filter_free (self->filter);
  if (self->stop_fd >= 0)
    close (self->stop_fd);
  g_main_context_unref (self->context);

  G_OBJECT_CLASS (nb_wg_device_parent_class)->finalize (object);
}

enum {
  PROP_0,
  PROP_TUN,
  PROP_LISTEN_PORT,
  PROP_FWMARK,
  PROP_IS_UP,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];


static void
nb_wg_device_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  NbWgDevice *self = NB_WG_DEVICE (object);

  switch (prop_id)
    {
    case PROP_TUN:
      g_value_set_object (value, self->tun);
      break;
    case PROP_LISTEN_PORT:
      g_value_set_uint (value, nb_wg_device_get_listen_port (self));
      break;
    case PROP_FWMARK:
      g_value_set_uint (value, nb_wg_device_get_fwmark (self));
      break;
    case PROP_IS_UP:
      g_value_set_boolean (value, nb_wg_device_is_up (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
nb_wg_device_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  NbWgDevice *self = NB_WG_DEVICE (object);

  switch (prop_id)
    {
    case PROP_TUN:
      self->tun = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
nb_wg_device_class_init (NbWgDeviceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = nb_wg_device_dispose;
  object_class->finalize = nb_wg_device_finalize;
  object_class->get_property = nb_wg_device_get_property;
  object_class->set_property = nb_wg_device_set_property;

  /**
   * NbWgDevice:tun:
   *
   * The TUN interface whose packets the device carries, or %NULL.
   */
  properties[PROP_TUN] =
      g_param_spec_object ("tun", NULL, NULL, NB_TYPE_TUN,
                           G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * NbWgDevice:listen-port:
   *
   * The UDP port: the bound one while up, else the configured one (0 for
   * any). Set it with nb_wg_device_set_listen_port().
   */
  properties[PROP_LISTEN_PORT] =
      g_param_spec_uint ("listen-port", NULL, NULL, 0, G_MAXUINT16, 0,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * NbWgDevice:fwmark:
   *
   * The firewall mark of the device's UDP packets, 0 for none. Set it with
   * nb_wg_device_set_fwmark().
   */
  properties[PROP_FWMARK] =
      g_param_spec_uint ("fwmark", NULL, NULL, 0, G_MAXUINT32, 0,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * NbWgDevice:is-up:
   *
   * Whether the device is up (nb_wg_device_up()).
   */
  properties[PROP_IS_UP] =
      g_param_spec_boolean ("is-up", NULL, NULL, FALSE,
                            G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
nb_wg_device_init (NbWgDevice *self)
{
  nb_sodium_ensure_init ();
  g_rw_lock_init (&self->config_lock);
  g_rw_lock_init (&self->index_lock);
  g_mutex_init (&self->load_lock);
  nb_wg_ratelimiter_init (&self->ratelimiter);
  nb_wg_cookie_checker_init (&self->cookie_checker);
  nb_wg_allowedips_init (&self->allowedips);
  self->peers = g_hash_table_new_full (key_bytes_hash, key_bytes_equal, NULL, g_object_unref);
  self->peer_order = g_ptr_array_new ();
  self->index_table = nb_wg_index_table_new ();
  self->transports = g_hash_table_new (NULL, NULL);
  self->fd4 = self->fd6 = -1;
  self->epoll_fd = -1;
  self->stop_fd = -1;
  self->clock = default_clock;
  self->load_threshold = DEFAULT_UNDER_LOAD_THRESHOLD;
  self->context = g_main_context_ref_thread_default ();
}

/**
 * nb_wg_device_new:
 * @tun: (nullable): the TUN interface whose packets the device carries, or
 *   %NULL for a device that only does handshakes and keepalives
 *
 * Creates a device, down, without a private key or peers. Its timers will
 * run on the thread-default #GMainContext of the caller.
 *
 * Returns: (transfer full): a new #NbWgDevice
 */
NbWgDevice *
nb_wg_device_new (NbTun *tun)
{
  NbWgDevice *self;

  g_return_val_if_fail (tun == NULL || NB_IS_TUN (tun), NULL);
  self = g_object_new (NB_TYPE_WG_DEVICE, "tun", tun, NULL);
  return self;
}

/**
 * nb_wg_device_get_tun:
 * @self: a #NbWgDevice
 *
 * Returns: (transfer none) (nullable): the device's TUN interface
 */
NbTun *
nb_wg_device_get_tun (NbWgDevice *self)
{
  g_return_val_if_fail (NB_IS_WG_DEVICE (self), NULL);
  return self->tun;
}

/* Caller holds the config lock for writing. */
static void
remove_peer_locked (NbWgDevice *self, NbWgPeer *peer)
{
  if (peer->transport != NULL)
    nb_wg_device_unregister_transport (self, peer->transport);
  nb_wg_allowedips_remove_by_peer (&self->allowedips, peer);
  g_ptr_array_remove (self->peer_order, peer);
  nb_wg_peer_detach (peer);
  g_hash_table_remove (self->peers, peer->public_key_bytes);
}

/**
 * nb_wg_device_set_private_key:
 * @self: a #NbWgDevice
 * @key: (nullable): a key with its private half, or %NULL to remove it
 * @error: return location for a #GError
 *
 * Sets the device's identity. Sessions made with the previous key end; a
 * peer with the device's own public key is refused by handshakes.
 *
 * Returns: %TRUE, or %FALSE with %NB_WG_DEVICE_ERROR_NO_PRIVATE_KEY when
 *   @key has only its public half
 */
gboolean
nb_wg_device_set_private_key (NbWgDevice  *self,
                              NbKey       *key,
                              GError     **error)
{
  GHashTableIter iter;
  gpointer value;

  g_return_val_if_fail (NB_IS_WG_DEVICE (self), FALSE);
  g_return_val_if_fail (key == NULL || NB_IS_KEY (key), FALSE);

  if (key != NULL && !nb_key_has_private (key))
    {
      g_set_error (error, NB_WG_DEVICE_ERROR, NB_WG_DEVICE_ERROR_NO_PRIVATE_KEY,
                   "The device's key needs its private half, not only public key %s",
                   nb_key_get_public_base64 (key));
      return FALSE;
    }

  nb_wg_device_config_write_lock (self);
  if (key != NULL && self->private_key != NULL &&
      sodium_memcmp (nb_key_get_private_data (key),
                     nb_key_get_private_data (self->private_key), NB_KEY_LEN) == 0)
    {
      nb_wg_device_config_write_unlock (self);
      return TRUE;
    }
  g_clear_object (&self->private_key);
  if (key != NULL)
    {
      NbWgPeer *self_peer;

      self->private_key = g_object_ref (key);
      nb_wg_static_identity_set (&self->identity, nb_key_get_private_data (key));
      nb_wg_cookie_checker_set_key (&self->cookie_checker, self->identity.static_public);
      /* A peer with the device's own public key cannot be talked to: it
       * goes, as in the kernel's and wireguard-go's devices. */
      self_peer = g_hash_table_lookup (self->peers, self->identity.static_public);
      if (self_peer != NULL)
        remove_peer_locked (self, self_peer);
    }
  else
    {
      nb_wg_static_identity_clear (&self->identity);
      nb_wg_cookie_checker_set_key (&self->cookie_checker, NULL);
    }

  g_hash_table_iter_init (&iter, self->peers);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      NbWgPeer *peer = value;

      nb_wg_peer_zero_keys (peer);
      nb_wg_handshake_precompute (&peer->handshake, &self->identity);
    }
  nb_wg_device_config_write_unlock (self);
  return TRUE;
}

/**
 * nb_wg_device_get_private_key:
 * @self: a #NbWgDevice
 *
 * Returns: (transfer none) (nullable): the device's key, or %NULL
 */
NbKey *
nb_wg_device_get_private_key (NbWgDevice *self)
{
  g_return_val_if_fail (NB_IS_WG_DEVICE (self), NULL);
  return self->private_key;
}

/**
 * nb_wg_device_set_listen_port:
 * @self: a #NbWgDevice
 * @port: the UDP port, or 0 for any free one
 * @error: return location for a #GError
 *
 * Sets the UDP port. On a device that is up the sockets move at once.
 *
 * Returns: %TRUE, or %FALSE with %NB_WG_DEVICE_ERROR_ADDRESS_IN_USE when
 *   the port is taken (the device keeps its old port)
 */
gboolean
nb_wg_device_set_listen_port (NbWgDevice  *self,
                              guint16      port,
                              GError     **error)
{
  gboolean was_up;
  guint16 old;

  g_return_val_if_fail (NB_IS_WG_DEVICE (self), FALSE);

  if (port != 0 && port == nb_wg_device_get_listen_port (self))
    return TRUE;
  was_up = nb_wg_device_is_up (self);
  old = self->listen_port;
  if (!was_up)
    {
      self->listen_port = port;
      if (port != old)
        g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LISTEN_PORT]);
      return TRUE;
    }
  /* Move the sockets; sessions stay. */
  nb_wg_device_down_sockets (self);
  self->listen_port = port;
  if (!nb_wg_device_up_sockets (self, error))
    {
      self->listen_port = old;
      nb_wg_device_up_sockets (self, NULL);
      return FALSE;
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LISTEN_PORT]);
  return TRUE;
}

/**
 * nb_wg_device_get_listen_port:
 * @self: a #NbWgDevice
 *
 * Returns: the bound UDP port while the device is up, else the configured
 *   one (0 for any)
 */
guint16
nb_wg_device_get_listen_port (NbWgDevice *self)
{
  guint16 port;

  g_return_val_if_fail (NB_IS_WG_DEVICE (self), 0);
  g_rw_lock_reader_lock (&self->config_lock);
  port = self->up ? self->bound_port : self->listen_port;
  g_rw_lock_reader_unlock (&self->config_lock);
  return port;
}

/**
 * nb_wg_device_set_fwmark:
 * @self: a #NbWgDevice
 * @fwmark: the firewall mark of outgoing UDP packets, 0 for none
 * @error: return location for a #GError
 *
 * Marks the device's UDP packets (SO_MARK), so that policy routing can keep
 * them out of the tunnel. Needs CAP_NET_ADMIN.
 *
 * Returns: %TRUE, or %FALSE with %NB_WG_DEVICE_ERROR_SYSTEM
 */
gboolean
nb_wg_device_set_fwmark (NbWgDevice  *self,
                         guint32      fwmark,
                         GError     **error)
{
  gboolean ok = TRUE;
  gboolean changed;

  g_return_val_if_fail (NB_IS_WG_DEVICE (self), FALSE);
  nb_wg_device_config_write_lock (self);
  if (self->up)
    ok = nb_wg_socket_set_fwmark (self, fwmark, error);
  changed = ok && self->fwmark != fwmark;
  if (ok)
    self->fwmark = fwmark;
  nb_wg_device_config_write_unlock (self);
  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FWMARK]);
  return ok;
}

/**
 * nb_wg_device_get_fwmark:
 * @self: a #NbWgDevice
 *
 * Returns: the firewall mark, 0 for none
 */
guint32
nb_wg_device_get_fwmark (NbWgDevice *self)
{
  g_return_val_if_fail (NB_IS_WG_DEVICE (self), 0);
  return self->fwmark;
}

/**
 * nb_wg_device_add_peer:
 * @self: a #NbWgDevice
 * @public_key: the peer's public key
 * @error: return location for a #GError
 *
 * Adds a peer without allowed IPs or endpoint.
 *
 * Returns: (transfer none): the new peer, owned by the device, or %NULL with
 *   %NB_WG_DEVICE_ERROR_PEER_EXISTS, or %NB_WG_DEVICE_ERROR_INVALID_CONFIG
 *   for the device's own public key
 */
NbWgPeer *
nb_wg_device_add_peer (NbWgDevice  *self,
                       NbKey       *public_key,
                       GError     **error)
{
  const guint8 *bytes;
  NbWgPeer *peer;

  g_return_val_if_fail (NB_IS_WG_DEVICE (self), NULL);
  g_return_val_if_fail (NB_IS_KEY (public_key), NULL);

  bytes = nb_key_get_public_data (public_key, NULL);
  nb_wg_device_config_write_lock (self);
  if (g_hash_table_contains (self->peers, bytes))
    {
      nb_wg_device_config_write_unlock (self);
      g_set_error (error, NB_WG_DEVICE_ERROR, NB_WG_DEVICE_ERROR_PEER_EXISTS,
                   "Peer %s is already configured", nb_key_get_public_base64 (public_key));
      return NULL;
    }
  if (self->identity.has_identity &&
      memcmp (bytes, self->identity.static_public, NB_KEY_LEN) == 0)
    {
      nb_wg_device_config_write_unlock (self);
      g_set_error (error, NB_WG_DEVICE_ERROR, NB_WG_DEVICE_ERROR_INVALID_CONFIG,
                   "Peer %s is the device's own public key",
                   nb_key_get_public_base64 (public_key));
      return NULL;
    }
  peer = nb_wg_peer_new_internal (self, public_key);
  g_hash_table_insert (self->peers, peer->public_key_bytes, peer);
  g_ptr_array_add (self->peer_order, peer);
  nb_wg_device_config_write_unlock (self);
  return peer;
}

/**
 * nb_wg_device_lookup_peer:
 * @self: a #NbWgDevice
 * @public_key: a public key
 *
 * Returns: (transfer none) (nullable): the peer with @public_key, or %NULL
 */
NbWgPeer *
nb_wg_device_lookup_peer (NbWgDevice *self,
                          NbKey      *public_key)
{
  NbWgPeer *peer;

  g_return_val_if_fail (NB_IS_WG_DEVICE (self), NULL);
  g_return_val_if_fail (NB_IS_KEY (public_key), NULL);
  g_rw_lock_reader_lock (&self->config_lock);
  peer = g_hash_table_lookup (self->peers, nb_key_get_public_data (public_key, NULL));
  g_rw_lock_reader_unlock (&self->config_lock);
  return peer;
}

/**
 * nb_wg_device_remove_peer:
 * @self: a #NbWgDevice
 * @public_key: the peer's public key
 * @error: return location for a #GError
 *
 * Removes a peer with its allowed IPs and sessions.
 *
 * Returns: %TRUE, or %FALSE with %NB_WG_DEVICE_ERROR_NO_SUCH_PEER
 */
gboolean
nb_wg_device_remove_peer (NbWgDevice  *self,
                          NbKey       *public_key,
                          GError     **error)
{
  NbWgPeer *peer;

  g_return_val_if_fail (NB_IS_WG_DEVICE (self), FALSE);
  g_return_val_if_fail (NB_IS_KEY (public_key), FALSE);

  nb_wg_device_config_write_lock (self);
  peer = g_hash_table_lookup (self->peers, nb_key_get_public_data (public_key, NULL));
  if (peer == NULL)
    {
      nb_wg_device_config_write_unlock (self);
      g_set_error (error, NB_WG_DEVICE_ERROR, NB_WG_DEVICE_ERROR_NO_SUCH_PEER,
                   "No peer %s on this device", nb_key_get_public_base64 (public_key));
      return FALSE;
    }
  remove_peer_locked (self, peer);
  nb_wg_device_config_write_unlock (self);
  return TRUE;
}

/**
 * nb_wg_device_remove_all_peers:
 * @self: a #NbWgDevice
 *
 * Removes every peer.
 */
void
nb_wg_device_remove_all_peers (NbWgDevice *self)
{
  g_return_if_fail (NB_IS_WG_DEVICE (self));
  nb_wg_device_config_write_lock (self);
  while (self->peer_order->len > 0)
    remove_peer_locked (self, g_ptr_array_index (self->peer_order, 0));
  nb_wg_device_config_write_unlock (self);
}

/**
 * nb_wg_device_list_peers:
 * @self: a #NbWgDevice
 *
 * Returns: (transfer container) (element-type NbWgPeer): the peers, in the
 *   order they were added; each holds a reference
 */
GPtrArray *
nb_wg_device_list_peers (NbWgDevice *self)
{
  GPtrArray *out;

  g_return_val_if_fail (NB_IS_WG_DEVICE (self), NULL);
  out = g_ptr_array_new_with_free_func (g_object_unref);
  g_rw_lock_reader_lock (&self->config_lock);
  for (guint i = 0; i < self->peer_order->len; i++)
    g_ptr_array_add (out, g_object_ref (g_ptr_array_index (self->peer_order, i)));
  g_rw_lock_reader_unlock (&self->config_lock);
  return out;
}

/* -- under load (§5.3) --------------------------------------------------- */

/* Counts one handshake message and tells whether the device is under load:
 * more than the threshold per second, and for one second after that. */
gboolean
nb_wg_device_is_under_load (NbWgDevice *self,
                            gint64      now)
{
  gboolean under;

  g_mutex_lock (&self->load_lock);
  if (now - self->load_window_start >= G_USEC_PER_SEC)
    {
      self->load_window_start = now;
      self->load_count = 0;
    }
  if (++self->load_count > self->load_threshold)
    self->under_load_until = now + G_USEC_PER_SEC;
  under = self->under_load_until != 0 && now < self->under_load_until;
  g_mutex_unlock (&self->load_lock);
  return under;
}

/* -- up and down --------------------------------------------------------- */

/**
 * nb_wg_device_up:
 * @self: a #NbWgDevice
 * @error: return location for a #GError
 *
 * Binds the UDP port and starts the packet threads and timers. Peers with a
 * persistent keepalive get one at once, which starts their handshake.
 *
 * Returns: %TRUE (also when already up), or %FALSE with
 *   %NB_WG_DEVICE_ERROR_ADDRESS_IN_USE or %NB_WG_DEVICE_ERROR_SYSTEM
 */
gboolean
nb_wg_device_up (NbWgDevice  *self,
                 GError     **error)
{
  gboolean was_up;

  g_return_val_if_fail (NB_IS_WG_DEVICE (self), FALSE);

  was_up = nb_wg_device_is_up (self);
  if (!nb_wg_device_up_sockets (self, error))
    return FALSE;
  if (!was_up)
    {
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IS_UP]);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LISTEN_PORT]);
    }
  return TRUE;
}

/**
 * nb_wg_device_down:
 * @self: a #NbWgDevice
 *
 * Stops the packet threads and timers, closes the UDP sockets and forgets
 * every session key and queued packet. Configuration stays.
 */
void
nb_wg_device_down (NbWgDevice *self)
{
  GHashTableIter iter;
  gpointer value;

  g_return_if_fail (NB_IS_WG_DEVICE (self));
  if (!nb_wg_device_is_up (self))
    return;
  nb_wg_device_down_sockets (self);

  nb_wg_device_config_write_lock (self);
  g_hash_table_iter_init (&iter, self->peers);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      NbWgPeer *peer = value;

      g_mutex_lock (&peer->lock);
      nb_wg_timers_stop_all (&peer->timers);
      /* Persistent keepalive stays configured. */
      g_mutex_unlock (&peer->lock);
      nb_wg_peer_purge_staged (peer);
      nb_wg_peer_zero_keys (peer);
    }
  nb_wg_device_config_write_unlock (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IS_UP]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LISTEN_PORT]);
}

/**
 * nb_wg_device_is_up:
 * @self: a #NbWgDevice
 *
 * Returns: whether the device is up
 */
gboolean
nb_wg_device_is_up (NbWgDevice *self)
{
  gboolean up;

  g_return_val_if_fail (NB_IS_WG_DEVICE (self), FALSE);
  g_rw_lock_reader_lock (&self->config_lock);
  up = self->up;
  g_rw_lock_reader_unlock (&self->config_lock);
  return up;
}

/* -- private API --------------------------------------------------------- */

/*
 * nb_wg_device_get_counter:
 * @self: a #NbWgDevice
 * @counter: which counter
 *
 * Private API (nb-wg-device-private.h).
 *
 * Returns: the counter's value
 */
guint64
nb_wg_device_get_counter (NbWgDevice  *self,
                          NbWgCounter  counter)
{
  g_return_val_if_fail (NB_IS_WG_DEVICE (self), 0);
  g_return_val_if_fail (counter < NB_WG_N_COUNTERS, 0);
  return __atomic_load_n (&self->counters[counter], __ATOMIC_RELAXED);
}

/*
 * nb_wg_device_set_clock:
 * @self: a #NbWgDevice
 * @clock: (nullable): a monotonic clock in µs, %NULL for the real one
 * @user_data: data for @clock
 *
 * Private API: the clock of timers, key ages and cookies. Set it before
 * adding peers.
 */
void
nb_wg_device_set_clock (NbWgDevice   *self,
                        NbWgClockFunc clock,
                        gpointer      user_data)
{
  g_return_if_fail (NB_IS_WG_DEVICE (self));
  nb_wg_device_config_write_lock (self);
  self->clock = clock != NULL ? clock : default_clock;
  self->clock_data = user_data;
  nb_wg_device_config_write_unlock (self);
}

/*
 * nb_wg_device_tick:
 * @self: a #NbWgDevice
 *
 * Private API: runs the expired timers of every peer.
 */
void
nb_wg_device_tick (NbWgDevice *self)
{
  g_autoptr(GPtrArray) peers = NULL;
  gint64 now;

  g_return_if_fail (NB_IS_WG_DEVICE (self));
  g_rw_lock_reader_lock (&self->config_lock);
  if (self->up)
    {
      now = nb_wg_device_now (self);
      for (guint i = 0; i < self->peer_order->len; i++)
        nb_wg_peer_tick (g_ptr_array_index (self->peer_order, i), now);
    }
  g_rw_lock_reader_unlock (&self->config_lock);
}

/*
 * nb_wg_device_set_packet_func:
 * @self: a #NbWgDevice
 * @func: (nullable): called with each decrypted packet
 * @user_data: data for @func
 *
 * Private API: where a device without a TUN delivers decrypted packets.
 * @func runs on a packet thread and must not call configuration functions
 * of the device.
 */
void
nb_wg_device_set_packet_func (NbWgDevice    *self,
                              NbWgPacketFunc func,
                              gpointer       user_data)
{
  g_return_if_fail (NB_IS_WG_DEVICE (self));
  nb_wg_device_config_write_lock (self);
  self->packet_func = func;
  self->packet_data = user_data;
  nb_wg_device_config_write_unlock (self);
}

/*
 * nb_wg_device_set_under_load_threshold:
 * @self: a #NbWgDevice
 * @per_second: handshake messages per second
 *
 * Private API: above this rate the device demands cookies (mac2).
 */
void
nb_wg_device_set_under_load_threshold (NbWgDevice *self,
                                       guint       per_second)
{
  g_return_if_fail (NB_IS_WG_DEVICE (self));
  g_mutex_lock (&self->load_lock);
  self->load_threshold = per_second;
  g_mutex_unlock (&self->load_lock);
}

/*
 * nb_wg_device_get_under_load:
 * @self: a #NbWgDevice
 *
 * Private API.
 *
 * Returns: whether the device currently demands cookies
 */
gboolean
nb_wg_device_get_under_load (NbWgDevice *self)
{
  gboolean under;
  gint64 now = nb_wg_device_now (self);

  g_mutex_lock (&self->load_lock);
  under = self->under_load_until != 0 && now < self->under_load_until;
  g_mutex_unlock (&self->load_lock);
  return under;
}
