/* server_tcp.c - DNS over TCP (RFC 7766): 2-byte length framing, pipelined queries answered in
 * any order, an idle timeout, a cap on open connections (max-tcp-connections) and backpressure
 * (reading pauses while too many queries are in flight or too many reply bytes wait), so a slow
 * or stuck TCP client never delays UDP. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dnsroute/err.h"
#include "dnsroute/log.h"
#include "dnsroute/mem.h"
#include "server_impl.h"

#define SERVER_TCP_IDLE_MS      10000
#define SERVER_TCP_MAX_INFLIGHT 64
#define SERVER_TCP_MAX_WQUEUE   (256 * 1024)

struct server_tcp_write {
    uv_write_t req;
    struct server_tcp_conn *conn;
    size_t len;
    uint8_t bytes[];
};

static void on_tcp_connection(uv_stream_t *listener, int status);
static void on_tcp_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf);
static void on_tcp_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);
static void on_tcp_idle(uv_timer_t *timer);
static void on_tcp_closed(uv_handle_t *handle);
static void on_tcp_written(uv_write_t *req, int status);
static void on_listener_closed(uv_handle_t *handle);

int server_tcp_open(struct server *s, const union sockaddr_any *addr, char *errbuf, size_t errlen)
{
    struct server_tcp_listener *l = mem_calloc(1, sizeof(*l));
    l->owner = s;
    uv_tcp_init(s->loop, &l->handle);
    l->handle.data = l;
    s->handles_open++;
    l->next = s->tcp;
    s->tcp = l;
    unsigned flags = addr->sa.sa_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0;
    int rc = uv_tcp_bind(&l->handle, &addr->sa, flags);
    if (rc == 0) {
        rc = uv_listen((uv_stream_t *)&l->handle, 256, on_tcp_connection);
    }
    if (rc < 0) {
        char text[SOCKADDR_TEXT_MAX];
        sockaddr_format(addr, false, text, sizeof(text));
        snprintf(errbuf, errlen, "failed to create listening socket for %s: %s", text,
                 uv_strerror(rc));
        return rc;
    }
    return 0;
}

static void server_tcp_close(struct server_tcp_conn *c)
{
    if (c->closing) {
        return;
    }
    c->closing = true;
    uv_close((uv_handle_t *)&c->handle, on_tcp_closed);
    uv_close((uv_handle_t *)&c->idle, on_tcp_closed);
}

static void server_tcp_maybe_free(struct server_tcp_conn *c)
{
    if (!c->closing || c->handles_open > 0 || c->in_flight > 0) {
        return;
    }
    struct server *s = c->owner;
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        s->conns = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    s->stats.tcp_open--;
    free(c->buf);
    free(c->out);
    free(c);
    server_handle_closed(s);
}

static void on_tcp_closed(uv_handle_t *handle)
{
    struct server_tcp_conn *c = handle->data;
    c->handles_open--;
    server_tcp_maybe_free(c);
}

static void on_tcp_connection(uv_stream_t *listener, int status)
{
    struct server_tcp_listener *l = listener->data;
    struct server *s = l->owner;
    if (status < 0) {
        return;
    }
    struct server_tcp_conn *c = mem_calloc(1, sizeof(*c));
    c->owner = s;
    uv_tcp_init(s->loop, &c->handle);
    uv_timer_init(s->loop, &c->idle);
    c->handle.data = c;
    c->idle.data = c;
    c->handles_open = 2;
    s->handles_open++;
    c->next = s->conns;
    if (s->conns != NULL) {
        s->conns->prev = c;
    }
    s->conns = c;
    s->stats.tcp_open++;
    if (uv_accept(listener, (uv_stream_t *)&c->handle) != 0 ||
        s->stats.tcp_open > s->max_tcp_connections) {
        s->stats.tcp_rejected++;
        server_tcp_close(c);
        return;
    }
    s->stats.tcp_accepted++;
    if (s->stats.tcp_open > s->stats.tcp_open_max) {
        s->stats.tcp_open_max = s->stats.tcp_open;
    }
    int len = sizeof(c->peer);
    uv_tcp_getpeername(&c->handle, &c->peer.sa, &len);
    len = sizeof(c->local);
    uv_tcp_getsockname(&c->handle, &c->local.sa, &len);
    uv_tcp_nodelay(&c->handle, 1);
    uv_timer_start(&c->idle, on_tcp_idle, SERVER_TCP_IDLE_MS, 0);
    c->reading = uv_read_start((uv_stream_t *)&c->handle, on_tcp_alloc, on_tcp_read) == 0;
}

static void on_tcp_idle(uv_timer_t *timer)
{
    struct server_tcp_conn *c = timer->data;
    if (c->in_flight > 0) {
        uv_timer_start(&c->idle, on_tcp_idle, SERVER_TCP_IDLE_MS, 0);
        return;
    }
    c->owner->stats.tcp_closed_idle++;
    server_tcp_close(c);
}

static void on_tcp_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    struct server_tcp_conn *c = handle->data;
    (void)suggested;
    mem_grow((void **)&c->buf, &c->cap, c->len + 4096, 1);
    buf->base = (char *)c->buf + c->len;
    buf->len = c->cap - c->len;
}

static void server_tcp_update_reading(struct server_tcp_conn *c)
{
    bool want = !c->closing && c->in_flight < SERVER_TCP_MAX_INFLIGHT &&
                uv_stream_get_write_queue_size((uv_stream_t *)&c->handle) < SERVER_TCP_MAX_WQUEUE;
    if (want && !c->reading) {
        c->reading = uv_read_start((uv_stream_t *)&c->handle, on_tcp_alloc, on_tcp_read) == 0;
    } else if (!want && c->reading) {
        uv_read_stop((uv_stream_t *)&c->handle);
        c->reading = false;
    }
}

/* Hands every complete message in the accumulator to the query callback. */
static void server_tcp_dispatch(struct server_tcp_conn *c)
{
    struct server *s = c->owner;
    size_t off = 0;
    if (c->dispatching) {
        return;
    }
    c->dispatching = true;
    while (!c->closing && c->len - off >= 2 && c->in_flight < SERVER_TCP_MAX_INFLIGHT) {
        size_t mlen = ((size_t)c->buf[off] << 8) | c->buf[off + 1];
        if (mlen < 12) {
            server_tcp_close(c); /* RFC 7766: a message shorter than a header ends the session */
            break;
        }
        if (c->len - off - 2 < mlen) {
            break;
        }
        struct server_client client;
        memset(&client, 0, sizeof(client));
        client.transport = SERVER_TCP;
        client.tcp = c;
        client.peer = c->peer;
        client.local = c->local;
        c->in_flight++;
        s->stats.tcp_queries++;
        s->cb(s->cb_arg, &client, c->buf + off + 2, mlen);
        off += 2 + mlen;
    }
    memmove(c->buf, c->buf + off, c->len - off);
    c->len -= off;
    c->dispatching = false;
}

