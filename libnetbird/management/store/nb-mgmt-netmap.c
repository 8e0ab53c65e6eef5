/* nb-mgmt-netmap.c: network maps, computed from a snapshot of an account
 *
 * The store loads an account's network state once per serial into a
 * snapshot with integer indexes (peers sorted by address, groups, rules,
 * routes, and for every group the rules that name it). A peer's map then
 * costs only what it contains: for each of the peer's groups, the rules
 * naming that group, and for each such rule the members of the groups on
 * the other side. Computing every map is linear in the total size of the
 * maps, never a scan of all peers per peer.
 *
 * Maps are first computed in a compact form (peer indexes and small
 * integers, into reused buffers) and hashed; only maps that are handed out
 * are turned into NbMgmtNetworkMap records with strings.
 *
 * Change detection: the store remembers the hash of the map each peer was
 * last given. A change marks the account dirty: with the peers it concerns
 * when it is about one peer (registration, deletion, update), for everyone
 * otherwise. Collecting updates recomputes only the candidates: the changed
 * peer and the peers that saw it before the change or see it after, among
 * those that were given a map.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-mgmt-store"

#include <stdlib.h>
#include <string.h>

#include "nb-mgmt-netmap-private.h"

/* ---- Compact maps -------------------------------------------------------- */

void
nb_mgmt_scratch_init (Scratch              *sc,
                      const NbMgmtSnapshot *s)
{
  sc->seen = g_new0 (guint32, MAX (s->peers->len, 1));
  sc->rule_seen = g_new0 (guint32, MAX (s->rules->len, 1));
  sc->stamp = 0;
  sc->remote = nb_mgmt_u32_array ();
  sc->fw = g_array_new (FALSE, FALSE, sizeof (CompactRule));
  sc->routes = g_array_new (FALSE, FALSE, sizeof (CompactRoute));
  sc->ns = nb_mgmt_u32_array ();
  sc->pos = g_new0 (guint32, MAX (s->peers->len, 1));
  sc->fw_sorted = g_array_new (FALSE, FALSE, sizeof (CompactRule));
  sc->buckets = nb_mgmt_u32_array ();
}

void
nb_mgmt_scratch_clear (Scratch *sc)
{
  g_free (sc->seen);
  g_free (sc->rule_seen);
  g_array_unref (sc->remote);
  g_array_unref (sc->fw);
  g_array_unref (sc->routes);
  g_array_unref (sc->ns);
  g_free (sc->pos);
  g_array_unref (sc->fw_sorted);
  g_array_unref (sc->buckets);
}

static inline void
add_remote (Scratch *sc,
            guint32  q)
{
  if (sc->seen[q] != sc->stamp)
    {
      sc->seen[q] = sc->stamp;
      g_array_append_val (sc->remote, q);
    }
}

static void
add_fw (Scratch        *sc,
        const SnapRule *r,
        guint32         rule,
        guint32         q,
        NbMgmtDirection direction)
{
  CompactRule c = {
    .peer = q, .direction = direction, .action = r->action, .protocol = r->protocol, .rule = rule,
    .policy_rank = r->policy_rank,
  };
  gboolean any = FALSE;

  for (guint i = 0; r->ports != NULL && i < r->ports->len; i++)
    {
      c.port = g_array_index (r->ports, guint16, i);
      g_array_append_val (sc->fw, c);
      any = TRUE;
    }
  c.port = 0;
  for (guint i = 0; r->ranges != NULL && i < r->ranges->len; i++)
    {
      const NbMgmtPortRange *range = &g_array_index (r->ranges, NbMgmtPortRange, i);
      c.range_start = range->start;
      c.range_end = range->end;
      g_array_append_val (sc->fw, c);
      any = TRUE;
    }
  if (!any)
    {
      c.range_start = c.range_end = 0;
      g_array_append_val (sc->fw, c);
    }
}

static int
cmp_u32 (gconstpointer a,
         gconstpointer b)
{
  guint32 x = *(const guint32 *) a, y = *(const guint32 *) b;
  return x < y ? -1 : x > y;
}

