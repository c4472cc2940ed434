/* query_local.c - the answers dnsroute gives from its own configuration, in dnsmasq
 * answer_request's order: local records, the hosts files and the CHAOS names, then (after the
 * domain tree lookup in query.c) address=, local=, domain-needed, bogus-priv and REFUSED for a
 * name without a server. Each answer ends the query through query_reply_built(). */
#include "query_impl.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "dnsroute/ifaddr.h"
#include "dnsroute/localname.h"
#include "dnsroute/localrec.h"
#include "dnsroute/log.h"

static void query_send_local(struct query *q, const struct dnsmsg_local *a)
{
    uint8_t *out = query_scratch(q->ctx);
    int len = dnsmsg_write_local(out, QUERY_REPLY_CAP, &q->q, a);
    query_reply_built(q, out, len, QUERY_OUT_LOCAL);
}

/* ---- Local records and CHAOS names (dnsmasq answer_request: before any routing). */

static void on_records_counters(void *arg, struct localrec_counters *out)
{
    struct query *q = arg;
    if (q->ctx->counters != NULL) {
        q->ctx->counters(q->ctx->counters_arg, out);
    }
}

static void on_records_log(void *arg, const char *line)
{
    struct query *q = arg;
    if (query_logging(q)) {
        query_log(q, "%s", line);
    }
}

/* interface-name: the addresses of an interface from this worker's table, opened on first use
 * and kept current by rtnetlink. */
static size_t on_records_ifaddrs(void *arg, const char *ifname, struct localname_ifaddr *out,
                                 size_t max)
{
    struct query *q = arg;
    struct query_ctx *ctx = q->ctx;
    if (ctx->ifaddrs == NULL && ifaddr_new(ctx->loop, &ctx->ifaddrs) < 0) {
        log_error("interface-name: cannot read interface addresses");
        return 0;
    }
    return ifaddr_lookup_name(ctx->ifaddrs, ifname, out, max);
}

static struct localname_src query_local_src(const struct query *q)
{
    const struct conf *c = q->gen->conf;
    return (struct localname_src){
        .names = c->names, .records = c->localrec, .hosts = c->hosts, .synth = c->synth};
}

/* localise-queries (dnsmasq receive_query/tcp_request): the subnet of the interface that has
 * the IPv4 address the query was sent to; none (IPv6, an address on no interface) leaves the
 * answer whole. */
static void query_local_localise(struct query *q, struct localname_src *src)
{
    struct query_ctx *ctx = q->ctx;
    const union sockaddr_any *local = &q->client.local;
    if (local->sa.sa_family != AF_INET ||
        (ctx->ifaddrs == NULL && ifaddr_new(ctx->loop, &ctx->ifaddrs) < 0)) {
        return;
    }
    memcpy(src->local4, &local->sin.sin_addr, 4);
    src->localise = ifaddr_prefix_of(ctx->ifaddrs, AF_INET, src->local4, &src->local4_prefix);
}

bool query_may_answer_records(const struct query *q)
{
    struct localname_src src = query_local_src(q);
    return localname_may_answer(&src, q->key, q->key_len, q->q.qtype, q->q.qclass);
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

/* Hosts files, host-record, cname, interface-name, synth-domain, ptr-record, txt-record,
 * srv-host, mx-host, caa-record, naptr-record, dns-rr and the CHAOS names (localname.h).
 * Returns false when they do not answer the query (it goes on to be routed). */
bool query_answer_records(struct query *q)
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
    struct localname_hooks h = {.arg = q,
                                .ifaddrs = on_records_ifaddrs,
                                .counters = on_records_counters,
                                .log = on_records_log};
    struct localname_src src = query_local_src(q);
    src.rotate = q->ctx->hosts_rotate++;
    if (DNSROUTE_UNLIKELY(c->localise_queries)) {
        query_local_localise(q, &src);
    }
    localname_answer(&src, &a, &h);
    if (!a.answered) {
        return false;
    }
    if (a.notimp && query_logging(q)) {
        query_log(q, "config %s is %s", query_name(q), "NOTIMP");
    }
    int len = query_records_finish(q, &b, limit, &a);
    query_reply_built(q, out, len, QUERY_OUT_LOCAL);
    return true;
}

bool query_name_is_local(const struct query *q)
{
    struct localname_src src = query_local_src(q);
    return localname_is_local(&src, q->key, q->key_len);
}

/* The log-queries lines of an address= answer, dnsmasq's "config NAME is ADDR" each. */
static void query_log_literals(struct query *q, const struct domtree_result *r)
{
    int family = r->addr_family == AF_INET6 ? AF_INET6 : AF_INET;
    for (uint32_t i = 0; query_logging(q) && i < r->addr_count; i++) {
        query_log_addr(q, "config", family, r->addrs + (size_t)i * (family == AF_INET6 ? 16 : 4));
    }
    if (r->addr_family == AF_UNSPEC && query_logging(q)) {
        query_log_addr(q, "config", AF_INET6, r->addrs);
    }
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
        if (r->addr_family == AF_UNSPEC) { /* ANY for address=/d/#: A 0.0.0.0 and AAAA :: */
            a.aaaa_after = r->addrs;
            a.aaaa_after_count = 1;
        }
        query_log_literals(q, r);
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

/* domain-needed: dnsmasq never forwards A/AAAA for a dotless name; other types go out (to
 * server=// if there is one): found by tests/e2e/test_dns_options.sh against 2.90. */
static bool query_answer_domain_needed(struct query *q)
{
    bool addr_qtype = q->q.qtype == DNSMSG_TYPE_A || q->q.qtype == DNSMSG_TYPE_AAAA;
    if (!q->gen->conf->domain_needed || !addr_qtype || !query_is_dotless(q)) {
        return false;
    }
    uint8_t rcode = query_name_is_local(q) ? DNSMSG_RCODE_NOERROR : DNSMSG_RCODE_NXDOMAIN;
    if (query_logging(q)) {
        query_log(q, "config %s is %s", query_name(q),
                  rcode == DNSMSG_RCODE_NXDOMAIN ? "NXDOMAIN" : "NODATA");
    }
    query_reply_rcode(q, rcode, QUERY_OUT_LOCAL);
    return true;
}

bool query_answer_policy(struct query *q)
{
    enum domtree_action action = q->route.action;
    if (action != DOMTREE_FORWARD && action != DOMTREE_REFUSED) {
        query_answer_local(q);
        return true;
    }
    /* domain-needed and bogus-priv answer before "no server" (REFUSED), as dnsmasq. */
    if (query_answer_domain_needed(q)) {
        return true;
    }
    if (q->gen->conf->bogus_priv && !q->route.domain_specific && query_is_private_ptr(q)) {
        query_answer_bogus_priv(q);
        return true;
    }
    if (action == DOMTREE_REFUSED) {
        query_answer_local(q);
        return true;
    }
    return false;
}
