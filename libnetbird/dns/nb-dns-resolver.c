/* nb-dns-resolver.c: the peer's DNS server, UDP and TCP, on a thread
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * One thread with a GMainContext of its own reads UDP queries and accepts
 * TCP connections; queries for the zone are answered there, from buffers
 * reused for every packet. Queries that go upstream, and TCP connections,
 * are handed to a small pool of worker threads, where blocking with a
 * timeout is fine: the client's main loop never waits for DNS.
 */
#define G_LOG_DOMAIN "netbird-dns"

#include "nb-dns-private.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#define UDP_BATCH 64             /* datagrams read per wake-up */
#define MAX_WORKERS 16
#define MAX_PENDING 1024         /* forwarded queries waiting for a worker */
#define MAX_TCP_CONNS 32
#define TCP_IDLE_MS 5000         /* RFC 7766 §6.2.3: a few seconds */
#define RATE_TABLE_MAX 4096      /* sources tracked by the rate limit */

typedef struct
{
  GPtrArray *domains;   /* ldns_rdf, canonical */
  GStrv      servers;
  gboolean   primary;
} Group;

/* What the forwarder reads: swapped whole, like the zone. */
typedef struct
{
  gint       ref_count;
  GPtrArray *groups;    /* Group */
  GStrv      fallback;
} ForwardSet;

typedef struct
{
  guint8 family;
  guint8 addr[16];
} SourceKey;

typedef struct
{
  SourceKey key;
  double    tokens;
  gint64    last_us;
} Bucket;

struct _NbDnsResolver
{
  GObject parent_instance;

  GMutex      lock;        /* zone, forward, rate settings: held for swaps only */
  NbDnsZone  *zone;
  ForwardSet *forward;
  guint       timeout_ms;

  GMutex      rate_lock;
  GHashTable *rate;        /* SourceKey -> Bucket */
  double      rate_per_second;
  double      rate_burst;

  GSocket      *udp;
  GSocket      *tcp;
  guint16       port;
  GMainContext *context;
  GMainLoop    *loop;
  GThread      *thread;
  GThreadPool  *pool;
  GPtrArray    *tcp_conns; /* GSocket, under lock: shut down on close */
  gint          n_pending;
  gint          closing;   /* set by close: queued forwards are let go */

  ldns_buffer *out;        /* the resolver thread's answer buffer */
  guint8      *in;         /* its receive buffer, 64 KiB */

  NbDnsResolverStats stats;
};

G_DEFINE_FINAL_TYPE (NbDnsResolver, nb_dns_resolver, G_TYPE_OBJECT)

#define COUNT(self, field) __atomic_add_fetch (&(self)->stats.field, 1, __ATOMIC_RELAXED)

typedef struct
{
  NbDnsResolver          *self;
  GByteArray             *query;
  struct sockaddr_storage src;
  socklen_t               src_len;
  guint16                 max_udp;
  GStrv                   servers;
  GSocket                *conn;   /* a TCP connection instead of a query */
} Job;

static void
job_free (Job *job)
{
  g_clear_pointer (&job->query, g_byte_array_unref);
  g_strfreev (job->servers);
  g_clear_object (&job->conn);
  g_object_unref (job->self);
  g_free (job);
}

static void
group_free (gpointer p)
{
  Group *g = p;

  g_ptr_array_unref (g->domains);
  g_strfreev (g->servers);
  g_free (g);
}

static void
rdf_free (gpointer p)
{
  ldns_rdf_deep_free (p);
}

static ForwardSet *
forward_set_ref (ForwardSet *set)
{
  if (set != NULL)
    g_atomic_int_inc (&set->ref_count);
  return set;
}

static void
forward_set_unref (ForwardSet *set)
{
  if (set == NULL || !g_atomic_int_dec_and_test (&set->ref_count))
    return;
  g_ptr_array_unref (set->groups);
  g_strfreev (set->fallback);
  g_free (set);
}

static ForwardSet *
forward_set_new (void)
{
  ForwardSet *set = g_new0 (ForwardSet, 1);

  set->ref_count = 1;
  set->groups = g_ptr_array_new_with_free_func (group_free);
  return set;
}

