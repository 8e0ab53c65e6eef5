/* nb-proto-codec.c: table-driven JSON codecs for wire messages
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-proto"

#include <math.h>
#include <string.h>

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "nb-proto-codec-private.h"
#include "nb-key.h"
#include "nb-key-private.h"
#include "nb-text-private.h"

#define FIELD_PTR(message, field) ((guint8 *) (message) + (field)->offset)

gpointer
nb_proto_message_new (const NbProtoMessageDesc *desc)
{
  gpointer message = g_malloc0 (desc->size);

  for (guint i = 0; i < desc->n_fields; i++)
    {
      const NbProtoField *field = &desc->fields[i];
      GPtrArray **array = (GPtrArray **) FIELD_PTR (message, field);

      if (field->type == NB_PROTO_FIELD_STRV)
        *array = g_ptr_array_new_with_free_func (g_free);
      else if (field->type == NB_PROTO_FIELD_MESSAGES)
        *array = g_ptr_array_new ();
    }

  return message;
}

void
nb_proto_message_free (const NbProtoMessageDesc *desc,
                       gpointer                  message)
{
  if (message == NULL)
    return;

  for (guint i = 0; i < desc->n_fields; i++)
    {
      const NbProtoField *field = &desc->fields[i];
      gpointer slot = FIELD_PTR (message, field);

      switch (field->type)
        {
        case NB_PROTO_FIELD_STRING:
          g_free (*(char **) slot);
          break;
        case NB_PROTO_FIELD_MESSAGE:
          nb_proto_message_free (field->message, *(gpointer *) slot);
          break;
        case NB_PROTO_FIELD_STRV:
          g_clear_pointer ((GPtrArray **) slot, g_ptr_array_unref);
          break;
        case NB_PROTO_FIELD_MESSAGES:
          {
            GPtrArray *array = *(GPtrArray **) slot;

            if (array == NULL)
              break;
            /* The array has no free function (it would need the
             * descriptor): its elements are freed here. */
            for (guint j = 0; j < array->len; j++)
              nb_proto_message_free (field->message, g_ptr_array_index (array, j));
            g_ptr_array_unref (array);
          }
          break;
        case NB_PROTO_FIELD_BOOL:
        case NB_PROTO_FIELD_INT:
        case NB_PROTO_FIELD_ENUM:
        default:
          break;
        }
    }

  g_free (message);
}

/* ---- reading ---- */

/* Checks JSON text before json-glib parses it.
 *
 * Depth: json-glib's parser recurses once per nesting level, so deep
 * nesting is refused before it sees the text, and no input can exhaust the
 * stack.
 *
 * Escapes: json-glib decodes a string into a C string and gives no length,
 * so a string that decodes to a NUL ends there: "abc\u0000def" would read
 * as "abc", and a member named "hostname\u0000x" as "hostname". Its
 * scanner is also lenient: "\u000g" decodes to a NUL as well, "\q" to "q".
 * Only the text can tell, so the text is where both are refused: every
 * escape must be one of RFC 8259 §7, and none may be \u0000.
 *
 * Numbers: json-glib reads an integer literal beyond 64 bits without an
 * error, as the bits strtoull() leaves (99999999999999999999999 becomes
 * -1, 9223372036854775808 becomes G_MININT64), so a parsed value cannot
 * tell an overflow from a real -1. An integer must fit in 64 bits and a
 * number with a fraction or an exponent must be finite; the error names
 * the member the number belongs to. */
