/* fake_upstream_dns.c - the pure half of the fake upstream: scenario file parsing and matching,
 * DNS wire decoding of queries, and building replies (CNAME chains, negative answers with SOA,
 * truncation, EDNS echo, deliberate faults). No sockets here; fake_upstream.c does the I/O. */
#include "fake_upstream.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- type names ---- */

static const struct {
    const char *name;
    int type;
} type_table[] = {
    {"A", 1},       {"NS", 2},    {"CNAME", 5},  {"SOA", 6},   {"PTR", 12}, {"MX", 15},
    {"TXT", 16},    {"AAAA", 28}, {"SRV", 33},   {"OPT", 41},  {"DS", 43},  {"RRSIG", 46},
    {"DNSKEY", 48}, {"SVCB", 64}, {"HTTPS", 65}, {"ANY", 255},
};

int fu_type_parse(const char *s)
{
    for (size_t i = 0; i < sizeof(type_table) / sizeof(type_table[0]); i++)
        if (strcasecmp(s, type_table[i].name) == 0)
            return type_table[i].type;
    if (strncasecmp(s, "TYPE", 4) == 0 && s[4] != '\0') {
        char *end;
        long v = strtol(s + 4, &end, 10);
        if (*end == '\0' && v >= 0 && v <= 65535)
            return (int)v;
    }
    return -1;
}

void fu_type_format(int type, char *buf, size_t size)
{
    for (size_t i = 0; i < sizeof(type_table) / sizeof(type_table[0]); i++) {
        if (type_table[i].type == type) {
            (void)snprintf(buf, size, "%s", type_table[i].name);
            return;
        }
    }
    (void)snprintf(buf, size, "TYPE%d", type);
}

/* ---- wire helpers ---- */

uint16_t fu_get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static void out_put(struct fu_out *o, const void *data, size_t len)
{
    if (o->len + len > FU_MAX_MSG) {
        o->overflow = true;
        return;
    }
    memcpy(o->buf + o->len, data, len);
    o->len += len;
}

static void out_u16(struct fu_out *o, unsigned v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    out_put(o, b, 2);
}

static void out_u32(struct fu_out *o, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    out_put(o, b, 4);
}

static void out_set16(struct fu_out *o, size_t off, unsigned v)
{
    o->buf[off] = (uint8_t)(v >> 8);
    o->buf[off + 1] = (uint8_t)v;
}

