/* daemon.c - start-up, signals and reload. Start-up follows dnsmasq: parse (fatal on error), bind
 * the listeners, open the upstream channels and the set socket, detach, pid file, drop
 * privileges, serve. The work is spread over worker threads (daemon_worker.c) that share the
 * UDP port through SO_REUSEPORT; worker 0 runs on this thread, owns TCP and the signals.
 * SIGHUP builds a whole new configuration beside the running one and hands it to every worker;
 * a broken one is refused and the old one kept. */
#include "dnsroute/daemon.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon_impl.h"
#include "dnsroute/cache.h"
#include "dnsroute/conf.h"
#include "dnsroute/err.h"
#include "dnsroute/log.h"
#include "dnsroute/mem.h"
#include "dnsroute/nlset.h"
#include "dnsroute/query.h"
#include "dnsroute/server.h"
#include "dnsroute/upstream.h"

/* --workers=0 (the default): one worker per two CPUs the process may run on. Each datagram costs
 * the kernel about as much CPU again as the worker (its receive, its send, the wake-ups), on the
 * CPU of whoever sends it, and the clients and the machine's routing need CPU too: a worker per
 * CPU halves each worker's receive batches and doubles its wake-ups for no more throughput
 * (2 vCPUs, bench/README.md: 1 worker serves more cache hits and forwards more queries than 2,
 * at 25-30 % less CPU per query). */
static unsigned daemon_worker_count(const struct conf *c)
{
    unsigned n = c->workers;
    if (n == 0) {
        cpu_set_t set;
        n = sched_getaffinity(0, sizeof(set), &set) == 0 ? (unsigned)CPU_COUNT(&set) / 2 : 1;
    }
    if (n < 1) {
        n = 1;
    }
    return n > DAEMON_WORKERS_MAX ? DAEMON_WORKERS_MAX : n;
}

static void daemon_stop(struct daemon *d, const char *signame)
{
    log_info("exiting on receipt of %s", signame);
    for (unsigned i = 1; i < d->nworkers; i++) {
        daemon_worker_post(&d->workers[i], NULL, true);
    }
    uv_stop(&d->workers[0].loop);
}

/* SIGUSR1 per-set lines, summed over the workers like the server lines (each worker has its own
 * set socket and counters: one line per worker showed partial counts). State and last error are
 * worker 0's, or the last worker's that saw an error. */
static void daemon_log_set_stats(struct daemon *d)
{
    const struct conf *c = d->workers[0].gens[0]->conf;
    for (uint32_t k = 0; k < c->set_count; k++) {
        struct nlset_stats sum, st;
        memset(&sum, 0, sizeof(sum));
        for (unsigned i = 0; i < d->nworkers; i++) {
            const struct nlset *n = d->workers[i].gens[0]->nlset;
            if (n == NULL || nlset_get_stats(n, k, &st) < 0) {
                continue; /* a worker still adopting a reload with other sets */
            }
            sum.state = i == 0 ? st.state : sum.state;
            sum.last_error = st.last_error != 0 ? st.last_error : sum.last_error;
            sum.added += st.added;
            sum.deduped += st.deduped;
            sum.wrong_family += st.wrong_family;
            for (size_t e = 0; e < NLSET_ERR_KIND_COUNT; e++) {
                sum.errors[e] += st.errors[e];
            }
        }
        log_info(
            "%s %s: %s; added %llu, merged %llu, wrong family %llu, missing %llu, family %llu, "
            "full %llu, timeout %llu, permission %llu, other %llu; last error: %s",
            c->sets[k].kind == CONF_SET_IPSET ? "ipset" : "nftset", c->sets[k].spec,
            sum.state == NLSET_STATE_READY      ? "ready"
            : sum.state == NLSET_STATE_UNUSABLE ? "unusable"
                                                : "missing",
            (unsigned long long)sum.added, (unsigned long long)sum.deduped,
            (unsigned long long)sum.wrong_family, (unsigned long long)sum.errors[NLSET_ERR_MISSING],
            (unsigned long long)sum.errors[NLSET_ERR_FAMILY],
            (unsigned long long)sum.errors[NLSET_ERR_FULL],
            (unsigned long long)sum.errors[NLSET_ERR_TIMEOUT],
            (unsigned long long)sum.errors[NLSET_ERR_PERM],
            (unsigned long long)sum.errors[NLSET_ERR_OTHER],
            sum.last_error != 0 ? nlset_err_str(sum.last_error) : "none");
    }
}

