/* domtree.c - the domain suffix table behind server=, local=, address=, ipset= and nftset=.
 * conf.c adds rules in configuration order; query.c calls domtree_lookup once per query and gets
 * the routing decision and the set lists together. Layout ("approach A"): one node per distinct
 * domain holding every rule kind, names in one arena, and an open-addressing hash of whole keys.
 * The hash is fed right to left, so one pass over a query name yields the hash of every suffix;
 * only suffixes whose label count occurs in the table are probed. */
#include "dnsroute/domtree.h"

#include <string.h>
#include <sys/socket.h>

#include "dnsroute/compat.h"
#include "dnsroute/dname.h"
#include "dnsroute/err.h"
#include "dnsroute/hash.h"
#include "dnsroute/mem.h"

enum {
    DT_QTYPE_A = 1,
    DT_QTYPE_AAAA = 28,
    DT_QTYPE_ANY = 255,
    DT_MIN_TABLE = 1024,
    DT_FINAL_LOAD_PCT = 70,
};

enum dt_flag {
    DT_LOCAL = 1,      /* local=/d/: NXDOMAIN or NODATA */
    DT_ZEROS = 2,      /* address=/d/#: 0.0.0.0 and :: */
    DT_USE_RESOLV = 4, /* server=/d/#: use the default servers */
    DT_WILDCARD = 8,   /* node of the '*' table */
};

/* One distinct domain (24 bytes). Rarely used parts (literal addresses) live in a side table. */
struct dt_node {
    uint32_t name_off; /* key in t->names (not NUL-terminated) */
    uint32_t group;    /* interned SERVER list, or DOMTREE_NONE */
    uint32_t ipset;    /* first ipset= list for exactly this domain, or DOMTREE_NONE */
    uint32_t nftset;   /* first nftset= list for exactly this domain, or DOMTREE_NONE */
    uint32_t span;     /* index into t->spans (address literals), or DOMTREE_NONE */
    uint16_t name_len;
    uint8_t flags; /* enum dt_flag */
    uint8_t unused;
};

/* Literal addresses of one node: A literals are addr4[off4 .. off4+count4) (4 bytes each),
 * AAAA literals addr6[off6 ..) (16 bytes each), in configuration order. */
struct dt_span {
    uint32_t off4, count4, off6, count6;
};

/* Hash slot: the upper 32 bits of the mixed hash (to skip most name compares) and a node id. */
struct dt_slot {
    uint32_t tag;
    uint32_t node; /* DOMTREE_NONE: empty */
};

struct dt_table {
    struct dt_slot *slots;
    size_t size; /* slot count; 0 while unallocated */
    size_t used;
};

/* Build-time singly linked lists (prepended, so newest first) in one array. */
struct dt_link {
    uint32_t val;
    uint32_t next;
};

struct dt_build {
    uint64_t hash;                  /* mixed hash of the name, so rehashing need not read it */
    uint32_t servers, addr4, addr6; /* list heads in t->links, DOMTREE_NONE when empty */
};

struct domtree {
    struct dt_node *nodes;
    size_t node_count, node_cap;
    char *names;
    size_t names_len, names_cap;
    struct dt_table suffix; /* SCOPE_SUFFIX nodes except the root */
    struct dt_table wild;   /* SCOPE_WILDCARD nodes */
    uint64_t label_mask;    /* bit n: a suffix key with n labels exists (63: 63 or more) */
    uint64_t wild_len_mask[(DNAME_KEY_MAX + 64) / 64]; /* bit n: a wildcard key of n bytes */
    uint32_t root;                                     /* the "" node (defaults), or DOMTREE_NONE */
    uint32_t nodots;                                   /* the server=// node, or DOMTREE_NONE */
    uint32_t default_group;                            /* the root's group, or DOMTREE_NONE */
    bool has_ipset, has_nftset, finished;

