/* compat.h - compiler attributes, builtins and tiny always-on checks, in one place (STYLE §7). */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define DNSROUTE_UNUSED       __attribute__((unused))
#define DNSROUTE_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define DNSROUTE_NORETURN     __attribute__((noreturn))
#define DNSROUTE_LIKELY(x)    __builtin_expect(!!(x), 1)
#define DNSROUTE_UNLIKELY(x)  __builtin_expect(!!(x), 0)
#define DNSROUTE_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Recovers the owner of an embedded member (libuv handles, list links). */
#define DNSROUTE_CONTAINER_OF(ptr, type, member)                                                   \
    ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* Always-on invariant check for conditions whose breach would corrupt memory (STYLE §5).
 * Never use it on network, configuration or kernel input. */
#define DNSROUTE_REQUIRE(cond)                                                                     \
    do {                                                                                           \
        if (DNSROUTE_UNLIKELY(!(cond))) {                                                          \
            (void)fprintf(stderr, "dnsroute: invariant failed: %s (%s:%d)\n", #cond, __FILE__,     \
                          __LINE__);                                                               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Statistics counters shared between threads: each is written by one thread only (the loop
 * that owns it) and read by others (SIGUSR1, D-Bus metrics, the CHAOS names). The writer adds
 * with a relaxed atomic load and store (no read-modify-write: there is no second writer, so no
 * lock prefix on the hot path), and a reader loads relaxed, so it sees a whole value, never a
 * torn one (C11 7.17.3, memory_order_relaxed; GCC's __atomic builtins on a plain integer). */
static inline void dnsroute_counter_add(uint64_t *c, uint64_t n)
{
    __atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

static inline uint64_t dnsroute_counter_read(const uint64_t *c)
{
    return __atomic_load_n(c, __ATOMIC_RELAXED);
}