/* SIGUSR1: dnsmasq's statistics lines, summed over the workers (counters are read without
 * locking: a statistics line may be off by the queries of the current instant). */
static void daemon_log_stats(struct daemon *d)
{
    struct query_stats s;
    struct server_stats ss;
    memset(&s, 0, sizeof(s));
    for (unsigned i = 0; i < d->nworkers; i++) {
        query_stats_add(&s, &d->workers[i].queries.stats);
    }
    server_get_stats(d->workers[0].server, &ss); /* TCP is served by worker 0: this thread */
    const struct query_gen *gen = d->workers[0].gens[0];
    log_info("time %lu", (unsigned long)time(NULL));
    log_info("cache size %u, %llu cache hits", gen->conf->cache_size,
             (unsigned long long)s.cache_hits);
    log_info("queries forwarded %llu, queries answered locally %llu",
             (unsigned long long)s.forwarded, (unsigned long long)s.answered_locally);
    if (gen->conf->stale_cache_s != 0) {
        log_info("queries answered from stale cache %llu", (unsigned long long)s.stale_answers);
    }
    log_info("queries received %llu, replies %llu, servfail %llu, refused (dns-forward-max) %llu, "
             "refused (no server) %llu, formerr %llu, notimp %llu, dropped %llu, truncated %llu, "
             "set additions %llu",
             (unsigned long long)s.received, (unsigned long long)s.replies,
             (unsigned long long)s.servfail, (unsigned long long)s.refused_full,
             (unsigned long long)s.refused, (unsigned long long)s.formerr,
             (unsigned long long)s.notimp, (unsigned long long)s.dropped,
             (unsigned long long)s.truncated, (unsigned long long)s.set_additions);
    log_info("TCP connections: in use %u, highest %u, max allowed %u", ss.tcp_open, ss.tcp_open_max,
             gen->conf->max_tcp_connections);
    log_info("TCP connections closed: idle %llu, slow message %llu, lifetime %llu, evicted at the "
             "cap %llu, refused %llu",
             (unsigned long long)ss.tcp_closed_idle, (unsigned long long)ss.tcp_closed_slow,
             (unsigned long long)ss.tcp_closed_lifetime, (unsigned long long)ss.tcp_evicted,
             (unsigned long long)ss.tcp_rejected);
    for (size_t k = 0; k < gen->conf->server_count; k++) {
        struct upstream_server_stats sum, st;
        memset(&sum, 0, sizeof(sum));
        for (unsigned i = 0; i < d->nworkers; i++) {
            upstream_get_stats(d->workers[i].gens[0]->upstream, (uint32_t)k, &st);
            sum.sent += st.sent;
            sum.retried += st.retried;
            sum.failed += st.failed;
            sum.nxdomain += st.nxdomain;
            sum.avg_latency_ms =
                st.avg_latency_ms > sum.avg_latency_ms ? st.avg_latency_ms : sum.avg_latency_ms;
        }
        char text[SOCKADDR_TEXT_MAX];
        sockaddr_format(&gen->conf->servers[k].addr, true, text, sizeof(text));
        log_info("server %s: queries sent %llu, retried %llu, failed %llu, nxdomain replies %llu, "
                 "avg. latency %ums",
                 text, (unsigned long long)sum.sent, (unsigned long long)sum.retried,
                 (unsigned long long)sum.failed, (unsigned long long)sum.nxdomain,
                 sum.avg_latency_ms);
    }
    daemon_log_set_stats(d);
    log_info("reloads %llu, failed %llu; last failure: %s", (unsigned long long)d->reloads,
             (unsigned long long)d->reload_failures,
             d->reload_error[0] != '\0' ? d->reload_error : "none");
}

/* The CHAOS statistics names (dnsmasq cache_make_stat), summed over the workers under the lock
 * that guards their generations; called on a worker's loop thread. */
