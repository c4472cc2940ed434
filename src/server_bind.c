/* server_bind.c - listeners bound per interface address, as dnsmasq's bind-interfaces and
 * bind-dynamic (network.c enumerate_interfaces, create_bound_listeners): which addresses are
 * allowed (iface_check: interface= names, lo with them, listen-address= addresses,
 * except-interface= names), read from the rtnetlink interface table (ifaddr.h). An IPv6 address
 * still tentative (duplicate address detection, IFA_F_TENTATIVE) cannot be bound yet: it is bound
 * when the kernel reports it usable. Under bind-dynamic the listeners follow every change: new
 * addresses are bound, vanished ones closed (a UDP socket once its queries are answered), and a
 * query must arrive on an allowed interface (dnsmasq checks the arrival interface whenever it
 * does not run bind-interfaces). */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "dnsroute/err.h"
#include "dnsroute/log.h"
#include "dnsroute/mem.h"
#include "server_impl.h"

/* A trailing '*' matches any rest, as dnsmasq's wildcard_match (interface=eth*). */
static bool bind_name_in(const char (*names)[IF_NAMESIZE], size_t count, const char *name)
{
    for (size_t i = 0; i < count; i++) {
        size_t n = strlen(names[i]);
        if (n > 0 && names[i][n - 1] == '*' ? strncmp(names[i], name, n - 1) == 0
                                            : strcmp(names[i], name) == 0) {
            return true;
        }
    }
    return false;
}

static void bind_sockaddr(const struct ifaddr_info *e, uint16_t port, union sockaddr_any *a)
{
    memset(a, 0, sizeof(*a));
    if (e->family == AF_INET) {
        a->sin.sin_family = AF_INET;
        memcpy(&a->sin.sin_addr, e->addr, 4);
    } else {
        a->sin6.sin6_family = AF_INET6;
        memcpy(&a->sin6.sin6_addr, e->addr, 16);
        if (IN6_IS_ADDR_LINKLOCAL(&a->sin6.sin6_addr)) {
            a->sin6.sin6_scope_id = e->ifindex; /* a link-local address needs its link */
        }
    }
    sockaddr_set_port(a, port);
}

static bool bind_addr_in(const union sockaddr_any *list, size_t count, const union sockaddr_any *a)
{
    for (size_t i = 0; i < count; i++) {
        if (sockaddr_equal_ip(&list[i], a)) {
            return true;
        }
    }
    return false;
}

/* dnsmasq iface_check: with interface= or listen-address= given, an address is allowed when its
 * interface (its label, for IPv4) is named (lo always is, with interface=) or it is a
 * listen-address; except-interface= removes an interface unless the address was named. */
static bool bind_allowed(const struct server_follow *f, const struct ifaddr_info *e,
                         const union sockaddr_any *a)
{
    union sockaddr_any plain = *a;
    plain.sin6.sin6_scope_id = e->family == AF_INET6 ? 0 : plain.sin6.sin6_scope_id;
    bool named = bind_addr_in(f->listen, f->listen_count, &plain);
    bool ok = named || (f->name_count == 0 && f->listen_count == 0) ||
              bind_name_in(f->names, f->name_count, e->label) ||
              (f->name_count != 0 && strcmp(e->label, "lo") == 0);
    return ok && (named || !bind_name_in(f->except, f->except_count, e->label));
}

static struct server_bound *bind_find(struct server_follow *f, const union sockaddr_any *a)
{
    for (size_t i = 0; i < f->bound_count; i++) {
        if (sockaddr_equal_ip(&f->bound[i].addr, a)) {
            return &f->bound[i];
        }
    }
    return NULL;
}

/* Opens the UDP socket (and TCP listener) of a; 0 or a negative errno with errbuf set. */
static int bind_open(struct server *s, const union sockaddr_any *a, uint32_t ifindex, char *errbuf,
                     size_t errlen)
{
    struct server_follow *f = s->follow;
    int rc = server_udp_open(s, a, false, errbuf, errlen);
    if (rc < 0) {
        return rc;
    }
    struct server_udp_sock *u = s->udp; /* server_udp_open puts the new socket first */
    u->any_if = ifindex == 0 || bind_addr_in(f->listen, f->listen_count, a);
    struct server_tcp_listener *l = NULL;
    if (f->tcp) {
        rc = server_tcp_open(s, a, errbuf, errlen);
        l = s->tcp; /* likewise */
        if (rc < 0) {
            server_tcp_close_listener(s, l);
            server_udp_retire(s, u);
            return rc;
        }
    }
    mem_grow((void **)&f->bound, &f->bound_cap, f->bound_count + 1, sizeof(*f->bound));
    f->bound[f->bound_count++] = (struct server_bound){*a, ifindex, u, l, true};
    return 0;
}

