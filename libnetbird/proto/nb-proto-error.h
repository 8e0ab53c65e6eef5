/* nb-proto-error.h: errors of the wire-message codecs
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
 * NB_PROTO_ERROR:
 *
 * The error domain of the messages that cross the network (Management's
 * client protocol, later Signal and Relay): a message that cannot be read
 * fails with one of #NbProtoError and changes nothing.
 */
#define NB_PROTO_ERROR (nb_proto_error_quark ())

/**
 * NbProtoError:
 * @NB_PROTO_ERROR_TOO_LARGE: the message, or a string, an array or a nesting
 *   level in it, is larger than the protocol allows
 * @NB_PROTO_ERROR_MALFORMED: the message is not well-formed JSON, or is not a
 *   JSON object where one is expected
 * @NB_PROTO_ERROR_MISSING_FIELD: a field the message must carry is absent
 * @NB_PROTO_ERROR_WRONG_TYPE: a field holds a JSON type other than its own
 *   (a number where a string belongs, ...)
 * @NB_PROTO_ERROR_INVALID_VALUE: a field has the right type but a value out
 *   of its range or form (a key that is not 32 bytes of base64, an address
 *   that is not an IP address, an unknown enumeration name...)
 * @NB_PROTO_ERROR_OUT_OF_RANGE: a number in the text is an integer that
 *   does not fit in 64 bits, or a fraction that is not finite
 *
 * Errors of the wire-message codecs.
 */
typedef enum {
  NB_PROTO_ERROR_TOO_LARGE,
  NB_PROTO_ERROR_MALFORMED,
  NB_PROTO_ERROR_MISSING_FIELD,
  NB_PROTO_ERROR_WRONG_TYPE,
  NB_PROTO_ERROR_INVALID_VALUE,
  NB_PROTO_ERROR_OUT_OF_RANGE,
} NbProtoError;

NB_AVAILABLE_IN_ALL
GQuark nb_proto_error_quark (void);

G_END_DECLS
