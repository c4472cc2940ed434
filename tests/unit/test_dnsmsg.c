/* test_dnsmsg.c - unit tests of the DNS wire module: cursor, query/reply parsing, CNAME chains,
 * TTL and EDNS rewrites, truncation, local answers, builders and type names. */
#include "dnsroute/dnsmsg.h"

#include <string.h>

#include "check.h"
#include "dnsroute/compat.h"
#include "dnsroute/err.h"

/* Text to uncompressed wire ("www.example.com" or "" for the root); test input is trusted. */
static size_t wire(const char *text, uint8_t *out)
{
    size_t len = 0;
    while (*text != '\0') {
        const char *dot = strchr(text, '.');
        size_t n = dot ? (size_t)(dot - text) : strlen(text);
        out[len++] = (uint8_t)n;
        memcpy(out + len, text, n);
        len += n;
        text += n + (dot ? 1 : 0);
    }
    out[len++] = 0;
    return len;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

/* A query built by the module's own writer, then parsed; fails the test if either step fails. */
static size_t make_query(uint8_t *buf, size_t cap, const char *name, uint16_t qtype,
                         uint16_t edns_size, bool do_bit)
{
    uint8_t qname[DNAME_WIRE_MAX];
    size_t qlen = wire(name, qname);
    int n = dnsmsg_write_query(buf, cap, 0x1234, qname, qlen, qtype, DNSMSG_CLASS_IN, true,
                               edns_size, do_bit);
    CHECK(n > 0);
    return (size_t)n;
}

static void parse_ok(struct dnsmsg_query *q, const uint8_t *pkt, size_t len)
{
    CHECK_INT_EQ(dnsmsg_parse_query(q, pkt, len), 0);
    CHECK_INT_EQ(q->reject, DNSMSG_REJECT_NONE);
}

/* ---- Cursor ---- */

static void test_cursor_reads(void)
{
    static const uint8_t pkt[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    struct dnsmsg_cursor c;
    dnsmsg_cursor_init(&c, pkt, sizeof(pkt));
    CHECK_INT_EQ(dnsmsg_cursor_read_u8(&c), 1);
    CHECK_INT_EQ(dnsmsg_cursor_read_u16(&c), 0x0203);
    CHECK_INT_EQ(dnsmsg_cursor_read_u32(&c), 0x04050607);
    dnsmsg_cursor_skip(&c, 1);
    CHECK_INT_EQ(c.pos, 8);
    CHECK_INT_EQ(c.err, 0);
    CHECK_INT_EQ(dnsmsg_cursor_read_u16(&c), 0); /* one byte left */
    CHECK_INT_EQ(c.err, ERR_TRUNCATED);
    CHECK_INT_EQ(c.pos, 8);
    CHECK_INT_EQ(dnsmsg_cursor_read_u8(&c), 0); /* sticky: even a fitting read fails */
    CHECK_INT_EQ(c.pos, 8);
    dnsmsg_cursor_init(&c, pkt, sizeof(pkt));
    dnsmsg_cursor_skip(&c, 10);
    CHECK_INT_EQ(c.err, ERR_TRUNCATED);
    CHECK_INT_EQ(c.pos, 0);
    dnsmsg_cursor_init(&c, pkt, sizeof(pkt));
    CHECK_INT_EQ(dnsmsg_cursor_read_u32(&c), 0x01020304);
    CHECK_INT_EQ(dnsmsg_cursor_read_u32(&c), 0x05060708);
    CHECK_INT_EQ(dnsmsg_cursor_read_u32(&c), 0);
    CHECK_INT_EQ(c.err, ERR_TRUNCATED);
}

/* A 12-byte zero header followed by body[n]. */
static size_t with_header(uint8_t *pkt, const uint8_t *body, size_t n)
{
    memset(pkt, 0, DNSMSG_HEADER_LEN);
    memcpy(pkt + DNSMSG_HEADER_LEN, body, n);
    return DNSMSG_HEADER_LEN + n;
}

static int read_name_at(const uint8_t *pkt, size_t len, size_t pos, uint8_t *out, size_t *out_len,
                        size_t *end)
{
    struct dnsmsg_cursor c;
    dnsmsg_cursor_init(&c, pkt, len);
    c.pos = pos;
    *out_len = dnsmsg_cursor_read_name(&c, out);
    *end = c.pos;
    return c.err;
}

static void test_cursor_name_compressed(void)
{
    /* 12: "\3www\7example\3com\0" (17 bytes), 29: "\4mail" + ptr to 16 (example.com) */
    static const uint8_t body[] = {3,   'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p',  'l', 'e',  3,
                                   'c', 'o', 'm', 0,   4, 'm', 'a', 'i', 'l', 0xc0, 16,  0xc0, 29};
    uint8_t pkt[64], name[DNAME_WIRE_MAX], expect[DNAME_WIRE_MAX];
    size_t len = with_header(pkt, body, sizeof(body)), n, end;
    CHECK_INT_EQ(read_name_at(pkt, len, 12, name, &n, &end), 0);
    CHECK_INT_EQ(n, wire("www.example.com", expect));
    CHECK_MEM_EQ(name, expect, n);
    CHECK_INT_EQ(end, 29);
    CHECK_INT_EQ(read_name_at(pkt, len, 29, name, &n, &end), 0);
    CHECK_INT_EQ(n, wire("mail.example.com", expect));
    CHECK_MEM_EQ(name, expect, n);
    CHECK_INT_EQ(end, 36); /* just past the pointer */
    /* A pointer to a pointer. */
    CHECK_INT_EQ(read_name_at(pkt, len, 36, name, &n, &end), 0);
    CHECK_MEM_EQ(name, expect, n);
    CHECK_INT_EQ(end, 38);
    /* skip_name validates too. */
    struct dnsmsg_cursor c;
    dnsmsg_cursor_init(&c, pkt, len);
    c.pos = 29;
    dnsmsg_cursor_skip_name(&c);
    CHECK_INT_EQ(c.err, 0);
    CHECK_INT_EQ(c.pos, 36);
    /* Every prefix of the packet fails on the name that crosses its end, without reading past. */
    for (size_t cut = 12; cut < 29; cut++) {
        CHECK_INT_EQ(read_name_at(pkt, cut, 12, name, &n, &end), ERR_TRUNCATED);
        CHECK_INT_EQ(n, 0);
    }
    for (size_t cut = 29; cut < 36; cut++) {
        CHECK_INT_EQ(read_name_at(pkt, cut, 29, name, &n, &end), ERR_TRUNCATED);
    }
}

static void test_cursor_name_bad_pointers(void)
{
    uint8_t pkt[64], name[DNAME_WIRE_MAX];
    size_t n, end;
    /* Pointer to itself. */
    static const uint8_t self[] = {0xc0, 12};
    size_t len = with_header(pkt, self, sizeof(self));
    CHECK_INT_EQ(read_name_at(pkt, len, 12, name, &n, &end), ERR_MALFORMED);
    /* Forward pointer (to a valid name after it). */
    static const uint8_t fwd[] = {0xc0, 14, 1, 'a', 0};
    len = with_header(pkt, fwd, sizeof(fwd));
    CHECK_INT_EQ(read_name_at(pkt, len, 12, name, &n, &end), ERR_MALFORMED);
    CHECK_INT_EQ(read_name_at(pkt, len, 14, name, &n, &end), 0);
    /* Two pointers pointing at each other. */
    static const uint8_t loop[] = {0xc0, 14, 0xc0, 12};
    len = with_header(pkt, loop, sizeof(loop));
    CHECK_INT_EQ(read_name_at(pkt, len, 12, name, &n, &end), ERR_MALFORMED);
    CHECK_INT_EQ(read_name_at(pkt, len, 14, name, &n, &end), ERR_MALFORMED);
    /* A label run that points back to its own start: "\1a" + ptr to 12. */
    static const uint8_t own[] = {1, 'a', 0xc0, 12};
    len = with_header(pkt, own, sizeof(own));
    CHECK_INT_EQ(read_name_at(pkt, len, 12, name, &n, &end), ERR_MALFORMED);
    /* Backwards, but into the middle of a run that leads to the same pointer again. */
    static const uint8_t mid[] = {1, 'a', 1, 'b', 0xc0, 14};
    len = with_header(pkt, mid, sizeof(mid));
    CHECK_INT_EQ(read_name_at(pkt, len, 12, name, &n, &end), ERR_MALFORMED);
    /* Backwards, but the label reached runs over the pointer itself (found by fuzzing). */
    static const uint8_t over[] = {3, 'x', 0xc0, 12, 0};
    len = with_header(pkt, over, sizeof(over));
    CHECK_INT_EQ(read_name_at(pkt, len, 14, name, &n, &end), ERR_MALFORMED);
    CHECK_INT_EQ(read_name_at(pkt, len, 12, name, &n, &end), 0); /* as a name of its own: fine */
    /* The same two hops deep: the second target's run must end before the first target. */
    static const uint8_t over2[] = {1, 'a', 0, 1, 'b', 0xc0, 12, 0xc0, 15};
    len = with_header(pkt, over2, sizeof(over2));
    CHECK_INT_EQ(read_name_at(pkt, len, 19, name, &n, &end), 0);
    CHECK_INT_EQ(n, 5);
    /* Into the header. */
    static const uint8_t hdr[] = {0xc0, 2};
    len = with_header(pkt, hdr, sizeof(hdr));
    CHECK_INT_EQ(read_name_at(pkt, len, 12, name, &n, &end), ERR_MALFORMED);
    /* Pointer cut after its first byte. */
    static const uint8_t half[] = {1, 'a', 0, 0xc0};
    len = with_header(pkt, half, sizeof(half));
    CHECK_INT_EQ(read_name_at(pkt, len, 15, name, &n, &end), ERR_TRUNCATED);
    /* Extended and reserved label types. */
    static const uint8_t ext[] = {0x41, 'a', 0};
    len = with_header(pkt, ext, sizeof(ext));
    CHECK_INT_EQ(read_name_at(pkt, len, 12, name, &n, &end), ERR_MALFORMED);
    static const uint8_t res[] = {0x81, 'a', 0};
    len = with_header(pkt, res, sizeof(res));
    CHECK_INT_EQ(read_name_at(pkt, len, 12, name, &n, &end), ERR_MALFORMED);
}

static void test_cursor_name_pointer_chain_bound(void)
{
    /* Root at 12, then pointers each to the previous one: chain length = number of hops. */
    uint8_t pkt[512], name[DNAME_WIRE_MAX];
    memset(pkt, 0, DNSMSG_HEADER_LEN + 1);
    size_t len = DNSMSG_HEADER_LEN + 1, prev = DNSMSG_HEADER_LEN, n, end;
    for (int i = 0; i < DNSMSG_PTR_MAX + 1; i++) {
        put16(pkt + len, (uint16_t)(0xc000 | prev));
        prev = len;
        len += 2;
    }
    /* The pointer at prev takes DNSMSG_PTR_MAX + 1 hops; the one before it DNSMSG_PTR_MAX. */
    CHECK_INT_EQ(read_name_at(pkt, len, prev, name, &n, &end), ERR_MALFORMED);
    CHECK_INT_EQ(read_name_at(pkt, len, prev - 2, name, &n, &end), 0);
    CHECK_INT_EQ(n, 1);
    CHECK_INT_EQ(end, prev);
}

/* A name of exactly total wire bytes (total >= 2), in 63-byte labels and a shorter last one. */
static size_t long_name(uint8_t *out, size_t total)
{
    size_t len = 0, left = total - 1;
    while (left > 0) {
        size_t lab = left - 1 > 63 ? 63 : left - 1;
        if (left - 1 - lab == 1) {
            lab--; /* avoid a remainder of 1, which cannot hold a label */
        }
        out[len++] = (uint8_t)lab;
        memset(out + len, 'x', lab);
        len += lab;
        left -= lab + 1;
    }
    out[len++] = 0;
    return len;
}

static void test_cursor_name_length_limit(void)
{
    uint8_t pkt[700], name[DNAME_WIRE_MAX];
    size_t n, end;
    memset(pkt, 0, DNSMSG_HEADER_LEN);
    size_t len = DNSMSG_HEADER_LEN + long_name(pkt + DNSMSG_HEADER_LEN, 255);
    CHECK_INT_EQ(len - DNSMSG_HEADER_LEN, 255);
    CHECK_INT_EQ(read_name_at(pkt, len, 12, name, &n, &end), 0);
    CHECK_INT_EQ(n, 255);
    len = DNSMSG_HEADER_LEN + long_name(pkt + DNSMSG_HEADER_LEN, 256);
    CHECK_INT_EQ(len - DNSMSG_HEADER_LEN, 256);
    CHECK_INT_EQ(read_name_at(pkt, len, 12, name, &n, &end), ERR_NAME_TOO_LONG);
    /* Over the limit only after decompression: "\1a" + ptr to a 254-byte name. */
    len = DNSMSG_HEADER_LEN + long_name(pkt + DNSMSG_HEADER_LEN, 254);
    size_t at = len;
    pkt[len++] = 1;
    pkt[len++] = 'a';
    put16(pkt + len, 0xc000 | DNSMSG_HEADER_LEN);
    len += 2;
    CHECK_INT_EQ(read_name_at(pkt, len, at, name, &n, &end), ERR_NAME_TOO_LONG);
    /* ... and exactly at the limit with a 253-byte target. */
    len = DNSMSG_HEADER_LEN + long_name(pkt + DNSMSG_HEADER_LEN, 253);
    at = len;
    pkt[len++] = 1;
    pkt[len++] = 'a';
    put16(pkt + len, 0xc000 | DNSMSG_HEADER_LEN);
    len += 2;
    CHECK_INT_EQ(read_name_at(pkt, len, at, name, &n, &end), 0);
    CHECK_INT_EQ(n, 255);
    /* A 64-byte label length is not a valid label type either (0x40). */
    static const uint8_t l64[] = {64};
    len = with_header(pkt, l64, sizeof(l64));
    CHECK_INT_EQ(read_name_at(pkt, len, 12, name, &n, &end), ERR_MALFORMED);
}

static void test_cursor_read_rr(void)
{
    uint8_t q[512], buf[512];
    struct dnsmsg_query query;
    size_t qlen = make_query(q, sizeof(q), "a.test", DNSMSG_TYPE_A, 0, false);
    parse_ok(&query, q, qlen);
    struct dnsmsg_builder b;
    dnsmsg_builder_init_reply(&b, buf, sizeof(buf), &query, 0, 0);
    static const uint8_t addr[4] = {192, 0, 2, 1};
    dnsmsg_builder_add_addr(&b, DNSMSG_SECTION_ANSWER, NULL, 0, 300, addr, 4);
    int len = dnsmsg_builder_finish(&b);
    CHECK(len > 0);
    struct dnsmsg_cursor c;
    dnsmsg_cursor_init(&c, buf, (size_t)len);
    c.pos = query.question_end;
    struct dnsmsg_rr rr;
    CHECK_INT_EQ(dnsmsg_cursor_read_rr(&c, &rr), 0);
    CHECK_INT_EQ(rr.owner_off, query.question_end);
    CHECK_INT_EQ(rr.type, DNSMSG_TYPE_A);
    CHECK_INT_EQ(rr.rclass, DNSMSG_CLASS_IN);
    CHECK_INT_EQ(rr.ttl_s, 300);
    CHECK_INT_EQ(rr.ttl_off, query.question_end + 6);
    CHECK_INT_EQ(rr.rdlen, 4);
    CHECK_MEM_EQ(buf + rr.rdata_off, addr, 4);
    CHECK_INT_EQ(c.pos, (size_t)len);
    /* rdlen past the end */
    dnsmsg_cursor_init(&c, buf, (size_t)len - 1);
    c.pos = query.question_end;
    CHECK_INT_EQ(dnsmsg_cursor_read_rr(&c, &rr), ERR_TRUNCATED);
}

/* ---- Queries ---- */

static void test_query_plain(void)
{
    uint8_t pkt[512], expect[DNAME_WIRE_MAX];
    size_t len = make_query(pkt, sizeof(pkt), "WWW.Example.com", DNSMSG_TYPE_AAAA, 0, false);
    struct dnsmsg_query q;
    parse_ok(&q, pkt, len);
    CHECK_INT_EQ(q.id, 0x1234);
    CHECK_INT_EQ(q.flags, DNSMSG_FLAG_RD);
    CHECK_INT_EQ(q.opcode, 0);
    CHECK(q.has_question);
    CHECK_INT_EQ(q.qname_len, wire("WWW.Example.com", expect));
    CHECK_MEM_EQ(q.qname, expect, q.qname_len); /* case kept */
    CHECK_INT_EQ(q.qtype, DNSMSG_TYPE_AAAA);
    CHECK_INT_EQ(q.qclass, DNSMSG_CLASS_IN);
    CHECK_INT_EQ(q.question_end, len);
    CHECK_INT_EQ(q.len, len);
    CHECK(!q.edns.present);
}

static void test_query_edns(void)
{
    uint8_t pkt[512];
    size_t len = make_query(pkt, sizeof(pkt), "example.com", DNSMSG_TYPE_A, 4096, true);
    struct dnsmsg_query q;
    parse_ok(&q, pkt, len);
    CHECK(q.edns.present);
    CHECK(q.edns.do_bit);
    CHECK_INT_EQ(q.edns.udp_size, 4096);
    CHECK_INT_EQ(q.edns.version, 0);
    CHECK_INT_EQ(q.edns.ext_rcode, 0);
    CHECK_INT_EQ(q.edns.opt_off, q.question_end);
    CHECK_INT_EQ(q.edns.opt_len, DNSMSG_OPT_FIXED_LEN);
    CHECK_INT_EQ(q.edns.options_len, 0);
    CHECK_INT_EQ(q.question_end + DNSMSG_OPT_FIXED_LEN, len);
    /* Version and ext-rcode are reported as sent (BADVERS is the caller's choice). */
    pkt[q.edns.opt_off + 5] = 7;
    pkt[q.edns.opt_off + 6] = 1;
    parse_ok(&q, pkt, len);
    CHECK_INT_EQ(q.edns.version, 1);
    CHECK_INT_EQ(q.edns.ext_rcode, 7);
}

/* Appends an option (code, data[n]) to the query's OPT, fixing its rdlength. */
static size_t add_option(uint8_t *pkt, size_t len, const struct dnsmsg_query *q, uint16_t code,
                         const uint8_t *data, uint16_t n)
{
    put16(pkt + len, code);
    put16(pkt + len + 2, n);
    memcpy(pkt + len + 4, data, n);
    uint16_t rdlen = get16(pkt + q->edns.opt_off + 9);
    put16(pkt + q->edns.opt_off + 9, (uint16_t)(rdlen + 4 + n));
    return len + 4 + n;
}

static void test_query_edns_options(void)
{
    uint8_t pkt[512];
    size_t len = make_query(pkt, sizeof(pkt), "example.com", DNSMSG_TYPE_A, 1232, false);
    struct dnsmsg_query q;
    parse_ok(&q, pkt, len);
    static const uint8_t cookie[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    len = add_option(pkt, len, &q, 10, cookie, sizeof(cookie));
    parse_ok(&q, pkt, len);
    CHECK_INT_EQ(q.edns.options_len, 12);
    CHECK_INT_EQ(q.edns.options_off, q.edns.opt_off + DNSMSG_OPT_FIXED_LEN);
    /* An option whose length runs past the rdata is FORMERR. */
    put16(pkt + q.edns.options_off + 2, 9);
    CHECK_INT_EQ(dnsmsg_parse_query(&q, pkt, len), ERR_MALFORMED);
    CHECK_INT_EQ(q.reject, DNSMSG_REJECT_FORMERR);
    CHECK(!q.edns.present);
    /* So is an option header cut short. */
    put16(pkt + q.edns.options_off + 2, 8);
    put16(pkt + q.edns.opt_off + 9, 3);
    CHECK_INT_EQ(dnsmsg_parse_query(&q, pkt, len - 9), ERR_MALFORMED);
}

static void test_query_truncated_every_byte(void)
{
    uint8_t pkt[512];
    size_t len = make_query(pkt, sizeof(pkt), "www.example.com", DNSMSG_TYPE_A, 1232, true);
    struct dnsmsg_query q;
    for (size_t cut = 0; cut < len; cut++) {
        /* Copy to an exact-size buffer so ASan sees any read past the end. */
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, pkt, cut);
        int rc = dnsmsg_parse_query(&q, copy, cut);
        free(copy);
        CHECK(rc < 0);
        CHECK_INT_EQ(q.reject,
                     cut < DNSMSG_HEADER_LEN ? DNSMSG_REJECT_DROP : DNSMSG_REJECT_FORMERR);
        if (cut >= DNSMSG_HEADER_LEN) {
            CHECK_INT_EQ(q.id, 0x1234);
        }
    }
    parse_ok(&q, pkt, len);
}

/* The peek agrees with the parse on a plain and an EDNS query, says no to what only the parser can
 * judge (a reply, two questions, a compressed name), and reads nothing past any cut. */
static void test_query_peek(void)
{
    uint8_t pkt[512];
    struct dnsmsg_query_peek pq;
    struct dnsmsg_query q;
    size_t len = make_query(pkt, sizeof(pkt), "www.Example.com", DNSMSG_TYPE_AAAA, 1232, true);
    parse_ok(&q, pkt, len);
    CHECK(dnsmsg_peek_query(pkt, len, &pq));
    CHECK_INT_EQ(pq.qname_len, q.qname_len);
    CHECK_INT_EQ(pq.qtype, DNSMSG_TYPE_AAAA);
    CHECK_INT_EQ(pq.qclass, DNSMSG_CLASS_IN);
    CHECK_INT_EQ(pq.flags, q.flags);
    CHECK(pq.do_bit && q.edns.do_bit);
    len = make_query(pkt, sizeof(pkt), "example.com", DNSMSG_TYPE_A, 1232, false);
    CHECK(dnsmsg_peek_query(pkt, len, &pq) && !pq.do_bit);
    len = make_query(pkt, sizeof(pkt), "example.com", DNSMSG_TYPE_A, 0, false);
    CHECK(dnsmsg_peek_query(pkt, len, &pq) && !pq.do_bit && pq.qname_len == 13);
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1); /* exact size: ASan sees any read past it */
        memcpy(copy, pkt, cut);
        CHECK(!dnsmsg_peek_query(copy, cut, &pq));
        free(copy);
    }
    pkt[2] |= 0x80; /* a reply */
    CHECK(!dnsmsg_peek_query(pkt, len, &pq));
    pkt[2] &= 0x7f;
    pkt[5] = 2; /* two questions */
    CHECK(!dnsmsg_peek_query(pkt, len, &pq));
    pkt[5] = 1;
    pkt[DNSMSG_HEADER_LEN] = 0xc0; /* a compression pointer in the question */
    CHECK(!dnsmsg_peek_query(pkt, len, &pq));
}

