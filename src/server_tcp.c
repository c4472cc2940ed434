/* server_tcp.c - DNS over TCP (RFC 7766): 2-byte length framing (server_frame.c), pipelined
 * queries answered in any order, a cap on open connections (max-tcp-connections) and backpressure
 * (reading pauses while too many queries are in flight or too many reply bytes wait), so a slow
 * or stuck TCP client never delays UDP. Idle, half-sent and endless connections cannot hold the
 * slots (RFC 7766 §6.2.3, §10): the idle timer restarts only when a whole message has arrived or
 * been answered, each message must be complete within a few seconds of its first byte, a
 * connection lives at most a few minutes, and at the cap the least recently active connection
 * without queries in flight makes room for the new one (dnsmasq closes the new one instead, so 20
 * silent connections lock every TCP client out). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dnsroute/err.h"
#include "dnsroute/log.h"
#include "dnsroute/mem.h"
#include "server_impl.h"

#define SERVER_TCP_IDLE_MS      10000  /* no query and nothing to answer for this long */
#define SERVER_TCP_MESSAGE_MS   3000   /* from a message's first byte to its last */
#define SERVER_TCP_LIFETIME_MS  120000 /* then no more queries are read; closed once answered */
#define SERVER_TCP_OVER_CAP     256    /* accepted beyond the cap until the loop turn ends */
#define SERVER_TCP_MAX_INFLIGHT 64
#define SERVER_TCP_MAX_WQUEUE   ((size_t)256 * 1024)

struct server_tcp_write {
    uv_write_t req;
    struct server_tcp_conn *conn;
    size_t len;
    uint8_t bytes[];
};

static void on_tcp_connection(uv_stream_t *listener, int status);
static void on_tcp_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf);
static void on_tcp_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);
static void on_tcp_timer(uv_timer_t *timer);
static void on_tcp_closed(uv_handle_t *handle);
static void on_tcp_written(uv_write_t *req, int status);
static void on_tcp_evict(uv_idle_t *idle);
static void on_evict_closed(uv_handle_t *handle);
static void on_listener_closed(uv_handle_t *handle);

int server_tcp_open(struct server *s, const union sockaddr_any *addr, char *errbuf, size_t errlen)
{
    struct server_tcp_listener *l = mem_calloc(1, sizeof(*l));
    l->owner = s;
    uv_tcp_init(s->loop, &l->handle);
    l->handle.data = l;
    s->handles_open++;
    if (!s->tcp_evict_open) {
        s->tcp_evict_open = true;
        uv_idle_init(s->loop, &s->tcp_evict);
        s->tcp_evict.data = s;
        s->handles_open++;
    }
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
        (void)snprintf(errbuf, errlen, "failed to create listening socket for %s: %s", text,
                       strerror(-rc)); /* dnsmasq: "Address already in use" */
        return rc;
    }
    return 0;
}

/* ---- the connection list: most recently active first, so the last is the eviction candidate */

static struct server_tcp_conn *server_tcp_conn_of(struct list_link *link)
{
    return LIST_ENTRY(link, struct server_tcp_conn, link);
}

/* A whole message arrived or was answered: the connection is active now. */
static void server_tcp_touch(struct server_tcp_conn *c)
{
    struct server *s = c->owner;
    c->active_ms = uv_now(s->loop);
    if (s->conns.first != &c->link) {
        list_remove(&s->conns, &c->link);
        list_push_front(&s->conns, &c->link);
    }
}

static void server_tcp_close(struct server_tcp_conn *c)
{
    if (c->closing) {
        return;
    }
    c->closing = true;
    c->owner->tcp_active--;
    uv_close((uv_handle_t *)&c->handle, on_tcp_closed);
    uv_close((uv_handle_t *)&c->timer, on_tcp_closed);
}

