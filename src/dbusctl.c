/* dbusctl.c - the system-bus side of dnsmasq's D-Bus interface: connection, name, the exported
 * object and its methods (dnsmasq 2.90 dbus.c), driven from worker 0's libuv loop. libdbus
 * hands us watches (one uv_poll per descriptor: libuv allows no second poll handle on an fd),
 * timeouts (uv_timer) and a dispatch status (an idle handle dispatches queued messages outside
 * libdbus' own callbacks). Calls that change state go to the daemon through dbusctl_ops. */
#include "dnsroute/dbusctl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dbusctl_impl.h"
#include "dnsroute/compat.h"
#include "dnsroute/log.h"
#include "dnsroute/mem.h"

/* dnsmasq polls for the bus every 250 ms until it is there (DBus-interface). */
enum { DBUSCTL_RETRY_MS = 250, DBUSCTL_FDS_MAX = 8 };

/* One descriptor libdbus wants watched, with every watch on it merged into one poll handle. */
struct dbusctl_fd {
    uv_poll_t poll;
    struct dbusctl *b;
    int fd;
};

/* A watch with the descriptor it had when added (libdbus sets it to -1 when invalidated). */
struct dbusctl_watch {
    DBusWatch *watch;
    int fd;
};

struct dbusctl_timer {
    uv_timer_t timer;
    struct dbusctl *b;
    DBusTimeout *timeout;
};

struct dbusctl {
    uv_loop_t *loop;
    char *name;
    char *introspect_xml;
    struct dbusctl_ops ops;
    DBusConnection *conn;
    struct dbusctl_watch *watches;
    size_t watch_count, watch_cap;
    struct dbusctl_fd *fds[DBUSCTL_FDS_MAX];
    size_t fd_count;
    uv_idle_t dispatch;
    uv_timer_t retry;
    unsigned open_handles; /* dispatch and retry until closed */
    bool lost;             /* the bus connection closed during a dispatch */
};

static const char introspect_template[] =
    "<!DOCTYPE node PUBLIC \"-//freedesktop//DTD D-BUS Object Introspection 1.0//EN\"\n"
    "\"http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd\">\n"
    "<node name=\"" DBUSCTL_PATH "\">\n"
    "  <interface name=\"org.freedesktop.DBus.Introspectable\">\n"
    "    <method name=\"Introspect\">\n"
    "      <arg name=\"data\" direction=\"out\" type=\"s\"/>\n"
    "    </method>\n"
    "  </interface>\n"
    "  <interface name=\"%s\">\n"
    "    <method name=\"ClearCache\">\n"
    "    </method>\n"
    "    <method name=\"GetVersion\">\n"
    "      <arg name=\"version\" direction=\"out\" type=\"s\"/>\n"
    "    </method>\n"
    "    <method name=\"GetLoopServers\">\n"
    "      <arg name=\"server\" direction=\"out\" type=\"as\"/>\n"
    "    </method>\n"
    "    <method name=\"SetServers\">\n"
    "      <arg name=\"servers\" direction=\"in\" type=\"av\"/>\n"
    "    </method>\n"
    "    <method name=\"SetDomainServers\">\n"
    "      <arg name=\"servers\" direction=\"in\" type=\"as\"/>\n"
    "    </method>\n"
    "    <method name=\"SetServersEx\">\n"
    "      <arg name=\"servers\" direction=\"in\" type=\"aas\"/>\n"
    "    </method>\n"
    "    <signal name=\"DhcpLeaseAdded\">\n"
    "      <arg name=\"ipaddr\" type=\"s\"/>\n"
    "      <arg name=\"hwaddr\" type=\"s\"/>\n"
    "      <arg name=\"hostname\" type=\"s\"/>\n"
    "    </signal>\n"
    "    <signal name=\"DhcpLeaseDeleted\">\n"
    "      <arg name=\"ipaddr\" type=\"s\"/>\n"
    "      <arg name=\"hwaddr\" type=\"s\"/>\n"
    "      <arg name=\"hostname\" type=\"s\"/>\n"
    "    </signal>\n"
    "    <signal name=\"DhcpLeaseUpdated\">\n"
    "      <arg name=\"ipaddr\" type=\"s\"/>\n"
    "      <arg name=\"hwaddr\" type=\"s\"/>\n"
    "      <arg name=\"hostname\" type=\"s\"/>\n"
    "    </signal>\n"
    "    <method name=\"GetMetrics\">\n"
    "      <arg name=\"metrics\" direction=\"out\" type=\"a{su}\"/>\n"
    "    </method>\n"
    "    <method name=\"GetServerMetrics\">\n"
    "      <arg name=\"metrics\" direction=\"out\" type=\"a{ss}\"/>\n"
    "    </method>\n"
    "    <method name=\"ClearMetrics\">\n"
    "    </method>\n"
    "  </interface>\n"
    "</node>\n";

