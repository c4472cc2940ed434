/* upstream.h - every exchange with upstream DNS servers: c-ares channels (c-ares 1.18.1 through
 * 1.34, same behaviour on each) driven by the libuv loop, dnsmasq's server selection
 * (last_server, forwardall re-probing, --strict-order, --all-servers), failover on
 * SERVFAIL/REFUSED/timeouts, dns-forward-max, random query IDs and source ports from a pool of
 * sockets, an answer accepted only on the socket its query left from (DNSpooq mitigations), and
 * per-server statistics.
 *
 * I/O module. One `struct upstream` exists per configuration generation; a reload creates a new
 * one and lets the old one drain (upstream_inflight() reaches 0) before upstream_free(). Every
 * function runs on the loop's thread. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "dnsroute/conf.h"
#include "dnsroute/dnsmsg.h"

struct upstream;
struct upstream_attempt;

/* The ordered server ids (indexes into upstream_config.servers) of a group; *count receives
 * their number. conf_group_servers() has this shape once wrapped: the daemon passes a small
 * adaptor with ctx = the struct conf. The returned array must stay valid until upstream_free. */
typedef const uint32_t *upstream_group_servers_cb(void *ctx, uint32_t group, uint32_t *count);

/* What upstream_new() needs; it copies the scalars and borrows the arrays (servers, and what
 * group_servers returns) until upstream_free(). Zero scalars take the defaults noted. */
struct upstream_config {
    const struct conf_server *servers; /* conf.servers: address, @source#port, @interface */
    size_t server_count;
    uint32_t group_count;                     /* groups are 0 .. group_count-1 */
    upstream_group_servers_cb *group_servers; /* ordered server ids of a group */
    void *group_ctx;                          /* passed to group_servers */
    bool strict_order;                        /* --strict-order */
    bool all_servers;                         /* --all-servers */
    uint32_t dns_forward_max;                 /* in-flight requests per group; 0: 150 */
    uint16_t query_port;                      /* --query-port; 0: random */
    uint16_t min_port, max_port;              /* --min-port/--max-port; 0: kernel's range */
    uint32_t try_timeout_ms;                  /* one attempt at one server; 0: 1000 */
    uint32_t total_timeout_ms; /* whole request, all retries; 0: 5000; then ERR_TIMEOUT */
    /* Queries one pooled UDP socket (source port) carries before it is replaced; 0: 64 when
     * the pool has 1024 slots or more, else 1. Each server keeps a pool of open sockets, each
     * query leaving from one picked at random among those the last 15/16 of the pool's queries
     * did not use. A fixed source port (query_port, @source#port) shares one socket per server
     * instead. */
    uint32_t queries_per_socket;
    uint32_t port_slots; /* size of that pool per server; 0: automatic (up to 2048, fewer
                            when the descriptor limit is low) */
    uint32_t instances;  /* upstream instances sharing the descriptor limit (workers);
                            0: 1 */
};

/* Outcome of a request, given to the caller's callback exactly once.
 * status 0: reply is a complete answer to the query, byte for byte as the server sent it, with
 * its parse (dnsmsg_parse_reply against the query: QR set, the question equals the query's
 * case-insensitively, every RR walks inside the length), any rcode, that arrived on the socket
 * the query left from; its ID is set back to upstream's own (whatever ID c-ares put on the wire),
 * so the caller restores the client's. reply and its bytes are valid only during the callback.
 * status < 0: ERR_TIMEOUT (budget spent), -ECANCELED (upstream_free), -ECONNREFUSED or another
 * code after every server failed; reply is NULL. server_id: the server that answered, or
 * UINT32_MAX. The callback may call upstream_send() and upstream_cancel() on other requests, but
 * not upstream_free(). */
struct upstream_req;
typedef void upstream_done_cb(struct upstream_req *req, int status, const struct dnsmsg_view *reply,
                              uint32_t server_id);

/* A request, embedded in the caller's query state; recover the owner with container_of. The
 * fields are private to upstream. It must stay in place from upstream_send() until its
 * callback has run or upstream_cancel() returned. */
