/* nb-mgmt-rest-json.c: reading request bodies with strict type checks
 *
 * NetBird's handlers decode bodies into typed Go structs: a field of the
 * wrong JSON type fails the whole request with 400 "couldn't parse JSON
 * request", and a value of the right type that breaks a rule fails with 422.
 * These helpers do the same with json-glib, naming the offending field.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-mgmt-rest"

#include <string.h>

#include "nb-mgmt-rest-private.h"
#include "nb-proto-codec-private.h"

G_DEFINE_QUARK (nb-mgmt-rest-error-quark, nb_mgmt_rest_error)

/* Deepest nesting we parse: no request of the API needs more than four
 * levels; a hostile body of a million '[' must not recurse that deep. */
#define MAX_JSON_DEPTH 32

/* Checks the raw text before it reaches the parser, as the client
 * protocol's codec does: nesting depth, escapes json-glib would decode to a
 * NUL (\u0000, or one of the malformed escapes its scanner takes), which
 * would cut a string short once it becomes a C string, so that "a\u0000b"
 * could pass for "a", and numbers json-glib would read as other numbers.
 * A number out of range breaks a rule of the value, not of JSON: 422, as
 * NetBird answers a value out of range; the rest is 400. */
static gboolean
json_text_check (const char *data,
                 gsize       len,
                 GError    **error)
{
  g_autoptr(GError) local_error = NULL;

  if (!nb_proto_json_check_text (data, len, MAX_JSON_DEPTH, "the request", &local_error))
    {
      if (g_error_matches (local_error, NB_PROTO_ERROR, NB_PROTO_ERROR_OUT_OF_RANGE))
        g_set_error_literal (error, NB_MGMT_REST_ERROR, SOUP_STATUS_UNPROCESSABLE_ENTITY,
                             local_error->message);
      else
        g_set_error (error, NB_MGMT_REST_ERROR, SOUP_STATUS_BAD_REQUEST,
                     "couldn't parse JSON request: %s", local_error->message);
      return FALSE;
    }
  return TRUE;
}

/**
 * nb_rest_parse_body_object:
 * @ctx: the request
 * @error: 400 when the body is not one JSON object
 *
 * Returns: (transfer full): the request body's top-level object
 */
JsonObject *
nb_rest_parse_body_object (NbRestCtx *ctx,
                           GError   **error)
{
  gsize len = 0;
  const char *data = (const char *) nb_rest_body_bytes (ctx, &len);
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) local_error = NULL;
  JsonNode *root;

  if (len == 0 || data == NULL)
    {
      g_set_error (error, NB_MGMT_REST_ERROR, SOUP_STATUS_BAD_REQUEST,
                   "couldn't parse JSON request: the request body is empty");
      return NULL;
    }
  if (!g_utf8_validate (data, len, NULL))
    {
      g_set_error (error, NB_MGMT_REST_ERROR, SOUP_STATUS_BAD_REQUEST,
                   "couldn't parse JSON request: the body is not valid UTF-8");
      return NULL;
    }
  if (!json_text_check (data, len, error))
    return NULL;

  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, data, (gssize) len, &local_error))
    {
      g_set_error (error, NB_MGMT_REST_ERROR, SOUP_STATUS_BAD_REQUEST,
                   "couldn't parse JSON request: %s", local_error->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, NB_MGMT_REST_ERROR, SOUP_STATUS_BAD_REQUEST,
                   "couldn't parse JSON request: the body must be a JSON object");
      return NULL;
    }
  return json_object_ref (json_node_get_object (root));
}

static const char *
json_type_name (JsonNode *node)
{
  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_OBJECT:
      return "an object";
    case JSON_NODE_ARRAY:
      return "an array";
    case JSON_NODE_NULL:
      return "null";
    case JSON_NODE_VALUE:
      switch (json_node_get_value_type (node))
        {
        case G_TYPE_STRING:
          return "a string";
        case G_TYPE_BOOLEAN:
          return "a boolean";
        case G_TYPE_INT64:
          return "an integer";
        case G_TYPE_DOUBLE:
          return "a number with a fraction";
        default:
          return "a value";
        }
    default:
      return "a value";
    }
}

/* Looks @field up: FALSE with 422 when required and missing. *node is
 * NULL when absent (or null, which NetBird's decoder treats as absent). */