static const char *const metric_names[DBUSCTL_METRIC_COUNT] = {
    "dns_cache_inserted",
    "dns_cache_live_freed",
    "dns_queries_forwarded",
    "dns_auth_answered",
    "dns_local_answered",
    "dns_stale_answered",
    "dns_unanswered",
    "dnssec_max_crypto_use",
    "dnssec_max_sig_fail",
    "dnssec_max_work",
    "bootp",
    "pxe",
    "dhcp_ack",
    "dhcp_decline",
    "dhcp_discover",
    "dhcp_inform",
    "dhcp_nak",
    "dhcp_offer",
    "dhcp_release",
    "dhcp_request",
    "noanswer",
    "leases_allocated_4",
    "leases_pruned_4",
    "leases_allocated_6",
    "leases_pruned_6",
    "tcp_connections",
};

static void bus_dispatch_later(struct dbusctl *b);

/* ---- Watches: one poll handle per descriptor. ---- */

static void on_fd_closed(uv_handle_t *handle)
{
    free(DNSROUTE_CONTAINER_OF((uv_poll_t *)handle, struct dbusctl_fd, poll));
}

static void on_poll(uv_poll_t *handle, int status, int events)
{
    struct dbusctl_fd *rec = DNSROUTE_CONTAINER_OF(handle, struct dbusctl_fd, poll);
    struct dbusctl *b = rec->b;
    int fd = rec->fd;
    unsigned flags = status < 0 ? DBUS_WATCH_ERROR : 0;
    flags |= (events & UV_READABLE) ? DBUS_WATCH_READABLE : 0;
    flags |= (events & UV_WRITABLE) ? DBUS_WATCH_WRITABLE : 0;
    /* Handling a watch may add or remove watches (and free rec): work on a copy, and check that
     * each watch is still registered before handling it. */
    DBusWatch *snap[DBUSCTL_FDS_MAX * 2];
    size_t n = 0;
    for (size_t i = 0; i < b->watch_count && n < DNSROUTE_ARRAY_LEN(snap); i++) {
        if (b->watches[i].fd == fd) {
            snap[n++] = b->watches[i].watch;
        }
    }
    for (size_t k = 0; k < n; k++) {
        for (size_t i = 0; i < b->watch_count; i++) {
            if (b->watches[i].watch == snap[k] && dbus_watch_get_enabled(snap[k])) {
                unsigned want = dbus_watch_get_flags(snap[k]) | DBUS_WATCH_ERROR;
                dbus_watch_handle(snap[k], flags & want);
                break;
            }
        }
    }
    bus_dispatch_later(b);
}

static struct dbusctl_fd **fd_slot(struct dbusctl *b, int fd)
{
    for (size_t i = 0; i < b->fd_count; i++) {
        if (b->fds[i]->fd == fd) {
            return &b->fds[i];
        }
    }
    return NULL;
}

