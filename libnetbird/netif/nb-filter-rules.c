/* nb-filter-rules.c: firewall rules, their text, and the compiled set
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * Compiling: each rule becomes one item per protocol class it covers
 * ("all" without ports covers TCP, UDP, ICMP and every other protocol;
 * with ports, TCP and UDP), the items are sorted by peer address,
 * direction, action, class and first port, and one pass turns each run
 * into a source entry with merged port ranges (TCP, UDP) or a flag (ICMP,
 * other). The sources go into an open-addressed table at most half full.
 * Nothing of it changes once compiled, so packet threads read it without
 * a lock.
 */
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "nb-filter-private.h"

#define KEY_LEN 17 /* family, then the address */

typedef struct {
  guint32 first;
  guint32 count;
} Span;

typedef struct {
  guint16 start;
  guint16 end;
} Range;

typedef struct {
  guint8 key[KEY_LEN];
  gboolean used;
  Span ranges[2][2][2];   /* direction, action, TCP or UDP */
  guint8 flags[2][2];     /* direction, action: bit 0 ICMP, bit 1 other */
} Source;

struct _NbFilterRuleSet
{
  gsize n_rules;
  guint64 serial;
  guint mask;             /* slots - 1 */
  Source *slots;
  Range *ranges;
};

typedef struct {
  guint8 key[KEY_LEN];
  guint8 direction;
  guint8 action;
  guint8 klass;
  guint16 start;
  guint16 end;
} Item;

static guint64 next_serial = 1; /* atomic */

G_DEFINE_QUARK (nb-filter-error-quark, nb_filter_error)

/* -- text ------------------------------------------------------------------ */

static gboolean
parse_port (const char *text, guint16 *out)
{
  char *end;
  guint64 value;

  if (!g_ascii_isdigit (*text))
    return FALSE;
  value = g_ascii_strtoull (text, &end, 10);
  if (*end != '\0' || value > 65535 || end - text > 5)
    return FALSE;
  *out = (guint16) value;
  return TRUE;
}

gboolean
nb_filter_rule_parse (const char   *text,
                      NbFilterRule *out,
                      GError      **error)
{
  g_auto(GStrv) words = NULL;
  guint n = 0;

  memset (out, 0, sizeof *out);
  words = g_strsplit_set (text, " \t", -1);
  /* Squeeze the empty words runs of blanks leave. */
  for (guint i = 0; words[i] != NULL; i++)
    if (*words[i] != '\0')
      {
        char *w = words[i];
        words[i] = NULL;
        words[n++] = w;
      }
    else
      g_clear_pointer (&words[i], g_free);
  words[n] = NULL;

  if (n < 4 || n > 5)
    goto invalid;
  if (g_str_equal (words[0], "in"))
    out->direction = NB_FILTER_DIRECTION_IN;
  else if (g_str_equal (words[0], "out"))
    out->direction = NB_FILTER_DIRECTION_OUT;
  else
    goto invalid;
  if (g_str_equal (words[1], "accept"))
    out->action = NB_FILTER_ACTION_ACCEPT;
  else if (g_str_equal (words[1], "drop"))
    out->action = NB_FILTER_ACTION_DROP;
  else
    goto invalid;
  if (g_str_equal (words[2], "all"))
    out->protocol = NB_FILTER_PROTOCOL_ALL;
  else if (g_str_equal (words[2], "tcp"))
    out->protocol = NB_FILTER_PROTOCOL_TCP;
  else if (g_str_equal (words[2], "udp"))
    out->protocol = NB_FILTER_PROTOCOL_UDP;
  else if (g_str_equal (words[2], "icmp"))
    out->protocol = NB_FILTER_PROTOCOL_ICMP;
  else
    goto invalid;
  if (inet_pton (AF_INET, words[3], out->address) == 1)
    out->family = 4;
  else if (inet_pton (AF_INET6, words[3], out->address) == 1)
    out->family = 6;
  else
    goto invalid;
  if (n == 5)
    {
      char *dash = strchr (words[4], '-');

      if (dash != NULL)
        *dash = '\0';
      if (!parse_port (words[4], &out->port_start) ||
          !parse_port (dash != NULL ? dash + 1 : words[4], &out->port_end))
        goto invalid;
    }
  return TRUE;

invalid:
  {
    g_autofree char *quoted = g_strescape (text, NULL);

    g_set_error (error, NB_FILTER_ERROR, NB_FILTER_ERROR_INVALID_RULE,
                 "“%.80s” is not a rule: write DIRECTION ACTION PROTOCOL ADDRESS [PORT|FIRST-LAST], "
                 "as “in accept tcp 100.64.0.2 22”",
                 quoted);
    return FALSE;
  }
}

/* -- compiling ------------------------------------------------------------- */

