/* nb-signal-bench-clients.c: many Signal peers in one process, for the
 * forwarding benchmark (tests/bench/signal.sh)
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 *   nb-signal-bench-clients --address HOST:PORT -n 1000 --seconds 10 --window 8 \
 *                           --server-pid PID
 *
 * Opens N WebSockets to the server on one epoll loop (plain sockets and
 * hand-made frames, so that the load costs little next to the server it
 * measures), registers each under its own key with the real proof of key,
 * then peer i sends sealed messages to peer i+1 (a ring). Each peer keeps
 * --window messages in flight: it sends one more each time one reaches
 * it, so what is measured is the server's forwarding, not a pace we set.
 * Prints one line:
 *
 *   clients=N seconds=S forwarded=M rate=R server_cpu_s=C server_cpu_us_per_msg=U
 *   client_cpu_s=K
 *
 * Any failure (a peer that cannot connect or register, a connection the
 * server closes, no message at all) prints "error: ..." and exits 1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/times.h>
#include <unistd.h>

#include <gio/gio.h>

#include "nb-signal-proto-private.h"

typedef struct
{
  int fd;
  NbKey *key;
  int phase;                 /* 0 upgrade, 1 hello sent, 2 proof sent, 3 registered */
  GByteArray *in;
  GByteArray *out;           /* not yet written */
  GBytes *message;           /* the frame this peer sends, masked with a zero key */
  guint64 received;
} Client;

static Client *clients;
static guint n_clients;
static int epfd;

G_GNUC_NORETURN G_GNUC_PRINTF (1, 2) static void
fail (const char *format, ...)
{
  va_list args;

  va_start (args, format);
  fprintf (stderr, "nb-signal-bench-clients: error: ");
  vfprintf (stderr, format, args);
  fprintf (stderr, "\n");
  va_end (args);
  exit (1);
}

/* A client frame (RFC 6455 §5.2): FIN + text, masked with the key 0 so
 * the payload goes as it is (a server cannot tell; §10.3's unpredictable
 * keys guard proxies' caches, not this loopback). */
static GBytes *
ws_frame (const char *payload,
          gsize       len)
{
  GByteArray *frame = g_byte_array_sized_new (len + 14);
  guint8 header[14];
  gsize n = 0;

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
  g_byte_array_append (frame, header, n);
  g_byte_array_append (frame, (const guint8 *) payload, len);
  return g_byte_array_free_to_bytes (frame);
}

static void
queue (Client       *c,
       const guint8 *data,
       gsize         len)
{
  g_byte_array_append (c->out, data, len);
}

static void
queue_frame (Client     *c,
             const char *payload)
{
  g_autoptr(GBytes) frame = ws_frame (payload, strlen (payload));

  queue (c, g_bytes_get_data (frame, NULL), g_bytes_get_size (frame));
}

static void
flush (Client *c)
{
  while (c->out->len > 0)
    {
      ssize_t n = write (c->fd, c->out->data, c->out->len);

      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        break;
      if (n < 0)
        fail ("peer %ld: write: %s", (long) (c - clients), g_strerror (errno));
      g_byte_array_remove_range (c->out, 0, n);
    }
  {
    struct epoll_event ev = { .events = EPOLLIN | (c->out->len > 0 ? EPOLLOUT : 0),
                              .data.ptr = c };

    epoll_ctl (epfd, EPOLL_CTL_MOD, c->fd, &ev);
  }
}

static void
send_message (Client *c)
{
  queue (c, g_bytes_get_data (c->message, NULL), g_bytes_get_size (c->message));
}

static guint64 total_received;
static guint window = 8;

static void
on_text (Client     *c,
         const char *payload,
         gsize       len)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NbSignalFrame) frame = NULL;

  if (c->phase == 3)
    {
      /* The steady state: count it and send the next one. */
      c->received++;
      total_received++;
      send_message (c);
      return;
    }

  frame = nb_signal_frame_from_data (payload, len, &error);
  if (frame == NULL)
    fail ("peer %ld: unreadable frame: %s", (long) (c - clients), error->message);
  if (c->phase == 1 && frame->type == NB_SIGNAL_FRAME_CHALLENGE)
    {
      g_autofree char *proof = nb_signal_challenge_answer (c->key, frame->challenge, &error);
      g_autofree char *text = NULL;

      if (proof == NULL)
        fail ("peer %ld: challenge: %s", (long) (c - clients), error->message);
      text = g_strdup_printf ("{\"type\":\"proof\",\"proof\":\"%s\"}", proof);
      queue_frame (c, text);
      c->phase = 2;
    }
  else if (c->phase == 2 && frame->type == NB_SIGNAL_FRAME_REGISTERED)
    c->phase = 3;
  else
    fail ("peer %ld: unexpected %s frame in phase %d%s%s", (long) (c - clients),
          nb_signal_frame_type_to_string (frame->type), c->phase,
          frame->error ? ": " : "", frame->error ? frame->error : "");
}

