/* dnsmsg.h - DNS wire messages: a bounds-checked cursor, query and reply parsing, CNAME-chain
 * address extraction, TTL and EDNS rewrites, local answers, and small builders for tests.
 *
 * Pure: no sockets, no allocation, no global state; every function may run inside a callback.
 * Packets are (pointer, length) and never assumed NUL-terminated. Parsed structs hold offsets into
 * the packet they came from, so they are valid only with that buffer and until it is rewritten.
 * Names are handed out as uncompressed wire form (at most DNAME_WIRE_MAX bytes, root included). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dnsroute/dname.h"

enum {
    DNSMSG_HEADER_LEN = 12,    /* fixed header (RFC 1035 §4.1.1) */
    DNSMSG_OPT_FIXED_LEN = 11, /* OPT RR without options: root owner + 10 bytes */
    DNSMSG_UDP_MIN = 512,      /* UDP limit without EDNS (RFC 1035 §4.2.1) */
    DNSMSG_CHAIN_MAX = 10,     /* CNAME links followed (dnsmasq CNAME_CHAIN) */
    DNSMSG_PTR_MAX = 64,       /* compression pointers followed within one name */
    DNSMSG_TYPE_NAME_MAX = 12  /* "TYPE65535" plus NUL, rounded */
};

enum dnsmsg_type {
    DNSMSG_TYPE_A = 1,
    DNSMSG_TYPE_NS = 2,
    DNSMSG_TYPE_CNAME = 5,
    DNSMSG_TYPE_SOA = 6,
    DNSMSG_TYPE_PTR = 12,
    DNSMSG_TYPE_MX = 15,
    DNSMSG_TYPE_TXT = 16,
    DNSMSG_TYPE_AAAA = 28,
    DNSMSG_TYPE_SRV = 33,
    DNSMSG_TYPE_OPT = 41,
    DNSMSG_TYPE_SVCB = 64,
    DNSMSG_TYPE_HTTPS = 65,
    DNSMSG_TYPE_ANY = 255
};

enum dnsmsg_class { DNSMSG_CLASS_IN = 1 };

enum dnsmsg_opcode { DNSMSG_OPCODE_QUERY = 0 };

/* Response codes; values above 15 need the OPT's extended bits (RFC 6891 §6.1.3). */
enum dnsmsg_rcode {
    DNSMSG_RCODE_NOERROR = 0,
    DNSMSG_RCODE_FORMERR = 1,
    DNSMSG_RCODE_SERVFAIL = 2,
    DNSMSG_RCODE_NXDOMAIN = 3,
    DNSMSG_RCODE_NOTIMP = 4,
    DNSMSG_RCODE_REFUSED = 5,
    DNSMSG_RCODE_BADVERS = 16
};

/* Bits of the 16-bit flags word (header bytes 2-3). */
enum dnsmsg_flag {
    DNSMSG_FLAG_QR = 0x8000,
    DNSMSG_FLAG_AA = 0x0400,
    DNSMSG_FLAG_TC = 0x0200,
    DNSMSG_FLAG_RD = 0x0100,
    DNSMSG_FLAG_RA = 0x0080,
    DNSMSG_FLAG_AD = 0x0020,
    DNSMSG_FLAG_CD = 0x0010,
    DNSMSG_FLAG_OPCODE_MASK = 0x7800,
    DNSMSG_FLAG_RCODE_MASK = 0x000f
};

enum dnsmsg_section {
    DNSMSG_SECTION_ANSWER = 0,
    DNSMSG_SECTION_AUTHORITY = 1,
    DNSMSG_SECTION_ADDITIONAL = 2
};

/* ---- Cursor (after knot's wire_ctx): every read is bounds-checked; the first error sticks,
 * later reads return 0 and do not move, so a group of reads is checked once through c->err. */
struct dnsmsg_cursor {
    const uint8_t *pkt; /* whole message: compression pointers are relative to it */
    size_t len;
    size_t pos;
    int err; /* 0, or the first failure: ERR_TRUNCATED, ERR_MALFORMED, ERR_NAME_TOO_LONG */
};

