/* test_cache.c - the answer cache: hits, case folding, variants, expiry, CLOCK eviction,
 * replace, the stored TTL offsets and summary, sharding, and the memory an entry costs. */
#include "dnsroute/cache.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "dnsroute/dnsmsg.h"

static struct cache_key key_for(const char *label, uint16_t qtype, uint8_t variant)
{
    uint8_t name[DNAME_WIRE_MAX];
    size_t n = strlen(label);
    name[0] = (uint8_t)n;
    memcpy(name + 1, label, n);
    memcpy(name + 1 + n, "\3com", 5);
    struct cache_key k;
    cache_key_init(&k, name, n + 6, qtype, 1, variant);
    return k;
}

/* Stores reply[len] with no TTL offsets and no summary. */
static void insert_bytes(struct cache *c, const struct cache_key *k, const char *reply, size_t len,
                         uint32_t ttl_s, uint64_t now_ms)
{
    struct cache_value v = {(const uint8_t *)reply, len, NULL, 0, NULL, 0, false};
    cache_insert(c, k, &v, ttl_s, now_ms);
}

/* A hit copied into buffers of this struct. */
struct test_hit {
    struct cache_hit hit;
    uint8_t reply[512];
    uint16_t offs[16];
    uint8_t meta[CACHE_META_MAX];
};

static bool lookup(struct cache *c, const struct cache_key *k, uint64_t now_ms, struct test_hit *t)
{
    t->hit = (struct cache_hit){.reply = t->reply,
                                .reply_cap = sizeof(t->reply),
                                .ttl_offs = t->offs,
                                .ttl_cap = 16,
                                .meta = t->meta};
    return cache_lookup(c, k, now_ms, &t->hit);
}

static void test_hit_and_miss(void)
{
    struct cache *c = cache_new(10);
    struct cache_key k = key_for("example", 1, 0);
    struct test_hit hit;
    CHECK(!lookup(c, &k, 0, &hit));
    insert_bytes(c, &k, "abcdef", 6, 60, 1000);
    CHECK(lookup(c, &k, 3500, &hit));
    CHECK_INT_EQ(hit.hit.len, 6);
    CHECK_MEM_EQ(hit.reply, "abcdef", 6);
    CHECK_INT_EQ(hit.hit.age_s, 2);
    CHECK_INT_EQ(hit.hit.ttl_s, 60);
    struct cache_key other = key_for("example", 28, 0);
    CHECK(!lookup(c, &other, 3500, &hit));
    cache_free(c);
}

static void test_case_insensitive_and_variants(void)
{
    struct cache *c = cache_new(10);
    struct cache_key k = key_for("ExAmple", 1, 0);
    insert_bytes(c, &k, "x", 1, 60, 0);
    struct cache_key lower = key_for("example", 1, 0);
    struct test_hit hit;
    CHECK(lookup(c, &lower, 0, &hit));
    struct cache_key with_do = key_for("example", 1, CACHE_VARIANT_DO);
    CHECK(!lookup(c, &with_do, 0, &hit));
    cache_free(c);
}

static void test_expiry(void)
{
    struct cache *c = cache_new(10);
    struct cache_key k = key_for("a", 1, 0);
    insert_bytes(c, &k, "x", 1, 5, 0);
    struct test_hit hit;
    CHECK(lookup(c, &k, 4999, &hit));
    CHECK(!lookup(c, &k, 5000, &hit));
    struct cache_stats st;
    cache_get_stats(c, &st);
    CHECK_INT_EQ(st.entries, 0);
    CHECK_INT_EQ(st.expired, 1);
    insert_bytes(c, &k, "x", 1, 0, 0);
    CHECK(!lookup(c, &k, 0, &hit));
    cache_free(c);
}

/* Looks up with a use-stale-cache window of stale_ms. */
static bool lookup_stale(struct cache *c, const struct cache_key *k, uint64_t now_ms,
                         uint64_t stale_ms, struct test_hit *t)
{
    t->hit = (struct cache_hit){.reply = t->reply,
                                .reply_cap = sizeof(t->reply),
                                .ttl_offs = t->offs,
                                .ttl_cap = 16,
                                .meta = t->meta,
                                .stale_ms = stale_ms};
    return cache_lookup(c, k, now_ms, &t->hit);
}

/* use-stale-cache: an expired entry is served within the window, marked stale, and asks for one
 * refresh at a time; past the window it is gone; a zero-TTL answer is kept when asked to. */
