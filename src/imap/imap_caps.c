/* imap_caps.c - capability names to bits and back.
 * Layer: imap. Trust: UNTRUSTED names, only compared against a table. */
#include <string.h>

#include <glib.h>

#include "core/attr.h"
#include "imap/imap_caps.h"

static const struct {
    const char *name;
    uint32_t bit;
} caps_table[] = {
    {"IMAP4REV1", IMAP_CAP_IMAP4REV1},
    {"IMAP4REV2", IMAP_CAP_IMAP4REV2},
    {"STARTTLS", IMAP_CAP_STARTTLS},
    {"LOGINDISABLED", IMAP_CAP_LOGINDISABLED},
    {"AUTH=PLAIN", IMAP_CAP_AUTH_PLAIN},
    {"SASL-IR", IMAP_CAP_SASL_IR},
    {"ENABLE", IMAP_CAP_ENABLE},
    {"CONDSTORE", IMAP_CAP_CONDSTORE},
    {"QRESYNC", IMAP_CAP_QRESYNC},
    {"UTF8=ACCEPT", IMAP_CAP_UTF8_ACCEPT},
    {"LIST-EXTENDED", IMAP_CAP_LIST_EXTENDED},
    {"SPECIAL-USE", IMAP_CAP_SPECIAL_USE},
    {"LIST-STATUS", IMAP_CAP_LIST_STATUS},
    {"SORT", IMAP_CAP_SORT},
    {"ESORT", IMAP_CAP_ESORT},
    {"ESEARCH", IMAP_CAP_ESEARCH},
    {"MOVE", IMAP_CAP_MOVE},
    {"UIDPLUS", IMAP_CAP_UIDPLUS},
    {"LITERAL+", IMAP_CAP_LITERAL_PLUS},
    {"LITERAL-", IMAP_CAP_LITERAL_MINUS},
    {"IDLE", IMAP_CAP_IDLE},
    {"NAMESPACE", IMAP_CAP_NAMESPACE},
    {"ID", IMAP_CAP_ID},
    {"BINARY", IMAP_CAP_BINARY},
};

uint32_t
imap_caps_bit(const char *name, size_t len)
{
    for (size_t i = 0; i < N_ELEMENTS(caps_table); i++) {
        if (strlen(caps_table[i].name) == len &&
            g_ascii_strncasecmp(caps_table[i].name, name, len) == 0)
            return caps_table[i].bit;
    }
    return 0;
}

uint32_t
imap_caps_parse_text(const char *text)
{
    uint32_t caps = 0;
    const char *p = text;

    while (*p != '\0') {
        size_t n;

        while (*p == ' ')
            p++;
        n = strcspn(p, " ");
        if (n > 0)
            caps |= imap_caps_bit(p, n);
        p += n;
    }
    return caps;
}

char *
imap_caps_describe(uint32_t caps, char *buf, size_t size)
{
    size_t used = 0;

    xassert(size > 0);
    buf[0] = '\0';
    for (size_t i = 0; i < N_ELEMENTS(caps_table); i++) {
        if ((caps & caps_table[i].bit) == 0)
            continue;
        used += (size_t)g_snprintf(buf + used, used < size ? size - used : 0,
                                   "%s%s", used > 0 ? " " : "",
                                   caps_table[i].name);
        if (used >= size)
            break;
    }
    return buf;
}