/* Starts a cursor at offset 0 of pkt[len] (borrowed for the cursor's life). */
void dnsmsg_cursor_init(struct dnsmsg_cursor *c, const uint8_t *pkt, size_t len);
/* Big-endian reads; 0 once c->err is set or when fewer bytes remain (which sets ERR_TRUNCATED). */
uint8_t dnsmsg_cursor_read_u8(struct dnsmsg_cursor *c);
uint16_t dnsmsg_cursor_read_u16(struct dnsmsg_cursor *c);
uint32_t dnsmsg_cursor_read_u32(struct dnsmsg_cursor *c);
/* Advances n bytes, or sets ERR_TRUNCATED without moving. */
void dnsmsg_cursor_skip(struct dnsmsg_cursor *c, size_t n);
/* Reads a possibly compressed name at the cursor into out[DNAME_WIRE_MAX] as uncompressed wire
 * (labels copied verbatim, case kept) and moves past the name's bytes at the cursor. Pointers must
 * target the message body after the header, strictly before the label run that holds them, and
 * the run they reach must end before that run starts (so chains always go backwards, cannot loop,
 * and a name never depends on bytes after it); at most DNSMSG_PTR_MAX pointers. Label types
 * 0x40/0x80 and pointer violations are ERR_MALFORMED, running off the message ERR_TRUNCATED,
 * over 255 bytes ERR_NAME_TOO_LONG. Returns the length (>= 1) or 0 with c->err set. out may be
 * NULL to validate and skip only. */
size_t dnsmsg_cursor_read_name(struct dnsmsg_cursor *c, uint8_t *out);
/* Validates and skips a name: dnsmsg_cursor_read_name(c, NULL). */
void dnsmsg_cursor_skip_name(struct dnsmsg_cursor *c);

/* One resource record as found in a message: offsets into it. */
struct dnsmsg_rr {
    uint16_t owner_off; /* first byte of the (possibly compressed) owner name */
    uint16_t type;
    uint16_t rclass;  /* for OPT: the UDP payload size */
    uint32_t ttl_s;   /* raw 32 bits; for OPT: ext-rcode, version, flags */
    uint16_t ttl_off; /* where the TTL lives, for rewrites */
    uint16_t rdata_off;
    uint16_t rdlen;
};

/* Reads one RR at the cursor into *rr, checking that rdlen fits in the message. Only the owner
 * name is validated, not the rdata. Returns 0 or c->err. */
int dnsmsg_cursor_read_rr(struct dnsmsg_cursor *c, struct dnsmsg_rr *rr);

/* ---- EDNS(0) as seen in a query or a reply (RFC 6891 §6.1). */
struct dnsmsg_edns {
    bool present;
    bool do_bit; /* DNSSEC OK (RFC 3225) */
    uint8_t version;
    uint8_t ext_rcode;    /* upper 8 bits of the 12-bit rcode */
    uint16_t udp_size;    /* as advertised, unclamped */
    uint16_t opt_off;     /* offset of the OPT RR (its root owner byte) */
    uint16_t opt_len;     /* whole OPT RR: DNSMSG_OPT_FIXED_LEN + options_len */
    uint16_t options_off; /* offset of the OPT rdata (the options) */
    uint16_t options_len;
};

/* ---- Queries from clients. */

/* What the caller must do with a query that dnsmsg_parse_query refused. */
enum dnsmsg_reject {
    DNSMSG_REJECT_NONE = 0, /* valid: handle it */
    DNSMSG_REJECT_DROP,     /* no header, or QR set: send nothing */
    DNSMSG_REJECT_FORMERR,  /* header readable: answer FORMERR with the client's ID */
    DNSMSG_REJECT_NOTIMP    /* opcode is not QUERY: answer NOTIMP */
};

struct dnsmsg_query {
    uint16_t id;
    uint16_t flags; /* raw flags word as received */
    uint8_t opcode;
    enum dnsmsg_reject reject;
    bool has_question;  /* qname/qtype/qclass are valid (also on some FORMERR rejects) */
    uint16_t qname_len; /* 0 when !has_question */
    uint16_t qtype;
    uint16_t qclass;
    uint16_t question_end; /* offset just past the question */
    uint16_t len;          /* message length */
    struct dnsmsg_edns edns;
    uint8_t qname[DNAME_WIRE_MAX]; /* uncompressed, case as sent */
};

/* Parses and validates a client query pkt[len] into *q (fully overwritten). A valid query is
 * opcode QUERY, QR clear, qdcount 1, ancount 0, nscount 0, and its additional section holds at most
 * one OPT (root owner, version/flags as sent) which is the last record and nothing else (this keeps
 * c-ares' EDNS fallback from corrupting queries; reference c-ares §1.5). Returns 0 with q->reject
 * DNSMSG_REJECT_NONE, or a negative code naming the reason with q->reject saying what to do:
 * ERR_TRUNCATED/ERR_MALFORMED/ERR_NAME_TOO_LONG/ERR_UNSUPPORTED. */
