/* daemon_worker.c - one worker: an event loop with its own listeners, upstream channels, set
 * socket, cache and configuration generations. Workers share only the immutable configuration
 * (and the kernel's SO_REUSEPORT spread of clients). Every loop turn ends in on_check(): the set
 * batch is flushed first, then the replies leave, so a client never sees an answer before its
 * addresses are in the sets. */
#include "daemon_impl.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "dnsroute/err.h"
#include "dnsroute/log.h"
#include "dnsroute/mem.h"
#include "dnsroute/nlset.h"
#include "dnsroute/server.h"
#include "dnsroute/upstream.h"

void daemon_conf_release(struct daemon_conf *dc)
{
    if (dc != NULL && atomic_fetch_sub(&dc->users, 1) == 1) {
        if (dc->base != NULL) {
            hosts_free(dc->conf.hosts); /* its own; the rest is base's */
            daemon_conf_release(dc->base);
        } else {
            conf_deinit(&dc->conf);
        }
        free(dc);
        mem_trim(); /* a configuration is megabytes: give them back (RSS after reloads) */
    }
}

/* The last query of a retired generation ended, possibly inside an upstream callback: the
 * generation is freed later, in on_check, where no module is on the stack. */
static void worker_gen_released(struct query_gen *gen, void *arg)
{
    struct daemon_worker *w = arg;
    gen->released = NULL;
    w->dead_gens++;
}

/* The upstream channels and set socket of a generation. A generation whose configuration differs
 * from the current one only in its hosts data (a hostsdir file or the lease file changed) shares
 * them with it: same servers, same sets, and its counters and server selection carry on. */
struct worker_modules {
    struct upstream *upstream;
    struct nlset *nlset;
    unsigned users; /* generations using them */
};

/* A worker's generation and the modules it uses. */
struct worker_gen {
    struct query_gen gen;
    struct worker_modules *mods;
};

static void worker_gen_free(struct query_gen *gen)
{
    struct worker_gen *wg = DNSROUTE_CONTAINER_OF(gen, struct worker_gen, gen);
    if (--wg->mods->users == 0) {
        upstream_free(wg->mods->upstream);
        nlset_free(wg->mods->nlset);
        free(wg->mods);
    }
    daemon_conf_release(DNSROUTE_CONTAINER_OF(gen->conf, struct daemon_conf, conf));
    free(wg);
}

static void worker_reap_gens(struct daemon_worker *w)
{
    for (size_t i = 1; i < w->gen_count && w->dead_gens > 0;) {
        if (w->gens[i]->refs == 0) {
            worker_gen_free(w->gens[i]);
            w->gens[i] = w->gens[--w->gen_count];
            w->dead_gens--;
        } else {
            i++;
        }
    }
}

static const uint32_t *worker_group_servers(void *ctx, uint32_t group, uint32_t *count)
{
    return conf_group_servers(ctx, group, count);
}

/* The configuration a (possibly derived) configuration shares its rules with. */
static struct daemon_conf *worker_root(struct daemon_conf *dc)
{
    return dc->base != NULL ? dc->base : dc;
}

/* Opens upstream channels and the set socket for the rules of root. */
static int worker_modules_open(struct daemon_worker *w, const struct conf *c,
                               struct worker_modules *m, char *errbuf, size_t errlen)
{
    struct upstream_config ucfg = {
        .servers = c->servers,
        .server_count = c->server_count,
        .group_count = domtree_group_count(c->tree),
        .group_servers = worker_group_servers,
        .group_ctx = (void *)c,
        .strict_order = c->strict_order,
        .all_servers = c->all_servers,
        .dns_forward_max = c->dns_forward_max,
        .query_port = c->query_port,
        .min_port = c->min_port,
        .max_port = c->max_port,
        .instances = w->d->nworkers,
    };
    int rc = upstream_new(&w->loop, &ucfg, &m->upstream);
    if (rc < 0) {
        (void)snprintf(errbuf, errlen, "failed to create upstream channels: %s", err_str(rc));
        return rc;
    }
    if (c->set_count > 0) {
        struct nlset_options opt;
        nlset_options_default(&opt);
        opt.ttl_timeouts = !c->set_timeout_off;
        if (c->set_timeout_min_s != 0) {
            opt.timeout_min_s = c->set_timeout_min_s;
        }
        if (c->set_timeout_max_s != 0) {
            opt.timeout_max_s = c->set_timeout_max_s;
        }
        rc = nlset_new(c->sets, c->set_count, &opt, &m->nlset);
        if (rc < 0) {
            (void)snprintf(errbuf, errlen, "failed to create IPset control socket: %s",
                           err_str(rc));
            upstream_free(m->upstream);
            return rc;
        }
    }
    return 0;
}

