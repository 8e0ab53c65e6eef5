/* nb-mgmt-rest-users.c: /api/users and /api/users/{userId}/tokens
 *
 * GET /api/users[?service_user=true|false], POST /api/users,
 * GET /api/users/current, PUT and DELETE /api/users/{userId};
 * GET, POST /api/users/{userId}/tokens, GET, DELETE
 * /api/users/{userId}/tokens/{tokenId}.
 *
 * Admins and owners manage users; a regular user sees only itself. Tokens:
 * a user manages its own; admins also manage those of service users (as
 * NetBird). The plain token appears once, in the creation response.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-mgmt-rest"

#include <string.h>

#include <sodium.h>

#include "nb-mgmt-rest-private.h"

static gboolean
is_admin (NbRestCtx *ctx)
{
  return ctx->role == NB_MGMT_ROLE_ADMIN || ctx->role == NB_MGMT_ROLE_OWNER;
}

static void
build_user (NbRestCtx        *ctx,
            NbJsonWriter     *b,
            const NbMgmtUser *user,
            gboolean          view_blocked)
{
  nb_json_writer_begin_object (b);
  nb_rest_builder_add_string (b, "id", user->id);
  nb_rest_builder_add_string (b, "email", user->email);
  nb_rest_builder_add_string (b, "name", user->name);
  nb_rest_builder_add_string (b, "role", nb_mgmt_role_to_string (user->role));
  nb_rest_builder_add_string (b, "status", user->is_blocked ? "blocked" : "active");
  nb_rest_builder_add_time (b, "last_login", user->last_login);
  nb_rest_builder_add_strv (b, "auto_groups", (const char *const *) user->auto_groups);
  nb_rest_builder_add_bool (b, "is_current", g_strcmp0 (user->id, ctx->user_id) == 0);
  nb_rest_builder_add_bool (b, "is_service_user", user->is_service_user);
  nb_rest_builder_add_bool (b, "is_blocked", user->is_blocked);
  nb_rest_builder_add_bool (b, "pending_approval", FALSE);
  nb_rest_builder_add_string (b, "issued", user->issued ? user->issued : "api");
  nb_json_writer_member (b, "permissions");
  nb_json_writer_begin_object (b);
  nb_rest_builder_add_bool (b, "is_restricted", user->role == NB_MGMT_ROLE_USER && view_blocked);
  nb_json_writer_member (b, "modules");
  nb_json_writer_begin_object (b);
  nb_json_writer_end_object (b);
  nb_json_writer_end_object (b);
  nb_json_writer_end_object (b);
}

static gboolean
account_view_blocked (NbRestCtx *ctx)
{
  g_autoptr(NbMgmtAccount) account = nb_mgmt_store_get_account (ctx->store, ctx->account_id,
                                                                NULL);
  return account != NULL && account->settings.regular_users_view_blocked;
}

static void
reply_user (NbRestCtx        *ctx,
            const NbMgmtUser *user)
{
  g_autoptr(NbJsonWriter) b = nb_json_writer_new ();

  build_user (ctx, b, user, account_view_blocked (ctx));
  nb_rest_reply_builder (ctx, b);
}

static void
list_users (NbRestCtx *ctx)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) users = NULL;
  g_autoptr(NbJsonWriter) b = nb_json_writer_new ();
  const char *filter = nb_rest_query (ctx, "service_user");
  int service_users = -1;
  gboolean view_blocked = account_view_blocked (ctx);

  if (filter != NULL)
    {
      if (g_str_equal (filter, "true"))
        service_users = 1;
      else if (g_str_equal (filter, "false"))
        service_users = 0;
      else
        {
          nb_rest_reply_error (ctx, SOUP_STATUS_BAD_REQUEST,
                               "invalid service_user \"%s\": true or false is expected", filter);
          return;
        }
    }

  users = nb_mgmt_store_list_users (ctx->store, ctx->account_id, service_users, &error);
  if (users == NULL)
    NB_REST_FAIL (ctx, error);
  nb_json_writer_begin_array (b);
  for (guint i = 0; i < users->len; i++)
    {
      NbMgmtUser *u = g_ptr_array_index (users, i);

      /* A regular user sees itself only. */
      if (!is_admin (ctx) && g_strcmp0 (u->id, ctx->user_id) != 0)
        continue;
      build_user (ctx, b, u, view_blocked);
    }
  nb_json_writer_end_array (b);
  nb_rest_reply_builder (ctx, b);
}

static gboolean
parse_role (const char *text,
            NbMgmtRole *role,
            GError    **error)
{
  if (text == NULL || !nb_mgmt_role_from_string (text, role))
    {
      g_set_error (error, NB_MGMT_REST_ERROR, SOUP_STATUS_UNPROCESSABLE_ENTITY,
                   "invalid user role \"%s\": owner, admin or user is expected",
                   text ? text : "");
      return FALSE;
    }
  return TRUE;
}

