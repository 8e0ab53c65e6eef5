/* nb-gtk-peer-row.c: one remote peer in the window's list
 *
 * Built from one dictionary of GetStatus()'s "peers": name, NetBird IP,
 * state, P2P or relayed with the candidate types, latency, last handshake
 * and transfer.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define G_LOG_DOMAIN "netbird-gtk"

#include "nb-gtk-config.h"
#include "nb-gtk-peer-row.h"

#include <adwaita.h>
#include <glib/gi18n.h>

static const char *
lookup_string (GVariant *peer, const char *key)
{
  const char *value = NULL;

  if (!g_variant_lookup (peer, key, "&s", &value))
    return "";
  return value;
}

static gint64
lookup_int64 (GVariant *peer, const char *key)
{
  gint64 value = 0;

  g_variant_lookup (peer, key, "x", &value);
  return value;
}

static guint64
lookup_uint64 (GVariant *peer, const char *key)
{
  guint64 value = 0;

  g_variant_lookup (peer, key, "t", &value);
  return value;
}

char *
nb_gtk_format_bytes_pair (guint64 received, guint64 sent)
{
  g_autofree char *rx = g_format_size (received);
  g_autofree char *tx = g_format_size (sent);

  /* TRANSLATORS: bytes received and sent */
  return g_strdup_printf (_ ("%s in, %s out"), rx, tx);
}

static char *
format_ago (gint64 when_us)
{
  gint64 seconds;

  if (when_us <= 0)
    return g_strdup (_ ("no handshake yet"));
  seconds = (g_get_real_time () - when_us) / G_USEC_PER_SEC;
  if (seconds < 0)
    seconds = 0;
  /* Plain %u: xgettext cannot read G_GINT64_FORMAT into a msgid. */
  if (seconds < 120)
    return g_strdup_printf (_ ("handshake %u s ago"), (guint)seconds);
  if (seconds < 48 * 3600)
    return g_strdup_printf (_ ("handshake %u min ago"), (guint)(seconds / 60));
  return g_strdup_printf (_ ("handshake %u days ago"), (guint)MIN (seconds / 86400, G_MAXUINT));
}

static char *
format_connection (GVariant *peer)
{
  const char *type = lookup_string (peer, "connectionType");
  const char *local = lookup_string (peer, "iceCandidateLocal");
  const char *remote = lookup_string (peer, "iceCandidateRemote");

  if (g_str_equal (type, "P2P"))
    return g_strdup_printf (_ ("P2P (%s/%s)"), *local ? local : "?", *remote ? remote : "?");
  if (g_str_equal (type, "Relayed"))
    {
      const char *relay = lookup_string (peer, "relayAddress");
      return *relay ? g_strdup_printf (_ ("relayed via %s"), relay) : g_strdup (_ ("relayed"));
    }
  return g_strdup (_ ("no path yet"));
}

static const char *
translate_status (const char *status)
{
  if (g_str_equal (status, "Connected"))
    return _ ("Connected");
  if (g_str_equal (status, "Connecting"))
    return _ ("Connecting…");
  return _ ("Idle");
}

GtkWidget *
nb_gtk_peer_row_new (GVariant *peer)
{
  const char *fqdn = lookup_string (peer, "fqdn");
  const char *ip = lookup_string (peer, "netbirdIp");
  const char *status = lookup_string (peer, "status");
  gint64 latency = lookup_int64 (peer, "latency");
  g_autofree char *name = g_strdup (*fqdn ? fqdn : ip);
  g_autofree char *connection = format_connection (peer);
  g_autofree char *handshake = format_ago (lookup_int64 (peer, "lastWireguardHandshake"));
  g_autofree char *transfer = nb_gtk_format_bytes_pair (lookup_uint64 (peer, "transferReceived"),
                                                        lookup_uint64 (peer, "transferSent"));
  g_autofree char *latency_text = latency > 0
                                      ? g_strdup_printf (_ ("latency %.1f ms"), latency / 1000.0)
                                      : g_strdup (_ ("latency unknown"));
  g_autofree char *subtitle = NULL;
  g_autofree char *search = NULL;
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *state = gtk_label_new (translate_status (status));
  char *dot = strchr (name, '.');

  /* The host part is the name people know; the whole FQDN is in the subtitle. */
  if (dot != NULL && *fqdn)
    *dot = '\0';
  subtitle = g_strdup_printf ("%s · %s\n%s · %s · %s · %s", ip, fqdn, connection, latency_text,
                              handshake, transfer);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), name);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 2);
  gtk_widget_add_css_class (state, g_str_equal (status, "Connected") ? "success" : "dim-label");
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), state);
  search = g_strjoin (" ", fqdn, ip, status, connection, NULL);
  g_object_set_data_full (G_OBJECT (row), "nb-search", g_utf8_casefold (search, -1), g_free);
  return row;
}

/* Whether the row's peer matches @needle (case-folded) by name, IP,
 * state or path. */
gboolean
nb_gtk_peer_row_matches (GtkWidget *row, const char *needle)
{
  const char *haystack = g_object_get_data (G_OBJECT (row), "nb-search");

  return needle == NULL || *needle == '\0'
         || (haystack != NULL && strstr (haystack, needle) != NULL);
}