static gboolean
check_number (const char  *number,
              gsize        len,
              const char  *key,
              gsize        key_len,
              const char  *what,
              GError     **error)
{
  char text[64];
  gboolean integer;
  gboolean ok;

  /* Longer than any 64-bit integer or double needs: out of range or
   * absurd either way (json-glib refuses what is not a number). */
  if (len >= sizeof text)
    ok = FALSE, integer = memchr (number, '.', len) == NULL;
  else
    {
      memcpy (text, number, len);
      text[len] = '\0';
      integer = strpbrk (text, ".eE") == NULL;
      if (integer)
        ok = g_ascii_string_to_signed (text, 10, G_MININT64, G_MAXINT64, NULL, NULL);
      else
        ok = isfinite (g_ascii_strtod (text, NULL));
    }
  if (ok)
    return TRUE;

  g_set_error (error, NB_PROTO_ERROR, NB_PROTO_ERROR_OUT_OF_RANGE,
               "%s%s%.*s%s%.*s%s is out of range: %s", what,
               key != NULL ? ", “" : ": ", key != NULL ? (int) MIN (key_len, 64) : 0,
               key != NULL ? key : "", key != NULL ? "”: " : "",
               (int) MIN (len, 32), number, len > 32 ? "…" : "",
               integer ? "an integer must be between -9223372036854775808 and "
                         "9223372036854775807"
                       : "a number must be finite");
  return FALSE;
}

gboolean
nb_proto_json_check_text (const char  *data,
                          gsize        length,
                          guint        max_depth,
                          const char  *what,
                          GError     **error)
{
  gboolean in_string = FALSE;
  gsize string_start = 0;
  const char *key = NULL;       /* the last member name seen */
  gsize key_len = 0;
  guint depth = 0;

  for (gsize i = 0; i < length; i++)
    {
      char c = data[i];

      if (in_string)
        {
          if (c == '"')
            {
              gsize next = i + 1;

              in_string = FALSE;
              while (next < length && g_ascii_isspace (data[next]))
                next++;
              if (next < length && data[next] == ':')
                {
                  key = data + string_start;
                  key_len = i - string_start;
                }
            }
          if (c != '\\' || i + 1 == length)
            continue; /* a lone backslash at the end: the parser says so */

          switch (data[i + 1])
            {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
              i++;
              continue;
            case 'u':
              if (i + 5 < length && g_ascii_isxdigit (data[i + 2]) && g_ascii_isxdigit (data[i + 3]) &&
                  g_ascii_isxdigit (data[i + 4]) && g_ascii_isxdigit (data[i + 5]))
                {
                  if (memcmp (data + i + 2, "0000", 4) == 0)
                    {
                      g_set_error (error, NB_PROTO_ERROR, NB_PROTO_ERROR_INVALID_VALUE,
                                   "%s holds an escaped NUL character (\\u0000) at byte %"
                                   G_GSIZE_FORMAT ": no name or value may hold one", what, i);
                      return FALSE;
                    }
                  i += 5;
                  continue;
                }
              break;
            default:
              break;
            }
          g_set_error (error, NB_PROTO_ERROR, NB_PROTO_ERROR_MALFORMED,
                       "%s holds an invalid escape sequence at byte %" G_GSIZE_FORMAT
                       " (JSON has \\\" \\\\ \\/ \\b \\f \\n \\r \\t and \\u with four hex digits)",
                       what, i);
          return FALSE;
        }

      if (c == '-' || g_ascii_isdigit (c))
        {
          gsize end = i + 1;

          while (end < length && (g_ascii_isdigit (data[end]) || strchr (".eE+-", data[end]) != NULL))
            end++;
          if (!check_number (data + i, end - i, key, key_len, what, error))
            return FALSE;
          i = end - 1;
          continue;
        }

      switch (c)
        {
        case '"':
          in_string = TRUE;
          string_start = i + 1;
          break;
        case '{':
        case '[':
          if (++depth > max_depth)
            {
              g_set_error (error, NB_PROTO_ERROR, NB_PROTO_ERROR_TOO_LARGE,
                           "%s nests deeper than %u levels", what, max_depth);
              return FALSE;
            }
          break;
        case '}':
        case ']':
          if (depth > 0)
            depth--;
          break;
        default:
          break;
        }
    }

  return TRUE;
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
    default:
      switch (json_node_get_value_type (node))
        {
        case G_TYPE_STRING:
          return "a string";
        case G_TYPE_BOOLEAN:
          return "a boolean";
        case G_TYPE_INT64:
          return "an integer";
        case G_TYPE_DOUBLE:
          return "a fractional number";
        default:
          return "a value";
        }
    }
}

