/* cache.c - sharded hash table (chained, power-of-two buckets per shard) with CLOCK eviction
 * over a ring of cap slots per shard: a new entry takes the slot of the entry it replaces or
 * evicts, so the hand meets entries in the order they came (FIFO with a second chance for the
 * ones hit since the hand last passed, which approximates LRU). Each entry is one allocation: a
 * small header, then the folded name, the caller's summary, the TTL offsets and the reply bytes.
 * Keys are compared with the name folded to lower case (ASCII only, like dnsmasq). Shard locks
 * cover only the table operations and the copy of a hit; allocation and freeing are done outside
 * them. */
#include "dnsroute/cache.h"

#include <assert.h>
#include <malloc.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "dnsroute/compat.h"
#include "dnsroute/hash.h"
#include "dnsroute/mem.h"

struct cache_entry {
    struct cache_entry *next; /* hash chain */
    uint64_t expires_ms;
    uint32_t ring_pos;
    uint32_t ttl_s;
    uint16_t qtype, qclass;
    uint16_t len;       /* reply bytes */
    uint16_t ttl_count; /* TTL offsets */
    uint8_t name_len, meta_len;
    uint8_t variant : 2;
    uint8_t referenced : 1; /* the CLOCK bit */
    uint8_t refreshing : 1; /* a refresh of this stale entry started at refresh_tick */
    uint8_t refresh_tick;   /* seconds of the caller's clock, modulo 256 (one byte: an entry
                             * costs no more than before stale entries existed) */
    /* name[name_len], meta[meta_len], padding to 2, ttl_offs[ttl_count], reply[len] */
    uint8_t data[];
};

struct cache_shard {
    pthread_mutex_t lock;
    struct cache_stats stats; /* this shard's; entries, bytes, reply_bytes kept current */
    struct cache_entry **buckets;
    size_t bucket_mask;
    struct cache_entry **ring; /* cap slots, NULL when free; the CLOCK hand sweeps them */
    uint32_t *free_slots;      /* slots freed by expiry, reused first */
    uint32_t count, cap, hand, fill, nfree; /* fill: slots ever used */
    uint8_t pad[64]; /* keeps the next shard's lock off this shard's cache lines */
};

struct cache {
    struct cache_shard *shards;
    uint32_t shard_mask;
    uint32_t max_entries;
};

enum { CACHE_SHARDS_MAX = 64, CACHE_ENTRIES_PER_SHARD_MIN = 32 };

static size_t entry_ttl_offs_at(const struct cache_entry *e)
{
    return ((size_t)e->name_len + e->meta_len + 1) & ~(size_t)1;
}

static const uint16_t *entry_ttl_offs(const struct cache_entry *e)
{
    return (const uint16_t *)(const void *)(e->data + entry_ttl_offs_at(e));
}

static const uint8_t *entry_reply(const struct cache_entry *e)
{
    return e->data + entry_ttl_offs_at(e) + 2 * (size_t)e->ttl_count;
}

/* What an entry costs: its block as the allocator holds it, with the block header. */
static size_t entry_bytes(struct cache_entry *e)
{
    return malloc_usable_size(e) + sizeof(size_t);
}

/* The key's hash: hash_words64 over the folded name, then type, class and variant as one more
 * word, mixed (murmur3 fmix64) because the shard takes the top bits and the bucket the low ones.
 * Computed on every query (hash.h says why not FNV here). */
