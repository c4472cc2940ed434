/* test_base.c - the base layer: err (names for every code), mem (growth, copies), sockaddr
 * (dnsmasq-style literals, formatting, equality) and log (levels, file sink, rate limiting). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "dnsroute/err.h"
#include "dnsroute/log.h"
#include "dnsroute/mem.h"
#include "dnsroute/sockaddr.h"

static void test_err_names(void)
{
    CHECK_STR_EQ(err_str(0), "success");
    CHECK_STR_EQ(err_str(ERR_BAD_OPTION), "bad option");
    CHECK_STR_EQ(err_str(ERR_REPEATED), "illegal repeated keyword");
    CHECK_STR_EQ(err_str(-ENOENT), strerror(ENOENT));
    CHECK_STR_EQ(err_str(12345), "unknown error");
    for (int code = ERR_FIRST; code < ERR_LAST; code++) {
        CHECK(err_str(code) != NULL && err_str(code)[0] != '\0');
    }
}

static void test_mem_grow_and_copies(void)
{
    int *a = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < 1000; i++) {
        mem_grow((void **)&a, &cap, i + 1, sizeof(*a));
        a[i] = (int)i;
    }
    CHECK(cap >= 1000);
    CHECK_INT_EQ(a[999], 999);
    free(a);
    char *s = mem_strndup("abcdef", 3);
    CHECK_STR_EQ(s, "abc");
    free(s);
    s = mem_strdup("xyz");
    CHECK_STR_EQ(s, "xyz");
    free(s);
    void *z = mem_calloc(0, 8);
    CHECK(z != NULL);
    free(z);
}

static void test_sockaddr_parse_format(void)
{
    union sockaddr_any a, b;
    char text[SOCKADDR_TEXT_MAX];
    CHECK_INT_EQ(sockaddr_parse_ip("114.114.114.114", 15, 53, &a), 0);
    CHECK_INT_EQ(a.sa.sa_family, AF_INET);
    CHECK_INT_EQ(sockaddr_port(&a), 53);
    sockaddr_format(&a, true, text, sizeof(text));
    CHECK_STR_EQ(text, "114.114.114.114#53");
    CHECK_INT_EQ(sockaddr_parse_ip("2001:db8::1", 11, 5353, &b), 0);
    CHECK_INT_EQ(b.sa.sa_family, AF_INET6);
    sockaddr_format(&b, true, text, sizeof(text));
    CHECK_STR_EQ(text, "2001:db8::1#5353");
    sockaddr_format(&b, false, text, sizeof(text));
    CHECK_STR_EQ(text, "2001:db8::1");
    CHECK_INT_EQ(sockaddr_len(&a), sizeof(struct sockaddr_in));
    CHECK_INT_EQ(sockaddr_len(&b), sizeof(struct sockaddr_in6));
    CHECK_INT_EQ(sockaddr_parse_ip("fe80::1%1", 9, 53, &b), 0);
    CHECK_INT_EQ(b.sin6.sin6_scope_id, 1);
    /* Interface names are the caller's to look up (conf's resolver): only numbers parse. */
    CHECK_INT_EQ(sockaddr_parse_ip("fe80::1%lo", 10, 53, &b), ERR_BAD_ADDRESS);
    CHECK_INT_EQ(sockaddr_parse_ip("fe80::1%", 8, 53, &b), ERR_BAD_ADDRESS);
    CHECK_INT_EQ(sockaddr_parse_ip("1.2.3.x", 7, 53, &b), ERR_BAD_ADDRESS);
    CHECK_INT_EQ(sockaddr_parse_ip("", 0, 53, &b), ERR_BAD_ADDRESS);
    /* Only len bytes are read: "1.2.3.4" out of a longer buffer. */
    CHECK_INT_EQ(sockaddr_parse_ip("1.2.3.4#53", 7, 53, &b), 0);
}

static void test_sockaddr_equal(void)
{
    union sockaddr_any a, b, c;
    sockaddr_parse_ip("127.0.0.1", 9, 53, &a);
    sockaddr_parse_ip("127.0.0.1", 9, 5353, &b);
    sockaddr_parse_ip("::1", 3, 53, &c);
    CHECK(sockaddr_equal_ip(&a, &b));
    CHECK(!sockaddr_equal(&a, &b));
    sockaddr_set_port(&b, 53);
    CHECK(sockaddr_equal(&a, &b));
    CHECK(!sockaddr_equal_ip(&a, &c));
}

/* The descriptor number open on path (-1 if none), from /proc/self/fd. */
static int fd_open_on(const char *path)
{
    for (int fd = 0; fd < 1024; fd++) {
        char link[64], target[512];
        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, target, sizeof(target) - 1);
        if (n > 0) {
            target[n] = '\0';
            if (strcmp(target, path) == 0) {
                return fd;
            }
        }
    }
    return -1;
}

static void test_log_file_and_levels(void)
{
    char path[] = "/tmp/dnsroute-test-log-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    CHECK_INT_EQ(log_open(LOG_SINK_FILE, path, 0, false), 0);
    log_set_level(LOG_LEVEL_INFO);
    log_info("hello %d", 42);
    log_debug("not written");
    CHECK(!log_enabled(LOG_LEVEL_DEBUG));
    CHECK(log_enabled(LOG_LEVEL_WARN));
    char buf[512] = "";
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    CHECK(strstr(buf, "dnsroute[") != NULL);
    CHECK(strstr(buf, "hello 42\n") != NULL);
    CHECK(strstr(buf, "not written") == NULL);
    /* Rotation: the file is moved away, log_reopen creates a new one. */
    char moved[64];
    snprintf(moved, sizeof(moved), "%s.1", path);
    int before = fd_open_on(path);
    CHECK(before > 2);
    CHECK_INT_EQ(rename(path, moved), 0);
    CHECK_INT_EQ(log_reopen(), 0);
    log_info("after");
    CHECK_INT_EQ(access(path, F_OK), 0);
    /* Worker threads may be writing: the new file takes the old descriptor's number. */
    CHECK_INT_EQ(fd_open_on(path), before);
    CHECK_INT_EQ(fd_open_on(moved), -1);
    CHECK_INT_EQ(log_open(LOG_SINK_STDERR, NULL, 0, false), 0);
    CHECK(log_open(LOG_SINK_FILE, "/nonexistent-dir/x.log", 0, false) < 0);
    unlink(path);
    unlink(moved);
}

static void test_log_ratelimit(void)
{
    struct log_ratelimit rl = {.interval_ms = 1000};
    CHECK(log_ratelimit_pass(&rl, 5000));
    CHECK(!log_ratelimit_pass(&rl, 5500));
    CHECK(!log_ratelimit_pass(&rl, 5999));
    CHECK_INT_EQ(rl.suppressed, 2);
    CHECK(log_ratelimit_pass(&rl, 6000));
}

static const struct check_case cases[] = {
    CHECK_CASE(test_err_names),
    CHECK_CASE(test_mem_grow_and_copies),
    CHECK_CASE(test_sockaddr_parse_format),
    CHECK_CASE(test_sockaddr_equal),
    CHECK_CASE(test_log_file_and_levels),
    CHECK_CASE(test_log_ratelimit),
    {0},
};

int main(int argc, char **argv)
{
    return check_main(argc, argv, cases);
}
