/* upstream_impl.h - private to upstream.c (requests, server selection, answer checks) and
 * upstream_chan.c (c-ares channels, their sockets and the libuv glue). */
#pragma once

#include <ares.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
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
enum { UPSTREAM_PORT_SLOTS_MAX = 2048, UPSTREAM_PORT_SLOTS_MIN = 64 };
/* Queries one pooled socket carries before it is replaced, by default: many when the pool is
 * large enough to give every 1,000 consecutive queries >= 984 different ports by itself (the
 * cool-down below), else one (a fresh port per query, as dnsmasq: the pool is then too small to
 * spread 1,000 queries and only new ports can). */
enum { UPSTREAM_QUERIES_PER_SOCKET = 64, UPSTREAM_LAZY_SLOTS_MIN = 1024 };
/* Unanswered queries a pool socket tracks without an allocation (the cool-down ring makes more
 * than one rare). */
enum { UPSTREAM_PSOCK_INLINE_IDS = 4 };
/* A retired pool socket is closed once its answers are in, or after this long. */
enum { UPSTREAM_RETIRED_SOCK_MS = 10000 };
/* A pool socket unused this long is closed (an idle daemon holds no pool sockets). */
enum { UPSTREAM_IDLE_SOCK_MS = 60000 };
/* Datagrams one readiness event of a pool socket reads at most (forged ones are dropped). */
enum { UPSTREAM_READ_BURST = 64 };

struct upstream_chan;

/* A UDP query whose datagram could not be sent (the send hook told c-ares it was): the
 * stand-in answer c-ares reads for it on the next loop turn through socket fd, which ends that one
 * query without an answer (see upstream_chan.c, "unsent queries"). */
struct upstream_unsent {
    struct upstream_unsent *next;
    int fd;
    size_t len;
    uint8_t msg[]; /* the stand-in: the query's header and question, QR set, REFUSED */
};

/* One descriptor c-ares opened, watched by one uv_poll_t; freed in the poll's close callback. */
struct upstream_sock {
    uv_poll_t poll;
    struct upstream_chan *chan;
    struct upstream *u;
    struct upstream_sock *next;
    int fd;
    int events; /* UV_READABLE | UV_WRITABLE the poll watches (re-armed only on a change: every
                   uv_poll_start costs epoll_ctl calls) */
    /* TCP stream position of the receive filter: bytes of the length prefix still to come, then
     * the current message being copied (tcp_msg, tcp_msg_len bytes, tcp_msg_pos so far). */
    uint32_t tcp_prefix_need;
    uint32_t tcp_msg_len;
    uint32_t tcp_msg_pos;
    uint16_t tcp_len_acc;
    uint8_t *tcp_msg;
};

/* An answer taken off the wire by the receive filter, waiting for c-ares to complete the attempt
 * whose query carried wire_id (c-ares sees only a stand-in, see upstream_chan.c). Captures live
 * only during one ares_process_fd() call. */
struct upstream_capture {
    struct upstream_capture *next;
    struct upstream_psock *ps; /* the pool socket it came on, NULL for any other */
    uint8_t *pkt;
    size_t len;
    uint16_t wire_id;
};

/* A socket of a pooled channel's port pool: connected to the server, bound to its own random
 * ephemeral port, watched by its own uv_poll_t; freed in the poll's close callback. */
struct upstream_psock {
    /* What a send and an answer touch comes first, on one cache line: the socket is picked at
     * random among thousands, so each of its lines is a likely cache miss. */
    struct upstream_chan *chan; /* not valid in the close callback (the channel may be gone) */
    uint16_t *ids;              /* wire IDs of the queries sent from it and not answered yet */
    int fd;
    uint32_t nids;
    uint32_t ids_cap;
    uint32_t carried; /* queries sent through it */
    uint64_t used_ms; /* last query sent, or retirement time once retired */
    bool retired;     /* out of its slot: takes no more queries, waits for late answers */
    bool closing;
    uint16_t ids_inline[UPSTREAM_PSOCK_INLINE_IDS]; /* ids until more are unanswered at once */
    uint32_t slot;
    uint64_t serial; /* unique in its channel: an attempt finds the socket it left from */
    struct upstream *u;
    struct upstream_psock *next_retired;
    uv_poll_t poll;
};