static void test_query_header_rejects(void)
{
    uint8_t pkt[512];
    size_t len = make_query(pkt, sizeof(pkt), "example.com", DNSMSG_TYPE_A, 0, false);
    struct dnsmsg_query q;
    pkt[2] |= 0x80; /* QR */
    CHECK_INT_EQ(dnsmsg_parse_query(&q, pkt, len), ERR_MALFORMED);
    CHECK_INT_EQ(q.reject, DNSMSG_REJECT_DROP);
    pkt[2] = (uint8_t)(2 << 3); /* opcode STATUS */
    CHECK_INT_EQ(dnsmsg_parse_query(&q, pkt, len), ERR_UNSUPPORTED);
    CHECK_INT_EQ(q.reject, DNSMSG_REJECT_NOTIMP);
    CHECK_INT_EQ(q.opcode, 2);
    CHECK(!q.has_question);
    pkt[2] = 0x01;
    parse_ok(&q, pkt, len);
}

static void test_query_wrong_counts(void)
{
    uint8_t pkt[512];
    size_t len = make_query(pkt, sizeof(pkt), "example.com", DNSMSG_TYPE_A, 0, false);
    struct dnsmsg_query q;
    static const struct {
        int off;
        uint16_t v;
    } cases[] = {{4, 0}, {4, 2}, {6, 1}, {8, 1}, {10, 1}};
    for (size_t i = 0; i < DNSROUTE_ARRAY_LEN(cases); i++) {
        uint8_t copy[512];
        memcpy(copy, pkt, len);
        put16(copy + cases[i].off, cases[i].v);
        CHECK(dnsmsg_parse_query(&q, copy, len) < 0);
        CHECK_INT_EQ(q.reject, DNSMSG_REJECT_FORMERR);
        CHECK_INT_EQ(q.id, 0x1234);
    }
    /* ancount 1 with a real record after the question: still FORMERR, question kept for echo. */
    static const uint8_t a_rr[] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4};
    memcpy(pkt + len, a_rr, sizeof(a_rr));
    put16(pkt + 6, 1);
    CHECK_INT_EQ(dnsmsg_parse_query(&q, pkt, len + sizeof(a_rr)), ERR_MALFORMED);
    CHECK_INT_EQ(q.reject, DNSMSG_REJECT_FORMERR);
    CHECK(q.has_question);
    CHECK_INT_EQ(q.qtype, DNSMSG_TYPE_A);
    /* Trailing bytes after the question. */
    put16(pkt + 6, 0);
    CHECK_INT_EQ(dnsmsg_parse_query(&q, pkt, len + 1), ERR_MALFORMED);
    CHECK_INT_EQ(q.reject, DNSMSG_REJECT_FORMERR);
}

