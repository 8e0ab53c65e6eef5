/* nb-gtk-settings.c: the Settings window and the autostart entry
 *
 * The network settings are the daemon's (it saves them in its config
 * file): "Connect" sends them with Up(). "Start on login" is the app's
 * stateful "autostart" action, which writes or removes an XDG autostart
 * entry; notifications are a GSettings key.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-gtk"

#include "nb-gtk-config.h"
#include "nb-gtk-settings.h"

#include <glib/gi18n.h>
#include <errno.h>
#include <glib/gstdio.h>

typedef struct
{
  NbGtkClient *client;
  GtkWidget *management_url;
  GtkWidget *setup_key;
  GtkWidget *hostname;
  GtkWidget *block_inbound;
} SettingsData;

static void
settings_data_free (gpointer data)
{
  SettingsData *d = data;

  g_clear_object (&d->client);
  g_free (d);
}

static char *
autostart_path (void)
{
  return g_build_filename (g_get_user_config_dir (), "autostart", NB_GTK_APP_ID ".desktop", NULL);
}

/* One argument of an Exec= line: as is when it holds no reserved
 * character, else in double quotes with ", `, $ and \ escaped (Desktop
 * Entry Specification, "The Exec key"). */
static char *
desktop_exec_quote (const char *arg)
{
  GString *quoted;

  if (strpbrk (arg, " \t\n\"'\\><~|&;$*?#()`%") == NULL)
    return g_strdup (arg);
  quoted = g_string_new ("\"");
  for (const char *p = arg; *p != '\0'; p++)
    {
      if (strchr ("\"`$\\", *p) != NULL)
        g_string_append_c (quoted, '\\');
      if (*p == '%')
        g_string_append_c (quoted, '%');
      g_string_append_c (quoted, *p);
    }
  g_string_append_c (quoted, '"');
  return g_string_free (quoted, FALSE);
}

gboolean
nb_gtk_autostart_is_enabled (void)
{
  g_autofree char *path = autostart_path ();

  return g_file_test (path, G_FILE_TEST_EXISTS);
}

/**
 * nb_gtk_autostart_set:
 * @daemon_addr: (nullable): the daemon address to start with, if not the default
 *
 * Writes the XDG autostart entry for netbird-gtk, or removes it.
 */
gboolean
nb_gtk_autostart_set (gboolean enabled, const char *daemon_addr, GError **error)
{
  g_autofree char *path = autostart_path ();
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr (GKeyFile) entry = NULL;
  g_autofree char *exec = NULL;

  if (!enabled)
    {
      if (g_unlink (path) != 0 && errno != ENOENT)
        {
          int saved = errno;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), _ ("Cannot remove %s: %s"),
                       path, g_strerror (saved));
          return FALSE;
        }
      g_debug ("autostart: removed %s", path);
      return TRUE;
    }
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), _ ("Cannot create %s: %s"),
                   dir, g_strerror (saved));
      return FALSE;
    }
  if (daemon_addr != NULL)
    {
      g_autofree char *quoted = desktop_exec_quote (daemon_addr);
      exec = g_strdup_printf ("netbird-gtk --daemon-addr %s", quoted);
    }
  else
    exec = g_strdup ("netbird-gtk");
  entry = g_key_file_new ();
  g_key_file_set_string (entry, G_KEY_FILE_DESKTOP_GROUP, G_KEY_FILE_DESKTOP_KEY_TYPE,
                         G_KEY_FILE_DESKTOP_TYPE_APPLICATION);
  g_key_file_set_string (entry, G_KEY_FILE_DESKTOP_GROUP, G_KEY_FILE_DESKTOP_KEY_NAME, "NetBird");
  g_key_file_set_string (entry, G_KEY_FILE_DESKTOP_GROUP, G_KEY_FILE_DESKTOP_KEY_EXEC, exec);
  g_key_file_set_string (entry, G_KEY_FILE_DESKTOP_GROUP, G_KEY_FILE_DESKTOP_KEY_ICON,
                         NB_GTK_APP_ID);
  g_key_file_set_boolean (entry, G_KEY_FILE_DESKTOP_GROUP, G_KEY_FILE_DESKTOP_KEY_TERMINAL, FALSE);
  g_key_file_set_boolean (entry, G_KEY_FILE_DESKTOP_GROUP, "X-GNOME-Autostart-enabled", TRUE);
  if (!g_key_file_save_to_file (entry, path, error))
    return FALSE;
  g_debug ("autostart: wrote %s", path);
  return TRUE;
}

static void
add_string (GVariantBuilder *options, const char *key, GtkWidget *entry)
{
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (entry))));

  if (*text != '\0')
    g_variant_builder_add (options, "{sv}", key, g_variant_new_string (text));
}

