/* conf.c - reads dnsmasq's command line and configuration files into one configuration generation
 * (conf.h): the command line (getopt_long over the option table), conf-file/conf-dir includes,
 * the line reader with dnsmasq's quoting and comment rules, file:line error reports, interning of
 * servers and sets, servers-file and resolv-file, and the final domain tree. Option semantics live
 * in conf_options.c and conf_rules.c. Pure module: files only, no sockets. */
#include "dnsroute/conf.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf_impl.h"
#include "dnsroute/dname.h"
#include "dnsroute/err.h"
#include "dnsroute/log.h"
#include "dnsroute/mem.h"

#define DEFAULT_CONF_FILE   "/etc/dnsmasq.conf"
#define DEFAULT_RESOLV_FILE "/etc/resolv.conf"

/* Per-row bits of conf_loader.usage. */
enum { USED_CMDLINE = 1, USED_FILE = 2, WARNED = 4 };

/* dnsmasq hides these characters inside quotes by mapping each to its index (a control
 * character), so that they stop acting as separators; conf_unhide() maps them back. */
static const char meta_chars[] = "\000123456 \b\t\n78\r90abcdefABCDE\033F:,.";

static char hide_meta(char ch)
{
    for (size_t i = 0; i < sizeof(meta_chars) - 1; i++) {
        if (ch == meta_chars[i]) {
            return (char)i;
        }
    }
    return ch;
}

void conf_unhide(char *s)
{
    for (; s != NULL && *s != '\0'; s++) {
        if ((unsigned char)*s < sizeof(meta_chars) - 1) {
            *s = meta_chars[(unsigned char)*s];
        }
    }
}

char *conf_split(char *s, char c)
{
    char *sep = s != NULL ? strchr(s, c) : NULL;
    if (sep == NULL) {
        return NULL;
    }
    char *next = sep + 1;
    while (*next == ' ') {
        next++;
    }
    *sep = '\0';
    while (sep > s && sep[-1] == ' ') {
        *--sep = '\0';
    }
    return next;
}

int conf_fail(struct conf_loader *l, const char *msg)
{
    return conf_fail_code(l, msg, CONF_EXIT_BADCONF);
}

int conf_fail_code(struct conf_loader *l, const char *msg, int exit_code)
{
    (void)snprintf(l->msg, sizeof(l->msg), "%s", msg);
    l->exit_code = exit_code;
    return -1;
}

/* Fills the final error report directly (file problems: no line suffix). */
static int fail_hard(struct conf_loader *l, int exit_code, const char *fmt, ...)
    DNSROUTE_PRINTF(3, 4);
static int fail_hard(struct conf_loader *l, int exit_code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(l->err->message, sizeof(l->err->message), "dnsroute: ");
    (void)vsnprintf(l->err->message + n, sizeof(l->err->message) - (size_t)n, fmt, ap);
    va_end(ap);
    l->err->exit_code = exit_code;
    l->failed_hard = true;
    return -1;
}

int conf_add_rule(struct conf_loader *l, const char *key, size_t len,
                  const struct domtree_rule *rule)
{
    if (domtree_add(l->c->tree, key, len, rule) < 0) {
        return conf_fail(l, "error");
    }
    return 0;
}

/* ---- Option lookup and application. ---- */

static int by_name(const void *a, const void *b)
{
    return strcmp(conf_options[*(const uint16_t *)a].name, conf_options[*(const uint16_t *)b].name);
}

