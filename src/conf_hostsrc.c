/* conf_hostsrc.c - where a configuration's hosts data comes from, kept so that it can be rebuilt
 * when part of it changes: /etc/hosts and addn-hosts= (read once per load, dnsmasq cache.c
 * cache_reload), the files of each hostsdir= (read at load, then one by one as inotify reports
 * them, dnsmasq inotify.c set_dynamic_inotify and inotify_check), and the names of the DHCP
 * leases in the lease file (dnsmasq lease.c read_leases, lease_calc_fqdns, lease_update_dns and
 * cache.c cache_add_dhcp_entry). The merged store answers queries; this module builds it. */
#include "conf_impl.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include "dnsroute/dname.h"
#include "dnsroute/hosts.h"
#include "dnsroute/leases.h"
#include "dnsroute/log.h"
#include "dnsroute/mem.h"

/* One file of a hostsdir=, with its own records (NULL once deleted). */
struct conf_hostsrc_file {
    size_t dir; /* index into conf.hostsdirs */
    char *path; /* DIR/NAME */
    struct hosts *recs;
};

/* One lease with a name (dnsmasq's struct dhcp_lease, the parts DNS uses). */
struct conf_hostsrc_lease {
    int family;
    uint8_t addr[16];
    int64_t expires_s;
    char *name; /* NULL: no name (none given, or taken by a later lease) */
    uint8_t clid[LEASES_CLID_MAX];
    size_t clid_len;
    uint8_t hwaddr[LEASES_HWADDR_MAX];
    size_t hw_len;
    int hw_type;
};

struct conf_hostsrc {
    /* In dnsmasq's order: the directories' files as read at load, then each file re-read since
     * (a re-read file's names come after every other's, as in dnsmasq's cache). */
    struct conf_hostsrc_file *files;
    size_t file_count, file_cap;
    struct conf_hostsrc_lease *leases; /* in file order */
    size_t lease_count, lease_cap;
};

static const char *conf_hostsrc_domain(void *arg, int family, const uint8_t *addr)
{
    return conf_domain_of(arg, family, addr);
}

void conf_hostsrc_free(struct conf_hostsrc *s)
{
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < s->file_count; i++) {
        free(s->files[i].path);
        hosts_free(s->files[i].recs);
    }
    free(s->files);
    for (size_t i = 0; i < s->lease_count; i++) {
        free(s->leases[i].name);
    }
    free(s->leases);
    free(s);
}

/* ---- hostsdir files. */

/* dnsmasq's filter for dynamic directories: no dotfiles, no editor backups ("x~", "#x#"). */
static bool conf_hostsrc_name_ok(const char *name)
{
    size_t n = strlen(name);
    return n != 0 && name[0] != '.' && name[n - 1] != '~' &&
           !(name[0] == '#' && name[n - 1] == '#');
}

static struct conf_hostsrc_file *conf_hostsrc_add_file(struct conf_hostsrc *s, size_t dir,
                                                       const char *path)
{
    mem_grow((void **)&s->files, &s->file_cap, s->file_count + 1, sizeof(*s->files));
    struct conf_hostsrc_file *f = &s->files[s->file_count++];
    f->dir = dir;
    f->path = mem_strdup(path);
    f->recs = NULL;
    return f;
}

static void conf_hostsrc_read_file(struct conf_hostsrc_file *f, const struct conf *c)
{
    struct stat st;
    hosts_free(f->recs);
    f->recs = NULL;
    if (stat(f->path, &st) != 0 || !S_ISREG(st.st_mode)) {
        return; /* dnsmasq reads regular files only */
    }
    f->recs = hosts_new();
    hosts_read_file(f->recs, f->path, c->expand_hosts ? conf_hostsrc_domain : NULL, (void *)c);
}

