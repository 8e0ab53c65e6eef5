/* nb-mgmt-rest-reply.c: JSON responses and errors as NetBird writes them
 *
 * A success is the resource (or list) as JSON with 200; a deletion is `{}`.
 * An error is `{"message": "...", "code": N}` where N repeats the HTTP status.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-mgmt-rest"

#include <string.h>

#include "nb-mgmt-rest-private.h"
#include "nb-mgmt-store.h"
#include "nb-text-private.h"

/* Logs "METHOD PATH<suffix>" at @level, with every part that came from the
 * client quoted by nb_text_escape(): a path with %0A in it, or a message
 * that repeats a name, must not start a line of its own in the log. */
static void
log_request (NbRestCtx      *ctx,
             GLogLevelFlags  level,
             const char     *suffix)
{
  g_autofree char *method = NULL;
  g_autofree char *path = NULL;
  g_autofree char *quoted = NULL;

  if (g_log_writer_default_would_drop (level, G_LOG_DOMAIN))
    return;
  method = nb_text_escape (ctx->method, -1, 32);
  path = nb_text_escape (g_uri_get_path (soup_server_message_get_uri (ctx->msg)), -1, NB_TEXT_LOG_MAX);
  quoted = nb_text_escape (suffix, -1, NB_TEXT_LOG_MAX);
  g_log (G_LOG_DOMAIN, level, "%s %s%s", method, path, quoted);
}

static void
set_json_body (SoupServerMessage *msg,
               guint              status,
               char              *text /* (transfer full) */)
{
  gsize len = strlen (text);

  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json; charset=UTF-8",
                                    SOUP_MEMORY_TAKE, text, len);
}

void
nb_rest_reply_builder (NbRestCtx    *ctx,
                       NbJsonWriter *writer)
{
  gsize len = 0;
  char *text = nb_json_writer_steal (writer, &len);

  soup_server_message_set_status (ctx->msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (ctx->msg, "application/json; charset=UTF-8",
                                    SOUP_MEMORY_TAKE, text, len);
  ctx->replied = TRUE;
}

void
nb_rest_reply_empty (NbRestCtx *ctx)
{
  set_json_body (ctx->msg, SOUP_STATUS_OK, g_strdup ("{}"));
  ctx->replied = TRUE;
}

static void
reply_error_text (SoupServerMessage *msg,
                  guint              status,
                  const char        *message)
{
  g_autoptr(NbJsonWriter) w = nb_json_writer_new ();
  gsize len = 0;
  char *text;

  nb_json_writer_begin_object (w);
  nb_json_writer_member (w, "message");
  nb_json_writer_string (w, message);
  nb_rest_builder_add_int (w, "code", status);
  nb_json_writer_end_object (w);
  text = nb_json_writer_steal (w, &len);
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json; charset=UTF-8",
                                    SOUP_MEMORY_TAKE, text, len);
}

/* For the early handler, which has no ctx yet. */
void
nb_rest_reply_error_msg (SoupServerMessage *msg,
                         guint              status,
                         const char        *message)
{
  reply_error_text (msg, status, message);
}

void
nb_rest_reply_error (NbRestCtx  *ctx,
                     guint       status,
                     const char *format,
                     ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  if (!g_log_writer_default_would_drop (G_LOG_LEVEL_DEBUG, G_LOG_DOMAIN))
    {
      g_autofree char *suffix = g_strdup_printf (" -> %u %s", status, message);

      log_request (ctx, G_LOG_LEVEL_DEBUG, suffix);
    }
  reply_error_text (ctx->msg, status, message);
  ctx->replied = TRUE;
}

void
nb_rest_reply_gerror (NbRestCtx    *ctx,
                      const GError *error)
{
  guint status = SOUP_STATUS_INTERNAL_SERVER_ERROR;

  if (error->domain == NB_MGMT_REST_ERROR)
    status = (guint) error->code;
  else if (error->domain == NB_MGMT_ERROR)
    status = nb_mgmt_error_to_http_status (error);

  if (status == SOUP_STATUS_INTERNAL_SERVER_ERROR)
    {
      /* Don't hand internals (SQL, paths) to the client; log them. Not
       * g_warning(): a client must not be able to abort a server that runs
       * with fatal warnings. */
      g_autofree char *suffix = g_strconcat (": ", error->message, NULL);

      log_request (ctx, G_LOG_LEVEL_MESSAGE, suffix);
      nb_rest_reply_error (ctx, status, "internal server error");
      return;
    }
  nb_rest_reply_error (ctx, status, "%s", error->message);
}

