/* fuzz_domtree.c - fuzz target for the domain table: the input is a list of records
 * [op][len][len bytes]. Ops 0-7 add a rule of that kind for the canonicalised text (bit 3 of op
 * selects server=// scope), op 8+ is a query (qtype from the op). Rules are added, the tree is
 * finished, then every query is looked up and the result checked for consistency: the route key
 * is a suffix of the name on a label boundary (or a '*' match), group ids are in range, and the
 * answer does not depend on letter case. */
#include "dnsroute/domtree.h"

#include <ctype.h>
#include <sys/socket.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dnsroute/compat.h"
#include "dnsroute/dname.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void add_rule(struct domtree *t, uint8_t op, const uint8_t *p, size_t len)
{
    struct domtree_rule r = {.kind = (enum domtree_rule_kind)(op & 7), .id = op >> 4};
    memcpy(r.addr, p, len < 16 ? len : 16);
    bool sets = r.kind == DOMTREE_RULE_IPSET || r.kind == DOMTREE_RULE_NFTSET;
    if ((op & 8) && !sets) {
        r.scope = DOMTREE_SCOPE_NODOTS;
        DNSROUTE_REQUIRE(domtree_add(t, "", 0, &r) == 0);
        return;
    }
    char key[DNAME_KEY_MAX + 1];
    bool wild = false;
    int kl = dname_canonicalise((const char *)p, len, !sets, &wild, key, sizeof(key));
    if (kl < 0) {
        return;
    }
    r.scope = wild ? DOMTREE_SCOPE_WILDCARD : DOMTREE_SCOPE_SUFFIX;
    DNSROUTE_REQUIRE(domtree_add(t, key, (size_t)kl, &r) == 0);
}

static bool same_result(const struct domtree_result *a, const struct domtree_result *b)
{
    return a->action == b->action && a->group == b->group &&
           a->domain_specific == b->domain_specific && a->addr_count == b->addr_count &&
           a->addrs == b->addrs && a->ipset_list == b->ipset_list &&
           a->nftset_list == b->nftset_list && a->route_key_len == b->route_key_len;
}

static void check_query(const struct domtree *t, uint8_t op, const uint8_t *p, size_t len)
{
    static const uint16_t qtypes[] = {1, 28, 16, 255};
    uint16_t qtype = qtypes[(op >> 4) & 3];
    const char *name = (const char *)p;
    struct domtree_result r, u;
    domtree_lookup(t, name, len, qtype, &r);
    char upper[256];
    for (size_t i = 0; i < len; i++) {
        upper[i] = (char)toupper((unsigned char)name[i]);
    }
    domtree_lookup(t, upper, len, qtype, &u);
    DNSROUTE_REQUIRE(same_result(&r, &u));
    if (r.action == DOMTREE_FORWARD) {
        uint32_t count;
        DNSROUTE_REQUIRE(r.group < domtree_group_count(t));
        DNSROUTE_REQUIRE(domtree_group_servers(t, r.group, &count) != NULL && count > 0);
    }
    if (r.action == DOMTREE_ADDRESS) {
        DNSROUTE_REQUIRE(r.addr_count > 0 && r.addrs != NULL);
        if (qtype == 255) { /* ANY: AAAA literals, else A literals, else both zeros */
            DNSROUTE_REQUIRE(r.addr_family == AF_INET6 || r.addr_family == AF_INET ||
                             (r.addr_family == AF_UNSPEC && r.addr_count == 1));
        } else {
            DNSROUTE_REQUIRE(r.addr_family == (qtype == 1 ? AF_INET : AF_INET6));
        }
    }
    /* The matched domain is a tail of the name (case folded). */
    DNSROUTE_REQUIRE(r.route_key_len <= len);
    for (size_t i = 0; i < r.route_key_len; i++) {
        char c = (char)tolower((unsigned char)name[len - r.route_key_len + i]);
        DNSROUTE_REQUIRE(r.route_key[i] == c);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct domtree *t = domtree_new();
    for (size_t pos = 0; pos + 2 <= size;) {
        uint8_t op = data[pos], len = data[pos + 1];
        if (pos + 2 + len > size) {
            break;
        }
        if ((op & 0x0f) < 8 || (op & 0x0f) == 15) {
            add_rule(t, (op & 0x0f) == 15 ? 0x08 : op, data + pos + 2, len);
        }
        pos += 2 + (size_t)len;
    }
    domtree_finish(t);
    for (size_t pos = 0; pos + 2 <= size;) {
        uint8_t op = data[pos], len = data[pos + 1];
        if (pos + 2 + len > size) {
            break;
        }
        if ((op & 0x0f) >= 8 && (op & 0x0f) < 15) {
            check_query(t, op, data + pos + 2, len);
        }
        pos += 2 + (size_t)len;
    }
    domtree_free(t);
    return 0;
}
