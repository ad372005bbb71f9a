/* mime_html_text.h - the readable text of an HTML body, for quoting it in
 * a reply or forward. Layer: mime. Trust: UNTRUSTED HTML; the result is
 * plain text (escaped again wherever it is shown). */
#ifndef POSTERN_MIME_MIME_HTML_TEXT_H
#define POSTERN_MIME_MIME_HTML_TEXT_H

#include <stddef.h>

/* The text of html[0..len) (UTF-8): scripts, styles and the head left out,
 * block elements and <br> as line breaks, runs of blank lines folded.
 * g_malloc'd, valid UTF-8. Input past LIM_SANITIZE_INPUT is cut there.
 * gumbo's tree builder is quadratic in nesting depth: give it the
 * sanitizer's output (depth already bounded), never raw mail HTML. */
char *mime_html_to_text(const char *html, size_t len);

#endif
