/* nb-mgmt-resources.c: groups, policies, routes, nameserver groups and DNS
 * settings
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-mgmt-store"

#include <string.h>

#include <json-glib/json-glib.h>

#include "nb-mgmt-store-private.h"

static gboolean
fail_invalid (GError    **error,
              const char *format,
              ...) G_GNUC_PRINTF (2, 3);

static gboolean
fail_invalid (GError    **error,
              const char *format,
              ...)
{
  va_list args;

  va_start (args, format);
  if (error != NULL)
    *error = g_error_new_valist (NB_MGMT_ERROR, NB_MGMT_ERROR_INVALID_ARGUMENT, format, args);
  va_end (args);
  return FALSE;
}

static gboolean
delete_by_id (NbMgmtStore *store,
              const char  *sql,
              const char  *id,
              const char  *what,
              GError     **error)
{
  sqlite3_stmt *stmt = nb_mgmt_store_prepare (store, sql, error);

  if (stmt == NULL)
    return FALSE;
  nb_mgmt_bind_text (stmt, 1, id);
  return nb_mgmt_store_step_done (store, stmt, what, error);
}

/* ---- Groups -------------------------------------------------------------- */

static gboolean
fill_group_peers (NbMgmtStore *store,
                  NbMgmtGroup *group,
                  GError     **error)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  sqlite3_stmt *stmt;
  gboolean has_row;

  stmt = nb_mgmt_store_prepare (store,
                                "SELECT gp.peer_id FROM group_peers gp JOIN peers p ON p.id = gp.peer_id "
                                "WHERE gp.group_id = ?1 ORDER BY p.ip", error);
  if (stmt == NULL)
    return FALSE;
  nb_mgmt_bind_text (stmt, 1, group->id);
  while (TRUE)
    {
      if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
        return FALSE;
      if (!has_row)
        break;
      g_strv_builder_add (builder, nb_mgmt_column_text (stmt, 0));
    }
  group->peers = g_strv_builder_end (builder);
  return TRUE;
}

static NbMgmtGroup *
group_from_row (sqlite3_stmt *stmt)
{
  NbMgmtGroup *g = g_new0 (NbMgmtGroup, 1);

  g->id = nb_mgmt_column_dup (stmt, 0);
  g->account_id = nb_mgmt_column_dup (stmt, 1);
  g->name = nb_mgmt_column_dup (stmt, 2);
  g->issued = nb_mgmt_column_dup (stmt, 3);
  return g;
}

/**
 * nb_mgmt_store_get_group:
 * @store: a store
 * @account_id: the account
 * @group_id: the group
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the group with its peers, or %NULL (NOT_FOUND)
 */
NbMgmtGroup *
nb_mgmt_store_get_group (NbMgmtStore *store,
                         const char  *account_id,
                         const char  *group_id,
                         GError     **error)
{
  g_autoptr(NbMgmtGroup) group = NULL;
  sqlite3_stmt *stmt;
  gboolean has_row;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  stmt = nb_mgmt_store_prepare (store,
                                "SELECT id, account_id, name, issued FROM groups WHERE id = ?1 AND account_id = ?2",
                                error);
  if (stmt == NULL)
    return NULL;
  nb_mgmt_bind_text (stmt, 1, group_id);
  nb_mgmt_bind_text (stmt, 2, account_id);
  if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
    return NULL;
  if (!has_row)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_NOT_FOUND,
                   "Group %s not found", group_id != NULL ? group_id : "(none)");
      return NULL;
    }
  group = group_from_row (stmt);
  sqlite3_reset (stmt);
  if (!fill_group_peers (store, group, error))
    return NULL;
  return g_steal_pointer (&group);
}

/**
 * nb_mgmt_store_list_groups:
 * @store: a store
 * @account_id: the account
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (element-type NbMgmtGroup): the groups with
 *   their peers, "All" first, then by name
 */
GPtrArray *
nb_mgmt_store_list_groups (NbMgmtStore *store,
                           const char  *account_id,
                           GError     **error)
{
  g_autoptr(GPtrArray) groups = g_ptr_array_new_with_free_func ((GDestroyNotify) nb_mgmt_group_free);
  sqlite3_stmt *stmt;
  gboolean has_row;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  if (!nb_mgmt_store_account_exists (store, account_id, error))
    return NULL;
  stmt = nb_mgmt_store_prepare (store,
                                "SELECT id, account_id, name, issued FROM groups WHERE account_id = ?1 "
                                "ORDER BY name = 'All' DESC, name, id", error);
  if (stmt == NULL)
    return NULL;
  nb_mgmt_bind_text (stmt, 1, account_id);
  while (TRUE)
    {
      if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
        return NULL;
      if (!has_row)
        break;
      g_ptr_array_add (groups, group_from_row (stmt));
    }
  for (guint i = 0; i < groups->len; i++)
    if (!fill_group_peers (store, groups->pdata[i], error))
      return NULL;
  return g_steal_pointer (&groups);
}

