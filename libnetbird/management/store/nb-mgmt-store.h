/* nb-mgmt-store.h: Management's store on SQLite and its account logic
 *
 * Library-internal API of the management layer (not exported, not in the
 * GIR). This is the contract between the store (store/), the REST API
 * (rest/) and the server (server/).
 *
 * Threading: an #NbMgmtStore is used from one thread (the one whose main
 * context runs the server). Every call is synchronous and short (SQLite in
 * WAL mode, prepared statements) except the _async one, whose worker reads
 * only an immutable snapshot of the account; every mutating call
 * is one transaction: it either commits whole, with its activity event, or
 * changes nothing.
 *
 * Scoping: every call about an account's objects takes the account ID, and
 * an object of another account is NOT_FOUND, exactly as a missing one.
 *
 * Actors: every mutating call takes @actor_id, the user (or peer) on whose
 * behalf it acts; it is recorded as the initiator of the activity event
 * written in the same transaction. %NULL means the system. The store checks
 * invariants (the owner cannot be deleted...) but not roles: the REST layer
 * asks nb_mgmt_store_check_permission() first.
 *
 * Changes: after each committed change the store emits #NbMgmtStore::changed
 * synchronously on the calling thread, with an #NbMgmtChange. The server
 * gathers the changes of an account for a few milliseconds, then brings the
 * maps of its connected peers up to date with
 * nb_mgmt_store_collect_network_map_updates_async(), the one way to do it:
 * the snapshot load (SQLite) and the choice of candidates stay on the
 * calling thread, the maps are computed on a worker thread, and each map
 * that changed comes back to the calling thread's main context, borrowed,
 * a few at a time. Only the peers a change may concern are recomputed, and
 * only those that were given a map.
 *
 * Durability: every change is fsync'd at commit (WAL, synchronous=FULL),
 * except runtime state (connected, last seen, token last use), which a
 * killed process still keeps but a power cut may lose.
 *
 * Periodic jobs for the server: nb_mgmt_store_delete_idle_ephemeral_peers()
 * and nb_mgmt_store_expire_peer_logins().
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#if !defined(NB_COMPILATION)
#error "The management store is library-internal: build with NB_COMPILATION."
#endif

#include <gio/gio.h>
#include "nb-mgmt-records.h"
#include "nb-mgmt-netmap.h"

G_BEGIN_DECLS

/**
 * NB_MGMT_ERROR:
 *
 * The error domain of the management store and account logic.
 */
#define NB_MGMT_ERROR (nb_mgmt_error_quark ())

/**
 * NbMgmtError:
 * @NB_MGMT_ERROR_NOT_FOUND: no such object in this account (HTTP 404)
 * @NB_MGMT_ERROR_ALREADY_EXISTS: a unique name, key or address is taken
 *   (HTTP 409)
 * @NB_MGMT_ERROR_INVALID_ARGUMENT: a field is missing, malformed or out of
 *   range; the message names it (HTTP 422, as NetBird; 400 for unparsable
 *   requests is the REST layer's)
 * @NB_MGMT_ERROR_PERMISSION_DENIED: the actor may not do this, or the object
 *   is protected (the "All" group, the owner) (HTTP 403)
 * @NB_MGMT_ERROR_UNAUTHENTICATED: the token or key is unknown, expired or
 *   malformed, or its user is blocked (HTTP 401)
 * @NB_MGMT_ERROR_PRECONDITION_FAILED: the object exists but cannot be used
 *   now: setup key expired, revoked or used up; peer login expired (HTTP 412;
 *   the client protocol reports it as a login failure)
 * @NB_MGMT_ERROR_EXHAUSTED: the account network has no free address left
 *   (HTTP 507)
 * @NB_MGMT_ERROR_INTERNAL: the database failed (I/O, corruption, busy for
 *   too long) (HTTP 500)
 *
 * Errors of the management store.
 */
typedef enum {
  NB_MGMT_ERROR_NOT_FOUND,
  NB_MGMT_ERROR_ALREADY_EXISTS,
  NB_MGMT_ERROR_INVALID_ARGUMENT,
  NB_MGMT_ERROR_PERMISSION_DENIED,
  NB_MGMT_ERROR_UNAUTHENTICATED,
  NB_MGMT_ERROR_PRECONDITION_FAILED,
  NB_MGMT_ERROR_EXHAUSTED,
  NB_MGMT_ERROR_INTERNAL,
} NbMgmtError;

GQuark nb_mgmt_error_quark         (void);
guint  nb_mgmt_error_to_http_status (const GError *error);

