/* fake_upstream - a scriptable DNS server that plays the upstream resolvers in dnsroute's
 * end-to-end tests. It listens on UDP and TCP (2-byte framing, pipelined), answers each query
 * from a scenario file (format: tests/e2e/README.md) and writes one line per received query to a
 * log, so tests can check what the forwarder sent (source port, ID, 0x20 case, EDNS).
 * Self-contained on purpose (libc + POSIX only): it must not share bugs with the daemon's own
 * DNS code. It only ever replies to the source of a query; it never originates traffic. */

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

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
    bool tc, wrongid, wrongq, wrongcase, fromport, aa, nora, notrunc;
    long times; /* -1: unlimited */
    long used;
    int line;
};

struct fu_scenario {
    struct fu_rule *rules;
    size_t count;
};

struct fu_listener {
    char tag[32];
    char text[160];
    struct sockaddr_storage addr;
    socklen_t addr_len;
    int udp_fd;
    int tcp_fd;
    int alt_fd; /* unconnected UDP socket on another port, for "fromport" */
};

struct fu_conn {
    int fd; /* -1: free slot */
    int listener;
    uint64_t gen;
    int64_t last_ms;
    struct sockaddr_storage peer;
    socklen_t peer_len;
    size_t in_len;
    uint8_t in[2 + FU_MAX_MSG];
};

struct fu_pending {
    int64_t due_ms;
    int listener;
    bool tcp;
    bool alt;
    bool close_after;
    int conn;
    uint64_t conn_gen;
    struct sockaddr_storage peer;
    socklen_t peer_len;
    size_t len;
    uint8_t *data; /* NULL with close_after: close only */
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

struct fu_state {
    struct fu_listener lis[FU_MAX_LISTENERS];
    size_t lis_count;
    struct fu_conn *conns;
    struct fu_pending pending[FU_MAX_PENDING];
    size_t pending_count;
    uint64_t next_gen;
    struct fu_scenario sc;
    const char *scenario_path;
    FILE *log;
    bool log_hex;
    struct fu_out out;
    uint8_t udp_buf[FU_MAX_MSG + 1];
};

static volatile sig_atomic_t g_stop;
static volatile sig_atomic_t g_reload;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        g_reload = 1;
    else
        g_stop = 1;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- type names ---- */

static const struct {
    const char *name;
    int type;
} type_table[] = {
    {"A", 1},       {"NS", 2},    {"CNAME", 5},  {"SOA", 6},   {"PTR", 12}, {"MX", 15},
    {"TXT", 16},    {"AAAA", 28}, {"SRV", 33},   {"OPT", 41},  {"DS", 43},  {"RRSIG", 46},
    {"DNSKEY", 48}, {"SVCB", 64}, {"HTTPS", 65}, {"ANY", 255},
};

static int type_parse(const char *s)
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

static void type_format(int type, char *buf, size_t size)
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

static uint16_t get16(const uint8_t *p)
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
    *type = get16(msg + *off);
    *cls = get16(msg + *off + 2);
    *ttl = ((uint32_t)get16(msg + *off + 4) << 16) | get16(msg + *off + 6);
    size_t rdlen = get16(msg + *off + 8);
    *off += 10;
    if (*off + rdlen > len)
        return false;
    *off += rdlen;
    return true;
}

/* Parses header, question and OPT. Returns 0, or an rcode (1 FORMERR) to answer with. */
static int query_parse(struct fu_query *q, const uint8_t *msg, size_t len)
{
    q->msg = msg;
    q->len = len;
    q->id = get16(msg);
    q->flags_hi = msg[2];
    q->flags_lo = msg[3];
    if (get16(msg + 4) != 1)
        return 1;
    size_t off = 12;
    if (!name_read(msg, len, &off, q->qname, sizeof(q->qname)) || off + 4 > len)
        return 1;
    q->qname_end = off;
    q->qtype = get16(msg + off);
    q->qclass = get16(msg + off + 2);
    q->q_end = off + 4;
    size_t i = 0;
    for (; q->qname[i] != '\0'; i++)
        q->key[i] = (char)tolower((unsigned char)q->qname[i]);
    q->key[i] = '\0';
    if (i > 0 && q->key[i - 1] == '.')
        q->key[i - 1] = '\0';
    off = q->q_end;
    unsigned rrs = (unsigned)get16(msg + 6) + get16(msg + 8) + get16(msg + 10);
    unsigned ar_start = (unsigned)get16(msg + 6) + get16(msg + 8);
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

static void addr_text(const struct sockaddr_storage *ss, char *host, size_t size, int *port)
{
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)ss;
        (void)inet_ntop(AF_INET6, &s6->sin6_addr, host, (socklen_t)size);
        *port = ntohs(s6->sin6_port);
    } else {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)ss;
        (void)inet_ntop(AF_INET, &s4->sin_addr, host, (socklen_t)size);
        *port = ntohs(s4->sin_port);
    }
}

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

