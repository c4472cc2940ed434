/* dbusctl_none.c - the D-Bus module of a build without libdbus-1 (DNSROUTE_DBUS=OFF, used only
 * where the library is missing, such as the cross presets): enable-dbus is refused at start-up
 * as dnsmasq built without HAVE_DBUS refuses it, and nothing decodes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dnsroute/dbusctl.h"
#include "dnsroute/err.h"

void dbusctl_servers_deinit(struct dbusctl_servers *s)
{
    memset(s, 0, sizeof(*s));
}

int dbusctl_new(uv_loop_t *loop, const char *name, const struct dbusctl_ops *ops,
                struct dbusctl **out, char *errbuf, size_t errlen)
{
    (void)loop;
    (void)name;
    (void)ops;
    (void)out;
    (void)snprintf(errbuf, errlen, "DBus not available: dnsroute was built with DNSROUTE_DBUS=OFF");
    return -ENOTSUP;
}

bool dbusctl_is_connected(const struct dbusctl *b)
{
    (void)b;
    return false;
}

void dbusctl_free(struct dbusctl *b)
{
    (void)b;
}

int dbusctl_decode_wire(const uint8_t *data, size_t len, struct dbusctl_servers *out, char *errbuf,
                        size_t errlen)
{
    (void)data;
    (void)len;
    (void)out;
    (void)snprintf(errbuf, errlen, "DBus not available");
    return ERR_PARSE;
}
