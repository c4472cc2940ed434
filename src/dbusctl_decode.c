/* dbusctl_decode.c - decodes the arguments of dnsmasq's three server-setting D-Bus methods
 * (SetServers, SetServersEx, SetDomainServers; dnsmasq 2.90 dbus.c) into server= arguments,
 * which the daemon applies exactly as server= lines of a new configuration generation.
 * Type errors get dnsmasq's InvalidArgs texts; addresses are checked by the configuration
 * parser itself, so a D-Bus server accepts exactly what a server= line accepts. */
#include "dbusctl_impl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dnsroute/compat.h"
#include "dnsroute/err.h"
#include "dnsroute/mem.h"

void dbusctl_servers_deinit(struct dbusctl_servers *s)
{
    for (size_t i = 0; i < s->count; i++) {
        free(s->lines[i]);
    }
    free(s->lines);
    memset(s, 0, sizeof(*s));
}

static int decode_fail(char *errbuf, size_t errlen, const char *fmt, ...) DNSROUTE_PRINTF(3, 4);
static int decode_fail(char *errbuf, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* dnsmasq's SERV_LITERAL_ADDRESS test: the address (before any #port or @source) is 0.0.0.0,
 * "no address, local only". */
static bool is_local_only(const char *addr)
{
    char head[INET6_ADDRSTRLEN];
    size_t n = strcspn(addr, "#@");
    if (n >= sizeof(head)) {
        return false;
    }
    memcpy(head, addr, n);
    head[n] = '\0';
    struct in_addr in;
    return inet_pton(AF_INET, head, &in) == 1 && in.s_addr == 0;
}

/* Adds one (domain, server) pair as "/DOMAIN/ADDR" ("/DOMAIN/" when local). A NULL or empty
 * domain is the default ("#"); leading dots are dropped (dnsmasq's add_update_server). */
static int servers_add(struct dbusctl_servers *out, const char *domain, const char *addr,
                       bool local, char *errbuf, size_t errlen)
{
    while (domain != NULL && *domain == '.') {
        domain++;
    }
    if (domain == NULL || *domain == '\0') {
        domain = "#";
    }
    /* '/' separates domains from the server in server= syntax; neither may contain one. */
    if (strchr(domain, '/') != NULL) {
        return decode_fail(errbuf, errlen, "Invalid domain '%s'", domain);
    }
    if (!local && strchr(addr, '/') != NULL) {
        return decode_fail(errbuf, errlen, "Invalid IP address '%s'", addr);
    }
    size_t len = strlen(domain) + (local ? 0 : strlen(addr)) + 3;
    char *line = mem_alloc(len);
    (void)snprintf(line, len, "/%s/%s", domain, local ? "" : addr);
    mem_grow((void **)&out->lines, &out->cap, out->count + 1, sizeof(*out->lines));
    out->lines[out->count++] = line;
    return 0;
}

/* SetServers: a flat argument list; a UINT32 (IPv4, as dnsmasq: s_addr = ntohl(value)) or
 * sixteen BYTEs (IPv6), each followed by its domains. An incomplete IPv6 address is skipped
 * with its domains; anything else ends the list. */
static int read_one_address(DBusMessageIter *it, char *addr, size_t len, bool *skip)
{
    *skip = false;
    if (dbus_message_iter_get_arg_type(it) == DBUS_TYPE_UINT32) {
        dbus_uint32_t v;
        dbus_message_iter_get_basic(it, &v);
        dbus_message_iter_next(it);
        struct in_addr in = {.s_addr = ntohl(v)};
        inet_ntop(AF_INET, &in, addr, (socklen_t)len);
        return 1;
    }
    if (dbus_message_iter_get_arg_type(it) != DBUS_TYPE_BYTE) {
        return 0;
    }
    unsigned char p[16];
    size_t i = 0;
    while (i < sizeof(p)) {
        dbus_message_iter_get_basic(it, &p[i++]);
        dbus_message_iter_next(it);
        if (dbus_message_iter_get_arg_type(it) != DBUS_TYPE_BYTE) {
            break;
        }
    }
    *skip = i != sizeof(p);
    inet_ntop(AF_INET6, p, addr, (socklen_t)len);
    return 1;
}

static int decode_set_servers(DBusMessageIter *it, struct dbusctl_servers *out, char *errbuf,
                              size_t errlen)
{
    char addr[INET6_ADDRSTRLEN];
    bool skip;
    while (read_one_address(it, addr, sizeof(addr), &skip) > 0) {
        do {
            const char *domain = NULL;
            if (dbus_message_iter_get_arg_type(it) == DBUS_TYPE_STRING) {
                dbus_message_iter_get_basic(it, &domain);
                dbus_message_iter_next(it);
            }
            /* The interface document: 0.0.0.0 is "no address, local only". */
            if (!skip && servers_add(out, domain, addr, is_local_only(addr), errbuf, errlen) < 0) {
                return -EINVAL;
            }
        } while (dbus_message_iter_get_arg_type(it) == DBUS_TYPE_STRING);
    }
    return 0;
}

/* One inner array of SetServersEx: the server, then its domains (none: the default). */
static int decode_ex_entry(DBusMessageIter *entry, struct dbusctl_servers *out, char *errbuf,
                           size_t errlen)
{
    if (dbus_message_iter_get_arg_type(entry) != DBUS_TYPE_ARRAY ||
        dbus_message_iter_get_element_type(entry) != DBUS_TYPE_STRING) {
        return decode_fail(errbuf, errlen, "Expected inner array of strings");
    }
    DBusMessageIter s;
    dbus_message_iter_recurse(entry, &s);
    if (dbus_message_iter_get_arg_type(&s) != DBUS_TYPE_STRING) {
        return decode_fail(errbuf, errlen, "Expected IP address");
    }
    const char *addr = NULL;
    dbus_message_iter_get_basic(&s, &addr);
    if (addr == NULL || *addr == '\0') {
        return decode_fail(errbuf, errlen, "Empty IP address");
    }
    dbus_message_iter_next(&s);
    bool local = is_local_only(addr);
    do {
        const char *domain = NULL;
        if (dbus_message_iter_get_arg_type(&s) == DBUS_TYPE_STRING) {
            dbus_message_iter_get_basic(&s, &domain);
        }
        dbus_message_iter_next(&s);
        if (servers_add(out, domain, addr, local, errbuf, errlen) < 0) {
            return -EINVAL;
        }
    } while (dbus_message_iter_get_arg_type(&s) == DBUS_TYPE_STRING);
    return 0;
}

/* One SetDomainServers string, in server= syntax: "ADDR", "/d1/d2/ADDR" or "/d1/" (local). */
static int decode_domain_string(const char *str, struct dbusctl_servers *out, char *errbuf,
                                size_t errlen)
{
    if (*str == '\0') {
        return decode_fail(errbuf, errlen, "Empty string");
    }
    const char *last = strrchr(str, '/');
    if (last == NULL) {
        return servers_add(out, NULL, str, false, errbuf, errlen);
    }
    if (*str != '/' || last == str) {
        return decode_fail(errbuf, errlen, "No domain terminator '%s'", last + 1);
    }
    const char *addr = last + 1;
    bool local = *addr == '\0';
    for (const char *d = str + 1; d <= last;) {
        const char *end = strchr(d, '/');
        char domain[1025];
        size_t n = (size_t)(end - d);
        if (n >= sizeof(domain)) {
            return decode_fail(errbuf, errlen, "Invalid domain '%.*s'", (int)n, d);
        }
        memcpy(domain, d, n);
        domain[n] = '\0';
        if (servers_add(out, domain, addr, local, errbuf, errlen) < 0) {
            return -EINVAL;
        }
        d = end + 1;
    }
    return 0;
}

/* SetServersEx (aas) and SetDomainServers (as). */
static int decode_array(DBusMessageIter *it, bool strings, struct dbusctl_servers *out,
                        char *errbuf, size_t errlen)
{
    if (dbus_message_iter_get_arg_type(it) != DBUS_TYPE_ARRAY ||
        dbus_message_iter_get_element_type(it) != (strings ? DBUS_TYPE_STRING : DBUS_TYPE_ARRAY)) {
        return decode_fail(errbuf, errlen,
                           strings ? "Expected array of string"
                                   : "Expected array of string arrays");
    }
    DBusMessageIter a;
    dbus_message_iter_recurse(it, &a);
    while (dbus_message_iter_get_arg_type(&a) != DBUS_TYPE_INVALID) {
        int rc;
        if (strings) {
            const char *str = NULL;
            dbus_message_iter_get_basic(&a, &str);
            rc = decode_domain_string(str != NULL ? str : "", out, errbuf, errlen);
        } else {
            rc = decode_ex_entry(&a, out, errbuf, errlen);
        }
        if (rc < 0) {
            return rc;
        }
        dbus_message_iter_next(&a);
    }
    return 0;
}

int dbusctl_decode(DBusMessage *msg, enum dbusctl_method method, struct dbusctl_servers *out,
                   char *errbuf, size_t errlen)
{
    DBusMessageIter it;
    if (!dbus_message_iter_init(msg, &it)) {
        return decode_fail(errbuf, errlen, "Failed to initialize dbus message iter");
    }
    if (method == DBUSCTL_SET_SERVERS) {
        return decode_set_servers(&it, out, errbuf, errlen);
    }
    return decode_array(&it, method == DBUSCTL_SET_DOMAIN_SERVERS, out, errbuf, errlen);
}

int dbusctl_decode_wire(const uint8_t *data, size_t len, struct dbusctl_servers *out, char *errbuf,
                        size_t errlen)
{
    static const struct {
        const char *member;
        enum dbusctl_method method;
    } methods[] = {
        {"SetServers", DBUSCTL_SET_SERVERS},
        {"SetServersEx", DBUSCTL_SET_SERVERS_EX},
        {"SetDomainServers", DBUSCTL_SET_DOMAIN_SERVERS},
    };
    if (len > (size_t)DBUS_MAXIMUM_MESSAGE_LENGTH) {
        return ERR_PARSE;
    }
    DBusError err;
    dbus_error_init(&err);
    DBusMessage *msg = dbus_message_demarshal((const char *)data, (int)len, &err);
    if (msg == NULL) {
        dbus_error_free(&err);
        return ERR_PARSE;
    }
    int rc = ERR_PARSE;
    const char *member = dbus_message_get_member(msg);
    for (size_t i = 0; member != NULL && i < DNSROUTE_ARRAY_LEN(methods); i++) {
        if (strcmp(member, methods[i].member) == 0) {
            rc = dbusctl_decode(msg, methods[i].method, out, errbuf, errlen);
            break;
        }
    }
    dbus_message_unref(msg);
    return rc;
}
