/* test_localrec.c - the local record store and its options: dnsmasq's error messages and exit
 * codes for bad ptr-record/txt-record/srv-host/mx-host/caa-record/naptr-record/dns-rr lines
 * (taken from `dnsmasq --test` 2.90), the rdata each option builds, the answers (order, newest
 * first, SRV rotation, AA/NOTIMP/NXDOMAIN results, CHAOS counters, TTLs) and the hooks through
 * which hosts data joins an answer (selfmx, additional section). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "conf_text.h"
#include "dnsroute/conf.h"
#include "dnsroute/dname.h"
#include "dnsroute/dnsmsg.h"
#include "dnsroute/localrec.h"
#include "dnsroute/log.h"

/* ---- One answer, parsed back. */

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

struct reply {
    uint8_t buf[4096];
    int len;
    struct localrec_answer a;
    struct dnsmsg_cursor cur;
    unsigned left[3]; /* records left to read per section */
};

static void ask_hooks(struct reply *r, const struct localrec *lr, const char *name, uint16_t qtype,
                      uint16_t qclass, const struct localrec_hooks *h)
{
    uint8_t wire[DNAME_WIRE_MAX + 1], q[512];
    int wl = dname_text_to_wire(name, strlen(name), wire, sizeof(wire));
    CHECK(wl > 0);
    int ql = dnsmsg_write_query(q, sizeof(q), 7, wire, (size_t)wl, qtype, qclass, true, 0, false);
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
    r->a.qclass = qclass;
    r->a.ttl_s = 42;
    localrec_answer(lr, &r->a, h);
    r->len = dnsmsg_builder_finish(&b);
    CHECK(r->len > 0);
    dnsmsg_cursor_init(&r->cur, r->buf, (size_t)r->len);
    dnsmsg_cursor_skip(&r->cur, (size_t)DNSMSG_HEADER_LEN + (size_t)wl + 4);
    for (int s = 0; s < 3; s++) {
        r->left[s] = get16(r->buf + 6 + 2 * s);
    }
}

static void ask(struct reply *r, const struct localrec *lr, const char *name, uint16_t qtype)
{
    ask_hooks(r, lr, name, qtype, DNSMSG_CLASS_IN, NULL);
}

/* Reads the next record, which must be of type; returns its rdata (in r->buf). */
static const uint8_t *next_rr(struct reply *r, uint16_t type, uint16_t *rdlen)
{
    struct dnsmsg_rr rr;
    CHECK_INT_EQ(dnsmsg_cursor_read_rr(&r->cur, &rr), 0);
    CHECK_INT_EQ(rr.type, type);
    *rdlen = rr.rdlen;
    return r->buf + rr.rdata_off;
}

/* ---- Options. */

static void expect_error(const char *line, const char *msg, int exit_code)
{
    conf_text_expect_error(line, msg, 1, exit_code);
}

static void test_option_errors(void)
{
    expect_error("mx-host=a.com,b.com,x\n", "bad MX preference", 1);
    expect_error("mx-host=a.com,b.com,70000\n", "bad MX preference", 1);
    expect_error("mx-host=a\x7f.com\n", "bad MX name", 1);
    expect_error(
        "mx-host=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com\n",
        "bad MX name", 1);
    expect_error("mx-target=a\x7f\n", "bad MX target", 1);
    expect_error("ptr-record=a,b\x7f\n", "bad PTR record", 1);
    expect_error("txt-record=\x7f\n", "bad TXT record", 1);
    expect_error("srv-host=\x7f\n", "bad SRV record", 1);
    expect_error("srv-host=_a._tcp.x,t,70000\n", "invalid port number", 1);
    expect_error("srv-host=_a._tcp.x,t,1,x\n", "invalid priority", 1);
    expect_error("srv-host=_a._tcp.x,t,1,2,-1\n", "invalid weight", 1);
    expect_error("naptr-record=a,1,2,3,4\n", "bad NAPTR record", 1);
    expect_error("naptr-record=a,x,2,3,4,5\n", "bad NAPTR record", 1);
    expect_error("dns-rr=a\n", "bad RR record", 1);
    expect_error("dns-rr=a,x\n", "bad RR record", 1);
    /* dnsmasq 2.90 and 2.92 say "could not get memory" (exit 4) here: parse_hex's -1 compared
     * with -1U in a size_t. The intended message is the one given. */
    expect_error("dns-rr=a,1,zz\n", "bad RR record", 1);
    expect_error("dns-rr=a,41,0102\n",
                 "bad RR record: type 41 is EDNS's OPT pseudo-record, not data", 1);
    /* The type wraps at 16 bits, as dnsmasq's: 65577 is 41. */
    expect_error("dns-rr=a,65577\n", "bad RR record: type 41 is EDNS's OPT pseudo-record, not data",
                 1);
    expect_error("caa-record=a,0,issue\n", "bad CAA record", 1);
    expect_error("caa-record=a,x,issue,v\n", "bad CAA record", 1);
    /* What dnsmasq accepts. */
    conf_text_expect_ok("mx-host=a..com\nmx-target=\nptr-record=\nptr-record=a.com,\ntxt-record=\n"
                        "srv-host=\nsrv-host=_a._tcp.x,\nnaptr-record=a,1,2,3,4,5\n"
                        "naptr-record=a,1,2,3,4,5,\ndns-rr=,1\ncaa-record=,0,issue,v\n");
}