static void server_tcp_maybe_free(struct server_tcp_conn *c)
{
    if (!c->closing || c->handles_open > 0 || c->in_flight > 0) {
        return;
    }
    struct server *s = c->owner;
    list_remove(&s->conns, &c->link);
    s->stats.tcp_open--;
    server_frame_free(&c->in);
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

/* ---- deadlines: one timer per connection, set to the nearest */

static void server_tcp_arm(struct server_tcp_conn *c)
{
    uint64_t deadline = c->active_ms + SERVER_TCP_IDLE_MS;
    if (c->opened_ms + SERVER_TCP_LIFETIME_MS < deadline) {
        deadline = c->opened_ms + SERVER_TCP_LIFETIME_MS;
    }
    if (c->partial && c->partial_ms + SERVER_TCP_MESSAGE_MS < deadline) {
        deadline = c->partial_ms + SERVER_TCP_MESSAGE_MS;
    }
    uint64_t now = uv_now(c->owner->loop);
    uv_timer_start(&c->timer, on_tcp_timer, deadline > now ? deadline - now : 0, 0);
}

/* Notes whether a message is in progress after the accumulator changed; progressed: a message
 * was taken, so the bytes left were started by a new one. */
static void server_tcp_note_partial(struct server_tcp_conn *c, bool progressed)
{
    bool partial = server_frame_is_partial(&c->in);
    if (partial && (!c->partial || progressed)) {
        c->partial_ms = uv_now(c->owner->loop);
    }
    c->partial = partial;
}

static void server_tcp_update_reading(struct server_tcp_conn *c);

static void on_tcp_timer(uv_timer_t *timer)
{
    struct server_tcp_conn *c = timer->data;
    struct server *s = c->owner;
    uint64_t now = uv_now(s->loop);
    if (c->partial && now >= c->partial_ms + SERVER_TCP_MESSAGE_MS) {
        s->stats.tcp_closed_slow++;
        server_tcp_close(c);
    } else if (now >= c->opened_ms + SERVER_TCP_LIFETIME_MS) {
        if (c->in_flight == 0) {
            s->stats.tcp_closed_lifetime++;
            server_tcp_close(c);
        } else {
            c->draining = true; /* closed by server_tcp_done after the last answer */
            server_tcp_update_reading(c);
        }
    } else if (now >= c->active_ms + SERVER_TCP_IDLE_MS) {
        if (c->in_flight == 0) {
            s->stats.tcp_closed_idle++;
            server_tcp_close(c);
        } /* else answers are pending: server_tcp_done re-arms */
    } else {
        server_tcp_arm(c);
    }
}

/* ---- accepting. At the cap the least recently active connection without queries in flight (idle
 * or half-sent) makes room, but on the next loop turns and never one accepted since the previous
 * turn: a client's first query, sent right after its connect, is read before the client can be
 * chosen, so an attacker reopening every closed connection cannot push clients out unread. */

/* The least recently active connection without queries in flight; with settled, only one that has
 * been through a read since it was accepted. */
static struct server_tcp_conn *server_tcp_victim(struct server *s, bool settled)
{
    for (struct list_link *k = s->conns.last; k != NULL; k = k->prev) {
        struct server_tcp_conn *v = server_tcp_conn_of(k);
        if (!v->closing && v->in_flight == 0 && (!settled || v->round < s->tcp_round)) {
            return v;
        }
    }
    return NULL;
}

/* Over the cap: evict on the next loop turns (an active idle handle keeps the loop from sleeping
 * in poll until then). */
static void server_tcp_want_evict(struct server *s)
{
    if (s->tcp_active > s->max_tcp_connections && !uv_is_active((uv_handle_t *)&s->tcp_evict)) {
        uv_idle_start(&s->tcp_evict, on_tcp_evict);
    }
}

static void on_tcp_evict(uv_idle_t *idle)
{
    struct server *s = idle->data;
    while (s->tcp_active > s->max_tcp_connections) {
        struct server_tcp_conn *v = server_tcp_victim(s, true);
        if (v == NULL) {
            break;
        }
        s->stats.tcp_evicted++;
        server_tcp_close(v);
    }
    s->tcp_round++;
    /* Done, or every connection has queries in flight (server_tcp_done asks again): stop; else
     * the new connections become candidates after this turn. */
    if (s->tcp_active <= s->max_tcp_connections || server_tcp_victim(s, false) == NULL) {
        uv_idle_stop(&s->tcp_evict);
    }
}

static struct server_tcp_conn *server_tcp_conn_new(struct server *s)
{
    struct server_tcp_conn *c = mem_calloc(1, sizeof(*c));
    c->owner = s;
    uv_tcp_init(s->loop, &c->handle);
    uv_timer_init(s->loop, &c->timer);
    c->handle.data = c;
    c->timer.data = c;
    c->handles_open = 2;
    s->handles_open++;
    s->stats.tcp_open++;
    s->tcp_active++;
    c->opened_ms = c->active_ms = uv_now(s->loop);
    c->round = s->tcp_round;
    list_push_front(&s->conns, &c->link);
    return c;
}

/* True when the connection just counted may stay: the cap may be exceeded until the next turns
 * (on_tcp_evict), by at most SERVER_TCP_OVER_CAP. */
static bool server_tcp_admit(const struct server *s)
{
    return s->max_tcp_connections > 0 &&
           s->tcp_active <= s->max_tcp_connections + SERVER_TCP_OVER_CAP;
}

static void on_tcp_connection(uv_stream_t *listener, int status)
{
    struct server_tcp_listener *l = listener->data;
    struct server *s = l->owner;
    if (status < 0) {
        return;
    }
    struct server_tcp_conn *c = server_tcp_conn_new(s);
    if (uv_accept(listener, (uv_stream_t *)&c->handle) != 0 || !server_tcp_admit(s)) {
        s->stats.tcp_rejected++;
        server_tcp_close(c);
        return;
    }
    s->stats.tcp_accepted++;
    server_tcp_want_evict(s);
    if (s->tcp_active > s->stats.tcp_open_max) {
        s->stats.tcp_open_max = s->tcp_active;
    }
    int len = sizeof(c->peer);
    uv_tcp_getpeername(&c->handle, &c->peer.sa, &len);
    len = sizeof(c->local);
    uv_tcp_getsockname(&c->handle, &c->local.sa, &len);
    uv_tcp_nodelay(&c->handle, 1);
    server_tcp_arm(c);
    c->reading = uv_read_start((uv_stream_t *)&c->handle, on_tcp_alloc, on_tcp_read) == 0;
}

/* ---- reading and dispatching */

static void on_tcp_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    struct server_tcp_conn *c = handle->data;
    (void)suggested;
    uint8_t *space;
    size_t space_len;
    server_frame_reserve(&c->in, 4096, &space, &space_len);
    buf->base = (char *)space;
    buf->len = space_len;
}

