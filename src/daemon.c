/* daemon.c - owns the event loop, the configuration generations, the module instances
 * (listeners, upstreams, sets) and the signals. Start-up follows dnsmasq: parse (fatal on error),
 * bind the listeners, open the set socket, detach, pid file, drop privileges, serve.
 * Every loop turn ends in on_check(): the set batch is flushed first, then the replies leave. */
#include "dnsroute/daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon_impl.h"
#include "dnsroute/conf.h"
#include "dnsroute/err.h"
#include "dnsroute/log.h"
#include "dnsroute/mem.h"
#include "dnsroute/nlset.h"
#include "dnsroute/query.h"
#include "dnsroute/server.h"
#include "dnsroute/upstream.h"

struct daemon {
    uv_loop_t loop;
    int argc;
    char **argv;
    struct server *server;
    struct query_ctx queries;
    uv_check_t flush;
    uv_signal_t sig_term, sig_int, sig_hup, sig_usr1, sig_usr2;
    uv_timer_t recheck;
    struct query_gen *gens[8]; /* live generations: [0] is current; older ones drain */
    size_t gen_count;
    size_t dead_gens;          /* retired generations whose last query has ended */
    const char *pid_file;      /* written by us, removed at exit */
    int exit_code;
};

/* The last query of a retired generation ended, possibly inside an upstream callback: the
 * generation is freed later, in on_check, where no module is on the stack. */
static void daemon_gen_released(struct query_gen *gen, void *arg)
{
    struct daemon *d = arg;
    gen->released = NULL;
    d->dead_gens++;
}

static void daemon_gen_free(struct query_gen *gen)
{
    upstream_free(gen->upstream);
    nlset_free(gen->nlset);
    conf_deinit(&gen->conf);
    free(gen);
}

static void daemon_reap_gens(struct daemon *d)
{
    for (size_t i = 1; i < d->gen_count && d->dead_gens > 0;) {
        if (d->gens[i]->refs == 0) {
            daemon_gen_free(d->gens[i]);
            d->gens[i] = d->gens[--d->gen_count];
            d->dead_gens--;
        } else {
            i++;
        }
    }
}

static const uint32_t *daemon_group_servers(void *ctx, uint32_t group, uint32_t *count)
{
    return conf_group_servers(ctx, group, count);
}

/* Builds the run-time parts of a loaded configuration: upstream channels and the set socket. */
static int daemon_gen_open(struct daemon *d, struct query_gen *gen, char *errbuf, size_t errlen)
{
    const struct conf *c = &gen->conf;
    struct upstream_config ucfg = {
        .servers = c->servers,
        .server_count = c->server_count,
        .group_count = domtree_group_count(c->tree),
        .group_servers = daemon_group_servers,
        .group_ctx = (void *)c,
        .strict_order = c->strict_order,
        .all_servers = c->all_servers,
        .dns_forward_max = c->dns_forward_max,
        .query_port = c->query_port,
        .min_port = c->min_port,
        .max_port = c->max_port,
        /* Two queries per upstream socket: each socket costs 9 syscalls (socket, connect,
         * close, libuv's ioctl and 5 epoll_ctl), ~40% of the daemon's CPU time per forwarded
         * query at 1 per socket (bench/README.md). 2 is the most that keeps >= 500 distinct
         * source ports per 1,000 upstream queries (the DNSpooq mitigation). */
        .queries_per_socket = 2,
    };
    int rc = upstream_new(&d->loop, &ucfg, &gen->upstream);
    if (rc < 0) {
        snprintf(errbuf, errlen, "failed to create upstream channels: %s", err_str(rc));
        return rc;
    }
    if (gen->conf.set_count > 0) {
        rc = nlset_new(gen->conf.sets, gen->conf.set_count, NULL, &gen->nlset);
        if (rc < 0) {
            snprintf(errbuf, errlen, "failed to create IPset control socket: %s", err_str(rc));
            return rc;
        }
    }
    gen->refs = 1;
    gen->released = daemon_gen_released;
    gen->released_arg = d;
    return 0;
}

static void on_check(uv_check_t *handle)
{
    struct daemon *d = DNSROUTE_CONTAINER_OF(handle, struct daemon, flush);
    if (d->dead_gens > 0) {
        daemon_reap_gens(d);
    }
    if (!server_has_pending(d->server)) {
        return;
    }
    /* The kernel applies set additions inside sendmsg: after this, the replies may leave. */
    for (size_t i = 0; i < d->gen_count; i++) {
        if (d->gens[i]->nlset != NULL) {
            nlset_flush(d->gens[i]->nlset);
        }
    }
    server_flush(d->server);
}

