/* nb-mgmt-rest-policies.c: /api/policies
 *
 * GET, POST /api/policies; GET, PUT, DELETE /api/policies/{policyId}.
 * Requests name groups by ID (PolicyCreate/PolicyUpdate); responses carry
 * GroupMinimum objects (Policy), as NetBird's.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-mgmt-rest"

#include <stdlib.h>

#include "nb-mgmt-rest-private.h"

static void
build_rule (NbJsonWriter           *b,
            const NbMgmtPolicyRule *rule,
            NbRestGroupIndex       *groups)
{
  nb_json_writer_begin_object (b);
  nb_rest_builder_add_string (b, "id", rule->id);
  nb_rest_builder_add_string (b, "name", rule->name);
  nb_rest_builder_add_string (b, "description", rule->description);
  nb_rest_builder_add_bool (b, "enabled", rule->enabled);
  nb_rest_builder_add_string (b, "action", nb_mgmt_rule_action_to_string (rule->action));
  nb_rest_builder_add_bool (b, "bidirectional", rule->bidirectional);
  nb_rest_builder_add_string (b, "protocol", nb_mgmt_protocol_to_string (rule->protocol));
  if (rule->ports && rule->ports->len > 0)
    {
      nb_json_writer_member (b, "ports");
      nb_json_writer_begin_array (b);
      for (guint i = 0; i < rule->ports->len; i++)
        {
          char text[8];
          g_snprintf (text, sizeof text, "%u", g_array_index (rule->ports, guint16, i));
          nb_json_writer_string (b, text);
        }
      nb_json_writer_end_array (b);
    }
  if (rule->port_ranges && rule->port_ranges->len > 0)
    {
      nb_json_writer_member (b, "port_ranges");
      nb_json_writer_begin_array (b);
      for (guint i = 0; i < rule->port_ranges->len; i++)
        {
          NbMgmtPortRange *r = &g_array_index (rule->port_ranges, NbMgmtPortRange, i);
          nb_json_writer_begin_object (b);
          nb_rest_builder_add_int (b, "start", r->start);
          nb_rest_builder_add_int (b, "end", r->end);
          nb_json_writer_end_object (b);
        }
      nb_json_writer_end_array (b);
    }
  nb_rest_builder_add_group_list (b, "sources", groups, rule->sources);
  nb_rest_builder_add_group_list (b, "destinations", groups, rule->destinations);
  nb_json_writer_end_object (b);
}

static void
build_policy (NbJsonWriter       *b,
              const NbMgmtPolicy *policy,
              NbRestGroupIndex   *groups)
{
  nb_json_writer_begin_object (b);
  nb_rest_builder_add_string (b, "id", policy->id);
  nb_rest_builder_add_string (b, "name", policy->name);
  nb_rest_builder_add_string (b, "description", policy->description);
  nb_rest_builder_add_bool (b, "enabled", policy->enabled);
  nb_json_writer_member (b, "source_posture_checks");
  nb_json_writer_begin_array (b);
  nb_json_writer_end_array (b);
  nb_json_writer_member (b, "rules");
  nb_json_writer_begin_array (b);
  for (guint i = 0; policy->rules && i < policy->rules->len; i++)
    build_rule (b, g_ptr_array_index (policy->rules, i), groups);
  nb_json_writer_end_array (b);
  nb_json_writer_end_object (b);
}

static void
reply_policy (NbRestCtx          *ctx,
              const NbMgmtPolicy *policy)
{
  g_autoptr(NbRestGroupIndex) groups = nb_rest_group_index_new (ctx);
  g_autoptr(NbJsonWriter) b = nb_json_writer_new ();

  if (groups == NULL)
    return;
  build_policy (b, policy, groups);
  nb_rest_reply_builder (ctx, b);
}

static void
list_policies (NbRestCtx *ctx)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbRestGroupIndex) groups = nb_rest_group_index_new (ctx);
  g_autoptr(GPtrArray) policies = NULL;
  g_autoptr(NbJsonWriter) b = nb_json_writer_new ();

  if (groups == NULL)
    return;
  policies = nb_mgmt_store_list_policies (ctx->store, ctx->account_id, &error);
  if (policies == NULL)
    NB_REST_FAIL (ctx, error);
  nb_json_writer_begin_array (b);
  for (guint i = 0; i < policies->len; i++)
    build_policy (b, g_ptr_array_index (policies, i), groups);
  nb_json_writer_end_array (b);
  nb_rest_reply_builder (ctx, b);
}

static gboolean
invalid (GError    **error,
         const char *format,
         ...) G_GNUC_PRINTF (2, 3);

static gboolean
invalid (GError    **error,
         const char *format,
         ...)
{
  va_list args;

  va_start (args, format);
  g_set_error_literal (error, NB_MGMT_REST_ERROR, SOUP_STATUS_UNPROCESSABLE_ENTITY, "");
  g_free ((*error)->message);
  (*error)->message = g_strdup_vprintf (format, args);
  va_end (args);
  return FALSE;
}

/* A port as NetBird sends it: a decimal string, 1..65535. */
static gboolean
parse_port (const char *text,
            guint16    *port)
{
  guint64 value;

  if (!g_ascii_string_to_unsigned (text, 10, 1, 65535, &value, NULL))
    return FALSE;
  *port = (guint16) value;
  return TRUE;
}

