/* nb-filter-private.h: the stateful packet filter of the WireGuard data path
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * Rules as Management computes them (a peer's address, a direction, an
 * action, a protocol, a port or a range of ports) compile into an
 * immutable NbFilterRuleSet: an open-addressed table of source addresses,
 * each with sorted, merged port ranges per direction, action and protocol.
 * A packet costs one hash probe for its address, one for the wildcard
 * (0.0.0.0 or ::, "any peer") and a binary search over that source's own
 * ranges, whatever the number of rules.
 *
 * An NbFilter holds the rule set in force, the mode and the connection
 * table, and decides for each packet:
 *  - inbound (from a peer, after decryption and the allowed-IPs check):
 *    passes when the rules accept it, or when it is the reply of a
 *    connection this host opened (conntrack), or an ICMP error about one;
 *    dropped otherwise, counted by reason;
 *  - outbound (to a peer, before encryption): recorded in the connection
 *    table; dropped only by an outbound drop rule.
 * Without a rule set the filter lets everything through and tracks
 * nothing, as the device did before it had one.
 *
 * Swapping rule sets: nb_filter_swap_rules() publishes a new set with one
 * atomic pointer store, so a packet sees the old set or the new one, never
 * a mix. The old set is returned to the caller, who frees it once no
 * reader can still hold it: the WireGuard device swaps under its
 * configuration write lock (which every packet path holds a share of for a
 * batch) and frees after releasing it.
 *
 * Fragments: a fragment after the first carries no ports. It passes only
 * when its source is accepted for every protocol on every port (a rule
 * "all" without ports); else it is dropped and counted (drop_fragment).
 * A first fragment whose transport header does not fit is malformed.
 */
#pragma once

#include <glib.h>

#include "nb-filter-conntrack-private.h"
#include "nb-filter-packet-private.h"

G_BEGIN_DECLS

#define NB_FILTER_ERROR (nb_filter_error_quark ())
GQuark nb_filter_error_quark (void);

typedef enum {
  NB_FILTER_ERROR_INVALID_RULE,
} NbFilterError;

/* Values match NbMgmtMsgRuleDirection, -Action and -Protocol. */
typedef enum {
  NB_FILTER_DIRECTION_IN,
  NB_FILTER_DIRECTION_OUT,
} NbFilterDirection;

typedef enum {
  NB_FILTER_ACTION_ACCEPT,
  NB_FILTER_ACTION_DROP,
} NbFilterAction;

typedef enum {
  NB_FILTER_PROTOCOL_ALL,
  NB_FILTER_PROTOCOL_TCP,
  NB_FILTER_PROTOCOL_UDP,
  NB_FILTER_PROTOCOL_ICMP,
} NbFilterProtocol;

typedef enum {
  NB_FILTER_MODE_ENFORCING,     /* the rules and conntrack decide */
  NB_FILTER_MODE_BLOCK_INBOUND, /* no new inbound connection at all; replies pass */
  NB_FILTER_MODE_DISABLED,      /* everything passes, nothing is tracked */
} NbFilterMode;

/* One rule. An all-zero address is every peer of that family. Ports only
 * for TCP, UDP or ALL (then TCP and UDP); 0-0 is every port. */
typedef struct {
  guint8 family;           /* 4 or 6 */
  guint8 address[16];
  NbFilterDirection direction;
  NbFilterAction action;
  NbFilterProtocol protocol;
  guint16 port_start;
  guint16 port_end;
} NbFilterRule;

typedef enum {
  NB_FILTER_COUNTER_ACCEPT_RULE,       /* inbound flows let in by a rule */
  NB_FILTER_COUNTER_ACCEPT_CONNTRACK,  /* inbound flows let in as replies */
  NB_FILTER_COUNTER_ACCEPT_RELATED,    /* ICMP errors about our connections */
  NB_FILTER_COUNTER_DROP_NO_RULE,      /* inbound, no rule and no connection */
  NB_FILTER_COUNTER_DROP_RULE,         /* inbound, a drop rule */
  NB_FILTER_COUNTER_DROP_BLOCK_INBOUND,/* inbound, mode block-inbound */
  NB_FILTER_COUNTER_DROP_PROTOCOL,     /* inbound, a protocol no rule covers */
  NB_FILTER_COUNTER_DROP_FRAGMENT,     /* inbound, a later fragment (see above) */
  NB_FILTER_COUNTER_DROP_MALFORMED,    /* inbound, truncated or bad headers */
  NB_FILTER_COUNTER_DROP_OUTBOUND,     /* outbound, a drop rule */
  NB_FILTER_N_COUNTERS
} NbFilterCounter;

