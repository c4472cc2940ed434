/* dnsmsg.c - DNS wire messages for the forwarder: the bounds-checked cursor, query validation,
 * reply checking, CNAME-chain address extraction, TTL and EDNS rewrites, and truncation.
 * query.c calls it between receive and forward and again between upstream reply and answer;
 * building local answers and test messages lives in dnsmsg_write.c. Nothing here allocates. */
#include "dnsroute/dnsmsg.h"

#include <string.h>

#include "dnsroute/compat.h"
#include "dnsroute/err.h"
#include "dnsmsg_impl.h"

/* ---- Cursor ---- */

void dnsmsg_cursor_init(struct dnsmsg_cursor *c, const uint8_t *pkt, size_t len)
{
    c->pkt = pkt;
    c->len = len;
    c->pos = 0;
    c->err = 0;
}

/* Records the first failure only, so the reason reported is the earliest one. */
static void cursor_fail(struct dnsmsg_cursor *c, int err)
{
    if (c->err == 0) {
        c->err = err;
    }
}

static bool cursor_need(struct dnsmsg_cursor *c, size_t n)
{
    if (c->err != 0) {
        return false;
    }
    if (c->pos > c->len || c->len - c->pos < n) {
        cursor_fail(c, ERR_TRUNCATED);
        return false;
    }
    return true;
}

uint8_t dnsmsg_cursor_read_u8(struct dnsmsg_cursor *c)
{
    if (!cursor_need(c, 1)) {
        return 0;
    }
    return c->pkt[c->pos++];
}

uint16_t dnsmsg_cursor_read_u16(struct dnsmsg_cursor *c)
{
    if (!cursor_need(c, 2)) {
        return 0;
    }
    uint16_t v = dnsmsg_get16(c->pkt + c->pos);
    c->pos += 2;
    return v;
}

uint32_t dnsmsg_cursor_read_u32(struct dnsmsg_cursor *c)
{
    if (!cursor_need(c, 4)) {
        return 0;
    }
    uint32_t v = dnsmsg_get32(c->pkt + c->pos);
    c->pos += 4;
    return v;
}

void dnsmsg_cursor_skip(struct dnsmsg_cursor *c, size_t n)
{
    if (cursor_need(c, n)) {
        c->pos += n;
    }
}

static size_t cursor_name_fail(struct dnsmsg_cursor *c, int err)
{
    cursor_fail(c, err);
    return 0;
}

/* Name decompression (RFC 1035 §4.1.4). A pointer must go strictly before the start of the label
 * run it ends, and the run it reaches must end before that start too: so run starts decrease at
 * every jump (no loops; DNSMSG_PTR_MAX bounds chains as well) and a name depends only on bytes
 * that precede it, which lets rewrites cut a message after any record. */
size_t dnsmsg_cursor_read_name(struct dnsmsg_cursor *c, uint8_t *out)
{
    if (c->err != 0) {
        return 0;
    }
    size_t pos = c->pos, run_start = c->pos, limit = c->len, end = 0, out_len = 0;
    unsigned ptrs = 0;
    for (;;) {
        /* Past the message: truncated; past the run that pointed here: malformed. */
        int overrun = limit == c->len ? ERR_TRUNCATED : ERR_MALFORMED;
        if (pos >= limit) {
            return cursor_name_fail(c, overrun);
        }
        uint8_t b = c->pkt[pos];
        if ((b & 0xc0) == 0xc0) {
            if (pos + 1 >= limit) {
                return cursor_name_fail(c, overrun);
            }
            size_t target = ((size_t)(b & 0x3f) << 8) | c->pkt[pos + 1];
            if (end == 0) {
                end = pos + 2;
            }
            if (target < DNSMSG_HEADER_LEN || target >= run_start || ++ptrs > DNSMSG_PTR_MAX) {
                return cursor_name_fail(c, ERR_MALFORMED);
            }
            limit = run_start;
            pos = run_start = target;
            continue;
        }
        if (b & 0xc0) {
            return cursor_name_fail(c, ERR_MALFORMED); /* 0x40/0x80: obsolete label types */
        }
        if (b != 0 && out_len + b + 2 > DNAME_WIRE_MAX) {
            return cursor_name_fail(c, ERR_NAME_TOO_LONG);
        }
        if (limit - pos - 1 < b) {
            return cursor_name_fail(c, overrun);
        }
        if (out != NULL) {
            memcpy(out + out_len, c->pkt + pos, (size_t)b + 1);
        }
        out_len += (size_t)b + 1;
        pos += (size_t)b + 1;
        if (b == 0) {
            c->pos = end != 0 ? end : pos;
            return out_len;
        }
    }
}

void dnsmsg_cursor_skip_name(struct dnsmsg_cursor *c)
{
    (void)dnsmsg_cursor_read_name(c, NULL);
}

/* Skips the name bytes at the cursor without following pointers: where the next field starts
 * depends on these bytes only, so a walk that rewrites fields behind it stays on its tracks. */
