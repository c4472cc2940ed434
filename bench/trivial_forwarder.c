/* trivial_forwarder.c - the floor of forwarding: a UDP DNS forwarder with no logic but what a
 * spoof-resistant forwarder cannot do without. It receives client queries in batches (recvmmsg),
 * sends each to one upstream from a socket picked at random among POOL sockets on kernel-chosen
 * ports (connected to the upstream) under a random unused ID, reads the answers from whichever
 * pool sockets epoll reports (one recv each), accepts an answer only on the socket its query left
 * from with the ID it carried, restores the client's ID and sends the answers back in batches
 * (sendmmsg). One thread, no cache, no routing, no timeouts, sockets never replaced. Its CPU time
 * per answered query is what two exchanges cost on this machine when every upstream query has
 * its own random port: the forwarding benches print every server's CPU per query against it.
 *
 *   trivial_forwarder ADDR PORT UPSTREAM_ADDR UPSTREAM_PORT [POOL]   (POOL: 1..4096, default 1024)
 *
 * With POOL 1 it is the floor of forwarding from one fixed source port instead: the queries of a
 * client batch go upstream in one sendmmsg and the answers come back in recvmmsg batches, as any
 * forwarder with a fixed query port can do (the benches run it as "trivfwd1"). Between the two
 * lies what per-query source ports cost: a send and a receive system call, and a socket's wake-up,
 * for every query instead of every batch.
 *
 * It runs until killed. Not a DNS server: a query it cannot send is dropped; an unanswered one
 * keeps its ID until the run ends (a bench run asks fewer than 65,536 at once). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

enum { BATCH = 64, PKT_MAX = 4096, HEADER_LEN = 12, POOL_MAX = 4096, LISTEN_TAG = POOL_MAX };

struct pending {
    struct sockaddr_in client;
    uint16_t client_id;
    uint16_t sock; /* the pool socket the query left from */
    bool used;
};

static struct pending pending[65536];
static int pool[POOL_MAX];
static unsigned pool_size = 1024;
static uint64_t rng;

static uint32_t next_random(void)
{
    rng ^= rng << 13; /* xorshift64: the bench's randomness, not a security claim */
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static int parse_addr(const char *addr, const char *port, struct sockaddr_in *sin)
{
    *sin = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port))};
    if (inet_pton(AF_INET, addr, &sin->sin_addr) != 1) {
        fprintf(stderr, "trivial_forwarder: bad address %s\n", addr);
        return -1;
    }
    return 0;
}

static int watch(int ep, int fd, uint32_t tag)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = tag};
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* The listening socket and POOL connected upstream sockets, all in epoll set ep. */
static int open_sockets(int ep, const struct sockaddr_in *listen_at, const struct sockaddr_in *up)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    int big = 4 << 20;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big)) < 0 ||
        bind(fd, (const struct sockaddr *)listen_at, sizeof(*listen_at)) < 0 ||
        watch(ep, fd, LISTEN_TAG) < 0) {
        perror("trivial_forwarder: listening socket");
        return -1;
    }
    for (unsigned i = 0; i < pool_size; i++) {
        pool[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        if (pool[i] < 0 || connect(pool[i], (const struct sockaddr *)up, sizeof(*up)) < 0 ||
            watch(ep, pool[i], i) < 0) {
            perror("trivial_forwarder: pool socket");
            return -1;
        }
    }
    return fd;
}

static uint8_t in[BATCH][PKT_MAX], out[BATCH][PKT_MAX];
static struct sockaddr_in peers[BATCH], out_peers[BATCH];
static size_t out_len[BATCH];
static unsigned out_count;
/* POOL 1: the queries of one client batch, sent upstream together (they stay in in[]). */
static struct iovec up_iov[BATCH];
static unsigned up_count;

/* Sends every queued answer to its client. */
static void flush_answers(int fd)
{
    struct mmsghdr tx[BATCH];
    struct iovec iov[BATCH];
    for (unsigned i = 0; i < out_count; i++) {
        iov[i] = (struct iovec){.iov_base = out[i], .iov_len = out_len[i]};
        memset(&tx[i], 0, sizeof(tx[i]));
        tx[i].msg_hdr = (struct msghdr){.msg_name = &out_peers[i],
                                        .msg_namelen = sizeof(out_peers[i]),
                                        .msg_iov = &iov[i],
                                        .msg_iovlen = 1};
    }
    for (unsigned sent = 0; sent < out_count;) {
        int k = sendmmsg(fd, tx + sent, out_count - sent, 0);
        if (k <= 0) {
            break; /* a full send buffer loses the rest, like any UDP server */
        }
        sent += (unsigned)k;
    }
    out_count = 0;
}

/* Sends query q[len] upstream from a random pool socket under a random unused ID. */
static void forward_query(uint8_t *q, size_t len, const struct sockaddr_in *client)
{
    if (len < HEADER_LEN || (q[2] & 0x80) != 0) {
        return;
    }
    uint16_t id = (uint16_t)next_random();
    for (unsigned tries = 0; pending[id].used; tries++) {
        if (tries == 64) {
            return;
        }
        id = (uint16_t)next_random();
    }
    unsigned s = next_random() % pool_size;
    pending[id] = (struct pending){*client, (uint16_t)(q[0] << 8 | q[1]), (uint16_t)s, true};
    q[0] = (uint8_t)(id >> 8), q[1] = (uint8_t)id;
    if (pool_size == 1) {
        up_iov[up_count++] = (struct iovec){.iov_base = q, .iov_len = len};
        return;
    }
    if (send(pool[s], q, len, 0) < 0) {
        pending[id].used = false;
    }
}

