/* ifaddr.h - the addresses and prefix lengths of every local interface, kept current from the
 * kernel's rtnetlink address notifications (RTM_NEWADDR/RTM_DELADDR, linux/rtnetlink.h), for
 * dnsmasq's --local-service (a query is answered only when its source lies in a subnet of one of
 * them, "directly connected") and --interface-name (the addresses of a named interface). I/O
 * module; one table per worker loop, used on that loop only. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "dnsroute/localname.h"
#include "dnsroute/sockaddr.h"

struct ifaddr_table;

/* Opens the notification socket, reads the current addresses and starts watching on loop.
 * Returns 0 with *out set, or a negative errno. */
int ifaddr_new(uv_loop_t *loop, struct ifaddr_table **out);

/* True when peer (IPv4 or IPv6) is in the subnet of a local interface address (which includes the
 * loopback addresses). */
bool ifaddr_is_local(const struct ifaddr_table *t, const union sockaddr_any *peer);

/* interface-name: the current addresses of interface ifname (IPv4 addresses by label, so
 * "eth0:1" is an alias's own; IPv6 by interface name; no IPv6 link-local), newest first, at most
 * max into out. Returns how many were written. */
size_t ifaddr_lookup_name(const struct ifaddr_table *t, const char *ifname,
                          struct localname_ifaddr *out, size_t max);

/* Number of addresses currently known (tests, logs). */
size_t ifaddr_count(const struct ifaddr_table *t);

/* Stops watching and frees t once its handle is closed (the loop must run on). When the loop's
 * owner already closed every handle (uv_walk + uv_close) and ran the loop, t is freed at once.
 * NULL is a no-op. */
void ifaddr_free(struct ifaddr_table *t);
