/* nb-gtk-tray.h: a StatusNotifierItem on the session bus
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define NB_GTK_TYPE_TRAY (nb_gtk_tray_get_type ())
G_DECLARE_FINAL_TYPE (NbGtkTray, nb_gtk_tray, NB_GTK, TRAY, GObject)

NbGtkTray *nb_gtk_tray_new (GDBusConnection *session, const char *menu_path,
                            const char *icon_theme_path);
void nb_gtk_tray_set_icon (NbGtkTray *self, const char *icon_name, const char *title,
                           const char *description);
gboolean nb_gtk_tray_is_registered (NbGtkTray *self);

G_END_DECLS
