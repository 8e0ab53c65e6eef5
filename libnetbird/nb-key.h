/* nb-key.h: WireGuard (X25519) keys
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#if !defined(__NETBIRD_H_INSIDE__) && !defined(NB_COMPILATION)
#error "Only <netbird.h> can be included directly."
#endif

#include <glib-object.h>
#include "nb-export.h"

G_BEGIN_DECLS

/**
 * NB_KEY_LEN:
 *
 * The length in bytes of a WireGuard key, private or public.
 */
#define NB_KEY_LEN 32

/**
 * NB_KEY_BASE64_LEN:
 *
 * The length of a key in its base64 form, as `wg genkey` prints it, without
 * the terminating NUL.
 */
#define NB_KEY_BASE64_LEN 44

/**
 * NB_KEY_ERROR:
 *
 * The error domain of key parsing and key files.
 */
#define NB_KEY_ERROR (nb_key_error_quark ())

/**
 * NbKeyError:
 * @NB_KEY_ERROR_INVALID_BASE64: the text is not the 44-character base64 form
 *   of a 32-byte key
 * @NB_KEY_ERROR_INVALID_LENGTH: raw key material is not 32 bytes long
 * @NB_KEY_ERROR_NO_PRIVATE_KEY: the operation needs the private half, and the
 *   key holds only the public one
 * @NB_KEY_ERROR_INSECURE_FILE: a private key file can be read by other users
 *
 * Errors of #NbKey.
 */
typedef enum {
  NB_KEY_ERROR_INVALID_BASE64,
  NB_KEY_ERROR_INVALID_LENGTH,
  NB_KEY_ERROR_NO_PRIVATE_KEY,
  NB_KEY_ERROR_INSECURE_FILE,
} NbKeyError;

NB_AVAILABLE_IN_ALL
GQuark nb_key_error_quark (void);

#define NB_TYPE_KEY (nb_key_get_type ())

NB_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (NbKey, nb_key, NB, KEY, GObject)

NB_AVAILABLE_IN_ALL
NbKey         *nb_key_generate               (void);
NB_AVAILABLE_IN_ALL
NbKey         *nb_key_new_from_base64        (const char    *private_base64,
                                              GError       **error);
NB_AVAILABLE_IN_ALL
NbKey         *nb_key_new_public_from_base64 (const char    *public_base64,
                                              GError       **error);
NB_AVAILABLE_IN_ALL
NbKey         *nb_key_new_from_data          (const guint8  *private_key,
                                              gsize          length,
                                              GError       **error);
NB_AVAILABLE_IN_ALL
NbKey         *nb_key_new_public_from_data   (const guint8  *public_key,
                                              gsize          length,
                                              GError       **error);
NB_AVAILABLE_IN_ALL
NbKey         *nb_key_new_from_file          (const char    *path,
                                              GError       **error);
NB_AVAILABLE_IN_ALL
gboolean       nb_key_save_to_file           (NbKey         *self,
                                              const char    *path,
                                              GError       **error);

NB_AVAILABLE_IN_ALL
gboolean       nb_key_has_private            (NbKey         *self);
NB_AVAILABLE_IN_ALL
char          *nb_key_dup_private_base64     (NbKey         *self,
                                              GError       **error);
NB_AVAILABLE_IN_ALL
const char    *nb_key_get_public_base64      (NbKey         *self);
NB_AVAILABLE_IN_ALL
const guint8  *nb_key_get_public_data        (NbKey         *self,
                                              gsize         *length);
NB_AVAILABLE_IN_ALL
NbKey         *nb_key_dup_public             (NbKey         *self);

NB_AVAILABLE_IN_ALL
gboolean       nb_key_equal                  (NbKey         *a,
                                              NbKey         *b);
NB_AVAILABLE_IN_ALL
guint          nb_key_hash                   (NbKey         *self);

G_END_DECLS
