/* conf.h - dnsroute's configuration: dnsmasq's command line and configuration files read
 * unchanged (conf-file, conf-dir, servers-file, resolv-file), turned into one immutable
 * generation: scalar options, the upstream server table, the set tables and the domain tree.
 *
 * Pure module (no sockets). conf_load() may be called again to build a new generation for a
 * reload; a generation is never changed after conf_load() returns. */
#pragma once

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dnsroute/domtree.h"
#include "dnsroute/hosts.h"
#include "dnsroute/localname.h"
#include "dnsroute/localrec.h"
#include "dnsroute/synth.h"
#include "dnsroute/prefixset.h"
#include "dnsroute/sockaddr.h"

/* dnsmasq's exit codes (dnsmasq.h EC_*). */
enum conf_exit {
    CONF_EXIT_OK = 0,
    CONF_EXIT_BADCONF = 1,
    CONF_EXIT_BADNET = 2,
    CONF_EXIT_FILE = 3,
    CONF_EXIT_NOMEM = 4,
    CONF_EXIT_MISC = 5,
};

/* One upstream server (server=, or a resolv-file nameserver). Servers are interned: identical
 * (addr, source, interface) specs share one id, the index into conf.servers. */
struct conf_server {
    union sockaddr_any addr;   /* address and port of the upstream */
    union sockaddr_any source; /* sa_family 0: none; port 0: random */
    char iface[IF_NAMESIZE];   /* "" when none (SO_BINDTODEVICE) */
    bool from_resolv;          /* came from resolv-file */
    bool from_servers_file;    /* came from servers-file (re-read on SIGHUP) */
    bool from_dbus;            /* set over D-Bus (SetServers*): dnsmasq's SERV_FROM_DBUS */
};

enum conf_set_kind { CONF_SET_IPSET, CONF_SET_NFTSET };

/* One kernel set named by ipset= or nftset=; interned, the id is the index into conf.sets. */
struct conf_set {
    enum conf_set_kind kind;
    uint8_t only_family; /* nftset "4#"/"6#" prefix: 4 or 6; 0 = both */
    uint8_t nf_family;   /* nftset table family: NFPROTO_INET/IPV4/IPV6 (default ip = IPV4) */
    char table[64];      /* nftset table name; "" for ipset */
    char name[64];       /* ipset name or nftset set name */
    char spec[160];      /* the spec as written, for logs ("4#inet#fw4#set4" or "set4") */
};

/* A list of set ids (one ipset=/nftset= line); list ids index conf.setlists. */
struct conf_setlist {
    uint32_t first; /* index into conf.setlist_items */
    uint32_t count;
};

/* bogus-nxdomain=addr[/prefix] */
struct conf_prefix {
    int family; /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    uint8_t prefix_len;
};

/* domain=NAME,SUBNET or domain=NAME,START[,END]: the domain of the addresses in [start, end]. */
struct conf_domain {
    int family; /* AF_INET or AF_INET6 */
    uint8_t start[16];
    uint8_t end[16];
    char *name; /* a key (dname.h) */
};

/* --local-service[=net|host]: answer only clients on a directly connected subnet (net), or on
 * this host (host); off whenever interface=, except-interface= or listen-address= is given. */
enum conf_local_service {
    CONF_LOCAL_SERVICE_OFF = 0,
    CONF_LOCAL_SERVICE_NET,
    CONF_LOCAL_SERVICE_HOST
};

/* use-stale-cache=0: expired answers are served however old (dnsmasq). */
enum { CONF_STALE_FOREVER = UINT32_MAX, CONF_STALE_DEFAULT_S = 86400 };

enum conf_log_queries { CONF_LOG_QUERIES_OFF = 0, CONF_LOG_QUERIES_ON, CONF_LOG_QUERIES_EXTRA };

/* A hardware address of dhcp-host= (dnsmasq struct hwaddr_config). */
struct conf_dhcp_mac {
    uint8_t hw[16];
    size_t len;
    int type;          /* ARP hardware type; 0 matches any */
    uint32_t wildcard; /* a bit per byte given as "*", the first byte highest */
};

