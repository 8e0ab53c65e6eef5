/* nb-gtk-app.c: the application: tray, menu, window, notifications
 *
 * Every menu entry is a GAction of the application; the tray menu
 * (nb-gtk-menu.c) and the window's buttons activate the same actions, and
 * every action that changes something is a call to the daemon
 * (nb-gtk-client.c). The app runs in the background while a tray host
 * shows its icon; where none is on the bus it says so once and lives in
 * its window, which then quits the app when closed.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-gtk"

#include "nb-gtk-config.h"
#include "nb-gtk-app.h"
#include "nb-gtk-client.h"
#include "nb-gtk-menu.h"
#include "nb-gtk-settings.h"
#include "nb-gtk-tray.h"
#include "nb-gtk-window.h"

#include <glib/gi18n.h>

struct _NbGtkApp
{
  AdwApplication parent_instance;

  char *daemon_addr; /* as given, or NULL for the default */
  char *socket_path;
  char *icon_theme_path;
  NbGtkClient *client;
  NbGtkTray *tray;
  NbGtkMenu *menu;
  NbGtkWindow *window;
  GSettings *settings;
  gboolean held;
  gboolean activated;
  gboolean no_tray_said;
  gboolean user_down; /* the user asked for Down: no "connection dropped" */
  gboolean dropped;   /* connected once, then lost it */
  NbGtkState last_state;
  GHashTable *peer_status; /* connected peers: publicKey -> FQDN; NULL while we are not */
};

G_DEFINE_FINAL_TYPE (NbGtkApp, nb_gtk_app, ADW_TYPE_APPLICATION)

static void
notify (NbGtkApp *self, const char *id, const char *title, const char *body)
{
  g_autoptr (GNotification) notification = NULL;

  if (self->settings != NULL && !g_settings_get_boolean (self->settings, "notifications"))
    {
      g_debug ("notification (turned off): %s", title);
      return;
    }
  g_debug ("notification: %s: %s", title, body != NULL ? body : "");
  notification = g_notification_new (title);
  if (body != NULL)
    g_notification_set_body (notification, body);
  g_notification_set_default_action (notification, "app.peers");
  g_application_send_notification (G_APPLICATION (self), id, notification);
}

static GtkWindow *
ensure_window (NbGtkApp *self)
{
  if (self->window == NULL)
    {
      self->window = nb_gtk_window_new (GTK_APPLICATION (self), self->client);
      g_object_add_weak_pointer (G_OBJECT (self->window), (gpointer *)&self->window);
    }
  /* With an icon in the tray, closing the window only hides it. */
  gtk_window_set_hide_on_close (GTK_WINDOW (self->window),
                                self->tray != NULL && nb_gtk_tray_is_registered (self->tray));
  return GTK_WINDOW (self->window);
}

static void
present_window (NbGtkApp *self)
{
  gtk_window_present (ensure_window (self));
  g_debug ("window: shown");
}

static void
set_held (NbGtkApp *self, gboolean held)
{
  if (self->held == held)
    return;
  self->held = held;
  if (held)
    g_application_hold (G_APPLICATION (self));
  else
    g_application_release (G_APPLICATION (self));
}

static void
set_action_enabled (NbGtkApp *self, const char *name, gboolean enabled)
{
  GAction *action = g_action_map_lookup_action (G_ACTION_MAP (self), name);

  g_simple_action_set_enabled (G_SIMPLE_ACTION (action), enabled);
}

static char *
status_line (NbGtkApp *self)
{
  NbGtkState state = nb_gtk_client_get_state (self->client);
  g_autofree char *address = nb_gtk_client_dup_address (self->client);
  g_autofree char *fqdn = nb_gtk_client_dup_fqdn (self->client);

  if (address != NULL && state != NB_GTK_STATE_UNAVAILABLE)
    return g_strdup_printf ("%s: %s%s%s", nb_gtk_state_to_string (state), address,
                            fqdn != NULL ? " · " : "", fqdn != NULL ? fqdn : "");
  return g_strdup (nb_gtk_state_to_string (state));
}