/* Server frames are unmasked (RFC 6455 §5.1). */
static void
parse_frames (Client *c)
{
  gsize at = 0;

  while (c->in->len - at >= 2)
    {
      const guint8 *p = c->in->data + at;
      guint opcode = p[0] & 0x0f;
      guint64 len = p[1] & 0x7f;
      gsize header = 2;

      if (len == 126)
        {
          if (c->in->len - at < 4)
            break;
          len = (p[2] << 8) | p[3];
          header = 4;
        }
      else if (len == 127)
        fail ("peer %ld: a frame over 64 KiB from the server", (long) (c - clients));
      if (c->in->len - at < header + len)
        break;
      if (opcode == 0x8)
        fail ("peer %ld: the server closed the connection (%u)", (long) (c - clients),
              len >= 2 ? (p[header] << 8) | p[header + 1] : 0);
      if (opcode == 0x1 || opcode == 0x2)
        on_text (c, (const char *) p + header, len);
      else if (opcode == 0x9)
        {
          /* ping: pong with the same payload */
          GByteArray *pong = g_byte_array_new ();
          guint8 h[6] = { 0x8a, 0x80 | (guint8) len, 0, 0, 0, 0 };

          g_byte_array_append (pong, h, 6);
          g_byte_array_append (pong, p + header, len);
          queue (c, pong->data, pong->len);
          g_byte_array_unref (pong);
        }
      at += header + len;
    }
  if (at > 0)
    g_byte_array_remove_range (c->in, 0, at);
}

static void
on_readable (Client *c)
{
  guint8 buf[65536];

  for (;;)
    {
      ssize_t n = read (c->fd, buf, sizeof buf);

      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        break;
      if (n <= 0)
        fail ("peer %ld: the server closed the connection%s%s", (long) (c - clients),
              n < 0 ? ": " : "", n < 0 ? g_strerror (errno) : "");
      g_byte_array_append (c->in, buf, n);
      if (c->phase == 0)
        {
          guint8 *end = memmem (c->in->data, c->in->len, "\r\n\r\n", 4);

          if (end == NULL)
            continue;
          if (memcmp (c->in->data, "HTTP/1.1 101", 12) != 0)
            fail ("peer %ld: the upgrade was refused: %.40s", (long) (c - clients),
                  (const char *) c->in->data);
          g_byte_array_remove_range (c->in, 0, end + 4 - c->in->data);
          {
            g_autofree char *hello = g_strdup_printf ("{\"type\":\"hello\",\"key\":\"%s\"}",
                                                      nb_key_get_public_base64 (c->key));
            queue_frame (c, hello);
          }
          c->phase = 1;
        }
      parse_frames (c);
    }
  flush (c);
}

static void
run_loop (gint64 until_us,
          gboolean (*done) (void))
{
  struct epoll_event events[256];

  while (g_get_monotonic_time () < until_us && (done == NULL || !done ()))
    {
      int n = epoll_wait (epfd, events, G_N_ELEMENTS (events), 100);

      for (int i = 0; i < n; i++)
        {
          Client *c = events[i].data.ptr;

          if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
            on_readable (c);
          else
            flush (c);
        }
    }
}

static gboolean
all_registered (void)
{
  for (guint i = 0; i < n_clients; i++)
    if (clients[i].phase != 3)
      return FALSE;
  return TRUE;
}

static double
cpu_seconds_of (int pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree char *text = NULL;
  const char *p;
  unsigned long long utime = 0, stime = 0;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    fail ("cannot read %s: is the server running?", path);
  /* Fields 14 and 15 (utime, stime), after the command in parentheses. */
  p = strrchr (text, ')');
  if (p == NULL || sscanf (p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
                           &utime, &stime) != 2)
    fail ("cannot parse %s", path);
  return (double) (utime + stime) / sysconf (_SC_CLK_TCK);
}

