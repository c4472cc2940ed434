/* query.c - the path of one query, top to bottom: receive -> parse -> route (domain tree) ->
 * answer locally or forward upstream -> check the reply -> rewrite it for the client -> queue its
 * addresses for the sets -> queue the reply. The daemon flushes the set batch before the replies
 * leave (daemon.c on_check), so the client's first packet already takes the right route.
 * Every query ends in query_end(). */
#include "dnsroute/query.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dnsroute/cache.h"
#include "dnsroute/dname.h"
#include "dnsroute/hosts.h"
#include "dnsroute/dnsmsg.h"
#include "dnsroute/domtree.h"
#include "dnsroute/err.h"
#include "dnsroute/hash.h"
#include "dnsroute/ifaddr.h"
#include "dnsroute/localrec.h"
#include "dnsroute/log.h"
#include "dnsroute/mem.h"
#include "dnsroute/nlset.h"
#include "dnsroute/rebind.h"
#include "dnsroute/upstream.h"

/* Largest client query kept: a question, an OPT and generous options (padding, cookies). */
#define QUERY_BUF_LEN 4096
/* Room for a reply over TCP, plus an OPT we may append. */
#define QUERY_REPLY_CAP (65535 + 64)
/* Every address of the largest reply: an A record takes at least 16 bytes (compressed owner).
 * dnsmasq adds all of them; a cap of 64 left the rest of a big answer out of the sets (found by
 * tests/e2e/test_ipset_diff.sh, 100 A records over TCP). */
#define QUERY_ADDRS_MAX (65535 / 16)
#define QUERY_FREE_MAX  1024
/* TTL fields of the largest reply: an RR takes at least 11 bytes (root owner, fixed part). */
#define QUERY_TTLS_MAX          (65535 / 11)
#define QUERY_UPSTREAM_EDNS_MAX 4096

enum query_state { QUERY_IDLE, QUERY_PARSED, QUERY_FORWARDING };

struct query {
    struct query_ctx *ctx;
    struct query_gen *gen; /* the rules this query started with */
    enum query_state state;
    struct server_client client;
    struct upstream_req up;
    struct dnsmsg_query q; /* parsed client query (offsets into buf) */
    struct domtree_result route;
    uint64_t serial;    /* log-queries=extra */
    uint16_t udp_limit; /* 0 over TCP */
    bool stale;         /* answered from an expired cache entry (use-stale-cache) */
    bool refresh;       /* fetches a fresh answer for a stale entry: there is no client */
    size_t len;
    size_t key_len;
    char key[DNAME_KEY_MAX];
    uint8_t buf[QUERY_BUF_LEN];
    struct query *next_free;
};

/* One scratch buffer per worker for building replies: a reply is copied out (server_reply)
 * before the next one is built on the same loop thread. */
static uint8_t *query_scratch(struct query_ctx *ctx)
{
    return ctx->scratch;
}

/* The addresses of one reply (query_add_to_sets, query_log_reply), per worker like the scratch
 * buffer: too big for the stack, and used by one function at a time. */
static struct dnsmsg_addr *query_addrs(struct query_ctx *ctx)
{
    return ctx->addrs;
}

void query_gen_ref(struct query_gen *gen)
{
    gen->refs++;
}

void query_gen_unref(struct query_gen *gen)
{
    if (--gen->refs == 0 && gen->released != NULL) {
        gen->released(gen, gen->released_arg);
    }
}

void query_cache_init(struct query_cache *qc, uint32_t max_entries)
{
    qc->cache = cache_new(max_entries);
    qc->max_entries = max_entries;
}

void query_cache_deinit(struct query_cache *qc)
{
    cache_free(qc->cache);
    qc->cache = NULL;
}

void query_stats_add(struct query_stats *sum, const struct query_stats *add)
{
    sum->received += add->received;
    sum->forwarded += add->forwarded;
    sum->answered_locally += add->answered_locally;
    sum->replies += add->replies;
    sum->servfail += add->servfail;
    sum->refused_full += add->refused_full;
    sum->formerr += add->formerr;
    sum->notimp += add->notimp;
    sum->dropped += add->dropped;
    sum->truncated += add->truncated;
    sum->set_additions += add->set_additions;
    sum->bogus_nxdomain += add->bogus_nxdomain;
    sum->cache_hits += add->cache_hits;
    sum->stale_answers += add->stale_answers;
}

void query_ctx_init(struct query_ctx *ctx, uv_loop_t *loop, struct server *server,
                    struct query_gen *gen, struct query_cache *cache)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->loop = loop;
    ctx->server = server;
    ctx->gen = gen;
    ctx->cache = cache;
    ctx->scratch = mem_alloc(QUERY_REPLY_CAP);
    ctx->addrs = mem_alloc(QUERY_ADDRS_MAX * sizeof(*ctx->addrs));
    ctx->ttl_offs = mem_alloc(QUERY_TTLS_MAX * sizeof(*ctx->ttl_offs));
    ctx->full_log.interval_ms = 5000;
}

void query_ctx_deinit(struct query_ctx *ctx)
{
    while (ctx->free_list != NULL) {
        struct query *q = ctx->free_list;
        ctx->free_list = q->next_free;
        free(q);
    }
    ctx->free_count = 0;
    ctx->cache = NULL;
    free(ctx->scratch);
    ctx->scratch = NULL;
    free(ctx->addrs);
    ctx->addrs = NULL;
    free(ctx->ttl_offs);
    ctx->ttl_offs = NULL;
    ifaddr_free(ctx->ifaddrs);
    ctx->ifaddrs = NULL;
}

static struct query *query_alloc(struct query_ctx *ctx)
{
    struct query *q = ctx->free_list;
    if (q != NULL) {
        ctx->free_list = q->next_free;
        ctx->free_count--;
    } else {
        q = mem_alloc(sizeof(*q));
    }
    q->ctx = ctx;
    q->gen = ctx->gen;
    q->state = QUERY_IDLE;
    q->stale = q->refresh = false;
    q->key_len = 0;
    q->key[0] = '\0';
    query_gen_ref(q->gen);
    ctx->in_flight++;
    return q;
}

static void query_refresh_end(struct query *q);

/* The one exit of every query: the client was answered (or dropped) before this. */
static void query_end(struct query *q)
{
    struct query_ctx *ctx = q->ctx;
    if (q->refresh) {
        query_refresh_end(q);
    }
    ctx->in_flight--;
    query_gen_unref(q->gen);
    if (ctx->free_count < QUERY_FREE_MAX) {
        q->next_free = ctx->free_list;
        ctx->free_list = q;
        ctx->free_count++;
    } else {
        free(q);
    }
}

/* ---- Logging in dnsmasq's log-queries format. */

static bool query_logging(const struct query *q)
{
    return q->gen->conf->log_queries != CONF_LOG_QUERIES_OFF;
}

static const char *query_name(const struct query *q)
{
    return q->key_len ? q->key : ".";
}

static void query_log(const struct query *q, const char *fmt, ...) DNSROUTE_PRINTF(2, 3);

static void query_log(const struct query *q, const char *fmt, ...)
{
    char prefix[SOCKADDR_TEXT_MAX + 32] = "";
    if (q->gen->conf->log_queries == CONF_LOG_QUERIES_EXTRA) {
        char peer[SOCKADDR_TEXT_MAX];
        sockaddr_format(&q->client.peer, false, peer, sizeof(peer));
        (void)snprintf(prefix, sizeof(prefix), "%llu %s/%u ", (unsigned long long)q->serial, peer,
                       (unsigned)sockaddr_port(&q->client.peer));
    }
    char line[DNAME_KEY_MAX + 256];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    log_info("%s%s", prefix, line);
}

