/* fuzz_localrec.c - fuzz target for the local record options and their answers: the input is
 * loaded as a configuration file (through a memfd) with conf_load, so every ptr-record,
 * txt-record, srv-host, mx-host, caa-record, naptr-record and dns-rr line goes through its
 * parser; a loaded store then answers a fixed set of names over every type and class, into
 * replies of 12 to 4096 bytes. A reply must parse back; nothing may crash, leak or overrun.
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

static bool is_host(void *arg, const char *name, size_t len)
{
    (void)arg;
    (void)name;
    return len % 2 == 0;
}

static void additional(void *arg, struct localrec_answer *a, const char *name, size_t len,
                       const uint8_t *owner, size_t owner_len)
{
    (void)arg;
    (void)name;
    (void)len;
    static const uint8_t addr[16] = {0x20, 0x01, 0x0d, 0xb8};
    localrec_answer_add_rr(a, DNSMSG_SECTION_ADDITIONAL, owner, owner_len, DNSMSG_TYPE_AAAA, 1,
                           addr, sizeof(addr));
}

/* One query for name/qtype/qclass answered into a reply of cap bytes, parsed back. */
static void ask(const struct localrec *lr, const char *name, uint16_t qtype, uint16_t qclass,
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
    struct localrec_hooks h = {.is_host = is_host, .additional = additional, .counters = counters};
    localrec_answer(lr, &a, &h);
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
        static const char *const names[] = {
            "a", "x.example", "_s._tcp.x", "version.bind", "servers.bind", "5.2.0.192.in-addr.arpa",
            "."};
        static const uint16_t types[] = {1, 12, 15, 16, 28, 33, 35, 99, 253, 255, 257};
        static const size_t caps[] = {12, 100, 512, 4096};
        for (size_t n = 0; n < DNSROUTE_ARRAY_LEN(names); n++) {
            for (size_t t = 0; t < DNSROUTE_ARRAY_LEN(types); t++) {
                ask(c.localrec, names[n], types[t], n == 3 || n == 4 ? 3 : 1,
                    caps[(n + t) % DNSROUTE_ARRAY_LEN(caps)]);
            }
        }
        conf_deinit(&c);
    }
    close(fd);
    return 0;
}
