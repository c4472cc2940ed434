/* test_leases.c - dnsmasq's lease file read as dnsmasq reads it (fields, "*", the duid line, IPv6
 * leases, short and bad records), and the names a configuration serves from it (conf_hostsrc):
 * name and name.domain, PTR, a name moved to the later lease, expired leases, names the hosts
 * files already give. */
#include "dnsroute/leases.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "conf_text.h"
#include "dnsroute/conf.h"
#include "dnsroute/err.h"
#include "dnsroute/hosts.h"
#include "dnsroute/log.h"

struct seen {
    struct leases_entry e[8];
    int n;
};

static void on_lease(void *arg, const struct leases_entry *e)
{
    struct seen *s = arg;
    if (s->n < 8) {
        s->e[s->n++] = *e;
    }
}

static void test_parse(void)
{
    const char *path = conf_text_write(
        "leases", "1900000000 00:11:22:33:44:55 192.168.1.100 client1 01:00:11:22:33:44:55\n"
                  "0 aa:bb:cc:dd:ee:ff 192.168.1.101 * *\n"
                  "1900000000 00:11:22:33:44:56 999.1.1.1 bad *\n"
                  "duid 00:01:00:01:2c:5a:8e:11:52:54:00:12:34:56\n"
                  "1900000000 T1234 fd00::100 six 00:01:00:01:aa:bb\n"
                  "1900000000\n");
    struct seen s = {0};
    CHECK_INT_EQ(leases_read_file(path, on_lease, &s), ERR_PARSE); /* one field at the end */
    CHECK_INT_EQ(s.n, 3);
    CHECK_INT_EQ(s.e[0].family, AF_INET);
    CHECK(s.e[0].has_name);
    CHECK_STR_EQ(s.e[0].name, "client1");
    CHECK_INT_EQ(s.e[0].expires_s, 1900000000);
    CHECK_INT_EQ(s.e[0].hw_len, 6);
    CHECK_INT_EQ(s.e[0].hw_type, 1);
    CHECK_INT_EQ(s.e[0].clid_len, 7);
    CHECK(!s.e[1].has_name);
    CHECK_INT_EQ(s.e[1].clid_len, 0);
    CHECK_INT_EQ(s.e[2].family, AF_INET6);
    CHECK(s.e[2].temporary);
    CHECK_STR_EQ(s.e[2].name, "six");
    CHECK(leases_read_file("/nonexistent/leases", on_lease, &s) < 0);
    /* A bad server DUID ends the read (dnsmasq returns from read_leases). */
    path = conf_text_write("leases2", "duid zz\n0 00:11:22:33:44:55 10.0.0.1 late *\n");
    s.n = 0;
    CHECK_INT_EQ(leases_read_file(path, on_lease, &s), ERR_PARSE);
    CHECK_INT_EQ(s.n, 0);
    uint8_t out[8];
    int type = 0;
    CHECK_INT_EQ(leases_parse_hex("6-00:11:22", out, sizeof(out), &type, NULL), 3);
    CHECK_INT_EQ(type, 6);
    CHECK_INT_EQ(leases_parse_hex("0g", out, sizeof(out), NULL, NULL), -1);
    uint32_t wild = 0;
    CHECK_INT_EQ(leases_parse_hex("00:*:22:*", out, sizeof(out), NULL, &wild), 4);
    CHECK_INT_EQ(wild, 5); /* bytes 1 and 3 (of 0..3) */
}

static int load(struct conf *c, const char *conf_path)
{
    struct conf_error err;
    char *argv[] = {"dnsroute", "-C", (char *)conf_path, NULL};
    return conf_load(c, 3, argv, &err);
}

static const char *ptr4(const struct conf *c, const char *addr)
{
    uint8_t a[4];
    CHECK(inet_pton(AF_INET, addr, a) == 1);
    return hosts_lookup_addr(c->hosts, AF_INET, a);
}

