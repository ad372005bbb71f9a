/* imap_cmd.h - the one way to build an IMAP command (RFC 9051 §2.2.1, §4):
 * each argument is written as an atom, a quoted string or a literal, chosen
 * here, so no user string can end a line or start another command.
 * Layer: imap. Pure: builds bytes, sends nothing. Trust: strings given to
 * the astring/string/mailbox/literal adders may come from the browser and
 * are checked; atoms, raw fragments, tags and verbs are our own (a bad one
 * is a bug: ERR_INTERNAL or an assertion). */
#ifndef POSTERN_IMAP_IMAP_CMD_H
#define POSTERN_IMAP_IMAP_CMD_H

#include <stddef.h>
#include <stdint.h>

#include "core/attr.h"
#include "core/err.h"

struct imap_cmd;

enum imap_cmd_flag {
    /* RFC 6855 UTF8=ACCEPT is enabled: valid UTF-8 may travel in quoted
     * strings, and mailbox names are sent as UTF-8, not modified UTF-7. */
    IMAP_CMD_UTF8_ACCEPT = 1u << 0,
    /* RFC 7888 LITERAL+: every literal is non-synchronizing ({n+}), so the
     * command is one segment. */
    IMAP_CMD_LITERAL_PLUS = 1u << 1,
    /* RFC 7888 LITERAL-: literals up to 4096 bytes are {n+}, larger ones
     * synchronize. Ignored when IMAP_CMD_LITERAL_PLUS is set. */
    IMAP_CMD_LITERAL_MINUS = 1u << 2
};

/* Starts "TAG VERB". tag: 1 to 63 tag characters (RFC 9051 §9: ASTRING-CHAR
 * but '+'; we also leave out '['). verb: our own text, may hold spaces
 * ("UID FETCH"), no CR or LF. Both are checked with xassert: a bad one is
 * a bug. flags: enum imap_cmd_flag bits. Never returns NULL. Free with
 * imap_cmd_free(). */
struct imap_cmd *imap_cmd_new(const char *tag, const char *verb,
                              unsigned flags);

/* Frees cmd and sets *cmd to NULL. NULL-safe. */
void imap_cmd_free(struct imap_cmd **cmd);

/* The tag given to imap_cmd_new(); valid while cmd lives. */
const char *imap_cmd_tag(const struct imap_cmd *cmd);

/* Appends SP + atom, for our own atoms ("PLAIN", "UTF8=ACCEPT", a base64
 * SASL response). -1 with ERR_INTERNAL if atom is empty or holds anything
 * but ATOM-CHAR (RFC 9051 §9: no SP, CTL, 8-bit, ( ) { % * " \ ]), or '['
 * (allowed by the grammar, but read as a section by many parsers). */
ATTR_NODISCARD int imap_cmd_add_atom(struct imap_cmd *cmd, const char *atom,
                                     struct err *err);

/* Appends SP + trusted, unchecked except by xassert (non-empty, no CR or
 * LF): for our fixed fragments such as "(UID FLAGS ENVELOPE)",
 * "BODY.PEEK[1.2]" or "+FLAGS.SILENT (\\Seen)", and sequence sets we built.
 * Never pass anything that came from a user or a server here. */
void imap_cmd_add_raw(struct imap_cmd *cmd, const char *trusted);

/* Appends SP + the decimal number. */
void imap_cmd_add_number(struct imap_cmd *cmd, uint64_t n);

/* Appends SP + a sequence set of the n (>= 1, xassert) numbers in any
 * order, duplicates allowed, compressed into ranges: {5,1,2,3,9} ->
 * "1:3,5,9". Numbers must be >= 1 (xassert): they are UIDs or message
 * numbers we hold. */
void imap_cmd_add_seqset(struct imap_cmd *cmd, const uint32_t *nums, size_t n);

/* Appends SP + s[0..len) as an astring: an atom when it is one (non-empty,
 * all ATOM-CHAR but '[', and not "NIL" in any case, which some servers
 * would read as NIL), else a quoted string (escaping '"' and '\') when it can
 * be one: 7-bit, or valid UTF-8 with IMAP_CMD_UTF8_ACCEPT; else a literal.
 * -1 with ERR_INPUT if s holds NUL, CR or LF; nothing is appended then.
 * An empty string is "". */
ATTR_NODISCARD int imap_cmd_add_astring(struct imap_cmd *cmd, const char *s,
                                        size_t len, struct err *err);

/* Like imap_cmd_add_astring() but never an atom: a quoted string or a
 * literal (SEARCH text, where an atom could be read as a keyword). */
ATTR_NODISCARD int imap_cmd_add_string(struct imap_cmd *cmd, const char *s,
                                       size_t len, struct err *err);

/* Appends SP + a mailbox name given in UTF-8 (NUL-terminated). "INBOX" in
 * any case is sent as INBOX (RFC 9051 §5.1). Otherwise the name is sent as
 * an astring: as UTF-8 with IMAP_CMD_UTF8_ACCEPT, else encoded in modified
 * UTF-7 (RFC 3501 §5.1.3). -1 with ERR_INPUT if the name is not valid UTF-8
 * or holds CR or LF. */
ATTR_NODISCARD int imap_cmd_add_mailbox(struct imap_cmd *cmd,
                                        const char *utf8_name, struct err *err);

/* Appends SP + data[0..len) as a literal whatever it holds (APPEND's
 * message), synchronizing or not as the flags say. -1 with ERR_INPUT if
 * data holds a NUL (RFC 9051 §4.3: CHAR8 excludes it). */
ATTR_NODISCARD int imap_cmd_add_literal(struct imap_cmd *cmd, const void *data,
                                        size_t len, struct err *err);

/* Ends the command with CRLF. Nothing may be added afterwards (xassert).
 * A second call does nothing. */
void imap_cmd_finish(struct imap_cmd *cmd);

/* Number of pieces to send (cmd must be finished, xassert): 1 plus one per
 * synchronizing literal. Send segment 0; before each further segment wait
 * for the server's "+" continuation (a tagged reply instead means the
 * command was refused). With LITERAL+ there is always one segment. */
size_t imap_cmd_segments(const struct imap_cmd *cmd);

/* Bytes of segment i (< imap_cmd_segments(), xassert); *len_out gets the
 * length. Valid while cmd lives. */
const unsigned char *imap_cmd_segment(const struct imap_cmd *cmd, size_t i,
                                      size_t *len_out);

/* A g_malloc'd one-line rendering for debug logs (g_free it), without the
 * CRLF. The arguments of LOGIN are shown as *** and so are those of
 * AUTHENTICATE after the mechanism name; literals are shown as "{n}" (or
 * "{n+}") followed by their bytes when they are at most 64 bytes long, else
 * by "<n bytes>"; bytes outside 0x20-0x7e are written \xNN. */
char *imap_cmd_trace(const struct imap_cmd *cmd);

#endif
