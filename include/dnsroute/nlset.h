/* nlset.h - adds DNS answer addresses to Linux ipsets and nftables sets over netlink (dnsmasq's
 * ipset= and nftset=), batched: the daemon queues addresses with nlset_add() while it handles
 * replies, then calls nlset_flush() once, before it sends those replies. The kernel applies
 * netfilter netlink requests inside sendmsg(), so when nlset_flush() returns the addresses are in
 * the sets and a client that connects right after its answer is already routed.
 *
 * I/O module: owns one NETLINK_NETFILTER socket and a preallocated batch. Not thread-safe; use it
 * from the loop thread only. No libuv here: the daemon decides when to flush and re-check. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dnsroute/conf.h"

struct nlset;

/* Tunables; nlset_options_default() fills the defaults given below. */
struct nlset_options {
    /* Element timeouts, for sets created with a timeout (ipset `timeout N`, nft `flags timeout`):
     * when ttl_timeouts is true, each element gets timeout = clamp(answer TTL, timeout_min_s,
     * timeout_max_s); re-adding an address refreshes it. When false, no timeout attribute is
     * sent and the set's default timeout applies (dnsmasq's behaviour). Sets without timeout
     * support never get the attribute (the kernel would refuse it). Defaults: true, 300 s
     * (a short DNS TTL must not expire a route in use), 86400 s. Values are clamped to
     * 1..2147483 s (the largest ipset accepts). */
    bool ttl_timeouts;
    uint32_t timeout_min_s;
    uint32_t timeout_max_s;
    /* At most one warning per set per interval for add errors. Default 60 s. */
    uint32_t log_interval_s;
    /* Addresses that can be queued between two flushes; nlset_add() flushes early when the
     * queue is full. Default 4096. */
    uint32_t batch_max;
};

/* The state of one set, as last probed. */
enum nlset_state {
    NLSET_STATE_UNKNOWN = 0, /* not probed yet */
    NLSET_STATE_MISSING,     /* the set (or its nft table) does not exist; re-checked */
    NLSET_STATE_UNUSABLE,    /* exists but cannot hold plain addresses (type, map, concat) */
    NLSET_STATE_READY,       /* adds are sent */
};

/* Kinds of failure counted per set. */
enum nlset_err_kind {
    NLSET_ERR_MISSING = 0, /* set or table does not exist (queued while missing, or ENOENT) */
    NLSET_ERR_FAMILY,      /* kernel refused the address family / key (protocol, EINVAL) */
    NLSET_ERR_FULL,        /* set is full (ipset maxelem, nft size) */
    NLSET_ERR_TIMEOUT,     /* kernel refused the timeout attribute */
    NLSET_ERR_PERM,        /* EPERM: no CAP_NET_ADMIN in the set's network namespace */
    NLSET_ERR_OTHER,       /* anything else: send failure, lost replies, interval overlap */
    NLSET_ERR_KIND_COUNT
};

/* Counters and probe results of one set, for SIGUSR1 statistics and tests. */
struct nlset_stats {
    enum nlset_state state;
    int family;            /* AF_INET or AF_INET6 accepted by the set; 0 when not known */
    bool has_timeout;      /* elements carry a timeout */
    bool interval;         /* nft interval set (each address is sent as [a, a+1)) */
    uint64_t queued;       /* addresses accepted by nlset_add (after dedupe) */
    uint64_t added;        /* addresses the kernel confirmed (new or refreshed) */
    uint64_t deduped;      /* nlset_add calls merged into an address already queued */
    uint64_t wrong_family; /* skipped: the address family does not match the set */
    uint64_t errors[NLSET_ERR_KIND_COUNT]; /* addresses not added, by kind */
    int last_error;                        /* last error code (see nlset_err_str), 0 when none */
};

/* Fills *opt with the defaults documented in struct nlset_options. */
void nlset_options_default(struct nlset_options *opt);

