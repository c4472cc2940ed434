/* hash.h - FNV-1a (Fowler/Noll/Vo, draft-eastlake-fnv-21), the one byte hash of the program's
 * tables: configuration interning, the domain tree, the answer cache, the bogus-nxdomain
 * address set, the set batch. 32- and 64-bit variants; callers mix the result further where the
 * low bits index a table and the input is short.
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