int dnsmsg_parse_query(struct dnsmsg_query *q, const uint8_t *pkt, size_t len);

/* UDP reply limit for a client (dnsmasq): its EDNS size clamped to [512, edns_max], 512 without
 * EDNS. edns_max below 512 counts as 512. */
uint16_t dnsmsg_udp_limit(const struct dnsmsg_edns *client, uint16_t edns_max);

/* Rewrites the validated query q (parsed from pkt[len], buffer capacity cap) in place for
 * upstream: replaces the client's OPT, or appends one, advertising udp_size, keeping the client's
 * DO bit and options, with version 0 and ext-rcode 0. Returns the new length, or ERR_FULL when
 * cap is too small (pkt unchanged). q is not updated. */
int dnsmsg_query_set_edns(uint8_t *pkt, size_t len, size_t cap, const struct dnsmsg_query *q,
                          uint16_t udp_size);

/* ---- Replies from upstream. */

struct dnsmsg_reply {
    uint16_t id;
    uint16_t flags; /* raw flags word */
    uint16_t rcode; /* 12 bits: header rcode | OPT ext-rcode << 4 */
    bool tc;
    uint16_t qdcount, ancount, nscount, arcount;
    uint16_t question_end; /* = start of the answer section */
    uint16_t authority_off;
    uint16_t additional_off;
    uint16_t len;            /* message length */
    struct dnsmsg_edns edns; /* the OPT, if any (at most one, anywhere in additional) */
};

/* A reply and its parse, handed on so that nobody parses the same bytes again: pkt[len]
 * (borrowed; valid as long as the one who hands the view says) and what dnsmsg_parse_reply found
 * in them. */
struct dnsmsg_view {
    const uint8_t *pkt;
    size_t len;
    struct dnsmsg_reply reply;
};

/* Reads only the header and the question section of reply pkt[len] into *r (id, flags, counts,
 * question_end; the rest zero): a quick look, e.g. to match an answer to the socket its query
 * left from, before the full dnsmsg_parse_reply. Returns 0 or ERR_TRUNCATED/ERR_MALFORMED/
 * ERR_NAME_TOO_LONG. */
int dnsmsg_peek_reply(struct dnsmsg_reply *r, const uint8_t *pkt, size_t len);

/* Parses reply pkt[len] into *r, walking every RR of every section with full bounds checks
 * (owner names validated, rdlen within the message, nothing after the last RR). When q is not
 * NULL, the reply must have QR set, exactly one question, and it must equal q's name
 * (ASCII case-insensitive), type and class (anti-spoofing); the ID is the caller's business.
 * Returns 0, ERR_MISMATCH (not a reply to q), or ERR_TRUNCATED/ERR_MALFORMED/ERR_NAME_TOO_LONG. */
int dnsmsg_parse_reply(struct dnsmsg_reply *r, const uint8_t *pkt, size_t len,
                       const struct dnsmsg_query *q);

/* One address found by dnsmsg_chain_addrs. */
struct dnsmsg_addr {
    uint8_t len; /* 4 (A) or 16 (AAAA) */
    uint8_t addr[16];
    uint32_t ttl_s;
};

/* Called for one record by dnsmsg_walk_answers (and the TTL walks): 0 goes on, anything else
 * ends the walk and is returned. */
typedef int dnsmsg_rr_cb(const uint8_t *pkt, const struct dnsmsg_rr *rr, void *arg);

/* Calls fn for every record of the answer section of a parsed reply, in order. Returns 0, fn's
 * non-zero return, or ERR_* only if pkt is not the parsed reply. */
int dnsmsg_walk_answers(const uint8_t *pkt, size_t len, const struct dnsmsg_reply *r,
                        dnsmsg_rr_cb *fn, void *arg);

/* The CNAME chain from a question name through the answer section (dnsmasq extract_addresses),
 * one record at a time: the sets, rebind checks and log-queries lines share this walk. */
struct dnsmsg_chain;
/* Called for each answer record of class IN whose owner is the current chain name (ch->name,
 * case-insensitive), a CNAME before the chain moves to its target. 0 goes on; anything else ends
 * the walk and is returned. */
