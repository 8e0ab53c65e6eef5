/* nb-gtk-window.c: the window: own status and the peers list
 *
 * Follows NbGtkClient's signals (themselves the daemon's
 * PropertiesChanged), so it shows a change as it happens; it never asks
 * the daemon on a timer. The search entry filters the list by name, IP,
 * state or path.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-gtk"

#include "nb-gtk-config.h"
#include "nb-gtk-window.h"
#include "nb-gtk-peer-row.h"

#include <glib/gi18n.h>

struct _NbGtkWindow
{
  AdwApplicationWindow parent_instance;

  NbGtkClient *client;
  GtkWidget *state_icon;
  GtkWidget *state_title;
  GtkWidget *state_detail;
  GtkWidget *connect_button;
  GtkWidget *disconnect_button;
  GtkWidget *search;
  GtkWidget *list;
  GtkWidget *empty;
  char *needle;
  guint rows;
};

G_DEFINE_FINAL_TYPE (NbGtkWindow, nb_gtk_window, ADW_TYPE_APPLICATION_WINDOW)

static void
update_state (NbGtkWindow *self)
{
  NbGtkState state = nb_gtk_client_get_state (self->client);
  g_autofree char *address = nb_gtk_client_dup_address (self->client);
  g_autofree char *fqdn = nb_gtk_client_dup_fqdn (self->client);
  g_autofree char *detail = NULL;
  const char *problem = nb_gtk_client_get_problem (self->client);

  gtk_image_set_from_icon_name (GTK_IMAGE (self->state_icon), nb_gtk_state_to_icon_name (state));
  gtk_label_set_text (GTK_LABEL (self->state_title), nb_gtk_state_to_string (state));
  if (problem != NULL)
    detail = g_strdup (problem);
  else if (address != NULL)
    detail = g_strdup_printf ("%s · %s", address, fqdn != NULL ? fqdn : "");
  else if (state == NB_GTK_STATE_NEEDS_LOGIN)
    detail = g_strdup (_ ("Enter a setup key in Settings to join a network."));
  else
    detail = g_strdup ("");
  gtk_label_set_text (GTK_LABEL (self->state_detail), detail);
  gtk_widget_set_tooltip_text (self->state_detail, detail);
  gtk_widget_set_visible (self->connect_button, state == NB_GTK_STATE_DISCONNECTED
                                                    || state == NB_GTK_STATE_ERROR
                                                    || state == NB_GTK_STATE_NEEDS_LOGIN);
  gtk_widget_set_visible (self->disconnect_button,
                          state == NB_GTK_STATE_CONNECTED || state == NB_GTK_STATE_CONNECTING);
}

static void
update_peers (NbGtkWindow *self)
{
  GVariant *status = nb_gtk_client_get_status (self->client);
  g_autoptr (GVariant) peers
      = status != NULL ? g_variant_lookup_value (status, "peers", G_VARIANT_TYPE ("aa{sv}")) : NULL;
  GtkWidget *child;
  GVariantIter iter;
  GVariant *peer;

  while ((child = gtk_widget_get_first_child (self->list)) != NULL)
    gtk_list_box_remove (GTK_LIST_BOX (self->list), child);
  self->rows = 0;
  if (peers != NULL)
    {
      g_variant_iter_init (&iter, peers);
      while ((peer = g_variant_iter_next_value (&iter)) != NULL)
        {
          gtk_list_box_append (GTK_LIST_BOX (self->list), nb_gtk_peer_row_new (peer));
          g_variant_unref (peer);
          self->rows++;
        }
    }
  gtk_widget_set_visible (self->empty, self->rows == 0);
  gtk_widget_set_visible (self->list, self->rows > 0);
  g_debug ("window: %u peers listed", self->rows);
}

static gboolean
filter_row (GtkListBoxRow *row, gpointer user_data)
{
  NbGtkWindow *self = user_data;

  return nb_gtk_peer_row_matches (GTK_WIDGET (row), self->needle);
}

static void
on_search_changed (GtkSearchEntry *entry, gpointer user_data)
{
  NbGtkWindow *self = user_data;

  g_free (self->needle);
  self->needle = g_utf8_casefold (gtk_editable_get_text (GTK_EDITABLE (entry)), -1);
  gtk_list_box_invalidate_filter (GTK_LIST_BOX (self->list));
}

static void
nb_gtk_window_dispose (GObject *object)
{
  NbGtkWindow *self = NB_GTK_WINDOW (object);

  if (self->client != NULL)
    g_signal_handlers_disconnect_by_data (self->client, self);
  g_clear_object (&self->client);
  G_OBJECT_CLASS (nb_gtk_window_parent_class)->dispose (object);
}

static void
nb_gtk_window_finalize (GObject *object)
{
  NbGtkWindow *self = NB_GTK_WINDOW (object);

  g_free (self->needle);
  G_OBJECT_CLASS (nb_gtk_window_parent_class)->finalize (object);
}

static void
nb_gtk_window_class_init (NbGtkWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = nb_gtk_window_dispose;
  object_class->finalize = nb_gtk_window_finalize;
}

static GtkWidget *
build_status (NbGtkWindow *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *labels = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);

  self->state_icon = gtk_image_new ();
  gtk_image_set_pixel_size (GTK_IMAGE (self->state_icon), 48);
  self->state_title = gtk_label_new (NULL);
  gtk_widget_add_css_class (self->state_title, "title-2");
  gtk_label_set_xalign (GTK_LABEL (self->state_title), 0);
  self->state_detail = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (self->state_detail), 0);
  /* One line, the whole text in the tooltip: a wrapping label in a box
   * measures differently for height-for-width in GTK 4.8. */
  gtk_label_set_ellipsize (GTK_LABEL (self->state_detail), PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (self->state_detail, "dim-label");
  gtk_box_append (GTK_BOX (labels), self->state_title);
  gtk_box_append (GTK_BOX (labels), self->state_detail);
  gtk_widget_set_hexpand (labels, TRUE);
  gtk_widget_set_valign (labels, GTK_ALIGN_CENTER);

  self->connect_button = gtk_button_new_with_label (_ ("Connect"));
  gtk_actionable_set_action_name (GTK_ACTIONABLE (self->connect_button), "app.connect");
  gtk_widget_add_css_class (self->connect_button, "suggested-action");
  self->disconnect_button = gtk_button_new_with_label (_ ("Disconnect"));
  gtk_actionable_set_action_name (GTK_ACTIONABLE (self->disconnect_button), "app.disconnect");
  gtk_widget_set_valign (self->connect_button, GTK_ALIGN_CENTER);
  gtk_widget_set_valign (self->disconnect_button, GTK_ALIGN_CENTER);

  gtk_box_append (GTK_BOX (box), self->state_icon);
  gtk_box_append (GTK_BOX (box), labels);
  gtk_box_append (GTK_BOX (box), self->connect_button);
  gtk_box_append (GTK_BOX (box), self->disconnect_button);
  return box;
}

