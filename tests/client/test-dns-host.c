/* test-dns-host.c: resolv.conf rewritten for our resolver and put back
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * Every test works on a resolv.conf in a temporary directory, never the
 * machine's. The bind-mount test makes a mount namespace of its own (root).
 */
#include "nb-client-dns-host-private.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

/* No final newline, a comment, "domain" and "search", options and three
 * nameservers: all of it must come back byte for byte. */
static const char original[] =
  "# managed by dhcp\n"
  "domain lan.example\n"
  "search office.example lan.example\n"
  "nameserver 198.18.0.53\n"
  "nameserver 198.18.0.54\n"
  "nameserver fe80::1%eth0\n"
  "options edns0 timeout:2\n"
  "options rotate";

typedef struct
{
  char *dir;
  char *state_dir;
  char *state_prefix;    /* the client's config path without ".json" */
  char *resolv;
} Fixture;

static void
fixture_set_up (Fixture       *fx,
                gconstpointer  data)
{
  fx->dir = g_dir_make_tmp ("nb-dns-host-XXXXXX", NULL);
  g_assert_nonnull (fx->dir);
  fx->state_dir = g_build_filename (fx->dir, "state", NULL);
  g_assert_cmpint (g_mkdir (fx->state_dir, 0700), ==, 0);
  fx->state_prefix = g_build_filename (fx->state_dir, "config", NULL);
  fx->resolv = g_build_filename (fx->dir, "resolv.conf", NULL);
  g_assert_true (g_file_set_contents (fx->resolv, original, -1, NULL));
}

static void
fixture_tear_down (Fixture       *fx,
                   gconstpointer  data)
{
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", fx->dir);
  g_assert_cmpint (system (cmd), ==, 0);
  g_free (fx->dir);
  g_free (fx->state_dir);
  g_free (fx->state_prefix);
  g_free (fx->resolv);
}

static char *
read_text (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *text = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, &error));
  g_assert_no_error (error);
  return text;
}

