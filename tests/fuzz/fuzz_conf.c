/* fuzz_conf.c - fuzz target for configuration lines: the input is loaded as a configuration file
 * (through a memfd) with conf_load_dbus, then every explain path runs on a few names. A failed load
 * must leave a dnsmasq-style message and exit code; nothing may crash or leak.
 *
 * conf looks up no names itself: server host names and "%scope" interface names go to the
 * resolver given here, a fixed table, so every line is fuzzed and nothing leaves the process.
 * Inputs that could name a file are skipped (includes could name /dev/zero or stdin). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dnsroute/compat.h"
#include "dnsroute/conf.h"
#include "dnsroute/err.h"
#include "dnsroute/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Option names in files are exact, so these substrings catch every option that reads a file. */
static bool names_file(const uint8_t *data, size_t size)
{
    return memmem(data, size, "file", 4) != NULL || memmem(data, size, "dir", 3) != NULL;
}

/* "h4" and "h46" resolve (one IPv4 address; an IPv4 and an IPv6 one), "lo" is interface 1;
 * other names fail as a resolver does. */
static int fuzz_host(void *ctx, const char *host, union sockaddr_any *out, size_t max,
                     const char **why)
{
    (void)ctx;
    size_t n = strcmp(host, "h4") == 0 ? 1 : strcmp(host, "h46") == 0 ? 2 : 0;
    if (n == 0 || max < n) {
        *why = "Cannot resolve server name";
        return ERR_NOT_FOUND;
    }
    DNSROUTE_REQUIRE(sockaddr_parse_ip("192.0.2.1", 9, 0, &out[0]) == 0);
    if (n == 2) {
        DNSROUTE_REQUIRE(sockaddr_parse_ip("2001:db8::1", 11, 0, &out[1]) == 0);
    }
    return (int)n;
}

static unsigned fuzz_ifindex(void *ctx, const char *name)
{
    (void)ctx;
    return strcmp(name, "lo") == 0 ? 1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool started;
    if (!started) {
        log_set_level(LOG_LEVEL_ERROR);
        started = true;
    }
    if (names_file(data, size)) {
        return 0;
    }
    int fd = memfd_create("fuzz_conf", 0);
    DNSROUTE_REQUIRE(fd >= 0);
    DNSROUTE_REQUIRE(write(fd, data, size) == (ssize_t)size);
    char path[64];
    (void)snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    char *argv[] = {"dnsroute", "-R", "-C", path, NULL};
    struct conf c;
    struct conf_error err;
    const struct conf_resolver r = {.host = fuzz_host, .ifindex = fuzz_ifindex, .ctx = NULL};
    if (conf_load_dbus(&c, 4, argv, NULL, 0, &r, &err) < 0) {
        DNSROUTE_REQUIRE(strncmp(err.message, "dnsroute: ", 10) == 0);
        DNSROUTE_REQUIRE(err.exit_code == CONF_EXIT_BADCONF || err.exit_code == CONF_EXIT_FILE);
    } else {
        FILE *out = fopen("/dev/null", "w");
        static const char *const names[] = {"a.com", "www.example.com,AAAA", "plain,TXT", "."};
        for (size_t i = 0; i < DNSROUTE_ARRAY_LEN(names) && out != NULL; i++) {
            conf_explain(&c, names[i], 0, out);
        }
        if (out != NULL) {
            (void)fclose(out);
        }
        conf_deinit(&c);
    }
    close(fd);
    return 0;
}
