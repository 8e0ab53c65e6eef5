/* client-test-net.c: what the client tests share
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * The network: netbird-management (SQLite in a temp dir), netbird-signal
 * and coturn in a "hub" namespace on a bridge, 198.18.0.1; each client is
 * nb-client-run (one NbClient in a process, each process in a namespace of
 * its own on the bridge: a TUN device and its overlay address per
 * namespace). Everything made here (namespaces, processes, files) is
 * removed at the end, and when an assertion aborts the test (on_abort()).
 */
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <gio/gunixsocketaddress.h>

#include <netbird.h>

#include "client-test-net.h"

/* -- helpers ---------------------------------------------------------------- */

char *
tmp_dir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("nb-client-test-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

void
rm_rf (const char *path)
{
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", path);

  g_assert_true (g_spawn_command_line_sync (cmd, NULL, NULL, NULL, NULL));
}

guint
file_mode (const char *path)
{
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return st.st_mode & 0777;
}

/* Runs @cmd with /bin/sh; its exit status. */
int
sh (const char *format,
    ...) G_GNUC_PRINTF (1, 2);

int
sh (const char *format,
    ...)
{
  g_autofree char *cmd = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  const char *argv[] = { "/bin/sh", "-c", NULL, NULL };
  va_list args;
  int status = -1;

  va_start (args, format);
  cmd = g_strdup_vprintf (format, args);
  va_end (args);
  argv[2] = cmd;
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                     &status, NULL))
    return -1;
  if (!g_spawn_check_wait_status (status, NULL))
    g_test_message ("`%s`: %s%s", cmd, out, err);
  return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

void
iterate_for (guint ms)
{
  gint64 until = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < until)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (5000);
    }
}

/* -- namespaces ------------------------------------------------------------- */

Net net;
static GPtrArray *all_procs;   /* GSubprocess, killed at the end or on abort */

static void
child_setup (gpointer data)
{
  /* A test that dies takes its daemons with it. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

GSubprocess *
spawn_in (const char  *ns,
          const char  *log,
          GError     **error,
          ...)
{
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (log != NULL ? G_SUBPROCESS_FLAGS_STDERR_SILENCE
                                           : G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  GSubprocess *proc;
  const char *arg;
  va_list args;

  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  if (log != NULL)
    {
      g_subprocess_launcher_set_flags (launcher, G_SUBPROCESS_FLAGS_NONE);
      g_subprocess_launcher_set_stdout_file_path (launcher, log);
      g_subprocess_launcher_take_stderr_fd (launcher, -1);
      g_subprocess_launcher_set_flags (launcher, G_SUBPROCESS_FLAGS_STDERR_MERGE);
      /* The servers' debug output is not this test's. */
      g_subprocess_launcher_unsetenv (launcher, "G_MESSAGES_DEBUG");
    }
  g_subprocess_launcher_unsetenv (launcher, "G_DEBUG");
  g_ptr_array_add (argv, (char *) "ip");
  g_ptr_array_add (argv, (char *) "netns");
  g_ptr_array_add (argv, (char *) "exec");
  g_ptr_array_add (argv, (char *) ns);
  va_start (args, error);
  while ((arg = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (argv, (char *) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);
  proc = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, error);
  if (proc != NULL)
    g_ptr_array_add (all_procs, g_object_ref (proc));
  return proc;
}

/* Ends @proc with SIGTERM (SIGKILL after 10 s); its exit status, -1 when
 * it had to be killed or died of a signal (a sanitizer's abort). */
int
stop_proc (GSubprocess *proc)
{
  if (proc == NULL)
    return -1;
  if (g_subprocess_get_identifier (proc) != NULL)
    g_subprocess_send_signal (proc, SIGTERM);
  /* Reaped by GSubprocess's child watch when the context runs. */
  for (int i = 0; i < 500 && g_subprocess_get_identifier (proc) != NULL; i++)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (20000);
    }
  if (g_subprocess_get_identifier (proc) != NULL)
    {
      g_subprocess_force_exit (proc);
      g_subprocess_wait (proc, NULL, NULL);
      return -1;
    }
  return g_subprocess_get_if_exited (proc) ? g_subprocess_get_exit_status (proc) : -1;
}

