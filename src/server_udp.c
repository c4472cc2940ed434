/* server_udp.c - UDP listeners. Each socket is read with recvmmsg in batches through a uv_poll_t
 * (libuv's own UDP handle cannot report the destination address, see the reference §4.5), with
 * IP_PKTINFO/IPV6_RECVPKTINFO so replies on wildcard sockets leave from the address the client
 * used. Replies are queued and sent with sendmmsg in server_udp_flush(). */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dnsroute/err.h"
#include "dnsroute/log.h"
#include "dnsroute/mem.h"
#include "server_impl.h"

#define SERVER_UDP_RCVBUF (4 << 20)
#define SERVER_CMSG_SPACE                                                                          \
    (CMSG_SPACE(sizeof(struct in6_pktinfo)) > CMSG_SPACE(sizeof(struct in_pktinfo))                \
         ? CMSG_SPACE(sizeof(struct in6_pktinfo))                                                  \
         : CMSG_SPACE(sizeof(struct in_pktinfo)))

static void on_udp_readable(uv_poll_t *handle, int status, int events);

static int server_udp_socket(const union sockaddr_any *addr, bool reuseport)
{
    int fd = socket(addr->sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -errno;
    }
    int one = 1, size = SERVER_UDP_RCVBUF;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0) {
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    }
    if (addr->sa.sa_family == AF_INET6) {
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
    } else {
        (void)setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
    }
    if (reuseport) {
        /* Several workers bind the same address; the kernel spreads clients over them. */
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    }
    if (bind(fd, &addr->sa, sockaddr_len(addr)) != 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

int server_udp_open(struct server *s, const union sockaddr_any *addr, bool wildcard, char *errbuf,
                    size_t errlen)
{
    int fd = server_udp_socket(addr, s->reuseport);
    if (fd < 0) {
        char text[SOCKADDR_TEXT_MAX];
        sockaddr_format(addr, false, text, sizeof(text));
        (void)snprintf(errbuf, errlen, "failed to create listening socket for %s: %s", text,
                       err_str(fd));
        return fd;
    }
    struct server_udp_sock *u = mem_calloc(1, sizeof(*u));
    u->fd = fd;
    u->family = addr->sa.sa_family;
    u->wildcard = wildcard;
    u->owner = s;
    uv_poll_init_socket(s->loop, &u->poll, fd);
    u->poll.data = u;
    uv_poll_start(&u->poll, UV_READABLE, on_udp_readable);
    s->handles_open++;
    u->next = s->udp;
    s->udp = u;
    return 0;
}

static void server_udp_parse_pktinfo(struct msghdr *mh, struct server_client *c)
{
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm)) {
        if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo pi;
            memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
            c->local.sin.sin_family = AF_INET;
            c->local.sin.sin_addr = pi.ipi_addr;
            c->ifindex = pi.ipi_ifindex;
        } else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
            struct in6_pktinfo pi;
            memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
            c->local.sin6.sin6_family = AF_INET6;
            c->local.sin6.sin6_addr = pi.ipi6_addr;
            c->ifindex = (int)pi.ipi6_ifindex;
        }
    }
}

/* The receive headers of one loop's UDP sockets, set up once: a batch resets only what the
 * last recvmmsg wrote (address and control lengths) in the slots it filled. */
struct server_rx {
    struct mmsghdr msgs[SERVER_RX_BATCH];
    struct iovec iov[SERVER_RX_BATCH];
    union sockaddr_any peers[SERVER_RX_BATCH];
    uint8_t cmsg[SERVER_RX_BATCH][SERVER_CMSG_SPACE];
    struct server_datagram d[SERVER_RX_BATCH];
    int used; /* slots the last batch filled */
};

struct server_rx *server_udp_rx_new(uint8_t *buf, size_t slot)
{
    struct server_rx *rx = mem_calloc(1, sizeof(*rx));
    for (int i = 0; i < SERVER_RX_BATCH; i++) {
        rx->iov[i].iov_base = buf + (size_t)i * slot;
        rx->iov[i].iov_len = slot;
        rx->msgs[i].msg_hdr.msg_iov = &rx->iov[i];
        rx->msgs[i].msg_hdr.msg_iovlen = 1;
        rx->msgs[i].msg_hdr.msg_name = &rx->peers[i];
        rx->msgs[i].msg_hdr.msg_control = rx->cmsg[i];
    }
    rx->used = SERVER_RX_BATCH;
    return rx;
}

/* Reads one recvmmsg batch; returns the number of datagrams, 0 when none are waiting. */
static int server_udp_read_batch(struct server_udp_sock *u)
{
    struct server *s = u->owner;
    struct server_rx *rx = s->rxh;
    struct mmsghdr *msgs = rx->msgs;
    for (int i = 0; i < rx->used; i++) {
        msgs[i].msg_hdr.msg_namelen = sizeof(rx->peers[i]);
        msgs[i].msg_hdr.msg_controllen = sizeof(rx->cmsg[i]);
    }
    int n = recvmmsg(u->fd, msgs, SERVER_RX_BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0) {
        rx->used = 0;
        return 0;
    }
    rx->used = n;
    struct server_datagram *d = rx->d;
    if (s->prefetch != NULL) {
        for (int i = 0; i < n; i++) {
            d[i] = (struct server_datagram){rx->iov[i].iov_base, msgs[i].msg_len, 0, 0};
        }
        s->prefetch(s->cb_arg, d, (size_t)n);
    }
    for (int i = 0; i < n; i++) {
        s->stats.udp_received++;
        size_t len = msgs[i].msg_len;
        if (len > s->udp_max || (msgs[i].msg_hdr.msg_flags & MSG_TRUNC)) {
            /* dnsmasq drops queries larger than edns-packet-max. */
            s->stats.udp_truncated_in++;
            continue;
        }
        struct server_client c;
        memset(&c, 0, sizeof(c));
        c.transport = SERVER_UDP;
        c.udp = u;
        c.peer = rx->peers[i];
        if (s->prefetch != NULL) {
            c.hint = d[i].hint;
            c.hint_tag = d[i].hint_tag;
        }
        server_udp_parse_pktinfo(&msgs[i].msg_hdr, &c);
        if (DNSROUTE_UNLIKELY(s->follow != NULL) && !server_bind_arrival_ok(s, u, c.ifindex)) {
            continue; /* bind-dynamic: not from an interface we serve (dnsmasq iface_check) */
        }
        u->in_flight++;
        s->cb(s->cb_arg, &c, rx->iov[i].iov_base, len);
    }
    return n;
}

