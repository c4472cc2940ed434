/* upstream_chan.c - the c-ares side of upstream: channels (one server, one transport each) kept in
 * per-server pools, their sockets watched by uv_poll_t, a housekeeping timer for c-ares timeouts,
 * source-port binding (--query-port, --min-port/--max-port, @source#port, @interface), and the
 * socket hooks through which every message passes (upstream_ares.c installs them).
 * Sending: a UDP query leaves through the next socket of the server's port pool, as the bytes
 * upstream_send() was given, carrying the ID c-ares chose (c-ares 1.22+ picks its own; 1.34
 * would also add a DNS cookie); the pool socket records that ID. A datagram that cannot be sent
 * fails that one query, never the channel (see "unsent queries").
 * Receiving (the receive filter): a datagram is accepted only if dnsmsg parses it as a reply and,
 * on a pool socket, a query sent from that very socket waits for its ID; nothing is accepted on
 * the channel's own socket while it is pooled. The accepted bytes are kept (a capture) and c-ares
 * is shown a stand-in: the header and question with rcode REFUSED and no records, so no c-ares
 * version meets an rcode, a TC bit, a size or a record that would set off its own fallbacks
 * (1.18's EDNS switch-off on FORMERR, the TCP retry on TC, 1.34's full parse and cookie checks).
 * REFUSED, not NOERROR: with ARES_FLAG_NOCHECKRESP every version hands it to the callback as an
 * answer, and c-ares 1.26+ learns a server's latency only from NOERROR/NXDOMAIN answers (its
 * server metrics) and would otherwise time attempts out after 5x the average round trip, at least
 * 250 ms, long before upstream.c's own try timeout: answers a moment late were lost and every
 * query in flight re-sent (seen as SERVFAILs under load with c-ares 1.34). So c-ares keeps the
 * configured timeout, and upstream.c alone decides when to try again. Over TCP the stream is
 * copied message by message with the rcode shown as REFUSED the same way. When c-ares ends the
 * attempt, the capture with its ID is what upstream.c gets. */
#include "upstream_impl.h"

#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "dnsroute/compat.h"
#include "dnsroute/dnsmsg.h"
#include "dnsroute/err.h"
#include "dnsroute/log.h"
#include "dnsroute/mem.h"

/* Kernel socket buffer limits per c-ares socket. They cap, not allocate, so they cost nothing
 * while idle; a shared socket (--query-port) may take bursts of answers. */
enum { CHAN_SOCK_BUF = 1 << 20 };
/* Largest DNS message (and so datagram) read. */
enum { CHAN_MSG_MAX = 65535 };

static void on_poll(uv_poll_t *handle, int status, int events);
static struct upstream_psock *psock_next(struct upstream_chan *c);
static void psock_sent(struct upstream_psock *ps, uint16_t wire_id);
static bool psock_has_id(const struct upstream_psock *ps, uint16_t wire_id);
static void psock_take_id(struct upstream_psock *ps, uint16_t wire_id);
static void psock_retire(struct upstream_psock *ps);
static void psock_close(struct upstream_psock *ps);
static void psock_close_all(struct upstream_chan *c);
static void psock_tick(struct upstream_chan *c, uint64_t now);
static int chan_new(struct upstream *u, uint32_t server, bool tcp, bool stayopen,
                    struct upstream_chan **out);
static void chan_unsent(struct upstream_chan *c, int fd, const uint8_t *msg, size_t len);
static ssize_t chan_recv_unsent(struct upstream_chan *c, void *buf, size_t cap,
                                struct sockaddr *from, socklen_t *fromlen);

/* --- captures ------------------------------------------------------------------------------- */

static void chan_capture(struct upstream_chan *c, struct upstream_psock *ps, uint16_t wire_id,
                         const uint8_t *pkt, size_t len)
{
    struct upstream_capture *cap = upstream_block_alloc(c->u, sizeof(*cap) + len);
    cap->ps = ps;
    cap->pkt = (uint8_t *)(cap + 1);
    memcpy(cap->pkt, pkt, len);
    cap->len = len;
    cap->wire_id = wire_id;
    cap->next = c->captures;
    c->captures = cap;
}

/* The capture with wire_id, unlinked (the caller frees it), or NULL. */
static struct upstream_capture *chan_take_capture(struct upstream_chan *c, uint16_t wire_id)
{
    for (struct upstream_capture **pp = &c->captures; *pp != NULL; pp = &(*pp)->next) {
        struct upstream_capture *cap = *pp;
        if (cap->wire_id == wire_id) {
            *pp = cap->next;
            return cap;
        }
    }
    return NULL;
}

/* Frees what c-ares did not claim in the ares_process_fd() call that just returned. */
static void chan_drop_captures(struct upstream_chan *c)
{
    while (c->captures != NULL) {
        struct upstream_capture *cap = c->captures;
        c->captures = cap->next;
        upstream_block_free(c->u, cap);
    }
}

/* --- receive filter: UDP -------------------------------------------------------------------- */

/* Writes into buf[cap] what c-ares is shown of the accepted reply pkt (see the file comment):
 * header with QR set, TC clear, rcode REFUSED, one question and no records. */
static ssize_t chan_standin(uint8_t *buf, size_t cap, const uint8_t *pkt,
                            const struct dnsmsg_reply *r)
{
    size_t n = r->question_end;
    if (n > cap) {
        errno = EAGAIN;
        return -1;
    }
    memcpy(buf, pkt, n);
    dnsmsg_set_flags(buf, DNSMSG_FLAG_QR, DNSMSG_FLAG_TC);
    dnsmsg_set_rcode(buf, DNSMSG_RCODE_REFUSED);
    memset(buf + 6, 0, 6); /* ancount, nscount, arcount */
    return (ssize_t)n;
}

