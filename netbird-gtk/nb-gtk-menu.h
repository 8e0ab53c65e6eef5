/* nb-gtk-menu.h: the tray menu, served over com.canonical.dbusmenu
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define NB_GTK_MENU_PATH "/MenuBar"

#define NB_GTK_TYPE_MENU (nb_gtk_menu_get_type ())
G_DECLARE_FINAL_TYPE (NbGtkMenu, nb_gtk_menu, NB_GTK, MENU, GObject)

NbGtkMenu *nb_gtk_menu_new (GDBusConnection *session, GActionGroup *actions);
void nb_gtk_menu_set_status (NbGtkMenu *self, const char *status_line);

G_END_DECLS