static void query_log_received(const struct query *q)
{
    char tbuf[DNSMSG_TYPE_NAME_MAX], peer[SOCKADDR_TEXT_MAX];
    sockaddr_format(&q->client.peer, false, peer, sizeof(peer));
    query_log(q, "query[%s] %s from %s", dnsmsg_type_name(q->q.qtype, tbuf), query_name(q), peer);
}

static void query_log_addr(const struct query *q, const char *what, int family, const uint8_t *a)
{
    char text[64];
    inet_ntop(family, a, text, sizeof(text));
    query_log(q, "%s %s is %s", what, query_name(q), text);
}

/* ---- Replies. */

static void query_send(struct query *q, const uint8_t *pkt, size_t len)
{
    if (!q->refresh) {
        server_reply(q->ctx->server, &q->client, pkt, len);
    }
    query_end(q);
}

/* Sends a reply built in out, or drops the query when building failed (len < 0: it did not fit). */
static void query_send_built(struct query *q, const uint8_t *out, int len)
{
    if (len < 0) {
        if (!q->refresh) {
            server_drop(q->ctx->server, &q->client);
        }
        query_end(q);
        return;
    }
    query_send(q, out, (size_t)len);
}

/* Answers with an rcode only; every SERVFAIL the daemon makes up is counted here. */
static void query_answer_rcode(struct query *q, uint8_t rcode)
{
    if (rcode == DNSMSG_RCODE_SERVFAIL) {
        q->ctx->stats.servfail++;
    }
    uint8_t *out = query_scratch(q->ctx);
    int len = dnsmsg_write_rcode(out, QUERY_REPLY_CAP, &q->q, rcode, q->gen->conf->edns_packet_max);
    query_send_built(q, out, len);
}

static void query_send_local(struct query *q, const struct dnsmsg_local *a)
{
    q->ctx->stats.answered_locally++;
    uint8_t *out = query_scratch(q->ctx);
    int len = dnsmsg_write_local(out, QUERY_REPLY_CAP, &q->q, a);
    query_send_built(q, out, len);
}

/* ---- Local records and CHAOS names (dnsmasq answer_request: before any routing). */

static void on_records_counters(void *arg, struct localrec_counters *out)
{
    struct query *q = arg;
    if (q->ctx->counters != NULL) {
        q->ctx->counters(q->ctx->counters_arg, out);
    }
}

static void on_records_log(void *arg, const char *name, uint16_t type)
{
    struct query *q = arg;
    if (query_logging(q)) {
        char tbuf[DNSMSG_TYPE_NAME_MAX];
        query_log(q, "config %s is <%s>", name[0] ? name : ".", dnsmsg_type_name(type, tbuf));
    }
}

/* Header flags and rcode of a local record answer, then our OPT when the client sent one. */
static int query_records_finish(struct query *q, struct dnsmsg_builder *b, size_t limit,
                                const struct localrec_answer *a)
{
    size_t opt = q->q.edns.present ? DNSMSG_OPT_FIXED_LEN : 0;
    if (dnsmsg_builder_finish(b) < 0) {
        /* Too big for the client: TC and every section empty (dnsmasq 2.92+). */
        dnsmsg_builder_init_reply(b, b->buf, limit - opt, &q->q, DNSMSG_RCODE_NOERROR,
                                  DNSMSG_FLAG_TC);
    }
    b->cap = limit;
    if (q->q.edns.present) {
        dnsmsg_builder_add_opt(b, q->gen->conf->edns_packet_max, q->q.edns.do_bit);
    }
    int len = dnsmsg_builder_finish(b);
    if (len > 0) {
        dnsmsg_set_rcode(b->buf, a->nxdomain ? DNSMSG_RCODE_NXDOMAIN
                                 : a->notimp ? DNSMSG_RCODE_NOTIMP
                                             : DNSMSG_RCODE_NOERROR);
        dnsmsg_set_flags(b->buf, a->not_auth ? 0 : DNSMSG_FLAG_AA, 0);
    }
    return len;
}

/* ptr-record, txt-record, srv-host, mx-host, caa-record, naptr-record, dns-rr and the CHAOS
 * names. Returns false when they do not answer the query (it goes on to be routed). */
static bool query_answer_records(struct query *q)
{
    const struct conf *c = q->gen->conf;
    uint8_t *out = query_scratch(q->ctx);
    size_t limit = q->udp_limit != 0 ? q->udp_limit : QUERY_REPLY_CAP;
    size_t opt = q->q.edns.present ? DNSMSG_OPT_FIXED_LEN : 0;
    struct dnsmsg_builder b;
    dnsmsg_builder_init_reply(&b, out, limit - opt, &q->q, DNSMSG_RCODE_NOERROR, 0);
    struct localrec_answer a = {.b = &b,
                                .name = q->key,
                                .name_len = q->key_len,
                                .qtype = q->q.qtype,
                                .qclass = q->q.qclass,
                                .ttl_s = c->local_ttl_s};
    struct localrec_hooks h = {.arg = q, .counters = on_records_counters, .log = on_records_log};
    localrec_answer(c->localrec, &a, &h);
    if (!a.answered) {
        return false;
    }
    if (a.notimp && query_logging(q)) {
        query_log(q, "config %s is %s", query_name(q), "NOTIMP");
    }
    int len = query_records_finish(q, &b, limit, &a);
    q->ctx->stats.answered_locally++;
    query_send_built(q, out, len);
    return true;
}

/* A name of the hosts data, or above one (dnsmasq check_for_local_domain): local= answers it
 * NOERROR, no data. */
static bool query_is_local_name(const struct query *q)
{
    const struct hosts *h = q->gen->conf->hosts;
    return h != NULL &&
           (hosts_has_name(h, q->key, q->key_len) || hosts_has_below(h, q->key, q->key_len));
}

/* dnsmasq check_for_local_domain: a name that has local records, hosts names or names below
 * either exists, so local=/ and domain-needed answer it NODATA rather than NXDOMAIN. */
static bool query_name_is_local(const struct query *q)
{
    return localrec_has_name_at_or_below(q->gen->conf->localrec, q->key, q->key_len) ||
           query_is_local_name(q);
}

/* address=, local=, and REFUSED for names without a server (dnsmasq make_local_answer). */
static void query_answer_local(struct query *q)
{
    const struct domtree_result *r = &q->route;
    struct dnsmsg_local a;
    memset(&a, 0, sizeof(a));
    a.udp_limit = q->udp_limit;
    a.edns_size = q->gen->conf->edns_packet_max;
    a.ttl_s = q->gen->conf->local_ttl_s;
    switch (r->action) {
    case DOMTREE_ADDRESS:
        a.rcode = DNSMSG_RCODE_NOERROR;
        a.aa = true;
        a.addr_type = r->addr_family == AF_INET6 ? DNSMSG_TYPE_AAAA : DNSMSG_TYPE_A;
        a.addrs = r->addrs;
        a.addr_count = r->addr_count;
        for (uint32_t i = 0; query_logging(q) && i < r->addr_count; i++) {
            query_log_addr(q, "config", r->addr_family,
                           r->addrs + (size_t)i * (r->addr_family == AF_INET6 ? 16 : 4));
        }
        break;
    case DOMTREE_NODATA:
        a.rcode = DNSMSG_RCODE_NOERROR;
        if (query_logging(q)) {
            query_log(q, "config %s is %s", query_name(q), "NODATA");
        }
        break;
    case DOMTREE_NXDOMAIN:
        a.rcode = query_name_is_local(q) ? DNSMSG_RCODE_NOERROR : DNSMSG_RCODE_NXDOMAIN;
        if (query_logging(q)) {
            query_log(q, "config %s is %s", query_name(q),
                      a.rcode == DNSMSG_RCODE_NXDOMAIN ? "NXDOMAIN" : "NODATA");
        }
        break;
    default:
        a.rcode = DNSMSG_RCODE_REFUSED;
        break;
    }
    query_send_local(q, &a);
}

