/* nb-filter.c: the stateful packet filter: modes, verdicts and counters
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * See nb-filter-private.h for what it decides and how rule sets are
 * swapped. The order for an inbound packet: the rules (an accept passes),
 * then the connection table (a reply passes), then the table again for
 * the flow an ICMP error quotes; what is left is dropped and counted by
 * the first reason that applies: block-inbound, a drop rule, a protocol no
 * rule names, or no rule at all. Nothing here allocates or takes a lock
 * but the connection table's bucket lock, and a flow's following packets
 * skip even that through the caller's NbFilterFlowCache.
 */
#include <string.h>

#include "nb-filter-private.h"

/* How long a cached decision stands: far below every conntrack timeout, so
 * the entry it stands for is refreshed in time. */
#define FLOW_CACHE_USEC G_USEC_PER_SEC

struct _NbFilter
{
  NbFilterRuleSet *rules;      /* atomic pointer; NULL: none */
  gint mode;                   /* atomic, an NbFilterMode */
  NbFilterConntrack *conntrack;
  guint64 counters[NB_FILTER_N_COUNTERS]; /* atomic */
};

static const char *const counter_names[NB_FILTER_N_COUNTERS] = {
  [NB_FILTER_COUNTER_ACCEPT_RULE] = "filter_accept_rule",
  [NB_FILTER_COUNTER_ACCEPT_CONNTRACK] = "filter_accept_conntrack",
  [NB_FILTER_COUNTER_ACCEPT_RELATED] = "filter_accept_related",
  [NB_FILTER_COUNTER_DROP_NO_RULE] = "filter_drop_no_rule",
  [NB_FILTER_COUNTER_DROP_RULE] = "filter_drop_rule",
  [NB_FILTER_COUNTER_DROP_BLOCK_INBOUND] = "filter_drop_block_inbound",
  [NB_FILTER_COUNTER_DROP_PROTOCOL] = "filter_drop_protocol",
  [NB_FILTER_COUNTER_DROP_FRAGMENT] = "filter_drop_fragment",
  [NB_FILTER_COUNTER_DROP_MALFORMED] = "filter_drop_malformed",
  [NB_FILTER_COUNTER_DROP_OUTBOUND] = "filter_drop_outbound",
};

const char *
nb_filter_counter_name (NbFilterCounter counter)
{
  g_return_val_if_fail ((guint) counter < NB_FILTER_N_COUNTERS, NULL);
  return counter_names[counter];
}

static const char *const mode_names[] = {
  [NB_FILTER_MODE_ENFORCING] = "enforcing",
  [NB_FILTER_MODE_BLOCK_INBOUND] = "block-inbound",
  [NB_FILTER_MODE_DISABLED] = "disabled",
};

const char *
nb_filter_mode_to_string (NbFilterMode mode)
{
  g_return_val_if_fail ((guint) mode < G_N_ELEMENTS (mode_names), NULL);
  return mode_names[mode];
}

gboolean
nb_filter_mode_from_string (const char   *text,
                            NbFilterMode *out)
{
  for (guint i = 0; i < G_N_ELEMENTS (mode_names); i++)
    if (g_strcmp0 (text, mode_names[i]) == 0)
      {
        *out = (NbFilterMode) i;
        return TRUE;
      }
  return FALSE;
}

NbFilter *
nb_filter_new (guint conntrack_capacity)
{
  NbFilter *self = g_new0 (NbFilter, 1);

  self->mode = NB_FILTER_MODE_ENFORCING;
  self->conntrack = nb_filter_conntrack_new (conntrack_capacity);
  return self;
}

void
nb_filter_free (NbFilter *self)
{
  if (self == NULL)
    return;
  nb_filter_rule_set_free (self->rules);
  nb_filter_conntrack_free (self->conntrack);
  g_free (self);
}

void
nb_filter_set_mode (NbFilter     *self,
                    NbFilterMode  mode)
{
  g_return_if_fail ((guint) mode < G_N_ELEMENTS (mode_names));
  __atomic_store_n (&self->mode, (gint) mode, __ATOMIC_RELEASE);
}

NbFilterMode
nb_filter_get_mode (NbFilter *self)
{
  return (NbFilterMode) __atomic_load_n (&self->mode, __ATOMIC_ACQUIRE);
}

NbFilterRuleSet *
nb_filter_swap_rules (NbFilter        *self,
                      NbFilterRuleSet *rules)
{
  /* Release: a reader that sees the pointer sees the whole set behind it. */
  return __atomic_exchange_n (&self->rules, rules, __ATOMIC_ACQ_REL);
}

gsize
nb_filter_get_n_rules (NbFilter *self)
{
  NbFilterRuleSet *rules = __atomic_load_n (&self->rules, __ATOMIC_ACQUIRE);

  return rules != NULL ? nb_filter_rule_set_get_n_rules (rules) : 0;
}

gboolean
nb_filter_is_active (NbFilter *self)
{
  NbFilterMode mode = nb_filter_get_mode (self);

  return mode == NB_FILTER_MODE_BLOCK_INBOUND ||
         (mode == NB_FILTER_MODE_ENFORCING &&
          __atomic_load_n (&self->rules, __ATOMIC_ACQUIRE) != NULL);
}