static int
cmp_fw (gconstpointer a,
        gconstpointer b)
{
  const CompactRule *x = a, *y = b;

  /* Drop before accept, then by address (peer indexes follow addresses),
   * direction, protocol, port, range, policy. */
  if (x->action != y->action)
    return x->action == NB_MGMT_RULE_ACTION_DROP ? -1 : 1;
  if (x->peer != y->peer)
    return x->peer < y->peer ? -1 : 1;
  if (x->direction != y->direction)
    return x->direction < y->direction ? -1 : 1;
  if (x->protocol != y->protocol)
    return x->protocol < y->protocol ? -1 : 1;
  if (x->port != y->port)
    return x->port < y->port ? -1 : 1;
  if (x->range_start != y->range_start)
    return x->range_start < y->range_start ? -1 : 1;
  if (x->range_end != y->range_end)
    return x->range_end < y->range_end ? -1 : 1;
  return x->policy_rank < y->policy_rank ? -1 : x->policy_rank > y->policy_rank;
}

static gboolean
fw_same (const CompactRule      *x,
         const CompactRule      *y,
         const NbMgmtSnapshot   *s)
{
  return x->action == y->action && x->peer == y->peer && x->direction == y->direction &&
         x->protocol == y->protocol && x->port == y->port && x->range_start == y->range_start &&
         x->range_end == y->range_end &&
         x->policy_rank == y->policy_rank;
}

static int
cmp_route (gconstpointer a,
           gconstpointer b)
{
  const CompactRoute *x = a, *y = b;

  if (x->route != y->route)
    return x->route < y->route ? -1 : 1;
  return x->router < y->router ? -1 : x->router > y->router;
}

/* The map's peers by index (= by address). When they are many of the
 * account's, reading them off the stamps is cheaper than sorting. */
static void
sort_remote (const NbMgmtSnapshot *s,
             guint32               x,
             Scratch              *sc)
{
  guint n = 0;

  if (sc->remote->len < s->peers->len / 16)
    {
      g_array_sort (sc->remote, cmp_u32);
      return;
    }
  for (guint32 q = 0; q < s->peers->len; q++)
    if (sc->seen[q] == sc->stamp && q != x)
      g_array_index (sc->remote, guint32, n++) = q;
  g_assert (n == sc->remote->len);
}

/* Sorts the firewall rules by cmp_fw(), leaving out those for peers not in
 * the map (and for @x itself). A map holds thousands of rules but a peer
 * has only a few (directions, ports, policies): a counting sort by
 * (action, peer), the peer's place known from the sorted remote list, then
 * an insertion sort inside each small bucket gives cmp_fw()'s order, stable
 * as g_array_sort(), without a comparison call per step of a merge sort.
 * A bucket can be large (a rule with a thousand ports gives each peer two
 * thousand entries): past FW_INSERTION_MAX those are merge-sorted instead
 * (g_qsort_with_data() is stable), so that no map costs more than
 * n log n in its rules. @sc->remote must be sorted. */
#define FW_INSERTION_MAX 32

static int
cmp_fw_data (gconstpointer a,
             gconstpointer b,
             gpointer      data)
{
  return cmp_fw (a, b);
}

