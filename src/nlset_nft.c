/* nlset_nft.c - the nftables backend of nlset: builds NFT_MSG_GETSET probes, the batch begin/end
 * markers and NFT_MSG_NEWSETELEM messages (one per set, many elements each), and reads the probe
 * answer. Layouts follow uapi nf_tables.h.
 *
 * Built by hand with libmnl, not with libnftnl, measured: the element messages through libnftnl
 * (an nftnl_set, one nftnl_set_elem allocated per address, nftnl_set_elems_nlmsg_build_payload)
 * cost +90..560 ns per address in bench/bench_nftnl.c (64..1 addresses per message, several
 * runs), and bench/bench_ipset.sh --nft against the hand-built build in the same run
 * (BENCH_BASELINE_BIN) measured +23 % CPU per forwarded query (median of 3 runs: 26.3 vs 21.5 us
 * on a loaded machine), where 5 % was the bound for using the library. */
#include "nlset_impl.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "dnsroute/err.h"

/* nft's datatype numbers (nftables datatype.h), stored by nft in NFTA_SET_KEY_TYPE. */
enum { NLSET_NFT_TYPE_IPADDR = 7, NLSET_NFT_TYPE_IP6ADDR = 8 };
/* Header (nlmsghdr, nfgenmsg, table, set, element list) and the largest element: key, timeout,
 * and the interval end element. */
#define NLSET_NFT_HDR_MAX  180u
#define NLSET_NFT_ELEM_MAX 84u

static struct nlmsghdr *nft_put_header(void *buf, uint16_t type, uint16_t flags, uint32_t seq,
                                       uint8_t family, uint16_t res_id)
{
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | flags;
    nlh->nlmsg_seq = seq;
    struct nfgenmsg *nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
    nfg->nfgen_family = family;
    nfg->version = NFNETLINK_V0;
    nfg->res_id = htons(res_id);
    return nlh;
}

size_t nlset_nft_write_probe(void *buf, size_t room, uint32_t seq, const struct nlset_set *s)
{
    if (room < NLSET_NFT_HDR_MAX) {
        return 0;
    }
    struct nlmsghdr *nlh = nft_put_header(buf, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETSET, 0, seq,
                                          s->conf.nf_family, 0);
    mnl_attr_put_strz(nlh, NFTA_SET_TABLE, s->conf.table);
    mnl_attr_put_strz(nlh, NFTA_SET_NAME, s->conf.name);
    return nlh->nlmsg_len;
}

static int nft_set_attr_cb(const struct nlattr *attr, void *data)
{
    const struct nlattr **tb = data;
    uint16_t type = mnl_attr_get_type(attr);
    if (type <= NFTA_SET_MAX) {
        tb[type] = attr;
    }
    return MNL_CB_OK;
}

static uint32_t nft_attr_be32(const struct nlattr *a)
{
    if (a == NULL || mnl_attr_validate(a, MNL_TYPE_U32) < 0) {
        return 0;
    }
    return ntohl(mnl_attr_get_u32(a));
}

int nlset_nft_parse_probe(const struct nlmsghdr *nlh, struct nlset_set *s)
{
    const struct nlattr *tb[NFTA_SET_MAX + 1] = {0};
    if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), nft_set_attr_cb, tb) < 0 ||
        tb[NFTA_SET_KEY_LEN] == NULL) {
        return ERR_MALFORMED;
    }
    uint32_t flags = nft_attr_be32(tb[NFTA_SET_FLAGS]);
    uint32_t key_type = nft_attr_be32(tb[NFTA_SET_KEY_TYPE]);
    uint32_t key_len = nft_attr_be32(tb[NFTA_SET_KEY_LEN]);
    s->has_timeout = (flags & NFT_SET_TIMEOUT) != 0;
    s->interval = (flags & NFT_SET_INTERVAL) != 0;
    s->family = 0;
    if (key_len == 4 && key_type == NLSET_NFT_TYPE_IPADDR) {
        s->family = AF_INET;
        (void)snprintf(s->type, sizeof(s->type), "ipv4_addr");
    } else if (key_len == 16 && key_type == NLSET_NFT_TYPE_IP6ADDR) {
        s->family = AF_INET6;
        (void)snprintf(s->type, sizeof(s->type), "ipv6_addr");
    } else {
        (void)snprintf(s->type, sizeof(s->type), "key type %u len %u", key_type, key_len);
    }
    /* Maps and object maps need data with each key; concatenations need more than an address. */
    bool plain = (flags & (NFT_SET_MAP | NFT_SET_OBJECT | NFT_SET_CONCAT)) == 0;
    s->state = s->family != 0 && plain ? NLSET_STATE_READY : NLSET_STATE_UNUSABLE;
    return 0;
}