/* The servers a name goes to: the group with the longest match domain,
 * else the primary group, else the host's old upstreams. */
static GStrv
forward_servers (NbDnsResolver *self, const ldns_rdf *qname)
{
  ForwardSet *set;
  const Group *best = NULL, *primary = NULL;
  size_t best_len = 0;
  GStrv servers = NULL;

  g_mutex_lock (&self->lock);
  set = forward_set_ref (self->forward);
  g_mutex_unlock (&self->lock);
  if (set == NULL)
    return NULL;

  for (guint i = 0; i < set->groups->len; i++)
    {
      const Group *g = set->groups->pdata[i];

      if (g->primary && primary == NULL)
        primary = g;
      for (guint j = 0; qname != NULL && j < g->domains->len; j++)
        {
          const ldns_rdf *d = g->domains->pdata[j];

          if ((ldns_dname_compare (qname, d) == 0 || ldns_dname_is_subdomain (qname, d)) &&
              ldns_rdf_size (d) > best_len)
            {
              best = g;
              best_len = ldns_rdf_size (d);
            }
        }
    }
  if (best == NULL)
    best = primary;
  if (best != NULL)
    servers = g_strdupv (best->servers);
  else if (set->fallback != NULL && set->fallback[0] != NULL)
    servers = g_strdupv (set->fallback);
  forward_set_unref (set);
  return servers;
}

/* ------------------------------------------------------------------------
 * Per-source rate limit: a token bucket per address, in a bounded table.
 */
static gboolean
rate_allow (NbDnsResolver *self, const struct sockaddr *sa)
{
  SourceKey key = { 0 };
  Bucket *b;
  gint64 now;
  gboolean ok;

  if (sa->sa_family == AF_INET)
    {
      key.family = 4;
      memcpy (key.addr, &((const struct sockaddr_in *) sa)->sin_addr, 4);
    }
  else if (sa->sa_family == AF_INET6)
    {
      key.family = 6;
      memcpy (key.addr, &((const struct sockaddr_in6 *) sa)->sin6_addr, 16);
    }

  g_mutex_lock (&self->rate_lock);
  if (self->rate_per_second <= 0)
    {
      g_mutex_unlock (&self->rate_lock);
      return TRUE;
    }
  now = g_get_monotonic_time ();
  b = g_hash_table_lookup (self->rate, &key);
  if (b == NULL)
    {
      if (g_hash_table_size (self->rate) >= RATE_TABLE_MAX)
        {
          /* Forget the sources whose bucket has refilled: they are idle.
           * If a spoofed flood filled the table with busy ones, start over:
           * the table stays bounded whatever is sent. */
          GHashTableIter it;
          gpointer v;
          g_hash_table_iter_init (&it, self->rate);
          while (g_hash_table_iter_next (&it, NULL, &v))
            {
              Bucket *o = v;
              if (o->tokens + (now - o->last_us) / 1e6 * self->rate_per_second >= self->rate_burst)
                g_hash_table_iter_remove (&it);
            }
          if (g_hash_table_size (self->rate) >= RATE_TABLE_MAX)
            g_hash_table_remove_all (self->rate);
        }
      b = g_new (Bucket, 1);
      b->key = key;
      b->tokens = self->rate_burst;
      b->last_us = now;
      g_hash_table_insert (self->rate, &b->key, b);
    }
  b->tokens = MIN (self->rate_burst, b->tokens + (now - b->last_us) / 1e6 * self->rate_per_second);
  b->last_us = now;
  ok = b->tokens >= 1.0;
  if (ok)
    b->tokens -= 1.0;
  g_mutex_unlock (&self->rate_lock);
  return ok;
}

static guint
source_key_hash (gconstpointer p)
{
  const SourceKey *k = p;
  guint h = k->family;

  for (guint i = 0; i < 16; i++)
    h = h * 31 + k->addr[i];
  return h;
}

