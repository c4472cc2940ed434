/* upstream_impl.h - private to upstream.c (requests, server selection, answer checks) and
 * upstream_chan.c (c-ares channels, their sockets and the libuv glue). */
#pragma once

#include <ares.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "dnsroute/upstream.h"

/* How often the housekeeping timer runs c-ares' timeouts and the request deadlines. */
enum { UPSTREAM_TICK_MS = 100 };
/* dnsmasq's FORWARD_TEST and FORWARD_TIME: re-probe every server of a group this often. */
enum { UPSTREAM_FORWARD_TEST = 50, UPSTREAM_FORWARD_TIME_MS = 20000 };
/* Idle channels older than this are destroyed by the housekeeping timer. */
enum { UPSTREAM_IDLE_CHAN_MS = 5000 };
/* Port pool sockets per server: at most this many, fewer when the descriptor limit is low or
 * there are many servers (see upstream_chan_pool_size). */
enum { UPSTREAM_PORT_SLOTS_MAX = 1024, UPSTREAM_PORT_SLOTS_MIN = 64 };
/* Default queries one pooled socket carries before it is replaced. */
enum { UPSTREAM_QUERIES_PER_SOCKET = 8 };
/* A retired pool socket is closed once its answers are in, or after this long. */
enum { UPSTREAM_RETIRED_SOCK_MS = 10000 };
/* A pool socket unused this long is closed (an idle daemon holds no pool sockets). */
enum { UPSTREAM_IDLE_SOCK_MS = 60000 };
/* Answers whose FORMERR rcode was hidden from c-ares, remembered per channel (see on_recvfrom). */
enum { UPSTREAM_PATCHED_MAX = 4 };

struct upstream_chan;

/* One descriptor c-ares opened, watched by one uv_poll_t; freed in the poll's close callback. */
struct upstream_sock {
    uv_poll_t poll;
    struct upstream_chan *chan;
    struct upstream *u;
    struct upstream_sock *next;
    int fd;
    /* TCP stream position for the FORMERR filter: bytes of the length prefix still to come,
     * then the offset inside the current message and its length. */
    uint32_t tcp_prefix_need;
    uint32_t tcp_msg_len;
    uint32_t tcp_msg_pos;
    uint16_t tcp_len_acc;
    uint16_t tcp_id;
    uint8_t tcp_byte2;
};

/* A socket of a pooled channel's port pool: connected to the server, bound to its own random
 * ephemeral port, watched by its own uv_poll_t; freed in the poll's close callback. */
struct upstream_psock {
    uv_poll_t poll;
    struct upstream_chan *chan; /* not valid in the close callback (the channel may be gone) */
    struct upstream *u;
    struct upstream_psock *next_retired;
    int fd;
    uint32_t slot;
    uint32_t carried; /* queries sent through it */
    uint32_t pending; /* queries sent minus answers read */
    uint64_t used_ms; /* last query sent, or retirement time once retired */
    bool retired;     /* out of its slot: takes no more queries, waits for late answers */
    bool read_one;    /* an answer was read in this readiness event */
    bool closing;
};

/* A c-ares channel talking to exactly one server over one transport.
 * Pooled (UDP, kernel-chosen source ports): one channel per server, kept for good (STAYOPEN).
 * c-ares sees its single UDP socket, but every query actually leaves through the next socket of
 * a pool of up to port_slots sockets on random ports, visited in a freshly shuffled order each
 * pass and replaced after queries_per_socket queries (on_asendv); answers are read from whichever
 * pool socket got them and handed to c-ares as if they came on its socket (on_arecvfrom). So
 * consecutive queries leave from different ports without opening a socket per query, and c-ares
 * state (74 KB per channel) exists once per server.
 * Other channels (TCP, fixed source ports) close their sockets when idle (no STAYOPEN) and wait
 * on the pool's idle stack. */
