/* fake_upstream - a scriptable DNS server that plays the upstream resolvers in dnsroute's
 * end-to-end tests. It listens on UDP and TCP (2-byte framing, pipelined), answers each query
 * from a scenario file (format: tests/e2e/README.md) and writes one line per received query to a
 * log, so tests can check what the forwarder sent (source port, ID, 0x20 case, EDNS).
 * Self-contained on purpose (libc + POSIX only): it must not share bugs with the daemon's own
 * DNS code. It only ever replies to the source of a query; it never originates traffic. */

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fake_upstream.h"

struct fu_listener {
    char tag[32];
    char text[160];
    struct sockaddr_storage addr;
    socklen_t addr_len;
    int udp_fd;
    int tcp_fd;
    int alt_fd; /* unconnected UDP socket on another port, for "fromport" */
};

struct fu_conn {
    int fd; /* -1: free slot */
    int listener;
    uint64_t gen;
    int64_t last_ms;
    struct sockaddr_storage peer;
    socklen_t peer_len;
    size_t in_len;
    uint8_t in[2 + FU_MAX_MSG];
};

struct fu_pending {
    int64_t due_ms;
    int listener;
    bool tcp;
    bool alt;
    bool close_after;
    int conn;
    uint64_t conn_gen;
    struct sockaddr_storage peer;
    socklen_t peer_len;
    size_t len;
    uint8_t *data; /* NULL with close_after: close only */
};

struct fu_state {
    struct fu_listener lis[FU_MAX_LISTENERS];
    size_t lis_count;
    struct fu_conn *conns;
    struct fu_pending pending[FU_MAX_PENDING];
    size_t pending_count;
    uint64_t next_gen;
    struct fu_scenario sc;
    const char *scenario_path;
    FILE *log;
    bool log_hex;
    struct fu_out out;
    uint8_t udp_buf[FU_MAX_MSG + 1];
};

static volatile sig_atomic_t g_stop;
static volatile sig_atomic_t g_reload;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        g_reload = 1;
    else
        g_stop = 1;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void addr_text(const struct sockaddr_storage *ss, char *host, size_t size, int *port)
{
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)ss;
        (void)inet_ntop(AF_INET6, &s6->sin6_addr, host, (socklen_t)size);
        *port = ntohs(s6->sin6_port);
    } else {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)ss;
        (void)inet_ntop(AF_INET, &s4->sin_addr, host, (socklen_t)size);
        *port = ntohs(s4->sin_port);
    }
}

/* ---- logging ---- */

static void log_query(struct fu_state *st, const struct fu_listener *l, bool tcp,
                      const struct sockaddr_storage *peer, const struct fu_query *q,
                      const char *status, const struct fu_rule *r)
{
    if (!st->log)
        return;
    char host[INET6_ADDRSTRLEN], qt[16];
    int port;
    struct timespec ts;
    (void)clock_gettime(CLOCK_REALTIME, &ts);
    addr_text(peer, host, sizeof(host), &port);
    (void)fprintf(st->log, "ts=%lld.%03ld lis=%s proto=%s src=%s sport=%d len=%zu",
                  (long long)ts.tv_sec, ts.tv_nsec / 1000000, l->tag[0] ? l->tag : l->text,
                  tcp ? "tcp" : "udp", host, port, q->len);
    if (q->len >= 12)
        (void)fprintf(st->log, " id=%u", (unsigned)q->id);
    if (status == NULL) {
        fu_type_format(q->qtype, qt, sizeof(qt));
        (void)fprintf(st->log, " qname=%s qtype=%s qclass=%u rd=%d cd=%d", q->qname, qt,
                      (unsigned)q->qclass, q->flags_hi & 1, (q->flags_lo >> 4) & 1);
        if (q->has_edns)
            (void)fprintf(st->log, " edns=%u do=%d ver=%u", q->edns_size, q->do_bit,
                          (unsigned)q->edns_version);
        else
            (void)fprintf(st->log, " edns=none do=0");
        (void)fprintf(st->log, " act=%s line=%d", r->act_name, r->line);
    } else {
        (void)fprintf(st->log, " bad=%s", status);
    }
    if (st->log_hex) {
        (void)fprintf(st->log, " hex=");
        for (size_t i = 0; i < q->len; i++)
            (void)fprintf(st->log, "%02x", q->msg[i]);
    }
    (void)fputc('\n', st->log);
    (void)fflush(st->log);
}