void daemon_chaos_counters(void *arg, struct localrec_counters *out)
{
    struct daemon *d = arg;
    struct query_stats s;
    struct cache_stats cs;
    memset(&s, 0, sizeof(s));
    memset(&cs, 0, sizeof(cs));
    if (d->cache.cache != NULL) {
        cache_get_stats(d->cache.cache, &cs); /* the cache locks its own shards */
    }
    uv_mutex_lock(&d->lock);
    for (unsigned i = 0; i < d->nworkers; i++) {
        query_stats_add(&s, &d->workers[i].queries.stats);
    }
    const struct conf *c = d->workers[0].gens[0]->conf;
    out->cachesize = c->cache_size;
    out->insertions = (uint32_t)cs.inserts;
    out->evictions = (uint32_t)cs.evictions;
    out->misses = (uint32_t)s.forwarded;
    out->hits = (uint32_t)(s.answered_locally + s.cache_hits);
    for (size_t k = 0; k < c->server_count && out->server_count < out->server_cap; k++) {
        struct localrec_server_stat *line = &out->servers[out->server_count++];
        memset(line, 0, sizeof(*line));
        sockaddr_format(&c->servers[k].addr, false, line->addr, sizeof(line->addr));
        line->port = sockaddr_port(&c->servers[k].addr);
        for (unsigned i = 0; i < d->nworkers; i++) {
            struct upstream_server_stats st;
            upstream_get_stats(d->workers[i].gens[0]->upstream, (uint32_t)k, &st);
            line->queries += (uint32_t)st.sent;
            line->failed += (uint32_t)st.failed;
        }
    }
    uv_mutex_unlock(&d->lock);
}

static void on_signal(uv_signal_t *handle, int signum)
{
    struct daemon *d = handle->data;
    switch (signum) {
    case SIGTERM:
        daemon_stop(d, "SIGTERM");
        break;
    case SIGINT:
        daemon_stop(d, "SIGINT");
        break;
    case SIGHUP:
        daemon_gen_reload(d);
        break;
    case SIGUSR1:
        /* Other workers may be adopting a reload: their gens[0] (and the generation it points
         * to, freed once drained) are read under the lock that guards the swap. */
        uv_mutex_lock(&d->lock);
        daemon_log_stats(d);
        uv_mutex_unlock(&d->lock);
        break;
    case SIGUSR2: {
        int rc = log_reopen();
        if (rc < 0) {
            log_error("cannot reopen the log file: %s", err_str(rc));
        }
        break;
    }
    default:
        break;
    }
}

/* The signals the daemon handles. They are blocked from the top of start-up until their handlers
 * exist: a SIGTERM that arrives once the pid file is written (or earlier) is then handled like any
 * other (logged, pid file removed, exit 0) instead of killing the process half-started. */
static const int daemon_handled_signals[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2};

static void daemon_signals_block(sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    for (size_t i = 0; i < DNSROUTE_ARRAY_LEN(daemon_handled_signals); i++) {
        sigaddset(&set, daemon_handled_signals[i]);
    }
    pthread_sigmask(SIG_BLOCK, &set, old);
}

/* Installs the handlers on worker 0's loop, then restores the mask from before start-up: a signal
 * that arrived meanwhile is delivered now and handled once the loop runs. */
static void daemon_signals_start(struct daemon *d)
{
    uv_signal_t *handles[] = {&d->sig_term, &d->sig_int, &d->sig_hup, &d->sig_usr1, &d->sig_usr2};
    for (size_t i = 0; i < DNSROUTE_ARRAY_LEN(handles); i++) {
        uv_signal_init(&d->workers[0].loop, handles[i]);
        handles[i]->data = d;
        uv_signal_start(handles[i], on_signal, daemon_handled_signals[i]);
    }
    (void)signal(SIGPIPE, SIG_IGN);
    pthread_sigmask(SIG_SETMASK, &d->sigmask_orig, NULL);
}

static void daemon_log_startup(const struct daemon *d, const struct conf *c)
{
    log_info("started, version %s cachesize %u, %u worker%s", DNSROUTE_VERSION, c->cache_size,
             d->nworkers, d->nworkers == 1 ? "" : "s");
    size_t shown = c->server_count < 30 ? c->server_count : 30;
    for (size_t i = 0; i < shown; i++) {
        char text[SOCKADDR_TEXT_MAX];
        sockaddr_format(&c->servers[i].addr, true, text, sizeof(text));
        log_info("using nameserver %s", text);
    }
    if (c->server_count > shown) {
        log_info("%zu more servers are defined but not logged", c->server_count - shown);
    }
    log_info("%zu domains in the routing table, %u upstream groups", domtree_domain_count(c->tree),
             domtree_group_count(c->tree));
    if (c->server_count == 0) {
        log_warn("warning: no upstream servers configured");
    }
}