/* Reads the files of c->hostsdirs[dir] in directory order, as dnsmasq's readdir loop. */
static void conf_hostsrc_read_dir(struct conf_hostsrc *s, const struct conf *c, size_t dir)
{
    const char *dname = c->hostsdirs[dir];
    struct stat st;
    if (stat(dname, &st) != 0) {
        log_error("bad dynamic directory %s: %s", dname, strerror(errno));
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        log_error("bad dynamic directory %s: %s", dname, "not a directory");
        return;
    }
    DIR *d = opendir(dname);
    if (d == NULL) {
        log_error("failed to create inotify for %s: %s", dname, strerror(errno));
        return;
    }
    for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
        char path[4096];
        int n = snprintf(path, sizeof(path), "%s/%s", dname, e->d_name);
        if (conf_hostsrc_name_ok(e->d_name) && n > 0 && (size_t)n < sizeof(path)) {
            conf_hostsrc_read_file(conf_hostsrc_add_file(s, dir, path), c);
        }
    }
    (void)closedir(d);
}

void conf_hostsrc_file_event(struct conf_hostsrc *s, const struct conf *c, size_t dir,
                             const char *name, bool removed)
{
    char path[4096];
    int n = snprintf(path, sizeof(path), "%s/%s", c->hostsdirs[dir], name);
    if (!conf_hostsrc_name_ok(name) || n <= 0 || (size_t)n >= sizeof(path)) {
        return;
    }
    log_info(removed ? "inotify: %s removed" : "inotify: %s new or modified", path);
    struct conf_hostsrc_file keep = {.dir = dir};
    for (size_t i = 0; i < s->file_count; i++) {
        if (s->files[i].dir == dir && strcmp(s->files[i].path, path) == 0) {
            keep = s->files[i];
            memmove(&s->files[i], &s->files[i + 1], (s->file_count - i - 1) * sizeof(*s->files));
            s->file_count--;
            break;
        }
    }
    size_t flushed = keep.recs != NULL ? hosts_count(keep.recs) : 0;
    if (flushed > 0) {
        log_info("inotify: flushed %zu names read from %s", flushed, path);
    }
    hosts_free(keep.recs);
    free(keep.path);
    struct conf_hostsrc_file *f = conf_hostsrc_add_file(s, dir, path);
    if (!removed) {
        conf_hostsrc_read_file(f, c);
    }
}

/* ---- Leases. */

static bool conf_hostsrc_same_client(const struct conf_hostsrc_lease *a,
                                     const struct leases_entry *b)
{
    return a->clid_len != 0 && a->clid_len == b->clid_len &&
           memcmp(a->clid, b->clid, b->clid_len) == 0;
}

/* A lease read from the file. As dnsmasq's lease_set_hostname, a name already held by an earlier
 * lease of the same kind moves to this one (IPv6 leases of one DUID may share a name). */
static void conf_hostsrc_on_lease(void *arg, const struct leases_entry *e)
{
    struct conf_hostsrc *s = arg;
    for (size_t i = 0; e->has_name && i < s->lease_count; i++) {
        struct conf_hostsrc_lease *old = &s->leases[i];
        if (old->name == NULL || strcasecmp(old->name, e->name) != 0 || old->family != e->family ||
            (e->family == AF_INET6 && conf_hostsrc_same_client(old, e))) {
            continue;
        }
        free(old->name);
        old->name = NULL;
        break;
    }
    mem_grow((void **)&s->leases, &s->lease_cap, s->lease_count + 1, sizeof(*s->leases));
    struct conf_hostsrc_lease *l = &s->leases[s->lease_count++];
    memset(l, 0, sizeof(*l));
    l->family = e->family;
    memcpy(l->addr, e->addr, sizeof(l->addr));
    l->expires_s = e->expires_s;
    l->name = e->has_name ? mem_strdup(e->name) : NULL;
    memcpy(l->clid, e->clid, e->clid_len);
    l->clid_len = e->clid_len;
    memcpy(l->hwaddr, e->hwaddr, e->hw_len);
    l->hw_len = e->hw_len;
    l->hw_type = e->hw_type;
}

void conf_hostsrc_reload_leases(struct conf_hostsrc *s, const struct conf *c)
{
    for (size_t i = 0; i < s->lease_count; i++) {
        free(s->leases[i].name);
    }
    s->lease_count = 0;
    if (c->lease_file != NULL) {
        int n = leases_read_file(c->lease_file, conf_hostsrc_on_lease, s);
        if (n >= 0) {
            log_info("read %s - %d leases", c->lease_file, n);
        }
    }
}

