/* nb-gtk-client.c: the tray's view of one daemon over io.netbird.Daemon1
 *
 * One peer-to-peer D-Bus connection to the daemon's Unix socket. The
 * daemon's properties arrive by PropertiesChanged; GetStatus() is asked
 * again only when they say the picture changed, never on a timer. When the
 * socket is gone or refuses us the state is UNAVAILABLE, with the reason,
 * and we try again once a second until the daemon is back.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-gtk"

#include "nb-gtk-config.h"
#include "nb-gtk-client.h"
#include "nb-gtk-daemon-dbus.h"

#include <glib/gi18n.h>

#define NB_GTK_DAEMON_PATH "/io/netbird/Daemon"
#define NB_GTK_RECONNECT_SECONDS 1

struct _NbGtkClient
{
  GObject parent_instance;

  char *socket_path;
  GDBusConnection *connection;
  NbGtkDBusDaemon *proxy;
  GCancellable *cancellable;
  guint reconnect_id;
  gulong closed_id;

  NbGtkState state;
  char *problem; /* why UNAVAILABLE or ERROR, for a user */
  gboolean call_failed;
  gboolean needs_setup_key; /* the last Up() said so: Idle reads as NEEDS_LOGIN */
  char *call_problem;       /* the daemon's message for the last failed call */
  GVariant *status;         /* the last GetStatus() a{sv}, or NULL */
};

