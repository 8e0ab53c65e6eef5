/* nb-mgmt-rest-api.c: the REST API object, its router and authentication
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-mgmt-rest"

#include <string.h>

#include "nb-mgmt-rest-private.h"
#include "nb-mgmt-store.h"

/**
 * NbMgmtRestApi:
 *
 * NetBird's public REST API under `/api`, served from a #NbMgmtStore.
 *
 * Every request carries `Authorization: Token nbp_...`, a personal access
 * token whose hash the store holds; the token names the acting user and
 * through it the account. A request never sees another account: an id of
 * another account's object is answered as unknown (404). Owners and admins
 * administer; a plain user reads what NetBird lets a user read.
 */
struct _NbMgmtRestApi
{
  GObject parent_instance;

  NbMgmtStore *store;
  gsize max_body;
};

G_DEFINE_FINAL_TYPE (NbMgmtRestApi, nb_mgmt_rest_api, G_TYPE_OBJECT)

/* What the early handler collects of a request's body: never more than
 * max_body bytes are kept, however much the client sends. */
typedef struct
{
  GByteArray *data;
  gsize max;
  gboolean too_big;
} BodyCollector;

#define BODY_KEY "nb-mgmt-rest-body"

static void
body_collector_free (gpointer p)
{
  BodyCollector *bc = p;

  g_byte_array_unref (bc->data);
  g_free (bc);
}

static void
nb_mgmt_rest_api_finalize (GObject *object)
{
  NbMgmtRestApi *self = NB_MGMT_REST_API (object);

  g_clear_object (&self->store);

  G_OBJECT_CLASS (nb_mgmt_rest_api_parent_class)->finalize (object);
}

static void
nb_mgmt_rest_api_class_init (NbMgmtRestApiClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = nb_mgmt_rest_api_finalize;
}

static void
nb_mgmt_rest_api_init (NbMgmtRestApi *self)
{
  self->max_body = NB_MGMT_REST_API_DEFAULT_MAX_BODY;
}

NbMgmtRestApi *
nb_mgmt_rest_api_new (NbMgmtStore *store)
{
  NbMgmtRestApi *self;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  self = g_object_new (NB_TYPE_MGMT_REST_API, NULL);
  self->store = g_object_ref (store);
  return self;
}

void
nb_mgmt_rest_api_set_max_body_size (NbMgmtRestApi *self,
                                    gsize          max_bytes)
{
  g_return_if_fail (NB_IS_MGMT_REST_API (self));

  self->max_body = max_bytes;
}

/* Body collection ---------------------------------------------------------- */

static void
on_got_chunk (SoupServerMessage *msg,
              GBytes            *chunk,
              gpointer           user_data)
{
  BodyCollector *bc = g_object_get_data (G_OBJECT (msg), BODY_KEY);
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (chunk, &len);

  if (bc == NULL || bc->too_big)
    return;
  if (bc->data->len + len > bc->max)
    {
      bc->too_big = TRUE;
      g_byte_array_set_size (bc->data, 0);
      return;
    }
  g_byte_array_append (bc->data, data, (guint) len);
}

/* Runs once the headers are in, before the body is read: a body declared
 * larger than the limit is refused at once without reading it, and any
 * other body (chunked included) is collected up to the limit only. */
static void
early_handler (SoupServer        *server,
               SoupServerMessage *msg,
               const char        *path,
               GHashTable        *query,
               gpointer           user_data)
{
  NbMgmtRestApi *self = user_data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  BodyCollector *bc;

  if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH &&
      soup_message_headers_get_content_length (headers) > (goffset) self->max_body)
    {
      g_autofree char *text = g_strdup_printf ("request body too large: the limit is %"
                                               G_GSIZE_FORMAT " bytes", self->max_body);

      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "Connection", "close");
      nb_rest_reply_error_msg (msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, text);
      return;
    }

  bc = g_new0 (BodyCollector, 1);
  bc->data = g_byte_array_new ();
  bc->max = self->max_body;
  g_object_set_data_full (G_OBJECT (msg), BODY_KEY, bc, body_collector_free);
  soup_message_body_set_accumulate (soup_server_message_get_request_body (msg), FALSE);
  g_signal_connect (msg, "got-chunk", G_CALLBACK (on_got_chunk), NULL);
}

/* The request body as collected, NULL when there is none. */
const guint8 *
nb_rest_body_bytes (NbRestCtx *ctx,
                    gsize     *len)
{
  BodyCollector *bc = g_object_get_data (G_OBJECT (ctx->msg), BODY_KEY);

  if (bc == NULL)
    {
      *len = 0;
      return NULL;
    }
  *len = bc->data->len;
  return bc->data->data;
}

/* Authentication ----------------------------------------------------------- */

/* `Authorization: Token nbp_...`, as NetBird's API docs show. A JWT
 * (`Bearer`) needs an identity provider, which this server does not have. */
