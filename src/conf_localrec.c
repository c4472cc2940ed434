/* conf_localrec.c - the option handlers of dnsmasq's local records: ptr-record, txt-record,
 * srv-host, mx-host, mx-target, caa-record, naptr-record, dns-rr, with dnsmasq's syntax and
 * error messages (option.c one_opt), stored in the configuration's localrec store. The store is
 * finished (CHAOS names, MX defaults, index) by conf_localrec_finish at the end of a load. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf_impl.h"
#include "dnsroute/localname.h"
#include "dnsroute/localrec.h"
#include "dnsroute/mem.h"
#include "dnsroute/synth.h"

/* dnsmasq's MAXDNAME and MAXLABEL (check_name). */
#define NAME_TEXT_MAX 1025

/* dnsmasq check_name(): labels of at most 63 bytes, no control characters, not only blanks.
 * Non-ASCII bytes are refused too (dnsroute has no IDN conversion). */
static bool name_ok(const char *s, size_t len, bool nowhite)
{
    size_t gap = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        gap = c == '.' ? 0 : gap + 1;
        if (gap > 63 || c < 0x20 || c >= 0x7f) {
            return false;
        }
        nowhite = nowhite || c != ' ';
    }
    return nowhite;
}

/* dnsmasq canonicalise_opt() on a build with IDN: NULL stays NULL (returns NULL with *bad
 * false); "" is the root; one trailing dot goes; names check_name() refuses set *bad. ASCII is
 * folded to lower case, as libidn2's lookup mapping does. Returns a new string. */
static char *canon(char *s, bool *bad)
{
    *bad = false;
    if (s == NULL) {
        return NULL;
    }
    conf_unhide(s);
    size_t len = strlen(s);
    if (len == 0) {
        return mem_strdup("");
    }
    bool dot = s[len - 1] == '.';
    if (len > NAME_TEXT_MAX || !name_ok(s, len - dot, dot)) {
        *bad = true;
        return NULL;
    }
    s[len - dot] = '\0';
    char *out = mem_strdup(s);
    for (char *p = out; *p != '\0'; p++) {
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p | 0x20 : *p);
    }
    return out;
}

/* canon() for a name that must be present: NULL when bad or missing. */
static char *canon_name(char *s)
{
    bool bad;
    return canon(s, &bad);
}

/* dnsmasq atoi_check: digits only, an empty value is 0; atoi's value kept to 32 bits. */
static bool atoi_ok(char *a, long *out)
{
    if (a == NULL) {
        return false;
    }
    conf_unhide(a);
    unsigned long v = 0;
    for (const char *p = a; *p != '\0'; p++) {
        if (*p < '0' || *p > '9') {
            return false;
        }
        v = (v * 10 + (unsigned long)(*p - '0')) & 0xffffffffUL;
    }
    *out = (long)(int)(unsigned)v;
    return true;
}

static bool atoi16_ok(char *a, uint16_t *out)
{
    long v;
    if (!atoi_ok(a, &v) || v < 0 || v > 0xffff) {
        return false;
    }
    *out = (uint16_t)v;
    return true;
}

static struct localrec *store(struct conf_loader *l)
{
    if (l->c->localrec == NULL) {
        l->c->localrec = localrec_new();
    }
    return l->c->localrec;
}

/* --mx-host=name[[,target],pref] */
int conf_opt_mx_host(struct conf_loader *l, char *arg)
{
    uint16_t pref = 1;
    char *comma = conf_split(arg, ',');
    char *prefstr = conf_split(comma, ',');
    if (prefstr != NULL && !atoi16_ok(prefstr, &pref)) {
        return conf_fail(l, "bad MX preference");
    }
    bool bad = false;
    char *name = canon_name(arg);
    char *target = name != NULL && comma != NULL ? canon(comma, &bad) : NULL;
    if (name == NULL || bad) {
        free(name);
        return conf_fail(l, "bad MX name");
    }
    localrec_add_mx(store(l), name, target, pref);
    free(name);
    free(target);
    return 0;
}