static void test_stale(void)
{
    struct cache *c = cache_new(10);
    struct cache_key k = key_for("a", 1, 0);
    struct test_hit hit;
    insert_bytes(c, &k, "x", 1, 5, 0);
    CHECK(lookup_stale(c, &k, 4999, 10000, &hit));
    CHECK(!hit.hit.stale && !hit.hit.refresh);
    CHECK(lookup_stale(c, &k, 5000, 10000, &hit));
    CHECK(hit.hit.stale && hit.hit.refresh);
    CHECK_INT_EQ(hit.hit.age_s, 5);
    CHECK(lookup_stale(c, &k, 6000, 10000, &hit));
    CHECK(hit.hit.stale && !hit.hit.refresh); /* the first refresh is under way */
    cache_refresh_end(c, &k);
    CHECK(lookup_stale(c, &k, 7000, 10000, &hit));
    CHECK(hit.hit.stale && hit.hit.refresh);
    CHECK(lookup_stale(c, &k, 7000 + CACHE_REFRESH_HOLD_S * 1000 - 1, UINT64_MAX, &hit));
    CHECK(!hit.hit.refresh);
    CHECK(lookup_stale(c, &k, 7000 + CACHE_REFRESH_HOLD_S * 1000, UINT64_MAX, &hit));
    CHECK(hit.hit.refresh); /* a refresh that never ended no longer holds the next one back */
    CHECK(!lookup(c, &k, 5000, &hit)); /* no window: expired, removed */
    insert_bytes(c, &k, "x", 1, 5, 0);
    CHECK(!lookup_stale(c, &k, 15000, 10000, &hit)); /* past the window */
    struct cache_stats st;
    cache_get_stats(c, &st);
    CHECK_INT_EQ(st.entries, 0);
    struct cache_value v = {(const uint8_t *)"z", 1, NULL, 0, NULL, 0, true};
    cache_insert(c, &k, &v, 0, 100);
    CHECK(lookup_stale(c, &k, 100, 1000, &hit));
    CHECK(hit.hit.stale && hit.hit.refresh);
    CHECK(!lookup(c, &k, 100, &hit));
    cache_free(c);
}

static void test_lru_eviction(void)
{
    struct cache *c = cache_new(3);
    struct cache_key a = key_for("a", 1, 0), b = key_for("b", 1, 0), d = key_for("d", 1, 0),
                     e = key_for("e", 1, 0);
    struct test_hit hit;
    insert_bytes(c, &a, "a", 1, 60, 0);
    insert_bytes(c, &b, "b", 1, 60, 0);
    insert_bytes(c, &d, "d", 1, 60, 0);
    CHECK(lookup(c, &a, 0, &hit)); /* a gets its CLOCK bit: b, without one, goes first */
    insert_bytes(c, &e, "e", 1, 60, 0);
    CHECK(!lookup(c, &b, 0, &hit));
    CHECK(lookup(c, &a, 0, &hit));
    CHECK(lookup(c, &d, 0, &hit));
    CHECK(lookup(c, &e, 0, &hit));
    struct cache_stats st;
    cache_get_stats(c, &st);
    CHECK_INT_EQ(st.entries, 3);
    CHECK_INT_EQ(st.evictions, 1);
    cache_free(c);
}

static void test_replace_and_disabled(void)
{
    struct cache *c = cache_new(2);
    struct cache_key a = key_for("a", 1, 0);
    struct test_hit hit;
    insert_bytes(c, &a, "old", 3, 60, 0);
    insert_bytes(c, &a, "newer", 5, 60, 0);
    CHECK(lookup(c, &a, 0, &hit));
    CHECK_INT_EQ(hit.hit.len, 5);
    cache_clear(c);
    CHECK(!lookup(c, &a, 0, &hit));
    cache_free(c);
    struct cache *off = cache_new(0);
    insert_bytes(off, &a, "x", 1, 60, 0);
    CHECK(!lookup(off, &a, 0, &hit));
    cache_free(off);
}

