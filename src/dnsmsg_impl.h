/* dnsmsg_impl.h - private helpers shared by dnsmsg.c (parsing, rewrites) and dnsmsg_write.c
 * (building messages). Not part of the interface: only src/ and the module's tests include it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline uint16_t dnsmsg_get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t dnsmsg_get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline void dnsmsg_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void dnsmsg_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* TTLs with the top bit set are treated as 0 (RFC 2181 §8). */
static inline uint32_t dnsmsg_ttl_norm(uint32_t ttl_s)
{
    return ttl_s > 0x7fffffffu ? 0 : ttl_s;
}

/* ASCII case-insensitive equality of two uncompressed wire names. */
bool dnsmsg_name_equal(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len);

/* True when name[len] is exactly one uncompressed wire name of at most DNAME_WIRE_MAX bytes. */
bool dnsmsg_name_is_valid(const uint8_t *name, size_t len);

/* Writes an 11-byte OPT RR header at p: root owner, udp_size, ext_rcode, version 0, DO bit and
 * rdlength options_len (the options themselves are the caller's). */
void dnsmsg_opt_write(uint8_t *p, uint16_t udp_size, uint8_t ext_rcode, bool do_bit,
                      uint16_t options_len);
