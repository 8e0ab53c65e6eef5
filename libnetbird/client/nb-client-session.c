/* nb-client-session.c: NbClient's life cycle
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * Login, up, down and logout; the sync channel kept open, with a reconnect
 * (backoff and jitter, capped at 30 s) when it drops while the tunnels keep
 * running on the last map; each map handed to the engine
 * (nb-client-engine.c); a deleted peer applied at once.
 */
#define G_LOG_DOMAIN "netbird-client"

#include <string.h>

#include "nb-client-private.h"

/* Reconnects to Management: 1 s, doubling up to 30 s, each ±20%. */
#define RECONNECT_MIN_MS 1000
#define RECONNECT_MAX_MS 30000

static void start_sync (NbClient *self);

/* -- errors --------------------------------------------------------------- */

/* What Management's client said, as a user reads it. */
static GError *
client_error_of (NbClient *self,
                 GError   *error)
{
  g_autoptr(GError) owned = error;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
      error->domain == NB_CLIENT_ERROR)
    return g_steal_pointer (&owned);
  if (error->domain == NB_MGMT_CLIENT_ERROR)
    switch (error->code)
      {
      case NB_MGMT_CLIENT_ERROR_NOT_REGISTERED:
        return g_error_new_literal (NB_CLIENT_ERROR, NB_CLIENT_ERROR_NEEDS_SETUP_KEY,
                                    "This peer is not registered with Management: "
                                    "give a setup key to register it");
      case NB_MGMT_CLIENT_ERROR_UNAUTHENTICATED:
        return g_error_new (NB_CLIENT_ERROR, NB_CLIENT_ERROR_SETUP_KEY_INVALID,
                            "Management refused the setup key: %s", error->message);
      case NB_MGMT_CLIENT_ERROR_LOGIN_REFUSED:
      case NB_MGMT_CLIENT_ERROR_REFUSED:
        return g_error_new (NB_CLIENT_ERROR, NB_CLIENT_ERROR_LOGIN_REFUSED,
                            "Management refused the login: %s", error->message);
      case NB_MGMT_CLIENT_ERROR_PROTOCOL:
      default:
        return g_error_new (NB_CLIENT_ERROR, NB_CLIENT_ERROR_PROTOCOL,
                            "Management answered something this client cannot use: %s",
                            error->message);
      }
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT))
    return g_error_new (NB_CLIENT_ERROR, NB_CLIENT_ERROR_CONFIG, "%s", error->message);
  /* Refused, timed out, no such host, TLS, HTTP: Management is not there
   * (or not Management). */
  return g_error_new (NB_CLIENT_ERROR, NB_CLIENT_ERROR_MANAGEMENT_UNREACHABLE,
                      "Management at %s is not reachable: %s", self->config->management_url,
                      error->message);
}

/* -- the run -------------------------------------------------------------- */

void
nb_client_stop_run (NbClient *self)
{
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->reconnect_source != NULL)
    {
      g_source_destroy (self->reconnect_source);
      g_clear_pointer (&self->reconnect_source, g_source_unref);
    }
  if (self->mgmt != NULL)
    {
      /* This may run from within the Management client's own handlers
       * (a map that cannot be applied, a sync that failed): it goes once
       * they returned. */
      g_signal_handlers_disconnect_by_data (self->mgmt, self);
      nb_mgmt_client_close (self->mgmt);
      nb_client_unref_later (g_steal_pointer (&self->mgmt));
    }
  self->syncing = FALSE;
  self->reconnect_attempts = 0;
  g_clear_pointer (&self->engine, nb_client_engine_free);
}

void
nb_client_fail_up (NbClient *self,
                   GError   *error)
{
  g_autoptr(GTask) task = g_steal_pointer (&self->up_task);

  if (task != NULL)
    g_task_return_error (task, error);
  else
    g_error_free (error);
}

/* This peer was deleted (or its registration ended): nothing of the map
 * stays, and only a login with a setup key brings it back. */
static void
peer_deleted (NbClient   *self,
              const char *why)
{
  g_autofree char *message =
    g_strdup_printf ("This peer was deleted from the account or its registration ended (%s): "
                     "log in again with a setup key", why);

  g_message ("%s", message);
  if (self->engine != NULL)
    nb_client_engine_remove_all_peers (self->engine);
  if (self->reconnect_source != NULL)
    {
      g_source_destroy (self->reconnect_source);
      g_clear_pointer (&self->reconnect_source, g_source_unref);
    }
  if (self->mgmt != NULL)
    nb_mgmt_client_close (self->mgmt);
  self->syncing = FALSE;
  nb_client_set_management (self, FALSE, message);
  nb_client_set_state (self, NB_CLIENT_STATE_NEEDS_LOGIN);
  nb_client_fail_up (self, g_error_new_literal (NB_CLIENT_ERROR, NB_CLIENT_ERROR_PEER_DELETED, message));
}

