/* nb-client-config.c: the client's configuration file and its key file
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * The configuration is a JSON object, every member optional:
 *
 * {
 *   "management_url": "https://api.netbird.io:443",
 *   "hostname": "laptop",
 *   "interface_name": "wt0",
 *   "wireguard_port": 51820,
 *   "preshared_key": "BASE64",
 *   "block_inbound": false,
 *   "disable_firewall": false,
 *   "disable_dns": false,
 *   "private_key_file": "config.key"
 * }
 *
 * The private key lives in a file of its own (mode 0600, as `wg genkey`
 * writes it), by default beside the configuration with the configuration's
 * name and ".key" (config.json: config.key); a relative path is taken from
 * the configuration's directory. It is made on first use and never leaves
 * the machine; a client that keeps it keeps its peer (and address) in
 * Management. The setup key is never saved: it is a credential, and a
 * registered peer logs in again with its key alone.
 *
 * The configuration may hold a pre-shared key, so it is written mode 0600
 * too, and a directory made for it 0700.
 */
#define G_LOG_DOMAIN "netbird-client"

#include <errno.h>
#include <string.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <sodium.h>

#include "nb-client-private.h"
#include "nb-wg-uapi.h"

#define MAX_CONFIG_SIZE (256 * 1024)

void
nb_client_config_free (NbClientConfig *config)
{
  if (config == NULL)
    return;
  g_free (config->management_url);
  g_free (config->hostname);
  g_free (config->interface_name);
  if (config->preshared_key != NULL)
    sodium_memzero (config->preshared_key, strlen (config->preshared_key));
  g_free (config->preshared_key);
  g_free (config->private_key_file);
  g_free (config);
}

static char *
default_key_file (const char *config_path)
{
  g_autofree char *dir = g_path_get_dirname (config_path);
  g_autofree char *base = g_path_get_basename (config_path);
  char *dot = strrchr (base, '.');

  if (dot != NULL && dot != base)
    *dot = '\0';
  return g_strdup_printf ("%s/%s.key", dir, base);
}

static char *
absolute_in (const char *config_path,
             const char *path)
{
  g_autofree char *dir = NULL;

  if (g_path_is_absolute (path))
    return g_strdup (path);
  dir = g_path_get_dirname (config_path);
  return g_build_filename (dir, path, NULL);
}

static NbClientConfig *
config_defaults (const char *path)
{
  NbClientConfig *config = g_new0 (NbClientConfig, 1);

  config->management_url = g_strdup (NB_CLIENT_DEFAULT_MANAGEMENT_URL);
  config->interface_name = g_strdup (NB_CLIENT_DEFAULT_INTERFACE);
  config->wireguard_port = NB_CLIENT_DEFAULT_WG_PORT;
  config->private_key_file = default_key_file (path);
  return config;
}

gboolean
nb_client_config_check_preshared_key (const char  *base64,
                                      GError     **error)
{
  gsize len = 0;
  g_autofree guint8 *raw = NULL;
  gboolean ok;

  if (base64 == NULL || base64[0] == '\0')
    return TRUE;
  ok = strlen (base64) == 44 && base64[43] == '=';
  if (ok)
    {
      raw = g_base64_decode (base64, &len);
      ok = len == 32;
      sodium_memzero (raw, len);
    }
  if (!ok)
    g_set_error_literal (error, NB_CLIENT_ERROR, NB_CLIENT_ERROR_CONFIG,
                         "The pre-shared key is not a WireGuard key (32 bytes in base64, "
                         "as `wg genpsk` prints it)");
  return ok;
}

/* A member of the wrong type is an error that names it. */
static gboolean
get_string (JsonObject  *object,
            const char  *name,
            char       **out,
            GError     **error)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      g_set_error (error, NB_CLIENT_ERROR, NB_CLIENT_ERROR_CONFIG,
                   "“%s” must be a string", name);
      return FALSE;
    }
  g_free (*out);
  *out = g_strdup (json_node_get_string (node));
  return TRUE;
}

