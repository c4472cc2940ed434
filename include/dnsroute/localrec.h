/* localrec.h - the local records of dnsmasq's configuration and the CHAOS "*.bind" names:
 * ptr-record, txt-record, srv-host, mx-host/mx-target/selfmx/localmx, caa-record, naptr-record
 * and dns-rr, answered as dnsmasq's answer_request (rfc1035.c) answers them: the same records in
 * the same order, AA set, local-ttl, NOTIMP for unanswered CHAOS *.bind / *.server names, and
 * the additional section of MX and SRV replies.
 *
 * Pure module (no I/O). The store is built by the configuration loader (conf), finished once
 * and then read by every worker; the only state that changes afterwards is the SRV rotation
 * counter of each name (atomic), dnsmasq's round robin of srv-host records. Hosts files, DHCP
 * names, cname= and interface-name= live elsewhere: localrec_answer() asks for their part of an
 * answer through struct localrec_hooks. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dnsroute/dnsmsg.h"

/* DNS class CHAOS (RFC 1035 §3.2.4). */
#define LOCALREC_CLASS_CHAOS 3
/* RR types answered here beyond dnsmsg's list. */
#define LOCALREC_TYPE_NAPTR 35
#define LOCALREC_TYPE_CAA   257
#define LOCALREC_TYPE_MAILB 253

/* The counters behind the CHAOS statistics names (dnsmasq cache_make_stat). */
enum localrec_stat {
    LOCALREC_STAT_NONE = 0, /* a fixed text (version.bind, authors.bind, copyright.bind) */
    LOCALREC_STAT_CACHESIZE,
    LOCALREC_STAT_INSERTIONS,
    LOCALREC_STAT_EVICTIONS,
    LOCALREC_STAT_MISSES,
    LOCALREC_STAT_HITS,
    LOCALREC_STAT_AUTH,
    LOCALREC_STAT_SERVERS,
};

/* One upstream line of servers.bind: "ADDR#PORT QUERIES FAILED". */
struct localrec_server_stat {
    char addr[64]; /* address text without port or brackets */
    uint16_t port;
    uint32_t queries, failed;
};

/* What the running daemon reports for the statistics names, summed over its workers. */
struct localrec_counters {
    uint32_t cachesize, insertions, evictions, misses, hits, auth;
    struct localrec_server_stat *servers; /* room for server_cap lines, given by localrec */
    size_t server_count, server_cap;
};

struct localrec;

/* Creates an empty store / frees it (NULL is fine). */
struct localrec *localrec_new(void);
void localrec_free(struct localrec *lr);

/* ---- Building (configuration load). Names are dnsmasq-canonical text: lower case, no trailing
 * dot, "" for the root. Records are kept in configuration order; answers list the records of a
 * name newest first, as dnsmasq's prepended lists do. The store copies what it is given. */

/* txt-record (rclass IN) or a CHAOS name (rclass LOCALREC_CLASS_CHAOS): rdata is the TXT rdata
 * (length-prefixed strings); with stat != NONE the text is made at answer time. */
void localrec_add_txt(struct localrec *lr, const char *name, uint16_t rclass, const uint8_t *rdata,
                      size_t len, enum localrec_stat stat);
/* dns-rr and caa-record: a record of any type with rdata given verbatim (len may be 0). */
void localrec_add_rr(struct localrec *lr, const char *name, uint16_t type, const uint8_t *rdata,
                     size_t len);
/* ptr-record; target NULL answers the root name, as dnsmasq. */
void localrec_add_ptr(struct localrec *lr, const char *name, const char *target);
/* mx-host; target NULL: the mx-target (or host name) chosen by localrec_finish. */
void localrec_add_mx(struct localrec *lr, const char *name, const char *target, uint16_t pref);
/* srv-host; target NULL answers the root name ("service not available", RFC 2782). */
void localrec_add_srv(struct localrec *lr, const char *name, const char *target, uint16_t port,
                      uint16_t priority, uint16_t weight);
/* naptr-record; replace NULL is the root name. flags/services/regexp are kept to 255 bytes. */
void localrec_add_naptr(struct localrec *lr, const char *name, uint16_t order, uint16_t pref,
                        const char *flags, const char *services, const char *regexp,
                        const char *replace);

/* The settings localrec_finish needs (dnsmasq's post-processing in option.c read_opts). */
struct localrec_finish_opts {
    const char *hostname;  /* gethostname(): default mx-host and mx-target */
    const char *mx_target; /* mx-target=, NULL when not given */
    const char *domain;    /* domain= (the default, no subnet), NULL when none */
    bool selfmx, localmx;
    bool ident;          /* false with no-ident: no CHAOS names */
    const char *version; /* text of version.bind */
    const char *authors; /* text of authors.bind */
    const char *copyright;
};

