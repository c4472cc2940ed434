/* bench_cache.c - the answer cache under threads: T threads hammer one shared cache the way
 * workers do (build the key, look it up, copy a hit out; a miss stores a 2-record reply), for 1,
 * 2, 4, ... up to twice the CPUs, and print the total lookups per second and the speed-up over
 * one thread. The same run with one global lock around every call (what query.c did before the
 * cache was sharded) shows what the shards buy.
 *
 *   bench_cache [seconds-per-step] [max-threads]      (defaults: 1, 2 x CPUs)
 *
 * Keys: 200,000 china-list-like names (cache-size 150,000), each thread drawing from all of them
 * in its own random order: ~75% hits once warm, as a busy resolver sees. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "dnsroute/cache.h"

enum { NAMES = 200000, CACHE_SIZE = 150000 };

struct name {
    uint8_t wire[40];
    uint8_t len;
};

static struct name names[NAMES];

struct run {
    struct cache *cache;
    pthread_mutex_t *global; /* NULL: the cache's own shard locks only */
    atomic_bool stop;
};

struct worker {
    struct run *run;
    pthread_t thread;
    uint64_t seed;
    uint64_t lookups, hits;
};

static void names_make(void)
{
    static const char *const tlds[] = {"com", "cn", "net", "org"};
    for (uint32_t i = 0; i < NAMES; i++) {
        char text[64];
        int n = snprintf(text, sizeof(text), "q%u.d%07uxyz.%s", i, i * 2654435761u % 10000000u,
                         tlds[i % 4]);
        uint8_t *p = names[i].wire;
        for (const char *label = text; label < text + n;) {
            const char *dot = strchr(label, '.');
            size_t l = dot ? (size_t)(dot - label) : strlen(label);
            *p++ = (uint8_t)l;
            memcpy(p, label, l);
            p += l;
            label += l + 1;
        }
        *p++ = 0;
        names[i].len = (uint8_t)(p - names[i].wire);
    }
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* One lookup (and a store on a miss), as query.c does it. */
static void worker_step(struct worker *w, uint8_t *buf, uint16_t *offs, uint8_t *meta)
{
    w->seed = w->seed * 6364136223846793005ULL + 1442695040888963407ULL;
    const struct name *n = &names[(w->seed >> 33) % NAMES];
    struct cache_key k;
    cache_key_init(&k, n->wire, n->len, 1, 1, 0);
    struct cache_hit hit = {
        .reply = buf, .reply_cap = 512, .ttl_offs = offs, .ttl_cap = 16, .meta = meta};
    uint64_t t = now_ms();
    if (w->run->global != NULL) {
        pthread_mutex_lock(w->run->global);
    }
    bool found = cache_lookup(w->run->cache, &k, t, &hit);
    if (!found) {
        static const uint16_t reply_offs[2] = {40, 56};
        uint8_t reply[80] = {0};
        struct cache_value v = {reply, sizeof(reply), reply_offs, 2, meta, 40, false};
        cache_insert(w->run->cache, &k, &v, 3600, t);
    }
    if (w->run->global != NULL) {
        pthread_mutex_unlock(w->run->global);
    }
    w->lookups++;
    w->hits += found;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    uint8_t buf[512], meta[CACHE_META_MAX] = {0};
    uint16_t offs[16];
    while (!atomic_load_explicit(&w->run->stop, memory_order_relaxed)) {
        for (int i = 0; i < 256; i++) {
            worker_step(w, buf, offs, meta);
        }
    }
    return NULL;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Runs threads for seconds on a warm cache; returns lookups per second of wall time, *per_cpu
 * lookups per CPU second of the process (what contention costs, whatever else runs on the
 * machine), *hit_pct the hit rate. */
static double measure(struct cache *c, pthread_mutex_t *global, unsigned threads, unsigned seconds,
                      double *per_cpu, double *hit_pct)
{
    struct run run = {c, global, false};
    struct worker *w = calloc(threads, sizeof(*w));
    for (unsigned i = 0; i < threads; i++) {
        w[i] = (struct worker){&run, 0, 0x9e3779b97f4a7c15ULL * (i + 1), 0, 0};
        pthread_create(&w[i].thread, NULL, worker_main, &w[i]);
    }
    uint64_t t0 = now_ms();
    double cpu0 = cpu_seconds();
    sleep(seconds);
    atomic_store(&run.stop, true);
    uint64_t lookups = 0, hits = 0;
    for (unsigned i = 0; i < threads; i++) {
        pthread_join(w[i].thread, NULL);
        lookups += w[i].lookups;
        hits += w[i].hits;
    }
    double elapsed_s = (double)(now_ms() - t0) / 1000.0;
    *per_cpu = (double)lookups / (cpu_seconds() - cpu0);
    free(w);
    *hit_pct = lookups ? 100.0 * (double)hits / (double)lookups : 0;
    return (double)lookups / elapsed_s;
}

static void series(const char *what, bool global_lock, unsigned seconds, unsigned max_threads)
{
    struct cache *c = cache_new(CACHE_SIZE);
    pthread_mutex_t global = PTHREAD_MUTEX_INITIALIZER;
    double hit_pct, per_cpu, base = 0;
    measure(c, global_lock ? &global : NULL, 1, 1, &per_cpu, &hit_pct); /* warm up: fill it */
    printf("%s\n", what);
    for (unsigned t = 1; t <= max_threads; t *= 2) {
        double rate = measure(c, global_lock ? &global : NULL, t, seconds, &per_cpu, &hit_pct);
        if (t == 1) {
            base = rate;
        }
        printf("  %2u thread%s %10.0f lookups/s  x%.2f  %10.0f per CPU second  (%.0f%% hits)\n", t,
               t == 1 ? " " : "s", rate, rate / base, per_cpu, hit_pct);
    }
    struct cache_stats st;
    cache_get_stats(c, &st);
    printf("  %u entries, %u shards, %.1f bytes per entry besides the reply bytes\n", st.entries,
           st.shards, (double)(st.bytes - st.reply_bytes) / st.entries);
    cache_free(c);
}

int main(int argc, char **argv)
{
    unsigned seconds = argc > 1 ? (unsigned)atoi(argv[1]) : 1;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned max_threads = argc > 2 ? (unsigned)atoi(argv[2]) : 2 * (unsigned)(cpus > 0 ? cpus : 1);
    names_make();
    printf("bench_cache: %d names, cache-size %d, %ld CPUs, %u s per step\n", NAMES, CACHE_SIZE,
           cpus, seconds);
    series("sharded cache (each shard its own lock)", false, seconds, max_threads);
    series("the same behind one global lock (the design before)", true, seconds, max_threads);
    return 0;
}
