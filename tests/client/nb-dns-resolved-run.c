/* nb-dns-resolved-run: the client's systemd-resolved mode, one call, for
 * test-dns-resolved.sh (which runs a real systemd-resolved).
 *
 *   nb-dns-resolved-run apply IFINDEX NAMESERVER SEARCH,... ROUTING,...
 *   nb-dns-resolved-run revert IFINDEX
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include "nb-client-dns-resolved-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
main (int   argc,
      char *argv[])
{
  g_autoptr(NbDnsHostResolved) resolved = NULL;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  if (argc < 3 || (strcmp (argv[1], "apply") == 0 && argc != 6))
    {
      fprintf (stderr, "usage: %s apply IFINDEX NAMESERVER SEARCH,.. ROUTING,..|revert IFINDEX\n",
               argv[0]);
      return 2;
    }
  resolved = nb_dns_host_resolved_new (&error);
  if (resolved == NULL)
    {
      fprintf (stderr, "no systemd-resolved: %s\n", error->message);
      return 1;
    }
  if (strcmp (argv[1], "apply") == 0)
    {
      g_auto(GStrv) search = g_strsplit (argv[4], ",", -1);
      g_auto(GStrv) routing = g_strsplit (argv[5], ",", -1);

      ok = nb_dns_host_resolved_apply (resolved, atoi (argv[2]), argv[3],
                                       (const char * const *) search,
                                       (const char * const *) routing, &error);
    }
  else
    ok = nb_dns_host_resolved_revert (resolved, atoi (argv[2]), &error);
  if (!ok)
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  printf ("%s done\n", argv[1]);
  return 0;
}
