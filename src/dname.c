/* dname.c - domain names: configuration text to canonical keys, wire names to keys, text to wire.
 * Keys are what the domain tree (domtree.c) stores and what query.c looks up: lower-case
 * presentation text without the trailing dot. This module sits below domtree and dnsmsg and does
 * no I/O. */
#include "dnsroute/dname.h"

#include <string.h>

#include "dnsroute/err.h"

static inline char fold(char c)
{
    unsigned char u = (unsigned char)c;
    if (u >= 'A' && u <= 'Z') {
        u |= 0x20U;
    }
    return (char)u;
}

/* Bytes a configured domain may hold: printable ASCII without space (dnsmasq without IDN). */
static inline bool conf_byte_ok(unsigned char c)
{
    return c > 0x20 && c < 0x7f;
}

int dname_canonicalise(const char *text, size_t len, bool allow_wildcard, bool *wildcard, char *out,
                       size_t cap)
{
    bool wild = false;
    while (len > 0 && text[0] == '.') {
        text++;
        len--;
    }
    /* dnsmasq (add_update_server) takes '*' off after the leading dots, so "*.a.com" keeps its
     * dot and matches only names below a.com. */
    if (allow_wildcard && len > 0 && text[0] == '*') {
        wild = true;
        text++;
        len--;
    }
    if (len > 0 && text[len - 1] == '.') {
        len--;
    }
    if (len > DNAME_KEY_MAX) {
        return ERR_BAD_DOMAIN;
    }
    if (cap < len + 1) {
        return ERR_FULL;
    }
    size_t label_len = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (!conf_byte_ok(c)) {
            return ERR_BAD_DOMAIN;
        }
        label_len = c == '.' ? 0 : label_len + 1;
        if (label_len > DNAME_LABEL_MAX) {
            return ERR_BAD_DOMAIN;
        }
        out[i] = fold((char)c);
    }
    out[len] = '\0';
    /* A lone '*' means "no domain": the same as a default (empty-domain) rule. */
    if (wildcard != NULL) {
        *wildcard = wild && len > 0;
    }
    return (int)len;
}

/* Key bytes that stand for themselves; everything else is written as \DDD. */
static inline bool key_byte_plain(uint8_t c)
{
    return c > 0x20 && c < 0x7f && c != '.' && c != '\\';
}

/* Appends one wire label to out[*n..], keeping room for the NUL; false when cap is too small. */
static bool label_to_key(const uint8_t *label, size_t ll, char *out, size_t cap, size_t *n)
{
    size_t i = 0;
    if (*n + ll < cap) {
        /* Room for the label as it is: copy and fold up to the first byte to escape (every byte
         * of almost every name), with no room check per byte. */
        char *o = out + *n;
        for (; i < ll && key_byte_plain(label[i]); i++) {
            o[i] = fold((char)label[i]);
        }
        *n += i;
    }
    for (; i < ll; i++) {
        uint8_t c = label[i];
        size_t need = key_byte_plain(c) ? 1 : 4;
        if (*n + need >= cap) {
            return false;
        }
        if (need == 1) {
            out[(*n)++] = fold((char)c);
            continue;
        }
        /* Upper case letters are plain, so escaped bytes need no folding. */
        out[(*n)++] = '\\';
        out[(*n)++] = (char)('0' + c / 100);
        out[(*n)++] = (char)('0' + c / 10 % 10);
        out[(*n)++] = (char)('0' + c % 10);
    }
    return true;
}

int dname_wire_to_key(const uint8_t *wire, size_t wire_len, char *out, size_t cap)
{
    size_t pos = 0, n = 0;
    for (;;) {
        if (pos >= wire_len) {
            return ERR_MALFORMED;
        }
        uint8_t ll = wire[pos++];
        if (ll == 0) {
            break;
        }
        if (ll > DNAME_LABEL_MAX || pos + ll > wire_len || pos + ll + 1 > DNAME_WIRE_MAX) {
            return ERR_MALFORMED;
        }
        if (n > 0) {
            if (n + 1 >= cap) {
                return ERR_FULL;
            }
            out[n++] = '.';
        }
        if (!label_to_key(wire + pos, ll, out, cap, &n)) {
            return ERR_FULL;
        }
        pos += ll;
    }
    if (cap < 1) {
        return ERR_FULL;
    }
    out[n] = '\0';
    return (int)n;
}

/* Reads one presentation character at text[*i] (an escape counts as one): returns the byte or a
 * negative code, and tells whether it was escaped (an escaped '.' is not a separator). */
static int text_next_byte(const char *text, size_t len, size_t *i, bool *escaped)
{
    unsigned char c = (unsigned char)text[*i];
    *escaped = false;
    if (c != '\\') {
        (*i)++;
        return c;
    }
    *escaped = true;
    if (*i + 1 >= len) {
        return ERR_BAD_DOMAIN;
    }
    unsigned char d = (unsigned char)text[*i + 1];
    if (d < '0' || d > '9') {
        *i += 2;
        return d;
    }
    if (*i + 3 >= len) {
        return ERR_BAD_DOMAIN;
    }
    int v = 0;
    for (size_t k = 1; k <= 3; k++) {
        unsigned char e = (unsigned char)text[*i + k];
        if (e < '0' || e > '9') {
            return ERR_BAD_DOMAIN;
        }
        v = v * 10 + (e - '0');
    }
    if (v > 255) {
        return ERR_BAD_DOMAIN;
    }
    *i += 4;
    return v;
}

int dname_text_to_wire(const char *text, size_t len, uint8_t *out, size_t cap)
{
    if (len == 1 && text[0] == '.') {
        len = 0;
    }
    size_t n = 0;      /* bytes written, including the current label's length byte */
    size_t lstart = 0; /* offset of the current label's length byte */
    size_t i = 0;
    bool open = false; /* a label has been started */
    while (i < len) {
        bool escaped;
        int c = text_next_byte(text, len, &i, &escaped);
        if (c < 0) {
            return c;
        }
        if (c == '.' && !escaped) {
            if (!open) {
                return ERR_BAD_DOMAIN; /* empty label, or a leading dot */
            }
            open = false;
            if (i == len) {
                break; /* the optional trailing dot */
            }
            continue;
        }
        /* This byte and the root label must still fit in 255 bytes. */
        if (n + 2 > DNAME_WIRE_MAX) {
            return ERR_NAME_TOO_LONG;
        }
        if (!open) {
            if (n + 1 > cap) {
                return ERR_FULL;
            }
            lstart = n;
            out[n++] = 0;
            open = true;
        }
        if (out[lstart] == DNAME_LABEL_MAX) {
            return ERR_BAD_DOMAIN;
        }
        if (n + 1 > cap) {
            return ERR_FULL;
        }
        if (n + 2 > DNAME_WIRE_MAX) {
            return ERR_NAME_TOO_LONG;
        }
        out[n++] = (uint8_t)c;
        out[lstart]++;
    }
    if (n + 1 > cap) {
        return ERR_FULL;
    }
    out[n++] = 0;
    return (int)n;
}

bool dname_wire_equal(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
    if (a_len != b_len) {
        return false;
    }
    /* Length bytes are at most 63, below 'A', so folding them is harmless. */
    for (size_t i = 0; i < a_len; i++) {
        if (fold((char)a[i]) != fold((char)b[i])) {
            return false;
        }
    }
    return true;
}

unsigned dname_key_labels(const char *key, size_t len)
{
    if (len == 0) {
        return 0;
    }
    unsigned n = 1;
    for (const char *p = key; (p = memchr(p, '.', len - (size_t)(p - key))) != NULL; p++) {
        n++;
    }
    return n;
}
