/* smtp_caps.c - EHLO keywords to bits.
 * Layer: smtp. Trust: UNTRUSTED keywords, only compared against a table;
 * the SIZE number is overflow-checked. */
#include <string.h>

#include <glib.h>

#include "core/attr.h"
#include "smtp/smtp_caps.h"

static const struct {
    const char *name;
    unsigned bit;
} caps_table[] = {
    {"STARTTLS", SMTP_CAP_STARTTLS},
    {"AUTH", SMTP_CAP_AUTH},
    {"SIZE", SMTP_CAP_SIZE},
    {"8BITMIME", SMTP_CAP_8BITMIME},
    {"PIPELINING", SMTP_CAP_PIPELINING},
    {"ENHANCEDSTATUSCODES", SMTP_CAP_ENHANCEDSTATUSCODES},
    {"SMTPUTF8", SMTP_CAP_SMTPUTF8},
};

/* The AUTH mechanisms we can use in a space-separated list. */
static unsigned
caps_auth_mechs(const char *p)
{
    unsigned bits = 0;

    while (*p != '\0') {
        size_t n;

        while (*p == ' ' || *p == '\t')
            p++;
        n = strcspn(p, " \t");
        if (n == 5 && g_ascii_strncasecmp(p, "PLAIN", 5) == 0)
            bits |= SMTP_CAP_AUTH_PLAIN;
        else if (n == 5 && g_ascii_strncasecmp(p, "LOGIN", 5) == 0)
            bits |= SMTP_CAP_AUTH_LOGIN;
        p += n;
    }
    return bits;
}

/* RFC 1870 §4: "SIZE" [SP number]; 0 when absent, malformed or 0. */
static uint64_t
caps_size(const char *p)
{
    uint64_t v = 0;

    while (*p == ' ' || *p == '\t')
        p++;
    if (!g_ascii_isdigit(*p))
        return 0;
    for (; g_ascii_isdigit(*p); p++) {
        unsigned d = (unsigned)(*p - '0');

        if (v > (UINT64_MAX - d) / 10)
            return UINT64_MAX;
        v = v * 10 + d;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    return *p == '\0' ? v : 0;
}

void
smtp_caps_parse(const struct smtp_reply *ehlo, struct smtp_caps *caps_out)
{
    memset(caps_out, 0, sizeof(*caps_out));
    for (size_t i = 1; i < ehlo->n_lines; i++) {
        const char *line = ehlo->lines[i];
        size_t n = strcspn(line, " \t=");

        for (size_t k = 0; k < N_ELEMENTS(caps_table); k++) {
            if (strlen(caps_table[k].name) != n ||
                g_ascii_strncasecmp(caps_table[k].name, line, n) != 0)
                continue;
            caps_out->bits |= caps_table[k].bit;
            /* "AUTH=LOGIN PLAIN": what pre-RFC 2554 clients needed */
            if (caps_table[k].bit == SMTP_CAP_AUTH && line[n] != '\0')
                caps_out->bits |= caps_auth_mechs(line + n + 1);
            if (caps_table[k].bit == SMTP_CAP_SIZE)
                caps_out->size_max = caps_size(line + n);
        }
    }
}

char *
smtp_caps_describe(unsigned bits, char *buf, size_t size)
{
    static const struct {
        const char *name;
        unsigned bit;
    } names[] = {
        {"STARTTLS", SMTP_CAP_STARTTLS},
        {"AUTH", SMTP_CAP_AUTH},
        {"AUTH-PLAIN", SMTP_CAP_AUTH_PLAIN},
        {"AUTH-LOGIN", SMTP_CAP_AUTH_LOGIN},
        {"SIZE", SMTP_CAP_SIZE},
        {"8BITMIME", SMTP_CAP_8BITMIME},
        {"PIPELINING", SMTP_CAP_PIPELINING},
        {"ENHANCEDSTATUSCODES", SMTP_CAP_ENHANCEDSTATUSCODES},
        {"SMTPUTF8", SMTP_CAP_SMTPUTF8},
    };
    size_t o = 0;

    xassert(size > 0);
    buf[0] = '\0';
    for (size_t i = 0; i < N_ELEMENTS(names); i++) {
        if (!(bits & names[i].bit))
            continue;
        o += (size_t)g_snprintf(buf + o, size - o, "%s%s", o > 0 ? " " : "",
                                names[i].name);
        if (o >= size) {
            buf[size - 1] = '\0';
            break;
        }
    }
    return buf;
}
