/* list.h - the one intrusive doubly linked list: a `struct list_link` embedded in each element, a
 * `struct list` holding the first and last; the owner of a link is recovered with
 * DNSROUTE_CONTAINER_OF. O(1) insert at either end and removal from anywhere; no allocation.
 * Used for in-flight upstream requests (oldest first), TCP connections and similar ordered sets. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "dnsroute/compat.h"

struct list_link {
    struct list_link *prev, *next;
};

struct list {
    struct list_link *first, *last;
};

/* An empty list / a link that is in no list. */
static inline void list_init(struct list *l)
{
    l->first = l->last = NULL;
}

static inline bool list_is_empty(const struct list *l)
{
    return l->first == NULL;
}

/* Appends link (in no list) at the end of l. */
static inline void list_push_back(struct list *l, struct list_link *link)
{
    link->next = NULL;
    link->prev = l->last;
    if (l->last != NULL) {
        l->last->next = link;
    } else {
        l->first = link;
    }
    l->last = link;
}

/* Inserts link (in no list) at the front of l. */
static inline void list_push_front(struct list *l, struct list_link *link)
{
    link->prev = NULL;
    link->next = l->first;
    if (l->first != NULL) {
        l->first->prev = link;
    } else {
        l->last = link;
    }
    l->first = link;
}

/* Removes link, which must be in l; afterwards it is in no list. */
static inline void list_remove(struct list *l, struct list_link *link)
{
    if (link->prev != NULL) {
        link->prev->next = link->next;
    } else {
        l->first = link->next;
    }
    if (link->next != NULL) {
        link->next->prev = link->prev;
    } else {
        l->last = link->prev;
    }
    link->prev = link->next = NULL;
}

/* The element owning a link, or NULL for a NULL link:
 *   struct conn *c = LIST_ENTRY(l.first, struct conn, link); */
#define LIST_ENTRY(link, type, member)                                                             \
    ((link) != NULL ? DNSROUTE_CONTAINER_OF(link, type, member) : (type *)NULL)