static void
net_cleanup (void)
{
  for (guint i = 0; all_procs != NULL && i < all_procs->len; i++)
    {
      const char *id = g_subprocess_get_identifier (all_procs->pdata[i]);

      if (id != NULL)
        kill (atoi (id), SIGKILL);
    }
  for (guint i = 0; net.namespaces != NULL && i < net.namespaces->len; i++)
    sh ("ip netns del %s 2>/dev/null", (char *) net.namespaces->pdata[i]);
  for (guint i = 0; i < net.n_hosts; i++)
    sh ("rm -f /var/run/wireguard/nbc%d%c.sock", (int) getpid (), 'a' + i);
  if (net.tmp != NULL && g_getenv ("NB_KEEP_TEST_DIRS") == NULL)
    rm_rf (net.tmp);
}

static void
on_abort (int sig)
{
  /* An assertion failed (or worse): leave nothing behind, then die as
   * asked. */
  signal (sig, SIG_DFL);
  net_cleanup ();
  raise (sig);
}

char *
read_file (const char *path)
{
  char *text = NULL;

  g_file_get_contents (path, &text, NULL, NULL);
  return text;
}

/* Waits until @path holds @needle; FALSE after @timeout_s. */
gboolean
wait_file (const char *path,
           const char *needle,
           guint       timeout_s)
{
  gint64 until = g_get_monotonic_time () + timeout_s * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < until)
    {
      g_autofree char *text = read_file (path);

      if (text != NULL && strstr (text, needle) != NULL)
        return TRUE;
      iterate_for (50);
    }
  return FALSE;
}

/* A REST call with the admin token; Management is in the hub namespace,
 * so curl runs there. The JSON answer, or NULL for an empty one. */
JsonNode *
rest (const char *method,
      const char *path,
      const char *body,
      guint       expect)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *out = NULL;
  g_autofree char *quoted = body != NULL ? g_shell_quote (body) : NULL;
  g_autofree char *cmd =
    g_strdup_printf ("ip netns exec %s curl -s -o - -w '\\n%%{http_code}' -X %s "
                     "-H 'Authorization: Token %s' -H 'Content-Type: application/json' "
                     "%s%s %s/api%s",
                     net.hub, method, net.admin_token, body != NULL ? "--data " : "",
                     body != NULL ? quoted : "", MGMT_URL, path);
  char *nl;

  g_assert_true (g_spawn_command_line_sync (cmd, &out, NULL, NULL, NULL));
  g_assert_nonnull (out);
  nl = strrchr (out, '\n');
  g_assert_nonnull (nl);
  *nl = '\0';
  if ((guint) atoi (nl + 1) != expect)
    g_error ("%s %s: expected %u, got %s: %s", method, path, expect, nl + 1, out);
  if (out[0] == '\0')
    return NULL;
  g_assert_true (json_parser_load_from_data (parser, out, -1, NULL));
  return json_node_copy (json_parser_get_root (parser));
}

static gboolean with_relay;

void
net_setup_relay (void)
{
  with_relay = TRUE;
  net_setup ();
}

