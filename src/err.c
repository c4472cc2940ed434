/* err.c - names for the project's error codes (err.h) and for negative errno values. */
#include "dnsroute/err.h"

#include <string.h>

static const char *const err_texts[] = {
    [ERR_PARSE - ERR_FIRST] = "error",
    [ERR_BAD_OPTION - ERR_FIRST] = "bad option",
    [ERR_MISSING_PARAM - ERR_FIRST] = "missing parameter",
    [ERR_EXTRA_PARAM - ERR_FIRST] = "extraneous parameter",
    [ERR_REPEATED - ERR_FIRST] = "illegal repeated keyword",
    [ERR_BAD_PORT - ERR_FIRST] = "bad port",
    [ERR_BAD_ADDRESS - ERR_FIRST] = "bad address",
    [ERR_BAD_DOMAIN - ERR_FIRST] = "bad domain",
    [ERR_TRUNCATED - ERR_FIRST] = "truncated message",
    [ERR_MALFORMED - ERR_FIRST] = "malformed message",
    [ERR_NAME_TOO_LONG - ERR_FIRST] = "name too long",
    [ERR_NOT_FOUND - ERR_FIRST] = "not found",
    [ERR_FULL - ERR_FIRST] = "table full",
    [ERR_MISMATCH - ERR_FIRST] = "reply does not match query",
    [ERR_TIMEOUT - ERR_FIRST] = "timed out",
    [ERR_UNSUPPORTED - ERR_FIRST] = "not supported",
};

const char *err_str(int code)
{
    if (code == 0) {
        return "success";
    }
    if (code >= ERR_FIRST && code < ERR_LAST) {
        return err_texts[code - ERR_FIRST];
    }
    if (code < 0 && code > -4096) {
        return strerror(-code);
    }
    return "unknown error";
}
