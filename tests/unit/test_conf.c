/* test_conf.c - the configuration module: command line and file options, dnsmasq's error wording,
 * line numbers and exit codes, includes, conf-dir order, servers-file, resolv-file, the line
 * reader's quoting rules, ignored options, interning, --explain output, the conf/ examples and the
 * full china list with generated ipset= lines. Expected messages were taken from
 * `dnsmasq --test` 2.90 (with "dnsroute:" for "dnsmasq:"). */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "conf_text.h"
#include "conf_impl.h"
#include "dnsroute/conf.h"
#include "dnsroute/dname.h"
#include "dnsroute/err.h"
#include "dnsroute/log.h"

/* The names the loader asks its caller about, answered from a fixed table: the unit tests look
 * nothing up. "fail.test" fails with a resolver's own text, other unknown names as unresolvable
 * for now. */
static int test_host(void *ctx, const char *host, union sockaddr_any *out, size_t max,
                     const char **why)
{
    (void)ctx;
    static const struct {
        const char *host, *addrs[2];
    } table[] = {{"localhost", {"127.0.0.1", NULL}}, {"two.test", {"192.0.2.1", "2001:db8::1"}}};
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (strcmp(table[i].host, host) != 0) {
            continue;
        }
        int n = 0;
        for (; n < 2 && (size_t)n < max && table[i].addrs[n] != NULL; n++) {
            CHECK_INT_EQ(
                sockaddr_parse_ip(table[i].addrs[n], strlen(table[i].addrs[n]), 0, &out[n]), 0);
        }
        return n;
    }
    *why =
        strcmp(host, "fail.test") == 0 ? "Name or service not known" : "Cannot resolve server name";
    return ERR_NOT_FOUND;
}

static unsigned test_ifindex(void *ctx, const char *name)
{
    (void)ctx;
    return strcmp(name, "lo") == 0 ? 1 : strcmp(name, "eth7") == 0 ? 7 : 0;
}

static const struct conf_resolver test_resolver = {
    .host = test_host, .ifindex = test_ifindex, .ctx = NULL};

/* conf_load with a NULL-terminated list of arguments after argv[0], names answered by
 * test_resolver. */
static int load(struct conf *c, struct conf_error *err, ...)
{
    char *argv[128];
    int argc = 0;
    argv[argc++] = "dnsroute";
    va_list ap;
    va_start(ap, err);
    for (char *a = va_arg(ap, char *); a != NULL; a = va_arg(ap, char *)) {
        argv[argc++] = a;
    }
    va_end(ap);
    argv[argc] = NULL;
    return conf_load_dbus(c, argc, argv, NULL, 0, &test_resolver, err);
}

static void route(const struct conf *c, const char *name, uint16_t qtype, struct domtree_result *r)
{
    char key[DNAME_KEY_MAX];
    bool wild;
    int len = dname_canonicalise(name, strlen(name), false, &wild, key, sizeof(key));
    CHECK(len >= 0);
    domtree_lookup(c->tree, key, (size_t)len, qtype, r);
}

/* The text of the first server of the group a name is forwarded to ("" when not forwarded). */
static const char *first_server(const struct conf *c, const char *name)
{
    static char text[SOCKADDR_TEXT_MAX];
    struct domtree_result r;
    route(c, name, 1, &r);
    if (r.action != DOMTREE_FORWARD) {
        return "";
    }
    uint32_t n = 0;
    const uint32_t *ids = conf_group_servers(c, r.group, &n);
    CHECK(n > 0);
    sockaddr_format(&c->servers[ids[0]].addr, true, text, sizeof(text));
    return text;
}

static uint32_t group_size(const struct conf *c, const char *name)
{
    struct domtree_result r;
    route(c, name, 1, &r);
    uint32_t n = 0;
    if (r.action == DOMTREE_FORWARD) {
        conf_group_servers(c, r.group, &n);
    }
    return n;
}

static void test_defaults(void)
{
    struct conf c;
    struct conf_error err;
    CHECK_INT_EQ(conf_text_load(&c, &err, ""), 0);
    CHECK_INT_EQ(c.port, 53);
    CHECK_INT_EQ(c.cache_size, 150);
    CHECK_INT_EQ(c.dns_forward_max, 5000);
    CHECK_INT_EQ(c.edns_packet_max, 1232);
    CHECK_INT_EQ(c.max_tcp_connections, 20);
    CHECK_STR_EQ(c.user, "nobody");
    CHECK_STR_EQ(c.group, "dip");
    CHECK_STR_EQ(c.pid_file, "/var/run/dnsmasq.pid");
    CHECK_STR_EQ(c.resolv_files[0], "/etc/resolv.conf");
    CHECK(c.no_resolv);
    CHECK_INT_EQ(c.server_count, 0);
    CHECK(c.log_facility == NULL);
    CHECK_INT_EQ(c.log_queries, CONF_LOG_QUERIES_OFF);
    struct domtree_result r;
    route(&c, "example.com", 1, &r);
    CHECK_INT_EQ(r.action, DOMTREE_REFUSED);
    conf_deinit(&c);
}

static void check_all_options(const struct conf *c)
{
    CHECK_INT_EQ(c->port, 5353);
    CHECK_INT_EQ(c->cache_size, 1000);
    CHECK_INT_EQ(c->min_cache_ttl_s, 60);
    CHECK_INT_EQ(c->max_cache_ttl_s, 86400);
    CHECK_INT_EQ(c->neg_ttl_s, 30);
    CHECK_INT_EQ(c->local_ttl_s, 5);
    CHECK_INT_EQ(c->max_ttl_s, 600);
    CHECK_INT_EQ(c->dns_forward_max, 300);
    CHECK_INT_EQ(c->edns_packet_max, 1400);
    CHECK_INT_EQ(c->query_port, 4000);
    CHECK_INT_EQ(c->min_port, 2000);
    CHECK_INT_EQ(c->max_port, 3000);
    CHECK_INT_EQ(c->max_tcp_connections, 50);
    CHECK(c->no_resolv && c->strict_order && c->all_servers && c->no_negcache);
    CHECK(c->domain_needed && c->bogus_priv && c->filter_a && c->filter_aaaa && c->no_hosts);
    CHECK(c->bind_interfaces && c->keep_in_foreground && c->no_daemon && c->test_only);
    CHECK_INT_EQ(c->log_queries, CONF_LOG_QUERIES_EXTRA);
    CHECK_STR_EQ(c->log_facility, "local3");
    CHECK_STR_EQ(c->user, "dnsroute");
    CHECK_STR_EQ(c->group, "nogroup");
    CHECK_STR_EQ(c->pid_file, "/run/x.pid");
    CHECK_STR_EQ(c->servers_file, "/nonexistent/servers");
    CHECK_INT_EQ(c->listen_addr_count, 2);
    CHECK_INT_EQ(c->listen_addrs[1].sa.sa_family, AF_INET6);
    CHECK_INT_EQ(c->interface_count, 2);
    CHECK_STR_EQ(c->interfaces[1], "eth*");
    CHECK_INT_EQ(c->except_interface_count, 1);
    CHECK_STR_EQ(c->except_interfaces[0], "wan0");
    CHECK_INT_EQ(c->bogus_nxdomain_count, 2);
    CHECK_INT_EQ(c->bogus_nxdomain[1].prefix_len, 64);
    /* The lookup set holds the same prefixes: 1.2.3.4/32 and 2001:db8::/64. */
    CHECK_INT_EQ(prefixset_count(c->bogus_set), 2);
    CHECK(prefixset_has(c->bogus_set, AF_INET, (const uint8_t[4]){1, 2, 3, 4}));
    CHECK(!prefixset_has(c->bogus_set, AF_INET, (const uint8_t[4]){1, 2, 3, 5}));
    CHECK(
        prefixset_has(c->bogus_set, AF_INET6,
                      (const uint8_t[16]){0x20, 0x01, 0x0d, 0xb8, [7] = 0, [8] = 0xff, [15] = 1}));
    CHECK_STR_EQ(first_server(c, "www.a.com"), "10.0.0.1#53");
    struct domtree_result r;
    route(c, "x.local.test", 1, &r);
    CHECK_INT_EQ(r.action, DOMTREE_NXDOMAIN);
    route(c, "ads.test", 1, &r);
    CHECK_INT_EQ(r.action, DOMTREE_ADDRESS);
    route(c, "www.a.com", 28, &r);
    CHECK_STR_EQ(c->sets[c->setlist_items[c->setlists[r.ipset_list].first]].name, "s4");
    CHECK_STR_EQ(c->sets[c->setlist_items[c->setlists[r.nftset_list].first]].name, "set6");
    CHECK_INT_EQ(c->resolv_file_count, 1);
    CHECK_STR_EQ(c->resolv_files[0], "/nonexistent/resolv");
}

