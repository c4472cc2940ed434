/* test_nlset.c - nlset against real kernel sets in a private network namespace: ipsets and nft
 * sets are created with the ipset and nft commands, filled through nlset, and checked with
 * `ipset test` / `nft get element` right after nlset_flush() returns (the race-free property).
 * Also prints ns per address for batches of 64 and 1000. Exits 77 where no namespace can be made
 * or the ipset/nft commands do not work in it. */
#include "dnsroute/nlset.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netfilter.h>
#include <sched.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "dnsroute/err.h"
#include "dnsroute/log.h"

static char log_path[64];

/* Runs a shell command; returns its exit status. */
static int sh(const char *fmt, ...) DNSROUTE_PRINTF(1, 2);
static int sh(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    char full[1100];
    (void)snprintf(full, sizeof(full), "%s >/dev/null 2>&1", cmd);
    int st = system(full); /* NOLINT(cert-env33-c): the test drives ipset and nft. */
    return st == -1 ? -1 : WEXITSTATUS(st);
}

/* Runs a command and returns its stdout (static buffer, truncated at 64 KiB). */
static const char *capture(const char *fmt, ...) DNSROUTE_PRINTF(1, 2);
static const char *capture(const char *fmt, ...)
{
    static char out[65536];
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    out[0] = '\0';
    FILE *f = popen(cmd, "r"); /* NOLINT(cert-env33-c) */
    if (f == NULL) {
        return out;
    }
    size_t len = fread(out, 1, sizeof(out) - 1, f);
    out[len] = '\0';
    pclose(f);
    return out;
}

static struct conf_set ipset_conf(const char *name)
{
    struct conf_set c = {.kind = CONF_SET_IPSET};
    (void)snprintf(c.name, sizeof(c.name), "%s", name);
    (void)snprintf(c.spec, sizeof(c.spec), "%s", name);
    return c;
}

static struct conf_set nft_conf(uint8_t only, uint8_t nf_family, const char *table,
                                const char *name)
{
    struct conf_set c = {.kind = CONF_SET_NFTSET, .only_family = only, .nf_family = nf_family};
    (void)snprintf(c.table, sizeof(c.table), "%s", table);
    (void)snprintf(c.name, sizeof(c.name), "%s", name);
    const char *fam = nf_family == NFPROTO_INET ? "inet" : nf_family == NFPROTO_IPV6 ? "ip6" : "ip";
    (void)snprintf(c.spec, sizeof(c.spec), "%s%s%s#%s#%s", only == 4 ? "4#" : "",
                   only == 6 ? "6#" : "", fam, table, name);
    return c;
}

static void addr4(uint8_t *out, const char *text)
{
    CHECK_INT_EQ(inet_pton(AF_INET, text, out), 1);
}

static void addr6(uint8_t *out, const char *text)
{
    CHECK_INT_EQ(inet_pton(AF_INET6, text, out), 1);
}

static int add_text(struct nlset *n, uint32_t id, const char *text, uint32_t ttl_s)
{
    uint8_t a[16];
    if (strchr(text, ':') != NULL) {
        addr6(a, text);
        return nlset_add(n, id, AF_INET6, a, ttl_s);
    }
    addr4(a, text);
    return nlset_add(n, id, AF_INET, a, ttl_s);
}

static struct nlset_stats stats_of(struct nlset *n, uint32_t id)
{
    struct nlset_stats st;
    CHECK_INT_EQ(nlset_get_stats(n, id, &st), 0);
    return st;
}

static struct nlset *open_sets(const struct conf_set *sets, size_t count,
                               const struct nlset_options *opt)
{
    struct nlset *n = NULL;
    CHECK_INT_EQ(nlset_new(sets, count, opt, &n), 0);
    CHECK(n != NULL);
    return n;
}

/* Lines of the test's log file that contain both needles. */
static int log_lines(const char *a, const char *b)
{
    FILE *f = fopen(log_path, "r");
    if (f == NULL) {
        return 0;
    }
    char line[2048];
    int count = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        count += strstr(line, a) != NULL && strstr(line, b) != NULL;
    }
    fclose(f);
    return count;
}

/* The timeout `ipset list` shows for an element, or -1 when listed without one, -2 when absent. */
static long ipset_elem_timeout(const char *set, const char *elem)
{
    const char *out = capture("ipset list %s", set);
    char needle[80];
    (void)snprintf(needle, sizeof(needle), "\n%s", elem);
    const char *p = strstr(out, needle);
    if (p == NULL) {
        return -2;
    }
    p += strlen(needle);
    if (*p == '\n' || *p == '\0') {
        return -1;
    }
    const char *t = strstr(p, " timeout ");
    return t != NULL && t < strchr(p, '\n') ? strtol(t + 9, NULL, 10) : -1;
}

