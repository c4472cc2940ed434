/* daemon_names.c - the lookups the pure conf loader leaves to its caller (conf.h struct
 * conf_resolver): server= host names through getaddrinfo(3) and "%scope" interface names through
 * if_nametoindex(3). A live table looks names up and records the answers; it is used where
 * blocking is harmless (start-up, before any loop runs; SIGHUP's load on libuv's thread pool). A
 * recorded table answers only from what the last live load recorded: D-Bus loads run on worker
 * 0's loop and must not block it, so a name the files gained since that load fails there as
 * unresolvable (a SIGHUP looks it up). */
#include "daemon_impl.h"

#include <net/if.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include "dnsroute/err.h"
#include "dnsroute/mem.h"

/* Most addresses recorded per host name (conf_rules.c takes at most 16). */
enum { DAEMON_NAME_ADDRS = 16 };

struct daemon_name {
    char *name;
    bool iface;      /* an interface name (index), else a host name (addresses) */
    int count;       /* host: addresses (> 0) or the failure's negative code */
    const char *why; /* host: the failure's text (static strings only) */
    unsigned index;  /* iface: its index, 0 when none */
    union sockaddr_any addrs[DAEMON_NAME_ADDRS];
};

struct daemon_names {
    struct daemon_name *v;
    size_t count, cap;
    bool live; /* look up what is not recorded */
};

struct daemon_names *daemon_names_new(bool live)
{
    struct daemon_names *t = mem_calloc(1, sizeof(*t));
    t->live = live;
    return t;
}

void daemon_names_free(struct daemon_names *t)
{
    if (t == NULL) {
        return;
    }
    for (size_t i = 0; i < t->count; i++) {
        free(t->v[i].name);
    }
    free(t->v);
    free(t);
}

void daemon_names_freeze(struct daemon_names *t)
{
    t->live = false;
}

static struct daemon_name *daemon_names_find(struct daemon_names *t, const char *name, bool iface)
{
    for (size_t i = 0; i < t->count; i++) {
        if (t->v[i].iface == iface && strcmp(t->v[i].name, name) == 0) {
            return &t->v[i];
        }
    }
    return NULL;
}

static struct daemon_name *daemon_names_add(struct daemon_names *t, const char *name, bool iface)
{
    if (t->count == t->cap) {
        t->cap = t->cap != 0 ? t->cap * 2 : 4;
        t->v = mem_realloc(t->v, t->cap * sizeof(*t->v));
    }
    struct daemon_name *e = &t->v[t->count++];
    memset(e, 0, sizeof(*e));
    e->name = mem_strdup(name);
    e->iface = iface;
    return e;
}

/* getaddrinfo as dnsmasq's parse_server calls it (AI_ADDRCONFIG, any family). */
static void daemon_names_lookup_host(struct daemon_name *e)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM, .ai_flags = AI_ADDRCONFIG};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(e->name, NULL, &hints, &res);
    if (rc != 0) {
        e->count = ERR_NOT_FOUND;
        e->why = rc == EAI_AGAIN ? "Cannot resolve server name" : gai_strerror(rc);
        return;
    }
    for (struct addrinfo *ai = res; ai != NULL && e->count < DAEMON_NAME_ADDRS; ai = ai->ai_next) {
        if ((ai->ai_family == AF_INET || ai->ai_family == AF_INET6) &&
            ai->ai_addrlen <= sizeof(e->addrs[0])) {
            memcpy(&e->addrs[e->count++], ai->ai_addr, ai->ai_addrlen);
        }
    }
    freeaddrinfo(res);
    if (e->count == 0) {
        e->count = ERR_NOT_FOUND;
        e->why = "Cannot resolve server name";
    }
}

static int daemon_names_host(void *ctx, const char *host, union sockaddr_any *out, size_t max,
                             const char **why)
{
    struct daemon_names *t = ctx;
    struct daemon_name *e = daemon_names_find(t, host, false);
    if (e == NULL && !t->live) {
        *why = "Cannot resolve server name";
        return ERR_NOT_FOUND;
    }
    if (e == NULL) {
        e = daemon_names_add(t, host, false);
        daemon_names_lookup_host(e);
    }
    if (e->count < 0) {
        *why = e->why;
        return e->count;
    }
    size_t n = (size_t)e->count < max ? (size_t)e->count : max;
    memcpy(out, e->addrs, n * sizeof(*out));
    return (int)n;
}

static unsigned daemon_names_ifindex(void *ctx, const char *name)
{
    struct daemon_names *t = ctx;
    struct daemon_name *e = daemon_names_find(t, name, true);
    if (e == NULL && !t->live) {
        return 0;
    }
    if (e == NULL) {
        e = daemon_names_add(t, name, true);
        e->index = if_nametoindex(name);
    }
    return e->index;
}

struct conf_resolver daemon_names_resolver(struct daemon_names *t)
{
    return (struct conf_resolver){
        .host = daemon_names_host, .ifindex = daemon_names_ifindex, .ctx = t};
}
