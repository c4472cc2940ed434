/* upstream.c - forwarding of one prepared query to an upstream group, between query.c (which
 * calls upstream_send and gets one callback) and the c-ares channels of upstream_chan.c.
 * Reproduces dnsmasq 2.92's selection (forward.c forward_query/reply_query): last_server per
 * group with forwardall re-probing, --strict-order, --all-servers, failover on SERVFAIL, REFUSED
 * and timeouts within a time budget, dns-forward-max, random unique query IDs, and the one
 * parse of each answer (dnsmsg_parse_reply against the query), handed to the caller with it. */
#include "upstream_impl.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "dnsroute/compat.h"
#include "dnsroute/dnsmsg.h"
#include "dnsroute/err.h"
#include "dnsroute/log.h"
#include "dnsroute/mem.h"

enum { UPSTREAM_DEFAULT_FORWARD_MAX = 150, UPSTREAM_DEFAULT_TRY_MS = 1000 };
enum { UPSTREAM_DEFAULT_TOTAL_MS = 5000 };

static void req_send_round(struct upstream_req *r);

/* --- time and randomness ---------------------------------------------------------------------- */

/* The loop's time: libuv sets it when a turn's events come back from the poll (and
 * upstream_send when a request starts), so it is late at most by the turn's processing, well
 * under the millisecond granularity of the timeouts and latencies; taken ~4 times per forwarded
 * query, it costs no clock read. */
uint64_t upstream_now_ms(struct upstream *u)
{
    return uv_now(u->loop);
}

/* Refills the buffer from the kernel's CSPRNG; getrandom() without flags only blocks before the
 * pool is initialised at boot. */
static void upstream_refill_random(struct upstream *u)
{
    size_t got = 0;
    while (got < sizeof(u->rand_buf)) {
        ssize_t n = getrandom(u->rand_buf + got, sizeof(u->rand_buf) - got, 0);
        if (n > 0) {
            got += (size_t)n;
            continue;
        }
        DNSROUTE_REQUIRE(errno == EINTR);
    }
    u->rand_pos = 0;
}

/* 32 unpredictable bits, 64 draws per getrandom() call. */
uint32_t upstream_random(struct upstream *u)
{
    if (u->rand_pos + sizeof(uint32_t) > sizeof(u->rand_buf)) {
        upstream_refill_random(u);
    }
    uint32_t v;
    memcpy(&v, u->rand_buf + u->rand_pos, sizeof(v));
    u->rand_pos += sizeof(v);
    return v;
}

static bool id_bit(const uint64_t *map, uint16_t id)
{
    return (map[id / 64] >> (id % 64)) & 1;
}

static void id_bit_set(uint64_t *map, uint16_t id, bool on)
{
    uint64_t bit = (uint64_t)1 << (id % 64);
    map[id / 64] = on ? map[id / 64] | bit : map[id / 64] & ~bit;
}

/* A random ID no request or attempt in flight holds; false when none was found quickly. The
 * in-use bitmap (8 KB) stays in the CPU cache; the counts are touched only for shared IDs. */
static bool upstream_take_id(struct upstream *u, uint16_t *out)
{
    for (int i = 0; i < 64; i++) {
        uint16_t id = (uint16_t)upstream_random(u);
        if (!id_bit(u->id_used, id)) {
            id_bit_set(u->id_used, id, true);
            *out = id;
            return true;
        }
    }
    return false;
}

/* One more holder of id, which is in use (an attempt sharing its request's ID). */
static void upstream_share_id(struct upstream *u, uint16_t id)
{
    DNSROUTE_REQUIRE(id_bit(u->id_used, id));
    if (!id_bit(u->id_shared, id)) {
        id_bit_set(u->id_shared, id, true);
        u->id_refs[id] = 2;
    } else {
        u->id_refs[id]++;
    }
}

static void upstream_put_id(struct upstream *u, uint16_t id)
{
    DNSROUTE_REQUIRE(id_bit(u->id_used, id));
    if (!id_bit(u->id_shared, id)) {
        id_bit_set(u->id_used, id, false);
    } else if (--u->id_refs[id] == 1) {
        id_bit_set(u->id_shared, id, false);
    }
}

/* --- blocks ----------------------------------------------------------------------------------- */

