/* daemon_proc.c - the process side of the daemon: logging set-up (log-facility), detaching
 * (unless -k/-d), the pid file, and dropping root to user=/group= while keeping CAP_NET_ADMIN
 * when ipset=/nftset= rules need it, as dnsmasq does. */
#include "daemon_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <unistd.h>

#include "dnsroute/err.h"
#include "dnsroute/log.h"

static const struct {
    const char *name;
    int facility;
} daemon_facilities[] = {
    {"kern", LOG_KERN},     {"user", LOG_USER},         {"mail", LOG_MAIL},
    {"daemon", LOG_DAEMON}, {"auth", LOG_AUTH},         {"syslog", LOG_SYSLOG},
    {"lpr", LOG_LPR},       {"news", LOG_NEWS},         {"uucp", LOG_UUCP},
    {"cron", LOG_CRON},     {"authpriv", LOG_AUTHPRIV}, {"ftp", LOG_FTP},
    {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1},     {"local2", LOG_LOCAL2},
    {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4},     {"local5", LOG_LOCAL5},
    {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
};

int daemon_log_setup(const struct conf *c)
{
    const char *f = c->log_facility;
    if (f != NULL && strcmp(f, "-") == 0) {
        return log_open(LOG_SINK_STDERR, NULL, 0, false);
    }
    if (f != NULL && strchr(f, '/') != NULL) {
        return log_open(LOG_SINK_FILE, f, 0, c->no_daemon);
    }
    int facility = LOG_DAEMON;
    for (size_t i = 0; f != NULL && i < DNSROUTE_ARRAY_LEN(daemon_facilities); i++) {
        if (strcmp(daemon_facilities[i].name, f) == 0) {
            facility = daemon_facilities[i].facility;
        }
    }
    return log_open(LOG_SINK_SYSLOG, NULL, facility, c->no_daemon);
}

/* The original process waits here until the daemon has finished starting (dnsmasq's error pipe):
 * EOF means success, otherwise one exit-code byte and the message, printed as dnsmasq's die(). */
static int daemon_wait_started(int fd)
{
    char buf[600];
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0 || (len += (size_t)n) == sizeof(buf) - 1) {
            break;
        }
    }
    if (len == 0) {
        return CONF_EXIT_OK;
    }
    buf[len] = '\0';
    (void)fprintf(stderr, "\ndnsroute: %s\n", buf + 1);
    return (unsigned char)buf[0];
}

int daemon_detach(int *report_fd, const sigset_t *parent_mask)
{
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0) {
        return -errno;
    }
    pid_t pid = fork();
    if (pid < 0) {
        int rc = -errno;
        close(pipefd[0]);
        close(pipefd[1]);
        return rc;
    }
    if (pid > 0) {
        close(pipefd[1]);
        pthread_sigmask(SIG_SETMASK, parent_mask, NULL);
        _exit(daemon_wait_started(pipefd[0]));
    }
    close(pipefd[0]);
    *report_fd = pipefd[1];
    setsid();
    pid = fork(); /* not a session leader: can never acquire a controlling terminal */
    if (pid < 0) {
        return -errno;
    }
    if (pid > 0) {
        _exit(0);
    }
    if (chdir("/") != 0) {
        return -errno;
    }
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
        dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        if (fd > 2) {
            close(fd);
        }
    }
    return 0;
}

void daemon_report_started(int report_fd, int code, const char *msg)
{
    if (code != 0 && report_fd < 0) {
        (void)fprintf(stderr, "\ndnsroute: %s\n", msg);
    } else if (code != 0) {
        char buf[600];
        int n = snprintf(buf, sizeof(buf), "%c%s", (char)code, msg);
        ssize_t w = write(report_fd, buf, n < (int)sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
        (void)w;
    }
    if (report_fd >= 0) {
        close(report_fd);
    }
}

int daemon_write_pidfile(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        return -errno;
    }
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
    ssize_t w = write(fd, buf, (size_t)n);
    int rc = w == n ? 0 : -EIO;
    close(fd);
    return rc;
}

/* Keeps only CAP_NET_ADMIN (when keep_net_admin) and CAP_NET_BIND_SERVICE (when keep_bind) in the
 * permitted and effective sets. */
static int daemon_set_caps(bool keep_net_admin, bool keep_bind)
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof(data));
    uint32_t caps =
        (keep_net_admin ? 1u << CAP_NET_ADMIN : 0) | (keep_bind ? 1u << CAP_NET_BIND_SERVICE : 0);
    data[0].permitted = data[0].effective = caps;
    if (syscall(SYS_capset, &hdr, data) != 0) {
        return -errno;
    }
    return 0;
}

int daemon_check_user(const struct conf *c, char *errbuf, size_t errlen)
{
    const char *bad = NULL;
    if (c->user != NULL && getpwnam(c->user) == NULL) {
        bad = c->user;
    } else if (c->group != NULL && strcmp(c->group, "dip") != 0 && getgrnam(c->group) == NULL) {
        bad = c->group; /* dnsmasq ignores a missing default group "dip" but not an explicit one */
    }
    if (bad != NULL) {
        (void)snprintf(errbuf, errlen, "unknown user or group: %s", bad);
        return ERR_NOT_FOUND;
    }
    return 0;
}

int daemon_drop_privileges(const struct conf *c, bool keep_net_admin, bool keep_bind, char *errbuf,
                           size_t errlen)
{
    if (geteuid() != 0 || c->user == NULL || c->no_daemon) {
        return 0; /* dnsmasq -d never changes user */
    }
    struct passwd *pw = getpwnam(c->user);
    if (pw == NULL) {
        (void)snprintf(errbuf, errlen, "unknown user or group: %s", c->user);
        return ERR_NOT_FOUND;
    }
    if (pw->pw_uid == geteuid()) {
        return 0; /* already that user (user=root, or a test's user namespace) */
    }
    gid_t gid = pw->pw_gid;
    if (c->group != NULL) {
        struct group *gr = getgrnam(c->group);
        if (gr != NULL) {
            gid = gr->gr_gid;
        } else if (strcmp(c->group, "dip") != 0) {
            /* dnsmasq ignores a missing default group "dip" but not an explicit one. */
            (void)snprintf(errbuf, errlen, "unknown user or group: %s", c->group);
            return ERR_NOT_FOUND;
        }
    }
    /* As dnsmasq: the pid file and a log file belong to the user the daemon becomes, so logrotate
     * can copy the owner (failures ignored, e.g. a read-only mount). */
    if (c->pid_file != NULL && chown(c->pid_file, pw->pw_uid, gid) != 0) {
        errno = 0;
    }
    if (c->log_facility != NULL && strchr(c->log_facility, '/') != NULL &&
        chown(c->log_facility, pw->pw_uid, (gid_t)-1) != 0) {
        errno = 0;
    }
    if ((keep_net_admin || keep_bind) && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) {
        (void)snprintf(errbuf, errlen, "process capabilities: %s", strerror(errno));
        return -errno;
    }
    if (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(pw->pw_uid) != 0) {
        (void)snprintf(errbuf, errlen, "failed to change user-id to %s: %s", c->user,
                       strerror(errno));
        return -errno;
    }
    int rc = daemon_set_caps(keep_net_admin, keep_bind);
    if (rc < 0) {
        (void)snprintf(errbuf, errlen, "failed to set capabilities: %s", err_str(rc));
        return rc;
    }
    return 0;
}