int conf_opt_mx_target(struct conf_loader *l, char *arg)
{
    char *target = canon_name(arg);
    if (target == NULL) {
        return conf_fail(l, "bad MX target");
    }
    free(l->c->mx_target);
    l->c->mx_target = target;
    return 0;
}

int conf_opt_selfmx(struct conf_loader *l, char *arg)
{
    (void)arg;
    l->c->selfmx = true;
    return 0;
}

int conf_opt_localmx(struct conf_loader *l, char *arg)
{
    (void)arg;
    l->c->localmx = true;
    return 0;
}

int conf_opt_no_ident(struct conf_loader *l, char *arg)
{
    (void)arg;
    l->c->no_ident = true;
    return 0;
}

/* --ptr-record=name[,target] */
int conf_opt_ptr_record(struct conf_loader *l, char *arg)
{
    char *comma = conf_split(arg, ',');
    bool bad = false;
    char *name = canon_name(arg);
    char *target = name != NULL && comma != NULL ? canon(comma, &bad) : NULL;
    if (name == NULL || bad) {
        free(name);
        return conf_fail(l, "bad PTR record");
    }
    localrec_add_ptr(store(l), name, target);
    free(name);
    free(target);
    return 0;
}

/* --txt-record=name[,text[,text...]]: each comma starts a new character-string, and so does
 * every 255th byte of one (dnsmasq splits long strings). */
int conf_opt_txt_record(struct conf_loader *l, char *arg)
{
    char *comma = conf_split(arg, ',');
    char *name = canon_name(arg);
    if (name == NULL) {
        return conf_fail(l, "bad TXT record");
    }
    size_t len = comma != NULL ? strlen(comma) : 0;
    uint8_t *rdata = mem_alloc(len + len / 255 + 1);
    uint8_t *cnt = rdata, *p = rdata + 1;
    *cnt = 0;
    for (const char *s = comma; s != NULL && *s != '\0';) {
        unsigned char c = (unsigned char)*s++;
        if (c == ',' || *cnt == 255) {
            s -= c != ',';
            cnt = p++;
            *cnt = 0;
            continue;
        }
        char one[2] = {(char)c, '\0'};
        conf_unhide(one);
        *p++ = (uint8_t)one[0];
        (*cnt)++;
    }
    localrec_add_txt(store(l), name, DNSMSG_CLASS_IN, rdata, (size_t)(p - rdata),
                     LOCALREC_STAT_NONE);
    free(rdata);
    free(name);
    return 0;
}

/* --srv-host=_service._prot.name[,target[,port[,priority[,weight]]]] */
int conf_opt_srv_host(struct conf_loader *l, char *arg)
{
    uint16_t port = 1, prio = 0, weight = 0;
    char *comma = conf_split(arg, ',');
    char *name = canon_name(arg), *target = NULL;
    const char *msg = NULL;
    if (name == NULL) {
        return conf_fail(l, "bad SRV record");
    }
    if (comma != NULL) {
        char *rest = conf_split(comma, ',');
        target = canon_name(comma);
        char *next = conf_split(rest, ',');
        char *last = conf_split(next, ',');
        msg = target == NULL                              ? "bad SRV target"
              : rest != NULL && !atoi16_ok(rest, &port)   ? "invalid port number"
              : next != NULL && !atoi16_ok(next, &prio)   ? "invalid priority"
              : last != NULL && !atoi16_ok(last, &weight) ? "invalid weight"
                                                          : NULL;
    }
    if (msg == NULL) {
        localrec_add_srv(store(l), name, target, port, prio, weight);
    }
    free(name);
    free(target);
    return msg != NULL ? conf_fail(l, msg) : 0;
}

