/* nb-mgmt-records.c: the records Management keeps, their string forms
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-mgmt-store"

#include <string.h>

#include "nb-mgmt-records.h"
#include "nb-mgmt-netmap.h"

/* NetBird's REST API spells these in lower case; keep them in one table each
 * so that to_string and from_string cannot disagree. */
static const char *const role_names[] = { "user", "admin", "owner" };
static const char *const key_type_names[] = { "one-off", "reusable" };
static const char *const key_state_names[] = { "valid", "expired", "revoked", "overused" };
static const char *const action_names[] = { "accept", "drop" };
static const char *const protocol_names[] = { "all", "tcp", "udp", "icmp" };
static const char *const direction_names[] = { "in", "out" };

static gboolean
name_lookup (const char *const *names,
             guint              n_names,
             const char        *text,
             int               *out)
{
  if (text == NULL)
    return FALSE;
  for (guint i = 0; i < n_names; i++)
    if (g_ascii_strcasecmp (names[i], text) == 0)
      {
        *out = (int) i;
        return TRUE;
      }
  return FALSE;
}

#define NAME_OF(table, value) \
  (((guint) (value) < G_N_ELEMENTS (table)) ? table[(guint) (value)] : "unknown")

/**
 * nb_mgmt_role_to_string:
 * @role: a role
 *
 * Returns: "user", "admin" or "owner"
 */
const char *
nb_mgmt_role_to_string (NbMgmtRole role)
{
  return NAME_OF (role_names, role);
}

/**
 * nb_mgmt_role_from_string:
 * @text: (nullable): "user", "admin" or "owner", in any case
 * @role: (out): the role
 *
 * Returns: %FALSE if @text names no role
 */
gboolean
nb_mgmt_role_from_string (const char *text,
                          NbMgmtRole *role)
{
  int v;

  if (!name_lookup (role_names, G_N_ELEMENTS (role_names), text, &v))
    return FALSE;
  *role = (NbMgmtRole) v;
  return TRUE;
}

/**
 * nb_mgmt_setup_key_type_to_string:
 * @type: a setup key type
 *
 * Returns: "one-off" or "reusable"
 */
const char *
nb_mgmt_setup_key_type_to_string (NbMgmtSetupKeyType type)
{
  return NAME_OF (key_type_names, type);
}

/**
 * nb_mgmt_setup_key_type_from_string:
 * @text: (nullable): "one-off" or "reusable"
 * @type: (out): the type
 *
 * Returns: %FALSE if @text names no type
 */
gboolean
nb_mgmt_setup_key_type_from_string (const char         *text,
                                    NbMgmtSetupKeyType *type)
{
  int v;

  if (!name_lookup (key_type_names, G_N_ELEMENTS (key_type_names), text, &v))
    return FALSE;
  *type = (NbMgmtSetupKeyType) v;
  return TRUE;
}

/**
 * nb_mgmt_setup_key_state_to_string:
 * @state: a setup key state
 *
 * Returns: "valid", "expired", "revoked" or "overused"
 */
const char *
nb_mgmt_setup_key_state_to_string (NbMgmtSetupKeyState state)
{
  return NAME_OF (key_state_names, state);
}

/**
 * nb_mgmt_rule_action_to_string:
 * @action: a rule action
 *
 * Returns: "accept" or "drop"
 */
const char *
nb_mgmt_rule_action_to_string (NbMgmtRuleAction action)
{
  return NAME_OF (action_names, action);
}

/**
 * nb_mgmt_rule_action_from_string:
 * @text: (nullable): "accept" or "drop"
 * @action: (out): the action
 *
 * Returns: %FALSE if @text names no action
 */
gboolean
nb_mgmt_rule_action_from_string (const char       *text,
                                 NbMgmtRuleAction *action)
{
  int v;

  if (!name_lookup (action_names, G_N_ELEMENTS (action_names), text, &v))
    return FALSE;
  *action = (NbMgmtRuleAction) v;
  return TRUE;
}

/**
 * nb_mgmt_protocol_to_string:
 * @protocol: a protocol
 *
 * Returns: "all", "tcp", "udp" or "icmp"
 */
