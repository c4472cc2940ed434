/* bench_domtree.c - build time, memory and lookup cost of the domain table on the china list
 * (server=/d/114.114.114.114 plus one ipset=/d/ line per domain), or on a generated list of the
 * same size when the list is absent.
 *
 *   bench_domtree [china-list-dir] [lookups]
 *
 * china-list-dir defaults to $DNSROUTE_CHINA_LIST; lookups to 2,000,000 (a mix of hits at depth +0,
 * +1 and +2, parents, near misses like "x"+domain, and misses, in random order). */
#include "dnsroute/domtree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dnsroute/compat.h"
#include "dnsroute/dname.h"
#include "dnsroute/mem.h"

struct bench_names {
    char *text; /* keys, each NUL-terminated */
    size_t len, cap;
    size_t *off;
    size_t count, off_cap;
};

static void names_push(struct bench_names *n, const char *key, size_t len)
{
    mem_grow((void **)&n->text, &n->cap, n->len + len + 1, 1);
    mem_grow((void **)&n->off, &n->off_cap, n->count + 1, sizeof(*n->off));
    memcpy(n->text + n->len, key, len);
    n->text[n->len + len] = '\0';
    n->off[n->count++] = n->len;
    n->len += len + 1;
}

static const char *names_get(const struct bench_names *n, size_t i)
{
    return n->text + n->off[i];
}

