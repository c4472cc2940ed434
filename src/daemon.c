/* daemon.c - start-up and the event loop's owner. Loads the configuration generation, answers
 * --test and --explain, then (see query.c, server_*.c, upstream.c) serves until told to stop. */
#include "dnsroute/daemon.h"

#include <stdio.h>
#include <string.h>

#include "dnsroute/conf.h"
#include "dnsroute/log.h"

static int daemon_explain(const struct conf *c)
{
    for (size_t i = 0; i < c->explain_count; i++) {
        conf_explain(c, c->explain_names[i], 0, stdout);
    }
    return 0;
}

int daemon_main(int argc, char **argv)
{
    struct conf conf;
    struct conf_error err;
    if (conf_load(&conf, argc, argv, &err) < 0) {
        fprintf(stderr, "\n%s\n", err.message);
        return err.exit_code;
    }
    int rc = 0;
    if (conf.explain_count > 0) {
        rc = daemon_explain(&conf);
    } else if (conf.test_only) {
        fprintf(stderr, "dnsroute: syntax check OK.\n");
    } else {
        log_error("serving is not built yet");
        rc = 5;
    }
    conf_deinit(&conf);
    return rc;
}
