/* conf_rules.c - the domain rule options: server=, local=, address=, rev-server=, ipset=, nftset=
 * and bogus-nxdomain=. Each line becomes interned upstream servers or sets plus domtree rules,
 * with dnsmasq's syntax and error wording (option.c parse_server and the 'S'/'A'/LOPT_IPSET
 * cases). Called from the option table in conf_options.c. */
#include <arpa/inet.h>
#include <ctype.h>
#include <linux/netfilter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_impl.h"
#include "dnsroute/compat.h"
#include "dnsroute/dname.h"
#include "dnsroute/err.h"
#include "dnsroute/mem.h"

/* Most addresses one server hostname may expand to (dnsmasq has no limit; 16 is plenty). */
#define RULES_MAX 16

enum rule_option { RULE_SERVER, RULE_LOCAL, RULE_ADDRESS };

/* The rules one server/local/address line applies to each of its domains. */
struct rule_set {
    struct domtree_rule rules[RULES_MAX];
    unsigned count;
};

/* Copies src into dst[cap]; false (dst untouched) when it does not fit. */
static bool copy_str(char *dst, size_t cap, const char *src)
{
    size_t len = strlen(src);
    if (len >= cap) {
        return false;
    }
    memcpy(dst, src, len + 1);
    return true;
}

static bool parse_port(const char *text, uint16_t *port)
{
    /* dnsmasq's atoi_check16: digits only (an empty string is 0), 0..65535. */
    unsigned long v = 0;
    for (const char *p = text; *p != '\0'; p++) {
        if (*p < '0' || *p > '9') {
            return false;
        }
        v = v * 10 + (unsigned long)(*p - '0');
        if (v > 65535) {
            return false;
        }
    }
    *port = (uint16_t)v;
    return true;
}

/* Parses an IPv4 or IPv6 literal (no scope) into a with port. */
static bool parse_literal(const char *text, uint16_t port, union sockaddr_any *a)
{
    memset(a, 0, sizeof(*a));
    if (inet_pton(AF_INET, text, &a->sin.sin_addr) == 1) {
        a->sin.sin_family = AF_INET;
        a->sin.sin_port = htons(port);
        return true;
    }
    if (inet_pton(AF_INET6, text, &a->sin6.sin6_addr) == 1) {
        a->sin6.sin6_family = AF_INET6;
        a->sin6.sin6_port = htons(port);
        return true;
    }
    return false;
}

/* The "@source[#port]" / "@iface" / "@iface@source" part of a server spec. */
static int parse_source(struct conf_loader *l, char *source, struct conf_server *s)
{
    char *iface = conf_split(source, '@');
    if (iface != NULL) {
        /* "a@b": a is the interface, b the source address. */
        char *tmp = source;
        source = iface;
        iface = tmp;
        (void)snprintf(s->iface, sizeof(s->iface), "%s", iface);
    }
    uint16_t port = 0;
    char *portno = conf_split(source, '#');
    if (portno != NULL && !parse_port(portno, &port)) {
        return conf_fail(l, "bad port");
    }
    if (parse_literal(source, port, &s->source)) {
        return 0;
    }
    if (s->iface[0] != '\0') {
        return conf_fail(l, "interface can only be specified once");
    }
    (void)snprintf(s->iface, sizeof(s->iface), "%s", source);
    return 0;
}

static int check_families(struct conf_loader *l, const struct conf_server *s)
{
    int src = s->source.sa.sa_family;
    if (src == 0 || src == s->addr.sa.sa_family) {
        return 0;
    }
    if (s->addr.sa.sa_family == AF_INET) {
        return conf_fail(l, "cannot use IPv4 server address with IPv6 source address");
    }
    return conf_fail(l, "cannot use IPv6 server address with IPv4 source address");
}

/* Appends one SERVER rule per address of a hostname (dnsmasq 2.88+ resolves it when it reads the
 * line), looked up through the caller's resolver; without one it does not resolve. */
