/* nb-mgmt-sync-clients.c: many Management peers in one process
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * For the benchmark (tests/bench/management.sh): registers N peers with
 * setup keys over the real client protocol, opens N sealed sync channels
 * (one WebSocket each, all multiplexed on one main loop), reports the
 * server's RSS once every channel has its first map, then registers more
 * peers one after the other (--joins) and measures for each how long it
 * takes until every peer whose map changed has its update, and how many
 * bytes were pushed.
 *
 * Output, one line: connected=N rss_mb=Z join_fanout_ms=Y (the median of
 * --joins joins, each measured alone) join_fanout_ms_each=A,B,C join_bytes=B
 * join_receivers=R register_s=S connect_s=C
 *
 * A measurement that fails (a peer that cannot register or connect, a join
 * the server refuses, a fan-out that does not finish within a minute, a
 * server whose memory cannot be read) prints what failed on stderr and
 * exits 1 without the line: no figure stands for a run that did not happen.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libsoup/soup.h>
#include <netbird.h>

typedef struct Bench Bench;

typedef struct
{
  Bench *bench;
  guint index;
  NbKey *key;
  SoupWebsocketConnection *ws;
  gboolean got_first;
} BenchPeer;

struct Bench
{
  GMainLoop *loop;
  SoupSession *session;
  char *base_url;
  char *ws_url;
  NbKey *server_key;
  char **setup_keys;
  guint n_setup_keys;
  guint n_peers;
  guint concurrency;
  int server_pid;
  double quiet_seconds;

  BenchPeer *peers;
  guint next;           /* next peer to start in the current phase */
  guint in_flight;
  guint done;
  guint failed;

  /* join measurement */
  gboolean measuring;
  gboolean joined;
  gboolean join_failed;  /* the server did not accept the login */
  gboolean timed_out;    /* a minute passed before updates stopped */
  gint64 join_start;
  gint64 last_update;
  double last_update_cpu_ms;   /* the server's CPU time then */
  guint64 join_bytes;
  guint join_receivers;
  guint quiet_source;
};

static GBytes *
seal_text (Bench      *bench,
           NbKey      *key,
           const char *text)
{
  g_autoptr(GBytes) plain = g_bytes_new (text, strlen (text));
  g_autoptr(GError) error = NULL;
  GBytes *sealed = nb_envelope_seal (key, bench->server_key, plain, &error);

  if (sealed == NULL)
    g_error ("seal: %s", error->message);
  return sealed;
}

static SoupMessage *
login_message (Bench    *bench,
               NbKey    *key,
               guint     index,
               const char *setup_key)
{
  g_autofree char *url = g_strconcat (bench->base_url, "/management/v1/login", NULL);
  g_autofree char *nonce = g_uuid_string_random ();
  /* Each sealed login is taken once, within minutes of its time. */
  g_autofree char *body = g_strdup_printf ("{\"setup_key\":\"%s\",\"meta\":{\"hostname\":"
                                           "\"bench-%u\",\"go_os\":\"linux\"},"
                                           "\"timestamp\":%" G_GINT64_FORMAT ","
                                           "\"nonce\":\"%s\"}",
                                           setup_key, index,
                                           g_get_real_time () / G_USEC_PER_SEC, nonce);
  g_autoptr(GBytes) sealed = seal_text (bench, key, body);
  SoupMessage *msg = soup_message_new ("POST", url);

  soup_message_set_request_body_from_bytes (msg, "application/octet-stream", sealed);
  return msg;
}

/* ---- phase 1: register ---- */