static void test_ipset_v4_v6(void)
{
    CHECK_INT_EQ(sh("ipset create a4 hash:ip"), 0);
    CHECK_INT_EQ(sh("ipset create a6 hash:ip family inet6"), 0);
    CHECK_INT_EQ(sh("ipset create n4 hash:net"), 0);
    CHECK_INT_EQ(sh("ipset create n6 hash:net family inet6"), 0);
    struct conf_set sets[] = {ipset_conf("a4"), ipset_conf("a6"), ipset_conf("n4"),
                              ipset_conf("n6")};
    struct nlset *n = open_sets(sets, 4, NULL);
    CHECK_INT_EQ(stats_of(n, 0).state, NLSET_STATE_READY);
    CHECK_INT_EQ(stats_of(n, 0).family, AF_INET);
    CHECK_INT_EQ(stats_of(n, 1).family, AF_INET6);
    CHECK_INT_EQ(stats_of(n, 2).family, AF_INET);
    CHECK_INT_EQ(stats_of(n, 3).family, AF_INET6);
    CHECK_INT_EQ(stats_of(n, 0).has_timeout, false);
    CHECK_INT_EQ(add_text(n, 0, "198.18.0.1", 60), 0);
    CHECK_INT_EQ(add_text(n, 1, "2001:db8::1", 60), 0);
    CHECK_INT_EQ(add_text(n, 2, "198.18.0.2", 60), 0);
    CHECK_INT_EQ(add_text(n, 3, "2001:db8::2", 60), 0);
    CHECK_INT_EQ(nlset_pending(n), 4);
    CHECK_INT_EQ(nlset_flush(n), 4);
    CHECK_INT_EQ(nlset_pending(n), 0);
    CHECK_INT_EQ(sh("ipset test a4 198.18.0.1"), 0);
    CHECK_INT_EQ(sh("ipset test a6 2001:db8::1"), 0);
    CHECK_INT_EQ(sh("ipset test n4 198.18.0.2"), 0);
    CHECK_INT_EQ(sh("ipset test n6 2001:db8::2"), 0);
    CHECK_INT_EQ(sh("ipset test a4 198.18.0.2"), 1);
    /* A set without timeout support gets no timeout attribute. */
    CHECK_INT_EQ(ipset_elem_timeout("a4", "198.18.0.1"), -1);
    for (uint32_t i = 0; i < 4; i++) {
        CHECK_INT_EQ(stats_of(n, i).added, 1);
        CHECK_INT_EQ(stats_of(n, i).last_error, 0);
    }
    /* Re-adding an existing element is not an error (no NLM_F_EXCL). */
    CHECK_INT_EQ(add_text(n, 0, "198.18.0.1", 60), 0);
    CHECK_INT_EQ(nlset_flush(n), 1);
    CHECK_INT_EQ(stats_of(n, 0).added, 2);
    nlset_free(n);
    CHECK_INT_EQ(sh("ipset destroy a4; ipset destroy a6; ipset destroy n4; ipset destroy n6"), 0);
}

static void test_nft_families(void)
{
    CHECK_INT_EQ(sh("nft 'add table ip t4; add set ip t4 s { type ipv4_addr; }'"), 0);
    CHECK_INT_EQ(sh("nft 'add table ip6 t6; add set ip6 t6 s { type ipv6_addr; }'"), 0);
    CHECK_INT_EQ(sh("nft 'add table inet ti; add set inet ti s4 { type ipv4_addr; }; "
                    "add set inet ti s6 { type ipv6_addr; }; "
                    "add set inet ti iv { type ipv4_addr; flags interval; }'"),
                 0);
    struct conf_set sets[] = {
        nft_conf(0, NFPROTO_IPV4, "t4", "s"),  nft_conf(0, NFPROTO_IPV6, "t6", "s"),
        nft_conf(4, NFPROTO_INET, "ti", "s4"), nft_conf(6, NFPROTO_INET, "ti", "s6"),
        nft_conf(0, NFPROTO_INET, "ti", "iv"), nft_conf(6, NFPROTO_INET, "ti", "s4"),
    };
    struct nlset *n = open_sets(sets, 6, NULL);
    for (uint32_t i = 0; i < 6; i++) {
        CHECK_INT_EQ(stats_of(n, i).state, NLSET_STATE_READY);
    }
    CHECK_INT_EQ(stats_of(n, 1).family, AF_INET6);
    CHECK_INT_EQ(stats_of(n, 4).interval, true);
    CHECK_INT_EQ(add_text(n, 0, "198.18.1.1", 60), 0);
    CHECK_INT_EQ(add_text(n, 1, "2001:db8:1::1", 60), 0);
    CHECK_INT_EQ(add_text(n, 2, "198.18.1.2", 60), 0);
    CHECK_INT_EQ(add_text(n, 3, "2001:db8:1::2", 60), 0);
    CHECK_INT_EQ(add_text(n, 4, "198.18.1.3", 60), 0);
    CHECK_INT_EQ(add_text(n, 4, "255.255.255.255", 60), 0);
    /* The 4#/6# prefix: a 6# prefix on an IPv4 set takes nothing, never sprays. */
    CHECK_INT_EQ(add_text(n, 5, "198.18.1.9", 60), -EAFNOSUPPORT);
    CHECK_INT_EQ(add_text(n, 2, "2001:db8:1::9", 60), -EAFNOSUPPORT);
    CHECK_INT_EQ(nlset_flush(n), 6);
    CHECK_INT_EQ(sh("nft get element ip t4 s '{ 198.18.1.1 }'"), 0);
    CHECK_INT_EQ(sh("nft get element ip6 t6 s '{ 2001:db8:1::1 }'"), 0);
    CHECK_INT_EQ(sh("nft get element inet ti s4 '{ 198.18.1.2 }'"), 0);
    CHECK_INT_EQ(sh("nft get element inet ti s6 '{ 2001:db8:1::2 }'"), 0);
    CHECK_INT_EQ(sh("nft get element inet ti iv '{ 198.18.1.3 }'"), 0);
    CHECK_INT_EQ(sh("nft get element inet ti iv '{ 198.18.1.4 }'"), 1);
    CHECK_INT_EQ(sh("nft get element inet ti iv '{ 255.255.255.255 }'"), 0);
    CHECK_INT_EQ(sh("nft get element inet ti s4 '{ 198.18.1.9 }'"), 1);
    CHECK_INT_EQ(stats_of(n, 5).wrong_family, 1);
    CHECK_INT_EQ(stats_of(n, 2).wrong_family, 1);
    /* Re-adding to the interval set is accepted too. */
    CHECK_INT_EQ(add_text(n, 4, "198.18.1.3", 60), 0);
    CHECK_INT_EQ(nlset_flush(n), 1);
    CHECK_INT_EQ(stats_of(n, 4).errors[NLSET_ERR_OTHER], 0);
    nlset_free(n);
    CHECK_INT_EQ(sh("nft 'delete table ip t4; delete table ip6 t6; delete table inet ti'"), 0);
}

