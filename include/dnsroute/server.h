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
};

/* A query arrived: pkt/len are valid only during the call (copy them). The callee must end the
 * client with exactly one server_reply() or server_drop(), now or later. */
typedef void server_query_cb(void *arg, const struct server_client *client, const uint8_t *pkt,
                             size_t len);

struct server_stats {
    uint64_t udp_received, udp_sent, udp_send_errors, udp_truncated_in;
    uint64_t tcp_accepted, tcp_rejected, tcp_queries, tcp_closed_idle;
    uint32_t tcp_open, tcp_open_max;
};

/* How one worker's listener set is made. */
struct server_params {
    uv_loop_t *loop;
    const struct conf *conf; /* read during server_new only (addresses, sizes, limits) */
    bool tcp;                /* also listen on TCP (one worker does) */
    bool reuseport;          /* SO_REUSEPORT on the UDP sockets: several workers share a port */
    server_query_cb *cb;
    void *cb_arg;
};

/* Opens and binds every listener the configuration asks for (port, listen-address, interface,
 * except-interface, bind-interfaces) and starts them on p->loop (which need not run yet).
 * Returns 0, or a negative code with a dnsmasq-style reason in errbuf ("failed to create
 * listening socket for 127.0.0.1: Address in use"). The caller frees with server_free (close
 * callbacks run on the loop). */
int server_new(const struct server_params *p, struct server **out, char *errbuf, size_t errlen);
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

/* Largest UDP query accepted (bigger datagrams are dropped, like dnsmasq). */
void server_get_stats(const struct server *s, struct server_stats *out);