/* A datagram c-ares may see: a reply whose header and one question read well (dnsmsg; the
 * whole reply is parsed once, when c-ares has matched it to its attempt) and, when it came on a
 * pool socket, with the ID of a query that left from that socket and is still unanswered. c-ares
 * then checks the question; the ID is taken only when c-ares ends the query with it. */
static bool chan_udp_acceptable(struct upstream_psock *ps, const uint8_t *pkt, size_t len,
                                struct dnsmsg_reply *r)
{
    if (dnsmsg_peek_reply(r, pkt, len) != 0 || r->qdcount != 1 ||
        (r->flags & DNSMSG_FLAG_QR) == 0) {
        return false;
    }
    return ps == NULL || psock_has_id(ps, r->id);
}

/* A read error on a pool socket (an ICMP unreachable turned into ECONNREFUSED) retires it and
 * reads as "nothing more" for c-ares, which then times the query out and lets upstream.c fail
 * over, instead of c-ares closing its own socket. */
static void chan_udp_read_error(struct upstream_psock *ps)
{
    if (ps != NULL && errno != EAGAIN && errno != EWOULDBLOCK) {
        psock_retire(ps);
        errno = EAGAIN;
    }
}

/* Reads datagrams from fd (ps's, or the channel's own when ps is NULL) until one is acceptable;
 * it is captured and its stand-in written to buf. At most UPSTREAM_READ_BURST are read. */
static ssize_t chan_recv_udp(struct upstream_chan *c, struct upstream_psock *ps, int fd,
                             uint8_t *buf, size_t cap, struct sockaddr *from, socklen_t *fromlen)
{
    struct upstream *u = c->u;
    socklen_t from_cap = fromlen != NULL ? *fromlen : 0;
    for (int i = 0; i < UPSTREAM_READ_BURST; i++) {
        socklen_t fl = from_cap;
        ssize_t n = recvfrom(fd, u->rxbuf, CHAN_MSG_MAX, 0, from, fromlen != NULL ? &fl : NULL);
        if (n < 0) {
            chan_udp_read_error(ps);
            return -1;
        }
        struct dnsmsg_reply r;
        if (!chan_udp_acceptable(ps, u->rxbuf, (size_t)n, &r)) {
            u->dropped++;
            continue;
        }
        if (fromlen != NULL) {
            *fromlen = fl;
        }
        c->read_one = true;
        chan_capture(c, ps, r.id, u->rxbuf, (size_t)n);
        return chan_standin(buf, cap, u->rxbuf, &r);
    }
    errno = EAGAIN;
    return -1;
}

/* The channel's own UDP socket while pooled: no query left from it, so whatever comes is
 * forged or stray; drained and dropped. */
static ssize_t chan_drain(struct upstream_chan *c, int fd)
{
    for (int i = 0; i < UPSTREAM_READ_BURST; i++) {
        if (recv(fd, c->u->rxbuf, CHAN_MSG_MAX, 0) < 0) {
            break;
        }
        c->u->dropped++;
    }
    errno = EAGAIN;
    return -1;
}

/* --- receive filter: TCP -------------------------------------------------------------------- */

static struct upstream_sock *chan_find_sock(struct upstream_chan *c, int fd)
{
    for (struct upstream_sock *s = c->socks; s != NULL; s = s->next) {
        if (s->fd == fd) {
            return s;
        }
    }
    return NULL;
}

/* One byte of a TCP message: copied; in c-ares' view the rcode half of byte 3 of a reply reads
 * REFUSED whatever it was (a FORMERR would make 1.18 switch EDNS off and 1.34 re-send without
 * OPT; a NOERROR would teach 1.26+ a latency for its timeouts: see the file comment). */
static void chan_tcp_msg_byte(struct upstream_sock *s, uint8_t *b)
{
    uint32_t pos = s->tcp_msg_pos++;
    s->tcp_msg[pos] = *b;
    if (pos == 3 && (s->tcp_msg[2] & 0x80) != 0) {
        *b = (uint8_t)((*b & 0xf0) | DNSMSG_RCODE_REFUSED);
    }
}

/* Follows the TCP byte stream (2-byte length, message, ...) however c-ares chunks its reads,
 * capturing each whole message by its ID. */
static void chan_filter_tcp(struct upstream_chan *c, struct upstream_sock *s, uint8_t *buf,
                            size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s->tcp_prefix_need > 0) {
            s->tcp_len_acc = (uint16_t)(s->tcp_len_acc << 8 | buf[i]);
            if (--s->tcp_prefix_need == 0) {
                s->tcp_msg_len = s->tcp_len_acc;
                s->tcp_msg_pos = 0;
                s->tcp_len_acc = 0;
                s->tcp_prefix_need = s->tcp_msg_len == 0 ? 2 : 0;
                s->tcp_msg = mem_realloc(s->tcp_msg, s->tcp_msg_len ? s->tcp_msg_len : 1);
            }
            continue;
        }
        chan_tcp_msg_byte(s, &buf[i]);
        if (s->tcp_msg_pos == s->tcp_msg_len) {
            if (s->tcp_msg_len >= DNSMSG_HEADER_LEN) {
                chan_capture(c, NULL, dnsmsg_get_id(s->tcp_msg), s->tcp_msg, s->tcp_msg_len);
            }
            s->tcp_prefix_need = 2;
        }
    }
}

