/* relay-test-util.c: a real netbird-relay daemon, real clients and a raw
 * WebSocket for the Relay tests
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "nb-signal-proto-private.h"
#include "relay-test-util.h"

static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

Daemon *
daemon_start (const char        *listen,
              const char *const *extra_args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GDataInputStream) out = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  const char *path = g_getenv ("NETBIRD_RELAY");
  Daemon *daemon = g_new0 (Daemon, 1);
  gboolean tls = FALSE;

  if (path == NULL)
    g_error ("NETBIRD_RELAY is not set: run the tests through meson");
  g_ptr_array_add (argv, (gpointer) path);
  g_ptr_array_add (argv, (gpointer) "--listen");
  g_ptr_array_add (argv, (gpointer) (listen != NULL ? listen : "127.0.0.1:0"));
  g_ptr_array_add (argv, (gpointer) "--metrics");
  g_ptr_array_add (argv, (gpointer) "127.0.0.1:0");
  g_ptr_array_add (argv, (gpointer) "--auth-secret");
  g_ptr_array_add (argv, (gpointer) TEST_SECRET);
  for (guint i = 0; extra_args != NULL && extra_args[i] != NULL; i++)
    {
      tls |= g_str_equal (extra_args[i], "--tls-cert");
      g_ptr_array_add (argv, (gpointer) extra_args[i]);
    }
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  g_subprocess_launcher_unsetenv (launcher, "G_DEBUG");
  /* In the sanitizer build freed memory waits in ASan's quarantine (256 MB
   * by default): the slow-reader test, which measures the daemon's RSS
   * while it forwards 100 MB, would measure the quarantine. A small one
   * still catches a use soon after a free. */
  if (g_getenv ("ASAN_OPTIONS") != NULL)
    {
      g_autofree char *asan = g_strdup_printf ("%s:quarantine_size_mb=4:"
                                               "thread_local_quarantine_size_kb=64",
                                               g_getenv ("ASAN_OPTIONS"));

      g_subprocess_launcher_setenv (launcher, "ASAN_OPTIONS", asan, TRUE);
    }
  daemon->log_path = g_build_filename (g_get_tmp_dir (), "test-relay-daemon-XXXXXX.log", NULL);
  close (g_mkstemp (daemon->log_path));
  g_subprocess_launcher_set_stderr_file_path (launcher, daemon->log_path);
  daemon->process = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata,
                                                  &error);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (daemon->process));
  while (daemon->metrics_url == NULL || daemon->address == NULL)
    {
      g_autofree char *line = g_data_input_stream_read_line_utf8 (out, NULL, NULL, &error);

      g_assert_no_error (error);
      if (line == NULL)
        g_error ("netbird-relay exited before it listened");
      if (g_str_has_prefix (line, "Metrics on "))
        daemon->metrics_url = g_strdup (line + strlen ("Metrics on "));
      else if (g_str_has_prefix (line, "Listening on "))
        daemon->address = g_strdup (line + strlen ("Listening on "));
    }
  g_assert_nonnull (daemon->metrics_url);
  g_assert_nonnull (daemon->address);
  daemon->url = g_strdup_printf ("%s://%s", tls ? "rels" : "rel", daemon->address);
  daemon->http = soup_session_new_with_options ("timeout", 10, NULL);
  return daemon;
}

void
daemon_kill (Daemon *daemon)
{
  g_autoptr(GError) error = NULL;

  g_subprocess_send_signal (daemon->process, SIGKILL);
  g_subprocess_wait (daemon->process, NULL, &error);
  g_assert_no_error (error);
  daemon->killed = TRUE;
}

static void
on_exited (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *(gboolean *) user_data = TRUE;
}

void
daemon_free (Daemon *daemon)
{
  g_autofree char *log = NULL;

  if (!daemon->killed)
    {
      gboolean exited = FALSE;

      g_subprocess_send_signal (daemon->process, SIGTERM);
      g_subprocess_wait_async (daemon->process, NULL, on_exited, &exited);
      if (!WAIT_UNTIL (exited, 10000))
        {
          g_subprocess_force_exit (daemon->process);
          g_error ("netbird-relay did not exit within 10 s of SIGTERM");
        }
      g_assert_true (g_subprocess_get_if_exited (daemon->process));
      g_assert_cmpint (g_subprocess_get_exit_status (daemon->process), ==, 0);
    }
  g_assert_true (g_file_get_contents (daemon->log_path, &log, NULL, NULL));
  if (strstr (log, "CRITICAL") != NULL || strstr (log, "netbird-relay-WARNING") != NULL ||
      strstr (log, "GLib-WARNING") != NULL || strstr (log, "GLib-GObject-WARNING") != NULL ||
      strstr (log, "Sanitizer") != NULL || strstr (log, "runtime error") != NULL)
    g_error ("netbird-relay logged a critical, a warning or a sanitizer report:\n%s", log);
  g_unlink (daemon->log_path);
  g_free (daemon->log_path);
  g_object_unref (daemon->process);
  g_object_unref (daemon->http);
  g_free (daemon->address);
  g_free (daemon->url);
  g_free (daemon->metrics_url);
  g_free (daemon);
}

