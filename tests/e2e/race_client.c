/* race_client.c - proves "the address is in the set before the client has the answer" (issue 4).
 * Keeps many DNS queries in flight from many UDP sockets (or pipelined TCP connections) and, the
 * instant each answer arrives, asks the kernel over netlink whether every answered address is in
 * the configured sets (IPSET_CMD_TEST for ipsets, NFT_MSG_GETSETELEM for nftables sets). An address
 * the kernel does not know yet is a "missing" one: the forwarder answered before it added the
 * address.
 *
 * Test-only program: libc, POSIX and libmnl, no dnsroute code, so a bug in the daemon cannot
 * hide in the checker too. Output: one line of key=value counters on stdout. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/ipset/ip_set.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <poll.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { RACE_SOCKS_MAX = 1024, RACE_WINDOW_MAX = 64, RACE_SPECS_MAX = 8, RACE_ADDRS_MAX = 64 };
enum { RACE_REPORT_MAX = 5, RACE_NL_BUF = 8192 };

/* One set to check: an ipset, or an nftables set (family, table, set). */
struct race_spec {
    bool nft;
    int family;        /* AF_INET or AF_INET6: which answers are checked against this set */
    uint8_t nf_family; /* nft table family (NFPROTO_*) */
    char table[64];
    char name[64];
    char text[160];
};

struct race_query {
    char name[256];
    uint16_t qtype; /* 1 (A) or 28 (AAAA) */
};

struct race_slot {
    bool busy;
    uint16_t id;
    uint32_t query;
    uint64_t sent_ms;
};

struct race_sock {
    int fd;
    bool dead; /* TCP: the server closed the connection */
    struct race_slot slots[RACE_WINDOW_MAX];
    size_t rlen; /* TCP: bytes of an incomplete frame in rbuf */
    uint8_t rbuf[65536 + 2];
};

struct race_counts {
    uint64_t sent, answers, addresses, checks, missing, noaddr, rcode_other, timeouts, errors;
};

struct race {
    struct sockaddr_storage server;
    socklen_t server_len;
    struct race_query *queries;
    uint32_t query_count, next_query, done;
    unsigned sock_count, window, timeout_ms, total_s;
    bool tcp; /* one pipelined TCP connection per "socket" (RFC 7766 framing) */
    struct race_sock *socks;
    struct race_spec specs[RACE_SPECS_MAX];
    unsigned spec_count;
    struct mnl_socket *nl;
    uint32_t nl_seq;
    uint16_t next_id;
    unsigned reported;
    struct race_counts n;
};

static uint64_t race_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void race_die(const char *what, const char *arg)
{
    (void)fprintf(stderr, "race_client: %s: %s\n", what, arg);
    exit(2);
}

/* ---- Command line. */

static void race_parse_server(struct race *r, const char *text)
{
    char addr[128];
    unsigned port = 53;
    (void)snprintf(addr, sizeof(addr), "%s", text);
    char *hash = strchr(addr, '#');
    if (hash != NULL) {
        *hash = '\0';
        port = (unsigned)strtoul(hash + 1, NULL, 10);
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)&r->server;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&r->server;
    memset(&r->server, 0, sizeof(r->server));
    if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        r->server_len = sizeof(*s4);
    } else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        r->server_len = sizeof(*s6);
    } else {
        race_die("bad server address", text);
    }
}

/* SPEC: ipset:NAME or nft:FAMILY:TABLE:SET, for the addresses of family af. */
static void race_parse_spec(struct race *r, int af, const char *text)
{
    if (r->spec_count == RACE_SPECS_MAX) {
        race_die("too many sets", text);
    }
    struct race_spec *s = &r->specs[r->spec_count++];
    memset(s, 0, sizeof(*s));
    s->family = af;
    (void)snprintf(s->text, sizeof(s->text), "%s", text);
    if (strncmp(text, "ipset:", 6) == 0 && strlen(text + 6) < IPSET_MAXNAMELEN) {
        (void)snprintf(s->name, sizeof(s->name), "%s", text + 6);
        return;
    }
    char fam[16];
    if (sscanf(text, "nft:%15[^:]:%63[^:]:%63s", fam, s->table, s->name) != 3) {
        race_die("bad set spec (ipset:NAME or nft:FAMILY:TABLE:SET)", text);
    }
    s->nft = true;
    if (strcmp(fam, "ip") == 0) {
        s->nf_family = NFPROTO_IPV4;
    } else if (strcmp(fam, "ip6") == 0) {
        s->nf_family = NFPROTO_IPV6;
    } else if (strcmp(fam, "inet") == 0) {
        s->nf_family = NFPROTO_INET;
    } else {
        race_die("bad nft family", text);
    }
}