static gboolean
parse_rule (JsonObject        *obj,
            guint              index,
            NbMgmtPolicyRule  *rule,
            GError           **error)
{
  const char *id, *name, *description, *action, *protocol;
  gboolean enabled = TRUE, bidirectional = FALSE, has_enabled;
  g_autoptr(GPtrArray) ports = NULL;
  JsonArray *ranges;

  if (!nb_rest_json_get_string (obj, "id", FALSE, &id, error) ||
      !nb_rest_json_get_string (obj, "name", FALSE, &name, error) ||
      !nb_rest_json_get_string (obj, "description", FALSE, &description, error) ||
      !nb_rest_json_get_bool (obj, "enabled", FALSE, &enabled, &has_enabled, error) ||
      !nb_rest_json_get_string (obj, "action", FALSE, &action, error) ||
      !nb_rest_json_get_bool (obj, "bidirectional", FALSE, &bidirectional, NULL, error) ||
      !nb_rest_json_get_string (obj, "protocol", FALSE, &protocol, error) ||
      !nb_rest_json_get_string_array (obj, "ports", FALSE, &ports, error) ||
      !nb_rest_json_get_array (obj, "port_ranges", FALSE, &ranges, error) ||
      !nb_rest_json_get_strv (obj, "sources", FALSE, &rule->sources, error) ||
      !nb_rest_json_get_strv (obj, "destinations", FALSE, &rule->destinations, error))
    return FALSE;

  if (json_object_has_member (obj, "sourceResource") ||
      json_object_has_member (obj, "destinationResource"))
    {
      JsonNode *s = json_object_get_member (obj, "sourceResource");
      JsonNode *d = json_object_get_member (obj, "destinationResource");
      if ((s && !JSON_NODE_HOLDS_NULL (s)) || (d && !JSON_NODE_HOLDS_NULL (d)))
        return invalid (error, "rules[%u]: network resources are not supported by this server",
                        index);
    }

  rule->id = (id && *id) ? g_strdup (id) : NULL;
  rule->name = g_strdup (name ? name : "");
  rule->description = g_strdup (description);
  rule->enabled = has_enabled ? enabled : TRUE;
  rule->bidirectional = bidirectional;
  if (action == NULL || !nb_mgmt_rule_action_from_string (action, &rule->action))
    return invalid (error, "rules[%u]: action must be \"accept\" or \"drop\", not \"%s\"",
                    index, action ? action : "");
  if (protocol == NULL || !nb_mgmt_protocol_from_string (protocol, &rule->protocol))
    return invalid (error, "rules[%u]: protocol must be \"all\", \"tcp\", \"udp\" or \"icmp\", "
                    "not \"%s\"", index, protocol ? protocol : "");

  if (ports != NULL && ports->len > 0)
    rule->ports = g_array_new (FALSE, FALSE, sizeof (guint16));
  if (ranges != NULL && json_array_get_length (ranges) > 0)
    rule->port_ranges = g_array_new (FALSE, FALSE, sizeof (NbMgmtPortRange));
  for (guint i = 0; ports && i < ports->len; i++)
    {
      guint16 port;

      if (!parse_port (g_ptr_array_index (ports, i), &port))
        return invalid (error, "rules[%u]: port \"%s\" is not a number from 1 to 65535",
                        index, (char *) g_ptr_array_index (ports, i));
      g_array_append_val (rule->ports, port);
    }
  for (guint i = 0; ranges && i < json_array_get_length (ranges); i++)
    {
      JsonNode *n = json_array_get_element (ranges, i);
      JsonObject *r;
      gint64 start = 0, end = 0;
      NbMgmtPortRange range;

      if (!JSON_NODE_HOLDS_OBJECT (n))
        {
          g_set_error (error, NB_MGMT_REST_ERROR, SOUP_STATUS_BAD_REQUEST,
                       "couldn't parse JSON request: rules[%u].port_ranges[%u] must be an object",
                       index, i);
          return FALSE;
        }
      r = json_node_get_object (n);
      if (!nb_rest_json_get_int (r, "start", TRUE, &start, NULL, error) ||
          !nb_rest_json_get_int (r, "end", TRUE, &end, NULL, error))
        return FALSE;
      if (start < 1 || start > 65535 || end < 1 || end > 65535 || start > end)
        return invalid (error, "rules[%u]: invalid port range %" G_GINT64_FORMAT "-%"
                        G_GINT64_FORMAT ": ports are 1..65535 and start <= end",
                        index, start, end);
      range.start = (guint16) start;
      range.end = (guint16) end;
      g_array_append_val (rule->port_ranges, range);
    }
  if (rule->ports != NULL && rule->port_ranges != NULL)
    return invalid (error, "rules[%u]: ports and port_ranges are mutually exclusive", index);
  if ((rule->ports != NULL || rule->port_ranges != NULL) &&
      rule->protocol != NB_MGMT_PROTOCOL_TCP && rule->protocol != NB_MGMT_PROTOCOL_UDP)
    return invalid (error, "rules[%u]: ports can only be set for the tcp and udp protocols",
                    index);
  return TRUE;
}