static void test_option_records(void)
{
    struct conf c;
    struct conf_error err;
    CHECK_INT_EQ(conf_text_load(&c, &err,
                                "txt-record=T.Example.,\"a,b\",c\n"
                                "txt-record=t.example,second\n"
                                "dns-rr=rr.example,99,01:0203 4-5\n"
                                "caa-record=rr.example,128,issue,\"ca.example;x=1\"\n"
                                "naptr-record=n.example,10,20,S,SIP+D2T,,_sip._tcp.example\n"
                                "ptr-record=p.example,Target.Example.\n"),
                 0);
    struct reply r;
    uint16_t len;
    ask(&r, c.localrec, "t.example", DNSMSG_TYPE_TXT);
    CHECK(r.a.answered && !r.a.nxdomain && !r.a.notimp && !r.a.not_auth);
    CHECK_INT_EQ(r.left[0], 2);
    const uint8_t *d = next_rr(&r, DNSMSG_TYPE_TXT, &len);
    CHECK_MEM_EQ(d, "\x06second", 7); /* newest first */
    d = next_rr(&r, DNSMSG_TYPE_TXT, &len);
    CHECK_INT_EQ(len, 6);
    CHECK_MEM_EQ(d,
                 "\x03"
                 "a,b\x01"
                 "c",
                 6);

    ask(&r, c.localrec, "rr.example", DNSMSG_TYPE_ANY);
    CHECK_INT_EQ(r.left[0], 2);
    d = next_rr(&r, 257, &len);
    CHECK_INT_EQ(len, 2 + 5 + 14);
    CHECK_MEM_EQ(d, "\x80\x05issueca.example;x=1", 21);
    d = next_rr(&r, 99, &len);
    CHECK_INT_EQ(len, 5);
    CHECK_MEM_EQ(d, "\x01\x02\x03\x04\x05", 5);

    ask(&r, c.localrec, "n.example", 35);
    d = next_rr(&r, 35, &len);
    CHECK_INT_EQ(get16(d), 10);
    CHECK_INT_EQ(get16(d + 2), 20);
    CHECK_MEM_EQ(d + 4,
                 "\x01S\x07SIP+D2T\x00\x04_sip\x04_tcp\x07"
                 "example\x00",
                 28);

    ask(&r, c.localrec, "P.EXAMPLE", DNSMSG_TYPE_PTR);
    d = next_rr(&r, DNSMSG_TYPE_PTR, &len);
    CHECK_MEM_EQ(d,
                 "\x06target\x07"
                 "example\x00",
                 len); /* lower-cased like IDN's mapping */
    conf_deinit(&c);
}

/* ---- Answers. */

static void test_other_types_and_classes(void)
{
    struct localrec *lr = localrec_new();
    localrec_add_txt(lr, "x.example", DNSMSG_CLASS_IN, (const uint8_t *)"\x01t", 2,
                     LOCALREC_STAT_NONE);
    struct localrec_finish_opts o = {.hostname = "host", .ident = true, .version = "v"};
    localrec_finish(lr, &o);
    struct reply r;
    ask(&r, lr, "x.example", DNSMSG_TYPE_A);
    CHECK(!r.a.answered); /* forwarded, as dnsmasq does */
    ask(&r, lr, "x.example", 253);
    CHECK(r.a.answered && r.a.nxdomain); /* MAILB */
    ask_hooks(&r, lr, "x.example", DNSMSG_TYPE_TXT, 3, NULL);
    CHECK(!r.a.answered); /* an IN record is not a CHAOS one */
    ask_hooks(&r, lr, "version.bind", DNSMSG_TYPE_A, 3, NULL);
    CHECK(r.a.answered && r.a.notimp && r.a.not_auth);
    ask_hooks(&r, lr, "x.server", DNSMSG_TYPE_TXT, 3, NULL);
    CHECK(r.a.answered && r.a.notimp);
    ask_hooks(&r, lr, "x.example", DNSMSG_TYPE_TXT, 3, NULL);
    CHECK(!r.a.answered);
    CHECK(localrec_has_name_at_or_below(lr, "example", 7));
    CHECK(localrec_has_name_at_or_below(lr, "x.example", 9));
    CHECK(!localrec_has_name_at_or_below(lr, "y.example", 9));
    CHECK(!localrec_has_name_at_or_below(lr, "xample", 6));
    CHECK(!localrec_has_name_at_or_below(lr, "bind", 4)); /* CHAOS names do not count */
    localrec_free(lr);
}

