/* nb-mgmt-rest-peers.c: /api/peers
 *
 * GET /api/peers[?name=...&ip=...], GET, PUT, DELETE /api/peers/{peerId},
 * GET /api/peers/{peerId}/accessible-peers.
 *
 * Admins see every peer of the account; a regular user sees its own peers,
 * and none when the account blocks regular users' view (as NetBird). As in
 * NetBird's responses, `dns_label` carries the peer's FQDN.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-mgmt-rest"

#include <string.h>

#include "nb-mgmt-rest-private.h"

static gboolean
is_admin (NbRestCtx *ctx)
{
  return ctx->role == NB_MGMT_ROLE_ADMIN || ctx->role == NB_MGMT_ROLE_OWNER;
}

/* What rendering a peer needs besides the peer. */
typedef struct
{
  NbMgmtAccount *account;
  char *dns_domain;
  NbRestGroupIndex *groups;
  gint64 now;
} PeerView;

static void
peer_view_clear (PeerView *view)
{
  g_clear_pointer (&view->account, nb_mgmt_account_free);
  g_clear_pointer (&view->dns_domain, g_free);
  g_clear_pointer (&view->groups, nb_rest_group_index_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PeerView, peer_view_clear)

static gboolean
peer_view_init (NbRestCtx *ctx,
                PeerView  *view,
                gboolean   with_groups)
{
  g_autoptr(GError) error = NULL;

  view->now = nb_mgmt_store_now (ctx->store);
  view->account = nb_mgmt_store_get_account (ctx->store, ctx->account_id, &error);
  if (view->account == NULL)
    goto fail;
  view->dns_domain = nb_mgmt_store_get_dns_domain (ctx->store, ctx->account_id, &error);
  if (view->dns_domain == NULL)
    goto fail;
  if (with_groups)
    {
      view->groups = nb_rest_group_index_new (ctx);
      if (view->groups == NULL)
        return FALSE;
    }
  return TRUE;

fail:
  nb_rest_reply_gerror (ctx, error);
  return FALSE;
}

static void
add_fqdn (NbJsonWriter     *b,
          const NbMgmtPeer *peer,
          const PeerView   *view)
{
  g_autofree char *fqdn = g_strdup_printf ("%s.%s", peer->dns_label, view->dns_domain);

  nb_rest_builder_add_string (b, "dns_label", fqdn);
}

static char *
os_string (const NbMgmtPeer *peer)
{
  const char *os = peer->meta.os ? peer->meta.os : peer->meta.goos;

  if (os == NULL)
    return g_strdup ("");
  if (peer->meta.os_version && *peer->meta.os_version)
    return g_strdup_printf ("%s %s", os, peer->meta.os_version);
  return g_strdup (os);
}

/* Peer (and PeerBatch when @accessible_count >= 0). */
static void
build_peer (NbJsonWriter     *b,
            const NbMgmtPeer *peer,
            const PeerView   *view,
            gint64            accessible_count)
{
  g_autofree char *os = os_string (peer);

  nb_json_writer_begin_object (b);
  nb_rest_builder_add_string (b, "id", peer->id);
  nb_rest_builder_add_string (b, "name", peer->name);
  nb_rest_builder_add_time (b, "created_at", peer->created_at);
  nb_rest_builder_add_string (b, "ip", peer->ip);
  nb_rest_builder_add_string (b, "connection_ip", "");
  nb_rest_builder_add_bool (b, "connected", peer->connected);
  nb_rest_builder_add_time (b, "last_seen", peer->last_seen);
  nb_rest_builder_add_string (b, "os", os);
  nb_rest_builder_add_string (b, "kernel_version", peer->meta.kernel_version);
  nb_rest_builder_add_int (b, "geoname_id", 0);
  nb_rest_builder_add_string (b, "version", peer->meta.netbird_version);
  nb_rest_builder_add_group_list (b, "groups", view->groups, peer->groups);
  nb_rest_builder_add_bool (b, "ssh_enabled", peer->ssh_enabled);
  nb_rest_builder_add_string (b, "user_id", peer->user_id);
  nb_rest_builder_add_string (b, "hostname", peer->meta.hostname);
  nb_rest_builder_add_string (b, "ui_version", peer->meta.ui_version);
  add_fqdn (b, peer, view);
  nb_rest_builder_add_bool (b, "login_expiration_enabled", peer->login_expiration_enabled);
  nb_json_writer_member (b, "login_expired");
  nb_json_writer_bool (b, nb_mgmt_peer_login_expired (peer, &view->account->settings,
                                                                 view->now));
  nb_rest_builder_add_time (b, "last_login", peer->last_login);
  nb_rest_builder_add_bool (b, "inactivity_expiration_enabled", FALSE);
  nb_rest_builder_add_bool (b, "approval_required", FALSE);
  nb_rest_builder_add_string (b, "country_code", "");
  nb_rest_builder_add_string (b, "city_name", "");
  nb_rest_builder_add_string (b, "serial_number", "");
  nb_rest_builder_add_strv (b, "extra_dns_labels", NULL);
  nb_rest_builder_add_bool (b, "ephemeral", peer->ephemeral);
  if (accessible_count >= 0)
    {
      nb_rest_builder_add_int (b, "accessible_peers_count", accessible_count);
    }
  nb_json_writer_end_object (b);
}

/* AccessiblePeer. */
static void
build_accessible_peer (NbJsonWriter     *b,
                       const NbMgmtPeer *peer,
                       const PeerView   *view)
{
  g_autofree char *os = os_string (peer);

  nb_json_writer_begin_object (b);
  nb_rest_builder_add_string (b, "id", peer->id);
  nb_rest_builder_add_string (b, "name", peer->name);
  nb_rest_builder_add_string (b, "ip", peer->ip);
  add_fqdn (b, peer, view);
  nb_rest_builder_add_string (b, "user_id", peer->user_id);
  nb_rest_builder_add_string (b, "os", os);
  nb_rest_builder_add_string (b, "country_code", "");
  nb_rest_builder_add_string (b, "city_name", "");
  nb_rest_builder_add_int (b, "geoname_id", 0);
  nb_rest_builder_add_bool (b, "connected", peer->connected);
  nb_rest_builder_add_time (b, "last_seen", peer->last_seen);
  nb_json_writer_end_object (b);
}

/* The peers the caller may see. A regular user with the view blocked gets
 * an empty list. */
static GPtrArray *
visible_peers (NbRestCtx      *ctx,
               const PeerView *view,
               GError        **error)
{
  if (is_admin (ctx))
    return nb_mgmt_store_list_peers (ctx->store, ctx->account_id, NULL, error);
  if (view->account->settings.regular_users_view_blocked)
    return g_ptr_array_new_with_free_func ((GDestroyNotify) nb_mgmt_peer_free);
  return nb_mgmt_store_list_peers (ctx->store, ctx->account_id, ctx->user_id, error);
}

/* NetBird's filters match a substring (SQL LIKE '%x%', case-insensitive
 * for ASCII in SQLite). */
static gboolean
matches (const char *value,
         const char *filter)
{
  g_autofree char *v = NULL, *f = NULL;

  if (filter == NULL || *filter == '\0')
    return TRUE;
  if (value == NULL)
    return FALSE;
  v = g_ascii_strdown (value, -1);
  f = g_ascii_strdown (filter, -1);
  return strstr (v, f) != NULL;
}

/* PeerBatch list. As NetBird's handler, accessible_peers_count is 0 here:
 * computing every peer's map for a listing would make GET /api/peers cost
 * as much as a full network-map run; /api/peers/{id}/accessible-peers has
 * the real list. */
static void
list_peers (NbRestCtx *ctx)
{
  g_auto(PeerView) view = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) peers = NULL;
  g_autoptr(NbJsonWriter) b = nb_json_writer_new ();
  const char *name = nb_rest_query (ctx, "name");
  const char *ip = nb_rest_query (ctx, "ip");

  if (!nb_rest_require (ctx, NB_MGMT_PERMISSION_READ_OWN))
    return;
  if (!peer_view_init (ctx, &view, TRUE))
    return;
  peers = visible_peers (ctx, &view, &error);
  if (peers == NULL)
    NB_REST_FAIL (ctx, error);

  nb_json_writer_begin_array (b);
  for (guint i = 0; i < peers->len; i++)
    {
      NbMgmtPeer *p = g_ptr_array_index (peers, i);

      if (!matches (p->name, name) || !matches (p->ip, ip))
        continue;
      build_peer (b, p, &view, 0);
    }
  nb_json_writer_end_array (b);
  nb_rest_reply_builder (ctx, b);
}