static uint64_t key_hash(const uint8_t *folded, size_t name_len, uint16_t qtype, uint16_t qclass,
                         uint8_t variant)
{
    uint64_t tail = (uint64_t)qtype << 24 | (uint64_t)qclass << 8 | variant;
    uint64_t h = hash_words64(HASH_FNV64_BASIS, folded, name_len);
    h = (h ^ tail) * 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static void key_fold(struct cache_key *k, const uint8_t *name, size_t name_len, uint16_t qtype,
                     uint16_t qclass, uint8_t variant)
{
    k->name_len = (uint8_t)name_len;
    for (size_t i = 0; i < name_len; i++) {
        uint8_t ch = name[i];
        k->name[i] = ch >= 'A' && ch <= 'Z' ? (uint8_t)(ch + 32) : ch;
    }
    k->qtype = qtype;
    k->qclass = qclass;
    k->variant = variant;
}

void cache_key_init(struct cache_key *k, const uint8_t *name, size_t name_len, uint16_t qtype,
                    uint16_t qclass, uint8_t variant)
{
    key_fold(k, name, name_len, qtype, qclass, variant);
    k->hash = key_hash(k->name, name_len, qtype, qclass, variant);
}

void cache_key_init_hashed(struct cache_key *k, const uint8_t *name, size_t name_len,
                           uint16_t qtype, uint16_t qclass, uint8_t variant, uint64_t hash)
{
    key_fold(k, name, name_len, qtype, qclass, variant);
    k->hash = hash;
    assert(hash == key_hash(k->name, name_len, qtype, qclass, variant));
}

static struct cache_shard *shard_of(const struct cache *c, uint64_t hash)
{
    return &c->shards[(hash >> 40) & c->shard_mask];
}

uint64_t cache_hash(const uint8_t *name, size_t name_len, uint16_t qtype, uint16_t qclass,
                    uint8_t variant)
{
    uint8_t folded[DNAME_WIRE_MAX];
    name_len = name_len < sizeof(folded) ? name_len : sizeof(folded);
    for (size_t i = 0; i < name_len; i++) {
        uint8_t ch = name[i];
        folded[i] = ch >= 'A' && ch <= 'Z' ? (uint8_t)(ch + 32) : ch;
    }
    return key_hash(folded, name_len, qtype, qclass, variant);
}

/* Two passes over the batch, so that its cache misses overlap instead of coming one after the
 * other inside the shard locks: first the bucket slots, then (their loads done by then) the
 * first entry of each chain, its header and its data up to a typical reply's end. No lock is taken:
 * a bucket head is read atomically (every store to a chain link is atomic, under the shard lock),
 * and prefetching an entry another thread has just freed is harmless (a prefetch never faults).
 * Nothing read here is used for anything but the hint. */
void cache_prefetch(const struct cache *c, const uint64_t *hashes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct cache_shard *s = shard_of(c, hashes[i]);
        __builtin_prefetch(&s->buckets[hashes[i] & s->bucket_mask]);
    }
    for (size_t i = 0; i < n; i++) {
        const struct cache_shard *s = shard_of(c, hashes[i]);
        const struct cache_entry *e =
            __atomic_load_n(&s->buckets[hashes[i] & s->bucket_mask], __ATOMIC_RELAXED);
        if (e != NULL) {
            /* Header, name and summary, TTL offsets and a typical reply: five lines. */
            for (size_t off = 0; off < (size_t)5 * 64; off += 64) {
                __builtin_prefetch((const uint8_t *)e + off);
            }
        }
    }
}

/* The bucket of an entry, from its stored key (evictions and removals only). */
static size_t entry_bucket(const struct cache_shard *s, const struct cache_entry *e)
{
    return key_hash(e->data, e->name_len, e->qtype, e->qclass, e->variant) & s->bucket_mask;
}

static bool entry_matches(const struct cache_entry *e, const struct cache_key *k)
{
    return e->name_len == k->name_len && e->qtype == k->qtype && e->qclass == k->qclass &&
           e->variant == k->variant && memcmp(e->data, k->name, k->name_len) == 0;
}

static void shard_init(struct cache_shard *s, uint32_t cap)
{
    pthread_mutex_init(&s->lock, NULL);
    size_t n = 16;
    while (n < cap) {
        n *= 2;
    }
    s->buckets = mem_calloc(n, sizeof(struct cache_entry *));
    s->bucket_mask = n - 1;
    s->cap = cap;
    s->ring = mem_calloc(cap ? cap : 1, sizeof(struct cache_entry *));
    s->free_slots = mem_calloc(cap ? cap : 1, sizeof(*s->free_slots));
    s->stats.max_entries = cap;
    s->stats.bytes = sizeof(*s) + n * sizeof(struct cache_entry *) +
                     (cap ? cap : 1) * (sizeof(struct cache_entry *) + sizeof(*s->free_slots));
}

struct cache *cache_new(uint32_t max_entries)
{
    struct cache *c = mem_calloc(1, sizeof(*c));
    uint32_t shards = 1;
    while (shards < CACHE_SHARDS_MAX &&
           (uint64_t)shards * 2 * CACHE_ENTRIES_PER_SHARD_MIN <= max_entries) {
        shards *= 2;
    }
    c->shards = mem_calloc(shards, sizeof(*c->shards));
    c->shard_mask = shards - 1;
    c->max_entries = max_entries;
    for (uint32_t i = 0; i < shards; i++) {
        /* An even split; the first max_entries % shards shards take one more. */
        shard_init(&c->shards[i], max_entries / shards + (i < max_entries % shards));
    }
    return c;
}

/* Unlinks e from its chain and accounts for it; its ring slot is the caller's business. Locked. */
static void shard_unlink(struct cache_shard *s, struct cache_entry *e)
{
    struct cache_entry **pp = &s->buckets[entry_bucket(s, e)];
    while (*pp != e) {
        pp = &(*pp)->next;
    }
    __atomic_store_n(pp, e->next, __ATOMIC_RELAXED); /* a bucket head: see cache_prefetch */
    s->count--;
    s->stats.entries--;
    s->stats.bytes -= entry_bytes(e);
    s->stats.reply_bytes -= e->len;
}

