/* test_domtree.c - unit tests of the domain table: dnsmasq 2.92+ priorities inside one domain,
 * continuing with shorter suffixes, label boundaries, case, '*' wildcards, server=// (dotless
 * names), server=/d/#, REFUSED, ipset=/nftset= choice, group interning; and a differential test
 * against a brute-force reference (small dense rule sets scanned linearly, and the real china list
 * or an equivalent generated list searched per suffix). */
#include "dnsroute/domtree.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <time.h>

#include "check.h"
#include "dnsroute/compat.h"
#include "dnsroute/dname.h"
#include "dnsroute/err.h"
#include "dnsroute/mem.h"

enum { QA = 1, QAAAA = 28, QTXT = 16, QMX = 15, QANY = 255 };

/* ---- helpers for hand-written cases ---- */

/* Adds one rule as conf.c would: domain text as written between slashes ("//" for server=//). */
static int add(struct domtree *t, enum domtree_rule_kind kind, const char *domain, uint32_t id,
               const char *addr)
{
    struct domtree_rule r = {.kind = kind, .scope = DOMTREE_SCOPE_SUFFIX, .id = id};
    if (addr != NULL) {
        int af = kind == DOMTREE_RULE_ADDR6 ? AF_INET6 : AF_INET;
        CHECK_INT_EQ(inet_pton(af, addr, r.addr), 1);
    }
    if (strcmp(domain, "//") == 0) {
        r.scope = DOMTREE_SCOPE_NODOTS;
        return domtree_add(t, "", 0, &r);
    }
    bool sets = kind == DOMTREE_RULE_IPSET || kind == DOMTREE_RULE_NFTSET;
    bool wild = false;
    char key[DNAME_KEY_MAX + 1];
    int len = dname_canonicalise(domain, strlen(domain), !sets, &wild, key, sizeof(key));
    CHECK(len >= 0);
    r.scope = wild ? DOMTREE_SCOPE_WILDCARD : DOMTREE_SCOPE_SUFFIX;
    return domtree_add(t, key, (size_t)len, &r);
}