static void
on_client_changed (NbGtkClient *client, gpointer user_data)
{
  NbGtkApp *self = user_data;
  NbGtkState state = nb_gtk_client_get_state (client);
  g_autofree char *line = status_line (self);
  g_autofree char *address = nb_gtk_client_dup_address (client);
  const char *problem = nb_gtk_client_get_problem (client);

  set_action_enabled (self, "connect",
                      state == NB_GTK_STATE_DISCONNECTED || state == NB_GTK_STATE_ERROR
                          || state == NB_GTK_STATE_NEEDS_LOGIN);
  set_action_enabled (self, "disconnect",
                      state == NB_GTK_STATE_CONNECTED || state == NB_GTK_STATE_CONNECTING);
  set_action_enabled (self, "copy-address", address != NULL && state != NB_GTK_STATE_UNAVAILABLE);
  set_action_enabled (self, "settings", state != NB_GTK_STATE_UNAVAILABLE);
  if (self->menu != NULL)
    nb_gtk_menu_set_status (self->menu, line);
  if (self->tray != NULL)
    nb_gtk_tray_set_icon (self->tray, nb_gtk_state_to_icon_name (state), _ ("NetBird"),
                          problem != NULL ? problem : line);

  if (state == self->last_state)
    return;
  if (self->last_state == NB_GTK_STATE_CONNECTED && !self->user_down)
    {
      self->dropped = TRUE;
      notify (self, "connection", _ ("NetBird connection lost"),
              problem != NULL ? problem : nb_gtk_state_to_string (state));
    }
  else if (state == NB_GTK_STATE_CONNECTED && self->dropped)
    {
      self->dropped = FALSE;
      notify (self, "connection", _ ("NetBird connected again"), line);
    }
  if (state == NB_GTK_STATE_CONNECTED)
    self->user_down = FALSE;
  self->last_state = state;
}

/* The peers a status lists as connected: publicKey -> FQDN. */
static GHashTable *
connected_peers (GVariant *peers)
{
  GHashTable *connected = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  GVariantIter iter;
  GVariant *peer;

  g_variant_iter_init (&iter, peers);
  while ((peer = g_variant_iter_next_value (&iter)) != NULL)
    {
      const char *key = "", *peer_state = "", *fqdn = "";
      g_variant_lookup (peer, "publicKey", "&s", &key);
      g_variant_lookup (peer, "status", "&s", &peer_state);
      g_variant_lookup (peer, "fqdn", "&s", &fqdn);
      if (g_str_equal (peer_state, "Connected"))
        g_hash_table_insert (connected, g_strdup (key), g_strdup (fqdn));
      g_variant_unref (peer);
    }
  return connected;
}

static void
on_status_updated (NbGtkClient *client, gpointer user_data)
{
  NbGtkApp *self = user_data;
  GVariant *status = nb_gtk_client_get_status (client);
  g_autoptr (GVariant) peers
      = status != NULL ? g_variant_lookup_value (status, "peers", G_VARIANT_TYPE ("aa{sv}")) : NULL;
  g_autoptr (GHashTable) now = NULL;
  GHashTableIter iter;
  gpointer key, fqdn;

  /* While our own tunnel is not up, peers come and go with it: that is
   * the connection's notification, not one per peer. */
  if (peers == NULL || nb_gtk_client_get_state (client) != NB_GTK_STATE_CONNECTED)
    {
      g_clear_pointer (&self->peer_status, g_hash_table_unref);
      return;
    }
  now = connected_peers (peers);
  if (self->peer_status != NULL)
    {
      g_hash_table_iter_init (&iter, now);
      while (g_hash_table_iter_next (&iter, &key, &fqdn))
        if (!g_hash_table_contains (self->peer_status, key))
          {
            g_autofree char *body = g_strdup_printf (_ ("%s is connected."), (char *)fqdn);
            notify (self, key, _ ("Peer connected"), body);
          }
      g_hash_table_iter_init (&iter, self->peer_status);
      while (g_hash_table_iter_next (&iter, &key, &fqdn))
        if (!g_hash_table_contains (now, key))
          {
            g_autofree char *body = g_strdup_printf (_ ("%s left."), (char *)fqdn);
            notify (self, key, _ ("Peer left"), body);
          }
    }
  g_clear_pointer (&self->peer_status, g_hash_table_unref);
  self->peer_status = g_steal_pointer (&now);
}