/* ---- Policy checks before forwarding (dnsmasq domain-needed, bogus-priv). */

static bool query_is_dotless(const struct query *q)
{
    return q->key_len > 0 && memchr(q->key, '.', q->key_len) == NULL;
}

/* True for a PTR name inside RFC 6303 private space (dnsmasq's bogus-priv list). */
static bool query_is_private_ptr(const struct query *q)
{
    static const char *const zones[] = {
        "10.in-addr.arpa",
        "168.192.in-addr.arpa",
        "127.in-addr.arpa",
        "0.in-addr.arpa",
        "254.169.in-addr.arpa",
        "2.0.192.in-addr.arpa",
        "100.51.198.in-addr.arpa",
        "113.0.203.in-addr.arpa",
        "255.255.255.255.in-addr.arpa",
        "d.f.ip6.arpa",
        "8.e.f.ip6.arpa",
        "9.e.f.ip6.arpa",
        "a.e.f.ip6.arpa",
        "b.e.f.ip6.arpa",
        "c.e.f.ip6.arpa",
        "d.e.f.ip6.arpa",
        "e.e.f.ip6.arpa",
        "f.e.f.ip6.arpa",
        "8.b.d.0.1.0.0.2.ip6.arpa",
    };
    if (q->q.qtype != DNSMSG_TYPE_PTR) {
        return false;
    }
    for (size_t i = 0; i < DNSROUTE_ARRAY_LEN(zones); i++) {
        size_t zl = strlen(zones[i]);
        if (q->key_len >= zl && memcmp(q->key + q->key_len - zl, zones[i], zl) == 0 &&
            (q->key_len == zl || q->key[q->key_len - zl - 1] == '.')) {
            return true;
        }
    }
    /* 172.16.0.0/12 and 100.64.0.0/10: the second octet decides. */
    unsigned a = 0, b = 0;
    char tail[32];
    /* NOLINTNEXTLINE(cert-err34-c): out-of-range octets fail the range checks below anyway */
    if (sscanf(q->key, "%*u.%*u.%u.%u.%31s", &b, &a, tail) == 3 &&
        strcmp(tail, "in-addr.arpa") == 0) {
        return (a == 172 && b >= 16 && b <= 31) || (a == 100 && b >= 64 && b <= 127);
    }
    /* The v6 zero and loopback addresses (:: and ::1) in nibble form. */
    static const char v6zero[] =
        "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa";
    size_t zl = sizeof(v6zero) - 1;
    return q->key_len == zl + 2 && (q->key[0] == '0' || q->key[0] == '1') && q->key[1] == '.' &&
           memcmp(q->key + 2, v6zero, zl) == 0;
}

/* The address a full in-addr.arpa or ip6.arpa name stands for: family and addr[16]. */
static bool query_ptr_addr(const struct query *q, int *family, uint8_t *a)
{
    unsigned v[4];
    int end = 0;
    /* NOLINTNEXTLINE(cert-err34-c): %3u bounds each octet; the < 256 check rejects the rest */
    if (sscanf(q->key, "%3u.%3u.%3u.%3u.in-addr.arpa%n", &v[3], &v[2], &v[1], &v[0], &end) == 4 &&
        (size_t)end == q->key_len && (v[0] | v[1] | v[2] | v[3]) < 256) {
        for (int i = 0; i < 4; i++) {
            a[i] = (uint8_t)v[i];
        }
        *family = AF_INET;
        return true;
    }
    bool ok = q->key_len == 72 && memcmp(q->key + 64, "ip6.arpa", 8) == 0;
    for (size_t i = 0; ok && i < 32; i++) {
        char ch = q->key[2 * i];
        int nib = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
        ok = nib >= 0 && q->key[2 * i + 1] == '.';
        if (ok) {
            uint8_t *byte = &a[15 - i / 2];
            *byte = (uint8_t)(i % 2 == 0 ? nib : (*byte | (nib << 4)));
        }
    }
    *family = AF_INET6;
    return ok;
}

/* The address a reverse name stands for, as dnsmasq logs it ("10.0.0.5", "::1"); the name itself
 * when it is not a full in-addr.arpa or ip6.arpa name. */
static void query_ptr_text(const struct query *q, char *out, size_t cap)
{
    uint8_t a[16];
    int family;
    if (!query_ptr_addr(q, &family, a) || inet_ntop(family, a, out, (socklen_t)cap) == NULL) {
        (void)snprintf(out, cap, "%s", query_name(q));
    }
}

/* bogus-priv: dnsmasq answers private reverse names from its own data (answer_request), so the
 * NXDOMAIN carries AA, unlike local= (found by tests/e2e/test_dns_options.sh against 2.90). */
static void query_answer_bogus_priv(struct query *q)
{
    if (query_logging(q)) {
        char text[DNAME_KEY_MAX];
        query_ptr_text(q, text, sizeof(text));
        query_log(q, "config %s is %s", text, "NXDOMAIN");
    }
    struct dnsmsg_local a;
    memset(&a, 0, sizeof(a));
    a.udp_limit = q->udp_limit;
    a.edns_size = q->gen->conf->edns_packet_max;
    a.rcode = DNSMSG_RCODE_NXDOMAIN;
    a.aa = true;
    query_send_local(q, &a);
}

/* ---- Hosts files (dnsmasq answer_request: hosts data answers before address= and server=). */

#define QUERY_HOSTS_ADDRS_MAX 128

/* A or AAAA of a name in the hosts files: every address of that family, AA, local-ttl, in
 * round-robin order. A name with only the other family is not answered here (dnsmasq forwards
 * it). */
static bool query_answer_hosts_addr(struct query *q, int family)
{
    const struct hosts *h = q->gen->conf->hosts;
    uint8_t addrs[QUERY_HOSTS_ADDRS_MAX * 16];
    uint32_t n = hosts_lookup(h, q->key, q->key_len, family, q->ctx->hosts_rotate++, addrs,
                              QUERY_HOSTS_ADDRS_MAX);
    if (n == 0) {
        return false;
    }
    n = n < QUERY_HOSTS_ADDRS_MAX ? n : QUERY_HOSTS_ADDRS_MAX;
    struct dnsmsg_local a;
    memset(&a, 0, sizeof(a));
    a.udp_limit = q->udp_limit;
    a.edns_size = q->gen->conf->edns_packet_max;
    a.ttl_s = q->gen->conf->local_ttl_s;
    a.aa = true;
    a.addr_type = family == AF_INET6 ? DNSMSG_TYPE_AAAA : DNSMSG_TYPE_A;
    a.addrs = addrs;
    a.addr_count = n;
    for (uint32_t i = 0; query_logging(q) && i < n; i++) {
        query_log_addr(q, "hosts", family, addrs + (size_t)i * (family == AF_INET6 ? 16 : 4));
    }
    query_send_local(q, &a);
    return true;
}