#define ADD(t, kind, domain, id, addr)                                                             \
    CHECK_INT_EQ(add(t, DOMTREE_RULE_##kind, domain, id, addr), 0)

static struct domtree_result look(const struct domtree *t, const char *name, uint16_t qtype)
{
    struct domtree_result r;
    memset(&r, 0x5a, sizeof(r));
    domtree_lookup(t, name, strlen(name), qtype, &r);
    return r;
}

/* The server ids of a forward decision, as "1,2,3". */
static const char *servers_of(const struct domtree *t, const struct domtree_result *r, char *buf)
{
    buf[0] = '\0';
    if (r->action != DOMTREE_FORWARD) {
        return "not-forward";
    }
    uint32_t count;
    const uint32_t *ids = domtree_group_servers(t, r->group, &count);
    for (uint32_t i = 0; i < count; i++) {
        sprintf(buf + strlen(buf), i ? ",%u" : "%u", ids[i]);
    }
    return buf;
}

static void check_forward(const struct domtree *t, const char *name, uint16_t qtype,
                          const char *servers, bool specific)
{
    char buf[256];
    struct domtree_result r = look(t, name, qtype);
    if (r.action != DOMTREE_FORWARD || strcmp(servers_of(t, &r, buf), servers) != 0 ||
        r.domain_specific != specific) {
        fprintf(stderr, "  %s type %u: action %d servers %s specific %d\n", name, qtype, r.action,
                servers_of(t, &r, buf), r.domain_specific);
    }
    CHECK_INT_EQ(r.action, DOMTREE_FORWARD);
    CHECK_STR_EQ(servers_of(t, &r, buf), servers);
    CHECK_INT_EQ(r.domain_specific, specific);
}

static void check_action(const struct domtree *t, const char *name, uint16_t qtype,
                         enum domtree_action action)
{
    struct domtree_result r = look(t, name, qtype);
    if (r.action != action) {
        fprintf(stderr, "  %s type %u: action %d, want %d\n", name, qtype, r.action, action);
    }
    CHECK_INT_EQ(r.action, action);
}

/* Checks an ADDRESS answer: family and the literals as text, "1.2.3.4 5.6.7.8". */
static void check_address(const struct domtree *t, const char *name, uint16_t qtype,
                          const char *want)
{
    struct domtree_result r = look(t, name, qtype);
    CHECK_INT_EQ(r.action, DOMTREE_ADDRESS);
    if (qtype != QANY) {
        CHECK_INT_EQ(r.addr_family, qtype == QA ? AF_INET : AF_INET6);
    }
    char text[512] = "";
    int family = r.addr_family == AF_INET ? AF_INET : AF_INET6; /* AF_UNSPEC: both zeros */
    size_t step = family == AF_INET ? 4 : 16;
    for (uint32_t i = 0; i < r.addr_count; i++) {
        char one[INET6_ADDRSTRLEN];
        inet_ntop(family, r.addrs + i * step, one, sizeof(one));
        sprintf(text + strlen(text), i ? " %s" : "%s", one);
    }
    CHECK_STR_EQ(text, r.addr_family == AF_UNSPEC ? "::" : want);
    if (r.addr_family == AF_UNSPEC) {
        CHECK_STR_EQ("0.0.0.0 ::", want);
    }
}

static void check_route_key(const struct domtree *t, const char *name, const char *want)
{
    struct domtree_result r = look(t, name, QA);
    char key[DNAME_KEY_MAX + 1];
    CHECK(r.route_key_len < sizeof(key));
    memcpy(key, r.route_key, r.route_key_len);
    key[r.route_key_len] = '\0';
    CHECK_STR_EQ(key, want);
}

static void check_sets(const struct domtree *t, const char *name, uint32_t ipset, uint32_t nftset)
{
    struct domtree_result r = look(t, name, QA);
    CHECK_INT_EQ(r.ipset_list, ipset);
    CHECK_INT_EQ(r.nftset_list, nftset);
}

/* ---- hand-written cases ---- */

static void test_priority_same_domain(void)
{
    struct domtree *t = domtree_new();
    ADD(t, SERVER, "", 1, NULL);
    ADD(t, SERVER, "d.test", 7, NULL);
    ADD(t, USE_RESOLV, "d.test", 0, NULL);
    ADD(t, LOCAL, "d.test", 0, NULL);
    ADD(t, ZEROS, "d.test", 0, NULL);
    ADD(t, ADDR4, "d.test", 0, "1.2.3.4");
    ADD(t, ADDR6, "d.test", 0, "2001:db8::1");
    ADD(t, ADDR4, "d.test", 0, "5.6.7.8");
    CHECK_INT_EQ(domtree_finish(t), 0);
    check_address(t, "x.d.test", QA, "1.2.3.4 5.6.7.8");
    check_address(t, "d.test", QAAAA, "2001:db8::1");
    /* local= with literals of another type: NODATA for every other type; ANY takes the AAAA
     * literals first (dnsmasq filter_servers with F_IPV4 | F_IPV6). */
    check_action(t, "x.d.test", QTXT, DOMTREE_NODATA);
    check_address(t, "x.d.test", QANY, "2001:db8::1");
    domtree_free(t);
}

static void test_priority_zeros(void)
{
    struct domtree *t = domtree_new();
    ADD(t, SERVER, "z.test", 3, NULL);
    ADD(t, ZEROS, "z.test", 0, NULL);
    ADD(t, ADDR6, "z6.test", 0, "::1");
    ADD(t, ZEROS, "z6.test", 0, NULL);
    ADD(t, ZEROS, "zl.test", 0, NULL);
    ADD(t, LOCAL, "zl.test", 0, NULL);
    CHECK_INT_EQ(domtree_finish(t), 0);
    check_address(t, "a.z.test", QA, "0.0.0.0");
    check_address(t, "a.z.test", QAAAA, "::");
    check_forward(t, "a.z.test", QMX, "3", true);
    /* The AAAA literal beats zeros for AAAA; zeros still answer A. */
    check_address(t, "z6.test", QAAAA, "::1");
    check_address(t, "z6.test", QA, "0.0.0.0");
    /* ANY: the AAAA literal before zeros; zeros alone answer both families. */
    check_address(t, "z6.test", QANY, "::1");
    check_address(t, "a.z.test", QANY, "0.0.0.0 ::");
    check_address(t, "zl.test", QANY, "0.0.0.0 ::");
    /* Nothing fits MX on z6.test and there are no defaults. */
    check_action(t, "z6.test", QMX, DOMTREE_REFUSED);
    check_action(t, "zl.test", QTXT, DOMTREE_NODATA);
    domtree_free(t);
}

static void test_priority_local(void)
{
    struct domtree *t = domtree_new();
    ADD(t, SERVER, "", 1, NULL);
    ADD(t, LOCAL, "l.test", 0, NULL);
    ADD(t, LOCAL, "la.test", 0, NULL);
    ADD(t, ADDR4, "la.test", 0, "9.9.9.9");
    /* 2.92+: local= beats server= on the same domain. */
    ADD(t, SERVER, "both.test", 5, NULL);
    ADD(t, LOCAL, "both.test", 0, NULL);
    /* ... and beats server=/d/#. */
    ADD(t, USE_RESOLV, "lr.test", 0, NULL);
    ADD(t, LOCAL, "lr.test", 0, NULL);
    CHECK_INT_EQ(domtree_finish(t), 0);
    check_action(t, "l.test", QA, DOMTREE_NXDOMAIN);
    check_action(t, "x.l.test", QTXT, DOMTREE_NXDOMAIN);
    check_address(t, "x.la.test", QA, "9.9.9.9");
    check_action(t, "x.la.test", QAAAA, DOMTREE_NODATA);
    check_action(t, "x.both.test", QA, DOMTREE_NXDOMAIN);
    check_action(t, "lr.test", QA, DOMTREE_NXDOMAIN);
    check_forward(t, "other.test", QA, "1", false);
    domtree_free(t);
}

static void test_use_resolv(void)
{
    struct domtree *t = domtree_new();
    ADD(t, SERVER, "", 1, NULL);
    ADD(t, SERVER, "", 2, NULL);
    ADD(t, ADDR4, "", 0, "9.9.9.9");
    ADD(t, SERVER, "corp.test", 5, NULL);
    ADD(t, USE_RESOLV, "pub.corp.test", 0, NULL);
    CHECK_INT_EQ(domtree_finish(t), 0);
    check_forward(t, "x.corp.test", QA, "5", true);
    /* server=/d/# goes to the real default servers; address=/#/ does not apply. */
    check_forward(t, "x.pub.corp.test", QA, "1,2", false);
    check_forward(t, "x.pub.corp.test", QTXT, "1,2", false);
    check_route_key(t, "x.pub.corp.test", "pub.corp.test");
    /* address=/#/9.9.9.9 beats the default servers for A, not for TXT. */
    check_address(t, "elsewhere.test", QA, "9.9.9.9");
    check_forward(t, "elsewhere.test", QTXT, "1,2", false);
    domtree_free(t);

    /* Without default servers, server=/d/# gives REFUSED. */
    t = domtree_new();
    ADD(t, USE_RESOLV, "pub.test", 0, NULL);
    ADD(t, ADDR4, "", 0, "9.9.9.9");
    CHECK_INT_EQ(domtree_finish(t), 0);
    check_action(t, "a.pub.test", QA, DOMTREE_REFUSED);
    check_address(t, "a.other", QA, "9.9.9.9");
    check_action(t, "a.other", QTXT, DOMTREE_REFUSED);
    domtree_free(t);
}

static void test_continue_shorter(void)
{
    struct domtree *t = domtree_new();
    ADD(t, SERVER, "", 1, NULL);
    ADD(t, SERVER, "d.test", 5, NULL);
    ADD(t, ADDR4, "sub.d.test", 0, "1.2.3.4");
    ADD(t, ADDR6, "v6.d.test", 0, "::2");
    ADD(t, ADDR4, "com", 0, "1.1.1.1");
    ADD(t, SERVER, "google.com", 8, NULL);
    ADD(t, ADDR4, "only.test", 0, "4.4.4.4");
    CHECK_INT_EQ(domtree_finish(t), 0);
    check_address(t, "x.sub.d.test", QA, "1.2.3.4");
    /* Nothing on sub.d.test fits TXT or AAAA: d.test's servers. */
    check_forward(t, "x.sub.d.test", QTXT, "5", true);
    check_forward(t, "x.sub.d.test", QAAAA, "5", true);
    check_route_key(t, "x.v6.d.test", "d.test");
    check_forward(t, "x.v6.d.test", QA, "5", true);
    check_address(t, "x.v6.d.test", QAAAA, "::2");
    /* The longest suffix wins whatever its kind. */
    check_forward(t, "www.google.com", QA, "8", true);
    check_address(t, "www.example.com", QA, "1.1.1.1");
    check_forward(t, "www.example.com", QMX, "1", false);
    check_forward(t, "only.test", QTXT, "1", false);
    domtree_free(t);
}

static void test_label_boundaries_and_case(void)
{
    struct domtree *t = domtree_new();
    ADD(t, SERVER, "", 1, NULL);
    ADD(t, SERVER, "baidu.com", 2, NULL);
    ADD(t, SERVER, "A.B.C", 3, NULL);
    CHECK_INT_EQ(domtree_finish(t), 0);
    check_forward(t, "baidu.com", QA, "2", true);
    check_forward(t, "www.baidu.com", QA, "2", true);
    check_forward(t, "WWW.BaiDu.CoM", QA, "2", true);
    check_forward(t, "xbaidu.com", QA, "1", false);
    check_forward(t, "aidu.com", QA, "1", false);
    check_forward(t, "com", QA, "1", false);
    check_forward(t, "baidu.com.cn", QA, "1", false);
    check_forward(t, "x.a.b.c", QA, "3", true);
    check_forward(t, "b.c", QA, "1", false);
    check_forward(t, "", QA, "1", false);
    /* An escaped dot is not a label boundary. */
    check_forward(t, "x\\046baidu.com", QA, "1", false);
    check_route_key(t, "WWW.baidu.com", "baidu.com");
    check_route_key(t, "xbaidu.com", "");
    domtree_free(t);
}

static void test_wildcards(void)
{
    struct domtree *t = domtree_new();
    ADD(t, SERVER, "", 1, NULL);
    ADD(t, SERVER, "*example.com", 2, NULL);
    ADD(t, SERVER, "example.com", 3, NULL);
    ADD(t, SERVER, "*.w.test", 4, NULL);
    ADD(t, SERVER, "*wild.test", 5, NULL);
    ADD(t, SERVER, "sub.wild.test", 6, NULL);
    ADD(t, ADDR4, "*a.test", 0, "1.1.1.1");
    ADD(t, SERVER, "a.test", 7, NULL);
    CHECK_INT_EQ(domtree_finish(t), 0);
    /* Equal length: the plain domain wins; it covers the names below it too. */
    check_forward(t, "example.com", QA, "3", true);
    check_forward(t, "www.example.com", QA, "3", true);
    check_forward(t, "notexample.com", QA, "2", true);
    check_forward(t, "NotExample.com", QA, "2", true);
    check_forward(t, "xample.com", QA, "1", false);
    check_forward(t, "x.w.test", QA, "4", true);
    check_forward(t, "y.x.w.test", QA, "4", true);
    check_forward(t, "w.test", QA, "1", false);
    check_forward(t, "xw.test", QA, "1", false);
    /* The longer match wins, wildcard or not. */
    check_forward(t, "x.sub.wild.test", QA, "6", true);
    check_forward(t, "xsub.wild.test", QA, "5", true);
    check_forward(t, "wild.test", QA, "5", true);
    /* Continue shorter past a wildcard node with nothing for the type. */
    check_address(t, "ba.test", QA, "1.1.1.1");
    check_forward(t, "ba.test", QTXT, "1", false);
    check_forward(t, "a.test", QA, "7", true);
    check_forward(t, "x.a.test", QA, "7", true);
    domtree_free(t);
}

static void test_nodots(void)
{
    struct domtree *t = domtree_new();
    ADD(t, SERVER, "", 1, NULL);
    ADD(t, ADDR4, "", 0, "9.9.9.9");
    ADD(t, SERVER, "//", 3, NULL);
    ADD(t, SERVER, "lan", 4, NULL);
    ADD(t, SERVER, "*ost", 5, NULL);
    CHECK_INT_EQ(domtree_finish(t), 0);
    check_forward(t, "plainname", QA, "3", true);
    check_forward(t, "PlainName", QTXT, "3", true);
    check_forward(t, "lan", QA, "4", true);
    check_forward(t, "myhost", QA, "5", true);
    check_address(t, "a.b", QA, "9.9.9.9");
    check_forward(t, "a.b", QTXT, "1", false);
    /* The root name has no dot but is not a plain name. */
    check_address(t, "", QA, "9.9.9.9");
    domtree_free(t);

    /* server=// alone: dotless names forward, others are refused. */
    t = domtree_new();
    ADD(t, SERVER, "//", 3, NULL);
    CHECK_INT_EQ(domtree_finish(t), 0);
    check_forward(t, "plain", QA, "3", true);
    check_action(t, "a.plain", QA, DOMTREE_REFUSED);
    check_action(t, "", QA, DOMTREE_REFUSED);
    domtree_free(t);
}

static void test_refused(void)
{
    struct domtree *t = domtree_new();
    CHECK_INT_EQ(domtree_finish(t), 0);
    struct domtree_result r = look(t, "a.com", QA);
    CHECK_INT_EQ(r.action, DOMTREE_REFUSED);
    CHECK_INT_EQ(r.ipset_list, DOMTREE_NONE);
    CHECK_INT_EQ(r.nftset_list, DOMTREE_NONE);
    CHECK_INT_EQ(r.route_key_len, 0);
    CHECK_INT_EQ(domtree_group_count(t), 0);
    domtree_free(t);

    t = domtree_new();
    ADD(t, SERVER, "a.com", 1, NULL);
    CHECK_INT_EQ(domtree_finish(t), 0);
    check_forward(t, "a.com", QA, "1", true);
    check_action(t, "b.com", QA, DOMTREE_REFUSED);
    check_action(t, "com", QA, DOMTREE_REFUSED);
    domtree_free(t);
}

static void test_sets(void)
{
    struct domtree *t = domtree_new();
    ADD(t, SERVER, "", 1, NULL);
    ADD(t, IPSET, "a.com", 10, NULL);
    ADD(t, IPSET, "a.com", 11, NULL); /* a later line for the same domain loses */
    ADD(t, IPSET, "b.a.com", 12, NULL);
    ADD(t, NFTSET, "a.com", 20, NULL);
    ADD(t, NFTSET, "", 21, NULL);
    ADD(t, SERVER, "x.b.a.com", 2, NULL);
    ADD(t, LOCAL, "l.a.com", 0, NULL);
    ADD(t, IPSET, "*.s.com", 13, NULL); /* '*' is a literal label here */
    CHECK_INT_EQ(domtree_finish(t), 0);
    check_sets(t, "a.com", 10, 20);
    check_sets(t, "www.a.com", 10, 20);
    check_sets(t, "b.a.com", 12, 20);
    /* Sets follow the name, not the routing winner. */
    check_sets(t, "y.x.b.a.com", 12, 20);
    check_sets(t, "l.a.com", 10, 20);
    check_sets(t, "xa.com", DOMTREE_NONE, 21);
    check_sets(t, "", DOMTREE_NONE, 21);
    check_sets(t, "x.s.com", DOMTREE_NONE, 21);
    check_sets(t, "*.s.com", 13, 21);
    check_forward(t, "y.x.b.a.com", QA, "2", true);
    check_action(t, "l.a.com", QA, DOMTREE_NXDOMAIN);
    /* No '*' or '//' form for sets. */
    struct domtree_rule r = {.kind = DOMTREE_RULE_IPSET, .scope = DOMTREE_SCOPE_WILDCARD};
    domtree_free(t);
    t = domtree_new();
    CHECK_INT_EQ(domtree_add(t, "x.com", 5, &r), ERR_UNSUPPORTED);
    r.scope = DOMTREE_SCOPE_NODOTS;
    CHECK_INT_EQ(domtree_add(t, "", 0, &r), ERR_UNSUPPORTED);
    domtree_free(t);
}

static void test_groups(void)
{
    struct domtree *t = domtree_new();
    ADD(t, SERVER, "a", 1, NULL);
    ADD(t, SERVER, "b", 1, NULL);
    ADD(t, SERVER, "c", 2, NULL);
    ADD(t, SERVER, "a", 2, NULL);
    ADD(t, SERVER, "b", 2, NULL);
    ADD(t, SERVER, "c", 1, NULL);
    ADD(t, SERVER, "d", 1, NULL);
    ADD(t, SERVER, "d", 1, NULL); /* repeated: asked once */
    ADD(t, SERVER, "e", 1, NULL);
    ADD(t, SERVER, "", 1, NULL);
    CHECK_INT_EQ(domtree_finish(t), 0);
    CHECK_INT_EQ(domtree_group_count(t), 3);
    CHECK_INT_EQ(domtree_domain_count(t), 6);
    struct domtree_result ra = look(t, "a", QA), rb = look(t, "x.b", QA), rc = look(t, "c", QA);
    struct domtree_result rd = look(t, "d", QA), re = look(t, "e", QA), rr = look(t, "z", QA);
    CHECK_INT_EQ(ra.group, rb.group);
    CHECK(ra.group != rc.group);
    CHECK_INT_EQ(rd.group, re.group);
    CHECK_INT_EQ(rd.group, rr.group);
    CHECK(!rr.domain_specific);
    CHECK(rd.domain_specific);
    check_forward(t, "a", QA, "1,2", true);
    check_forward(t, "c", QA, "2,1", true);
    check_forward(t, "d", QA, "1", true);
    domtree_free(t);
}

static void test_add_errors(void)
{
    struct domtree *t = domtree_new();
    struct domtree_rule r = {.kind = DOMTREE_RULE_SERVER, .scope = DOMTREE_SCOPE_SUFFIX, .id = 1};
    CHECK_INT_EQ(domtree_add(t, "A.com", 5, &r), ERR_BAD_DOMAIN);
    CHECK_INT_EQ(domtree_add(t, "a com", 5, &r), ERR_BAD_DOMAIN);
    CHECK_INT_EQ(domtree_add(t, "a.com", 5, &r), 0);
    r.scope = DOMTREE_SCOPE_NODOTS;
    CHECK_INT_EQ(domtree_add(t, "a.com", 5, &r), ERR_BAD_DOMAIN);
    char big[DNAME_KEY_MAX + 2];
    memset(big, 'a', sizeof(big));
    r.scope = DOMTREE_SCOPE_SUFFIX;
    CHECK_INT_EQ(domtree_add(t, big, sizeof(big), &r), ERR_BAD_DOMAIN);
    CHECK_INT_EQ(domtree_finish(t), 0);
    /* A query longer than any key still finds its suffixes. */
    char q[3000];
    memset(q, 'x', sizeof(q));
    memcpy(q + sizeof(q) - 6, ".a.com", 6);
    struct domtree_result res;
    domtree_lookup(t, q, sizeof(q), QA, &res);
    CHECK_INT_EQ(res.action, DOMTREE_FORWARD);
    CHECK(domtree_memory(t) > 0);
    domtree_free(t);
}

/* ---- the brute-force reference ---- */

struct ref_rule {
    enum domtree_rule_kind kind;
    enum domtree_scope scope;
    uint32_t id;
    uint8_t addr[16];
    const char *key; /* canonical, lower case, NUL-terminated (owned by ref_set.arena) */
    size_t klen;
};

struct ref_set {
    struct ref_rule *r;
    size_t count, cap;
    uint32_t *sorted; /* SUFFIX rules by (key, index), for the indexed search */
    size_t nsorted;
    uint32_t *others; /* WILDCARD and NODOTS rules */
    size_t nothers;
    uint32_t defaults[16]; /* servers of "" in order, deduplicated */
    size_t ndefaults;
};

struct ref_match {
    uint32_t idx;
    uint32_t len;
    uint32_t wild;
};

enum { REF_MAX_LIST = 64 };

struct ref_result {
    enum domtree_action action;
    uint32_t servers[REF_MAX_LIST];
    size_t nservers;
    bool specific;
    int family;
    uint8_t addrs[REF_MAX_LIST * 16];
    size_t naddrs;
    uint32_t ipset, nftset;
    const char *rkey;
    size_t rklen;
};

static void ref_push(struct ref_set *s, enum domtree_rule_kind kind, enum domtree_scope scope,
                     const char *key, size_t klen, uint32_t id, const uint8_t *addr)
{
    mem_grow((void **)&s->r, &s->cap, s->count + 1, sizeof(*s->r));
    struct ref_rule *r = &s->r[s->count++];
    memset(r, 0, sizeof(*r));
    if (scope == DOMTREE_SCOPE_WILDCARD && klen == 0) {
        scope = DOMTREE_SCOPE_SUFFIX; /* a lone '*' is a default rule */
    }
    r->kind = kind;
    r->scope = scope;
    r->id = id;
    if (addr != NULL) {
        memcpy(r->addr, addr, 16);
    }
    r->key = mem_strndup(key, klen);
    r->klen = klen;
}

static int ref_cmp(const void *a, const void *b, void *arg)
{
    const struct ref_set *s = arg;
    const struct ref_rule *x = &s->r[*(const uint32_t *)a];
    const struct ref_rule *y = &s->r[*(const uint32_t *)b];
    int c = strcmp(x->key, y->key);
    if (c != 0) {
        return c;
    }
    return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

static void ref_list_add(uint32_t *list, size_t *n, uint32_t v)
{
    for (size_t i = 0; i < *n; i++) {
        if (list[i] == v) {
            return;
        }
    }
    CHECK(*n < REF_MAX_LIST);
    list[(*n)++] = v;
}

/* Builds the indexes and feeds every rule, in order, to a new tree. */
static struct domtree *ref_build(struct ref_set *s)
{
    s->sorted = mem_alloc((s->count + 1) * sizeof(uint32_t));
    s->others = mem_alloc((s->count + 1) * sizeof(uint32_t));
    s->nsorted = s->nothers = s->ndefaults = 0;
    struct domtree *t = domtree_new();
    for (size_t i = 0; i < s->count; i++) {
        struct ref_rule *r = &s->r[i];
        if (r->scope == DOMTREE_SCOPE_SUFFIX) {
            s->sorted[s->nsorted++] = (uint32_t)i;
        } else {
            s->others[s->nothers++] = (uint32_t)i;
        }
        if (r->scope == DOMTREE_SCOPE_SUFFIX && r->klen == 0 && r->kind == DOMTREE_RULE_SERVER) {
            ref_list_add(s->defaults, &s->ndefaults, r->id);
        }
        struct domtree_rule dr = {.kind = r->kind, .scope = r->scope, .id = r->id};
        memcpy(dr.addr, r->addr, 16);
        CHECK_INT_EQ(domtree_add(t, r->key, r->klen, &dr), 0);
    }
    qsort_r(s->sorted, s->nsorted, sizeof(uint32_t), ref_cmp, s);
    CHECK_INT_EQ(domtree_finish(t), 0);
    return t;
}

static void ref_free(struct ref_set *s)
{
    for (size_t i = 0; i < s->count; i++) {
        free((void *)s->r[i].key);
    }
    free(s->r);
    free(s->sorted);
    free(s->others);
    memset(s, 0, sizeof(*s));
}

/* Length of rule r's match on the lower-case name, or -1. */
static long ref_match_len(const struct ref_rule *r, const char *name, size_t nlen)
{
    if (r->scope == DOMTREE_SCOPE_NODOTS) {
        return -1;
    }
    if (r->klen == 0) {
        return 0;
    }
    if (r->klen > nlen || memcmp(name + nlen - r->klen, r->key, r->klen) != 0) {
        return -1;
    }
    if (r->scope == DOMTREE_SCOPE_WILDCARD || r->klen == nlen || name[nlen - r->klen - 1] == '.') {
        return (long)r->klen;
    }
    return -1;
}

static void ref_match_push(const struct ref_set *s, uint32_t idx, const char *name, size_t nlen,
                           struct ref_match *m, size_t *count)
{
    long len = ref_match_len(&s->r[idx], name, nlen);
    if (len >= 0) {
        bool wild = s->r[idx].scope == DOMTREE_SCOPE_WILDCARD && s->r[idx].klen > 0;
        m[(*count)++] = (struct ref_match){idx, (uint32_t)len, wild};
    }
}

/* Every rule matching the name: by scanning all rules, or (indexed) by binary search of each
 * label-boundary suffix among SUFFIX rules plus a scan of the few others. */
static size_t ref_collect(const struct ref_set *s, const char *name, size_t nlen, bool indexed,
                          struct ref_match *m)
{
    size_t count = 0;
    if (!indexed) {
        for (uint32_t i = 0; i < s->count; i++) {
            ref_match_push(s, i, name, nlen, m, &count);
        }
        return count;
    }
    for (size_t i = 0; i < s->nothers; i++) {
        ref_match_push(s, s->others[i], name, nlen, m, &count);
    }
    for (size_t p = 0; p <= nlen; p++) {
        if (p != 0 && p != nlen && name[p - 1] != '.') {
            continue; /* not a label boundary */
        }
        const char *suf = name + p;
        size_t lo = 0, hi = s->nsorted;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (strcmp(s->r[s->sorted[mid]].key, suf) < 0) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        for (; lo < s->nsorted && strcmp(s->r[s->sorted[lo]].key, suf) == 0; lo++) {
            ref_match_push(s, s->sorted[lo], name, nlen, m, &count);
        }
    }
    return count;
}

static int ref_match_cmp(const void *a, const void *b)
{
    const struct ref_match *x = a, *y = b;
    if (x->len != y->len) {
        return x->len > y->len ? -1 : 1;
    }
    if (x->wild != y->wild) {
        return x->wild < y->wild ? -1 : 1;
    }
    return x->idx < y->idx ? -1 : 1;
}

static void ref_route_set(struct ref_result *out, enum domtree_action a, const char *key,
                          size_t klen)
{
    out->action = a;
    out->nservers = 0;
    out->specific = false;
    out->family = 0;
    out->naddrs = 0;
    out->rkey = key;
    out->rklen = klen;
}

/* dnsmasq 2.92 filter_servers over one domain's rules (given in configuration order). */
static bool ref_filter(const struct ref_set *s, const uint32_t *idx, size_t n, uint16_t qtype,
                       bool is_root, struct ref_result *out)
{
    uint8_t a4[REF_MAX_LIST][16], a6[REF_MAX_LIST][16];
    size_t n4 = 0, n6 = 0, nserv = 0;
    uint32_t serv[REF_MAX_LIST];
    bool zeros = false, local = false, resolv = false;
    const char *key = n ? s->r[idx[0]].key : "";
    size_t klen = n ? s->r[idx[0]].klen : 0;
    for (size_t i = 0; i < n; i++) {
        const struct ref_rule *r = &s->r[idx[i]];
        switch (r->kind) {
        case DOMTREE_RULE_ADDR4:
            CHECK(n4 < REF_MAX_LIST);
            memcpy(a4[n4++], r->addr, 16);
            break;
        case DOMTREE_RULE_ADDR6:
            CHECK(n6 < REF_MAX_LIST);
            memcpy(a6[n6++], r->addr, 16);
            break;
        case DOMTREE_RULE_ZEROS:
            zeros = true;
            break;
        case DOMTREE_RULE_LOCAL:
            local = true;
            break;
        case DOMTREE_RULE_USE_RESOLV:
            resolv = true;
            break;
        case DOMTREE_RULE_SERVER:
            ref_list_add(serv, &nserv, r->id);
            break;
        default:
            break;
        }
    }
    bool want6 = (qtype == QAAAA || qtype == QANY) && n6;
    bool want4 = !want6 && (qtype == QA || qtype == QANY) && n4;
    if (want6 || want4) {
        ref_route_set(out, DOMTREE_ADDRESS, key, klen);
        out->family = want4 ? AF_INET : AF_INET6;
        size_t step = want4 ? 4 : 16;
        out->naddrs = want4 ? n4 : n6;
        for (size_t i = 0; i < out->naddrs; i++) {
            memcpy(out->addrs + i * step, want4 ? a4[i] : a6[i], step);
        }
        return true;
    }
    if (zeros && (qtype == QA || qtype == QAAAA || qtype == QANY)) {
        ref_route_set(out, DOMTREE_ADDRESS, key, klen);
        out->family = qtype == QANY ? AF_UNSPEC : qtype == QA ? AF_INET : AF_INET6;
        out->naddrs = 1;
        memset(out->addrs, 0, 16);
        return true;
    }
    if (local) {
        ref_route_set(out, (n4 || n6 || zeros) ? DOMTREE_NODATA : DOMTREE_NXDOMAIN, key, klen);
        return true;
    }
    if (resolv) {
        ref_route_set(out, s->ndefaults ? DOMTREE_FORWARD : DOMTREE_REFUSED, key, klen);
        out->nservers = s->ndefaults;
        memcpy(out->servers, s->defaults, s->ndefaults * sizeof(uint32_t));
        return true;
    }
    if (nserv) {
        ref_route_set(out, DOMTREE_FORWARD, key, klen);
        out->nservers = nserv;
        memcpy(out->servers, serv, nserv * sizeof(uint32_t));
        out->specific = !is_root;
        return true;
    }
    return false;
}

static void ref_nodots(const struct ref_set *s, uint16_t qtype, struct ref_result *out)
{
    uint32_t idx[REF_MAX_LIST];
    size_t n = 0;
    for (size_t i = 0; i < s->nothers; i++) {
        if (s->r[s->others[i]].scope == DOMTREE_SCOPE_NODOTS) {
            CHECK(n < REF_MAX_LIST);
            idx[n++] = s->others[i];
        }
    }
    struct ref_result r = *out;
    if (n > 0 && ref_filter(s, idx, n, qtype, false, &r)) {
        r.specific = r.action == DOMTREE_FORWARD;
        *out = r;
    }
}

static void ref_lookup(const struct ref_set *s, const char *qname, size_t nlen, uint16_t qtype,
                       bool indexed, struct ref_match *m, struct ref_result *out)
{
    char name[DNAME_KEY_MAX * 4];
    CHECK(nlen < sizeof(name));
    for (size_t i = 0; i < nlen; i++) {
        name[i] = (char)tolower((unsigned char)qname[i]);
    }
    name[nlen] = '\0';
    size_t count = ref_collect(s, name, nlen, indexed, m);
    qsort(m, count, sizeof(*m), ref_match_cmp);
    ref_route_set(out, DOMTREE_REFUSED, "", 0);
    out->ipset = out->nftset = DOMTREE_NONE;
    bool routed = false, at_root = false;
    uint32_t idx[REF_MAX_LIST];
    for (size_t i = 0; i < count;) {
        size_t j = i, n = 0;
        for (; j < count && m[j].len == m[i].len && m[j].wild == m[i].wild; j++) {
            const struct ref_rule *r = &s->r[m[j].idx];
            if (r->kind == DOMTREE_RULE_IPSET && out->ipset == DOMTREE_NONE) {
                out->ipset = r->id;
            } else if (r->kind == DOMTREE_RULE_NFTSET && out->nftset == DOMTREE_NONE) {
                out->nftset = r->id;
            } else if (r->kind != DOMTREE_RULE_IPSET && r->kind != DOMTREE_RULE_NFTSET) {
                CHECK(n < REF_MAX_LIST);
                idx[n++] = m[j].idx;
            }
        }
        bool root = m[i].len == 0;
        if (!routed && n > 0 && ref_filter(s, idx, n, qtype, root, out)) {
            routed = true;
            at_root = root;
        }
        i = j;
    }
    if (nlen > 0 && memchr(name, '.', nlen) == NULL && (!routed || at_root)) {
        ref_nodots(s, qtype, out);
    }
}

/* Compares the tree's answer with the reference; prints the case on a mismatch. */
static void ref_compare(const struct domtree *t, const char *name, size_t nlen, uint16_t qtype,
                        const struct ref_result *want)
{
    struct domtree_result got;
    domtree_lookup(t, name, nlen, qtype, &got);
    bool ok = got.action == want->action && got.ipset_list == want->ipset &&
              got.nftset_list == want->nftset;
    if (ok && got.action != DOMTREE_REFUSED) {
        ok =
            got.route_key_len == want->rklen && memcmp(got.route_key, want->rkey, want->rklen) == 0;
    }
    if (ok && got.action == DOMTREE_FORWARD) {
        uint32_t count;
        const uint32_t *ids = domtree_group_servers(t, got.group, &count);
        ok = count == want->nservers && memcmp(ids, want->servers, count * 4) == 0 &&
             got.domain_specific == want->specific;
    }
    if (ok && got.action == DOMTREE_ADDRESS) {
        size_t step = want->family == AF_INET ? 4 : 16;
        ok = got.addr_family == want->family && got.addr_count == want->naddrs &&
             memcmp(got.addrs, want->addrs, step * want->naddrs) == 0;
    }
    if (!ok) {
        fprintf(stderr,
                "  mismatch for '%.*s' type %u: action %d/%d ipset %u/%u nftset %u/%u "
                "route '%.*s'/'%.*s'\n",
                (int)nlen, name, qtype, got.action, want->action, got.ipset_list, want->ipset,
                got.nftset_list, want->nftset, (int)got.route_key_len, got.route_key,
                (int)want->rklen, want->rkey);
    }
    CHECK(ok);
}

/* ---- random rules and names ---- */

static uint64_t rng_next(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

static const char *const vocab[] = {"a", "b", "c", "ab", "com", "net", "x", "cn"};
static const uint16_t qtypes[] = {QA, QAAAA, QTXT, QMX, QANY, QA, QAAAA};

static size_t rand_name(uint64_t *rng, char *out, unsigned max_labels)
{
    size_t n = 0;
    unsigned labels = (unsigned)(rng_next(rng) % (max_labels + 1));
    for (unsigned i = 0; i < labels; i++) {
        const char *l = vocab[rng_next(rng) % DNSROUTE_ARRAY_LEN(vocab)];
        n += (size_t)sprintf(out + n, i ? ".%s" : "%s", l);
    }
    out[n] = '\0';
    return n;
}

static void rand_rule(struct ref_set *s, uint64_t *rng)
{
    char key[64];
    size_t klen = rand_name(rng, key, 3);
    unsigned k = (unsigned)(rng_next(rng) % 100);
    enum domtree_scope scope = DOMTREE_SCOPE_SUFFIX;
    unsigned sc = (unsigned)(rng_next(rng) % 100);
    if (sc < 3) {
        scope = DOMTREE_SCOPE_NODOTS;
        klen = 0;
        key[0] = '\0';
    } else if (sc < 15 && klen > 1) {
        /* '*' forms: a tail of a name, sometimes starting inside a label or at a dot. */
        scope = DOMTREE_SCOPE_WILDCARD;
        size_t cut = rng_next(rng) % klen;
        memmove(key, key + cut, klen - cut + 1);
        klen -= cut;
    }
    uint8_t addr[16] = {0};
    for (size_t i = 0; i < 16; i++) {
        addr[i] = (uint8_t)rng_next(rng);
    }
    enum domtree_rule_kind kind = k < 35   ? DOMTREE_RULE_SERVER
                                  : k < 42 ? DOMTREE_RULE_LOCAL
                                  : k < 52 ? DOMTREE_RULE_ADDR4
                                  : k < 62 ? DOMTREE_RULE_ADDR6
                                  : k < 68 ? DOMTREE_RULE_ZEROS
                                  : k < 73 ? DOMTREE_RULE_USE_RESOLV
                                  : k < 88 ? DOMTREE_RULE_IPSET
                                           : DOMTREE_RULE_NFTSET;
    if (kind == DOMTREE_RULE_IPSET || kind == DOMTREE_RULE_NFTSET) {
        scope = DOMTREE_SCOPE_SUFFIX;
    }
    if (scope == DOMTREE_SCOPE_WILDCARD && klen == 0) {
        scope = DOMTREE_SCOPE_SUFFIX;
    }
    ref_push(s, kind, scope, key, klen, (uint32_t)(rng_next(rng) % 6), addr);
}

static size_t rand_query(uint64_t *rng, char *q)
{
    size_t n = rand_name(rng, q, 5);
    if (rng_next(rng) % 8 == 0 && n > 0) {
        q[rng_next(rng) % n] = 'z';
    }
    if (rng_next(rng) % 5 == 0) {
        for (size_t i = 0; i < n; i++) {
            q[i] = (char)toupper((unsigned char)q[i]);
        }
    }
    return n;
}

/* Many small dense rule sets: the reference scans every rule; the indexed search must agree. */
static void test_differential_small(void)
{
    uint64_t rng = 12345;
    struct ref_match *m = mem_alloc(1000 * sizeof(*m));
    size_t checked = 0;
    for (int round = 0; round < 40; round++) {
        struct ref_set s = {0};
        size_t nrules = 20 + rng_next(&rng) % 300;
        for (size_t i = 0; i < nrules; i++) {
            rand_rule(&s, &rng);
        }
        struct domtree *t = ref_build(&s);
        for (int i = 0; i < 2500; i++) {
            char q[128];
            size_t n = rand_query(&rng, q);
            uint16_t qtype = qtypes[rng_next(&rng) % DNSROUTE_ARRAY_LEN(qtypes)];
            struct ref_result want, want2;
            ref_lookup(&s, q, n, qtype, false, m, &want);
            ref_lookup(&s, q, n, qtype, true, m, &want2);
            CHECK_INT_EQ(want.action, want2.action);
            CHECK_INT_EQ(want.ipset, want2.ipset);
            ref_compare(t, q, n, qtype, &want);
            checked++;
        }
        domtree_free(t);
        ref_free(&s);
    }
    fprintf(stderr, "  %zu names checked against a linear scan\n", checked);
    free(m);
}

/* ---- the china list ---- */

/* Adds one server=/d/114.114.114.114 line's rules (server id 1) plus an ipset= for the domain. */
static void china_add(struct ref_set *s, const char *dom, size_t len, size_t n)
{
    char key[DNAME_KEY_MAX + 1];
    bool wild;
    int kl = dname_canonicalise(dom, len, true, &wild, key, sizeof(key));
    CHECK(kl >= 0);
    enum domtree_scope sc = wild ? DOMTREE_SCOPE_WILDCARD : DOMTREE_SCOPE_SUFFIX;
    ref_push(s, DOMTREE_RULE_SERVER, sc, key, (size_t)kl, 1, NULL);
    if (!wild) {
        ref_push(s, DOMTREE_RULE_IPSET, sc, key, (size_t)kl, 100 + (uint32_t)(n % 3), NULL);
    }
}

static size_t china_load_file(struct ref_set *s, const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return 0;
    }
    char line[1200];
    size_t n = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "server=/", 8) != 0) {
            continue;
        }
        char *end = strchr(line + 8, '/');
        if (end != NULL) {
            china_add(s, line + 8, (size_t)(end - line - 8), n++);
        }
    }
    fclose(f);
    return n;
}