/* Query file: "name [A|AAAA]" per line. */
static void race_read_queries(struct race *r, const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        race_die("cannot open", path);
    }
    size_t cap = 0;
    char line[512];
    while (fgets(line, sizeof(line), f) != NULL) {
        char name[256], type[16] = "A";
        if (sscanf(line, "%255s %15s", name, type) < 1 || name[0] == '#') {
            continue;
        }
        if (r->query_count == cap) {
            cap = cap ? cap * 2 : 1024;
            r->queries = realloc(r->queries, cap * sizeof(*r->queries));
            if (r->queries == NULL) {
                race_die("allocation", "out of memory");
            }
        }
        struct race_query *q = &r->queries[r->query_count++];
        (void)snprintf(q->name, sizeof(q->name), "%s", name);
        q->qtype = strcmp(type, "AAAA") == 0 ? 28 : strcmp(type, "A") == 0 ? 1 : 0;
        if (q->qtype == 0) {
            race_die("unsupported type", type);
        }
    }
    (void)fclose(f);
}

static void race_usage(void)
{
    (void)fprintf(stderr,
                  "usage: race_client -s ADDR[#PORT] -f QUERYFILE [-c SOCKETS] [-w WINDOW]\n"
                  "                   [-t TIMEOUT_MS] [-T TOTAL_S] [-P udp|tcp]\n"
                  "                   [-4 SPEC]... [-6 SPEC]...\n"
                  "  SPEC: ipset:NAME | nft:ip|ip6|inet:TABLE:SET\n"
                  "  QUERYFILE: 'name [A|AAAA]' per line; each line is asked once.\n");
    exit(2);
}

static void race_parse_args(struct race *r, int argc, char **argv)
{
    const char *server = NULL, *file = NULL;
    int opt;
    r->sock_count = 32;
    r->window = 4;
    r->timeout_ms = 2000;
    r->total_s = 40;
    while ((opt = getopt(argc, argv, "s:f:c:w:t:T:4:6:P:")) != -1) {
        switch (opt) {
        case 's':
            server = optarg;
            break;
        case 'f':
            file = optarg;
            break;
        case 'c':
            r->sock_count = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'w':
            r->window = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 't':
            r->timeout_ms = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'T':
            r->total_s = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'P':
            if (strcmp(optarg, "tcp") != 0 && strcmp(optarg, "udp") != 0) {
                race_usage();
            }
            r->tcp = optarg[0] == 't';
            break;
        case '4':
            race_parse_spec(r, AF_INET, optarg);
            break;
        case '6':
            race_parse_spec(r, AF_INET6, optarg);
            break;
        default:
            race_usage();
        }
    }
    if (server == NULL || file == NULL || r->sock_count == 0 || r->sock_count > RACE_SOCKS_MAX ||
        r->window == 0 || r->window > RACE_WINDOW_MAX) {
        race_usage();
    }
    race_parse_server(r, server);
    race_read_queries(r, file);
}

/* ---- Netlink membership tests. */

static struct nlmsghdr *race_nl_start(struct race *r, char *buf, uint16_t type, uint8_t family)
{
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    nlh->nlmsg_seq = ++r->nl_seq;
    struct nfgenmsg *nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
    nfg->nfgen_family = family;
    nfg->version = NFNETLINK_V0;
    nfg->res_id = htons(0);
    return nlh;
}

/* Sends the request and reads until its ACK/error. Returns 0 (the kernel said yes), or the
 * kernel's negative error. */
static int race_nl_talk(struct race *r, struct nlmsghdr *nlh)
{
    if (mnl_socket_sendto(r->nl, nlh, nlh->nlmsg_len) < 0) {
        return -errno;
    }
    alignas(struct nlmsghdr) char buf[RACE_NL_BUF];
    for (;;) {
        ssize_t len = mnl_socket_recvfrom(r->nl, buf, sizeof(buf));
        if (len < 0) {
            return -errno;
        }
        const struct nlmsghdr *m = (const void *)buf; /* buf is aligned for nlmsghdr */
        int left = (int)len;
        for (; mnl_nlmsg_ok(m, left); m = mnl_nlmsg_next(m, &left)) {
            if (m->nlmsg_seq != nlh->nlmsg_seq || m->nlmsg_type != NLMSG_ERROR) {
                continue; /* the GETSETELEM answer itself: the ACK follows */
            }
            const struct nlmsgerr *e = mnl_nlmsg_get_payload(m);
            return e->error;
        }
    }
}