static gboolean
wrong_type (JsonNode    *node,
            const char  *path,
            const char  *expected,
            GError     **error)
{
  g_set_error (error, NB_PROTO_ERROR, NB_PROTO_ERROR_WRONG_TYPE,
               "Field “%s” must be %s, not %s", path, expected, json_type_name (node));
  return FALSE;
}

static gboolean
read_string (JsonNode            *node,
             const NbProtoField  *field,
             const char          *path,
             char               **out,
             GError             **error)
{
  const char *value;
  gsize len;
  gssize unsafe_at;
  gunichar unsafe = 0;

  if (json_node_get_node_type (node) != JSON_NODE_VALUE ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return wrong_type (node, path, "a string", error);

  value = json_node_get_string (node);
  /* The whole string: nb_proto_json_check_text() refused an escaped NUL,
   * the one thing that would make strlen() stop short of its end. */
  len = strlen (value);
  if (len > field->max_len)
    {
      g_set_error (error, NB_PROTO_ERROR, NB_PROTO_ERROR_TOO_LARGE,
                   "Field “%s” is %" G_GSIZE_FORMAT " bytes long, at most %" G_GSIZE_FORMAT
                   " are allowed", path, len, field->max_len);
      return FALSE;
    }
  if (!g_utf8_validate (value, len, NULL))
    {
      g_set_error (error, NB_PROTO_ERROR, NB_PROTO_ERROR_INVALID_VALUE,
                   "Field “%s” is not valid UTF-8", path);
      return FALSE;
    }
  /* No string of the protocol (names, keys, versions, addresses, URIs)
   * needs a control, a line break, a bidirectional or an invisible format
   * character, and each of them can make a name shown to people lie. */
  unsafe_at = nb_text_find_unsafe (value, len, &unsafe);
  if (unsafe_at >= 0)
    {
      g_autofree char *what = nb_text_describe_char (unsafe);

      g_set_error (error, NB_PROTO_ERROR, NB_PROTO_ERROR_INVALID_VALUE,
                   "Field “%s” holds %s at byte %" G_GSSIZE_FORMAT ", which no field may hold",
                   path, what, unsafe_at);
      return FALSE;
    }
  if (field->validate != NULL && !(len == 0 && (field->flags & NB_PROTO_FIELD_EMPTY_OK)) &&
      !field->validate (value, path, error))
    return FALSE;

  *out = g_strndup (value, len);
  return TRUE;
}

static gboolean read_object (const NbProtoMessageDesc *desc,
                             JsonNode                 *node,
                             GString                  *path,
                             gpointer                 *out,
                             GError                  **error);

static gboolean
read_field (const NbProtoField  *field,
            JsonNode            *node,
            GString             *path,
            gpointer             message,
            GError             **error)
{
  gpointer slot = FIELD_PTR (message, field);

  switch (field->type)
    {
    case NB_PROTO_FIELD_STRING:
      return read_string (node, field, path->str, (char **) slot, error);

    case NB_PROTO_FIELD_BOOL:
      if (json_node_get_node_type (node) != JSON_NODE_VALUE ||
          json_node_get_value_type (node) != G_TYPE_BOOLEAN)
        return wrong_type (node, path->str, "true or false", error);
      *(gboolean *) slot = json_node_get_boolean (node);
      return TRUE;

    case NB_PROTO_FIELD_INT:
      {
        gint64 value;

        if (json_node_get_node_type (node) != JSON_NODE_VALUE ||
            json_node_get_value_type (node) != G_TYPE_INT64)
          return wrong_type (node, path->str, "an integer", error);
        value = json_node_get_int (node);
        if (value < field->min || value > field->max)
          {
            g_set_error (error, NB_PROTO_ERROR, NB_PROTO_ERROR_INVALID_VALUE,
                         "Field “%s” is %" G_GINT64_FORMAT ", it must be between %"
                         G_GINT64_FORMAT " and %" G_GINT64_FORMAT,
                         path->str, value, field->min, field->max);
            return FALSE;
          }
        *(gint64 *) slot = value;
        return TRUE;
      }

    case NB_PROTO_FIELD_ENUM:
      {
        const char *value;
        g_autofree char *names = NULL;

        if (json_node_get_node_type (node) != JSON_NODE_VALUE ||
            json_node_get_value_type (node) != G_TYPE_STRING)
          return wrong_type (node, path->str, "a string", error);
        value = json_node_get_string (node);
        for (int i = 0; field->enum_names[i] != NULL; i++)
          if (g_str_equal (value, field->enum_names[i]))
            {
              *(int *) slot = i;
              return TRUE;
            }
        names = g_strjoinv (", ", (char **) field->enum_names);
        g_set_error (error, NB_PROTO_ERROR, NB_PROTO_ERROR_INVALID_VALUE,
                     "Field “%s” must be one of %s", path->str, names);
        return FALSE;
      }

    case NB_PROTO_FIELD_MESSAGE:
      return read_object (field->message, node, path, (gpointer *) slot, error);

    case NB_PROTO_FIELD_STRV:
    case NB_PROTO_FIELD_MESSAGES:
      {
        GPtrArray *array = *(GPtrArray **) slot;
        JsonArray *elements;
        guint n;
        gsize path_len = path->len;

        if (json_node_get_node_type (node) != JSON_NODE_ARRAY)
          return wrong_type (node, path->str, "an array", error);
        elements = json_node_get_array (node);
        n = json_array_get_length (elements);
        if (n > field->max_count)
          {
            g_set_error (error, NB_PROTO_ERROR, NB_PROTO_ERROR_TOO_LARGE,
                         "Field “%s” has %u elements, at most %" G_GSIZE_FORMAT
                         " are allowed", path->str, n, field->max_count);
            return FALSE;
          }
        g_ptr_array_set_size (array, 0);
        for (guint i = 0; i < n; i++)
          {
            JsonNode *element = json_array_get_element (elements, i);
            gpointer value = NULL;
            gboolean ok;

            g_string_append_printf (path, "[%u]", i);
            if (field->type == NB_PROTO_FIELD_STRV)
              ok = read_string (element, field, path->str, (char **) &value, error);
            else
              ok = read_object (field->message, element, path, &value, error);
            g_string_truncate (path, path_len);
            if (!ok)
              return FALSE;
            g_ptr_array_add (array, value);
          }
        return TRUE;
      }

    default:
      g_assert_not_reached ();
    }
}

static gboolean
read_object (const NbProtoMessageDesc *desc,
             JsonNode                 *node,
             GString                  *path,
             gpointer                 *out,
             GError                  **error)
{
  JsonObject *object;
  gpointer message;
  gsize path_len = path->len;

  if (json_node_get_node_type (node) != JSON_NODE_OBJECT)
    {
      if (path->len == 0)
        {
          g_set_error (error, NB_PROTO_ERROR, NB_PROTO_ERROR_MALFORMED,
                       "A %s must be a JSON object, not %s", desc->name, json_type_name (node));
          return FALSE;
        }
      return wrong_type (node, path->str, "an object", error);
    }

  object = json_node_get_object (node);
  message = nb_proto_message_new (desc);

  for (guint i = 0; i < desc->n_fields; i++)
    {
      const NbProtoField *field = &desc->fields[i];
      JsonNode *member = json_object_get_member (object, field->name);
      gboolean ok;

      if (path_len > 0)
        g_string_append_c (path, '.');
      g_string_append (path, field->name);

      if (member == NULL || JSON_NODE_HOLDS_NULL (member))
        {
          ok = !(field->flags & NB_PROTO_FIELD_REQUIRED);
          if (!ok)
            g_set_error (error, NB_PROTO_ERROR, NB_PROTO_ERROR_MISSING_FIELD,
                         "A %s must have the field “%s”", desc->name, path->str);
        }
      else
        {
          ok = read_field (field, member, path, message, error);
        }
      g_string_truncate (path, path_len);

      if (!ok)
        {
          nb_proto_message_free (desc, message);
          return FALSE;
        }
    }

  if (desc->check != NULL && !desc->check (message, error))
    {
      nb_proto_message_free (desc, message);
      return FALSE;
    }

  *out = message;
  return TRUE;
}

gpointer
nb_proto_message_from_data (const NbProtoMessageDesc *desc,
                            const char               *data,
                            gsize                     length,
                            gsize                     max_size,
                            GError                  **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GString) path = NULL;
  gpointer message = NULL;
  JsonNode *root;
  char what[96];

  g_return_val_if_fail (desc != NULL, NULL);
  g_return_val_if_fail (data != NULL || length == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (length > max_size)
    {
      g_set_error (error, NB_PROTO_ERROR, NB_PROTO_ERROR_TOO_LARGE,
                   "A %s of %" G_GSIZE_FORMAT " bytes is larger than the %" G_GSIZE_FORMAT
                   " bytes allowed", desc->name, length, max_size);
      return NULL;
    }
  if (length == 0)
    {
      g_set_error (error, NB_PROTO_ERROR, NB_PROTO_ERROR_MALFORMED,
                   "A %s cannot be empty", desc->name);
      return NULL;
    }
  if (memchr (data, '\0', length) != NULL)
    {
      g_set_error (error, NB_PROTO_ERROR, NB_PROTO_ERROR_MALFORMED,
                   "A %s must be JSON text, and this one holds a NUL byte", desc->name);
      return NULL;
    }
  g_snprintf (what, sizeof what, "A %s", desc->name);
  if (!nb_proto_json_check_text (data, length, NB_PROTO_MAX_DEPTH, what, error))
    return NULL;

  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, data, (gssize) length, &local_error))
    {
      g_set_error (error, NB_PROTO_ERROR, NB_PROTO_ERROR_MALFORMED,
                   "A %s must be valid JSON: %s", desc->name, local_error->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL)
    {
      g_set_error (error, NB_PROTO_ERROR, NB_PROTO_ERROR_MALFORMED,
                   "A %s cannot be empty", desc->name);
      return NULL;
    }

  path = g_string_new (NULL);
  if (!read_object (desc, root, path, &message, error))
    return NULL;
  return message;
}