static int resolve_hostname(struct conf_loader *l, const char *host, struct conf_server *s,
                            uint16_t port, struct rule_set *out)
{
    union sockaddr_any addrs[RULES_MAX];
    const char *why = "Cannot resolve server name";
    int n = l->resolver != NULL
                ? l->resolver->host(l->resolver->ctx, host, addrs, DNSROUTE_ARRAY_LEN(addrs), &why)
                : ERR_NOT_FOUND;
    if (n <= 0) {
        return conf_fail(l, why);
    }
    for (int i = 0; i < n && out->count < RULES_MAX; i++) {
        if (addrs[i].sa.sa_family != AF_INET && addrs[i].sa.sa_family != AF_INET6) {
            continue;
        }
        s->addr = addrs[i];
        sockaddr_set_port(&s->addr, port);
        if (check_families(l, s) < 0) {
            return -1;
        }
        out->rules[out->count++] =
            (struct domtree_rule){.kind = DOMTREE_RULE_SERVER, .id = conf_intern_server(l, s)};
    }
    return 0;
}

/* dnsmasq's parse_server(): addr[#port][%scope][@iface][@source[#port]] or a hostname. */
static int parse_server_spec(struct conf_loader *l, char *spec, struct rule_set *out)
{
    struct conf_server s;
    memset(&s, 0, sizeof(s));
    s.from_servers_file = l->servers_only;
    s.from_dbus = l->from_dbus;
    char *source = conf_split(spec, '@');
    if (source != NULL && parse_source(l, source, &s) < 0) {
        return -1;
    }
    uint16_t port = 53;
    char *portno = conf_split(spec, '#');
    if (portno != NULL && !parse_port(portno, &port)) {
        return conf_fail(l, "bad port");
    }
    char *scope = conf_split(spec, '%');
    if (inet_pton(AF_INET, spec, &s.addr.sin.sin_addr) == 1) {
        s.addr.sin.sin_family = AF_INET;
        s.addr.sin.sin_port = htons(port);
    } else if (inet_pton(AF_INET6, spec, &s.addr.sin6.sin6_addr) == 1) {
        s.addr.sin6.sin6_family = AF_INET6;
        s.addr.sin6.sin6_port = htons(port);
        if (scope != NULL && (s.addr.sin6.sin6_scope_id = conf_ifindex(l, scope)) == 0) {
            return conf_fail(l, "bad interface name");
        }
    } else {
        return resolve_hostname(l, spec, &s, port, out);
    }
    if (check_families(l, &s) < 0) {
        return -1;
    }
    out->rules[out->count++] =
        (struct domtree_rule){.kind = DOMTREE_RULE_SERVER, .id = conf_intern_server(l, &s)};
    return 0;
}

/* address= values: '#' (zeros), an IPv4 or an IPv6 literal. */
static int parse_address_spec(struct conf_loader *l, const char *spec, struct rule_set *out)
{
    struct domtree_rule *r = &out->rules[out->count++];
    memset(r, 0, sizeof(*r));
    if (strcmp(spec, "#") == 0) {
        r->kind = DOMTREE_RULE_ZEROS;
    } else if (inet_pton(AF_INET, spec, r->addr) == 1) {
        r->kind = DOMTREE_RULE_ADDR4;
    } else if (inet_pton(AF_INET6, spec, r->addr) == 1) {
        r->kind = DOMTREE_RULE_ADDR6;
    } else {
        return conf_fail(l, "Bad address in --address");
    }
    return 0;
}

static int parse_spec(struct conf_loader *l, enum rule_option opt, char *spec, struct rule_set *out)
{
    out->count = 0;
    if (spec == NULL || *spec == '\0') {
        /* server=/d/, local=/d/, address=/d/: answered locally, never forwarded. */
        out->rules[out->count++] = (struct domtree_rule){.kind = DOMTREE_RULE_LOCAL};
        return 0;
    }
    if (opt == RULE_ADDRESS) {
        return parse_address_spec(l, spec, out);
    }
    if (strcmp(spec, "#") == 0) {
        out->rules[out->count++] = (struct domtree_rule){.kind = DOMTREE_RULE_USE_RESOLV};
        return 0;
    }
    return parse_server_spec(l, spec, out);
}

/* Canonicalises one domain of a /d1/d2/ list into key[DNAME_KEY_MAX]; sets *scope. Returns the
 * key length or -1. "" is dnsmasq's '//' (names without dots) for server rules, '#' is every name.
 */
