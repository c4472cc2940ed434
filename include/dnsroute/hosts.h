/* hosts.h - the local name store: names and addresses from hosts files (/etc/hosts, addn-hosts=)
 * answered as dnsmasq answers them (A, AAAA, and PTR from the same data).
 *
 * Pure module: reads files, no sockets. A store is built once (hosts_new, hosts_read_file,
 * hosts_add) and then only read, so worker threads may look names up concurrently.
 *
 * Semantics follow dnsmasq's cache.c (read_hostsfile, add_hosts_entry):
 *   - a line is an address followed by names; '#' starts a comment anywhere;
 *   - a bad address skips the line ("bad address at FILE line N"), a bad name skips that name
 *     ("bad name at FILE line N");
 *   - with a domain for the address (expand-hosts), a dotless name is also added as
 *     name.domain, before the plain name;
 *   - the same name with the same address twice is kept once;
 *   - the first name given an address answers its PTR; later names for that address do not.
 * Names are kept as keys (dname.h: lower case, no trailing dot). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hosts;

/* The domain expand-hosts appends for a name with address addr (4 or 16 bytes, by family
 * AF_INET/AF_INET6); NULL for none. Called while reading a file. */
typedef const char *(*hosts_domain_cb)(void *arg, int family, const uint8_t *addr);

/* Allocates an empty store; the caller frees it with hosts_free. */
struct hosts *hosts_new(void);
void hosts_free(struct hosts *h);

/* Reads one hosts file into h. domain_of (may be NULL) gives expand-hosts' domain. Logs
 * dnsmasq's lines: "read FILE - N names", "bad address at FILE line N", "bad name at FILE line
 * N", "failed to load names from FILE: REASON". Returns the number of names added, or a negative
 * errno when the file cannot be read (already logged). */
int hosts_read_file(struct hosts *h, const char *path, hosts_domain_cb domain_of, void *arg);

/* Adds name (any case, trailing dot allowed) with one address; family AF_INET or AF_INET6.
 * Returns 1 when added, 0 for a duplicate, ERR_BAD_DOMAIN for a name dnsmasq rejects. */
int hosts_add(struct hosts *h, const char *name, size_t len, int family, const uint8_t *addr);

/* True when key (a dname key: lower case, no trailing dot) has any address in h. */
bool hosts_has_name(const struct hosts *h, const char *key, size_t len);

/* True when some name in h lies below key ("lan" for "router.lan"): dnsmasq's non-terminal, a
 * name that exists with no data (NOERROR instead of local='s NXDOMAIN). */
bool hosts_has_below(const struct hosts *h, const char *key, size_t len);

/* Copies up to max addresses of family for key into out (back to back, 4 or 16 bytes each), in
 * file order rotated left by `rotate` (dnsmasq's round robin). Returns the number of addresses
 * of that family the name has (which may exceed max; only max are copied). */
uint32_t hosts_lookup(const struct hosts *h, const char *key, size_t len, int family,
                      uint32_t rotate, uint8_t *out, uint32_t max);

/* The name that answers the PTR of addr (family AF_INET/AF_INET6), as a NUL-terminated key, or
 * NULL when none. The pointer lives as long as h. */
const char *hosts_lookup_addr(const struct hosts *h, int family, const uint8_t *addr);

/* Number of (name, address) records in h. */
size_t hosts_count(const struct hosts *h);

/* Adds records [first, first + count) of src to dst in their order, as hosts_add would (so
 * duplicates are dropped and the first name of an address keeps its PTR). Used to rebuild a store
 * from the parts that did not change. Returns the number of records added. */
size_t hosts_copy(struct hosts *dst, const struct hosts *src, size_t first, size_t count);

/* True when key has the address addr (family AF_INET/AF_INET6) among its records in h. */
bool hosts_has_addr(const struct hosts *h, const char *key, size_t len, int family,
                    const uint8_t *addr);
