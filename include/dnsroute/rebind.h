/* rebind.h - DNS-rebinding protection (dnsmasq --stop-dns-rebind, --rebind-localhost-ok,
 * --rebind-domain-ok): which answered addresses count as "not globally routed", and which query
 * names are exempt. Pure module: no I/O.
 *
 * The address classes are dnsmasq 2.92+'s private_net()/private_net6(): 10/8, 172.16/12,
 * 192.168/16, 100.64/10 (RFC 6598; added after 2.90), 169.254/16, the three TEST-NETs (RFC 5737),
 * 255.255.255.255, and, unless localhost is allowed, 0/8 and 127/8; for IPv6 fe80::/10,
 * fec0::/10, fd00::/8, 2001:db8::/32, ::ffff:0:0/96 by its IPv4 address, and, unless localhost is
 * allowed, :: and ::1. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when the 4-byte (A) or 16-byte (AAAA) address addr is in the blocked space; len is 4 or
 * 16 (anything else is false). localhost_ok: --rebind-localhost-ok (0/8, 127/8, ::, ::1 pass). */
bool rebind_addr_is_private(const uint8_t *addr, size_t len, bool localhost_ok);

/* True when name (text, lower-case, no trailing dot, "" for the root) is exempt by one of the
 * count --rebind-domain-ok domains: name equals a domain or ends with "." + domain (whole labels);
 * the empty domain (from "//") exempts every name without a dot. */
bool rebind_domain_is_ok(const char *name, char *const *domains, size_t count);
