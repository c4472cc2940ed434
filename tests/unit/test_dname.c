/* test_dname.c - unit tests of dname: configuration text to keys (dnsmasq canonicalise rules),
 * wire names to keys with escapes, text to wire, equality, label counts. */
#include "dnsroute/dname.h"

#include "check.h"
#include "dnsroute/err.h"

/* Canonicalises text; returns the code and leaves the key in out. */
static int canon(const char *text, bool allow_wild, bool *wild, char *out)
{
    return dname_canonicalise(text, strlen(text), allow_wild, wild, out, DNAME_KEY_MAX + 1);
}

static void test_canon_basic(void)
{
    char out[DNAME_KEY_MAX + 1];
    bool wild = true;
    CHECK_INT_EQ(canon("WWW.Example.COM", true, &wild, out), 15);
    CHECK_STR_EQ(out, "www.example.com");
    CHECK(!wild);
    CHECK_INT_EQ(canon("...a.com.", false, NULL, out), 5);
    CHECK_STR_EQ(out, "a.com");
    /* Only one trailing dot goes. */
    CHECK_INT_EQ(canon("a.com..", false, NULL, out), 6);
    CHECK_STR_EQ(out, "a.com.");
    /* Empty labels are accepted, as dnsmasq does. */
    CHECK_INT_EQ(canon("a..com", false, NULL, out), 6);
    CHECK_STR_EQ(out, "a..com");
    /* The root / default domain. */
    CHECK_INT_EQ(canon("", false, NULL, out), 0);
    CHECK_STR_EQ(out, "");
    CHECK_INT_EQ(canon(".", false, NULL, out), 0);
    CHECK_INT_EQ(canon("xn--fiqs8s", false, NULL, out), 10);
    CHECK_STR_EQ(out, "xn--fiqs8s");
}

static void test_canon_wildcard(void)
{
    char out[DNAME_KEY_MAX + 1];
    bool wild = false;
    CHECK_INT_EQ(canon("*example.com", true, &wild, out), 11);
    CHECK_STR_EQ(out, "example.com");
    CHECK(wild);
    /* "*.a.com" keeps its dot: it covers names below a.com only. */
    CHECK_INT_EQ(canon("*.A.com", true, &wild, out), 6);
    CHECK_STR_EQ(out, ".a.com");
    CHECK(wild);
    /* Leading dots go before the star is looked at. */
    CHECK_INT_EQ(canon(".*b.com", true, &wild, out), 5);
    CHECK_STR_EQ(out, "b.com");
    CHECK(wild);
    /* A lone star means no domain: a default rule, not a wildcard. */
    CHECK_INT_EQ(canon("*", true, &wild, out), 0);
    CHECK(!wild);
    /* Without allow_wildcard (ipset=, nftset=) the star is a literal character. */
    CHECK_INT_EQ(canon("*.x.com", false, &wild, out), 7);
    CHECK_STR_EQ(out, "*.x.com");
    CHECK(!wild);
    /* A star elsewhere is literal. */
    CHECK_INT_EQ(canon("a*.com", true, &wild, out), 6);
    CHECK(!wild);
}

static void test_canon_reject(void)
{
    char out[DNAME_KEY_MAX + 1];
    CHECK_INT_EQ(canon("a b.com", false, NULL, out), ERR_BAD_DOMAIN);
    CHECK_INT_EQ(canon("a\tb.com", false, NULL, out), ERR_BAD_DOMAIN);
    CHECK_INT_EQ(canon("a\x7f.com", false, NULL, out), ERR_BAD_DOMAIN);
    CHECK_INT_EQ(canon("\xe6\x81\x92\xe5\xa4\xa9.com", false, NULL, out), ERR_BAD_DOMAIN);
    char label[80];
    memset(label, 'a', 63);
    strcpy(label + 63, ".com");
    CHECK_INT_EQ(canon(label, false, NULL, out), 67);
    memset(label, 'a', 64);
    strcpy(label + 64, ".com");
    CHECK_INT_EQ(canon(label, false, NULL, out), ERR_BAD_DOMAIN);
    /* Names: 1025 bytes is the limit. */
    char big[1100];
    for (size_t i = 0; i < sizeof(big); i++) {
        big[i] = (i % 2) ? '.' : 'a';
    }
    CHECK_INT_EQ(dname_canonicalise(big, 1025, false, NULL, out, sizeof(out)), 1025);
    CHECK_INT_EQ(dname_canonicalise(big, 1027, false, NULL, out, sizeof(out)), ERR_BAD_DOMAIN);
    /* A NUL byte inside the given length is a control character. */
    CHECK_INT_EQ(dname_canonicalise("a\0b", 3, false, NULL, out, sizeof(out)), ERR_BAD_DOMAIN);
    /* Too small an output buffer. */
    CHECK_INT_EQ(dname_canonicalise("abc", 3, false, NULL, out, 3), ERR_FULL);
    CHECK_INT_EQ(dname_canonicalise("abc", 3, false, NULL, out, 4), 3);
}