/* --naptr-record=name,order,preference,flags,service,regexp[,replacement] */
int conf_opt_naptr_record(struct conf_loader *l, char *arg)
{
    char *a[7] = {arg, NULL, NULL, NULL, NULL, NULL, NULL};
    int k = 1;
    for (; arg != NULL && k < 7; k++) {
        if ((a[k] = conf_split(a[k - 1], ',')) == NULL) {
            break;
        }
    }
    uint16_t order = 0, pref = 0;
    bool bad = false;
    char *name = k < 6 ? NULL : canon_name(a[0]);
    char *replace = NULL;
    if (name == NULL || !atoi16_ok(a[1], &order) || !atoi16_ok(a[2], &pref) ||
        (k == 7 && (replace = canon(a[6], &bad)) == NULL)) {
        free(name);
        return conf_fail(l, "bad NAPTR record");
    }
    /* dnsmasq copies these three without undoing the quoting of metacharacters, so a quoted
     * ':' or '.' reaches the wire as a control byte; dnsroute sends what was written. */
    conf_unhide(a[3]);
    conf_unhide(a[4]);
    conf_unhide(a[5]);
    localrec_add_naptr(store(l), name, order, pref, a[3], a[4], a[5], replace);
    free(name);
    free(replace);
    return 0;
}

/* One group of parse_hex: n digits give (n + 1) / 2 bytes, two digits each from the left (the
 * last one alone when n is odd). Returns false on a '*' inside the group. */
static bool hex_group(const char *in, size_t n, uint8_t *out, long *i)
{
    for (size_t j = 0; j < (n + 1) / 2; j++) {
        char pair[3] = {in[j * 2], (char)(j * 2 + 1 < n ? in[j * 2 + 1] : 0), 0};
        if (strchr(pair, '*') != NULL) {
            return false;
        }
        out[(*i)++] = (uint8_t)strtol(pair, NULL, 16);
    }
    return true;
}

/* dnsmasq parse_hex(in, in, -1): hex digits in groups separated by ':', '-' or ' '; "*" leaves
 * a byte as it was. In place; returns the byte count or -1. */
static long parse_hex(char *in)
{
    uint8_t *out = (uint8_t *)in;
    long i = 0;
    for (bool done = false; !done;) {
        size_t n = strcspn(in, ":- ");
        for (size_t k = 0; k < n; k++) {
            if (in[k] != '*' && !isxdigit((unsigned char)in[k])) {
                return -1;
            }
        }
        done = in[n] == '\0';
        in[n] = '\0';
        if (n > 0 && strcmp(in, "*") == 0) {
            i++;
        } else if (n > 0 && !hex_group(in, n, out, &i)) {
            return -1;
        }
        in += n + 1;
    }
    return i;
}

/* --dns-rr=name,type[,hexdata] */
int conf_opt_dns_rr(struct conf_loader *l, char *arg)
{
    char *comma = conf_split(arg, ',');
    char *data = conf_split(comma, ',');
    long type = 0, len = 0;
    char *name = NULL;
    if (!atoi_ok(comma, &type) || (name = canon_name(arg)) == NULL ||
        (data != NULL && (len = parse_hex(data)) < 0)) {
        free(name);
        return conf_fail(l, "bad RR record");
    }
    if ((uint16_t)type == DNSMSG_TYPE_OPT) {
        /* dnsmasq 2.90 takes it and then answers with an OPT in the answer section, which RFC
         * 6891 §6.1.1 forbids (resolvers reject the whole reply): refused instead. */
        free(name);
        return conf_fail(l, "bad RR record: type 41 is EDNS's OPT pseudo-record, not data");
    }
    localrec_add_rr(store(l), name, (uint16_t)type, (const uint8_t *)data, (size_t)len);
    free(name);
    return 0;
}