static void test_query_additional_rules(void)
{
    uint8_t pkt[512], base[512];
    size_t blen = make_query(base, sizeof(base), "example.com", DNSMSG_TYPE_A, 1232, false);
    struct dnsmsg_query q;
    parse_ok(&q, base, blen);
    static const uint8_t a_rr[] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4};
    /* OPT followed by an A record: OPT not last. */
    memcpy(pkt, base, blen);
    memcpy(pkt + blen, a_rr, sizeof(a_rr));
    put16(pkt + 10, 2);
    CHECK_INT_EQ(dnsmsg_parse_query(&q, pkt, blen + sizeof(a_rr)), ERR_MALFORMED);
    CHECK_INT_EQ(q.reject, DNSMSG_REJECT_FORMERR);
    /* A record then OPT: OPT last but another additional record. */
    memcpy(pkt, base, q.question_end);
    memcpy(pkt + q.question_end, a_rr, sizeof(a_rr));
    memcpy(pkt + q.question_end + sizeof(a_rr), base + q.question_end, DNSMSG_OPT_FIXED_LEN);
    put16(pkt + 10, 2);
    CHECK_INT_EQ(dnsmsg_parse_query(&q, pkt, blen + sizeof(a_rr)), ERR_MALFORMED);
    /* Two OPTs. */
    memcpy(pkt, base, blen);
    memcpy(pkt + blen, base + blen - DNSMSG_OPT_FIXED_LEN, DNSMSG_OPT_FIXED_LEN);
    put16(pkt + 10, 2);
    CHECK_INT_EQ(dnsmsg_parse_query(&q, pkt, blen + DNSMSG_OPT_FIXED_LEN), ERR_MALFORMED);
    /* A lone non-OPT additional record. */
    size_t plen = make_query(pkt, sizeof(pkt), "example.com", DNSMSG_TYPE_A, 0, false);
    memcpy(pkt + plen, a_rr, sizeof(a_rr));
    put16(pkt + 10, 1);
    CHECK_INT_EQ(dnsmsg_parse_query(&q, pkt, plen + sizeof(a_rr)), ERR_MALFORMED);
    /* OPT with a non-root owner. */
    memcpy(pkt, base, blen);
    static const uint8_t opt_owner[] = {0xc0, 12, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0};
    memcpy(pkt + q.question_end, opt_owner, sizeof(opt_owner));
    CHECK_INT_EQ(dnsmsg_parse_query(&q, pkt, (size_t)q.question_end + sizeof(opt_owner)),
                 ERR_MALFORMED);
    CHECK(!q.edns.present);
}

static void test_query_oversize(void)
{
    static uint8_t big[70000];
    size_t len = make_query(big, sizeof(big), "example.com", DNSMSG_TYPE_A, 0, false);
    (void)len;
    struct dnsmsg_query q;
    CHECK_INT_EQ(dnsmsg_parse_query(&q, big, sizeof(big)), ERR_MALFORMED);
    CHECK_INT_EQ(q.reject, DNSMSG_REJECT_DROP);
    /* A 255-byte qname is fine, a 256-byte one FORMERR. */
    uint8_t pkt[600];
    memset(pkt, 0, sizeof(pkt));
    put16(pkt + 4, 1);
    size_t n = long_name(pkt + DNSMSG_HEADER_LEN, 255);
    put16(pkt + DNSMSG_HEADER_LEN + n, 1);
    put16(pkt + DNSMSG_HEADER_LEN + n + 2, 1);
    parse_ok(&q, pkt, DNSMSG_HEADER_LEN + n + 4);
    CHECK_INT_EQ(q.qname_len, 255);
    n = long_name(pkt + DNSMSG_HEADER_LEN, 256);
    CHECK_INT_EQ(dnsmsg_parse_query(&q, pkt, DNSMSG_HEADER_LEN + n + 4), ERR_NAME_TOO_LONG);
    CHECK_INT_EQ(q.reject, DNSMSG_REJECT_FORMERR);
    CHECK(!q.has_question);
}

static void test_udp_limit(void)
{
    struct dnsmsg_edns e = {0};
    CHECK_INT_EQ(dnsmsg_udp_limit(&e, 1232), 512);
    e.present = true;
    e.udp_size = 4096;
    CHECK_INT_EQ(dnsmsg_udp_limit(&e, 1232), 1232);
    e.udp_size = 100;
    CHECK_INT_EQ(dnsmsg_udp_limit(&e, 1232), 512);
    e.udp_size = 1000;
    CHECK_INT_EQ(dnsmsg_udp_limit(&e, 1232), 1000);
    CHECK_INT_EQ(dnsmsg_udp_limit(&e, 100), 512);
}

static void test_query_set_edns(void)
{
    uint8_t pkt[512];
    struct dnsmsg_query q, up;
    /* No client OPT: one is appended. */
    size_t len = make_query(pkt, sizeof(pkt), "example.com", DNSMSG_TYPE_A, 0, false);
    parse_ok(&q, pkt, len);
    int n = dnsmsg_query_set_edns(pkt, len, sizeof(pkt), &q, 1232);
    CHECK_INT_EQ(n, (int)len + DNSMSG_OPT_FIXED_LEN);
    parse_ok(&up, pkt, (size_t)n);
    CHECK(up.edns.present);
    CHECK_INT_EQ(up.edns.udp_size, 1232);
    CHECK(!up.edns.do_bit);
    /* Client OPT with DO, a cookie and version/ext-rcode junk: size replaced, rest kept. */
    len = make_query(pkt, sizeof(pkt), "example.com", DNSMSG_TYPE_A, 4096, true);
    parse_ok(&q, pkt, len);
    static const uint8_t cookie[8] = {9, 8, 7, 6, 5, 4, 3, 2};
    len = add_option(pkt, len, &q, 10, cookie, sizeof(cookie));
    pkt[q.edns.opt_off + 5] = 3;
    parse_ok(&q, pkt, len);
    n = dnsmsg_query_set_edns(pkt, len, sizeof(pkt), &q, 1232);
    CHECK_INT_EQ(n, (int)len);
    parse_ok(&up, pkt, (size_t)n);
    CHECK_INT_EQ(up.edns.udp_size, 1232);
    CHECK(up.edns.do_bit);
    CHECK_INT_EQ(up.edns.ext_rcode, 0);
    CHECK_INT_EQ(up.edns.options_len, 12);
    CHECK_MEM_EQ(pkt + up.edns.options_off + 4, cookie, sizeof(cookie));
    /* Not enough room. */
    len = make_query(pkt, sizeof(pkt), "example.com", DNSMSG_TYPE_A, 0, false);
    parse_ok(&q, pkt, len);
    CHECK_INT_EQ(dnsmsg_query_set_edns(pkt, len, len + 10, &q, 1232), ERR_FULL);
    CHECK_INT_EQ(get16(pkt + 10), 0);
}

/* ---- Replies ---- */

/* A reply to q: answer section from the caller, returned length. */
static int finish(struct dnsmsg_builder *b)
{
    int n = dnsmsg_builder_finish(b);
    CHECK(n > 0);
    return n;
}

static void test_reply_parse_match(void)
{
    uint8_t qbuf[512], buf[512];
    struct dnsmsg_query q;
    size_t qlen = make_query(qbuf, sizeof(qbuf), "Example.COM", DNSMSG_TYPE_A, 1232, false);
    parse_ok(&q, qbuf, qlen);
    struct dnsmsg_builder b;
    dnsmsg_builder_init_reply(&b, buf, sizeof(buf), &q, DNSMSG_RCODE_NOERROR, 0);
    /* The upstream echoes the name in other case (0x20): still matches. */
    buf[DNSMSG_HEADER_LEN + 1] = 'e';
    buf[DNSMSG_HEADER_LEN + 9] = 'c';
    static const uint8_t addr[4] = {192, 0, 2, 1};
    dnsmsg_builder_add_addr(&b, DNSMSG_SECTION_ANSWER, NULL, 0, 300, addr, 4);
    dnsmsg_builder_add_soa(&b, NULL, 0, 600, 60);
    dnsmsg_builder_add_txt(&b, DNSMSG_SECTION_ADDITIONAL, NULL, 0, 5, "hello", 5);
    dnsmsg_builder_add_opt(&b, 4096, true);
    int len = finish(&b);
    struct dnsmsg_reply r;
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)len, &q), 0);
    CHECK_INT_EQ(r.id, 0x1234);
    CHECK_INT_EQ(r.rcode, 0);
    CHECK(!r.tc);
    CHECK_INT_EQ(r.qdcount, 1);
    CHECK_INT_EQ(r.ancount, 1);
    CHECK_INT_EQ(r.nscount, 1);
    CHECK_INT_EQ(r.arcount, 2);
    CHECK_INT_EQ(r.question_end, q.question_end);
    CHECK_INT_EQ(r.authority_off, r.question_end + 16);
    CHECK(r.edns.present);
    CHECK(r.edns.do_bit);
    CHECK_INT_EQ(r.edns.udp_size, 4096);
    CHECK_INT_EQ(r.edns.opt_off + DNSMSG_OPT_FIXED_LEN, len);
    CHECK_INT_EQ(r.len, len);
    /* Without a query, no match is required. */
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)len, NULL), 0);
    /* The quick look reads the header and the question only: the same question end, no RRs
     * walked (a reply cut right after its question still peeks well). */
    struct dnsmsg_reply peek;
    CHECK_INT_EQ(dnsmsg_peek_reply(&peek, buf, (size_t)len), 0);
    CHECK_INT_EQ(peek.id, 0x1234);
    CHECK_INT_EQ(peek.qdcount, 1);
    CHECK_INT_EQ(peek.ancount, 1);
    CHECK_INT_EQ(peek.question_end, r.question_end);
    CHECK_INT_EQ(peek.authority_off, 0);
    CHECK_INT_EQ(dnsmsg_peek_reply(&peek, buf, r.question_end), 0);
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, r.question_end, NULL), ERR_TRUNCATED);
    CHECK_INT_EQ(dnsmsg_peek_reply(&peek, buf, (size_t)r.question_end - 1), ERR_TRUNCATED);
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)len, NULL), 0);
    /* Wrong type, class, name, QR, qdcount. */
    struct dnsmsg_query other = q;
    other.qtype = DNSMSG_TYPE_AAAA;
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)len, &other), ERR_MISMATCH);
    other = q;
    other.qclass = 3;
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)len, &other), ERR_MISMATCH);
    other = q;
    other.qname[2] = 'y';
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)len, &other), ERR_MISMATCH);
    other = q;
    other.qname_len = (uint16_t)wire("example.co", other.qname);
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)len, &other), ERR_MISMATCH);
    buf[2] &= 0x7f;
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)len, &q), ERR_MISMATCH);
    buf[2] |= 0x80;
    put16(buf + 4, 0);
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)len, &q), ERR_MISMATCH);
    put16(buf + 4, 1);
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)len, &q), 0);
}