static ssize_t chan_recv_tcp(struct upstream_chan *c, int fd, uint8_t *buf, size_t len)
{
    ssize_t n = recv(fd, buf, len, 0);
    if (n > 0) {
        int saved = errno;
        struct upstream_sock *s = chan_find_sock(c, fd);
        if (s != NULL) {
            chan_filter_tcp(c, s, buf, (size_t)n);
        }
        errno = saved;
    }
    return n;
}

ssize_t upstream_chan_on_recv(struct upstream_chan *c, int fd, void *buf, size_t len, int flags,
                              struct sockaddr *from, socklen_t *fromlen)
{
    (void)flags;
    if (c->tcp) {
        return chan_recv_tcp(c, fd, buf, len);
    }
    if (c->unsent_reading != NULL) {
        return chan_recv_unsent(c, buf, len, from, fromlen);
    }
    struct upstream_psock *ps = c->reading;
    if (c->pooled && ps == NULL) {
        return chan_drain(c, fd);
    }
    if (c->read_one) {
        /* One answer per ares_process_fd() call, so each call has at most one UDP capture and
         * c-ares 1.18 (which reads until EAGAIN) makes no extra syscall; a socket with more
         * queued stays readable and comes back on the next loop turn. */
        errno = EAGAIN;
        return -1;
    }
    return chan_recv_udp(c, ps, ps != NULL ? ps->fd : fd, buf, len, from, fromlen);
}

/* --- send hook ------------------------------------------------------------------------------ */

/* The bytes of a UDP query c-ares sends: upstream_send()'s own query with the ID c-ares wrote,
 * when c-ares is sending it right now (c->sending), else c-ares' message as it is (a re-send). */
static const uint8_t *chan_udp_payload(struct upstream_chan *c, const struct iovec *iov, int count,
                                       size_t *len)
{
    uint8_t *tx = c->u->txbuf;
    size_t n = 0;
    for (int i = 0; i < count; i++) {
        size_t l = iov[i].iov_len < CHAN_MSG_MAX - n ? iov[i].iov_len : CHAN_MSG_MAX - n;
        memcpy(tx + n, iov[i].iov_base, l);
        n += l;
    }
    if (c->sending != NULL && n >= DNSMSG_HEADER_LEN) {
        uint16_t wire_id = dnsmsg_get_id(tx);
        memcpy(tx, c->sending, c->sending_len);
        dnsmsg_set_id(tx, wire_id);
        n = c->sending_len;
    }
    *len = n;
    return tx;
}

ssize_t upstream_chan_on_send(struct upstream_chan *c, int fd, const struct iovec *iov, int count)
{
    if (c->tcp) {
        return writev(fd, iov, count);
    }
    size_t total = 0, len = 0;
    for (int i = 0; i < count; i++) {
        total += iov[i].iov_len;
    }
    const uint8_t *msg = chan_udp_payload(c, iov, count, &len);
    if (len < DNSMSG_HEADER_LEN) {
        errno = EINVAL;
        return -1;
    }
    if (!c->pooled) {
        if (send(fd, msg, len, 0) < 0) {
            chan_unsent(c, fd, msg, len);
        }
        return (ssize_t)total;
    }
    /* Never through the channel's own socket: its answers would not be accepted. */
    struct upstream_psock *ps = psock_next(c);
    if (ps == NULL || send(ps->fd, msg, len, 0) < 0) {
        if (ps != NULL) {
            psock_retire(ps);
        }
        chan_unsent(c, fd, msg, len);
        return (ssize_t)total;
    }
    psock_sent(ps, dnsmsg_get_id(msg));
    if (c->sending_attempt != NULL) {
        c->sending_attempt->wire_id = dnsmsg_get_id(msg);
        c->sending_attempt->wire_known = true;
        c->sending_attempt->wire_slot = ps->slot;
        c->sending_attempt->wire_serial = ps->serial;
    }
    return (ssize_t)total;
}

/* --- unsent queries ------------------------------------------------------------------------- */

/* A UDP datagram that could not be sent (a firewall's EPERM, ENETUNREACH, ENOBUFS, a pending
 * ICMP error as ECONNREFUSED, or no pool socket: EMFILE) is one query's failure, never the
 * channel's: the send hook tells c-ares it was written, and on the next loop turn c-ares reads a
 * stand-in answer for it (REFUSED, no capture), which ends that query alone; upstream.c sees a
 * failed attempt and tries the next server at once, as dnsmasq moves on when sendto fails.
 * Returning the error instead fails only that query with c-ares 1.18 and 1.27, but c-ares 1.34
 * (ares_conn_flush, handle_conn_error) takes it as a broken connection: it closes its socket and
 * ends or re-sends every query in flight on the channel - with the port pool, every query to
 * that server. */
static void chan_unsent(struct upstream_chan *c, int fd, const uint8_t *msg, size_t len)
{
    struct upstream *u = c->u;
    struct dnsmsg_reply r;
    if (dnsmsg_peek_reply(&r, msg, len) != 0) {
        return; /* not a query c-ares can match an answer to: it times out */
    }
    struct upstream_unsent *un = upstream_block_alloc(u, sizeof(*un) + r.question_end);
    un->fd = fd;
    un->len = (size_t)chan_standin(un->msg, r.question_end, msg, &r);
    un->next = c->unsent;
    c->unsent = un;
    if (!c->unsent_queued) {
        c->unsent_queued = true;
        c->next_unsent = u->unsent_chans;
        u->unsent_chans = c;
    }
    upstream_defer_start(u);
}

