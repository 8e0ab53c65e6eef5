/* netbird-wg: a userspace WireGuard interface, configured with wg(8)
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 *   netbird-wg [-f|--foreground] IFNAME
 *
 * as `wireguard-go IFNAME`: creates the TUN interface, the device and
 * /var/run/wireguard/IFNAME.sock, then runs (in the background unless -f)
 * until SIGTERM or SIGINT, when it removes the socket and the interface.
 */
#define G_LOG_DOMAIN "netbird-wg"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib-unix.h>

#include "netbird.h"

typedef struct
{
  GMainLoop *loop;
  NbWgDevice *device;
  int signal_received;
} App;

static gboolean
on_signal (gpointer user_data)
{
  App *app = user_data;

  g_message ("shutting down");
  g_main_loop_quit (app->loop);
  return G_SOURCE_CONTINUE;
}

/* As wireguard-go: an interface deleted under us ends the daemon. */
static void
on_tun_removed (NbTun   *tun,
                gpointer user_data)
{
  App *app = user_data;

  g_message ("interface %s was removed; shutting down", nb_tun_get_name (tun));
  g_main_loop_quit (app->loop);
}

/* The device starts passing packets once it has a private key. */
static void
on_configured (NbWgUapiServer *server,
               gpointer        user_data)
{
  App *app = user_data;
  g_autoptr(GError) error = NULL;

  if (nb_wg_device_is_up (app->device) || nb_wg_device_get_private_key (app->device) == NULL)
    return;
  if (!nb_wg_device_up (app->device, &error))
    g_warning ("cannot start the device: %s", error->message);
  else
    g_info ("device up, listening on UDP port %u", nb_wg_device_get_listen_port (app->device));
}

/* Forks; the parent waits until the child says it is ready (one byte on
 * the pipe: 0 for success) and exits with its status, so that a caller sees
 * failures as it would in the foreground. Returns the write end in the
 * child. */
static int
daemonize (void)
{
  int fds[2];
  pid_t pid;
  char status = 1;

  if (pipe2 (fds, O_CLOEXEC) != 0)
    {
      g_printerr ("netbird-wg: pipe: %s\n", g_strerror (errno));
      exit (EXIT_FAILURE);
    }
  pid = fork ();
  if (pid < 0)
    {
      g_printerr ("netbird-wg: fork: %s\n", g_strerror (errno));
      exit (EXIT_FAILURE);
    }
  if (pid > 0)
    {
      close (fds[1]);
      if (read (fds[0], &status, 1) != 1)
        status = 1;
      _exit (status == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
    }
  close (fds[0]);
  setsid ();
  return fds[1];
}

static void
detach_stdio (void)
{
  int null = open ("/dev/null", O_RDWR | O_CLOEXEC);

  if (null < 0)
    return;
  /* stderr stays: the log goes wherever the starter pointed it. */
  dup2 (null, STDIN_FILENO);
  dup2 (null, STDOUT_FILENO);
  close (null);
}

int
main (int argc, char **argv)
{
  gboolean foreground = FALSE;
  GOptionEntry entries[] = {
    { "foreground", 'f', 0, G_OPTION_ARG_NONE, &foreground, "Stay in the foreground", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("IFNAME");
  g_autoptr(GError) error = NULL;
  g_autoptr(NbTun) tun = NULL;
  g_autoptr(NbWgDevice) device = NULL;
  g_autoptr(NbWgUapiServer) server = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  App app = { 0 };
  int ready_fd = -1;
  char ok = 0;

  g_option_context_set_summary (context,
    "Runs a userspace WireGuard interface IFNAME; configure it with wg(8).");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("netbird-wg: %s\n", error->message);
      return 2;
    }
  if (argc != 2)
    {
      g_printerr ("Usage: netbird-wg [-f|--foreground] IFNAME\n");
      return 2;
    }

  /* A second daemon for a running interface stops here, before it would
   * attach queues to the first one's TUN. */
  if (!nb_wg_uapi_server_check_name (argv[1], &error))
    {
      g_printerr ("netbird-wg: %s\n", error->message);
      return EXIT_FAILURE;
    }

  if (!foreground)
    ready_fd = daemonize ();

  tun = nb_tun_new (argv[1], &error);
  if (tun == NULL)
    {
      g_printerr ("netbird-wg: %s\n", error->message);
      return EXIT_FAILURE;
    }
  device = nb_wg_device_new (tun);
  server = nb_wg_uapi_server_new (device, nb_tun_get_name (tun), &error);
  if (server == NULL)
    {
      g_printerr ("netbird-wg: %s\n", error->message);
      return EXIT_FAILURE;
    }

  loop = g_main_loop_new (NULL, FALSE);
  app.loop = loop;
  app.device = device;
  g_signal_connect (server, "changed", G_CALLBACK (on_configured), &app);
  g_signal_connect (tun, "removed", G_CALLBACK (on_tun_removed), &app);
  g_unix_signal_add (SIGTERM, on_signal, &app);
  g_unix_signal_add (SIGINT, on_signal, &app);

  g_message ("interface %s ready, configure it with: wg setconf %s FILE",
             nb_tun_get_name (tun), nb_tun_get_name (tun));
  if (ready_fd >= 0)
    {
      detach_stdio ();
      if (write (ready_fd, &ok, 1) != 1)
        g_warning ("cannot tell the parent process we are ready");
      close (ready_fd);
    }

  g_main_loop_run (loop);

  nb_wg_uapi_server_close (server);
  nb_wg_device_down (device);
  return EXIT_SUCCESS;
}