static gboolean
check_rule (const NbFilterRule *rule, gsize i, GError **error)
{
  const char *problem = NULL;
  gboolean has_ports = rule->port_start != 0 || rule->port_end != 0;

  if (rule->family != 4 && rule->family != 6)
    problem = "its address family is neither IPv4 nor IPv6";
  else if ((guint) rule->direction > NB_FILTER_DIRECTION_OUT)
    problem = "its direction is neither in nor out";
  else if ((guint) rule->action > NB_FILTER_ACTION_DROP)
    problem = "its action is neither accept nor drop";
  else if ((guint) rule->protocol > NB_FILTER_PROTOCOL_ICMP)
    problem = "its protocol is not all, tcp, udp or icmp";
  else if (has_ports && rule->protocol == NB_FILTER_PROTOCOL_ICMP)
    problem = "ICMP has no ports";
  else if (has_ports && (rule->port_start == 0 || rule->port_end < rule->port_start))
    problem = "its port range is empty or starts at 0";
  if (problem == NULL)
    return TRUE;
  g_set_error (error, NB_FILTER_ERROR, NB_FILTER_ERROR_INVALID_RULE,
               "Firewall rule %" G_GSIZE_FORMAT " is invalid: %s", i + 1, problem);
  return FALSE;
}

static int
compare_items (const void *a, const void *b)
{
  const Item *x = a, *y = b;
  int c = memcmp (x->key, y->key, KEY_LEN);

  if (c != 0)
    return c;
  if (x->direction != y->direction)
    return x->direction - y->direction;
  if (x->action != y->action)
    return x->action - y->action;
  if (x->klass != y->klass)
    return x->klass - y->klass;
  return (int) x->start - (int) y->start;
}

/* Same peer, direction, action and class. */
static inline gboolean
same_group (const Item *x, const Item *y)
{
  return memcmp (x->key, y->key, KEY_LEN) == 0 && x->direction == y->direction &&
         x->action == y->action && x->klass == y->klass;
}

static inline void
make_key (guint8 *key, guint8 family, const guint8 *address)
{
  memset (key, 0, KEY_LEN);
  key[0] = family;
  memcpy (key + 1, address, family == 4 ? 4 : 16);
}

static inline guint
hash_key (const guint8 *key)
{
  guint64 a, b, h;

  /* Addresses come from Management, not from packets: a plain mix will do,
   * and a miss ends at the first empty slot of a half-empty table. */
  memcpy (&a, key + 1, sizeof a);
  memcpy (&b, key + 9, sizeof b);
  h = (a ^ key[0]) * 0x9e3779b97f4a7c15ULL;
  h = (h ^ (h >> 31) ^ b) * 0xbf58476d1ce4e5b9ULL;
  return (guint) (h ^ (h >> 29));
}

static Source *
slot_for (NbFilterRuleSet *set, const guint8 *key)
{
  guint i = hash_key (key) & set->mask;

  while (set->slots[i].used && memcmp (set->slots[i].key, key, KEY_LEN) != 0)
    i = (i + 1) & set->mask;
  return &set->slots[i];
}

static guint
expand (const NbFilterRule *rule, Item *items)
{
  gboolean has_ports = rule->port_start != 0 || rule->port_end != 0;
  guint16 start = has_ports ? rule->port_start : 0;
  guint16 end = has_ports ? rule->port_end : 65535;
  guint8 classes[4];
  guint n = 0;

  switch (rule->protocol)
    {
    case NB_FILTER_PROTOCOL_TCP: classes[n++] = NB_FILTER_CLASS_TCP; break;
    case NB_FILTER_PROTOCOL_UDP: classes[n++] = NB_FILTER_CLASS_UDP; break;
    case NB_FILTER_PROTOCOL_ICMP: classes[n++] = NB_FILTER_CLASS_ICMP; break;
    case NB_FILTER_PROTOCOL_ALL:
    default:
      classes[n++] = NB_FILTER_CLASS_TCP;
      classes[n++] = NB_FILTER_CLASS_UDP;
      if (!has_ports)
        {
          classes[n++] = NB_FILTER_CLASS_ICMP;
          classes[n++] = NB_FILTER_CLASS_OTHER;
        }
      break;
    }
  for (guint i = 0; i < n; i++)
    {
      make_key (items[i].key, rule->family, rule->address);
      items[i].direction = (guint8) rule->direction;
      items[i].action = (guint8) rule->action;
      items[i].klass = classes[i];
      items[i].start = start;
      items[i].end = end;
    }
  return n;
}

