/* rebind.c - DNS-rebinding protection: the address classes dnsmasq treats as private when
 * --stop-dns-rebind is set, and the --rebind-domain-ok exemptions. query.c asks both before an
 * upstream (or cached) answer reaches the client or the sets. */
#include "dnsroute/rebind.h"

#include <string.h>
#include <strings.h>

static bool in_prefix4(uint32_t a, uint32_t net, unsigned bits)
{
    uint32_t mask = bits == 0 ? 0 : ~0U << (32 - bits);
    return (a & mask) == net;
}

static bool private4(const uint8_t *p, bool localhost_ok)
{
    uint32_t a = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    if (!localhost_ok && (in_prefix4(a, 0x7F000000, 8) || in_prefix4(a, 0x00000000, 8))) {
        return true; /* loopback; RFC 1122 "this network" */
    }
    return in_prefix4(a, 0x0A000000, 8) ||  /* 10/8, RFC 1918 */
           in_prefix4(a, 0x64400000, 10) || /* 100.64/10, RFC 6598 shared (CG-NAT) */
           in_prefix4(a, 0xAC100000, 12) || /* 172.16/12, RFC 1918 */
           in_prefix4(a, 0xC0A80000, 16) || /* 192.168/16, RFC 1918 */
           in_prefix4(a, 0xA9FE0000, 16) || /* 169.254/16, RFC 3927 link-local */
           in_prefix4(a, 0xC0000200, 24) || /* 192.0.2/24, RFC 5737 TEST-NET-1 */
           in_prefix4(a, 0xC6336400, 24) || /* 198.51.100/24, TEST-NET-2 */
           in_prefix4(a, 0xCB007100, 24) || /* 203.0.113/24, TEST-NET-3 */
           a == 0xFFFFFFFF;                 /* limited broadcast */
}

static bool private6(const uint8_t *p, bool localhost_ok)
{
    static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t zero[15] = {0};
    if (memcmp(p, v4mapped, sizeof(v4mapped)) == 0) {
        return private4(p + 12, localhost_ok);
    }
    if (!localhost_ok && memcmp(p, zero, sizeof(zero)) == 0 && p[15] <= 1) {
        return true; /* :: and ::1, RFC 6303 section 4.3 */
    }
    return (p[0] == 0xfe && (p[1] & 0xc0) == 0x80) || /* fe80::/10 link-local, RFC 6303 4.5 */
           (p[0] == 0xfe && (p[1] & 0xc0) == 0xc0) || /* fec0::/10 site-local (deprecated) */
           p[0] == 0xfd ||                            /* fd00::/8 ULA, RFC 6303 4.4 */
           (p[0] == 0x20 && p[1] == 0x01 && p[2] == 0x0d && p[3] == 0xb8); /* 2001:db8::/32 */
}

bool rebind_addr_is_private(const uint8_t *addr, size_t len, bool localhost_ok)
{
    if (len == 4) {
        return private4(addr, localhost_ok);
    }
    return len == 16 && private6(addr, localhost_ok);
}

bool rebind_domain_is_ok(const char *name, char *const *domains, size_t count)
{
    size_t nlen = strlen(name);
    bool dotless = strchr(name, '.') == NULL;
    for (size_t i = 0; i < count; i++) {
        size_t dlen = strlen(domains[i]);
        if (dlen == 0) {
            if (dotless) {
                return true;
            }
            continue;
        }
        if (nlen >= dlen && strcasecmp(name + nlen - dlen, domains[i]) == 0 &&
            (nlen == dlen || name[nlen - dlen - 1] == '.')) {
            return true;
        }
    }
    return false;
}