static void server_tcp_update_reading(struct server_tcp_conn *c)
{
    bool want = !c->closing && !c->draining && c->in_flight < SERVER_TCP_MAX_INFLIGHT &&
                uv_stream_get_write_queue_size((uv_stream_t *)&c->handle) < SERVER_TCP_MAX_WQUEUE;
    if (want && !c->reading) {
        c->reading = uv_read_start((uv_stream_t *)&c->handle, on_tcp_alloc, on_tcp_read) == 0;
    } else if (!want && c->reading) {
        uv_read_stop((uv_stream_t *)&c->handle);
        c->reading = false;
    }
}

static bool server_tcp_may_dispatch(const struct server_tcp_conn *c)
{
    return !c->closing && !c->draining && c->in_flight < SERVER_TCP_MAX_INFLIGHT;
}

/* Hands every complete message in the accumulator to the query callback; returns how many. */
static size_t server_tcp_dispatch(struct server_tcp_conn *c)
{
    struct server *s = c->owner;
    const uint8_t *msg;
    size_t mlen, count = 0;
    int rc = 0;
    if (c->dispatching) {
        return 0;
    }
    c->dispatching = true;
    while (server_tcp_may_dispatch(c) && (rc = server_frame_next(&c->in, &msg, &mlen)) > 0) {
        struct server_client client;
        memset(&client, 0, sizeof(client));
        client.transport = SERVER_TCP;
        client.tcp = c;
        client.peer = c->peer;
        client.local = c->local;
        c->in_flight++;
        count++;
        s->stats.tcp_queries++;
        server_tcp_touch(c);
        s->cb(s->cb_arg, &client, msg, mlen);
    }
    if (rc < 0) {
        server_tcp_close(c); /* RFC 7766: a message shorter than a header ends the session */
    }
    server_frame_compact(&c->in);
    c->dispatching = false;
    return count;
}

/* The accumulator changed (bytes read, or room for more queries): dispatch, then re-arm. */
static void server_tcp_progress(struct server_tcp_conn *c)
{
    size_t taken = server_tcp_dispatch(c);
    if (c->closing) {
        return;
    }
    server_tcp_note_partial(c, taken > 0);
    server_tcp_arm(c);
    server_tcp_update_reading(c);
}

static void on_tcp_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct server_tcp_conn *c = stream->data;
    (void)buf;
    if (nread < 0) {
        server_tcp_close(c);
        return;
    }
    server_frame_commit(&c->in, (size_t)nread);
    server_tcp_progress(c);
}

/* ---- answers */

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
    if (c->draining && c->in_flight == 0) {
        c->owner->stats.tcp_closed_lifetime++;
        server_tcp_close(c);
        return;
    }
    server_tcp_touch(c);
    server_tcp_want_evict(c->owner); /* c may be the candidate now */
    /* Messages left in the accumulator while the in-flight cap was reached. */
    server_tcp_progress(c);
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

static void on_evict_closed(uv_handle_t *handle)
{
    server_handle_closed(handle->data);
}

static void on_listener_closed(uv_handle_t *handle)
{
    struct server_tcp_listener *l = handle->data;
    struct server *s = l->owner;
    free(l);
    server_handle_closed(s);
}

void server_tcp_close_listener(struct server *s, struct server_tcp_listener *l)
{
    for (struct server_tcp_listener **p = &s->tcp; *p != NULL; p = &(*p)->next) {
        if (*p == l) {
            *p = l->next;
            uv_close((uv_handle_t *)&l->handle, on_listener_closed);
            return;
        }
    }
}

void server_tcp_close_all(struct server *s)
{
    for (struct server_tcp_listener *l = s->tcp, *next; l != NULL; l = next) {
        next = l->next;
        uv_close((uv_handle_t *)&l->handle, on_listener_closed);
    }
    if (s->tcp_evict_open) {
        s->tcp_evict_open = false;
        uv_close((uv_handle_t *)&s->tcp_evict, on_evict_closed);
    }
    s->tcp = NULL;
    for (struct list_link *k = s->conns.first; k != NULL; k = k->next) {
        server_tcp_close(server_tcp_conn_of(k));
    }
}
