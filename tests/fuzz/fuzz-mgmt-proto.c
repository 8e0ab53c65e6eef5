/* fuzz-mgmt-proto.c: the client protocol's message parsers on any input
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * Each message a server or a client reads from the other side: the parse
 * either gives a message or an NB_PROTO_ERROR, never both, and a message
 * it gives writes back to JSON that parses again to the same bytes.
 */
#include <stdint.h>

#include "nb-mgmt-proto-private.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define CHECK_MESSAGE(TypeName, type_name, bytes)                                  \
  G_STMT_START {                                                                   \
    g_autoptr(GError) error = NULL;                                                \
    g_autoptr(TypeName) message = type_name##_from_bytes ((bytes), &error);        \
                                                                                   \
    g_assert ((message == NULL) != (error == NULL));                               \
    if (message == NULL)                                                           \
      g_assert_true (error->domain == NB_PROTO_ERROR);                             \
    else                                                                           \
      {                                                                            \
        g_autoptr(GBytes) written = type_name##_to_bytes (message);                \
        g_autoptr(TypeName) again = type_name##_from_bytes (written, &error);      \
        g_autoptr(GBytes) rewritten = NULL;                                        \
                                                                                   \
        g_assert_no_error (error);                                                 \
        rewritten = type_name##_to_bytes (again);                                  \
        g_assert_true (g_bytes_equal (written, rewritten));                        \
      }                                                                            \
  } G_STMT_END

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GBytes) bytes = g_bytes_new_static (data, size);

  /* What the server reads. */
  CHECK_MESSAGE (NbMgmtMsgLoginRequest, nb_mgmt_msg_login_request, bytes);
  CHECK_MESSAGE (NbMgmtMsgSyncRequest, nb_mgmt_msg_sync_request, bytes);
  /* What a client reads. */
  CHECK_MESSAGE (NbMgmtMsgServerKeyResponse, nb_mgmt_msg_server_key_response, bytes);
  CHECK_MESSAGE (NbMgmtMsgLoginResponse, nb_mgmt_msg_login_response, bytes);
  CHECK_MESSAGE (NbMgmtMsgSyncResponse, nb_mgmt_msg_sync_response, bytes);
  CHECK_MESSAGE (NbMgmtMsgErrorResponse, nb_mgmt_msg_error_response, bytes);
  return 0;
}
