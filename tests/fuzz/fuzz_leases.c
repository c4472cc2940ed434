/* fuzz_leases.c - fuzz target for the lease-file reader (dnsmasq's format, read field by field as
 * dnsmasq's read_leases): every lease it reports must be well formed (a family, lengths within
 * their buffers, a NUL-terminated name), its name goes into a name store as the daemon would put
 * it there, and the hex parser gets every token of the input. Nothing may crash or leak. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "dnsroute/compat.h"
#include "dnsroute/err.h"
#include "dnsroute/hosts.h"
#include "dnsroute/leases.h"
#include "dnsroute/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_lease(void *arg, const struct leases_entry *e)
{
    struct hosts *h = arg;
    DNSROUTE_REQUIRE(e->family == AF_INET || e->family == AF_INET6);
    DNSROUTE_REQUIRE(e->hw_len <= sizeof(e->hwaddr) && e->clid_len <= sizeof(e->clid));
    size_t len = strnlen(e->name, sizeof(e->name));
    DNSROUTE_REQUIRE(len < sizeof(e->name));
    if (e->has_name && hosts_add(h, e->name, len, e->family, e->addr) > 0) {
        DNSROUTE_REQUIRE(hosts_count(h) > 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    log_set_level(LOG_LEVEL_ERROR);
    FILE *f = fmemopen((void *)data, size, "r");
    if (f == NULL) {
        return 0; /* size 0: glibc refuses an empty buffer */
    }
    struct hosts *h = hosts_new();
    int n = leases_read(f, "fuzz", on_lease, h);
    DNSROUTE_REQUIRE(n >= 0 || n == ERR_PARSE); /* a stream in memory cannot fail to read */
    (void)fclose(f);
    hosts_free(h);
    char token[300];
    size_t tl = size < sizeof(token) - 1 ? size : sizeof(token) - 1;
    memcpy(token, data, tl);
    token[tl] = '\0';
    uint8_t out[16];
    int type = 0;
    uint32_t wild = 0;
    int k = leases_parse_hex(token, out, sizeof(out), &type, &wild);
    DNSROUTE_REQUIRE(k <= (int)sizeof(out));
    return 0;
}