/* The modules for dc: the current generation's when dc has the same rules (a hosts rebuild),
 * else new ones. NULL with *rc and errbuf filled on failure. */
static struct worker_modules *worker_modules_for(struct daemon_worker *w, struct daemon_conf *dc,
                                                 int *rc, char *errbuf, size_t errlen)
{
    if (w->gen_count > 0) {
        const struct query_gen *cur = w->gens[0];
        struct daemon_conf *cur_dc = DNSROUTE_CONTAINER_OF(cur->conf, struct daemon_conf, conf);
        if (worker_root(cur_dc) == worker_root(dc)) {
            struct worker_modules *m = DNSROUTE_CONTAINER_OF(cur, struct worker_gen, gen)->mods;
            m->users++;
            return m;
        }
    }
    struct worker_modules *m = mem_calloc(1, sizeof(*m));
    /* The root's conf: it lives as long as any configuration derived from it, so as long as any
     * generation that shares these modules. */
    *rc = worker_modules_open(w, &worker_root(dc)->conf, m, errbuf, errlen);
    if (*rc < 0) {
        free(m);
        return NULL;
    }
    m->users = 1;
    return m;
}

int daemon_worker_gen_open(struct daemon_worker *w, struct daemon_conf *dc, char *errbuf,
                           size_t errlen)
{
    int rc = 0;
    struct worker_modules *m = worker_modules_for(w, dc, &rc, errbuf, errlen);
    if (m == NULL) {
        return rc;
    }
    struct worker_gen *wg = mem_calloc(1, sizeof(*wg));
    struct query_gen *gen = &wg->gen;
    wg->mods = m;
    gen->conf = &dc->conf;
    gen->conf_serial = dc->serial;
    gen->upstream = m->upstream;
    gen->nlset = m->nlset;
    atomic_fetch_add(&dc->users, 1);
    gen->refs = 1;
    gen->released = worker_gen_released;
    gen->released_arg = w;
    if (w->gen_count == 0) {
        w->gens[w->gen_count++] = gen;
    } else {
        /* Reload: the new generation takes new queries; the old one drains. Swapped under the
         * lock because SIGUSR1 reads every worker's gens[0] from the main thread (daemon.c). */
        uv_mutex_lock(&w->d->lock);
        struct query_gen *old = w->gens[0];
        w->gens[0] = gen;
        w->gens[w->gen_count++] = old;
        uv_mutex_unlock(&w->d->lock);
        w->queries.gen = gen;
        query_gen_unref(old);
    }
    return 0;
}

int daemon_worker_listen(struct daemon_worker *w, const struct conf *c, char *errbuf, size_t errlen)
{
    struct server_params p = {
        .loop = &w->loop,
        .conf = c,
        .tcp = w->index == 0,
        .reuseport = w->d->nworkers > 1,
        .cb = query_receive,
        .prefetch = query_prefetch,
        .cb_arg = &w->queries,
    };
    return server_new(&p, &w->server, errbuf, errlen);
}

static void on_check(uv_check_t *handle)
{
    struct daemon_worker *w = DNSROUTE_CONTAINER_OF(handle, struct daemon_worker, flush);
    if (server_has_pending(w->server)) {
        /* The kernel applies set additions inside sendmsg: after this, the replies may leave. */
        for (size_t i = 0; i < w->gen_count; i++) {
            if (w->gens[i]->nlset != NULL) {
                nlset_flush(w->gens[i]->nlset);
            }
        }
        server_flush(w->server);
    }
    /* Reap only after the flush: the last query of a retired generation queued its addresses
     * in that generation's batch, and nlset_free drops a batch unsent (found by
     * tests/e2e/test_race.sh across reloads). */
    if (w->dead_gens > 0) {
        worker_reap_gens(w);
    }
}

