/* nb-ice-servers.c: the STUN and TURN servers of an ICE session
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-ice"

#include <string.h>
#include <sodium.h>

#include "nb-ice-session-private.h"

void
nb_ice_server_free (gpointer data)
{
  NbIceServer *server = data;

  g_free (server->host);
  g_free (server->username);
  if (server->password != NULL)
    sodium_memzero (server->password, strlen (server->password));
  g_free (server->password);
  g_free (server);
}

/* RFC 7064 §3.1 and RFC 7065 §3.1: SCHEME:HOST[:PORT][?transport=udp|tcp] */
static NbIceServer *
parse_server_uri (const char  *uri,
                  gboolean     turn,
                  GError     **error)
{
  g_autoptr(GUri) parsed = NULL;
  g_autofree char *with_slashes = NULL;
  const char *colon = uri != NULL ? strchr (uri, ':') : NULL;
  g_autofree char *scheme = NULL;
  const char *query;
  NbIceServer *server;
  gint port;

  if (colon == NULL)
    goto invalid;
  scheme = g_ascii_strdown (uri, colon - uri);
  if (turn ? !(g_str_equal (scheme, "turn") || g_str_equal (scheme, "turns"))
           : !g_str_equal (scheme, "stun"))
    goto invalid;
  /* GUri reads a host only after "//". */
  with_slashes = g_strdup_printf ("%s://%s", scheme, colon + 1);
  parsed = g_uri_parse (with_slashes, G_URI_FLAGS_NON_DNS, NULL);
  if (parsed == NULL || g_uri_get_host (parsed) == NULL || g_uri_get_host (parsed)[0] == '\0' ||
      g_uri_get_userinfo (parsed) != NULL ||
      (g_uri_get_path (parsed)[0] != '\0'))
    goto invalid;

  server = g_new0 (NbIceServer, 1);
  server->host = g_strdup (g_uri_get_host (parsed));
  port = g_uri_get_port (parsed);
  server->port = port > 0 ? port : g_str_equal (scheme, "turns") ? 5349 : 3478;
  server->relay_type = g_str_equal (scheme, "turns") ? NICE_RELAY_TYPE_TURN_TLS
                                                      : NICE_RELAY_TYPE_TURN_UDP;
  query = g_uri_get_query (parsed);
  if (query != NULL)
    {
      if (turn && g_str_equal (query, "transport=tcp"))
        server->relay_type = server->relay_type == NICE_RELAY_TYPE_TURN_TLS
                             ? NICE_RELAY_TYPE_TURN_TLS : NICE_RELAY_TYPE_TURN_TCP;
      else if (!(turn && g_str_equal (query, "transport=udp") &&
                 server->relay_type == NICE_RELAY_TYPE_TURN_UDP))
        {
          nb_ice_server_free (server);
          goto invalid;
        }
    }
  return server;

invalid:
  g_set_error (error, NB_ICE_SESSION_ERROR, NB_ICE_SESSION_ERROR_INVALID_SERVER,
               "“%s” is not a %s server URI (like %s)", uri != NULL ? uri : "",
               turn ? "TURN" : "STUN",
               turn ? "turn:turn.example.org:3478?transport=udp" : "stun:stun.example.org:3478");
  return NULL;
}

gboolean
nb_ice_session_check_new (NbIceSession  *self,
                          GError       **error)
{
  if (self->state != NB_ICE_SESSION_STATE_NEW)
    {
      g_set_error_literal (error, NB_ICE_SESSION_ERROR, NB_ICE_SESSION_ERROR_WRONG_STATE,
                           "Servers and addresses are set before the ICE session starts");
      return FALSE;
    }
  return TRUE;
}

/**
 * nb_ice_session_add_stun_server:
 * @self: a #NbIceSession
 * @uri: `stun:HOST[:PORT]` (RFC 7064), as Management hands it out
 * @error: return location for a #GError
 *
 * Adds a STUN server to learn server-reflexive candidates from, before
 * nb_ice_session_start(). libnice asks one STUN server: the first one
 * added (TURN servers yield server-reflexive candidates too).
 *
 * Returns: %TRUE, or %FALSE with %NB_ICE_SESSION_ERROR_INVALID_SERVER
 */
gboolean
nb_ice_session_add_stun_server (NbIceSession  *self,
                                const char    *uri,
                                GError       **error)
{
  NbIceServer *server;

  g_return_val_if_fail (NB_IS_ICE_SESSION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!nb_ice_session_check_new (self, error))
    return FALSE;
  server = parse_server_uri (uri, FALSE, error);
  if (server == NULL)
    return FALSE;
  g_ptr_array_add (self->stun_servers, server);
  return TRUE;
}

