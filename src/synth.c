/* synth.c - synth-domain names: forward (name -> address) and reverse (address -> name) the way
 * dnsmasq 2.90's domain.c computes them. The list is short (one entry per configuration line)
 * and scanned newest first. */
#include "dnsroute/synth.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dnsroute/dname.h"
#include "dnsroute/mem.h"

struct synth_entry {
    struct synth_rule r;
    char *domain, *prefix;
};

struct synth {
    struct synth_entry *e;
    size_t count, cap;
};

struct synth *synth_new(void)
{
    return mem_calloc(1, sizeof(struct synth));
}

void synth_free(struct synth *s)
{
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < s->count; i++) {
        free(s->e[i].domain);
        free(s->e[i].prefix);
    }
    free(s->e);
    free(s);
}

void synth_add(struct synth *s, const struct synth_rule *r)
{
    mem_grow((void **)&s->e, &s->cap, s->count + 1, sizeof(*s->e));
    struct synth_entry *e = &s->e[s->count++];
    e->r = *r;
    e->domain = mem_strdup(r->domain);
    e->prefix = r->prefix != NULL ? mem_strdup(r->prefix) : NULL;
    e->r.domain = e->domain;
    e->r.prefix = e->prefix;
}

size_t synth_count(const struct synth *s)
{
    return s != NULL ? s->count : 0;
}

/* dnsmasq addr6part: the low 64 bits of an IPv6 address. */
static uint64_t low64(const uint8_t *a)
{
    uint64_t v = 0;
    for (int i = 8; i < 16; i++) {
        v = v << 8 | a[i];
    }
    return v;
}

static void set_low64(uint8_t *a, uint64_t v)
{
    for (int i = 15; i >= 8; i--) {
        a[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint32_t be32(const uint8_t *a)
{
    return (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
}

static bool same_net6(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    size_t whole = bits / 8;
    unsigned rest = bits % 8;
    return memcmp(a, b, whole) == 0 &&
           (rest == 0 || ((a[whole] ^ b[whole]) & (uint8_t)(0xFF << (8 - rest))) == 0);
}

/* dnsmasq match_domain / match_domain6. */
static bool covers(const struct synth_rule *r, int family, const uint8_t *a)
{
    if (family == AF_INET) {
        return !r->is6 && be32(a) >= be32(r->start) && be32(a) <= be32(r->end);
    }
    if (!r->is6) {
        return false;
    }
    if (r->prefix_len >= 64) {
        return same_net6(a, r->start, 64) && low64(a) >= low64(r->start) &&
               low64(a) <= low64(r->end);
    }
    return same_net6(a, r->start, r->prefix_len);
}

/* The indexed form: digits, then ".domain". */
static bool forward_indexed(const struct synth_rule *r, const char *tail, const char *dom,
                            int family, uint8_t *addr)
{
    /* dnsmasq's atoi / atoll of the digits (an empty index is 0). */
    unsigned long long index = strtoull(tail, NULL, 10);
    if (family == AF_INET) {
        uint32_t span = be32(r->end) - be32(r->start);
        if (r->is6 || (unsigned)index > span) {
            return false;
        }
        uint32_t v = be32(r->start) + (uint32_t)index;
        uint8_t out[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
        memcpy(addr, out, 4);
        return strcmp(dom, r->domain) == 0;
    }
    if (!r->is6 || (uint64_t)index > low64(r->end) - low64(r->start)) {
        return false;
    }
    memcpy(addr, r->start, 16);
    set_low64(addr, low64(r->start) + (uint64_t)index);
    return strcmp(dom, r->domain) == 0;
}

/* The address form: "192-168-0-5" or "fd00--5" ("--ffff-1-2-3-4" for v4-mapped). */
static bool forward_addr(const struct synth_rule *r, const char *tail, size_t tlen, int family,
                         uint8_t *addr)
{
    char text[64];
    if (tlen >= sizeof(text)) {
        return false;
    }
    memcpy(text, tail, tlen);
    text[tlen] = '\0';
    if (family == AF_INET6 && strncmp(text, "--ffff-", 7) == 0) {
        memcpy(text, "::ffff:", 7);
        for (char *p = text + 7; *p != '\0'; p++) {
            if (*p == '-') {
                *p = '.';
            }
        }
    } else {
        char sep = family == AF_INET ? '.' : ':';
        for (char *p = text; *p != '\0'; p++) {
            if (*p == '-') {
                *p = sep;
            }
        }
    }
    return inet_pton(family, text, addr) == 1 && covers(r, family, addr);
}

static bool is_tail_char(char c, int family, bool indexed)
{
    if (c >= '0' && c <= '9') {
        return true;
    }
    if (indexed) {
        return false;
    }
    return c == '-' || (family == AF_INET6 && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')));
}

bool synth_forward(const struct synth *s, const char *name, size_t len, int family, uint8_t *addr)
{
    char key[DNAME_KEY_MAX + 1];
    if (s == NULL || s->count == 0 || len >= sizeof(key)) { /* every query asks: none is cheap */
        return false;
    }
    memcpy(key, name, len);
    key[len] = '\0';
    for (size_t i = s->count; i-- > 0;) {
        const struct synth_rule *r = &s->e[i].r;
        size_t pl = r->prefix != NULL ? strlen(r->prefix) : 0;
        if (pl > len || strncmp(key, r->prefix != NULL ? r->prefix : "", pl) != 0) {
            continue;
        }
        const char *tail = key + pl, *p = tail;
        while (*p != '\0' && is_tail_char(*p, family, r->indexed)) {
            p++;
        }
        if (*p != '.') {
            continue;
        }
        bool found = r->indexed ? forward_indexed(r, tail, p + 1, family, addr)
                                : strcmp(p + 1, r->domain) == 0 &&
                                      forward_addr(r, tail, (size_t)(p - tail), family, addr);
        if (found) {
            return true;
        }
    }
    return false;
}

/* The address part of a reverse name: the index in the range, or the address text with '-'
 * for '.' and ':', into text[INET6_ADDRSTRLEN + 1]. */
static void reverse_text(const struct synth_rule *r, int family, const uint8_t *addr, char *text)
{
    if (r->indexed) {
        unsigned long long index = family == AF_INET
                                       ? (unsigned long long)(be32(addr) - be32(r->start))
                                       : (unsigned long long)(low64(addr) - low64(r->start));
        (void)snprintf(text, INET6_ADDRSTRLEN + 1, "%llu", index);
        return;
    }
    /* A name cannot start with '-': dnsmasq writes "::1" as "0--1" without a prefix. */
    bool zero = family == AF_INET6 && r->prefix == NULL;
    (void)inet_ntop(family, addr, text + zero, INET6_ADDRSTRLEN);
    if (zero && text[1] == ':') {
        text[0] = '0';
    } else if (zero) {
        memmove(text, text + 1, strlen(text + 1) + 1);
    }
    for (char *p = text; *p != '\0'; p++) {
        if (*p == '.' || *p == ':') {
            *p = '-';
        }
    }
}

bool synth_reverse(const struct synth *s, int family, const uint8_t *addr, char *out, size_t cap)
{
    for (size_t i = s != NULL ? s->count : 0; i-- > 0;) {
        const struct synth_rule *r = &s->e[i].r;
        if (!covers(r, family, addr)) {
            continue;
        }
        char text[INET6_ADDRSTRLEN + 1] = "";
        reverse_text(r, family, addr, text);
        int n = snprintf(out, cap, "%s%s.%s", r->prefix != NULL ? r->prefix : "", text, r->domain);
        return n > 0 && (size_t)n < cap;
    }
    return false;
}
