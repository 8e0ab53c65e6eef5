/* nb-cli-daemon.c: `netbird service run`: one NbClient served over D-Bus
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * The daemon runs as root and owns the tunnel; `netbird` and the tray are
 * unprivileged clients. It serves io.netbird.Daemon1 peer-to-peer on a Unix
 * socket (no message bus, so it runs the same in a container, a namespace or
 * a test), and the socket is the access control:
 *
 *  - the socket is made mode 0660, root's (or the daemon's) and the group
 *    of --daemon-group: others cannot connect();
 *  - a peer that connects must authenticate with EXTERNAL (its kernel
 *    credentials), and only uid 0, the daemon's own uid and members of the
 *    socket's group are let in (GDBusAuthObserver), in case the socket's
 *    mode was widened by hand.
 *
 * Whether the tunnel is wanted up is kept in a file beside the
 * configuration (config.json: config.wanted-up): Up() makes it, Down() and
 * Logout() remove it, SIGTERM leaves it, so a restarted daemon (a reboot,
 * `systemctl restart`) brings the tunnel back as NetBird's does.
 */
#define G_LOG_DOMAIN "netbird-daemon"

#include <errno.h>
#include <grp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>
#include <sodium.h>
#include <netbird.h>

#include "nb-cli-daemon.h"
#include "nb-cli-daemon-status.h"
#include "nb-cli-dbus.h"

/* Bringing the tunnel back at start may meet Management still away (the
 * machine just booted): retry, waiting longer each time, up to a minute. */
#define RETRY_FIRST_S 2
#define RETRY_MAX_S 60

typedef struct
{
  NbClient *client;
  NbDBusDaemon *skeleton;
  GDBusServer *server;
  GDBusAuthObserver *observer;
  GMainLoop *loop;
  GCancellable *cancellable;   /* the Up() or Login() in flight */
  GPtrArray *connections;      /* GDBusConnection we exported on */
  char *socket_path;
  char *wanted_up_path;
  gid_t socket_gid;
  gboolean up_in_flight;
  GPtrArray *pending_ups;      /* GDBusMethodInvocation waiting for it */
  guint retry_id;
  guint retry_delay_s;
  guint peers_changed_id;      /* a coalesced PeersChanged, pending */
  gboolean stopping;
} NbCliDaemon;

/* PeersChanged at most this often (see the interface's XML). */
#define PEERS_CHANGED_INTERVAL_MS 250

static const char *
or_empty (const char *text)
{
  return text != NULL ? text : "";
}

static void start_up (NbCliDaemon           *self,
                      const char            *setup_key,
                      GDBusMethodInvocation *invocation);

/* The properties follow the client; the skeleton emits PropertiesChanged
 * only for values that changed. */
static void
sync_properties (NbCliDaemon *self)
{
  NbClient *client = self->client;
  g_autoptr(GPtrArray) peers = nb_client_list_peers (client);
  guint connected = 0;

  for (guint i = 0; peers != NULL && i < peers->len; i++)
    if (nb_client_peer_get_state (peers->pdata[i]) == NB_CLIENT_PEER_STATE_CONNECTED)
      connected++;

  nb_dbus_daemon_set_daemon_status (self->skeleton,
                                    nb_cli_client_state_name (nb_client_get_state (client)));
  nb_dbus_daemon_set_address (self->skeleton, or_empty (nb_client_get_address (client)));
  nb_dbus_daemon_set_fqdn (self->skeleton, or_empty (nb_client_get_fqdn (client)));
  nb_dbus_daemon_set_public_key (self->skeleton, or_empty (nb_client_get_public_key (client)));
  nb_dbus_daemon_set_management_connected (self->skeleton,
                                           nb_client_get_management_connected (client));
  nb_dbus_daemon_set_signal_connected (self->skeleton, nb_client_get_signal_connected (client));
  nb_dbus_daemon_set_peers_total (self->skeleton, peers != NULL ? peers->len : 0);
  nb_dbus_daemon_set_peers_connected (self->skeleton, connected);
}

static void
on_client_notify (GObject    *object,
                  GParamSpec *pspec,
                  gpointer    user_data)
{
  sync_properties (user_data);
}

