/* nb-dns-query.c: one query, answered from the zone or sent on upstream
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * ldns parses what the client sent (bounds, compression pointers, loops);
 * the answer is written straight into the caller's buffer from the zone's
 * records, which are not copied.
 */
#define G_LOG_DOMAIN "netbird-dns"

#include "nb-dns-private.h"

#include <string.h>

#define HEADER_LEN 12
/* RFC 6891 §6.2.5: what we offer in our OPT record; 1232 avoids IP
 * fragmentation on every path (DNS flag day 2020). */
#define EDNS_UDP_SIZE 1232

void
nb_dns_query_info_clear (NbDnsQueryInfo *info)
{
  if (info->qname != NULL)
    ldns_rdf_deep_free (info->qname);
  memset (info, 0, sizeof *info);
}

/* RFC 1035 §4.1.1 header; the flags byte pair as the query had them,
 * turned into an answer's. */
static void
write_header (ldns_buffer  *out,
              const guint8 *query,
              guint8        rcode,
              gboolean      aa,
              gboolean      tc,
              guint16       qd,
              guint16       an,
              guint16       ns,
              guint16       ar)
{
  guint8 b2 = query[2] & 0x79;  /* opcode and RD, from the query */

  b2 |= 0x80;                   /* QR */
  if (aa)
    b2 |= 0x04;
  if (tc)
    b2 |= 0x02;
  ldns_buffer_clear (out);
  ldns_buffer_write (out, query, 2);   /* ID */
  ldns_buffer_write_u8 (out, b2);
  ldns_buffer_write_u8 (out, (guint8) (0x80 | (rcode & 0x0f)));  /* RA, rcode */
  ldns_buffer_write_u16 (out, qd);
  ldns_buffer_write_u16 (out, an);
  ldns_buffer_write_u16 (out, ns);
  ldns_buffer_write_u16 (out, ar);
}

static void
write_opt (ldns_buffer *out)
{
  /* RFC 6891 §6.1.2: root owner, type OPT, class = UDP size, TTL 0, no data */
  ldns_buffer_write_u8 (out, 0);
  ldns_buffer_write_u16 (out, LDNS_RR_TYPE_OPT);
  ldns_buffer_write_u16 (out, EDNS_UDP_SIZE);
  ldns_buffer_write_u32 (out, 0);
  ldns_buffer_write_u16 (out, 0);
}

static void
write_formerr (const guint8 *query, ldns_buffer *out)
{
  write_header (out, query, LDNS_RCODE_FORMERR, FALSE, FALSE, 0, 0, 0, 0);
  ldns_buffer_flip (out);
}

static void
write_short (const ldns_pkt *pkt,
             const guint8   *query,
             guint8          rcode,
             gboolean        truncated,
             ldns_buffer    *out)
{
  ldns_rr *q = ldns_rr_list_rr (ldns_pkt_question (pkt), 0);
  gboolean edns = ldns_pkt_edns (pkt);

  write_header (out, query, rcode, FALSE, truncated, q ? 1 : 0, 0, 0, edns ? 1 : 0);
  if (q != NULL)
    ldns_rr2buffer_wire (out, q, LDNS_SECTION_QUESTION);
  if (edns)
    write_opt (out);
  ldns_buffer_flip (out);
}

void
nb_dns_query_write_error (const guint8 *query,
                          gsize         len,
                          guint8        rcode,
                          gboolean      truncated,
                          ldns_buffer  *out)
{
  ldns_pkt *pkt = NULL;

  if (len < HEADER_LEN)
    return;
  if (ldns_wire2pkt (&pkt, query, len) != LDNS_STATUS_OK)
    {
      write_formerr (query, out);
      return;
    }
  write_short (pkt, query, rcode, truncated, out);
  ldns_pkt_free (pkt);
}