static gboolean
write_group_peers (NbMgmtStore  *store,
                   const char   *account_id,
                   const char   *group_id,
                   char * const *peers,
                   GError      **error)
{
  sqlite3_stmt *stmt;

  if (!delete_by_id (store, "DELETE FROM group_peers WHERE group_id = ?1", group_id, "group", error))
    return FALSE;
  for (guint i = 0; peers != NULL && peers[i] != NULL; i++)
    {
      gboolean has_row;

      stmt = nb_mgmt_store_prepare (store, "SELECT 1 FROM peers WHERE id = ?1 AND account_id = ?2", error);
      if (stmt == NULL)
        return FALSE;
      nb_mgmt_bind_text (stmt, 1, peers[i]);
      nb_mgmt_bind_text (stmt, 2, account_id);
      if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
        return FALSE;
      sqlite3_reset (stmt);
      if (!has_row)
        return fail_invalid (error, "peers: peer %s does not exist", peers[i]);
      stmt = nb_mgmt_store_prepare (store,
                                    "INSERT OR IGNORE INTO group_peers (group_id, peer_id) VALUES (?1, ?2)",
                                    error);
      if (stmt == NULL)
        return FALSE;
      nb_mgmt_bind_text (stmt, 1, group_id);
      nb_mgmt_bind_text (stmt, 2, peers[i]);
      if (!nb_mgmt_store_step_done (store, stmt, "group membership", error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
validate_group_name (const char *name,
                     GError    **error)
{
  if (!nb_mgmt_name_is_valid (name, 255))
    return fail_invalid (error, "name of the group is required (1..255 characters)");
  if (strcmp (name, NB_MGMT_ALL_GROUP_NAME) == 0)
    return fail_invalid (error, "The name \"All\" is reserved for the built-in group");
  return TRUE;
}

/**
 * nb_mgmt_store_create_group:
 * @store: a store
 * @account_id: the account
 * @actor_id: (nullable): who creates it
 * @tmpl: name, issued (%NULL: "api") and peers
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the new group, or %NULL with @error set
 */
NbMgmtGroup *
nb_mgmt_store_create_group (NbMgmtStore       *store,
                            const char        *account_id,
                            const char        *actor_id,
                            const NbMgmtGroup *tmpl,
                            GError           **error)
{
  g_autofree char *id = nb_mgmt_new_id ();
  sqlite3_stmt *stmt;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);
  g_return_val_if_fail (tmpl != NULL, NULL);

  if (!validate_group_name (tmpl->name, error) ||
      !nb_mgmt_store_account_exists (store, account_id, error))
    return NULL;
  if (!nb_mgmt_store_begin (store, error))
    return NULL;
  stmt = nb_mgmt_store_prepare (store,
                                "INSERT INTO groups (id, account_id, name, issued) VALUES (?1, ?2, ?3, ?4)", error);
  if (stmt == NULL)
    goto fail;
  nb_mgmt_bind_text (stmt, 1, id);
  nb_mgmt_bind_text (stmt, 2, account_id);
  nb_mgmt_bind_text (stmt, 3, tmpl->name);
  nb_mgmt_bind_text (stmt, 4, tmpl->issued != NULL ? tmpl->issued : "api");
  if (!nb_mgmt_store_step_done (store, stmt, "A group with this name", error) ||
      !write_group_peers (store, account_id, id, tmpl->peers, error) ||
      !nb_mgmt_store_add_event (store, account_id, actor_id, "group.add", id, error,
                                "name", tmpl->name, NULL) ||
      !nb_mgmt_store_note_change (store, account_id, NB_MGMT_CHANGE_GROUP, id, NULL, TRUE, error) ||
      !nb_mgmt_store_commit (store, error))
    goto fail;
  return nb_mgmt_store_get_group (store, account_id, id, error);

fail:
  nb_mgmt_store_rollback (store);
  return NULL;
}

/**
 * nb_mgmt_store_update_group:
 * @store: a store
 * @account_id: the account
 * @actor_id: (nullable): who changes it
 * @group: the group (by @group->id) with its new name and peers
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the updated group, or %NULL with @error set
 */
NbMgmtGroup *
nb_mgmt_store_update_group (NbMgmtStore       *store,
                            const char        *account_id,
                            const char        *actor_id,
                            const NbMgmtGroup *group,
                            GError           **error)
{
  g_autoptr(NbMgmtGroup) old = NULL;
  sqlite3_stmt *stmt;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);
  g_return_val_if_fail (group != NULL, NULL);

  old = nb_mgmt_store_get_group (store, account_id, group->id, error);
  if (old == NULL)
    return NULL;
  if (g_strcmp0 (old->name, NB_MGMT_ALL_GROUP_NAME) == 0)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PERMISSION_DENIED,
                   "The group \"All\" is built in and cannot be changed");
      return NULL;
    }
  if (!validate_group_name (group->name, error))
    return NULL;
  if (!nb_mgmt_store_begin (store, error))
    return NULL;
  stmt = nb_mgmt_store_prepare (store, "UPDATE groups SET name = ?2 WHERE id = ?1", error);
  if (stmt == NULL)
    goto fail;
  nb_mgmt_bind_text (stmt, 1, group->id);
  nb_mgmt_bind_text (stmt, 2, group->name);
  if (!nb_mgmt_store_step_done (store, stmt, "A group with this name", error) ||
      !write_group_peers (store, account_id, group->id, group->peers, error) ||
      !nb_mgmt_store_add_event (store, account_id, actor_id, "group.update", group->id, error,
                                "name", group->name, NULL) ||
      !nb_mgmt_store_note_change (store, account_id, NB_MGMT_CHANGE_GROUP, group->id, NULL, TRUE, error) ||
      !nb_mgmt_store_commit (store, error))
    goto fail;
  return nb_mgmt_store_get_group (store, account_id, group->id, error);

fail:
  nb_mgmt_store_rollback (store);
  return NULL;
}

static const char *
describe_ref_field (const char *field)
{
  if (g_str_has_prefix (field, "user."))
    return "a user's auto-groups";
  if (g_str_has_prefix (field, "setup_key."))
    return "a setup key's auto-groups";
  if (g_str_has_prefix (field, "rule."))
    return "a policy rule";
  if (g_str_has_prefix (field, "route."))
    return "a route";
  if (g_str_has_prefix (field, "ns."))
    return "a nameserver group";
  if (g_str_has_prefix (field, "dns."))
    return "the DNS settings";
  return field;
}

/**
 * nb_mgmt_store_delete_group:
 * @store: a store
 * @account_id: the account
 * @actor_id: (nullable): who deletes it
 * @group_id: the group
 * @error: return location for a #GError
 *
 * Returns: %TRUE on success; PRECONDITION_FAILED while something uses it
 */
gboolean
nb_mgmt_store_delete_group (NbMgmtStore *store,
                            const char  *account_id,
                            const char  *actor_id,
                            const char  *group_id,
                            GError     **error)
{
  g_autoptr(NbMgmtGroup) old = NULL;
  sqlite3_stmt *stmt;
  gboolean has_row;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), FALSE);

  old = nb_mgmt_store_get_group (store, account_id, group_id, error);
  if (old == NULL)
    return FALSE;
  if (g_strcmp0 (old->name, NB_MGMT_ALL_GROUP_NAME) == 0)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PERMISSION_DENIED,
                   "The group \"All\" is built in and cannot be deleted");
      return FALSE;
    }
  stmt = nb_mgmt_store_prepare (store, "SELECT field, owner_id FROM group_refs WHERE group_id = ?1 LIMIT 1",
                                error);
  if (stmt == NULL)
    return FALSE;
  nb_mgmt_bind_text (stmt, 1, group_id);
  if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
    return FALSE;
  if (has_row)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_PRECONDITION_FAILED,
                   "Group \"%s\" is used by %s (%s): remove it there first", old->name,
                   describe_ref_field (nb_mgmt_column_text (stmt, 0)), nb_mgmt_column_text (stmt, 1));
      sqlite3_reset (stmt);
      return FALSE;
    }
  if (!nb_mgmt_store_begin (store, error))
    return FALSE;
  if (!delete_by_id (store, "DELETE FROM groups WHERE id = ?1", group_id, "group", error) ||
      !nb_mgmt_store_add_event (store, account_id, actor_id, "group.delete", group_id, error,
                                "name", old->name, NULL) ||
      !nb_mgmt_store_note_change (store, account_id, NB_MGMT_CHANGE_GROUP, group_id, NULL, TRUE, error) ||
      !nb_mgmt_store_commit (store, error))
    {
      nb_mgmt_store_rollback (store);
      return FALSE;
    }
  return TRUE;
}

/* ---- Policies ------------------------------------------------------------ */

static char *
ports_to_json (const GArray *ports)
{
  GString *s = g_string_new ("[");

  for (guint i = 0; ports != NULL && i < ports->len; i++)
    g_string_append_printf (s, "%s%u", i > 0 ? "," : "", g_array_index (ports, guint16, i));
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

static char *
ranges_to_json (const GArray *ranges)
{
  GString *s = g_string_new ("[");

  for (guint i = 0; ranges != NULL && i < ranges->len; i++)
    {
      const NbMgmtPortRange *r = &g_array_index (ranges, NbMgmtPortRange, i);
      g_string_append_printf (s, "%s[%u,%u]", i > 0 ? "," : "", r->start, r->end);
    }
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

static GArray *
ports_from_json (const char *json)
{
  g_autoptr(JsonNode) root = json != NULL ? json_from_string (json, NULL) : NULL;
  GArray *ports;
  JsonArray *array;

  if (root == NULL || !JSON_NODE_HOLDS_ARRAY (root))
    return NULL;
  array = json_node_get_array (root);
  if (json_array_get_length (array) == 0)
    return NULL;
  ports = g_array_new (FALSE, FALSE, sizeof (guint16));
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      guint16 p = (guint16) json_array_get_int_element (array, i);
      g_array_append_val (ports, p);
    }
  return ports;
}

static GArray *
ranges_from_json (const char *json)
{
  g_autoptr(JsonNode) root = json != NULL ? json_from_string (json, NULL) : NULL;
  GArray *ranges;
  JsonArray *array;

  if (root == NULL || !JSON_NODE_HOLDS_ARRAY (root))
    return NULL;
  array = json_node_get_array (root);
  if (json_array_get_length (array) == 0)
    return NULL;
  ranges = g_array_new (FALSE, FALSE, sizeof (NbMgmtPortRange));
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonArray *pair = json_array_get_array_element (array, i);
      NbMgmtPortRange r;

      if (pair == NULL || json_array_get_length (pair) != 2)
        continue;
      r.start = (guint16) json_array_get_int_element (pair, 0);
      r.end = (guint16) json_array_get_int_element (pair, 1);
      g_array_append_val (ranges, r);
    }
  return ranges;
}