static void test_options_from_file(void)
{
    struct conf c;
    struct conf_error err;
    int rc =
        conf_text_load(&c, &err,
                       "port=5353\ncache-size=1000\nmin-cache-ttl=60\nmax-cache-ttl=86400\n"
                       "neg-ttl=30\nlocal-ttl=5\nmax-ttl=600\ndns-forward-max=300\n"
                       "edns-packet-max=1400\nquery-port=4000\nmin-port=2000\nmax-port=3000\n"
                       "max-tcp-connections=50\nno-resolv\nstrict-order\nall-servers\n"
                       "no-negcache\ndomain-needed\nbogus-priv\nfilter-A\nfilter-AAAA\nno-hosts\n"
                       "bind-interfaces\nkeep-in-foreground\nno-daemon\ntest\nlog-queries=extra\n"
                       "log-facility=local3\nuser=dnsroute\ngroup=nogroup\npid-file=/run/x.pid\n"
                       "servers-file=/nonexistent/servers\nlisten-address=127.0.0.1,::1\n"
                       "interface=lo,eth*\nexcept-interface=wan0\nbogus-nxdomain=1.2.3.4\n"
                       "bogus-nxdomain=2001:db8::/64\nserver=/a.com/10.0.0.1\n"
                       "local=/local.test/\naddress=/ads.test/0.0.0.0\nipset=/a.com/s4,s6\n"
                       "nftset=/a.com/6#inet#fw#set6\nresolv-file=/nonexistent/resolv\n");
    CHECK_INT_EQ(rc, 0);
    check_all_options(&c);
    conf_deinit(&c);
}

static void test_options_from_cmdline(void)
{
    struct conf c;
    struct conf_error err;
    const char *empty = conf_text_write("empty.conf", "");
    int rc = load(&c, &err, "-C", empty, "-p", "5353", "-c", "1000", "--min-cache-ttl=60",
                  "--max-cache-ttl", "86400", "--neg-ttl=30", "-T", "5", "--max-ttl=600", "-0",
                  "300", "-P", "1400", "-Q", "4000", "--min-port=2000", "--max-port=3000",
                  "--max-tcp-connections=50", "-R", "-o", "--all-servers", "-N", "-D", "-b",
                  "--filter-A", "--filter-AAAA", "-h", "-z", "-k", "-d", "--test",
                  "--log-queries=extra", "-8", "local3", "-u", "dnsroute", "-g", "nogroup", "-x",
                  "/run/x.pid", "--servers-file=/nonexistent/servers", "-a", "127.0.0.1,::1", "-i",
                  "lo", "--interface=eth*", "-I", "wan0", "-B", "1.2.3.4",
                  "--bogus-nxdomain=2001:db8::/64", "-S", "/a.com/10.0.0.1", "--local=/local.test/",
                  "-A", "/ads.test/0.0.0.0", "--ipset=/a.com/s4,s6",
                  "--nftset=/a.com/6#inet#fw#set6", "-r", "/nonexistent/resolv", NULL);
    CHECK_INT_EQ(rc, 0);
    check_all_options(&c);
    conf_deinit(&c);
}

/* A file value overrides the command line for once-only options; repeats are errors. */
static void test_repeats(void)
{
    struct conf c;
    struct conf_error err;
    const char *path = conf_text_write("t.conf", "cache-size=20\n");
    CHECK_INT_EQ(load(&c, &err, "-C", path, "-R", "-c", "10", NULL), 0);
    CHECK_INT_EQ(c.cache_size, 20);
    conf_deinit(&c);
    conf_text_expect_error("cache-size=10\n\ncache-size=20\n", "illegal repeated keyword", 3, 1);
    conf_text_expect_error("port=1\nport=2\n", "illegal repeated keyword", 2, 1);
    CHECK(load(&c, &err, "-C", path, "-c", "1", "-c", "2", NULL) < 0);
    CHECK_STR_EQ(err.message, "dnsroute: bad command line options: illegal repeated flag");
    CHECK_INT_EQ(err.exit_code, 1);
    /* Repeatable options stay repeatable. */
    CHECK_INT_EQ(conf_text_load(&c, &err, "server=1.1.1.1\nserver=2.2.2.2\nno-resolv\nno-resolv\n"),
                 0);
    CHECK_INT_EQ(c.server_count, 2);
    conf_deinit(&c);
}

static void test_file_errors(void)
{
    static const struct {
        const char *text;
        const char *msg;
        unsigned line;
    } cases[] = {
        {"no-resolv=yes\n", "extraneous parameter", 1},
        {"\n\nserver\n", "missing parameter", 3},
        {"foo=1\n", "bad option", 1},
        {"SERVER=/a/1.2.3.4\n", "bad option", 1},
        {"; comment\n", "bad option", 1},
        {"explain=a.com\n", "bad option", 1},
        {"server=/a.com/1.2.3.4#99999\n", "bad port", 1},
        {"server=/a.com/1.2.3.4#53#54\n", "bad port", 1},
        {"server=1.2.3.4@1.1.1.1#x\n", "bad port", 1},
        {"address=/a/xyz\n", "Bad address in --address", 1},
        {"ipset=/a.com/\n", "error", 1},
        {"nftset=/a.com/\n", "error", 1},
        {"nftset=/a.com/a#b#c#d#e\n", "error", 1},
        {"nftset=/a.com/4#s\n", "error", 1},
        {"nftset=/a.com/bogus#t#s\n", "error", 1},
        {"listen-address=localhost\n", "error", 1},
        {"listen-address=fe80::1%lo\n", "error", 1},
        {"server=1.2.3.4@::1\n", "cannot use IPv4 server address with IPv6 source address", 1},
        {"server=/a/::1@1.2.3.4\n", "cannot use IPv6 server address with IPv4 source address", 1},
        {"server=fe80::1%nosuchif0\n", "bad interface name", 1},
        {"server=1.2.3.4@1.1.1.1@eth0\n", "interface can only be specified once", 1},
        {"log-facility=bogus\n", "bad log facility", 1},
        {"bogus-nxdomain=1.2.3.4/33\n", "error", 1},
        {"bogus-nxdomain=::1/129\n", "error", 1},
        {"bogus-nxdomain=nope\n", "error", 1},
        {"cache-size=abc\n", "error", 1},
        {"cache-size=-1\n", "error", 1},
        {"port=70000\n", "error", 1},
        {"query-port=70000\n", "error", 1},
        {"min-port=70000\n", "error", 1},
        {"neg-ttl=abc\n", "error", 1},
        {"use-stale-cache=-1\n", "error", 1},
        {"use-stale-cache=1h\n", "error", 1},
        {"use-stale-cache\nuse-stale-cache=5\n", "illegal repeated keyword", 2},
        {"max-tcp-connections=0\n", "error", 1},
        {"server=\"a\n", "missing \"", 1},
        {"rev-server=1.2.3.0/40,1.1.1.1\n", "bad IPv4 prefix length", 1},
        {"rev-server=::/129\n", "bad IPv6 prefix length", 1},
        {"rev-server=foo\n", "error", 1},
        {"server=/a..b/1.1.1.1\nserver=/"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         ".com/1.1.1.1\n",
         "error", 2},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        (void)fprintf(stderr, "  case: %s", cases[i].text);
        conf_text_expect_error(cases[i].text, cases[i].msg, cases[i].line, 1);
    }
}