static void test_many_entries_bounded(void)
{
    struct cache *c = cache_new(1000);
    struct test_hit hit;
    for (int i = 0; i < 20000; i++) {
        char label[16];
        snprintf(label, sizeof(label), "n%d", i);
        struct cache_key k = key_for(label, 1, 0);
        insert_bytes(c, &k, label, strlen(label), 60, 0);
    }
    struct cache_stats st;
    cache_get_stats(c, &st);
    CHECK_INT_EQ(st.entries, 1000);
    struct cache_key last = key_for("n19999", 1, 0), first = key_for("n0", 1, 0);
    CHECK(lookup(c, &last, 0, &hit));
    CHECK(!lookup(c, &first, 0, &hit));
    cache_free(c);
}

/* The TTL offsets and the summary come back with the reply; a buffer too small is a miss. */
static void test_value_roundtrip(void)
{
    struct cache *c = cache_new(10);
    struct cache_key k = key_for("v", 1, 0);
    const uint16_t offs[3] = {33, 49, 65};
    const char meta[5] = "meta";
    struct cache_value v = {(const uint8_t *)"reply-bytes", 11, offs, 3, meta, sizeof(meta), false};
    cache_insert(c, &k, &v, 60, 0);
    struct test_hit hit;
    CHECK(lookup(c, &k, 1000, &hit));
    CHECK_INT_EQ(hit.hit.len, 11);
    CHECK_MEM_EQ(hit.reply, "reply-bytes", 11);
    CHECK_INT_EQ(hit.hit.ttl_count, 3);
    CHECK_MEM_EQ(hit.offs, offs, sizeof(offs));
    CHECK_INT_EQ(hit.hit.meta_len, sizeof(meta));
    CHECK_MEM_EQ(hit.meta, meta, sizeof(meta));
    hit.hit.ttl_cap = 2;
    CHECK(!cache_lookup(c, &k, 1000, &hit.hit));
    hit.hit.ttl_cap = 3;
    hit.hit.reply_cap = 10;
    CHECK(!cache_lookup(c, &k, 1000, &hit.hit));
    cache_free(c);
}

/* A china-list-like name: q<i>.<label>.<tld> in wire form. */
static struct cache_key key_china(uint32_t i)
{
    static const char *const tlds[] = {"com", "cn", "net", "org"};
    char label[24];
    int n = snprintf(label, sizeof(label), "d%07uxyz", i * 2654435761u % 10000000u);
    uint8_t name[DNAME_WIRE_MAX], *p = name;
    char q[16];
    int qn = snprintf(q, sizeof(q), "q%u", i);
    *p++ = (uint8_t)qn;
    memcpy(p, q, (size_t)qn), p += qn;
    *p++ = (uint8_t)n;
    memcpy(p, label, (size_t)n), p += n;
    const char *tld = tlds[i % 4];
    *p++ = (uint8_t)strlen(tld);
    memcpy(p, tld, strlen(tld)), p += strlen(tld);
    *p++ = 0;
    struct cache_key k;
    cache_key_init(&k, name, (size_t)(p - name), 1, 1, 0);
    return k;
}

/* Issue 11's budget: at most 160 bytes per entry besides the reply bytes, by the cache's own
 * accounting (tables, entry blocks with the allocator's overhead) of a full 100,000-entry cache
 * holding what query.c stores: a china-list-like name, a 2-record answer's TTL offsets, the
 * parsed reply and the route (struct query_cached: the parse and four 32-bit fields). */
static void test_bytes_per_entry(void)
{
    enum { N = 100000 };
    struct cache *c = cache_new(N);
    uint8_t reply[64] = {0};
    const uint16_t offs[2] = {40, 56};
    uint8_t summary[sizeof(struct dnsmsg_reply) + 4 * sizeof(uint32_t)];
    memset(summary, 0, sizeof(summary));
    for (uint32_t i = 0; i < N; i++) {
        struct cache_key k = key_china(i);
        struct cache_value v = {reply, sizeof(reply), offs, 2, summary, sizeof(summary), false};
        cache_insert(c, &k, &v, 600, 0);
    }
    struct cache_stats st;
    cache_get_stats(c, &st);
    double per = (double)(st.bytes - st.reply_bytes) / st.entries;
    fprintf(stderr, "  %u entries in %u shards: %.1f bytes per entry besides the reply bytes\n",
            st.entries, st.shards, per);
    CHECK(st.entries > N * 95 / 100);
    CHECK_INT_EQ(st.reply_bytes, (uint64_t)st.entries * sizeof(reply));
    CHECK(per <= 160.0);
    cache_free(c);
}