static void on_recheck(uv_timer_t *timer)
{
    struct daemon *d = DNSROUTE_CONTAINER_OF(timer, struct daemon, recheck);
    for (size_t i = 0; i < d->gen_count; i++) {
        if (d->gens[i]->nlset != NULL) {
            nlset_recheck(d->gens[i]->nlset);
        }
    }
}

static void daemon_stop(struct daemon *d, const char *signame)
{
    log_info("exiting on receipt of %s", signame);
    uv_stop(&d->loop);
}

static void daemon_reload(struct daemon *d)
{
    struct query_gen *gen = mem_calloc(1, sizeof(*gen));
    struct conf_error err;
    char errbuf[512];
    if (d->gen_count == DNSROUTE_ARRAY_LEN(d->gens)) {
        log_error("reload refused: too many generations still draining");
        free(gen);
        return;
    }
    if (conf_load(&gen->conf, d->argc, d->argv, &err) < 0) {
        log_error("reload failed, keeping the running configuration: %s", err.message);
        free(gen);
        return;
    }
    if (daemon_gen_open(d, gen, errbuf, sizeof(errbuf)) < 0) {
        log_error("reload failed, keeping the running configuration: %s", errbuf);
        upstream_free(gen->upstream);
        conf_deinit(&gen->conf);
        free(gen);
        return;
    }
    struct query_gen *old = d->gens[0];
    d->gens[d->gen_count++] = old;
    d->gens[0] = gen;
    d->queries.gen = gen;
    log_info("configuration reloaded: %zu domains, %zu servers", domtree_domain_count(gen->conf.tree),
             gen->conf.server_count);
    query_gen_unref(old); /* freed once its last query has ended */
}

static void daemon_log_server_stats(const struct query_gen *gen)
{
    for (size_t i = 0; i < gen->conf.server_count; i++) {
        struct upstream_server_stats st;
        char text[SOCKADDR_TEXT_MAX];
        upstream_get_stats(gen->upstream, (uint32_t)i, &st);
        sockaddr_format(&gen->conf.servers[i].addr, true, text, sizeof(text));
        log_info("server %s: queries sent %llu, retried %llu, failed %llu, nxdomain replies %llu, "
                 "avg. latency %ums",
                 text, (unsigned long long)st.sent, (unsigned long long)st.retried,
                 (unsigned long long)st.failed, (unsigned long long)st.nxdomain,
                 st.avg_latency_ms);
    }
}

static void daemon_log_stats(struct daemon *d)
{
    const struct query_stats *s = &d->queries.stats;
    log_info("time %lu", (unsigned long)time(NULL));
    log_info("queries forwarded %llu, queries answered locally %llu",
             (unsigned long long)s->forwarded, (unsigned long long)s->answered_locally);
    log_info("queries received %llu, replies %llu, servfail %llu, refused (dns-forward-max) %llu, "
             "formerr %llu, notimp %llu, dropped %llu, truncated %llu",
             (unsigned long long)s->received, (unsigned long long)s->replies,
             (unsigned long long)s->servfail, (unsigned long long)s->refused_full,
             (unsigned long long)s->formerr, (unsigned long long)s->notimp,
             (unsigned long long)s->dropped, (unsigned long long)s->truncated);
    struct server_stats ss;
    server_get_stats(d->server, &ss);
    log_info("TCP connections: in use %u, highest %u, max allowed %u", ss.tcp_open, ss.tcp_open_max,
             d->gens[0]->conf.max_tcp_connections);
    daemon_log_server_stats(d->gens[0]);
    if (d->gens[0]->nlset != NULL) {
        nlset_log_stats(d->gens[0]->nlset);
    }
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
        daemon_reload(d);
        break;
    case SIGUSR1:
        daemon_log_stats(d);
        break;
    case SIGUSR2:
        log_reopen();
        break;
    default:
        break;
    }
}

static void daemon_signals_start(struct daemon *d)
{
    struct {
        uv_signal_t *h;
        int signum;
    } sigs[] = {{&d->sig_term, SIGTERM},
                {&d->sig_int, SIGINT},
                {&d->sig_hup, SIGHUP},
                {&d->sig_usr1, SIGUSR1},
                {&d->sig_usr2, SIGUSR2}};
    for (size_t i = 0; i < DNSROUTE_ARRAY_LEN(sigs); i++) {
        uv_signal_init(&d->loop, sigs[i].h);
        sigs[i].h->data = d;
        uv_signal_start(sigs[i].h, on_signal, sigs[i].signum);
    }
    signal(SIGPIPE, SIG_IGN);
}