static void test_wrong_family(void)
{
    CHECK_INT_EQ(sh("ipset create w4 hash:ip"), 0);
    CHECK_INT_EQ(sh("nft 'add table ip tw; add set ip tw s { type ipv4_addr; }'"), 0);
    struct conf_set sets[] = {ipset_conf("w4"), nft_conf(0, NFPROTO_IPV4, "tw", "s")};
    struct nlset *n = open_sets(sets, 2, NULL);
    CHECK_INT_EQ(add_text(n, 0, "2001:db8::5", 60), -EAFNOSUPPORT);
    CHECK_INT_EQ(add_text(n, 1, "2001:db8::5", 60), -EAFNOSUPPORT);
    CHECK_INT_EQ(nlset_pending(n), 0);
    CHECK_INT_EQ(nlset_flush(n), 0);
    CHECK_INT_EQ(stats_of(n, 0).wrong_family, 1);
    CHECK_INT_EQ(stats_of(n, 1).wrong_family, 1);
    CHECK_INT_EQ(stats_of(n, 0).errors[NLSET_ERR_FAMILY], 0);
    CHECK_INT_EQ(nlset_add(n, 7, AF_INET, (const uint8_t *)"abcd", 1), -EINVAL);
    CHECK_INT_EQ(nlset_add(n, 0, AF_UNIX, (const uint8_t *)"abcd", 1), -EINVAL);
    nlset_free(n);
    CHECK_INT_EQ(sh("ipset destroy w4; nft delete table ip tw"), 0);
}