static int build_cname_reply(uint8_t *buf, size_t cap, const struct dnsmsg_query *q)
{
    uint8_t t1[DNAME_WIRE_MAX], t2[DNAME_WIRE_MAX];
    size_t t1_len = wire("t1.cdn.test", t1), t2_len = wire("t2.cdn.test", t2);
    struct dnsmsg_builder b;
    dnsmsg_builder_init_reply(&b, buf, cap, q, DNSMSG_RCODE_NOERROR, 0);
    static const uint8_t a1[4] = {10, 0, 0, 1}, a2[4] = {10, 0, 0, 2}, a3[4] = {10, 0, 0, 3};
    dnsmsg_builder_add_cname(&b, NULL, 0, 3600, t1, t1_len);
    dnsmsg_builder_add_cname(&b, t1, t1_len, 1800, t2, t2_len);
    dnsmsg_builder_add_addr(&b, DNSMSG_SECTION_ANSWER, t2, t2_len, 120, a1, 4);
    dnsmsg_builder_add_addr(&b, DNSMSG_SECTION_ANSWER, t2, t2_len, 60, a2, 4);
    uint8_t un[DNAME_WIRE_MAX];
    size_t un_len = wire("unrelated.test", un);
    dnsmsg_builder_add_addr(&b, DNSMSG_SECTION_ANSWER, un, un_len, 30, a3, 4);
    dnsmsg_builder_add_soa(&b, t2, t2_len, 900, 300);
    dnsmsg_builder_add_opt(&b, 1232, false);
    return finish(&b);
}

static void test_reply_truncated_every_byte(void)
{
    uint8_t qbuf[512], buf[512];
    struct dnsmsg_query q;
    size_t qlen = make_query(qbuf, sizeof(qbuf), "www.example.com", DNSMSG_TYPE_A, 0, false);
    parse_ok(&q, qbuf, qlen);
    int len = build_cname_reply(buf, sizeof(buf), &q);
    struct dnsmsg_reply r;
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)len, &q), 0);
    for (int cut = 0; cut < len; cut++) {
        uint8_t *copy = malloc(cut ? (size_t)cut : 1);
        memcpy(copy, buf, (size_t)cut);
        int rc = dnsmsg_parse_reply(&r, copy, (size_t)cut, &q);
        free(copy);
        CHECK(rc == ERR_TRUNCATED || rc == ERR_MALFORMED);
    }
    /* Trailing garbage. */
    buf[len] = 0;
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)len + 1, &q), ERR_MALFORMED);
}

static void test_reply_opt_rules(void)
{
    uint8_t qbuf[512], buf[512];
    struct dnsmsg_query q;
    size_t qlen = make_query(qbuf, sizeof(qbuf), "example.com", DNSMSG_TYPE_A, 0, false);
    parse_ok(&q, qbuf, qlen);
    struct dnsmsg_reply r;
    struct dnsmsg_builder b;
    /* Two OPTs. */
    dnsmsg_builder_init_reply(&b, buf, sizeof(buf), &q, 0, 0);
    dnsmsg_builder_add_opt(&b, 1232, false);
    dnsmsg_builder_add_opt(&b, 1232, false);
    int len = finish(&b);
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)len, &q), ERR_MALFORMED);
    /* OPT in the answer section: an OPT then relabel counts (answer 1, additional 0). */
    dnsmsg_builder_init_reply(&b, buf, sizeof(buf), &q, 0, 0);
    dnsmsg_builder_add_opt(&b, 1232, false);
    len = finish(&b);
    put16(buf + 6, 1);
    put16(buf + 10, 0);
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)len, &q), ERR_MALFORMED);
    /* Extended rcode: BADVERS = 16 -> header 0, OPT ext 1. */
    dnsmsg_builder_init_reply(&b, buf, sizeof(buf), &q, 0, 0);
    dnsmsg_builder_add_opt(&b, 1232, false);
    len = finish(&b);
    buf[len - 6] = 1;
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)len, &q), 0);
    CHECK_INT_EQ(r.rcode, DNSMSG_RCODE_BADVERS);
    CHECK_INT_EQ(r.edns.ext_rcode, 1);
    /* TC flag. */
    dnsmsg_builder_init_reply(&b, buf, sizeof(buf), &q, DNSMSG_RCODE_SERVFAIL, DNSMSG_FLAG_TC);
    len = finish(&b);
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)len, &q), 0);
    CHECK(r.tc);
    CHECK_INT_EQ(r.rcode, DNSMSG_RCODE_SERVFAIL);
    CHECK(!r.edns.present);
    /* Short and oversize. */
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, 11, NULL), ERR_TRUNCATED);
    static uint8_t big[70000];
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, big, sizeof(big), NULL), ERR_MALFORMED);
}

/* ---- CNAME chains ---- */

static void test_chain_basic(void)
{
    uint8_t qbuf[512], buf[512];
    struct dnsmsg_query q;
    size_t qlen = make_query(qbuf, sizeof(qbuf), "www.example.com", DNSMSG_TYPE_A, 0, false);
    parse_ok(&q, qbuf, qlen);
    int len = build_cname_reply(buf, sizeof(buf), &q);
    struct dnsmsg_reply r;
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)len, &q), 0);
    struct dnsmsg_addr out[8];
    CHECK_INT_EQ(dnsmsg_chain_addrs(buf, (size_t)len, &r, q.qname, q.qname_len, q.qtype, out, 8),
                 2);
    static const uint8_t a1[4] = {10, 0, 0, 1}, a2[4] = {10, 0, 0, 2};
    CHECK_INT_EQ(out[0].len, 4);
    CHECK_MEM_EQ(out[0].addr, a1, 4);
    CHECK_INT_EQ(out[0].ttl_s, 120);
    CHECK_MEM_EQ(out[1].addr, a2, 4);
    CHECK_INT_EQ(out[1].ttl_s, 60);
    /* cap limits what is written. */
    CHECK_INT_EQ(dnsmsg_chain_addrs(buf, (size_t)len, &r, q.qname, q.qname_len, q.qtype, out, 1),
                 1);
    /* Other qtypes extract nothing; AAAA finds none here. */
    CHECK_INT_EQ(
        dnsmsg_chain_addrs(buf, (size_t)len, &r, q.qname, q.qname_len, DNSMSG_TYPE_MX, out, 8), 0);
    CHECK_INT_EQ(
        dnsmsg_chain_addrs(buf, (size_t)len, &r, q.qname, q.qname_len, DNSMSG_TYPE_AAAA, out, 8),
        0);
    /* Starting from the unrelated name finds its own record only (case-insensitive). */
    uint8_t un[DNAME_WIRE_MAX];
    size_t un_len = wire("UNRELATED.test", un);
    CHECK_INT_EQ(dnsmsg_chain_addrs(buf, (size_t)len, &r, un, un_len, DNSMSG_TYPE_A, out, 8), 1);
    CHECK_INT_EQ(out[0].addr[3], 3);
}

static void test_chain_aaaa_case_and_class(void)
{
    uint8_t qbuf[512], buf[512];
    struct dnsmsg_query q;
    size_t qlen = make_query(qbuf, sizeof(qbuf), "v6.test", DNSMSG_TYPE_AAAA, 0, false);
    parse_ok(&q, qbuf, qlen);
    uint8_t upper[DNAME_WIRE_MAX], tgt[DNAME_WIRE_MAX];
    size_t upper_len = wire("V6.TEST", upper), tgt_len = wire("Target.Test", tgt);
    uint8_t lower_tgt[DNAME_WIRE_MAX];
    size_t lower_len = wire("target.test", lower_tgt);
    struct dnsmsg_builder b;
    dnsmsg_builder_init_reply(&b, buf, sizeof(buf), &q, 0, 0);
    static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
    static const uint8_t v4[4] = {1, 2, 3, 4};
    dnsmsg_builder_add_cname(&b, upper, upper_len, 100, tgt, tgt_len);
    dnsmsg_builder_add_addr(&b, DNSMSG_SECTION_ANSWER, lower_tgt, lower_len, 50, v6, 16);
    dnsmsg_builder_add_addr(&b, DNSMSG_SECTION_ANSWER, lower_tgt, lower_len, 50, v4, 4);
    dnsmsg_builder_add_addr(&b, DNSMSG_SECTION_ANSWER, lower_tgt, lower_len, 40, v6, 16);
    int len = finish(&b);
    /* Make the last AAAA class CH: it must be ignored. */
    put16(buf + len - 16 - 8, 3);
    struct dnsmsg_reply r;
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)len, &q), 0);
    struct dnsmsg_addr out[4];
    CHECK_INT_EQ(dnsmsg_chain_addrs(buf, (size_t)len, &r, q.qname, q.qname_len, q.qtype, out, 4),
                 1);
    CHECK_INT_EQ(out[0].len, 16);
    CHECK_MEM_EQ(out[0].addr, v6, 16);
    CHECK_INT_EQ(out[0].ttl_s, 50);
}

static void test_chain_compressed_owners(void)
{
    uint8_t qbuf[512], buf[512];
    struct dnsmsg_query q;
    size_t qlen = make_query(qbuf, sizeof(qbuf), "a.B.test", DNSMSG_TYPE_A, 0, false);
    parse_ok(&q, qbuf, qlen);
    /* CNAME a.b.test -> "x" + pointer to "B.test" in the question (offset 14). */
    static const uint8_t target[] = {1, 'x', 0xc0, 14};
    struct dnsmsg_builder b;
    dnsmsg_builder_init_reply(&b, buf, sizeof(buf), &q, 0, 0);
    dnsmsg_builder_add_rr(&b, DNSMSG_SECTION_ANSWER, NULL, 0, DNSMSG_TYPE_CNAME, 60, target,
                          sizeof(target));
    int len = finish(&b);
    size_t target_off = (size_t)len - sizeof(target);
    /* A records owned by a pointer to the CNAME's rdata (x.B.test), and by "X.b.TEST" spelled out
     * with a pointer for its last label. */
    static const uint8_t a_rr[] = {0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 9, 9, 1};
    put16(buf + len, (uint16_t)(0xc000 | target_off));
    memcpy(buf + len + 2, a_rr, sizeof(a_rr));
    len += 2 + (int)sizeof(a_rr);
    static const uint8_t owner2[] = {1, 'X', 1, 'b', 0xc0, 16};
    memcpy(buf + len, owner2, sizeof(owner2));
    memcpy(buf + len + sizeof(owner2), a_rr, sizeof(a_rr));
    buf[len + sizeof(owner2) + sizeof(a_rr) - 1] = 2;
    len += (int)(sizeof(owner2) + sizeof(a_rr));
    put16(buf + 6, 3);
    struct dnsmsg_reply r;
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)len, &q), 0);
    struct dnsmsg_addr out[4];
    CHECK_INT_EQ(dnsmsg_chain_addrs(buf, (size_t)len, &r, q.qname, q.qname_len, q.qtype, out, 4),
                 2);
    CHECK_INT_EQ(out[0].addr[3], 1);
    CHECK_INT_EQ(out[1].addr[3], 2);
}

/* A reply whose answer is c0 -> c1 -> ... -> c<links>, then an A for c<links>. */
static int build_chain(uint8_t *buf, size_t cap, const struct dnsmsg_query *q, int links,
                       int loop_to)
{
    struct dnsmsg_builder b;
    dnsmsg_builder_init_reply(&b, buf, cap, q, 0, 0);
    uint8_t owner[DNAME_WIRE_MAX], target[DNAME_WIRE_MAX];
    char text[32];
    for (int i = 0; i < links; i++) {
        snprintf(text, sizeof(text), "c%d.test", i);
        size_t owner_len = wire(text, owner);
        snprintf(text, sizeof(text), "c%d.test", i + 1 == links && loop_to >= 0 ? loop_to : i + 1);
        size_t target_len = wire(text, target);
        dnsmsg_builder_add_cname(&b, owner, owner_len, 100, target, target_len);
    }
    snprintf(text, sizeof(text), "c%d.test", links);
    size_t owner_len = wire(text, owner);
    static const uint8_t a[4] = {10, 1, 1, 1};
    dnsmsg_builder_add_addr(&b, DNSMSG_SECTION_ANSWER, owner, owner_len, 100, a, 4);
    return finish(&b);
}

