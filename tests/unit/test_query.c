/* test_query.c - the path of one query without sockets: a real configuration (conf_load), the
 * real domain tree, cache, local records and hosts, and the query module's I/O (listener,
 * upstream, sets) through a recording query_ops table. Checks the routing decisions, the local
 * answers, each failure exit, and that every query is counted exactly once. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "dnsroute/cache.h"
#include "dnsroute/conf.h"
#include "dnsroute/dname.h"
#include "dnsroute/dnsmsg.h"
#include "dnsroute/err.h"
#include "dnsroute/query.h"
#include "dnsroute/sockaddr.h"

/* What the query module did through its ops: the last reply, the last upstream request, the
 * last set addition, and how often each happened. */
struct recorder {
    uint8_t reply[65536 + 64];
    size_t reply_len;
    int replies, drops, sends, set_calls;
    int send_rc, set_rc; /* what upstream_send and set_add return */
    struct upstream_req *req;
    upstream_done_cb *cb;
    uint32_t group;
    uint8_t sent[4096];
    size_t sent_len;
    uint32_t set_id;
    int set_family;
    uint8_t set_addr[16];
};
static struct recorder rec;

static void rec_reply(struct server *s, const struct server_client *client, const uint8_t *pkt,
                      size_t len)
{
    (void)s;
    (void)client;
    CHECK(len <= sizeof(rec.reply));
    memcpy(rec.reply, pkt, len);
    rec.reply_len = len;
    rec.replies++;
}

static void rec_drop(struct server *s, const struct server_client *client)
{
    (void)s;
    (void)client;
    rec.drops++;
}

static int rec_send(struct upstream *u, uint32_t group, const uint8_t *query, size_t len, bool tcp,
                    struct upstream_req *req, upstream_done_cb *cb)
{
    (void)u;
    (void)tcp;
    rec.sends++;
    if (rec.send_rc < 0) {
        return rec.send_rc;
    }
    CHECK(len <= sizeof(rec.sent));
    memcpy(rec.sent, query, len);
    rec.sent_len = len;
    rec.req = req;
    rec.cb = cb;
    rec.group = group;
    return 0;
}

static size_t rec_servers(const struct upstream_req *req, uint32_t *out, size_t cap)
{
    (void)req;
    (void)out;
    (void)cap;
    return 0;
}

static int rec_set_add(struct nlset *n, uint32_t set_id, int family, const uint8_t *addr,
                       uint32_t ttl_s)
{
    (void)n;
    (void)ttl_s;
    rec.set_calls++;
    rec.set_id = set_id;
    rec.set_family = family;
    memcpy(rec.set_addr, addr, family == AF_INET6 ? 16 : 4);
    return rec.set_rc;
}

static const struct query_ops rec_ops = {rec_reply, rec_drop, rec_send, rec_servers, rec_set_add};

struct fixture {
    char dir[64];
    struct conf c;
    struct query_gen gen;
    struct query_cache qc;
    struct query_ctx ctx;
    uv_loop_t loop;
    int nlset_stand_in; /* gen.nlset points here: the sets are reached only through rec_ops */
};
static struct fixture fx;