/* c-ares reads the stand-in of an unsent query (once per ares_process_fd call), "from" the
 * server so that every version matches it to the query. */
static ssize_t chan_recv_unsent(struct upstream_chan *c, void *buf, size_t cap,
                                struct sockaddr *from, socklen_t *fromlen)
{
    const struct upstream_unsent *un = c->unsent_reading;
    if (c->read_one || un->len > cap) {
        errno = EAGAIN;
        return -1;
    }
    c->read_one = true;
    memcpy(buf, un->msg, un->len);
    if (from != NULL && fromlen != NULL) {
        const union sockaddr_any *addr = &c->u->servers[c->server].addr;
        socklen_t n = sockaddr_len(addr);
        memcpy(from, &addr->sa, n < *fromlen ? n : *fromlen);
        *fromlen = n;
    }
    return (ssize_t)un->len;
}

/* Hands c-ares the stand-ins queued so far on c; those queued meanwhile (a re-send that failed
 * again) wait for the next turn. A socket c-ares has closed since took its queries with it. */
static void chan_flush_unsent(struct upstream_chan *c)
{
    struct upstream_unsent *list = c->unsent;
    c->unsent = NULL;
    while (list != NULL) {
        struct upstream_unsent *un = list;
        list = un->next;
        if (chan_find_sock(c, un->fd) != NULL) {
            c->unsent_reading = un;
            c->read_one = false;
            ares_process_fd(c->ch, un->fd, ARES_SOCKET_BAD);
            c->unsent_reading = NULL;
            chan_drop_captures(c);
        }
        upstream_block_free(c->u, un);
    }
}

void upstream_chan_flush_unsent(struct upstream *u)
{
    struct upstream_chan *list = u->unsent_chans;
    u->unsent_chans = NULL;
    while (list != NULL) {
        struct upstream_chan *c = list;
        list = c->next_unsent;
        c->next_unsent = NULL;
        c->unsent_queued = false;
        chan_flush_unsent(c);
    }
}

/* A channel being destroyed: its stand-ins go (c-ares ends its queries itself). */
static void chan_drop_unsent(struct upstream *u, struct upstream_chan *c)
{
    for (struct upstream_chan **pp = &u->unsent_chans; *pp != NULL; pp = &(*pp)->next_unsent) {
        if (*pp == c) {
            *pp = c->next_unsent;
            break;
        }
    }
    while (c->unsent != NULL) {
        struct upstream_unsent *un = c->unsent;
        c->unsent = un->next;
        upstream_block_free(u, un);
    }
}

/* --- source address and port ----------------------------------------------------------------- */

/* The fixed source port of a server (@source#port, then --query-port), or 0. */
static uint16_t chan_fixed_port(const struct upstream *u, const struct upstream_server *srv)
{
    if (srv->source.sa.sa_family != 0 && sockaddr_port(&srv->source) != 0) {
        return sockaddr_port(&srv->source);
    }
    return u->cfg.query_port;
}

static void chan_bind_addr(const struct upstream_server *srv, union sockaddr_any *out)
{
    memset(out, 0, sizeof(*out));
    if (srv->source.sa.sa_family != 0) {
        *out = srv->source;
        return;
    }
    out->sa.sa_family = srv->addr.sa.sa_family;
}

/* Binds a random port in --min-port..--max-port (dnsmasq tries 100 times too). */
static int chan_bind_range(struct upstream *u, int fd, union sockaddr_any *addr)
{
    uint32_t lo = u->cfg.min_port ? u->cfg.min_port : 1024;
    uint32_t hi = u->cfg.max_port ? u->cfg.max_port : 65535;
    for (int i = 0; i < 100; i++) {
        sockaddr_set_port(addr, (uint16_t)(lo + upstream_random(u) % (hi - lo + 1)));
        if (bind(fd, &addr->sa, sockaddr_len(addr)) == 0) {
            return 0;
        }
        if (errno != EADDRINUSE) {
            break;
        }
    }
    return -1;
}

int upstream_chan_on_configure(struct upstream_chan *c, int fd)
{
    struct upstream *u = c->u;
    const struct upstream_server *srv = &u->servers[c->server];
    if (srv->iface[0] != '\0' &&
        setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, srv->iface, (socklen_t)strlen(srv->iface))) {
        return -1;
    }
    union sockaddr_any addr;
    chan_bind_addr(srv, &addr);
    uint16_t port = chan_fixed_port(u, srv);
    if (port != 0) {
        int one = 1;
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
        sockaddr_set_port(&addr, port);
        return bind(fd, &addr.sa, sockaddr_len(&addr)) == 0 ? 0 : -1;
    }
    if (u->cfg.min_port != 0 || u->cfg.max_port != 0) {
        return chan_bind_range(u, fd, &addr);
    }
    if (srv->source.sa.sa_family != 0) {
        return bind(fd, &addr.sa, sockaddr_len(&addr)) == 0 ? 0 : -1;
    }
    return 0;
}

/* --- loop glue ---------------------------------------------------------------------------------
 */

static void on_poll_closed(uv_handle_t *handle)
{
    struct upstream_sock *s = DNSROUTE_CONTAINER_OF(handle, struct upstream_sock, poll);
    struct upstream *u = s->u;
    free(s->tcp_msg);
    free(s);
    upstream_handle_closed(u);
}