static void test_batch_many(void)
{
    CHECK_INT_EQ(sh("ipset create m4 hash:ip"), 0);
    CHECK_INT_EQ(sh("ipset create m6 hash:ip family inet6"), 0);
    CHECK_INT_EQ(sh("nft 'add table inet tm; add set inet tm s4 { type ipv4_addr; }; "
                    "add set inet tm s6 { type ipv6_addr; }'"),
                 0);
    struct conf_set sets[] = {ipset_conf("m4"), ipset_conf("m6"),
                              nft_conf(0, NFPROTO_INET, "tm", "s4"),
                              nft_conf(0, NFPROTO_INET, "tm", "s6")};
    /* A small queue and 3000 addresses per set: early flushes, several 64 KiB chunks. */
    struct nlset_options opt;
    nlset_options_default(&opt);
    opt.batch_max = 5000;
    struct nlset *n = open_sets(sets, 4, &opt);
    int total = 0;
    for (uint32_t i = 0; i < 3000; i++) {
        uint8_t a4[4] = {10, 1, (uint8_t)(i >> 8), (uint8_t)i};
        uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, [14] = (uint8_t)(i >> 8), [15] = (uint8_t)i};
        CHECK_INT_EQ(nlset_add(n, 0, AF_INET, a4, 60), 0);
        CHECK_INT_EQ(nlset_add(n, 1, AF_INET6, a6, 60), 0);
        CHECK_INT_EQ(nlset_add(n, 2, AF_INET, a4, 60), 0);
        CHECK_INT_EQ(nlset_add(n, 3, AF_INET6, a6, 60), 0);
        /* Duplicates within a batch are merged. */
        CHECK_INT_EQ(nlset_add(n, 0, AF_INET, a4, 60), 0);
    }
    total += nlset_flush(n);
    for (uint32_t i = 0; i < 4; i++) {
        CHECK_INT_EQ(stats_of(n, i).added, 3000);
        CHECK_INT_EQ(stats_of(n, i).last_error, 0);
    }
    CHECK_INT_EQ(stats_of(n, 0).deduped, 3000);
    /* 12000 addresses through a 5000-entry queue: the last flush sends the rest. */
    CHECK_INT_EQ(total, 12000 - 2 * 5000);
    CHECK(strstr(capture("ipset list -t m4"), "Number of entries: 3000") != NULL);
    CHECK(strstr(capture("ipset list -t m6"), "Number of entries: 3000") != NULL);
    CHECK_INT_EQ(sh("ipset test m4 10.1.11.183"), 0);
    CHECK_INT_EQ(sh("ipset test m6 2001:db8::bb7"), 0);
    CHECK_INT_EQ(sh("nft get element inet tm s4 '{ 10.1.0.0, 10.1.11.183 }'"), 0);
    CHECK_INT_EQ(sh("nft get element inet tm s6 '{ 2001:db8::, 2001:db8::bb7 }'"), 0);
    const char *out = capture("nft list set inet tm s4 | tr ',' '\\n' | grep -c '10\\.1\\.'");
    CHECK_INT_EQ(strtol(out, NULL, 10), 3000);
    nlset_free(n);
    CHECK_INT_EQ(sh("ipset destroy m4; ipset destroy m6; nft delete table inet tm"), 0);
}

static void test_missing_then_created(void)
{
    struct conf_set sets[] = {ipset_conf("late4"), nft_conf(0, NFPROTO_IPV4, "tl", "s")};
    struct nlset *n = open_sets(sets, 2, NULL);
    CHECK_INT_EQ(stats_of(n, 0).state, NLSET_STATE_MISSING);
    CHECK_INT_EQ(stats_of(n, 1).state, NLSET_STATE_MISSING);
    for (int i = 0; i < 5; i++) {
        CHECK_INT_EQ(add_text(n, 0, "198.18.2.1", 60), ERR_NOT_FOUND);
        CHECK_INT_EQ(add_text(n, 1, "198.18.2.1", 60), ERR_NOT_FOUND);
        CHECK_INT_EQ(nlset_flush(n), 0);
        CHECK_INT_EQ(nlset_recheck(n), 2);
    }
    CHECK_INT_EQ(stats_of(n, 0).errors[NLSET_ERR_MISSING], 5);
    CHECK_INT_EQ(stats_of(n, 1).errors[NLSET_ERR_MISSING], 5);
    /* Logged once, not once per address or per re-check. */
    CHECK_INT_EQ(log_lines("late4", "dropped until"), 1);
    CHECK_INT_EQ(log_lines("ip#tl#s", "dropped until"), 1);
    CHECK_INT_EQ(sh("ipset create late4 hash:ip"), 0);
    CHECK_INT_EQ(sh("nft 'add table ip tl; add set ip tl s { type ipv4_addr; }'"), 0);
    CHECK_INT_EQ(nlset_recheck(n), 0);
    CHECK_INT_EQ(stats_of(n, 0).state, NLSET_STATE_READY);
    CHECK_INT_EQ(add_text(n, 0, "198.18.2.1", 60), 0);
    CHECK_INT_EQ(add_text(n, 1, "198.18.2.1", 60), 0);
    CHECK_INT_EQ(nlset_flush(n), 2);
    CHECK_INT_EQ(sh("ipset test late4 198.18.2.1"), 0);
    CHECK_INT_EQ(sh("nft get element ip tl s '{ 198.18.2.1 }'"), 0);

    /* A set that vanishes: ENOENT is counted, logged once, and the set is re-probed. */
    CHECK_INT_EQ(sh("ipset destroy late4; nft delete table ip tl"), 0);
    for (int i = 0; i < 3; i++) {
        char a[32];
        (void)snprintf(a, sizeof(a), "198.18.3.%d", i);
        int rc0 = add_text(n, 0, a, 60), rc1 = add_text(n, 1, a, 60);
        CHECK_INT_EQ(rc0, i == 0 ? 0 : ERR_NOT_FOUND);
        CHECK_INT_EQ(rc1, i == 0 ? 0 : ERR_NOT_FOUND);
        CHECK_INT_EQ(nlset_flush(n), 0);
    }
    CHECK_INT_EQ(stats_of(n, 0).state, NLSET_STATE_MISSING);
    CHECK_INT_EQ(stats_of(n, 1).state, NLSET_STATE_MISSING);
    CHECK_INT_EQ(stats_of(n, 0).errors[NLSET_ERR_MISSING], 8);
    CHECK_INT_EQ(stats_of(n, 1).errors[NLSET_ERR_MISSING], 8);
    CHECK_INT_EQ(stats_of(n, 0).last_error, -ENOENT);
    CHECK_INT_EQ(log_lines("late4", "not added"), 1);
    CHECK_INT_EQ(log_lines("ip#tl#s", "not added"), 1);
    CHECK_INT_EQ(sh("ipset create late4 hash:ip family inet6"), 0);
    CHECK_INT_EQ(nlset_recheck(n), 1);
    CHECK_INT_EQ(stats_of(n, 0).family, AF_INET6);
    CHECK_INT_EQ(add_text(n, 0, "2001:db8::3", 60), 0);
    CHECK_INT_EQ(nlset_flush(n), 1);
    CHECK_INT_EQ(sh("ipset test late4 2001:db8::3"), 0);
    nlset_free(n);
    CHECK_INT_EQ(sh("ipset destroy late4"), 0);
}