/* PTR of an address in the hosts files: the first name given that address. */
static bool query_answer_hosts_ptr(struct query *q)
{
    uint8_t addr[16], wire[DNAME_WIRE_MAX];
    int family;
    const char *name = NULL;
    if (query_ptr_addr(q, &family, addr)) {
        name = hosts_lookup_addr(q->gen->conf->hosts, family, addr);
    }
    int wlen = name != NULL ? dname_text_to_wire(name, strlen(name), wire, sizeof(wire)) : -1;
    if (wlen < 0) {
        return false;
    }
    if (query_logging(q)) {
        char text[DNAME_KEY_MAX];
        query_ptr_text(q, text, sizeof(text));
        query_log(q, "hosts %s is %s", text, name);
    }
    q->ctx->stats.answered_locally++;
    const struct conf *c = q->gen->conf;
    uint8_t *out = query_scratch(q->ctx);
    struct dnsmsg_builder b;
    dnsmsg_builder_init_reply(&b, out, QUERY_REPLY_CAP, &q->q, DNSMSG_RCODE_NOERROR,
                              DNSMSG_FLAG_AA);
    dnsmsg_builder_add_rr(&b, DNSMSG_SECTION_ANSWER, NULL, 0, DNSMSG_TYPE_PTR, c->local_ttl_s, wire,
                          (size_t)wlen);
    if (q->q.edns.present) {
        dnsmsg_builder_add_opt(&b, c->edns_packet_max, q->q.edns.do_bit);
    }
    int len = dnsmsg_builder_finish(&b);
    query_send_built(q, out, len);
    return true;
}

static bool query_answer_hosts(struct query *q)
{
    if (q->gen->conf->hosts == NULL || q->q.qclass != DNSMSG_CLASS_IN) {
        return false;
    }
    switch (q->q.qtype) {
    case DNSMSG_TYPE_A:
        return query_answer_hosts_addr(q, AF_INET);
    case DNSMSG_TYPE_AAAA:
        return query_answer_hosts_addr(q, AF_INET6);
    case DNSMSG_TYPE_PTR:
        return query_answer_hosts_ptr(q);
    default:
        return false;
    }
}

/* ---- Cache (dnsmasq cache.c semantics: cached types, TTL bounds, negative answers). */

static bool query_cacheable_type(uint16_t qtype)
{
    return qtype == DNSMSG_TYPE_A || qtype == DNSMSG_TYPE_AAAA || qtype == DNSMSG_TYPE_CNAME ||
           qtype == DNSMSG_TYPE_SRV || qtype == DNSMSG_TYPE_PTR;
}

/* FNV-1a over the addresses of the servers the query is routed to, from the signature of the
 * bogus-nxdomain list (cached answers were checked against the list they were stored under). */
static uint32_t query_route_signature(const struct query *q)
{
    const struct conf *c = q->gen->conf;
    uint32_t n = 0, h = HASH_FNV32_BASIS ^ prefixset_signature(c->bogus_set);
    const uint32_t *ids = conf_group_servers(c, q->route.group, &n);
    for (uint32_t i = 0; i < n; i++) {
        const union sockaddr_any *a = &c->servers[ids[i]].addr;
        h = hash_fnv32(h, a, sockaddr_len(a));
    }
    return h;
}

/* What a cache entry keeps beside the reply and its TTL offsets: the reply's parse, and the
 * route it was fetched through, so that a hit neither parses nor (under the configuration it was
 * stored under) looks the name up in the domain tree. */
struct query_cached {
    struct dnsmsg_reply reply;
    uint32_t conf_serial; /* query_gen.conf_serial it was stored under */
    uint32_t route_sig;   /* query_route_signature then */
    uint32_t ipset_list, nftset_list;
};

/* The key: the question and the EDNS bits that change an answer; the route is checked on a hit
 * (query_route), so a name has one entry whatever servers it came through. */
static void query_cache_key(const struct query *q, struct cache_key *k)
{
    uint8_t variant = (uint8_t)((q->q.edns.do_bit ? CACHE_VARIANT_DO : 0) |
                                ((q->q.flags & DNSMSG_FLAG_CD) ? CACHE_VARIANT_CD : 0));
    cache_key_init(k, q->q.qname, q->q.qname_len, q->q.qtype, q->q.qclass, variant);
}

/* Stores a checked upstream reply with its TTL offsets, parse and route. */
static void query_cache_store(struct query *q, const uint8_t *pkt, size_t len,
                              const struct dnsmsg_reply *r, uint32_t ttl_s)
{
    int n = dnsmsg_ttl_offsets(pkt, len, r, q->ctx->ttl_offs, QUERY_TTLS_MAX);
    if (n < 0) {
        return;
    }
    struct cache_key k;
    query_cache_key(q, &k);
    struct query_cached m = {*r, q->gen->conf_serial, query_route_signature(q), q->route.ipset_list,
                             q->route.nftset_list};
    struct cache_value v = {pkt, len, q->ctx->ttl_offs, (size_t)n, &m, sizeof(m), ttl_s == 0};
    cache_insert(q->ctx->cache->cache, &k, &v, ttl_s, uv_now(q->ctx->loop));
}

/* The TTL a reply is cached with, -1 for "do not cache". A TTL of 0 is cached only under
 * use-stale-cache (dnsmasq really_insert), to be served stale and refreshed. */
static int64_t query_cache_ttl(const struct query *q, const uint8_t *pkt, size_t len,
                               const struct dnsmsg_reply *r)
{
    const struct conf *c = q->gen->conf;
    uint32_t ttl = 0;
    if (r->tc || (q->q.flags & DNSMSG_FLAG_CD) || !query_cacheable_type(q->q.qtype)) {
        return -1;
    }
    bool negative =
        r->rcode == DNSMSG_RCODE_NXDOMAIN || (r->rcode == DNSMSG_RCODE_NOERROR && r->ancount == 0);
    if (r->rcode != DNSMSG_RCODE_NOERROR && r->rcode != DNSMSG_RCODE_NXDOMAIN) {
        return -1;
    }
    if (negative) {
        if (c->no_negcache) {
            return -1;
        }
        if (dnsmsg_neg_ttl(pkt, len, r, &ttl) < 0) {
            /* no SOA: cached only with neg-ttl */
            return c->neg_ttl_s != 0 ? (int64_t)c->neg_ttl_s : -1;
        }
        return ttl;
    }
    if (dnsmsg_min_ttl(pkt, len, r, &ttl) < 0) {
        return -1;
    }
    if (c->max_cache_ttl_s != 0 && ttl > c->max_cache_ttl_s) {
        ttl = c->max_cache_ttl_s;
    }
    if (ttl < c->min_cache_ttl_s) {
        ttl = c->min_cache_ttl_s;
    }
    return ttl;
}

static void query_relay_parsed(struct query *q, uint8_t *pkt, size_t len, struct dnsmsg_reply *r,
                               bool from_cache);

/* Looks the question up in the cache; a hit is copied into the scratch buffer (reply), the TTL
 * offsets buffer and *m, for query_answer_cached. */
