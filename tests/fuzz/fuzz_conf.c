/* fuzz_conf.c - fuzz target for configuration lines: the input is loaded as a configuration file
 * (through a memfd) with conf_load, then every explain path runs on a few names. A failed load
 * must leave a dnsmasq-style message and exit code; nothing may crash or leak.
 *
 * Inputs that could reach outside the process are skipped: includes and other files, and - unless
 * the process could move into a private network namespace - server hostnames, which getaddrinfo
 * would look up over the network. */
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dnsroute/compat.h"
#include "dnsroute/conf.h"
#include "dnsroute/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* True when the input could name a file (includes could name /dev/zero or stdin) or, outside a
 * private network namespace, a server hostname (only server=, local= and rev-server= resolve
 * names; option names in files are exact, so these substrings catch them all). */
static bool reaches_outside(const uint8_t *data, size_t size, bool isolated)
{
    if (memmem(data, size, "file", 4) != NULL || memmem(data, size, "dir", 3) != NULL) {
        return true;
    }
    return !isolated &&
           (memmem(data, size, "server", 6) != NULL || memmem(data, size, "local", 5) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool started, isolated;
    if (!started) {
        /* Hostname lookups then fail inside the process's own empty network namespace. */
        log_set_level(LOG_LEVEL_ERROR);
        isolated = unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0;
        started = true;
    }
    if (reaches_outside(data, size, isolated)) {
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
    if (conf_load(&c, 4, argv, &err) < 0) {
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