static void on_recheck(uv_timer_t *timer)
{
    struct daemon_worker *w = DNSROUTE_CONTAINER_OF(timer, struct daemon_worker, recheck);
    for (size_t i = 0; i < w->gen_count; i++) {
        if (w->gens[i]->nlset != NULL) {
            nlset_recheck(w->gens[i]->nlset);
        }
    }
}

/* The main thread posted a reloaded configuration or a stop request. */
static void on_wake(uv_async_t *handle)
{
    struct daemon_worker *w = DNSROUTE_CONTAINER_OF(handle, struct daemon_worker, wake);
    uv_mutex_lock(&w->d->lock);
    struct daemon_conf *dc = w->pending;
    bool stop = w->stop;
    w->pending = NULL;
    uv_mutex_unlock(&w->d->lock);
    if (dc != NULL) {
        char errbuf[512];
        if (w->gen_count == DAEMON_GENS_MAX) {
            log_error("reload refused: too many generations still draining");
            daemon_note_reload_failure(w->d, "too many generations still draining");
        } else if (daemon_worker_gen_open(w, dc, errbuf, sizeof(errbuf)) < 0) {
            log_error("reload failed, keeping the running configuration: %s", errbuf);
            daemon_note_reload_failure(w->d, errbuf);
        }
        daemon_conf_release(dc); /* the main thread's reference for this worker */
    }
    if (stop) {
        uv_stop(&w->loop);
    }
}

void daemon_worker_post(struct daemon_worker *w, struct daemon_conf *dc, bool stop)
{
    uv_mutex_lock(&w->d->lock);
    if (dc != NULL) {
        if (w->pending != NULL) {
            daemon_conf_release(w->pending); /* superseded before it was adopted */
        }
        w->pending = dc;
    }
    w->stop = w->stop || stop;
    uv_mutex_unlock(&w->d->lock);
    uv_async_send(&w->wake);
}

void daemon_worker_start(struct daemon_worker *w)
{
    query_ctx_init(&w->queries, &w->loop, w->server, w->gens[0], &w->d->cache);
    w->queries.counters = daemon_chaos_counters;
    w->queries.counters_arg = w->d;
    uv_check_init(&w->loop, &w->flush);
    uv_check_start(&w->flush, on_check);
    uv_timer_init(&w->loop, &w->recheck);
    uv_timer_start(&w->recheck, on_recheck, 5000, 5000);
    uv_async_init(&w->loop, &w->wake, on_wake);
}

static void worker_thread(void *arg)
{
    struct daemon_worker *w = arg;
    uv_run(&w->loop, UV_RUN_DEFAULT);
    daemon_worker_shutdown(w);
}

int daemon_worker_spawn(struct daemon_worker *w)
{
    /* Signals are for the main thread (worker 0's loop): block them in the new thread. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = uv_thread_create(&w->thread, worker_thread, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

static void worker_close_handle(uv_handle_t *handle, void *arg)
{
    (void)arg;
    if (!uv_is_closing(handle)) {
        uv_close(handle, NULL);
    }
}

/* Dependency order: queries in flight are cancelled by upstream_free (their replies are dropped
 * with the listeners), then the loop runs until every handle has closed. */
void daemon_worker_shutdown(struct daemon_worker *w)
{
    for (size_t i = 0; i < w->gen_count; i++) {
        struct worker_modules *m = DNSROUTE_CONTAINER_OF(w->gens[i], struct worker_gen, gen)->mods;
        upstream_free(m->upstream); /* once per shared set of modules */
        m->upstream = NULL;
        w->gens[i]->upstream = NULL;
    }
    server_free(w->server);
    w->server = NULL;
    uv_walk(&w->loop, worker_close_handle, NULL);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    for (size_t i = 0; i < w->gen_count; i++) {
        worker_gen_free(w->gens[i]);
    }
    w->gen_count = 0;
    daemon_conf_release(w->pending); /* a reload that arrived with the stop request */
    w->pending = NULL;
    query_ctx_deinit(&w->queries);
    uv_loop_close(&w->loop);
}
