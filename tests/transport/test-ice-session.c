/* test-ice-session.c: two ICE sessions in one process, and WireGuard over them
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * The two sessions signal each other by direct calls (what Signal carries
 * in production). Candidates are gathered on 127.0.0.1 only, so the pair is
 * host/host on loopback. The WireGuard devices are real devices without a
 * TUN: the packets they decrypt land in a test hook (wg-test-pair.c).
 */
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

#include <glib/gstdio.h>

#include "nb-ice-session.h"
#include "nb-ice-session-private.h"
#include "nb-transport-enum-types.h"
#include "nb-wg-transport.h"
#include "../wireguard/wg-test-pair.h"

#define TIMEOUT_S 20

typedef struct _End End;
struct _End
{
  NbIceSession *session;
  End *other;
  char *ufrag;
  char *pwd;
  guint n_credentials;
  guint n_candidates;
  guint n_pairs;
  gboolean gathering_done;
  GPtrArray *states;   /* NbIceSessionState, as notified */
};

typedef struct
{
  End a;
  End b;
} Link;

static void
on_credentials (NbIceSession *session,
                const char   *ufrag,
                const char   *pwd,
                End          *end)
{
  g_autoptr(GError) error = NULL;

  g_free (end->ufrag);
  g_free (end->pwd);
  end->ufrag = g_strdup (ufrag);
  end->pwd = g_strdup (pwd);
  end->n_credentials++;
  g_assert_true (nb_ice_session_set_remote_credentials (end->other->session, ufrag, pwd, &error));
  g_assert_no_error (error);
}

static void
on_candidate (NbIceSession *session,
              const char   *candidate,
              End          *end)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (g_str_has_prefix (candidate, "candidate:"));
  end->n_candidates++;
  g_assert_true (nb_ice_session_add_remote_candidate (end->other->session, candidate, &error));
  g_assert_no_error (error);
}

static void
on_gathering_done (NbIceSession *session,
                   End          *end)
{
  end->gathering_done = TRUE;
}

static void
on_pair (NbIceSession *session,
         End          *end)
{
  end->n_pairs++;
}

static void
on_state (NbIceSession *session,
          GParamSpec   *pspec,
          End          *end)
{
  g_ptr_array_add (end->states, GUINT_TO_POINTER (nb_ice_session_get_state (session)));
}

static void
end_init (End   *end,
          End   *other,
          NbKey *local,
          NbKey *remote)
{
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);

  end->other = other;
  end->states = g_ptr_array_new ();
  end->session = nb_ice_session_new (local, remote);
  nb_ice_session_add_local_address (end->session, lo);
  g_signal_connect (end->session, "local-credentials", G_CALLBACK (on_credentials), end);
  g_signal_connect (end->session, "local-candidate", G_CALLBACK (on_candidate), end);
  g_signal_connect (end->session, "local-gathering-done", G_CALLBACK (on_gathering_done), end);
  g_signal_connect (end->session, "selected-pair-changed", G_CALLBACK (on_pair), end);
  g_signal_connect (end->session, "notify::state", G_CALLBACK (on_state), end);
}

static void
end_clear (End *end)
{
  nb_ice_session_close (end->session);
  g_assert_cmpint (nb_ice_session_get_state (end->session), ==, NB_ICE_SESSION_STATE_CLOSED);
  g_clear_object (&end->session);
  g_clear_pointer (&end->ufrag, g_free);
  g_clear_pointer (&end->pwd, g_free);
  g_clear_pointer (&end->states, g_ptr_array_unref);
}

static void
link_init (Link  *link,
           NbKey *key_a,
           NbKey *key_b)
{
  end_init (&link->a, &link->b, key_a, key_b);
  end_init (&link->b, &link->a, key_b, key_a);
}

static void
link_start (Link *link)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (nb_ice_session_start (link->a.session, &error));
  g_assert_no_error (error);
  g_assert_true (nb_ice_session_start (link->b.session, &error));
  g_assert_no_error (error);
}

static void
link_clear (Link *link)
{
  end_clear (&link->a);
  end_clear (&link->b);
}

/* Runs the main context until @cond holds, for at most TIMEOUT_S seconds.
 * The loop wakes for the sessions' events; the short timeout only bounds
 * how late a condition set by another thread (the packet hook) is seen. */
static gboolean
run_until (gboolean (*cond) (gpointer),
           gpointer  data)
{
  gint64 deadline = g_get_monotonic_time () + TIMEOUT_S * G_USEC_PER_SEC;

  while (!cond (data))
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  return TRUE;
}

static gboolean
both_connected (gpointer data)
{
  Link *link = data;

  return nb_ice_session_get_state (link->a.session) == NB_ICE_SESSION_STATE_CONNECTED &&
         nb_ice_session_get_state (link->b.session) == NB_ICE_SESSION_STATE_CONNECTED &&
         link->a.n_pairs > 0 && link->b.n_pairs > 0;
}

static void
assert_host_pair (NbIceSession *session)
{
  NbIceCandidateType local_type = -1, remote_type = -1;
  g_autoptr(GInetSocketAddress) local = NULL;
  g_autoptr(GInetSocketAddress) remote = NULL;
  g_autofree char *l = NULL, *r = NULL;

  g_assert_true (nb_ice_session_get_selected_pair (session, &local_type, &local, &remote_type,
                                                   &remote));
  g_assert_cmpint (local_type, ==, NB_ICE_CANDIDATE_TYPE_HOST);
  g_assert_cmpint (remote_type, ==, NB_ICE_CANDIDATE_TYPE_HOST);
  l = g_inet_address_to_string (g_inet_socket_address_get_address (local));
  r = g_inet_address_to_string (g_inet_socket_address_get_address (remote));
  g_assert_cmpstr (l, ==, "127.0.0.1");
  g_assert_cmpstr (r, ==, "127.0.0.1");
  g_assert_cmpuint (g_inet_socket_address_get_port (local), !=,
                    g_inet_socket_address_get_port (remote));
}