/**
 * NB_MGMT_STORE_SCHEMA_VERSION:
 *
 * The schema version this code writes; older files are migrated on open,
 * newer ones are refused.
 */
#define NB_MGMT_STORE_SCHEMA_VERSION 4

/**
 * NbMgmtChangeKind:
 * @NB_MGMT_CHANGE_ACCOUNT: account created or its settings changed
 * @NB_MGMT_CHANGE_ACCOUNT_DELETED: account deleted (all its peers are gone)
 * @NB_MGMT_CHANGE_USER: a user was added, changed or deleted (blocking a
 *   user affects its peers)
 * @NB_MGMT_CHANGE_PAT: a personal access token was added or deleted
 * @NB_MGMT_CHANGE_SETUP_KEY: a setup key was added, changed or revoked
 * @NB_MGMT_CHANGE_PEER_ADDED: a peer registered
 * @NB_MGMT_CHANGE_PEER_UPDATED: a peer was renamed, its meta or settings
 *   changed, or it logged in again
 * @NB_MGMT_CHANGE_PEER_DELETED: a peer was deleted (its sync channel should
 *   be closed: @object_id and @peer_key say which)
 * @NB_MGMT_CHANGE_PEER_STATUS: a peer connected or disconnected (does not
 *   change network maps; the serial does not bump)
 * @NB_MGMT_CHANGE_GROUP: a group was added, changed or deleted
 * @NB_MGMT_CHANGE_POLICY: a policy was added, changed or deleted
 * @NB_MGMT_CHANGE_ROUTE: a route was added, changed or deleted
 * @NB_MGMT_CHANGE_NAMESERVER_GROUP: a nameserver group was added, changed or
 *   deleted
 * @NB_MGMT_CHANGE_DNS_SETTINGS: the DNS settings changed
 *
 * What kind of object a change touched.
 */
typedef enum {
  NB_MGMT_CHANGE_ACCOUNT,
  NB_MGMT_CHANGE_ACCOUNT_DELETED,
  NB_MGMT_CHANGE_USER,
  NB_MGMT_CHANGE_PAT,
  NB_MGMT_CHANGE_SETUP_KEY,
  NB_MGMT_CHANGE_PEER_ADDED,
  NB_MGMT_CHANGE_PEER_UPDATED,
  NB_MGMT_CHANGE_PEER_DELETED,
  NB_MGMT_CHANGE_PEER_STATUS,
  NB_MGMT_CHANGE_GROUP,
  NB_MGMT_CHANGE_POLICY,
  NB_MGMT_CHANGE_ROUTE,
  NB_MGMT_CHANGE_NAMESERVER_GROUP,
  NB_MGMT_CHANGE_DNS_SETTINGS,
} NbMgmtChangeKind;

/**
 * NbMgmtChange:
 * @account_id: the account that changed
 * @kind: what kind of object changed
 * @object_id: (nullable): the object's ID
 * @peer_key: (nullable): for peer changes, the peer's WireGuard public key
 * @serial: the account's network serial after the change
 * @network_changed: %TRUE when the change may alter network maps (then
 *   the serial was bumped); %FALSE for users' tokens, setup keys, status
 *
 * What #NbMgmtStore::changed reports. Valid only during the emission.
 */
typedef struct {
  const char *account_id;
  NbMgmtChangeKind kind;
  const char *object_id;
  const char *peer_key;
  guint64 serial;
  gboolean network_changed;
} NbMgmtChange;

/**
 * NbMgmtPermission:
 * @NB_MGMT_PERMISSION_READ_OWN: read own user, own peers and own tokens
 * @NB_MGMT_PERMISSION_READ: read every object of the account
 * @NB_MGMT_PERMISSION_ADMIN: create, change and delete objects of the
 *   account (admins and owners)
 * @NB_MGMT_PERMISSION_OWNER: owner-only operations (account deletion)
 *
 * What nb_mgmt_store_check_permission() checks.
 */
typedef enum {
  NB_MGMT_PERMISSION_READ_OWN,
  NB_MGMT_PERMISSION_READ,
  NB_MGMT_PERMISSION_ADMIN,
  NB_MGMT_PERMISSION_OWNER,
} NbMgmtPermission;

#define NB_TYPE_MGMT_STORE (nb_mgmt_store_get_type ())
G_DECLARE_FINAL_TYPE (NbMgmtStore, nb_mgmt_store, NB, MGMT_STORE, GObject)

/* ---- Opening --------------------------------------------------------------
 *
 * nb_mgmt_store_open() opens (creating if needed) the SQLite file at @path
 * (":memory:" for a throw-away store), sets WAL, foreign keys and a busy
 * timeout, and creates or migrates the schema. Fails with INTERNAL for a file
 * that is not a database or has a newer schema.
 */
