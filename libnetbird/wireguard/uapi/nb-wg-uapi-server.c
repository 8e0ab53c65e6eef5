/* nb-wg-uapi-server.c: the configuration protocol on a UNIX socket
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * wg(8) finds userspace devices by their socket, /var/run/wireguard/NAME.sock,
 * connects, writes "get=1\n\n" or "set=1\n" and lines ending with an empty
 * one, and reads lines back ending with "errno=N\n\n". Clients are served on
 * the main context, each read and write asynchronous, so a slow or stuck
 * client never holds up the others or the device.
 */
#define G_LOG_DOMAIN "netbird-wg-uapi"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <gio/gunixsocketaddress.h>

#include "nb-tun-private.h"
#include "nb-wg-device-private.h"
#include "nb-wg-uapi-private.h"
#include "nb-text-private.h"

#define UAPI_DIR "/var/run/wireguard"
/* A "set" for thousands of peers is a few MiB; anything past this is not a
 * client of the protocol. */
#define MAX_REQUEST (16 * 1024 * 1024)
#define READ_CHUNK 65536

/**
 * NbWgUapiServer:
 *
 * Serves the cross-platform configuration protocol of WireGuard
 * (https://www.wireguard.com/xplatform/) for a #NbWgDevice on a UNIX
 * socket, so that the `wg` tool configures and shows the device as it does
 * a kernel or wireguard-go one:
 *
 * ```sh
 * wg set wg0 private-key ./key listen-port 51820 peer ABC...= allowed-ips 100.64.0.2/32
 * wg show wg0
 * ```
 *
 * The socket is `/var/run/wireguard/IFNAME.sock` (directory 0755, socket
 * 0600), served on the thread-default main context of the caller of
 * nb_wg_uapi_server_new() for as many clients as connect. The server
 * removes the socket when closed or finalised.
 *
 * Besides `get=1` and `set=1` it answers one operation of its own,
 * `stats=1` (framed as `get=1`): the packet path's counters, one
 * `name=value` line each (`rx_drop_malformed`, `rx_drop_replay`,
 * `tx_cookie_replies`, `under_load`...), for operators and tests; with a
 * TUN also the offloaded frames read from it (`tun_rx_tso_frames`,
 * `tun_rx_uso_frames`, and `tun_uso`: whether the kernel gives UDP ones),
 * which show that segmentation offload is used. wg(8)
 * never sends it; wireguard-go hangs up on it.
 */
struct _NbWgUapiServer
{
  GObject parent_instance;

  NbWgDevice *device;
  GSocketService *service;
  char *path;
  GCancellable *cancellable;
};

G_DEFINE_TYPE (NbWgUapiServer, nb_wg_uapi_server, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_DEVICE,
  PROP_PATH,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

typedef struct
{
  NbWgUapiServer *server;       /* weak: the server outlives no client state */
  GSocketConnection *connection;
  GCancellable *cancellable;
  GString *buffer;
  guint8 chunk[READ_CHUNK];
  gboolean eof;
  gboolean writing;
} Client;

static void client_read (Client *client);

static void
client_free (Client *client)
{
  g_clear_object (&client->connection);
  g_clear_object (&client->cancellable);
  if (client->buffer != NULL)
    {
      /* It may hold keys. */
      memset (client->buffer->str, 0, client->buffer->allocated_len);
      g_string_free (client->buffer, TRUE);
    }
  if (client->server != NULL)
    g_object_remove_weak_pointer (G_OBJECT (client->server), (gpointer *) &client->server);
  g_free (client);
}

static void
client_close (Client *client)
{
  g_io_stream_close (G_IO_STREAM (client->connection), NULL, NULL);
  client_free (client);
}

static void
on_reply_written (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  Client *client = user_data;
  g_autoptr(GError) error = NULL;

  client->writing = FALSE;
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      g_debug ("UAPI client went away while answered: %s", error->message);
      client_close (client);
      return;
    }
  /* More requests may be waiting in the buffer or on the socket. */
  client_read (client);
}

static void
client_reply (Client  *client,
              GString *reply)
{
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (client->connection));
  gsize len = reply->len;
  gpointer data = g_string_free (reply, FALSE);
  GBytes *bytes = g_bytes_new_take (data, len);

  client->writing = TRUE;
  /* The bytes stay alive with the task; the data may hold a private key. */
  g_object_set_data_full (G_OBJECT (client->connection), "nb-uapi-reply", bytes,
                          (GDestroyNotify) g_bytes_unref);
  g_output_stream_write_all_async (out, data, len, G_PRIORITY_DEFAULT, client->cancellable,
                                   on_reply_written, client);
}

