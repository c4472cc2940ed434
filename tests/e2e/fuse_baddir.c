/* fuse_baddir - runs a command with a directory that opens but cannot be read.
 *
 *   fuse_baddir MOUNTPOINT ERRNO -- COMMAND [ARG...]
 *
 * In a private mount namespace it mounts, at MOUNTPOINT, a FUSE file system (the kernel's FUSE
 * protocol, <linux/fuse.h>, spoken directly on /dev/fuse) whose root directory can be stat()ed
 * and opened but answers every READDIR with the error ERRNO (a number, e.g. 5 for EIO), as a
 * failing disk or network file system does. It runs COMMAND there, serves the file system until
 * COMMAND ends, then stops and exits with COMMAND's status (125 when the set-up failed, 77 when
 * FUSE cannot be mounted here). Used by test_conf_dir.sh: a conf-dir that cannot be read to its
 * end must be an error, not an empty directory. Self-contained (libc + kernel headers). */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

enum { FB_BUF_LEN = 1 << 18, FB_MAX_WRITE = 1 << 16, FB_SKIP = 77, FB_SETUP = 125 };

/* One reply: the header and an optional body, written in one call as the protocol requires. */
static void fb_reply(int fd, uint64_t unique, int error, const void *body, size_t len)
{
    char out[sizeof(struct fuse_out_header) + 256];
    struct fuse_out_header h = {
        .len = (uint32_t)(sizeof(h) + len), .error = -error, .unique = unique};
    memcpy(out, &h, sizeof(h));
    if (len > 0) {
        memcpy(out + sizeof(h), body, len);
    }
    if (write(fd, out, sizeof(h) + len) < 0 && errno != ENOENT) {
        perror("fuse_baddir: write /dev/fuse"); /* ENOENT: the request was interrupted */
    }
}

static void fb_init(int fd, uint64_t unique, const char *arg)
{
    struct fuse_init_in in;
    memcpy(&in, arg, sizeof(in));
    struct fuse_init_out out = {
        .major = FUSE_KERNEL_VERSION,
        .minor = in.minor < FUSE_KERNEL_MINOR_VERSION ? in.minor : FUSE_KERNEL_MINOR_VERSION,
        .max_readahead = in.max_readahead,
        .max_background = 16,
        .congestion_threshold = 12,
        .max_write = FB_MAX_WRITE};
    fb_reply(fd, unique, 0, &out, sizeof(out));
}

/* The root directory: owned by the caller, mode 0755, empty as far as lookups go. */
static void fb_getattr(int fd, uint64_t unique)
{
    struct fuse_attr_out out = {.attr_valid = 0};
    out.attr.ino = FUSE_ROOT_ID;
    out.attr.mode = S_IFDIR | 0755;
    out.attr.nlink = 2;
    out.attr.uid = (uint32_t)getuid();
    out.attr.gid = (uint32_t)getgid();
    fb_reply(fd, unique, 0, &out, sizeof(out));
}

/* Answers one request; returns 1 after DESTROY, 0 otherwise. */
static int fb_serve_one(int fd, const char *buf, int readdir_errno)
{
    struct fuse_in_header h;
    memcpy(&h, buf, sizeof(h));
    const char *arg = buf + sizeof(h);
    struct fuse_open_out open_out = {.fh = 1};
    struct fuse_statfs_out statfs_out = {.st.bsize = 4096, .st.namelen = 255};
    switch (h.opcode) {
    case FUSE_INIT:
        fb_init(fd, h.unique, arg);
        return 0;
    case FUSE_GETATTR:
        fb_getattr(fd, h.unique);
        return 0;
    case FUSE_OPENDIR:
        fb_reply(fd, h.unique, 0, &open_out, sizeof(open_out));
        return 0;
    case FUSE_READDIR:
    case FUSE_READDIRPLUS:
        fb_reply(fd, h.unique, readdir_errno, NULL, 0);
        return 0;
    case FUSE_STATFS:
        fb_reply(fd, h.unique, 0, &statfs_out, sizeof(statfs_out));
        return 0;
    case FUSE_RELEASEDIR:
    case FUSE_ACCESS:
    case FUSE_FLUSH:
        fb_reply(fd, h.unique, 0, NULL, 0);
        return 0;
    case FUSE_LOOKUP:
        fb_reply(fd, h.unique, ENOENT, NULL, 0);
        return 0;
    case FUSE_FORGET:
    case FUSE_BATCH_FORGET:
    case FUSE_INTERRUPT:
        return 0; /* no reply for these */
    case FUSE_DESTROY:
        fb_reply(fd, h.unique, 0, NULL, 0);
        return 1;
    default:
        fb_reply(fd, h.unique, ENOSYS, NULL, 0);
        return 0;
    }
}

/* Serves until the connection goes away (unmount: ENODEV) or DESTROY. Runs in its own process. */
static int fb_serve(int fd, int readdir_errno)
{
    char *buf = malloc(FB_BUF_LEN);
    if (buf == NULL) {
        return FB_SETUP;
    }
    for (;;) {
        ssize_t n = read(fd, buf, FB_BUF_LEN);
        if (n < 0 && (errno == EINTR || errno == ENOENT || errno == EAGAIN)) {
            continue;
        }
        if (n < 0) {
            break; /* ENODEV: unmounted */
        }
        if ((size_t)n < sizeof(struct fuse_in_header) || fb_serve_one(fd, buf, readdir_errno)) {
            break;
        }
    }
    free(buf);
    return 0;
}

/* A private mount namespace (nothing propagates back) with the file system mounted at mnt.
 * Returns the /dev/fuse descriptor, or -1 with a message. */
static int fb_mount(const char *mnt)
{
    if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
        perror("fuse_baddir: private mount namespace");
        return -1;
    }
    int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        perror("fuse_baddir: open /dev/fuse");
        return -1;
    }
    char opts[128];
    (void)snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=%u,group_id=%u", fd,
                   (unsigned)getuid(), (unsigned)getgid());
    if (mount("fuse_baddir", mnt, "fuse", MS_NOSUID | MS_NODEV, opts) < 0) {
        perror("fuse_baddir: mount fuse");
        (void)close(fd);
        return -1;
    }
    return fd;
}

static int fb_wait(pid_t pid)
{
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            return FB_SETUP;
        }
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char **argv)
{
    if (argc < 5 || strcmp(argv[3], "--") != 0) {
        fprintf(stderr, "usage: fuse_baddir MOUNTPOINT ERRNO -- COMMAND [ARG...]\n");
        return 2;
    }
    int readdir_errno = atoi(argv[2]);
    int fd = fb_mount(argv[1]);
    if (fd < 0) {
        return FB_SKIP;
    }
    pid_t server = fork();
    if (server == 0) {
        _exit(fb_serve(fd, readdir_errno));
    }
    (void)close(fd);
    pid_t cmd = server < 0 ? -1 : fork();
    if (cmd == 0) {
        execvp(argv[4], argv + 4);
        perror("fuse_baddir: exec");
        _exit(127);
    }
    int rc = cmd < 0 ? FB_SETUP : fb_wait(cmd);
    if (umount2(argv[1], MNT_DETACH) < 0) {
        perror("fuse_baddir: umount");
    }
    if (server > 0) {
        (void)kill(server, SIGTERM);
        (void)fb_wait(server);
    }
    return rc;
}
