/* conf_dhcp.c - the DHCP options that matter to DNS when dnsmasq does the DHCP (port=0) and
 * dnsroute the DNS: dhcp-leasefile= (the leases whose names are served), dhcp-range= (which makes
 * dnsmasq default the lease file) and dhcp-host= (a host's configured name replaces the name in
 * its lease, dnsmasq lease.c lease_update_from_configs). DHCP itself is not done; dhcp-range= and
 * the DHCP parts of dhcp-host= are ignored (dnsmasq option.c cases 'l', 'F', 'G'). */
#include "conf_impl.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dnsroute/dname.h"
#include "dnsroute/leases.h"
#include "dnsroute/mem.h"

/* dhcp-leasefile[=PATH]: dnsroute reads the names of the leases dnsmasq's DHCP writes there. */
int conf_opt_dhcp_leasefile(struct conf_loader *l, char *arg)
{
    struct conf *c = l->c;
    free(c->lease_file);
    c->lease_file = NULL;
    if (arg != NULL) {
        conf_unhide(arg);
        c->lease_file = mem_strdup(arg);
    }
    return 0;
}

/* dhcp-range=...: DHCP itself is ignored (with the warning), but as in dnsmasq it makes the lease
 * file default to CONF_LEASE_FILE. */
int conf_opt_dhcp_range(struct conf_loader *l, char *arg)
{
    (void)arg;
    l->c->dhcp_range = true;
    return conf_ignored(l);
}

/* ---- dhcp-host=[HWADDR...][,id:CLIENT_ID|*][,tag:...][,set:...][,IPADDR][,[IPV6]][,NAME]
 *      [,LEASE_TIME][,ignore] */

void conf_dhcp_host_free(struct conf_dhcp_host *h)
{
    free(h->name);
    free(h->macs);
    free(h->clid);
    memset(h, 0, sizeof(*h));
}

/* "id:..." - hex when it has a colon, else the text itself; "id:*" ignores the client id. */
static int conf_dhcp_host_clid(struct conf_loader *l, struct conf_dhcp_host *h, char *arg)
{
    if (arg[0] == '*') {
        return 0;
    }
    uint8_t buf[LEASES_CLID_MAX];
    int len;
    if (strchr(arg, ':') != NULL) {
        len = leases_parse_hex(arg, buf, sizeof(buf), NULL, NULL);
    } else {
        conf_unhide(arg);
        len = (int)strnlen(arg, sizeof(buf));
        memcpy(buf, arg, (size_t)len);
    }
    if (len < 0) {
        return conf_fail(l, "bad hex constant");
    }
    free(h->clid);
    h->clid = mem_alloc((size_t)len + 1);
    memcpy(h->clid, buf, (size_t)len);
    h->clid_len = (size_t)len;
    return 0;
}

static int conf_dhcp_host_mac(struct conf_loader *l, struct conf_dhcp_host *h, const char *arg)
{
    struct conf_dhcp_mac m = {0};
    int n = leases_parse_hex(arg, m.hw, sizeof(m.hw), &m.type, &m.wildcard);
    if (n < 0) {
        return conf_fail(l, "bad hex constant");
    }
    m.len = (size_t)n;
    h->macs = mem_realloc(h->macs, (h->mac_count + 1) * sizeof(*h->macs));
    h->macs[h->mac_count++] = m;
    return 0;
}

/* "[ADDR[/PREFIX]]": checked as dnsmasq does, not used (DHCPv6 is dnsmasq's). */
static int conf_dhcp_host_v6(struct conf_loader *l, char *arg)
{
    arg[strlen(arg) - 1] = '\0';
    char *pref = conf_split(arg + 1, '/');
    uint8_t a[16];
    if (inet_pton(AF_INET6, arg + 1, a) != 1) {
        return conf_fail(l, "bad IPv6 address");
    }
    char *end = NULL;
    unsigned long len = pref != NULL ? strtoul(pref, &end, 10) : 0;
    if (pref != NULL && (*pref == '\0' || *end != '\0' || len > 128)) {
        return conf_fail(l, "bad IPv6 prefix");
    }
    for (unsigned long bit = len; pref != NULL && bit < 128; bit++) {
        if (bit >= 64 && (a[bit / 8] & (0x80 >> (bit % 8))) != 0) {
            return conf_fail(l, "bad IPv6 prefix"); /* host bits set below the prefix */
        }
    }
    return 0;
}

