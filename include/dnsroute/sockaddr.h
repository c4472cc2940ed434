/* sockaddr.h - IPv4/IPv6 socket addresses: parsing dnsmasq-style literals, formatting, equality. */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

union sockaddr_any {
    struct sockaddr sa;
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
    struct sockaddr_storage ss;
};

/* Longest text sockaddr_format() writes, with NUL: "[v6%scope]#65535". */
#define SOCKADDR_TEXT_MAX 80

/* Parses an IPv4 or IPv6 literal (IPv6 may carry a numeric "%scope"; interface names are the
 * caller's to look up) of len bytes into out with the given port (host order). Returns 0, or
 * ERR_BAD_ADDRESS. */
int sockaddr_parse_ip(const char *text, size_t len, uint16_t port, union sockaddr_any *out);
/* Length of the active member, for bind()/sendto(). */
socklen_t sockaddr_len(const union sockaddr_any *a);
/* Port in host order. */
uint16_t sockaddr_port(const union sockaddr_any *a);
void sockaddr_set_port(union sockaddr_any *a, uint16_t port);
/* Writes "1.2.3.4" or "2001:db8::1" (with_port: "1.2.3.4#53", dnsmasq's notation) into buf.
 * Returns the length written (always NUL-terminated; cap >= SOCKADDR_TEXT_MAX never truncates). */
int sockaddr_format(const union sockaddr_any *a, bool with_port, char *buf, size_t cap);
/* Same family, address and port (and scope for IPv6). */
bool sockaddr_equal(const union sockaddr_any *a, const union sockaddr_any *b);
/* Same family and address; ports ignored. */
bool sockaddr_equal_ip(const union sockaddr_any *a, const union sockaddr_any *b);
/* True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104 (a query from this host). */
bool sockaddr_is_loopback(const union sockaddr_any *a);
