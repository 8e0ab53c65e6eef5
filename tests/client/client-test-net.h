/* client-test-net.h: what the client tests share: temp dirs, commands,
 * and the namespace network (a hub with Management, Signal and coturn,
 * one namespace per client)
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#pragma once

#include <json-glib/json-glib.h>
#include <netbird.h>

#define HUB_ADDRESS "198.18.0.1"
#define MGMT_PORT 33073
#define SIGNAL_PORT 10000
#define MGMT_URL "http://" HUB_ADDRESS ":33073"
#define TURN_PORT 3478
#define TURN_SECRET "nb-client-test-turn-secret"
#define RELAY_PORT 33080
#define RELAY_URL "rel://" HUB_ADDRESS ":33080"
#define RELAY_METRICS HUB_ADDRESS ":33081"


typedef struct
{
  char *name;          /* "a" */
  char *ns;
  char *ifname;
  char *dir;
  GSubprocess *proc;
  GDataInputStream *out;
  GCancellable *reading;
  GPtrArray *lines;    /* char *, what it printed */
  char *public_key;
  char *address;       /* overlay, without the prefix */
} Host;

typedef struct
{
  char *tmp;
  char *hub;
  GPtrArray *namespaces;  /* char * */
  GSubprocess *mgmt;
  GSubprocess *signal;
  GSubprocess *coturn;
  GSubprocess *relay;     /* net_setup_relay() only */
  char *admin_token;
  char *setup_key;
  guint n_hosts;
} Net;

extern Net net;

char       *tmp_dir             (void);
void        rm_rf               (const char *path);
guint       file_mode           (const char *path);
int         sh                  (const char *format,
                                 ...) G_GNUC_PRINTF (1, 2);
void        iterate_for         (guint       ms);
char       *read_file           (const char *path);
gboolean    wait_file           (const char *path,
                                 const char *needle,
                                 guint       timeout_s);

/* The network: made by net_setup() (a failed assertion removes it, see
 * on_abort()), removed by net_teardown(). */
void        net_setup           (void);
/* The same with netbird-relay in the hub, named by Management, and no
 * TURN server given out (coturn answers STUN only). */
void        net_setup_relay     (void);
void        net_teardown        (void);
GSubprocess *spawn_in           (const char  *ns,
                                 const char  *log,
                                 GError     **error,
                                 ...) G_GNUC_NULL_TERMINATED;
int         stop_proc           (GSubprocess *proc);
void        restart_mgmt        (void);
JsonNode   *rest                (const char *method,
                                 const char *path,
                                 const char *body,
                                 guint       expect);

Host       *host_new            (const char *setup_key);
void        host_start          (Host       *host,
                                 const char *setup_key);
void        host_start_with     (Host       *host,
                                 const char *setup_key,
                                 const char *option);
int         host_stop           (Host       *host);
void        host_wait_up        (Host       *host);
guint       host_wait           (Host       *host,
                                 guint       from,
                                 guint       timeout_s,
                                 const char *word,
                                 ...) G_GNUC_NULL_TERMINATED;
void        host_free           (Host       *host);
void        host_free_stopped   (Host       *host);
gboolean    ping_from           (Host       *host,
                                 const char *address,
                                 guint       timeout_s);
guint64     uapi_stat           (Host       *host,
                                 const char *name);