/* Writes a presentation name ("a.b.c", trailing dot optional, \. and \DDD escapes) as wire. */
static void out_name(struct fu_out *o, const char *text)
{
    uint8_t label[64];
    size_t n = 0, total = 0;
    const char *p = text;
    if (strcmp(p, ".") == 0)
        p = "";
    for (;;) {
        char c = *p;
        if (c == '.' || c == '\0') {
            if (n > 0) {
                uint8_t len = (uint8_t)n;
                out_put(o, &len, 1);
                out_put(o, label, n);
                total += n + 1;
            }
            n = 0;
            if (c == '\0' || p[1] == '\0')
                break;
            p++;
            continue;
        }
        if (c == '\\' && isdigit((unsigned char)p[1]) && isdigit((unsigned char)p[2]) &&
            isdigit((unsigned char)p[3])) {
            c = (char)((p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0'));
            p += 3;
        } else if (c == '\\' && p[1] != '\0') {
            c = *++p;
        }
        if (n < 63)
            label[n++] = (uint8_t)c;
        p++;
    }
    if (total > 254)
        o->overflow = true;
    out_put(o, "", 1);
}

/* Reads an uncompressed or compressed name at *off; text gets the escaped presentation form
 * with a trailing dot. Returns false on any malformation (bounded pointer chain). */
static bool name_read(const uint8_t *msg, size_t len, size_t *off, char *text, size_t size)
{
    size_t pos = *off, out = 0, wire_len = 0;
    bool jumped = false;
    int hops = 0;
    for (;;) {
        if (pos >= len)
            return false;
        uint8_t l = msg[pos];
        if ((l & 0xC0) == 0xC0) {
            if (pos + 1 >= len || ++hops > 16)
                return false;
            size_t ptr = ((size_t)(l & 0x3F) << 8) | msg[pos + 1];
            if (ptr >= pos)
                return false;
            if (!jumped)
                *off = pos + 2;
            jumped = true;
            pos = ptr;
            continue;
        }
        if (l & 0xC0)
            return false;
        if (l == 0) {
            if (!jumped)
                *off = pos + 1;
            break;
        }
        if (pos + 1 + l > len || (wire_len += l + 1u) > 255)
            return false;
        for (size_t i = 0; i < l; i++) {
            unsigned char c = msg[pos + 1 + i];
            char tmp[8];
            if (c == '.' || c == '\\')
                (void)snprintf(tmp, sizeof(tmp), "\\%c", c);
            else if (c <= ' ' || c >= 0x7F)
                (void)snprintf(tmp, sizeof(tmp), "\\%03u", c);
            else
                (void)snprintf(tmp, sizeof(tmp), "%c", c);
            size_t tl = strlen(tmp);
            if (out + tl + 2 > size)
                return false;
            memcpy(text + out, tmp, tl);
            out += tl;
        }
        text[out++] = '.';
        pos += 1 + l;
    }
    if (out == 0)
        text[out++] = '.';
    text[out] = '\0';
    return true;
}

static bool rr_skip(const uint8_t *msg, size_t len, size_t *off, uint16_t *type, uint16_t *cls,
                    uint32_t *ttl)
{
    char tmp[FU_TEXT_MAX];
    if (!name_read(msg, len, off, tmp, sizeof(tmp)) || *off + 10 > len)
        return false;
    *type = fu_get16(msg + *off);
    *cls = fu_get16(msg + *off + 2);
    *ttl = ((uint32_t)fu_get16(msg + *off + 4) << 16) | fu_get16(msg + *off + 6);
    size_t rdlen = fu_get16(msg + *off + 8);
    *off += 10;
    if (*off + rdlen > len)
        return false;
    *off += rdlen;
    return true;
}

/* Parses header, question and OPT. Returns 0, or an rcode (1 FORMERR) to answer with. */
int fu_query_parse(struct fu_query *q, const uint8_t *msg, size_t len)
{
    q->msg = msg;
    q->len = len;
    q->id = fu_get16(msg);
    q->flags_hi = msg[2];
    q->flags_lo = msg[3];
    if (fu_get16(msg + 4) != 1)
        return 1;
    size_t off = 12;
    if (!name_read(msg, len, &off, q->qname, sizeof(q->qname)) || off + 4 > len)
        return 1;
    q->qname_end = off;
    q->qtype = fu_get16(msg + off);
    q->qclass = fu_get16(msg + off + 2);
    q->q_end = off + 4;
    size_t i = 0;
    for (; q->qname[i] != '\0'; i++)
        q->key[i] = (char)tolower((unsigned char)q->qname[i]);
    q->key[i] = '\0';
    if (i > 0 && q->key[i - 1] == '.')
        q->key[i - 1] = '\0';
    off = q->q_end;
    unsigned rrs = (unsigned)fu_get16(msg + 6) + fu_get16(msg + 8) + fu_get16(msg + 10);
    unsigned ar_start = (unsigned)fu_get16(msg + 6) + fu_get16(msg + 8);
    for (unsigned r = 0; r < rrs; r++) {
        uint16_t type, cls;
        uint32_t ttl;
        if (!rr_skip(msg, len, &off, &type, &cls, &ttl))
            return 1;
        if (r >= ar_start && type == 41) {
            q->has_edns = true;
            q->edns_size = cls;
            q->edns_version = (uint8_t)(ttl >> 16);
            q->do_bit = (ttl & 0x8000) != 0;
        }
    }
    return 0;
}

/* ---- scenario ---- */

static void lower_name(char *dst, const char *src, size_t size)
{
    size_t i = 0;
    for (; src[i] != '\0' && i + 1 < size; i++)
        dst[i] = (char)tolower((unsigned char)src[i]);
    dst[i] = '\0';
    if (i > 0 && dst[i - 1] == '.')
        dst[i - 1] = '\0';
}

static int sc_error(const char *path, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int sc_error(const char *path, int line, const char *fmt, ...)
{
    va_list ap;
    (void)fprintf(stderr, "fake_upstream: %s:%d: ", path, line);
    va_start(ap, fmt);
    (void)vfprintf(stderr, fmt, ap);
    va_end(ap);
    (void)fputc('\n', stderr);
    return -1;
}

bool fu_parse_uint(const char *s, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 0 || v > max)
        return false;
    *out = v;
    return true;
}

static const struct {
    const char *name;
    enum fu_action act;
    int rcode;
} action_table[] = {
    {"a", ACT_A, 0},
    {"aaaa", ACT_AAAA, 0},
    {"cname", ACT_CNAME, 0},
    {"nxdomain", ACT_NXDOMAIN, 3},
    {"nodata", ACT_NODATA, 0},
    {"servfail", ACT_RCODE, 2},
    {"refused", ACT_RCODE, 5},
    {"formerr", ACT_RCODE, 1},
    {"notimp", ACT_RCODE, 4},
    {"drop", ACT_DROP, 0},
    {"close", ACT_CLOSE, 0},
    {"tc", ACT_NONE, 0},
    {"garbage", ACT_GARBAGE, 0},
};

static bool rule_add_addrs(struct fu_rule *r, const char *list)
{
    char buf[2048];
    (void)snprintf(buf, sizeof(buf), "%s", list);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (r->count >= FU_MAX_ADDRS)
            return false;
        int af = r->act == ACT_A ? AF_INET : AF_INET6;
        if (inet_pton(af, t, r->addr[r->count]) != 1)
            return false;
        r->count++;
    }
    return true;
}

/* One "key=value" modifier or bare flag. */
static int rule_modifier(struct fu_rule *r, const char *tok, const char *path, int line)
{
    long v;
    const char *eq = strchr(tok, '=');
    const char *val = eq ? eq + 1 : "";
    size_t klen = eq ? (size_t)(eq - tok) : strlen(tok);
#define KEY(k) (klen == strlen(k) && strncmp(tok, k, klen) == 0)
    if (KEY("ttl") && fu_parse_uint(val, 0x7FFFFFFF, &v))
        r->ttl_s = (uint32_t)v;
    else if (KEY("min") && fu_parse_uint(val, 0x7FFFFFFF, &v))
        r->min_s = (uint32_t)v;
    else if (KEY("delay") && fu_parse_uint(val, 60000, &v))
        r->delay_ms = (int)v;
    else if (KEY("times") && fu_parse_uint(val, 1L << 30, &v))
        r->times = v;
    else if (KEY("zone") && *val != '\0')
        (void)snprintf(r->zone, sizeof(r->zone), "%s", val);
    else if (KEY("edns") && strcmp(val, "none") == 0)
        r->edns = EDNS_NONE;
    else if (KEY("edns") && fu_parse_uint(val, 65535, &v))
        r->edns = (int)v;
    else if (KEY("proto") && (strcmp(val, "udp") == 0 || strcmp(val, "tcp") == 0))
        r->proto = val[0] == 'u' ? PROTO_UDP : PROTO_TCP;
    else if (KEY("when") && (strcmp(val, "edns") == 0 || strcmp(val, "noedns") == 0))
        r->when = val[0] == 'e' ? WHEN_EDNS : WHEN_NOEDNS;
    else if (KEY("tc") && !eq)
        r->tc = true;
    else if (KEY("wrongid") && !eq)
        r->wrongid = true;
    else if (KEY("wrongq") && !eq)
        r->wrongq = true;
    else if (KEY("wrongcase") && !eq)
        r->wrongcase = true;
    else if (KEY("fromport") && !eq)
        r->fromport = true;
    else if (KEY("aa") && !eq)
        r->aa = true;
    else if (KEY("nora") && !eq)
        r->nora = true;
    else if (KEY("ad") && !eq)
        r->ad = true;
    else if (KEY("notrunc") && !eq)
        r->notrunc = true;
    else if (KEY("tckeep") && !eq)
        r->tckeep = true;
    else if (KEY("setrcode") && fu_parse_uint(val, 15, &v))
        r->set_rcode = (int)v;
    else if ((r->act == ACT_A || r->act == ACT_AAAA) && !eq && rule_add_addrs(r, tok))
        ;
    else
        return sc_error(path, line, "bad modifier or argument '%s'", tok);
#undef KEY
    return 0;
}

/* Action word with its argument (a/aaaa/cname/big=/garbage[=]/rcode=). Returns tokens used. */
static int rule_action(struct fu_rule *r, char **tok, int ntok, const char *path, int line)
{
    long v;
    if (ntok < 1)
        return sc_error(path, line, "missing action");
    const char *a = tok[0];
    r->act_name = NULL;
    if (strncmp(a, "big=", 4) == 0 && fu_parse_uint(a + 4, FU_BIG_MAX, &v) && v > 0) {
        r->act = ACT_BIG;
        r->count = (int)v;
        r->act_name = "big";
        return 1;
    }
    if (strncmp(a, "garbage=", 8) == 0 && fu_parse_uint(a + 8, 4096, &v) && v >= 2) {
        r->act = ACT_GARBAGE;
        r->count = (int)v;
        r->act_name = "garbage";
        return 1;
    }
    if (strncmp(a, "rcode=", 6) == 0 && fu_parse_uint(a + 6, 15, &v)) {
        r->act = ACT_RCODE;
        r->rcode = (int)v;
        r->act_name = "rcode";
        return 1;
    }
    for (size_t i = 0; i < sizeof(action_table) / sizeof(action_table[0]); i++) {
        if (strcmp(a, action_table[i].name) == 0) {
            r->act = action_table[i].act;
            r->rcode = action_table[i].rcode;
            r->act_name = action_table[i].name;
        }
    }
    if (r->act_name == NULL)
        return sc_error(path, line, "unknown action '%s'", a);
    if (r->act == ACT_NONE)
        r->tc = true;
    if (r->act == ACT_GARBAGE)
        r->count = 64;
    if (r->act == ACT_A || r->act == ACT_AAAA) {
        if (ntok < 2 || !rule_add_addrs(r, tok[1]))
            return sc_error(path, line, "%s needs a list of %s addresses", a,
                            r->act == ACT_A ? "IPv4" : "IPv6");
        return 2;
    }
    if (r->act == ACT_CNAME) {
        if (ntok < 2)
            return sc_error(path, line, "cname needs a target name");
        lower_name(r->target, tok[1], sizeof(r->target));
        return 2;
    }
    return 1;
}

static int rule_parse(struct fu_rule *r, char **tok, int ntok, const char *path, int line)
{
    memset(r, 0, sizeof(*r));
    r->line = line;
    r->qtype = -1;
    r->ttl_s = 300;
    r->min_s = 60;
    r->edns = EDNS_ECHO;
    r->times = -1;
    r->set_rcode = -1;
    int i = 0;
    if (ntok > 0 && tok[0][0] == '@')
        (void)snprintf(r->tag, sizeof(r->tag), "%s", tok[i++] + 1);
    if (i >= ntok)
        return sc_error(path, line, "missing name");
    const char *name = tok[i++];
    if (strcmp(name, "default") == 0) {
        r->is_default = true;
        r->match = MATCH_ANY;
    } else {
        if (strcmp(name, "*") == 0)
            r->match = MATCH_ANY;
        else if (strncmp(name, "*.", 2) == 0)
            r->match = MATCH_SUFFIX, name += 2;
        else
            r->match = MATCH_EXACT;
        lower_name(r->name, name, sizeof(r->name));
        if (i >= ntok)
            return sc_error(path, line, "missing type");
        if (strcmp(tok[i], "*") != 0 && (r->qtype = fu_type_parse(tok[i])) < 0)
            return sc_error(path, line, "bad type '%s'", tok[i]);
        i++;
    }
    int used = rule_action(r, tok + i, ntok - i, path, line);
    if (used < 0)
        return -1;
    for (i += used; i < ntok; i++)
        if (rule_modifier(r, tok[i], path, line) < 0)
            return -1;
    return 0;
}

/* Reads a whole scenario file; on error prints file:line and leaves *sc untouched. */
int fu_scenario_load(struct fu_scenario *sc, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        (void)fprintf(stderr, "fake_upstream: %s: %s\n", path, strerror(errno));
        return -1;
    }
    struct fu_scenario next = {0};
    size_t cap = 0;
    char line[4096];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        char *tok[80];
        int ntok = 0;
        for (char *save = NULL, *t = strtok_r(line, " \t\r\n", &save); t && ntok < 80;
             t = strtok_r(NULL, " \t\r\n", &save)) {
            if (t[0] == '#')
                break;
            tok[ntok++] = t;
        }
        if (ntok == 0)
            continue;
        if (next.count == cap) {
            cap = cap ? cap * 2 : 16;
            next.rules = realloc(next.rules, cap * sizeof(*next.rules));
            if (!next.rules) {
                (void)fprintf(stderr, "fake_upstream: out of memory\n");
                exit(1);
            }
        }
        if (rule_parse(&next.rules[next.count], tok, ntok, path, lineno) < 0) {
            rc = -1;
            break;
        }
        next.count++;
    }
    (void)fclose(f);
    if (rc < 0) {
        free(next.rules);
        return -1;
    }
    free(sc->rules);
    *sc = next;
    return 0;
}