/* Returns 1 when addr is in the set, 0 when it is not, or a negative error. */
static int race_test_ipset(struct race *r, const struct race_spec *s, int af, const uint8_t *addr)
{
    alignas(struct nlmsghdr) char buf[RACE_NL_BUF];
    struct nlmsghdr *nlh =
        race_nl_start(r, buf, (NFNL_SUBSYS_IPSET << 8) | IPSET_CMD_TEST, (uint8_t)af);
    mnl_attr_put_u8(nlh, IPSET_ATTR_PROTOCOL, IPSET_PROTOCOL);
    mnl_attr_put_strz(nlh, IPSET_ATTR_SETNAME, s->name);
    struct nlattr *data = mnl_attr_nest_start(nlh, IPSET_ATTR_DATA);
    struct nlattr *ip = mnl_attr_nest_start(nlh, IPSET_ATTR_IP);
    if (af == AF_INET) {
        mnl_attr_put(nlh, IPSET_ATTR_IPADDR_IPV4 | NLA_F_NET_BYTEORDER, 4, addr);
    } else {
        mnl_attr_put(nlh, IPSET_ATTR_IPADDR_IPV6 | NLA_F_NET_BYTEORDER, 16, addr);
    }
    mnl_attr_nest_end(nlh, ip);
    mnl_attr_nest_end(nlh, data);
    int rc = race_nl_talk(r, nlh);
    return rc == 0 ? 1 : rc == -IPSET_ERR_EXIST ? 0 : rc;
}

static int race_test_nft(struct race *r, const struct race_spec *s, int af, const uint8_t *addr)
{
    alignas(struct nlmsghdr) char buf[RACE_NL_BUF];
    struct nlmsghdr *nlh =
        race_nl_start(r, buf, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETSETELEM, s->nf_family);
    mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, s->table);
    mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, s->name);
    struct nlattr *list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
    struct nlattr *elem = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
    struct nlattr *key = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY);
    mnl_attr_put(nlh, NFTA_DATA_VALUE, af == AF_INET ? 4 : 16, addr);
    mnl_attr_nest_end(nlh, key);
    mnl_attr_nest_end(nlh, elem);
    mnl_attr_nest_end(nlh, list);
    int rc = race_nl_talk(r, nlh);
    /* ENOENT also means "no such table or set": the test script checks those exist. */
    return rc == 0 ? 1 : rc == -ENOENT ? 0 : rc;
}

static void race_check_addr(struct race *r, const struct race_query *q, int af, const uint8_t *addr)
{
    r->n.addresses++;
    for (unsigned i = 0; i < r->spec_count; i++) {
        const struct race_spec *s = &r->specs[i];
        if (s->family != af) {
            continue;
        }
        int rc = s->nft ? race_test_nft(r, s, af, addr) : race_test_ipset(r, s, af, addr);
        r->n.checks++;
        if (rc == 1) {
            continue;
        }
        char text[INET6_ADDRSTRLEN];
        inet_ntop(af, addr, text, sizeof(text));
        if (rc == 0) {
            r->n.missing++;
        } else {
            r->n.errors++;
        }
        if (r->reported++ < RACE_REPORT_MAX) {
            (void)fprintf(stderr, "race_client: %s %s %s: %s\n", q->name, text, s->text,
                          rc == 0 ? "missing when the answer arrived" : strerror(-rc));
        }
    }
}

/* ---- DNS. */

