/* test_prefixset.c - the bogus-nxdomain address set: exact /32 and /128 entries, real prefixes of
 * every length, the two families kept apart, duplicates, growth, and a randomized comparison
 * with a linear scan (the matcher it replaced). */
#include "dnsroute/prefixset.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sys/socket.h>

#include "check.h"

static void add_text(struct prefixset *s, const char *text, unsigned len)
{
    uint8_t a[16];
    int family = strchr(text, ':') != NULL ? AF_INET6 : AF_INET;
    CHECK_INT_EQ(inet_pton(family, text, a), 1);
    CHECK_INT_EQ(prefixset_add(s, family, a, len), 0);
}

static bool has_text(const struct prefixset *s, const char *text)
{
    uint8_t a[16];
    int family = strchr(text, ':') != NULL ? AF_INET6 : AF_INET;
    CHECK_INT_EQ(inet_pton(family, text, a), 1);
    return prefixset_has(s, family, a);
}

static void test_exact(void)
{
    struct prefixset *s = prefixset_new();
    add_text(s, "123.125.81.12", 32);
    add_text(s, "2001:240:bb5f:1980:0:1:80b:ad00", 128);
    CHECK(has_text(s, "123.125.81.12"));
    CHECK(!has_text(s, "123.125.81.13"));
    CHECK(!has_text(s, "123.125.81.0"));
    CHECK(has_text(s, "2001:240:bb5f:1980:0:1:80b:ad00"));
    CHECK(!has_text(s, "2001:240:bb5f:1980:0:1:80b:ad01"));
    CHECK_INT_EQ(prefixset_count(s), 2);
    prefixset_free(s);
}

static void test_prefixes(void)
{
    struct prefixset *s = prefixset_new();
    add_text(s, "10.1.2.3", 24); /* host bits are ignored */
    add_text(s, "172.16.0.0", 12);
    add_text(s, "192.0.2.128", 25);
    add_text(s, "2001:db8::", 32);
    add_text(s, "fe80::1", 10);
    CHECK(has_text(s, "10.1.2.200"));
    CHECK(!has_text(s, "10.1.3.0"));
    CHECK(has_text(s, "172.31.255.255"));
    CHECK(!has_text(s, "172.32.0.0"));
    CHECK(has_text(s, "192.0.2.255"));
    CHECK(!has_text(s, "192.0.2.127"));
    CHECK(has_text(s, "2001:db8:ffff::1"));
    CHECK(!has_text(s, "2001:db9::"));
    CHECK(has_text(s, "febf::"));
    CHECK(!has_text(s, "fec0::"));
    prefixset_free(s);
}

/* A /0 matches every address of its family, and only of its family. */
static void test_zero_length(void)
{
    struct prefixset *s = prefixset_new();
    add_text(s, "1.2.3.4", 0);
    CHECK(has_text(s, "255.255.255.255"));
    CHECK(has_text(s, "0.0.0.0"));
    CHECK(!has_text(s, "::"));
    prefixset_free(s);
}

/* The v4 address 32.1.13.184 and the v6 2001:db8:: share their first four bytes. */
static void test_families_apart(void)
{
    struct prefixset *s = prefixset_new();
    add_text(s, "2001:db8::", 32);
    CHECK(!has_text(s, "32.1.13.184"));
    add_text(s, "32.1.13.184", 32);
    CHECK(has_text(s, "32.1.13.184"));
    CHECK(has_text(s, "2001:db8::1"));
    CHECK(!prefixset_has(s, AF_UNIX, (const uint8_t *)"abcd"));
    CHECK(!prefixset_has(NULL, AF_INET, (const uint8_t *)"abcd"));
    CHECK_INT_EQ(prefixset_count(NULL), 0);
    prefixset_free(s);
}

static void test_bad_input(void)
{
    struct prefixset *s = prefixset_new();
    uint8_t a[16] = {1, 2, 3, 4};
    CHECK_INT_EQ(prefixset_add(s, AF_INET, a, 33), -EINVAL);
    CHECK_INT_EQ(prefixset_add(s, AF_INET6, a, 129), -EINVAL);
    CHECK_INT_EQ(prefixset_add(s, AF_UNIX, a, 8), -EINVAL);
    CHECK_INT_EQ(prefixset_count(s), 0);
    prefixset_free(s);
}