static void
on_connect_clicked (GtkButton *button, gpointer user_data)
{
  SettingsData *d = user_data;
  GVariantBuilder options;

  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  add_string (&options, "management-url", d->management_url);
  add_string (&options, "setup-key", d->setup_key);
  add_string (&options, "hostname", d->hostname);
  g_variant_builder_add (
      &options, "{sv}", "block-inbound",
      g_variant_new_boolean (gtk_switch_get_active (GTK_SWITCH (d->block_inbound))));
  nb_gtk_client_up (d->client, g_variant_builder_end (&options));
  gtk_editable_set_text (GTK_EDITABLE (d->setup_key), "");
}

static GtkWidget *
switch_row (const char *title, const char *subtitle, GtkWidget **sw)
{
  GtkWidget *row = adw_action_row_new ();

  *sw = gtk_switch_new ();
  gtk_widget_set_valign (*sw, GTK_ALIGN_CENTER);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  if (subtitle != NULL)
    adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), *sw);
  adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), *sw);
  return row;
}

GtkWindow *
nb_gtk_settings_window_new (GtkWindow *parent, NbGtkClient *client, GSettings *settings)
{
  GtkWidget *window = adw_preferences_window_new ();
  GtkWidget *page = adw_preferences_page_new ();
  GtkWidget *network = adw_preferences_group_new ();
  GtkWidget *desktop = adw_preferences_group_new ();
  GtkWidget *connect = gtk_button_new_with_label (_ ("Connect"));
  GtkWidget *autostart, *notify, *row;
  SettingsData *d = g_new0 (SettingsData, 1);
  GVariant *status = nb_gtk_client_get_status (client);
  const char *management_url = NULL;
  g_autofree char *fqdn = nb_gtk_client_dup_fqdn (client);

  d->client = g_object_ref (client);
  g_object_set_data_full (G_OBJECT (window), "nb-settings", d, settings_data_free);

  gtk_window_set_title (GTK_WINDOW (window), _ ("NetBird Settings"));
  if (parent != NULL)
    gtk_window_set_transient_for (GTK_WINDOW (window), parent);

  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (network), _ ("Network"));
  adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (network),
                                         _ ("Saved by the NetBird daemon when you connect."));
  d->management_url = adw_entry_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (d->management_url), _ ("Management URL"));
  if (status != NULL && g_variant_lookup (status, "managementUrl", "&s", &management_url))
    gtk_editable_set_text (GTK_EDITABLE (d->management_url), management_url);
  d->setup_key = adw_password_entry_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (d->setup_key),
                                 _ ("Setup key (only to join a network)"));
  d->hostname = adw_entry_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (d->hostname), _ ("Hostname"));
  if (fqdn != NULL)
    {
      char *dot = strchr (fqdn, '.');
      if (dot != NULL)
        *dot = '\0';
      gtk_editable_set_text (GTK_EDITABLE (d->hostname), fqdn);
    }
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (network), d->management_url);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (network), d->setup_key);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (network), d->hostname);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (network),
                             switch_row (_ ("Block inbound connections"),
                                         _ ("Peers cannot open connections to this machine."),
                                         &d->block_inbound));
  gtk_widget_add_css_class (connect, "suggested-action");
  gtk_widget_set_halign (connect, GTK_ALIGN_END);
  gtk_widget_set_margin_top (connect, 12);
  g_signal_connect (connect, "clicked", G_CALLBACK (on_connect_clicked), d);
  adw_preferences_group_set_header_suffix (ADW_PREFERENCES_GROUP (network), connect);

  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (desktop), _ ("Desktop"));
  row = switch_row (_ ("Start on login"), NULL, &autostart);
  /* The application's stateful action writes or removes the entry. */
  gtk_actionable_set_action_name (GTK_ACTIONABLE (autostart), "app.autostart");
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (desktop), row);
  row = switch_row (
      _ ("Notifications"),
      _ ("When the connection drops or comes back, and when a peer connects or leaves."), &notify);
  if (settings != NULL)
    g_settings_bind (settings, "notifications", notify, "active", G_SETTINGS_BIND_DEFAULT);
  else
    {
      gtk_switch_set_active (GTK_SWITCH (notify), TRUE);
      gtk_widget_set_sensitive (row, FALSE);
      gtk_widget_set_tooltip_text (row, _ ("The io.netbird.Gtk settings schema is not installed."));
    }
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (desktop), row);

  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), ADW_PREFERENCES_GROUP (network));
  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), ADW_PREFERENCES_GROUP (desktop));
  adw_preferences_window_add (ADW_PREFERENCES_WINDOW (window), ADW_PREFERENCES_PAGE (page));
  return GTK_WINDOW (window);
}
