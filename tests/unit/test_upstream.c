/* test_upstream.c - upstream against real responders: threads in this process serving UDP and TCP
 * on 127.0.0.1 ephemeral ports, driven by a real libuv loop. The first label of the query name
 * picks the answer ("big": ~1000 bytes, "huge": ~4000 bytes, "tc": TC set, "fe": FORMERR without
 * OPT); a responder-wide mode adds SERVFAIL, REFUSED, silence and forged answers. */
#include "dnsroute/upstream.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "dnsroute/compat.h"
#include "dnsroute/err.h"
#include "dnsroute/sockaddr.h"
#include "upstream_impl.h"

enum resp_mode { RESP_NORMAL, RESP_SERVFAIL, RESP_REFUSED, RESP_DROP, RESP_FORGE, RESP_FORGE_ONLY };
enum { REC_MAX = 4096, TCP_CLIENTS_MAX = 32 };

struct resp {
    bool v6; /* on ::1 instead of 127.0.0.1 */
    int udp, tcp, forger;
    uint16_t port;
    int stop[2];
    pthread_t thread;
    atomic_int mode;
    atomic_int udp_count, tcp_count;
    atomic_int last_len;  /* length of the last answer sent */
    atomic_int last_qlen; /* length of the last query received */
    uint8_t ip[4];
    pthread_mutex_t mu;
    uint16_t ports[REC_MAX];
    uint16_t ids[REC_MAX];
    int nrec;
};

/* --- DNS messages --------------------------------------------------------------------------- */

static size_t put16(uint8_t *p, size_t off, uint16_t v)
{
    p[off] = (uint8_t)(v >> 8);
    p[off + 1] = (uint8_t)v;
    return off + 2;
}

static size_t make_query(const char *name, bool opt, uint8_t *q)
{
    memset(q, 0, 12);
    put16(q, 0, 0x1234);
    q[2] = 0x01; /* RD */
    put16(q, 4, 1);
    size_t off = 12;
    const char *p = name;
    while (*p != '\0') {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        q[off++] = (uint8_t)l;
        memcpy(q + off, p, l);
        off += l;
        p += l + (dot ? 1 : 0);
    }
    q[off++] = 0;
    off = put16(q, off, 1); /* A */
    off = put16(q, off, 1); /* IN */
    if (opt) {
        put16(q, 10, 1);
        q[off++] = 0;
        off = put16(q, off, 41);
        off = put16(q, off, 1232);
        memset(q + off, 0, 6);
        off += 6;
    }
    return off;
}

/* End of the question of a message built by make_query (or received). */
static size_t question_end(const uint8_t *q, size_t len)
{
    size_t off = 12;
    while (off < len && q[off] != 0) {
        off += 1u + q[off];
    }
    return off + 5;
}

static size_t add_a(uint8_t *a, size_t off, const uint8_t ip[4])
{
    off = put16(a, off, 0xc00c);
    off = put16(a, off, 1);
    off = put16(a, off, 1);
    off = put16(a, off, 0);
    off = put16(a, off, 60);
    off = put16(a, off, 4);
    memcpy(a + off, ip, 4);
    return off + 4;
}

/* Builds the answer to q into a (cap 65535); returns its length. */
static size_t make_answer(const uint8_t *q, size_t qlen, const uint8_t ip[4], int rcode, uint8_t *a)
{
    size_t qend = question_end(q, qlen);
    bool opt = q[11] != 0;
    memcpy(a, q, qend);
    a[2] = (uint8_t)(0x80 | (q[2] & 0x01));
    a[3] = (uint8_t)(0x80 | rcode);
    memset(a + 6, 0, 6);
    size_t off = qend;
    uint8_t l = q[12];
    unsigned n = 0;
    if (rcode == 0) {
        n = 1;
        if (l == 3 && memcmp(q + 13, "big", 3) == 0) {
            n = 61;
        } else if (l == 4 && memcmp(q + 13, "huge", 4) == 0) {
            n = 250;
        } else if (l == 5 && memcmp(q + 13, "giant", 5) == 0) {
            n = 300;
        } else if (l == 2 && memcmp(q + 13, "tc", 2) == 0) {
            n = 40;
            a[2] |= 0x02;
        }
    }
    for (unsigned i = 0; i < n; i++) {
        uint8_t v[4] = {ip[0], ip[1], (uint8_t)(i >> 8), (uint8_t)i};
        off = add_a(a, off, i == 0 ? ip : v);
    }
    /* "bad": one more answer RR claimed than present; "mc": question echoed in upper case. */
    put16(a, 6, (uint16_t)(n + (l == 3 && memcmp(q + 13, "bad", 3) == 0)));
    if (l == 2 && memcmp(q + 13, "mc", 2) == 0) {
        for (size_t i = 13; i + 4 < qend; i++) {
            a[i] = (uint8_t)((a[i] >= 'a' && a[i] <= 'z') ? a[i] - 32 : a[i]);
        }
    }
    if (opt && rcode != 1) {
        put16(a, 10, 1);
        a[off++] = 0;
        off = put16(a, off, 41);
        off = put16(a, off, 4096);
        memset(a + off, 0, 6);
        off += 6;
    }
    return off;
}

static int resp_rcode(struct resp *r, const uint8_t *q)
{
    int mode = atomic_load(&r->mode);
    if (q[12] == 2 && memcmp(q + 13, "fe", 2) == 0) {
        return 1;
    }
    if (q[12] == 2 && memcmp(q + 13, "nx", 2) == 0) {
        return 3;
    }
    return mode == RESP_SERVFAIL ? 2 : mode == RESP_REFUSED ? 5 : 0;
}

static void resp_record(struct resp *r, uint16_t port, uint16_t id)
{
    pthread_mutex_lock(&r->mu);
    if (r->nrec < REC_MAX) {
        r->ports[r->nrec] = port;
        r->ids[r->nrec] = id;
        r->nrec++;
    }
    pthread_mutex_unlock(&r->mu);
}

/* Sends forged answers before (FORGE) or instead of (FORGE_ONLY) the genuine one: from another
 * port, with a wrong ID, and with a wrong question. They all carry 6.6.6.6. */