static double
own_cpu_seconds (void)
{
  struct rusage usage;

  getrusage (RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 +
         usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

int
main (int argc, char *argv[])
{
  g_autofree char *address = NULL;
  int n = 1000, seconds = 10, server_pid = 0, win = 8;
  gboolean hold = FALSE;
  const GOptionEntry entries[] = {
    { "address", 'a', 0, G_OPTION_ARG_STRING, &address, "The server", "HOST:PORT" },
    { "clients", 'n', 0, G_OPTION_ARG_INT, &n, "Peers (default 1000)", "N" },
    { "seconds", 's', 0, G_OPTION_ARG_INT, &seconds, "Measured time (default 10)", "S" },
    { "window", 'w', 0, G_OPTION_ARG_INT, &win, "Messages in flight per peer (default 8)", "W" },
    { "server-pid", 'p', 0, G_OPTION_ARG_INT, &server_pid, "The server, for its CPU time", "PID" },
    { "hold", 0, 0, G_OPTION_ARG_NONE, &hold, "Stay connected until stdin closes", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- Signal forwarding load");
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketConnectable) connectable = NULL;
  g_autofree char *host = NULL;
  guint16 port;
  struct sockaddr_in sin = { .sin_family = AF_INET };
  gint64 start, end;
  double server_cpu0, server_cpu1, own0, own1;
  guint64 received0;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    fail ("%s", error->message);
  if (address == NULL || server_pid <= 0 || n < 2 || seconds < 1 || win < 1)
    fail ("give --address HOST:PORT and --server-pid PID (and -n of at least 2)");
  connectable = g_network_address_parse (address, 0, &error);
  if (connectable == NULL)
    fail ("%s", error->message);
  port = g_network_address_get_port (G_NETWORK_ADDRESS (connectable));
  if (inet_pton (AF_INET, g_network_address_get_hostname (G_NETWORK_ADDRESS (connectable)),
                 &sin.sin_addr) != 1)
    fail ("give a numeric IPv4 address, not %s", address);
  sin.sin_port = htons (port);
  n_clients = n;
  window = win;

  epfd = epoll_create1 (EPOLL_CLOEXEC);
  clients = g_new0 (Client, n_clients);
  for (guint i = 0; i < n_clients; i++)
    clients[i].key = nb_key_generate ();

  /* Connect and upgrade everyone. */
  for (guint i = 0; i < n_clients; i++)
    {
      Client *c = &clients[i];
      int one = 1;
      g_autofree char *request = NULL;
      struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

      c->fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (c->fd < 0 || connect (c->fd, (struct sockaddr *) &sin, sizeof sin) != 0)
        fail ("peer %u: connect to %s: %s", i, address, g_strerror (errno));
      setsockopt (c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      fcntl (c->fd, F_SETFL, O_NONBLOCK);
      c->in = g_byte_array_new ();
      c->out = g_byte_array_new ();
      request = g_strdup_printf ("GET " NB_SIGNAL_PATH " HTTP/1.1\r\nHost: %s\r\n"
                                 "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                 "Sec-WebSocket-Version: 13\r\n\r\n", address);
      queue (c, (const guint8 *) request, strlen (request));
      epoll_ctl (epfd, EPOLL_CTL_ADD, c->fd, &ev);
      flush (c);
    }
  run_loop (g_get_monotonic_time () + 60 * G_USEC_PER_SEC, all_registered);
  if (!all_registered ())
    fail ("not every peer registered within a minute");

  /* Each peer's message to the next, sealed once: the server forwards it
   * unchanged, so the same frame can go again and again. */
  for (guint i = 0; i < n_clients; i++)
    {
      g_autoptr(NbSignalMsgBody) body = nb_signal_msg_body_new ();
      g_autoptr(NbSignalMsgEnvelope) envelope = NULL;
      g_autoptr(GBytes) payload = NULL;

      body->kind = NB_SIGNAL_MSG_KIND_CANDIDATE;
      body->session_id = g_strdup ("0123456789abcdef");
      body->candidate = g_strdup ("candidate:1 1 udp 2130706431 198.18.0.1 51820 typ host");
      envelope = nb_signal_msg_seal (clients[i].key, clients[(i + 1) % n_clients].key, body,
                                     &error);
      if (envelope == NULL)
        fail ("%s", error->message);
      payload = nb_signal_frame_write_message (envelope);
      clients[i].message = ws_frame (g_bytes_get_data (payload, NULL),
                                     g_bytes_get_size (payload));
    }

  /* Fill the windows, warm up for a second, then measure. */
  for (guint i = 0; i < n_clients; i++)
    {
      for (guint w = 0; w < window; w++)
        send_message (&clients[i]);
      flush (&clients[i]);
    }
  run_loop (g_get_monotonic_time () + G_USEC_PER_SEC, NULL);

  received0 = total_received;
  server_cpu0 = cpu_seconds_of (server_pid);
  own0 = own_cpu_seconds ();
  start = g_get_monotonic_time ();
  run_loop (start + (gint64) seconds * G_USEC_PER_SEC, NULL);
  end = g_get_monotonic_time ();
  server_cpu1 = cpu_seconds_of (server_pid);
  own1 = own_cpu_seconds ();

  {
    guint64 forwarded = total_received - received0;
    double elapsed = (end - start) / 1e6;

    if (forwarded == 0)
      fail ("no message was forwarded in %d s", seconds);
    printf ("clients=%u seconds=%.1f forwarded=%" G_GUINT64_FORMAT " rate=%.0f "
            "server_cpu_s=%.2f server_cpu_us_per_msg=%.2f client_cpu_s=%.2f\n",
            n_clients, elapsed, forwarded, forwarded / elapsed, server_cpu1 - server_cpu0,
            (server_cpu1 - server_cpu0) * 1e6 / forwarded, own1 - own0);
    fflush (stdout);
  }

  /* --hold: the peers stay connected until stdin closes, so the caller
   * can read the server's counters with everyone still registered. */
  if (hold)
    {
      char buf[64];

      while (read (0, buf, sizeof buf) > 0)
        ;
    }
  return 0;
}
