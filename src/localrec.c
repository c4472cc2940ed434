/* localrec.c - dnsmasq's local records (ptr-record, txt-record, srv-host, mx-host, caa-record,
 * naptr-record, dns-rr) and the CHAOS names, held in one array sorted by name and answered the
 * way dnsmasq's answer_request (rfc1035.c) answers them. query.c calls localrec_answer() before
 * it routes a query: what is answered here never reaches the domain tree or an upstream. */
#include "dnsroute/localrec.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dnsroute/compat.h"
#include "dnsroute/dname.h"
#include "dnsroute/err.h"
#include "dnsroute/mem.h"

enum rec_kind { REC_TXT, REC_RR, REC_PTR, REC_MX, REC_SRV, REC_NAPTR };

struct rec {
    char *name;
    size_t name_len;
    uint32_t seq; /* configuration order: answers go newest first */
    uint8_t kind; /* enum rec_kind */
    uint8_t stat; /* enum localrec_stat (TXT) */
    uint16_t rtype;
    uint16_t rclass;
    uint16_t pref;   /* MX preference, SRV priority, NAPTR order */
    uint16_t weight; /* SRV weight, NAPTR preference */
    uint16_t port;   /* SRV port */
    uint8_t *data;   /* TXT/RR rdata; NAPTR flags, services, regexp as character-strings */
    size_t len;
    char *target;     /* PTR/MX/SRV target, NAPTR replacement; NULL: the root */
    uint32_t rot_idx; /* SRV: index of the rotation counter of its name */
};

struct localrec {
    struct rec *recs;
    size_t count, cap;
    uint32_t *order; /* record indexes sorted by (name, seq descending) */
    atomic_uint *srv_rot;
    size_t srv_rot_count;
    bool selfmx, localmx;
    char *mx_target;
    bool finished;
};

struct localrec *localrec_new(void)
{
    return mem_calloc(1, sizeof(struct localrec));
}

void localrec_free(struct localrec *lr)
{
    if (lr == NULL) {
        return;
    }
    for (size_t i = 0; i < lr->count; i++) {
        free(lr->recs[i].name);
        free(lr->recs[i].data);
        free(lr->recs[i].target);
    }
    free(lr->recs);
    free(lr->order);
    free(lr->srv_rot);
    free(lr->mx_target);
    free(lr);
}

static char *dup_or_null(const char *s)
{
    return s != NULL ? mem_strdup(s) : NULL;
}

static struct rec *rec_add(struct localrec *lr, const char *name, enum rec_kind kind,
                           uint16_t rtype)
{
    if (lr->count == lr->cap) {
        lr->cap = lr->cap ? lr->cap * 2 : 16;
        lr->recs = mem_realloc(lr->recs, lr->cap * sizeof(*lr->recs));
    }
    struct rec *r = &lr->recs[lr->count];
    memset(r, 0, sizeof(*r));
    r->seq = (uint32_t)lr->count++;
    r->name = mem_strdup(name);
    r->name_len = strlen(name);
    r->kind = (uint8_t)kind;
    r->rtype = rtype;
    r->rclass = DNSMSG_CLASS_IN;
    return r;
}

static void rec_set_data(struct rec *r, const uint8_t *data, size_t len)
{
    if (len > 0) {
        r->data = mem_alloc(len);
        memcpy(r->data, data, len);
        r->len = len;
    }
}

void localrec_add_txt(struct localrec *lr, const char *name, uint16_t rclass, const uint8_t *rdata,
                      size_t len, enum localrec_stat stat)
{
    struct rec *r = rec_add(lr, name, REC_TXT, DNSMSG_TYPE_TXT);
    r->rclass = rclass;
    r->stat = (uint8_t)stat;
    rec_set_data(r, rdata, len);
}

void localrec_add_rr(struct localrec *lr, const char *name, uint16_t type, const uint8_t *rdata,
                     size_t len)
{
    rec_set_data(rec_add(lr, name, REC_RR, type), rdata, len);
}

