/* imap_resp.h - the parsed form of one IMAP server response (RFC 9051 §7),
 * accessors for its arguments, and a canonical one-line dump for tests and
 * traces. Layer: imap. Trust: the tree holds UNTRUSTED server data; every
 * string is NUL-terminated but may also contain NUL bytes (literals). */
#ifndef POSTERN_IMAP_IMAP_RESP_H
#define POSTERN_IMAP_IMAP_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

enum imap_arg_type {
    IMAP_ARG_ATOM,             /* also numbers, flags (\Seen), BODY[1]<0> */
    IMAP_ARG_STRING,           /* quoted, literal or literal8 */
    IMAP_ARG_LITERAL_STREAMED, /* went to the sink; len = size, str = NULL */
    IMAP_ARG_NIL,              /* str = NULL, len = 0 */
    IMAP_ARG_LIST              /* list[0..n-1] */
};

struct imap_arg {
    enum imap_arg_type type;
    /* ATOM/STRING: NUL-terminated, len without the NUL. Only a literal can
     * put NUL bytes inside a STRING. */
    const char *str;
    size_t len;
    /* LIST: the elements; NULL when n == 0 */
    struct imap_arg *list;
    size_t n;
};

enum imap_resp_kind {
    IMAP_RESP_TAGGED,   /* "a1 OK ..." */
    IMAP_RESP_UNTAGGED, /* "* ..." */
    IMAP_RESP_CONTINUE  /* "+ ..." */
};

enum imap_status {
    IMAP_STATUS_NONE, /* a data response, or a continuation */
    IMAP_STATUS_OK,
    IMAP_STATUS_NO,
    IMAP_STATUS_BAD,
    IMAP_STATUS_PREAUTH,
    IMAP_STATUS_BYE
};

/* One response. Every pointer points into the parser's per-response memory
 * and is valid until the next imap_parser_feed() or imap_parser_reset(). */
struct imap_resp {
    enum imap_resp_kind kind;
    const char *tag;         /* TAGGED only, else NULL */
    enum imap_status status; /* OK/NO/BAD/PREAUTH/BYE, tagged or untagged */
    /* resp-text-code atom, upper-cased ("UIDVALIDITY", "CAPABILITY"), or
     * NULL; code_args: raw text after the code up to the closing ']', or
     * NULL when the code has no arguments. */
    const char *code;
    const char *code_args;
    /* Human-readable text of a status response; for a continuation all the
     * text after "+ " (a base64 challenge, say), raw. "" if none; never
     * NULL. NULL for data responses. */
    const char *text;
    bool has_number; /* "* 23 EXISTS", "* 3 FETCH" */
    uint32_t number;
    /* Data response name, upper-cased ("FETCH", "EXISTS", "LIST", ...);
     * NULL for status responses and continuations. */
    const char *name;
    const struct imap_arg *args; /* the tokens after the name */
    size_t n_args;
};

/* True if arg is an ATOM equal to upper, ignoring ASCII case. upper is our
 * own constant ("UID", "\\SEEN"). arg may be NULL (false). */
bool imap_arg_is_atom(const struct imap_arg *arg, const char *upper);

/* Parses an ATOM of 1 to 20 decimal digits and nothing else into *out.
 * False (and *out untouched) for anything else, including a value above
 * UINT64_MAX, a sign, a string "7" or NULL. */
bool imap_arg_number(const struct imap_arg *arg, uint64_t *out);

/* nstring: the bytes of a STRING (len in arg->len: literals may hold NUL),
 * or NULL for NIL. Also NULL for any other type (atom, list, streamed
 * literal, NULL arg): a caller that must tell them apart checks arg->type. */
const char *imap_arg_nstring(const struct imap_arg *arg);

/* astring: the text of an ATOM or STRING (INBOX may come as an atom), or
 * NULL for anything else. *len_out (may be NULL) gets the length. */
const char *imap_arg_astring(const struct imap_arg *arg, size_t *len_out);

/* For key/value lists such as FETCH's "(UID 7 FLAGS (\Seen) BODY[1] ...)":
 * the value after the first key (an ATOM at an even index) equal to key,
 * ignoring ASCII case, or NULL if list is not a LIST, has no such key, or
 * the key is the last element. key is our own upper-case constant. */
const struct imap_arg *imap_arg_list_get(const struct imap_arg *list,
                                         const char *key);

/* "OK", "NO", "BAD", "PREAUTH", "BYE", "NONE". Never NULL. */
const char *imap_status_name(enum imap_status status);

/* "tagged", "untagged", "continue". Never NULL. */
const char *imap_resp_kind_name(enum imap_resp_kind kind);

/* Appends the canonical one-line form of resp to out (no newline) and
 * returns out->str. The form:
 *
 *   tagged:       TAG STATUS[ [CODE[ ARGS]]] "TEXT"
 *   untagged:     * STATUS[ [CODE[ ARGS]]] "TEXT"
 *                 * [NUMBER ]NAME[ ARG...]
 *   continuation: + "TEXT"
 *
 * ARGs: an ATOM as is, NIL as NIL, a STRING always quoted (whether it came
 * quoted or as a literal), a LIST as (ARG ARG ...), a streamed literal as
 * {SIZE streamed}. Inside quotes (TEXT and STRINGs), '"' and '\' are
 * escaped with '\', and bytes below 0x20 and 0x7f are written \xNN (so a
 * CR, LF or NUL from a literal stays visible and the dump stays on one
 * line); bytes >= 0x80 are copied. CODE ARGS are copied raw. Example:
 *   * 3 FETCH (UID 7 BODY[1] "hello" FLAGS (\Seen))
 *   a1 OK [READ-WRITE] "done"
 * Iterative: a deeply nested tree does not recurse. */
char *imap_resp_dump(const struct imap_resp *resp, GString *out);

/* Length of the canonical dump; touches every node (for the fuzzer). */
size_t imap_resp_dump_len(const struct imap_resp *resp);

#endif