static size_t china_load(struct ref_set *s)
{
    const char *dir = getenv("DNSROUTE_CHINA_LIST");
    static const char *const files[] = {"accelerated-domains.china.conf", "apple.china.conf",
                                        "google.china.conf"};
    size_t n = 0;
    for (size_t i = 0; dir != NULL && i < DNSROUTE_ARRAY_LEN(files); i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        n += china_load_file(s, path);
    }
    return n;
}

/* Without the shared list: 111k random domains shaped like it (one or two labels + a TLD). */
static size_t china_generate(struct ref_set *s, uint64_t *rng)
{
    static const char *const tlds[] = {"com", "cn", "net", "com.cn", "org", "xyz", "top"};
    for (size_t i = 0; i < 111000; i++) {
        char d[96];
        size_t n = 0;
        unsigned labels = 1 + (rng_next(rng) % 10 == 0);
        for (unsigned l = 0; l < labels; l++) {
            unsigned ll = 2 + (unsigned)(rng_next(rng) % 12);
            for (unsigned c = 0; c < ll; c++) {
                d[n++] = "abcdefghijklmnopqrstuvwxyz0123456789-"[rng_next(rng) % 37];
            }
            d[n++] = '.';
        }
        n += (size_t)sprintf(d + n, "%s", tlds[rng_next(rng) % DNSROUTE_ARRAY_LEN(tlds)]);
        china_add(s, d, n, i);
    }
    return 111000;
}

