/* test_cache.c - the answer cache: hits, case folding, variants, expiry, LRU eviction, replace. */
#include "dnsroute/cache.h"

#include <stdio.h>
#include <string.h>

#include "check.h"

static struct cache_key key_for(const char *label, uint16_t qtype, uint8_t variant)
{
    struct cache_key k;
    memset(&k, 0, sizeof(k));
    size_t n = strlen(label);
    k.name[0] = (uint8_t)n;
    memcpy(k.name + 1, label, n);
    memcpy(k.name + 1 + n, "\3com", 5);
    k.name_len = (uint8_t)(n + 6);
    k.qtype = qtype;
    k.qclass = 1;
    k.variant = variant;
    return k;
}

static void test_hit_and_miss(void)
{
    struct cache *c = cache_new(10);
    struct cache_key k = key_for("example", 1, 0);
    struct cache_hit hit;
    CHECK(!cache_lookup(c, &k, 0, &hit));
    cache_insert(c, &k, (const uint8_t *)"abcdef", 6, 60, 1000);
    CHECK(cache_lookup(c, &k, 3500, &hit));
    CHECK_INT_EQ(hit.len, 6);
    CHECK_MEM_EQ(hit.reply, "abcdef", 6);
    CHECK_INT_EQ(hit.age_s, 2);
    CHECK_INT_EQ(hit.ttl_s, 60);
    struct cache_key other = key_for("example", 28, 0);
    CHECK(!cache_lookup(c, &other, 3500, &hit));
    cache_free(c);
}

static void test_case_insensitive_and_variants(void)
{
    struct cache *c = cache_new(10);
    struct cache_key k = key_for("ExAmple", 1, 0);
    cache_insert(c, &k, (const uint8_t *)"x", 1, 60, 0);
    struct cache_key lower = key_for("example", 1, 0);
    struct cache_hit hit;
    CHECK(cache_lookup(c, &lower, 0, &hit));
    struct cache_key with_do = key_for("example", 1, CACHE_VARIANT_DO);
    CHECK(!cache_lookup(c, &with_do, 0, &hit));
    cache_free(c);
}

static void test_expiry(void)
{
    struct cache *c = cache_new(10);
    struct cache_key k = key_for("a", 1, 0);
    cache_insert(c, &k, (const uint8_t *)"x", 1, 5, 0);
    struct cache_hit hit;
    CHECK(cache_lookup(c, &k, 4999, &hit));
    CHECK(!cache_lookup(c, &k, 5000, &hit));
    struct cache_stats st;
    cache_get_stats(c, &st);
    CHECK_INT_EQ(st.entries, 0);
    CHECK_INT_EQ(st.expired, 1);
    cache_insert(c, &k, (const uint8_t *)"x", 1, 0, 0);
    CHECK(!cache_lookup(c, &k, 0, &hit));
    cache_free(c);
}

static void test_lru_eviction(void)
{
    struct cache *c = cache_new(3);
    struct cache_key a = key_for("a", 1, 0), b = key_for("b", 1, 0), d = key_for("d", 1, 0),
                     e = key_for("e", 1, 0);
    struct cache_hit hit;
    cache_insert(c, &a, (const uint8_t *)"a", 1, 60, 0);
    cache_insert(c, &b, (const uint8_t *)"b", 1, 60, 0);
    cache_insert(c, &d, (const uint8_t *)"d", 1, 60, 0);
    CHECK(cache_lookup(c, &a, 0, &hit)); /* a becomes most recent: b is now the oldest */
    cache_insert(c, &e, (const uint8_t *)"e", 1, 60, 0);
    CHECK(!cache_lookup(c, &b, 0, &hit));
    CHECK(cache_lookup(c, &a, 0, &hit));
    CHECK(cache_lookup(c, &d, 0, &hit));
    CHECK(cache_lookup(c, &e, 0, &hit));
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
    struct cache_hit hit;
    cache_insert(c, &a, (const uint8_t *)"old", 3, 60, 0);
    cache_insert(c, &a, (const uint8_t *)"newer", 5, 60, 0);
    CHECK(cache_lookup(c, &a, 0, &hit));
    CHECK_INT_EQ(hit.len, 5);
    cache_clear(c);
    CHECK(!cache_lookup(c, &a, 0, &hit));
    cache_free(c);
    struct cache *off = cache_new(0);
    cache_insert(off, &a, (const uint8_t *)"x", 1, 60, 0);
    CHECK(!cache_lookup(off, &a, 0, &hit));
    cache_free(off);
}

static void test_many_entries_bounded(void)
{
    struct cache *c = cache_new(1000);
    struct cache_hit hit;
    for (int i = 0; i < 20000; i++) {
        char label[16];
        snprintf(label, sizeof(label), "n%d", i);
        struct cache_key k = key_for(label, 1, 0);
        cache_insert(c, &k, (const uint8_t *)label, strlen(label), 60, 0);
    }
    struct cache_stats st;
    cache_get_stats(c, &st);
    CHECK_INT_EQ(st.entries, 1000);
    struct cache_key last = key_for("n19999", 1, 0), first = key_for("n0", 1, 0);
    CHECK(cache_lookup(c, &last, 0, &hit));
    CHECK(!cache_lookup(c, &first, 0, &hit));
    cache_free(c);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_hit_and_miss),
    CHECK_CASE(test_case_insensitive_and_variants),
    CHECK_CASE(test_expiry),
    CHECK_CASE(test_lru_eviction),
    CHECK_CASE(test_replace_and_disabled),
    CHECK_CASE(test_many_entries_bounded),
    {0},
};

int main(int argc, char **argv)
{
    return check_main(argc, argv, cases);
}