static bool query_cache_fetch(struct query *q, struct cache_hit *hit, struct query_cached *m)
{
    struct cache_key k;
    struct query_cache *qc = q->ctx->cache;
    if (qc->max_entries == 0) {
        return false; /* cache-size=0: no lock, no hashing on the hot path */
    }
    query_cache_key(q, &k);
    uint32_t stale_s = q->gen->conf->stale_cache_s;
    *hit = (struct cache_hit){.reply = query_scratch(q->ctx),
                              .reply_cap = QUERY_REPLY_CAP - 64,
                              .ttl_offs = q->ctx->ttl_offs,
                              .ttl_cap = QUERY_TTLS_MAX,
                              .meta = m,
                              .stale_ms = stale_s == CONF_STALE_FOREVER ? UINT64_MAX
                                                                        : (uint64_t)stale_s * 1000};
    return cache_lookup(qc->cache, &k, uv_now(q->ctx->loop), hit) && hit->meta_len == sizeof(*m);
}

/* ---- use-stale-cache (dnsmasq 2.88+ receive_query/tcp_request): an entry expired less than
 * MAX seconds ago is served at once with TTL 0 (and an RFC 8914 "stale answer" EDE for an EDNS
 * client), and the query is forwarded anyway to refresh it; the refresh has no client, and its
 * reply is cached, logged and added to the sets as any other. One refresh per entry at a time. */

static void query_forward(struct query *q);

/* The refresh of the stale entry q is answered from: a copy of q without a client, routed
 * afresh (the hit may have skipped the domain tree); NULL when the name is no longer forwarded.
 * query_answer_stale forwards it once q's answer has left the scratch buffer. */
static struct query *query_refresh_new(const struct query *q)
{
    struct query *r = query_alloc(q->ctx);
    r->refresh = true;
    r->client = q->client;
    r->serial = q->serial;
    r->udp_limit = 0;
    memcpy(r->buf, q->buf, q->len);
    r->len = q->len;
    r->q = q->q;
    memcpy(r->key, q->key, q->key_len + 1);
    r->key_len = q->key_len;
    r->state = QUERY_PARSED;
    domtree_lookup(r->gen->conf->tree, r->key, r->key_len, r->q.qtype, &r->route);
    if (r->route.action != DOMTREE_FORWARD) {
        query_end(r); /* the configuration changed: nothing to refresh from */
        return NULL;
    }
    return r;
}

/* The refresh is over, answered or not: the entry may ask for another. */
static void query_refresh_end(struct query *q)
{
    struct cache_key k;
    query_cache_key(q, &k);
    cache_refresh_end(q->ctx->cache->cache, &k);
}

/* Serves a stale hit: every TTL 0 (dnsmasq crec_ttl), then the cached path. */
static void query_answer_stale(struct query *q, const struct cache_hit *hit, struct query_cached *m)
{
    uint8_t *pkt = hit->reply;
    struct query *refresh = hit->refresh ? query_refresh_new(q) : NULL;
    memcpy(pkt + DNSMSG_HEADER_LEN, q->q.qname, q->q.qname_len);
    uint16_t rd = q->q.flags & DNSMSG_FLAG_RD;
    dnsmsg_set_flags(pkt, rd, (uint16_t)(DNSMSG_FLAG_RD & ~rd));
    dnsmsg_rewrite_ttls_at(pkt, hit->ttl_offs, hit->ttl_count, 0, UINT32_MAX, 0);
    q->stale = true;
    q->ctx->stats.stale_answers++;
    query_relay_parsed(q, pkt, hit->len, &m->reply, true);
    if (refresh != NULL) {
        query_forward(refresh);
    }
}

/* The EDE a stale answer carries to an EDNS client (dnsmasq EDE_STALE). Returns the new
 * length; an answer without room for it goes without. */
static size_t query_stale_ede(const struct query *q, uint8_t *pkt, size_t len,
                              struct dnsmsg_reply *r)
{
    if (!q->stale || !r->edns.present) {
        return len;
    }
    int n = dnsmsg_reply_add_ede(pkt, len, QUERY_REPLY_CAP, r, DNSMSG_EDE_STALE_ANSWER);
    return n > 0 ? (size_t)n : len;
}

/* Answers from a fetched hit: the stored reply gets the client's ID and question case, TTLs
 * counted down at their stored offsets, and goes with its stored parse through the same relay
 * path (sets refreshed, EDNS, truncation). */
static void query_answer_cached(struct query *q, const struct cache_hit *hit,
                                struct query_cached *m)
{
    if (hit->stale) {
        query_answer_stale(q, hit, m);
        return;
    }
    uint8_t *pkt = hit->reply;
    memcpy(pkt + DNSMSG_HEADER_LEN, q->q.qname, q->q.qname_len);
    /* No record outlives its cache entry (max-cache-ttl), nor max-ttl. */
    uint32_t cap = hit->ttl_s > hit->age_s ? hit->ttl_s - hit->age_s : 1;
    uint32_t max_ttl = q->gen->conf->max_ttl_s;
    if (max_ttl != 0 && max_ttl < cap) {
        cap = max_ttl;
    }
    /* The stored reply has the RD bit of the query that filled the cache: give back the
     * client's own (dnsmasq setup_reply copies it; CD is part of the cache key). */
    uint16_t rd = q->q.flags & DNSMSG_FLAG_RD;
    dnsmsg_set_flags(pkt, rd, (uint16_t)(DNSMSG_FLAG_RD & ~rd));
    /* min-cache-ttl: records shorter than it live as long as the entry, as in dnsmasq's cache
     * (a 2 s record cached for 60 s is served with 58 s left, not with 0). */
    dnsmsg_rewrite_ttls_at(pkt, hit->ttl_offs, hit->ttl_count, q->gen->conf->min_cache_ttl_s,
                           hit->age_s, cap);
    q->ctx->stats.cache_hits++;
    query_relay_parsed(q, pkt, hit->len, &m->reply, true);
}

/* A hit stored under this very configuration: every decision before the cache (domain tree,
 * domain-needed, bogus-priv) depends only on the configuration and the question, and led to
 * forwarding then, so it would now; the domain tree is not consulted. A step added before the
 * cache must keep that true (or change conf_serial's meaning). */
static bool query_answer_cached_same_conf(struct query *q, const struct cache_hit *hit,
                                          struct query_cached *m)
{
    if (m->conf_serial != q->gen->conf_serial) {
        return false;
    }
    memset(&q->route, 0, sizeof(q->route));
    q->route.action = DOMTREE_FORWARD;
    q->route.ipset_list = m->ipset_list;
    q->route.nftset_list = m->nftset_list;
    query_answer_cached(q, hit, m);
    return true;
}

/* ---- Forwarding. */

static void on_upstream_done(struct upstream_req *req, int status, const struct dnsmsg_view *reply,
                             uint32_t server_id);

