/* fuzz_dname.c - fuzz target for name conversion: the input is tried as configuration text
 * (dname_canonicalise), as a wire name and as presentation text; every accepted name must survive
 * the round trips wire -> key -> wire -> key unchanged (letters folded). */
#include "dnsroute/dname.h"

#include <stdint.h>
#include <string.h>

#include "dnsroute/compat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_canonical(const uint8_t *data, size_t size, bool allow_wild)
{
    char key[DNAME_KEY_MAX + 1];
    bool wild = false;
    int kl = dname_canonicalise((const char *)data, size, allow_wild, &wild, key, sizeof(key));
    if (kl < 0) {
        return;
    }
    DNSROUTE_REQUIRE((size_t)kl <= size && key[kl] == '\0');
    DNSROUTE_REQUIRE(!wild || (allow_wild && kl > 0));
    for (int i = 0; i < kl; i++) {
        DNSROUTE_REQUIRE(key[i] > 0x20 && key[i] < 0x7f && !(key[i] >= 'A' && key[i] <= 'Z'));
    }
}

/* Checks that a wire name (of wire_len bytes, valid) and its key convert back and forth. */
static void check_wire_round_trip(const uint8_t *wire, size_t wire_len)
{
    char key[DNAME_KEY_MAX + 1], key2[DNAME_KEY_MAX + 1];
    int kl = dname_wire_to_key(wire, wire_len, key, sizeof(key));
    DNSROUTE_REQUIRE(kl >= 0 && (size_t)kl < sizeof(key));
    uint8_t w2[DNAME_WIRE_MAX];
    int wl = dname_text_to_wire(key, (size_t)kl, w2, sizeof(w2));
    DNSROUTE_REQUIRE(wl >= 0 && (size_t)wl == wire_len);
    DNSROUTE_REQUIRE(dname_wire_equal(wire, wire_len, w2, (size_t)wl));
    DNSROUTE_REQUIRE(dname_wire_to_key(w2, (size_t)wl, key2, sizeof(key2)) == kl);
    DNSROUTE_REQUIRE(memcmp(key, key2, (size_t)kl) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_canonical(data, size, true);
    check_canonical(data, size, false);

    char key[DNAME_KEY_MAX + 1];
    if (dname_wire_to_key(data, size, key, sizeof(key)) >= 0) {
        size_t n = 0;
        while (data[n] != 0) {
            n += 1 + data[n];
        }
        check_wire_round_trip(data, n + 1);
    }

    uint8_t wire[DNAME_WIRE_MAX];
    int wl = dname_text_to_wire((const char *)data, size, wire, sizeof(wire));
    if (wl >= 0) {
        check_wire_round_trip(wire, (size_t)wl);
    }
    return 0;
}