static void test_timeouts(void)
{
    CHECK_INT_EQ(sh("ipset create to4 hash:ip timeout 50"), 0);
    CHECK_INT_EQ(sh("ipset create to6 hash:net family inet6 timeout 50"), 0);
    CHECK_INT_EQ(sh("nft 'add table ip tt; add set ip tt s { type ipv4_addr; flags timeout; }; "
                    "add set ip tt plain { type ipv4_addr; }'"),
                 0);
    struct conf_set sets[] = {ipset_conf("to4"), ipset_conf("to6"),
                              nft_conf(0, NFPROTO_IPV4, "tt", "s"),
                              nft_conf(0, NFPROTO_IPV4, "tt", "plain")};
    struct nlset_options opt;
    nlset_options_default(&opt);
    opt.timeout_min_s = 100;
    opt.timeout_max_s = 1000;
    struct nlset *n = open_sets(sets, 4, &opt);
    CHECK_INT_EQ(stats_of(n, 0).has_timeout, true);
    CHECK_INT_EQ(stats_of(n, 2).has_timeout, true);
    CHECK_INT_EQ(stats_of(n, 3).has_timeout, false);
    CHECK_INT_EQ(add_text(n, 0, "198.18.4.1", 30), 0);    /* below the floor: 100 */
    CHECK_INT_EQ(add_text(n, 0, "198.18.4.2", 500), 0);   /* 500 */
    CHECK_INT_EQ(add_text(n, 0, "198.18.4.3", 99999), 0); /* above the cap: 1000 */
    CHECK_INT_EQ(add_text(n, 1, "2001:db8::4", 400), 0);
    CHECK_INT_EQ(add_text(n, 2, "198.18.4.1", 500), 0);
    CHECK_INT_EQ(add_text(n, 3, "198.18.4.1", 500), 0);
    CHECK_INT_EQ(nlset_flush(n), 6);
    long t = ipset_elem_timeout("to4", "198.18.4.1");
    CHECK(t > 95 && t <= 100);
    t = ipset_elem_timeout("to4", "198.18.4.2");
    CHECK(t > 495 && t <= 500);
    t = ipset_elem_timeout("to4", "198.18.4.3");
    CHECK(t > 995 && t <= 1000);
    t = ipset_elem_timeout("to6", "2001:db8::4");
    CHECK(t > 395 && t <= 400);
    CHECK(strstr(capture("nft -j list set ip tt s"), "\"timeout\": 500") != NULL);
    CHECK(strstr(capture("nft -j list set ip tt plain"), "timeout") == NULL);
    CHECK_INT_EQ(sh("nft get element ip tt plain '{ 198.18.4.1 }'"), 0);
    /* Re-adding refreshes the timeout (here to a longer TTL). */
    CHECK_INT_EQ(add_text(n, 0, "198.18.4.1", 700), 0);
    CHECK_INT_EQ(add_text(n, 2, "198.18.4.1", 700), 0);
    CHECK_INT_EQ(nlset_flush(n), 2);
    t = ipset_elem_timeout("to4", "198.18.4.1");
    CHECK(t > 695 && t <= 700);
    CHECK(strstr(capture("nft -j list set ip tt s"), "\"timeout\": 700") != NULL);
    nlset_free(n);

    /* ttl_timeouts off: no attribute, the set's default (50 s) applies. */
    opt.ttl_timeouts = false;
    n = open_sets(sets, 4, &opt);
    CHECK_INT_EQ(add_text(n, 0, "198.18.4.9", 700), 0);
    CHECK_INT_EQ(nlset_flush(n), 1);
    t = ipset_elem_timeout("to4", "198.18.4.9");
    CHECK(t > 45 && t <= 50);
    nlset_free(n);
    CHECK_INT_EQ(sh("ipset destroy to4; ipset destroy to6; nft delete table ip tt"), 0);
}

