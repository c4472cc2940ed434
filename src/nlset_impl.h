/* nlset_impl.h - private to nlset.c, nlset_ipset.c and nlset_nft.c: the per-set state, the batch
 * queue, and the message builders and parsers of each backend. nlset.c owns batching, backend
 * choice and error accounting; the backend files only turn structs into netlink bytes and back. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/netlink.h>

#include "dnsroute/log.h"
#include "dnsroute/nlset.h"

#define NLSET_NONE UINT32_MAX
/* The most a single netlink message may hold: an attribute length is 16 bits, and the
 * element list is one attribute. */
#define NLSET_MSG_MAX 60000u
/* One sendmmsg() entry (one skb); larger batches are split at this size. */
#define NLSET_CHUNK_MAX 65536u
/* The largest IPSET_TIMEOUT the kernel accepts (UINT_MAX / MSEC_PER_SEC). */
#define NLSET_TIMEOUT_MAX_S 2147483u

/* One kernel set and what the probe learnt about it. */
struct nlset_set {
    struct conf_set conf;
    enum nlset_state state;
    bool reprobe;      /* errors suggest the set was re-created: probe it again */
    bool logged_state; /* the current state has been logged */
    int family;        /* AF_INET / AF_INET6 accepted; 0 when unknown */
    bool has_timeout;
    bool interval;
    char type[32];     /* ipset type name, or the nft key type */
    char err_text[96]; /* ipset: libipset's text for the last probe failure, "" when none */
    /* Pending entries of this batch: a singly linked list through nlset_entry.next. */
    uint32_t head, tail, pending;
    /* Outcome of the flush in progress. */
    bool flush_failed; /* nft: the set's elements were refused */
    bool nft_retry;    /* nft: accepted, but the transaction was aborted by another set */
    int flush_err;
    uint32_t flush_lost; /* elements not added */
    /* ipset: elements after a refused one, not tried by the kernel, to be sent again
     * (retry_next: first of them, NLSET_NONE when none; retry_count: how many). */
    uint32_t retry_next, retry_count;
    struct nlset_stats stats;
    struct log_ratelimit rl;
};

/* One queued address. */
struct nlset_entry {
    uint8_t addr[16];
    uint32_t set_id;
    uint32_t ttl_s;
    uint32_t next;
    uint8_t family; /* AF_INET or AF_INET6 */
};

enum nlset_msg_status { NLSET_MSG_SENT = 0, NLSET_MSG_ACKED, NLSET_MSG_FAILED };

/* One request of the current flush, found again by its sequence number. */
struct nlset_msg {
    uint32_t set_id; /* NLSET_NONE for nft batch begin/end */
    uint32_t count;  /* elements in the message */
    uint32_t chunk;
    uint8_t status;
    int err;
    uint32_t lineno; /* ipset: 1-based index of the failing element, 0 when not reported */
    uint32_t first;  /* ipset: entry index of the message's first element */
};

/* A set's elements are written from a cursor into the pending list. */
struct nlset_cursor {
    const struct nlset_entry *entries;
    uint32_t next; /* next entry to write, NLSET_NONE at the end */
};

/* Element timeout in seconds for an answer TTL (0: send no timeout attribute). */
static inline uint32_t nlset_elem_timeout_s(const struct nlset_options *opt,
                                            const struct nlset_set *s, uint32_t ttl_s)
{
    if (!s->has_timeout || !opt->ttl_timeouts) {
        return 0;
    }
    if (ttl_s < opt->timeout_min_s) {
        return opt->timeout_min_s;
    }
    return ttl_s > opt->timeout_max_s ? opt->timeout_max_s : ttl_s;
}

/* Replies: the pure part of reading them (tests/fuzz/fuzz_nlset_reply.c feeds it arbitrary bytes).
 * nlset_reply_walk hands each well-formed message of a received buffer (4-byte aligned, len
 * bytes) to cb; nlset_reply_error is true for an NLMSG_ERROR long enough to carry its code (0 for
 * an ack, else -errno or a negative ipset error) and stores the code in *err. */
typedef void nlset_reply_cb(struct nlset *n, const struct nlmsghdr *nlh, void *ctx);
void nlset_reply_walk(const void *buf, size_t len, nlset_reply_cb *cb, struct nlset *n, void *ctx);
bool nlset_reply_error(const struct nlmsghdr *nlh, int *err);

/* ipset backend (nlset_ipset.c). Writers put one message at buf (at most room bytes) and return
 * its length, or 0 when not even one element fits. */
size_t nlset_ipset_write_probe(void *buf, size_t room, uint32_t seq, const struct nlset_set *s);
/* Reads an IPSET_CMD_LIST header reply into s (family, type, timeout, state). Returns 0, or
 * ERR_MALFORMED when attributes are missing. */
int nlset_ipset_parse_probe(const struct nlmsghdr *nlh, struct nlset_set *s);
/* READY when a set of this type and family takes bare addresses, else UNUSABLE. */
enum nlset_state nlset_ipset_state(const char *type, int family);
/* One IPSET_CMD_ADD with IPSET_ATTR_ADT, elements from *cur on; *count gets their number. */
size_t nlset_ipset_write_add(void *buf, size_t room, uint32_t seq, const struct nlset_set *s,
                             const struct nlset_options *opt, struct nlset_cursor *cur,
                             uint32_t *count);
/* The 1-based failing element of an ipset batch error reply (the request echoed with
 * IPSET_ATTR_LINENO patched), or 0 when absent. */
uint32_t nlset_ipset_error_lineno(const struct nlmsghdr *nlh);
enum nlset_err_kind nlset_ipset_err_kind(int err);

/* libipset control plane (nlset_libipset.c; nlset_libipset_none.c when built without it). */
struct ipset_session;
/* Asks the kernel through libipset for s's type and family (IPSET_CMD_HEADER) and sets them in
 * s. *sess is opened on first use and closed again after an error. Returns 0, -1 with ipset's
 * own message in msg, or 1 when built without libipset (s untouched). Blocking (probes only). */
int nlset_libipset_header(struct ipset_session **sess, struct nlset_set *s, char *msg, size_t len);
void nlset_libipset_close(struct ipset_session *sess);

/* nftables backend (nlset_nft.c). */
size_t nlset_nft_write_probe(void *buf, size_t room, uint32_t seq, const struct nlset_set *s);
int nlset_nft_parse_probe(const struct nlmsghdr *nlh, struct nlset_set *s);
size_t nlset_nft_write_batch(void *buf, size_t room, uint32_t seq, bool begin);
/* One NFT_MSG_NEWSETELEM (NLM_F_CREATE, no NLM_F_EXCL) with elements from *cur on. */
size_t nlset_nft_write_add(void *buf, size_t room, uint32_t seq, const struct nlset_set *s,
                           const struct nlset_options *opt, struct nlset_cursor *cur,
                           uint32_t *count);
enum nlset_err_kind nlset_nft_err_kind(int err);