/* ---- sending ---- */

/* Writes one length-prefixed message; gives up after 2 s of a full socket buffer. */
static void tcp_write_frame(int fd, const uint8_t *data, size_t len)
{
    uint8_t frame[2 + FU_MAX_MSG];
    frame[0] = (uint8_t)(len >> 8);
    frame[1] = (uint8_t)len;
    memcpy(frame + 2, data, len);
    size_t sent = 0;
    int64_t deadline = now_ms() + 2000;
    while (sent < 2 + len && now_ms() < deadline) {
        ssize_t n = send(fd, frame + sent, 2 + len - sent, MSG_NOSIGNAL);
        if (n >= 0) {
            sent += (size_t)n;
        } else if (errno == EAGAIN || errno == EINTR) {
            struct pollfd pf = {.fd = fd, .events = POLLOUT};
            (void)poll(&pf, 1, 100);
        } else {
            return;
        }
    }
}

static void send_now(struct fu_state *st, const struct fu_pending *p)
{
    if (p->tcp) {
        struct fu_conn *c = &st->conns[p->conn];
        if (c->fd < 0 || c->gen != p->conn_gen)
            return; /* the client went away meanwhile */
        if (p->data)
            tcp_write_frame(c->fd, p->data, p->len);
        if (p->close_after) {
            (void)close(c->fd);
            c->fd = -1;
        }
        return;
    }
    const struct fu_listener *l = &st->lis[p->listener];
    int fd = p->alt && l->alt_fd >= 0 ? l->alt_fd : l->udp_fd;
    if (sendto(fd, p->data, p->len, 0, (const struct sockaddr *)&p->peer, p->peer_len) < 0)
        (void)fprintf(stderr, "fake_upstream: sendto: %s\n", strerror(errno));
}

static void schedule(struct fu_state *st, struct fu_pending *p, int delay_ms)
{
    if (delay_ms <= 0) {
        send_now(st, p);
        free(p->data);
        return;
    }
    if (st->pending_count >= FU_MAX_PENDING) {
        (void)fprintf(stderr, "fake_upstream: too many delayed replies, dropping one\n");
        free(p->data);
        return;
    }
    p->due_ms = now_ms() + delay_ms;
    st->pending[st->pending_count++] = *p;
}

static void flush_due(struct fu_state *st)
{
    int64_t now = now_ms();
    for (size_t i = 0; i < st->pending_count;) {
        if (st->pending[i].due_ms > now) {
            i++;
            continue;
        }
        struct fu_pending p = st->pending[i];
        st->pending[i] = st->pending[--st->pending_count];
        send_now(st, &p);
        free(p.data);
    }
}

/* ---- query handling ---- */

