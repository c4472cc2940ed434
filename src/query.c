/* query.c - the path of one query, top to bottom as it goes: receive -> local answers (local
 * records, query_local.c) -> cache -> hosts -> route (domain tree; address=, local= and the
 * policy answers in query_local.c) -> upstream -> relay (check, cache, sets, rewrite) -> reply.
 * The daemon flushes the set batch before the replies leave (daemon.c on_check), so the
 * client's first packet already takes the right route. Every query ends in query_finish(),
 * which counts it once. Its I/O (listener, upstream, sets) goes through ctx->ops. */
#include "dnsroute/query.h"

#include <string.h>

#include "dnsroute/err.h"
#include "dnsroute/hash.h"
#include "dnsroute/ifaddr.h"
#include "dnsroute/log.h"
#include "dnsroute/mem.h"
#include "dnsroute/nlset.h"
#include "dnsroute/rebind.h"
#include "dnsroute/server.h"

#include "query_impl.h"

#define QUERY_FREE_MAX 1024
/* TTL fields of the largest reply: an RR takes at least 11 bytes (root owner, fixed part). */
#define QUERY_TTLS_MAX          (65535 / 11)
#define QUERY_UPSTREAM_EDNS_MAX 4096

const struct query_ops query_ops_default = {
    .reply = server_reply,
    .drop = server_drop,
    .upstream_send = upstream_send,
    .upstream_servers = upstream_req_servers,
    .set_add = nlset_add,
};

/* What a cache entry keeps beside the reply and its TTL offsets: the reply's parse, and the
 * route it was fetched through, so that a hit neither parses nor (under the configuration it was
 * stored under) looks the name up in the domain tree. */
struct query_cached {
    struct dnsmsg_reply reply;
    uint32_t conf_serial; /* query_gen.conf_serial it was stored under */
    uint32_t route_sig;   /* query_route_signature then */
    uint32_t ipset_list, nftset_list;
};

/* The steps along the path, in the order this file defines them. */
static void query_route(struct query *q);
static bool query_cache_fetch(struct query *q, struct cache_hit *hit, struct query_cached *m);
static bool query_answer_cached_same_conf(struct query *q, const struct cache_hit *hit,
                                          struct query_cached *m);
static void query_answer_cached(struct query *q, const struct cache_hit *hit,
                                struct query_cached *m);
static void query_answer_stale(struct query *q, const struct cache_hit *hit,
                               struct query_cached *m);
static uint32_t query_route_signature(const struct query *q);
static void query_cache_store(struct query *q, const uint8_t *pkt, size_t len,
                              const struct dnsmsg_reply *r);
static void query_forward(struct query *q);
static void query_relay(struct query *q, uint8_t *pkt, size_t len, struct dnsmsg_reply *r,
                        bool from_cache);

/* ---- Life cycle: generations, the shared cache, a worker's context, the statistics. */

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

/* Adds every counter of add (another thread's, read relaxed) to sum. */
void query_stats_add(struct query_stats *sum, const struct query_stats *add)
{
    sum->received += dnsroute_counter_read(&add->received);
    sum->forwarded += dnsroute_counter_read(&add->forwarded);
    sum->answered_locally += dnsroute_counter_read(&add->answered_locally);
    sum->replies += dnsroute_counter_read(&add->replies);
    sum->servfail += dnsroute_counter_read(&add->servfail);
    sum->refused_full += dnsroute_counter_read(&add->refused_full);
    sum->refused += dnsroute_counter_read(&add->refused);
    sum->formerr += dnsroute_counter_read(&add->formerr);
    sum->notimp += dnsroute_counter_read(&add->notimp);
    sum->dropped += dnsroute_counter_read(&add->dropped);
    sum->truncated += dnsroute_counter_read(&add->truncated);
    sum->set_additions += dnsroute_counter_read(&add->set_additions);
    sum->bogus_nxdomain += dnsroute_counter_read(&add->bogus_nxdomain);
    sum->cache_hits += dnsroute_counter_read(&add->cache_hits);
    sum->stale_answers += dnsroute_counter_read(&add->stale_answers);
}

void query_ctx_init(struct query_ctx *ctx, uv_loop_t *loop, struct server *server,
                    struct query_gen *gen, struct query_cache *cache)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->loop = loop;
    ctx->server = server;
    ctx->ops = &query_ops_default;
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

uint8_t *query_scratch(struct query_ctx *ctx)
{
    return ctx->scratch;
}