/* Re-computes the poll events of fd from every enabled watch on it. */
static void fd_refresh(struct dbusctl *b, int fd)
{
    int events = 0;
    bool any = false;
    for (size_t i = 0; i < b->watch_count; i++) {
        if (b->watches[i].fd != fd) {
            continue;
        }
        any = true;
        if (dbus_watch_get_enabled(b->watches[i].watch)) {
            unsigned f = dbus_watch_get_flags(b->watches[i].watch);
            events |= ((f & DBUS_WATCH_READABLE) ? UV_READABLE : 0) |
                      ((f & DBUS_WATCH_WRITABLE) ? UV_WRITABLE : 0);
        }
    }
    struct dbusctl_fd **slot = fd_slot(b, fd);
    if (!any) {
        if (slot != NULL) {
            uv_close((uv_handle_t *)&(*slot)->poll, on_fd_closed);
            *slot = b->fds[--b->fd_count];
        }
        return;
    }
    if (slot == NULL) {
        if (b->fd_count == DBUSCTL_FDS_MAX) {
            log_error("DBus: too many descriptors to watch");
            return;
        }
        struct dbusctl_fd *rec = mem_calloc(1, sizeof(*rec));
        rec->b = b;
        rec->fd = fd;
        uv_poll_init_socket(b->loop, &rec->poll, fd);
        b->fds[b->fd_count] = rec;
        slot = &b->fds[b->fd_count++];
    }
    if (events != 0) {
        uv_poll_start(&(*slot)->poll, events, on_poll);
    } else {
        uv_poll_stop(&(*slot)->poll);
    }
}

static dbus_bool_t on_add_watch(DBusWatch *w, void *data)
{
    struct dbusctl *b = data;
    mem_grow((void **)&b->watches, &b->watch_cap, b->watch_count + 1, sizeof(*b->watches));
    int fd = dbus_watch_get_unix_fd(w);
    b->watches[b->watch_count++] = (struct dbusctl_watch){.watch = w, .fd = fd};
    fd_refresh(b, fd);
    return TRUE;
}

static void on_remove_watch(DBusWatch *w, void *data)
{
    struct dbusctl *b = data;
    for (size_t i = 0; i < b->watch_count; i++) {
        if (b->watches[i].watch == w) {
            int fd = b->watches[i].fd;
            b->watches[i] = b->watches[--b->watch_count];
            fd_refresh(b, fd);
            return;
        }
    }
}

static void on_toggle_watch(DBusWatch *w, void *data)
{
    struct dbusctl *b = data;
    for (size_t i = 0; i < b->watch_count; i++) {
        if (b->watches[i].watch == w) {
            fd_refresh(b, b->watches[i].fd);
            return;
        }
    }
}

/* ---- Timeouts. ---- */

static void on_timer_closed(uv_handle_t *handle)
{
    free(DNSROUTE_CONTAINER_OF((uv_timer_t *)handle, struct dbusctl_timer, timer));
}

static void on_timer(uv_timer_t *handle)
{
    struct dbusctl_timer *t = DNSROUTE_CONTAINER_OF(handle, struct dbusctl_timer, timer);
    struct dbusctl *b = t->b;
    dbus_timeout_handle(t->timeout); /* may remove the timeout, and free t */
    bus_dispatch_later(b);
}

static void timer_apply(struct dbusctl_timer *t)
{
    if (dbus_timeout_get_enabled(t->timeout)) {
        uint64_t ms = (uint64_t)dbus_timeout_get_interval(t->timeout);
        uv_timer_start(&t->timer, on_timer, ms, ms);
    } else {
        uv_timer_stop(&t->timer);
    }
}

static dbus_bool_t on_add_timeout(DBusTimeout *timeout, void *data)
{
    struct dbusctl *b = data;
    struct dbusctl_timer *t = mem_calloc(1, sizeof(*t));
    t->b = b;
    t->timeout = timeout;
    uv_timer_init(b->loop, &t->timer);
    dbus_timeout_set_data(timeout, t, NULL);
    timer_apply(t);
    return TRUE;
}

