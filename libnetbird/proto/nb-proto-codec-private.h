/* nb-proto-codec-private.h: table-driven JSON codecs for wire messages
 *
 * Library-internal.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#if !defined(NB_COMPILATION)
#error "nb-proto-codec-private.h is internal to libnetbird."
#endif

#include <glib.h>
#include "nb-proto-error.h"

G_BEGIN_DECLS

/* A message is a plain C struct described by a table of fields. One reader
 * and one writer serve every message, so the bounds on sizes, counts and
 * values are checked in one place:
 *
 * - the whole text is bounded before anything is parsed, and so is its
 *   nesting depth (json-glib's parser recurses);
 * - every string has a maximum length, is valid UTF-8 without NUL (raw or
 *   escaped), control, bidirectional or invisible format characters;
 * - every array has a maximum count;
 * - integers are JSON integers inside [min, max];
 * - enumerations are names from a fixed table;
 * - a field may name a validator for its form (key, IP address, prefix...).
 *
 * Unknown members are ignored, so newer peers can add fields. */

/* The deepest nesting any message of ours needs, with room to spare. */
#define NB_PROTO_MAX_DEPTH 16

typedef enum {
  NB_PROTO_FIELD_STRING,   /* char *, NULL when absent */
  NB_PROTO_FIELD_BOOL,     /* gboolean */
  NB_PROTO_FIELD_INT,      /* gint64 in [min, max] */
  NB_PROTO_FIELD_ENUM,     /* int, from enum_names (index = value) */
  NB_PROTO_FIELD_MESSAGE,  /* struct pointer, NULL when absent */
  NB_PROTO_FIELD_STRV,     /* GPtrArray of char *, never NULL */
  NB_PROTO_FIELD_MESSAGES, /* GPtrArray of struct pointers, never NULL */
} NbProtoFieldType;

typedef enum {
  NB_PROTO_FIELD_REQUIRED = 1 << 0,
  /* An empty string is as good as an absent one (and is not validated). */
  NB_PROTO_FIELD_EMPTY_OK = 1 << 1,
} NbProtoFieldFlags;

typedef struct _NbProtoMessageDesc NbProtoMessageDesc;

/* Checks the form of one string value; @what names the field for messages. */
typedef gboolean (*NbProtoValidateFunc) (const char  *value,
                                         const char  *what,
                                         GError     **error);

typedef struct
{
  const char *name;
  NbProtoFieldType type;
  gsize offset;
  guint flags;
  /* STRING/STRV: max bytes of a string; STRV/MESSAGES: max count in max_count */
  gsize max_len;
  gsize max_count;
  gint64 min;
  gint64 max;
  const char *const *enum_names;
  const NbProtoMessageDesc *message;
  NbProtoValidateFunc validate;
} NbProtoField;

struct _NbProtoMessageDesc
{
  const char *name;
  gsize size;
  const NbProtoField *fields;
  guint n_fields;
  /* Checks that span fields, after every field was read (may be NULL). */
  gboolean (*check) (gconstpointer message, GError **error);
};

/* Checks JSON text before json-glib parses it: nesting no deeper than
 * @max_depth (NB_PROTO_ERROR_TOO_LARGE), and no escaped NUL (\u0000) in
 * a string or member name (NB_PROTO_ERROR_INVALID_VALUE), which json-glib
 * would cut the string at, and every number within 64 bits or finite
 * (NB_PROTO_ERROR_OUT_OF_RANGE), which json-glib would read as another
 * number. @what ("Message", "The request") begins the
 * error's message. The REST API's reader uses it too. */
gboolean    nb_proto_json_check_text    (const char               *data,
                                         gsize                     length,
                                         guint                     max_depth,
                                         const char               *what,
                                         GError                  **error);

gpointer    nb_proto_message_new        (const NbProtoMessageDesc *desc);
void        nb_proto_message_free       (const NbProtoMessageDesc *desc,
                                         gpointer                  message);
gpointer    nb_proto_message_from_bytes (const NbProtoMessageDesc *desc,
                                         GBytes                   *bytes,
                                         gsize                     max_size,
                                         GError                  **error);
gpointer    nb_proto_message_from_data  (const NbProtoMessageDesc *desc,
                                         const char               *data,
                                         gsize                     length,
                                         gsize                     max_size,
                                         GError                  **error);