/* Finds the row of an exact, case-sensitive option name; SIZE_MAX when unknown. */
static size_t find_option(struct conf_loader *l, const char *name)
{
    if (strcmp(conf_options[l->last_option].name, name) == 0) {
        return l->last_option;
    }
    size_t lo = 0, hi = conf_option_count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int cmp = strcmp(name, conf_options[l->sorted[mid]].name);
        if (cmp == 0) {
            l->last_option = l->sorted[mid];
            return l->last_option;
        }
        if (cmp < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return SIZE_MAX;
}

/* Repeat rules and the ignored-option warning, then the handler. */
static int apply_option(struct conf_loader *l, size_t row, char *arg)
{
    const struct conf_option *o = &conf_options[row];
    bool cmdline = l->file == NULL;
    if (o->rept == CONF_REPT_ONE) {
        /* dnsmasq: once on the command line, once across files; a file overrides the command
         * line. */
        unsigned char bit = cmdline ? USED_CMDLINE : USED_FILE;
        if (l->usage[row] & bit) {
            return conf_fail(l, cmdline ? "illegal repeated flag" : "illegal repeated keyword");
        }
        l->usage[row] |= bit;
    }
    l->row = row;
    if (o->handler == NULL) {
        return conf_ignored(l);
    }
    return o->handler(l, arg);
}

int conf_ignored(struct conf_loader *l)
{
    if (!(l->usage[l->row] & WARNED)) {
        l->usage[l->row] |= WARNED;
        l->c->warnings++;
        log_warn("ignoring option %s: not supported by dnsroute", conf_options[l->row].name);
    }
    return 0;
}

/* ---- The line reader (dnsmasq's read_file). ---- */

/* isspace() in the C locale, without the locale table lookup (this runs on every byte). */
static inline bool is_space(char ch)
{
    return ch == ' ' || (ch >= '\t' && ch <= '\r');
}

/* Removes the quote at p and the matching closing one, resolving \\ \" \t \n \e \b \r and
 * hiding metacharacters in between. Returns the position after the quoted text, or NULL when the
 * closing quote is missing. */
static char *unquote(char *p)
{
    static const char from[] = "tnebr", to[] = "\t\n\033\b\r";
    memmove(p, p + 1, strlen(p + 1) + 1);
    for (; *p != '\0' && *p != '"'; p++) {
        if (*p == '\\' && p[1] != '\0' && strchr("\"tnebr\\", p[1]) != NULL) {
            const char *m = strchr(from, p[1]);
            if (m != NULL) {
                p[1] = to[m - from];
            }
            memmove(p, p + 1, strlen(p + 1) + 1);
        }
        *p = hide_meta(*p);
    }
    if (*p == '\0') {
        return NULL;
    }
    memmove(p, p + 1, strlen(p + 1) + 1);
    return p;
}

/* Removes quotes, maps every isspace() to ' ' and cuts a '#' comment that starts a word.
 * Returns -1 on a missing closing quote. */
static int clean_line(char *buf)
{
    bool white = true;
    for (char *p = buf; *p != '\0'; p++) {
        if (*p == '"' && (p = unquote(p)) == NULL) {
            return -1;
        }
        if (is_space(*p)) {
            *p = ' ';
            white = true;
        } else if (white && *p == '#') {
            *p = '\0';
            break;
        } else if (*p == '\0') {
            break;
        } else {
            white = false;
        }
    }
    return 0;
}

/* Parses and applies one raw line. Returns 0, 1 for a blank line, or -1 with l->msg set. */
static int one_line(struct conf_loader *l, char *buf)
{
    if (clean_line(buf) < 0) {
        return conf_fail(l, "missing \"");
    }
    char *start = buf;
    while (*start == ' ') {
        start++;
    }
    size_t len = strlen(start);
    while (len > 0 && start[len - 1] == ' ') {
        len--;
    }
    if (len == 0) {
        return 1;
    }
    start[len] = '\0';
    char *arg = NULL;
    char *eq = strchr(start, '=');
    if (eq != NULL) {
        for (arg = eq + 1; *arg == ' '; arg++) {
        }
        for (char *p = eq; p >= start && (*p == ' ' || *p == '='); p--) {
            *p = '\0';
        }
    }
    size_t row = find_option(l, start);
    if (row == SIZE_MAX || conf_options[row].where == CONF_CMDLINE_ONLY) {
        return conf_fail(l, "bad option");
    }
    const struct conf_option *o = &conf_options[row];
    if (o->has_arg == CONF_ARG_NONE && arg != NULL) {
        return conf_fail(l, "extraneous parameter");
    }
    if (o->has_arg == CONF_ARG_REQUIRED && arg == NULL) {
        return conf_fail(l, "missing parameter");
    }
    if (l->servers_only && o->handler != conf_opt_server && o->handler != conf_opt_rev_server) {
        return conf_fail(l, "illegal option");
    }
    return apply_option(l, row, arg);
}

/* Reads every line of f; name is used in messages. In servers-file mode errors are logged. */
static int read_lines(struct conf_loader *l, FILE *f, const char *name)
{
    const char *saved_file = l->file;
    unsigned saved_line = l->line;
    l->file = name;
    l->line = 0;
    char buf[CONF_LINE_MAX];
    int rc = 0;
    while (fgets(buf, sizeof(buf), f) != NULL) {
        l->line++;
        if (one_line(l, buf) >= 0) {
            continue;
        }
        if (l->failed_hard) {
            rc = -1;
            break;
        }
        if (l->servers_only) {
            log_error("%s at line %u of %s", l->msg, l->line, name);
            continue;
        }
        (void)snprintf(l->err->message, sizeof(l->err->message), "dnsroute: %s at line %u of %s",
                       l->msg, l->line, name);
        l->err->exit_code = l->exit_code;
        l->failed_hard = true;
        rc = -1;
        break;
    }
    l->file = saved_file;
    l->line = saved_line;
    return rc;
}

/* True when (dev, inode) of st was read before; remembers it otherwise. */
static bool seen_file(struct conf_loader *l, const struct stat *st)
{
    for (size_t i = 0; i < l->files_read_count; i++) {
        if (l->files_read[i].dev == st->st_dev && l->files_read[i].ino == st->st_ino) {
            return true;
        }
    }
    mem_grow((void **)&l->files_read, &l->files_read_cap, l->files_read_count + 1,
             sizeof(*l->files_read));
    l->files_read[l->files_read_count].dev = st->st_dev;
    l->files_read[l->files_read_count].ino = st->st_ino;
    l->files_read_count++;
    return false;
}

/* True when the character device on fd is at end of file at once (/dev/null: NetworkManager
 * passes --conf-file=/dev/null, and dnsmasq reads it as an empty file). */
static bool char_device_is_empty(int fd)
{
    char byte;
    return read(fd, &byte, 1) == 0;
}

/* Opens path for reading without ever blocking in open or read. Directories are read as empty
 * files, as dnsmasq does. Returns 0 and *out, -errno, or ERR_UNSUPPORTED for anything else that is
 * not a regular file (a FIFO would block the loader, /dev/zero would never end). */
static int conf_open(const char *path, FILE **out)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    struct stat st;
    bool ok = fstat(fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) ||
                                      (S_ISCHR(st.st_mode) && char_device_is_empty(fd)));
    if (!ok || fcntl(fd, F_SETFL, 0) < 0 || (*out = fdopen(fd, "r")) == NULL) {
        int rc = ok ? -errno : ERR_UNSUPPORTED;
        close(fd);
        return rc;
    }
    return 0;
}