static void test_duplicates(void)
{
    struct prefixset *s = prefixset_new();
    add_text(s, "10.0.0.1", 8);
    add_text(s, "10.9.9.9", 8);
    add_text(s, "10.0.0.1", 32);
    uint32_t sig = prefixset_signature(s);
    add_text(s, "10.0.0.1", 32);
    CHECK_INT_EQ(prefixset_count(s), 2);
    CHECK_INT_EQ(prefixset_signature(s), sig);
    /* The same prefixes in another order, host bits aside: the same signature. */
    struct prefixset *t = prefixset_new();
    add_text(t, "10.0.0.1", 32);
    add_text(t, "10.1.2.3", 8);
    CHECK_INT_EQ(prefixset_signature(t), sig);
    add_text(t, "10.0.0.2", 32);
    CHECK(prefixset_signature(t) != sig);
    CHECK_INT_EQ(prefixset_signature(NULL), 0);
    prefixset_free(t);
    prefixset_free(s);
}

static uint64_t rng_next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

struct ref_prefix {
    int family;
    uint8_t addr[16];
    unsigned len;
};

static bool ref_has(const struct ref_prefix *p, size_t n, int family, const uint8_t *a)
{
    for (size_t i = 0; i < n; i++) {
        unsigned full = p[i].len / 8, rest = p[i].len % 8;
        if (p[i].family == family && memcmp(p[i].addr, a, full) == 0 &&
            (rest == 0 || ((p[i].addr[full] ^ a[full]) & (0xff << (8 - rest))) == 0)) {
            return true;
        }
    }
    return false;
}

/* 20,000 random prefixes (mostly /32 and /128, one in four of a random length of at least half)
 * against 20,000 addresses made from them with one bit flipped (inside the prefix: usually a miss;
 * past it: a hit): the set answers as a linear scan does. */
static void test_random_vs_linear(void)
{
    enum { NPREFIX = 20000, NADDR = 20000 };
    static struct ref_prefix ref[NPREFIX];
    uint64_t x = 88172645463325252ULL;
    struct prefixset *s = prefixset_new();
    for (size_t i = 0; i < NPREFIX; i++) {
        struct ref_prefix *p = &ref[i];
        p->family = rng_next(&x) % 4 == 0 ? AF_INET6 : AF_INET;
        unsigned max = p->family == AF_INET ? 32 : 128;
        /* Short prefixes would cover almost everything (test_zero_length has /0). */
        unsigned min = max / 2;
        p->len = rng_next(&x) % 4 == 0 ? min + (unsigned)(rng_next(&x) % (max - min + 1)) : max;
        for (size_t k = 0; k < 16; k++) {
            p->addr[k] = (uint8_t)rng_next(&x);
        }
        CHECK_INT_EQ(prefixset_add(s, p->family, p->addr, p->len), 0);
    }
    size_t hits = 0;
    for (size_t i = 0; i < NADDR; i++) {
        const struct ref_prefix *p = &ref[rng_next(&x) % NPREFIX];
        uint8_t a[16];
        memcpy(a, p->addr, sizeof(a));
        unsigned bit = (unsigned)(rng_next(&x) % (p->family == AF_INET ? 32 : 128));
        a[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
        bool want = ref_has(ref, NPREFIX, p->family, a);
        CHECK_INT_EQ(prefixset_has(s, p->family, a), want);
        hits += want;
    }
    /* Both outcomes occur often, so the comparison means something. */
    fprintf(stderr, "  %zu of %d addresses inside a prefix\n", hits, NADDR);
    CHECK(hits > NADDR / 20 && hits < NADDR - NADDR / 20);
    prefixset_free(s);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_exact),
    CHECK_CASE(test_prefixes),
    CHECK_CASE(test_zero_length),
    CHECK_CASE(test_families_apart),
    CHECK_CASE(test_bad_input),
    CHECK_CASE(test_duplicates),
    CHECK_CASE(test_random_vs_linear),
    {0},
};

int main(int argc, char **argv)
{
    return check_main(argc, argv, cases);
}
