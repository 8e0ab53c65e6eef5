/* nb-sodium-private.h: libsodium start-up, shared by the library's files
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Initialises libsodium once per process; safe from any thread. */
void nb_sodium_ensure_init (void);

G_END_DECLS