enum
{
  SIGNAL_CHANGED,
  SIGNAL_STATUS_UPDATED,
  SIGNAL_CALL_FAILED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (NbGtkClient, nb_gtk_client, G_TYPE_OBJECT)

static void client_connect (NbGtkClient *self);

const char *
nb_gtk_state_to_icon_name (NbGtkState state)
{
  switch (state)
    {
    case NB_GTK_STATE_CONNECTED:
      return "netbird-connected";
    case NB_GTK_STATE_CONNECTING:
      return "netbird-connecting";
    case NB_GTK_STATE_DISCONNECTED:
      return "netbird-disconnected";
    case NB_GTK_STATE_NEEDS_LOGIN:
      return "netbird-needs-login";
    case NB_GTK_STATE_UNAVAILABLE:
    case NB_GTK_STATE_ERROR:
    default:
      return "netbird-error";
    }
}

const char *
nb_gtk_state_to_string (NbGtkState state)
{
  switch (state)
    {
    case NB_GTK_STATE_CONNECTED:
      return _ ("Connected");
    case NB_GTK_STATE_CONNECTING:
      return _ ("Connecting…");
    case NB_GTK_STATE_DISCONNECTED:
      return _ ("Disconnected");
    case NB_GTK_STATE_NEEDS_LOGIN:
      return _ ("Needs login");
    case NB_GTK_STATE_ERROR:
      return _ ("Error");
    case NB_GTK_STATE_UNAVAILABLE:
    default:
      return _ ("Daemon unavailable");
    }
}

static const char *
state_name (NbGtkState state)
{
  static const char *const names[]
      = { "unavailable", "disconnected", "connecting", "connected", "needs-login", "error" };
  return state < G_N_ELEMENTS (names) ? names[state] : "?";
}

static void
set_state (NbGtkClient *self, NbGtkState state, const char *problem)
{
  gboolean changed = self->state != state || g_strcmp0 (self->problem, problem) != 0;

  if (!changed)
    return;
  if (self->state != state)
    g_debug ("state: %s -> %s%s%s", state_name (self->state), state_name (state),
             problem != NULL ? ": " : "", problem != NULL ? problem : "");
  self->state = state;
  g_free (self->problem);
  self->problem = g_strdup (problem);
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

static void
update_state_from_proxy (NbGtkClient *self)
{
  const char *status = nb_gtk_dbus_daemon_get_daemon_status (self->proxy);
  NbGtkState state;

  if (g_strcmp0 (status, "Connected") == 0)
    state = NB_GTK_STATE_CONNECTED;
  else if (g_strcmp0 (status, "Connecting") == 0)
    state = NB_GTK_STATE_CONNECTING;
  else if (g_strcmp0 (status, "NeedsLogin") == 0)
    state = NB_GTK_STATE_NEEDS_LOGIN;
  else if (self->needs_setup_key)
    state = NB_GTK_STATE_NEEDS_LOGIN;
  else
    state = self->call_failed ? NB_GTK_STATE_ERROR : NB_GTK_STATE_DISCONNECTED;

  /* Up() returns after the state went Connecting; only Connected clears
   * the failure (a new call clears it too). */
  if (state == NB_GTK_STATE_CONNECTED)
    self->call_failed = self->needs_setup_key = FALSE;
  set_state (self, state,
             state == NB_GTK_STATE_ERROR || self->needs_setup_key ? self->call_problem : NULL);
}

static void
got_status (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (NbGtkClient) self = user_data;
  g_autoptr (GVariant) status = NULL;
  g_autoptr (GError) error = NULL;

  if (!nb_gtk_dbus_daemon_call_get_status_finish (NB_GTK_DBUS_DAEMON (source), &status, result,
                                                  &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("GetStatus: %s", error->message);
      return;
    }
  /* Only the answer to the latest question counts. */
  if (source != (GObject *)self->proxy)
    return;
  g_clear_pointer (&self->status, g_variant_unref);
  self->status = g_steal_pointer (&status);
  g_signal_emit (self, signals[SIGNAL_STATUS_UPDATED], 0);
}

static void
refresh_status (NbGtkClient *self)
{
  if (self->proxy == NULL)
    return;
  nb_gtk_dbus_daemon_call_get_status (self->proxy, self->cancellable, got_status,
                                      g_object_ref (self));
}

static void
on_properties_changed (GDBusProxy *proxy, GVariant *changed, GStrv invalidated, gpointer user_data)
{
  NbGtkClient *self = user_data;

  update_state_from_proxy (self);
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
  refresh_status (self);
}

/* A peer's connection changed (the daemon coalesces these). */
static void
on_peers_changed (NbGtkDBusDaemon *proxy, gpointer user_data)
{
  refresh_status (user_data);
}

static gboolean
reconnect_cb (gpointer user_data)
{
  NbGtkClient *self = user_data;

  self->reconnect_id = 0;
  client_connect (self);
  return G_SOURCE_REMOVE;
}

static void
drop_connection (NbGtkClient *self, const char *problem)
{
  if (self->connection != NULL && self->closed_id != 0)
    g_signal_handler_disconnect (self->connection, self->closed_id);
  self->closed_id = 0;
  g_clear_object (&self->proxy);
  g_clear_object (&self->connection);
  self->call_failed = self->needs_setup_key = FALSE;
  set_state (self, NB_GTK_STATE_UNAVAILABLE, problem);
  if (self->status != NULL)
    {
      g_clear_pointer (&self->status, g_variant_unref);
      g_signal_emit (self, signals[SIGNAL_STATUS_UPDATED], 0);
    }
  if (self->reconnect_id == 0)
    self->reconnect_id = g_timeout_add_seconds (NB_GTK_RECONNECT_SECONDS, reconnect_cb, self);
}

static void
on_connection_closed (GDBusConnection *connection, gboolean remote_peer_vanished, GError *error,
                      gpointer user_data)
{
  NbGtkClient *self = user_data;
  g_autofree char *problem
      = g_strdup_printf (_ ("The NetBird daemon at %s went away."), self->socket_path);

  g_debug ("daemon connection closed%s%s", error != NULL ? ": " : "",
           error != NULL ? error->message : "");
  drop_connection (self, problem);
}

static void
proxy_ready (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (NbGtkClient) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (NbGtkDBusDaemon) proxy = nb_gtk_dbus_daemon_proxy_new_finish (result, &error);

  if (proxy == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      g_autofree char *problem = g_strdup_printf (
          _ ("The NetBird daemon at %s does not answer: %s"), self->socket_path, error->message);
      drop_connection (self, problem);
      return;
    }
  /* A socket where something else answers has no DaemonStatus. */
  if (nb_gtk_dbus_daemon_get_daemon_status (proxy) == NULL)
    {
      g_autofree char *problem
          = g_strdup_printf (_ ("%s is not a NetBird daemon's socket."), self->socket_path);
      drop_connection (self, problem);
      return;
    }
  self->proxy = g_steal_pointer (&proxy);
  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (self->proxy), 120 * 1000);
  g_signal_connect_object (self->proxy, "g-properties-changed", G_CALLBACK (on_properties_changed),
                           self, 0);
  g_signal_connect_object (self->proxy, "peers-changed", G_CALLBACK (on_peers_changed), self, 0);
  g_debug ("daemon reachable at %s, version %s", self->socket_path,
           nb_gtk_dbus_daemon_get_version (self->proxy));
  update_state_from_proxy (self);
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
  refresh_status (self);
}

static void
connection_ready (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (NbGtkClient) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) connection
      = g_dbus_connection_new_for_address_finish (result, &error);

  if (connection == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      g_autofree char *problem = NULL;
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED))
        problem = g_strdup_printf (_ ("Not allowed to reach the NetBird daemon at %s."),
                                   self->socket_path);
      else
        problem = g_strdup_printf (_ ("The NetBird daemon is not running (no answer at %s)."),
                                   self->socket_path);
      drop_connection (self, problem);
      return;
    }
  self->connection = g_steal_pointer (&connection);
  g_dbus_connection_set_exit_on_close (self->connection, FALSE);
  self->closed_id
      = g_signal_connect (self->connection, "closed", G_CALLBACK (on_connection_closed), self);
  nb_gtk_dbus_daemon_proxy_new (self->connection, G_DBUS_PROXY_FLAGS_NONE, NULL, NB_GTK_DAEMON_PATH,
                                self->cancellable, proxy_ready, g_object_ref (self));
}