static bool conf_hostsrc_expired(const struct conf_hostsrc_lease *l, int64_t now_s)
{
    return l->expires_s != 0 && now_s >= l->expires_s;
}

int64_t conf_hostsrc_next_expiry(const struct conf_hostsrc *s, int64_t now_s)
{
    int64_t next = -1;
    for (size_t i = 0; i < s->lease_count; i++) {
        const struct conf_hostsrc_lease *l = &s->leases[i];
        if (!conf_hostsrc_expired(l, now_s) && l->expires_s != 0 &&
            (next < 0 || l->expires_s - now_s < next)) {
            next = l->expires_s - now_s;
        }
    }
    return next;
}

/* ---- Names from the configuration (dnsmasq lease_update_from_configs). */

static bool conf_hostsrc_clid_match(const struct conf_dhcp_host *h,
                                    const struct conf_hostsrc_lease *l)
{
    if (h->clid == NULL || l->clid_len == 0) {
        return false;
    }
    if (h->clid_len == l->clid_len && memcmp(h->clid, l->clid, l->clid_len) == 0) {
        return true;
    }
    /* dhcpcd prefixes ASCII client ids with a zero byte; dnsmasq copes, so do we. */
    return l->clid[0] == 0 && h->clid_len == l->clid_len - 1 &&
           memcmp(h->clid, l->clid + 1, h->clid_len) == 0;
}

static bool conf_hostsrc_mac_fits(const struct conf_dhcp_mac *m, const struct conf_hostsrc_lease *l)
{
    return m->len == l->hw_len && (m->type == l->hw_type || m->type == 0);
}

/* dnsmasq memcmp_masked: 0 when a byte outside the wildcards differs, else 1 + the bytes that
 * matched. */
static int conf_hostsrc_masked(const struct conf_dhcp_mac *m, const struct conf_hostsrc_lease *l)
{
    int count = 1;
    uint32_t mask = m->wildcard;
    for (size_t i = l->hw_len; i-- > 0; mask >>= 1) {
        if (!(mask & 1) && m->hw[i] != l->hwaddr[i]) {
            return 0;
        }
        count += !(mask & 1);
    }
    return count;
}

/* dnsmasq find_config without a DHCP context: the client id, then an exact hardware address,
 * then the hardware address with the fewest wildcard bytes; the last dhcp-host given first. */
static const struct conf_dhcp_host *conf_hostsrc_find_config(const struct conf *c,
                                                             const struct conf_hostsrc_lease *l)
{
    for (size_t i = c->dhcp_host_count; i-- > 0;) {
        if (conf_hostsrc_clid_match(&c->dhcp_hosts[i], l)) {
            return &c->dhcp_hosts[i];
        }
    }
    for (size_t i = c->dhcp_host_count; i-- > 0;) {
        const struct conf_dhcp_host *h = &c->dhcp_hosts[i];
        for (size_t k = 0; k < h->mac_count; k++) {
            const struct conf_dhcp_mac *m = &h->macs[k];
            if (m->wildcard == 0 && conf_hostsrc_mac_fits(m, l) &&
                memcmp(m->hw, l->hwaddr, l->hw_len) == 0) {
                return h;
            }
        }
    }
    const struct conf_dhcp_host *best = NULL;
    int count = 0;
    for (size_t i = c->dhcp_host_count; i-- > 0;) {
        const struct conf_dhcp_host *h = &c->dhcp_hosts[i];
        for (size_t k = 0; k < h->mac_count; k++) {
            int n = h->macs[k].wildcard != 0 && conf_hostsrc_mac_fits(&h->macs[k], l)
                        ? conf_hostsrc_masked(&h->macs[k], l)
                        : 0;
            if (n > count) {
                count = n;
                best = h;
            }
        }
    }
    return best;
}

/* dnsmasq host_from_dns: the name the hosts files give the lease's address (its PTR owner),
 * without its domain, when that domain is the lease's own and the name a legal host name. */
