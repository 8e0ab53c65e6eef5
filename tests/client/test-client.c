/* test-client.c: NbClient against a real Management and Signal
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * In process: the configuration and key files, and the errors a client
 * gets from a Management that is not there.
 *
 * In network namespaces (root): netbird-management (SQLite in a temp dir)
 * and netbird-signal run in a "hub" namespace on a bridge, 198.18.0.1; each
 * client is nb-client-run (one NbClient in a process, each process in a
 * namespace of its own on the bridge: a TUN device and its overlay address
 * per namespace). The clients register with the setup key Management made
 * on its first start, get each other in their maps, connect through
 * Signal and ICE and ping each other over the tunnel. Then: the firewall
 * rules of a policy reach the filter (stats=1 on the UAPI socket shows the
 * drops), a peer deleted through the REST API is gone from the other's map
 * at once and its own client needs a login, and a wrong setup key is said
 * so.
 *
 * Everything the test makes (namespaces, processes, files) is removed
 * at the end, and when an assertion aborts it (see on_abort()).
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

#define HUB_ADDRESS "198.18.0.1"
#define MGMT_PORT 33073
#define SIGNAL_PORT 10000
#define MGMT_URL "http://" HUB_ADDRESS ":33073"
#define TURN_PORT 3478
#define TURN_SECRET "nb-client-test-turn-secret"

/* -- helpers ---------------------------------------------------------------- */

static char *
tmp_dir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("nb-client-test-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

static void
rm_rf (const char *path)
{
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", path);

  g_assert_true (g_spawn_command_line_sync (cmd, NULL, NULL, NULL, NULL));
}

static guint
file_mode (const char *path)
{
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return st.st_mode & 0777;
}

/* Runs @cmd with /bin/sh; its exit status. */
static int
sh (const char *format,
    ...) G_GNUC_PRINTF (1, 2);

static int
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

static void
iterate_for (guint ms)
{
  gint64 until = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < until)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (5000);
    }
}

/* -- in process: configuration ----------------------------------------------- */

static void
test_config_round_trip (void)
{
  g_autofree char *dir = tmp_dir ();
  g_autofree char *conf_dir = g_build_filename (dir, "etc", "netbird", NULL);
  g_autofree char *path = g_build_filename (conf_dir, "config.json", NULL);
  g_autofree char *key_path = g_build_filename (conf_dir, "config.key", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(NbClient) client = NULL;
  g_autoptr(NbClient) again = NULL;
  g_autofree char *public_key = NULL;
  g_autofree char *text = NULL;

  client = nb_client_new (path, &error);
  g_assert_no_error (error);
  /* Defaults, written at once with the modes a secret needs. */
  g_assert_cmpstr (nb_client_get_interface_name (client), ==, "wt0");
  g_assert_cmpuint (nb_client_get_wireguard_port (client), ==, 51820);
  g_assert_cmpint (nb_client_get_state (client), ==, NB_CLIENT_STATE_DOWN);
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
  g_assert_cmphex (file_mode (path), ==, 0600);
  g_assert_cmphex (file_mode (conf_dir), ==, 0700);
  g_assert_cmphex (file_mode (key_path), ==, 0600);
  public_key = g_strdup (nb_client_get_public_key (client));
  g_assert_cmpuint (strlen (public_key), ==, 44);

  g_assert_true (nb_client_set_management_url (client, "https://mgmt.example:33073/", &error));
  g_assert_cmpstr (nb_client_get_management_url (client), ==, "https://mgmt.example:33073");
  nb_client_set_hostname (client, "laptop");
  g_assert_true (nb_client_set_interface_name (client, "nbtest0", &error));
  nb_client_set_wireguard_port (client, 0);
  nb_client_set_block_inbound (client, TRUE);
  g_assert_true (nb_client_set_preshared_key (client,
                                              "FpCyhws9cxwWoV4xELtfJvjJN+zQVRPISllRWgeopVE=",
                                              &error));
  g_assert_true (nb_client_save_config (client, &error));
  g_assert_no_error (error);
  g_assert_cmphex (file_mode (path), ==, 0600);

  /* Bad settings are refused, and change nothing. */
  g_assert_false (nb_client_set_management_url (client, "ftp://x", &error));
  g_assert_error (error, NB_CLIENT_ERROR, NB_CLIENT_ERROR_CONFIG);
  g_clear_error (&error);
  g_assert_false (nb_client_set_interface_name (client, "a/b", &error));
  g_assert_error (error, NB_CLIENT_ERROR, NB_CLIENT_ERROR_CONFIG);
  g_clear_error (&error);
  g_assert_false (nb_client_set_preshared_key (client, "short", &error));
  g_assert_error (error, NB_CLIENT_ERROR, NB_CLIENT_ERROR_CONFIG);
  g_clear_error (&error);
  g_clear_object (&client);

  /* A restarted client: the same settings and the same key. */
  again = nb_client_new (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (nb_client_get_public_key (again), ==, public_key);
  g_assert_cmpstr (nb_client_get_management_url (again), ==, "https://mgmt.example:33073");
  g_assert_cmpstr (nb_client_get_hostname (again), ==, "laptop");
  g_assert_cmpstr (nb_client_get_interface_name (again), ==, "nbtest0");
  g_assert_cmpuint (nb_client_get_wireguard_port (again), ==, 0);
  g_assert_true (nb_client_get_block_inbound (again));
  g_assert_false (nb_client_get_disable_firewall (again));
  g_clear_object (&again);

  /* The key file is a name beside the configuration. */
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "\"private_key_file\" : \"config.key\""));
  g_clear_pointer (&text, g_free);

  /* A key others can read is taken as leaked. */
  g_assert_cmpint (g_chmod (key_path, 0644), ==, 0);
  again = nb_client_new (path, &error);
  g_assert_null (again);
  g_assert_error (error, NB_CLIENT_ERROR, NB_CLIENT_ERROR_CONFIG);
  g_clear_error (&error);
  g_assert_cmpint (g_chmod (key_path, 0600), ==, 0);

  /* Not JSON, or a member of the wrong type: an error that says where. */
  g_assert_true (g_file_set_contents (path, "{\"wireguard_port\": \"x\"}", -1, NULL));
  again = nb_client_new (path, &error);
  g_assert_null (again);
  g_assert_error (error, NB_CLIENT_ERROR, NB_CLIENT_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "wireguard_port"));
  g_clear_error (&error);
  g_assert_true (g_file_set_contents (path, "not json", -1, NULL));
  again = nb_client_new (path, &error);
  g_assert_null (again);
  g_assert_error (error, NB_CLIENT_ERROR, NB_CLIENT_ERROR_CONFIG);
  g_clear_error (&error);

  rm_rf (dir);
}