/* UserCreateRequest: email, name, role, auto_groups, is_service_user. */
static void
create_user (NbRestCtx *ctx)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) obj = nb_rest_parse_body_object (ctx, &error);
  g_autoptr(NbMgmtUser) tmpl = g_new0 (NbMgmtUser, 1);
  g_autoptr(NbMgmtUser) user = NULL;
  const char *email, *name, *role;

  if (obj == NULL)
    NB_REST_FAIL (ctx, error);
  if (!nb_rest_json_get_string (obj, "email", FALSE, &email, &error) ||
      !nb_rest_json_get_string (obj, "name", FALSE, &name, &error) ||
      !nb_rest_json_get_string (obj, "role", FALSE, &role, &error) ||
      !nb_rest_json_get_strv (obj, "auto_groups", FALSE, &tmpl->auto_groups, &error) ||
      !nb_rest_json_get_bool (obj, "is_service_user", FALSE, &tmpl->is_service_user, NULL,
                              &error) ||
      !parse_role (role, &tmpl->role, &error))
    NB_REST_FAIL (ctx, error);
  if (!tmpl->is_service_user && (email == NULL || *email == '\0'))
    {
      nb_rest_reply_error (ctx, SOUP_STATUS_UNPROCESSABLE_ENTITY,
                           "email is required for a user that is not a service user");
      return;
    }
  if (tmpl->role == NB_MGMT_ROLE_OWNER)
    {
      nb_rest_reply_error (ctx, SOUP_STATUS_UNPROCESSABLE_ENTITY,
                           "an account has one owner: create the user as admin or user");
      return;
    }
  tmpl->email = g_strdup (email);
  tmpl->name = g_strdup (name);
  tmpl->issued = g_strdup ("api");

  user = nb_mgmt_store_create_user (ctx->store, ctx->account_id, ctx->user_id, tmpl, &error);
  if (user == NULL)
    NB_REST_FAIL (ctx, error);
  reply_user (ctx, user);
}

/* UserRequest: role, auto_groups, is_blocked (absent ones keep their value). */
static void
update_user (NbRestCtx  *ctx,
             const char *user_id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) obj = NULL;
  g_autoptr(NbMgmtUser) user = NULL;
  g_autoptr(NbMgmtUser) updated = NULL;
  g_auto(GStrv) groups = NULL;
  const char *role;
  gboolean blocked, has_blocked;

  user = nb_mgmt_store_get_user (ctx->store, ctx->account_id, user_id, &error);
  if (user == NULL)
    NB_REST_FAIL (ctx, error);
  obj = nb_rest_parse_body_object (ctx, &error);
  if (obj == NULL)
    NB_REST_FAIL (ctx, error);
  if (!nb_rest_json_get_string (obj, "role", FALSE, &role, &error) ||
      !nb_rest_json_get_strv (obj, "auto_groups", FALSE, &groups, &error) ||
      !nb_rest_json_get_bool (obj, "is_blocked", FALSE, &blocked, &has_blocked, &error))
    NB_REST_FAIL (ctx, error);
  if (role != NULL && !parse_role (role, &user->role, &error))
    NB_REST_FAIL (ctx, error);
  if (json_object_has_member (obj, "auto_groups"))
    {
      g_strfreev (user->auto_groups);
      user->auto_groups = g_steal_pointer (&groups);
    }
  if (has_blocked)
    user->is_blocked = blocked;

  updated = nb_mgmt_store_update_user (ctx->store, ctx->account_id, ctx->user_id, user, &error);
  if (updated == NULL)
    NB_REST_FAIL (ctx, error);
  reply_user (ctx, updated);
}

/* Tokens --------------------------------------------------------------------- */

static void
build_pat (NbJsonWriter    *b,
           const NbMgmtPat *pat)
{
  nb_json_writer_begin_object (b);
  nb_rest_builder_add_string (b, "id", pat->id);
  nb_rest_builder_add_string (b, "name", pat->name);
  nb_rest_builder_add_time (b, "expiration_date", pat->expiration_date);
  nb_rest_builder_add_string (b, "created_by", pat->created_by);
  nb_rest_builder_add_time (b, "created_at", pat->created_at);
  nb_rest_builder_add_time (b, "last_used", pat->last_used);
  nb_json_writer_end_object (b);
}

/* May the caller manage @target's tokens? Its own, or a service user's
 * when an admin. @target of another account is 404. */
static gboolean
may_manage_tokens (NbRestCtx  *ctx,
                   const char *target_id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtUser) target = NULL;

  if (g_strcmp0 (target_id, ctx->user_id) == 0)
    return TRUE;
  target = nb_mgmt_store_get_user (ctx->store, ctx->account_id, target_id, &error);
  if (target == NULL)
    {
      nb_rest_reply_gerror (ctx, error);
      return FALSE;
    }
  if (is_admin (ctx) && target->is_service_user)
    return TRUE;
  nb_rest_reply_error (ctx, SOUP_STATUS_FORBIDDEN,
                       "no permission to manage tokens of user %s: users manage their own "
                       "tokens, admins also those of service users", target_id);
  return FALSE;
}

