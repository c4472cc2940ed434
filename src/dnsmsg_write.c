/* dnsmsg_write.c - building DNS messages: local answers to a parsed query (REFUSED, NXDOMAIN,
 * address= literals, ...), queries and replies for tests and the fake upstream, and type names
 * for logs. The parsing half of the module is dnsmsg.c; both share dnsmsg_impl.h. */
#include "dnsroute/dnsmsg.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dnsroute/err.h"
#include "dnsmsg_impl.h"

/* ---- Builder ---- */

static void builder_fail(struct dnsmsg_builder *b, int err)
{
    if (b->err == 0) {
        b->err = err;
    }
}

/* Reserves n bytes and returns where to write them, or NULL (ERR_FULL) when they do not fit. */
static uint8_t *builder_reserve(struct dnsmsg_builder *b, size_t n)
{
    if (b->err != 0) {
        return NULL;
    }
    if (b->cap - b->len < n || b->len + n > UINT16_MAX) {
        builder_fail(b, ERR_FULL);
        return NULL;
    }
    uint8_t *p = b->buf + b->len;
    b->len += n;
    return p;
}

static void builder_put(struct dnsmsg_builder *b, const void *data, size_t n)
{
    uint8_t *p = builder_reserve(b, n);
    if (p != NULL && n != 0) {
        memcpy(p, data, n);
    }
}

static void builder_u16(struct dnsmsg_builder *b, uint16_t v)
{
    uint8_t *p = builder_reserve(b, 2);
    if (p != NULL) {
        dnsmsg_put16(p, v);
    }
}

static void builder_u32(struct dnsmsg_builder *b, uint32_t v)
{
    uint8_t *p = builder_reserve(b, 4);
    if (p != NULL) {
        dnsmsg_put32(p, v);
    }
}

/* Header with all counts 0, then the question when qname is not NULL. */
static void builder_start(struct dnsmsg_builder *b, uint8_t *buf, size_t cap, uint16_t id,
                          uint16_t flags, const struct dnsmsg_query *q)
{
    *b = (struct dnsmsg_builder){.buf = buf, .cap = cap, .section = DNSMSG_SECTION_ANSWER};
    uint8_t *p = builder_reserve(b, DNSMSG_HEADER_LEN);
    if (p == NULL) {
        return;
    }
    memset(p, 0, DNSMSG_HEADER_LEN);
    dnsmsg_put16(p, id);
    dnsmsg_put16(p + 2, flags);
    if (q != NULL && q->has_question) {
        dnsmsg_put16(p + 4, 1);
        builder_put(b, q->qname, q->qname_len);
        builder_u16(b, q->qtype);
        builder_u16(b, q->qclass);
    }
}

/* Flags of any reply to q (dnsmasq setup_reply): QR and RA, the client's opcode, RD and CD. */
static uint16_t reply_flags(const struct dnsmsg_query *q, uint8_t rcode, uint16_t set)
{
    uint16_t keep = DNSMSG_FLAG_OPCODE_MASK | DNSMSG_FLAG_RD | DNSMSG_FLAG_CD;
    return (uint16_t)(DNSMSG_FLAG_QR | DNSMSG_FLAG_RA | (q->flags & keep) | set | (rcode & 0x0f));
}

void dnsmsg_builder_init_reply(struct dnsmsg_builder *b, uint8_t *buf, size_t cap,
                               const struct dnsmsg_query *q, uint8_t rcode, uint16_t flags_set)
{
    builder_start(b, buf, cap, q->id, reply_flags(q, rcode, flags_set), q);
}

/* Moves to section and counts one more record in it. */
static bool builder_enter(struct dnsmsg_builder *b, enum dnsmsg_section section)
{
    if (b->err != 0) {
        return false;
    }
    if ((int)section < b->section || section > DNSMSG_SECTION_ADDITIONAL) {
        builder_fail(b, ERR_MALFORMED);
        return false;
    }
    uint8_t *count = b->buf + 6 + 2 * (size_t)section;
    if (dnsmsg_get16(count) == UINT16_MAX) {
        builder_fail(b, ERR_FULL);
        return false;
    }
    b->section = (int)section;
    dnsmsg_put16(count, (uint16_t)(dnsmsg_get16(count) + 1));
    return true;
}