static void test_cmdline_errors(void)
{
    struct conf c;
    struct conf_error err;
    const char *empty = conf_text_write("empty.conf", "");
    CHECK(load(&c, &err, "-C", empty, "--foo", NULL) < 0);
    CHECK_STR_EQ(err.message, "dnsroute: bad command line options: try --help");
    CHECK_INT_EQ(err.exit_code, 1);
    CHECK(load(&c, &err, "-C", empty, "-p", NULL) < 0);
    CHECK_STR_EQ(err.message, "dnsroute: bad command line options: try --help");
    CHECK(load(&c, &err, "-C", empty, "--no-resolv=1", NULL) < 0);
    CHECK_STR_EQ(err.message, "dnsroute: bad command line options: try --help");
    CHECK(load(&c, &err, "-C", empty, "junk", NULL) < 0);
    CHECK_STR_EQ(err.message, "dnsroute: junk found in command line");
    CHECK(load(&c, &err, "-C", empty, "-p", "abc", NULL) < 0);
    CHECK_STR_EQ(err.message, "dnsroute: bad command line options: error");
    CHECK(load(&c, &err, "-C", empty, "--explain=a.com,BOGUS", NULL) < 0);
    CHECK_STR_EQ(err.message, "dnsroute: bad command line options: bad RR type");
    CHECK(load(&c, &err, "-C", empty, "-A", "/a/b/c", NULL) < 0);
    CHECK_STR_EQ(err.message, "dnsroute: bad command line options: Bad address in --address");
}

/* 32-bit builds need 64-bit file offsets, inode numbers and time (CMakeLists.txt): without them
 * readdir() fails with EOVERFLOW on file systems with 64-bit inode numbers, and an armhf build
 * loaded 1 domain of a 111k-line conf-dir. Checked here so the cross presets (qemu) catch a
 * build that lost the flags. */
static void test_large_types(void)
{
    CHECK_INT_EQ(sizeof(off_t), 8);
    CHECK_INT_EQ(sizeof(ino_t), 8);
    CHECK_INT_EQ(sizeof(time_t), 8);
    CHECK_INT_EQ(sizeof(((struct dirent *)NULL)->d_ino), 8);
}

static void test_missing_files(void)
{
    struct conf c;
    struct conf_error err;
    char want[256];
    CHECK(load(&c, &err, "-C", "/nonexistent/x.conf", NULL) < 0);
    (void)snprintf(want, sizeof(want), "dnsroute: cannot read /nonexistent/x.conf: %s",
                   strerror(ENOENT));
    CHECK_STR_EQ(err.message, want);
    CHECK_INT_EQ(err.exit_code, 3);
    CHECK(conf_text_load(&c, &err, "no-resolv\nconf-file=/nonexistent/y.conf\n") < 0);
    (void)snprintf(want, sizeof(want), "dnsroute: cannot read /nonexistent/y.conf: %s",
                   strerror(ENOENT));
    CHECK_STR_EQ(err.message, want);
    CHECK_INT_EQ(err.exit_code, 3);
    CHECK(conf_text_load(&c, &err, "conf-dir=/nonexistent/d,*.conf\n") < 0);
    (void)snprintf(want, sizeof(want), "dnsroute: cannot access directory /nonexistent/d: %s",
                   strerror(ENOENT));
    CHECK_STR_EQ(err.message, want);
    CHECK_INT_EQ(err.exit_code, 3);
    /* The default /etc/dnsmasq.conf may be missing. */
    if (access("/etc/dnsmasq.conf", F_OK) == 0) {
        CHECK_SKIP("/etc/dnsmasq.conf exists here");
    }
    CHECK_INT_EQ(load(&c, &err, "-R", NULL), 0);
    conf_deinit(&c);
}

/* conf-file=/dev/null is an empty file (NetworkManager passes it; dnsmasq accepts it); a FIFO,
 * /dev/zero and other non-regular files are refused at once (exit 3) instead of blocking in open
 * or reading forever; a directory reads as empty, as in dnsmasq; a FIFO as servers-file is logged
 * and skipped like a missing one (dnsmasq 2.90 starts without it, exit 0). */
static void test_non_regular_files(void)
{
    struct conf c;
    struct conf_error err;
    CHECK_INT_EQ(load(&c, &err, "-C", "/dev/null", "-R", NULL), 0);
    conf_deinit(&c);
    CHECK_INT_EQ(conf_text_load(&c, &err, "no-resolv\nconf-file=/dev/null\nconf-file=/tmp\n"), 0);
    conf_deinit(&c);
    CHECK(load(&c, &err, "-C", "/dev/zero", "-R", NULL) < 0);
    CHECK_STR_EQ(err.message, "dnsroute: cannot read /dev/zero: not a regular file");
    CHECK_INT_EQ(err.exit_code, 3);
    const char *fifo = conf_text_write("fifo", "");
    CHECK_INT_EQ(unlink(fifo), 0);
    CHECK_INT_EQ(mkfifo(fifo, 0600), 0);
    char text[512], msg[600];
    (void)snprintf(text, sizeof(text), "no-resolv\nconf-file=%s\n", fifo);
    CHECK(conf_text_load(&c, &err, text) < 0);
    (void)snprintf(msg, sizeof(msg), "dnsroute: cannot read %s: not a regular file", fifo);
    CHECK_STR_EQ(err.message, msg);
    CHECK_INT_EQ(err.exit_code, 3);
    (void)snprintf(text, sizeof(text), "no-resolv\nservers-file=%s\n", fifo);
    CHECK_INT_EQ(conf_text_load(&c, &err, text), 0);
    conf_deinit(&c);
    CHECK_INT_EQ(unlink(fifo), 0);
}

