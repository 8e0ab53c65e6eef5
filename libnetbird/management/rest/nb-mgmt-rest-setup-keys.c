/* nb-mgmt-rest-setup-keys.c: /api/setup-keys
 *
 * GET, POST /api/setup-keys; GET, PUT, DELETE /api/setup-keys/{keyId}.
 * The key in full appears only in the creation response (SetupKeyClear);
 * every other response carries the masked key, and the store keeps only
 * its hash.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-mgmt-rest"

#include "nb-mgmt-rest-private.h"

/* NetBird's API limits expires_in to a year (openapi: maximum 31536000). */
#define MAX_EXPIRES_IN (365 * 24 * 3600)

static void
build_setup_key (NbRestCtx            *ctx,
                 NbJsonWriter         *b,
                 const NbMgmtSetupKey *key,
                 const char           *plain_key)
{
  NbMgmtSetupKeyState state = nb_mgmt_setup_key_get_state (key, nb_mgmt_store_now (ctx->store));

  nb_json_writer_begin_object (b);
  nb_rest_builder_add_string (b, "id", key->id);
  nb_rest_builder_add_string (b, "key", plain_key ? plain_key : key->masked_key);
  nb_rest_builder_add_string (b, "name", key->name);
  nb_rest_builder_add_time (b, "expires", key->expires_at);
  nb_rest_builder_add_string (b, "type", nb_mgmt_setup_key_type_to_string (key->type));
  nb_rest_builder_add_bool (b, "valid", state == NB_MGMT_SETUP_KEY_STATE_VALID);
  nb_rest_builder_add_bool (b, "revoked", key->revoked);
  nb_rest_builder_add_int (b, "used_times", key->used_times);
  nb_rest_builder_add_time (b, "last_used", key->last_used);
  nb_rest_builder_add_string (b, "state", nb_mgmt_setup_key_state_to_string (state));
  nb_rest_builder_add_strv (b, "auto_groups", (const char *const *) key->auto_groups);
  nb_rest_builder_add_time (b, "updated_at", key->updated_at);
  nb_rest_builder_add_int (b, "usage_limit", key->usage_limit);
  nb_rest_builder_add_bool (b, "ephemeral", key->ephemeral);
  nb_rest_builder_add_bool (b, "allow_extra_dns_labels", FALSE);
  nb_json_writer_end_object (b);
}

static void
reply_setup_key (NbRestCtx            *ctx,
                 const NbMgmtSetupKey *key,
                 const char           *plain_key)
{
  g_autoptr(NbJsonWriter) b = nb_json_writer_new ();

  build_setup_key (ctx, b, key, plain_key);
  nb_rest_reply_builder (ctx, b);
}

static void
list_setup_keys (NbRestCtx *ctx)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) keys = nb_mgmt_store_list_setup_keys (ctx->store, ctx->account_id, &error);
  g_autoptr(NbJsonWriter) b = nb_json_writer_new ();

  if (keys == NULL)
    NB_REST_FAIL (ctx, error);
  nb_json_writer_begin_array (b);
  for (guint i = 0; i < keys->len; i++)
    build_setup_key (ctx, b, g_ptr_array_index (keys, i), NULL);
  nb_json_writer_end_array (b);
  nb_rest_reply_builder (ctx, b);
}

/* CreateSetupKeyRequest: name, type, expires_in, auto_groups, usage_limit,
 * ephemeral, allow_extra_dns_labels. */
