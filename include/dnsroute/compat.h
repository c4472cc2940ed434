/* compat.h - compiler attributes, builtins and tiny always-on checks, in one place (STYLE §7). */
#pragma once

#include <stddef.h>
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
