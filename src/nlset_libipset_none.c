/* nlset_libipset_none.c - the build without libipset (CMake picks this file or
 * nlset_libipset.c): ipsets are probed by nlset.c's raw IPSET_CMD_LIST header probe alone, and a
 * failure is named by nlset_err_str. */
#include "nlset_impl.h"

int nlset_libipset_header(struct ipset_session **sess, struct nlset_set *s, char *msg, size_t len)
{
    (void)sess;
    (void)s;
    (void)msg;
    (void)len;
    return 1;
}

void nlset_libipset_close(struct ipset_session *sess)
{
    (void)sess;
}