static gboolean
get_boolean (JsonObject  *object,
             const char  *name,
             gboolean    *out,
             GError     **error)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    {
      g_set_error (error, NB_CLIENT_ERROR, NB_CLIENT_ERROR_CONFIG,
                   "“%s” must be true or false", name);
      return FALSE;
    }
  *out = json_node_get_boolean (node);
  return TRUE;
}

static gboolean
config_parse (NbClientConfig *config,
              const char     *path,
              const char     *text,
              gsize           len,
              GError        **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) local_error = NULL;
  g_autofree char *key_file = NULL;
  JsonObject *object;
  JsonNode *node;

  if (!json_parser_load_from_data (parser, text, len, &local_error))
    {
      g_set_error (error, NB_CLIENT_ERROR, NB_CLIENT_ERROR_CONFIG,
                   "%s is not JSON: %s", path, local_error->message);
      return FALSE;
    }
  node = json_parser_get_root (parser);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, NB_CLIENT_ERROR, NB_CLIENT_ERROR_CONFIG,
                   "%s does not hold a JSON object", path);
      return FALSE;
    }
  object = json_node_get_object (node);
  if (!get_string (object, "management_url", &config->management_url, error) ||
      !get_string (object, "hostname", &config->hostname, error) ||
      !get_string (object, "interface_name", &config->interface_name, error) ||
      !get_string (object, "preshared_key", &config->preshared_key, error) ||
      !get_string (object, "private_key_file", &key_file, error) ||
      !get_boolean (object, "block_inbound", &config->block_inbound, error) ||
      !get_boolean (object, "disable_firewall", &config->disable_firewall, error) ||
      !get_boolean (object, "disable_dns", &config->disable_dns, error))
    {
      g_prefix_error (error, "%s: ", path);
      return FALSE;
    }
  node = json_object_get_member (object, "wireguard_port");
  if (node != NULL)
    {
      gint64 port = JSON_NODE_HOLDS_VALUE (node) &&
                    json_node_get_value_type (node) == G_TYPE_INT64
                    ? json_node_get_int (node) : -1;

      if (port < 0 || port > 65535)
        {
          g_set_error (error, NB_CLIENT_ERROR, NB_CLIENT_ERROR_CONFIG,
                       "%s: “wireguard_port” must be a port number (0 for any)", path);
          return FALSE;
        }
      config->wireguard_port = port;
    }
  if (config->management_url == NULL || config->interface_name == NULL ||
      !nb_wg_uapi_server_check_name (config->interface_name, NULL))
    {
      g_set_error (error, NB_CLIENT_ERROR, NB_CLIENT_ERROR_CONFIG,
                   "%s: “interface_name” must be an interface name", path);
      return FALSE;
    }
  if (!nb_client_config_check_preshared_key (config->preshared_key, error))
    {
      g_prefix_error (error, "%s: ", path);
      return FALSE;
    }
  if (key_file != NULL && key_file[0] != '\0')
    {
      g_free (config->private_key_file);
      config->private_key_file = absolute_in (path, key_file);
    }
  return TRUE;
}