static void query_forward(struct query *q)
{
    const struct conf *c = q->gen->conf;
    /* c-ares 1.18.1 reads UDP answers into a 4097-byte buffer: never invite larger ones
     * (reference §1.4). */
    uint16_t size =
        c->edns_packet_max < QUERY_UPSTREAM_EDNS_MAX ? c->edns_packet_max : QUERY_UPSTREAM_EDNS_MAX;
    int len = dnsmsg_query_set_edns(q->buf, q->len, sizeof(q->buf), &q->q, size);
    if (len < 0) {
        query_answer_rcode(q, DNSMSG_RCODE_FORMERR);
        return;
    }
    int rc = upstream_send(q->gen->upstream, q->route.group, q->buf, (size_t)len,
                           q->client.transport == SERVER_TCP, &q->up, on_upstream_done);
    if (rc == ERR_FULL) {
        q->ctx->stats.refused_full++;
        if (log_ratelimit_pass(&q->ctx->full_log, uv_now(q->ctx->loop))) {
            log_warn("Maximum number of concurrent DNS queries reached (max: %u)",
                     c->dns_forward_max);
        }
        query_answer_rcode(q, DNSMSG_RCODE_REFUSED);
        return;
    }
    if (rc < 0) {
        query_answer_rcode(q, DNSMSG_RCODE_REFUSED);
        return;
    }
    q->state = QUERY_FORWARDING;
    q->ctx->stats.forwarded++;
    if (query_logging(q)) {
        /* One line per server actually asked (all of the group when probing, else the last
         * one that answered), as dnsmasq; the port only when it is not 53. */
        uint32_t ids[8];
        size_t n = upstream_req_servers(&q->up, ids, DNSROUTE_ARRAY_LEN(ids));
        for (size_t i = 0; i < n; i++) {
            char text[SOCKADDR_TEXT_MAX];
            const union sockaddr_any *to = &c->servers[ids[i]].addr;
            sockaddr_format(to, sockaddr_port(to) != 53, text, sizeof(text));
            query_log(q, "forwarded %s to %s", query_name(q), text);
        }
    }
}

static void query_route(struct query *q)
{
    const struct conf *c = q->gen->conf;
    /* Local records first, as dnsmasq's answer_request; the check costs one lookup and writes
     * nothing, so the scratch buffer is free for the cache fetch below. */
    if (localrec_may_answer(c->localrec, q->key, q->key_len, q->q.qtype, q->q.qclass) &&
        query_answer_records(q)) {
        return;
    }
    struct cache_hit hit;
    struct query_cached m;
    bool cached = query_cache_fetch(q, &hit, &m);
    if (cached && query_answer_cached_same_conf(q, &hit, &m)) {
        return;
    }
    if (query_answer_hosts(q)) {
        return;
    }
    domtree_lookup(c->tree, q->key, q->key_len, q->q.qtype, &q->route);
    if (q->route.action != DOMTREE_FORWARD && q->route.action != DOMTREE_REFUSED) {
        query_answer_local(q);
        return;
    }
    /* domain-needed: dnsmasq never forwards A/AAAA for a dotless name; other types go out (to
     * server=// if there is one): found by tests/e2e/test_dns_options.sh against 2.90. Like
     * bogus-priv it answers before "no server" (REFUSED). */
    bool addr_qtype = q->q.qtype == DNSMSG_TYPE_A || q->q.qtype == DNSMSG_TYPE_AAAA;
    if (c->domain_needed && addr_qtype && query_is_dotless(q)) {
        uint8_t rcode = query_name_is_local(q) ? DNSMSG_RCODE_NOERROR : DNSMSG_RCODE_NXDOMAIN;
        if (query_logging(q)) {
            query_log(q, "config %s is %s", query_name(q),
                      rcode == DNSMSG_RCODE_NXDOMAIN ? "NXDOMAIN" : "NODATA");
        }
        q->ctx->stats.answered_locally++;
        query_answer_rcode(q, rcode);
        return;
    }
    if (c->bogus_priv && !q->route.domain_specific && query_is_private_ptr(q)) {
        query_answer_bogus_priv(q);
        return;
    }
    if (q->route.action == DOMTREE_REFUSED) {
        query_answer_local(q);
        return;
    }
    /* Stored under another configuration: usable if the name's servers are the same. */
    if (cached && m.route_sig == query_route_signature(q)) {
        query_answer_cached(q, &hit, &m);
        return;
    }
    query_forward(q);
}

/* --local-service (dnsmasq receive_query/tcp_request): only clients on a directly connected subnet
 * (net) or on this host (host) are answered; others are dropped and logged once. Without the
 * option this is one comparison. The interface table is opened on first use, on this loop. */
static bool query_client_allowed(struct query_ctx *ctx, const struct server_client *client)
{
    enum conf_local_service mode = ctx->gen->conf->local_service;
    if (DNSROUTE_LIKELY(mode == CONF_LOCAL_SERVICE_OFF)) {
        return true;
    }
    bool ok = false;
    if (mode == CONF_LOCAL_SERVICE_HOST) {
        ok = sockaddr_is_loopback(&client->peer);
    } else if (ctx->ifaddrs != NULL || ifaddr_new(ctx->loop, &ctx->ifaddrs) == 0) {
        ok = ifaddr_is_local(ctx->ifaddrs, &client->peer);
    } else {
        log_error("local-service: cannot read interface addresses; refusing queries");
    }
    if (!ok && !ctx->nonlocal_logged) {
        char text[SOCKADDR_TEXT_MAX];
        (void)sockaddr_format(&client->peer, false, text, sizeof(text));
        log_warn("ignoring query from non-local network %s (logged only once)", text);
        ctx->nonlocal_logged = true;
    }
    return ok;
}

void query_receive(void *arg, const struct server_client *client, const uint8_t *pkt, size_t len)
{
    struct query_ctx *ctx = arg;
    if (!query_client_allowed(ctx, client)) {
        ctx->stats.dropped++;
        server_drop(ctx->server, client);
        return;
    }
    ctx->stats.received++;
    if (len > QUERY_BUF_LEN || len < DNSMSG_HEADER_LEN) {
        ctx->stats.dropped++;
        server_drop(ctx->server, client);
        return;
    }
    struct query *q = query_alloc(ctx);
    q->client = *client;
    q->serial = ctx->stats.received;
    memcpy(q->buf, pkt, len);
    q->len = len;
    dnsmsg_parse_query(&q->q, q->buf, len);
    q->udp_limit = client->transport == SERVER_UDP
                       ? dnsmsg_udp_limit(&q->q.edns, q->gen->conf->edns_packet_max)
                       : 0;
    switch (q->q.reject) {
    case DNSMSG_REJECT_DROP:
        ctx->stats.dropped++;
        server_drop(ctx->server, client);
        query_end(q);
        return;
    case DNSMSG_REJECT_FORMERR:
        ctx->stats.formerr++;
        query_answer_rcode(q, DNSMSG_RCODE_FORMERR);
        return;
    case DNSMSG_REJECT_NOTIMP:
        ctx->stats.notimp++;
        query_answer_rcode(q, DNSMSG_RCODE_NOTIMP);
        return;
    default:
        break;
    }
    int klen = dname_wire_to_key(q->q.qname, q->q.qname_len, q->key, sizeof(q->key));
    if (klen < 0) {
        ctx->stats.formerr++;
        query_answer_rcode(q, DNSMSG_RCODE_FORMERR);
        return;
    }
    q->key_len = (size_t)klen;
    q->state = QUERY_PARSED;
    if (query_logging(q)) {
        query_log_received(q);
    }
    query_route(q);
}

/* ---- Upstream replies. */

/* A cursor positioned at the first answer record of a parsed reply. */
static void query_answer_cursor(struct dnsmsg_cursor *cur, const uint8_t *pkt, size_t len,
                                const struct dnsmsg_reply *r)
{
    dnsmsg_cursor_init(cur, pkt, len);
    dnsmsg_cursor_skip(cur, r->question_end);
}

typedef bool query_rr_match_cb(const struct dnsmsg_rr *rr, const uint8_t *pkt, const void *arg);

/* True when match accepts one of the answer records (false too when the section does not
 * parse). dnsmsg_cursor_read_rr moves past each record's rdata itself. */
