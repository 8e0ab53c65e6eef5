/* nb-mgmt-rest-accounts.c: /api/accounts
 *
 * GET /api/accounts (the caller's account, as a list of one, like NetBird);
 * PUT /api/accounts/{accountId} (settings); DELETE /api/accounts/{accountId}
 * (owner only). Another account's ID is unknown (404).
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-mgmt-rest"

#include "nb-mgmt-rest-private.h"

static void
add_bool (NbJsonWriter *b,
          const char  *field,
          gboolean     value)
{
  nb_rest_builder_add_bool (b, field, value);
}

static void
build_account (NbRestCtx           *ctx,
               NbJsonWriter        *b,
               const NbMgmtAccount *account)
{
  const NbMgmtAccountSettings *s = &account->settings;

  nb_json_writer_begin_object (b);
  nb_rest_builder_add_string (b, "id", account->id);

  nb_json_writer_member (b, "settings");
  nb_json_writer_begin_object (b);
  add_bool (b, "peer_login_expiration_enabled", s->peer_login_expiration_enabled);
  nb_rest_builder_add_int (b, "peer_login_expiration", s->peer_login_expiration);
  add_bool (b, "peer_inactivity_expiration_enabled", FALSE);
  nb_rest_builder_add_int (b, "peer_inactivity_expiration", 0);
  add_bool (b, "regular_users_view_blocked", s->regular_users_view_blocked);
  add_bool (b, "groups_propagation_enabled", s->groups_propagation_enabled);
  add_bool (b, "jwt_groups_enabled", s->jwt_groups_enabled);
  nb_rest_builder_add_string (b, "jwt_groups_claim_name", s->jwt_groups_claim_name);
  nb_rest_builder_add_strv (b, "jwt_allow_groups", NULL);
  add_bool (b, "routing_peer_dns_resolution_enabled", FALSE);
  nb_rest_builder_add_string (b, "dns_domain", s->dns_domain);
  nb_rest_builder_add_string (b, "network_range", account->network_cidr);
  add_bool (b, "peer_expose_enabled", FALSE);
  nb_rest_builder_add_strv (b, "peer_expose_groups", NULL);
  nb_json_writer_member (b, "extra");
  nb_json_writer_begin_object (b);
  add_bool (b, "peer_approval_enabled", FALSE);
  add_bool (b, "user_approval_required", FALSE);
  add_bool (b, "network_traffic_logs_enabled", FALSE);
  nb_rest_builder_add_strv (b, "network_traffic_logs_groups", NULL);
  add_bool (b, "network_traffic_packet_counter_enabled", FALSE);
  nb_json_writer_end_object (b);
  add_bool (b, "lazy_connection_enabled", FALSE);
  nb_json_writer_end_object (b);

  nb_rest_builder_add_string (b, "domain", account->domain);
  nb_rest_builder_add_string (b, "domain_category", account->domain_category);
  nb_rest_builder_add_time (b, "created_at", account->created_at);
  nb_rest_builder_add_string (b, "created_by", account->created_by);
  nb_json_writer_member (b, "onboarding");
  nb_json_writer_begin_object (b);
  add_bool (b, "signup_form_pending", FALSE);
  add_bool (b, "onboarding_flow_pending", FALSE);
  nb_json_writer_end_object (b);
  nb_json_writer_end_object (b);
}

static void
list_accounts (NbRestCtx *ctx)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtAccount) account = nb_mgmt_store_get_account (ctx->store, ctx->account_id,
                                                                &error);
  g_autoptr(NbJsonWriter) b = nb_json_writer_new ();

  if (account == NULL)
    NB_REST_FAIL (ctx, error);
  nb_json_writer_begin_array (b);
  build_account (ctx, b, account);
  nb_json_writer_end_array (b);
  nb_rest_reply_builder (ctx, b);
}

/* AccountRequest: {"settings": AccountSettings, "onboarding": ...}. A
 * setting left out keeps its value; settings this server does not have are
 * accepted only with their inert value, so a request never silently asks
 * for something that will not happen. */
