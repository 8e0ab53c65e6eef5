/* nb-management-server.c: an embeddable Management server
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-management"

#include <errno.h>
#include <string.h>
#include <glib/gstdio.h>
#include <sodium.h>

#include "nb-mgmt-server-private.h"
#include "nb-mgmt-rest-api.h"
#include "nb-version.h"

/**
 * NbManagementServer:
 *
 * The Management server: it keeps accounts, peers and policies in a SQLite
 * store in its data directory, authenticates peers, hands out addresses and
 * pushes each peer its network map.
 *
 * One HTTP(S) port serves both faces of it:
 *
 * - the client protocol under `/management/v1/`: `GET server-key` (the
 *   server's WireGuard public key), `POST login` (a sealed login request;
 *   the answer is sealed back) and the WebSocket `sync`, on which the server
 *   pushes the peer's sealed network map at once and after every change that
 *   concerns it;
 * - NetBird's REST API under `/api`, authenticated with personal access
 *   tokens.
 *
 * On its first start the server creates an account with an owner, an admin
 * token and a reusable setup key, and writes them once to
 * `initial-credentials.json` (mode 0600) in the data directory. That first
 * start is all or nothing: a start that fails half-way leaves no account
 * behind, and one that dies between storing the account and naming the
 * file is finished by the next start. For credentials lost later,
 * nb_management_server_reset_admin_token() (`netbird-management
 * --reset-admin-token`) makes a new admin token.
 *
 * The data directory is the owner's only (0700, tightened when found
 * wider), and so are the files in it (0600).
 *
 * ```c
 * g_autoptr(NbManagementServer) server = nb_management_server_new (dir, NULL, &error);
 * if (server == NULL || !nb_management_server_listen (server, "127.0.0.1:33073", &error))
 *   g_printerr ("%s\n", error->message);
 * ```
 *
 * The server runs on the thread-default main context of the thread that
 * created it.
 */

#define STORE_FILE "management.db"
#define KEY_FILE "server.key"

static void nb_management_server_initable_iface_init (GInitableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (NbManagementServer, nb_management_server, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE,
                                                      nb_management_server_initable_iface_init))

G_DEFINE_QUARK (nb-management-server-error-quark, nb_management_server_error)

enum {
  PROP_0,
  PROP_DATA_DIR,
  PROP_CONFIG_FILE,
  PROP_PUBLIC_KEY,
  PROP_PORT,
  PROP_LISTEN_ADDRESS,
  PROP_CREDENTIALS_FILE,
  PROP_SIGNAL_URI,
  PROP_STUN_URIS,
  PROP_TURN_URIS,
  PROP_TURN_SECRET,
  PROP_RELAY_URLS,
  PROP_RELAY_SECRET,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static GStrv
strv_of (GPtrArray *array)
{
  GStrv strv = g_new0 (char *, array->len + 1);

  for (guint i = 0; i < array->len; i++)
    strv[i] = g_strdup (g_ptr_array_index (array, i));
  return strv;
}

static void
nb_management_server_dispose (GObject *object)
{
  NbManagementServer *self = NB_MANAGEMENT_SERVER (object);

  nb_management_server_stop (self);
  g_clear_object (&self->metrics_service);
  g_clear_pointer (&self->metrics_services, g_ptr_array_unref);
  g_clear_object (&self->service);
  g_clear_handle_id (&self->ephemeral_source, g_source_remove);
  if (self->store != NULL)
    g_clear_signal_handler (&self->changed_handler, self->store);
  g_clear_object (&self->soup);
  g_clear_object (&self->rest_api);
  g_clear_object (&self->tls_certificate);

  G_OBJECT_CLASS (nb_management_server_parent_class)->dispose (object);
}

static void
nb_management_server_finalize (GObject *object)
{
  NbManagementServer *self = NB_MANAGEMENT_SERVER (object);

  g_clear_pointer (&self->channels, g_hash_table_unref);
  g_clear_pointer (&self->pending_channels, g_hash_table_unref);
  g_clear_pointer (&self->dirty_accounts, g_hash_table_unref);
  g_clear_pointer (&self->collecting_accounts, g_hash_table_unref);
  g_clear_pointer (&self->first_maps, g_hash_table_unref);
  g_clear_object (&self->collect_cancellable);
  g_clear_pointer (&self->account_channels, g_hash_table_unref);
  g_clear_pointer (&self->login_replay, nb_mgmt_login_replay_free);
  g_clear_object (&self->store);
  g_clear_object (&self->key);
  g_clear_pointer (&self->config, nb_mgmt_server_config_free);
  g_string_free (self->scratch, TRUE);
  g_free (self->data_dir);
  g_free (self->config_file);
  g_free (self->signal_uri);
  g_strfreev (self->stun_uris);
  g_strfreev (self->turn_uris);
  if (self->turn_secret != NULL)
    sodium_memzero (self->turn_secret, strlen (self->turn_secret));
  g_free (self->turn_secret);
  g_strfreev (self->relay_urls);
  if (self->relay_secret != NULL)
    sodium_memzero (self->relay_secret, strlen (self->relay_secret));
  g_free (self->relay_secret);
  g_free (self->listen_address);
  g_free (self->credentials_file);

  G_OBJECT_CLASS (nb_management_server_parent_class)->finalize (object);
}

static void
nb_management_server_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  NbManagementServer *self = NB_MANAGEMENT_SERVER (object);

