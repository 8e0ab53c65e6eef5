/* fuzz-mgmt-proto.c: the client protocol's message parsers on any input
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * Each message a server or a client reads from the other side: the parse
 * either gives a message or an NB_PROTO_ERROR, never both, a message it
 * gives writes back to JSON that parses again to the same bytes, and no
 * string of the input was cut short on the way in.
 */
#include <stdint.h>
#include <string.h>

#include "nb-mgmt-proto-private.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Decodes each JSON string of @data (text the parser accepted) on its own,
 * by RFC 8259 §7, and says whether one of them was cut on the way in: it
 * holds an escape json-glib's lenient scanner reads its own way ("\u000g"
 * decodes to a NUL there), or it decodes to more bytes than its C string
 * holds, that is, to a NUL. json-glib hands strings over as C strings, so
 * such a string would reach a message cut short, and the round trip below
 * could not tell: a cut message writes and reads back the same. */
static gboolean
some_string_is_cut (const guint8 *data,
                    gsize         size)
{
  g_autoptr(GString) decoded = g_string_new (NULL);
  gboolean in_string = FALSE;

  for (gsize i = 0; i < size; i++)
    {
      if (!in_string)
        {
          if (data[i] == '"')
            {
              in_string = TRUE;
              g_string_truncate (decoded, 0);
            }
          continue;
        }
      if (data[i] == '"')
        {
          in_string = FALSE;
          if (strlen (decoded->str) != decoded->len)
            return TRUE;
        }
      else if (data[i] == '\\' && i + 1 < size)
        {
          const char *simple = strchr ("\"\\/bfnrt", data[i + 1]);

          if (data[i + 1] == 'u')
            {
              char hex[5] = { 0 };

              if (i + 5 >= size)
                return TRUE;
              memcpy (hex, data + i + 2, 4);
              for (guint j = 0; j < 4; j++)
                if (!g_ascii_isxdigit (hex[j]))
                  return TRUE;
              g_string_append_unichar (decoded, (gunichar) g_ascii_strtoull (hex, NULL, 16));
              i += 5;
            }
          else if (simple != NULL && data[i + 1] != '\0')
            {
              g_string_append_c (decoded, (char) data[i + 1]);
              i++;
            }
          else
            {
              return TRUE;
            }
        }
      else
        {
          g_string_append_c (decoded, (char) data[i]);
        }
    }
  return FALSE;
}

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
        gsize size_ = 0;                                                           \
        const guint8 *data_ = g_bytes_get_data ((bytes), &size_);                  \
        g_autoptr(GBytes) written = type_name##_to_bytes (message);                \
        g_autoptr(TypeName) again = type_name##_from_bytes (written, &error);      \
        g_autoptr(GBytes) rewritten = NULL;                                        \
                                                                                   \
        g_assert_false (some_string_is_cut (data_, size_));                        \
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
