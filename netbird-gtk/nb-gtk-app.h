/* nb-gtk-app.h: the application: tray, menu, window, notifications
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define NB_GTK_DEFAULT_DAEMON_ADDR "unix:///var/run/netbird.sock"

#define NB_GTK_TYPE_APP (nb_gtk_app_get_type ())
G_DECLARE_FINAL_TYPE (NbGtkApp, nb_gtk_app, NB_GTK, APP, AdwApplication)

NbGtkApp *nb_gtk_app_new (void);

G_END_DECLS