static void
append_errno (GString *reply,
              GError  *error)
{
  g_string_append_printf (reply, "errno=%d\n\n", error ? nb_wg_uapi_error_to_errno (error) : 0);
}

static const struct {
  NbWgCounter counter;
  const char *name;
} counter_names[] = {
  { NB_WG_COUNTER_RX_DATAGRAMS, "rx_datagrams" },
  { NB_WG_COUNTER_RX_DATA_PACKETS, "rx_data_packets" },
  { NB_WG_COUNTER_RX_KEEPALIVES, "rx_keepalives" },
  { NB_WG_COUNTER_RX_DROP_MALFORMED, "rx_drop_malformed" },
  { NB_WG_COUNTER_RX_DROP_UNKNOWN_INDEX, "rx_drop_unknown_index" },
  { NB_WG_COUNTER_RX_DROP_DECRYPT, "rx_drop_decrypt" },
  { NB_WG_COUNTER_RX_DROP_REPLAY, "rx_drop_replay" },
  { NB_WG_COUNTER_RX_DROP_EXPIRED_KEY, "rx_drop_expired_key" },
  { NB_WG_COUNTER_RX_DROP_ALLOWED_IPS, "rx_drop_allowed_ips" },
  { NB_WG_COUNTER_RX_DROP_INNER_MALFORMED, "rx_drop_inner_malformed" },
  { NB_WG_COUNTER_RX_DROP_MAC1, "rx_drop_mac1" },
  { NB_WG_COUNTER_RX_DROP_HANDSHAKE, "rx_drop_handshake" },
  { NB_WG_COUNTER_RX_HANDSHAKE_INITIATIONS, "rx_handshake_initiations" },
  { NB_WG_COUNTER_RX_HANDSHAKE_RESPONSES, "rx_handshake_responses" },
  { NB_WG_COUNTER_RX_COOKIE_REPLIES, "rx_cookie_replies" },
  { NB_WG_COUNTER_TX_COOKIE_REPLIES, "tx_cookie_replies" },
  { NB_WG_COUNTER_TX_HANDSHAKE_INITIATIONS, "tx_handshake_initiations" },
  { NB_WG_COUNTER_TX_DATA_PACKETS, "tx_data_packets" },
  { NB_WG_COUNTER_TX_DROP_NO_PEER, "tx_drop_no_peer" },
  { NB_WG_COUNTER_TX_DROP_NO_ENDPOINT, "tx_drop_no_endpoint" },
  { NB_WG_COUNTER_TX_DROP_STAGED, "tx_drop_staged" },
  { NB_WG_COUNTER_TX_ERRORS, "tx_errors" },
  { NB_WG_COUNTER_RX_DROP_RATELIMITED, "rx_drop_ratelimited" },
  { NB_WG_COUNTER_CRYPT_OFFLOADED, "crypt_offloaded" },
  { NB_WG_COUNTER_TX_ICMP_UNREACHABLE, "tx_icmp_unreachable" },
  { NB_WG_COUNTER_RX_DROP_WRONG_PEER, "rx_drop_wrong_peer" },
  { NB_WG_COUNTER_RX_DROP_FILTER, "rx_drop_filter" },
  { NB_WG_COUNTER_TX_DROP_FILTER, "tx_drop_filter" },
};

