/* test_hosts.c - the local name store: parsing as dnsmasq's read_hostsfile (comments, several
 * names, bad addresses and names skipped), duplicates, PTR owner, expand-hosts, parents, round
 * robin, and a large file. */
#include "dnsroute/hosts.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "dnsroute/err.h"
#include "dnsroute/log.h"

static char *write_tmp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/test_hosts.XXXXXX");
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    size_t len = strlen(text);
    CHECK(write(fd, text, len) == (ssize_t)len);
    close(fd);
    return path;
}

static uint32_t v4(const struct hosts *h, const char *name, uint32_t rotate, char *out)
{
    uint8_t a[4 * 8];
    uint32_t n = hosts_lookup(h, name, strlen(name), AF_INET, rotate, a, 8);
    if (n > 0 && out != NULL) {
        inet_ntop(AF_INET, a, out, INET_ADDRSTRLEN);
    }
    return n;
}

static void test_parse(void)
{
    char *path = write_tmp("# comment\n"
                           "192.168.1.1 Router router.lan # trailing\n"
                           "\n"
                           "   fd00::1\trouter\n"
                           "bad-address name1\n"
                           "10.0.0.1 ok bad\x01name after\n"
                           "10.0.0.2 x#comment-in-name\n"
                           "192.168.1.1 router\n");
    struct hosts *h = hosts_new();
    CHECK_INT_EQ(hosts_read_file(h, path, NULL, NULL), 7);
    unlink(path);
    char text[INET6_ADDRSTRLEN];
    CHECK_INT_EQ(v4(h, "router", 0, text), 1); /* the repeated line is a duplicate */
    CHECK_STR_EQ(text, "192.168.1.1");
    CHECK_INT_EQ(v4(h, "router.lan", 0, NULL), 1);
    CHECK_INT_EQ(v4(h, "name1", 0, NULL), 0);
    CHECK_INT_EQ(v4(h, "ok", 0, NULL), 1);
    CHECK_INT_EQ(v4(h, "after", 0, NULL), 1);
    CHECK_INT_EQ(v4(h, "x", 0, NULL), 1);
    uint8_t a6[16];
    CHECK_INT_EQ(hosts_lookup(h, "router", 6, AF_INET6, 0, a6, 1), 1);
    CHECK(hosts_has_name(h, "router", 6));
    CHECK(!hosts_has_name(h, "route", 5));
    uint8_t a[4] = {192, 168, 1, 1};
    CHECK_STR_EQ(hosts_lookup_addr(h, AF_INET, a), "router"); /* first name, folded */
    uint8_t none[4] = {192, 168, 1, 2};
    CHECK(hosts_lookup_addr(h, AF_INET, none) == NULL);
    CHECK(hosts_has_below(h, "lan", 3));
    CHECK(!hosts_has_below(h, "router.lan", 10));
    hosts_free(h);
}

static const char *domain_lan(void *arg, int family, const uint8_t *addr)
{
    (void)arg;
    return family == AF_INET && addr[0] == 192 ? "lan" : NULL;
}

static void test_expand_and_missing(void)
{
    char *path = write_tmp("192.168.1.5 nas nas.home\n10.1.1.1 other\n");
    struct hosts *h = hosts_new();
    CHECK_INT_EQ(hosts_read_file(h, path, domain_lan, NULL), 4);
    unlink(path);
    CHECK_INT_EQ(v4(h, "nas.lan", 0, NULL), 1);
    CHECK_INT_EQ(v4(h, "nas.home.lan", 0, NULL), 0); /* only dotless names are expanded */
    CHECK_INT_EQ(v4(h, "other.lan", 0, NULL), 0);
    uint8_t a[4] = {192, 168, 1, 5};
    CHECK_STR_EQ(hosts_lookup_addr(h, AF_INET, a), "nas.lan"); /* added before "nas" */
    CHECK(hosts_read_file(h, "/nonexistent/hosts", NULL, NULL) < 0);
    CHECK_INT_EQ(v4(h, "nas", 0, NULL), 1); /* nothing lost */
    hosts_free(h);
}

