/* mem.c - allocation that aborts with a message on exhaustion (dnsmasq exits with code 4). */
#include "dnsroute/mem.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

static void *mem_check(void *p, size_t size)
{
    if (p == NULL && size != 0) {
        (void)fprintf(stderr, "dnsroute: out of memory allocating %zu bytes\n", size);
        exit(4);
    }
    return p;
}

void *mem_alloc(size_t size)
{
    return mem_check(malloc(size ? size : 1), size);
}

void *mem_calloc(size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size) {
        return mem_check(NULL, SIZE_MAX);
    }
    return mem_check(calloc(n ? n : 1, size ? size : 1), n * size);
}

void *mem_realloc(void *p, size_t size)
{
    return mem_check(realloc(p, size ? size : 1), size);
}

void mem_grow(void **array, size_t *cap, size_t need, size_t elem_size)
{
    if (need <= *cap) {
        return;
    }
    size_t n = *cap ? *cap : 8;
    while (n < need) {
        if (n > SIZE_MAX / 2 / elem_size) {
            mem_check(NULL, SIZE_MAX);
        }
        n *= 2;
    }
    *array = mem_realloc(*array, n * elem_size);
    *cap = n;
}

char *mem_strdup(const char *s)
{
    return mem_strndup(s, strlen(s));
}

char *mem_strndup(const char *s, size_t len)
{
    char *p = mem_alloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

/* The one C-library difference of this module, resolved at build time (STYLE §4). */
#if defined(__GLIBC__)
void mem_trim(void)
{
    (void)malloc_trim(0);
}
#else
void mem_trim(void)
{
}
#endif