static gboolean
source_key_equal (gconstpointer a, gconstpointer b)
{
  return memcmp (a, b, sizeof (SourceKey)) == 0;
}

/* ------------------------------------------------------------------------
 * Queries.
 */
static NbDnsZone *
take_zone (NbDnsResolver *self)
{
  NbDnsZone *zone;

  g_mutex_lock (&self->lock);
  zone = self->zone ? nb_dns_zone_ref (self->zone) : NULL;
  g_mutex_unlock (&self->lock);
  return zone;
}

static void
count_answer (NbDnsResolver *self, const NbDnsQueryInfo *info)
{
  if (info->formerr)
    COUNT (self, formerr);
  if (info->local)
    {
      COUNT (self, answered_locally);
      if (info->rcode == LDNS_RCODE_NXDOMAIN)
        COUNT (self, nxdomain);
    }
}

/* Forwards on a worker; fills @answer, or writes SERVFAIL into @out. */
static gboolean
forward (NbDnsResolver *self,
         const char * const *servers,
         const guint8 *query,
         gsize len,
         GByteArray *answer,
         ldns_buffer *out)
{
  g_autoptr (GError) error = NULL;
  guint timeout_ms;

  g_mutex_lock (&self->lock);
  timeout_ms = self->timeout_ms;
  g_mutex_unlock (&self->lock);

  if (servers != NULL &&
      nb_dns_forward_exchange (servers, query, len, timeout_ms, answer,
                               &self->stats.upstream_failures, &self->stats.tcp_retries, &error))
    {
      COUNT (self, forwarded);
      return TRUE;
    }
  g_debug ("DNS: no upstream answered: %s", error ? error->message : "no upstream configured");
  COUNT (self, servfail);
  nb_dns_query_write_error (query, len, LDNS_RCODE_SERVFAIL, FALSE, out);
  return FALSE;
}

static void
udp_reply (NbDnsResolver *self,
           const Job *job,
           const guint8 *data,
           gsize len,
           ldns_buffer *out)
{
  int fd = g_socket_get_fd (self->udp);

  if (len > job->max_udp)
    {
      /* RFC 1035 §4.2.1: too big for the client's UDP: TC, and it comes
       * back over TCP */
      nb_dns_query_write_error (job->query->data, job->query->len, LDNS_RCODE_NOERROR, TRUE, out);
      data = ldns_buffer_begin (out);
      len = ldns_buffer_limit (out);
    }
  (void) sendto (fd, data, len, MSG_DONTWAIT, (const struct sockaddr *) &job->src, job->src_len);
}

static gboolean
tcp_write (GSocket *conn, const guint8 *data, gsize len)
{
  guint8 prefix[2] = { len >> 8, len & 0xff };
  GOutputVector v[2] = { { prefix, 2 }, { data, len } };

  return g_socket_send_message (conn, NULL, v, 2, NULL, 0, 0, NULL, NULL) == (gssize) (len + 2);
}

static gboolean
tcp_read (GSocket *conn, guint8 *buf, gsize len)
{
  while (len > 0)
    {
      gssize n = g_socket_receive (conn, (char *) buf, len, NULL, NULL);

      if (n <= 0)
        return FALSE;
      buf += n;
      len -= n;
    }
  return TRUE;
}