/* Includes are read inline; one (dev, inode) is read once; errors name the inner file. */
static void test_includes(void)
{
    struct conf c;
    struct conf_error err;
    char text[1024];
    const char *inc = conf_text_write("inc.conf", "server=2.2.2.2\n");
    (void)snprintf(text, sizeof(text),
                   "server=1.1.1.1\nconf-file=%s\nconf-file=%s\nconf-file=%s/t.conf\nconf-file=\n"
                   "server=3.3.3.3\n",
                   inc, inc, conf_text_tmpdir());
    CHECK_INT_EQ(conf_text_load(&c, &err, text), 0);
    CHECK_INT_EQ(c.server_count, 3);
    char addr[SOCKADDR_TEXT_MAX];
    sockaddr_format(&c.servers[1].addr, false, addr, sizeof(addr));
    CHECK_STR_EQ(addr, "2.2.2.2");
    CHECK_INT_EQ(group_size(&c, "x.org"), 3);
    conf_deinit(&c);
    /* A second -C is read at once, before the main file. */
    const char *main_file = conf_text_write("main.conf", "server=9.9.9.9\n");
    CHECK_INT_EQ(load(&c, &err, "-R", "-C", main_file, "-C", inc, NULL), 0);
    sockaddr_format(&c.servers[0].addr, false, addr, sizeof(addr));
    CHECK_STR_EQ(addr, "2.2.2.2");
    conf_deinit(&c);
    /* An error inside an include names that file and its line. */
    const char *bad = conf_text_write("bad.conf", "\nbogus-option\n");
    (void)snprintf(text, sizeof(text), "conf-file=%s\n", bad);
    CHECK(conf_text_load(&c, &err, text) < 0);
    char want[512];
    (void)snprintf(want, sizeof(want), "dnsroute: bad option at line 2 of %s", bad);
    CHECK_STR_EQ(err.message, want);
}

static void test_stdin_once(void)
{
    struct conf c;
    struct conf_error err;
    const char *in = conf_text_write("stdin.conf", "server=4.4.4.4\n");
    int saved = dup(0);
    int fd = open(in, O_RDONLY);
    CHECK(fd >= 0 && saved >= 0);
    (void)dup2(fd, 0);
    (void)close(fd);
    int rc = conf_text_load(&c, &err, "conf-file=-\nconf-file=-\n");
    (void)dup2(saved, 0);
    (void)close(saved);
    clearerr(stdin);
    CHECK_INT_EQ(rc, 0);
    CHECK_INT_EQ(c.server_count, 1);
    conf_deinit(&c);
}

static void test_conf_dir(void)
{
    struct conf c;
    struct conf_error err;
    char dir[128], text[512];
    (void)snprintf(dir, sizeof(dir), "%s/d", conf_text_tmpdir());
    (void)mkdir(dir, 0700);
    char sub[160];
    (void)snprintf(sub, sizeof(sub), "%s/sub.conf", dir);
    (void)mkdir(sub, 0700);
    conf_text_write("d/b.conf", "server=2.2.2.2\n");
    conf_text_write("d/a.conf", "server=1.1.1.1\n");
    conf_text_write("d/B.conf", "server=3.3.3.3\n");
    conf_text_write("d/c.bak", "server=4.4.4.4\n");
    conf_text_write("d/e.txt", "server=5.5.5.5\n");
    conf_text_write("d/.hidden.conf", "bad line\n");
    conf_text_write("d/x.conf~", "bad line\n");
    conf_text_write("d/#x.conf#", "bad line\n");
    conf_text_write("d/.conf", "bad line\n");
    (void)snprintf(text, sizeof(text), "conf-dir=%s,*.conf\n", dir);
    CHECK_INT_EQ(conf_text_load(&c, &err, text), 0);
    /* strcmp order of full paths: B.conf < a.conf < b.conf. */
    CHECK_INT_EQ(c.server_count, 3);
    char addr[SOCKADDR_TEXT_MAX];
    const char *want[] = {"3.3.3.3", "1.1.1.1", "2.2.2.2"};
    for (int i = 0; i < 3; i++) {
        sockaddr_format(&c.servers[i].addr, false, addr, sizeof(addr));
        CHECK_STR_EQ(addr, want[i]);
    }
    conf_deinit(&c);
    (void)snprintf(text, sizeof(text), "conf-dir=%s,.bak\n", dir);
    CHECK_INT_EQ(conf_text_load(&c, &err, text), 0);
    CHECK_INT_EQ(c.server_count, 4); /* B, a, b and e.txt */
    conf_deinit(&c);
    (void)snprintf(text, sizeof(text), "conf-dir=%s,*.txt,*.bak\n", dir);
    CHECK_INT_EQ(conf_text_load(&c, &err, text), 0);
    CHECK_INT_EQ(c.server_count, 2);
    conf_deinit(&c);
}

static void test_servers_file(void)
{
    struct conf c;
    struct conf_error err;
    const char *sf = conf_text_write("servers", "server=/a.com/1.1.1.1\ncache-size=5\nbogus\n"
                                                "server=/b.com/1.2.3.x.y#zz\nrev-server=10.0.0.0/8,"
                                                "2.2.2.2\nserver=/c.com/3.3.3.3\n");
    char text[512];
    (void)snprintf(text, sizeof(text), "servers-file=%s\n", sf);
    CHECK_INT_EQ(conf_text_load(&c, &err, text), 0);
    CHECK_INT_EQ(c.cache_size, 150);
    CHECK_STR_EQ(first_server(&c, "www.a.com"), "1.1.1.1#53");
    CHECK_STR_EQ(first_server(&c, "www.c.com"), "3.3.3.3#53");
    CHECK_STR_EQ(first_server(&c, "4.3.2.10.in-addr.arpa"), "2.2.2.2#53");
    CHECK(c.servers[0].from_servers_file);
    conf_deinit(&c);
    CHECK_INT_EQ(conf_text_load(&c, &err, "servers-file=/nonexistent/servers\n"), 0);
    conf_deinit(&c);
}

static void test_resolv_file(void)
{
    struct conf c;
    struct conf_error err;
    const char *rf = conf_text_write("resolv", "# comment\nsearch lan\nnameserver 10.1.1.1\n"
                                               "nameserver\tfe80::1%lo\r\nnameserver bogus\n"
                                               "server 10.2.2.2\n");
    const char *cf = conf_text_write("t.conf", "server=/x.org/9.9.9.9\n");
    CHECK_INT_EQ(load(&c, &err, "-C", cf, "-r", rf, NULL), 0);
    CHECK_INT_EQ(c.server_count, 4);
    CHECK(c.servers[1].from_resolv && !c.servers[0].from_resolv);
    CHECK_STR_EQ(first_server(&c, "example.com"), "10.1.1.1#53");
    CHECK_INT_EQ(group_size(&c, "example.com"), 3);
    CHECK_INT_EQ(c.servers[2].addr.sin6.sin6_scope_id, 1);
    CHECK_STR_EQ(first_server(&c, "www.x.org"), "9.9.9.9#53");
    conf_deinit(&c);
    /* no-resolv, and an empty first resolv-file=, read nothing. */
    CHECK_INT_EQ(load(&c, &err, "-C", cf, "-r", rf, "-R", NULL), 0);
    CHECK_INT_EQ(c.server_count, 1);
    conf_deinit(&c);
    CHECK_INT_EQ(load(&c, &err, "-C", cf, "--resolv-file=", NULL), 0);
    CHECK_INT_EQ(c.resolv_file_count, 0);
    CHECK_INT_EQ(c.server_count, 1);
    conf_deinit(&c);
    /* Of several resolv files the newest is used. */
    const char *old = conf_text_write("resolv.old", "nameserver 10.9.9.9\n");
    struct timespec times[2] = {{1000000, 0}, {1000000, 0}};
    (void)utimensat(AT_FDCWD, old, times, 0);
    CHECK_INT_EQ(load(&c, &err, "-C", cf, "-r", old, "-r", rf, NULL), 0);
    CHECK_STR_EQ(first_server(&c, "example.com"), "10.1.1.1#53");
    conf_deinit(&c);
}

