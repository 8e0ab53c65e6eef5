/* nb-mgmt-netmap-json.c: a network map as canonical JSON
 *
 * The store's own form: for hashing in tests and for the benchmark's byte
 * counts. The wire format is proto/'s business.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-mgmt-store"

#include "nb-mgmt-netmap.h"

/* ---- Canonical JSON -------------------------------------------------------- */

static void
json_str (GString    *out,
          const char *s)
{
  const char *p = s != NULL ? s : "";
  const char *run = p;

  g_string_append_c (out, '"');
  /* Copy runs that need no escaping in one go. */
  for (; *p != '\0'; p++)
    {
      guchar c = (guchar) *p;

      if (c >= 0x20 && c != '"' && c != '\\')
        continue;
      g_string_append_len (out, run, p - run);
      switch (c)
        {
        case '"': g_string_append (out, "\\\""); break;
        case '\\': g_string_append (out, "\\\\"); break;
        case '\n': g_string_append (out, "\\n"); break;
        case '\r': g_string_append (out, "\\r"); break;
        case '\t': g_string_append (out, "\\t"); break;
        default: g_string_append_printf (out, "\\u%04x", c); break;
        }
      run = p + 1;
    }
  g_string_append_len (out, run, p - run);
  g_string_append_c (out, '"');
}

static void
json_uint (GString *out,
           guint64  v)
{
  char buf[24];
  int n = sizeof buf;

  do
    {
      buf[--n] = (char) ('0' + v % 10);
      v /= 10;
    }
  while (v > 0);
  g_string_append_len (out, buf + n, sizeof buf - n);
}

static void
json_strv (GString      *out,
           char * const *v)
{
  g_string_append_c (out, '[');
  for (guint i = 0; v != NULL && v[i] != NULL; i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      json_str (out, v[i]);
    }
  g_string_append_c (out, ']');
}

/**
 * nb_mgmt_network_map_to_json:
 * @map: a network map
 * @out_len: (out) (optional): the length of the text
 *
 * Returns: (transfer full): the map as canonical JSON
 */
