/* cache.h - the answer cache, shared by every worker thread: at most cache-size entries, O(1)
 * lookup, insert and eviction (CLOCK: a hit only sets a bit, so a lookup writes nothing else).
 * Keys are the question (name case-folded, type, class) plus the bits that change what an answer
 * may contain (DNSSEC OK, checking disabled), so a client never gets an answer fetched under
 * different EDNS needs; what else decides whether a hit may be used (the route it came through)
 * the caller keeps in the entry's summary. Values are
 * whole upstream replies stored once, with the offsets of their TTL fields and a small summary
 * the caller parsed from them, so a hit is served without parsing the reply again; the caller
 * ages the TTLs on the way out.
 *
 * The table is split into shards (a power of two, by the key's hash), each behind its own lock;
 * the key is folded and hashed by the caller before any lock is taken, and allocation and
 * freeing happen outside the locks. Every function may run on several threads at once, except
 * cache_new and cache_free.
 *
 * Pure module: no I/O, time is passed in (milliseconds of a monotonic clock). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dnsroute/dname.h"

struct cache;

/* A lookup key, built by cache_key_init (outside any lock). Lives on the caller's stack; an
 * entry stores only name_len bytes of the name. */
struct cache_key {
    uint8_t name[DNAME_WIRE_MAX]; /* uncompressed wire form, folded to lower case */
    uint8_t name_len;
    uint8_t variant; /* CACHE_VARIANT_* bits */
    uint16_t qtype;
    uint16_t qclass;
    uint64_t hash;
};

enum { CACHE_VARIANT_DO = 1, CACHE_VARIANT_CD = 2 };

/* Largest summary (cache_value.meta) an entry keeps. */
enum { CACHE_META_MAX = 64 };

/* Folds name[name_len] (wire form, at most DNAME_WIRE_MAX bytes) into k and hashes the key. */
void cache_key_init(struct cache_key *k, const uint8_t *name, size_t name_len, uint16_t qtype,
                    uint16_t qclass, uint8_t variant);

/* cache_key_init with the key's hash already known: cache_hash of the same question (e.g. read
 * from the datagram before the parse). Folds the name and takes the hash as given (debug builds
 * assert it is the one cache_key_init would compute). */
void cache_key_init_hashed(struct cache_key *k, const uint8_t *name, size_t name_len,
                           uint16_t qtype, uint16_t qclass, uint8_t variant, uint64_t hash);

/* The hash cache_key_init gives the same question (name in wire form, any case). */
uint64_t cache_hash(const uint8_t *name, size_t name_len, uint16_t qtype, uint16_t qclass,
                    uint8_t variant);

/* A hint before lookups of the keys with these hashes (a receive batch): starts loading what
 * they will touch, with no lock and no effect on the cache's content. */
void cache_prefetch(const struct cache *c, const uint64_t *hashes, size_t n);

/* What an entry stores, copied by cache_insert: the reply (at most 65535 bytes), the offsets of
 * its TTL fields, and meta_len (<= CACHE_META_MAX) opaque bytes the caller wants back on a hit. */
struct cache_value {
    const uint8_t *reply;
    size_t len;
    const uint16_t *ttl_offs;
    size_t ttl_count;
    const void *meta;
    size_t meta_len;
    bool keep_expired; /* store even with ttl_s 0 (use-stale-cache: served stale only) */
};

/* A hit, copied out into the caller's buffers while the shard is locked. The caller sets the
 * buffers and capacities; cache_lookup fills the rest. */
struct cache_hit {
    uint8_t *reply; /* in: buffer of reply_cap bytes */
    size_t reply_cap;
    uint16_t *ttl_offs; /* in: room for ttl_cap offsets */
    size_t ttl_cap;
    void *meta;       /* in: room for CACHE_META_MAX bytes */
    size_t len;       /* out: reply length */
    size_t ttl_count; /* out */
    size_t meta_len;  /* out */
    uint32_t age_s;   /* out: seconds since it was stored */
    uint32_t ttl_s;   /* out: TTL it was stored with */
    /* in: how long past its expiry an entry is still served (dnsmasq use-stale-cache); 0: not
     * at all, UINT64_MAX: however old. */
    uint64_t stale_ms;
    bool stale;   /* out: the entry had expired (it is served under stale_ms) */
    bool refresh; /* out: stale, and no refresh of it is under way: the caller fetches a fresh
                   * answer now and calls cache_refresh_end when that is over */
};

/* Counters, summed over the shards. bytes is all the memory the cache holds (tables, entries,
 * the allocator's per-block overhead); reply_bytes the part that is reply bytes. */
struct cache_stats {
    uint64_t hits, misses, inserts, evictions, expired;
    uint64_t bytes, reply_bytes;
    uint32_t entries, max_entries, shards;
};

/* Creates a cache of at most max_entries (0: a cache that stores nothing). Tiny caches (under
 * 64 entries) have one shard and evict exactly the entry CLOCK picks over all of them; larger
 * ones split max_entries evenly between up to 64 shards (at least 32 entries each; dnsmasq's
 * default 150 gets 4), each evicting on its own, so a shard may evict while another has room. */
struct cache *cache_new(uint32_t max_entries);
void cache_free(struct cache *c);

/* Looks up key at now_ms. A live entry, or one expired less than hit->stale_ms ago (hit->stale),
 * gets its CLOCK bit and is copied into *hit (a miss when a buffer is too small); an entry
 * expired longer ago is removed. A stale hit asks for one refresh at a time (hit->refresh): the
 * next stale hit of that entry asks again only after cache_refresh_end or CACHE_REFRESH_HOLD_S.
 * Returns true on a hit. */
bool cache_lookup(struct cache *c, const struct cache_key *key, uint64_t now_ms,
                  struct cache_hit *hit);

/* Stores a copy of *v under key for ttl_s seconds (0 stores nothing unless v->keep_expired),
 * replacing an existing
 * entry and evicting one (CLOCK: the first without its bit; expired entries go first) when the
 * shard is full. */
void cache_insert(struct cache *c, const struct cache_key *key, const struct cache_value *v,
                  uint32_t ttl_s, uint64_t now_ms);

/* The refresh a stale hit asked for is over (answered or failed): the next stale hit of the
 * entry under key asks again. An entry the refresh replaced (cache_insert) starts afresh anyway. */
void cache_refresh_end(struct cache *c, const struct cache_key *key);

/* A refresh that never ends (cannot happen: every upstream exchange ends within its time budget)
 * holds further refreshes of its entry back this long at most (under 256). */
enum { CACHE_REFRESH_HOLD_S = 30 };

/* Drops every entry (SIGHUP when routes changed). */
void cache_clear(struct cache *c);

void cache_get_stats(struct cache *c, struct cache_stats *out);