static void test_line_reader(void)
{
    struct conf c;
    struct conf_error err;
    /* Quotes with escapes, CRLF, tabs, spaces around '=', '#' comments only at word start. */
    int rc = conf_text_load(&c, &err,
                            "  server = /a.com/ 1.1.1.1 # comment\r\n"
                            "\tserver=/b.com/\"1.1.1.2\"#5353\t\n"
                            "# whole-line comment\n\n"
                            "user=\"a b\\\"c\\\\\"\n"
                            "interface=\"x,y\"\n"
                            "server=/c.com/1.1.1.3#53 #c\n");
    CHECK_INT_EQ(rc, 0);
    CHECK_STR_EQ(first_server(&c, "a.com"), "1.1.1.1#53");
    CHECK_STR_EQ(first_server(&c, "b.com"), "1.1.1.2#5353");
    CHECK_STR_EQ(first_server(&c, "c.com"), "1.1.1.3#53");
    CHECK_STR_EQ(c.user, "a b\"c\\");
    CHECK_INT_EQ(c.interface_count, 1);
    CHECK_STR_EQ(c.interfaces[0], "x,y");
    conf_deinit(&c);
    /* A line longer than 1024 bytes is split: the rest is read as the next line. */
    char text[2200];
    memset(text, 'x', sizeof(text));
    text[0] = '#';
    memcpy(text + 1024, "cache-size=7\nfoo\n", 18);
    CHECK_INT_EQ(conf_text_load(&c, &err, text) < 0, 1);
    char want[512];
    (void)snprintf(want, sizeof(want), "dnsroute: bad option at line 3 of %s/t.conf",
                   conf_text_tmpdir());
    CHECK_STR_EQ(err.message, want);
    text[1024 + 13] = '\0';
    CHECK_INT_EQ(conf_text_load(&c, &err, text), 0);
    CHECK_INT_EQ(c.cache_size, 7);
    conf_deinit(&c);
}

static void test_ignored_options(void)
{
    struct conf c;
    struct conf_error err;
    CHECK_INT_EQ(conf_text_load(&c, &err,
                                "dhcp-range=1.2.3.4,1.2.3.5\ndhcp-range=1.2.3.6,1.2.3.7\n"
                                "enable-tftp\nleasequery\ndhcp-boot=x\ntftp-root=/x\n"
                                "dhcp-authoritative\nno-poll\n"),
                 0);
    CHECK_INT_EQ(c.warnings, 7);
    CHECK_STR_EQ(c.lease_file, "/var/lib/misc/dnsmasq.leases"); /* dnsmasq's default with DHCP */
    conf_deinit(&c);
    /* hostsdir= in order; dhcp-leasefile= is read for names (no warning), no default without
     * dhcp-range. */
    CHECK_INT_EQ(conf_text_load(&c, &err, "hostsdir=/a\nhostsdir=/b\ndhcp-leasefile=/x/leases\n"),
                 0);
    CHECK_INT_EQ(c.warnings, 0);
    CHECK_INT_EQ(c.hostsdir_count, 2);
    CHECK_STR_EQ(c.hostsdirs[1], "/b");
    CHECK_STR_EQ(c.lease_file, "/x/leases");
    conf_deinit(&c);
    CHECK_INT_EQ(conf_text_load(&c, &err, "no-hosts\n"), 0);
    CHECK(c.lease_file == NULL);
    conf_deinit(&c);
    conf_text_expect_error("dhcp-leasefile=/a\ndhcp-leasefile=/b\n", "illegal repeated keyword", 2,
                           1);
    /* Local names: addn-hosts in order, domain= plain and per subnet (the last given first). */
    CHECK_INT_EQ(conf_text_load(&c, &err,
                                "addn-hosts=/a\naddn-hosts=/b\nexpand-hosts\ndomain=Lan\n"
                                "domain=vm,10.20.0.0/16\ndomain=sub,10.20.1.0/24,local\n"
                                "domain=r6,fd00::1,fd00::9\n"),
                 0);
    CHECK_INT_EQ(c.warnings, 0);
    CHECK_INT_EQ(c.addn_hosts_count, 2);
    CHECK_STR_EQ(c.addn_hosts[1], "/b");
    CHECK(c.expand_hosts);
    uint8_t a1[4] = {10, 20, 1, 7}, a2[4] = {10, 20, 2, 7}, a3[4] = {10, 21, 0, 1};
    CHECK_STR_EQ(conf_domain_of(&c, AF_INET, a1), "sub");
    CHECK_STR_EQ(conf_domain_of(&c, AF_INET, a2), "vm");
    CHECK_STR_EQ(conf_domain_of(&c, AF_INET, a3), "lan");
    uint8_t b6[16] = {0xfd, 0, [15] = 5}, c6[16] = {0xfd, 0, [15] = 0x10};
    CHECK_STR_EQ(conf_domain_of(&c, AF_INET6, b6), "r6");
    CHECK_STR_EQ(conf_domain_of(&c, AF_INET6, c6), "lan");
    conf_deinit(&c);
    conf_text_expect_error("domain=x,10.0.0.0/33\n", "bad prefix length", 1, 1);
    conf_text_expect_error("domain=x,10.0.0.0/8,other\n", "error", 1, 1);
    conf_text_expect_error("expand-hosts=1\n", "extraneous parameter", 1, 1);
    conf_text_expect_error("dhcp-range\n", "missing parameter", 1, 1);
    conf_text_expect_error("dhcp-lease-max=1\ndhcp-lease-max=2\n", "illegal repeated keyword", 2,
                           1);
}

