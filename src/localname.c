/* localname.c - host-record, cname and interface-name, and the local answer of a query put
 * together from them, the local records and the hosts files, as dnsmasq's answer_request
 * (rfc1035.c) does, with synth-domain names (synth.h). query.c asks localname_answer() before it
 * looks at the cache or routes the query; localrec.c builds the record part and calls back here
 * (struct localrec_hooks) for the addresses and PTR names, which dnsmasq keeps in its cache. */
#include "dnsroute/localname.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dnsroute/compat.h"
#include "dnsroute/dname.h"
#include "dnsroute/mem.h"

/* Addresses of one interface or one name handled per answer (more are not answered). */
enum { LN_ADDRS_MAX = 128, LN_LINE_MAX = DNAME_KEY_MAX * 2 + 64 };

struct ln_host {
    char *name;
    int64_t ttl_s;
    uint32_t seq;
    uint8_t family; /* AF_INET or AF_INET6 */
    uint8_t addr[16];
};

struct ln_cname {
    char *alias, *target;
    int64_t ttl_s;
    uint32_t seq; /* configuration order */
};

struct ln_ifname {
    char *name, *ifname;
    bool v4, v6;
};

struct localname {
    struct ln_host *hosts; /* sorted by (name, seq) once finished */
    size_t host_count, host_cap;
    struct ln_host *by_seq;  /* the same, in configuration order (PTR: the first wins) */
    struct ln_cname *cnames; /* sorted by alias once finished */
    size_t cname_count, cname_cap;
    struct ln_ifname *ifnames; /* configuration order */
    size_t ifname_count, ifname_cap;
    char **ifnames_uniq;
    size_t ifnames_uniq_count;
    char **parents; /* sorted: every proper parent of a host-record name or cname alias */
    size_t parent_count, parent_cap;
};

struct localname *localname_new(void)
{
    return mem_calloc(1, sizeof(struct localname));
}

void localname_free(struct localname *ln)
{
    if (ln == NULL) {
        return;
    }
    for (size_t i = 0; i < ln->host_count; i++) {
        free(ln->hosts[i].name);
    }
    for (size_t i = 0; i < ln->cname_count; i++) {
        free(ln->cnames[i].alias);
        free(ln->cnames[i].target);
    }
    for (size_t i = 0; i < ln->ifname_count; i++) {
        free(ln->ifnames[i].name);
        free(ln->ifnames[i].ifname);
    }
    for (size_t i = 0; i < ln->parent_count; i++) {
        free(ln->parents[i]);
    }
    free(ln->hosts);
    free(ln->by_seq);
    free(ln->cnames);
    free(ln->ifnames);
    free(ln->ifnames_uniq);
    free(ln->parents);
    free(ln);
}

/* ---- Building. */

void localname_add_host(struct localname *ln, const char *name, int family, const uint8_t *addr,
                        int64_t ttl_s)
{
    mem_grow((void **)&ln->hosts, &ln->host_cap, ln->host_count + 1, sizeof(*ln->hosts));
    struct ln_host *h = &ln->hosts[ln->host_count];
    memset(h, 0, sizeof(*h));
    h->name = mem_strdup(name);
    h->ttl_s = ttl_s;
    h->seq = (uint32_t)ln->host_count++;
    h->family = (uint8_t)family;
    memcpy(h->addr, addr, family == AF_INET6 ? 16 : 4);
}

bool localname_has_cname(const struct localname *ln, const char *alias)
{
    for (size_t i = 0; i < ln->cname_count; i++) {
        if (strcmp(ln->cnames[i].alias, alias) == 0) {
            return true;
        }
    }
    return false;
}

void localname_add_cname(struct localname *ln, const char *alias, const char *target, int64_t ttl_s)
{
    mem_grow((void **)&ln->cnames, &ln->cname_cap, ln->cname_count + 1, sizeof(*ln->cnames));
    struct ln_cname *c = &ln->cnames[ln->cname_count++];
    c->alias = mem_strdup(alias);
    c->target = mem_strdup(target);
    c->ttl_s = ttl_s;
    c->seq = (uint32_t)ln->cname_count - 1;
}

