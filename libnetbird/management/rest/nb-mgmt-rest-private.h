/* nb-mgmt-rest-private.h: what the REST API's files share
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "nb-mgmt-rest-api.h"

G_BEGIN_DECLS

/**
 * NB_MGMT_REST_ERROR:
 *
 * Errors a REST handler raises itself. The code is the HTTP status the
 * client gets (400, 401, 403, 404, 409, 413, 422...).
 */
#define NB_MGMT_REST_ERROR (nb_mgmt_rest_error_quark ())
GQuark nb_mgmt_rest_error_quark (void);

/* The most path segments after /api any route has:
 * /api/users/{userId}/tokens/{tokenId} */
#define NB_REST_MAX_SEGMENTS 4

/* One request being handled: what the router, the auth check and the
 * resource handlers pass each other. Lives on the stack of the
 * SoupServer callback. */
typedef struct
{
  NbMgmtRestApi *api;
  NbMgmtStore *store;
  SoupServerMessage *msg;
  const char *method;
  GHashTable *query;            /* (nullable) */

  /* Path after /api, split on '/', percent-decoded. */
  char *segs[NB_REST_MAX_SEGMENTS];
  guint n_segs;

  /* The authenticated caller. */
  char *account_id;
  char *user_id;
  NbMgmtRole role;
  gboolean is_service_user;

  gboolean replied;
} NbRestCtx;

typedef void (*NbRestHandler) (NbRestCtx *ctx);

/* JSON output (nb-mgmt-rest-writer.c): appended to one buffer, no tree. */
typedef struct _NbJsonWriter NbJsonWriter;

NbJsonWriter *nb_json_writer_new (void);
void nb_json_writer_free (NbJsonWriter *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NbJsonWriter, nb_json_writer_free)
char *nb_json_writer_steal (NbJsonWriter *w, gsize *len);
void nb_json_writer_begin_object (NbJsonWriter *w);
void nb_json_writer_end_object (NbJsonWriter *w);
void nb_json_writer_begin_array (NbJsonWriter *w);
void nb_json_writer_end_array (NbJsonWriter *w);
void nb_json_writer_member (NbJsonWriter *w, const char *name);
void nb_json_writer_string (NbJsonWriter *w, const char *value);
void nb_json_writer_int (NbJsonWriter *w, gint64 value);
void nb_json_writer_bool (NbJsonWriter *w, gboolean value);
void nb_json_writer_time (NbJsonWriter *w, gint64 unix_seconds);

/* Resource handlers: one file each. They are called with an authenticated
 * ctx and ctx->segs[0] naming their resource. */
void nb_mgmt_rest_handle_accounts (NbRestCtx *ctx);
void nb_mgmt_rest_handle_users (NbRestCtx *ctx);
void nb_mgmt_rest_handle_peers (NbRestCtx *ctx);
void nb_mgmt_rest_handle_setup_keys (NbRestCtx *ctx);
void nb_mgmt_rest_handle_groups (NbRestCtx *ctx);
void nb_mgmt_rest_handle_policies (NbRestCtx *ctx);
void nb_mgmt_rest_handle_routes (NbRestCtx *ctx);
void nb_mgmt_rest_handle_dns (NbRestCtx *ctx);
void nb_mgmt_rest_handle_events (NbRestCtx *ctx);

/* Responses (nb-mgmt-rest-reply.c). Each sets ctx->replied. */
void nb_rest_reply_builder (NbRestCtx *ctx, NbJsonWriter *builder);
void nb_rest_reply_empty (NbRestCtx *ctx);
void nb_rest_reply_error (NbRestCtx *ctx, guint status, const char *format, ...)
    G_GNUC_PRINTF (3, 4);
void nb_rest_reply_gerror (NbRestCtx *ctx, const GError *error);
void nb_rest_reply_method_not_allowed (NbRestCtx *ctx);
void nb_rest_reply_not_found_path (NbRestCtx *ctx);
void nb_rest_reply_error_msg (SoupServerMessage *msg, guint status, const char *message);

/* A plain resource of the caller's account (nb-mgmt-rest-reply.c):
 * /api/<name> answers GET (@list) and POST (create), /api/<name>/<id> GET,
 * PUT (update) and DELETE; any other method 405. What differs between
 * resources is here; the routing and the read-parse-store-reply steps are
 * nb_rest_serve_resource()'s. */
typedef gpointer (*NbRestGetFunc) (NbMgmtStore *store, const char *account_id, const char *id,
                                   GError **error);
typedef void (*NbRestReplyFunc) (NbRestCtx *ctx, gconstpointer record);
typedef gboolean (*NbRestParseFunc) (NbRestCtx *ctx, gpointer record, GError **error);
typedef gpointer (*NbRestSaveFunc) (NbMgmtStore *store, const char *account_id, const char *actor_id,
                                    gconstpointer record, GError **error);
typedef gboolean (*NbRestRemoveFunc) (NbMgmtStore *store, const char *account_id,
                                      const char *actor_id, const char *id, GError **error);