static void test_set_full(void)
{
    CHECK_INT_EQ(sh("ipset create f4 hash:ip maxelem 4"), 0);
    CHECK_INT_EQ(sh("nft 'add table ip tf; add set ip tf s { type ipv4_addr; size 4; }; "
                    "add set ip tf ok { type ipv4_addr; }'"),
                 0);
    struct conf_set sets[] = {ipset_conf("f4"), nft_conf(0, NFPROTO_IPV4, "tf", "s"),
                              nft_conf(0, NFPROTO_IPV4, "tf", "ok")};
    struct nlset *n = open_sets(sets, 3, NULL);
    for (int i = 0; i < 10; i++) {
        char a[32];
        (void)snprintf(a, sizeof(a), "198.18.5.%d", i);
        CHECK_INT_EQ(add_text(n, 0, a, 60), 0);
        CHECK_INT_EQ(add_text(n, 1, a, 60), 0);
        CHECK_INT_EQ(add_text(n, 2, a, 60), 0);
    }
    /* ipset: the first 4 fit; nft: the full set's transaction part is refused, and the other
     * nft set in the same flush still gets its addresses (retried without the full one). */
    CHECK_INT_EQ(nlset_flush(n), 4 + 10);
    struct nlset_stats st = stats_of(n, 0);
    CHECK_INT_EQ(st.added, 4);
    CHECK_INT_EQ(st.errors[NLSET_ERR_FULL], 6);
    CHECK(strstr(capture("ipset list -t f4"), "Number of entries: 4") != NULL);
    st = stats_of(n, 1);
    CHECK_INT_EQ(st.added, 0);
    CHECK_INT_EQ(st.errors[NLSET_ERR_FULL], 10);
    CHECK_INT_EQ(stats_of(n, 2).added, 10);
    CHECK_INT_EQ(sh("nft get element ip tf ok '{ 198.18.5.9 }'"), 0);
    CHECK_INT_EQ(log_lines("f4", "not added"), 1);
    CHECK_INT_EQ(log_lines("ip#tf#s", "not added"), 1);
    /* Another failing flush within the interval is counted but not logged. */
    CHECK_INT_EQ(add_text(n, 0, "198.18.6.1", 60), 0);
    CHECK_INT_EQ(nlset_flush(n), 0);
    CHECK_INT_EQ(stats_of(n, 0).errors[NLSET_ERR_FULL], 7);
    CHECK_INT_EQ(log_lines("f4", "not added"), 1);
    nlset_log_stats(n);
    CHECK_INT_EQ(log_lines("f4", "full 7"), 1);
    nlset_free(n);
    CHECK_INT_EQ(sh("ipset destroy f4; nft delete table ip tf"), 0);
}

/* The kernel stops an ipset batch at the first refused element; the ones after it must still
 * go in (dnsmasq adds each address on its own). bitmap:ip refuses addresses outside its range. */
static void test_refused_element_mid_batch(void)
{
    CHECK_INT_EQ(sh("ipset create bm4 bitmap:ip range 198.18.7.0/24"), 0);
    struct conf_set sets[] = {ipset_conf("bm4")};
    struct nlset *n = open_sets(sets, 1, NULL);
    const char *addrs[] = {"203.0.113.1", "198.18.7.1", "203.0.113.2", "203.0.113.3",
                           "198.18.7.2",  "198.18.7.3", "203.0.113.4"};
    for (size_t i = 0; i < DNSROUTE_ARRAY_LEN(addrs); i++) {
        CHECK_INT_EQ(add_text(n, 0, addrs[i], 60), 0);
    }
    CHECK_INT_EQ(nlset_flush(n), 3);
    struct nlset_stats st = stats_of(n, 0);
    CHECK_INT_EQ(st.added, 3);
    CHECK_INT_EQ(st.errors[NLSET_ERR_FULL], 4);
    CHECK(strstr(capture("ipset list -t bm4"), "Number of entries: 3") != NULL);
    CHECK_INT_EQ(sh("ipset test bm4 198.18.7.3 2>/dev/null"), 0);
    nlset_free(n);
    CHECK_INT_EQ(sh("ipset destroy bm4"), 0);
}

static void test_unusable_type(void)
{
    CHECK_INT_EQ(sh("ipset create ipp hash:ip,port"), 0);
    CHECK_INT_EQ(sh("nft 'add table ip tu; add map ip tu m { type ipv4_addr : mark; }'"), 0);
    struct conf_set sets[] = {ipset_conf("ipp"), nft_conf(0, NFPROTO_IPV4, "tu", "m")};
    struct nlset *n = open_sets(sets, 2, NULL);
    CHECK_INT_EQ(stats_of(n, 0).state, NLSET_STATE_UNUSABLE);
    CHECK_INT_EQ(stats_of(n, 1).state, NLSET_STATE_UNUSABLE);
    CHECK_INT_EQ(add_text(n, 0, "198.18.7.1", 60), ERR_NOT_FOUND);
    CHECK_INT_EQ(log_lines("ipp", "cannot hold plain addresses"), 1);
    nlset_free(n);
    CHECK_INT_EQ(sh("ipset destroy ipp; nft delete table ip tu"), 0);
}

/* A set destroyed and created again with other properties while dnsroute runs: the kernel's
 * refusal is counted by kind, and nlset_recheck() learns the new properties. */