static void
append_statistics (GString    *reply,
                   NbWgDevice *device)
{
  NbTun *tun;
  NbFilter *filter;

  for (guint i = 0; i < G_N_ELEMENTS (counter_names); i++)
    g_string_append_printf (reply, "%s=%" G_GUINT64_FORMAT "\n", counter_names[i].name,
                            nb_wg_device_get_counter (device, counter_names[i].counter));
  g_string_append_printf (reply, "under_load=%s\n",
                          nb_wg_device_get_under_load (device) ? "true" : "false");
  /* The packet filter, once configured: its mode, rules, connection table
   * and what it let in and dropped, by reason. */
  filter = nb_wg_device_get_filter (device);
  if (filter != NULL)
    {
      NbFilterConntrack *conntrack = nb_filter_get_conntrack (filter);

      g_string_append_printf (reply,
                              "filter_mode=%s\n"
                              "filter_rules=%" G_GSIZE_FORMAT "\n"
                              "filter_conntrack_entries=%u\n"
                              "filter_conntrack_created=%" G_GUINT64_FORMAT "\n"
                              "filter_conntrack_evicted=%" G_GUINT64_FORMAT "\n",
                              nb_filter_mode_to_string (nb_filter_get_mode (filter)),
                              nb_filter_get_n_rules (filter),
                              nb_filter_conntrack_count_live (conntrack, g_get_monotonic_time ()),
                              nb_filter_conntrack_get_counter (conntrack,
                                                               NB_FILTER_CONNTRACK_CREATED),
                              nb_filter_conntrack_get_counter (conntrack,
                                                               NB_FILTER_CONNTRACK_EVICTED));
      for (guint i = 0; i < NB_FILTER_N_COUNTERS; i++)
        g_string_append_printf (reply, "%s=%" G_GUINT64_FORMAT "\n", nb_filter_counter_name (i),
                                nb_filter_get_counter (filter, i));
    }
  tun = nb_wg_device_get_tun (device);
  if (tun != NULL)
    g_string_append_printf (reply,
                            "tun_uso=%s\n"
                            "tun_rx_tso_frames=%" G_GUINT64_FORMAT "\n"
                            "tun_rx_uso_frames=%" G_GUINT64_FORMAT "\n",
                            nb_tun_has_uso (tun) ? "true" : "false",
                            nb_tun_get_counter (tun, NB_TUN_COUNTER_RX_TSO_FRAMES),
                            nb_tun_get_counter (tun, NB_TUN_COUNTER_RX_USO_FRAMES));
}

/* Handles one complete request at the start of the buffer, if there is
 * one. Returns TRUE if it did (and a reply is being written), FALSE if more
 * bytes are needed. Closes the client (and returns TRUE) on a request that
 * is not of the protocol. */
static gboolean
client_handle_request (Client *client)
{
  GString *buf = client->buffer;
  const char *nl = memchr (buf->str, '\n', buf->len);
  const char *end;
  gsize consumed;

  if (nl == NULL)
    {
      if (client->eof && buf->len > 0)
        {
          g_debug ("UAPI client sent an unterminated operation line");
          client_close (client);
          return TRUE;
        }
      return FALSE;
    }

  if (nl - buf->str == 5 && memcmp (buf->str, "get=1", 5) == 0)
    {
      g_autoptr(GError) error = NULL;
      GString *reply;

      if ((gsize) (nl - buf->str) + 1 >= buf->len)
        {
          if (client->eof)
            {
              client_close (client);
              return TRUE;
            }
          return FALSE;
        }
      reply = g_string_new (NULL);
      if (nl[1] != '\n')
        g_set_error (&error, NB_WG_UAPI_ERROR, NB_WG_UAPI_ERROR_INVALID,
                     "trailing character after get=1");
      else
        {
          char *text = nb_wg_uapi_get_config (client->server->device);

          g_string_append (reply, text);
          memset (text, 0, strlen (text));
          g_free (text);
        }
      append_errno (reply, error);
      /* get=1 and the empty line (or the one stray byte wireguard-go reads). */
      consumed = (gsize) (nl - buf->str) + 2;
      memset (buf->str, 0, consumed);
      g_string_erase (buf, 0, (gssize) consumed);
      client_reply (client, reply);
      return TRUE;
    }

  if (nl - buf->str == 5 && memcmp (buf->str, "set=1", 5) == 0)
    {
      g_autoptr(GError) error = NULL;
      const char *body = nl + 1;
      gsize body_len = buf->len - (gsize) (body - buf->str);
      GString *reply;

      /* The operation ends with an empty line: "\n\n", or a body that is
       * empty from the start. At the end of the stream, what came is it. */
      if (body_len > 0 && body[0] == '\n')
        end = body;
      else
        {
          end = g_strstr_len (body, (gssize) body_len, "\n\n");
          if (end != NULL)
            end++;
        }
      if (end == NULL)
        {
          if (!client->eof)
            return FALSE;
          end = buf->str + buf->len;
          consumed = buf->len;
        }
      else
        consumed = (gsize) (end - buf->str) + 1;

      if (nb_wg_uapi_apply_config (client->server->device, body, end - body, &error))
        g_signal_emit (client->server, signals[SIGNAL_CHANGED], 0);
      else if (!g_log_writer_default_would_drop (G_LOG_LEVEL_DEBUG, G_LOG_DOMAIN))
        {
          /* The message may quote the configuration line it refused. */
          g_autofree char *reason = nb_text_escape (error->message, -1, NB_TEXT_LOG_MAX);

          g_debug ("UAPI set on %s rejected: %s", client->server->path, reason);
        }

      reply = g_string_new (NULL);
      append_errno (reply, error);
      memset (buf->str, 0, consumed);
      g_string_erase (buf, 0, (gssize) consumed);
      client_reply (client, reply);
      return TRUE;
    }

  /* An extension wg(8) never sends: the packet path's counters, so that
   * tests and operators can see drops. Same framing as get. */
  if (nl - buf->str == 7 && memcmp (buf->str, "stats=1", 7) == 0)
    {
      GString *reply;

      if ((gsize) (nl - buf->str) + 1 >= buf->len)
        {
          if (client->eof)
            {
              client_close (client);
              return TRUE;
            }
          return FALSE;
        }
      reply = g_string_new (NULL);
      append_statistics (reply, client->server->device);
      append_errno (reply, NULL);
      g_string_erase (buf, 0, (gssize) ((nl - buf->str) + 2));
      client_reply (client, reply);
      return TRUE;
    }

  /* wireguard-go hangs up on an unknown operation; so do we. */
  g_debug ("UAPI client sent an unknown operation");
  client_close (client);
  return TRUE;
}

