/* nb-dns-zone.c: the names this peer answers for, as an immutable snapshot
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * Built once from the network map, then only read: lookups from the
 * resolver's threads need no lock. A new map builds a new zone, which the
 * resolver swaps in under its reference count.
 */
#define G_LOG_DOMAIN "netbird-dns"

#include "nb-dns-private.h"

#include <string.h>

/* A name in lowercase wire form: the hash key. */
typedef struct
{
  guint8 len;
  guint8 data[LDNS_MAX_DOMAINLEN + 1];
} NameKey;

typedef struct
{
  NameKey    key;
  GPtrArray *rrs;   /* ldns_rr, owned */
} Node;

struct _NbDnsZone
{
  gint        ref_count;
  GHashTable *nodes;      /* NameKey * -> Node * */
  GPtrArray  *domains;    /* ldns_rdf: the zones we are authoritative for */
  GPtrArray  *soas;       /* ldns_rr: one SOA per domain, same index */
  guint       n_records;
};

G_DEFINE_QUARK (nb-dns-error-quark, nb_dns_error)

static gboolean
name_key_fill (NameKey *key, const ldns_rdf *name)
{
  size_t size = ldns_rdf_size (name);
  const guint8 *data = ldns_rdf_data (name);

  if (ldns_rdf_get_type (name) != LDNS_RDF_TYPE_DNAME || size == 0 || size > sizeof key->data)
    return FALSE;
  key->len = (guint8) (size - 1);
  for (size_t i = 0; i < size; i++)
    key->data[i] = (guint8) g_ascii_tolower (data[i]);
  return TRUE;
}

static guint
name_key_hash (gconstpointer p)
{
  const NameKey *key = p;
  guint h = 5381;

  for (guint i = 0; i <= key->len; i++)
    h = h * 33 + key->data[i];
  return h;
}

static gboolean
name_key_equal (gconstpointer a, gconstpointer b)
{
  const NameKey *x = a, *y = b;

  return x->len == y->len && memcmp (x->data, y->data, x->len + 1u) == 0;
}

static void
node_free (gpointer p)
{
  Node *node = p;

  g_ptr_array_unref (node->rrs);
  g_free (node);
}

static void
rr_free (gpointer p)
{
  ldns_rr_free (p);
}

static void
rdf_free (gpointer p)
{
  ldns_rdf_deep_free (p);
}

NbDnsZone *
nb_dns_zone_new (void)
{
  NbDnsZone *zone = g_new0 (NbDnsZone, 1);

  zone->ref_count = 1;
  zone->nodes = g_hash_table_new_full (name_key_hash, name_key_equal, NULL, node_free);
  zone->domains = g_ptr_array_new_with_free_func (rdf_free);
  zone->soas = g_ptr_array_new_with_free_func (rr_free);
  return zone;
}

NbDnsZone *
nb_dns_zone_ref (NbDnsZone *zone)
{
  g_atomic_int_inc (&zone->ref_count);
  return zone;
}

void
nb_dns_zone_unref (NbDnsZone *zone)
{
  if (zone == NULL || !g_atomic_int_dec_and_test (&zone->ref_count))
    return;
  g_hash_table_unref (zone->nodes);
  g_ptr_array_unref (zone->domains);
  g_ptr_array_unref (zone->soas);
  g_free (zone);
}

guint
nb_dns_zone_get_n_records (const NbDnsZone *zone)
{
  return zone->n_records;
}

