/* conf_text.h - what the unit tests that load configurations share: a temporary directory (one per
 * test program, removed by conf_text_cleanup), files written into it, a text loaded as the only
 * configuration file, and the dnsmasq-style error such a load must give. Header-only: each test
 * program is one translation unit. */
#pragma once

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "dnsroute/conf.h"

static char conf_text_dir[64];
/* The lookups conf_text_load answers server host names and interface names with (NULL: none). */
static const struct conf_resolver *conf_text_resolver;

static inline const char *conf_text_tmpdir(void)
{
    if (conf_text_dir[0] == '\0') {
        (void)snprintf(conf_text_dir, sizeof(conf_text_dir), "/tmp/dnsroute_unit.XXXXXX");
        CHECK(mkdtemp(conf_text_dir) != NULL);
    }
    return conf_text_dir;
}

/* Writes text to the directory's file name; returns its path (8 buffers, used in turn). */
static inline const char *conf_text_write(const char *name, const char *text)
{
    static char paths[8][256];
    static unsigned next;
    char *path = paths[next++ % 8];
    (void)snprintf(path, sizeof(paths[0]), "%s/%s", conf_text_tmpdir(), name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    (void)fputs(text, f);
    (void)fclose(f);
    return path;
}

/* Loads text as the only configuration file (t.conf, no resolv.conf). */
static inline int conf_text_load(struct conf *c, struct conf_error *err, const char *text)
{
    char *argv[] = {"dnsroute", "-C", (char *)conf_text_write("t.conf", text), "-R", NULL};
    return conf_load_dbus(c, 4, argv, NULL, 0, conf_text_resolver, err);
}

/* Loading text must fail with "dnsroute: MSG at line LINE of .../t.conf" and exit_code. */
static inline void conf_text_expect_error(const char *text, const char *msg, unsigned line,
                                          int exit_code)
{
    struct conf c;
    struct conf_error err;
    CHECK(conf_text_load(&c, &err, text) < 0);
    char want[1400];
    (void)snprintf(want, sizeof(want), "dnsroute: %s at line %u of %s/t.conf", msg, line,
                   conf_text_dir);
    CHECK_STR_EQ(err.message, want);
    CHECK_INT_EQ(err.exit_code, exit_code);
}

static inline void conf_text_expect_ok(const char *text)
{
    struct conf c;
    struct conf_error err;
    CHECK_INT_EQ(conf_text_load(&c, &err, text), 0);
    conf_deinit(&c);
}

static inline int conf_text_remove(const char *path, const struct stat *st, int flag,
                                   struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 ? 0 : -1;
}

/* Removes the directory and everything in it. */
static inline void conf_text_cleanup(void)
{
    if (conf_text_dir[0] != '\0' &&
        nftw(conf_text_dir, conf_text_remove, 16, FTW_DEPTH | FTW_PHYS) != 0) {
        (void)fprintf(stderr, "could not remove %s\n", conf_text_dir);
    }
}