static void
sort_fw (guint32  x,
         Scratch *sc)
{
  guint m = sc->remote->len;
  guint n_buckets = 2 * m;
  guint32 *start;
  CompactRule *in = (CompactRule *) (gpointer) sc->fw->data;
  CompactRule *out;
  guint kept = 0;

  for (guint i = 0; i < m; i++)
    sc->pos[g_array_index (sc->remote, guint32, i)] = i;

  g_array_set_size (sc->buckets, n_buckets + 1);
  start = (guint32 *) (gpointer) sc->buckets->data;
  memset (start, 0, sizeof (guint32) * (n_buckets + 1));

#define FW_KEPT(c) (sc->seen[(c)->peer] == sc->stamp && (c)->peer != x)
  /* Drop rules first (cmp_fw), then by the peer's address. */
#define FW_BUCKET(c) (((c)->action == NB_MGMT_RULE_ACTION_DROP ? 0 : m) + sc->pos[(c)->peer])
  for (guint i = 0; i < sc->fw->len; i++)
    if (FW_KEPT (&in[i]))
      {
        start[FW_BUCKET (&in[i]) + 1]++;
        kept++;
      }
  for (guint b = 0; b < n_buckets; b++)
    start[b + 1] += start[b];

  g_array_set_size (sc->fw_sorted, kept);
  out = (CompactRule *) (gpointer) sc->fw_sorted->data;
  for (guint i = 0; i < sc->fw->len; i++)
    if (FW_KEPT (&in[i]))
      out[start[FW_BUCKET (&in[i])]++] = in[i];
#undef FW_KEPT
#undef FW_BUCKET

  /* start[b] is now the end of bucket b. */
  for (guint b = 0, begin = 0; b < n_buckets; begin = start[b], b++)
    {
      if (start[b] - begin > FW_INSERTION_MAX)
        {
          g_qsort_with_data (out + begin, (gint) (start[b] - begin), sizeof (CompactRule),
                             cmp_fw_data, NULL);
          continue;
        }
      for (guint i = begin + 1; i < start[b]; i++)
        {
          CompactRule c = out[i];
          guint j = i;

          while (j > begin && cmp_fw (&out[j - 1], &c) > 0)
            {
              out[j] = out[j - 1];
              j--;
            }
          out[j] = c;
        }
    }

  /* Swap: the sorted array becomes the map's. */
  {
    GArray *tmp = sc->fw;

    sc->fw = sc->fw_sorted;
    sc->fw_sorted = tmp;
  }
}