static const char *write_file(const char *name, const char *text)
{
    static char path[128];
    (void)snprintf(path, sizeof(path), "%s/%s", fx.dir, name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    (void)fputs(text, f);
    CHECK(fclose(f) == 0);
    return path;
}

/* Loads conf_text (plus no-resolv, no-hosts, and hosts_text as an addn-hosts file when not
 * NULL) and sets up a worker's query context on it. */
static void setup_hosts(const char *conf_text, const char *hosts_text)
{
    memset(&rec, 0, sizeof(rec));
    (void)snprintf(fx.dir, sizeof(fx.dir), "/tmp/test_query.XXXXXX");
    CHECK(mkdtemp(fx.dir) != NULL);
    char text[1024], path[128];
    (void)snprintf(text, sizeof(text), "%s", conf_text);
    if (hosts_text != NULL) {
        size_t n = strlen(text);
        (void)snprintf(text + n, sizeof(text) - n, "addn-hosts=%s\n",
                       write_file("hosts", hosts_text));
    }
    (void)snprintf(path, sizeof(path), "%s", write_file("t.conf", text));
    char *argv[] = {"dnsroute", "-C", path, "-R", "-h", NULL};
    struct conf_error err;
    CHECK_INT_EQ(conf_load(&fx.c, 5, argv, &err), 0);
    conf_load_hosts(&fx.c);
    memset(&fx.gen, 0, sizeof(fx.gen));
    fx.gen.conf = &fx.c;
    fx.gen.nlset = (struct nlset *)&fx.nlset_stand_in;
    fx.gen.conf_serial = 1;
    fx.gen.refs = 1;
    query_cache_init(&fx.qc, fx.c.cache_size);
    CHECK_INT_EQ(uv_loop_init(&fx.loop), 0);
    query_ctx_init(&fx.ctx, &fx.loop, NULL, &fx.gen, &fx.qc);
    fx.ctx.ops = &rec_ops;
}

static void setup(const char *conf_text)
{
    setup_hosts(conf_text, NULL);
}

/* Every query ended, each counted by exactly one outcome. */
static void teardown(void)
{
    const struct query_stats *s = &fx.ctx.stats;
    CHECK_INT_EQ(fx.ctx.in_flight, 0);
    CHECK_INT_EQ(fx.gen.refs, 1);
    CHECK_INT_EQ(s->received, s->answered_locally + s->replies + s->servfail + s->refused_full +
                                  s->refused + s->formerr + s->notimp + s->dropped +
                                  s->bogus_nxdomain);
    CHECK_INT_EQ(s->received, rec.replies + rec.drops);
    query_ctx_deinit(&fx.ctx);
    query_cache_deinit(&fx.qc);
    CHECK_INT_EQ(uv_loop_close(&fx.loop), 0);
    conf_deinit(&fx.c);
    char cmd[128];
    (void)snprintf(cmd, sizeof(cmd), "rm -rf %s", fx.dir);
    CHECK_INT_EQ(system(cmd), 0);
}

static void ask_raw(const uint8_t *pkt, size_t len)
{
    struct server_client client;
    memset(&client, 0, sizeof(client));
    client.transport = SERVER_UDP;
    CHECK_INT_EQ(sockaddr_parse_ip("127.0.0.1", 9, 5300, &client.peer), 0);
    query_receive(&fx.ctx, &client, pkt, len);
}

/* A client's query for name (text) and qtype, with an OPT of 1232 bytes. */
static void ask(const char *name, uint16_t qtype)
{
    uint8_t wire[DNAME_WIRE_MAX], pkt[512];
    int wlen = dname_text_to_wire(name, strlen(name), wire, sizeof(wire));
    CHECK(wlen > 0);
    int len = dnsmsg_write_query(pkt, sizeof(pkt), 0x1234, wire, (size_t)wlen, qtype,
                                 DNSMSG_CLASS_IN, true, 1232, false);
    CHECK(len > 0);
    ask_raw(pkt, (size_t)len);
}

/* The last reply to the client, parsed. */
static struct dnsmsg_reply last_reply(void)
{
    struct dnsmsg_reply r;
    CHECK(rec.replies > 0);
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, rec.reply, rec.reply_len, NULL), 0);
    CHECK_INT_EQ(dnsmsg_get_id(rec.reply), 0x1234);
    return r;
}

/* The first address of the last reply's answer to (name, A), as text. */
static const char *last_addr(const char *name)
{
    static char text[64];
    uint8_t wire[DNAME_WIRE_MAX];
    struct dnsmsg_reply r = last_reply();
    struct dnsmsg_addr a[4];
    int wlen = dname_text_to_wire(name, strlen(name), wire, sizeof(wire));
    int n =
        dnsmsg_chain_addrs(rec.reply, rec.reply_len, &r, wire, (size_t)wlen, DNSMSG_TYPE_A, a, 4);
    if (n <= 0) {
        return "";
    }
    CHECK(inet_ntop(AF_INET, a[0].addr, text, sizeof(text)) != NULL);
    return text;
}

/* "addr" ("addr#port" when the port is not 53) of the first server of the group the last request
 * went to. */
static const char *sent_server(void)
{
    static char text[SOCKADDR_TEXT_MAX];
    uint32_t n = 0;
    const uint32_t *ids = conf_group_servers(&fx.c, rec.group, &n);
    CHECK(n > 0);
    const union sockaddr_any *a = &fx.c.servers[ids[0]].addr;
    CHECK(sockaddr_format(a, sockaddr_port(a) != 53, text, sizeof(text)) > 0);
    return text;
}

/* The upstream's reply to the request in flight: rcode and, if addr is not NULL, one A record
 * with a TTL of 300 s. Hands it to the query as upstream does (parsed against the query). */
