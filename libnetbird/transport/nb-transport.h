/* nb-transport.h: the public headers of the transport layer
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#if !defined(__NETBIRD_H_INSIDE__) && !defined(NB_COMPILATION)
#error "Only <netbird.h> can be included directly."
#endif

#include "nb-ice-session.h"
#include "nb-transport-enum-types.h"
