/* trivial_responder.c - the reference floor of the side-by-side benches: a UDP DNS responder with
 * no logic at all. It receives queries in batches (recvmmsg), answers each with the query's own
 * header and question followed by a fixed answer of RECORDS A records, and sends the batch back
 * (sendmmsg). One thread. Its CPU time per answered query is what one receive and one send cost
 * on this machine; bench_lib.sh prints every server's CPU per query as a multiple of it.
 *
 *   trivial_responder ADDR PORT [RECORDS]      (RECORDS: 1..255, default 1)
 *
 * It runs until killed. Not a DNS server: a query it cannot parse is dropped. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

enum { BATCH = 64, PKT_MAX = 4096, HEADER_LEN = 12, RR_LEN = 16 };

/* The end of the question section of query[len], or 0 when it does not parse. */
static size_t question_end(const uint8_t *query, size_t len)
{
    size_t pos = HEADER_LEN;
    while (pos < len && query[pos] != 0) {
        if (query[pos] > 63) {
            return 0;
        }
        pos += 1u + query[pos];
    }
    pos += 1 + 4; /* root label, type, class */
    return pos <= len ? pos : 0;
}

/* Writes the answer to query[len] into out (PKT_MAX bytes); returns its length, 0 to drop. */
static size_t build_answer(const uint8_t *query, size_t len, unsigned records, uint8_t *out)
{
    size_t qend = len >= HEADER_LEN ? question_end(query, len) : 0;
    if (qend == 0 || (query[2] & 0x80) != 0 || qend + records * RR_LEN > PKT_MAX) {
        return 0;
    }
    memcpy(out, query, qend);
    out[2] = (uint8_t)(0x80 | (query[2] & 0x01)); /* QR, opcode 0, RD as asked */
    out[3] = 0x80;                                /* RA, rcode NOERROR */
    out[4] = 0, out[5] = 1;                       /* QDCOUNT */
    out[6] = 0, out[7] = (uint8_t)records;        /* ANCOUNT */
    memset(out + 8, 0, 4);                        /* NSCOUNT, ARCOUNT: no OPT */
    uint8_t *p = out + qend;
    for (unsigned i = 0; i < records; i++, p += RR_LEN) {
        static const uint8_t rr[RR_LEN - 1] = {0xc0, 0x0c, 0, 1, 0,  1, 0, 0,
                                               1,    0x2c, 0, 4, 10, 0, 0};
        memcpy(p, rr, sizeof(rr));
        p[RR_LEN - 1] = (uint8_t)(i + 1); /* 10.0.0.<i+1> */
    }
    return (size_t)(p - out);
}

static int open_socket(const char *addr, const char *port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port))};
    if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
        fprintf(stderr, "trivial_responder: bad address %s\n", addr);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    int big = 4 << 20;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big)) < 0 ||
        bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
        perror("trivial_responder: socket");
        return -1;
    }
    return fd;
}

static uint8_t in[BATCH][PKT_MAX], out[BATCH][PKT_MAX];
static struct sockaddr_in peers[BATCH];

/* Receives up to BATCH queries, sends back every answer that could be built. */
static int serve_batch(int fd, unsigned records)
{
    struct mmsghdr rx[BATCH], tx[BATCH];
    struct iovec riov[BATCH], tiov[BATCH];
    memset(rx, 0, sizeof(rx));
    for (int i = 0; i < BATCH; i++) {
        riov[i] = (struct iovec){.iov_base = in[i], .iov_len = PKT_MAX};
        rx[i].msg_hdr = (struct msghdr){.msg_name = &peers[i],
                                        .msg_namelen = sizeof(peers[i]),
                                        .msg_iov = &riov[i],
                                        .msg_iovlen = 1};
    }
    int n = recvmmsg(fd, rx, BATCH, MSG_WAITFORONE, NULL);
    if (n < 0) {
        return errno == EINTR ? 0 : -1;
    }
    unsigned m = 0;
    for (int i = 0; i < n; i++) {
        size_t len = build_answer(in[i], rx[i].msg_len, records, out[m]);
        if (len == 0) {
            continue;
        }
        tiov[m] = (struct iovec){.iov_base = out[m], .iov_len = len};
        memset(&tx[m], 0, sizeof(tx[m]));
        tx[m].msg_hdr = (struct msghdr){.msg_name = &peers[i],
                                        .msg_namelen = rx[i].msg_hdr.msg_namelen,
                                        .msg_iov = &tiov[m],
                                        .msg_iovlen = 1};
        m++;
    }
    for (unsigned sent = 0; sent < m;) {
        int k = sendmmsg(fd, tx + sent, m - sent, 0);
        if (k <= 0) {
            break; /* a full send buffer loses the rest, like any UDP server */
        }
        sent += (unsigned)k;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: trivial_responder ADDR PORT [RECORDS]\n");
        return 2;
    }
    long records = argc == 4 ? strtol(argv[3], NULL, 10) : 1;
    if (records < 1 || records > 255) {
        fprintf(stderr, "trivial_responder: RECORDS must be 1..255\n");
        return 2;
    }
    int fd = open_socket(argv[1], argv[2]);
    if (fd < 0) {
        return 1;
    }
    while (serve_batch(fd, (unsigned)records) == 0) {
    }
    perror("trivial_responder: recvmmsg");
    return 1;
}