/* POOL 1: the batch's queries upstream in one sendmmsg; what cannot be sent frees its ID. */
static void flush_upstream(void)
{
    struct mmsghdr tx[BATCH];
    memset(tx, 0, sizeof(tx[0]) * up_count);
    for (unsigned i = 0; i < up_count; i++) {
        tx[i].msg_hdr.msg_iov = &up_iov[i];
        tx[i].msg_hdr.msg_iovlen = 1;
    }
    int sent = sendmmsg(pool[0], tx, up_count, 0);
    for (unsigned i = sent < 0 ? 0 : (unsigned)sent; i < up_count; i++) {
        const uint8_t *q = up_iov[i].iov_base;
        pending[(uint16_t)(q[0] << 8 | q[1])].used = false;
    }
    up_count = 0;
}

static void read_queries(int fd)
{
    struct mmsghdr rx[BATCH];
    struct iovec iov[BATCH];
    memset(rx, 0, sizeof(rx));
    for (int i = 0; i < BATCH; i++) {
        iov[i] = (struct iovec){.iov_base = in[i], .iov_len = PKT_MAX};
        rx[i].msg_hdr = (struct msghdr){.msg_name = &peers[i],
                                        .msg_namelen = sizeof(peers[i]),
                                        .msg_iov = &iov[i],
                                        .msg_iovlen = 1};
    }
    int n = recvmmsg(fd, rx, BATCH, MSG_DONTWAIT, NULL);
    for (int i = 0; i < n; i++) {
        forward_query(in[i], rx[i].msg_len, &peers[i]);
    }
    if (up_count != 0) {
        flush_upstream();
    }
}

/* Answer a[n] from pool socket s: queued for its client if its ID was sent from s. */
static void take_answer(const uint8_t *a, size_t n, unsigned s)
{
    if (n < HEADER_LEN) {
        return;
    }
    struct pending *p = &pending[(uint16_t)(a[0] << 8 | a[1])];
    if (!p->used || p->sock != s) {
        return; /* not sent from this socket: dropped */
    }
    p->used = false;
    if (a != out[out_count]) {
        memcpy(out[out_count], a, n);
    }
    out[out_count][0] = (uint8_t)(p->client_id >> 8), out[out_count][1] = (uint8_t)p->client_id;
    out_peers[out_count] = p->client;
    out_len[out_count++] = n;
}

/* POOL 1: a recvmmsg batch of answers from the one socket, read into in[] (free by now: its
 * queries went out in read_queries) and queued for their clients. */
static void read_answers_batch(int fd)
{
    flush_answers(fd);
    struct mmsghdr rx[BATCH];
    struct iovec iov[BATCH];
    memset(rx, 0, sizeof(rx));
    for (int i = 0; i < BATCH; i++) {
        iov[i] = (struct iovec){.iov_base = in[i], .iov_len = PKT_MAX};
        rx[i].msg_hdr.msg_iov = &iov[i];
        rx[i].msg_hdr.msg_iovlen = 1;
    }
    int n = recvmmsg(pool[0], rx, BATCH, MSG_DONTWAIT, NULL);
    for (int i = 0; i < n; i++) {
        take_answer(in[i], rx[i].msg_len, 0);
    }
}

/* One answer from pool socket s (POOL 1: a batch of them). */
static void read_answer(int fd, unsigned s)
{
    if (pool_size == 1) {
        read_answers_batch(fd);
        return;
    }
    if (out_count == BATCH) {
        flush_answers(fd);
    }
    ssize_t n = recv(pool[s], out[out_count], PKT_MAX, MSG_DONTWAIT);
    if (n > 0) {
        take_answer(out[out_count], (size_t)n, s);
    }
}

int main(int argc, char **argv)
{
    struct sockaddr_in listen_at, up;
    if (argc < 5 || argc > 6 || parse_addr(argv[1], argv[2], &listen_at) < 0 ||
        parse_addr(argv[3], argv[4], &up) < 0) {
        fprintf(stderr, "usage: trivial_forwarder ADDR PORT UPSTREAM_ADDR UPSTREAM_PORT [POOL]\n");
        return 2;
    }
    long size = argc == 6 ? strtol(argv[5], NULL, 10) : 1024;
    if (size < 1 || size > POOL_MAX) {
        fprintf(stderr, "trivial_forwarder: POOL must be 1..%d\n", POOL_MAX);
        return 2;
    }
    pool_size = (unsigned)size;
    if (getrandom(&rng, sizeof(rng), 0) != sizeof(rng) || rng == 0) {
        rng = 0x9e3779b97f4a7c15u;
    }
    int ep = epoll_create1(0);
    int fd = ep < 0 ? -1 : open_sockets(ep, &listen_at, &up);
    if (fd < 0) {
        return 1;
    }
    for (;;) {
        struct epoll_event ev[BATCH];
        int n = epoll_wait(ep, ev, BATCH, -1);
        if (n < 0 && errno != EINTR) {
            perror("trivial_forwarder: epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            if (ev[i].data.u32 == LISTEN_TAG) {
                read_queries(fd);
            } else {
                read_answer(fd, ev[i].data.u32);
            }
        }
        flush_answers(fd);
    }
}