static void
on_call_failed (NbGtkClient *client, const char *message, gpointer user_data)
{
  NbGtkApp *self = user_data;

  notify (self, "call-failed", _ ("NetBird"), message);
  /* Connect on a peer Management does not know: ask for the setup key. */
  if (nb_gtk_client_get_state (client) == NB_GTK_STATE_NEEDS_LOGIN)
    g_action_group_activate_action (G_ACTION_GROUP (self), "settings", NULL);
}

static void
on_tray_activate (NbGtkTray *tray, gpointer user_data)
{
  present_window (user_data);
}

static void
on_tray_host_changed (NbGtkTray *tray, gpointer user_data)
{
  NbGtkApp *self = user_data;

  if (nb_gtk_tray_is_registered (tray))
    {
      g_debug ("tray: the icon has a host");
      set_held (self, TRUE);
      if (self->window != NULL)
        gtk_window_set_hide_on_close (GTK_WINDOW (self->window), TRUE);
      return;
    }
  if (!self->no_tray_said)
    {
      self->no_tray_said = TRUE;
      g_message ("%s", _ ("No system tray (org.kde.StatusNotifierWatcher) on this desktop: "
                          "NetBird stays usable through its window."));
    }
  /* Without a tray the window is the app: closing it quits. */
  present_window (self);
  set_held (self, FALSE);
}

static void
action_connect (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  NbGtkApp *self = user_data;

  if (nb_gtk_client_get_state (self->client) == NB_GTK_STATE_NEEDS_LOGIN)
    {
      g_action_group_activate_action (G_ACTION_GROUP (self), "settings", NULL);
      return;
    }
  self->user_down = FALSE;
  nb_gtk_client_up (self->client, g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0));
}

static void
action_disconnect (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  NbGtkApp *self = user_data;

  self->user_down = TRUE;
  nb_gtk_client_down (self->client);
}

static void
action_peers (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  present_window (user_data);
}

static void
action_copy_address (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  NbGtkApp *self = user_data;
  g_autofree char *address = nb_gtk_client_dup_address (self->client);
  GdkDisplay *display = gdk_display_get_default ();

  if (address == NULL || display == NULL)
    return;
  gdk_clipboard_set_text (gdk_display_get_clipboard (display), address);
  g_debug ("copied %s", address);
}

static void
action_settings (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  NbGtkApp *self = user_data;
  GtkWindow *window
      = nb_gtk_settings_window_new (ensure_window (self), self->client, self->settings);

  gtk_window_set_application (window, GTK_APPLICATION (self));
  gtk_window_present (window);
}

/* "Start on login": the state is whether the autostart entry exists. */
static void
action_autostart_change (GSimpleAction *action, GVariant *value, gpointer user_data)
{
  NbGtkApp *self = user_data;
  g_autoptr (GError) error = NULL;

  if (!nb_gtk_autostart_set (g_variant_get_boolean (value), self->daemon_addr, &error))
    {
      g_message ("%s", error->message);
      return;
    }
  g_simple_action_set_state (action, value);
}