char *
nb_mgmt_network_map_to_json (const NbMgmtNetworkMap *map,
                             gsize                  *out_len)
{
  GString *o = g_string_sized_new (256 + map->remote_peers->len * 160 + map->firewall_rules->len * 80);
  gsize len;

  g_string_append_printf (o, "{\"serial\":%" G_GUINT64_FORMAT ",\"peer_config\":{\"address\":", map->serial);
  json_str (o, map->address);
  g_string_append (o, ",\"fqdn\":");
  json_str (o, map->fqdn);
  g_string_append (o, "},\"remote_peers\":[");
  for (guint i = 0; i < map->remote_peers->len; i++)
    {
      const NbMgmtRemotePeer *p = map->remote_peers->pdata[i];

      if (i > 0)
        g_string_append_c (o, ',');
      g_string_append (o, "{\"wg_pub_key\":");
      json_str (o, p->key);
      g_string_append (o, ",\"allowed_ips\":[");
      for (guint k = 0; k < p->allowed_ips->len; k++)
        {
          if (k > 0)
            g_string_append_c (o, ',');
          json_str (o, p->allowed_ips->pdata[k]);
        }
      g_string_append (o, "],\"fqdn\":");
      json_str (o, p->fqdn);
      g_string_append (o, p->ssh_enabled ? ",\"ssh_enabled\":true}" : ",\"ssh_enabled\":false}");
    }
  g_string_append (o, "],\"firewall_rules\":[");
  for (guint i = 0; i < map->firewall_rules->len; i++)
    {
      const NbMgmtFirewallRule *r = map->firewall_rules->pdata[i];

      if (i > 0)
        g_string_append_c (o, ',');
      g_string_append (o, "{\"peer_ip\":");
      json_str (o, r->peer_ip);
      g_string_append (o, ",\"direction\":\"");
      g_string_append (o, nb_mgmt_direction_to_string (r->direction));
      g_string_append (o, "\",\"action\":\"");
      g_string_append (o, nb_mgmt_rule_action_to_string (r->action));
      g_string_append (o, "\",\"protocol\":\"");
      g_string_append (o, nb_mgmt_protocol_to_string (r->protocol));
      g_string_append_c (o, '"');
      if (r->port != 0)
        {
          g_string_append (o, ",\"port\":\"");
          json_uint (o, r->port);
          g_string_append_c (o, '"');
        }
      if (r->port_range.start != 0)
        {
          g_string_append (o, ",\"port_range\":{\"start\":");
          json_uint (o, r->port_range.start);
          g_string_append (o, ",\"end\":");
          json_uint (o, r->port_range.end);
          g_string_append_c (o, '}');
        }
      g_string_append (o, ",\"policy_id\":");
      json_str (o, r->policy_id);
      g_string_append_c (o, '}');
    }
  g_string_append (o, "],\"routes\":[");
  for (guint i = 0; i < map->routes->len; i++)
    {
      const NbMgmtRouteEntry *r = map->routes->pdata[i];

      if (i > 0)
        g_string_append_c (o, ',');
      g_string_append (o, "{\"id\":");
      json_str (o, r->id);
      g_string_append (o, ",\"net_id\":");
      json_str (o, r->network_id);
      g_string_append (o, ",\"network\":");
      json_str (o, r->network);
      g_string_append (o, ",\"domains\":");
      json_strv (o, r->domains);
      g_string_append (o, ",\"peer\":");
      json_str (o, r->peer_key);
      g_string_append_printf (o, ",\"metric\":%d,\"masquerade\":%s,\"keep_route\":%s}", r->metric,
                              r->masquerade ? "true" : "false", r->keep_route ? "true" : "false");
    }
  g_string_append_printf (o, "],\"dns_config\":{\"service_enable\":%s,\"nameserver_groups\":[",
                          map->dns_enabled ? "true" : "false");
  for (guint i = 0; i < map->nameserver_groups->len; i++)
    {
      const NbMgmtNameserverGroup *g = map->nameserver_groups->pdata[i];

      if (i > 0)
        g_string_append_c (o, ',');
      g_string_append (o, "{\"nameservers\":[");
      for (guint k = 0; k < g->nameservers->len; k++)
        {
          const NbMgmtNameserver *n = g->nameservers->pdata[k];
          if (k > 0)
            g_string_append_c (o, ',');
          g_string_append (o, "{\"ip\":");
          json_str (o, n->ip);
          g_string_append (o, ",\"ns_type\":");
          json_str (o, n->ns_type);
          g_string_append_printf (o, ",\"port\":%d}", n->port);
        }
      g_string_append_printf (o, "],\"primary\":%s,\"domains\":", g->primary ? "true" : "false");
      json_strv (o, g->domains);
      g_string_append_printf (o, ",\"search_domains_enabled\":%s}", g->search_domains_enabled ? "true" : "false");
    }
  g_string_append (o, "],\"custom_zones\":[{\"domain\":");
  json_str (o, map->dns_domain);
  g_string_append (o, ",\"records\":[");
  for (guint i = 0; i < map->dns_records->len; i++)
    {
      const NbMgmtDnsRecord *r = map->dns_records->pdata[i];

      if (i > 0)
        g_string_append_c (o, ',');
      g_string_append (o, "{\"name\":");
      json_str (o, r->name);
      g_string_append (o, ",\"type\":");
      json_uint (o, (guint) r->type);
      g_string_append (o, ",\"class\":");
      json_str (o, r->class_);
      g_string_append (o, ",\"ttl\":");
      json_uint (o, (guint) r->ttl);
      g_string_append (o, ",\"rdata\":");
      json_str (o, r->rdata);
      g_string_append_c (o, '}');
    }
  g_string_append (o, "]}]}}");
  len = o->len;
  if (out_len != NULL)
    *out_len = len;
  return g_string_free (o, FALSE);
}
