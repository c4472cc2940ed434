/* prefixset.c - open-addressing hash table (linear probing, power-of-two size, at most half
 * full) of prefixes keyed by family, length and the masked address, plus the list of prefix
 * lengths present per family, longest first. Used by query.c for bogus-nxdomain=. */
#include "dnsroute/prefixset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dnsroute/hash.h"
#include "dnsroute/mem.h"

struct prefixset_slot {
    uint8_t addr[16]; /* masked: the bits past len are zero */
    uint8_t len;
    uint8_t v6;
    bool used;
};

struct prefixset {
    struct prefixset_slot *slots;
    size_t mask;
    size_t count;
    uint32_t signature;   /* XOR of the prefixes' hashes */
    uint8_t nlens[2];     /* [v6] distinct prefix lengths of the family */
    uint8_t lens[2][129]; /* [v6] those lengths, longest first */
};

struct prefixset *prefixset_new(void)
{
    struct prefixset *s = mem_calloc(1, sizeof(*s));
    s->mask = 15;
    s->slots = mem_calloc(s->mask + 1, sizeof(*s->slots));
    return s;
}

void prefixset_free(struct prefixset *s)
{
    if (s != NULL) {
        free(s->slots);
        free(s);
    }
}

size_t prefixset_count(const struct prefixset *s)
{
    return s != NULL ? s->count : 0;
}

uint32_t prefixset_signature(const struct prefixset *s)
{
    return s != NULL ? s->signature : 0;
}

/* out = the first len bits of addr, the rest zero. */
static void prefix_mask(uint8_t out[16], const uint8_t *addr, unsigned len)
{
    unsigned full = len / 8, rest = len % 8;
    memset(out, 0, 16);
    memcpy(out, addr, full);
    if (rest != 0) {
        out[full] = (uint8_t)(addr[full] & (0xff << (8 - rest)));
    }
}

static size_t prefix_hash(const uint8_t masked[16], unsigned len, bool v6)
{
    uint32_t h = hash_fnv32(HASH_FNV32_BASIS ^ (len | (v6 ? 0x100u : 0)), masked, (len + 7) / 8);
    h ^= h >> 16;
    h *= 0x85ebca6bu; /* murmur3 fmix32: FNV's low bits alone index a table poorly */
    h ^= h >> 13;
    return h;
}

/* The slot holding (masked, len, v6), or the empty slot where it belongs. */
static struct prefixset_slot *prefix_slot(const struct prefixset *s, const uint8_t masked[16],
                                          unsigned len, bool v6)
{
    size_t i = prefix_hash(masked, len, v6) & s->mask;
    for (;; i = (i + 1) & s->mask) {
        struct prefixset_slot *slot = &s->slots[i];
        if (!slot->used || (slot->len == len && slot->v6 == v6 &&
                            memcmp(slot->addr, masked, (len + 7) / 8) == 0)) {
            return slot;
        }
    }
}

static void prefixset_grow(struct prefixset *s)
{
    struct prefixset_slot *old = s->slots;
    size_t n = s->mask + 1;
    s->mask = 2 * n - 1;
    s->slots = mem_calloc(2 * n, sizeof(*s->slots));
    for (size_t i = 0; i < n; i++) {
        if (old[i].used) {
            *prefix_slot(s, old[i].addr, old[i].len, old[i].v6) = old[i];
        }
    }
    free(old);
}

/* Records len among the family's lengths, keeping them longest first. */
static void prefixset_note_len(struct prefixset *s, bool v6, unsigned len)
{
    uint8_t *lens = s->lens[v6];
    unsigned n = s->nlens[v6], i = 0;
    while (i < n && lens[i] > len) {
        i++;
    }
    if (i < n && lens[i] == len) {
        return;
    }
    memmove(lens + i + 1, lens + i, n - i);
    lens[i] = (uint8_t)len;
    s->nlens[v6] = (uint8_t)(n + 1);
}

int prefixset_add(struct prefixset *s, int family, const uint8_t *addr, unsigned prefix_len)
{
    bool v6 = family == AF_INET6;
    if ((family != AF_INET && !v6) || prefix_len > (v6 ? 128u : 32u)) {
        return -EINVAL;
    }
    if (2 * (s->count + 1) > s->mask + 1) {
        prefixset_grow(s);
    }
    uint8_t masked[16];
    prefix_mask(masked, addr, prefix_len);
    struct prefixset_slot *slot = prefix_slot(s, masked, prefix_len, v6);
    if (!slot->used) {
        memcpy(slot->addr, masked, sizeof(masked));
        slot->len = (uint8_t)prefix_len;
        slot->v6 = v6;
        slot->used = true;
        s->count++;
        s->signature ^= (uint32_t)prefix_hash(masked, prefix_len, v6);
        prefixset_note_len(s, v6, prefix_len);
    }
    return 0;
}

bool prefixset_has(const struct prefixset *s, int family, const uint8_t *addr)
{
    bool v6 = family == AF_INET6;
    if (s == NULL || (family != AF_INET && !v6)) {
        return false;
    }
    for (unsigned i = 0; i < s->nlens[v6]; i++) {
        uint8_t masked[16];
        unsigned len = s->lens[v6][i];
        prefix_mask(masked, addr, len);
        if (prefix_slot(s, masked, len, v6)->used) {
            return true;
        }
    }
    return false;
}
