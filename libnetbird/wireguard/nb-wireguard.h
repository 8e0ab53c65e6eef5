/* nb-wireguard.h: the public headers of the wireguard layer
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#if !defined(__NETBIRD_H_INSIDE__) && !defined(NB_COMPILATION)
#error "Only <netbird.h> can be included directly."
#endif

#include "nb-wg-peer.h"
#include "nb-wg-device.h"
#include "nb-wg-uapi.h"
#include "nb-wg-enum-types.h"
#include "nb-wg-uapi-enum-types.h"
