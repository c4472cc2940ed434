/* ifaddr.h - the addresses and prefix lengths of every local interface, kept current from the
 * kernel's rtnetlink address and link notifications (RTM_NEWADDR/RTM_DELADDR/RTM_NEWLINK,
 * linux/rtnetlink.h), for dnsmasq's --local-service (a query is answered only when its source
 * lies in a subnet of one of them, "directly connected"), --interface-name (the addresses of a
 * named interface) and --bind-dynamic (the listeners follow them). I/O module; a table is used on
 * the loop that opened it only. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <net/if.h>
#include <stdint.h>
#include <uv.h>

#include "dnsroute/localname.h"
#include "dnsroute/sockaddr.h"

struct ifaddr_table;

/* One address of the table (ifaddr_get). */
struct ifaddr_info {
    int family; /* AF_INET or AF_INET6 */
    uint8_t prefix_len;
    uint8_t addr[16]; /* 4 bytes for AF_INET */
    uint32_t ifindex;
    bool tentative;          /* IPv6 duplicate address detection not finished (IFA_F_TENTATIVE) */
    char label[IF_NAMESIZE]; /* IPv4: the address's label (eth0:1); IPv6: the interface's name */
};

/* Called on t's loop after the table was read again because the kernel reported a change. */
typedef void ifaddr_change_cb(void *arg, const struct ifaddr_table *t);

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

/* The prefix length of the local IPv4/IPv6 address addr (family's size) into *prefix_len; false
 * when no interface has that address. */
bool ifaddr_prefix_of(const struct ifaddr_table *t, int family, const uint8_t *addr,
                      uint8_t *prefix_len);

/* Number of addresses currently known. */
size_t ifaddr_count(const struct ifaddr_table *t);
/* The i-th address (0 <= i < ifaddr_count) into *out; false past the end. */
bool ifaddr_get(const struct ifaddr_table *t, size_t i, struct ifaddr_info *out);
/* Calls cb after each change is read (one watcher per table; NULL stops). */
void ifaddr_watch(struct ifaddr_table *t, ifaddr_change_cb *cb, void *arg);

/* Stops watching and frees t once its handle is closed (the loop must run on). When the loop's
 * owner already closed every handle (uv_walk + uv_close) and ran the loop, t is freed at once.
 * NULL is a no-op. */
void ifaddr_free(struct ifaddr_table *t);
