/* nb-error.h: the library's general error domain
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

/**
 * NB_ERROR:
 *
 * The error domain for failures that belong to no narrower area. Each area
 * has its own domain besides: %NB_KEY_ERROR, %NB_ENVELOPE_ERROR, and so on.
 */
#define NB_ERROR (nb_error_quark ())

/**
 * NbError:
 * @NB_ERROR_FAILED: an operation failed for a reason the message explains
 * @NB_ERROR_INVALID_ARGUMENT: an argument given by the caller is not valid
 * @NB_ERROR_NOT_SUPPORTED: the operation is not supported here (kernel,
 *   platform or build options)
 * @NB_ERROR_PERMISSION_DENIED: the operation needs privileges the process
 *   does not have (for example CAP_NET_ADMIN for a TUN device)
 *
 * General errors of libnetbird.
 */
typedef enum {
  NB_ERROR_FAILED,
  NB_ERROR_INVALID_ARGUMENT,
  NB_ERROR_NOT_SUPPORTED,
  NB_ERROR_PERMISSION_DENIED,
} NbError;

NB_AVAILABLE_IN_ALL
GQuark nb_error_quark (void);

G_END_DECLS
