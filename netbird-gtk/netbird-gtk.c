/* netbird-gtk: the NetBird tray and window over the daemon's D-Bus API
 *
 *   netbird-gtk [--daemon-addr unix:///PATH]
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include "nb-gtk-config.h"
#include "nb-gtk-app.h"

#include <glib/gi18n.h>
#include <locale.h>

int
main (int argc, char **argv)
{
  g_autoptr (NbGtkApp) app = NULL;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, NB_GTK_LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  app = nb_gtk_app_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
