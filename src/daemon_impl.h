/* daemon_impl.h - private parts of the daemon shared by daemon.c, daemon_gen.c,
 * daemon_worker.c, daemon_dbus.c and daemon_proc.c. */
#pragma once

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "dnsroute/conf.h"
#include "dnsroute/dbusctl.h"
#include "dnsroute/query.h"

/* Largest number of worker threads. */
enum { DAEMON_WORKERS_MAX = 8, DAEMON_GENS_MAX = 8 };

/* One loaded configuration, shared read-only by every worker's generation built from it; freed
 * by whichever worker drops the last reference. */
struct daemon_conf {
    struct conf conf;
    atomic_uint users;
    uint32_t
        serial; /* 1, 2, ... one per load: cache entries stored under it skip the domain tree */
    /* A configuration whose hosts data was rebuilt (a hostsdir file or the lease file changed):
     * conf is a copy of base's with its own hosts store; everything else belongs to base, which
     * it holds a reference to. NULL for a loaded configuration. */
    struct daemon_conf *base;
};

/* The hosts sources of the running configuration and their inotify watches (daemon_hosts.c), on
 * worker 0's loop. A change is read and the store rebuilt on libuv's thread pool, then handed to
 * the workers like a reload. */
struct daemon_hosts {
    struct daemon_conf *current; /* the configuration the sources belong to (a reference) */
    struct conf_hostsrc *src;
    int fd; /* inotify; -1 when nothing is watched */
    uv_poll_t poll;
    uv_timer_t settle; /* lets a burst of writes end before the rebuild */
    uv_timer_t expiry; /* the next lease expiry */
    bool started, stopping;
    int *dir_wds; /* per conf.hostsdirs entry; -1 when not watched */
    size_t dir_count;
    int lease_wd;
    /* Changes seen since the last rebuild started: */
    struct daemon_hosts_event *events;
    size_t event_count, event_cap;
    bool leases_dirty, expired;
    /* The rebuild running on the thread pool, if any. */
    struct daemon_hosts_work *work;
};

struct daemon;
struct daemon_names;
struct daemon_reload;

/* One event loop with its own listeners (UDP shared through SO_REUSEPORT), upstream channels,
 * set socket, cache and generation list. Worker 0 runs on the main thread and also owns the TCP
 * listeners and the signals. */
struct daemon_worker {
    struct daemon *d;
    unsigned index;
    uv_loop_t loop;
    uv_thread_t thread;
    struct server *server;
    struct query_ctx queries;
    uv_check_t flush;
    uv_timer_t recheck;
    uv_async_t wake;
    struct query_gen *gens[DAEMON_GENS_MAX]; /* [0] current; older ones drain */
    size_t gen_count;
    size_t dead_gens;
    /* Handed over by the main thread under d->lock: */
    struct daemon_conf *pending; /* a reloaded configuration to adopt */
    bool stop;                   /* leave the loop */
};

