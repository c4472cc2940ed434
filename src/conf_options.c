/* conf_options.c - the option table: one row per dnsmasq option (name, short flag, argument and
 * repeat class as in dnsmasq 2.92's opts[] and usage[] tables) and one small handler for each
 * option dnsroute implements. Rows without a handler are dnsmasq options outside dnsroute's scope
 * (DHCP, TFTP, local records, DNSSEC, ...): conf.c accepts them with one warning each. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf_impl.h"
#include "dnsroute/mem.h"

/* dnsmasq's TTL_FLOOR_LIMIT (min-cache-ttl cap) and cache-size cap. */
#define MIN_CACHE_TTL_CAP 3600
#define CACHE_SIZE_CAP    5000000

/* dnsmasq's atoi_check: digits only (so no sign; an empty value is 0). Saturates at UINT32_MAX
 * where dnsmasq's atoi() would overflow. */
static int number(struct conf_loader *l, char *arg, uint32_t *out)
{
    uint64_t v = 0;
    if (arg != NULL) {
        conf_unhide(arg);
        for (const char *p = arg; *p != '\0'; p++) {
            if (*p < '0' || *p > '9') {
                return conf_fail(l, "error");
            }
            v = v * 10 + (uint64_t)(*p - '0');
            if (v > UINT32_MAX) {
                v = UINT32_MAX;
            }
        }
    }
    *out = (uint32_t)v;
    return 0;
}

/* dnsmasq's atoi_check16: a number 0..65535. */
static int number16(struct conf_loader *l, char *arg, uint16_t *out)
{
    uint32_t v = 0;
    if (number(l, arg, &v) < 0 || v > 65535) {
        return conf_fail(l, "error");
    }
    *out = (uint16_t)v;
    return 0;
}

/* Replaces *slot with a copy of arg (unhidden); NULL for a missing or empty value. */
static void set_string(char **slot, char *arg)
{
    free(*slot);
    *slot = NULL;
    if (arg != NULL && *arg != '\0') {
        conf_unhide(arg);
        *slot = mem_strdup(arg);
    }
}

static int opt_no_hosts(struct conf_loader *l, char *arg)
{
    (void)arg;
    l->c->no_hosts = true;
    return 0;
}

static int opt_expand_hosts(struct conf_loader *l, char *arg)
{
    (void)arg;
    l->c->expand_hosts = true;
    return 0;
}

/* dnsroute does not validate DNSSEC. A configuration asking for validation must not run silently
 * unvalidated: refuse it and name the way to keep the protection (RFC 4035 section 3.2.3: a
 * security-aware resolver sets AD; proxy-dnssec passes a validating upstream's AD on). */
static int opt_dnssec(struct conf_loader *l, char *arg)
{
    (void)arg;
    return conf_fail(l, "dnssec: DNSSEC validation is not supported by dnsroute; use a validating "
                        "upstream server and proxy-dnssec instead");
}

static int opt_proxy_dnssec(struct conf_loader *l, char *arg)
{
    (void)arg;
    l->c->proxy_dnssec = true;
    return 0;
}

static int opt_no_daemon(struct conf_loader *l, char *arg)
{
    (void)arg;
    l->c->no_daemon = true;
    return 0;
}

static int opt_keep_in_foreground(struct conf_loader *l, char *arg)
{
    (void)arg;
    l->c->keep_in_foreground = true;
    return 0;
}

static int opt_bogus_priv(struct conf_loader *l, char *arg)
{
    (void)arg;
    l->c->bogus_priv = true;
    return 0;
}

static int opt_filter_a(struct conf_loader *l, char *arg)
{
    (void)arg;
    l->c->filter_a = true;
    return 0;
}

static int opt_filter_aaaa(struct conf_loader *l, char *arg)
{
    (void)arg;
    l->c->filter_aaaa = true;
    return 0;
}

static int opt_strict_order(struct conf_loader *l, char *arg)
{
    (void)arg;
    l->c->strict_order = true;
    return 0;
}

static int opt_all_servers(struct conf_loader *l, char *arg)
{
    (void)arg;
    l->c->all_servers = true;
    return 0;
}

static int opt_no_resolv(struct conf_loader *l, char *arg)
{
    (void)arg;
    l->c->no_resolv = true;
    return 0;
}

static int opt_clear_on_reload(struct conf_loader *l, char *arg)
{
    (void)arg;
    l->c->clear_on_reload = true;
    return 0;
}

static int opt_no_negcache(struct conf_loader *l, char *arg)
{
    (void)arg;
    l->c->no_negcache = true;
    return 0;
}