/* The peer @peer_id if the caller may see it; 404 otherwise (a regular
 * user is not told that other users' peers exist). */
static NbMgmtPeer *
get_visible_peer (NbRestCtx      *ctx,
                  const PeerView *view,
                  const char     *peer_id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtPeer) peer = nb_mgmt_store_get_peer (ctx->store, ctx->account_id, peer_id,
                                                       &error);

  if (peer == NULL)
    {
      nb_rest_reply_gerror (ctx, error);
      return NULL;
    }
  if (!is_admin (ctx) &&
      (view->account->settings.regular_users_view_blocked ||
       g_strcmp0 (peer->user_id, ctx->user_id) != 0))
    {
      nb_rest_reply_error (ctx, SOUP_STATUS_NOT_FOUND, "peer %s not found", peer_id);
      return NULL;
    }
  return g_steal_pointer (&peer);
}

/* PeerRequest: name, ssh_enabled, login_expiration_enabled,
 * inactivity_expiration_enabled, approval_required, ip. */
static void
update_peer (NbRestCtx      *ctx,
             const PeerView *view,
             NbMgmtPeer     *peer)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) obj = nb_rest_parse_body_object (ctx, &error);
  g_autoptr(NbMgmtPeer) updated = NULL;
  g_autoptr(NbJsonWriter) b = nb_json_writer_new ();
  const char *name, *ip;
  gboolean flag, present, inactivity = FALSE, approval = FALSE;

  if (obj == NULL)
    NB_REST_FAIL (ctx, error);
  if (!nb_rest_json_get_string (obj, "name", FALSE, &name, &error) ||
      !nb_rest_json_get_string (obj, "ip", FALSE, &ip, &error) ||
      !nb_rest_json_get_bool (obj, "inactivity_expiration_enabled", FALSE, &inactivity, NULL,
                              &error) ||
      !nb_rest_json_get_bool (obj, "approval_required", FALSE, &approval, NULL, &error))
    NB_REST_FAIL (ctx, error);
  if (name != NULL)
    {
      if (*name == '\0')
        {
          nb_rest_reply_error (ctx, SOUP_STATUS_UNPROCESSABLE_ENTITY,
                               "peer name shouldn't be empty");
          return;
        }
      g_free (peer->name);
      peer->name = g_strdup (name);
    }
  if (ip != NULL && *ip != '\0' && g_strcmp0 (ip, peer->ip) != 0)
    {
      nb_rest_reply_error (ctx, SOUP_STATUS_UNPROCESSABLE_ENTITY,
                           "changing a peer's IP address is not supported by this server");
      return;
    }
  if (inactivity || approval)
    {
      nb_rest_reply_error (ctx, SOUP_STATUS_UNPROCESSABLE_ENTITY, "%s is not supported by "
                           "this server", inactivity ? "inactivity_expiration_enabled"
                                                     : "approval_required");
      return;
    }
  if (!nb_rest_json_get_bool (obj, "ssh_enabled", FALSE, &flag, &present, &error))
    NB_REST_FAIL (ctx, error);
  if (present)
    peer->ssh_enabled = flag;
  if (!nb_rest_json_get_bool (obj, "login_expiration_enabled", FALSE, &flag, &present, &error))
    NB_REST_FAIL (ctx, error);
  if (present)
    peer->login_expiration_enabled = flag;

  updated = nb_mgmt_store_update_peer (ctx->store, ctx->account_id, ctx->user_id, peer, &error);
  if (updated == NULL)
    NB_REST_FAIL (ctx, error);
  build_peer (b, updated, view, -1);
  nb_rest_reply_builder (ctx, b);
}