static void on_tcp_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct server_tcp_conn *c = stream->data;
    (void)buf;
    if (nread < 0) {
        server_tcp_close(c);
        return;
    }
    c->len += (size_t)nread;
    uv_timer_start(&c->idle, on_tcp_idle, SERVER_TCP_IDLE_MS, 0);
    server_tcp_dispatch(c);
    server_tcp_update_reading(c);
}

void server_tcp_reply(struct server_tcp_conn *c, const uint8_t *pkt, size_t len)
{
    if (c->closing || len > 65535) {
        return;
    }
    mem_grow((void **)&c->out, &c->out_cap, c->out_len + 2 + len, 1);
    c->out[c->out_len] = (uint8_t)(len >> 8);
    c->out[c->out_len + 1] = (uint8_t)len;
    memcpy(c->out + c->out_len + 2, pkt, len);
    c->out_len += 2 + len;
}

void server_tcp_done(struct server_tcp_conn *c)
{
    c->in_flight--;
    if (c->closing) {
        server_tcp_maybe_free(c);
        return;
    }
    /* Messages left in the accumulator while the in-flight cap was reached. */
    server_tcp_dispatch(c);
    server_tcp_update_reading(c);
}

void server_tcp_flush(struct server_tcp_conn *c)
{
    if (c->out_len == 0 || c->closing) {
        c->out_len = 0;
        return;
    }
    uv_buf_t b = uv_buf_init((char *)c->out, (unsigned)c->out_len);
    int n = uv_try_write((uv_stream_t *)&c->handle, &b, 1);
    size_t done = n > 0 ? (size_t)n : 0;
    if (n < 0 && n != UV_EAGAIN) {
        c->out_len = 0;
        server_tcp_close(c);
        return;
    }
    if (done < c->out_len) {
        size_t rest = c->out_len - done;
        struct server_tcp_write *w = mem_alloc(sizeof(*w) + rest);
        w->conn = c;
        w->len = rest;
        memcpy(w->bytes, c->out + done, rest);
        uv_buf_t wb = uv_buf_init((char *)w->bytes, (unsigned)rest);
        c->handles_open++; /* the write request keeps the connection alive */
        if (uv_write(&w->req, (uv_stream_t *)&c->handle, &wb, 1, on_tcp_written) != 0) {
            c->handles_open--;
            free(w);
            server_tcp_close(c);
        }
    }
    c->out_len = 0;
    server_tcp_update_reading(c);
}

static void on_tcp_written(uv_write_t *req, int status)
{
    struct server_tcp_write *w = DNSROUTE_CONTAINER_OF(req, struct server_tcp_write, req);
    struct server_tcp_conn *c = w->conn;
    free(w);
    c->handles_open--;
    if (status < 0) {
        server_tcp_close(c);
    } else {
        server_tcp_update_reading(c);
    }
    server_tcp_maybe_free(c);
}

static void on_listener_closed(uv_handle_t *handle)
{
    struct server_tcp_listener *l = handle->data;
    struct server *s = l->owner;
    free(l);
    server_handle_closed(s);
}

void server_tcp_close_all(struct server *s)
{
    for (struct server_tcp_listener *l = s->tcp, *next; l != NULL; l = next) {
        next = l->next;
        uv_close((uv_handle_t *)&l->handle, on_listener_closed);
    }
    s->tcp = NULL;
    for (struct server_tcp_conn *c = s->conns; c != NULL; c = c->next) {
        server_tcp_close(c);
    }
}