static void test_chain_limits(void)
{
    uint8_t qbuf[512], buf[2048];
    struct dnsmsg_query q;
    size_t qlen = make_query(qbuf, sizeof(qbuf), "c0.test", DNSMSG_TYPE_A, 0, false);
    parse_ok(&q, qbuf, qlen);
    struct dnsmsg_reply r;
    struct dnsmsg_addr out[4];
    /* Exactly DNSMSG_CHAIN_MAX links: the address is found. */
    int len = build_chain(buf, sizeof(buf), &q, DNSMSG_CHAIN_MAX, -1);
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)len, &q), 0);
    CHECK_INT_EQ(dnsmsg_chain_addrs(buf, (size_t)len, &r, q.qname, q.qname_len, q.qtype, out, 4),
                 1);
    /* One more: the walk stops before reaching it. */
    len = build_chain(buf, sizeof(buf), &q, DNSMSG_CHAIN_MAX + 1, -1);
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)len, &q), 0);
    CHECK_INT_EQ(dnsmsg_chain_addrs(buf, (size_t)len, &r, q.qname, q.qname_len, q.qtype, out, 4),
                 0);
    /* A loop c0 -> c1 -> c2 -> c0 ends without duplicating anything; the A of c3 is off-chain. */
    len = build_chain(buf, sizeof(buf), &q, 3, 0);
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)len, &q), 0);
    CHECK_INT_EQ(dnsmsg_chain_addrs(buf, (size_t)len, &r, q.qname, q.qname_len, q.qtype, out, 4),
                 0);
    /* A self-loop with an address on it: collected once. */
    struct dnsmsg_builder b;
    dnsmsg_builder_init_reply(&b, buf, sizeof(buf), &q, 0, 0);
    static const uint8_t a[4] = {10, 2, 2, 2};
    dnsmsg_builder_add_cname(&b, NULL, 0, 100, q.qname, q.qname_len);
    dnsmsg_builder_add_addr(&b, DNSMSG_SECTION_ANSWER, NULL, 0, 100, a, 4);
    len = finish(&b);
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)len, &q), 0);
    CHECK_INT_EQ(dnsmsg_chain_addrs(buf, (size_t)len, &r, q.qname, q.qname_len, q.qtype, out, 4),
                 1);
    /* A CNAME whose rdata name overruns its rdlength ends the chain quietly. */
    uint8_t t[DNAME_WIRE_MAX];
    size_t t_len = wire("c1.test", t);
    dnsmsg_builder_init_reply(&b, buf, sizeof(buf), &q, 0, 0);
    dnsmsg_builder_add_cname(&b, NULL, 0, 100, t, t_len);
    dnsmsg_builder_add_addr(&b, DNSMSG_SECTION_ANSWER, t, t_len, 100, a, 4);
    len = finish(&b);
    /* CNAME rdata "\2c1\4test\0" cut to its first 3 bytes; the rest of the packet moves up. */
    put16(buf + q.question_end + 10, 3);
    memmove(buf + q.question_end + 15, buf + q.question_end + 21,
            (size_t)len - q.question_end - 21);
    len -= 6;
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)len, &q), 0);
    CHECK_INT_EQ(dnsmsg_chain_addrs(buf, (size_t)len, &r, q.qname, q.qname_len, q.qtype, out, 4),
                 0);
}

/* ---- TTLs ---- */

static void test_ttls(void)
{
    uint8_t qbuf[512], buf[512];
    struct dnsmsg_query q;
    size_t qlen = make_query(qbuf, sizeof(qbuf), "www.example.com", DNSMSG_TYPE_A, 0, false);
    parse_ok(&q, qbuf, qlen);
    int len = build_cname_reply(buf, sizeof(buf), &q);
    struct dnsmsg_reply r;
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)len, &q), 0);
    uint32_t ttl_s = 0;
    CHECK_INT_EQ(dnsmsg_min_ttl(buf, (size_t)len, &r, &ttl_s), 0);
    CHECK_INT_EQ(ttl_s, 30);
    CHECK_INT_EQ(dnsmsg_neg_ttl(buf, (size_t)len, &r, &ttl_s), 0);
    CHECK_INT_EQ(ttl_s, 300); /* min(SOA TTL 900, MINIMUM 300) */
    /* Age 50, no cap: 30 -> 0, 3600 -> 3550; the OPT's TTL field is untouched. */
    uint8_t opt_ttl[4];
    memcpy(opt_ttl, buf + r.edns.opt_off + 5, 4);
    CHECK_INT_EQ(dnsmsg_rewrite_ttls(buf, (size_t)len, &r, 50, 0), 0);
    CHECK_INT_EQ(dnsmsg_min_ttl(buf, (size_t)len, &r, &ttl_s), 0);
    CHECK_INT_EQ(ttl_s, 0);
    CHECK_MEM_EQ(buf + r.edns.opt_off + 5, opt_ttl, 4);
    struct dnsmsg_cursor c;
    struct dnsmsg_rr rr;
    dnsmsg_cursor_init(&c, buf, (size_t)len);
    c.pos = r.question_end;
    CHECK_INT_EQ(dnsmsg_cursor_read_rr(&c, &rr), 0);
    CHECK_INT_EQ(rr.ttl_s, 3550);
    /* Cap at 100. */
    CHECK_INT_EQ(dnsmsg_rewrite_ttls(buf, (size_t)len, &r, 0, 100), 0);
    dnsmsg_cursor_init(&c, buf, (size_t)len);
    c.pos = r.question_end;
    CHECK_INT_EQ(dnsmsg_cursor_read_rr(&c, &rr), 0);
    CHECK_INT_EQ(rr.ttl_s, 100);
    /* A TTL with the top bit set counts as 0. */
    buf[rr.ttl_off] = 0x80;
    CHECK_INT_EQ(dnsmsg_min_ttl(buf, (size_t)len, &r, &ttl_s), 0);
    CHECK_INT_EQ(ttl_s, 0);
    CHECK_INT_EQ(dnsmsg_rewrite_ttls(buf, (size_t)len, &r, 0, 0), 0);
    CHECK_INT_EQ(buf[rr.ttl_off], 0);
}

/* min-cache-ttl on a cached answer: TTLs below the floor are raised first, then aged and capped. */
static void test_ttls_floor(void)
{
    uint8_t qbuf[512], buf[512];
    struct dnsmsg_query q;
    size_t qlen = make_query(qbuf, sizeof(qbuf), "www.example.com", DNSMSG_TYPE_A, 0, false);
    parse_ok(&q, qbuf, qlen);
    int len = build_cname_reply(buf, sizeof(buf), &q);
    struct dnsmsg_reply r;
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)len, &q), 0);
    uint8_t opt_ttl[4];
    memcpy(opt_ttl, buf + r.edns.opt_off + 5, 4);
    /* Floor 100, age 10: the 30 s record becomes 90, the 3600 s one 3590. */
    CHECK_INT_EQ(dnsmsg_rewrite_ttls_floor(buf, (size_t)len, &r, 100, 10, 0), 0);
    uint32_t ttl_s = 0;
    CHECK_INT_EQ(dnsmsg_min_ttl(buf, (size_t)len, &r, &ttl_s), 0);
    CHECK_INT_EQ(ttl_s, 90);
    struct dnsmsg_cursor c;
    struct dnsmsg_rr rr;
    dnsmsg_cursor_init(&c, buf, (size_t)len);
    c.pos = r.question_end;
    CHECK_INT_EQ(dnsmsg_cursor_read_rr(&c, &rr), 0);
    CHECK_INT_EQ(rr.ttl_s, 3590);
    CHECK_MEM_EQ(buf + r.edns.opt_off + 5, opt_ttl, 4);
    /* The cap still wins over the floor. */
    CHECK_INT_EQ(dnsmsg_rewrite_ttls_floor(buf, (size_t)len, &r, 100, 0, 50), 0);
    CHECK_INT_EQ(dnsmsg_min_ttl(buf, (size_t)len, &r, &ttl_s), 0);
    CHECK_INT_EQ(ttl_s, 50);
}

/* A later owner compressed into an earlier TTL (found by fuzzing): rewriting that TTL changes the
 * name, but the rewrite walk must still visit every record and succeed. */
static void test_ttls_pointer_into_ttl(void)
{
    uint8_t qbuf[512], buf[512], rdata[60];
    struct dnsmsg_query q;
    size_t qlen = make_query(qbuf, sizeof(qbuf), "p.test", DNSMSG_TYPE_TXT, 0, false);
    parse_ok(&q, qbuf, qlen);
    memset(rdata, 'x', sizeof(rdata));
    rdata[58] = 0; /* TTL 0x3f...: a 63-byte label running into the rdata, then the root */
    struct dnsmsg_builder b;
    dnsmsg_builder_init_reply(&b, buf, sizeof(buf), &q, 0, 0);
    dnsmsg_builder_add_rr(&b, DNSMSG_SECTION_ANSWER, NULL, 0, DNSMSG_TYPE_TXT, 0x3f000000, rdata,
                          sizeof(rdata));
    int len = finish(&b);
    size_t ttl_off = (size_t)q.question_end + 6;
    static const uint8_t rr2[] = {0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 1, 2, 3, 4};
    put16(buf + len, (uint16_t)(0xc000 | ttl_off));
    memcpy(buf + len + 2, rr2, sizeof(rr2));
    len += 2 + (int)sizeof(rr2);
    put16(buf + 6, 2);
    struct dnsmsg_reply r;
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)len, &q), 0);
    /* 0x3f000000 - 0x01000000: the label shrinks to 62 and now ends on an 'x' (0x78). */
    CHECK_INT_EQ(dnsmsg_rewrite_ttls(buf, (size_t)len, &r, 0x01000000, 0), 0);
    CHECK_INT_EQ(buf[ttl_off], 0x3e);
    CHECK_INT_EQ(get16(buf + len - 8), 0); /* 3600 - age: the second record was reached */
    CHECK_INT_EQ(get16(buf + len - 6), 4);
}

static void test_ttls_empty_and_bad_soa(void)
{
    uint8_t qbuf[512], buf[512];
    struct dnsmsg_query q;
    size_t qlen = make_query(qbuf, sizeof(qbuf), "nx.example.com", DNSMSG_TYPE_A, 0, false);
    parse_ok(&q, qbuf, qlen);
    struct dnsmsg_builder b;
    dnsmsg_builder_init_reply(&b, buf, sizeof(buf), &q, DNSMSG_RCODE_NXDOMAIN, 0);
    int len = finish(&b);
    struct dnsmsg_reply r;
    uint32_t ttl_s = 7;
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)len, &q), 0);
    CHECK_INT_EQ(dnsmsg_min_ttl(buf, (size_t)len, &r, &ttl_s), ERR_NOT_FOUND);
    CHECK_INT_EQ(dnsmsg_neg_ttl(buf, (size_t)len, &r, &ttl_s), ERR_NOT_FOUND);
    CHECK_INT_EQ(ttl_s, 7);
    /* SOA with a short rdata. */
    uint8_t zone[DNAME_WIRE_MAX];
    size_t zone_len = wire("example.com", zone);
    dnsmsg_builder_init_reply(&b, buf, sizeof(buf), &q, DNSMSG_RCODE_NXDOMAIN, 0);
    dnsmsg_builder_add_rr(&b, DNSMSG_SECTION_AUTHORITY, zone, zone_len, DNSMSG_TYPE_SOA, 60,
                          (const uint8_t *)"\0\0\0\0\0", 5);
    len = finish(&b);
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)len, &q), 0);
    CHECK_INT_EQ(dnsmsg_neg_ttl(buf, (size_t)len, &r, &ttl_s), ERR_MALFORMED);
    /* A real SOA whose MINIMUM is larger than its TTL. */
    dnsmsg_builder_init_reply(&b, buf, sizeof(buf), &q, DNSMSG_RCODE_NXDOMAIN, 0);
    dnsmsg_builder_add_soa(&b, zone, zone_len, 45, 3600);
    len = finish(&b);
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)len, &q), 0);
    CHECK_INT_EQ(dnsmsg_neg_ttl(buf, (size_t)len, &r, &ttl_s), 0);
    CHECK_INT_EQ(ttl_s, 45);
    CHECK_INT_EQ(dnsmsg_min_ttl(buf, (size_t)len, &r, &ttl_s), 0);
    CHECK_INT_EQ(ttl_s, 45);
}

