/* daemon_gen.c - the life cycle of a configuration generation, in one place: load (command
 * line, files, D-Bus servers), SIGHUP's reload, hand-over to every worker, each worker's
 * generation (its upstream channels and set socket over the shared configuration), the swap
 * that lets new queries take the new rules while the old generation drains, and the reaping and
 * freeing of drained generations and of the shared configuration after its last user. A query's
 * own references (query_gen_ref/unref) are in query.c. */
#include "daemon_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsroute/conf.h"
#include "dnsroute/err.h"
#include "dnsroute/hosts.h"
#include "dnsroute/log.h"
#include "dnsroute/mem.h"
#include "dnsroute/nlset.h"
#include "dnsroute/query.h"
#include "dnsroute/upstream.h"

/* ---- The shared configuration: load, reload, hand-over, release. */

/* Any thread: the configuration through names, with one reference for the caller; not yet
 * numbered (daemon_conf_ready). */
static struct daemon_conf *daemon_conf_read(struct daemon *d, struct daemon_names *names,
                                            struct conf_error *err)
{
    struct daemon_conf *dc = mem_calloc(1, sizeof(*dc));
    struct conf_resolver r = daemon_names_resolver(names);
    uv_mutex_lock(&d->load_lock);
    int rc = conf_load_dbus(&dc->conf, d->argc, d->argv, (const char *const *)d->dbus_servers,
                            d->dbus_server_count, &r, err);
    uv_mutex_unlock(&d->load_lock);
    if (rc < 0) {
        free(dc);
        return NULL;
    }
    atomic_init(&dc->users, 1); /* the loader's reference */
    return dc;
}

/* On worker 0's loop (or at start-up): the serial and the options switched over D-Bus. */
static void daemon_conf_ready(struct daemon *d, struct daemon_conf *dc)
{
    dc->serial = ++d->conf_serial;
    daemon_dbus_apply_options(d, &dc->conf);
}

struct daemon_conf *daemon_conf_load(struct daemon *d, struct conf_error *err)
{
    if (d->names == NULL) {
        d->names = daemon_names_new(true); /* start-up: nothing else runs yet */
    }
    struct daemon_conf *dc = daemon_conf_read(d, d->names, err);
    daemon_names_freeze(d->names);
    if (dc != NULL) {
        daemon_conf_ready(d, dc);
    }
    return dc;
}

static bool daemon_str_differs(const char *a, const char *b)
{
    return (a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0);
}

/* Options fixed at start-up (sockets, threads, cache, process): a reload reads them but cannot
 * apply them; say so instead of ignoring them silently. */
static void daemon_reload_warn_fixed(const struct conf *old, const struct conf *c)
{
    const struct {
        const char *name;
        bool changed;
    } fixed[] = {
        {"port", old->port != c->port},
        {"listen-address", old->listen_addr_count != c->listen_addr_count ||
                               (c->listen_addr_count != 0 &&
                                memcmp(old->listen_addrs, c->listen_addrs,
                                       c->listen_addr_count * sizeof(*c->listen_addrs)) != 0)},
        {"interface",
         old->interface_count != c->interface_count ||
             (c->interface_count != 0 && memcmp(old->interfaces, c->interfaces,
                                                c->interface_count * sizeof(*c->interfaces)) != 0)},
        {"bind-interfaces", old->bind_interfaces != c->bind_interfaces},
        {"bind-dynamic", old->bind_dynamic != c->bind_dynamic},
        {"cache-size", old->cache_size != c->cache_size},
        {"workers", old->workers != c->workers},
        {"user", daemon_str_differs(old->user, c->user)},
        {"group", daemon_str_differs(old->group, c->group)},
        {"pid-file", daemon_str_differs(old->pid_file, c->pid_file)},
        {"log-facility", daemon_str_differs(old->log_facility, c->log_facility)},
        {"enable-dbus", daemon_str_differs(old->dbus_name, c->dbus_name)},
    };
    for (size_t i = 0; i < DNSROUTE_ARRAY_LEN(fixed); i++) {
        if (fixed[i].changed) {
            log_warn("reload: %s changed; it takes effect only after a restart", fixed[i].name);
        }
    }
}

void daemon_note_reload_failure(struct daemon *d, const char *reason)
{
    uv_mutex_lock(&d->lock);
    d->reload_failures++;
    size_t n = strnlen(reason, sizeof(d->reload_error) - 1); /* a long reason is cut */
    memcpy(d->reload_error, reason, n);
    d->reload_error[n] = '\0';
    uv_mutex_unlock(&d->lock);
}

/* SIGHUP's load: its inputs and result, handed between worker 0's loop and a pool thread. */
struct daemon_reload {
    uv_work_t req;
    struct daemon *d;
    struct daemon_names *names; /* this load's lookups (live) */
    struct daemon_conf *dc;     /* NULL: failed, see err */
    struct conf_error err;
    uint64_t start_ms;
};