/* Extra rules of every kind and scope on and around list domains. */
static void china_extras(struct ref_set *s, size_t base, uint64_t *rng)
{
    static const char *const fixed[] = {"", "com", "cn", "com.cn"};
    for (size_t i = 0; i < 600; i++) {
        const struct ref_rule *src = &s->r[rng_next(rng) % base];
        char key[DNAME_KEY_MAX + 1];
        size_t kl;
        unsigned how = (unsigned)(rng_next(rng) % 6);
        if (how == 0) {
            kl = (size_t)sprintf(key, "%s", fixed[rng_next(rng) % DNSROUTE_ARRAY_LEN(fixed)]);
        } else if (how == 1) {
            kl = (size_t)snprintf(key, sizeof(key), "sub.%s", src->key);
        } else {
            kl = (size_t)snprintf(key, sizeof(key), "%s", src->key);
        }
        if (how == 3) {
            ref_push(s, DOMTREE_RULE_SERVER, DOMTREE_SCOPE_SUFFIX, key, kl,
                     (uint32_t)(rng_next(rng) % 6), NULL);
        }
        rand_rule(s, rng);
        struct ref_rule *r = &s->r[s->count - 1];
        if (r->scope == DOMTREE_SCOPE_NODOTS) {
            continue;
        }
        /* Re-key the random rule onto this domain; a '*' rule becomes "*key" or "*.key". */
        bool wild = r->scope == DOMTREE_SCOPE_WILDCARD && kl > 0;
        char wkey[DNAME_KEY_MAX + 2];
        size_t wl = (size_t)snprintf(wkey, sizeof(wkey), "%s%s", wild && how == 2 ? "." : "", key);
        free((void *)r->key);
        r->key = mem_strndup(wkey, wl);
        r->klen = wl;
        r->scope = wild ? DOMTREE_SCOPE_WILDCARD : DOMTREE_SCOPE_SUFFIX;
    }
}

