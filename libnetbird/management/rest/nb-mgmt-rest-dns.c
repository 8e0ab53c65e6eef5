/* nb-mgmt-rest-dns.c: /api/dns/nameservers and /api/dns/settings
 *
 * GET, POST /api/dns/nameservers; GET, PUT, DELETE
 * /api/dns/nameservers/{nsgroupId}; GET, PUT /api/dns/settings.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-mgmt-rest"

#include "nb-mgmt-rest-private.h"

static void
build_ns_group (NbJsonWriter                *b,
                const NbMgmtNameserverGroup *group)
{
  nb_json_writer_begin_object (b);
  nb_rest_builder_add_string (b, "id", group->id);
  nb_rest_builder_add_string (b, "name", group->name);
  nb_rest_builder_add_string (b, "description", group->description);
  nb_json_writer_member (b, "nameservers");
  nb_json_writer_begin_array (b);
  for (guint i = 0; group->nameservers && i < group->nameservers->len; i++)
    {
      NbMgmtNameserver *ns = g_ptr_array_index (group->nameservers, i);
      nb_json_writer_begin_object (b);
      nb_rest_builder_add_string (b, "ip", ns->ip);
      nb_rest_builder_add_string (b, "ns_type", ns->ns_type ? ns->ns_type : "udp");
      nb_rest_builder_add_int (b, "port", ns->port);
      nb_json_writer_end_object (b);
    }
  nb_json_writer_end_array (b);
  nb_rest_builder_add_bool (b, "enabled", group->enabled);
  nb_rest_builder_add_strv (b, "groups", (const char *const *) group->groups);
  nb_rest_builder_add_bool (b, "primary", group->primary);
  nb_rest_builder_add_strv (b, "domains", (const char *const *) group->domains);
  nb_rest_builder_add_bool (b, "search_domains_enabled", group->search_domains_enabled);
  nb_json_writer_end_object (b);
}

static void
reply_ns_group (NbRestCtx                   *ctx,
                const NbMgmtNameserverGroup *group)
{
  g_autoptr(NbJsonWriter) b = nb_json_writer_new ();

  build_ns_group (b, group);
  nb_rest_reply_builder (ctx, b);
}

/* NameserverGroupRequest. */
static gboolean
parse_ns_group (NbRestCtx             *ctx,
                NbMgmtNameserverGroup *group,
                GError               **error)
{
  g_autoptr(JsonObject) obj = nb_rest_parse_body_object (ctx, error);
  const char *name, *description;
  gboolean enabled = TRUE, has_enabled, primary = FALSE, search = FALSE;
  JsonArray *servers;

  if (obj == NULL)
    return FALSE;
  if (!nb_rest_json_get_string (obj, "name", FALSE, &name, error) ||
      !nb_rest_json_get_string (obj, "description", FALSE, &description, error) ||
      !nb_rest_json_get_array (obj, "nameservers", FALSE, &servers, error) ||
      !nb_rest_json_get_bool (obj, "enabled", FALSE, &enabled, &has_enabled, error) ||
      !nb_rest_json_get_strv (obj, "groups", FALSE, &group->groups, error) ||
      !nb_rest_json_get_bool (obj, "primary", FALSE, &primary, NULL, error) ||
      !nb_rest_json_get_strv (obj, "domains", FALSE, &group->domains, error) ||
      !nb_rest_json_get_bool (obj, "search_domains_enabled", FALSE, &search, NULL, error))
    return FALSE;

  for (guint i = 0; servers && i < json_array_get_length (servers); i++)
    {
      JsonNode *n = json_array_get_element (servers, i);
      JsonObject *o;
      const char *ip, *ns_type;
      gint64 port = 53;
      gboolean has_port;

      if (!JSON_NODE_HOLDS_OBJECT (n))
        {
          g_set_error (error, NB_MGMT_REST_ERROR, SOUP_STATUS_BAD_REQUEST,
                       "couldn't parse JSON request: nameservers[%u] must be an object", i);
          return FALSE;
        }
      o = json_node_get_object (n);
      if (!nb_rest_json_get_string (o, "ip", TRUE, &ip, error) ||
          !nb_rest_json_get_string (o, "ns_type", FALSE, &ns_type, error) ||
          !nb_rest_json_get_int (o, "port", FALSE, &port, &has_port, error))
        return FALSE;
      if (ns_type != NULL && g_strcmp0 (ns_type, "udp") != 0)
        {
          g_set_error (error, NB_MGMT_REST_ERROR, SOUP_STATUS_UNPROCESSABLE_ENTITY,
                       "nameservers[%u]: ns_type must be \"udp\", not \"%s\"", i, ns_type);
          return FALSE;
        }
      if (port < 1 || port > 65535)
        {
          g_set_error (error, NB_MGMT_REST_ERROR, SOUP_STATUS_UNPROCESSABLE_ENTITY,
                       "nameservers[%u]: invalid port %" G_GINT64_FORMAT, i, port);
          return FALSE;
        }
      g_ptr_array_add (group->nameservers, nb_mgmt_nameserver_new (ip, "udp", (gint) port));
    }

  group->name = g_strdup (name ? name : "");
  group->description = g_strdup (description ? description : "");
  group->enabled = has_enabled ? enabled : TRUE;
  group->primary = primary;
  group->search_domains_enabled = search;
  if (group->domains && group->domains[0] == NULL)
    g_clear_pointer (&group->domains, g_strfreev);
  return TRUE;
}

