/* prefixset.h - a set of IPv4 and IPv6 prefixes with O(1) membership per address: the
 * bogus-nxdomain= list, where every A/AAAA record of every answer is checked against it. One
 * hash table holds every prefix under its (family, length, masked address); a lookup probes it
 * once per distinct prefix length of the address's family (the china list's 165 entries are all
 * /32 and /128: one probe per address, where a linear scan made 165 compares).
 *
 * Pure module: no I/O. Built once by the configuration loader, then read-only and shared by
 * every worker thread. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct prefixset;

/* Creates an empty set; free with prefixset_free (NULL is accepted). */
struct prefixset *prefixset_new(void);
void prefixset_free(struct prefixset *s);

/* Adds addr/prefix_len: family AF_INET (addr: 4 bytes, prefix_len <= 32) or AF_INET6 (16 bytes,
 * <= 128); bits past the prefix are ignored, adding a prefix twice keeps one. Returns 0, or
 * -EINVAL for another family or a longer prefix. */
int prefixset_add(struct prefixset *s, int family, const uint8_t *addr, unsigned prefix_len);

/* True when addr (4 bytes for AF_INET, 16 for AF_INET6) lies inside a prefix of s; false for
 * any other family and for s == NULL. Safe from several threads once the set is built. */
bool prefixset_has(const struct prefixset *s, int family, const uint8_t *addr);

/* Distinct prefixes held. */
size_t prefixset_count(const struct prefixset *s);

/* A hash of the prefixes held, whatever order they were added in (0 for NULL or empty): the
 * cache keys answers with it, so a reload that changes bogus-nxdomain= retires them. */
uint32_t prefixset_signature(const struct prefixset *s);
