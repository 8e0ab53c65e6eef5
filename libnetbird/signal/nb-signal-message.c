/* nb-signal-message.c: what one peer tells another through Signal
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-signal"

#include "nb-signal-private.h"

/**
 * NbSignalMessage:
 *
 * One message between two peers through Signal: an offer or answer (ICE
 * credentials, WireGuard port, agent version, session id, optionally a relay
 * address), one trickled ICE candidate, or go-idle.
 *
 * A message is immutable. It is sealed to its destination by
 * nb_signal_client_send() and handed to the destination's
 * #NbSignalClient::message-received once opened; the Signal server sees it
 * only as ciphertext. The fields are checked against the protocol's limits
 * when it is sent (see %NB_SIGNAL_CLIENT_ERROR_INVALID_MESSAGE).
 *
 * The session id (16 to 32 lowercase hex digits) names the sender's ICE
 * session: a message whose session id is not the sender's current one was
 * sent before a restart and is to be dropped.
 */
struct _NbSignalMessage
{
  GObject parent_instance;

  NbSignalMessageKind kind;
  char *session_id;
  char *ufrag;
  char *pwd;
  guint16 wg_listen_port;
  char *version;
  char *relay_address;
  char *candidate;
};

G_DEFINE_FINAL_TYPE (NbSignalMessage, nb_signal_message, G_TYPE_OBJECT)

G_STATIC_ASSERT ((int) NB_SIGNAL_MESSAGE_KIND_OFFER == (int) NB_SIGNAL_MSG_KIND_OFFER);
G_STATIC_ASSERT ((int) NB_SIGNAL_MESSAGE_KIND_ANSWER == (int) NB_SIGNAL_MSG_KIND_ANSWER);
G_STATIC_ASSERT ((int) NB_SIGNAL_MESSAGE_KIND_CANDIDATE == (int) NB_SIGNAL_MSG_KIND_CANDIDATE);
G_STATIC_ASSERT ((int) NB_SIGNAL_MESSAGE_KIND_GO_IDLE == (int) NB_SIGNAL_MSG_KIND_GO_IDLE);

static void
nb_signal_message_finalize (GObject *object)
{
  NbSignalMessage *self = NB_SIGNAL_MESSAGE (object);

  g_free (self->session_id);
  g_free (self->ufrag);
  g_free (self->pwd);
  g_free (self->version);
  g_free (self->relay_address);
  g_free (self->candidate);
  G_OBJECT_CLASS (nb_signal_message_parent_class)->finalize (object);
}

static void
nb_signal_message_class_init (NbSignalMessageClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = nb_signal_message_finalize;
}

static void
nb_signal_message_init (NbSignalMessage *self)
{
}

static NbSignalMessage *
new_message (NbSignalMessageKind  kind,
             const char          *session_id)
{
  NbSignalMessage *self = g_object_new (NB_TYPE_SIGNAL_MESSAGE, NULL);

  self->kind = kind;
  self->session_id = g_strdup (session_id);
  return self;
}

static NbSignalMessage *
new_credentials (NbSignalMessageKind  kind,
                 const char          *session_id,
                 const char          *ufrag,
                 const char          *pwd,
                 guint16              wg_listen_port,
                 const char          *version,
                 const char          *relay_address)
{
  NbSignalMessage *self = new_message (kind, session_id);

  self->ufrag = g_strdup (ufrag);
  self->pwd = g_strdup (pwd);
  self->wg_listen_port = wg_listen_port;
  self->version = g_strdup (version);
  self->relay_address = g_strdup (relay_address);
  return self;
}

/**
 * nb_signal_message_new_offer:
 * @session_id: the sender's ICE session id (16 to 32 lowercase hex digits)
 * @ufrag: the sender's ICE username fragment
 * @pwd: the sender's ICE password
 * @wg_listen_port: the sender's WireGuard port (1 to 65535)
 * @version: the sender's agent version
 * @relay_address: (nullable): the sender's relay address, or %NULL
 *
 * An offer: the ICE credentials of the peer that starts a negotiation.
 *
 * Returns: (transfer full): a new #NbSignalMessage
 */
NbSignalMessage *
nb_signal_message_new_offer (const char *session_id,
                             const char *ufrag,
                             const char *pwd,
                             guint16     wg_listen_port,
                             const char *version,
                             const char *relay_address)
{
  g_return_val_if_fail (session_id != NULL && ufrag != NULL && pwd != NULL, NULL);
  g_return_val_if_fail (version != NULL, NULL);

  return new_credentials (NB_SIGNAL_MESSAGE_KIND_OFFER, session_id, ufrag, pwd, wg_listen_port,
                          version, relay_address);
}

/**
 * nb_signal_message_new_answer:
 * @session_id: the sender's ICE session id (16 to 32 lowercase hex digits)
 * @ufrag: the sender's ICE username fragment
 * @pwd: the sender's ICE password
 * @wg_listen_port: the sender's WireGuard port (1 to 65535)
 * @version: the sender's agent version
 * @relay_address: (nullable): the sender's relay address, or %NULL
 *
 * An answer to an offer: the answering peer's ICE credentials.
 *
 * Returns: (transfer full): a new #NbSignalMessage
 */
NbSignalMessage *
nb_signal_message_new_answer (const char *session_id,
                              const char *ufrag,
                              const char *pwd,
                              guint16     wg_listen_port,
                              const char *version,
                              const char *relay_address)
{
  g_return_val_if_fail (session_id != NULL && ufrag != NULL && pwd != NULL, NULL);
  g_return_val_if_fail (version != NULL, NULL);

  return new_credentials (NB_SIGNAL_MESSAGE_KIND_ANSWER, session_id, ufrag, pwd, wg_listen_port,
                          version, relay_address);
}

