/* test_localname.c - host-record, cname and interface-name: dnsmasq 2.90's error messages and
 * exit codes for bad lines (taken from `dnsmasq --test`), what each line stores, and the answers
 * localname_answer builds from them with the hosts store and the local records: the cname chain
 * and its TTLs, host-record and hosts-file addresses together, PTR precedence (interface-name,
 * ptr-record, host-record, hosts file), interface addresses from the hook (reverse-only ones, /4
 * and /6), the additional section, and which names count as local. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "conf_text.h"
#include "dnsroute/conf.h"
#include "dnsroute/dname.h"
#include "dnsroute/dnsmsg.h"
#include "dnsroute/hosts.h"
#include "dnsroute/localname.h"
#include "dnsroute/log.h"

static void expect_error_text(const char *text, const char *want, int exit_code)
{
    struct conf c;
    struct conf_error err;
    CHECK(conf_text_load(&c, &err, text) < 0);
    CHECK_STR_EQ(err.message, want);
    CHECK_INT_EQ(err.exit_code, exit_code);
}

static void expect_error(const char *line, const char *msg)
{
    conf_text_expect_error(line, msg, 1, 1);
}

static void test_option_errors(void)
{
    expect_error("host-record=foo\n", "Bad host-record");
    expect_error("host-record=foo,a\x7f"
                 "b,1.2.3.4\n",
                 "Bad name in host-record");
    expect_error("cname=a\n", "bad CNAME");
    expect_error("cname=a\x7f,b\n", "bad CNAME");
    expect_error("cname=a,b\x7f\n", "bad CNAME");
    expect_error("interface-name=foo\n", "bad interface name");
    expect_error("interface-name=foo,1.2.3.4,eth0\n", "bad interface name");
    expect_error("interface-name=foo,eth0/5\n", "error");
    expect_error("interface-name=foo,eth0/\n", "error");
    expect_error("interface-name=a\x7f,eth0\n", "bad interface name");
    char want[512];
    (void)snprintf(want, sizeof(want), "dnsroute: duplicate CNAME at line 2 of %s/t.conf",
                   conf_text_tmpdir());
    expect_error_text("cname=x,y\ncname=X.,z\n", want, 1);
    expect_error_text("cname=a,b\ncname=b,a\n", "dnsroute: CNAME loop involving b", 1);
    expect_error_text("cname=a,a\n", "dnsroute: CNAME loop involving a", 1);
    expect_error_text("cname=c,a\ncname=a,b\ncname=b,a\n", "dnsroute: CNAME loop involving b", 1);
    /* What dnsmasq accepts. */
    conf_text_expect_ok("host-record=foo,1.2.3.4\nhost-record=foo,1.2.3.4,\nhost-record=a b,::1\n"
                        "cname=a,b\ncname=c,d,e,10\ncname=f,g,\ninterface-name=i,eth0/4\n"
                        "interface-name=j,eth0,extra\ninterface-name=,eth0/6\n");
}

/* ---- Answers. */

struct reply {
    uint8_t buf[4096];
    int len;
    struct localrec_answer a;
    struct dnsmsg_cursor cur;
    unsigned count[3];
};

static size_t ifaddrs_hook(void *arg, const char *ifname, struct localname_ifaddr *out, size_t max)
{
    (void)arg;
    if (strcmp(ifname, "eth0") != 0 || max < 3) {
        return 0;
    }
    memset(out, 0, 3 * sizeof(*out));
    out[0].family = AF_INET;
    CHECK_INT_EQ(inet_pton(AF_INET, "10.0.0.1", out[0].addr), 1);
    out[1].family = AF_INET6;
    CHECK_INT_EQ(inet_pton(AF_INET6, "fd00::1", out[1].addr), 1);
    out[2].family = AF_INET6;
    CHECK_INT_EQ(inet_pton(AF_INET6, "fd00::2", out[2].addr), 1);
    out[2].rev_only = true;
    return 3;
}

