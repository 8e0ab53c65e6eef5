/* nb-mgmt-server-config.c: the Management server's configuration file
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-management"

#include <string.h>

#include <sodium.h>

#include "nb-mgmt-server-private.h"

/* The file is JSON, every member optional:
 *
 * {
 *   "listen": "0.0.0.0:33073",
 *   "data_dir": "/var/lib/netbird-management",
 *   "dns_domain": "netbird.cloud",
 *   "tls": { "cert_file": "server.crt", "key_file": "server.key" },
 *   "signal": { "uri": "https://signal.example.org:443" },
 *   "stuns": [ "stun:stun.example.org:3478" ],
 *   "turn": { "uris": [ "turn:turn.example.org:3478" ], "secret": "...",
 *             "credentials_ttl": 43200 },
 *   "relay": { "addresses": [ "rels://relay.example.org:443" ], "secret": "...",
 *              "credentials_ttl": 43200 },
 *   "bootstrap": { "admin_token": "nbp_...", "setup_key": "..." },
 *   "ephemeral_idle_seconds": 600,
 *   "metrics": "127.0.0.1:9090",
 *   "limits": { "max_connections": 0, "max_connections_per_address": 0,
 *               "max_body_size": 1048576, "max_header_size": 32768,
 *               "tls_timeout_ms": 10000, "header_timeout_ms": 15000,
 *               "body_timeout_ms": 30000, "idle_timeout_ms": 60000,
 *               "websocket_auth_timeout_ms": 5000,
 *               "channel_max_queued": 8388608 }
 * }
 *
 * The limits are the service base's (nb-service-private.h); 0 or absent
 * takes its default.
 *
 * It is read with the bounded codec of proto/, so a wrong type or value is
 * refused with the member's path. */

#define MAX_CONFIG_SIZE (1024 * 1024)
#define DEFAULT_CREDENTIALS_TTL (12 * 3600)
#define DEFAULT_EPHEMERAL_IDLE (10 * 60)

typedef struct
{
  char *cert_file;
  char *key_file;
} TlsSection;

typedef struct
{
  char *uri;
} SignalSection;

typedef struct
{
  GPtrArray *uris;
  char *secret;
  gint64 credentials_ttl;
} SecretSection;

/* "addresses" as the relay's own flags say it; "urls" as the wire
 * message (NbMgmtMsgRelayConfig) does: both are taken, in that order. */
typedef struct
{
  GPtrArray *addresses;
  GPtrArray *urls;
  char *secret;
  gint64 credentials_ttl;
} RelaySection;

typedef struct
{
  char *admin_token;
  char *setup_key;
} BootstrapSection;

typedef struct
{
  gint64 max_connections;
  gint64 max_connections_per_address;
  gint64 max_body_size;
  gint64 max_header_size;
  gint64 tls_timeout_ms;
  gint64 header_timeout_ms;
  gint64 body_timeout_ms;
  gint64 idle_timeout_ms;
  gint64 websocket_auth_timeout_ms;
  gint64 channel_max_queued;
} LimitsSection;

typedef struct
{
  char *listen;
  char *data_dir;
  char *dns_domain;
  TlsSection *tls;
  SignalSection *signal;
  GPtrArray *stuns;
  SecretSection *turn;
  RelaySection *relay;
  BootstrapSection *bootstrap;
  gint64 ephemeral_idle_seconds;
  char *metrics;
  LimitsSection *limits;
} ConfigFile;

static const NbProtoField tls_fields[] = {
  NB_PROTO_F_STRING (TlsSection, cert_file, "cert_file", NB_PROTO_FIELD_REQUIRED, 4096, NULL),
  NB_PROTO_F_STRING (TlsSection, key_file, "key_file", NB_PROTO_FIELD_REQUIRED, 4096, NULL),
};
NB_PROTO_DESC (tls_desc, TlsSection, tls_fields, NULL);