typedef int dnsmsg_chain_cb(const struct dnsmsg_chain *ch, const struct dnsmsg_rr *rr);
struct dnsmsg_chain {
    const uint8_t *pkt; /* the parsed reply */
    size_t len;
    const struct dnsmsg_reply *r;
    /* true: a CNAME moves the chain to its target and the scan starts again at the first answer
     * (at most DNSMSG_CHAIN_MAX links; a loop ends the chain). false (a CNAME question, whose
     * CNAME is the answer): the chain moves on but the scan goes on from there, once. */
    bool restart;
    dnsmsg_chain_cb *fn;
    void *arg;
    uint8_t name[DNAME_WIRE_MAX]; /* the current chain name (uncompressed wire); at the end, the
                                     chain's last name */
    size_t name_len;
};
/* Walks the chain from qname (uncompressed wire) over ch's reply. Returns 0, fn's non-zero
 * return, or ERR_* (pkt not the parsed reply, qname too long). */
int dnsmsg_chain_walk(struct dnsmsg_chain *ch, const uint8_t *qname, size_t qname_len);

/* Extracts the addresses that answer (qname, qtype) from a parsed reply (dnsmasq
 * extract_addresses): the rdata of A (qtype A) or AAAA (qtype AAAA) records of class IN on the
 * chain from qname (dnsmsg_chain_walk). Other records are ignored. Writes at most cap entries to
 * out and returns how many were written (0 for other qtypes); ERR_* only if pkt is not the
 * parsed reply. */
int dnsmsg_chain_addrs(const uint8_t *pkt, size_t len, const struct dnsmsg_reply *r,
                       const uint8_t *qname, size_t qname_len, uint16_t qtype,
                       struct dnsmsg_addr *out, size_t cap);

/* Smallest TTL over the answer and authority RRs (TTLs above 2^31-1 count as 0, RFC 2181 §8).
 * Returns 0 and sets *ttl_s, or ERR_NOT_FOUND when those sections are empty. */
int dnsmsg_min_ttl(const uint8_t *pkt, size_t len, const struct dnsmsg_reply *r, uint32_t *ttl_s);

/* Negative-caching TTL (RFC 2308 §5): min(SOA TTL, SOA MINIMUM) of the first SOA in the authority
 * section. Returns 0 and sets *ttl_s, ERR_NOT_FOUND without an SOA, ERR_MALFORMED for bad rdata. */
int dnsmsg_neg_ttl(const uint8_t *pkt, size_t len, const struct dnsmsg_reply *r, uint32_t *ttl_s);

/* Rewrites the TTL of every RR but OPT in place: subtracts age_s (floor 0) for cached answers,
 * then caps at max_ttl_s unless it is 0 (dnsmasq max-ttl). Returns 0 or an ERR_* code (only if pkt
 * is not the parsed reply). A name compressed into some TTL's bytes (legal, senseless) decodes
 * differently afterwards; the walk itself does not depend on it. */
int dnsmsg_rewrite_ttls(uint8_t *pkt, size_t len, const struct dnsmsg_reply *r, uint32_t age_s,
                        uint32_t max_ttl_s);

/* The same, but a TTL below floor_s is first raised to floor_s: answers served from the cache
 * under dnsmasq's min-cache-ttl carry the extended TTL counted down, not the upstream's. */
int dnsmsg_rewrite_ttls_floor(uint8_t *pkt, size_t len, const struct dnsmsg_reply *r,
                              uint32_t floor_s, uint32_t age_s, uint32_t max_ttl_s);

/* Writes into offs (room for cap) the offsets of the TTL fields of every RR but OPT of the
 * parsed reply pkt[len], so that a cached copy can be aged without a parse. Returns the count,
 * ERR_FULL when cap is too small, or an ERR_* code (only if pkt is not the parsed reply). */
int dnsmsg_ttl_offsets(const uint8_t *pkt, size_t len, const struct dnsmsg_reply *r, uint16_t *offs,
                       size_t cap);

/* dnsmsg_rewrite_ttls_floor over the TTL fields at offs[count] (from dnsmsg_ttl_offsets on the
 * same bytes): floor, age and cap, with no walk over the records. */
void dnsmsg_rewrite_ttls_at(uint8_t *pkt, const uint16_t *offs, size_t count, uint32_t floor_s,
                            uint32_t age_s, uint32_t max_ttl_s);

/* Restores on a reply (pkt[len], capacity cap) the EDNS state of the client's query: without
 * client EDNS the OPT is removed (an extended rcode it carried turns into SERVFAIL); with it, the
 * reply's OPT advertises udp_size, or one is appended (DO clear, no options) if upstream sent
 * none. Updates r (len, arcount, edns). Returns the new length, or ERR_FULL (pkt unchanged). */
