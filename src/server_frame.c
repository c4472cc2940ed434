/* server_frame.c - the TCP framing accumulator (RFC 1035 §4.2.2, RFC 7766 §8): bytes arrive in
 * reads of any size; each message is a 2-byte big-endian length and that many bytes, several may
 * be pipelined in one read and one may be split over many. No I/O: server_tcp.c feeds it from its
 * reads, and tests/fuzz/fuzz_tcp_frame.c feeds it arbitrary splits. */
#include "dnsroute/server.h"

#include <stdlib.h>
#include <string.h>

#include "dnsroute/compat.h"
#include "dnsroute/err.h"
#include "dnsroute/mem.h"

/* A message shorter than a DNS header cannot be a query (RFC 7766 §8: the session ends). */
#define SERVER_FRAME_MIN_LEN 12

void server_frame_reserve(struct server_frame *f, size_t want, uint8_t **space, size_t *space_len)
{
    if (f->off > 0 && f->cap - f->len < want) {
        server_frame_compact(f);
    }
    mem_grow((void **)&f->buf, &f->cap, f->len + want, 1);
    *space = f->buf + f->len;
    *space_len = f->cap - f->len;
}

void server_frame_commit(struct server_frame *f, size_t n)
{
    DNSROUTE_REQUIRE(n <= f->cap - f->len);
    f->len += n;
}

int server_frame_next(struct server_frame *f, const uint8_t **msg, size_t *msg_len)
{
    size_t have = f->len - f->off;
    if (have < 2) {
        return 0;
    }
    size_t mlen = ((size_t)f->buf[f->off] << 8) | f->buf[f->off + 1];
    if (mlen < SERVER_FRAME_MIN_LEN) {
        return ERR_MALFORMED;
    }
    if (have - 2 < mlen) {
        return 0;
    }
    *msg = f->buf + f->off + 2;
    *msg_len = mlen;
    f->off += 2 + mlen;
    return 1;
}

void server_frame_compact(struct server_frame *f)
{
    memmove(f->buf, f->buf + f->off, f->len - f->off);
    f->len -= f->off;
    f->off = 0;
}

bool server_frame_is_partial(const struct server_frame *f)
{
    size_t have = f->len - f->off;
    if (have < 2) {
        return have > 0;
    }
    size_t mlen = ((size_t)f->buf[f->off] << 8) | f->buf[f->off + 1];
    return mlen >= SERVER_FRAME_MIN_LEN && have - 2 < mlen;
}

void server_frame_free(struct server_frame *f)
{
    free(f->buf);
    memset(f, 0, sizeof(*f));
}