NbMgmtStore *nb_mgmt_store_open                 (const char   *path,
                                                 GError      **error);
const char  *nb_mgmt_store_get_path             (NbMgmtStore  *store);
int          nb_mgmt_store_get_schema_version   (NbMgmtStore  *store);

/* Clock for expiry checks and timestamps: real time (g_get_real_time) unless
 * tests set @now (Unix seconds); 0 returns to real time. */
void         nb_mgmt_store_set_time_override    (NbMgmtStore  *store,
                                                 gint64        now);
gint64       nb_mgmt_store_now                  (NbMgmtStore  *store);

/* ---- Accounts -------------------------------------------------------------
 *
 * nb_mgmt_store_create_account() creates an account with a random /16
 * network inside 100.64.0.0/10, its owner user (role owner, @owner_name and
 * @owner_email may be %NULL), the built-in "All" group and a "Default"
 * policy (All <-> All, accept, all protocols). Returns the account; the
 * owner in @out_owner when not %NULL.
 */
NbMgmtAccount *nb_mgmt_store_create_account     (NbMgmtStore   *store,
                                                 const char    *owner_name,
                                                 const char    *owner_email,
                                                 const char    *domain,
                                                 NbMgmtUser   **out_owner,
                                                 GError       **error);
NbMgmtAccount *nb_mgmt_store_get_account        (NbMgmtStore   *store,
                                                 const char    *account_id,
                                                 GError       **error);
/* (element-type NbMgmtAccount) (transfer full) */
GPtrArray     *nb_mgmt_store_list_accounts      (NbMgmtStore   *store,
                                                 GError       **error);
/* Replaces the account's settings with @settings (validated: expiration
 * >= 3600 s, DNS domain a valid name or empty). Returns the new account. */
NbMgmtAccount *nb_mgmt_store_update_account_settings (NbMgmtStore                 *store,
                                                      const char                  *account_id,
                                                      const char                  *actor_id,
                                                      const NbMgmtAccountSettings *settings,
                                                      GError                     **error);
/* Deletes the account and everything in it. */
gboolean       nb_mgmt_store_delete_account     (NbMgmtStore   *store,
                                                 const char    *account_id,
                                                 const char    *actor_id,
                                                 GError       **error);
/* The DNS domain peers of the account get FQDNs under: the account's
 * setting, else the store's default (nb_mgmt_store_set_default_dns_domain,
 * initially NB_MGMT_DEFAULT_DNS_DOMAIN). Transfer full. */
char          *nb_mgmt_store_get_dns_domain     (NbMgmtStore   *store,
                                                 const char    *account_id,
                                                 GError       **error);
void           nb_mgmt_store_set_default_dns_domain (NbMgmtStore *store,
                                                     const char  *domain);

/* ---- Users and roles ------------------------------------------------------
 *
 * create_user reads name, email, role, is_service_user, auto_groups and
 * is_blocked from @tmpl (a service user needs no email; others do, unique in
 * the account; role owner is refused: there is one owner). update_user
 * replaces role, auto_groups and is_blocked (and name) of the user @user->id;
 * the owner cannot be blocked or demoted, a user cannot block itself; with
 * the account's groups_propagation_enabled, the user's peers join the
 * groups added to its auto_groups and leave the removed ones.
 * delete_user refuses the owner and @actor_id itself; deleting a user deletes
 * its tokens and its peers.
 */
NbMgmtUser *nb_mgmt_store_create_user            (NbMgmtStore      *store,
                                                  const char       *account_id,
                                                  const char       *actor_id,
                                                  const NbMgmtUser *tmpl,
                                                  GError          **error);
NbMgmtUser *nb_mgmt_store_update_user            (NbMgmtStore      *store,
                                                  const char       *account_id,
                                                  const char       *actor_id,
                                                  const NbMgmtUser *user,
                                                  GError          **error);
gboolean    nb_mgmt_store_delete_user            (NbMgmtStore      *store,
                                                  const char       *account_id,
                                                  const char       *actor_id,
                                                  const char       *user_id,
                                                  GError          **error);
NbMgmtUser *nb_mgmt_store_get_user               (NbMgmtStore      *store,
                                                  const char       *account_id,
                                                  const char       *user_id,
                                                  GError          **error);
/* Looks a user up by ID in any account (to find the account of a JWT's
 * subject). */
NbMgmtUser *nb_mgmt_store_find_user              (NbMgmtStore      *store,
                                                  const char       *user_id,
                                                  GError          **error);
