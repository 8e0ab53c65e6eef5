/* nb-proto-error.c: errors of the wire-message codecs
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-proto"

#include "nb-proto-error.h"

G_DEFINE_QUARK (nb-proto-error-quark, nb_proto_error)
