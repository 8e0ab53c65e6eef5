/* nb-relay-server.c: an embeddable Relay server
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-relay"

#include <string.h>

#include "nb-relay-server-private.h"
#include "nb-version.h"

/**
 * NbRelayServer:
 *
 * A Relay server: peers that cannot reach each other directly send their
 * WireGuard datagrams through it. It only moves sealed datagrams; it
 * cannot read them.
 *
 * Each peer holds one WebSocket (path `/relay/v1`, over TLS when a
 * certificate is set) carrying binary frames of the Relay protocol. A peer
 * authenticates with a token Management issued it: an expiry and the
 * peer's public key, signed with HMAC-SHA256 under the secret the relay
 * shares with Management. Forged, expired and other peers' tokens are
 * refused with a close code of their own; a genuine token then has to be
 * backed by a proof that the peer holds the key (the server seals a
 * challenge to it). The peer is then addressed by its peer id, the first
 * 16 bytes of SHA-256 over its public key.
 *
 * An authenticated peer sends transport frames (destination id and a
 * datagram); the server forwards each with the source's id, or answers
 * "offline" when the destination is not connected. A peer can watch other
 * peers' ids and is told when they come and go. Each connection's send
 * queue is bounded: datagrams to a peer that does not read fast enough are
 * dropped and counted, never queued without bound. Connections that are
 * silent for three keepalive intervals are closed.
 * nb_relay_server_listen_metrics() serves the counters in Prometheus' text
 * format.
 */

enum {
  PROP_0,
  PROP_LISTEN_ADDRESS,
  PROP_PORT,
  PROP_AUTH_TIMEOUT,
  PROP_KEEPALIVE_INTERVAL,
  N_PROPS
};
static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (NbRelayServer, nb_relay_server, G_TYPE_OBJECT)

G_DEFINE_QUARK (nb-relay-server-error-quark, nb_relay_server_error)

/* Peer ids are SHA-256 output: their first bytes hash well as they are. */
guint
nb_relay_peer_id_hash (gconstpointer id)
{
  guint h;

  memcpy (&h, id, sizeof h);
  return h;
}

gboolean
nb_relay_peer_id_equal (gconstpointer a,
                        gconstpointer b)
{
  return memcmp (a, b, NB_RELAY_PEER_ID_LEN) == 0;
}

static void
on_websocket (SoupServer              *soup,
              SoupServerMessage       *msg,
              const char              *path,
              SoupWebsocketConnection *connection,
              gpointer                 user_data)
{
  nb_relay_conn_accept (user_data, connection, soup_server_message_get_remote_host (msg));
}

static void
nb_relay_server_dispose (GObject *object)
{
  nb_relay_server_stop (NB_RELAY_SERVER (object));
  G_OBJECT_CLASS (nb_relay_server_parent_class)->dispose (object);
}

static void
nb_relay_server_finalize (GObject *object)
{
  NbRelayServer *self = NB_RELAY_SERVER (object);

  g_clear_pointer (&self->conns, g_hash_table_unref);
  g_clear_pointer (&self->peers, g_hash_table_unref);
  g_clear_pointer (&self->watchers, g_hash_table_unref);
  g_clear_pointer (&self->services, g_ptr_array_unref);
  g_clear_object (&self->key);
  g_clear_object (&self->tls_certificate);
  if (self->secret != NULL)
    memset (self->secret, 0, strlen (self->secret));
  g_free (self->secret);
  G_OBJECT_CLASS (nb_relay_server_parent_class)->finalize (object);
}