/* (element-type NbMgmtUser); @service_users: -1 all, 0 regular only,
 * 1 service users only (NetBird's ?service_user=) */
GPtrArray  *nb_mgmt_store_list_users             (NbMgmtStore      *store,
                                                  const char       *account_id,
                                                  int               service_users,
                                                  GError          **error);
/* PERMISSION_DENIED (message says what is missing) unless @user_id is an
 * unblocked user of @account_id whose role grants @permission; regular
 * users are also refused READ when the account blocks their view. */
gboolean    nb_mgmt_store_check_permission       (NbMgmtStore      *store,
                                                  const char       *account_id,
                                                  const char       *user_id,
                                                  NbMgmtPermission  permission,
                                                  GError          **error);

/* ---- Personal access tokens -----------------------------------------------
 *
 * create_pat makes a token `nbp_` + 30 random base62 characters + 6-char
 * base62 CRC32 checksum for @user_id, valid @expires_in_days (1..365), and
 * returns it once in @out_token; the store keeps its SHA-256 only.
 * import_pat does the same with a given @token (from configuration), checking
 * its format and checksum. authenticate_pat checks format, checksum, hash,
 * expiry and that the user is not blocked (UNAUTHENTICATED otherwise),
 * records last_used and the user's last_login, and returns the user.
 */
NbMgmtPat  *nb_mgmt_store_create_pat             (NbMgmtStore  *store,
                                                  const char   *account_id,
                                                  const char   *actor_id,
                                                  const char   *user_id,
                                                  const char   *name,
                                                  gint          expires_in_days,
                                                  char        **out_token,
                                                  GError      **error);
NbMgmtPat  *nb_mgmt_store_import_pat             (NbMgmtStore  *store,
                                                  const char   *account_id,
                                                  const char   *user_id,
                                                  const char   *name,
                                                  const char   *token,
                                                  gint          expires_in_days,
                                                  GError      **error);
gboolean    nb_mgmt_store_delete_pat             (NbMgmtStore  *store,
                                                  const char   *account_id,
                                                  const char   *actor_id,
                                                  const char   *user_id,
                                                  const char   *pat_id,
                                                  GError      **error);
NbMgmtPat  *nb_mgmt_store_get_pat                (NbMgmtStore  *store,
                                                  const char   *account_id,
                                                  const char   *user_id,
                                                  const char   *pat_id,
                                                  GError      **error);
/* (element-type NbMgmtPat) */
GPtrArray  *nb_mgmt_store_list_pats              (NbMgmtStore  *store,
                                                  const char   *account_id,
                                                  const char   *user_id,
                                                  GError      **error);
NbMgmtUser *nb_mgmt_store_authenticate_pat       (NbMgmtStore  *store,
                                                  const char   *token,
                                                  GError      **error);
/* TRUE when @token has the PAT format and a valid checksum (no lookup). */
gboolean    nb_mgmt_pat_token_is_well_formed     (const char   *token);

/* ---- Setup keys -----------------------------------------------------------
 *
 * create_setup_key reads name, type, expires_at (0 = never; else in the
 * future), usage_limit (0 = unlimited; forced to 1 for one-off),
 * auto_groups (must exist, not "All") and ephemeral from @tmpl. The key is
 * @plain_key when given (from configuration; 8..128 printable characters),
 * else a random UUID in upper case (as NetBird); it is returned once in
 * @out_key, and only its hash is stored. update_setup_key changes revoked,
 * auto_groups (and name) of @key->id; a revoked key cannot be un-revoked.
 */
NbMgmtSetupKey *nb_mgmt_store_create_setup_key   (NbMgmtStore          *store,
                                                  const char           *account_id,
                                                  const char           *actor_id,
                                                  const NbMgmtSetupKey *tmpl,
                                                  const char           *plain_key,
                                                  char                **out_key,
                                                  GError              **error);
NbMgmtSetupKey *nb_mgmt_store_update_setup_key   (NbMgmtStore          *store,
                                                  const char           *account_id,
                                                  const char           *actor_id,
                                                  const NbMgmtSetupKey *key,
                                                  GError              **error);
gboolean        nb_mgmt_store_delete_setup_key   (NbMgmtStore          *store,
                                                  const char           *account_id,
                                                  const char           *actor_id,
                                                  const char           *key_id,
                                                  GError              **error);
NbMgmtSetupKey *nb_mgmt_store_get_setup_key      (NbMgmtStore          *store,
                                                  const char           *account_id,
                                                  const char           *key_id,
                                                  GError              **error);
/* (element-type NbMgmtSetupKey) */
GPtrArray      *nb_mgmt_store_list_setup_keys    (NbMgmtStore          *store,
                                                  const char           *account_id,
                                                  GError              **error);

