/* nb-client-dns-host.c: resolv.conf pointed at our resolver, and put back
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * Files beside the client's configuration (PREFIX: its path without
 * ".json", so two clients sharing a directory keep theirs apart):
 *   PREFIX.resolv.conf.original   the original's bytes
 *   PREFIX.dns-host.state         a key file: the path managed, how it was
 *                                 (a symlink's target), and the checksum of
 *                                 what we wrote, so a file someone else
 *                                 rewrote since is not clobbered on restore
 * The state file is written after the backup and before the managed file,
 * and removed last, so a crash at any point leaves enough to put it back.
 */
#define G_LOG_DOMAIN "netbird-dns-host"

#include "nb-client-dns-host-private.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BACKUP_SUFFIX ".resolv.conf.original"
#define STATE_SUFFIX ".dns-host.state"
#define STATE_GROUP "resolvconf"
#define GLIBC_MAXNS 3

struct _NbDnsHostResolvconf
{
  char *resolv_path;
  char *backup_path;
  char *state_path;
  gboolean in_place;
};

NbDnsHostResolvconf *
nb_dns_host_resolvconf_new (const char *resolv_path,
                            const char *state_prefix)
{
  NbDnsHostResolvconf *self;

  g_return_val_if_fail (resolv_path != NULL, NULL);
  g_return_val_if_fail (state_prefix != NULL, NULL);

  self = g_new0 (NbDnsHostResolvconf, 1);
  self->resolv_path = g_strdup (resolv_path);
  self->backup_path = g_strconcat (state_prefix, BACKUP_SUFFIX, NULL);
  self->state_path = g_strconcat (state_prefix, STATE_SUFFIX, NULL);
  return self;
}

void
nb_dns_host_resolvconf_free (NbDnsHostResolvconf *self)
{
  if (self == NULL)
    return;
  g_free (self->resolv_path);
  g_free (self->backup_path);
  g_free (self->state_path);
  g_free (self);
}

gboolean
nb_dns_host_resolvconf_wrote_in_place (NbDnsHostResolvconf *self)
{
  return self->in_place;
}

static gboolean
write_all (int          fd,
           const char  *data,
           gsize        len,
           GError     **error)
{
  while (len > 0)
    {
      ssize_t n = write (fd, data, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                       "cannot write: %s", g_strerror (saved));
          return FALSE;
        }
      data += n;
      len -= (gsize) n;
    }
  return TRUE;
}

/* Truncates and writes the file itself: its inode, owner, mode and any
 * mount on it stay. */
static gboolean
write_in_place (const char  *path,
                const char  *data,
                gsize        len,
                GError     **error)
{
  g_autoptr(GError) local = NULL;
  int fd;

  fd = open (path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "cannot open %s for writing: %s", path, g_strerror (saved));
      return FALSE;
    }
  if (!write_all (fd, data, len, &local) || fsync (fd) < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", path,
                   local != NULL ? local->message : g_strerror (errno));
      close (fd);
      return FALSE;
    }
  if (close (fd) < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "%s: %s", path, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

/* A regular file is written in place, never renamed over: a rename over
 * it would fail where it is a bind mount (EBUSY), and where it is not,
 * it would silently detach every bind mount other mount namespaces have
 * on it (ip netns exec, containers), whose processes would then write to
 * this one. A symlink (to a resolver's stub file) is replaced by a file of
 * ours through a rename, so its target is never written. */
static gboolean
replace_file (NbDnsHostResolvconf  *self,
              const char           *data,
              gsize                 len,
              GError              **error)
{
  g_autofree char *tmp = g_strdup_printf ("%s.netbird-XXXXXX", self->resolv_path);
  g_autoptr(GError) local = NULL;
  struct stat st;
  int fd;

  if (lstat (self->resolv_path, &st) == 0 && !S_ISLNK (st.st_mode))
    {
      self->in_place = TRUE;
      return write_in_place (self->resolv_path, data, len, error);
    }
  fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      /* A read-only directory with a writable (bind-mounted) file in it. */
      self->in_place = TRUE;
      return write_in_place (self->resolv_path, data, len, error);
    }
  if (!write_all (fd, data, len, &local) || fsync (fd) < 0)
    {
      close (fd);
      g_unlink (tmp);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", tmp,
                   local != NULL ? local->message : g_strerror (errno));
      return FALSE;
    }
  close (fd);
  if (rename (tmp, self->resolv_path) == 0)
    {
      self->in_place = FALSE;
      return TRUE;
    }
  if (errno != EBUSY && errno != EXDEV && errno != EPERM)
    {
      int saved = errno;
      g_unlink (tmp);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "cannot replace %s: %s", self->resolv_path, g_strerror (saved));
      return FALSE;
    }
  g_unlink (tmp);
  g_debug ("%s is a mount point; writing it in place", self->resolv_path);
  self->in_place = TRUE;
  return write_in_place (self->resolv_path, data, len, error);
}