/* The parts of a dhcp-host= line that name a lease (dnsmasq struct dhcp_config). */
struct conf_dhcp_host {
    char *name; /* the host name without its domain; NULL when none */
    bool has_addr;
    uint8_t addr[4];
    struct conf_dhcp_mac *macs;
    size_t mac_count;
    uint8_t *clid; /* client id; NULL when none */
    size_t clid_len;
};

struct conf {
    /* Listening (port=, listen-address=, interface=, except-interface=, bind-interfaces,
     * bind-dynamic). */
    uint16_t port;                    /* default 53; 0 disables DNS */
    union sockaddr_any *listen_addrs; /* listen-address= in order */
    size_t listen_addr_count;
    char (*interfaces)[IF_NAMESIZE]; /* interface= in order */
    size_t interface_count;
    char (*except_interfaces)[IF_NAMESIZE];
    size_t except_interface_count;
    bool bind_interfaces;
    bool bind_dynamic;     /* listeners follow interface addresses (server.h) */
    bool localise_queries; /* hosts A answers on the query's subnet (localname.h) */
    enum conf_local_service local_service;

    /* Upstreams. */
    struct conf_server *servers;
    size_t server_count;
    bool no_resolv;
    char **resolv_files; /* default {"/etc/resolv.conf"} */
    size_t resolv_file_count;
    char *servers_file; /* NULL when unset */
    bool strict_order;
    bool all_servers;
    uint16_t query_port; /* 0 = random per query */
    uint16_t min_port, max_port;
    uint32_t dns_forward_max;     /* dnsroute default: 5000 (dnsmasq: 150) */
    uint16_t edns_packet_max;     /* default 1232 */
    uint32_t max_tcp_connections; /* default 20 (dnsmasq); dnsroute serves them in-process */
    uint32_t workers;             /* --workers (dnsroute): loop threads; 0 = one per 2 CPUs, <= 8 */

    /* Cache and answers. */
    uint32_t cache_size;      /* default 150; 0 disables */
    uint32_t min_cache_ttl_s; /* capped at 3600 like dnsmasq */
    uint32_t max_cache_ttl_s; /* 0 = no cap */
    uint32_t neg_ttl_s;
    uint32_t local_ttl_s;
    uint32_t max_ttl_s; /* 0 = no cap */
    /* use-stale-cache[=MAX]: seconds past its expiry a cached answer is still served (TTL 0,
     * refreshed in the background); 0 off (the default), CONF_STALE_FOREVER for =0. */
    uint32_t stale_cache_s;
    bool no_negcache;
    bool clear_on_reload; /* empty the cache on SIGHUP and when D-Bus sets servers */
    bool domain_needed;
    bool bogus_priv;
    bool filter_a;
    bool filter_aaaa;
    bool no_hosts;
    bool proxy_dnssec;        /* pass upstream's AD bit on (dnsmasq --proxy-dnssec) */
    bool stop_dns_rebind;     /* drop answers with private addresses (dnsmasq --stop-dns-rebind) */
    bool rebind_localhost_ok; /* --rebind-localhost-ok: 127/8, 0/8, ::1, :: are not private */
    char **rebind_ok_domains; /* --rebind-domain-ok, lower-case, no trailing dot; "" = dotless */
    size_t rebind_ok_count;

    /* Local names (hosts files, domain=, expand-hosts). */
    char **addn_hosts; /* addn-hosts= in order (files or directories) */
    size_t addn_hosts_count;
    bool expand_hosts;
    char *domain;                /* plain domain=: a key, NULL when unset */
    struct conf_domain *domains; /* domain= with a subnet or range, in order */
    size_t domain_count;
    struct hosts *hosts;       /* conf_load_hosts(); NULL before, or with nothing to read */
    size_t hosts_static_count; /* its first records: /etc/hosts and addn-hosts= (the rest came
                                * from hostsdir= files and the lease file, which change) */
    char **hostsdirs;          /* hostsdir= in order (watched with inotify by the daemon) */
    size_t hostsdir_count;
    char *lease_file; /* dhcp-leasefile=, or dnsmasq's default with dhcp-range=; NULL: none */
    bool dhcp_range;  /* some dhcp-range= was given (dnsroute does no DHCP; it reads leases) */
    struct conf_dhcp_host *dhcp_hosts; /* dhcp-host= in order (their names go to leases) */
    size_t dhcp_host_count;
    struct conf_prefix *bogus_nxdomain; /* as written, in order */
    size_t bogus_nxdomain_count;
    struct prefixset *bogus_set; /* the same for lookups (NULL when there is none) */

