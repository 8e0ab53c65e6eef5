/* nb-key-private.h: what other library files may see of an NbKey
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#include "nb-key.h"

G_BEGIN_DECLS

/* The 32 private bytes, or NULL for a public-only key. The pointer lives as
 * long as @self; callers never copy it anywhere that outlives their use. */
const guint8 *nb_key_get_private_data (NbKey *self);

G_END_DECLS