/* --caa-record=name,flags,tag,value */
int conf_opt_caa_record(struct conf_loader *l, char *arg)
{
    char *comma = conf_split(arg, ',');
    char *tag = conf_split(comma, ',');
    char *value = conf_split(tag, ',');
    long flags = 0;
    char *name = NULL;
    if (!atoi_ok(comma, &flags) || tag == NULL || value == NULL ||
        (name = canon_name(arg)) == NULL) {
        return conf_fail(l, "bad CAA record");
    }
    conf_unhide(tag);
    conf_unhide(value);
    size_t tl = strlen(tag), vl = strlen(value);
    uint8_t *rdata = mem_alloc(tl + vl + 2);
    rdata[0] = (uint8_t)flags;
    rdata[1] = (uint8_t)tl;
    memcpy(rdata + 2, tag, tl * sizeof(char));
    memcpy(rdata + 2 + tl, value, vl * sizeof(char));
    localrec_add_rr(store(l), name, LOCALREC_TYPE_CAA, rdata, tl + vl + 2);
    free(rdata);
    free(name);
    return 0;
}

static int conf_names_finish(struct conf_loader *l);

int conf_localrec_finish(struct conf_loader *l)
{
    struct conf *c = l->c;
    char host[NAME_TEXT_MAX + 1] = "";
    bool mx = c->localmx || c->mx_target != NULL;
    if (gethostname(host, sizeof(host) - 1) < 0 && mx) {
        return conf_fail_code(l, "cannot get host-name", CONF_EXIT_MISC);
    }
    struct localrec_finish_opts o = {
        .hostname = host,
        .mx_target = c->mx_target,
        .domain = c->domain, /* dnsmasq's domain_suffix: the plain domain= */
        .selfmx = c->selfmx,
        .localmx = c->localmx,
        .ident = !c->no_ident,
        .version = "dnsroute-" DNSROUTE_VERSION,
        .authors = "The dnsroute authors",
        .copyright = "dnsroute is free software, GPL-2.0-or-later",
    };
    localrec_finish(store(l), &o);
    return conf_names_finish(l);
}

/* ---- host-record, cname, interface-name (the localname store). */

static struct localname *names(struct conf_loader *l)
{
    if (l->c->names == NULL) {
        l->c->names = localname_new();
    }
    return l->c->names;
}

static bool all_digits(const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9') {
            return false;
        }
    }
    return true;
}

/* The fields of a host-record line: names, at most one address of each family (the last given
 * wins, as dnsmasq), a TTL (digits only; an empty field is 0, as dnsmasq's atoi). */
struct host_record {
    char **names;
    size_t count, cap;
    uint8_t a4[4], a6[16];
    bool has4, has6;
    int64_t ttl_s;
};

static int host_record_field(struct host_record *hr, char *arg)
{
    conf_unhide(arg);
    if (all_digits(arg)) {
        hr->ttl_s = (int)(unsigned)strtoul(arg, NULL, 10);
    } else if (inet_pton(AF_INET, arg, hr->a4) == 1) {
        hr->has4 = true;
    } else if (inet_pton(AF_INET6, arg, hr->a6) == 1) {
        hr->has6 = true;
    } else {
        char *name = canon_name(arg);
        if (name == NULL) {
            return -1;
        }
        mem_grow((void **)&hr->names, &hr->cap, hr->count + 1, sizeof(char *));
        hr->names[hr->count++] = name;
    }
    return 0;
}

/* --host-record=<name>[,<name>....],[<IPv4>],[<IPv6>][,<TTL>] */
int conf_opt_host_record(struct conf_loader *l, char *arg)
{
    char *comma = conf_split(arg, ',');
    if (comma == NULL) {
        return conf_fail(l, "Bad host-record");
    }
    struct host_record hr = {.ttl_s = -1};
    int rc = 0;
    while (arg != NULL && rc == 0) {
        rc = host_record_field(&hr, arg);
        arg = comma;
        comma = conf_split(arg, ',');
    }
    for (size_t i = 0; i < hr.count; i++) {
        if (rc == 0 && hr.has4) {
            localname_add_host(names(l), hr.names[i], AF_INET, hr.a4, hr.ttl_s);
        }
        if (rc == 0 && hr.has6) {
            localname_add_host(names(l), hr.names[i], AF_INET6, hr.a6, hr.ttl_s);
        }
        free(hr.names[i]);
    }
    free(hr.names);
    return rc < 0 ? conf_fail(l, "Bad name in host-record") : 0;
}