/* The directory of @path, made 0700 when it is not there. */
static gboolean
ensure_directory (const char  *path,
                  GError     **error)
{
  g_autofree char *dir = g_path_get_dirname (path);

  if (g_file_test (dir, G_FILE_TEST_IS_DIR))
    return TRUE;
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved = errno;

      g_set_error (error, NB_CLIENT_ERROR, NB_CLIENT_ERROR_CONFIG,
                   "Cannot make the directory %s: %s", dir, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

NbClientConfig *
nb_client_config_load (const char  *path,
                       GError     **error)
{
  g_autoptr(NbClientConfig) config = config_defaults (path);
  g_autoptr(GError) local_error = NULL;
  g_autofree char *text = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &text, &len, &local_error))
    {
      if (!g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        {
          g_set_error (error, NB_CLIENT_ERROR, NB_CLIENT_ERROR_CONFIG,
                       "Cannot read the configuration: %s", local_error->message);
          return NULL;
        }
      /* First start: the defaults, written for the next one. */
      if (!nb_client_config_save (config, path, error))
        return NULL;
      return g_steal_pointer (&config);
    }
  if (len > MAX_CONFIG_SIZE)
    {
      g_set_error (error, NB_CLIENT_ERROR, NB_CLIENT_ERROR_CONFIG,
                   "%s is larger than a configuration can be (%u bytes)", path,
                   MAX_CONFIG_SIZE);
      return NULL;
    }
  if (!config_parse (config, path, text, len, error))
    return NULL;
  return g_steal_pointer (&config);
}

gboolean
nb_client_config_save (const NbClientConfig *config,
                       const char           *path,
                       GError              **error)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *config_dir = g_path_get_dirname (path);
  g_autofree char *key_dir = g_path_get_dirname (config->private_key_file);
  g_autofree char *default_key = default_key_file (path);
  gsize len = 0;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "management_url");
  json_builder_add_string_value (b, config->management_url);
  if (config->hostname != NULL)
    {
      json_builder_set_member_name (b, "hostname");
      json_builder_add_string_value (b, config->hostname);
    }
  json_builder_set_member_name (b, "interface_name");
  json_builder_add_string_value (b, config->interface_name);
  json_builder_set_member_name (b, "wireguard_port");
  json_builder_add_int_value (b, config->wireguard_port);
  if (config->preshared_key != NULL)
    {
      json_builder_set_member_name (b, "preshared_key");
      json_builder_add_string_value (b, config->preshared_key);
    }
  json_builder_set_member_name (b, "block_inbound");
  json_builder_add_boolean_value (b, config->block_inbound);
  json_builder_set_member_name (b, "disable_firewall");
  json_builder_add_boolean_value (b, config->disable_firewall);
  json_builder_set_member_name (b, "disable_dns");
  json_builder_add_boolean_value (b, config->disable_dns);
  json_builder_set_member_name (b, "private_key_file");
  /* Beside the configuration: a name only, so the two move together. */
  if (g_str_equal (config->private_key_file, default_key) || g_str_equal (config_dir, key_dir))
    {
      g_autofree char *base = g_path_get_basename (config->private_key_file);
      json_builder_add_string_value (b, base);
    }
  else
    json_builder_add_string_value (b, config->private_key_file);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  text = json_generator_to_data (gen, &len);

  if (!ensure_directory (path, error))
    return FALSE;
  if (!g_file_set_contents_full (path, text, len,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0600, &local_error))
    {
      g_set_error (error, NB_CLIENT_ERROR, NB_CLIENT_ERROR_CONFIG,
                   "Cannot write the configuration: %s", local_error->message);
      sodium_memzero (text, len);
      return FALSE;
    }
  sodium_memzero (text, len);
  return TRUE;
}

NbKey *
nb_client_config_new_key (const NbClientConfig *config,
                          GError              **error)
{
  g_autoptr(NbKey) key = nb_key_generate ();
  g_autoptr(GError) local_error = NULL;

  if (!ensure_directory (config->private_key_file, error))
    return NULL;
  if (!nb_key_save_to_file (key, config->private_key_file, &local_error))
    {
      g_set_error (error, NB_CLIENT_ERROR, NB_CLIENT_ERROR_CONFIG,
                   "Cannot write the private key: %s", local_error->message);
      return NULL;
    }
  g_debug ("New WireGuard key %s in %s", nb_key_get_public_base64 (key),
           config->private_key_file);
  return g_steal_pointer (&key);
}

NbKey *
nb_client_config_load_key (const NbClientConfig *config,
                           GError              **error)
{
  g_autoptr(GError) local_error = NULL;
  NbKey *key;

  if (!g_file_test (config->private_key_file, G_FILE_TEST_EXISTS))
    return nb_client_config_new_key (config, error);
  key = nb_key_new_from_file (config->private_key_file, &local_error);
  if (key == NULL)
    g_set_error (error, NB_CLIENT_ERROR, NB_CLIENT_ERROR_CONFIG,
                 "Cannot use the private key: %s", local_error->message);
  return key;
}