static void
nb_gtk_window_init (NbGtkWindow *self)
{
  GtkWidget *toolbar = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *header = adw_header_bar_new ();
  GtkWidget *menu_button = gtk_menu_button_new ();
  GtkWidget *content = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  GtkWidget *scrolled = gtk_scrolled_window_new ();
  GtkWidget *peers_box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  g_autoptr (GMenu) menu = g_menu_new ();

  gtk_window_set_title (GTK_WINDOW (self), _ ("NetBird"));
  gtk_window_set_default_size (GTK_WINDOW (self), 640, 480);

  g_menu_append (menu, _ ("Copy my address"), "app.copy-address");
  g_menu_append (menu, _ ("Settings…"), "app.settings");
  g_menu_append (menu, _ ("About"), "app.about");
  g_menu_append (menu, _ ("Quit"), "app.quit");
  gtk_menu_button_set_icon_name (GTK_MENU_BUTTON (menu_button), "open-menu-symbolic");
  gtk_menu_button_set_menu_model (GTK_MENU_BUTTON (menu_button), G_MENU_MODEL (menu));
  adw_header_bar_pack_end (ADW_HEADER_BAR (header), menu_button);
  gtk_box_append (GTK_BOX (toolbar), header);

  gtk_widget_set_margin_start (content, 18);
  gtk_widget_set_margin_end (content, 18);
  gtk_widget_set_margin_top (content, 18);
  gtk_widget_set_margin_bottom (content, 18);
  gtk_box_append (GTK_BOX (content), build_status (self));

  self->search = gtk_search_entry_new ();
  g_object_set (self->search, "placeholder-text", _ ("Filter peers by name, IP or state"), NULL);
  g_signal_connect (self->search, "search-changed", G_CALLBACK (on_search_changed), self);
  gtk_box_append (GTK_BOX (content), self->search);

  self->list = gtk_list_box_new ();
  gtk_list_box_set_selection_mode (GTK_LIST_BOX (self->list), GTK_SELECTION_NONE);
  gtk_widget_add_css_class (self->list, "boxed-list");
  gtk_list_box_set_filter_func (GTK_LIST_BOX (self->list), filter_row, self, NULL);
  self->empty = gtk_label_new (_ ("No peers in the network map."));
  gtk_widget_add_css_class (self->empty, "dim-label");
  gtk_box_append (GTK_BOX (peers_box), self->list);
  gtk_box_append (GTK_BOX (peers_box), self->empty);
  gtk_widget_set_valign (peers_box, GTK_ALIGN_START);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), peers_box);
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scrolled), GTK_POLICY_NEVER,
                                  GTK_POLICY_AUTOMATIC);
  gtk_widget_set_vexpand (scrolled, TRUE);
  gtk_box_append (GTK_BOX (content), scrolled);

  gtk_box_append (GTK_BOX (toolbar), content);
  adw_application_window_set_content (ADW_APPLICATION_WINDOW (self), toolbar);
}

NbGtkWindow *
nb_gtk_window_new (GtkApplication *app, NbGtkClient *client)
{
  NbGtkWindow *self = g_object_new (NB_GTK_TYPE_WINDOW, "application", app, NULL);

  self->client = g_object_ref (client);
  g_signal_connect_swapped (client, "changed", G_CALLBACK (update_state), self);
  g_signal_connect_swapped (client, "status-updated", G_CALLBACK (update_peers), self);
  update_state (self);
  update_peers (self);
  return self;
}
