/* fake_upstream.h - private interface between fake_upstream.c (sockets, event loop, query log,
 * main) and fake_upstream_dns.c (scenario file, DNS wire decoding and reply building; no I/O).
 * Test-only code: it deliberately shares nothing with dnsroute_core. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    FU_MAX_LISTENERS = 16,
    FU_MAX_CONNS = 64,
    FU_MAX_PENDING = 4096,
    FU_MAX_ADDRS = 64,
    FU_MAX_CHAIN = 16,
    FU_MAX_MSG = 65535,
    FU_TEXT_MAX = 1100, /* escaped presentation name, worst case is 4 * 255 */
    FU_TCP_IDLE_MS = 20000,
    FU_BIG_MAX = 4000,
};

enum fu_action {
    ACT_NONE, /* only "tc": UDP gets an empty TC reply, TCP falls through to the next rule */
    ACT_A,
    ACT_AAAA,
    ACT_CNAME,
    ACT_NXDOMAIN,
    ACT_NODATA,
    ACT_RCODE,
    ACT_DROP,
    ACT_CLOSE,
    ACT_BIG,
    ACT_GARBAGE,
};

enum fu_match { MATCH_EXACT, MATCH_ANY, MATCH_SUFFIX };
enum fu_proto { PROTO_ANY, PROTO_UDP, PROTO_TCP };
enum fu_when { WHEN_ANY, WHEN_EDNS, WHEN_NOEDNS };
enum { EDNS_ECHO = -1, EDNS_NONE = -2 };

struct fu_rule {
    char tag[32]; /* "" matches every listener */
    char name[256];
    enum fu_match match;
    int qtype; /* -1: any type */
    bool is_default;
    enum fu_action act;
    const char *act_name;
    int rcode;
    int count; /* addresses, big=N records or garbage bytes */
    uint8_t addr[FU_MAX_ADDRS][16];
    char target[256];
    char zone[256];
    uint32_t ttl_s;
    uint32_t min_s;
    int delay_ms;
    int edns; /* EDNS_ECHO, EDNS_NONE or a size */
    enum fu_when when;
    enum fu_proto proto;
    bool tc, wrongid, wrongq, wrongcase, fromport, aa, ad, nora, notrunc;
    bool tckeep;   /* TC over UDP but the records kept (a partial answer) */
    int set_rcode; /* -1, or the rcode forced onto the built answer (records kept) */
    long times;    /* -1: unlimited */
    long used;
    int line;
};

struct fu_scenario {
    struct fu_rule *rules;
    size_t count;
};

/* One parsed query; offsets point into the received bytes. */
struct fu_query {
    const uint8_t *msg;
    size_t len;
    uint16_t id;
    uint8_t flags_hi, flags_lo;
    size_t qname_end; /* offset after the wire qname */
    size_t q_end;     /* offset after qtype and qclass */
    uint16_t qtype, qclass;
    char qname[FU_TEXT_MAX]; /* as received, case preserved, trailing dot */
    char key[FU_TEXT_MAX];   /* lower case, no trailing dot ("" for the root) */
    bool has_edns;
    uint16_t edns_size;
    bool do_bit;
    uint8_t edns_version;
    bool tcp;
};

struct fu_out {
    uint8_t buf[FU_MAX_MSG + 1];
    size_t len;
    bool overflow;
};

/* Integer in [0, max] written in decimal; false otherwise. */
bool fu_parse_uint(const char *s, long max, long *out);

/* Big-endian 16-bit read; the caller checked the bounds. */
uint16_t fu_get16(const uint8_t *p);

/* Type mnemonic (A, AAAA, ..., TYPE<n>) to number, -1 if unknown; and back. */
int fu_type_parse(const char *s);
void fu_type_format(int type, char *buf, size_t size);

/* Reads a scenario file (format: README.md). On success replaces *sc (freeing its old rules);
 * on error prints "file:line: reason" to stderr, leaves *sc untouched and returns -1. */
int fu_scenario_load(struct fu_scenario *sc, const char *path);

/* First rule in file order matching the name key (lower case, no trailing dot), qtype, the
 * query's transport/EDNS and the listener tag; then the first matching "default" rule; NULL if
 * none. The returned rule is owned by sc (valid until the next load). */
struct fu_rule *fu_scenario_find(struct fu_scenario *sc, const char *key, int qtype,
                                 const struct fu_query *q, const char *tag);

/* The rule used when nothing matches: NXDOMAIN with an SOA for the root. */
extern const struct fu_rule fu_fallback_rule;

/* Parses header, question and OPT of msg (len >= 12; q->tcp set by the caller). Returns 0, or 1
 * (FORMERR) when the message is not a single well-formed question. */
int fu_query_parse(struct fu_query *q, const uint8_t *msg, size_t len);

/* Builds the reply to q under rule r into *o (CNAME targets are looked up in sc for the listener
 * tag). Returns false when the rule sends nothing (drop, close). */
bool fu_reply_build(struct fu_scenario *sc, const struct fu_rule *r, const struct fu_query *q,
                    const char *tag, struct fu_out *o);
