/* nb-proto.h: the public headers of the proto layer
 *
 * The messages themselves (nb-mgmt-proto-private.h, ...) are plain C
 * structs used inside the library; what leaves it is their error domain.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#if !defined(__NETBIRD_H_INSIDE__) && !defined(NB_COMPILATION)
#error "Only <netbird.h> can be included directly."
#endif

#include "nb-proto-error.h"
#include "nb-proto-enum-types.h"