static void cursor_skip_name_flat(struct dnsmsg_cursor *c)
{
    for (;;) {
        uint8_t b = dnsmsg_cursor_read_u8(c);
        if (c->err != 0 || b == 0) {
            return;
        }
        if ((b & 0xc0) == 0xc0) {
            dnsmsg_cursor_skip(c, 1);
            return;
        }
        if (b & 0xc0) {
            cursor_fail(c, ERR_MALFORMED);
            return;
        }
        dnsmsg_cursor_skip(c, b);
    }
}

static int cursor_read_rr(struct dnsmsg_cursor *c, struct dnsmsg_rr *rr, bool follow)
{
    rr->owner_off = (uint16_t)c->pos;
    if (follow) {
        dnsmsg_cursor_skip_name(c);
    } else {
        cursor_skip_name_flat(c);
    }
    rr->type = dnsmsg_cursor_read_u16(c);
    rr->rclass = dnsmsg_cursor_read_u16(c);
    rr->ttl_off = (uint16_t)c->pos;
    rr->ttl_s = dnsmsg_cursor_read_u32(c);
    rr->rdlen = dnsmsg_cursor_read_u16(c);
    rr->rdata_off = (uint16_t)c->pos;
    dnsmsg_cursor_skip(c, rr->rdlen);
    return c->err;
}

int dnsmsg_cursor_read_rr(struct dnsmsg_cursor *c, struct dnsmsg_rr *rr)
{
    return cursor_read_rr(c, rr, true);
}

/* ---- Shared helpers (dnsmsg_impl.h) ---- */

static inline uint8_t fold(uint8_t x)
{
    return (x >= 'A' && x <= 'Z') ? (uint8_t)(x + 32) : x;
}

bool dnsmsg_name_equal(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
    if (a_len != b_len) {
        return false;
    }
    /* Length bytes are below 64, so folding 'A'..'Z' never touches them. */
    for (size_t i = 0; i < a_len; i++) {
        if (fold(a[i]) != fold(b[i])) {
            return false;
        }
    }
    return true;
}

bool dnsmsg_name_is_valid(const uint8_t *name, size_t len)
{
    size_t pos = 0;
    while (pos < len) {
        uint8_t b = name[pos];
        if (b & 0xc0) {
            return false;
        }
        pos += (size_t)b + 1;
        if (b == 0) {
            return pos == len && len <= DNAME_WIRE_MAX;
        }
    }
    return false;
}

/* Fills e from an OPT RR (RFC 6891 §6.1.2-6.1.3) and checks its options' TLV framing. */
static int edns_from_rr(struct dnsmsg_edns *e, const uint8_t *pkt, const struct dnsmsg_rr *rr)
{
    if (pkt[rr->owner_off] != 0) {
        return ERR_MALFORMED; /* OPT owner must be the root */
    }
    size_t pos = rr->rdata_off, end = (size_t)rr->rdata_off + rr->rdlen;
    while (pos < end) {
        if (end - pos < 4 || end - pos - 4 < dnsmsg_get16(pkt + pos + 2)) {
            return ERR_MALFORMED;
        }
        pos += 4 + (size_t)dnsmsg_get16(pkt + pos + 2);
    }
    e->present = true;
    e->udp_size = rr->rclass;
    e->ext_rcode = (uint8_t)(rr->ttl_s >> 24);
    e->version = (uint8_t)(rr->ttl_s >> 16);
    e->do_bit = (rr->ttl_s & 0x8000) != 0;
    e->opt_off = rr->owner_off;
    e->options_off = rr->rdata_off;
    e->options_len = rr->rdlen;
    e->opt_len = (uint16_t)(DNSMSG_OPT_FIXED_LEN + rr->rdlen);
    return 0;
}

/* ---- Queries ---- */

static int query_reject(struct dnsmsg_query *q, enum dnsmsg_reject how, int err)
{
    q->reject = how;
    return err;
}

/* Question and sections of a query whose header is known good; any failure means FORMERR. */
static int query_parse_body(struct dnsmsg_query *q, struct dnsmsg_cursor *c, const uint8_t *pkt)
{
    uint16_t qdcount = dnsmsg_get16(pkt + 4), ancount = dnsmsg_get16(pkt + 6);
    uint16_t nscount = dnsmsg_get16(pkt + 8), arcount = dnsmsg_get16(pkt + 10);
    if (qdcount != 1) {
        return ERR_MALFORMED;
    }
    size_t name_len = dnsmsg_cursor_read_name(c, q->qname);
    q->qtype = dnsmsg_cursor_read_u16(c);
    q->qclass = dnsmsg_cursor_read_u16(c);
    if (c->err != 0) {
        return c->err;
    }
    q->has_question = true;
    q->qname_len = (uint16_t)name_len;
    q->question_end = (uint16_t)c->pos;
    /* One OPT, last, and nothing else: see c-ares' EDNS fallback (reference c-ares §1.5). */
    if (ancount != 0 || nscount != 0 || arcount > 1) {
        return ERR_MALFORMED;
    }
    if (arcount == 1) {
        struct dnsmsg_rr rr;
        if (dnsmsg_cursor_read_rr(c, &rr) != 0) {
            return c->err;
        }
        if (rr.type != DNSMSG_TYPE_OPT) {
            return ERR_MALFORMED;
        }
        int rc = edns_from_rr(&q->edns, pkt, &rr);
        if (rc != 0) {
            return rc;
        }
    }
    return c->pos == c->len ? 0 : ERR_MALFORMED;
}