static const NbProtoField signal_fields[] = {
  NB_PROTO_F_STRING (SignalSection, uri, "uri", NB_PROTO_FIELD_REQUIRED, 4096,
                     nb_proto_validate_uri),
};
NB_PROTO_DESC (signal_desc, SignalSection, signal_fields, NULL);

static const NbProtoField turn_fields[] = {
  NB_PROTO_F_STRV (SecretSection, uris, "uris", 64, 4096, nb_proto_validate_uri),
  NB_PROTO_F_STRING (SecretSection, secret, "secret", 0, 4096, NULL),
  NB_PROTO_F_INT (SecretSection, credentials_ttl, "credentials_ttl", 0, 60, 30 * 86400),
};
NB_PROTO_DESC (turn_desc, SecretSection, turn_fields, NULL);

static const NbProtoField relay_fields[] = {
  NB_PROTO_F_STRV (RelaySection, addresses, "addresses", 64, 4096, nb_proto_validate_uri),
  NB_PROTO_F_STRV (RelaySection, urls, "urls", 64, 4096, nb_proto_validate_uri),
  NB_PROTO_F_STRING (RelaySection, secret, "secret", 0, 4096, NULL),
  NB_PROTO_F_INT (RelaySection, credentials_ttl, "credentials_ttl", 0, 60, 30 * 86400),
};
NB_PROTO_DESC (relay_desc, RelaySection, relay_fields, NULL);

static const NbProtoField bootstrap_fields[] = {
  NB_PROTO_F_STRING (BootstrapSection, admin_token, "admin_token", 0, 256, NULL),
  NB_PROTO_F_STRING (BootstrapSection, setup_key, "setup_key", 0, 256, NULL),
};
NB_PROTO_DESC (bootstrap_desc, BootstrapSection, bootstrap_fields, NULL);

static const NbProtoField limits_fields[] = {
  NB_PROTO_F_INT (LimitsSection, max_connections, "max_connections", 0, 0, 10000000),
  NB_PROTO_F_INT (LimitsSection, max_connections_per_address, "max_connections_per_address", 0,
                  0, 10000000),
  NB_PROTO_F_INT (LimitsSection, max_body_size, "max_body_size", 0, 0, 1024 * 1024 * 1024),
  NB_PROTO_F_INT (LimitsSection, max_header_size, "max_header_size", 0, 0, 60 * 1024),
  NB_PROTO_F_INT (LimitsSection, tls_timeout_ms, "tls_timeout_ms", 0, 0, 3600000),
  NB_PROTO_F_INT (LimitsSection, header_timeout_ms, "header_timeout_ms", 0, 0, 3600000),
  NB_PROTO_F_INT (LimitsSection, body_timeout_ms, "body_timeout_ms", 0, 0, 3600000),
  NB_PROTO_F_INT (LimitsSection, idle_timeout_ms, "idle_timeout_ms", 0, 0, 3600000),
  NB_PROTO_F_INT (LimitsSection, websocket_auth_timeout_ms, "websocket_auth_timeout_ms", 0, 0,
                  3600000),
  NB_PROTO_F_INT (LimitsSection, channel_max_queued, "channel_max_queued", 0, 0,
                  1024 * 1024 * 1024),
};
NB_PROTO_DESC (limits_desc, LimitsSection, limits_fields, NULL);

static const NbProtoField config_fields[] = {
  NB_PROTO_F_STRING (ConfigFile, listen, "listen", 0, 256, NULL),
  NB_PROTO_F_STRING (ConfigFile, data_dir, "data_dir", 0, 4096, NULL),
  NB_PROTO_F_STRING (ConfigFile, dns_domain, "dns_domain", 0, 253, nb_proto_validate_dns_name),
  NB_PROTO_F_MESSAGE (ConfigFile, tls, "tls", 0, tls_desc),
  NB_PROTO_F_MESSAGE (ConfigFile, signal, "signal", 0, signal_desc),
  NB_PROTO_F_STRV (ConfigFile, stuns, "stuns", 64, 4096, nb_proto_validate_uri),
  NB_PROTO_F_MESSAGE (ConfigFile, turn, "turn", 0, turn_desc),
  NB_PROTO_F_MESSAGE (ConfigFile, relay, "relay", 0, relay_desc),
  NB_PROTO_F_MESSAGE (ConfigFile, bootstrap, "bootstrap", 0, bootstrap_desc),
  NB_PROTO_F_INT (ConfigFile, ephemeral_idle_seconds, "ephemeral_idle_seconds", 0, 1,
                  365 * 86400),
  NB_PROTO_F_STRING (ConfigFile, metrics, "metrics", 0, 256, NULL),
  NB_PROTO_F_MESSAGE (ConfigFile, limits, "limits", 0, limits_desc),
};
NB_PROTO_DESC (config_desc, ConfigFile, config_fields, NULL);