static gboolean
validate_policy (const NbMgmtPolicy *policy,
                 GError            **error)
{
  if (!nb_mgmt_name_is_valid (policy->name, 255))
    return fail_invalid (error, "name of the policy is required (1..255 characters)");
  if (policy->rules == NULL || policy->rules->len == 0)
    return fail_invalid (error, "rules: a policy needs at least one rule");
  for (guint i = 0; i < policy->rules->len; i++)
    {
      const NbMgmtPolicyRule *rule = policy->rules->pdata[i];
      gboolean has_ports = (rule->ports != NULL && rule->ports->len > 0) ||
                           (rule->port_ranges != NULL && rule->port_ranges->len > 0);

      if (rule->name != NULL && strlen (rule->name) > 255)
        return fail_invalid (error, "rules[%u].name is longer than 255 characters", i);
      if (rule->action != NB_MGMT_RULE_ACTION_ACCEPT && rule->action != NB_MGMT_RULE_ACTION_DROP)
        return fail_invalid (error, "rules[%u].action must be \"accept\" or \"drop\"", i);
      if (rule->protocol > NB_MGMT_PROTOCOL_ICMP)
        return fail_invalid (error, "rules[%u].protocol must be all, tcp, udp or icmp", i);
      if (rule->sources == NULL || rule->sources[0] == NULL)
        return fail_invalid (error, "rules[%u].sources: at least one source group is required", i);
      if (rule->destinations == NULL || rule->destinations[0] == NULL)
        return fail_invalid (error, "rules[%u].destinations: at least one destination group is required", i);
      if (has_ports && rule->protocol != NB_MGMT_PROTOCOL_TCP && rule->protocol != NB_MGMT_PROTOCOL_UDP)
        return fail_invalid (error, "rules[%u]: ports can only be set for tcp or udp", i);
      for (guint j = 0; rule->ports != NULL && j < rule->ports->len; j++)
        if (g_array_index (rule->ports, guint16, j) == 0)
          return fail_invalid (error, "rules[%u].ports: port must be 1..65535", i);
      for (guint j = 0; rule->port_ranges != NULL && j < rule->port_ranges->len; j++)
        {
          const NbMgmtPortRange *r = &g_array_index (rule->port_ranges, NbMgmtPortRange, j);
          if (r->start == 0 || r->end < r->start)
            return fail_invalid (error, "rules[%u].port_ranges: start must be 1..65535 and not above end", i);
        }
    }
  return TRUE;
}

static gboolean
write_policy_rules (NbMgmtStore        *store,
                    const char         *account_id,
                    const char         *policy_id,
                    const NbMgmtPolicy *policy,
                    GError            **error)
{
  if (!delete_by_id (store, "DELETE FROM policy_rules WHERE policy_id = ?1", policy_id, "policy rules", error))
    return FALSE;
  for (guint i = 0; i < policy->rules->len; i++)
    {
      const NbMgmtPolicyRule *rule = policy->rules->pdata[i];
      g_autofree char *rule_id = rule->id != NULL && *rule->id != '\0' ? g_strdup (rule->id) : nb_mgmt_new_id ();
      g_autofree char *ports = ports_to_json (rule->ports);
      g_autofree char *ranges = ranges_to_json (rule->port_ranges);
      sqlite3_stmt *stmt;

      stmt = nb_mgmt_store_prepare (store,
                                    "INSERT INTO policy_rules (id, policy_id, position, name, description, enabled, "
                                    "action, bidirectional, protocol, ports, port_ranges) "
                                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)", error);
      if (stmt == NULL)
        return FALSE;
      nb_mgmt_bind_text (stmt, 1, rule_id);
      nb_mgmt_bind_text (stmt, 2, policy_id);
      nb_mgmt_bind_int64 (stmt, 3, i);
      nb_mgmt_bind_text (stmt, 4, rule->name != NULL ? rule->name : policy->name);
      nb_mgmt_bind_text (stmt, 5, rule->description);
      nb_mgmt_bind_int64 (stmt, 6, rule->enabled ? 1 : 0);
      nb_mgmt_bind_int64 (stmt, 7, rule->action);
      nb_mgmt_bind_int64 (stmt, 8, rule->bidirectional ? 1 : 0);
      nb_mgmt_bind_int64 (stmt, 9, rule->protocol);
      nb_mgmt_bind_text (stmt, 10, ports);
      nb_mgmt_bind_text (stmt, 11, ranges);
      if (!nb_mgmt_store_step_done (store, stmt, "A policy rule with this id", error) ||
          !nb_mgmt_store_write_group_refs (store, account_id, rule_id, "rule.sources", rule->sources,
                                           TRUE, "sources", error) ||
          !nb_mgmt_store_write_group_refs (store, account_id, rule_id, "rule.destinations",
                                           rule->destinations, TRUE, "destinations", error))
        return FALSE;
    }
  return TRUE;
}

static NbMgmtPolicy *
read_policy (NbMgmtStore  *store,
             sqlite3_stmt *row,
             GError      **error)
{
  g_autoptr(NbMgmtPolicy) policy = nb_mgmt_policy_new ();
  sqlite3_stmt *stmt;
  gboolean has_row;

  policy->id = nb_mgmt_column_dup (row, 0);
  policy->account_id = nb_mgmt_column_dup (row, 1);
  policy->name = nb_mgmt_column_dup (row, 2);
  policy->description = nb_mgmt_column_dup (row, 3);
  policy->enabled = sqlite3_column_int (row, 4);

  stmt = nb_mgmt_store_prepare (store,
                                "SELECT id, name, description, enabled, action, bidirectional, protocol, ports, "
                                "port_ranges FROM policy_rules WHERE policy_id = ?1 ORDER BY position", error);
  if (stmt == NULL)
    return NULL;
  nb_mgmt_bind_text (stmt, 1, policy->id);
  while (TRUE)
    {
      NbMgmtPolicyRule *rule;

      if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
        return NULL;
      if (!has_row)
        break;
      rule = nb_mgmt_policy_rule_new ();
      rule->id = nb_mgmt_column_dup (stmt, 0);
      rule->name = nb_mgmt_column_dup (stmt, 1);
      rule->description = nb_mgmt_column_dup (stmt, 2);
      rule->enabled = sqlite3_column_int (stmt, 3);
      rule->action = sqlite3_column_int (stmt, 4) == NB_MGMT_RULE_ACTION_DROP
                     ? NB_MGMT_RULE_ACTION_DROP : NB_MGMT_RULE_ACTION_ACCEPT;
      rule->bidirectional = sqlite3_column_int (stmt, 5);
      rule->protocol = (NbMgmtProtocol) CLAMP (sqlite3_column_int (stmt, 6), 0, NB_MGMT_PROTOCOL_ICMP);
      rule->ports = ports_from_json (nb_mgmt_column_text (stmt, 7));
      rule->port_ranges = ranges_from_json (nb_mgmt_column_text (stmt, 8));
      g_ptr_array_add (policy->rules, rule);
    }
  for (guint i = 0; i < policy->rules->len; i++)
    {
      NbMgmtPolicyRule *rule = policy->rules->pdata[i];
      GError *local = NULL;

      rule->sources = nb_mgmt_store_read_group_refs (store, rule->id, "rule.sources", &local);
      if (local == NULL)
        rule->destinations = nb_mgmt_store_read_group_refs (store, rule->id, "rule.destinations", &local);
      if (local != NULL)
        {
          g_propagate_error (error, local);
          return NULL;
        }
    }
  return g_steal_pointer (&policy);
}