static void test_wire_to_key(void)
{
    char out[DNAME_KEY_MAX + 1];
    const uint8_t w1[] = "\3WwW\7ExAmPle\3COM";
    CHECK_INT_EQ(dname_wire_to_key(w1, sizeof(w1), out, sizeof(out)), 15);
    CHECK_STR_EQ(out, "www.example.com");
    const uint8_t root[] = {0};
    CHECK_INT_EQ(dname_wire_to_key(root, 1, out, sizeof(out)), 0);
    CHECK_STR_EQ(out, "");
    /* Dots, backslashes, spaces, control and high bytes are escaped as \DDD. */
    const uint8_t w2[] = {5, 'a', '.', '\\', ' ', 0xC8, 2, 'x', 0, 0};
    CHECK_INT_EQ(dname_wire_to_key(w2, sizeof(w2), out, sizeof(out)), 23);
    CHECK_STR_EQ(out, "a\\046\\092\\032\\200.x\\000");
    /* Errors: missing terminator, label running past the end, bad label type. */
    CHECK_INT_EQ(dname_wire_to_key(w1, sizeof(w1) - 1, out, sizeof(out)), ERR_MALFORMED);
    const uint8_t w3[] = {10, 'a', 0};
    CHECK_INT_EQ(dname_wire_to_key(w3, sizeof(w3), out, sizeof(out)), ERR_MALFORMED);
    const uint8_t w4[] = {0xC0, 0x0c};
    CHECK_INT_EQ(dname_wire_to_key(w4, sizeof(w4), out, sizeof(out)), ERR_MALFORMED);
    CHECK_INT_EQ(dname_wire_to_key(w1, sizeof(w1), out, 15), ERR_FULL);
    CHECK_INT_EQ(dname_wire_to_key(w1, sizeof(w1), out, 16), 15);
    CHECK_INT_EQ(dname_wire_to_key(w1, 0, out, sizeof(out)), ERR_MALFORMED);
}

static void test_wire_too_long(void)
{
    /* 4 labels of 63 make 257 bytes: over the 255 limit. */
    uint8_t w[300];
    size_t n = 0;
    for (int l = 0; l < 4; l++) {
        w[n++] = 63;
        memset(w + n, 'a', 63);
        n += 63;
    }
    w[n++] = 0;
    char out[DNAME_KEY_MAX + 1];
    CHECK_INT_EQ(dname_wire_to_key(w, n, out, sizeof(out)), ERR_MALFORMED);
    /* 3 x 63 + 61 = 255 bytes exactly is fine. */
    w[3 * 64] = 61;
    w[3 * 64 + 62] = 0;
    CHECK_INT_EQ(dname_wire_to_key(w, 255, out, sizeof(out)), 3 * 64 + 61);
}

static void test_text_to_wire(void)
{
    uint8_t w[DNAME_WIRE_MAX];
    CHECK_INT_EQ(dname_text_to_wire("Www.A.com", 9, w, sizeof(w)), 11);
    CHECK_MEM_EQ(w, "\3Www\1A\3com", 11);
    CHECK_INT_EQ(dname_text_to_wire("a.com.", 6, w, sizeof(w)), 7);
    CHECK_MEM_EQ(w, "\1a\3com", 7);
    CHECK_INT_EQ(dname_text_to_wire("", 0, w, sizeof(w)), 1);
    CHECK_INT_EQ(w[0], 0);
    CHECK_INT_EQ(dname_text_to_wire(".", 1, w, sizeof(w)), 1);
    CHECK_INT_EQ(dname_text_to_wire("a\\.b\\065\\\\.c", 12, w, sizeof(w)), 9);
    CHECK_MEM_EQ(w, "\5a.bA\\\1c", 9);
    CHECK_INT_EQ(dname_text_to_wire("a..b", 4, w, sizeof(w)), ERR_BAD_DOMAIN);
    CHECK_INT_EQ(dname_text_to_wire(".a", 2, w, sizeof(w)), ERR_BAD_DOMAIN);
    CHECK_INT_EQ(dname_text_to_wire("a\\25", 4, w, sizeof(w)), ERR_BAD_DOMAIN);
    CHECK_INT_EQ(dname_text_to_wire("a\\256", 5, w, sizeof(w)), ERR_BAD_DOMAIN);
    CHECK_INT_EQ(dname_text_to_wire("a\\", 2, w, sizeof(w)), ERR_BAD_DOMAIN);
    CHECK_INT_EQ(dname_text_to_wire("abc", 3, w, 4), ERR_FULL);
    CHECK_INT_EQ(dname_text_to_wire("abc", 3, w, 5), 5);
    char label[70];
    memset(label, 'x', 64);
    CHECK_INT_EQ(dname_text_to_wire(label, 63, w, sizeof(w)), 65);
    CHECK_INT_EQ(dname_text_to_wire(label, 64, w, sizeof(w)), ERR_BAD_DOMAIN);
    char text[400];
    for (int i = 0; i < 200; i++) {
        text[2 * i] = 'a';
        text[2 * i + 1] = '.';
    }
    CHECK_INT_EQ(dname_text_to_wire(text, 253, w, sizeof(w)), 255);
    CHECK_INT_EQ(dname_text_to_wire(text, 255, w, sizeof(w)), ERR_NAME_TOO_LONG);
}