static gboolean on_reconnect (gpointer user_data);

static void
schedule_reconnect (NbClient *self)
{
  guint delay = RECONNECT_MIN_MS;
  gint jitter;

  if (self->reconnect_source != NULL || self->cancellable == NULL)
    return;
  for (guint i = 0; i < self->reconnect_attempts && delay < RECONNECT_MAX_MS; i++)
    delay *= 2;
  delay = MIN (delay, RECONNECT_MAX_MS);
  /* ±20%: clients that lost Management at once do not come back at once. */
  jitter = g_random_int_range (-(gint) delay / 5, (gint) delay / 5 + 1);
  delay += jitter;
  self->reconnect_attempts++;
  g_debug ("Reconnecting to Management in %u ms (attempt %u)", delay, self->reconnect_attempts);
  self->reconnect_source = g_timeout_source_new (delay);
  g_source_set_callback (self->reconnect_source, on_reconnect, self, NULL);
  g_source_set_static_name (self->reconnect_source, "[netbird] Management reconnect");
  g_source_attach (self->reconnect_source, self->context);
}

static void
on_network_map (NbMgmtClient          *mgmt,
                NbMgmtMsgSyncResponse *response,
                NbClient              *self)
{
  g_autoptr(GError) error = NULL;

  if (self->engine == NULL)
    return;
  if (!nb_client_engine_set_services (self->engine, response->netbird_config, &error))
    {
      g_message ("%s", error->message);
      g_clear_error (&error);
    }
  if (!nb_client_engine_apply_map (self->engine, response->network_map, &error))
    {
      g_message ("Network map %" G_GINT64_FORMAT " not applied: %s",
                 response->network_map->serial, error->message);
      if (self->up_task != NULL)
        {
          nb_client_set_state (self, NB_CLIENT_STATE_DOWN);
          nb_client_fail_up (self, g_steal_pointer (&error));
          nb_client_stop_run (self);
        }
      return;
    }
  self->reconnect_attempts = 0;
  nb_client_set_management (self, TRUE, NULL);
  nb_client_set_state (self, NB_CLIENT_STATE_CONNECTED);
  nb_client_emit_network_map_applied (self, response->network_map->serial);
  if (self->up_task != NULL)
    {
      g_autoptr(GTask) task = g_steal_pointer (&self->up_task);
      g_task_return_boolean (task, TRUE);
    }
}

static void
on_closed (NbMgmtClient *mgmt,
           guint         code,
           const char   *reason,
           NbClient     *self)
{
  g_autofree char *message = NULL;

  self->syncing = FALSE;
  /* 4004: Management does not know this peer any more. */
  if (code == 4004)
    {
      peer_deleted (self, reason != NULL && reason[0] != '\0' ? reason : "not registered");
      return;
    }
  message = g_strdup_printf ("Management closed the sync channel (%u%s%s): reconnecting", code,
                             reason != NULL && reason[0] != '\0' ? " " : "",
                             reason != NULL ? reason : "");
  g_message ("%s", message);
  nb_client_set_management (self, FALSE, message);
  schedule_reconnect (self);
}

static void
on_sync_open (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  NbClient *self = user_data;
  g_autoptr(GError) error = NULL;

  if (nb_mgmt_client_sync_finish (NB_MGMT_CLIENT (source), result, &error))
    {
      g_object_unref (self);
      return;
    }
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || self->mgmt == NULL ||
      NB_MGMT_CLIENT (source) != self->mgmt)
    {
      g_object_unref (self);
      return;
    }
  self->syncing = FALSE;
  if (g_error_matches (error, NB_MGMT_CLIENT_ERROR, NB_MGMT_CLIENT_ERROR_NOT_REGISTERED))
    peer_deleted (self, error->message);
  else if (self->up_task != NULL)
    {
      nb_client_set_state (self, NB_CLIENT_STATE_DOWN);
      nb_client_fail_up (self, client_error_of (self, g_steal_pointer (&error)));
      nb_client_stop_run (self);
    }
  else
    {
      g_autofree char *message = g_strdup_printf ("No sync channel: %s", error->message);

      nb_client_set_management (self, FALSE, message);
      schedule_reconnect (self);
    }
  g_object_unref (self);
}

