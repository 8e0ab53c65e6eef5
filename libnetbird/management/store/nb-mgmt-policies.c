/* nb-mgmt-policies.c: access-control policies and their rules
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-mgmt-store"

#include <string.h>

#include <json-glib/json-glib.h>

#include "nb-mgmt-store-private.h"

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
  g_autoptr(JsonNode) root = NULL;
  JsonArray *array = nb_mgmt_json_array_parse (json, &root);
  GArray *ports;

  if (array == NULL)
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
  g_autoptr(JsonNode) root = NULL;
  JsonArray *array = nb_mgmt_json_array_parse (json, &root);
  GArray *ranges;

  if (array == NULL)
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
  if (!nb_mgmt_check_name (policy->name, "name of the policy", 255, error) ||
      !nb_mgmt_check_text (policy->description, "description of the policy", 1024, error))
    return FALSE;
  if (policy->rules == NULL || policy->rules->len == 0)
    return nb_mgmt_fail_invalid (error, "rules: a policy needs at least one rule");
  for (guint i = 0; i < policy->rules->len; i++)
    {
      const NbMgmtPolicyRule *rule = policy->rules->pdata[i];
      gboolean has_ports = (rule->ports != NULL && rule->ports->len > 0) ||
                           (rule->port_ranges != NULL && rule->port_ranges->len > 0);

      g_autofree char *rule_name = g_strdup_printf ("rules[%u].name", i);
      g_autofree char *rule_description = g_strdup_printf ("rules[%u].description", i);

      /* A rule's name may be empty: NetBird's API gives it none by default. */
      if (!nb_mgmt_check_text (rule->name, rule_name, 255, error) ||
          !nb_mgmt_check_text (rule->description, rule_description, 1024, error))
        return FALSE;
      if (rule->action != NB_MGMT_RULE_ACTION_ACCEPT && rule->action != NB_MGMT_RULE_ACTION_DROP)
        return nb_mgmt_fail_invalid (error, "rules[%u].action must be \"accept\" or \"drop\"", i);
      if (rule->protocol > NB_MGMT_PROTOCOL_ICMP)
        return nb_mgmt_fail_invalid (error, "rules[%u].protocol must be all, tcp, udp or icmp", i);
      if (rule->sources == NULL || rule->sources[0] == NULL)
        return nb_mgmt_fail_invalid (error, "rules[%u].sources: at least one source group is required", i);
      if (rule->destinations == NULL || rule->destinations[0] == NULL)
        return nb_mgmt_fail_invalid (error, "rules[%u].destinations: at least one destination group is required", i);
      if (has_ports && rule->protocol != NB_MGMT_PROTOCOL_TCP && rule->protocol != NB_MGMT_PROTOCOL_UDP)
        return nb_mgmt_fail_invalid (error, "rules[%u]: ports can only be set for tcp or udp", i);
      /* Bounds what one rule costs every map it reaches. */
      if (rule->ports != NULL && rule->ports->len > NB_MGMT_MAX_RULE_PORTS)
        return nb_mgmt_fail_invalid (error, "rules[%u].ports: %u ports, at most %u are allowed in one rule: "
                                     "use port_ranges for spans of ports", i, rule->ports->len,
                                     NB_MGMT_MAX_RULE_PORTS);
      if (rule->port_ranges != NULL && rule->port_ranges->len > NB_MGMT_MAX_RULE_PORTS)
        return nb_mgmt_fail_invalid (error, "rules[%u].port_ranges: %u ranges, at most %u are allowed in one rule",
                                     i, rule->port_ranges->len, NB_MGMT_MAX_RULE_PORTS);
      for (guint j = 0; rule->ports != NULL && j < rule->ports->len; j++)
        if (g_array_index (rule->ports, guint16, j) == 0)
          return nb_mgmt_fail_invalid (error, "rules[%u].ports: port must be 1..65535", i);
      for (guint j = 0; rule->port_ranges != NULL && j < rule->port_ranges->len; j++)
        {
          const NbMgmtPortRange *r = &g_array_index (rule->port_ranges, NbMgmtPortRange, j);
          if (r->start == 0 || r->end < r->start)
            return nb_mgmt_fail_invalid (error, "rules[%u].port_ranges: start must be 1..65535 and not above end", i);
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
  if (!nb_mgmt_store_delete_by_id (store, "DELETE FROM policy_rules WHERE policy_id = ?1", policy_id,
                                   "policy rules", error))
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
policy_from_row (sqlite3_stmt *stmt)
{
  NbMgmtPolicy *policy = nb_mgmt_policy_new ();

  policy->id = nb_mgmt_column_dup (stmt, 0);
  policy->account_id = nb_mgmt_column_dup (stmt, 1);
  policy->name = nb_mgmt_column_dup (stmt, 2);
  policy->description = nb_mgmt_column_dup (stmt, 3);
  policy->enabled = sqlite3_column_int (stmt, 4);
  return policy;
}

static gboolean
fill_policy_rules (NbMgmtStore  *store,
                   NbMgmtPolicy *policy,
                   GError      **error)
{
  sqlite3_stmt *stmt;
  gboolean has_row;

  stmt = nb_mgmt_store_prepare (store,
                                "SELECT id, name, description, enabled, action, bidirectional, protocol, ports, "
                                "port_ranges FROM policy_rules WHERE policy_id = ?1 ORDER BY position", error);
  if (stmt == NULL)
    return FALSE;
  nb_mgmt_bind_text (stmt, 1, policy->id);
  while (TRUE)
    {
      NbMgmtPolicyRule *rule;

      if (!nb_mgmt_store_step_row (store, stmt, &has_row, error))
        return FALSE;
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

      if (!nb_mgmt_store_fill_group_refs (store, rule->id, "rule.sources", &rule->sources, error) ||
          !nb_mgmt_store_fill_group_refs (store, rule->id, "rule.destinations", &rule->destinations, error))
        return FALSE;
    }
  return TRUE;
}

#define POLICY_COLUMNS "id, account_id, name, description, enabled"

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
  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  return nb_mgmt_store_get_one (store,
                                "SELECT " POLICY_COLUMNS " FROM policies WHERE id = ?1 AND account_id = ?2",
                                account_id, policy_id, "Policy", (NbMgmtRowFunc) policy_from_row,
                                (NbMgmtFillFunc) fill_policy_rules, (GDestroyNotify) nb_mgmt_policy_free, error);
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
  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  return nb_mgmt_store_list_account (store,
                                     "SELECT " POLICY_COLUMNS " FROM policies WHERE account_id = ?1 "
                                     "ORDER BY created_at, rowid",
                                     account_id, (NbMgmtRowFunc) policy_from_row,
                                     (NbMgmtFillFunc) fill_policy_rules, (GDestroyNotify) nb_mgmt_policy_free,
                                     error);
}

static NbMgmtPolicy *
save_policy (NbMgmtStore        *store,
             const char         *account_id,
             const char         *actor_id,
             const NbMgmtPolicy *policy,
             gboolean            create,
             GError            **error)
{
  g_auto(NbMgmtTransaction) tx = NB_MGMT_TRANSACTION_INIT;
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

  if (!nb_mgmt_transaction_begin (&tx, store, error))
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
    return NULL;
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
      !nb_mgmt_transaction_commit (&tx, error))
    return NULL;
  return nb_mgmt_store_get_policy (store, account_id, id, error);
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
  return nb_mgmt_store_delete_object (store, account_id, actor_id, "DELETE FROM policies WHERE id = ?1",
                                      policy_id, "policy", "policy.delete", old->name,
                                      NB_MGMT_CHANGE_POLICY, TRUE, error);
}