const char *
nb_mgmt_protocol_to_string (NbMgmtProtocol protocol)
{
  return NAME_OF (protocol_names, protocol);
}

/**
 * nb_mgmt_protocol_from_string:
 * @text: (nullable): "all", "tcp", "udp" or "icmp"
 * @protocol: (out): the protocol
 *
 * Returns: %FALSE if @text names no protocol
 */
gboolean
nb_mgmt_protocol_from_string (const char     *text,
                              NbMgmtProtocol *protocol)
{
  int v;

  if (!name_lookup (protocol_names, G_N_ELEMENTS (protocol_names), text, &v))
    return FALSE;
  *protocol = (NbMgmtProtocol) v;
  return TRUE;
}

/**
 * nb_mgmt_direction_to_string:
 * @direction: a direction
 *
 * Returns: "in" or "out"
 */
const char *
nb_mgmt_direction_to_string (NbMgmtDirection direction)
{
  return NAME_OF (direction_names, direction);
}

/**
 * nb_mgmt_account_free:
 * @account: (nullable) (transfer full): an account
 */
void
nb_mgmt_account_free (NbMgmtAccount *account)
{
  if (account == NULL)
    return;
  g_free (account->id);
  g_free (account->domain);
  g_free (account->domain_category);
  g_free (account->created_by);
  g_free (account->network_cidr);
  g_free (account->settings.jwt_groups_claim_name);
  g_free (account->settings.dns_domain);
  g_free (account);
}

/**
 * nb_mgmt_user_free:
 * @user: (nullable) (transfer full): a user
 */
void
nb_mgmt_user_free (NbMgmtUser *user)
{
  if (user == NULL)
    return;
  g_free (user->id);
  g_free (user->account_id);
  g_free (user->name);
  g_free (user->email);
  g_strfreev (user->auto_groups);
  g_free (user->issued);
  g_free (user);
}

/**
 * nb_mgmt_pat_free:
 * @pat: (nullable) (transfer full): a personal access token record
 */
void
nb_mgmt_pat_free (NbMgmtPat *pat)
{
  if (pat == NULL)
    return;
  g_free (pat->id);
  g_free (pat->user_id);
  g_free (pat->name);
  g_free (pat->created_by);
  g_free (pat);
}

/**
 * nb_mgmt_peer_meta_clear:
 * @meta: a peer meta whose strings to free (the struct itself is not)
 */
void
nb_mgmt_peer_meta_clear (NbMgmtPeerMeta *meta)
{
  g_clear_pointer (&meta->hostname, g_free);
  g_clear_pointer (&meta->goos, g_free);
  g_clear_pointer (&meta->kernel, g_free);
  g_clear_pointer (&meta->kernel_version, g_free);
  g_clear_pointer (&meta->core, g_free);
  g_clear_pointer (&meta->platform, g_free);
  g_clear_pointer (&meta->os, g_free);
  g_clear_pointer (&meta->os_version, g_free);
  g_clear_pointer (&meta->netbird_version, g_free);
  g_clear_pointer (&meta->ui_version, g_free);
}

/**
 * nb_mgmt_peer_meta_copy:
 * @src: a peer meta
 * @dest: (out caller-allocates): where to copy it (its old strings are not
 *   freed)
 */
void
nb_mgmt_peer_meta_copy (const NbMgmtPeerMeta *src,
                        NbMgmtPeerMeta       *dest)
{
  dest->hostname = g_strdup (src->hostname);
  dest->goos = g_strdup (src->goos);
  dest->kernel = g_strdup (src->kernel);
  dest->kernel_version = g_strdup (src->kernel_version);
  dest->core = g_strdup (src->core);
  dest->platform = g_strdup (src->platform);
  dest->os = g_strdup (src->os);
  dest->os_version = g_strdup (src->os_version);
  dest->netbird_version = g_strdup (src->netbird_version);
  dest->ui_version = g_strdup (src->ui_version);
}

/**
 * nb_mgmt_peer_free:
 * @peer: (nullable) (transfer full): a peer
 */