/**
 * nb_mgmt_store_get_policy:
 * @store: a store
 * @account_id: the account
 * @policy_id: the policy
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the policy with its rules, or %NULL (NOT_FOUND)
 */
NbMgmtPolicy *
nb_mgmt_store_get_policy (NbMgmtStore *store,
                          const char  *account_id,
                          const char  *policy_id,
                          GError     **error)
{
  sqlite3_stmt *stmt;
  gboolean has_row;
  g_autofree char *id = NULL;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  stmt = nb_mgmt_store_prepare (store, "SELECT id FROM policies WHERE id = ?1 AND account_id = ?2", error);
  if (stmt == NULL)
    return NULL;
  nb_mgmt_bind_text (stmt, 1, policy_id);
  nb_mgmt_bind_text (stmt, 2, account_id);
  if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
    return NULL;
  if (!has_row)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_NOT_FOUND,
                   "Policy %s not found", policy_id != NULL ? policy_id : "(none)");
      return NULL;
    }
  sqlite3_reset (stmt);

  /* A separate statement for the row: read_policy prepares its own. */
  stmt = nb_mgmt_store_prepare (store,
                                "SELECT id, account_id, name, description, enabled FROM policies WHERE id = ?1",
                                error);
  if (stmt == NULL)
    return NULL;
  nb_mgmt_bind_text (stmt, 1, policy_id);
  if (!nb_mgmt_store_step_row (store, stmt, &has_row, error) || !has_row)
    return NULL;
  {
    NbMgmtPolicy *policy = read_policy (store, stmt, error);
    sqlite3_reset (stmt);
    return policy;
  }
}

/**
 * nb_mgmt_store_list_policies:
 * @store: a store
 * @account_id: the account
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (element-type NbMgmtPolicy): the policies with
 *   their rules, oldest first
 */
GPtrArray *
nb_mgmt_store_list_policies (NbMgmtStore *store,
                             const char  *account_id,
                             GError     **error)
{
  g_autoptr(GPtrArray) policies = g_ptr_array_new_with_free_func ((GDestroyNotify) nb_mgmt_policy_free);
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  sqlite3_stmt *stmt;
  gboolean has_row;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  if (!nb_mgmt_store_account_exists (store, account_id, error))
    return NULL;
  stmt = nb_mgmt_store_prepare (store,
                                "SELECT id FROM policies WHERE account_id = ?1 ORDER BY created_at, rowid", error);
  if (stmt == NULL)
    return NULL;
  nb_mgmt_bind_text (stmt, 1, account_id);
  while (TRUE)
    {
      if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
        return NULL;
      if (!has_row)
        break;
      g_ptr_array_add (ids, nb_mgmt_column_dup (stmt, 0));
    }
  for (guint i = 0; i < ids->len; i++)
    {
      NbMgmtPolicy *policy = nb_mgmt_store_get_policy (store, account_id, ids->pdata[i], error);
      if (policy == NULL)
        return NULL;
      g_ptr_array_add (policies, policy);
    }
  return g_steal_pointer (&policies);
}

static NbMgmtPolicy *
save_policy (NbMgmtStore        *store,
             const char         *account_id,
             const char         *actor_id,
             const NbMgmtPolicy *policy,
             gboolean            create,
             GError            **error)
{
  g_autofree char *id = create ? nb_mgmt_new_id () : g_strdup (policy->id);
  sqlite3_stmt *stmt;

  if (!validate_policy (policy, error))
    return NULL;
  if (create)
    {
      if (!nb_mgmt_store_account_exists (store, account_id, error))
        return NULL;
    }
  else
    {
      g_autoptr(NbMgmtPolicy) old = nb_mgmt_store_get_policy (store, account_id, policy->id, error);
      if (old == NULL)
        return NULL;
    }

  if (!nb_mgmt_store_begin (store, error))
    return NULL;
  if (create)
    stmt = nb_mgmt_store_prepare (store,
                                  "INSERT INTO policies (id, account_id, name, description, enabled, created_at) "
                                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6)", error);
  else
    stmt = nb_mgmt_store_prepare (store,
                                  "UPDATE policies SET name = ?3, description = ?4, enabled = ?5 "
                                  "WHERE id = ?1 AND account_id = ?2", error);
  if (stmt == NULL)
    goto fail;
  nb_mgmt_bind_text (stmt, 1, id);
  nb_mgmt_bind_text (stmt, 2, account_id);
  nb_mgmt_bind_text (stmt, 3, policy->name);
  nb_mgmt_bind_text (stmt, 4, policy->description);
  nb_mgmt_bind_int64 (stmt, 5, policy->enabled ? 1 : 0);
  if (create)
    nb_mgmt_bind_int64 (stmt, 6, nb_mgmt_store_now (store));
  if (!nb_mgmt_store_step_done (store, stmt, "policy", error) ||
      !write_policy_rules (store, account_id, id, policy, error) ||
      !nb_mgmt_store_add_event (store, account_id, actor_id, create ? "policy.add" : "policy.update",
                                id, error, "name", policy->name, NULL) ||
      !nb_mgmt_store_note_change (store, account_id, NB_MGMT_CHANGE_POLICY, id, NULL, TRUE, error) ||
      !nb_mgmt_store_commit (store, error))
    goto fail;
  return nb_mgmt_store_get_policy (store, account_id, id, error);

fail:
  nb_mgmt_store_rollback (store);
  return NULL;
}

/**
 * nb_mgmt_store_create_policy:
 * @store: a store
 * @account_id: the account
 * @actor_id: (nullable): who creates it
 * @tmpl: the policy and its rules
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the new policy, or %NULL with @error set
 */
NbMgmtPolicy *
nb_mgmt_store_create_policy (NbMgmtStore        *store,
                             const char         *account_id,
                             const char         *actor_id,
                             const NbMgmtPolicy *tmpl,
                             GError            **error)
{
  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);
  g_return_val_if_fail (tmpl != NULL, NULL);
  return save_policy (store, account_id, actor_id, tmpl, TRUE, error);
}

/**
 * nb_mgmt_store_update_policy:
 * @store: a store
 * @account_id: the account
 * @actor_id: (nullable): who changes it
 * @policy: the policy (by @policy->id) with all its rules
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the updated policy, or %NULL with @error set
 */
NbMgmtPolicy *
nb_mgmt_store_update_policy (NbMgmtStore        *store,
                             const char         *account_id,
                             const char         *actor_id,
                             const NbMgmtPolicy *policy,
                             GError            **error)
{
  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);
  g_return_val_if_fail (policy != NULL, NULL);
  return save_policy (store, account_id, actor_id, policy, FALSE, error);
}

/**
 * nb_mgmt_store_delete_policy:
 * @store: a store
 * @account_id: the account
 * @actor_id: (nullable): who deletes it
 * @policy_id: the policy
 * @error: return location for a #GError
 *
 * Returns: %TRUE on success
 */
gboolean
nb_mgmt_store_delete_policy (NbMgmtStore *store,
                             const char  *account_id,
                             const char  *actor_id,
                             const char  *policy_id,
                             GError     **error)
{
  g_autoptr(NbMgmtPolicy) old = NULL;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), FALSE);

  old = nb_mgmt_store_get_policy (store, account_id, policy_id, error);
  if (old == NULL)
    return FALSE;
  if (!nb_mgmt_store_begin (store, error))
    return FALSE;
  if (!delete_by_id (store, "DELETE FROM policies WHERE id = ?1", policy_id, "policy", error) ||
      !nb_mgmt_store_add_event (store, account_id, actor_id, "policy.delete", policy_id, error,
                                "name", old->name, NULL) ||
      !nb_mgmt_store_note_change (store, account_id, NB_MGMT_CHANGE_POLICY, policy_id, NULL, TRUE, error) ||
      !nb_mgmt_store_commit (store, error))
    {
      nb_mgmt_store_rollback (store);
      return FALSE;
    }
  return TRUE;
}

