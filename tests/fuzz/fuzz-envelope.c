/* fuzz-envelope.c: nb_envelope_open on any input
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <stdint.h>

#include "netbird.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* A fixed recipient, so that the seeds sealed to it (corpus/envelope, made
 * by make-envelope-seeds.py) reach the authenticated paths too. */
static const guint8 recipient_private[32] = {
  0x58, 0x38, 0x1a, 0x87, 0x2c, 0x6e, 0x0a, 0x45, 0x61, 0x64, 0x33, 0x0e, 0x8a, 0x11, 0x7d, 0x4c,
  0x90, 0x12, 0x5f, 0xb2, 0x4c, 0x19, 0x22, 0x0b, 0x3d, 0xa0, 0x47, 0x5a, 0x77, 0x2b, 0x39, 0x5e,
};

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  static NbKey *recipient;
  g_autoptr(GBytes) envelope = g_bytes_new_static (data, size);
  g_autoptr(GBytes) opened = NULL;
  g_autoptr(NbKey) sender = NULL;
  g_autoptr(GError) error = NULL;

  if (recipient == NULL)
    recipient = nb_key_new_from_data (recipient_private, sizeof recipient_private, NULL);

  opened = nb_envelope_open (recipient, envelope, &sender, &error);
  g_assert ((opened == NULL) != (error == NULL));
  g_assert ((opened == NULL) == (sender == NULL));
  if (error != NULL)
    g_assert_true (error->domain == NB_ENVELOPE_ERROR);

  return 0;
}