/* Two sessions on loopback meet on a host/host pair; the roles follow the
 * keys. */
static void
test_host_pair (void)
{
  g_autoptr(NbKey) key_a = nb_key_generate ();
  g_autoptr(NbKey) key_b = nb_key_generate ();
  Link link = { 0 };
  gboolean a_greater;
  gint64 started;

  link_init (&link, key_a, key_b);
  g_assert_cmpint (nb_ice_session_get_state (link.a.session), ==, NB_ICE_SESSION_STATE_NEW);
  started = g_get_monotonic_time ();
  link_start (&link);
  g_assert_true (run_until (both_connected, &link));
  g_test_message ("both connected %" G_GINT64_FORMAT " ms after the start",
                  (g_get_monotonic_time () - started) / 1000);

  /* The controlling side is the one whose public key is greater. */
  a_greater = memcmp (nb_key_get_public_data (key_a, NULL), nb_key_get_public_data (key_b, NULL),
                      32) > 0;
  g_assert_cmpint (nb_ice_session_get_controlling (link.a.session), ==, a_greater);
  g_assert_cmpint (nb_ice_session_get_controlling (link.b.session), ==, !a_greater);

  assert_host_pair (link.a.session);
  assert_host_pair (link.b.session);
  g_assert_cmpuint (link.a.n_credentials, ==, 1);
  g_assert_cmpuint (link.a.n_candidates, >=, 1);
  g_assert_true (link.a.gathering_done && link.b.gathering_done);
  g_assert_cmpuint (strlen (nb_ice_session_get_session_id (link.a.session)), ==, 16);
  /* The state went through gathering and connecting to connected. */
  g_assert_cmpuint (link.a.states->len, >=, 2);
  g_assert_cmpint (GPOINTER_TO_UINT (g_ptr_array_index (link.a.states, 0)), ==,
                   NB_ICE_SESSION_STATE_GATHERING);
  g_assert_cmpint (GPOINTER_TO_UINT (g_ptr_array_index (link.a.states, link.a.states->len - 1)),
                   ==, NB_ICE_SESSION_STATE_CONNECTED);
  /* No WireGuard peer attached: no transport. */
  g_assert_cmpint (nb_ice_session_get_transport_kind (link.a.session), ==, NB_ICE_TRANSPORT_NONE);

  link_clear (&link);
}

/* Threads of this process whose name starts with @prefix. */
static guint
count_threads_named (const char *prefix)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/task", 0, NULL);
  const char *tid;
  guint n = 0;

  g_assert_nonnull (dir);
  while ((tid = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename ("/proc/self/task", tid, "comm", NULL);
      g_autofree char *comm = NULL;

      if (g_file_get_contents (path, &comm, NULL, NULL) && g_str_has_prefix (comm, prefix))
        n++;
    }
  return n;
}

/* g_thread_join() returns when the kernel clears the thread's id, a
 * moment before its task leaves /proc/self/task: a thread just joined may
 * still be listed. Waits (up to a second) for the count to settle. */
static guint
settled_threads_named (const char *prefix,
                       guint       expected)
{
  guint n = count_threads_named (prefix);

  for (guint i = 0; i < 100 && n != expected; i++)
    {
      g_usleep (10 * 1000);
      n = count_threads_named (prefix);
    }
  return n;
}

#define N_SHARED_LINKS 4

static gboolean
links_connected (gpointer data)
{
  Link *links = data;

  for (guint i = 0; i < N_SHARED_LINKS; i++)
    if (links[i].a.session != NULL && !both_connected (&links[i]))
      return FALSE;
  return TRUE;
}

/* Eight sessions run their agents on NB_ICE_RUNNER_THREADS threads, not
 * one each; closing one leaves the others' agents running on the same
 * threads, and the last close stops them. */
static void
test_shared_threads (void)
{
  Link links[N_SHARED_LINKS] = { 0 };

  g_assert_cmpuint (nb_ice_runner_count_threads (), ==, 0);
  g_assert_cmpuint (settled_threads_named ("nb-ice", 0), ==, 0);
  for (guint i = 0; i < N_SHARED_LINKS; i++)
    {
      g_autoptr(NbKey) key_a = nb_key_generate ();
      g_autoptr(NbKey) key_b = nb_key_generate ();

      link_init (&links[i], key_a, key_b);
      link_start (&links[i]);
    }
  g_assert_true (run_until (links_connected, links));
  g_assert_cmpuint (nb_ice_runner_count_threads (), ==, NB_ICE_RUNNER_THREADS);
  g_assert_cmpuint (count_threads_named ("nb-ice"), ==, NB_ICE_RUNNER_THREADS);
  g_test_message ("%u sessions on %u threads", 2 * N_SHARED_LINKS,
                  count_threads_named ("nb-ice"));

  /* The first link goes while the threads run the others' agents. */
  link_clear (&links[0]);
  g_assert_cmpuint (nb_ice_runner_count_threads (), ==, NB_ICE_RUNNER_THREADS);
  links[1].a.n_pairs = links[1].b.n_pairs = 0;
  {
    g_autoptr(GError) error = NULL;

    /* A new round on another link: its agent still runs. */
    g_assert_true (nb_ice_session_restart (links[1].a.session, &error));
    g_assert_no_error (error);
  }
  g_assert_true (run_until (links_connected, links));
  g_assert_cmpuint (links[1].a.n_credentials, ==, 2);
  g_assert_cmpuint (links[1].b.n_credentials, ==, 2);

  for (guint i = 1; i < N_SHARED_LINKS; i++)
    link_clear (&links[i]);
  g_assert_cmpuint (nb_ice_runner_count_threads (), ==, 0);
  g_assert_cmpuint (settled_threads_named ("nb-ice", 0), ==, 0);
}