static void on_remove_timeout(DBusTimeout *timeout, void *data)
{
    (void)data;
    struct dbusctl_timer *t = dbus_timeout_get_data(timeout);
    if (t != NULL) {
        dbus_timeout_set_data(timeout, NULL, NULL);
        uv_close((uv_handle_t *)&t->timer, on_timer_closed);
    }
}

static void on_toggle_timeout(DBusTimeout *timeout, void *data)
{
    (void)data;
    struct dbusctl_timer *t = dbus_timeout_get_data(timeout);
    if (t != NULL) {
        timer_apply(t);
    }
}

/* ---- Methods (dnsmasq 2.90 message_handler). A handler returns its reply, or NULL for an
 * empty method return. ---- */

static DBusMessage *method_error(DBusMessage *msg, const char *text)
{
    return dbus_message_new_error(msg, DBUS_ERROR_INVALID_ARGS, text);
}

static DBusMessage *reply_string(DBusMessage *msg, const char *s)
{
    DBusMessage *reply = dbus_message_new_method_return(msg);
    if (reply != NULL) {
        dbus_message_append_args(reply, DBUS_TYPE_STRING, &s, DBUS_TYPE_INVALID);
    }
    return reply;
}

static DBusMessage *on_get_version(struct dbusctl *b, DBusMessage *msg)
{
    (void)b;
    return reply_string(msg, DNSROUTE_VERSION);
}

/* dnsroute has no loop detection (dns-loop-detect is ignored): no server is ever marked. */
static DBusMessage *on_get_loop_servers(struct dbusctl *b, DBusMessage *msg)
{
    (void)b;
    DBusMessage *reply = dbus_message_new_method_return(msg);
    DBusMessageIter it, arr;
    if (reply != NULL) {
        dbus_message_iter_init_append(reply, &it);
        dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, DBUS_TYPE_STRING_AS_STRING, &arr);
        dbus_message_iter_close_container(&it, &arr);
    }
    return reply;
}

/* The three server setters: decoded whole first, then applied as one new generation; a bad
 * entry changes nothing (dnsmasq keeps the entries before it and drops the others). */
static DBusMessage *set_servers(struct dbusctl *b, DBusMessage *msg, enum dbusctl_method method)
{
    struct dbusctl_servers s;
    memset(&s, 0, sizeof(s));
    char errbuf[1400];
    int rc = dbusctl_decode(msg, method, &s, errbuf, sizeof(errbuf));
    if (rc == 0) {
        log_info("setting upstream servers from DBus");
        rc = b->ops.set_servers(b->ops.arg, (const char *const *)s.lines, s.count, errbuf,
                                sizeof(errbuf));
    }
    dbusctl_servers_deinit(&s);
    return rc < 0 ? method_error(msg, errbuf) : NULL;
}

static DBusMessage *on_set_servers(struct dbusctl *b, DBusMessage *msg)
{
    return set_servers(b, msg, DBUSCTL_SET_SERVERS);
}

static DBusMessage *on_set_servers_ex(struct dbusctl *b, DBusMessage *msg)
{
    return set_servers(b, msg, DBUSCTL_SET_SERVERS_EX);
}

static DBusMessage *on_set_domain_servers(struct dbusctl *b, DBusMessage *msg)
{
    return set_servers(b, msg, DBUSCTL_SET_DOMAIN_SERVERS);
}

static DBusMessage *on_get_metrics(struct dbusctl *b, DBusMessage *msg)
{
    uint32_t values[DBUSCTL_METRIC_COUNT] = {0};
    b->ops.get_metrics(b->ops.arg, values);
    DBusMessage *reply = dbus_message_new_method_return(msg);
    if (reply == NULL) {
        return NULL;
    }
    DBusMessageIter it, arr, dict;
    dbus_message_iter_init_append(reply, &it);
    dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{su}", &arr);
    for (size_t i = 0; i < DBUSCTL_METRIC_COUNT; i++) {
        dbus_uint32_t v = values[i];
        dbus_message_iter_open_container(&arr, DBUS_TYPE_DICT_ENTRY, NULL, &dict);
        dbus_message_iter_append_basic(&dict, DBUS_TYPE_STRING, &metric_names[i]);
        dbus_message_iter_append_basic(&dict, DBUS_TYPE_UINT32, &v);
        dbus_message_iter_close_container(&arr, &dict);
    }
    dbus_message_iter_close_container(&it, &arr);
    return reply;
}