/* Unlinks e and frees its ring slot for reuse. Locked. */
static void shard_remove(struct cache_shard *s, struct cache_entry *e)
{
    shard_unlink(s, e);
    s->ring[e->ring_pos] = NULL;
    s->free_slots[s->nfree++] = e->ring_pos;
}

/* CLOCK: the first entry from the hand on that is expired or has no bit (bits passed over are
 * cleared); the hand moves past it. Terminates within two sweeps. Locked; every slot is used. */
static struct cache_entry *shard_victim(struct cache_shard *s, uint64_t now_ms)
{
    for (;;) {
        struct cache_entry *e = s->ring[s->hand];
        s->hand = s->hand + 1 < s->cap ? s->hand + 1 : 0;
        if (!e->referenced || now_ms >= e->expires_ms) {
            return e; /* a stale entry (use-stale-cache) goes before a live one */
        }
        e->referenced = 0;
    }
}

static struct cache_entry *shard_find(const struct cache_shard *s, const struct cache_key *k)
{
    for (struct cache_entry *e = s->buckets[k->hash & s->bucket_mask]; e != NULL; e = e->next) {
        if (entry_matches(e, k)) {
            return e;
        }
    }
    return NULL;
}

static bool hit_copy(const struct cache_entry *e, uint64_t now_ms, struct cache_hit *hit)
{
    if (hit->reply_cap < e->len || hit->ttl_cap < e->ttl_count) {
        return false;
    }
    memcpy(hit->reply, entry_reply(e), e->len);
    if (e->ttl_count != 0) {
        memcpy(hit->ttl_offs, entry_ttl_offs(e), 2 * (size_t)e->ttl_count);
    }
    if (e->meta_len != 0) {
        memcpy(hit->meta, e->data + e->name_len, e->meta_len);
    }
    hit->len = e->len;
    hit->ttl_count = e->ttl_count;
    hit->meta_len = e->meta_len;
    hit->ttl_s = e->ttl_s;
    uint64_t stored_ms = e->expires_ms - (uint64_t)e->ttl_s * 1000;
    hit->age_s = (uint32_t)((now_ms - stored_ms) / 1000);
    return true;
}

/* True when e, expired at now_ms, is past what hit->stale_ms still serves. */
static bool entry_is_dead(const struct cache_entry *e, uint64_t now_ms, uint64_t stale_ms)
{
    return now_ms >= e->expires_ms && now_ms - e->expires_ms >= stale_ms;
}

/* Marks a stale hit and decides whether it asks for a refresh. Locked. */
static void hit_mark_stale(struct cache_entry *e, uint64_t now_ms, struct cache_hit *hit)
{
    hit->stale = now_ms >= e->expires_ms;
    uint8_t tick = (uint8_t)(now_ms / 1000);
    hit->refresh =
        hit->stale && (!e->refreshing || (uint8_t)(tick - e->refresh_tick) >= CACHE_REFRESH_HOLD_S);
    if (hit->refresh) {
        e->refreshing = 1;
        e->refresh_tick = tick;
    }
}

bool cache_lookup(struct cache *c, const struct cache_key *key, uint64_t now_ms,
                  struct cache_hit *hit)
{
    struct cache_shard *s = shard_of(c, key->hash);
    struct cache_entry *dead = NULL;
    bool found = false;
    hit->stale = hit->refresh = false;
    pthread_mutex_lock(&s->lock);
    struct cache_entry *e = shard_find(s, key);
    if (e != NULL && entry_is_dead(e, now_ms, hit->stale_ms)) {
        shard_remove(s, e);
        s->stats.expired++;
        dead = e;
    } else if (e != NULL) {
        if (!e->referenced) {
            e->referenced = 1; /* written only when it changes: hits on hot names stay reads */
        }
        found = hit_copy(e, now_ms, hit);
        if (found) {
            hit_mark_stale(e, now_ms, hit);
        }
    }
    if (found) {
        s->stats.hits++;
    } else {
        s->stats.misses++;
    }
    pthread_mutex_unlock(&s->lock);
    free(dead);
    return found;
}

void cache_refresh_end(struct cache *c, const struct cache_key *key)
{
    struct cache_shard *s = shard_of(c, key->hash);
    pthread_mutex_lock(&s->lock);
    struct cache_entry *e = shard_find(s, key);
    if (e != NULL) {
        e->refreshing = 0;
    }
    pthread_mutex_unlock(&s->lock);
}

