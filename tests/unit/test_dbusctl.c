/* test_dbusctl.c - decoding of the D-Bus server setters (SetServers, SetServersEx,
 * SetDomainServers) from serialized messages: dnsmasq's server= equivalents, its InvalidArgs
 * texts for malformed arguments, and applying the decoded lines with conf_load_dbus. */
#include "dnsroute/dbusctl.h"

#include <arpa/inet.h>
#include <dbus/dbus.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "dnsroute/conf.h"
#include "dnsroute/err.h"

static DBusMessage *call(const char *member)
{
    return dbus_message_new_method_call("uk.org.thekelleys.dnsmasq", DBUSCTL_PATH,
                                        "uk.org.thekelleys.dnsmasq", member);
}

/* Serializes msg (and unrefs it), then decodes it. */
static int decode(DBusMessage *msg, struct dbusctl_servers *out, char *errbuf, size_t errlen)
{
    char *wire = NULL;
    int len = 0;
    dbus_message_set_serial(msg, 1);
    CHECK(dbus_message_marshal(msg, &wire, &len));
    dbus_message_unref(msg);
    memset(out, 0, sizeof(*out));
    errbuf[0] = '\0';
    int rc = dbusctl_decode_wire((const uint8_t *)wire, (size_t)len, out, errbuf, errlen);
    dbus_free(wire);
    return rc;
}

/* Appends an "as" array of the given strings to it. */
static void append_strings(DBusMessageIter *it, const char *const *v, size_t n)
{
    DBusMessageIter arr;
    dbus_message_iter_open_container(it, DBUS_TYPE_ARRAY, DBUS_TYPE_STRING_AS_STRING, &arr);
    for (size_t i = 0; i < n; i++) {
        dbus_message_iter_append_basic(&arr, DBUS_TYPE_STRING, &v[i]);
    }
    dbus_message_iter_close_container(it, &arr);
}

static void test_set_servers_ex(void)
{
    static const char *const e1[] = {"1.2.3.4", "foobar.com"};
    static const char *const e2[] = {"1003:1234:abcd::1#5353", "eng.mycorp.com", ".lab.mycorp.com"};
    static const char *const e3[] = {"10.0.0.1"};
    static const char *const e4[] = {"0.0.0.0", "local.domain"};
    DBusMessage *m = call("SetServersEx");
    DBusMessageIter it, outer;
    dbus_message_iter_init_append(m, &it);
    dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "as", &outer);
    append_strings(&outer, e1, 2);
    append_strings(&outer, e2, 3);
    append_strings(&outer, e3, 1);
    append_strings(&outer, e4, 2);
    dbus_message_iter_close_container(&it, &outer);
    struct dbusctl_servers s;
    char err[256];
    CHECK_INT_EQ(decode(m, &s, err, sizeof(err)), 0);
    CHECK_INT_EQ(s.count, 5);
    CHECK_STR_EQ(s.lines[0], "/foobar.com/1.2.3.4");
    CHECK_STR_EQ(s.lines[1], "/eng.mycorp.com/1003:1234:abcd::1#5353");
    CHECK_STR_EQ(s.lines[2], "/lab.mycorp.com/1003:1234:abcd::1#5353");
    CHECK_STR_EQ(s.lines[3], "/#/10.0.0.1");
    CHECK_STR_EQ(s.lines[4], "/local.domain/");
    dbusctl_servers_deinit(&s);
}

static void test_set_domain_servers(void)
{
    static const char *const v[] = {"/foobar.com/1.2.3.4", "/a.com/b.com/::1", "/loc.al/",
                                    "9.9.9.9"};
    DBusMessage *m = call("SetDomainServers");
    DBusMessageIter it;
    dbus_message_iter_init_append(m, &it);
    append_strings(&it, v, 4);
    struct dbusctl_servers s;
    char err[256];
    CHECK_INT_EQ(decode(m, &s, err, sizeof(err)), 0);
    CHECK_INT_EQ(s.count, 5);
    CHECK_STR_EQ(s.lines[0], "/foobar.com/1.2.3.4");
    CHECK_STR_EQ(s.lines[1], "/a.com/::1");
    CHECK_STR_EQ(s.lines[2], "/b.com/::1");
    CHECK_STR_EQ(s.lines[3], "/loc.al/");
    CHECK_STR_EQ(s.lines[4], "/#/9.9.9.9");
    dbusctl_servers_deinit(&s);
}