/* ---- Peers and login ------------------------------------------------------
 *
 * register_peer adds the peer with WireGuard public key @peer_key (base64)
 * using @setup_key: in one transaction it checks the key (UNAUTHENTICATED if
 * unknown; PRECONDITION_FAILED if expired, revoked, one-off used or at its
 * usage limit), counts the use, allocates the next free address of the
 * account network, derives the name and a DNS label unique in the account
 * from @meta->hostname (`host`, `host-1`...), adds the peer to "All" and to
 * the key's auto-groups, marks it ephemeral if the key is, and writes the
 * "setupkey.peer.add" event. ALREADY_EXISTS if the key is registered.
 *
 * register_peer_for_user does the same for a peer added by a logged-in user
 * (SSO): it gets the user's auto-groups and login expiration. For a key
 * already registered by the same user it is the interactive re-login: it
 * renews the login (clearing an expiry) and keeps address and label.
 *
 * login_peer logs a known peer in again: updates meta and last_login (the
 * address, name and label stay); NOT_FOUND if the key is unknown,
 * PRECONDITION_FAILED if its login expired or its user is blocked.
 *
 * login is the client protocol's entry: login_peer for a known key, else
 * register_peer with @setup_key (NOT_FOUND "peer is not registered" when
 * @setup_key is %NULL). @out_registered says which happened.
 */
NbMgmtPeer *nb_mgmt_store_register_peer          (NbMgmtStore          *store,
                                                  const char           *setup_key,
                                                  const char           *peer_key,
                                                  const NbMgmtPeerMeta *meta,
                                                  GError              **error);
NbMgmtPeer *nb_mgmt_store_register_peer_for_user (NbMgmtStore          *store,
                                                  const char           *account_id,
                                                  const char           *user_id,
                                                  const char           *peer_key,
                                                  const NbMgmtPeerMeta *meta,
                                                  GError              **error);
NbMgmtPeer *nb_mgmt_store_login_peer             (NbMgmtStore          *store,
                                                  const char           *peer_key,
                                                  const NbMgmtPeerMeta *meta,
                                                  GError              **error);
NbMgmtPeer *nb_mgmt_store_login                  (NbMgmtStore          *store,
                                                  const char           *peer_key,
                                                  const char           *setup_key,
                                                  const NbMgmtPeerMeta *meta,
                                                  gboolean             *out_registered,
                                                  GError              **error);
/* Marks the peer (by key) connected or not, sets last_seen; emits
 * PEER_STATUS (no serial bump). */
gboolean    nb_mgmt_store_set_peer_connected     (NbMgmtStore          *store,
                                                  const char           *peer_key,
                                                  gboolean              connected,
                                                  GError              **error);
/* Deletes ephemeral peers (of every account) that are disconnected and were
 * last seen more than @max_idle_seconds ago; returns how many in
 * @out_deleted. The server calls it periodically (NetBird: 10 min). */
gboolean    nb_mgmt_store_delete_idle_ephemeral_peers (NbMgmtStore     *store,
                                                       gint64           max_idle_seconds,
                                                       guint           *out_deleted,
                                                       GError         **error);
/* Marks the peers (of every account) whose login expired as expired: they
 * leave every network map and must log in again through their user
 * (register_peer_for_user with the same key renews them). Writes
 * "peer.login.expire" events; @out_expired (nullable) gets how many. The
 * server calls it periodically (e.g. every minute). */
gboolean    nb_mgmt_store_expire_peer_logins     (NbMgmtStore          *store,
                                                  guint                *out_expired,
                                                  GError              **error);
/* Renames (new name → new unique DNS label), sets ssh_enabled and
 * login_expiration_enabled from @peer (by @peer->id). */
NbMgmtPeer *nb_mgmt_store_update_peer            (NbMgmtStore          *store,
                                                  const char           *account_id,
                                                  const char           *actor_id,
                                                  const NbMgmtPeer     *peer,
                                                  GError              **error);
gboolean    nb_mgmt_store_delete_peer            (NbMgmtStore          *store,
                                                  const char           *account_id,
                                                  const char           *actor_id,
                                                  const char           *peer_id,
                                                  GError              **error);
NbMgmtPeer *nb_mgmt_store_get_peer               (NbMgmtStore          *store,
                                                  const char           *account_id,
                                                  const char           *peer_id,
                                                  GError              **error);
/* Any account; NOT_FOUND if the key is not registered. */
NbMgmtPeer *nb_mgmt_store_get_peer_by_key        (NbMgmtStore          *store,
                                                  const char           *peer_key,
                                                  GError              **error);
