/* hash.h - FNV-1a (Fowler/Noll/Vo, draft-eastlake-fnv-21), the byte hash of the program's
 * tables: configuration interning, the domain tree, the bogus-nxdomain address set, the set
 * batch. 32- and 64-bit variants; callers mix the result further where the low bits index a
 * table and the input is short. The answer cache, hashed on every query, uses hash_words64
 * (eight bytes per multiply instead of one).
 *
 * Base layer, header only: the functions are a few instructions each and sit on hot paths. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define HASH_FNV32_BASIS 2166136261u
#define HASH_FNV64_BASIS 0xcbf29ce484222325ULL

/* One byte into a running 32-bit FNV-1a hash h. */
static inline uint32_t hash_fnv32_step(uint32_t h, uint8_t byte)
{
    return (h ^ byte) * 16777619u;
}

/* data[len] into a running 32-bit hash h (start from HASH_FNV32_BASIS). */
static inline uint32_t hash_fnv32(uint32_t h, const void *data, size_t len)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < len; i++) {
        h = hash_fnv32_step(h, p[i]);
    }
    return h;
}

/* One byte into a running 64-bit FNV-1a hash h. */
static inline uint64_t hash_fnv64_step(uint64_t h, uint8_t byte)
{
    return (h ^ byte) * 0x100000001b3ULL;
}

/* data[len] into a running 64-bit hash h (start from HASH_FNV64_BASIS). */
static inline uint64_t hash_fnv64(uint64_t h, const void *data, size_t len)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < len; i++) {
        h = hash_fnv64_step(h, p[i]);
    }
    return h;
}

/* data[len] into a running 64-bit hash h, eight bytes per step (a multiply-xorshift round per
 * little-endian word, the last word zero-padded, the length mixed in): for keys hashed on every
 * query, where FNV's one multiply per byte is the cost. Not a finished hash: mix the result
 * (e.g. murmur3's fmix64) before its low or high bits index a table. */
static inline uint64_t hash_words64(uint64_t h, const void *data, size_t len)
{
    const uint8_t *p = data;
    h ^= (uint64_t)len * 0x9e3779b97f4a7c15ULL;
    for (; len >= 8; p += 8, len -= 8) {
        uint64_t w = 0;
        for (int i = 7; i >= 0; i--) {
            w = w << 8 | p[i]; /* little-endian on every host: the same hash everywhere */
        }
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        h ^= h >> 29;
    }
    if (len != 0) {
        uint64_t w = 0;
        for (size_t i = len; i-- > 0;) {
            w = w << 8 | p[i];
        }
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        h ^= h >> 29;
    }
    return h;
}