int dnsmsg_parse_query(struct dnsmsg_query *q, const uint8_t *pkt, size_t len)
{
    memset(q, 0, offsetof(struct dnsmsg_query, qname));
    q->qname[0] = 0;
    if (len < DNSMSG_HEADER_LEN) {
        return query_reject(q, DNSMSG_REJECT_DROP, ERR_TRUNCATED);
    }
    if (len > UINT16_MAX) {
        return query_reject(q, DNSMSG_REJECT_DROP, ERR_MALFORMED);
    }
    q->len = (uint16_t)len;
    q->id = dnsmsg_get16(pkt);
    q->flags = dnsmsg_get16(pkt + 2);
    q->opcode = (uint8_t)((q->flags & DNSMSG_FLAG_OPCODE_MASK) >> 11);
    if (q->flags & DNSMSG_FLAG_QR) {
        return query_reject(q, DNSMSG_REJECT_DROP, ERR_MALFORMED);
    }
    if (q->opcode != DNSMSG_OPCODE_QUERY) {
        return query_reject(q, DNSMSG_REJECT_NOTIMP, ERR_UNSUPPORTED);
    }
    struct dnsmsg_cursor c;
    dnsmsg_cursor_init(&c, pkt, len);
    c.pos = DNSMSG_HEADER_LEN;
    int rc = query_parse_body(q, &c, pkt);
    if (rc != 0) {
        q->edns.present = false;
        return query_reject(q, DNSMSG_REJECT_FORMERR, rc);
    }
    return query_reject(q, DNSMSG_REJECT_NONE, 0);
}

uint16_t dnsmsg_udp_limit(const struct dnsmsg_edns *client, uint16_t edns_max)
{
    uint16_t max = edns_max < DNSMSG_UDP_MIN ? DNSMSG_UDP_MIN : edns_max;
    if (!client->present || client->udp_size < DNSMSG_UDP_MIN) {
        return DNSMSG_UDP_MIN;
    }
    return client->udp_size > max ? max : client->udp_size;
}

void dnsmsg_opt_write(uint8_t *p, uint16_t udp_size, uint8_t ext_rcode, bool do_bit,
                      uint16_t options_len)
{
    p[0] = 0; /* root owner */
    dnsmsg_put16(p + 1, DNSMSG_TYPE_OPT);
    dnsmsg_put16(p + 3, udp_size);
    p[5] = ext_rcode;
    p[6] = 0; /* version 0 */
    dnsmsg_put16(p + 7, do_bit ? 0x8000 : 0);
    dnsmsg_put16(p + 9, options_len);
}

/* The validated query ends with its OPT, right after the question (or has none), so the new OPT
 * header goes at question_end and the client's options, already behind it, stay in place. */
int dnsmsg_query_set_edns(uint8_t *pkt, size_t len, size_t cap, const struct dnsmsg_query *q,
                          uint16_t udp_size)
{
    DNSROUTE_REQUIRE(q->reject == DNSMSG_REJECT_NONE && len == q->len);
    size_t new_len = (size_t)q->question_end + DNSMSG_OPT_FIXED_LEN + q->edns.options_len;
    if (new_len > cap || new_len > UINT16_MAX) {
        return ERR_FULL;
    }
    dnsmsg_opt_write(pkt + q->question_end, udp_size, 0, q->edns.do_bit, q->edns.options_len);
    dnsmsg_put16(pkt + 10, 1);
    return (int)new_len;
}

/* ---- Replies ---- */

static int reply_check_question(struct dnsmsg_reply *r, struct dnsmsg_cursor *c,
                                const struct dnsmsg_query *q)
{
    if (q != NULL && (!(r->flags & DNSMSG_FLAG_QR) || r->qdcount != 1)) {
        return ERR_MISMATCH;
    }
    for (unsigned i = 0; i < r->qdcount; i++) {
        uint8_t name[DNAME_WIRE_MAX];
        size_t name_len = dnsmsg_cursor_read_name(c, name);
        uint16_t qtype = dnsmsg_cursor_read_u16(c);
        uint16_t qclass = dnsmsg_cursor_read_u16(c);
        if (c->err != 0) {
            return c->err;
        }
        if (q != NULL && (qtype != q->qtype || qclass != q->qclass ||
                          !dnsmsg_name_equal(name, name_len, q->qname, q->qname_len))) {
            return ERR_MISMATCH;
        }
    }
    return 0;
}