static void dict_add(DBusMessageIter *arr, const char *key, const char *val)
{
    DBusMessageIter dict;
    dbus_message_iter_open_container(arr, DBUS_TYPE_DICT_ENTRY, NULL, &dict);
    dbus_message_iter_append_basic(&dict, DBUS_TYPE_STRING, &key);
    dbus_message_iter_append_basic(&dict, DBUS_TYPE_STRING, &val);
    dbus_message_iter_close_container(arr, &dict);
}

/* dnsmasq prints the counters with "%u" (unsigned int): ours wrap the same way. */
static void dict_add_uint(DBusMessageIter *arr, const char *key, uint64_t val)
{
    char text[16];
    (void)snprintf(text, sizeof(text), "%u", (unsigned)val);
    dict_add(arr, key, text);
}

/* aa{ss}, one dictionary per server (the introspection data says a{ss}, as dnsmasq's). */
static DBusMessage *on_get_server_metrics(struct dbusctl *b, DBusMessage *msg)
{
    struct dbusctl_server_metrics *m = NULL;
    size_t n = b->ops.get_server_metrics(b->ops.arg, &m);
    DBusMessage *reply = dbus_message_new_method_return(msg);
    if (reply != NULL) {
        DBusMessageIter it, servers, arr;
        dbus_message_iter_init_append(reply, &it);
        dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "a{ss}", &servers);
        for (size_t i = 0; i < n; i++) {
            dbus_message_iter_open_container(&servers, DBUS_TYPE_ARRAY, "{ss}", &arr);
            dict_add(&arr, "address", m[i].address);
            dict_add_uint(&arr, "port", m[i].port);
            dict_add_uint(&arr, "queries", m[i].queries);
            dict_add_uint(&arr, "failed_queries", m[i].failed_queries);
            dict_add_uint(&arr, "nxdomain", m[i].nxdomain);
            dict_add_uint(&arr, "retries", m[i].retries);
            dict_add_uint(&arr, "latency", m[i].latency_ms);
            dbus_message_iter_close_container(&servers, &arr);
        }
        dbus_message_iter_close_container(&it, &servers);
    }
    free(m);
    return reply;
}

static DBusMessage *on_clear_metrics(struct dbusctl *b, DBusMessage *msg)
{
    (void)msg;
    b->ops.clear_metrics(b->ops.arg);
    return NULL;
}

static DBusMessage *on_clear_cache(struct dbusctl *b, DBusMessage *msg)
{
    (void)msg;
    b->ops.clear_cache(b->ops.arg);
    return NULL;
}

typedef DBusMessage *dbusctl_method_cb(struct dbusctl *b, DBusMessage *msg);

static const struct {
    const char *member;
    dbusctl_method_cb *handler;
} methods[] = {
    {"GetVersion", on_get_version},
    {"GetLoopServers", on_get_loop_servers},
    {"SetServers", on_set_servers},
    {"SetServersEx", on_set_servers_ex},
    {"SetDomainServers", on_set_domain_servers},
    {"GetMetrics", on_get_metrics},
    {"GetServerMetrics", on_get_server_metrics},
    {"ClearMetrics", on_clear_metrics},
    {"ClearCache", on_clear_cache},
};

/* As dnsmasq, methods are matched by member name whatever the interface. Unknown ones are left
 * to libdbus, which answers org.freedesktop.DBus.Error.UnknownMethod. */
