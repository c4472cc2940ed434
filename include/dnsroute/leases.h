/* leases.h - dnsmasq's DHCP lease file, read for its names (dnsroute does no DHCP: a router that
 * keeps dnsmasq for DHCP with port=0 lets dnsroute answer the names its clients sent).
 *
 * Pure module: reads a file, no sockets. The format is dnsmasq's (lease.c lease_update_file,
 * read back by read_leases), read the way dnsmasq reads it: a stream of whitespace-separated
 * fields, not lines:
 *   - IPv4: EXPIRES MAC ADDRESS HOSTNAME CLIENT-ID   ("*" for no hostname / no client-id)
 *   - "duid" SERVER-DUID                              (starts the IPv6 part)
 *   - IPv6: EXPIRES [T]IAID ADDRESS HOSTNAME CLIENT-DUID
 * EXPIRES is seconds since the epoch (0: never). A record whose fields run short or whose address
 * is bad is skipped with dnsmasq's warnings ("ignoring invalid line in lease database: ...",
 * "ignoring invalid line in lease database, bad address: ..."); a bad server DUID ends the read
 * ("failed to parse lease database cleanly"). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum { LEASES_NAME_MAX = 255, LEASES_HWADDR_MAX = 16, LEASES_CLID_MAX = 255 };

/* One lease as the file gives it. */
struct leases_entry {
    int family; /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    int64_t expires_s; /* seconds since the epoch, 0 = never */
    bool has_name;     /* the hostname field was not "*" */
    bool temporary;    /* IPv6 temporary address (IAID written as "T<iaid>") */
    char name[LEASES_NAME_MAX + 1];
    uint8_t hwaddr[LEASES_HWADDR_MAX]; /* IPv4: the MAC field; hw_len 0 when none */
    size_t hw_len;
    int hw_type;                   /* ARP hardware type (1 = Ethernet, the default) */
    uint8_t clid[LEASES_CLID_MAX]; /* client-id (IPv4) or DUID (IPv6); clid_len 0 for "*" */
    size_t clid_len;
};

/* Called once per valid lease, in file order; entry is valid only during the call. */
typedef void (*leases_cb)(void *arg, const struct leases_entry *entry);

/* Reads the lease records of stream (named path in the log lines) and calls cb for each. Returns
 * the number of leases, or ERR_PARSE when the read ended early (logged as dnsmasq does). */
int leases_read(FILE *stream, const char *path, leases_cb cb, void *arg);

/* Opens path and reads it with leases_read. Returns the number of leases, ERR_PARSE, or a negative
 * errno when the file cannot be read ("cannot read lease file PATH: REASON" logged). */
int leases_read_file(const char *path, leases_cb cb, void *arg);

/* Parses dnsmasq's hex notation ("01:02:ab", "1-00:11:22" with hw_type, "*" a wildcard byte) into
 * out (at most max bytes). hw_type and wildcard may be NULL; wildcard gets a bit per byte, set
 * for "*", the first byte in the highest bit used. Returns the byte count or -1 when text is not
 * hex (dnsmasq parse_hex). */
int leases_parse_hex(const char *text, uint8_t *out, size_t max, int *hw_type, uint32_t *wildcard);
