/* test-rest-json.c: the REST API's strict JSON field readers
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <string.h>

#include <json-glib/json-glib.h>

#include "nb-mgmt-rest-private.h"

static JsonObject *
parse (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (json_parser_load_from_data (parser, text, -1, &error));
  g_assert_no_error (error);
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static void
test_string_ok (void)
{
  g_autoptr(JsonObject) obj = parse ("{\"name\": \"it's \\\"quoted\\\"; --\"}");
  g_autoptr(GError) error = NULL;
  const char *value = NULL;

  g_assert_true (nb_rest_json_get_string (obj, "name", TRUE, &value, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (value, ==, "it's \"quoted\"; --");
}

static void
test_string_wrong_type (void)
{
  const char *bodies[] = { "{\"name\": 5}", "{\"name\": true}", "{\"name\": []}",
                           "{\"name\": {}}", "{\"name\": 1.5}" };

  for (guint i = 0; i < G_N_ELEMENTS (bodies); i++)
    {
      g_autoptr(JsonObject) obj = parse (bodies[i]);
      g_autoptr(GError) error = NULL;
      const char *value = NULL;

      g_assert_false (nb_rest_json_get_string (obj, "name", FALSE, &value, &error));
      g_assert_error (error, NB_MGMT_REST_ERROR, SOUP_STATUS_BAD_REQUEST);
      g_assert_nonnull (strstr (error->message, "name must be a string"));
    }
}

static void
test_missing_required (void)
{
  g_autoptr(JsonObject) obj = parse ("{\"other\": 1}");
  g_autoptr(GError) error = NULL;
  const char *value = NULL;

  g_assert_false (nb_rest_json_get_string (obj, "name", TRUE, &value, &error));
  g_assert_error (error, NB_MGMT_REST_ERROR, SOUP_STATUS_UNPROCESSABLE_ENTITY);
  g_assert_cmpstr (error->message, ==, "name is required");
}

static void
test_null_is_absent (void)
{
  g_autoptr(JsonObject) obj = parse ("{\"name\": null, \"flag\": null}");
  g_autoptr(GError) error = NULL;
  const char *value = "unchanged";
  gboolean flag = TRUE, present = TRUE;

  g_assert_true (nb_rest_json_get_string (obj, "name", FALSE, &value, &error));
  g_assert_null (value);
  g_assert_true (nb_rest_json_get_bool (obj, "flag", FALSE, &flag, &present, &error));
  g_assert_false (present);
  g_assert_true (flag);
  g_assert_no_error (error);
}

static void
test_int_rejects_fraction_and_string (void)
{
  const char *bodies[] = { "{\"n\": 1.5}", "{\"n\": \"1\"}", "{\"n\": true}", "{\"n\": 1e3}" };

  for (guint i = 0; i < G_N_ELEMENTS (bodies); i++)
    {
      g_autoptr(JsonObject) obj = parse (bodies[i]);
      g_autoptr(GError) error = NULL;
      gint64 n = 7;

      g_assert_false (nb_rest_json_get_int (obj, "n", FALSE, &n, NULL, &error));
      g_assert_error (error, NB_MGMT_REST_ERROR, SOUP_STATUS_BAD_REQUEST);
      g_assert_cmpint (n, ==, 7);
    }
}

static void
test_int_ok (void)
{
  g_autoptr(JsonObject) obj = parse ("{\"n\": -86400}");
  g_autoptr(GError) error = NULL;
  gint64 n = 0;
  gboolean present = FALSE;

  g_assert_true (nb_rest_json_get_int (obj, "n", TRUE, &n, &present, &error));
  g_assert_no_error (error);
  g_assert_true (present);
  g_assert_cmpint (n, ==, -86400);
}

static void
test_bool_rejects_string (void)
{
  g_autoptr(JsonObject) obj = parse ("{\"b\": \"true\"}");
  g_autoptr(GError) error = NULL;
  gboolean b = FALSE;

  g_assert_false (nb_rest_json_get_bool (obj, "b", FALSE, &b, NULL, &error));
  g_assert_error (error, NB_MGMT_REST_ERROR, SOUP_STATUS_BAD_REQUEST);
}

static void
test_strv_ok (void)
{
  g_autoptr(JsonObject) obj = parse ("{\"ids\": [\"a\", \"b\"], \"empty\": []}");
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) ids = NULL, empty = NULL, absent = NULL;

  g_assert_true (nb_rest_json_get_strv (obj, "ids", TRUE, &ids, &error));
  g_assert_cmpuint (g_strv_length (ids), ==, 2);
  g_assert_cmpstr (ids[1], ==, "b");
  g_assert_true (nb_rest_json_get_strv (obj, "empty", TRUE, &empty, &error));
  g_assert_nonnull (empty);
  g_assert_null (empty[0]);
  g_assert_true (nb_rest_json_get_strv (obj, "absent", FALSE, &absent, &error));
  g_assert_null (absent);
  g_assert_no_error (error);
}

static void
test_strv_rejects_non_strings (void)
{
  const char *bodies[] = { "{\"ids\": \"a\"}", "{\"ids\": [\"a\", 1]}", "{\"ids\": [null]}",
                           "{\"ids\": [[\"a\"]]}", "{\"ids\": {\"a\": 1}}" };

  for (guint i = 0; i < G_N_ELEMENTS (bodies); i++)
    {
      g_autoptr(JsonObject) obj = parse (bodies[i]);
      g_autoptr(GError) error = NULL;
      g_auto(GStrv) ids = NULL;

      g_assert_false (nb_rest_json_get_strv (obj, "ids", FALSE, &ids, &error));
      g_assert_error (error, NB_MGMT_REST_ERROR, SOUP_STATUS_BAD_REQUEST);
      g_assert_null (ids);
    }
}

static void
test_object_and_array_types (void)
{
  g_autoptr(JsonObject) obj = parse ("{\"o\": [], \"a\": {}}");
  g_autoptr(GError) error = NULL;
  JsonObject *o = NULL;
  JsonArray *a = NULL;

  g_assert_false (nb_rest_json_get_object (obj, "o", TRUE, &o, &error));
  g_assert_error (error, NB_MGMT_REST_ERROR, SOUP_STATUS_BAD_REQUEST);
  g_clear_error (&error);
  g_assert_false (nb_rest_json_get_array (obj, "a", TRUE, &a, &error));
  g_assert_error (error, NB_MGMT_REST_ERROR, SOUP_STATUS_BAD_REQUEST);
}

static void
test_writer_escapes_and_nests (void)
{
  g_autoptr(NbJsonWriter) w = nb_json_writer_new ();
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  const char *nasty = "q\"b\\ n\n t\t c\001 \xe2\x9c\x93'; DROP --";
  JsonObject *root;
  JsonArray *list;
  gsize len = 0;

  nb_json_writer_begin_object (w);
  nb_json_writer_member (w, "name");
  nb_json_writer_string (w, nasty);
  nb_json_writer_member (w, "list");
  nb_json_writer_begin_array (w);
  nb_json_writer_int (w, -5);
  nb_json_writer_bool (w, TRUE);
  nb_json_writer_begin_object (w);
  nb_json_writer_end_object (w);
  nb_json_writer_begin_array (w);
  nb_json_writer_end_array (w);
  nb_json_writer_time (w, 0);
  nb_json_writer_time (w, 1700000000);
  nb_json_writer_end_array (w);
  nb_json_writer_member (w, "bad");
  nb_json_writer_string (w, "a\xff\xfe" "b");
  nb_json_writer_end_object (w);
  text = nb_json_writer_steal (w, &len);
  g_assert_cmpuint (strlen (text), ==, len);

  g_assert_true (json_parser_load_from_data (parser, text, (gssize) len, &error));
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (root, "name"), ==, nasty);
  list = json_object_get_array_member (root, "list");
  g_assert_cmpuint (json_array_get_length (list), ==, 6);
  g_assert_cmpint (json_array_get_int_element (list, 0), ==, -5);
  g_assert_true (json_array_get_boolean_element (list, 1));
  g_assert_cmpstr (json_array_get_string_element (list, 4), ==, "0001-01-01T00:00:00Z");
  g_assert_cmpstr (json_array_get_string_element (list, 5), ==, "2023-11-14T22:13:20Z");
  /* Invalid UTF-8 is replaced, never passed on. */
  g_assert_true (g_utf8_validate (json_object_get_string_member (root, "bad"), -1, NULL));
}

