/* imap_caps.h - the IMAP capabilities postern cares about, as bits.
 * Layer: imap. Trust: the list comes from the server; unknown names are
 * ignored, which is what RFC 9051 §7.2.2 asks of clients. */
#ifndef POSTERN_IMAP_IMAP_CAPS_H
#define POSTERN_IMAP_IMAP_CAPS_H

#include <stddef.h>
#include <stdint.h>

enum imap_cap {
    IMAP_CAP_IMAP4REV1 = 1u << 0,
    IMAP_CAP_IMAP4REV2 = 1u << 1,
    IMAP_CAP_STARTTLS = 1u << 2,
    IMAP_CAP_LOGINDISABLED = 1u << 3,
    IMAP_CAP_AUTH_PLAIN = 1u << 4,
    IMAP_CAP_SASL_IR = 1u << 5,
    IMAP_CAP_ENABLE = 1u << 6,
    IMAP_CAP_CONDSTORE = 1u << 7,
    IMAP_CAP_QRESYNC = 1u << 8,
    IMAP_CAP_UTF8_ACCEPT = 1u << 9,
    IMAP_CAP_LIST_EXTENDED = 1u << 10,
    IMAP_CAP_SPECIAL_USE = 1u << 11,
    IMAP_CAP_LIST_STATUS = 1u << 12,
    IMAP_CAP_SORT = 1u << 13,
    IMAP_CAP_ESORT = 1u << 14,
    IMAP_CAP_ESEARCH = 1u << 15,
    IMAP_CAP_MOVE = 1u << 16,
    IMAP_CAP_UIDPLUS = 1u << 17,
    IMAP_CAP_LITERAL_PLUS = 1u << 18,
    IMAP_CAP_LITERAL_MINUS = 1u << 19,
    IMAP_CAP_IDLE = 1u << 20,
    IMAP_CAP_NAMESPACE = 1u << 21,
    IMAP_CAP_ID = 1u << 22,
    IMAP_CAP_BINARY = 1u << 23
};

/* The bit for one capability name (case-insensitive), 0 if not one of
 * ours. "AUTH=PLAIN" -> IMAP_CAP_AUTH_PLAIN, "UTF8=ACCEPT" -> ... */
uint32_t imap_caps_bit(const char *name, size_t len);

/* ORs the bits of a space-separated list ("IMAP4rev1 SASL-IR ..."). */
uint32_t imap_caps_parse_text(const char *text);

/* Space-separated names of the bits set, for logs. Writes at most size
 * bytes into buf (always NUL-terminated) and returns buf. */
char *imap_caps_describe(uint32_t caps, char *buf, size_t size);

#endif