void localname_add_ifname(struct localname *ln, const char *name, const char *ifname, bool v4,
                          bool v6)
{
    mem_grow((void **)&ln->ifnames, &ln->ifname_cap, ln->ifname_count + 1, sizeof(*ln->ifnames));
    struct ln_ifname *e = &ln->ifnames[ln->ifname_count++];
    e->name = mem_strdup(name);
    e->ifname = mem_strdup(ifname);
    e->v4 = v4;
    e->v6 = v6;
}

static int by_host(const void *pa, const void *pb)
{
    const struct ln_host *a = pa, *b = pb;
    int c = strcmp(a->name, b->name);
    return c != 0 ? c : (a->seq > b->seq) - (a->seq < b->seq);
}

static int by_alias(const void *pa, const void *pb)
{
    const struct ln_cname *a = pa, *b = pb;
    return strcmp(a->alias, b->alias);
}

static int by_str(const void *pa, const void *pb)
{
    return strcmp(*(char *const *)pa, *(char *const *)pb);
}

/* dnsmasq make_non_terminals: every parent of a name exists (with no data). */
static void add_parents(struct localname *ln, const char *name)
{
    for (const char *p = strchr(name, '.'); p != NULL; p = strchr(p + 1, '.')) {
        if (p[1] == '\0') {
            return;
        }
        mem_grow((void **)&ln->parents, &ln->parent_cap, ln->parent_count + 1, sizeof(char *));
        ln->parents[ln->parent_count++] = mem_strdup(p + 1);
    }
}

static const struct ln_cname *find_cname(const struct localname *ln, const char *name, size_t len);

/* True when following targets from c never ends (a loop through c or further on). */
static bool leads_to_loop(const struct localname *ln, const struct ln_cname *c)
{
    for (size_t hops = 0; hops <= ln->cname_count; hops++) {
        c = find_cname(ln, c->target, strlen(c->target));
        if (c == NULL) {
            return false;
        }
    }
    return true;
}

/* dnsmasq read_opts: a cname= chain that comes back on itself is fatal; dnsmasq names the alias
 * of the newest line (its list is prepended) from which the loop is reached. */
static const char *find_loop(const struct localname *ln)
{
    const struct ln_cname *found = NULL;
    for (size_t i = 0; i < ln->cname_count; i++) {
        const struct ln_cname *c = &ln->cnames[i];
        if ((found == NULL || c->seq > found->seq) && leads_to_loop(ln, c)) {
            found = c;
        }
    }
    return found != NULL ? found->alias : NULL;
}

static void finish_ifnames(struct localname *ln)
{
    ln->ifnames_uniq = mem_alloc((ln->ifname_count + 1) * sizeof(char *));
    for (size_t i = 0; i < ln->ifname_count; i++) {
        bool seen = false;
        for (size_t k = 0; k < ln->ifnames_uniq_count && !seen; k++) {
            seen = strcmp(ln->ifnames_uniq[k], ln->ifnames[i].ifname) == 0;
        }
        if (!seen) {
            ln->ifnames_uniq[ln->ifnames_uniq_count++] = ln->ifnames[i].ifname;
        }
    }
}

int localname_finish(struct localname *ln, uint32_t local_ttl_s, char *loop_alias, size_t cap)
{
    for (size_t i = 0; i < ln->host_count; i++) {
        if (ln->hosts[i].ttl_s < 0) {
            ln->hosts[i].ttl_s = local_ttl_s;
        }
        add_parents(ln, ln->hosts[i].name);
    }
    for (size_t i = 0; i < ln->cname_count; i++) {
        if (ln->cnames[i].ttl_s < 0) {
            ln->cnames[i].ttl_s = local_ttl_s;
        }
        add_parents(ln, ln->cnames[i].alias);
    }
    ln->by_seq = mem_alloc((ln->host_count + 1) * sizeof(*ln->by_seq));
    if (ln->host_count != 0) {
        memcpy(ln->by_seq, ln->hosts, ln->host_count * sizeof(*ln->hosts));
        qsort(ln->hosts, ln->host_count, sizeof(*ln->hosts), by_host);
    }
    if (ln->cname_count != 0) {
        qsort(ln->cnames, ln->cname_count, sizeof(*ln->cnames), by_alias);
    }
    if (ln->parent_count != 0) {
        qsort(ln->parents, ln->parent_count, sizeof(char *), by_str);
    }
    finish_ifnames(ln);
    const char *loop = find_loop(ln);
    if (loop != NULL) {
        (void)snprintf(loop_alias, cap, "%s", loop);
        return -1;
    }
    return 0;
}