GStrv
nb_dns_host_resolvconf_parse_nameservers (const char *text)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) lines = g_strsplit (text != NULL ? text : "", "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) words = g_strsplit_set (lines[i], " \t\r", -1);
      const char *key = NULL;
      const char *value = NULL;

      for (guint j = 0; words[j] != NULL; j++)
        {
          if (words[j][0] == '\0')
            continue;
          if (key == NULL)
            key = words[j];
          else
            {
              value = words[j];
              break;
            }
        }
      if (key == NULL || value == NULL || strcmp (key, "nameserver") != 0)
        continue;
      /* "fe80::1%eth0": the scope is not part of the address. */
      {
        g_autofree char *addr = g_strdup (value);
        char *scope = strchr (addr, '%');
        if (scope != NULL)
          *scope = '\0';
        if (g_hostname_is_ip_address (addr))
          g_strv_builder_add (builder, addr);
      }
    }
  return g_strv_builder_end (builder);
}

static gboolean
strv_has (GPtrArray  *array,
          const char *word)
{
  for (guint i = 0; i < array->len; i++)
    if (g_ascii_strcasecmp (g_ptr_array_index (array, i), word) == 0)
      return TRUE;
  return FALSE;
}

/* Our nameserver first, the original's after it (up to glibc's three: if
 * our resolver is down, names still resolve); our domains first in
 * search, then the original's; every other line of the original kept. */
static char *
compose (const char         *original,
         const char         *nameserver,
         const char * const *domains)
{
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GPtrArray) search = g_ptr_array_new_with_free_func (g_free);
  g_auto(GStrv) lines = g_strsplit (original, "\n", -1);
  g_auto(GStrv) servers = nb_dns_host_resolvconf_parse_nameservers (original);
  g_autoptr(GString) rest = g_string_new (NULL);
  g_auto(GStrv) original_search = NULL;
  guint nservers = 1;

  for (guint i = 0; domains != NULL && domains[i] != NULL; i++)
    if (domains[i][0] != '\0' && !strv_has (search, domains[i]))
      g_ptr_array_add (search, g_strdup (domains[i]));

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *line = lines[i];
      g_autofree char *trimmed = g_strstrip (g_strdup (line));

      if (lines[i + 1] == NULL && line[0] == '\0')
        break;  /* the text's final newline */
      if (g_str_has_prefix (trimmed, "nameserver")
          && (trimmed[10] == ' ' || trimmed[10] == '\t'))
        continue;
      if ((g_str_has_prefix (trimmed, "search") && (trimmed[6] == ' ' || trimmed[6] == '\t'))
          || (g_str_has_prefix (trimmed, "domain") && (trimmed[6] == ' ' || trimmed[6] == '\t')))
        {
          /* The last "domain" or "search" line wins (resolv.conf(5)). */
          g_strfreev (original_search);
          original_search = g_strsplit_set (trimmed + 6, " \t", -1);
          continue;
        }
      g_string_append (rest, line);
      g_string_append_c (rest, '\n');
    }

  for (guint j = 0; original_search != NULL && original_search[j] != NULL; j++)
    if (original_search[j][0] != '\0' && !strv_has (search, original_search[j]))
      g_ptr_array_add (search, g_strdup (original_search[j]));

  g_string_append (out, "# Written by NetBird while it is up: the original comes back on\n"
                        "# \"netbird down\". Edits here are lost then.\n");
  g_string_append_printf (out, "nameserver %s\n", nameserver);
  for (guint i = 0; servers[i] != NULL && nservers < GLIBC_MAXNS; i++)
    {
      if (g_ascii_strcasecmp (servers[i], nameserver) == 0)
        continue;
      g_string_append_printf (out, "nameserver %s\n", servers[i]);
      nservers++;
    }
  if (search->len > 0)
    {
      g_string_append (out, "search");
      for (guint i = 0; i < search->len; i++)
        g_string_append_printf (out, " %s", (char *) g_ptr_array_index (search, i));
      g_string_append_c (out, '\n');
    }
  g_string_append_len (out, rest->str, rest->len);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static GKeyFile *