void
net_setup (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *data_dir = NULL;
  g_autofree char *config = NULL;
  g_autofree char *mgmt_log = NULL;
  g_autofree char *signal_log = NULL;
  g_autofree char *creds_path = NULL;
  g_autofree char *creds = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *o;
  pid_t pid = getpid ();

  all_procs = g_ptr_array_new_with_free_func (g_object_unref);
  /* meson test sets them (tests/client/meson.build). */
  g_assert_nonnull (g_getenv ("NETBIRD_MANAGEMENT"));
  g_assert_nonnull (g_getenv ("NETBIRD_SIGNAL"));
  g_assert_nonnull (g_getenv ("NB_CLIENT_RUN"));
  net.tmp = tmp_dir ();
  net.namespaces = g_ptr_array_new_with_free_func (g_free);
  net.hub = g_strdup_printf ("nbc-%d-hub", (int) pid);
  g_ptr_array_add (net.namespaces, g_strdup (net.hub));
  signal (SIGABRT, on_abort);
  signal (SIGSEGV, on_abort);
  signal (SIGBUS, on_abort);

  g_assert_cmpint (sh ("ip netns add %s && ip -n %s link set lo up && "
                       "ip -n %s link add br0 type bridge && "
                       "ip -n %s addr add " HUB_ADDRESS "/24 dev br0 && ip -n %s link set br0 up",
                       net.hub, net.hub, net.hub, net.hub, net.hub), ==, 0);

  data_dir = g_build_filename (net.tmp, "mgmt", NULL);
  config = g_build_filename (net.tmp, "mgmt.json", NULL);
  mgmt_log = g_build_filename (net.tmp, "mgmt.log", NULL);
  signal_log = g_build_filename (net.tmp, "signal.log", NULL);
  {
    g_autofree char *json =
      /* NetBird's form, host and port without a scheme: Management hands
       * it out as plain HTTP and the client makes it ws://. */
      g_strdup_printf ("{\"signal\": {\"uri\": \"%s:%d\"}, \"dns_domain\": \"nb.test\", "
                       "\"stuns\": [\"stun:%s:%d\"], \"turn\": {\"uris\": "
                       "[\"turn:%s:%d?transport=udp\"], \"secret\": \"%s\"}}",
                       HUB_ADDRESS, SIGNAL_PORT, HUB_ADDRESS, TURN_PORT, HUB_ADDRESS, TURN_PORT,
                       TURN_SECRET);
    /* With the WebSocket relay, no TURN: the relay is the one there is. */
    if (with_relay)
      {
        g_free (json);
        json = g_strdup_printf ("{\"signal\": {\"uri\": \"http://%s:%d\"}, "
                                "\"dns_domain\": \"nb.test\", \"stuns\": [\"stun:%s:%d\"]}",
                                HUB_ADDRESS, SIGNAL_PORT, HUB_ADDRESS, TURN_PORT);
      }
    g_assert_true (g_file_set_contents (config, json, -1, NULL));
  }
  if (with_relay)
    {
      g_autofree char *secret = g_build_filename (net.tmp, "relay.secret", NULL);
      g_autofree char *relay_log = g_build_filename (net.tmp, "relay.log", NULL);
      g_autofree char *listen = g_strdup_printf ("%s:%d", HUB_ADDRESS, RELAY_PORT);

      g_assert_true (g_file_set_contents (secret, "nb-client-test-relay-secret\n", -1, NULL));
      net.relay = spawn_in (net.hub, relay_log, &error, g_getenv ("NETBIRD_RELAY"),
                            "--listen", listen, "--auth-secret-file", secret,
                            "--metrics", RELAY_METRICS, NULL);
      g_assert_no_error (error);
      g_assert_true (wait_file (relay_log, "Listening on", 30));
    }
  {
    g_autofree char *listen = g_strdup_printf ("%s:%d", HUB_ADDRESS, SIGNAL_PORT);
    net.signal = spawn_in (net.hub, signal_log, &error, g_getenv ("NETBIRD_SIGNAL"),
                           "--listen", listen, NULL);
    g_assert_no_error (error);
  }
  {
    g_autofree char *listen = g_strdup_printf ("%s:%d", HUB_ADDRESS, MGMT_PORT);
    g_autofree char *secret = g_build_filename (net.tmp, "relay.secret", NULL);

    if (with_relay)
      net.mgmt = spawn_in (net.hub, mgmt_log, &error, g_getenv ("NETBIRD_MANAGEMENT"),
                           "--listen", listen, "--data-dir", data_dir, "--config", config,
                           "--relay-url", RELAY_URL, "--relay-secret-file", secret, NULL);
    else
      net.mgmt = spawn_in (net.hub, mgmt_log, &error, g_getenv ("NETBIRD_MANAGEMENT"),
                           "--listen", listen, "--data-dir", data_dir, "--config", config, NULL);
    g_assert_no_error (error);
  }
  {
    /* coturn as tests/transport/ice-topology.sh runs it. */
    g_autofree char *coturn_log = g_build_filename (net.tmp, "coturn.log", NULL);
    g_autofree char *coturn_out = g_build_filename (net.tmp, "coturn.out", NULL);
    g_autofree char *port = g_strdup_printf ("%d", TURN_PORT);

    net.coturn = spawn_in (net.hub, coturn_out, &error, "turnserver", "-n",
                           "--listening-ip", HUB_ADDRESS, "--listening-port", port,
                           "--relay-ip", HUB_ADDRESS, "--min-port", "49152", "--max-port", "49407",
                           "--use-auth-secret", "--static-auth-secret", TURN_SECRET,
                           "--realm", "netbird.test", "--no-tcp", "--no-tls", "--no-dtls",
                           "--no-cli", "--no-tcp-relay", "--no-multicast-peers", "--simple-log",
                           "--log-file", coturn_log, "--pidfile", "", NULL);
    g_assert_no_error (error);
  }
  g_assert_true (wait_file (mgmt_log, "Listening on", 30));
  g_assert_true (wait_file (signal_log, "Listening on", 30));
  for (int tries = 0; tries < 100; tries++)
    {
      if (sh ("ip netns exec %s ss -lun | grep -q '%s:%d '", net.hub, HUB_ADDRESS, TURN_PORT) == 0)
        break;
      g_assert_cmpint (tries, <, 99);
      iterate_for (50);
    }
  creds_path = g_build_filename (data_dir, "initial-credentials.json", NULL);
  creds = read_file (creds_path);
  g_assert_nonnull (creds);
  g_assert_true (json_parser_load_from_data (parser, creds, -1, NULL));
  o = json_node_get_object (json_parser_get_root (parser));
  net.admin_token = g_strdup (json_object_get_string_member (o, "admin_token"));
  net.setup_key = g_strdup (json_object_get_string_member (o, "setup_key"));
  g_assert_nonnull (net.admin_token);
  g_assert_nonnull (net.setup_key);
}