void
nb_mgmt_peer_free (NbMgmtPeer *peer)
{
  if (peer == NULL)
    return;
  g_free (peer->id);
  g_free (peer->account_id);
  g_free (peer->key);
  g_free (peer->name);
  g_free (peer->dns_label);
  g_free (peer->ip);
  nb_mgmt_peer_meta_clear (&peer->meta);
  g_free (peer->user_id);
  g_free (peer->setup_key_id);
  g_free (peer->ssh_key);
  g_strfreev (peer->groups);
  g_free (peer);
}

/**
 * nb_mgmt_peer_login_expired:
 * @peer: a peer
 * @settings: its account's settings
 * @now: the current time, Unix seconds
 *
 * Only peers added by a user expire (setup-key peers never do), and only
 * when both the account and the peer have expiration enabled; a peer the
 * expiry job marked stays expired until its user logs it in again.
 *
 * Returns: %TRUE if the peer must log in again
 */
gboolean
nb_mgmt_peer_login_expired (const NbMgmtPeer            *peer,
                            const NbMgmtAccountSettings *settings,
                            gint64                       now)
{
  if (peer->login_expired)
    return TRUE;
  if (peer->user_id == NULL || !peer->login_expiration_enabled ||
      !settings->peer_login_expiration_enabled)
    return FALSE;
  return peer->last_login + settings->peer_login_expiration <= now;
}

/**
 * nb_mgmt_setup_key_free:
 * @key: (nullable) (transfer full): a setup key
 */
void
nb_mgmt_setup_key_free (NbMgmtSetupKey *key)
{
  if (key == NULL)
    return;
  g_free (key->id);
  g_free (key->account_id);
  g_free (key->name);
  g_free (key->masked_key);
  g_strfreev (key->auto_groups);
  g_free (key);
}

/**
 * nb_mgmt_setup_key_get_state:
 * @key: a setup key
 * @now: the current time, Unix seconds
 *
 * Revoked wins over expired, expired over overused, as NetBird reports it.
 *
 * Returns: the key's state at @now
 */
NbMgmtSetupKeyState
nb_mgmt_setup_key_get_state (const NbMgmtSetupKey *key,
                             gint64                now)
{
  if (key->revoked)
    return NB_MGMT_SETUP_KEY_STATE_REVOKED;
  if (key->expires_at != 0 && key->expires_at <= now)
    return NB_MGMT_SETUP_KEY_STATE_EXPIRED;
  if (key->type == NB_MGMT_SETUP_KEY_ONE_OFF && key->used_times >= 1)
    return NB_MGMT_SETUP_KEY_STATE_OVERUSED;
  if (key->usage_limit > 0 && key->used_times >= key->usage_limit)
    return NB_MGMT_SETUP_KEY_STATE_OVERUSED;
  return NB_MGMT_SETUP_KEY_STATE_VALID;
}

/**
 * nb_mgmt_group_free:
 * @group: (nullable) (transfer full): a group
 */
void
nb_mgmt_group_free (NbMgmtGroup *group)
{
  if (group == NULL)
    return;
  g_free (group->id);
  g_free (group->account_id);
  g_free (group->name);
  g_free (group->issued);
  g_strfreev (group->peers);
  g_free (group);
}

/**
 * nb_mgmt_policy_rule_new:
 *
 * Returns: (transfer full): an enabled accept rule for all protocols, with
 *   no name and no groups
 */
NbMgmtPolicyRule *
nb_mgmt_policy_rule_new (void)
{
  NbMgmtPolicyRule *rule = g_new0 (NbMgmtPolicyRule, 1);

  rule->enabled = TRUE;
  rule->action = NB_MGMT_RULE_ACTION_ACCEPT;
  rule->protocol = NB_MGMT_PROTOCOL_ALL;
  return rule;
}

/**
 * nb_mgmt_policy_rule_free:
 * @rule: (nullable) (transfer full): a policy rule
 */
void
nb_mgmt_policy_rule_free (NbMgmtPolicyRule *rule)
{
  if (rule == NULL)
    return;
  g_free (rule->id);
  g_free (rule->name);
  g_free (rule->description);
  g_clear_pointer (&rule->ports, g_array_unref);
  g_clear_pointer (&rule->port_ranges, g_array_unref);
  g_strfreev (rule->sources);
  g_strfreev (rule->destinations);
  g_free (rule);
}

