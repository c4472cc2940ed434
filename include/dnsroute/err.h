/* err.h - project error codes. Fallible functions return 0 or a negative code: -errno for system
 * errors, or one of the ERR_* values below (outside the errno range) for protocol, configuration
 * and data failures. err_str() names any code. */
#pragma once

enum err_code {
    ERR_FIRST = -10000,
    ERR_PARSE = ERR_FIRST, /* generic syntax error ("error" in dnsmasq's wording) */
    ERR_BAD_OPTION,        /* unknown option name */
    ERR_MISSING_PARAM,     /* option needs a value */
    ERR_EXTRA_PARAM,       /* flag given a value */
    ERR_REPEATED,          /* ARG_ONE option given twice */
    ERR_BAD_PORT,          /* port not in 0..65535 */
    ERR_BAD_ADDRESS,       /* not an IPv4/IPv6 literal */
    ERR_BAD_DOMAIN,        /* label > 63, name too long, control or non-ASCII characters */
    ERR_TRUNCATED,         /* wire data ends early */
    ERR_MALFORMED,         /* wire data inconsistent (bad pointer, bad label type, counts) */
    ERR_NAME_TOO_LONG,     /* domain name over 255 octets in wire form */
    ERR_NOT_FOUND,         /* lookup missed where a hit was required */
    ERR_FULL,              /* a bounded table or buffer is full */
    ERR_MISMATCH,          /* a reply does not match its query */
    ERR_TIMEOUT,           /* an exchange timed out */
    ERR_UNSUPPORTED,       /* valid but not supported here */
    ERR_LAST
};

/* Returns a static, human-readable text for any code (negative errno or ERR_*).
 * Safe to call from callbacks and signal-free contexts; never NULL. */
const char *err_str(int code);