static void upstream_answer(uint8_t rcode, const char *addr)
{
    struct dnsmsg_query dq;
    CHECK_INT_EQ(dnsmsg_parse_query(&dq, rec.sent, rec.sent_len), 0);
    static uint8_t buf[4096];
    struct dnsmsg_builder b;
    dnsmsg_builder_init_reply(&b, buf, sizeof(buf), &dq, rcode, 0);
    if (addr != NULL) {
        uint8_t a[4];
        CHECK_INT_EQ(inet_pton(AF_INET, addr, a), 1);
        dnsmsg_builder_add_addr(&b, DNSMSG_SECTION_ANSWER, NULL, 0, 300, a, 4);
    }
    int len = dnsmsg_builder_finish(&b);
    CHECK(len > 0);
    struct dnsmsg_view v = {.pkt = buf, .len = (size_t)len};
    CHECK_INT_EQ(dnsmsg_parse_reply(&v.reply, buf, (size_t)len, &dq), 0);
    upstream_done_cb *cb = rec.cb;
    rec.cb = NULL;
    cb(rec.req, 0, &v, 0);
}

static void upstream_fail(int status)
{
    upstream_done_cb *cb = rec.cb;
    rec.cb = NULL;
    cb(rec.req, status, NULL, UINT32_MAX);
}

/* Asks name, expects it forwarded, answers it with addr; returns the server it went to. */
static const char *forwarded_to(const char *name)
{
    int sends = rec.sends;
    ask(name, DNSMSG_TYPE_A);
    CHECK_INT_EQ(rec.sends, sends + 1);
    const char *server = sent_server();
    upstream_answer(DNSMSG_RCODE_NOERROR, "192.0.2.1");
    CHECK_STR_EQ(last_addr(name), "192.0.2.1");
    return server;
}

/* server=/domain/: the longest matching suffix decides; # sends a domain to the default
 * servers; #port is kept. */
static void test_route_longest_suffix(void)
{
    setup("server=10.0.0.9\n"
          "server=/example.com/10.0.0.1\n"
          "server=/a.example.com/10.0.0.2\n"
          "server=/b.a.example.com/#\n"
          "server=/port.test/10.0.0.3#5353\n");
    CHECK_STR_EQ(forwarded_to("x.a.example.com"), "10.0.0.2");
    CHECK_STR_EQ(forwarded_to("a.example.com"), "10.0.0.2");
    CHECK_STR_EQ(forwarded_to("x.example.com"), "10.0.0.1");
    CHECK_STR_EQ(forwarded_to("example.org"), "10.0.0.9");
    CHECK_STR_EQ(forwarded_to("c.b.a.example.com"), "10.0.0.9");
    CHECK_STR_EQ(forwarded_to("www.port.test"), "10.0.0.3#5353");
    CHECK_INT_EQ(fx.ctx.stats.forwarded, 6);
    CHECK_INT_EQ(fx.ctx.stats.replies, 6);
    teardown();
}

/* local=/lan/ answers NXDOMAIN itself; a name with no server at all is REFUSED. */
static void test_local_domain(void)
{
    setup("server=/example.com/10.0.0.1\nlocal=/lan/\n");
    ask("printer.lan", DNSMSG_TYPE_A);
    CHECK_INT_EQ(last_reply().rcode, DNSMSG_RCODE_NXDOMAIN);
    ask("example.org", DNSMSG_TYPE_A);
    CHECK_INT_EQ(last_reply().rcode, DNSMSG_RCODE_REFUSED);
    CHECK_INT_EQ(rec.sends, 0);
    CHECK_INT_EQ(fx.ctx.stats.answered_locally, 2);
    teardown();
}

/* address=/domain/addr answers every name under it, AA, without forwarding. */
static void test_address(void)
{
    setup("server=10.0.0.9\naddress=/ads.test/198.51.100.7\n");
    ask("banner.ads.test", DNSMSG_TYPE_A);
    CHECK_STR_EQ(last_addr("banner.ads.test"), "198.51.100.7");
    CHECK(dnsmsg_get_flags(rec.reply) & DNSMSG_FLAG_AA);
    CHECK_INT_EQ(rec.sends, 0);
    CHECK_INT_EQ(fx.ctx.stats.answered_locally, 1);
    teardown();
}

/* Local records (txt-record=) and hosts files answer before any server. */
static void test_local_records_and_hosts(void)
{
    setup("server=10.0.0.9\ntxt-record=info.test,hello\n");
    ask("info.test", DNSMSG_TYPE_TXT);
    struct dnsmsg_reply r = last_reply();
    CHECK_INT_EQ(r.rcode, DNSMSG_RCODE_NOERROR);
    CHECK_INT_EQ(r.ancount, 1);
    teardown();

    setup_hosts("server=10.0.0.9\n", "10.1.2.3 nas.home\n");
    ask("nas.home", DNSMSG_TYPE_A);
    CHECK_STR_EQ(last_addr("nas.home"), "10.1.2.3");
    CHECK_INT_EQ(rec.sends, 0);
    teardown();
}