/* A c-ares channel talking to exactly one server over one transport.
 * Pooled (UDP, kernel-chosen source ports): one channel per server, kept for good (STAYOPEN).
 * c-ares sees its single UDP socket, but every query actually leaves through a socket of a pool
 * of up to port_slots sockets on random ports, picked at random among those not used by the last
 * cool_cap queries and replaced after queries_per_socket queries (on_asendv); answers are read
 * from whichever
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
    bool pooled;                    /* UDP through the port pool (see above) */
    struct upstream_psock **psocks; /* pooled: nslots sockets, NULL where none is open yet */
    uint32_t nslots;
    /* The slots a query may leave from (avail[0..navail-1], picked at random) and those cooling
     * down (cool, a ring of the cool_cap last used, oldest at cool_head): a slot used returns to
     * avail only after cool_cap further queries, so any cool_cap + 1 consecutive queries leave
     * from different sockets. */
    uint32_t *avail;
    uint32_t navail;
    uint32_t *cool;
    uint32_t cool_cap, cool_head, cool_count;
    struct upstream_psock *reading; /* the pool socket c-ares is reading through right now */
    struct upstream_psock *retired_socks;
    uint64_t psock_serial;             /* serials given to pool sockets so far */
    struct upstream_capture *captures; /* accepted answers c-ares has not handed back yet */
    bool read_one;          /* a UDP answer was accepted in this ares_process_fd() call */
    const uint8_t *sending; /* the query inside ares_send right now (see on_send) */
    struct upstream_attempt *sending_attempt; /* its attempt */
    size_t sending_len;
    struct upstream_unsent *unsent;         /* stand-ins waiting for the next loop turn */
    struct upstream_unsent *unsent_reading; /* the one c-ares is reading right now */
    struct upstream_chan *next_unsent;      /* in upstream.unsent_chans */
    bool unsent_queued;                     /* on upstream.unsent_chans */
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
    uint32_t pos;     /* position of server in the request's group */
    uint16_t id;      /* the query ID this attempt carries (before c-ares 1.22, also on the wire) */
    uint16_t req_id;  /* the request's ID, which the answer gets back */
    uint16_t wire_id; /* the ID it left with from a pool socket, when wire_known */
    bool wire_known;
    uint32_t wire_slot;   /* that socket's slot, when wire_known */
    uint64_t wire_serial; /* and its serial (upstream_psock.serial) */
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
    struct upstream_req *head, *tail;   /* in flight, by deadline */
    struct upstream_req *deferred;      /* FIFO of outcomes for the next turn */
    struct upstream_chan *unsent_chans; /* channels with unsent queries to end next turn */
    struct upstream_attempt *free_attempts;
    struct upstream_block *free_blocks; /* up to UPSTREAM_FREE_BLOCKS_MAX, for reuse */
    uint32_t free_block_count;
    uint64_t id_used[65536 / 64];   /* IDs held by a request or attempt in flight */
    uint64_t id_shared[65536 / 64]; /* of those, IDs held by more than one */
    uint16_t *id_refs;              /* 65536 counts, valid for the shared IDs only */
    uint8_t *rxbuf;                 /* 65535 bytes: the datagram the receive filter is looking at */
    uint8_t *txbuf;                 /* 65535 bytes: the datagram the send hook is writing */
    uint64_t dropped; /* datagrams the receive filter refused (forged, stray, malformed) */
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

/* upstream.c: the memory of a request's copy and of an answer's capture, one or two per
 * forwarded query: blocks of up to UPSTREAM_BLOCK_CAP bytes are kept on a free list and reused
 * (no malloc/free per query), larger ones come from malloc. */
