/* signal-test-util.c: a real netbird-signal daemon, real clients and raw
 * WebSockets for the Signal tests
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "signal-test-util.h"

/* A daemon dies with the test, whatever ends it. */
static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

Daemon *
daemon_start (const char         *listen,
              const char *const  *extra_args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GDataInputStream) out = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  const char *path = g_getenv ("NETBIRD_SIGNAL");
  Daemon *daemon = g_new0 (Daemon, 1);
  gboolean tls = FALSE;

  if (path == NULL)
    g_error ("NETBIRD_SIGNAL is not set: run the tests through meson");

  g_ptr_array_add (argv, (gpointer) path);
  g_ptr_array_add (argv, (gpointer) "--listen");
  g_ptr_array_add (argv, (gpointer) (listen != NULL ? listen : "127.0.0.1:0"));
  g_ptr_array_add (argv, (gpointer) "--metrics");
  g_ptr_array_add (argv, (gpointer) "127.0.0.1:0");
  for (guint i = 0; extra_args != NULL && extra_args[i] != NULL; i++)
    {
      tls |= g_str_equal (extra_args[i], "--tls-cert");
      g_ptr_array_add (argv, (gpointer) extra_args[i]);
    }
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  /* libsoup warns (and goes on) when a connection is reset before it read
   * the peer's address, which the abrupt-disconnect test does on purpose:
   * not fatal in the daemon. Its log is read at the end instead, and any
   * critical or warning of ours fails the test. */
  g_subprocess_launcher_unsetenv (launcher, "G_DEBUG");
  daemon->log_path = g_build_filename (g_get_tmp_dir (), "test-signal-daemon-XXXXXX.log", NULL);
  close (g_mkstemp (daemon->log_path));
  g_subprocess_launcher_set_stderr_file_path (launcher, daemon->log_path);
  daemon->process = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata,
                                                  &error);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (daemon->process));
  /* "Metrics on http://HOST:PORT/metrics", then "Listening on HOST:PORT". */
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *line = g_data_input_stream_read_line_utf8 (out, NULL, NULL, &error);

      g_assert_no_error (error);
      if (line == NULL)
        g_error ("netbird-signal exited before it listened");
      if (g_str_has_prefix (line, "Metrics on "))
        daemon->metrics_url = g_strdup (line + strlen ("Metrics on "));
      else if (g_str_has_prefix (line, "Listening on "))
        daemon->address = g_strdup (line + strlen ("Listening on "));
    }
  g_assert_nonnull (daemon->metrics_url);
  g_assert_nonnull (daemon->address);
  daemon->url = g_strdup_printf ("%s://%s", tls ? "wss" : "ws", daemon->address);
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
  if (!daemon->killed)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *log = NULL;
      gboolean exited = FALSE;

      /* SIGTERM: the daemon must exit cleanly, and soon, also after a
       * test's abuse. */
      g_subprocess_send_signal (daemon->process, SIGTERM);
      g_subprocess_wait_async (daemon->process, NULL, on_exited, &exited);
      if (!WAIT_UNTIL (exited, 10000))
        {
          g_file_get_contents (daemon->log_path, &log, NULL, NULL);
          g_subprocess_force_exit (daemon->process);
          g_error ("netbird-signal did not exit within 10 s of SIGTERM; its log:\n%s", log);
        }
      g_assert_true (g_subprocess_get_if_exited (daemon->process));
      g_assert_cmpint (g_subprocess_get_exit_status (daemon->process), ==, 0);
    }
  {
    g_autofree char *log = NULL;

    g_assert_true (g_file_get_contents (daemon->log_path, &log, NULL, NULL));
    if (strstr (log, "CRITICAL") != NULL || strstr (log, "netbird-signal-WARNING") != NULL ||
        strstr (log, "GLib-WARNING") != NULL || strstr (log, "GLib-GObject-WARNING") != NULL ||
        strstr (log, "Sanitizer") != NULL || strstr (log, "runtime error") != NULL)
      g_error ("netbird-signal logged a critical, a warning or a sanitizer report:\n%s", log);
    g_unlink (daemon->log_path);
    g_free (daemon->log_path);
  }
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

/* ---- peers ---- */

static void
on_message_received (NbSignalClient  *client,
                     NbKey           *from,
                     NbSignalMessage *message,
                     Peer            *peer)
{
  g_ptr_array_add (peer->messages, g_object_ref (message));
  g_ptr_array_add (peer->senders, g_object_ref (from));
}

static void
on_undeliverable (NbSignalClient *client,
                  NbKey          *to,
                  Peer           *peer)
{
  g_ptr_array_add (peer->undeliverable, g_object_ref (to));
}

