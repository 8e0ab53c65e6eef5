/* nb-gtk-tray.c: a StatusNotifierItem on the session bus
 *
 * Our own org.kde.StatusNotifierItem (the KDE/freedesktop "SNI" spec) over
 * GDBus: it owns org.kde.StatusNotifierItem-PID-1, serves the item at
 * /StatusNotifierItem with its menu at the path given (com.canonical.dbusmenu,
 * nb-gtk-menu.c), and registers with org.kde.StatusNotifierWatcher whenever
 * one appears. Activate() is implemented: it emits ::activate, which opens
 * the window. When no watcher is on the bus ::host-changed says so.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-gtk"

#include "nb-gtk-tray.h"

#include <unistd.h>

#define SNI_PATH "/StatusNotifierItem"
#define SNI_INTERFACE "org.kde.StatusNotifierItem"
#define WATCHER_NAME "org.kde.StatusNotifierWatcher"
#define WATCHER_PATH "/StatusNotifierWatcher"

static const char sni_xml[]
    = "<node>"
      " <interface name='org.kde.StatusNotifierItem'>"
      "  <property name='Category' type='s' access='read'/>"
      "  <property name='Id' type='s' access='read'/>"
      "  <property name='Title' type='s' access='read'/>"
      "  <property name='Status' type='s' access='read'/>"
      "  <property name='WindowId' type='i' access='read'/>"
      "  <property name='IconThemePath' type='s' access='read'/>"
      "  <property name='IconName' type='s' access='read'/>"
      "  <property name='IconPixmap' type='a(iiay)' access='read'/>"
      "  <property name='OverlayIconName' type='s' access='read'/>"
      "  <property name='OverlayIconPixmap' type='a(iiay)' access='read'/>"
      "  <property name='AttentionIconName' type='s' access='read'/>"
      "  <property name='AttentionIconPixmap' type='a(iiay)' access='read'/>"
      "  <property name='AttentionMovieName' type='s' access='read'/>"
      "  <property name='ToolTip' type='(sa(iiay)ss)' access='read'/>"
      "  <property name='ItemIsMenu' type='b' access='read'/>"
      "  <property name='Menu' type='o' access='read'/>"
      "  <method name='ContextMenu'><arg name='x' type='i'/><arg name='y' type='i'/></method>"
      "  <method name='Activate'><arg name='x' type='i'/><arg name='y' type='i'/></method>"
      "  <method name='SecondaryActivate'><arg name='x' type='i'/><arg name='y' type='i'/></method>"
      "  <method name='Scroll'><arg name='delta' type='i'/><arg name='orientation' "
      "type='s'/></method>"
      "  <signal name='NewTitle'/>"
      "  <signal name='NewIcon'/>"
      "  <signal name='NewAttentionIcon'/>"
      "  <signal name='NewOverlayIcon'/>"
      "  <signal name='NewToolTip'/>"
      "  <signal name='NewStatus'><arg name='status' type='s'/></signal>"
      " </interface>"
      "</node>";

struct _NbGtkTray
{
  GObject parent_instance;

  GDBusConnection *session;
  GCancellable *cancellable;
  char *bus_name;
  char *menu_path;
  char *icon_theme_path;
  char *icon_name;
  char *title;
  char *description;
  guint object_id;
  guint own_id;
  guint watch_id;
  gboolean name_owned;
  gboolean registered;
  gboolean watcher_present;
  guint icon_reads; /* how often a host read IconName: it is shown somewhere */
};

