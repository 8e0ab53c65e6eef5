/* nb-export.h: symbol visibility for the public API
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#if !defined(__NETBIRD_H_INSIDE__) && !defined(NB_COMPILATION)
#error "Only <netbird.h> can be included directly."
#endif

/* Every public function is declared with NB_AVAILABLE_IN_ALL. The library is
 * compiled with -fvisibility=hidden, so anything not marked stays inside. */
#if defined(NB_COMPILATION) && defined(__GNUC__)
#define NB_AVAILABLE_IN_ALL __attribute__ ((visibility ("default"))) extern
#else
#define NB_AVAILABLE_IN_ALL extern
#endif