/* ---- WireGuard over the session ---- */

typedef struct
{
  Link link;
  Side a;
  Side b;
} Tunnel;

static void
tunnel_setup (Tunnel *t)
{
  g_autoptr(GError) error = NULL;

  side_init (&t->a);
  side_init (&t->b);
  /* No endpoints: the only way between the two is the ICE session. */
  t->a.peer = nb_wg_device_add_peer (t->a.dev, t->b.key, &error);
  g_assert_no_error (error);
  t->b.peer = nb_wg_device_add_peer (t->b.dev, t->a.key, &error);
  g_assert_no_error (error);
  add_prefix (t->a.peer, "100.64.0.2/32");
  add_prefix (t->b.peer, "100.64.0.1/32");

  link_init (&t->link, t->a.key, t->b.key);
  nb_ice_session_set_wg_peer (t->link.a.session, t->a.dev, t->a.peer);
  nb_ice_session_set_wg_peer (t->link.b.session, t->b.dev, t->b.peer);
  link_start (&t->link);
}

static void
tunnel_teardown (Tunnel *t)
{
  link_clear (&t->link);
  side_clear (&t->a);
  side_clear (&t->b);
}

static gboolean
both_on_socket (gpointer data)
{
  Tunnel *t = data;

  return nb_ice_session_get_transport_kind (t->link.a.session) == NB_ICE_TRANSPORT_SOCKET &&
         nb_ice_session_get_transport_kind (t->link.b.session) == NB_ICE_TRANSPORT_SOCKET;
}

static guint
side_packets (Side *side)
{
  guint n;

  g_mutex_lock (&side->lock);
  n = side->n_packets;
  g_mutex_unlock (&side->lock);
  return n;
}

typedef struct
{
  Side *side;
  guint at_least;
} PacketWait;

static gboolean
got_packets (gpointer data)
{
  PacketWait *wait = data;

  return side_packets (wait->side) >= wait->at_least;
}

/* Sends @n packets each way and waits until they all arrived, a window of
 * 32 at a time: UDP on a loaded machine may drop a burst that outruns the
 * receiver, and this test is about the path, not about its buffers. */
static void
exchange (Tunnel *t,
          guint   n)
{
  guint8 packet[1500];
  gsize len;

  for (guint sent = 0; sent < n; )
    {
      guint window = MIN (32, n - sent);
      PacketWait to_b = { &t->b, side_packets (&t->b) + window };
      PacketWait to_a = { &t->a, side_packets (&t->a) + window };

      for (guint i = 0; i < window; i++)
        {
          len = make_ipv4 (packet, "100.64.0.1", "100.64.0.2", 1000);
          g_assert_true (nb_wg_device_inject_packet (t->a.dev, packet, len));
          len = make_ipv4 (packet, "100.64.0.2", "100.64.0.1", 600);
          g_assert_true (nb_wg_device_inject_packet (t->b.dev, packet, len));
        }
      sent += window;
      if (!run_until (got_packets, &to_b) || !run_until (got_packets, &to_a))
        {
          for (NbWgCounter c = 0; c < NB_WG_N_COUNTERS; c++)
            g_test_message ("counter %d: a %" G_GUINT64_FORMAT " b %" G_GUINT64_FORMAT, c,
                            nb_wg_device_get_counter (t->a.dev, c),
                            nb_wg_device_get_counter (t->b.dev, c));
          g_test_message ("packets a %u/%u b %u/%u, channel rx a %" G_GUINT64_FORMAT " b %"
                          G_GUINT64_FORMAT, side_packets (&t->a), to_a.at_least,
                          side_packets (&t->b), to_b.at_least,
                          nb_ice_session_get_channel_rx_datagrams (t->link.a.session),
                          nb_ice_session_get_channel_rx_datagrams (t->link.b.session));
          g_assert_not_reached ();
        }
    }
}

/* One packet from a to b: a initiates the handshake alone. Packets both
 * ways at once would make both sides initiate, and WireGuard settles
 * crossed initiations only at the next retry, 5 s later (each side's
 * response finds the other past its own initiation). */
static void
first_packet (Tunnel *t)
{
  guint8 packet[1500];
  gsize len = make_ipv4 (packet, "100.64.0.1", "100.64.0.2", 100);
  PacketWait to_b = { &t->b, side_packets (&t->b) + 1 };

  g_assert_true (nb_wg_device_inject_packet (t->a.dev, packet, len));
  g_assert_true (run_until (got_packets, &to_b));
}

/* Gets the tunnel from nothing to packets flowing on the handed-over
 * sockets. */
static void
bring_up (Tunnel *t)
{
  g_assert_true (run_until (both_connected, &t->link));
  g_assert_cmpint (nb_ice_session_get_transport_kind (t->link.a.session), !=,
                   NB_ICE_TRANSPORT_NONE);
  g_assert_cmpint (nb_ice_session_get_transport_kind (t->link.b.session), !=,
                   NB_ICE_TRANSPORT_NONE);

  /* The first packets start the handshake through the agent (the channel);
   * each side hands the socket over once the other's WireGuard came
   * through. Packets keep flowing until both are on their sockets. */
  first_packet (t);
  while (!both_on_socket (t))
    {
      gint64 deadline = g_get_monotonic_time () + TIMEOUT_S * G_USEC_PER_SEC;

      exchange (t, 1);
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    }
  g_assert_cmpuint (nb_wg_peer_get_last_handshake_time (t->a.peer), !=, 0);
}

