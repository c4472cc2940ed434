/* upstream_chan.c - the c-ares side of upstream: channels (one server, one transport each) kept in
 * per-server pools, their sockets watched by uv_poll_t, a housekeeping timer for c-ares timeouts,
 * source-port binding (--query-port, --min-port/--max-port, @source#port, @interface), and a
 * receive filter that hides FORMERR rcodes from c-ares 1.18.1, whose EDNS fallback would otherwise
 * cut 11 bytes off the query and switch EDNS off for the whole channel. */
#include "upstream_impl.h"

#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "dnsroute/compat.h"
#include "dnsroute/err.h"
#include "dnsroute/log.h"
#include "dnsroute/mem.h"

/* Kernel socket buffer limits per c-ares socket. They cap, not allocate, so they cost nothing
 * while idle; a shared socket (--query-port) may take bursts of answers. */
enum { CHAN_SOCK_BUF = 1 << 20 };
/* Largest UDP payload c-ares accepts: its read buffer holds 4096 bytes + 1 (MAXENDSSZ). */
enum { CHAN_EDNS_SIZE = 4096 };
enum { DNS_RCODE_FORMERR = 1 };

static void on_poll(uv_poll_t *handle, int status, int events);
static struct upstream_psock *psock_next(struct upstream_chan *c);
static void psock_sent(struct upstream_psock *ps);
static ssize_t psock_received(struct upstream_psock *ps, ssize_t n);
static void psock_retire(struct upstream_psock *ps);
static void psock_close_all(struct upstream_chan *c);
static void psock_tick(struct upstream_chan *c, uint64_t now);
static int chan_new(struct upstream *u, uint32_t server, bool tcp, bool stayopen,
                    struct upstream_chan **out);

/* --- FORMERR filter ------------------------------------------------------------------------ */

/* Remembers that the answer with this ID had its FORMERR rcode hidden from c-ares. */
static void chan_note_patched(struct upstream_chan *c, uint16_t id)
{
    if (c->patched_count == UPSTREAM_PATCHED_MAX) {
        memmove(c->patched, c->patched + 1, sizeof(c->patched[0]) * (UPSTREAM_PATCHED_MAX - 1));
        c->patched_count--;
    }
    c->patched[c->patched_count++] = id;
}

/* c-ares 1.18.1 treats "FORMERR without OPT" as an EDNS failure (see the file comment). The
 * header's rcode is turned into NOERROR before c-ares reads it and restored in on_ares_answer;
 * with NOCHECKRESP the rcode means nothing else to c-ares. byte3 is the header's fourth byte. */
static void chan_filter_byte3(struct upstream_chan *c, uint8_t *byte3, uint8_t byte2, uint16_t id)
{
    if ((byte2 & 0x80) != 0 && (*byte3 & 0x0f) == DNS_RCODE_FORMERR) {
        *byte3 &= 0xf0;
        chan_note_patched(c, id);
    }
}

static struct upstream_sock *chan_find_sock(struct upstream_chan *c, int fd)
{
    for (struct upstream_sock *s = c->socks; s != NULL; s = s->next) {
        if (s->fd == fd) {
            return s;
        }
    }
    return NULL;
}

/* Follows the TCP byte stream (2-byte length, message, ...) however c-ares chunks its reads. */
static void chan_filter_tcp(struct upstream_chan *c, struct upstream_sock *s, uint8_t *buf,
                            size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s->tcp_prefix_need > 0) {
            s->tcp_len_acc = (uint16_t)(s->tcp_len_acc << 8 | buf[i]);
            if (--s->tcp_prefix_need == 0) {
                s->tcp_msg_len = s->tcp_len_acc;
                s->tcp_msg_pos = 0;
                s->tcp_prefix_need = s->tcp_msg_len == 0 ? 2 : 0;
            }
            continue;
        }
        uint32_t pos = s->tcp_msg_pos++;
        if (pos < 2) {
            s->tcp_id = (uint16_t)(s->tcp_id << 8 | buf[i]);
        } else if (pos == 2) {
            s->tcp_byte2 = buf[i];
        } else if (pos == 3) {
            chan_filter_byte3(c, &buf[i], s->tcp_byte2, s->tcp_id);
        }
        if (s->tcp_msg_pos == s->tcp_msg_len) {
            s->tcp_prefix_need = 2;
            s->tcp_len_acc = 0;
        }
    }
}