static bool parse_uint(const char *s, long max, long *out)
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
    if (KEY("ttl") && parse_uint(val, 0x7FFFFFFF, &v))
        r->ttl_s = (uint32_t)v;
    else if (KEY("min") && parse_uint(val, 0x7FFFFFFF, &v))
        r->min_s = (uint32_t)v;
    else if (KEY("delay") && parse_uint(val, 60000, &v))
        r->delay_ms = (int)v;
    else if (KEY("times") && parse_uint(val, 1L << 30, &v))
        r->times = v;
    else if (KEY("zone") && *val != '\0')
        (void)snprintf(r->zone, sizeof(r->zone), "%s", val);
    else if (KEY("edns") && strcmp(val, "none") == 0)
        r->edns = EDNS_NONE;
    else if (KEY("edns") && parse_uint(val, 65535, &v))
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
    else if (KEY("notrunc") && !eq)
        r->notrunc = true;
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
    if (strncmp(a, "big=", 4) == 0 && parse_uint(a + 4, FU_BIG_MAX, &v) && v > 0) {
        r->act = ACT_BIG;
        r->count = (int)v;
        r->act_name = "big";
        return 1;
    }
    if (strncmp(a, "garbage=", 8) == 0 && parse_uint(a + 8, 4096, &v) && v >= 2) {
        r->act = ACT_GARBAGE;
        r->count = (int)v;
        r->act_name = "garbage";
        return 1;
    }
    if (strncmp(a, "rcode=", 6) == 0 && parse_uint(a + 6, 15, &v)) {
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
        if (strcmp(tok[i], "*") != 0 && (r->qtype = type_parse(tok[i])) < 0)
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
static int scenario_load(struct fu_scenario *sc, const char *path)
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
                         const struct fu_query *q, const struct fu_listener *l)
{
    if (r->tag[0] != '\0' && strcmp(r->tag, l->tag) != 0)
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
static struct fu_rule *scenario_find(struct fu_scenario *sc, const char *key, int qtype,
                                     const struct fu_query *q, const struct fu_listener *l)
{
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < sc->count; i++)
            if (sc->rules[i].is_default == (pass == 1) &&
                rule_applies(&sc->rules[i], key, qtype, q, l))
                return &sc->rules[i];
    return NULL;
}

/* ---- answers ---- */