NbMgmtServerConfig *
nb_mgmt_server_config_new (void)
{
  NbMgmtServerConfig *config = g_new0 (NbMgmtServerConfig, 1);

  config->stun_uris = g_ptr_array_new_with_free_func (g_free);
  config->turn_uris = g_ptr_array_new_with_free_func (g_free);
  config->relay_urls = g_ptr_array_new_with_free_func (g_free);
  config->turn_ttl = DEFAULT_CREDENTIALS_TTL;
  config->relay_ttl = DEFAULT_CREDENTIALS_TTL;
  config->ephemeral_idle_seconds = DEFAULT_EPHEMERAL_IDLE;
  return config;
}

void
nb_mgmt_server_config_free (NbMgmtServerConfig *config)
{
  if (config == NULL)
    return;
  g_free (config->listen);
  g_free (config->data_dir);
  g_free (config->dns_domain);
  g_free (config->tls_cert_file);
  g_free (config->tls_key_file);
  g_free (config->signal_uri);
  g_ptr_array_unref (config->stun_uris);
  g_ptr_array_unref (config->turn_uris);
  g_ptr_array_unref (config->relay_urls);
  if (config->turn_secret != NULL)
    sodium_memzero (config->turn_secret, strlen (config->turn_secret));
  g_free (config->turn_secret);
  if (config->relay_secret != NULL)
    memset (config->relay_secret, 0, strlen (config->relay_secret));
  g_free (config->relay_secret);
  g_free (config->admin_token);
  g_free (config->setup_key);
  g_free (config->metrics);
  g_free (config);
}

static void
take_strv (GPtrArray *to,
           GPtrArray *from)
{
  for (guint i = 0; i < from->len; i++)
    g_ptr_array_add (to, g_steal_pointer (&from->pdata[i]));
}

/* Relative paths in the file are relative to the file's folder. */
static char *
resolve_path (const char *config_path,
              const char *path)
{
  g_autofree char *dir = NULL;

  if (g_path_is_absolute (path))
    return g_strdup (path);
  dir = g_path_get_dirname (config_path);
  return g_build_filename (dir, path, NULL);
}

