/* nb-limits.h: process limits the network daemons set at start
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#if !defined(__NETBIRD_H_INSIDE__) && !defined(NB_COMPILATION)
#error "Only <netbird.h> can be included directly."
#endif

#include <glib.h>
#include "nb-export.h"

G_BEGIN_DECLS

NB_AVAILABLE_IN_ALL
guint64 nb_raise_descriptor_limit (void);

G_END_DECLS
