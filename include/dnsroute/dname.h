/* dname.h - domain names: configuration text to canonical keys, wire form to keys, and back.
 *
 * A "key" is the form every name takes inside dnsroute's domain tree: presentation text without
 * the trailing dot, ASCII letters folded to lower case, labels joined by '.', the root as "".
 * Bytes inside a wire label that would be ambiguous in text ('.', '\\', and anything outside
 * 0x21..0x7e) are written as "\DDD", so a key never matches a configured domain by accident. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest wire name (RFC 1035 §2.3.4), and the longest key (every byte escaped) plus NUL. */
#define DNAME_WIRE_MAX  255
#define DNAME_KEY_MAX   1025
#define DNAME_LABEL_MAX 63

/* Canonicalises a domain as written in dnsmasq configuration (server=/d/, ipset=/d/, ...):
 * removes leading dots, then a leading '*' (when allow_wildcard; it sets *wildcard, which may be
 * NULL; "*.a.com" gives ".a.com"; a lone '*' gives "" with *wildcard false), then one trailing
 * dot; ASCII upper case is folded. "" (and ".") give the empty key: the caller maps dnsmasq's
 * '#' to it. Without allow_wildcard a '*' is an ordinary character. Rejects (ERR_BAD_DOMAIN) labels
 * over 63 bytes, names over 1025 bytes, control characters, spaces and non-ASCII bytes (dnsmasq
 * built without IDN). Empty labels ("a..com") are accepted as dnsmasq does; they never match.
 * Writes the key (NUL-terminated) into out[cap] and returns its length, or a negative code. */
int dname_canonicalise(const char *text, size_t len, bool allow_wildcard, bool *wildcard, char *out,
                       size_t cap);

/* Converts an uncompressed wire name (as produced by dnsmsg's name reader) to a key in
 * out[cap] (NUL-terminated; cap DNAME_KEY_MAX + 1 always suffices). Bytes after the root label
 * are ignored. Returns the key length, or ERR_MALFORMED (no root label within wire_len, a label
 * type other than 0-63, over 255 bytes) / ERR_FULL. */
int dname_wire_to_key(const uint8_t *wire, size_t wire_len, char *out, size_t cap);

/* Converts presentation text ("www.example.com", trailing dot optional, "\DDD" and "\X" escapes
 * allowed; "" and "." are the root) to an uncompressed wire name in out[cap]. Case is kept.
 * Returns the wire length, or ERR_BAD_DOMAIN (empty label, label over 63, bad escape),
 * ERR_NAME_TOO_LONG (over 255 bytes) or ERR_FULL. */
int dname_text_to_wire(const char *text, size_t len, uint8_t *out, size_t cap);

/* Case-insensitive (ASCII only) equality of two uncompressed wire names. */
bool dname_wire_equal(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len);

/* Number of labels in a key ("" has 0, "com" 1, "a.com" 2). */
unsigned dname_key_labels(const char *key, size_t len);
