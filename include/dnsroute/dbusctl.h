/* dbusctl.h - dnsmasq's D-Bus control interface (enable-dbus[=NAME]): the object
 * /uk/org/thekelleys/dnsmasq with the methods of dnsmasq 2.90's dbus/DBus-interface, served on
 * the system bus through libdbus-1, driven from a libuv loop (I/O module, worker 0's loop).
 *
 * The module decodes calls and encodes replies; what a call does (new servers, cache, counters)
 * is the daemon's, reached through struct dbusctl_ops. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* dnsmasq's object path and default bus name. */
#define DBUSCTL_PATH         "/uk/org/thekelleys/dnsmasq"
#define DBUSCTL_DEFAULT_NAME "uk.org.thekelleys.dnsmasq"

/* GetMetrics keys, in dnsmasq 2.90's order (metrics.c). */
enum dbusctl_metric {
    DBUSCTL_METRIC_CACHE_INSERTED,
    DBUSCTL_METRIC_CACHE_LIVE_FREED,
    DBUSCTL_METRIC_QUERIES_FORWARDED,
    DBUSCTL_METRIC_AUTH_ANSWERED,
    DBUSCTL_METRIC_LOCAL_ANSWERED,
    DBUSCTL_METRIC_STALE_ANSWERED,
    DBUSCTL_METRIC_UNANSWERED,
    DBUSCTL_METRIC_DNSSEC_MAX_CRYPTO_USE,
    DBUSCTL_METRIC_DNSSEC_MAX_SIG_FAIL,
    DBUSCTL_METRIC_DNSSEC_MAX_WORK,
    DBUSCTL_METRIC_BOOTP,
    DBUSCTL_METRIC_PXE,
    DBUSCTL_METRIC_DHCP_ACK,
    DBUSCTL_METRIC_DHCP_DECLINE,
    DBUSCTL_METRIC_DHCP_DISCOVER,
    DBUSCTL_METRIC_DHCP_INFORM,
    DBUSCTL_METRIC_DHCP_NAK,
    DBUSCTL_METRIC_DHCP_OFFER,
    DBUSCTL_METRIC_DHCP_RELEASE,
    DBUSCTL_METRIC_DHCP_REQUEST,
    DBUSCTL_METRIC_NOANSWER,
    DBUSCTL_METRIC_LEASES_ALLOCATED_4,
    DBUSCTL_METRIC_LEASES_PRUNED_4,
    DBUSCTL_METRIC_LEASES_ALLOCATED_6,
    DBUSCTL_METRIC_LEASES_PRUNED_6,
    DBUSCTL_METRIC_TCP_CONNECTIONS,
    DBUSCTL_METRIC_COUNT
};

/* One upstream's counters for GetServerMetrics (summed over the workers and over every
 * record of the same address, as dnsmasq sums its server records). */
struct dbusctl_server_metrics {
    char address[80]; /* the address without port, as dnsmasq's prettyprint_addr */
    uint16_t port;
    uint64_t queries, failed_queries, nxdomain, retries;
    uint32_t latency_ms;
};

/* A decoded SetServers/SetServersEx/SetDomainServers call: the new D-Bus servers as server=
 * arguments ("/example.com/1.2.3.4#53", "/#/10.0.0.1", "/local.lan/" for a local-only
 * domain), in call order. Owned by the caller: dbusctl_servers_deinit frees them. */
struct dbusctl_servers {
    char **lines;
    size_t count;
    size_t cap;
};

void dbusctl_servers_deinit(struct dbusctl_servers *s);

/* What the daemon does for the calls. Each runs on the loop's thread inside a message
 * dispatch, and must not call dbusctl_free. */
struct dbusctl_ops {
    void *arg;
    /* Replaces every server set over D-Bus by lines[count] (a new configuration generation,
     * as a reload). Returns 0, or a negative code with the reason in errbuf (nothing
     * changed). */
    int (*set_servers)(void *arg, const char *const *lines, size_t count, char *errbuf,
                       size_t errlen);
    /* Empties the answer cache (ClearCache). */
    void (*clear_cache)(void *arg);
    /* Fills values[DBUSCTL_METRIC_COUNT] (GetMetrics). */
    void (*get_metrics)(void *arg, uint32_t *values);
    /* Returns the per-server counters in a new array (*out, freed by the caller with free()),
     * and their number (GetServerMetrics). */
    size_t (*get_server_metrics)(void *arg, struct dbusctl_server_metrics **out);
    /* Zeroes the counters GetMetrics/GetServerMetrics report (ClearMetrics). */
    void (*clear_metrics)(void *arg);
};

struct dbusctl;

/* Connects to the system bus (DBUS_SYSTEM_BUS_ADDRESS, else the standard socket), owns name
 * and exports DBUSCTL_PATH on loop; ops is copied. When the bus is not reachable, retries every
 * 250 ms (dnsmasq: "bus connection pending") and returns 0. Returns 0 with *out set, or a
 * negative code with dnsmasq's reason in errbuf (e.g. the bus refused the name: the daemon
 * exits with "DBus error: ..."); -ENOTSUP in a build without libdbus-1 (DNSROUTE_DBUS=OFF). */
int dbusctl_new(uv_loop_t *loop, const char *name, const struct dbusctl_ops *ops,
                struct dbusctl **out, char *errbuf, size_t errlen);
/* True once connected to the bus (for dnsmasq's start-up line). */
bool dbusctl_is_connected(const struct dbusctl *b);
/* Leaves the bus and closes the loop handles; the memory goes when the last close callback has
 * run, so the loop must run on. NULL is a no-op. */
void dbusctl_free(struct dbusctl *b);

/* Decodes a serialized D-Bus message (dbus_message_marshal format) that calls SetServers,
 * SetServersEx or SetDomainServers into *out (initialised by the caller, zeroed). Returns 0;
 * ERR_PARSE when data is no D-Bus message or another method; -EINVAL with dnsmasq's
 * org.freedesktop.DBus.Error.InvalidArgs text in errbuf ("Expected array of string arrays",
 * "Empty IP address", ...). For tests and fuzzing; the bus path uses the same decoder. */
int dbusctl_decode_wire(const uint8_t *data, size_t len, struct dbusctl_servers *out, char *errbuf,
                        size_t errlen);