void localrec_add_ptr(struct localrec *lr, const char *name, const char *target)
{
    rec_add(lr, name, REC_PTR, DNSMSG_TYPE_PTR)->target = dup_or_null(target);
}

void localrec_add_mx(struct localrec *lr, const char *name, const char *target, uint16_t pref)
{
    struct rec *r = rec_add(lr, name, REC_MX, DNSMSG_TYPE_MX);
    r->target = dup_or_null(target);
    r->pref = pref;
}

void localrec_add_srv(struct localrec *lr, const char *name, const char *target, uint16_t port,
                      uint16_t priority, uint16_t weight)
{
    struct rec *r = rec_add(lr, name, REC_SRV, DNSMSG_TYPE_SRV);
    r->target = dup_or_null(target);
    r->port = port;
    r->pref = priority;
    r->weight = weight;
}

/* dnsmasq's "z" format: a character-string of at most 255 bytes. */
static size_t put_charstring(uint8_t *out, const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;
    n = n > 255 ? 255 : n;
    out[0] = (uint8_t)n;
    for (size_t i = 0; i < n; i++) {
        out[1 + i] = (uint8_t)s[i];
    }
    return n + 1;
}

void localrec_add_naptr(struct localrec *lr, const char *name, uint16_t order, uint16_t pref,
                        const char *flags, const char *services, const char *regexp,
                        const char *replace)
{
    struct rec *r = rec_add(lr, name, REC_NAPTR, LOCALREC_TYPE_NAPTR);
    uint8_t buf[3 * 256];
    size_t n = put_charstring(buf, flags);
    n += put_charstring(buf + n, services);
    n += put_charstring(buf + n, regexp);
    rec_set_data(r, buf, n);
    r->pref = order;
    r->weight = pref;
    r->target = dup_or_null(replace);
}

size_t localrec_name_to_wire(const char *name, uint8_t *out, size_t cap)
{
    /* do_rfc1035_name: each dot-separated part becomes a label as it is (an empty part gives
     * a zero byte, as in dnsmasq), then the root label. */
    size_t n = 0;
    const char *p = name != NULL ? name : "";
    while (*p != '\0') {
        const char *dot = strchr(p, '.');
        size_t ll = dot != NULL ? (size_t)(dot - p) : strlen(p);
        if (ll > DNAME_LABEL_MAX || n + 1 + ll + 1 > cap) {
            return 0;
        }
        out[n++] = (uint8_t)ll;
        memcpy(out + n, p, ll);
        n += ll;
        p += ll;
        if (*p == '.') {
            p++;
        }
    }
    if (n + 1 > cap) {
        return 0;
    }
    out[n++] = 0;
    return n;
}

/* ---- Finishing. ---- */

static int by_name_seq(const void *pa, const void *pb, void *arg)
{
    const struct localrec *lr = arg;
    const struct rec *a = &lr->recs[*(const uint32_t *)pa], *b = &lr->recs[*(const uint32_t *)pb];
    int c = strcmp(a->name, b->name);
    if (c != 0) {
        return c;
    }
    return a->seq < b->seq ? 1 : -1;
}

static void add_text(struct localrec *lr, const char *name, const char *text, enum localrec_stat st)
{
    uint8_t buf[256];
    size_t n = text != NULL ? put_charstring(buf, text) : 0;
    localrec_add_txt(lr, name, LOCALREC_CLASS_CHAOS, buf, n, st);
}

/* dnsmasq read_opts: the *.bind names unless no-ident. */
static void add_chaos(struct localrec *lr, const struct localrec_finish_opts *o)
{
    add_text(lr, "version.bind", o->version, LOCALREC_STAT_NONE);
    add_text(lr, "authors.bind", o->authors, LOCALREC_STAT_NONE);
    add_text(lr, "copyright.bind", o->copyright, LOCALREC_STAT_NONE);
    add_text(lr, "cachesize.bind", NULL, LOCALREC_STAT_CACHESIZE);
    add_text(lr, "insertions.bind", NULL, LOCALREC_STAT_INSERTIONS);
    add_text(lr, "evictions.bind", NULL, LOCALREC_STAT_EVICTIONS);
    add_text(lr, "misses.bind", NULL, LOCALREC_STAT_MISSES);
    add_text(lr, "hits.bind", NULL, LOCALREC_STAT_HITS);
    add_text(lr, "auth.bind", NULL, LOCALREC_STAT_AUTH);
    add_text(lr, "servers.bind", NULL, LOCALREC_STAT_SERVERS);
}