static void test_server_forms(void)
{
    struct conf c;
    struct conf_error err;
    int rc = conf_text_load(&c, &err,
                            "server=/d1.test/d2.test/10.0.0.1#5300\n"
                            "server=/src.test/10.0.0.2@127.0.0.1#4000\n"
                            "server=/if.test/10.0.0.3@lo\n"
                            "server=/ifsrc.test/10.0.0.4@lo@127.0.0.2\n"
                            "server=//10.0.0.5\n"
                            "server=/#/10.0.0.6\n"
                            "server=/resolv.test/#\n"
                            "server=/local.test/\n"
                            "server=10.0.0.7\n"
                            "server=/v6.test/fe80::53%lo#5353\n"
                            "server=/*wild.test/10.0.0.8\n"
                            "server=/.Dots.TEST./10.0.0.9\n"
                            "server=/host.test/localhost\n"
                            "address=/z.test/#\naddress=/a4.test/1.2.3.4\naddress=/a6.test/::1\n"
                            "local=/l.test/\n");
    CHECK_INT_EQ(rc, 0);
    CHECK_STR_EQ(first_server(&c, "x.d1.test"), "10.0.0.1#5300");
    CHECK_STR_EQ(first_server(&c, "d2.test"), "10.0.0.1#5300");
    struct domtree_result r;
    route(&c, "src.test", 1, &r);
    const struct conf_server *s = &c.servers[conf_group_servers(&c, r.group, &(uint32_t){0})[0]];
    CHECK_INT_EQ(sockaddr_port(&s->source), 4000);
    route(&c, "if.test", 1, &r);
    s = &c.servers[conf_group_servers(&c, r.group, &(uint32_t){0})[0]];
    CHECK_STR_EQ(s->iface, "lo");
    CHECK_INT_EQ(s->source.sa.sa_family, 0);
    route(&c, "ifsrc.test", 1, &r);
    s = &c.servers[conf_group_servers(&c, r.group, &(uint32_t){0})[0]];
    CHECK_STR_EQ(s->iface, "lo");
    CHECK_INT_EQ(s->source.sa.sa_family, AF_INET);
    CHECK_INT_EQ(sockaddr_port(&s->source), 0);
    CHECK_STR_EQ(first_server(&c, "plainname"), "10.0.0.5#53");
    CHECK_STR_EQ(first_server(&c, "other.example"), "10.0.0.6#53");
    CHECK_INT_EQ(group_size(&c, "other.example"), 2);
    CHECK_STR_EQ(first_server(&c, "x.resolv.test"), "10.0.0.6#53");
    route(&c, "x.local.test", 1, &r);
    CHECK_INT_EQ(r.action, DOMTREE_NXDOMAIN);
    CHECK_STR_EQ(first_server(&c, "v6.test"), "fe80::53#5353");
    route(&c, "v6.test", 1, &r);
    s = &c.servers[conf_group_servers(&c, r.group, &(uint32_t){0})[0]];
    CHECK_INT_EQ(s->addr.sin6.sin6_scope_id, 1);
    CHECK_STR_EQ(first_server(&c, "notwild.test"), "10.0.0.8#53");
    CHECK_STR_EQ(first_server(&c, "www.dots.test"), "10.0.0.9#53");
    CHECK_STR_EQ(first_server(&c, "host.test"), "127.0.0.1#53");
    route(&c, "z.test", 28, &r);
    CHECK_INT_EQ(r.action, DOMTREE_ADDRESS);
    CHECK_INT_EQ(r.addr_family, AF_INET6);
    route(&c, "a4.test", 1, &r);
    CHECK_INT_EQ(r.action, DOMTREE_ADDRESS);
    CHECK_MEM_EQ(r.addrs, "\x01\x02\x03\x04", 4);
    route(&c, "a6.test", 28, &r);
    CHECK_INT_EQ(r.action, DOMTREE_ADDRESS);
    route(&c, "l.test", 16, &r);
    CHECK_INT_EQ(r.action, DOMTREE_NXDOMAIN);
    conf_deinit(&c);
    /* server= with an empty value: local-only for every name, as in dnsmasq. */
    CHECK_INT_EQ(conf_text_load(&c, &err, "server=\n"), 0);
    route(&c, "a.b", 1, &r);
    CHECK_INT_EQ(r.action, DOMTREE_NXDOMAIN);
    conf_deinit(&c);
}

/* Host names go to the caller's resolver: several addresses become several servers, a failure
 * is the resolver's reason at the line; without a resolver nothing is looked up. */
static void test_server_hostname(void)
{
    struct conf c;
    struct conf_error err;
    CHECK_INT_EQ(conf_text_load(&c, &err, "server=/a.test/two.test#5353\n"), 0);
    CHECK_INT_EQ(c.server_count, 2);
    CHECK_INT_EQ(group_size(&c, "a.test"), 2);
    CHECK_STR_EQ(first_server(&c, "a.test"), "192.0.2.1#5353");
    conf_deinit(&c);
    conf_text_expect_error("no-resolv\nserver=/a.test/no-such-host.invalid\n",
                           "Cannot resolve server name", 2, 1);
    conf_text_expect_error("server=/a.test/fail.test\n", "Name or service not known", 1, 1);
    conf_text_expect_error("server=1.2.3.4@::1\nserver=two.test@1.1.1.1\n",
                           "cannot use IPv4 server address with IPv6 source address", 1, 1);
    conf_text_expect_error("server=fe80::1%eth8\n", "bad interface name", 1, 1);
    CHECK_INT_EQ(conf_text_load(&c, &err, "server=fe80::1%eth7\n"), 0);
    CHECK_INT_EQ(c.servers[0].addr.sin6.sin6_scope_id, 7);
    conf_deinit(&c);
    /* conf_load has no resolver: the same lines fail as unresolvable names and interfaces. */
    char *argv[] = {"dnsroute", "-R", "-C", (char *)conf_text_write("h.conf", "server=localhost\n"),
                    NULL};
    CHECK(conf_load(&c, 4, argv, &err) < 0);
    char want[1400];
    (void)snprintf(want, sizeof(want), "dnsroute: Cannot resolve server name at line 1 of %s",
                   argv[3]);
    CHECK_STR_EQ(err.message, want);
    CHECK_INT_EQ(err.exit_code, CONF_EXIT_BADCONF);
    argv[3] = (char *)conf_text_write("h.conf", "server=fe80::1%lo\n");
    CHECK(conf_load(&c, 4, argv, &err) < 0);
    CHECK(strstr(err.message, "bad interface name at line 1") != NULL);
}

static void test_interning(void)
{
    struct conf c;
    struct conf_error err;
    int rc =
        conf_text_load(&c, &err,
                       "server=/a.com/1.1.1.1\nserver=/b.com/1.1.1.1\nserver=/c.com/1.1.1.1#54\n"
                       "ipset=/a.com/s4,s6\nipset=/b.com/s4,s6\nipset=/c.com/s6,s4\n"
                       "ipset=/d.com/s4\nnftset=/a.com/s4#x\n");
    CHECK_INT_EQ(rc, 0);
    CHECK_INT_EQ(c.server_count, 2);
    struct domtree_result ra, rb, rc2;
    route(&c, "a.com", 1, &ra);
    route(&c, "b.com", 1, &rb);
    route(&c, "c.com", 1, &rc2);
    CHECK_INT_EQ(ra.group, rb.group);
    CHECK(ra.group != rc2.group);
    CHECK_INT_EQ(ra.ipset_list, rb.ipset_list);
    CHECK(ra.ipset_list != rc2.ipset_list);
    CHECK_INT_EQ(c.set_count, 3); /* s4, s6 (ipset) and the nftset s4#x */
    CHECK_INT_EQ(c.setlist_count, 4);
    CHECK_INT_EQ(c.setlist_item_count, 2 + 2 + 1 + 1);
    conf_deinit(&c);
}