NbFilterRuleSet *
nb_filter_rule_set_compile (const NbFilterRule *rules,
                            gsize               n,
                            GError            **error)
{
  g_autoptr(NbFilterRuleSet) set = NULL;
  g_autofree Item *items = NULL;
  gsize n_items = 0, n_sources = 0, n_ranges = 0;
  guint slots = 16;

  g_return_val_if_fail (rules != NULL || n == 0, NULL);
  if (n > G_MAXUINT32 / 8)
    {
      g_set_error (error, NB_FILTER_ERROR, NB_FILTER_ERROR_INVALID_RULE,
                   "%" G_GSIZE_FORMAT " firewall rules are too many", n);
      return NULL;
    }
  items = g_new (Item, MAX (n, 1) * 4);
  for (gsize i = 0; i < n; i++)
    {
      if (!check_rule (&rules[i], i, error))
        return NULL;
      n_items += expand (&rules[i], items + n_items);
    }
  qsort (items, n_items, sizeof (Item), compare_items);
  for (gsize i = 0; i < n_items; i++)
    if (i == 0 || memcmp (items[i].key, items[i - 1].key, KEY_LEN) != 0)
      n_sources++;
  while (slots < n_sources * 2)
    slots <<= 1;

  set = g_new0 (NbFilterRuleSet, 1);
  set->n_rules = n;
  set->serial = __atomic_fetch_add (&next_serial, 1, __ATOMIC_RELAXED);
  set->mask = slots - 1;
  set->slots = g_new0 (Source, slots);
  set->ranges = g_new (Range, MAX (n_items, 1));

  for (gsize i = 0; i < n_items;)
    {
      Source *source = slot_for (set, items[i].key);
      const Item *group = &items[i];

      if (!source->used)
        {
          source->used = TRUE;
          memcpy (source->key, group->key, KEY_LEN);
        }
      if (group->klass == NB_FILTER_CLASS_ICMP || group->klass == NB_FILTER_CLASS_OTHER)
        {
          source->flags[group->direction][group->action] |=
            group->klass == NB_FILTER_CLASS_ICMP ? 1 : 2;
          for (i++; i < n_items && same_group (&items[i], group); i++)
            ;
          continue;
        }

      /* A run of ranges of one class, sorted by start: merged as they come. */
      {
        Span *span = &source->ranges[group->direction][group->action][group->klass];
        Range *last = NULL;

        span->first = (guint32) n_ranges;
        for (; i < n_items && same_group (&items[i], group); i++)
          {
            if (last != NULL && (guint) items[i].start <= (guint) last->end + 1)
              last->end = MAX (last->end, items[i].end);
            else
              {
                last = &set->ranges[n_ranges++];
                last->start = items[i].start;
                last->end = items[i].end;
              }
          }
        span->count = (guint32) n_ranges - span->first;
      }
    }
  return g_steal_pointer (&set);
}

void
nb_filter_rule_set_free (NbFilterRuleSet *set)
{
  if (set == NULL)
    return;
  g_free (set->slots);
  g_free (set->ranges);
  g_free (set);
}

gsize
nb_filter_rule_set_get_n_rules (const NbFilterRuleSet *set)
{
  return set->n_rules;
}

guint64
nb_filter_rule_set_get_serial (const NbFilterRuleSet *set)
{
  return set->serial;
}

/* -- matching (packet threads) --------------------------------------------- */

static const Source *
lookup (const NbFilterRuleSet *set, const guint8 *key)
{
  guint i = hash_key (key) & set->mask;

  while (set->slots[i].used)
    {
      if (memcmp (set->slots[i].key, key, KEY_LEN) == 0)
        return &set->slots[i];
      i = (i + 1) & set->mask;
    }
  return NULL;
}

static gboolean
source_matches (const NbFilterRuleSet *set, const Source *source, NbFilterDirection direction,
                NbFilterAction action, NbFilterClass klass, guint16 port)
{
  const Span *span;
  guint lo, hi;

  if (source == NULL)
    return FALSE;
  if (klass == NB_FILTER_CLASS_ICMP)
    return (source->flags[direction][action] & 1) != 0;
  if (klass == NB_FILTER_CLASS_OTHER)
    return (source->flags[direction][action] & 2) != 0;
  span = &source->ranges[direction][action][klass];
  /* The last range that starts at or below the port. */
  lo = 0;
  hi = span->count;
  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;

      if (set->ranges[span->first + mid].start <= port)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo > 0 && set->ranges[span->first + lo - 1].end >= port;
}

NbFilterMatch
nb_filter_rule_set_match (const NbFilterRuleSet *set,
                          NbFilterDirection      direction,
                          guint8                 family,
                          const guint8          *address,
                          NbFilterClass          klass,
                          guint16                port)
{
  static const guint8 zero[16];
  guint8 key[KEY_LEN];
  const Source *peer, *any;

  make_key (key, family, address);
  peer = lookup (set, key);
  make_key (key, family, zero);
  any = lookup (set, key);
  if (source_matches (set, peer, direction, NB_FILTER_ACTION_DROP, klass, port) ||
      source_matches (set, any, direction, NB_FILTER_ACTION_DROP, klass, port))
    return NB_FILTER_MATCH_DROP;
  if (source_matches (set, peer, direction, NB_FILTER_ACTION_ACCEPT, klass, port) ||
      source_matches (set, any, direction, NB_FILTER_ACTION_ACCEPT, klass, port))
    return NB_FILTER_MATCH_ACCEPT;
  return NB_FILTER_MATCH_NONE;
}