/* Random wire names survive wire -> key -> wire -> key, case folded. */
static void test_round_trip(void)
{
    uint64_t seed = 42;
    for (int round = 0; round < 20000; round++) {
        uint8_t w[DNAME_WIRE_MAX];
        size_t n = 0;
        int labels = 0;
        for (;;) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            size_t ll = 1 + (seed >> 33) % 20;
            if (labels == 5 || n + ll + 2 > DNAME_WIRE_MAX) {
                break;
            }
            w[n++] = (uint8_t)ll;
            for (size_t i = 0; i < ll; i++) {
                seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
                w[n++] = (round % 3 == 0) ? (uint8_t)(seed >> 56) : (uint8_t)('A' + (seed >> 59));
            }
            labels++;
        }
        w[n++] = 0;
        char key[DNAME_KEY_MAX + 1], key2[DNAME_KEY_MAX + 1];
        int kl = dname_wire_to_key(w, n, key, sizeof(key));
        CHECK(kl >= 0);
        CHECK_INT_EQ(dname_key_labels(key, (size_t)kl), labels);
        uint8_t w2[DNAME_WIRE_MAX];
        int wl = dname_text_to_wire(key, (size_t)kl, w2, sizeof(w2));
        CHECK_INT_EQ(wl, n);
        CHECK(dname_wire_equal(w, n, w2, (size_t)wl));
        CHECK_INT_EQ(dname_wire_to_key(w2, (size_t)wl, key2, sizeof(key2)), kl);
        CHECK_STR_EQ(key, key2);
    }
}

static void test_wire_equal(void)
{
    CHECK(dname_wire_equal((const uint8_t *)"\1A\3cOm", 7, (const uint8_t *)"\1a\3CoM", 7));
    CHECK(!dname_wire_equal((const uint8_t *)"\1a\3com", 7, (const uint8_t *)"\1b\3com", 7));
    CHECK(!dname_wire_equal((const uint8_t *)"\1a\3com", 7, (const uint8_t *)"\1a\3co", 6));
    /* Only ASCII letters fold: 0xC1 and 0xE1 differ. */
    CHECK(!dname_wire_equal((const uint8_t *)"\1\xC1", 3, (const uint8_t *)"\1\xE1", 3));
    CHECK(!dname_wire_equal((const uint8_t *)"\1@", 3, (const uint8_t *)"\1`", 3));
}

static void test_key_labels(void)
{
    CHECK_INT_EQ(dname_key_labels("", 0), 0);
    CHECK_INT_EQ(dname_key_labels("com", 3), 1);
    CHECK_INT_EQ(dname_key_labels("a.com", 5), 2);
    CHECK_INT_EQ(dname_key_labels("a\\046b.com", 10), 2);
    CHECK_INT_EQ(dname_key_labels("a..com", 6), 3);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_canon_basic),   CHECK_CASE(test_canon_wildcard),
    CHECK_CASE(test_canon_reject),  CHECK_CASE(test_wire_to_key),
    CHECK_CASE(test_wire_too_long), CHECK_CASE(test_text_to_wire),
    CHECK_CASE(test_round_trip),    CHECK_CASE(test_wire_equal),
    CHECK_CASE(test_key_labels),    {0},
};

int main(int argc, char **argv)
{
    return check_main(argc, argv, cases);
}
