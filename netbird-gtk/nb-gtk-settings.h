/* nb-gtk-settings.h: the Settings window and the autostart entry
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#include <adwaita.h>

#include "nb-gtk-client.h"

G_BEGIN_DECLS

GtkWindow *nb_gtk_settings_window_new (GtkWindow *parent, NbGtkClient *client, GSettings *settings);
gboolean nb_gtk_autostart_is_enabled (void);
gboolean nb_gtk_autostart_set (gboolean enabled, const char *daemon_addr, GError **error);

G_END_DECLS