/* (element-type NbMgmtPeer); @user_id non-NULL restricts to that user's
 * peers (regular users' view). */
GPtrArray  *nb_mgmt_store_list_peers             (NbMgmtStore          *store,
                                                  const char           *account_id,
                                                  const char           *user_id,
                                                  GError              **error);
/* The peers @peer_id may reach by policy (its network map's remote peers),
 * as full records. (element-type NbMgmtPeer) */
GPtrArray  *nb_mgmt_store_list_accessible_peers  (NbMgmtStore          *store,
                                                  const char           *account_id,
                                                  const char           *peer_id,
                                                  GError              **error);

/* ---- Groups ---------------------------------------------------------------
 *
 * Names unique in the account (ALREADY_EXISTS), 1..255 characters; peers
 * must exist in the account. "All" cannot be changed or deleted. A group
 * used by a policy, route, nameserver group, setup key, user or DNS setting
 * cannot be deleted (PRECONDITION_FAILED saying what uses it). Member
 * changes write one peer.group.add / peer.group.delete event per peer.
 */
NbMgmtGroup *nb_mgmt_store_create_group          (NbMgmtStore       *store,
                                                  const char        *account_id,
                                                  const char        *actor_id,
                                                  const NbMgmtGroup *tmpl,
                                                  GError           **error);
NbMgmtGroup *nb_mgmt_store_update_group          (NbMgmtStore       *store,
                                                  const char        *account_id,
                                                  const char        *actor_id,
                                                  const NbMgmtGroup *group,
                                                  GError           **error);
gboolean     nb_mgmt_store_delete_group          (NbMgmtStore       *store,
                                                  const char        *account_id,
                                                  const char        *actor_id,
                                                  const char        *group_id,
                                                  GError           **error);
NbMgmtGroup *nb_mgmt_store_get_group             (NbMgmtStore       *store,
                                                  const char        *account_id,
                                                  const char        *group_id,
                                                  GError           **error);
/* (element-type NbMgmtGroup) */
GPtrArray   *nb_mgmt_store_list_groups           (NbMgmtStore       *store,
                                                  const char        *account_id,
                                                  GError           **error);

/* ---- Policies -------------------------------------------------------------
 *
 * At least one rule; every source and destination group must exist; ports
 * and port ranges only with TCP/UDP, ports 1..65535, start <= end. Rules
 * get IDs when theirs are %NULL. update replaces the policy and all its
 * rules.
 */
NbMgmtPolicy *nb_mgmt_store_create_policy        (NbMgmtStore        *store,
                                                  const char         *account_id,
                                                  const char         *actor_id,
                                                  const NbMgmtPolicy *tmpl,
                                                  GError            **error);
NbMgmtPolicy *nb_mgmt_store_update_policy        (NbMgmtStore        *store,
                                                  const char         *account_id,
                                                  const char         *actor_id,
                                                  const NbMgmtPolicy *policy,
                                                  GError            **error);
gboolean      nb_mgmt_store_delete_policy        (NbMgmtStore        *store,
                                                  const char         *account_id,
                                                  const char         *actor_id,
                                                  const char         *policy_id,
                                                  GError            **error);
NbMgmtPolicy *nb_mgmt_store_get_policy           (NbMgmtStore        *store,
                                                  const char         *account_id,
                                                  const char         *policy_id,
                                                  GError            **error);
/* (element-type NbMgmtPolicy) */
GPtrArray    *nb_mgmt_store_list_policies        (NbMgmtStore        *store,
                                                  const char         *account_id,
                                                  GError            **error);

/* ---- Routes ---------------------------------------------------------------
 * Validation as NetBird: network_id 1..40 chars, exactly one of network and
 * domains, exactly one of peer and peer_groups, metric 1..9999, groups not
 * empty, every referenced peer and group exists.
 */
NbMgmtRoute *nb_mgmt_store_create_route          (NbMgmtStore       *store,
                                                  const char        *account_id,
                                                  const char        *actor_id,
                                                  const NbMgmtRoute *tmpl,
                                                  GError           **error);
NbMgmtRoute *nb_mgmt_store_update_route          (NbMgmtStore       *store,
                                                  const char        *account_id,
                                                  const char        *actor_id,
                                                  const NbMgmtRoute *route,
                                                  GError           **error);
gboolean     nb_mgmt_store_delete_route          (NbMgmtStore       *store,
                                                  const char        *account_id,
                                                  const char        *actor_id,
                                                  const char        *route_id,
                                                  GError           **error);