static bool conf_hostsrc_from_hosts(const struct conf *c, const struct hosts *h,
                                    const struct conf_hostsrc_lease *l, char *out, size_t len)
{
    const char *name = h != NULL ? hosts_lookup_addr(h, AF_INET, l->addr) : NULL;
    if (name == NULL || strlen(name) >= len) {
        return false;
    }
    const char *dot = strchr(name, '.');
    const char *domain = conf_domain_of(c, AF_INET, l->addr);
    if (dot != NULL && dot[1] != '\0' && (domain == NULL || strcasecmp(dot + 1, domain) != 0)) {
        return false;
    }
    for (const char *p = name; *p != '\0' && *p != '.'; p++) {
        if (!isalnum((unsigned char)*p) && !(p != name && (*p == '-' || *p == '_'))) {
            return false;
        }
    }
    size_t n = dot != NULL ? (size_t)(dot - name) : strlen(name);
    memcpy(out, name, n);
    out[n] = '\0';
    return true;
}

/* The names the leases answer to: the file's, then (newest lease first) a dhcp-host= name or
 * the hosts files' name of the address, which takes the name from any other IPv4 lease (dnsmasq
 * lease_set_hostname with auth). names[i] is owned by the caller (free each, then the array). */
static char **conf_hostsrc_lease_names(const struct conf_hostsrc *s, const struct conf *c,
                                       const struct hosts *h)
{
    char **names = mem_calloc(s->lease_count + 1, sizeof(char *));
    for (size_t i = 0; i < s->lease_count; i++) {
        names[i] = s->leases[i].name != NULL ? mem_strdup(s->leases[i].name) : NULL;
    }
    for (size_t i = s->lease_count; i-- > 0;) {
        const struct conf_hostsrc_lease *l = &s->leases[i];
        if (l->family != AF_INET) {
            continue;
        }
        const struct conf_dhcp_host *cfg = conf_hostsrc_find_config(c, l);
        char name[DNAME_KEY_MAX + 1];
        if (cfg != NULL && cfg->name != NULL &&
            (!cfg->has_addr || memcmp(cfg->addr, l->addr, 4) == 0)) {
            (void)snprintf(name, sizeof(name), "%s", cfg->name);
        } else if (!conf_hostsrc_from_hosts(c, h, l, name, sizeof(name))) {
            continue;
        }
        if (names[i] != NULL && strcasecmp(names[i], name) == 0) {
            continue;
        }
        for (size_t j = s->lease_count; j-- > 0;) {
            if (j != i && s->leases[j].family == AF_INET && names[j] != NULL &&
                strcasecmp(names[j], name) == 0) {
                free(names[j]);
                names[j] = NULL;
                break;
            }
        }
        free(names[i]);
        names[i] = mem_strdup(name);
    }
    return names;
}

/* A DHCP name waiting to be added once every name has been checked against the hosts data. */
struct conf_hostsrc_dhcp {
    char key[DNAME_KEY_MAX + 1];
    size_t len;
    int family;
    const uint8_t *addr;
};

/* dnsmasq cache_add_dhcp_entry: a name the hosts files give the same address needs no DHCP
 * record; a name they give another address is refused (logged). Returns true to add it. */
static bool conf_hostsrc_dhcp_ok(const struct hosts *h, struct conf_hostsrc_dhcp *d,
                                 const char *name)
{
    int n = dname_canonicalise(name, strlen(name), false, NULL, d->key, sizeof(d->key));
    if (n <= 0) {
        return false;
    }
    d->len = (size_t)n;
    if (hosts_has_addr(h, d->key, d->len, d->family, d->addr)) {
        return false;
    }
    uint8_t other[16];
    if (hosts_lookup(h, d->key, d->len, d->family, 0, other, 1) == 0) {
        return true;
    }
    char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
    (void)inet_ntop(d->family, d->addr, a, sizeof(a));
    (void)inet_ntop(d->family, other, b, sizeof(b));
    log_warn("not giving name %s to the DHCP lease of %s because the name exists in %s with "
             "address %s",
             name, a, "the hosts files", b);
    return false;
}