/* --- socket functions given to c-ares -------------------------------------------------------- */

static ares_socket_t on_asocket(int domain, int type, int protocol, void *data)
{
    (void)data;
    return socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
}

static int on_aclose(ares_socket_t fd, void *data)
{
    (void)data;
    return close(fd);
}

static int on_aconnect(ares_socket_t fd, const struct sockaddr *sa, ares_socklen_t len, void *data)
{
    (void)data;
    return connect(fd, sa, len);
}

static ares_ssize_t on_arecvfrom(ares_socket_t fd, void *buf, size_t len, int flags,
                                 struct sockaddr *from, ares_socklen_t *fromlen, void *data)
{
    struct upstream_chan *c = data;
    struct upstream_psock *ps = c->pooled ? c->reading : NULL;
    if (ps != NULL && ps->read_one) {
        /* c-ares reads until EAGAIN; one answer per readiness event saves that extra syscall
         * (a socket with more queued stays readable and comes back on the next loop turn). */
        errno = EAGAIN;
        return -1;
    }
    ssize_t n = recvfrom(ps != NULL ? ps->fd : fd, buf, len, flags, from, fromlen);
    if (ps != NULL) {
        n = psock_received(ps, n);
    }
    if (n <= 0) {
        return n;
    }
    int saved = errno;
    uint8_t *p = buf;
    if (c->tcp) {
        struct upstream_sock *s = chan_find_sock(c, fd);
        if (s != NULL) {
            chan_filter_tcp(c, s, p, (size_t)n);
        }
    } else if (n >= 4) {
        chan_filter_byte3(c, &p[3], p[2], (uint16_t)(p[0] << 8 | p[1]));
    }
    errno = saved;
    return n;
}

static ares_ssize_t on_asendv(ares_socket_t fd, const struct iovec *iov, int count, void *data)
{
    struct upstream_chan *c = data;
    if (c->pooled) {
        struct upstream_psock *ps = psock_next(c);
        if (ps != NULL) {
            ssize_t n = writev(ps->fd, iov, count);
            if (n >= 0) {
                psock_sent(ps);
                return n;
            }
            psock_retire(ps); /* broken: the query leaves through c-ares' own socket instead */
        }
    }
    return writev(fd, iov, count);
}

static const struct ares_socket_functions chan_socket_functions = {
    .asocket = on_asocket,
    .aclose = on_aclose,
    .aconnect = on_aconnect,
    .arecvfrom = on_arecvfrom,
    .asendv = on_asendv,
};

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

/* Runs after socket() and before connect(): interface, source address and port. */
static int on_sock_configure(ares_socket_t fd, int type, void *data)
{
    (void)type;
    struct upstream_chan *c = data;
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
    c->patched_count = 0;
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
    uv_poll_start(&s->poll, events, on_poll);
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
    ares_process_fd(s->chan->ch, rfd, wfd);
}

/* Undoes chan_filter_byte3 on the answer c-ares hands back. */
static void chan_restore_formerr(struct upstream_chan *c, uint8_t *abuf, size_t alen)
{
    if (alen < 4 || c->patched_count == 0) {
        return;
    }
    uint16_t id = (uint16_t)(abuf[0] << 8 | abuf[1]);
    for (uint8_t i = 0; i < c->patched_count; i++) {
        if (c->patched[i] == id && (abuf[3] & 0x0f) == 0) {
            abuf[3] |= DNS_RCODE_FORMERR;
            c->patched[i] = c->patched[--c->patched_count];
            return;
        }
    }
}

static void on_ares_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    (void)timeouts;
    struct upstream_attempt *a = arg;
    struct upstream_chan *c = a->chan;
    c->inflight--;
    size_t len = alen > 0 ? (size_t)alen : 0;
    if (status == ARES_SUCCESS && abuf != NULL) {
        chan_restore_formerr(c, abuf, len);
    } else {
        abuf = NULL;
        len = 0;
    }
    upstream_attempt_done(a, status, abuf, len);
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
    if (ps->pending == 0 && c->reading != ps) {
        psock_close(ps);
        return;
    }
    ps->next_retired = c->retired_socks;
    c->retired_socks = ps;
}