static void
serve_tcp (NbDnsResolver *self, GSocket *conn)
{
  ldns_buffer *out = ldns_buffer_new (LDNS_MAX_PACKETLEN);
  g_autoptr (GByteArray) answer = g_byte_array_new ();
  g_autofree guint8 *buf = g_malloc (65536);
  g_autoptr (GSocketAddress) peer = g_socket_get_remote_address (conn, NULL);
  struct sockaddr_storage ss = { 0 };

  if (peer != NULL)
    g_socket_address_to_native (peer, &ss, sizeof ss, NULL);
  g_socket_set_blocking (conn, TRUE);
  g_socket_set_timeout (conn, TCP_IDLE_MS / 1000);

  for (;;)
    {
      guint8 prefix[2];
      gsize len;
      NbDnsQueryInfo info;
      g_autoptr (NbDnsZone) zone = NULL;
      NbDnsVerdict verdict;

      if (!tcp_read (conn, prefix, 2))
        break;
      len = (prefix[0] << 8) | prefix[1];
      if (!tcp_read (conn, buf, len))
        break;
      COUNT (self, queries);
      if (!rate_allow (self, (struct sockaddr *) &ss))
        {
          COUNT (self, rate_limited);
          break;
        }
      zone = take_zone (self);
      verdict = nb_dns_query_handle (zone, buf, len, out, &info);
      count_answer (self, &info);
      if (verdict == NB_DNS_VERDICT_DROP)
        {
          nb_dns_query_info_clear (&info);
          break;
        }
      if (verdict == NB_DNS_VERDICT_FORWARD)
        {
          g_auto (GStrv) servers = forward_servers (self, info.qname);

          if (forward (self, (const char * const *) servers, buf, len, answer, out))
            {
              nb_dns_query_info_clear (&info);
              if (!tcp_write (conn, answer->data, answer->len))
                break;
              continue;
            }
        }
      nb_dns_query_info_clear (&info);
      if (!tcp_write (conn, ldns_buffer_begin (out), ldns_buffer_limit (out)))
        break;
    }
  ldns_buffer_free (out);
}

static void
worker (gpointer data, gpointer user_data)
{
  Job *job = data;
  NbDnsResolver *self = job->self;

  if (g_atomic_int_get (&self->closing))
    {
      if (job->conn == NULL)
        g_atomic_int_add (&self->n_pending, -1);
    }
  else if (job->conn != NULL)
    {
      serve_tcp (self, job->conn);
      g_socket_close (job->conn, NULL);
      g_mutex_lock (&self->lock);
      g_ptr_array_remove_fast (self->tcp_conns, job->conn);
      g_mutex_unlock (&self->lock);
    }
  else
    {
      ldns_buffer *out = ldns_buffer_new (LDNS_MAX_PACKETLEN);
      g_autoptr (GByteArray) answer = g_byte_array_new ();

      if (forward (self, (const char * const *) job->servers, job->query->data, job->query->len,
                   answer, out))
        udp_reply (self, job, answer->data, answer->len, out);
      else
        udp_reply (self, job, ldns_buffer_begin (out), ldns_buffer_limit (out), out);
      ldns_buffer_free (out);
      g_atomic_int_add (&self->n_pending, -1);
    }
  job_free (job);
}