/* Owner name: uncompressed wire, or a pointer to the question name when owner is NULL. */
static void builder_owner(struct dnsmsg_builder *b, const uint8_t *owner, size_t owner_len)
{
    if (owner == NULL) {
        if (dnsmsg_get16(b->buf + 4) == 0) {
            builder_fail(b, ERR_MALFORMED);
        }
        builder_u16(b, 0xc000 | DNSMSG_HEADER_LEN);
        return;
    }
    if (!dnsmsg_name_is_valid(owner, owner_len)) {
        builder_fail(b, ERR_MALFORMED);
        return;
    }
    builder_put(b, owner, owner_len);
}

/* Writes the fixed part of an RR and returns the offset of its rdlength, or 0 on failure. */
static size_t builder_rr_head_class(struct dnsmsg_builder *b, enum dnsmsg_section section,
                                    const uint8_t *owner, size_t owner_len, uint16_t type,
                                    uint16_t rclass, uint32_t ttl_s)
{
    size_t start = b->len;
    if (!builder_enter(b, section)) {
        return 0;
    }
    builder_owner(b, owner, owner_len);
    builder_u16(b, type);
    builder_u16(b, rclass);
    builder_u32(b, ttl_s);
    builder_u16(b, 0);
    if (b->err != 0) {
        b->len = start;
        return 0;
    }
    return b->len - 2;
}

static size_t builder_rr_head(struct dnsmsg_builder *b, enum dnsmsg_section section,
                              const uint8_t *owner, size_t owner_len, uint16_t type, uint32_t ttl_s)
{
    return builder_rr_head_class(b, section, owner, owner_len, type, DNSMSG_CLASS_IN, ttl_s);
}

/* Patches the rdlength at rdlen_off now that the rdata ends at b->len. */
static void builder_rr_end(struct dnsmsg_builder *b, size_t rdlen_off)
{
    if (b->err == 0) {
        dnsmsg_put16(b->buf + rdlen_off, (uint16_t)(b->len - rdlen_off - 2));
    }
}

void dnsmsg_builder_add_rr(struct dnsmsg_builder *b, enum dnsmsg_section section,
                           const uint8_t *owner, size_t owner_len, uint16_t type, uint32_t ttl_s,
                           const uint8_t *rdata, size_t rdlen)
{
    dnsmsg_builder_add_rr_class(b, section, owner, owner_len, type, DNSMSG_CLASS_IN, ttl_s, rdata,
                                rdlen);
}

void dnsmsg_builder_add_rr_class(struct dnsmsg_builder *b, enum dnsmsg_section section,
                                 const uint8_t *owner, size_t owner_len, uint16_t type,
                                 uint16_t rclass, uint32_t ttl_s, const uint8_t *rdata,
                                 size_t rdlen)
{
    if (rdlen > UINT16_MAX) {
        builder_fail(b, ERR_FULL);
        return;
    }
    size_t rdlen_off = builder_rr_head_class(b, section, owner, owner_len, type, rclass, ttl_s);
    if (rdlen_off != 0) {
        builder_put(b, rdata, rdlen);
        builder_rr_end(b, rdlen_off);
    }
}

void dnsmsg_builder_add_addr(struct dnsmsg_builder *b, enum dnsmsg_section section,
                             const uint8_t *owner, size_t owner_len, uint32_t ttl_s,
                             const uint8_t *addr, size_t addr_len)
{
    if (addr_len != 4 && addr_len != 16) {
        builder_fail(b, ERR_MALFORMED);
        return;
    }
    uint16_t type = addr_len == 4 ? DNSMSG_TYPE_A : DNSMSG_TYPE_AAAA;
    dnsmsg_builder_add_rr(b, section, owner, owner_len, type, ttl_s, addr, addr_len);
}

void dnsmsg_builder_add_cname(struct dnsmsg_builder *b, const uint8_t *owner, size_t owner_len,
                              uint32_t ttl_s, const uint8_t *target, size_t target_len)
{
    if (!dnsmsg_name_is_valid(target, target_len)) {
        builder_fail(b, ERR_MALFORMED);
        return;
    }
    dnsmsg_builder_add_rr(b, DNSMSG_SECTION_ANSWER, owner, owner_len, DNSMSG_TYPE_CNAME, ttl_s,
                          target, target_len);
}

