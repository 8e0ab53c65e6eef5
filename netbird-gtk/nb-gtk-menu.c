/* nb-gtk-menu.c: the tray menu, served over com.canonical.dbusmenu
 *
 * A flat menu under the root item 0, each entry bound to a GAction of the
 * application: a click (dbusmenu "clicked" event) activates the action, a
 * disabled action is a greyed entry, and Connect / Disconnect show only
 * when they apply. Every change bumps the layout revision and emits
 * LayoutUpdated, so hosts fetch the menu again instead of showing a stale
 * one. The protocol is libdbusmenu's (version 3), as KDE, Xfce and the
 * GNOME AppIndicator extension speak it.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-gtk"

#include "nb-gtk-config.h"
#include "nb-gtk-menu.h"

#include <glib/gi18n.h>
#include <gtk/gtk.h>

#define DBUSMENU_INTERFACE "com.canonical.dbusmenu"

static const char menu_xml[] = "<node>"
                               " <interface name='com.canonical.dbusmenu'>"
                               "  <property name='Version' type='u' access='read'/>"
                               "  <property name='TextDirection' type='s' access='read'/>"
                               "  <property name='Status' type='s' access='read'/>"
                               "  <property name='IconThemePath' type='as' access='read'/>"
                               "  <method name='GetLayout'>"
                               "   <arg type='i' name='parentId' direction='in'/>"
                               "   <arg type='i' name='recursionDepth' direction='in'/>"
                               "   <arg type='as' name='propertyNames' direction='in'/>"
                               "   <arg type='u' name='revision' direction='out'/>"
                               "   <arg type='(ia{sv}av)' name='layout' direction='out'/>"
                               "  </method>"
                               "  <method name='GetGroupProperties'>"
                               "   <arg type='ai' name='ids' direction='in'/>"
                               "   <arg type='as' name='propertyNames' direction='in'/>"
                               "   <arg type='a(ia{sv})' name='properties' direction='out'/>"
                               "  </method>"
                               "  <method name='GetProperty'>"
                               "   <arg type='i' name='id' direction='in'/>"
                               "   <arg type='s' name='name' direction='in'/>"
                               "   <arg type='v' name='value' direction='out'/>"
                               "  </method>"
                               "  <method name='Event'>"
                               "   <arg type='i' name='id' direction='in'/>"
                               "   <arg type='s' name='eventId' direction='in'/>"
                               "   <arg type='v' name='data' direction='in'/>"
                               "   <arg type='u' name='timestamp' direction='in'/>"
                               "  </method>"
                               "  <method name='EventGroup'>"
                               "   <arg type='a(isvu)' name='events' direction='in'/>"
                               "   <arg type='ai' name='idErrors' direction='out'/>"
                               "  </method>"
                               "  <method name='AboutToShow'>"
                               "   <arg type='i' name='id' direction='in'/>"
                               "   <arg type='b' name='needUpdate' direction='out'/>"
                               "  </method>"
                               "  <method name='AboutToShowGroup'>"
                               "   <arg type='ai' name='ids' direction='in'/>"
                               "   <arg type='ai' name='updatesNeeded' direction='out'/>"
                               "   <arg type='ai' name='idErrors' direction='out'/>"
                               "  </method>"
                               "  <signal name='ItemsPropertiesUpdated'>"
                               "   <arg type='a(ia{sv})' name='updatedProps'/>"
                               "   <arg type='a(ias)' name='removedProps'/>"
                               "  </signal>"
                               "  <signal name='LayoutUpdated'>"
                               "   <arg type='u' name='revision'/>"
                               "   <arg type='i' name='parent'/>"
                               "  </signal>"
                               "  <signal name='ItemActivationRequested'>"
                               "   <arg type='i' name='id'/>"
                               "   <arg type='u' name='timestamp'/>"
                               "  </signal>"
                               " </interface>"
                               "</node>";

typedef enum
{
  ITEM_STATUS,
  ITEM_ACTION,
  ITEM_SEPARATOR,
  ITEM_TOGGLE_VISIBLE
} ItemKind;

typedef struct
{
  int id;
  ItemKind kind;
  const char *label;  /* N_() */
  const char *action; /* in the application's action group */
} MenuItem;