enum
{
  SIGNAL_ACTIVATE,
  SIGNAL_HOST_CHANGED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (NbGtkTray, nb_gtk_tray, G_TYPE_OBJECT)

static void
tray_method_call (GDBusConnection *connection, const char *sender, const char *object_path,
                  const char *interface_name, const char *method_name, GVariant *parameters,
                  GDBusMethodInvocation *invocation, gpointer user_data)
{
  NbGtkTray *self = user_data;

  /* ContextMenu comes from hosts that do not show the dbusmenu
   * themselves; the window holds the same actions, so it opens too.
   * Scroll has nothing to change. */
  if (g_str_equal (method_name, "Activate") || g_str_equal (method_name, "SecondaryActivate")
      || g_str_equal (method_name, "ContextMenu"))
    {
      g_debug ("tray: %s from %s", method_name, sender);
      g_signal_emit (self, signals[SIGNAL_ACTIVATE], 0);
    }
  g_dbus_method_invocation_return_value (invocation, NULL);
}

static GVariant *
empty_pixmaps (void)
{
  return g_variant_new_array (G_VARIANT_TYPE ("(iiay)"), NULL, 0);
}

static GVariant *
tray_get_property (GDBusConnection *connection, const char *sender, const char *object_path,
                   const char *interface_name, const char *property_name, GError **error,
                   gpointer user_data)
{
  NbGtkTray *self = user_data;

  if (g_str_equal (property_name, "Category"))
    return g_variant_new_string ("ApplicationStatus");
  if (g_str_equal (property_name, "Id"))
    return g_variant_new_string ("netbird");
  if (g_str_equal (property_name, "Title"))
    return g_variant_new_string (self->title != NULL ? self->title : "NetBird");
  if (g_str_equal (property_name, "Status"))
    return g_variant_new_string ("Active");
  if (g_str_equal (property_name, "WindowId"))
    return g_variant_new_int32 (0);
  if (g_str_equal (property_name, "IconThemePath"))
    return g_variant_new_string (self->icon_theme_path != NULL ? self->icon_theme_path : "");
  if (g_str_equal (property_name, "IconName"))
    {
      if (self->icon_reads++ == 0)
        g_debug ("tray: the host at %s read the icon %s", sender, self->icon_name);
      return g_variant_new_string (self->icon_name != NULL ? self->icon_name : "");
    }
  if (g_str_equal (property_name, "IconPixmap") || g_str_equal (property_name, "OverlayIconPixmap")
      || g_str_equal (property_name, "AttentionIconPixmap"))
    return empty_pixmaps ();
  if (g_str_equal (property_name, "OverlayIconName")
      || g_str_equal (property_name, "AttentionIconName")
      || g_str_equal (property_name, "AttentionMovieName"))
    return g_variant_new_string ("");
  if (g_str_equal (property_name, "ToolTip"))
    return g_variant_new ("(s@a(iiay)ss)", self->icon_name != NULL ? self->icon_name : "",
                          empty_pixmaps (), self->title != NULL ? self->title : "NetBird",
                          self->description != NULL ? self->description : "");
  if (g_str_equal (property_name, "ItemIsMenu"))
    return g_variant_new_boolean (FALSE);
  if (g_str_equal (property_name, "Menu"))
    return g_variant_new_object_path (self->menu_path);
  g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY, "no property %s", property_name);
  return NULL;
}

static const GDBusInterfaceVTable tray_vtable
    = { tray_method_call, tray_get_property, NULL, { 0 } };

static void
set_host (NbGtkTray *self, gboolean registered)
{
  if (self->registered == registered)
    return;
  self->registered = registered;
  g_signal_emit (self, signals[SIGNAL_HOST_CHANGED], 0);
}

static void
registered_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (NbGtkTray) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply
      = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);

  if (reply == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      g_dbus_error_strip_remote_error (error);
      g_debug ("tray: the watcher refused the item: %s", error->message);
      set_host (self, FALSE);
      return;
    }
  g_debug ("tray: registered %s with %s", self->bus_name, WATCHER_NAME);
  set_host (self, TRUE);
}

static void
try_register (NbGtkTray *self)
{
  if (!self->name_owned || !self->watcher_present)
    return;
  g_dbus_connection_call (self->session, WATCHER_NAME, WATCHER_PATH, WATCHER_NAME,
                          "RegisterStatusNotifierItem", g_variant_new ("(s)", self->bus_name), NULL,
                          G_DBUS_CALL_FLAGS_NONE, 5000, self->cancellable, registered_cb,
                          g_object_ref (self));
}

static void
watcher_appeared (GDBusConnection *connection, const char *name, const char *owner,
                  gpointer user_data)
{
  NbGtkTray *self = user_data;

  g_debug ("tray: %s appeared (%s)", name, owner);
  self->watcher_present = TRUE;
  try_register (self);
}

static void
watcher_vanished (GDBusConnection *connection, const char *name, gpointer user_data)
{
  NbGtkTray *self = user_data;

  self->watcher_present = FALSE;
  /* The first call says "none" even when there never was one: the app
   * needs to hear it to fall back to its window. */
  self->registered = TRUE;
  set_host (self, FALSE);
}

static void
name_acquired (GDBusConnection *connection, const char *name, gpointer user_data)
{
  NbGtkTray *self = user_data;

  self->name_owned = TRUE;
  try_register (self);
}

static void
name_lost (GDBusConnection *connection, const char *name, gpointer user_data)
{
  NbGtkTray *self = user_data;

  self->name_owned = FALSE;
}