struct upstream_req {
    struct upstream *u;
    upstream_done_cb *cb;
    struct upstream_req *prev, *next; /* in-flight list, oldest first (deadline order) */
    struct upstream_req *next_deferred;
    struct upstream_attempt *attempts; /* attempts still in c-ares */
    struct dnsmsg_query *parsed;       /* owned: the query's parse, then its bytes, then the
                                          tried-server bitmap, in one allocation */
    uint8_t *query;                    /* the bytes, inside that allocation */
    size_t len;
    uint8_t *held; /* SERVFAIL/REFUSED kept while other servers may answer */
    size_t held_len;
    struct dnsmsg_reply held_reply; /* its parse */
    uint32_t held_server;
    uint64_t start_ms, deadline_ms;
    uint32_t group;
    uint32_t round; /* full passes over the group */
    int status;     /* outcome kept for a deferred callback */
    uint16_t id;    /* upstream's query ID */
    bool tcp;
    bool forwardall;
    bool deferred;     /* finished; its callback runs on the next loop turn */
    bool active;       /* between upstream_send() and the callback or upstream_cancel() */
    bool sending;      /* inside a send loop: failures are looked at when it ends */
    bool sent_initial; /* later attempts count as retries */
};

/* Per-server statistics for SIGUSR1 (dnsmasq's "server 1.2.3.4#53: queries sent N, retried
 * or failed M"). */
struct upstream_server_stats {
    uint64_t sent;           /* attempts sent to this server */
    uint64_t retried;        /* attempts that were a retry of a request already sent elsewhere */
    uint64_t failed;         /* attempts that timed out or failed to connect */
    uint64_t nxdomain;       /* NXDOMAIN replies */
    uint64_t answered;       /* replies of any rcode accepted */
    uint32_t avg_latency_ms; /* mean over accepted replies, 0 when none */
};

/* Creates the upstream instance of one configuration generation on loop: validates cfg (server
 * addresses, port range, groups), initialises c-ares and starts a 100 ms housekeeping timer.
 * Returns 0 with *out set, ERR_BAD_ADDRESS, ERR_BAD_PORT, or another negative code. */
int upstream_new(uv_loop_t *loop, const struct upstream_config *cfg, struct upstream **out);

/* Sends query (len bytes: a validated query, one question, OPT last if any, already prepared
 * for upstream) to group, over TCP when tcp. query is copied; upstream writes its own random ID,
 * unique among requests in flight. Returns 0 (cb runs exactly once, never inside this call),
 * ERR_FULL (dns-forward-max requests in flight for the group: answer REFUSED), ERR_NOT_FOUND
 * (no such group or an empty one), ERR_MALFORMED (not a query) or another negative code; on
 * failure cb never runs. May be called from an upstream_done_cb. */
int upstream_send(struct upstream *u, uint32_t group, const uint8_t *query, size_t len, bool tcp,
                  struct upstream_req *req, upstream_done_cb *cb);

/* Abandons a request in flight: its callback will not run and req may be reused or freed as
 * soon as this returns. A no-op for a request that already completed (or a zeroed one). */
void upstream_cancel(struct upstream_req *req);

/* The servers (indexes into upstream_config.servers) req is waiting on, in the order they were
 * asked; at most cap are written to out. For log-queries' "forwarded" lines right after
 * upstream_send(). Returns the number written. */
size_t upstream_req_servers(const struct upstream_req *req, uint32_t *out, size_t cap);

/* Requests in flight (for draining an old generation before upstream_free). */
size_t upstream_inflight(const struct upstream *u);

/* Statistics of server_id (an index into upstream_config.servers); zeros for an unknown id. */
void upstream_get_stats(const struct upstream *u, uint32_t server_id,
                        struct upstream_server_stats *out);

/* Frees u: every request still in flight gets its callback with -ECANCELED (from inside this
 * call; the callbacks must not send on u), then the channels are destroyed and the loop handles
 * closed; the memory goes when the last close callback has run, so the loop must run on.
 * Must not be called from an upstream_done_cb. NULL is a no-op. */
void upstream_free(struct upstream *u);
