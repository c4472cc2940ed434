/* leases.c - reads dnsmasq's lease file (dnsmasq lease.c read_leases) for the names of the DHCP
 * clients. The fields are scanned with the very widths dnsmasq's fscanf uses, so a short or
 * overlong record is split and skipped exactly where dnsmasq splits and skips it. */
#include "dnsroute/leases.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dnsroute/err.h"
#include "dnsroute/log.h"

enum { LEASES_ARPHRD_ETHER = 1 };

static int leases_hex_digit(char c)
{
    return isdigit((unsigned char)c) ? c - '0' : tolower((unsigned char)c) - 'a' + 10;
}

/* One segment of hex digits (or "*", a wildcard byte) into out. Returns the bytes written or
 * -1. */
static int leases_hex_segment(const char *s, size_t len, uint8_t *out, size_t room)
{
    if (len == 1 && s[0] == '*') {
        if (room > 0) {
            out[0] = 0;
        }
        return room > 0 ? 1 : 0;
    }
    size_t n = 0;
    for (size_t j = 0; j < len && n < room; j += 2, n++) {
        int v = leases_hex_digit(s[j]);
        if (j + 1 < len) {
            v = v * 16 + leases_hex_digit(s[j + 1]);
        }
        out[n] = (uint8_t)v;
    }
    return (int)n;
}

int leases_parse_hex(const char *text, uint8_t *out, size_t max, int *hw_type, uint32_t *wildcard)
{
    size_t n = 0;
    bool first = true;
    uint32_t mask = 0;
    if (hw_type != NULL) {
        *hw_type = 0;
    }
    for (const char *p = text; n < max;) {
        size_t len = strcspn(p, ":- ");
        for (size_t j = 0; j < len; j++) {
            if (!isxdigit((unsigned char)p[j]) && !(len == 1 && p[j] == '*')) {
                return -1;
            }
        }
        if (len != 0 && p[len] == '-' && first && hw_type != NULL) {
            *hw_type = (int)strtol(p, NULL, 16);
        } else if (len != 0) {
            int k = leases_hex_segment(p, len, out + n, max - n);
            bool star = len == 1 && p[0] == '*';
            for (int j = 0; j < k; j++) {
                mask <<= 1; /* a bit per byte, the first byte highest (dnsmasq memcmp_masked) */
            }
            mask |= star ? 1U : 0U;
            n += (size_t)k;
        }
        first = first && len == 0;
        if (p[len] == '\0') {
            break;
        }
        p += len + 1;
    }
    if (wildcard != NULL) {
        *wildcard = mask;
    }
    return (int)n;
}

static void leases_fill_v4(struct leases_entry *e, const char *hw)
{
    int n = leases_parse_hex(hw, e->hwaddr, sizeof(e->hwaddr), &e->hw_type, NULL);
    e->hw_len = n > 0 ? (size_t)n : 0;
    if (e->hw_type == 0 && e->hw_len != 0) {
        e->hw_type = LEASES_ARPHRD_ETHER; /* no explicit type means Ethernet (dnsmasq) */
    }
}

/* The fields after EXPIRES and the MAC/IAID field of one lease. */
struct leases_fields {
    char expires[256], hw[256];
    char addr[65], name[256], clid[765];
};

/* Fills e from the five fields; false for a bad address (logged). */
static bool leases_fill(struct leases_entry *e, const struct leases_fields *f)
{
    memset(e, 0, sizeof(*e));
    if (inet_pton(AF_INET, f->addr, e->addr) == 1) {
        e->family = AF_INET;
        leases_fill_v4(e, f->hw);
    } else if (inet_pton(AF_INET6, f->addr, e->addr) == 1) {
        e->family = AF_INET6;
        e->temporary = f->hw[0] == 'T';
    } else {
        log_warn("ignoring invalid line in lease database, bad address: %s", f->addr);
        return false;
    }
    if (strcmp(f->clid, "*") != 0) {
        int n = leases_parse_hex(f->clid, e->clid, sizeof(e->clid), NULL, NULL);
        e->clid_len = n > 0 ? (size_t)n : 0;
    }
    if (strcmp(f->name, "*") != 0) {
        e->has_name = true;
        memcpy(e->name, f->name, strlen(f->name) + 1);
    }
    e->expires_s = strtol(f->expires, NULL, 10); /* as dnsmasq atol: bad text is 0, "never" */
    return true;
}

int leases_read(FILE *stream, const char *path, leases_cb cb, void *arg)
{
    struct leases_fields f;
    int items, count = 0;
    (void)path;
    while ((items = fscanf(stream, "%255s %255s", f.expires, f.hw)) == 2) {
        if (strcmp(f.expires, "duid") == 0) {
            uint8_t duid[130];
            if (leases_parse_hex(f.hw, duid, sizeof(duid), NULL, NULL) < 0) {
                log_error("failed to parse lease database cleanly");
                return ERR_PARSE;
            }
            continue;
        }
        f.addr[0] = f.name[0] = f.clid[0] = '\0';
        if (fscanf(stream, " %64s %255s %764s", f.addr, f.name, f.clid) != 3) {
            log_warn("ignoring invalid line in lease database: %s %s %s %s ...", f.expires, f.hw,
                     f.addr, f.name);
            continue;
        }
        struct leases_entry e;
        if (leases_fill(&e, &f)) {
            cb(arg, &e);
            count++;
        }
    }
    if (items != 0 && items != EOF) {
        log_error("failed to parse lease database cleanly");
        return ERR_PARSE;
    }
    return count;
}

int leases_read_file(const char *path, leases_cb cb, void *arg)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        int e = errno;
        log_error("cannot read lease file %s: %s", path, strerror(e));
        return -e;
    }
    int rc = leases_read(f, path, cb, arg);
    if (ferror(f)) {
        int e = errno != 0 ? errno : EIO;
        log_error("failed to read lease file %s: %s", path, strerror(e));
        rc = -e;
    }
    (void)fclose(f);
    return rc;
}