void *upstream_block_alloc(struct upstream *u, size_t size)
{
    struct upstream_block *b = u->free_blocks;
    if (size <= UPSTREAM_BLOCK_CAP && b != NULL) {
        u->free_blocks = b->next;
        u->free_block_count--;
        return b->data;
    }
    size_t cap = size <= UPSTREAM_BLOCK_CAP ? UPSTREAM_BLOCK_CAP : size;
    b = mem_alloc(sizeof(*b) + cap);
    b->cap = cap;
    return b->data;
}

void upstream_block_free(struct upstream *u, void *p)
{
    if (p == NULL) {
        return;
    }
    struct upstream_block *b = DNSROUTE_CONTAINER_OF(p, struct upstream_block, data);
    if (b->cap != UPSTREAM_BLOCK_CAP || u->free_block_count >= UPSTREAM_FREE_BLOCKS_MAX ||
        u->freeing) {
        free(b);
        return;
    }
    b->next = u->free_blocks;
    u->free_blocks = b;
    u->free_block_count++;
}

/* --- requests --------------------------------------------------------------------------------- */

static uint8_t *req_tried_map(struct upstream_req *r)
{
    return r->query + r->len;
}

static const uint32_t *req_group_servers(const struct upstream_req *r, uint32_t *count)
{
    const struct upstream *u = r->u;
    return u->cfg.group_servers(u->cfg.group_ctx, r->group, count);
}

static void req_unlink(struct upstream_req *r)
{
    struct upstream *u = r->u;
    if (r->prev != NULL) {
        r->prev->next = r->next;
    } else {
        u->head = r->next;
    }
    if (r->next != NULL) {
        r->next->prev = r->prev;
    } else {
        u->tail = r->prev;
    }
    r->prev = r->next = NULL;
}

/* Lets the attempts still in c-ares run out on their own; their answers will be dropped. */
static void req_orphan_attempts(struct upstream_req *r)
{
    for (struct upstream_attempt *a = r->attempts; a != NULL; a = a->next) {
        a->req = NULL;
    }
    r->attempts = NULL;
}

/* Ends a request's life in upstream: everything but its callback and the held answer. */
static void req_release(struct upstream_req *r)
{
    struct upstream *u = r->u;
    req_orphan_attempts(r);
    req_unlink(r);
    upstream_put_id(u, r->id);
    u->groups[r->group].inflight--;
    u->inflight--;
    upstream_block_free(u, r->parsed);
    r->parsed = NULL;
    r->query = NULL;
    r->active = false;
}

/* Runs the caller's callback; r may be gone afterwards. */
static void req_finish(struct upstream_req *r, int status, const struct dnsmsg_view *reply,
                       uint32_t server)
{
    upstream_done_cb *cb = r->cb;
    uint8_t *held = r->held;
    r->held = NULL;
    req_release(r);
    cb(r, status, reply, server);
    free(held);
}

/* Finishes with the held answer if there is one, else with status. */
static void req_finish_held(struct upstream_req *r, int status)
{
    if (r->held != NULL) {
        struct dnsmsg_view v = {r->held, r->held_len, r->held_reply};
        req_finish(r, 0, &v, r->held_server);
    } else {
        req_finish(r, status, NULL, UINT32_MAX);
    }
}

/* Keeps a copy of the answer v from server (req_finish_held delivers it). */
static void req_keep(struct upstream_req *r, const struct dnsmsg_view *v, uint32_t server)
{
    r->held = mem_realloc(r->held, v->len);
    memcpy(r->held, v->pkt, v->len);
    r->held_len = v->len;
    r->held_reply = v->reply;
    r->held_server = server;
}

/* Finishes r on the next loop turn (never inside upstream_send()). */
static void req_defer(struct upstream_req *r, int status)
{
    struct upstream *u = r->u;
    req_orphan_attempts(r);
    req_unlink(r);
    r->status = status;
    r->deferred = true;
    r->next_deferred = NULL;
    struct upstream_req **pp = &u->deferred;
    while (*pp != NULL) {
        pp = &(*pp)->next_deferred;
    }
    *pp = r;
    upstream_defer_start(u);
}