static const char *conf_open_error(int rc)
{
    return rc == ERR_UNSUPPORTED ? "not a regular file" : strerror(-rc);
}

int conf_read_file(struct conf_loader *l, const char *path, bool missing_ok)
{
    if (strcmp(path, "-") == 0) {
        if (l->stdin_read) {
            return 0;
        }
        l->stdin_read = true;
        return read_lines(l, stdin, "stdin");
    }
    struct stat st;
    if (stat(path, &st) == 0 && seen_file(l, &st)) {
        return 0;
    }
    FILE *f = NULL;
    int rc = conf_open(path, &f);
    if (rc < 0) {
        if (rc == -ENOENT && missing_ok) {
            return 0;
        }
        return fail_hard(l, CONF_EXIT_FILE, "cannot read %s: %s", path, conf_open_error(rc));
    }
    char *name = mem_strdup(path);
    rc = read_lines(l, f, name);
    free(name);
    (void)fclose(f);
    return rc;
}

/* ---- conf-dir. ---- */

static int by_path(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_suffix(const char *name, size_t len, const char *suffix)
{
    size_t ls = strlen(suffix);
    return len > ls && strcmp(name + len - ls, suffix) == 0;
}

/* dnsmasq's conf-dir filter: no '~' backups, dotfiles or #autosave#; "*.ext" suffixes are
 * required (any of them), others excluded. */
static bool dir_entry_wanted(const char *name, char **suffixes, size_t count)
{
    size_t len = strlen(name);
    if (len == 0 || name[len - 1] == '~' || name[0] == '.' ||
        (name[0] == '#' && name[len - 1] == '#')) {
        return false;
    }
    bool required = false, matched = false;
    for (size_t i = 0; i < count; i++) {
        if (suffixes[i][0] == '*') {
            required = true;
            matched = matched || has_suffix(name, len, suffixes[i] + 1);
        } else if (has_suffix(name, len, suffixes[i])) {
            return false;
        }
    }
    return !required || matched;
}

/* The next entry of d, or NULL at the end (*err = 0) or on a read error (*err = errno, e.g.
 * EOVERFLOW from a 32-bit build without 64-bit inode numbers, EIO from the file system). */
static struct dirent *next_entry(DIR *d, int *err)
{
    errno = 0;
    struct dirent *e = readdir(d);
    *err = e == NULL ? errno : 0;
    return e;
}

/* Collects the wanted regular files of dir into *paths (sorted). A directory that cannot be read
 * to its end is an error like one that cannot be opened (dnsmasq's message and exit code), never
 * a silently shorter configuration. */
static int list_dir(struct conf_loader *l, const char *dir, char **suffixes, size_t count,
                    char ***paths, size_t *n)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        return fail_hard(l, CONF_EXIT_FILE, "cannot access directory %s: %s", dir, strerror(errno));
    }
    size_t cap = 0;
    int rc = 0, err = 0;
    for (struct dirent *e = next_entry(d, &err); e != NULL; e = next_entry(d, &err)) {
        if (!dir_entry_wanted(e->d_name, suffixes, count)) {
            continue;
        }
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        char *path = mem_alloc(len);
        (void)snprintf(path, len, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) < 0) {
            rc = fail_hard(l, CONF_EXIT_FILE, "cannot access %s: %s", path, strerror(errno));
            free(path);
            break;
        }
        if (!S_ISREG(st.st_mode)) {
            free(path);
            continue;
        }
        mem_grow((void **)paths, &cap, *n + 1, sizeof(char *));
        (*paths)[(*n)++] = path;
    }
    if (rc == 0 && err != 0) {
        rc = fail_hard(l, CONF_EXIT_FILE, "cannot access directory %s: %s", dir, strerror(err));
    }
    closedir(d);
    if (*n > 1) {
        qsort(*paths, *n, sizeof(char *), by_path);
    }
    return rc;
}