static void chan_push_idle(struct upstream_chan *c)
{
    struct upstream *u = c->u;
    if (u->freeing || c->pooled || c->idle || c->inflight != 0 || c->nsocks != 0) {
        return;
    }
    c->carried = 0;
    if (c->current) {
        return;
    }
    struct upstream_pool *pool = &u->servers[c->server].pools[c->tcp];
    c->idle = true;
    c->idle_since_ms = upstream_now_ms(u);
    c->next_idle = pool->idle;
    pool->idle = c;
}

static void chan_sock_open(struct upstream_chan *c, int fd, int events)
{
    struct upstream_sock *s = chan_find_sock(c, fd);
    if (s == NULL) {
        s = mem_calloc(1, sizeof(*s));
        int rc = uv_poll_init_socket(c->u->loop, &s->poll, fd);
        if (rc != 0) {
            log_error("upstream: cannot watch socket %d: %s", fd, uv_strerror(rc));
            free(s);
            return;
        }
        s->fd = fd;
        s->chan = c;
        s->u = c->u;
        s->tcp_prefix_need = 2;
        s->next = c->socks;
        c->socks = s;
        c->nsocks++;
    }
    if (s->events != events) {
        s->events = events;
        uv_poll_start(&s->poll, events, on_poll);
    }
}

static void chan_sock_close(struct upstream_chan *c, int fd)
{
    for (struct upstream_sock **pp = &c->socks; *pp != NULL; pp = &(*pp)->next) {
        struct upstream_sock *s = *pp;
        if (s->fd == fd) {
            *pp = s->next;
            c->nsocks--;
            c->u->closing_handles++;
            uv_close((uv_handle_t *)&s->poll, on_poll_closed);
            break;
        }
    }
    chan_push_idle(c);
}

/* c-ares opens, re-arms or (readable = writable = 0) is about to close a socket. */
static void on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
    struct upstream_chan *c = data;
    if (readable || writable) {
        chan_sock_open(c, fd, (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0));
    } else {
        chan_sock_close(c, fd);
    }
}

static void on_poll(uv_poll_t *handle, int status, int events)
{
    struct upstream_sock *s = DNSROUTE_CONTAINER_OF(handle, struct upstream_sock, poll);
    bool err = status < 0;
    ares_socket_t rfd = (err || (events & UV_READABLE)) ? s->fd : ARES_SOCKET_BAD;
    ares_socket_t wfd = (err || (events & UV_WRITABLE)) ? s->fd : ARES_SOCKET_BAD;
    struct upstream_chan *c = s->chan;
    c->read_one = false;
    ares_process_fd(c->ch, rfd, wfd);
    chan_drop_captures(c);
}

/* The pool socket attempt a left from, if it is still open: in its slot, or retired. */
static struct upstream_psock *chan_attempt_psock(struct upstream_chan *c,
                                                 const struct upstream_attempt *a)
{
    struct upstream_psock *ps = a->wire_slot < c->nslots ? c->psocks[a->wire_slot] : NULL;
    if (ps != NULL && ps->serial == a->wire_serial) {
        return ps;
    }
    for (ps = c->retired_socks; ps != NULL; ps = ps->next_retired) {
        if (ps->serial == a->wire_serial) {
            return ps;
        }
    }
    return NULL;
}

/* An attempt that ended unanswered (timed out, cancelled, failed over): its ID comes off the
 * socket it left from, so that socket no longer accepts it. Left there, a forged answer carrying
 * it would pass the socket filter once the ID, freed, is given to a new query in flight from
 * another socket, and c-ares, matching by ID and question only, would take it for that query.
 * The socket is found from its slot (or among the few retired ones), not by searching the pool:
 * under an upstream that drops queries this runs for each of them. */
static void chan_forget_id(struct upstream_chan *c, const struct upstream_attempt *a)
{
    struct upstream_psock *ps = chan_attempt_psock(c, a);
    if (ps == NULL) {
        return; /* closed: its IDs went with it */
    }
    psock_take_id(ps, a->wire_id);
    if (ps->retired && ps->nids == 0 && c->reading != ps) {
        psock_close(ps);
    }
}

/* The answer c-ares accepted is the capture with its ID; without one (c-ares 1.34 may re-parse
 * a TCP message the filter did not see whole) the attempt counts as unanswered. */
void upstream_chan_answered(void *arg, int ares_status, int wire_id)
{
    struct upstream_attempt *a = arg;
    struct upstream_chan *c = a->chan;
    c->inflight--;
    struct upstream_capture *cap = NULL;
    if (ares_status == ARES_SUCCESS && wire_id >= 0) {
        cap = chan_take_capture(c, (uint16_t)wire_id);
    }
    if (cap != NULL && cap->ps != NULL) {
        psock_take_id(cap->ps, (uint16_t)wire_id);
    } else if (cap == NULL && a->wire_known && c->pooled) {
        chan_forget_id(c, a);
    }
    if (cap != NULL) {
        dnsmsg_set_id(cap->pkt, a->req_id); /* the wire ID was the attempt's or c-ares' */
    }
    if (ares_status == ARES_SUCCESS && cap == NULL) {
        ares_status = ARES_EBADRESP;
    }
    upstream_attempt_done(a, ares_status, cap != NULL ? cap->pkt : NULL,
                          cap != NULL ? cap->len : 0);
    upstream_block_free(c->u, cap);
    chan_push_idle(c);
}

/* --- channels ----------------------------------------------------------------------------------
 */

/* --- the UDP port pool of a pooled channel ------------------------------------------------- */

