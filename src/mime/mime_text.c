/* mime_text.c - lines, quote levels, flowed paragraphs, links, escaping.
 * Layer: mime. Trust: UNTRUSTED input; one linear pass, no recursion. */
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <glib.h>

#include "core/attr.h"
#include "core/err.h"
#include "core/limits.h"
#include "mime/mime_decode.h"
#include "mime/mime_text.h"

#define UTF8_REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

/* ---------------------------------------------------------------------
 * Escaping
 */

/* Appends s[0..n) escaped for HTML text and attribute values. s is valid
 * UTF-8; controls other than TAB and FF become U+FFFD (HTML calls them
 * parse errors, and they have nothing to show). */
static void
html_escape(GString *out, const char *s, size_t n)
{
    size_t run = 0; /* start of bytes not yet appended */

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *rep = NULL;
        size_t skip = 1;

        switch (c) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        default:
            if ((c < 0x20 && c != '\t' && c != '\f') || c == 0x7f)
                rep = UTF8_REPLACEMENT;
            else if (c == 0xc2 && i + 1 < n &&
                     (unsigned char)s[i + 1] >= 0x80 &&
                     (unsigned char)s[i + 1] <= 0x9f) {
                rep = UTF8_REPLACEMENT; /* C1 control, U+0080-U+009F */
                skip = 2;
            }
            break;
        }
        if (rep == NULL)
            continue;
        g_string_append_len(out, s + run, (gssize)(i - run));
        g_string_append(out, rep);
        i += skip - 1;
        run = i + 1;
    }
    g_string_append_len(out, s + run, (gssize)(n - run));
}

/* ---------------------------------------------------------------------
 * Links
 */

enum link_kind {
    LINK_URL,  /* http://, https://, mailto: as written */
    LINK_WWW,  /* www.: href gets "http://" */
    LINK_EMAIL /* bare address: href gets "mailto:" */
};

/* RFC 3986 §2: unreserved, reserved and '%'. */
static bool
is_url_char(unsigned char c)
{
    return g_ascii_isalnum(c) ||
           (c != '\0' && strchr("-._~:/?#[]@!$&'()*+,;=%", c));
}

static bool
is_local_char(unsigned char c)
{
    return g_ascii_isalnum(c) || c == '.' || c == '_' || c == '%' || c == '+' ||
           c == '-';
}

static bool
is_domain_char(unsigned char c)
{
    return g_ascii_isalnum(c) || c == '.' || c == '-';
}

static bool
has_prefix(const char *s, size_t n, size_t i, const char *prefix)
{
    size_t pl = strlen(prefix);

    return n - i >= pl && g_ascii_strncasecmp(s + i, prefix, pl) == 0;
}

/* The end of a URL that starts at i and whose scheme or "www." prefix
 * takes pl bytes, or 0 if what follows the prefix is not a URL. */
static size_t
url_end(const char *s, size_t n, size_t i, size_t pl)
{
    size_t end = i + pl;
    size_t open_paren = 0, close_paren = 0, open_br = 0, close_br = 0;

    while (end < n && is_url_char((unsigned char)s[end])) {
        open_paren += s[end] == '(';
        close_paren += s[end] == ')';
        open_br += s[end] == '[';
        close_br += s[end] == ']';
        end++;
    }
    /* Sentence punctuation after a URL is not part of it; a closing
     * bracket is, if the URL opened it (Wikipedia's "Foo_(bar)"). */
    while (end > i + pl) {
        char c = s[end - 1];

        if (strchr(".,;:!?'*", c) != NULL) {
            end--;
        } else if (c == ')' && close_paren > open_paren) {
            close_paren--;
            end--;
        } else if (c == ']' && close_br > open_br) {
            close_br--;
            end--;
        } else {
            break;
        }
    }
    if (end == i + pl)
        return 0;
    return end;
}

/* A URL starting at i: its end and kind, or false. */
static bool
url_at(const char *s, size_t n, size_t i, size_t *end_out,
       enum link_kind *kind_out)
{
    unsigned char prev = i > 0 ? (unsigned char)s[i - 1] : ' ';
    size_t pl = 0;
    size_t end;

    if (g_ascii_isalnum(prev))
        return false;
    if (has_prefix(s, n, i, "http://"))
        pl = 7;
    else if (has_prefix(s, n, i, "https://"))
        pl = 8;
    if (pl > 0) {
        /* a host must follow: a letter, a digit or an IPv6 '[' */
        if (i + pl >= n || !(g_ascii_isalnum(s[i + pl]) || s[i + pl] == '['))
            return false;
        *kind_out = LINK_URL;
    } else if (has_prefix(s, n, i, "mailto:")) {
        pl = 7;
        *kind_out = LINK_URL;
    } else if (has_prefix(s, n, i, "www.") && strchr(".-_@/", prev) == NULL) {
        pl = 4;
        if (i + pl >= n || !g_ascii_isalnum(s[i + pl]))
            return false;
        *kind_out = LINK_WWW;
    } else {
        return false;
    }
    end = url_end(s, n, i, pl);
    if (end == 0)
        return false;
    *end_out = end;
    return true;
}

