/* hosts.c - the local name store: records (name, address) in file order, an open-addressing
 * table from name to its first record (records of one name are chained), and one from address
 * to the record answering its PTR. Sized for million-line blocklists: no per-record allocation,
 * lookups are one probe sequence. */
#include "dnsroute/hosts.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dnsroute/hash.h"
#include "dnsroute/dname.h"
#include "dnsroute/err.h"
#include "dnsroute/log.h"
#include "dnsroute/mem.h"

struct hosts_rec {
    uint32_t name;  /* offset of the NUL-terminated key in names */
    uint32_t next;  /* index + 1 of the next record of the same name; 0 ends */
    uint8_t family; /* 4 or 6 */
    uint8_t addr[16];
};

struct hosts_table {
    uint32_t *slots; /* record index + 1; 0 = empty */
    size_t cap;      /* power of two */
    size_t count;
};

struct hosts {
    struct hosts_rec *recs;
    size_t count, cap;
    char *names;
    size_t names_len, names_cap;
    struct hosts_table by_name;   /* first record of each name */
    struct hosts_table by_addr;   /* the record answering each address's PTR */
    struct hosts_table by_parent; /* name offsets: every proper parent of a stored name */
};

static uint64_t hosts_hash(const void *data, size_t len, uint64_t seed)
{
    uint64_t h = hash_fnv64(HASH_FNV64_BASIS ^ seed, data, len);
    return h ^ (h >> 29); /* the low bits index the tables */
}

static size_t hosts_alen(uint8_t family)
{
    return family == 6 ? 16 : 4;
}

static const char *hosts_rec_name(const struct hosts *h, const struct hosts_rec *r)
{
    return h->names + r->name;
}

static uint64_t hosts_hash_addr(uint8_t family, const uint8_t *addr)
{
    return hosts_hash(addr, hosts_alen(family), family);
}

struct hosts *hosts_new(void)
{
    struct hosts *h = mem_calloc(1, sizeof(*h));
    return h;
}

void hosts_free(struct hosts *h)
{
    if (h == NULL) {
        return;
    }
    free(h->recs);
    free(h->names);
    free(h->by_name.slots);
    free(h->by_addr.slots);
    free(h->by_parent.slots);
    free(h);
}

size_t hosts_count(const struct hosts *h)
{
    return h->count;
}

/* ---- Tables. */

static void hosts_table_put(struct hosts_table *t, uint64_t hash, uint32_t rec)
{
    size_t i = hash & (t->cap - 1);
    while (t->slots[i] != 0) {
        i = (i + 1) & (t->cap - 1);
    }
    t->slots[i] = rec + 1;
    t->count++;
}

/* The name a slot of a name-keyed table stands for: a record's name (by_name) or, in by_parent, a
 * name-pool offset (+ 1). */
static const char *hosts_slot_name(const struct hosts *h, const struct hosts_table *t,
                                   uint32_t slot)
{
    return t == &h->by_parent ? h->names + slot - 1 : hosts_rec_name(h, &h->recs[slot - 1]);
}

static uint64_t hosts_slot_hash(const struct hosts *h, const struct hosts_table *t, uint32_t slot)
{
    if (t == &h->by_addr) {
        const struct hosts_rec *r = &h->recs[slot - 1];
        return hosts_hash_addr(r->family, r->addr);
    }
    const char *n = hosts_slot_name(h, t, slot);
    return hosts_hash(n, strlen(n), 0);
}

/* Doubles t (one of h's tables) when one more entry would fill it past half. */
static void hosts_table_grow(struct hosts *h, struct hosts_table *t)
{
    if (t->cap != 0 && (t->count + 1) * 2 <= t->cap) {
        return;
    }
    struct hosts_table n = {.cap = t->cap == 0 ? 1024 : t->cap * 2};
    n.slots = mem_calloc(n.cap, sizeof(*n.slots));
    for (size_t i = 0; i < t->cap; i++) {
        if (t->slots[i] != 0) {
            hosts_table_put(&n, hosts_slot_hash(h, t, t->slots[i]), t->slots[i] - 1);
        }
    }
    free(t->slots);
    *t = n;
}