/* ---- Receive: admit the client, copy and parse the query. */

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
    /* received counts arrivals, query_finish the ends. */
    dnsroute_counter_add(&ctx->stats.received, 1);
    q->serial = ctx->stats.received; /* this thread is its only writer */
    q->forwarded = false;
    q->stale = q->refresh = false;
    q->cache_hit = false;
    q->truncated = false;
    q->has_cache_key = false;
    q->set_additions = 0;
    q->key_len = 0;
    q->key[0] = '\0';
    query_gen_ref(q->gen);
    ctx->in_flight++;
    return q;
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

/* Parses q->buf and its name key; false when q was answered (FORMERR, NOTIMP) or dropped. */
static bool query_parse(struct query *q)
{
    dnsmsg_parse_query(&q->q, q->buf, q->len);
    q->udp_limit = q->client.transport == SERVER_UDP
                       ? dnsmsg_udp_limit(&q->q.edns, q->gen->conf->edns_packet_max)
                       : 0;
    switch (q->q.reject) {
    case DNSMSG_REJECT_DROP:
        q->ctx->ops->drop(q->ctx->server, &q->client);
        query_finish(q, QUERY_OUT_DROPPED);
        return false;
    case DNSMSG_REJECT_FORMERR:
        query_reply_rcode(q, DNSMSG_RCODE_FORMERR, QUERY_OUT_FORMERR);
        return false;
    case DNSMSG_REJECT_NOTIMP:
        query_reply_rcode(q, DNSMSG_RCODE_NOTIMP, QUERY_OUT_NOTIMP);
        return false;
    default:
        break;
    }
    int klen = dname_wire_to_key(q->q.qname, q->q.qname_len, q->key, sizeof(q->key));
    if (klen < 0) {
        query_reply_rcode(q, DNSMSG_RCODE_FORMERR, QUERY_OUT_FORMERR);
        return false;
    }
    q->key_len = (size_t)klen;
    return true;
}

void query_receive(void *arg, const struct server_client *client, const uint8_t *pkt, size_t len)
{
    struct query_ctx *ctx = arg;
    if (!query_client_allowed(ctx, client)) {
        dnsroute_counter_add(&ctx->stats.dropped, 1); /* not a query of ours: not received */
        ctx->ops->drop(ctx->server, client);
        return;
    }
    struct query *q = query_alloc(ctx);
    q->client = *client;
    q->len = len;
    if (len > QUERY_BUF_LEN || len < DNSMSG_HEADER_LEN) {
        ctx->ops->drop(ctx->server, client);
        query_finish(q, QUERY_OUT_DROPPED);
        return;
    }
    memcpy(q->buf, pkt, len);
    if (!query_parse(q)) {
        return;
    }
    if (query_logging(q)) {
        query_log_received(q);
    }
    query_route(q);
}

/* dnsmsg_peek_query agrees with the parse on the name, type, class and flags of every query both
 * accept (fuzz_dnsmsg_query checks it) but finds the OPT only right after the question: the tag
 * covers the name length and the CD/DO variant, and a hint is used only when its tag matches. */
uint16_t query_hint_tag(size_t qname_len, uint8_t variant)
{
    return (uint16_t)(1 + variant + 4 * qname_len);
}

/* The cache hash of a query datagram, read straight from its bytes, as query_cache_key will
 * compute it, and its tag; false when it is not a plain one-question query. A hint only:
 * query_parse decides. */
bool query_peek_cache_hash(const uint8_t *pkt, size_t len, uint64_t *hash, uint16_t *tag)
{
    struct dnsmsg_query_peek pq;
    if (!dnsmsg_peek_query(pkt, len, &pq)) {
        return false;
    }
    uint8_t variant = (uint8_t)(((pq.flags & DNSMSG_FLAG_CD) ? CACHE_VARIANT_CD : 0) |
                                (pq.do_bit ? CACHE_VARIANT_DO : 0));
    *hash = cache_hash(pkt + DNSMSG_HEADER_LEN, pq.qname_len, pq.qtype, pq.qclass, variant);
    *tag = query_hint_tag(pq.qname_len, variant);
    return true;
}