static void
assert_socket_carries (Tunnel *t)
{
  guint64 rx_a = nb_ice_session_get_channel_rx_datagrams (t->link.a.session);
  guint64 rx_b = nb_ice_session_get_channel_rx_datagrams (t->link.b.session);
  guint64 tx_a = nb_ice_session_get_channel_tx_datagrams (t->link.a.session);
  guint64 data_b = nb_wg_device_get_counter (t->b.dev, NB_WG_COUNTER_RX_DATA_PACKETS);
  guint64 data_a = nb_wg_device_get_counter (t->a.dev, NB_WG_COUNTER_RX_DATA_PACKETS);
  g_autoptr(GInetSocketAddress) endpoint = NULL;

  exchange (t, 200);

  /* The devices decrypted all of them... */
  g_assert_cmpuint (nb_wg_device_get_counter (t->b.dev, NB_WG_COUNTER_RX_DATA_PACKETS), >=,
                    data_b + 200);
  g_assert_cmpuint (nb_wg_device_get_counter (t->a.dev, NB_WG_COUNTER_RX_DATA_PACKETS), >=,
                    data_a + 200);
  /* ...and none came or went through the agent: the packet threads read
   * and wrote the handed-over sockets themselves. */
  g_assert_cmpuint (nb_ice_session_get_channel_rx_datagrams (t->link.a.session), ==, rx_a);
  g_assert_cmpuint (nb_ice_session_get_channel_rx_datagrams (t->link.b.session), ==, rx_b);
  g_assert_cmpuint (nb_ice_session_get_channel_tx_datagrams (t->link.a.session), ==, tx_a);
  /* Nor through the devices' own sockets: no endpoint was ever learned,
   * none was missing. */
  endpoint = nb_wg_peer_dup_endpoint (t->b.peer);
  g_assert_null (endpoint);
  g_assert_cmpuint (nb_wg_device_get_counter (t->a.dev, NB_WG_COUNTER_TX_DROP_NO_ENDPOINT), ==, 0);
  g_assert_cmpuint (nb_wg_device_get_counter (t->b.dev, NB_WG_COUNTER_TX_DROP_NO_ENDPOINT), ==, 0);
  g_test_message ("through the agent: %" G_GUINT64_FORMAT " datagrams in at a, %" G_GUINT64_FORMAT
                  " at b, then 400 packets on the handed-over sockets",
                  rx_a, rx_b);
}

/* A WireGuard handshake and packets over the selected pair, on the sockets
 * handed over to the packet threads. */
static void
test_wireguard_over_socket (void)
{
  Tunnel t = { 0 };

  tunnel_setup (&t);
  bring_up (&t);
  /* The handshake went through the agent before the hand-over. */
  g_assert_cmpuint (nb_ice_session_get_channel_tx_datagrams (t.link.a.session) +
                    nb_ice_session_get_channel_tx_datagrams (t.link.b.session), >, 0);
  assert_socket_carries (&t);
  tunnel_teardown (&t);
}

static gboolean
reconnected (gpointer data)
{
  Tunnel *t = data;

  return both_connected (&t->link) && t->link.a.n_pairs >= 2 && t->link.b.n_pairs >= 2;
}

/* A restart gives new credentials on both sides (the other side restarts
 * when it sees them), a new pair is selected, and WireGuard goes on over
 * it without a new handshake being needed. */
static void
test_restart (void)
{
  Tunnel t = { 0 };
  g_autofree char *old_ufrag_a = NULL, *old_pwd_a = NULL, *old_ufrag_b = NULL;
  g_autofree char *old_session = NULL;
  g_autoptr(GError) error = NULL;

  tunnel_setup (&t);
  bring_up (&t);
  old_ufrag_a = g_strdup (t.link.a.ufrag);
  old_pwd_a = g_strdup (t.link.a.pwd);
  old_ufrag_b = g_strdup (t.link.b.ufrag);
  old_session = g_strdup (nb_ice_session_get_session_id (t.link.a.session));
  t.link.a.n_pairs = t.link.b.n_pairs = 1;

  g_assert_true (nb_ice_session_restart (t.link.a.session, &error));
  g_assert_no_error (error);
  /* Back on the agent until the new round is done on both sides. */
  g_assert_cmpint (nb_ice_session_get_transport_kind (t.link.a.session), ==,
                   NB_ICE_TRANSPORT_CHANNEL);
  g_assert_cmpstr (nb_ice_session_get_session_id (t.link.a.session), !=, old_session);

  g_assert_true (run_until (reconnected, &t));
  g_assert_cmpuint (t.link.a.n_credentials, ==, 2);
  g_assert_cmpuint (t.link.b.n_credentials, ==, 2);
  g_assert_cmpstr (t.link.a.ufrag, !=, old_ufrag_a);
  g_assert_cmpstr (t.link.a.pwd, !=, old_pwd_a);
  g_assert_cmpstr (t.link.b.ufrag, !=, old_ufrag_b);
  {
    g_autofree char *ufrag = nb_ice_session_dup_local_ufrag (t.link.a.session);
    g_assert_cmpstr (ufrag, ==, t.link.a.ufrag);
  }
  assert_host_pair (t.link.a.session);

  /* Packets flow again, and end up on the sockets again. */
  while (!both_on_socket (&t))
    exchange (&t, 1);
  assert_socket_carries (&t);
  tunnel_teardown (&t);
}