/* A field with a colon: client id, tag, IPv6 address or hardware address. */
static int conf_dhcp_host_colon(struct conf_loader *l, struct conf_dhcp_host *h, char *arg)
{
    if (tolower((unsigned char)arg[0]) == 'i' && tolower((unsigned char)arg[1]) == 'd' &&
        arg[2] == ':') {
        return conf_dhcp_host_clid(l, h, arg + 3);
    }
    if (strncmp(arg, "net:", 4) == 0 || strncmp(arg, "set:", 4) == 0 ||
        strncmp(arg, "tag:", 4) == 0) {
        return 0; /* DHCP tags: no meaning for names */
    }
    if (arg[0] == '[' && arg[strlen(arg) - 1] == ']') {
        return conf_dhcp_host_v6(l, arg);
    }
    return conf_dhcp_host_mac(l, h, arg);
}

/* dnsmasq legal_hostname on the first label: letters, digits, '-' and '_' (not first). */
static bool conf_dhcp_legal_hostname(const char *name)
{
    for (const char *p = name; *p != '\0' && *p != '.'; p++) {
        bool alnum = isalnum((unsigned char)*p) != 0;
        if (!alnum && !(p != name && (*p == '-' || *p == '_'))) {
            return false;
        }
    }
    return true;
}

/* A lease time ("45m", "12h", "infinite"), "ignore", or the host name. */
static int conf_dhcp_host_word(struct conf_loader *l, struct conf_dhcp_host *h, char *arg)
{
    size_t len = strlen(arg), i = 0;
    size_t end = len > 1 && strchr("wWdDhHmMsS", arg[len - 1]) != NULL ? len - 1 : len;
    while (i < end && (isdigit((unsigned char)arg[i]) || arg[i] == ' ')) {
        i++;
    }
    if (i == end || strcmp(arg, "infinite") == 0 || strcmp(arg, "ignore") == 0) {
        return 0; /* a lease time or a DHCP flag */
    }
    char key[DNAME_KEY_MAX + 1];
    conf_unhide(arg);
    if (dname_canonicalise(arg, strlen(arg), false, NULL, key, sizeof(key)) <= 0 ||
        !conf_dhcp_legal_hostname(key)) {
        return conf_fail(l, "bad DHCP host name");
    }
    char *dot = strchr(key, '.');
    if (dot != NULL) {
        *dot = '\0'; /* strip_hostname: the domain part is only checked by dnsmasq's DHCP */
    }
    free(h->name);
    h->name = mem_strdup(key);
    return 0;
}

static int conf_dhcp_host_field(struct conf_loader *l, struct conf_dhcp_host *h, char *arg)
{
    const struct conf *c = l->c;
    uint8_t a[4];
    if (strchr(arg, ':') != NULL) {
        return conf_dhcp_host_colon(l, h, arg);
    }
    if (strchr(arg, '.') != NULL && inet_pton(AF_INET, arg, a) == 1) {
        for (size_t i = 0; i < c->dhcp_host_count; i++) {
            if (c->dhcp_hosts[i].has_addr && memcmp(c->dhcp_hosts[i].addr, a, 4) == 0) {
                char msg[64];
                (void)snprintf(msg, sizeof(msg), "duplicate dhcp-host IP address %s", arg);
                return conf_fail(l, msg);
            }
        }
        h->has_addr = true;
        memcpy(h->addr, a, 4);
        return 0;
    }
    return conf_dhcp_host_word(l, h, arg);
}

int conf_opt_dhcp_host(struct conf_loader *l, char *arg)
{
    struct conf *c = l->c;
    struct conf_dhcp_host h = {0};
    for (char *field = arg; field != NULL;) {
        char *next = conf_split(field, ',');
        if (conf_dhcp_host_field(l, &h, field) < 0) {
            conf_dhcp_host_free(&h);
            return -1;
        }
        field = next;
    }
    mem_grow((void **)&c->dhcp_hosts, &l->dhcp_host_cap, c->dhcp_host_count + 1, sizeof(h));
    c->dhcp_hosts[c->dhcp_host_count++] = h;
    return 0;
}