/* A large cache is split into shards; together they hold at most max_entries, nearly all used. */
static void test_sharded_bounded(void)
{
    struct cache *c = cache_new(100000);
    for (uint32_t i = 0; i < 300000; i++) {
        struct cache_key k = key_china(i);
        insert_bytes(c, &k, "x", 1, 60, 0);
    }
    struct cache_stats st;
    cache_get_stats(c, &st);
    CHECK_INT_EQ(st.shards, 64);
    CHECK(st.entries <= 100000 && st.entries > 99000);
    CHECK_INT_EQ(st.inserts, 300000);
    CHECK_INT_EQ(st.evictions, st.inserts - st.entries);
    struct test_hit hit;
    struct cache_key last = key_china(299999), first = key_china(0);
    CHECK(lookup(c, &last, 0, &hit));
    CHECK(!lookup(c, &first, 0, &hit));
    cache_free(c);
}

struct hammer {
    struct cache *c;
    uint32_t base;
    uint32_t hits;
};

static void *hammer_run(void *arg)
{
    struct hammer *h = arg;
    struct test_hit hit;
    for (uint32_t round = 0; round < 20; round++) {
        for (uint32_t i = 0; i < 2000; i++) {
            struct cache_key k = key_china(h->base + i);
            if (lookup(h->c, &k, round, &hit)) {
                h->hits += hit.hit.len == 4 && memcmp(hit.reply, &k.hash, 4) == 0;
            } else {
                insert_bytes(h->c, &k, (const char *)&k.hash, 4, 60, round);
            }
        }
    }
    return NULL;
}

/* Four threads filling and reading the same cache (their keys overlap by half): every hit is
 * the entry of its own key, and the counters add up. Run under the sanitizer build too. */
static void test_threads(void)
{
    struct cache *c = cache_new(100000);
    struct hammer h[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        h[i] = (struct hammer){c, (uint32_t)i * 1000, 0};
        CHECK_INT_EQ(pthread_create(&t[i], NULL, hammer_run, &h[i]), 0);
    }
    uint64_t hits = 0;
    for (int i = 0; i < 4; i++) {
        CHECK_INT_EQ(pthread_join(t[i], NULL), 0);
        hits += h[i].hits;
    }
    struct cache_stats st;
    cache_get_stats(c, &st);
    CHECK_INT_EQ(st.hits, hits);
    CHECK_INT_EQ(st.hits + st.misses, 4 * 20 * 2000);
    CHECK_INT_EQ(st.entries, 5000);
    cache_free(c);
}

/* cache_hash folds like cache_key_init; cache_prefetch (a hint) changes nothing, whether the
 * keys are in the cache or not. */
static void test_hash_and_prefetch(void)
{
    struct cache *c = cache_new(100);
    struct cache_key k = key_for("www", DNSMSG_TYPE_A, CACHE_VARIANT_DO);
    CHECK(cache_hash((const uint8_t *)"\3WwW\3CoM", 9, DNSMSG_TYPE_A, 1, CACHE_VARIANT_DO) ==
          k.hash);
    CHECK(cache_hash((const uint8_t *)"\3WwW\3CoM", 9, DNSMSG_TYPE_A, 1, 0) != k.hash);
    insert_bytes(c, &k, "abc", 3, 60, 1000);
    struct cache_key other = key_for("other", DNSMSG_TYPE_A, 0);
    uint64_t hashes[2] = {k.hash, other.hash};
    cache_prefetch(c, hashes, 2);
    struct cache_stats st;
    cache_get_stats(c, &st);
    CHECK_INT_EQ(st.entries, 1);
    CHECK_INT_EQ(st.hits, 0);
    CHECK_INT_EQ(st.misses, 0);
    struct test_hit hit;
    CHECK(lookup(c, &k, 2000, &hit));
    cache_free(c);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_hash_and_prefetch),
    CHECK_CASE(test_hit_and_miss),
    CHECK_CASE(test_case_insensitive_and_variants),
    CHECK_CASE(test_expiry),
    CHECK_CASE(test_stale),
    CHECK_CASE(test_lru_eviction),
    CHECK_CASE(test_replace_and_disabled),
    CHECK_CASE(test_many_entries_bounded),
    CHECK_CASE(test_value_roundtrip),
    CHECK_CASE(test_bytes_per_entry),
    CHECK_CASE(test_sharded_bounded),
    CHECK_CASE(test_threads),
    {0},
};

int main(int argc, char **argv)
{
    return check_main(argc, argv, cases);
}