static void
start_sync (NbClient *self)
{
  g_autoptr(NbMgmtMsgPeerMeta) meta = nb_client_meta_collect (self->config->hostname,
                                                              self->config->interface_name);

  self->syncing = TRUE;
  nb_mgmt_client_sync_async (self->mgmt, meta, self->cancellable, on_sync_open,
                             g_object_ref (self));
}

/* The login done: Signal, STUN and TURN to the engine, then the sync
 * channel. */
static gboolean
logged_in (NbClient                     *self,
           const NbMgmtMsgLoginResponse *response,
           GError                      **error)
{
  if (self->engine == NULL)
    self->engine = nb_client_engine_new (self, self->key);
  if (!nb_client_engine_set_services (self->engine, response->netbird_config, error))
    return FALSE;
  if (response->peer_config != NULL)
    nb_client_set_own_address (self, response->peer_config->address, response->peer_config->fqdn);
  start_sync (self);
  return TRUE;
}

static void
on_relogin (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  NbClient *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtMsgLoginResponse) response =
    nb_mgmt_client_login_finish (NB_MGMT_CLIENT (source), result, &error);

  if (response == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_object_unref (self);
      return;
    }
  if (response == NULL)
    {
      if (g_error_matches (error, NB_MGMT_CLIENT_ERROR, NB_MGMT_CLIENT_ERROR_NOT_REGISTERED))
        peer_deleted (self, "Management does not know it");
      else if (g_error_matches (error, NB_MGMT_CLIENT_ERROR, NB_MGMT_CLIENT_ERROR_LOGIN_REFUSED))
        {
          g_autoptr(GError) mapped = client_error_of (self, g_steal_pointer (&error));

          nb_client_set_management (self, FALSE, mapped->message);
          nb_client_set_state (self, NB_CLIENT_STATE_NEEDS_LOGIN);
          if (self->engine != NULL)
            nb_client_engine_remove_all_peers (self->engine);
        }
      else
        {
          g_autoptr(GError) mapped = client_error_of (self, g_steal_pointer (&error));

          nb_client_set_management (self, FALSE, mapped->message);
          schedule_reconnect (self);
        }
      g_object_unref (self);
      return;
    }
  if (!logged_in (self, response, &error))
    {
      nb_client_set_management (self, FALSE, error->message);
      schedule_reconnect (self);
    }
  g_object_unref (self);
}

static gboolean
on_reconnect (gpointer user_data)
{
  NbClient *self = user_data;
  g_autoptr(NbMgmtMsgPeerMeta) meta = NULL;

  g_clear_pointer (&self->reconnect_source, g_source_unref);
  if (self->mgmt == NULL || self->syncing)
    return G_SOURCE_REMOVE;
  /* A login first: it brings fresh TURN credentials, and tells at once
   * whether the peer is still registered. */
  meta = nb_client_meta_collect (self->config->hostname, self->config->interface_name);
  nb_mgmt_client_login_async (self->mgmt, NULL, meta, self->cancellable, on_relogin,
                              g_object_ref (self));
  return G_SOURCE_REMOVE;
}

static void
on_up_login (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(NbClient) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtMsgLoginResponse) response =
    nb_mgmt_client_login_finish (NB_MGMT_CLIENT (source), result, &error);

  if (self->up_task == NULL || NB_MGMT_CLIENT (source) != self->mgmt)
    return;   /* brought down meanwhile */
  if (response == NULL)
    {
      g_autoptr(GError) mapped = client_error_of (self, g_steal_pointer (&error));

      if (mapped->domain == NB_CLIENT_ERROR &&
          (mapped->code == NB_CLIENT_ERROR_NEEDS_SETUP_KEY ||
           mapped->code == NB_CLIENT_ERROR_SETUP_KEY_INVALID ||
           mapped->code == NB_CLIENT_ERROR_LOGIN_REFUSED ||
           mapped->code == NB_CLIENT_ERROR_PEER_DELETED))
        nb_client_set_state (self, NB_CLIENT_STATE_NEEDS_LOGIN);
      else
        nb_client_set_state (self, NB_CLIENT_STATE_DOWN);
      nb_client_set_management (self, FALSE, mapped->message);
      nb_client_fail_up (self, g_steal_pointer (&mapped));
      nb_client_stop_run (self);
      return;
    }
  if (!logged_in (self, response, &error))
    {
      nb_client_set_state (self, NB_CLIENT_STATE_DOWN);
      nb_client_set_management (self, FALSE, error->message);
      nb_client_fail_up (self, g_steal_pointer (&error));
      nb_client_stop_run (self);
    }
}

