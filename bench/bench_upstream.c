/* bench_upstream.c - cost of one upstream exchange through upstream_send() on a libuv loop against
 * an in-process UDP responder thread on 127.0.0.1 (loopback only): wall time and the loop
 * thread's CPU time per query, and distinct source ports seen, for a few in-flight windows and
 * queries-per-socket settings (1 = a fresh port per query, the default).
 * Usage: bench_upstream [queries]   (default 20000) */
#include <arpa/inet.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dnsroute/compat.h"
#include "dnsroute/upstream.h"

struct responder {
    int fd, stop[2];
    uint16_t port;
    pthread_t thread;
    uint8_t seen[65536]; /* source ports, written by the responder thread only */
};

static void *responder_main(void *arg)
{
    struct responder *r = arg;
    uint8_t buf[4096];
    struct pollfd p[2] = {{.fd = r->stop[0], .events = POLLIN}, {.fd = r->fd, .events = POLLIN}};
    while (poll(p, 2, -1) >= 0 && !(p[0].revents & POLLIN)) {
        for (;;) {
            struct sockaddr_in from;
            socklen_t fl = sizeof(from);
            ssize_t n =
                recvfrom(r->fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
            if (n < 12) {
                break;
            }
            r->seen[ntohs(from.sin_port)] = 1;
            buf[2] |= 0x80; /* QR: an answer with no records */
            (void)sendto(r->fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
        }
    }
    return NULL;
}

static const uint32_t *one_group(void *ctx, uint32_t group, uint32_t *count)
{
    static const uint32_t ids[1] = {0};
    (void)ctx;
    (void)group;
    *count = 1;
    return ids;
}

struct slot {
    struct upstream_req req;
    int *completed;
    struct slot **free_top; /* a free stack of slots */
    struct slot *next_free;
};

static void on_done(struct upstream_req *req, int status, const struct dnsmsg_view *reply,
                    uint32_t server)
{
    (void)reply;
    (void)server;
    struct slot *s = DNSROUTE_CONTAINER_OF(req, struct slot, req);
    if (status != 0) {
        fprintf(stderr, "query failed: %d\n", status);
    }
    (*s->completed)++;
    s->next_free = *s->free_top;
    *s->free_top = s;
}

static double now_us(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void run(struct responder *r, int total, int window, uint32_t per_socket)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct conf_server srv;
    memset(&srv, 0, sizeof(srv));
    srv.addr.sin.sin_family = AF_INET;
    srv.addr.sin.sin_port = htons(r->port);
    srv.addr.sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct upstream_config cfg = {.servers = &srv,
                                  .server_count = 1,
                                  .group_count = 1,
                                  .group_servers = one_group,
                                  .dns_forward_max = (uint32_t)window,
                                  .queries_per_socket = per_socket};
    struct upstream *u = NULL;
    if (upstream_new(&loop, &cfg, &u) != 0) {
        exit(1);
    }
    memset(r->seen, 0, sizeof(r->seen));
    static const uint8_t q[] = {0, 0,   1,   0,   0,   1,   0,   0,   0, 0, 0, 0, 1, 'a',
                                7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 1, 0, 1};
    struct slot *slots = calloc((size_t)window, sizeof(*slots));
    struct slot *free_top = NULL;
    int completed = 0, sent = 0;
    for (int i = 0; i < window; i++) {
        slots[i].completed = &completed;
        slots[i].free_top = &free_top;
        slots[i].next_free = free_top;
        free_top = &slots[i];
    }
    double w0 = now_us(CLOCK_MONOTONIC), c0 = now_us(CLOCK_THREAD_CPUTIME_ID);
    while (completed < total) {
        while (sent < total && free_top != NULL) {
            struct slot *s = free_top;
            free_top = s->next_free;
            if (upstream_send(u, 0, q, sizeof(q), false, &s->req, on_done) != 0) {
                s->next_free = free_top;
                free_top = s;
                break;
            }
            sent++;
        }
        uv_run(&loop, UV_RUN_ONCE);
    }
    double wall = now_us(CLOCK_MONOTONIC) - w0, cpu = now_us(CLOCK_THREAD_CPUTIME_ID) - c0;
    usleep(20000);
    int ports = 0;
    for (int i = 0; i < 65536; i++) {
        ports += r->seen[i];
    }
    printf("window %4d  queries/socket %4u: %7.1f us wall, %6.1f us loop CPU per query, "
           "%6.0f q/s, %d distinct ports / %d queries\n",
           window, per_socket, wall / total, cpu / total, total / wall * 1e6, ports, total);
    upstream_free(u);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    free(slots);
}

int main(int argc, char **argv)
{
    int total = argc > 1 ? atoi(argv[1]) : 20000;
    static struct responder r;
    r.fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int big = 8 << 20;
    setsockopt(r.fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    if (bind(r.fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 || pipe(r.stop) != 0) {
        return 1;
    }
    socklen_t l = sizeof(sin);
    getsockname(r.fd, (struct sockaddr *)&sin, &l);
    r.port = ntohs(sin.sin_port);
    pthread_create(&r.thread, NULL, responder_main, &r);
    static const int windows[] = {1, 16, 256};
    static const uint32_t per_socket[] = {1, 8, 100000};
    for (size_t w = 0; w < DNSROUTE_ARRAY_LEN(windows); w++) {
        for (size_t p = 0; p < DNSROUTE_ARRAY_LEN(per_socket); p++) {
            run(&r, total, windows[w], per_socket[p]);
        }
    }
    (void)write(r.stop[1], "x", 1);
    pthread_join(r.thread, NULL);
    return 0;
}