/* ---- Routes -------------------------------------------------------------- */

#define ROUTE_COLUMNS \
  "id, account_id, network_id, description, enabled, peer_id, network, domains, metric, " \
  "masquerade, keep_route"

static NbMgmtRoute *
route_from_row (NbMgmtStore  *store,
                sqlite3_stmt *stmt)
{
  NbMgmtRoute *r = g_new0 (NbMgmtRoute, 1);

  r->id = nb_mgmt_column_dup (stmt, 0);
  r->account_id = nb_mgmt_column_dup (stmt, 1);
  r->network_id = nb_mgmt_column_dup (stmt, 2);
  r->description = nb_mgmt_column_dup (stmt, 3);
  r->enabled = sqlite3_column_int (stmt, 4);
  r->peer = nb_mgmt_column_dup (stmt, 5);
  r->network = nb_mgmt_column_dup (stmt, 6);
  r->domains = nb_mgmt_strv_from_json (nb_mgmt_column_text (stmt, 7));
  r->metric = sqlite3_column_int (stmt, 8);
  r->masquerade = sqlite3_column_int (stmt, 9);
  r->keep_route = sqlite3_column_int (stmt, 10);
  return r;
}

static gboolean
fill_route_groups (NbMgmtStore *store,
                   NbMgmtRoute *route,
                   GError     **error)
{
  GError *local = NULL;

  route->peer_groups = nb_mgmt_store_read_group_refs (store, route->id, "route.peer_groups", &local);
  if (local == NULL)
    route->groups = nb_mgmt_store_read_group_refs (store, route->id, "route.groups", &local);
  if (local == NULL)
    route->access_control_groups = nb_mgmt_store_read_group_refs (store, route->id, "route.acg", &local);
  if (local != NULL)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  return TRUE;
}

/**
 * nb_mgmt_store_get_route:
 * @store: a store
 * @account_id: the account
 * @route_id: the route
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the route, or %NULL (NOT_FOUND)
 */
NbMgmtRoute *
nb_mgmt_store_get_route (NbMgmtStore *store,
                         const char  *account_id,
                         const char  *route_id,
                         GError     **error)
{
  g_autoptr(NbMgmtRoute) route = NULL;
  sqlite3_stmt *stmt;
  gboolean has_row;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  stmt = nb_mgmt_store_prepare (store,
                                "SELECT " ROUTE_COLUMNS " FROM routes WHERE id = ?1 AND account_id = ?2", error);
  if (stmt == NULL)
    return NULL;
  nb_mgmt_bind_text (stmt, 1, route_id);
  nb_mgmt_bind_text (stmt, 2, account_id);
  if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
    return NULL;
  if (!has_row)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_NOT_FOUND,
                   "Route %s not found", route_id != NULL ? route_id : "(none)");
      return NULL;
    }
  route = route_from_row (store, stmt);
  sqlite3_reset (stmt);
  if (!fill_route_groups (store, route, error))
    return NULL;
  return g_steal_pointer (&route);
}

/**
 * nb_mgmt_store_list_routes:
 * @store: a store
 * @account_id: the account
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (element-type NbMgmtRoute): the routes
 */
GPtrArray *
nb_mgmt_store_list_routes (NbMgmtStore *store,
                           const char  *account_id,
                           GError     **error)
{
  g_autoptr(GPtrArray) routes = g_ptr_array_new_with_free_func ((GDestroyNotify) nb_mgmt_route_free);
  sqlite3_stmt *stmt;
  gboolean has_row;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  if (!nb_mgmt_store_account_exists (store, account_id, error))
    return NULL;
  stmt = nb_mgmt_store_prepare (store,
                                "SELECT " ROUTE_COLUMNS " FROM routes WHERE account_id = ?1 ORDER BY rowid", error);
  if (stmt == NULL)
    return NULL;
  nb_mgmt_bind_text (stmt, 1, account_id);
  while (TRUE)
    {
      if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
        return NULL;
      if (!has_row)
        break;
      g_ptr_array_add (routes, route_from_row (store, stmt));
    }
  for (guint i = 0; i < routes->len; i++)
    if (!fill_route_groups (store, routes->pdata[i], error))
      return NULL;
  return g_steal_pointer (&routes);
}

static gboolean
validate_route (NbMgmtStore       *store,
                const char        *account_id,
                const NbMgmtRoute *route,
                GError           **error)
{
  gboolean has_peer = route->peer != NULL && *route->peer != '\0';
  gboolean has_peer_groups = route->peer_groups != NULL && route->peer_groups[0] != NULL;
  gboolean has_network = route->network != NULL && *route->network != '\0';
  gboolean has_domains = route->domains != NULL && route->domains[0] != NULL;

  if (route->network_id == NULL || *route->network_id == '\0' ||
      g_utf8_strlen (route->network_id, -1) > 40 || !g_utf8_validate (route->network_id, -1, NULL))
    return fail_invalid (error, "network_id must be 1..40 characters");
  if (route->description != NULL && strlen (route->description) > 1024)
    return fail_invalid (error, "description is longer than 1024 characters");
  if (has_peer == has_peer_groups)
    return fail_invalid (error, "Exactly one of peer and peer_groups must be set");
  if (has_network == has_domains)
    return fail_invalid (error, "Exactly one of network and domains must be set");
  if (has_network)
    {
      guint32 net;
      guint prefix;
      if (!nb_mgmt_cidr_parse (route->network, &net, &prefix))
        return fail_invalid (error, "network \"%s\" is not an IPv4 CIDR like 10.0.0.0/24", route->network);
    }
  for (guint i = 0; has_domains && route->domains[i] != NULL; i++)
    {
      const char *d = route->domains[i];
      if (g_str_has_prefix (d, "*."))
        d += 2;
      if (!nb_mgmt_dns_domain_is_valid (d))
        return fail_invalid (error, "domains: \"%s\" is not a valid domain", route->domains[i]);
    }
  if (route->metric < 1 || route->metric > 9999)
    return fail_invalid (error, "metric must be 1..9999, not %d", route->metric);
  if (route->groups == NULL || route->groups[0] == NULL)
    return fail_invalid (error, "groups: a route must be distributed to at least one group");
  if (has_peer)
    {
      sqlite3_stmt *stmt = nb_mgmt_store_prepare (store, "SELECT 1 FROM peers WHERE id = ?1 AND account_id = ?2",
                                                  error);
      gboolean has_row;

      if (stmt == NULL)
        return FALSE;
      nb_mgmt_bind_text (stmt, 1, route->peer);
      nb_mgmt_bind_text (stmt, 2, account_id);
      if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
        return FALSE;
      sqlite3_reset (stmt);
      if (!has_row)
        return fail_invalid (error, "peer: peer %s does not exist", route->peer);
    }
  return TRUE;
}

