/* conf_hosts.c - the local-name options (addn-hosts=, domain=) and reading the hosts files of a
 * configuration into its name store (dnsmasq option.c case 's'/'H', cache.c cache_reload,
 * option.c expand_filelist, domain.c get_domain). */
#include "conf_impl.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "dnsroute/dname.h"
#include "dnsroute/hosts.h"
#include "dnsroute/log.h"
#include "dnsroute/mem.h"

#define CONF_HOSTS_FILE "/etc/hosts"

int conf_opt_addn_hosts(struct conf_loader *l, char *arg)
{
    struct conf *c = l->c;
    conf_unhide(arg);
    mem_grow((void **)&c->addn_hosts, &l->addn_hosts_cap, c->addn_hosts_count + 1, sizeof(char *));
    c->addn_hosts[c->addn_hosts_count++] = mem_strdup(arg);
    return 0;
}

/* hostsdir=DIR (dnsmasq option.c LOPT_HOST_INOTIFY): the directory as given. */
int conf_opt_hostsdir(struct conf_loader *l, char *arg)
{
    struct conf *c = l->c;
    conf_unhide(arg);
    mem_grow((void **)&c->hostsdirs, &l->hostsdir_cap, c->hostsdir_count + 1, sizeof(char *));
    c->hostsdirs[c->hostsdir_count++] = mem_strdup(arg);
    return 0;
}

/* ---- domain=NAME[,SUBNET[,local] | ,START[,END]] */

static void conf_domain_mask(struct conf_domain *d, unsigned prefix)
{
    size_t alen = d->family == AF_INET6 ? 16 : 4;
    for (size_t i = 0; i < alen; i++) {
        unsigned bits = prefix >= 8 * (i + 1) ? 8 : prefix > 8 * i ? prefix - 8 * (unsigned)i : 0;
        uint8_t mask = (uint8_t)(bits == 0 ? 0 : 0xFF << (8 - bits));
        d->start[i] &= mask;
        d->end[i] = (uint8_t)(d->start[i] | (uint8_t)~mask);
    }
}

static int conf_domain_subnet(struct conf_loader *l, struct conf_domain *d, char *addr, char *len)
{
    char *local = conf_split(len, ',');
    char *end = NULL;
    unsigned long prefix = strtoul(len, &end, 10);
    if (*len == '\0' || *end != '\0') {
        return conf_fail(l, "error");
    }
    if (inet_pton(AF_INET, addr, d->start) == 1) {
        d->family = AF_INET;
    } else if (inet_pton(AF_INET6, addr, d->start) == 1) {
        d->family = AF_INET6;
    } else {
        return conf_fail(l, "error");
    }
    if (prefix > (d->family == AF_INET ? 32U : 128U)) {
        return conf_fail(l, "bad prefix length");
    }
    conf_domain_mask(d, (unsigned)prefix);
    if (local != NULL && strcmp(local, "local") != 0) {
        return conf_fail(l, "error");
    }
    if (local != NULL) {
        char spec[DNAME_KEY_MAX + 4];
        (void)snprintf(spec, sizeof(spec), "/%s/", d->name);
        return conf_opt_local(l, spec);
    }
    return 0;
}

static int conf_domain_range(struct conf_loader *l, struct conf_domain *d, char *start)
{
    char *end = conf_split(start, ',');
    if (inet_pton(AF_INET, start, d->start) == 1) {
        d->family = AF_INET;
    } else if (inet_pton(AF_INET6, start, d->start) == 1) {
        d->family = AF_INET6;
    } else {
        /* dnsmasq: a subnet taken from an interface's addresses. */
        return conf_fail(l, "domain=NAME,INTERFACE is not supported");
    }
    memcpy(d->end, d->start, sizeof(d->end));
    if (end != NULL && inet_pton(d->family, end, d->end) != 1) {
        return conf_fail(l, "error");
    }
    return 0;
}