/* Completes the store: the CHAOS names (before any configured record, as dnsmasq), the default
 * MX target and host MX record, the domain added to two-label srv-host names, and the lookup
 * index. Call once, after the last add. */
void localrec_finish(struct localrec *lr, const struct localrec_finish_opts *o);

/* True when name[len] or a name below it has a ptr-record, txt-record, mx-host, srv-host or
 * naptr-record (dnsmasq check_for_local_domain: such a name exists, so a local=/ or domain-needed
 * answer for it is NODATA, not NXDOMAIN). */
bool localrec_has_name_at_or_below(const struct localrec *lr, const char *name, size_t len);
/* True when selfmx/localmx are on, so the hosts store decides MX answers too. */
bool localrec_wants_host_mx(const struct localrec *lr);

struct localrec_answer;

/* False when localrec_answer() cannot answer name/qtype/qclass (no record of the name, not
 * CHAOS, not MAILB, no selfmx/localmx MX): the query path skips building an answer. A hook that
 * answers from other data (hosts) needs its own check. */
bool localrec_may_answer(const struct localrec *lr, const char *name, size_t len, uint16_t qtype,
                         uint16_t qclass);

/* What other stores contribute to an answer, in dnsmasq's order; every member may be NULL. */
struct localrec_hooks {
    void *arg;
    /* PTR from interface-name= (answered before ptr-record), then from hosts files and DHCP
     * (after it). Each returns true when it answered. */
    bool (*ptr_first)(void *arg, struct localrec_answer *a);
    bool (*ptr_hosts)(void *arg, struct localrec_answer *a);
    /* A and AAAA records of the name (hosts, DHCP, host-record, interface-name). */
    void (*addrs)(void *arg, struct localrec_answer *a);
    /* True when name is in a hosts file or a DHCP lease (selfmx/localmx). */
    bool (*is_host)(void *arg, const char *name, size_t len);
    /* Appends the A/AAAA records of an MX or SRV target to the additional section (owner is the
     * target's wire name) with localrec_answer_add_rr. */
    void (*additional)(void *arg, struct localrec_answer *a, const char *name, size_t len,
                       const uint8_t *owner, size_t owner_len);
    /* The statistics for the CHAOS names; without it they read 0. */
    void (*counters)(void *arg, struct localrec_counters *out);
    /* One log-queries line per record set answered: "config NAME is <TYPE>". */
    void (*log)(void *arg, const char *name, uint16_t type);
};

/* One answer being built. The caller fills the inputs, zeroes the rest, calls localrec_answer
 * and reads the results; the records go into *b (started with dnsmsg_builder_init_reply). */
struct localrec_answer {
    /* Inputs. */
    struct dnsmsg_builder *b;
    const char *name; /* the name looked up (canonical key; after a CNAME, its target) */
    size_t name_len;
    const uint8_t *owner; /* owner of the records: NULL for the question name, else wire */
    size_t owner_len;
    uint16_t qtype, qclass;
    uint32_t ttl_s; /* local-ttl */
    /* Results (dnsmasq's ans, nxdomain, notimp, !auth). */
    bool answered;
    bool nxdomain;
    bool notimp;
    bool not_auth;  /* a hook answered from data that is not authoritative */
    uint16_t count; /* records written to the answer section */
};

/* Answers a->name for qtype/qclass from the store and the hooks: TXT (and the CHAOS names), the
 * dns-rr/caa records, PTR, A/AAAA (hooks), MX, SRV, NAPTR, MAILB, then the additional section.
 * Records that do not fit set b's sticky error; the caller checks dnsmsg_builder_finish. */
void localrec_answer(const struct localrec *lr, struct localrec_answer *a,
                     const struct localrec_hooks *h);

/* Appends one record (class IN) for a hook: section ANSWER counts in a->count. owner NULL is
 * a->owner (or the question). */
void localrec_answer_add_rr(struct localrec_answer *a, enum dnsmsg_section section,
                            const uint8_t *owner, size_t owner_len, uint16_t type, uint32_t ttl_s,
                            const uint8_t *rdata, size_t len);

/* Writes name ("" is the root) as an uncompressed wire name into out[DNAME_WIRE_MAX + 1] the way
 * dnsmasq's do_rfc1035_name does. Returns the length, or 0 when it does not fit. */
size_t localrec_name_to_wire(const char *name, uint8_t *out, size_t cap);