static void
on_line (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Host *host = user_data;
  char *line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result,
                                                          NULL, NULL);

  /* NULL: the end, or cancelled by host_free() (then @host is gone). */
  if (line == NULL)
    return;
  g_test_message ("%s: %s", host->name, line);
  g_ptr_array_add (host->lines, line);
  g_data_input_stream_read_line_async (host->out, G_PRIORITY_DEFAULT, host->reading, on_line,
                                       host);
}

/* The first line @host printed since line @from that holds every word
 * given; its index + 1 (0: none within @timeout_s). */
guint
host_wait (Host       *host,
           guint       from,
           guint       timeout_s,
           const char *word,
           ...)
{
  gint64 until = g_get_monotonic_time () + timeout_s * G_USEC_PER_SEC;

  while (TRUE)
    {
      for (guint i = from; i < host->lines->len; i++)
        {
          const char *line = host->lines->pdata[i];
          gboolean all = TRUE;
          va_list args;

          va_start (args, word);
          for (const char *w = word; w != NULL && all; w = va_arg (args, const char *))
            all = strstr (line, w) != NULL;
          va_end (args);
          if (all)
            return i + 1;
        }
      if (g_get_monotonic_time () > until)
        return 0;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (10000);
    }
}

/* Runs the client of @host (again: the same configuration and key). */
void
host_start_with (Host       *host,
                 const char *setup_key,
                 const char *option)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *config = g_build_filename (host->dir, "config.json", NULL);

  host->proc = spawn_in (host->ns, NULL, &error, g_getenv ("NB_CLIENT_RUN"), "--config", config,
                         "--management-url", MGMT_URL, "--interface", host->ifname,
                         "--hostname", host->name, option != NULL ? option : "--port=51820",
                         "--relogin-key", net.setup_key,
                         setup_key != NULL ? "--setup-key" : NULL, setup_key, NULL);
  g_assert_no_error (error);
  host->out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (host->proc));
  host->reading = g_cancellable_new ();
  g_data_input_stream_read_line_async (host->out, G_PRIORITY_DEFAULT, host->reading, on_line,
                                       host);
}

void
host_start (Host       *host,
            const char *setup_key)
{
  host_start_with (host, setup_key, NULL);
}

int
host_stop (Host *host)
{
  int status;

  g_cancellable_cancel (host->reading);
  status = stop_proc (host->proc);
  /* The cancelled read reports before @host goes. */
  iterate_for (50);
  g_clear_object (&host->reading);
  g_clear_object (&host->out);
  g_clear_object (&host->proc);
  return status;
}

Host *
host_new (const char *setup_key)
{
  Host *host = g_new0 (Host, 1);
  guint index = net.n_hosts++;
  g_autofree char *under = g_strdup_printf ("198.18.0.%u", 10 + index);
  g_autofree char *veth = g_strdup_printf ("nbc%dv%c", (int) getpid (), 'a' + index);
  pid_t pid = getpid ();

  host->name = g_strdup_printf ("%c", 'a' + index);
  host->ns = g_strdup_printf ("nbc-%d-%s", (int) pid, host->name);
  host->ifname = g_strdup_printf ("nbc%d%s", (int) pid, host->name);
  host->dir = g_build_filename (net.tmp, host->name, NULL);
  host->lines = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (net.namespaces, g_strdup (host->ns));
  g_assert_cmpint (sh ("ip netns add %s && ip -n %s link set lo up && "
                       "ip link add %s netns %s type veth peer name eth0 netns %s && "
                       "ip -n %s link set %s master br0 up && "
                       "ip -n %s addr add %s/24 dev eth0 && ip -n %s link set eth0 up",
                       host->ns, host->ns, veth, net.hub, host->ns, net.hub, veth, host->ns,
                       under, host->ns), ==, 0);
  host_start (host, setup_key);
  return host;
}