static size_t race_write_query(const struct race_query *q, uint16_t id, uint8_t *out)
{
    uint8_t *p = out;
    const uint8_t hdr[12] = {(uint8_t)(id >> 8), (uint8_t)id, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
    memcpy(p, hdr, sizeof(hdr));
    p += sizeof(hdr);
    const char *label = q->name;
    while (*label != '\0') {
        const char *dot = strchr(label, '.');
        size_t len = dot != NULL ? (size_t)(dot - label) : strlen(label);
        if (len == 0 || len > 63) {
            break;
        }
        *p++ = (uint8_t)len;
        memcpy(p, label, len);
        p += len;
        label += len + (dot != NULL);
    }
    *p++ = 0;
    *p++ = (uint8_t)(q->qtype >> 8);
    *p++ = (uint8_t)q->qtype;
    *p++ = 0;
    *p++ = 1;
    return (size_t)(p - out);
}

/* Moves past a (possibly compressed) name; returns the new offset, or 0 when malformed. */
static size_t race_skip_name(const uint8_t *pkt, size_t len, size_t off)
{
    while (off < len) {
        uint8_t b = pkt[off];
        if (b == 0) {
            return off + 1;
        }
        if ((b & 0xc0) == 0xc0) {
            return off + 2 <= len ? off + 2 : 0;
        }
        if (b & 0xc0) {
            return 0;
        }
        off += 1u + b;
    }
    return 0;
}

static void race_handle_answer(struct race *r, const struct race_query *q, const uint8_t *pkt,
                               size_t len)
{
    unsigned rcode = pkt[3] & 0x0f;
    uint16_t qd = (uint16_t)(pkt[4] << 8 | pkt[5]), an = (uint16_t)(pkt[6] << 8 | pkt[7]);
    if (rcode != 0 || (pkt[2] & 0x02) || qd != 1) {
        r->n.rcode_other++;
        return;
    }
    r->n.answers++;
    size_t off = race_skip_name(pkt, len, 12);
    off = off != 0 ? off + 4 : 0;
    unsigned found = 0;
    for (uint16_t i = 0; i < an && off != 0 && off + 10 <= len && found < RACE_ADDRS_MAX; i++) {
        off = race_skip_name(pkt, len, off);
        if (off == 0 || off + 10 > len) {
            break;
        }
        uint16_t type = (uint16_t)(pkt[off] << 8 | pkt[off + 1]);
        uint16_t rdlen = (uint16_t)(pkt[off + 8] << 8 | pkt[off + 9]);
        off += 10;
        if (off + rdlen > len) {
            break;
        }
        if (type == q->qtype && ((type == 1 && rdlen == 4) || (type == 28 && rdlen == 16))) {
            race_check_addr(r, q, type == 1 ? AF_INET : AF_INET6, pkt + off);
            found++;
        }
        off += rdlen;
    }
    if (found == 0) {
        r->n.noaddr++;
    }
}

/* ---- Sockets and the loop. */

static void race_send_next(struct race *r, struct race_sock *s, struct race_slot *slot)
{
    if (r->next_query == r->query_count) {
        return;
    }
    if (s->dead) {
        return; /* the other connections take the remaining queries */
    }
    uint8_t frame[2 + 512], *pkt = frame + 2;
    slot->query = r->next_query++;
    slot->id = r->next_id++;
    size_t len = race_write_query(&r->queries[slot->query], slot->id, pkt);
    slot->busy = true;
    slot->sent_ms = race_now_ms();
    r->n.sent++;
    ssize_t sent;
    if (r->tcp) {
        frame[0] = (uint8_t)(len >> 8);
        frame[1] = (uint8_t)len;
        sent = send(s->fd, frame, len + 2, MSG_NOSIGNAL);
    } else {
        sent = sendto(s->fd, pkt, len, 0, (const struct sockaddr *)&r->server, r->server_len);
    }
    if (sent < 0) {
        r->n.errors++;
        slot->busy = false;
        r->done++;
    }
}

/* One DNS message from the server: matched to its slot by ID, checked, slot reused. */
static void race_on_message(struct race *r, struct race_sock *s, const uint8_t *pkt, size_t len)
{
    if (len < 12) {
        return;
    }
    uint16_t id = (uint16_t)(pkt[0] << 8 | pkt[1]);
    for (unsigned i = 0; i < r->window; i++) {
        struct race_slot *slot = &s->slots[i];
        if (slot->busy && slot->id == id && (pkt[2] & 0x80)) {
            race_handle_answer(r, &r->queries[slot->query], pkt, len);
            slot->busy = false;
            r->done++;
            race_send_next(r, s, slot);
            return;
        }
    }
}

static void race_read_udp(struct race *r, struct race_sock *s)
{
    uint8_t pkt[4096];
    for (;;) {
        ssize_t len = recv(s->fd, pkt, sizeof(pkt), MSG_DONTWAIT);
        if (len < 0) {
            return;
        }
        race_on_message(r, s, pkt, (size_t)len);
    }
}

/* TCP: each message is checked as soon as its last byte is read. */
static void race_read_tcp(struct race *r, struct race_sock *s)
{
    ssize_t got = recv(s->fd, s->rbuf + s->rlen, sizeof(s->rbuf) - s->rlen, MSG_DONTWAIT);
    if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
        s->dead = true; /* its busy slots time out */
        return;
    }
    if (got < 0) {
        return;
    }
    s->rlen += (size_t)got;
    size_t off = 0;
    while (s->rlen - off >= 2) {
        size_t len = (size_t)s->rbuf[off] << 8 | s->rbuf[off + 1];
        if (s->rlen - off < 2 + len) {
            break;
        }
        race_on_message(r, s, s->rbuf + off + 2, len);
        off += 2 + len;
    }
    memmove(s->rbuf, s->rbuf + off, s->rlen - off);
    s->rlen -= off;
}

