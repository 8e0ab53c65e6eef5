/* nb-mgmt-rest-routes.c: /api/routes
 *
 * GET, POST /api/routes; GET, PUT, DELETE /api/routes/{routeId}
 * (NetBird's RouteRequest and Route; the store validates as NetBird does).
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-mgmt-rest"

#include <string.h>

#include "nb-mgmt-rest-private.h"

static const char *
network_type (const NbMgmtRoute *route)
{
  if (route->domains != NULL && route->domains[0] != NULL)
    return "Domain";
  if (route->network != NULL && strchr (route->network, ':') != NULL)
    return "IPv6";
  return "IPv4";
}

static void
build_route (NbJsonWriter      *b,
             const NbMgmtRoute *route)
{
  nb_json_writer_begin_object (b);
  nb_rest_builder_add_string (b, "id", route->id);
  nb_rest_builder_add_string (b, "network_type", network_type (route));
  nb_rest_builder_add_string (b, "description", route->description);
  nb_rest_builder_add_string (b, "network_id", route->network_id);
  nb_rest_builder_add_bool (b, "enabled", route->enabled);
  if (route->peer != NULL)
    nb_rest_builder_add_string (b, "peer", route->peer);
  if (route->peer_groups != NULL)
    nb_rest_builder_add_strv (b, "peer_groups", (const char *const *) route->peer_groups);
  if (route->network != NULL)
    nb_rest_builder_add_string (b, "network", route->network);
  if (route->domains != NULL)
    nb_rest_builder_add_strv (b, "domains", (const char *const *) route->domains);
  nb_rest_builder_add_int (b, "metric", route->metric);
  nb_rest_builder_add_bool (b, "masquerade", route->masquerade);
  nb_rest_builder_add_strv (b, "groups", (const char *const *) route->groups);
  nb_rest_builder_add_bool (b, "keep_route", route->keep_route);
  nb_rest_builder_add_strv (b, "access_control_groups",
                            (const char *const *) route->access_control_groups);
  nb_rest_builder_add_bool (b, "skip_auto_apply", FALSE);
  nb_json_writer_end_object (b);
}

static void
reply_route (NbRestCtx         *ctx,
             const NbMgmtRoute *route)
{
  g_autoptr(NbJsonWriter) b = nb_json_writer_new ();

  build_route (b, route);
  nb_rest_reply_builder (ctx, b);
}

/* RouteRequest. Empty strings and empty lists count as unset, so that
 * `"peer": ""` with `peer_groups` set is accepted as NetBird accepts it. */
static gboolean
parse_route (NbRestCtx   *ctx,
             NbMgmtRoute *route,
             GError     **error)
{
  g_autoptr(JsonObject) obj = nb_rest_parse_body_object (ctx, error);
  const char *description, *network_id, *peer, *network;
  gboolean enabled = TRUE, has_enabled, masquerade = FALSE, keep_route = FALSE, skip = FALSE;
  gint64 metric = 0;
  gboolean has_metric;

  if (obj == NULL)
    return FALSE;
  if (!nb_rest_json_get_string (obj, "description", FALSE, &description, error) ||
      !nb_rest_json_get_string (obj, "network_id", FALSE, &network_id, error) ||
      !nb_rest_json_get_bool (obj, "enabled", FALSE, &enabled, &has_enabled, error) ||
      !nb_rest_json_get_string (obj, "peer", FALSE, &peer, error) ||
      !nb_rest_json_get_strv (obj, "peer_groups", FALSE, &route->peer_groups, error) ||
      !nb_rest_json_get_string (obj, "network", FALSE, &network, error) ||
      !nb_rest_json_get_strv (obj, "domains", FALSE, &route->domains, error) ||
      !nb_rest_json_get_int (obj, "metric", FALSE, &metric, &has_metric, error) ||
      !nb_rest_json_get_bool (obj, "masquerade", FALSE, &masquerade, NULL, error) ||
      !nb_rest_json_get_strv (obj, "groups", FALSE, &route->groups, error) ||
      !nb_rest_json_get_bool (obj, "keep_route", FALSE, &keep_route, NULL, error) ||
      !nb_rest_json_get_strv (obj, "access_control_groups", FALSE,
                              &route->access_control_groups, error) ||
      !nb_rest_json_get_bool (obj, "skip_auto_apply", FALSE, &skip, NULL, error))
    return FALSE;

  if (!has_metric)
    metric = 9999;
  if (metric < 1 || metric > 9999)
    {
      g_set_error (error, NB_MGMT_REST_ERROR, SOUP_STATUS_UNPROCESSABLE_ENTITY,
                   "invalid metric %" G_GINT64_FORMAT ": it must be between 1 and 9999", metric);
      return FALSE;
    }

  route->description = g_strdup (description ? description : "");
  route->network_id = g_strdup (network_id ? network_id : "");
  route->enabled = has_enabled ? enabled : TRUE;
  route->peer = (peer && *peer) ? g_strdup (peer) : NULL;
  route->network = (network && *network) ? g_strdup (network) : NULL;
  route->metric = (gint) metric;
  route->masquerade = masquerade;
  route->keep_route = keep_route;
  if (route->peer_groups && route->peer_groups[0] == NULL)
    g_clear_pointer (&route->peer_groups, g_strfreev);
  if (route->domains && route->domains[0] == NULL)
    g_clear_pointer (&route->domains, g_strfreev);
  return TRUE;
}

static void
list_routes (NbRestCtx *ctx)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) routes = nb_mgmt_store_list_routes (ctx->store, ctx->account_id, &error);
  g_autoptr(NbJsonWriter) b = nb_json_writer_new ();

  if (routes == NULL)
    NB_REST_FAIL (ctx, error);
  nb_json_writer_begin_array (b);
  for (guint i = 0; i < routes->len; i++)
    build_route (b, g_ptr_array_index (routes, i));
  nb_json_writer_end_array (b);
  nb_rest_reply_builder (ctx, b);
}

static gpointer
route_new (void)
{
  return g_new0 (NbMgmtRoute, 1);
}

static const NbRestResource routes = {
  .list = list_routes,
  .get = (NbRestGetFunc) nb_mgmt_store_get_route,
  .reply = (NbRestReplyFunc) reply_route,
  .free = (GDestroyNotify) nb_mgmt_route_free,
  .new_record = route_new,
  .parse = (NbRestParseFunc) parse_route,
  .id_offset = G_STRUCT_OFFSET (NbMgmtRoute, id),
  .create = (NbRestSaveFunc) nb_mgmt_store_create_route,
  .update = (NbRestSaveFunc) nb_mgmt_store_update_route,
  .remove = nb_mgmt_store_delete_route,
};

void
nb_mgmt_rest_handle_routes (NbRestCtx *ctx)
{
  nb_rest_serve_resource (ctx, &routes, 1);
}