size_t nlset_nft_write_batch(void *buf, size_t room, uint32_t seq, bool begin)
{
    if (room < NLMSG_HDRLEN + sizeof(struct nfgenmsg)) {
        return 0;
    }
    uint16_t type = begin ? NFNL_MSG_BATCH_BEGIN : NFNL_MSG_BATCH_END;
    struct nlmsghdr *nlh = nft_put_header(buf, type, 0, seq, AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
    return nlh->nlmsg_len;
}

static void nft_put_key(struct nlmsghdr *nlh, const uint8_t *addr, size_t len)
{
    struct nlattr *key = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY);
    mnl_attr_put(nlh, NFTA_DATA_VALUE, len, addr);
    mnl_attr_nest_end(nlh, key);
}

/* addr + 1 in network order; false when it wraps (the last address has no interval end). */
static bool nft_addr_next(uint8_t *out, const uint8_t *addr, size_t len)
{
    memcpy(out, addr, len);
    for (size_t i = len; i-- > 0;) {
        if (++out[i] != 0) {
            return true;
        }
    }
    return false;
}

static void nft_put_elem(struct nlmsghdr *nlh, const struct nlset_set *s,
                         const struct nlset_entry *e, uint32_t timeout_s)
{
    size_t len = e->family == AF_INET ? 4 : 16;
    struct nlattr *elem = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
    nft_put_key(nlh, e->addr, len);
    if (timeout_s != 0) {
        mnl_attr_put_u64(nlh, NFTA_SET_ELEM_TIMEOUT, htobe64((uint64_t)timeout_s * 1000));
    }
    mnl_attr_nest_end(nlh, elem);
    uint8_t end[16];
    if (!s->interval || !nft_addr_next(end, e->addr, len)) {
        return;
    }
    /* An interval set holds ranges: the address is [addr, addr + 1), as nft itself sends it. */
    elem = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
    nft_put_key(nlh, end, len);
    mnl_attr_put_u32(nlh, NFTA_SET_ELEM_FLAGS, htonl(NFT_SET_ELEM_INTERVAL_END));
    mnl_attr_nest_end(nlh, elem);
}

size_t nlset_nft_write_add(void *buf, size_t room, uint32_t seq, const struct nlset_set *s,
                           const struct nlset_options *opt, struct nlset_cursor *cur,
                           uint32_t *count)
{
    *count = 0;
    if (room > NLSET_MSG_MAX) {
        room = NLSET_MSG_MAX;
    }
    if (cur->next == NLSET_NONE || room < NLSET_NFT_HDR_MAX + NLSET_NFT_ELEM_MAX) {
        return 0;
    }
    /* NLM_F_CREATE without NLM_F_EXCL: `nft add element`, existing elements are accepted. */
    struct nlmsghdr *nlh = nft_put_header(buf, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWSETELEM,
                                          NLM_F_CREATE | NLM_F_ACK, seq, s->conf.nf_family, 0);
    mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, s->conf.table);
    mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, s->conf.name);
    struct nlattr *list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
    while (cur->next != NLSET_NONE && nlh->nlmsg_len + NLSET_NFT_ELEM_MAX <= room) {
        const struct nlset_entry *e = &cur->entries[cur->next];
        nft_put_elem(nlh, s, e, nlset_elem_timeout_s(opt, s, e->ttl_s));
        (*count)++;
        cur->next = e->next;
    }
    mnl_attr_nest_end(nlh, list);
    return nlh->nlmsg_len;
}

enum nlset_err_kind nlset_nft_err_kind(int err)
{
    switch (-err) {
    case ENOENT:
        return NLSET_ERR_MISSING;
    case EINVAL:
    case ERANGE:
        /* A key of the wrong length, or an attribute the set does not support. */
        return NLSET_ERR_FAMILY;
    case ENFILE:
    case ENOSPC:
        return NLSET_ERR_FULL;
    case EOPNOTSUPP:
        return NLSET_ERR_TIMEOUT;
    case EPERM:
        return NLSET_ERR_PERM;
    default:
        return NLSET_ERR_OTHER;
    }
}