static NbMgmtRoute *
save_route (NbMgmtStore       *store,
            const char        *account_id,
            const char        *actor_id,
            const NbMgmtRoute *route,
            gboolean           create,
            GError           **error)
{
  g_autofree char *id = create ? nb_mgmt_new_id () : g_strdup (route->id);
  g_autofree char *domains = NULL;
  sqlite3_stmt *stmt;
  gboolean has_network = route->network != NULL && *route->network != '\0';

  if (create && !nb_mgmt_store_account_exists (store, account_id, error))
    return NULL;
  if (!create)
    {
      g_autoptr(NbMgmtRoute) old = nb_mgmt_store_get_route (store, account_id, route->id, error);
      if (old == NULL)
        return NULL;
    }
  if (!validate_route (store, account_id, route, error))
    return NULL;
  domains = route->domains != NULL && route->domains[0] != NULL ? nb_mgmt_strv_to_json (route->domains) : NULL;

  if (!nb_mgmt_store_begin (store, error))
    return NULL;
  if (create)
    stmt = nb_mgmt_store_prepare (store,
                                  "INSERT INTO routes (id, account_id, network_id, description, enabled, peer_id, "
                                  "network, domains, metric, masquerade, keep_route) "
                                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)", error);
  else
    stmt = nb_mgmt_store_prepare (store,
                                  "UPDATE routes SET network_id = ?3, description = ?4, enabled = ?5, "
                                  "peer_id = ?6, network = ?7, domains = ?8, metric = ?9, masquerade = ?10, "
                                  "keep_route = ?11 WHERE id = ?1 AND account_id = ?2", error);
  if (stmt == NULL)
    goto fail;
  nb_mgmt_bind_text (stmt, 1, id);
  nb_mgmt_bind_text (stmt, 2, account_id);
  nb_mgmt_bind_text (stmt, 3, route->network_id);
  nb_mgmt_bind_text (stmt, 4, route->description);
  nb_mgmt_bind_int64 (stmt, 5, route->enabled ? 1 : 0);
  nb_mgmt_bind_text (stmt, 6, route->peer != NULL && *route->peer != '\0' ? route->peer : NULL);
  if (has_network)
    {
      guint32 net;
      guint prefix;
      g_autofree char *net_text = NULL;
      g_autofree char *canonical = NULL;

      nb_mgmt_cidr_parse (route->network, &net, &prefix);
      net_text = nb_mgmt_ip_to_string (net);
      canonical = g_strdup_printf ("%s/%u", net_text, prefix);
      nb_mgmt_bind_text (stmt, 7, canonical);
    }
  nb_mgmt_bind_text (stmt, 8, domains);
  nb_mgmt_bind_int64 (stmt, 9, route->metric);
  nb_mgmt_bind_int64 (stmt, 10, route->masquerade ? 1 : 0);
  nb_mgmt_bind_int64 (stmt, 11, route->keep_route ? 1 : 0);
  if (!nb_mgmt_store_step_done (store, stmt, "route", error) ||
      !nb_mgmt_store_write_group_refs (store, account_id, id, "route.peer_groups", route->peer_groups,
                                       TRUE, "peer_groups", error) ||
      !nb_mgmt_store_write_group_refs (store, account_id, id, "route.groups", route->groups,
                                       TRUE, "groups", error) ||
      !nb_mgmt_store_write_group_refs (store, account_id, id, "route.acg", route->access_control_groups,
                                       TRUE, "access_control_groups", error) ||
      !nb_mgmt_store_add_event (store, account_id, actor_id, create ? "route.add" : "route.update", id,
                                error, "name", route->network_id,
                                "network", has_network ? route->network : "", NULL) ||
      !nb_mgmt_store_note_change (store, account_id, NB_MGMT_CHANGE_ROUTE, id, NULL, TRUE, error) ||
      !nb_mgmt_store_commit (store, error))
    goto fail;
  return nb_mgmt_store_get_route (store, account_id, id, error);

fail:
  nb_mgmt_store_rollback (store);
  return NULL;
}

/**
 * nb_mgmt_store_create_route:
 * @store: a store
 * @account_id: the account
 * @actor_id: (nullable): who creates it
 * @tmpl: the route
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the new route, or %NULL with @error set
 */
NbMgmtRoute *
nb_mgmt_store_create_route (NbMgmtStore       *store,
                            const char        *account_id,
                            const char        *actor_id,
                            const NbMgmtRoute *tmpl,
                            GError           **error)
{
  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);
  g_return_val_if_fail (tmpl != NULL, NULL);
  return save_route (store, account_id, actor_id, tmpl, TRUE, error);
}

/**
 * nb_mgmt_store_update_route:
 * @store: a store
 * @account_id: the account
 * @actor_id: (nullable): who changes it
 * @route: the route (by @route->id)
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the updated route, or %NULL with @error set
 */
NbMgmtRoute *
nb_mgmt_store_update_route (NbMgmtStore       *store,
                            const char        *account_id,
                            const char        *actor_id,
                            const NbMgmtRoute *route,
                            GError           **error)
{
  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);
  g_return_val_if_fail (route != NULL, NULL);
  return save_route (store, account_id, actor_id, route, FALSE, error);
}

/**
 * nb_mgmt_store_delete_route:
 * @store: a store
 * @account_id: the account
 * @actor_id: (nullable): who deletes it
 * @route_id: the route
 * @error: return location for a #GError
 *
 * Returns: %TRUE on success
 */
gboolean
nb_mgmt_store_delete_route (NbMgmtStore *store,
                            const char  *account_id,
                            const char  *actor_id,
                            const char  *route_id,
                            GError     **error)
{
  g_autoptr(NbMgmtRoute) old = NULL;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), FALSE);

  old = nb_mgmt_store_get_route (store, account_id, route_id, error);
  if (old == NULL)
    return FALSE;
  if (!nb_mgmt_store_begin (store, error))
    return FALSE;
  if (!delete_by_id (store, "DELETE FROM routes WHERE id = ?1", route_id, "route", error) ||
      !nb_mgmt_store_add_event (store, account_id, actor_id, "route.delete", route_id, error,
                                "name", old->network_id, NULL) ||
      !nb_mgmt_store_note_change (store, account_id, NB_MGMT_CHANGE_ROUTE, route_id, NULL, TRUE, error) ||
      !nb_mgmt_store_commit (store, error))
    {
      nb_mgmt_store_rollback (store);
      return FALSE;
    }
  return TRUE;
}

/* ---- Nameserver groups --------------------------------------------------- */

static char *
nameservers_to_json (const GPtrArray *nameservers)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_array (b);
  for (guint i = 0; nameservers != NULL && i < nameservers->len; i++)
    {
      const NbMgmtNameserver *ns = nameservers->pdata[i];
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "ip");
      json_builder_add_string_value (b, ns->ip);
      json_builder_set_member_name (b, "ns_type");
      json_builder_add_string_value (b, ns->ns_type != NULL ? ns->ns_type : "udp");
      json_builder_set_member_name (b, "port");
      json_builder_add_int_value (b, ns->port);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

static GPtrArray *
nameservers_from_json (const char *json)
{
  GPtrArray *list = g_ptr_array_new_with_free_func ((GDestroyNotify) nb_mgmt_nameserver_free);
  g_autoptr(JsonNode) root = json != NULL ? json_from_string (json, NULL) : NULL;
  JsonArray *array;

  if (root == NULL || !JSON_NODE_HOLDS_ARRAY (root))
    return list;
  array = json_node_get_array (root);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *o = json_array_get_object_element (array, i);
      if (o == NULL)
        continue;
      g_ptr_array_add (list, nb_mgmt_nameserver_new (json_object_get_string_member_with_default (o, "ip", ""),
                                                     json_object_get_string_member_with_default (o, "ns_type", "udp"),
                                                     (gint) json_object_get_int_member_with_default (o, "port", 53)));
    }
  return list;
}

#define NS_COLUMNS \
  "id, account_id, name, description, nameservers, enabled, is_primary, domains, search_domains_enabled"