static void
action_about (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  NbGtkApp *self = user_data;
  g_autofree char *daemon_version = nb_gtk_client_dup_daemon_version (self->client);
  g_autofree char *comments = NULL;
  GtkWidget *about = adw_about_window_new ();

  if (daemon_version != NULL)
    comments = g_strdup_printf (_ ("NetBird daemon %s at %s"), daemon_version, self->socket_path);
  else
    comments = g_strdup_printf (_ ("No NetBird daemon at %s"), self->socket_path);
  g_object_set (about, "application-name", _ ("NetBird"), "application-icon", NB_GTK_APP_ID,
                "version", NB_GTK_VERSION, "comments", comments, "license-type", GTK_LICENSE_BSD_3,
                "transient-for", ensure_window (self), "title", _ ("About NetBird"), NULL);
  gtk_window_present (GTK_WINDOW (about));
}

static void
action_quit (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  NbGtkApp *self = user_data;

  g_debug ("quit");
  g_application_quit (G_APPLICATION (self));
}

static const GActionEntry app_actions[] = {
  { "connect", action_connect, NULL, NULL, NULL, { 0 } },
  { "disconnect", action_disconnect, NULL, NULL, NULL, { 0 } },
  { "peers", action_peers, NULL, NULL, NULL, { 0 } },
  { "copy-address", action_copy_address, NULL, NULL, NULL, { 0 } },
  { "settings", action_settings, NULL, NULL, NULL, { 0 } },
  { "about", action_about, NULL, NULL, NULL, { 0 } },
  { "autostart", NULL, NULL, "false", action_autostart_change, { 0 } },
  { "quit", action_quit, NULL, NULL, NULL, { 0 } },
};

static GSettings *
load_settings (void)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr (GSettingsSchema) schema
      = source != NULL ? g_settings_schema_source_lookup (source, NB_GTK_APP_ID, TRUE) : NULL;

  if (schema == NULL)
    {
      g_message ("the %s settings schema is not installed: notifications stay on", NB_GTK_APP_ID);
      return NULL;
    }
  return g_settings_new_full (schema, NULL, NULL);
}

static char *
find_icon_theme_path (void)
{
  g_autofree char *installed = g_build_filename (NB_GTK_ICONDIR, "hicolor", "scalable", "status",
                                                 "netbird-connected.svg", NULL);

  if (g_file_test (installed, G_FILE_TEST_EXISTS))
    return g_strdup (NB_GTK_ICONDIR);
  /* Uninstalled, from the build tree. */
  return g_strdup (NB_GTK_BUILD_ICONDIR);
}

static void
nb_gtk_app_startup (GApplication *application)
{
  NbGtkApp *self = NB_GTK_APP (application);
  GDBusConnection *session;

  G_APPLICATION_CLASS (nb_gtk_app_parent_class)->startup (application);

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions, G_N_ELEMENTS (app_actions),
                                   self);
  g_simple_action_set_state (
      G_SIMPLE_ACTION (g_action_map_lookup_action (G_ACTION_MAP (self), "autostart")),
      g_variant_new_boolean (nb_gtk_autostart_is_enabled ()));
  self->settings = load_settings ();
  self->icon_theme_path = find_icon_theme_path ();
  gtk_icon_theme_add_search_path (gtk_icon_theme_get_for_display (gdk_display_get_default ()),
                                  self->icon_theme_path);
  gtk_window_set_default_icon_name (NB_GTK_APP_ID);

  self->client = nb_gtk_client_new (self->socket_path);
  g_signal_connect (self->client, "changed", G_CALLBACK (on_client_changed), self);
  g_signal_connect (self->client, "status-updated", G_CALLBACK (on_status_updated), self);
  g_signal_connect (self->client, "call-failed", G_CALLBACK (on_call_failed), self);
  on_client_changed (self->client, self);

  session = g_application_get_dbus_connection (application);
  if (session != NULL)
    {
      self->menu = nb_gtk_menu_new (session, G_ACTION_GROUP (self));
      self->tray = nb_gtk_tray_new (session, NB_GTK_MENU_PATH, self->icon_theme_path);
      g_signal_connect (self->tray, "activate", G_CALLBACK (on_tray_activate), self);
      g_signal_connect (self->tray, "host-changed", G_CALLBACK (on_tray_host_changed), self);
      on_client_changed (self->client, self);
    }
  nb_gtk_client_start (self->client);
}