    uint32_t *group_off; /* group g: servers[group_off[g] .. group_off[g + 1]) */
    uint32_t group_count;
    size_t group_cap;
    uint32_t *servers;
    size_t server_count, server_cap;
    struct dt_span *spans;
    size_t span_count;
    uint8_t *addr4, *addr6;
    size_t addr4_count, addr6_count;

    /* Build only; freed by domtree_finish. */
    struct dt_build *build;
    struct dt_link *links;
    size_t link_count, link_cap;
    uint8_t (*raw)[16];
    size_t raw_count, raw_cap;
};

/* 0.0.0.0 and :: for address=/d/#. */
static const uint8_t dt_zero_addr[16];

static inline unsigned char dt_fold(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

/* FNV-1a over case-folded bytes, fed from the end of the name towards its start. */
static inline uint64_t dt_step(uint64_t h, unsigned char c)
{
    return hash_fnv64_step(h, dt_fold(c));
}

static const uint64_t DT_SEED = HASH_FNV64_BASIS;

/* Final avalanche (murmur3 fmix64) so that the low bits index the table well. */
static inline uint64_t dt_mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static uint64_t dt_key_hash(const char *key, size_t len)
{
    uint64_t h = DT_SEED;
    for (size_t i = len; i-- > 0;) {
        h = dt_step(h, (unsigned char)key[i]);
    }
    return dt_mix(h);
}

/* Stored names are lower case; the query side is folded here. */
static inline bool dt_name_equal(const char *stored, const char *q, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)stored[i] != dt_fold((unsigned char)q[i])) {
            return false;
        }
    }
    return true;
}

/* The home slot: the low 32 bits of the mixed hash scaled to the table size (any size works);
 * the high 32 bits are the slot's tag. */
static inline size_t table_home(const struct dt_table *tab, uint64_t m)
{
    return (size_t)(((m & 0xffffffffU) * (uint64_t)tab->size) >> 32);
}

static inline size_t table_next(const struct dt_table *tab, size_t i)
{
    return i + 1 == tab->size ? 0 : i + 1;
}

static uint32_t table_find(const struct domtree *t, const struct dt_table *tab, uint64_t m,
                           const char *key, size_t len)
{
    if (tab->size == 0) {
        return DOMTREE_NONE;
    }
    uint32_t tag = (uint32_t)(m >> 32);
    for (size_t i = table_home(tab, m);; i = table_next(tab, i)) {
        const struct dt_slot *s = &tab->slots[i];
        if (s->node == DOMTREE_NONE) {
            return DOMTREE_NONE;
        }
        if (s->tag != tag) {
            continue;
        }
        const struct dt_node *n = &t->nodes[s->node];
        if (n->name_len == len && dt_name_equal(t->names + n->name_off, key, len)) {
            return s->node;
        }
    }
}

static void table_put(struct dt_table *tab, uint64_t m, uint32_t node)
{
    size_t i = table_home(tab, m);
    while (tab->slots[i].node != DOMTREE_NONE) {
        i = table_next(tab, i);
    }
    tab->slots[i].tag = (uint32_t)(m >> 32);
    tab->slots[i].node = node;
    tab->used++;
}

/* Moves every entry into a new slot array of nsize slots (build time: uses t->build). */
static void table_rehash(const struct domtree *t, struct dt_table *tab, size_t nsize)
{
    DNSROUTE_REQUIRE(nsize > tab->used && nsize < UINT32_MAX);
    struct dt_table old = *tab;
    tab->slots = mem_alloc(nsize * sizeof(*tab->slots));
    memset(tab->slots, 0xff, nsize * sizeof(*tab->slots));
    tab->size = nsize;
    tab->used = 0;
    for (size_t i = 0; i < old.size; i++) {
        uint32_t id = old.slots[i].node;
        if (id != DOMTREE_NONE) {
            table_put(tab, t->build[id].hash, id);
        }
    }
    free(old.slots);
}

/* While building, the load factor stays at or below one half (doubling). */
static void table_reserve(const struct domtree *t, struct dt_table *tab, size_t need)
{
    if (need * 2 <= tab->size) {
        return;
    }
    size_t nsize = tab->size ? tab->size * 2 : DT_MIN_TABLE;
    while (need * 2 > nsize) {
        nsize *= 2;
    }
    table_rehash(t, tab, nsize);
}