gpointer
nb_proto_message_from_bytes (const NbProtoMessageDesc *desc,
                             GBytes                   *bytes,
                             gsize                     max_size,
                             GError                  **error)
{
  gsize length = 0;
  const char *data;

  g_return_val_if_fail (bytes != NULL, NULL);

  data = g_bytes_get_data (bytes, &length);
  return nb_proto_message_from_data (desc, data != NULL ? data : "", length, max_size, error);
}

/* ---- writing ---- */

void
nb_proto_write_json_string (GString    *out,
                            const char *value)
{
  static const char hex[] = "0123456789abcdef";
  const char *run = value;
  const char *p;

  g_string_append_c (out, '"');
  /* Copy runs of plain characters at once; escape the rest (RFC 8259 §7). */
  for (p = value; *p != '\0'; p++)
    {
      guchar c = (guchar) *p;

      if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
        continue;

      g_string_append_len (out, run, p - run);
      run = p + 1;
      switch (c)
        {
        case '"':
          g_string_append_len (out, "\\\"", 2);
          break;
        case '\\':
          g_string_append_len (out, "\\\\", 2);
          break;
        case '\n':
          g_string_append_len (out, "\\n", 2);
          break;
        case '\r':
          g_string_append_len (out, "\\r", 2);
          break;
        case '\t':
          g_string_append_len (out, "\\t", 2);
          break;
        default:
          g_string_append_len (out, "\\u00", 4);
          g_string_append_c (out, hex[c >> 4]);
          g_string_append_c (out, hex[c & 0xf]);
          break;
        }
    }
  g_string_append_len (out, run, p - run);
  g_string_append_c (out, '"');
}