static void counters(void *arg, struct localrec_counters *out)
{
    (void)arg;
    out->cachesize = 150;
    out->hits = 4294967295u;
    static const struct localrec_server_stat s[] = {
        {"10.0.0.1", 53, 5, 1}, {"::1", 5353, 2, 0}, {"10.0.0.1", 53, 1, 1}};
    for (size_t i = 0; i < 3 && out->server_count < out->server_cap; i++) {
        out->servers[out->server_count++] = s[i];
    }
}

static void test_chaos(void)
{
    struct localrec *lr = localrec_new();
    struct localrec_finish_opts o = {.hostname = "h", .ident = true, .version = "dnsroute-1"};
    localrec_finish(lr, &o);
    struct localrec_hooks h = {.counters = counters};
    struct reply r;
    uint16_t len;
    struct dnsmsg_rr rr;
    ask_hooks(&r, lr, "VERSION.BIND", DNSMSG_TYPE_TXT, 3, &h);
    CHECK(r.a.answered && !r.a.not_auth);
    CHECK_INT_EQ(dnsmsg_cursor_read_rr(&r.cur, &rr), 0);
    CHECK_INT_EQ(rr.rclass, 3);
    CHECK_INT_EQ(rr.ttl_s, 42);
    CHECK_MEM_EQ(r.buf + rr.rdata_off,
                 "\x0a"
                 "dnsroute-1",
                 11);
    ask_hooks(&r, lr, "hits.bind", DNSMSG_TYPE_ANY, 3, &h);
    CHECK_INT_EQ(dnsmsg_cursor_read_rr(&r.cur, &rr), 0);
    CHECK_INT_EQ(rr.ttl_s, 0);
    CHECK_MEM_EQ(r.buf + rr.rdata_off,
                 "\x0a"
                 "4294967295",
                 11);
    ask_hooks(&r, lr, "cachesize.bind", DNSMSG_TYPE_TXT, 3, NULL);
    const uint8_t *d = next_rr(&r, DNSMSG_TYPE_TXT, &len);
    CHECK_MEM_EQ(d,
                 "\x01"
                 "0",
                 2); /* no counters: zeros */
    ask_hooks(&r, lr, "servers.bind", DNSMSG_TYPE_TXT, 3, &h);
    d = next_rr(&r, DNSMSG_TYPE_TXT, &len);
    CHECK_INT_EQ(len, 1 + 15 + 1 + 12);
    CHECK_MEM_EQ(d,
                 "\x0f"
                 "10.0.0.1#53 6 2"
                 "\x0c"
                 "::1#5353 2 0",
                 len);
    localrec_free(lr);

    lr = localrec_new();
    o.ident = false; /* no-ident */
    localrec_finish(lr, &o);
    ask_hooks(&r, lr, "version.bind", DNSMSG_TYPE_TXT, 3, &h);
    CHECK(r.a.answered && r.a.notimp);
    localrec_free(lr);
}

static void test_srv_rotation(void)
{
    struct localrec *lr = localrec_new();
    localrec_add_srv(lr, "_s._tcp.x", "a.x", 1, 0, 0);
    localrec_add_srv(lr, "_s._tcp.x", "b.x", 2, 0, 0);
    localrec_add_srv(lr, "_s._tcp.x", "c.x", 3, 0, 0);
    localrec_add_srv(lr, "_t._tcp", NULL, 4, 0, 0);
    struct localrec_finish_opts o = {.hostname = "h", .domain = "lan"};
    localrec_finish(lr, &o);
    /* Newest first (c, b, a), then rotated by one per query. */
    static const uint16_t want[4][3] = {{3, 2, 1}, {2, 1, 3}, {1, 3, 2}, {3, 2, 1}};
    for (int i = 0; i < 4; i++) {
        struct reply r;
        uint16_t len;
        ask(&r, lr, "_s._tcp.x", DNSMSG_TYPE_SRV);
        for (int k = 0; k < 3; k++) {
            CHECK_INT_EQ(get16(next_rr(&r, DNSMSG_TYPE_SRV, &len) + 4), want[i][k]);
        }
    }
    /* domain=: a name with one dot gets it; no target is the root. */
    struct reply r;
    uint16_t len;
    ask(&r, lr, "_t._tcp.lan", DNSMSG_TYPE_SRV);
    const uint8_t *d = next_rr(&r, DNSMSG_TYPE_SRV, &len);
    CHECK_INT_EQ(len, 7);
    CHECK_INT_EQ(d[6], 0);
    localrec_free(lr);
}