static void
accessible_peers (NbRestCtx      *ctx,
                  const PeerView *view,
                  NbMgmtPeer     *peer)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) peers = NULL;
  g_autoptr(NbJsonWriter) b = nb_json_writer_new ();

  peers = nb_mgmt_store_list_accessible_peers (ctx->store, ctx->account_id, peer->id, &error);
  if (peers == NULL)
    NB_REST_FAIL (ctx, error);
  nb_json_writer_begin_array (b);
  for (guint i = 0; i < peers->len; i++)
    build_accessible_peer (b, g_ptr_array_index (peers, i), view);
  nb_json_writer_end_array (b);
  nb_rest_reply_builder (ctx, b);
}

void
nb_mgmt_rest_handle_peers (NbRestCtx *ctx)
{
  g_auto(PeerView) view = { 0 };
  g_autoptr(NbMgmtPeer) peer = NULL;
  g_autoptr(GError) error = NULL;
  const char *id = ctx->n_segs > 1 ? ctx->segs[1] : NULL;

  if (ctx->n_segs > 3 || (ctx->n_segs == 3 && !g_str_equal (ctx->segs[2], "accessible-peers")))
    return;

  if (id == NULL)
    {
      if (g_str_equal (ctx->method, "GET"))
        list_peers (ctx);
      else
        nb_rest_reply_method_not_allowed (ctx);
      return;
    }

  if (!nb_rest_require (ctx, NB_MGMT_PERMISSION_READ_OWN))
    return;
  if (!peer_view_init (ctx, &view, TRUE))
    return;
  peer = get_visible_peer (ctx, &view, id);
  if (peer == NULL)
    return;

  if (ctx->n_segs == 3)
    {
      if (g_str_equal (ctx->method, "GET"))
        accessible_peers (ctx, &view, peer);
      else
        nb_rest_reply_method_not_allowed (ctx);
    }
  else if (g_str_equal (ctx->method, "GET"))
    {
      g_autoptr(NbJsonWriter) b = nb_json_writer_new ();

      build_peer (b, peer, &view, -1);
      nb_rest_reply_builder (ctx, b);
    }
  else if (g_str_equal (ctx->method, "PUT"))
    {
      if (nb_rest_require_admin (ctx))
        update_peer (ctx, &view, peer);
    }
  else if (g_str_equal (ctx->method, "DELETE"))
    {
      if (!nb_rest_require_admin (ctx))
        return;
      if (!nb_mgmt_store_delete_peer (ctx->store, ctx->account_id, ctx->user_id, id, &error))
        NB_REST_FAIL (ctx, error);
      nb_rest_reply_empty (ctx);
    }
  else
    nb_rest_reply_method_not_allowed (ctx);
}