static uint64_t rng_next(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Reads the domains of every server=/d/... line; returns how many files were found. */
static int load_list(const char *dir, struct bench_names *doms)
{
    static const char *const files[] = {"accelerated-domains.china.conf", "apple.china.conf",
                                        "google.china.conf"};
    int found = 0;
    for (size_t i = 0; dir != NULL && i < DNSROUTE_ARRAY_LEN(files); i++) {
        char path[4096], line[1200];
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        FILE *f = fopen(path, "r");
        if (f == NULL) {
            continue;
        }
        found++;
        while (fgets(line, sizeof(line), f) != NULL) {
            char *end = strncmp(line, "server=/", 8) == 0 ? strchr(line + 8, '/') : NULL;
            if (end != NULL) {
                names_push(doms, line + 8, (size_t)(end - line - 8));
            }
        }
        fclose(f);
    }
    return found;
}

static void generate_list(struct bench_names *doms, uint64_t *rng)
{
    static const char *const tlds[] = {"com", "cn", "net", "com.cn", "org", "xyz", "top"};
    for (size_t i = 0; i < 111000; i++) {
        char d[96];
        size_t n = 0;
        for (unsigned l = 0, labels = 1 + (rng_next(rng) % 10 == 0); l < labels; l++) {
            for (unsigned c = 0, ll = 2 + (unsigned)(rng_next(rng) % 12); c < ll; c++) {
                d[n++] = "abcdefghijklmnopqrstuvwxyz0123456789-"[rng_next(rng) % 37];
            }
            d[n++] = '.';
        }
        n += (size_t)sprintf(d + n, "%s", tlds[rng_next(rng) % DNSROUTE_ARRAY_LEN(tlds)]);
        names_push(doms, d, n);
    }
}

/* Canonicalises the configured domains, as conf.c does before domtree_add. */
static void canonicalise_all(const struct bench_names *in, struct bench_names *out)
{
    for (size_t i = 0; i < in->count; i++) {
        char key[DNAME_KEY_MAX + 1];
        const char *d = names_get(in, i);
        int len = dname_canonicalise(d, strlen(d), true, NULL, key, sizeof(key));
        if (len >= 0) {
            names_push(out, key, (size_t)len);
        }
    }
}

static struct domtree *build(const struct bench_names *keys, bool with_extras)
{
    struct domtree *t = domtree_new();
    struct domtree_rule srv = {.kind = DOMTREE_RULE_SERVER, .scope = DOMTREE_SCOPE_SUFFIX, .id = 1};
    struct domtree_rule set = {.kind = DOMTREE_RULE_IPSET, .scope = DOMTREE_SCOPE_SUFFIX, .id = 7};
    struct domtree_rule def = {.kind = DOMTREE_RULE_SERVER, .scope = DOMTREE_SCOPE_SUFFIX, .id = 2};
    domtree_add(t, "", 0, &def);
    for (size_t i = 0; i < keys->count; i++) {
        const char *k = names_get(keys, i);
        size_t len = strlen(k);
        domtree_add(t, k, len, &srv);
        domtree_add(t, k, len, &set);
    }
    if (with_extras) {
        struct domtree_rule w = {
            .kind = DOMTREE_RULE_SERVER, .scope = DOMTREE_SCOPE_WILDCARD, .id = 3};
        domtree_add(t, "example.com", 11, &w);
        domtree_add(t, ".ads.example.net", 16, &w);
    }
    domtree_finish(t);
    return t;
}

static void make_queries(const struct bench_names *keys, size_t count, uint64_t *rng,
                         struct bench_names *q)
{
    for (size_t i = 0; i < count; i++) {
        const char *k = names_get(keys, rng_next(rng) % keys->count);
        char buf[600];
        int n;
        switch (rng_next(rng) % 8) {
        case 0:
            n = snprintf(buf, sizeof(buf), "%s", k);
            break;
        case 1:
        case 2:
            n = snprintf(buf, sizeof(buf), "www.%s", k);
            break;
        case 3:
            n = snprintf(buf, sizeof(buf), "img%u.cdn.%s", (unsigned)(rng_next(rng) % 10), k);
            break;
        case 4:
            n = snprintf(buf, sizeof(buf), "x%s", k);
            break;
        case 5:
            n = snprintf(buf, sizeof(buf), "www.google%u.com", (unsigned)(rng_next(rng) % 1000));
            break;
        case 6:
            n = snprintf(buf, sizeof(buf), "r%u.sn-%u.googlevideo.com",
                         (unsigned)(rng_next(rng) % 10), (unsigned)(rng_next(rng) % 100));
            break;
        default:
            n = snprintf(buf, sizeof(buf), "api.s%u.example.org", (unsigned)(rng_next(rng) % 99));
            break;
        }
        names_push(q, buf, (size_t)n);
    }
}

static void bench_lookups(const struct domtree *t, const struct bench_names *q, const char *what)
{
    size_t *lens = mem_alloc(q->count * sizeof(*lens));
    for (size_t i = 0; i < q->count; i++) {
        lens[i] = strlen(names_get(q, i));
    }
    uint64_t sum = 0;
    size_t hits = 0;
    double best = 1e30;
    for (int pass = 0; pass < 3; pass++) {
        double a = now_ms();
        for (size_t i = 0; i < q->count; i++) {
            struct domtree_result r;
            domtree_lookup(t, names_get(q, i), lens[i], (i & 1) ? 1 : 28, &r);
            sum += r.group + r.ipset_list;
            hits += r.domain_specific;
        }
        double ms = now_ms() - a;
        best = ms < best ? ms : best;
    }
    printf("lookup %-22s %zu names: %.1f ns/name (best of 3), %.1f%% domain hits, checksum %llu\n",
           what, q->count, best * 1e6 / (double)q->count,
           100.0 * (double)hits / 3.0 / (double)q->count, (unsigned long long)sum);
    free(lens);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : getenv("DNSROUTE_CHINA_LIST");
    size_t lookups = argc > 2 ? strtoul(argv[2], NULL, 10) : 2000000;
    uint64_t rng = 42;
    struct bench_names raw = {0}, keys = {0}, q = {0};
    const char *origin = "shared china list";
    if (load_list(dir, &raw) == 0) {
        generate_list(&raw, &rng);
        origin = "generated list (no china-list dir given)";
    }
    double a = now_ms();
    canonicalise_all(&raw, &keys);
    double canon_ms = now_ms() - a;
    double best = 1e30;
    struct domtree *t = NULL;
    for (int pass = 0; pass < 5; pass++) {
        domtree_free(t);
        a = now_ms();
        t = build(&keys, false);
        double ms = now_ms() - a;
        best = ms < best ? ms : best;
    }
    printf("%s: %zu domains (+1 ipset= each), %zu distinct, %u groups\n", origin, keys.count,
           domtree_domain_count(t), domtree_group_count(t));
    printf("canonicalise %.1f ms, build %.1f ms (best of 5), memory %zu bytes (%.1f B/domain)\n",
           canon_ms, best, domtree_memory(t),
           (double)domtree_memory(t) / (double)domtree_domain_count(t));
    make_queries(&keys, lookups, &rng, &q);
    bench_lookups(t, &q, "(no wildcards)");
    domtree_free(t);
    t = build(&keys, true);
    bench_lookups(t, &q, "(2 wildcard rules)");
    domtree_free(t);
    free(raw.text);
    free(raw.off);
    free(keys.text);
    free(keys.off);
    free(q.text);
    free(q.off);
    return 0;
}
