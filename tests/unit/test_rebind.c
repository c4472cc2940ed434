/* test_rebind.c - the rebind address classes (dnsmasq 2.92+ private_net/private_net6) at and just
 * outside every boundary, with and without --rebind-localhost-ok, and --rebind-domain-ok matching
 * (whole labels, case, the empty domain for dotless names). */
#include <arpa/inet.h>

#include "check.h"
#include "dnsroute/rebind.h"

static bool priv(const char *text, bool localhost_ok)
{
    uint8_t a[16];
    if (inet_pton(AF_INET, text, a) == 1) {
        return rebind_addr_is_private(a, 4, localhost_ok);
    }
    CHECK(inet_pton(AF_INET6, text, a) == 1);
    return rebind_addr_is_private(a, 16, localhost_ok);
}

static void test_rebind_v4(void)
{
    const char *blocked[] = {"10.0.0.0",    "10.255.255.255", "172.16.0.1",  "172.31.255.255",
                             "192.168.1.1", "169.254.1.1",    "100.64.0.1",  "100.127.255.255",
                             "192.0.2.1",   "198.51.100.7",   "203.0.113.9", "255.255.255.255"};
    const char *public[] = {"9.255.255.255", "11.0.0.0",    "172.15.255.255",  "172.32.0.0",
                            "192.167.1.1",   "192.169.0.1", "100.63.255.255",  "100.128.0.0",
                            "192.0.3.1",     "8.8.8.8",     "114.114.114.114", "255.255.255.254"};
    for (size_t i = 0; i < sizeof(blocked) / sizeof(blocked[0]); i++) {
        CHECK(priv(blocked[i], false));
        CHECK(priv(blocked[i], true));
    }
    for (size_t i = 0; i < sizeof(public) / sizeof(public[0]); i++) {
        CHECK(!priv(public[i], false));
    }
    CHECK(priv("127.0.0.1", false));
    CHECK(priv("0.0.0.0", false));
    CHECK(!priv("127.0.0.1", true));
    CHECK(!priv("0.1.2.3", true));
}

static void test_rebind_v6(void)
{
    CHECK(priv("fe80::1", false));
    CHECK(priv("febf::1", false));
    CHECK(priv("fec0::1", false));
    CHECK(priv("fd00::53", false));
    CHECK(priv("fdff::1", false));
    CHECK(priv("2001:db8::1", false));
    CHECK(priv("::ffff:192.168.1.1", false));
    CHECK(priv("::ffff:127.0.0.1", false));
    CHECK(!priv("::ffff:127.0.0.1", true));
    CHECK(!priv("::ffff:8.8.8.8", false));
    CHECK(priv("::1", false));
    CHECK(priv("::", false));
    CHECK(!priv("::1", true));
    CHECK(!priv("::2", false));
    CHECK(!priv("fc00::1", false)); /* dnsmasq checks fd00::/8, not all of fc00::/7 */
    CHECK(!priv("2001:db9::1", false));
    CHECK(!priv("2400:3200::1", false));
    uint8_t a[16] = {10};
    CHECK(!rebind_addr_is_private(a, 5, false));
}

static void test_rebind_domains(void)
{
    char *list[] = {"lan", "example.com"};
    CHECK(rebind_domain_is_ok("lan", list, 2));
    CHECK(rebind_domain_is_ok("router.lan", list, 2));
    CHECK(rebind_domain_is_ok("a.B.Example.COM", list, 2));
    CHECK(!rebind_domain_is_ok("wlan", list, 2));
    CHECK(!rebind_domain_is_ok("badexample.com", list, 2));
    CHECK(!rebind_domain_is_ok("router", list, 2));
    char *empty[] = {""};
    CHECK(rebind_domain_is_ok("router", empty, 1));
    CHECK(!rebind_domain_is_ok("router.lan", empty, 1));
    CHECK(!rebind_domain_is_ok("x", list, 0));
}

static const struct check_case cases[] = {
    CHECK_CASE(test_rebind_v4),
    CHECK_CASE(test_rebind_v6),
    CHECK_CASE(test_rebind_domains),
    {0},
};

int main(int argc, char **argv)
{
    return check_main(argc, argv, cases);
}