static DBusHandlerResult on_message(DBusConnection *conn, DBusMessage *msg, void *data)
{
    struct dbusctl *b = data;
    const char *member = dbus_message_get_member(msg);
    if (dbus_message_get_type(msg) != DBUS_MESSAGE_TYPE_METHOD_CALL || member == NULL) {
        return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
    }
    DBusMessage *reply = NULL;
    if (dbus_message_is_method_call(msg, DBUS_INTERFACE_INTROSPECTABLE, "Introspect")) {
        reply = reply_string(msg, b->introspect_xml);
    } else {
        size_t i = 0;
        while (i < DNSROUTE_ARRAY_LEN(methods) && strcmp(member, methods[i].member) != 0) {
            i++;
        }
        if (i == DNSROUTE_ARRAY_LEN(methods)) {
            return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
        }
        reply = methods[i].handler(b, msg);
    }
    if (reply == NULL) {
        reply = dbus_message_new_method_return(msg);
    }
    if (reply != NULL) {
        dbus_connection_send(conn, reply, NULL);
        dbus_message_unref(reply);
    }
    return DBUS_HANDLER_RESULT_HANDLED;
}

/* ---- Connection. ---- */

static DBusHandlerResult on_filter(DBusConnection *conn, DBusMessage *msg, void *data)
{
    (void)conn;
    struct dbusctl *b = data;
    if (dbus_message_is_signal(msg, DBUS_INTERFACE_LOCAL, "Disconnected")) {
        b->lost = true;
        return DBUS_HANDLER_RESULT_HANDLED;
    }
    return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
}

static void on_dispatch_status(DBusConnection *conn, DBusDispatchStatus status, void *data)
{
    (void)conn;
    if (status == DBUS_DISPATCH_DATA_REMAINS) {
        bus_dispatch_later(data);
    }
}

static void bus_drop(struct dbusctl *b)
{
    if (b->conn != NULL) {
        DBusConnection *conn = b->conn;
        b->conn = NULL;
        dbus_connection_close(conn);
        dbus_connection_unref(conn); /* removes its watches and timeouts through our hooks */
    }
    uv_idle_stop(&b->dispatch);
}

static void on_retry(uv_timer_t *handle);

static void on_dispatch(uv_idle_t *handle)
{
    struct dbusctl *b = DNSROUTE_CONTAINER_OF(handle, struct dbusctl, dispatch);
    uv_idle_stop(handle);
    while (b->conn != NULL && dbus_connection_dispatch(b->conn) == DBUS_DISPATCH_DATA_REMAINS) {
    }
    if (b->lost) {
        b->lost = false;
        log_error("DBus: lost the connection to the system bus, reconnecting");
        bus_drop(b);
        uv_timer_start(&b->retry, on_retry, DBUSCTL_RETRY_MS, DBUSCTL_RETRY_MS);
    }
}

static void bus_dispatch_later(struct dbusctl *b)
{
    if (b->conn != NULL &&
        (b->lost || dbus_connection_get_dispatch_status(b->conn) == DBUS_DISPATCH_DATA_REMAINS)) {
        uv_idle_start(&b->dispatch, on_dispatch);
    }
}

static bool bus_hook(struct dbusctl *b, DBusConnection *conn)
{
    static const DBusObjectPathVTable vtable = {.message_function = on_message};
    dbus_connection_set_exit_on_disconnect(conn, FALSE);
    dbus_connection_set_dispatch_status_function(conn, on_dispatch_status, b, NULL);
    return dbus_connection_set_watch_functions(conn, on_add_watch, on_remove_watch, on_toggle_watch,
                                               b, NULL) &&
           dbus_connection_set_timeout_functions(conn, on_add_timeout, on_remove_timeout,
                                                 on_toggle_timeout, b, NULL) &&
           dbus_connection_add_filter(conn, on_filter, b, NULL) &&
           dbus_connection_register_object_path(conn, DBUSCTL_PATH, &vtable, b);
}

/* Sends dnsmasq's "Up" signal: whoever sets the servers should call SetServers* again. */
static void bus_send_up(struct dbusctl *b)
{
    if (!dbus_validate_interface(b->name, NULL)) {
        return; /* a bus name that cannot be an interface name: no signal can carry it */
    }
    DBusMessage *up = dbus_message_new_signal(DBUSCTL_PATH, b->name, "Up");
    if (up != NULL) {
        dbus_connection_send(b->conn, up, NULL);
        dbus_message_unref(up);
    }
}