static void test_set_servers_flat(void)
{
    /* dnsmasq: s_addr = ntohl(value), so 0x01020304 is 1.2.3.4; 16 BYTEs are IPv6; a short
     * IPv6 is skipped with its domains. */
    DBusMessage *m = call("SetServers");
    dbus_uint32_t a = 0x01020304, zero = 0;
    const char *d1 = "x.com", *d2 = "local.domain", *d3 = "skipped.com";
    unsigned char six[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
    DBusMessageIter it;
    dbus_message_iter_init_append(m, &it);
    dbus_message_iter_append_basic(&it, DBUS_TYPE_UINT32, &a);
    dbus_message_iter_append_basic(&it, DBUS_TYPE_STRING, &d1);
    for (int i = 0; i < 16; i++) {
        dbus_message_iter_append_basic(&it, DBUS_TYPE_BYTE, &six[i]);
    }
    dbus_message_iter_append_basic(&it, DBUS_TYPE_UINT32, &zero);
    dbus_message_iter_append_basic(&it, DBUS_TYPE_STRING, &d2);
    for (int i = 0; i < 3; i++) {
        dbus_message_iter_append_basic(&it, DBUS_TYPE_BYTE, &six[i]);
    }
    dbus_message_iter_append_basic(&it, DBUS_TYPE_STRING, &d3);
    struct dbusctl_servers s;
    char err[256];
    CHECK_INT_EQ(decode(m, &s, err, sizeof(err)), 0);
    CHECK_INT_EQ(s.count, 3);
    CHECK_STR_EQ(s.lines[0], "/x.com/1.2.3.4");
    CHECK_STR_EQ(s.lines[1], "/#/2001:db8::1");
    CHECK_STR_EQ(s.lines[2], "/local.domain/");
    dbusctl_servers_deinit(&s);
}

/* Each malformed call gets dnsmasq's InvalidArgs text. */
static void test_errors(void)
{
    struct dbusctl_servers s;
    char err[256];
    DBusMessage *m = call("SetServersEx");
    CHECK_INT_EQ(decode(m, &s, err, sizeof(err)), -EINVAL);
    CHECK_STR_EQ(err, "Failed to initialize dbus message iter");
    dbusctl_servers_deinit(&s);

    static const char *const flat[] = {"1.2.3.4"};
    m = call("SetServersEx");
    DBusMessageIter it;
    dbus_message_iter_init_append(m, &it);
    append_strings(&it, flat, 1);
    CHECK_INT_EQ(decode(m, &s, err, sizeof(err)), -EINVAL);
    CHECK_STR_EQ(err, "Expected array of string arrays");
    dbusctl_servers_deinit(&s);

    static const char *const empty[] = {""};
    DBusMessageIter outer;
    m = call("SetServersEx");
    dbus_message_iter_init_append(m, &it);
    dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "as", &outer);
    append_strings(&outer, empty, 1);
    dbus_message_iter_close_container(&it, &outer);
    CHECK_INT_EQ(decode(m, &s, err, sizeof(err)), -EINVAL);
    CHECK_STR_EQ(err, "Empty IP address");
    dbusctl_servers_deinit(&s);

    static const char *const noterm[] = {"/x.test"};
    m = call("SetDomainServers");
    dbus_message_iter_init_append(m, &it);
    append_strings(&it, noterm, 1);
    CHECK_INT_EQ(decode(m, &s, err, sizeof(err)), -EINVAL);
    CHECK_STR_EQ(err, "No domain terminator 'x.test'");
    dbusctl_servers_deinit(&s);

    static const char *const slash[] = {"1.2.3.4", "a/b"};
    m = call("SetServersEx");
    dbus_message_iter_init_append(m, &it);
    dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "as", &outer);
    append_strings(&outer, slash, 2);
    dbus_message_iter_close_container(&it, &outer);
    CHECK_INT_EQ(decode(m, &s, err, sizeof(err)), -EINVAL);
    CHECK_STR_EQ(err, "Invalid domain 'a/b'");
    dbusctl_servers_deinit(&s);
}

static void test_not_a_message(void)
{
    struct dbusctl_servers s;
    memset(&s, 0, sizeof(s));
    char err[64];
    CHECK_INT_EQ(dbusctl_decode_wire((const uint8_t *)"garbage", 7, &s, err, sizeof(err)),
                 ERR_PARSE);
    CHECK_INT_EQ(s.count, 0);
    DBusMessage *m = call("ClearCache");
    CHECK_INT_EQ(decode(m, &s, err, sizeof(err)), ERR_PARSE);
}

/* Decoded lines behave as server= lines: routed, marked from_dbus; a bad port is dnsmasq's
 * "Invalid IP address" error. */
static void test_apply(void)
{
    char *argv[] = {"dnsroute", "--no-resolv", "--conf-file=/dev/null",
                    "--server=/f.test/10.0.0.9"};
    const char *lines[] = {"/foobar.com/1.2.3.4#5353", "/#/10.0.0.1"};
    struct conf c;
    struct conf_error err;
    CHECK_INT_EQ(conf_load_dbus(&c, 4, argv, lines, 2, NULL, &err), 0);
    CHECK_INT_EQ(c.server_count, 3);
    CHECK(!c.servers[0].from_dbus);
    CHECK(c.servers[1].from_dbus && c.servers[2].from_dbus);
    CHECK_INT_EQ(ntohs(c.servers[1].addr.sin.sin_port), 5353);
    conf_deinit(&c);
    const char *bad[] = {"/#/10.0.0.1#99999"};
    CHECK(conf_load_dbus(&c, 4, argv, bad, 1, NULL, &err) < 0);
    CHECK_STR_EQ(err.message, "dnsroute: Invalid IP address '10.0.0.1#99999': bad port");
}

static const struct check_case cases[] = {
    CHECK_CASE(test_set_servers_ex),
    CHECK_CASE(test_set_domain_servers),
    CHECK_CASE(test_set_servers_flat),
    CHECK_CASE(test_errors),
    CHECK_CASE(test_not_a_message),
    CHECK_CASE(test_apply),
    {0},
};

int main(int argc, char **argv)
{
    return check_main(argc, argv, cases);
}
