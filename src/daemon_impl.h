/* daemon_impl.h - private parts of the daemon shared by daemon.c, daemon_worker.c and
 * daemon_proc.c. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "dnsroute/conf.h"
#include "dnsroute/query.h"

/* Largest number of worker threads. */
enum { DAEMON_WORKERS_MAX = 8, DAEMON_GENS_MAX = 8 };

/* One loaded configuration, shared read-only by every worker's generation built from it; freed
 * by whichever worker drops the last reference. */
struct daemon_conf {
    struct conf conf;
    atomic_uint users;
};

struct daemon;

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
    uv_signal_t sig_term, sig_int, sig_hup, sig_usr1, sig_usr2;
    char *pid_file; /* written by us, removed at exit; owned */
};

/* daemon.c */
/* query_ctx.counters: the CHAOS statistics (arg is the daemon), summed over the workers. */
void daemon_chaos_counters(void *arg, struct localrec_counters *out);

/* daemon_worker.c */
/* Builds worker w's generation for dc (upstream channels, set socket) on w's loop; takes one
 * reference to dc. Returns 0 or a negative code with a reason in errbuf. */
int daemon_worker_gen_open(struct daemon_worker *w, struct daemon_conf *dc, char *errbuf,
                           size_t errlen);
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
/* Drops a reference to a shared configuration. */
void daemon_conf_release(struct daemon_conf *dc);

/* daemon_proc.c */
/* Chooses the log sink from log-facility (syslog by default, "-" stderr, a path a file). */
int daemon_log_setup(const struct conf *c);
/* Forks into the background (double fork, setsid, stdio to /dev/null). Returns in the daemon
 * with *report_fd set; the original process waits for daemon_report_started() and exits with
 * its code (dnsmasq's error pipe: start-up errors after the fork still reach the caller). */
int daemon_detach(int *report_fd);
/* Ends start-up: code 0 (success) or an exit code with msg, printed by the waiting original
 * process (or here to stderr when report_fd is -1: not detached). Closes report_fd. */
void daemon_report_started(int report_fd, int code, const char *msg);
/* Fails when user= or group= name no account (dnsmasq checks before binding, even with -d). */
int daemon_check_user(const struct conf *c, char *errbuf, size_t errlen);
/* Writes the pid file. */
int daemon_write_pidfile(const char *path);
/* Changes to user=/group= when root (not with -d), keeping CAP_NET_ADMIN if keep_net_admin. */
int daemon_drop_privileges(const struct conf *c, bool keep_net_admin, char *errbuf, size_t errlen);
