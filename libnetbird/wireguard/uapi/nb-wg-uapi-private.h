/* nb-wg-uapi-private.h: the configuration protocol as pure data
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * A "set" is parsed and checked whole before anything of it is applied, so
 * a bad line rejects the set and leaves the device as it was (only a port
 * that turns out to be taken can still fail while applying, and it is
 * applied first).
 */
#pragma once

#include "nb-filter-private.h"
#include "nb-wg-uapi.h"

G_BEGIN_DECLS

#define NB_WG_UAPI_KEY_LEN 32

typedef enum {
  NB_WG_UAPI_ALLOWED_IP_REPLACE,   /* replace_allowed_ips=true */
  NB_WG_UAPI_ALLOWED_IP_ADD,       /* allowed_ip=prefix */
} NbWgUapiAllowedIpOp;

typedef struct {
  NbWgUapiAllowedIpOp op;
  GInetAddressMask *prefix;        /* for ADD: host bits cleared */
} NbWgUapiAllowedIp;

typedef struct {
  guint8 public_key[NB_WG_UAPI_KEY_LEN];
  gboolean remove;
  gboolean update_only;
  gboolean has_preshared_key;
  guint8 preshared_key[NB_WG_UAPI_KEY_LEN];
  GInetSocketAddress *endpoint;    /* nullable */
  gboolean has_keepalive;
  guint16 keepalive;
  GArray *allowed_ips;             /* of NbWgUapiAllowedIp, in order */
} NbWgUapiPeerConfig;

typedef struct {
  gboolean has_private_key;
  guint8 private_key[NB_WG_UAPI_KEY_LEN];   /* all zero: remove the key */
  gboolean has_listen_port;
  guint16 listen_port;
  gboolean has_fwmark;
  guint32 fwmark;
  gboolean replace_peers;
  GPtrArray *peers;                /* of NbWgUapiPeerConfig */
  /* Our extension for the packet filter (wg(8) never sends it):
   * filter_mode=enforcing|block-inbound|disabled; filter_rule=RULE (as
   * nb_filter_rule_parse() reads it), each one of a set that replaces the
   * rules in force; filter_replace_rules=true for an empty set (inbound
   * closed); filter_remove_rules=true for none (everything passes). */
  gboolean has_filter_mode;
  NbFilterMode filter_mode;
  gboolean filter_replace_rules;
  gboolean filter_remove_rules;
  GArray *filter_rules;            /* of NbFilterRule */
  NbFilterRuleSet *filter_rule_set; /* compiled at the end of the parse */
} NbWgUapiConfig;

/* Parses the lines of a "set" (without the "set=1" line; stops at the first
 * empty line or at the end of @text). */
NbWgUapiConfig *nb_wg_uapi_config_parse (const char  *text,
                                         gsize        length,
                                         GError     **error);
void            nb_wg_uapi_config_free  (NbWgUapiConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NbWgUapiConfig, nb_wg_uapi_config_free)

/* Parses "1.2.3.4:51820" or "[fd00::1]:51820". */
GInetSocketAddress *nb_wg_uapi_parse_endpoint (const char *text);
/* "1.2.3.4:51820" or "[fd00::1]:51820", as wireguard-go prints them. */
char               *nb_wg_uapi_format_endpoint (GInetSocketAddress *endpoint);
/* 64 hex digits, either case. */
gboolean            nb_wg_uapi_parse_hex_key  (const char *text,
                                               guint8      key[NB_WG_UAPI_KEY_LEN]);
void                nb_wg_uapi_format_hex_key (const guint8 key[NB_WG_UAPI_KEY_LEN],
                                               char         out[2 * NB_WG_UAPI_KEY_LEN + 1]);

G_END_DECLS