/* Computes peer @x's map into @sc (compact) and its hash. */
void
nb_mgmt_netmap_compute (const NbMgmtSnapshot *s,
                        guint32               x,
                        Scratch              *sc)
{
  const SnapPeer *me = s->peers->pdata[x];
  guint64 h;
  guint n;

  sc->stamp++;
  if (sc->stamp == 0)
    {
      /* Wrapped: clear the stamps once every 2^32 maps. */
      memset (sc->seen, 0, sizeof (guint32) * MAX (s->peers->len, 1));
      memset (sc->rule_seen, 0, sizeof (guint32) * MAX (s->rules->len, 1));
      sc->stamp = 1;
    }
  g_array_set_size (sc->remote, 0);
  g_array_set_size (sc->fw, 0);
  g_array_set_size (sc->routes, 0);
  g_array_set_size (sc->ns, 0);
  sc->dns_enabled = TRUE;
  sc->seen[x] = sc->stamp;      /* never in its own map */

  for (guint gi = 0; gi < me->groups->len; gi++)
    {
      const SnapGroup *g = s->groups->pdata[g_array_index (me->groups, guint32, gi)];

      if (g->dns_disabled)
        sc->dns_enabled = FALSE;
      for (guint k = 0; k < g->rule_refs->len; k++)
        {
          const RuleRef *ref = &g_array_index (g->rule_refs, RuleRef, k);
          const SnapRule *r = s->rules->pdata[ref->rule];
          guint32 bit = 1u << ref->side;
          guint32 *mark = &sc->rule_seen[ref->rule];
          const GArray *other;

          /* Once per (rule, side) however many of its groups we are in. */
          if ((*mark >> 2) == (sc->stamp & 0x3fffffffu) && (*mark & bit))
            continue;
          if ((*mark >> 2) != (sc->stamp & 0x3fffffffu))
            *mark = (sc->stamp & 0x3fffffffu) << 2;
          *mark |= bit;

          other = r->sides[1 - ref->side];
          for (guint o = 0; o < other->len; o++)
            {
              const SnapGroup *og = s->groups->pdata[g_array_index (other, guint32, o)];

              for (guint m = 0; m < og->peers->len; m++)
                {
                  guint32 q = g_array_index (og->peers, guint32, m);

                  if (q == x || ((SnapPeer *) s->peers->pdata[q])->excluded)
                    continue;
                  if (r->action == NB_MGMT_RULE_ACTION_ACCEPT)
                    add_remote (sc, q);
                  /* Sources send out to destinations; destinations take it in.
                   * A bidirectional rule opens both ways. */
                  add_fw (sc, r, ref->rule, q, ref->side == 0 ? NB_MGMT_DIRECTION_OUT : NB_MGMT_DIRECTION_IN);
                  if (r->bidirectional)
                    add_fw (sc, r, ref->rule, q, ref->side == 0 ? NB_MGMT_DIRECTION_IN : NB_MGMT_DIRECTION_OUT);
                }
            }
        }

      /* Routes distributed to this group. */
      for (guint k = 0; k < g->route_dist->len; k++)
        {
          guint32 ri = g_array_index (g->route_dist, guint32, k);
          const SnapRoute *route = s->routes->pdata[ri];

          for (guint m = 0; m < route->routers->len; m++)
            {
              guint32 q = g_array_index (route->routers, guint32, m);
              CompactRoute cr = { ri, q };

              if (q == x || ((SnapPeer *) s->peers->pdata[q])->excluded)
                continue;
              g_array_append_val (sc->routes, cr);
              add_remote (sc, q);
            }
        }
      for (guint k = 0; k < g->ns_dist->len; k++)
        g_array_append_val (sc->ns, g_array_index (g->ns_dist, guint32, k));
    }

  /* Routes this peer itself routes: it learns them (its own key), and the
   * peers they are distributed to become reachable. */
  {
    GArray *mine = g_array_index (s->peer_routes, GArray *, x);
    for (guint k = 0; mine != NULL && k < mine->len; k++)
      {
        guint32 ri = g_array_index (mine, guint32, k);
        const SnapRoute *route = s->routes->pdata[ri];
        CompactRoute cr = { ri, x };

        g_array_append_val (sc->routes, cr);
        for (guint d = 0; d < route->dist->len; d++)
          {
            const SnapGroup *dg = s->groups->pdata[g_array_index (route->dist, guint32, d)];
            for (guint m = 0; m < dg->peers->len; m++)
              {
                guint32 q = g_array_index (dg->peers, guint32, m);
                if (q != x && !((SnapPeer *) s->peers->pdata[q])->excluded)
                  add_remote (sc, q);
              }
          }
      }
  }

  /* Sort and deduplicate; drop firewall rules for peers not in the map
   * (a drop rule alone does not make a peer reachable). */
  sort_remote (s, x, sc);
  sort_fw (x, sc);
  n = 0;
  for (guint i = 0; i < sc->fw->len; i++)
    {
      CompactRule *c = &g_array_index (sc->fw, CompactRule, i);
      if (n > 0 && fw_same (&g_array_index (sc->fw, CompactRule, n - 1), c, s))
        continue;
      g_array_index (sc->fw, CompactRule, n++) = *c;
    }
  g_array_set_size (sc->fw, n);
  g_array_sort (sc->routes, cmp_route);
  n = 0;
  for (guint i = 0; i < sc->routes->len; i++)
    {
      CompactRoute *c = &g_array_index (sc->routes, CompactRoute, i);
      if (n > 0 && cmp_route (&g_array_index (sc->routes, CompactRoute, n - 1), c) == 0)
        continue;
      g_array_index (sc->routes, CompactRoute, n++) = *c;
    }
  g_array_set_size (sc->routes, n);
  g_array_sort (sc->ns, cmp_u32);
  n = 0;
  for (guint i = 0; i < sc->ns->len; i++)
    if (n == 0 || g_array_index (sc->ns, guint32, n - 1) != g_array_index (sc->ns, guint32, i))
      g_array_index (sc->ns, guint32, n++) = g_array_index (sc->ns, guint32, i);
  g_array_set_size (sc->ns, n);

  /* The hash covers everything but the serial. */
  h = nb_mgmt_mix (nb_mgmt_hash_string (nb_mgmt_hash_string (0, s->domain), me->fqdn), me->entry_hash);
  h = nb_mgmt_mix (h, ((guint64) s->prefix << 1) | (sc->dns_enabled ? 1 : 0));
  h = nb_mgmt_mix (h, sc->remote->len);
  for (guint i = 0; i < sc->remote->len; i++)
    h = nb_mgmt_mix (h, ((SnapPeer *) s->peers->pdata[g_array_index (sc->remote, guint32, i)])->entry_hash);
  h = nb_mgmt_mix (h, sc->fw->len);
  for (guint i = 0; i < sc->fw->len; i++)
    {
      const CompactRule *c = &g_array_index (sc->fw, CompactRule, i);
      h = nb_mgmt_mix (h, ((SnapPeer *) s->peers->pdata[c->peer])->ip);
      h = nb_mgmt_mix (h, ((guint64) c->direction << 48) | ((guint64) c->action << 40) |
                  ((guint64) c->protocol << 32) | ((guint64) c->port << 16));
      h = nb_mgmt_mix (h, ((guint64) c->range_start << 16) | c->range_end);
      h = nb_mgmt_mix (h, ((SnapRule *) s->rules->pdata[c->rule])->policy_hash);
    }
  h = nb_mgmt_mix (h, sc->routes->len);
  for (guint i = 0; i < sc->routes->len; i++)
    {
      const CompactRoute *c = &g_array_index (sc->routes, CompactRoute, i);
      const NbMgmtRoute *route = ((SnapRoute *) s->routes->pdata[c->route])->route;

      h = nb_mgmt_hash_string (h, route->id);
      h = nb_mgmt_hash_string (h, route->network_id);
      h = nb_mgmt_hash_string (h, route->network);
      for (guint k = 0; route->domains != NULL && route->domains[k] != NULL; k++)
        h = nb_mgmt_hash_string (h, route->domains[k]);
      h = nb_mgmt_hash_string (h, ((SnapPeer *) s->peers->pdata[c->router])->key);
      h = nb_mgmt_mix (h, ((guint64) route->metric << 2) | (route->masquerade << 1) | route->keep_route);
    }
  h = nb_mgmt_mix (h, sc->ns->len);
  for (guint i = 0; i < sc->ns->len; i++)
    h = nb_mgmt_mix (h, g_array_index (s->ns_hashes, guint64, g_array_index (sc->ns, guint32, i)));
  sc->hash = h;
}