NbMgmtServerConfig *
nb_mgmt_server_config_load (const char  *path,
                            GError     **error)
{
  g_autoptr(NbMgmtServerConfig) config = nb_mgmt_server_config_new ();
  g_autoptr(GError) local_error = NULL;
  g_autofree char *contents = NULL;
  gsize length = 0;
  ConfigFile *file;

  if (!g_file_get_contents (path, &contents, &length, &local_error))
    {
      g_set_error (error, NB_MANAGEMENT_SERVER_ERROR, NB_MANAGEMENT_SERVER_ERROR_INVALID_CONFIG,
                   "Cannot read the configuration file: %s", local_error->message);
      return NULL;
    }

  file = nb_proto_message_from_data (&config_desc, contents, length, MAX_CONFIG_SIZE,
                                     &local_error);
  if (file == NULL)
    {
      g_set_error (error, NB_MANAGEMENT_SERVER_ERROR, NB_MANAGEMENT_SERVER_ERROR_INVALID_CONFIG,
                   "Configuration file %s is not valid: %s", path, local_error->message);
      return NULL;
    }

  config->listen = g_steal_pointer (&file->listen);
  if (file->data_dir != NULL)
    config->data_dir = resolve_path (path, file->data_dir);
  config->dns_domain = g_steal_pointer (&file->dns_domain);
  if (file->tls != NULL)
    {
      config->tls_cert_file = resolve_path (path, file->tls->cert_file);
      config->tls_key_file = resolve_path (path, file->tls->key_file);
    }
  if (file->signal != NULL)
    config->signal_uri = g_steal_pointer (&file->signal->uri);
  take_strv (config->stun_uris, file->stuns);
  if (file->turn != NULL)
    {
      take_strv (config->turn_uris, file->turn->uris);
      config->turn_secret = g_steal_pointer (&file->turn->secret);
      if (file->turn->credentials_ttl > 0)
        config->turn_ttl = file->turn->credentials_ttl;
    }
  if (file->relay != NULL)
    {
      take_strv (config->relay_urls, file->relay->addresses);
      take_strv (config->relay_urls, file->relay->urls);
      config->relay_secret = g_steal_pointer (&file->relay->secret);
      if (file->relay->credentials_ttl > 0)
        config->relay_ttl = file->relay->credentials_ttl;
    }
  if (file->bootstrap != NULL)
    {
      config->admin_token = g_steal_pointer (&file->bootstrap->admin_token);
      config->setup_key = g_steal_pointer (&file->bootstrap->setup_key);
    }
  if (file->ephemeral_idle_seconds > 0)
    config->ephemeral_idle_seconds = file->ephemeral_idle_seconds;
  config->metrics = g_steal_pointer (&file->metrics);
  if (file->limits != NULL)
    {
      const LimitsSection *l = file->limits;

      config->limits.max_connections = (guint) l->max_connections;
      config->limits.max_connections_per_address = (guint) l->max_connections_per_address;
      config->limits.max_body_size = (gsize) l->max_body_size;
      config->limits.max_header_size = (gsize) l->max_header_size;
      config->limits.tls_timeout_ms = (guint) l->tls_timeout_ms;
      config->limits.header_timeout_ms = (guint) l->header_timeout_ms;
      config->limits.body_timeout_ms = (guint) l->body_timeout_ms;
      config->limits.idle_timeout_ms = (guint) l->idle_timeout_ms;
      config->limits.websocket_auth_timeout_ms = (guint) l->websocket_auth_timeout_ms;
      config->limits.channel_max_queued = (gsize) l->channel_max_queued;
    }
  nb_proto_message_free (&config_desc, file);

  /* TURN servers without a secret are checked once the settings given
   * directly are in (nb_mgmt_server_config_check()): the secret may come
   * from there. */
  if (config->signal_uri != NULL &&
      !nb_mgmt_server_config_check_uri (NB_MGMT_SERVICE_SIGNAL, config->signal_uri, &local_error))
    goto invalid;
  for (guint i = 0; i < config->stun_uris->len; i++)
    if (!nb_mgmt_server_config_check_uri (NB_MGMT_SERVICE_STUN,
                                          g_ptr_array_index (config->stun_uris, i),
                                          &local_error))
      goto invalid;
  for (guint i = 0; i < config->turn_uris->len; i++)
    if (!nb_mgmt_server_config_check_uri (NB_MGMT_SERVICE_TURN,
                                          g_ptr_array_index (config->turn_uris, i),
                                          &local_error))
      goto invalid;
  for (guint i = 0; i < config->relay_urls->len; i++)
    if (!nb_mgmt_server_config_check_uri (NB_MGMT_SERVICE_RELAY,
                                          g_ptr_array_index (config->relay_urls, i),
                                          &local_error))
      goto invalid;

  return g_steal_pointer (&config);

invalid:
  g_set_error (error, NB_MANAGEMENT_SERVER_ERROR, NB_MANAGEMENT_SERVER_ERROR_INVALID_CONFIG,
               "Configuration file %s is not valid: %s", path, local_error->message);
  return NULL;
}