/* The slot value of key in a name-keyed table (by_name: the first record's index + 1; by_parent:
 * the name's pool offset + 1), or 0. */
static uint32_t hosts_table_find(const struct hosts *h, const struct hosts_table *t,
                                 const char *key, size_t len)
{
    if (t->cap == 0) {
        return 0;
    }
    size_t i = hosts_hash(key, len, 0) & (t->cap - 1);
    for (; t->slots[i] != 0; i = (i + 1) & (t->cap - 1)) {
        const char *n = hosts_slot_name(h, t, t->slots[i]);
        if (strncmp(n, key, len) == 0 && n[len] == '\0') {
            return t->slots[i];
        }
    }
    return 0;
}

/* Index + 1 of the first record of key, or 0. */
static uint32_t hosts_find_name(const struct hosts *h, const char *key, size_t len)
{
    return hosts_table_find(h, &h->by_name, key, len);
}

static uint32_t hosts_find_addr(const struct hosts *h, uint8_t family, const uint8_t *addr)
{
    const struct hosts_table *t = &h->by_addr;
    if (t->cap == 0) {
        return 0;
    }
    size_t i = hosts_hash_addr(family, addr) & (t->cap - 1);
    for (; t->slots[i] != 0; i = (i + 1) & (t->cap - 1)) {
        const struct hosts_rec *r = &h->recs[t->slots[i] - 1];
        if (r->family == family && memcmp(r->addr, addr, hosts_alen(family)) == 0) {
            return t->slots[i];
        }
    }
    return 0;
}

/* ---- Parents of stored names (dnsmasq's non-terminals: they exist, with no data). Slots hold a
 * name-pool offset + 1: a parent is the tail of a stored name, so it costs no string. */

static uint32_t hosts_find_parent(const struct hosts *h, const char *key, size_t len)
{
    return hosts_table_find(h, &h->by_parent, key, len);
}

/* Records every parent of the name at offset off ("a.b.c": "b.c", "c"), stopping at the first
 * one already known (its own parents are then known too). */
static void hosts_add_parents(struct hosts *h, uint32_t off)
{
    for (const char *p = strchr(h->names + off, '.'); p != NULL; p = strchr(p + 1, '.')) {
        const char *parent = p + 1;
        size_t len = strlen(parent);
        if (len == 0 || hosts_find_parent(h, parent, len) != 0) {
            return;
        }
        hosts_table_grow(h, &h->by_parent);
        hosts_table_put(&h->by_parent, hosts_hash(parent, len, 0), (uint32_t)(parent - h->names));
    }
}

/* ---- Building. */

static uint32_t hosts_intern_name(struct hosts *h, const char *key, size_t len)
{
    mem_grow((void **)&h->names, &h->names_cap, h->names_len + len + 1, 1);
    uint32_t off = (uint32_t)h->names_len;
    memcpy(h->names + off, key, len);
    h->names[off + len] = '\0';
    h->names_len += len + 1;
    return off;
}

static uint32_t hosts_new_rec(struct hosts *h, uint8_t family, const uint8_t *addr)
{
    mem_grow((void **)&h->recs, &h->cap, h->count + 1, sizeof(*h->recs));
    struct hosts_rec *r = &h->recs[h->count];
    memset(r, 0, sizeof(*r));
    r->family = family;
    memcpy(r->addr, addr, hosts_alen(family));
    return (uint32_t)h->count++;
}