static gboolean
emit_peers_changed (gpointer user_data)
{
  NbCliDaemon *self = user_data;

  self->peers_changed_id = 0;
  nb_dbus_daemon_emit_peers_changed (self->skeleton);
  return G_SOURCE_REMOVE;
}

static void
schedule_peers_changed (NbCliDaemon *self)
{
  if (self->peers_changed_id == 0)
    self->peers_changed_id = g_timeout_add (PEERS_CHANGED_INTERVAL_MS, emit_peers_changed, self);
}

/* Any notify of a peer: its state also moves the counts. */
static void
on_peer_notify (GObject    *object,
                GParamSpec *pspec,
                gpointer    user_data)
{
  NbCliDaemon *self = user_data;

  if (g_str_equal (pspec->name, "state"))
    sync_properties (self);
  schedule_peers_changed (self);
}

static void
on_peer_added (NbClient     *client,
               NbClientPeer *peer,
               gpointer      user_data)
{
  NbCliDaemon *self = user_data;

  g_signal_connect (peer, "notify", G_CALLBACK (on_peer_notify), self);
  sync_properties (self);
  schedule_peers_changed (self);
}

static void
on_peer_removed (NbClient     *client,
                 NbClientPeer *peer,
                 gpointer      user_data)
{
  NbCliDaemon *self = user_data;

  g_signal_handlers_disconnect_by_data (peer, self);
  sync_properties (self);
  schedule_peers_changed (self);
}

/* -- Wanted up ---------------------------------------------------------- */

static char *
wanted_up_path_for (const char *config_path)
{
  g_autofree char *dir = g_path_get_dirname (config_path);
  g_autofree char *base = g_path_get_basename (config_path);
  char *dot = strrchr (base, '.');

  if (dot != NULL && dot != base)
    *dot = '\0';
  return g_strdup_printf ("%s/%s.wanted-up", dir, base);
}

static void
set_wanted_up (NbCliDaemon *self,
               gboolean     wanted)
{
  g_autoptr(GError) error = NULL;

  if (wanted)
    {
      if (!g_file_set_contents_full (self->wanted_up_path, "up\n", -1,
                                     G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error))
        g_warning ("Cannot remember that the tunnel is up: %s", error->message);
    }
  else if (g_unlink (self->wanted_up_path) != 0 && errno != ENOENT)
    g_warning ("Cannot remove %s: %s", self->wanted_up_path, g_strerror (errno));
}

/* -- Methods ------------------------------------------------------------ */

static gboolean
invalid_option (GError    **error,
                const char *key,
                const char *expected)
{
  g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
               "option '%s' must be of type '%s'", key, expected);
  return FALSE;
}

/* Applies and saves the settings among OPTIONS; the setup key, which is
 * never saved, comes back in SETUP_KEY. */