static int opt_domain_needed(struct conf_loader *l, char *arg)
{
    (void)arg;
    l->c->domain_needed = true;
    return 0;
}

static int opt_bind_interfaces(struct conf_loader *l, char *arg)
{
    (void)arg;
    l->c->bind_interfaces = true;
    return 0;
}

static int opt_localise_queries(struct conf_loader *l, char *arg)
{
    (void)arg;
    l->c->localise_queries = true;
    return 0;
}

static int opt_bind_dynamic(struct conf_loader *l, char *arg)
{
    (void)arg;
    l->c->bind_dynamic = true;
    return 0;
}

static int opt_test(struct conf_loader *l, char *arg)
{
    (void)arg;
    l->c->test_only = true;
    return 0;
}

/* --help and --version act on the command line only (dnsmasq ignores them in files). */
static int opt_help(struct conf_loader *l, char *arg)
{
    (void)arg;
    if (l->file != NULL) {
        return 0;
    }
    (void)printf("Usage: dnsroute [options]\n\nValid options are the DNS options of dnsmasq (see "
                 "docs/compatibility.md), plus:\n"
                 "    --explain=<name>[,<type>]  Print how a query would be routed, then exit.\n"
                 "    --workers=<n>              Worker threads (0: one per 2 CPUs, the default).\n"
                 "    --no-set-refresh           Cached answers do not re-add to the sets.\n"
                 "    --set-timeout=off|<min>[,<max>]  Set element timeouts from answer TTLs.\n"
                 "Other dnsmasq options are accepted with a warning and ignored.\n");
    for (size_t i = 0; i < conf_option_count; i++) {
        if (conf_options[i].handler == NULL || conf_options[i].handler == conf_opt_dhcp_range) {
            continue; /* dhcp-range's handler only notes it (the lease file's default) */
        }
        if (conf_options[i].short_opt != 0) {
            (void)printf("-%c, --%s\n", conf_options[i].short_opt, conf_options[i].name);
        } else {
            (void)printf("    --%s\n", conf_options[i].name);
        }
    }
    l->c->info_only = true;
    return 0;
}

static int opt_version(struct conf_loader *l, char *arg)
{
    (void)arg;
    if (l->file != NULL) {
        return 0;
    }
    (void)printf("dnsroute version %s\nReads dnsmasq 2.92 configuration (DNS forwarding, server=, "
                 "ipset=, nftset=).\n",
                 DNSROUTE_VERSION);
    l->c->info_only = true;
    return 0;
}

/* log-queries[=extra|proto|auth|only_failed]: 2.92+ values; anything else is plain logging. */
static int opt_log_queries(struct conf_loader *l, char *arg)
{
    bool extra = arg != NULL && (strcmp(arg, "extra") == 0 || strcmp(arg, "proto") == 0 ||
                                 strcmp(arg, "auth") == 0);
    l->c->log_queries = extra ? CONF_LOG_QUERIES_EXTRA : CONF_LOG_QUERIES_ON;
    return 0;
}

static int opt_user(struct conf_loader *l, char *arg)
{
    set_string(&l->c->user, arg);
    return 0;
}

static int opt_group(struct conf_loader *l, char *arg)
{
    set_string(&l->c->group, arg);
    return 0;
}

/* pid-file with no value: no pid file at all. */
static int opt_pid_file(struct conf_loader *l, char *arg)
{
    set_string(&l->c->pid_file, arg);
    return 0;
}

/* enable-dbus[=NAME]: own NAME (default uk.org.thekelleys.dnsmasq) on the system bus. */
static int opt_enable_dbus(struct conf_loader *l, char *arg)
{
    if (arg != NULL) {
        conf_unhide(arg);
    }
    free(l->c->dbus_name);
    l->c->dbus_name = mem_strdup(arg != NULL && *arg != '\0' ? arg : "uk.org.thekelleys.dnsmasq");
    return 0;
}

static int opt_servers_file(struct conf_loader *l, char *arg)
{
    set_string(&l->c->servers_file, arg);
    return 0;
}

/* resolv-file: the first replaces /etc/resolv.conf (an empty first one removes it), later ones
 * are added; the newest one is read (conf.c). */
static int opt_resolv_file(struct conf_loader *l, char *arg)
{
    struct conf *c = l->c;
    char *name = NULL;
    set_string(&name, arg);
    if (l->resolv_is_default) {
        l->resolv_is_default = false;
        free(c->resolv_files[0]);
        c->resolv_file_count = 0;
    }
    if (name == NULL) {
        return 0;
    }
    mem_grow((void **)&c->resolv_files, &l->resolv_cap, c->resolv_file_count + 1, sizeof(char *));
    c->resolv_files[c->resolv_file_count++] = name;
    return 0;
}