/* A bare address local@domain.tld starting at i. *scanned_out is where
 * the local part ends: no start before it can succeed if this one fails,
 * which keeps the scan linear. */
static bool
email_at(const char *s, size_t n, size_t i, size_t *end_out,
         size_t *scanned_out)
{
    size_t at = i, d, end, dot = 0;

    while (at < n && is_local_char((unsigned char)s[at]))
        at++;
    *scanned_out = at;
    if (at >= n || s[at] != '@' || s[at - 1] == '.')
        return false;
    d = at + 1;
    end = d;
    while (end < n && is_domain_char((unsigned char)s[end]))
        end++;
    while (end > d && (s[end - 1] == '.' || s[end - 1] == '-'))
        end--; /* the end of a sentence */
    if (end == d || !g_ascii_isalnum(s[d]))
        return false;
    /* s[end - 1] is not '.', so k + 1 < end below */
    for (size_t k = d; k < end; k++) {
        if (s[k] == '.') {
            if (s[k - 1] == '.' || s[k - 1] == '-' || s[k + 1] == '-')
                return false; /* empty label, or one edged with '-' */
            dot = k;
        }
    }
    if (dot == 0 || end - dot - 1 < 2)
        return false;
    for (size_t k = dot + 1; k < end; k++) {
        if (!g_ascii_isalpha(s[k]))
            return false; /* a top-level domain is letters */
    }
    *end_out = end;
    return true;
}

static void
link_append(GString *out, const char *s, size_t n, enum link_kind kind)
{
    g_string_append(out, "<a href=\"");
    if (kind == LINK_WWW)
        g_string_append(out, "http://");
    else if (kind == LINK_EMAIL)
        g_string_append(out, "mailto:");
    html_escape(out, s, n);
    g_string_append(out, "\" target=\"_blank\" rel=\"noopener noreferrer\">");
    html_escape(out, s, n);
    g_string_append(out, "</a>");
}

/* Appends one line's text: links made, everything escaped. */
static void
text_append(GString *out, const char *s, size_t n)
{
    size_t plain = 0;      /* start of text not yet appended */
    size_t email_from = 0; /* no address can start before this */
    size_t i = 0;

    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        enum link_kind kind = LINK_URL;
        size_t end = 0;
        bool found = false;

        /* An address first, so "www.x@y.org" is mail, not a web site
         * with user info. */
        if (g_ascii_isalnum(c) && i >= email_from) {
            found = email_at(s, n, i, &end, &email_from);
            kind = LINK_EMAIL;
        }
        if (!found && (c == 'h' || c == 'H' || c == 'm' || c == 'M' ||
                       c == 'w' || c == 'W'))
            found = url_at(s, n, i, &end, &kind);
        if (!found) {
            i++;
            continue;
        }
        html_escape(out, s + plain, i - plain);
        link_append(out, s + i, end - i, kind);
        i = end;
        plain = end;
        email_from = end;
    }
    html_escape(out, s + plain, n - plain);
}

/* ---------------------------------------------------------------------
 * Lines, quote levels and format=flowed
 */

struct render {
    GString *out;
    unsigned level; /* open blockquotes */
};

static void
render_line(struct render *r, unsigned depth, const char *s, size_t n)
{
    if (depth > MIME_TEXT_QUOTE_MAX)
        depth = MIME_TEXT_QUOTE_MAX;
    while (r->level > depth) {
        g_string_append(r->out, "</blockquote>");
        r->level--;
    }
    while (r->level < depth) {
        r->level++;
        g_string_append_printf(r->out, "<blockquote class=\"q%u\">", r->level);
    }
    text_append(r->out, s, n);
    g_string_append_c(r->out, '\n');
}

/* The quote depth of a line and how many bytes its prefix takes. */
static unsigned
quote_prefix(const char *s, size_t n, bool flowed, size_t *skip_out)
{
    unsigned depth = 0;
    size_t i = 0;

    if (flowed) {
        /* RFC 3676 §4.5: '>' marks only; then §4.4: a space after them
         * (or at the start of an unquoted line) is stuffing. */
        while (i < n && s[i] == '>') {
            depth++;
            i++;
        }
        if (i < n && s[i] == ' ')
            i++;
    } else {
        while (i < n && s[i] == '>') {
            depth++;
            i++;
            if (i + 1 < n && s[i] == ' ' && s[i + 1] == '>')
                i++; /* "> > " is two levels */
        }
        if (depth > 0 && i < n && s[i] == ' ')
            i++;
    }
    *skip_out = i;
    return depth;
}

/* The next line of text[*pos..len): its start and length without the line
 * end; *pos moves past the line end. */