/* Walks count RRs of one section; an OPT is accepted once, in the additional section only. */
static int reply_walk_section(struct dnsmsg_reply *r, struct dnsmsg_cursor *c, unsigned count,
                              bool additional)
{
    for (unsigned i = 0; i < count; i++) {
        struct dnsmsg_rr rr;
        if (dnsmsg_cursor_read_rr(c, &rr) != 0) {
            return c->err;
        }
        if (rr.type != DNSMSG_TYPE_OPT) {
            continue;
        }
        if (!additional || r->edns.present) {
            return ERR_MALFORMED;
        }
        int rc = edns_from_rr(&r->edns, c->pkt, &rr);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* The header of pkt[len] into r; the cursor c is left on the question. */
static int reply_header(struct dnsmsg_reply *r, struct dnsmsg_cursor *c, const uint8_t *pkt,
                        size_t len)
{
    memset(r, 0, sizeof(*r));
    if (len < DNSMSG_HEADER_LEN) {
        return ERR_TRUNCATED;
    }
    if (len > UINT16_MAX) {
        return ERR_MALFORMED;
    }
    r->len = (uint16_t)len;
    r->id = dnsmsg_get16(pkt);
    r->flags = dnsmsg_get16(pkt + 2);
    r->tc = (r->flags & DNSMSG_FLAG_TC) != 0;
    r->qdcount = dnsmsg_get16(pkt + 4);
    r->ancount = dnsmsg_get16(pkt + 6);
    r->nscount = dnsmsg_get16(pkt + 8);
    r->arcount = dnsmsg_get16(pkt + 10);
    dnsmsg_cursor_init(c, pkt, len);
    c->pos = DNSMSG_HEADER_LEN;
    return 0;
}

int dnsmsg_peek_reply(struct dnsmsg_reply *r, const uint8_t *pkt, size_t len)
{
    struct dnsmsg_cursor c;
    int rc = reply_header(r, &c, pkt, len);
    rc = rc != 0 ? rc : reply_check_question(r, &c, NULL);
    if (rc != 0) {
        return rc;
    }
    r->question_end = (uint16_t)c.pos;
    return 0;
}

int dnsmsg_parse_reply(struct dnsmsg_reply *r, const uint8_t *pkt, size_t len,
                       const struct dnsmsg_query *q)
{
    struct dnsmsg_cursor c;
    int rc = reply_header(r, &c, pkt, len);
    rc = rc != 0 ? rc : reply_check_question(r, &c, q);
    if (rc != 0) {
        return rc;
    }
    r->question_end = (uint16_t)c.pos;
    rc = reply_walk_section(r, &c, r->ancount, false);
    r->authority_off = (uint16_t)c.pos;
    rc = rc != 0 ? rc : reply_walk_section(r, &c, r->nscount, false);
    r->additional_off = (uint16_t)c.pos;
    rc = rc != 0 ? rc : reply_walk_section(r, &c, r->arcount, true);
    if (rc != 0) {
        return rc;
    }
    if (c.pos != len) {
        return ERR_MALFORMED; /* bytes after the last record would break the EDNS rewrites */
    }
    r->rcode = (uint16_t)((r->flags & DNSMSG_FLAG_RCODE_MASK) | (r->edns.ext_rcode << 4));
    return 0;
}

/* ---- Record walks ---- */

/* Calls fn for every RR from offset `from` on, count of them; stops at the first non-zero return.
 * Owner names are validated except in a rewriting walk (follow false), which must not trip over
 * a pointer into a TTL it has just changed. */
static int walk_rrs_how(const uint8_t *pkt, size_t len, size_t from, unsigned count,
                        dnsmsg_rr_cb *fn, void *arg, bool follow)
{
    struct dnsmsg_cursor c;
    dnsmsg_cursor_init(&c, pkt, len);
    c.pos = from;
    for (unsigned i = 0; i < count; i++) {
        struct dnsmsg_rr rr;
        if (cursor_read_rr(&c, &rr, follow) != 0) {
            return c.err;
        }
        int rc = fn(pkt, &rr, arg);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static int walk_rrs(const uint8_t *pkt, size_t len, size_t from, unsigned count, dnsmsg_rr_cb *fn,
                    void *arg)
{
    return walk_rrs_how(pkt, len, from, count, fn, arg, true);
}

int dnsmsg_walk_answers(const uint8_t *pkt, size_t len, const struct dnsmsg_reply *r,
                        dnsmsg_rr_cb *fn, void *arg)
{
    return walk_rrs(pkt, len, r->question_end, r->ancount, fn, arg);
}

/* ---- CNAME chain ---- */

/* The names a chain walk has been at, to end a loop. */
struct chain_seen {
    uint8_t names[DNSMSG_CHAIN_MAX + 1][DNAME_WIRE_MAX];
    size_t lens[DNSMSG_CHAIN_MAX + 1];
    size_t count;
};

static bool chain_has(const struct chain_seen *seen, const uint8_t *name, size_t len)
{
    for (size_t i = 0; i < seen->count; i++) {
        if (dnsmsg_name_equal(seen->names[i], seen->lens[i], name, len)) {
            return true;
        }
    }
    return false;
}

/* Compares the compressed name at pkt[pos] with an uncompressed one without copying it. Anything
 * odd (which dnsmsg_parse_reply has excluded already) counts as unequal; pointers must still go
 * backwards, so the walk ends. */
static bool name_equal_at(const uint8_t *pkt, size_t len, size_t pos, const uint8_t *name,
                          size_t name_len)
{
    size_t i = 0, run_start = pos;
    unsigned ptrs = 0;
    for (;;) {
        if (pos >= len) {
            return false;
        }
        uint8_t b = pkt[pos];
        if ((b & 0xc0) == 0xc0) {
            size_t target = pos + 1 < len ? ((size_t)(b & 0x3f) << 8) | pkt[pos + 1] : SIZE_MAX;
            if (target >= run_start || ++ptrs > DNSMSG_PTR_MAX) {
                return false;
            }
            pos = run_start = target;
            continue;
        }
        if (i >= name_len || name[i] != b || len - pos - 1 < b || name_len - i - 1 < b) {
            return false; /* also catches b > 63: a name[] length byte never exceeds 63 */
        }
        for (size_t k = 1; k <= b; k++) {
            if (fold(pkt[pos + k]) != fold(name[i + k])) {
                return false;
            }
        }
        if (b == 0) {
            return i + 1 == name_len;
        }
        pos += (size_t)b + 1;
        i += (size_t)b + 1;
    }
}

/* Moves the chain to the target of CNAME rr; false when it stays (unreadable target, a loop, or
 * DNSMSG_CHAIN_MAX links taken). */
static bool chain_follow(struct dnsmsg_chain *ch, struct chain_seen *seen,
                         const struct dnsmsg_rr *rr)
{
    uint8_t next[DNAME_WIRE_MAX];
    struct dnsmsg_cursor t;
    dnsmsg_cursor_init(&t, ch->pkt, (size_t)rr->rdata_off + rr->rdlen);
    t.pos = rr->rdata_off;
    size_t next_len = dnsmsg_cursor_read_name(&t, next);
    if (next_len == 0 || seen->count > DNSMSG_CHAIN_MAX || chain_has(seen, next, next_len)) {
        return false;
    }
    memcpy(seen->names[seen->count], next, next_len);
    seen->lens[seen->count++] = next_len;
    memcpy(ch->name, next, next_len);
    ch->name_len = next_len;
    return true;
}

/* One pass over the answer section for the current chain name. Returns 1 when a CNAME moved the
 * chain on and the scan starts again, 0 at its end, < 0 for an error or fn's stop. */
static int chain_pass(struct dnsmsg_chain *ch, struct chain_seen *seen)
{
    struct dnsmsg_cursor c;
    dnsmsg_cursor_init(&c, ch->pkt, ch->len);
    c.pos = ch->r->question_end;
    for (unsigned i = 0; i < ch->r->ancount; i++) {
        struct dnsmsg_rr rr;
        if (cursor_read_rr(&c, &rr, false) != 0) {
            return c.err;
        }
        if (rr.rclass != DNSMSG_CLASS_IN ||
            !name_equal_at(ch->pkt, ch->len, rr.owner_off, ch->name, ch->name_len)) {
            continue;
        }
        int rc = ch->fn(ch, &rr);
        if (rc != 0) {
            return rc;
        }
        /* A CNAME the chain cannot follow (a loop, the link limit, a bad target) leaves it at
         * this name: the pass goes on, so an address beside a self-loop is still found. */
        if (rr.type == DNSMSG_TYPE_CNAME && chain_follow(ch, seen, &rr) && ch->restart) {
            return 1;
        }
    }
    return 0;
}

int dnsmsg_chain_walk(struct dnsmsg_chain *ch, const uint8_t *qname, size_t qname_len)
{
    if (qname_len > DNAME_WIRE_MAX) {
        return ERR_MALFORMED;
    }
    struct chain_seen seen; /* not zero-initialised: its name arrays are ~3 KiB */
    memcpy(seen.names[0], qname, qname_len);
    seen.lens[0] = qname_len;
    seen.count = 1;
    memcpy(ch->name, qname, qname_len);
    ch->name_len = qname_len;
    int rc;
    do {
        rc = chain_pass(ch, &seen);
    } while (rc == 1);
    return rc;
}

/* What dnsmsg_chain_addrs collects. */
struct chain_addrs {
    uint16_t qtype;
    struct dnsmsg_addr *out;
    size_t cap;
    size_t count; /* addresses written to out */
};

static int on_chain_addr(const struct dnsmsg_chain *ch, const struct dnsmsg_rr *rr)
{
    struct chain_addrs *ca = ch->arg;
    size_t want = ca->qtype == DNSMSG_TYPE_A ? 4 : 16;
    if (rr->type != ca->qtype || rr->rdlen != want || ca->count >= ca->cap) {
        return 0;
    }
    struct dnsmsg_addr *a = &ca->out[ca->count++];
    a->len = (uint8_t)want;
    memcpy(a->addr, ch->pkt + rr->rdata_off, want);
    a->ttl_s = dnsmsg_ttl_norm(rr->ttl_s);
    return 0;
}

int dnsmsg_chain_addrs(const uint8_t *pkt, size_t len, const struct dnsmsg_reply *r,
                       const uint8_t *qname, size_t qname_len, uint16_t qtype,
                       struct dnsmsg_addr *out, size_t cap)
{
    if ((qtype != DNSMSG_TYPE_A && qtype != DNSMSG_TYPE_AAAA) || qname_len > DNAME_WIRE_MAX) {
        return 0;
    }
    struct chain_addrs ca = {.qtype = qtype, .out = out, .cap = cap};
    struct dnsmsg_chain ch = {
        .pkt = pkt, .len = len, .r = r, .restart = true, .fn = on_chain_addr, .arg = &ca};
    int rc = dnsmsg_chain_walk(&ch, qname, qname_len);
    return rc < 0 ? rc : (int)ca.count;
}

/* ---- TTLs ---- */

struct min_ttl {
    uint32_t ttl_s;
    bool found;
};

static int on_rr_min_ttl(const uint8_t *pkt, const struct dnsmsg_rr *rr, void *arg)
{
    struct min_ttl *m = arg;
    (void)pkt;
    uint32_t ttl_s = dnsmsg_ttl_norm(rr->ttl_s);
    if (rr->type != DNSMSG_TYPE_OPT && (!m->found || ttl_s < m->ttl_s)) {
        m->ttl_s = ttl_s;
        m->found = true;
    }
    return 0;
}

int dnsmsg_min_ttl(const uint8_t *pkt, size_t len, const struct dnsmsg_reply *r, uint32_t *ttl_s)
{
    struct min_ttl m = {0, false};
    int rc =
        walk_rrs(pkt, len, r->question_end, (unsigned)r->ancount + r->nscount, on_rr_min_ttl, &m);
    if (rc != 0) {
        return rc;
    }
    if (!m.found) {
        return ERR_NOT_FOUND;
    }
    *ttl_s = m.ttl_s;
    return 0;
}

/* SOA rdata: mname, rname, serial, refresh, retry, expire, minimum (RFC 1035 §3.3.13). */
static int on_rr_soa(const uint8_t *pkt, const struct dnsmsg_rr *rr, void *arg)
{
    if (rr->type != DNSMSG_TYPE_SOA) {
        return 0;
    }
    struct dnsmsg_cursor c;
    dnsmsg_cursor_init(&c, pkt, (size_t)rr->rdata_off + rr->rdlen);
    c.pos = rr->rdata_off;
    dnsmsg_cursor_skip_name(&c);
    dnsmsg_cursor_skip_name(&c);
    dnsmsg_cursor_skip(&c, 16);
    uint32_t minimum_s = dnsmsg_ttl_norm(dnsmsg_cursor_read_u32(&c));
    if (c.err != 0) {
        return ERR_MALFORMED;
    }
    uint32_t ttl_s = dnsmsg_ttl_norm(rr->ttl_s);
    *(uint32_t *)arg = minimum_s < ttl_s ? minimum_s : ttl_s;
    return 1;
}

int dnsmsg_neg_ttl(const uint8_t *pkt, size_t len, const struct dnsmsg_reply *r, uint32_t *ttl_s)
{
    int rc = walk_rrs(pkt, len, r->authority_off, r->nscount, on_rr_soa, ttl_s);
    if (rc < 0) {
        return rc;
    }
    return rc == 1 ? 0 : ERR_NOT_FOUND;
}

struct ttl_rewrite {
    uint8_t *pkt;
    uint32_t floor_s;
    uint32_t age_s;
    uint32_t max_ttl_s;
};

/* The TTL at ttl (4 bytes) floored, aged and capped in place. */
static void ttl_rewrite_at(const struct ttl_rewrite *t, uint8_t *ttl)
{
    uint32_t ttl_s = dnsmsg_ttl_norm(dnsmsg_get32(ttl));
    if (ttl_s < t->floor_s) {
        ttl_s = t->floor_s;
    }
    ttl_s = ttl_s > t->age_s ? ttl_s - t->age_s : 0;
    if (t->max_ttl_s != 0 && ttl_s > t->max_ttl_s) {
        ttl_s = t->max_ttl_s;
    }
    dnsmsg_put32(ttl, ttl_s);
}

static int on_rr_rewrite_ttl(const uint8_t *pkt, const struct dnsmsg_rr *rr, void *arg)
{
    const struct ttl_rewrite *t = arg;
    (void)pkt;
    if (rr->type != DNSMSG_TYPE_OPT) {
        ttl_rewrite_at(t, t->pkt + rr->ttl_off);
    }
    return 0;
}

int dnsmsg_rewrite_ttls(uint8_t *pkt, size_t len, const struct dnsmsg_reply *r, uint32_t age_s,
                        uint32_t max_ttl_s)
{
    return dnsmsg_rewrite_ttls_floor(pkt, len, r, 0, age_s, max_ttl_s);
}

int dnsmsg_rewrite_ttls_floor(uint8_t *pkt, size_t len, const struct dnsmsg_reply *r,
                              uint32_t floor_s, uint32_t age_s, uint32_t max_ttl_s)
{
    struct ttl_rewrite t = {pkt, floor_s, age_s, max_ttl_s};
    unsigned count = (unsigned)r->ancount + r->nscount + r->arcount;
    return walk_rrs_how(pkt, len, r->question_end, count, on_rr_rewrite_ttl, &t, false);
}

struct ttl_offsets {
    uint16_t *offs;
    size_t cap, count;
};

static int on_rr_ttl_offset(const uint8_t *pkt, const struct dnsmsg_rr *rr, void *arg)
{
    struct ttl_offsets *o = arg;
    (void)pkt;
    if (rr->type == DNSMSG_TYPE_OPT) {
        return 0;
    }
    if (o->count == o->cap) {
        return ERR_FULL;
    }
    o->offs[o->count++] = (uint16_t)rr->ttl_off;
    return 0;
}

int dnsmsg_ttl_offsets(const uint8_t *pkt, size_t len, const struct dnsmsg_reply *r, uint16_t *offs,
                       size_t cap)
{
    struct ttl_offsets o = {offs, cap, 0};
    unsigned count = (unsigned)r->ancount + r->nscount + r->arcount;
    int rc = walk_rrs_how(pkt, len, r->question_end, count, on_rr_ttl_offset, &o, false);
    return rc < 0 ? rc : (int)o.count;
}

void dnsmsg_rewrite_ttls_at(uint8_t *pkt, const uint16_t *offs, size_t count, uint32_t floor_s,
                            uint32_t age_s, uint32_t max_ttl_s)
{
    struct ttl_rewrite t = {pkt, floor_s, age_s, max_ttl_s};
    for (size_t i = 0; i < count; i++) {
        ttl_rewrite_at(&t, pkt + offs[i]);
    }
}

/* ---- EDNS and truncation on replies ---- */

struct opt_index {
    uint16_t opt_off;
    unsigned index;
};

static int on_rr_find_opt(const uint8_t *pkt, const struct dnsmsg_rr *rr, void *arg)
{
    struct opt_index *o = arg;
    (void)pkt;
    if (rr->owner_off == o->opt_off) {
        return 1;
    }
    o->index++;
    return 0;
}

/* Removes the OPT and every additional record after it: shifting later records would break
 * compression pointers between them, and additional data may be dropped (RFC 2181 §9). */
static int reply_strip_opt(uint8_t *pkt, size_t len, struct dnsmsg_reply *r)
{
    struct opt_index o = {r->edns.opt_off, 0};
    int rc = walk_rrs(pkt, len, r->additional_off, r->arcount, on_rr_find_opt, &o);
    if (rc != 1) {
        return rc < 0 ? rc : ERR_MISMATCH;
    }
    if (r->edns.ext_rcode != 0) {
        dnsmsg_set_rcode(pkt, DNSMSG_RCODE_SERVFAIL); /* not expressible without OPT */
        r->flags = dnsmsg_get_flags(pkt);
        r->rcode = DNSMSG_RCODE_SERVFAIL;
    }
    size_t new_len = r->edns.opt_off;
    r->arcount = (uint16_t)o.index;
    dnsmsg_put16(pkt + 10, r->arcount);
    memset(&r->edns, 0, sizeof(r->edns));
    r->len = (uint16_t)new_len;
    return (int)new_len;
}

int dnsmsg_reply_set_edns(uint8_t *pkt, size_t len, size_t cap, struct dnsmsg_reply *r,
                          const struct dnsmsg_edns *client, uint16_t udp_size)
{
    if (len != r->len || len < DNSMSG_HEADER_LEN) {
        return ERR_MISMATCH;
    }
    if (!client->present) {
        return r->edns.present ? reply_strip_opt(pkt, len, r) : (int)len;
    }
    if (r->edns.present) {
        dnsmsg_put16(pkt + r->edns.opt_off + 3, udp_size);
        r->edns.udp_size = udp_size;
        return (int)len;
    }
    if (cap < len + DNSMSG_OPT_FIXED_LEN || len + DNSMSG_OPT_FIXED_LEN > UINT16_MAX ||
        r->arcount == UINT16_MAX) {
        return ERR_FULL;
    }
    dnsmsg_opt_write(pkt + len, udp_size, 0, false, 0);
    r->arcount++;
    dnsmsg_put16(pkt + 10, r->arcount);
    r->edns = (struct dnsmsg_edns){.present = true,
                                   .udp_size = udp_size,
                                   .opt_off = (uint16_t)len,
                                   .opt_len = DNSMSG_OPT_FIXED_LEN,
                                   .options_off = (uint16_t)(len + DNSMSG_OPT_FIXED_LEN)};
    r->len = (uint16_t)(len + DNSMSG_OPT_FIXED_LEN);
    return (int)r->len;
}

int dnsmsg_reply_add_ede(uint8_t *pkt, size_t len, size_t cap, struct dnsmsg_reply *r,
                         uint16_t info_code)
{
    enum { EDE_OPTION = 15, EDE_LEN = 6 };
    if (len != r->len || !r->edns.present) {
        return ERR_MISMATCH;
    }
    size_t end = (size_t)r->edns.opt_off + r->edns.opt_len;
    if (len + EDE_LEN > cap || len + EDE_LEN > UINT16_MAX || end > len ||
        r->edns.options_len + EDE_LEN > UINT16_MAX) {
        return ERR_FULL;
    }
    memmove(pkt + end + EDE_LEN, pkt + end, len - end);
    dnsmsg_put16(pkt + end, EDE_OPTION);
    dnsmsg_put16(pkt + end + 2, 2);
    dnsmsg_put16(pkt + end + 4, info_code);
    r->edns.opt_len = (uint16_t)(r->edns.opt_len + EDE_LEN);
    r->edns.options_len = (uint16_t)(r->edns.options_len + EDE_LEN);
    dnsmsg_put16(pkt + r->edns.opt_off + 9, r->edns.options_len);
    r->len = (uint16_t)(len + EDE_LEN);
    return (int)r->len;
}

int dnsmsg_reply_truncate(uint8_t *pkt, size_t len, struct dnsmsg_reply *r, size_t limit)
{
    if (len <= limit) {
        return (int)len;
    }
    size_t keep = r->question_end;
    if (keep > limit) {
        keep = DNSMSG_HEADER_LEN; /* cannot happen for one question and limit >= 512 */
        r->qdcount = 0;
    }
    bool opt = r->edns.present && keep + DNSMSG_OPT_FIXED_LEN <= limit;
    if (opt) {
        size_t opt_len = keep + r->edns.opt_len <= limit ? r->edns.opt_len : DNSMSG_OPT_FIXED_LEN;
        memmove(pkt + keep, pkt + r->edns.opt_off, opt_len);
        dnsmsg_put16(pkt + keep + 9, (uint16_t)(opt_len - DNSMSG_OPT_FIXED_LEN));
        r->edns.opt_off = (uint16_t)keep;
        r->edns.options_off = (uint16_t)(keep + DNSMSG_OPT_FIXED_LEN);
        r->edns.opt_len = (uint16_t)opt_len;
        r->edns.options_len = (uint16_t)(opt_len - DNSMSG_OPT_FIXED_LEN);
        keep += opt_len;
    } else {
        memset(&r->edns, 0, sizeof(r->edns));
    }
    r->ancount = r->nscount = 0;
    r->arcount = opt ? 1 : 0;
    r->question_end = r->authority_off = r->additional_off = (uint16_t)(keep - r->edns.opt_len);
    dnsmsg_put16(pkt + 4, r->qdcount);
    dnsmsg_put16(pkt + 6, 0);
    dnsmsg_put16(pkt + 8, 0);
    dnsmsg_put16(pkt + 10, r->arcount);
    dnsmsg_set_flags(pkt, DNSMSG_FLAG_TC, 0);
    r->flags = dnsmsg_get_flags(pkt);
    r->tc = true;
    r->len = (uint16_t)keep;
    return (int)keep;
}

/* ---- Header accessors ---- */

bool dnsmsg_peek_query(const uint8_t *pkt, size_t len, struct dnsmsg_query_peek *out)
{
    if (len < DNSMSG_HEADER_LEN + 5 || (pkt[2] & 0x80) != 0 || dnsmsg_get16(pkt + 4) != 1) {
        return false;
    }
    size_t p = DNSMSG_HEADER_LEN;
    while (p < len && pkt[p] != 0) {
        if (pkt[p] > 63) {
            return false; /* a compression pointer or a bad label type */
        }
        p += 1u + pkt[p];
    }
    out->qname_len = p + 1 - DNSMSG_HEADER_LEN;
    if (p + 5 > len || out->qname_len > DNAME_WIRE_MAX) {
        return false;
    }
    out->qtype = dnsmsg_get16(pkt + p + 1);
    out->qclass = dnsmsg_get16(pkt + p + 3);
    out->flags = dnsmsg_get16(pkt + 2);
    p += 5;
    /* OPT (RFC 6891 section 6.1.2): root owner, type 41, class, then the TTL field's extended
     * rcode and version bytes, then the flags whose top bit is DO. */
    out->do_bit = dnsmsg_get16(pkt + 10) == 1 && p + 11 <= len && pkt[p] == 0 &&
                  dnsmsg_get16(pkt + p + 1) == DNSMSG_TYPE_OPT && (pkt[p + 7] & 0x80) != 0;
    return true;
}

uint16_t dnsmsg_get_id(const uint8_t *pkt)
{
    return dnsmsg_get16(pkt);
}

void dnsmsg_set_id(uint8_t *pkt, uint16_t id)
{
    dnsmsg_put16(pkt, id);
}

uint16_t dnsmsg_get_flags(const uint8_t *pkt)
{
    return dnsmsg_get16(pkt + 2);
}

void dnsmsg_set_flags(uint8_t *pkt, uint16_t set, uint16_t clear)
{
    dnsmsg_put16(pkt + 2, (uint16_t)((dnsmsg_get_flags(pkt) | set) & ~clear));
}

void dnsmsg_set_rcode(uint8_t *pkt, uint8_t rcode)
{
    pkt[3] = (uint8_t)((pkt[3] & 0xf0) | (rcode & 0x0f));
}