static bool name_matches(const struct fu_rule *r, const char *key)
{
    if (r->match == MATCH_ANY)
        return true;
    if (r->match == MATCH_EXACT)
        return strcmp(r->name, key) == 0;
    size_t kl = strlen(key), sl = strlen(r->name);
    return kl > sl && key[kl - sl - 1] == '.' && strcmp(key + kl - sl, r->name) == 0;
}

static bool rule_applies(const struct fu_rule *r, const char *key, int qtype,
                         const struct fu_query *q, const char *tag)
{
    if (r->tag[0] != '\0' && strcmp(r->tag, tag) != 0)
        return false;
    if (r->qtype >= 0 && r->qtype != qtype)
        return false;
    if (r->proto == PROTO_UDP && q->tcp)
        return false;
    if (r->proto == PROTO_TCP && !q->tcp)
        return false;
    if (r->act == ACT_NONE && q->tcp) /* a bare "tc" rule: TCP takes the next rule's answer */
        return false;
    if (r->when == WHEN_EDNS && !q->has_edns)
        return false;
    if (r->when == WHEN_NOEDNS && q->has_edns)
        return false;
    if (r->times >= 0 && r->used >= r->times)
        return false;
    return name_matches(r, key);
}

/* First matching ordinary rule in file order, then the first matching "default" rule. */
struct fu_rule *fu_scenario_find(struct fu_scenario *sc, const char *key, int qtype,
                                 const struct fu_query *q, const char *tag)
{
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < sc->count; i++)
            if (sc->rules[i].is_default == (pass == 1) &&
                rule_applies(&sc->rules[i], key, qtype, q, tag))
                return &sc->rules[i];
    return NULL;
}

