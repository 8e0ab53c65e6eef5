/* nb-dns-forward.c: one query sent on to a nameserver group's servers
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * Blocking, on a worker thread of the resolver: each server in turn, UDP
 * first, TCP when the answer comes back truncated (RFC 7766 §5), with a
 * timeout per server. The query goes out under a random ID (RFC 5452 §4),
 * the answer comes back under the client's.
 */
#define G_LOG_DOMAIN "netbird-dns"

#include "nb-dns-private.h"

#include <string.h>
#include <sys/random.h>

GInetSocketAddress *
nb_dns_parse_server (const char *server,
                     GError    **error)
{
  g_autofree char *host = NULL;
  guint64 port = 53;
  const char *colon;
  g_autoptr (GInetAddress) addr = NULL;

  if (server == NULL)
    server = "";
  if (server[0] == '[')
    {
      const char *end = strchr (server, ']');

      if (end == NULL || (end[1] != '\0' && end[1] != ':'))
        goto bad;
      host = g_strndup (server + 1, end - server - 1);
      colon = end[1] == ':' ? end + 1 : NULL;
    }
  else if ((colon = strchr (server, ':')) != NULL && strchr (colon + 1, ':') == NULL)
    host = g_strndup (server, colon - server);
  else
    {
      host = g_strdup (server);
      colon = NULL;
    }
  if (colon != NULL &&
      (!g_ascii_string_to_unsigned (colon + 1, 10, 1, G_MAXUINT16, &port, NULL)))
    goto bad;
  addr = g_inet_address_new_from_string (host);
  if (addr == NULL)
    goto bad;
  return G_INET_SOCKET_ADDRESS (g_inet_socket_address_new (addr, (guint16) port));

bad:
  g_set_error (error, NB_DNS_ERROR, NB_DNS_ERROR_INVALID,
               "DNS server “%s” is not an address (IP, IP:PORT or [IPv6]:PORT)", server);
  return NULL;
}

static gboolean
answer_matches (const guint8 *buf, gssize n, guint16 id)
{
  return n >= 12 && (buf[2] & 0x80) != 0 && ((buf[0] << 8) | buf[1]) == id;
}

static gboolean
exchange_udp (GSocketAddress *addr,
              GByteArray     *query,
              guint16         id,
              guint           timeout_ms,
              GByteArray     *answer,
              GError        **error)
{
  g_autoptr (GSocket) sock = g_socket_new (g_socket_address_get_family (addr), G_SOCKET_TYPE_DATAGRAM,
                                           G_SOCKET_PROTOCOL_UDP, error);
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  if (sock == NULL || !g_socket_connect (sock, addr, NULL, error))
    return FALSE;
  if (g_socket_send (sock, (const char *) query->data, query->len, NULL, error) < 0)
    return FALSE;
  g_byte_array_set_size (answer, 65535);
  for (;;)
    {
      gint64 left = deadline - g_get_monotonic_time ();
      gssize n;

      if (left <= 0)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "no answer in time");
          return FALSE;
        }
      g_socket_set_timeout (sock, 0);
      if (!g_socket_condition_timed_wait (sock, G_IO_IN, left, NULL, error))
        return FALSE;
      n = g_socket_receive (sock, (char *) answer->data, answer->len, NULL, error);
      if (n < 0)
        return FALSE;
      /* a stray or spoofed datagram: keep waiting for ours */
      if (answer_matches (answer->data, n, id))
        {
          g_byte_array_set_size (answer, n);
          return TRUE;
        }
    }
}

static gboolean
read_all (GSocket *sock, guint8 *buf, gsize len, gint64 deadline, GError **error)
{
  while (len > 0)
    {
      gint64 left = deadline - g_get_monotonic_time ();
      gssize n;

      if (left <= 0)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "no answer in time");
          return FALSE;
        }
      if (!g_socket_condition_timed_wait (sock, G_IO_IN, left, NULL, error))
        return FALSE;
      n = g_socket_receive (sock, (char *) buf, len, NULL, error);
      if (n < 0)
        return FALSE;
      if (n == 0)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED, "server closed");
          return FALSE;
        }
      buf += n;
      len -= n;
    }
  return TRUE;
}

