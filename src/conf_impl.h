/* conf_impl.h - private interface between conf.c (files, command line, interning, finishing) and
 * conf_options.c (the option table and its handlers). Not for use outside the conf module. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dnsroute/conf.h"
#include "dnsroute/domtree.h"

/* dnsmasq reads config lines with fgets(buf, MAXDNAME = 1025): at most 1024 bytes per line. */
#define CONF_LINE_MAX 1025
/* Longest handler error message ("cannot use IPv4 server address with IPv6 source address"). */
#define CONF_MSG_MAX 256

struct conf_loader;

/* A handler parses arg (NULL when the option was given without "="; writable, may be split in
 * place) and stores the result in l->c. Returns 0, or -1 after conf_fail() set the message. */
typedef int (*conf_option_cb)(struct conf_loader *l, char *arg);

/* getopt's has_arg values, as in dnsmasq's opts[] table. */
enum conf_arg { CONF_ARG_NONE = 0, CONF_ARG_REQUIRED = 1, CONF_ARG_OPTIONAL = 2 };

/* dnsmasq's repeat classes: flags and ARG_DUP options may repeat; ARG_ONE once across files. */
enum conf_rept { CONF_REPT_FLAG, CONF_REPT_DUP, CONF_REPT_ONE };

/* Where an option may appear. */
enum conf_where { CONF_ANYWHERE, CONF_CMDLINE_ONLY };

/* One row of the option table: one dnsmasq option (or dnsroute's own --explain). A NULL handler
 * means "a dnsmasq option dnsroute does not implement": accepted with one warning. */
struct conf_option {
    const char *name;
    int short_opt; /* dnsmasq's one-letter form, 0 when none */
    enum conf_arg has_arg;
    enum conf_rept rept;
    enum conf_where where;
    conf_option_cb handler;
};

/* The option table, in dnsmasq's order; conf_option_count rows. */
extern const struct conf_option conf_options[];
extern const size_t conf_option_count;

/* dnsmasq's short option string (OPTSTRING), for getopt_long. */
extern const char conf_short_options[];

/* Open-addressing table of 32-bit ids with their hashes (interning of servers, sets, lists). */
struct conf_htab {
    uint64_t *slots; /* (hash << 32) | (id + 1); 0 = empty */
    size_t cap;      /* power of two */
    size_t count;
};

/* The state of one conf_load() call. */
struct conf_loader {
    struct conf *c;
    struct conf_error *err;
    const struct conf_resolver *resolver; /* NULL: no lookups */
    char msg[CONF_MSG_MAX];               /* handler error text (dnsmasq wording) */
    int exit_code;    /* exit code for msg (CONF_EXIT_BADCONF unless a file problem) */
    bool failed_hard; /* err is already complete (nested file error): propagate as is */

    const char *file; /* file being read, NULL on the command line */
    unsigned line;
    bool servers_only; /* reading servers-file: only server=/rev-server= */
    bool from_dbus;    /* applying servers set over D-Bus */
    bool stdin_read;
    bool resolv_is_default; /* resolv_files still holds only the built-in default */
    char *main_conffile;    /* first -C of the command line (replaces /etc/dnsmasq.conf) */
    unsigned char *usage;   /* per option row: ARG_ONE use state; warned flag for ignored options */
    size_t last_option;     /* row of the previous line's option (fast path for long lists) */
    uint16_t *sorted;       /* option rows sorted by name, for bsearch */

    struct {
        dev_t dev;
        ino_t ino;
    } * files_read;
    size_t files_read_count, files_read_cap;

    uint32_t last_server; /* id of the last server interned (fast path) */
    size_t server_cap, set_cap, setlist_cap, item_cap;
    size_t listen_cap, iface_cap, except_cap, bogus_cap, resolv_cap, explain_cap, rebind_ok_cap;
    size_t addn_hosts_cap, domain_cap, hostsdir_cap, dhcp_host_cap;
    size_t row; /* option table row of the option being applied */
    struct conf_htab server_index, set_index, setlist_index;
};

/* dnsmasq's default lease file (config.h LEASEFILE on Linux). */
#define CONF_LEASE_FILE "/var/lib/misc/dnsmasq.leases"

/* The index of the interface named by a "%scope" suffix, through the caller's resolver; 0 when
 * there is none (or no resolver). */
unsigned conf_ifindex(const struct conf_loader *l, const char *name);