/* An answer (or several) waits on a pool socket: c-ares reads it through on_arecvfrom as if it
 * had arrived on its own socket of this channel. */
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
    ps->read_one = false;
    ares_process_fd(c->ch, c->socks->fd, ARES_SOCKET_BAD);
    c->reading = NULL;
    if (ps->retired && ps->pending == 0) {
        psock_close(ps);
    }
}

/* Opens the socket of a slot: a new kernel-chosen port (or one from --min-port/--max-port and
 * the server's @source/@interface, as on_sock_configure does for c-ares' own sockets). */
static struct upstream_psock *psock_open(struct upstream_chan *c, uint32_t slot)
{
    const struct upstream_server *srv = &c->u->servers[c->server];
    int fd = socket(srv->addr.sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return NULL;
    }
    if (on_sock_configure(fd, SOCK_DGRAM, c) != 0 ||
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
    uv_poll_start(&ps->poll, UV_READABLE, on_psock_readable);
    c->psocks[slot] = ps;
    return ps;
}

static void psock_shuffle(struct upstream_chan *c)
{
    for (uint32_t i = c->nslots - 1; i > 0; i--) {
        uint32_t j = upstream_random(c->u) % (i + 1);
        uint32_t t = c->order[i];
        c->order[i] = c->order[j];
        c->order[j] = t;
    }
    c->next = 0;
}

/* The socket the next query leaves through: the next slot in this pass's random order. */
static struct upstream_psock *psock_next(struct upstream_chan *c)
{
    if (c->next >= c->nslots) {
        psock_shuffle(c);
    }
    uint32_t slot = c->order[c->next++];
    struct upstream_psock *ps = c->psocks[slot];
    return ps != NULL ? ps : psock_open(c, slot);
}

static void psock_sent(struct upstream_psock *ps)
{
    ps->pending++;
    ps->used_ms = upstream_now_ms(ps->chan->u);
    if (++ps->carried >= ps->chan->u->cfg.queries_per_socket) {
        psock_retire(ps);
    }
}

/* Bookkeeping after reading from a pool socket; errors (an ICMP unreachable turned into
 * ECONNREFUSED) retire the socket and read as "nothing more" for c-ares, which then times the
 * query out and lets upstream.c fail over, instead of c-ares closing its own socket. */
static ssize_t psock_received(struct upstream_psock *ps, ssize_t n)
{
    if (n > 0) {
        if (ps->pending > 0) {
            ps->pending--;
        }
        ps->read_one = true;
        return n;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        psock_retire(ps);
        errno = EAGAIN;
    }
    return n < 0 ? -1 : n;
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
        if (ps->pending == 0 || now - ps->used_ms >= UPSTREAM_RETIRED_SOCK_MS) {
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
        c->nslots = u->port_slots;
        c->psocks = mem_calloc(c->nslots, sizeof(*c->psocks));
        c->order = mem_alloc(c->nslots * sizeof(*c->order));
        for (uint32_t i = 0; i < c->nslots; i++) {
            c->order[i] = i;
        }
        psock_shuffle(c);
        pool->current = c;
        c->current = true;
    }
    *out = c;
    return 0;
}

static int chan_set_server(struct upstream_chan *c, const struct upstream_server *srv)
{
    struct ares_addr_port_node node;
    memset(&node, 0, sizeof(node));
    node.family = srv->addr.sa.sa_family;
    if (node.family == AF_INET) {
        node.addr.addr4 = srv->addr.sin.sin_addr;
    } else {
        memcpy(&node.addr.addr6, &srv->addr.sin6.sin6_addr, sizeof(node.addr.addr6));
    }
    node.udp_port = sockaddr_port(&srv->addr);
    node.tcp_port = node.udp_port;
    return ares_set_servers_ports(c->ch, &node) == ARES_SUCCESS ? 0 : ERR_UNSUPPORTED;
}

/* A new channel for (server, tcp), with the safe recipe for c-ares 1.18.1: NOCHECKRESP so
 * SERVFAIL/REFUSED arrive as packets, EDNS with a 4096-byte size so answers over 512 bytes are
 * accepted as they are, IGNTC so a TC answer is passed on (dnsmasq returns it to the client),
 * one try (upstream.c does retries and failover), no resolv.conf servers. */
static int chan_new(struct upstream *u, uint32_t server, bool tcp, bool stayopen,
                    struct upstream_chan **out)
{
    struct upstream_chan *c = mem_calloc(1, sizeof(*c));
    c->u = u;
    c->server = server;
    c->tcp = tcp;
    struct ares_options o;
    memset(&o, 0, sizeof(o));
    o.flags = ARES_FLAG_NOCHECKRESP | ARES_FLAG_EDNS | ARES_FLAG_IGNTC | ARES_FLAG_NOSEARCH |
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
    o.ednspsz = CHAN_EDNS_SIZE;
    o.socket_send_buffer_size = CHAN_SOCK_BUF;
    o.socket_receive_buffer_size = CHAN_SOCK_BUF;
    o.sock_state_cb = on_sock_state;
    o.sock_state_cb_data = c;
    o.resolvconf_path = (char *)"/dev/null";
    int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_EDNSPSZ |
               ARES_OPT_SOCK_SNDBUF | ARES_OPT_SOCK_RCVBUF | ARES_OPT_SOCK_STATE_CB |
               ARES_OPT_NOROTATE | ARES_OPT_RESOLVCONF | ARES_OPT_DOMAINS | ARES_OPT_LOOKUPS;
    int rc = ares_init_options(&c->ch, &o, mask);
    if (rc != ARES_SUCCESS) {
        log_error("upstream: c-ares channel: %s", ares_strerror(rc));
        free(c);
        return rc == ARES_ENOMEM ? -ENOMEM : ERR_UNSUPPORTED;
    }
    rc = chan_set_server(c, &u->servers[server]);
    if (rc != 0) {
        ares_destroy(c->ch);
        free(c);
        return rc;
    }
    ares_set_socket_functions(c->ch, &chan_socket_functions, c);
    ares_set_socket_configure_callback(c->ch, on_sock_configure, c);
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
    struct upstream_chan **pp = &pool->idle;
    while (c == NULL && *pp != NULL) {
        if ((*pp)->retired) {
            pp = &(*pp)->next_idle;
            continue;
        }
        c = *pp;
        *pp = c->next_idle;
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
    ares_send(c->ch, query, (int)len, on_ares_answer, a);
    return 0;
}

/* True when c-ares switched EDNS off on this channel (the FORMERR trap got through anyway). */
bool upstream_chan_lost_edns(struct upstream_chan *c)
{
    struct ares_options o;
    int mask = 0;
    if (ares_save_options(c->ch, &o, &mask) != ARES_SUCCESS) {
        return false;
    }
    bool lost = (o.flags & ARES_FLAG_EDNS) == 0;
    ares_destroy_options(&o);
    return lost;
}

/* Takes c out of the pool for good; it is destroyed by the tick once idle. */
void upstream_chan_retire(struct upstream_chan *c)
{
    struct upstream_pool *pool = &c->u->servers[c->server].pools[c->tcp];
    if (pool->current == c) {
        pool->current = NULL;
        c->current = false;
    }
    c->retired = true;
}

static void chan_destroy(struct upstream *u, struct upstream_chan *c)
{
    if (c->pooled) {
        psock_close_all(c);
    }
    size_t i = c->index;
    u->chans[i] = u->chans[--u->chan_count];
    u->chans[i]->index = i;
    ares_destroy(c->ch);
    DNSROUTE_REQUIRE(c->socks == NULL);
    free(c->psocks);
    free(c->order);
    free(c);
}

/* Unlinks and destroys the idle channels of one pool that were idle too long or retired. */
static void chan_trim_pool(struct upstream *u, struct upstream_pool *pool, uint64_t now)
{
    struct upstream_chan **pp = &pool->idle;
    while (*pp != NULL) {
        struct upstream_chan *c = *pp;
        if (c->retired || now - c->idle_since_ms >= UPSTREAM_IDLE_CHAN_MS) {
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
    /* A pooled channel that lost EDNS was retired: destroy it once its queries are done. */
    for (size_t i = 0; i < u->chan_count;) {
        struct upstream_chan *c = u->chans[i];
        if (c->pooled && c->retired && c->inflight == 0) {
            chan_destroy(u, c); /* moves the last channel into index i */
        } else {
            i++;
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
