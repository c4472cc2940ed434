/* dbusctl_impl.h - private parts of the D-Bus module shared by dbusctl.c (bus, loop glue,
 * replies) and dbusctl_decode.c (argument decoding). */
#pragma once

#include <dbus/dbus.h>
#include <stddef.h>

#include "dnsroute/dbusctl.h"

/* Which server-setting method a call is. */
enum dbusctl_method {
    DBUSCTL_SET_SERVERS,        /* SetServers: UINT32 / 16 BYTEs, each followed by domains */
    DBUSCTL_SET_SERVERS_EX,     /* SetServersEx: aas */
    DBUSCTL_SET_DOMAIN_SERVERS, /* SetDomainServers: as, server= syntax */
};

/* Decodes the arguments of msg as method into *out. Returns 0, or -EINVAL with dnsmasq's
 * InvalidArgs text in errbuf (out then holds whatever was decoded; the caller discards it). */
int dbusctl_decode(DBusMessage *msg, enum dbusctl_method method, struct dbusctl_servers *out,
                   char *errbuf, size_t errlen);
