/* fuzz_dnsmsg_reply.c - an upstream reply through every path query.c takes: parse (with and
 * without a matching query), CNAME-chain extraction, TTLs, EDNS restore, truncation to the
 * client's size; every rewritten reply must parse again. Crashes and aborts are bugs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dnsroute/dnsmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(int cond)
{
    if (!cond) {
        abort();
    }
}

/* A query for the reply's first question, so the matching path is exercised too. */
static int query_for(const uint8_t *data, size_t size, struct dnsmsg_query *q)
{
    struct dnsmsg_cursor c;
    uint8_t name[DNAME_WIRE_MAX], qbuf[512];
    dnsmsg_cursor_init(&c, data, size);
    c.pos = DNSMSG_HEADER_LEN;
    size_t name_len = dnsmsg_cursor_read_name(&c, name);
    uint16_t qtype = dnsmsg_cursor_read_u16(&c), qclass = dnsmsg_cursor_read_u16(&c);
    if (c.err != 0) {
        return -1;
    }
    int n = dnsmsg_write_query(qbuf, sizeof(qbuf), 1, name, name_len, qtype, qclass, true,
                               size & 1 ? 4096 : 0, true);
    require(n > 0);
    require(dnsmsg_parse_query(q, qbuf, (size_t)n) == 0);
    return 0;
}

static void inspect(const uint8_t *pkt, size_t len, const struct dnsmsg_reply *r,
                    const struct dnsmsg_query *q)
{
    struct dnsmsg_addr addrs[32];
    int n = dnsmsg_chain_addrs(pkt, len, r, q->qname, q->qname_len, DNSMSG_TYPE_A, addrs, 32);
    require(n >= 0 && n <= 32);
    n = dnsmsg_chain_addrs(pkt, len, r, q->qname, q->qname_len, DNSMSG_TYPE_AAAA, addrs, 32);
    require(n >= 0 && n <= 32);
    uint32_t ttl_s;
    require(dnsmsg_min_ttl(pkt, len, r, &ttl_s) <= 0);
    (void)dnsmsg_neg_ttl(pkt, len, r, &ttl_s);
}

/* The rewrites query.c applies before answering the client; the result must parse again. */
static void rewrite(const uint8_t *data, size_t size, const struct dnsmsg_query *q,
                    bool client_edns)
{
    static uint8_t buf[65536 + 64];
    memcpy(buf, data, size);
    struct dnsmsg_reply r, again;
    require(dnsmsg_parse_reply(&r, buf, size, q) == 0);
    struct dnsmsg_edns client = {.present = client_edns, .udp_size = (uint16_t)(size * 7)};
    int n = dnsmsg_reply_set_edns(buf, size, sizeof(buf), &r, &client, 1232);
    require(n > 0 && (size_t)n == r.len);
    require(dnsmsg_parse_reply(&again, buf, (size_t)n, q) == 0);
    require(again.edns.present == client_edns && again.arcount == r.arcount);
    size_t limit = dnsmsg_udp_limit(&client, 1232);
    n = dnsmsg_reply_truncate(buf, (size_t)n, &r, limit);
    require(n > 0 && (size_t)n == r.len && (size_t)n <= limit);
    require(dnsmsg_parse_reply(&again, buf, (size_t)n, q) == 0);
    require(again.question_end == r.question_end && again.edns.opt_off == r.edns.opt_off);
    inspect(buf, (size_t)n, &again, q);
    /* Last: a name compressed into a TTL would decode differently after this. */
    require(dnsmsg_rewrite_ttls(buf, (size_t)n, &r, 30, 600) == 0);
    dnsmsg_set_id(buf, q->id);
    dnsmsg_set_flags(buf, DNSMSG_FLAG_RA, DNSMSG_FLAG_AD);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dnsmsg_reply r;
    int rc = dnsmsg_parse_reply(&r, data, size, NULL);
    struct dnsmsg_query q;
    if (query_for(data, size, &q) != 0) {
        return 0;
    }
    if (rc == 0) {
        static uint8_t buf[65536];
        inspect(data, size, &r, &q);
        memcpy(buf, data, size);
        require(dnsmsg_rewrite_ttls(buf, size, &r, (uint32_t)size << 20, 0) == 0);
    }
    if (dnsmsg_parse_reply(&r, data, size, &q) != 0) {
        return 0;
    }
    rewrite(data, size, &q, false);
    rewrite(data, size, &q, true);
    return 0;
}