load_state (NbDnsHostResolvconf *self)
{
  g_autoptr(GKeyFile) state = g_key_file_new ();
  g_autoptr(GError) error = NULL;

  if (!g_key_file_load_from_file (state, self->state_path, G_KEY_FILE_NONE, &error))
    {
      if (!g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_warning ("%s: %s; ignored", self->state_path, error->message);
      return NULL;
    }
  return g_steal_pointer (&state);
}

static char *
checksum_of_file (const char *path)
{
  g_autofree char *data = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &data, &len, NULL))
    return NULL;
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) data, len);
}

static void
drop_state (NbDnsHostResolvconf *self)
{
  g_unlink (self->backup_path);
  g_unlink (self->state_path);
}

static gboolean
put_back (NbDnsHostResolvconf  *self,
          GKeyFile             *state,
          GError              **error)
{
  g_autofree char *path = g_key_file_get_string (state, STATE_GROUP, "path", NULL);
  g_autofree char *written = g_key_file_get_string (state, STATE_GROUP, "written-sha256", NULL);
  g_autofree char *link = g_key_file_get_string (state, STATE_GROUP, "symlink", NULL);
  g_autofree char *now = NULL;
  g_autofree char *original = NULL;
  gsize len = 0;

  if (path == NULL || g_strcmp0 (path, self->resolv_path) != 0)
    {
      g_warning ("%s is about %s, not %s; left alone", self->state_path,
                 path != NULL ? path : "no file", self->resolv_path);
      return TRUE;
    }
  now = checksum_of_file (self->resolv_path);
  if (written != NULL && now != NULL && g_strcmp0 (now, written) != 0)
    {
      /* DHCP or an administrator rewrote it after us: theirs stands. */
      g_message ("%s changed since NetBird wrote it; not restoring the old one",
                 self->resolv_path);
      drop_state (self);
      return TRUE;
    }
  if (link != NULL)
    {
      g_autofree char *tmp = g_strdup_printf ("%s.netbird-link", self->resolv_path);
      g_unlink (tmp);
      if (symlink (link, tmp) < 0 || rename (tmp, self->resolv_path) < 0)
        {
          int saved = errno;
          g_unlink (tmp);
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                       "cannot put the link %s -> %s back: %s", self->resolv_path,
                       link, g_strerror (saved));
          return FALSE;
        }
    }
  else
    {
      if (!g_file_get_contents (self->backup_path, &original, &len, error))
        {
          g_prefix_error (error, "the original of %s is lost: ", self->resolv_path);
          return FALSE;
        }
      if (!replace_file (self, original, len, error))
        return FALSE;
    }
  drop_state (self);
  g_message ("%s restored%s", self->resolv_path, self->in_place ? " (in place)" : "");
  return TRUE;
}

