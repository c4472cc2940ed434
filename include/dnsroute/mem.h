/* mem.h - allocation wrappers that abort with a message when memory runs out (STYLE §5), so call
 * sites never check for NULL. Release with free(). */
#pragma once

#include <stddef.h>

/* malloc() that never returns NULL (size 0 gives a unique pointer). */
void *mem_alloc(size_t size);
/* calloc() that never returns NULL and checks n * size for overflow. */
void *mem_calloc(size_t n, size_t size);
/* realloc() that never returns NULL. */
void *mem_realloc(void *p, size_t size);
/* Grows *array (element size elem_size) so it holds at least need elements; *cap is updated.
 * Growth is geometric. The array is reallocated in place of *array. */
void mem_grow(void **array, size_t *cap, size_t need, size_t elem_size);
/* strdup()/strndup() that never return NULL; the caller owns the copy. */
char *mem_strdup(const char *s);
char *mem_strndup(const char *s, size_t len);
/* Returns the heap memory freed in bulk (an old configuration after a reload) to the system.
 * glibc keeps freed pages in its arenas until asked (malloc_trim(3)), so a daemon that reloads a
 * large configuration grows by about one configuration per reload; musl's allocator returns them
 * on free(), and there this does nothing. Safe from any thread; costs a walk over the heap. */
void mem_trim(void);