void
nb_proto_message_write (const NbProtoMessageDesc *desc,
                        gconstpointer             message,
                        GString                  *out)
{
  gboolean first = TRUE;

  g_string_append_c (out, '{');
  for (guint i = 0; i < desc->n_fields; i++)
    {
      const NbProtoField *field = &desc->fields[i];
      gconstpointer slot = (const guint8 *) message + field->offset;

      /* Absent strings and messages are left out. */
      if ((field->type == NB_PROTO_FIELD_STRING || field->type == NB_PROTO_FIELD_MESSAGE) &&
          *(gconstpointer *) slot == NULL)
        continue;

      if (!first)
        g_string_append_c (out, ',');
      first = FALSE;
      nb_proto_write_json_string (out, field->name);
      g_string_append_c (out, ':');

      switch (field->type)
        {
        case NB_PROTO_FIELD_STRING:
          nb_proto_write_json_string (out, *(const char *const *) slot);
          break;
        case NB_PROTO_FIELD_BOOL:
          g_string_append (out, *(const gboolean *) slot ? "true" : "false");
          break;
        case NB_PROTO_FIELD_INT:
          g_string_append_printf (out, "%" G_GINT64_FORMAT, *(const gint64 *) slot);
          break;
        case NB_PROTO_FIELD_ENUM:
          {
            int value = *(const int *) slot;
            int n = 0;

            while (field->enum_names[n] != NULL)
              n++;
            g_return_if_fail (value >= 0 && value < n);
            nb_proto_write_json_string (out, field->enum_names[value]);
          }
          break;
        case NB_PROTO_FIELD_MESSAGE:
          nb_proto_message_write (field->message, *(gconstpointer *) slot, out);
          break;
        case NB_PROTO_FIELD_STRV:
        case NB_PROTO_FIELD_MESSAGES:
          {
            GPtrArray *array = *(GPtrArray *const *) slot;

            g_string_append_c (out, '[');
            for (guint j = 0; array != NULL && j < array->len; j++)
              {
                if (j > 0)
                  g_string_append_c (out, ',');
                if (field->type == NB_PROTO_FIELD_STRV)
                  nb_proto_write_json_string (out, g_ptr_array_index (array, j));
                else
                  nb_proto_message_write (field->message, g_ptr_array_index (array, j), out);
              }
            g_string_append_c (out, ']');
          }
          break;
        default:
          g_assert_not_reached ();
        }
    }
  g_string_append_c (out, '}');
}

