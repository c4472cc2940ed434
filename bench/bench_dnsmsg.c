/* bench_dnsmsg.c - cost of the per-query dnsmsg calls query.c makes: client query parse + EDNS
 * rewrite, upstream reply parse + CNAME-chain extraction + EDNS restore + truncation + TTL rewrite,
 * and a local address answer. Prints nanoseconds per operation. Usage: bench_dnsmsg [iterations] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dnsroute/dnsmsg.h"

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

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

/* A typical CDN answer: two CNAMEs, four A records, an OPT. */
static int make_reply(uint8_t *buf, size_t cap, const struct dnsmsg_query *q)
{
    uint8_t t1[DNAME_WIRE_MAX], t2[DNAME_WIRE_MAX];
    size_t t1_len = wire("www.example.com.cdn.example.net", t1);
    size_t t2_len = wire("e1234.a.cdn.example.net", t2);
    struct dnsmsg_builder b;
    dnsmsg_builder_init_reply(&b, buf, cap, q, 0, 0);
    dnsmsg_builder_add_cname(&b, NULL, 0, 300, t1, t1_len);
    dnsmsg_builder_add_cname(&b, t1, t1_len, 300, t2, t2_len);
    for (uint8_t i = 0; i < 4; i++) {
        uint8_t a[4] = {23, 45, 67, i};
        dnsmsg_builder_add_addr(&b, DNSMSG_SECTION_ANSWER, t2, t2_len, 20, a, 4);
    }
    dnsmsg_builder_add_opt(&b, 1232, false);
    return dnsmsg_builder_finish(&b);
}

int main(int argc, char **argv)
{
    long iters = argc > 1 ? atol(argv[1]) : 2000000;
    uint8_t qname[DNAME_WIRE_MAX], query[512], reply[1024], buf[1024], out[512];
    size_t qname_len = wire("www.example.com", qname);
    int qlen = dnsmsg_write_query(query, sizeof(query), 1, qname, qname_len, DNSMSG_TYPE_A,
                                  DNSMSG_CLASS_IN, true, 4096, false);
    struct dnsmsg_query q;
    if (qlen <= 0 || dnsmsg_parse_query(&q, query, (size_t)qlen) != 0) {
        fprintf(stderr, "bench setup failed\n");
        return 1;
    }
    int rlen = make_reply(reply, sizeof(reply), &q);
    unsigned long sink = 0;

    double t0 = now_ns();
    for (long i = 0; i < iters; i++) {
        memcpy(buf, query, (size_t)qlen);
        struct dnsmsg_query pq;
        sink += (unsigned long)dnsmsg_parse_query(&pq, buf, (size_t)qlen);
        sink += (unsigned long)dnsmsg_query_set_edns(buf, (size_t)qlen, sizeof(buf), &pq, 1232);
    }
    double t1 = now_ns();
    for (long i = 0; i < iters; i++) {
        memcpy(buf, reply, (size_t)rlen);
        struct dnsmsg_reply r;
        struct dnsmsg_addr addrs[16];
        sink += (unsigned long)dnsmsg_parse_reply(&r, buf, (size_t)rlen, &q);
        sink += (unsigned long)dnsmsg_chain_addrs(buf, (size_t)rlen, &r, q.qname, q.qname_len,
                                                  q.qtype, addrs, 16);
        sink +=
            (unsigned long)dnsmsg_reply_set_edns(buf, (size_t)rlen, sizeof(buf), &r, &q.edns, 1232);
        sink += (unsigned long)dnsmsg_reply_truncate(buf, r.len, &r, 1232);
        sink += (unsigned long)dnsmsg_rewrite_ttls(buf, r.len, &r, 0, 3600);
    }
    double t2 = now_ns();
    for (long i = 0; i < iters; i++) {
        struct dnsmsg_reply r;
        sink += (unsigned long)dnsmsg_parse_reply(&r, reply, (size_t)rlen, &q);
    }
    double t3 = now_ns();
    struct dnsmsg_reply parsed;
    sink += (unsigned long)dnsmsg_parse_reply(&parsed, reply, (size_t)rlen, &q);
    for (long i = 0; i < iters; i++) {
        struct dnsmsg_addr addrs[16];
        sink += (unsigned long)dnsmsg_chain_addrs(reply, (size_t)rlen, &parsed, q.qname,
                                                  q.qname_len, q.qtype, addrs, 16);
    }
    double t4 = now_ns();
    static const uint8_t addr[4] = {0, 0, 0, 0};
    struct dnsmsg_local a = {.aa = true,
                             .addr_type = DNSMSG_TYPE_A,
                             .addrs = addr,
                             .addr_count = 1,
                             .udp_limit = 1232,
                             .edns_size = 1232};
    for (long i = 0; i < iters; i++) {
        sink += (unsigned long)dnsmsg_write_local(out, sizeof(out), &q, &a);
    }
    double t5 = now_ns();
    printf("query parse + EDNS rewrite (%d bytes): %7.1f ns\n", qlen, (t1 - t0) / iters);
    printf("reply path, all steps (%d bytes):     %7.1f ns\n", rlen, (t2 - t1) / iters);
    printf("  reply parse with question match:    %7.1f ns\n", (t3 - t2) / iters);
    printf("  CNAME-chain extraction (2 links):   %7.1f ns\n", (t4 - t3) / iters);
    printf("local A answer:                       %7.1f ns\n", (t5 - t4) / iters);
    printf("(checksum %lu)\n", sink);
    return 0;
}
