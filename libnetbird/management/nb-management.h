/* nb-management.h: the public headers of the management layer
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#if !defined(__NETBIRD_H_INSIDE__) && !defined(NB_COMPILATION)
#error "Only <netbird.h> can be included directly."
#endif

#include "nb-management-server.h"
#include "nb-management-server-enum-types.h"