static gboolean
lookup (JsonObject  *obj,
        const char  *field,
        gboolean     required,
        JsonNode   **node,
        GError     **error)
{
  JsonNode *n = json_object_get_member (obj, field);

  if (n != NULL && JSON_NODE_HOLDS_NULL (n))
    n = NULL;
  if (n == NULL && required)
    {
      g_set_error (error, NB_MGMT_REST_ERROR, SOUP_STATUS_UNPROCESSABLE_ENTITY,
                   "%s is required", field);
      return FALSE;
    }
  *node = n;
  return TRUE;
}

static gboolean
wrong_type (const char *field,
            const char *want,
            JsonNode   *node,
            GError    **error)
{
  g_set_error (error, NB_MGMT_REST_ERROR, SOUP_STATUS_BAD_REQUEST,
               "couldn't parse JSON request: %s must be %s, not %s",
               field, want, json_type_name (node));
  return FALSE;
}

/* lookup(), then 400 unless the node is of @type (and, for a value, of
 * @value_type); *present (optional) says whether it was there. */
static gboolean
lookup_typed (JsonObject   *obj,
              const char   *field,
              gboolean      required,
              JsonNodeType  type,
              GType         value_type,
              const char   *want,
              JsonNode    **node,
              gboolean     *present,
              GError      **error)
{
  if (present != NULL)
    *present = FALSE;
  if (!lookup (obj, field, required, node, error))
    return FALSE;
  if (*node == NULL)
    return TRUE;
  if (json_node_get_node_type (*node) != type ||
      (type == JSON_NODE_VALUE && json_node_get_value_type (*node) != value_type))
    return wrong_type (field, want, *node, error);
  if (present != NULL)
    *present = TRUE;
  return TRUE;
}

/* json-glib decodes an unpaired surrogate escape ("\ud800") to bytes that
 * are not UTF-8, though the body itself was. */
static gboolean
check_decoded (const char *value,
               const char *field,
               guint       index,
               gboolean    in_array,
               GError    **error)
{
  if (g_utf8_validate (value, -1, NULL))
    return TRUE;
  if (in_array)
    g_set_error (error, NB_MGMT_REST_ERROR, SOUP_STATUS_BAD_REQUEST,
                 "couldn't parse JSON request: %s[%u] is not valid UTF-8 (an unpaired surrogate?)",
                 field, index);
  else
    g_set_error (error, NB_MGMT_REST_ERROR, SOUP_STATUS_BAD_REQUEST,
                 "couldn't parse JSON request: %s is not valid UTF-8 (an unpaired surrogate?)", field);
  return FALSE;
}

gboolean
nb_rest_json_get_string (JsonObject  *obj,
                         const char  *field,
                         gboolean     required,
                         const char **out,
                         GError     **error)
{
  JsonNode *n;

  *out = NULL;
  if (!lookup_typed (obj, field, required, JSON_NODE_VALUE, G_TYPE_STRING, "a string", &n, NULL, error))
    return FALSE;
  if (n != NULL)
    {
      if (!check_decoded (json_node_get_string (n), field, 0, FALSE, error))
        return FALSE;
      *out = json_node_get_string (n);
    }
  return TRUE;
}

gboolean
nb_rest_json_get_bool (JsonObject *obj,
                       const char *field,
                       gboolean    required,
                       gboolean   *out,
                       gboolean   *present,
                       GError    **error)
{
  JsonNode *n;

  if (!lookup_typed (obj, field, required, JSON_NODE_VALUE, G_TYPE_BOOLEAN, "a boolean", &n, present, error))
    return FALSE;
  if (n != NULL)
    *out = json_node_get_boolean (n);
  return TRUE;
}

gboolean
nb_rest_json_get_int (JsonObject *obj,
                      const char *field,
                      gboolean    required,
                      gint64     *out,
                      gboolean   *present,
                      GError    **error)
{
  JsonNode *n;

  if (!lookup_typed (obj, field, required, JSON_NODE_VALUE, G_TYPE_INT64, "an integer", &n, present, error))
    return FALSE;
  if (n != NULL)
    *out = json_node_get_int (n);
  return TRUE;
}

