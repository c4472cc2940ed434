/* log.h - the process-wide logger: a level and a sink (stderr, syslog, or a file), set once at
 * start-up; the only process-wide mutable state besides nothing (STYLE §3). Lines are written
 * whole; safe to call from any loop callback, not from signal handlers. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "dnsroute/compat.h"

enum log_level { LOG_LEVEL_ERROR = 0, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

enum log_sink { LOG_SINK_STDERR = 0, LOG_SINK_SYSLOG, LOG_SINK_FILE };

/* Chooses the sink. For LOG_SINK_FILE, path is opened for append (returns -errno on failure and
 * keeps the old sink); for LOG_SINK_SYSLOG, facility is a LOG_* facility from <syslog.h>.
 * also_stderr copies every line to stderr too (dnsmasq's -d). */
int log_open(enum log_sink sink, const char *path, int facility, bool also_stderr);
/* Re-opens a file sink (SIGUSR2 rotation). No-op for other sinks. */
int log_reopen(void);
/* Lines above this level are dropped. Default LOG_LEVEL_INFO. */
void log_set_level(enum log_level level);
bool log_enabled(enum log_level level);

void log_error(const char *fmt, ...) DNSROUTE_PRINTF(1, 2);
void log_warn(const char *fmt, ...) DNSROUTE_PRINTF(1, 2);
void log_info(const char *fmt, ...) DNSROUTE_PRINTF(1, 2);
void log_debug(const char *fmt, ...) DNSROUTE_PRINTF(1, 2);

/* A rate limiter owned by the caller: at most one line per interval_ms. */
struct log_ratelimit {
    uint64_t interval_ms;
    uint64_t last_ms;
    uint64_t suppressed; /* lines dropped since the last one let through */
};
/* True when a line may be written now (now_ms: a monotonic clock); counts suppressed lines. */
bool log_ratelimit_pass(struct log_ratelimit *rl, uint64_t now_ms);