/* The frozen table is sized for a load of DT_FINAL_LOAD_PCT: a miss then reads about six
 * consecutive 8-byte slots, usually one cache line, and the china list's table takes 1.3 MB
 * instead of 2 MB. */
static void table_compact(const struct domtree *t, struct dt_table *tab)
{
    size_t nsize = tab->used * 100 / DT_FINAL_LOAD_PCT + 1;
    if (tab->size != 0 && nsize < tab->size) {
        table_rehash(t, tab, nsize);
    }
}

struct domtree *domtree_new(void)
{
    struct domtree *t = mem_calloc(1, sizeof(*t));
    t->root = DOMTREE_NONE;
    t->nodots = DOMTREE_NONE;
    t->default_group = DOMTREE_NONE;
    mem_grow((void **)&t->names, &t->names_cap, 64, 1);
    return t;
}

static void domtree_free_build(struct domtree *t)
{
    free(t->build);
    free(t->links);
    free(t->raw);
    t->build = NULL;
    t->links = NULL;
    t->raw = NULL;
    t->link_count = t->link_cap = t->raw_count = t->raw_cap = 0;
}

void domtree_free(struct domtree *t)
{
    if (t == NULL) {
        return;
    }
    domtree_free_build(t);
    free(t->nodes);
    free(t->names);
    free(t->suffix.slots);
    free(t->wild.slots);
    free(t->group_off);
    free(t->servers);
    free(t->spans);
    free(t->addr4);
    free(t->addr6);
    free(t);
}

/* Canonical keys only: printable ASCII without space, no upper case. */
static bool key_is_canonical(const char *key, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)key[i];
        if (c <= 0x20 || c >= 0x7f || (c >= 'A' && c <= 'Z')) {
            return false;
        }
    }
    return true;
}

static uint32_t node_new(struct domtree *t, const char *key, size_t len, uint8_t flags)
{
    DNSROUTE_REQUIRE(t->node_count < DOMTREE_NONE - 1 && t->names_len + len < UINT32_MAX);
    size_t cap = t->node_cap;
    mem_grow((void **)&t->nodes, &t->node_cap, t->node_count + 1, sizeof(*t->nodes));
    mem_grow((void **)&t->build, &cap, t->node_count + 1, sizeof(*t->build));
    mem_grow((void **)&t->names, &t->names_cap, t->names_len + len, 1);
    memcpy(t->names + t->names_len, key, len);
    uint32_t id = (uint32_t)t->node_count++;
    t->nodes[id] = (struct dt_node){
        .name_off = (uint32_t)t->names_len,
        .group = DOMTREE_NONE,
        .ipset = DOMTREE_NONE,
        .nftset = DOMTREE_NONE,
        .span = DOMTREE_NONE,
        .name_len = (uint16_t)len,
        .flags = flags,
    };
    t->build[id] = (struct dt_build){0, DOMTREE_NONE, DOMTREE_NONE, DOMTREE_NONE};
    t->names_len += len;
    return id;
}

/* Finds or creates the node of (key, scope). */
static uint32_t node_get(struct domtree *t, const char *key, size_t len, enum domtree_scope scope)
{
    if (scope == DOMTREE_SCOPE_NODOTS) {
        if (t->nodots == DOMTREE_NONE) {
            t->nodots = node_new(t, key, 0, 0);
        }
        return t->nodots;
    }
    if (len == 0) {
        if (t->root == DOMTREE_NONE) {
            t->root = node_new(t, key, 0, 0);
        }
        return t->root;
    }
    bool wild = scope == DOMTREE_SCOPE_WILDCARD;
    struct dt_table *tab = wild ? &t->wild : &t->suffix;
    uint64_t m = dt_key_hash(key, len);
    uint32_t id = table_find(t, tab, m, key, len);
    if (id != DOMTREE_NONE) {
        return id;
    }
    id = node_new(t, key, len, wild ? DT_WILDCARD : 0);
    t->build[id].hash = m;
    table_reserve(t, tab, tab->used + 1);
    table_put(tab, m, id);
    if (wild) {
        t->wild_len_mask[len / 64] |= 1ULL << (len % 64);
    } else {
        unsigned labels = dname_key_labels(key, len);
        t->label_mask |= 1ULL << (labels < 63 ? labels : 63);
    }
    return id;
}

