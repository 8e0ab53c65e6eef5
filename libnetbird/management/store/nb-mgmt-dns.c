/* nb-mgmt-dns.c: nameserver groups and DNS settings
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-mgmt-store"

#include <string.h>

#include <json-glib/json-glib.h>

#include "nb-mgmt-store-private.h"

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
  g_autoptr(JsonNode) root = NULL;
  JsonArray *array = nb_mgmt_json_array_parse (json, &root);

  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
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

static gboolean
fill_ns_groups (NbMgmtStore           *store,
                NbMgmtNameserverGroup *group,
                GError               **error)
{
  return nb_mgmt_store_fill_group_refs (store, group->id, "ns.groups", &group->groups, error);
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
  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  return nb_mgmt_store_get_one (store,
                                "SELECT " NS_COLUMNS " FROM nameserver_groups WHERE id = ?1 AND account_id = ?2",
                                account_id, group_id, "Nameserver group", (NbMgmtRowFunc) ns_from_row,
                                (NbMgmtFillFunc) fill_ns_groups, (GDestroyNotify) nb_mgmt_nameserver_group_free,
                                error);
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
  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  return nb_mgmt_store_list_account (store,
                                     "SELECT " NS_COLUMNS " FROM nameserver_groups WHERE account_id = ?1 "
                                     "ORDER BY rowid",
                                     account_id, (NbMgmtRowFunc) ns_from_row, (NbMgmtFillFunc) fill_ns_groups,
                                     (GDestroyNotify) nb_mgmt_nameserver_group_free, error);
}

static gboolean
validate_ns_group (const NbMgmtNameserverGroup *group,
                   GError                     **error)
{
  gboolean has_domains = group->domains != NULL && group->domains[0] != NULL;

  if (!nb_mgmt_check_name (group->name, "name of the nameserver group", 40, error) ||
      !nb_mgmt_check_text (group->description, "description", 1024, error))
    return FALSE;
  if (group->nameservers == NULL || group->nameservers->len < 1 || group->nameservers->len > 3)
    return nb_mgmt_fail_invalid (error, "nameservers: between 1 and 3 nameservers are required");
  for (guint i = 0; i < group->nameservers->len; i++)
    {
      const NbMgmtNameserver *ns = group->nameservers->pdata[i];
      guint32 ip;

      if (!nb_mgmt_ip_parse (ns->ip, &ip))
        return nb_mgmt_fail_invalid (error, "nameservers[%u].ip \"%s\" is not an IPv4 address", i,
                             ns->ip != NULL ? ns->ip : "");
      if (ns->port < 1 || ns->port > 65535)
        return nb_mgmt_fail_invalid (error, "nameservers[%u].port must be 1..65535", i);
      if (ns->ns_type != NULL && g_ascii_strcasecmp (ns->ns_type, "udp") != 0)
        return nb_mgmt_fail_invalid (error, "nameservers[%u].ns_type must be \"udp\"", i);
    }
  if (group->groups == NULL || group->groups[0] == NULL)
    return nb_mgmt_fail_invalid (error, "groups: a nameserver group must be distributed to at least one group");
  if (group->primary == has_domains)
    return nb_mgmt_fail_invalid (error, group->primary
                         ? "A primary nameserver group cannot have domains"
                         : "A nameserver group that is not primary needs at least one domain");
  for (guint i = 0; has_domains && group->domains[i] != NULL; i++)
    if (!nb_mgmt_dns_domain_is_valid (group->domains[i]))
      return nb_mgmt_fail_invalid (error, "domains: \"%s\" is not a valid domain", group->domains[i]);
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
  g_auto(NbMgmtTransaction) tx = NB_MGMT_TRANSACTION_INIT;
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

  if (!nb_mgmt_transaction_begin (&tx, store, error))
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
    return NULL;
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
      !nb_mgmt_transaction_commit (&tx, error))
    return NULL;
  return nb_mgmt_store_get_nameserver_group (store, account_id, id, error);
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
  return nb_mgmt_store_delete_object (store, account_id, actor_id,
                                      "DELETE FROM nameserver_groups WHERE id = ?1", group_id,
                                      "nameserver group", "nameserver.group.delete", old->name,
                                      NB_MGMT_CHANGE_NAMESERVER_GROUP, TRUE, error);
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

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);

  if (!nb_mgmt_store_account_exists (store, account_id, error) ||
      !nb_mgmt_store_fill_group_refs (store, account_id, "dns.disabled",
                                      &settings->disabled_management_groups, error))
    return NULL;
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
  g_auto(NbMgmtTransaction) tx = NB_MGMT_TRANSACTION_INIT;
  g_autoptr(NbMgmtDnsSettings) old = NULL;

  g_return_val_if_fail (NB_IS_MGMT_STORE (store), NULL);
  g_return_val_if_fail (settings != NULL, NULL);

  if (nb_mgmt_strv_has_duplicates (settings->disabled_management_groups))
    {
      nb_mgmt_fail_invalid (error, "disabled_management_groups lists a group twice");
      return NULL;
    }
  old = nb_mgmt_store_get_dns_settings (store, account_id, error);
  if (old == NULL)
    return NULL;
  if (!nb_mgmt_transaction_begin (&tx, store, error))
    return NULL;
  if (!nb_mgmt_store_write_group_refs (store, account_id, account_id, "dns.disabled",
                                       settings->disabled_management_groups, TRUE,
                                       "disabled_management_groups", error))
    return NULL;
  /* One event per group added or removed, as NetBird. */
  for (guint i = 0; settings->disabled_management_groups != NULL &&
                    settings->disabled_management_groups[i] != NULL; i++)
    if ((old->disabled_management_groups == NULL ||
         !g_strv_contains ((const char * const *) old->disabled_management_groups,
                           settings->disabled_management_groups[i])) &&
        !nb_mgmt_store_add_event (store, account_id, actor_id, "dns.setting.disabled.management.group.add",
                                  settings->disabled_management_groups[i], error, NULL))
      return NULL;
  for (guint i = 0; old->disabled_management_groups != NULL && old->disabled_management_groups[i] != NULL; i++)
    if ((settings->disabled_management_groups == NULL ||
         !g_strv_contains ((const char * const *) settings->disabled_management_groups,
                           old->disabled_management_groups[i])) &&
        !nb_mgmt_store_add_event (store, account_id, actor_id, "dns.setting.disabled.management.group.delete",
                                  old->disabled_management_groups[i], error, NULL))
      return NULL;
  if (!nb_mgmt_store_note_change (store, account_id, NB_MGMT_CHANGE_DNS_SETTINGS, account_id, NULL, TRUE,
                                  error) ||
      !nb_mgmt_transaction_commit (&tx, error))
    return NULL;
  return nb_mgmt_store_get_dns_settings (store, account_id, error);
}