  switch (prop_id)
    {
    case PROP_DATA_DIR:
      g_value_set_string (value, self->data_dir);
      break;
    case PROP_CONFIG_FILE:
      g_value_set_string (value, self->config_file);
      break;
    case PROP_PUBLIC_KEY:
      g_value_set_object (value, self->key);
      break;
    case PROP_PORT:
      g_value_set_uint (value, self->port);
      break;
    case PROP_LISTEN_ADDRESS:
      g_value_set_string (value, self->listen_address);
      break;
    case PROP_CREDENTIALS_FILE:
      g_value_set_string (value, self->credentials_file);
      break;
    case PROP_SIGNAL_URI:
      g_value_set_string (value, self->config != NULL ? self->config->signal_uri
                                                      : self->signal_uri);
      break;
    case PROP_STUN_URIS:
      if (self->config != NULL)
        g_value_take_boxed (value, strv_of (self->config->stun_uris));
      else
        g_value_set_boxed (value, self->stun_uris);
      break;
    case PROP_TURN_URIS:
      if (self->config != NULL)
        g_value_take_boxed (value, strv_of (self->config->turn_uris));
      else
        g_value_set_boxed (value, self->turn_uris);
      break;
    case PROP_RELAY_URLS:
      if (self->config != NULL)
        g_value_take_boxed (value, strv_of (self->config->relay_urls));
      else
        g_value_set_boxed (value, self->relay_urls);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
nb_management_server_set_property (GObject      *object,
                                   guint         prop_id,
                                   const GValue *value,
                                   GParamSpec   *pspec)
{
  NbManagementServer *self = NB_MANAGEMENT_SERVER (object);

  switch (prop_id)
    {
    case PROP_DATA_DIR:
      g_free (self->data_dir);
      self->data_dir = g_value_dup_string (value);
      break;
    case PROP_CONFIG_FILE:
      g_free (self->config_file);
      self->config_file = g_value_dup_string (value);
      break;
    case PROP_SIGNAL_URI:
      g_free (self->signal_uri);
      self->signal_uri = g_value_dup_string (value);
      break;
    case PROP_STUN_URIS:
      g_strfreev (self->stun_uris);
      self->stun_uris = g_value_dup_boxed (value);
      break;
    case PROP_TURN_URIS:
      g_strfreev (self->turn_uris);
      self->turn_uris = g_value_dup_boxed (value);
      break;
    case PROP_TURN_SECRET:
      if (self->turn_secret != NULL)
        sodium_memzero (self->turn_secret, strlen (self->turn_secret));
      g_free (self->turn_secret);
      self->turn_secret = g_value_dup_string (value);
      break;
    case PROP_RELAY_URLS:
      g_strfreev (self->relay_urls);
      self->relay_urls = g_value_dup_boxed (value);
      break;
    case PROP_RELAY_SECRET:
      if (self->relay_secret != NULL)
        sodium_memzero (self->relay_secret, strlen (self->relay_secret));
      g_free (self->relay_secret);
      self->relay_secret = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
nb_management_server_class_init (NbManagementServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = nb_management_server_dispose;
  object_class->finalize = nb_management_server_finalize;
  object_class->get_property = nb_management_server_get_property;
  object_class->set_property = nb_management_server_set_property;

  /**
   * NbManagementServer:data-dir:
   *
   * The folder holding the store, the server key and the initial
   * credentials. Created (mode 0700) if missing. When %NULL, the
   * configuration file's `data_dir` is used.
   */
  properties[PROP_DATA_DIR] =
    g_param_spec_string ("data-dir", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * NbManagementServer:config-file:
   *
   * A JSON configuration file (TLS certificate, DNS domain, Signal, Relay,
   * STUN and TURN addresses and secrets, bootstrap credentials), or %NULL.
   */
  properties[PROP_CONFIG_FILE] =
    g_param_spec_string ("config-file", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * NbManagementServer:public-key:
   *
   * The server's WireGuard public key, which peers seal their messages to.
   */
  properties[PROP_PUBLIC_KEY] =
    g_param_spec_object ("public-key", NULL, NULL, NB_TYPE_KEY,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * NbManagementServer:port:
   *
   * The port the server listens on, 0 before it listens.
   */
  properties[PROP_PORT] =
    g_param_spec_uint ("port", NULL, NULL, 0, G_MAXUINT16, 0,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * NbManagementServer:listen-address:
   *
   * The address the server listens on, as HOST:PORT, or %NULL.
   */
  properties[PROP_LISTEN_ADDRESS] =
    g_param_spec_string ("listen-address", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * NbManagementServer:credentials-file:
   *
   * The initial credentials file this start wrote, or %NULL when the
   * account already existed.
   */
  properties[PROP_CREDENTIALS_FILE] =
    g_param_spec_string ("credentials-file", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * NbManagementServer:signal-uri:
   *
   * The Signal server peers are sent to (`https://HOST:PORT`, `http:`,
   * `wss:` or `ws:`), over the configuration file's `signal.uri`; %NULL
   * keeps the file's. Read back, the one in use.
   */
  properties[PROP_SIGNAL_URI] =
    g_param_spec_string ("signal-uri", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * NbManagementServer:stun-uris:
   *
   * STUN servers (`stun:HOST[:PORT]`) handed to peers, replacing the
   * configuration file's `stuns`; %NULL or empty keeps the file's. Read
   * back, the ones in use.
   */
  properties[PROP_STUN_URIS] =
    g_param_spec_boxed ("stun-uris", NULL, NULL, G_TYPE_STRV,
                        G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * NbManagementServer:turn-uris:
   *
   * TURN servers (`turn:HOST[:PORT][?transport=udp|tcp]`,
   * `turns:HOST[:PORT]`) handed to peers with time-limited credentials,
   * replacing the configuration file's `turn.uris`; %NULL or empty keeps
   * the file's. They need a secret (#NbManagementServer:turn-secret or the
   * file's `turn.secret`). Read back, the ones in use.
   */
  properties[PROP_TURN_URIS] =
    g_param_spec_boxed ("turn-uris", NULL, NULL, G_TYPE_STRV,
                        G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * NbManagementServer:turn-secret:
   *
   * The secret shared with the TURN servers (coturn's
   * `static-auth-secret`) that peers' TURN credentials are made with,
   * over the configuration file's `turn.secret`. Write-only.
   */
  properties[PROP_TURN_SECRET] =
    g_param_spec_string ("turn-secret", NULL, NULL, NULL,
                         G_PARAM_WRITABLE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * NbManagementServer:relay-urls:
   *
   * Relays (`rels://HOST:PORT`, `rel://HOST:PORT`) handed to peers with a
   * token bound to the peer, replacing the configuration file's
   * `relay.addresses`; %NULL or empty keeps the file's. They need a
   * secret (#NbManagementServer:relay-secret or the file's
   * `relay.secret`). Read back, the ones in use.
   */
  properties[PROP_RELAY_URLS] =
    g_param_spec_boxed ("relay-urls", NULL, NULL, G_TYPE_STRV,
                        G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * NbManagementServer:relay-secret:
   *
   * The secret shared with the relays (netbird-relay's `--auth-secret`)
   * that peers' relay tokens are signed with, over the configuration
   * file's `relay.secret`. Write-only.
   */
  properties[PROP_RELAY_SECRET] =
    g_param_spec_string ("relay-secret", NULL, NULL, NULL,
                         G_PARAM_WRITABLE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
nb_management_server_init (NbManagementServer *self)
{
  self->channels = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                          (GDestroyNotify) nb_mgmt_sync_channel_free);
  self->pending_channels = g_hash_table_new_full (g_direct_hash, g_direct_equal,
                                                  (GDestroyNotify) nb_mgmt_sync_channel_free,
                                                  NULL);
  self->dirty_accounts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->collecting_accounts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->first_maps = g_hash_table_new (g_direct_hash, g_direct_equal);
  self->account_channels = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->scratch = g_string_sized_new (4096);
  self->login_replay = nb_mgmt_login_replay_new (NB_MGMT_PROTO_LOGIN_WINDOW,
                                                 NB_MGMT_LOGIN_REPLAY_CAPACITY);
}

/* The data directory holds the server key, the store and the initial
 * credentials: the owner's only (0700). One that exists with wider modes
 * (made by hand, by an older server) is tightened, and the log says so. */
static gboolean
ensure_data_dir (const char  *path,
                 GError     **error)
{
  GStatBuf st;

  if (g_mkdir_with_parents (path, 0700) != 0)
    {
      int saved = errno;

      g_set_error (error, NB_MANAGEMENT_SERVER_ERROR, NB_MANAGEMENT_SERVER_ERROR_DATA_DIR,
                   "Cannot create the data directory %s: %s", path, g_strerror (saved));
      return FALSE;
    }
  if (g_stat (path, &st) == 0 && (st.st_mode & 077) != 0)
    {
      if (g_chmod (path, 0700) != 0)
        {
          int saved = errno;

          g_set_error (error, NB_MANAGEMENT_SERVER_ERROR, NB_MANAGEMENT_SERVER_ERROR_DATA_DIR,
                       "The data directory %s is open to others (mode %04o) and cannot be "
                       "made private: %s", path, (guint) (st.st_mode & 07777), g_strerror (saved));
          return FALSE;
        }
      g_message ("Made the data directory %s private: mode %04o -> 0700", path,
                 (guint) (st.st_mode & 07777));
    }
  if (g_access (path, R_OK | W_OK | X_OK) != 0)
    {
      int saved = errno;

      g_set_error (error, NB_MANAGEMENT_SERVER_ERROR, NB_MANAGEMENT_SERVER_ERROR_DATA_DIR,
                   "Cannot use the data directory %s: %s", path, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

/* The server key is made at the first start and kept (mode 0600): peers
 * learn it once and seal everything to it. */
static NbKey *
load_or_create_key (const char  *data_dir,
                    GError     **error)
{
  g_autofree char *path = g_build_filename (data_dir, KEY_FILE, NULL);
  g_autoptr(GError) local_error = NULL;
  g_autoptr(NbKey) key = NULL;

  if (g_file_test (path, G_FILE_TEST_EXISTS))
    {
      key = nb_key_new_from_file (path, &local_error);
      if (key == NULL)
        {
          g_set_error (error, NB_MANAGEMENT_SERVER_ERROR, NB_MANAGEMENT_SERVER_ERROR_DATA_DIR,
                       "Cannot read the server key %s: %s", path, local_error->message);
          return NULL;
        }
      return g_steal_pointer (&key);
    }

  key = nb_key_generate ();
  if (!nb_key_save_to_file (key, path, &local_error))
    {
      g_set_error (error, NB_MANAGEMENT_SERVER_ERROR, NB_MANAGEMENT_SERVER_ERROR_DATA_DIR,
                   "Cannot write the server key %s: %s", path, local_error->message);
      return NULL;
    }
  g_info ("Created the server key %s (public key %s)", path, nb_key_get_public_base64 (key));
  return g_steal_pointer (&key);
}

/* A server that was killed left its peers marked connected: nobody is
 * connected to a server that is starting. */
static gboolean
mark_all_disconnected (NbMgmtStore  *store,
                       GError      **error)
{
  g_autoptr(GPtrArray) accounts = nb_mgmt_store_list_accounts (store, error);

  if (accounts == NULL)
    return FALSE;
  for (guint i = 0; i < accounts->len; i++)
    {
      const NbMgmtAccount *account = g_ptr_array_index (accounts, i);
      g_autoptr(GPtrArray) peers = nb_mgmt_store_list_peers (store, account->id, NULL, error);

      if (peers == NULL)
        return FALSE;
      for (guint j = 0; j < peers->len; j++)
        {
          const NbMgmtPeer *peer = g_ptr_array_index (peers, j);

          if (peer->connected && !nb_mgmt_store_set_peer_connected (store, peer->key, FALSE, error))
            return FALSE;
        }
    }
  return TRUE;
}

static gboolean
nb_management_server_initable_init (GInitable     *initable,
                                    GCancellable  *cancellable,
                                    GError       **error)
{
  NbManagementServer *self = NB_MANAGEMENT_SERVER (initable);
  g_autoptr(GError) local_error = NULL;
  g_autofree char *store_path = NULL;

  if (self->config_file != NULL)
    {
      self->config = nb_mgmt_server_config_load (self->config_file, error);
      if (self->config == NULL)
        return FALSE;
    }
  else
    {
      self->config = nb_mgmt_server_config_new ();
    }
  if (!nb_mgmt_server_config_override_services (self->config, self->signal_uri,
                                                (const char * const *) self->stun_uris,
                                                (const char * const *) self->turn_uris,
                                                self->turn_secret, error) ||
      !nb_mgmt_server_config_override_relay (self->config,
                                             (const char * const *) self->relay_urls,
                                             self->relay_secret, error) ||
      !nb_mgmt_server_config_check (self->config, self->config_file, error))
    return FALSE;
  if (self->turn_secret != NULL)
    sodium_memzero (self->turn_secret, strlen (self->turn_secret));
  g_clear_pointer (&self->turn_secret, g_free);
  if (self->relay_secret != NULL)
    sodium_memzero (self->relay_secret, strlen (self->relay_secret));
  g_clear_pointer (&self->relay_secret, g_free);

  if (self->data_dir == NULL)
    self->data_dir = g_strdup (self->config->data_dir);
  if (self->data_dir == NULL || self->data_dir[0] == '\0')
    {
      g_set_error_literal (error, NB_MANAGEMENT_SERVER_ERROR,
                           NB_MANAGEMENT_SERVER_ERROR_INVALID_CONFIG,
                           "No data directory given: pass one, or set “data_dir” in the "
                           "configuration file");
      return FALSE;
    }
  if (!ensure_data_dir (self->data_dir, error))
    return FALSE;

  if (self->config->tls_cert_file != NULL)
    {
      self->tls_certificate = g_tls_certificate_new_from_files (self->config->tls_cert_file,
                                                                self->config->tls_key_file,
                                                                &local_error);
      if (self->tls_certificate == NULL)
        {
          g_set_error (error, NB_MANAGEMENT_SERVER_ERROR,
                       NB_MANAGEMENT_SERVER_ERROR_INVALID_CONFIG,
                       "Cannot load the TLS certificate %s and key %s: %s",
                       self->config->tls_cert_file, self->config->tls_key_file,
                       local_error->message);
          return FALSE;
        }
    }

  self->key = load_or_create_key (self->data_dir, error);
  if (self->key == NULL)
    return FALSE;

  store_path = g_build_filename (self->data_dir, STORE_FILE, NULL);
  self->store = nb_mgmt_store_open (store_path, &local_error);
  if (self->store == NULL)
    {
      g_set_error (error, NB_MANAGEMENT_SERVER_ERROR, NB_MANAGEMENT_SERVER_ERROR_DATA_DIR,
                   "Cannot open the store %s: %s", store_path, local_error->message);
      return FALSE;
    }
  if (self->config->dns_domain != NULL)
    nb_mgmt_store_set_default_dns_domain (self->store, self->config->dns_domain);

  if (!mark_all_disconnected (self->store, &local_error))
    {
      g_set_error (error, NB_MANAGEMENT_SERVER_ERROR, NB_MANAGEMENT_SERVER_ERROR_DATA_DIR,
                   "Cannot read the store %s: %s", store_path, local_error->message);
      return FALSE;
    }

  if (!nb_mgmt_server_bootstrap (self, error))
    return FALSE;

  self->changed_handler = g_signal_connect (self->store, "changed",
                                            G_CALLBACK (nb_mgmt_sync_on_store_changed), self);

  /* TLS, the listener, limits and timeouts are the service base's
   * (nb_management_server_listen()); the SoupServer only routes. libsoup
   * 3.2 keeps a connection alive only for its own listeners, so every
   * plain HTTP exchange is the last of its connection: this also covers
   * its idle connections that were never closed ("Don't leak idle
   * connections closed by the client", fixed in 3.3.0), for which the
   * server used to answer with Connection: close. */
  self->soup = g_object_new (SOUP_TYPE_SERVER,
                             "server-header", "netbird-management/" NB_VERSION_STRING " ",
                             NULL);
  nb_mgmt_server_add_client_handlers (self);
  self->rest_api = G_OBJECT (nb_mgmt_rest_api_new (self->store));
  nb_mgmt_rest_api_attach (NB_MGMT_REST_API (self->rest_api), self->soup);

  /* Ephemeral peers go once disconnected for the idle time; look twice per
   * idle period (at most every minute). */
  self->ephemeral_source =
    g_timeout_add_seconds ((guint) CLAMP (self->config->ephemeral_idle_seconds / 2, 1, 60),
                           nb_mgmt_sync_delete_idle_ephemeral, self);
  return TRUE;
}

static void
nb_management_server_initable_iface_init (GInitableIface *iface)
{
  iface->init = nb_management_server_initable_init;
}

/**
 * nb_management_server_new:
 * @data_dir: (type filename) (nullable): the folder for the store, the
 *   server key and the initial credentials; %NULL to take `data_dir` from
 *   @config_file
 * @config_file: (type filename) (nullable): a JSON configuration file
 * @error: return location for a #GError
 *
 * Opens (or creates) the server's state in @data_dir: its key, its store,
 * and on the first start the initial account and credentials. The server
 * does not listen until nb_management_server_listen().
 *
 * Returns: (transfer full): a new server, or %NULL with @error set
 */
NbManagementServer *
nb_management_server_new (const char  *data_dir,
                          const char  *config_file,
                          GError     **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return g_initable_new (NB_TYPE_MANAGEMENT_SERVER, NULL, error,
                         "data-dir", data_dir,
                         "config-file", config_file,
                         NULL);
}

static NbService *
ensure_service (NbManagementServer *self)
{
  if (self->service == NULL)
    self->service = nb_service_new ("management", self->soup, self->tls_certificate,
                                    &self->config->limits);
  return self->service;
}

static gboolean
listen_on (NbManagementServer *self,
           GSocketAddress     *address,
           GError            **error)
{
  g_autoptr(GError) local_error = NULL;
  GInetSocketAddress *local;
  g_autofree char *host = NULL;

  if (self->listen_address != NULL)
    {
      g_set_error (error, NB_MANAGEMENT_SERVER_ERROR, NB_MANAGEMENT_SERVER_ERROR_LISTEN,
                   "The server already listens on %s", self->listen_address);
      return FALSE;
    }

  if (!nb_service_listen (ensure_service (self), address, &local_error))
    {
      g_autofree char *text = g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (address));

      g_set_error (error, NB_MANAGEMENT_SERVER_ERROR, NB_MANAGEMENT_SERVER_ERROR_LISTEN,
                   "Cannot listen on %s: %s", text, local_error->message);
      return FALSE;
    }

  local = G_INET_SOCKET_ADDRESS (nb_service_get_local_address (self->service));
  host = g_inet_address_to_string (g_inet_socket_address_get_address (local));
  self->port = g_inet_socket_address_get_port (local);
  self->listen_address = g_strdup_printf ("%s%s%s:%u", strchr (host, ':') ? "[" : "", host,
                                          strchr (host, ':') ? "]" : "", self->port);
  g_info ("Management listening on %s://%s (client protocol /management/v1, REST API /api)",
             self->tls_certificate != NULL ? "https" : "http", self->listen_address);

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PORT]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LISTEN_ADDRESS]);
  return TRUE;
}

/* Only numeric addresses and localhost: listening never waits for DNS. */
static GSocketAddress *
parse_address (const char  *address,
               GError     **error)
{
  g_autoptr(GSocketConnectable) connectable = NULL;

  connectable = g_network_address_parse (address, NB_MANAGEMENT_SERVER_DEFAULT_PORT, NULL);
  if (connectable != NULL)
    {
      const char *host = g_network_address_get_hostname (G_NETWORK_ADDRESS (connectable));
      guint16 port = g_network_address_get_port (G_NETWORK_ADDRESS (connectable));
      g_autoptr(GInetAddress) inet = g_inet_address_new_from_string (host);

      if (inet == NULL && g_ascii_strcasecmp (host, "localhost") == 0)
        inet = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
      if (inet != NULL)
        return g_inet_socket_address_new (inet, port);
    }
  g_set_error (error, NB_MANAGEMENT_SERVER_ERROR, NB_MANAGEMENT_SERVER_ERROR_LISTEN,
               "“%s” is not an address to listen on: give HOST:PORT with a numeric host, "
               "like 127.0.0.1:33073 or [::]:33073", address);
  return NULL;
}

/**
 * nb_management_server_listen:
 * @self: a #NbManagementServer
 * @address: (nullable): where to listen, as `HOST:PORT` (`[::1]:33073` for
 *   IPv6; port 0 picks a free port), or %NULL for the configuration file's
 *   `listen`, else `0.0.0.0:33073`
 * @error: return location for a #GError
 *
 * Starts serving the client protocol and the REST API on @address, over
 * HTTPS when a TLS certificate is configured.
 *
 * Returns: %TRUE once listening, %FALSE with @error set
 */
gboolean
nb_management_server_listen (NbManagementServer  *self,
                             const char          *address,
                             GError             **error)
{
  g_autoptr(GSocketAddress) socket_address = NULL;
  g_autofree char *default_address = NULL;

  g_return_val_if_fail (NB_IS_MANAGEMENT_SERVER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (address == NULL)
    address = self->config->listen;
  if (address == NULL)
    address = default_address = g_strdup_printf ("0.0.0.0:%d", NB_MANAGEMENT_SERVER_DEFAULT_PORT);

  socket_address = parse_address (address, error);
  if (socket_address == NULL)
    return FALSE;
  if (self->config->metrics != NULL && self->metrics_service == NULL &&
      !nb_management_server_listen_metrics (self, self->config->metrics, error))
    return FALSE;
  return listen_on (self, socket_address, error);
}

/**
 * nb_management_server_listen_socket_address:
 * @self: a #NbManagementServer
 * @address: the address to listen on (a #GInetSocketAddress)
 * @error: return location for a #GError
 *
 * Like nb_management_server_listen() with an address object.
 *
 * Returns: %TRUE once listening, %FALSE with @error set
 */
gboolean
nb_management_server_listen_socket_address (NbManagementServer  *self,
                                            GSocketAddress      *address,
                                            GError             **error)
{
  g_return_val_if_fail (NB_IS_MANAGEMENT_SERVER (self), FALSE);
  g_return_val_if_fail (G_IS_INET_SOCKET_ADDRESS (address), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return listen_on (self, address, error);
}

/**
 * nb_management_server_stop:
 * @self: a #NbManagementServer
 *
 * Closes every sync channel (peers are marked disconnected) and stops
 * listening. Committed state stays in the store. The server can listen
 * again afterwards.
 */
void
nb_management_server_stop (NbManagementServer *self)
{
  g_return_if_fail (NB_IS_MANAGEMENT_SERVER (self));

  if (self->store != NULL)
    nb_mgmt_sync_close_all (self);
  if (self->service != NULL)
    nb_service_stop (self->service);
  if (self->metrics_service != NULL)
    nb_service_stop (self->metrics_service);
  if (self->listen_address != NULL)
    {
      g_info ("Management stopped listening on %s", self->listen_address);
      g_clear_pointer (&self->listen_address, g_free);
      self->port = 0;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PORT]);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LISTEN_ADDRESS]);
    }
}

/**
 * nb_management_server_set_connection_limits:
 * @self: a #NbManagementServer
 * @max_connections: the most connections open at once, or 0 for the
 *   default (the descriptor limit less a reserve)
 * @max_connections_per_address: the most connections open at once from one
 *   address, or 0 for the default (three quarters of the global cap)
 *
 * Sets the connection caps, over the configuration file's `limits`.
 * Connections past a cap are accepted and refused at once (`503`). Takes
 * effect at the first nb_management_server_listen().
 */
void
nb_management_server_set_connection_limits (NbManagementServer *self,
                                            guint               max_connections,
                                            guint               max_connections_per_address)
{
  g_return_if_fail (NB_IS_MANAGEMENT_SERVER (self));
  g_return_if_fail (self->service == NULL);

  if (max_connections > 0)
    self->config->limits.max_connections = max_connections;
  if (max_connections_per_address > 0)
    self->config->limits.max_connections_per_address = max_connections_per_address;
}

/**
 * nb_management_server_listen_metrics:
 * @self: a #NbManagementServer
 * @address: where to serve the metrics, as `HOST:PORT`
 * @error: return location for a #GError
 *
 * Serves `GET /metrics` (Prometheus' text format: open connections,
 * connections refused by reason, timeouts by kind, WebSocket queues) on a
 * listener of its own, apart from the public port.
 *
 * Returns: %TRUE once listening, %FALSE with @error set
 */
gboolean
nb_management_server_listen_metrics (NbManagementServer  *self,
                                     const char          *address,
                                     GError             **error)
{
  g_autoptr(GSocketAddress) socket_address = NULL;
  g_autoptr(SoupServer) soup = NULL;
  g_autoptr(GError) local_error = NULL;
  NbServiceLimits limits = { .max_connections = 64, .max_connections_per_address = 16 };

  g_return_val_if_fail (NB_IS_MANAGEMENT_SERVER (self), FALSE);
  g_return_val_if_fail (address != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  socket_address = parse_address (address, error);
  if (socket_address == NULL)
    return FALSE;
  if (self->metrics_service == NULL)
    {
      soup = g_object_new (SOUP_TYPE_SERVER, "server-header",
                           "netbird-management/" NB_VERSION_STRING " ", NULL);
      self->metrics_service = nb_service_new ("metrics", soup, NULL, &limits);
      self->metrics_services = g_ptr_array_new ();
      g_ptr_array_add (self->metrics_services, ensure_service (self));
      g_ptr_array_add (self->metrics_services, self->metrics_service);
      nb_service_serve_metrics (self->metrics_service, self->metrics_services);
    }
  if (!nb_service_listen (self->metrics_service, socket_address, &local_error))
    {
      g_set_error (error, NB_MANAGEMENT_SERVER_ERROR, NB_MANAGEMENT_SERVER_ERROR_LISTEN,
                   "Cannot serve metrics on %s: %s", address, local_error->message);
      return FALSE;
    }
  g_info ("Metrics on http://%s/metrics", address);
  return TRUE;
}

/**
 * nb_management_server_get_data_dir:
 * @self: a #NbManagementServer
 *
 * Returns: (type filename): the data directory
 */
const char *
nb_management_server_get_data_dir (NbManagementServer *self)
{
  g_return_val_if_fail (NB_IS_MANAGEMENT_SERVER (self), NULL);
  return self->data_dir;
}

/**
 * nb_management_server_get_public_key:
 * @self: a #NbManagementServer
 *
 * Returns: (transfer none): the server's key (peers seal to its public half)
 */
NbKey *
nb_management_server_get_public_key (NbManagementServer *self)
{
  g_return_val_if_fail (NB_IS_MANAGEMENT_SERVER (self), NULL);
  return self->key;
}

/**
 * nb_management_server_get_port:
 * @self: a #NbManagementServer
 *
 * Returns: the port the server listens on, 0 when it does not listen
 */
guint16
nb_management_server_get_port (NbManagementServer *self)
{
  g_return_val_if_fail (NB_IS_MANAGEMENT_SERVER (self), 0);
  return self->port;
}

/**
 * nb_management_server_get_listen_address:
 * @self: a #NbManagementServer
 *
 * Returns: (nullable): the address the server listens on, as HOST:PORT
 */
const char *
nb_management_server_get_listen_address (NbManagementServer *self)
{
  g_return_val_if_fail (NB_IS_MANAGEMENT_SERVER (self), NULL);
  return self->listen_address;
}

/**
 * nb_management_server_get_credentials_file:
 * @self: a #NbManagementServer
 *
 * Returns: (type filename) (nullable): the initial credentials file when
 *   this start created the account and wrote it, else %NULL
 */
const char *
nb_management_server_get_credentials_file (NbManagementServer *self)
{
  g_return_val_if_fail (NB_IS_MANAGEMENT_SERVER (self), NULL);
  return self->credentials_file;
}

/**
 * nb_management_server_get_n_sync_channels:
 * @self: a #NbManagementServer
 *
 * Returns: how many peers have an authenticated sync channel open
 */
guint
nb_management_server_get_n_sync_channels (NbManagementServer *self)
{
  g_return_val_if_fail (NB_IS_MANAGEMENT_SERVER (self), 0);
  return g_hash_table_size (self->channels);
}

/**
 * nb_management_server_reset_admin_token:
 * @data_dir: (type filename) (nullable): the data directory of an existing
 *   server; %NULL to take `data_dir` from @config_file
 * @config_file: (type filename) (nullable): its configuration file
 * @out_account_id: (out) (optional) (transfer full): the account the token
 *   is for
 * @error: return location for a #GError
 *
 * Makes a new admin token (a personal access token of the owner, valid for
 * a year) for the account the server's first start created, for when its
 * initial credentials were lost. The owner's other tokens keep working;
 * revoke them over the REST API with the new one if they leaked. The new
 * token shows in the token list as "admin token reset" with its date, and
 * in the activity log.
 *
 * This opens the store only: no server key is made, nothing listens, and it
 * can run beside a running server of the same data directory.
 *
 * Returns: (transfer full): the new token (shown only now), or %NULL with
 *   @error set (no store in @data_dir, a store without accounts)
 */
char *
nb_management_server_reset_admin_token (const char  *data_dir,
                                        const char  *config_file,
                                        char       **out_account_id,
                                        GError     **error)
{
  g_autoptr(NbMgmtServerConfig) config = NULL;
  g_autoptr(NbMgmtStore) store = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *store_path = NULL;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  config = config_file != NULL ? nb_mgmt_server_config_load (config_file, error)
                               : nb_mgmt_server_config_new ();
  if (config == NULL)
    return NULL;
  if (data_dir == NULL)
    data_dir = config->data_dir;
  if (data_dir == NULL || data_dir[0] == '\0')
    {
      g_set_error_literal (error, NB_MANAGEMENT_SERVER_ERROR,
                           NB_MANAGEMENT_SERVER_ERROR_INVALID_CONFIG,
                           "No data directory given: pass one, or set “data_dir” in the "
                           "configuration file");
      return NULL;
    }

  /* Never a new, empty store: that is a first start's job. */
  store_path = g_build_filename (data_dir, STORE_FILE, NULL);
  if (!g_file_test (store_path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, NB_MANAGEMENT_SERVER_ERROR, NB_MANAGEMENT_SERVER_ERROR_DATA_DIR,
                   "No store in %s (%s is missing): start the server once, it writes the "
                   "initial credentials", data_dir, STORE_FILE);
      return NULL;
    }
  store = nb_mgmt_store_open (store_path, &local_error);
  if (store == NULL)
    {
      g_set_error (error, NB_MANAGEMENT_SERVER_ERROR, NB_MANAGEMENT_SERVER_ERROR_DATA_DIR,
                   "Cannot open the store %s: %s", store_path, local_error->message);
      return NULL;
    }
  return nb_mgmt_server_new_admin_token (store, out_account_id, error);
}
