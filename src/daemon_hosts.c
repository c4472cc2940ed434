/* daemon_hosts.c - keeps the hosts data of the running configuration current without SIGHUP, as
 * dnsmasq's inotify.c does: every hostsdir= directory is watched for files written, moved in or
 * deleted (IN_CLOSE_WRITE, IN_MOVED_TO, IN_DELETE; inotify(7)), and the lease file for any change
 * (dnsmasq's DHCP rewrites it in place, so IN_MODIFY too). Events are gathered on worker 0's loop;
 * after a short settling delay the changed files are read and the store rebuilt on libuv's thread
 * pool (uv_queue_work), off every loop, and the result is handed to the workers the way a reload
 * is (daemon_adopt): queries in flight finish on the store they started with. */
#include "daemon_impl.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "dnsroute/hosts.h"
#include "dnsroute/log.h"
#include "dnsroute/mem.h"

enum {
    DAEMON_HOSTS_SETTLE_MS = 50, /* a burst of writes (a lease file rewrite) ends within this */
    DAEMON_HOSTS_DIR_MASK = IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE,
    DAEMON_HOSTS_LEASE_MASK = IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE | IN_MODIFY | IN_CREATE,
};

/* A file event in a hostsdir, waiting for the next rebuild. */
struct daemon_hosts_event {
    size_t dir;
    bool removed;
    char name[NAME_MAX + 1];
};

/* One rebuild: the inputs are taken on the loop, the work runs on the thread pool. */
struct daemon_hosts_work {
    uv_work_t req;
    struct daemon *d;
    struct daemon_conf *dc; /* the configuration rebuilt from (a reference) */
    struct conf_hostsrc *src;
    struct daemon_hosts_event *events;
    size_t event_count;
    bool leases;
    int64_t now_s;
    struct hosts *result;
};

static void daemon_hosts_unwatch(struct daemon_hosts *h)
{
    for (size_t i = 0; i < h->dir_count; i++) {
        if (h->dir_wds[i] >= 0) {
            (void)inotify_rm_watch(h->fd, h->dir_wds[i]);
        }
    }
    if (h->lease_wd >= 0) {
        (void)inotify_rm_watch(h->fd, h->lease_wd);
    }
    free(h->dir_wds);
    h->dir_wds = NULL;
    h->dir_count = 0;
    h->lease_wd = -1;
}

/* The watch of the lease file's directory (the file may not exist yet, or be replaced). */
static void daemon_hosts_watch_leases(struct daemon_hosts *h, const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[PATH_MAX];
    size_t len = slash == NULL ? 1 : slash == path ? 1 : (size_t)(slash - path);
    if (len >= sizeof(dir)) {
        return;
    }
    memcpy(dir, slash == NULL ? "." : path, len);
    dir[len] = '\0';
    h->lease_wd = inotify_add_watch(h->fd, dir, DAEMON_HOSTS_LEASE_MASK | IN_MASK_ADD);
    if (h->lease_wd < 0) {
        log_error("failed to create inotify for %s: %s", path, strerror(errno));
    }
}

static void daemon_hosts_watch(struct daemon_hosts *h, const struct conf *c)
{
    daemon_hosts_unwatch(h);
    if (h->fd < 0) {
        return;
    }
    h->dir_wds = mem_calloc(c->hostsdir_count + 1, sizeof(int));
    h->dir_count = c->hostsdir_count;
    for (size_t i = 0; i < c->hostsdir_count; i++) {
        h->dir_wds[i] =
            inotify_add_watch(h->fd, c->hostsdirs[i], DAEMON_HOSTS_DIR_MASK | IN_MASK_ADD);
        if (h->dir_wds[i] < 0) {
            log_error("failed to create inotify for %s: %s", c->hostsdirs[i], strerror(errno));
        }
    }
    if (c->lease_file != NULL) {
        daemon_hosts_watch_leases(h, c->lease_file);
    }
}

static void on_settled(uv_timer_t *timer);
static void on_expiry(uv_timer_t *timer);

static int64_t daemon_hosts_now(void)
{
    return (int64_t)time(NULL);
}

/* Schedules the rebuild that drops the names of the next lease to expire. */
static void daemon_hosts_arm_expiry(struct daemon_hosts *h)
{
    if (!h->started || h->stopping) {
        return;
    }
    int64_t next = conf_hostsrc_next_expiry(h->src, daemon_hosts_now());
    if (next < 0) {
        uv_timer_stop(&h->expiry);
        return;
    }
    uv_timer_start(&h->expiry, on_expiry, (uint64_t)next * 1000 + 10, 0);
}