/* ---- Materialised maps --------------------------------------------------- */

static void
remote_peer_free (NbMgmtRemotePeer *p)
{
  g_free (p->id);
  g_free (p->key);
  g_free (p->ip);
  g_ptr_array_unref (p->allowed_ips);
  g_free (p->fqdn);
  g_free (p->ssh_key);
  g_free (p);
}

static void
firewall_rule_free (NbMgmtFirewallRule *r)
{
  g_free (r->peer_ip);
  g_free (r->policy_id);
  g_free (r);
}

static void
route_entry_free (NbMgmtRouteEntry *r)
{
  g_free (r->id);
  g_free (r->network_id);
  g_free (r->network);
  g_strfreev (r->domains);
  g_free (r->peer_key);
  g_free (r);
}

static void
dns_record_free (NbMgmtDnsRecord *r)
{
  g_free (r->name);
  g_free (r->class_);
  g_free (r->rdata);
  g_free (r);
}

/**
 * nb_mgmt_network_map_free:
 * @map: (nullable) (transfer full): a network map
 */
void
nb_mgmt_network_map_free (NbMgmtNetworkMap *map)
{
  if (map == NULL)
    return;
  g_free (map->account_id);
  g_free (map->peer_id);
  g_free (map->peer_key);
  g_free (map->address);
  g_free (map->fqdn);
  g_free (map->dns_domain);
  g_clear_pointer (&map->remote_peers, g_ptr_array_unref);
  g_clear_pointer (&map->firewall_rules, g_ptr_array_unref);
  g_clear_pointer (&map->routes, g_ptr_array_unref);
  g_clear_pointer (&map->nameserver_groups, g_ptr_array_unref);
  g_clear_pointer (&map->dns_records, g_ptr_array_unref);
  g_free (map);
}

static NbMgmtDnsRecord *
dns_record_new (const SnapPeer *p)
{
  NbMgmtDnsRecord *r = g_new0 (NbMgmtDnsRecord, 1);

  r->name = g_strdup (p->fqdn);
  r->type = 1;
  r->class_ = g_strdup ("IN");
  r->ttl = DNS_TTL;
  r->rdata = g_strdup (p->ip_text);
  return r;
}

static int
cmp_record (gconstpointer a,
            gconstpointer b)
{
  const NbMgmtDnsRecord *x = *(NbMgmtDnsRecord * const *) a;
  const NbMgmtDnsRecord *y = *(NbMgmtDnsRecord * const *) b;
  return strcmp (x->name, y->name);
}