/* CPU time (user + system, ms) a process has used, all its threads. */
static double
process_cpu_ms (int pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree char *contents = NULL;
  g_auto(GStrv) fields = NULL;
  const char *end;

  if (pid <= 0 || !g_file_get_contents (path, &contents, NULL, NULL))
    return 0;
  /* The command name may hold spaces: count fields after its ')'. */
  end = strrchr (contents, ')');
  if (end == NULL)
    return 0;
  fields = g_strsplit (end + 2, " ", 0);
  if (g_strv_length (fields) < 13)
    return 0;
  return (g_ascii_strtod (fields[11], NULL) + g_ascii_strtod (fields[12], NULL)) * 1000.0 /
         sysconf (_SC_CLK_TCK);
}

static void start_registrations (Bench *bench);
static void start_connections (Bench *bench);

static void
on_registered (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  BenchPeer *peer = user_data;
  Bench *bench = peer->bench;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (bench->session, result, &error);
  SoupMessage *msg = soup_session_get_async_result_message (bench->session, result);

  bench->in_flight--;
  if (body == NULL || soup_message_get_status (msg) != SOUP_STATUS_OK)
    {
      bench->failed++;
      g_printerr ("register %u: %s %s\n", peer->index,
                  error != NULL ? error->message : soup_message_get_reason_phrase (msg),
                  body != NULL ? (const char *) g_bytes_get_data (body, NULL) : "");
    }
  bench->done++;
  start_registrations (bench);
}

static void
start_registrations (Bench *bench)
{
  while (bench->next < bench->n_peers && bench->in_flight < bench->concurrency)
    {
      BenchPeer *peer = &bench->peers[bench->next];
      g_autoptr(SoupMessage) msg = NULL;

      peer->bench = bench;
      peer->index = bench->next;
      peer->key = nb_key_generate ();
      msg = login_message (bench, peer->key, peer->index,
                           bench->setup_keys[peer->index % bench->n_setup_keys]);
      bench->next++;
      bench->in_flight++;
      soup_session_send_and_read_async (bench->session, msg, G_PRIORITY_DEFAULT, NULL,
                                        on_registered, peer);
    }
  if (bench->done == bench->n_peers)
    {
      bench->next = bench->done = 0;
      g_main_loop_quit (bench->loop);
    }
}

/* ---- phase 2: connect ---- */

static gboolean
on_quiet (gpointer user_data)
{
  Bench *bench = user_data;

  gint64 now = g_get_monotonic_time ();

  /* Done once updates have stopped for a while after the join's answer,
   * at once when the join failed, and given up after a minute (when no
   * update came or they did not stop: the fan-out did not finish). */
  if (!bench->join_failed && now - bench->join_start < 60 * G_USEC_PER_SEC &&
      (!bench->joined || bench->join_receivers == 0 ||
       now - bench->last_update < bench->quiet_seconds * G_USEC_PER_SEC))
    return G_SOURCE_CONTINUE;
  bench->timed_out = !bench->join_failed && now - bench->join_start >= 60 * G_USEC_PER_SEC;
  bench->quiet_source = 0;
  g_main_loop_quit (bench->loop);
  return G_SOURCE_REMOVE;
}

static void
on_ws_message (SoupWebsocketConnection *ws,
               gint                     type,
               GBytes                  *message,
               BenchPeer               *peer)
{
  Bench *bench = peer->bench;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) plain = nb_envelope_open (peer->key, message, NULL, &error);

  if (plain == NULL)
    g_error ("peer %u: cannot open a pushed map: %s", peer->index, error->message);

  if (!peer->got_first)
    {
      peer->got_first = TRUE;
      bench->in_flight--;
      bench->done++;
      start_connections (bench);
      return;
    }
  if (bench->measuring)
    {
      bench->join_receivers++;
      bench->join_bytes += g_bytes_get_size (message);
      bench->last_update = g_get_monotonic_time ();
      bench->last_update_cpu_ms = process_cpu_ms (bench->server_pid);
    }
}

static void
on_ws_closed (SoupWebsocketConnection *ws,
              BenchPeer               *peer)
{
  g_printerr ("peer %u: sync channel closed: %u %s\n", peer->index,
              soup_websocket_connection_get_close_code (ws),
              soup_websocket_connection_get_close_data (ws));
  if (!peer->got_first)
    {
      peer->bench->failed++;
      peer->bench->in_flight--;
      peer->bench->done++;
      start_connections (peer->bench);
    }
}