guint64
nb_filter_get_counter (NbFilter        *self,
                       NbFilterCounter  counter)
{
  g_return_val_if_fail ((guint) counter < NB_FILTER_N_COUNTERS, 0);
  return __atomic_load_n (&self->counters[counter], __ATOMIC_RELAXED);
}

NbFilterConntrack *
nb_filter_get_conntrack (NbFilter *self)
{
  return self->conntrack;
}

static inline gboolean
count (NbFilter *self, NbFilterCounter counter)
{
  __atomic_fetch_add (&self->counters[counter], 1, __ATOMIC_RELAXED);
  return counter < NB_FILTER_COUNTER_DROP_NO_RULE;
}

/* -- packets ------------------------------------------------------------- */

static NbFilterClass
class_of (const NbFilterPacket *packet)
{
  switch (packet->protocol)
    {
    case NB_FILTER_PROTO_TCP: return NB_FILTER_CLASS_TCP;
    case NB_FILTER_PROTO_UDP: return NB_FILTER_CLASS_UDP;
    case NB_FILTER_PROTO_ICMP:
      return packet->family == 4 ? NB_FILTER_CLASS_ICMP : NB_FILTER_CLASS_OTHER;
    case NB_FILTER_PROTO_ICMPV6:
      return packet->family == 6 ? NB_FILTER_CLASS_ICMP : NB_FILTER_CLASS_OTHER;
    default: return NB_FILTER_CLASS_OTHER;
    }
}

static void
make_flow (NbFilterFlowKey *key, guint8 family, guint8 protocol, const guint8 *local,
           const guint8 *remote, guint16 local_port, guint16 remote_port)
{
  gsize len = family == 4 ? 4 : 16;

  memset (key, 0, sizeof *key);
  key->family = family;
  key->protocol = protocol;
  memcpy (key->local, local, len);
  memcpy (key->remote, remote, len);
  key->local_port = local_port;
  key->remote_port = remote_port;
}

static inline gboolean
cache_hit (const NbFilterFlowCache *cache, const NbFilterFlowKey *key, guint64 serial,
           NbFilterMode mode, gint64 now)
{
  return cache != NULL && cache->valid && now < cache->until && cache->rules_serial == serial &&
         cache->mode == (guint8) mode && memcmp (&cache->key, key, sizeof *key) == 0;
}

static inline void
cache_fill (NbFilterFlowCache *cache, const NbFilterFlowKey *key, guint64 serial,
            NbFilterMode mode, gint64 now)
{
  if (cache == NULL)
    return;
  cache->key = *key;
  cache->rules_serial = serial;
  cache->mode = (guint8) mode;
  cache->until = now + FLOW_CACHE_USEC;
  cache->valid = TRUE;
}

/* A packet that changes a TCP flow's state goes to the table every time. */
static inline gboolean
cacheable (const NbFilterPacket *packet)
{
  return packet->protocol != NB_FILTER_PROTO_TCP ||
         (packet->tcp_flags & (NB_FILTER_TCP_SYN | NB_FILTER_TCP_FIN | NB_FILTER_TCP_RST)) == 0;
}