int conf_opt_domain(struct conf_loader *l, char *arg)
{
    struct conf *c = l->c;
    char *rest = conf_split(arg, ',');
    char key[DNAME_KEY_MAX + 1];
    if (rest == NULL && strcmp(arg, "#") == 0) {
        return 0; /* domain from resolv.conf's search: dnsroute has none to take */
    }
    conf_unhide(arg);
    if (dname_canonicalise(arg, strlen(arg), false, NULL, key, sizeof(key)) <= 0) {
        return conf_fail(l, "error");
    }
    if (rest == NULL) {
        free(c->domain);
        c->domain = mem_strdup(key);
        return 0;
    }
    struct conf_domain d = {.name = mem_strdup(key)};
    conf_unhide(rest);
    char *len = conf_split(rest, '/');
    int rc = len != NULL ? conf_domain_subnet(l, &d, rest, len) : conf_domain_range(l, &d, rest);
    if (rc < 0) {
        free(d.name);
        return rc;
    }
    mem_grow((void **)&c->domains, &l->domain_cap, c->domain_count + 1, sizeof(d));
    c->domains[c->domain_count++] = d;
    return 0;
}

const char *conf_domain_of(const struct conf *c, int family, const uint8_t *addr)
{
    size_t alen = family == AF_INET6 ? 16 : 4;
    /* dnsmasq prepends each domain= to its list: the last one given is tried first. */
    for (size_t i = c->domain_count; i-- > 0;) {
        const struct conf_domain *d = &c->domains[i];
        if (d->family == family && memcmp(addr, d->start, alen) >= 0 &&
            memcmp(addr, d->end, alen) <= 0) {
            return d->name;
        }
    }
    return c->domain;
}

/* ---- Reading. */

static const char *conf_hosts_domain(void *arg, int family, const uint8_t *addr)
{
    const struct conf *c = arg;
    return conf_domain_of(c, family, addr);
}

/* dnsmasq's file_filter: no dotfiles, no editor backups ("x~", "#x#"). */
static int conf_hosts_filter(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    return n != 0 && e->d_name[0] != '.' && e->d_name[n - 1] != '~' &&
           !(e->d_name[0] == '#' && e->d_name[n - 1] == '#');
}

static void conf_hosts_read_dir(struct conf *c, const char *dir)
{
    struct dirent **list = NULL;
    int n = scandir(dir, &list, conf_hosts_filter, alphasort);
    if (n < 0) {
        log_error("cannot access directory %s: %s", dir, strerror(errno));
        return;
    }
    hosts_domain_cb cb = c->expand_hosts ? conf_hosts_domain : NULL;
    for (int i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        int len = snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name);
        if (len > 0 && (size_t)len < sizeof(path) && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            hosts_read_file(c->hosts, path, cb, c);
        }
        free(list[i]);
    }
    free(list);
}

static bool conf_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

void conf_hosts_read_static(struct conf *c)
{
    hosts_free(c->hosts);
    c->hosts = NULL;
    if (c->no_hosts && c->addn_hosts_count == 0) {
        return;
    }
    c->hosts = hosts_new();
    hosts_domain_cb cb = c->expand_hosts ? conf_hosts_domain : NULL;
    if (!c->no_hosts) {
        hosts_read_file(c->hosts, CONF_HOSTS_FILE, cb, c);
    }
    /* dnsmasq keeps addn-hosts in a prepended list: the last given is read first; directories
     * are expanded into their files, which go after every plain file. */
    for (size_t i = c->addn_hosts_count; i-- > 0;) {
        if (!conf_is_dir(c->addn_hosts[i])) {
            hosts_read_file(c->hosts, c->addn_hosts[i], cb, c);
        }
    }
    for (size_t i = c->addn_hosts_count; i-- > 0;) {
        if (conf_is_dir(c->addn_hosts[i])) {
            conf_hosts_read_dir(c, c->addn_hosts[i]);
        }
    }
}
