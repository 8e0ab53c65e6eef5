/* nb-mgmt-rest-events.c: /api/events/audit
 *
 * GET /api/events/audit: the account's activity events, newest first, as
 * NetBird's Event objects. Optional filters (NetBird cloud's names):
 * `page` and `page_size`, `user_id` (initiator), `target_id`,
 * `activity_code`, `search` (as NetBird's, a term looked up across fields:
 * here a case-insensitive substring of the initiator's name or e-mail or
 * of the event's details), `start_date` and `end_date` (RFC 3339).
 *
 * Always one page, as NetBird's paginated event lists: `page` counts from 1
 * (default 1), `page_size` is 1..1000 (default 100); out of range or not a
 * number is 400. A page past the end is an empty list. The answer is the
 * plain list still, so that a script written for the plain list works, and
 * the count of all matching events is in the `X-Total-Count` header.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-mgmt-rest"

#include "nb-mgmt-rest-private.h"

#define DEFAULT_PAGE_SIZE 100
#define MAX_PAGE_SIZE 1000

static void
build_event (NbJsonWriter      *b,
             const NbMgmtEvent *event)
{
  char id[32];

  g_snprintf (id, sizeof id, "%" G_GINT64_FORMAT, event->id);
  nb_json_writer_begin_object (b);
  nb_rest_builder_add_string (b, "id", id);
  nb_rest_builder_add_time (b, "timestamp", event->timestamp);
  nb_rest_builder_add_string (b, "activity", nb_mgmt_activity_describe (event->activity_code));
  nb_rest_builder_add_string (b, "activity_code", event->activity_code);
  nb_rest_builder_add_string (b, "initiator_id", event->initiator_id);
  nb_rest_builder_add_string (b, "initiator_name", event->initiator_name);
  nb_rest_builder_add_string (b, "initiator_email", event->initiator_email);
  nb_rest_builder_add_string (b, "target_id", event->target_id);
  nb_json_writer_member (b, "meta");
  nb_json_writer_begin_object (b);
  if (event->meta != NULL)
    {
      GHashTableIter iter;
      gpointer k, v;

      g_hash_table_iter_init (&iter, event->meta);
      while (g_hash_table_iter_next (&iter, &k, &v))
        {
          nb_json_writer_member (b, k);
          nb_json_writer_string (b, v ? v : "");
        }
    }
  nb_json_writer_end_object (b);
  nb_json_writer_end_object (b);
}

static gboolean
query_uint (NbRestCtx  *ctx,
            const char *name,
            guint64     min,
            guint64     max,
            guint64    *out)
{
  const char *text = nb_rest_query (ctx, name);
  g_autoptr(GError) error = NULL;

  if (text == NULL)
    return TRUE;
  if (!g_ascii_string_to_unsigned (text, 10, min, max, out, &error))
    {
      nb_rest_reply_error (ctx, SOUP_STATUS_BAD_REQUEST,
                           "invalid %s \"%s\": a number from %" G_GUINT64_FORMAT " to %"
                           G_GUINT64_FORMAT " is expected", name, text, min, max);
      return FALSE;
    }
  return TRUE;
}

static gboolean
query_time (NbRestCtx  *ctx,
            const char *name,
            gint64     *out)
{
  const char *text = nb_rest_query (ctx, name);
  g_autoptr(GDateTime) dt = NULL;

  if (text == NULL)
    return TRUE;
  dt = g_date_time_new_from_iso8601 (text, NULL);
  if (dt == NULL)
    {
      nb_rest_reply_error (ctx, SOUP_STATUS_BAD_REQUEST,
                           "invalid %s \"%s\": an RFC 3339 time is expected "
                           "(2026-01-31T12:00:00Z)", name, text);
      return FALSE;
    }
  *out = g_date_time_to_unix (dt);
  return TRUE;
}

void
nb_mgmt_rest_handle_events (NbRestCtx *ctx)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(NbJsonWriter) b = nb_json_writer_new ();
  NbMgmtEventFilter filter = { 0 };
  guint64 page = 0, page_size = 0;
  guint total = 0;
  char total_text[16];

  if (ctx->n_segs != 2 || !g_str_equal (ctx->segs[1], "audit"))
    return;
  if (!g_str_equal (ctx->method, "GET"))
    {
      nb_rest_reply_method_not_allowed (ctx);
      return;
    }
  if (!nb_rest_require_admin (ctx))
    return;

  if (!query_uint (ctx, "page", 1, G_MAXUINT32, &page) ||
      !query_uint (ctx, "page_size", 1, MAX_PAGE_SIZE, &page_size) ||
      !query_time (ctx, "start_date", &filter.start) ||
      !query_time (ctx, "end_date", &filter.end))
    return;
  filter.initiator_id = nb_rest_query (ctx, "user_id");
  filter.target_id = nb_rest_query (ctx, "target_id");
  filter.activity_code = nb_rest_query (ctx, "activity_code");
  filter.search = nb_rest_query (ctx, "search");
  /* Without `page` this was every event of the account in one answer. */
  if (page == 0)
    page = 1;
  if (page_size == 0)
    page_size = DEFAULT_PAGE_SIZE;
  filter.limit = (guint) page_size;
  filter.offset = (guint) MIN ((page - 1) * page_size, G_MAXUINT);

  events = nb_mgmt_store_list_events (ctx->store, ctx->account_id, &filter, &total, &error);
  if (events == NULL)
    NB_REST_FAIL (ctx, error);

  nb_json_writer_begin_array (b);
  for (guint i = 0; i < events->len; i++)
    build_event (b, g_ptr_array_index (events, i));
  nb_json_writer_end_array (b);
  g_snprintf (total_text, sizeof total_text, "%u", total);
  soup_message_headers_replace (soup_server_message_get_response_headers (ctx->msg),
                                "X-Total-Count", total_text);
  nb_rest_reply_builder (ctx, b);
}