static gboolean
exchange_tcp (GSocketAddress *addr,
              GByteArray     *query,
              guint16         id,
              guint           timeout_ms,
              GByteArray     *answer,
              GError        **error)
{
  g_autoptr (GSocket) sock = g_socket_new (g_socket_address_get_family (addr), G_SOCKET_TYPE_STREAM,
                                           G_SOCKET_PROTOCOL_TCP, error);
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  guint8 len[2] = { query->len >> 8, query->len & 0xff };
  GOutputVector out[2] = { { len, 2 }, { query->data, query->len } };
  gsize n;

  if (sock == NULL)
    return FALSE;
  g_socket_set_timeout (sock, MAX (1u, timeout_ms / 1000));
  if (!g_socket_connect (sock, addr, NULL, error))
    return FALSE;
  /* RFC 1035 §4.2.2: a two-byte length, then the message */
  if (g_socket_send_message (sock, NULL, out, 2, NULL, 0, 0, NULL, error) !=
      (gssize) (query->len + 2))
    {
      if (error && *error == NULL)
        g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "short write");
      return FALSE;
    }
  if (!read_all (sock, len, 2, deadline, error))
    return FALSE;
  n = (len[0] << 8) | len[1];
  g_byte_array_set_size (answer, n);
  if (!read_all (sock, answer->data, n, deadline, error))
    return FALSE;
  if (!answer_matches (answer->data, n, id))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "not an answer to our query");
      return FALSE;
    }
  return TRUE;
}

/* RFC 5452 §4.2: an answer is ours only if it is to our question; and one
 * that ldns cannot read is not passed on to the client. */
static gboolean
answer_is_to (const ldns_rr *question, GByteArray *answer, GError **error)
{
  ldns_pkt *pkt = NULL;
  const ldns_rr *q;
  gboolean ok;

  if (ldns_wire2pkt (&pkt, answer->data, answer->len) != LDNS_STATUS_OK)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "malformed answer");
      return FALSE;
    }
  q = ldns_rr_list_rr (ldns_pkt_question (pkt), 0);
  ok = ldns_pkt_qdcount (pkt) == 1 && q != NULL &&
       ldns_rr_get_type (q) == ldns_rr_get_type (question) &&
       ldns_rr_get_class (q) == ldns_rr_get_class (question) &&
       ldns_dname_compare (ldns_rr_owner (q), ldns_rr_owner (question)) == 0;
  ldns_pkt_free (pkt);
  if (!ok)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "answer to another question");
  return ok;
}

gboolean
nb_dns_forward_exchange (const char * const *servers,
                         const guint8       *query,
                         gsize               len,
                         guint               timeout_ms,
                         GByteArray         *answer,
                         guint64            *failures,
                         guint64            *tcp_retries,
                         GError            **error)
{
  g_autoptr (GByteArray) out = NULL;
  g_autoptr (GError) last = NULL;
  ldns_pkt *qpkt = NULL;
  const ldns_rr *question;
  guint16 id;

  if (len < 12 || len > G_MAXUINT16)
    {
      g_set_error_literal (error, NB_DNS_ERROR, NB_DNS_ERROR_INVALID, "not a DNS query");
      return FALSE;
    }
  if (ldns_wire2pkt (&qpkt, query, len) != LDNS_STATUS_OK || ldns_pkt_qdcount (qpkt) != 1)
    {
      if (qpkt != NULL)
        ldns_pkt_free (qpkt);
      g_set_error_literal (error, NB_DNS_ERROR, NB_DNS_ERROR_INVALID, "not a DNS query");
      return FALSE;
    }
  question = ldns_rr_list_rr (ldns_pkt_question (qpkt), 0);
  out = g_byte_array_sized_new (len);
  g_byte_array_append (out, query, len);

  for (guint i = 0; servers != NULL && servers[i] != NULL; i++)
    {
      g_autoptr (GInetSocketAddress) addr = nb_dns_parse_server (servers[i], &last);
      gboolean ok;

      if (addr == NULL)
        continue;
      /* unpredictable, or an off-path attacker could answer for the
       * server (RFC 5452 §9.2) */
      if (getrandom (&id, sizeof id, 0) != sizeof id)
        id = (guint16) g_random_int ();
      out->data[0] = id >> 8;
      out->data[1] = id & 0xff;
      g_clear_error (&last);
      ok = exchange_udp (G_SOCKET_ADDRESS (addr), out, id, timeout_ms, answer, &last);
      if (ok && (answer->data[2] & 0x02) != 0)
        {
          /* truncated: the same question over TCP, to the same server */
          __atomic_add_fetch (tcp_retries, 1, __ATOMIC_RELAXED);
          ok = exchange_tcp (G_SOCKET_ADDRESS (addr), out, id, timeout_ms, answer, &last);
        }
      if (ok)
        ok = answer_is_to (question, answer, &last);
      if (ok)
        {
          answer->data[0] = query[0];
          answer->data[1] = query[1];
          ldns_pkt_free (qpkt);
          return TRUE;
        }
      __atomic_add_fetch (failures, 1, __ATOMIC_RELAXED);
      g_debug ("DNS upstream %s failed: %s", servers[i], last->message);
    }
  ldns_pkt_free (qpkt);
  if (last != NULL)
    g_propagate_error (error, g_steal_pointer (&last));
  else
    g_set_error_literal (error, NB_DNS_ERROR, NB_DNS_ERROR_INVALID, "no upstream DNS server");
  return FALSE;
}