static void
on_ws_connected (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  BenchPeer *peer = user_data;
  Bench *bench = peer->bench;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) request = NULL;
  gsize len = 0;
  gconstpointer data;

  peer->ws = soup_session_websocket_connect_finish (bench->session, result, &error);
  if (peer->ws == NULL)
    {
      g_printerr ("peer %u: %s\n", peer->index, error->message);
      bench->failed++;
      bench->in_flight--;
      bench->done++;
      start_connections (bench);
      return;
    }
  soup_websocket_connection_set_max_incoming_payload_size (peer->ws, 256 * 1024 * 1024);
  soup_websocket_connection_set_keepalive_interval (peer->ws, 0);
  g_signal_connect (peer->ws, "message", G_CALLBACK (on_ws_message), peer);
  g_signal_connect (peer->ws, "closed", G_CALLBACK (on_ws_closed), peer);
  request = seal_text (bench, peer->key, "{\"meta\":{\"hostname\":\"bench\"}}");
  data = g_bytes_get_data (request, &len);
  soup_websocket_connection_send_binary (peer->ws, data, len);
}

static void
start_connections (Bench *bench)
{
  while (bench->next < bench->n_peers && bench->in_flight < bench->concurrency)
    {
      BenchPeer *peer = &bench->peers[bench->next++];
      g_autoptr(SoupMessage) msg = soup_message_new ("GET", bench->ws_url);

      bench->in_flight++;
      soup_session_websocket_connect_async (bench->session, msg, NULL, NULL,
                                            G_PRIORITY_DEFAULT, NULL, on_ws_connected, peer);
    }
  if (bench->done == bench->n_peers)
    g_main_loop_quit (bench->loop);
}

/* ---- phase 3: one join ---- */

