/* nb-gtk-client.h: the tray's view of one daemon over io.netbird.Daemon1
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/**
 * NbGtkState:
 * @NB_GTK_STATE_UNAVAILABLE: the daemon's socket cannot be reached
 * @NB_GTK_STATE_DISCONNECTED: the daemon runs, the tunnel is down (Idle)
 * @NB_GTK_STATE_CONNECTING: the tunnel is coming up
 * @NB_GTK_STATE_CONNECTED: the tunnel is up
 * @NB_GTK_STATE_NEEDS_LOGIN: the peer needs a setup key
 * @NB_GTK_STATE_ERROR: the tunnel is down and the last call failed
 *
 * What the icon and the window show.
 */
typedef enum
{
  NB_GTK_STATE_UNAVAILABLE,
  NB_GTK_STATE_DISCONNECTED,
  NB_GTK_STATE_CONNECTING,
  NB_GTK_STATE_CONNECTED,
  NB_GTK_STATE_NEEDS_LOGIN,
  NB_GTK_STATE_ERROR,
} NbGtkState;

#define NB_GTK_TYPE_CLIENT (nb_gtk_client_get_type ())
G_DECLARE_FINAL_TYPE (NbGtkClient, nb_gtk_client, NB_GTK, CLIENT, GObject)

NbGtkClient *nb_gtk_client_new (const char *socket_path);
void nb_gtk_client_start (NbGtkClient *self);

NbGtkState nb_gtk_client_get_state (NbGtkClient *self);
const char *nb_gtk_client_get_socket_path (NbGtkClient *self);
const char *nb_gtk_client_get_problem (NbGtkClient *self);
char *nb_gtk_client_dup_address (NbGtkClient *self);
char *nb_gtk_client_dup_fqdn (NbGtkClient *self);
char *nb_gtk_client_dup_daemon_version (NbGtkClient *self);
GVariant *nb_gtk_client_get_status (NbGtkClient *self);

void nb_gtk_client_up (NbGtkClient *self, GVariant *options);
void nb_gtk_client_down (NbGtkClient *self);

const char *nb_gtk_state_to_icon_name (NbGtkState state);
const char *nb_gtk_state_to_string (NbGtkState state);

G_END_DECLS
