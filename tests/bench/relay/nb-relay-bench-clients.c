/* nb-relay-bench-clients.c: many authenticated, idle relay connections
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 *   nb-relay-bench-clients URL SECRET N
 *
 * Opens N WebSockets to the relay at URL (ws://HOST:PORT/relay/v1) from one
 * thread, each authenticating as a peer of its own (a token made from
 * SECRET as Management makes it, then the proof of key), prints
 * "authenticated=N elapsed_ms=T" once all are in, then holds them, idle,
 * until SIGTERM. Exits 1 if any is refused or closed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <glib-unix.h>
#include <libsoup/soup.h>

#include "nb-key.h"
#include "nb-limits.h"
#include "nb-relay-frame-private.h"
#include "nb-relay-token-private.h"
#include "nb-signal-proto-private.h"

typedef struct
{
  NbKey *key;
  SoupWebsocketConnection *ws;
  gboolean authenticated;
} Conn;

static const char *secret;
static guint n_authenticated, n_failed;

static void
on_message (SoupWebsocketConnection *ws,
            gint                     type,
            GBytes                  *message,
            Conn                    *conn)
{
  NbRelayFrame frame;

  if (!nb_relay_frame_parse (g_bytes_get_data (message, NULL), g_bytes_get_size (message),
                             &frame, NULL))
    return;
  if (frame.type == NB_RELAY_FRAME_CHALLENGE)
    {
      g_autofree char *challenge = g_strndup (frame.text, frame.text_len);
      g_autofree char *proof = nb_signal_challenge_answer (conn->key, challenge, NULL);
      g_autoptr(GBytes) reply = nb_relay_frame_new_text (NB_RELAY_FRAME_PROOF, proof);

      soup_websocket_connection_send_binary (ws, g_bytes_get_data (reply, NULL),
                                             g_bytes_get_size (reply));
    }
  else if (frame.type == NB_RELAY_FRAME_AUTH_OK && !conn->authenticated)
    {
      conn->authenticated = TRUE;
      n_authenticated++;
    }
}

static void
on_closed (SoupWebsocketConnection *ws,
           Conn                    *conn)
{
  n_failed++;
}

static void
on_connected (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Conn *conn = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *payload = NULL, *signature = NULL;
  g_autoptr(GBytes) auth = NULL;

  conn->ws = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  if (conn->ws == NULL)
    {
      g_printerr ("connect: %s\n", error->message);
      n_failed++;
      return;
    }
  g_signal_connect (conn->ws, "message", G_CALLBACK (on_message), conn);
  g_signal_connect (conn->ws, "closed", G_CALLBACK (on_closed), conn);
  nb_relay_token_make (secret, g_get_real_time () / G_USEC_PER_SEC + 3600,
                       nb_key_get_public_base64 (conn->key), &payload, &signature);
  auth = nb_relay_frame_new_auth (nb_key_get_public_data (conn->key, NULL), payload, signature);
  soup_websocket_connection_send_binary (conn->ws, g_bytes_get_data (auth, NULL),
                                         g_bytes_get_size (auth));
}

static gboolean
on_quit (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(SoupSession) session = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  gint64 start = g_get_monotonic_time ();
  guint n;
  Conn *conns;

  if (argc != 4 || (n = (guint) g_ascii_strtoull (argv[3], NULL, 10)) == 0)
    {
      g_printerr ("usage: nb-relay-bench-clients ws://HOST:PORT/relay/v1 SECRET N\n");
      return 2;
    }
  secret = argv[2];
  setvbuf (stdout, NULL, _IOLBF, 0);
  nb_raise_descriptor_limit ();
  session = soup_session_new_with_options ("max-conns", n + 16, "max-conns-per-host", n + 16,
                                           "timeout", 30, NULL);
  conns = g_new0 (Conn, n);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(SoupMessage) msg = soup_message_new ("GET", argv[1]);

      conns[i].key = nb_key_generate ();
      soup_session_websocket_connect_async (session, msg, NULL, NULL, G_PRIORITY_DEFAULT, NULL,
                                            on_connected, &conns[i]);
    }
  while (n_authenticated + n_failed < n)
    g_main_context_iteration (NULL, TRUE);
  if (n_failed > 0)
    {
      g_printerr ("nb-relay-bench-clients: %u of %u connections failed\n", n_failed, n);
      return 1;
    }
  g_print ("authenticated=%u elapsed_ms=%" G_GINT64_FORMAT "\n", n_authenticated,
           (g_get_monotonic_time () - start) / 1000);
  g_unix_signal_add (SIGTERM, on_quit, loop);
  g_unix_signal_add (SIGINT, on_quit, loop);
  g_main_loop_run (loop);
  for (guint i = 0; i < n; i++)
    {
      if (conns[i].ws != NULL)
        g_signal_handlers_disconnect_by_data (conns[i].ws, &conns[i]);
      g_clear_object (&conns[i].ws);
      g_clear_object (&conns[i].key);
    }
  g_free (conns);
  return n_failed > 0 ? 1 : 0;
}