static NbMgmtNameserverGroup *
ns_group_copy (const NbMgmtNameserverGroup *src)
{
  NbMgmtNameserverGroup *g = nb_mgmt_nameserver_group_new ();

  g->id = g_strdup (src->id);
  g->account_id = g_strdup (src->account_id);
  g->name = g_strdup (src->name);
  g->description = g_strdup (src->description);
  for (guint i = 0; i < src->nameservers->len; i++)
    {
      const NbMgmtNameserver *n = src->nameservers->pdata[i];
      g_ptr_array_add (g->nameservers, nb_mgmt_nameserver_new (n->ip, n->ns_type, n->port));
    }
  g->enabled = src->enabled;
  g->groups = g_strdupv (src->groups);
  g->primary = src->primary;
  g->domains = g_strdupv (src->domains);
  g->search_domains_enabled = src->search_domains_enabled;
  return g;
}

NbMgmtNetworkMap *
nb_mgmt_netmap_materialize (const NbMgmtSnapshot *s,
                            guint32               x,
                            const Scratch        *sc)
{
  const SnapPeer *me = s->peers->pdata[x];
  NbMgmtNetworkMap *map = g_new0 (NbMgmtNetworkMap, 1);

  map->serial = s->serial;
  map->account_id = g_strdup (s->account_id);
  map->peer_id = g_strdup (me->id);
  map->peer_key = g_strdup (me->key);
  map->address = g_strdup_printf ("%s/%u", me->ip_text, s->prefix);
  map->fqdn = g_strdup (me->fqdn);
  map->dns_domain = g_strdup (s->domain);
  map->dns_enabled = sc->dns_enabled;
  map->hash = sc->hash;

  map->remote_peers = g_ptr_array_new_full (sc->remote->len, (GDestroyNotify) remote_peer_free);
  map->dns_records = g_ptr_array_new_full (sc->remote->len + 1, (GDestroyNotify) dns_record_free);
  g_ptr_array_add (map->dns_records, dns_record_new (me));
  for (guint i = 0; i < sc->remote->len; i++)
    {
      const SnapPeer *q = s->peers->pdata[g_array_index (sc->remote, guint32, i)];
      NbMgmtRemotePeer *rp = g_new0 (NbMgmtRemotePeer, 1);

      rp->id = g_strdup (q->id);
      rp->key = g_strdup (q->key);
      rp->ip = g_strdup (q->ip_text);
      rp->allowed_ips = g_ptr_array_new_with_free_func (g_free);
      g_ptr_array_add (rp->allowed_ips, g_strconcat (q->ip_text, "/32", NULL));
      rp->fqdn = g_strdup (q->fqdn);
      rp->ssh_enabled = q->ssh_enabled;
      rp->ssh_key = g_strdup (q->ssh_key);
      g_ptr_array_add (map->remote_peers, rp);
      g_ptr_array_add (map->dns_records, dns_record_new (q));
    }
  g_ptr_array_sort (map->dns_records, cmp_record);

  map->firewall_rules = g_ptr_array_new_full (sc->fw->len, (GDestroyNotify) firewall_rule_free);
  for (guint i = 0; i < sc->fw->len; i++)
    {
      const CompactRule *c = &g_array_index (sc->fw, CompactRule, i);
      NbMgmtFirewallRule *r = g_new0 (NbMgmtFirewallRule, 1);

      r->peer_ip = g_strdup (((SnapPeer *) s->peers->pdata[c->peer])->ip_text);
      r->direction = c->direction;
      r->action = c->action;
      r->protocol = c->protocol;
      r->port = c->port;
      r->port_range.start = c->range_start;
      r->port_range.end = c->range_end;
      r->policy_id = g_strdup (((SnapRule *) s->rules->pdata[c->rule])->policy_id);
      g_ptr_array_add (map->firewall_rules, r);
    }

  map->routes = g_ptr_array_new_full (sc->routes->len, (GDestroyNotify) route_entry_free);
  for (guint i = 0; i < sc->routes->len; i++)
    {
      const CompactRoute *c = &g_array_index (sc->routes, CompactRoute, i);
      const NbMgmtRoute *route = ((SnapRoute *) s->routes->pdata[c->route])->route;
      const SnapPeer *router = s->peers->pdata[c->router];
      NbMgmtRouteEntry *e = g_new0 (NbMgmtRouteEntry, 1);

      e->id = route->peer != NULL ? g_strdup (route->id) : g_strdup_printf ("%s:%s", route->id, router->id);
      e->network_id = g_strdup (route->network_id);
      e->network = g_strdup (route->network);
      e->domains = g_strdupv (route->domains);
      e->peer_key = g_strdup (router->key);
      e->metric = route->metric;
      e->masquerade = route->masquerade;
      e->keep_route = route->keep_route;
      g_ptr_array_add (map->routes, e);
    }

  map->nameserver_groups = g_ptr_array_new_full (sc->ns->len, (GDestroyNotify) nb_mgmt_nameserver_group_free);
  for (guint i = 0; i < sc->ns->len; i++)
    g_ptr_array_add (map->nameserver_groups,
                     ns_group_copy (s->ns_groups->pdata[g_array_index (sc->ns, guint32, i)]));
  return map;
}