static void
assert_nothing_kept (Fixture *fx)
{
  g_autofree char *backup = g_strconcat (fx->state_prefix, ".resolv.conf.original", NULL);
  g_autofree char *state = g_strconcat (fx->state_prefix, ".dns-host.state", NULL);

  g_assert_false (g_file_test (backup, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (state, G_FILE_TEST_EXISTS));
}

static void
test_parse_nameservers (void)
{
  g_auto(GStrv) servers = nb_dns_host_resolvconf_parse_nameservers (original);
  g_auto(GStrv) none = nb_dns_host_resolvconf_parse_nameservers ("nameserver\nnameserver not-an-ip\n#x\n");

  g_assert_cmpuint (g_strv_length (servers), ==, 3);
  g_assert_cmpstr (servers[0], ==, "198.18.0.53");
  g_assert_cmpstr (servers[1], ==, "198.18.0.54");
  g_assert_cmpstr (servers[2], ==, "fe80::1");
  g_assert_cmpuint (g_strv_length (none), ==, 0);
}

static void
test_apply_restore (Fixture       *fx,
                    gconstpointer  data)
{
  g_autoptr(NbDnsHostResolvconf) host = nb_dns_host_resolvconf_new (fx->resolv, fx->state_prefix);
  const char *domains[] = { "netbird.test", "corp.test", NULL };
  const char *domains2[] = { "other.test", NULL };
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *text2 = NULL;
  g_autofree char *back = NULL;
  g_auto(GStrv) upstream = NULL;

  g_assert_true (nb_dns_host_resolvconf_apply (host, "100.64.0.7", domains, &error));
  g_assert_no_error (error);
  g_assert_true (nb_dns_host_resolvconf_wrote_in_place (host));
  text = read_text (fx->resolv);
  g_test_message ("rewritten:\n%s", text);
  /* Ours first, then the original's up to glibc's three. */
  g_assert_nonnull (strstr (text, "nameserver 100.64.0.7\nnameserver 198.18.0.53\n"
                                  "nameserver 198.18.0.54\nsearch netbird.test corp.test "
                                  "office.example lan.example\n"));
  g_assert_null (strstr (text, "fe80::1"));
  g_assert_null (strstr (text, "domain lan.example"));
  g_assert_nonnull (strstr (text, "options edns0 timeout:2\noptions rotate\n"));
  g_assert_nonnull (strstr (text, "# managed by dhcp\n"));

  /* The fallback upstream is the original's, not ours. */
  upstream = nb_dns_host_resolvconf_original_nameservers (host);
  g_assert_cmpuint (g_strv_length (upstream), ==, 3);
  g_assert_cmpstr (upstream[0], ==, "198.18.0.53");

  /* A new map: composed from the original again, not from our text. */
  g_assert_true (nb_dns_host_resolvconf_apply (host, "100.64.0.7", domains2, &error));
  g_assert_no_error (error);
  text2 = read_text (fx->resolv);
  g_assert_nonnull (strstr (text2, "search other.test office.example lan.example\n"));
  g_assert_null (strstr (text2, "netbird.test"));
  {
    g_auto(GStrv) split = g_strsplit (text2, "nameserver 100.64.0.7", -1);
    g_assert_cmpuint (g_strv_length (split), ==, 2);  /* ours once */
  }

  g_assert_true (nb_dns_host_resolvconf_restore (host, &error));
  g_assert_no_error (error);
  back = read_text (fx->resolv);
  g_assert_cmpstr (back, ==, original);
  assert_nothing_kept (fx);

  /* Nothing to do twice. */
  g_assert_true (nb_dns_host_resolvconf_restore (host, &error));
  g_assert_no_error (error);
}

static void
test_bad_nameserver (Fixture       *fx,
                     gconstpointer  data)
{
  g_autoptr(NbDnsHostResolvconf) host = nb_dns_host_resolvconf_new (fx->resolv, fx->state_prefix);
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  g_assert_false (nb_dns_host_resolvconf_apply (host, "100.64.0.7\nnameserver 1.1.1.1", NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  text = read_text (fx->resolv);
  g_assert_cmpstr (text, ==, original);
  assert_nothing_kept (fx);
}

/* The daemon killed with SIGKILL after it rewrote the file: the next
 * start finds the state file and puts the original back. */
static void
test_recover_after_kill (Fixture       *fx,
                         gconstpointer  data)
{
  g_autoptr(NbDnsHostResolvconf) host = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *during = NULL;
  g_autofree char *back = NULL;
  gboolean restored = FALSE;
  int status = 0;
  pid_t pid;

  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      NbDnsHostResolvconf *child = nb_dns_host_resolvconf_new (fx->resolv, fx->state_prefix);
      const char *domains[] = { "netbird.test", NULL };

      if (!nb_dns_host_resolvconf_apply (child, "100.64.0.9", domains, NULL))
        _exit (1);
      kill (getpid (), SIGKILL);
      _exit (2);
    }
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFSIGNALED (status));
  g_assert_cmpint (WTERMSIG (status), ==, SIGKILL);
  during = read_text (fx->resolv);
  g_assert_true (g_str_has_prefix (strstr (during, "nameserver"), "nameserver 100.64.0.9\n"));

  host = nb_dns_host_resolvconf_new (fx->resolv, fx->state_prefix);
  g_assert_true (nb_dns_host_resolvconf_recover (host, &restored, &error));
  g_assert_no_error (error);
  g_assert_true (restored);
  back = read_text (fx->resolv);
  g_assert_cmpstr (back, ==, original);
  assert_nothing_kept (fx);

  /* A clean start has nothing to recover. */
  g_assert_true (nb_dns_host_resolvconf_recover (host, &restored, &error));
  g_assert_false (restored);
}

/* DHCP rewrote it while we were up: theirs stands on restore. */
static void
test_rewritten_by_someone_else (Fixture       *fx,
                                gconstpointer  data)
{
  g_autoptr(NbDnsHostResolvconf) host = nb_dns_host_resolvconf_new (fx->resolv, fx->state_prefix);
  static const char theirs[] = "nameserver 198.18.9.9\n";
  g_autoptr(GError) error = NULL;
  g_autofree char *back = NULL;

  g_assert_true (nb_dns_host_resolvconf_apply (host, "100.64.0.7", NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (fx->resolv, theirs, -1, NULL));
  g_assert_true (nb_dns_host_resolvconf_restore (host, &error));
  g_assert_no_error (error);
  back = read_text (fx->resolv);
  g_assert_cmpstr (back, ==, theirs);
  assert_nothing_kept (fx);
}

/* /etc/resolv.conf -> a stub file elsewhere: our file replaces the link
 * while up, the same link comes back, and its target is never written. */
static void
test_symlink (Fixture       *fx,
              gconstpointer  data)
{
  g_autoptr(NbDnsHostResolvconf) host = nb_dns_host_resolvconf_new (fx->resolv, fx->state_prefix);
  g_autofree char *target = g_build_filename (fx->dir, "stub-resolv.conf", NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *link = NULL;
  g_autofree char *stub = NULL;

  g_assert_cmpint (g_rename (fx->resolv, target), ==, 0);
  g_assert_cmpint (symlink ("stub-resolv.conf", fx->resolv), ==, 0);

  g_assert_true (nb_dns_host_resolvconf_apply (host, "100.64.0.7", NULL, &error));
  g_assert_no_error (error);
  g_assert_false (nb_dns_host_resolvconf_wrote_in_place (host));
  g_assert_false (g_file_test (fx->resolv, G_FILE_TEST_IS_SYMLINK));
  stub = read_text (target);
  g_assert_cmpstr (stub, ==, original);

  g_assert_true (nb_dns_host_resolvconf_restore (host, &error));
  g_assert_no_error (error);
  link = g_file_read_link (fx->resolv, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (link, ==, "stub-resolv.conf");
  g_free (stub);
  stub = read_text (fx->resolv);
  g_assert_cmpstr (stub, ==, original);
  assert_nothing_kept (fx);
}

/* What "ip netns exec" does: a file bind-mounted over resolv.conf. A
 * rename over a mount point fails (EBUSY); the file is written in place,
 * so the mount's source carries our text and then the original again. */
static void
test_bind_mount (Fixture       *fx,
                 gconstpointer  data)
{
  g_autofree char *source = g_build_filename (fx->dir, "netns-resolv.conf", NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *during = NULL;
  g_autofree char *back = NULL;
  int status = 0;
  pid_t pid;

  if (geteuid () != 0)
    {
      g_test_skip ("a mount namespace needs root");
      return;
    }
  g_assert_true (g_file_set_contents (source, original, -1, NULL));

  /* A child of our own in a mount namespace of its own, so nothing is
   * left mounted whatever happens. */
  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      g_autoptr(NbDnsHostResolvconf) host = NULL;
      const char *domains[] = { "netbird.test", NULL };
      g_autofree char *tmp = g_strdup_printf ("%s.x", fx->resolv);

      if (unshare (CLONE_NEWNS) < 0
          || mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0
          || mount (source, fx->resolv, NULL, MS_BIND, NULL) < 0)
        _exit (10);
      /* The premise: a rename over it does fail here. */
      if (!g_file_set_contents (tmp, "x", -1, NULL)
          || rename (tmp, fx->resolv) == 0 || errno != EBUSY)
        _exit (11);
      g_unlink (tmp);
      host = nb_dns_host_resolvconf_new (fx->resolv, fx->state_prefix);
      if (!nb_dns_host_resolvconf_apply (host, "100.64.0.7", domains, NULL))
        _exit (12);
      if (!nb_dns_host_resolvconf_wrote_in_place (host))
        _exit (13);
      /* Stop here: the parent looks at the source, then we restore. */
      raise (SIGSTOP);
      if (!nb_dns_host_resolvconf_restore (host, NULL))
        _exit (14);
      if (!nb_dns_host_resolvconf_wrote_in_place (host))
        _exit (15);
      _exit (0);
    }
  g_assert_cmpint (waitpid (pid, &status, WUNTRACED), ==, pid);
  if (!WIFSTOPPED (status))
    g_error ("the bind-mount child ended early: status %d", status);
  during = read_text (source);
  g_test_message ("bind-mount source while up:\n%s", during);
  g_assert_nonnull (strstr (during, "nameserver 100.64.0.7\n"));
  /* Outside the namespace the directory's own file was never touched. */
  back = read_text (fx->resolv);
  g_assert_cmpstr (back, ==, original);
  kill (pid, SIGCONT);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  g_free (back);
  back = read_text (source);
  g_assert_cmpstr (back, ==, original);
  assert_nothing_kept (fx);
  (void) error;
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/client/dns-host/resolvconf/parse-nameservers", test_parse_nameservers);
#define ADD(path, fn) \
  g_test_add ("/client/dns-host/resolvconf/" path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("apply-restore", test_apply_restore);
  ADD ("bad-nameserver", test_bad_nameserver);
  ADD ("recover-after-kill", test_recover_after_kill);
  ADD ("rewritten-by-someone-else", test_rewritten_by_someone_else);
  ADD ("symlink", test_symlink);
  ADD ("bind-mount", test_bind_mount);
#undef ADD

  return g_test_run ();
}
