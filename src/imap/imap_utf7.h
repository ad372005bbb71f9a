/* imap_utf7.h - modified UTF-7 for mailbox names (RFC 3501 §5.1.3) <->
 * UTF-8. Layer: imap. Trust: encode takes names from the browser (checked
 * UTF-8), decode takes names from the server (UNTRUSTED, checked strictly).
 * Only canonical forms decode, so decode(x) re-encodes to exactly x and a
 * name shown to the user always finds its folder again. */
#ifndef POSTERN_IMAP_IMAP_UTF7_H
#define POSTERN_IMAP_IMAP_UTF7_H

#include "core/err.h"

/* Encodes a UTF-8 mailbox name: printable US-ASCII (0x20-0x7e) stays,
 * '&' becomes "&-", every run of other characters becomes "&" + modified
 * BASE64 of its UTF-16BE + "-". Returns a g_malloc'd string (g_free it), or
 * NULL with ERR_INPUT when utf8 is not valid UTF-8. */
char *imap_utf7_encode(const char *utf8, struct err *err);

/* Decodes a modified UTF-7 mailbox name from the server into UTF-8.
 * Returns a g_malloc'd string (g_free it), or NULL with ERR_PROTO for: a
 * byte outside 0x20-0x7e, a character outside the BASE64 alphabet
 * (A-Z a-z 0-9 + ,) in a shift, a shift not closed by '-', a shift whose
 * bits are not a whole number of UTF-16 units or whose padding bits are not
 * zero, an unpaired surrogate, U+0000, and non-canonical forms: a printable
 * US-ASCII character inside a shift ("&AGE-" for "a") and a shift right
 * after another ("&AOk-&AOk-" for "&AOkA6Q-"). "&-" is '&'. */
char *imap_utf7_decode(const char *mutf7, struct err *err);

#endif