void daemon_hosts_load(struct daemon *d, struct daemon_conf *dc)
{
    struct daemon_hosts *h = &d->hosts;
    struct conf_hostsrc *src = conf_hostsrc_load(&dc->conf, daemon_hosts_now());
    if (h->work == NULL) {
        conf_hostsrc_free(h->src); /* else the rebuild in flight frees it: it is stale */
    }
    h->src = src;
    daemon_conf_release(h->current);
    atomic_fetch_add(&dc->users, 1);
    h->current = dc;
    h->event_count = 0; /* everything was just read */
    h->leases_dirty = h->expired = false;
    if (h->started) {
        daemon_hosts_watch(h, &dc->conf);
        daemon_hosts_arm_expiry(h);
    }
}

/* ---- The rebuild. */

static void on_work(uv_work_t *req)
{
    struct daemon_hosts_work *w = DNSROUTE_CONTAINER_OF(req, struct daemon_hosts_work, req);
    const struct conf *c = &w->dc->conf;
    for (size_t i = 0; i < w->event_count; i++) {
        conf_hostsrc_file_event(w->src, c, w->events[i].dir, w->events[i].name,
                                w->events[i].removed);
    }
    if (w->leases) {
        conf_hostsrc_reload_leases(w->src, c);
    }
    w->result = conf_hostsrc_build(w->src, c, w->now_s);
}

/* A configuration like cur, with store as its hosts data. */
static struct daemon_conf *daemon_hosts_derive(struct daemon_conf *cur, struct hosts *store)
{
    struct daemon_conf *base = cur->base != NULL ? cur->base : cur;
    struct daemon_conf *dc = mem_calloc(1, sizeof(*dc));
    dc->conf = base->conf;
    dc->conf.hosts = store;
    atomic_init(&dc->users, 1);
    dc->serial = base->serial; /* the same rules: cached answers keep their routes */
    atomic_fetch_add(&base->users, 1);
    dc->base = base;
    return dc;
}

static void daemon_hosts_kick(struct daemon_hosts *h);

static void on_work_done(uv_work_t *req, int status)
{
    struct daemon_hosts_work *w = DNSROUTE_CONTAINER_OF(req, struct daemon_hosts_work, req);
    struct daemon *d = w->d;
    struct daemon_hosts *h = &d->hosts;
    h->work = NULL;
    if (status == 0 && w->src == h->src && !h->stopping) {
        struct daemon_conf *dc = daemon_hosts_derive(h->current, w->result);
        w->result = NULL;
        size_t n = dc->conf.hosts != NULL ? hosts_count(dc->conf.hosts) : 0;
        log_info("hosts data rebuilt: %zu names", n);
        daemon_conf_release(h->current);
        atomic_fetch_add(&dc->users, 1);
        h->current = dc;
        daemon_adopt(d, dc);
        daemon_hosts_arm_expiry(h);
    } else if (w->src != h->src) {
        conf_hostsrc_free(w->src); /* a reload replaced the sources meanwhile */
    }
    hosts_free(w->result);
    daemon_conf_release(w->dc);
    free(w->events);
    free(w);
    if (!h->stopping && (h->event_count > 0 || h->leases_dirty || h->expired)) {
        daemon_hosts_kick(h);
    }
}

static void daemon_hosts_rebuild(struct daemon *d)
{
    struct daemon_hosts *h = &d->hosts;
    if (h->work != NULL || h->stopping || h->current == NULL) {
        return; /* on_work_done starts the next one */
    }
    struct daemon_hosts_work *w = mem_calloc(1, sizeof(*w));
    w->d = d;
    w->dc = h->current;
    atomic_fetch_add(&w->dc->users, 1);
    w->src = h->src;
    w->events = h->events;
    w->event_count = h->event_count;
    w->leases = h->leases_dirty;
    w->now_s = daemon_hosts_now();
    h->events = NULL;
    h->event_count = h->event_cap = 0;
    h->leases_dirty = h->expired = false;
    h->work = w;
    uv_queue_work(h->settle.loop, &w->req, on_work, on_work_done);
}

static void on_settled(uv_timer_t *timer)
{
    struct daemon *d = timer->data;
    daemon_hosts_rebuild(d);
}

static void on_expiry(uv_timer_t *timer)
{
    struct daemon *d = timer->data;
    d->hosts.expired = true;
    daemon_hosts_rebuild(d);
}

static void daemon_hosts_kick(struct daemon_hosts *h)
{
    uv_timer_start(&h->settle, on_settled, DAEMON_HOSTS_SETTLE_MS, 0);
}

/* ---- inotify events. */

