/* mime_decode.h - part bytes decoded (transfer, charset); download names.
 * Layer: mime. Trust: UNTRUSTED input; text out is valid UTF-8, names safe. */
#ifndef POSTERN_MIME_MIME_DECODE_H
#define POSTERN_MIME_MIME_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

struct mime_decoder;

/* A decoder for one part's body. transfer_encoding is the
 * Content-Transfer-Encoding value, case-insensitive: "base64",
 * "quoted-printable", "x-uuencode" (also "uuencode", "x-uue") are decoded;
 * "7bit", "8bit", "binary", NULL and anything unknown pass the bytes through
 * unchanged.
 *
 * charset NULL means binary: the decoded bytes are output as they are
 * (attachments). Otherwise the text is converted to UTF-8 and the output is
 * ALWAYS valid UTF-8 without NUL: every byte or sequence that does not
 * decode in the charset, and every U+0000, becomes U+FFFD; nothing
 * undecodable is passed through. Names are matched case-insensitively,
 * with GMime's aliases, and a few labels are widened the way browsers do
 * (WHATWG Encoding) because mail uses them for the wider charset:
 * "us-ascii" and "iso-8859-1" are decoded as windows-1252, "gb2312" and
 * "gbk" as gb18030, "shift_jis" as windows-31j (CP932: 0x5C is '\', NEC
 * and IBM extensions decode), "euc-kr" and "ks_c_5601-1987" as CP949.
 * A charset iconv does not know (say "x-nonsense") is treated as UTF-8:
 * valid UTF-8 passes, invalid sequences become U+FFFD.
 *
 * Never returns NULL. Free with mime_decoder_free(). */
struct mime_decoder *mime_decoder_new(const char *transfer_encoding,
                                      const char *charset);

/* Appends the decoded bytes of in[0..len) to out. The body may be fed in
 * chunks of any size, split anywhere (inside a base64 quantum, a
 * quoted-printable soft break or escape, a multibyte character, an
 * ISO-2022 escape sequence): the total output is the same as for one feed.
 * Bytes that cannot be decoded yet are held back (a few bytes at most).
 * Broken encodings never fail: base64 skips characters outside its
 * alphabet and stops at the first padding '='; quoted-printable keeps a
 * malformed escape ("=G1") as it is; uuencode output starts after the
 * "begin" line. */
void mime_decoder_feed(struct mime_decoder *d, const void *in, size_t len,
                       GString *out);

/* Appends what was held back: the last base64 quantum even without its
 * padding ("SGk" is "Hi"), and a U+FFFD for a multibyte sequence cut off
 * by the end of the part. Call once, after the last feed; afterwards only
 * mime_decoder_free() may be called. */
void mime_decoder_finish(struct mime_decoder *d, GString *out);

/* Frees the decoder and sets *d to NULL. NULL-safe (d and *d). */
void mime_decoder_free(struct mime_decoder **d);

/* The download name of a part, from its Content-Disposition and
 * Content-Type parameters given as n key/value pairs, keys as sent
 * (case-insensitive: "filename", "filename*", "filename*0*", "filename*1",
 * "name", ...; the order of continuations does not matter; a NULL value is
 * empty). Candidates, best first: RFC 2231 "filename*" (charset'lang'%XX,
 * continuations), RFC 2231 "name*", then "filename" and "name", which may
 * hold RFC 2047 encoded-words (common, though not standard) or raw text.
 * The first candidate that is not empty after cleaning wins.
 *
 * Cleaning makes the name safe to offer as a download name:
 * - invalid UTF-8 (raw 8-bit, unknown RFC 2231 charsets) becomes U+FFFD;
 * - RFC 2183 §2.3: only the terminal path component is kept: the name is
 *   split at '/' and '\', and the last component that is not empty, "."
 *   or ".." wins ("../../etc/passwd" is "passwd", "C:\x\a.pdf" is
 *   "a.pdf");
 * - control characters (C0, DEL, C1) and bidirectional controls
 *   (U+200E/F, U+202A-E, U+2066-9, U+061C: no "txt.exe" disguised as
 *   "exe.txt") are removed;
 * - leading dots and surrounding white space are removed (no hidden files);
 * - a name over 255 bytes is shortened at a character boundary, keeping an
 *   extension of up to 16 bytes.
 * Returns a g_malloc'd UTF-8 string (g_free it), or NULL when no candidate
 * leaves anything. */
char *mime_param_filename(const char *const *keys, const char *const *values,
                          size_t n);

/* A Content-Disposition header value for a download (RFC 6266, RFC 8187):
 * "inline" if disposition is "inline" (case-insensitive), else
 * "attachment" (also for NULL or anything unknown: the safe choice).
 * With a filename (UTF-8; invalid bytes become U+FFFD first) it adds
 *   ; filename="ASCII fallback"; filename*=UTF-8''percent-encoded
 * where the fallback has '_' for every non-ASCII character, control
 * character, '"', '\' and '%' (some browsers percent-decode filename=),
 * and filename* percent-encodes every byte outside RFC 8187 attr-char.
 * filename may be NULL or empty: the disposition alone. Returns a g_malloc'd
 * string (g_free it) of printable ASCII only: never CR, LF or NUL. */
char *mime_content_disposition(const char *disposition, const char *filename);

/* A header's text as valid UTF-8 (RFC 2047): encoded-words decoded (GMime's
 * rules: adjacent words joined without the white space between them), raw
 * 8-bit bytes converted with GMime's fallback charsets, anything still
 * invalid replaced by U+FFFD; surrounding white space removed. phrase: the
 * value is an address display name as IMAP's ENVELOPE gives it (RFC 2047
 * §5(3) phrase rules) rather than unstructured text (Subject); quotes are
 * not removed. raw may be NULL (gives ""). Returns a
 * g_malloc'd string (g_free it), never NULL. */
char *mime_decode_header_text(const char *raw, bool phrase);

/* An RFC 5322 Date header value as Unix seconds (GMime's lenient parser:
 * obsolete zones, missing day names). 0 for NULL, "" or a value it cannot
 * read. */
int64_t mime_decode_date(const char *value);

#endif