/* Reads the public key and address @host printed. */
void
host_wait_up (Host *host)
{
  guint i = host_wait (host, 0, 30, "start public_key=", NULL);
  const char *line;

  g_assert_cmpuint (i, >, 0);
  line = host->lines->pdata[i - 1];
  host->public_key = g_strdup (strstr (line, "=") + 1);
  i = host_wait (host, 0, 30, "up address=", NULL);
  g_assert_cmpuint (i, >, 0);
  line = host->lines->pdata[i - 1];
  host->address = g_strndup (strstr (line, "=") + 1, strcspn (strstr (line, "=") + 1, "/"));
}

void
host_free_stopped (Host *host)
{
  g_ptr_array_unref (host->lines);
  g_free (host->name);
  g_free (host->ns);
  g_free (host->ifname);
  g_free (host->dir);
  g_free (host->public_key);
  g_free (host->address);
  g_free (host);
}

/* Stops @host: a client ends cleanly on SIGTERM (under the sanitizers,
 * with nothing leaked). */
void
host_free (Host *host)
{
  g_assert_cmpint (host_stop (host), ==, 0);
  host_free_stopped (host);
}

/* Pings @address from @host until one answers or @timeout_s passes. */
gboolean
ping_from (Host       *host,
           const char *address,
           guint       timeout_s)
{
  gint64 until = g_get_monotonic_time () + timeout_s * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < until)
    {
      if (sh ("ip netns exec %s ping -c1 -W1 %s >/dev/null", host->ns, address) == 0)
        return TRUE;
      iterate_for (100);
    }
  return FALSE;
}

/* One counter of @host's device from stats=1 on its UAPI socket. */
guint64
uapi_stat (Host       *host,
           const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_strdup_printf ("/var/run/wireguard/%s.sock", host->ifname);
  g_autoptr(GSocketAddress) address = g_unix_socket_address_new (path);
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) conn = NULL;
  g_autoptr(GDataInputStream) in = NULL;
  g_autofree char *prefix = g_strdup_printf ("%s=", name);
  guint64 value = G_MAXUINT64;
  char *line;

  conn = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (address), NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)),
                                            "stats=1\n\n", 9, NULL, NULL, &error));
  in = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (conn)));
  while ((line = g_data_input_stream_read_line_utf8 (in, NULL, NULL, &error)) != NULL)
    {
      gboolean end = line[0] == '\0' || g_str_has_prefix (line, "errno=");

      if (g_str_has_prefix (line, prefix))
        value = g_ascii_strtoull (line + strlen (prefix), NULL, 10);
      g_free (line);
      if (end)
        break;
    }
  g_assert_no_error (error);
  if (value == G_MAXUINT64)
    g_error ("stats=1 of %s has no %s", host->ifname, name);
  return value;
}

void
restart_mgmt (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *data_dir = g_build_filename (net.tmp, "mgmt", NULL);
  g_autofree char *config = g_build_filename (net.tmp, "mgmt.json", NULL);
  g_autofree char *log = g_build_filename (net.tmp, "mgmt2.log", NULL);
  g_autofree char *listen = g_strdup_printf ("%s:%d", HUB_ADDRESS, MGMT_PORT);
  g_autofree char *secret = g_build_filename (net.tmp, "relay.secret", NULL);

  g_clear_object (&net.mgmt);
  if (net.relay != NULL)
    net.mgmt = spawn_in (net.hub, log, &error, g_getenv ("NETBIRD_MANAGEMENT"), "--listen", listen,
                         "--data-dir", data_dir, "--config", config, "--relay-url", RELAY_URL,
                         "--relay-secret-file", secret, NULL);
  else
    net.mgmt = spawn_in (net.hub, log, &error, g_getenv ("NETBIRD_MANAGEMENT"), "--listen", listen,
                         "--data-dir", data_dir, "--config", config, NULL);
  g_assert_no_error (error);
  g_assert_true (wait_file (log, "Listening on", 30));
}

void
net_teardown (void)
{
  /* The servers end cleanly too (sanitizers included). */
  g_assert_cmpint (stop_proc (net.mgmt), ==, 0);
  g_assert_cmpint (stop_proc (net.signal), ==, 0);
  stop_proc (net.coturn);
  if (net.relay != NULL)
    g_assert_cmpint (stop_proc (net.relay), ==, 0);
  net_cleanup ();
  g_clear_object (&net.relay);
  g_clear_object (&net.mgmt);
  g_clear_object (&net.signal);
  g_clear_object (&net.coturn);
}
