/* netbird.h: the one header of libnetbird
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#define __NETBIRD_H_INSIDE__

#include "nb-export.h"
#include "nb-version.h"
#include "nb-error.h"
#include "nb-enum-types.h"
#include "nb-key.h"
#include "nb-envelope.h"
#include "nb-limits.h"
#include "nb-proto.h"
#include "nb-netif.h"
#include "nb-wireguard.h"
#include "nb-transport.h"
#include "nb-management.h"
#include "nb-signal.h"
#include "nb-client.h"
#include "nb-client-enum-types.h"

#undef __NETBIRD_H_INSIDE__