static void link_prepend(struct domtree *t, uint32_t *head, uint32_t val)
{
    DNSROUTE_REQUIRE(t->link_count < DOMTREE_NONE - 1);
    mem_grow((void **)&t->links, &t->link_cap, t->link_count + 1, sizeof(*t->links));
    t->links[t->link_count] = (struct dt_link){val, *head};
    *head = (uint32_t)t->link_count++;
}

static void add_server(struct domtree *t, uint32_t id, uint32_t server)
{
    /* A server repeated for one domain would only be asked twice: keep its first place. */
    for (uint32_t l = t->build[id].servers; l != DOMTREE_NONE; l = t->links[l].next) {
        if (t->links[l].val == server) {
            return;
        }
    }
    link_prepend(t, &t->build[id].servers, server);
}

static void add_literal(struct domtree *t, uint32_t id, const struct domtree_rule *rule)
{
    DNSROUTE_REQUIRE(t->raw_count < DOMTREE_NONE - 1);
    mem_grow((void **)&t->raw, &t->raw_cap, t->raw_count + 1, sizeof(*t->raw));
    memcpy(t->raw[t->raw_count], rule->addr, 16);
    bool v4 = rule->kind == DOMTREE_RULE_ADDR4;
    link_prepend(t, v4 ? &t->build[id].addr4 : &t->build[id].addr6, (uint32_t)t->raw_count++);
}

int domtree_add(struct domtree *t, const char *key, size_t len, const struct domtree_rule *rule)
{
    DNSROUTE_REQUIRE(!t->finished);
    if (len > DNAME_KEY_MAX || !key_is_canonical(key, len)) {
        return ERR_BAD_DOMAIN;
    }
    enum domtree_scope scope = rule->scope;
    if (scope == DOMTREE_SCOPE_NODOTS && len != 0) {
        return ERR_BAD_DOMAIN;
    }
    bool set = rule->kind == DOMTREE_RULE_IPSET || rule->kind == DOMTREE_RULE_NFTSET;
    if (set && scope != DOMTREE_SCOPE_SUFFIX) {
        return ERR_UNSUPPORTED; /* dnsmasq has no '*' or '//' form for ipset=/nftset= */
    }
    uint32_t id = node_get(t, key, len, scope);
    struct dt_node *n = &t->nodes[id];
    switch (rule->kind) {
    case DOMTREE_RULE_SERVER:
        add_server(t, id, rule->id);
        break;
    case DOMTREE_RULE_USE_RESOLV:
        n->flags |= DT_USE_RESOLV;
        break;
    case DOMTREE_RULE_LOCAL:
        n->flags |= DT_LOCAL;
        break;
    case DOMTREE_RULE_ADDR4:
    case DOMTREE_RULE_ADDR6:
        add_literal(t, id, rule);
        break;
    case DOMTREE_RULE_ZEROS:
        n->flags |= DT_ZEROS;
        break;
    case DOMTREE_RULE_IPSET:
        n->ipset = n->ipset == DOMTREE_NONE ? rule->id : n->ipset;
        t->has_ipset = true;
        break;
    case DOMTREE_RULE_NFTSET:
        n->nftset = n->nftset == DOMTREE_NONE ? rule->id : n->nftset;
        t->has_nftset = true;
        break;
    default:
        return ERR_UNSUPPORTED;
    }
    return 0;
}