static void race_expire(struct race *r, uint64_t now)
{
    for (unsigned k = 0; k < r->sock_count; k++) {
        for (unsigned i = 0; i < r->window; i++) {
            struct race_slot *slot = &r->socks[k].slots[i];
            if (slot->busy && now - slot->sent_ms > r->timeout_ms) {
                slot->busy = false;
                r->n.timeouts++;
                r->done++;
                race_send_next(r, &r->socks[k], slot);
            }
        }
    }
}

static void race_open_socks(struct race *r, struct pollfd *pfd)
{
    for (unsigned k = 0; k < r->sock_count; k++) {
        int type = r->tcp ? SOCK_STREAM : SOCK_DGRAM;
        r->socks[k].fd = socket(r->server.ss_family, type | SOCK_CLOEXEC, 0);
        if (r->socks[k].fd < 0) {
            race_die("socket", strerror(errno));
        }
        if (r->tcp &&
            connect(r->socks[k].fd, (const struct sockaddr *)&r->server, r->server_len) < 0) {
            race_die("connect", strerror(errno));
        }
        pfd[k].fd = r->socks[k].fd;
        pfd[k].events = POLLIN;
    }
}

static void race_run(struct race *r)
{
    struct pollfd *pfd = calloc(r->sock_count, sizeof(*pfd));
    r->socks = calloc(r->sock_count, sizeof(*r->socks));
    if (pfd == NULL || r->socks == NULL) {
        race_die("allocation", "out of memory");
    }
    race_open_socks(r, pfd);
    r->next_id = (uint16_t)getpid();
    for (unsigned i = 0; i < r->window; i++) {
        for (unsigned k = 0; k < r->sock_count; k++) {
            race_send_next(r, &r->socks[k], &r->socks[k].slots[i]);
        }
    }
    uint64_t deadline = race_now_ms() + (uint64_t)r->total_s * 1000u;
    while (r->done < r->query_count && race_now_ms() < deadline) {
        int n = poll(pfd, r->sock_count, 20);
        for (unsigned k = 0; n > 0 && k < r->sock_count; k++) {
            if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR))) {
                continue;
            }
            if (r->tcp) {
                race_read_tcp(r, &r->socks[k]);
            } else {
                race_read_udp(r, &r->socks[k]);
            }
            pfd[k].fd = r->socks[k].dead ? -1 : pfd[k].fd; /* poll ignores negative fds */
        }
        race_expire(r, race_now_ms());
    }
    for (unsigned k = 0; k < r->sock_count; k++) {
        close(r->socks[k].fd);
    }
    free(pfd);
    free(r->socks);
}

int main(int argc, char **argv)
{
    struct race r;
    memset(&r, 0, sizeof(r));
    race_parse_args(&r, argc, argv);
    r.nl = mnl_socket_open(NETLINK_NETFILTER);
    if (r.nl == NULL || mnl_socket_bind(r.nl, 0, MNL_SOCKET_AUTOPID) < 0) {
        race_die("netlink", strerror(errno));
    }
    uint64_t t0 = race_now_ms();
    race_run(&r);
    uint64_t ms = race_now_ms() - t0;
    printf("sent=%" PRIu64 " answers=%" PRIu64 " addresses=%" PRIu64 " checks=%" PRIu64
           " missing=%" PRIu64 " noaddr=%" PRIu64 " rcode_other=%" PRIu64 " timeouts=%" PRIu64
           " errors=%" PRIu64 " unsent=%u elapsed_ms=%" PRIu64 "\n",
           r.n.sent, r.n.answers, r.n.addresses, r.n.checks, r.n.missing, r.n.noaddr,
           r.n.rcode_other, r.n.timeouts, r.n.errors, r.query_count - r.next_query, ms);
    mnl_socket_close(r.nl);
    free(r.queries);
    return 0;
}