static void on_defer(uv_timer_t *timer)
{
    struct upstream *u = DNSROUTE_CONTAINER_OF(timer, struct upstream, defer);
    upstream_chan_flush_unsent(u);
    /* Only those deferred before this turn: a callback that sends again and fails again at once
     * is served on the next turn, not in a loop here. */
    size_t n = 0;
    for (struct upstream_req *r = u->deferred; r != NULL; r = r->next_deferred) {
        n++;
    }
    for (; n > 0 && u->deferred != NULL; n--) {
        struct upstream_req *r = u->deferred;
        u->deferred = r->next_deferred;
        r->deferred = false;
        /* Re-link so req_release's unlink is balanced. */
        r->prev = u->tail;
        r->next = NULL;
        if (u->tail != NULL) {
            u->tail->next = r;
        } else {
            u->head = r;
        }
        u->tail = r;
        req_finish_held(r, r->status);
    }
}

void upstream_defer_start(struct upstream *u)
{
    if (!uv_is_active((uv_handle_t *)&u->defer)) {
        uv_timer_start(&u->defer, on_defer, 0, 0);
    }
}

/* Sends r to the server at position pos of its group; false if no attempt could be started. */
static bool req_send_to(struct upstream_req *r, const uint32_t *servers, uint32_t pos)
{
    struct upstream *u = r->u;
    struct upstream_attempt *a = u->free_attempts;
    if (a != NULL) {
        u->free_attempts = a->next;
    } else {
        a = mem_alloc(sizeof(*a));
    }
    memset(a, 0, sizeof(*a));
    a->req = r;
    a->server = servers[pos];
    a->pos = pos;
    /* Each attempt carries its own ID (where c-ares does not choose one itself, before 1.22):
     * a retry from another socket must not make an answer with the first attempt's ID count
     * there, nor the other way round. The request's ID is the fallback when none is free. */
    a->req_id = r->id;
    if (!upstream_take_id(u, &a->id)) {
        a->id = r->id;
        upstream_share_id(u, r->id);
    }
    r->query[0] = (uint8_t)(a->id >> 8);
    r->query[1] = (uint8_t)a->id;
    a->sent_ms = upstream_now_ms(u);
    a->next = r->attempts;
    r->attempts = a;
    req_tried_map(r)[pos / 8] |= (uint8_t)(1u << (pos % 8));
    struct upstream_server_stats *st = &u->servers[a->server].stats;
    dnsroute_counter_add(&st->sent, 1);
    dnsroute_counter_add(&st->retried, r->sent_initial ? 1 : 0);
    int rc = upstream_chan_send(u, a, r->query, r->len, r->tcp);
    if (rc != 0) {
        log_warn("upstream: cannot send to server %u: %s", (unsigned)a->server, err_str(rc));
        r->attempts = a->next;
        upstream_put_id(u, a->id);
        a->next = u->free_attempts;
        u->free_attempts = a;
        dnsroute_counter_add(&st->failed, 1);
        return false;
    }
    /* A synchronous c-ares failure has already released the attempt. */
    return r->attempts == a;
}

static bool req_tried(struct upstream_req *r, uint32_t pos)
{
    return (req_tried_map(r)[pos / 8] >> (pos % 8) & 1) != 0;
}

/* Sends r to the servers of its group it has not tried this round: all of them (forwardall),
 * or the next one in order (strict-order, or a single server). Returns the number started. */
static uint32_t req_send_untried(struct upstream_req *r)
{
    uint32_t count = 0, started = 0;
    const uint32_t *servers = req_group_servers(r, &count);
    r->sending = true;
    /* A request answered inside the loop (see upstream_attempt_done) is deferred: stop. */
    for (uint32_t pos = 0; pos < count && !r->deferred; pos++) {
        if (req_tried(r, pos)) {
            continue;
        }
        if (req_send_to(r, servers, pos)) {
            started++;
            if (!r->forwardall) {
                break;
            }
        }
    }
    r->sending = false;
    return started;
}

/* Called when an attempt of r failed or brought SERVFAIL/REFUSED and nothing better came: waits
 * for the other attempts, then tries the untried servers, then another round within the
 * budget, then gives up with the held answer or status. */
static void req_after_failure(struct upstream_req *r, int status)
{
    struct upstream *u = r->u;
    if (r->attempts != NULL || r->sending || r->deferred) {
        return;
    }
    r->forwardall = !u->cfg.strict_order;
    if (req_send_untried(r) > 0) {
        return;
    }
    /* Another pass only while the budget allows a whole try, so a server that fails at once
     * is not asked in a tight loop. */
    uint32_t max_rounds =
        (u->cfg.total_timeout_ms + u->cfg.try_timeout_ms - 1) / u->cfg.try_timeout_ms;
    if (r->held == NULL && r->round + 1 < max_rounds && upstream_now_ms(u) < r->deadline_ms) {
        req_send_round(r);
        if (r->attempts != NULL) {
            return;
        }
    }
    req_defer(r, status);
}