NbDnsVerdict
nb_dns_query_handle (const NbDnsZone *zone,
                     const guint8    *query,
                     gsize            len,
                     ldns_buffer     *out,
                     NbDnsQueryInfo  *info)
{
  ldns_pkt *pkt = NULL;
  ldns_rr *q;
  ldns_rr_type qtype;
  GPtrArray *rrs = NULL;
  const ldns_rr *soa = NULL;
  NbDnsVerdict verdict = NB_DNS_VERDICT_ANSWER;
  NbDnsZoneResult res;

  memset (info, 0, sizeof *info);
  info->max_udp = LDNS_MIN_BUFLEN;

  /* Too short to carry an ID, or a response (answering one could loop
   * two servers into each other): not worth a word. */
  if (len < HEADER_LEN || (query[2] & 0x80) != 0)
    {
      info->formerr = len < HEADER_LEN;
      return NB_DNS_VERDICT_DROP;
    }
  if (ldns_wire2pkt (&pkt, query, len) != LDNS_STATUS_OK)
    {
      info->formerr = TRUE;
      info->rcode = LDNS_RCODE_FORMERR;
      write_formerr (query, out);
      return NB_DNS_VERDICT_ANSWER;
    }

  if (ldns_pkt_edns (pkt))
    info->max_udp = MAX (LDNS_MIN_BUFLEN, MIN (ldns_pkt_edns_udp_size (pkt), EDNS_UDP_SIZE));

  /* RFC 1035 §4.1.2 allows several questions; nobody sends them and no
   * server answers them (RFC 9619): one, or FORMERR. */
  if (ldns_pkt_get_opcode (pkt) != LDNS_PACKET_QUERY)
    {
      info->rcode = LDNS_RCODE_NOTIMPL;
      write_short (pkt, query, LDNS_RCODE_NOTIMPL, FALSE, out);
      goto done;
    }
  if (ldns_pkt_qdcount (pkt) != 1 || ldns_pkt_ancount (pkt) != 0)
    {
      info->formerr = TRUE;
      info->rcode = LDNS_RCODE_FORMERR;
      write_formerr (query, out);
      goto done;
    }
  q = ldns_rr_list_rr (ldns_pkt_question (pkt), 0);
  qtype = ldns_rr_get_type (q);
  if (qtype == LDNS_RR_TYPE_OPT || qtype == LDNS_RR_TYPE_AXFR || qtype == LDNS_RR_TYPE_IXFR)
    {
      info->rcode = LDNS_RCODE_REFUSED;
      write_short (pkt, query, LDNS_RCODE_REFUSED, FALSE, out);
      goto done;
    }

  res = ldns_rr_get_class (q) == LDNS_RR_CLASS_IN
          ? nb_dns_zone_lookup (zone, ldns_rr_owner (q), qtype, &rrs, &soa)
          : NB_DNS_ZONE_NOT_OURS;
  switch (res)
    {
    case NB_DNS_ZONE_NOT_OURS:
      info->qname = ldns_rdf_clone (ldns_rr_owner (q));
      verdict = NB_DNS_VERDICT_FORWARD;
      break;

    case NB_DNS_ZONE_HIT:
      {
        guint16 an = 0;
        gsize an_pos;

        info->local = TRUE;
        write_header (out, query, LDNS_RCODE_NOERROR, TRUE, FALSE, 1, 0, 0,
                      ldns_pkt_edns (pkt) ? 1 : 0);
        ldns_rr2buffer_wire (out, q, LDNS_SECTION_QUESTION);
        for (guint i = 0; i < rrs->len; i++)
          {
            ldns_rr_type t = ldns_rr_get_type (rrs->pdata[i]);

            if (t == qtype || qtype == LDNS_RR_TYPE_ANY || t == LDNS_RR_TYPE_CNAME)
              {
                ldns_rr2buffer_wire (out, rrs->pdata[i], LDNS_SECTION_ANSWER);
                an++;
              }
          }
        if (ldns_pkt_edns (pkt))
          write_opt (out);
        an_pos = ldns_buffer_position (out);
        ldns_buffer_write_u16_at (out, 6, an);
        ldns_buffer_set_position (out, an_pos);
        ldns_buffer_flip (out);
        break;
      }

    case NB_DNS_ZONE_NODATA:
    case NB_DNS_ZONE_NXDOMAIN:
      {
        guint8 rcode = res == NB_DNS_ZONE_NXDOMAIN ? LDNS_RCODE_NXDOMAIN : LDNS_RCODE_NOERROR;

        info->local = TRUE;
        info->rcode = rcode;
        /* RFC 2308 §3: the owning zone's SOA in the authority section */
        write_header (out, query, rcode, TRUE, FALSE, 1, 0, soa ? 1 : 0,
                      ldns_pkt_edns (pkt) ? 1 : 0);
        ldns_rr2buffer_wire (out, q, LDNS_SECTION_QUESTION);
        if (soa != NULL)
          ldns_rr2buffer_wire (out, soa, LDNS_SECTION_AUTHORITY);
        if (ldns_pkt_edns (pkt))
          write_opt (out);
        ldns_buffer_flip (out);
        break;
      }
    }

done:
  ldns_pkt_free (pkt);
  if (verdict == NB_DNS_VERDICT_ANSWER && ldns_buffer_status (out) != LDNS_STATUS_OK)
    {
      /* the answer outgrew the buffer: tell the client to come over TCP */
      info->rcode = LDNS_RCODE_SERVFAIL;
      nb_dns_query_write_error (query, len, LDNS_RCODE_SERVFAIL, FALSE, out);
    }
  return verdict;
}
