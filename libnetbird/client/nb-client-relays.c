/* nb-client-relays.c: the engine's connections to the relays of the map
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * Management names the relays (NbMgmtMsgRelayConfig) and hands a fresh
 * token, bound to this peer's key, with every login and map. The engine
 * keeps one NbRelayClient per URL and gives each the newest token (the
 * next reconnection presents it).
 *
 * The first relay that answers becomes this peer's home relay: its URL
 * rides this side's offers and answers, and the other side reaches this
 * peer there (the relay forwards only between peers connected to it). A
 * peer sends to the other through the other's home relay, which is one of
 * the map's too (Management gives every peer the same list), so both
 * directions of a pair may use different relays.
 */
#define G_LOG_DOMAIN "netbird-client"

#include "nb-client-private.h"
#include "nb-relay-client.h"

struct _NbClientRelays
{
  NbClientConnContext *context;   /* the engine's */
  GHashTable *conns;              /* the engine's */
};

static void
tell_conns (NbClientRelays *relays)
{
  GHashTableIter iter;
  gpointer conn;

  g_hash_table_iter_init (&iter, relays->conns);
  while (g_hash_table_iter_next (&iter, NULL, &conn))
    nb_client_peer_conn_relays_changed (conn);
}

static void
on_relay_state (NbRelayClient  *client,
                GParamSpec     *pspec,
                NbClientRelays *relays)
{
  NbClientConnContext *ctx = relays->context;
  GHashTableIter iter;
  gpointer url, value;

  if (ctx->home_relay != NULL ||
      nb_relay_client_get_state (client) != NB_RELAY_CLIENT_STATE_CONNECTED)
    return;
  g_hash_table_iter_init (&iter, ctx->relays);
  while (g_hash_table_iter_next (&iter, &url, &value))
    if (value == client)
      {
        ctx->home_relay = g_strdup (url);
        break;
      }
  if (ctx->home_relay == NULL)
    return;
  g_message ("Relay %s answered first: the home relay", ctx->home_relay);
  tell_conns (relays);
}

static void
relay_client_free (gpointer data)
{
  NbRelayClient *client = data;

  g_signal_handlers_disconnect_matched (client, G_SIGNAL_MATCH_FUNC, 0, 0, NULL,
                                        on_relay_state, NULL);
  nb_relay_client_stop (client);
  g_object_unref (client);
}

NbClientRelays *
nb_client_relays_new (NbClientConnContext *context,
                      GHashTable          *conns)
{
  NbClientRelays *relays = g_new0 (NbClientRelays, 1);

  relays->context = context;
  relays->conns = conns;
  context->relays = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, relay_client_free);
  return relays;
}

void
nb_client_relays_update (NbClientRelays             *relays,
                         const NbMgmtMsgRelayConfig *config)
{
  NbClientConnContext *ctx = relays->context;
  g_autoptr(GHashTable) listed = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) gone = g_ptr_array_new_with_free_func (relay_client_free);
  GHashTableIter iter;
  gpointer url, client;

  for (guint i = 0; config->urls != NULL && i < config->urls->len; i++)
    g_hash_table_add (listed, config->urls->pdata[i]);

  /* Relays no longer listed: the connections let go of them before they
   * stop. */
  g_hash_table_iter_init (&iter, ctx->relays);
  while (g_hash_table_iter_next (&iter, &url, &client))
    if (!g_hash_table_contains (listed, url))
      {
        g_message ("Relay %s left the map", (const char *) url);
        if (g_strcmp0 (ctx->home_relay, url) == 0)
          g_clear_pointer (&ctx->home_relay, g_free);
        g_ptr_array_add (gone, client);
        g_hash_table_iter_steal (&iter);
        g_free (url);
      }
  if (gone->len > 0)
    tell_conns (relays);

  for (guint i = 0; config->urls != NULL && i < config->urls->len; i++)
    {
      const char *u = config->urls->pdata[i];
      g_autoptr(GError) error = NULL;
      NbRelayClient *c = g_hash_table_lookup (ctx->relays, u);

      if (c == NULL)
        {
          c = nb_relay_client_new (u, ctx->key, &error);
          if (c == NULL)
            {
              g_message ("Relay %s: %s", u, error->message);
              continue;
            }
          g_hash_table_insert (ctx->relays, g_strdup (u), c);
          nb_relay_client_set_token (c, config->token_payload, config->token_signature);
          g_signal_connect (c, "notify::state", G_CALLBACK (on_relay_state), relays);
          nb_relay_client_start (c);
          continue;
        }
      nb_relay_client_set_token (c, config->token_payload, config->token_signature);
    }
}

void
nb_client_relays_free (NbClientRelays *relays)
{
  if (relays == NULL)
    return;
  g_clear_pointer (&relays->context->relays, g_hash_table_unref);
  g_clear_pointer (&relays->context->home_relay, g_free);
  g_free (relays);
}