static void handle_query(struct fu_state *st, int li, const uint8_t *msg, size_t len, bool tcp,
                         int conn, const struct sockaddr_storage *peer, socklen_t peer_len)
{
    struct fu_listener *l = &st->lis[li];
    struct fu_query q = {.msg = msg, .len = len, .tcp = tcp};
    if (len < 12) {
        log_query(st, l, tcp, peer, &q, "short", NULL);
        return;
    }
    q.id = fu_get16(msg);
    if (msg[2] & 0x80) {
        log_query(st, l, tcp, peer, &q, "qr-set", NULL);
        return; /* never answer a response: no loops */
    }
    struct fu_rule formerr = fu_fallback_rule;
    const struct fu_rule *r;
    struct fu_rule *found = NULL;
    if (fu_query_parse(&q, msg, len) != 0) {
        log_query(st, l, tcp, peer, &q, "formerr", NULL);
        /* Header-only FORMERR: no question to copy. */
        uint8_t rep[12] = {msg[0], msg[1], (uint8_t)(0x80 | (msg[2] & 0x79)), 0x81};
        struct fu_pending p = {.listener = li,
                               .tcp = tcp,
                               .conn = conn,
                               .conn_gen = tcp ? st->conns[conn].gen : 0,
                               .peer = *peer,
                               .peer_len = peer_len,
                               .len = sizeof(rep)};
        p.data = malloc(sizeof(rep));
        if (!p.data)
            return;
        memcpy(p.data, rep, sizeof(rep));
        schedule(st, &p, 0);
        return;
    }
    if (((msg[2] >> 3) & 0xF) != 0) {
        formerr.act = ACT_RCODE;
        formerr.rcode = 4;
        formerr.act_name = "notimp(opcode)";
        r = &formerr;
    } else {
        found = fu_scenario_find(&st->sc, q.key, q.qtype, &q, l->tag);
        r = found ? found : &fu_fallback_rule;
    }
    if (found)
        found->used++;
    log_query(st, l, tcp, peer, &q, NULL, r);
    bool reply = fu_reply_build(&st->sc, r, &q, l->tag, &st->out);
    if (!reply && !(r->act == ACT_CLOSE && tcp))
        return;
    struct fu_pending p = {.listener = li,
                           .tcp = tcp,
                           .alt = r->fromport,
                           .conn = conn,
                           .conn_gen = tcp ? st->conns[conn].gen : 0,
                           .peer = *peer,
                           .peer_len = peer_len,
                           .close_after = r->act == ACT_CLOSE};
    if (reply) {
        p.len = st->out.len;
        p.data = malloc(p.len);
        if (!p.data)
            return;
        memcpy(p.data, st->out.buf, p.len);
    }
    schedule(st, &p, r->delay_ms);
}

static void on_udp_readable(struct fu_state *st, int li)
{
    uint8_t *buf = st->udp_buf;
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage peer;
        socklen_t plen = sizeof(peer);
        ssize_t n = recvfrom(st->lis[li].udp_fd, buf, sizeof(st->udp_buf), MSG_DONTWAIT,
                             (struct sockaddr *)&peer, &plen);
        if (n < 0)
            return;
        handle_query(st, li, buf, (size_t)n, false, -1, &peer, plen);
    }
}

static void on_tcp_accept(struct fu_state *st, int li)
{
    struct sockaddr_storage peer;
    socklen_t plen = sizeof(peer);
    int fd = accept(st->lis[li].tcp_fd, (struct sockaddr *)&peer, &plen);
    if (fd < 0)
        return;
    for (int i = 0; i < FU_MAX_CONNS; i++) {
        struct fu_conn *c = &st->conns[i];
        if (c->fd >= 0)
            continue;
        (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        c->fd = fd;
        c->listener = li;
        c->gen = ++st->next_gen;
        c->last_ms = now_ms();
        c->peer = peer;
        c->peer_len = plen;
        c->in_len = 0;
        return;
    }
    (void)fprintf(stderr, "fake_upstream: too many TCP connections, closing one\n");
    (void)close(fd);
}

static void on_tcp_readable(struct fu_state *st, int ci)
{
    struct fu_conn *c = &st->conns[ci];
    ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        (void)close(c->fd);
        c->fd = -1;
        return;
    }
    if (n < 0)
        return;
    c->in_len += (size_t)n;
    c->last_ms = now_ms();
    uint64_t gen = c->gen;
    size_t off = 0;
    while (c->in_len - off >= 2) {
        size_t mlen = fu_get16(c->in + off);
        if (c->in_len - off < 2 + mlen)
            break;
        handle_query(st, c->listener, c->in + off + 2, mlen, true, ci, &c->peer, c->peer_len);
        if (c->fd < 0 || c->gen != gen)
            return; /* "close" ended the connection */
        off += 2 + mlen;
    }
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
}

/* ---- setup ---- */

