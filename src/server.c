/* server.c - the listener set: decides how to listen (dnsmasq's port=, listen-address=; the
 * per-interface modes interface=, except-interface=, bind-dynamic are server_bind.c's) and
 * dispatches replies to the UDP or TCP side.
 * Replies are only queued here; server_flush() sends them once the daemon has flushed the sets. */
#include "dnsroute/server.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dnsroute/err.h"
#include "dnsroute/log.h"
#include "dnsroute/mem.h"
#include "server_impl.h"

static int server_open_one(struct server *s, union sockaddr_any *a, bool wildcard, bool tcp,
                           char *errbuf, size_t errlen)
{
    sockaddr_set_port(a, s->port);
    int rc = server_udp_open(s, a, wildcard, errbuf, errlen);
    if (rc == 0 && tcp) {
        rc = server_tcp_open(s, a, errbuf, errlen);
    }
    return rc;
}

static int server_open_wildcard(struct server *s, bool tcp, char *errbuf, size_t errlen)
{
    union sockaddr_any a;
    memset(&a, 0, sizeof(a));
    a.sin.sin_family = AF_INET;
    int rc = server_open_one(s, &a, true, tcp, errbuf, errlen);
    if (rc < 0) {
        return rc;
    }
    memset(&a, 0, sizeof(a));
    a.sin6.sin6_family = AF_INET6;
    char v6err[256];
    if (server_open_one(s, &a, true, tcp, v6err, sizeof(v6err)) < 0) {
        /* A host without IPv6 still serves IPv4, as dnsmasq does. */
        log_warn("%s", v6err);
    }
    return 0;
}

/* listen-address= alone: exactly those addresses (present or not: 127.0.1.1 is served by lo's
 * 127/8). */
static int server_open_listen_addrs(struct server *s, const struct conf *conf, bool tcp,
                                    char *errbuf, size_t errlen)
{
    int rc = 0;
    for (size_t i = 0; i < conf->listen_addr_count && rc == 0; i++) {
        union sockaddr_any a = conf->listen_addrs[i];
        rc = server_open_one(s, &a, false, tcp, errbuf, errlen);
    }
    return rc;
}

int server_new(const struct server_params *p, struct server **out, char *errbuf, size_t errlen)
{
    const struct conf *conf = p->conf;
    struct server *s = mem_calloc(1, sizeof(*s));
    s->loop = p->loop;
    s->port = conf->port;
    s->max_tcp_connections = conf->max_tcp_connections;
    s->reuseport = p->reuseport;
    s->cb = p->cb;
    s->prefetch = p->prefetch;
    s->cb_arg = p->cb_arg;
    s->udp_max = conf->edns_packet_max > 512 ? conf->edns_packet_max : 512;
    s->rx = mem_alloc(SERVER_RX_BATCH * (s->udp_max + 1));
    s->rxh = server_udp_rx_new(s->rx, s->udp_max + 1);
    *out = s;
    if (conf->port == 0) {
        return 0;
    }
    if (conf->bind_dynamic || conf->interface_count != 0 || conf->except_interface_count != 0) {
        return server_bind_interfaces(s, conf, p->tcp, errbuf, errlen);
    }
    if (conf->listen_addr_count != 0) {
        return server_open_listen_addrs(s, conf, p->tcp, errbuf, errlen);
    }
    return server_open_wildcard(s, p->tcp, errbuf, errlen);
}

void server_handle_closed(struct server *s)
{
    if (--s->handles_open == 0 && s->freeing) {
        free(s->rx);
        free(s->rxh);
        free(s);
    }
}

void server_free(struct server *s)
{
    if (s == NULL) {
        return;
    }
    s->freeing = true;
    s->handles_open++; /* held until the end of this function */
    server_bind_free(s);
    for (struct server_udp_sock *u = s->udp, *next; u != NULL; u = next) {
        next = u->next;
        server_udp_close(u);
    }
    s->udp = NULL;
    server_tcp_close_all(s);
    server_handle_closed(s);
}

void server_reply(struct server *s, const struct server_client *client, const uint8_t *pkt,
                  size_t len)
{
    if (client->transport == SERVER_UDP) {
        server_udp_reply(client->udp, client, pkt, len);
        client->udp->in_flight--;
    } else {
        server_tcp_reply(client->tcp, pkt, len);
        server_tcp_done(client->tcp);
    }
    s->pending = true;
}

void server_drop(struct server *s, const struct server_client *client)
{
    if (client->transport == SERVER_TCP) {
        server_tcp_done(client->tcp);
    } else {
        client->udp->in_flight--;
        server_udp_reap(s, client->udp);
    }
}

void server_flush(struct server *s)
{
    if (!s->pending) {
        return;
    }
    s->pending = false;
    for (struct server_udp_sock *u = s->udp, *next; u != NULL; u = next) {
        next = u->next;
        server_udp_flush(u);
        server_udp_reap(s, u);
    }
    for (struct list_link *k = s->conns.first; k != NULL; k = k->next) {
        server_tcp_flush(LIST_ENTRY(k, struct server_tcp_conn, link));
    }
}

bool server_has_pending(const struct server *s)
{
    return s->pending;
}

void server_get_stats(const struct server *s, struct server_stats *out)
{
    *out = s->stats;
}