/* lease_update_dns: newest lease first (dnsmasq keeps them in a prepended list), the name with
 * its domain (lease_calc_fqdns: domain= by address, whatever expand-hosts says) before the plain
 * name. */
static void conf_hostsrc_add_leases(const struct conf_hostsrc *s, const struct conf *c,
                                    struct hosts *h, int64_t now_s)
{
    struct conf_hostsrc_dhcp *todo = mem_calloc(2 * s->lease_count + 1, sizeof(*todo));
    char **names = conf_hostsrc_lease_names(s, c, h);
    size_t n = 0;
    for (size_t i = s->lease_count; i-- > 0;) {
        const struct conf_hostsrc_lease *l = &s->leases[i];
        if (names[i] == NULL || conf_hostsrc_expired(l, now_s)) {
            continue;
        }
        const char *domain = conf_domain_of(c, l->family, l->addr);
        char fqdn[DNAME_KEY_MAX + 2];
        int fl = domain != NULL ? snprintf(fqdn, sizeof(fqdn), "%s.%s", names[i], domain) : -1;
        todo[n] = (struct conf_hostsrc_dhcp){.family = l->family, .addr = l->addr};
        n += fl > 0 && (size_t)fl < sizeof(fqdn) && conf_hostsrc_dhcp_ok(h, &todo[n], fqdn);
        todo[n] = (struct conf_hostsrc_dhcp){.family = l->family, .addr = l->addr};
        n += conf_hostsrc_dhcp_ok(h, &todo[n], names[i]);
    }
    for (size_t i = 0; i < n; i++) {
        hosts_add(h, todo[i].key, todo[i].len, todo[i].family, todo[i].addr);
    }
    for (size_t i = 0; i < s->lease_count; i++) {
        free(names[i]);
    }
    free(names);
    free(todo);
}

/* ---- Loading and building. */

static bool conf_hostsrc_has_dynamic(const struct conf_hostsrc *s)
{
    for (size_t i = 0; i < s->file_count; i++) {
        if (s->files[i].recs != NULL && hosts_count(s->files[i].recs) > 0) {
            return true;
        }
    }
    return s->lease_count > 0; /* a lease without a name may get one from dhcp-host= */
}

/* Appends the hostsdir files' records and the lease names to *h (created when needed). */
static void conf_hostsrc_append(const struct conf_hostsrc *s, const struct conf *c,
                                struct hosts **h, int64_t now_s)
{
    if (!conf_hostsrc_has_dynamic(s)) {
        return;
    }
    if (*h == NULL) {
        *h = hosts_new();
    }
    for (size_t i = 0; i < s->file_count; i++) {
        if (s->files[i].recs != NULL) {
            hosts_copy(*h, s->files[i].recs, 0, hosts_count(s->files[i].recs));
        }
    }
    conf_hostsrc_add_leases(s, c, *h, now_s);
}

struct conf_hostsrc *conf_hostsrc_load(struct conf *c, int64_t now_s)
{
    struct conf_hostsrc *s = mem_calloc(1, sizeof(*s));
    conf_hosts_read_static(c);
    c->hosts_static_count = c->hosts != NULL ? hosts_count(c->hosts) : 0;
    /* dnsmasq keeps hostsdir= in a prepended list: the last given is read first. */
    for (size_t i = c->hostsdir_count; i-- > 0;) {
        conf_hostsrc_read_dir(s, c, i);
    }
    conf_hostsrc_reload_leases(s, c);
    conf_hostsrc_append(s, c, &c->hosts, now_s);
    return s;
}

struct hosts *conf_hostsrc_build(const struct conf_hostsrc *s, const struct conf *c, int64_t now_s)
{
    struct hosts *h = NULL;
    if (c->hosts != NULL && c->hosts_static_count > 0) {
        h = hosts_new();
        hosts_copy(h, c->hosts, 0, c->hosts_static_count);
    }
    conf_hostsrc_append(s, c, &h, now_s);
    return h;
}

void conf_load_hosts(struct conf *c)
{
    conf_hostsrc_free(conf_hostsrc_load(c, (int64_t)time(NULL)));
}