NbMgmtRoute *nb_mgmt_store_get_route             (NbMgmtStore       *store,
                                                  const char        *account_id,
                                                  const char        *route_id,
                                                  GError           **error);
/* (element-type NbMgmtRoute) */
GPtrArray   *nb_mgmt_store_list_routes           (NbMgmtStore       *store,
                                                  const char        *account_id,
                                                  GError           **error);

/* ---- DNS: nameserver groups and settings ----------------------------------
 * Nameserver groups: name 1..40 chars unique, 1..3 nameservers with valid
 * IPs and ports, groups not empty and existing, primary XOR domains.
 */
NbMgmtNameserverGroup *nb_mgmt_store_create_nameserver_group (NbMgmtStore                 *store,
                                                              const char                  *account_id,
                                                              const char                  *actor_id,
                                                              const NbMgmtNameserverGroup *tmpl,
                                                              GError                     **error);
NbMgmtNameserverGroup *nb_mgmt_store_update_nameserver_group (NbMgmtStore                 *store,
                                                              const char                  *account_id,
                                                              const char                  *actor_id,
                                                              const NbMgmtNameserverGroup *group,
                                                              GError                     **error);
gboolean               nb_mgmt_store_delete_nameserver_group (NbMgmtStore                 *store,
                                                              const char                  *account_id,
                                                              const char                  *actor_id,
                                                              const char                  *group_id,
                                                              GError                     **error);
NbMgmtNameserverGroup *nb_mgmt_store_get_nameserver_group    (NbMgmtStore                 *store,
                                                              const char                  *account_id,
                                                              const char                  *group_id,
                                                              GError                     **error);
/* (element-type NbMgmtNameserverGroup) */
GPtrArray             *nb_mgmt_store_list_nameserver_groups  (NbMgmtStore                 *store,
                                                              const char                  *account_id,
                                                              GError                     **error);
NbMgmtDnsSettings     *nb_mgmt_store_get_dns_settings        (NbMgmtStore                 *store,
                                                              const char                  *account_id,
                                                              GError                     **error);
NbMgmtDnsSettings     *nb_mgmt_store_update_dns_settings     (NbMgmtStore                 *store,
                                                              const char                  *account_id,
                                                              const char                  *actor_id,
                                                              const NbMgmtDnsSettings     *settings,
                                                              GError                     **error);

/* ---- Activity events ------------------------------------------------------
 * Newest first. @out_total (nullable) gets the count matching @filter
 * before offset/limit. @filter may be %NULL.
 */
GPtrArray  *nb_mgmt_store_list_events            (NbMgmtStore             *store,
                                                  const char              *account_id,
                                                  const NbMgmtEventFilter *filter,
                                                  guint                   *out_total,
                                                  GError                 **error);

/* ---- Network maps ---------------------------------------------------------
 *
 * get_network_map computes the current map of @peer_id (see
 * nb-mgmt-netmap.h) on the calling thread and records it as the map that
 * peer was last given. get_network_map_async does the same with the map
 * computed on a worker thread (the server gives a peer its first map this way
 * when its sync channel opens); its finish records the map as given and,
 * when the account changed while the worker ran, makes the peer a
 * candidate of the next collection and says so (@outdated): collect then.
 * A store computes two first maps at a time: further requests wait in
 * order, and each looks its peer up when it starts (a burst of connects
 * queues requests, not computed maps).
 * get_all_network_maps computes and records every peer's map of the
 * account at once, on the calling thread (shared indexes: linear in the
 * size of the maps).
 *
 * collect_network_map_updates_async finds the peers that were given a map
 * (and not forgotten since) and whose map now differs from it, records
 * their new maps as given, and hands each to @func on the calling thread's
 * main context, borrowed (valid during the call only; @func may change the
 * store). The maps are computed on a worker thread; at most a few computed
 * maps wait for the main loop at any time, so memory does not grow with
 * the number of peers a change concerns; the main loop takes them in
 * slices of at most 5 ms (and one map), then runs its other sources. The
 * snapshot, when the account changed, is loaded from SQLite on the calling
 * thread first (@stats says how long). A peer given a newer map while the
 * worker ran (get_network_map) is left out: it has it already. A newly
 * registered peer is not among them until it was given its first map. It
 * is cheap when nothing changed. Start one collection per account at a time
 * (the server waits for the previous one to finish): two at once could hand
 * a peer an older map after a newer one. @callback runs after the last
 * call of @func.
 */

/**
 * NbMgmtMapUpdateFunc:
 * @map: a peer's new map, borrowed: valid during the call only
 * @user_data: the data given with the function
 *
 * Receives one changed map from a collection.
 */
