/* fuzz_dnsmsg_query.c - a client query through every path query.c takes: parse and validate,
 * rewrite the OPT for upstream, build each local answer (rcodes, address literals, TC), and check
 * the results parse back. Any crash, sanitizer report or broken invariant (abort) is a bug. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dnsroute/dnsmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Invariants are checked with abort(), never assert(), so release fuzz builds check them too. */
static void require(int cond)
{
    if (!cond) {
        abort();
    }
}

/* Every name position of the input through the cursor: never reads past size. */
static void scan_names(const uint8_t *data, size_t size)
{
    for (size_t pos = 0; pos < size && pos < 600; pos++) {
        struct dnsmsg_cursor c;
        uint8_t name[DNAME_WIRE_MAX];
        dnsmsg_cursor_init(&c, data, size);
        c.pos = pos;
        size_t n = dnsmsg_cursor_read_name(&c, name);
        require((n == 0) == (c.err != 0));
        require(n <= DNAME_WIRE_MAX && c.pos <= size);
    }
}

/* Local answers to the query; each must parse as a reply to it. */
static void answer_locally(const struct dnsmsg_query *q, const uint8_t *data, size_t size)
{
    static uint8_t out[4096];
    static const uint8_t rcodes[] = {0, 1, 2, 3, 4, 5, 16};
    struct dnsmsg_reply r;
    for (size_t i = 0; i < sizeof(rcodes); i++) {
        int n = dnsmsg_write_rcode(out, sizeof(out), q, rcodes[i], 1232);
        require(n >= DNSMSG_HEADER_LEN);
        require(dnsmsg_parse_reply(&r, out, (size_t)n, q->has_question ? q : NULL) == 0);
    }
    /* Literal answers: the input bytes themselves serve as addresses. */
    uint16_t type = (size & 1) ? DNSMSG_TYPE_A : DNSMSG_TYPE_AAAA;
    size_t alen = type == DNSMSG_TYPE_A ? 4 : 16;
    struct dnsmsg_local a = {.aa = true,
                             .addr_type = type,
                             .addrs = data,
                             .addr_count = size / alen,
                             .ttl_s = size,
                             .udp_limit = dnsmsg_udp_limit(&q->edns, 1232),
                             .edns_size = 1232};
    int n = dnsmsg_write_local(out, sizeof(out), q, &a);
    require(n >= DNSMSG_HEADER_LEN && (size_t)n <= a.udp_limit);
    require(dnsmsg_parse_reply(&r, out, (size_t)n, q->has_question ? q : NULL) == 0);
    if (q->has_question && !r.tc) {
        struct dnsmsg_addr addrs[64];
        int got = dnsmsg_chain_addrs(out, (size_t)n, &r, q->qname, q->qname_len,
                                     q->qtype == type ? type : 0, addrs, 64);
        require(got >= 0);
    }
}

static void forward_upstream(const struct dnsmsg_query *q, const uint8_t *data, size_t size)
{
    static uint8_t buf[65536 + 64];
    memcpy(buf, data, size);
    int n = dnsmsg_query_set_edns(buf, size, sizeof(buf), q, 1232);
    require(n > 0);
    struct dnsmsg_query up;
    require(dnsmsg_parse_query(&up, buf, (size_t)n) == 0);
    require(up.edns.present && up.edns.udp_size == 1232 && up.edns.do_bit == q->edns.do_bit);
    require(up.qname_len == q->qname_len && memcmp(up.qname, q->qname, q->qname_len) == 0);
    /* Too small a buffer leaves it alone. */
    if ((size_t)n > size) {
        require(dnsmsg_query_set_edns(buf, size, size, q, 1232) < 0);
    }
}

/* The pre-parse peek (receive-batch hints) agrees with the parse on every query both accept:
 * everything the cache hash covers, so a hint's hash is the lookup's (query_hint_tag checks the
 * name length and the DO/CD variant again at run time). */
static void check_peek(const struct dnsmsg_query *q, const uint8_t *data, size_t size)
{
    struct dnsmsg_query_peek pq;
    if (!dnsmsg_peek_query(data, size, &pq)) {
        return;
    }
    require(pq.qname_len == q->qname_len && pq.qtype == q->qtype && pq.qclass == q->qclass);
    require(pq.flags == q->flags);
    require(pq.do_bit == q->edns.do_bit);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    scan_names(data, size);
    struct dnsmsg_query q;
    int rc = dnsmsg_parse_query(&q, data, size);
    require((rc == 0) == (q.reject == DNSMSG_REJECT_NONE));
    if (q.reject == DNSMSG_REJECT_DROP) {
        return 0;
    }
    answer_locally(&q, data, size);
    if (rc == 0) {
        forward_upstream(&q, data, size);
        check_peek(&q, data, size);
        char tbuf[DNSMSG_TYPE_NAME_MAX];
        const char *name = dnsmsg_type_name(q.qtype, tbuf);
        int t = dnsmsg_type_parse(name, strlen(name));
        require(t == q.qtype || (q.qtype == 0 && t < 0));
    }
    return 0;
}