static int domain_key(struct conf_loader *l, char *text, bool server_rule, char *key,
                      enum domtree_scope *scope)
{
    *scope = DOMTREE_SCOPE_SUFFIX;
    key[0] = '\0';
    if (strcmp(text, "#") == 0) {
        return 0;
    }
    if (*text == '\0') {
        *scope = server_rule ? DOMTREE_SCOPE_NODOTS : DOMTREE_SCOPE_SUFFIX;
        return 0;
    }
    bool wildcard = false;
    int len = dname_canonicalise(text, strlen(text), server_rule, &wildcard, key, DNAME_KEY_MAX);
    if (len < 0) {
        return conf_fail(l, "error");
    }
    if (wildcard && len > 0) {
        *scope = DOMTREE_SCOPE_WILDCARD;
    }
    return len;
}

static int add_rules(struct conf_loader *l, char *domain, bool server_rule,
                     struct domtree_rule *rules, unsigned count)
{
    char key[DNAME_KEY_MAX];
    enum domtree_scope scope;
    int len = domain_key(l, domain, server_rule, key, &scope);
    if (len < 0) {
        return -1;
    }
    for (unsigned i = 0; i < count; i++) {
        rules[i].scope = scope;
        if (conf_add_rule(l, key, (size_t)len, &rules[i]) < 0) {
            return -1;
        }
    }
    return 0;
}

/* Splits "/d1/d2/.../rest" into the domain list (returned, '/'-separated, NULL when there is no
 * leading '/') and *rest, the text after the last '/'. */
static char *split_domains(char *arg, char **rest)
{
    *rest = arg;
    if (arg == NULL || *arg != '/') {
        return NULL;
    }
    char *last = strrchr(arg, '/');
    if (last == arg) {
        /* "/a.com" without a closing '/': a.com is the server itself (dnsmasq). */
        *rest = arg + 1;
        return NULL;
    }
    *last = '\0';
    for (char *p = last - 1; p > arg && *p == ' '; p--) {
        *p = '\0';
    }
    for (*rest = last + 1; **rest == ' '; (*rest)++) {
    }
    return arg + 1;
}

/* Calls add_rules for every domain of a '/'-separated list (spaces around '/' trimmed). */
static int for_each_domain(struct conf_loader *l, char *list, bool server_rule,
                           struct domtree_rule *rules, unsigned count)
{
    for (char *d = list; d != NULL;) {
        while (*d == ' ') {
            d++;
        }
        char *next = conf_split(d, '/');
        if (add_rules(l, d, server_rule, rules, count) < 0) {
            return -1;
        }
        d = next;
    }
    return 0;
}

static int server_like(struct conf_loader *l, char *arg, enum rule_option opt)
{
    if (arg != NULL) {
        conf_unhide(arg);
    }
    char *spec;
    char *domains = split_domains(arg, &spec);
    struct rule_set rs;
    if (parse_spec(l, opt, spec, &rs) < 0) {
        return -1;
    }
    if (domains == NULL) {
        char empty[] = "#";
        return add_rules(l, empty, true, rs.rules, rs.count);
    }
    return for_each_domain(l, domains, true, rs.rules, rs.count);
}

int conf_opt_server(struct conf_loader *l, char *arg)
{
    return server_like(l, arg, RULE_SERVER);
}

int conf_opt_local(struct conf_loader *l, char *arg)
{
    return server_like(l, arg, RULE_LOCAL);
}

int conf_opt_address(struct conf_loader *l, char *arg)
{
    return server_like(l, arg, RULE_ADDRESS);
}

/* Appends the reverse-zone name of the first `units` bytes (v4) or nibbles (v6) of addr. */
static void reverse_name(int family, const uint8_t *addr, unsigned units, char *out, size_t cap)
{
    size_t n = 0;
    for (unsigned i = units; i-- > 0;) {
        unsigned v = family == AF_INET ? addr[i] : (addr[i / 2] >> ((i % 2) ? 0 : 4)) & 0xf;
        n += (size_t)snprintf(out + n, cap - n, family == AF_INET ? "%u." : "%x.", v);
    }
    (void)snprintf(out + n, cap - n, "%s", family == AF_INET ? "in-addr.arpa" : "ip6.arpa");
}