/* Starts a new pass over the group: every server again (default mode, all-servers) or the
 * first one (strict-order). */
static void req_send_round(struct upstream_req *r)
{
    uint32_t count = 0;
    (void)req_group_servers(r, &count);
    memset(req_tried_map(r), 0, (count + 7) / 8);
    r->round++;
    r->forwardall = !r->u->cfg.strict_order;
    (void)req_send_untried(r);
}

/* The first send of a request: dnsmasq's forward_query server choice. */
static void req_send_first(struct upstream_req *r)
{
    struct upstream *u = r->u;
    struct upstream_group *g = &u->groups[r->group];
    uint64_t now = upstream_now_ms(u);
    uint32_t count = 0;
    const uint32_t *servers = req_group_servers(r, &count);
    if (u->cfg.strict_order) {
        r->forwardall = false;
    } else if (u->cfg.all_servers || g->last_server < 0 ||
               g->forward_count++ > UPSTREAM_FORWARD_TEST ||
               now - g->forward_time_ms > UPSTREAM_FORWARD_TIME_MS) {
        r->forwardall = true;
        g->forward_count = 0;
        g->forward_time_ms = now;
    } else {
        r->forwardall = false;
        r->sending = true;
        bool ok = req_send_to(r, servers, (uint32_t)g->last_server);
        r->sending = false;
        if (ok) {
            r->sent_initial = true;
            return;
        }
    }
    if (req_send_untried(r) > 0) {
        r->sent_initial = true;
        return;
    }
    r->sent_initial = true;
    req_after_failure(r, -ECONNREFUSED);
}

int upstream_send(struct upstream *u, uint32_t group, const uint8_t *query, size_t len, bool tcp,
                  struct upstream_req *req, upstream_done_cb *cb)
{
    uint32_t count = 0;
    if (group >= u->cfg.group_count ||
        u->cfg.group_servers(u->cfg.group_ctx, group, &count) == NULL || count == 0) {
        return ERR_NOT_FOUND;
    }
    struct dnsmsg_query parsed;
    if (dnsmsg_parse_query(&parsed, query, len) != 0 || parsed.reject != DNSMSG_REJECT_NONE) {
        return ERR_MALFORMED;
    }
    struct upstream_group *g = &u->groups[group];
    if (g->inflight >= u->cfg.dns_forward_max) {
        return ERR_FULL;
    }
    memset(req, 0, sizeof(*req));
    if (!upstream_take_id(u, &req->id)) {
        return ERR_FULL;
    }
    req->u = u;
    req->cb = cb;
    req->group = group;
    req->tcp = tcp;
    req->len = len;
    req->parsed = upstream_block_alloc(u, sizeof(*req->parsed) + len + (count + 7) / 8);
    *req->parsed = parsed;
    req->query = (uint8_t *)(req->parsed + 1);
    memcpy(req->query, query, len);
    memset(req_tried_map(req), 0, (count + 7) / 8);
    req->query[0] = (uint8_t)(req->id >> 8);
    req->query[1] = (uint8_t)req->id;
    /* The one clock read of a request: upstream_send may be called outside a loop turn. */
    uv_update_time(u->loop);
    req->start_ms = upstream_now_ms(u);
    req->deadline_ms = req->start_ms + u->cfg.total_timeout_ms;
    req->active = true;
    req->prev = u->tail;
    if (u->tail != NULL) {
        u->tail->next = req;
    } else {
        u->head = req;
    }
    u->tail = req;
    g->inflight++;
    u->inflight++;
    req_send_first(req);
    return 0;
}

void upstream_cancel(struct upstream_req *req)
{
    if (!req->active) {
        return;
    }
    struct upstream *u = req->u;
    if (req->deferred) {
        struct upstream_req **pp = &u->deferred;
        while (*pp != req) {
            pp = &(*pp)->next_deferred;
        }
        *pp = req->next_deferred;
        req->deferred = false;
    } else {
        req_unlink(req);
    }
    req_orphan_attempts(req);
    upstream_put_id(u, req->id);
    u->groups[req->group].inflight--;
    u->inflight--;
    upstream_block_free(u, req->parsed);
    free(req->held);
    req->parsed = NULL;
    req->query = NULL;
    req->held = NULL;
    req->active = false;
}