static gboolean
on_udp (GSocket *sock, GIOCondition cond, gpointer user_data)
{
  NbDnsResolver *self = user_data;
  int fd = g_socket_get_fd (sock);
  NbDnsZone *zone = take_zone (self);

  for (guint i = 0; i < UDP_BATCH; i++)
    {
      struct sockaddr_storage src;
      socklen_t src_len = sizeof src;
      ssize_t n = recvfrom (fd, self->in, 65536, MSG_DONTWAIT, (struct sockaddr *) &src,
                            &src_len);
      NbDnsQueryInfo info;
      NbDnsVerdict verdict;

      if (n < 0)
        break;
      COUNT (self, queries);
      if (!rate_allow (self, (struct sockaddr *) &src))
        {
          COUNT (self, rate_limited);
          continue;
        }
      verdict = nb_dns_query_handle (zone, self->in, n, self->out, &info);
      count_answer (self, &info);
      if (verdict == NB_DNS_VERDICT_ANSWER)
        {
          const guint8 *data = ldns_buffer_begin (self->out);
          gsize len = ldns_buffer_limit (self->out);

          if (len > info.max_udp)
            {
              nb_dns_query_write_error (self->in, n, LDNS_RCODE_NOERROR, TRUE, self->out);
              data = ldns_buffer_begin (self->out);
              len = ldns_buffer_limit (self->out);
            }
          (void) sendto (fd, data, len, MSG_DONTWAIT, (struct sockaddr *) &src, src_len);
        }
      else if (verdict == NB_DNS_VERDICT_FORWARD)
        {
          if (g_atomic_int_get (&self->n_pending) >= MAX_PENDING)
            {
              /* the upstreams cannot keep up: shed the load here */
              COUNT (self, servfail);
            }
          else
            {
              Job *job = g_new0 (Job, 1);

              job->self = g_object_ref (self);
              job->query = g_byte_array_sized_new (n);
              g_byte_array_append (job->query, self->in, n);
              memcpy (&job->src, &src, src_len);
              job->src_len = src_len;
              job->max_udp = info.max_udp;
              job->servers = forward_servers (self, info.qname);
              g_atomic_int_inc (&self->n_pending);
              g_thread_pool_push (self->pool, job, NULL);
            }
        }
      nb_dns_query_info_clear (&info);
    }
  nb_dns_zone_unref (zone);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_tcp (GSocket *sock, GIOCondition cond, gpointer user_data)
{
  NbDnsResolver *self = user_data;
  GSocket *conn = g_socket_accept (sock, NULL, NULL);
  Job *job;

  if (conn == NULL)
    return G_SOURCE_CONTINUE;
  g_mutex_lock (&self->lock);
  if (self->tcp_conns->len >= MAX_TCP_CONNS)
    {
      g_mutex_unlock (&self->lock);
      g_socket_close (conn, NULL);
      g_object_unref (conn);
      return G_SOURCE_CONTINUE;
    }
  g_ptr_array_add (self->tcp_conns, conn);
  g_mutex_unlock (&self->lock);

  job = g_new0 (Job, 1);
  job->self = g_object_ref (self);
  job->conn = g_object_ref (conn);
  g_thread_pool_push (self->pool, job, NULL);
  return G_SOURCE_CONTINUE;
}

static gpointer
run (gpointer data)
{
  NbDnsResolver *self = data;

  g_main_context_push_thread_default (self->context);
  g_main_loop_run (self->loop);
  g_main_context_pop_thread_default (self->context);
  return NULL;
}

/* ------------------------------------------------------------------------
 * API.
 */
NbDnsResolver *
nb_dns_resolver_new (void)
{
  return g_object_new (NB_TYPE_DNS_RESOLVER, NULL);
}

static GSocket *
bind_socket (GSocketAddress *addr, GSocketType type, GSocketProtocol proto, GError **error)
{
  g_autoptr (GSocket) sock = g_socket_new (g_socket_address_get_family (addr), type, proto, error);

  if (sock == NULL)
    return NULL;
  g_socket_set_blocking (sock, FALSE);
  if (!g_socket_bind (sock, addr, type == G_SOCKET_TYPE_STREAM, error))
    return NULL;
  if (type == G_SOCKET_TYPE_STREAM)
    {
      g_socket_set_listen_backlog (sock, 64);
      if (!g_socket_listen (sock, error))
        return NULL;
    }
  return g_steal_pointer (&sock);
}

gboolean
nb_dns_resolver_listen (NbDnsResolver *self,
                        const char    *address,
                        guint16        port,
                        GError       **error)
{
  g_autoptr (GInetAddress) ia = NULL;
  g_autoptr (GSocketAddress) addr = NULL;
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GError) local = NULL;
  GSource *source;

  g_return_val_if_fail (NB_IS_DNS_RESOLVER (self), FALSE);
  g_return_val_if_fail (self->thread == NULL, FALSE);

  ia = g_inet_address_new_from_string (address ? address : "");
  if (ia == NULL)
    {
      g_set_error (error, NB_DNS_ERROR, NB_DNS_ERROR_INVALID,
                   "DNS listen address “%s” is not an IP address", address ? address : "");
      return FALSE;
    }
  /* UDP first, then TCP on the same port. With port 0 the kernel picks a
   * free UDP port, which TCP may hold already: then another pick. */
  for (guint attempt = 0; attempt < (port == 0 ? 32 : 1); attempt++)
    {
      g_clear_error (&local);
      g_clear_object (&self->udp);
      g_clear_object (&bound);
      g_clear_object (&addr);
      addr = g_inet_socket_address_new (ia, port);
      self->udp = bind_socket (addr, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &local);
      if (self->udp == NULL)
        break;
      /* room for a burst of queries while the thread is busy */
      (void) g_socket_set_option (self->udp, SOL_SOCKET, SO_RCVBUF, 1 << 20, NULL);
      bound = g_socket_get_local_address (self->udp, &local);
      if (bound == NULL)
        break;
      self->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
      g_clear_object (&addr);
      addr = g_inet_socket_address_new (ia, self->port);
      self->tcp = bind_socket (addr, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &local);
      if (self->tcp != NULL || !g_error_matches (local, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE))
        break;
    }
  if (self->udp == NULL || self->tcp == NULL)
    {
      g_clear_object (&self->udp);
      g_clear_object (&self->tcp);
      g_set_error (error, NB_DNS_ERROR, NB_DNS_ERROR_LISTEN, "cannot listen for DNS on %s port %u: %s",
                   address, port, local ? local->message : "unknown error");
      return FALSE;
    }

  self->context = g_main_context_new ();
  self->loop = g_main_loop_new (self->context, FALSE);
  source = g_socket_create_source (self->udp, G_IO_IN, NULL);
  g_source_set_callback (source, G_SOURCE_FUNC (on_udp), self, NULL);
  g_source_attach (source, self->context);
  g_source_unref (source);
  source = g_socket_create_source (self->tcp, G_IO_IN, NULL);
  g_source_set_callback (source, G_SOURCE_FUNC (on_tcp), self, NULL);
  g_source_attach (source, self->context);
  g_source_unref (source);
  self->pool = g_thread_pool_new (worker, NULL, MAX_WORKERS, FALSE, NULL);
  self->thread = g_thread_new ("nb-dns", run, self);
  g_debug ("DNS resolver listening on %s port %u", address, self->port);
  return TRUE;
}