/* ITEM_TOGGLE_VISIBLE: shown only while its action is enabled. */
static const MenuItem items[] = {
  { 1, ITEM_STATUS, NULL, NULL },
  { 2, ITEM_SEPARATOR, NULL, NULL },
  { 3, ITEM_TOGGLE_VISIBLE, N_ ("Connect"), "connect" },
  { 4, ITEM_TOGGLE_VISIBLE, N_ ("Disconnect"), "disconnect" },
  { 5, ITEM_ACTION, N_ ("Peers…"), "peers" },
  { 6, ITEM_ACTION, N_ ("Copy my address"), "copy-address" },
  { 7, ITEM_SEPARATOR, NULL, NULL },
  { 8, ITEM_ACTION, N_ ("Settings…"), "settings" },
  { 9, ITEM_ACTION, N_ ("About"), "about" },
  { 10, ITEM_SEPARATOR, NULL, NULL },
  { 11, ITEM_ACTION, N_ ("Quit"), "quit" },
};

struct _NbGtkMenu
{
  GObject parent_instance;

  GDBusConnection *session;
  GActionGroup *actions;
  guint object_id;
  guint revision;
  guint update_id;
  char *status_line;
};

G_DEFINE_FINAL_TYPE (NbGtkMenu, nb_gtk_menu, G_TYPE_OBJECT)

static const MenuItem *
find_item (int id)
{
  for (gsize i = 0; i < G_N_ELEMENTS (items); i++)
    if (items[i].id == id)
      return &items[i];
  return NULL;
}

static gboolean
wanted (const char *const *names, const char *name)
{
  return names == NULL || names[0] == NULL || g_strv_contains (names, name);
}

static GVariant *
item_properties (NbGtkMenu *self, int id, const char *const *names)
{
  GVariantBuilder props;
  const MenuItem *item = find_item (id);

  g_variant_builder_init (&props, G_VARIANT_TYPE_VARDICT);
  if (id == 0)
    {
      if (wanted (names, "children-display"))
        g_variant_builder_add (&props, "{sv}", "children-display",
                               g_variant_new_string ("submenu"));
      return g_variant_builder_end (&props);
    }
  if (item == NULL)
    return g_variant_builder_end (&props);

  switch (item->kind)
    {
    case ITEM_SEPARATOR:
      if (wanted (names, "type"))
        g_variant_builder_add (&props, "{sv}", "type", g_variant_new_string ("separator"));
      break;
    case ITEM_STATUS:
      if (wanted (names, "label"))
        g_variant_builder_add (
            &props, "{sv}", "label",
            g_variant_new_string (self->status_line != NULL ? self->status_line : "NetBird"));
      if (wanted (names, "enabled"))
        g_variant_builder_add (&props, "{sv}", "enabled", g_variant_new_boolean (FALSE));
      break;
    case ITEM_ACTION:
    case ITEM_TOGGLE_VISIBLE:
      {
        gboolean enabled = g_action_group_get_action_enabled (self->actions, item->action);
        if (wanted (names, "label"))
          g_variant_builder_add (&props, "{sv}", "label", g_variant_new_string (_ (item->label)));
        if (wanted (names, "enabled"))
          g_variant_builder_add (
              &props, "{sv}", "enabled",
              g_variant_new_boolean (item->kind == ITEM_TOGGLE_VISIBLE || enabled));
        if (wanted (names, "visible"))
          g_variant_builder_add (
              &props, "{sv}", "visible",
              g_variant_new_boolean (item->kind != ITEM_TOGGLE_VISIBLE || enabled));
      }
      break;
    default:
      break;
    }
  return g_variant_builder_end (&props);
}

static GVariant *
layout (NbGtkMenu *self, int id, int depth, const char *const *names)
{
  GVariantBuilder children;

  g_variant_builder_init (&children, G_VARIANT_TYPE ("av"));
  if (id == 0 && depth != 0)
    for (gsize i = 0; i < G_N_ELEMENTS (items); i++)
      g_variant_builder_add (&children, "v", layout (self, items[i].id, depth - 1, names));
  return g_variant_new ("(i@a{sv}av)", id, item_properties (self, id, names), &children);
}