static void on_psock_closed(uv_handle_t *handle)
{
    struct upstream_psock *ps = DNSROUTE_CONTAINER_OF(handle, struct upstream_psock, poll);
    struct upstream *u = ps->u;
    close(ps->fd);
    if (ps->ids != ps->ids_inline) {
        free(ps->ids);
    }
    free(ps);
    upstream_handle_closed(u);
}

/* Closes a socket that is out of its slot (retired, or the channel is going). */
static void psock_close(struct upstream_psock *ps)
{
    if (ps->closing) {
        return;
    }
    ps->closing = true;
    struct upstream_chan *c = ps->chan;
    for (struct upstream_psock **pp = &c->retired_socks; *pp != NULL; pp = &(*pp)->next_retired) {
        if (*pp == ps) {
            *pp = ps->next_retired;
            break;
        }
    }
    if (c->reading == ps) {
        c->reading = NULL;
    }
    c->u->closing_handles++;
    uv_close((uv_handle_t *)&ps->poll, on_psock_closed);
}

/* Takes a socket out of its slot: no more queries; closed once its answers are in. */
static void psock_retire(struct upstream_psock *ps)
{
    struct upstream_chan *c = ps->chan;
    if (ps->retired || ps->closing) {
        return;
    }
    if (c->psocks[ps->slot] == ps) {
        c->psocks[ps->slot] = NULL;
    }
    ps->retired = true;
    ps->used_ms = upstream_now_ms(c->u);
    if (ps->nids == 0 && c->reading != ps) {
        psock_close(ps);
        return;
    }
    ps->next_retired = c->retired_socks;
    c->retired_socks = ps;
}

/* An answer (or several) waits on a pool socket: c-ares reads it through the receive filter as
 * if it had arrived on its own socket of this channel. */
static void on_psock_readable(uv_poll_t *handle, int status, int events)
{
    struct upstream_psock *ps = DNSROUTE_CONTAINER_OF(handle, struct upstream_psock, poll);
    struct upstream_chan *c = ps->chan;
    (void)status;
    (void)events;
    if (c->socks == NULL) {
        psock_retire(ps); /* c-ares has no socket to read through: nothing waits for this */
        return;
    }
    c->reading = ps;
    c->read_one = false;
    ares_process_fd(c->ch, c->socks->fd, ARES_SOCKET_BAD);
    c->reading = NULL;
    chan_drop_captures(c);
    if (ps->retired && ps->nids == 0) {
        psock_close(ps);
    }
}

/* Opens the socket of a slot: a new kernel-chosen port (or one from --min-port/--max-port and
 * the server's @source/@interface, as upstream_chan_on_configure does for c-ares' own sockets). */
static struct upstream_psock *psock_open(struct upstream_chan *c, uint32_t slot)
{
    const struct upstream_server *srv = &c->u->servers[c->server];
    int fd = socket(srv->addr.sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return NULL;
    }
    if (upstream_chan_on_configure(c, fd) != 0 ||
        connect(fd, &srv->addr.sa, sockaddr_len(&srv->addr)) != 0) {
        close(fd);
        return NULL;
    }
    struct upstream_psock *ps = mem_calloc(1, sizeof(*ps));
    if (uv_poll_init_socket(c->u->loop, &ps->poll, fd) != 0) {
        close(fd);
        free(ps);
        return NULL;
    }
    ps->chan = c;
    ps->u = c->u;
    ps->fd = fd;
    ps->slot = slot;
    ps->serial = ++c->psock_serial;
    ps->ids = ps->ids_inline;
    ps->ids_cap = UPSTREAM_PSOCK_INLINE_IDS;
    uv_poll_start(&ps->poll, UV_READABLE, on_psock_readable);
    c->psocks[slot] = ps;
    return ps;
}

/* A slot at random among those not used by the last cool_cap queries; it starts cooling down
 * and, once the ring is full, the slot that cooled longest becomes available again. */
static uint32_t psock_pick(struct upstream_chan *c)
{
    uint32_t r = upstream_random(c->u) % c->navail;
    uint32_t slot = c->avail[r];
    if (c->cool_cap == 0) {
        return slot;
    }
    if (c->cool_count == c->cool_cap) {
        c->avail[r] = c->cool[c->cool_head];
        c->cool[c->cool_head] = slot;
        c->cool_head = (c->cool_head + 1) % c->cool_cap;
        return slot;
    }
    c->avail[r] = c->avail[--c->navail];
    c->cool[(c->cool_head + c->cool_count++) % c->cool_cap] = slot;
    return slot;
}

/* The socket the next query leaves through (see psock_pick), opened if its slot has none. */
static struct upstream_psock *psock_next(struct upstream_chan *c)
{
    uint32_t slot = psock_pick(c);
    struct upstream_psock *ps = c->psocks[slot];
    return ps != NULL ? ps : psock_open(c, slot);
}

/* The slot arrays of a new pooled channel: all available, none cooling. The cool-down ring
 * leaves a sixteenth of the slots (at least 16, or all of a pool smaller than that) to pick from:
 * 2,048 slots make any 1,921 consecutive queries leave from different sockets, 1,024 slots any
 * 961 (and >= 984 in every 1,000, measured: a slot cools for 960 queries, then waits ~64). */
static void psock_init_slots(struct upstream_chan *c, uint32_t nslots)
{
    uint32_t pickable = nslots / 16 > 16 ? nslots / 16 : (nslots < 16 ? nslots : 16);
    c->nslots = nslots;
    c->psocks = mem_calloc(nslots, sizeof(struct upstream_psock *));
    c->avail = mem_alloc(nslots * sizeof(*c->avail));
    c->cool_cap = nslots - pickable;
    c->cool = mem_alloc((c->cool_cap ? c->cool_cap : 1) * sizeof(*c->cool));
    for (uint32_t i = 0; i < nslots; i++) {
        c->avail[i] = i;
    }
    c->navail = nslots;
}