static void test_recreated_set(void)
{
    CHECK_INT_EQ(sh("ipset create r4 hash:ip timeout 100"), 0);
    CHECK_INT_EQ(sh("nft 'add table ip tr; add set ip tr s { type ipv4_addr; flags timeout; }'"),
                 0);
    struct conf_set sets[] = {ipset_conf("r4"), nft_conf(0, NFPROTO_IPV4, "tr", "s")};
    struct nlset *n = open_sets(sets, 2, NULL);
    CHECK_INT_EQ(stats_of(n, 0).has_timeout, true);
    CHECK_INT_EQ(sh("ipset destroy r4; ipset create r4 hash:ip"), 0);
    CHECK_INT_EQ(sh("nft 'delete table ip tr; add table ip tr; "
                    "add set ip tr s { type ipv6_addr; }'"),
                 0);
    CHECK_INT_EQ(add_text(n, 0, "198.18.9.1", 60), 0);
    CHECK_INT_EQ(add_text(n, 1, "198.18.9.1", 60), 0);
    CHECK_INT_EQ(nlset_flush(n), 0);
    CHECK_INT_EQ(stats_of(n, 0).errors[NLSET_ERR_TIMEOUT], 1);
    CHECK_INT_EQ(stats_of(n, 1).errors[NLSET_ERR_FAMILY], 1);
    CHECK_INT_EQ(nlset_recheck(n), 0);
    CHECK_INT_EQ(stats_of(n, 0).has_timeout, false);
    CHECK_INT_EQ(stats_of(n, 1).family, AF_INET6);
    CHECK_INT_EQ(add_text(n, 0, "198.18.9.1", 60), 0);
    CHECK_INT_EQ(add_text(n, 1, "198.18.9.1", 60), -EAFNOSUPPORT);
    CHECK_INT_EQ(add_text(n, 1, "2001:db8::9", 60), 0);
    CHECK_INT_EQ(nlset_flush(n), 2);
    CHECK_INT_EQ(sh("ipset test r4 198.18.9.1"), 0);
    CHECK_INT_EQ(sh("nft get element ip tr s '{ 2001:db8::9 }'"), 0);
    nlset_free(n);
    CHECK_INT_EQ(sh("ipset destroy r4; nft delete table ip tr"), 0);
}

/* Runs in a forked child that left the namespace's user namespace, so it has no CAP_NET_ADMIN
 * there; exits 0 when EPERM was counted for both sets, 3 when it cannot drop the capability. */
static void no_permission_child(struct nlset *n)
{
    if (unshare(CLONE_NEWUSER) != 0) {
        _exit(3);
    }
    const uint8_t a[4] = {198, 18, 8, 1};
    if (nlset_add(n, 0, AF_INET, a, 60) != 0 || nlset_add(n, 1, AF_INET, a, 60) != 0) {
        _exit(1);
    }
    int added = nlset_flush(n);
    struct nlset_stats s0, s1;
    if (nlset_get_stats(n, 0, &s0) != 0 || nlset_get_stats(n, 1, &s1) != 0) {
        _exit(1);
    }
    bool ok = added == 0 && s0.errors[NLSET_ERR_PERM] == 1 && s1.errors[NLSET_ERR_PERM] == 1 &&
              s0.last_error == -EPERM;
    _exit(ok ? 0 : 2);
}

static void test_no_permission(void)
{
    CHECK_INT_EQ(sh("ipset create p4 hash:ip"), 0);
    CHECK_INT_EQ(sh("nft 'add table ip tp; add set ip tp s { type ipv4_addr; }'"), 0);
    struct conf_set sets[] = {ipset_conf("p4"), nft_conf(0, NFPROTO_IPV4, "tp", "s")};
    struct nlset *n = open_sets(sets, 2, NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        no_permission_child(n);
    }
    int st = 0;
    CHECK_INT_EQ(waitpid(pid, &st, 0), pid);
    CHECK(WIFEXITED(st));
    nlset_free(n);
    CHECK_INT_EQ(sh("ipset test p4 198.18.8.1"), 1);
    CHECK_INT_EQ(sh("ipset destroy p4; nft delete table ip tp"), 0);
    if (WEXITSTATUS(st) == 3) {
        CHECK_SKIP("cannot create a user namespace");
    }
    CHECK_INT_EQ(WEXITSTATUS(st), 0);
}

static double bench_one(struct nlset *n, uint32_t id, int family, uint32_t batch, uint32_t rounds,
                        uint32_t *base)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (uint32_t r = 0; r < rounds; r++) {
        for (uint32_t i = 0; i < batch; i++) {
            uint32_t v = (*base)++;
            uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8};
            if (family == AF_INET) {
                a[0] = 10;
                a[1] = (uint8_t)(v >> 16);
                a[2] = (uint8_t)(v >> 8);
                a[3] = (uint8_t)v;
            } else {
                a[13] = (uint8_t)(v >> 16);
                a[14] = (uint8_t)(v >> 8);
                a[15] = (uint8_t)v;
            }
            CHECK_INT_EQ(nlset_add(n, id, family, a, 600), 0);
        }
        CHECK_INT_EQ(nlset_flush(n), batch);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
    return ns / ((double)batch * rounds);
}