static void
update_account (NbRestCtx *ctx)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtAccount) account = NULL;
  g_autoptr(NbMgmtAccount) updated = NULL;
  g_autoptr(JsonObject) obj = NULL;
  JsonObject *settings;
  NbMgmtAccountSettings s;
  gboolean flag, present;
  gint64 number;
  const char *text;
  static const char *const inert_flags[] = {
    "peer_inactivity_expiration_enabled", "routing_peer_dns_resolution_enabled",
    "peer_expose_enabled", "lazy_connection_enabled",
  };

  account = nb_mgmt_store_get_account (ctx->store, ctx->account_id, &error);
  if (account == NULL)
    NB_REST_FAIL (ctx, error);
  obj = nb_rest_parse_body_object (ctx, &error);
  if (obj == NULL)
    NB_REST_FAIL (ctx, error);
  if (!nb_rest_json_get_object (obj, "settings", TRUE, &settings, &error))
    NB_REST_FAIL (ctx, error);

  s = account->settings;
  if (!nb_rest_json_get_bool (settings, "peer_login_expiration_enabled", FALSE, &flag, &present,
                              &error))
    NB_REST_FAIL (ctx, error);
  if (present)
    s.peer_login_expiration_enabled = flag;
  if (!nb_rest_json_get_int (settings, "peer_login_expiration", FALSE, &number, &present, &error))
    NB_REST_FAIL (ctx, error);
  if (present)
    s.peer_login_expiration = number;
  if (!nb_rest_json_get_bool (settings, "regular_users_view_blocked", FALSE, &flag, &present,
                              &error))
    NB_REST_FAIL (ctx, error);
  if (present)
    s.regular_users_view_blocked = flag;
  if (!nb_rest_json_get_bool (settings, "groups_propagation_enabled", FALSE, &flag, &present,
                              &error))
    NB_REST_FAIL (ctx, error);
  if (present)
    s.groups_propagation_enabled = flag;
  if (!nb_rest_json_get_bool (settings, "jwt_groups_enabled", FALSE, &flag, &present, &error))
    NB_REST_FAIL (ctx, error);
  if (present)
    s.jwt_groups_enabled = flag;
  if (!nb_rest_json_get_string (settings, "jwt_groups_claim_name", FALSE, &text, &error))
    NB_REST_FAIL (ctx, error);
  if (text != NULL)
    s.jwt_groups_claim_name = (char *) text;
  if (!nb_rest_json_get_string (settings, "dns_domain", FALSE, &text, &error))
    NB_REST_FAIL (ctx, error);
  if (text != NULL)
    s.dns_domain = (char *) text;

  for (guint i = 0; i < G_N_ELEMENTS (inert_flags); i++)
    {
      if (!nb_rest_json_get_bool (settings, inert_flags[i], FALSE, &flag, &present, &error))
        NB_REST_FAIL (ctx, error);
      if (present && flag)
        {
          nb_rest_reply_error (ctx, SOUP_STATUS_UNPROCESSABLE_ENTITY,
                               "%s is not supported by this server", inert_flags[i]);
          return;
        }
    }
  if (!nb_rest_json_get_string (settings, "network_range", FALSE, &text, &error))
    NB_REST_FAIL (ctx, error);
  if (text != NULL && *text != '\0' && g_strcmp0 (text, account->network_cidr) != 0)
    {
      nb_rest_reply_error (ctx, SOUP_STATUS_UNPROCESSABLE_ENTITY,
                           "changing the network range (%s) is not supported by this server",
                           account->network_cidr);
      return;
    }

  updated = nb_mgmt_store_update_account_settings (ctx->store, ctx->account_id, ctx->user_id,
                                                   &s, &error);
  if (updated == NULL)
    NB_REST_FAIL (ctx, error);
  {
    g_autoptr(NbJsonWriter) b = nb_json_writer_new ();
    build_account (ctx, b, updated);
    nb_rest_reply_builder (ctx, b);
  }
}

void
nb_mgmt_rest_handle_accounts (NbRestCtx *ctx)
{
  g_autoptr(GError) error = NULL;

  if (ctx->n_segs > 2)
    return;

  if (ctx->n_segs == 1)
    {
      if (!g_str_equal (ctx->method, "GET"))
        nb_rest_reply_method_not_allowed (ctx);
      else if (nb_rest_require_admin (ctx))
        list_accounts (ctx);
      return;
    }

  /* Another account's ID is answered as an unknown one. */
  if (!g_str_equal (ctx->segs[1], ctx->account_id))
    {
      nb_rest_reply_error (ctx, SOUP_STATUS_NOT_FOUND, "account %s not found", ctx->segs[1]);
      return;
    }

  if (g_str_equal (ctx->method, "PUT"))
    {
      if (nb_rest_require_admin (ctx))
        update_account (ctx);
    }
  else if (g_str_equal (ctx->method, "DELETE"))
    {
      if (!nb_rest_require (ctx, NB_MGMT_PERMISSION_OWNER))
        return;
      if (!nb_mgmt_store_delete_account (ctx->store, ctx->account_id, ctx->user_id, &error))
        NB_REST_FAIL (ctx, error);
      nb_rest_reply_empty (ctx);
    }
  else
    nb_rest_reply_method_not_allowed (ctx);
}