/**
 * nb_mgmt_policy_new:
 *
 * Returns: (transfer full): an enabled policy with an empty rule array
 */
NbMgmtPolicy *
nb_mgmt_policy_new (void)
{
  NbMgmtPolicy *policy = g_new0 (NbMgmtPolicy, 1);

  policy->enabled = TRUE;
  policy->rules = g_ptr_array_new_with_free_func ((GDestroyNotify) nb_mgmt_policy_rule_free);
  return policy;
}

/**
 * nb_mgmt_policy_free:
 * @policy: (nullable) (transfer full): a policy
 */
void
nb_mgmt_policy_free (NbMgmtPolicy *policy)
{
  if (policy == NULL)
    return;
  g_free (policy->id);
  g_free (policy->account_id);
  g_free (policy->name);
  g_free (policy->description);
  g_clear_pointer (&policy->rules, g_ptr_array_unref);
  g_free (policy);
}

/**
 * nb_mgmt_route_free:
 * @route: (nullable) (transfer full): a route
 */
void
nb_mgmt_route_free (NbMgmtRoute *route)
{
  if (route == NULL)
    return;
  g_free (route->id);
  g_free (route->account_id);
  g_free (route->network_id);
  g_free (route->description);
  g_free (route->peer);
  g_strfreev (route->peer_groups);
  g_free (route->network);
  g_strfreev (route->domains);
  g_strfreev (route->groups);
  g_strfreev (route->access_control_groups);
  g_free (route);
}

/**
 * nb_mgmt_nameserver_new:
 * @ip: the server's address
 * @ns_type: (nullable): "udp" when %NULL
 * @port: its port
 *
 * Returns: (transfer full): a nameserver
 */
NbMgmtNameserver *
nb_mgmt_nameserver_new (const char *ip,
                        const char *ns_type,
                        gint        port)
{
  NbMgmtNameserver *ns = g_new0 (NbMgmtNameserver, 1);

  ns->ip = g_strdup (ip);
  ns->ns_type = g_strdup (ns_type != NULL ? ns_type : "udp");
  ns->port = port;
  return ns;
}

/**
 * nb_mgmt_nameserver_free:
 * @ns: (nullable) (transfer full): a nameserver
 */
void
nb_mgmt_nameserver_free (NbMgmtNameserver *ns)
{
  if (ns == NULL)
    return;
  g_free (ns->ip);
  g_free (ns->ns_type);
  g_free (ns);
}

/**
 * nb_mgmt_nameserver_group_new:
 *
 * Returns: (transfer full): an enabled nameserver group with an empty
 *   nameserver array
 */
NbMgmtNameserverGroup *
nb_mgmt_nameserver_group_new (void)
{
  NbMgmtNameserverGroup *group = g_new0 (NbMgmtNameserverGroup, 1);

  group->enabled = TRUE;
  group->nameservers = g_ptr_array_new_with_free_func ((GDestroyNotify) nb_mgmt_nameserver_free);
  return group;
}

/**
 * nb_mgmt_nameserver_group_free:
 * @group: (nullable) (transfer full): a nameserver group
 */
void
nb_mgmt_nameserver_group_free (NbMgmtNameserverGroup *group)
{
  if (group == NULL)
    return;
  g_free (group->id);
  g_free (group->account_id);
  g_free (group->name);
  g_free (group->description);
  g_clear_pointer (&group->nameservers, g_ptr_array_unref);
  g_strfreev (group->groups);
  g_strfreev (group->domains);
  g_free (group);
}

/**
 * nb_mgmt_dns_settings_free:
 * @settings: (nullable) (transfer full): DNS settings
 */
void
nb_mgmt_dns_settings_free (NbMgmtDnsSettings *settings)
{
  if (settings == NULL)
    return;
  g_strfreev (settings->disabled_management_groups);
  g_free (settings);
}

/**
 * nb_mgmt_event_free:
 * @event: (nullable) (transfer full): an activity event
 */