Peer *
peer_new (const char *url,
          NbKey      *key)
{
  g_autoptr(GError) error = NULL;
  Peer *peer = g_new0 (Peer, 1);

  peer->key = key != NULL ? g_object_ref (key) : nb_key_generate ();
  peer->client = nb_signal_client_new (url, peer->key);
  peer->messages = g_ptr_array_new_with_free_func (g_object_unref);
  peer->senders = g_ptr_array_new_with_free_func (g_object_unref);
  peer->undeliverable = g_ptr_array_new_with_free_func (g_object_unref);
  g_signal_connect (peer->client, "message-received", G_CALLBACK (on_message_received), peer);
  g_signal_connect (peer->client, "undeliverable", G_CALLBACK (on_undeliverable), peer);
  return peer;
}

gboolean
peer_connected (Peer *peer)
{
  return nb_signal_client_get_state (peer->client) == NB_SIGNAL_CLIENT_STATE_CONNECTED;
}

void
peer_free (Peer *peer)
{
  g_signal_handlers_disconnect_by_data (peer->client, peer);
  nb_signal_client_stop (peer->client);
  g_object_unref (peer->client);
  g_object_unref (peer->key);
  g_ptr_array_unref (peer->messages);
  g_ptr_array_unref (peer->senders);
  g_ptr_array_unref (peer->undeliverable);
  g_free (peer);
}

NbSignalMessage *
make_candidate (void)
{
  return nb_signal_message_new_candidate ("0123456789abcdef",
                                          "candidate:1 1 udp 2130706431 198.18.0.1 51820 typ host");
}

/* ---- raw WebSockets ---- */

static void
on_raw_message (SoupWebsocketConnection *ws,
                gint                     type,
                GBytes                  *message,
                Raw                     *raw)
{
  g_ptr_array_add (raw->frames, g_bytes_ref (message));
}

static void
on_raw_closed (SoupWebsocketConnection *ws,
               Raw                     *raw)
{
  raw->closed = TRUE;
  raw->close_code = soup_websocket_connection_get_close_code (ws);
}

static void
on_raw_connected (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  Raw *raw = user_data;
  g_autoptr(GError) error = NULL;

  raw->ws = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  g_assert_no_error (error);
  /* Big enough to send what a test makes too big. */
  soup_websocket_connection_set_max_incoming_payload_size (raw->ws, 1024 * 1024);
  g_signal_connect (raw->ws, "message", G_CALLBACK (on_raw_message), raw);
  g_signal_connect (raw->ws, "closed", G_CALLBACK (on_raw_closed), raw);
  raw->done = TRUE;
}

Raw *
raw_connect (Daemon *daemon)
{
  g_autofree char *url = g_strdup_printf ("%s%s", daemon->url, NB_SIGNAL_PATH);
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", url);
  Raw *raw = g_new0 (Raw, 1);

  raw->session = soup_session_new ();
  raw->frames = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  soup_session_websocket_connect_async (raw->session, msg, NULL, NULL, G_PRIORITY_DEFAULT, NULL,
                                        on_raw_connected, raw);
  g_assert_true (WAIT_UNTIL (raw->done, 5000));
  return raw;
}

void
raw_send_text (Raw        *raw,
               const char *text)
{
  soup_websocket_connection_send_text (raw->ws, text);
}

NbSignalFrame *
raw_frame (Raw   *raw,
           guint  index)
{
  g_autoptr(GError) error = NULL;
  NbSignalFrame *frame;

  if (!WAIT_UNTIL (raw->frames->len > index, 5000))
    g_error ("no frame %u from the server (closed: %d, code %u)", index, raw->closed,
             raw->close_code);
  frame = nb_signal_frame_from_bytes (raw->frames->pdata[index], &error);
  g_assert_no_error (error);
  return frame;
}

void
raw_register (Raw   *raw,
              NbKey *key)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbSignalFrame) challenge = NULL;
  g_autoptr(NbSignalFrame) registered = NULL;
  g_autofree char *proof = NULL;
  g_autofree char *text = NULL;
  guint first = raw->frames->len;

  text = g_strdup_printf ("{\"type\":\"hello\",\"key\":\"%s\"}", nb_key_get_public_base64 (key));
  raw_send_text (raw, text);
  challenge = raw_frame (raw, first);
  g_assert_cmpint (challenge->type, ==, NB_SIGNAL_FRAME_CHALLENGE);
  proof = nb_signal_challenge_answer (key, challenge->challenge, &error);
  g_assert_no_error (error);
  g_free (text);
  text = g_strdup_printf ("{\"type\":\"proof\",\"proof\":\"%s\"}", proof);
  raw_send_text (raw, text);
  registered = raw_frame (raw, first + 1);
  g_assert_cmpint (registered->type, ==, NB_SIGNAL_FRAME_REGISTERED);
  g_assert_cmpstr (registered->key, ==, nb_key_get_public_base64 (key));
}