GBytes *
nb_proto_message_to_bytes (const NbProtoMessageDesc *desc,
                           gconstpointer             message)
{
  GString *out = g_string_sized_new (256);

  g_return_val_if_fail (message != NULL, NULL);

  nb_proto_message_write (desc, message, out);
  return g_string_free_to_bytes (out);
}

/* ---- validators ---- */

gboolean
nb_proto_validate_key (const char  *value,
                       const char  *what,
                       GError     **error)
{
  g_autoptr(NbKey) key = NULL;
  g_autoptr(GError) local_error = NULL;

  /* The same check without making a key; the key only for the error's
   * words. */
  if (nb_key_base64_is_valid (value))
    return TRUE;
  key = nb_key_new_public_from_base64 (value, &local_error);
  if (key == NULL)
    {
      g_set_error (error, NB_PROTO_ERROR, NB_PROTO_ERROR_INVALID_VALUE,
                   "Field “%s” is not a WireGuard public key: %s", what, local_error->message);
      return FALSE;
    }
  return TRUE;
}

static gboolean
parse_ip (const char *value,
          guint      *max_prefix)
{
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string (value);

  if (address == NULL)
    return FALSE;
  if (max_prefix != NULL)
    *max_prefix = g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV4 ? 32 : 128;
  return TRUE;
}

