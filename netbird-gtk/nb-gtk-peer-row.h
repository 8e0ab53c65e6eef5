/* nb-gtk-peer-row.h: one remote peer in the window's list
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

GtkWidget *nb_gtk_peer_row_new (GVariant *peer);
gboolean nb_gtk_peer_row_matches (GtkWidget *row, const char *needle);
char *nb_gtk_format_bytes_pair (guint64 received, guint64 sent);

G_END_DECLS