void
nb_dns_zone_add_domain (NbDnsZone  *zone,
                        const char *domain)
{
  ldns_rdf *rdf = NULL;
  ldns_rr *soa = NULL;
  g_autofree char *text = NULL;

  if (ldns_str2rdf_dname (&rdf, domain) != LDNS_STATUS_OK)
    {
      g_warning ("DNS zone: ignoring domain “%s”: not a domain name", domain);
      return;
    }
  ldns_dname2canonical (rdf);
  for (guint i = 0; i < zone->domains->len; i++)
    if (ldns_dname_compare (rdf, zone->domains->pdata[i]) == 0)
      {
        ldns_rdf_deep_free (rdf);
        return;
      }

  /* RFC 2308 §5: a negative answer is cached for the SOA's minimum, so it
   * gets the zone's TTL too: a name that appears is seen as fast as one
   * that goes. */
  g_autofree char *name = ldns_rdf2str (rdf);
  text = g_strdup_printf ("%s %d IN SOA ns.%s hostmaster.%s 1 3600 600 86400 %d",
                          name, NB_DNS_ZONE_TTL, strcmp (name, ".") == 0 ? "" : name,
                          strcmp (name, ".") == 0 ? "" : name, NB_DNS_ZONE_TTL);
  if (ldns_rr_new_frm_str (&soa, text, 0, NULL, NULL) != LDNS_STATUS_OK)
    {
      g_warning ("DNS zone: ignoring domain “%s”: no SOA for it", domain);
      ldns_rdf_deep_free (rdf);
      return;
    }
  g_ptr_array_add (zone->domains, rdf);
  g_ptr_array_add (zone->soas, soa);
}

static void
zone_add_rr (NbDnsZone *zone, ldns_rr *rr)
{
  NameKey key;
  Node *node;

  if (!name_key_fill (&key, ldns_rr_owner (rr)))
    {
      ldns_rr_free (rr);
      return;
    }
  node = g_hash_table_lookup (zone->nodes, &key);
  if (node == NULL)
    {
      node = g_new0 (Node, 1);
      node->key = key;
      node->rrs = g_ptr_array_new_with_free_func (rr_free);
      g_hash_table_insert (zone->nodes, &node->key, node);
    }
  for (guint i = 0; i < node->rrs->len; i++)
    if (ldns_rr_compare (node->rrs->pdata[i], rr) == 0)
      {
        ldns_rr_free (rr);
        return;
      }
  g_ptr_array_add (node->rrs, rr);
  zone->n_records++;
}

gboolean
nb_dns_zone_add_record (NbDnsZone  *zone,
                        const char *name,
                        guint16     rr_type,
                        guint32     ttl,
                        const char *rdata,
                        GError    **error)
{
  ldns_rr *rr = NULL;
  g_autofree char *type_name = ldns_rr_type2str ((ldns_rr_type) rr_type);
  g_autofree char *text = NULL;
  ldns_status status;

  if (name == NULL || rdata == NULL || *name == '\0' || strchr (name, ' ') || strchr (name, '\n') ||
      strchr (rdata, '\n') || rr_type == LDNS_RR_TYPE_SOA)
    {
      g_set_error (error, NB_DNS_ERROR, NB_DNS_ERROR_INVALID,
                   "DNS record “%s” cannot be served: bad name or data", name ? name : "");
      return FALSE;
    }
  ttl = MIN (ttl, NB_DNS_ZONE_TTL);
  text = g_strdup_printf ("%s%s %u IN %s %s", name,
                          g_str_has_suffix (name, ".") ? "" : ".", ttl, type_name, rdata);
  status = ldns_rr_new_frm_str (&rr, text, 0, NULL, NULL);
  if (status != LDNS_STATUS_OK)
    {
      g_set_error (error, NB_DNS_ERROR, NB_DNS_ERROR_INVALID,
                   "DNS record “%s %s %s” cannot be served: %s", name, type_name, rdata,
                   ldns_get_errorstr_by_id (status));
      return FALSE;
    }
  ldns_dname2canonical (ldns_rr_owner (rr));

  if (rr_type == LDNS_RR_TYPE_A || rr_type == LDNS_RR_TYPE_AAAA)
    {
      ldns_rdf *reverse = ldns_rdf_address_reverse (ldns_rr_rdf (rr, 0));
      ldns_rr *ptr = reverse ? ldns_rr_new () : NULL;

      if (ptr != NULL)
        {
          ldns_rr_set_owner (ptr, reverse);
          ldns_rr_set_type (ptr, LDNS_RR_TYPE_PTR);
          ldns_rr_set_class (ptr, LDNS_RR_CLASS_IN);
          ldns_rr_set_ttl (ptr, ttl);
          ldns_rr_push_rdf (ptr, ldns_rdf_clone (ldns_rr_owner (rr)));
          zone_add_rr (zone, ptr);
        }
    }
  zone_add_rr (zone, rr);
  return TRUE;
}