/* ---- EDNS on replies ---- */

static void test_reply_set_edns(void)
{
    uint8_t qbuf[512], buf[600];
    struct dnsmsg_query q;
    size_t qlen = make_query(qbuf, sizeof(qbuf), "www.example.com", DNSMSG_TYPE_A, 0, false);
    parse_ok(&q, qbuf, qlen);
    struct dnsmsg_reply r, r2;
    struct dnsmsg_edns none = {0}, client = {.present = true, .udp_size = 4096};
    /* Client without EDNS: the upstream's OPT goes. */
    int len = build_cname_reply(buf, sizeof(buf), &q);
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)len, &q), 0);
    int n = dnsmsg_reply_set_edns(buf, (size_t)len, sizeof(buf), &r, &none, 1232);
    CHECK_INT_EQ(n, len - DNSMSG_OPT_FIXED_LEN);
    CHECK_INT_EQ(dnsmsg_parse_reply(&r2, buf, (size_t)n, &q), 0);
    CHECK(!r2.edns.present);
    CHECK_INT_EQ(r2.arcount, 0);
    CHECK_INT_EQ(r.len, n);
    CHECK_INT_EQ(r.arcount, 0);
    CHECK(!r.edns.present);
    /* Nothing to do the second time. */
    CHECK_INT_EQ(dnsmsg_reply_set_edns(buf, (size_t)n, sizeof(buf), &r, &none, 1232), n);
    /* Client with EDNS, reply without: an OPT is appended with our size. */
    n = dnsmsg_reply_set_edns(buf, (size_t)n, sizeof(buf), &r, &client, 1232);
    CHECK_INT_EQ(n, len);
    CHECK_INT_EQ(dnsmsg_parse_reply(&r2, buf, (size_t)n, &q), 0);
    CHECK(r2.edns.present);
    CHECK_INT_EQ(r2.edns.udp_size, 1232);
    CHECK_INT_EQ(r.edns.opt_off, r2.edns.opt_off);
    /* Client with EDNS, reply with: only the size changes. */
    n = dnsmsg_reply_set_edns(buf, (size_t)n, sizeof(buf), &r, &client, 1400);
    CHECK_INT_EQ(n, len);
    CHECK_INT_EQ(dnsmsg_parse_reply(&r2, buf, (size_t)n, &q), 0);
    CHECK_INT_EQ(r2.edns.udp_size, 1400);
    /* No room to append. */
    dnsmsg_reply_set_edns(buf, (size_t)n, sizeof(buf), &r, &none, 0);
    CHECK_INT_EQ(dnsmsg_reply_set_edns(buf, r.len, r.len + 5, &r, &client, 1232), ERR_FULL);
    /* Stale reply struct. */
    CHECK_INT_EQ(dnsmsg_reply_set_edns(buf, r.len + 1u, sizeof(buf), &r, &client, 1232),
                 ERR_MISMATCH);
}

static void test_reply_strip_opt_not_last(void)
{
    uint8_t qbuf[512], buf[512];
    struct dnsmsg_query q;
    size_t qlen = make_query(qbuf, sizeof(qbuf), "example.com", DNSMSG_TYPE_A, 0, false);
    parse_ok(&q, qbuf, qlen);
    struct dnsmsg_builder b;
    dnsmsg_builder_init_reply(&b, buf, sizeof(buf), &q, 0, 0);
    static const uint8_t a[4] = {1, 1, 1, 1};
    dnsmsg_builder_add_addr(&b, DNSMSG_SECTION_ADDITIONAL, NULL, 0, 9, a, 4);
    dnsmsg_builder_add_opt(&b, 1232, false);
    dnsmsg_builder_add_addr(&b, DNSMSG_SECTION_ADDITIONAL, NULL, 0, 9, a, 4);
    int len = finish(&b);
    /* Extended rcode in the OPT. */
    buf[len - 16 - 6] = 1;
    struct dnsmsg_reply r;
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)len, &q), 0);
    CHECK_INT_EQ(r.rcode, 16);
    struct dnsmsg_edns none = {0};
    int n = dnsmsg_reply_set_edns(buf, (size_t)len, sizeof(buf), &r, &none, 1232);
    CHECK_INT_EQ(n, len - 16 - DNSMSG_OPT_FIXED_LEN);
    CHECK_INT_EQ(r.arcount, 1);
    CHECK_INT_EQ(r.rcode, DNSMSG_RCODE_SERVFAIL);
    struct dnsmsg_reply r2;
    CHECK_INT_EQ(dnsmsg_parse_reply(&r2, buf, (size_t)n, &q), 0);
    CHECK_INT_EQ(r2.arcount, 1);
    CHECK_INT_EQ(r2.rcode, DNSMSG_RCODE_SERVFAIL);
}

/* RFC 8914 EDE appended to the OPT, also when the OPT is not the last record. */
static void test_reply_add_ede(void)
{
    uint8_t qbuf[512], buf[512];
    struct dnsmsg_query q;
    size_t qlen = make_query(qbuf, sizeof(qbuf), "example.com", DNSMSG_TYPE_A, 0, false);
    parse_ok(&q, qbuf, qlen);
    struct dnsmsg_builder b;
    dnsmsg_builder_init_reply(&b, buf, sizeof(buf), &q, 0, 0);
    static const uint8_t a[4] = {1, 1, 1, 1};
    dnsmsg_builder_add_addr(&b, DNSMSG_SECTION_ANSWER, NULL, 0, 9, a, 4);
    dnsmsg_builder_add_opt(&b, 1232, false);
    dnsmsg_builder_add_addr(&b, DNSMSG_SECTION_ADDITIONAL, NULL, 0, 9, a, 4);
    int len = finish(&b);
    struct dnsmsg_reply r, r2;
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)len, &q), 0);
    CHECK_INT_EQ(dnsmsg_reply_add_ede(buf, (size_t)len, (size_t)len + 5, &r, 3), ERR_FULL);
    int n = dnsmsg_reply_add_ede(buf, (size_t)len, sizeof(buf), &r, DNSMSG_EDE_STALE_ANSWER);
    CHECK_INT_EQ(n, len + 6);
    CHECK_INT_EQ(dnsmsg_parse_reply(&r2, buf, (size_t)n, &q), 0);
    CHECK_INT_EQ(r2.arcount, 2);
    CHECK_INT_EQ(r2.ancount, 1);
    CHECK_INT_EQ(r2.edns.options_len, 6);
    CHECK_INT_EQ(r.edns.options_len, 6);
    CHECK_INT_EQ(r.len, n);
    static const uint8_t ede[6] = {0, 15, 0, 2, 0, 3};
    CHECK_MEM_EQ(buf + r2.edns.options_off, ede, 6);
    CHECK_MEM_EQ(buf + n - 4, a, 4); /* the record after the OPT moved along */
    struct dnsmsg_edns none = {0};
    n = dnsmsg_reply_set_edns(buf, (size_t)n, sizeof(buf), &r, &none, 1232);
    CHECK_INT_EQ(dnsmsg_reply_add_ede(buf, (size_t)n, sizeof(buf), &r, 3), ERR_MISMATCH);
}

/* ---- Truncation ---- */

/* A reply with count A records for the question name and an OPT with an 8-byte option. */
static int build_big(uint8_t *buf, size_t cap, const struct dnsmsg_query *q, int count)
{
    struct dnsmsg_builder b;
    dnsmsg_builder_init_reply(&b, buf, cap, q, 0, 0);
    for (int i = 0; i < count; i++) {
        uint8_t a[4] = {10, 0, (uint8_t)(i >> 8), (uint8_t)i};
        dnsmsg_builder_add_addr(&b, DNSMSG_SECTION_ANSWER, NULL, 0, 60, a, 4);
    }
    dnsmsg_builder_add_opt(&b, 4096, true);
    int len = finish(&b);
    static const uint8_t opt[] = {0, 10, 0, 4, 1, 2, 3, 4};
    memcpy(buf + len, opt, sizeof(opt));
    put16(buf + len - 2, sizeof(opt));
    return len + (int)sizeof(opt);
}

static void test_reply_truncate(void)
{
    uint8_t qbuf[512], buf[4096];
    struct dnsmsg_query q;
    size_t qlen = make_query(qbuf, sizeof(qbuf), "big.example.com", DNSMSG_TYPE_A, 4096, false);
    parse_ok(&q, qbuf, qlen);
    int len = build_big(buf, sizeof(buf), &q, 40); /* 40 * 16 = 640 bytes of answers */
    struct dnsmsg_reply r;
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)len, &q), 0);
    CHECK(len > 512);
    /* Fits: untouched. */
    CHECK_INT_EQ(dnsmsg_reply_truncate(buf, (size_t)len, &r, 1232), len);
    CHECK(!r.tc);
    int n = dnsmsg_reply_truncate(buf, (size_t)len, &r, 512);
    CHECK_INT_EQ(n, q.question_end + DNSMSG_OPT_FIXED_LEN + 8);
    struct dnsmsg_reply r2;
    CHECK_INT_EQ(dnsmsg_parse_reply(&r2, buf, (size_t)n, &q), 0);
    CHECK(r2.tc);
    CHECK_INT_EQ(r2.ancount, 0);
    CHECK_INT_EQ(r2.arcount, 1);
    CHECK(r2.edns.present);
    CHECK(r2.edns.do_bit);
    CHECK_INT_EQ(r2.edns.options_len, 8);
    CHECK_INT_EQ(r.len, n);
    CHECK_INT_EQ(r.edns.opt_off, r2.edns.opt_off);
    CHECK_INT_EQ(r.question_end, r2.question_end);
    /* Limit so small that the options do not fit: they are dropped, the OPT stays. */
    len = build_big(buf, sizeof(buf), &q, 40);
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)len, &q), 0);
    n = dnsmsg_reply_truncate(buf, (size_t)len, &r, q.question_end + DNSMSG_OPT_FIXED_LEN + 4);
    CHECK_INT_EQ(n, q.question_end + DNSMSG_OPT_FIXED_LEN);
    CHECK_INT_EQ(dnsmsg_parse_reply(&r2, buf, (size_t)n, &q), 0);
    CHECK_INT_EQ(r2.edns.options_len, 0);
    /* Smaller still: the OPT goes too. */
    len = build_big(buf, sizeof(buf), &q, 40);
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)len, &q), 0);
    n = dnsmsg_reply_truncate(buf, (size_t)len, &r, q.question_end + 2);
    CHECK_INT_EQ(n, q.question_end);
    CHECK_INT_EQ(dnsmsg_parse_reply(&r2, buf, (size_t)n, &q), 0);
    CHECK(!r2.edns.present);
    /* Below the question: header only. */
    len = build_big(buf, sizeof(buf), &q, 40);
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)len, &q), 0);
    n = dnsmsg_reply_truncate(buf, (size_t)len, &r, 20);
    CHECK_INT_EQ(n, DNSMSG_HEADER_LEN);
    CHECK_INT_EQ(dnsmsg_parse_reply(&r2, buf, (size_t)n, NULL), 0);
    CHECK_INT_EQ(r2.qdcount, 0);
    CHECK(r2.tc);
}