void query_prefetch(void *arg, struct server_datagram *d, size_t n)
{
    struct query_ctx *ctx = arg;
    if (ctx->cache == NULL || ctx->cache->max_entries == 0) {
        return;
    }
    uint64_t hashes[64];
    size_t m = 0;
    for (size_t i = 0; i < n && m < sizeof(hashes) / sizeof(hashes[0]); i++) {
        if (query_peek_cache_hash(d[i].pkt, d[i].len, &d[i].hint, &d[i].hint_tag)) {
            hashes[m++] = d[i].hint;
        }
    }
    cache_prefetch(ctx->cache->cache, hashes, m);
}

/* ---- Route: local answers (hosts included), cache, the domain tree, then upstream. */

static void query_route(struct query *q)
{
    const struct conf *c = q->gen->conf;
    /* Local records first, as dnsmasq's answer_request; the check costs one lookup and writes
     * nothing, so the scratch buffer is free for the cache fetch below. */
    if (query_may_answer_records(q) && query_answer_records(q)) {
        return;
    }
    struct cache_hit hit;
    struct query_cached m;
    bool cached = query_cache_fetch(q, &hit, &m);
    if (cached && query_answer_cached_same_conf(q, &hit, &m)) {
        return;
    }
    domtree_lookup(c->tree, q->key, q->key_len, q->q.qtype, &q->route);
    if (query_answer_policy(q)) {
        return;
    }
    /* Stored under another configuration: usable if the name's servers are the same. */
    if (cached && m.route_sig == query_route_signature(q)) {
        query_answer_cached(q, &hit, &m);
        return;
    }
    query_forward(q);
}

/* ---- Cache (dnsmasq cache.c semantics: cached types, TTL bounds, negative answers). */

/* The key: the question and the EDNS bits that change an answer; the route is checked on a hit
 * (query_route), so a name has one entry whatever servers it came through. Built once per
 * query, by the lookup, and used again to store the reply of a miss. */
static const struct cache_key *query_cache_key(struct query *q)
{
    if (!q->has_cache_key) {
        uint8_t variant = (uint8_t)((q->q.edns.do_bit ? CACHE_VARIANT_DO : 0) |
                                    ((q->q.flags & DNSMSG_FLAG_CD) ? CACHE_VARIANT_CD : 0));
        if (q->client.hint_tag == query_hint_tag(q->q.qname_len, variant)) {
            /* query_prefetch hashed this very question (query_hint_tag says why the check) */
            cache_key_init_hashed(&q->cache_key, q->q.qname, q->q.qname_len, q->q.qtype,
                                  q->q.qclass, variant, q->client.hint);
        } else {
            cache_key_init(&q->cache_key, q->q.qname, q->q.qname_len, q->q.qtype, q->q.qclass,
                           variant);
        }
        q->has_cache_key = true;
    }
    return &q->cache_key;
}

/* Looks the question up in the cache; a hit is copied into the scratch buffer (reply), the TTL
 * offsets buffer and *m, for query_answer_cached. */