static void
create_setup_key (NbRestCtx *ctx)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) obj = nb_rest_parse_body_object (ctx, &error);
  g_autoptr(NbMgmtSetupKey) tmpl = g_new0 (NbMgmtSetupKey, 1);
  g_autoptr(NbMgmtSetupKey) key = NULL;
  g_autofree char *plain = NULL;
  const char *name, *type;
  gint64 expires_in = 0, usage_limit = 0;
  gboolean ephemeral = FALSE, extra_labels = FALSE;

  if (obj == NULL)
    NB_REST_FAIL (ctx, error);
  if (!nb_rest_json_get_string (obj, "name", FALSE, &name, &error) ||
      !nb_rest_json_get_string (obj, "type", FALSE, &type, &error) ||
      !nb_rest_json_get_int (obj, "expires_in", FALSE, &expires_in, NULL, &error) ||
      !nb_rest_json_get_strv (obj, "auto_groups", FALSE, &tmpl->auto_groups, &error) ||
      !nb_rest_json_get_int (obj, "usage_limit", FALSE, &usage_limit, NULL, &error) ||
      !nb_rest_json_get_bool (obj, "ephemeral", FALSE, &ephemeral, NULL, &error) ||
      !nb_rest_json_get_bool (obj, "allow_extra_dns_labels", FALSE, &extra_labels, NULL, &error))
    NB_REST_FAIL (ctx, error);

  if (name == NULL || *name == '\0')
    {
      nb_rest_reply_error (ctx, 422, "setup key name shouldn't be empty");
      return;
    }
  if (type == NULL || !nb_mgmt_setup_key_type_from_string (type, &tmpl->type))
    {
      nb_rest_reply_error (ctx, 422, "unknown setup key type %s", type ? type : "");
      return;
    }
  if (tmpl->type == NB_MGMT_SETUP_KEY_ONE_OFF && usage_limit > 1)
    {
      nb_rest_reply_error (ctx, 422,
                           "usage_limit %" G_GINT64_FORMAT " is not valid for a one-off setup key, "
                           "which can be used once; use type reusable for a key that can be used "
                           "more than once", usage_limit);
      return;
    }
  if (usage_limit < 0)
    {
      nb_rest_reply_error (ctx, 422, "usage_limit can not be negative");
      return;
    }
  if (expires_in < 0)
    {
      nb_rest_reply_error (ctx, 422, "expiresIn can not be in the past");
      return;
    }
  if (expires_in > MAX_EXPIRES_IN)
    {
      nb_rest_reply_error (ctx, 422, "expires_in can be at most %d seconds (a year)",
                           MAX_EXPIRES_IN);
      return;
    }
  if (extra_labels)
    {
      nb_rest_reply_error (ctx, 422, "extra DNS labels are not supported by this server");
      return;
    }

  tmpl->name = g_strdup (name);
  tmpl->usage_limit = usage_limit;
  tmpl->ephemeral = ephemeral;
  tmpl->expires_at = expires_in > 0 ? nb_mgmt_store_now (ctx->store) + expires_in : 0;

  key = nb_mgmt_store_create_setup_key (ctx->store, ctx->account_id, ctx->user_id, tmpl,
                                        NULL, &plain, &error);
  if (key == NULL)
    NB_REST_FAIL (ctx, error);
  reply_setup_key (ctx, key, plain);
}

/* SetupKeyRequest: revoked, auto_groups (both required by NetBird; an
 * absent one keeps its value here). */
static void
update_setup_key (NbRestCtx  *ctx,
                  const char *key_id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) obj = NULL;
  g_autoptr(NbMgmtSetupKey) key = NULL;
  g_autoptr(NbMgmtSetupKey) updated = NULL;
  g_auto(GStrv) groups = NULL;
  gboolean revoked = FALSE, has_revoked = FALSE;
  const char *name = NULL;

  key = nb_mgmt_store_get_setup_key (ctx->store, ctx->account_id, key_id, &error);
  if (key == NULL)
    NB_REST_FAIL (ctx, error);
  obj = nb_rest_parse_body_object (ctx, &error);
  if (obj == NULL)
    NB_REST_FAIL (ctx, error);
  if (!nb_rest_json_get_bool (obj, "revoked", FALSE, &revoked, &has_revoked, &error) ||
      !nb_rest_json_get_strv (obj, "auto_groups", FALSE, &groups, &error) ||
      !nb_rest_json_get_string (obj, "name", FALSE, &name, &error))
    NB_REST_FAIL (ctx, error);

  if (has_revoked)
    key->revoked = revoked;
  if (groups != NULL || json_object_has_member (obj, "auto_groups"))
    {
      g_strfreev (key->auto_groups);
      key->auto_groups = g_steal_pointer (&groups);
    }
  if (name != NULL && *name != '\0')
    {
      g_free (key->name);
      key->name = g_strdup (name);
    }

  updated = nb_mgmt_store_update_setup_key (ctx->store, ctx->account_id, ctx->user_id, key,
                                            &error);
  if (updated == NULL)
    NB_REST_FAIL (ctx, error);
  reply_setup_key (ctx, updated, NULL);
}

static void
reply_stored_setup_key (NbRestCtx            *ctx,
                        const NbMgmtSetupKey *key)
{
  reply_setup_key (ctx, key, NULL);
}

static const NbRestResource setup_keys = {
  .list = list_setup_keys,
  .get = (NbRestGetFunc) nb_mgmt_store_get_setup_key,
  .reply = (NbRestReplyFunc) reply_stored_setup_key,
  .free = (GDestroyNotify) nb_mgmt_setup_key_free,
  .create_handler = create_setup_key,
  .update_handler = update_setup_key,
  .remove = nb_mgmt_store_delete_setup_key,
};

void
nb_mgmt_rest_handle_setup_keys (NbRestCtx *ctx)
{
  nb_rest_serve_resource (ctx, &setup_keys, 1);
}
