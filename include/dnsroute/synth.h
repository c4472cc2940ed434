/* synth.h - dnsmasq's synth-domain: names made from addresses and back, for a range of IPv4 or
 * IPv6 addresses ("192-168-0-5.lan" <-> 192.168.0.5, "host-fd00--5.lan" <-> fd00::5 with prefix
 * "host-", or "pc42.lan" with an indexed prefix "pc*"), as dnsmasq 2.90's domain.c
 * (is_name_synthetic, is_rev_synth) and option.c (--synth-domain) define them, quirks included:
 * a range given as START[,END] of IPv6 addresses matches every IPv6 address (dnsmasq compares a
 * zero-length prefix), and the newest line is tried first.
 *
 * Pure module; built once by the configuration loader, then only read. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct synth;

/* Allocates an empty list / frees it (NULL is fine). */
struct synth *synth_new(void);
void synth_free(struct synth *s);

/* One synth-domain= line, as conf parses it (dnsmasq option.c). */
struct synth_rule {
    const char *domain; /* key */
    const char *prefix; /* key text before the address or index; NULL: none */
    bool indexed;       /* prefix ended in '*': names are prefix + index in the range */
    bool is6;
    unsigned prefix_len; /* IPv6: the /N given (0 for a START[,END] range) */
    uint8_t start[16], end[16];
};

/* Adds r (copied); lines added later are tried first, as dnsmasq. */
void synth_add(struct synth *s, const struct synth_rule *r);

/* True when name[len] (a key) is a synthesised name of family (AF_INET/AF_INET6); its address
 * into addr[16]. */
bool synth_forward(const struct synth *s, const char *name, size_t len, int family, uint8_t *addr);

/* The synthesised name of addr (family AF_INET/AF_INET6) into out[cap] as a key; false when no
 * synth-domain covers it. */
bool synth_reverse(const struct synth *s, int family, const uint8_t *addr, char *out, size_t cap);

/* Number of synth-domain= lines. */
size_t synth_count(const struct synth *s);