/* Names of the counters as stats=1 prints them ("filter_drop_no_rule"...). */
const char *nb_filter_counter_name (NbFilterCounter counter);
const char *nb_filter_mode_to_string (NbFilterMode mode);
gboolean    nb_filter_mode_from_string (const char   *text,
                                        NbFilterMode *out);

/* Parses "in accept tcp 100.64.0.2 22", "in accept udp 100.64.0.0 1000-2000",
 * "out drop all ::", "in accept icmp 100.64.0.9". */
gboolean    nb_filter_rule_parse (const char   *text,
                                  NbFilterRule *out,
                                  GError      **error);

typedef struct _NbFilterRuleSet NbFilterRuleSet;

/* Compiles @n rules into a set (rejecting a rule that is not one: ports on
 * ICMP, a range that ends before it starts, a family that is not 4 or 6). */
NbFilterRuleSet *nb_filter_rule_set_compile (const NbFilterRule *rules,
                                             gsize               n,
                                             GError            **error);
void             nb_filter_rule_set_free    (NbFilterRuleSet *set);
gsize            nb_filter_rule_set_get_n_rules (const NbFilterRuleSet *set);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NbFilterRuleSet, nb_filter_rule_set_free)

/* A packet thread's memory of the last flow it let through, so the
 * packets that follow in a batch cost a compare (valid for a second, and
 * only for the rule set and mode it was decided under). Zero it to start. */
typedef struct {
  NbFilterFlowKey key;
  guint64 rules_serial;
  gint64 until;
  guint8 mode;
  gboolean valid;
} NbFilterFlowCache;

typedef struct _NbFilter NbFilter;

/* @conntrack_capacity: entries of the connection table (0: the default),
 * allocated here once. */
NbFilter        *nb_filter_new        (guint conntrack_capacity);
void             nb_filter_free       (NbFilter *filter);
void             nb_filter_set_mode   (NbFilter     *filter,
                                       NbFilterMode  mode);
NbFilterMode     nb_filter_get_mode   (NbFilter *filter);
/* Publishes @rules (owned by the filter from now; NULL: none, everything
 * passes) and returns the set it replaces, for the caller to free once no
 * packet thread can hold it (see above). */
NbFilterRuleSet *nb_filter_swap_rules (NbFilter        *filter,
                                       NbFilterRuleSet *rules);
/* Rules in force (0 without a set), for status. */
gsize            nb_filter_get_n_rules (NbFilter *filter);
/* Whether the packets need looking at: a rule set in force (enforcing),
 * or block-inbound. */
gboolean         nb_filter_is_active  (NbFilter *filter);

/* Decides on an IP packet; TRUE: it passes. @cache may be NULL. Safe from
 * any number of threads at once. */
gboolean nb_filter_inbound  (NbFilter          *filter,
                             NbFilterFlowCache *cache,
                             const guint8      *packet,
                             gsize              len,
                             gint64             now);
gboolean nb_filter_outbound (NbFilter          *filter,
                             NbFilterFlowCache *cache,
                             const guint8      *packet,
                             gsize              len,
                             gint64             now);

guint64  nb_filter_get_counter (NbFilter        *filter,
                                NbFilterCounter  counter);
NbFilterConntrack *nb_filter_get_conntrack (NbFilter *filter);

/* -- between nb-filter-rules.c and nb-filter.c ----------------------------- */

/* What a rule can say of a packet: its protocol class and port. */
typedef enum {
  NB_FILTER_CLASS_TCP,
  NB_FILTER_CLASS_UDP,
  NB_FILTER_CLASS_ICMP,
  NB_FILTER_CLASS_OTHER, /* any other protocol, and later fragments */
} NbFilterClass;

typedef enum {
  NB_FILTER_MATCH_NONE,
  NB_FILTER_MATCH_ACCEPT,
  NB_FILTER_MATCH_DROP,
} NbFilterMatch;

/* The rules of @set for the peer @address (of @family) in @direction: a
 * drop rule wins over an accept rule, the peer's own rules and those of
 * every peer alike. */
NbFilterMatch nb_filter_rule_set_match (const NbFilterRuleSet *set,
                                        NbFilterDirection      direction,
                                        guint8                 family,
                                        const guint8          *address,
                                        NbFilterClass          klass,
                                        guint16                port);
/* Tells sets apart across their lifetimes (a new one may reuse an old
 * one's memory). */
guint64       nb_filter_rule_set_get_serial (const NbFilterRuleSet *set);

G_END_DECLS