void dnsmsg_builder_add_soa(struct dnsmsg_builder *b, const uint8_t *owner, size_t owner_len,
                            uint32_t ttl_s, uint32_t minimum_s)
{
    /* mname "ns.<zone>" and rname "host.<zone>", the zone as a pointer to the owner. */
    uint16_t zone_off = (uint16_t)(owner == NULL ? DNSMSG_HEADER_LEN : b->len);
    size_t rdlen_off =
        builder_rr_head(b, DNSMSG_SECTION_AUTHORITY, owner, owner_len, DNSMSG_TYPE_SOA, ttl_s);
    if (rdlen_off == 0) {
        return;
    }
    if (zone_off > 0x3fff) {
        builder_fail(b, ERR_FULL);
        return;
    }
    static const uint8_t ns[] = {2, 'n', 's'}, host[] = {4, 'h', 'o', 's', 't'};
    builder_put(b, ns, sizeof(ns));
    builder_u16(b, (uint16_t)(0xc000 | zone_off));
    builder_put(b, host, sizeof(host));
    builder_u16(b, (uint16_t)(0xc000 | zone_off));
    static const uint32_t fixed[] = {1, 3600, 600, 86400}; /* serial, refresh, retry, expire */
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        builder_u32(b, fixed[i]);
    }
    builder_u32(b, minimum_s);
    builder_rr_end(b, rdlen_off);
}

void dnsmsg_builder_add_txt(struct dnsmsg_builder *b, enum dnsmsg_section section,
                            const uint8_t *owner, size_t owner_len, uint32_t ttl_s,
                            const char *text, size_t len)
{
    if (len > 255) {
        builder_fail(b, ERR_MALFORMED);
        return;
    }
    size_t rdlen_off = builder_rr_head(b, section, owner, owner_len, DNSMSG_TYPE_TXT, ttl_s);
    if (rdlen_off == 0) {
        return;
    }
    uint8_t n = (uint8_t)len;
    builder_put(b, &n, 1);
    builder_put(b, text, len);
    builder_rr_end(b, rdlen_off);
}

/* OPT with an extended rcode: shared by the public builder call and local answers. */
static void builder_opt(struct dnsmsg_builder *b, uint16_t udp_size, uint8_t ext_rcode, bool do_bit)
{
    if (!builder_enter(b, DNSMSG_SECTION_ADDITIONAL)) {
        return;
    }
    uint8_t *p = builder_reserve(b, DNSMSG_OPT_FIXED_LEN);
    if (p != NULL) {
        dnsmsg_opt_write(p, udp_size, ext_rcode, do_bit, 0);
    } else {
        dnsmsg_put16(b->buf + 10, (uint16_t)(dnsmsg_get16(b->buf + 10) - 1));
    }
}

void dnsmsg_builder_add_opt(struct dnsmsg_builder *b, uint16_t udp_size, bool do_bit)
{
    builder_opt(b, udp_size, 0, do_bit);
}

int dnsmsg_builder_finish(const struct dnsmsg_builder *b)
{
    return b->err != 0 ? b->err : (int)b->len;
}

/* ---- Local answers ---- */

int dnsmsg_write_local(uint8_t *buf, size_t cap, const struct dnsmsg_query *q,
                       const struct dnsmsg_local *a)
{
    size_t addr_len = a->addr_type == DNSMSG_TYPE_A ? 4 : 16;
    if (a->addr_count != 0 && a->addr_type != DNSMSG_TYPE_A && a->addr_type != DNSMSG_TYPE_AAAA) {
        return ERR_MALFORMED;
    }
    size_t limit = cap;
    if (a->udp_limit != 0 && a->udp_limit < limit) {
        limit = a->udp_limit;
    }
    uint16_t flags = reply_flags(q, a->rcode, a->aa ? DNSMSG_FLAG_AA : 0);
    struct dnsmsg_builder b;
    builder_start(&b, buf, cap, q->id, flags, q);
    size_t count = q->has_question ? a->addr_count : 0;
    size_t count6 = q->has_question ? a->aaaa_after_count : 0;
    size_t room = b.len + (q->edns.present ? DNSMSG_OPT_FIXED_LEN : 0);
    size_t need = count * (12 + addr_len) + count6 * (12 + 16);
    if (b.err == 0 && need != 0 && (room > limit || need > limit - room)) {
        dnsmsg_set_flags(buf, DNSMSG_FLAG_TC, 0); /* dnsmasq: TC set, answer section empty */
        count = count6 = 0;
    }
    for (size_t i = 0; i < count; i++) {
        dnsmsg_builder_add_rr(&b, DNSMSG_SECTION_ANSWER, NULL, 0, a->addr_type, a->ttl_s,
                              a->addrs + i * addr_len, addr_len);
    }
    for (size_t i = 0; i < count6; i++) {
        dnsmsg_builder_add_rr(&b, DNSMSG_SECTION_ANSWER, NULL, 0, DNSMSG_TYPE_AAAA, a->ttl_s,
                              a->aaaa_after + i * 16, 16);
    }
    if (q->edns.present) {
        builder_opt(&b, a->edns_size, (uint8_t)(a->rcode >> 4), q->edns.do_bit);
    }
    return dnsmsg_builder_finish(&b);
}