static void
on_client_read (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  Client *client = user_data;
  g_autoptr(GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);

  if (n < 0 || client->server == NULL)
    {
      if (error != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("UAPI client read failed: %s", error->message);
      client_close (client);
      return;
    }
  if (n == 0)
    client->eof = TRUE;
  else
    g_string_append_len (client->buffer, (const char *) client->chunk, n);
  memset (client->chunk, 0, (gsize) MAX (n, 0));

  if (client->buffer->len > MAX_REQUEST)
    {
      g_debug ("UAPI client sent more than %d bytes in one request; hanging up", MAX_REQUEST);
      client_close (client);
      return;
    }
  client_read (client);
}

/* Serves what is buffered, or reads more. */
static void
client_read (Client *client)
{
  GInputStream *in;

  if (client->server == NULL)
    {
      client_close (client);
      return;
    }
  if (client_handle_request (client))
    return;
  if (client->eof)
    {
      client_close (client);
      return;
    }
  in = g_io_stream_get_input_stream (G_IO_STREAM (client->connection));
  g_input_stream_read_async (in, client->chunk, sizeof client->chunk, G_PRIORITY_DEFAULT,
                             client->cancellable, on_client_read, client);
}

static gboolean
on_incoming (GSocketService    *service,
             GSocketConnection *connection,
             GObject           *source_object,
             gpointer           user_data)
{
  NbWgUapiServer *self = user_data;
  Client *client = g_new0 (Client, 1);

  client->server = self;
  g_object_add_weak_pointer (G_OBJECT (self), (gpointer *) &client->server);
  client->connection = g_object_ref (connection);
  client->cancellable = g_object_ref (self->cancellable);
  client->buffer = g_string_sized_new (256);
  client_read (client);
  return TRUE;
}

static void
nb_wg_uapi_server_dispose (GObject *object)
{
  NbWgUapiServer *self = NB_WG_UAPI_SERVER (object);

  nb_wg_uapi_server_close (self);
  g_clear_object (&self->device);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (nb_wg_uapi_server_parent_class)->dispose (object);
}

static void
nb_wg_uapi_server_finalize (GObject *object)
{
  NbWgUapiServer *self = NB_WG_UAPI_SERVER (object);

  g_free (self->path);

  G_OBJECT_CLASS (nb_wg_uapi_server_parent_class)->finalize (object);
}

static void
nb_wg_uapi_server_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  NbWgUapiServer *self = NB_WG_UAPI_SERVER (object);

  switch (prop_id)
    {
    case PROP_DEVICE:
      g_value_set_object (value, self->device);
      break;
    case PROP_PATH:
      g_value_set_string (value, self->path);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
nb_wg_uapi_server_class_init (NbWgUapiServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = nb_wg_uapi_server_dispose;
  object_class->finalize = nb_wg_uapi_server_finalize;
  object_class->get_property = nb_wg_uapi_server_get_property;

  /**
   * NbWgUapiServer:device:
   *
   * The device the socket configures.
   */
  properties[PROP_DEVICE] =
    g_param_spec_object ("device", NULL, NULL, NB_TYPE_WG_DEVICE,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * NbWgUapiServer:path:
   *
   * The path of the UNIX socket.
   */
  properties[PROP_PATH] =
    g_param_spec_string ("path", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * NbWgUapiServer::changed:
   * @self: the server
   *
   * Emitted after a client's "set" operation was applied.
   */
  signals[SIGNAL_CHANGED] =
    g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
nb_wg_uapi_server_init (NbWgUapiServer *self)
{
  self->cancellable = g_cancellable_new ();
}

/* A socket file left by a process that died is removed; one that answers
 * belongs to a running device and is left alone. */
static gboolean
claim_path (const char  *path,
            GError     **error)
{
  g_autoptr(GSocketClient) client = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GSocketConnection) connection = NULL;
  GStatBuf st;

  if (g_lstat (path, &st) != 0)
    return TRUE;
  if (!S_ISSOCK (st.st_mode))
    {
      g_set_error (error, NB_WG_UAPI_ERROR, NB_WG_UAPI_ERROR_SOCKET,
                   "%s exists and is not a socket; remove it", path);
      return FALSE;
    }
  client = g_socket_client_new ();
  address = g_unix_socket_address_new (path);
  connection = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (address), NULL, NULL);
  if (connection != NULL)
    {
      g_set_error (error, NB_WG_UAPI_ERROR, NB_WG_UAPI_ERROR_SOCKET,
                   "%s is in use: another WireGuard device of that name is running", path);
      return FALSE;
    }
  if (g_unlink (path) != 0 && errno != ENOENT)
    {
      int err = errno;

      g_set_error (error, NB_WG_UAPI_ERROR, NB_WG_UAPI_ERROR_SOCKET,
                   "cannot remove the stale socket %s: %s", path, g_strerror (err));
      return FALSE;
    }
  return TRUE;
}

/**
 * nb_wg_uapi_server_new_for_path:
 * @device: the device to configure
 * @path: where to create the UNIX socket
 * @error: return location for a #GError
 *
 * Like nb_wg_uapi_server_new() with a socket at @path (its directory must
 * exist): for tests and for programs that keep their sockets elsewhere.
 *
 * Returns: (transfer full): the server, or %NULL with @error set
 */
NbWgUapiServer *
nb_wg_uapi_server_new_for_path (NbWgDevice  *device,
                                const char  *path,
                                GError     **error)
{
  g_autoptr(NbWgUapiServer) self = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GError) local_error = NULL;
  mode_t old_umask;
  gboolean bound;

  g_return_val_if_fail (NB_IS_WG_DEVICE (device), NULL);
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!claim_path (path, error))
    return NULL;

  socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_DEFAULT, &local_error);
  if (socket == NULL)
    {
      g_set_error (error, NB_WG_UAPI_ERROR, NB_WG_UAPI_ERROR_SOCKET,
                   "cannot create a UNIX socket: %s", local_error->message);
      return NULL;
    }
  address = g_unix_socket_address_new (path);
  /* Created 0600 from the start: the socket hands out the private key. */
  old_umask = umask (0077);
  bound = g_socket_bind (socket, address, FALSE, &local_error);
  umask (old_umask);
  if (!bound || !g_socket_listen (socket, &local_error))
    {
      g_set_error (error, NB_WG_UAPI_ERROR, NB_WG_UAPI_ERROR_SOCKET,
                   "cannot listen on %s: %s", path, local_error->message);
      return NULL;
    }
  g_chmod (path, 0600);

  self = g_object_new (NB_TYPE_WG_UAPI_SERVER, NULL);
  self->device = g_object_ref (device);
  self->path = g_strdup (path);
  self->service = g_socket_service_new ();
  if (!g_socket_listener_add_socket (G_SOCKET_LISTENER (self->service), socket, NULL,
                                     &local_error))
    {
      g_unlink (path);
      g_set_error (error, NB_WG_UAPI_ERROR, NB_WG_UAPI_ERROR_SOCKET,
                   "cannot serve %s: %s", path, local_error->message);
      return NULL;
    }
  g_signal_connect (self->service, "incoming", G_CALLBACK (on_incoming), self);
  g_socket_service_start (self->service);
  g_debug ("UAPI listening on %s", path);
  return g_steal_pointer (&self);
}

