/* upstream_ares.c - the few c-ares calls whose form changed between c-ares 1.18.1 (Debian 12) and
 * 1.34 (Debian 13, OpenWrt 24.10), each chosen once when building from ARES_VERSION so that the
 * rest of upstream sees one behaviour: servers set from a "host:port" string (1.11+, the form
 * that is not deprecated), the query cache of 1.23+ switched off, the socket functions of 1.34
 * (ares_set_socket_functions_ex) or the older ones, and ares_send_dnsrec (1.28+) or ares_send.
 * Only public c-ares API; the version checks sit at function level, never inside a body. */
#include "upstream_impl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dnsroute/sockaddr.h"

/* --- channel and server ----------------------------------------------------------------------- */

#ifdef ARES_OPT_QUERY_CACHE
/* c-ares 1.23+ caches answers by default (up to an hour): a forwarder must not, dnsroute has
 * its own cache with dnsmasq's options. qcache_max_ttl 0 disables it. */
int upstream_ares_init(ares_channel *ch, struct ares_options *o, int mask)
{
    o->qcache_max_ttl = 0;
    return ares_init_options(ch, o, mask | ARES_OPT_QUERY_CACHE);
}
#else
int upstream_ares_init(ares_channel *ch, struct ares_options *o, int mask)
{
    return ares_init_options(ch, o, mask);
}
#endif

int upstream_ares_set_server(ares_channel ch, const union sockaddr_any *addr)
{
    char ip[INET6_ADDRSTRLEN];
    char csv[INET6_ADDRSTRLEN + 16];
    bool v6 = addr->sa.sa_family == AF_INET6;
    const void *raw = v6 ? (const void *)&addr->sin6.sin6_addr : (const void *)&addr->sin.sin_addr;
    if (inet_ntop(addr->sa.sa_family, raw, ip, sizeof(ip)) == NULL) {
        return ARES_EBADSTR;
    }
    (void)snprintf(csv, sizeof(csv), v6 ? "[%s]:%u" : "%s:%u", ip, (unsigned)sockaddr_port(addr));
    return ares_set_servers_ports_csv(ch, csv);
}

/* --- socket functions ------------------------------------------------------------------------- */

static ares_socket_t on_asocket(int domain, int type, int protocol, void *data)
{
    (void)data;
    return socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
}

static int on_aclose(ares_socket_t fd, void *data)
{
    (void)data;
    return close(fd);
}

static ares_ssize_t on_arecvfrom(ares_socket_t fd, void *buf, size_t len, int flags,
                                 struct sockaddr *from, ares_socklen_t *fromlen, void *data)
{
    return upstream_chan_on_recv(data, fd, buf, len, flags, from, fromlen);
}

static int on_sock_configure(ares_socket_t fd, int type, void *data)
{
    (void)type;
    return upstream_chan_on_configure(data, fd);
}

#if ARES_VERSION >= 0x012200
/* 1.34+: ares_set_socket_functions_ex. No ARES_SOCKFUNC_FLAG_NONBLOCKING: c-ares then reads one
 * message per readiness event, which is all the receive filter hands it anyway. */
static int on_asetsockopt(ares_socket_t fd, ares_socket_opt_t opt, const void *val,
                          ares_socklen_t len, void *data)
{
    (void)data;
    switch (opt) {
    case ARES_SOCKET_OPT_SENDBUF_SIZE:
        return setsockopt(fd, SOL_SOCKET, SO_SNDBUF, val, len);
    case ARES_SOCKET_OPT_RECVBUF_SIZE:
        return setsockopt(fd, SOL_SOCKET, SO_RCVBUF, val, len);
    case ARES_SOCKET_OPT_BIND_DEVICE:
        return setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, val, len);
    default:
        errno = ENOSYS; /* TCP Fast Open: c-ares takes ENOSYS as "not supported" */
        return -1;
    }
}

static int on_aconnect(ares_socket_t fd, const struct sockaddr *sa, ares_socklen_t len,
                       unsigned int flags, void *data)
{
    (void)flags;
    (void)data;
    return connect(fd, sa, len);
}

static ares_ssize_t on_asendto(ares_socket_t fd, const void *buf, size_t len, int flags,
                               const struct sockaddr *to, ares_socklen_t tolen, void *data)
{
    (void)flags;
    (void)to;
    (void)tolen;
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
    return upstream_chan_on_send(data, fd, &iov, 1);
}

static const struct ares_socket_functions_ex chan_socket_functions = {
    .version = 1,
    .flags = 0,
    .asocket = on_asocket,
    .aclose = on_aclose,
    .asetsockopt = on_asetsockopt,
    .aconnect = on_aconnect,
    .arecvfrom = on_arecvfrom,
    .asendto = on_asendto,
};

void upstream_ares_set_socket_functions(ares_channel ch, struct upstream_chan *c)
{
    (void)ares_set_socket_functions_ex(ch, &chan_socket_functions, c);
    ares_set_socket_configure_callback(ch, on_sock_configure, c);
}
#else
static int on_aconnect(ares_socket_t fd, const struct sockaddr *sa, ares_socklen_t len, void *data)
{
    (void)data;
    return connect(fd, sa, len);
}

static ares_ssize_t on_asendv(ares_socket_t fd, const struct iovec *iov, int count, void *data)
{
    return upstream_chan_on_send(data, fd, iov, count);
}

static const struct ares_socket_functions chan_socket_functions = {
    .asocket = on_asocket,
    .aclose = on_aclose,
    .aconnect = on_aconnect,
    .arecvfrom = on_arecvfrom,
    .asendv = on_asendv,
};

void upstream_ares_set_socket_functions(ares_channel ch, struct upstream_chan *c)
{
    ares_set_socket_functions(ch, &chan_socket_functions, c);
    ares_set_socket_configure_callback(ch, on_sock_configure, c);
}
#endif

/* --- sending ---------------------------------------------------------------------------------- */

#if ARES_VERSION >= 0x011c00
/* 1.28+: ares_send_dnsrec. The parsed answer is not used: only its ID, which finds the bytes the
 * receive filter kept. */
static void on_answer_dnsrec(void *arg, ares_status_t status, size_t timeouts,
                             const ares_dns_record_t *answer)
{
    (void)timeouts;
    int wire_id = answer != NULL ? (int)ares_dns_record_get_id(answer) : -1;
    upstream_chan_answered(arg, (int)status, wire_id);
}

void upstream_ares_send(ares_channel ch, const uint8_t *query, size_t len, void *arg)
{
    ares_dns_record_t *rec = NULL;
    ares_status_t rc = ares_dns_parse(query, len, 0, &rec);
    if (rc != ARES_SUCCESS) {
        upstream_chan_answered(arg, ARES_EBADQUERY, -1);
        return;
    }
    (void)ares_send_dnsrec(ch, rec, on_answer_dnsrec, arg, NULL);
    ares_dns_record_destroy(rec);
}
#else
static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    (void)timeouts;
    int wire_id = abuf != NULL && alen >= 2 ? (int)(abuf[0] << 8 | abuf[1]) : -1;
    upstream_chan_answered(arg, status, wire_id);
}

void upstream_ares_send(ares_channel ch, const uint8_t *query, size_t len, void *arg)
{
    ares_send(ch, query, (int)len, on_answer, arg);
}
#endif