    /* Sets (ipset=, nftset=). */
    struct conf_set *sets;
    size_t set_count;
    struct conf_setlist *setlists;
    size_t setlist_count;
    uint32_t *setlist_items;
    size_t setlist_item_count;

    /* dnsroute's set options (beyond dnsmasq). */
    bool no_set_refresh;        /* --no-set-refresh: cached answers do not re-add addresses */
    bool set_timeout_off;       /* --set-timeout=off: no element timeout (set default) */
    uint32_t set_timeout_min_s; /* --set-timeout=MIN[,MAX]; 0: nlset's defaults */
    uint32_t set_timeout_max_s;

    /* Daemon. */
    enum conf_log_queries log_queries;
    char *log_facility;      /* NULL: syslog daemon facility; "-": stderr; contains '/': file */
    char *user;              /* default "nobody"; NULL after an explicit empty user= */
    char *group;             /* default "dip" */
    char *pid_file;          /* default "/var/run/dnsmasq.pid"; NULL: none */
    bool keep_in_foreground; /* -k */
    bool no_daemon;          /* -d */
    bool test_only;          /* --test */
    char **explain_names;    /* --explain=NAME[,TYPE] (dnsroute): print routing, then exit */
    size_t explain_count;
    bool info_only;  /* --help or --version was printed to stdout: exit 0 at once */
    char *dbus_name; /* enable-dbus[=NAME]: the bus name to own; NULL: no D-Bus */

    /* Local records (ptr-record, txt-record, srv-host, mx-host, caa-record, naptr-record, dns-rr)
     * and the CHAOS names; never NULL after conf_load. */
    struct localrec *localrec;
    /* host-record, cname, interface-name; never NULL after conf_load. */
    struct localname *names;
    struct synth *synth; /* synth-domain=; NULL when none */
    char *mx_target;     /* mx-target=, NULL when not given */
    bool selfmx, localmx, no_ident;

    struct domtree *tree; /* every server/local/address/ipset/nftset rule */
    size_t warnings;      /* number of "ignored option" warnings printed */
};

/* Error report of a failed load: message is dnsmasq's wording with the "dnsroute: " prefix and,
 * for file lines, " at line N of FILE" (e.g. "dnsroute: bad option at line 3 of /etc/x.conf");
 * exit_code is one of enum conf_exit. */
struct conf_error {
    int exit_code;
    char message[1400];
};

/* The lookups a configuration needs beyond its files: server= host names (dnsmasq 2.88+ resolves
 * them when it reads the line) and interface names in "%scope" suffixes. The loader does no I/O
 * but reading files: its caller answers these (the daemon with getaddrinfo(3) and
 * if_nametoindex(3), never on an event loop's thread; tests and fuzz targets with fixed tables). */
struct conf_resolver {
    /* Up to max IPv4/IPv6 addresses of host (ports 0) into out; returns how many (> 0), or a
     * negative code with dnsmasq's reason in *why ("Cannot resolve server name" when the lookup
     * failed for now, else the resolver's own text). */
    int (*host)(void *ctx, const char *host, union sockaddr_any *out, size_t max, const char **why);
    /* The index of the interface called name, 0 when there is none. */
    unsigned (*ifindex)(void *ctx, const char *name);
    void *ctx;
};