/* ---- Borrowed maps ----------------------------------------------------------
 * The fan-out sends a map and forgets it: materializing it (a dozen
 * allocations per remote peer and firewall rule, thousands per map) cost
 * more than computing it. */

void
nb_mgmt_map_view_init (MapView *view)
{
  memset (view, 0, sizeof *view);
  view->remotes = g_array_new (FALSE, TRUE, sizeof (NbMgmtRemotePeer));
  view->rules = g_array_new (FALSE, TRUE, sizeof (NbMgmtFirewallRule));
  view->records = g_array_new (FALSE, TRUE, sizeof (NbMgmtDnsRecord));
  view->routes = g_array_new (FALSE, TRUE, sizeof (NbMgmtRouteEntry));
  view->allowed = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  view->strings = g_string_chunk_new (4096);
  view->map.remote_peers = g_ptr_array_new ();
  view->map.firewall_rules = g_ptr_array_new ();
  view->map.routes = g_ptr_array_new ();
  view->map.nameserver_groups = g_ptr_array_new ();
  view->map.dns_records = g_ptr_array_new ();
}

void
nb_mgmt_map_view_clear (MapView *view)
{
  g_array_unref (view->remotes);
  g_array_unref (view->rules);
  g_array_unref (view->records);
  g_array_unref (view->routes);
  g_ptr_array_unref (view->allowed);
  g_string_chunk_free (view->strings);
  g_ptr_array_unref (view->map.remote_peers);
  g_ptr_array_unref (view->map.firewall_rules);
  g_ptr_array_unref (view->map.routes);
  g_ptr_array_unref (view->map.nameserver_groups);
  g_ptr_array_unref (view->map.dns_records);
}

/* @a @b @c (nullable) joined, in @chunk. */
static char *
chunk_concat (GStringChunk *chunk,
              const char   *a,
              const char   *b,
              const char   *c)
{
  gsize la = strlen (a), lb = strlen (b), lc = c != NULL ? strlen (c) : 0;
  char small[128];
  char *buf = la + lb + lc < sizeof small ? small : g_malloc (la + lb + lc + 1);
  char *out;

  memcpy (buf, a, la);
  memcpy (buf + la, b, lb);
  if (lc > 0)
    memcpy (buf + la + lb, c, lc);
  buf[la + lb + lc] = '\0';
  out = g_string_chunk_insert_len (chunk, buf, la + lb + lc);
  if (buf != small)
    g_free (buf);
  return out;
}

static void
view_record (NbMgmtDnsRecord *r,
             const SnapPeer  *p)
{
  r->name = p->fqdn;
  r->type = 1;
  r->class_ = (char *) "IN";
  r->ttl = DNS_TTL;
  r->rdata = p->ip_text;
}

