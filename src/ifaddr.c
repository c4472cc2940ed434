/* ifaddr.c - local interface addresses for --local-service, interface-name= and bind-dynamic. A
 * NETLINK_ROUTE socket subscribed to the IPv4 and IPv6 address groups and the link group tells the
 * loop that something changed (RTM_NEWADDR, RTM_DELADDR, RTM_NEWLINK, RTM_DELLINK); the table is
 * then read again whole with an RTM_GETADDR dump on a second socket (rtnetlink(7)). Changes are
 * rare, so a fresh dump is simpler and cannot drift, unlike applying each notification. */
#include "dnsroute/ifaddr.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <net/if.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "dnsroute/compat.h"
#include "dnsroute/log.h"
#include "dnsroute/mem.h"

/* Receive buffer: a dump message never exceeds the larger of a page and 8 KB (libmnl's
 * MNL_SOCKET_BUFFER_SIZE, which is not a constant); 32 KB covers large pages too. */
enum { IFADDR_RECV_BUF = 32768 };

struct ifaddr_entry {
    uint8_t family; /* AF_INET or AF_INET6 */
    uint8_t prefix_len;
    uint8_t addr[16];
    uint32_t flags; /* IFA_F_* (IFA_FLAGS when present) */
    uint32_t ifindex;
    char label[IF_NAMESIZE]; /* IPv4: IFA_LABEL; IPv6: the interface's name */
};

struct ifaddr_table {
    uv_poll_t poll;
    struct mnl_socket *watch;
    struct ifaddr_entry *entries;
    size_t count, cap;
    size_t pending; /* entries of a dump in progress */
    ifaddr_change_cb *on_change;
    void *on_change_arg;
};

static int on_addr_attr(const struct nlattr *attr, void *data)
{
    const struct nlattr **tb = data;
    int type = mnl_attr_get_type(attr);
    if (mnl_attr_type_valid(attr, IFA_MAX) >= 0 &&
        (type == IFA_LOCAL || type == IFA_ADDRESS || type == IFA_LABEL || type == IFA_FLAGS)) {
        tb[type] = attr;
    }
    return MNL_CB_OK;
}

/* One RTM_NEWADDR of the dump: the local address (IFA_LOCAL, else IFA_ADDRESS) and its prefix. */
static int on_addr_msg(const struct nlmsghdr *nlh, void *data)
{
    struct ifaddr_table *t = data;
    const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
    const struct nlattr *tb[IFA_MAX + 1] = {0};
    if (nlh->nlmsg_type != RTM_NEWADDR ||
        (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)) {
        return MNL_CB_OK;
    }
    mnl_attr_parse(nlh, sizeof(*ifa), on_addr_attr, tb);
    const struct nlattr *a = tb[IFA_LOCAL] != NULL ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
    size_t len = ifa->ifa_family == AF_INET ? 4 : 16;
    if (a == NULL || mnl_attr_get_payload_len(a) != len) {
        return MNL_CB_OK;
    }
    mem_grow((void **)&t->entries, &t->cap, t->pending + 1, sizeof(*t->entries));
    struct ifaddr_entry *e = &t->entries[t->pending++];
    memset(e, 0, sizeof(*e));
    e->family = ifa->ifa_family;
    e->prefix_len = ifa->ifa_prefixlen;
    memcpy(e->addr, mnl_attr_get_payload(a), len);
    e->flags = ifa->ifa_flags;
    e->ifindex = ifa->ifa_index;
    if (tb[IFA_FLAGS] != NULL && mnl_attr_get_payload_len(tb[IFA_FLAGS]) == sizeof(uint32_t)) {
        e->flags = mnl_attr_get_u32(tb[IFA_FLAGS]);
    }
    /* dnsmasq names IPv4 addresses by their label (an alias such as eth0:1 is its own name),
     * IPv6 ones by their interface. */
    if (tb[IFA_LABEL] != NULL && ifa->ifa_family == AF_INET &&
        mnl_attr_validate(tb[IFA_LABEL], MNL_TYPE_NUL_STRING) >= 0) {
        (void)snprintf(e->label, sizeof(e->label), "%s", mnl_attr_get_str(tb[IFA_LABEL]));
    } else if (if_indextoname(ifa->ifa_index, e->label) == NULL) {
        e->label[0] = '\0';
    }
    return MNL_CB_OK;
}

/* Reads every address of every interface into t (replacing what it held). */
static int ifaddr_dump(struct ifaddr_table *t)
{
    struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
    if (nl == NULL) {
        return -errno;
    }
    int rc = -EIO;
    char buf[IFADDR_RECV_BUF];
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_GETADDR;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    nlh->nlmsg_seq = (uint32_t)time(NULL);
    struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
    ifa->ifa_family = AF_UNSPEC;
    if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
        mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
        rc = -errno;
        goto close;
    }
    uint32_t portid = mnl_socket_get_portid(nl);
    t->pending = 0;
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
        if (n < 0) {
            rc = -errno;
            goto close;
        }
        int cb = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, portid, on_addr_msg, t);
        if (cb <= MNL_CB_STOP) {
            rc = cb == MNL_CB_STOP ? 0 : -errno;
            break;
        }
    }
    if (rc == 0) {
        t->count = t->pending;
    }
close:
    mnl_socket_close(nl);
    return rc;
}