static bool is_host(void *arg, const char *name, size_t len)
{
    (void)arg;
    return len == 4 && memcmp(name, "h1.x", 4) == 0;
}

static void additional(void *arg, struct localrec_answer *a, const char *name, size_t len,
                       const uint8_t *owner, size_t owner_len)
{
    (*(int *)arg)++;
    CHECK(strncmp(name, "mx.x", len) == 0 || strncmp(name, "relay.x", len) == 0);
    static const uint8_t addr[4] = {192, 0, 2, 1};
    localrec_answer_add_rr(a, DNSMSG_SECTION_ADDITIONAL, owner, owner_len, DNSMSG_TYPE_A, 1, addr,
                           4);
}

static void test_mx(void)
{
    struct localrec *lr = localrec_new();
    localrec_add_mx(lr, "x", "mx.x", 10);
    localrec_add_mx(lr, "x", "mx.x", 20);
    localrec_add_mx(lr, "y", NULL, 5);
    struct localrec_finish_opts o = {.hostname = "gw", .mx_target = "relay.x", .selfmx = true};
    localrec_finish(lr, &o);
    int calls = 0;
    struct localrec_hooks h = {.arg = &calls, .is_host = is_host, .additional = additional};
    struct reply r;
    uint16_t len;
    ask_hooks(&r, lr, "x", DNSMSG_TYPE_MX, DNSMSG_CLASS_IN, &h);
    CHECK_INT_EQ(get16(next_rr(&r, DNSMSG_TYPE_MX, &len)), 20);
    CHECK_INT_EQ(get16(next_rr(&r, DNSMSG_TYPE_MX, &len)), 10);
    CHECK_INT_EQ(calls, 1); /* one target, asked once */
    CHECK_INT_EQ(r.left[2], 1);
    ask_hooks(&r, lr, "y", DNSMSG_TYPE_MX, DNSMSG_CLASS_IN, &h);
    const uint8_t *d = next_rr(&r, DNSMSG_TYPE_MX, &len);
    CHECK_MEM_EQ(d + 2, "\x05relay\x01x\x00", 9); /* mx-target */
    ask_hooks(&r, lr, "gw", DNSMSG_TYPE_MX, DNSMSG_CLASS_IN, &h);
    CHECK(r.a.answered); /* mx-target adds an MX for the host name */
    ask_hooks(&r, lr, "h1.x", DNSMSG_TYPE_MX, DNSMSG_CLASS_IN, &h);
    d = next_rr(&r, DNSMSG_TYPE_MX, &len);
    CHECK_INT_EQ(get16(d), 1);
    CHECK_MEM_EQ(d + 2, "\x02h1\x01x\x00", 6); /* selfmx: the name itself */
    ask_hooks(&r, lr, "h2.x", DNSMSG_TYPE_MX, DNSMSG_CLASS_IN, &h);
    CHECK(!r.a.answered);
    localrec_free(lr);
}

static void test_name_to_wire(void)
{
    uint8_t out[300];
    CHECK_INT_EQ(localrec_name_to_wire("", out, sizeof(out)), 1);
    CHECK_INT_EQ(localrec_name_to_wire(NULL, out, sizeof(out)), 1);
    CHECK_INT_EQ(localrec_name_to_wire("a.bc", out, sizeof(out)), 6);
    CHECK_MEM_EQ(out,
                 "\x01"
                 "a\x02"
                 "bc\x00",
                 6);
    CHECK_INT_EQ(localrec_name_to_wire("a.bc", out, 5), 0);
    char big[300];
    memset(big, 'a', 70);
    big[70] = '\0';
    CHECK_INT_EQ(localrec_name_to_wire(big, out, sizeof(out)), 0);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_option_errors),
    CHECK_CASE(test_option_records),
    CHECK_CASE(test_other_types_and_classes),
    CHECK_CASE(test_chaos),
    CHECK_CASE(test_srv_rotation),
    CHECK_CASE(test_mx),
    CHECK_CASE(test_name_to_wire),
    {0},
};

int main(int argc, char **argv)
{
    log_set_level(LOG_LEVEL_ERROR);
    int rc = check_main(argc, argv, cases);
    conf_text_cleanup();
    return rc;
}