/* Returns 0 when connected, 1 when the bus is not there (yet), or a negative code with the
 * reason in errbuf (the bus refused us: dnsmasq gives up). */
static int bus_connect(struct dbusctl *b, char *errbuf, size_t errlen)
{
    DBusError err;
    dbus_error_init(&err);
    DBusConnection *conn = dbus_bus_get_private(DBUS_BUS_SYSTEM, &err);
    if (conn == NULL) {
        dbus_error_free(&err);
        return 1;
    }
    b->conn = conn;
    int rc = 0;
    if (!bus_hook(b, conn)) {
        (void)snprintf(errbuf, errlen, "could not register a DBus message handler");
        rc = -ENOMEM;
    } else {
        int r = dbus_bus_request_name(conn, b->name, 0, &err);
        if (dbus_error_is_set(&err)) {
            (void)snprintf(errbuf, errlen, "%s", err.message);
            dbus_error_free(&err);
            rc = -EPERM;
        } else if (r == DBUS_REQUEST_NAME_REPLY_IN_QUEUE) {
            /* dnsmasq asks without flags too, and so queues silently behind the owner. */
            log_warn("DBus name %s is owned by another connection: queued for it", b->name);
        }
    }
    if (rc < 0) {
        bus_drop(b);
        return rc;
    }
    bus_send_up(b);
    bus_dispatch_later(b);
    return 0;
}

static void on_retry(uv_timer_t *handle)
{
    struct dbusctl *b = DNSROUTE_CONTAINER_OF(handle, struct dbusctl, retry);
    char errbuf[512];
    int rc = bus_connect(b, errbuf, sizeof(errbuf));
    if (rc == 0) {
        uv_timer_stop(handle);
        log_info("connected to system DBus");
    } else if (rc < 0) {
        uv_timer_stop(handle); /* dnsmasq: a fatal error, stop trying */
        log_error("DBus error: %s", errbuf);
    }
}

int dbusctl_new(uv_loop_t *loop, const char *name, const struct dbusctl_ops *ops,
                struct dbusctl **out, char *errbuf, size_t errlen)
{
    DBusError err;
    dbus_error_init(&err);
    if (!dbus_validate_bus_name(name, &err)) {
        (void)snprintf(errbuf, errlen, "%s", err.message);
        dbus_error_free(&err);
        return -EINVAL;
    }
    struct dbusctl *b = mem_calloc(1, sizeof(*b));
    b->loop = loop;
    b->ops = *ops;
    b->name = mem_strdup(name);
    size_t len = sizeof(introspect_template) + strlen(name);
    b->introspect_xml = mem_alloc(len);
    (void)snprintf(b->introspect_xml, len, introspect_template, name);
    uv_idle_init(loop, &b->dispatch);
    uv_timer_init(loop, &b->retry);
    b->open_handles = 2;
    int rc = bus_connect(b, errbuf, errlen);
    if (rc < 0) {
        dbusctl_free(b);
        return rc;
    }
    if (rc > 0) {
        uv_timer_start(&b->retry, on_retry, DBUSCTL_RETRY_MS, DBUSCTL_RETRY_MS);
    }
    *out = b;
    return 0;
}

bool dbusctl_is_connected(const struct dbusctl *b)
{
    return b->conn != NULL;
}

static void on_closed(uv_handle_t *handle)
{
    struct dbusctl *b = handle->data;
    if (--b->open_handles == 0) {
        free(b->watches);
        free(b->name);
        free(b->introspect_xml);
        free(b);
    }
}

void dbusctl_free(struct dbusctl *b)
{
    if (b == NULL) {
        return;
    }
    bus_drop(b);
    b->dispatch.data = b;
    b->retry.data = b;
    uv_close((uv_handle_t *)&b->dispatch, on_closed);
    uv_close((uv_handle_t *)&b->retry, on_closed);
}