static void
client_connect (NbGtkClient *self)
{
  g_autofree char *escaped = g_dbus_address_escape_value (self->socket_path);
  g_autofree char *address = g_strdup_printf ("unix:path=%s", escaped);

  g_dbus_connection_new_for_address (address, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT, NULL,
                                     self->cancellable, connection_ready, g_object_ref (self));
}

static void
call_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (NbGtkClient) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = g_dbus_proxy_call_finish (G_DBUS_PROXY (source), result, &error);
  g_autofree char *remote = NULL;

  if (reply != NULL)
    return;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  remote = g_dbus_error_get_remote_error (error);
  g_dbus_error_strip_remote_error (error);
  g_debug ("call failed: %s (%s)", error->message, remote != NULL ? remote : "local");
  if (source != (GObject *)self->proxy)
    return;
  /* A peer Management does not know yet (a fresh daemon reads Idle): it
   * is the same as NeedsLogin for the user, who needs a setup key. */
  self->needs_setup_key = g_strcmp0 (remote, "io.netbird.Daemon1.Error.NeedsSetupKey") == 0;
  self->call_failed = TRUE;
  g_free (self->call_problem);
  self->call_problem = g_strdup (error->message);
  update_state_from_proxy (self);
  g_signal_emit (self, signals[SIGNAL_CALL_FAILED], 0, error->message);
}

/**
 * nb_gtk_client_up:
 * @options: (transfer floating): a{sv} as Up() takes it
 *
 * Asks the daemon to bring the tunnel up; a failure comes back through
 * NbGtkClient::call-failed and the ERROR state.
 */
void
nb_gtk_client_up (NbGtkClient *self, GVariant *options)
{
  g_autoptr (GVariant) owned = g_variant_ref_sink (options);

  if (self->proxy == NULL)
    return;
  g_debug ("calling Up");
  self->call_failed = self->needs_setup_key = FALSE;
  g_dbus_proxy_call (G_DBUS_PROXY (self->proxy), "Up", g_variant_new_tuple (&owned, 1),
                     G_DBUS_CALL_FLAGS_NONE, -1, self->cancellable, call_done, g_object_ref (self));
}