int conf_read_dir(struct conf_loader *l, char *arg)
{
    char *rest = conf_split(arg, ',');
    conf_unhide(arg);
    if (*arg == '\0') {
        return 0;
    }
    char **suffixes = NULL;
    size_t count = 0, cap = 0;
    for (char *s = rest; s != NULL;) {
        char *next = conf_split(s, ',');
        conf_unhide(s);
        if (strcmp(s, "*") != 0 && *s != '\0') {
            mem_grow((void **)&suffixes, &cap, count + 1, sizeof(char *));
            suffixes[count++] = s;
        }
        s = next;
    }
    char **paths = NULL;
    size_t n = 0;
    int rc = list_dir(l, arg, suffixes, count, &paths, &n);
    for (size_t i = 0; i < n; i++) {
        if (rc == 0) {
            rc = conf_read_file(l, paths[i], false);
        }
        free(paths[i]);
    }
    free(paths);
    free(suffixes);
    return rc;
}

/* ---- Command line. ---- */

static size_t row_of_short(int ch)
{
    for (size_t i = 0; i < conf_option_count; i++) {
        if (conf_options[i].short_opt == ch) {
            return i;
        }
    }
    return SIZE_MAX;
}

static int cmdline_fail(struct conf_loader *l, const char *msg)
{
    return fail_hard(l, CONF_EXIT_BADCONF, "bad command line options: %s", msg);
}