static void ask(struct reply *r, const struct localname_src *src, const char *name, uint16_t qtype)
{
    uint8_t wire[DNAME_WIRE_MAX + 1], q[512];
    int wl = dname_text_to_wire(name, strlen(name), wire, sizeof(wire));
    CHECK(wl > 0);
    int ql = dnsmsg_write_query(q, sizeof(q), 7, wire, (size_t)wl, qtype, DNSMSG_CLASS_IN, true, 0,
                                false);
    CHECK(ql > 0);
    struct dnsmsg_query pq;
    CHECK_INT_EQ(dnsmsg_parse_query(&pq, q, (size_t)ql), 0);
    static struct dnsmsg_builder b;
    dnsmsg_builder_init_reply(&b, r->buf, sizeof(r->buf), &pq, 0, 0);
    static char key[DNAME_KEY_MAX];
    int kl = dname_wire_to_key(wire, (size_t)wl, key, sizeof(key));
    memset(&r->a, 0, sizeof(r->a));
    r->a.b = &b;
    r->a.name = key;
    r->a.name_len = (size_t)kl;
    r->a.qtype = qtype;
    r->a.qclass = DNSMSG_CLASS_IN;
    r->a.ttl_s = 42;
    struct localname_hooks h = {.ifaddrs = ifaddrs_hook};
    localname_answer(src, &r->a, &h);
    r->len = dnsmsg_builder_finish(&b);
    CHECK(r->len > 0);
    dnsmsg_cursor_init(&r->cur, r->buf, (size_t)r->len);
    dnsmsg_cursor_skip(&r->cur, (size_t)DNSMSG_HEADER_LEN + (size_t)wl + 4);
    for (int s = 0; s < 3; s++) {
        r->count[s] = (unsigned)(r->buf[6 + 2 * s] << 8 | r->buf[7 + 2 * s]);
    }
}

/* The (possibly compressed) name at off of r's message, as a key. */
static void name_at(const struct reply *r, size_t off, char *key, size_t cap)
{
    struct dnsmsg_cursor c;
    uint8_t wire[DNAME_WIRE_MAX + 1];
    dnsmsg_cursor_init(&c, r->buf, (size_t)r->len);
    dnsmsg_cursor_skip(&c, off);
    size_t wl = dnsmsg_cursor_read_name(&c, wire);
    CHECK(wl > 0);
    CHECK(dname_wire_to_key(wire, wl, key, cap) >= 0);
}

/* The records of a reply as "owner TTL TYPE rdata" text lines joined by '|', in wire order. */
static const char *records(struct reply *r)
{
    static char out[2048];
    out[0] = '\0';
    unsigned total = r->count[0] + r->count[1] + r->count[2];
    for (unsigned i = 0; i < total; i++) {
        struct dnsmsg_rr rr;
        CHECK_INT_EQ(dnsmsg_cursor_read_rr(&r->cur, &rr), 0);
        char owner[DNAME_KEY_MAX + 1], data[DNAME_KEY_MAX + 1] = "";
        name_at(r, rr.owner_off, owner, sizeof(owner));
        const uint8_t *rd = r->buf + rr.rdata_off;
        if (rr.type == DNSMSG_TYPE_A || rr.type == DNSMSG_TYPE_AAAA) {
            CHECK(inet_ntop(rr.type == DNSMSG_TYPE_A ? AF_INET : AF_INET6, rd, data,
                            sizeof(data)) != NULL);
        } else if (rr.type == DNSMSG_TYPE_CNAME || rr.type == DNSMSG_TYPE_PTR) {
            name_at(r, rr.rdata_off, data, sizeof(data));
        }
        char tbuf[DNSMSG_TYPE_NAME_MAX];
        size_t n = strlen(out);
        (void)snprintf(out + n, sizeof(out) - n, "%s%s %u %s %s", n ? "|" : "", owner, rr.ttl_s,
                       dnsmsg_type_name(rr.type, tbuf), data);
    }
    return out;
}