/* Copies a prepended list into buf in configuration order; returns its length. */
static size_t list_collect(const struct domtree *t, uint32_t head, uint32_t **buf, size_t *cap)
{
    size_t count = 0;
    for (uint32_t l = head; l != DOMTREE_NONE; l = t->links[l].next) {
        count++;
    }
    mem_grow((void **)buf, cap, count, sizeof(**buf));
    size_t i = count;
    for (uint32_t l = head; l != DOMTREE_NONE; l = t->links[l].next) {
        (*buf)[--i] = t->links[l].val;
    }
    return count;
}

/* Interning map of groups: open addressing over group ids, keyed by the server list. */
struct dt_intern {
    uint32_t *slots;
    size_t mask;
};

static uint64_t list_hash(const uint32_t *ids, size_t count)
{
    return dt_mix(hash_fnv64(DT_SEED ^ count, ids, count * sizeof(*ids)));
}

static bool group_is(const struct domtree *t, uint32_t g, const uint32_t *ids, size_t count)
{
    size_t off = t->group_off[g];
    return t->group_off[g + 1] - off == count &&
           memcmp(t->servers + off, ids, count * sizeof(*ids)) == 0;
}

static void intern_grow(struct domtree *t, struct dt_intern *map)
{
    size_t size = map->mask ? (map->mask + 1) * 2 : 64;
    free(map->slots);
    map->slots = mem_alloc(size * sizeof(*map->slots));
    memset(map->slots, 0xff, size * sizeof(*map->slots));
    map->mask = size - 1;
    for (uint32_t g = 0; g < t->group_count; g++) {
        size_t off = t->group_off[g];
        uint64_t h = list_hash(t->servers + off, t->group_off[g + 1] - off);
        size_t i = h & map->mask;
        while (map->slots[i] != DOMTREE_NONE) {
            i = (i + 1) & map->mask;
        }
        map->slots[i] = g;
    }
}

static uint32_t group_intern(struct domtree *t, struct dt_intern *map, const uint32_t *ids,
                             size_t count)
{
    if (((size_t)t->group_count + 1) * 2 > (map->mask ? map->mask + 1 : 0)) {
        intern_grow(t, map);
    }
    size_t i = list_hash(ids, count) & map->mask;
    for (; map->slots[i] != DOMTREE_NONE; i = (i + 1) & map->mask) {
        if (group_is(t, map->slots[i], ids, count)) {
            return map->slots[i];
        }
    }
    DNSROUTE_REQUIRE(t->server_count + count < UINT32_MAX);
    mem_grow((void **)&t->servers, &t->server_cap, t->server_count + count, sizeof(*t->servers));
    memcpy(t->servers + t->server_count, ids, count * sizeof(*ids));
    t->server_count += count;
    uint32_t g = t->group_count++;
    mem_grow((void **)&t->group_off, &t->group_cap, t->group_count + 1, sizeof(*t->group_off));
    t->group_off[g + 1] = (uint32_t)t->server_count;
    map->slots[i] = g;
    return g;
}

/* Lays out the literal addresses of every node that has some into spans and flat arrays. */
static void finish_literals(struct domtree *t, uint32_t **buf, size_t *cap)
{
    size_t with = 0;
    for (size_t id = 0; id < t->node_count; id++) {
        with += t->build[id].addr4 != DOMTREE_NONE || t->build[id].addr6 != DOMTREE_NONE;
    }
    if (with == 0) {
        return;
    }
    t->spans = mem_alloc(with * sizeof(*t->spans));
    t->addr4 = mem_alloc(t->raw_count * 4);
    t->addr6 = mem_alloc(t->raw_count * 16);
    for (size_t id = 0; id < t->node_count; id++) {
        const struct dt_build *b = &t->build[id];
        if (b->addr4 == DOMTREE_NONE && b->addr6 == DOMTREE_NONE) {
            continue;
        }
        struct dt_span *s = &t->spans[t->span_count];
        t->nodes[id].span = (uint32_t)t->span_count++;
        s->off4 = (uint32_t)t->addr4_count;
        s->count4 = (uint32_t)list_collect(t, b->addr4, buf, cap);
        for (size_t i = 0; i < s->count4; i++) {
            memcpy(t->addr4 + 4 * t->addr4_count++, t->raw[(*buf)[i]], 4);
        }
        s->off6 = (uint32_t)t->addr6_count;
        s->count6 = (uint32_t)list_collect(t, b->addr6, buf, cap);
        for (size_t i = 0; i < s->count6; i++) {
            memcpy(t->addr6 + 16 * t->addr6_count++, t->raw[(*buf)[i]], 16);
        }
    }
}