/* One command-line option: the handler gets a private, writable copy of its argument. */
static int cmdline_option(struct conf_loader *l, size_t row, const char *optval)
{
    char *arg = optval != NULL ? mem_strdup(optval) : NULL;
    int rc = apply_option(l, row, arg);
    free(arg);
    if (rc < 0 && !l->failed_hard) {
        return cmdline_fail(l, l->msg);
    }
    return rc;
}

static int read_cmdline(struct conf_loader *l, int argc, char *const argv[])
{
    struct option *longopts = mem_calloc(conf_option_count + 1, sizeof(*longopts));
    for (size_t i = 0; i < conf_option_count; i++) {
        longopts[i] =
            (struct option){conf_options[i].name, (int)conf_options[i].has_arg, NULL, 256 + (int)i};
    }
    int rc = 0;
    optind = 0; /* GNU: full re-initialisation, so conf_load may run more than once. */
    opterr = 0;
    for (;;) {
        int ch = getopt_long(argc, argv, conf_short_options, longopts, NULL);
        if (ch == -1) {
            if (optind < argc) {
                rc = fail_hard(l, CONF_EXIT_BADCONF, "junk found in command line");
            }
            break;
        }
        size_t row = ch >= 256 ? (size_t)(ch - 256) : row_of_short(ch);
        if (ch == '?' || row == SIZE_MAX) {
            rc = cmdline_fail(l, "try --help");
            break;
        }
        if ((rc = cmdline_option(l, row, optarg)) < 0) {
            break;
        }
    }
    free(longopts);
    return rc;
}

/* ---- servers-file and resolv-file, read when the configuration is complete. ---- */

static void read_servers_file(struct conf_loader *l)
{
    const char *path = l->c->servers_file;
    FILE *f = NULL;
    int rc = conf_open(path, &f);
    if (rc < 0) {
        /* dnsmasq 2.90 logs this and starts without the file's servers (exit 0). */
        log_error("cannot read %s: %s", path, conf_open_error(rc));
        return;
    }
    l->servers_only = true;
    read_lines(l, f, path);
    l->servers_only = false;
    (void)fclose(f);
}

/* One "nameserver ADDR[%scope]" line: a default server on port 53. */
static void resolv_line(struct conf_loader *l, char *line)
{
    char *save = NULL;
    char *tok = strtok_r(line, " \t\r\n", &save);
    if (tok == NULL || (strcmp(tok, "nameserver") != 0 && strcmp(tok, "server") != 0)) {
        return;
    }
    tok = strtok_r(NULL, " \t\r\n", &save);
    struct conf_server s;
    memset(&s, 0, sizeof(s));
    /* "fe80::1%eth0": the interface's index through the caller (a numeric scope parses as is). */
    char *pct = tok != NULL ? strchr(tok, '%') : NULL;
    unsigned ifindex = 0;
    if (pct != NULL && strspn(pct + 1, "0123456789") != strlen(pct + 1)) {
        *pct = '\0';
        if ((ifindex = conf_ifindex(l, pct + 1)) == 0) {
            return; /* skipped like any other line that is not an address */
        }
    }
    if (tok == NULL || sockaddr_parse_ip(tok, strlen(tok), 53, &s.addr) < 0) {
        return;
    }
    if (ifindex != 0) {
        if (s.addr.sa.sa_family != AF_INET6) {
            return;
        }
        s.addr.sin6.sin6_scope_id = ifindex;
    }
    s.from_resolv = true;
    struct domtree_rule rule = {.kind = DOMTREE_RULE_SERVER, .id = conf_intern_server(l, &s)};
    conf_add_rule(l, "", 0, &rule);
}