struct daemon {
    int argc;
    char **argv;
    struct daemon_worker workers[DAEMON_WORKERS_MAX];
    unsigned nworkers;
    uv_mutex_t lock;
    struct query_cache cache; /* shared by the workers */
    struct daemon_hosts hosts;
    uint32_t conf_serial; /* the last daemon_conf.serial given (on worker 0's loop) */
    /* Held by a load while it reads argv, the D-Bus servers and getopt's global state: SIGHUP's
     * load runs on libuv's thread pool, D-Bus loads on worker 0's loop. */
    uv_mutex_t load_lock;
    /* The names the last start-up or SIGHUP load looked up, for D-Bus loads (daemon_names.c). */
    struct daemon_names *names;
    /* SIGHUP's load on the thread pool (daemon_gen.c); on worker 0's loop. */
    struct daemon_reload *reload; /* in flight, or NULL */
    bool reload_again;            /* a SIGHUP arrived during it: load once more after it */
    bool reload_stopping;         /* shutting down: a load that ends now is dropped */
    uv_signal_t sig_term, sig_int, sig_hup, sig_usr1, sig_usr2;
    char *pid_file;        /* written by us, removed at exit; owned */
    sigset_t sigmask_orig; /* the mask before start-up blocked the handled signals */
    /* Reloads (SIGHUP) for SIGUSR1, under lock: a worker may refuse a configuration. */
    uint64_t reloads, reload_failures;
    char reload_error[256]; /* the last failure's reason, "" if none */
    /* D-Bus (enable-dbus), on worker 0's loop: */
    struct dbusctl *dbus;
    char **dbus_servers; /* the servers set over D-Bus, as server= arguments */
    size_t dbus_server_count;
    int8_t dbus_options[3];          /* per enum dbusctl_option: -1 as the files say, 0 off, 1 on */
    struct query_stats metrics_base; /* counters at the last ClearMetrics */
    uint64_t metrics_base_inserts, metrics_base_evictions;
    struct dbusctl_server_metrics *server_base; /* per server, at the last ClearMetrics */
    size_t server_base_count;
    const struct conf *server_base_conf; /* the generation server_base was taken from */
};

/* daemon.c */
/* query_ctx.counters: the CHAOS statistics (arg is the daemon), summed over the workers. */
void daemon_chaos_counters(void *arg, struct localrec_counters *out);

/* daemon_names.c: the host and interface names a load looks up (conf.h struct conf_resolver) */
/* A table that looks names up and records them (live) or answers only from its records. */
struct daemon_names *daemon_names_new(bool live);
/* From now on answers only from the records (no lookups). */
void daemon_names_freeze(struct daemon_names *t);
void daemon_names_free(struct daemon_names *t);
/* The resolver conf_load_dbus calls, answering from t. */
struct conf_resolver daemon_names_resolver(struct daemon_names *t);

/* daemon_gen.c */
/* Loads the configuration on the calling thread: command line, files, then the D-Bus servers.
 * At start-up (no loop runs yet) host and interface names are looked up and recorded; later
 * (D-Bus, on worker 0's loop) they are answered from the last start-up or SIGHUP load's records.
 * NULL with err filled on failure. */
struct daemon_conf *daemon_conf_load(struct daemon *d, struct conf_error *err);
/* Hands a freshly loaded configuration to every worker (reload, D-Bus servers); takes over the
 * loader's reference. */
void daemon_adopt(struct daemon *d, struct daemon_conf *dc);
/* Counts a failed reload and keeps its reason for SIGUSR1 (any thread; takes d->lock). */
void daemon_note_reload_failure(struct daemon *d, const char *reason);
/* Drops a reference to a shared configuration. */
void daemon_conf_release(struct daemon_conf *dc);
/* SIGHUP (worker 0's loop): loads the configuration again on libuv's thread pool - the files
 * and the host name lookups never hold up the loop - then hands it to every worker; a failure
 * keeps the running one (logged, counted). A SIGHUP during a load starts one more after it. */
void daemon_gen_reload(struct daemon *d);
/* At shutdown, after worker 0's loop stopped: a load in flight is cancelled or, once it ends,
 * dropped. */
void daemon_gen_reload_stop(struct daemon *d);
/* Builds worker w's generation for dc (upstream channels, set socket) on w's loop; takes one
 * reference to dc. Returns 0 or a negative code with a reason in errbuf. */
int daemon_worker_gen_open(struct daemon_worker *w, struct daemon_conf *dc, char *errbuf,
                           size_t errlen);
/* Worker w adopts dc posted by daemon_adopt (on w's loop); drops that reference. */
void daemon_gen_adopt(struct daemon_worker *w, struct daemon_conf *dc);
/* Frees w's retired generations whose last query has ended (on w's loop, from on_check). */
void daemon_gen_reap(struct daemon_worker *w);
/* At shutdown: frees gen's upstream channels (shared with other generations of the same rules:
 * once), which cancels its queries in flight; daemon_gen_free later frees the rest. */