/* rev-server=addr[/prefix][,spec]: server=/<reverse zone>/spec for every zone the prefix spans. */
int conf_opt_rev_server(struct conf_loader *l, char *arg)
{
    char *spec = conf_split(arg, ',');
    char *slash = conf_split(arg, '/');
    conf_unhide(arg);
    uint8_t addr[16] = {0};
    int family = AF_INET;
    if (inet_pton(AF_INET, arg, addr) != 1) {
        family = AF_INET6;
        if (inet_pton(AF_INET6, arg, addr) != 1) {
            return conf_fail(l, "error");
        }
    }
    unsigned max = family == AF_INET ? 32 : 128, unit = family == AF_INET ? 8 : 4;
    unsigned prefix = max;
    if (slash != NULL) {
        char *end;
        unsigned long v = strtoul(slash, &end, 10);
        if (*slash == '\0' || *end != '\0' || v < 1 || v > max) {
            return conf_fail(l, family == AF_INET ? "bad IPv4 prefix length"
                                                  : "bad IPv6 prefix length");
        }
        prefix = (unsigned)v;
    }
    struct rule_set rs;
    if (spec != NULL) {
        conf_unhide(spec);
    }
    if (parse_spec(l, RULE_SERVER, spec, &rs) < 0) {
        return -1;
    }
    unsigned units = (prefix + unit - 1) / unit, spare = units * unit - prefix;
    /* Zero the host bits, then walk the 2^spare zones that cover the partial unit. */
    for (unsigned bit = prefix; bit < max; bit++) {
        addr[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
    }
    unsigned last_bit = units * unit - 1;
    for (unsigned k = 0; k < (1u << spare); k++) {
        uint8_t a[16];
        memcpy(a, addr, sizeof(a));
        for (unsigned b = 0; b < spare; b++) {
            if (k & (1u << b)) {
                unsigned bit = last_bit - b;
                a[bit / 8] |= (uint8_t)(0x80u >> (bit % 8));
            }
        }
        char name[80];
        reverse_name(family, a, units, name, sizeof(name));
        if (add_rules(l, name, true, rs.rules, rs.count) < 0) {
            return -1;
        }
    }
    return 0;
}

/* Parses one nftset spec "[4|6#][family#]table#set" (dnsmasq turns '#' into spaces). */
static int parse_nftset(struct conf_loader *l, const char *text, struct conf_set *s)
{
    char buf[sizeof(s->spec)];
    char *tok[5];
    unsigned n = 0;
    (void)snprintf(buf, sizeof(buf), "%s", text);
    for (char *save = NULL, *t = strtok_r(buf, "# ", &save); t != NULL;
         t = strtok_r(NULL, "# ", &save)) {
        if (n == DNSROUTE_ARRAY_LEN(tok)) {
            return conf_fail(l, "error");
        }
        tok[n++] = t;
    }
    unsigned i = 0;
    if (n > 0 && (strcmp(tok[0], "4") == 0 || strcmp(tok[0], "6") == 0)) {
        s->only_family = (uint8_t)(tok[0][0] - '0');
        i = 1;
    }
    s->nf_family = NFPROTO_IPV4;
    if (n - i == 3) {
        const char *f = tok[i++];
        static const struct {
            const char *name;
            uint8_t family;
        } families[] = {{"ip", NFPROTO_IPV4},       {"ip6", NFPROTO_IPV6},
                        {"inet", NFPROTO_INET},     {"arp", NFPROTO_ARP},
                        {"bridge", NFPROTO_BRIDGE}, {"netdev", NFPROTO_NETDEV}};
        size_t k = 0;
        while (k < DNSROUTE_ARRAY_LEN(families) && strcmp(f, families[k].name) != 0) {
            k++;
        }
        if (k == DNSROUTE_ARRAY_LEN(families)) {
            return conf_fail(l, "error");
        }
        s->nf_family = families[k].family;
    }
    if (n - i != 2 || strlen(tok[i]) >= sizeof(s->table) || strlen(tok[i + 1]) >= sizeof(s->name)) {
        return conf_fail(l, "error");
    }
    (void)snprintf(s->table, sizeof(s->table), "%s", tok[i]);
    (void)snprintf(s->name, sizeof(s->name), "%s", tok[i + 1]);
    return 0;
}

/* Interns the comma-separated set list of an ipset=/nftset= line into a set list id. */
static int parse_set_list(struct conf_loader *l, char *list, enum conf_set_kind kind,
                          uint32_t *list_id)
{
    uint32_t ids[CONF_LINE_MAX / 2];
    uint32_t count = 0;
    for (char *name = list; name != NULL && *name != '\0';) {
        char *next = conf_split(name, ',');
        conf_unhide(name);
        struct conf_set s;
        memset(&s, 0, sizeof(s));
        s.kind = kind;
        if (count == DNSROUTE_ARRAY_LEN(ids) || !copy_str(s.spec, sizeof(s.spec), name)) {
            return conf_fail(l, "error");
        }
        if (kind == CONF_SET_NFTSET && parse_nftset(l, name, &s) < 0) {
            return -1;
        }
        if (kind == CONF_SET_IPSET) {
            if (!copy_str(s.name, sizeof(s.name), name)) {
                return conf_fail(l, "error");
            }
        }
        ids[count++] = conf_intern_set(l, &s);
        name = next;
    }
    if (count == 0) {
        return conf_fail(l, "error");
    }
    *list_id = conf_intern_setlist(l, ids, count);
    return 0;
}

/* ipset=/d1/d2/set1,set2 and nftset=: no wildcards; '#' or an empty domain is every name. */
static int set_option(struct conf_loader *l, char *arg, enum conf_set_kind kind)
{
    char *list;
    char *domains = split_domains(arg, &list);
    struct domtree_rule rule = {.kind = kind == CONF_SET_IPSET ? DOMTREE_RULE_IPSET
                                                               : DOMTREE_RULE_NFTSET};
    if (parse_set_list(l, list, kind, &rule.id) < 0) {
        return -1;
    }
    if (domains == NULL) {
        char all[] = "#";
        return add_rules(l, all, false, &rule, 1);
    }
    return for_each_domain(l, domains, false, &rule, 1);
}

int conf_opt_ipset(struct conf_loader *l, char *arg)
{
    return set_option(l, arg, CONF_SET_IPSET);
}

int conf_opt_nftset(struct conf_loader *l, char *arg)
{
    return set_option(l, arg, CONF_SET_NFTSET);
}

/* bogus-nxdomain=addr[/prefix]: IPv4 or IPv6. */
int conf_opt_bogus_nxdomain(struct conf_loader *l, char *arg)
{
    char *slash = conf_split(arg, '/');
    conf_unhide(arg);
    struct conf_prefix p;
    memset(&p, 0, sizeof(p));
    p.family = AF_INET;
    if (inet_pton(AF_INET, arg, p.addr) != 1) {
        p.family = AF_INET6;
        if (inet_pton(AF_INET6, arg, p.addr) != 1) {
            return conf_fail(l, "error");
        }
    }
    unsigned max = p.family == AF_INET ? 32 : 128;
    p.prefix_len = (uint8_t)max;
    if (slash != NULL) {
        char *end;
        unsigned long v = strtoul(slash, &end, 10);
        /* dnsmasq's atoi_check: digits only, so "1.2.3.4/" is prefix 0 there too. */
        if (*end != '\0' || (*slash != '\0' && !isdigit((unsigned char)*slash)) || v > max) {
            return conf_fail(l, "error");
        }
        p.prefix_len = (uint8_t)v;
    }
    struct conf *c = l->c;
    mem_grow((void **)&c->bogus_nxdomain, &l->bogus_cap, c->bogus_nxdomain_count + 1, sizeof(p));
    c->bogus_nxdomain[c->bogus_nxdomain_count++] = p;
    if (c->bogus_set == NULL) {
        c->bogus_set = prefixset_new();
    }
    (void)prefixset_add(c->bogus_set, p.family, p.addr, p.prefix_len); /* checked above */
    return 0;
}
