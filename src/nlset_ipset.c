/* nlset_ipset.c - the ipset backend of nlset: builds IPSET_CMD_LIST probes and batched
 * IPSET_CMD_ADD messages (one message per set, every element in IPSET_ATTR_ADT), and reads the
 * kernel's answers. Layouts follow the kernel's ip_set_core.c; see the project reference
 * c-ares-netlink-libuv.md §2. No I/O here: nlset.c sends and receives. */
#include "nlset_impl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/ipset/ip_set.h>
#include <linux/netfilter/ipset/ip_set_hash.h>
#include <linux/netfilter/nfnetlink.h>

#include "dnsroute/err.h"

/* Protocol 7 is what ipset 7.x speaks; the kernel accepts 6 and up. */
#define NLSET_IPSET_PROTOCOL 7
/* Header (nlmsghdr, nfgenmsg, protocol, name, lineno, ADT) and the largest element
 * (DATA, IP, IPv6 address, timeout, lineno). */
#define NLSET_IPSET_HDR_MAX  112u
#define NLSET_IPSET_ELEM_MAX 44u

static struct nlmsghdr *ipset_put_header(void *buf, uint16_t cmd, uint16_t flags, uint32_t seq,
                                         uint8_t nfproto, const char *name)
{
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = (NFNL_SUBSYS_IPSET << 8) | cmd;
    nlh->nlmsg_flags = NLM_F_REQUEST | flags;
    nlh->nlmsg_seq = seq;
    struct nfgenmsg *nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
    nfg->nfgen_family = nfproto;
    nfg->version = NFNETLINK_V0;
    nfg->res_id = htons(0);
    mnl_attr_put_u8(nlh, IPSET_ATTR_PROTOCOL, NLSET_IPSET_PROTOCOL);
    mnl_attr_put_strz(nlh, IPSET_ATTR_SETNAME, name);
    return nlh;
}

size_t nlset_ipset_write_probe(void *buf, size_t room, uint32_t seq, const struct nlset_set *s)
{
    if (room < NLSET_IPSET_HDR_MAX) {
        return 0;
    }
    /* `ipset list -terse NAME`: a dump of the set's header only. */
    struct nlmsghdr *nlh =
        ipset_put_header(buf, IPSET_CMD_LIST, NLM_F_DUMP, seq, NFPROTO_IPV4, s->conf.name);
    mnl_attr_put_u32(nlh, IPSET_ATTR_FLAGS | NLA_F_NET_BYTEORDER, htonl(IPSET_FLAG_LIST_HEADER));
    return nlh->nlmsg_len;
}

/* Types whose element is a bare address; anything else (hash:ip,port, list:set...) needs more
 * than an address in each element and is refused at probe time. */
static bool ipset_type_takes_address(const char *type)
{
    static const char *const types[] = {"hash:ip", "hash:net", "bitmap:ip"};
    for (size_t i = 0; i < DNSROUTE_ARRAY_LEN(types); i++) {
        if (strcmp(type, types[i]) == 0) {
            return true;
        }
    }
    return false;
}

static int ipset_attr_cb(const struct nlattr *attr, void *data)
{
    const struct nlattr **tb = data;
    uint16_t type = mnl_attr_get_type(attr);
    if (type <= IPSET_ATTR_CMD_MAX) {
        tb[type] = attr;
    }
    return MNL_CB_OK;
}

static bool ipset_data_has_timeout(const struct nlattr *data)
{
    const struct nlattr *a;
    mnl_attr_for_each_nested(a, data)
    {
        if (mnl_attr_get_type(a) == IPSET_ATTR_TIMEOUT) {
            return true;
        }
    }
    return false;
}

enum nlset_state nlset_ipset_state(const char *type, int family)
{
    return family != 0 && ipset_type_takes_address(type) ? NLSET_STATE_READY : NLSET_STATE_UNUSABLE;
}

int nlset_ipset_parse_probe(const struct nlmsghdr *nlh, struct nlset_set *s)
{
    const struct nlattr *tb[IPSET_ATTR_CMD_MAX + 1] = {0};
    if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), ipset_attr_cb, tb) < 0 ||
        tb[IPSET_ATTR_TYPENAME] == NULL || tb[IPSET_ATTR_FAMILY] == NULL ||
        mnl_attr_validate(tb[IPSET_ATTR_TYPENAME], MNL_TYPE_NUL_STRING) < 0 ||
        mnl_attr_validate(tb[IPSET_ATTR_FAMILY], MNL_TYPE_U8) < 0) {
        return ERR_MALFORMED;
    }
    const char *type = mnl_attr_get_str(tb[IPSET_ATTR_TYPENAME]);
    uint8_t nfproto = mnl_attr_get_u8(tb[IPSET_ATTR_FAMILY]);
    (void)snprintf(s->type, sizeof(s->type), "%s", type);
    s->family = nfproto == NFPROTO_IPV4 ? AF_INET : nfproto == NFPROTO_IPV6 ? AF_INET6 : 0;
    s->has_timeout = tb[IPSET_ATTR_DATA] != NULL && ipset_data_has_timeout(tb[IPSET_ATTR_DATA]);
    s->interval = false;
    s->state = nlset_ipset_state(type, s->family);
    return 0;
}