static void resp_forge(struct resp *r, const uint8_t *q, size_t qlen, union sockaddr_any *to)
{
    socklen_t tl = sockaddr_len(to);
    static const uint8_t evil[4] = {6, 6, 6, 6};
    uint8_t a[4096];
    size_t n = make_answer(q, qlen, evil, 0, a);
    (void)sendto(r->forger, a, n, 0, &to->sa, tl);
    a[1] ^= 1;
    (void)sendto(r->udp, a, n, 0, &to->sa, tl);
    a[1] ^= 1;
    a[13] ^= 0x01; /* first letter of the name changes */
    (void)sendto(r->udp, a, n, 0, &to->sa, tl);
}

static void resp_udp(struct resp *r)
{
    uint8_t q[4096], a[65535];
    union sockaddr_any from;
    socklen_t fl = sizeof(from);
    ssize_t n = recvfrom(r->udp, q, sizeof(q), MSG_DONTWAIT, &from.sa, &fl);
    if (n < 17) {
        return;
    }
    atomic_fetch_add(&r->udp_count, 1);
    atomic_store(&r->last_qlen, (int)n);
    resp_record(r, sockaddr_port(&from), (uint16_t)(q[0] << 8 | q[1]));
    int mode = atomic_load(&r->mode);
    if (mode == RESP_DROP) {
        return;
    }
    if (mode == RESP_FORGE || mode == RESP_FORGE_ONLY) {
        resp_forge(r, q, (size_t)n, &from);
        if (mode == RESP_FORGE_ONLY) {
            return;
        }
    }
    size_t len = make_answer(q, (size_t)n, r->ip, resp_rcode(r, q), a);
    atomic_store(&r->last_len, (int)len);
    (void)sendto(r->udp, a, len, 0, &from.sa, fl);
}

static bool read_full(int fd, uint8_t *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n <= 0) {
            return false;
        }
        got += (size_t)n;
    }
    return true;
}

/* One query on a TCP connection; false when the connection is done. */
static bool resp_tcp_one(struct resp *r, int fd)
{
    uint8_t lb[2], q[4096], a[65537];
    if (!read_full(fd, lb, 2)) {
        return false;
    }
    size_t qlen = (size_t)(lb[0] << 8 | lb[1]);
    if (qlen < 17 || qlen > sizeof(q) || !read_full(fd, q, qlen)) {
        return false;
    }
    atomic_fetch_add(&r->tcp_count, 1);
    atomic_store(&r->last_qlen, (int)qlen);
    union sockaddr_any peer;
    socklen_t pl = sizeof(peer);
    getpeername(fd, &peer.sa, &pl);
    resp_record(r, sockaddr_port(&peer), (uint16_t)(q[0] << 8 | q[1]));
    if (atomic_load(&r->mode) == RESP_DROP) {
        return true;
    }
    size_t len = make_answer(q, qlen, r->ip, resp_rcode(r, q), a + 2);
    a[2 + 2] &= (uint8_t)~0x02; /* no TC over TCP */
    put16(a, 0, (uint16_t)len);
    atomic_store(&r->last_len, (int)len);
    return write(fd, a, len + 2) == (ssize_t)(len + 2);
}

static void *resp_main(void *arg)
{
    struct resp *r = arg;
    struct pollfd p[3 + TCP_CLIENTS_MAX];
    int clients[TCP_CLIENTS_MAX];
    int nclients = 0;
    for (;;) {
        p[0] = (struct pollfd){.fd = r->stop[0], .events = POLLIN};
        p[1] = (struct pollfd){.fd = r->udp, .events = POLLIN};
        p[2] = (struct pollfd){.fd = r->tcp, .events = POLLIN};
        for (int i = 0; i < nclients; i++) {
            p[3 + i] = (struct pollfd){.fd = clients[i], .events = POLLIN};
        }
        if (poll(p, (nfds_t)3 + (nfds_t)nclients, -1) < 0 || (p[0].revents & POLLIN)) {
            break;
        }
        if (p[1].revents & POLLIN) {
            resp_udp(r);
        }
        if ((p[2].revents & POLLIN) && nclients < TCP_CLIENTS_MAX) {
            int fd = accept(r->tcp, NULL, NULL);
            if (fd >= 0) {
                clients[nclients++] = fd;
            }
        }
        for (int i = nclients - 1; i >= 0; i--) {
            if (p[3 + i].revents != 0 && !resp_tcp_one(r, clients[i])) {
                close(clients[i]);
                clients[i] = clients[--nclients];
            }
        }
    }
    for (int i = 0; i < nclients; i++) {
        close(clients[i]);
    }
    return NULL;
}

/* 127.0.0.1 or ::1 with port. */
static void lo_addr(bool v6, uint16_t port, union sockaddr_any *a)
{
    memset(a, 0, sizeof(*a));
    if (v6) {
        a->sin6.sin6_family = AF_INET6;
        a->sin6.sin6_addr = in6addr_loopback;
    } else {
        a->sin.sin_family = AF_INET;
        a->sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    }
    sockaddr_set_port(a, port);
}

static int bind_lo_family(bool v6, int type, uint16_t port, uint16_t *out)
{
    union sockaddr_any sa;
    lo_addr(v6, port, &sa);
    int fd = socket(sa.sa.sa_family, type, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, &sa.sa, sockaddr_len(&sa)) != 0) {
        close(fd);
        return -1;
    }
    socklen_t l = sizeof(sa);
    getsockname(fd, &sa.sa, &l);
    *out = sockaddr_port(&sa);
    if (type == SOCK_STREAM) {
        listen(fd, 64);
    }
    int big = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    return fd;
}

static int bind_lo(int type, uint16_t port, uint16_t *out)
{
    return bind_lo_family(false, type, port, out);
}

/* Starts a responder answering with address 10.0.0.<last>. */
static void resp_start(struct resp *r, uint8_t last, bool v6)
{
    memset(r, 0, sizeof(*r));
    r->v6 = v6;
    pthread_mutex_init(&r->mu, NULL);
    r->ip[0] = 10;
    r->ip[3] = last;
    for (int i = 0; i < 50; i++) {
        r->udp = bind_lo_family(v6, SOCK_DGRAM, 0, &r->port);
        uint16_t p2 = 0;
        r->tcp = bind_lo_family(v6, SOCK_STREAM, r->port, &p2);
        if (r->tcp >= 0) {
            break;
        }
        close(r->udp);
    }
    CHECK(r->tcp >= 0);
    uint16_t fp = 0;
    r->forger = bind_lo_family(v6, SOCK_DGRAM, 0, &fp);
    CHECK(pipe(r->stop) == 0);
    CHECK(pthread_create(&r->thread, NULL, resp_main, r) == 0);
}