gboolean
nb_dns_host_resolvconf_recover (NbDnsHostResolvconf  *self,
                                gboolean             *restored,
                                GError              **error)
{
  g_autoptr(GKeyFile) state = load_state (self);

  if (restored != NULL)
    *restored = FALSE;
  if (state == NULL)
    return TRUE;
  g_message ("%s left rewritten by an earlier run; restoring it", self->resolv_path);
  if (!put_back (self, state, error))
    return FALSE;
  if (restored != NULL)
    *restored = TRUE;
  return TRUE;
}

gboolean
nb_dns_host_resolvconf_restore (NbDnsHostResolvconf  *self,
                                GError              **error)
{
  g_autoptr(GKeyFile) state = load_state (self);

  if (state == NULL)
    return TRUE;
  return put_back (self, state, error);
}

gboolean
nb_dns_host_resolvconf_apply (NbDnsHostResolvconf  *self,
                              const char           *nameserver,
                              const char * const   *domains,
                              GError              **error)
{
  g_autoptr(GKeyFile) state = load_state (self);
  g_autofree char *original = NULL;
  g_autofree char *text = NULL;
  g_autofree char *sum = NULL;
  gsize len = 0;

  g_return_val_if_fail (nameserver != NULL, FALSE);

  if (!g_hostname_is_ip_address (nameserver))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "\"%s\" is no IP address for a nameserver", nameserver);
      return FALSE;
    }

  if (state != NULL)
    {
      /* Rewritten already (an earlier map): start from the kept original. */
      if (!g_file_get_contents (self->backup_path, &original, &len, error))
        return FALSE;
    }
  else
    {
      g_autoptr(GKeyFile) fresh = g_key_file_new ();
      g_autoptr(GError) local = NULL;
      g_autofree char *link = g_file_read_link (self->resolv_path, NULL);

      if (!g_file_get_contents (self->resolv_path, &original, &len, &local))
        {
          if (!g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
            {
              g_propagate_prefixed_error (error, g_steal_pointer (&local),
                                          "cannot read the host's resolver configuration: ");
              return FALSE;
            }
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                       "%s does not exist; NetBird does not make one", self->resolv_path);
          return FALSE;
        }
      if (!g_file_set_contents_full (self->backup_path, original, (gssize) len,
                                     G_FILE_SET_CONTENTS_CONSISTENT, 0600, error))
        return FALSE;
      g_key_file_set_string (fresh, STATE_GROUP, "path", self->resolv_path);
      if (link != NULL)
        g_key_file_set_string (fresh, STATE_GROUP, "symlink", link);
      state = g_steal_pointer (&fresh);
    }

  text = compose (original, nameserver, domains);
  sum = g_compute_checksum_for_string (G_CHECKSUM_SHA256, text, -1);
  g_key_file_set_string (state, STATE_GROUP, "written-sha256", sum);
  /* The state first: a crash between the two leaves a state whose
   * checksum does not match the file yet, and then the next start finds
   * the original still there and only drops the backup. */
  if (!g_key_file_save_to_file (state, self->state_path, error))
    return FALSE;
  if (!replace_file (self, text, strlen (text), error))
    return FALSE;
  g_debug ("%s points at %s%s", self->resolv_path, nameserver,
           self->in_place ? " (written in place)" : "");
  return TRUE;
}

GStrv
nb_dns_host_resolvconf_original_nameservers (NbDnsHostResolvconf *self)
{
  g_autofree char *text = NULL;
  g_autoptr(GKeyFile) state = load_state (self);

  if (!g_file_get_contents (state != NULL ? self->backup_path : self->resolv_path,
                            &text, NULL, NULL))
    return g_new0 (char *, 1);
  return nb_dns_host_resolvconf_parse_nameservers (text);
}