static void
list_ns_groups (NbRestCtx *ctx)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) groups = nb_mgmt_store_list_nameserver_groups (ctx->store, ctx->account_id, &error);
  g_autoptr(NbJsonWriter) b = nb_json_writer_new ();

  if (groups == NULL)
    NB_REST_FAIL (ctx, error);
  nb_json_writer_begin_array (b);
  for (guint i = 0; i < groups->len; i++)
    build_ns_group (b, g_ptr_array_index (groups, i));
  nb_json_writer_end_array (b);
  nb_rest_reply_builder (ctx, b);
}

static const NbRestResource nameserver_groups = {
  .list = list_ns_groups,
  .get = (NbRestGetFunc) nb_mgmt_store_get_nameserver_group,
  .reply = (NbRestReplyFunc) reply_ns_group,
  .free = (GDestroyNotify) nb_mgmt_nameserver_group_free,
  .new_record = (gpointer (*) (void)) nb_mgmt_nameserver_group_new,
  .parse = (NbRestParseFunc) parse_ns_group,
  .id_offset = G_STRUCT_OFFSET (NbMgmtNameserverGroup, id),
  .create = (NbRestSaveFunc) nb_mgmt_store_create_nameserver_group,
  .update = (NbRestSaveFunc) nb_mgmt_store_update_nameserver_group,
  .remove = nb_mgmt_store_delete_nameserver_group,
};

static void
reply_dns_settings (NbRestCtx               *ctx,
                    const NbMgmtDnsSettings *settings)
{
  g_autoptr(NbJsonWriter) b = nb_json_writer_new ();

  nb_json_writer_begin_object (b);
  nb_rest_builder_add_strv (b, "disabled_management_groups",
                            (const char *const *) settings->disabled_management_groups);
  nb_json_writer_end_object (b);
  nb_rest_reply_builder (ctx, b);
}

static void
handle_settings (NbRestCtx *ctx)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtDnsSettings) settings = NULL;

  if (g_str_equal (ctx->method, "GET"))
    {
      settings = nb_mgmt_store_get_dns_settings (ctx->store, ctx->account_id, &error);
      if (settings == NULL)
        NB_REST_FAIL (ctx, error);
      reply_dns_settings (ctx, settings);
    }
  else if (g_str_equal (ctx->method, "PUT"))
    {
      g_autoptr(JsonObject) obj = nb_rest_parse_body_object (ctx, &error);
      NbMgmtDnsSettings tmpl = { 0 };
      g_auto(GStrv) groups = NULL;

      if (obj == NULL)
        NB_REST_FAIL (ctx, error);
      if (!nb_rest_json_get_strv (obj, "disabled_management_groups", TRUE, &groups, &error))
        NB_REST_FAIL (ctx, error);
      tmpl.disabled_management_groups = groups;
      settings = nb_mgmt_store_update_dns_settings (ctx->store, ctx->account_id, ctx->user_id,
                                                    &tmpl, &error);
      if (settings == NULL)
        NB_REST_FAIL (ctx, error);
      reply_dns_settings (ctx, settings);
    }
  else
    nb_rest_reply_method_not_allowed (ctx);
}

void
nb_mgmt_rest_handle_dns (NbRestCtx *ctx)
{
  if (ctx->n_segs < 2)
    return;
  if (g_str_equal (ctx->segs[1], "nameservers"))
    nb_rest_serve_resource (ctx, &nameserver_groups, 2);
  else if (g_str_equal (ctx->segs[1], "settings") && ctx->n_segs == 2)
    {
      if (nb_rest_require_admin (ctx))
        handle_settings (ctx);
    }
}