NbDnsZone *
nb_dns_zone_new_from_config (const NbMgmtMsgDnsConfig *config)
{
  NbDnsZone *zone = nb_dns_zone_new ();

  if (config == NULL || config->custom_zones == NULL)
    return zone;
  for (guint i = 0; i < config->custom_zones->len; i++)
    {
      const NbMgmtMsgCustomZone *cz = config->custom_zones->pdata[i];

      if (cz == NULL || cz->domain == NULL)
        continue;
      nb_dns_zone_add_domain (zone, cz->domain);
      for (guint j = 0; cz->records != NULL && j < cz->records->len; j++)
        {
          const NbMgmtMsgSimpleRecord *r = cz->records->pdata[j];
          g_autoptr (GError) error = NULL;

          if (r->type < 1 || r->type > G_MAXUINT16 ||
              (r->class_ != NULL && *r->class_ != '\0' && g_ascii_strcasecmp (r->class_, "IN") != 0))
            {
              g_warning ("DNS zone %s: skipping record “%s” of type %" G_GINT64_FORMAT,
                         cz->domain, r->name, r->type);
              continue;
            }
          if (!nb_dns_zone_add_record (zone, r->name, (guint16) r->type,
                                       (guint32) CLAMP (r->ttl, 0, G_MAXINT32), r->rdata, &error))
            g_warning ("DNS zone %s: skipping a record: %s", cz->domain, error->message);
        }
    }
  return zone;
}

NbDnsZoneResult
nb_dns_zone_lookup (const NbDnsZone *zone,
                    const ldns_rdf  *qname,
                    ldns_rr_type     qtype,
                    GPtrArray      **out_rrs,
                    const ldns_rr  **out_soa)
{
  NameKey key;
  const Node *node = NULL;

  *out_rrs = NULL;
  *out_soa = NULL;
  if (zone != NULL && name_key_fill (&key, qname))
    node = g_hash_table_lookup (zone->nodes, &key);

  if (node != NULL)
    {
      gboolean match = FALSE;

      for (guint i = 0; i < node->rrs->len && !match; i++)
        {
          ldns_rr_type t = ldns_rr_get_type (node->rrs->pdata[i]);
          match = (t == qtype || qtype == LDNS_RR_TYPE_ANY || t == LDNS_RR_TYPE_CNAME);
        }
      if (match)
        {
          *out_rrs = node->rrs;
          return NB_DNS_ZONE_HIT;
        }
    }

  /* The owning domain: the longest one @qname is under. */
  const ldns_rr *soa = NULL;
  size_t best = 0;
  for (guint i = 0; zone != NULL && i < zone->domains->len; i++)
    {
      const ldns_rdf *d = zone->domains->pdata[i];

      if ((ldns_dname_compare (qname, d) == 0 || ldns_dname_is_subdomain (qname, d)) &&
          ldns_rdf_size (d) >= best)
        {
          best = ldns_rdf_size (d);
          soa = zone->soas->pdata[i];
        }
    }

  if (node != NULL)
    {
      *out_soa = soa;
      return NB_DNS_ZONE_NODATA;
    }
  if (soa == NULL)
    return NB_DNS_ZONE_NOT_OURS;
  *out_soa = soa;
  return NB_DNS_ZONE_NXDOMAIN;
}
