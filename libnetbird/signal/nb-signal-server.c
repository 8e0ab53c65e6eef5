/* nb-signal-server.c: an embeddable Signal server
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-signal"

#include <string.h>

#include "nb-signal-server-private.h"
#include "nb-version.h"

/* A deep accept queue: thousands of peers reconnect at once after a
 * restart, and GSocket's default backlog is 10. */
#define LISTEN_BACKLOG 4096

/**
 * NbSignalServer:
 *
 * A Signal server: peers meet here to exchange the messages that set up
 * their connections (ICE credentials and candidates), sealed end to end.
 *
 * Each peer holds one WebSocket (path `/signal/v1`, over TLS when a
 * certificate is set) and registers under its public key by proving that
 * it holds the private half: the server seals a random challenge to the
 * key with a key of its own, and only the key's holder can open it and
 * seal it back. Claiming a key one does not hold fails; a second proven
 * registration of the same key replaces the first, whose connection is
 * closed with a code the client reads as "replaced".
 *
 * A registered peer sends envelopes (sender, destination, sealed body).
 * The server checks that the sender is the registered key, forwards the
 * envelope unchanged to the destination's connection, or answers
 * "undeliverable" when the destination is not connected. It stores
 * nothing and never sees a message's content.
 *
 * Each connection has a rate limit (a token bucket, see
 * nb_signal_server_set_rate_limit(): excess is dropped and counted, a
 * persistent flood closes the connection), frames are bounded in size,
 * a connection that has not proven a key within seconds is closed, and a
 * malformed frame closes only the connection that sent it.
 * nb_signal_server_listen_metrics() serves the counters in Prometheus'
 * text format.
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

G_DEFINE_FINAL_TYPE (NbSignalServer, nb_signal_server, G_TYPE_OBJECT)

G_DEFINE_QUARK (nb-signal-server-error-quark, nb_signal_server_error)

static void
on_websocket (SoupServer              *soup,
              SoupServerMessage       *msg,
              const char              *path,
              SoupWebsocketConnection *connection,
              gpointer                 user_data)
{
  NbSignalServer *self = user_data;

  nb_signal_conn_accept (self, connection, soup_server_message_get_remote_host (msg));
}

static void
nb_signal_server_dispose (GObject *object)
{
  NbSignalServer *self = NB_SIGNAL_SERVER (object);

  nb_signal_server_stop (self);
  G_OBJECT_CLASS (nb_signal_server_parent_class)->dispose (object);
}

static void
nb_signal_server_finalize (GObject *object)
{
  NbSignalServer *self = NB_SIGNAL_SERVER (object);

  g_clear_pointer (&self->peers, g_hash_table_unref);
  g_clear_pointer (&self->corked, g_ptr_array_unref);
  g_clear_pointer (&self->services, g_ptr_array_unref);
  g_clear_pointer (&self->conns, g_hash_table_unref);
  g_clear_object (&self->key);
  g_clear_object (&self->tls_certificate);
  G_OBJECT_CLASS (nb_signal_server_parent_class)->finalize (object);
}

static void
nb_signal_server_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  NbSignalServer *self = NB_SIGNAL_SERVER (object);

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
nb_signal_server_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  NbSignalServer *self = NB_SIGNAL_SERVER (object);

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
nb_signal_server_class_init (NbSignalServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = nb_signal_server_dispose;
  object_class->finalize = nb_signal_server_finalize;
  object_class->get_property = nb_signal_server_get_property;
  object_class->set_property = nb_signal_server_set_property;

  /**
   * NbSignalServer:listen-address:
   *
   * The address the server listens on, as HOST:PORT, or %NULL.
   */
  properties[PROP_LISTEN_ADDRESS] =
    g_param_spec_string ("listen-address", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * NbSignalServer:port:
   *
   * The port the server listens on, 0 before it listens.
   */
  properties[PROP_PORT] =
    g_param_spec_uint ("port", NULL, NULL, 0, G_MAXUINT16, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * NbSignalServer:auth-timeout:
   *
   * Milliseconds a new connection has for each step before it is closed:
   * its TLS handshake, its upgrade request, then proving its key. Takes
   * effect at the next nb_signal_server_listen().
   */
  properties[PROP_AUTH_TIMEOUT] =
    g_param_spec_uint ("auth-timeout", NULL, NULL, 1, 600 * 1000,
                       NB_SIGNAL_SERVER_DEFAULT_AUTH_TIMEOUT_MS,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_STATIC_STRINGS);
  /**
   * NbSignalServer:keepalive-interval:
   *
   * Seconds between the pings the server sends each peer. A peer from
   * which nothing came (not even a pong) for three intervals is taken for
   * gone: its connection is closed and its key unregistered. Takes effect
   * at the next nb_signal_server_listen().
   */
  properties[PROP_KEEPALIVE_INTERVAL] =
    g_param_spec_uint ("keepalive-interval", NULL, NULL, 1, 3600,
                       NB_SIGNAL_DEFAULT_KEEPALIVE_SECONDS,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static gboolean
on_sweep (gpointer user_data)
{
  NbSignalServer *self = user_data;
  guint n = 0;
  g_autofree gpointer *conns = g_hash_table_get_keys_as_array (self->conns, &n);
  gint64 now = g_get_monotonic_time ();

  for (guint i = 0; i < n; i++)
    nb_signal_conn_check_alive (conns[i], now);
  return G_SOURCE_CONTINUE;
}

static void
nb_signal_server_init (NbSignalServer *self)
{
  self->key = nb_key_generate ();
  self->rate_per_second = NB_SIGNAL_SERVER_DEFAULT_RATE_LIMIT;
  self->rate_burst = NB_SIGNAL_SERVER_DEFAULT_RATE_BURST;
  self->conns = g_hash_table_new_full (NULL, NULL, (GDestroyNotify) nb_signal_conn_free, NULL);
  self->peers = g_hash_table_new (g_str_hash, g_str_equal);
  self->corked = g_ptr_array_new ();
  self->services = g_ptr_array_new ();
}

/**
 * nb_signal_server_new:
 *
 * Makes a server; it serves once nb_signal_server_listen() is called.
 *
 * Returns: (transfer full): a new #NbSignalServer
 */
NbSignalServer *
nb_signal_server_new (void)
{
  return g_object_new (NB_TYPE_SIGNAL_SERVER, NULL);
}

/**
 * nb_signal_server_set_tls_files:
 * @self: a #NbSignalServer
 * @cert_file: a PEM file with the certificate (and its chain)
 * @key_file: a PEM file with the certificate's private key
 * @error: return location for a #GError
 *
 * Serves over TLS (`wss://`) from the next nb_signal_server_listen() on.
 *
 * Returns: %TRUE when the certificate and key were loaded, %FALSE with
 *   @error set
 */
gboolean
nb_signal_server_set_tls_files (NbSignalServer  *self,
                                const char      *cert_file,
                                const char      *key_file,
                                GError         **error)
{
  g_autoptr(GError) local_error = NULL;
  GTlsCertificate *certificate;

  g_return_val_if_fail (NB_IS_SIGNAL_SERVER (self), FALSE);
  g_return_val_if_fail (cert_file != NULL && key_file != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  certificate = g_tls_certificate_new_from_files (cert_file, key_file, &local_error);
  if (certificate == NULL)
    {
      g_set_error (error, NB_SIGNAL_SERVER_ERROR, NB_SIGNAL_SERVER_ERROR_TLS,
                   "Cannot load the TLS certificate %s and key %s: %s", cert_file, key_file,
                   local_error->message);
      return FALSE;
    }
  g_clear_object (&self->tls_certificate);
  self->tls_certificate = certificate;
  return TRUE;
}

/**
 * nb_signal_server_set_rate_limit:
 * @self: a #NbSignalServer
 * @per_second: frames a second one connection may send, at least 1
 * @burst: frames one connection may send at once, at least 1
 *
 * Sets the rate limit of connections accepted from now on (defaults:
 * %NB_SIGNAL_SERVER_DEFAULT_RATE_LIMIT and
 * %NB_SIGNAL_SERVER_DEFAULT_RATE_BURST). Frames over it are dropped and
 * counted; a connection that keeps sending at more than twice its rate
 * for seconds is closed.
 */
void
nb_signal_server_set_rate_limit (NbSignalServer *self,
                                 guint           per_second,
                                 guint           burst)
{
  g_return_if_fail (NB_IS_SIGNAL_SERVER (self));
  g_return_if_fail (per_second > 0 && burst > 0);

  self->rate_per_second = per_second;
  self->rate_burst = burst;
}

/**
 * nb_signal_server_set_connection_limits:
 * @self: a #NbSignalServer
 * @max_connections: the most connections open at once, or 0 for the
 *   default (the descriptor limit less a reserve)
 * @max_per_address: the most connections open at once from one
 *   address, or 0 for the default (three quarters of the global cap: many
 *   peers can sit behind one NAT)
 *
 * Sets the connection caps. Connections past a cap are accepted and
 * refused at once. Takes effect at the next nb_signal_server_listen().
 */
void
nb_signal_server_set_connection_limits (NbSignalServer *self,
                                        guint           max_connections,
                                        guint           max_per_address)
{
  g_return_if_fail (NB_IS_SIGNAL_SERVER (self));

  self->max_connections = max_connections;
  self->max_connections_per_address = max_per_address;
}

/* Only numeric addresses and localhost: listening never waits for DNS. */
static GSocketAddress *
parse_listen_address (const char  *address,
                      GError     **error)
{
  g_autoptr(GSocketConnectable) connectable = NULL;
  g_autoptr(GInetAddress) inet = NULL;
  const char *host;

  connectable = g_network_address_parse (address, NB_SIGNAL_SERVER_DEFAULT_PORT, NULL);
  if (connectable != NULL)
    {
      host = g_network_address_get_hostname (G_NETWORK_ADDRESS (connectable));
      inet = g_inet_address_new_from_string (host);
      if (inet == NULL && g_ascii_strcasecmp (host, "localhost") == 0)
        inet = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
    }
  if (inet == NULL)
    {
      g_set_error (error, NB_SIGNAL_SERVER_ERROR, NB_SIGNAL_SERVER_ERROR_LISTEN,
                   "“%s” is not an address to listen on: give HOST:PORT with a numeric host, "
                   "like 127.0.0.1:10000 or [::]:10000", address);
      return NULL;
    }
  return g_inet_socket_address_new (inet,
                                    g_network_address_get_port (G_NETWORK_ADDRESS (connectable)));
}

/* Listens on @address with @service; returns the address it listens on as
 * HOST:PORT. */
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
      g_set_error (error, NB_SIGNAL_SERVER_ERROR, NB_SIGNAL_SERVER_ERROR_LISTEN,
                   "Cannot listen on %s: %s", address, local_error->message);
      return NULL;
    }
  local = G_INET_SOCKET_ADDRESS (nb_service_get_local_address (service));
  host = g_inet_address_to_string (g_inet_socket_address_get_address (local));
  *port = g_inet_socket_address_get_port (local);
  return g_strdup_printf ("%s%s%s:%u", strchr (host, ':') ? "[" : "", host,
                          strchr (host, ':') ? "]" : "", *port);
}

/**
 * nb_signal_server_listen:
 * @self: a #NbSignalServer
 * @address: (nullable): where to listen, as `HOST:PORT` (`[::1]:10000` for
 *   IPv6; port 0 picks a free port), or %NULL for `0.0.0.0:10000`
 * @error: return location for a #GError
 *
 * Starts serving peers on @address, over TLS when a certificate was set.
 *
 * Returns: %TRUE once listening, %FALSE with @error set
 */
gboolean
nb_signal_server_listen (NbSignalServer  *self,
                         const char      *address,
                         GError         **error)
{
  g_autoptr(SoupServer) soup = NULL;
  g_autoptr(NbService) service = NULL;
  NbServiceLimits limits;
  guint16 port = 0;
  char *text;

  g_return_val_if_fail (NB_IS_SIGNAL_SERVER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->service != NULL)
    {
      g_set_error (error, NB_SIGNAL_SERVER_ERROR, NB_SIGNAL_SERVER_ERROR_LISTEN,
                   "The server already listens on %s", self->listen_address);
      return FALSE;
    }
  if (address == NULL)
    address = "0.0.0.0:10000";

  /* Caps from the descriptor limit. A peer has the authentication timeout
   * for each step: TLS, the upgrade request, then proving its key (a
   * Signal connection carries no other request). Its send queue holds
   * about a hundred frames before a peer that stopped reading is closed
   * (a queue's memory is per connection, and there are many). */
  limits = (NbServiceLimits) { 0 };
  limits.tls_timeout_ms = self->auth_timeout_ms;
  limits.header_timeout_ms = self->auth_timeout_ms;
  limits.websocket_auth_timeout_ms = self->auth_timeout_ms;
  limits.max_connections = self->max_connections;
  limits.max_connections_per_address = self->max_connections_per_address;
  limits.max_body_size = 64 * 1024;
  limits.channel_max_queued = 128 * NB_SIGNAL_PROTO_MAX_FRAME_SIZE;
  nb_service_limits_complete (&limits);

  soup = g_object_new (SOUP_TYPE_SERVER,
                       "server-header", "netbird-signal/" NB_VERSION_STRING " ", NULL);
  soup_server_add_websocket_handler (soup, NB_SIGNAL_PATH, NULL, NULL, on_websocket, self, NULL);
  service = nb_service_new ("signal", soup, self->tls_certificate, &limits);
  text = listen_service (service, address, &port, error);
  if (text == NULL)
    return FALSE;

  self->service = g_steal_pointer (&service);
  g_ptr_array_insert (self->services, 0, self->service);
  self->sweep_source = g_timeout_add_seconds (self->keepalive_seconds, on_sweep, self);
  self->listen_address = text;
  self->port = port;
  g_info ("Signal listening on %s://%s%s", self->tls_certificate != NULL ? "wss" : "ws",
          self->listen_address, NB_SIGNAL_PATH);
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
  NbSignalServer *self = user_data;
  g_autofree char *text = NULL;
  gsize len;

  if (soup_server_message_get_method (msg) != SOUP_METHOD_GET)
    {
      soup_server_message_set_status (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, NULL);
      return;
    }
  text = nb_signal_server_dup_metrics (self);
  len = strlen (text);
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "text/plain; version=0.0.4; charset=utf-8",
                                    SOUP_MEMORY_TAKE, g_steal_pointer (&text), len);
}

/**
 * nb_signal_server_listen_metrics:
 * @self: a #NbSignalServer
 * @address: where to serve `GET /metrics`, as `HOST:PORT`
 * @error: return location for a #GError
 *
 * Serves the server's counters in Prometheus' text format (plain HTTP):
 * connections, registered peers, registrations, messages forwarded and
 * undeliverable, frames dropped and connections closed, each by reason.
 *
 * Returns: %TRUE once listening, %FALSE with @error set
 */
gboolean
nb_signal_server_listen_metrics (NbSignalServer  *self,
                                 const char      *address,
                                 GError         **error)
{
  g_autoptr(SoupServer) soup = NULL;
  g_autoptr(NbService) service = NULL;
  NbServiceLimits limits = { .max_connections = 64, .max_connections_per_address = 16 };
  guint16 port = 0;
  char *text;

  g_return_val_if_fail (NB_IS_SIGNAL_SERVER (self), FALSE);
  g_return_val_if_fail (address != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->metrics_service != NULL)
    {
      g_set_error (error, NB_SIGNAL_SERVER_ERROR, NB_SIGNAL_SERVER_ERROR_LISTEN,
                   "The server already serves metrics on %s", self->metrics_address);
      return FALSE;
    }
  soup = g_object_new (SOUP_TYPE_SERVER,
                       "server-header", "netbird-signal/" NB_VERSION_STRING " ", NULL);
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
 * nb_signal_server_stop:
 * @self: a #NbSignalServer
 *
 * Closes every connection (going away: the clients reconnect) and stops
 * listening, metrics included. The server can listen again afterwards.
 */
void
nb_signal_server_stop (NbSignalServer *self)
{
  g_return_if_fail (NB_IS_SIGNAL_SERVER (self));

  if (self->conns != NULL)
    {
      GHashTableIter iter;
      gpointer conn;

      g_hash_table_iter_init (&iter, self->conns);
      while (g_hash_table_iter_next (&iter, &conn, NULL))
        self->counters.closed[NB_SIGNAL_CLOSED_SHUTDOWN]++;
      g_hash_table_remove_all (self->conns);
    }
  g_clear_handle_id (&self->uncork_source, g_source_remove);
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
 * nb_signal_server_get_listen_address:
 * @self: a #NbSignalServer
 *
 * Returns: (nullable): the address the server listens on, as HOST:PORT
 */
const char *
nb_signal_server_get_listen_address (NbSignalServer *self)
{
  g_return_val_if_fail (NB_IS_SIGNAL_SERVER (self), NULL);
  return self->listen_address;
}

/**
 * nb_signal_server_get_metrics_address:
 * @self: a #NbSignalServer
 *
 * Returns: (nullable): the address the metrics are served on, as HOST:PORT
 */
const char *
nb_signal_server_get_metrics_address (NbSignalServer *self)
{
  g_return_val_if_fail (NB_IS_SIGNAL_SERVER (self), NULL);
  return self->metrics_address;
}

/**
 * nb_signal_server_get_port:
 * @self: a #NbSignalServer
 *
 * Returns: the port the server listens on, 0 before it listens
 */
guint16
nb_signal_server_get_port (NbSignalServer *self)
{
  g_return_val_if_fail (NB_IS_SIGNAL_SERVER (self), 0);
  return self->port;
}

/**
 * nb_signal_server_get_n_connections:
 * @self: a #NbSignalServer
 *
 * Returns: the open connections, registered or not
 */
guint
nb_signal_server_get_n_connections (NbSignalServer *self)
{
  g_return_val_if_fail (NB_IS_SIGNAL_SERVER (self), 0);
  return g_hash_table_size (self->conns);
}

/**
 * nb_signal_server_get_n_peers:
 * @self: a #NbSignalServer
 *
 * Returns: the peers registered (with a proven key) now
 */
guint
nb_signal_server_get_n_peers (NbSignalServer *self)
{
  g_return_val_if_fail (NB_IS_SIGNAL_SERVER (self), 0);
  return g_hash_table_size (self->peers);
}

/**
 * nb_signal_server_dup_metrics:
 * @self: a #NbSignalServer
 *
 * The counters nb_signal_server_listen_metrics() serves.
 *
 * Returns: (transfer full): the server's metrics in Prometheus' text format
 */
char *
nb_signal_server_dup_metrics (NbSignalServer *self)
{
  GString *out;

  g_return_val_if_fail (NB_IS_SIGNAL_SERVER (self), NULL);

  out = g_string_new (NULL);
  nb_signal_server_write_metrics (self, out);
  return g_string_free (out, FALSE);
}