static void
nb_gtk_app_activate (GApplication *application)
{
  NbGtkApp *self = NB_GTK_APP (application);

  if (!self->activated)
    {
      self->activated = TRUE;
      if (self->tray != NULL)
        {
          /* Stay in the background until the tray says whether it has a host. */
          set_held (self, TRUE);
          return;
        }
      on_tray_host_changed (NULL, self);
      return;
    }
  present_window (self);
}

static int
nb_gtk_app_handle_local_options (GApplication *application, GVariantDict *options)
{
  NbGtkApp *self = NB_GTK_APP (application);
  const char *addr = NULL;

  if (g_variant_dict_contains (options, "version"))
    {
      g_print ("netbird-gtk %s\n", NB_GTK_VERSION);
      return 0;
    }
  if (!g_variant_dict_lookup (options, "daemon-addr", "&s", &addr))
    addr = NULL;
  if (addr != NULL && (!g_str_has_prefix (addr, "unix://") || addr[strlen ("unix://")] != '/'))
    {
      g_printerr (_ ("netbird-gtk: the daemon address %s is not a Unix socket: use unix:///PATH\n"),
                  addr);
      return 2;
    }
  g_free (self->daemon_addr);
  self->daemon_addr = g_strdup (addr);
  g_free (self->socket_path);
  self->socket_path
      = g_strdup ((addr != NULL ? addr : NB_GTK_DEFAULT_DAEMON_ADDR) + strlen ("unix://"));
  return -1;
}

static void
nb_gtk_app_dispose (GObject *object)
{
  NbGtkApp *self = NB_GTK_APP (object);

  if (self->client != NULL)
    g_signal_handlers_disconnect_by_data (self->client, self);
  if (self->tray != NULL)
    g_signal_handlers_disconnect_by_data (self->tray, self);
  g_clear_object (&self->tray);
  g_clear_object (&self->menu);
  g_clear_object (&self->client);
  g_clear_object (&self->settings);
  g_clear_pointer (&self->peer_status, g_hash_table_unref);
  G_OBJECT_CLASS (nb_gtk_app_parent_class)->dispose (object);
}

static void
nb_gtk_app_finalize (GObject *object)
{
  NbGtkApp *self = NB_GTK_APP (object);

  g_free (self->daemon_addr);
  g_free (self->socket_path);
  g_free (self->icon_theme_path);
  G_OBJECT_CLASS (nb_gtk_app_parent_class)->finalize (object);
}

static void
nb_gtk_app_class_init (NbGtkAppClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->dispose = nb_gtk_app_dispose;
  object_class->finalize = nb_gtk_app_finalize;
  app_class->startup = nb_gtk_app_startup;
  app_class->activate = nb_gtk_app_activate;
  app_class->handle_local_options = nb_gtk_app_handle_local_options;
}

static void
nb_gtk_app_init (NbGtkApp *self)
{
  const GOptionEntry entries[] = {
    { "daemon-addr", 0, 0, G_OPTION_ARG_STRING, NULL,
      N_ ("The daemon's socket (default " NB_GTK_DEFAULT_DAEMON_ADDR ")"), "unix:///PATH" },
    { "version", 0, 0, G_OPTION_ARG_NONE, NULL, N_ ("Print the version and exit"), NULL },
    { NULL, 0, 0, 0, NULL, NULL, NULL },
  };

  self->last_state = NB_GTK_STATE_UNAVAILABLE;
  self->socket_path = g_strdup (NB_GTK_DEFAULT_DAEMON_ADDR + strlen ("unix://"));
  g_application_add_main_option_entries (G_APPLICATION (self), entries);
}

NbGtkApp *
nb_gtk_app_new (void)
{
  return g_object_new (NB_GTK_TYPE_APP, "application-id", NB_GTK_APP_ID, "flags",
                       G_APPLICATION_DEFAULT_FLAGS, NULL);
}