guint16
nb_dns_resolver_get_port (NbDnsResolver *self)
{
  g_return_val_if_fail (NB_IS_DNS_RESOLVER (self), 0);
  return self->port;
}

void
nb_dns_resolver_set_zone (NbDnsResolver *self,
                          NbDnsZone     *zone)
{
  NbDnsZone *old;

  g_return_if_fail (NB_IS_DNS_RESOLVER (self));
  if (zone != NULL)
    nb_dns_zone_ref (zone);
  g_mutex_lock (&self->lock);
  old = self->zone;
  self->zone = zone;
  g_mutex_unlock (&self->lock);
  /* the old one goes when the last query holding it is done */
  nb_dns_zone_unref (old);
}

static void
swap_forward (NbDnsResolver *self, ForwardSet *set)
{
  ForwardSet *old;

  g_mutex_lock (&self->lock);
  old = self->forward;
  self->forward = set;
  g_mutex_unlock (&self->lock);
  forward_set_unref (old);
}

static ForwardSet *
copy_forward (NbDnsResolver *self)
{
  ForwardSet *set = forward_set_new ();

  g_mutex_lock (&self->lock);
  if (self->forward != NULL)
    {
      set->fallback = g_strdupv (self->forward->fallback);
      for (guint i = 0; i < self->forward->groups->len; i++)
        {
          const Group *o = self->forward->groups->pdata[i];
          Group *g = g_new0 (Group, 1);

          g->domains = g_ptr_array_ref (o->domains);
          g->servers = g_strdupv (o->servers);
          g->primary = o->primary;
          g_ptr_array_add (set->groups, g);
        }
    }
  g_mutex_unlock (&self->lock);
  return set;
}