/**
 * nb_ice_session_add_turn_server:
 * @self: a #NbIceSession
 * @uri: `turn:HOST[:PORT][?transport=udp|tcp]` or `turns:HOST[:PORT]`
 *   (RFC 7065)
 * @username: the TURN user name (Management's time-limited credentials)
 * @password: its password
 * @error: return location for a #GError
 *
 * Adds a TURN server to allocate a relayed candidate on, before
 * nb_ice_session_start().
 *
 * Returns: %TRUE, or %FALSE with %NB_ICE_SESSION_ERROR_INVALID_SERVER
 */
gboolean
nb_ice_session_add_turn_server (NbIceSession  *self,
                                const char    *uri,
                                const char    *username,
                                const char    *password,
                                GError       **error)
{
  NbIceServer *server;

  g_return_val_if_fail (NB_IS_ICE_SESSION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!nb_ice_session_check_new (self, error))
    return FALSE;
  if (username == NULL || username[0] == '\0' || password == NULL || password[0] == '\0')
    {
      g_set_error (error, NB_ICE_SESSION_ERROR, NB_ICE_SESSION_ERROR_INVALID_SERVER,
                   "The TURN server “%s” needs a user name and a password", uri);
      return FALSE;
    }
  server = parse_server_uri (uri, TRUE, error);
  if (server == NULL)
    return FALSE;
  server->username = g_strdup (username);
  server->password = g_strdup (password);
  g_ptr_array_add (self->turn_servers, server);
  return TRUE;
}

typedef struct
{
  NbIceSession *self;
  NbIceServer *server;
} Lookup;

static void
resolved_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Lookup *lookup = user_data;
  g_autoptr(NbIceSession) self = lookup->self;
  NbIceServer *server = lookup->server;
  g_autoptr(GError) error = NULL;
  GList *addresses = g_resolver_lookup_by_name_finish (G_RESOLVER (source), result, &error);

  g_free (lookup);
  if (addresses == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_message ("ICE server %s is left out: %s", server->host, error->message);
    }
  else
    {
      g_free (server->host);
      server->host = g_inet_address_to_string (addresses->data);
      g_resolver_free_addresses (addresses);
    }
  if (self->state != NB_ICE_SESSION_STATE_CLOSED && --self->n_resolving == 0)
    nb_ice_session_gather (self);
}

static gboolean
is_ip_literal (const char *host)
{
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string (host);

  return address != NULL;
}

/* libnice takes servers as IP addresses: the others are resolved first,
 * without blocking. */
void
nb_ice_session_resolve_servers (NbIceSession *self,
                                GPtrArray    *servers)
{
  for (guint i = 0; i < servers->len; i++)
    {
      NbIceServer *server = g_ptr_array_index (servers, i);
      g_autoptr(GResolver) resolver = NULL;
      Lookup *lookup;

      if (is_ip_literal (server->host))
        continue;
      resolver = g_resolver_get_default ();
      lookup = g_new (Lookup, 1);
      lookup->self = g_object_ref (self);
      lookup->server = server;
      self->n_resolving++;
      g_resolver_lookup_by_name_async (resolver, server->host, self->cancellable, resolved_cb,
                                       lookup);
    }
}

void
nb_ice_session_gather (NbIceSession *self)
{
  for (guint i = 0; i < self->stun_servers->len && i < 1; i++)
    {
      NbIceServer *server = g_ptr_array_index (self->stun_servers, i);

      if (is_ip_literal (server->host))
        g_object_set (self->agent, "stun-server", server->host, "stun-server-port",
                      (guint) server->port, NULL);
    }
  for (guint i = 0; i < self->turn_servers->len; i++)
    {
      NbIceServer *server = g_ptr_array_index (self->turn_servers, i);

      if (is_ip_literal (server->host) &&
          !nice_agent_set_relay_info (self->agent, self->stream_id, NB_ICE_COMPONENT_ID, server->host,
                                      server->port, server->username, server->password,
                                      server->relay_type))
        g_message ("TURN server %s:%u is left out: libnice refused it", server->host,
                   server->port);
    }
  if (!nice_agent_gather_candidates (self->agent, self->stream_id))
    {
      g_warning ("ICE session %s: libnice could not gather candidates", self->session_id);
      nb_ice_session_set_state (self, NB_ICE_SESSION_STATE_FAILED);
    }
}
