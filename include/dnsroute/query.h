/* query.h - the path of one query, from the listener to the reply: parse and validate, look up
 * the domain tree, answer locally or forward upstream, check and rewrite the reply, queue its
 * addresses for the sets, and hand the reply to the listener. The states and the data flow live
 * in query.c, and only there. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "dnsroute/conf.h"
#include "dnsroute/log.h"
#include "dnsroute/server.h"
#include "dnsroute/upstream.h"

struct upstream;
struct nlset;
struct dnsmsg_addr;
struct cache;
struct query;
struct ifaddr_table;

/* One configuration generation as one worker's queries see it: the shared, immutable
 * configuration plus this worker's upstream channels and set socket. A query holds a reference
 * from arrival to its end, so a reload never changes the rules under a query in flight. */
struct query_gen {
    const struct conf *conf; /* shared by every worker's generation of the same load */
    struct upstream *upstream;
    struct nlset *nlset;  /* NULL when no ipset=/nftset= rule exists */
    uint32_t conf_serial; /* the same for every worker's generation of one load, new per load */
    uint32_t refs;        /* the daemon's (while current) plus one per query */
    /* Called when the last reference goes; the daemon frees the generation. */
    void (*released)(struct query_gen *gen, void *arg);
    void *released_arg;
};

/* Per worker, written on its loop thread only (dnsroute_counter_add) and read by other threads
 * through query_stats_add (relaxed loads). received counts arrivals; each query that
 * arrived then ends in exactly one of answered_locally, replies, servfail, refused_full,
 * refused, formerr, notimp, dropped or bogus_nxdomain (query.c query_finish); forwarded,
 * cache_hits, truncated and set_additions count what happened on the way. dropped also counts
 * clients refused by --local-service, which never arrive as queries. */
struct query_stats {
    uint64_t received;
    uint64_t forwarded;
    uint64_t answered_locally;
    uint64_t replies;      /* upstream replies relayed */
    uint64_t servfail;     /* upstream failures answered with SERVFAIL */
    uint64_t refused_full; /* dns-forward-max reached */
    uint64_t refused;      /* no upstream server to send to */
    uint64_t formerr;
    uint64_t notimp;
    uint64_t dropped;       /* unparseable, or a response sent to us */
    uint64_t truncated;     /* replies cut to the client's UDP size */
    uint64_t set_additions; /* addresses queued for sets */
    uint64_t bogus_nxdomain;
    uint64_t cache_hits;
    uint64_t stale_answers; /* use-stale-cache: answered from an expired entry */
};

/* The answer cache, shared by every worker (cache.h: sharded, each shard locked only to copy an
 * entry in or out). */
struct query_cache {
    struct cache *cache;
    uint32_t max_entries; /* fixed at start-up (a reload keeps the cache and its size) */
};

/* Creates/frees the shared cache with max_entries (cache-size; 0 stores nothing). */
void query_cache_init(struct query_cache *qc, uint32_t max_entries);
void query_cache_deinit(struct query_cache *qc);

/* The I/O a query does, as functions of the listener, upstream and nlset modules; a unit test
 * swaps in its own table (tests/unit/test_query.c). The signatures are those modules' own. */
struct query_ops {
    /* server_reply, server_drop: a reply (or none) for client. */
    void (*reply)(struct server *s, const struct server_client *client, const uint8_t *pkt,
                  size_t len);
    void (*drop)(struct server *s, const struct server_client *client);
    /* upstream_send: cb runs later, exactly once, unless this returns < 0. */
    int (*upstream_send)(struct upstream *u, uint32_t group, const uint8_t *query, size_t len,
                         bool tcp, struct upstream_req *req, upstream_done_cb *cb);
    /* upstream_req_servers: the servers a request in flight went to (log-queries). */
    size_t (*upstream_servers)(const struct upstream_req *req, uint32_t *out, size_t cap);
    /* nlset_add: queues one address for one set. */
    int (*set_add)(struct nlset *n, uint32_t set_id, int family, const uint8_t *addr,
                   uint32_t ttl_s);
};

/* The real modules' functions; query_ctx_init installs it. */
extern const struct query_ops query_ops_default;

struct query_ctx {
    uv_loop_t *loop;
    const struct query_ops *ops; /* query_ops_default unless a test replaces it */
    uint8_t *scratch;            /* reply work buffer of this worker (one loop thread) */
    struct dnsmsg_addr *addrs;   /* addresses of the reply being handled */
    uint16_t *ttl_offs;          /* TTL offsets of the reply being cached or served from cache */
    struct server *server;
    struct query_gen *gen;     /* current generation */
    struct query_cache *cache; /* shared by workers and generations (borrowed) */
    struct query_stats stats;
    struct query *free_list;
    uint32_t free_count;
    uint32_t in_flight;
    struct log_ratelimit full_log; /* "Maximum number of concurrent DNS queries" */
    struct ifaddr_table *ifaddrs;  /* local subnets for --local-service, opened on first use */
    bool nonlocal_logged;          /* "ignoring query from non-local network" is logged once */
    uint32_t hosts_rotate;         /* round robin over a hosts name's addresses */
    /* The daemon's statistics for the CHAOS names (cachesize.bind, hits.bind, ...), summed
     * over every worker; NULL reads zeros. Runs on this worker's loop thread. */
    void (*counters)(void *arg, struct localrec_counters *out);
    void *counters_arg;
};

/* Sets up ctx (caller-owned) for a loop and a listener set; gen is the current generation;
 * cache is borrowed until query_ctx_deinit. */
void query_ctx_init(struct query_ctx *ctx, uv_loop_t *loop, struct server *server,
                    struct query_gen *gen, struct query_cache *cache);
/* Frees the query free list and the scratch buffer. Every query must have ended. */
void query_ctx_deinit(struct query_ctx *ctx);
/* Adds every counter of add to sum (SIGUSR1 sums the workers). */
void query_stats_add(struct query_stats *sum, const struct query_stats *add);
/* server_query_cb: a query arrived (arg is the query_ctx). */
void query_receive(void *arg, const struct server_client *client, const uint8_t *pkt, size_t len);

/* server_batch_cb (arg: the query_ctx): before a receive batch is handed to query_receive one by
 * one, starts the cache loads its lookups will need, so that their misses overlap, and leaves
 * each datagram's cache hash in its hint, so that the lookup does not hash it again. */
void query_prefetch(void *arg, struct server_datagram *d, size_t n);

/* The cache key hash (cache_hash) of query datagram pkt[len] read from its bytes, as the lookup
 * will compute it after parsing, and the tag the lookup checks before it uses the hash (never
 * 0); false when it is not a plain one-question query. */
bool query_peek_cache_hash(const uint8_t *pkt, size_t len, uint64_t *hash, uint16_t *tag);

/* The tag of a cache hash hint for a question of that name length and CACHE_VARIANT_* bits
 * (never 0): the lookup uses a datagram's hint only when it equals the parsed question's. */
uint16_t query_hint_tag(size_t qname_len, uint8_t variant);
/* Takes and drops a reference to a generation. */
void query_gen_ref(struct query_gen *gen);
void query_gen_unref(struct query_gen *gen);