/* What a channel transport of a device sends, kept for the test. */
typedef struct
{
  GMutex lock;
  guint8 data[256];
  gsize len;
} Captured;

static gboolean
capture_send (const guint8 *data,
              gsize         len,
              gpointer      user_data)
{
  Captured *captured = user_data;

  g_mutex_lock (&captured->lock);
  if (captured->len == 0 && len <= sizeof captured->data)
    {
      memcpy (captured->data, data, len);
      captured->len = len;
    }
  g_mutex_unlock (&captured->lock);
  return TRUE;
}

static gboolean
captured_something (gpointer data)
{
  Captured *captured = data;
  gboolean done;

  g_mutex_lock (&captured->lock);
  done = captured->len > 0;
  g_mutex_unlock (&captured->lock);
  return done;
}

/* The other side selected its pair first and its handshake initiation came
 * through the agent while this side had no pair, so no way to answer: the
 * session holds it (WireGuard would drop its response and the initiator
 * retry only after REKEY_TIMEOUT, 5 s) and hands it to WireGuard once the
 * peer has a transport. Driven through the private face: the race takes
 * one round trip and is not reproducible with two real agents. */
static void
test_initiation_held_until_pair (void)
{
  Side a = { 0 }, b = { 0 };
  Captured captured = { 0 };
  g_autoptr(NbIceSession) session = NULL;
  g_autoptr(GError) error = NULL;
  guint8 packet[1500];
  gsize len;

  g_mutex_init (&captured.lock);
  side_init (&a);
  side_init (&b);
  a.peer = nb_wg_device_add_peer (a.dev, b.key, &error);
  g_assert_no_error (error);
  b.peer = nb_wg_device_add_peer (b.dev, a.key, &error);
  g_assert_no_error (error);
  add_prefix (a.peer, "100.64.0.2/32");
  add_prefix (b.peer, "100.64.0.1/32");

  /* A real initiation from a, through a channel that keeps it. */
  nb_wg_peer_set_transport (a.peer, nb_wg_transport_new_channel (capture_send, &captured, NULL));
  len = make_ipv4 (packet, "100.64.0.1", "100.64.0.2", 100);
  g_assert_true (nb_wg_device_inject_packet (a.dev, packet, len));
  g_assert_true (run_until (captured_something, &captured));
  g_assert_cmpuint (captured.len, ==, 148);

  /* b's session, started, its peer attached, no pair yet. */
  session = nb_ice_session_new (b.key, a.key);
  nb_ice_session_set_wg_peer (session, b.dev, b.peer);
  g_assert_true (nb_ice_session_start (session, &error));
  g_assert_no_error (error);
  nb_ice_session_on_receive (NULL, 0, NB_ICE_COMPONENT_ID, captured.len,
                             (gchar *) captured.data, session);
  g_assert_cmpuint (session->n_held, ==, 1);
  g_assert_cmpuint (nb_wg_device_get_counter (b.dev, NB_WG_COUNTER_RX_HANDSHAKE_INITIATIONS), ==, 0);

  /* A pair: the peer gets the channel, and WireGuard the initiation. */
  session->have_pair = TRUE;
  session->local_type = NB_ICE_CANDIDATE_TYPE_HOST;
  nb_ice_session_update_transport (session);
  g_assert_cmpint (nb_ice_session_get_transport_kind (session), ==, NB_ICE_TRANSPORT_CHANNEL);
  g_assert_cmpuint (session->n_held, ==, 0);
  g_assert_cmpuint (nb_wg_device_get_counter (b.dev, NB_WG_COUNTER_RX_HANDSHAKE_INITIATIONS), ==, 1);

  /* From then on datagrams go straight through. */
  nb_ice_session_on_receive (NULL, 0, NB_ICE_COMPONENT_ID, captured.len,
                             (gchar *) captured.data, session);
  g_assert_cmpuint (session->n_held, ==, 0);

  nb_ice_session_close (session);
  nb_wg_peer_set_transport (a.peer, NULL);
  side_clear (&a);
  side_clear (&b);
  g_mutex_clear (&captured.lock);
}

/* ---- TURN: a real coturn on loopback ---- */

#define TURN_SECRET "h7-test-secret-not-for-production"

typedef struct
{
  GSubprocess *process;
  guint16 port;
  char *uri;
  char *log_path;
} Coturn;

static guint16
free_udp_port (void)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                            G_SOCKET_PROTOCOL_UDP, NULL);
  g_autoptr(GSocketAddress) any = G_SOCKET_ADDRESS (loopback (0));
  g_autoptr(GSocketAddress) bound = NULL;

  g_assert_true (g_socket_bind (socket, any, FALSE, NULL));
  bound = g_socket_get_local_address (socket, NULL);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

/* coturn goes when the test process goes, even when an assertion aborts it. */
static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

/* Ready once it answers a STUN Binding request (RFC 5389 §6). */
static gboolean
coturn_answers (guint16 port)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                            G_SOCKET_PROTOCOL_UDP, NULL);
  g_autoptr(GSocketAddress) to = G_SOCKET_ADDRESS (loopback (port));
  guint8 request[20] = { 0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42,
                         'n', 'b', '-', 'h', '7', '-', 'r', 'e', 'a', 'd', 'y', '!' };
  guint8 answer[512];
  gssize n;

  g_socket_set_timeout (socket, 1);
  if (g_socket_send_to (socket, to, (const char *) request, sizeof request, NULL, NULL) < 0)
    return FALSE;
  n = g_socket_receive (socket, (char *) answer, sizeof answer, NULL, NULL);
  return n >= 20 && answer[0] == 0x01 && answer[1] == 0x01 && memcmp (answer + 8, request + 8, 12) == 0;
}