/* -- in process: a Management that is not there ------------------------------ */

static void
on_async (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static GAsyncResult *
wait_async (GAsyncResult **slot,
            guint          timeout_s)
{
  gint64 until = g_get_monotonic_time () + timeout_s * G_USEC_PER_SEC;

  while (*slot == NULL && g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (*slot);
  return *slot;
}

static void
test_unreachable (void)
{
  g_autofree char *dir = tmp_dir ();
  g_autofree char *path = g_build_filename (dir, "config.json", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(NbClient) client = nb_client_new (path, &error);
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) any = NULL;
  g_autoptr(GInetSocketAddress) bound = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autofree char *url = NULL;
  g_autofree char *text = NULL;

  g_assert_no_error (error);
  /* A port nobody listens on: bound, never listening. */
  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                         &error);
  g_assert_no_error (error);
  any = g_inet_socket_address_new_from_string ("127.0.0.1", 0);
  g_assert_true (g_socket_bind (socket, any, FALSE, &error));
  bound = G_INET_SOCKET_ADDRESS (g_socket_get_local_address (socket, &error));
  url = g_strdup_printf ("http://127.0.0.1:%u", g_inet_socket_address_get_port (bound));
  g_assert_true (nb_client_set_management_url (client, url, &error));

  nb_client_up_async (client, "A-SETUP-KEY-THAT-IS-NOT-SAVED", NULL, on_async, &result);
  g_assert_cmpint (nb_client_get_state (client), ==, NB_CLIENT_STATE_CONNECTING);
  g_assert_false (nb_client_up_finish (client, wait_async (&result, 20), &error));
  g_assert_error (error, NB_CLIENT_ERROR, NB_CLIENT_ERROR_MANAGEMENT_UNREACHABLE);
  g_assert_nonnull (strstr (error->message, url));
  g_test_message ("unreachable: %s", error->message);
  g_clear_error (&error);
  g_assert_cmpint (nb_client_get_state (client), ==, NB_CLIENT_STATE_DOWN);
  g_assert_false (nb_client_get_management_connected (client));
  g_assert_nonnull (nb_client_get_management_error (client));

  /* The setup key is a credential: never written. */
  g_assert_true (nb_client_save_config (client, &error));
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_null (strstr (text, "A-SETUP-KEY"));
  rm_rf (dir);
}

/* -- namespaces ------------------------------------------------------------- */

typedef struct
{
  char *name;          /* "a" */
  char *ns;
  char *ifname;
  char *dir;
  GSubprocess *proc;
  GDataInputStream *out;
  GCancellable *reading;
  GPtrArray *lines;    /* char *, what it printed */
  char *public_key;
  char *address;       /* overlay, without the prefix */
} Host;

typedef struct
{
  char *tmp;
  char *hub;
  GPtrArray *namespaces;  /* char * */
  GSubprocess *mgmt;
  GSubprocess *signal;
  GSubprocess *coturn;
  char *admin_token;
  char *setup_key;
  guint n_hosts;
} Net;

static Net net;
static GPtrArray *all_procs;   /* GSubprocess, killed at the end or on abort */

static void
child_setup (gpointer data)
{
  /* A test that dies takes its daemons with it. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static GSubprocess *
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
static int
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
  for (guint i = 0; net.n_hosts > 0 && i < 8; i++)
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

static char *
read_file (const char *path)
{
  char *text = NULL;

  g_file_get_contents (path, &text, NULL, NULL);
  return text;
}

/* Waits until @path holds @needle; FALSE after @timeout_s. */
static gboolean
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
static JsonNode *
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

static void
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
      /* NetBird's form, host and port without a scheme: the client makes
       * it ws:// (wss:// when Management says HTTPS). */
      g_strdup_printf ("{\"signal\": {\"uri\": \"%s:%d\"}, \"dns_domain\": \"nb.test\", "
                       "\"stuns\": [\"stun:%s:%d\"], \"turn\": {\"uris\": "
                       "[\"turn:%s:%d?transport=udp\"], \"secret\": \"%s\"}}",
                       HUB_ADDRESS, SIGNAL_PORT, HUB_ADDRESS, TURN_PORT, HUB_ADDRESS, TURN_PORT,
                       TURN_SECRET);
    g_assert_true (g_file_set_contents (config, json, -1, NULL));
  }
  {
    g_autofree char *listen = g_strdup_printf ("%s:%d", HUB_ADDRESS, SIGNAL_PORT);
    net.signal = spawn_in (net.hub, signal_log, &error, g_getenv ("NETBIRD_SIGNAL"),
                           "--listen", listen, NULL);
    g_assert_no_error (error);
  }
  {
    g_autofree char *listen = g_strdup_printf ("%s:%d", HUB_ADDRESS, MGMT_PORT);
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
static guint
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
static void
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

static void
host_start (Host       *host,
            const char *setup_key)
{
  host_start_with (host, setup_key, NULL);
}

static int
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

static Host *
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
static void
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

static void
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
static void
host_free (Host *host)
{
  g_assert_cmpint (host_stop (host), ==, 0);
  host_free_stopped (host);
}

/* Pings @address from @host until one answers or @timeout_s passes. */
static gboolean
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
static guint64
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

static Host *host_a, *host_b, *host_c;

static void
test_network_ping (void)
{
  guint i;
  gint64 started = g_get_monotonic_time ();

  host_a = host_new (net.setup_key);
  host_b = host_new (net.setup_key);
  host_wait_up (host_a);
  host_wait_up (host_b);
  g_test_message ("a=%s %s b=%s %s", host_a->address, host_a->public_key, host_b->address,
                  host_b->public_key);
  g_assert_cmpstr (host_a->address, !=, host_b->address);

  /* Each gets the other in its map and connects to it through ICE. */
  g_assert_cmpuint (host_wait (host_a, 0, 30, "peer-added key=", host_b->public_key, NULL), >, 0);
  g_assert_cmpuint (host_wait (host_b, 0, 30, "peer-added key=", host_a->public_key, NULL), >, 0);
  i = host_wait (host_a, 0, 30, "peer key=", host_b->public_key, "state=connected type=p2p",
                 "local=host remote=host", NULL);
  g_assert_cmpuint (i, >, 0);
  g_assert_cmpuint (host_wait (host_b, 0, 30, "peer key=", host_a->public_key,
                               "state=connected type=p2p", NULL), >, 0);

  g_assert_true (ping_from (host_a, host_b->address, 20));
  g_test_message ("first ping a -> b after %" G_GINT64_FORMAT " ms",
                  (g_get_monotonic_time () - started) / 1000);
  g_assert_true (ping_from (host_b, host_a->address, 10));
  /* Status: the tunnel's round trip (each side measures its own: the
   * controlled side's first handshake comes a second later) and its
   * bytes, live. */
  {
    g_autofree char *needle = g_strdup_printf ("status key=%s", host_b->public_key);
    const char *line = NULL;

    for (int tries = 0; tries < 30; tries++)
      {
        guint from = host_a->lines->len;

        g_subprocess_send_signal (host_a->proc, SIGUSR1);
        i = host_wait (host_a, from, 5, needle, NULL);
        g_assert_cmpuint (i, >, 0);
        line = host_a->lines->pdata[i - 1];
        if (strstr (line, "latency_us=0") == NULL)
          break;
        iterate_for (200);
      }
    g_assert_null (strstr (line, "latency_us=0"));
    g_assert_null (strstr (line, "rx=0 "));
    g_assert_null (strstr (line, "tx=0 "));
    g_assert_null (strstr (line, "handshake=0 "));
  }
  /* wg(8) sees the client's device and its handshake. */
  g_assert_cmpint (sh ("wg show %s latest-handshakes | grep -q '%s\t[1-9]'", host_a->ifname,
                       host_b->public_key), ==, 0);
  g_assert_cmpint (sh ("ip -n %s -4 addr show %s | grep -q 'inet %s/'", host_a->ns,
                       host_a->ifname, host_a->address), ==, 0);
  g_assert_cmpint (sh ("ip -n %s link show %s | grep -q 'mtu 1280'", host_a->ns,
                       host_a->ifname), ==, 0);
}

static void
restart_mgmt (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *data_dir = g_build_filename (net.tmp, "mgmt", NULL);
  g_autofree char *config = g_build_filename (net.tmp, "mgmt.json", NULL);
  g_autofree char *log = g_build_filename (net.tmp, "mgmt2.log", NULL);
  g_autofree char *listen = g_strdup_printf ("%s:%d", HUB_ADDRESS, MGMT_PORT);

  g_clear_object (&net.mgmt);
  net.mgmt = spawn_in (net.hub, log, &error, g_getenv ("NETBIRD_MANAGEMENT"), "--listen", listen,
                       "--data-dir", data_dir, "--config", config, NULL);
  g_assert_no_error (error);
  g_assert_true (wait_file (log, "Listening on", 30));
}

/* Management away: the tunnels keep running; back: the clients reconnect. */
static void
test_network_management_restart (void)
{
  guint from_a, from_b;
  gint64 t0;

  g_assert_nonnull (host_a);
  from_a = host_a->lines->len;
  from_b = host_b->lines->len;
  stop_proc (net.mgmt);
  g_assert_cmpuint (host_wait (host_a, from_a, 10, "management connected=0", NULL), >, 0);
  g_assert_cmpuint (host_wait (host_b, from_b, 10, "management connected=0", NULL), >, 0);
  g_assert_true (ping_from (host_a, host_b->address, 3));
  g_assert_true (ping_from (host_b, host_a->address, 3));
  iterate_for (2000);
  g_assert_true (ping_from (host_a, host_b->address, 3));

  t0 = g_get_monotonic_time ();
  restart_mgmt ();
  g_assert_cmpuint (host_wait (host_a, from_a, 40, "management connected=1", NULL), >, 0);
  g_assert_cmpuint (host_wait (host_b, from_b, 40, "management connected=1", NULL), >, 0);
  g_test_message ("both reconnected %" G_GINT64_FORMAT " ms after Management restarted",
                  (g_get_monotonic_time () - t0) / 1000);
  g_assert_true (ping_from (host_a, host_b->address, 5));
}

/* Signal away: the tunnels keep running; back: both clients reconnect to
 * it (and offer again what was lost meanwhile). */
static void
test_network_signal_restart (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *log = g_build_filename (net.tmp, "signal2.log", NULL);
  g_autofree char *listen = g_strdup_printf ("%s:%d", HUB_ADDRESS, SIGNAL_PORT);
  guint from_a, from_b;
  gint64 t0;

  g_assert_nonnull (host_a);
  from_a = host_a->lines->len;
  from_b = host_b->lines->len;
  g_assert_cmpint (stop_proc (net.signal), ==, 0);
  g_assert_cmpuint (host_wait (host_a, from_a, 10, "signal connected=0", NULL), >, 0);
  g_assert_cmpuint (host_wait (host_b, from_b, 10, "signal connected=0", NULL), >, 0);
  g_assert_true (ping_from (host_a, host_b->address, 3));

  t0 = g_get_monotonic_time ();
  g_clear_object (&net.signal);
  net.signal = spawn_in (net.hub, log, &error, g_getenv ("NETBIRD_SIGNAL"), "--listen", listen,
                         NULL);
  g_assert_no_error (error);
  g_assert_true (wait_file (log, "Listening on", 30));
  g_assert_cmpuint (host_wait (host_a, from_a, 40, "signal connected=1", NULL), >, 0);
  g_assert_cmpuint (host_wait (host_b, from_b, 40, "signal connected=1", NULL), >, 0);
  g_test_message ("both back on Signal %" G_GINT64_FORMAT " ms after it restarted",
                  (g_get_monotonic_time () - t0) / 1000);
  g_assert_true (ping_from (host_b, host_a->address, 5));
}

/* A restarted client is the same peer: same key, same address, no setup
 * key needed. */
static void
test_network_client_restart (void)
{
  g_autofree char *key = NULL;
  g_autofree char *address = NULL;

  g_assert_nonnull (host_b);
  key = g_steal_pointer (&host_b->public_key);
  address = g_steal_pointer (&host_b->address);
  g_assert_cmpint (host_stop (host_b), ==, 0);
  g_ptr_array_set_size (host_b->lines, 0);
  /* Its interface went with it. */
  g_assert_cmpint (sh ("ip -n %s link show %s 2>/dev/null", host_b->ns, host_b->ifname), !=, 0);
  host_start (host_b, NULL);
  host_wait_up (host_b);
  g_assert_cmpstr (host_b->public_key, ==, key);
  g_assert_cmpstr (host_b->address, ==, address);
  g_assert_true (ping_from (host_a, host_b->address, 20));
  g_assert_true (ping_from (host_b, host_a->address, 5));
}

/* A peer that joins later: the others get it in their maps and reach it
 * within seconds. */
static void
test_network_late_joiner (void)
{
  guint from_a, from_b;
  gint64 t0 = g_get_monotonic_time ();

  g_assert_nonnull (host_b);
  from_a = host_a->lines->len;
  from_b = host_b->lines->len;
  host_c = host_new (net.setup_key);
  host_wait_up (host_c);
  g_assert_cmpuint (host_wait (host_a, from_a, 10, "peer-added key=", host_c->public_key, NULL),
                    >, 0);
  g_assert_cmpuint (host_wait (host_b, from_b, 10, "peer-added key=", host_c->public_key, NULL),
                    >, 0);
  g_assert_true (ping_from (host_a, host_c->address, 10));
  g_test_message ("a reached the late joiner %" G_GINT64_FORMAT " ms after it started",
                  (g_get_monotonic_time () - t0) / 1000);
  g_assert_true (ping_from (host_c, host_b->address, 10));
  {
    /* For the record: what a client with two connected peers holds. */
    g_autofree char *path =
      g_strdup_printf ("/proc/%s/status", g_subprocess_get_identifier (host_a->proc));
    g_autofree char *text = read_file (path);
    const char *rss = text != NULL ? strstr (text, "VmRSS:") : NULL;

    g_assert_nonnull (rss);
    g_test_message ("client a with 2 connected peers: %.*s", (int) strcspn (rss, "\n"), rss);
  }
}

/* UDP between two clients dropped (a bridge rule in the hub): ICE fails
 * the direct pairs, and the relay-only round goes through coturn. */
static void
test_network_relay_fallback (void)
{
  Host *host_d;
  guint i;
  gint64 t0;

  g_assert_nonnull (host_a);
  g_assert_cmpint (sh ("ip netns exec %s nft add table bridge nbc && "
                       "ip netns exec %s nft add chain bridge nbc nbcforward "
                       "'{ type filter hook forward priority 0; }' && "
                       "ip netns exec %s nft add rule bridge nbc nbcforward ip saddr 198.18.0.10 "
                       "ip daddr 198.18.0.13 meta l4proto udp drop && "
                       "ip netns exec %s nft add rule bridge nbc nbcforward ip saddr 198.18.0.13 "
                       "ip daddr 198.18.0.10 meta l4proto udp drop",
                       net.hub, net.hub, net.hub, net.hub), ==, 0);
  t0 = g_get_monotonic_time ();
  host_d = host_new (net.setup_key);
  host_wait_up (host_d);
  i = host_wait (host_a, 0, 90, "peer key=", host_d->public_key, "state=connected type=relayed",
                 NULL);
  g_assert_cmpuint (i, >, 0);
  g_test_message ("a and d connected through the relay after %" G_GINT64_FORMAT " ms",
                  (g_get_monotonic_time () - t0) / 1000);
  g_assert_true (ping_from (host_a, host_d->address, 20));
  g_assert_true (ping_from (host_d, host_a->address, 10));
  /* d reaches b directly. */
  g_assert_true (ping_from (host_d, host_b->address, 20));
  g_assert_cmpuint (host_wait (host_d, 0, 5, "peer key=", host_b->public_key,
                               "state=connected type=p2p", NULL), >, 0);
  host_free (host_d);
  g_assert_cmpint (sh ("ip netns exec %s nft delete table bridge nbc", net.hub), ==, 0);
}

/* block-inbound: nothing comes in to B, whatever the policy, but B's own
 * connections get their replies. */
static void
test_network_block_inbound (void)
{
  guint64 blocked;

  g_assert_nonnull (host_b);
  g_assert_cmpint (host_stop (host_b), ==, 0);
  g_ptr_array_set_size (host_b->lines, 0);
  g_clear_pointer (&host_b->public_key, g_free);
  g_clear_pointer (&host_b->address, g_free);
  host_start_with (host_b, NULL, "--block-inbound");
  host_wait_up (host_b);
  g_assert_true (ping_from (host_b, host_a->address, 20));
  g_assert_false (ping_from (host_a, host_b->address, 2));
  blocked = uapi_stat (host_b, "filter_drop_block_inbound");
  g_assert_cmpuint (blocked, >, 0);
  g_assert_cmpuint (uapi_stat (host_b, "filter_accept_conntrack"), >, 0);
  g_test_message ("block-inbound dropped %" G_GUINT64_FORMAT " packets", blocked);

  /* Back to the policy's rules. */
  g_assert_cmpint (host_stop (host_b), ==, 0);
  g_ptr_array_set_size (host_b->lines, 0);
  g_clear_pointer (&host_b->public_key, g_free);
  g_clear_pointer (&host_b->address, g_free);
  host_start (host_b, NULL);
  host_wait_up (host_b);
  g_assert_true (ping_from (host_a, host_b->address, 20));
}

static void
test_network_firewall (void)
{
  g_autoptr(JsonNode) policies = NULL;
  g_autofree char *body = NULL;
  JsonArray *list;
  JsonObject *policy;
  const char *id;
  guint64 dropped;
  guint from;
  guint i;

  g_assert_nonnull (host_a);
  /* The default policy (All <-> All) lets everything through. */
  g_assert_cmpuint (uapi_stat (host_b, "filter_rules"), >, 0);
  dropped = uapi_stat (host_b, "rx_drop_filter");

  /* Only TCP 22 from the group to itself: pings are dropped now, and the
   * drops counted. */
  policies = rest ("GET", "/policies", NULL, 200);
  list = json_node_get_array (policies);
  g_assert_cmpuint (json_array_get_length (list), >, 0);
  policy = json_array_get_object_element (list, 0);
  id = json_object_get_string_member (policy, "id");
  {
    JsonArray *rules = json_object_get_array_member (policy, "rules");
    JsonObject *rule = json_array_get_object_element (rules, 0);
    JsonArray *sources = json_object_get_array_member (rule, "sources");
    JsonNode *group = json_array_get_element (sources, 0);
    const char *group_id = JSON_NODE_HOLDS_OBJECT (group)
                           ? json_object_get_string_member (json_node_get_object (group), "id")
                           : json_node_get_string (group);

    body = g_strdup_printf ("{\"name\": \"ssh only\", \"enabled\": true, \"rules\": [{"
                            "\"name\": \"ssh\", \"enabled\": true, \"action\": \"accept\", "
                            "\"bidirectional\": true, \"protocol\": \"tcp\", \"ports\": [\"22\"], "
                            "\"sources\": [\"%s\"], \"destinations\": [\"%s\"]}]}",
                            group_id, group_id);
  }
  {
    g_autofree char *path = g_strdup_printf ("/policies/%s", id);
    g_autoptr(JsonNode) updated = NULL;

    from = host_b->lines->len;
    updated = rest ("PUT", path, body, 200);
  }
  g_assert_cmpuint (host_wait (host_b, from, 10, "map serial=", NULL), >, 0);
  g_assert_false (ping_from (host_a, host_b->address, 2));
  g_assert_cmpuint (uapi_stat (host_b, "rx_drop_filter"), >, dropped);
  g_assert_cmpuint (uapi_stat (host_b, "filter_drop_no_rule") +
                    uapi_stat (host_b, "filter_drop_protocol"), >, 0);
  /* The client's status says so too. */
  {
    const char *line;

    from = host_b->lines->len;
    g_subprocess_send_signal (host_b->proc, SIGUSR1);
    i = host_wait (host_b, from, 5, "status-end", NULL);
    g_assert_cmpuint (i, >, 0);
    line = host_b->lines->pdata[i - 1];
    g_assert_nonnull (strstr (line, "firewall_mode=enforcing"));
    g_assert_null (strstr (line, "firewall_rules=0 "));
    g_assert_null (strstr (line, "firewall_drops=0"));
  }

  /* disable-firewall: the same policy, nothing enforced. */
  g_assert_cmpint (host_stop (host_b), ==, 0);
  g_ptr_array_set_size (host_b->lines, 0);
  g_clear_pointer (&host_b->public_key, g_free);
  g_clear_pointer (&host_b->address, g_free);
  host_start_with (host_b, NULL, "--disable-firewall");
  host_wait_up (host_b);
  g_assert_true (ping_from (host_a, host_b->address, 20));
  {
    const char *line;

    from = host_b->lines->len;
    g_subprocess_send_signal (host_b->proc, SIGUSR1);
    i = host_wait (host_b, from, 5, "status-end", NULL);
    g_assert_cmpuint (i, >, 0);
    line = host_b->lines->pdata[i - 1];
    g_assert_nonnull (strstr (line, "firewall_mode=disabled"));
  }
}

static void
test_network_peer_deleted (void)
{
  g_autoptr(JsonNode) peers = NULL;
  g_autofree char *path = NULL;
  JsonArray *list;
  const char *id = NULL;
  guint from_a, from_b;
  gint64 t0;

  g_assert_nonnull (host_a);
  peers = rest ("GET", "/peers", NULL, 200);
  list = json_node_get_array (peers);
  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonObject *p = json_array_get_object_element (list, i);

      if (g_strcmp0 (json_object_get_string_member (p, "ip"), host_b->address) == 0)
        id = json_object_get_string_member (p, "id");
    }
  g_assert_nonnull (id);
  path = g_strdup_printf ("/peers/%s", id);
  from_a = host_a->lines->len;
  from_b = host_b->lines->len;
  t0 = g_get_monotonic_time ();
  g_clear_pointer (&peers, json_node_unref);
  peers = rest ("DELETE", path, NULL, 200);
  /* The other side drops it at once; the deleted one learns it is. */
  g_assert_cmpuint (host_wait (host_a, from_a, 5, "peer-removed key=", host_b->public_key, NULL),
                    >, 0);
  g_test_message ("peer removed on a after %" G_GINT64_FORMAT " ms",
                  (g_get_monotonic_time () - t0) / 1000);
  g_assert_cmpuint (host_wait (host_b, from_b, 5, "state=needs-login", NULL), >, 0);
  g_assert_cmpuint (host_wait (host_b, from_b, 5, "peer-removed key=", host_a->public_key, NULL),
                    >, 0);
  g_assert_cmpuint (host_wait (host_b, from_b, 5, "management connected=0 error=This peer was deleted",
                               NULL), >, 0);
  g_assert_false (ping_from (host_a, host_b->address, 1));

  /* A login with the setup key brings it back, as a new peer with the
   * same key: the others get it again and reach it. */
  from_a = host_a->lines->len;
  from_b = host_b->lines->len;
  g_subprocess_send_signal (host_b->proc, SIGUSR2);
  g_assert_cmpuint (host_wait (host_b, from_b, 10, "login ok", NULL), >, 0);
  g_assert_cmpuint (host_wait (host_b, from_b, 10, "state=connected", NULL), >, 0);
  g_assert_cmpuint (host_wait (host_b, from_b, 10, "management connected=1", NULL), >, 0);
  g_assert_cmpuint (host_wait (host_a, from_a, 10, "peer-added key=", host_b->public_key, NULL),
                    >, 0);
  {
    guint i = host_wait (host_a, from_a, 10, "peer-added key=", host_b->public_key, NULL);
    const char *line = host_a->lines->pdata[i - 1];

    g_free (host_b->address);
    host_b->address = g_strdup (strstr (line, "address=") + strlen ("address="));
  }
  /* Connected again (the policy of the firewall test lets no ping
   * through: the connection is the proof). */
  g_assert_cmpuint (host_wait (host_a, from_a, 20, "peer key=", host_b->public_key,
                               "state=connected", NULL), >, 0);
  g_assert_cmpuint (host_wait (host_b, from_b, 20, "peer key=", host_a->public_key,
                               "state=connected", NULL), >, 0);
}

static void
test_network_wrong_setup_key (void)
{
  Host *host = host_new ("00000000-0000-0000-0000-000000000000");

  g_assert_cmpuint (host_wait (host, 0, 20, "up-failed error=setup-key-invalid", NULL), >, 0);
  /* It ends by itself, with status 3 (nb-client-run's "up failed"). */
  g_assert_cmpint (host_stop (host), ==, 3);
  host_free_stopped (host);
}

static void
test_network_needs_root (void)
{
  g_test_skip ("the network tests make namespaces and TUN devices: run them as root");
}

/* A revoked setup key: the login is refused, with Management's words. */
static void
test_network_revoked_setup_key (void)
{
  g_autoptr(JsonNode) key = rest ("POST", "/setup-keys",
                                  "{\"name\": \"revoked\", \"type\": \"reusable\", "
                                  "\"expires_in\": 86400, \"auto_groups\": [], "
                                  "\"usage_limit\": 0, \"ephemeral\": false}", 200);
  JsonObject *o = json_node_get_object (key);
  g_autofree char *path = g_strdup_printf ("/setup-keys/%s", json_object_get_string_member (o, "id"));
  g_autoptr(JsonNode) revoked = rest ("PUT", path, "{\"revoked\": true, \"auto_groups\": []}",
                                      200);
  Host *host = host_new (json_object_get_string_member (o, "key"));
  guint i = host_wait (host, 0, 20, "up-failed error=login-refused", NULL);

  g_assert_cmpuint (i, >, 0);
  g_assert_nonnull (strstr (host->lines->pdata[i - 1], "revoked"));
  g_assert_cmpint (host_stop (host), ==, 3);
  host_free_stopped (host);
}

int
main (int    argc,
      char **argv)
{
  int rc;

  g_test_init (&argc, &argv, NULL);
  all_procs = g_ptr_array_new_with_free_func (g_object_unref);
  g_test_add_func ("/client/config/round-trip", test_config_round_trip);
  g_test_add_func ("/client/up/management-unreachable", test_unreachable);
  if (getuid () != 0)
    {
      g_test_add_func ("/client/network", test_network_needs_root);
      return g_test_run ();
    }
  net_setup ();
  g_test_add_func ("/client/network/ping", test_network_ping);
  g_test_add_func ("/client/network/management-restart", test_network_management_restart);
  g_test_add_func ("/client/network/signal-restart", test_network_signal_restart);
  g_test_add_func ("/client/network/client-restart", test_network_client_restart);
  g_test_add_func ("/client/network/late-joiner", test_network_late_joiner);
  g_test_add_func ("/client/network/relay-fallback", test_network_relay_fallback);
  g_test_add_func ("/client/network/block-inbound", test_network_block_inbound);
  g_test_add_func ("/client/network/firewall", test_network_firewall);
  g_test_add_func ("/client/network/peer-deleted", test_network_peer_deleted);
  g_test_add_func ("/client/network/wrong-setup-key", test_network_wrong_setup_key);
  g_test_add_func ("/client/network/revoked-setup-key", test_network_revoked_setup_key);
  rc = g_test_run ();
  g_clear_pointer (&host_a, host_free);
  g_clear_pointer (&host_b, host_free);
  g_clear_pointer (&host_c, host_free);
  /* The servers end cleanly too (sanitizers included). */
  g_assert_cmpint (stop_proc (net.mgmt), ==, 0);
  g_assert_cmpint (stop_proc (net.signal), ==, 0);
  stop_proc (net.coturn);
  net_cleanup ();
  g_clear_object (&net.mgmt);
  g_clear_object (&net.signal);
  g_clear_object (&net.coturn);
  return rc;
}