static void test_round_robin(void)
{
    struct hosts *h = hosts_new();
    for (uint8_t i = 1; i <= 3; i++) {
        uint8_t a[4] = {10, 0, 0, i};
        CHECK_INT_EQ(hosts_add(h, "multi", 5, AF_INET, a), 1);
    }
    uint8_t six[16] = {0xfd};
    CHECK_INT_EQ(hosts_add(h, "MULTI.", 6, AF_INET6, six), 1);
    CHECK_INT_EQ(hosts_add(h, "bad..", 5, AF_INET6, six), 1); /* empty labels kept, as dnsmasq */
    CHECK_INT_EQ(hosts_add(h, "", 0, AF_INET6, six), ERR_BAD_DOMAIN);
    uint8_t out[12];
    for (uint32_t r = 0; r < 4; r++) {
        CHECK_INT_EQ(hosts_lookup(h, "multi", 5, AF_INET, r, out, 3), 3);
        CHECK_INT_EQ(out[3], 1 + r % 3);
        CHECK_INT_EQ(out[7], 1 + (r + 1) % 3);
        CHECK_INT_EQ(out[11], 1 + (r + 2) % 3);
    }
    CHECK_INT_EQ(hosts_count(h), 5);
    hosts_free(h);
}

static void test_large(void)
{
    struct hosts *h = hosts_new();
    char name[64];
    for (uint32_t i = 0; i < 200000; i++) {
        uint8_t a[4] = {0, 0, 0, 0};
        int n = snprintf(name, sizeof(name), "ads%u.tracker%u.example", i, i % 1000);
        CHECK_INT_EQ(hosts_add(h, name, (size_t)n, AF_INET, a), 1);
    }
    CHECK_INT_EQ(v4(h, "ads199999.tracker999.example", 0, NULL), 1);
    CHECK(hosts_has_below(h, "tracker5.example", 16));
    CHECK(hosts_has_below(h, "example", 7));
    uint8_t zero[4] = {0};
    CHECK_STR_EQ(hosts_lookup_addr(h, AF_INET, zero), "ads0.tracker0.example");
    hosts_free(h);
}

/* hosts_copy: a rebuilt store (the unchanged part copied, the rest added after) answers as if
 * everything had been read in that order. */
static void test_copy(void)
{
    struct hosts *a = hosts_new();
    uint8_t x[4] = {10, 0, 0, 1}, y[4] = {10, 0, 0, 2};
    CHECK_INT_EQ(hosts_add(a, "one", 3, AF_INET, x), 1);
    CHECK_INT_EQ(hosts_add(a, "two", 3, AF_INET, y), 1);
    CHECK_INT_EQ(hosts_add(a, "dyn", 3, AF_INET, x), 1);
    struct hosts *b = hosts_new();
    CHECK_INT_EQ(hosts_copy(b, a, 0, 2), 2);
    CHECK_INT_EQ(hosts_count(b), 2);
    CHECK(!hosts_has_name(b, "dyn", 3));
    CHECK_INT_EQ(hosts_add(b, "later", 5, AF_INET, x), 1);
    CHECK_STR_EQ(hosts_lookup_addr(b, AF_INET, x), "one"); /* the first name keeps the PTR */
    CHECK(hosts_has_addr(b, "later", 5, AF_INET, x));
    CHECK(!hosts_has_addr(b, "later", 5, AF_INET, y));
    CHECK(!hosts_has_addr(b, "none", 4, AF_INET, x));
    CHECK_INT_EQ(hosts_copy(b, a, 1, 100), 1); /* "two" again is a duplicate; "dyn" is new */
    CHECK(hosts_has_name(b, "dyn", 3));
    hosts_free(a);
    hosts_free(b);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_copy),        CHECK_CASE(test_parse), CHECK_CASE(test_expand_and_missing),
    CHECK_CASE(test_round_robin), CHECK_CASE(test_large), {0},
};

int main(int argc, char **argv)
{
    log_set_level(LOG_LEVEL_ERROR);
    return check_main(argc, argv, cases);
}
