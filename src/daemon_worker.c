/* daemon_worker.c - one worker: an event loop with its own listeners, upstream channels, set
 * socket, cache and configuration generations. Workers share only the immutable configuration
 * (and the kernel's SO_REUSEPORT spread of clients). Every loop turn ends in on_check(): the set
 * batch is flushed first, then the replies leave, so a client never sees an answer before its
 * addresses are in the sets. */
#include "daemon_impl.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "dnsroute/err.h"
#include "dnsroute/log.h"
#include "dnsroute/mem.h"
#include "dnsroute/nlset.h"
#include "dnsroute/server.h"
#include "dnsroute/upstream.h"

int daemon_worker_listen(struct daemon_worker *w, const struct conf *c, char *errbuf, size_t errlen)
{
    struct server_params p = {
        .loop = &w->loop,
        .conf = c,
        .tcp = w->index == 0,
        .reuseport = w->d->nworkers > 1,
        .cb = query_receive,
        .prefetch = query_prefetch,
        .cb_arg = &w->queries,
    };
    return server_new(&p, &w->server, errbuf, errlen);
}

static void on_check(uv_check_t *handle)
{
    struct daemon_worker *w = DNSROUTE_CONTAINER_OF(handle, struct daemon_worker, flush);
    if (server_has_pending(w->server)) {
        /* The kernel applies set additions inside sendmsg: after this, the replies may leave. */
        for (size_t i = 0; i < w->gen_count; i++) {
            if (w->gens[i]->nlset != NULL) {
                nlset_flush(w->gens[i]->nlset);
            }
        }
        server_flush(w->server);
    }
    /* Reap only after the flush: the last query of a retired generation queued its addresses
     * in that generation's batch, and nlset_free drops a batch unsent (found by
     * tests/e2e/test_race.sh across reloads). */
    if (w->dead_gens > 0) {
        daemon_gen_reap(w);
    }
}

static void on_recheck(uv_timer_t *timer)
{
    struct daemon_worker *w = DNSROUTE_CONTAINER_OF(timer, struct daemon_worker, recheck);
    for (size_t i = 0; i < w->gen_count; i++) {
        if (w->gens[i]->nlset != NULL) {
            nlset_recheck(w->gens[i]->nlset);
        }
    }
}

/* The main thread posted a reloaded configuration or a stop request. */
static void on_wake(uv_async_t *handle)
{
    struct daemon_worker *w = DNSROUTE_CONTAINER_OF(handle, struct daemon_worker, wake);
    uv_mutex_lock(&w->d->lock);
    struct daemon_conf *dc = w->pending;
    bool stop = w->stop;
    w->pending = NULL;
    uv_mutex_unlock(&w->d->lock);
    if (dc != NULL) {
        daemon_gen_adopt(w, dc);
    }
    if (stop) {
        uv_stop(&w->loop);
    }
}

void daemon_worker_post(struct daemon_worker *w, struct daemon_conf *dc, bool stop)
{
    uv_mutex_lock(&w->d->lock);
    /* Once its stop is posted, a worker thread leaves its loop and closes it, wake handle and
     * eventfd included, maybe before this thread posts again (daemon_serve repeats SIGTERM's
     * stop before the join): a later uv_async_send would write to the closed eventfd, and libuv
     * aborts on EBADF (exit 134 after SIGTERM under load), or to whatever file reused the number.
     * So the stop's wake-up is the last one, sent under the lock: the worker cannot see the stop
     * before that send is complete, and nothing is handed to a stopping worker. */
    bool wake = !w->stop;
    if (dc != NULL && w->stop) {
        daemon_conf_release(dc); /* a stopping worker adopts nothing */
    } else if (dc != NULL) {
        if (w->pending != NULL) {
            daemon_conf_release(w->pending); /* superseded before it was adopted */
        }
        w->pending = dc;
    }
    w->stop = w->stop || stop;
    if (wake) {
        uv_async_send(&w->wake);
    }
    uv_mutex_unlock(&w->d->lock);
}

void daemon_worker_start(struct daemon_worker *w)
{
    query_ctx_init(&w->queries, &w->loop, w->server, w->gens[0], &w->d->cache);
    w->queries.counters = daemon_chaos_counters;
    w->queries.counters_arg = w->d;
    uv_check_init(&w->loop, &w->flush);
    uv_check_start(&w->flush, on_check);
    uv_timer_init(&w->loop, &w->recheck);
    uv_timer_start(&w->recheck, on_recheck, 5000, 5000);
    uv_async_init(&w->loop, &w->wake, on_wake);
}

static void worker_thread(void *arg)
{
    struct daemon_worker *w = arg;
    uv_run(&w->loop, UV_RUN_DEFAULT);
    daemon_worker_shutdown(w);
}

int daemon_worker_spawn(struct daemon_worker *w)
{
    /* Signals are for the main thread (worker 0's loop): block them in the new thread. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = uv_thread_create(&w->thread, worker_thread, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

static void worker_close_handle(uv_handle_t *handle, void *arg)
{
    (void)arg;
    if (!uv_is_closing(handle)) {
        uv_close(handle, NULL);
    }
}

/* Dependency order: queries in flight are cancelled by upstream_free (their replies are dropped
 * with the listeners), then the loop runs until every handle has closed. */
void daemon_worker_shutdown(struct daemon_worker *w)
{
    for (size_t i = 0; i < w->gen_count; i++) {
        daemon_gen_cancel(w->gens[i]);
    }
    server_free(w->server);
    w->server = NULL;
    uv_walk(&w->loop, worker_close_handle, NULL);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    for (size_t i = 0; i < w->gen_count; i++) {
        daemon_gen_free(w->gens[i]);
    }
    w->gen_count = 0;
    daemon_conf_release(w->pending); /* a reload that arrived with the stop request */
    w->pending = NULL;
    query_ctx_deinit(&w->queries);
    uv_loop_close(&w->loop);
}
