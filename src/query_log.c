/* query_log.c - dnsmasq's log-queries lines for one query (query[A] ... from, forwarded ... to,
 * reply/cached/config ... is ...), with log-queries=extra's serial and peer prefix. Called from
 * the path in query.c and the local answers in query_local.c; writes only to the log. */
#include "query_impl.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dnsroute/log.h"
#include "dnsroute/sockaddr.h"

bool query_logging(const struct query *q)
{
    return q->gen->conf->log_queries != CONF_LOG_QUERIES_OFF;
}

const char *query_name(const struct query *q)
{
    return q->key_len ? q->key : ".";
}

void query_log(const struct query *q, const char *fmt, ...)
{
    char prefix[SOCKADDR_TEXT_MAX + 32] = "";
    if (q->gen->conf->log_queries == CONF_LOG_QUERIES_EXTRA) {
        char peer[SOCKADDR_TEXT_MAX];
        sockaddr_format(&q->client.peer, false, peer, sizeof(peer));
        (void)snprintf(prefix, sizeof(prefix), "%llu %s/%u ", (unsigned long long)q->serial, peer,
                       (unsigned)sockaddr_port(&q->client.peer));
    }
    char line[DNAME_KEY_MAX + 256];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    log_info("%s%s", prefix, line);
}

void query_log_received(const struct query *q)
{
    char tbuf[DNSMSG_TYPE_NAME_MAX], peer[SOCKADDR_TEXT_MAX];
    sockaddr_format(&q->client.peer, false, peer, sizeof(peer));
    query_log(q, "query[%s] %s from %s", dnsmsg_type_name(q->q.qtype, tbuf), query_name(q), peer);
}

void query_log_addr(const struct query *q, const char *what, int family, const uint8_t *a)
{
    char text[64];
    inet_ntop(family, a, text, sizeof(text));
    query_log(q, "%s %s is %s", what, query_name(q), text);
}

/* One line per server actually asked (all of the group when probing, else the last one that
 * answered), as dnsmasq; the port only when it is not 53. */
void query_log_forwarded(const struct query *q)
{
    const struct conf *c = q->gen->conf;
    uint32_t ids[8];
    size_t n = q->ctx->ops->upstream_servers(&q->up, ids, DNSROUTE_ARRAY_LEN(ids));
    for (size_t i = 0; i < n; i++) {
        char text[SOCKADDR_TEXT_MAX];
        const union sockaddr_any *to = &c->servers[ids[i]].addr;
        sockaddr_format(to, sockaddr_port(to) != 53, text, sizeof(text));
        query_log(q, "forwarded %s to %s", query_name(q), text);
    }
}

/* What the "reply"/"cached" lines keep across the chain walk. */
struct query_log_chain {
    const struct query *q;
    const char *word;
    bool found; /* a record answering the question was logged */
};

/* One line for one record on the chain (dnsmasq extract_addresses' log_query calls): a CNAME,
 * a record of another type, or an answer to the question (its address when it has one). */
static int on_chain_log(const struct dnsmsg_chain *ch, const struct dnsmsg_rr *rr)
{
    struct query_log_chain *lc = ch->arg;
    const struct query *q = lc->q;
    char key[DNAME_KEY_MAX + 1], tbuf[DNSMSG_TYPE_NAME_MAX], text[64];
    if (dname_wire_to_key(ch->name, ch->name_len, key, sizeof(key)) < 0) {
        return 0;
    }
    const char *shown = key[0] != '\0' ? key : ".";
    if (rr->type == DNSMSG_TYPE_CNAME) {
        query_log(q, "%s %s is <CNAME>", lc->word, shown);
        lc->found |= q->q.qtype == DNSMSG_TYPE_CNAME;
        return 0;
    }
    if (rr->type != q->q.qtype) {
        query_log(q, "%s %s is <%s>", lc->word, shown, dnsmsg_type_name(rr->type, tbuf));
        return 0;
    }
    if (ch->r->rcode == DNSMSG_RCODE_NXDOMAIN) {
        return 0;
    }
    lc->found = true;
    int family = rr->type == DNSMSG_TYPE_A && rr->rdlen == 4       ? AF_INET
                 : rr->type == DNSMSG_TYPE_AAAA && rr->rdlen == 16 ? AF_INET6
                                                                   : 0;
    if (family == 0 || inet_ntop(family, ch->pkt + rr->rdata_off, text, sizeof(text)) == NULL) {
        query_log(q, "%s %s is <%s>", lc->word, shown, dnsmsg_type_name(rr->type, tbuf));
    } else {
        query_log(q, "%s %s is %s", lc->word, shown, text);
    }
    return 0;
}

/* The "reply" (or "cached") lines of dnsmasq's log-queries: the CNAME chain from the question
 * name step by step, the records at its end, or NXDOMAIN/NODATA under the chain's last name;
 * "reply error is SERVFAIL" for other rcodes and "reply is truncated" for TC, as dnsmasq. */
void query_log_reply(const struct query *q, const uint8_t *pkt, size_t len,
                     const struct dnsmsg_reply *r, const char *word)
{
    if (r->tc) {
        query_log(q, "%s is truncated", word);
        return;
    }
    if (r->rcode != DNSMSG_RCODE_NOERROR && r->rcode != DNSMSG_RCODE_NXDOMAIN) {
        query_log(q, "%s error is %s", word,
                  r->rcode == DNSMSG_RCODE_SERVFAIL  ? "SERVFAIL"
                  : r->rcode == DNSMSG_RCODE_REFUSED ? "REFUSED"
                                                     : "error");
        return;
    }
    struct query_log_chain lc = {.q = q, .word = word};
    struct dnsmsg_chain ch = {.pkt = pkt,
                              .len = len,
                              .r = r,
                              .restart = q->q.qtype != DNSMSG_TYPE_CNAME,
                              .fn = on_chain_log,
                              .arg = &lc};
    (void)dnsmsg_chain_walk(&ch, q->q.qname, q->q.qname_len);
    if (lc.found || (q->q.qtype == DNSMSG_TYPE_ANY && r->rcode != DNSMSG_RCODE_NXDOMAIN)) {
        return;
    }
    char key[DNAME_KEY_MAX + 1];
    if (dname_wire_to_key(ch.name, ch.name_len, key, sizeof(key)) < 0) {
        return;
    }
    query_log(q, "%s %s is %s", word, key[0] != '\0' ? key : ".",
              r->rcode == DNSMSG_RCODE_NXDOMAIN ? "NXDOMAIN"
              : q->q.qtype == DNSMSG_TYPE_AAAA  ? "NODATA-IPv6"
              : q->q.qtype == DNSMSG_TYPE_A     ? "NODATA-IPv4"
                                                : "NODATA");
}
