/* fuzz_hosts.c - fuzz target for the hosts-file parser and the name store: the input is read as a
 * hosts file (through a memfd) with hosts_read_file, with an expand-hosts domain for half of the
 * addresses. Then every whitespace-separated token of the input is looked up: a name the store
 * has must have an address of some family and lookups must agree with each other, and a PTR
 * answer must name a stored name. Nothing may crash or leak. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dnsroute/compat.h"
#include "dnsroute/dname.h"
#include "dnsroute/hosts.h"
#include "dnsroute/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *domain_of(void *arg, int family, const uint8_t *addr)
{
    (void)arg;
    return family == AF_INET && (addr[3] & 1) ? "lan" : NULL;
}

static void check_token(const struct hosts *h, const char *tok, size_t len)
{
    char key[DNAME_KEY_MAX + 1];
    int kl = dname_canonicalise(tok, len, false, NULL, key, sizeof(key));
    if (kl > 0 && hosts_has_name(h, key, (size_t)kl)) {
        uint8_t out[16 * 4];
        uint32_t n4 = hosts_lookup(h, key, (size_t)kl, AF_INET, 1, out, 4);
        uint32_t n6 = hosts_lookup(h, key, (size_t)kl, AF_INET6, 2, out, 4);
        DNSROUTE_REQUIRE(n4 + n6 > 0);
    }
    char text[64];
    uint8_t addr[16];
    if (len < sizeof(text)) {
        memcpy(text, tok, len);
        text[len] = '\0';
        int family = inet_pton(AF_INET, text, addr) == 1    ? AF_INET
                     : inet_pton(AF_INET6, text, addr) == 1 ? AF_INET6
                                                            : 0;
        const char *name = family != 0 ? hosts_lookup_addr(h, family, addr) : NULL;
        DNSROUTE_REQUIRE(name == NULL || hosts_has_name(h, name, strlen(name)));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    log_set_level(LOG_LEVEL_ERROR);
    int fd = memfd_create("fuzz_hosts", 0);
    DNSROUTE_REQUIRE(fd >= 0);
    DNSROUTE_REQUIRE(write(fd, data, size) == (ssize_t)size);
    char path[64];
    (void)snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    struct hosts *h = hosts_new();
    int n = hosts_read_file(h, path, domain_of, NULL);
    DNSROUTE_REQUIRE(n >= 0 && hosts_count(h) <= (size_t)n);
    for (size_t i = 0; i < size;) {
        while (i < size && (isspace(data[i]) || data[i] == '#' || data[i] == 0)) {
            i++;
        }
        size_t start = i;
        while (i < size && !isspace(data[i]) && data[i] != '#' && data[i] != 0) {
            i++;
        }
        if (i > start) {
            check_token(h, (const char *)data + start, i - start);
        }
    }
    hosts_free(h);
    close(fd);
    return 0;
}
