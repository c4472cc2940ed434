/* cache.c - hash table (chained, power-of-two buckets) plus a doubly linked LRU list over a
 * fixed number of entries. Each entry owns one allocation holding its reply bytes. Keys are
 * compared with the name folded to lower case (ASCII only, like dnsmasq). */
#include "dnsroute/cache.h"

#include <stdlib.h>
#include <string.h>

#include "dnsroute/mem.h"

struct cache_entry {
    struct cache_entry *hnext;         /* hash chain */
    struct cache_entry *lprev, *lnext; /* LRU: head is most recent */
    struct cache_key key;
    uint64_t hash;
    uint64_t stored_ms;
    uint64_t expires_ms;
    uint32_t ttl_s;
    size_t len;
    uint8_t *reply;
};

struct cache {
    struct cache_entry **buckets;
    size_t bucket_mask;
    struct cache_entry *lru_head, *lru_tail;
    struct cache_stats stats;
};

static void cache_fold(struct cache_key *k)
{
    for (size_t i = 0; i < k->name_len; i++) {
        uint8_t ch = k->name[i];
        if (ch >= 'A' && ch <= 'Z') {
            k->name[i] = (uint8_t)(ch + 32);
        }
    }
}

static uint64_t cache_hash(const struct cache_key *k)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < k->name_len; i++) {
        h = (h ^ k->name[i]) * 1099511628211ULL;
    }
    uint8_t tail[9] = {(uint8_t)(k->qtype >> 8),
                       (uint8_t)k->qtype,
                       (uint8_t)(k->qclass >> 8),
                       (uint8_t)k->qclass,
                       k->variant,
                       (uint8_t)(k->route >> 24),
                       (uint8_t)(k->route >> 16),
                       (uint8_t)(k->route >> 8),
                       (uint8_t)k->route};
    for (size_t i = 0; i < sizeof(tail); i++) {
        h = (h ^ tail[i]) * 1099511628211ULL;
    }
    return h;
}

static bool cache_key_equal(const struct cache_key *a, const struct cache_key *b)
{
    return a->name_len == b->name_len && a->qtype == b->qtype && a->qclass == b->qclass &&
           a->variant == b->variant && a->route == b->route &&
           memcmp(a->name, b->name, a->name_len) == 0;
}

struct cache *cache_new(uint32_t max_entries)
{
    struct cache *c = mem_calloc(1, sizeof(*c));
    size_t n = 16;
    while (n < (size_t)max_entries) {
        n *= 2;
    }
    c->buckets = mem_calloc(n, sizeof(*c->buckets));
    c->bucket_mask = n - 1;
    c->stats.max_entries = max_entries;
    return c;
}

static void cache_lru_unlink(struct cache *c, struct cache_entry *e)
{
    if (e->lprev != NULL) {
        e->lprev->lnext = e->lnext;
    } else {
        c->lru_head = e->lnext;
    }
    if (e->lnext != NULL) {
        e->lnext->lprev = e->lprev;
    } else {
        c->lru_tail = e->lprev;
    }
    e->lprev = e->lnext = NULL;
}

static void cache_lru_push(struct cache *c, struct cache_entry *e)
{
    e->lprev = NULL;
    e->lnext = c->lru_head;
    if (c->lru_head != NULL) {
        c->lru_head->lprev = e;
    }
    c->lru_head = e;
    if (c->lru_tail == NULL) {
        c->lru_tail = e;
    }
}

static void cache_remove(struct cache *c, struct cache_entry *e)
{
    struct cache_entry **pp = &c->buckets[e->hash & c->bucket_mask];
    while (*pp != e) {
        pp = &(*pp)->hnext;
    }
    *pp = e->hnext;
    cache_lru_unlink(c, e);
    free(e->reply);
    free(e);
    c->stats.entries--;
}

static struct cache_entry *cache_find(const struct cache *c, const struct cache_key *k, uint64_t h)
{
    for (struct cache_entry *e = c->buckets[h & c->bucket_mask]; e != NULL; e = e->hnext) {
        if (e->hash == h && cache_key_equal(&e->key, k)) {
            return e;
        }
    }
    return NULL;
}

bool cache_lookup(struct cache *c, const struct cache_key *key, uint64_t now_ms,
                  struct cache_hit *hit)
{
    struct cache_key k = *key;
    cache_fold(&k);
    uint64_t h = cache_hash(&k);
    struct cache_entry *e = cache_find(c, &k, h);
    if (e == NULL) {
        c->stats.misses++;
        return false;
    }
    if (now_ms >= e->expires_ms) {
        c->stats.expired++;
        c->stats.misses++;
        cache_remove(c, e);
        return false;
    }
    cache_lru_unlink(c, e);
    cache_lru_push(c, e);
    hit->reply = e->reply;
    hit->len = e->len;
    hit->age_s = (uint32_t)((now_ms - e->stored_ms) / 1000);
    hit->ttl_s = e->ttl_s;
    c->stats.hits++;
    return true;
}

void cache_insert(struct cache *c, const struct cache_key *key, const uint8_t *reply, size_t len,
                  uint32_t ttl_s, uint64_t now_ms)
{
    if (c->stats.max_entries == 0 || ttl_s == 0) {
        return;
    }
    struct cache_key k = *key;
    cache_fold(&k);
    uint64_t h = cache_hash(&k);
    struct cache_entry *e = cache_find(c, &k, h);
    if (e != NULL) {
        cache_remove(c, e);
    }
    if (c->stats.entries >= c->stats.max_entries) {
        cache_remove(c, c->lru_tail);
        c->stats.evictions++;
    }
    e = mem_calloc(1, sizeof(*e));
    e->key = k;
    e->hash = h;
    e->stored_ms = now_ms;
    e->expires_ms = now_ms + (uint64_t)ttl_s * 1000;
    e->ttl_s = ttl_s;
    e->len = len;
    e->reply = mem_alloc(len);
    memcpy(e->reply, reply, len);
    e->hnext = c->buckets[h & c->bucket_mask];
    c->buckets[h & c->bucket_mask] = e;
    cache_lru_push(c, e);
    c->stats.entries++;
    c->stats.inserts++;
}

void cache_clear(struct cache *c)
{
    while (c->lru_head != NULL) {
        cache_remove(c, c->lru_head);
    }
}

void cache_free(struct cache *c)
{
    if (c == NULL) {
        return;
    }
    cache_clear(c);
    free(c->buckets);
    free(c);
}

void cache_get_stats(const struct cache *c, struct cache_stats *out)
{
    *out = c->stats;
}