static void resp_stop(struct resp *r)
{
    CHECK(write(r->stop[1], "x", 1) == 1);
    pthread_join(r->thread, NULL);
    close(r->udp);
    close(r->tcp);
    close(r->forger);
    close(r->stop[0]);
    close(r->stop[1]);
    pthread_mutex_destroy(&r->mu);
}

/* --- upstream fixture --------------------------------------------------------------------- */

struct groups {
    uint32_t ids[4][4];
    uint32_t counts[4];
};

static const uint32_t *groups_get(void *ctx, uint32_t group, uint32_t *count)
{
    struct groups *g = ctx;
    *count = g->counts[group];
    return g->ids[group];
}

struct fixture {
    uv_loop_t loop;
    struct resp resp[3];
    int nresp;
    struct conf_server servers[3];
    struct groups groups;
    struct upstream_config cfg;
    struct upstream *u;
};

struct tq {
    struct upstream_req req;
    int done;
    int status;
    uint8_t reply[8192];
    size_t len;
    uint32_t server;
    struct dnsmsg_reply parsed; /* the parse upstream handed over with the reply */
};

static void on_done(struct upstream_req *req, int status, const struct dnsmsg_view *reply,
                    uint32_t server)
{
    struct tq *t = DNSROUTE_CONTAINER_OF(req, struct tq, req);
    t->done++;
    t->status = status;
    t->len = 0;
    memset(&t->parsed, 0, sizeof(t->parsed));
    if (reply != NULL) {
        t->len = reply->len < sizeof(t->reply) ? reply->len : sizeof(t->reply);
        memcpy(t->reply, reply->pkt, t->len);
        t->parsed = reply->reply;
    }
    t->server = server;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Starts n responders (the first `v6` of them on ::1) and one group 0 = {0 .. n-1}; cfg tweaks
 * go in before fx_up(). */
static void fx_init_v6(struct fixture *fx, int n, int v6)
{
    memset(fx, 0, sizeof(*fx));
    CHECK_INT_EQ(uv_loop_init(&fx->loop), 0);
    fx->nresp = n;
    for (int i = 0; i < n; i++) {
        resp_start(&fx->resp[i], (uint8_t)(i + 1), i < v6);
        lo_addr(i < v6, fx->resp[i].port, &fx->servers[i].addr);
        fx->groups.ids[0][i] = (uint32_t)i;
    }
    fx->groups.counts[0] = (uint32_t)n;
    fx->cfg.servers = fx->servers;
    fx->cfg.server_count = (size_t)n;
    fx->cfg.group_count = 1;
    fx->cfg.group_servers = groups_get;
    fx->cfg.group_ctx = &fx->groups;
}

static void fx_init(struct fixture *fx, int n)
{
    fx_init_v6(fx, n, 0);
}

static void fx_up(struct fixture *fx)
{
    CHECK_INT_EQ(upstream_new(&fx->loop, &fx->cfg, &fx->u), 0);
}

static void fx_down(struct fixture *fx)
{
    upstream_free(fx->u);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    CHECK_INT_EQ(uv_loop_close(&fx->loop), 0);
    for (int i = 0; i < fx->nresp; i++) {
        resp_stop(&fx->resp[i]);
    }
}

/* Runs the loop until *done reaches want or timeout_ms pass. */
static void fx_run(struct fixture *fx, const int *done, int want, uint64_t timeout_ms)
{
    uint64_t end = now_ms() + timeout_ms;
    while (*done < want && now_ms() < end) {
        uv_run(&fx->loop, UV_RUN_ONCE);
    }
}

/* Lets the responder threads catch up with datagrams the loop sent (counts are read after). */
static void fx_settle(struct fixture *fx)
{
    int none = 0;
    fx_run(fx, &none, 1, 150);
}

static int fx_send(struct fixture *fx, const char *name, bool opt, bool tcp, struct tq *t)
{
    uint8_t q[512];
    size_t len = make_query(name, opt, q);
    memset(t, 0, sizeof(*t));
    return upstream_send(fx->u, 0, q, len, tcp, &t->req, on_done);
}

/* Sends one query and waits for its answer. */
static void fx_ask(struct fixture *fx, const char *name, bool opt, bool tcp, struct tq *t)
{
    CHECK_INT_EQ(fx_send(fx, name, opt, tcp, t), 0);
    CHECK_INT_EQ(t->done, 0); /* never inside upstream_send */
    fx_run(fx, &t->done, 1, 10000);
    CHECK_INT_EQ(t->done, 1);
}

static int rcode(const struct tq *t)
{
    return t->reply[3] & 0x0f;
}

static uint16_t ancount(const struct tq *t)
{
    return (uint16_t)(t->reply[6] << 8 | t->reply[7]);
}

/* The first A record's last byte: which responder answered (0 when none). */
static uint8_t answer_from(const struct tq *t)
{
    size_t off = question_end(t->reply, t->len);
    if (ancount(t) == 0 || off + 16 > t->len) {
        return 0;
    }
    return t->reply[off + 15];
}

/* --- cases ------------------------------------------------------------------------------- */

static void test_udp_basic(void)
{
    struct fixture fx;
    struct tq t;
    fx_init(&fx, 1);
    fx_up(&fx);
    fx_ask(&fx, "a.Example.COM", true, false, &t);
    CHECK_INT_EQ(t.status, 0);
    CHECK_INT_EQ(rcode(&t), 0);
    CHECK_INT_EQ(answer_from(&t), 1);
    CHECK_INT_EQ(t.server, 0);
    CHECK_INT_EQ((t.reply[0] << 8 | t.reply[1]), t.req.id);
    CHECK_INT_EQ(atomic_load(&fx.resp[0].udp_count), 1);
    CHECK_INT_EQ(atomic_load(&fx.resp[0].tcp_count), 0);
    struct upstream_server_stats st;
    upstream_get_stats(fx.u, 0, &st);
    CHECK_INT_EQ(st.sent, 1);
    CHECK_INT_EQ(st.answered, 1);
    CHECK_INT_EQ(upstream_inflight(fx.u), 0);
    fx_down(&fx);
}

/* Every query reaches the server, also a repeated one: c-ares 1.23+ would answer it from its own
 * cache, from inside ares_send (which once ended the request under upstream's send loop). */
static void test_no_ares_cache(void)
{
    struct fixture fx;
    struct tq t;
    fx_init(&fx, 1);
    fx_up(&fx);
    for (int i = 1; i <= 3; i++) {
        fx_ask(&fx, "a.example.com", true, false, &t);
        CHECK_INT_EQ(t.status, 0);
        CHECK_INT_EQ(answer_from(&t), 1);
        fx_ask(&fx, "nx.example.com", false, false, &t);
        CHECK_INT_EQ(t.status, 0);
        CHECK_INT_EQ(rcode(&t), 3);
        CHECK_INT_EQ(atomic_load(&fx.resp[0].udp_count), 2 * i);
    }
    fx_down(&fx);
}

/* A valid name of 127 one-byte labels (255 bytes on the wire) is answered: compression
 * pointers are counted, not labels. The reply comes with its parse, which the caller uses. */
static void test_long_name(void)
{
    char name[2 * 127];
    for (int i = 0; i < 127; i++) {
        name[2 * i] = 'a';
        name[2 * i + 1] = '.';
    }
    name[2 * 127 - 1] = '\0';
    struct fixture fx;
    struct tq t;
    fx_init(&fx, 1);
    fx_up(&fx);
    for (int tcp = 0; tcp < 2; tcp++) {
        fx_ask(&fx, name, true, tcp, &t);
        CHECK_INT_EQ(t.status, 0);
        CHECK_INT_EQ(answer_from(&t), 1);
        CHECK_INT_EQ(t.parsed.ancount, 1);
        CHECK_INT_EQ(t.parsed.question_end, 12 + 255 + 4);
        CHECK_INT_EQ(t.parsed.len, (int)t.len);
    }
    fx_down(&fx);
}

static void test_tcp_basic(void)
{
    struct fixture fx;
    struct tq t;
    fx_init(&fx, 1);
    fx_up(&fx);
    fx_ask(&fx, "big.example.com", false, true, &t);
    CHECK_INT_EQ(t.status, 0);
    CHECK_INT_EQ(ancount(&t), 61);
    CHECK_INT_EQ((int)t.len, atomic_load(&fx.resp[0].last_len));
    fx_ask(&fx, "a.example.com", true, true, &t);
    CHECK_INT_EQ(t.status, 0);
    CHECK_INT_EQ(answer_from(&t), 1);
    CHECK_INT_EQ(atomic_load(&fx.resp[0].udp_count), 0);
    CHECK_INT_EQ(atomic_load(&fx.resp[0].tcp_count), 2);
    fx_down(&fx);
}

/* A TC answer is passed through unchanged (no TCP retry by c-ares) and whole. */
static void test_tc_passthrough(void)
{
    struct fixture fx;
    struct tq t;
    fx_init(&fx, 1);
    fx_up(&fx);
    fx_ask(&fx, "tc.example.com", true, false, &t);
    CHECK_INT_EQ(t.status, 0);
    CHECK(t.reply[2] & 0x02);
    CHECK_INT_EQ(ancount(&t), 40);
    CHECK_INT_EQ((int)t.len, atomic_load(&fx.resp[0].last_len));
    CHECK(t.len > 512);
    CHECK_INT_EQ(atomic_load(&fx.resp[0].tcp_count), 0);
    fx_down(&fx);
}

/* A 1,000-byte, a 4,000-byte and a 5,000-byte UDP answer arrive intact, with or without OPT
 * (c-ares 1.18 would cut a datagram at its read buffer; the receive filter reads 64 KiB). */
static void test_big_udp_answer(void)
{
    struct fixture fx;
    struct tq t;
    fx_init(&fx, 1);
    fx_up(&fx);
    fx_ask(&fx, "big.example.com", true, false, &t);
    CHECK_INT_EQ(t.status, 0);
    CHECK(t.len >= 1000);
    CHECK_INT_EQ((int)t.len, atomic_load(&fx.resp[0].last_len));
    CHECK_INT_EQ(ancount(&t), 61);
    fx_ask(&fx, "huge.example.com", false, false, &t);
    CHECK_INT_EQ(t.status, 0);
    CHECK(t.len > 3900);
    CHECK_INT_EQ((int)t.len, atomic_load(&fx.resp[0].last_len));
    CHECK_INT_EQ(ancount(&t), 250);
    CHECK_INT_EQ(atomic_load(&fx.resp[0].tcp_count), 0);
    fx_ask(&fx, "giant.example.com", true, false, &t);
    CHECK_INT_EQ(t.status, 0);
    CHECK_INT_EQ(ancount(&t), 300);
    CHECK_INT_EQ((int)t.len, atomic_load(&fx.resp[0].last_len));
    CHECK_INT_EQ(atomic_load(&fx.resp[0].tcp_count), 0);
    fx_ask(&fx, "giant.example.com", true, true, &t);
    CHECK_INT_EQ(t.status, 0);
    CHECK_INT_EQ(ancount(&t), 300);
    CHECK_INT_EQ((int)t.len, atomic_load(&fx.resp[0].last_len));
    fx_down(&fx);
}

/* FORMERR without OPT is delivered as it is and the query is never re-sent (c-ares 1.18 would
 * chop 11 bytes off it and switch EDNS off, 1.34 would re-send it without OPT); on the same
 * channel and socket (100 queries per socket) large answers stay whole afterwards. */
static void run_formerr(bool tcp)
{
    struct fixture fx;
    struct tq t;
    fx_init(&fx, 1);
    fx.cfg.queries_per_socket = 100;
    fx.cfg.port_slots = 1; /* one pooled socket: every UDP query takes the trapped channel */
    fx_up(&fx);
    for (int round = 0; round < 2; round++) {
        bool opt = round == 1;
        uint8_t q[512];
        int qlen = (int)make_query("fe.example.com", opt, q);
        int before = atomic_load(&fx.resp[0].udp_count) + atomic_load(&fx.resp[0].tcp_count);
        fx_ask(&fx, "fe.example.com", opt, tcp, &t);
        CHECK_INT_EQ(t.status, 0);
        CHECK_INT_EQ(rcode(&t), 1);
        CHECK_INT_EQ(atomic_load(&fx.resp[0].last_qlen), qlen);
        int after = atomic_load(&fx.resp[0].udp_count) + atomic_load(&fx.resp[0].tcp_count);
        CHECK_INT_EQ(after - before, 1);
        fx_ask(&fx, "big.example.com", true, tcp, &t);
        CHECK_INT_EQ(t.status, 0);
        CHECK_INT_EQ(ancount(&t), 61);
        CHECK_INT_EQ((int)t.len, atomic_load(&fx.resp[0].last_len));
        fx_ask(&fx, "a.example.com", false, tcp, &t);
        CHECK_INT_EQ(answer_from(&t), 1);
    }
    if (!tcp) {
        CHECK_INT_EQ(atomic_load(&fx.resp[0].tcp_count), 0);
    }
    /* Every query went through one channel, the one the trap would have hit. */
    CHECK_INT_EQ(fx.u->chan_count, 1);
    fx_down(&fx);
}

static void test_formerr_udp(void)
{
    run_formerr(false);
}

static void test_formerr_tcp(void)
{
    run_formerr(true);
}

/* SERVFAIL or REFUSED from one server: the others are tried (2.92+); all failing: the packet. */
static void run_failover(int mode, int rc)
{
    struct fixture fx;
    struct tq t;
    fx_init(&fx, 2);
    atomic_store(&fx.resp[0].mode, mode);
    fx_up(&fx);
    for (int i = 0; i < 3; i++) {
        fx_ask(&fx, "a.example.com", true, false, &t);
        CHECK_INT_EQ(t.status, 0);
        CHECK_INT_EQ(rcode(&t), 0);
        CHECK_INT_EQ(answer_from(&t), 2);
        CHECK_INT_EQ(t.server, 1);
    }
    atomic_store(&fx.resp[1].mode, mode);
    fx_ask(&fx, "a.example.com", true, false, &t);
    CHECK_INT_EQ(t.status, 0);
    CHECK_INT_EQ(rcode(&t), rc);
    atomic_store(&fx.resp[0].mode, RESP_NORMAL);
    atomic_store(&fx.resp[1].mode, RESP_NORMAL);
    fx_ask(&fx, "a.example.com", true, false, &t);
    CHECK_INT_EQ(rcode(&t), 0);
    fx_down(&fx);
}

static void test_servfail_next(void)
{
    run_failover(RESP_SERVFAIL, 2);
}

static void test_refused_next(void)
{
    run_failover(RESP_REFUSED, 5);
}

/* Default mode: the first query races all servers, the next ones go to the winner only. */
static void test_last_server(void)
{
    struct fixture fx;
    struct tq t;
    fx_init(&fx, 2);
    fx_up(&fx);
    fx_ask(&fx, "a.example.com", true, false, &t);
    fx_settle(&fx);
    int both = atomic_load(&fx.resp[0].udp_count) + atomic_load(&fx.resp[1].udp_count);
    CHECK_INT_EQ(both, 2);
    int winner = answer_from(&t) - 1;
    for (int i = 0; i < 5; i++) {
        fx_ask(&fx, "a.example.com", true, false, &t);
        CHECK_INT_EQ(answer_from(&t) - 1, winner);
    }
    fx_settle(&fx);
    CHECK_INT_EQ(atomic_load(&fx.resp[winner].udp_count), 6);
    CHECK_INT_EQ(atomic_load(&fx.resp[1 - winner].udp_count), 1);
    fx_down(&fx);
}

static void test_strict_order(void)
{
    struct fixture fx;
    struct tq t;
    fx_init(&fx, 2);
    fx.cfg.strict_order = true;
    fx.cfg.try_timeout_ms = 300;
    fx_up(&fx);
    for (int i = 0; i < 4; i++) {
        fx_ask(&fx, "a.example.com", true, false, &t);
        CHECK_INT_EQ(answer_from(&t), 1);
    }
    CHECK_INT_EQ(atomic_load(&fx.resp[1].udp_count), 0);
    atomic_store(&fx.resp[0].mode, RESP_SERVFAIL);
    fx_ask(&fx, "a.example.com", true, false, &t);
    CHECK_INT_EQ(answer_from(&t), 2);
    atomic_store(&fx.resp[0].mode, RESP_DROP);
    fx_ask(&fx, "a.example.com", true, false, &t);
    CHECK_INT_EQ(answer_from(&t), 2);
    /* Always the first server first. */
    CHECK_INT_EQ(atomic_load(&fx.resp[0].udp_count), 6);
    CHECK_INT_EQ(atomic_load(&fx.resp[1].udp_count), 2);
    fx_down(&fx);
}

static void test_all_servers(void)
{
    struct fixture fx;
    struct tq t;
    fx_init(&fx, 3);
    fx.cfg.all_servers = true;
    fx_up(&fx);
    for (int i = 0; i < 5; i++) {
        fx_ask(&fx, "a.example.com", true, false, &t);
        CHECK_INT_EQ(t.status, 0);
    }
    fx_settle(&fx);
    for (int i = 0; i < 3; i++) {
        CHECK_INT_EQ(atomic_load(&fx.resp[i].udp_count), 5);
    }
    fx_down(&fx);
}

/* A silent server: retries within the budget, then ERR_TIMEOUT on time. */
static void test_timeout_budget(void)
{
    struct fixture fx;
    struct tq t;
    fx_init(&fx, 1);
    atomic_store(&fx.resp[0].mode, RESP_DROP);
    fx.cfg.try_timeout_ms = 200;
    fx.cfg.total_timeout_ms = 900;
    fx_up(&fx);
    uint64_t t0 = now_ms();
    fx_ask(&fx, "a.example.com", true, false, &t);
    uint64_t el = now_ms() - t0;
    CHECK_INT_EQ(t.status, ERR_TIMEOUT);
    CHECK(t.len == 0);
    fprintf(stderr, "  ERR_TIMEOUT after %llu ms (budget 900)\n", (unsigned long long)el);
    CHECK(el >= 850 && el <= 1300);
    /* A retry after each try, while at most two rounds listen at once (upstream.c). */
    CHECK(atomic_load(&fx.resp[0].udp_count) >= 2);
    struct upstream_server_stats st;
    upstream_get_stats(fx.u, 0, &st);
    /* Attempts keep listening for the whole budget (a slow answer still counts), so at
     * ERR_TIMEOUT they are still pending, not yet counted as failed. */
    CHECK(st.retried >= 1);
    fx_down(&fx);
}

/* A server that was down is asked again later (forwardall re-probing every 50 queries). */
static void test_dead_server_retried(void)
{
    struct fixture fx;
    struct tq t;
    fx_init(&fx, 2);
    atomic_store(&fx.resp[0].mode, RESP_DROP);
    fx_up(&fx);
    fx_ask(&fx, "a.example.com", true, false, &t);
    CHECK_INT_EQ(answer_from(&t), 2);
    atomic_store(&fx.resp[0].mode, RESP_NORMAL);
    int before = atomic_load(&fx.resp[0].udp_count);
    for (int i = 0; i < 60; i++) {
        fx_ask(&fx, "a.example.com", true, false, &t);
        CHECK_INT_EQ(t.status, 0);
    }
    fx_settle(&fx);
    CHECK(atomic_load(&fx.resp[0].udp_count) > before);
    fx_down(&fx);
}

static void test_forward_max_and_cancel(void)
{
    struct fixture fx;
    struct tq t[3];
    fx_init(&fx, 1);
    atomic_store(&fx.resp[0].mode, RESP_DROP);
    fx.cfg.dns_forward_max = 2;
    fx_up(&fx);
    CHECK_INT_EQ(fx_send(&fx, "a.example.com", true, false, &t[0]), 0);
    CHECK_INT_EQ(fx_send(&fx, "b.example.com", true, false, &t[1]), 0);
    CHECK_INT_EQ(fx_send(&fx, "c.example.com", true, false, &t[2]), ERR_FULL);
    CHECK_INT_EQ(upstream_inflight(fx.u), 2);
    upstream_cancel(&t[0].req);
    CHECK_INT_EQ(fx_send(&fx, "c.example.com", true, false, &t[2]), 0);
    upstream_cancel(&t[1].req);
    atomic_store(&fx.resp[0].mode, RESP_NORMAL);
    fx_run(&fx, &t[2].done, 1, 3000);
    CHECK_INT_EQ(t[2].done, 1);
    int none = 0;
    fx_run(&fx, &none, 1, 300);
    CHECK_INT_EQ(t[0].done + t[1].done, 0);
    CHECK_INT_EQ(upstream_inflight(fx.u), 0);
    /* upstream_free() cancels what is still in flight with -ECANCELED. */
    atomic_store(&fx.resp[0].mode, RESP_DROP);
    CHECK_INT_EQ(fx_send(&fx, "d.example.com", true, false, &t[0]), 0);
    upstream_free(fx.u);
    CHECK_INT_EQ(t[0].done, 1);
    CHECK_INT_EQ(t[0].status, -ECANCELED);
    fx.u = NULL;
    fx_down(&fx);
}

/* Forged answers (other port, wrong ID, wrong question) are never delivered. */
static void test_forged_answers(void)
{
    struct fixture fx;
    struct tq t;
    fx_init(&fx, 1);
    fx.cfg.try_timeout_ms = 300;
    fx.cfg.total_timeout_ms = 700;
    atomic_store(&fx.resp[0].mode, RESP_FORGE);
    fx_up(&fx);
    for (int i = 0; i < 5; i++) {
        fx_ask(&fx, "a.example.com", true, false, &t);
        CHECK_INT_EQ(t.status, 0);
        CHECK_INT_EQ(answer_from(&t), 1);
    }
    atomic_store(&fx.resp[0].mode, RESP_FORGE_ONLY);
    fx_ask(&fx, "a.example.com", true, false, &t);
    CHECK_INT_EQ(t.status, ERR_TIMEOUT);
    fx_down(&fx);
}

/* Distinct source ports and IDs among the responder's records; min_window: the fewest distinct
 * source ports among any 1,000 consecutive records. */
static void count_distinct(struct resp *r, int *ports, int *ids, int *sequential, int *min_window)
{
    static uint16_t seen_p[65536], seen_i[65536];
    static uint16_t in_window[65536];
    memset(seen_p, 0, sizeof(seen_p));
    memset(seen_i, 0, sizeof(seen_i));
    memset(in_window, 0, sizeof(in_window));
    *ports = *ids = *sequential = 0;
    *min_window = 1000;
    int distinct = 0;
    pthread_mutex_lock(&r->mu);
    for (int i = 0; i < r->nrec; i++) {
        *ports += seen_p[r->ports[i]]++ == 0;
        *ids += seen_i[r->ids[i]]++ == 0;
        *sequential += i > 0 && r->ids[i] == (uint16_t)(r->ids[i - 1] + 1);
        distinct += in_window[r->ports[i]]++ == 0;
        if (i >= 1000) {
            distinct -= --in_window[r->ports[i - 1000]] == 0;
        }
        if (i >= 999 && distinct < *min_window) {
            *min_window = distinct;
        }
    }
    pthread_mutex_unlock(&r->mu);
}

/* 3,000 queries with at most `window` in flight; checks ports and IDs at the responder: every
 * 1,000 consecutive queries leave from at least 900 different ports (issue 11; dnsmasq: 984). */
static void run_ports(int window)
{
    enum { TOTAL = 3000 };
    struct fixture fx;
    fx_init(&fx, 1);
    fx.cfg.dns_forward_max = TOTAL;
    fx_up(&fx);
    static struct tq t[TOTAL];
    memset(t, 0, sizeof(t));
    int sent = 0, completed = 0;
    uint64_t t0 = now_ms();
    while (completed < TOTAL && now_ms() - t0 < 30000) {
        while (sent < TOTAL && sent - completed < window) {
            char name[64];
            snprintf(name, sizeof(name), "q%d.example.com", sent);
            CHECK_INT_EQ(fx_send(&fx, name, true, false, &t[sent]), 0);
            sent++;
        }
        uv_run(&fx.loop, UV_RUN_ONCE);
        completed = 0;
        for (int i = 0; i < sent; i++) {
            completed += t[i].done;
        }
    }
    uint64_t el = now_ms() - t0;
    CHECK_INT_EQ(completed, TOTAL);
    for (int i = 0; i < TOTAL; i++) {
        CHECK_INT_EQ(t[i].status, 0);
    }
    int ports = 0, ids = 0, seq = 0, min_window = 0;
    count_distinct(&fx.resp[0], &ports, &ids, &seq, &min_window);
    fprintf(stderr,
            "  window %d: %d queries in %llu ms (%.1f us each), %d distinct ports (>= %d in "
            "every 1,000), %d distinct IDs, %d sequential IDs\n",
            window, TOTAL, (unsigned long long)el, (double)el * 1000.0 / TOTAL, ports, min_window,
            ids, seq);
    CHECK_INT_EQ(fx.resp[0].nrec, TOTAL);
    CHECK(min_window >= 900);
    CHECK(ids >= 2800);
    CHECK(seq <= 15);
    fx_down(&fx);
}

static void test_ports_light(void)
{
    run_ports(1);
}

static void test_ports_load(void)
{
    run_ports(300);
}

/* A port nobody uses right now (bound once, then released). */
static uint16_t free_port(void)
{
    uint16_t port = 0;
    int fd = bind_lo(SOCK_DGRAM, 0, &port);
    CHECK(fd >= 0);
    close(fd);
    return port;
}

/* Sends n queries at once and checks every source port the responder saw is in lo..hi. */
static void ports_in_range(struct fixture *fx, int n, uint16_t lo, uint16_t hi)
{
    struct tq t[8];
    CHECK(n <= 8);
    for (int i = 0; i < n; i++) {
        CHECK_INT_EQ(fx_send(fx, "a.example.com", true, false, &t[i]), 0);
    }
    for (int i = 0; i < n; i++) {
        fx_run(fx, &t[i].done, 1, 3000);
        CHECK_INT_EQ(t[i].status, 0);
    }
    fx_settle(fx);
    struct resp *r = &fx->resp[0];
    pthread_mutex_lock(&r->mu);
    int bad = 0;
    for (int i = 0; i < r->nrec; i++) {
        bad += r->ports[i] < lo || r->ports[i] > hi;
    }
    int nrec = r->nrec;
    r->nrec = 0;
    pthread_mutex_unlock(&r->mu);
    CHECK_INT_EQ(nrec, n);
    CHECK_INT_EQ(bad, 0);
}

/* --min-port/--max-port, --query-port and server=...@source#port choose the source port. */
static void test_port_options(void)
{
    struct fixture fx;
    fx_init(&fx, 1);
    fx.cfg.min_port = 42000;
    fx.cfg.max_port = 42099;
    fx_up(&fx);
    ports_in_range(&fx, 8, 42000, 42099);
    upstream_free(fx.u);
    uint16_t qp = free_port();
    fx.cfg.min_port = fx.cfg.max_port = 0;
    fx.cfg.query_port = qp;
    fx_up(&fx);
    ports_in_range(&fx, 8, qp, qp);
    ports_in_range(&fx, 1, qp, qp);
    upstream_free(fx.u);
    uint16_t sp = free_port();
    fx.cfg.query_port = 0;
    fx.servers[0].source.sin.sin_family = AF_INET;
    fx.servers[0].source.sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fx.servers[0].source.sin.sin_port = htons(sp);
    fx_up(&fx);
    ports_in_range(&fx, 4, sp, sp);
    fx_down(&fx);
}

/* A closed port (ICMP port unreachable) fails fast; a source address that cannot be bound fails
 * inside c-ares' ares_send(), and still the callback comes later, never inside upstream_send(). */
static void test_unreachable(void)
{
    struct fixture fx;
    struct tq t;
    fx_init(&fx, 1);
    fx.servers[0].addr.sin.sin_port = htons(free_port());
    /* The port pool ignores ICMP errors (as dnsmasq does: one forged ICMP must not fail every
     * query sharing the channel), so an unreachable server costs the try timeout. */
    fx.cfg.try_timeout_ms = 300;
    fx.cfg.total_timeout_ms = 600;
    fx_up(&fx);
    uint64_t t0 = now_ms();
    fx_ask(&fx, "a.example.com", true, false, &t);
    CHECK(t.status < 0);
    CHECK(now_ms() - t0 < 1000);
    upstream_free(fx.u);
    fx.servers[0].addr.sin.sin_port = htons(fx.resp[0].port);
    fx.servers[0].source.sin.sin_family = AF_INET;
    fx.servers[0].source.sin.sin_addr.s_addr = inet_addr("192.0.2.1");
    fx_up(&fx);
    fx_ask(&fx, "a.example.com", true, false, &t);
    CHECK(t.status < 0);
    fx_ask(&fx, "a.example.com", true, true, &t);
    CHECK(t.status < 0);
    CHECK_INT_EQ(atomic_load(&fx.resp[0].udp_count) + atomic_load(&fx.resp[0].tcp_count), 0);
    CHECK_INT_EQ(upstream_inflight(fx.u), 0);
    fx_down(&fx);
}

/* Answers are checked: the question's case may differ, NXDOMAIN is counted, an answer whose RRs
 * run past its end costs that query only. */
static void test_answer_checks(void)
{
    struct fixture fx;
    struct tq t;
    fx_init(&fx, 1);
    fx.cfg.try_timeout_ms = 200;
    fx.cfg.total_timeout_ms = 600;
    fx_up(&fx);
    fx_ask(&fx, "mc.example.com", true, false, &t);
    CHECK_INT_EQ(t.status, 0);
    CHECK_INT_EQ(answer_from(&t), 1);
    fx_ask(&fx, "nx.example.com", true, false, &t);
    CHECK_INT_EQ(t.status, 0);
    CHECK_INT_EQ(rcode(&t), 3);
    fx_ask(&fx, "bad.example.com", true, false, &t);
    CHECK(t.status < 0);
    fx_ask(&fx, "a.example.com", true, false, &t);
    CHECK_INT_EQ(t.status, 0);
    struct upstream_server_stats st;
    upstream_get_stats(fx.u, 0, &st);
    CHECK_INT_EQ(st.nxdomain, 1);
    CHECK(st.failed >= 1);
    CHECK_INT_EQ(st.answered, 3);
    CHECK(st.avg_latency_ms < 100);
    fx_down(&fx);
}

/* An IPv6 server (::1) next to an IPv4 one, UDP and TCP. */
static void test_ipv6(void)
{
    struct fixture fx;
    struct tq t;
    fx_init_v6(&fx, 2, 1);
    fx.cfg.strict_order = true;
    fx_up(&fx);
    fx_ask(&fx, "big.example.com", true, false, &t);
    CHECK_INT_EQ(t.status, 0);
    CHECK_INT_EQ(answer_from(&t), 1);
    CHECK_INT_EQ(ancount(&t), 61);
    fx_ask(&fx, "a.example.com", true, true, &t);
    CHECK_INT_EQ(answer_from(&t), 1);
    atomic_store(&fx.resp[0].mode, RESP_REFUSED);
    fx_ask(&fx, "a.example.com", true, false, &t);
    CHECK_INT_EQ(answer_from(&t), 2);
    fx_down(&fx);
}

/* Reload: a new generation serves while the old one drains, then the old one is freed. */
static void test_reload_drain(void)
{
    struct fixture fx;
    struct tq old_q, t;
    fx_init(&fx, 2);
    fx.groups.counts[0] = 1; /* old generation: server 0 only */
    fx.cfg.try_timeout_ms = 200;
    fx.cfg.total_timeout_ms = 400;
    atomic_store(&fx.resp[0].mode, RESP_DROP);
    fx_up(&fx);
    struct upstream *old = fx.u;
    CHECK_INT_EQ(fx_send(&fx, "a.example.com", true, false, &old_q), 0);
    struct groups g2 = {.ids = {{1}}, .counts = {1}};
    fx.cfg.group_ctx = &g2;
    fx_up(&fx);
    fx_ask(&fx, "a.example.com", true, false, &t);
    CHECK_INT_EQ(answer_from(&t), 2);
    CHECK_INT_EQ(upstream_inflight(old), 1);
    fx_run(&fx, &old_q.done, 1, 2000);
    CHECK_INT_EQ(old_q.status, ERR_TIMEOUT);
    CHECK_INT_EQ(upstream_inflight(old), 0);
    upstream_free(old);
    fx_ask(&fx, "b.example.com", true, false, &t);
    CHECK_INT_EQ(answer_from(&t), 2);
    fx_down(&fx);
}

/* A callback may send a new request and cancel another one. */
struct reentry {
    struct fixture *fx;
    struct tq first, second, victim;
};

static void on_first_done(struct upstream_req *req, int status, const struct dnsmsg_view *reply,
                          uint32_t server)
{
    on_done(req, status, reply, server);
    struct tq *t = DNSROUTE_CONTAINER_OF(req, struct tq, req);
    struct reentry *re = DNSROUTE_CONTAINER_OF(t, struct reentry, first);
    upstream_cancel(&re->victim.req);
    re->second.done = fx_send(re->fx, "b.example.com", true, false, &re->second) == 0 ? 0 : -1;
}

static void test_callback_reentry(void)
{
    static struct reentry re;
    struct fixture fx;
    fx_init(&fx, 2);
    /* Group 0: server 0; group 1: server 1, silent, so the victim is surely still in flight. */
    fx.groups.counts[0] = 1;
    fx.groups.ids[1][0] = 1;
    fx.groups.counts[1] = 1;
    fx.cfg.group_count = 2;
    atomic_store(&fx.resp[1].mode, RESP_DROP);
    fx_up(&fx);
    memset(&re, 0, sizeof(re));
    re.fx = &fx;
    uint8_t q[512];
    size_t len = make_query("a.example.com", true, q);
    CHECK_INT_EQ(upstream_send(fx.u, 1, q, len, false, &re.victim.req, on_done), 0);
    CHECK_INT_EQ(upstream_send(fx.u, 0, q, len, false, &re.first.req, on_first_done), 0);
    fx_run(&fx, &re.second.done, 1, 3000);
    CHECK_INT_EQ(re.first.done, 1);
    CHECK_INT_EQ(re.second.done, 1);
    CHECK_INT_EQ(re.second.status, 0);
    fx_settle(&fx);
    CHECK_INT_EQ(re.victim.done, 0);
    CHECK_INT_EQ(upstream_inflight(fx.u), 0);
    fx_down(&fx);
}

static void test_bad_input(void)
{
    struct fixture fx;
    struct tq t;
    fx_init(&fx, 1);
    fx_up(&fx);
    uint8_t q[512];
    size_t len = make_query("a.example.com", false, q);
    CHECK_INT_EQ(upstream_send(fx.u, 7, q, len, false, &t.req, on_done), ERR_NOT_FOUND);
    CHECK_INT_EQ(upstream_send(fx.u, 0, q, 11, false, &t.req, on_done), ERR_MALFORMED);
    q[2] |= 0x80;
    CHECK_INT_EQ(upstream_send(fx.u, 0, q, len, false, &t.req, on_done), ERR_MALFORMED);
    fx_down(&fx);
    struct upstream_config cfg = {0};
    struct conf_server bad = {0};
    struct groups g = {0};
    cfg.servers = &bad;
    cfg.server_count = 1;
    cfg.group_servers = groups_get;
    cfg.group_ctx = &g;
    struct upstream *u = NULL;
    CHECK_INT_EQ(upstream_new(uv_default_loop(), &cfg, &u), ERR_BAD_ADDRESS);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_udp_basic),
    CHECK_CASE(test_no_ares_cache),
    CHECK_CASE(test_long_name),
    CHECK_CASE(test_tcp_basic),
    CHECK_CASE(test_tc_passthrough),
    CHECK_CASE(test_big_udp_answer),
    CHECK_CASE(test_formerr_udp),
    CHECK_CASE(test_formerr_tcp),
    CHECK_CASE(test_servfail_next),
    CHECK_CASE(test_refused_next),
    CHECK_CASE(test_last_server),
    CHECK_CASE(test_strict_order),
    CHECK_CASE(test_all_servers),
    CHECK_CASE(test_timeout_budget),
    CHECK_CASE(test_dead_server_retried),
    CHECK_CASE(test_forward_max_and_cancel),
    CHECK_CASE(test_forged_answers),
    CHECK_CASE(test_ports_light),
    CHECK_CASE(test_ports_load),
    CHECK_CASE(test_port_options),
    CHECK_CASE(test_unreachable),
    CHECK_CASE(test_answer_checks),
    CHECK_CASE(test_ipv6),
    CHECK_CASE(test_reload_drain),
    CHECK_CASE(test_callback_reentry),
    CHECK_CASE(test_bad_input),
    {0},
};

/* The responders and "closed" ports live on 127.0.0.1: in the machine's own network namespace a
 * port found free can be taken by another test running at the same time (a closed port then
 * answers). A private namespace (as root, or in a new user namespace) with lo up removes that;
 * where none can be made, the tests run as before. */
static void private_netns(void)
{
    if (unshare(CLONE_NEWNET) != 0 && unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0) {
        return;
    }
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    (void)snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) {
        (void)fprintf(stderr, "test_upstream: cannot read lo's flags in the private namespace\n");
        exit(1);
    }
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) {
        (void)fprintf(stderr, "test_upstream: cannot bring lo up in the private namespace\n");
        exit(1);
    }
    (void)close(fd);
}

int main(int argc, char **argv)
{
    private_netns();
    return check_main(argc, argv, cases);
}
