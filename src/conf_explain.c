/* conf_explain.c - dnsroute's --explain: prints how the finished configuration routes one query
 * name (action, upstream group and its servers, local answer, ipset and nftset lists), and the
 * DNS type names it accepts. Reads a finished generation only. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf_impl.h"
#include "dnsroute/dname.h"

static const struct {
    const char *name;
    uint16_t type;
} qtypes[] = {
    {"A", 1},      {"NS", 2},     {"CNAME", 5},   {"SOA", 6},    {"PTR", 12},   {"HINFO", 13},
    {"MX", 15},    {"TXT", 16},   {"AAAA", 28},   {"SRV", 33},   {"NAPTR", 35}, {"DS", 43},
    {"RRSIG", 46}, {"NSEC", 47},  {"DNSKEY", 48}, {"NSEC3", 50}, {"TLSA", 52},  {"SVCB", 64},
    {"HTTPS", 65}, {"AXFR", 252}, {"ANY", 255},   {"CAA", 257},
};

int conf_parse_qtype(const char *text, uint16_t *qtype)
{
    for (size_t i = 0; i < sizeof(qtypes) / sizeof(qtypes[0]); i++) {
        if (strcasecmp(text, qtypes[i].name) == 0) {
            *qtype = qtypes[i].type;
            return 0;
        }
    }
    if (strncasecmp(text, "TYPE", 4) == 0) {
        text += 4;
    }
    char *end;
    unsigned long v = strtoul(text, &end, 10);
    if (*text < '0' || *text > '9' || *end != '\0' || v > 65535) {
        return -1;
    }
    *qtype = (uint16_t)v;
    return 0;
}

static void print_qtype(uint16_t qtype, FILE *out)
{
    for (size_t i = 0; i < sizeof(qtypes) / sizeof(qtypes[0]); i++) {
        if (qtypes[i].type == qtype) {
            (void)fputs(qtypes[i].name, out);
            return;
        }
    }
    (void)fprintf(out, "TYPE%u", qtype);
}

static void print_server(const struct conf_server *s, FILE *out)
{
    char text[SOCKADDR_TEXT_MAX];
    sockaddr_format(&s->addr, true, text, sizeof(text));
    (void)fputs(text, out);
    if (s->iface[0] != '\0') {
        (void)fprintf(out, "@%s", s->iface);
    }
    if (s->source.sa.sa_family != 0) {
        sockaddr_format(&s->source, sockaddr_port(&s->source) != 0, text, sizeof(text));
        (void)fprintf(out, "@%s", text);
    }
}

static void print_route(const struct domtree_result *r, FILE *out)
{
    if (r->route_key_len == 0) {
        (void)fputs("(default)", out);
    } else {
        (void)fprintf(out, "%.*s", (int)r->route_key_len, r->route_key);
    }
}

static void print_action(const struct conf *c, const struct domtree_result *r, FILE *out)
{
    switch (r->action) {
    case DOMTREE_FORWARD: {
        uint32_t count = 0;
        const uint32_t *ids = conf_group_servers(c, r->group, &count);
        (void)fprintf(out, "forward to group %u via ", r->group);
        print_route(r, out);
        (void)fputs(":", out);
        for (uint32_t i = 0; i < count; i++) {
            (void)fputs(i == 0 ? " " : ", ", out);
            print_server(&c->servers[ids[i]], out);
        }
        return;
    }
    case DOMTREE_ADDRESS: {
        int family = r->addr_family == AF_INET6 ? AF_INET6 : AF_INET;
        size_t size = family == AF_INET ? 4 : 16;
        (void)fputs("answer locally with", out);
        for (uint32_t i = 0; i < r->addr_count; i++) {
            char text[INET6_ADDRSTRLEN];
            inet_ntop(family, r->addrs + i * size, text, sizeof(text));
            (void)fprintf(out, "%s%s", i == 0 ? " " : ", ", text);
        }
        if (r->addr_family == AF_UNSPEC) { /* ANY for address=/d/#: both zero addresses */
            (void)fputs(", ::", out);
        }
        break;
    }
    case DOMTREE_NXDOMAIN:
        (void)fputs("answer NXDOMAIN locally", out);
        break;
    case DOMTREE_NODATA:
        (void)fputs("answer NODATA locally", out);
        break;
    case DOMTREE_REFUSED:
        (void)fputs("REFUSED: no upstream server", out);
        return;
    }
    (void)fputs(" via ", out);
    print_route(r, out);
}

static void print_sets(const struct conf *c, const char *label, uint32_t list, FILE *out)
{
    (void)fprintf(out, "; %s: ", label);
    if (list == DOMTREE_NONE) {
        (void)fputs("none", out);
        return;
    }
    const struct conf_setlist *sl = &c->setlists[list];
    for (uint32_t i = 0; i < sl->count; i++) {
        (void)fprintf(out, "%s%s", i == 0 ? "" : ",",
                      c->sets[c->setlist_items[sl->first + i]].spec);
    }
}

void conf_explain(const struct conf *c, const char *name, uint16_t qtype, FILE *out)
{
    char text[DNAME_KEY_MAX];
    (void)snprintf(text, sizeof(text), "%s", name);
    char *comma = strchr(text, ',');
    if (comma != NULL) {
        *comma = '\0';
        if (qtype == 0 && conf_parse_qtype(comma + 1, &qtype) < 0) {
            (void)fprintf(out, "%s: bad RR type %s\n", text, comma + 1);
            return;
        }
    }
    if (qtype == 0) {
        qtype = 1;
    }
    uint8_t wire[DNAME_WIRE_MAX];
    char key[DNAME_KEY_MAX];
    int wlen = dname_text_to_wire(text, strlen(text), wire, sizeof(wire));
    int klen = wlen < 0 ? wlen : dname_wire_to_key(wire, (size_t)wlen, key, sizeof(key));
    if (klen < 0) {
        (void)fprintf(out, "%s: bad domain name\n", text);
        return;
    }
    struct domtree_result r;
    domtree_lookup(c->tree, key, (size_t)klen, qtype, &r);
    (void)fprintf(out, "%s ", text);
    print_qtype(qtype, out);
    (void)fputs(": ", out);
    print_action(c, &r, out);
    print_sets(c, "ipset", r.ipset_list, out);
    print_sets(c, "nftset", r.nftset_list, out);
    (void)fputc('\n', out);
}