static void ipset_put_elem(struct nlmsghdr *nlh, const struct nlset_entry *e, uint32_t timeout_s,
                           uint32_t lineno)
{
    struct nlattr *data = mnl_attr_nest_start(nlh, IPSET_ATTR_DATA);
    struct nlattr *ip = mnl_attr_nest_start(nlh, IPSET_ATTR_IP);
    if (e->family == AF_INET) {
        mnl_attr_put(nlh, IPSET_ATTR_IPADDR_IPV4 | NLA_F_NET_BYTEORDER, 4, e->addr);
    } else {
        mnl_attr_put(nlh, IPSET_ATTR_IPADDR_IPV6 | NLA_F_NET_BYTEORDER, 16, e->addr);
    }
    mnl_attr_nest_end(nlh, ip);
    if (timeout_s != 0) {
        mnl_attr_put_u32(nlh, IPSET_ATTR_TIMEOUT | NLA_F_NET_BYTEORDER, htonl(timeout_s));
    }
    /* The kernel reports the first failing element by this number (host order). */
    mnl_attr_put_u32(nlh, IPSET_ATTR_CADT_LINENO, lineno);
    mnl_attr_nest_end(nlh, data);
}

size_t nlset_ipset_write_add(void *buf, size_t room, uint32_t seq, const struct nlset_set *s,
                             const struct nlset_options *opt, struct nlset_cursor *cur,
                             uint32_t *count)
{
    *count = 0;
    if (room > NLSET_MSG_MAX) {
        room = NLSET_MSG_MAX;
    }
    if (cur->next == NLSET_NONE || room < NLSET_IPSET_HDR_MAX + NLSET_IPSET_ELEM_MAX) {
        return 0;
    }
    /* No NLM_F_EXCL: an existing element is not an error and gets its timeout refreshed.
     * NLM_F_ACK: a positive answer per message, so a silently dropped message is noticed. */
    uint8_t nfproto = s->family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;
    struct nlmsghdr *nlh =
        ipset_put_header(buf, IPSET_CMD_ADD, NLM_F_ACK, seq, nfproto, s->conf.name);
    /* LINENO is required with ADT; its value is only echoed back. */
    mnl_attr_put_u32(nlh, IPSET_ATTR_LINENO, 0);
    struct nlattr *adt = mnl_attr_nest_start(nlh, IPSET_ATTR_ADT);
    while (cur->next != NLSET_NONE && nlh->nlmsg_len + NLSET_IPSET_ELEM_MAX <= room) {
        const struct nlset_entry *e = &cur->entries[cur->next];
        ipset_put_elem(nlh, e, nlset_elem_timeout_s(opt, s, e->ttl_s), *count + 1);
        (*count)++;
        cur->next = e->next;
    }
    mnl_attr_nest_end(nlh, adt);
    return nlh->nlmsg_len;
}

uint32_t nlset_ipset_error_lineno(const struct nlmsghdr *nlh)
{
    /* ipset answers a failing ADT element with the whole request echoed after the error code
     * and IPSET_ATTR_LINENO set to the element's CADT_LINENO (ip_set_core.c call_ad()). */
    size_t min = NLMSG_HDRLEN + sizeof(struct nlmsgerr) + sizeof(struct nfgenmsg);
    if (nlh->nlmsg_len < min) {
        return 0;
    }
    const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
    const struct nlmsghdr *req = &e->msg;
    size_t avail = nlh->nlmsg_len - NLMSG_HDRLEN - offsetof(struct nlmsgerr, msg);
    if (req->nlmsg_len > avail || req->nlmsg_len < NLMSG_HDRLEN + sizeof(struct nfgenmsg)) {
        return 0;
    }
    const struct nlattr *a;
    mnl_attr_for_each(a, req, sizeof(struct nfgenmsg))
    {
        if (mnl_attr_get_type(a) == IPSET_ATTR_LINENO && mnl_attr_validate(a, MNL_TYPE_U32) == 0) {
            return mnl_attr_get_u32(a);
        }
    }
    return 0;
}

enum nlset_err_kind nlset_ipset_err_kind(int err)
{
    switch (-err) {
    case ENOENT:
        return NLSET_ERR_MISSING;
    case IPSET_ERR_PROTOCOL:
    case IPSET_ERR_INVALID_FAMILY:
    case IPSET_ERR_IPADDR_IPV4:
    case IPSET_ERR_IPADDR_IPV6:
    case IPSET_ERR_TYPE_MISMATCH:
        return NLSET_ERR_FAMILY;
    case IPSET_ERR_TIMEOUT:
        return NLSET_ERR_TIMEOUT;
    case IPSET_ERR_HASH_FULL:
        return NLSET_ERR_FULL;
    case EPERM:
        return NLSET_ERR_PERM;
    default:
        return NLSET_ERR_OTHER;
    }
}