/* A filled entry for key and *v, allocated outside any lock. */
static struct cache_entry *entry_new(const struct cache_key *k, const struct cache_value *v,
                                     uint32_t ttl_s, uint64_t now_ms)
{
    size_t meta_len = v->meta_len < CACHE_META_MAX ? v->meta_len : CACHE_META_MAX;
    size_t offs_at = ((size_t)k->name_len + meta_len + 1) & ~(size_t)1;
    struct cache_entry *e =
        mem_alloc(offsetof(struct cache_entry, data) + offs_at + 2 * v->ttl_count + v->len);
    memset(e, 0, offsetof(struct cache_entry, data));
    e->expires_ms = now_ms + (uint64_t)ttl_s * 1000;
    e->ttl_s = ttl_s;
    e->qtype = k->qtype;
    e->qclass = k->qclass;
    e->len = (uint16_t)v->len;
    e->ttl_count = (uint16_t)v->ttl_count;
    e->name_len = k->name_len;
    e->variant = k->variant & 3;
    e->meta_len = (uint8_t)meta_len;
    memcpy(e->data, k->name, k->name_len);
    if (meta_len != 0) { /* memcpy from NULL is undefined even for 0 bytes */
        memcpy(e->data + k->name_len, v->meta, meta_len);
    }
    if (v->ttl_count != 0) {
        memcpy(e->data + offs_at, v->ttl_offs, 2 * v->ttl_count);
    }
    memcpy(e->data + offs_at + 2 * v->ttl_count, v->reply, v->len);
    return e;
}

/* Links e into the shard in the slot of the entry it replaces, a free slot, or the slot of the
 * entry CLOCK evicts; returns the entry to free, if any. Locked. */
static struct cache_entry *shard_link(struct cache_shard *s, const struct cache_key *k,
                                      struct cache_entry *e, uint64_t now_ms)
{
    struct cache_entry *dead = shard_find(s, k);
    if (dead == NULL && s->count < s->cap) {
        e->ring_pos = s->nfree > 0 ? s->free_slots[--s->nfree] : s->fill++;
    } else {
        if (dead == NULL) {
            dead = shard_victim(s, now_ms);
            s->stats.evictions++;
        }
        shard_unlink(s, dead);
        e->ring_pos = dead->ring_pos;
    }
    s->ring[e->ring_pos] = e;
    struct cache_entry **head = &s->buckets[k->hash & s->bucket_mask];
    e->next = *head;
    __atomic_store_n(head, e, __ATOMIC_RELAXED); /* see cache_prefetch */
    s->count++;
    s->stats.entries++;
    s->stats.inserts++;
    s->stats.bytes += entry_bytes(e);
    s->stats.reply_bytes += e->len;
    return dead;
}

void cache_insert(struct cache *c, const struct cache_key *key, const struct cache_value *v,
                  uint32_t ttl_s, uint64_t now_ms)
{
    struct cache_shard *s = shard_of(c, key->hash);
    if (s->cap == 0 || (ttl_s == 0 && !v->keep_expired) || v->len > UINT16_MAX ||
        v->ttl_count > UINT16_MAX) {
        return;
    }
    struct cache_entry *e = entry_new(key, v, ttl_s, now_ms);
    pthread_mutex_lock(&s->lock);
    struct cache_entry *dead = shard_link(s, key, e, now_ms);
    pthread_mutex_unlock(&s->lock);
    free(dead);
}

static void shard_clear(struct cache_shard *s)
{
    pthread_mutex_lock(&s->lock);
    for (uint32_t i = 0; i < s->fill; i++) {
        if (s->ring[i] != NULL) {
            shard_unlink(s, s->ring[i]);
            free(s->ring[i]);
            s->ring[i] = NULL;
        }
    }
    s->hand = s->fill = s->nfree = 0;
    pthread_mutex_unlock(&s->lock);
}

void cache_clear(struct cache *c)
{
    for (uint32_t i = 0; i <= c->shard_mask; i++) {
        shard_clear(&c->shards[i]);
    }
}

void cache_free(struct cache *c)
{
    if (c == NULL) {
        return;
    }
    cache_clear(c);
    for (uint32_t i = 0; i <= c->shard_mask; i++) {
        pthread_mutex_destroy(&c->shards[i].lock);
        free(c->shards[i].buckets);
        free(c->shards[i].ring);
        free(c->shards[i].free_slots);
    }
    free(c->shards);
    free(c);
}

void cache_get_stats(struct cache *c, struct cache_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->bytes = sizeof(*c);
    for (uint32_t i = 0; i <= c->shard_mask; i++) {
        struct cache_shard *s = &c->shards[i];
        pthread_mutex_lock(&s->lock);
        out->hits += s->stats.hits;
        out->misses += s->stats.misses;
        out->inserts += s->stats.inserts;
        out->evictions += s->stats.evictions;
        out->expired += s->stats.expired;
        out->bytes += s->stats.bytes;
        out->reply_bytes += s->stats.reply_bytes;
        out->entries += s->stats.entries;
        pthread_mutex_unlock(&s->lock);
    }
    out->max_entries = c->max_entries;
    out->shards = c->shard_mask + 1;
}
