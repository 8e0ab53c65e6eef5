/* nb-error.c: the library's general error domain
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include "nb-error.h"

G_DEFINE_QUARK (nb-error-quark, nb_error)