/**
 * nb_gtk_tray_set_icon:
 *
 * Shows @icon_name (from the hicolor theme or the icon theme path) and
 * tells the host, which reads the properties again.
 */
void
nb_gtk_tray_set_icon (NbGtkTray *self, const char *icon_name, const char *title,
                      const char *description)
{
  gboolean icon_changed = g_strcmp0 (self->icon_name, icon_name) != 0;
  gboolean tip_changed = icon_changed || g_strcmp0 (self->title, title) != 0
                         || g_strcmp0 (self->description, description) != 0;

  g_free (self->icon_name);
  self->icon_name = g_strdup (icon_name);
  g_free (self->title);
  self->title = g_strdup (title);
  g_free (self->description);
  self->description = g_strdup (description);
  if (icon_changed)
    {
      g_debug ("tray: icon %s", icon_name);
      g_dbus_connection_emit_signal (self->session, NULL, SNI_PATH, SNI_INTERFACE, "NewIcon", NULL,
                                     NULL);
    }
  if (tip_changed)
    {
      g_dbus_connection_emit_signal (self->session, NULL, SNI_PATH, SNI_INTERFACE, "NewTitle", NULL,
                                     NULL);
      g_dbus_connection_emit_signal (self->session, NULL, SNI_PATH, SNI_INTERFACE, "NewToolTip",
                                     NULL, NULL);
    }
}

/* Whether a StatusNotifierWatcher took the item. */
gboolean
nb_gtk_tray_is_registered (NbGtkTray *self)
{
  return self->registered;
}

static void
nb_gtk_tray_dispose (GObject *object)
{
  NbGtkTray *self = NB_GTK_TRAY (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->watch_id, g_bus_unwatch_name);
  g_clear_handle_id (&self->own_id, g_bus_unown_name);
  if (self->object_id != 0)
    g_dbus_connection_unregister_object (self->session, self->object_id);
  self->object_id = 0;
  g_clear_object (&self->session);
  G_OBJECT_CLASS (nb_gtk_tray_parent_class)->dispose (object);
}

static void
nb_gtk_tray_finalize (GObject *object)
{
  NbGtkTray *self = NB_GTK_TRAY (object);

  g_clear_object (&self->cancellable);
  g_free (self->bus_name);
  g_free (self->menu_path);
  g_free (self->icon_theme_path);
  g_free (self->icon_name);
  g_free (self->title);
  g_free (self->description);
  G_OBJECT_CLASS (nb_gtk_tray_parent_class)->finalize (object);
}

static void
nb_gtk_tray_class_init (NbGtkTrayClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = nb_gtk_tray_dispose;
  object_class->finalize = nb_gtk_tray_finalize;

  /* The host activated the item (a click on the icon). */
  signals[SIGNAL_ACTIVATE] = g_signal_new ("activate", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                           0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* A watcher took the item, or there is none any more (see
   * nb_gtk_tray_is_registered()). */
  signals[SIGNAL_HOST_CHANGED]
      = g_signal_new ("host-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                      NULL, G_TYPE_NONE, 0);
}

static void
nb_gtk_tray_init (NbGtkTray *self)
{
  self->cancellable = g_cancellable_new ();
}

NbGtkTray *
nb_gtk_tray_new (GDBusConnection *session, const char *menu_path, const char *icon_theme_path)
{
  NbGtkTray *self = g_object_new (NB_GTK_TYPE_TRAY, NULL);
  g_autoptr (GDBusNodeInfo) node = g_dbus_node_info_new_for_xml (sni_xml, NULL);
  g_autoptr (GError) error = NULL;

  self->session = g_object_ref (session);
  self->menu_path = g_strdup (menu_path);
  self->icon_theme_path = g_strdup (icon_theme_path);
  self->icon_name = g_strdup ("netbird-error");
  self->bus_name = g_strdup_printf ("org.kde.StatusNotifierItem-%d-1", (int)getpid ());
  self->object_id = g_dbus_connection_register_object (session, SNI_PATH, node->interfaces[0],
                                                       &tray_vtable, self, NULL, &error);
  if (self->object_id == 0)
    g_warning ("cannot serve %s: %s", SNI_PATH, error->message);
  self->own_id = g_bus_own_name_on_connection (session, self->bus_name, G_BUS_NAME_OWNER_FLAGS_NONE,
                                               name_acquired, name_lost, self, NULL);
  self->watch_id
      = g_bus_watch_name_on_connection (session, WATCHER_NAME, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                        watcher_appeared, watcher_vanished, self, NULL);
  return self;
}
