/* nb-signal-server.c: an embeddable Signal server
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-signal"

#include <string.h>

#include "nb-signal-server-private.h"

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
   * Milliseconds a new connection has to prove its key before it is
   * closed; applies to connections accepted after it is set.
   */
  properties[PROP_AUTH_TIMEOUT] =
    g_param_spec_uint ("auth-timeout", NULL, NULL, 1, 600 * 1000,
                       NB_SIGNAL_SERVER_DEFAULT_AUTH_TIMEOUT_MS,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
nb_signal_server_init (NbSignalServer *self)
{
  self->key = nb_key_generate ();
  self->rate_per_second = NB_SIGNAL_SERVER_DEFAULT_RATE_LIMIT;
  self->rate_burst = NB_SIGNAL_SERVER_DEFAULT_RATE_BURST;
  self->conns = g_hash_table_new_full (NULL, NULL, (GDestroyNotify) nb_signal_conn_free, NULL);
  self->peers = g_hash_table_new (g_str_hash, g_str_equal);
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

/* Listens on @address with @soup; returns the address it listens on as
 * HOST:PORT. */
static char *
listen_soup (SoupServer   *soup,
             const char   *address,
             gboolean      tls,
             guint16      *port,
             GError      **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GSocketAddress) socket_address = parse_listen_address (address, error);
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSList) uris = NULL;
  GUri *uri;
  char *text;

  if (socket_address == NULL)
    return NULL;

  socket = g_socket_new (g_socket_address_get_family (socket_address), G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_TCP, &local_error);
  if (socket != NULL)
    {
      /* Non-blocking as libsoup's own listener: with a blocking one,
       * connections the peer closed were never noticed (CLOSE-WAIT). */
      g_socket_set_blocking (socket, FALSE);
      g_socket_set_listen_backlog (socket, LISTEN_BACKLOG);
      if (!g_socket_bind (socket, socket_address, TRUE, &local_error) ||
          !g_socket_listen (socket, &local_error) ||
          !soup_server_listen_socket (soup, socket, tls ? SOUP_SERVER_LISTEN_HTTPS : 0,
                                      &local_error))
        g_clear_object (&socket);
    }
  if (socket == NULL)
    {
      g_set_error (error, NB_SIGNAL_SERVER_ERROR, NB_SIGNAL_SERVER_ERROR_LISTEN,
                   "Cannot listen on %s: %s", address, local_error->message);
      return NULL;
    }

  uris = soup_server_get_uris (soup);
  uri = uris->data;
  *port = (guint16) g_uri_get_port (uri);
  text = g_strdup_printf ("%s%s%s:%u", strchr (g_uri_get_host (uri), ':') ? "[" : "",
                          g_uri_get_host (uri), strchr (g_uri_get_host (uri), ':') ? "]" : "",
                          *port);
  g_slist_free_full (g_steal_pointer (&uris), (GDestroyNotify) g_uri_unref);
  return text;
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
  guint16 port = 0;
  char *text;

  g_return_val_if_fail (NB_IS_SIGNAL_SERVER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->soup != NULL)
    {
      g_set_error (error, NB_SIGNAL_SERVER_ERROR, NB_SIGNAL_SERVER_ERROR_LISTEN,
                   "The server already listens on %s", self->listen_address);
      return FALSE;
    }
  if (address == NULL)
    address = "0.0.0.0:10000";

  soup = soup_server_new ("tls-certificate", self->tls_certificate, NULL);
  soup_server_add_websocket_handler (soup, NB_SIGNAL_PATH, NULL, NULL, on_websocket, self, NULL);
  text = listen_soup (soup, address, self->tls_certificate != NULL, &port, error);
  if (text == NULL)
    return FALSE;

  self->soup = g_steal_pointer (&soup);
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
  guint16 port = 0;
  char *text;

  g_return_val_if_fail (NB_IS_SIGNAL_SERVER (self), FALSE);
  g_return_val_if_fail (address != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->metrics_soup != NULL)
    {
      g_set_error (error, NB_SIGNAL_SERVER_ERROR, NB_SIGNAL_SERVER_ERROR_LISTEN,
                   "The server already serves metrics on %s", self->metrics_address);
      return FALSE;
    }
  soup = soup_server_new (NULL, NULL);
  soup_server_add_handler (soup, "/metrics", on_metrics, self, NULL);
  text = listen_soup (soup, address, FALSE, &port, error);
  if (text == NULL)
    return FALSE;
  self->metrics_soup = g_steal_pointer (&soup);
  self->metrics_address = text;
  return TRUE;
}

/**
 * nb_signal_server_stop:
 * @self: a #NbSignalServer
 *
 * Closes every connection (going away: the clients reconnect) and stops
 * listening. The server can listen again afterwards.
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
  if (self->soup != NULL)
    {
      soup_server_disconnect (self->soup);
      g_clear_object (&self->soup);
    }
  if (self->metrics_soup != NULL)
    {
      soup_server_disconnect (self->metrics_soup);
      g_clear_object (&self->metrics_soup);
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