int dnsmsg_reply_set_edns(uint8_t *pkt, size_t len, size_t cap, struct dnsmsg_reply *r,
                          const struct dnsmsg_edns *client, uint16_t udp_size);

/* RFC 8914 extended DNS error codes dnsroute sends. */
enum { DNSMSG_EDE_STALE_ANSWER = 3 };

/* Appends an Extended DNS Error option (RFC 8914 section 2: option code 15, INFO-CODE, no
 * EXTRA-TEXT) to the OPT of the parsed reply pkt[len] (capacity cap); updates r. Returns the new
 * length, ERR_FULL (pkt unchanged) or ERR_MISMATCH when the reply has no OPT. */
int dnsmsg_reply_add_ede(uint8_t *pkt, size_t len, size_t cap, struct dnsmsg_reply *r,
                         uint16_t info_code);

/* If len exceeds limit, cuts the reply to header + question (+ its OPT, options dropped if even
 * that does not fit) and sets TC; counts are fixed up and r updated. Returns the new length
 * (len itself when it already fits). */
int dnsmsg_reply_truncate(uint8_t *pkt, size_t len, struct dnsmsg_reply *r, size_t limit);

/* ---- A query datagram's question read straight from its bytes, without a parse: for hints taken
 * before the parse (e.g. the cache key of every datagram of a receive batch, to prefetch). */
struct dnsmsg_query_peek {
    size_t qname_len; /* the uncompressed name at DNSMSG_HEADER_LEN, root label included */
    uint16_t qtype, qclass, flags;
    bool do_bit; /* an OPT record right after the question has the DO bit */
};

/* True for a query (QR clear) of one question with an uncompressed name of at most
 * DNAME_WIRE_MAX bytes; false otherwise (then only the full parse can tell). */
bool dnsmsg_peek_query(const uint8_t *pkt, size_t len, struct dnsmsg_query_peek *out);

/* ---- Header accessors for any message of at least DNSMSG_HEADER_LEN bytes (the caller has
 * checked the length, for instance through a successful parse). */
uint16_t dnsmsg_get_id(const uint8_t *pkt);
void dnsmsg_set_id(uint8_t *pkt, uint16_t id);
uint16_t dnsmsg_get_flags(const uint8_t *pkt);
/* Sets the bits of set, then clears the bits of clear (DNSMSG_FLAG_*). */
void dnsmsg_set_flags(uint8_t *pkt, uint16_t set, uint16_t clear);
/* Sets the 4-bit header rcode (values above 15 keep only their low 4 bits). */
void dnsmsg_set_rcode(uint8_t *pkt, uint8_t rcode);

/* ---- Local answers built from a parsed query (dnsmasq setup_reply / make_local_answer). */
struct dnsmsg_local {
    uint8_t rcode;        /* DNSMSG_RCODE_*; NOERROR with no addresses is NODATA */
    bool aa;              /* authoritative answer (dnsmasq sets it for address= literals) */
    uint16_t addr_type;   /* DNSMSG_TYPE_A or DNSMSG_TYPE_AAAA when addr_count > 0 */
    const uint8_t *addrs; /* addr_count addresses of 4 or 16 bytes, back to back (borrowed) */
    size_t addr_count;
    const uint8_t *aaaa_after; /* AAAA addresses (16 bytes each) answered after addrs: ANY for */
    size_t aaaa_after_count;   /*   address=/d/# gets A 0.0.0.0 then AAAA :: (dnsmasq) */
    uint32_t ttl_s;            /* TTL of the address records (local-ttl) */
    uint16_t udp_limit;        /* size limit of the reply (dnsmsg_udp_limit), 0 for none (TCP) */
    uint16_t edns_size;        /* UDP size in our OPT, sent when the client had EDNS */
};

/* Writes into buf[cap] the reply to q described by a: client's ID and opcode, QR and RA set, RD and
 * CD copied, the question echoed when q has one, each address as one RR whose owner points to the
 * question, and an OPT when the client sent one. If the records do not fit in cap or a->udp_limit,
 * the answer section is emptied and TC set. Works for rejected queries too (FORMERR, NOTIMP).
 * Returns the length, or ERR_FULL when not even the header fits. */
int dnsmsg_write_local(uint8_t *buf, size_t cap, const struct dnsmsg_query *q,
                       const struct dnsmsg_local *a);