static void
nb_relay_server_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  NbRelayServer *self = NB_RELAY_SERVER (object);

  switch (prop_id)
    {
    case PROP_LISTEN_ADDRESS:
      g_value_set_string (value, self->listen_address);
      break;
    case PROP_PORT:
      g_value_set_uint (value, self->port);
      break;
    case PROP_AUTH_TIMEOUT:
      g_value_set_uint (value, self->auth_timeout_ms);
      break;
    case PROP_KEEPALIVE_INTERVAL:
      g_value_set_uint (value, self->keepalive_seconds);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
nb_relay_server_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  NbRelayServer *self = NB_RELAY_SERVER (object);

  switch (prop_id)
    {
    case PROP_AUTH_TIMEOUT:
      self->auth_timeout_ms = g_value_get_uint (value);
      break;
    case PROP_KEEPALIVE_INTERVAL:
      self->keepalive_seconds = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
nb_relay_server_class_init (NbRelayServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = nb_relay_server_dispose;
  object_class->finalize = nb_relay_server_finalize;
  object_class->get_property = nb_relay_server_get_property;
  object_class->set_property = nb_relay_server_set_property;

  /**
   * NbRelayServer:listen-address:
   *
   * The address the server listens on, as HOST:PORT, or %NULL.
   */
  properties[PROP_LISTEN_ADDRESS] =
    g_param_spec_string ("listen-address", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * NbRelayServer:port:
   *
   * The port the server listens on, 0 before it listens.
   */
  properties[PROP_PORT] =
    g_param_spec_uint ("port", NULL, NULL, 0, G_MAXUINT16, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * NbRelayServer:auth-timeout:
   *
   * Milliseconds a new connection has for each step before it is closed:
   * its TLS handshake, its upgrade request, then its token and proof.
   * Takes effect at the next nb_relay_server_listen().
   */
  properties[PROP_AUTH_TIMEOUT] =
    g_param_spec_uint ("auth-timeout", NULL, NULL, 1, 600 * 1000,
                       NB_RELAY_SERVER_DEFAULT_AUTH_TIMEOUT_MS,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_STATIC_STRINGS);
  /**
   * NbRelayServer:keepalive-interval:
   *
   * Seconds between the pings the server sends each peer; a peer from
   * which nothing came for three intervals is closed. Takes effect at the
   * next nb_relay_server_listen().
   */
  properties[PROP_KEEPALIVE_INTERVAL] =
    g_param_spec_uint ("keepalive-interval", NULL, NULL, 1, 3600,
                       NB_RELAY_SERVER_DEFAULT_KEEPALIVE_SECONDS,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
watchers_free (gpointer data)
{
  g_ptr_array_unref (data);
}

static void
nb_relay_server_init (NbRelayServer *self)
{
  self->key = nb_key_generate ();
  self->queue_bytes = NB_RELAY_SERVER_DEFAULT_QUEUE_BYTES;
  self->conns = g_hash_table_new_full (NULL, NULL, (GDestroyNotify) nb_relay_conn_free, NULL);
  self->peers = g_hash_table_new (nb_relay_peer_id_hash, nb_relay_peer_id_equal);
  self->watchers = g_hash_table_new_full (nb_relay_peer_id_hash, nb_relay_peer_id_equal, g_free,
                                          watchers_free);
  self->services = g_ptr_array_new ();
}

/**
 * nb_relay_server_new:
 * @auth_secret: the secret shared with Management that signs the tokens
 *
 * Makes a server; it serves once nb_relay_server_listen() is called.
 *
 * Returns: (transfer full): a new #NbRelayServer
 */
NbRelayServer *
nb_relay_server_new (const char *auth_secret)
{
  NbRelayServer *self;

  g_return_val_if_fail (auth_secret != NULL && auth_secret[0] != '\0', NULL);

  self = g_object_new (NB_TYPE_RELAY_SERVER, NULL);
  self->secret = g_strdup (auth_secret);
  return self;
}

/**
 * nb_relay_server_set_tls_files:
 * @self: a #NbRelayServer
 * @cert_file: a PEM file with the certificate (and its chain)
 * @key_file: a PEM file with the certificate's private key
 * @error: return location for a #GError
 *
 * Serves over TLS (`rels://`, WebSocket over TLS) from the next
 * nb_relay_server_listen() on.
 *
 * Returns: %TRUE when the certificate and key were loaded, %FALSE with
 *   @error set
 */
gboolean
nb_relay_server_set_tls_files (NbRelayServer  *self,
                               const char     *cert_file,
                               const char     *key_file,
                               GError        **error)
{
  g_autoptr(GError) local_error = NULL;
  GTlsCertificate *certificate;

  g_return_val_if_fail (NB_IS_RELAY_SERVER (self), FALSE);
  g_return_val_if_fail (cert_file != NULL && key_file != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  certificate = g_tls_certificate_new_from_files (cert_file, key_file, &local_error);
  if (certificate == NULL)
    {
      g_set_error (error, NB_RELAY_SERVER_ERROR, NB_RELAY_SERVER_ERROR_TLS,
                   "Cannot load the TLS certificate %s and key %s: %s", cert_file, key_file,
                   local_error->message);
      return FALSE;
    }
  g_clear_object (&self->tls_certificate);
  self->tls_certificate = certificate;
  return TRUE;
}

/**
 * nb_relay_server_set_connection_limits:
 * @self: a #NbRelayServer
 * @max_connections: the most connections open at once, or 0 for the
 *   default (the descriptor limit less a reserve)
 * @max_per_address: the most connections open at once from one address,
 *   or 0 for the default (three quarters of the global cap)
 *
 * Sets the connection caps. Takes effect at the next
 * nb_relay_server_listen().
 */
void
nb_relay_server_set_connection_limits (NbRelayServer *self,
                                       guint          max_connections,
                                       guint          max_per_address)
{
  g_return_if_fail (NB_IS_RELAY_SERVER (self));

  self->max_connections = max_connections;
  self->max_connections_per_address = max_per_address;
}

/**
 * nb_relay_server_set_queue_limit:
 * @self: a #NbRelayServer
 * @bytes: bytes waiting to be written to one peer past which datagrams to
 *   it are dropped, at least 64 KiB (default
 *   %NB_RELAY_SERVER_DEFAULT_QUEUE_BYTES)
 *
 * Bounds the memory one slow reader can hold in the server. Takes effect at
 * the next nb_relay_server_listen().
 */
void
nb_relay_server_set_queue_limit (NbRelayServer *self,
                                 gsize          bytes)
{
  g_return_if_fail (NB_IS_RELAY_SERVER (self));
  g_return_if_fail (bytes >= 64 * 1024);

  self->queue_bytes = bytes;
}

/* Only numeric addresses and localhost: listening never waits for DNS. */
static GSocketAddress *
parse_listen_address (const char  *address,
                      GError     **error)
{
  g_autoptr(GSocketConnectable) connectable = NULL;
  g_autoptr(GInetAddress) inet = NULL;
  const char *host;

  connectable = g_network_address_parse (address, NB_RELAY_SERVER_DEFAULT_PORT, NULL);
  if (connectable != NULL)
    {
      host = g_network_address_get_hostname (G_NETWORK_ADDRESS (connectable));
      inet = g_inet_address_new_from_string (host);
      if (inet == NULL && g_ascii_strcasecmp (host, "localhost") == 0)
        inet = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
    }
  if (inet == NULL)
    {
      g_set_error (error, NB_RELAY_SERVER_ERROR, NB_RELAY_SERVER_ERROR_LISTEN,
                   "“%s” is not an address to listen on: give HOST:PORT with a numeric host, "
                   "like 127.0.0.1:33080 or [::]:33080", address);
      return NULL;
    }
  return g_inet_socket_address_new (inet,
                                    g_network_address_get_port (G_NETWORK_ADDRESS (connectable)));
}

static char *
listen_service (NbService   *service,
                const char  *address,
                guint16     *port,
                GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GSocketAddress) socket_address = parse_listen_address (address, error);
  GInetSocketAddress *local;
  g_autofree char *host = NULL;

  if (socket_address == NULL)
    return NULL;
  if (!nb_service_listen (service, socket_address, &local_error))
    {
      g_set_error (error, NB_RELAY_SERVER_ERROR, NB_RELAY_SERVER_ERROR_LISTEN,
                   "Cannot listen on %s: %s", address, local_error->message);
      return NULL;
    }
  local = G_INET_SOCKET_ADDRESS (nb_service_get_local_address (service));
  host = g_inet_address_to_string (g_inet_socket_address_get_address (local));
  *port = g_inet_socket_address_get_port (local);
  return g_strdup_printf ("%s%s%s:%u", strchr (host, ':') ? "[" : "", host,
                          strchr (host, ':') ? "]" : "", *port);
}

static gboolean
on_sweep (gpointer user_data)
{
  NbRelayServer *self = user_data;
  guint n = 0;
  g_autofree gpointer *conns = g_hash_table_get_keys_as_array (self->conns, &n);
  gint64 now = g_get_monotonic_time ();

  for (guint i = 0; i < n; i++)
    nb_relay_conn_check_alive (conns[i], now);
  return G_SOURCE_CONTINUE;
}

/**
 * nb_relay_server_listen:
 * @self: a #NbRelayServer
 * @address: (nullable): where to listen, as `HOST:PORT` (`[::1]:33080` for
 *   IPv6; port 0 picks a free port), or %NULL for `0.0.0.0:33080`
 * @error: return location for a #GError
 *
 * Starts serving peers on @address, over TLS when a certificate was set.
 *
 * Returns: %TRUE once listening, %FALSE with @error set
 */
gboolean
nb_relay_server_listen (NbRelayServer  *self,
                        const char     *address,
                        GError        **error)
{
  g_autoptr(SoupServer) soup = NULL;
  g_autoptr(NbService) service = NULL;
  NbServiceLimits limits;
  guint16 port = 0;
  char *text;

  g_return_val_if_fail (NB_IS_RELAY_SERVER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->service != NULL)
    {
      g_set_error (error, NB_RELAY_SERVER_ERROR, NB_RELAY_SERVER_ERROR_LISTEN,
                   "The server already listens on %s", self->listen_address);
      return FALSE;
    }
  if (address == NULL)
    address = "0.0.0.0:33080";

  /* A peer has the authentication timeout for each step: TLS, the upgrade
   * request, then token and proof. The channel's own cap sits above the
   * relay's queue limit: datagrams are dropped (on_transport()) before the
   * channel would close the connection; only control frames to a peer
   * that stopped reading can reach the channel's cap. */
  limits = (NbServiceLimits) { 0 };
  limits.tls_timeout_ms = self->auth_timeout_ms;
  limits.header_timeout_ms = self->auth_timeout_ms;
  limits.websocket_auth_timeout_ms = self->auth_timeout_ms;
  limits.max_connections = self->max_connections;
  limits.max_connections_per_address = self->max_connections_per_address;
  limits.max_body_size = 16 * 1024;
  limits.channel_max_queued = self->queue_bytes + 64 * 1024;
  nb_service_limits_complete (&limits);

  soup = g_object_new (SOUP_TYPE_SERVER,
                       "server-header", "netbird-relay/" NB_VERSION_STRING " ", NULL);
  soup_server_add_websocket_handler (soup, NB_RELAY_PATH, NULL, NULL, on_websocket, self, NULL);
  service = nb_service_new ("relay", soup, self->tls_certificate, &limits);
  text = listen_service (service, address, &port, error);
  if (text == NULL)
    return FALSE;

  self->service = g_steal_pointer (&service);
  g_ptr_array_insert (self->services, 0, self->service);
  self->sweep_source = g_timeout_add_seconds (self->keepalive_seconds, on_sweep, self);
  self->listen_address = text;
  self->port = port;
  g_info ("Relay listening on %s://%s%s", self->tls_certificate != NULL ? "rels" : "rel",
          self->listen_address, NB_RELAY_PATH);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PORT]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LISTEN_ADDRESS]);
  return TRUE;
}

static void
on_metrics (SoupServer        *soup,
            SoupServerMessage *msg,
            const char        *path,
            GHashTable        *query,
            gpointer           user_data)
{
  g_autofree char *text = NULL;
  gsize len;

  if (soup_server_message_get_method (msg) != SOUP_METHOD_GET)
    {
      soup_server_message_set_status (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, NULL);
      return;
    }
  text = nb_relay_server_dup_metrics (user_data);
  len = strlen (text);
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "text/plain; version=0.0.4; charset=utf-8",
                                    SOUP_MEMORY_TAKE, g_steal_pointer (&text), len);
}

/**
 * nb_relay_server_listen_metrics:
 * @self: a #NbRelayServer
 * @address: where to serve `GET /metrics`, as `HOST:PORT`
 * @error: return location for a #GError
 *
 * Serves the server's counters in Prometheus' text format (plain HTTP):
 * connections, authenticated peers, datagrams and bytes forwarded,
 * undeliverable, frames dropped and connections closed, each by reason.
 *
 * Returns: %TRUE once listening, %FALSE with @error set
 */
gboolean
nb_relay_server_listen_metrics (NbRelayServer  *self,
                                const char     *address,
                                GError        **error)
{
  g_autoptr(SoupServer) soup = NULL;
  g_autoptr(NbService) service = NULL;
  NbServiceLimits limits = { .max_connections = 64, .max_connections_per_address = 16 };
  guint16 port = 0;
  char *text;

  g_return_val_if_fail (NB_IS_RELAY_SERVER (self), FALSE);
  g_return_val_if_fail (address != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->metrics_service != NULL)
    {
      g_set_error (error, NB_RELAY_SERVER_ERROR, NB_RELAY_SERVER_ERROR_LISTEN,
                   "The server already serves metrics on %s", self->metrics_address);
      return FALSE;
    }
  soup = g_object_new (SOUP_TYPE_SERVER,
                       "server-header", "netbird-relay/" NB_VERSION_STRING " ", NULL);
  soup_server_add_handler (soup, "/metrics", on_metrics, self, NULL);
  service = nb_service_new ("metrics", soup, NULL, &limits);
  text = listen_service (service, address, &port, error);
  if (text == NULL)
    return FALSE;
  self->metrics_service = g_steal_pointer (&service);
  g_ptr_array_add (self->services, self->metrics_service);
  self->metrics_address = text;
  return TRUE;
}

/**
 * nb_relay_server_stop:
 * @self: a #NbRelayServer
 *
 * Closes every connection (going away: the clients reconnect) and stops
 * listening, metrics included. The server can listen again afterwards.
 */
void
nb_relay_server_stop (NbRelayServer *self)
{
  g_return_if_fail (NB_IS_RELAY_SERVER (self));

  if (self->conns != NULL)
    {
      self->counters.closed[NB_RELAY_CLOSED_SHUTDOWN] += g_hash_table_size (self->conns);
      /* Nobody is told of the others leaving: they all go. */
      g_hash_table_remove_all (self->watchers);
      g_hash_table_remove_all (self->conns);
    }
  g_clear_handle_id (&self->sweep_source, g_source_remove);
  if (self->services != NULL)
    g_ptr_array_set_size (self->services, 0);
  if (self->service != NULL)
    {
      nb_service_stop (self->service);
      g_clear_object (&self->service);
    }
  if (self->metrics_service != NULL)
    {
      nb_service_stop (self->metrics_service);
      g_clear_object (&self->metrics_service);
    }
  g_clear_pointer (&self->listen_address, g_free);
  g_clear_pointer (&self->metrics_address, g_free);
  self->port = 0;
}

/**
 * nb_relay_server_get_listen_address:
 * @self: a #NbRelayServer
 *
 * Returns: (nullable): the address the server listens on, as HOST:PORT
 */
const char *
nb_relay_server_get_listen_address (NbRelayServer *self)
{
  g_return_val_if_fail (NB_IS_RELAY_SERVER (self), NULL);
  return self->listen_address;
}

/**
 * nb_relay_server_get_metrics_address:
 * @self: a #NbRelayServer
 *
 * Returns: (nullable): the address the metrics are served on, as HOST:PORT
 */
const char *
nb_relay_server_get_metrics_address (NbRelayServer *self)
{
  g_return_val_if_fail (NB_IS_RELAY_SERVER (self), NULL);
  return self->metrics_address;
}

/**
 * nb_relay_server_get_port:
 * @self: a #NbRelayServer
 *
 * Returns: the port the server listens on, 0 before it listens
 */
guint16
nb_relay_server_get_port (NbRelayServer *self)
{
  g_return_val_if_fail (NB_IS_RELAY_SERVER (self), 0);
  return self->port;
}

/**
 * nb_relay_server_get_n_connections:
 * @self: a #NbRelayServer
 *
 * Returns: the open connections, authenticated or not
 */
guint
nb_relay_server_get_n_connections (NbRelayServer *self)
{
  g_return_val_if_fail (NB_IS_RELAY_SERVER (self), 0);
  return g_hash_table_size (self->conns);
}

/**
 * nb_relay_server_get_n_peers:
 * @self: a #NbRelayServer
 *
 * Returns: the peers authenticated now
 */
guint
nb_relay_server_get_n_peers (NbRelayServer *self)
{
  g_return_val_if_fail (NB_IS_RELAY_SERVER (self), 0);
  return g_hash_table_size (self->peers);
}

/**
 * nb_relay_server_dup_metrics:
 * @self: a #NbRelayServer
 *
 * The counters nb_relay_server_listen_metrics() serves.
 *
 * Returns: (transfer full): the server's metrics in Prometheus' text format
 */
char *
nb_relay_server_dup_metrics (NbRelayServer *self)
{
  GString *out;

  g_return_val_if_fail (NB_IS_RELAY_SERVER (self), NULL);

  out = g_string_new (NULL);
  nb_relay_server_write_metrics (self, out);
  return g_string_free (out, FALSE);
}