/* --- answers ---------------------------------------------------------------------------------- */

static void attempt_release(struct upstream *u, struct upstream_attempt *a)
{
    struct upstream_req *r = a->req;
    if (r != NULL) {
        struct upstream_attempt **pp = &r->attempts;
        while (*pp != a) {
            pp = &(*pp)->next;
        }
        *pp = a->next;
    }
    upstream_put_id(u, a->id);
    a->next = u->free_attempts;
    u->free_attempts = a;
}

static void stats_answer(struct upstream *u, uint32_t server, uint64_t sent_ms, uint8_t rcode)
{
    struct upstream_server *srv = &u->servers[server];
    dnsroute_counter_add(&srv->stats.answered, 1);
    dnsroute_counter_add(&srv->stats.nxdomain, rcode == DNSMSG_RCODE_NXDOMAIN ? 1 : 0);
    dnsroute_counter_add(&srv->latency_sum_ms, upstream_now_ms(u) - sent_ms);
}

/* A SERVFAIL or REFUSED: kept, and the other servers get their chance (2.92+ semantics). */
static void req_hold(struct upstream_req *r, const struct upstream_attempt *a,
                     const struct dnsmsg_view *v, uint8_t rcode)
{
    struct upstream_group *g = &r->u->groups[r->group];
    if (rcode == DNSMSG_RCODE_REFUSED && g->last_server == (int32_t)a->pos) {
        g->last_server = -1;
    }
    req_keep(r, v, a->server);
    if (!r->u->cfg.strict_order) {
        r->forwardall = true;
    }
}

void upstream_attempt_done(struct upstream_attempt *a, int ares_status, const uint8_t *abuf,
                           size_t alen)
{
    struct upstream *u = a->chan->u;
    struct upstream_req *r = a->req;
    struct upstream_attempt done = *a;
    attempt_release(u, a);
    bool answered = ares_status == ARES_SUCCESS && abuf != NULL;
    if (!answered) {
        if (ares_status != ARES_EDESTRUCTION && ares_status != ARES_ECANCELLED) {
            dnsroute_counter_add(&u->servers[done.server].stats.failed, 1);
        }
        if (r != NULL) {
            req_after_failure(r, ares_status == ARES_ETIMEOUT ? ERR_TIMEOUT : -ECONNREFUSED);
        }
        return;
    }
    if (r == NULL) {
        return;
    }
    /* The one parse of the answer (RFC 1035 section 4.1): the caller gets it with the bytes. */
    struct dnsmsg_view v = {abuf, alen, {0}};
    if (dnsmsg_parse_reply(&v.reply, abuf, alen, r->parsed) != 0) {
        dnsroute_counter_add(&u->servers[done.server].stats.failed, 1);
        req_after_failure(r, ERR_MISMATCH);
        return;
    }
    uint8_t rcode = (uint8_t)(v.reply.flags & DNSMSG_FLAG_RCODE_MASK);
    stats_answer(u, done.server, done.sent_ms, rcode);
    if (rcode == DNSMSG_RCODE_SERVFAIL || rcode == DNSMSG_RCODE_REFUSED) {
        /* dnsmasq 2.92 reply_query: a SERVFAIL/REFUSED to a query sent to one server (not a
         * probe of all) re-sends it to every server of the group, the one that failed too
         * (which matters for a one-server group, e.g. the china-list's 114.114.114.114). */
        bool resend_all = !r->forwardall && !u->cfg.strict_order && r->round == 0;
        req_hold(r, &done, &v, rcode);
        if (resend_all && r->attempts == NULL && !r->sending) {
            req_send_round(r);
            if (r->attempts != NULL) {
                return;
            }
        }
        req_after_failure(r, ERR_MISMATCH);
        return;
    }
    if (!u->cfg.strict_order) {
        u->groups[r->group].last_server = (int32_t)done.pos;
    }
    if (r->sending) {
        /* Answered inside r's own send loop (c-ares calling back from inside ares_send, as the
         * query cache of c-ares 1.23+ does - switched off, but a c-ares that answers early must
         * not end the request under the loop's feet): delivered on the next loop turn. */
        req_keep(r, &v, done.server);
        req_defer(r, 0);
        return;
    }
    req_finish(r, 0, &v, done.server);
}

/* --- instance --------------------------------------------------------------------------------- */