static void test_names(void)
{
    int64_t now = 1800000000;
    const char *leases =
        conf_text_write("names.leases", "1900000000 00:11:22:33:44:01 192.168.1.100 client1 *\n"
                                        "1900000000 00:11:22:33:44:02 192.168.1.101 dup *\n"
                                        "1900000000 00:11:22:33:44:03 192.168.1.102 Dup *\n"
                                        "1700000000 00:11:22:33:44:04 192.168.1.103 old *\n"
                                        "1900000100 00:11:22:33:44:05 192.168.1.104 nas *\n"
                                        "1900000000 00:11:22:33:44:06 192.168.1.105 router *\n"
                                        "0 00:11:22:33:44:07 10.9.0.5 vmhost *\n");
    const char *hosts = conf_text_write("names.hosts", "192.168.1.1 router\n192.168.1.104 nas\n");
    char text[1024];
    (void)snprintf(text, sizeof(text),
                   "no-hosts\naddn-hosts=%s\ndhcp-leasefile=%s\ndomain=lan\n"
                   "domain=vm,10.9.0.0/16\n",
                   hosts, leases);
    struct conf c;
    CHECK_INT_EQ(load(&c, conf_text_write("names.conf", text)), 0);
    struct conf_hostsrc *s = conf_hostsrc_load(&c, now);
    CHECK(c.hosts != NULL);
    CHECK_INT_EQ(c.hosts_static_count, 2);
    CHECK(hosts_has_name(c.hosts, "client1", 7));
    CHECK(hosts_has_name(c.hosts, "client1.lan", 11)); /* name.domain without expand-hosts */
    CHECK_STR_EQ(ptr4(&c, "192.168.1.100"), "client1.lan");
    CHECK(ptr4(&c, "192.168.1.101") == NULL); /* the name moved to the later lease */
    CHECK_STR_EQ(ptr4(&c, "192.168.1.102"), "dup.lan");
    CHECK(!hosts_has_name(c.hosts, "old", 3));      /* expired */
    CHECK_STR_EQ(ptr4(&c, "192.168.1.104"), "nas"); /* in the hosts files with that address */
    CHECK(hosts_has_name(c.hosts, "nas.lan", 7));
    /* "router" has another address in the hosts files: only router.lan goes to the lease. */
    uint8_t r105[4] = {192, 168, 1, 105};
    CHECK(!hosts_has_addr(c.hosts, "router", 6, AF_INET, r105));
    CHECK_STR_EQ(ptr4(&c, "192.168.1.105"), "router.lan");
    CHECK_STR_EQ(ptr4(&c, "10.9.0.5"), "vmhost.vm"); /* domain= by subnet */
    CHECK_INT_EQ(conf_hostsrc_next_expiry(s, now), 100000000);
    /* Rebuilt after the lease file changed: the new lease is served, the static part kept. */
    conf_text_write("names.leases", "1900000000 00:11:22:33:44:09 192.168.1.120 newer *\n");
    conf_hostsrc_reload_leases(s, &c);
    struct hosts *h = conf_hostsrc_build(s, &c, now);
    CHECK(hosts_has_name(h, "newer.lan", 9));
    CHECK(!hosts_has_name(h, "client1", 7));
    CHECK(hosts_has_name(h, "router", 6));
    hosts_free(h);
    /* At the expiry time the lease's names go. */
    h = conf_hostsrc_build(s, &c, 1900000000);
    CHECK(!hosts_has_name(h, "newer", 5));
    hosts_free(h);
    conf_hostsrc_free(s);
    conf_deinit(&c);
}

/* dhcp-host= names replace the leases' own (checked against dnsmasq 2.90 with the same files):
 * by client id, exact MAC, wildcard MAC, a second MAC; only when the address fits. */
static void test_config_names(void)
{
    const char *leases = conf_text_write(
        "cfg.leases", "1900000000 00:11:22:33:44:66 10.9.0.110 clientname 01:02:03\n"
                      "1900000000 00:11:22:33:44:77 10.9.0.121 wrongaddr *\n"
                      "1900000000 00:11:22:33:44:55 10.9.0.50 sent *\n"
                      "1900000000 00:11:22:33:44:88 10.9.0.130 w *\n"
                      "1900000000 22:22:22:22:22:22 10.9.0.140 t *\n"
                      "1900000000 00:11:22:33:44:aa 10.9.0.150 fixed *\n");
    char text[1024];
    (void)snprintf(text, sizeof(text),
                   "no-hosts\ndhcp-leasefile=%s\n"
                   "dhcp-host=00:11:22:33:44:55,10.9.0.50,fixed.lan\n"
                   "dhcp-host=00:11:22:33:44:77,10.9.0.120,other\n"
                   "dhcp-host=id:01:02:03,idname,12h\n"
                   "dhcp-host=00:11:22:33:44:*,10.9.0.130,wild\n"
                   "dhcp-host=11:11:11:11:11:11,22:22:22:22:22:22,two,set:x\n"
                   "dhcp-host=00:11:22:33:44:99,10.9.0.60,nolease\n",
                   leases);
    struct conf c;
    CHECK_INT_EQ(load(&c, conf_text_write("cfg.conf", text)), 0);
    CHECK_INT_EQ(c.dhcp_host_count, 6);
    CHECK_STR_EQ(c.dhcp_hosts[0].name, "fixed");
    conf_hostsrc_free(conf_hostsrc_load(&c, 1800000000));
    CHECK_STR_EQ(ptr4(&c, "10.9.0.50"), "fixed");
    CHECK_STR_EQ(ptr4(&c, "10.9.0.110"), "idname");
    CHECK(!hosts_has_name(c.hosts, "clientname", 10));
    CHECK_STR_EQ(ptr4(&c, "10.9.0.121"), "wrongaddr"); /* the address does not fit */
    CHECK(!hosts_has_name(c.hosts, "other", 5));
    CHECK(!hosts_has_name(c.hosts, "sent", 4));
    CHECK_STR_EQ(ptr4(&c, "10.9.0.130"), "wild");
    CHECK_STR_EQ(ptr4(&c, "10.9.0.140"), "two");
    CHECK(ptr4(&c, "10.9.0.150") == NULL); /* its name went to the configured host */
    CHECK(!hosts_has_name(c.hosts, "nolease", 7));
    conf_deinit(&c);
    struct conf_error err;
    const char *bad[] = {"dhcp-host=00:11:zz\n", "dhcp-host=-bad\n",
                         "dhcp-host=a,10.0.0.1\ndhcp-host=b,10.0.0.1\n",
                         "dhcp-host=[fd00::1/200]\n", "dhcp-host=[fd00::zz]\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *argv[] = {"dnsroute", "-C", (char *)conf_text_write("bad.conf", bad[i]), NULL};
        CHECK(conf_load(&c, 3, argv, &err) < 0);
    }
    CHECK(strstr(err.message, "bad IPv6 address at line 1") != NULL);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_config_names),
    CHECK_CASE(test_parse),
    CHECK_CASE(test_names),
    {0},
};

int main(int argc, char **argv)
{
    log_set_level(LOG_LEVEL_ERROR);
    int rc = check_main(argc, argv, cases);
    conf_text_cleanup();
    return rc;
}