static void
handle_tokens (NbRestCtx  *ctx,
               const char *user_id)
{
  const char *token_id = ctx->n_segs > 3 ? ctx->segs[3] : NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(NbJsonWriter) b = nb_json_writer_new ();

  if (!may_manage_tokens (ctx, user_id))
    return;

  if (token_id == NULL && g_str_equal (ctx->method, "GET"))
    {
      g_autoptr(GPtrArray) pats = nb_mgmt_store_list_pats (ctx->store, ctx->account_id, user_id,
                                                           &error);
      if (pats == NULL)
        NB_REST_FAIL (ctx, error);
      nb_json_writer_begin_array (b);
      for (guint i = 0; i < pats->len; i++)
        build_pat (b, g_ptr_array_index (pats, i));
      nb_json_writer_end_array (b);
      nb_rest_reply_builder (ctx, b);
    }
  else if (token_id == NULL && g_str_equal (ctx->method, "POST"))
    {
      g_autoptr(JsonObject) obj = nb_rest_parse_body_object (ctx, &error);
      g_autoptr(NbMgmtPat) pat = NULL;
      g_autofree char *plain = NULL;
      const char *name;
      gint64 expires_in = 0;

      if (obj == NULL)
        NB_REST_FAIL (ctx, error);
      if (!nb_rest_json_get_string (obj, "name", FALSE, &name, &error) ||
          !nb_rest_json_get_int (obj, "expires_in", FALSE, &expires_in, NULL, &error))
        NB_REST_FAIL (ctx, error);
      if (name == NULL || *name == '\0')
        {
          nb_rest_reply_error (ctx, SOUP_STATUS_UNPROCESSABLE_ENTITY,
                               "token name can't be empty");
          return;
        }
      if (expires_in < 1 || expires_in > 365)
        {
          nb_rest_reply_error (ctx, SOUP_STATUS_UNPROCESSABLE_ENTITY,
                               "expiration has to be between 1 and 365 (days)");
          return;
        }
      pat = nb_mgmt_store_create_pat (ctx->store, ctx->account_id, ctx->user_id, user_id, name,
                                      (gint) expires_in, &plain, &error);
      if (pat == NULL)
        NB_REST_FAIL (ctx, error);
      nb_json_writer_begin_object (b);
      nb_rest_builder_add_string (b, "plain_token", plain);
      nb_json_writer_member (b, "personal_access_token");
      build_pat (b, pat);
      nb_json_writer_end_object (b);
      nb_rest_reply_builder (ctx, b);
      sodium_memzero (plain, strlen (plain));
    }
  else if (token_id == NULL)
    nb_rest_reply_method_not_allowed (ctx);
  else if (g_str_equal (ctx->method, "GET"))
    {
      g_autoptr(NbMgmtPat) pat = nb_mgmt_store_get_pat (ctx->store, ctx->account_id, user_id,
                                                        token_id, &error);
      if (pat == NULL)
        NB_REST_FAIL (ctx, error);
      build_pat (b, pat);
      nb_rest_reply_builder (ctx, b);
    }
  else if (g_str_equal (ctx->method, "DELETE"))
    {
      if (!nb_mgmt_store_delete_pat (ctx->store, ctx->account_id, ctx->user_id, user_id,
                                     token_id, &error))
        NB_REST_FAIL (ctx, error);
      nb_rest_reply_empty (ctx);
    }
  else
    nb_rest_reply_method_not_allowed (ctx);
}

void
nb_mgmt_rest_handle_users (NbRestCtx *ctx)
{
  const char *id = ctx->n_segs > 1 ? ctx->segs[1] : NULL;
  g_autoptr(GError) error = NULL;

  if (ctx->n_segs == 3 || ctx->n_segs == 4)
    {
      if (g_str_equal (ctx->segs[2], "tokens"))
        handle_tokens (ctx, id);
      return;
    }
  if (ctx->n_segs > 2)
    return;

  if (id == NULL)
    {
      if (g_str_equal (ctx->method, "GET"))
        list_users (ctx);
      else if (g_str_equal (ctx->method, "POST"))
        {
          if (nb_rest_require_admin (ctx))
            create_user (ctx);
        }
      else
        nb_rest_reply_method_not_allowed (ctx);
      return;
    }

  if (g_str_equal (id, "current"))
    {
      g_autoptr(NbMgmtUser) user = NULL;

      if (!g_str_equal (ctx->method, "GET"))
        {
          nb_rest_reply_method_not_allowed (ctx);
          return;
        }
      user = nb_mgmt_store_get_user (ctx->store, ctx->account_id, ctx->user_id, &error);
      if (user == NULL)
        NB_REST_FAIL (ctx, error);
      reply_user (ctx, user);
      return;
    }

  if (g_str_equal (ctx->method, "PUT"))
    {
      if (nb_rest_require_admin (ctx))
        update_user (ctx, id);
    }
  else if (g_str_equal (ctx->method, "DELETE"))
    {
      if (!nb_rest_require_admin (ctx))
        return;
      if (!nb_mgmt_store_delete_user (ctx->store, ctx->account_id, ctx->user_id, id, &error))
        NB_REST_FAIL (ctx, error);
      nb_rest_reply_empty (ctx);
    }
  else
    nb_rest_reply_method_not_allowed (ctx);
}
