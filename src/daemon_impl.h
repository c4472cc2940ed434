/* daemon_impl.h - private parts of the daemon shared by daemon.c and daemon_proc.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "dnsroute/conf.h"

/* Chooses the log sink from log-facility (syslog by default, "-" stderr, a path a file). */
int daemon_log_setup(const struct conf *c);
/* Forks into the background (double fork, setsid, stdio to /dev/null). Returns in the child. */
int daemon_detach(void);
/* Writes the pid file. */
int daemon_write_pidfile(const char *path);
/* Changes to user=/group= when root (not with -d), keeping CAP_NET_ADMIN if keep_net_admin. */
int daemon_drop_privileges(const struct conf *c, bool keep_net_admin, char *errbuf,
                           size_t errlen);