static NbMgmtNameserverGroup *
ns_from_row (sqlite3_stmt *stmt)
{
  NbMgmtNameserverGroup *g = g_new0 (NbMgmtNameserverGroup, 1);

  g->id = nb_mgmt_column_dup (stmt, 0);
  g->account_id = nb_mgmt_column_dup (stmt, 1);
  g->name = nb_mgmt_column_dup (stmt, 2);
  g->description = nb_mgmt_column_dup (stmt, 3);
  g->nameservers = nameservers_from_json (nb_mgmt_column_text (stmt, 4));
  g->enabled = sqlite3_column_int (stmt, 5);
  g->primary = sqlite3_column_int (stmt, 6);
  g->domains = nb_mgmt_strv_from_json (nb_mgmt_column_text (stmt, 7));
  g->search_domains_enabled = sqlite3_column_int (stmt, 8);
  return g;
}

/**
 * nb_mgmt_store_get_nameserver_group:
 * @store: a store
 * @account_id: the account
 * @group_id: the nameserver group
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the nameserver group, or %NULL (NOT_FOUND)
 */
NbMgmtNameserverGroup *
nb_mgmt_store_get_nameserver_group (NbMgmtStore *store,
                                    const char  *account_id,
                                    const char  *group_id,
                                    GError     **error)
{
  g_autoptr(NbMgmtNameserverGroup) group = NULL;
  sqlite3_stmt *stmt;
  gboolean has_row;
  GError *local = NULL;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  stmt = nb_mgmt_store_prepare (store,
                                "SELECT " NS_COLUMNS " FROM nameserver_groups WHERE id = ?1 AND account_id = ?2",
                                error);
  if (stmt == NULL)
    return NULL;
  nb_mgmt_bind_text (stmt, 1, group_id);
  nb_mgmt_bind_text (stmt, 2, account_id);
  if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
    return NULL;
  if (!has_row)
    {
      g_set_error (error, NB_MGMT_ERROR, NB_MGMT_ERROR_NOT_FOUND,
                   "Nameserver group %s not found", group_id != NULL ? group_id : "(none)");
      return NULL;
    }
  group = ns_from_row (stmt);
  sqlite3_reset (stmt);
  group->groups = nb_mgmt_store_read_group_refs (store, group->id, "ns.groups", &local);
  if (local != NULL)
    {
      g_propagate_error (error, local);
      return NULL;
    }
  return g_steal_pointer (&group);
}

/**
 * nb_mgmt_store_list_nameserver_groups:
 * @store: a store
 * @account_id: the account
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (element-type NbMgmtNameserverGroup): the
 *   nameserver groups
 */
GPtrArray *
nb_mgmt_store_list_nameserver_groups (NbMgmtStore *store,
                                      const char  *account_id,
                                      GError     **error)
{
  g_autoptr(GPtrArray) groups = g_ptr_array_new_with_free_func ((GDestroyNotify) nb_mgmt_nameserver_group_free);
  sqlite3_stmt *stmt;
  gboolean has_row;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  if (!nb_mgmt_store_account_exists (store, account_id, error))
    return NULL;
  stmt = nb_mgmt_store_prepare (store,
                                "SELECT " NS_COLUMNS " FROM nameserver_groups WHERE account_id = ?1 ORDER BY rowid",
                                error);
  if (stmt == NULL)
    return NULL;
  nb_mgmt_bind_text (stmt, 1, account_id);
  while (TRUE)
    {
      if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
        return NULL;
      if (!has_row)
        break;
      g_ptr_array_add (groups, ns_from_row (stmt));
    }
  for (guint i = 0; i < groups->len; i++)
    {
      NbMgmtNameserverGroup *g = groups->pdata[i];
      GError *local = NULL;

      g->groups = nb_mgmt_store_read_group_refs (store, g->id, "ns.groups", &local);
      if (local != NULL)
        {
          g_propagate_error (error, local);
          return NULL;
        }
    }
  return g_steal_pointer (&groups);
}

static gboolean
validate_ns_group (const NbMgmtNameserverGroup *group,
                   GError                     **error)
{
  gboolean has_domains = group->domains != NULL && group->domains[0] != NULL;

  if (group->name == NULL || *group->name == '\0' || g_utf8_strlen (group->name, -1) > 40 ||
      !g_utf8_validate (group->name, -1, NULL))
    return fail_invalid (error, "name of the nameserver group must be 1..40 characters");
  if (group->description != NULL && strlen (group->description) > 1024)
    return fail_invalid (error, "description is longer than 1024 characters");
  if (group->nameservers == NULL || group->nameservers->len < 1 || group->nameservers->len > 3)
    return fail_invalid (error, "nameservers: between 1 and 3 nameservers are required");
  for (guint i = 0; i < group->nameservers->len; i++)
    {
      const NbMgmtNameserver *ns = group->nameservers->pdata[i];
      guint32 ip;

      if (!nb_mgmt_ip_parse (ns->ip, &ip))
        return fail_invalid (error, "nameservers[%u].ip \"%s\" is not an IPv4 address", i,
                             ns->ip != NULL ? ns->ip : "");
      if (ns->port < 1 || ns->port > 65535)
        return fail_invalid (error, "nameservers[%u].port must be 1..65535", i);
      if (ns->ns_type != NULL && g_ascii_strcasecmp (ns->ns_type, "udp") != 0)
        return fail_invalid (error, "nameservers[%u].ns_type must be \"udp\"", i);
    }
  if (group->groups == NULL || group->groups[0] == NULL)
    return fail_invalid (error, "groups: a nameserver group must be distributed to at least one group");
  if (group->primary == has_domains)
    return fail_invalid (error, group->primary
                         ? "A primary nameserver group cannot have domains"
                         : "A nameserver group that is not primary needs at least one domain");
  for (guint i = 0; has_domains && group->domains[i] != NULL; i++)
    if (!nb_mgmt_dns_domain_is_valid (group->domains[i]))
      return fail_invalid (error, "domains: \"%s\" is not a valid domain", group->domains[i]);
  return TRUE;
}

static NbMgmtNameserverGroup *
save_ns_group (NbMgmtStore                 *store,
               const char                  *account_id,
               const char                  *actor_id,
               const NbMgmtNameserverGroup *group,
               gboolean                     create,
               GError                     **error)
{
  g_autofree char *id = create ? nb_mgmt_new_id () : g_strdup (group->id);
  g_autofree char *servers = NULL;
  g_autofree char *domains = NULL;
  sqlite3_stmt *stmt;

  if (!validate_ns_group (group, error))
    return NULL;
  if (create && !nb_mgmt_store_account_exists (store, account_id, error))
    return NULL;
  if (!create)
    {
      g_autoptr(NbMgmtNameserverGroup) old = nb_mgmt_store_get_nameserver_group (store, account_id, group->id,
                                                                                 error);
      if (old == NULL)
        return NULL;
    }
  servers = nameservers_to_json (group->nameservers);
  domains = group->domains != NULL && group->domains[0] != NULL ? nb_mgmt_strv_to_json (group->domains) : NULL;

  if (!nb_mgmt_store_begin (store, error))
    return NULL;
  if (create)
    stmt = nb_mgmt_store_prepare (store,
                                  "INSERT INTO nameserver_groups (id, account_id, name, description, nameservers, "
                                  "enabled, is_primary, domains, search_domains_enabled) "
                                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)", error);
  else
    stmt = nb_mgmt_store_prepare (store,
                                  "UPDATE nameserver_groups SET name = ?3, description = ?4, nameservers = ?5, "
                                  "enabled = ?6, is_primary = ?7, domains = ?8, search_domains_enabled = ?9 "
                                  "WHERE id = ?1 AND account_id = ?2", error);
  if (stmt == NULL)
    goto fail;
  nb_mgmt_bind_text (stmt, 1, id);
  nb_mgmt_bind_text (stmt, 2, account_id);
  nb_mgmt_bind_text (stmt, 3, group->name);
  nb_mgmt_bind_text (stmt, 4, group->description);
  nb_mgmt_bind_text (stmt, 5, servers);
  nb_mgmt_bind_int64 (stmt, 6, group->enabled ? 1 : 0);
  nb_mgmt_bind_int64 (stmt, 7, group->primary ? 1 : 0);
  nb_mgmt_bind_text (stmt, 8, domains);
  nb_mgmt_bind_int64 (stmt, 9, group->search_domains_enabled ? 1 : 0);
  if (!nb_mgmt_store_step_done (store, stmt, "A nameserver group with this name", error) ||
      !nb_mgmt_store_write_group_refs (store, account_id, id, "ns.groups", group->groups, TRUE,
                                       "groups", error) ||
      !nb_mgmt_store_add_event (store, account_id, actor_id,
                                create ? "nameserver.group.add" : "nameserver.group.update", id,
                                error, "name", group->name, NULL) ||
      !nb_mgmt_store_note_change (store, account_id, NB_MGMT_CHANGE_NAMESERVER_GROUP, id, NULL, TRUE,
                                  error) ||
      !nb_mgmt_store_commit (store, error))
    goto fail;
  return nb_mgmt_store_get_nameserver_group (store, account_id, id, error);

fail:
  nb_mgmt_store_rollback (store);
  return NULL;
}