/* --cname=<alias>[,<alias>...],<target>[,<TTL>] */
int conf_opt_cname(struct conf_loader *l, char *arg)
{
    char **f = NULL;
    size_t n = 0, cap = 0;
    for (char *p = arg; p != NULL; p = conf_split(p, ',')) {
        mem_grow((void **)&f, &cap, n + 1, sizeof(char *));
        f[n++] = p;
    }
    long ttl = -1;
    size_t last = n - 1;
    if (n >= 3 && atoi_ok(f[last], &ttl)) {
        last--;
    }
    int rc = n < 2 ? conf_fail(l, "bad CNAME") : 0;
    char *target = NULL;
    for (size_t i = 0; rc == 0 && i < last; i++) {
        char *alias = canon_name(f[i]);
        target = target != NULL ? target : canon_name(f[last]);
        if (alias == NULL || target == NULL) {
            rc = conf_fail(l, "bad CNAME");
        } else if (localname_has_cname(names(l), alias)) {
            rc = conf_fail(l, "duplicate CNAME");
        } else {
            localname_add_cname(names(l), alias, target, ttl);
        }
        free(alias);
    }
    free(target);
    free(f);
    return rc;
}

/* --interface-name=<name>,<interface>[/4|/6] */
int conf_opt_interface_name(struct conf_loader *l, char *arg)
{
    char *ifname = conf_split(arg, ',');
    bool v4 = true, v6 = true, addr = false;
    uint8_t scratch[16];
    char *comma;
    /* dnsmasq parses leading addresses (dynamic-host's syntax) and refuses them here; a field
     * after the interface is ignored. */
    while (ifname != NULL && (comma = conf_split(ifname, ',')) != NULL) {
        conf_unhide(ifname);
        if (inet_pton(AF_INET, ifname, scratch) != 1 && inet_pton(AF_INET6, ifname, scratch) != 1) {
            break;
        }
        addr = true;
        ifname = comma;
    }
    char *fam = ifname != NULL ? conf_split(ifname, '/') : NULL;
    if (fam != NULL && strcmp(fam, "4") != 0 && strcmp(fam, "6") != 0) {
        return conf_fail(l, "error");
    }
    v6 = fam == NULL || strcmp(fam, "6") == 0;
    v4 = fam == NULL || strcmp(fam, "4") == 0;
    char *name = canon_name(arg);
    if (name == NULL || ifname == NULL || addr) {
        free(name);
        return conf_fail(l, "bad interface name");
    }
    conf_unhide(ifname);
    localname_add_ifname(names(l), name, ifname, v4, v6);
    free(name);
    return 0;
}

/* Completes the localname store once local-ttl is known (dnsmasq read_opts). */
static int conf_names_finish(struct conf_loader *l)
{
    char alias[NAME_TEXT_MAX + 1];
    if (localname_finish(names(l), l->c->local_ttl_s, alias, sizeof(alias)) < 0) {
        char msg[NAME_TEXT_MAX + 32];
        (void)snprintf(msg, sizeof(msg), "CNAME loop involving %s", alias);
        return conf_fail(l, msg);
    }
    return 0;
}

/* ---- synth-domain (dnsmasq option.c, case LOPT_SYNTH). */

/* dnsmasq MAXLABEL - INET_ADDRSTRLEN / INET6_ADDRSTRLEN: room left for the address text. */
#define SYNTH_PREFIX_MAX4 (63 - 16)
#define SYNTH_PREFIX_MAX6 (63 - 46)

static void synth_mask(struct synth_rule *r, unsigned bits)
{
    size_t alen = r->is6 ? 16 : 4;
    for (size_t i = 0; i < alen; i++) {
        unsigned keep = bits >= 8 * (i + 1) ? 8 : bits > 8 * i ? bits - 8 * (unsigned)i : 0;
        uint8_t mask = (uint8_t)(keep == 0 ? 0 : 0xFF << (8 - keep));
        r->start[i] &= mask;
        r->end[i] = (uint8_t)(r->start[i] | (uint8_t)~mask);
    }
}

