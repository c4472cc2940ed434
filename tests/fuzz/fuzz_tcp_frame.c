/* fuzz_tcp_frame.c - fuzz target for DNS-over-TCP framing (server_frame.c, what server_tcp.c feeds
 * from its reads): the input's first two bytes seed how the rest, a byte stream from a client, is
 * split into reads (1 to 700 bytes each, as a slow or pipelining client sends it); after each read
 * every complete message is taken and the accumulator compacted, as the daemon does. The messages
 * must be exactly those found by walking the whole stream at once, in order, with the same
 * verdict on a too-short length, and "partial" must mean a message is really unfinished. */
#include <stdint.h>
#include <string.h>

#include "dnsroute/compat.h"
#include "dnsroute/err.h"
#include "dnsroute/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ref {
    size_t off[32768], len[32768]; /* each message's bytes in the stream */
    size_t count;
    bool bad;    /* the walk stopped at a length shorter than a DNS header */
    size_t tail; /* bytes after the last whole message */
};

static struct ref ref;

/* The whole stream at once: 2-byte big-endian length, then the message (RFC 1035 §4.2.2). */
static void ref_walk(const uint8_t *s, size_t n)
{
    size_t off = 0;
    ref.count = 0;
    ref.bad = false;
    while (n - off >= 2) {
        size_t mlen = ((size_t)s[off] << 8) | s[off + 1];
        if (mlen < 12) {
            ref.bad = true;
            break;
        }
        if (n - off - 2 < mlen) {
            break;
        }
        ref.off[ref.count] = off + 2;
        ref.len[ref.count++] = mlen;
        off += 2 + mlen;
    }
    ref.tail = n - off;
}

static uint32_t next_split(uint32_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 17;
    *state ^= *state << 5;
    return 1 + *state % 700;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > 32768 * 14) {
        return 0; /* (every message takes at least 14 bytes: ref's arrays hold them all) */
    }
    uint32_t state = 0x9e3779b9u ^ ((uint32_t)data[0] << 8 | data[1]);
    const uint8_t *stream = data + 2;
    size_t n = size - 2, fed = 0, got = 0;
    ref_walk(stream, n);
    struct server_frame f;
    memset(&f, 0, sizeof(f));
    bool bad = false;
    while (fed < n && !bad) {
        size_t chunk = next_split(&state), space_len;
        uint8_t *space;
        server_frame_reserve(&f, 4096, &space, &space_len);
        chunk = chunk < space_len ? chunk : space_len;
        chunk = chunk < n - fed ? chunk : n - fed;
        memcpy(space, stream + fed, chunk);
        server_frame_commit(&f, chunk);
        fed += chunk;
        const uint8_t *msg;
        size_t mlen;
        int rc;
        while ((rc = server_frame_next(&f, &msg, &mlen)) > 0) {
            DNSROUTE_REQUIRE(got < ref.count && mlen == ref.len[got]);
            DNSROUTE_REQUIRE(memcmp(msg, stream + ref.off[got], mlen) == 0);
            got++;
        }
        bad = rc == ERR_MALFORMED;
        DNSROUTE_REQUIRE(rc == 0 || bad);
        server_frame_compact(&f);
    }
    DNSROUTE_REQUIRE(got == ref.count && bad == ref.bad);
    if (!bad) {
        /* Bytes left over are an unfinished message, unless its length is already too short. */
        DNSROUTE_REQUIRE(server_frame_is_partial(&f) == (ref.tail > 0));
    }
    server_frame_free(&f);
    return 0;
}