guint64
daemon_metric (Daemon     *daemon,
               const char *series)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", daemon->metrics_url);
  g_autoptr(GBytes) body = soup_session_send_and_read (daemon->http, msg, NULL, &error);
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  gsize len = strlen (series);

  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
  text = g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (strncmp (lines[i], series, len) == 0 && lines[i][len] == ' ')
      return g_ascii_strtoull (lines[i] + len + 1, NULL, 10);
  g_error ("no series %s in the metrics:\n%s", series, text);
}

guint64
daemon_rss_kib (Daemon *daemon)
{
  g_autofree char *path = g_strdup_printf ("/proc/%s/status",
                                           g_subprocess_get_identifier (daemon->process));
  g_autofree char *text = NULL;
  const char *line;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  line = strstr (text, "VmRSS:");
  g_assert_nonnull (line);
  return g_ascii_strtoull (line + strlen ("VmRSS:"), NULL, 10);
}

void
make_token (const char  *secret,
            NbKey       *key,
            gint64       ttl,
            char       **payload,
            char       **signature)
{
  nb_relay_token_make (secret, g_get_real_time () / G_USEC_PER_SEC + ttl,
                       nb_key_get_public_base64 (key), payload, signature);
}

NbRelayClient *
client_new (Daemon *daemon,
            NbKey  *key)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *payload = NULL;
  g_autofree char *signature = NULL;
  NbRelayClient *client = nb_relay_client_new (daemon->url, key, &error);

  g_assert_no_error (error);
  make_token (TEST_SECRET, key, 3600, &payload, &signature);
  nb_relay_client_set_token (client, payload, signature);
  nb_relay_client_start (client);
  return client;
}

Inbox *
inbox_new (void)
{
  Inbox *inbox = g_new0 (Inbox, 1);

  g_mutex_init (&inbox->lock);
  inbox->last = g_byte_array_new ();
  return inbox;
}

void
inbox_free (Inbox *inbox)
{
  g_mutex_clear (&inbox->lock);
  g_byte_array_unref (inbox->last);
  g_free (inbox);
}

void
inbox_receive (guint8   *data,
               gsize     len,
               gpointer  user_data)
{
  Inbox *inbox = user_data;

  g_mutex_lock (&inbox->lock);
  inbox->count++;
  g_byte_array_set_size (inbox->last, 0);
  g_byte_array_append (inbox->last, data, len);
  g_mutex_unlock (&inbox->lock);
}

guint
inbox_count (Inbox *inbox)
{
  guint n;

  g_mutex_lock (&inbox->lock);
  n = inbox->count;
  g_mutex_unlock (&inbox->lock);
  return n;
}

GSocketConnection *
raw_connect (Daemon *daemon)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  GSocketConnection *conn = g_socket_client_connect_to_host (client, daemon->address, 0, NULL,
                                                             &error);
  g_autofree char *request = NULL;
  GString *response = g_string_new (NULL);

  g_assert_no_error (error);
  g_socket_set_timeout (g_socket_connection_get_socket (conn), 10);
  request = g_strdup_printf ("GET /relay/v1 HTTP/1.1\r\nHost: %s\r\n"
                             "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                             "Sec-WebSocket-Version: 13\r\n\r\n", daemon->address);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)), request,
                             strlen (request), NULL, NULL, &error);
  g_assert_no_error (error);
  while (!g_str_has_suffix (response->str, "\r\n\r\n"))
    {
      char c;
      gsize got = 0;

      g_input_stream_read_all (g_io_stream_get_input_stream (G_IO_STREAM (conn)), &c, 1, &got,
                               NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (got, ==, 1);
      g_string_append_c (response, c);
    }
  g_assert_true (g_str_has_prefix (response->str, "HTTP/1.1 101"));
  g_string_free (response, TRUE);
  return conn;
}