static void on_watch_readable(uv_poll_t *h, int status, int events)
{
    struct ifaddr_table *t = DNSROUTE_CONTAINER_OF(h, struct ifaddr_table, poll);
    char buf[IFADDR_RECV_BUF];
    (void)events;
    if (status < 0) {
        return;
    }
    /* Drain every notification (or an ENOBUFS overrun), then read the table once. */
    while (mnl_socket_recvfrom(t->watch, buf, sizeof(buf)) > 0 || errno == ENOBUFS) {
    }
    int rc = ifaddr_dump(t);
    if (rc < 0) {
        log_warn("cannot read interface addresses: %s", strerror(-rc));
    } else if (t->on_change != NULL) {
        t->on_change(t->on_change_arg, t);
    }
}

void ifaddr_watch(struct ifaddr_table *t, ifaddr_change_cb *cb, void *arg)
{
    t->on_change = cb;
    t->on_change_arg = arg;
}

bool ifaddr_get(const struct ifaddr_table *t, size_t i, struct ifaddr_info *out)
{
    if (i >= t->count) {
        return false;
    }
    const struct ifaddr_entry *e = &t->entries[i];
    memset(out, 0, sizeof(*out));
    out->family = e->family;
    out->prefix_len = e->prefix_len;
    memcpy(out->addr, e->addr, sizeof(out->addr));
    out->ifindex = e->ifindex;
    out->tentative = (e->flags & IFA_F_TENTATIVE) != 0;
    memcpy(out->label, e->label, sizeof(out->label));
    return true;
}

static void on_poll_closed(uv_handle_t *h)
{
    struct ifaddr_table *t = DNSROUTE_CONTAINER_OF(h, struct ifaddr_table, poll);
    mnl_socket_close(t->watch);
    free(t->entries);
    free(t);
}

void ifaddr_free(struct ifaddr_table *t)
{
    if (t == NULL) {
        return;
    }
    if (uv_is_closing((uv_handle_t *)&t->poll)) {
        on_poll_closed((uv_handle_t *)&t->poll); /* closed by a loop-wide close that has run */
        return;
    }
    uv_close((uv_handle_t *)&t->poll, on_poll_closed);
}

int ifaddr_new(uv_loop_t *loop, struct ifaddr_table **out)
{
    struct ifaddr_table *t = mem_calloc(1, sizeof(*t));
    int rc;
    t->watch = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (t->watch == NULL) {
        rc = -errno;
        goto fail;
    }
    if (mnl_socket_bind(t->watch, RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_LINK,
                        MNL_SOCKET_AUTOPID) < 0) {
        rc = -errno;
        goto fail;
    }
    rc = ifaddr_dump(t); /* after subscribing: no change can fall between the two */
    if (rc < 0) {
        goto fail;
    }
    rc = uv_poll_init_socket(loop, &t->poll, mnl_socket_get_fd(t->watch));
    if (rc < 0) {
        goto fail;
    }
    rc = uv_poll_start(&t->poll, UV_READABLE, on_watch_readable);
    if (rc < 0) {
        ifaddr_free(t); /* the handle exists now: t goes in its close callback */
        return rc;
    }
    *out = t;
    return 0;
fail:
    if (t->watch != NULL) {
        mnl_socket_close(t->watch);
    }
    free(t->entries);
    free(t);
    return rc;
}

static bool same_net(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    size_t whole = bits / 8;
    if (memcmp(a, b, whole) != 0) {
        return false;
    }
    unsigned rest = bits % 8;
    return rest == 0 || ((a[whole] ^ b[whole]) & (uint8_t)(0xFF << (8 - rest))) == 0;
}

bool ifaddr_is_local(const struct ifaddr_table *t, const union sockaddr_any *peer)
{
    int family = peer->sa.sa_family;
    const uint8_t *p = family == AF_INET ? (const uint8_t *)&peer->sin.sin_addr
                                         : (const uint8_t *)&peer->sin6.sin6_addr;
    for (size_t i = 0; i < t->count; i++) {
        const struct ifaddr_entry *e = &t->entries[i];
        if (e->family == family && same_net(e->addr, p, e->prefix_len)) {
            return true;
        }
    }
    return false;
}

bool ifaddr_prefix_of(const struct ifaddr_table *t, int family, const uint8_t *addr,
                      uint8_t *prefix_len)
{
    size_t len = family == AF_INET ? 4 : 16;
    for (size_t i = 0; i < t->count; i++) {
        const struct ifaddr_entry *e = &t->entries[i];
        if (e->family == family && memcmp(e->addr, addr, len) == 0) {
            *prefix_len = e->prefix_len;
            return true;
        }
    }
    return false;
}

size_t ifaddr_count(const struct ifaddr_table *t)
{
    return t->count;
}

size_t ifaddr_lookup_name(const struct ifaddr_table *t, const char *ifname,
                          struct localname_ifaddr *out, size_t max)
{
    size_t n = 0;
    /* dnsmasq prepends each address it enumerates: the newest first. */
    for (size_t i = t->count; i-- > 0 && n < max;) {
        const struct ifaddr_entry *e = &t->entries[i];
        bool link_local =
            e->family == AF_INET6 && e->addr[0] == 0xfe && (e->addr[1] & 0xc0) == 0x80;
        if (link_local || strncmp(e->label, ifname, sizeof(e->label)) != 0) {
            continue;
        }
        struct localname_ifaddr *o = &out[n++];
        memset(o, 0, sizeof(*o));
        o->family = e->family;
        memcpy(o->addr, e->addr, sizeof(o->addr));
        /* Privacy, deprecated and tentative IPv6 addresses answer reverse queries only. */
        o->rev_only =
            e->family == AF_INET6 && (!(e->flags & IFA_F_PERMANENT) ||
                                      (e->flags & (IFA_F_DEPRECATED | IFA_F_TENTATIVE)) != 0);
    }
    return n;
}