/* The upstream gave up (every server timed out): SERVFAIL, counted as such. */
static void test_upstream_timeout(void)
{
    setup("server=10.0.0.9\n");
    ask("slow.test", DNSMSG_TYPE_A);
    upstream_fail(ERR_TIMEOUT);
    CHECK_INT_EQ(last_reply().rcode, DNSMSG_RCODE_SERVFAIL);
    ask("gone.test", DNSMSG_TYPE_A);
    upstream_fail(-ECONNREFUSED);
    CHECK_INT_EQ(last_reply().rcode, DNSMSG_RCODE_SERVFAIL);
    CHECK_INT_EQ(fx.ctx.stats.servfail, 2);
    CHECK_INT_EQ(fx.ctx.stats.forwarded, 2);
    CHECK_INT_EQ(fx.ctx.stats.replies, 0);
    teardown();
}

/* After failover, upstream hands the last SERVFAIL or REFUSED it held: relayed as it is. */
static void test_upstream_error_reply(void)
{
    setup("server=10.0.0.9\nserver=10.0.0.8\n");
    ask("bad.test", DNSMSG_TYPE_A);
    upstream_answer(DNSMSG_RCODE_SERVFAIL, NULL);
    CHECK_INT_EQ(last_reply().rcode, DNSMSG_RCODE_SERVFAIL);
    ask("closed.test", DNSMSG_TYPE_A);
    upstream_answer(DNSMSG_RCODE_REFUSED, NULL);
    CHECK_INT_EQ(last_reply().rcode, DNSMSG_RCODE_REFUSED);
    CHECK_INT_EQ(fx.ctx.stats.replies, 2);
    teardown();
}

/* upstream_send refused the request: dns-forward-max (ERR_FULL) or no server. */
static void test_upstream_send_refused(void)
{
    setup("server=10.0.0.9\n");
    rec.send_rc = ERR_FULL;
    ask("busy.test", DNSMSG_TYPE_A);
    CHECK_INT_EQ(last_reply().rcode, DNSMSG_RCODE_REFUSED);
    CHECK_INT_EQ(fx.ctx.stats.refused_full, 1);
    rec.send_rc = ERR_NOT_FOUND;
    ask("none.test", DNSMSG_TYPE_A);
    CHECK_INT_EQ(last_reply().rcode, DNSMSG_RCODE_REFUSED);
    CHECK_INT_EQ(fx.ctx.stats.refused, 1);
    CHECK_INT_EQ(fx.ctx.stats.forwarded, 0);
    teardown();
}

/* ipset=: the answer's address goes to the set; a failed addition costs the set, not the
 * reply. */
static void test_sets(void)
{
    setup("server=10.0.0.9\nipset=/vpn.test/vpnset\n");
    forwarded_to("www.vpn.test");
    CHECK_INT_EQ(rec.set_calls, 1);
    CHECK_INT_EQ(rec.set_family, AF_INET);
    CHECK_MEM_EQ(rec.set_addr, "\xc0\x00\x02\x01", 4);
    CHECK_STR_EQ(fx.c.sets[rec.set_id].name, "vpnset");
    CHECK_INT_EQ(fx.ctx.stats.set_additions, 1);
    rec.set_rc = -ENOENT;
    forwarded_to("mail.vpn.test");
    CHECK_INT_EQ(rec.set_calls, 2);
    CHECK_INT_EQ(fx.ctx.stats.set_additions, 1);
    CHECK_INT_EQ(fx.ctx.stats.replies, 2);
    forwarded_to("www.other.test");
    CHECK_INT_EQ(rec.set_calls, 2);
    teardown();
}

/* A query we cannot parse: too short is dropped, two questions are FORMERR. */
static void test_bad_queries(void)
{
    setup("server=10.0.0.9\n");
    static const uint8_t shorty[5] = {1, 2, 3, 4, 5};
    ask_raw(shorty, sizeof(shorty));
    CHECK_INT_EQ(rec.drops, 1);
    uint8_t pkt[512];
    int len = dnsmsg_write_query(pkt, sizeof(pkt), 0x1234, (const uint8_t *)"\1a\4test", 8,
                                 DNSMSG_TYPE_A, DNSMSG_CLASS_IN, true, 0, false);
    CHECK(len > 0);
    pkt[5] = 2; /* QDCOUNT 2 */
    ask_raw(pkt, (size_t)len);
    CHECK_INT_EQ(last_reply().rcode, DNSMSG_RCODE_FORMERR);
    CHECK_INT_EQ(fx.ctx.stats.formerr, 1);
    CHECK_INT_EQ(fx.ctx.stats.dropped, 1);
    CHECK_INT_EQ(fx.ctx.stats.received, 2);
    teardown();
}