/* Gives back the slack of geometric growth, so domtree_memory is what the tree keeps. */
static void finish_shrink(struct domtree *t)
{
    t->nodes = mem_realloc(t->nodes, t->node_count * sizeof(*t->nodes));
    t->node_cap = t->node_count;
    t->names = mem_realloc(t->names, t->names_len);
    t->names_cap = t->names_len;
    t->servers = mem_realloc(t->servers, t->server_count * sizeof(*t->servers));
    t->server_cap = t->server_count;
    t->group_off = mem_realloc(t->group_off, (t->group_count + 1) * sizeof(*t->group_off));
    t->group_cap = t->group_count + 1;
    if (t->addr4 != NULL) {
        t->addr4 = mem_realloc(t->addr4, t->addr4_count * 4);
        t->addr6 = mem_realloc(t->addr6, t->addr6_count * 16);
    }
}

int domtree_finish(struct domtree *t)
{
    DNSROUTE_REQUIRE(!t->finished);
    uint32_t *buf = NULL;
    size_t cap = 0;
    struct dt_intern map = {NULL, 0};
    mem_grow((void **)&t->group_off, &t->group_cap, 1, sizeof(*t->group_off));
    t->group_off[0] = 0;
    for (size_t id = 0; id < t->node_count; id++) {
        uint32_t head = t->build[id].servers;
        if (head != DOMTREE_NONE) {
            size_t count = list_collect(t, head, &buf, &cap);
            t->nodes[id].group = group_intern(t, &map, buf, count);
        }
    }
    finish_literals(t, &buf, &cap);
    free(map.slots);
    free(buf);
    table_compact(t, &t->suffix);
    table_compact(t, &t->wild);
    domtree_free_build(t);
    finish_shrink(t);
    if (t->root != DOMTREE_NONE) {
        t->default_group = t->nodes[t->root].group;
    }
    t->finished = true;
    return 0;
}

/* ---- lookup ---- */

static void result_route(const struct domtree *t, const struct dt_node *n,
                         enum domtree_action action, struct domtree_result *out)
{
    out->action = action;
    out->group = DOMTREE_NONE;
    out->domain_specific = false;
    out->addr_family = 0;
    out->addr_count = 0;
    out->addrs = NULL;
    out->route_key = n ? t->names + n->name_off : "";
    out->route_key_len = n ? n->name_len : 0;
}

static bool route_address(const struct domtree *t, const struct dt_node *n, uint16_t qtype,
                          struct domtree_result *out)
{
    /* dnsmasq's filter_servers order: IPv6 literals, then IPv4, then address=/d/# (zeros for
     * both). ANY takes the first group present: only the AAAA literals when the domain has both
     * families, A 0.0.0.0 and AAAA :: for #. */
    const struct dt_span *s = n->span != DOMTREE_NONE ? &t->spans[n->span] : NULL;
    bool any = qtype == DT_QTYPE_ANY;
    if (s != NULL && (qtype == DT_QTYPE_AAAA || any) && s->count6 > 0) {
        result_route(t, n, DOMTREE_ADDRESS, out);
        out->addr_family = AF_INET6;
        out->addr_count = s->count6;
        out->addrs = t->addr6 + 16 * (size_t)s->off6;
        return true;
    }
    if (s != NULL && (qtype == DT_QTYPE_A || any) && s->count4 > 0) {
        result_route(t, n, DOMTREE_ADDRESS, out);
        out->addr_family = AF_INET;
        out->addr_count = s->count4;
        out->addrs = t->addr4 + 4 * (size_t)s->off4;
        return true;
    }
    if ((n->flags & DT_ZEROS) && (qtype == DT_QTYPE_A || qtype == DT_QTYPE_AAAA || any)) {
        result_route(t, n, DOMTREE_ADDRESS, out);
        out->addr_family = any ? AF_UNSPEC : qtype == DT_QTYPE_A ? AF_INET : AF_INET6;
        out->addr_count = 1;
        out->addrs = dt_zero_addr;
        return true;
    }
    return false;
}

