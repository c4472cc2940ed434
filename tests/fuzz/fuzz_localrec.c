/* fuzz_localrec.c - fuzz target for the local record options and their answers: the input is
 * loaded as a configuration file (through a memfd) with conf_load, so every ptr-record,
 * txt-record, srv-host, mx-host, caa-record, naptr-record, dns-rr, host-record, cname and
 * interface-name line goes through its parser; the loaded stores (with a small hosts store and
 * fixed interface addresses) then answer a fixed set of names over every type and class through
 * localname_answer, into replies of 12 to 4096 bytes. A reply must parse back; nothing may crash,
 * leak or overrun.
 *
 * Inputs that could name a file (includes) or a server hostname are skipped, as in fuzz_conf. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dnsroute/compat.h"
#include "dnsroute/conf.h"
#include "dnsroute/dname.h"
#include "dnsroute/dnsmsg.h"
#include "dnsroute/hosts.h"
#include "dnsroute/localname.h"
#include "dnsroute/localrec.h"
#include "dnsroute/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool reaches_outside(const uint8_t *data, size_t size)
{
    return memmem(data, size, "file", 4) != NULL || memmem(data, size, "dir", 3) != NULL ||
           memmem(data, size, "server", 6) != NULL || memmem(data, size, "local=", 6) != NULL;
}

static void counters(void *arg, struct localrec_counters *out)
{
    (void)arg;
    for (size_t i = 0; i < 40 && out->server_count < out->server_cap; i++) {
        struct localrec_server_stat *s = &out->servers[out->server_count++];
        (void)snprintf(s->addr, sizeof(s->addr), "2001:db8::%zx", i);
        s->port = 53;
        s->queries = 4294967295u;
    }
}

/* Two addresses per interface name, one of them reverse-only IPv6. */
static size_t ifaddrs(void *arg, const char *ifname, struct localname_ifaddr *out, size_t max)
{
    (void)arg;
    size_t n = max < 2 ? max : 2;
    for (size_t i = 0; i < n; i++) {
        memset(&out[i], 0, sizeof(out[i]));
        out[i].family = i == 0 ? 2 /* AF_INET */ : 10 /* AF_INET6 */;
        out[i].addr[0] = 10;
        out[i].addr[3] = (uint8_t)strlen(ifname);
        out[i].rev_only = i == 1;
    }
    return n;
}

/* One query for name/qtype/qclass answered into a reply of cap bytes, parsed back. */
static void ask(const struct localname_src *src, const char *name, uint16_t qtype, uint16_t qclass,
                size_t cap)
{
    uint8_t wire[DNAME_WIRE_MAX + 1], q[512], out[4096];
    int wl = dname_text_to_wire(name, strlen(name), wire, sizeof(wire));
    int ql = dnsmsg_write_query(q, sizeof(q), 1, wire, (size_t)wl, qtype, qclass, true, 0, false);
    struct dnsmsg_query pq;
    DNSROUTE_REQUIRE(wl > 0 && ql > 0 && dnsmsg_parse_query(&pq, q, (size_t)ql) == 0);
    char key[DNAME_KEY_MAX];
    int kl = dname_wire_to_key(wire, (size_t)wl, key, sizeof(key));
    struct dnsmsg_builder b;
    dnsmsg_builder_init_reply(&b, out, cap, &pq, 0, 0);
    struct localrec_answer a = {
        .b = &b, .name = key, .name_len = (size_t)kl, .qtype = qtype, .qclass = qclass, .ttl_s = 1};
    struct localname_hooks h = {.ifaddrs = ifaddrs, .counters = counters};
    localname_answer(src, &a, &h);
    int len = dnsmsg_builder_finish(&b);
    if (len > 0) {
        struct dnsmsg_reply r;
        DNSROUTE_REQUIRE(dnsmsg_parse_reply(&r, out, (size_t)len, &pq) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool started;
    if (!started) {
        log_set_level(LOG_LEVEL_ERROR);
        started = true;
    }
    if (reaches_outside(data, size)) {
        return 0;
    }
    int fd = memfd_create("fuzz_localrec", 0);
    DNSROUTE_REQUIRE(fd >= 0);
    DNSROUTE_REQUIRE(write(fd, data, size) == (ssize_t)size);
    char path[64];
    (void)snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    char *argv[] = {"dnsroute", "-R", "-C", path, NULL};
    struct conf c;
    struct conf_error err;
    if (conf_load(&c, 4, argv, &err) == 0) {
        static const char *const names[] = {"a",
                                            "x.example",
                                            "_s._tcp.x",
                                            "version.bind",
                                            "servers.bind",
                                            "5.2.0.192.in-addr.arpa",
                                            ".",
                                            "alias.x",
                                            "3.0.0.10.in-addr.arpa",
                                            "h.x"};
        static const uint16_t types[] = {1, 5, 12, 15, 16, 28, 33, 35, 99, 253, 255, 257};
        struct hosts *h = hosts_new();
        static const uint8_t a4[4] = {192, 0, 2, 5};
        (void)hosts_add(h, "h.x", 3, 2 /* AF_INET */, a4);
        (void)hosts_add(h, "x.example", 9, 2, a4);
        struct localname_src src = {.names = c.names, .records = c.localrec, .hosts = h};
        static const size_t caps[] = {12, 100, 512, 4096};
        for (size_t n = 0; n < DNSROUTE_ARRAY_LEN(names); n++) {
            for (size_t t = 0; t < DNSROUTE_ARRAY_LEN(types); t++) {
                ask(&src, names[n], types[t], n == 3 || n == 4 ? 3 : 1,
                    caps[(n + t) % DNSROUTE_ARRAY_LEN(caps)]);
            }
        }
        hosts_free(h);
        conf_deinit(&c);
    }
    close(fd);
    return 0;
}