/* ADDR/LEN[,PREFIX]: IPv4 masks the whole address; IPv6 (dnsmasq) only the low 64 bits, all of
 * them for /64 or shorter. */
static const char *synth_subnet(struct synth_rule *r, char *addr, char *len, char **prefix)
{
    *prefix = conf_split(len, ',');
    long bits;
    if (!atoi_ok(len, &bits)) {
        return "error";
    }
    if (inet_pton(AF_INET, addr, r->start) == 1) {
        if (bits > 32) {
            return "bad prefix length";
        }
        synth_mask(r, (unsigned)bits);
        return NULL;
    }
    if (inet_pton(AF_INET6, addr, r->start) != 1) {
        return "error";
    }
    if (bits > 128) {
        return "bad prefix length";
    }
    r->is6 = true;
    r->prefix_len = (unsigned)bits;
    memcpy(r->end, r->start, 16);
    unsigned low = bits <= 64 ? 0 : (unsigned)bits - 64;
    for (size_t i = 8; i < 16; i++) {
        unsigned keep = low >= 8 * (i - 7)  ? 8
                        : low > 8 * (i - 8) ? low - 8 * (unsigned)(i - 8)
                                            : 0;
        uint8_t mask = (uint8_t)(keep == 0 ? 0 : 0xFF << (8 - keep));
        r->start[i] &= mask;
        r->end[i] = (uint8_t)(r->start[i] | (uint8_t)~mask);
    }
    return NULL;
}

/* START[,END[,PREFIX]]. */
static const char *synth_range(struct synth_rule *r, char *start, char **prefix)
{
    char *end = conf_split(start, ',');
    *prefix = conf_split(end, ',');
    int family = inet_pton(AF_INET, start, r->start) == 1    ? AF_INET
                 : inet_pton(AF_INET6, start, r->start) == 1 ? AF_INET6
                                                             : 0;
    if (family == 0) {
        return "error";
    }
    r->is6 = family == AF_INET6;
    memcpy(r->end, r->start, 16);
    if (end != NULL && inet_pton(family, end, r->end) != 1) {
        return "error";
    }
    return NULL;
}

static char *synth_canon(char *s)
{
    return canon_name(s);
}

/* --synth-domain=<domain>,<address range>[,<prefix>[*]] */
int conf_opt_synth_domain(struct conf_loader *l, char *arg)
{
    char *range = conf_split(arg, ',');
    char *domain = canon_name(arg);
    if (domain == NULL || range == NULL) {
        free(domain);
        return conf_fail(l, "error");
    }
    conf_unhide(range);
    struct synth_rule r = {.domain = domain};
    char *prefix = NULL, *len = conf_split(range, '/');
    const char *msg =
        len != NULL ? synth_subnet(&r, range, len, &prefix) : synth_range(&r, range, &prefix);
    char *pre = NULL;
    if (msg == NULL && prefix != NULL) {
        pre = synth_canon(prefix);
        if (pre == NULL ||
            strlen(pre) > (r.is6 && len != NULL ? SYNTH_PREFIX_MAX6 : SYNTH_PREFIX_MAX4)) {
            msg = "bad prefix";
        }
    }
    size_t pl = pre != NULL ? strlen(pre) : 0;
    if (msg == NULL && pl != 0 && pre[pl - 1] == '*') {
        pre[pl - 1] = '\0';
        r.indexed = true;
        msg = r.is6 && r.prefix_len < 64 ? "prefix length too small" : NULL;
    }
    r.prefix = pre;
    if (msg == NULL) {
        if (l->c->synth == NULL) {
            l->c->synth = synth_new();
        }
        synth_add(l->c->synth, &r);
    }
    free(pre);
    free(domain);
    return msg != NULL ? conf_fail(l, msg) : 0;
}