typedef void (*NbMgmtMapUpdateFunc) (const NbMgmtNetworkMap *map,
                                     gpointer                user_data);

/**
 * NbMgmtMapUpdateStats:
 * @snapshot_us: time the calling thread spent getting the account's
 *   snapshot (loaded from SQLite when the account changed since the last)
 * @compute_us: the worker thread's time computing maps, from its start
 *   to its end (including waits for the main loop to take maps)
 * @computed: candidate maps computed
 * @changed: maps that differed and were handed over
 *
 * What one collection did, for logs and benchmarks.
 */
typedef struct {
  gint64 snapshot_us;
  gint64 compute_us;
  guint computed;
  guint changed;
} NbMgmtMapUpdateStats;

NbMgmtNetworkMap *nb_mgmt_store_get_network_map  (NbMgmtStore  *store,
                                                  const char   *account_id,
                                                  const char   *peer_id,
                                                  GError      **error);
void              nb_mgmt_store_get_network_map_async  (NbMgmtStore         *store,
                                                        const char          *account_id,
                                                        const char          *peer_id,
                                                        GCancellable        *cancellable,
                                                        GAsyncReadyCallback  callback,
                                                        gpointer             user_data);
NbMgmtNetworkMap *nb_mgmt_store_get_network_map_finish (NbMgmtStore         *store,
                                                        GAsyncResult        *result,
                                                        gboolean            *outdated,
                                                        GError             **error);
GPtrArray        *nb_mgmt_store_get_all_network_maps (NbMgmtStore *store,
                                                      const char  *account_id,
                                                      GError     **error);
void              nb_mgmt_store_collect_network_map_updates_async  (NbMgmtStore          *store,
                                                                    const char           *account_id,
                                                                    NbMgmtMapUpdateFunc   func,
                                                                    gpointer              func_data,
                                                                    GCancellable         *cancellable,
                                                                    GAsyncReadyCallback   callback,
                                                                    gpointer              user_data);
gboolean          nb_mgmt_store_collect_network_map_updates_finish (NbMgmtStore          *store,
                                                                    GAsyncResult         *result,
                                                                    NbMgmtMapUpdateStats *stats,
                                                                    GError              **error);
/* Forget what each peer of the account was last given (e.g. when a peer's
 * sync channel closes: pass its ID; %NULL forgets the whole account). */
void              nb_mgmt_store_forget_network_map (NbMgmtStore *store,
                                                    const char  *account_id,
                                                    const char  *peer_id);

/* ---- Signals --------------------------------------------------------------
 * "changed" (NbMgmtStore *store, const NbMgmtChange *change, gpointer data):
 * run after every committed change, on the calling thread.
 */

/* A transaction that rolls back when it leaves scope uncommitted, so an
 * error path is a plain return:
 *
 *   g_auto(NbMgmtTransaction) tx = NB_MGMT_TRANSACTION_INIT;
 *   if (!nb_mgmt_transaction_begin (&tx, store, error))
 *     return FALSE;
 *   if (!write_something (store, error))
 *     return FALSE;                      (rolled back here)
 *   return nb_mgmt_transaction_commit (&tx, error);
 *
 * Transactions nest: one begun while another is open is a savepoint of
 * it. Its commit keeps its work for the outer commit, its rollback undoes
 * only its own work, and nothing is durable or announced (::changed)
 * before the outermost commit. So several store calls, each one
 * transaction on its own, become one by running inside an outer one (the
 * first start's account, token and setup key: all or nothing).
 */
typedef struct
{
  NbMgmtStore *store;           /* NULL: nothing to roll back */
  gboolean nested;              /* a savepoint inside an open transaction */
  guint n_pending;              /* changes queued before the savepoint */
} NbMgmtTransaction;

#define NB_MGMT_TRANSACTION_INIT { NULL, FALSE, 0 }

gboolean      nb_mgmt_transaction_begin (NbMgmtTransaction *tx,
                                         NbMgmtStore       *store,
                                         GError           **error);
/* Runtime state: commits without fsync (nb_mgmt_store_begin_relaxed()). */
gboolean      nb_mgmt_transaction_begin_relaxed (NbMgmtTransaction *tx,
                                                 NbMgmtStore       *store,
                                                 GError           **error);
/* Commits; on failure the transaction is rolled back. Either way @tx is
 * ended. */
gboolean      nb_mgmt_transaction_commit (NbMgmtTransaction *tx,
                                          GError           **error);
/* Rolls back unless committed; for g_auto(). */
void          nb_mgmt_transaction_clear (NbMgmtTransaction *tx);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (NbMgmtTransaction, nb_mgmt_transaction_clear)

G_END_DECLS