static void
coturn_start (Coturn *turn)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *port = NULL, *min_port = NULL, *max_port = NULL;
  guint base = 40000 + g_random_int_range (0, 100) * 200;
  gint64 deadline;

  turn->port = free_udp_port ();
  port = g_strdup_printf ("%u", turn->port);
  min_port = g_strdup_printf ("%u", base);
  max_port = g_strdup_printf ("%u", base + 199);
  /* The log stays in the build directory when the test fails. */
  turn->log_path = g_strdup_printf ("%s/coturn-%u.log", g_test_get_dir (G_TEST_BUILT), turn->port);
  turn->uri = g_strdup_printf ("turn:127.0.0.1:%u?transport=udp", turn->port);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                        G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  turn->process = g_subprocess_launcher_spawn (
      launcher, &error, "turnserver", "-n",
      "--listening-ip", "127.0.0.1", "--listening-port", port,
      "--relay-ip", "127.0.0.1", "--min-port", min_port, "--max-port", max_port,
      "--use-auth-secret", "--static-auth-secret", TURN_SECRET, "--realm", "netbird.test",
      "--allow-loopback-peers", "--no-tcp", "--no-tls", "--no-dtls", "--no-cli",
      "--no-tcp-relay",
      "--simple-log", "--log-file", turn->log_path, "--pidfile", "",
      NULL);
  if (turn->process == NULL)
    g_error ("coturn (Debian's coturn package) could not start: %s", error->message);

  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (!coturn_answers (turn->port))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_assert_nonnull (g_subprocess_get_identifier (turn->process));
    }
}

static void
coturn_stop (Coturn *turn)
{
  g_subprocess_force_exit (turn->process);
  g_subprocess_wait (turn->process, NULL, NULL);
  g_clear_object (&turn->process);
  g_unlink (turn->log_path);
  g_clear_pointer (&turn->uri, g_free);
  g_clear_pointer (&turn->log_path, g_free);
}

/* The credentials Management hands out for coturn's use-auth-secret
 * (nb-mgmt-netmap-wire.c): user "EXPIRY:PEER_KEY", password the base64
 * HMAC-SHA1 of the user under the shared secret. */
static void
turn_credentials (const char  *secret,
                  NbKey       *key,
                  char       **user,
                  char       **password)
{
  guint8 digest[20];
  gsize digest_len = sizeof digest;
  g_autoptr(GHmac) hmac = g_hmac_new (G_CHECKSUM_SHA1, (const guchar *) secret, strlen (secret));

  *user = g_strdup_printf ("%" G_GINT64_FORMAT ":%s", g_get_real_time () / G_USEC_PER_SEC + 3600,
                           nb_key_get_public_base64 (key));
  g_hmac_update (hmac, (const guchar *) *user, -1);
  g_hmac_get_digest (hmac, digest, &digest_len);
  *password = g_base64_encode (digest, digest_len);
}

static void
add_turn (NbIceSession *session,
          Coturn       *turn,
          const char   *secret,
          NbKey        *key)
{
  g_autofree char *user = NULL, *password = NULL;
  g_autoptr(GError) error = NULL;

  turn_credentials (secret, key, &user, &password);
  g_assert_true (nb_ice_session_add_turn_server (session, turn->uri, user, password, &error));
  g_assert_no_error (error);
}

static void
count_relay_candidate (NbIceSession *session,
                       const char   *candidate,
                       guint        *n)
{
  if (strstr (candidate, " typ relay") != NULL)
    (*n)++;
}

static gboolean
gathered (gpointer data)
{
  return ((End *) data)->gathering_done;
}

/* Both sides relay-only through coturn: the pair is relayed on both ends,
 * WireGuard stays on the channel through the agent, and its packets are
 * counted there. */