static gboolean
apply_options (NbCliDaemon  *self,
               GVariant     *options,
               char        **setup_key,
               GError      **error)
{
  GVariantIter iter;
  const char *key;
  GVariant *value;
  gboolean changed = FALSE;

  g_variant_iter_init (&iter, options);
  while (g_variant_iter_loop (&iter, "{&sv}", &key, &value))
    {
      gboolean is_string = g_variant_is_of_type (value, G_VARIANT_TYPE_STRING);
      gboolean is_bool = g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN);
      const char *text = is_string ? g_variant_get_string (value, NULL) : NULL;

      if (g_str_equal (key, "setup-key"))
        {
          if (!is_string || text[0] == '\0')
            return invalid_option (error, key, "s");
          g_free (*setup_key);
          *setup_key = g_strdup (text);
          continue;
        }
      if (g_str_equal (key, "config"))
        {
          if (!is_string)
            return invalid_option (error, key, "s");
          if (!g_str_equal (text, nb_client_get_config_path (self->client)))
            {
              g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                           "the daemon runs with the configuration %s, not %s: restart "
                           "it with 'netbird service run --config %s' to use that one",
                           nb_client_get_config_path (self->client), text, text);
              return FALSE;
            }
          continue;
        }

      if (g_str_equal (key, "management-url"))
        {
          if (!is_string)
            return invalid_option (error, key, "s");
          if (!nb_client_set_management_url (self->client, text, error))
            return FALSE;
        }
      else if (g_str_equal (key, "hostname"))
        {
          if (!is_string)
            return invalid_option (error, key, "s");
          nb_client_set_hostname (self->client, text);
        }
      else if (g_str_equal (key, "interface-name"))
        {
          if (!is_string)
            return invalid_option (error, key, "s");
          if (!nb_client_set_interface_name (self->client, text, error))
            return FALSE;
        }
      else if (g_str_equal (key, "preshared-key"))
        {
          if (!is_string)
            return invalid_option (error, key, "s");
          if (!nb_client_set_preshared_key (self->client, text, error))
            return FALSE;
        }
      else if (g_str_equal (key, "wireguard-port"))
        {
          if (!g_variant_is_of_type (value, G_VARIANT_TYPE_UINT16))
            return invalid_option (error, key, "q");
          nb_client_set_wireguard_port (self->client, g_variant_get_uint16 (value));
        }
      else if (g_str_equal (key, "block-inbound"))
        {
          if (!is_bool)
            return invalid_option (error, key, "b");
          nb_client_set_block_inbound (self->client, g_variant_get_boolean (value));
        }
      else if (g_str_equal (key, "disable-firewall"))
        {
          if (!is_bool)
            return invalid_option (error, key, "b");
          nb_client_set_disable_firewall (self->client, g_variant_get_boolean (value));
        }
      else if (g_str_equal (key, "disable-dns"))
        {
          if (!is_bool)
            return invalid_option (error, key, "b");
          nb_client_set_disable_dns (self->client, g_variant_get_boolean (value));
        }
      else
        {
          g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                       "unknown option '%s'", key);
          return FALSE;
        }
      changed = TRUE;
    }

  if (changed && !nb_client_save_config (self->client, error))
    return FALSE;
  return TRUE;
}

static void
forget_setup_key (char *setup_key)
{
  if (setup_key == NULL)
    return;
  sodium_memzero (setup_key, strlen (setup_key));
  g_free (setup_key);
}

/* A setup key is a credential: wiped when the call is done with it. */
typedef char NbCliSecret;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NbCliSecret, forget_setup_key)

static gboolean
retry_up (gpointer user_data)
{
  NbCliDaemon *self = user_data;

  self->retry_id = 0;
  g_message ("Bringing the tunnel up again");
  start_up (self, NULL, NULL);
  return G_SOURCE_REMOVE;
}

static void
on_up_done (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  NbCliDaemon *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) pending = g_steal_pointer (&self->pending_ups);
  gboolean ok = nb_client_up_finish (NB_CLIENT (source), result, &error);

  self->pending_ups = g_ptr_array_new_with_free_func (g_object_unref);
  self->up_in_flight = FALSE;

  if (ok)
    {
      g_message ("Up: connected as %s (%s)", or_empty (nb_client_get_address (self->client)),
                 or_empty (nb_client_get_fqdn (self->client)));
      self->retry_delay_s = 0;
      set_wanted_up (self, TRUE);
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_message ("Up: cancelled");
  else
    g_message ("Up failed: %s", error->message);

  for (guint i = 0; i < pending->len; i++)
    {
      GDBusMethodInvocation *invocation = pending->pdata[i];

      if (ok)
        nb_dbus_daemon_complete_up (self->skeleton, g_object_ref (invocation));
      else
        g_dbus_method_invocation_return_gerror (g_object_ref (invocation), error);
    }

  /* Bringing the tunnel back at start: Management may not be up yet. */
  if (!ok && pending->len == 0 && !self->stopping &&
      g_error_matches (error, NB_CLIENT_ERROR, NB_CLIENT_ERROR_MANAGEMENT_UNREACHABLE))
    {
      self->retry_delay_s = self->retry_delay_s == 0 ? RETRY_FIRST_S
                                                     : MIN (self->retry_delay_s * 2, RETRY_MAX_S);
      g_message ("Trying again in %u s", self->retry_delay_s);
      self->retry_id = g_timeout_add_seconds (self->retry_delay_s, retry_up, self);
    }
  sync_properties (self);
}