/* dnsmasq 2.92+ filter_servers(): the first rule kind of node n usable for qtype decides.
 * Returns false when none is, so the caller goes on with a shorter suffix. */
static bool node_route(const struct domtree *t, uint32_t id, uint16_t qtype,
                       struct domtree_result *out)
{
    const struct dt_node *n = &t->nodes[id];
    if (route_address(t, n, qtype, out)) {
        return true;
    }
    if (n->flags & DT_LOCAL) {
        bool other = n->span != DOMTREE_NONE || (n->flags & DT_ZEROS);
        result_route(t, n, other ? DOMTREE_NODATA : DOMTREE_NXDOMAIN, out);
        return true;
    }
    if (n->flags & DT_USE_RESOLV) {
        /* Restart with the empty domain and real servers only (F_SERVER): literals and local=
         * on "" do not apply. */
        bool any = t->default_group != DOMTREE_NONE;
        result_route(t, n, any ? DOMTREE_FORWARD : DOMTREE_REFUSED, out);
        out->group = t->default_group;
        return true;
    }
    if (n->group != DOMTREE_NONE) {
        result_route(t, n, DOMTREE_FORWARD, out);
        out->group = n->group;
        out->domain_specific = id != t->root;
        return true;
    }
    return false;
}

struct dt_walk {
    uint16_t qtype;
    bool routed, need_ipset, need_nftset;
    uint32_t route_node;
};

/* Applies node id to the walk; returns true when nothing is left to decide. */
static bool walk_visit(const struct domtree *t, struct dt_walk *w, uint32_t id,
                       struct domtree_result *out)
{
    if (!w->routed && node_route(t, id, w->qtype, out)) {
        w->routed = true;
        w->route_node = id;
    }
    const struct dt_node *n = &t->nodes[id];
    if (w->need_ipset && n->ipset != DOMTREE_NONE) {
        out->ipset_list = n->ipset;
        w->need_ipset = false;
    }
    if (w->need_nftset && n->nftset != DOMTREE_NONE) {
        out->nftset_list = n->nftset;
        w->need_nftset = false;
    }
    return w->routed && !w->need_ipset && !w->need_nftset;
}

/* A suffix worth probing: its start in the key, its running hash and which tables to probe. */
struct dt_cand {
    uint64_t h;
    uint32_t pos;
    uint32_t tables; /* 1: suffix table, 2: wildcard table */
};

static inline bool wild_len_has(const struct domtree *t, size_t len)
{
    return (t->wild_len_mask[len / 64] >> (len % 64)) & 1;
}

/* One right-to-left pass: hashes every suffix and keeps those a table could hold. */
static size_t walk_candidates(const struct domtree *t, const char *key, size_t len,
                              struct dt_cand *cand)
{
    bool wild = t->wild.used > 0;
    uint64_t h = DT_SEED;
    unsigned labels = 0;
    size_t count = 0;
    for (size_t i = len; i-- > 0;) {
        if (len - i > DNAME_KEY_MAX) {
            break; /* no stored key is longer */
        }
        h = dt_step(h, (unsigned char)key[i]);
        uint32_t tables = 0;
        if (i == 0 || key[i - 1] == '.') {
            labels++;
            tables |= (uint32_t)(t->label_mask >> (labels < 63 ? labels : 63)) & 1;
        }
        if (wild && wild_len_has(t, len - i)) {
            tables |= 2;
        }
        if (tables != 0) {
            cand[count++] = (struct dt_cand){h, (uint32_t)i, tables};
        }
    }
    return count;
}