static const char * const service_names[] = {
  [NB_MGMT_SERVICE_SIGNAL] = "Signal",
  [NB_MGMT_SERVICE_STUN] = "STUN",
  [NB_MGMT_SERVICE_TURN] = "TURN",
  [NB_MGMT_SERVICE_RELAY] = "Relay",
};

static const char * const service_examples[] = {
  [NB_MGMT_SERVICE_SIGNAL] = "https://signal.example.org:443 or signal.example.org:443",
  [NB_MGMT_SERVICE_STUN] = "stun:stun.example.org:3478",
  [NB_MGMT_SERVICE_TURN] = "turn:turn.example.org:3478?transport=udp",
  [NB_MGMT_SERVICE_RELAY] = "rels://relay.example.org:443",
};

static gboolean
scheme_fits (NbMgmtService  service,
             const char    *scheme)
{
  switch (service)
    {
    case NB_MGMT_SERVICE_SIGNAL:
      return g_str_equal (scheme, "https") || g_str_equal (scheme, "http") ||
             g_str_equal (scheme, "wss") || g_str_equal (scheme, "ws");
    case NB_MGMT_SERVICE_STUN:
      return g_str_equal (scheme, "stun");
    case NB_MGMT_SERVICE_TURN:
      return g_str_equal (scheme, "turn") || g_str_equal (scheme, "turns");
    case NB_MGMT_SERVICE_RELAY:
      return g_str_equal (scheme, "rels") || g_str_equal (scheme, "rel");
    default:
      g_assert_not_reached ();
    }
}

/* What the peers can use, so a wrong address is refused here and not by
 * every client that receives it: Signal as an http(s)/ws(s) URL with a
 * host; STUN and TURN as RFC 7064 §3.1 and RFC 7065 §3.1 have them,
 * SCHEME:HOST[:PORT], TURN over UDP optionally with ?transport=udp|tcp
 * (turns: with ?transport=tcp only). Peers' NbIceSession parses them with
 * the same grammar. */
gboolean
nb_mgmt_server_config_check_uri (NbMgmtService   service,
                                 const char     *uri,
                                 GError        **error)
{
  g_autoptr(GUri) parsed = NULL;
  g_autofree char *scheme = NULL;
  g_autofree char *with_slashes = NULL;
  const char *colon = strchr (uri, ':');
  const char *rest;
  const char *query;
  gint port;

  if (colon == NULL || colon == uri || strlen (uri) > 4096)
    goto invalid;
  /* NetBird's own configuration names Signal as HOST:PORT, without a
   * scheme; it is handed out as plain HTTP (see host_config() in
   * nb-mgmt-netmap-wire.c) and checked as http://HOST:PORT. */
  if (service == NB_MGMT_SERVICE_SIGNAL && strstr (uri, "://") == NULL &&
      strchr (uri, '/') == NULL)
    {
      const char *last = strrchr (uri, ':');
      g_autofree char *as_url = NULL;

      if (last[1] == '\0' || strspn (last + 1, "0123456789") != strlen (last + 1))
        goto invalid;
      as_url = g_strconcat ("http://", uri, NULL);
      return nb_mgmt_server_config_check_uri (service, as_url, error);
    }
  scheme = g_ascii_strdown (uri, colon - uri);
  if (!scheme_fits (service, scheme))
    goto invalid;
  rest = colon + 1;
  if (service == NB_MGMT_SERVICE_SIGNAL || service == NB_MGMT_SERVICE_RELAY)
    {
      if (!g_str_has_prefix (rest, "//"))
        goto invalid;
      parsed = g_uri_parse (uri, G_URI_FLAGS_NON_DNS, NULL);
    }
  else
    {
      /* GUri reads a host only after "//", which these URIs do not have. */
      if (g_str_has_prefix (rest, "/"))
        goto invalid;
      with_slashes = g_strdup_printf ("%s://%s", scheme, rest);
      parsed = g_uri_parse (with_slashes, G_URI_FLAGS_NON_DNS, NULL);
    }
  if (parsed == NULL || g_uri_get_host (parsed) == NULL || g_uri_get_host (parsed)[0] == '\0' ||
      g_uri_get_userinfo (parsed) != NULL || g_uri_get_fragment (parsed) != NULL ||
      strpbrk (g_uri_get_host (parsed), " \t") != NULL)
    goto invalid;
  port = g_uri_get_port (parsed);
  if (port == 0 || port > 65535)
    goto invalid;
  if (service == NB_MGMT_SERVICE_SIGNAL)
    return TRUE;
  /* A relay is HOST:PORT; the client adds the protocol's path. */
  if (service == NB_MGMT_SERVICE_RELAY)
    {
      if (port < 0 || (g_uri_get_path (parsed)[0] != '\0' &&
                       !g_str_equal (g_uri_get_path (parsed), "/")) ||
          g_uri_get_query (parsed) != NULL)
        goto invalid;
      return TRUE;
    }
  if (g_uri_get_path (parsed)[0] != '\0')
    goto invalid;
  query = g_uri_get_query (parsed);
  if (query != NULL &&
      !(service == NB_MGMT_SERVICE_TURN &&
        (g_str_equal (query, "transport=tcp") ||
         (g_str_equal (query, "transport=udp") && g_str_equal (scheme, "turn")))))
    goto invalid;
  return TRUE;

invalid:
  g_set_error (error, NB_MANAGEMENT_SERVER_ERROR, NB_MANAGEMENT_SERVER_ERROR_INVALID_CONFIG,
               "“%s” is not a %s server URI (like %s)", uri, service_names[service],
               service_examples[service]);
  return FALSE;
}

