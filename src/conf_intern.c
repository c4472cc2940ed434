/* conf_intern.c - interning for the configuration generation: identical upstream server specs,
 * set specs and set lists get one id each, so the domain tree's groups and the set lists are
 * shared (the whole china list names one server and one set list). Open addressing over ids,
 * keyed by a hash of the entry. */
#include <stdlib.h>
#include <string.h>

#include "conf_impl.h"
#include "dnsroute/hash.h"
#include "dnsroute/mem.h"

typedef bool (*htab_eq_cb)(const struct conf_loader *l, uint32_t id, const void *key);

/* Returns the id equal to key, or DOMTREE_NONE with *slot set to the empty slot to fill. */
static uint32_t htab_find(struct conf_loader *l, struct conf_htab *h, uint32_t hash, htab_eq_cb eq,
                          const void *key, size_t *slot)
{
    if (h->count * 2 >= h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        uint64_t *slots = mem_calloc(cap, sizeof(*slots));
        for (size_t i = 0; i < h->cap; i++) {
            uint64_t v = h->slots[i];
            size_t j = (size_t)(v >> 32) & (cap - 1);
            while (v != 0 && slots[j] != 0) {
                j = (j + 1) & (cap - 1);
            }
            if (v != 0) {
                slots[j] = v;
            }
        }
        free(h->slots);
        h->slots = slots;
        h->cap = cap;
    }
    size_t i = hash & (h->cap - 1);
    for (; h->slots[i] != 0; i = (i + 1) & (h->cap - 1)) {
        uint64_t v = h->slots[i];
        uint32_t id = (uint32_t)v - 1;
        if ((uint32_t)(v >> 32) == hash && eq(l, id, key)) {
            return id;
        }
    }
    *slot = i;
    return DOMTREE_NONE;
}

static void htab_insert(struct conf_htab *h, size_t slot, uint32_t hash, uint32_t id)
{
    h->slots[slot] = ((uint64_t)hash << 32) | (uint64_t)(id + 1);
    h->count++;
}

/* Entries are zeroed before they are filled, so their bytes compare equal exactly when the
 * specs do (padding included). */
static bool server_eq(const struct conf_loader *l, uint32_t id, const void *key)
{
    const unsigned char *a = (const unsigned char *)&l->c->servers[id];
    return memcmp(a, key, sizeof(struct conf_server)) == 0;
}

uint32_t conf_intern_server(struct conf_loader *l, const struct conf_server *s)
{
    struct conf *c = l->c;
    /* Long lists name one upstream over and over: try the previous one first. */
    if (l->last_server < c->server_count && server_eq(l, l->last_server, s)) {
        return l->last_server;
    }
    uint32_t hash = hash_fnv32(HASH_FNV32_BASIS, s, sizeof(*s));
    size_t slot = 0;
    uint32_t id = htab_find(l, &l->server_index, hash, server_eq, s, &slot);
    if (id != DOMTREE_NONE) {
        l->last_server = id;
        return id;
    }
    mem_grow((void **)&c->servers, &l->server_cap, c->server_count + 1, sizeof(*s));
    id = (uint32_t)c->server_count++;
    c->servers[id] = *s;
    htab_insert(&l->server_index, slot, hash, id);
    l->last_server = id;
    return id;
}

static bool set_eq(const struct conf_loader *l, uint32_t id, const void *key)
{
    const struct conf_set *a = &l->c->sets[id], *b = key;
    return a->kind == b->kind && strcmp(a->spec, b->spec) == 0;
}

uint32_t conf_intern_set(struct conf_loader *l, const struct conf_set *s)
{
    struct conf *c = l->c;
    uint32_t hash = hash_fnv32(HASH_FNV32_BASIS + s->kind, s->spec, strlen(s->spec));
    size_t slot = 0;
    uint32_t id = htab_find(l, &l->set_index, hash, set_eq, s, &slot);
    if (id != DOMTREE_NONE) {
        return id;
    }
    mem_grow((void **)&c->sets, &l->set_cap, c->set_count + 1, sizeof(*s));
    id = (uint32_t)c->set_count++;
    c->sets[id] = *s;
    htab_insert(&l->set_index, slot, hash, id);
    return id;
}

struct setlist_key {
    const uint32_t *ids;
    uint32_t count;
};

static bool setlist_eq(const struct conf_loader *l, uint32_t id, const void *key)
{
    const struct conf_setlist *a = &l->c->setlists[id];
    const struct setlist_key *b = key;
    return a->count == b->count &&
           memcmp(&l->c->setlist_items[a->first], b->ids, b->count * sizeof(uint32_t)) == 0;
}

uint32_t conf_intern_setlist(struct conf_loader *l, const uint32_t *ids, uint32_t count)
{
    struct conf *c = l->c;
    struct setlist_key key = {ids, count};
    uint32_t hash = hash_fnv32(HASH_FNV32_BASIS, ids, count * sizeof(uint32_t));
    size_t slot = 0;
    uint32_t id = htab_find(l, &l->setlist_index, hash, setlist_eq, &key, &slot);
    if (id != DOMTREE_NONE) {
        return id;
    }
    mem_grow((void **)&c->setlist_items, &l->item_cap, c->setlist_item_count + count,
             sizeof(uint32_t));
    memcpy(&c->setlist_items[c->setlist_item_count], ids, count * sizeof(uint32_t));
    mem_grow((void **)&c->setlists, &l->setlist_cap, c->setlist_count + 1,
             sizeof(struct conf_setlist));
    id = (uint32_t)c->setlist_count++;
    c->setlists[id] = (struct conf_setlist){(uint32_t)c->setlist_item_count, count};
    c->setlist_item_count += count;
    htab_insert(&l->setlist_index, slot, hash, id);
    return id;
}
