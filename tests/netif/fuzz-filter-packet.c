/* fuzz-filter-packet.c: any bytes through the packet filter, both ways
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * The input is an IP packet as it leaves the decryption (inbound) or the
 * TUN (outbound). The parser must stay inside it and say something
 * consistent; the filter decides on it in both directions against a rule
 * set that names the seeds' addresses, so that the connection table and
 * the ICMP error path run too, with a clock that moves on each input.
 */
#include <stdint.h>
#include <string.h>

#include "nb-filter-private.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static NbFilter *filter;
static gint64 now = G_USEC_PER_SEC;

static void
setup (void)
{
  static const char *const texts[] = {
    "in accept tcp 100.64.0.2 22", "in accept udp 100.64.0.2 1000-2000",
    "in drop tcp 0.0.0.0 25", "in accept all 100.64.0.3", "in accept icmp fd00::2",
    "out drop udp 100.64.0.9 53",
  };
  NbFilterRule rules[G_N_ELEMENTS (texts)];

  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    g_assert_true (nb_filter_rule_parse (texts[i], &rules[i], NULL));
  filter = nb_filter_new (256);
  nb_filter_swap_rules (filter, nb_filter_rule_set_compile (rules, G_N_ELEMENTS (rules), NULL));
}

static void
check_inside (const guint8 *p, gsize len, const guint8 *data, gsize size)
{
  if (p != NULL)
    g_assert_true (p >= data && p + len <= data + size);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  NbFilterPacket packet;
  NbFilterParseResult result;
  NbFilterFlowCache cache = { 0 };

  if (filter == NULL)
    setup ();
  now += 7 * G_USEC_PER_SEC;

  result = nb_filter_packet_parse (data, size, &packet);
  if (result != NB_FILTER_PARSE_MALFORMED)
    {
      g_assert_true (packet.family == 4 || packet.family == 6);
      g_assert_cmpuint (packet.address_len, ==, packet.family == 4 ? 4 : 16);
      check_inside (packet.source, packet.address_len, data, size);
      check_inside (packet.destination, packet.address_len, data, size);
      if (result == NB_FILTER_PARSE_OK && packet.icmp_kind == NB_FILTER_ICMP_ERROR &&
          packet.quoted.present)
        {
          check_inside (packet.quoted.source, packet.address_len, data, size);
          check_inside (packet.quoted.destination, packet.address_len, data, size);
        }
    }

  /* Out first, so that its reply coming in may find its entry. */
  nb_filter_outbound (filter, &cache, data, size, now);
  nb_filter_outbound (filter, &cache, data, size, now);
  memset (&cache, 0, sizeof cache);
  nb_filter_inbound (filter, &cache, data, size, now);
  nb_filter_inbound (filter, NULL, data, size, now);
  if (result == NB_FILTER_PARSE_MALFORMED)
    g_assert_cmpuint (nb_filter_get_counter (filter, NB_FILTER_COUNTER_DROP_MALFORMED), >, 0);
  return 0;
}