/* INVOCATION, if any, is the method handler's: its reference moves into
 * the pending list, and on_up_done() answers it. */
static void
start_up (NbCliDaemon           *self,
          const char            *setup_key,
          GDBusMethodInvocation *invocation)
{
  g_clear_handle_id (&self->retry_id, g_source_remove);
  if (invocation != NULL)
    g_ptr_array_add (self->pending_ups, invocation);
  self->up_in_flight = TRUE;
  nb_client_up_async (self->client, setup_key, self->cancellable, on_up_done, self);
}

static gboolean
handle_up (NbDBusDaemon          *skeleton,
           GDBusMethodInvocation *invocation,
           GVariant              *options,
           gpointer               user_data)
{
  NbCliDaemon *self = user_data;
  g_autoptr(NbCliSecret) setup_key = NULL;
  g_autoptr(GError) error = NULL;
  NbClientState state = nb_client_get_state (self->client);

  /* A second Up() while the first runs waits for the same outcome. */
  if (self->up_in_flight)
    {
      g_ptr_array_add (self->pending_ups, invocation);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  /* NetBird's "Already connected": the flags of this call are not applied. */
  if (state == NB_CLIENT_STATE_CONNECTED || state == NB_CLIENT_STATE_CONNECTING)
    {
      nb_dbus_daemon_complete_up (skeleton, invocation);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  if (!apply_options (self, options, &setup_key, &error))
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  g_message ("Up requested%s", setup_key != NULL ? " with a setup key" : "");
  start_up (self, setup_key, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
on_login_done (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GDBusMethodInvocation) invocation = user_data;
  g_autoptr(GError) error = NULL;

  if (!nb_client_login_finish (NB_CLIENT (source), result, &error))
    {
      g_message ("Login failed: %s", error->message);
      g_dbus_method_invocation_return_gerror (g_steal_pointer (&invocation), error);
      return;
    }
  g_message ("Login: done");
  g_dbus_method_invocation_return_value (g_steal_pointer (&invocation), NULL);
}

static gboolean
handle_login (NbDBusDaemon          *skeleton,
              GDBusMethodInvocation *invocation,
              GVariant              *options,
              gpointer               user_data)
{
  NbCliDaemon *self = user_data;
  g_autoptr(NbCliSecret) setup_key = NULL;
  g_autoptr(GError) error = NULL;

  if (!apply_options (self, options, &setup_key, &error))
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  g_message ("Login requested%s", setup_key != NULL ? " with a setup key" : "");
  /* The callback answers, which consumes the handler's reference. */
  nb_client_login_async (self->client, setup_key, self->cancellable, on_login_done,
                         invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* Ends what is in flight (its callers get "cancelled") and gets a fresh
 * cancellable for what comes next. */
static void
cancel_in_flight (NbCliDaemon *self)
{
  g_clear_handle_id (&self->retry_id, g_source_remove);
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
}

static gboolean
handle_down (NbDBusDaemon          *skeleton,
             GDBusMethodInvocation *invocation,
             gpointer               user_data)
{
  NbCliDaemon *self = user_data;

  g_message ("Down requested");
  cancel_in_flight (self);
  nb_client_down (self->client);
  set_wanted_up (self, FALSE);
  sync_properties (self);
  nb_dbus_daemon_complete_down (skeleton, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_logout (NbDBusDaemon          *skeleton,
               GDBusMethodInvocation *invocation,
               gpointer               user_data)
{
  NbCliDaemon *self = user_data;
  g_autoptr(GError) error = NULL;

  g_message ("Logout requested");
  cancel_in_flight (self);
  set_wanted_up (self, FALSE);
  if (!nb_client_logout (self->client, &error))
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  sync_properties (self);
  nb_dbus_daemon_complete_logout (skeleton, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_get_status (NbDBusDaemon          *skeleton,
                   GDBusMethodInvocation *invocation,
                   gpointer               user_data)
{
  NbCliDaemon *self = user_data;

  nb_dbus_daemon_complete_get_status (skeleton, invocation,
                                      nb_cli_daemon_status_build (self->client));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* -- Connections and who may make them ---------------------------------- */

/* Whether process PID has GID as its real, effective or a supplementary
 * group, as the kernel holds them now (/proc/PID/status). */
static gboolean
process_in_group (pid_t pid,
                  gid_t gid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", (int) pid);
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;

  if (pid <= 0 || !g_file_get_contents (path, &contents, NULL, NULL))
    return FALSE;
  lines = g_strsplit (contents, "\n", -1);
  for (char **line = lines; *line != NULL; line++)
    {
      g_auto(GStrv) words = NULL;

      if (!g_str_has_prefix (*line, "Gid:") && !g_str_has_prefix (*line, "Groups:"))
        continue;
      words = g_strsplit_set (strchr (*line, ':') + 1, " \t", -1);
      for (char **w = words; *w != NULL; w++)
        {
          guint64 number;

          if ((*w)[0] != '\0' && g_ascii_string_to_unsigned (*w, 10, 0, G_MAXUINT32, &number,
                                                              NULL) &&
              (gid_t) number == gid)
            return TRUE;
        }
    }
  return FALSE;
}

static gboolean
on_allow_mechanism (GDBusAuthObserver *observer,
                    const char        *mechanism,
                    gpointer           user_data)
{
  /* EXTERNAL: the kernel's credentials of the socket's peer, nothing a
   * client could claim. */
  return g_str_equal (mechanism, "EXTERNAL");
}

static gboolean
on_authorize_peer (GDBusAuthObserver *observer,
                   GIOStream         *stream,
                   GCredentials      *credentials,
                   gpointer           user_data)
{
  NbCliDaemon *self = user_data;
  uid_t uid;
  pid_t pid;

  if (credentials == NULL)
    {
      g_message ("Refused a connection that brought no credentials");
      return FALSE;
    }
  uid = g_credentials_get_unix_user (credentials, NULL);
  pid = g_credentials_get_unix_pid (credentials, NULL);
  if (uid == 0 || uid == geteuid () || process_in_group (pid, self->socket_gid))
    {
      g_debug ("Accepted a connection from uid %u, pid %d", (guint) uid, (int) pid);
      return TRUE;
    }
  g_message ("Refused a connection from uid %u (pid %d): not root and not in group %u",
             (guint) uid, (int) pid, (guint) self->socket_gid);
  return FALSE;
}

static void
on_connection_closed (GDBusConnection *connection,
                      gboolean         remote_peer_vanished,
                      GError          *error,
                      gpointer         user_data)
{
  NbCliDaemon *self = user_data;

  g_dbus_interface_skeleton_unexport_from_connection (G_DBUS_INTERFACE_SKELETON (self->skeleton),
                                                      connection);
  g_signal_handlers_disconnect_by_data (connection, self);
  g_ptr_array_remove (self->connections, connection);
}

static gboolean
on_new_connection (GDBusServer     *server,
                   GDBusConnection *connection,
                   gpointer         user_data)
{
  NbCliDaemon *self = user_data;
  g_autoptr(GError) error = NULL;

  if (!g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (self->skeleton), connection,
                                         NB_CLI_DAEMON_OBJECT_PATH, &error))
    {
      g_warning ("Cannot serve a connection: %s", error->message);
      return FALSE;
    }
  g_ptr_array_add (self->connections, g_object_ref (connection));
  g_signal_connect (connection, "closed", G_CALLBACK (on_connection_closed), self);
  return TRUE;
}

/* A socket left by a daemon that died is removed; one a running daemon
 * answers on is not taken over. */
static gboolean
prepare_socket_path (const char  *path,
                     GError     **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  struct stat st;
  int fd, ret, saved;

  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "cannot create the socket's folder %s: %s", dir, g_strerror (saved));
      return FALSE;
    }
  if (lstat (path, &st) != 0)
    return TRUE;
  if (!S_ISSOCK (st.st_mode))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                   "%s exists and is not a socket: remove it or choose another "
                   "--daemon-addr", path);
      return FALSE;
    }

  g_strlcpy (addr.sun_path, path, sizeof addr.sun_path);
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    {
      saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "socket(): %s",
                   g_strerror (saved));
      return FALSE;
    }
  ret = connect (fd, (struct sockaddr *) &addr, sizeof addr);
  saved = errno;
  close (fd);
  if (ret == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE,
                   "another daemon is serving %s already", path);
      return FALSE;
    }
  if (saved != ECONNREFUSED)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "cannot check the socket %s: %s", path, g_strerror (saved));
      return FALSE;
    }
  g_message ("Removing the stale socket %s", path);
  if (g_unlink (path) != 0)
    {
      saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "cannot remove %s: %s",
                   path, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

static gboolean
resolve_group (const char  *name,
               gid_t       *gid,
               GError     **error)
{
  struct group *group;
  guint64 number;

  if (name == NULL)
    {
      *gid = getegid ();
      return TRUE;
    }
  if (g_ascii_string_to_unsigned (name, 10, 0, G_MAXUINT32 - 1, &number, NULL))
    {
      *gid = (gid_t) number;
      return TRUE;
    }
  group = getgrnam (name);
  if (group == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no group named '%s'", name);
      return FALSE;
    }
  *gid = group->gr_gid;
  return TRUE;
}

static gboolean
listen_on_socket (NbCliDaemon  *self,
                  GError      **error)
{
  g_autofree char *address = nb_cli_dbus_address_for_path (self->socket_path);
  g_autofree char *guid = g_dbus_generate_guid ();
  mode_t old_umask;
  int saved;

  if (!prepare_socket_path (self->socket_path, error))
    return FALSE;

  /* The socket is born 0660: no moment where others could connect. */
  old_umask = umask (0117);
  self->server = g_dbus_server_new_sync (address, G_DBUS_SERVER_FLAGS_NONE, guid,
                                         self->observer, NULL, error);
  umask (old_umask);
  if (self->server == NULL)
    return FALSE;

  if (chown (self->socket_path, geteuid (), self->socket_gid) != 0 ||
      chmod (self->socket_path, 0660) != 0)
    {
      saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "cannot give the socket %s to group %u, mode 0660: %s", self->socket_path,
                   (guint) self->socket_gid, g_strerror (saved));
      return FALSE;
    }
  g_signal_connect (self->server, "new-connection", G_CALLBACK (on_new_connection), self);
  g_dbus_server_start (self->server);
  return TRUE;
}

/* -- Life ---------------------------------------------------------------- */

static gboolean
on_terminate (gpointer user_data)
{
  NbCliDaemon *self = user_data;

  if (self->stopping)
    return G_SOURCE_CONTINUE;
  g_message ("Shutting down: bringing the tunnel down");
  self->stopping = TRUE;
  g_clear_handle_id (&self->retry_id, g_source_remove);
  g_cancellable_cancel (self->cancellable);
  nb_client_down (self->client);
  g_main_loop_quit (self->loop);
  return G_SOURCE_CONTINUE;
}

static void
daemon_free (NbCliDaemon *self)
{
  g_autoptr(GPtrArray) peers = NULL;

  g_clear_handle_id (&self->retry_id, g_source_remove);
  g_clear_handle_id (&self->peers_changed_id, g_source_remove);
  if (self->server != NULL)
    {
      g_dbus_server_stop (self->server);
      g_clear_object (&self->server);
      if (self->socket_path != NULL && g_unlink (self->socket_path) != 0 && errno != ENOENT)
        g_warning ("Cannot remove %s: %s", self->socket_path, g_strerror (errno));
    }
  for (guint i = 0; self->connections != NULL && i < self->connections->len; i++)
    {
      g_signal_handlers_disconnect_by_data (self->connections->pdata[i], self);
      g_dbus_connection_close_sync (self->connections->pdata[i], NULL, NULL);
    }
  g_clear_pointer (&self->connections, g_ptr_array_unref);
  if (self->skeleton != NULL)
    {
      GList *exported = g_dbus_interface_skeleton_get_connections (
        G_DBUS_INTERFACE_SKELETON (self->skeleton));

      if (exported != NULL)
        g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (self->skeleton));
      g_list_free_full (exported, g_object_unref);
    }
  g_clear_object (&self->skeleton);
  g_clear_object (&self->observer);
  if (self->client != NULL)
    {
      peers = nb_client_list_peers (self->client);
      for (guint i = 0; peers != NULL && i < peers->len; i++)
        g_signal_handlers_disconnect_by_data (peers->pdata[i], self);
      g_signal_handlers_disconnect_by_data (self->client, self);
    }
  g_clear_object (&self->client);
  g_clear_pointer (&self->pending_ups, g_ptr_array_unref);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->loop, g_main_loop_unref);
  g_free (self->socket_path);
  g_free (self->wanted_up_path);
  g_free (self);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NbCliDaemon, daemon_free)