static bool query_answer_any(const uint8_t *pkt, size_t len, const struct dnsmsg_reply *r,
                             query_rr_match_cb *match, const void *arg)
{
    struct dnsmsg_cursor cur;
    query_answer_cursor(&cur, pkt, len, r);
    for (uint16_t i = 0; i < r->ancount; i++) {
        struct dnsmsg_rr rr;
        if (dnsmsg_cursor_read_rr(&cur, &rr) < 0) {
            return false;
        }
        if (match(&rr, pkt, arg)) {
            return true;
        }
    }
    return false;
}

/* An A/AAAA record inside one of the bogus-nxdomain= prefixes of the configuration arg. */
static bool query_rr_is_bogus(const struct dnsmsg_rr *rr, const uint8_t *pkt, const void *arg)
{
    const struct conf *c = arg;
    int family = rr->type == DNSMSG_TYPE_A && rr->rdlen == 4       ? AF_INET
                 : rr->type == DNSMSG_TYPE_AAAA && rr->rdlen == 16 ? AF_INET6
                                                                   : 0;
    return family != 0 && prefixset_has(c->bogus_set, family, pkt + rr->rdata_off);
}

/* A record of the type *arg (filter-AAAA/filter-A have work to do). */
static bool query_rr_has_type(const struct dnsmsg_rr *rr, const uint8_t *pkt, const void *arg)
{
    (void)pkt;
    return rr->type == *(const uint16_t *)arg;
}

/* dnsmasq bogus-nxdomain: any A/AAAA in the answer section inside a listed prefix. */
static bool query_is_bogus(const struct conf *c, const uint8_t *pkt, size_t len,
                           const struct dnsmsg_reply *r)
{
    return c->bogus_nxdomain_count != 0 && query_answer_any(pkt, len, r, query_rr_is_bogus, c);
}

/* --stop-dns-rebind (dnsmasq extract_addresses with check_rebind): true when an A/AAAA record on
 * the CNAME chain from the question name holds a private address (rebind.h) and the name is not
 * exempted by --rebind-domain-ok. Such an answer never reaches the cache, the sets or the client.
 */
static bool query_is_rebind(const struct query *q, const uint8_t *pkt, size_t len,
                            const struct dnsmsg_reply *r)
{
    const struct conf *c = q->gen->conf;
    if (!c->stop_dns_rebind) {
        return false;
    }
    struct dnsmsg_addr *addrs = query_addrs(q->ctx);
    int n = dnsmsg_chain_addrs(pkt, len, r, q->q.qname, q->q.qname_len, q->q.qtype, addrs,
                               QUERY_ADDRS_MAX);
    for (int i = 0; i < n; i++) {
        if (rebind_addr_is_private(addrs[i].addr, addrs[i].len, c->rebind_localhost_ok)) {
            return !rebind_domain_is_ok(q->key_len ? q->key : "", c->rebind_ok_domains,
                                        c->rebind_ok_count);
        }
    }
    return false;
}

/* Queues the answer's addresses (the CNAME chain from the question name) for every set of the
 * question name's ipset= and nftset= lists (dnsmasq extract_addresses). */
/* Queues one address for every set of one ipset=/nftset= list. */
static void query_add_to_setlist(struct query *q, uint32_t list, const struct dnsmsg_addr *a)
{
    const struct conf *c = q->gen->conf;
    const struct conf_setlist *sl = &c->setlists[list];
    int family = a->len == 16 ? AF_INET6 : AF_INET;
    for (uint32_t k = 0; k < sl->count; k++) {
        uint32_t set_id = c->setlist_items[sl->first + k];
        if (nlset_add(q->gen->nlset, set_id, family, a->addr, a->ttl_s) == 0) {
            q->ctx->stats.set_additions++;
        }
    }
}

static void query_add_to_sets(struct query *q, const uint8_t *pkt, size_t len,
                              const struct dnsmsg_reply *r)
{
    uint32_t lists[2] = {q->route.ipset_list, q->route.nftset_list};
    if (q->gen->nlset == NULL || (lists[0] == DOMTREE_NONE && lists[1] == DOMTREE_NONE)) {
        return;
    }
    struct dnsmsg_addr *addrs = query_addrs(q->ctx);
    int n = dnsmsg_chain_addrs(pkt, len, r, q->q.qname, q->q.qname_len, q->q.qtype, addrs,
                               QUERY_ADDRS_MAX);
    for (int i = 0; i < n; i++) {
        for (size_t l = 0; l < 2; l++) {
            if (lists[l] != DOMTREE_NONE) {
                query_add_to_setlist(q, lists[l], &addrs[i]);
            }
        }
    }
}

/* One pass over the answer section for the chain name *name (dnsmasq extract_addresses):
 * logs its records, and returns true when a CNAME moved *name on (the caller scans again). */
static bool query_log_chain_pass(const struct query *q, const uint8_t *pkt, size_t len,
                                 const struct dnsmsg_reply *r, const char *word, uint8_t *name,
                                 size_t *name_len, bool *found)
{
    struct dnsmsg_cursor cur;
    query_answer_cursor(&cur, pkt, len, r);
    char key[DNAME_KEY_MAX + 1], tbuf[DNSMSG_TYPE_NAME_MAX];
    for (uint16_t i = 0; i < r->ancount; i++) {
        struct dnsmsg_rr rr;
        uint8_t owner[DNAME_WIRE_MAX];
        if (dnsmsg_cursor_read_rr(&cur, &rr) < 0) {
            return false;
        }
        struct dnsmsg_cursor oc = cur;
        oc.pos = rr.owner_off;
        size_t owner_len = dnsmsg_cursor_read_name(&oc, owner);
        if (rr.rclass != DNSMSG_CLASS_IN || owner_len == 0 ||
            !dname_wire_equal(owner, owner_len, name, *name_len) ||
            dname_wire_to_key(name, *name_len, key, sizeof(key)) < 0) {
            continue;
        }
        const char *shown = key[0] != '\0' ? key : ".";
        if (rr.type == DNSMSG_TYPE_CNAME) {
            query_log(q, "%s %s is <CNAME>", word, shown);
            struct dnsmsg_cursor tc = cur;
            tc.pos = rr.rdata_off;
            size_t tl = dnsmsg_cursor_read_name(&tc, name);
            if (tl == 0) {
                return false;
            }
            *name_len = tl;
            if (q->q.qtype != DNSMSG_TYPE_CNAME) {
                return true;
            }
            *found = true;
        } else if (rr.type != q->q.qtype) {
            query_log(q, "%s %s is <%s>", word, shown, dnsmsg_type_name(rr.type, tbuf));
        } else if (r->rcode != DNSMSG_RCODE_NXDOMAIN) {
            *found = true;
            int family = rr.type == DNSMSG_TYPE_A && rr.rdlen == 4       ? AF_INET
                         : rr.type == DNSMSG_TYPE_AAAA && rr.rdlen == 16 ? AF_INET6
                                                                         : 0;
            char text[64];
            if (family == 0 || inet_ntop(family, pkt + rr.rdata_off, text, sizeof(text)) == NULL) {
                query_log(q, "%s %s is <%s>", word, shown, dnsmsg_type_name(rr.type, tbuf));
            } else {
                query_log(q, "%s %s is %s", word, shown, text);
            }
        }
    }
    return false;
}

/* The "reply" (or "cached") lines of dnsmasq's log-queries: the CNAME chain from the question
 * name step by step, the records at its end, or NXDOMAIN/NODATA under the chain's last name;
 * "reply error is SERVFAIL" for other rcodes and "reply is truncated" for TC, as dnsmasq. */