struct upstream_chan {
    ares_channel ch;
    struct upstream *u;
    struct upstream_sock *socks;
    struct upstream_chan *next_idle; /* in the pool's idle stack */
    uint64_t idle_since_ms;
    size_t index; /* in upstream.chans */
    uint32_t server;
    uint32_t inflight; /* our attempts inside this channel */
    uint32_t carried;  /* attempts since its sockets were opened */
    uint32_t nsocks;
    bool tcp;
    bool idle;                      /* on the idle stack */
    bool current;                   /* the pool's accepting channel */
    bool retired;                   /* never reused; destroyed once idle */
    bool pooled;                    /* UDP through the port pool (see above) */
    struct upstream_psock **psocks; /* pooled: nslots sockets, NULL where none is open yet */
    uint32_t *order;                /* pooled: a random permutation of the slots */
    uint32_t nslots;
    uint32_t next;                  /* position in order */
    struct upstream_psock *reading; /* the pool socket c-ares is reading through right now */
    struct upstream_psock *retired_socks;
    uint16_t patched[UPSTREAM_PATCHED_MAX];
    uint8_t patched_count;
};

/* The channels of one (server, transport). */
struct upstream_pool {
    struct upstream_chan *current; /* accepting new attempts, or NULL */
    struct upstream_chan *idle;    /* stack of idle channels with no socket */
};

/* One send of a request to one server, alive while c-ares holds it. req is NULL once the
 * request completed or was cancelled: the answer is then dropped. */
struct upstream_attempt {
    struct upstream_req *req;
    struct upstream_chan *chan;
    struct upstream_attempt *next; /* in req->attempts, or in the free list */
    uint64_t sent_ms;
    uint32_t server;
    uint32_t pos; /* position of server in the request's group */
    uint16_t id;
};

struct upstream_group {
    int32_t last_server;    /* position in the group, -1: none (dnsmasq's last_server) */
    uint32_t forward_count; /* queries since the last forwardall */
    uint64_t forward_time_ms;
    uint32_t inflight;
};

struct upstream_server {
    union sockaddr_any addr;
    union sockaddr_any source;
    char iface[IF_NAMESIZE];
    struct upstream_pool pools[2]; /* [0] UDP, [1] TCP */
    struct upstream_server_stats stats;
    uint64_t latency_sum_ms;
};

struct upstream {
    uv_loop_t *loop;
    uv_timer_t tick;
    uv_timer_t defer; /* runs deferred failures on the next loop turn */
    struct upstream_config cfg;
    struct upstream_server *servers;
    struct upstream_group *groups;
    struct upstream_chan **chans; /* every channel, for the housekeeping timer */
    size_t chan_count, chan_cap;
    struct upstream_req *head, *tail; /* in flight, by deadline */
    struct upstream_req *deferred;    /* FIFO of outcomes for the next turn */
    struct upstream_attempt *free_attempts;
    uint16_t *id_refs; /* 65536 reference counts: the request and its attempts */
    uint8_t rand_buf[256];
    size_t rand_pos;
    size_t inflight;
    int closing_handles;
    uint32_t port_slots; /* slots per server's UDP port pool, 0: no pool (fixed ports) */
    bool freeing;
};

/* upstream.c: time, randomness. */
uint64_t upstream_now_ms(struct upstream *u);
uint32_t upstream_random(struct upstream *u);

/* upstream.c: called by upstream_chan.c from the c-ares callback of an attempt. abuf is the
 * answer (NULL unless status == ARES_SUCCESS), already with any hidden FORMERR restored. */
/* upstream.c: a loop handle of u finished closing (u may be freed now). */
void upstream_handle_closed(struct upstream *u);
void upstream_attempt_done(struct upstream_attempt *a, int ares_status, const uint8_t *abuf,
                           size_t alen);

/* upstream_chan.c: channel pool and loop glue. */
/* Sends query through an accepting channel of (server, tcp); a->chan is set. The attempt's
 * callback may run synchronously inside this call only when it returns an error (then it has
 * already been released by upstream_attempt_done with a failure status). */
int upstream_chan_send(struct upstream *u, struct upstream_attempt *a, const uint8_t *query,
                       size_t len, bool tcp);
/* True when c-ares switched EDNS off on the channel (after a FORMERR answer). */
bool upstream_chan_lost_edns(struct upstream_chan *c);
/* Stops giving new attempts to c; it is destroyed once idle. */
void upstream_chan_retire(struct upstream_chan *c);
/* Runs c-ares' timeouts on every busy channel and destroys channels idle for long. */
void upstream_chan_tick(struct upstream *u);
/* Destroys every channel (c-ares runs each pending attempt's callback with ARES_EDESTRUCTION). */
void upstream_chan_destroy_all(struct upstream *u);
/* Chooses the port pool size from the descriptor limit (raised to its hard maximum) and the
 * number of pools sharing it (servers times workers). */
uint32_t upstream_chan_pool_size(size_t pools);