static gboolean
valid_id (int id)
{
  return id == 0 || find_item (id) != NULL;
}

static gboolean
handle_event (NbGtkMenu *self, int id, const char *event)
{
  const MenuItem *item = find_item (id);

  if (!valid_id (id))
    return FALSE;
  if (item == NULL || !g_str_equal (event, "clicked") || item->action == NULL)
    return TRUE;
  if (!g_action_group_get_action_enabled (self->actions, item->action))
    {
      g_debug ("menu: %s clicked while disabled", item->action);
      return TRUE;
    }
  g_debug ("menu: %s clicked", item->action);
  g_action_group_activate_action (self->actions, item->action, NULL);
  return TRUE;
}

static void
menu_method_call (GDBusConnection *connection, const char *sender, const char *object_path,
                  const char *interface_name, const char *method_name, GVariant *parameters,
                  GDBusMethodInvocation *invocation, gpointer user_data)
{
  NbGtkMenu *self = user_data;

  if (g_str_equal (method_name, "GetLayout"))
    {
      gint32 parent, depth;
      g_autofree const char **names = NULL;

      g_variant_get (parameters, "(ii^a&s)", &parent, &depth, &names);
      if (!valid_id (parent))
        {
          g_dbus_method_invocation_return_error (
              invocation, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS, "no menu item %d", parent);
          return;
        }
      g_dbus_method_invocation_return_value (
          invocation,
          g_variant_new ("(u@(ia{sv}av))", self->revision, layout (self, parent, depth, names)));
    }
  else if (g_str_equal (method_name, "GetGroupProperties"))
    {
      g_autoptr (GVariantIter) ids = NULL;
      g_autofree const char **names = NULL;
      GVariantBuilder result;
      gint32 id;

      g_variant_get (parameters, "(ai^a&s)", &ids, &names);
      g_variant_builder_init (&result, G_VARIANT_TYPE ("a(ia{sv})"));
      while (g_variant_iter_next (ids, "i", &id))
        if (valid_id (id))
          g_variant_builder_add (&result, "(i@a{sv})", id, item_properties (self, id, names));
      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(a(ia{sv}))", &result));
    }
  else if (g_str_equal (method_name, "GetProperty"))
    {
      gint32 id;
      const char *name;
      const char *names[2] = { NULL, NULL };
      g_autoptr (GVariant) props = NULL;
      g_autoptr (GVariant) value = NULL;

      g_variant_get (parameters, "(i&s)", &id, &name);
      names[0] = name;
      props = item_properties (self, id, names);
      g_variant_ref_sink (props);
      value = g_variant_lookup_value (props, name, NULL);
      if (value == NULL)
        g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                                               "menu item %d has no property %s", id, name);
      else
        g_dbus_method_invocation_return_value (invocation, g_variant_new ("(v)", value));
    }
  else if (g_str_equal (method_name, "Event"))
    {
      gint32 id;
      const char *event;

      g_variant_get (parameters, "(i&svu)", &id, &event, NULL, NULL);
      if (!handle_event (self, id, event))
        g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                                               "no menu item %d", id);
      else
        g_dbus_method_invocation_return_value (invocation, NULL);
    }
  else if (g_str_equal (method_name, "EventGroup"))
    {
      g_autoptr (GVariantIter) events = NULL;
      GVariantBuilder errors;
      gint32 id;
      const char *event;

      g_variant_get (parameters, "(a(isvu))", &events);
      g_variant_builder_init (&errors, G_VARIANT_TYPE ("ai"));
      while (g_variant_iter_next (events, "(i&svu)", &id, &event, NULL, NULL))
        if (!handle_event (self, id, event))
          g_variant_builder_add (&errors, "i", id);
      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(ai)", &errors));
    }
  else if (g_str_equal (method_name, "AboutToShow"))
    {
      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(b)", FALSE));
    }
  else if (g_str_equal (method_name, "AboutToShowGroup"))
    {
      g_dbus_method_invocation_return_value (
          invocation,
          g_variant_new ("(@ai@ai)", g_variant_new_array (G_VARIANT_TYPE_INT32, NULL, 0),
                         g_variant_new_array (G_VARIANT_TYPE_INT32, NULL, 0)));
    }
  else
    {
      g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD,
                                             "no method %s", method_name);
    }
}