static void test_sets(void)
{
    struct conf c;
    struct conf_error err;
    int rc = conf_text_load(&c, &err,
                            "nftset=/n.test/4#inet#fw4#set4,6#inet#fw4#set6,tbl#plain,ip6#t6#s6\n"
                            "ipset=/i.test/#/x.test/all4\n"
                            "ipset=/*.w.test/w\nipset=/i.test/second\n");
    CHECK_INT_EQ(rc, 0);
    struct domtree_result r;
    route(&c, "www.n.test", 1, &r);
    const struct conf_setlist *l = &c.setlists[r.nftset_list];
    CHECK_INT_EQ(l->count, 4);
    const struct conf_set *s = &c.sets[c.setlist_items[l->first]];
    CHECK_INT_EQ(s->kind, CONF_SET_NFTSET);
    CHECK_INT_EQ(s->only_family, 4);
    CHECK_INT_EQ(s->nf_family, 1 /* NFPROTO_INET */);
    CHECK_STR_EQ(s->table, "fw4");
    CHECK_STR_EQ(s->name, "set4");
    CHECK_STR_EQ(s->spec, "4#inet#fw4#set4");
    s = &c.sets[c.setlist_items[l->first + 2]];
    CHECK_INT_EQ(s->only_family, 0);
    CHECK_INT_EQ(s->nf_family, 2 /* NFPROTO_IPV4: nft's default family ip */);
    CHECK_STR_EQ(s->table, "tbl");
    s = &c.sets[c.setlist_items[l->first + 3]];
    CHECK_INT_EQ(s->nf_family, 10 /* NFPROTO_IPV6 */);
    /* '#' in the domain list means every name; the first ipset= line of a domain wins. */
    route(&c, "anything.example", 1, &r);
    CHECK_STR_EQ(c.sets[c.setlist_items[c.setlists[r.ipset_list].first]].name, "all4");
    route(&c, "i.test", 1, &r);
    CHECK_STR_EQ(c.sets[c.setlist_items[c.setlists[r.ipset_list].first]].name, "all4");
    /* No '*' wildcard for sets: "*.w.test" is a literal label. */
    route(&c, "a.w.test", 1, &r);
    CHECK_STR_EQ(c.sets[c.setlist_items[c.setlists[r.ipset_list].first]].name, "all4");
    conf_deinit(&c);
    CHECK_INT_EQ(conf_text_load(&c, &err, "ipset=myset\n"), 0);
    route(&c, "x.y", 1, &r);
    CHECK_STR_EQ(c.sets[c.setlist_items[c.setlists[r.ipset_list].first]].name, "myset");
    conf_deinit(&c);
}

static void test_rev_server(void)
{
    struct conf c;
    struct conf_error err;
    int rc =
        conf_text_load(&c, &err,
                       "rev-server=192.168.0.0/23,10.0.0.1\nrev-server=10.1.2.3/8,10.0.0.2#54\n"
                       "rev-server=2001:db8::/32,10.0.0.3\nrev-server=172.16.0.0/12\n");
    CHECK_INT_EQ(rc, 0);
    CHECK_STR_EQ(first_server(&c, "5.0.168.192.in-addr.arpa"), "10.0.0.1#53");
    CHECK_STR_EQ(first_server(&c, "5.1.168.192.in-addr.arpa"), "10.0.0.1#53");
    CHECK_STR_EQ(first_server(&c, "5.2.168.192.in-addr.arpa"), "");
    CHECK_STR_EQ(first_server(&c, "4.3.2.10.in-addr.arpa"), "10.0.0.2#54");
    CHECK_STR_EQ(first_server(&c, "1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"), "10.0.0.3#53");
    struct domtree_result r;
    route(&c, "1.0.31.172.in-addr.arpa", 12, &r);
    CHECK_INT_EQ(r.action, DOMTREE_NXDOMAIN);
    route(&c, "1.0.32.172.in-addr.arpa", 12, &r);
    CHECK_INT_EQ(r.action, DOMTREE_REFUSED);
    conf_deinit(&c);
}

static void test_numbers(void)
{
    struct conf c;
    struct conf_error err;
    CHECK_INT_EQ(conf_text_load(&c, &err,
                                "cache-size=99999999\nmin-cache-ttl=7200\nport=\n"
                                "edns-packet-max=100000\nlog-queries\npid-file\nuser=\n"),
                 0);
    CHECK_INT_EQ(c.cache_size, 5000000);
    CHECK_INT_EQ(c.min_cache_ttl_s, 3600);
    CHECK_INT_EQ(c.port, 0);
    CHECK_INT_EQ(c.edns_packet_max, 65535);
    CHECK_INT_EQ(c.log_queries, CONF_LOG_QUERIES_ON);
    CHECK(c.pid_file == NULL);
    CHECK(c.user == NULL);
    CHECK_INT_EQ(c.stale_cache_s, 0);
    CHECK(!c.bind_dynamic);
    conf_deinit(&c);
    /* bind-dynamic is a flag, no longer ignored; with bind-interfaces the daemon refuses to start
     * (dnsmasq checks that after --test, which accepts both). */
    CHECK_INT_EQ(conf_text_load(&c, &err, "bind-dynamic\nbind-interfaces\n"), 0);
    CHECK(c.bind_dynamic && c.bind_interfaces);
    CHECK_INT_EQ(c.warnings, 0);
    conf_deinit(&c);
    conf_text_expect_error("bind-dynamic=1\n", "extraneous parameter", 1, 1);
    /* use-stale-cache: one day without a value, 0 for ever (dnsmasq's -1), else seconds. */
    static const struct {
        const char *text;
        uint32_t stale_s;
    } stale[] = {{"use-stale-cache\n", 86400},
                 {"use-stale-cache=0\n", CONF_STALE_FOREVER},
                 {"use-stale-cache=\n", CONF_STALE_FOREVER},
                 {"use-stale-cache=30\n", 30},
                 {"use-stale-cache=99999999999\n", UINT32_MAX}};
    for (size_t i = 0; i < sizeof(stale) / sizeof(stale[0]); i++) {
        CHECK_INT_EQ(conf_text_load(&c, &err, stale[i].text), 0);
        CHECK_INT_EQ(c.stale_cache_s, stale[i].stale_s);
        CHECK_INT_EQ(c.warnings, 0);
        conf_deinit(&c);
    }
}

static void test_explain(void)
{
    struct conf c;
    struct conf_error err;
    const char *path = conf_text_write("t.conf", "server=/baidu.com/114.114.114.114\n"
                                                 "ipset=/baidu.com/set4,set6\n"
                                                 "nftset=/qq.com/4#inet#fw4#s4\n"
                                                 "address=/ads.test/1.2.3.4\nlocal=/lan/\n");
    CHECK_INT_EQ(load(&c, &err, "-C", path, "-R", "--explain=www.baidu.com",
                      "--explain=x.qq.com,AAAA", NULL),
                 0);
    CHECK_INT_EQ(c.explain_count, 2);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    for (size_t i = 0; i < c.explain_count; i++) {
        conf_explain(&c, c.explain_names[i], 0, out);
    }
    conf_explain(&c, "ads.test", 1, out);
    conf_explain(&c, "pc.lan", 15, out);
    (void)fclose(out);
    CHECK_STR_EQ(buf, "www.baidu.com A: forward to group 0 via baidu.com: 114.114.114.114#53; "
                      "ipset: set4,set6; nftset: none\n"
                      "x.qq.com AAAA: REFUSED: no upstream server; ipset: none; nftset: "
                      "4#inet#fw4#s4\n"
                      "ads.test A: answer locally with 1.2.3.4 via ads.test; ipset: none; "
                      "nftset: none\n"
                      "pc.lan MX: answer NXDOMAIN locally via lan; ipset: none; nftset: none\n");
    free(buf);
    conf_deinit(&c);
    uint16_t t;
    CHECK_INT_EQ(conf_parse_qtype("aaaa", &t), 0);
    CHECK_INT_EQ(t, 28);
    CHECK_INT_EQ(conf_parse_qtype("TYPE65", &t), 0);
    CHECK_INT_EQ(t, 65);
    CHECK_INT_EQ(conf_parse_qtype("99", &t), 0);
    CHECK_INT_EQ(t, 99);
    CHECK(conf_parse_qtype("70000", &t) < 0);
}

static void load_example(const char *name)
{
    const char *src = getenv("DNSROUTE_SOURCE_DIR");
    char path[512];
    (void)snprintf(path, sizeof(path), "%s/conf/%s", src ? src : ".", name);
    struct conf c;
    struct conf_error err;
    int rc = load(&c, &err, "-C", path, NULL);
    if (rc < 0) {
        (void)fprintf(stderr, "%s\n", err.message);
    }
    CHECK_INT_EQ(rc, 0);
    CHECK_INT_EQ(c.warnings, 0);
    conf_deinit(&c);
}