enum { UPSTREAM_BLOCK_CAP = 1536, UPSTREAM_FREE_BLOCKS_MAX = 64 };
struct upstream_block {
    struct upstream_block *next; /* on the free list */
    size_t cap;
    max_align_t data[]; /* the caller's bytes */
};
void *upstream_block_alloc(struct upstream *u, size_t size);
void upstream_block_free(struct upstream *u, void *p);

/* upstream.c: runs the deferred work (upstream_chan_flush_unsent, then deferred requests) on
 * the next loop turn. */
void upstream_defer_start(struct upstream *u);

/* upstream.c: a loop handle of u finished closing (u may be freed now). */
void upstream_handle_closed(struct upstream *u);
/* upstream.c: called by upstream_chan.c when c-ares ends an attempt. abuf is the answer exactly
 * as it came off the wire (NULL unless status == ARES_SUCCESS and the receive filter captured
 * it); its ID is the one c-ares put on the query. */
void upstream_attempt_done(struct upstream_attempt *a, int ares_status, const uint8_t *abuf,
                           size_t alen);

/* upstream_chan.c: channel pool and loop glue. */
/* Sends query through an accepting channel of (server, tcp); a->chan is set. The attempt's
 * callback may run synchronously inside this call only when it returns an error (then it has
 * already been released by upstream_attempt_done with a failure status). */
int upstream_chan_send(struct upstream *u, struct upstream_attempt *a, const uint8_t *query,
                       size_t len, bool tcp);
/* Runs c-ares' timeouts on every busy channel and destroys channels idle for long. */
void upstream_chan_tick(struct upstream *u);
/* Ends, through c-ares, every query whose datagram could not be sent (queued by the send hook
 * until this next loop turn): each attempt fails alone and upstream.c tries the next server. */
void upstream_chan_flush_unsent(struct upstream *u);
/* Destroys every channel (c-ares runs each pending attempt's callback with ARES_EDESTRUCTION). */
void upstream_chan_destroy_all(struct upstream *u);
/* Chooses the port pool size from the descriptor limit (raised to its hard maximum) and the
 * number of pools sharing it (servers times workers). */
uint32_t upstream_chan_pool_size(size_t pools);

/* upstream_chan.c: the socket hooks c-ares calls (through upstream_ares.c) on channel c. */
/* Writes a message c-ares sends on its socket fd; see the file comment of upstream_chan.c. */
ssize_t upstream_chan_on_send(struct upstream_chan *c, int fd, const struct iovec *iov, int count);
/* Reads for c-ares from its socket fd: the receive filter. */
ssize_t upstream_chan_on_recv(struct upstream_chan *c, int fd, void *buf, size_t len, int flags,
                              struct sockaddr *from, socklen_t *fromlen);
/* Runs after socket() and before connect(): interface, source address and port. */
int upstream_chan_on_configure(struct upstream_chan *c, int fd);
/* c-ares ended the attempt arg (a struct upstream_attempt); wire_id is the ID of the answer
 * c-ares accepted, or -1 when there is none. */
void upstream_chan_answered(void *arg, int ares_status, int wire_id);

/* upstream_ares.c: the c-ares calls whose form depends on the c-ares version (chosen when
 * building; each keeps the same behaviour on 1.18.1 through 1.34). */
/* ares_init_options with o/mask plus, where c-ares has one, its query cache switched off. */
int upstream_ares_init(ares_channel *ch, struct ares_options *o, int mask);
/* Makes addr (address and port, UDP and TCP) the channel's only server. Returns an ARES_ code. */
int upstream_ares_set_server(ares_channel ch, const union sockaddr_any *addr);
/* Installs the socket functions and configure callback that route c's sockets through the
 * upstream_chan_on_* hooks. */
void upstream_ares_set_socket_functions(ares_channel ch, struct upstream_chan *c);
/* Sends query[len] on ch; upstream_chan_answered(arg, ...) runs exactly once, possibly inside
 * this call. */
void upstream_ares_send(ares_channel ch, const uint8_t *query, size_t len, void *arg);