/**
 * nb_mgmt_store_create_nameserver_group:
 * @store: a store
 * @account_id: the account
 * @actor_id: (nullable): who creates it
 * @tmpl: the nameserver group
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the new nameserver group, or %NULL
 */
NbMgmtNameserverGroup *
nb_mgmt_store_create_nameserver_group (NbMgmtStore                 *store,
                                       const char                  *account_id,
                                       const char                  *actor_id,
                                       const NbMgmtNameserverGroup *tmpl,
                                       GError                     **error)
{
  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);
  g_return_val_if_fail (tmpl != NULL, NULL);
  return save_ns_group (store, account_id, actor_id, tmpl, TRUE, error);
}

/**
 * nb_mgmt_store_update_nameserver_group:
 * @store: a store
 * @account_id: the account
 * @actor_id: (nullable): who changes it
 * @group: the nameserver group (by @group->id)
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the updated nameserver group, or %NULL
 */
NbMgmtNameserverGroup *
nb_mgmt_store_update_nameserver_group (NbMgmtStore                 *store,
                                       const char                  *account_id,
                                       const char                  *actor_id,
                                       const NbMgmtNameserverGroup *group,
                                       GError                     **error)
{
  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);
  g_return_val_if_fail (group != NULL, NULL);
  return save_ns_group (store, account_id, actor_id, group, FALSE, error);
}

/**
 * nb_mgmt_store_delete_nameserver_group:
 * @store: a store
 * @account_id: the account
 * @actor_id: (nullable): who deletes it
 * @group_id: the nameserver group
 * @error: return location for a #GError
 *
 * Returns: %TRUE on success
 */
gboolean
nb_mgmt_store_delete_nameserver_group (NbMgmtStore *store,
                                       const char  *account_id,
                                       const char  *actor_id,
                                       const char  *group_id,
                                       GError     **error)
{
  g_autoptr(NbMgmtNameserverGroup) old = NULL;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), FALSE);

  old = nb_mgmt_store_get_nameserver_group (store, account_id, group_id, error);
  if (old == NULL)
    return FALSE;
  if (!nb_mgmt_store_begin (store, error))
    return FALSE;
  if (!delete_by_id (store, "DELETE FROM nameserver_groups WHERE id = ?1", group_id, "nameserver group", error) ||
      !nb_mgmt_store_add_event (store, account_id, actor_id, "nameserver.group.delete", group_id, error,
                                "name", old->name, NULL) ||
      !nb_mgmt_store_note_change (store, account_id, NB_MGMT_CHANGE_NAMESERVER_GROUP, group_id, NULL,
                                  TRUE, error) ||
      !nb_mgmt_store_commit (store, error))
    {
      nb_mgmt_store_rollback (store);
      return FALSE;
    }
  return TRUE;
}

/* ---- DNS settings -------------------------------------------------------- */

/**
 * nb_mgmt_store_get_dns_settings:
 * @store: a store
 * @account_id: the account
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the account's DNS settings, or %NULL
 */
NbMgmtDnsSettings *
nb_mgmt_store_get_dns_settings (NbMgmtStore *store,
                                const char  *account_id,
                                GError     **error)
{
  g_autoptr(NbMgmtDnsSettings) settings = g_new0 (NbMgmtDnsSettings, 1);
  GError *local = NULL;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  if (!nb_mgmt_store_account_exists (store, account_id, error))
    return NULL;
  settings->disabled_management_groups = nb_mgmt_store_read_group_refs (store, account_id, "dns.disabled",
                                                                        &local);
  if (local != NULL)
    {
      g_propagate_error (error, local);
      return NULL;
    }
  return g_steal_pointer (&settings);
}

/**
 * nb_mgmt_store_update_dns_settings:
 * @store: a store
 * @account_id: the account
 * @actor_id: (nullable): who changes them
 * @settings: the new settings
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the updated settings, or %NULL
 */
NbMgmtDnsSettings *
nb_mgmt_store_update_dns_settings (NbMgmtStore             *store,
                                   const char              *account_id,
                                   const char              *actor_id,
                                   const NbMgmtDnsSettings *settings,
                                   GError                 **error)
{
  g_autoptr(NbMgmtDnsSettings) old = NULL;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);
  g_return_val_if_fail (settings != NULL, NULL);

  if (nb_mgmt_strv_has_duplicates (settings->disabled_management_groups))
    {
      fail_invalid (error, "disabled_management_groups lists a group twice");
      return NULL;
    }
  old = nb_mgmt_store_get_dns_settings (store, account_id, error);
  if (old == NULL)
    return NULL;
  if (!nb_mgmt_store_begin (store, error))
    return NULL;
  if (!nb_mgmt_store_write_group_refs (store, account_id, account_id, "dns.disabled",
                                       settings->disabled_management_groups, TRUE,
                                       "disabled_management_groups", error))
    goto fail;
  /* One event per group added or removed, as NetBird. */
  for (guint i = 0; settings->disabled_management_groups != NULL &&
                    settings->disabled_management_groups[i] != NULL; i++)
    if ((old->disabled_management_groups == NULL ||
         !g_strv_contains ((const char * const *) old->disabled_management_groups,
                           settings->disabled_management_groups[i])) &&
        !nb_mgmt_store_add_event (store, account_id, actor_id, "dns.setting.disabled.management.group.add",
                                  settings->disabled_management_groups[i], error, NULL))
      goto fail;
  for (guint i = 0; old->disabled_management_groups != NULL && old->disabled_management_groups[i] != NULL; i++)
    if ((settings->disabled_management_groups == NULL ||
         !g_strv_contains ((const char * const *) settings->disabled_management_groups,
                           old->disabled_management_groups[i])) &&
        !nb_mgmt_store_add_event (store, account_id, actor_id, "dns.setting.disabled.management.group.delete",
                                  old->disabled_management_groups[i], error, NULL))
      goto fail;
  if (!nb_mgmt_store_note_change (store, account_id, NB_MGMT_CHANGE_DNS_SETTINGS, account_id, NULL, TRUE,
                                  error) ||
      !nb_mgmt_store_commit (store, error))
    goto fail;
  return nb_mgmt_store_get_dns_settings (store, account_id, error);

fail:
  nb_mgmt_store_rollback (store);
  return NULL;
}