static void test_answers(void)
{
    struct conf c;
    struct conf_error err;
    CHECK_INT_EQ(conf_text_load(&c, &err,
                                "local-ttl=42\n"
                                "host-record=hr.test,two.test,192.0.2.1,2001:db8::1,300\n"
                                "host-record=both.test,192.0.2.2\n"
                                "host-record=other.test,192.0.2.2\n"
                                "cname=a.test,b.test,7\n"
                                "cname=b.test,hr.test\n"
                                "cname=ext.test,upstream.test\n"
                                "cname=ptr.test,2.2.0.192.in-addr.arpa\n"
                                "interface-name=if.test,eth0\n"
                                "interface-name=if4.test,eth0/4\n"
                                "interface-name=hr.test,eth1\n"),
                 0);
    struct hosts *h = hosts_new();
    uint8_t a4[4];
    CHECK_INT_EQ(inet_pton(AF_INET, "192.0.2.3", a4), 1);
    CHECK_INT_EQ(hosts_add(h, "both.test", 9, AF_INET, a4), 1);
    CHECK_INT_EQ(inet_pton(AF_INET, "192.0.2.2", a4), 1);
    CHECK_INT_EQ(hosts_add(h, "file.test", 9, AF_INET, a4), 1);
    struct localname_src src = {.names = c.names, .records = c.localrec, .hosts = h};
    struct reply r;

    ask(&r, &src, "a.test", DNSMSG_TYPE_A);
    CHECK_STR_EQ(records(&r), "a.test 7 CNAME b.test|b.test 42 CNAME hr.test");
    CHECK(r.a.answered); /* hr.test is an interface-name of eth1, which has no address */
    ask(&r, &src, "two.test", DNSMSG_TYPE_ANY);
    CHECK_STR_EQ(records(&r), "two.test 300 A 192.0.2.1|two.test 300 AAAA 2001:db8::1");
    ask(&r, &src, "both.test", DNSMSG_TYPE_A);
    CHECK_STR_EQ(records(&r), "both.test 42 A 192.0.2.2|both.test 42 A 192.0.2.3");
    ask(&r, &src, "ext.test", DNSMSG_TYPE_AAAA);
    CHECK_STR_EQ(records(&r), "ext.test 42 CNAME upstream.test");
    ask(&r, &src, "ext.test", DNSMSG_TYPE_CNAME);
    CHECK_STR_EQ(records(&r), "ext.test 42 CNAME upstream.test");
    /* The first host-record line given an address answers its PTR, before the hosts file. */
    ask(&r, &src, "2.2.0.192.in-addr.arpa", DNSMSG_TYPE_PTR);
    CHECK_STR_EQ(records(&r), "2.2.0.192.in-addr.arpa 42 PTR both.test");
    ask(&r, &src, "ptr.test", DNSMSG_TYPE_PTR);
    CHECK_STR_EQ(
        records(&r),
        "ptr.test 42 CNAME 2.2.0.192.in-addr.arpa|2.2.0.192.in-addr.arpa 42 PTR both.test");
    ask(&r, &src, "1.2.0.192.in-addr.arpa", DNSMSG_TYPE_PTR);
    CHECK_STR_EQ(records(&r), "1.2.0.192.in-addr.arpa 300 PTR hr.test");
    /* interface-name: every address of the family; a reverse-only one only for PTR. */
    ask(&r, &src, "if.test", DNSMSG_TYPE_AAAA);
    CHECK_STR_EQ(records(&r), "if.test 42 AAAA fd00::1");
    ask(&r, &src, "if4.test", DNSMSG_TYPE_AAAA);
    CHECK_STR_EQ(records(&r), "");
    CHECK(!r.a.answered);
    ask(&r, &src, "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa",
        DNSMSG_TYPE_PTR);
    CHECK_STR_EQ(records(&r),
                 "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa 42 PTR "
                 "if.test");
    ask(&r, &src, "1.0.0.10.in-addr.arpa", DNSMSG_TYPE_PTR);
    CHECK_STR_EQ(records(&r), "1.0.0.10.in-addr.arpa 42 PTR if.test");
    /* What counts as local (NODATA instead of NXDOMAIN). */
    CHECK(localname_is_local(&src, "test", 4));
    CHECK(localname_is_local(&src, "a.test", 6));
    CHECK(localname_is_local(&src, "file.test", 9));
    CHECK(!localname_is_local(&src, "upstream.test", 13));
    CHECK(!localname_is_local(&src, "x.a.test", 8));
    CHECK(localname_may_answer(&src, "a.test", 6, DNSMSG_TYPE_MX, DNSMSG_CLASS_IN));
    CHECK(!localname_may_answer(&src, "hr.test", 7, DNSMSG_TYPE_MX, DNSMSG_CLASS_IN));
    CHECK(localname_may_answer(&src, "file.test", 9, DNSMSG_TYPE_A, DNSMSG_CLASS_IN));
    CHECK(!localname_may_answer(&src, "nothing.test", 12, DNSMSG_TYPE_A, DNSMSG_CLASS_IN));
    hosts_free(h);
    conf_deinit(&c);
}