static void
replace_strv (GPtrArray          *to,
              const char * const *from)
{
  g_ptr_array_set_size (to, 0);
  for (gsize i = 0; from[i] != NULL; i++)
    g_ptr_array_add (to, g_strdup (from[i]));
}

/* Settings given directly (the daemon's flags, the server's construct
 * properties) replace the file's: a list given replaces the file's list.
 * Each is checked as the file's are; a bad one is
 * NB_MANAGEMENT_SERVER_ERROR_INVALID_ARGUMENT, since it came from the
 * caller, not from the file. */
gboolean
nb_mgmt_server_config_override_services (NbMgmtServerConfig  *config,
                                         const char          *signal_uri,
                                         const char * const  *stun_uris,
                                         const char * const  *turn_uris,
                                         const char          *turn_secret,
                                         GError             **error)
{
  g_autoptr(GError) local_error = NULL;

  if (signal_uri != NULL &&
      !nb_mgmt_server_config_check_uri (NB_MGMT_SERVICE_SIGNAL, signal_uri, &local_error))
    goto invalid;
  for (gsize i = 0; stun_uris != NULL && stun_uris[i] != NULL; i++)
    if (!nb_mgmt_server_config_check_uri (NB_MGMT_SERVICE_STUN, stun_uris[i], &local_error))
      goto invalid;
  for (gsize i = 0; turn_uris != NULL && turn_uris[i] != NULL; i++)
    if (!nb_mgmt_server_config_check_uri (NB_MGMT_SERVICE_TURN, turn_uris[i], &local_error))
      goto invalid;
  if (turn_secret != NULL && turn_secret[0] == '\0')
    {
      g_set_error_literal (error, NB_MANAGEMENT_SERVER_ERROR,
                           NB_MANAGEMENT_SERVER_ERROR_INVALID_ARGUMENT,
                           "The TURN secret given is empty");
      return FALSE;
    }

  if (signal_uri != NULL)
    {
      g_free (config->signal_uri);
      config->signal_uri = g_strdup (signal_uri);
    }
  if (stun_uris != NULL && stun_uris[0] != NULL)
    replace_strv (config->stun_uris, stun_uris);
  if (turn_uris != NULL && turn_uris[0] != NULL)
    {
      replace_strv (config->turn_uris, turn_uris);
      config->turn_uris_given = TRUE;
    }
  if (turn_secret != NULL)
    {
      if (config->turn_secret != NULL)
        sodium_memzero (config->turn_secret, strlen (config->turn_secret));
      g_free (config->turn_secret);
      config->turn_secret = g_strdup (turn_secret);
    }
  return TRUE;

invalid:
  g_set_error_literal (error, NB_MANAGEMENT_SERVER_ERROR,
                       NB_MANAGEMENT_SERVER_ERROR_INVALID_ARGUMENT, local_error->message);
  return FALSE;
}