/* dnsmasq read_opts: mx-target and localmx default to the host name; an mx-host for the host
 * name itself is added when mx-target or localmx is given and none exists; mx-host records
 * without a target get the mx-target. */
static void finish_mx(struct localrec *lr, const struct localrec_finish_opts *o)
{
    bool any_mx = false, host_mx = false;
    for (size_t i = 0; i < lr->count; i++) {
        if (lr->recs[i].kind == REC_MX) {
            any_mx = true;
            host_mx = host_mx || strcasecmp(lr->recs[i].name, o->hostname) == 0;
        }
    }
    if (!o->localmx && !any_mx && o->mx_target == NULL) {
        return;
    }
    if ((o->mx_target != NULL || o->localmx) && !host_mx) {
        localrec_add_mx(lr, o->hostname, NULL, 1);
    }
    lr->mx_target = mem_strdup(o->mx_target != NULL ? o->mx_target : o->hostname);
    for (size_t i = 0; i < lr->count; i++) {
        if (lr->recs[i].kind == REC_MX && lr->recs[i].target == NULL) {
            lr->recs[i].target = mem_strdup(lr->mx_target);
        }
    }
}

/* dnsmasq read_opts: "with domain=, srv-host names with exactly one dot get the domain". */
static void finish_srv_domain(struct localrec *lr, const char *domain)
{
    for (size_t i = 0; domain != NULL && i < lr->count; i++) {
        struct rec *r = &lr->recs[i];
        const char *dot = strchr(r->name, '.');
        if (r->kind != REC_SRV || dot == NULL || dot != strrchr(r->name, '.')) {
            continue;
        }
        size_t n = r->name_len + 1 + strlen(domain) + 1;
        char *full = mem_alloc(n);
        (void)snprintf(full, n, "%s.%s", r->name, domain);
        free(r->name);
        r->name = full;
        r->name_len = strlen(full);
    }
}

/* One rotation counter per SRV name; records of a name share it. */
static void finish_srv_rotation(struct localrec *lr)
{
    const char *prev = NULL;
    for (size_t k = 0; k < lr->count; k++) {
        struct rec *r = &lr->recs[lr->order[k]];
        if (r->kind != REC_SRV) {
            continue;
        }
        if (prev == NULL || strcmp(prev, r->name) != 0) {
            lr->srv_rot_count++;
            prev = r->name;
        }
        r->rot_idx = (uint32_t)(lr->srv_rot_count - 1);
    }
    lr->srv_rot = mem_calloc(lr->srv_rot_count ? lr->srv_rot_count : 1, sizeof(atomic_uint));
    for (size_t i = 0; i < lr->srv_rot_count; i++) {
        atomic_init(&lr->srv_rot[i], 0);
    }
}

void localrec_finish(struct localrec *lr, const struct localrec_finish_opts *o)
{
    lr->selfmx = o->selfmx;
    lr->localmx = o->localmx;
    finish_mx(lr, o);
    finish_srv_domain(lr, o->domain);
    if (o->ident) {
        add_chaos(lr, o);
    }
    lr->order = mem_alloc((lr->count ? lr->count : 1) * sizeof(uint32_t));
    for (size_t i = 0; i < lr->count; i++) {
        lr->order[i] = (uint32_t)i;
    }
    qsort_r(lr->order, lr->count, sizeof(uint32_t), by_name_seq, lr);
    finish_srv_rotation(lr);
    lr->finished = true;
}

/* ---- Lookup. ---- */

