/* fuzz_dbusctl.c - fuzz target for the D-Bus server setters: the input is a serialized D-Bus
 * message (dbus_message_marshal format) decoded as SetServers, SetServersEx or
 * SetDomainServers. Malformed messages and arguments must give ERR_PARSE or an InvalidArgs
 * text, never a crash or a leak; every decoded line has server= syntax ("/DOMAIN/..."). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dnsroute/compat.h"
#include "dnsroute/dbusctl.h"
#include "dnsroute/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dbusctl_servers s;
    memset(&s, 0, sizeof(s));
    char err[512] = "";
    int rc = dbusctl_decode_wire(data, size, &s, err, sizeof(err));
    DNSROUTE_REQUIRE(rc == 0 || rc == ERR_PARSE || (rc == -EINVAL && err[0] != '\0'));
    for (size_t i = 0; rc == 0 && i < s.count; i++) {
        DNSROUTE_REQUIRE(s.lines[i][0] == '/' && strchr(s.lines[i] + 1, '/') != NULL);
    }
    dbusctl_servers_deinit(&s);
    return 0;
}