static void
next_line(const char *text, size_t len, size_t *pos, const char **line_out,
          size_t *n_out)
{
    size_t start = *pos, end = start;

    while (end < len && text[end] != '\n' && text[end] != '\r')
        end++;
    *line_out = text + start;
    *n_out = end - start;
    if (end < len && text[end] == '\r' && end + 1 < len &&
        text[end + 1] == '\n')
        end++;
    *pos = end < len ? end + 1 : end;
}

static void
render_fixed(struct render *r, const char *text, size_t len)
{
    size_t pos = 0;

    while (pos < len) {
        const char *line;
        size_t n, skip;
        unsigned depth;

        next_line(text, len, &pos, &line, &n);
        depth = quote_prefix(line, n, false, &skip);
        render_line(r, depth, line + skip, n - skip);
    }
}

/* RFC 3676 §4.1-4.5: lines ending in a space are joined with the next line
 * of the same quote depth into one paragraph. */
static void
render_flowed(struct render *r, const char *text, size_t len, bool delsp)
{
    GString *para = g_string_new(NULL);
    bool is_open = false; /* para holds the start of a paragraph */
    unsigned para_depth = 0;
    size_t pos = 0;

    while (pos < len) {
        const char *line;
        size_t n, skip;
        unsigned depth;
        bool is_soft, is_sig;

        next_line(text, len, &pos, &line, &n);
        depth = quote_prefix(line, n, true, &skip);
        line += skip;
        n -= skip;
        if (is_open && depth != para_depth) {
            /* §4.5: flowed into another depth; end the paragraph here */
            render_line(r, para_depth, para->str, para->len);
            g_string_truncate(para, 0);
            is_open = false;
        }
        /* §4.3: the signature separator "-- " is never flowed, into or
         * out of */
        is_sig = n == 3 && memcmp(line, "-- ", 3) == 0;
        if (is_open && is_sig) {
            render_line(r, para_depth, para->str, para->len);
            g_string_truncate(para, 0);
            is_open = false;
        }
        is_soft = !is_sig && n > 0 && line[n - 1] == ' ';
        if (is_soft && delsp)
            n--;
        g_string_append_len(para, line, (gssize)n);
        para_depth = depth;
        is_open = is_soft;
        if (!is_soft) {
            render_line(r, depth, para->str, para->len);
            g_string_truncate(para, 0);
        }
    }
    if (is_open)
        render_line(r, para_depth, para->str, para->len);
    g_string_free(para, TRUE);
}

int
mime_text_to_html(const char *utf8, size_t len, bool flowed, bool delsp,
                  GString *out, struct err *err)
{
    struct render r = {.out = out, .level = 0};
    GString *fixed = NULL;
    const char *text = utf8;

    if (len > LIM_SANITIZE_INPUT) {
        err_set(err, ERR_LIMIT, "text body of %zu bytes is over %u", len,
                LIM_SANITIZE_INPUT);
        return -1;
    }
    if (!g_utf8_validate_len(utf8, len, NULL)) {
        /* Not what the contract asks for; repaired rather than trusted,
         * so the page is valid UTF-8 whatever the caller did. */
        struct mime_decoder *d = mime_decoder_new(NULL, "utf-8");

        fixed = g_string_sized_new(len + 16);
        mime_decoder_feed(d, utf8, len, fixed);
        mime_decoder_finish(d, fixed);
        mime_decoder_free(&d);
        text = fixed->str;
        len = fixed->len;
    }
    g_string_append(out, "<div class=\"text\">");
    if (flowed)
        render_flowed(&r, text, len, delsp);
    else
        render_fixed(&r, text, len);
    while (r.level > 0) {
        g_string_append(out, "</blockquote>");
        r.level--;
    }
    g_string_append(out, "</div>");
    if (fixed != NULL)
        g_string_free(fixed, TRUE);
    return 0;
}

unsigned
mime_text_rows(const char *utf8, size_t len, bool flowed, unsigned cols,
               unsigned max)
{
    unsigned rows = 0, last_depth = 0;
    size_t pos = 0;

    if (cols == 0)
        cols = 1;
    max = MIN(max, UINT_MAX / 4); /* max + 1, and rows past it, cannot wrap */
    while (pos < len && rows <= max) {
        const char *line;
        size_t n, skip, width = 0;
        unsigned depth;

        next_line(utf8, len, &pos, &line, &n);
        depth = MIN(quote_prefix(line, n, flowed, &skip), MIME_TEXT_QUOTE_MAX);
        if (depth != last_depth)
            rows++; /* a blockquote's margins, about a row */
        last_depth = depth;
        for (size_t i = skip; i < n; i++) {
            unsigned char ch = (unsigned char)line[i];

            if (ch == '\t')
                width = (width / 8 + 1) * 8;
            else if ((ch & 0xC0) != 0x80) /* a character's first byte */
                width++;
        }
        rows += width == 0 ? 1 : (unsigned)MIN((width + cols - 1) / cols,
                                               (size_t)max + 1);
    }
    return MIN(rows, max + 1);
}
