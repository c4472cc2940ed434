/* daemon_dbus.c - what the D-Bus calls (dbusctl.c) do to the daemon: servers set over D-Bus
 * build a new configuration generation exactly as a reload does (the files are read again and
 * the D-Bus servers applied as server= lines, marked from_dbus, so they survive SIGHUP as
 * dnsmasq's SERV_FROM_DBUS servers do), ClearCache empties the shared cache, and the metrics
 * are the workers' counters summed as SIGUSR1 sums them. Runs on worker 0's loop. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemon_impl.h"
#include "dnsroute/compat.h"
#include "dnsroute/cache.h"
#include "dnsroute/err.h"
#include "dnsroute/log.h"
#include "dnsroute/mem.h"
#include "dnsroute/server.h"
#include "dnsroute/upstream.h"

static void free_lines(char **lines, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(lines[i]);
    }
    free(lines);
}

/* Installs the D-Bus servers a load reads (SIGHUP's may be reading them on the thread pool);
 * returns the previous array. */
static char **daemon_dbus_swap_servers(struct daemon *d, char **lines, size_t count)
{
    uv_mutex_lock(&d->load_lock);
    char **old = d->dbus_servers;
    d->dbus_servers = lines;
    d->dbus_server_count = count;
    uv_mutex_unlock(&d->load_lock);
    return old;
}

static int on_set_servers(void *arg, const char *const *lines, size_t count, char *errbuf,
                          size_t errlen)
{
    struct daemon *d = arg;
    char **old = d->dbus_servers;
    size_t old_count = d->dbus_server_count;
    char **lines_copy = mem_calloc(count + 1, sizeof(char *));
    for (size_t i = 0; i < count; i++) {
        lines_copy[i] = mem_strdup(lines[i]);
    }
    (void)daemon_dbus_swap_servers(d, lines_copy, count);
    struct conf_error err;
    uint64_t start_ms = uv_hrtime() / 1000000;
    struct daemon_conf *dc = daemon_conf_load(d, &err);
    if (dc == NULL) {
        free_lines(daemon_dbus_swap_servers(d, old, old_count), count);
        const char *msg = err.message;
        if (strncmp(msg, "dnsroute: ", 10) == 0) {
            msg += 10;
        }
        (void)snprintf(errbuf, errlen, "%s", msg);
        log_error("servers from DBus refused, keeping the running configuration: %s", msg);
        return ERR_PARSE;
    }
    free_lines(old, old_count);
    /* The new generation needs the hosts data too (read again: the running store belongs to the
     * old generation; NetworkManager's command line has no-hosts, so this is usually nothing). */
    daemon_hosts_load(d, dc);
    log_info("%zu servers set over DBus: %zu domains, %zu servers, loaded in %llu ms", count,
             domtree_domain_count(dc->conf.tree), dc->conf.server_count,
             (unsigned long long)(uv_hrtime() / 1000000 - start_ms));
    daemon_adopt(d, dc);
    return 0;
}

void daemon_dbus_apply_options(const struct daemon *d, struct conf *c)
{
    bool *fields[] = {
        [DBUSCTL_OPT_FILTER_A] = &c->filter_a,
        [DBUSCTL_OPT_FILTER_AAAA] = &c->filter_aaaa,
        [DBUSCTL_OPT_BOGUS_PRIV] = &c->bogus_priv,
    };
    for (size_t i = 0; i < DNSROUTE_ARRAY_LEN(fields); i++) {
        if (d->dbus_options[i] >= 0) {
            *fields[i] = d->dbus_options[i] != 0;
        }
    }
}

/* Like a reload: the switched option holds from the new generation on. */
static int on_set_option(void *arg, enum dbusctl_option opt, bool on, char *errbuf, size_t errlen)
{
    struct daemon *d = arg;
    int8_t old = d->dbus_options[opt];
    d->dbus_options[opt] = on ? 1 : 0;
    struct conf_error err;
    struct daemon_conf *dc = daemon_conf_load(d, &err);
    if (dc == NULL) {
        d->dbus_options[opt] = old;
        (void)snprintf(errbuf, errlen, "%s", err.message);
        return ERR_PARSE;
    }
    daemon_hosts_load(d, dc); /* the new generation needs the hosts data too */
    daemon_adopt(d, dc);
    return 0;
}

