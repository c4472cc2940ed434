/* cache.h - the answer cache: a hash table with LRU eviction over at most cache-size entries,
 * O(1) lookup, insert and eviction. Keys are the question (name case-folded, type, class) plus
 * the bits that change what an answer may contain (DNSSEC OK, checking disabled), so a client
 * never gets an answer fetched under different EDNS needs. Values are whole upstream replies;
 * the caller ages their TTLs on the way out.
 *
 * Pure module: no I/O, time is passed in (milliseconds of a monotonic clock). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dnsroute/dname.h"

struct cache;

struct cache_key {
    uint8_t name[DNAME_WIRE_MAX]; /* uncompressed wire form; folded to lower case by the cache */
    uint8_t name_len;
    uint16_t qtype;
    uint16_t qclass;
    uint8_t variant; /* CACHE_VARIANT_* bits */
    uint32_t route;  /* signature of the upstream servers the answer came through: after a
                        reload that changed a name's route, its old answers no longer match */
};

enum { CACHE_VARIANT_DO = 1, CACHE_VARIANT_CD = 2 };

/* A cached reply, borrowed from the cache until the next insert or cache_free. */
struct cache_hit {
    const uint8_t *reply;
    size_t len;
    uint32_t age_s; /* seconds since it was stored */
    uint32_t ttl_s; /* TTL it was stored with */
};

struct cache_stats {
    uint64_t hits, misses, inserts, evictions, expired;
    uint32_t entries, max_entries;
};

/* Creates a cache of at most max_entries (0: a cache that stores nothing). */
struct cache *cache_new(uint32_t max_entries);
void cache_free(struct cache *c);

/* Looks up key at now_ms. A live entry moves to the front of the LRU and is described in *hit;
 * an expired one is removed. Returns true on a hit. */
bool cache_lookup(struct cache *c, const struct cache_key *key, uint64_t now_ms,
                  struct cache_hit *hit);

/* Stores a copy of reply[len] under key for ttl_s seconds (0 stores nothing), replacing an
 * existing entry and evicting the least recently used one when full. */
void cache_insert(struct cache *c, const struct cache_key *key, const uint8_t *reply, size_t len,
                  uint32_t ttl_s, uint64_t now_ms);

/* Drops every entry (SIGHUP when routes changed). */
void cache_clear(struct cache *c);

void cache_get_stats(const struct cache *c, struct cache_stats *out);