static void daemon_hosts_queue(struct daemon_hosts *h, size_t dir, const struct inotify_event *e,
                               const char *name)
{
    mem_grow((void **)&h->events, &h->event_cap, h->event_count + 1, sizeof(*h->events));
    struct daemon_hosts_event *ev = &h->events[h->event_count++];
    ev->dir = dir;
    ev->removed = (e->mask & IN_DELETE) != 0;
    size_t n = strnlen(name, e->len);
    n = n < sizeof(ev->name) ? n : sizeof(ev->name) - 1;
    memcpy(ev->name, name, n);
    ev->name[n] = '\0';
}

static bool daemon_hosts_is_lease(const struct daemon_hosts *h, const struct inotify_event *e,
                                  const char *name)
{
    const char *file = h->current->conf.lease_file;
    if (file == NULL || e->wd != h->lease_wd || e->len == 0) {
        return false;
    }
    const char *base = strrchr(file, '/');
    base = base != NULL ? base + 1 : file;
    return strnlen(name, e->len) == strlen(base) && memcmp(base, name, strlen(base)) == 0;
}

/* One event; name is its e->len bytes (NUL-padded) that follow the header. */
static void daemon_hosts_event(struct daemon_hosts *h, const struct inotify_event *e,
                               const char *name)
{
    if (e->mask & IN_Q_OVERFLOW) {
        log_warn("inotify: events were lost; send SIGHUP to read every hosts file again");
        return;
    }
    if (daemon_hosts_is_lease(h, e, name)) {
        h->leases_dirty = true;
    }
    for (size_t i = 0; i < h->dir_count && e->len > 0; i++) {
        if (h->dir_wds[i] == e->wd && (e->mask & DAEMON_HOSTS_DIR_MASK) != 0) {
            daemon_hosts_queue(h, i, e, name);
        }
    }
}

static void on_inotify(uv_poll_t *poll, int status, int events)
{
    struct daemon *d = poll->data;
    struct daemon_hosts *h = &d->hosts;
    (void)status;
    (void)events;
    char buf[16 * (sizeof(struct inotify_event) + NAME_MAX + 1)];
    size_t before = h->event_count;
    bool leases = h->leases_dirty;
    ssize_t n;
    while ((n = read(h->fd, buf, sizeof(buf))) > 0) {
        for (ssize_t off = 0; off + (ssize_t)sizeof(struct inotify_event) <= n;) {
            struct inotify_event e; /* copied out: the buffer has no alignment to rely on */
            memcpy(&e, buf + off, sizeof(e));
            if (off + (ssize_t)(sizeof(e) + e.len) > n) {
                break;
            }
            daemon_hosts_event(h, &e, buf + off + sizeof(e));
            off += (ssize_t)(sizeof(e) + e.len);
        }
    }
    if (h->event_count != before || h->leases_dirty != leases) {
        daemon_hosts_kick(h);
    }
}

void daemon_hosts_start(struct daemon *d)
{
    struct daemon_hosts *h = &d->hosts;
    uv_loop_t *loop = &d->workers[0].loop;
    h->lease_wd = -1;
    h->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (h->fd < 0) {
        log_error("failed to create inotify: %s", strerror(errno));
    }
    uv_timer_init(loop, &h->settle);
    uv_timer_init(loop, &h->expiry);
    h->settle.data = h->expiry.data = d;
    h->poll.data = d;
    if (h->fd >= 0) {
        uv_poll_init(loop, &h->poll, h->fd);
        uv_poll_start(&h->poll, UV_READABLE, on_inotify);
    }
    h->started = true;
}

static void on_poll_closed(uv_handle_t *handle)
{
    struct daemon *d = handle->data;
    if (d->hosts.fd >= 0) {
        (void)close(d->hosts.fd);
        d->hosts.fd = -1;
    }
}

void daemon_hosts_stop(struct daemon *d)
{
    struct daemon_hosts *h = &d->hosts;
    h->stopping = true;
    if (h->started) {
        daemon_hosts_unwatch(h);
        uv_close((uv_handle_t *)&h->settle, NULL);
        uv_close((uv_handle_t *)&h->expiry, NULL);
        if (h->fd >= 0) {
            uv_close((uv_handle_t *)&h->poll, on_poll_closed);
        }
        h->started = false;
    }
    if (h->work == NULL) {
        conf_hostsrc_free(h->src);
    } else {
        /* The rebuild may be reading h->src: on_work_done frees it (cancelled or finished). */
        (void)uv_cancel((uv_req_t *)&h->work->req);
    }
    h->src = NULL;
    daemon_conf_release(h->current);
    h->current = NULL;
    free(h->events);
    h->events = NULL;
}