gboolean
nb_filter_inbound (NbFilter          *self,
                   NbFilterFlowCache *cache,
                   const guint8      *data,
                   gsize              len,
                   gint64             now)
{
  NbFilterMode mode = nb_filter_get_mode (self);
  const NbFilterRuleSet *rules;
  NbFilterPacket packet;
  NbFilterParseResult parsed;
  NbFilterMatch match = NB_FILTER_MATCH_NONE;
  NbFilterClass klass;
  NbFilterFlowKey key;
  guint64 serial;
  gboolean tracked;

  if (mode == NB_FILTER_MODE_DISABLED)
    return TRUE;
  rules = __atomic_load_n (&self->rules, __ATOMIC_ACQUIRE);
  if (mode == NB_FILTER_MODE_ENFORCING && rules == NULL)
    return TRUE;
  if (mode != NB_FILTER_MODE_ENFORCING)
    rules = NULL; /* block-inbound: the rules say nothing */
  serial = rules != NULL ? nb_filter_rule_set_get_serial (rules) : 0;

  parsed = nb_filter_packet_parse (data, len, &packet);
  if (parsed == NB_FILTER_PARSE_MALFORMED)
    return count (self, NB_FILTER_COUNTER_DROP_MALFORMED);
  if (parsed == NB_FILTER_PARSE_FRAGMENT)
    {
      if (rules != NULL &&
          nb_filter_rule_set_match (rules, NB_FILTER_DIRECTION_IN, packet.family, packet.source,
                                    NB_FILTER_CLASS_OTHER, 0) == NB_FILTER_MATCH_ACCEPT)
        return TRUE;
      return count (self, NB_FILTER_COUNTER_DROP_FRAGMENT);
    }

  make_flow (&key, packet.family, packet.protocol, packet.destination, packet.source,
             packet.destination_port, packet.source_port);
  if (cacheable (&packet) && cache_hit (cache, &key, serial, mode, now))
    return TRUE;

  klass = class_of (&packet);
  if (rules != NULL)
    {
      match = nb_filter_rule_set_match (rules, NB_FILTER_DIRECTION_IN, packet.family,
                                        packet.source, klass, packet.destination_port);
      if (match == NB_FILTER_MATCH_ACCEPT)
        {
          cache_fill (cache, &key, serial, mode, now);
          return count (self, NB_FILTER_COUNTER_ACCEPT_RULE);
        }
    }

  /* Replies: TCP and UDP, and the echo replies of our pings (an echo
   * request in has the same key as ours out and is no reply). */
  tracked = klass == NB_FILTER_CLASS_TCP || klass == NB_FILTER_CLASS_UDP ||
            (klass == NB_FILTER_CLASS_ICMP && packet.icmp_kind == NB_FILTER_ICMP_ECHO_REPLY);
  if (tracked && nb_filter_conntrack_inbound (self->conntrack, &key, packet.tcp_flags, now))
    {
      cache_fill (cache, &key, serial, mode, now);
      return count (self, NB_FILTER_COUNTER_ACCEPT_CONNTRACK);
    }

  /* An ICMP error about a packet we sent quotes it: source ours. */
  if (klass == NB_FILTER_CLASS_ICMP && packet.icmp_kind == NB_FILTER_ICMP_ERROR &&
      packet.quoted.present &&
      (packet.quoted.icmp_kind == NB_FILTER_ICMP_OTHER ||
       packet.quoted.icmp_kind == NB_FILTER_ICMP_ECHO_REQUEST))
    {
      NbFilterFlowKey quoted;

      make_flow (&quoted, packet.family, packet.quoted.protocol, packet.quoted.source,
                 packet.quoted.destination, packet.quoted.source_port,
                 packet.quoted.destination_port);
      if (nb_filter_conntrack_contains (self->conntrack, &quoted, now))
        return count (self, NB_FILTER_COUNTER_ACCEPT_RELATED);
    }

  if (mode == NB_FILTER_MODE_BLOCK_INBOUND)
    return count (self, NB_FILTER_COUNTER_DROP_BLOCK_INBOUND);
  if (match == NB_FILTER_MATCH_DROP)
    return count (self, NB_FILTER_COUNTER_DROP_RULE);
  if (klass == NB_FILTER_CLASS_OTHER)
    return count (self, NB_FILTER_COUNTER_DROP_PROTOCOL);
  return count (self, NB_FILTER_COUNTER_DROP_NO_RULE);
}

gboolean
nb_filter_outbound (NbFilter          *self,
                    NbFilterFlowCache *cache,
                    const guint8      *data,
                    gsize              len,
                    gint64             now)
{
  NbFilterMode mode = nb_filter_get_mode (self);
  const NbFilterRuleSet *rules;
  NbFilterPacket packet;
  NbFilterParseResult parsed;
  NbFilterClass klass;
  NbFilterFlowKey key;
  guint64 serial;

  if (mode == NB_FILTER_MODE_DISABLED)
    return TRUE;
  rules = __atomic_load_n (&self->rules, __ATOMIC_ACQUIRE);
  if (mode == NB_FILTER_MODE_ENFORCING && rules == NULL)
    return TRUE;
  if (mode != NB_FILTER_MODE_ENFORCING)
    rules = NULL;
  serial = rules != NULL ? nb_filter_rule_set_get_serial (rules) : 0;

  /* What this host sends is not checked for sense here: the peer's own
   * filter judges it. Only flows with a header are tracked. */
  parsed = nb_filter_packet_parse (data, len, &packet);
  if (parsed == NB_FILTER_PARSE_MALFORMED)
    return TRUE;
  klass = parsed == NB_FILTER_PARSE_FRAGMENT ? NB_FILTER_CLASS_OTHER : class_of (&packet);
  make_flow (&key, packet.family, packet.protocol, packet.source, packet.destination,
             parsed == NB_FILTER_PARSE_OK ? packet.source_port : 0,
             parsed == NB_FILTER_PARSE_OK ? packet.destination_port : 0);
  if (parsed == NB_FILTER_PARSE_OK && cacheable (&packet) &&
      cache_hit (cache, &key, serial, mode, now))
    return TRUE;

  if (rules != NULL &&
      nb_filter_rule_set_match (rules, NB_FILTER_DIRECTION_OUT, packet.family, packet.destination,
                                klass, parsed == NB_FILTER_PARSE_OK ? packet.destination_port : 0) ==
          NB_FILTER_MATCH_DROP)
    return count (self, NB_FILTER_COUNTER_DROP_OUTBOUND);
  if (parsed != NB_FILTER_PARSE_OK)
    return TRUE;

  if (klass == NB_FILTER_CLASS_TCP || klass == NB_FILTER_CLASS_UDP ||
      (klass == NB_FILTER_CLASS_ICMP && packet.icmp_kind == NB_FILTER_ICMP_ECHO_REQUEST))
    {
      nb_filter_conntrack_outbound (self->conntrack, &key, packet.tcp_flags, TRUE, now);
      if (cacheable (&packet))
        cache_fill (cache, &key, serial, mode, now);
    }
  return TRUE;
}