/* The cache locks its own shards (cache.h). */
void daemon_cache_clear(struct daemon *d)
{
    if (d->cache.cache != NULL) {
        cache_clear(d->cache.cache);
    }
}

static void on_clear_cache(void *arg)
{
    daemon_cache_clear(arg);
    log_info("cleared cache");
}

/* The counters since start-up (or since ClearMetrics, as d->metrics_base). */
static void metrics_now(struct daemon *d, struct query_stats *s, struct cache_stats *cs,
                        uint32_t *tcp_open)
{
    memset(s, 0, sizeof(*s));
    memset(cs, 0, sizeof(*cs));
    *tcp_open = 0;
    uv_mutex_lock(&d->lock);
    for (unsigned i = 0; i < d->nworkers; i++) {
        struct server_stats ss;
        query_stats_add(s, &d->workers[i].queries.stats);
        server_get_stats(d->workers[i].server, &ss);
        *tcp_open += ss.tcp_open;
    }
    uv_mutex_unlock(&d->lock);
    if (d->cache.cache != NULL) {
        cache_get_stats(d->cache.cache, cs);
    }
}

static uint32_t since(uint64_t now, uint64_t base)
{
    return now >= base ? (uint32_t)(now - base) : 0;
}

static void on_get_metrics(void *arg, uint32_t *v)
{
    struct daemon *d = arg;
    struct query_stats s;
    struct cache_stats cs;
    uint32_t tcp_open;
    metrics_now(d, &s, &cs, &tcp_open);
    const struct query_stats *b = &d->metrics_base;
    v[DBUSCTL_METRIC_CACHE_INSERTED] = since(cs.inserts, d->metrics_base_inserts);
    v[DBUSCTL_METRIC_CACHE_LIVE_FREED] = since(cs.evictions, d->metrics_base_evictions);
    v[DBUSCTL_METRIC_QUERIES_FORWARDED] = since(s.forwarded, b->forwarded);
    v[DBUSCTL_METRIC_LOCAL_ANSWERED] = since(s.answered_locally, b->answered_locally);
    v[DBUSCTL_METRIC_STALE_ANSWERED] = since(s.stale_answers, b->stale_answers);
    /* Queries that got no answer at all: dropped ones and those refused at dns-forward-max. */
    v[DBUSCTL_METRIC_UNANSWERED] = since(s.dropped + s.refused_full, b->dropped + b->refused_full);
    v[DBUSCTL_METRIC_TCP_CONNECTIONS] = tcp_open;
}

/* Sums server k over the workers' current generations (d->lock held). */
static void server_sum(struct daemon *d, uint32_t k, struct upstream_server_stats *sum)
{
    memset(sum, 0, sizeof(*sum));
    for (unsigned i = 0; i < d->nworkers; i++) {
        struct upstream_server_stats st;
        const struct query_gen *gen = d->workers[i].gens[0];
        if (gen->conf != d->workers[0].gens[0]->conf) {
            continue; /* a worker still adopting another configuration */
        }
        upstream_get_stats(gen->upstream, k, &st);
        sum->sent += st.sent;
        sum->retried += st.retried;
        sum->failed += st.failed;
        sum->nxdomain += st.nxdomain;
        sum->avg_latency_ms =
            st.avg_latency_ms > sum->avg_latency_ms ? st.avg_latency_ms : sum->avg_latency_ms;
    }
}

/* The entry of m[0..*n) for address a, added when new. */
static struct dbusctl_server_metrics *server_entry(struct dbusctl_server_metrics *m, size_t *n,
                                                   const union sockaddr_any *a)
{
    char text[SOCKADDR_TEXT_MAX];
    sockaddr_format(a, false, text, sizeof(text));
    for (size_t i = 0; i < *n; i++) {
        if (m[i].port == sockaddr_port(a) && strcmp(m[i].address, text) == 0) {
            return &m[i];
        }
    }
    struct dbusctl_server_metrics *e = &m[(*n)++];
    (void)snprintf(e->address, sizeof(e->address), "%s", text);
    e->port = sockaddr_port(a);
    return e;
}

/* One entry per distinct address and port, as dnsmasq sums its records of one address. Upstream
 * counters belong to a load (a reload or a SetServers* call starts them again); *conf is that
 * load's configuration. */