/* ---- answers ---- */

/* The rule used when nothing matches: NXDOMAIN with an SOA for the root. */
const struct fu_rule fu_fallback_rule = {
    .match = MATCH_ANY,
    .qtype = -1,
    .act = ACT_NXDOMAIN,
    .act_name = "nxdomain(fallback)",
    .rcode = 3,
    .ttl_s = 300,
    .min_s = 60,
    .edns = EDNS_ECHO,
    .times = -1,
    .set_rcode = -1,
};

static void out_rr_head(struct fu_out *o, size_t owner_ptr, const char *owner_text, int type,
                        uint32_t ttl)
{
    if (owner_ptr)
        out_u16(o, 0xC000 | (unsigned)owner_ptr);
    else
        out_name(o, owner_text);
    out_u16(o, (unsigned)type);
    out_u16(o, 1);
    out_u32(o, ttl);
}

static void out_soa(struct fu_out *o, const struct fu_rule *r, const char *key)
{
    const char *zone = r->zone[0] ? r->zone : r->match == MATCH_ANY ? "." : r->name;
    (void)key;
    out_rr_head(o, 0, zone, 6, r->min_s);
    size_t rdlen_at = o->len;
    out_u16(o, 0);
    out_name(o, "ns.fake-upstream.test");
    out_name(o, "hostmaster.fake-upstream.test");
    out_u32(o, 1);
    out_u32(o, 3600);
    out_u32(o, 600);
    out_u32(o, 86400);
    out_u32(o, r->min_s);
    if (!o->overflow)
        out_set16(o, rdlen_at, (unsigned)(o->len - rdlen_at - 2));
}

