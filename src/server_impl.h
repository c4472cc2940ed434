/* server_impl.h - private parts of the listener module shared by server.c, server_udp.c and
 * server_tcp.c. */
#pragma once

#include <net/if.h>

#include "dnsroute/ifaddr.h"
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
    bool any_if;   /* bind-dynamic: a listen-address=, answered whatever the arrival interface */
    bool retired;  /* its address went away: closed once its queries are answered */
    uint32_t in_flight; /* queries handed out and not yet replied/dropped */
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

/* An address the listeners are bound to while they follow the interfaces (server_bind.c). */
struct server_bound {
    union sockaddr_any addr; /* with the port */
    uint32_t ifindex;        /* 0: a listen-address= on no interface, kept for good */
    struct server_udp_sock *udp;
    struct server_tcp_listener *tcp;
    bool seen; /* still wanted in the table being read */
};

/* What the listeners follow: bind-dynamic, or addresses still tentative at start. */
struct server_follow {
    struct ifaddr_table *ifaddrs;
    bool dynamic; /* bind-dynamic: every allowed address, as it comes and goes */
    bool tcp;
    char (*names)[IF_NAMESIZE]; /* interface= */
    size_t name_count;
    char (*except)[IF_NAMESIZE]; /* except-interface= */
    size_t except_count;
    union sockaddr_any *listen; /* listen-address= */
    size_t listen_count;
    union sockaddr_any *waiting; /* not dynamic: tentative at start, bound once usable */
    size_t waiting_count, waiting_cap;
    struct server_bound *bound;
    size_t bound_count, bound_cap;
    uint32_t *allowed_if; /* dynamic: interfaces a query may arrive on (dnsmasq iface_check) */
    size_t allowed_if_count, allowed_if_cap;
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
    size_t udp_max;        /* largest accepted query datagram */
    uint8_t *rx;           /* recvmmsg buffers, shared by all UDP sockets (one loop thread) */
    struct server_rx *rxh; /* their recvmmsg headers (server_udp.c) */
    struct server_follow *follow; /* NULL unless the listeners follow the interfaces */
    bool tcp_evict_open;
    bool pending;
    bool freeing;
    uint32_t handles_open;
};

/* The recvmmsg headers for SERVER_RX_BATCH buffers of slot bytes each at buf (freed with free). */
struct server_rx *server_udp_rx_new(uint8_t *buf, size_t slot);
int server_udp_open(struct server *s, const union sockaddr_any *addr, bool wildcard, char *errbuf,
                    size_t errlen);
void server_udp_reply(struct server_udp_sock *u, const struct server_client *c, const uint8_t *pkt,
                      size_t len);
void server_udp_flush(struct server_udp_sock *u);
void server_udp_close(struct server_udp_sock *u);
/* The address of u went away: it stops reading, and is closed once its queries are answered. */
void server_udp_retire(struct server *s, struct server_udp_sock *u);
/* Closes u if it is retired and has nothing left to answer or send. */
void server_udp_reap(struct server *s, struct server_udp_sock *u);

int server_tcp_open(struct server *s, const union sockaddr_any *addr, char *errbuf, size_t errlen);
void server_tcp_reply(struct server_tcp_conn *c, const uint8_t *pkt, size_t len);
void server_tcp_done(struct server_tcp_conn *c);
void server_tcp_flush(struct server_tcp_conn *c);
void server_tcp_close_all(struct server *s);
/* Stops one listener (its connections go on). */
void server_tcp_close_listener(struct server *s, struct server_tcp_listener *l);

/* server_bind.c: listeners that follow interface addresses (bind-dynamic, tentative addresses).
 * Decides what to bind in interface= mode from the interface table; returns 0 or a negative code
 * with the message in errbuf. */
int server_bind_interfaces(struct server *s, const struct conf *conf, bool tcp, char *errbuf,
                           size_t errlen);
/* bind-dynamic: may a query that arrived on ifindex to u's address be answered? */
bool server_bind_arrival_ok(const struct server *s, const struct server_udp_sock *u, int ifindex);
void server_bind_free(struct server *s);

/* Called by close callbacks: frees the server when the last handle has closed. */
void server_handle_closed(struct server *s);
