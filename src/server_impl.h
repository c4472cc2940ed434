/* server_impl.h - private parts of the listener module shared by server.c, server_udp.c and
 * server_tcp.c. */
#pragma once

#include "dnsroute/list.h"
#include "dnsroute/server.h"

/* A queued UDP reply: bytes live in the socket's outbox arena. */
/* Datagrams read per recvmmsg call. */
#define SERVER_RX_BATCH 32

struct server_udp_out {
    size_t off, len;
    union sockaddr_any peer;
    union sockaddr_any local;
    int ifindex;
};

struct server_udp_sock {
    uv_poll_t poll;
    int fd;
    int family;
    bool wildcard; /* bound to 0.0.0.0/:: : answer from the query's destination address */
    struct server *owner;
    struct server_udp_sock *next;
    /* Replies waiting for server_flush. */
    struct server_udp_out *out;
    size_t out_count, out_cap;
    uint8_t *arena;
    size_t arena_len, arena_cap;
};

struct server_tcp_listener {
    uv_tcp_t handle;
    struct server *owner;
    struct server_tcp_listener *next;
};

struct server_tcp_conn {
    uv_tcp_t handle;
    uv_timer_t timer; /* the nearest of the idle, message and lifetime deadlines */
    struct server *owner;
    struct list_link link; /* in s->conns: the most recently active first */
    union sockaddr_any peer, local;
    struct server_frame in; /* received bytes: 2-byte lengths + messages */
    uint64_t opened_ms;     /* accepted (loop time) */
    uint64_t active_ms;     /* last complete message or answer: the idle timeout counts from it */
    uint64_t partial_ms;    /* first byte of the message in progress (when partial) */
    uint64_t round;         /* s->tcp_round when accepted: not evicted before its first read */
    uint32_t in_flight;     /* queries handed out and not yet replied/dropped */
    uint32_t handles_open;  /* handle + timer + writes: freed when all closed */
    bool partial;           /* a message has started and is not complete */
    bool draining;          /* lifetime over: no more queries read, closed once answered */
    bool reading;
    bool closing;
    bool dispatching; /* inside server_tcp_dispatch: replies may come synchronously */
    /* Replies waiting for server_flush: framed bytes. */
    uint8_t *out;
    size_t out_len, out_cap;
};

struct server {
    uv_loop_t *loop;
    uint16_t port;
    uint32_t max_tcp_connections;
    bool reuseport;
    server_query_cb *cb;
    server_batch_cb *prefetch;
    void *cb_arg;
    struct server_udp_sock *udp;
    struct server_tcp_listener *tcp;
    struct list conns;   /* of server_tcp_conn: the most recently active first */
    uint32_t tcp_active; /* connections not closing (the cap counts these) */
    uv_idle_t tcp_evict; /* active while over the cap: evicts on the next loop turns */
    uint64_t tcp_round;  /* loop turns seen by tcp_evict */
    struct server_stats stats;
    size_t udp_max; /* largest accepted query datagram */
    uint8_t *rx;    /* recvmmsg buffers, shared by all UDP sockets (one loop thread) */
    bool pending;
    bool freeing;
    uint32_t handles_open;
};

int server_udp_open(struct server *s, const union sockaddr_any *addr, bool wildcard, char *errbuf,
                    size_t errlen);
void server_udp_reply(struct server_udp_sock *u, const struct server_client *c, const uint8_t *pkt,
                      size_t len);
void server_udp_flush(struct server_udp_sock *u);
void server_udp_close(struct server_udp_sock *u);

int server_tcp_open(struct server *s, const union sockaddr_any *addr, char *errbuf, size_t errlen);
void server_tcp_reply(struct server_tcp_conn *c, const uint8_t *pkt, size_t len);
void server_tcp_done(struct server_tcp_conn *c);
void server_tcp_flush(struct server_tcp_conn *c);
void server_tcp_close_all(struct server *s);

/* Called by close callbacks: frees the server when the last handle has closed. */
void server_handle_closed(struct server *s);