static void bind_log(const char *what, const union sockaddr_any *a, uint32_t ifindex)
{
    char text[SOCKADDR_TEXT_MAX], name[IF_NAMESIZE] = "";
    sockaddr_format(a, false, text, sizeof(text));
    if (ifindex == 0 || if_indextoname(ifindex, name) == NULL) {
        log_debug("%s %s port %u", what, text, (unsigned)sockaddr_port(a));
    } else {
        log_debug("%s %s(#%u): %s port %u", what, name, (unsigned)ifindex, text,
                  (unsigned)sockaddr_port(a));
    }
}

/* Binds a unless bound. dienow (start-up): a failure other than a missing address fails the
 * start; later it is logged (dnsmasq make_sock). Returns 0 or the error. */
static int bind_want(struct server *s, const union sockaddr_any *a, uint32_t ifindex, bool dienow,
                     char *errbuf, size_t errlen)
{
    struct server_bound *b = bind_find(s->follow, a);
    if (b != NULL) {
        b->seen = true;
        return 0;
    }
    int rc = bind_open(s, a, ifindex, errbuf, errlen);
    if (rc == 0) {
        bind_log("listening on", a, ifindex);
        return 0;
    }
    if (rc == -EADDRNOTAVAIL && s->follow->dynamic) {
        return 0; /* bound when the address appears */
    }
    if (!dienow) {
        log_warn("%s", errbuf);
        return 0;
    }
    return rc;
}

/* Closes the listeners of addresses no longer wanted (bind-dynamic: dnsmasq release_listener). */
static void bind_release_unseen(struct server *s)
{
    struct server_follow *f = s->follow;
    for (size_t i = 0; i < f->bound_count;) {
        struct server_bound *b = &f->bound[i];
        if (b->seen || b->ifindex == 0) {
            i++;
            continue;
        }
        bind_log("stopped listening on", &b->addr, b->ifindex);
        if (b->tcp != NULL) {
            server_tcp_close_listener(s, b->tcp);
        }
        server_udp_retire(s, b->udp);
        f->bound[i] = f->bound[--f->bound_count];
    }
}

static void bind_allow_if(struct server_follow *f, uint32_t ifindex)
{
    for (size_t i = 0; i < f->allowed_if_count; i++) {
        if (f->allowed_if[i] == ifindex) {
            return;
        }
    }
    mem_grow((void **)&f->allowed_if, &f->allowed_if_cap, f->allowed_if_count + 1,
             sizeof(*f->allowed_if));
    f->allowed_if[f->allowed_if_count++] = ifindex;
}

/* Not dynamic: was a tentative at start (and is now taken off the list)? */
static bool bind_was_waiting(struct server_follow *f, const union sockaddr_any *a)
{
    for (size_t i = 0; i < f->waiting_count; i++) {
        if (sockaddr_equal_ip(&f->waiting[i], a)) {
            f->waiting[i] = f->waiting[--f->waiting_count];
            return true;
        }
    }
    return false;
}

/* One pass over the interface table: binds what is allowed and usable, and under bind-dynamic
 * releases what went away. At start (dienow) tentative addresses are remembered instead. */
static int bind_sync(struct server *s, bool dienow, char *errbuf, size_t errlen)
{
    struct server_follow *f = s->follow;
    for (size_t i = 0; i < f->bound_count; i++) {
        f->bound[i].seen = false;
    }
    f->allowed_if_count = 0;
    struct ifaddr_info e;
    for (size_t i = 0; ifaddr_get(f->ifaddrs, i, &e); i++) {
        union sockaddr_any a;
        bind_sockaddr(&e, s->port, &a);
        if (!bind_allowed(f, &e, &a)) {
            continue;
        }
        if (strcmp(e.label, "lo") == 0 || bind_name_in(f->names, f->name_count, e.label) ||
            f->name_count == 0) {
            bind_allow_if(f, e.ifindex);
        }
        if (e.tentative) {
            if (dienow && !f->dynamic) {
                mem_grow((void **)&f->waiting, &f->waiting_cap, f->waiting_count + 1,
                         sizeof(*f->waiting));
                f->waiting[f->waiting_count++] = a;
            }
            continue;
        }
        if (!dienow && !f->dynamic && !bind_was_waiting(f, &a)) {
            continue; /* bind-interfaces: only the addresses that were tentative at start */
        }
        int rc = bind_want(s, &a, e.ifindex, dienow, errbuf, errlen);
        if (rc < 0) {
            return rc;
        }
    }
    if (f->dynamic) {
        bind_release_unseen(s);
    }
    return 0;
}