const NbMgmtNetworkMap *
nb_mgmt_netmap_view (const NbMgmtSnapshot *s,
                     guint32               x,
                     const Scratch        *sc,
                     MapView              *view)
{
  const SnapPeer *me = s->peers->pdata[x];
  NbMgmtNetworkMap *map = &view->map;
  guint n_remote = sc->remote->len;

  g_string_chunk_clear (view->strings);
  map->serial = s->serial;
  map->account_id = s->account_id;
  map->peer_id = me->id;
  map->peer_key = me->key;
  {
    char address[64];

    g_snprintf (address, sizeof address, "%s/%u", me->ip_text, s->prefix);
    map->address = g_string_chunk_insert (view->strings, address);
  }
  map->fqdn = me->fqdn;
  map->dns_domain = s->domain;
  map->dns_enabled = sc->dns_enabled;
  map->hash = sc->hash;

  /* Sized first: the pointer arrays point into them. */
  g_array_set_size (view->remotes, n_remote);
  g_array_set_size (view->records, n_remote + 1);
  while (view->allowed->len < n_remote)
    g_ptr_array_add (view->allowed, g_ptr_array_new ());
  g_ptr_array_set_size (map->remote_peers, 0);
  g_ptr_array_set_size (map->dns_records, 0);
  view_record (&g_array_index (view->records, NbMgmtDnsRecord, 0), me);
  g_ptr_array_add (map->dns_records, &g_array_index (view->records, NbMgmtDnsRecord, 0));
  for (guint i = 0; i < n_remote; i++)
    {
      const SnapPeer *q = s->peers->pdata[g_array_index (sc->remote, guint32, i)];
      NbMgmtRemotePeer *rp = &g_array_index (view->remotes, NbMgmtRemotePeer, i);
      NbMgmtDnsRecord *record = &g_array_index (view->records, NbMgmtDnsRecord, i + 1);
      GPtrArray *allowed = view->allowed->pdata[i];
      char *ip32 = chunk_concat (view->strings, q->ip_text, "/32", NULL);

      rp->id = q->id;
      rp->key = q->key;
      rp->ip = q->ip_text;
      g_ptr_array_set_size (allowed, 0);
      g_ptr_array_add (allowed, ip32);
      rp->allowed_ips = allowed;
      rp->fqdn = q->fqdn;
      rp->ssh_enabled = q->ssh_enabled;
      rp->ssh_key = q->ssh_key;
      g_ptr_array_add (map->remote_peers, rp);
      view_record (record, q);
      g_ptr_array_add (map->dns_records, record);
    }
  g_ptr_array_sort (map->dns_records, cmp_record);

  g_array_set_size (view->rules, sc->fw->len);
  g_ptr_array_set_size (map->firewall_rules, 0);
  for (guint i = 0; i < sc->fw->len; i++)
    {
      const CompactRule *c = &g_array_index (sc->fw, CompactRule, i);
      NbMgmtFirewallRule *r = &g_array_index (view->rules, NbMgmtFirewallRule, i);

      r->peer_ip = ((SnapPeer *) s->peers->pdata[c->peer])->ip_text;
      r->direction = c->direction;
      r->action = c->action;
      r->protocol = c->protocol;
      r->port = c->port;
      r->port_range.start = c->range_start;
      r->port_range.end = c->range_end;
      r->policy_id = ((SnapRule *) s->rules->pdata[c->rule])->policy_id;
      g_ptr_array_add (map->firewall_rules, r);
    }

  g_array_set_size (view->routes, sc->routes->len);
  g_ptr_array_set_size (map->routes, 0);
  for (guint i = 0; i < sc->routes->len; i++)
    {
      const CompactRoute *c = &g_array_index (sc->routes, CompactRoute, i);
      const NbMgmtRoute *route = ((SnapRoute *) s->routes->pdata[c->route])->route;
      const SnapPeer *router = s->peers->pdata[c->router];
      NbMgmtRouteEntry *e = &g_array_index (view->routes, NbMgmtRouteEntry, i);

      if (route->peer != NULL)
        e->id = route->id;
      else
        e->id = chunk_concat (view->strings, route->id, ":", router->id);
      e->network_id = route->network_id;
      e->network = route->network;
      e->domains = route->domains;
      e->peer_key = router->key;
      e->metric = route->metric;
      e->masquerade = route->masquerade;
      e->keep_route = route->keep_route;
      g_ptr_array_add (map->routes, e);
    }

  g_ptr_array_set_size (map->nameserver_groups, 0);
  for (guint i = 0; i < sc->ns->len; i++)
    g_ptr_array_add (map->nameserver_groups, s->ns_groups->pdata[g_array_index (sc->ns, guint32, i)]);
  return map;
}