/* Shorthand for dnsmsg_write_local with no records and AA clear: REFUSED, FORMERR, NOTIMP,
 * SERVFAIL, NXDOMAIN, or NODATA (DNSMSG_RCODE_NOERROR). */
int dnsmsg_write_rcode(uint8_t *buf, size_t cap, const struct dnsmsg_query *q, uint8_t rcode,
                       uint16_t edns_size);

/* ---- Builders for tests and the fake upstream. */

/* Writes a query for wire name qname[qname_len] into buf[cap]: opcode QUERY, RD as given, and an
 * OPT advertising edns_size with do_bit when edns_size is not 0. Returns the length or ERR_FULL /
 * ERR_MALFORMED (qname not a valid uncompressed name). */
int dnsmsg_write_query(uint8_t *buf, size_t cap, uint16_t id, const uint8_t *qname,
                       size_t qname_len, uint16_t qtype, uint16_t qclass, bool rd,
                       uint16_t edns_size, bool do_bit);

/* Appends records to a message, section by section, with a sticky error like the cursor. */
struct dnsmsg_builder {
    uint8_t *buf;
    size_t cap;
    size_t len;
    int section; /* section of the last record added */
    int err;     /* 0, ERR_FULL, or ERR_MALFORMED (sections out of order, bad name) */
};

/* Starts a reply to q in buf[cap]: q's ID, QR|RA, q's RD/CD, rcode, flags_set added (e.g.
 * DNSMSG_FLAG_AA or DNSMSG_FLAG_TC), and q's question. No OPT is added. */
void dnsmsg_builder_init_reply(struct dnsmsg_builder *b, uint8_t *buf, size_t cap,
                               const struct dnsmsg_query *q, uint8_t rcode, uint16_t flags_set);
/* Appends one RR to section (not before the previous record's section). owner is uncompressed
 * wire, or NULL for a pointer to the question name. rdata is copied verbatim. */
void dnsmsg_builder_add_rr(struct dnsmsg_builder *b, enum dnsmsg_section section,
                           const uint8_t *owner, size_t owner_len, uint16_t type, uint32_t ttl_s,
                           const uint8_t *rdata, size_t rdlen);
/* The same with a class other than IN (CHAOS TXT records). */
void dnsmsg_builder_add_rr_class(struct dnsmsg_builder *b, enum dnsmsg_section section,
                                 const uint8_t *owner, size_t owner_len, uint16_t type,
                                 uint16_t rclass, uint32_t ttl_s, const uint8_t *rdata,
                                 size_t rdlen);
/* A or AAAA by address length (4 or 16), class IN. */
void dnsmsg_builder_add_addr(struct dnsmsg_builder *b, enum dnsmsg_section section,
                             const uint8_t *owner, size_t owner_len, uint32_t ttl_s,
                             const uint8_t *addr, size_t addr_len);
/* CNAME to the uncompressed wire name target. */
void dnsmsg_builder_add_cname(struct dnsmsg_builder *b, const uint8_t *owner, size_t owner_len,
                              uint32_t ttl_s, const uint8_t *target, size_t target_len);
/* SOA in the authority section with mname "ns." and rname "host." of the zone, given serial 1,
 * refresh/retry/expire fixed, and minimum_s as the negative TTL. */
void dnsmsg_builder_add_soa(struct dnsmsg_builder *b, const uint8_t *owner, size_t owner_len,
                            uint32_t ttl_s, uint32_t minimum_s);
/* TXT with one character-string text[len] (len <= 255). */
void dnsmsg_builder_add_txt(struct dnsmsg_builder *b, enum dnsmsg_section section,
                            const uint8_t *owner, size_t owner_len, uint32_t ttl_s,
                            const char *text, size_t len);
/* OPT in the additional section: udp_size, do_bit, no options. */
void dnsmsg_builder_add_opt(struct dnsmsg_builder *b, uint16_t udp_size, bool do_bit);
/* Returns the message length, or the first error. */
int dnsmsg_builder_finish(const struct dnsmsg_builder *b);

/* ---- Type names for logs (dnsmasq "query[AAAA]", "query[TYPE99]"). */

/* Returns a static name for a known type, otherwise writes "TYPE<n>" into buf[DNSMSG_TYPE_NAME_MAX]
 * and returns buf. */
const char *dnsmsg_type_name(uint16_t type, char *buf);
/* Parses a type name (case-insensitive), "TYPE<n>" or a decimal number from text[len]. Returns the
 * type (1..65535) or ERR_PARSE. */
int dnsmsg_type_parse(const char *text, size_t len);