void
nb_gtk_client_down (NbGtkClient *self)
{
  if (self->proxy == NULL)
    return;
  g_debug ("calling Down");
  self->call_failed = self->needs_setup_key = FALSE;
  g_dbus_proxy_call (G_DBUS_PROXY (self->proxy), "Down", NULL, G_DBUS_CALL_FLAGS_NONE, -1,
                     self->cancellable, call_done, g_object_ref (self));
}

NbGtkState
nb_gtk_client_get_state (NbGtkClient *self)
{
  return self->state;
}

const char *
nb_gtk_client_get_socket_path (NbGtkClient *self)
{
  return self->socket_path;
}

/* Why the state is UNAVAILABLE or ERROR, or NULL. */
const char *
nb_gtk_client_get_problem (NbGtkClient *self)
{
  return self->problem;
}

static char *
dup_string_property (NbGtkClient *self, const char *(*getter) (NbGtkDBusDaemon *))
{
  const char *value = self->proxy != NULL ? getter (self->proxy) : NULL;

  return value != NULL && *value != '\0' ? g_strdup (value) : NULL;
}

/* The overlay address without its prefix length, or NULL. */
char *
nb_gtk_client_dup_address (NbGtkClient *self)
{
  char *address = dup_string_property (self, nb_gtk_dbus_daemon_get_address);
  char *slash = address != NULL ? strchr (address, '/') : NULL;

  if (slash != NULL)
    *slash = '\0';
  return address;
}

char *
nb_gtk_client_dup_fqdn (NbGtkClient *self)
{
  return dup_string_property (self, nb_gtk_dbus_daemon_get_fqdn);
}

char *
nb_gtk_client_dup_daemon_version (NbGtkClient *self)
{
  return dup_string_property (self, nb_gtk_dbus_daemon_get_version);
}

/**
 * nb_gtk_client_get_status:
 *
 * Returns: (transfer none) (nullable): the last GetStatus() dictionary
 */
GVariant *
nb_gtk_client_get_status (NbGtkClient *self)
{
  return self->status;
}

void
nb_gtk_client_start (NbGtkClient *self)
{
  if (self->connection == NULL && self->reconnect_id == 0)
    client_connect (self);
}

static void
nb_gtk_client_dispose (GObject *object)
{
  NbGtkClient *self = NB_GTK_CLIENT (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->reconnect_id, g_source_remove);
  if (self->connection != NULL && self->closed_id != 0)
    g_signal_handler_disconnect (self->connection, self->closed_id);
  self->closed_id = 0;
  g_clear_object (&self->proxy);
  g_clear_object (&self->connection);
  G_OBJECT_CLASS (nb_gtk_client_parent_class)->dispose (object);
}

static void
nb_gtk_client_finalize (GObject *object)
{
  NbGtkClient *self = NB_GTK_CLIENT (object);

  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->status, g_variant_unref);
  g_free (self->problem);
  g_free (self->call_problem);
  g_free (self->socket_path);
  G_OBJECT_CLASS (nb_gtk_client_parent_class)->finalize (object);
}

static void
nb_gtk_client_class_init (NbGtkClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = nb_gtk_client_dispose;
  object_class->finalize = nb_gtk_client_finalize;

  /* The state or one of the daemon's properties changed. */
  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* A new GetStatus() answer (or none, when the daemon went away). */
  signals[SIGNAL_STATUS_UPDATED]
      = g_signal_new ("status-updated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                      NULL, G_TYPE_NONE, 0);
  /* Up() or Down() failed; the argument is the daemon's message. */
  signals[SIGNAL_CALL_FAILED]
      = g_signal_new ("call-failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                      NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
nb_gtk_client_init (NbGtkClient *self)
{
  self->cancellable = g_cancellable_new ();
  self->state = NB_GTK_STATE_UNAVAILABLE;
}

NbGtkClient *
nb_gtk_client_new (const char *socket_path)
{
  NbGtkClient *self = g_object_new (NB_GTK_TYPE_CLIENT, NULL);

  self->socket_path = g_strdup (socket_path);
  return self;
}