static void on_udp_readable(uv_poll_t *handle, int status, int events)
{
    struct server_udp_sock *u = handle->data;
    if (status < 0 || !(events & UV_READABLE)) {
        return;
    }
    /* Bounded so one busy socket cannot starve upstream answers and TCP. */
    for (int round = 0; round < 4; round++) {
        if (server_udp_read_batch(u) < SERVER_RX_BATCH) {
            break;
        }
    }
}

void server_udp_reply(struct server_udp_sock *u, const struct server_client *c, const uint8_t *pkt,
                      size_t len)
{
    mem_grow((void **)&u->arena, &u->arena_cap, u->arena_len + len, 1);
    memcpy(u->arena + u->arena_len, pkt, len);
    mem_grow((void **)&u->out, &u->out_cap, u->out_count + 1, sizeof(*u->out));
    struct server_udp_out *o = &u->out[u->out_count++];
    o->off = u->arena_len;
    o->len = len;
    o->peer = c->peer;
    o->local = c->local;
    o->ifindex = c->ifindex;
    u->arena_len += len;
}

/* Fills the control message that makes the reply leave from the query's destination address. */
static size_t server_udp_set_src(const struct server_udp_out *o, uint8_t *buf)
{
    struct msghdr mh = {.msg_control = buf, .msg_controllen = SERVER_CMSG_SPACE};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    if (o->local.sa.sa_family == AF_INET) {
        struct in_pktinfo pi = {.ipi_spec_dst = o->local.sin.sin_addr};
        cm->cmsg_level = IPPROTO_IP;
        cm->cmsg_type = IP_PKTINFO;
        cm->cmsg_len = CMSG_LEN(sizeof(pi));
        memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
        return CMSG_SPACE(sizeof(pi));
    }
    if (o->local.sa.sa_family == AF_INET6) {
        struct in6_pktinfo pi = {.ipi6_addr = o->local.sin6.sin6_addr};
        if (IN6_IS_ADDR_LINKLOCAL(&o->local.sin6.sin6_addr)) {
            pi.ipi6_ifindex = (unsigned)o->ifindex;
        }
        cm->cmsg_level = IPPROTO_IPV6;
        cm->cmsg_type = IPV6_PKTINFO;
        cm->cmsg_len = CMSG_LEN(sizeof(pi));
        memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
        return CMSG_SPACE(sizeof(pi));
    }
    return 0;
}

void server_udp_flush(struct server_udp_sock *u)
{
    enum { BATCH = 64 };
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    uint8_t cmsg[BATCH][SERVER_CMSG_SPACE];
    size_t done = 0;
    while (done < u->out_count) {
        size_t n = u->out_count - done < BATCH ? u->out_count - done : BATCH;
        memset(msgs, 0, sizeof(msgs[0]) * n);
        for (size_t i = 0; i < n; i++) {
            struct server_udp_out *o = &u->out[done + i];
            iov[i].iov_base = u->arena + o->off;
            iov[i].iov_len = o->len;
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_name = &o->peer;
            msgs[i].msg_hdr.msg_namelen = sockaddr_len(&o->peer);
            if (u->wildcard) {
                size_t clen = server_udp_set_src(o, cmsg[i]);
                msgs[i].msg_hdr.msg_control = clen ? cmsg[i] : NULL;
                msgs[i].msg_hdr.msg_controllen = clen;
            }
        }
        int sent = sendmmsg(u->fd, msgs, (unsigned)n, MSG_DONTWAIT);
        if (sent <= 0) {
            /* The socket buffer is full or the peer is gone: this datagram is lost, like any
             * UDP reply; the client retries. Skip it and go on with the rest. */
            u->owner->stats.udp_send_errors++;
            sent = 1;
        } else {
            u->owner->stats.udp_sent += (uint64_t)sent;
        }
        done += (size_t)sent;
    }
    u->out_count = 0;
    u->arena_len = 0;
}

static void on_udp_closed(uv_handle_t *handle)
{
    struct server_udp_sock *u = handle->data;
    struct server *s = u->owner;
    close(u->fd);
    free(u->out);
    free(u->arena);
    free(u);
    server_handle_closed(s);
}

void server_udp_close(struct server_udp_sock *u)
{
    uv_poll_stop(&u->poll);
    uv_close((uv_handle_t *)&u->poll, on_udp_closed);
}

void server_udp_retire(struct server *s, struct server_udp_sock *u)
{
    uv_poll_stop(&u->poll);
    u->retired = true;
    server_udp_reap(s, u);
}

void server_udp_reap(struct server *s, struct server_udp_sock *u)
{
    if (!u->retired || u->in_flight != 0 || u->out_count != 0) {
        return;
    }
    for (struct server_udp_sock **p = &s->udp; *p != NULL; p = &(*p)->next) {
        if (*p == u) {
            *p = u->next;
            server_udp_close(u);
            return;
        }
    }
}