static bool walk_tables(const struct domtree *t, struct dt_walk *w, const char *key, size_t len,
                        struct domtree_result *out)
{
    struct dt_cand cand[DNAME_KEY_MAX + 1];
    size_t count = walk_candidates(t, key, len, cand);
    /* The probes below are independent cache misses in a table of ~1 MB (china list): start
     * them all now so that they overlap (measured in the daemon: table_find was 6.6% of its
     * CPU time, nearly all of it waiting for the slot, node and name loads). h becomes m. */
    for (size_t c = 0; c < count; c++) {
        cand[c].h = dt_mix(cand[c].h);
        if ((cand[c].tables & 1) && t->suffix.size != 0) {
            __builtin_prefetch(&t->suffix.slots[table_home(&t->suffix, cand[c].h)]);
        }
    }
    /* Longest suffix first; at equal length the plain domain before the wildcard. */
    for (size_t c = count; c-- > 0;) {
        uint64_t m = cand[c].h;
        const char *s = key + cand[c].pos;
        size_t slen = len - cand[c].pos;
        if (cand[c].tables & 1) {
            uint32_t id = table_find(t, &t->suffix, m, s, slen);
            if (id != DOMTREE_NONE && walk_visit(t, w, id, out)) {
                return true;
            }
        }
        if (cand[c].tables & 2) {
            uint32_t id = table_find(t, &t->wild, m, s, slen);
            if (id != DOMTREE_NONE && walk_visit(t, w, id, out)) {
                return true;
            }
        }
    }
    return false;
}

void domtree_lookup(const struct domtree *t, const char *key, size_t len, uint16_t qtype,
                    struct domtree_result *out)
{
    DNSROUTE_REQUIRE(t->finished);
    result_route(t, NULL, DOMTREE_REFUSED, out);
    out->ipset_list = DOMTREE_NONE;
    out->nftset_list = DOMTREE_NONE;
    struct dt_walk w = {
        .qtype = qtype,
        .need_ipset = t->has_ipset,
        .need_nftset = t->has_nftset,
        .route_node = DOMTREE_NONE,
    };
    if (!walk_tables(t, &w, key, len, out) && t->root != DOMTREE_NONE) {
        walk_visit(t, &w, t->root, out);
    }
    /* server=//: a dotless name uses it unless something more specific than "" matched. */
    if (t->nodots != DOMTREE_NONE && len > 0 && memchr(key, '.', len) == NULL &&
        (!w.routed || w.route_node == t->root)) {
        struct domtree_result r = *out;
        if (node_route(t, t->nodots, qtype, &r)) {
            r.domain_specific = r.action == DOMTREE_FORWARD;
            *out = r;
            w.routed = true;
        }
    }
    if (!w.routed) {
        result_route(t, NULL, DOMTREE_REFUSED, out);
    }
}

const uint32_t *domtree_group_servers(const struct domtree *t, uint32_t group, uint32_t *count)
{
    DNSROUTE_REQUIRE(t->finished && group < t->group_count);
    *count = t->group_off[group + 1] - t->group_off[group];
    return t->servers + t->group_off[group];
}

uint32_t domtree_group_count(const struct domtree *t)
{
    return t->group_count;
}

size_t domtree_domain_count(const struct domtree *t)
{
    return t->node_count;
}

size_t domtree_memory(const struct domtree *t)
{
    size_t b = sizeof(*t);
    b += t->node_cap * sizeof(*t->nodes) + t->names_cap;
    b += (t->suffix.size + t->wild.size) * sizeof(struct dt_slot);
    b += t->group_cap * sizeof(*t->group_off) + t->server_cap * sizeof(*t->servers);
    b += t->span_count * sizeof(*t->spans) + t->addr4_count * 4 + t->addr6_count * 16;
    b += t->link_cap * sizeof(*t->links) + t->raw_cap * sizeof(*t->raw);
    if (t->build != NULL) {
        b += t->node_cap * sizeof(*t->build);
    }
    return b;
}