void daemon_gen_cancel(struct query_gen *gen);
/* Frees a generation: its upstream channels, set socket and configuration reference. */
void daemon_gen_free(struct query_gen *gen);

/* daemon_dbus.c */
/* Connects to the system bus when enable-dbus is set (before privileges are dropped, as
 * dnsmasq). Returns 0, or a negative code with "DBus error: ..." in errbuf (-ENOTSUP: built
 * without libdbus-1, "DBus not available: ..."). */
int daemon_dbus_start(struct daemon *d, const struct conf *c, char *errbuf, size_t errlen);
/* Applies the options switched over D-Bus (SetFilterA, ...) to a freshly loaded c. */
void daemon_dbus_apply_options(const struct daemon *d, struct conf *c);
/* Empties the shared answer cache (ClearCache, clear-on-reload). */
void daemon_cache_clear(struct daemon *d);
/* dnsmasq's "DBus support enabled: ..." start-up line. */
void daemon_dbus_log_startup(const struct daemon *d);
/* Leaves the bus and forgets the D-Bus servers (at exit, before worker 0's loop is closed). */
void daemon_dbus_stop(struct daemon *d);

/* daemon_worker.c */
/* Opens w's listeners (before privileges are dropped). */
int daemon_worker_listen(struct daemon_worker *w, const struct conf *c, char *errbuf,
                         size_t errlen);
/* Starts w's handles (flush check, set re-check timer, wake-up async) and its query context. */
void daemon_worker_start(struct daemon_worker *w);
/* Runs w's loop on a new thread (workers 1..n-1). */
int daemon_worker_spawn(struct daemon_worker *w);
/* Asks w to adopt dc (reload) or to stop; thread-safe. */
void daemon_worker_post(struct daemon_worker *w, struct daemon_conf *dc, bool stop);
/* Tears w down completely on its own thread after its loop returned. */
void daemon_worker_shutdown(struct daemon_worker *w);

/* daemon_hosts.c */
/* Creates the inotify descriptor and the handles on worker 0's loop (after the privilege drop). */
void daemon_hosts_start(struct daemon *d);
/* Reads every hosts source of a freshly loaded dc (start-up, SIGHUP, D-Bus) into dc->conf.hosts
 * and watches its hostsdir= directories and lease file from now on. */
void daemon_hosts_load(struct daemon *d, struct daemon_conf *dc);
/* Closes the watches and handles (before worker 0's loop is torn down). */
void daemon_hosts_stop(struct daemon *d);

/* daemon_proc.c */
/* Chooses the log sink from log-facility (syslog by default, "-" stderr, a path a file). */
int daemon_log_setup(const struct conf *c);
/* Forks into the background (double fork, setsid, stdio to /dev/null). Returns in the daemon
 * with *report_fd set; the original process restores parent_mask (it keeps no handlers), waits for
 * daemon_report_started() and exits with its code (dnsmasq's error pipe: start-up errors after the
 * fork still reach the caller). */
int daemon_detach(int *report_fd, const sigset_t *parent_mask);
/* Ends start-up: code 0 (success) or an exit code with msg, printed by the waiting original
 * process (or here to stderr when report_fd is -1: not detached). Closes report_fd. */
void daemon_report_started(int report_fd, int code, const char *msg);
/* Fails when user= or group= name no account (dnsmasq checks before binding, even with -d). */
int daemon_check_user(const struct conf *c, char *errbuf, size_t errlen);
/* Writes the pid file. */
int daemon_write_pidfile(const char *path);
/* Changes to user=/group= when root (not with -d), keeping CAP_NET_ADMIN if keep_net_admin and
 * CAP_NET_BIND_SERVICE if keep_bind (listeners bound later to a port below 1024). */
int daemon_drop_privileges(const struct conf *c, bool keep_net_admin, bool keep_bind, char *errbuf,
                           size_t errlen);