void
nb_rest_reply_method_not_allowed (NbRestCtx *ctx)
{
  nb_rest_reply_error (ctx, SOUP_STATUS_METHOD_NOT_ALLOWED,
                       "method %s is not allowed on this path", ctx->method);
}

void
nb_rest_reply_not_found_path (NbRestCtx *ctx)
{
  nb_rest_reply_error (ctx, SOUP_STATUS_NOT_FOUND, "no such API path: %s",
                       g_uri_get_path (soup_server_message_get_uri (ctx->msg)));
}

gboolean
nb_rest_require (NbRestCtx        *ctx,
                 NbMgmtPermission  permission)
{
  g_autoptr(GError) error = NULL;

  if (nb_mgmt_store_check_permission (ctx->store, ctx->account_id, ctx->user_id,
                                      permission, &error))
    return TRUE;
  nb_rest_reply_gerror (ctx, error);
  return FALSE;
}

gboolean
nb_rest_require_admin (NbRestCtx *ctx)
{
  return nb_rest_require (ctx, NB_MGMT_PERMISSION_ADMIN);
}

/* ---- Plain resources ----------------------------------------------------- */

static void
reply_record (NbRestCtx            *ctx,
              const NbRestResource *resource,
              gpointer              record,
              GError               *error)
{
  if (record == NULL)
    {
      nb_rest_reply_gerror (ctx, error);
      return;
    }
  resource->reply (ctx, record);
  resource->free (record);
}

static void
create_record (NbRestCtx            *ctx,
               const NbRestResource *resource)
{
  g_autoptr(GError) error = NULL;
  gpointer tmpl = resource->new_record ();
  gpointer record = NULL;

  if (resource->parse (ctx, tmpl, &error))
    record = resource->create (ctx->store, ctx->account_id, ctx->user_id, tmpl, &error);
  resource->free (tmpl);
  reply_record (ctx, resource, record, error);
}

/* As NetBird: an unknown id is 404 before the body is even read. */
static void
update_record (NbRestCtx            *ctx,
               const NbRestResource *resource,
               const char           *id)
{
  g_autoptr(GError) error = NULL;
  gpointer existing = resource->get (ctx->store, ctx->account_id, id, &error);
  gpointer tmpl, record = NULL;

  if (existing == NULL)
    NB_REST_FAIL (ctx, error);
  resource->free (existing);
  tmpl = resource->new_record ();
  if (resource->parse (ctx, tmpl, &error))
    {
      G_STRUCT_MEMBER (char *, tmpl, resource->id_offset) = g_strdup (id);
      record = resource->update (ctx->store, ctx->account_id, ctx->user_id, tmpl, &error);
    }
  resource->free (tmpl);
  reply_record (ctx, resource, record, error);
}

void
nb_rest_serve_resource (NbRestCtx            *ctx,
                        const NbRestResource *resource,
                        guint                 id_seg)
{
  g_autoptr(GError) error = NULL;
  const char *id = ctx->n_segs > id_seg ? ctx->segs[id_seg] : NULL;
  gboolean is_get = g_str_equal (ctx->method, "GET");
  gboolean is_post = g_str_equal (ctx->method, "POST");
  gboolean is_put = g_str_equal (ctx->method, "PUT");
  gboolean is_delete = g_str_equal (ctx->method, "DELETE");

  if (ctx->n_segs > id_seg + 1)
    return;
  if (!nb_rest_require_admin (ctx))
    return;
  if (id == NULL && is_get)
    resource->list (ctx);
  else if (id == NULL && is_post && resource->create_handler != NULL)
    resource->create_handler (ctx);
  else if (id == NULL && is_post)
    create_record (ctx, resource);
  else if (id == NULL)
    nb_rest_reply_method_not_allowed (ctx);
  else if (is_get)
    {
      gpointer record = resource->get (ctx->store, ctx->account_id, id, &error);

      reply_record (ctx, resource, record, error);
    }
  else if (is_put && resource->update_handler != NULL)
    resource->update_handler (ctx, id);
  else if (is_put)
    update_record (ctx, resource, id);
  else if (is_delete && resource->remove_handler != NULL)
    resource->remove_handler (ctx, id);
  else if (is_delete)
    {
      if (!resource->remove (ctx->store, ctx->account_id, ctx->user_id, id, &error))
        NB_REST_FAIL (ctx, error);
      nb_rest_reply_empty (ctx);
    }
  else
    nb_rest_reply_method_not_allowed (ctx);
}