static size_t server_metrics_raw(struct daemon *d, struct dbusctl_server_metrics **out,
                                 const struct conf **conf)
{
    uv_mutex_lock(&d->lock);
    const struct conf *c = d->workers[0].gens[0]->conf;
    struct dbusctl_server_metrics *m = mem_calloc(c->server_count + 1, sizeof(*m));
    size_t n = 0;
    for (uint32_t k = 0; k < c->server_count; k++) {
        struct upstream_server_stats st;
        server_sum(d, k, &st);
        struct dbusctl_server_metrics *e = server_entry(m, &n, &c->servers[k].addr);
        e->queries += st.sent;
        e->failed_queries += st.failed;
        e->nxdomain += st.nxdomain;
        e->retries += st.retried;
        e->latency_ms = st.avg_latency_ms > e->latency_ms ? st.avg_latency_ms : e->latency_ms;
    }
    uv_mutex_unlock(&d->lock);
    *out = m;
    /* A configuration rebuilt for its hosts data keeps the counters (daemon_worker.c): name the
     * loaded one it was derived from. */
    const struct daemon_conf *dc = DNSROUTE_CONTAINER_OF(c, struct daemon_conf, conf);
    *conf = dc->base != NULL ? &dc->base->conf : c;
    return n;
}

static uint64_t minus(uint64_t now, uint64_t base)
{
    return now >= base ? now - base : 0;
}

static size_t on_get_server_metrics(void *arg, struct dbusctl_server_metrics **out)
{
    struct daemon *d = arg;
    const struct conf *c;
    size_t n = server_metrics_raw(d, out, &c);
    for (size_t i = 0; i < d->server_base_count && c == d->server_base_conf; i++) {
        const struct dbusctl_server_metrics *b = &d->server_base[i];
        for (size_t j = 0; j < n; j++) {
            struct dbusctl_server_metrics *e = &(*out)[j];
            if (e->port == b->port && strcmp(e->address, b->address) == 0) {
                e->queries = minus(e->queries, b->queries);
                e->failed_queries = minus(e->failed_queries, b->failed_queries);
                e->nxdomain = minus(e->nxdomain, b->nxdomain);
                e->retries = minus(e->retries, b->retries);
            }
        }
    }
    return n;
}

/* ClearMetrics: the counters are the workers' (written on their threads), so they are not
 * zeroed but remembered, and reported minus what they were here. */
static void on_clear_metrics(void *arg)
{
    struct daemon *d = arg;
    struct cache_stats cs;
    uint32_t tcp_open;
    metrics_now(d, &d->metrics_base, &cs, &tcp_open);
    d->metrics_base_inserts = cs.inserts;
    d->metrics_base_evictions = cs.evictions;
    free(d->server_base);
    d->server_base_count = server_metrics_raw(d, &d->server_base, &d->server_base_conf);
}

int daemon_dbus_start(struct daemon *d, const struct conf *c, char *errbuf, size_t errlen)
{
    if (c->dbus_name == NULL) {
        return 0;
    }
    const struct dbusctl_ops ops = {
        .arg = d,
        .set_servers = on_set_servers,
        .set_option = on_set_option,
        .clear_cache = on_clear_cache,
        .get_metrics = on_get_metrics,
        .get_server_metrics = on_get_server_metrics,
        .clear_metrics = on_clear_metrics,
    };
    char reason[512] = "";
    int rc = dbusctl_new(&d->workers[0].loop, c->dbus_name, &ops, &d->dbus, reason, sizeof(reason));
    if (rc == -ENOTSUP) {
        (void)snprintf(errbuf, errlen, "%s", reason); /* dnsmasq: "DBus not available: ..." */
        return rc;
    }
    if (rc < 0) {
        (void)snprintf(errbuf, errlen, "DBus error: %s", reason);
        return rc;
    }
    return 0;
}

void daemon_dbus_log_startup(const struct daemon *d)
{
    if (d->dbus != NULL) {
        log_info("DBus support enabled: %s", dbusctl_is_connected(d->dbus)
                                                 ? "connected to system bus"
                                                 : "bus connection pending");
    }
}

void daemon_dbus_stop(struct daemon *d)
{
    dbusctl_free(d->dbus);
    d->dbus = NULL;
    size_t count = d->dbus_server_count;
    free_lines(daemon_dbus_swap_servers(d, NULL, 0), count); /* a reload may still be loading */
    free(d->server_base);
    d->server_base = NULL;
    d->server_base_count = 0;
}