static void test_truncate_to_client_size(void)
{
    /* Without EDNS the client gets 512; with EDNS 1000 it gets the whole 700-byte reply. */
    uint8_t qbuf[512], buf[4096];
    struct dnsmsg_query q;
    size_t qlen = make_query(qbuf, sizeof(qbuf), "big.example.com", DNSMSG_TYPE_A, 1000, false);
    parse_ok(&q, qbuf, qlen);
    int len = build_big(buf, sizeof(buf), &q, 40);
    struct dnsmsg_reply r;
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)len, &q), 0);
    CHECK_INT_EQ(dnsmsg_reply_truncate(buf, (size_t)len, &r, dnsmsg_udp_limit(&q.edns, 1232)), len);
    struct dnsmsg_edns none = {0};
    int n = dnsmsg_reply_set_edns(buf, (size_t)len, sizeof(buf), &r, &none, 1232);
    n = dnsmsg_reply_truncate(buf, (size_t)n, &r, dnsmsg_udp_limit(&none, 1232));
    CHECK_INT_EQ(n, q.question_end);
    CHECK(r.tc);
}

/* ---- Header accessors ---- */

static void test_header_accessors(void)
{
    uint8_t pkt[DNSMSG_HEADER_LEN] = {0};
    dnsmsg_set_id(pkt, 0xbeef);
    CHECK_INT_EQ(dnsmsg_get_id(pkt), 0xbeef);
    dnsmsg_set_flags(pkt, DNSMSG_FLAG_QR | DNSMSG_FLAG_AD | DNSMSG_FLAG_RD, 0);
    CHECK_INT_EQ(dnsmsg_get_flags(pkt), DNSMSG_FLAG_QR | DNSMSG_FLAG_AD | DNSMSG_FLAG_RD);
    dnsmsg_set_flags(pkt, DNSMSG_FLAG_RA | DNSMSG_FLAG_AA | DNSMSG_FLAG_TC | DNSMSG_FLAG_CD,
                     DNSMSG_FLAG_AD);
    CHECK_INT_EQ(dnsmsg_get_flags(pkt), DNSMSG_FLAG_QR | DNSMSG_FLAG_RD | DNSMSG_FLAG_RA |
                                            DNSMSG_FLAG_AA | DNSMSG_FLAG_TC | DNSMSG_FLAG_CD);
    dnsmsg_set_rcode(pkt, DNSMSG_RCODE_NXDOMAIN);
    CHECK_INT_EQ(dnsmsg_get_flags(pkt) & DNSMSG_FLAG_RCODE_MASK, 3);
    dnsmsg_set_rcode(pkt, DNSMSG_RCODE_BADVERS);
    CHECK_INT_EQ(dnsmsg_get_flags(pkt) & DNSMSG_FLAG_RCODE_MASK, 0);
    CHECK_INT_EQ(dnsmsg_get_flags(pkt) & DNSMSG_FLAG_CD, DNSMSG_FLAG_CD);
    CHECK_INT_EQ(dnsmsg_get_id(pkt), 0xbeef);
}

/* ---- Local answers ---- */

static void test_local_rcodes(void)
{
    static const uint8_t rcodes[] = {DNSMSG_RCODE_REFUSED,  DNSMSG_RCODE_FORMERR,
                                     DNSMSG_RCODE_NOTIMP,   DNSMSG_RCODE_SERVFAIL,
                                     DNSMSG_RCODE_NXDOMAIN, DNSMSG_RCODE_NOERROR};
    uint8_t qbuf[512], buf[512];
    for (int edns = 0; edns < 2; edns++) {
        struct dnsmsg_query q;
        size_t qlen =
            make_query(qbuf, sizeof(qbuf), "x.test", DNSMSG_TYPE_A, edns ? 4096 : 0, edns);
        qbuf[3] |= DNSMSG_FLAG_CD;
        parse_ok(&q, qbuf, qlen);
        for (size_t i = 0; i < sizeof(rcodes); i++) {
            int n = dnsmsg_write_rcode(buf, sizeof(buf), &q, rcodes[i], 1232);
            CHECK(n > 0);
            struct dnsmsg_reply r;
            CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)n, &q), 0);
            CHECK_INT_EQ(r.id, 0x1234);
            CHECK_INT_EQ(r.rcode, rcodes[i]);
            CHECK_INT_EQ(r.flags & ~DNSMSG_FLAG_RCODE_MASK,
                         DNSMSG_FLAG_QR | DNSMSG_FLAG_RA | DNSMSG_FLAG_RD | DNSMSG_FLAG_CD);
            CHECK_INT_EQ(r.ancount + r.nscount, 0);
            CHECK_INT_EQ(r.edns.present, edns);
            if (edns) {
                CHECK_INT_EQ(r.edns.udp_size, 1232);
                CHECK(r.edns.do_bit);
            }
        }
    }
}

static void test_local_rejected_queries(void)
{
    uint8_t qbuf[512], buf[512];
    struct dnsmsg_query q;
    /* FORMERR for ancount 1: question echoed, no OPT. */
    size_t qlen = make_query(qbuf, sizeof(qbuf), "x.test", DNSMSG_TYPE_A, 1232, false);
    put16(qbuf + 6, 1);
    CHECK(dnsmsg_parse_query(&q, qbuf, qlen) < 0);
    CHECK_INT_EQ(q.reject, DNSMSG_REJECT_FORMERR);
    int n = dnsmsg_write_rcode(buf, sizeof(buf), &q, DNSMSG_RCODE_FORMERR, 1232);
    struct dnsmsg_reply r;
    struct dnsmsg_query match = q;
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)n, &match), 0);
    CHECK_INT_EQ(r.rcode, DNSMSG_RCODE_FORMERR);
    CHECK(!r.edns.present);
    /* FORMERR for qdcount 0: header only. */
    put16(qbuf + 6, 0);
    put16(qbuf + 4, 0);
    CHECK(dnsmsg_parse_query(&q, qbuf, qlen) < 0);
    n = dnsmsg_write_rcode(buf, sizeof(buf), &q, DNSMSG_RCODE_FORMERR, 1232);
    CHECK_INT_EQ(n, DNSMSG_HEADER_LEN);
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)n, NULL), 0);
    CHECK_INT_EQ(r.qdcount, 0);
    CHECK_INT_EQ(r.id, 0x1234);
    /* NOTIMP keeps the opcode. */
    put16(qbuf + 4, 1);
    qbuf[2] = (uint8_t)(4 << 3); /* NOTIFY */
    CHECK_INT_EQ(dnsmsg_parse_query(&q, qbuf, qlen), ERR_UNSUPPORTED);
    n = dnsmsg_write_rcode(buf, sizeof(buf), &q, DNSMSG_RCODE_NOTIMP, 1232);
    CHECK_INT_EQ(n, DNSMSG_HEADER_LEN);
    CHECK_INT_EQ((dnsmsg_get_flags(buf) & DNSMSG_FLAG_OPCODE_MASK) >> 11, 4);
    CHECK_INT_EQ(dnsmsg_get_flags(buf) & DNSMSG_FLAG_RCODE_MASK, DNSMSG_RCODE_NOTIMP);
    /* Buffer too small for a header. */
    CHECK_INT_EQ(dnsmsg_write_rcode(buf, 11, &q, DNSMSG_RCODE_REFUSED, 1232), ERR_FULL);
}

static void test_local_addresses(void)
{
    uint8_t qbuf[512], buf[512];
    struct dnsmsg_query q;
    size_t qlen = make_query(qbuf, sizeof(qbuf), "Blocked.Test", DNSMSG_TYPE_A, 1232, false);
    parse_ok(&q, qbuf, qlen);
    static const uint8_t addrs[8] = {10, 0, 0, 1, 10, 0, 0, 2};
    struct dnsmsg_local a = {.rcode = DNSMSG_RCODE_NOERROR,
                             .aa = true,
                             .addr_type = DNSMSG_TYPE_A,
                             .addrs = addrs,
                             .addr_count = 2,
                             .ttl_s = 42,
                             .udp_limit = 512,
                             .edns_size = 1232};
    int n = dnsmsg_write_local(buf, sizeof(buf), &q, &a);
    CHECK_INT_EQ(n, q.question_end + 2 * 16 + DNSMSG_OPT_FIXED_LEN);
    struct dnsmsg_reply r;
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)n, &q), 0);
    CHECK(r.flags & DNSMSG_FLAG_AA);
    CHECK(!r.tc);
    CHECK_INT_EQ(r.ancount, 2);
    CHECK_INT_EQ(get16(buf + q.question_end), 0xc00c); /* owner points to the question */
    struct dnsmsg_addr out[4];
    CHECK_INT_EQ(dnsmsg_chain_addrs(buf, (size_t)n, &r, q.qname, q.qname_len, q.qtype, out, 4), 2);
    CHECK_INT_EQ(out[1].addr[3], 2);
    CHECK_INT_EQ(out[1].ttl_s, 42);
    /* AAAA */
    static const uint8_t v6[16] = {0xfd, [15] = 9};
    qlen = make_query(qbuf, sizeof(qbuf), "v6.test", DNSMSG_TYPE_AAAA, 0, false);
    parse_ok(&q, qbuf, qlen);
    a = (struct dnsmsg_local){.aa = true,
                              .addr_type = DNSMSG_TYPE_AAAA,
                              .addrs = v6,
                              .addr_count = 1,
                              .ttl_s = 0,
                              .udp_limit = 512};
    n = dnsmsg_write_local(buf, sizeof(buf), &q, &a);
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)n, &q), 0);
    CHECK(!r.edns.present);
    CHECK_INT_EQ(dnsmsg_chain_addrs(buf, (size_t)n, &r, q.qname, q.qname_len, q.qtype, out, 4), 1);
    CHECK_MEM_EQ(out[0].addr, v6, 16);
    /* Bad address type. */
    a.addr_type = DNSMSG_TYPE_MX;
    CHECK_INT_EQ(dnsmsg_write_local(buf, sizeof(buf), &q, &a), ERR_MALFORMED);
}

static void test_local_addresses_overflow(void)
{
    uint8_t qbuf[512], buf[2048];
    struct dnsmsg_query q;
    size_t qlen = make_query(qbuf, sizeof(qbuf), "many.test", DNSMSG_TYPE_AAAA, 0, false);
    parse_ok(&q, qbuf, qlen);
    static uint8_t addrs[40 * 16];
    struct dnsmsg_local a = {.aa = true,
                             .addr_type = DNSMSG_TYPE_AAAA,
                             .addrs = addrs,
                             .addr_count = 40,
                             .udp_limit = 512};
    /* 40 * 28 bytes cannot fit 512: TC, no answers. */
    int n = dnsmsg_write_local(buf, sizeof(buf), &q, &a);
    struct dnsmsg_reply r;
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)n, &q), 0);
    CHECK(r.tc);
    CHECK_INT_EQ(r.ancount, 0);
    CHECK_INT_EQ(n, q.question_end);
    /* Over TCP (no limit) they fit the buffer. */
    a.udp_limit = 0;
    n = dnsmsg_write_local(buf, sizeof(buf), &q, &a);
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)n, &q), 0);
    CHECK(!r.tc);
    CHECK_INT_EQ(r.ancount, 40);
    /* The buffer itself is the limit too. */
    n = dnsmsg_write_local(buf, 600, &q, &a);
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)n, &q), 0);
    CHECK(r.tc);
    /* Extended rcode goes to the OPT. */
    qlen = make_query(qbuf, sizeof(qbuf), "many.test", DNSMSG_TYPE_AAAA, 1232, false);
    parse_ok(&q, qbuf, qlen);
    n = dnsmsg_write_rcode(buf, sizeof(buf), &q, DNSMSG_RCODE_BADVERS, 1232);
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)n, &q), 0);
    CHECK_INT_EQ(r.rcode, DNSMSG_RCODE_BADVERS);
}

/* ANY for address=/d/#: one A 0.0.0.0 then one AAAA ::, both owned by the question; TC with an
 * empty answer when the pair does not fit. */
