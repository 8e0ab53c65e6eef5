/* nb-signal.h: the public headers of the Signal layer
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#if !defined(__NETBIRD_H_INSIDE__) && !defined(NB_COMPILATION)
#error "Only <netbird.h> can be included directly."
#endif

#include "nb-signal-message.h"
#include "nb-signal-client.h"
#include "nb-signal-server.h"
#include "nb-signal-enum-types.h"