static int daemon_explain(const struct conf *c)
{
    for (size_t i = 0; i < c->explain_count; i++) {
        conf_explain(c, c->explain_names[i], 0, stdout);
    }
    return 0;
}

static void daemon_log_startup(const struct query_gen *gen)
{
    const struct conf *c = &gen->conf;
    log_info("started, version %s cachesize %u", DNSROUTE_VERSION, c->cache_size);
    size_t shown = c->server_count < 30 ? c->server_count : 30;
    for (size_t i = 0; i < shown; i++) {
        char text[SOCKADDR_TEXT_MAX];
        sockaddr_format(&c->servers[i].addr, true, text, sizeof(text));
        log_info("using nameserver %s", text);
    }
    if (c->server_count > shown) {
        log_info("%zu more servers are defined but not logged", c->server_count - shown);
    }
    log_info("%zu domains in the routing table, %u upstream groups",
             domtree_domain_count(c->tree), domtree_group_count(c->tree));
    if (c->server_count == 0) {
        log_warn("warning: no upstream servers configured");
    }
}

/* Binds, detaches, drops privileges and runs the loop. Returns the exit code. */
static int daemon_serve(struct daemon *d, struct query_gen *gen)
{
    char errbuf[512] = "";
    const struct conf *c = &gen->conf;
    uv_loop_init(&d->loop);
    int rc = server_new(&d->loop, c, query_receive, &d->queries, &d->server, errbuf,
                        sizeof(errbuf));
    if (rc < 0) {
        fprintf(stderr, "\ndnsroute: %s\n", errbuf);
        return CONF_EXIT_BADNET;
    }
    if (daemon_gen_open(d, gen, errbuf, sizeof(errbuf)) < 0) {
        fprintf(stderr, "\ndnsroute: %s\n", errbuf);
        return CONF_EXIT_MISC;
    }
    d->gens[d->gen_count++] = gen;
    if (!c->keep_in_foreground && !c->no_daemon && daemon_detach() < 0) {
        return CONF_EXIT_MISC;
    }
    daemon_log_setup(c);
    if (c->pid_file != NULL && !c->no_daemon) {
        if (daemon_write_pidfile(c->pid_file) < 0) {
            log_error("failed to write %s: %s", c->pid_file, strerror(errno));
            return CONF_EXIT_FILE;
        }
        d->pid_file = c->pid_file;
    }
    if (daemon_drop_privileges(c, c->set_count > 0, errbuf, sizeof(errbuf)) < 0) {
        log_error("%s", errbuf);
        return CONF_EXIT_MISC;
    }
    query_ctx_init(&d->queries, &d->loop, d->server, gen);
    daemon_signals_start(d);
    uv_check_init(&d->loop, &d->flush);
    uv_check_start(&d->flush, on_check);
    uv_timer_init(&d->loop, &d->recheck);
    uv_timer_start(&d->recheck, on_recheck, 5000, 5000);
    daemon_log_startup(gen);
    uv_run(&d->loop, UV_RUN_DEFAULT);
    if (d->pid_file != NULL) {
        unlink(d->pid_file);
    }
    return 0;
}

int daemon_main(int argc, char **argv)
{
    struct daemon *d = mem_calloc(1, sizeof(*d));
    struct query_gen *gen = mem_calloc(1, sizeof(*gen));
    struct conf_error err;
    d->argc = argc;
    d->argv = argv;
    if (conf_load(&gen->conf, argc, argv, &err) < 0) {
        fprintf(stderr, "\n%s\n", err.message);
        free(gen);
        free(d);
        return err.exit_code;
    }
    int rc;
    if (gen->conf.info_only) {
        rc = 0;
    } else if (gen->conf.explain_count > 0) {
        rc = daemon_explain(&gen->conf);
    } else if (gen->conf.test_only) {
        fprintf(stderr, "dnsroute: syntax check OK.\n");
        rc = 0;
    } else {
        rc = daemon_serve(d, gen);
        gen = NULL; /* owned by the generation list now */
    }
    if (gen != NULL) {
        conf_deinit(&gen->conf);
        free(gen);
    }
    /* Exit without tearing down every handle: the process ends here, and the kernel closes the
     * sockets. The pid file was removed above. */
    return rc;
}