/* The part of start-up that follows the fork: log sink, pid file, privileges. Returns 0 or an exit
 * code with dnsmasq's message in errbuf. */
static int daemon_start_detached(struct daemon *d, const struct conf *c, char *errbuf,
                                 size_t errlen)
{
    int rc = daemon_log_setup(c);
    if (rc < 0) {
        (void)snprintf(errbuf, errlen, "cannot open log %s: %s", c->log_facility, err_str(rc));
        return CONF_EXIT_FILE;
    }
    if (c->pid_file != NULL && !c->no_daemon) {
        rc = daemon_write_pidfile(c->pid_file);
        if (rc < 0) {
            (void)snprintf(errbuf, errlen, "failed to open pidfile %s: %s", c->pid_file,
                           err_str(rc));
            log_error("%s", errbuf); /* the log is open: there too, as dnsmasq's die() */
            return CONF_EXIT_FILE;
        }
        d->pid_file = mem_strdup(c->pid_file); /* the start-up configuration goes away */
    }
    /* The bus checks our credentials when we connect: connect while still root, as dnsmasq. */
    rc = daemon_dbus_start(d, c, errbuf, errlen);
    if (rc < 0) {
        log_error("%s", errbuf);
        return rc == -ENOTSUP ? CONF_EXIT_BADCONF : CONF_EXIT_MISC; /* dnsmasq's EC_ codes */
    }
    /* Listeners bound after start (bind-dynamic, tentative addresses) need to bind a low port
     * as the user the daemon becomes (dnsmasq need_cap_net_bind_service). */
    bool late_binds = false;
    for (unsigned i = 0; i < d->nworkers; i++) {
        late_binds = late_binds || server_binds_later(d->workers[i].server);
    }
    bool keep_bind = late_binds && c->port != 0 && c->port < 1024;
    if (daemon_drop_privileges(c, c->set_count > 0, keep_bind, errbuf, errlen) < 0) {
        log_error("%s", errbuf);
        return CONF_EXIT_MISC;
    }
    return 0;
}

/* Binds every worker's listeners, opens their modules, detaches, writes the pid file and drops
 * privileges, all before any worker thread exists. Returns 0 or an exit code; errors after the
 * fork reach the waiting original process, so its exit status tells (dnsmasq's error pipe). */
static int daemon_start(struct daemon *d, struct daemon_conf *dc)
{
    char errbuf[512] = "";
    const struct conf *c = &dc->conf;
    if (daemon_check_user(c, errbuf, sizeof(errbuf)) < 0) {
        (void)fprintf(stderr, "\ndnsroute: %s\n", errbuf);
        return CONF_EXIT_BADCONF;
    }
    if (c->bind_interfaces && c->bind_dynamic) {
        (void)fprintf(stderr, "\ndnsroute: cannot set --bind-interfaces and --bind-dynamic\n");
        return CONF_EXIT_BADCONF;
    }
    for (unsigned i = 0; i < d->nworkers; i++) {
        if (daemon_worker_listen(&d->workers[i], c, errbuf, sizeof(errbuf)) < 0) {
            (void)fprintf(stderr, "\ndnsroute: %s\n", errbuf);
            return CONF_EXIT_BADNET;
        }
        if (daemon_worker_gen_open(&d->workers[i], dc, errbuf, sizeof(errbuf)) < 0) {
            (void)fprintf(stderr, "\ndnsroute: %s\n", errbuf);
            return CONF_EXIT_MISC;
        }
    }
    int report_fd = -1;
    if (!c->keep_in_foreground && !c->no_daemon) {
        int rc = daemon_detach(&report_fd, &d->sigmask_orig);
        if (rc < 0) {
            (void)snprintf(errbuf, sizeof(errbuf), "cannot fork into background: %s", err_str(rc));
            daemon_report_started(report_fd, CONF_EXIT_MISC, errbuf);
            return CONF_EXIT_MISC;
        }
        for (unsigned i = 0; i < d->nworkers; i++) {
            uv_loop_fork(&d->workers[i].loop); /* epoll state does not survive fork */
        }
    }
    int rc = daemon_start_detached(d, c, errbuf, sizeof(errbuf));
    daemon_report_started(report_fd, rc, errbuf);
    return rc;
}