gboolean
nb_cli_daemon_run (const NbCliDaemonOptions  *options,
                   GError                   **error)
{
  g_autoptr(NbCliDaemon) self = g_new0 (NbCliDaemon, 1);
  guint sigterm, sigint;

  nb_cli_register_dbus_errors ();

  self->loop = g_main_loop_new (NULL, FALSE);
  self->cancellable = g_cancellable_new ();
  self->connections = g_ptr_array_new_with_free_func (g_object_unref);
  self->pending_ups = g_ptr_array_new_with_free_func (g_object_unref);

  self->socket_path = nb_cli_socket_path_from_address (options->daemon_addr, error);
  if (self->socket_path == NULL || !resolve_group (options->daemon_group, &self->socket_gid,
                                                   error))
    return FALSE;

  self->client = nb_client_new (options->config, error);
  if (self->client == NULL)
    return FALSE;
  self->wanted_up_path = wanted_up_path_for (nb_client_get_config_path (self->client));

  self->skeleton = nb_dbus_daemon_skeleton_new ();
  nb_dbus_daemon_set_version (self->skeleton, nb_get_version_string ());
  g_signal_connect (self->skeleton, "handle-up", G_CALLBACK (handle_up), self);
  g_signal_connect (self->skeleton, "handle-down", G_CALLBACK (handle_down), self);
  g_signal_connect (self->skeleton, "handle-login", G_CALLBACK (handle_login), self);
  g_signal_connect (self->skeleton, "handle-logout", G_CALLBACK (handle_logout), self);
  g_signal_connect (self->skeleton, "handle-get-status", G_CALLBACK (handle_get_status), self);
  g_signal_connect (self->client, "notify", G_CALLBACK (on_client_notify), self);
  g_signal_connect (self->client, "peer-added", G_CALLBACK (on_peer_added), self);
  g_signal_connect (self->client, "peer-removed", G_CALLBACK (on_peer_removed), self);
  sync_properties (self);

  self->observer = g_dbus_auth_observer_new ();
  g_signal_connect (self->observer, "allow-mechanism", G_CALLBACK (on_allow_mechanism), self);
  g_signal_connect (self->observer, "authorize-authenticated-peer",
                    G_CALLBACK (on_authorize_peer), self);

  /* Signals are caught before the socket exists: a SIGTERM that comes
   * while the daemon starts ends it as cleanly as a later one. */
  sigterm = g_unix_signal_add (SIGTERM, on_terminate, self);
  sigint = g_unix_signal_add (SIGINT, on_terminate, self);

  if (!listen_on_socket (self, error))
    {
      g_source_remove (sigterm);
      g_source_remove (sigint);
      return FALSE;
    }
  g_message ("NetBird daemon %s: serving unix://%s (group %u, mode 0660), configuration %s",
             nb_get_version_string (), self->socket_path, (guint) self->socket_gid,
             nb_client_get_config_path (self->client));

  if (g_file_test (self->wanted_up_path, G_FILE_TEST_EXISTS))
    {
      g_message ("The tunnel was up when the daemon stopped: bringing it up again");
      start_up (self, NULL, NULL);
    }

  g_main_loop_run (self->loop);

  /* What was in flight ends (cancelled) before the client goes. */
  while (self->up_in_flight && g_main_context_iteration (NULL, TRUE))
    ;
  g_source_remove (sigterm);
  g_source_remove (sigint);
  g_message ("Stopped");
  return TRUE;
}