/**
 * nb_signal_message_new_candidate:
 * @session_id: the sender's ICE session id
 * @candidate: one ICE candidate attribute,
 *   `candidate:1 1 udp 2130706431 198.18.0.1 51820 typ host` (RFC 5245 §15.1)
 *
 * One trickled ICE candidate.
 *
 * Returns: (transfer full): a new #NbSignalMessage
 */
NbSignalMessage *
nb_signal_message_new_candidate (const char *session_id,
                                 const char *candidate)
{
  NbSignalMessage *self;

  g_return_val_if_fail (session_id != NULL && candidate != NULL, NULL);

  self = new_message (NB_SIGNAL_MESSAGE_KIND_CANDIDATE, session_id);
  self->candidate = g_strdup (candidate);
  return self;
}

/**
 * nb_signal_message_new_go_idle:
 * @session_id: the sender's ICE session id
 *
 * Go-idle: the sender closed its idle connection to the receiver.
 *
 * Returns: (transfer full): a new #NbSignalMessage
 */
NbSignalMessage *
nb_signal_message_new_go_idle (const char *session_id)
{
  g_return_val_if_fail (session_id != NULL, NULL);

  return new_message (NB_SIGNAL_MESSAGE_KIND_GO_IDLE, session_id);
}

/**
 * nb_signal_message_get_kind:
 * @self: a #NbSignalMessage
 *
 * Returns: what the message says
 */
NbSignalMessageKind
nb_signal_message_get_kind (NbSignalMessage *self)
{
  g_return_val_if_fail (NB_IS_SIGNAL_MESSAGE (self), NB_SIGNAL_MESSAGE_KIND_GO_IDLE);
  return self->kind;
}

/**
 * nb_signal_message_get_session_id:
 * @self: a #NbSignalMessage
 *
 * Returns: the sender's ICE session id
 */
const char *
nb_signal_message_get_session_id (NbSignalMessage *self)
{
  g_return_val_if_fail (NB_IS_SIGNAL_MESSAGE (self), NULL);
  return self->session_id;
}

/**
 * nb_signal_message_get_ufrag:
 * @self: a #NbSignalMessage
 *
 * Returns: (nullable): the ICE username fragment of an offer or answer
 */
const char *
nb_signal_message_get_ufrag (NbSignalMessage *self)
{
  g_return_val_if_fail (NB_IS_SIGNAL_MESSAGE (self), NULL);
  return self->ufrag;
}

/**
 * nb_signal_message_get_pwd:
 * @self: a #NbSignalMessage
 *
 * Returns: (nullable): the ICE password of an offer or answer
 */
const char *
nb_signal_message_get_pwd (NbSignalMessage *self)
{
  g_return_val_if_fail (NB_IS_SIGNAL_MESSAGE (self), NULL);
  return self->pwd;
}

/**
 * nb_signal_message_get_wg_listen_port:
 * @self: a #NbSignalMessage
 *
 * Returns: the WireGuard port of an offer or answer, 0 in the other kinds
 */
guint16
nb_signal_message_get_wg_listen_port (NbSignalMessage *self)
{
  g_return_val_if_fail (NB_IS_SIGNAL_MESSAGE (self), 0);
  return self->wg_listen_port;
}

/**
 * nb_signal_message_get_version:
 * @self: a #NbSignalMessage
 *
 * Returns: (nullable): the sender's agent version, in an offer or answer
 */
const char *
nb_signal_message_get_version (NbSignalMessage *self)
{
  g_return_val_if_fail (NB_IS_SIGNAL_MESSAGE (self), NULL);
  return self->version;
}

/**
 * nb_signal_message_get_relay_address:
 * @self: a #NbSignalMessage
 *
 * Returns: (nullable): the sender's relay address, when an offer or answer
 *   carries one
 */
const char *
nb_signal_message_get_relay_address (NbSignalMessage *self)
{
  g_return_val_if_fail (NB_IS_SIGNAL_MESSAGE (self), NULL);
  return self->relay_address;
}

/**
 * nb_signal_message_get_candidate:
 * @self: a #NbSignalMessage
 *
 * Returns: (nullable): the ICE candidate attribute of a candidate message
 */
const char *
nb_signal_message_get_candidate (NbSignalMessage *self)
{
  g_return_val_if_fail (NB_IS_SIGNAL_MESSAGE (self), NULL);
  return self->candidate;
}

NbSignalMessage *
nb_signal_message_new_from_body (const NbSignalMsgBody *body)
{
  NbSignalMessage *self = new_message ((NbSignalMessageKind) body->kind, body->session_id);

  self->ufrag = g_strdup (body->ufrag);
  self->pwd = g_strdup (body->pwd);
  /* The codec bounded it to 0..65535. */
  self->wg_listen_port = (guint16) body->wg_listen_port;
  self->version = g_strdup (body->version);
  self->relay_address = g_strdup (body->relay_address);
  self->candidate = g_strdup (body->candidate);
  return self;
}

void
nb_signal_message_fill_body (NbSignalMessage *self,
                             NbSignalMsgBody *body)
{
  body->kind = (NbSignalMsgKind) self->kind;
  body->session_id = self->session_id;
  body->ufrag = self->ufrag;
  body->pwd = self->pwd;
  body->wg_listen_port = self->wg_listen_port;
  body->version = self->version;
  body->relay_address = self->relay_address;
  body->candidate = self->candidate;
}