size_t localname_ifname_count(const struct localname *ln)
{
    return ln != NULL ? ln->ifnames_uniq_count : 0;
}

const char *localname_ifname_at(const struct localname *ln, size_t i)
{
    return ln->ifnames_uniq[i];
}

/* ---- Lookups. */

static int keycmp(const char *s, const char *key, size_t len)
{
    int c = strncmp(s, key, len);
    return c != 0 ? c : s[len] != '\0';
}

/* The first host-record entry of name, or NULL; its others follow it in ln->hosts. */
static const struct ln_host *find_host(const struct localname *ln, const char *name, size_t len)
{
    size_t lo = 0, hi = ln != NULL ? ln->host_count : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (keycmp(ln->hosts[mid].name, name, len) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return ln != NULL && lo < ln->host_count && keycmp(ln->hosts[lo].name, name, len) == 0
               ? &ln->hosts[lo]
               : NULL;
}

static const struct ln_cname *find_cname(const struct localname *ln, const char *name, size_t len)
{
    size_t lo = 0, hi = ln != NULL ? ln->cname_count : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = keycmp(ln->cnames[mid].alias, name, len);
        if (c == 0) {
            /* dnsmasq cache_reload skips an alias whose second character is '*'. */
            return ln->cnames[mid].alias[0] != '\0' && ln->cnames[mid].alias[1] == '*'
                       ? NULL
                       : &ln->cnames[mid];
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

static bool is_parent(const struct localname *ln, const char *name, size_t len)
{
    size_t lo = 0, hi = ln != NULL ? ln->parent_count : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = keycmp(ln->parents[mid], name, len);
        if (c == 0) {
            return true;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return false;
}

static const struct ln_ifname *find_ifname(const struct localname *ln, const char *name, size_t len)
{
    for (size_t i = 0; ln != NULL && i < ln->ifname_count; i++) {
        if (keycmp(ln->ifnames[i].name, name, len) == 0) {
            return &ln->ifnames[i];
        }
    }
    return NULL;
}

/* name[len] is key or a name below it. */
static bool at_or_below(const char *name, size_t nlen, const char *key, size_t klen)
{
    return nlen >= klen && memcmp(name + nlen - klen, key, klen) == 0 &&
           (nlen == klen || (klen == 0 || name[nlen - klen - 1] == '.'));
}

bool localname_arpa_addr(const char *key, size_t len, int *family, uint8_t *addr)
{
    unsigned v[4];
    int end = 0;
    char buf[DNAME_KEY_MAX + 1];
    if (len >= sizeof(buf)) {
        return false;
    }
    memcpy(buf, key, len);
    buf[len] = '\0';
    /* NOLINTNEXTLINE(cert-err34-c): %3u bounds each octet; the < 256 check rejects the rest */
    if (sscanf(buf, "%3u.%3u.%3u.%3u.in-addr.arpa%n", &v[3], &v[2], &v[1], &v[0], &end) == 4 &&
        (size_t)end == len && (v[0] | v[1] | v[2] | v[3]) < 256) {
        for (int i = 0; i < 4; i++) {
            addr[i] = (uint8_t)v[i];
        }
        *family = AF_INET;
        return true;
    }
    bool ok = len == 72 && memcmp(buf + 64, "ip6.arpa", 8) == 0;
    for (size_t i = 0; ok && i < 32; i++) {
        char ch = buf[2 * i];
        int nib = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
        ok = nib >= 0 && buf[2 * i + 1] == '.';
        if (ok) {
            uint8_t *byte = &addr[15 - i / 2];
            *byte = (uint8_t)(i % 2 == 0 ? nib : (*byte | (nib << 4)));
        }
    }
    *family = AF_INET6;
    return ok;
}

/* A name of the hosts files or a host-record, or a parent of one (dnsmasq: an F_HOSTS entry of
 * the cache, non-terminals included). */
static bool is_host_name(const struct localname_src *src, const char *name, size_t len)
{
    if (src->hosts != NULL &&
        (hosts_has_name(src->hosts, name, len) || hosts_has_below(src->hosts, name, len))) {
        return true;
    }
    if (find_host(src->names, name, len) != NULL) {
        return true;
    }
    /* A parent of a cname alias is in the list too, but it is no hosts name. */
    for (size_t i = 0; src->names != NULL && i < src->names->host_count; i++) {
        const char *n = src->names->hosts[i].name;
        size_t nl = strlen(n);
        if (nl > len && at_or_below(n, nl, name, len)) {
            return true;
        }
    }
    return false;
}

bool localname_is_local(const struct localname_src *src, const char *name, size_t len)
{
    const struct localname *ln = src->names;
    if (localrec_has_name_at_or_below(src->records, name, len) || is_host_name(src, name, len)) {
        return true;
    }
    uint8_t a[16];
    if (synth_forward(src->synth, name, len, AF_INET, a) ||
        synth_forward(src->synth, name, len, AF_INET6, a)) {
        return true;
    }
    if (ln == NULL) {
        return false;
    }
    if (find_cname(ln, name, len) != NULL || is_parent(ln, name, len)) {
        return true;
    }
    for (size_t i = 0; len != 0 && i < ln->ifname_count; i++) {
        const char *n = ln->ifnames[i].name;
        if (at_or_below(n, strlen(n), name, len)) {
            return true;
        }
    }
    return false;
}

bool localname_may_answer(const struct localname_src *src, const char *name, size_t len,
                          uint16_t qtype, uint16_t qclass)
{
    if (localrec_may_answer(src->records, name, len, qtype, qclass)) {
        return true;
    }
    if (qclass != DNSMSG_CLASS_IN) {
        return false;
    }
    const struct localname *ln = src->names;
    if (find_cname(ln, name, len) != NULL) {
        return true;
    }
    bool addr = qtype == DNSMSG_TYPE_A || qtype == DNSMSG_TYPE_AAAA || qtype == DNSMSG_TYPE_ANY;
    if (addr && (find_ifname(ln, name, len) != NULL || find_host(ln, name, len) != NULL ||
                 (src->hosts != NULL && hosts_has_name(src->hosts, name, len)))) {
        return true;
    }
    uint8_t sa[16];
    if (addr && (synth_forward(src->synth, name, len, AF_INET, sa) ||
                 synth_forward(src->synth, name, len, AF_INET6, sa))) {
        return true;
    }
    if (qtype != DNSMSG_TYPE_PTR && qtype != DNSMSG_TYPE_ANY) {
        return false;
    }
    int family;
    uint8_t a[16];
    return (src->hosts != NULL || synth_count(src->synth) != 0 ||
            (ln != NULL && (ln->host_count || ln->ifname_count))) &&
           localname_arpa_addr(name, len, &family, a);
}

/* ---- Answering. */

struct ln_ctx {
    const struct localname_src *src;
    const struct localname_hooks *h;
    char synth_name[DNAME_KEY_MAX + 1]; /* see on_ptr_hosts */
};

DNSROUTE_PRINTF(2, 3)
static void ln_log(const struct ln_ctx *c, const char *fmt, ...)
{
    if (c->h == NULL || c->h->log == NULL) {
        return;
    }
    char line[LN_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    c->h->log(c->h->arg, line);
}

static const char *shown(const char *name)
{
    return name[0] != '\0' ? name : ".";
}

static void log_addr(const struct ln_ctx *c, const char *source, const char *name, int family,
                     const uint8_t *addr)
{
    char text[INET6_ADDRSTRLEN];
    if (c->h != NULL && c->h->log != NULL && inet_ntop(family, addr, text, sizeof(text))) {
        ln_log(c, "%s %s is %s", source, shown(name), text);
    }
}

static size_t ln_ifaddrs(const struct ln_ctx *c, const struct ln_ifname *e,
                         struct localname_ifaddr *out, size_t max)
{
    if (c->h == NULL || c->h->ifaddrs == NULL) {
        return 0;
    }
    size_t n = c->h->ifaddrs(c->h->arg, e->ifname, out, max), k = 0;
    for (size_t i = 0; i < n; i++) {
        if ((out[i].family == AF_INET && e->v4) || (out[i].family == AF_INET6 && e->v6)) {
            out[k++] = out[i];
        }
    }
    return k;
}

/* PTR from interface-name (dnsmasq: before ptr-record). Entries are tried in configuration
 * order; after one whose interface lacks the address, dnsmasq skips the entries right after it
 * that name the same interface. */
static bool on_ptr_first(void *arg, struct localrec_answer *a)
{
    const struct ln_ctx *c = arg;
    const struct localname *ln = c->src->names;
    int family;
    uint8_t addr[16];
    if (ln == NULL || ln->ifname_count == 0 ||
        !localname_arpa_addr(a->name, a->name_len, &family, addr)) {
        return false;
    }
    struct localname_ifaddr list[LN_ADDRS_MAX];
    for (size_t i = 0; i < ln->ifname_count; i++) {
        const struct ln_ifname *e = &ln->ifnames[i];
        size_t n = ln_ifaddrs(c, e, list, LN_ADDRS_MAX);
        for (size_t k = 0; k < n; k++) {
            if (list[k].family == family &&
                memcmp(list[k].addr, addr, family == AF_INET ? 4 : 16) == 0) {
                uint8_t wire[DNAME_WIRE_MAX + 1];
                size_t wl = localrec_name_to_wire(e->name, wire, sizeof(wire));
                log_addr(c, "config", e->name, family, addr);
                localrec_answer_add_rr(a, DNSMSG_SECTION_ANSWER, NULL, 0, DNSMSG_TYPE_PTR, a->ttl_s,
                                       wire, wl);
                return true;
            }
        }
        while (i + 1 < ln->ifname_count && strcmp(ln->ifnames[i + 1].ifname, e->ifname) == 0) {
            i++;
        }
    }
    return false;
}

static void add_ptr(const struct ln_ctx *c, struct localrec_answer *a, const char *source,
                    const char *target, uint32_t ttl_s)
{
    uint8_t wire[DNAME_WIRE_MAX + 1];
    size_t wl = localrec_name_to_wire(target, wire, sizeof(wire));
    ln_log(c, "%s %s is %s", source, shown(a->name), shown(target));
    localrec_answer_add_rr(a, DNSMSG_SECTION_ANSWER, NULL, 0, DNSMSG_TYPE_PTR, ttl_s, wire, wl);
}

/* PTR from host-record (read first, so it wins), then from the hosts files, then from
 * synth-domain. */
static bool on_ptr_hosts(void *arg, struct localrec_answer *a)
{
    const struct ln_ctx *c = arg;
    const struct localname *ln = c->src->names;
    int family;
    uint8_t addr[16];
    if (!localname_arpa_addr(a->name, a->name_len, &family, addr)) {
        return false;
    }
    for (size_t i = 0; ln != NULL && i < ln->host_count; i++) {
        const struct ln_host *h = &ln->by_seq[i];
        if (h->family == family && memcmp(h->addr, addr, family == AF_INET ? 4 : 16) == 0) {
            add_ptr(c, a, "config", h->name, (uint32_t)h->ttl_s);
            return true;
        }
    }
    const char *name =
        c->src->hosts != NULL ? hosts_lookup_addr(c->src->hosts, family, addr) : NULL;
    if (name != NULL) {
        add_ptr(c, a, "hosts", name, a->ttl_s);
        return true;
    }
    struct ln_ctx *w = arg;
    if (synth_reverse(c->src->synth, family, addr, w->synth_name, sizeof(w->synth_name))) {
        add_ptr(c, a, "config", w->synth_name, a->ttl_s);
        /* dnsmasq's is_rev_synth writes the made-up name over the query name, so the rest of an
         * ANY answer (A/AAAA) is for that name, under the reverse owner. */
        a->name = w->synth_name;
        a->name_len = strlen(w->synth_name);
        return true;
    }
    return false;
}

static bool ln_on_local_net(const struct localname_src *src, const uint8_t *addr)
{
    unsigned bits = src->local4_prefix;
    uint32_t mask = bits == 0 ? 0 : 0xFFFFFFFFu << (32 - bits);
    uint32_t x =
        ((uint32_t)addr[0] << 24 | (uint32_t)addr[1] << 16 | (uint32_t)addr[2] << 8 | addr[3]) ^
        ((uint32_t)src->local4[0] << 24 | (uint32_t)src->local4[1] << 16 |
         (uint32_t)src->local4[2] << 8 | src->local4[3]);
    return (x & mask) == 0;
}

/* localise-queries: does one of name's host-record or hosts IPv4 addresses lie on the query's
 * subnet (dnsmasq answer_request: then the others are left out)? */
static bool ln_localised(const struct ln_ctx *c, const char *name, size_t len)
{
    const struct localname *ln = c->src->names;
    const struct ln_host *h = find_host(ln, name, len);
    for (; h != NULL && h < ln->hosts + ln->host_count && keycmp(h->name, name, len) == 0; h++) {
        if (h->family == AF_INET && ln_on_local_net(c->src, h->addr)) {
            return true;
        }
    }
    uint8_t addrs[LN_ADDRS_MAX * 4];
    uint32_t n = c->src->hosts == NULL
                     ? 0
                     : hosts_lookup(c->src->hosts, name, len, AF_INET, 0, addrs, LN_ADDRS_MAX);
    for (uint32_t i = 0; i < n && i < LN_ADDRS_MAX; i++) {
        if (ln_on_local_net(c->src, addrs + (size_t)i * 4)) {
            return true;
        }
    }
    return false;
}

/* The host-record and hosts-file addresses of name of one family, into section; returns how
 * many were added. An A answer under localise-queries keeps those on the query's subnet when
 * there are any. */
static size_t add_host_addrs(const struct ln_ctx *c, struct localrec_answer *a,
                             enum dnsmsg_section section, const char *name, size_t len,
                             const uint8_t *owner, size_t owner_len, int family)
{
    size_t alen = family == AF_INET6 ? 16 : 4, added = 0;
    uint16_t type = family == AF_INET6 ? DNSMSG_TYPE_AAAA : DNSMSG_TYPE_A;
    const struct localname *ln = c->src->names;
    bool localise = c->src->localise && family == AF_INET && section == DNSMSG_SECTION_ANSWER &&
                    ln_localised(c, name, len);
    const struct ln_host *h = find_host(ln, name, len);
    for (; h != NULL && h < ln->hosts + ln->host_count && keycmp(h->name, name, len) == 0; h++) {
        if (h->family == family && (!localise || ln_on_local_net(c->src, h->addr))) {
            if (section == DNSMSG_SECTION_ANSWER) {
                log_addr(c, "config", h->name, family, h->addr);
            }
            localrec_answer_add_rr(a, section, owner, owner_len, type, (uint32_t)h->ttl_s, h->addr,
                                   alen);
            added++;
        }
    }
    if (c->src->hosts == NULL) {
        return added;
    }
    uint8_t addrs[LN_ADDRS_MAX * 16];
    uint32_t n =
        hosts_lookup(c->src->hosts, name, len, family, c->src->rotate, addrs, LN_ADDRS_MAX);
    n = n < LN_ADDRS_MAX ? n : LN_ADDRS_MAX;
    for (uint32_t i = 0; i < n; i++) {
        if (localise && !ln_on_local_net(c->src, addrs + (size_t)i * alen)) {
            continue;
        }
        if (section == DNSMSG_SECTION_ANSWER) {
            log_addr(c, "hosts", a->name, family, addrs + (size_t)i * alen);
        }
        localrec_answer_add_rr(a, section, owner, owner_len, type, a->ttl_s,
                               addrs + (size_t)i * alen, alen);
        added++;
    }
    return added;
}

/* What ln_each_ifaddr calls for one current address of interface-name entry e; true stops it. */
typedef bool ln_ifaddr_fn(const struct ln_ctx *c, const struct ln_ifname *e,
                          const struct localname_ifaddr *addr, void *arg);

/* Calls fn for each current address of each interface-name entry of name (entries in
 * configuration order); returns true as soon as fn does, else false. */
static bool ln_each_ifaddr(const struct ln_ctx *c, const char *name, size_t len, ln_ifaddr_fn *fn,
                           void *arg)
{
    const struct localname *ln = c->src->names;
    struct localname_ifaddr list[LN_ADDRS_MAX];
    for (size_t i = 0; i < ln->ifname_count; i++) {
        const struct ln_ifname *e = &ln->ifnames[i];
        if (keycmp(e->name, name, len) != 0) {
            continue;
        }
        size_t n = ln_ifaddrs(c, e, list, LN_ADDRS_MAX);
        for (size_t k = 0; k < n; k++) {
            if (fn(c, e, &list[k], arg)) {
                return true;
            }
        }
    }
    return false;
}

static bool ifaddr_on_local_net(const struct ln_ctx *c, const struct ln_ifname *e,
                                const struct localname_ifaddr *addr, void *arg)
{
    (void)e;
    (void)arg;
    return addr->family == AF_INET && ln_on_local_net(c->src, addr->addr);
}

/* add_ifname_addrs' state for ifaddr_add. */
struct ln_ifname_add {
    struct localrec_answer *a;
    int family;
    bool localise;
    bool got;
};

static bool ifaddr_add(const struct ln_ctx *c, const struct ln_ifname *e,
                       const struct localname_ifaddr *addr, void *arg)
{
    struct ln_ifname_add *x = arg;
    if (addr->family != x->family || addr->rev_only ||
        (x->localise && !ln_on_local_net(c->src, addr->addr))) {
        return false;
    }
    x->got = x->a->answered = true;
    log_addr(c, "config", e->name, x->family, addr->addr);
    localrec_answer_add_rr(x->a, DNSMSG_SECTION_ANSWER, NULL, 0,
                           x->family == AF_INET6 ? DNSMSG_TYPE_AAAA : DNSMSG_TYPE_A, x->a->ttl_s,
                           addr->addr, x->family == AF_INET6 ? 16 : 4);
    return false;
}

/* interface-name: the interface's addresses now; none is no answer (dnsmasq logs NODATA and
 * looks no further for this family). Under localise-queries an A answer keeps the addresses on
 * the query's subnet when one of the name's interface IPv4 addresses is there. */
static void add_ifname_addrs(const struct ln_ctx *c, struct localrec_answer *a, int family)
{
    struct ln_ifname_add x = {a, family, false, false};
    x.localise = c->src->localise && family == AF_INET &&
                 ln_each_ifaddr(c, a->name, a->name_len, ifaddr_on_local_net, NULL);
    (void)ln_each_ifaddr(c, a->name, a->name_len, ifaddr_add, &x);
    if (!x.got) {
        ln_log(c, "config %s is %s", shown(a->name),
               family == AF_INET6 ? "NODATA-IPv6" : "NODATA-IPv4");
    }
}

static void on_addrs(void *arg, struct localrec_answer *a)
{
    const struct ln_ctx *c = arg;
    static const int families[] = {AF_INET, AF_INET6};
    for (size_t i = 0; i < 2; i++) {
        uint16_t type = families[i] == AF_INET6 ? DNSMSG_TYPE_AAAA : DNSMSG_TYPE_A;
        if (a->qtype != type && a->qtype != DNSMSG_TYPE_ANY) {
            continue;
        }
        if (find_ifname(c->src->names, a->name, a->name_len) != NULL) {
            add_ifname_addrs(c, a, families[i]);
            continue;
        }
        uint8_t addr[16];
        if (add_host_addrs(c, a, DNSMSG_SECTION_ANSWER, a->name, a->name_len, NULL, 0,
                           families[i]) != 0) {
            a->answered = true;
        } else if (synth_forward(c->src->synth, a->name, a->name_len, families[i], addr)) {
            /* synth-domain: only when the name has no address of this family otherwise. */
            a->answered = true;
            log_addr(c, "config", a->name, families[i], addr);
            localrec_answer_add_rr(a, DNSMSG_SECTION_ANSWER, NULL, 0, type, a->ttl_s, addr,
                                   families[i] == AF_INET6 ? 16 : 4);
        }
    }
}

static bool on_is_host(void *arg, const char *name, size_t len)
{
    const struct ln_ctx *c = arg;
    return is_host_name(c->src, name, len);
}

/* dnsmasq's additional section: every cached address of an MX/SRV target, both families. */
static void on_additional(void *arg, struct localrec_answer *a, const char *name, size_t len,
                          const uint8_t *owner, size_t owner_len)
{
    const struct ln_ctx *c = arg;
    add_host_addrs(c, a, DNSMSG_SECTION_ADDITIONAL, name, len, owner, owner_len, AF_INET);
    add_host_addrs(c, a, DNSMSG_SECTION_ADDITIONAL, name, len, owner, owner_len, AF_INET6);
}

static void on_counters(void *arg, struct localrec_counters *out)
{
    const struct ln_ctx *c = arg;
    if (c->h != NULL && c->h->counters != NULL) {
        c->h->counters(c->h->arg, out);
    }
}

static void on_record_log(void *arg, const char *name, uint16_t type)
{
    const struct ln_ctx *c = arg;
    char tbuf[DNSMSG_TYPE_NAME_MAX];
    ln_log(c, "config %s is <%s>", shown(name), dnsmsg_type_name(type, tbuf));
}

/* The cname= chain from the question name: a CNAME record per link, then the rest of the answer
 * is for the last target (dnsmasq answer_request). The owner and name buffers hold the current
 * target. */
static void follow_cnames(const struct ln_ctx *c, struct localrec_answer *a, char *name,
                          uint8_t *owner)
{
    /* dnsmasq stops after 255 links; loops are refused at load time. */
    for (int links = 0; links < 255; links++) {
        const struct ln_cname *cn = find_cname(c->src->names, a->name, a->name_len);
        if (cn == NULL) {
            return;
        }
        uint8_t wire[DNAME_WIRE_MAX + 1];
        size_t wl = localrec_name_to_wire(cn->target, wire, sizeof(wire));
        ln_log(c, "config %s is <CNAME>", shown(a->name));
        localrec_answer_add_rr(a, DNSMSG_SECTION_ANSWER, NULL, 0, DNSMSG_TYPE_CNAME,
                               (uint32_t)cn->ttl_s, wire, wl);
        a->answered = true;
        if (a->qtype == DNSMSG_TYPE_CNAME) {
            return;
        }
        size_t tl = strlen(cn->target);
        memcpy(name, cn->target, tl + 1);
        memcpy(owner, wire, wl);
        a->name = name;
        a->name_len = tl;
        a->owner = owner;
        a->owner_len = wl;
    }
}

void localname_answer(const struct localname_src *src, struct localrec_answer *a,
                      const struct localname_hooks *h)
{
    struct ln_ctx c = {.src = src, .h = h};
    char name[DNAME_KEY_MAX + 1];
    uint8_t owner[DNAME_WIRE_MAX + 1];
    if (a->qclass == DNSMSG_CLASS_IN) {
        follow_cnames(&c, a, name, owner);
    }
    struct localrec_hooks lh = {
        .arg = &c,
        .ptr_first = on_ptr_first,
        .ptr_hosts = on_ptr_hosts,
        .addrs = on_addrs,
        .is_host = on_is_host,
        .additional = on_additional,
        .counters = on_counters,
        .log = on_record_log,
    };
    localrec_answer(src->records, a, &lh);
}