static void
on_joined (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Bench *bench = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (bench->session, result, &error);
  SoupMessage *msg = soup_session_get_async_result_message (bench->session, result);

  if (body == NULL || soup_message_get_status (msg) != SOUP_STATUS_OK)
    {
      g_printerr ("join: %s\n",
                  error != NULL ? error->message : soup_message_get_reason_phrase (msg));
      bench->join_failed = TRUE;
    }
  else
    g_printerr ("joined after %.1f ms\n",
                (g_get_monotonic_time () - bench->join_start) / 1000.0);
  bench->joined = TRUE;
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

static double
server_rss_mb (int pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", pid);
  g_autofree char *contents = NULL;
  const char *line;

  if (pid <= 0 || !g_file_get_contents (path, &contents, NULL, NULL))
    return -1;
  line = strstr (contents, "VmRSS:");
  if (line == NULL)
    return -1;
  return g_ascii_strtod (line + 6, NULL) / 1024.0;
}

static gboolean
quit_loop (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

static guint
count_fds (int pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/fd", pid);
  g_autoptr(GDir) dir = pid > 0 ? g_dir_open (path, 0, NULL) : NULL;
  guint n = 0;

  while (dir != NULL && g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

static double
seconds_since (gint64 start)
{
  return (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *url = NULL;
  g_autofree char *keys_file = NULL;
  g_autofree char *join_key = NULL;
  int n_peers = 100, concurrency = 64, pid = 0, joins = 3;
  double quiet = 2.0;
  const GOptionEntry entries[] = {
    { "url", 0, 0, G_OPTION_ARG_STRING, &url, "Server base URL", "URL" },
    { "setup-keys", 0, 0, G_OPTION_ARG_FILENAME, &keys_file, "File of setup keys, one a line",
      "FILE" },
    { "join-key", 0, 0, G_OPTION_ARG_STRING, &join_key, "Setup key of the joining peer", "KEY" },
    { "peers", 'n', 0, G_OPTION_ARG_INT, &n_peers, "Peers to register and connect", "N" },
    { "concurrency", 'c', 0, G_OPTION_ARG_INT, &concurrency, "Requests in flight", "C" },
    { "server-pid", 0, 0, G_OPTION_ARG_INT, &pid, "Server process, for its RSS", "PID" },
    { "joins", 0, 0, G_OPTION_ARG_INT, &joins, "Peers that join one after the other (the "
      "median fan-out is reported)", "N" },
    { "quiet", 0, 0, G_OPTION_ARG_DOUBLE, &quiet, "Seconds without updates that end the join",
      "S" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- Management sync-channel load");
  g_autoptr(GError) error = NULL;
  g_autofree char *keys_text = NULL;
  g_autofree char *server_key_url = NULL;
  g_autoptr(SoupMessage) key_msg = NULL;
  g_autoptr(GBytes) key_body = NULL;
  g_autoptr(GArray) fanouts = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) server_cpu = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GString) fanout_list = g_string_new (NULL);
  guint64 join_bytes = 0;
  guint join_receivers = 0;
  g_autofree char *key_text = NULL;
  const char *k;
  Bench bench = { 0 };
  gint64 t;
  double register_s, connect_s, rss;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || url == NULL ||
      keys_file == NULL || join_key == NULL || n_peers <= 0 || concurrency <= 0 || joins <= 0)
    {
      g_printerr ("usage: %s --url URL --setup-keys FILE --join-key KEY [-n N]\n", argv[0]);
      return 2;
    }
  if (!g_file_get_contents (keys_file, &keys_text, NULL, &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  g_strstrip (keys_text);
  bench.setup_keys = g_strsplit (keys_text, "\n", -1);
  bench.n_setup_keys = g_strv_length (bench.setup_keys);
  bench.loop = g_main_loop_new (NULL, FALSE);
  bench.session = soup_session_new_with_options ("max-conns", concurrency + 8,
                                                 "max-conns-per-host", concurrency + 8,
                                                 "timeout", 120, NULL);
  bench.base_url = g_strdup (url);
  if (g_str_has_prefix (url, "https://"))
    bench.ws_url = g_strconcat ("wss://", url + 8, "/management/v1/sync", NULL);
  else if (g_str_has_prefix (url, "http://"))
    bench.ws_url = g_strconcat ("ws://", url + 7, "/management/v1/sync", NULL);
  else
    bench.ws_url = g_strconcat (url, "/management/v1/sync", NULL);
  bench.n_peers = n_peers;
  bench.concurrency = concurrency;
  bench.server_pid = pid;
  bench.quiet_seconds = quiet;
  bench.peers = g_new0 (BenchPeer, n_peers);

  server_key_url = g_strconcat (url, "/management/v1/server-key", NULL);
  key_msg = soup_message_new ("GET", server_key_url);
  key_body = soup_session_send_and_read (bench.session, key_msg, NULL, &error);
  if (key_body == NULL)
    {
      g_printerr ("server key: %s\n", error->message);
      return 1;
    }
  key_text = g_strndup (g_bytes_get_data (key_body, NULL), g_bytes_get_size (key_body));
  k = strstr (key_text, "\"key\":\"");
  if (k == NULL || strlen (k + 7) < NB_KEY_BASE64_LEN)
    {
      g_printerr ("server key: no key in the answer '%s'\n", key_text);
      return 1;
    }
  k += 7;
  key_text[k - key_text + NB_KEY_BASE64_LEN] = '\0';
  bench.server_key = nb_key_new_public_from_base64 (k, &error);
  if (bench.server_key == NULL)
    {
      g_printerr ("server key: %s\n", error->message);
      return 1;
    }

  t = g_get_monotonic_time ();
  start_registrations (&bench);
  g_main_loop_run (bench.loop);
  register_s = seconds_since (t);
  g_printerr ("registered %u peers in %.1f s (%u failed)\n", bench.n_peers, register_s,
              bench.failed);
  if (bench.failed > 0)
    {
      g_printerr ("error: %u of %u peers could not register: no figures\n", bench.failed,
                  bench.n_peers);
      return 1;
    }

  t = g_get_monotonic_time ();
  bench.failed = 0;
  start_connections (&bench);
  g_main_loop_run (bench.loop);
  connect_s = seconds_since (t);
  g_printerr ("connected %u sync channels in %.1f s (%u failed)\n", bench.n_peers - bench.failed,
              connect_s, bench.failed);
  if (bench.failed > 0)
    {
      g_printerr ("error: %u of %u sync channels did not get their first map: no figures\n",
                  bench.failed, bench.n_peers);
      return 1;
    }

  /* Let the server settle, then weigh it. */
  g_timeout_add_seconds (1, quit_loop, bench.loop);
  g_main_loop_run (bench.loop);
  rss = server_rss_mb (pid);
  if (pid > 0 && rss < 0)
    {
      g_printerr ("error: cannot read the memory of server process %d: no figures\n", pid);
      return 1;
    }
  g_printerr ("server: rss %.1f MB, %u open files\n", rss, count_fds (pid));

  /* Each join is measured alone, after the last one's updates stopped;
   * one sample varies by a third with what else the machine does. */
  for (int j = 0; j < joins; j++)
    {
      g_autoptr(NbKey) join_peer = nb_key_generate ();
      g_autoptr(SoupMessage) join_msg = login_message (&bench, join_peer, n_peers + j, join_key);
      double ms, cpu_start = process_cpu_ms (pid), cpu;

      bench.measuring = TRUE;
      bench.joined = FALSE;
      bench.join_failed = FALSE;
      bench.timed_out = FALSE;
      bench.join_bytes = 0;
      bench.join_receivers = 0;
      bench.join_start = bench.last_update = g_get_monotonic_time ();
      soup_session_send_and_read_async (bench.session, join_msg, G_PRIORITY_DEFAULT, NULL,
                                        on_joined, &bench);
      bench.quiet_source = g_timeout_add (50, on_quiet, &bench);
      g_main_loop_run (bench.loop);
      bench.measuring = FALSE;

      if (bench.join_failed)
        {
          g_printerr ("error: join %d: the login failed: no figures\n", j + 1);
          return 1;
        }
      if (bench.join_receivers == 0)
        {
          g_printerr ("error: join %d: no peer received an update within 60 s: no figures\n",
                      j + 1);
          return 1;
        }
      if (bench.timed_out)
        {
          g_printerr ("error: join %d: updates still arriving after 60 s (%u so far): the "
                      "fan-out did not finish, no figures\n", j + 1, bench.join_receivers);
          return 1;
        }
      ms = (bench.last_update - bench.join_start) / 1000.0;
      cpu = bench.last_update_cpu_ms - cpu_start;
      g_array_append_val (server_cpu, cpu);
      g_array_append_val (fanouts, ms);
      g_string_append_printf (fanout_list, "%s%.1f", j > 0 ? "," : "", ms);
      join_bytes = bench.join_bytes;
      join_receivers = bench.join_receivers;
    }
  g_array_sort (fanouts, compare_doubles);
  g_array_sort (server_cpu, compare_doubles);

  g_print ("connected=%u rss_mb=%.1f join_fanout_ms=%.1f join_fanout_ms_each=%s"
           " join_server_cpu_ms=%.0f"
           " join_bytes=%" G_GUINT64_FORMAT " join_receivers=%u register_s=%.1f connect_s=%.1f\n",
           bench.n_peers, rss,
           g_array_index (fanouts, double, fanouts->len / 2),
           fanout_list->str,
           g_array_index (server_cpu, double, server_cpu->len / 2),
           join_bytes, join_receivers, register_s, connect_s);
  return 0;
}