/**
 * nb_wg_uapi_server_new:
 * @device: the device to configure
 * @ifname: the interface name, which names the socket
 * @error: return location for a #GError
 *
 * Serves the configuration protocol for @device on
 * `/var/run/wireguard/@ifname.sock`, creating the directory (0755) if
 * needed. A socket left there by a process that is gone is replaced; one
 * that still answers makes this fail with %NB_WG_UAPI_ERROR_SOCKET.
 *
 * Returns: (transfer full): the server, or %NULL with @error set
 */
NbWgUapiServer *
nb_wg_uapi_server_new (NbWgDevice  *device,
                       const char  *ifname,
                       GError     **error)
{
  g_autofree char *path = NULL;

  g_return_val_if_fail (NB_IS_WG_DEVICE (device), NULL);
  g_return_val_if_fail (ifname != NULL, NULL);

  if (ifname[0] == '\0' || strchr (ifname, '/') != NULL || strlen (ifname) > 15)
    {
      g_set_error (error, NB_WG_UAPI_ERROR, NB_WG_UAPI_ERROR_SOCKET,
                   "“%s” is not a valid interface name", ifname);
      return NULL;
    }
  if (!g_file_test (UAPI_DIR, G_FILE_TEST_IS_DIR))
    {
      int err;

      /* 0755 whatever the umask: wg lists the directory as any user. */
      if (g_mkdir_with_parents (UAPI_DIR, 0755) == 0)
        g_chmod (UAPI_DIR, 0755);
      else
        {
          err = errno;
          g_set_error (error, NB_WG_UAPI_ERROR, NB_WG_UAPI_ERROR_SOCKET,
                       "cannot create %s: %s%s", UAPI_DIR, g_strerror (err),
                       err == EACCES ? " (run as root)" : "");
          return NULL;
        }
    }
  path = g_strdup_printf (UAPI_DIR "/%s.sock", ifname);
  return nb_wg_uapi_server_new_for_path (device, path, error);
}

