/* localname.h - dnsmasq's configured names: host-record, cname and interface-name, and the whole
 * local answer of a query built from them, the local records (localrec.h) and the hosts files
 * (hosts.h), in the order of dnsmasq's answer_request (rfc1035.c):
 *   - the cname= chain from the question name (each CNAME record, then the target's records);
 *   - TXT, dns-rr, PTR (interface-name, ptr-record, host-record, hosts files, synth-domain),
 *     A/AAAA (interface-name, else host-record and hosts files, else synth-domain), MX (mx-host,
 * selfmx/localmx for a hosts name), SRV, NAPTR, and the A/AAAA of MX and SRV targets as additional
 * records.
 *
 * Semantics follow dnsmasq 2.90 (option.c, cache.c cache_reload, network.c, rfc1035.c):
 *   - host-record names are hosts names: answered with AA, the first name of a line answers the
 *     PTR of its addresses, before any hosts file; a name may have addresses from both;
 *   - a cname= target that has no local data of the asked type gives the CNAME alone;
 *   - an interface-name name answers the addresses its interface has now (IPv6 link-local
 *     never; temporary, deprecated and tentative IPv6 ones only for PTR), and hides hosts data
 *     of the same name.
 *
 * Pure module: the store is built by the configuration loader and then only read; interface
 * addresses come through a hook from the caller (ifaddr.h). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dnsroute/hosts.h"
#include "dnsroute/localrec.h"
#include "dnsroute/synth.h"

struct localname;

/* Allocates an empty store / frees it (NULL is fine). */
struct localname *localname_new(void);
void localname_free(struct localname *ln);

/* ---- Building. Names are keys (dname.h: lower case, no trailing dot). ttl_s < 0: local-ttl,
 * filled in by localname_finish. */

/* One name and address of a host-record line, in the order given (first name first). */
void localname_add_host(struct localname *ln, const char *name, int family, const uint8_t *addr,
                        int64_t ttl_s);
/* True when alias already has a cname= (dnsmasq's "duplicate CNAME"). */
bool localname_has_cname(const struct localname *ln, const char *alias);
/* cname=alias,target. An alias whose second character is '*' is kept but never answered, as
 * dnsmasq's cache_reload skips it. */
void localname_add_cname(struct localname *ln, const char *alias, const char *target,
                         int64_t ttl_s);
/* interface-name=name,ifname[/4|/6]. */
void localname_add_ifname(struct localname *ln, const char *name, const char *ifname, bool v4,
                          bool v6);

/* Completes the store: default TTLs, the lookup indexes, CNAME loop detection. Returns 0, or -1
 * with the alias of a cname= loop in loop_alias[cap] (dnsmasq: "CNAME loop involving %s"). */
int localname_finish(struct localname *ln, uint32_t local_ttl_s, char *loop_alias, size_t cap);

/* The interface names of interface-name=, each once, for the caller's warnings. */
size_t localname_ifname_count(const struct localname *ln);
const char *localname_ifname_at(const struct localname *ln, size_t i);

/* ---- Answering. */

/* One current address of an interface, as the ifaddrs hook reports it. */
struct localname_ifaddr {
    int family; /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    bool rev_only; /* answers PTR queries only (temporary, deprecated or tentative IPv6) */
};

/* Everything a local answer is made from; every store may be NULL. */
struct localname_src {
    const struct localname *names;
    const struct localrec *records;
    const struct hosts *hosts;
    const struct synth *synth; /* synth-domain: after hosts data, for A/AAAA and PTR */
    uint32_t rotate;           /* round robin of hosts addresses */
    /* localise-queries (dnsmasq 2.90, IPv4 only): the subnet of the address the query was sent
     * to. When a name's hosts file / host-record (or interface-name) IPv4 addresses include one
     * on it, the A answer has only those; otherwise all of them. */
    bool localise;
    uint8_t local4[4];
    uint8_t local4_prefix;
};

struct localname_hooks {
    void *arg;
    /* The addresses interface ifname has now (IPv4 by label, IPv6 by interface name; no IPv6
     * link-local), at most max into out; returns how many were written. */
    size_t (*ifaddrs)(void *arg, const char *ifname, struct localname_ifaddr *out, size_t max);
    /* The statistics for the CHAOS names (localrec_hooks.counters). */
    void (*counters)(void *arg, struct localrec_counters *out);
    /* One log-queries line ("config NAME is <CNAME>", "hosts NAME is ADDR", ...). */
    void (*log)(void *arg, const char *line);
};

/* False when localname_answer cannot answer name/qtype/qclass: the query path skips it. */
bool localname_may_answer(const struct localname_src *src, const char *name, size_t len,
                          uint16_t qtype, uint16_t qclass);

/* Answers a (see localrec_answer: inputs filled, results zeroed) from every local source. */
void localname_answer(const struct localname_src *src, struct localrec_answer *a,
                      const struct localname_hooks *h);

/* dnsmasq check_for_local_domain: name exists locally (a local record, hosts or host-record
 * name, a cname= alias, an interface-name, or a parent of one; a synth-domain name), so NXDOMAIN
 * for it becomes NODATA. */
bool localname_is_local(const struct localname_src *src, const char *name, size_t len);

/* Parses a reverse name key ("4.3.2.1.in-addr.arpa", 32 nibbles ".ip6.arpa") into family and
 * addr[16]. */
bool localname_arpa_addr(const char *key, size_t len, int *family, uint8_t *addr);
