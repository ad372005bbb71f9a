/* mime_text.h - text/plain as a safe HTML fragment: links, quotes, flowed.
 * Layer: mime. Trust: UNTRUSTED input; only our markup, http(s)/mailto only. */
#ifndef POSTERN_MIME_MIME_TEXT_H
#define POSTERN_MIME_MIME_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include <glib.h>

#include "core/attr.h"
#include "core/err.h"

/* Deepest quote level given its own <blockquote>; deeper lines are shown at
 * this level. A rendering choice, not an input cap. */
#define MIME_TEXT_QUOTE_MAX 8u

/* Appends utf8[0..len) rendered as HTML to out:
 *
 *   <div class="text">line\nline\n<blockquote class="q1">quoted\n
 *   <blockquote class="q2">quoted twice\n</blockquote></blockquote>
 *   line\n</div>
 *
 * Line breaks stay newline characters, so the page's stylesheet MUST give
 * .text (blockquotes inherit it) "white-space: pre-wrap" and, for long
 * URLs, "overflow-wrap: anywhere". Chosen over <br> because plain text
 * lives by its spaces: indented code, ASCII tables and signatures keep
 * their columns without &nbsp; tricks, tabs keep their width, copying
 * gives back the original text, and the output stays small. Every line
 * ends in "\n"; a block's last newline adds no empty line in pre-wrap.
 *
 * - Escaping: & < > " ' become &amp; &lt; &gt; &quot; &#39;. Control
 *   characters other than TAB and FF (C0, DEL, C1) become U+FFFD.
 * - Lines end at CRLF, LF or a lone CR.
 * - Links: http://, https://, www. (href "http://www..."), mailto: and bare
 *   addresses (href "mailto:..."), each as <a href="..." target="_blank"
 *   rel="noopener noreferrer">. No other scheme is ever linked (not
 *   javascript:, data:, ...). A URL is a run of the characters RFC 3986
 *   allows (ASCII only: it ends at a space, < > " ` { } | \ ^ or
 *   non-ASCII text); trailing . , ; : ! ? ' * are not part of it, nor is a
 *   ')' or ']' without its opening partner in the URL. The href and the
 *   link text are escaped like any text (& in a query is &amp;).
 * - Quotes: a line starting with '>' is quoted, one level per '>'. Without
 *   format=flowed, "> > x" counts two levels like ">> x" and one space
 *   after the last '>' is dropped. Consecutive lines of one level share a
 *   <blockquote class="qN">, nested by level, N at most
 *   MIME_TEXT_QUOTE_MAX.
 * - format=flowed (flowed true; RFC 3676 §4): the quote depth is the
 *   number of leading '>' (no spaces between), then one space is removed
 *   (space-stuffing); a line that then ends in a space is joined with the
 *   next line of the same depth (with delsp true that space is removed
 *   first, §4.2); the signature separator "-- " is never joined; a change
 *   of depth ends a paragraph. delsp is ignored when flowed is false.
 *
 * utf8 should be valid UTF-8 (mime_decoder output is); invalid sequences
 * and NUL are replaced by U+FFFD rather than trusted, so the output is
 * valid UTF-8 whatever the input.
 *
 * Returns 0, or -1 with ERR_LIMIT when len is over LIM_SANITIZE_INPUT
 * (out is then left unchanged; callers offer the part as a download). */
ATTR_NODISCARD int mime_text_to_html(const char *utf8, size_t len, bool flowed,
                                     bool delsp, GString *out, struct err *err);

/* About how many rows utf8[0..len) takes once mime_text_to_html has
 * rendered it in a box cols monospace characters wide: each line wrapped
 * at cols (a tab reaching the next multiple of 8), a row more for each
 * change of quote depth (a blockquote's margins). For sizing the frame
 * that shows it, never a limit: counting stops past max, which is then
 * returned as max + 1. Characters, not their widths (wide CJK counts one):
 * a short guess only makes the frame scroll. */
unsigned mime_text_rows(const char *utf8, size_t len, bool flowed,
                        unsigned cols, unsigned max);

#endif