/* RFC 6455 §5.2: a client frame, masked with the key 0. */
static void
mute_send (GSocketConnection *conn,
           const char        *text)
{
  g_autoptr(GError) error = NULL;
  gsize len = strlen (text);
  guint8 header[8];
  gsize n = 0;
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (conn));

  g_assert_cmpuint (len, <, 65536);
  header[n++] = 0x81;
  if (len < 126)
    header[n++] = 0x80 | len;
  else
    {
      header[n++] = 0x80 | 126;
      header[n++] = len >> 8;
      header[n++] = len & 0xff;
    }
  memset (header + n, 0, 4);
  n += 4;
  g_output_stream_write_all (out, header, n, NULL, NULL, &error);
  g_assert_no_error (error);
  g_output_stream_write_all (out, text, len, NULL, NULL, &error);
  g_assert_no_error (error);
}

/* Reads frames until a text or binary one; returns its payload. */
static char *
mute_read (GSocketConnection *conn)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (conn));

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      guint8 h[4];
      gsize len, got = 0;
      char *payload;

      g_input_stream_read_all (in, h, 2, &got, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (got, ==, 2);
      len = h[1] & 0x7f;
      if (len == 126)
        {
          g_input_stream_read_all (in, h + 2, 2, &got, NULL, &error);
          g_assert_no_error (error);
          len = (h[2] << 8) | h[3];
        }
      g_assert_cmpuint (len, <, 126 * 256);
      payload = g_malloc0 (len + 1);
      g_input_stream_read_all (in, payload, len, &got, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (got, ==, len);
      if ((h[0] & 0x0f) == 1 || (h[0] & 0x0f) == 2)
        return payload;
      g_free (payload);
    }
}

GSocketConnection *
mute_register (Daemon *daemon,
               NbKey  *key)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  GSocketConnection *conn = g_socket_client_connect_to_host (client, daemon->address, 0, NULL,
                                                             &error);
  g_autofree char *request = NULL;
  g_autofree char *hello = NULL;
  g_autofree char *text = NULL;
  g_autofree char *proof_frame = NULL;
  g_autofree char *proof = NULL;
  g_autoptr(NbSignalFrame) challenge = NULL;
  g_autoptr(NbSignalFrame) registered = NULL;
  GString *response = g_string_new (NULL);

  g_assert_no_error (error);
  g_socket_set_timeout (g_socket_connection_get_socket (conn), 5);
  request = g_strdup_printf ("GET " NB_SIGNAL_PATH " HTTP/1.1\r\nHost: %s\r\n"
                             "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                             "Sec-WebSocket-Version: 13\r\n\r\n", daemon->address);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)), request,
                             strlen (request), NULL, NULL, &error);
  g_assert_no_error (error);
  /* The response, byte by byte up to its blank line. */
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

  hello = g_strdup_printf ("{\"type\":\"hello\",\"key\":\"%s\"}",
                           nb_key_get_public_base64 (key));
  mute_send (conn, hello);
  text = mute_read (conn);
  challenge = nb_signal_frame_from_data (text, strlen (text), &error);
  g_assert_no_error (error);
  g_assert_cmpint (challenge->type, ==, NB_SIGNAL_FRAME_CHALLENGE);
  proof = nb_signal_challenge_answer (key, challenge->challenge, &error);
  g_assert_no_error (error);
  proof_frame = g_strdup_printf ("{\"type\":\"proof\",\"proof\":\"%s\"}", proof);
  mute_send (conn, proof_frame);
  g_free (text);
  text = mute_read (conn);
  registered = nb_signal_frame_from_data (text, strlen (text), &error);
  g_assert_no_error (error);
  g_assert_cmpint (registered->type, ==, NB_SIGNAL_FRAME_REGISTERED);
  return conn;
}

void
raw_free (Raw *raw)
{
  if (raw->ws != NULL)
    {
      g_signal_handlers_disconnect_by_data (raw->ws, raw);
      if (soup_websocket_connection_get_state (raw->ws) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (raw->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      g_object_unref (raw->ws);
    }
  g_object_unref (raw->session);
  g_ptr_array_unref (raw->frames);
  g_free (raw);
}