gboolean
nb_proto_validate_ip (const char  *value,
                      const char  *what,
                      GError     **error)
{
  if (!parse_ip (value, NULL))
    {
      g_set_error (error, NB_PROTO_ERROR, NB_PROTO_ERROR_INVALID_VALUE,
                   "Field “%s” is “%s”, which is not an IP address", what, value);
      return FALSE;
    }
  return TRUE;
}

/* ADDRESS/LENGTH; the address may have host bits set ("100.64.0.7/10" says
 * both a peer's address and its network). */
gboolean
nb_proto_validate_prefix (const char  *value,
                          const char  *what,
                          GError     **error)
{
  const char *slash = strchr (value, '/');
  g_autofree char *address = NULL;
  guint max_prefix = 0;
  guint64 length = 0;
  const char *digits;

  if (slash == NULL)
    goto invalid;
  address = g_strndup (value, slash - value);
  if (!parse_ip (address, &max_prefix))
    goto invalid;
  digits = slash + 1;
  if (*digits == '\0' || strlen (digits) > 3 || strspn (digits, "0123456789") != strlen (digits))
    goto invalid;
  length = g_ascii_strtoull (digits, NULL, 10);
  if (length > max_prefix)
    goto invalid;
  return TRUE;

invalid:
  g_set_error (error, NB_PROTO_ERROR, NB_PROTO_ERROR_INVALID_VALUE,
               "Field “%s” is “%s”, which is not an address with a prefix length "
               "(like 100.64.0.1/10)", what, value);
  return FALSE;
}

/* RFC 1035 §2.3.4: at most 253 characters, labels of 1..63 letters, digits,
 * hyphens (and underscores, which service records use); a trailing dot and
 * a leading wildcard label are allowed. */
gboolean
nb_proto_validate_dns_name (const char  *value,
                            const char  *what,
                            GError     **error)
{
  gsize len = strlen (value);
  gsize label = 0;

  if (len == 0 || len > 254 || (len == 254 && value[253] != '.'))
    goto invalid;
  if (g_str_has_prefix (value, "*."))
    value += 2;
  for (const char *p = value; ; p++)
    {
      if (*p == '.' || *p == '\0')
        {
          if (label == 0 && !(*p == '\0' && p != value && p[-1] == '.'))
            goto invalid;
          if (*p == '\0')
            break;
          label = 0;
          continue;
        }
      if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_')
        goto invalid;
      if (++label > 63)
        goto invalid;
    }
  return TRUE;

invalid:
  g_set_error (error, NB_PROTO_ERROR, NB_PROTO_ERROR_INVALID_VALUE,
               "Field “%s” is “%s”, which is not a DNS name", what, value);
  return FALSE;
}

/* SCHEME:REST, e.g. stun:stun.example.org:3478 or https://signal.example:443 */
gboolean
nb_proto_validate_uri (const char  *value,
                       const char  *what,
                       GError     **error)
{
  const char *colon = strchr (value, ':');

  if (colon == NULL || colon == value || colon[1] == '\0')
    goto invalid;
  for (const char *p = value; p < colon; p++)
    if (!g_ascii_isalnum (*p) && *p != '+' && *p != '-' && *p != '.')
      goto invalid;
  if (strchr (value, ' ') != NULL)
    goto invalid;
  return TRUE;

invalid:
  g_set_error (error, NB_PROTO_ERROR, NB_PROTO_ERROR_INVALID_VALUE,
               "Field “%s” is “%s”, which is not a URI (like stun:stun.example.org:3478)",
               what, value);
  return FALSE;
}