static bool is_facility(const char *name)
{
    static const char *const names[] = {
        "auth",   "authpriv", "cron",     "daemon", "ftp",    "kern",   "lpr",
        "mail",   "news",     "security", "syslog", "user",   "uucp",   "local0",
        "local1", "local2",   "local3",   "local4", "local5", "local6", "local7",
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(name, names[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* log-facility: a syslog facility name, "-" for stderr, or a file path (contains '/'). */
static int opt_log_facility(struct conf_loader *l, char *arg)
{
    conf_unhide(arg);
    if (strchr(arg, '/') == NULL && strcmp(arg, "-") != 0 && !is_facility(arg)) {
        return conf_fail(l, "bad log facility");
    }
    set_string(&l->c->log_facility, arg);
    return 0;
}

static int opt_cache_size(struct conf_loader *l, char *arg)
{
    uint32_t v = 0;
    if (number(l, arg, &v) < 0) {
        return -1;
    }
    l->c->cache_size = v > CACHE_SIZE_CAP ? CACHE_SIZE_CAP : v;
    return 0;
}

static int opt_port(struct conf_loader *l, char *arg)
{
    return number16(l, arg, &l->c->port);
}

static int opt_query_port(struct conf_loader *l, char *arg)
{
    return number16(l, arg, &l->c->query_port);
}

static int opt_min_port(struct conf_loader *l, char *arg)
{
    return number16(l, arg, &l->c->min_port);
}

static int opt_max_port(struct conf_loader *l, char *arg)
{
    return number16(l, arg, &l->c->max_port);
}

/* edns-packet-max: dnsmasq keeps it in an unsigned short; dnsroute clamps instead of wrapping. */
static int opt_edns_packet_max(struct conf_loader *l, char *arg)
{
    uint32_t v = 0;
    if (number(l, arg, &v) < 0) {
        return -1;
    }
    l->c->edns_packet_max = (uint16_t)(v > 65535 ? 65535 : v);
    return 0;
}

static int opt_dns_forward_max(struct conf_loader *l, char *arg)
{
    return number(l, arg, &l->c->dns_forward_max);
}

/* --no-set-refresh (dnsroute): answers from the cache do not add their addresses to the sets
 * again (dnsmasq's behaviour). */
static int opt_no_set_refresh(struct conf_loader *l, char *arg)
{
    (void)arg;
    l->c->no_set_refresh = true;
    return 0;
}

/* --set-timeout=off|MIN[,MAX] (dnsroute): element timeouts on sets that have timeouts: derived
 * from the answer's TTL and clamped to [MIN, MAX] seconds (default 300,86400), or "off" for the
 * set's own default timeout (dnsmasq's behaviour). */
static int opt_set_timeout(struct conf_loader *l, char *arg)
{
    struct conf *c = l->c;
    if (strcmp(arg, "off") == 0) {
        c->set_timeout_off = true;
        return 0;
    }
    char *comma = strchr(arg, ',');
    if (comma != NULL) {
        *comma = '\0';
        if (number(l, comma + 1, &c->set_timeout_max_s) < 0) {
            return -1;
        }
    }
    if (number(l, arg, &c->set_timeout_min_s) < 0 || c->set_timeout_min_s == 0 ||
        (c->set_timeout_max_s != 0 && c->set_timeout_max_s < c->set_timeout_min_s)) {
        return conf_fail(l, "error");
    }
    return 0;
}

/* --workers=N (dnsroute): event-loop threads sharing the UDP port; 0 = one per two CPUs. */
static int opt_workers(struct conf_loader *l, char *arg)
{
    uint32_t v = 0;
    if (number(l, arg, &v) < 0 || v > 64) {
        return conf_fail(l, "error");
    }
    l->c->workers = v;
    return 0;
}

static int opt_max_tcp_connections(struct conf_loader *l, char *arg)
{
    uint32_t v = 0;
    if (number(l, arg, &v) < 0 || v < 1) {
        return conf_fail(l, "error");
    }
    l->c->max_tcp_connections = v;
    return 0;
}

static int opt_local_ttl(struct conf_loader *l, char *arg)
{
    return number(l, arg, &l->c->local_ttl_s);
}

static int opt_neg_ttl(struct conf_loader *l, char *arg)
{
    return number(l, arg, &l->c->neg_ttl_s);
}

/* use-stale-cache[=MAX] (dnsmasq 2.88+): without a value one day (dnsmasq STALE_CACHE_EXPIRY),
 * 0 for ever; a sign or other non-digit is dnsmasq's "error". */
static int opt_use_stale_cache(struct conf_loader *l, char *arg)
{
    uint32_t v = CONF_STALE_DEFAULT_S;
    if (arg != NULL && number(l, arg, &v) < 0) {
        return -1;
    }
    l->c->stale_cache_s = v == 0 ? CONF_STALE_FOREVER : v;
    return 0;
}

static int opt_max_ttl(struct conf_loader *l, char *arg)
{
    return number(l, arg, &l->c->max_ttl_s);
}

static int opt_max_cache_ttl(struct conf_loader *l, char *arg)
{
    return number(l, arg, &l->c->max_cache_ttl_s);
}

/* min-cache-ttl is silently capped at one hour, like dnsmasq's TTL_FLOOR_LIMIT. */
static int opt_min_cache_ttl(struct conf_loader *l, char *arg)
{
    uint32_t v = 0;
    if (number(l, arg, &v) < 0) {
        return -1;
    }
    l->c->min_cache_ttl_s = v > MIN_CACHE_TTL_CAP ? MIN_CACHE_TTL_CAP : v;
    return 0;
}

/* listen-address=a[,b...]: IPv4/IPv6 literals only, like dnsmasq. */
static int opt_listen_address(struct conf_loader *l, char *arg)
{
    struct conf *c = l->c;
    for (char *a = arg; a != NULL;) {
        char *next = conf_split(a, ',');
        conf_unhide(a);
        union sockaddr_any addr;
        memset(&addr, 0, sizeof(addr));
        if (inet_pton(AF_INET, a, &addr.sin.sin_addr) == 1) {
            addr.sin.sin_family = AF_INET;
        } else if (inet_pton(AF_INET6, a, &addr.sin6.sin6_addr) == 1) {
            addr.sin6.sin6_family = AF_INET6;
        } else {
            return conf_fail(l, "error");
        }
        mem_grow((void **)&c->listen_addrs, &l->listen_cap, c->listen_addr_count + 1, sizeof(addr));
        c->listen_addrs[c->listen_addr_count++] = addr;
        a = next;
    }
    return 0;
}

/* Appends the comma-separated interface names of arg to a name list. */
static int add_names(struct conf_loader *l, char *arg, char (**list)[IF_NAMESIZE], size_t *count,
                     size_t *cap)
{
    for (char *a = arg; a != NULL;) {
        char *next = conf_split(a, ',');
        conf_unhide(a);
        if (strlen(a) >= IF_NAMESIZE) {
            return conf_fail(l, "error");
        }
        if (*a != '\0') {
            mem_grow((void **)list, cap, *count + 1, IF_NAMESIZE);
            (void)snprintf((*list)[(*count)++], IF_NAMESIZE, "%s", a);
        }
        a = next;
    }
    return 0;
}

static int opt_local_service(struct conf_loader *l, char *arg)
{
    if (arg == NULL || strcmp(arg, "net") == 0) {
        l->c->local_service = CONF_LOCAL_SERVICE_NET;
    } else if (strcmp(arg, "host") == 0) {
        l->c->local_service = CONF_LOCAL_SERVICE_HOST;
    } else {
        return conf_fail(l, "error");
    }
    return 0;
}

static int opt_stop_dns_rebind(struct conf_loader *l, char *arg)
{
    (void)arg;
    l->c->stop_dns_rebind = true;
    return 0;
}

static int opt_rebind_localhost_ok(struct conf_loader *l, char *arg)
{
    (void)arg;
    l->c->rebind_localhost_ok = true;
    return 0;
}

/* A lower-case copy of s. */
static char *lower_dup(const char *s)
{
    char *d = mem_strdup(s);
    for (char *p = d; *p != '\0'; p++) {
        unsigned char u = (unsigned char)*p; /* ASCII, as dnsmasq's names */
        if (u >= 'A' && u <= 'Z') {
            *p = (char)(u | 0x20U);
        }
    }
    return d;
}

/* rebind-domain-ok=/d1/d2/... or =d: one exempt domain per '/'-separated field, as dnsmasq
 * (option.c LOPT_NO_REBIND); "//" gives the empty domain, which exempts names without a dot.
 * Stored lower-case without a trailing dot. */
static int opt_rebind_domain_ok(struct conf_loader *l, char *arg)
{
    struct conf *c = l->c;
    conf_unhide(arg);
    char *a = arg[0] == '/' ? arg + 1 : arg;
    do {
        char *next = conf_split(a, '/');
        size_t n = strlen(a);
        if (n > 0 && a[n - 1] == '.') {
            a[--n] = '\0';
        }
        mem_grow((void **)&c->rebind_ok_domains, &l->rebind_ok_cap, c->rebind_ok_count + 1,
                 sizeof(char *));
        c->rebind_ok_domains[c->rebind_ok_count++] = lower_dup(a);
        a = next;
    } while (a != NULL && *a != '\0');
    return 0;
}

static int opt_interface(struct conf_loader *l, char *arg)
{
    struct conf *c = l->c;
    return add_names(l, arg, &c->interfaces, &c->interface_count, &l->iface_cap);
}

static int opt_except_interface(struct conf_loader *l, char *arg)
{
    struct conf *c = l->c;
    return add_names(l, arg, &c->except_interfaces, &c->except_interface_count, &l->except_cap);
}

/* conf-file: the first -C on the command line replaces /etc/dnsmasq.conf and is read last; any
 * other is read at once, inline. An empty value does nothing. */
static int opt_conf_file(struct conf_loader *l, char *arg)
{
    if (arg == NULL || *arg == '\0') {
        return 0;
    }
    conf_unhide(arg);
    if (l->file == NULL && l->main_conffile == NULL) {
        l->main_conffile = mem_strdup(arg);
        return 0;
    }
    return conf_read_file(l, arg, false);
}

static int opt_conf_dir(struct conf_loader *l, char *arg)
{
    return conf_read_dir(l, arg);
}

/* --explain=NAME[,TYPE] (dnsroute): checked here, printed by conf_explain. */
static int opt_explain(struct conf_loader *l, char *arg)
{
    struct conf *c = l->c;
    const char *comma = strchr(arg, ',');
    uint16_t qtype;
    if (comma != NULL && conf_parse_qtype(comma + 1, &qtype) < 0) {
        return conf_fail(l, "bad RR type");
    }
    mem_grow((void **)&c->explain_names, &l->explain_cap, c->explain_count + 1, sizeof(char *));
    c->explain_names[c->explain_count++] = mem_strdup(arg);
    return 0;
}

const char conf_short_options[] = "951yZDNLERKzowefnbvhdkqr:m:p:c:l:s:i:t:u:g:a:x:S:C:A:T:H:Q:I:B:"
                                  "F:G:O:M:X:V:U:j:P:J:W:Y:2:4:6:7:8:0:3:";

/* The table, in dnsmasq's opts[] order. */
const struct conf_option conf_options[] = {
    {"version", 'v', CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, opt_version},
    {"no-hosts", 'h', CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, opt_no_hosts},
    {"no-poll", 'n', CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, NULL},
    {"help", 'w', CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, opt_help},
    {"no-daemon", 'd', CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, opt_no_daemon},
    {"log-queries", 'q', CONF_ARG_OPTIONAL, CONF_REPT_DUP, CONF_ANYWHERE, opt_log_queries},
    {"user", 'u', CONF_ARG_OPTIONAL, CONF_REPT_ONE, CONF_ANYWHERE, opt_user},
    {"group", 'g', CONF_ARG_OPTIONAL, CONF_REPT_ONE, CONF_ANYWHERE, opt_group},
    {"resolv-file", 'r', CONF_ARG_OPTIONAL, CONF_REPT_DUP, CONF_ANYWHERE, opt_resolv_file},
    {"servers-file", 0, CONF_ARG_REQUIRED, CONF_REPT_ONE, CONF_ANYWHERE, opt_servers_file},
    {"mx-host", 'm', CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, conf_opt_mx_host},
    {"mx-target", 't', CONF_ARG_REQUIRED, CONF_REPT_ONE, CONF_ANYWHERE, conf_opt_mx_target},
    {"cache-size", 'c', CONF_ARG_OPTIONAL, CONF_REPT_ONE, CONF_ANYWHERE, opt_cache_size},
    {"port", 'p', CONF_ARG_REQUIRED, CONF_REPT_ONE, CONF_ANYWHERE, opt_port},
    {"dhcp-leasefile", 'l', CONF_ARG_OPTIONAL, CONF_REPT_ONE, CONF_ANYWHERE,
     conf_opt_dhcp_leasefile},
    {"dhcp-lease", 'l', CONF_ARG_REQUIRED, CONF_REPT_ONE, CONF_ANYWHERE, NULL},
    {"dhcp-host", 'G', CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, conf_opt_dhcp_host},
    {"dhcp-range", 'F', CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, conf_opt_dhcp_range},
    {"dhcp-option", 'O', CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"dhcp-boot", 'M', CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"domain", 's', CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, conf_opt_domain},
    {"domain-suffix", 's', CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"interface", 'i', CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, opt_interface},
    {"listen-address", 'a', CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, opt_listen_address},
    {"local-service", 0, CONF_ARG_OPTIONAL, CONF_REPT_ONE, CONF_ANYWHERE, opt_local_service},
    {"bogus-priv", 'b', CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, opt_bogus_priv},
    {"bogus-nxdomain", 'B', CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE,
     conf_opt_bogus_nxdomain},
    {"ignore-address", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"selfmx", 'e', CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, conf_opt_selfmx},
    {"filterwin2k", 'f', CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, NULL},
    {"filter-A", 0, CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, opt_filter_a},
    {"filter-AAAA", 0, CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, opt_filter_aaaa},
    {"filter-rr", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"pid-file", 'x', CONF_ARG_OPTIONAL, CONF_REPT_ONE, CONF_ANYWHERE, opt_pid_file},
    {"strict-order", 'o', CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, opt_strict_order},
    {"server", 'S', CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, conf_opt_server},
    {"rev-server", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, conf_opt_rev_server},
    {"local", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, conf_opt_local},
    {"address", 'A', CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, conf_opt_address},
    {"conf-file", 'C', CONF_ARG_OPTIONAL, CONF_REPT_DUP, CONF_ANYWHERE, opt_conf_file},
    {"conf-script", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"no-resolv", 'R', CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, opt_no_resolv},
    {"expand-hosts", 'E', CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, opt_expand_hosts},
    {"localmx", 'L', CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, conf_opt_localmx},
    {"local-ttl", 'T', CONF_ARG_REQUIRED, CONF_REPT_ONE, CONF_ANYWHERE, opt_local_ttl},
    {"no-negcache", 'N', CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, opt_no_negcache},
    {"no-round-robin", 0, CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, NULL},
    {"no-0x20-encode", 0, CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, NULL},
    {"do-0x20-encode", 0, CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, NULL},
    {"cache-rr", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"addn-hosts", 'H', CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, conf_opt_addn_hosts},
    {"hostsdir", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, conf_opt_hostsdir},
    {"query-port", 'Q', CONF_ARG_REQUIRED, CONF_REPT_ONE, CONF_ANYWHERE, opt_query_port},
    {"except-interface", 'I', CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE,
     opt_except_interface},
    {"no-dhcp-interface", '2', CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"no-dhcpv4-interface", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"no-dhcpv6-interface", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"domain-needed", 'D', CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, opt_domain_needed},
    {"dhcp-lease-max", 'X', CONF_ARG_REQUIRED, CONF_REPT_ONE, CONF_ANYWHERE, NULL},
    {"bind-interfaces", 'z', CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, opt_bind_interfaces},
    {"read-ethers", 'Z', CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, NULL},
    {"alias", 'V', CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"dhcp-vendorclass", 'U', CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"dhcp-userclass", 'j', CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"dhcp-ignore", 'J', CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"edns-packet-max", 'P', CONF_ARG_REQUIRED, CONF_REPT_ONE, CONF_ANYWHERE, opt_edns_packet_max},
    {"keep-in-foreground", 'k', CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE,
     opt_keep_in_foreground},
    {"dhcp-authoritative", 'K', CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, NULL},
    {"srv-host", 'W', CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, conf_opt_srv_host},
    {"localise-queries", 'y', CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, opt_localise_queries},
    {"txt-record", 'Y', CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, conf_opt_txt_record},
    {"caa-record", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, conf_opt_caa_record},
    {"dns-rr", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, conf_opt_dns_rr},
    {"enable-dbus", '1', CONF_ARG_OPTIONAL, CONF_REPT_ONE, CONF_ANYWHERE, opt_enable_dbus},
    {"enable-ubus", 0, CONF_ARG_OPTIONAL, CONF_REPT_ONE, CONF_ANYWHERE, NULL},
    {"bootp-dynamic", '3', CONF_ARG_OPTIONAL, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"dhcp-mac", '4', CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"no-ping", '5', CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, NULL},
    {"dhcp-script", '6', CONF_ARG_REQUIRED, CONF_REPT_ONE, CONF_ANYWHERE, NULL},
    {"conf-dir", '7', CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, opt_conf_dir},
    {"log-facility", '8', CONF_ARG_REQUIRED, CONF_REPT_ONE, CONF_ANYWHERE, opt_log_facility},
    {"leasefile-ro", '9', CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, NULL},
    {"script-on-renewal", 0, CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, NULL},
    {"dns-forward-max", '0', CONF_ARG_REQUIRED, CONF_REPT_ONE, CONF_ANYWHERE, opt_dns_forward_max},
    {"clear-on-reload", 0, CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, opt_clear_on_reload},
    {"dhcp-ignore-names", 0, CONF_ARG_OPTIONAL, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"enable-tftp", 0, CONF_ARG_OPTIONAL, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"tftp-secure", 0, CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, NULL},
    {"tftp-no-fail", 0, CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, NULL},
    {"tftp-unique-root", 0, CONF_ARG_OPTIONAL, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"tftp-root", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"tftp-max", 0, CONF_ARG_REQUIRED, CONF_REPT_ONE, CONF_ANYWHERE, NULL},
    {"tftp-mtu", 0, CONF_ARG_REQUIRED, CONF_REPT_ONE, CONF_ANYWHERE, NULL},
    {"tftp-lowercase", 0, CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, NULL},
    {"tftp-single-port", 0, CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, NULL},
    {"ptr-record", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, conf_opt_ptr_record},
    {"naptr-record", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, conf_opt_naptr_record},
    {"bridge-interface", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"shared-network", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"dhcp-option-force", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"dhcp-option-pxe", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"tftp-no-blocksize", 0, CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, NULL},
    {"log-dhcp", 0, CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, NULL},
    {"log-async", 0, CONF_ARG_OPTIONAL, CONF_REPT_ONE, CONF_ANYWHERE, NULL},
    {"dhcp-circuitid", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"dhcp-remoteid", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"dhcp-subscrid", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"dhcp-pxe-vendor", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"interface-name", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, conf_opt_interface_name},
    {"dhcp-hostsfile", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"dhcp-optsfile", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"dhcp-hostsdir", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"dhcp-optsdir", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"dhcp-no-override", 0, CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, NULL},
    {"tftp-port-range", 0, CONF_ARG_REQUIRED, CONF_REPT_ONE, CONF_ANYWHERE, NULL},
    {"stop-dns-rebind", 0, CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, opt_stop_dns_rebind},
    {"rebind-domain-ok", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, opt_rebind_domain_ok},
    {"all-servers", 0, CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, opt_all_servers},
    {"dhcp-match", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"dhcp-name-match", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"dhcp-broadcast", 0, CONF_ARG_OPTIONAL, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"neg-ttl", 0, CONF_ARG_REQUIRED, CONF_REPT_ONE, CONF_ANYWHERE, opt_neg_ttl},
    {"max-ttl", 0, CONF_ARG_REQUIRED, CONF_REPT_ONE, CONF_ANYWHERE, opt_max_ttl},
    {"min-cache-ttl", 0, CONF_ARG_REQUIRED, CONF_REPT_ONE, CONF_ANYWHERE, opt_min_cache_ttl},
    {"max-cache-ttl", 0, CONF_ARG_REQUIRED, CONF_REPT_ONE, CONF_ANYWHERE, opt_max_cache_ttl},
    {"dhcp-alternate-port", 0, CONF_ARG_OPTIONAL, CONF_REPT_ONE, CONF_ANYWHERE, NULL},
    {"dhcp-scriptuser", 0, CONF_ARG_REQUIRED, CONF_REPT_ONE, CONF_ANYWHERE, NULL},
    {"min-port", 0, CONF_ARG_REQUIRED, CONF_REPT_ONE, CONF_ANYWHERE, opt_min_port},
    {"max-port", 0, CONF_ARG_REQUIRED, CONF_REPT_ONE, CONF_ANYWHERE, opt_max_port},
    {"dhcp-fqdn", 0, CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, NULL},
    {"cname", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, conf_opt_cname},
    {"pxe-prompt", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"pxe-service", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"test", 0, CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, opt_test},
    {"tag-if", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"dhcp-proxy", 0, CONF_ARG_OPTIONAL, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"dhcp-generate-names", 0, CONF_ARG_OPTIONAL, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"rebind-localhost-ok", 0, CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE,
     opt_rebind_localhost_ok},
    {"add-mac", 0, CONF_ARG_OPTIONAL, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"strip-mac", 0, CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, NULL},
    {"add-subnet", 0, CONF_ARG_OPTIONAL, CONF_REPT_ONE, CONF_ANYWHERE, NULL},
    {"strip-subnet", 0, CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, NULL},
    {"add-cpe-id", 0, CONF_ARG_REQUIRED, CONF_REPT_ONE, CONF_ANYWHERE, NULL},
    {"proxy-dnssec", 0, CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, opt_proxy_dnssec},
    {"dhcp-sequential-ip", 0, CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, NULL},
    {"conntrack", 0, CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, NULL},
    {"dhcp-client-update", 0, CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, NULL},
    {"dhcp-luascript", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"enable-ra", 0, CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, NULL},
    {"dhcp-duid", 0, CONF_ARG_REQUIRED, CONF_REPT_ONE, CONF_ANYWHERE, NULL},
    {"host-record", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, conf_opt_host_record},
    {"bind-dynamic", 0, CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, opt_bind_dynamic},
    {"auth-zone", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"auth-server", 0, CONF_ARG_REQUIRED, CONF_REPT_ONE, CONF_ANYWHERE, NULL},
    {"auth-ttl", 0, CONF_ARG_REQUIRED, CONF_REPT_ONE, CONF_ANYWHERE, NULL},
    {"auth-soa", 0, CONF_ARG_REQUIRED, CONF_REPT_ONE, CONF_ANYWHERE, NULL},
    {"auth-sec-servers", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"auth-peer", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"ipset", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, conf_opt_ipset},
    {"nftset", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, conf_opt_nftset},
    {"connmark-allowlist-enable", 0, CONF_ARG_OPTIONAL, CONF_REPT_ONE, CONF_ANYWHERE, NULL},
    {"connmark-allowlist", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"synth-domain", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, conf_opt_synth_domain},
    {"dnssec", 0, CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, opt_dnssec},
    {"trust-anchor", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"dnssec-debug", 0, CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, NULL},
    {"dnssec-check-unsigned", 0, CONF_ARG_OPTIONAL, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"dnssec-no-timecheck", 0, CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, NULL},
    {"dnssec-timestamp", 0, CONF_ARG_REQUIRED, CONF_REPT_ONE, CONF_ANYWHERE, NULL},
    {"dnssec-limits", 0, CONF_ARG_REQUIRED, CONF_REPT_ONE, CONF_ANYWHERE, NULL},
    {"dhcp-relay", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"dhcp-split-relay", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"ra-param", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"quiet-dhcp", 0, CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, NULL},
    {"quiet-dhcp6", 0, CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, NULL},
    {"quiet-ra", 0, CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, NULL},
    {"dns-loop-detect", 0, CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, NULL},
    {"script-arp", 0, CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, NULL},
    {"dhcp-ttl", 0, CONF_ARG_REQUIRED, CONF_REPT_ONE, CONF_ANYWHERE, NULL},
    {"dhcp-reply-delay", 0, CONF_ARG_REQUIRED, CONF_REPT_ONE, CONF_ANYWHERE, NULL},
    {"dhcp-rapid-commit", 0, CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, NULL},
    {"dumpfile", 0, CONF_ARG_REQUIRED, CONF_REPT_ONE, CONF_ANYWHERE, NULL},
    {"dumpmask", 0, CONF_ARG_REQUIRED, CONF_REPT_ONE, CONF_ANYWHERE, NULL},
    {"dhcp-ignore-clid", 0, CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, NULL},
    {"dynamic-host", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"log-debug", 0, CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, NULL},
    {"umbrella", 0, CONF_ARG_OPTIONAL, CONF_REPT_ONE, CONF_ANYWHERE, NULL},
    {"quiet-tftp", 0, CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, NULL},
    {"port-limit", 0, CONF_ARG_REQUIRED, CONF_REPT_ONE, CONF_ANYWHERE, NULL},
    {"fast-dns-retry", 0, CONF_ARG_OPTIONAL, CONF_REPT_ONE, CONF_ANYWHERE, NULL},
    {"use-stale-cache", 0, CONF_ARG_OPTIONAL, CONF_REPT_ONE, CONF_ANYWHERE, opt_use_stale_cache},
    {"no-ident", 0, CONF_ARG_NONE, CONF_REPT_FLAG, CONF_ANYWHERE, conf_opt_no_ident},
    {"max-tcp-connections", 0, CONF_ARG_REQUIRED, CONF_REPT_ONE, CONF_ANYWHERE,
     opt_max_tcp_connections},
    {"leasequery", 0, CONF_ARG_OPTIONAL, CONF_REPT_DUP, CONF_ANYWHERE, NULL},
    {"explain", 0, CONF_ARG_REQUIRED, CONF_REPT_DUP, CONF_CMDLINE_ONLY, opt_explain},
    {"workers", 0, CONF_ARG_REQUIRED, CONF_REPT_ONE, CONF_CMDLINE_ONLY, opt_workers},
    {"no-set-refresh", 0, CONF_ARG_NONE, CONF_REPT_FLAG, CONF_CMDLINE_ONLY, opt_no_set_refresh},
    {"set-timeout", 0, CONF_ARG_REQUIRED, CONF_REPT_ONE, CONF_CMDLINE_ONLY, opt_set_timeout},
};

const size_t conf_option_count = sizeof(conf_options) / sizeof(conf_options[0]);