/* A second question is answered from the cache, counted as a hit and a reply. */
static void test_cache_hit(void)
{
    setup("server=10.0.0.9\ncache-size=100\n");
    forwarded_to("cached.test");
    ask("cached.test", DNSMSG_TYPE_A);
    CHECK_INT_EQ(rec.sends, 1);
    CHECK_STR_EQ(last_addr("cached.test"), "192.0.2.1");
    CHECK_INT_EQ(fx.ctx.stats.cache_hits, 1);
    CHECK_INT_EQ(fx.ctx.stats.replies, 2);
    teardown();
}

/* The hash the receive batch prefetches with is the one the lookup computes after parsing
 * (mixed case, CD, DO), and an odd datagram gets no hash rather than a wrong one. */
static void check_peek(const uint8_t *wire, size_t wlen, uint16_t qtype, uint16_t edns, bool do_bit,
                       bool cd)
{
    uint8_t pkt[512];
    int len = dnsmsg_write_query(pkt, sizeof(pkt), 7, wire, wlen, qtype, DNSMSG_CLASS_IN, true,
                                 edns, do_bit);
    CHECK(len > 0);
    if (cd) {
        pkt[3] |= DNSMSG_FLAG_CD;
    }
    struct dnsmsg_query q;
    CHECK_INT_EQ(dnsmsg_parse_query(&q, pkt, (size_t)len), 0);
    struct cache_key k;
    uint8_t variant = (uint8_t)((q.edns.do_bit ? CACHE_VARIANT_DO : 0) |
                                ((q.flags & DNSMSG_FLAG_CD) ? CACHE_VARIANT_CD : 0));
    cache_key_init(&k, q.qname, q.qname_len, q.qtype, q.qclass, variant);
    uint64_t h = 0;
    uint16_t tag = 0;
    CHECK(query_peek_cache_hash(pkt, (size_t)len, &h, &tag));
    CHECK(h == k.hash);
    CHECK(tag != 0 && tag == query_hint_tag(q.qname_len, variant));
    struct cache_key k2;
    cache_key_init_hashed(&k2, q.qname, q.qname_len, q.qtype, q.qclass, variant, h);
    CHECK(k2.hash == k.hash && k2.name_len == k.name_len &&
          memcmp(k2.name, k.name, k.name_len) == 0);
}

static void test_peek_cache_hash(void)
{
    const uint8_t *name = (const uint8_t *)"\3WwW\7Example\3cOm";
    check_peek(name, 17, DNSMSG_TYPE_A, 0, false, false);
    check_peek(name, 17, DNSMSG_TYPE_AAAA, 1232, false, false);
    check_peek(name, 17, DNSMSG_TYPE_A, 1232, true, false);
    check_peek(name, 17, DNSMSG_TYPE_A, 1232, true, true);
    check_peek((const uint8_t *)"", 1, DNSMSG_TYPE_NS, 0, false, false);
    uint8_t pkt[64];
    int len = dnsmsg_write_query(pkt, sizeof(pkt), 7, name, 17, DNSMSG_TYPE_A, DNSMSG_CLASS_IN,
                                 true, 0, false);
    CHECK(len > 0);
    uint64_t h;
    uint16_t tag;
    CHECK(!query_peek_cache_hash(pkt, (size_t)len - 1, &h, &tag)); /* class cut short */
    CHECK(!query_peek_cache_hash(pkt, 20, &h, &tag));              /* name cut short */
    pkt[12] = 0xc0;                                                /* a compression pointer */
    CHECK(!query_peek_cache_hash(pkt, (size_t)len, &h, &tag));
    pkt[12] = 3;
    pkt[2] |= 0x80; /* a response */
    CHECK(!query_peek_cache_hash(pkt, (size_t)len, &h, &tag));
}

static const struct check_case cases[] = {
    CHECK_CASE(test_peek_cache_hash),
    CHECK_CASE(test_route_longest_suffix),
    CHECK_CASE(test_local_domain),
    CHECK_CASE(test_address),
    CHECK_CASE(test_local_records_and_hosts),
    CHECK_CASE(test_upstream_timeout),
    CHECK_CASE(test_upstream_error_reply),
    CHECK_CASE(test_upstream_send_refused),
    CHECK_CASE(test_sets),
    CHECK_CASE(test_bad_queries),
    CHECK_CASE(test_cache_hit),
    {0},
};

int main(int argc, char **argv)
{
    return check_main(argc, argv, cases);
}