static void test_local_any_both_families(void)
{
    uint8_t qbuf[512], buf[512];
    struct dnsmsg_query q;
    size_t qlen = make_query(qbuf, sizeof(qbuf), "z.test", 255, 0, false);
    parse_ok(&q, qbuf, qlen);
    static const uint8_t zero[16];
    struct dnsmsg_local a = {.aa = true,
                             .addr_type = DNSMSG_TYPE_A,
                             .addrs = zero,
                             .addr_count = 1,
                             .aaaa_after = zero,
                             .aaaa_after_count = 1,
                             .udp_limit = 512};
    int n = dnsmsg_write_local(buf, sizeof(buf), &q, &a);
    CHECK(n > 0);
    struct dnsmsg_reply r;
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)n, &q), 0);
    CHECK_INT_EQ(r.ancount, 2);
    CHECK_INT_EQ((size_t)n, q.question_end + (2 + 10 + 4) + (2 + 10 + 16));
    CHECK_INT_EQ(buf[q.question_end + 3], DNSMSG_TYPE_A);
    CHECK_INT_EQ(buf[q.question_end + 16 + 3], DNSMSG_TYPE_AAAA);
    /* Room for the A record but not for the AAAA: neither is sent. */
    a.udp_limit = (uint16_t)(q.question_end + 16 + 20);
    n = dnsmsg_write_local(buf, sizeof(buf), &q, &a);
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)n, &q), 0);
    CHECK(r.tc);
    CHECK_INT_EQ(r.ancount, 0);
}

/* ---- Builders ---- */

static void test_write_query(void)
{
    uint8_t buf[512], name[DNAME_WIRE_MAX];
    size_t name_len = wire("a.b", name);
    int n = dnsmsg_write_query(buf, sizeof(buf), 7, name, name_len, DNSMSG_TYPE_TXT,
                               DNSMSG_CLASS_IN, false, 0, false);
    CHECK_INT_EQ(n, DNSMSG_HEADER_LEN + 5 + 4);
    struct dnsmsg_query q;
    parse_ok(&q, buf, (size_t)n);
    CHECK_INT_EQ(q.flags, 0);
    CHECK_INT_EQ(q.id, 7);
    CHECK_INT_EQ(dnsmsg_write_query(buf, 20, 7, name, name_len, 1, 1, true, 1232, false), ERR_FULL);
    CHECK_INT_EQ(dnsmsg_write_query(buf, sizeof(buf), 7, name, name_len - 1, 1, 1, true, 0, false),
                 ERR_MALFORMED);
    static const uint8_t ptr[] = {0xc0, 12};
    CHECK_INT_EQ(dnsmsg_write_query(buf, sizeof(buf), 7, ptr, 2, 1, 1, true, 0, false),
                 ERR_MALFORMED);
    /* Root query. */
    n = dnsmsg_write_query(buf, sizeof(buf), 7, (const uint8_t *)"", 1, DNSMSG_TYPE_NS, 1, true, 0,
                           false);
    parse_ok(&q, buf, (size_t)n);
    CHECK_INT_EQ(q.qname_len, 1);
}

static void test_builder_errors(void)
{
    uint8_t qbuf[512], buf[512], name[DNAME_WIRE_MAX];
    struct dnsmsg_query q;
    size_t qlen = make_query(qbuf, sizeof(qbuf), "x.test", DNSMSG_TYPE_A, 0, false);
    parse_ok(&q, qbuf, qlen);
    size_t name_len = wire("x.test", name);
    static const uint8_t a[4] = {1, 2, 3, 4};
    struct dnsmsg_builder b;
    /* Sections out of order. */
    dnsmsg_builder_init_reply(&b, buf, sizeof(buf), &q, 0, 0);
    dnsmsg_builder_add_soa(&b, name, name_len, 1, 1);
    dnsmsg_builder_add_addr(&b, DNSMSG_SECTION_ANSWER, name, name_len, 1, a, 4);
    CHECK_INT_EQ(dnsmsg_builder_finish(&b), ERR_MALFORMED);
    /* Bad owner, bad address length, bad CNAME target, oversize TXT. */
    dnsmsg_builder_init_reply(&b, buf, sizeof(buf), &q, 0, 0);
    dnsmsg_builder_add_addr(&b, DNSMSG_SECTION_ANSWER, name, name_len - 1, 1, a, 4);
    CHECK_INT_EQ(dnsmsg_builder_finish(&b), ERR_MALFORMED);
    dnsmsg_builder_init_reply(&b, buf, sizeof(buf), &q, 0, 0);
    dnsmsg_builder_add_addr(&b, DNSMSG_SECTION_ANSWER, NULL, 0, 1, a, 3);
    CHECK_INT_EQ(dnsmsg_builder_finish(&b), ERR_MALFORMED);
    dnsmsg_builder_init_reply(&b, buf, sizeof(buf), &q, 0, 0);
    dnsmsg_builder_add_cname(&b, NULL, 0, 1, name, name_len + 1);
    CHECK_INT_EQ(dnsmsg_builder_finish(&b), ERR_MALFORMED);
    static char text[300];
    dnsmsg_builder_init_reply(&b, buf, sizeof(buf), &q, 0, 0);
    dnsmsg_builder_add_txt(&b, DNSMSG_SECTION_ANSWER, NULL, 0, 1, text, sizeof(text));
    CHECK_INT_EQ(dnsmsg_builder_finish(&b), ERR_MALFORMED);
    /* Full: the first failure sticks, later records are not added. */
    dnsmsg_builder_init_reply(&b, buf, (size_t)q.question_end + 20, &q, 0, 0);
    dnsmsg_builder_add_addr(&b, DNSMSG_SECTION_ANSWER, NULL, 0, 1, a, 4);
    dnsmsg_builder_add_addr(&b, DNSMSG_SECTION_ANSWER, NULL, 0, 1, a, 4);
    dnsmsg_builder_add_opt(&b, 512, false);
    CHECK_INT_EQ(dnsmsg_builder_finish(&b), ERR_FULL);
    CHECK_INT_EQ(b.len, q.question_end + 16);
    /* TXT round trip. */
    dnsmsg_builder_init_reply(&b, buf, sizeof(buf), &q, 0, DNSMSG_FLAG_AA);
    dnsmsg_builder_add_txt(&b, DNSMSG_SECTION_ANSWER, NULL, 0, 1, "hi", 2);
    int n = finish(&b);
    struct dnsmsg_reply r;
    CHECK_INT_EQ(dnsmsg_parse_reply(&r, buf, (size_t)n, &q), 0);
    CHECK(r.flags & DNSMSG_FLAG_AA);
    CHECK_MEM_EQ(buf + n - 3, "\2hi", 3);
}

static void test_builder_no_question(void)
{
    uint8_t qbuf[64], buf[512];
    struct dnsmsg_query q;
    size_t qlen = make_query(qbuf, sizeof(qbuf), "x.test", DNSMSG_TYPE_A, 0, false);
    put16(qbuf + 4, 0);
    CHECK(dnsmsg_parse_query(&q, qbuf, qlen) < 0);
    struct dnsmsg_builder b;
    dnsmsg_builder_init_reply(&b, buf, sizeof(buf), &q, 0, 0);
    static const uint8_t a[4] = {1, 2, 3, 4};
    dnsmsg_builder_add_addr(&b, DNSMSG_SECTION_ANSWER, NULL, 0, 1, a, 4);
    CHECK_INT_EQ(dnsmsg_builder_finish(&b), ERR_MALFORMED);
    dnsmsg_builder_init_reply(&b, buf, 4, &q, 0, 0);
    CHECK_INT_EQ(dnsmsg_builder_finish(&b), ERR_FULL);
}

/* ---- Type names ---- */

static void test_type_names(void)
{
    char buf[DNSMSG_TYPE_NAME_MAX];
    static const struct {
        uint16_t type;
        const char *name;
    } known[] = {{1, "A"},    {28, "AAAA"},  {5, "CNAME"}, {15, "MX"}, {16, "TXT"},
                 {12, "PTR"}, {33, "SRV"},   {6, "SOA"},   {2, "NS"},  {255, "ANY"},
                 {41, "OPT"}, {65, "HTTPS"}, {64, "SVCB"}};
    for (size_t i = 0; i < DNSROUTE_ARRAY_LEN(known); i++) {
        CHECK_STR_EQ(dnsmsg_type_name(known[i].type, buf), known[i].name);
        CHECK_INT_EQ(dnsmsg_type_parse(known[i].name, strlen(known[i].name)), known[i].type);
    }
    CHECK_STR_EQ(dnsmsg_type_name(99, buf), "TYPE99");
    CHECK_STR_EQ(dnsmsg_type_name(65535, buf), "TYPE65535");
    CHECK_STR_EQ(dnsmsg_type_name(0, buf), "TYPE0");
    CHECK_INT_EQ(dnsmsg_type_parse("aaaa", 4), 28);
    CHECK_INT_EQ(dnsmsg_type_parse("Https", 5), 65);
    CHECK_INT_EQ(dnsmsg_type_parse("TYPE99", 6), 99);
    CHECK_INT_EQ(dnsmsg_type_parse("type65535", 9), 65535);
    CHECK_INT_EQ(dnsmsg_type_parse("28", 2), 28);
    CHECK_INT_EQ(dnsmsg_type_parse("AAAAX", 4), 28); /* length-bounded */
    CHECK_INT_EQ(dnsmsg_type_parse("TYPE65536", 9), ERR_PARSE);
    CHECK_INT_EQ(dnsmsg_type_parse("TYPE0", 5), ERR_PARSE);
    CHECK_INT_EQ(dnsmsg_type_parse("TYPE", 4), ERR_PARSE);
    CHECK_INT_EQ(dnsmsg_type_parse("", 0), ERR_PARSE);
    CHECK_INT_EQ(dnsmsg_type_parse("AAAAX", 5), ERR_PARSE);
    CHECK_INT_EQ(dnsmsg_type_parse("-1", 2), ERR_PARSE);
    CHECK_INT_EQ(dnsmsg_type_parse("123456", 6), ERR_PARSE);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_cursor_reads),
    CHECK_CASE(test_cursor_name_compressed),
    CHECK_CASE(test_cursor_name_bad_pointers),
    CHECK_CASE(test_cursor_name_pointer_chain_bound),
    CHECK_CASE(test_cursor_name_length_limit),
    CHECK_CASE(test_cursor_read_rr),
    CHECK_CASE(test_query_plain),
    CHECK_CASE(test_query_edns),
    CHECK_CASE(test_query_edns_options),
    CHECK_CASE(test_query_truncated_every_byte),
    CHECK_CASE(test_query_peek),
    CHECK_CASE(test_query_header_rejects),
    CHECK_CASE(test_query_wrong_counts),
    CHECK_CASE(test_query_additional_rules),
    CHECK_CASE(test_query_oversize),
    CHECK_CASE(test_udp_limit),
    CHECK_CASE(test_query_set_edns),
    CHECK_CASE(test_reply_parse_match),
    CHECK_CASE(test_reply_truncated_every_byte),
    CHECK_CASE(test_reply_opt_rules),
    CHECK_CASE(test_chain_basic),
    CHECK_CASE(test_chain_aaaa_case_and_class),
    CHECK_CASE(test_chain_compressed_owners),
    CHECK_CASE(test_chain_limits),
    CHECK_CASE(test_ttls),
    CHECK_CASE(test_ttls_floor),
    CHECK_CASE(test_ttls_pointer_into_ttl),
    CHECK_CASE(test_ttls_empty_and_bad_soa),
    CHECK_CASE(test_reply_set_edns),
    CHECK_CASE(test_reply_strip_opt_not_last),
    CHECK_CASE(test_reply_add_ede),
    CHECK_CASE(test_reply_truncate),
    CHECK_CASE(test_truncate_to_client_size),
    CHECK_CASE(test_header_accessors),
    CHECK_CASE(test_local_rcodes),
    CHECK_CASE(test_local_rejected_queries),
    CHECK_CASE(test_local_addresses),
    CHECK_CASE(test_local_addresses_overflow),
    CHECK_CASE(test_local_any_both_families),
    CHECK_CASE(test_write_query),
    CHECK_CASE(test_builder_errors),
    CHECK_CASE(test_builder_no_question),
    CHECK_CASE(test_type_names),
    {0},
};

int main(int argc, char **argv)
{
    return check_main(argc, argv, cases);
}