gboolean
nb_rest_json_get_string_array (JsonObject *obj,
                               const char *field,
                               gboolean    required,
                               GPtrArray **out,
                               GError    **error)
{
  JsonNode *n;
  JsonArray *arr;
  g_autoptr(GPtrArray) strings = NULL;
  guint len;

  *out = NULL;
  if (!lookup_typed (obj, field, required, JSON_NODE_ARRAY, G_TYPE_INVALID, "an array of strings", &n, NULL,
                     error))
    return FALSE;
  if (n == NULL)
    return TRUE;

  arr = json_node_get_array (n);
  len = json_array_get_length (arr);
  strings = g_ptr_array_new_full (len + 1, g_free);
  for (guint i = 0; i < len; i++)
    {
      JsonNode *e = json_array_get_element (arr, i);

      if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_STRING)
        {
          g_set_error (error, NB_MGMT_REST_ERROR, SOUP_STATUS_BAD_REQUEST,
                       "couldn't parse JSON request: %s[%u] must be a string, not %s",
                       field, i, json_type_name (e));
          return FALSE;
        }
      if (!check_decoded (json_node_get_string (e), field, i, TRUE, error))
        return FALSE;
      g_ptr_array_add (strings, g_strdup (json_node_get_string (e)));
    }
  *out = g_steal_pointer (&strings);
  return TRUE;
}

gboolean
nb_rest_json_get_object (JsonObject  *obj,
                         const char  *field,
                         gboolean     required,
                         JsonObject **out,
                         GError     **error)
{
  JsonNode *n;

  *out = NULL;
  if (!lookup_typed (obj, field, required, JSON_NODE_OBJECT, G_TYPE_INVALID, "an object", &n, NULL, error))
    return FALSE;
  if (n != NULL)
    *out = json_node_get_object (n);
  return TRUE;
}

gboolean
nb_rest_json_get_array (JsonObject *obj,
                        const char *field,
                        gboolean    required,
                        JsonArray **out,
                        GError    **error)
{
  JsonNode *n;

  *out = NULL;
  if (!lookup_typed (obj, field, required, JSON_NODE_ARRAY, G_TYPE_INVALID, "an array", &n, NULL, error))
    return FALSE;
  if (n != NULL)
    *out = json_node_get_array (n);
  return TRUE;
}

void
nb_rest_builder_add_time (NbJsonWriter *b,
                          const char   *field,
                          gint64        unix_seconds)
{
  nb_json_writer_member (b, field);
  nb_json_writer_time (b, unix_seconds);
}

void
nb_rest_builder_add_string (NbJsonWriter *b,
                            const char  *field,
                            const char  *value)
{
  nb_json_writer_member (b, field);
  nb_json_writer_string (b, value ? value : "");
}

void
nb_rest_builder_add_bool (NbJsonWriter *b,
                          const char   *field,
                          gboolean      value)
{
  nb_json_writer_member (b, field);
  nb_json_writer_bool (b, value);
}

void
nb_rest_builder_add_int (NbJsonWriter *b,
                         const char   *field,
                         gint64        value)
{
  nb_json_writer_member (b, field);
  nb_json_writer_int (b, value);
}

void
nb_rest_builder_add_strv (NbJsonWriter      *b,
                          const char        *field,
                          const char *const *values)
{
  nb_json_writer_member (b, field);
  nb_json_writer_begin_array (b);
  for (guint i = 0; values && values[i]; i++)
    nb_json_writer_string (b, values[i]);
  nb_json_writer_end_array (b);
}

void
nb_rest_builder_add_ptr_strings (NbJsonWriter *b,
                                 const char  *field,
                                 GPtrArray   *values)
{
  nb_json_writer_member (b, field);
  nb_json_writer_begin_array (b);
  for (guint i = 0; values && i < values->len; i++)
    nb_json_writer_string (b, g_ptr_array_index (values, i));
  nb_json_writer_end_array (b);
}

const char *
nb_rest_query (NbRestCtx  *ctx,
               const char *name)
{
  if (ctx->query == NULL)
    return NULL;
  return g_hash_table_lookup (ctx->query, name);
}

gboolean
nb_rest_json_get_strv (JsonObject *obj,
                       const char *field,
                       gboolean    required,
                       char     ***out,
                       GError    **error)
{
  g_autoptr(GPtrArray) strings = NULL;

  *out = NULL;
  if (!nb_rest_json_get_string_array (obj, field, required, &strings, error))
    return FALSE;
  if (strings == NULL)
    return TRUE;
  g_ptr_array_add (strings, NULL);
  *out = (char **) g_ptr_array_free (g_steal_pointer (&strings), FALSE);
  return TRUE;
}
