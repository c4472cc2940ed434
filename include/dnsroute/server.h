/* server.h - the listeners: UDP sockets (recvmmsg batches, IP_PKTINFO so replies leave from the
 * address the query came to, sendmmsg replies) and TCP listeners (2-byte framing, pipelining,
 * idle timeout, connection cap, backpressure). Queries are handed to one callback; replies are
 * queued and leave only in server_flush(), which the daemon calls after the netlink set batch
 * was flushed, so a client never sees an answer before its addresses are in the sets. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "dnsroute/conf.h"
#include "dnsroute/sockaddr.h"

struct server;
struct server_udp_sock;
struct server_tcp_conn;

enum server_transport { SERVER_UDP, SERVER_TCP };

/* Where a query came from and how to answer it. Embedded in the caller's query; valid from the
 * query callback until server_reply() or server_drop() is called for it. */
struct server_client {
    enum server_transport transport;
    union sockaddr_any peer;  /* the client */
    union sockaddr_any local; /* the address the query was sent to (sa_family 0 if unknown) */
    int ifindex;              /* arrival interface (UDP), 0 if unknown */
    struct server_udp_sock *udp;
    struct server_tcp_conn *tcp;
    uint64_t hint;     /* what the batch callback left for this datagram (server_datagram), */
    uint16_t hint_tag; /* and its tag: 0 when it left nothing (always so over TCP) */
};

/* A query arrived: pkt/len are valid only during the call (copy them). The callee must end the
 * client with exactly one server_reply() or server_drop(), now or later. */
typedef void server_query_cb(void *arg, const struct server_client *client, const uint8_t *pkt,
                             size_t len);

/* One datagram of a receive batch; hint and hint_tag (0: none) are the batch callback's to set. */
struct server_datagram {
    const uint8_t *pkt;
    size_t len;
    uint64_t hint;
    uint16_t hint_tag;
};

/* A UDP receive batch is about to be handed to the query callback datagram by datagram: a hint
 * to start loading what they will touch (it must not answer or keep anything). What it leaves
 * in a datagram's hint reaches the query callback in server_client.hint and hint_tag (the query
 * layer: the cache hash it read from the datagram, so that it is not computed twice). */
typedef void server_batch_cb(void *arg, struct server_datagram *d, size_t n);

struct server_stats {
    uint64_t udp_received, udp_sent, udp_send_errors, udp_truncated_in;
    uint64_t tcp_accepted, tcp_rejected, tcp_queries, tcp_closed_idle;
    uint64_t tcp_evicted;         /* closed at the cap to make room for a new connection */
    uint64_t tcp_closed_slow;     /* a message not complete within its deadline */
    uint64_t tcp_closed_lifetime; /* open longer than a connection may live */
    uint32_t tcp_open, tcp_open_max;
};

/* How one worker's listener set is made. */
struct server_params {
    uv_loop_t *loop;
    const struct conf *conf; /* read during server_new only (addresses, sizes, limits) */
    bool tcp;                /* also listen on TCP (one worker does) */
    bool reuseport;          /* SO_REUSEPORT on the UDP sockets: several workers share a port */
    server_query_cb *cb;
    server_batch_cb *prefetch; /* optional; gets cb_arg too */
    void *cb_arg;
};

/* Opens and binds every listener the configuration asks for (port, listen-address, interface,
 * except-interface, bind-interfaces, bind-dynamic: then the listeners follow the interface
 * addresses, rtnetlink on p->loop) and starts them on p->loop (which need not run yet).
 * Returns 0, or a negative code with a dnsmasq-style reason in errbuf ("failed to create
 * listening socket for 127.0.0.1: Address in use"). The caller frees with server_free (close
 * callbacks run on the loop). */
int server_new(const struct server_params *p, struct server **out, char *errbuf, size_t errlen);
/* True when listeners may be bound after start: bind-dynamic, or an address still tentative at
 * start (the daemon keeps the capability to bind a low port). */
bool server_binds_later(const struct server *s);
/* Stops listening and closes every socket and connection; frees itself when the loop has run
 * the close callbacks. Clients not yet answered must be dropped before. */
void server_free(struct server *s);

/* Queues the reply for client (bytes are copied). It is sent at the next server_flush(). */
void server_reply(struct server *s, const struct server_client *client, const uint8_t *pkt,
                  size_t len);
/* Ends client without a reply (dropped query). */
void server_drop(struct server *s, const struct server_client *client);
/* Sends every queued reply: UDP with sendmmsg per socket, TCP writes. Call after nlset_flush. */
void server_flush(struct server *s);
/* True when replies are queued (the daemon's check handler flushes then). */
bool server_has_pending(const struct server *s);

/* Copies the listener counters. Call on the loop's own thread. */
void server_get_stats(const struct server *s, struct server_stats *out);

/* The TCP framing accumulator (RFC 1035 §4.2.2: a 2-byte length before each message; RFC 7766:
 * pipelined messages, any split over reads). Pure: no I/O. Zero-initialise; the caller owns it. */
struct server_frame {
    uint8_t *buf;
    size_t len, cap; /* bytes held; allocated */
    size_t off;      /* start of the first message not yet returned by server_frame_next */
};

/* Makes room for at least want more bytes; *space and *space_len say where the next read goes. */
void server_frame_reserve(struct server_frame *f, size_t want, uint8_t **space, size_t *space_len);
/* Accounts n bytes just read into the space from server_frame_reserve. */
void server_frame_commit(struct server_frame *f, size_t n);
/* Returns 1 with the next complete message in *msg and *msg_len (valid until the next reserve or
 * compact), 0 when the bytes held end inside a message (or its length), or ERR_MALFORMED when a
 * length is shorter than a DNS header (RFC 7766 §8: the session ends). */
int server_frame_next(struct server_frame *f, const uint8_t **msg, size_t *msg_len);
/* Drops the bytes of the messages already returned. */
void server_frame_compact(struct server_frame *f);
/* True when the bytes held end inside the next message (or its length): a message in progress. */
bool server_frame_is_partial(const struct server_frame *f);
void server_frame_free(struct server_frame *f);