int dnsmsg_write_rcode(uint8_t *buf, size_t cap, const struct dnsmsg_query *q, uint8_t rcode,
                       uint16_t edns_size)
{
    struct dnsmsg_local a = {.rcode = rcode, .edns_size = edns_size};
    return dnsmsg_write_local(buf, cap, q, &a);
}

int dnsmsg_write_query(uint8_t *buf, size_t cap, uint16_t id, const uint8_t *qname,
                       size_t qname_len, uint16_t qtype, uint16_t qclass, bool rd,
                       uint16_t edns_size, bool do_bit)
{
    if (!dnsmsg_name_is_valid(qname, qname_len)) {
        return ERR_MALFORMED;
    }
    struct dnsmsg_query q = {
        .has_question = true, .qname_len = (uint16_t)qname_len, .qtype = qtype, .qclass = qclass};
    memcpy(q.qname, qname, qname_len);
    struct dnsmsg_builder b;
    builder_start(&b, buf, cap, id, rd ? DNSMSG_FLAG_RD : 0, &q);
    if (edns_size != 0) {
        builder_opt(&b, edns_size, 0, do_bit);
    }
    return dnsmsg_builder_finish(&b);
}

/* ---- Type names ---- */

static const struct {
    uint16_t type;
    const char *name;
} type_names[] = {
    {DNSMSG_TYPE_A, "A"},     {DNSMSG_TYPE_NS, "NS"},     {DNSMSG_TYPE_CNAME, "CNAME"},
    {DNSMSG_TYPE_SOA, "SOA"}, {DNSMSG_TYPE_PTR, "PTR"},   {DNSMSG_TYPE_MX, "MX"},
    {DNSMSG_TYPE_TXT, "TXT"}, {DNSMSG_TYPE_AAAA, "AAAA"}, {DNSMSG_TYPE_SRV, "SRV"},
    {DNSMSG_TYPE_OPT, "OPT"}, {DNSMSG_TYPE_SVCB, "SVCB"}, {DNSMSG_TYPE_HTTPS, "HTTPS"},
    {DNSMSG_TYPE_ANY, "ANY"},
};

const char *dnsmsg_type_name(uint16_t type, char *buf)
{
    for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
        if (type_names[i].type == type) {
            return type_names[i].name;
        }
    }
    (void)snprintf(buf, DNSMSG_TYPE_NAME_MAX, "TYPE%u", (unsigned)type);
    return buf;
}

/* Decimal 1..65535 without sign, spaces or leading zeros beyond one digit's worth. */
static int parse_type_number(const char *text, size_t len)
{
    if (len == 0 || len > 5) {
        return ERR_PARSE;
    }
    unsigned long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9') {
            return ERR_PARSE;
        }
        v = v * 10 + (unsigned long)(text[i] - '0');
    }
    return v >= 1 && v <= UINT16_MAX ? (int)v : ERR_PARSE;
}

int dnsmsg_type_parse(const char *text, size_t len)
{
    for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
        const char *name = type_names[i].name;
        if (strlen(name) == len && strncasecmp(name, text, len) == 0) {
            return type_names[i].type;
        }
    }
    if (len > 4 && strncasecmp(text, "TYPE", 4) == 0) {
        return parse_type_number(text + 4, len - 4);
    }
    return parse_type_number(text, len);
}