/* Runs the workers until SIGTERM/SIGINT; everything is torn down before it returns. */
static int daemon_serve(struct daemon *d, struct daemon_conf *dc)
{
    d->nworkers = daemon_worker_count(&dc->conf);
    uv_mutex_init(&d->lock);
    query_cache_init(&d->cache, dc->conf.cache_size);
    for (unsigned i = 0; i < d->nworkers; i++) {
        d->workers[i].d = d;
        d->workers[i].index = i;
        uv_loop_init(&d->workers[i].loop);
    }
    int rc = daemon_start(d, dc);
    unsigned spawned = 1;
    if (rc == 0) {
        for (unsigned i = 0; i < d->nworkers; i++) {
            daemon_worker_start(&d->workers[i]);
        }
        daemon_signals_start(d);
        daemon_log_startup(d, &dc->conf);
        /* After the privilege drop, before any query, as dnsmasq (the workers share the conf). */
        daemon_hosts_start(d);
        daemon_hosts_load(d, dc);
        daemon_dbus_log_startup(d);
        /* Each worker's generation holds the configuration from here on: without this reference
         * the start-up configuration is freed with the first reload, not kept for ever. */
        daemon_conf_release(dc);
        dc = NULL;
        for (; spawned < d->nworkers; spawned++) {
            if (daemon_worker_spawn(&d->workers[spawned]) != 0) {
                log_error("cannot start worker thread %u", spawned);
                break;
            }
        }
        uv_run(&d->workers[0].loop, UV_RUN_DEFAULT);
        daemon_gen_reload_stop(d);
        daemon_hosts_stop(d);
        /* Stop (again, after daemon_stop's post: a repeated stop sends no second wake-up) and join
         * every worker: this is also the stop if worker 0's loop ever ends without daemon_stop. */
        for (unsigned i = 1; i < spawned; i++) {
            daemon_worker_post(&d->workers[i], NULL, true);
            uv_thread_join(&d->workers[i].thread);
        }
    }
    if (d->pid_file != NULL) {
        unlink(d->pid_file);
        free(d->pid_file);
    }
    daemon_dbus_stop(d);
    /* Workers that never got a thread (start-up failure) are torn down here. */
    daemon_worker_shutdown(&d->workers[0]);
    for (unsigned i = spawned; i < d->nworkers; i++) {
        daemon_worker_shutdown(&d->workers[i]);
    }
    daemon_conf_release(dc);
    query_cache_deinit(&d->cache);
    uv_mutex_destroy(&d->lock);
    return rc;
}

static int daemon_explain(const struct conf *c)
{
    for (size_t i = 0; i < c->explain_count; i++) {
        conf_explain(c, c->explain_names[i], 0, stdout);
    }
    return 0;
}

static void daemon_free(struct daemon *d)
{
    daemon_names_free(d->names);
    uv_mutex_destroy(&d->load_lock);
    free(d);
}

int daemon_main(int argc, char **argv)
{
    struct daemon *d = mem_calloc(1, sizeof(*d));
    memset(d->dbus_options, -1, sizeof(d->dbus_options)); /* none switched over D-Bus */
    struct conf_error err;
    daemon_signals_block(&d->sigmask_orig);
    d->argc = argc;
    d->argv = argv;
    uv_mutex_init(&d->load_lock);
    struct daemon_conf *dc = daemon_conf_load(d, &err);
    if (dc == NULL) {
        (void)fprintf(stderr, "\n%s\n", err.message);
        pthread_sigmask(SIG_SETMASK, &d->sigmask_orig, NULL);
        daemon_free(d);
        return err.exit_code;
    }
    int rc = 0;
    if (dc->conf.info_only || dc->conf.explain_count > 0 || dc->conf.test_only) {
        pthread_sigmask(SIG_SETMASK, &d->sigmask_orig, NULL); /* not a daemon: default actions */
    }
    if (dc->conf.info_only) {
        rc = 0;
    } else if (dc->conf.explain_count > 0) {
        rc = daemon_explain(&dc->conf);
    } else if (dc->conf.test_only) {
        (void)fprintf(stderr, "dnsroute: syntax check OK.\n");
    } else {
        rc = daemon_serve(d, dc);
        dc = NULL; /* released by daemon_serve */
    }
    daemon_conf_release(dc);
    daemon_free(d);
    return rc;
}