/* A query name around list domains: +0/+1/+2 labels, parents, near misses, misses. */
static size_t china_query(const struct ref_set *s, size_t base, uint64_t *rng, char *q)
{
    const struct ref_rule *r = &s->r[rng_next(rng) % base];
    unsigned how = (unsigned)(rng_next(rng) % 10);
    int n;
    switch (how) {
    case 0:
    case 1:
        n = snprintf(q, 300, "%s", r->key);
        break;
    case 2:
    case 3:
        n = snprintf(q, 300, "www.%s", r->key);
        break;
    case 4:
        n = snprintf(q, 300, "a%u.cdn.%s", (unsigned)(rng_next(rng) % 100), r->key);
        break;
    case 5:
        n = snprintf(q, 300, "x%s", r->key);
        break;
    case 6: {
        const char *dot = strchr(r->key, '.');
        n = snprintf(q, 300, "%s", dot ? dot + 1 : "");
        break;
    }
    case 7:
        n = snprintf(q, 300, "q%u.example%u.org", (unsigned)rng_next(rng), (unsigned)(how));
        break;
    case 8:
        n = snprintf(q, 300, "host%u", (unsigned)(rng_next(rng) % 50));
        break;
    default:
        n = snprintf(q, 300, "W.%s", r->key);
        for (char *p = q; *p; p++) {
            *p = (char)toupper((unsigned char)*p);
        }
        break;
    }
    return (size_t)n;
}