/* -- life cycle ----------------------------------------------------------- */

static void
new_mgmt (NbClient *self)
{
  self->mgmt = nb_mgmt_client_new (self->config->management_url, self->key);
  g_signal_connect (self->mgmt, "network-map", G_CALLBACK (on_network_map), self);
  g_signal_connect (self->mgmt, "closed", G_CALLBACK (on_closed), self);
}

/**
 * nb_client_up_async:
 * @self: a #NbClient
 * @setup_key: (nullable): a setup key to register the peer with, or %NULL
 *   for a peer Management knows
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the tunnel is up, or could not be
 *   brought up
 * @user_data: data for @callback
 *
 * Logs in to Management (registering with @setup_key when given), opens
 * the sync channel and applies the first network map: the interface comes
 * up with the peer's address and the connections to the other peers
 * start. From then on the client follows every map Management pushes,
 * reconnecting to Management when the channel drops, until nb_client_down().
 *
 * The setup key is not saved: a registered peer logs in with its key.
 */
void
nb_client_up_async (NbClient            *self,
                    const char          *setup_key,
                    GCancellable        *cancellable,
                    GAsyncReadyCallback  callback,
                    gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(NbMgmtMsgPeerMeta) meta = NULL;

  g_return_if_fail (NB_IS_CLIENT (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, nb_client_up_async);
  if (self->state == NB_CLIENT_STATE_CONNECTING || self->state == NB_CLIENT_STATE_CONNECTED)
    {
      g_task_return_new_error (task, NB_CLIENT_ERROR, NB_CLIENT_ERROR_WRONG_STATE,
                               "The client is already up: bring it down first");
      return;
    }
  if (setup_key != NULL && setup_key[0] == '\0')
    setup_key = NULL;
  nb_client_stop_run (self);
  g_task_set_task_data (task, GINT_TO_POINTER (setup_key != NULL), NULL);
  self->up_task = g_steal_pointer (&task);
  self->cancellable = g_cancellable_new ();
  if (cancellable != NULL)
    g_cancellable_connect (cancellable, G_CALLBACK (g_cancellable_cancel),
                           g_object_ref (self->cancellable), g_object_unref);
  nb_client_set_management (self, FALSE, NULL);
  nb_client_set_state (self, NB_CLIENT_STATE_CONNECTING);
  new_mgmt (self);
  meta = nb_client_meta_collect (self->config->hostname, self->config->interface_name);
  nb_mgmt_client_login_async (self->mgmt, setup_key, meta, self->cancellable, on_up_login,
                              g_object_ref (self));
}

/**
 * nb_client_up_finish:
 * @self: a #NbClient
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: %TRUE when the first map is applied, or %FALSE with @error
 *   (%NB_CLIENT_ERROR_SETUP_KEY_INVALID, %NB_CLIENT_ERROR_LOGIN_REFUSED with
 *   Management's words, %NB_CLIENT_ERROR_NEEDS_SETUP_KEY,
 *   %NB_CLIENT_ERROR_MANAGEMENT_UNREACHABLE, %NB_CLIENT_ERROR_DEVICE, ...)
 */
gboolean
nb_client_up_finish (NbClient      *self,
                     GAsyncResult  *result,
                     GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
on_login_only (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  NbClient *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(NbMgmtMsgLoginResponse) response =
    nb_mgmt_client_login_finish (NB_MGMT_CLIENT (source), result, &error);
  gboolean had_key = GPOINTER_TO_INT (g_task_get_task_data (task));

  if (response == NULL)
    {
      GError *mapped = client_error_of (self, g_steal_pointer (&error));

      if (!had_key && g_error_matches (mapped, NB_CLIENT_ERROR, NB_CLIENT_ERROR_NEEDS_SETUP_KEY))
        nb_client_set_state (self, NB_CLIENT_STATE_NEEDS_LOGIN);
      g_task_return_error (task, mapped);
      return;
    }
  nb_client_set_own_address (self, response->peer_config != NULL
                                   ? response->peer_config->address : NULL,
                             response->peer_config != NULL ? response->peer_config->fqdn : NULL);
  /* A client that was up when Management refused it comes back up. */
  if (self->state == NB_CLIENT_STATE_NEEDS_LOGIN && self->engine != NULL && self->mgmt != NULL &&
      NB_MGMT_CLIENT (source) == self->mgmt)
    {
      nb_client_set_management (self, FALSE, NULL);
      nb_client_set_state (self, NB_CLIENT_STATE_CONNECTING);
      if (!logged_in (self, response, &error))
        {
          nb_client_set_management (self, FALSE, error->message);
          schedule_reconnect (self);
        }
    }
  else if (self->state == NB_CLIENT_STATE_NEEDS_LOGIN)
    nb_client_set_state (self, NB_CLIENT_STATE_DOWN);
  g_task_return_boolean (task, TRUE);
}

/**
 * nb_client_login_async:
 * @self: a #NbClient
 * @setup_key: (nullable): a setup key to register the peer with
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when Management answered
 * @user_data: data for @callback
 *
 * Logs in to Management without bringing the tunnel up: registers the
 * peer with @setup_key, or checks that Management knows it. A client in
 * %NB_CLIENT_STATE_NEEDS_LOGIN while up (its peer was deleted) comes back
 * up with the new registration.
 */
void
nb_client_login_async (NbClient            *self,
                       const char          *setup_key,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(NbMgmtMsgPeerMeta) meta = NULL;
  g_autoptr(NbMgmtClient) mgmt = NULL;

  g_return_if_fail (NB_IS_CLIENT (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, nb_client_login_async);
  if (self->state == NB_CLIENT_STATE_CONNECTING || self->state == NB_CLIENT_STATE_CONNECTED)
    {
      g_task_return_new_error (task, NB_CLIENT_ERROR, NB_CLIENT_ERROR_WRONG_STATE,
                               "The client is up: it is logged in");
      return;
    }
  if (setup_key != NULL && setup_key[0] == '\0')
    setup_key = NULL;
  g_task_set_task_data (task, GINT_TO_POINTER (setup_key != NULL), NULL);
  if (self->mgmt != NULL && self->engine != NULL)
    {
      /* Up, with the peer refused: the run's Management client. */
      if (self->reconnect_source != NULL)
        {
          g_source_destroy (self->reconnect_source);
          g_clear_pointer (&self->reconnect_source, g_source_unref);
        }
      mgmt = g_object_ref (self->mgmt);
    }
  else
    mgmt = nb_mgmt_client_new (self->config->management_url, self->key);
  meta = nb_client_meta_collect (self->config->hostname, self->config->interface_name);
  nb_mgmt_client_login_async (mgmt, setup_key, meta, cancellable, on_login_only,
                              g_steal_pointer (&task));
}

/**
 * nb_client_login_finish:
 * @self: a #NbClient
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: %TRUE when Management knows the peer (now), or %FALSE with
 *   @error as for nb_client_up_finish()
 */
gboolean
nb_client_login_finish (NbClient      *self,
                        GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * nb_client_down:
 * @self: a #NbClient
 *
 * Brings the tunnel down: closes the sync channel and Signal, every
 * connection, and removes the interface. A pending nb_client_up_async()
 * fails with %G_IO_ERROR_CANCELLED.
 */
void
nb_client_down (NbClient *self)
{
  g_return_if_fail (NB_IS_CLIENT (self));

  if (self->up_task != NULL)
    nb_client_fail_up (self, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                        "The client was brought down"));
  nb_client_stop_run (self);
  g_object_freeze_notify (G_OBJECT (self));
  nb_client_set_management (self, FALSE, NULL);
  nb_client_set_signal_status (self, self->signal_url, FALSE, NULL);
  if (self->state != NB_CLIENT_STATE_NEEDS_LOGIN)
    nb_client_set_state (self, NB_CLIENT_STATE_DOWN);
  g_object_thaw_notify (G_OBJECT (self));
}

/**
 * nb_client_logout:
 * @self: a #NbClient
 * @error: return location for a #GError
 *
 * Brings the tunnel down and forgets the peer: the private key file gets
 * a new key, so the next login registers a new peer (with a setup key).
 * The old peer stays in the account until an administrator deletes it.
 *
 * Returns: %TRUE, or %FALSE with %NB_CLIENT_ERROR_CONFIG when the new key
 *   cannot be written
 */
gboolean
nb_client_logout (NbClient  *self,
                  GError   **error)
{
  NbKey *key;

  g_return_val_if_fail (NB_IS_CLIENT (self), FALSE);

  nb_client_down (self);
  key = nb_client_config_new_key (self->config, error);
  if (key == NULL)
    return FALSE;
  g_object_freeze_notify (G_OBJECT (self));
  g_set_object (&self->key, key);
  g_object_unref (key);
  nb_client_notify (self, "public-key");
  nb_client_set_own_address (self, NULL, NULL);
  nb_client_set_state (self, NB_CLIENT_STATE_NEEDS_LOGIN);
  g_object_thaw_notify (G_OBJECT (self));
  return TRUE;
}