static void
test_wireguard_over_turn (void)
{
  Coturn turn = { 0 };
  Tunnel t = { 0 };
  g_autoptr(GError) error = NULL;
  NbIceCandidateType local_type = -1, remote_type = -1;
  guint relay_a = 0;
  guint64 rx_b, tx_a;

  coturn_start (&turn);

  side_init (&t.a);
  side_init (&t.b);
  t.a.peer = nb_wg_device_add_peer (t.a.dev, t.b.key, &error);
  t.b.peer = nb_wg_device_add_peer (t.b.dev, t.a.key, &error);
  g_assert_no_error (error);
  add_prefix (t.a.peer, "100.64.0.2/32");
  add_prefix (t.b.peer, "100.64.0.1/32");
  link_init (&t.link, t.a.key, t.b.key);
  nb_ice_session_set_relay_only (t.link.a.session, TRUE);
  nb_ice_session_set_relay_only (t.link.b.session, TRUE);
  add_turn (t.link.a.session, &turn, TURN_SECRET, t.a.key);
  add_turn (t.link.b.session, &turn, TURN_SECRET, t.b.key);
  g_signal_connect (t.link.a.session, "local-candidate", G_CALLBACK (count_relay_candidate),
                    &relay_a);
  nb_ice_session_set_wg_peer (t.link.a.session, t.a.dev, t.a.peer);
  nb_ice_session_set_wg_peer (t.link.b.session, t.b.dev, t.b.peer);
  link_start (&t.link);

  g_assert_true (run_until (both_connected, &t.link));
  g_assert_cmpuint (relay_a, >=, 1);
  g_assert_true (nb_ice_session_get_selected_pair (t.link.a.session, &local_type, NULL,
                                                   &remote_type, NULL));
  g_assert_cmpint (local_type, ==, NB_ICE_CANDIDATE_TYPE_RELAYED);
  g_assert_cmpint (remote_type, ==, NB_ICE_CANDIDATE_TYPE_RELAYED);

  first_packet (&t);
  exchange (&t, 1);
  rx_b = nb_ice_session_get_channel_rx_datagrams (t.link.b.session);
  tx_a = nb_ice_session_get_channel_tx_datagrams (t.link.a.session);
  exchange (&t, 100);
  /* Every packet went through the agent and coturn, none on a socket of
   * its own. */
  g_assert_cmpint (nb_ice_session_get_transport_kind (t.link.a.session), ==,
                   NB_ICE_TRANSPORT_CHANNEL);
  g_assert_cmpint (nb_ice_session_get_transport_kind (t.link.b.session), ==,
                   NB_ICE_TRANSPORT_CHANNEL);
  g_assert_cmpuint (nb_ice_session_get_channel_rx_datagrams (t.link.b.session), >=, rx_b + 100);
  g_assert_cmpuint (nb_ice_session_get_channel_tx_datagrams (t.link.a.session), >=, tx_a + 100);
  g_test_message ("through coturn: %" G_GUINT64_FORMAT " datagrams out of a, %" G_GUINT64_FORMAT
                  " into b", nb_ice_session_get_channel_tx_datagrams (t.link.a.session),
                  nb_ice_session_get_channel_rx_datagrams (t.link.b.session));

  tunnel_teardown (&t);
  coturn_stop (&turn);
}

/* Credentials made with another secret get no allocation: no relayed
 * candidate, and gathering still ends. */
static void
test_turn_wrong_secret (void)
{
  Coturn turn = { 0 };
  g_autoptr(NbKey) key_a = nb_key_generate ();
  g_autoptr(NbKey) key_b = nb_key_generate ();
  Link link = { 0 };
  guint relay = 0;

  coturn_start (&turn);
  link_init (&link, key_a, key_b);
  nb_ice_session_set_relay_only (link.a.session, TRUE);
  add_turn (link.a.session, &turn, "not-the-secret", key_a);
  g_signal_connect (link.a.session, "local-candidate", G_CALLBACK (count_relay_candidate), &relay);
  link_start (&link);
  g_assert_true (run_until (gathered, &link.a));
  g_assert_cmpuint (relay, ==, 0);
  link_clear (&link);
  coturn_stop (&turn);
}

static gboolean
failed_then_restarted (gpointer data)
{
  End *end = data;
  gboolean failed = FALSE;

  for (guint i = 0; i < end->states->len; i++)
    failed |= GPOINTER_TO_UINT (g_ptr_array_index (end->states, i)) == NB_ICE_SESSION_STATE_FAILED;
  return failed && end->n_credentials >= 2;
}

static void
on_credentials_count (NbIceSession *session,
                      const char   *ufrag,
                      const char   *pwd,
                      End          *end)
{
  end->n_credentials++;
}

/* Checks toward a port nobody answers on fail; the session starts a new
 * round by itself, with new credentials, a second later. */
static void
test_restart_after_failure (void)
{
  g_autoptr(NbKey) key_a = nb_key_generate ();
  g_autoptr(NbKey) key_b = nb_key_generate ();
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GError) error = NULL;
  g_autofree char *first_session = NULL;
  End end = { 0 };

  end.states = g_ptr_array_new ();
  end.session = nb_ice_session_new (key_a, key_b);
  nb_ice_session_add_local_address (end.session, lo);
  g_signal_connect (end.session, "local-credentials", G_CALLBACK (on_credentials_count), &end);
  g_signal_connect (end.session, "notify::state", G_CALLBACK (on_state), &end);
  g_assert_true (nb_ice_session_start (end.session, &error));
  first_session = g_strdup (nb_ice_session_get_session_id (end.session));
  g_assert_true (nb_ice_session_set_remote_credentials (end.session, "abcd",
                                                        "abcdefghijklmnopqrstuv", &error));
  g_assert_true (nb_ice_session_add_remote_candidate (
      end.session, "candidate:1 1 UDP 2015364095 127.0.0.1 9 typ host", &error));
  g_assert_no_error (error);

  g_assert_true (run_until (failed_then_restarted, &end));
  g_assert_cmpstr (nb_ice_session_get_session_id (end.session), !=, first_session);
  g_assert_cmpint (nb_ice_session_get_state (end.session), !=, NB_ICE_SESSION_STATE_FAILED);
  end_clear (&end);
}

