/* nlset_libipset.c - the ipset control plane through libipset (ipset's own library): a set's
 * type and family from IPSET_CMD_HEADER, and ipset's own wording when the kernel refuses ("The
 * set with the given name does not exist", "Kernel error received: Operation not permitted").
 * nlset.c calls it when it probes a set (start-up and re-probe), never per address.
 *
 * What stays on raw libmnl, measured: the element timeout flag, because libipset returns it
 * only from IPSET_CMD_LIST, which it parses only for set type revisions it knows (libipset
 * 7.17 on a 6.x kernel: "Kernel and userspace incompatible: settype hash:ip with revision 6 not
 * supported by userspace" unless every type module is loaded, "Internal protocol error" for
 * hash:ip,port revision 7 even then), while our IPSET_CMD_LIST header probe reads the timeout
 * of any revision; and the adds, batched into one sendmmsg per loop turn (nlset.c), where
 * libipset sends and waits for one message per command. */
#include "nlset_impl.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <libipset/data.h>
#include <libipset/session.h>

/* The session prints nothing: a HEADER command has no listing. */
static int libipset_quiet(struct ipset_session *session, void *p, const char *fmt, ...)
{
    (void)session;
    (void)p;
    (void)fmt;
    return 0;
}

void nlset_libipset_close(struct ipset_session *sess)
{
    if (sess != NULL) {
        ipset_session_fini(sess);
    }
}

/* ipset's report without its trailing newline, or fallback when it has none. */
static void libipset_message(const struct ipset_session *sess, const char *fallback, char *msg,
                             size_t len)
{
    const char *text = ipset_session_report_msg(sess);
    if (text == NULL || text[0] == '\0') {
        text = fallback;
    }
    (void)snprintf(msg, len, "%s", text);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) {
        msg[--n] = '\0';
    }
}

int nlset_libipset_header(struct ipset_session **sess, struct nlset_set *s, char *msg, size_t len)
{
    if (*sess == NULL) {
        *sess = ipset_session_init(libipset_quiet, NULL);
        if (*sess == NULL) {
            (void)snprintf(msg, len, "libipset: cannot create a session");
            return -1;
        }
    }
    struct ipset_session *ss = *sess;
    int rc = ipset_session_data_set(ss, IPSET_SETNAME, s->conf.name);
    if (rc == 0) {
        rc = ipset_cmd(ss, IPSET_CMD_HEADER, 0);
    }
    if (rc < 0) {
        libipset_message(ss, "libipset: no answer", msg, len);
        /* A session that saw an error reports it again on later commands: start afresh. */
        ipset_session_fini(ss);
        *sess = NULL;
        return -1;
    }
    const struct ipset_data *d = ipset_session_data(ss);
    const char *type = ipset_data_get(d, IPSET_OPT_TYPENAME);
    uint8_t family = ipset_data_family(d);
    (void)snprintf(s->type, sizeof(s->type), "%s", type != NULL ? type : "");
    s->family = family == AF_INET || family == AF_INET6 ? family : 0;
    ipset_data_reset(ipset_session_data(ss));
    return 0;
}