/* The first index in lr->order whose record has name[len]; *end is one past the last. */
static size_t find_range(const struct localrec *lr, const char *name, size_t len, size_t *end)
{
    size_t lo = 0, hi = lr->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct rec *r = &lr->recs[lr->order[mid]];
        int c = strncmp(r->name, name, len);
        if (c < 0 || (c == 0 && r->name_len < len)) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    size_t e = lo;
    while (e < lr->count) {
        const struct rec *r = &lr->recs[lr->order[e]];
        if (r->name_len != len || memcmp(r->name, name, len) != 0) {
            break;
        }
        e++;
    }
    *end = e;
    return lo;
}

bool localrec_has_name_at_or_below(const struct localrec *lr, const char *name, size_t len)
{
    /* dnsmasq hostname_issubdomain(name, record): the record's name is name or below it; an
     * empty name matches nothing. dns-rr and caa-record do not count (check_for_local_domain). */
    if (lr == NULL || len == 0) {
        return false;
    }
    for (size_t i = 0; i < lr->count; i++) {
        const struct rec *r = &lr->recs[i];
        if (r->kind == REC_RR || (r->kind == REC_TXT && r->rclass != DNSMSG_CLASS_IN)) {
            continue;
        }
        if (r->name_len == len && memcmp(r->name, name, len) == 0) {
            return true;
        }
        if (r->name_len > len && r->name[r->name_len - len - 1] == '.' &&
            memcmp(r->name + r->name_len - len, name, len) == 0) {
            return true;
        }
    }
    return false;
}

bool localrec_may_answer(const struct localrec *lr, const char *name, size_t len, uint16_t qtype,
                         uint16_t qclass)
{
    if (qclass != DNSMSG_CLASS_IN) {
        return qclass == LOCALREC_CLASS_CHAOS; /* CHAOS TXT names, NOTIMP for *.bind */
    }
    if (qtype == LOCALREC_TYPE_MAILB) {
        return true;
    }
    if (lr == NULL || !lr->finished) {
        return false;
    }
    size_t to = 0;
    if (find_range(lr, name, len, &to) != to) {
        return true;
    }
    return (lr->selfmx || lr->localmx) && (qtype == DNSMSG_TYPE_MX || qtype == DNSMSG_TYPE_ANY);
}

bool localrec_wants_host_mx(const struct localrec *lr)
{
    return lr != NULL && (lr->selfmx || lr->localmx);
}

/* ---- Answers. ---- */

void localrec_answer_add_rr(struct localrec_answer *a, enum dnsmsg_section section,
                            const uint8_t *owner, size_t owner_len, uint16_t type, uint32_t ttl_s,
                            const uint8_t *rdata, size_t len)
{
    if (owner == NULL) {
        owner = a->owner;
        owner_len = a->owner_len;
    }
    dnsmsg_builder_add_rr(a->b, section, owner, owner_len, type, ttl_s, rdata, len);
    if (section == DNSMSG_SECTION_ANSWER && a->b->err == 0) {
        a->count++;
    }
}

static void answer_log(const struct localrec_answer *a, const struct localrec_hooks *h,
                       uint16_t type)
{
    if (h != NULL && h->log != NULL) {
        h->log(h->arg, a->name, type);
    }
}

static void counter_text(uint32_t v, uint8_t *out, size_t *len)
{
    int n = snprintf((char *)out + 1, 12, "%u", v);
    out[0] = (uint8_t)n;
    *len = (size_t)n + 1;
}