/* The rule used when nothing matches: NXDOMAIN with an SOA for the root. */
static const struct fu_rule fallback_rule = {
    .match = MATCH_ANY,
    .qtype = -1,
    .act = ACT_NXDOMAIN,
    .act_name = "nxdomain(fallback)",
    .rcode = 3,
    .ttl_s = 300,
    .min_s = 60,
    .edns = EDNS_ECHO,
    .times = -1,
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
static void answer_chain(struct fu_state *st, const struct fu_rule *first, struct fu_query *q,
                         const struct fu_listener *l, size_t qname_ptr, struct fu_answer *ans)
{
    const struct fu_rule *r = first;
    size_t owner_ptr = qname_ptr;
    char owner[FU_TEXT_MAX];
    (void)snprintf(owner, sizeof(owner), "%s", q->qname);
    char key[FU_TEXT_MAX];
    (void)snprintf(key, sizeof(key), "%s", q->key);
    size_t answer_start = st->out.len;
    for (int depth = 0; depth <= FU_MAX_CHAIN; depth++) {
        if (r->act == ACT_CNAME && depth < FU_MAX_CHAIN) {
            out_rr_head(&st->out, owner_ptr, owner, 5, r->ttl_s);
            size_t rdlen_at = st->out.len;
            out_u16(&st->out, 0);
            size_t target_at = st->out.len;
            out_name(&st->out, r->target);
            if (!st->out.overflow)
                out_set16(&st->out, rdlen_at, (unsigned)(st->out.len - target_at));
            ans->ancount++;
            if (q->qtype == 5)
                return;
            owner_ptr = target_at < 0x3FFF ? target_at : 0;
            (void)snprintf(owner, sizeof(owner), "%s", r->target);
            (void)snprintf(key, sizeof(key), "%s", r->target);
            const struct fu_rule *next = scenario_find(&st->sc, key, q->qtype, q, l);
            r = next ? next : &fallback_rule;
            continue;
        }
        if (r->act == ACT_RCODE || r->act == ACT_DROP || r->act == ACT_CLOSE ||
            r->act == ACT_GARBAGE || r->act == ACT_CNAME) {
            /* Mid-chain failures (or a chain too long) end as SERVFAIL-like rcodes. */
            st->out.len = answer_start;
            ans->ancount = 0;
            ans->rcode = r->act == ACT_RCODE ? r->rcode : 2;
            return;
        }
        int n = out_addrs(&st->out, r, owner_ptr, owner, q->qtype);
        ans->ancount += (unsigned)n;
        if (r->act == ACT_NXDOMAIN)
            ans->rcode = 3;
        if (n == 0) {
            out_soa(&st->out, r, key);
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

/* Builds the reply for query q under rule r into st->out. Returns false for "no reply". */
static bool build_reply(struct fu_state *st, const struct fu_rule *r, struct fu_query *q,
                        const struct fu_listener *l)
{
    struct fu_out *o = &st->out;
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
        answer_chain(st, r, q, l, r->wrongq ? 0 : 12, &ans);
    bool opt = q->has_edns && r->edns != EDNS_NONE && !(r->act == ACT_RCODE && r->rcode == 1);
    if (opt)
        out_opt(o, r, q);
    size_t limit = q->tcp ? FU_MAX_MSG : q->has_edns && q->edns_size > 512 ? q->edns_size : 512;
    if (o->overflow || (o->len > limit && !r->notrunc))
        truncate = true;
    if (truncate) {
        o->len = q_end;
        o->overflow = false;
        ans.ancount = ans.nscount = 0;
        if (opt)
            out_opt(o, r, q);
    }
    unsigned flags = 0x8000u | (q->flags_hi & 0x78u) << 8 | (q->flags_hi & 0x01u) << 8;
    flags |= r->aa ? 0x0400u : 0;
    flags |= truncate ? 0x0200u : 0;
    flags |= r->nora ? 0 : 0x0080u;
    flags |= q->flags_lo & 0x10u; /* CD */
    flags |= (unsigned)ans.rcode & 0xFu;
    out_set16(o, 2, flags);
    out_set16(o, 6, ans.ancount);
    out_set16(o, 8, ans.nscount);
    out_set16(o, 10, opt ? 1 : 0);
    return true;
}

/* ---- logging ---- */

static void log_query(struct fu_state *st, const struct fu_listener *l, bool tcp,
                      const struct sockaddr_storage *peer, const struct fu_query *q,
                      const char *status, const struct fu_rule *r)
{
    if (!st->log)
        return;
    char host[INET6_ADDRSTRLEN], qt[16];
    int port;
    struct timespec ts;
    (void)clock_gettime(CLOCK_REALTIME, &ts);
    addr_text(peer, host, sizeof(host), &port);
    (void)fprintf(st->log, "ts=%lld.%03ld lis=%s proto=%s src=%s sport=%d len=%zu",
                  (long long)ts.tv_sec, ts.tv_nsec / 1000000, l->tag[0] ? l->tag : l->text,
                  tcp ? "tcp" : "udp", host, port, q->len);
    if (q->len >= 12)
        (void)fprintf(st->log, " id=%u", (unsigned)q->id);
    if (status == NULL) {
        type_format(q->qtype, qt, sizeof(qt));
        (void)fprintf(st->log, " qname=%s qtype=%s qclass=%u rd=%d cd=%d", q->qname, qt,
                      (unsigned)q->qclass, q->flags_hi & 1, (q->flags_lo >> 4) & 1);
        if (q->has_edns)
            (void)fprintf(st->log, " edns=%u do=%d ver=%u", q->edns_size, q->do_bit,
                          (unsigned)q->edns_version);
        else
            (void)fprintf(st->log, " edns=none do=0");
        (void)fprintf(st->log, " act=%s line=%d", r->act_name, r->line);
    } else {
        (void)fprintf(st->log, " bad=%s", status);
    }
    if (st->log_hex) {
        (void)fprintf(st->log, " hex=");
        for (size_t i = 0; i < q->len; i++)
            (void)fprintf(st->log, "%02x", q->msg[i]);
    }
    (void)fputc('\n', st->log);
    (void)fflush(st->log);
}

/* ---- sending ---- */

/* Writes one length-prefixed message; gives up after 2 s of a full socket buffer. */
static void tcp_write_frame(int fd, const uint8_t *data, size_t len)
{
    uint8_t frame[2 + FU_MAX_MSG];
    frame[0] = (uint8_t)(len >> 8);
    frame[1] = (uint8_t)len;
    memcpy(frame + 2, data, len);
    size_t sent = 0;
    int64_t deadline = now_ms() + 2000;
    while (sent < 2 + len && now_ms() < deadline) {
        ssize_t n = send(fd, frame + sent, 2 + len - sent, MSG_NOSIGNAL);
        if (n >= 0) {
            sent += (size_t)n;
        } else if (errno == EAGAIN || errno == EINTR) {
            struct pollfd pf = {.fd = fd, .events = POLLOUT};
            (void)poll(&pf, 1, 100);
        } else {
            return;
        }
    }
}

static void send_now(struct fu_state *st, const struct fu_pending *p)
{
    if (p->tcp) {
        struct fu_conn *c = &st->conns[p->conn];
        if (c->fd < 0 || c->gen != p->conn_gen)
            return; /* the client went away meanwhile */
        if (p->data)
            tcp_write_frame(c->fd, p->data, p->len);
        if (p->close_after) {
            (void)close(c->fd);
            c->fd = -1;
        }
        return;
    }
    const struct fu_listener *l = &st->lis[p->listener];
    int fd = p->alt && l->alt_fd >= 0 ? l->alt_fd : l->udp_fd;
    if (sendto(fd, p->data, p->len, 0, (const struct sockaddr *)&p->peer, p->peer_len) < 0)
        (void)fprintf(stderr, "fake_upstream: sendto: %s\n", strerror(errno));
}

static void schedule(struct fu_state *st, struct fu_pending *p, int delay_ms)
{
    if (delay_ms <= 0) {
        send_now(st, p);
        free(p->data);
        return;
    }
    if (st->pending_count >= FU_MAX_PENDING) {
        (void)fprintf(stderr, "fake_upstream: too many delayed replies, dropping one\n");
        free(p->data);
        return;
    }
    p->due_ms = now_ms() + delay_ms;
    st->pending[st->pending_count++] = *p;
}

static void flush_due(struct fu_state *st)
{
    int64_t now = now_ms();
    for (size_t i = 0; i < st->pending_count;) {
        if (st->pending[i].due_ms > now) {
            i++;
            continue;
        }
        struct fu_pending p = st->pending[i];
        st->pending[i] = st->pending[--st->pending_count];
        send_now(st, &p);
        free(p.data);
    }
}

/* ---- query handling ---- */

static void handle_query(struct fu_state *st, int li, const uint8_t *msg, size_t len, bool tcp,
                         int conn, const struct sockaddr_storage *peer, socklen_t peer_len)
{
    struct fu_listener *l = &st->lis[li];
    struct fu_query q = {.msg = msg, .len = len, .tcp = tcp};
    if (len < 12) {
        log_query(st, l, tcp, peer, &q, "short", NULL);
        return;
    }
    q.id = get16(msg);
    if (msg[2] & 0x80) {
        log_query(st, l, tcp, peer, &q, "qr-set", NULL);
        return; /* never answer a response: no loops */
    }
    struct fu_rule formerr = fallback_rule;
    const struct fu_rule *r;
    struct fu_rule *found = NULL;
    if (query_parse(&q, msg, len) != 0) {
        log_query(st, l, tcp, peer, &q, "formerr", NULL);
        /* Header-only FORMERR: no question to copy. */
        uint8_t rep[12] = {msg[0], msg[1], (uint8_t)(0x80 | (msg[2] & 0x79)), 0x81};
        struct fu_pending p = {.listener = li,
                               .tcp = tcp,
                               .conn = conn,
                               .conn_gen = tcp ? st->conns[conn].gen : 0,
                               .peer = *peer,
                               .peer_len = peer_len,
                               .len = sizeof(rep)};
        p.data = malloc(sizeof(rep));
        if (!p.data)
            return;
        memcpy(p.data, rep, sizeof(rep));
        schedule(st, &p, 0);
        return;
    }
    if (((msg[2] >> 3) & 0xF) != 0) {
        formerr.act = ACT_RCODE;
        formerr.rcode = 4;
        formerr.act_name = "notimp(opcode)";
        r = &formerr;
    } else {
        found = scenario_find(&st->sc, q.key, q.qtype, &q, l);
        r = found ? found : &fallback_rule;
    }
    if (found)
        found->used++;
    log_query(st, l, tcp, peer, &q, NULL, r);
    bool reply = build_reply(st, r, &q, l);
    if (!reply && !(r->act == ACT_CLOSE && tcp))
        return;
    struct fu_pending p = {.listener = li,
                           .tcp = tcp,
                           .alt = r->fromport,
                           .conn = conn,
                           .conn_gen = tcp ? st->conns[conn].gen : 0,
                           .peer = *peer,
                           .peer_len = peer_len,
                           .close_after = r->act == ACT_CLOSE};
    if (reply) {
        p.len = st->out.len;
        p.data = malloc(p.len);
        if (!p.data)
            return;
        memcpy(p.data, st->out.buf, p.len);
    }
    schedule(st, &p, r->delay_ms);
}

static void on_udp_readable(struct fu_state *st, int li)
{
    uint8_t *buf = st->udp_buf;
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage peer;
        socklen_t plen = sizeof(peer);
        ssize_t n = recvfrom(st->lis[li].udp_fd, buf, sizeof(st->udp_buf), MSG_DONTWAIT,
                             (struct sockaddr *)&peer, &plen);
        if (n < 0)
            return;
        handle_query(st, li, buf, (size_t)n, false, -1, &peer, plen);
    }
}

static void on_tcp_accept(struct fu_state *st, int li)
{
    struct sockaddr_storage peer;
    socklen_t plen = sizeof(peer);
    int fd = accept(st->lis[li].tcp_fd, (struct sockaddr *)&peer, &plen);
    if (fd < 0)
        return;
    for (int i = 0; i < FU_MAX_CONNS; i++) {
        struct fu_conn *c = &st->conns[i];
        if (c->fd >= 0)
            continue;
        (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        c->fd = fd;
        c->listener = li;
        c->gen = ++st->next_gen;
        c->last_ms = now_ms();
        c->peer = peer;
        c->peer_len = plen;
        c->in_len = 0;
        return;
    }
    (void)fprintf(stderr, "fake_upstream: too many TCP connections, closing one\n");
    (void)close(fd);
}

static void on_tcp_readable(struct fu_state *st, int ci)
{
    struct fu_conn *c = &st->conns[ci];
    ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        (void)close(c->fd);
        c->fd = -1;
        return;
    }
    if (n < 0)
        return;
    c->in_len += (size_t)n;
    c->last_ms = now_ms();
    uint64_t gen = c->gen;
    size_t off = 0;
    while (c->in_len - off >= 2) {
        size_t mlen = get16(c->in + off);
        if (c->in_len - off < 2 + mlen)
            break;
        handle_query(st, c->listener, c->in + off + 2, mlen, true, ci, &c->peer, c->peer_len);
        if (c->fd < 0 || c->gen != gen)
            return; /* "close" ended the connection */
        off += 2 + mlen;
    }
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
}

/* ---- setup ---- */

static int listener_parse(struct fu_listener *l, const char *spec)
{
    char buf[128];
    (void)snprintf(buf, sizeof(buf), "%s", spec);
    char *at = strchr(buf, '@');
    if (at) {
        *at = '\0';
        (void)snprintf(l->tag, sizeof(l->tag), "%s", at + 1);
    }
    long port = 53;
    char *hash = strchr(buf, '#');
    if (hash) {
        *hash = '\0';
        if (!parse_uint(hash + 1, 65535, &port))
            return -1;
    }
    memset(&l->addr, 0, sizeof(l->addr));
    struct sockaddr_in *s4 = (struct sockaddr_in *)(void *)&l->addr;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)(void *)&l->addr;
    if (inet_pton(AF_INET, buf, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        l->addr_len = sizeof(*s4);
    } else if (inet_pton(AF_INET6, buf, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        l->addr_len = sizeof(*s6);
    } else {
        return -1;
    }
    (void)snprintf(l->text, sizeof(l->text), "%s#%ld", buf, port);
    return 0;
}

static int open_socket(const struct fu_listener *l, int type, bool any_port)
{
    int fd = socket(l->addr.ss_family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (l->addr.ss_family == AF_INET6)
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    struct sockaddr_storage a = l->addr;
    if (any_port) {
        if (a.ss_family == AF_INET6)
            ((struct sockaddr_in6 *)(void *)&a)->sin6_port = 0;
        else
            ((struct sockaddr_in *)(void *)&a)->sin_port = 0;
    }
    if (bind(fd, (struct sockaddr *)&a, l->addr_len) < 0 ||
        (type == SOCK_STREAM && listen(fd, 64) < 0)) {
        int e = errno;
        (void)close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static int listener_open(struct fu_listener *l)
{
    l->udp_fd = open_socket(l, SOCK_DGRAM, false);
    l->tcp_fd = l->udp_fd < 0 ? -1 : open_socket(l, SOCK_STREAM, false);
    l->alt_fd = l->tcp_fd < 0 ? -1 : open_socket(l, SOCK_DGRAM, true);
    if (l->alt_fd < 0) {
        (void)fprintf(stderr, "fake_upstream: cannot listen on %s: %s\n", l->text, strerror(errno));
        return -1;
    }
    return 0;
}

static void usage(void)
{
    (void)fprintf(
        stderr,
        "usage: fake_upstream -l ADDR[#PORT][@TAG] [-l ...] [-s SCENARIO] [-q QUERYLOG]\n"
        "                     [-p PIDFILE] [-x]\n"
        "  -l  listen on UDP and TCP (port 53 by default); TAG selects '@TAG' scenario lines\n"
        "  -s  scenario file (re-read on SIGHUP); without one every name is NXDOMAIN\n"
        "  -q  append one line per received query ('-' for stdout)\n"
        "  -p  write the pid once every socket is bound (readiness signal)\n"
        "  -x  add the query's hex dump to each log line\n");
}

static void main_loop(struct fu_state *st)
{
    struct pollfd pfd[2 * FU_MAX_LISTENERS + FU_MAX_CONNS];
    int who[2 * FU_MAX_LISTENERS + FU_MAX_CONNS];
    while (!g_stop) {
        if (g_reload) {
            g_reload = 0;
            if (st->scenario_path && scenario_load(&st->sc, st->scenario_path) == 0)
                (void)fprintf(stderr, "fake_upstream: scenario reloaded (%zu rules)\n",
                              st->sc.count);
        }
        nfds_t n = 0;
        for (size_t i = 0; i < st->lis_count; i++) {
            pfd[n] = (struct pollfd){.fd = st->lis[i].udp_fd, .events = POLLIN};
            who[n++] = (int)i;
            pfd[n] = (struct pollfd){.fd = st->lis[i].tcp_fd, .events = POLLIN};
            who[n++] = 1000 + (int)i;
        }
        int64_t now = now_ms();
        for (int i = 0; i < FU_MAX_CONNS; i++) {
            struct fu_conn *c = &st->conns[i];
            if (c->fd >= 0 && now - c->last_ms > FU_TCP_IDLE_MS) {
                (void)close(c->fd);
                c->fd = -1;
            }
            if (c->fd >= 0) {
                pfd[n] = (struct pollfd){.fd = c->fd, .events = POLLIN};
                who[n++] = 2000 + i;
            }
        }
        int timeout = 1000;
        for (size_t i = 0; i < st->pending_count; i++) {
            int64_t d = st->pending[i].due_ms - now;
            if (d < timeout)
                timeout = d < 0 ? 0 : (int)d;
        }
        int rc = poll(pfd, n, timeout);
        if (rc < 0 && errno != EINTR) {
            (void)fprintf(stderr, "fake_upstream: poll: %s\n", strerror(errno));
            return;
        }
        for (nfds_t i = 0; rc > 0 && i < n; i++) {
            if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (who[i] < 1000)
                on_udp_readable(st, who[i]);
            else if (who[i] < 2000)
                on_tcp_accept(st, who[i] - 1000);
            else if (st->conns[who[i] - 2000].fd == pfd[i].fd)
                on_tcp_readable(st, who[i] - 2000);
        }
        flush_due(st);
    }
}

int main(int argc, char **argv)
{
    static struct fu_state st;
    const char *log_path = NULL, *pid_path = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "l:s:q:p:xh")) != -1) {
        switch (opt) {
        case 'l':
            if (st.lis_count >= FU_MAX_LISTENERS ||
                listener_parse(&st.lis[st.lis_count++], optarg) < 0) {
                (void)fprintf(stderr, "fake_upstream: bad listen address '%s'\n", optarg);
                return 2;
            }
            break;
        case 's':
            st.scenario_path = optarg;
            break;
        case 'q':
            log_path = optarg;
            break;
        case 'p':
            pid_path = optarg;
            break;
        case 'x':
            st.log_hex = true;
            break;
        default:
            usage();
            return opt == 'h' ? 0 : 2;
        }
    }
    if (st.lis_count == 0 || optind != argc) {
        usage();
        return 2;
    }
    if (st.scenario_path && scenario_load(&st.sc, st.scenario_path) < 0)
        return 2;
    if (log_path) {
        st.log = strcmp(log_path, "-") == 0 ? stdout : fopen(log_path, "a");
        if (!st.log) {
            (void)fprintf(stderr, "fake_upstream: %s: %s\n", log_path, strerror(errno));
            return 2;
        }
    }
    st.conns = calloc(FU_MAX_CONNS, sizeof(*st.conns));
    if (!st.conns)
        return 1;
    for (int i = 0; i < FU_MAX_CONNS; i++)
        st.conns[i].fd = -1;
    for (size_t i = 0; i < st.lis_count; i++)
        if (listener_open(&st.lis[i]) < 0)
            return 1;
    struct sigaction sa = {.sa_handler = on_signal};
    (void)sigemptyset(&sa.sa_mask);
    (void)sigaction(SIGTERM, &sa, NULL);
    (void)sigaction(SIGINT, &sa, NULL);
    (void)sigaction(SIGHUP, &sa, NULL);
    (void)signal(SIGPIPE, SIG_IGN);
    if (pid_path) {
        FILE *pf = fopen(pid_path, "w");
        if (!pf || fprintf(pf, "%ld\n", (long)getpid()) < 0 || fclose(pf) != 0) {
            (void)fprintf(stderr, "fake_upstream: %s: %s\n", pid_path, strerror(errno));
            return 1;
        }
    }
    main_loop(&st);
    for (size_t i = 0; i < st.pending_count; i++)
        free(st.pending[i].data);
    for (int i = 0; i < FU_MAX_CONNS; i++)
        if (st.conns[i].fd >= 0)
            (void)close(st.conns[i].fd);
    for (size_t i = 0; i < st.lis_count; i++) {
        (void)close(st.lis[i].udp_fd);
        (void)close(st.lis[i].tcp_fd);
        (void)close(st.lis[i].alt_fd);
    }
    if (pid_path)
        (void)unlink(pid_path);
    if (st.log && st.log != stdout)
        (void)fclose(st.log);
    free(st.sc.rules);
    free(st.conns);
    return 0;
}