void
nb_mgmt_event_free (NbMgmtEvent *event)
{
  if (event == NULL)
    return;
  g_free (event->activity_code);
  g_free (event->initiator_id);
  g_free (event->initiator_name);
  g_free (event->initiator_email);
  g_free (event->target_id);
  g_clear_pointer (&event->meta, g_hash_table_unref);
  g_free (event);
}

/* NetBird's activity codes and the sentences its API shows for them (codes
 * and sentences as NetBird's, so that audit filters carry over; a few of
 * our own for what NetBird does not log). */
static const struct {
  const char *code;
  const char *text;
} activities[] = {
  { "user.peer.add", "Peer added" },
  { "setupkey.peer.add", "Peer added" },
  { "user.join", "User joined" },
  { "user.invite", "User invited" },
  { "account.create", "Account created" },
  { "user.peer.delete", "Peer deleted" },
  { "policy.add", "Policy added" },
  { "policy.update", "Policy updated" },
  { "policy.delete", "Policy deleted" },
  { "setupkey.add", "Setup key created" },
  { "setupkey.update", "Setup key updated" },
  { "setupkey.revoke", "Setup key revoked" },
  { "setupkey.overuse", "Setup key overused" },
  { "setupkey.delete", "Setup key deleted" },
  { "group.add", "Group created" },
  { "group.update", "Group updated" },
  { "group.delete", "Group deleted" },
  { "peer.group.add", "Group added to peer" },
  { "peer.group.delete", "Group removed from peer" },
  { "user.group.add", "Group added to user" },
  { "user.group.delete", "Group removed from user" },
  { "user.role.update", "User role updated" },
  { "setupkey.group.add", "Group added to setup key" },
  { "setupkey.group.delete", "Group removed from user setup key" },
  { "dns.setting.disabled.management.group.add", "Group added to disabled management DNS setting" },
  { "dns.setting.disabled.management.group.delete", "Group removed from disabled management DNS setting" },
  { "route.add", "Route created" },
  { "route.update", "Route updated" },
  { "route.delete", "Route deleted" },
  { "peer.ssh.enable", "Peer SSH server enabled" },
  { "peer.ssh.disable", "Peer SSH server disabled" },
  { "peer.rename", "Peer renamed" },
  { "peer.login.expiration.enable", "Peer login expiration enabled" },
  { "peer.login.expiration.disable", "Peer login expiration disabled" },
  { "nameserver.group.add", "Nameserver group created" },
  { "nameserver.group.update", "Nameserver group updated" },
  { "nameserver.group.delete", "Nameserver group deleted" },
  { "account.setting.peer.login.expiration.update", "Account peer login expiration duration updated" },
  { "account.setting.peer.login.expiration.enable", "Account peer login expiration enabled" },
  { "account.setting.peer.login.expiration.disable", "Account peer login expiration disabled" },
  { "account.setting.update", "Account settings updated" },
  { "account.delete", "Account deleted" },
  { "personal.access.token.create", "Personal access token created" },
  { "personal.access.token.delete", "Personal access token deleted" },
  { "service.user.create", "Service user created" },
  { "service.user.delete", "Service user deleted" },
  { "user.block", "User blocked" },
  { "user.unblock", "User unblocked" },
  { "user.delete", "User deleted" },
  { "user.update", "User updated" },
  { "user.email.clear", "User's e-mail cleared (a case variant of an older user's)" },
  { "user.peer.login", "User logged in peer" },
  { "peer.meta.update", "Peer system information updated" },
  { "peer.login.expire", "Peer login expired" },
  { "ephemeral.peer.delete", "Ephemeral peer deleted" },
};

/**
 * nb_mgmt_activity_describe:
 * @activity_code: an activity code ("peer.add")
 *
 * Returns: the sentence NetBird's API shows for it ("Peer added with setup
 *   key"), or @activity_code itself when it is not known
 */
const char *
nb_mgmt_activity_describe (const char *activity_code)
{
  for (guint i = 0; i < G_N_ELEMENTS (activities); i++)
    if (g_strcmp0 (activities[i].code, activity_code) == 0)
      return activities[i].text;
  return activity_code;
}