static void psock_sent(struct upstream_psock *ps, uint16_t wire_id)
{
    if (ps->nids == ps->ids_cap) {
        uint16_t *ids = mem_alloc(2 * (size_t)ps->ids_cap * sizeof(*ids));
        memcpy(ids, ps->ids, ps->nids * sizeof(*ids));
        if (ps->ids != ps->ids_inline) {
            free(ps->ids);
        }
        ps->ids = ids;
        ps->ids_cap *= 2;
    }
    ps->ids[ps->nids++] = wire_id;
    ps->used_ms = upstream_now_ms(ps->chan->u);
    if (++ps->carried >= ps->chan->u->cfg.queries_per_socket) {
        psock_retire(ps);
    }
}

/* True when a query with wire_id left from ps and is unanswered. */
static bool psock_has_id(const struct upstream_psock *ps, uint16_t wire_id)
{
    for (uint32_t i = 0; i < ps->nids; i++) {
        if (ps->ids[i] == wire_id) {
            return true;
        }
    }
    return false;
}

/* The query with wire_id that left from ps is answered. */
static void psock_take_id(struct upstream_psock *ps, uint16_t wire_id)
{
    for (uint32_t i = 0; i < ps->nids; i++) {
        if (ps->ids[i] == wire_id) {
            ps->ids[i] = ps->ids[--ps->nids];
            return;
        }
    }
}

static void psock_close_all(struct upstream_chan *c)
{
    for (uint32_t i = 0; i < c->nslots; i++) {
        if (c->psocks[i] != NULL) {
            struct upstream_psock *ps = c->psocks[i];
            c->psocks[i] = NULL;
            psock_close(ps);
        }
    }
    while (c->retired_socks != NULL) {
        psock_close(c->retired_socks);
    }
}

/* Closes retired sockets whose answers never came and sockets unused for long. */
static void psock_tick(struct upstream_chan *c, uint64_t now)
{
    for (struct upstream_psock *ps = c->retired_socks, *next; ps != NULL; ps = next) {
        next = ps->next_retired;
        if (ps->nids == 0 || now - ps->used_ms >= UPSTREAM_RETIRED_SOCK_MS) {
            psock_close(ps);
        }
    }
    for (uint32_t i = 0; i < c->nslots; i++) {
        struct upstream_psock *ps = c->psocks[i];
        if (ps != NULL && now - ps->used_ms >= UPSTREAM_IDLE_SOCK_MS) {
            psock_retire(ps);
        }
    }
}

/* The pooled UDP channel of a server, created on first use. */
static int chan_acquire_pooled(struct upstream *u, uint32_t server, struct upstream_chan **out)
{
    struct upstream_pool *pool = &u->servers[server].pools[0];
    struct upstream_chan *c = pool->current;
    if (c == NULL) {
        int rc = chan_new(u, server, false, true, &c);
        if (rc != 0) {
            return rc;
        }
        c->pooled = true;
        psock_init_slots(c, u->port_slots);
        pool->current = c;
        c->current = true;
    }
    *out = c;
    return 0;
}

/* A new channel for (server, tcp) with the recipe that behaves alike on c-ares 1.18 to 1.34:
 * NOCHECKRESP so SERVFAIL/REFUSED arrive as packets over TCP, IGNTC so no version retries a TC
 * answer over TCP by itself (dnsmasq returns it to the client), no ARES_FLAG_EDNS (the query
 * carries query.c's OPT; the flag only arms c-ares' FORMERR fallback), one try (upstream.c does
 * retries and failover), no resolv.conf servers, no query cache. */
static int chan_new(struct upstream *u, uint32_t server, bool tcp, bool stayopen,
                    struct upstream_chan **out)
{
    struct upstream_chan *c = mem_calloc(1, sizeof(*c));
    c->u = u;
    c->server = server;
    c->tcp = tcp;
    struct ares_options o;
    memset(&o, 0, sizeof(o));
    o.flags = ARES_FLAG_NOCHECKRESP | ARES_FLAG_IGNTC | ARES_FLAG_NOSEARCH |
              (tcp ? ARES_FLAG_USEVC : 0) | (stayopen ? ARES_FLAG_STAYOPEN : 0);
    /* No search domains and no lookup order: ares_init then reads no host files and makes no
     * uname call. */
    o.domains = NULL;
    o.ndomains = 0;
    o.lookups = (char *)"b";
    /* An attempt listens for its answer for the whole budget: an upstream slower than one try
     * (a cold recursive lookup often takes 1-3 s) must still be heard, as with dnsmasq. The
     * per-try timeout only starts further attempts (upstream.c req_check_slow). */
    o.timeout = (int)u->cfg.total_timeout_ms;
    o.tries = 1;
    o.socket_send_buffer_size = CHAN_SOCK_BUF;
    o.socket_receive_buffer_size = CHAN_SOCK_BUF;
    o.sock_state_cb = on_sock_state;
    o.sock_state_cb_data = c;
    o.resolvconf_path = (char *)"/dev/null";
    int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_SNDBUF |
               ARES_OPT_SOCK_RCVBUF | ARES_OPT_SOCK_STATE_CB | ARES_OPT_NOROTATE |
               ARES_OPT_RESOLVCONF | ARES_OPT_DOMAINS | ARES_OPT_LOOKUPS;
    int rc = upstream_ares_init(&c->ch, &o, mask);
    if (rc != ARES_SUCCESS) {
        log_error("upstream: c-ares channel: %s", ares_strerror(rc));
        free(c);
        return rc == ARES_ENOMEM ? -ENOMEM : ERR_UNSUPPORTED;
    }
    rc = upstream_ares_set_server(c->ch, &u->servers[server].addr);
    if (rc != ARES_SUCCESS) {
        log_error("upstream: c-ares server: %s", ares_strerror(rc));
        ares_destroy(c->ch);
        free(c);
        return ERR_UNSUPPORTED;
    }
    upstream_ares_set_socket_functions(c->ch, c);
    mem_grow((void **)&u->chans, &u->chan_cap, u->chan_count + 1, sizeof(struct upstream_chan *));
    c->index = u->chan_count;
    u->chans[u->chan_count++] = c;
    *out = c;
    return 0;
}