static int bind_listen_addrs(struct server *s, bool dienow, char *errbuf, size_t errlen);

static void on_interfaces_changed(void *arg, const struct ifaddr_table *t)
{
    struct server *s = arg;
    (void)t;
    char errbuf[256];
    (void)bind_sync(s, false, errbuf, sizeof(errbuf));
    if (s->follow->dynamic) {
        (void)bind_listen_addrs(s, false, errbuf, sizeof(errbuf));
    }
    if (!s->follow->dynamic && s->follow->waiting_count == 0) {
        ifaddr_watch(s->follow->ifaddrs, NULL, NULL); /* every tentative address is bound */
    }
}

static void *bind_copy(const void *src, size_t count, size_t size)
{
    if (count == 0) {
        return NULL;
    }
    void *p = mem_alloc(count * size);
    memcpy(p, src, count * size);
    return p;
}

static struct server_follow *bind_follow_new(const struct conf *conf, bool tcp)
{
    struct server_follow *f = mem_calloc(1, sizeof(*f));
    f->dynamic = conf->bind_dynamic;
    f->tcp = tcp;
    f->names = bind_copy(conf->interfaces, conf->interface_count, sizeof(*conf->interfaces));
    f->name_count = conf->interface_count;
    f->except = bind_copy(conf->except_interfaces, conf->except_interface_count,
                          sizeof(*conf->except_interfaces));
    f->except_count = conf->except_interface_count;
    f->listen = bind_copy(conf->listen_addrs, conf->listen_addr_count, sizeof(*conf->listen_addrs));
    f->listen_count = conf->listen_addr_count;
    return f;
}

/* listen-address= addresses on no interface (127.0.1.1 is served by lo's 127/8): bound for good
 * (dnsmasq: a listener without an interface). bind-dynamic tries them again on each change. */
static int bind_listen_addrs(struct server *s, bool dienow, char *errbuf, size_t errlen)
{
    struct server_follow *f = s->follow;
    for (size_t i = 0; i < f->listen_count; i++) {
        union sockaddr_any a = f->listen[i];
        sockaddr_set_port(&a, s->port);
        if (bind_find(f, &a) != NULL) {
            continue;
        }
        int rc = bind_want(s, &a, 0, dienow, errbuf, errlen);
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

int server_bind_interfaces(struct server *s, const struct conf *conf, bool tcp, char *errbuf,
                           size_t errlen)
{
    s->follow = bind_follow_new(conf, tcp);
    int rc = ifaddr_new(s->loop, &s->follow->ifaddrs);
    if (rc < 0) {
        (void)snprintf(errbuf, errlen, "failed to find list of interfaces: %s", err_str(rc));
        return rc;
    }
    rc = bind_sync(s, true, errbuf, errlen);
    if (rc == 0) {
        rc = bind_listen_addrs(s, true, errbuf, errlen);
    }
    if (rc == 0 && (s->follow->dynamic || s->follow->waiting_count != 0)) {
        ifaddr_watch(s->follow->ifaddrs, on_interfaces_changed, s);
    } else {
        ifaddr_free(s->follow->ifaddrs); /* bound once for good: nothing to follow */
        s->follow->ifaddrs = NULL;
    }
    return rc;
}

bool server_bind_arrival_ok(const struct server *s, const struct server_udp_sock *u, int ifindex)
{
    const struct server_follow *f = s->follow;
    if (!f->dynamic || u->any_if) {
        return true;
    }
    for (size_t i = 0; i < f->allowed_if_count; i++) {
        if (f->allowed_if[i] == (uint32_t)ifindex) {
            return true;
        }
    }
    return false;
}

bool server_binds_later(const struct server *s)
{
    return s->follow != NULL && (s->follow->dynamic || s->follow->waiting_count != 0);
}

void server_bind_free(struct server *s)
{
    struct server_follow *f = s->follow;
    if (f == NULL) {
        return;
    }
    ifaddr_free(f->ifaddrs);
    free(f->names);
    free(f->except);
    free(f->listen);
    free(f->waiting);
    free(f->bound);
    free(f->allowed_if);
    free(f);
    s->follow = NULL;
}
