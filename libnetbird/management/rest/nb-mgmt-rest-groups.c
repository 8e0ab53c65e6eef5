/* nb-mgmt-rest-groups.c: /api/groups
 *
 * GET, POST /api/groups; GET, PUT, DELETE /api/groups/{groupId}. The
 * built-in "All" group cannot be changed or deleted (422, as NetBird); a
 * group still used elsewhere cannot be deleted (400 naming the user, as
 * NetBird's handler answers a group link error).
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-mgmt-rest"

#include "nb-mgmt-rest-private.h"

NbRestGroupIndex *
nb_rest_group_index_new (NbRestCtx *ctx)
{
  g_autoptr(GError) error = NULL;
  NbRestGroupIndex *index;
  GPtrArray *groups;

  groups = nb_mgmt_store_list_groups (ctx->store, ctx->account_id, &error);
  if (groups == NULL)
    {
      nb_rest_reply_gerror (ctx, error);
      return NULL;
    }
  index = g_new0 (NbRestGroupIndex, 1);
  index->groups = groups;
  index->by_id = g_hash_table_new (g_str_hash, g_str_equal);
  index->peer_counts = g_hash_table_new (g_str_hash, g_str_equal);
  /* Counted once here: a listing of N peers in the "All" group would
   * otherwise count N members N times. */
  for (guint i = 0; i < groups->len; i++)
    {
      NbMgmtGroup *g = g_ptr_array_index (groups, i);
      guint count = g->peers ? g_strv_length (g->peers) : 0;

      g_hash_table_insert (index->by_id, g->id, g);
      g_hash_table_insert (index->peer_counts, g->id, GUINT_TO_POINTER (count));
    }
  return index;
}

void
nb_rest_group_index_free (NbRestGroupIndex *index)
{
  if (index == NULL)
    return;
  g_hash_table_unref (index->by_id);
  g_hash_table_unref (index->peer_counts);
  g_ptr_array_unref (index->groups);
  g_free (index);
}

void
nb_rest_builder_add_group_minimum (NbJsonWriter      *b,
                                   const NbMgmtGroup *group,
                                   guint              peers_count)
{
  nb_json_writer_begin_object (b);
  nb_rest_builder_add_string (b, "id", group->id);
  nb_rest_builder_add_string (b, "name", group->name);
  nb_rest_builder_add_int (b, "peers_count", peers_count);
  nb_rest_builder_add_int (b, "resources_count", 0);
  nb_rest_builder_add_string (b, "issued", group->issued ? group->issued : "api");
  nb_json_writer_end_object (b);
}

void
nb_rest_builder_add_group_list (NbJsonWriter     *b,
                                const char       *field,
                                NbRestGroupIndex *index,
                                char            **ids)
{
  nb_json_writer_member (b, field);
  nb_json_writer_begin_array (b);
  for (guint i = 0; ids && ids[i]; i++)
    {
      NbMgmtGroup *g = g_hash_table_lookup (index->by_id, ids[i]);
      if (g != NULL)
        nb_rest_builder_add_group_minimum (
            b, g, GPOINTER_TO_UINT (g_hash_table_lookup (index->peer_counts, ids[i])));
    }
  nb_json_writer_end_array (b);
}

/* Group: GroupMinimum + peers [PeerMinimum] + resources []. */
static gboolean
build_group (NbRestCtx         *ctx,
             NbJsonWriter      *b,
             const NbMgmtGroup *group,
             GHashTable        *peer_names)
{
  nb_json_writer_begin_object (b);
  nb_rest_builder_add_string (b, "id", group->id);
  nb_rest_builder_add_string (b, "name", group->name);
  nb_rest_builder_add_int (b, "peers_count", group->peers ? g_strv_length (group->peers) : 0);
  nb_rest_builder_add_int (b, "resources_count", 0);
  nb_rest_builder_add_string (b, "issued", group->issued ? group->issued : "api");
  nb_json_writer_member (b, "peers");
  nb_json_writer_begin_array (b);
  for (guint i = 0; group->peers && group->peers[i]; i++)
    {
      nb_json_writer_begin_object (b);
      nb_rest_builder_add_string (b, "id", group->peers[i]);
      nb_rest_builder_add_string (b, "name", g_hash_table_lookup (peer_names, group->peers[i]));
      nb_json_writer_end_object (b);
    }
  nb_json_writer_end_array (b);
  nb_json_writer_member (b, "resources");
  nb_json_writer_begin_array (b);
  nb_json_writer_end_array (b);
  nb_json_writer_end_object (b);
  return TRUE;
}

/* peer id -> name, for PeerMinimum. Owns the peers in *peers_out. */
static GHashTable *
peer_names_new (NbRestCtx  *ctx,
                GPtrArray **peers_out)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *peers = nb_mgmt_store_list_peers (ctx->store, ctx->account_id, NULL, &error);
  GHashTable *names;

  if (peers == NULL)
    {
      nb_rest_reply_gerror (ctx, error);
      return NULL;
    }
  names = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < peers->len; i++)
    {
      NbMgmtPeer *p = g_ptr_array_index (peers, i);
      g_hash_table_insert (names, p->id, p->name);
    }
  *peers_out = peers;
  return names;
}

