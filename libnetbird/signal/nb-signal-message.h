/* nb-signal-message.h: what one peer tells another through Signal
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
 * NbSignalMessageKind:
 * @NB_SIGNAL_MESSAGE_KIND_OFFER: the ICE credentials of the peer that starts
 *   a negotiation, its WireGuard port, agent version and session id
 * @NB_SIGNAL_MESSAGE_KIND_ANSWER: the same from the peer that answers an offer
 * @NB_SIGNAL_MESSAGE_KIND_CANDIDATE: one trickled ICE candidate
 * @NB_SIGNAL_MESSAGE_KIND_GO_IDLE: the sender closed its idle connection to
 *   the receiver
 *
 * What a #NbSignalMessage says.
 */
typedef enum {
  NB_SIGNAL_MESSAGE_KIND_OFFER,
  NB_SIGNAL_MESSAGE_KIND_ANSWER,
  NB_SIGNAL_MESSAGE_KIND_CANDIDATE,
  NB_SIGNAL_MESSAGE_KIND_GO_IDLE,
} NbSignalMessageKind;

#define NB_TYPE_SIGNAL_MESSAGE (nb_signal_message_get_type ())

NB_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (NbSignalMessage, nb_signal_message, NB, SIGNAL_MESSAGE, GObject)

NB_AVAILABLE_IN_ALL
NbSignalMessage     *nb_signal_message_new_offer         (const char      *session_id,
                                                          const char      *ufrag,
                                                          const char      *pwd,
                                                          guint16          wg_listen_port,
                                                          const char      *version,
                                                          const char      *relay_address);
NB_AVAILABLE_IN_ALL
NbSignalMessage     *nb_signal_message_new_answer        (const char      *session_id,
                                                          const char      *ufrag,
                                                          const char      *pwd,
                                                          guint16          wg_listen_port,
                                                          const char      *version,
                                                          const char      *relay_address);
NB_AVAILABLE_IN_ALL
NbSignalMessage     *nb_signal_message_new_candidate     (const char      *session_id,
                                                          const char      *candidate);
NB_AVAILABLE_IN_ALL
NbSignalMessage     *nb_signal_message_new_go_idle       (const char      *session_id);

NB_AVAILABLE_IN_ALL
NbSignalMessageKind  nb_signal_message_get_kind          (NbSignalMessage *self);
NB_AVAILABLE_IN_ALL
const char          *nb_signal_message_get_session_id    (NbSignalMessage *self);
NB_AVAILABLE_IN_ALL
const char          *nb_signal_message_get_ufrag         (NbSignalMessage *self);
NB_AVAILABLE_IN_ALL
const char          *nb_signal_message_get_pwd           (NbSignalMessage *self);
NB_AVAILABLE_IN_ALL
guint16              nb_signal_message_get_wg_listen_port (NbSignalMessage *self);
NB_AVAILABLE_IN_ALL
const char          *nb_signal_message_get_version       (NbSignalMessage *self);
NB_AVAILABLE_IN_ALL
const char          *nb_signal_message_get_relay_address (NbSignalMessage *self);
NB_AVAILABLE_IN_ALL
const char          *nb_signal_message_get_candidate     (NbSignalMessage *self);

G_END_DECLS