/* PolicyCreate / PolicyUpdate. */
static gboolean
parse_policy (NbRestCtx    *ctx,
              NbMgmtPolicy *policy,
              GError      **error)
{
  g_autoptr(JsonObject) obj = nb_rest_parse_body_object (ctx, error);
  const char *name, *description;
  gboolean enabled = TRUE, has_enabled;
  JsonArray *rules;
  g_autoptr(GPtrArray) posture = NULL;

  if (obj == NULL)
    return FALSE;
  if (!nb_rest_json_get_string (obj, "name", FALSE, &name, error) ||
      !nb_rest_json_get_string (obj, "description", FALSE, &description, error) ||
      !nb_rest_json_get_bool (obj, "enabled", FALSE, &enabled, &has_enabled, error) ||
      !nb_rest_json_get_string_array (obj, "source_posture_checks", FALSE, &posture, error) ||
      !nb_rest_json_get_array (obj, "rules", FALSE, &rules, error))
    return FALSE;
  if (name == NULL || *name == '\0')
    return invalid (error, "policy name shouldn't be empty");
  if (rules == NULL || json_array_get_length (rules) == 0)
    return invalid (error, "policy must have at least one rule");
  if (posture != NULL && posture->len > 0)
    return invalid (error, "posture checks are not supported by this server");

  policy->name = g_strdup (name);
  policy->description = g_strdup (description);
  policy->enabled = has_enabled ? enabled : TRUE;
  for (guint i = 0; i < json_array_get_length (rules); i++)
    {
      JsonNode *n = json_array_get_element (rules, i);
      g_autoptr(NbMgmtPolicyRule) rule = nb_mgmt_policy_rule_new ();

      if (!JSON_NODE_HOLDS_OBJECT (n))
        {
          g_set_error (error, NB_MGMT_REST_ERROR, SOUP_STATUS_BAD_REQUEST,
                       "couldn't parse JSON request: rules[%u] must be an object", i);
          return FALSE;
        }
      if (!parse_rule (json_node_get_object (n), i, rule, error))
        return FALSE;
      g_ptr_array_add (policy->rules, g_steal_pointer (&rule));
    }
  return TRUE;
}

static const NbRestResource policies = {
  .list = list_policies,
  .get = (NbRestGetFunc) nb_mgmt_store_get_policy,
  .reply = (NbRestReplyFunc) reply_policy,
  .free = (GDestroyNotify) nb_mgmt_policy_free,
  .new_record = (gpointer (*) (void)) nb_mgmt_policy_new,
  .parse = (NbRestParseFunc) parse_policy,
  .id_offset = G_STRUCT_OFFSET (NbMgmtPolicy, id),
  .create = (NbRestSaveFunc) nb_mgmt_store_create_policy,
  .update = (NbRestSaveFunc) nb_mgmt_store_update_policy,
  .remove = nb_mgmt_store_delete_policy,
};

void
nb_mgmt_rest_handle_policies (NbRestCtx *ctx)
{
  nb_rest_serve_resource (ctx, &policies, 1);
}
