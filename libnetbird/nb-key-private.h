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

/* TRUE when @text is a key in its one canonical base64 form, exactly what
 * nb_key_new_public_from_base64() accepts, without making a key: for
 * parsers that only check a field (a Signal server reads two per
 * message). */
gboolean      nb_key_base64_is_valid  (const char *text);

G_END_DECLS
