/* domtree.h - the domain suffix table: every server=, local=, address=, ipset= and nftset= rule
 * in one structure. One lookup of a query name returns the routing decision (which upstream
 * group, a local answer, NXDOMAIN/NODATA, REFUSED) and the ipset and nftset lists, following
 * dnsmasq 2.92+ semantics (longest suffix on label boundaries, '*' wildcards, '//' for dotless
 * names, per-domain priorities between rule kinds).
 *
 * Pure module: no I/O. Upstream servers and set lists are opaque 32-bit ids chosen by the caller
 * (conf interns them); the tree interns each domain's ordered server-id list into a group id, so
 * identical lists share one group (the whole china list is one group).
 *
 * Life cycle: domtree_new, domtree_add_* in configuration order, domtree_finish, then any number
 * of concurrent domtree_lookup calls (read-only), domtree_free. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DOMTREE_NONE UINT32_MAX

struct domtree;

/* What a domain rule is. Several kinds may sit on one domain. */
enum domtree_rule_kind {
    DOMTREE_RULE_SERVER,     /* server=/d/ip: forward to server id `id` (appended in order) */
    DOMTREE_RULE_USE_RESOLV, /* server=/d/#: use the default (non-domain) servers */
    DOMTREE_RULE_LOCAL,      /* local=/d/, server=/d/, address=/d/: answer locally */
    DOMTREE_RULE_ADDR4,      /* address=/d/1.2.3.4: A literal in `addr` (4 bytes) */
    DOMTREE_RULE_ADDR6,      /* address=/d/::1: AAAA literal in `addr` (16 bytes) */
    DOMTREE_RULE_ZEROS,      /* address=/d/#: 0.0.0.0 for A, :: for AAAA */
    DOMTREE_RULE_IPSET,      /* ipset=/d/...: set list `id` (first line for a domain wins) */
    DOMTREE_RULE_NFTSET,     /* nftset=/d/...: set list `id` (first line for a domain wins) */
};

/* Which names a rule's domain covers. */
enum domtree_scope {
    DOMTREE_SCOPE_SUFFIX,   /* the key and every name under it ("" = every name: the defaults) */
    DOMTREE_SCOPE_WILDCARD, /* '*'-form: any name whose text ends with the key */
    DOMTREE_SCOPE_NODOTS,   /* server=//...: names without a dot */
};

struct domtree_rule {
    enum domtree_rule_kind kind;
    enum domtree_scope scope;
    uint32_t id;      /* SERVER: server id; IPSET/NFTSET: set list id */
    uint8_t addr[16]; /* ADDR4 (first 4 bytes) / ADDR6 */
};

enum domtree_action {
    DOMTREE_FORWARD,  /* forward to `group` */
    DOMTREE_ADDRESS,  /* answer with the literal addresses (addrs/addr_count) */
    DOMTREE_NXDOMAIN, /* local=: NXDOMAIN */
    DOMTREE_NODATA,   /* local= with a sibling address= of another type: NOERROR, no answer */
    DOMTREE_REFUSED,  /* no server for this name: REFUSED, like dnsmasq */
};

/* The decision for one query name and type. Pointers are borrowed from the tree and live as long
 * as the tree does. */
struct domtree_result {
    enum domtree_action action;
    uint32_t group;        /* FORWARD: upstream group id */
    bool domain_specific;  /* FORWARD: matched a domain's own servers, not the defaults */
    int addr_family;       /* ADDRESS: AF_INET or AF_INET6; AF_UNSPEC: ANY for address=/d/#, */
                           /*   answered with A 0.0.0.0 and AAAA :: (addrs: 16 zero bytes) */
    uint32_t addr_count;   /* ADDRESS: number of literals */
    const uint8_t *addrs;  /* ADDRESS: addr_count * 4 or 16 bytes, network order */
    uint32_t ipset_list;   /* DOMTREE_NONE when no ipset= rule matches */
    uint32_t nftset_list;  /* DOMTREE_NONE when no nftset= rule matches */
    const char *route_key; /* the matched routing domain ("" for defaults), for logs; not NUL- */
    size_t route_key_len;  /*   terminated: use route_key_len */
};

/* Allocates an empty tree; the caller frees it with domtree_free. */
struct domtree *domtree_new(void);
void domtree_free(struct domtree *t);

/* Adds one rule for the canonical key (see dname_canonicalise) of len bytes. Rules are added in
 * configuration order; that order decides server order within a group and the first ipset=/
 * nftset= line for a domain. A server id repeated for one domain keeps its first place only.
 * A WILDCARD rule with an empty key is a default ("" SUFFIX) rule; NODOTS rules take key "".
 * Returns 0, ERR_BAD_DOMAIN (key not canonical: upper case, space, control or non-ASCII bytes,
 * over DNAME_KEY_MAX, or a non-empty NODOTS key) or ERR_UNSUPPORTED (IPSET/NFTSET with a scope
 * other than SUFFIX: dnsmasq has no '*' or '//' form for sets). Not after domtree_finish. */
int domtree_add(struct domtree *t, const char *key, size_t len, const struct domtree_rule *rule);

/* Freezes the tree: builds the lookup table and interns server lists into groups. */
int domtree_finish(struct domtree *t);

/* Routes a query: key is the query name as a key (dname_wire_to_key), qtype its type. ASCII
 * letters in key may be of either case. Thread-safe on a finished tree; never fails; no
 * allocation (about 16 KB of stack).
 * - FORWARD: domain_specific is false when the group is the "" domain's (defaults), including
 *   server=/d/# (USE_RESOLV), whose route_key is still d; true for server=// (NODOTS).
 * - ADDRESS for address=/d/#: one all-zero address of the query's family.
 * - REFUSED: route_key is "". */
void domtree_lookup(const struct domtree *t, const char *key, size_t len, uint16_t qtype,
                    struct domtree_result *out);

/* The ordered server ids of a group; *count receives their number. */
const uint32_t *domtree_group_servers(const struct domtree *t, uint32_t group, uint32_t *count);
/* Number of groups; group ids are 0 .. count-1. */
uint32_t domtree_group_count(const struct domtree *t);
/* Number of distinct domains (keys) held, and bytes of memory owned. */
size_t domtree_domain_count(const struct domtree *t);
size_t domtree_memory(const struct domtree *t);
