/* nb-cli-daemon-status.c: what the daemon tells of its NbClient, as
 * GetStatus() returns it
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * One dictionary, keyed by the names of NetBird's JSON status where it has
 * one (the nested objects flattened: managementUrl, iceCandidateLocal);
 * times stay in microseconds since 1970 and latency in microseconds, and
 * the CLI converts to NetBird's units.
 */
#include <netbird.h>

#include "nb-cli-daemon-status.h"

const char *
nb_cli_client_state_name (NbClientState state)
{
  switch (state)
    {
    case NB_CLIENT_STATE_CONNECTING:
      return "Connecting";
    case NB_CLIENT_STATE_CONNECTED:
      return "Connected";
    case NB_CLIENT_STATE_NEEDS_LOGIN:
      return "NeedsLogin";
    case NB_CLIENT_STATE_DOWN:
    default:
      return "Idle";
    }
}

static const char *
peer_state_name (NbClientPeerState state)
{
  switch (state)
    {
    case NB_CLIENT_PEER_STATE_CONNECTING:
      return "Connecting";
    case NB_CLIENT_PEER_STATE_CONNECTED:
      return "Connected";
    case NB_CLIENT_PEER_STATE_IDLE:
    default:
      return "Idle";
    }
}

static const char *
connection_type_name (NbClientConnectionType type)
{
  switch (type)
    {
    case NB_CLIENT_CONNECTION_TYPE_P2P:
      return "P2P";
    case NB_CLIENT_CONNECTION_TYPE_RELAYED:
      return "Relayed";
    case NB_CLIENT_CONNECTION_TYPE_NONE:
    default:
      return "-";
    }
}

/* The names of RFC 8445 §5.1.1's types, as NetBird prints them. */
static const char *
candidate_type_name (NbIceCandidateType type)
{
  switch (type)
    {
    case NB_ICE_CANDIDATE_TYPE_HOST:
      return "host";
    case NB_ICE_CANDIDATE_TYPE_SERVER_REFLEXIVE:
      return "srflx";
    case NB_ICE_CANDIDATE_TYPE_PEER_REFLEXIVE:
      return "prflx";
    case NB_ICE_CANDIDATE_TYPE_RELAYED:
      return "relay";
    default:
      return "";
    }
}

static const char *
or_empty (const char *text)
{
  return text != NULL ? text : "";
}

static GVariant *
peer_status (NbClientPeer *peer)
{
  GVariantDict dict;
  NbIceCandidateType local_type, remote_type;
  gboolean have_types = nb_client_peer_get_candidate_types (peer, &local_type, &remote_type);

  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "fqdn", "s", or_empty (nb_client_peer_get_fqdn (peer)));
  g_variant_dict_insert (&dict, "netbirdIp", "s", or_empty (nb_client_peer_get_address (peer)));
  g_variant_dict_insert (&dict, "publicKey", "s",
                         or_empty (nb_client_peer_get_public_key (peer)));
  g_variant_dict_insert (&dict, "status", "s",
                         peer_state_name (nb_client_peer_get_state (peer)));
  g_variant_dict_insert (&dict, "lastStatusUpdate", "x",
                         nb_client_peer_get_last_status_update (peer));
  g_variant_dict_insert (&dict, "connectionType", "s",
                         connection_type_name (nb_client_peer_get_connection_type (peer)));
  g_variant_dict_insert (&dict, "iceCandidateLocal", "s",
                         have_types ? candidate_type_name (local_type) : "");
  g_variant_dict_insert (&dict, "iceCandidateRemote", "s",
                         have_types ? candidate_type_name (remote_type) : "");
  g_variant_dict_insert (&dict, "iceEndpointLocal", "s",
                         or_empty (nb_client_peer_get_local_endpoint (peer)));
  g_variant_dict_insert (&dict, "iceEndpointRemote", "s",
                         or_empty (nb_client_peer_get_remote_endpoint (peer)));
  g_variant_dict_insert (&dict, "relayAddress", "s",
                         or_empty (nb_client_peer_get_relay_address (peer)));
  g_variant_dict_insert (&dict, "lastWireguardHandshake", "x",
                         nb_client_peer_get_last_handshake (peer));
  g_variant_dict_insert (&dict, "transferReceived", "t",
                         nb_client_peer_get_bytes_received (peer));
  g_variant_dict_insert (&dict, "transferSent", "t", nb_client_peer_get_bytes_sent (peer));
  g_variant_dict_insert (&dict, "latency", "x", nb_client_peer_get_latency (peer));
  return g_variant_dict_end (&dict);
}

GVariant *
nb_cli_daemon_status_build (NbClient *client)
{
  g_autoptr(GPtrArray) peers = nb_client_list_peers (client);
  GVariantBuilder list;
  GVariantDict dict;

  g_variant_builder_init (&list, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; peers != NULL && i < peers->len; i++)
    g_variant_builder_add_value (&list, peer_status (peers->pdata[i]));

  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "daemonStatus", "s",
                         nb_cli_client_state_name (nb_client_get_state (client)));
  g_variant_dict_insert (&dict, "daemonVersion", "s", nb_get_version_string ());
  g_variant_dict_insert (&dict, "netbirdIp", "s", or_empty (nb_client_get_address (client)));
  g_variant_dict_insert (&dict, "publicKey", "s", or_empty (nb_client_get_public_key (client)));
  g_variant_dict_insert (&dict, "fqdn", "s", or_empty (nb_client_get_fqdn (client)));
  g_variant_dict_insert (&dict, "interfaceName", "s",
                         or_empty (nb_client_get_interface_name (client)));
  g_variant_dict_insert (&dict, "wireguardPort", "q", nb_client_get_wireguard_port (client));
  g_variant_dict_insert (&dict, "managementUrl", "s",
                         or_empty (nb_client_get_management_url (client)));
  g_variant_dict_insert (&dict, "managementConnected", "b",
                         nb_client_get_management_connected (client));
  g_variant_dict_insert (&dict, "managementError", "s",
                         or_empty (nb_client_get_management_error (client)));
  g_variant_dict_insert (&dict, "signalUrl", "s", or_empty (nb_client_get_signal_url (client)));
  g_variant_dict_insert (&dict, "signalConnected", "b",
                         nb_client_get_signal_connected (client));
  g_variant_dict_insert (&dict, "signalError", "s",
                         or_empty (nb_client_get_signal_error (client)));
  g_variant_dict_insert_value (&dict, "peers", g_variant_builder_end (&list));
  {
    g_autoptr(GVariant) dns = nb_client_get_dns_status (client);

    g_variant_dict_insert_value (&dict, "dns", dns != NULL ? g_variant_ref (dns)
                                                           : g_variant_new ("a{sv}", NULL));
  }
  return g_variant_dict_end (&dict);
}