static GVariant *
menu_get_property (GDBusConnection *connection, const char *sender, const char *object_path,
                   const char *interface_name, const char *property_name, GError **error,
                   gpointer user_data)
{
  if (g_str_equal (property_name, "Version"))
    return g_variant_new_uint32 (3);
  if (g_str_equal (property_name, "TextDirection"))
    return g_variant_new_string (gtk_widget_get_default_direction () == GTK_TEXT_DIR_RTL ? "rtl"
                                                                                         : "ltr");
  if (g_str_equal (property_name, "Status"))
    return g_variant_new_string ("normal");
  if (g_str_equal (property_name, "IconThemePath"))
    return g_variant_new_strv (NULL, 0);
  g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY, "no property %s", property_name);
  return NULL;
}

static const GDBusInterfaceVTable menu_vtable
    = { menu_method_call, menu_get_property, NULL, { 0 } };

static gboolean
emit_layout_updated (gpointer user_data)
{
  NbGtkMenu *self = user_data;

  self->update_id = 0;
  self->revision++;
  g_dbus_connection_emit_signal (self->session, NULL, NB_GTK_MENU_PATH, DBUSMENU_INTERFACE,
                                 "LayoutUpdated", g_variant_new ("(ui)", self->revision, 0), NULL);
  return G_SOURCE_REMOVE;
}

/* Several changes in one main-loop turn make one LayoutUpdated. */
static void
queue_update (NbGtkMenu *self)
{
  if (self->update_id == 0)
    self->update_id = g_idle_add (emit_layout_updated, self);
}

static void
on_action_enabled_changed (GActionGroup *group, const char *name, gboolean enabled,
                           gpointer user_data)
{
  queue_update (user_data);
}

/* The first, insensitive line of the menu: what the state is. */
void
nb_gtk_menu_set_status (NbGtkMenu *self, const char *status_line)
{
  if (g_strcmp0 (self->status_line, status_line) == 0)
    return;
  g_free (self->status_line);
  self->status_line = g_strdup (status_line);
  queue_update (self);
}

static void
nb_gtk_menu_dispose (GObject *object)
{
  NbGtkMenu *self = NB_GTK_MENU (object);

  g_clear_handle_id (&self->update_id, g_source_remove);
  if (self->object_id != 0)
    g_dbus_connection_unregister_object (self->session, self->object_id);
  self->object_id = 0;
  if (self->actions != NULL)
    g_signal_handlers_disconnect_by_data (self->actions, self);
  g_clear_object (&self->actions);
  g_clear_object (&self->session);
  G_OBJECT_CLASS (nb_gtk_menu_parent_class)->dispose (object);
}

static void
nb_gtk_menu_finalize (GObject *object)
{
  NbGtkMenu *self = NB_GTK_MENU (object);

  g_free (self->status_line);
  G_OBJECT_CLASS (nb_gtk_menu_parent_class)->finalize (object);
}

static void
nb_gtk_menu_class_init (NbGtkMenuClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = nb_gtk_menu_dispose;
  object_class->finalize = nb_gtk_menu_finalize;
}

static void
nb_gtk_menu_init (NbGtkMenu *self)
{
  self->revision = 1;
}

NbGtkMenu *
nb_gtk_menu_new (GDBusConnection *session, GActionGroup *actions)
{
  NbGtkMenu *self = g_object_new (NB_GTK_TYPE_MENU, NULL);
  g_autoptr (GDBusNodeInfo) node = g_dbus_node_info_new_for_xml (menu_xml, NULL);
  g_autoptr (GError) error = NULL;

  self->session = g_object_ref (session);
  self->actions = g_object_ref (actions);
  g_signal_connect (actions, "action-enabled-changed", G_CALLBACK (on_action_enabled_changed),
                    self);
  self->object_id = g_dbus_connection_register_object (
      session, NB_GTK_MENU_PATH, node->interfaces[0], &menu_vtable, self, NULL, &error);
  if (self->object_id == 0)
    g_warning ("cannot serve %s: %s", NB_GTK_MENU_PATH, error->message);
  return self;
}
