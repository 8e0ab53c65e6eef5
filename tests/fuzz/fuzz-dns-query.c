/* fuzz-dns-query.c: the resolver's query path on any input
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * What a client on the tunnel may send to port 53. Every input is dropped,
 * answered, or marked to forward; an answer is a DNS message ldns reads back,
 * carries the query's ID, and is a response; a forwarded query names its
 * question. The error writer (truncation, SERVFAIL) takes any input too.
 */
#include <stdint.h>
#include <string.h>

#include "nb-dns-private.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static NbDnsZone *zone;
static ldns_buffer *out;

static void
setup (void)
{
  if (zone != NULL)
    return;
  zone = nb_dns_zone_new ();
  nb_dns_zone_add_domain (zone, "netbird.test");
  g_assert_true (nb_dns_zone_add_record (zone, "peer1.netbird.test", LDNS_RR_TYPE_A, 300, "100.64.0.1", NULL));
  g_assert_true (nb_dns_zone_add_record (zone, "peer1.netbird.test", LDNS_RR_TYPE_AAAA, 300, "fd00::1", NULL));
  g_assert_true (nb_dns_zone_add_record (zone, "www.netbird.test", LDNS_RR_TYPE_CNAME, 300, "peer1.netbird.test.", NULL));
  out = ldns_buffer_new (LDNS_MAX_PACKETLEN);
}

static void
check_answer (const uint8_t *query, size_t size)
{
  ldns_pkt *pkt = NULL;
  const guint8 *a = ldns_buffer_begin (out);
  size_t len = ldns_buffer_limit (out);

  g_assert_cmpuint (len, >=, 12);
  g_assert_cmpint (ldns_wire2pkt (&pkt, a, len), ==, LDNS_STATUS_OK);
  g_assert_true (ldns_pkt_qr (pkt));
  g_assert_cmpint (memcmp (a, query, 2), ==, 0);
  ldns_pkt_free (pkt);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  NbDnsQueryInfo info;
  NbDnsVerdict verdict;

  setup ();
  verdict = nb_dns_query_handle (zone, data, size, out, &info);
  switch (verdict)
    {
    case NB_DNS_VERDICT_ANSWER:
      check_answer (data, size);
      break;
    case NB_DNS_VERDICT_FORWARD:
      g_assert_nonnull (info.qname);
      break;
    case NB_DNS_VERDICT_DROP:
      g_assert_null (info.qname);
      break;
    }
  nb_dns_query_info_clear (&info);

  if (size >= 12)
    {
      nb_dns_query_write_error (data, size, LDNS_RCODE_SERVFAIL, TRUE, out);
      check_answer (data, size);
    }
  return 0;
}