/* Address records of one rule for qtype; returns how many were written. */
static int out_addrs(struct fu_out *o, const struct fu_rule *r, size_t owner_ptr, const char *owner,
                     int qtype)
{
    int n = 0;
    bool any = qtype == 255;
    if (r->act == ACT_A && (qtype == 1 || any)) {
        for (; n < r->count; n++) {
            out_rr_head(o, owner_ptr, owner, 1, r->ttl_s);
            out_u16(o, 4);
            out_put(o, r->addr[n], 4);
        }
    } else if (r->act == ACT_AAAA && (qtype == 28 || any)) {
        for (; n < r->count; n++) {
            out_rr_head(o, owner_ptr, owner, 28, r->ttl_s);
            out_u16(o, 16);
            out_put(o, r->addr[n], 16);
        }
    } else if (r->act == ACT_BIG && (qtype == 1 || qtype == 28 || any)) {
        for (; n < r->count; n++) {
            unsigned i = (unsigned)n + 1;
            out_rr_head(o, owner_ptr, owner, qtype == 28 ? 28 : 1, r->ttl_s);
            if (qtype == 28) {
                uint8_t a6[16] = {
                    0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (uint8_t)(i >> 8), (uint8_t)i};
                out_u16(o, 16);
                out_put(o, a6, 16);
            } else {
                uint8_t a4[4] = {10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
                out_u16(o, 4);
                out_put(o, a4, 4);
            }
        }
    }
    return n;
}

struct fu_answer {
    int rcode;
    unsigned ancount, nscount;
};

/* Fills the answer and authority sections, following CNAMEs inside the scenario like a
 * recursive resolver would. */
static void answer_chain(struct fu_scenario *sc, struct fu_out *o, const struct fu_rule *first,
                         const struct fu_query *q, const char *tag, struct fu_answer *ans)
{
    const struct fu_rule *r = first;
    size_t owner_ptr = first->wrongq ? 0 : 12; /* the question's name, unless replaced */
    char owner[FU_TEXT_MAX];
    (void)snprintf(owner, sizeof(owner), "%s", q->qname);
    char key[FU_TEXT_MAX];
    (void)snprintf(key, sizeof(key), "%s", q->key);
    size_t answer_start = o->len;
    for (int depth = 0; depth <= FU_MAX_CHAIN; depth++) {
        if (r->act == ACT_CNAME && depth < FU_MAX_CHAIN) {
            out_rr_head(o, owner_ptr, owner, 5, r->ttl_s);
            size_t rdlen_at = o->len;
            out_u16(o, 0);
            size_t target_at = o->len;
            out_name(o, r->target);
            if (!o->overflow)
                out_set16(o, rdlen_at, (unsigned)(o->len - target_at));
            ans->ancount++;
            if (q->qtype == 5)
                return;
            owner_ptr = target_at < 0x3FFF ? target_at : 0;
            (void)snprintf(owner, sizeof(owner), "%s", r->target);
            (void)snprintf(key, sizeof(key), "%s", r->target);
            const struct fu_rule *next = fu_scenario_find(sc, key, q->qtype, q, tag);
            r = next ? next : &fu_fallback_rule;
            continue;
        }
        if (r->act == ACT_RCODE || r->act == ACT_DROP || r->act == ACT_CLOSE ||
            r->act == ACT_GARBAGE || r->act == ACT_CNAME) {
            /* Mid-chain failures (or a chain too long) end as SERVFAIL-like rcodes. */
            o->len = answer_start;
            ans->ancount = 0;
            ans->rcode = r->act == ACT_RCODE ? r->rcode : 2;
            return;
        }
        int n = out_addrs(o, r, owner_ptr, owner, q->qtype);
        ans->ancount += (unsigned)n;
        if (r->act == ACT_NXDOMAIN)
            ans->rcode = 3;
        if (n == 0) {
            out_soa(o, r, key);
            ans->nscount++;
        }
        return;
    }
}

/* Deterministic bytes for "garbage": the query ID first, so the forwarder must parse the rest. */
static void build_garbage(struct fu_out *o, const struct fu_rule *r, const struct fu_query *q)
{
    uint32_t x = ((uint32_t)q->id << 16 | q->qtype) ^ 0x9E3779B9u;
    o->len = 0;
    out_u16(o, q->id);
    for (int i = 2; i < r->count; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        uint8_t b = (uint8_t)x;
        out_put(o, &b, 1);
    }
}

static void out_opt(struct fu_out *o, const struct fu_rule *r, const struct fu_query *q)
{
    out_put(o, "", 1);
    out_u16(o, 41);
    out_u16(o, r->edns >= 0 ? (unsigned)r->edns : 4096);
    out_u32(o, q->do_bit ? 0x8000u : 0);
    out_u16(o, 0);
}

static void write_question(struct fu_out *o, const struct fu_rule *r, const struct fu_query *q)
{
    if (r->wrongq) {
        out_name(o, "wrong-question.invalid");
        out_u16(o, q->qtype);
        out_u16(o, q->qclass);
        return;
    }
    size_t at = o->len;
    out_put(o, q->msg + 12, q->q_end - 12);
    if (r->wrongcase && !o->overflow) {
        for (size_t i = at; i < at + (q->qname_end - 12); i++) {
            /* Label length bytes are < 64 and never letters, so flipping letters is safe. */
            uint8_t c = o->buf[i];
            if (isalpha(c) && c >= 64)
                o->buf[i] = (uint8_t)(c ^ 0x20);
        }
    }
}

bool fu_reply_build(struct fu_scenario *sc, const struct fu_rule *r, const struct fu_query *q,
                    const char *tag, struct fu_out *o)
{
    o->len = 0;
    o->overflow = false;
    if (r->act == ACT_DROP || r->act == ACT_CLOSE)
        return false;
    if (r->act == ACT_GARBAGE) {
        build_garbage(o, r, q);
        return true;
    }
    out_u16(o, r->wrongid ? q->id ^ 0xA5A5u : q->id);
    out_u16(o, 0);
    out_u16(o, 1);
    out_u16(o, 0);
    out_u16(o, 0);
    out_u16(o, 0);
    write_question(o, r, q);
    size_t q_end = o->len;
    struct fu_answer ans = {.rcode = r->rcode};
    bool truncate = r->tc && !q->tcp;
    if (r->act != ACT_RCODE && r->act != ACT_NONE)
        answer_chain(sc, o, r, q, tag, &ans);
    bool opt = q->has_edns && r->edns != EDNS_NONE && !(r->act == ACT_RCODE && r->rcode == 1);
    if (opt)
        out_opt(o, r, q);
    size_t limit = q->tcp ? FU_MAX_MSG : q->has_edns && q->edns_size > 512 ? q->edns_size : 512;
    if (o->overflow || (o->len > limit && !r->notrunc))
        truncate = true;
    bool keep = r->tckeep && !q->tcp && !o->overflow && o->len <= limit;
    if (truncate && !keep) {
        o->len = q_end;
        o->overflow = false;
        ans.ancount = ans.nscount = 0;
        if (opt)
            out_opt(o, r, q);
    }
    unsigned flags = 0x8000u | (q->flags_hi & 0x78u) << 8 | (q->flags_hi & 0x01u) << 8;
    flags |= r->aa ? 0x0400u : 0;
    flags |= r->ad ? 0x0020u : 0;
    flags |= truncate || keep ? 0x0200u : 0;
    if (r->set_rcode >= 0)
        ans.rcode = r->set_rcode;
    flags |= r->nora ? 0 : 0x0080u;
    flags |= q->flags_lo & 0x10u; /* CD */
    flags |= (unsigned)ans.rcode & 0xFu;
    out_set16(o, 2, flags);
    out_set16(o, 6, ans.ancount);
    out_set16(o, 8, ans.nscount);
    out_set16(o, 10, opt ? 1 : 0);
    return true;
}