/* r's newest attempt has had no answer for a whole try: ask the servers not tried yet (the next
 * one with strict-order), else hold a SERVFAIL/REFUSED answer no longer, else start another
 * round within the budget. The older attempts keep listening: a slow answer still counts. */
static void req_check_slow(struct upstream_req *r, uint64_t now)
{
    struct upstream *u = r->u;
    if (r->sending || r->attempts == NULL || now - r->attempts->sent_ms < u->cfg.try_timeout_ms) {
        return;
    }
    r->forwardall = !u->cfg.strict_order;
    if (req_send_untried(r) > 0) {
        return;
    }
    if (r->held != NULL) {
        req_defer(r, ERR_MISMATCH);
        return;
    }
    /* At most two rounds listening at once, so a dead server under load costs at most twice the
     * sockets it did when every try was abandoned. */
    uint32_t count = 0, pending = 0;
    (void)req_group_servers(r, &count);
    for (const struct upstream_attempt *a = r->attempts; a != NULL; a = a->next) {
        pending++;
    }
    uint32_t max_rounds =
        (u->cfg.total_timeout_ms + u->cfg.try_timeout_ms - 1) / u->cfg.try_timeout_ms;
    if (r->round + 1 >= max_rounds || now >= r->deadline_ms || pending >= 2 * count) {
        return;
    }
    req_send_round(r);
}

static void on_tick(uv_timer_t *timer)
{
    struct upstream *u = DNSROUTE_CONTAINER_OF(timer, struct upstream, tick);
    upstream_chan_tick(u);
    uint64_t now = upstream_now_ms(u);
    while (u->head != NULL && u->head->deadline_ms <= now) {
        req_finish_held(u->head, ERR_TIMEOUT);
    }
    /* Requests sent during this walk go to the tail with fresh attempts: not slow yet. */
    for (struct upstream_req *r = u->head, *next; r != NULL; r = next) {
        next = r->next;
        req_check_slow(r, now);
    }
}

static int upstream_check_config(const struct upstream_config *cfg)
{
    for (size_t i = 0; i < cfg->server_count; i++) {
        const struct conf_server *s = &cfg->servers[i];
        int fam = s->addr.sa.sa_family;
        if ((fam != AF_INET && fam != AF_INET6) ||
            (s->source.sa.sa_family != 0 && s->source.sa.sa_family != fam)) {
            return ERR_BAD_ADDRESS;
        }
    }
    if (cfg->min_port != 0 && cfg->max_port != 0 && cfg->min_port > cfg->max_port) {
        return ERR_BAD_PORT;
    }
    for (uint32_t g = 0; g < cfg->group_count; g++) {
        uint32_t count = 0;
        const uint32_t *ids = cfg->group_servers(cfg->group_ctx, g, &count);
        for (uint32_t i = 0; i < count; i++) {
            if (ids[i] >= cfg->server_count) {
                return ERR_NOT_FOUND;
            }
        }
    }
    return 0;
}

int upstream_new(uv_loop_t *loop, const struct upstream_config *cfg, struct upstream **out)
{
    int rc = upstream_check_config(cfg);
    if (rc != 0) {
        return rc;
    }
    rc = ares_library_init(ARES_LIB_INIT_ALL);
    if (rc != ARES_SUCCESS) {
        return ERR_UNSUPPORTED;
    }
    struct upstream *u = mem_calloc(1, sizeof(*u));
    u->loop = loop;
    u->cfg = *cfg;
    u->cfg.dns_forward_max =
        cfg->dns_forward_max ? cfg->dns_forward_max : UPSTREAM_DEFAULT_FORWARD_MAX;
    u->cfg.try_timeout_ms = cfg->try_timeout_ms ? cfg->try_timeout_ms : UPSTREAM_DEFAULT_TRY_MS;
    u->cfg.total_timeout_ms =
        cfg->total_timeout_ms ? cfg->total_timeout_ms : UPSTREAM_DEFAULT_TOTAL_MS;
    u->port_slots =
        cfg->port_slots
            ? cfg->port_slots
            : upstream_chan_pool_size(cfg->server_count * (cfg->instances ? cfg->instances : 1));
    u->cfg.queries_per_socket = cfg->queries_per_socket ? cfg->queries_per_socket
                                : u->port_slots >= UPSTREAM_LAZY_SLOTS_MIN
                                    ? UPSTREAM_QUERIES_PER_SOCKET
                                    : 1;
    u->rand_pos = sizeof(u->rand_buf);
    u->id_refs = mem_calloc(65536, sizeof(u->id_refs[0]));
    u->rxbuf = mem_alloc(65536);
    u->txbuf = mem_alloc(65536);
    u->servers = mem_calloc(cfg->server_count ? cfg->server_count : 1, sizeof(u->servers[0]));
    for (size_t i = 0; i < cfg->server_count; i++) {
        u->servers[i].addr = cfg->servers[i].addr;
        u->servers[i].source = cfg->servers[i].source;
        memcpy(u->servers[i].iface, cfg->servers[i].iface, sizeof(u->servers[i].iface));
    }
    u->groups = mem_calloc(cfg->group_count ? cfg->group_count : 1, sizeof(u->groups[0]));
    for (uint32_t g = 0; g < cfg->group_count; g++) {
        u->groups[g].last_server = -1;
    }
    uv_timer_init(loop, &u->tick);
    uv_timer_init(loop, &u->defer);
    uv_timer_start(&u->tick, on_tick, UPSTREAM_TICK_MS, UPSTREAM_TICK_MS);
    *out = u;
    return 0;
}