/* RFC 6455 §5.2: a client's frames are masked (a zero mask here). */
void
raw_send (GSocketConnection *conn,
          guint8             opcode,
          const guint8      *data,
          gsize              len)
{
  g_autoptr(GError) error = NULL;
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (conn));
  guint8 header[14];
  gsize n = 0;

  header[n++] = 0x80 | opcode;
  if (len < 126)
    header[n++] = 0x80 | len;
  else if (len < 65536)
    {
      header[n++] = 0x80 | 126;
      header[n++] = len >> 8;
      header[n++] = len & 0xff;
    }
  else
    {
      header[n++] = 0x80 | 127;
      for (int i = 7; i >= 0; i--)
        header[n++] = (guint8) ((guint64) len >> (8 * i));
    }
  memset (header + n, 0, 4);
  n += 4;
  g_output_stream_write_all (out, header, n, NULL, NULL, &error);
  g_assert_no_error (error);
  g_output_stream_write_all (out, data, len, NULL, NULL, &error);
  g_assert_no_error (error);
}

GBytes *
raw_read (GSocketConnection *conn,
          guint             *close_code)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (conn));

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      guint8 h[10];
      gsize len, got = 0;
      guint8 *payload;
      guint opcode;

      g_input_stream_read_all (in, h, 2, &got, NULL, &error);
      /* A reset: the server closed with our data still unread. */
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED) ||
          g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE))
        {
          *close_code = 1006;
          return NULL;
        }
      g_assert_no_error (error);
      if (got < 2)
        {
          *close_code = 1006;
          return NULL;
        }
      opcode = h[0] & 0x0f;
      len = h[1] & 0x7f;
      if (len == 126)
        {
          g_input_stream_read_all (in, h + 2, 2, &got, NULL, &error);
          g_assert_no_error (error);
          len = (h[2] << 8) | h[3];
        }
      g_assert_cmpuint (len, <, 65536);
      payload = g_malloc0 (len + 1);
      g_input_stream_read_all (in, payload, len, &got, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (got, ==, len);
      if (opcode == 8)
        {
          *close_code = len >= 2 ? (payload[0] << 8) | payload[1] : 1005;
          g_free (payload);
          return NULL;
        }
      if (opcode == 1 || opcode == 2)
        return g_bytes_new_take (payload, len);
      g_free (payload);
    }
}

guint
raw_wait_close (GSocketConnection *conn)
{
  guint code = 0;

  for (;;)
    {
      g_autoptr(GBytes) frame = raw_read (conn, &code);

      if (frame == NULL)
        return code;
    }
}

static void
raw_read_frame (GSocketConnection *conn,
                NbRelayFrameType   type,
                NbRelayFrame      *frame,
                GBytes           **bytes)
{
  g_autoptr(GError) error = NULL;
  guint code = 0;

  *bytes = raw_read (conn, &code);
  g_assert_nonnull (*bytes);
  g_assert_true (nb_relay_frame_parse (g_bytes_get_data (*bytes, NULL),
                                       g_bytes_get_size (*bytes), frame, &error));
  g_assert_no_error (error);
  g_assert_cmpint (frame->type, ==, type);
}

void
raw_authenticate (GSocketConnection *conn,
                  NbKey             *key)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *payload = NULL;
  g_autofree char *signature = NULL;
  g_autofree char *challenge = NULL;
  g_autofree char *proof = NULL;
  g_autoptr(GBytes) auth = NULL;
  g_autoptr(GBytes) challenge_bytes = NULL;
  g_autoptr(GBytes) proof_frame = NULL;
  g_autoptr(GBytes) ok_bytes = NULL;
  NbRelayFrame frame;

  make_token (TEST_SECRET, key, 3600, &payload, &signature);
  auth = nb_relay_frame_new_auth (nb_key_get_public_data (key, NULL), payload, signature);
  raw_send (conn, 2, g_bytes_get_data (auth, NULL), g_bytes_get_size (auth));
  raw_read_frame (conn, NB_RELAY_FRAME_CHALLENGE, &frame, &challenge_bytes);
  challenge = g_strndup (frame.text, frame.text_len);
  proof = nb_signal_challenge_answer (key, challenge, &error);
  g_assert_no_error (error);
  proof_frame = nb_relay_frame_new_text (NB_RELAY_FRAME_PROOF, proof);
  raw_send (conn, 2, g_bytes_get_data (proof_frame, NULL), g_bytes_get_size (proof_frame));
  raw_read_frame (conn, NB_RELAY_FRAME_AUTH_OK, &frame, &ok_bytes);
}
