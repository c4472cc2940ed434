/* log.c - the process-wide logger (log.h). One sink chosen at start-up: stderr, syslog or a file
 * (dnsmasq's log-facility). Each line is formatted into one buffer and written with one call. */
#include "dnsroute/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "dnsroute/mem.h"

/* The logger's level and sink: the only process-wide state (STYLE §3), set once at start-up. */
static struct {
    enum log_level level;
    enum log_sink sink;
    int fd;
    char *path;
    bool also_stderr;
} logger = {LOG_LEVEL_INFO, LOG_SINK_STDERR, 2, NULL, false};

int log_open(enum log_sink sink, const char *path, int facility, bool also_stderr)
{
    if (sink == LOG_SINK_FILE) {
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (fd < 0) {
            return -errno;
        }
        if (logger.fd > 2) {
            close(logger.fd);
        }
        free(logger.path);
        logger.path = mem_strdup(path);
        logger.fd = fd;
    } else if (sink == LOG_SINK_SYSLOG) {
        openlog("dnsroute", LOG_PID | LOG_NDELAY, facility);
    }
    logger.sink = sink;
    logger.also_stderr = also_stderr;
    return 0;
}

/* Worker threads write to logger.fd at any time: the new file is dup3'ed onto the same
 * descriptor number, so no thread ever writes to a closed (or reused) descriptor. */
int log_reopen(void)
{
    if (logger.sink != LOG_SINK_FILE || logger.path == NULL) {
        return 0;
    }
    int fd = open(logger.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        return -errno;
    }
    int rc = dup3(fd, logger.fd, O_CLOEXEC) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

void log_set_level(enum log_level level)
{
    logger.level = level;
}

bool log_enabled(enum log_level level)
{
    return level <= logger.level;
}

static const int log_syslog_prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};

static void log_emit(enum log_level level, const char *fmt, va_list ap) DNSROUTE_PRINTF(2, 0);

static void log_emit(enum log_level level, const char *fmt, va_list ap)
{
    char line[2048];
    size_t off = 0;
    if (logger.sink == LOG_SINK_FILE) {
        /* dnsmasq's log file lines: "Mon DD HH:MM:SS dnsmasq[pid]: msg". */
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        off = strftime(line, sizeof(line), "%b %e %H:%M:%S ", &tm);
        off += (size_t)snprintf(line + off, sizeof(line) - off, "dnsroute[%d]: ", (int)getpid());
    }
    int n = vsnprintf(line + off, sizeof(line) - off - 1, fmt, ap);
    size_t len = off + (n < 0 ? 0 : (size_t)n);
    if (len > sizeof(line) - 2) {
        len = sizeof(line) - 2;
    }
    if (logger.sink == LOG_SINK_SYSLOG) {
        syslog(log_syslog_prio[level], "%s", line);
    }
    line[len++] = '\n';
    if (logger.sink == LOG_SINK_STDERR || logger.also_stderr) {
        ssize_t w = write(2, line + off, len - off);
        (void)w;
    }
    if (logger.sink == LOG_SINK_FILE) {
        ssize_t w = write(logger.fd, line, len);
        (void)w;
    }
}

#define LOG_DEFINE(fn, lvl)                                                                        \
    void fn(const char *fmt, ...)                                                                  \
    {                                                                                              \
        if (!log_enabled(lvl)) {                                                                   \
            return;                                                                                \
        }                                                                                          \
        va_list ap;                                                                                \
        va_start(ap, fmt);                                                                         \
        log_emit(lvl, fmt, ap);                                                                    \
        va_end(ap);                                                                                \
    }

LOG_DEFINE(log_error, LOG_LEVEL_ERROR)
LOG_DEFINE(log_warn, LOG_LEVEL_WARN)
LOG_DEFINE(log_info, LOG_LEVEL_INFO)
LOG_DEFINE(log_debug, LOG_LEVEL_DEBUG)

bool log_ratelimit_pass(struct log_ratelimit *rl, uint64_t now_ms)
{
    if (rl->last_ms != 0 && now_ms - rl->last_ms < rl->interval_ms) {
        rl->suppressed++;
        return false;
    }
    rl->last_ms = now_ms ? now_ms : 1;
    return true;
}