size_t upstream_req_servers(const struct upstream_req *req, uint32_t *out, size_t cap)
{
    size_t n = 0;
    if (!req->active || req->deferred) {
        return 0;
    }
    /* attempts is newest first: count, then fill from the end. */
    for (const struct upstream_attempt *a = req->attempts; a != NULL; a = a->next) {
        n++;
    }
    size_t i = n;
    for (const struct upstream_attempt *a = req->attempts; a != NULL; a = a->next) {
        i--;
        if (i < cap) {
            out[i] = a->server;
        }
    }
    return n < cap ? n : cap;
}

size_t upstream_inflight(const struct upstream *u)
{
    return u->inflight;
}

void upstream_get_stats(const struct upstream *u, uint32_t server_id,
                        struct upstream_server_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (server_id >= u->cfg.server_count) {
        return;
    }
    const struct upstream_server *srv = &u->servers[server_id];
    /* Written on this instance's loop, read here from another thread: relaxed loads. */
    out->sent = dnsroute_counter_read(&srv->stats.sent);
    out->retried = dnsroute_counter_read(&srv->stats.retried);
    out->failed = dnsroute_counter_read(&srv->stats.failed);
    out->nxdomain = dnsroute_counter_read(&srv->stats.nxdomain);
    out->answered = dnsroute_counter_read(&srv->stats.answered);
    uint64_t latency_sum_ms = dnsroute_counter_read(&srv->latency_sum_ms);
    if (out->answered > 0) {
        out->avg_latency_ms = (uint32_t)(latency_sum_ms / out->answered);
    }
}

void upstream_handle_closed(struct upstream *u)
{
    if (--u->closing_handles > 0 || !u->freeing) {
        return;
    }
    struct upstream_attempt *a = u->free_attempts;
    while (a != NULL) {
        struct upstream_attempt *next = a->next;
        free(a);
        a = next;
    }
    while (u->free_blocks != NULL) {
        struct upstream_block *b = u->free_blocks;
        u->free_blocks = b->next;
        free(b);
    }
    free(u->chans);
    free(u->id_refs);
    free(u->rxbuf);
    free(u->txbuf);
    free(u->servers);
    free(u->groups);
    free(u);
    ares_library_cleanup();
}

static void on_timer_closed(uv_handle_t *handle)
{
    struct upstream *u = handle->data;
    upstream_handle_closed(u);
}

void upstream_free(struct upstream *u)
{
    if (u == NULL) {
        return;
    }
    while (u->deferred != NULL) {
        struct upstream_req *r = u->deferred;
        upstream_cancel(r);
        r->cb(r, -ECANCELED, NULL, UINT32_MAX);
    }
    while (u->head != NULL) {
        struct upstream_req *r = u->head;
        upstream_cancel(r);
        r->cb(r, -ECANCELED, NULL, UINT32_MAX);
    }
    u->freeing = true;
    upstream_chan_destroy_all(u);
    u->tick.data = u;
    u->defer.data = u;
    u->closing_handles += 2;
    uv_close((uv_handle_t *)&u->tick, on_timer_closed);
    uv_close((uv_handle_t *)&u->defer, on_timer_closed);
}