static void test_conf_examples(void)
{
    load_example("dnsroute.conf");
    load_example("policy-routing.conf");
}

/* Writes a list with the china list's shape where the real one is absent: 110,769 + 164 + 112
 * server= lines for 114.114.114.114 (qiao-cn.com in two files, six single-label entries), 163 IPv4
 * and 2 IPv6 bogus-nxdomain lines. */
static void synthetic_china_list(char *dir, size_t cap)
{
    (void)snprintf(dir, cap, "%s/cl", conf_text_tmpdir());
    (void)mkdir(dir, 0700);
    static const char *const tlds[] = {"cn",         "wang",       "top",
                                       "xn--55qx5d", "xn--fiqs8s", "xn--io0a7i"};
    char path[600];
    (void)snprintf(path, sizeof(path), "%s/accelerated-domains.china.conf", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    (void)fprintf(f, "server=/baidu.com/114.114.114.114\nserver=/qiao-cn.com/114.114.114.114\n");
    for (unsigned i = 0; i < 6; i++) {
        (void)fprintf(f, "server=/%s/114.114.114.114\n", tlds[i]);
    }
    for (unsigned i = 8; i < 110769; i++) {
        (void)fprintf(f, "server=/d%06u.com/114.114.114.114\n", i);
    }
    (void)fclose(f);
    (void)snprintf(path, sizeof(path), "%s/apple.china.conf", dir);
    CHECK((f = fopen(path, "w")) != NULL);
    for (unsigned i = 0; i < 164; i++) {
        (void)fprintf(f, "server=/a%03u.apple.com/114.114.114.114\n", i);
    }
    (void)fclose(f);
    (void)snprintf(path, sizeof(path), "%s/google.china.conf", dir);
    CHECK((f = fopen(path, "w")) != NULL);
    (void)fprintf(f, "# comment\n\nserver=/qiao-cn.com/114.114.114.114\n");
    for (unsigned i = 1; i < 112; i++) {
        (void)fprintf(f, "server=/g%03u.google.cn/114.114.114.114\n", i);
    }
    (void)fclose(f);
    (void)snprintf(path, sizeof(path), "%s/bogus-nxdomain.china.conf", dir);
    CHECK((f = fopen(path, "w")) != NULL);
    for (unsigned i = 0; i < 163; i++) {
        (void)fprintf(f, "bogus-nxdomain=10.%u.%u.1\n", i / 100, i % 100);
    }
    (void)fprintf(f, "bogus-nxdomain=2001:db8::1\nbogus-nxdomain=2001:db8::2\n");
    (void)fclose(f);
}

/* Finds the china list (or writes the synthetic one) and adds one ipset= line per server=
 * domain in conf_text_tmpdir()/ipset.lines. */
static void china_list_dir(char *dir, size_t cap)
{
    const char *list = getenv("DNSROUTE_CHINA_LIST");
    (void)snprintf(dir, cap, "%s", list != NULL && list[0] != '\0' ? list : "/nonexistent");
    if (access(dir, R_OK) != 0) {
        fprintf(stderr, "  no china list at %s: using a synthetic one\n", dir);
        synthetic_china_list(dir, cap);
    }
    static const char *const files[] = {"accelerated-domains.china.conf", "apple.china.conf",
                                        "google.china.conf"};
    FILE *out = fopen(conf_text_write("ipset.lines", ""), "w");
    CHECK(out != NULL);
    char line[1100];
    for (size_t i = 0; i < 3; i++) {
        char path[600];
        (void)snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        FILE *f = fopen(path, "r");
        CHECK(f != NULL);
        while (fgets(line, sizeof(line), f) != NULL) {
            char *end = strchr(line + 8, '/');
            if (strncmp(line, "server=/", 8) == 0 && end != NULL) {
                (void)fprintf(out, "ipset=/%.*s/set4,set6\n", (int)(end - line - 8), line + 8);
            }
        }
        (void)fclose(f);
    }
    (void)fclose(out);
}

static void test_china_list(void)
{
    char dir[512];
    china_list_dir(dir, sizeof(dir));
    char text[2048];
    (void)snprintf(text, sizeof(text),
                   "no-resolv\nconf-dir=%s,*.conf\nconf-file=%s/ipset.lines\nserver=127.0.0.1\n",
                   dir, conf_text_tmpdir());
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct conf c;
    struct conf_error err;
    int rc = conf_text_load(&c, &err, text);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc < 0) {
        (void)fprintf(stderr, "%s\n", err.message);
    }
    CHECK_INT_EQ(rc, 0);
    (void)fprintf(stderr,
                  "  china list + ipset lines: %.1f ms (this build), %zu domains, %zu bytes\n",
                  (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
                  domtree_domain_count(c.tree), domtree_memory(c.tree));
    CHECK_INT_EQ(c.server_count, 2);
    CHECK_INT_EQ(c.set_count, 2);
    CHECK_INT_EQ(c.setlist_count, 1);
    CHECK_INT_EQ(c.bogus_nxdomain_count, 165);
    CHECK_INT_EQ(prefixset_count(c.bogus_set), 165);
    CHECK_INT_EQ(domtree_domain_count(c.tree), 111044 + 1);
    CHECK_INT_EQ(domtree_group_count(c.tree), 2);
    CHECK_STR_EQ(first_server(&c, "www.baidu.com"), "114.114.114.114#53");
    CHECK_STR_EQ(first_server(&c, "a.b.qiao-cn.com"), "114.114.114.114#53");
    CHECK_STR_EQ(first_server(&c, "anything.cn"), "114.114.114.114#53");
    CHECK_STR_EQ(first_server(&c, "www.example.org"), "127.0.0.1#53");
    struct domtree_result r;
    route(&c, "www.baidu.com", 1, &r);
    CHECK_INT_EQ(r.ipset_list, 0);
    route(&c, "www.example.org", 1, &r);
    CHECK_INT_EQ(r.ipset_list, DOMTREE_NONE);
    conf_deinit(&c);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_defaults),
    CHECK_CASE(test_options_from_file),
    CHECK_CASE(test_options_from_cmdline),
    CHECK_CASE(test_repeats),
    CHECK_CASE(test_file_errors),
    CHECK_CASE(test_cmdline_errors),
    CHECK_CASE(test_large_types),
    CHECK_CASE(test_missing_files),
    CHECK_CASE(test_non_regular_files),
    CHECK_CASE(test_includes),
    CHECK_CASE(test_stdin_once),
    CHECK_CASE(test_conf_dir),
    CHECK_CASE(test_servers_file),
    CHECK_CASE(test_resolv_file),
    CHECK_CASE(test_line_reader),
    CHECK_CASE(test_ignored_options),
    CHECK_CASE(test_server_forms),
    CHECK_CASE(test_server_hostname),
    CHECK_CASE(test_interning),
    CHECK_CASE(test_sets),
    CHECK_CASE(test_rev_server),
    CHECK_CASE(test_numbers),
    CHECK_CASE(test_explain),
    CHECK_CASE(test_conf_examples),
    CHECK_CASE(test_china_list),
    {0},
};

int main(int argc, char **argv)
{
    log_set_level(LOG_LEVEL_ERROR);
    conf_text_resolver = &test_resolver;
    int rc = check_main(argc, argv, cases);
    conf_text_cleanup();
    return rc;
}