/* Adds a canonical key: appended to its name's chain unless the same address is there. */
static int hosts_add_key(struct hosts *h, const char *key, size_t len, uint8_t family,
                         const uint8_t *addr)
{
    uint32_t first = hosts_find_name(h, key, len), last = 0;
    for (uint32_t i = first; i != 0; i = h->recs[i - 1].next) {
        const struct hosts_rec *r = &h->recs[i - 1];
        if (r->family == family && memcmp(r->addr, addr, hosts_alen(family)) == 0) {
            return 0;
        }
        last = i;
    }
    uint32_t idx = hosts_new_rec(h, family, addr);
    if (first != 0) {
        h->recs[idx].name = h->recs[first - 1].name;
        h->recs[last - 1].next = idx + 1;
    } else {
        h->recs[idx].name = hosts_intern_name(h, key, len);
        hosts_add_parents(h, h->recs[idx].name);
        hosts_table_grow(h, &h->by_name);
        hosts_table_put(&h->by_name, hosts_hash(key, len, 0), idx);
    }
    if (hosts_find_addr(h, family, addr) == 0) {
        hosts_table_grow(h, &h->by_addr);
        hosts_table_put(&h->by_addr, hosts_hash_addr(family, addr), idx);
    }
    return 1;
}

static int hosts_family_code(int family)
{
    return family == AF_INET6 ? 6 : 4;
}

int hosts_add(struct hosts *h, const char *name, size_t len, int family, const uint8_t *addr)
{
    char key[DNAME_KEY_MAX + 1];
    int klen = dname_canonicalise(name, len, false, NULL, key, sizeof(key));
    if (klen <= 0) {
        return ERR_BAD_DOMAIN;
    }
    return hosts_add_key(h, key, (size_t)klen, (uint8_t)hosts_family_code(family), addr);
}

/* ---- Reading a file (dnsmasq read_hostsfile). */

struct hosts_reader {
    struct hosts *h;
    const char *path;
    hosts_domain_cb domain_of;
    void *arg;
    unsigned long lineno;
    int names;
};

/* Adds one name of a line; with expand-hosts, name.domain first (dnsmasq's order). */
static void hosts_read_name(struct hosts_reader *rd, const char *tok, int family,
                            const uint8_t *addr)
{
    char key[DNAME_KEY_MAX + 1];
    int klen = dname_canonicalise(tok, strlen(tok), false, NULL, key, sizeof(key));
    if (klen <= 0) {
        log_error("bad name at %s line %lu", rd->path, rd->lineno);
        return;
    }
    const char *domain = rd->domain_of != NULL ? rd->domain_of(rd->arg, family, addr) : NULL;
    uint8_t fc = (uint8_t)hosts_family_code(family);
    if (domain != NULL && strchr(tok, '.') == NULL) {
        char full[DNAME_KEY_MAX + 1];
        int n = snprintf(full, sizeof(full), "%s.%s", key, domain);
        if (n > 0 && (size_t)n < sizeof(full)) {
            hosts_add_key(rd->h, full, (size_t)n, fc, addr);
            rd->names++;
        }
    }
    hosts_add_key(rd->h, key, (size_t)klen, fc, addr);
    rd->names++;
}

static char *hosts_next_token(char **cursor)
{
    char *p = *cursor;
    while (*p != '\0' && isspace((unsigned char)*p)) {
        p++;
    }
    if (*p == '\0') {
        *cursor = p;
        return NULL;
    }
    char *tok = p;
    while (*p != '\0' && !isspace((unsigned char)*p)) {
        p++;
    }
    if (*p != '\0') {
        *p++ = '\0';
    }
    *cursor = p;
    return tok;
}

static void hosts_read_line(struct hosts_reader *rd, char *line)
{
    char *hash = strchr(line, '#');
    if (hash != NULL) {
        *hash = '\0';
    }
    char *cursor = line;
    char *tok = hosts_next_token(&cursor);
    if (tok == NULL) {
        return;
    }
    uint8_t addr[16];
    int family = AF_INET;
    if (inet_pton(AF_INET, tok, addr) != 1) {
        family = AF_INET6;
        if (inet_pton(AF_INET6, tok, addr) != 1) {
            log_error("bad address at %s line %lu", rd->path, rd->lineno);
            return;
        }
    }
    while ((tok = hosts_next_token(&cursor)) != NULL) {
        hosts_read_name(rd, tok, family, addr);
    }
}

