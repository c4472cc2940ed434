/* sockaddr.c - IPv4/IPv6 address literals as dnsmasq writes them ("1.2.3.4#53", "fe80::1%eth0"). */
#include "dnsroute/sockaddr.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsroute/err.h"

static int sockaddr_parse_scope(const char *scope, uint32_t *out)
{
    char *end = NULL;
    unsigned long n = strtoul(scope, &end, 10);
    if (*scope == '\0' || *end != '\0' || n > UINT32_MAX) {
        return ERR_BAD_ADDRESS;
    }
    *out = (uint32_t)n;
    return 0;
}

int sockaddr_parse_ip(const char *text, size_t len, uint16_t port, union sockaddr_any *out)
{
    char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
    if (len == 0 || len >= sizeof(buf)) {
        return ERR_BAD_ADDRESS;
    }
    memcpy(buf, text, len);
    buf[len] = '\0';
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, buf, &out->sin.sin_addr) == 1) {
        out->sin.sin_family = AF_INET;
        out->sin.sin_port = htons(port);
        return 0;
    }
    char *pct = strchr(buf, '%');
    uint32_t scope = 0;
    if (pct != NULL) {
        *pct = '\0';
        if (sockaddr_parse_scope(pct + 1, &scope) < 0) {
            return ERR_BAD_ADDRESS;
        }
    }
    if (inet_pton(AF_INET6, buf, &out->sin6.sin6_addr) == 1) {
        out->sin6.sin6_family = AF_INET6;
        out->sin6.sin6_port = htons(port);
        out->sin6.sin6_scope_id = scope;
        return 0;
    }
    return ERR_BAD_ADDRESS;
}

socklen_t sockaddr_len(const union sockaddr_any *a)
{
    return a->sa.sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

uint16_t sockaddr_port(const union sockaddr_any *a)
{
    return ntohs(a->sa.sa_family == AF_INET6 ? a->sin6.sin6_port : a->sin.sin_port);
}

void sockaddr_set_port(union sockaddr_any *a, uint16_t port)
{
    if (a->sa.sa_family == AF_INET6) {
        a->sin6.sin6_port = htons(port);
    } else {
        a->sin.sin_port = htons(port);
    }
}

int sockaddr_format(const union sockaddr_any *a, bool with_port, char *buf, size_t cap)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (a->sa.sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &a->sin6.sin6_addr, ip, sizeof(ip));
    } else if (a->sa.sa_family == AF_INET) {
        inet_ntop(AF_INET, &a->sin.sin_addr, ip, sizeof(ip));
    }
    int n = with_port ? snprintf(buf, cap, "%s#%u", ip, (unsigned)sockaddr_port(a))
                      : snprintf(buf, cap, "%s", ip);
    if (n < 0) {
        return 0;
    }
    return (size_t)n >= cap ? (int)cap - 1 : n;
}

bool sockaddr_equal_ip(const union sockaddr_any *a, const union sockaddr_any *b)
{
    if (a->sa.sa_family != b->sa.sa_family) {
        return false;
    }
    if (a->sa.sa_family == AF_INET) {
        return a->sin.sin_addr.s_addr == b->sin.sin_addr.s_addr;
    }
    if (a->sa.sa_family == AF_INET6) {
        return memcmp(&a->sin6.sin6_addr, &b->sin6.sin6_addr, 16) == 0 &&
               a->sin6.sin6_scope_id == b->sin6.sin6_scope_id;
    }
    return false;
}

bool sockaddr_equal(const union sockaddr_any *a, const union sockaddr_any *b)
{
    return sockaddr_equal_ip(a, b) && sockaddr_port(a) == sockaddr_port(b);
}

bool sockaddr_is_loopback(const union sockaddr_any *a)
{
    if (a->sa.sa_family == AF_INET) {
        return (ntohl(a->sin.sin_addr.s_addr) >> 24) == 127;
    }
    if (a->sa.sa_family != AF_INET6) {
        return false;
    }
    const struct in6_addr *v6 = &a->sin6.sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(v6) || (IN6_IS_ADDR_V4MAPPED(v6) && v6->s6_addr[12] == 127);
}
