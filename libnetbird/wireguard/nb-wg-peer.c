/* nb-wg-peer.c: a peer of a userspace WireGuard device
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-wg"

#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "nb-wg-internal.h"

/**
 * NbWgPeer:
 *
 * A peer of an #NbWgDevice: a remote WireGuard public key, the prefixes it
 * may send from and receive for (its allowed IPs), an optional endpoint and
 * preshared key, and the session state the device keeps with it.
 *
 * Peers are created by nb_wg_device_add_peer(); a peer removed from its
 * device keeps answering its getters but no longer carries packets.
 */

G_DEFINE_TYPE (NbWgPeer, nb_wg_peer, G_TYPE_OBJECT)

enum {
  SIGNAL_HANDSHAKE_COMPLETED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

enum {
  PROP_0,
  PROP_PUBLIC_KEY,
  PROP_PERSISTENT_KEEPALIVE,
  PROP_LAST_HANDSHAKE_TIME,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
nb_wg_peer_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  NbWgPeer *self = NB_WG_PEER (object);

  switch (prop_id)
    {
    case PROP_PUBLIC_KEY:
      g_value_set_object (value, self->public_key);
      break;
    case PROP_PERSISTENT_KEEPALIVE:
      g_value_set_uint (value, nb_wg_peer_get_persistent_keepalive (self));
      break;
    case PROP_LAST_HANDSHAKE_TIME:
      g_value_set_int64 (value, nb_wg_peer_get_last_handshake_time (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
nb_wg_peer_set_property (GObject      *object,
                         guint         prop_id,
                         const GValue *value,
                         GParamSpec   *pspec)
{
  NbWgPeer *self = NB_WG_PEER (object);

  switch (prop_id)
    {
    case PROP_PERSISTENT_KEEPALIVE:
      nb_wg_peer_set_persistent_keepalive (self, (guint16) g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
staged_free (gpointer data)
{
  NbWgStagedPacket *packet = data;

  g_free (packet->data);
  g_free (packet);
}

static void
nb_wg_peer_finalize (GObject *object)
{
  NbWgPeer *self = NB_WG_PEER (object);

  g_queue_clear_full (&self->staged, staged_free);
  nb_wg_handshake_destroy (&self->handshake);
  nb_wg_cookie_clear (&self->cookie);
  g_mutex_clear (&self->keypairs_lock);
  g_mutex_clear (&self->lock);
  if (self->transport != NULL)
    nb_wg_transport_free (self->transport);
  g_clear_object (&self->public_key);

  G_OBJECT_CLASS (nb_wg_peer_parent_class)->finalize (object);
}

static void
nb_wg_peer_class_init (NbWgPeerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = nb_wg_peer_finalize;
  object_class->get_property = nb_wg_peer_get_property;
  object_class->set_property = nb_wg_peer_set_property;

  /**
   * NbWgPeer:public-key:
   *
   * The peer's public key, which names it.
   */
  properties[PROP_PUBLIC_KEY] =
      g_param_spec_object ("public-key", NULL, NULL, NB_TYPE_KEY,
                           G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * NbWgPeer:persistent-keepalive:
   *
   * Seconds between keepalives when nothing else is sent, 0 for none. See
   * nb_wg_peer_set_persistent_keepalive().
   */
  properties[PROP_PERSISTENT_KEEPALIVE] =
      g_param_spec_uint ("persistent-keepalive", NULL, NULL, 0, G_MAXUINT16, 0,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * NbWgPeer:last-handshake-time:
   *
   * Wall-clock time of the last completed handshake in microseconds since
   * the Unix epoch, 0 if none. Notified on the device's #GMainContext.
   */
  properties[PROP_LAST_HANDSHAKE_TIME] =
      g_param_spec_int64 ("last-handshake-time", NULL, NULL, 0, G_MAXINT64, 0,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * NbWgPeer::handshake-completed:
   * @self: the peer
   *
   * Emitted on the device's #GMainContext after a handshake with the peer
   * completed and new session keys are in use (every two minutes or so
   * while traffic flows).
   */
  signals[SIGNAL_HANDSHAKE_COMPLETED] =
      g_signal_new ("handshake-completed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                    NULL, NULL, G_TYPE_NONE, 0);
}

static gboolean
emit_handshake_completed (gpointer data)
{
  g_object_notify_by_pspec (data, properties[PROP_LAST_HANDSHAKE_TIME]);
  g_signal_emit (data, signals[SIGNAL_HANDSHAKE_COMPLETED], 0);
  return G_SOURCE_REMOVE;
}

/* Records a completed handshake (any thread) and tells the main context. */
void
nb_wg_peer_handshake_completed (NbWgPeer *self)
{
  GSource *source;

  __atomic_store_n (&self->last_handshake_real_time, g_get_real_time (), __ATOMIC_RELAXED);
  if (self->device == NULL)
    return;
  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, emit_handshake_completed, g_object_ref (self), g_object_unref);
  g_source_set_static_name (source, "[netbird] WireGuard handshake-completed");
  g_source_attach (source, self->device->context);
  g_source_unref (source);
}

static void
nb_wg_peer_init (NbWgPeer *self)
{
  g_mutex_init (&self->keypairs_lock);
  g_mutex_init (&self->lock);
  g_queue_init (&self->staged);
  nb_wg_timers_init (&self->timers);
}

/* -- the handshake's hooks (nb-wg-noise.h), run with its lock held ------- */

static guint32
handshake_index_insert (NbWgHandshake *handshake,
                        guint32        old_index)
{
  NbWgPeer *self = handshake->owner;

  /* Handshakes run under the config lock, which a peer leaving its device
   * takes for writing: the device stays while the hook runs. */
  if (self->device == NULL)
    return 0;
  return nb_wg_device_index_add_handshake (self->device, self, old_index);
}

static void
handshake_index_remove (NbWgHandshake *handshake,
                        guint32        index)
{
  NbWgPeer *self = handshake->owner;

  if (self->device != NULL)
    nb_wg_device_index_remove_handshake (self->device, self, index);
}

static void add_session (NbWgHandshake         *handshake,
                         const NbWgSessionKeys *keys,
                         gint64                 now);

static const NbWgHandshakeOps handshake_ops = {
  .index_insert = handshake_index_insert,
  .index_remove = handshake_index_remove,
  .add_session = add_session,
};

NbWgPeer *
nb_wg_peer_new_internal (NbWgDevice *device,
                         NbKey      *public_key)
{
  NbWgPeer *self = g_object_new (NB_TYPE_WG_PEER, NULL);
  const guint8 *bytes = nb_key_get_public_data (public_key, NULL);

  self->device = device;
  self->public_key = nb_key_dup_public (public_key);
  memcpy (self->public_key_bytes, bytes, NB_KEY_LEN);
  nb_wg_handshake_init (&self->handshake, bytes, &device->identity, &handshake_ops, self);
  nb_wg_cookie_init (&self->cookie, bytes);
  return self;
}

/* -- keypairs ------------------------------------------------------------ */

NbWgKeypair *
nb_wg_keypair_ref (NbWgKeypair *keypair)
{
  g_atomic_int_inc (&keypair->ref_count);
  return keypair;
}

void
nb_wg_keypair_unref (NbWgKeypair *keypair)
{
  if (keypair == NULL || !g_atomic_int_dec_and_test (&keypair->ref_count))
    return;
  g_mutex_clear (&keypair->replay_lock);
  g_object_unref (keypair->peer);
  sodium_memzero (keypair, sizeof *keypair);
  g_free (keypair);
}

/* Drops a keypair out of the peer's slots: its index goes, and packets that
 * still hold a reference see it invalid. */
static void
keypair_retire (NbWgPeer *self, NbWgKeypair *keypair)
{
  if (keypair == NULL)
    return;
  __atomic_store_n (&keypair->is_valid, FALSE, __ATOMIC_RELEASE);
  if (self->device != NULL)
    nb_wg_device_index_remove (self->device, keypair->keys.local_index);
  nb_wg_keypair_unref (keypair);
}

/* The add_session hook: makes a keypair of a completed handshake and slots
 * it (§5.4.5, and the rotation the kernel does: an initiator uses new keys
 * at once, a responder only once the initiator has used them, so they wait
 * in "next"). Runs with the handshake lock held, so keypairs are slotted in
 * the order their handshakes completed. */
static void
add_session (NbWgHandshake         *handshake,
             const NbWgSessionKeys *keys,
             gint64                 now)
{
  NbWgPeer *self = handshake->owner;
  NbWgKeypair *keypair;
  NbWgKeypair *drop1 = NULL, *drop2 = NULL;

  if (self->device == NULL)
    return;
  keypair = g_new0 (NbWgKeypair, 1);
  keypair->ref_count = 1;
  keypair->keys = *keys;
  keypair->birthdate = now;
  keypair->is_valid = TRUE;
  keypair->peer = g_object_ref (self);
  g_mutex_init (&keypair->replay_lock);
  nb_wg_replay_init (&keypair->replay);

  /* The index the handshake used now names the keypair. */
  nb_wg_device_index_add_keypair (self->device, keypair, keys->local_index);

  g_mutex_lock (&self->keypairs_lock);
  if (keys->is_initiator)
    {
      if (self->next != NULL)
        {
          drop1 = self->current;
          self->current = NULL;
          drop2 = self->previous;
          self->previous = self->next;
          self->next = NULL;
        }
      else
        {
          drop1 = self->previous;
          self->previous = self->current;
        }
      self->current = nb_wg_keypair_ref (keypair);
    }
  else
    {
      drop1 = self->next;
      self->next = nb_wg_keypair_ref (keypair);
      drop2 = self->previous;
      self->previous = NULL;
    }
  g_mutex_unlock (&self->keypairs_lock);

  keypair_retire (self, drop1);
  keypair_retire (self, drop2);
  /* The slot and the index table hold their own references. */
  nb_wg_keypair_unref (keypair);
}

/* A packet arrived on @keypair: if it was the responder's "next", it becomes
 * current. TRUE when that happened (the handshake is then complete). */
gboolean
nb_wg_peer_received_with_keypair (NbWgPeer    *self,
                                  NbWgKeypair *keypair)
{
  NbWgKeypair *drop = NULL;
  gboolean rotated = FALSE;

  if (__atomic_load_n (&self->next, __ATOMIC_ACQUIRE) != keypair)
    return FALSE;
  g_mutex_lock (&self->keypairs_lock);
  if (self->next == keypair)
    {
      drop = self->previous;
      self->previous = self->current;
      self->current = self->next;
      self->next = NULL;
      rotated = TRUE;
    }
  g_mutex_unlock (&self->keypairs_lock);
  keypair_retire (self, drop);
  return rotated;
}

NbWgKeypair *
nb_wg_peer_get_current_keypair (NbWgPeer *self)
{
  NbWgKeypair *keypair;

  g_mutex_lock (&self->keypairs_lock);
  keypair = self->current != NULL ? nb_wg_keypair_ref (self->current) : NULL;
  g_mutex_unlock (&self->keypairs_lock);
  return keypair;
}

/* Forgets every key and the handshake under way (§6.3, and device down). */
void
nb_wg_peer_zero_keys (NbWgPeer *self)
{
  NbWgKeypair *a, *b, *c;

  g_mutex_lock (&self->keypairs_lock);
  a = g_steal_pointer (&self->current);
  b = g_steal_pointer (&self->previous);
  c = g_steal_pointer (&self->next);
  g_mutex_unlock (&self->keypairs_lock);
  keypair_retire (self, a);
  keypair_retire (self, b);
  keypair_retire (self, c);

  nb_wg_handshake_clear (&self->handshake);
}

void
nb_wg_peer_purge_staged (NbWgPeer *self)
{
  guint n;

  g_mutex_lock (&self->lock);
  n = g_queue_get_length (&self->staged);
  g_queue_clear_full (&self->staged, staged_free);
  g_mutex_unlock (&self->lock);
  if (n > 0 && self->device != NULL)
    nb_wg_device_count (self->device, NB_WG_COUNTER_TX_DROP_STAGED, n);
}

/* Called when the peer leaves its device (config lock held for writing). */
void
nb_wg_peer_detach (NbWgPeer *self)
{
  g_mutex_lock (&self->lock);
  nb_wg_timers_stop_all (&self->timers);
  g_mutex_unlock (&self->lock);
  nb_wg_peer_purge_staged (self);
  nb_wg_peer_zero_keys (self);
  self->device = NULL;
}

/* Runs the peer's expired timers (§6); config lock held for reading. */
void
nb_wg_peer_tick (NbWgPeer *self,
                 gint64    now)
{
  NbWgTimerActions actions;

  g_mutex_lock (&self->lock);
  actions = nb_wg_timers_expire (&self->timers, now);
  g_mutex_unlock (&self->lock);

  if (actions & NB_WG_TIMER_ACTION_DROP_STAGED)
    {
      g_debug ("Handshake with peer %s did not complete after %d seconds, giving up",
               nb_key_get_public_base64 (self->public_key), NB_WG_REKEY_ATTEMPT_TIME);
      nb_wg_peer_purge_staged (self);
    }
  if (actions & NB_WG_TIMER_ACTION_SEND_INITIATION)
    nb_wg_send_handshake_initiation (self, (actions & NB_WG_TIMER_ACTION_IS_RETRY) != 0);
  if (actions & NB_WG_TIMER_ACTION_SEND_KEEPALIVE)
    nb_wg_send_keepalive (self);
  if (actions & NB_WG_TIMER_ACTION_ZERO_KEYS)
    nb_wg_peer_zero_keys (self);
}

gboolean
nb_wg_peer_get_endpoint_raw (NbWgPeer     *self,
                             NbWgEndpoint *out)
{
  gboolean ok;

  g_mutex_lock (&self->lock);
  *out = self->endpoint;
  ok = self->endpoint.len > 0;
  g_mutex_unlock (&self->lock);
  return ok;
}

static gboolean
endpoint_equal (const NbWgEndpoint *a, const NbWgEndpoint *b)
{
  return a->len == b->len && memcmp (&a->addr, &b->addr, a->len) == 0;
}

/* Roaming (§2.1): the endpoint follows the last authenticated packet. */
void
nb_wg_peer_update_endpoint (NbWgPeer           *self,
                            const NbWgEndpoint *from)
{
  g_mutex_lock (&self->lock);
  if (!endpoint_equal (&self->endpoint, from))
    self->endpoint = *from;
  g_mutex_unlock (&self->lock);
}

/* -- public API ---------------------------------------------------------- */

/**
 * nb_wg_peer_get_public_key:
 * @self: a #NbWgPeer
 *
 * Returns: (transfer none): the peer's public key
 */
NbKey *
nb_wg_peer_get_public_key (NbWgPeer *self)
{
  g_return_val_if_fail (NB_IS_WG_PEER (self), NULL);
  return self->public_key;
}

static void
config_write_lock (NbWgPeer *self)
{
  if (self->device != NULL)
    nb_wg_device_config_write_lock (self->device);
}

static void
config_write_unlock (NbWgDevice *device)
{
  if (device != NULL)
    nb_wg_device_config_write_unlock (device);
}

/**
 * nb_wg_peer_set_preshared_key:
 * @self: a #NbWgPeer
 * @key: (array length=length) (nullable): 32 bytes, or %NULL to remove it
 * @length: the length of @key: 32, or 0 with %NULL
 * @error: return location for a #GError
 *
 * Sets the symmetric key mixed into every handshake with this peer (the
 * "psk" of Noise_IKpsk2), for post-quantum resistance. An all-zero key is
 * the same as none.
 *
 * Returns: %TRUE, or %FALSE with %NB_WG_DEVICE_ERROR_INVALID_CONFIG when
 *   @length is not 32
 */
gboolean
nb_wg_peer_set_preshared_key (NbWgPeer      *self,
                              const guint8  *key,
                              gsize          length,
                              GError       **error)
{
  g_return_val_if_fail (NB_IS_WG_PEER (self), FALSE);

  if (key != NULL && length != NB_WG_KEY_LEN)
    {
      g_set_error (error, NB_WG_DEVICE_ERROR, NB_WG_DEVICE_ERROR_INVALID_CONFIG,
                   "A preshared key is %d bytes long, not %" G_GSIZE_FORMAT, NB_WG_KEY_LEN,
                   length);
      return FALSE;
    }
  nb_wg_handshake_set_preshared_key (&self->handshake, key);
  return TRUE;
}

/**
 * nb_wg_peer_has_preshared_key:
 * @self: a #NbWgPeer
 *
 * Returns: whether a (non-zero) preshared key is set
 */
gboolean
nb_wg_peer_has_preshared_key (NbWgPeer *self)
{
  guint8 psk[NB_WG_KEY_LEN];
  gboolean has;

  g_return_val_if_fail (NB_IS_WG_PEER (self), FALSE);
  has = nb_wg_handshake_copy_preshared_key (&self->handshake, psk);
  sodium_memzero (psk, sizeof psk);
  return has;
}

/**
 * nb_wg_peer_set_endpoint:
 * @self: a #NbWgPeer
 * @endpoint: (nullable): the peer's UDP address, or %NULL to forget it
 *
 * Sets where packets to this peer go. The endpoint then follows the source
 * address of the peer's latest authenticated packet (roaming).
 */
void
nb_wg_peer_set_endpoint (NbWgPeer           *self,
                         GInetSocketAddress *endpoint)
{
  NbWgEndpoint raw = { 0 };

  g_return_if_fail (NB_IS_WG_PEER (self));
  g_return_if_fail (endpoint == NULL || G_IS_INET_SOCKET_ADDRESS (endpoint));

  if (endpoint != NULL)
    {
      gssize size = g_socket_address_get_native_size (G_SOCKET_ADDRESS (endpoint));

      if (size > 0 && (gsize) size <= sizeof raw.addr &&
          g_socket_address_to_native (G_SOCKET_ADDRESS (endpoint), &raw.addr, sizeof raw.addr,
                                      NULL))
        raw.len = (socklen_t) size;
    }
  g_mutex_lock (&self->lock);
  self->endpoint = raw;
  g_mutex_unlock (&self->lock);
}

/**
 * nb_wg_peer_dup_endpoint:
 * @self: a #NbWgPeer
 *
 * Returns: (transfer full) (nullable): the peer's current endpoint, or %NULL
 */
GInetSocketAddress *
nb_wg_peer_dup_endpoint (NbWgPeer *self)
{
  NbWgEndpoint raw;

  g_return_val_if_fail (NB_IS_WG_PEER (self), NULL);
  if (!nb_wg_peer_get_endpoint_raw (self, &raw))
    return NULL;
  return G_INET_SOCKET_ADDRESS (g_socket_address_new_from_native (&raw.addr, raw.len));
}

/**
 * nb_wg_peer_set_persistent_keepalive:
 * @self: a #NbWgPeer
 * @interval_seconds: seconds between keepalives, 0 to turn them off
 *
 * Sends an authenticated empty packet every @interval_seconds when nothing
 * else was sent, to keep NAT mappings and stateful firewalls open. Setting
 * it on a device that is up sends one at once (and so starts a handshake).
 */
void
nb_wg_peer_set_persistent_keepalive (NbWgPeer *self,
                                     guint16   interval_seconds)
{
  NbWgDevice *device;
  gboolean send_now, changed;

  g_return_if_fail (NB_IS_WG_PEER (self));

  device = self->device;
  g_mutex_lock (&self->lock);
  changed = interval_seconds != self->timers.persistent_keepalive_interval;
  send_now = interval_seconds > 0 && changed;
  nb_wg_timers_set_persistent_keepalive (&self->timers, interval_seconds,
                                         device != NULL ? nb_wg_device_now (device) : 0);
  g_mutex_unlock (&self->lock);

  if (send_now && device != NULL)
    {
      g_rw_lock_reader_lock (&device->config_lock);
      if (device->up && self->device == device)
        nb_wg_send_keepalive (self);
      g_rw_lock_reader_unlock (&device->config_lock);
    }
  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PERSISTENT_KEEPALIVE]);
}

/**
 * nb_wg_peer_get_persistent_keepalive:
 * @self: a #NbWgPeer
 *
 * Returns: the persistent keepalive interval in seconds, 0 when off
 */
guint16
nb_wg_peer_get_persistent_keepalive (NbWgPeer *self)
{
  guint16 interval;

  g_return_val_if_fail (NB_IS_WG_PEER (self), 0);
  g_mutex_lock (&self->lock);
  interval = self->timers.persistent_keepalive_interval;
  g_mutex_unlock (&self->lock);
  return interval;
}

static gboolean
prefix_to_raw (GInetAddressMask *prefix,
               guint8            bytes[16],
               guint            *len,
               guint8           *cidr,
               GError          **error)
{
  GInetAddress *address = g_inet_address_mask_get_address (prefix);
  guint length = g_inet_address_mask_get_length (prefix);
  gsize size = g_inet_address_get_native_size (address);

  if ((size != 4 && size != 16) || length > size * 8)
    {
      g_set_error (error, NB_WG_DEVICE_ERROR, NB_WG_DEVICE_ERROR_INVALID_CONFIG,
                   "Allowed IP prefix length %u is too long for its address family", length);
      return FALSE;
    }
  memcpy (bytes, g_inet_address_to_bytes (address), size);
  *len = (guint) size;
  *cidr = (guint8) length;
  return TRUE;
}

/**
 * nb_wg_peer_add_allowed_ip:
 * @self: a #NbWgPeer
 * @prefix: an IPv4 or IPv6 prefix
 * @error: return location for a #GError
 *
 * Routes @prefix to this peer and accepts packets from it with a source in
 * @prefix (cryptokey routing). A prefix held by another peer of the device
 * moves to this one; host bits of @prefix are ignored.
 *
 * Returns: %TRUE, or %FALSE with %NB_WG_DEVICE_ERROR_NO_SUCH_PEER when the
 *   peer was removed from its device, %NB_WG_DEVICE_ERROR_INVALID_CONFIG for a
 *   bad prefix
 */
gboolean
nb_wg_peer_add_allowed_ip (NbWgPeer          *self,
                           GInetAddressMask  *prefix,
                           GError           **error)
{
  NbWgDevice *device;
  guint8 bytes[16];
  guint len;
  guint8 cidr;

  g_return_val_if_fail (NB_IS_WG_PEER (self), FALSE);
  g_return_val_if_fail (G_IS_INET_ADDRESS_MASK (prefix), FALSE);

  if (!prefix_to_raw (prefix, bytes, &len, &cidr, error))
    return FALSE;
  device = self->device;
  config_write_lock (self);
  if (device == NULL || self->device != device)
    {
      config_write_unlock (device);
      g_set_error (error, NB_WG_DEVICE_ERROR, NB_WG_DEVICE_ERROR_NO_SUCH_PEER,
                   "Peer %s was removed from its device",
                   nb_key_get_public_base64 (self->public_key));
      return FALSE;
    }
  nb_wg_allowedips_insert (&device->allowedips, bytes, len, cidr, self);
  config_write_unlock (device);
  return TRUE;
}

/**
 * nb_wg_peer_remove_allowed_ip:
 * @self: a #NbWgPeer
 * @prefix: a prefix given to nb_wg_peer_add_allowed_ip()
 *
 * Returns: %TRUE when the peer held @prefix and it was removed
 */
gboolean
nb_wg_peer_remove_allowed_ip (NbWgPeer         *self,
                              GInetAddressMask *prefix)
{
  NbWgDevice *device;
  guint8 bytes[16];
  guint len;
  guint8 cidr;
  gboolean removed = FALSE;

  g_return_val_if_fail (NB_IS_WG_PEER (self), FALSE);
  g_return_val_if_fail (G_IS_INET_ADDRESS_MASK (prefix), FALSE);

  if (!prefix_to_raw (prefix, bytes, &len, &cidr, NULL))
    return FALSE;
  device = self->device;
  config_write_lock (self);
  if (device != NULL && self->device == device)
    removed = nb_wg_allowedips_remove (&device->allowedips, bytes, len, cidr, self);
  config_write_unlock (device);
  return removed;
}

/**
 * nb_wg_peer_clear_allowed_ips:
 * @self: a #NbWgPeer
 *
 * Removes every allowed IP of the peer.
 */
void
nb_wg_peer_clear_allowed_ips (NbWgPeer *self)
{
  NbWgDevice *device;

  g_return_if_fail (NB_IS_WG_PEER (self));
  device = self->device;
  config_write_lock (self);
  if (device != NULL && self->device == device)
    nb_wg_allowedips_remove_by_peer (&device->allowedips, self);
  config_write_unlock (device);
}

static void
collect_prefix (const guint8 *address,
                guint         address_len,
                guint8        cidr,
                gpointer      user_data)
{
  GPtrArray *out = user_data;
  g_autoptr(GInetAddress) inet = g_inet_address_new_from_bytes (
      address, address_len == 4 ? G_SOCKET_FAMILY_IPV4 : G_SOCKET_FAMILY_IPV6);

  g_ptr_array_add (out, g_inet_address_mask_new (inet, cidr, NULL));
}

/**
 * nb_wg_peer_list_allowed_ips:
 * @self: a #NbWgPeer
 *
 * Returns: (transfer container) (element-type GInetAddressMask): the peer's
 *   allowed IPs, IPv4 first, with host bits cleared
 */
GPtrArray *
nb_wg_peer_list_allowed_ips (NbWgPeer *self)
{
  GPtrArray *out;
  NbWgDevice *device;

  g_return_val_if_fail (NB_IS_WG_PEER (self), NULL);
  out = g_ptr_array_new_with_free_func (g_object_unref);
  device = self->device;
  if (device == NULL)
    return out;
  g_rw_lock_reader_lock (&device->config_lock);
  if (self->device == device)
    nb_wg_allowedips_foreach_of_peer (&device->allowedips, self, collect_prefix, out);
  g_rw_lock_reader_unlock (&device->config_lock);
  return out;
}

/**
 * nb_wg_peer_get_rx_bytes:
 * @self: a #NbWgPeer
 *
 * Returns: bytes received from the peer (WireGuard datagrams, as wg counts)
 */
guint64
nb_wg_peer_get_rx_bytes (NbWgPeer *self)
{
  g_return_val_if_fail (NB_IS_WG_PEER (self), 0);
  return __atomic_load_n (&self->rx_bytes, __ATOMIC_RELAXED);
}

/**
 * nb_wg_peer_get_tx_bytes:
 * @self: a #NbWgPeer
 *
 * Returns: bytes sent to the peer (WireGuard datagrams, as wg counts)
 */
guint64
nb_wg_peer_get_tx_bytes (NbWgPeer *self)
{
  g_return_val_if_fail (NB_IS_WG_PEER (self), 0);
  return __atomic_load_n (&self->tx_bytes, __ATOMIC_RELAXED);
}

/**
 * nb_wg_peer_get_last_handshake_time:
 * @self: a #NbWgPeer
 *
 * Returns: the wall-clock time of the last completed handshake, in
 *   microseconds since the Unix epoch (as g_get_real_time()), or 0 if none
 */
gint64
nb_wg_peer_get_last_handshake_time (NbWgPeer *self)
{
  g_return_val_if_fail (NB_IS_WG_PEER (self), 0);
  return __atomic_load_n (&self->last_handshake_real_time, __ATOMIC_RELAXED);
}

/*
 * nb_wg_peer_copy_preshared_key:
 * @peer: a #NbWgPeer
 * @out: 32 bytes
 *
 * Private API (nb-wg-device-private.h).
 */
gboolean
nb_wg_peer_copy_preshared_key (NbWgPeer *peer,
                               guint8   *out)
{
  g_return_val_if_fail (NB_IS_WG_PEER (peer), FALSE);
  return nb_wg_handshake_copy_preshared_key (&peer->handshake, out);
}

/*
 * nb_wg_peer_initiate_handshake:
 * @peer: a #NbWgPeer
 *
 * Private API (nb-wg-device-private.h): starts a handshake now.
 */
void
nb_wg_peer_initiate_handshake (NbWgPeer *peer)
{
  NbWgDevice *device = peer->device;

  if (device == NULL)
    return;
  g_rw_lock_reader_lock (&device->config_lock);
  if (device->up && peer->device == device)
    nb_wg_send_handshake_initiation (peer, FALSE);
  g_rw_lock_reader_unlock (&device->config_lock);
}

/*
 * nb_wg_peer_get_handshake_rtt:
 * @peer: a #NbWgPeer
 *
 * Private API (nb-wg-device-private.h).
 */
gint64
nb_wg_peer_get_handshake_rtt (NbWgPeer *peer)
{
  return __atomic_load_n (&peer->handshake_rtt, __ATOMIC_RELAXED);
}

/* -- transports ---------------------------------------------------------- */

/*
 * nb_wg_peer_set_transport:
 * @peer: a #NbWgPeer
 * @transport: (transfer full) (nullable): the transport, or %NULL
 *
 * Private API (nb-wg-transport.h).
 */
void
nb_wg_peer_set_transport (NbWgPeer      *peer,
                          NbWgTransport *transport)
{
  NbWgDevice *device = peer->device;
  NbWgTransport *old;

  config_write_lock (peer);
  old = peer->transport;
  if (old != NULL && device != NULL)
    nb_wg_device_unregister_transport (device, old);
  peer->transport = transport;
  if (transport != NULL)
    {
      transport->peer = peer;
      if (device != NULL)
        nb_wg_device_register_transport (device, transport);
    }
  config_write_unlock (device);
  if (old != NULL)
    nb_wg_transport_free (old);
}