static void query_log_reply(const struct query *q, const uint8_t *pkt, size_t len,
                            const struct dnsmsg_reply *r, const char *word)
{
    if (r->tc) {
        query_log(q, "%s is truncated", word);
        return;
    }
    if (r->rcode != DNSMSG_RCODE_NOERROR && r->rcode != DNSMSG_RCODE_NXDOMAIN) {
        query_log(q, "%s error is %s", word,
                  r->rcode == DNSMSG_RCODE_SERVFAIL  ? "SERVFAIL"
                  : r->rcode == DNSMSG_RCODE_REFUSED ? "REFUSED"
                                                     : "error");
        return;
    }
    uint8_t name[DNAME_WIRE_MAX];
    size_t name_len = q->q.qname_len;
    memcpy(name, q->q.qname, name_len);
    bool found = false;
    /* dnsmasq follows at most 10 CNAMEs (CNAME_CHAIN). */
    for (int hops = 0; hops <= 10; hops++) {
        if (!query_log_chain_pass(q, pkt, len, r, word, name, &name_len, &found)) {
            break;
        }
    }
    if (found || (q->q.qtype == DNSMSG_TYPE_ANY && r->rcode != DNSMSG_RCODE_NXDOMAIN)) {
        return;
    }
    char key[DNAME_KEY_MAX + 1];
    if (dname_wire_to_key(name, name_len, key, sizeof(key)) < 0) {
        return;
    }
    query_log(q, "%s %s is %s", word, key[0] != '\0' ? key : ".",
              r->rcode == DNSMSG_RCODE_NXDOMAIN ? "NXDOMAIN"
              : q->q.qtype == DNSMSG_TYPE_AAAA  ? "NODATA-IPv6"
              : q->q.qtype == DNSMSG_TYPE_A     ? "NODATA-IPv4"
                                                : "NODATA");
}

/* Rewrites a reply checked against the query (r: its parse) for the client and queues it. A
 * cached reply was checked against bogus-nxdomain when it was stored (its entry carries the
 * list's signature in its route signature). */
static void query_relay_parsed(struct query *q, uint8_t *pkt, size_t len, struct dnsmsg_reply *r,
                               bool from_cache)
{
    const struct conf *c = q->gen->conf;
    dnsmsg_set_id(pkt, q->q.id);
    /* dnsmasq process_reply: RA on; AD off (we do not validate) unless proxy-dnssec trusts the
     * upstream's validation (RFC 4035 section 4.6). */
    dnsmsg_set_flags(pkt, DNSMSG_FLAG_RA, c->proxy_dnssec ? 0 : DNSMSG_FLAG_AD);
    bool answer = (r->rcode == DNSMSG_RCODE_NOERROR) && !r->tc;
    if (answer && !from_cache && query_is_bogus(c, pkt, len, r)) {
        q->ctx->stats.bogus_nxdomain++;
        if (query_logging(q)) {
            /* dnsmasq 2.90 logs a bogus-nxdomain hit as a config answer. */
            query_log(q, "config %s is %s", query_name(q), "NXDOMAIN");
        }
        query_answer_rcode(q, DNSMSG_RCODE_NXDOMAIN);
        return;
    }
    if (answer && query_is_rebind(q, pkt, len, r)) {
        /* dnsmasq process_reply: the records go, the rcode stays (an empty NOERROR). */
        log_warn("possible DNS-rebind attack detected: %s", query_name(q));
        query_answer_rcode(q, DNSMSG_RCODE_NOERROR);
        return;
    }
    if (!from_cache) {
        int64_t ttl = q->ctx->cache->max_entries ? query_cache_ttl(q, pkt, len, r) : -1;
        if (ttl > 0 || (ttl == 0 && c->stale_cache_s != 0)) {
            query_cache_store(q, pkt, len, r, (uint32_t)ttl);
        }
        if (q->gen->conf->max_ttl_s != 0) {
            dnsmsg_rewrite_ttls(pkt, len, r, 0, q->gen->conf->max_ttl_s);
        }
    }
    if (answer && q->q.qclass == DNSMSG_CLASS_IN &&
        (!from_cache || !q->gen->conf->no_set_refresh)) {
        query_add_to_sets(q, pkt, len, r);
    }
    /* dnsmasq filter-AAAA/filter-A (rrfilter, after the sets got the addresses): only records of
     * the filtered type go, so NXDOMAIN, SERVFAIL, TC and NODATA replies pass unchanged (they
     * were all turned into NOERROR here before; found by tests/e2e/test_dns_options.sh). */
    uint16_t filtered = c->filter_aaaa && q->q.qtype == DNSMSG_TYPE_AAAA ? DNSMSG_TYPE_AAAA
                        : c->filter_a && q->q.qtype == DNSMSG_TYPE_A     ? DNSMSG_TYPE_A
                                                                         : 0;
    if (filtered != 0 && answer && query_answer_any(pkt, len, r, query_rr_has_type, &filtered)) {
        /* Differs from dnsmasq: its rrfilter keeps the other records (a CNAME chain, the
         * authority section); this NODATA has none. The client sees NODATA either way. */
        if (query_logging(q)) {
            query_log(q, "config %s is %s", query_name(q),
                      filtered == DNSMSG_TYPE_AAAA ? "NODATA-IPv6" : "NODATA-IPv4");
        }
        query_answer_rcode(q, DNSMSG_RCODE_NOERROR);
        return;
    }
    if (query_logging(q)) {
        query_log_reply(q, pkt, len, r,
                        !from_cache ? "reply"
                        : q->stale  ? "cached-stale"
                                    : "cached");
    }
    int n = dnsmsg_reply_set_edns(pkt, len, QUERY_REPLY_CAP, r, &q->q.edns, c->edns_packet_max);
    if (n == ERR_FULL) {
        /* A TCP answer within 11 bytes of 65,535 has no room for the OPT the client sent: it is
         * relayed without one (RFC 6891 §7 lets a client cope with a reply without OPT) rather
         * than lost to a SERVFAIL. Over UDP it is truncated below anyway. */
        n = (int)len;
    }
    if (n < 0) {
        query_answer_rcode(q, DNSMSG_RCODE_SERVFAIL);
        return;
    }
    len = query_stale_ede(q, pkt, (size_t)n, r);
    if (q->udp_limit != 0 && len > q->udp_limit) {
        len = (size_t)dnsmsg_reply_truncate(pkt, len, r, q->udp_limit);
        q->ctx->stats.truncated++;
    }
    q->ctx->stats.replies++;
    query_send(q, pkt, len);
}

static void on_upstream_done(struct upstream_req *req, int status, const struct dnsmsg_view *reply,
                             uint32_t server_id)
{
    struct query *q = DNSROUTE_CONTAINER_OF(req, struct query, up);
    (void)server_id;
    if (status < 0 || reply->len > QUERY_REPLY_CAP - 64) {
        if (query_logging(q)) {
            query_log(q, "reply %s is %s", query_name(q),
                      status == ERR_TIMEOUT ? "SERVFAIL (timeout)" : "SERVFAIL");
        }
        query_answer_rcode(q, DNSMSG_RCODE_SERVFAIL);
        return;
    }
    /* upstream parsed and checked the reply against this query: not parsed again. */
    uint8_t *pkt = query_scratch(q->ctx);
    memcpy(pkt, reply->pkt, reply->len);
    struct dnsmsg_reply r = reply->reply;
    query_relay_parsed(q, pkt, reply->len, &r, false);
}
