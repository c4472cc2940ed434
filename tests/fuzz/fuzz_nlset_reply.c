/* fuzz_nlset_reply.c - fuzz target for the netlink replies nlset reads from the kernel: the input
 * is one received buffer, walked message by message as nlset.c does (nlset_reply_walk); each
 * message goes through the ack/error check, ipset's failing-element line number (the echoed
 * request after the error code), and both set probes (an ipset header reply, an nft set). No
 * reply may be read past its length, and a parsed probe leaves a consistent set state. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dnsroute/compat.h"
#include "nlset_impl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_probe_state(const struct nlset_set *s)
{
    DNSROUTE_REQUIRE(memchr(s->type, '\0', sizeof(s->type)) != NULL);
    DNSROUTE_REQUIRE(s->state != NLSET_STATE_READY || s->family == AF_INET ||
                     s->family == AF_INET6);
}

static void on_message(struct nlset *n, const struct nlmsghdr *nlh, void *ctx)
{
    (void)n;
    size_t *count = ctx;
    (*count)++;
    int err = 1;
    if (nlset_reply_error(nlh, &err)) {
        (void)nlset_ipset_error_lineno(nlh);
        (void)nlset_ipset_err_kind(err);
        (void)nlset_nft_err_kind(err);
        return;
    }
    struct nlset_set s;
    memset(&s, 0, sizeof(s));
    if (nlset_ipset_parse_probe(nlh, &s) == 0) {
        check_probe_state(&s);
    }
    memset(&s, 0, sizeof(s));
    if (nlset_nft_parse_probe(nlh, &s) == 0) {
        check_probe_state(&s);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* recv() fills an aligned buffer; so does this copy (netlink headers are 4-byte aligned). */
    uint32_t *buf = malloc((size / 4 + 1) * 4);
    memcpy(buf, data, size);
    size_t count = 0;
    nlset_reply_walk(buf, size, on_message, NULL, &count);
    DNSROUTE_REQUIRE(count <= size / 16);
    free(buf);
    return 0;
}