/* localise-queries: the A answer keeps the addresses on the query's subnet when there are any
 * (host-record and hosts together, interface-name too); AAAA and other subnets are whole. */
static void test_localise(void)
{
    struct conf c;
    struct conf_error err;
    CHECK_INT_EQ(conf_text_load(&c, &err,
                                "host-record=m.test,10.1.0.5\nhost-record=m.test,fd00::5\n"
                                "interface-name=if.test,eth0\n"),
                 0);
    struct hosts *h = hosts_new();
    uint8_t a4[4], a6[16];
    CHECK_INT_EQ(inet_pton(AF_INET, "10.2.0.5", a4), 1);
    CHECK_INT_EQ(hosts_add(h, "m.test", 6, AF_INET, a4), 1);
    CHECK_INT_EQ(inet_pton(AF_INET6, "fd01::5", a6), 1);
    CHECK_INT_EQ(hosts_add(h, "m.test", 6, AF_INET6, a6), 1);
    struct localname_src src = {.names = c.names, .hosts = h, .localise = true};
    struct reply r;
    CHECK_INT_EQ(inet_pton(AF_INET, "10.2.0.1", src.local4), 1);
    src.local4_prefix = 24;
    ask(&r, &src, "m.test", DNSMSG_TYPE_A);
    CHECK_STR_EQ(records(&r), "m.test 42 A 10.2.0.5");
    ask(&r, &src, "m.test", DNSMSG_TYPE_AAAA);
    CHECK_STR_EQ(records(&r), "m.test 0 AAAA fd00::5|m.test 42 AAAA fd01::5");
    CHECK_INT_EQ(inet_pton(AF_INET, "10.1.255.1", src.local4), 1);
    src.local4_prefix = 16;
    ask(&r, &src, "m.test", DNSMSG_TYPE_A);
    CHECK_STR_EQ(records(&r), "m.test 0 A 10.1.0.5");
    src.local4_prefix = 8; /* both on 10/8 */
    ask(&r, &src, "m.test", DNSMSG_TYPE_A);
    CHECK_STR_EQ(records(&r), "m.test 0 A 10.1.0.5|m.test 42 A 10.2.0.5");
    CHECK_INT_EQ(inet_pton(AF_INET, "192.168.1.1", src.local4), 1);
    src.local4_prefix = 24; /* none on it: all */
    ask(&r, &src, "m.test", DNSMSG_TYPE_A);
    CHECK_STR_EQ(records(&r), "m.test 0 A 10.1.0.5|m.test 42 A 10.2.0.5");
    /* interface-name: eth0 has 10.0.0.1 only (the hook): on 10/8 or not, it is answered. */
    ask(&r, &src, "if.test", DNSMSG_TYPE_A);
    CHECK_STR_EQ(records(&r), "if.test 42 A 10.0.0.1");
    hosts_free(h);
    conf_deinit(&c);
}