/* --relay-url and --relay-secret[-file]: as the TURN ones. */
gboolean
nb_mgmt_server_config_override_relay (NbMgmtServerConfig  *config,
                                      const char * const  *relay_urls,
                                      const char          *relay_secret,
                                      GError             **error)
{
  g_autoptr(GError) local_error = NULL;

  for (gsize i = 0; relay_urls != NULL && relay_urls[i] != NULL; i++)
    if (!nb_mgmt_server_config_check_uri (NB_MGMT_SERVICE_RELAY, relay_urls[i], &local_error))
      {
        g_set_error_literal (error, NB_MANAGEMENT_SERVER_ERROR,
                             NB_MANAGEMENT_SERVER_ERROR_INVALID_ARGUMENT, local_error->message);
        return FALSE;
      }
  if (relay_secret != NULL && relay_secret[0] == '\0')
    {
      g_set_error_literal (error, NB_MANAGEMENT_SERVER_ERROR,
                           NB_MANAGEMENT_SERVER_ERROR_INVALID_ARGUMENT,
                           "The relay secret given is empty");
      return FALSE;
    }
  if (relay_urls != NULL && relay_urls[0] != NULL)
    {
      replace_strv (config->relay_urls, relay_urls);
      config->relay_urls_given = TRUE;
    }
  if (relay_secret != NULL)
    {
      if (config->relay_secret != NULL)
        sodium_memzero (config->relay_secret, strlen (config->relay_secret));
      g_free (config->relay_secret);
      config->relay_secret = g_strdup (relay_secret);
    }
  return TRUE;
}

/* What holds only for the settings as a whole, file and overrides. */
gboolean
nb_mgmt_server_config_check (NbMgmtServerConfig  *config,
                             const char          *path,
                             GError             **error)
{
  if (config->turn_uris->len > 0 && (config->turn_secret == NULL || config->turn_secret[0] == '\0'))
    {
      if (config->turn_uris_given || path == NULL)
        g_set_error_literal (error, NB_MANAGEMENT_SERVER_ERROR,
                             NB_MANAGEMENT_SERVER_ERROR_INVALID_ARGUMENT,
                             "TURN servers are given but no secret to make their credentials "
                             "with (“turn.secret” in the configuration file, or the "
                             "turn-secret setting)");
      else
        g_set_error (error, NB_MANAGEMENT_SERVER_ERROR, NB_MANAGEMENT_SERVER_ERROR_INVALID_CONFIG,
                     "Configuration file %s lists TURN servers but no “turn.secret” to make "
                     "their credentials with", path);
      return FALSE;
    }
  if (config->relay_urls->len > 0 &&
      (config->relay_secret == NULL || config->relay_secret[0] == '\0'))
    {
      if (config->relay_urls_given || path == NULL)
        g_set_error_literal (error, NB_MANAGEMENT_SERVER_ERROR,
                             NB_MANAGEMENT_SERVER_ERROR_INVALID_ARGUMENT,
                             "Relays are given but no secret to make their tokens with "
                             "(“relay.secret” in the configuration file, or the "
                             "relay-secret setting)");
      else
        g_set_error (error, NB_MANAGEMENT_SERVER_ERROR, NB_MANAGEMENT_SERVER_ERROR_INVALID_CONFIG,
                     "Configuration file %s lists relays but no “relay.secret” to make "
                     "their tokens with", path);
      return FALSE;
    }
  return TRUE;
}