/* json-glib decodes an unpaired surrogate escape to bytes that are not
 * UTF-8: the readers refuse them, in strings and in string arrays. */
static void
test_unpaired_surrogate_is_400 (void)
{
  g_autoptr(JsonObject) obj = parse ("{\"name\": \"x\\ud800y\", \"peers\": [\"a\", \"x\\udc00y\"]}");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) peers = NULL;
  const char *value = NULL;

  g_assert_false (nb_rest_json_get_string (obj, "name", TRUE, &value, &error));
  g_assert_error (error, NB_MGMT_REST_ERROR, SOUP_STATUS_BAD_REQUEST);
  g_assert_nonnull (strstr (error->message, "name is not valid UTF-8"));
  g_assert_null (value);
  g_clear_error (&error);

  g_assert_false (nb_rest_json_get_string_array (obj, "peers", TRUE, &peers, &error));
  g_assert_error (error, NB_MGMT_REST_ERROR, SOUP_STATUS_BAD_REQUEST);
  g_assert_nonnull (strstr (error->message, "peers[1] is not valid UTF-8"));
  g_assert_null (peers);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/mgmt/rest/json/string-ok", test_string_ok);
  g_test_add_func ("/mgmt/rest/json/string-wrong-type", test_string_wrong_type);
  g_test_add_func ("/mgmt/rest/json/unpaired-surrogate-is-400", test_unpaired_surrogate_is_400);
  g_test_add_func ("/mgmt/rest/json/missing-required", test_missing_required);
  g_test_add_func ("/mgmt/rest/json/null-is-absent", test_null_is_absent);
  g_test_add_func ("/mgmt/rest/json/int-rejects-fraction-and-string",
                   test_int_rejects_fraction_and_string);
  g_test_add_func ("/mgmt/rest/json/int-ok", test_int_ok);
  g_test_add_func ("/mgmt/rest/json/bool-rejects-string", test_bool_rejects_string);
  g_test_add_func ("/mgmt/rest/json/strv-ok", test_strv_ok);
  g_test_add_func ("/mgmt/rest/json/strv-rejects-non-strings", test_strv_rejects_non_strings);
  g_test_add_func ("/mgmt/rest/json/object-and-array-types", test_object_and_array_types);

  g_test_add_func ("/mgmt/rest/json/writer-escapes-and-nests", test_writer_escapes_and_nests);

  return g_test_run ();
}