int hosts_read_file(struct hosts *h, const char *path, hosts_domain_cb domain_of, void *arg)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        int e = errno;
        log_error("failed to load names from %s: %s", path, strerror(e));
        return -e;
    }
    struct hosts_reader rd = {.h = h, .path = path, .domain_of = domain_of, .arg = arg};
    char *line = NULL;
    size_t cap = 0;
    errno = 0;
    while (getline(&line, &cap, f) >= 0) {
        rd.lineno++;
        /* A NUL byte ends the line for dnsmasq's string functions too. */
        hosts_read_line(&rd, line);
    }
    int e = ferror(f) ? errno : 0;
    free(line);
    (void)fclose(f);
    if (e != 0) {
        log_error("failed to load names from %s: %s", path, strerror(e));
        return -e;
    }
    log_info("read %s - %d names", path, rd.names);
    return rd.names;
}

/* ---- Lookups. */

bool hosts_has_name(const struct hosts *h, const char *key, size_t len)
{
    return hosts_find_name(h, key, len) != 0;
}

bool hosts_has_below(const struct hosts *h, const char *key, size_t len)
{
    return hosts_find_parent(h, key, len) != 0;
}

uint32_t hosts_lookup(const struct hosts *h, const char *key, size_t len, int family,
                      uint32_t rotate, uint8_t *out, uint32_t max)
{
    uint8_t fc = (uint8_t)hosts_family_code(family);
    size_t alen = hosts_alen(fc);
    uint32_t first = hosts_find_name(h, key, len), n = 0;
    for (uint32_t i = first; i != 0; i = h->recs[i - 1].next) {
        n += h->recs[i - 1].family == fc;
    }
    if (n == 0 || max == 0) {
        return n;
    }
    uint32_t skip = rotate % n, k = 0, copied = 0;
    /* Two passes over the chain: from the rotation point to the end, then the start. */
    for (int pass = 0; pass < 2 && copied < max && copied < n; pass++) {
        k = 0;
        for (uint32_t i = first; i != 0 && copied < max; i = h->recs[i - 1].next) {
            const struct hosts_rec *r = &h->recs[i - 1];
            if (r->family != fc) {
                continue;
            }
            bool take = pass == 0 ? k >= skip : k < skip;
            k++;
            if (take) {
                memcpy(out + (size_t)copied++ * alen, r->addr, alen);
            }
        }
    }
    return n;
}

const char *hosts_lookup_addr(const struct hosts *h, int family, const uint8_t *addr)
{
    uint32_t i = hosts_find_addr(h, (uint8_t)hosts_family_code(family), addr);
    return i == 0 ? NULL : hosts_rec_name(h, &h->recs[i - 1]);
}

bool hosts_has_addr(const struct hosts *h, const char *key, size_t len, int family,
                    const uint8_t *addr)
{
    uint8_t fc = (uint8_t)hosts_family_code(family);
    for (uint32_t i = hosts_find_name(h, key, len); i != 0; i = h->recs[i - 1].next) {
        const struct hosts_rec *r = &h->recs[i - 1];
        if (r->family == fc && memcmp(r->addr, addr, hosts_alen(fc)) == 0) {
            return true;
        }
    }
    return false;
}

size_t hosts_copy(struct hosts *dst, const struct hosts *src, size_t first, size_t count)
{
    size_t added = 0;
    for (size_t i = first; i < first + count && i < src->count; i++) {
        const struct hosts_rec *r = &src->recs[i];
        const char *name = hosts_rec_name(src, r);
        added += hosts_add_key(dst, name, strlen(name), r->family, r->addr) > 0;
    }
    return added;
}