/**
 * nb_wg_uapi_server_check_name:
 * @ifname: an interface name
 * @error: return location for a #GError
 *
 * Checks, before anything is created, that a device named @ifname could
 * serve its socket: the name is valid and no running device answers on
 * `/var/run/wireguard/@ifname.sock`. A daemon calls it first so that a
 * second instance fails before it touches the interface of the first.
 *
 * Returns: %TRUE if the name is free (a stale socket counts as free)
 */
gboolean
nb_wg_uapi_server_check_name (const char  *ifname,
                              GError     **error)
{
  g_autofree char *path = NULL;
  g_autoptr(GSocketClient) client = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GSocketConnection) connection = NULL;

  g_return_val_if_fail (ifname != NULL, FALSE);

  if (ifname[0] == '\0' || strchr (ifname, '/') != NULL || strlen (ifname) > 15)
    {
      g_set_error (error, NB_WG_UAPI_ERROR, NB_WG_UAPI_ERROR_SOCKET,
                   "“%s” is not a valid interface name", ifname);
      return FALSE;
    }
  path = g_strdup_printf (UAPI_DIR "/%s.sock", ifname);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return TRUE;
  client = g_socket_client_new ();
  address = g_unix_socket_address_new (path);
  connection = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (address), NULL, NULL);
  if (connection != NULL)
    {
      g_set_error (error, NB_WG_UAPI_ERROR, NB_WG_UAPI_ERROR_SOCKET,
                   "%s is in use: another WireGuard device of that name is running", path);
      return FALSE;
    }
  return TRUE;
}

/**
 * nb_wg_uapi_server_get_path:
 * @self: a #NbWgUapiServer
 *
 * Returns: the path of the socket
 */
const char *
nb_wg_uapi_server_get_path (NbWgUapiServer *self)
{
  g_return_val_if_fail (NB_IS_WG_UAPI_SERVER (self), NULL);
  return self->path;
}

/**
 * nb_wg_uapi_server_get_device:
 * @self: a #NbWgUapiServer
 *
 * Returns: (transfer none): the device the socket configures
 */
NbWgDevice *
nb_wg_uapi_server_get_device (NbWgUapiServer *self)
{
  g_return_val_if_fail (NB_IS_WG_UAPI_SERVER (self), NULL);
  return self->device;
}

/**
 * nb_wg_uapi_server_close:
 * @self: a #NbWgUapiServer
 *
 * Stops serving, hangs up on the clients and removes the socket. Calling it
 * again does nothing.
 */
void
nb_wg_uapi_server_close (NbWgUapiServer *self)
{
  g_return_if_fail (NB_IS_WG_UAPI_SERVER (self));

  if (self->service == NULL)
    return;
  g_cancellable_cancel (self->cancellable);
  g_socket_service_stop (self->service);
  g_socket_listener_close (G_SOCKET_LISTENER (self->service));
  g_clear_object (&self->service);
  if (self->path != NULL)
    g_unlink (self->path);
}
