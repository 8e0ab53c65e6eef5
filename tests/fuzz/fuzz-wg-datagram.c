/* fuzz-wg-datagram.c: what a WireGuard device does with any datagram
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * Two devices in one process, joined by channel transports that only
 * record what they are given. At the start A and B complete a real
 * handshake and A sends data, which leaves valid messages of each kind.
 * Each input then goes to a device through the same path as a relay's
 * datagrams: as it is (first byte 0), or as one of the recorded messages
 * with the input XORed over it, so that the fuzzer reaches the MAC,
 * handshake, decryption, replay and cryptokey-routing checks and not only
 * the length checks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nb-wg-device-private.h"
#include "nb-wg-internal.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

typedef struct {
  NbWgDevice *dev;
  NbWgPeer *peer;
  GPtrArray *sent;         /* of GBytes: what this side's channel was given */
} Side;

static Side a, b;
static GBytes *templates[4]; /* initiation (to B), response (to A), keepalive, data (to B) */

static gboolean
record (const guint8 *data, gsize len, gpointer user_data)
{
  Side *side = user_data;

  g_ptr_array_add (side->sent, g_bytes_new (data, len));
  return TRUE;
}

static void
drop_packet (NbWgDevice *device, NbWgPeer *peer, const guint8 *packet, gsize len,
             gpointer user_data)
{
}

static void
side_init (Side *side, guint8 seed)
{
  guint8 secret[32];
  g_autoptr(NbKey) key = NULL;

  memset (secret, seed, sizeof secret);
  key = nb_key_new_from_data (secret, sizeof secret, NULL);
  side->dev = nb_wg_device_new (NULL);
  side->sent = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_assert_true (nb_wg_device_set_private_key (side->dev, key, NULL));
  nb_wg_device_set_packet_func (side->dev, drop_packet, NULL);
  /* Never "under load": every handshake message gets the full checks
   * instead of a cookie reply to an address a relay does not have. */
  nb_wg_device_set_under_load_threshold (side->dev, G_MAXUINT);
}

static void
connect_sides (Side *from, Side *to, const char *allowed)
{
  g_autoptr(NbKey) public = nb_key_dup_public (nb_wg_device_get_private_key (to->dev));
  g_autoptr(GInetAddressMask) prefix = g_inet_address_mask_new_from_string (allowed, NULL);

  from->peer = nb_wg_device_add_peer (from->dev, public, NULL);
  g_assert_nonnull (from->peer);
  g_assert_true (nb_wg_peer_add_allowed_ip (from->peer, prefix, NULL));
  nb_wg_peer_set_transport (from->peer, nb_wg_transport_new_channel (record, from, NULL));
}

/* Hands @side's last recorded datagram to the other side. */
static GBytes *
deliver_last (Side *from, Side *to)
{
  GBytes *last;
  gsize len;
  g_autofree guint8 *copy = NULL;

  g_assert_cmpuint (from->sent->len, >, 0);
  last = g_bytes_ref (g_ptr_array_index (from->sent, from->sent->len - 1));
  copy = g_bytes_unref_to_data (g_bytes_ref (last), &len);
  nb_wg_device_receive_from_transport (to->dev, to->peer, copy, len);
  return last;
}

/* With NB_FUZZ_VERBOSE set: how far the inputs got, by B's counters. */
static void
print_reach (void)
{
  static const struct { NbWgCounter counter; const char *name; } shown[] = {
    { NB_WG_COUNTER_RX_DATAGRAMS, "datagrams" },
    { NB_WG_COUNTER_RX_DROP_MALFORMED, "malformed" },
    { NB_WG_COUNTER_RX_DROP_MAC1, "bad mac1" },
    { NB_WG_COUNTER_RX_DROP_HANDSHAKE, "handshake refused" },
    { NB_WG_COUNTER_RX_HANDSHAKE_INITIATIONS, "initiations taken" },
    { NB_WG_COUNTER_RX_DROP_UNKNOWN_INDEX, "unknown index" },
    { NB_WG_COUNTER_RX_DROP_DECRYPT, "not authentic" },
    { NB_WG_COUNTER_RX_DROP_REPLAY, "replayed" },
    { NB_WG_COUNTER_RX_DATA_PACKETS, "data accepted" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (shown); i++)
    g_printerr ("%s=%" G_GUINT64_FORMAT "%s", shown[i].name,
                nb_wg_device_get_counter (b.dev, shown[i].counter),
                i + 1 < G_N_ELEMENTS (shown) ? ", " : "\n");
}

static void
setup (void)
{
  static const guint8 packet[28] = {
    0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 100, 64, 0, 1, 100, 64, 0, 2,
    0x9c, 0x40, 0, 53, 0, 8, 0, 0,
  };

  side_init (&a, 0x11);
  side_init (&b, 0x22);
  connect_sides (&a, &b, "100.64.0.2/32");
  connect_sides (&b, &a, "100.64.0.1/32");
  g_assert_true (nb_wg_device_up (a.dev, NULL));
  g_assert_true (nb_wg_device_up (b.dev, NULL));

  nb_wg_peer_initiate_handshake (a.peer);
  templates[0] = deliver_last (&a, &b);     /* initiation; B answers */
  templates[1] = deliver_last (&b, &a);     /* response; A confirms */
  templates[2] = deliver_last (&a, &b);     /* keepalive */
  g_assert_true (nb_wg_device_inject_packet (a.dev, packet, sizeof packet));
  templates[3] = deliver_last (&a, &b);     /* data */
  g_assert_cmpuint (nb_wg_device_get_counter (b.dev, NB_WG_COUNTER_RX_DATA_PACKETS), >=, 1);
  if (g_getenv ("NB_FUZZ_VERBOSE") != NULL)
    atexit (print_reach);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  static gboolean ready;
  g_autofree guint8 *datagram = NULL;
  gsize len;
  Side *to;

  if (!ready)
    {
      setup ();
      ready = TRUE;
    }
  if (size == 0)
    return 0;

  if (data[0] % 5 == 0)
    {
      datagram = g_memdup2 (data + 1, size - 1);
      len = size - 1;
      to = (data[0] & 0x80) ? &a : &b;
    }
  else
    {
      guint which = data[0] % 5 - 1;
      const guint8 *t = g_bytes_get_data (templates[which], &len);

      datagram = g_memdup2 (t, len);
      /* Past the type and reserved bytes, which raw inputs cover: the
       * mutations should reach what lies behind the message's framing. */
      for (gsize i = 1; i < size; i++)
        datagram[4 + (i - 1) % (len - 4)] ^= data[i];
      /* The high bit asks for a cut: every length below the template's. */
      if ((data[0] & 0x80) && size > 1)
        len = data[1] % len;
      to = which == 1 ? &a : &b;
    }
  nb_wg_device_receive_from_transport (to->dev, to->peer, datagram, len);
  g_ptr_array_set_size (a.sent, 0);
  g_ptr_array_set_size (b.sent, 0);
  return 0;
}