static void test_differential_china(void)
{
    uint64_t rng = 777;
    struct ref_set s = {0};
    size_t lines = china_load(&s);
    const char *origin = "shared china list";
    if (lines == 0) {
        lines = china_generate(&s, &rng);
        origin = "generated list";
    }
    size_t base = s.count;
    china_extras(&s, base, &rng);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    struct domtree *t = ref_build(&s);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
    fprintf(stderr,
            "  %s: %zu lines, %zu rules, %zu domains, %u groups, %zu bytes, build %.1f ms\n",
            origin, lines, s.count, domtree_domain_count(t), domtree_group_count(t),
            domtree_memory(t), ms);
    CHECK(domtree_domain_count(t) > 100000);
    /* A few MB: well inside the daemon's 15 MB budget. */
    CHECK(domtree_memory(t) < 8u * 1024 * 1024);
    struct ref_match *m = mem_alloc(s.count * sizeof(*m) + 64);
    size_t checked = 0, forwarded = 0;
    for (int i = 0; i < 120000; i++) {
        char q[320];
        size_t n = china_query(&s, base, &rng, q);
        uint16_t qtype = qtypes[rng_next(&rng) % DNSROUTE_ARRAY_LEN(qtypes)];
        struct ref_result want;
        ref_lookup(&s, q, n, qtype, true, m, &want);
        ref_compare(t, q, n, qtype, &want);
        forwarded += want.action == DOMTREE_FORWARD && want.specific;
        checked++;
    }
    fprintf(stderr, "  %zu names checked, %zu to a domain's servers\n", checked, forwarded);
    CHECK(forwarded > checked / 3);
    free(m);
    domtree_free(t);
    ref_free(&s);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_priority_same_domain),
    CHECK_CASE(test_priority_zeros),
    CHECK_CASE(test_priority_local),
    CHECK_CASE(test_use_resolv),
    CHECK_CASE(test_continue_shorter),
    CHECK_CASE(test_label_boundaries_and_case),
    CHECK_CASE(test_wildcards),
    CHECK_CASE(test_nodots),
    CHECK_CASE(test_refused),
    CHECK_CASE(test_sets),
    CHECK_CASE(test_groups),
    CHECK_CASE(test_add_errors),
    CHECK_CASE(test_differential_small),
    CHECK_CASE(test_differential_china),
    {0},
};

int main(int argc, char **argv)
{
    return check_main(argc, argv, cases);
}