static void
reply_group (NbRestCtx         *ctx,
             const NbMgmtGroup *group)
{
  g_autoptr(GPtrArray) peers = NULL;
  g_autoptr(GHashTable) names = peer_names_new (ctx, &peers);
  g_autoptr(NbJsonWriter) b = nb_json_writer_new ();

  if (names == NULL)
    return;
  build_group (ctx, b, group, names);
  nb_rest_reply_builder (ctx, b);
}

static void
list_groups (NbRestCtx *ctx)
{
  g_autoptr(NbRestGroupIndex) index = nb_rest_group_index_new (ctx);
  g_autoptr(GPtrArray) peers = NULL;
  g_autoptr(GHashTable) names = NULL;
  g_autoptr(NbJsonWriter) b = nb_json_writer_new ();

  if (index == NULL)
    return;
  names = peer_names_new (ctx, &peers);
  if (names == NULL)
    return;
  nb_json_writer_begin_array (b);
  for (guint i = 0; i < index->groups->len; i++)
    build_group (ctx, b, g_ptr_array_index (index->groups, i), names);
  nb_json_writer_end_array (b);
  nb_rest_reply_builder (ctx, b);
}

/* GroupRequest: name (required, non-empty), peers (IDs), resources. */
static gboolean
parse_group_request (NbRestCtx   *ctx,
                     NbMgmtGroup *group,
                     GError     **error)
{
  g_autoptr(JsonObject) obj = nb_rest_parse_body_object (ctx, error);
  const char *name;
  JsonArray *resources;

  if (obj == NULL)
    return FALSE;
  if (!nb_rest_json_get_string (obj, "name", FALSE, &name, error) ||
      !nb_rest_json_get_strv (obj, "peers", FALSE, &group->peers, error) ||
      !nb_rest_json_get_array (obj, "resources", FALSE, &resources, error))
    return FALSE;
  if (name == NULL || *name == '\0')
    {
      g_set_error (error, NB_MGMT_REST_ERROR, SOUP_STATUS_UNPROCESSABLE_ENTITY,
                   "group name shouldn't be empty");
      return FALSE;
    }
  if (resources != NULL && json_array_get_length (resources) > 0)
    {
      g_set_error (error, NB_MGMT_REST_ERROR, SOUP_STATUS_UNPROCESSABLE_ENTITY,
                   "network resources are not supported by this server: send \"resources\": []");
      return FALSE;
    }
  group->name = g_strdup (name);
  /* Only a create reads it: a group made through the API. */
  g_free (group->issued);
  group->issued = g_strdup ("api");
  return TRUE;
}

static gboolean
is_all_group (NbRestCtx  *ctx,
              const char *group_id,
              GError    **error)
{
  g_autoptr(NbMgmtGroup) existing = nb_mgmt_store_get_group (ctx->store, ctx->account_id,
                                                             group_id, error);
  if (existing == NULL)
    return FALSE;
  return g_strcmp0 (existing->name, NB_MGMT_ALL_GROUP_NAME) == 0;
}

static void
update_group (NbRestCtx  *ctx,
              const char *group_id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtGroup) tmpl = g_new0 (NbMgmtGroup, 1);
  g_autoptr(NbMgmtGroup) group = NULL;

  if (is_all_group (ctx, group_id, &error))
    {
      nb_rest_reply_error (ctx, SOUP_STATUS_UNPROCESSABLE_ENTITY,
                           "updating group ALL is not allowed");
      return;
    }
  if (error != NULL)
    NB_REST_FAIL (ctx, error);
  if (!parse_group_request (ctx, tmpl, &error))
    NB_REST_FAIL (ctx, error);
  tmpl->id = g_strdup (group_id);
  group = nb_mgmt_store_update_group (ctx->store, ctx->account_id, ctx->user_id, tmpl, &error);
  if (group == NULL)
    NB_REST_FAIL (ctx, error);
  reply_group (ctx, group);
}

static void
delete_group (NbRestCtx  *ctx,
              const char *group_id)
{
  g_autoptr(GError) error = NULL;

  if (is_all_group (ctx, group_id, &error))
    {
      nb_rest_reply_error (ctx, SOUP_STATUS_UNPROCESSABLE_ENTITY,
                           "deleting group ALL is not allowed");
      return;
    }
  if (error != NULL)
    NB_REST_FAIL (ctx, error);
  if (!nb_mgmt_store_delete_group (ctx->store, ctx->account_id, ctx->user_id, group_id, &error))
    {
      /* NetBird answers a group that is still linked with 400. */
      if (g_error_matches (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PRECONDITION_FAILED))
        nb_rest_reply_error (ctx, SOUP_STATUS_BAD_REQUEST, "%s", error->message);
      else
        nb_rest_reply_gerror (ctx, error);
      return;
    }
  nb_rest_reply_empty (ctx);
}

static gpointer
group_new (void)
{
  return g_new0 (NbMgmtGroup, 1);
}

static const NbRestResource groups = {
  .list = list_groups,
  .get = (NbRestGetFunc) nb_mgmt_store_get_group,
  .reply = (NbRestReplyFunc) reply_group,
  .free = (GDestroyNotify) nb_mgmt_group_free,
  .new_record = group_new,
  .parse = (NbRestParseFunc) parse_group_request,
  .create = (NbRestSaveFunc) nb_mgmt_store_create_group,
  .update_handler = update_group,
  .remove_handler = delete_group,
};

void
nb_mgmt_rest_handle_groups (NbRestCtx *ctx)
{
  nb_rest_serve_resource (ctx, &groups, 1);
}