typedef void (*NbRestItemHandler) (NbRestCtx *ctx, const char *id);

typedef struct
{
  NbRestHandler list;
  /* GET: @get, answered by @reply; @free frees what @get returns. */
  NbRestGetFunc get;
  NbRestReplyFunc reply;
  GDestroyNotify free;
  /* POST and PUT: a @new_record filled by @parse from the body and handed to
   * @create or (once @get found it, with the id at @id_offset set) to
   * @update; or, when set, @create_handler / @update_handler instead. */
  gpointer (*new_record) (void);
  NbRestParseFunc parse;
  gsize id_offset;
  NbRestSaveFunc create;
  NbRestSaveFunc update;
  NbRestHandler create_handler;
  NbRestItemHandler update_handler;
  /* DELETE: @remove, or @remove_handler when set. */
  NbRestRemoveFunc remove;
  NbRestItemHandler remove_handler;
} NbRestResource;

/* Serves @ctx for @resource, an administrator's: ctx->segs[@id_seg] is
 * the item's ID (absent: the collection); a longer path is left to the
 * router's 404. */
void nb_rest_serve_resource (NbRestCtx *ctx, const NbRestResource *resource, guint id_seg);

/* Role checks: reply 403 and return FALSE when the caller may not. */
gboolean nb_rest_require (NbRestCtx *ctx, NbMgmtPermission permission);
gboolean nb_rest_require_admin (NbRestCtx *ctx);

/* Request bodies (nb-mgmt-rest-json.c): strict type checks, a clear
 * message naming the field, never a crash. */
const guint8 *nb_rest_body_bytes (NbRestCtx *ctx, gsize *len);
JsonObject *nb_rest_parse_body_object (NbRestCtx *ctx, GError **error);

gboolean nb_rest_json_get_string (JsonObject *obj, const char *field, gboolean required,
                                  const char **out, GError **error);
gboolean nb_rest_json_get_bool (JsonObject *obj, const char *field, gboolean required,
                                gboolean *out, gboolean *present, GError **error);
gboolean nb_rest_json_get_int (JsonObject *obj, const char *field, gboolean required,
                               gint64 *out, gboolean *present, GError **error);
gboolean nb_rest_json_get_string_array (JsonObject *obj, const char *field, gboolean required,
                                        GPtrArray **out, GError **error);
gboolean nb_rest_json_get_object (JsonObject *obj, const char *field, gboolean required,
                                  JsonObject **out, GError **error);
gboolean nb_rest_json_get_array (JsonObject *obj, const char *field, gboolean required,
                                 JsonArray **out, GError **error);

/* Writing: times as RFC 3339 in UTC, like NetBird's ("2023-05-05T09:00:35Z"). */
void nb_rest_builder_add_time (NbJsonWriter *b, const char *field, gint64 unix_seconds);
void nb_rest_builder_add_string (NbJsonWriter *b, const char *field, const char *value);
void nb_rest_builder_add_bool (NbJsonWriter *b, const char *field, gboolean value);
void nb_rest_builder_add_int (NbJsonWriter *b, const char *field, gint64 value);
void nb_rest_builder_add_strv (NbJsonWriter *b, const char *field, const char *const *values);
void nb_rest_builder_add_ptr_strings (NbJsonWriter *b, const char *field, GPtrArray *values);

/* Group lookups for rendering GroupMinimum objects (nb-mgmt-rest-groups.c):
 * id -> NbMgmtGroup of the caller's account. NULL with a reply sent on a
 * store failure. */
typedef struct
{
  GPtrArray *groups;            /* element-type NbMgmtGroup */
  GHashTable *by_id;            /* (element-type utf8 NbMgmtGroup) borrowed */
  GHashTable *peer_counts;      /* (element-type utf8 guint) group id -> peers */
} NbRestGroupIndex;

NbRestGroupIndex *nb_rest_group_index_new (NbRestCtx *ctx);
void nb_rest_group_index_free (NbRestGroupIndex *index);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NbRestGroupIndex, nb_rest_group_index_free)
/* Adds a GroupMinimum ({id, name, peers_count, resources_count, issued}). */
void nb_rest_builder_add_group_minimum (NbJsonWriter *b, const NbMgmtGroup *group,
                                        guint peers_count);
/* Adds @field: [GroupMinimum...] for @ids, skipping unknown ones. */
void nb_rest_builder_add_group_list (NbJsonWriter *b, const char *field,
                                     NbRestGroupIndex *index, char **ids);

/* Reads @field as a list of IDs into a NULL-terminated GStrv (NULL when
 * absent and not required). */
gboolean nb_rest_json_get_strv (JsonObject *obj, const char *field, gboolean required,
                                char ***out, GError **error);

/* Builds an error reply for a failed body parse or field read. */
#define NB_REST_FAIL(ctx, error) \
  G_STMT_START { nb_rest_reply_gerror ((ctx), (error)); return; } G_STMT_END

/* Query parameters. */
const char *nb_rest_query (NbRestCtx *ctx, const char *name);

G_END_DECLS