void        nb_proto_message_write      (const NbProtoMessageDesc *desc,
                                         gconstpointer             message,
                                         GString                  *out);
GBytes     *nb_proto_message_to_bytes   (const NbProtoMessageDesc *desc,
                                         gconstpointer             message);

/* Writes @value as a JSON string literal (quotes and escapes) to @out. */
void        nb_proto_write_json_string  (GString                  *out,
                                         const char               *value);

/* Validators shared by the messages of every service. */
gboolean    nb_proto_validate_key       (const char  *value,
                                         const char  *what,
                                         GError     **error);
gboolean    nb_proto_validate_ip        (const char  *value,
                                         const char  *what,
                                         GError     **error);
gboolean    nb_proto_validate_prefix    (const char  *value,
                                         const char  *what,
                                         GError     **error);
gboolean    nb_proto_validate_dns_name  (const char  *value,
                                         const char  *what,
                                         GError     **error);
gboolean    nb_proto_validate_uri       (const char  *value,
                                         const char  *what,
                                         GError     **error);

/* Field and descriptor tables, e.g.
 *   NB_PROTO_F_STRING (NbFoo, name, "name", NB_PROTO_FIELD_REQUIRED, 256, NULL) */
#define NB_PROTO_F_STRING(T, m, n, fl, len, check) \
  { .name = n, .type = NB_PROTO_FIELD_STRING, .offset = G_STRUCT_OFFSET (T, m), \
    .flags = fl, .max_len = len, .validate = check }
#define NB_PROTO_F_BOOL(T, m, n) \
  { .name = n, .type = NB_PROTO_FIELD_BOOL, .offset = G_STRUCT_OFFSET (T, m) }
#define NB_PROTO_F_INT(T, m, n, fl, lo, hi) \
  { .name = n, .type = NB_PROTO_FIELD_INT, .offset = G_STRUCT_OFFSET (T, m), \
    .flags = fl, .min = lo, .max = hi }
#define NB_PROTO_F_ENUM(T, m, n, fl, names) \
  { .name = n, .type = NB_PROTO_FIELD_ENUM, .offset = G_STRUCT_OFFSET (T, m), \
    .flags = fl, .enum_names = names }
#define NB_PROTO_F_MESSAGE(T, m, n, fl, desc) \
  { .name = n, .type = NB_PROTO_FIELD_MESSAGE, .offset = G_STRUCT_OFFSET (T, m), \
    .flags = fl, .message = &desc }
#define NB_PROTO_F_STRV(T, m, n, count, len, check) \
  { .name = n, .type = NB_PROTO_FIELD_STRV, .offset = G_STRUCT_OFFSET (T, m), \
    .max_count = count, .max_len = len, .validate = check }
#define NB_PROTO_F_MESSAGES(T, m, n, count, desc) \
  { .name = n, .type = NB_PROTO_FIELD_MESSAGES, .offset = G_STRUCT_OFFSET (T, m), \
    .max_count = count, .message = &desc }

#define NB_PROTO_DESC(var, T, fields_, check_) \
  static const NbProtoMessageDesc var = { #T, sizeof (T), fields_, G_N_ELEMENTS (fields_), check_ }


/* Declares the typed functions of one message type. */
#define NB_PROTO_DECLARE_MESSAGE(TypeName, type_name)                              \
  TypeName *type_name##_new        (void);                                         \
  void      type_name##_free       (TypeName *message);                            \
  TypeName *type_name##_from_bytes (GBytes *bytes, GError **error);                \
  GBytes   *type_name##_to_bytes   (const TypeName *message);                      \
  G_DEFINE_AUTOPTR_CLEANUP_FUNC (TypeName, type_name##_free)

/* Defines them over a descriptor; @max_size bounds the JSON text. */
#define NB_PROTO_DEFINE_MESSAGE(TypeName, type_name, desc, max_size)               \
  TypeName *type_name##_new (void)                                                 \
  { return nb_proto_message_new (&(desc)); }                                       \
  void type_name##_free (TypeName *message)                                        \
  { nb_proto_message_free (&(desc), message); }                                    \
  TypeName *type_name##_from_bytes (GBytes *bytes, GError **error)                 \
  { return nb_proto_message_from_bytes (&(desc), bytes, (max_size), error); }      \
  GBytes *type_name##_to_bytes (const TypeName *message)                           \
  { return nb_proto_message_to_bytes (&(desc), message); }

G_END_DECLS