/* On a thread of libuv's pool: reading the files (a china list takes hundreds of milliseconds)
 * and looking up server host names never hold up worker 0's answers. */
static void on_reload_work(uv_work_t *req)
{
    struct daemon_reload *r = DNSROUTE_CONTAINER_OF(req, struct daemon_reload, req);
    r->dc = daemon_conf_read(r->d, r->names, &r->err);
}

/* Back on worker 0's loop: hand the configuration to every worker, or keep the running one. */
static void daemon_reload_finish(struct daemon *d, struct daemon_reload *r)
{
    uv_mutex_lock(&d->lock);
    d->reloads++;
    uv_mutex_unlock(&d->lock);
    if (r->dc == NULL) {
        log_error("reload failed, keeping the running configuration: %s", r->err.message);
        daemon_note_reload_failure(d, r->err.message);
        return;
    }
    daemon_names_freeze(r->names); /* D-Bus loads answer from this load's lookups */
    daemon_names_free(d->names);
    d->names = r->names;
    r->names = NULL;
    struct daemon_conf *dc = r->dc;
    r->dc = NULL;
    daemon_conf_ready(d, dc);
    daemon_hosts_load(d, dc); /* SIGHUP re-reads every hosts file, as dnsmasq */
    log_info("configuration reloaded: %zu domains, %zu servers, loaded in %llu ms",
             domtree_domain_count(dc->conf.tree), dc->conf.server_count,
             (unsigned long long)(uv_hrtime() / 1000000 - r->start_ms));
    daemon_reload_warn_fixed(d->workers[0].gens[0]->conf, &dc->conf);
    daemon_adopt(d, dc);
}

static void on_reload_done(uv_work_t *req, int status)
{
    struct daemon_reload *r = DNSROUTE_CONTAINER_OF(req, struct daemon_reload, req);
    struct daemon *d = r->d;
    d->reload = NULL;
    if (status == 0 && !d->reload_stopping) {
        daemon_reload_finish(d, r);
    }
    daemon_conf_release(r->dc);
    daemon_names_free(r->names);
    free(r);
    if (d->reload_again && !d->reload_stopping) {
        d->reload_again = false; /* the files may have changed since that load began */
        daemon_gen_reload(d);
    }
}

void daemon_gen_reload(struct daemon *d)
{
    if (d->reload != NULL) {
        d->reload_again = true;
        return;
    }
    struct daemon_reload *r = mem_calloc(1, sizeof(*r));
    r->d = d;
    r->names = daemon_names_new(true);
    r->start_ms = uv_hrtime() / 1000000;
    int rc = uv_queue_work(&d->workers[0].loop, &r->req, on_reload_work, on_reload_done);
    if (rc < 0) {
        log_error("reload failed, keeping the running configuration: %s", uv_strerror(rc));
        daemon_note_reload_failure(d, uv_strerror(rc));
        daemon_names_free(r->names);
        free(r);
        return;
    }
    d->reload = r;
}

void daemon_gen_reload_stop(struct daemon *d)
{
    d->reload_stopping = true;
    if (d->reload != NULL) {
        (void)uv_cancel((uv_req_t *)&d->reload->req); /* on_reload_done runs either way */
    }
}

void daemon_adopt(struct daemon *d, struct daemon_conf *dc)
{
    /* Unlike dnsmasq the cache is kept: its entries carry the route they were fetched through, so
     * names whose upstreams changed miss and are fetched again (query.c). clear-on-reload
     * empties it, as dnsmasq does on new D-Bus servers. */
    if (dc->conf.clear_on_reload) {
        daemon_cache_clear(d);
    }
    /* One reference per worker; each releases its own once adopted (or refused). */
    atomic_fetch_add(&dc->users, d->nworkers);
    for (unsigned i = 0; i < d->nworkers; i++) {
        daemon_worker_post(&d->workers[i], dc, false);
    }
    daemon_conf_release(dc);
}

/* ---- One worker's generations: open, swap, drain, reap. */

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

void daemon_gen_free(struct query_gen *gen)
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

void daemon_gen_reap(struct daemon_worker *w)
{
    for (size_t i = 1; i < w->gen_count && w->dead_gens > 0;) {
        if (w->gens[i]->refs == 0) {
            daemon_gen_free(w->gens[i]);
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

/* Worker w adopts dc, posted by daemon_adopt (on w's loop); drops the reference it was posted
 * with. */
void daemon_gen_adopt(struct daemon_worker *w, struct daemon_conf *dc)
{
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

void daemon_gen_cancel(struct query_gen *gen)
{
    struct worker_modules *m = DNSROUTE_CONTAINER_OF(gen, struct worker_gen, gen)->mods;
    upstream_free(m->upstream); /* once per shared set of modules */
    m->upstream = NULL;
    gen->upstream = NULL;
}