/* cache_make_stat: servers.bind is one string per upstream address, counts summed. */
static size_t servers_text(const struct localrec_counters *c, uint8_t *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < c->server_count; i++) {
        const struct localrec_server_stat *s = &c->servers[i];
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++) {
            seen = strcmp(c->servers[k].addr, s->addr) == 0 && c->servers[k].port == s->port;
        }
        if (seen) {
            continue;
        }
        uint32_t q = 0, f = 0;
        for (size_t k = i; k < c->server_count; k++) {
            if (strcmp(c->servers[k].addr, s->addr) == 0 && c->servers[k].port == s->port) {
                q += c->servers[k].queries;
                f += c->servers[k].failed;
            }
        }
        char line[128];
        int len = snprintf(line, sizeof(line), "%s#%u %u %u", s->addr, s->port, q, f);
        if (len < 0 || n + 1 + (size_t)len > cap) {
            break;
        }
        out[n++] = (uint8_t)len;
        memcpy(out + n, line, (size_t)len);
        n += (size_t)len;
    }
    return n;
}

/* The rdata of a statistics name, into out[cap]; returns its length. */
static size_t stat_rdata(const struct rec *r, const struct localrec_hooks *h, uint8_t *out,
                         size_t cap)
{
    struct localrec_server_stat servers[32];
    struct localrec_counters c;
    memset(&c, 0, sizeof(c));
    c.servers = servers;
    c.server_cap = DNSROUTE_ARRAY_LEN(servers);
    if (h != NULL && h->counters != NULL) {
        h->counters(h->arg, &c);
    }
    const uint32_t values[] = {0, c.cachesize, c.insertions, c.evictions, c.misses, c.hits, c.auth};
    size_t len = 0;
    if (r->stat == LOCALREC_STAT_SERVERS) {
        return servers_text(&c, out, cap);
    }
    counter_text(values[r->stat], out, &len);
    return len;
}

static void answer_txt(const struct localrec *lr, struct localrec_answer *a, size_t from, size_t to,
                       const struct localrec_hooks *h)
{
    for (size_t k = from; k < to; k++) {
        const struct rec *r = &lr->recs[lr->order[k]];
        if (r->kind != REC_TXT || r->rclass != a->qclass) {
            continue;
        }
        a->answered = true;
        uint8_t buf[4096];
        const uint8_t *data = r->data;
        size_t len = r->len;
        uint32_t ttl = a->ttl_s;
        if (r->stat != LOCALREC_STAT_NONE) {
            ttl = 0;
            len = stat_rdata(r, h, buf, sizeof(buf));
            data = buf;
        }
        answer_log(a, h, DNSMSG_TYPE_TXT);
        dnsmsg_builder_add_rr_class(a->b, DNSMSG_SECTION_ANSWER, a->owner, a->owner_len,
                                    DNSMSG_TYPE_TXT, r->rclass, ttl, data, len);
        if (a->b->err == 0) {
            a->count++;
        }
    }
}

/* hostname_issubdomain("bind", name) || hostname_issubdomain("server", name) */
static bool is_chaos_zone(const char *name, size_t len)
{
    static const char *const zones[] = {"bind", "server"};
    for (size_t i = 0; i < 2; i++) {
        size_t zl = strlen(zones[i]);
        if (len >= zl && memcmp(name + len - zl, zones[i], zl) == 0 &&
            (len == zl || name[len - zl - 1] == '.')) {
            return true;
        }
    }
    return false;
}

static void answer_rr(const struct localrec *lr, struct localrec_answer *a, size_t from, size_t to,
                      const struct localrec_hooks *h)
{
    for (size_t k = from; k < to; k++) {
        const struct rec *r = &lr->recs[lr->order[k]];
        if (r->kind != REC_RR || (r->rtype != a->qtype && a->qtype != DNSMSG_TYPE_ANY)) {
            continue;
        }
        a->answered = true;
        answer_log(a, h, r->rtype);
        localrec_answer_add_rr(a, DNSMSG_SECTION_ANSWER, NULL, 0, r->rtype, a->ttl_s, r->data,
                               r->len);
    }
}

static void add_name_rr(struct localrec_answer *a, uint16_t type, const uint8_t *head,
                        size_t head_len, const char *target)
{
    uint8_t rdata[1024];
    if (head_len != 0) { /* head is NULL for a bare name (memcpy must not get NULL) */
        memcpy(rdata, head, head_len);
    }
    size_t n = localrec_name_to_wire(target, rdata + head_len, sizeof(rdata) - head_len);
    if (n == 0) {
        a->b->err = a->b->err ? a->b->err : ERR_FULL;
        return;
    }
    localrec_answer_add_rr(a, DNSMSG_SECTION_ANSWER, NULL, 0, type, a->ttl_s, rdata, head_len + n);
}