/* Bad input is refused with a clear error, and the session stays usable. */
static void
test_invalid_input (void)
{
  g_autoptr(NbKey) key_a = nb_key_generate ();
  g_autoptr(NbKey) key_b = nb_key_generate ();
  g_autoptr(NbIceSession) session = nb_ice_session_new (key_a, key_b);
  g_autoptr(GError) error = NULL;
  static const char *const bad_stun[] = {
    "stun.example.org", "turn:1.2.3.4", "stun:", "stun://user@host", "stun:host:3478?x=1",
    "stuns:host", "stun:host:99999",
  };
  static const char *const bad_turn[] = {
    "turn:", "stun:1.2.3.4", "turn:host?transport=sctp", "turns:host?transport=udp",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad_stun); i++)
    {
      g_assert_false (nb_ice_session_add_stun_server (session, bad_stun[i], &error));
      g_assert_error (error, NB_ICE_SESSION_ERROR, NB_ICE_SESSION_ERROR_INVALID_SERVER);
      g_clear_error (&error);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad_turn); i++)
    {
      g_assert_false (nb_ice_session_add_turn_server (session, bad_turn[i], "u", "p", &error));
      g_assert_error (error, NB_ICE_SESSION_ERROR, NB_ICE_SESSION_ERROR_INVALID_SERVER);
      g_clear_error (&error);
    }
  g_assert_false (nb_ice_session_add_turn_server (session, "turn:127.0.0.1:3478", "", "p", &error));
  g_assert_error (error, NB_ICE_SESSION_ERROR, NB_ICE_SESSION_ERROR_INVALID_SERVER);
  g_clear_error (&error);
  g_assert_true (nb_ice_session_add_stun_server (session, "stun:[::1]:3478", &error));
  g_assert_true (nb_ice_session_add_turn_server (session, "turn:127.0.0.1?transport=tcp", "u",
                                                 "p", &error));
  g_assert_no_error (error);

  /* The rest on a session without servers (libnice would still be asking
   * the STUN server above when the test closes it). */
  g_clear_object (&session);
  session = nb_ice_session_new (key_a, key_b);

  /* Not started yet. */
  g_assert_false (nb_ice_session_set_remote_credentials (session, "abcd", "abcdefghijklmnopqrstuv",
                                                         &error));
  g_assert_error (error, NB_ICE_SESSION_ERROR, NB_ICE_SESSION_ERROR_WRONG_STATE);
  g_clear_error (&error);

  g_assert_true (nb_ice_session_start (session, &error));
  g_assert_false (nb_ice_session_start (session, &error));
  g_assert_error (error, NB_ICE_SESSION_ERROR, NB_ICE_SESSION_ERROR_WRONG_STATE);
  g_clear_error (&error);
  g_assert_false (nb_ice_session_add_stun_server (session, "stun:127.0.0.1", &error));
  g_assert_error (error, NB_ICE_SESSION_ERROR, NB_ICE_SESSION_ERROR_WRONG_STATE);
  g_clear_error (&error);

  g_assert_false (nb_ice_session_set_remote_credentials (session, "ab", "abcdefghijklmnopqrstuv",
                                                         &error));
  g_assert_error (error, NB_ICE_SESSION_ERROR, NB_ICE_SESSION_ERROR_INVALID_CREDENTIALS);
  g_clear_error (&error);
  g_assert_false (nb_ice_session_set_remote_credentials (session, "abcd", "short", &error));
  g_assert_error (error, NB_ICE_SESSION_ERROR, NB_ICE_SESSION_ERROR_INVALID_CREDENTIALS);
  g_clear_error (&error);
  g_assert_false (nb_ice_session_add_remote_candidate (session, "candidate:1 1 UDP 1 ::1 x typ host",
                                                       &error));
  g_assert_error (error, NB_ICE_SESSION_ERROR, NB_ICE_SESSION_ERROR_INVALID_CANDIDATE);
  g_clear_error (&error);
  g_assert_true (nb_ice_session_set_remote_credentials (session, "abcd", "abcdefghijklmnopqrstuv",
                                                        &error));
  g_assert_no_error (error);
  g_assert_false (nb_ice_session_add_remote_candidate (session,
                                                       "candidate:1 2 UDP 1 127.0.0.1 9 typ host",
                                                       &error));
  g_assert_error (error, NB_ICE_SESSION_ERROR, NB_ICE_SESSION_ERROR_INVALID_CANDIDATE);
  g_clear_error (&error);

  /* Still good for a valid one. */
  g_assert_true (nb_ice_session_add_remote_candidate (
      session, "a=candidate:1 1 UDP 2013266431 127.0.0.1 9 typ host", &error));
  g_assert_no_error (error);

  /* A round takes so many candidates, then refuses more. */
  {
    guint taken = 0;

    for (guint i = 0; i < 100; i++)
      {
        g_autofree char *candidate = g_strdup_printf ("candidate:%u 1 UDP 1 127.0.0.1 %u typ host",
                                                      i + 10, 1000 + i);
        if (!nb_ice_session_add_remote_candidate (session, candidate, &error))
          break;
        taken++;
      }
    g_assert_cmpuint (taken, >, 50);
    g_assert_cmpuint (taken, <, 64);
    g_assert_error (error, NB_ICE_SESSION_ERROR, NB_ICE_SESSION_ERROR_INVALID_CANDIDATE);
    g_assert_nonnull (strstr (error->message, "more than 64"));
    g_clear_error (&error);
  }

  nb_ice_session_close (session);
  g_assert_false (nb_ice_session_restart (session, &error));
  g_assert_error (error, NB_ICE_SESSION_ERROR, NB_ICE_SESSION_ERROR_WRONG_STATE);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/transport/ice/host-pair", test_host_pair);
  g_test_add_func ("/transport/ice/shared-threads", test_shared_threads);
  g_test_add_func ("/transport/ice/wireguard-over-socket", test_wireguard_over_socket);
  g_test_add_func ("/transport/ice/restart", test_restart);
  g_test_add_func ("/transport/ice/initiation-held-until-pair", test_initiation_held_until_pair);
  g_test_add_func ("/transport/ice/restart-after-failure", test_restart_after_failure);
  g_test_add_func ("/transport/ice/wireguard-over-turn", test_wireguard_over_turn);
  g_test_add_func ("/transport/ice/turn-wrong-secret", test_turn_wrong_secret);
  g_test_add_func ("/transport/ice/invalid-input", test_invalid_input);

  return g_test_run ();
}
