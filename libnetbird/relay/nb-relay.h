/* nb-relay.h: the public headers of the Relay layer
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#if !defined(__NETBIRD_H_INSIDE__) && !defined(NB_COMPILATION)
#error "Only <netbird.h> can be included directly."
#endif

#include "nb-relay-client.h"
#include "nb-relay-server.h"
#include "nb-relay-enum-types.h"