static int listener_parse(struct fu_listener *l, const char *spec)
{
    char buf[128];
    (void)snprintf(buf, sizeof(buf), "%s", spec);
    char *at = strchr(buf, '@');
    if (at) {
        *at = '\0';
        (void)snprintf(l->tag, sizeof(l->tag), "%s", at + 1);
    }
    long port = 53;
    char *hash = strchr(buf, '#');
    if (hash) {
        *hash = '\0';
        if (!fu_parse_uint(hash + 1, 65535, &port))
            return -1;
    }
    memset(&l->addr, 0, sizeof(l->addr));
    struct sockaddr_in *s4 = (struct sockaddr_in *)(void *)&l->addr;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)(void *)&l->addr;
    if (inet_pton(AF_INET, buf, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        l->addr_len = sizeof(*s4);
    } else if (inet_pton(AF_INET6, buf, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        l->addr_len = sizeof(*s6);
    } else {
        return -1;
    }
    (void)snprintf(l->text, sizeof(l->text), "%s#%ld", buf, port);
    return 0;
}

static int open_socket(const struct fu_listener *l, int type, bool any_port)
{
    int fd = socket(l->addr.ss_family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (l->addr.ss_family == AF_INET6)
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    struct sockaddr_storage a = l->addr;
    if (any_port) {
        if (a.ss_family == AF_INET6)
            ((struct sockaddr_in6 *)(void *)&a)->sin6_port = 0;
        else
            ((struct sockaddr_in *)(void *)&a)->sin_port = 0;
    }
    if (bind(fd, (struct sockaddr *)&a, l->addr_len) < 0 ||
        (type == SOCK_STREAM && listen(fd, 64) < 0)) {
        int e = errno;
        (void)close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static int listener_open(struct fu_listener *l)
{
    l->udp_fd = open_socket(l, SOCK_DGRAM, false);
    l->tcp_fd = l->udp_fd < 0 ? -1 : open_socket(l, SOCK_STREAM, false);
    l->alt_fd = l->tcp_fd < 0 ? -1 : open_socket(l, SOCK_DGRAM, true);
    if (l->alt_fd < 0) {
        (void)fprintf(stderr, "fake_upstream: cannot listen on %s: %s\n", l->text, strerror(errno));
        return -1;
    }
    return 0;
}

static void usage(void)
{
    (void)fprintf(
        stderr,
        "usage: fake_upstream -l ADDR[#PORT][@TAG] [-l ...] [-s SCENARIO] [-q QUERYLOG]\n"
        "                     [-p PIDFILE] [-x]\n"
        "  -l  listen on UDP and TCP (port 53 by default); TAG selects '@TAG' scenario lines\n"
        "  -s  scenario file (re-read on SIGHUP); without one every name is NXDOMAIN\n"
        "  -q  append one line per received query ('-' for stdout)\n"
        "  -p  write the pid once every socket is bound (readiness signal)\n"
        "  -x  add the query's hex dump to each log line\n");
}

static void main_loop(struct fu_state *st)
{
    struct pollfd pfd[2 * FU_MAX_LISTENERS + FU_MAX_CONNS];
    int who[2 * FU_MAX_LISTENERS + FU_MAX_CONNS];
    while (!g_stop) {
        if (g_reload) {
            g_reload = 0;
            if (st->scenario_path && fu_scenario_load(&st->sc, st->scenario_path) == 0)
                (void)fprintf(stderr, "fake_upstream: scenario reloaded (%zu rules)\n",
                              st->sc.count);
        }
        nfds_t n = 0;
        for (size_t i = 0; i < st->lis_count; i++) {
            pfd[n] = (struct pollfd){.fd = st->lis[i].udp_fd, .events = POLLIN};
            who[n++] = (int)i;
            pfd[n] = (struct pollfd){.fd = st->lis[i].tcp_fd, .events = POLLIN};
            who[n++] = 1000 + (int)i;
        }
        int64_t now = now_ms();
        for (int i = 0; i < FU_MAX_CONNS; i++) {
            struct fu_conn *c = &st->conns[i];
            if (c->fd >= 0 && now - c->last_ms > FU_TCP_IDLE_MS) {
                (void)close(c->fd);
                c->fd = -1;
            }
            if (c->fd >= 0) {
                pfd[n] = (struct pollfd){.fd = c->fd, .events = POLLIN};
                who[n++] = 2000 + i;
            }
        }
        int timeout = 1000;
        for (size_t i = 0; i < st->pending_count; i++) {
            int64_t d = st->pending[i].due_ms - now;
            if (d < timeout)
                timeout = d < 0 ? 0 : (int)d;
        }
        int rc = poll(pfd, n, timeout);
        if (rc < 0 && errno != EINTR) {
            (void)fprintf(stderr, "fake_upstream: poll: %s\n", strerror(errno));
            return;
        }
        for (nfds_t i = 0; rc > 0 && i < n; i++) {
            if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (who[i] < 1000)
                on_udp_readable(st, who[i]);
            else if (who[i] < 2000)
                on_tcp_accept(st, who[i] - 1000);
            else if (st->conns[who[i] - 2000].fd == pfd[i].fd)
                on_tcp_readable(st, who[i] - 2000);
        }
        flush_due(st);
    }
}

int main(int argc, char **argv)
{
    static struct fu_state st;
    const char *log_path = NULL, *pid_path = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "l:s:q:p:xh")) != -1) {
        switch (opt) {
        case 'l':
            if (st.lis_count >= FU_MAX_LISTENERS ||
                listener_parse(&st.lis[st.lis_count++], optarg) < 0) {
                (void)fprintf(stderr, "fake_upstream: bad listen address '%s'\n", optarg);
                return 2;
            }
            break;
        case 's':
            st.scenario_path = optarg;
            break;
        case 'q':
            log_path = optarg;
            break;
        case 'p':
            pid_path = optarg;
            break;
        case 'x':
            st.log_hex = true;
            break;
        default:
            usage();
            return opt == 'h' ? 0 : 2;
        }
    }
    if (st.lis_count == 0 || optind != argc) {
        usage();
        return 2;
    }
    if (st.scenario_path && fu_scenario_load(&st.sc, st.scenario_path) < 0)
        return 2;
    if (log_path) {
        st.log = strcmp(log_path, "-") == 0 ? stdout : fopen(log_path, "a");
        if (!st.log) {
            (void)fprintf(stderr, "fake_upstream: %s: %s\n", log_path, strerror(errno));
            return 2;
        }
    }
    st.conns = calloc(FU_MAX_CONNS, sizeof(*st.conns));
    if (!st.conns)
        return 1;
    for (int i = 0; i < FU_MAX_CONNS; i++)
        st.conns[i].fd = -1;
    for (size_t i = 0; i < st.lis_count; i++)
        if (listener_open(&st.lis[i]) < 0)
            return 1;
    struct sigaction sa = {.sa_handler = on_signal};
    (void)sigemptyset(&sa.sa_mask);
    (void)sigaction(SIGTERM, &sa, NULL);
    (void)sigaction(SIGINT, &sa, NULL);
    (void)sigaction(SIGHUP, &sa, NULL);
    (void)signal(SIGPIPE, SIG_IGN);
    if (pid_path) {
        FILE *pf = fopen(pid_path, "w");
        if (!pf || fprintf(pf, "%ld\n", (long)getpid()) < 0 || fclose(pf) != 0) {
            (void)fprintf(stderr, "fake_upstream: %s: %s\n", pid_path, strerror(errno));
            return 1;
        }
    }
    main_loop(&st);
    for (size_t i = 0; i < st.pending_count; i++)
        free(st.pending[i].data);
    for (int i = 0; i < FU_MAX_CONNS; i++)
        if (st.conns[i].fd >= 0)
            (void)close(st.conns[i].fd);
    for (size_t i = 0; i < st.lis_count; i++) {
        (void)close(st.lis[i].udp_fd);
        (void)close(st.lis[i].tcp_fd);
        (void)close(st.lis[i].alt_fd);
    }
    if (pid_path)
        (void)unlink(pid_path);
    if (st.log && st.log != stdout)
        (void)fclose(st.log);
    free(st.sc.rules);
    free(st.conns);
    return 0;
}