static bool query_cache_fetch(struct query *q, struct cache_hit *hit, struct query_cached *m)
{
    struct query_cache *qc = q->ctx->cache;
    if (qc->max_entries == 0) {
        return false; /* cache-size=0: no lock, no hashing on the hot path */
    }
    uint32_t stale_s = q->gen->conf->stale_cache_s;
    *hit = (struct cache_hit){.reply = query_scratch(q->ctx),
                              .reply_cap = QUERY_REPLY_CAP - 64,
                              .ttl_offs = q->ctx->ttl_offs,
                              .ttl_cap = QUERY_TTLS_MAX,
                              .meta = m,
                              .stale_ms = stale_s == CONF_STALE_FOREVER ? UINT64_MAX
                                                                        : (uint64_t)stale_s * 1000};
    return cache_lookup(qc->cache, query_cache_key(q), uv_now(q->ctx->loop), hit) &&
           hit->meta_len == sizeof(*m);
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

/* ---- use-stale-cache (dnsmasq 2.88+ receive_query/tcp_request): an entry expired less than
 * MAX seconds ago is served at once with TTL 0 (and an RFC 8914 "stale answer" EDE for an EDNS
 * client), and the query is forwarded anyway to refresh it; the refresh has no client, and its
 * reply is cached, logged and added to the sets as any other. One refresh per entry at a time. */

/* The refresh of the stale entry q is answered from: a copy of q without a client, routed
 * afresh (the hit may have skipped the domain tree); NULL when the name is no longer forwarded.
 * query_answer_stale forwards it once q's answer has left the scratch buffer. */
static struct query *query_refresh_new(const struct query *q)
{
    struct query *r = query_alloc(q->ctx);
    q->ctx->stats.received--; /* not a query a client sent */
    r->refresh = true;
    r->client = q->client;
    r->serial = q->serial;
    r->udp_limit = 0;
    memcpy(r->buf, q->buf, q->len);
    r->len = q->len;
    r->q = q->q;
    memcpy(r->key, q->key, q->key_len + 1);
    r->key_len = q->key_len;
    r->cache_key = q->cache_key;
    r->has_cache_key = q->has_cache_key;
    domtree_lookup(r->gen->conf->tree, r->key, r->key_len, r->q.qtype, &r->route);
    if (r->route.action != DOMTREE_FORWARD) {
        query_finish(r, QUERY_OUT_DROPPED); /* the configuration changed: nothing to refresh */
        return NULL;
    }
    return r;
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
    q->cache_hit = true;
    query_relay(q, pkt, hit->len, &m->reply, true);
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
    q->cache_hit = true;
    query_relay(q, pkt, hit->len, &m->reply, true);
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

static bool query_cacheable_type(uint16_t qtype)
{
    return qtype == DNSMSG_TYPE_A || qtype == DNSMSG_TYPE_AAAA || qtype == DNSMSG_TYPE_CNAME ||
           qtype == DNSMSG_TYPE_SRV || qtype == DNSMSG_TYPE_PTR;
}

/* The TTL a negative reply (NXDOMAIN, NODATA) is cached with: the SOA's, else neg-ttl; -1 for
 * "do not cache". */
static int64_t query_cache_neg_ttl(const struct conf *c, const uint8_t *pkt, size_t len,
                                   const struct dnsmsg_reply *r)
{
    uint32_t ttl = 0;
    if (c->no_negcache) {
        return -1;
    }
    if (dnsmsg_neg_ttl(pkt, len, r, &ttl) < 0) {
        /* no SOA: cached only with neg-ttl */
        return c->neg_ttl_s != 0 ? (int64_t)c->neg_ttl_s : -1;
    }
    return ttl;
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
    if (r->rcode == DNSMSG_RCODE_NXDOMAIN ||
        (r->rcode == DNSMSG_RCODE_NOERROR && r->ancount == 0)) {
        return query_cache_neg_ttl(c, pkt, len, r);
    }
    if (r->rcode != DNSMSG_RCODE_NOERROR || dnsmsg_min_ttl(pkt, len, r, &ttl) < 0) {
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

/* Stores a checked upstream reply with its TTL offsets, parse and route, under the key the
 * lookup built. */
static void query_cache_store(struct query *q, const uint8_t *pkt, size_t len,
                              const struct dnsmsg_reply *r)
{
    int64_t ttl_s = q->ctx->cache->max_entries ? query_cache_ttl(q, pkt, len, r) : -1;
    if (ttl_s < 0 || (ttl_s == 0 && q->gen->conf->stale_cache_s == 0)) {
        return;
    }
    int n = dnsmsg_ttl_offsets(pkt, len, r, q->ctx->ttl_offs, QUERY_TTLS_MAX);
    if (n < 0) {
        return;
    }
    struct query_cached m = {*r, q->gen->conf_serial, query_route_signature(q), q->route.ipset_list,
                             q->route.nftset_list};
    struct cache_value v = {pkt, len, q->ctx->ttl_offs, (size_t)n, &m, sizeof(m), ttl_s == 0};
    cache_insert(q->ctx->cache->cache, query_cache_key(q), &v, (uint32_t)ttl_s,
                 uv_now(q->ctx->loop));
}

/* ---- Upstream: send, and take the outcome. */

static void on_upstream_done(struct upstream_req *req, int status, const struct dnsmsg_view *reply,
                             uint32_t server_id);

/* dns-forward-max reached: REFUSED, and a rate-limited warning. */
static void query_refuse_full(struct query *q)
{
    if (log_ratelimit_pass(&q->ctx->full_log, uv_now(q->ctx->loop))) {
        log_warn("Maximum number of concurrent DNS queries reached (max: %u)",
                 q->gen->conf->dns_forward_max);
    }
    query_reply_rcode(q, DNSMSG_RCODE_REFUSED, QUERY_OUT_REFUSED_FULL);
}

static void query_forward(struct query *q)
{
    const struct conf *c = q->gen->conf;
    /* c-ares 1.18.1 reads UDP answers into a 4097-byte buffer: never invite larger ones. */
    uint16_t size =
        c->edns_packet_max < QUERY_UPSTREAM_EDNS_MAX ? c->edns_packet_max : QUERY_UPSTREAM_EDNS_MAX;
    int len = dnsmsg_query_set_edns(q->buf, q->len, sizeof(q->buf), &q->q, size);
    if (len < 0) {
        query_reply_rcode(q, DNSMSG_RCODE_FORMERR, QUERY_OUT_FORMERR);
        return;
    }
    int rc =
        q->ctx->ops->upstream_send(q->gen->upstream, q->route.group, q->buf, (size_t)len,
                                   q->client.transport == SERVER_TCP, &q->up, on_upstream_done);
    if (rc == ERR_FULL) {
        query_refuse_full(q);
        return;
    }
    if (rc < 0) {
        query_reply_rcode(q, DNSMSG_RCODE_REFUSED, QUERY_OUT_REFUSED);
        return;
    }
    q->forwarded = true;
    if (query_logging(q)) {
        query_log_forwarded(q);
    }
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
        query_reply_rcode(q, DNSMSG_RCODE_SERVFAIL, QUERY_OUT_SERVFAIL);
        return;
    }
    /* upstream parsed and checked the reply against this query: not parsed again. */
    uint8_t *pkt = query_scratch(q->ctx);
    memcpy(pkt, reply->pkt, reply->len);
    struct dnsmsg_reply r = reply->reply;
    query_relay(q, pkt, reply->len, &r, false);
}

/* ---- Relay: check the reply, cache it, queue its addresses, rewrite it for the client. */

/* An A/AAAA record inside one of the bogus-nxdomain= prefixes of the configuration arg (1
 * ends the walk). */
static int on_rr_bogus(const uint8_t *pkt, const struct dnsmsg_rr *rr, void *arg)
{
    const struct conf *c = arg;
    int family = rr->type == DNSMSG_TYPE_A && rr->rdlen == 4       ? AF_INET
                 : rr->type == DNSMSG_TYPE_AAAA && rr->rdlen == 16 ? AF_INET6
                                                                   : 0;
    return family != 0 && prefixset_has(c->bogus_set, family, pkt + rr->rdata_off);
}

/* A record of the type *arg (filter-AAAA/filter-A have work to do; 1 ends the walk). */
static int on_rr_has_type(const uint8_t *pkt, const struct dnsmsg_rr *rr, void *arg)
{
    (void)pkt;
    return rr->type == *(const uint16_t *)arg;
}

/* dnsmasq bogus-nxdomain: any A/AAAA in the answer section inside a listed prefix. A cached
 * reply was checked when it was stored (its entry carries the list's signature in its route
 * signature). */
static bool query_is_bogus(const struct conf *c, const uint8_t *pkt, size_t len,
                           const struct dnsmsg_reply *r)
{
    return c->bogus_nxdomain_count != 0 &&
           dnsmsg_walk_answers(pkt, len, r, on_rr_bogus, (void *)c) == 1;
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
    struct dnsmsg_addr *addrs = q->ctx->addrs;
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

/* Answers in place of an answer that must not reach the client (bogus-nxdomain, rebind);
 * false when the answer passes. */
static bool query_relay_vetoed(struct query *q, const uint8_t *pkt, size_t len,
                               const struct dnsmsg_reply *r, bool from_cache)
{
    if (!from_cache && query_is_bogus(q->gen->conf, pkt, len, r)) {
        if (query_logging(q)) {
            /* dnsmasq 2.90 logs a bogus-nxdomain hit as a config answer. */
            query_log(q, "config %s is %s", query_name(q), "NXDOMAIN");
        }
        query_reply_rcode(q, DNSMSG_RCODE_NXDOMAIN, QUERY_OUT_BOGUS);
        return true;
    }
    if (query_is_rebind(q, pkt, len, r)) {
        /* dnsmasq process_reply: the records go, the rcode stays (an empty NOERROR). */
        log_warn("possible DNS-rebind attack detected: %s", query_name(q));
        query_reply_rcode(q, DNSMSG_RCODE_NOERROR, QUERY_OUT_RELAYED);
        return true;
    }
    return false;
}

/* Queues one address for every set of one ipset=/nftset= list. */
static void query_add_to_setlist(struct query *q, uint32_t list, const struct dnsmsg_addr *a)
{
    const struct conf *c = q->gen->conf;
    const struct conf_setlist *sl = &c->setlists[list];
    int family = a->len == 16 ? AF_INET6 : AF_INET;
    for (uint32_t k = 0; k < sl->count; k++) {
        uint32_t set_id = c->setlist_items[sl->first + k];
        if (q->ctx->ops->set_add(q->gen->nlset, set_id, family, a->addr, a->ttl_s) == 0) {
            q->set_additions++;
        }
    }
}

/* Queues the answer's addresses (the CNAME chain from the question name) for every set of the
 * question name's ipset= and nftset= lists (dnsmasq extract_addresses). */
static void query_add_to_sets(struct query *q, const uint8_t *pkt, size_t len,
                              const struct dnsmsg_reply *r)
{
    uint32_t lists[2] = {q->route.ipset_list, q->route.nftset_list};
    if (q->gen->nlset == NULL || (lists[0] == DOMTREE_NONE && lists[1] == DOMTREE_NONE)) {
        return;
    }
    struct dnsmsg_addr *addrs = q->ctx->addrs;
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

/* dnsmasq filter-AAAA/filter-A (rrfilter, after the sets got the addresses): only records of
 * the filtered type go, so NXDOMAIN, SERVFAIL, TC and NODATA replies pass unchanged (they were
 * all turned into NOERROR here before; found by tests/e2e/test_dns_options.sh). True when it
 * answered NODATA in place of the reply. */
static bool query_relay_filtered(struct query *q, const uint8_t *pkt, size_t len,
                                 const struct dnsmsg_reply *r)
{
    const struct conf *c = q->gen->conf;
    uint16_t filtered = c->filter_aaaa && q->q.qtype == DNSMSG_TYPE_AAAA ? DNSMSG_TYPE_AAAA
                        : c->filter_a && q->q.qtype == DNSMSG_TYPE_A     ? DNSMSG_TYPE_A
                                                                         : 0;
    if (filtered == 0 || dnsmsg_walk_answers(pkt, len, r, on_rr_has_type, &filtered) != 1) {
        return false;
    }
    /* Differs from dnsmasq: its rrfilter keeps the other records (a CNAME chain, the authority
     * section); this NODATA has none. The client sees NODATA either way. */
    if (query_logging(q)) {
        query_log(q, "config %s is %s", query_name(q),
                  filtered == DNSMSG_TYPE_AAAA ? "NODATA-IPv6" : "NODATA-IPv4");
    }
    query_reply_rcode(q, DNSMSG_RCODE_NOERROR, QUERY_OUT_RELAYED);
    return true;
}

/* The client's EDNS answer (our OPT when it sent one) and its UDP size, then the reply leaves. */
static void query_relay_send(struct query *q, uint8_t *pkt, size_t len, struct dnsmsg_reply *r)
{
    const struct conf *c = q->gen->conf;
    int n = dnsmsg_reply_set_edns(pkt, len, QUERY_REPLY_CAP, r, &q->q.edns, c->edns_packet_max);
    if (n == ERR_FULL) {
        /* A TCP answer within 11 bytes of 65,535 has no room for the OPT the client sent: it is
         * relayed without one (RFC 6891 §7 lets a client cope with a reply without OPT) rather
         * than lost to a SERVFAIL. Over UDP it is truncated below anyway. */
        n = (int)len;
    }
    if (n < 0) {
        query_reply_rcode(q, DNSMSG_RCODE_SERVFAIL, QUERY_OUT_SERVFAIL);
        return;
    }
    len = query_stale_ede(q, pkt, (size_t)n, r);
    if (q->udp_limit != 0 && len > q->udp_limit) {
        len = (size_t)dnsmsg_reply_truncate(pkt, len, r, q->udp_limit);
        q->truncated = true;
    }
    query_reply(q, pkt, len, QUERY_OUT_RELAYED);
}

/* Rewrites a reply checked against the query (r: its parse) for the client and queues it:
 * header, vetoes, cache, sets, filters, log, EDNS and size. */
static void query_relay(struct query *q, uint8_t *pkt, size_t len, struct dnsmsg_reply *r,
                        bool from_cache)
{
    const struct conf *c = q->gen->conf;
    dnsmsg_set_id(pkt, q->q.id);
    /* dnsmasq process_reply: RA on; AD off (we do not validate) unless proxy-dnssec trusts the
     * upstream's validation (RFC 4035 section 4.6). */
    dnsmsg_set_flags(pkt, DNSMSG_FLAG_RA, c->proxy_dnssec ? 0 : DNSMSG_FLAG_AD);
    if (r->rcode == DNSMSG_RCODE_NXDOMAIN && !r->tc && !from_cache && query_name_is_local(q)) {
        /* dnsmasq process_reply: a name known locally (forwarded for a type it has no data of)
         * exists, whatever upstream says: NODATA, authoritative. */
        dnsmsg_set_rcode(pkt, DNSMSG_RCODE_NOERROR);
        dnsmsg_set_flags(pkt, DNSMSG_FLAG_AA, 0);
        r->rcode = DNSMSG_RCODE_NOERROR;
    }
    bool answer = (r->rcode == DNSMSG_RCODE_NOERROR) && !r->tc;
    if (answer && query_relay_vetoed(q, pkt, len, r, from_cache)) {
        return;
    }
    if (!from_cache) {
        query_cache_store(q, pkt, len, r);
        if (c->max_ttl_s != 0) {
            dnsmsg_rewrite_ttls(pkt, len, r, 0, c->max_ttl_s);
        }
    }
    if (answer && q->q.qclass == DNSMSG_CLASS_IN && (!from_cache || !c->no_set_refresh)) {
        query_add_to_sets(q, pkt, len, r);
    }
    if (answer && query_relay_filtered(q, pkt, len, r)) {
        return;
    }
    if (query_logging(q)) {
        query_log_reply(q, pkt, len, r,
                        !from_cache ? "reply"
                        : q->stale  ? "cached-stale"
                                    : "cached");
    }
    query_relay_send(q, pkt, len, r);
}

/* ---- Reply, and the one exit. */

void query_reply(struct query *q, const uint8_t *pkt, size_t len, enum query_outcome outcome)
{
    if (!q->refresh) {
        q->ctx->ops->reply(q->ctx->server, &q->client, pkt, len);
    }
    query_finish(q, outcome);
}

void query_reply_built(struct query *q, const uint8_t *out, int len, enum query_outcome outcome)
{
    if (len < 0) {
        if (!q->refresh) {
            q->ctx->ops->drop(q->ctx->server, &q->client);
        }
        query_finish(q, QUERY_OUT_DROPPED);
        return;
    }
    query_reply(q, out, (size_t)len, outcome);
}

void query_reply_rcode(struct query *q, uint8_t rcode, enum query_outcome outcome)
{
    uint8_t *out = query_scratch(q->ctx);
    int len = dnsmsg_write_rcode(out, QUERY_REPLY_CAP, &q->q, rcode, q->gen->conf->edns_packet_max);
    query_reply_built(q, out, len, outcome);
}

/* Counts one query's outcome and what happened on its way (its arrival was counted by
 * query_alloc). */
static void query_count(struct query_stats *s, const struct query *q, enum query_outcome outcome)
{
    uint64_t *by_outcome[] = {
        [QUERY_OUT_DROPPED] = &s->dropped,           [QUERY_OUT_LOCAL] = &s->answered_locally,
        [QUERY_OUT_RELAYED] = &s->replies,           [QUERY_OUT_SERVFAIL] = &s->servfail,
        [QUERY_OUT_FORMERR] = &s->formerr,           [QUERY_OUT_NOTIMP] = &s->notimp,
        [QUERY_OUT_REFUSED_FULL] = &s->refused_full, [QUERY_OUT_REFUSED] = &s->refused,
        [QUERY_OUT_BOGUS] = &s->bogus_nxdomain,
    };
    dnsroute_counter_add(by_outcome[outcome], 1);
    dnsroute_counter_add(&s->forwarded, q->forwarded);
    dnsroute_counter_add(&s->cache_hits, q->cache_hit);
    dnsroute_counter_add(&s->truncated, q->truncated);
    dnsroute_counter_add(&s->set_additions, q->set_additions);
    dnsroute_counter_add(&s->stale_answers, q->stale);
}

void query_finish(struct query *q, enum query_outcome outcome)
{
    struct query_ctx *ctx = q->ctx;
    if (q->refresh) {
        /* The refresh is over, answered or not: the entry may ask for another. Not a client's
         * query: only its forwarding and set additions count. */
        cache_refresh_end(ctx->cache->cache, query_cache_key(q));
        dnsroute_counter_add(&ctx->stats.forwarded, q->forwarded);
        dnsroute_counter_add(&ctx->stats.set_additions, q->set_additions);
    } else {
        query_count(&ctx->stats, q, outcome);
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