void
nb_dns_resolver_set_forward_groups (NbDnsResolver           *self,
                                    const NbDnsForwardGroup *groups,
                                    guint                    n_groups)
{
  ForwardSet *set;

  g_return_if_fail (NB_IS_DNS_RESOLVER (self));
  set = copy_forward (self);
  g_ptr_array_set_size (set->groups, 0);
  for (guint i = 0; i < n_groups; i++)
    {
      Group *g = g_new0 (Group, 1);

      g->domains = g_ptr_array_new_with_free_func (rdf_free);
      for (guint j = 0; groups[i].domains != NULL && groups[i].domains[j] != NULL; j++)
        {
          ldns_rdf *rdf = NULL;

          if (ldns_str2rdf_dname (&rdf, groups[i].domains[j]) != LDNS_STATUS_OK)
            {
              g_warning ("DNS: ignoring match domain “%s”: not a domain name", groups[i].domains[j]);
              continue;
            }
          ldns_dname2canonical (rdf);
          g_ptr_array_add (g->domains, rdf);
        }
      g->servers = g_strdupv (groups[i].servers);
      g->primary = groups[i].primary;
      g_ptr_array_add (set->groups, g);
    }
  swap_forward (self, set);
}

NbDnsForwardGroup *
nb_dns_forward_groups_from_config (const NbMgmtMsgDnsConfig *config,
                                   guint                    *n_groups)
{
  NbDnsForwardGroup *groups;
  guint n = 0;

  *n_groups = 0;
  if (config == NULL || config->nameserver_groups == NULL || config->nameserver_groups->len == 0)
    return NULL;
  groups = g_new0 (NbDnsForwardGroup, config->nameserver_groups->len);
  for (guint i = 0; i < config->nameserver_groups->len; i++)
    {
      const NbMgmtMsgNameServerGroup *g = config->nameserver_groups->pdata[i];
      GStrvBuilder *servers = g_strv_builder_new ();
      GStrvBuilder *domains = g_strv_builder_new ();

      for (guint j = 0; g->nameservers != NULL && j < g->nameservers->len; j++)
        {
          const NbMgmtMsgNameServer *ns = g->nameservers->pdata[j];
          gint64 port = ns->port > 0 && ns->port <= G_MAXUINT16 ? ns->port : 53;
          g_autofree char *s = NULL;

          if (ns->ns_type != NULL && *ns->ns_type != '\0' && g_ascii_strcasecmp (ns->ns_type, "udp") != 0)
            continue;
          s = strchr (ns->ip, ':') ? g_strdup_printf ("[%s]:%" G_GINT64_FORMAT, ns->ip, port)
                                   : g_strdup_printf ("%s:%" G_GINT64_FORMAT, ns->ip, port);
          g_strv_builder_add (servers, s);
        }
      for (guint j = 0; g->domains != NULL && j < g->domains->len; j++)
        g_strv_builder_add (domains, g->domains->pdata[j]);
      groups[n].servers = g_strv_builder_end (servers);
      groups[n].domains = g_strv_builder_end (domains);
      groups[n].primary = g->primary;
      g_strv_builder_unref (servers);
      g_strv_builder_unref (domains);
      n++;
    }
  *n_groups = n;
  return groups;
}

void
nb_dns_forward_groups_free (NbDnsForwardGroup *groups,
                            guint              n_groups)
{
  for (guint i = 0; groups != NULL && i < n_groups; i++)
    {
      g_strfreev (groups[i].domains);
      g_strfreev (groups[i].servers);
    }
  g_free (groups);
}

void
nb_dns_resolver_set_fallback_upstreams (NbDnsResolver *self,
                                        GPtrArray     *upstreams)
{
  ForwardSet *set;
  GStrvBuilder *b = g_strv_builder_new ();

  g_return_if_fail (NB_IS_DNS_RESOLVER (self));
  for (guint i = 0; upstreams != NULL && i < upstreams->len; i++)
    g_strv_builder_add (b, upstreams->pdata[i]);
  set = copy_forward (self);
  g_strfreev (set->fallback);
  set->fallback = g_strv_builder_end (b);
  g_strv_builder_unref (b);
  swap_forward (self, set);
}

void
nb_dns_resolver_set_rate_limit (NbDnsResolver *self,
                                double         per_second,
                                double         burst)
{
  g_return_if_fail (NB_IS_DNS_RESOLVER (self));
  g_mutex_lock (&self->rate_lock);
  self->rate_per_second = MAX (0, per_second);
  self->rate_burst = MAX (1, burst);
  g_hash_table_remove_all (self->rate);
  g_mutex_unlock (&self->rate_lock);
}