static gboolean
authenticate (NbRestCtx *ctx)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (ctx->msg);
  const char *auth = soup_message_headers_get_one (headers, "Authorization");
  g_autoptr(NbMgmtUser) user = NULL;
  g_autoptr(GError) error = NULL;
  const char *token;

  if (auth == NULL || *auth == '\0')
    {
      nb_rest_reply_error (ctx, SOUP_STATUS_UNAUTHORIZED, "no valid authentication provided: "
                           "send \"Authorization: Token nbp_...\"");
      return FALSE;
    }
  if (g_ascii_strncasecmp (auth, "Token ", 6) == 0)
    token = auth + 6;
  else if (g_ascii_strncasecmp (auth, "Bearer ", 7) == 0)
    {
      nb_rest_reply_error (ctx, SOUP_STATUS_UNAUTHORIZED,
                           "bearer tokens need an identity provider, which this server "
                           "does not have: use a personal access token (\"Token nbp_...\")");
      return FALSE;
    }
  else
    {
      nb_rest_reply_error (ctx, SOUP_STATUS_UNAUTHORIZED, "unsupported authorization scheme: "
                           "send \"Authorization: Token nbp_...\"");
      return FALSE;
    }
  while (*token == ' ')
    token++;

  user = nb_mgmt_store_authenticate_pat (ctx->store, token, &error);
  if (user == NULL)
    {
      nb_rest_reply_gerror (ctx, error);
      return FALSE;
    }

  ctx->account_id = g_strdup (user->account_id);
  ctx->user_id = g_strdup (user->id);
  ctx->role = user->role;
  ctx->is_service_user = user->is_service_user;
  return TRUE;
}

/* Routing ------------------------------------------------------------------ */

static const struct
{
  const char *name;
  NbRestHandler handler;
} resources[] = {
  { "accounts", nb_mgmt_rest_handle_accounts },
  { "users", nb_mgmt_rest_handle_users },
  { "peers", nb_mgmt_rest_handle_peers },
  { "setup-keys", nb_mgmt_rest_handle_setup_keys },
  { "groups", nb_mgmt_rest_handle_groups },
  { "policies", nb_mgmt_rest_handle_policies },
  { "routes", nb_mgmt_rest_handle_routes },
  { "dns", nb_mgmt_rest_handle_dns },
  { "events", nb_mgmt_rest_handle_events },
};

/* Splits the path after /api into percent-decoded segments. FALSE when
 * the path has too many or a segment that cannot be an id. */
static gboolean
split_path (NbRestCtx  *ctx,
            const char *path)
{
  g_auto(GStrv) parts = NULL;

  if (!g_str_has_prefix (path, "/api/"))
    return FALSE;
  parts = g_strsplit (path + strlen ("/api/"), "/", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      char *seg;

      if (parts[i][0] == '\0')
        {
          /* Only a trailing slash may leave an empty segment. */
          if (parts[i + 1] == NULL && i > 0)
            break;
          return FALSE;
        }
      if (ctx->n_segs == NB_REST_MAX_SEGMENTS)
        return FALSE;
      seg = g_uri_unescape_string (parts[i], NULL);
      if (seg == NULL)
        return FALSE;
      ctx->segs[ctx->n_segs++] = seg;
    }
  return ctx->n_segs > 0;
}

static void
handler (SoupServer        *server,
         SoupServerMessage *msg,
         const char        *path,
         GHashTable        *query,
         gpointer           user_data)
{
  NbMgmtRestApi *self = user_data;
  BodyCollector *bc = g_object_get_data (G_OBJECT (msg), BODY_KEY);
  NbRestCtx ctx = { 0 };

  /* The early handler answered already (413). */
  if (soup_server_message_get_status (msg) != 0)
    return;

  ctx.api = self;
  ctx.store = self->store;
  ctx.msg = msg;
  ctx.method = soup_server_message_get_method (msg);
  ctx.query = query;

  if (bc != NULL && bc->too_big)
    {
      nb_rest_reply_error (&ctx, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE,
                           "request body too large: the limit is %" G_GSIZE_FORMAT " bytes",
                           self->max_body);
      goto out;
    }

  if (!authenticate (&ctx))
    goto out;

  if (!split_path (&ctx, path))
    {
      nb_rest_reply_not_found_path (&ctx);
      goto out;
    }

  for (guint i = 0; i < G_N_ELEMENTS (resources); i++)
    if (g_str_equal (ctx.segs[0], resources[i].name))
      {
        resources[i].handler (&ctx);
        break;
      }

  if (!ctx.replied)
    nb_rest_reply_not_found_path (&ctx);

out:
  for (guint i = 0; i < ctx.n_segs; i++)
    g_free (ctx.segs[i]);
  g_free (ctx.account_id);
  g_free (ctx.user_id);
}

void
nb_mgmt_rest_api_attach (NbMgmtRestApi *self,
                         SoupServer    *server)
{
  g_return_if_fail (NB_IS_MGMT_REST_API (self));
  g_return_if_fail (SOUP_IS_SERVER (server));

  soup_server_add_early_handler (server, "/api", early_handler,
                                 g_object_ref (self), g_object_unref);
  soup_server_add_handler (server, "/api", handler,
                           g_object_ref (self), g_object_unref);
}