/* Reads the newest of the resolv files (dnsmasq polls them and uses the latest one). */
static void read_resolv(struct conf_loader *l)
{
    struct conf *c = l->c;
    const char *best = NULL;
    struct timespec best_mtime = {0, 0};
    for (size_t i = 0; i < c->resolv_file_count; i++) {
        struct stat st;
        if (stat(c->resolv_files[i], &st) < 0) {
            log_warn("failed to access %s: %s", c->resolv_files[i], strerror(errno));
            continue;
        }
        if (best == NULL || st.st_mtim.tv_sec > best_mtime.tv_sec ||
            (st.st_mtim.tv_sec == best_mtime.tv_sec && st.st_mtim.tv_nsec > best_mtime.tv_nsec)) {
            best = c->resolv_files[i];
            best_mtime = st.st_mtim;
        }
    }
    FILE *f = NULL;
    if (best == NULL || conf_open(best, &f) < 0) {
        return;
    }
    char line[CONF_LINE_MAX];
    while (fgets(line, sizeof(line), f) != NULL) {
        resolv_line(l, line);
    }
    (void)fclose(f);
}

/* ---- Load, defaults, teardown. ---- */

static void set_defaults(struct conf *c)
{
    memset(c, 0, sizeof(*c));
    c->port = 53;
    c->cache_size = 150;
    c->dns_forward_max = 5000;
    c->edns_packet_max = 1232;
    c->max_tcp_connections = 20;
    c->user = mem_strdup("nobody");
    c->group = mem_strdup("dip");
    c->pid_file = mem_strdup("/var/run/dnsmasq.pid");
    c->resolv_files = mem_alloc(sizeof(char *));
    c->resolv_files[0] = mem_strdup(DEFAULT_RESOLV_FILE);
    c->resolv_file_count = 1;
    c->tree = domtree_new();
}

static void loader_init(struct conf_loader *l, struct conf *c, struct conf_error *err)
{
    memset(l, 0, sizeof(*l));
    l->c = c;
    l->err = err;
    l->resolv_is_default = true;
    l->resolv_cap = 1;
    l->usage = mem_calloc(conf_option_count, 1);
    l->sorted = mem_calloc(conf_option_count, sizeof(uint16_t));
    for (size_t i = 0; i < conf_option_count; i++) {
        l->sorted[i] = (uint16_t)i;
    }
    qsort(l->sorted, conf_option_count, sizeof(uint16_t), by_name);
}

static void loader_deinit(struct conf_loader *l)
{
    free(l->usage);
    free(l->sorted);
    free(l->files_read);
    free(l->main_conffile);
    free(l->server_index.slots);
    free(l->set_index.slots);
    free(l->setlist_index.slots);
}

/* The servers set over D-Bus, as server= lines (dnsmasq keeps them across SIGHUP: they are
 * marked SERV_FROM_DBUS and replaced only by the next SetServers* call). */
static int apply_dbus_servers(struct conf_loader *l, const char *const *lines, size_t count)
{
    l->from_dbus = true;
    for (size_t i = 0; i < count; i++) {
        char buf[CONF_LINE_MAX];
        if (strlen(lines[i]) >= sizeof(buf)) {
            return fail_hard(l, CONF_EXIT_BADCONF, "line too long in D-Bus server '%.64s...'",
                             lines[i]);
        }
        strcpy(buf, lines[i]);
        if (conf_opt_server(l, buf) < 0) {
            /* dnsmasq's D-Bus wording; the address is what follows the domains. */
            const char *addr = strrchr(lines[i], '/');
            return fail_hard(l, CONF_EXIT_BADCONF, "Invalid IP address '%s': %s",
                             addr != NULL ? addr + 1 : lines[i], l->msg);
        }
    }
    l->from_dbus = false;
    return 0;
}

