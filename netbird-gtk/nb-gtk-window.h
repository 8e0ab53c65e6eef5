/* nb-gtk-window.h: the window: own status and the peers list
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#include <adwaita.h>

#include "nb-gtk-client.h"

G_BEGIN_DECLS

#define NB_GTK_TYPE_WINDOW (nb_gtk_window_get_type ())
G_DECLARE_FINAL_TYPE (NbGtkWindow, nb_gtk_window, NB_GTK, WINDOW, AdwApplicationWindow)

NbGtkWindow *nb_gtk_window_new (GtkApplication *app, NbGtkClient *client);

G_END_DECLS