/* How many attempts one socket of this server carries: one, unless a fixed source port forces
 * every query through one socket anyway. */
static uint32_t chan_capacity(const struct upstream *u, const struct upstream_server *srv)
{
    if (chan_fixed_port(u, srv) != 0) {
        return UINT32_MAX;
    }
    return u->cfg.queries_per_socket;
}

static int chan_acquire(struct upstream *u, uint32_t server, bool tcp, struct upstream_chan **out)
{
    if (!tcp && u->port_slots != 0 && chan_fixed_port(u, &u->servers[server]) == 0) {
        return chan_acquire_pooled(u, server, out);
    }
    struct upstream_pool *pool = &u->servers[server].pools[tcp];
    struct upstream_chan *c = pool->current;
    if (c == NULL && pool->idle != NULL) {
        c = pool->idle;
        pool->idle = c->next_idle;
        c->idle = false;
        c->next_idle = NULL;
    }
    if (c == NULL) {
        int rc = chan_new(u, server, tcp, false, &c);
        if (rc != 0) {
            return rc;
        }
    }
    pool->current = c;
    c->current = true;
    if (++c->carried >= chan_capacity(u, &u->servers[server])) {
        pool->current = NULL;
        c->current = false;
    }
    *out = c;
    return 0;
}

int upstream_chan_send(struct upstream *u, struct upstream_attempt *a, const uint8_t *query,
                       size_t len, bool tcp)
{
    struct upstream_chan *c = NULL;
    int rc = chan_acquire(u, a->server, tcp, &c);
    if (rc != 0) {
        return rc;
    }
    a->chan = c;
    c->inflight++;
    c->sending = query;
    c->sending_len = len;
    c->sending_attempt = a;
    a->wire_known = false;
    upstream_ares_send(c->ch, query, len, a);
    c->sending = NULL;
    c->sending_attempt = NULL;
    return 0;
}

static void chan_destroy(struct upstream *u, struct upstream_chan *c)
{
    if (c->pooled) {
        psock_close_all(c);
    }
    chan_drop_unsent(u, c);
    size_t i = c->index;
    u->chans[i] = u->chans[--u->chan_count];
    u->chans[i]->index = i;
    ares_destroy(c->ch);
    DNSROUTE_REQUIRE(c->socks == NULL);
    free(c->psocks);
    free(c->avail);
    free(c->cool);
    free(c);
}

/* Unlinks and destroys the idle channels of one pool that were idle too long. */
static void chan_trim_pool(struct upstream *u, struct upstream_pool *pool, uint64_t now)
{
    struct upstream_chan **pp = &pool->idle;
    while (*pp != NULL) {
        struct upstream_chan *c = *pp;
        if (now - c->idle_since_ms >= UPSTREAM_IDLE_CHAN_MS) {
            *pp = c->next_idle;
            chan_destroy(u, c);
        } else {
            pp = &c->next_idle;
        }
    }
}

void upstream_chan_tick(struct upstream *u)
{
    /* c-ares timeouts; callbacks may add channels, so index afresh each time. */
    for (size_t i = 0; i < u->chan_count; i++) {
        struct upstream_chan *c = u->chans[i];
        if (c->inflight != 0) {
            ares_process_fd(c->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
        }
    }
    uint64_t now = upstream_now_ms(u);
    for (size_t s = 0; s < u->cfg.server_count; s++) {
        chan_trim_pool(u, &u->servers[s].pools[0], now);
        chan_trim_pool(u, &u->servers[s].pools[1], now);
    }
    for (size_t i = 0; i < u->chan_count; i++) {
        if (u->chans[i]->pooled) {
            psock_tick(u->chans[i], now);
        }
    }
}

uint32_t upstream_chan_pool_size(size_t pools)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
        (void)getrlimit(RLIMIT_NOFILE, &rl);
    }
    uint64_t spare = rl.rlim_cur > 1024 ? rl.rlim_cur - 512 : rl.rlim_cur / 2;
    uint64_t per = spare / (pools ? pools : 1);
    if (per > UPSTREAM_PORT_SLOTS_MAX) {
        per = UPSTREAM_PORT_SLOTS_MAX;
    }
    return per < UPSTREAM_PORT_SLOTS_MIN ? UPSTREAM_PORT_SLOTS_MIN : (uint32_t)per;
}

void upstream_chan_destroy_all(struct upstream *u)
{
    while (u->chan_count > 0) {
        chan_destroy(u, u->chans[u->chan_count - 1]);
    }
    for (size_t s = 0; s < u->cfg.server_count; s++) {
        memset(u->servers[s].pools, 0, sizeof(u->servers[s].pools));
    }
}
