/* server.c - the listener set: decides which addresses to listen on (dnsmasq's port=,
 * listen-address=, interface=, except-interface=) and dispatches replies to the UDP or TCP side.
 * Replies are only queued here; server_flush() sends them once the daemon has flushed the sets. */
#include "dnsroute/server.h"

#include <errno.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <string.h>

#include "dnsroute/err.h"
#include "dnsroute/log.h"
#include "dnsroute/mem.h"
#include "server_impl.h"

/* True when name matches one of names; a trailing '*' matches any rest, as dnsmasq's
 * wildcard_match (interface=eth*). */
static bool server_name_in(const char (*names)[IF_NAMESIZE], size_t count, const char *name)
{
    for (size_t i = 0; i < count; i++) {
        size_t n = strlen(names[i]);
        if (n > 0 && names[i][n - 1] == '*' ? strncmp(names[i], name, n - 1) == 0
                                            : strcmp(names[i], name) == 0) {
            return true;
        }
    }
    return false;
}

static bool server_addr_in(const union sockaddr_any *list, size_t count,
                           const union sockaddr_any *a)
{
    for (size_t i = 0; i < count; i++) {
        if (sockaddr_equal_ip(&list[i], a)) {
            return true;
        }
    }
    return false;
}

/* Collects the addresses of interface= interfaces (lo is added automatically, as dnsmasq does)
 * that are not on an except-interface=, after the listen-address= ones. except-interface= without
 * interface= means every interface but those, as in dnsmasq. */
static void server_collect_addrs(const struct conf *conf, union sockaddr_any **out, size_t *count)
{
    size_t cap = 0;
    *out = NULL;
    *count = 0;
    for (size_t i = 0; i < conf->listen_addr_count; i++) {
        mem_grow((void **)out, &cap, *count + 1, sizeof(**out));
        (*out)[(*count)++] = conf->listen_addrs[i];
    }
    if (conf->interface_count == 0 && conf->except_interface_count == 0) {
        return;
    }
    struct ifaddrs *ifa = NULL;
    if (getifaddrs(&ifa) != 0) {
        return;
    }
    for (struct ifaddrs *p = ifa; p != NULL; p = p->ifa_next) {
        if (p->ifa_addr == NULL ||
            (p->ifa_addr->sa_family != AF_INET && p->ifa_addr->sa_family != AF_INET6)) {
            continue;
        }
        bool wanted = strcmp(p->ifa_name, "lo") == 0 || conf->interface_count == 0 ||
                      server_name_in(conf->interfaces, conf->interface_count, p->ifa_name);
        if (!wanted ||
            server_name_in(conf->except_interfaces, conf->except_interface_count, p->ifa_name)) {
            continue;
        }
        union sockaddr_any a;
        memset(&a, 0, sizeof(a));
        memcpy(&a, p->ifa_addr,
               p->ifa_addr->sa_family == AF_INET6 ? sizeof(a.sin6) : sizeof(a.sin));
        if (server_addr_in(*out, *count, &a)) {
            continue;
        }
        mem_grow((void **)out, &cap, *count + 1, sizeof(**out));
        (*out)[(*count)++] = a;
    }
    freeifaddrs(ifa);
}

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
    *out = s;
    if (conf->port == 0) {
        return 0;
    }
    union sockaddr_any *addrs;
    size_t count;
    server_collect_addrs(conf, &addrs, &count);
    int rc = 0;
    if (count == 0 && conf->listen_addr_count == 0 && conf->interface_count == 0 &&
        conf->except_interface_count == 0) {
        rc = server_open_wildcard(s, p->tcp, errbuf, errlen);
    }
    for (size_t i = 0; i < count && rc == 0; i++) {
        rc = server_open_one(s, &addrs[i], false, p->tcp, errbuf, errlen);
    }
    free(addrs);
    return rc;
}

void server_handle_closed(struct server *s)
{
    if (--s->handles_open == 0 && s->freeing) {
        free(s->rx);
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
    } else {
        server_tcp_reply(client->tcp, pkt, len);
        server_tcp_done(client->tcp);
    }
    s->pending = true;
}

void server_drop(struct server *s, const struct server_client *client)
{
    (void)s;
    if (client->transport == SERVER_TCP) {
        server_tcp_done(client->tcp);
    }
}

void server_flush(struct server *s)
{
    if (!s->pending) {
        return;
    }
    s->pending = false;
    for (struct server_udp_sock *u = s->udp; u != NULL; u = u->next) {
        server_udp_flush(u);
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