static void test_bench(void)
{
    CHECK_INT_EQ(sh("ipset create b4 hash:ip maxelem 1000000 timeout 600"), 0);
    CHECK_INT_EQ(sh("ipset create b6 hash:ip family inet6 maxelem 1000000"), 0);
    CHECK_INT_EQ(sh("ipset create b4p hash:ip hashsize 65536 maxelem 1000000 timeout 600"), 0);
    CHECK_INT_EQ(sh("nft 'add table inet tb; add set inet tb s4 { type ipv4_addr; "
                    "flags timeout; }; add set inet tb s6 { type ipv6_addr; }'"),
                 0);
    struct conf_set sets[] = {ipset_conf("b4"), ipset_conf("b6"),
                              nft_conf(0, NFPROTO_INET, "tb", "s4"),
                              nft_conf(0, NFPROTO_INET, "tb", "s6"), ipset_conf("b4p")};
    struct nlset *n = open_sets(sets, 5, NULL);
    static const char *const names[] = {"ipset v4 timeout", "ipset v6", "nft v4 timeout", "nft v6",
                                        "ipset v4 presized"};
    /* New addresses in batches of 64 then 1000 (ipset: includes hash growth from the default
     * hashsize, except the presized set), then the first addresses again (refreshes). */
    for (uint32_t id = 0; id < 5; id++) {
        int family = id == 1 || id == 3 ? AF_INET6 : AF_INET;
        uint32_t base = 1;
        double b64 = bench_one(n, id, family, 64, 300, &base);
        double b1000 = bench_one(n, id, family, 1000, 20, &base);
        base = 1;
        double again = bench_one(n, id, family, 64, 300, &base);
        fprintf(stderr,
                "  bench %-17s new, batch 64: %5.0f ns/address; new, batch 1000: %5.0f "
                "ns/address; re-add, batch 64: %5.0f ns/address\n",
                names[id], b64, b1000, again);
        CHECK_INT_EQ(stats_of(n, id).added, 64 * 300 * 2 + 1000 * 20);
    }
    nlset_free(n);
    CHECK_INT_EQ(sh("ipset destroy b4; ipset destroy b6; ipset destroy b4p; "
                    "nft delete table inet tb"),
                 0);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_ipset_v4_v6),
    CHECK_CASE(test_nft_families),
    CHECK_CASE(test_wrong_family),
    CHECK_CASE(test_batch_many),
    CHECK_CASE(test_missing_then_created),
    CHECK_CASE(test_timeouts),
    CHECK_CASE(test_set_full),
    CHECK_CASE(test_refused_element_mid_batch),
    CHECK_CASE(test_unusable_type),
    CHECK_CASE(test_no_permission),
    CHECK_CASE(test_recreated_set),
    CHECK_CASE(test_bench),
    {0},
};

static bool write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        return false;
    }
    bool ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
    close(fd);
    return ok;
}

/* A private network namespace: as root directly, otherwise inside a new user namespace. */
static bool enter_netns(void)
{
    if (unshare(CLONE_NEWNET) == 0) {
        return true;
    }
    uid_t uid = getuid();
    gid_t gid = getgid();
    if (unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0) {
        return false;
    }
    char map[64];
    (void)write_file("/proc/self/setgroups", "deny");
    (void)snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
    if (!write_file("/proc/self/uid_map", map)) {
        return false;
    }
    (void)snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
    return write_file("/proc/self/gid_map", map);
}

int main(int argc, char **argv)
{
    if (!enter_netns()) {
        fprintf(stderr, "skip: cannot create a network namespace: %s\n", strerror(errno));
        return 77;
    }
    if (sh("ipset list -n") != 0 || sh("nft list tables") != 0) {
        fprintf(stderr, "skip: ipset or nft does not work in the namespace\n");
        return 77;
    }
    /* qemu-user (the cross presets' emulator) refuses netfilter netlink sockets with
     * EPROTONOSUPPORT, as does a kernel without nfnetlink: asked through dnsroute's own socket. */
    struct nlset *probe = NULL;
    int probe_rc = nlset_new(NULL, 0, NULL, &probe);
    if (probe_rc == -EPROTONOSUPPORT) {
        fprintf(stderr, "skip: no netfilter netlink socket here (qemu-user, or a kernel without "
                        "nfnetlink), so no kernel sets to test\n");
        return 77;
    }
    nlset_free(probe);
    (void)snprintf(log_path, sizeof(log_path), "/tmp/test_nlset.%ld.log", (long)getpid());
    if (log_open(LOG_SINK_FILE, log_path, 0, true) < 0) {
        fprintf(stderr, "cannot open %s\n", log_path);
        return 1;
    }
    int rc = check_main(argc, argv, cases);
    unlink(log_path);
    return rc;
}