/* Builds a configuration generation from the command line (argv[0] is skipped) and every file
 * it names (default /etc/dnsmasq.conf, missing is fine unless named by -C). Warnings for
 * ignored options go to the logger. On failure returns a negative code, fills *err, and leaves
 * *c deinitialised. The caller owns *c and calls conf_deinit. Looks up no names: a server host
 * name fails as dnsmasq's unresolvable one ("Cannot resolve server name"), a "%scope" must be a
 * number (resolv.conf) or fails as "bad interface name" (server=). One load at a time in the
 * process (getopt(3)'s state is global). */
int conf_load(struct conf *c, int argc, char *const argv[], struct conf_error *err);
/* conf_load with names looked up through r (NULL: none), then the servers set over D-Bus: each
 * entry is the argument of a server= line ("1.2.3.4", "/d1/d2/1.2.3.4#5353", "/local.domain/"),
 * applied after the files and servers-file and before resolv-file, marked from_dbus. A bad entry
 * fails the load with dnsmasq's D-Bus text "dnsroute: Invalid IP address 'ADDR': MSG"
 * (CONF_EXIT_BADCONF). */
int conf_load_dbus(struct conf *c, int argc, char *const argv[], const char *const *dbus_servers,
                   size_t dbus_server_count, const struct conf_resolver *r, struct conf_error *err);
void conf_deinit(struct conf *c);

/* Reads the hosts files of c (/etc/hosts unless no-hosts, then addn-hosts= in dnsmasq's order:
 * the last given first, directories' files after, sorted by name) into c->hosts. Errors in the
 * files are logged and skipped as dnsmasq does. */
void conf_load_hosts(struct conf *c);

/* The sources of a configuration's hosts data, kept by the daemon so that a change in a hostsdir=
 * directory or in the lease file rebuilds the data from what changed (dnsmasq inotify.c): the
 * records of /etc/hosts and addn-hosts= (read once per load), each hostsdir file's own records,
 * and the leases. Used on one thread at a time. */
struct conf_hostsrc;

/* Reads every hosts source of c (/etc/hosts unless no-hosts, addn-hosts=, the files of each
 * hostsdir=, the lease file) and sets c->hosts and c->hosts_static_count. now_s is the time
 * (seconds since the epoch) against which leases expire. Returns the sources; never NULL. */
struct conf_hostsrc *conf_hostsrc_load(struct conf *c, int64_t now_s);
void conf_hostsrc_free(struct conf_hostsrc *s);
/* A file named name in c->hostsdirs[dir] was written or moved in (removed false) or deleted
 * (removed true): its names are dropped and, unless removed, read again (logged as dnsmasq:
 * "inotify: PATH new or modified", "inotify: flushed N names read from PATH"). */
void conf_hostsrc_file_event(struct conf_hostsrc *s, const struct conf *c, size_t dir,
                             const char *name, bool removed);
/* Reads the lease file c->lease_file again. */
void conf_hostsrc_reload_leases(struct conf_hostsrc *s, const struct conf *c);
/* A new store: the first c->hosts_static_count records of c->hosts, then every hostsdir file's
 * records, then the names of the leases not expired at now_s. The caller owns it. */
struct hosts *conf_hostsrc_build(const struct conf_hostsrc *s, const struct conf *c, int64_t now_s);
/* Seconds from now_s until the next lease expires (its names must go), or -1 when none will. */
int64_t conf_hostsrc_next_expiry(const struct conf_hostsrc *s, int64_t now_s);

/* The domain expand-hosts gives address addr (family AF_INET/AF_INET6): the last matching
 * domain= subnet, else the plain domain=; NULL for none. */
const char *conf_domain_of(const struct conf *c, int family, const uint8_t *addr);

/* Prints the routing decision for name (and qtype, default A) to out: action, upstream group
 * and its servers, local answer, ipset and nftset lists (dnsroute's --explain). */
void conf_explain(const struct conf *c, const char *name, uint16_t qtype, FILE *out);

/* Server ids of a group, as conf_server pointers via c->servers[id]. */
static inline const uint32_t *conf_group_servers(const struct conf *c, uint32_t group,
                                                 uint32_t *count)
{
    return domtree_group_servers(c->tree, group, count);
}
