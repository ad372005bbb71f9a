/* smtp_caps.h - the ESMTP extensions postern uses, read from an EHLO reply
 * (RFC 5321 §4.1.1.1) as bits. Layer: smtp. Pure. Trust: the reply comes
 * from the server; unknown keywords are ignored, odd parameters too. */
#ifndef POSTERN_SMTP_SMTP_CAPS_H
#define POSTERN_SMTP_SMTP_CAPS_H

#include <stddef.h>
#include <stdint.h>

#include "smtp/smtp_reply.h"

enum smtp_cap {
    SMTP_CAP_STARTTLS = 1u << 0,            /* RFC 3207 */
    SMTP_CAP_AUTH = 1u << 1,                /* RFC 4954, any mechanism */
    SMTP_CAP_AUTH_PLAIN = 1u << 2,          /* RFC 4616 */
    SMTP_CAP_AUTH_LOGIN = 1u << 3,          /* draft-murchison-sasl-login */
    SMTP_CAP_SIZE = 1u << 4,                /* RFC 1870 */
    SMTP_CAP_8BITMIME = 1u << 5,            /* RFC 6152 */
    SMTP_CAP_PIPELINING = 1u << 6,          /* RFC 2920 */
    SMTP_CAP_ENHANCEDSTATUSCODES = 1u << 7, /* RFC 2034 */
    SMTP_CAP_SMTPUTF8 = 1u << 8             /* RFC 6531 */
};

struct smtp_caps {
    unsigned bits; /* enum smtp_cap */
    /* RFC 1870 §4: the largest message the server takes, in bytes; 0 when
     * it named none ("SIZE" alone, "SIZE 0", no SIZE). A value too big for
     * 64 bits reads as UINT64_MAX, a malformed one as 0. */
    uint64_t size_max;
};

/* Reads the keywords of an EHLO reply: lines[1..] ("AUTH PLAIN LOGIN",
 * also the old "AUTH=PLAIN LOGIN" form; keywords and mechanisms compared
 * without case). Line 0 is the server's greeting and is skipped. */
void smtp_caps_parse(const struct smtp_reply *ehlo, struct smtp_caps *caps_out);

/* Space-separated names of the bits set, for logs and tests. Writes at most
 * size bytes into buf (always NUL-terminated) and returns buf. */
char *smtp_caps_describe(unsigned bits, char *buf, size_t size);

#endif
