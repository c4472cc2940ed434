/* query_impl.h - private to query*.c: one query in flight, how it ended, and the steps the
 * spine (query.c), the local answers (query_local.c) and the log-queries lines (query_log.c)
 * share. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dnsroute/cache.h"
#include "dnsroute/compat.h"
#include "dnsroute/dname.h"
#include "dnsroute/dnsmsg.h"
#include "dnsroute/domtree.h"
#include "dnsroute/query.h"
#include "dnsroute/upstream.h"

/* Largest client query kept: a question, an OPT and generous options (padding, cookies). */
#define QUERY_BUF_LEN 4096
/* Room for a reply over TCP, plus an OPT we may append. */
#define QUERY_REPLY_CAP (65535 + 64)
/* Every address of the largest reply: an A record takes at least 16 bytes (compressed owner).
 * dnsmasq adds all of them; a cap of 64 left the rest of a big answer out of the sets (found by
 * tests/e2e/test_ipset_diff.sh, 100 A records over TCP). */
#define QUERY_ADDRS_MAX (65535 / 16)

/* How a query ended. query_finish() counts each query exactly once by its outcome (the
 * counters of struct query_stats), so no exit goes uncounted. */
enum query_outcome {
    QUERY_OUT_DROPPED,      /* no reply: unparseable, a response, a reply that did not fit */
    QUERY_OUT_LOCAL,        /* answered from the configuration, hosts or local records */
    QUERY_OUT_RELAYED,      /* an upstream or cached reply relayed */
    QUERY_OUT_SERVFAIL,     /* upstream failure or a reply we could not relay */
    QUERY_OUT_FORMERR,      /* a query we could not parse or forward */
    QUERY_OUT_NOTIMP,       /* an opcode or class we do not serve */
    QUERY_OUT_REFUSED_FULL, /* dns-forward-max reached */
    QUERY_OUT_REFUSED,      /* no server to forward to */
    QUERY_OUT_BOGUS,        /* bogus-nxdomain turned the reply into NXDOMAIN */
};

struct query {
    struct query_ctx *ctx;
    struct query_gen *gen; /* the rules this query started with */
    struct server_client client;
    struct upstream_req up;
    struct dnsmsg_query q; /* parsed client query (offsets into buf) */
    struct domtree_result route;
    uint64_t serial;    /* log-queries=extra */
    uint16_t udp_limit; /* 0 over TCP */
    bool forwarded;     /* counted at the end, with the outcome */
    bool cache_hit;
    bool truncated;
    bool has_cache_key;     /* cache_key built (once, by the cache lookup) */
    bool stale;             /* answered from an expired cache entry (use-stale-cache) */
    bool refresh;           /* fetches a fresh answer for a stale entry: there is no client */
    uint32_t set_additions; /* addresses queued for sets */
    struct cache_key cache_key;
    size_t len;
    size_t key_len;
    char key[DNAME_KEY_MAX];
    uint8_t buf[QUERY_BUF_LEN];
    struct query *next_free;
};

/* The one exit of every query (query.c): counts the outcome, drops the generation reference and
 * recycles q. The client was answered (or dropped) before this. */
void query_finish(struct query *q, enum query_outcome outcome);
/* Hands a reply to the listener and ends q with outcome. */
void query_reply(struct query *q, const uint8_t *pkt, size_t len, enum query_outcome outcome);
/* Hands a reply built in out to the listener, or drops q when building failed (len < 0: it did
 * not fit), and ends q. */
void query_reply_built(struct query *q, const uint8_t *out, int len, enum query_outcome outcome);
/* Answers with rcode only and ends q with outcome. */
void query_reply_rcode(struct query *q, uint8_t rcode, enum query_outcome outcome);
/* The worker's reply work buffer (QUERY_REPLY_CAP bytes): a reply is copied out by the
 * listener before the next one is built on the same loop thread. */
uint8_t *query_scratch(struct query_ctx *ctx);

/* query_local.c: answers from the configuration, in dnsmasq answer_request's order. Each returns
 * true when it answered (and ended) q, false when q goes on along the path. */
/* False when no local source can answer q (a cheap check that writes nothing). */
bool query_may_answer_records(const struct query *q);
/* Hosts files, host-record, cname, interface-name, synth-domain, ptr-record, txt-record,
 * srv-host, mx-host, caa-record, naptr-record, dns-rr, CHAOS names (localname.h). */
bool query_answer_records(struct query *q);
/* dnsmasq check_for_local_domain: q's name exists locally (NODATA rather than NXDOMAIN). */
bool query_name_is_local(const struct query *q);
/* After the domain tree lookup (q->route): address=, local=, domain-needed, bogus-priv and
 * REFUSED for a name without a server. */
bool query_answer_policy(struct query *q);

/* query_log.c: dnsmasq's log-queries lines. */
bool query_logging(const struct query *q);
/* The question name as logged ("." for the root). */
const char *query_name(const struct query *q);
void query_log(const struct query *q, const char *fmt, ...) DNSROUTE_PRINTF(2, 3);
/* "query[A] name from peer". */
void query_log_received(const struct query *q);
/* "<what> name is <address>" for one address of family. */
void query_log_addr(const struct query *q, const char *what, int family, const uint8_t *a);
/* "forwarded name to server" for each server the request went to. */
void query_log_forwarded(const struct query *q);
/* The "reply" (or "cached", as word) lines of a reply r parsed from pkt. */
void query_log_reply(const struct query *q, const uint8_t *pkt, size_t len,
                     const struct dnsmsg_reply *r, const char *word);
