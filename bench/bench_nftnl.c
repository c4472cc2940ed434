/* bench_nftnl.c - what libnftnl would cost on the hot path: the NFT_MSG_NEWSETELEM message of
 * one flush (N addresses for one set, element timeouts on), built by nlset_nft.c's hand-written
 * libmnl code and by libnftnl (nftnl_set + one nftnl_set_elem per address +
 * nftnl_set_elems_nlmsg_build_payload), in ns per address. Both messages are checked to have
 * the same length (the same attributes; libnftnl orders an element's attributes differently).
 * The reason nlset_nft.c stays hand-built (see its header comment).
 *
 *   bench_nftnl [rounds]          (default 200,000 rounds of each batch size)
 *
 * The CPU a forwarded query costs in bench_ipset.sh --nft is ~10 us and adds ~1.1 addresses:
 * the difference per address printed here, over that, is the share libnftnl would add. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "nlset_impl.h"

enum { BATCH_MAX = 64 };

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct nlset_entry entries[BATCH_MAX];

static void entries_make(void)
{
    for (uint32_t i = 0; i < BATCH_MAX; i++) {
        struct nlset_entry *e = &entries[i];
        memset(e, 0, sizeof(*e));
        e->family = AF_INET;
        e->addr[0] = 10, e->addr[1] = 1, e->addr[2] = (uint8_t)(i >> 8), e->addr[3] = (uint8_t)i;
        e->ttl_s = 600;
        e->next = i + 1 < BATCH_MAX ? i + 1 : NLSET_NONE;
    }
}

static size_t build_hand(void *buf, size_t room, const struct nlset_set *s,
                         const struct nlset_options *opt, uint32_t n)
{
    entries[n - 1].next = NLSET_NONE;
    struct nlset_cursor cur = {entries, 0};
    uint32_t count = 0;
    size_t len = nlset_nft_write_add(buf, room, 1, s, opt, &cur, &count);
    entries[n - 1].next = n < BATCH_MAX ? n : NLSET_NONE;
    return count == n ? len : 0;
}

/* The same message through libnftnl: one nftnl_set_elem per address. */
static size_t build_nftnl(void *buf, size_t room, const struct nlset_set *s,
                          const struct nlset_options *opt, uint32_t n)
{
    (void)room; /* at most 64 elements of 84 bytes: far below the buffer */
    struct nftnl_set *set = nftnl_set_alloc();
    nftnl_set_set_str(set, NFTNL_SET_TABLE, s->conf.table);
    nftnl_set_set_str(set, NFTNL_SET_NAME, s->conf.name);
    for (uint32_t i = 0; i < n; i++) {
        struct nftnl_set_elem *e = nftnl_set_elem_alloc();
        nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, entries[i].addr, 4);
        nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_TIMEOUT,
                               (uint64_t)nlset_elem_timeout_s(opt, s, entries[i].ttl_s) * 1000);
        nftnl_set_elem_add(set, e);
    }
    struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWSETELEM, s->conf.nf_family,
                                                 NLM_F_CREATE | NLM_F_ACK, 1);
    nftnl_set_elems_nlmsg_build_payload(nlh, set);
    nftnl_set_free(set);
    return nlh->nlmsg_len;
}

int main(int argc, char **argv)
{
    unsigned rounds = argc > 1 ? (unsigned)atoi(argv[1]) : 200000;
    static uint32_t buf[16384];
    struct nlset_set s;
    memset(&s, 0, sizeof(s));
    snprintf(s.conf.table, sizeof(s.conf.table), "bench");
    snprintf(s.conf.name, sizeof(s.conf.name), "set4");
    s.conf.nf_family = NFPROTO_INET;
    s.family = AF_INET;
    s.has_timeout = true;
    struct nlset_options opt;
    nlset_options_default(&opt);
    entries_make();
    printf("bench_nftnl: NFT_MSG_NEWSETELEM, one set, element timeouts, %u rounds\n", rounds);
    static const uint32_t sizes[] = {1, 2, 8, 64};
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        uint32_t n = sizes[k];
        size_t a = build_hand(buf, sizeof(buf), &s, &opt, n),
               b = build_nftnl(buf, sizeof(buf), &s, &opt, n);
        if (a == 0 || a != b) {
            fprintf(stderr, "bench_nftnl: messages differ for %u elements: %zu vs %zu bytes\n", n,
                    a, b);
            return 1;
        }
        uint64_t t0 = now_ns();
        for (unsigned r = 0; r < rounds; r++) {
            a += build_hand(buf, sizeof(buf), &s, &opt, n) & 1;
        }
        uint64_t t1 = now_ns();
        for (unsigned r = 0; r < rounds; r++) {
            b += build_nftnl(buf, sizeof(buf), &s, &opt, n) & 1;
        }
        uint64_t t2 = now_ns();
        double mnl = (double)(t1 - t0) / rounds / n, nftnl = (double)(t2 - t1) / rounds / n;
        printf("  %2u addresses per message (%4zu bytes): libmnl %6.1f ns/address, libnftnl %6.1f "
               "ns/address (+%.1f ns)\n",
               n, a & ~(size_t)1, mnl, nftnl, nftnl - mnl);
    }
    return 0;
}
