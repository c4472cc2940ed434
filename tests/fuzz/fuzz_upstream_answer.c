/* fuzz_upstream_answer.c - fuzz target for the checks an upstream answer goes through before a
 * query takes it (upstream_chan.c, upstream.c): the quick look at its header and question on the
 * socket it arrived on (dnsmsg_peek_reply), then the one full parse against the query
 * (dnsmsg_parse_reply). The two must agree: an answer the full parse accepts is never dropped by
 * the quick look (it would be lost, and the query retried for nothing), they read the same
 * header and question, and an answer to the query asked (same question) passes the full check
 * exactly when it is a well-formed reply. */
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

/* The query the answer's first question answers (as the daemon sent it upstream). */
static int query_for(const uint8_t *data, size_t size, bool edns, struct dnsmsg_query *q)
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
                               edns ? 1232 : 0, true);
    require(n > 0);
    require(dnsmsg_parse_query(q, qbuf, (size_t)n) == 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dnsmsg_reply peek, full, asked;
    int peek_rc = dnsmsg_peek_reply(&peek, data, size);
    int full_rc = dnsmsg_parse_reply(&full, data, size, NULL);
    if (full_rc == 0) {
        require(peek_rc == 0);
        require(peek.id == full.id && peek.flags == full.flags && peek.qdcount == full.qdcount);
        require(peek.question_end == full.question_end);
    }
    if (peek_rc != 0) {
        return 0;
    }
    require(peek.question_end <= size);
    struct dnsmsg_query q;
    if (peek.qdcount != 1 || query_for(data, size, size & 1, &q) != 0) {
        return 0;
    }
    int asked_rc = dnsmsg_parse_reply(&asked, data, size, &q);
    bool is_reply = (peek.flags & DNSMSG_FLAG_QR) != 0;
    require((asked_rc == 0) == (full_rc == 0 && is_reply));
    if (asked_rc == 0) {
        require(asked.len == size && asked.question_end == full.question_end);
    }
    return 0;
}