static void answer_ptr(const struct localrec *lr, struct localrec_answer *a, size_t from, size_t to,
                       const struct localrec_hooks *h)
{
    if (h != NULL && h->ptr_first != NULL && h->ptr_first(h->arg, a)) {
        a->answered = true;
        return;
    }
    bool found = false;
    for (size_t k = from; k < to; k++) {
        const struct rec *r = &lr->recs[lr->order[k]];
        if (r->kind == REC_PTR) {
            if (!found) {
                answer_log(a, h, DNSMSG_TYPE_PTR);
            }
            found = true;
            add_name_rr(a, DNSMSG_TYPE_PTR, NULL, 0, r->target);
        }
    }
    if (found || (h != NULL && h->ptr_hosts != NULL && h->ptr_hosts(h->arg, a))) {
        a->answered = true;
    }
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* Targets for the additional section, in the order dnsmasq walks its mxnames list. */
struct targets {
    const char *name[64];
    size_t count;
};

static void targets_add(struct targets *t, const char *name)
{
    if (name != NULL && t->count < DNSROUTE_ARRAY_LEN(t->name)) {
        t->name[t->count++] = name;
    }
}

static void answer_mx(const struct localrec *lr, struct localrec_answer *a, size_t from, size_t to,
                      const struct localrec_hooks *h, struct targets *t)
{
    bool found = false;
    for (size_t k = from; k < to; k++) {
        const struct rec *r = &lr->recs[lr->order[k]];
        if (r->kind != REC_MX) {
            continue;
        }
        found = a->answered = true;
        answer_log(a, h, DNSMSG_TYPE_MX);
        uint8_t head[2];
        put16(head, r->pref);
        uint16_t before = a->count;
        add_name_rr(a, DNSMSG_TYPE_MX, head, 2, r->target);
        if (a->count != before) {
            targets_add(t, r->target);
        }
    }
    if (found || !(lr->selfmx || lr->localmx) || h == NULL || h->is_host == NULL ||
        !h->is_host(h->arg, a->name, a->name_len)) {
        return;
    }
    /* selfmx / localmx: an MX (preference 1) for every hosts or DHCP name. */
    a->answered = true;
    answer_log(a, h, DNSMSG_TYPE_MX);
    uint8_t head[2];
    put16(head, 1);
    add_name_rr(a, DNSMSG_TYPE_MX, head, 2, lr->selfmx ? a->name : lr->mx_target);
}

/* dnsmasq moves the first SRV record of the name to the end of its list after each answer: the
 * records come out rotated by one per query. */
static void answer_srv(const struct localrec *lr, struct localrec_answer *a, size_t from, size_t to,
                       const struct localrec_hooks *h, struct targets *t)
{
    size_t first = to, n = 0;
    for (size_t k = from; k < to; k++) {
        if (lr->recs[lr->order[k]].kind == REC_SRV) {
            first = first == to ? k : first;
            n++;
        }
    }
    if (n == 0) {
        return;
    }
    a->answered = true;
    unsigned rot = atomic_fetch_add_explicit(&lr->srv_rot[lr->recs[lr->order[first]].rot_idx], 1,
                                             memory_order_relaxed) %
                   (unsigned)n;
    for (size_t i = 0; i < n; i++) {
        size_t want = (rot + i) % n, seen = 0;
        for (size_t k = first; k < to; k++) {
            const struct rec *r = &lr->recs[lr->order[k]];
            if (r->kind != REC_SRV || seen++ != want) {
                continue;
            }
            answer_log(a, h, DNSMSG_TYPE_SRV);
            uint8_t head[6];
            put16(head, r->pref);
            put16(head + 2, r->weight);
            put16(head + 4, r->port);
            uint16_t before = a->count;
            add_name_rr(a, DNSMSG_TYPE_SRV, head, 6, r->target);
            if (a->count != before) {
                targets_add(t, r->target);
            }
            break;
        }
    }
}

static void answer_naptr(const struct localrec *lr, struct localrec_answer *a, size_t from,
                         size_t to, const struct localrec_hooks *h)
{
    for (size_t k = from; k < to; k++) {
        const struct rec *r = &lr->recs[lr->order[k]];
        if (r->kind != REC_NAPTR) {
            continue;
        }
        a->answered = true;
        answer_log(a, h, LOCALREC_TYPE_NAPTR);
        uint8_t head[4 + 3 * 256];
        put16(head, r->pref);
        put16(head + 2, r->weight);
        memcpy(head + 4, r->data, r->len);
        add_name_rr(a, LOCALREC_TYPE_NAPTR, head, 4 + r->len, r->target);
    }
}

/* The A/AAAA of each MX/SRV target once (dnsmasq "squash dupes"). */
static void answer_additional(struct localrec_answer *a, const struct localrec_hooks *h,
                              const struct targets *t)
{
    for (size_t i = 0; h != NULL && h->additional != NULL && i < t->count; i++) {
        bool dup = false;
        for (size_t k = 0; k < i && !dup; k++) {
            dup = strcasecmp(t->name[k], t->name[i]) == 0;
        }
        uint8_t wire[DNAME_WIRE_MAX + 1];
        size_t wl = dup ? 0 : localrec_name_to_wire(t->name[i], wire, sizeof(wire));
        if (wl != 0) {
            h->additional(h->arg, a, t->name[i], strlen(t->name[i]), wire, wl);
        }
    }
}

static bool wants(uint16_t qtype, uint16_t type)
{
    return qtype == type || qtype == DNSMSG_TYPE_ANY;
}

/* The IN-class part of answer_request after the TXT records. */
static void answer_in(const struct localrec *lr, struct localrec_answer *a, size_t from, size_t to,
                      const struct localrec_hooks *h)
{
    struct targets t = {.count = 0};
    answer_rr(lr, a, from, to, h);
    if (wants(a->qtype, DNSMSG_TYPE_PTR)) {
        answer_ptr(lr, a, from, to, h);
    }
    if ((wants(a->qtype, DNSMSG_TYPE_A) || wants(a->qtype, DNSMSG_TYPE_AAAA)) && h != NULL &&
        h->addrs != NULL) {
        h->addrs(h->arg, a);
    }
    if (wants(a->qtype, DNSMSG_TYPE_MX)) {
        answer_mx(lr, a, from, to, h, &t);
    }
    if (wants(a->qtype, DNSMSG_TYPE_SRV)) {
        answer_srv(lr, a, from, to, h, &t);
    }
    if (wants(a->qtype, LOCALREC_TYPE_NAPTR)) {
        answer_naptr(lr, a, from, to, h);
    }
    if (a->qtype == LOCALREC_TYPE_MAILB) {
        a->answered = a->nxdomain = true;
    }
    answer_additional(a, h, &t);
}

void localrec_answer(const struct localrec *lr, struct localrec_answer *a,
                     const struct localrec_hooks *h)
{
    static const struct localrec empty;
    size_t to = 0, from = 0;
    if (lr == NULL || !lr->finished) {
        lr = &empty;
    } else {
        from = find_range(lr, a->name, a->name_len, &to);
    }
    if (wants(a->qtype, DNSMSG_TYPE_TXT)) {
        answer_txt(lr, a, from, to, h);
    }
    if (a->qclass == LOCALREC_CLASS_CHAOS && !a->answered && is_chaos_zone(a->name, a->name_len)) {
        /* dnsmasq never forwards *.bind and *.server CHAOS queries: NOTIMP. */
        a->answered = a->notimp = a->not_auth = true;
    }
    if (a->qclass == DNSMSG_CLASS_IN) {
        answer_in(lr, a, from, to, h);
    }
}