void
nb_dns_resolver_set_upstream_timeout (NbDnsResolver *self,
                                      guint          timeout_ms)
{
  g_return_if_fail (NB_IS_DNS_RESOLVER (self));
  g_mutex_lock (&self->lock);
  self->timeout_ms = MAX (10u, timeout_ms);
  g_mutex_unlock (&self->lock);
}

void
nb_dns_resolver_get_stats (NbDnsResolver      *self,
                           NbDnsResolverStats *out)
{
  g_return_if_fail (NB_IS_DNS_RESOLVER (self));
#define LOAD(f) out->f = __atomic_load_n (&self->stats.f, __ATOMIC_RELAXED)
  LOAD (queries);
  LOAD (answered_locally);
  LOAD (forwarded);
  LOAD (nxdomain);
  LOAD (formerr);
  LOAD (rate_limited);
  LOAD (upstream_failures);
  LOAD (servfail);
  LOAD (tcp_retries);
#undef LOAD
}

static gboolean
quit_loop (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

void
nb_dns_resolver_close (NbDnsResolver *self)
{
  g_return_if_fail (NB_IS_DNS_RESOLVER (self));
  if (self->thread == NULL)
    return;
  /* a quit from the loop's own thread: a g_main_loop_quit() from here
   * before the thread reaches g_main_loop_run() would be lost */
  {
    GSource *quit = g_idle_source_new ();
    g_source_set_callback (quit, quit_loop, self->loop, NULL);
    g_source_attach (quit, self->context);
    g_source_unref (quit);
  }
  g_thread_join (self->thread);
  self->thread = NULL;
  g_atomic_int_set (&self->closing, 1);
  /* wake the workers blocked on TCP clients, then wait for them */
  g_mutex_lock (&self->lock);
  for (guint i = 0; i < self->tcp_conns->len; i++)
    g_socket_shutdown (self->tcp_conns->pdata[i], TRUE, TRUE, NULL);
  g_mutex_unlock (&self->lock);
  g_thread_pool_free (self->pool, FALSE, TRUE);
  self->pool = NULL;
  g_atomic_int_set (&self->closing, 0);
  g_socket_close (self->udp, NULL);
  g_socket_close (self->tcp, NULL);
  g_clear_object (&self->udp);
  g_clear_object (&self->tcp);
  g_clear_pointer (&self->loop, g_main_loop_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
}

static void
nb_dns_resolver_dispose (GObject *object)
{
  nb_dns_resolver_close (NB_DNS_RESOLVER (object));
  G_OBJECT_CLASS (nb_dns_resolver_parent_class)->dispose (object);
}

static void
nb_dns_resolver_finalize (GObject *object)
{
  NbDnsResolver *self = NB_DNS_RESOLVER (object);

  nb_dns_zone_unref (self->zone);
  forward_set_unref (self->forward);
  g_hash_table_unref (self->rate);
  g_ptr_array_unref (self->tcp_conns);
  ldns_buffer_free (self->out);
  g_free (self->in);
  g_mutex_clear (&self->lock);
  g_mutex_clear (&self->rate_lock);
  G_OBJECT_CLASS (nb_dns_resolver_parent_class)->finalize (object);
}

static void
nb_dns_resolver_class_init (NbDnsResolverClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = nb_dns_resolver_dispose;
  object_class->finalize = nb_dns_resolver_finalize;
}

static void
nb_dns_resolver_init (NbDnsResolver *self)
{
  g_mutex_init (&self->lock);
  g_mutex_init (&self->rate_lock);
  self->rate = g_hash_table_new_full (source_key_hash, source_key_equal, NULL, g_free);
  self->rate_per_second = 1000;
  self->rate_burst = 2000;
  self->timeout_ms = 2000;
  self->tcp_conns = g_ptr_array_new_with_free_func (g_object_unref);
  self->out = ldns_buffer_new (LDNS_MAX_PACKETLEN);
  self->in = g_malloc (65536);
}