static void test_arpa(void)
{
    int family = 0;
    uint8_t a[16];
    CHECK(localname_arpa_addr("4.3.2.1.in-addr.arpa", 20, &family, a));
    CHECK_INT_EQ(family, AF_INET);
    CHECK_INT_EQ(a[0], 1);
    CHECK_INT_EQ(a[3], 4);
    CHECK(!localname_arpa_addr("256.3.2.1.in-addr.arpa", 22, &family, a));
    CHECK(!localname_arpa_addr("3.2.1.in-addr.arpa", 18, &family, a));
    CHECK(!localname_arpa_addr("x.ip6.arpa", 10, &family, a));
}

static void test_synth(void)
{
    struct conf c;
    struct conf_error err;
    CHECK_INT_EQ(conf_text_load(&c, &err,
                                "synth-domain=synth.test,10.20.0.0/24\n"
                                "synth-domain=idx.test,10.22.0.0/24,pc*\n"
                                "synth-domain=six.test,fd20::/64\n"
                                "synth-domain=pre.test,10.21.0.10,10.21.0.20,host-\n"),
                 0);
    struct localname_src src = {.names = c.names, .records = c.localrec, .synth = c.synth};
    struct reply r;
    ask(&r, &src, "10-20-0-6.synth.test", DNSMSG_TYPE_A);
    CHECK_STR_EQ(records(&r), "10-20-0-6.synth.test 42 A 10.20.0.6");
    ask(&r, &src, "6.0.20.10.in-addr.arpa", DNSMSG_TYPE_PTR);
    CHECK_STR_EQ(records(&r), "6.0.20.10.in-addr.arpa 42 PTR 10-20-0-6.synth.test");
    ask(&r, &src, "7.0.22.10.in-addr.arpa", DNSMSG_TYPE_PTR);
    CHECK_STR_EQ(records(&r), "7.0.22.10.in-addr.arpa 42 PTR pc7.idx.test");
    ask(&r, &src, "pc7.idx.test", DNSMSG_TYPE_A);
    CHECK_STR_EQ(records(&r), "pc7.idx.test 42 A 10.22.0.7");
    ask(&r, &src, "fd20--5.six.test", DNSMSG_TYPE_AAAA);
    CHECK_STR_EQ(records(&r), "fd20--5.six.test 42 AAAA fd20::5");
    ask(&r, &src, "host-10-21-0-9.pre.test", DNSMSG_TYPE_A);
    CHECK_STR_EQ(records(&r), "");
    CHECK(localname_is_local(&src, "host-10-21-0-10.pre.test", 24));
    conf_deinit(&c);
    expect_error("synth-domain=x\n", "error");
    expect_error("synth-domain=x,1.2.3.0/33\n", "bad prefix length");
    expect_error("synth-domain=x,fd00::/129\n", "bad prefix length");
    expect_error("synth-domain=x,fd00::/48,p*\n", "prefix length too small");
    expect_error("synth-domain=x,fd00::1,fd00::9,p*\n", "prefix length too small");
    expect_error("synth-domain=x,bogus\n", "error");
    expect_error("synth-domain=x,1.2.3.4,bogus\n", "error");
    expect_error("synth-domain=x,1.2.3.0/24,aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
                 "bad prefix");
}

static const struct check_case cases[] = {
    CHECK_CASE(test_synth),    CHECK_CASE(test_option_errors), CHECK_CASE(test_answers),
    CHECK_CASE(test_localise), CHECK_CASE(test_arpa),          {0},
};

int main(int argc, char **argv)
{
    log_set_level(LOG_LEVEL_ERROR);
    int rc = check_main(argc, argv, cases);
    conf_text_cleanup();
    return rc;
}