/* Sets l->msg (and the exit code) and returns -1, for handlers. */
int conf_fail(struct conf_loader *l, const char *msg);
int conf_fail_code(struct conf_loader *l, const char *msg, int exit_code);

/* Interning: returns the id of an identical entry, adding it when new. */
uint32_t conf_intern_server(struct conf_loader *l, const struct conf_server *s);
uint32_t conf_intern_set(struct conf_loader *l, const struct conf_set *s);
uint32_t conf_intern_setlist(struct conf_loader *l, const uint32_t *ids, uint32_t count);

/* Adds a rule for the canonical key to the tree; -1 with "error" when the tree refuses it. */
int conf_add_rule(struct conf_loader *l, const char *key, size_t len,
                  const struct domtree_rule *rule);

/* Reads one configuration file inline (conf-file=, -C, conf-dir entries): "-" is stdin (once),
 * a (dev, inode) already read is skipped. missing_ok: the default /etc/dnsmasq.conf. */
int conf_read_file(struct conf_loader *l, const char *path, bool missing_ok);
/* conf-dir=DIR[,*.ext...][,.excluded...]: reads the matching files in strcmp order. */
int conf_read_dir(struct conf_loader *l, char *arg);

/* Undoes dnsmasq's hiding of quoted metacharacters (',', ':', '.', ' ', ...) in place. */
void conf_unhide(char *s);
/* Splits s at the first c: the separator and the spaces around it become NULs; returns the text
 * after it, or NULL when s has no c (dnsmasq's split_chr). */
char *conf_split(char *s, char c);
/* Parses a DNS type name (A, AAAA, MX, ...) or number. Returns 0 or -1. */
int conf_parse_qtype(const char *text, uint16_t *qtype);

/* Handlers of the domain rule options (conf_rules.c), used by the option table. */
int conf_opt_server(struct conf_loader *l, char *arg);
int conf_opt_local(struct conf_loader *l, char *arg);
int conf_opt_address(struct conf_loader *l, char *arg);
int conf_opt_rev_server(struct conf_loader *l, char *arg);
int conf_opt_ipset(struct conf_loader *l, char *arg);
int conf_opt_nftset(struct conf_loader *l, char *arg);
int conf_opt_bogus_nxdomain(struct conf_loader *l, char *arg);

/* Handlers of the local-name options (conf_hosts.c). */
int conf_opt_addn_hosts(struct conf_loader *l, char *arg);
int conf_opt_domain(struct conf_loader *l, char *arg);
/* Reads /etc/hosts (unless no-hosts) and addn-hosts= into a new c->hosts (NULL when there are
 * none), freeing the old one. */
void conf_hosts_read_static(struct conf *c);
int conf_opt_hostsdir(struct conf_loader *l, char *arg);
int conf_opt_dhcp_leasefile(struct conf_loader *l, char *arg);
int conf_opt_dhcp_range(struct conf_loader *l, char *arg);
int conf_opt_dhcp_host(struct conf_loader *l, char *arg);
void conf_dhcp_host_free(struct conf_dhcp_host *h);
/* The ignored-option warning (once per option) for a handler that still reads its option. */
int conf_ignored(struct conf_loader *l);
/* Handlers of the local record options (conf_localrec.c), used by the option table. */
int conf_opt_mx_host(struct conf_loader *l, char *arg);
int conf_opt_mx_target(struct conf_loader *l, char *arg);
int conf_opt_selfmx(struct conf_loader *l, char *arg);
int conf_opt_localmx(struct conf_loader *l, char *arg);
int conf_opt_no_ident(struct conf_loader *l, char *arg);
int conf_opt_ptr_record(struct conf_loader *l, char *arg);
int conf_opt_txt_record(struct conf_loader *l, char *arg);
int conf_opt_srv_host(struct conf_loader *l, char *arg);
int conf_opt_naptr_record(struct conf_loader *l, char *arg);
int conf_opt_dns_rr(struct conf_loader *l, char *arg);
int conf_opt_caa_record(struct conf_loader *l, char *arg);
int conf_opt_host_record(struct conf_loader *l, char *arg);
int conf_opt_cname(struct conf_loader *l, char *arg);
int conf_opt_interface_name(struct conf_loader *l, char *arg);
int conf_opt_synth_domain(struct conf_loader *l, char *arg);
/* Finishes the local record store at the end of a load (CHAOS names, MX defaults, index). */
int conf_localrec_finish(struct conf_loader *l);