/* Opens the netlink socket (non-blocking, close-on-exec, NETLINK_CAP_ACK, large receive buffer)
 * and probes every set once: ipset family, type and timeout (IPSET_CMD_LIST header), nft key
 * type and flags (NFT_MSG_GETSET). A missing or unusable set is logged and is not an error: it is
 * re-probed by nlset_recheck(). sets[i] gets set id i; the sets are copied, so the caller may free
 * them afterwards. opt may be NULL for the defaults. Returns 0 and *out (free with nlset_free), or
 * -errno when the socket cannot be opened (typically -EPERM or -EPROTONOSUPPORT), the only fatal
 * case. Blocking only for the probe round trips (the kernel answers inside sendmsg). */
int nlset_new(const struct conf_set *sets, size_t count, const struct nlset_options *opt,
              struct nlset **out);

/* Flushes nothing: pending adds are dropped. Closes the socket. NULL is allowed. */
void nlset_free(struct nlset *n);

/* Queues one address for a set. family is AF_INET (addr: 4 bytes) or AF_INET6 (16 bytes, network
 * order); ttl_s is the answer's TTL, from which the element timeout is derived. The address is
 * skipped (and counted) when it does not match the set's family (ipset: the probed family; nft:
 * the key type and the 4#/6# prefix) or when the set is missing or unusable. An address already
 * queued for the set is merged (the longer TTL wins). When the queue is full, the queue is flushed
 * first. Never allocates. Safe inside loop callbacks.
 * Returns 0 when queued or merged, -EAFNOSUPPORT (wrong family, skipped), ERR_NOT_FOUND (set
 * missing or unusable, skipped), or -EINVAL (bad set_id or family: a caller bug). */
int nlset_add(struct nlset *n, uint32_t set_id, int family, const uint8_t *addr, uint32_t ttl_s);

/* Number of addresses queued since the last flush. */
size_t nlset_pending(const struct nlset *n);

/* Sends everything queued: one ipset ADD message per set (all elements in IPSET_ATTR_ADT, never
 * NLM_F_EXCL, so re-adding refreshes the timeout) and one nftables transaction holding one
 * NEWSETELEM per set, all in one sendmmsg() (split into 64 KiB messages only when larger). When it
 * returns, the kernel has applied the adds; the replies are then read without blocking and errors
 * are counted per set and logged at most once per set per log_interval_s. A set reported missing
 * is marked so and re-probed by nlset_recheck(). A failing nft set is taken out of the transaction
 * and the rest is sent again, so one bad set does not block the others.
 * Returns the number of addresses the kernel confirmed (>= 0); send failures are counted per set
 * like kernel errors. Never allocates. Safe inside loop callbacks (it may block on the kernel's
 * nfnetlink mutex while another process runs `ipset restore` or `nft -f`). */
int nlset_flush(struct nlset *n);

/* Probes again the sets that are missing, unusable, or whose last errors suggest they were
 * re-created (family or timeout refused), so a set created after start-up starts working without
 * a restart. Call it every few seconds. Logs each state change once. Returns the number of sets
 * that are still not ready (>= 0), or -errno when the socket failed. */
int nlset_recheck(struct nlset *n);

/* Copies the counters and probe results of a set into *out. Returns 0, or -EINVAL for a bad id. */
int nlset_get_stats(const struct nlset *n, uint32_t set_id, struct nlset_stats *out);

/* Number of sets (the count given to nlset_new). */
size_t nlset_count(const struct nlset *n);

/* Writes one info line per set with its counters to the log (for SIGUSR1). */
void nlset_log_stats(const struct nlset *n);

/* Text for an error code found in nlset_stats.last_error: negative errno, negative ipset error
 * (IPSET_ERR_*, 4096 and up) or ERR_*. Never NULL. */
const char *nlset_err_str(int code);

/* Name of an error kind ("missing", "family", ...). */
const char *nlset_err_kind_str(enum nlset_err_kind kind);