static int load(struct conf_loader *l, int argc, char *const argv[], const char *const *dbus,
                size_t dbus_count)
{
    if (read_cmdline(l, argc, argv) < 0) {
        return -1;
    }
    if (l->c->info_only) {
        return 0;
    }
    const char *main_file = l->main_conffile ? l->main_conffile : DEFAULT_CONF_FILE;
    if (conf_read_file(l, main_file, l->main_conffile == NULL) < 0) {
        return -1;
    }
    if (l->c->servers_file != NULL) {
        read_servers_file(l);
    }
    if (apply_dbus_servers(l, dbus, dbus_count) < 0) {
        return -1;
    }
    if (!l->c->no_resolv) {
        read_resolv(l);
    }
    if (conf_localrec_finish(l) < 0) {
        return fail_hard(l, l->exit_code, "%s", l->msg);
    }
    if (domtree_finish(l->c->tree) < 0) {
        return fail_hard(l, CONF_EXIT_NOMEM, "could not build the domain table");
    }
    /* dnsmasq (option.c, end of read_opts): local-service is a safe default for otherwise
     * unconfigured installations, so any access control of the user's own turns it off. */
    if (l->c->interface_count || l->c->except_interface_count || l->c->listen_addr_count) {
        l->c->local_service = CONF_LOCAL_SERVICE_OFF;
    }
    /* dnsmasq.c: with DHCP configured and no dhcp-leasefile=, leases live in LEASEFILE. */
    if (l->c->lease_file == NULL && l->c->dhcp_range) {
        l->c->lease_file = mem_strdup(CONF_LEASE_FILE);
    }
    return 0;
}

int conf_load(struct conf *c, int argc, char *const argv[], struct conf_error *err)
{
    return conf_load_dbus(c, argc, argv, NULL, 0, NULL, err);
}

unsigned conf_ifindex(const struct conf_loader *l, const char *name)
{
    return l->resolver != NULL ? l->resolver->ifindex(l->resolver->ctx, name) : 0;
}

int conf_load_dbus(struct conf *c, int argc, char *const argv[], const char *const *dbus_servers,
                   size_t dbus_server_count, const struct conf_resolver *r, struct conf_error *err)
{
    struct conf_loader l;
    memset(err, 0, sizeof(*err));
    set_defaults(c);
    loader_init(&l, c, err);
    l.resolver = r;
    int rc = load(&l, argc, argv, dbus_servers, dbus_server_count);
    loader_deinit(&l);
    if (rc < 0) {
        conf_deinit(c);
        return err->exit_code == CONF_EXIT_FILE ? -ENOENT : ERR_PARSE;
    }
    return 0;
}

static void free_strings(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i]);
    }
    free(v);
}

void conf_deinit(struct conf *c)
{
    free(c->listen_addrs);
    free(c->interfaces);
    free(c->except_interfaces);
    free(c->servers);
    free_strings(c->resolv_files, c->resolv_file_count);
    free(c->servers_file);
    free(c->bogus_nxdomain);
    prefixset_free(c->bogus_set);
    free_strings(c->rebind_ok_domains, c->rebind_ok_count);
    free(c->sets);
    free(c->setlists);
    free(c->setlist_items);
    free(c->log_facility);
    free(c->user);
    free(c->group);
    free(c->pid_file);
    free(c->dbus_name);
    free_strings(c->explain_names, c->explain_count);
    free_strings(c->addn_hosts, c->addn_hosts_count);
    free_strings(c->hostsdirs, c->hostsdir_count);
    free(c->lease_file);
    for (size_t i = 0; i < c->dhcp_host_count; i++) {
        conf_dhcp_host_free(&c->dhcp_hosts[i]);
    }
    free(c->dhcp_hosts);
    free(c->domain);
    for (size_t i = 0; i < c->domain_count; i++) {
        free(c->domains[i].name);
    }
    free(c->domains);
    hosts_free(c->hosts);
    if (c->tree != NULL) {
        domtree_free(c->tree);
    }
    localrec_free(c->localrec);
    localname_free(c->names);
    synth_free(c->synth);
    free(c->mx_target);
    memset(c, 0, sizeof(*c));
}
