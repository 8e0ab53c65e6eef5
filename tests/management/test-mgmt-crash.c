/* test-mgmt-crash.c: a process killed with SIGKILL in the middle of a burst
 * of writes loses no acknowledged change and leaves a consistent file
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "mgmt-test-util.h"

/* The child writes as fast as it can and acknowledges each committed change
 * on the pipe ("g <id>" for a group, "p <key>" for a peer), as a server
 * acknowledges a request only after the store call returned. */
G_GNUC_NORETURN static void
writer_child (const char *path,
              const char *account_id,
              const char *actor_id,
              const char *setup_key,
              int         fd)
{
  g_autoptr(GError) error = NULL;
  NbMgmtStore *store = nb_mgmt_store_open (path, &error);

  if (store == NULL)
    _exit (2);
  for (guint i = 0;; i++)
    {
      g_autofree char *line = NULL;

      if (i % 2 == 0)
        {
          g_autofree char *name = g_strdup_printf ("burst-%u", i);
          NbMgmtGroup tmpl = { .name = name };
          NbMgmtGroup *g = nb_mgmt_store_create_group (store, account_id, actor_id, &tmpl, &error);
          if (g == NULL)
            _exit (3);
          line = g_strdup_printf ("g %s\n", g->id);
          nb_mgmt_group_free (g);
        }
      else
        {
          g_autofree char *pub = new_peer_key ();
          NbMgmtPeer *p = nb_mgmt_store_register_peer (store, setup_key, pub, NULL, &error);
          if (p == NULL)
            _exit (4);
          line = g_strdup_printf ("p %s\n", p->key);
          nb_mgmt_peer_free (p);
        }
      if (write (fd, line, strlen (line)) != (ssize_t) strlen (line))
        _exit (5);
    }
}

static void
test_sigkill_during_writes (StoreFixture *f,
                            gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) acked = g_string_new (NULL);
  g_auto(GStrv) lines = NULL;
  int fds[2];
  pid_t pid;
  int status = 0;
  guint n_acked = 0, n_groups = 0, n_peers = 0;
  char buf[4096];
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  g_autofree char *account_id = g_strdup (f->account->id);
  g_autofree char *actor_id = g_strdup (f->owner->id);

  /* The parent keeps no connection open while the child writes. */
  g_clear_object (&f->store);
  g_assert_cmpint (pipe (fds), ==, 0);
  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      close (fds[0]);
      writer_child (f->path, account_id, actor_id, f->setup_key, fds[1]);
    }
  close (fds[1]);

  /* Let it commit a good number of changes, then kill it mid-burst. */
  while (n_acked < 60)
    {
      ssize_t n = read (fds[0], buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      g_assert_cmpint (n, >, 0);
      g_string_append_len (acked, buf, n);
      n_acked = 0;
      for (const char *p = acked->str; (p = strchr (p, '\n')) != NULL; p++)
        n_acked++;
    }
  kill (pid, SIGKILL);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFSIGNALED (status));
  g_assert_cmpint (WTERMSIG (status), ==, SIGKILL);
  /* Whatever it acknowledged before dying counts too. */
  while (TRUE)
    {
      ssize_t n = read (fds[0], buf, sizeof buf);
      if (n <= 0)
        break;
      g_string_append_len (acked, buf, n);
    }
  close (fds[0]);

  f->store = nb_mgmt_store_open (f->path, &error);
  g_assert_no_error (error);
  lines = g_strsplit (acked->str, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (lines[i][0] == '\0')
        continue;
      if (lines[i][0] == 'g')
        {
          g_autoptr(NbMgmtGroup) g = nb_mgmt_store_get_group (f->store, account_id, lines[i] + 2, &error);
          g_assert_no_error (error);
          g_assert_nonnull (g);
          n_groups++;
        }
      else
        {
          g_autoptr(NbMgmtPeer) p = nb_mgmt_store_get_peer_by_key (f->store, lines[i] + 2, &error);
          g_assert_no_error (error);
          g_assert_cmpstr (p->account_id, ==, account_id);
          g_assert_nonnull (p->groups);
          n_peers++;
        }
    }
  g_test_message ("%u groups and %u peers acknowledged, all present after SIGKILL", n_groups, n_peers);
  g_assert_cmpuint (n_groups + n_peers, >=, 60);

  /* The file is whole, and every peer has its event and its "All"
   * membership: no change was half-applied. */
  g_assert_cmpint (sqlite3_open (f->path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "PRAGMA integrity_check", -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpstr ((const char *) sqlite3_column_text (stmt, 0), ==, "ok");
  sqlite3_finalize (stmt);
  g_assert_cmpint (sqlite3_prepare_v2 (db,
                                       "SELECT count(*) FROM peers p WHERE NOT EXISTS "
                                       "(SELECT 1 FROM events e WHERE e.target_id = p.id) OR NOT EXISTS "
                                       "(SELECT 1 FROM group_peers gp WHERE gp.peer_id = p.id)",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_int (stmt, 0), ==, 0);
  sqlite3_finalize (stmt);
  g_assert_cmpint (sqlite3_prepare_v2 (db,
                                       "SELECT (SELECT used_times FROM setup_keys WHERE name = 'default'), "
                                       "(SELECT count(*) FROM peers)", -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_int (stmt, 0), ==, sqlite3_column_int (stmt, 1));
  sqlite3_finalize (stmt);
  sqlite3_close (db);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/mgmt/crash/sigkill-during-writes", StoreFixture, NULL, store_fixture_setup,
              test_sigkill_during_writes, store_fixture_teardown);

  return g_test_run ();
}
