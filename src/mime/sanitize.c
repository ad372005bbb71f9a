/* sanitize.c - HTML mail bodies to a safe fragment: gumbo parses, a walk
 * keeps what the allow-lists name, and every byte of markup in the output
 * is written here. Layer: mime.
 * Trust: UNTRUSTED input (any bytes, any markup, up to LIM_SANITIZE_INPUT). */
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <glib.h>
#include <gumbo.h>

#include "core/limits.h"
#include "mime/sanitize.h"

/* ------------------------------------------------------------------------
 * The allow-lists
 *
 * An element is written only when its rule says EL_KEEP, with only the
 * attributes its rule (or attrs_global) names, each value checked by kind.
 * Everything not named here is never written: that is what makes event
 * handlers, srcdoc, formaction, xlink:href and whatever browsers add next
 * harmless without a deny-list.
 * ------------------------------------------------------------------------ */

enum el_action {
    EL_UNWRAP = 0, /* not written; its children are (the default) */
    EL_KEEP,       /* written, with its allowed attributes */
    EL_DROP        /* neither it nor anything inside it is written */
};

enum attr_kind {
    AK_TEXT,     /* any text: title, alt */
    AK_DIR,      /* ltr, rtl, auto */
    AK_LANG,     /* a language tag: letters, digits, '-' */
    AK_STYLE,    /* inline CSS, filtered declaration by declaration */
    AK_HREF,     /* a link: http, https, mailto */
    AK_SRC,      /* an image: cid, data:image, http(s) when allowed */
    AK_LENGTH,   /* 600, 50%, 12px, 1.5 */
    AK_NUMBER,   /* 0 to 99999 */
    AK_FONTSIZE, /* 1 to 7, +1, -2 */
    AK_COLOR,    /* #abc, #a1b2c3, red */
    AK_ALIGN,    /* left, center, ... */
    AK_VALIGN,   /* top, middle, bottom, baseline */
    AK_LISTTYPE, /* 1 a A i I disc circle square */
    AK_FACE,     /* font names */
    AK_BOOL      /* presence only: written as name="" */
};

struct attr_rule {
    const char *name;
    enum attr_kind kind;
};

struct el_rule {
    enum el_action action;
    const char *name;              /* what EL_KEEP writes */
    const struct attr_rule *attrs; /* besides attrs_global; may be NULL */
    bool is_void;                  /* written without an end tag */
};

/* class and id are not here: without the mail's <style> blocks (dropped)
 * they can only match postern's own stylesheet, so a mail could dress up
 * as postern's interface (body.css styles .postern-note and
 * .postern-embedded-hdrs) or clobber names; they add nothing else. */
static const struct attr_rule attrs_global[] = {
    {"dir", AK_DIR},     {"lang", AK_LANG}, {"title", AK_TEXT},
    {"style", AK_STYLE}, {NULL, AK_TEXT},
};

static const struct attr_rule attrs_align[] = {
    {"align", AK_ALIGN},
    {NULL, AK_TEXT},
};

static const struct attr_rule attrs_a[] = {
    {"href", AK_HREF},
    {NULL, AK_TEXT},
};

static const struct attr_rule attrs_img[] = {
    {"src", AK_SRC},       {"alt", AK_TEXT},      {"width", AK_LENGTH},
    {"height", AK_LENGTH}, {"border", AK_NUMBER}, {"align", AK_ALIGN},
    {"hspace", AK_NUMBER}, {"vspace", AK_NUMBER}, {NULL, AK_TEXT},
};

static const struct attr_rule attrs_table[] = {
    {"width", AK_LENGTH},
    {"height", AK_LENGTH},
    {"border", AK_NUMBER},
    {"cellpadding", AK_NUMBER},
    {"cellspacing", AK_NUMBER},
    {"align", AK_ALIGN},
    {"bgcolor", AK_COLOR},
    {"background", AK_SRC},
    {NULL, AK_TEXT},
};

static const struct attr_rule attrs_cell[] = {
    {"colspan", AK_NUMBER}, {"rowspan", AK_NUMBER}, {"align", AK_ALIGN},
    {"valign", AK_VALIGN},  {"width", AK_LENGTH},   {"height", AK_LENGTH},
    {"bgcolor", AK_COLOR},  {"background", AK_SRC}, {"nowrap", AK_BOOL},
    {NULL, AK_TEXT},
};

static const struct attr_rule attrs_tr[] = {
    {"align", AK_ALIGN},   {"valign", AK_VALIGN},  {"bgcolor", AK_COLOR},
    {"height", AK_LENGTH}, {"background", AK_SRC}, {NULL, AK_TEXT},
};

static const struct attr_rule attrs_tsection[] = {
    {"align", AK_ALIGN},
    {"valign", AK_VALIGN},
    {NULL, AK_TEXT},
};

static const struct attr_rule attrs_col[] = {
    {"span", AK_NUMBER},   {"width", AK_LENGTH}, {"align", AK_ALIGN},
    {"valign", AK_VALIGN}, {NULL, AK_TEXT},
};

static const struct attr_rule attrs_font[] = {
    {"color", AK_COLOR},
    {"face", AK_FACE},
    {"size", AK_FONTSIZE},
    {NULL, AK_TEXT},
};

static const struct attr_rule attrs_hr[] = {
    {"align", AK_ALIGN},  {"width", AK_LENGTH}, {"size", AK_NUMBER},
    {"noshade", AK_BOOL}, {"color", AK_COLOR},  {NULL, AK_TEXT},
};

static const struct attr_rule attrs_ol[] = {
    {"start", AK_NUMBER},
    {"type", AK_LISTTYPE},
    {NULL, AK_TEXT},
};

static const struct attr_rule attrs_ul[] = {
    {"type", AK_LISTTYPE},
    {NULL, AK_TEXT},
};

static const struct attr_rule attrs_li[] = {
    {"value", AK_NUMBER},
    {"type", AK_LISTTYPE},
    {NULL, AK_TEXT},
};

static const struct attr_rule attrs_details[] = {
    {"open", AK_BOOL},
    {NULL, AK_TEXT},
};

/* clang-format off */
#define KEEP(n, a) {EL_KEEP, (n), (a), false}
#define KEEP_VOID(n, a) {EL_KEEP, (n), (a), true}
#define DROP {EL_DROP, NULL, NULL, false}
/* clang-format on */

/* Indexed by GumboTag. Tags left out are EL_UNWRAP: html, body, form,
 * fieldset, label, button, textarea (its text stays), blink, marquee,
 * menu, unknown elements (Outlook's <o:p>, custom tags), ... */
static const struct el_rule el_rules[GUMBO_TAG_LAST] = {
    /* text-level */
    [GUMBO_TAG_A] = KEEP("a", attrs_a),
    [GUMBO_TAG_ABBR] = KEEP("abbr", NULL),
    [GUMBO_TAG_ACRONYM] = KEEP("acronym", NULL),
    [GUMBO_TAG_B] = KEEP("b", NULL),
    [GUMBO_TAG_BDI] = KEEP("bdi", NULL),
    [GUMBO_TAG_BDO] = KEEP("bdo", NULL),
    [GUMBO_TAG_BIG] = KEEP("big", NULL),
    [GUMBO_TAG_BR] = KEEP_VOID("br", NULL),
    [GUMBO_TAG_CITE] = KEEP("cite", NULL),
    [GUMBO_TAG_CODE] = KEEP("code", NULL),
    [GUMBO_TAG_DEL] = KEEP("del", NULL),
    [GUMBO_TAG_DFN] = KEEP("dfn", NULL),
    [GUMBO_TAG_EM] = KEEP("em", NULL),
    [GUMBO_TAG_FONT] = KEEP("font", attrs_font),
    [GUMBO_TAG_I] = KEEP("i", NULL),
    [GUMBO_TAG_IMG] = KEEP_VOID("img", attrs_img),
    [GUMBO_TAG_INS] = KEEP("ins", NULL),
    [GUMBO_TAG_KBD] = KEEP("kbd", NULL),
    [GUMBO_TAG_MARK] = KEEP("mark", NULL),
    [GUMBO_TAG_NOBR] = KEEP("nobr", NULL),
    [GUMBO_TAG_Q] = KEEP("q", NULL),
    [GUMBO_TAG_RB] = KEEP("rb", NULL),
    [GUMBO_TAG_RP] = KEEP("rp", NULL),
    [GUMBO_TAG_RT] = KEEP("rt", NULL),
    [GUMBO_TAG_RTC] = KEEP("rtc", NULL),
    [GUMBO_TAG_RUBY] = KEEP("ruby", NULL),
    [GUMBO_TAG_S] = KEEP("s", NULL),
    [GUMBO_TAG_SAMP] = KEEP("samp", NULL),
    [GUMBO_TAG_SMALL] = KEEP("small", NULL),
    [GUMBO_TAG_SPAN] = KEEP("span", NULL),
    [GUMBO_TAG_STRIKE] = KEEP("strike", NULL),
    [GUMBO_TAG_STRONG] = KEEP("strong", NULL),
    [GUMBO_TAG_SUB] = KEEP("sub", NULL),
    [GUMBO_TAG_SUP] = KEEP("sup", NULL),
    [GUMBO_TAG_TIME] = KEEP("time", NULL),
    [GUMBO_TAG_TT] = KEEP("tt", NULL),
    [GUMBO_TAG_U] = KEEP("u", NULL),
    [GUMBO_TAG_VAR] = KEEP("var", NULL),
    [GUMBO_TAG_WBR] = KEEP_VOID("wbr", NULL),

    /* blocks */
    [GUMBO_TAG_ADDRESS] = KEEP("address", NULL),
    [GUMBO_TAG_ARTICLE] = KEEP("article", NULL),
    [GUMBO_TAG_ASIDE] = KEEP("aside", NULL),
    [GUMBO_TAG_BLOCKQUOTE] = KEEP("blockquote", NULL),
    [GUMBO_TAG_CENTER] = KEEP("center", NULL),
    [GUMBO_TAG_DD] = KEEP("dd", NULL),
    [GUMBO_TAG_DETAILS] = KEEP("details", attrs_details),
    [GUMBO_TAG_DIV] = KEEP("div", attrs_align),
    [GUMBO_TAG_DL] = KEEP("dl", NULL),
    [GUMBO_TAG_DT] = KEEP("dt", NULL),
    [GUMBO_TAG_FIGCAPTION] = KEEP("figcaption", NULL),
    [GUMBO_TAG_FIGURE] = KEEP("figure", NULL),
    [GUMBO_TAG_FOOTER] = KEEP("footer", NULL),
    [GUMBO_TAG_H1] = KEEP("h1", attrs_align),
    [GUMBO_TAG_H2] = KEEP("h2", attrs_align),
    [GUMBO_TAG_H3] = KEEP("h3", attrs_align),
    [GUMBO_TAG_H4] = KEEP("h4", attrs_align),
    [GUMBO_TAG_H5] = KEEP("h5", attrs_align),
    [GUMBO_TAG_H6] = KEEP("h6", attrs_align),
    [GUMBO_TAG_HEADER] = KEEP("header", NULL),
    [GUMBO_TAG_HGROUP] = KEEP("hgroup", NULL),
    [GUMBO_TAG_HR] = KEEP_VOID("hr", attrs_hr),
    [GUMBO_TAG_LI] = KEEP("li", attrs_li),
    [GUMBO_TAG_LISTING] = KEEP("pre", NULL),
    [GUMBO_TAG_MAIN] = KEEP("main", NULL),
    [GUMBO_TAG_NAV] = KEEP("nav", NULL),
    [GUMBO_TAG_OL] = KEEP("ol", attrs_ol),
    [GUMBO_TAG_P] = KEEP("p", attrs_align),
    [GUMBO_TAG_PLAINTEXT] = KEEP("pre", NULL),
    [GUMBO_TAG_PRE] = KEEP("pre", NULL),
    [GUMBO_TAG_SECTION] = KEEP("section", NULL),
    [GUMBO_TAG_SUMMARY] = KEEP("summary", NULL),
    [GUMBO_TAG_UL] = KEEP("ul", attrs_ul),
    [GUMBO_TAG_XMP] = KEEP("pre", NULL),

    /* tables */
    [GUMBO_TAG_CAPTION] = KEEP("caption", attrs_align),
    [GUMBO_TAG_COL] = KEEP_VOID("col", attrs_col),
    [GUMBO_TAG_COLGROUP] = KEEP("colgroup", attrs_col),
    [GUMBO_TAG_TABLE] = KEEP("table", attrs_table),
    [GUMBO_TAG_TBODY] = KEEP("tbody", attrs_tsection),
    [GUMBO_TAG_TD] = KEEP("td", attrs_cell),
    [GUMBO_TAG_TFOOT] = KEEP("tfoot", attrs_tsection),
    [GUMBO_TAG_TH] = KEEP("th", attrs_cell),
    [GUMBO_TAG_THEAD] = KEEP("thead", attrs_tsection),
    [GUMBO_TAG_TR] = KEEP("tr", attrs_tr),

    /* gone with everything inside: active content, documents in the
     * document, the head, hidden or replaced content */
    [GUMBO_TAG_APPLET] = DROP,
    [GUMBO_TAG_AREA] = DROP,
    [GUMBO_TAG_AUDIO] = DROP,
    [GUMBO_TAG_BASE] = DROP,
    [GUMBO_TAG_BASEFONT] = DROP,
    [GUMBO_TAG_BGSOUND] = DROP,
    [GUMBO_TAG_CANVAS] = DROP,
    [GUMBO_TAG_DATALIST] = DROP,
    [GUMBO_TAG_EMBED] = DROP,
    [GUMBO_TAG_FRAME] = DROP,
    [GUMBO_TAG_FRAMESET] = DROP,
    [GUMBO_TAG_HEAD] = DROP,
    [GUMBO_TAG_IFRAME] = DROP,
    [GUMBO_TAG_IMAGE] = DROP,
    [GUMBO_TAG_INPUT] = DROP,
    [GUMBO_TAG_ISINDEX] = DROP,
    [GUMBO_TAG_KEYGEN] = DROP,
    [GUMBO_TAG_LINK] = DROP,
    [GUMBO_TAG_MAP] = DROP,
    [GUMBO_TAG_MATH] = DROP,
    [GUMBO_TAG_MENUITEM] = DROP,
    [GUMBO_TAG_META] = DROP,
    [GUMBO_TAG_NEXTID] = DROP,
    [GUMBO_TAG_NOEMBED] = DROP,
    [GUMBO_TAG_NOFRAMES] = DROP,
    [GUMBO_TAG_NOSCRIPT] = DROP,
    [GUMBO_TAG_OBJECT] = DROP,
    [GUMBO_TAG_OPTGROUP] = DROP,
    [GUMBO_TAG_OPTION] = DROP,
    [GUMBO_TAG_PARAM] = DROP,
    [GUMBO_TAG_SCRIPT] = DROP,
    [GUMBO_TAG_SELECT] = DROP,
    [GUMBO_TAG_SOURCE] = DROP,
    [GUMBO_TAG_SPACER] = DROP,
    [GUMBO_TAG_STYLE] = DROP,
    [GUMBO_TAG_SVG] = DROP,
    [GUMBO_TAG_TEMPLATE] = DROP,
    [GUMBO_TAG_TITLE] = DROP,
    [GUMBO_TAG_TRACK] = DROP,
    [GUMBO_TAG_VIDEO] = DROP,
};

/* Elements gumbo does not know, dropped with their content rather than
 * unwrapped: what they hold is not meant to be seen as text. */
static const char *const unknown_dropped[] = {
    "dialog", "fencedframe", "portal", "search-results", "slot",
};

/* The properties inline CSS may set. No position, top/left, z-index,
 * content, cursor, filter, behavior, -moz-binding, images or anything
 * else that loads, moves out of the mail's box or runs. */
static const char *const css_properties[] = {
    "background",
    "background-color",
    "border",
    "border-bottom",
    "border-bottom-color",
    "border-bottom-style",
    "border-bottom-width",
    "border-collapse",
    "border-color",
    "border-left",
    "border-left-color",
    "border-left-style",
    "border-left-width",
    "border-radius",
    "border-right",
    "border-right-color",
    "border-right-style",
    "border-right-width",
    "border-spacing",
    "border-style",
    "border-top",
    "border-top-color",
    "border-top-style",
    "border-top-width",
    "border-width",
    "clear",
    "color",
    "direction",
    "display",
    "float",
    "font",
    "font-family",
    "font-size",
    "font-style",
    "font-variant",
    "font-weight",
    "height",
    "letter-spacing",
    "line-height",
    "list-style-position",
    "list-style-type",
    "margin",
    "margin-bottom",
    "margin-left",
    "margin-right",
    "margin-top",
    "max-height",
    "max-width",
    "min-height",
    "min-width",
    "overflow",
    "overflow-wrap",
    "padding",
    "padding-bottom",
    "padding-left",
    "padding-right",
    "padding-top",
    "table-layout",
    "text-align",
    "text-decoration",
    "text-indent",
    "text-transform",
    "vertical-align",
    "white-space",
    "width",
    "word-break",
    "word-spacing",
    "word-wrap",
};

static const char *const css_display_values[] = {
    "block", "inline", "inline-block", "list-item",
    "none",  "table",  "table-cell",   "table-row",
};

/* The only CSS functions a value may call: colours. */
static const char *const css_functions[] = {"rgb", "rgba", "hsl", "hsla"};

/* Substrings (lower case) that end a declaration wherever they appear. */
static const char *const css_banned[] = {
    "/*",       "*/",       "expression", "javascript",
    "vbscript", "behavior", "binding",    "import",
};

static const char *const align_values[] = {
    "left",   "right",    "center",    "justify",   "top",     "middle",
    "bottom", "baseline", "absmiddle", "absbottom", "texttop",
};

static const char *const valign_values[] = {"top", "middle", "bottom",
                                            "baseline"};

static const char *const data_image_types[] = {"png", "gif", "jpeg", "jpg",
                                               "webp"};

/* ------------------------------------------------------------------------
 * Small string helpers
 * ------------------------------------------------------------------------ */

static bool
is_html_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

static bool
in_list(const char *s, size_t len, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strlen(list[i]) == len && memcmp(list[i], s, len) == 0)
            return true;
    }
    return false;
}

static bool
in_list_nocase(const char *s, size_t len, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strlen(list[i]) == len && g_ascii_strncasecmp(list[i], s, len) == 0)
            return true;
    }
    return false;
}

/* s[0..*len) without leading and trailing HTML whitespace. */
static const char *
trim(const char *s, size_t *len)
{
    size_t n = *len;

    while (n > 0 && is_html_space(*s)) {
        s++;
        n--;
    }
    while (n > 0 && is_html_space(s[n - 1]))
        n--;
    *len = n;
    return s;
}

static bool
all_digits(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (!g_ascii_isdigit(s[i]))
            return false;
    }
    return len > 0;
}

/* Appends s as text (attr false) or as a double-quoted attribute value
 * (attr true): & < > (and ") escaped; control characters other than TAB,
 * LF and FF (C0, DEL, C1) become U+FFFD, as mime_text.c does, and so does
 * each byte that is not part of valid UTF-8. The input is valid, but gumbo
 * 0.10.1 is not always: "&#2999999999" comes out of it as a 5-byte
 * sequence. */
static void
put_escaped(GString *out, const char *s, size_t len, bool attr)
{
    size_t run = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *rep = NULL;
        size_t skip = 1;

        if (c >= 0x80) {
            gunichar u = g_utf8_get_char_validated(s + i, (gssize)(len - i));

            if (u == (gunichar)-1 || u == (gunichar)-2)
                rep = "\xef\xbf\xbd"; /* one byte that does not fit */
            else if (u <= 0x9f)
                rep = "\xef\xbf\xbd"; /* C1 control */
            if (rep == NULL) {
                i += (size_t)g_unichar_to_utf8(u, NULL) - 1;
                continue;
            }
            if (u != (gunichar)-1 && u != (gunichar)-2)
                skip = 2;
        } else if (c == '&') {
            rep = "&amp;";
        } else if (c == '<') {
            rep = "&lt;";
        } else if (c == '>') {
            rep = "&gt;";
        } else if (c == '"' && attr) {
            rep = "&quot;";
        } else if ((c < 0x20 && c != '\t' && c != '\n' && c != '\f') ||
                   c == 0x7f) {
            rep = "\xef\xbf\xbd";
        } else {
            continue;
        }
        g_string_append_len(out, s + run, (gssize)(i - run));
        g_string_append(out, rep);
        i += skip - 1;
        run = i + 1;
    }
    g_string_append_len(out, s + run, (gssize)(len - run));
}

/* ------------------------------------------------------------------------
 * Depth before parsing
 *
 * gumbo 0.10.1 has no depth limit, and its tree builder walks the stack of
 * open elements for most tokens ("has a p element in button scope", "any
 * other end tag"): 100,000 nested <div>s take 28 s, the 1.6 million that
 * fit in LIM_SANITIZE_INPUT would take hours. So before gumbo sees the
 * input, a small tokenizer follows the nesting the way the tree builder
 * would (void elements, raw text, comments, quoted attributes, implied end
 * tags, end tags that stop at scope boundaries, svg/math) and removes the
 * start tags that would open an element deeper than SANITIZE_MAX_DEPTH:
 * their content stays, one level up. The model is an approximation; where
 * it is wrong, the output is still sanitized by the walk below, and the
 * parse budget (parse_alloc) still bounds time and memory. It only decides
 * how much structure deep markup keeps.
 * ------------------------------------------------------------------------ */

enum {
    TF_VOID = 1u << 0,     /* never has an end tag */
    TF_RAW = 1u << 1,      /* text up to its end tag (HTML namespace) */
    TF_SPECIAL = 1u << 2,  /* HTML's "special" category */
    TF_SCOPE = 1u << 3,    /* a boundary of "has an element in scope" */
    TF_CLOSES_P = 1u << 4, /* its start tag closes an open p */
    TF_BREAKOUT = 1u << 5, /* its start tag leaves svg/math content */
    TF_TABLE = 1u << 6,    /* a part of a table */
    TF_HTML_IN = 1u << 7,  /* svg/math element holding HTML content */
    TF_TABLE_CTX = 1u << 8 /* where table parts go: table, template, html */
};

#define SP TF_SPECIAL
#define SC (TF_SPECIAL | TF_SCOPE)
#define CP (TF_SPECIAL | TF_CLOSES_P)
#define BO TF_BREAKOUT
#define VD (TF_SPECIAL | TF_VOID)

static const uint16_t tag_flags[GUMBO_TAG_LAST] = {
    [GUMBO_TAG_ADDRESS] = CP,
    [GUMBO_TAG_APPLET] = SC,
    [GUMBO_TAG_AREA] = VD,
    [GUMBO_TAG_ARTICLE] = CP,
    [GUMBO_TAG_ASIDE] = CP,
    [GUMBO_TAG_B] = BO,
    [GUMBO_TAG_BASE] = VD,
    [GUMBO_TAG_BASEFONT] = VD,
    [GUMBO_TAG_BGSOUND] = VD,
    [GUMBO_TAG_BIG] = BO,
    [GUMBO_TAG_BLOCKQUOTE] = CP | BO,
    [GUMBO_TAG_BODY] = SP | BO,
    [GUMBO_TAG_BR] = VD | BO,
    [GUMBO_TAG_BUTTON] = SP,
    [GUMBO_TAG_CAPTION] = SC | TF_TABLE,
    [GUMBO_TAG_CENTER] = CP | BO,
    [GUMBO_TAG_CODE] = BO,
    [GUMBO_TAG_COL] = VD | TF_TABLE,
    [GUMBO_TAG_COLGROUP] = SP | TF_TABLE,
    [GUMBO_TAG_DD] = CP | BO,
    [GUMBO_TAG_DESC] = TF_HTML_IN,
    [GUMBO_TAG_DETAILS] = CP,
    [GUMBO_TAG_DIR] = CP,
    [GUMBO_TAG_DIV] = CP | BO,
    [GUMBO_TAG_DL] = CP | BO,
    [GUMBO_TAG_DT] = CP | BO,
    [GUMBO_TAG_EM] = BO,
    [GUMBO_TAG_EMBED] = VD | BO,
    [GUMBO_TAG_FIELDSET] = CP,
    [GUMBO_TAG_FIGCAPTION] = CP,
    [GUMBO_TAG_FIGURE] = CP,
    [GUMBO_TAG_FONT] = BO,
    [GUMBO_TAG_FOOTER] = CP,
    [GUMBO_TAG_FOREIGNOBJECT] = TF_HTML_IN,
    [GUMBO_TAG_FORM] = CP,
    [GUMBO_TAG_FRAME] = VD,
    [GUMBO_TAG_FRAMESET] = SP,
    [GUMBO_TAG_H1] = CP | BO,
    [GUMBO_TAG_H2] = CP | BO,
    [GUMBO_TAG_H3] = CP | BO,
    [GUMBO_TAG_H4] = CP | BO,
    [GUMBO_TAG_H5] = CP | BO,
    [GUMBO_TAG_H6] = CP | BO,
    [GUMBO_TAG_HEAD] = SP | BO,
    [GUMBO_TAG_HEADER] = CP,
    [GUMBO_TAG_HGROUP] = CP,
    [GUMBO_TAG_HR] = VD | TF_CLOSES_P | BO,
    [GUMBO_TAG_HTML] = SC | TF_TABLE_CTX,
    [GUMBO_TAG_I] = BO,
    [GUMBO_TAG_IFRAME] = SP | TF_RAW,
    [GUMBO_TAG_IMAGE] = VD,
    [GUMBO_TAG_IMG] = VD | BO,
    [GUMBO_TAG_INPUT] = VD,
    [GUMBO_TAG_ISINDEX] = VD,
    [GUMBO_TAG_KEYGEN] = VD,
    [GUMBO_TAG_LI] = CP | BO,
    [GUMBO_TAG_LINK] = VD,
    [GUMBO_TAG_LISTING] = CP | BO,
    [GUMBO_TAG_MAIN] = CP,
    [GUMBO_TAG_MARQUEE] = SC,
    [GUMBO_TAG_MENU] = CP | BO,
    [GUMBO_TAG_MENUITEM] = VD,
    [GUMBO_TAG_META] = VD | BO,
    [GUMBO_TAG_MI] = TF_HTML_IN,
    [GUMBO_TAG_MN] = TF_HTML_IN,
    [GUMBO_TAG_MO] = TF_HTML_IN,
    [GUMBO_TAG_MS] = TF_HTML_IN,
    [GUMBO_TAG_MTEXT] = TF_HTML_IN,
    [GUMBO_TAG_ANNOTATION_XML] = TF_HTML_IN,
    [GUMBO_TAG_NAV] = CP,
    [GUMBO_TAG_NOBR] = BO,
    [GUMBO_TAG_NOEMBED] = SP | TF_RAW,
    [GUMBO_TAG_NOFRAMES] = SP | TF_RAW,
    [GUMBO_TAG_NOSCRIPT] = SP, /* raw text only with scripting on */
    [GUMBO_TAG_OBJECT] = SC,
    [GUMBO_TAG_OL] = CP | BO,
    [GUMBO_TAG_P] = CP | BO,
    [GUMBO_TAG_PARAM] = VD,
    [GUMBO_TAG_PLAINTEXT] = CP,
    [GUMBO_TAG_PRE] = CP | BO,
    [GUMBO_TAG_RUBY] = BO,
    [GUMBO_TAG_S] = BO,
    [GUMBO_TAG_SCRIPT] = SP | TF_RAW,
    [GUMBO_TAG_SECTION] = CP,
    [GUMBO_TAG_SELECT] = SP,
    [GUMBO_TAG_SMALL] = BO,
    [GUMBO_TAG_SOURCE] = VD,
    [GUMBO_TAG_SPAN] = BO,
    [GUMBO_TAG_STRIKE] = BO,
    [GUMBO_TAG_STRONG] = BO,
    [GUMBO_TAG_STYLE] = SP | TF_RAW,
    [GUMBO_TAG_SUB] = BO,
    [GUMBO_TAG_SUMMARY] = CP,
    [GUMBO_TAG_SUP] = BO,
    [GUMBO_TAG_TABLE] = SC | TF_TABLE | TF_TABLE_CTX | BO,
    [GUMBO_TAG_TBODY] = SP | TF_TABLE,
    [GUMBO_TAG_TD] = SC | TF_TABLE,
    [GUMBO_TAG_TEMPLATE] = SC | TF_TABLE_CTX,
    [GUMBO_TAG_TEXTAREA] = SP | TF_RAW,
    [GUMBO_TAG_TFOOT] = SP | TF_TABLE,
    [GUMBO_TAG_TH] = SC | TF_TABLE,
    [GUMBO_TAG_THEAD] = SP | TF_TABLE,
    [GUMBO_TAG_TITLE] = SP | TF_RAW | TF_HTML_IN,
    [GUMBO_TAG_TR] = SP | TF_TABLE,
    [GUMBO_TAG_TRACK] = VD,
    [GUMBO_TAG_TT] = BO,
    [GUMBO_TAG_U] = BO,
    [GUMBO_TAG_UL] = CP | BO,
    [GUMBO_TAG_VAR] = BO,
    [GUMBO_TAG_WBR] = VD,
    [GUMBO_TAG_XMP] = CP | TF_RAW,
};

#undef SP
#undef SC
#undef CP
#undef BO
#undef VD

static unsigned
tag_flags_of(GumboTag tag)
{
    return tag < GUMBO_TAG_LAST ? tag_flags[tag] : 0;
}

struct flat_entry {
    GumboTag tag;
    const char *name; /* into the input, for GUMBO_TAG_UNKNOWN */
    size_t name_len;
    bool foreign; /* in svg or math content */
};

struct flat {
    struct flat_entry stack[SANITIZE_MAX_DEPTH];
    size_t depth;
    unsigned templates; /* template start tags seen */
};

/* Template start tags after this many are removed, whatever the model
 * says. At the end of input gumbo closes each open template with a walk
 * of the whole stack and allocates nothing meanwhile, so the parse budget
 * could not stop that; mail has no use for templates (their content is
 * dropped anyway). */
#define FLAT_MAX_TEMPLATES 16u

enum flat_token { FT_TEXT, FT_START, FT_END, FT_OTHER };

struct flat_tok {
    enum flat_token kind;
    const char *name;
    size_t name_len;
    bool self_closing;
};

/* The tag for name[0..len), case-insensitively; unknown for long names. */
static GumboTag
flat_tag(const char *name, size_t len)
{
    char low[32];

    if (len == 0 || len >= sizeof(low))
        return GUMBO_TAG_UNKNOWN;
    for (size_t i = 0; i < len; i++)
        low[i] = g_ascii_tolower(name[i]);
    return gumbo_tagn_enum(low, (unsigned)len);
}

/* From s[i], just after a tag name, to just after the tag's '>' (or the
 * end of input), reading attributes as HTML's tokenizer does so that a
 * '>' inside a quoted value does not end the tag. */
static size_t
flat_skip_attributes(const char *s, size_t len, size_t i)
{
    for (;;) {
        while (i < len && (is_html_space(s[i]) || s[i] == '/'))
            i++;
        if (i >= len)
            return len;
        if (s[i] == '>')
            return i + 1;
        i++; /* the first character of a name, even '=' */
        while (i < len && !is_html_space(s[i]) && s[i] != '/' && s[i] != '>' &&
               s[i] != '=')
            i++;
        while (i < len && is_html_space(s[i]))
            i++;
        if (i >= len || s[i] != '=')
            continue;
        i++;
        while (i < len && is_html_space(s[i]))
            i++;
        if (i < len && (s[i] == '"' || s[i] == '\'')) {
            const char *q = memchr(s + i + 1, s[i], len - i - 1);

            if (q == NULL)
                return len;
            i = (size_t)(q - s) + 1;
        } else {
            while (i < len && !is_html_space(s[i]) && s[i] != '>')
                i++;
        }
    }
}

/* Just after the end of what starts with needle at or after s[i], or len. */
static size_t
flat_skip_past(const char *s, size_t len, size_t i, const char *needle)
{
    size_t n = strlen(needle);
    const char *p;

    if (i >= len)
        return len;
    p = memmem(s + i, len - i, needle, n);
    return p == NULL ? len : (size_t)(p - s) + n;
}

/* Reads the markup at s[i] == '<' into tok; returns where it ends. */
static size_t
flat_lex(const char *s, size_t len, size_t i, bool foreign,
         struct flat_tok *tok)
{
    size_t j = i + 1;

    memset(tok, 0, sizeof(*tok));
    tok->kind = FT_OTHER;
    if (j >= len) {
        tok->kind = FT_TEXT;
        return len;
    }
    if (g_ascii_isalpha(s[j]) ||
        (s[j] == '/' && j + 1 < len && g_ascii_isalpha(s[j + 1]))) {
        size_t end;

        tok->kind = s[j] == '/' ? FT_END : FT_START;
        if (s[j] == '/')
            j++;
        tok->name = s + j;
        while (j < len && !is_html_space(s[j]) && s[j] != '/' && s[j] != '>')
            j++;
        tok->name_len = (size_t)(s + j - tok->name);
        end = flat_skip_attributes(s, len, j);
        tok->self_closing =
            end >= 2 && end > j + 1 && s[end - 1] == '>' && s[end - 2] == '/';
        return end;
    }
    if (len - i >= 4 && memcmp(s + i, "<!--", 4) == 0) {
        if (i + 4 < len && s[i + 4] == '>')
            return i + 5; /* <!--> */
        if (i + 5 < len && s[i + 4] == '-' && s[i + 5] == '>')
            return i + 6; /* <!---> */
        for (j = i + 4;;) {
            const char *p = j < len ? memmem(s + j, len - j, "--", 2) : NULL;

            if (p == NULL)
                return len;
            j = (size_t)(p - s) + 2;
            if (j < len && s[j] == '>')
                return j + 1;
            if (j + 1 < len && s[j] == '!' && s[j + 1] == '>')
                return j + 2;
            j--; /* "--->" ends at the last two dashes */
        }
    }
    if (foreign && len - i >= 9 && memcmp(s + i, "<![CDATA[", 9) == 0)
        return flat_skip_past(s, len, i + 9, "]]>");
    if (s[j] == '!' || s[j] == '?' || s[j] == '/') {
        if (s[j] == '/' && j + 1 >= len) {
            tok->kind = FT_TEXT; /* "</" at the end is text */
            return len;
        }
        return flat_skip_past(s, len, j, ">"); /* comment-like */
    }
    tok->kind = FT_TEXT;
    return j;
}

/* Where the raw text of an element named name[0..n) ends: at its end tag
 * ("</name" then space, '/' or '>'), or at the end of input. */
static size_t
flat_skip_raw(const char *s, size_t len, size_t i, const char *name, size_t n)
{
    while (i < len) {
        const char *p = memchr(s + i, '<', len - i);
        size_t k;

        if (p == NULL)
            return len;
        k = (size_t)(p - s);
        if (len - k >= n + 3 && s[k + 1] == '/' &&
            g_ascii_strncasecmp(s + k + 2, name, n) == 0 &&
            (is_html_space(s[k + 2 + n]) || s[k + 2 + n] == '/' ||
             s[k + 2 + n] == '>'))
            return k;
        i = k + 1;
    }
    return len;
}

static bool
flat_matches(const struct flat_entry *e, GumboTag tag, const char *name,
             size_t len)
{
    if (e->tag != tag)
        return false;
    return tag != GUMBO_TAG_UNKNOWN ||
           (e->name_len == len && g_ascii_strncasecmp(e->name, name, len) == 0);
}

#define TAGS(...) ((const GumboTag[]){__VA_ARGS__, GUMBO_TAG_LAST})
#define NO_TAGS TAGS(GUMBO_TAG_LAST)

static bool
tag_in(GumboTag tag, const GumboTag *set)
{
    for (; *set != GUMBO_TAG_LAST; set++) {
        if (*set == tag)
            return true;
    }
    return false;
}

/* Does HTML entry e end a search that stops at stop_flags and stop_tags? */
static bool
flat_stops(const struct flat_entry *e, unsigned stop_flags,
           const GumboTag *stop_tags)
{
    return !e->foreign && ((tag_flags_of(e->tag) & stop_flags) != 0 ||
                           tag_in(e->tag, stop_tags));
}

/* Pops down to the topmost entry for one of find and returns true; gives
 * up and returns false at an entry that flat_stops(). */
static bool
flat_close(struct flat *f, const GumboTag *find, unsigned stop_flags,
           const GumboTag *stop_tags)
{
    for (size_t i = f->depth; i-- > 0;) {
        const struct flat_entry *e = &f->stack[i];

        if (tag_in(e->tag, find)) {
            f->depth = i;
            return true;
        }
        if (flat_stops(e, stop_flags, stop_tags))
            return false;
    }
    return false;
}

/* Is there a table or template to put a table part in? */
static bool
flat_in_table(const struct flat *f)
{
    for (size_t i = f->depth; i-- > 0;) {
        if ((tag_flags_of(f->stack[i].tag) & TF_TABLE_CTX) != 0 &&
            !f->stack[i].foreign)
            return true;
    }
    return false;
}

/* An end tag: pops what the tree builder would pop, or less. */
static void
flat_end_tag(struct flat *f, const struct flat_tok *tok)
{
    GumboTag tag = flat_tag(tok->name, tok->name_len);
    unsigned fl = tag_flags_of(tag);
    unsigned stop = TF_SPECIAL; /* "any other end tag" */
    /* static: a compound literal in a branch would die with the branch */
    static const GumboTag no_stop[] = {GUMBO_TAG_LAST};
    static const GumboTag table_stop[] = {GUMBO_TAG_TEMPLATE, GUMBO_TAG_LAST};
    static const GumboTag p_stop[] = {GUMBO_TAG_BUTTON, GUMBO_TAG_LAST};
    static const GumboTag li_stop[] = {GUMBO_TAG_OL, GUMBO_TAG_UL,
                                       GUMBO_TAG_LAST};
    const GumboTag *stop_tags = no_stop;

    if (tag == GUMBO_TAG_HTML || tag == GUMBO_TAG_BODY ||
        tag == GUMBO_TAG_HEAD || tag == GUMBO_TAG_BR)
        return;
    if (tag == GUMBO_TAG_TABLE) {
        stop = 0; /* table scope */
        stop_tags = table_stop;
    } else if ((fl & TF_TABLE) != 0) {
        stop = TF_TABLE_CTX;
    } else if ((fl & TF_SPECIAL) != 0) {
        stop = TF_SCOPE;
        if (tag == GUMBO_TAG_P)
            stop_tags = p_stop;
        else if (tag == GUMBO_TAG_LI)
            stop_tags = li_stop;
    }
    for (size_t i = f->depth; i-- > 0;) {
        const struct flat_entry *e = &f->stack[i];

        if (flat_matches(e, tag, tok->name, tok->name_len)) {
            if (tag == GUMBO_TAG_FORM) {
                /* </form> takes the form out of the stack and leaves
                 * open what was opened inside it */
                memmove(&f->stack[i], &f->stack[i + 1],
                        (f->depth - i - 1) * sizeof(f->stack[0]));
                f->depth--;
                return;
            }
            f->depth = i;
            return;
        }
        if (flat_stops(e, stop, stop_tags))
            return;
    }
}

/* <li>, <dd>, <dt> close an open item, looking no further down than a
 * special element other than address, div and p. */
static void
flat_close_item(struct flat *f, const GumboTag *find)
{
    for (size_t i = f->depth; i-- > 0;) {
        const struct flat_entry *e = &f->stack[i];

        if (tag_in(e->tag, find)) {
            f->depth = i;
            return;
        }
        if (flat_stops(e, TF_SPECIAL, NO_TAGS) &&
            !tag_in(e->tag,
                    TAGS(GUMBO_TAG_ADDRESS, GUMBO_TAG_DIV, GUMBO_TAG_P)))
            return;
    }
}

/* The end tags a start tag implies (HTML's tree construction, in short). */
static void
flat_implied_ends(struct flat *f, GumboTag tag, unsigned fl)
{
    if ((fl & TF_CLOSES_P) != 0)
        flat_close(f, TAGS(GUMBO_TAG_P), TF_SCOPE, TAGS(GUMBO_TAG_BUTTON));
    switch (tag) {
    case GUMBO_TAG_LI:
        flat_close_item(f, TAGS(GUMBO_TAG_LI));
        break;
    case GUMBO_TAG_DD:
    case GUMBO_TAG_DT:
        flat_close_item(f, TAGS(GUMBO_TAG_DD, GUMBO_TAG_DT));
        break;
    case GUMBO_TAG_TD:
    case GUMBO_TAG_TH:
        flat_close(f, TAGS(GUMBO_TAG_TD, GUMBO_TAG_TH), TF_TABLE_CTX,
                   TAGS(GUMBO_TAG_TR));
        break;
    case GUMBO_TAG_TR:
        flat_close(f, TAGS(GUMBO_TAG_TR), TF_TABLE_CTX,
                   TAGS(GUMBO_TAG_TBODY, GUMBO_TAG_THEAD, GUMBO_TAG_TFOOT));
        break;
    case GUMBO_TAG_TBODY:
    case GUMBO_TAG_THEAD:
    case GUMBO_TAG_TFOOT:
    case GUMBO_TAG_CAPTION:
    case GUMBO_TAG_COLGROUP:
        flat_close(f,
                   TAGS(GUMBO_TAG_TBODY, GUMBO_TAG_THEAD, GUMBO_TAG_TFOOT,
                        GUMBO_TAG_CAPTION, GUMBO_TAG_COLGROUP),
                   TF_TABLE_CTX, NO_TAGS);
        break;
    case GUMBO_TAG_OPTION:
    case GUMBO_TAG_OPTGROUP:
        if (f->depth > 0 && f->stack[f->depth - 1].tag == GUMBO_TAG_OPTION)
            f->depth--;
        if (tag == GUMBO_TAG_OPTGROUP && f->depth > 0 &&
            f->stack[f->depth - 1].tag == GUMBO_TAG_OPTGROUP)
            f->depth--;
        break;
    case GUMBO_TAG_H1:
    case GUMBO_TAG_H2:
    case GUMBO_TAG_H3:
    case GUMBO_TAG_H4:
    case GUMBO_TAG_H5:
    case GUMBO_TAG_H6:
        if (f->depth > 0) {
            GumboTag top = f->stack[f->depth - 1].tag;

            if (top >= GUMBO_TAG_H1 && top <= GUMBO_TAG_H6)
                f->depth--;
        }
        break;
    case GUMBO_TAG_A:
        flat_close(f, TAGS(GUMBO_TAG_A), TF_SPECIAL, NO_TAGS);
        break;
    default:
        break;
    }
}

/* A copy of s[0..len) without the start tags that would nest deeper than
 * SANITIZE_MAX_DEPTH, the template start tags after the first
 * FLAT_MAX_TEMPLATES, and isindex. */
static GString *
flat_input(const char *s, size_t len)
{
    struct flat *f = g_new0(struct flat, 1);
    GString *out = g_string_sized_new(len + 1);
    size_t i = 0, copied = 0;

    while (i < len) {
        const char *lt = memchr(s + i, '<', len - i);
        struct flat_tok tok;
        const struct flat_entry *top;
        bool foreign, in_foreign;
        GumboTag tag;
        unsigned fl;
        size_t end;

        if (lt == NULL)
            break;
        i = (size_t)(lt - s);
        top = f->depth > 0 ? &f->stack[f->depth - 1] : NULL;
        in_foreign = top != NULL && top->foreign &&
                     (tag_flags_of(top->tag) & TF_HTML_IN) == 0;
        end = flat_lex(s, len, i, in_foreign, &tok);
        if (tok.kind == FT_END)
            flat_end_tag(f, &tok);
        if (tok.kind != FT_START) {
            i = end;
            continue;
        }
        tag = flat_tag(tok.name, tok.name_len);
        fl = tag_flags_of(tag);
        /* isindex: gumbo still builds the form, rules, label and input of
         * old HTML (about 1 KB of tree for 9 bytes), browsers no longer
         * do, and all of it would be dropped */
        if (tag == GUMBO_TAG_ISINDEX || (tag == GUMBO_TAG_TEMPLATE &&
                                         ++f->templates > FLAT_MAX_TEMPLATES)) {
            g_string_append_len(out, s + copied, (gssize)(i - copied));
            copied = i = end;
            continue;
        }
        if (in_foreign && (fl & TF_BREAKOUT) != 0) {
            while (f->depth > 0 && f->stack[f->depth - 1].foreign)
                f->depth--;
            in_foreign = false;
        }
        foreign = in_foreign || tag == GUMBO_TAG_SVG || tag == GUMBO_TAG_MATH;
        if (!foreign) {
            if (tag == GUMBO_TAG_HTML || tag == GUMBO_TAG_HEAD ||
                tag == GUMBO_TAG_BODY || tag == GUMBO_TAG_FRAMESET) {
                i = end;
                continue;
            }
            if ((fl & TF_TABLE) != 0 && tag != GUMBO_TAG_TABLE &&
                !flat_in_table(f)) {
                i = end; /* a table part outside a table is ignored */
                continue;
            }
            flat_implied_ends(f, tag, fl);
            if (tag == GUMBO_TAG_PLAINTEXT)
                break; /* the rest is text */
            if ((fl & TF_VOID) != 0) {
                i = end;
                continue;
            }
        } else if (tok.self_closing) {
            i = end;
            continue;
        }
        if (f->depth < SANITIZE_MAX_DEPTH) {
            struct flat_entry *e = &f->stack[f->depth++];

            e->tag = tag;
            e->name = tok.name;
            e->name_len = tok.name_len;
            e->foreign = foreign;
        } else if (foreign || (fl & TF_RAW) == 0) {
            /* too deep: the tag goes, its content stays */
            g_string_append_len(out, s + copied, (gssize)(i - copied));
            copied = end;
        }
        i = end;
        if (!foreign && (fl & TF_RAW) != 0)
            i = flat_skip_raw(s, len, i, tok.name, tok.name_len);
    }
    g_string_append_len(out, s + copied, (gssize)(len - copied));
    g_free(f);
    return out;
}

/* ------------------------------------------------------------------------
 * Parsing with a budget
 *
 * gumbo takes its memory from parse_alloc(), which counts it, refuses to
 * go past a budget and checks the CPU time now and then. gumbo cannot be
 * told to stop, so going over the budget longjmp()s out of it: gumbo keeps
 * no global state and every byte it holds is on our list, so unwinding is
 * one sweep of that list. The same sweep frees a finished parse, so
 * gumbo_destroy_output() is never needed. The budget catches what the
 * depth pass cannot see: the tree builder can clone formatting elements
 * on every token ("<p><b x=1></p>" repeated builds a quadratic tree: 50 KB
 * of it exhaust 3 GB), and a misjudged nesting is slow again.
 * ------------------------------------------------------------------------ */

struct parse_block {
    struct parse_block *prev, *next;
    size_t size;
    max_align_t payload[]; /* aligned as malloc's memory is */
};

struct parse_budget {
    struct parse_block *blocks;
    size_t live, max_live;
    unsigned long calls;
    uint64_t cpu_start_ns;
    bool armed; /* longjmp allowed: only inside gumbo_parse_with_options */
    jmp_buf jmp;
    enum err_kind fail_kind;
    const char *fail_msg;
};

static uint64_t
cpu_now_ns(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static ATTR_NORETURN void
parse_fail(struct parse_budget *b, enum err_kind kind, const char *msg)
{
    xassert(b->armed);
    b->armed = false;
    b->fail_kind = kind;
    b->fail_msg = msg;
    longjmp(b->jmp, 1);
}

static void *
parse_alloc(void *userdata, size_t size)
{
    struct parse_budget *b = userdata;
    struct parse_block *blk;

    if (size > b->max_live - b->live) /* live <= max_live always */
        parse_fail(b, ERR_LIMIT, "HTML parse over its memory budget");
    if (++b->calls % 256 == 0) {
        uint64_t now = cpu_now_ns();

        if (now > b->cpu_start_ns &&
            now - b->cpu_start_ns > (uint64_t)SANITIZE_PARSE_CPU_MS * 1000000u)
            parse_fail(b, ERR_LIMIT, "HTML parse over its CPU budget");
    }
    blk = malloc(sizeof(*blk) + size);
    if (blk == NULL)
        parse_fail(b, ERR_INTERNAL, "out of memory parsing HTML");
    blk->size = size;
    blk->prev = NULL;
    blk->next = b->blocks;
    if (b->blocks != NULL)
        b->blocks->prev = blk;
    b->blocks = blk;
    b->live += size;
    return blk->payload;
}

static void
parse_free(void *userdata, void *ptr)
{
    struct parse_budget *b = userdata;
    struct parse_block *blk;

    if (ptr == NULL)
        return;
    blk = (struct parse_block *)((char *)ptr -
                                 offsetof(struct parse_block, payload));
    if (blk->prev != NULL)
        blk->prev->next = blk->next;
    else
        b->blocks = blk->next;
    if (blk->next != NULL)
        blk->next->prev = blk->prev;
    b->live -= blk->size;
    free(blk);
}

/* Frees everything gumbo still holds. */
static void
parse_budget_deinit(struct parse_budget *b)
{
    while (b->blocks != NULL) {
        struct parse_block *next = b->blocks->next;

        free(b->blocks);
        b->blocks = next;
    }
    b->live = 0;
}

/* Parses s[0..len) into *output_out (valid until parse_budget_deinit). On
 * -1, b->fail_kind and b->fail_msg say why. Kept small: nothing in this
 * frame changes between setjmp() and a longjmp(). */
static int
parse_bounded(struct parse_budget *b, const char *s, size_t len,
              GumboOutput **output_out)
{
    GumboOptions options = kGumboDefaultOptions;

    options.allocator = parse_alloc;
    options.deallocator = parse_free;
    options.userdata = b;
    options.max_errors = 0; /* each error would copy the open elements */
    if (setjmp(b->jmp) != 0)
        return -1;
    b->cpu_start_ns = cpu_now_ns();
    b->armed = true;
    *output_out = gumbo_parse_with_options(&options, s, len);
    b->armed = false;
    return 0;
}

/* ------------------------------------------------------------------------
 * Attribute values
 * ------------------------------------------------------------------------ */

struct san {
    const struct sanitize_opts *opts;
    GString *out;
    GString *val; /* the value being checked */
    struct sanitize_report report;
    unsigned written_depth;
};

/* The URL a browser would parse (WHATWG URL: leading and trailing C0
 * controls and spaces go, ASCII tab and newline go everywhere, so
 * "java\tscript:" is "javascript:"), into val. What is written is this
 * cleaned URL, so the browser sees exactly what was checked. */
static void
url_clean(const char *v, GString *val)
{
    size_t len = strlen(v);

    while (len > 0 && (unsigned char)*v <= 0x20) {
        v++;
        len--;
    }
    while (len > 0 && (unsigned char)v[len - 1] <= 0x20)
        len--;
    g_string_truncate(val, 0);
    for (size_t i = 0; i < len; i++) {
        if (v[i] != '\t' && v[i] != '\n' && v[i] != '\r')
            g_string_append_c(val, v[i]);
    }
}

/* Length of the scheme of url ("https" for "https://..."), or 0 when it
 * has none (RFC 3986 §3.1: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":").
 * A URL without a scheme is relative. */
static size_t
url_scheme_len(const char *url)
{
    size_t i = 1;

    if (!g_ascii_isalpha(url[0]))
        return 0;
    while (g_ascii_isalnum(url[i]) || url[i] == '+' || url[i] == '-' ||
           url[i] == '.')
        i++;
    return url[i] == ':' ? i : 0;
}

static bool
url_scheme_is(const char *url, size_t scheme_len, const char *scheme)
{
    return strlen(scheme) == scheme_len &&
           g_ascii_strncasecmp(url, scheme, scheme_len) == 0;
}

/* href: http, https and mailto only. */
static bool
check_href(struct san *st, const char *v)
{
    size_t n;

    url_clean(v, st->val);
    n = url_scheme_len(st->val->str);
    return url_scheme_is(st->val->str, n, "http") ||
           url_scheme_is(st->val->str, n, "https") ||
           url_scheme_is(st->val->str, n, "mailto");
}

static int
hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* cid:REF -> opts->cid_url(REF), REF %-decoded and without <>. References
 * that decode to control characters or invalid UTF-8 are unknown. */
static bool
check_cid(struct san *st, const char *ref)
{
    const char *url;
    GString *id;
    bool ok = true;

    if (st->opts->cid_url == NULL)
        return false;
    id = g_string_new(NULL);
    for (size_t i = 0; ref[i] != '\0'; i++) {
        int hi, lo;

        if (ref[i] == '%' && (hi = hex_value(ref[i + 1])) >= 0 &&
            (lo = hex_value(ref[i + 2])) >= 0) {
            g_string_append_c(id, (char)(hi * 16 + lo));
            i += 2;
        } else {
            g_string_append_c(id, ref[i]);
        }
    }
    if (id->len >= 2 && id->str[0] == '<' && id->str[id->len - 1] == '>') {
        g_string_truncate(id, id->len - 1);
        g_string_erase(id, 0, 1);
    }
    for (size_t i = 0; i < id->len; i++) {
        if ((unsigned char)id->str[i] < 0x20 || id->str[i] == 0x7f)
            ok = false;
    }
    if (id->len == 0 || !g_utf8_validate(id->str, (gssize)id->len, NULL))
        ok = false;
    url = ok ? st->opts->cid_url(st->opts->cid_ctx, id->str) : NULL;
    g_string_free(id, TRUE);
    if (url == NULL)
        return false;
    g_string_assign(st->val, url);
    return true;
}

/* data:image/(png|gif|jpeg|webp);base64,PAYLOAD with a strict BASE64
 * payload of at most SANITIZE_DATA_IMAGE_MAX bytes, rewritten in lower
 * case. Inline images load nothing from outside, so they need no consent;
 * other types (svg+xml can hold script, text/html is a document) and
 * other parameters are refused. */
static bool
check_data_image(GString *val)
{
    const char *s = val->str + 5; /* after "data:" */
    const char *slash, *semi, *comma;
    size_t tlen, plen, pad = 0;

    if (g_ascii_strncasecmp(s, "image/", 6) != 0)
        return false;
    slash = s + 5;
    semi = strchr(slash, ';');
    comma = strchr(slash, ',');
    if (semi == NULL || comma == NULL || semi > comma ||
        (size_t)(comma - semi) != 7 || g_ascii_strncasecmp(semi, ";base64", 7))
        return false;
    tlen = (size_t)(semi - slash - 1);
    if (!in_list_nocase(slash + 1, tlen, data_image_types,
                        N_ELEMENTS(data_image_types)))
        return false;
    plen = strlen(comma + 1);
    if (plen == 0 || plen > SANITIZE_DATA_IMAGE_MAX)
        return false;
    for (size_t i = 0; i < plen; i++) {
        char c = comma[1 + i];

        if (c == '=') {
            pad++;
        } else if (pad > 0 || !(g_ascii_isalnum(c) || c == '+' || c == '/')) {
            return false;
        }
    }
    if (pad > 2)
        return false;
    /* "data:image/" + type in lower case, then ";base64," + payload */
    for (char *p = val->str; p < comma; p++)
        *p = g_ascii_tolower(*p);
    return true;
}

/* img src, background: cid through the callback, data images, http(s)
 * and scheme-relative "//host/..." only when remote content is allowed. */
static bool
check_src(struct san *st, const char *v)
{
    size_t n;

    url_clean(v, st->val);
    n = url_scheme_len(st->val->str);
    if (url_scheme_is(st->val->str, n, "cid")) {
        char *ref = g_strdup(st->val->str + n + 1);
        bool ok = check_cid(st, ref);

        g_free(ref);
        return ok;
    }
    if (url_scheme_is(st->val->str, n, "data"))
        return check_data_image(st->val);
    if (url_scheme_is(st->val->str, n, "http") ||
        url_scheme_is(st->val->str, n, "https") ||
        (n == 0 && st->val->str[0] == '/' && st->val->str[1] == '/')) {
        if (st->opts->allow_remote)
            return true;
        st->report.remote_blocked = true;
    }
    return false;
}

/* ------------------------------------------------------------------------
 * Inline CSS
 *
 * style="a: b; c: d" is split into declarations (';' outside quotes); a
 * declaration is kept when its property is on css_properties and its value
 * passes css_value_ok(). What is written is our serialization of the kept
 * declarations: "prop: value; prop: value", whitespace collapsed. Values
 * with backslashes, comments or braces are refused outright, so a browser
 * reads exactly the declarations we checked.
 * ------------------------------------------------------------------------ */

/* The value v[0..len) (trimmed, !important removed) of property prop.
 * The same characters are refused inside strings as outside them: a
 * string is only ever a font name, and a value then reads the same to any
 * parser, whether or not it knows where a string ends. */
static bool
css_value_ok(const char *prop, const char *v, size_t len)
{
    char quote = 0;
    int parens = 0;
    char *low;
    bool ok = true;

    if (len == 0 || len > 1024)
        return false;
    for (size_t i = 0; i < len && ok; i++) {
        unsigned char c = (unsigned char)v[i];

        if (quote != 0 && c == (unsigned char)quote) {
            quote = 0;
            continue;
        }
        switch (c) {
        case '"':
        case '\'':
            if (quote == 0)
                quote = (char)c;
            break;
        case '(': {
            size_t k = i;

            while (k > 0 && (g_ascii_isalnum(v[k - 1]) || v[k - 1] == '-' ||
                             v[k - 1] == '_'))
                k--;
            if (quote != 0 || parens > 0 ||
                !in_list_nocase(v + k, i - k, css_functions,
                                N_ELEMENTS(css_functions)))
                ok = false;
            parens++;
            break;
        }
        case ')':
            if (quote != 0 || --parens < 0)
                ok = false;
            break;
        case '\\': /* escapes: an obfuscation channel */
        case '{':
        case '}':
        case '<':
        case '>':
        case '@':
        case '&':
        case '!':
        case '`':
        case ';':
        case ':': /* no value needs one; it only looks like a property */
            ok = false;
            break;
        default:
            if ((c < 0x20 && !is_html_space((char)c)) || c == 0x7f)
                ok = false;
            break;
        }
    }
    if (!ok || quote != 0 || parens != 0)
        return false;
    low = g_ascii_strdown(v, (gssize)len);
    for (size_t i = 0; i < N_ELEMENTS(css_banned) && ok; i++) {
        if (strstr(low, css_banned[i]) != NULL)
            ok = false;
    }
    if (ok && strcmp(prop, "display") == 0)
        ok = in_list(low, len, css_display_values,
                     N_ELEMENTS(css_display_values));
    if (ok && strncmp(prop, "margin", 6) == 0) {
        /* negative margins pull the mail over what is around it */
        for (size_t i = 0; i + 1 < len && ok; i++) {
            if (low[i] == '-' &&
                (g_ascii_isdigit(low[i + 1]) || low[i + 1] == '.'))
                ok = false;
        }
    }
    g_free(low);
    return ok;
}

/* One declaration d[0..len); appends it to out when it is safe. */
static bool
css_declaration(const char *d, size_t len, GString *out)
{
    const char *colon = memchr(d, ':', len);
    const char *prop, *val;
    size_t plen, vlen;
    bool important = false;
    char pbuf[32];

    if (colon == NULL)
        return false;
    plen = (size_t)(colon - d);
    prop = trim(d, &plen);
    if (plen == 0 || plen >= sizeof(pbuf))
        return false;
    for (size_t i = 0; i < plen; i++)
        pbuf[i] = g_ascii_tolower(prop[i]);
    pbuf[plen] = '\0';
    if (!in_list(pbuf, plen, css_properties, N_ELEMENTS(css_properties)))
        return false;
    vlen = (size_t)(d + len - colon - 1);
    val = trim(colon + 1, &vlen);
    if (vlen >= 10 &&
        g_ascii_strncasecmp(val + vlen - 9, "important", 9) == 0) {
        size_t k = vlen - 9;

        while (k > 0 && is_html_space(val[k - 1]))
            k--;
        if (k > 0 && val[k - 1] == '!') {
            important = true;
            vlen = k - 1;
            val = trim(val, &vlen);
        }
    }
    if (!css_value_ok(pbuf, val, vlen))
        return false;
    if (out->len > 0)
        g_string_append(out, "; ");
    g_string_append(out, pbuf);
    g_string_append(out, ": ");
    for (size_t i = 0; i < vlen; i++) {
        if (!is_html_space(val[i]))
            g_string_append_c(out, val[i]);
        else if (!is_html_space(val[i + 1]))
            g_string_append_c(out, ' ');
    }
    if (important)
        g_string_append(out, " !important");
    return true;
}

/* style: the safe declarations, into st->val; false when none is. */
static bool
check_style(struct san *st, const char *v)
{
    size_t start = 0, i;
    char quote = 0;

    g_string_truncate(st->val, 0);
    for (i = 0;; i++) {
        char c = v[i];

        if (quote != 0 && c != '\0') {
            if (c == quote)
                quote = 0;
            continue;
        }
        if (c == '"' || c == '\'') {
            quote = c;
            continue;
        }
        if (c != ';' && c != '\0')
            continue;
        if (quote == 0 || c == '\0')
            (void)css_declaration(v + start, i - start, st->val);
        if (c == '\0')
            break;
        start = i + 1;
    }
    return st->val->len > 0;
}

/* ------------------------------------------------------------------------
 * Other attribute values
 * ------------------------------------------------------------------------ */

/* v against kind; the value to write ends up in st->val. */
static bool
check_value(struct san *st, enum attr_kind kind, const char *v)
{
    size_t len = strlen(v);
    const char *t = trim(v, &len);

    g_string_truncate(st->val, 0);
    switch (kind) {
    case AK_TEXT:
        g_string_append(st->val, v);
        return true;
    case AK_BOOL:
        return true;
    case AK_STYLE:
        return check_style(st, v);
    case AK_HREF:
        return check_href(st, v);
    case AK_SRC:
        return check_src(st, v);
    case AK_DIR: {
        static const char *const dirs[] = {"ltr", "rtl", "auto"};

        if (!in_list_nocase(t, len, dirs, N_ELEMENTS(dirs)))
            return false;
        break;
    }
    case AK_LANG:
        if (len == 0 || len > 35)
            return false;
        for (size_t i = 0; i < len; i++) {
            if (!g_ascii_isalnum(t[i]) && t[i] != '-')
                return false;
        }
        break;
    case AK_NUMBER:
        if (len > 5 || !all_digits(t, len))
            return false;
        break;
    case AK_LENGTH: {
        size_t n = len, d;

        if (n >= 1 && t[n - 1] == '%')
            n--;
        else if (n >= 2 && g_ascii_strncasecmp(t + n - 2, "px", 2) == 0)
            n -= 2;
        for (d = 0; d < n && g_ascii_isdigit(t[d]); d++)
            ;
        if (d == 0 || d > 5)
            return false;
        if (d < n &&
            (t[d] != '.' || n - d - 1 > 4 || !all_digits(t + d + 1, n - d - 1)))
            return false;
        break;
    }
    case AK_FONTSIZE: {
        size_t k = (len > 0 && (t[0] == '+' || t[0] == '-')) ? 1 : 0;

        if (len != k + 1 || t[k] < '1' || t[k] > '7')
            return false;
        break;
    }
    case AK_COLOR:
        if (len >= 4 && len <= 9 && t[0] == '#') {
            for (size_t i = 1; i < len; i++) {
                if (!g_ascii_isxdigit(t[i]))
                    return false;
            }
        } else {
            if (len == 0 || len > 20)
                return false;
            for (size_t i = 0; i < len; i++) {
                if (!g_ascii_isalpha(t[i]))
                    return false;
            }
        }
        break;
    case AK_ALIGN:
        if (!in_list_nocase(t, len, align_values, N_ELEMENTS(align_values)))
            return false;
        break;
    case AK_VALIGN:
        if (!in_list_nocase(t, len, valign_values, N_ELEMENTS(valign_values)))
            return false;
        break;
    case AK_LISTTYPE: {
        static const char *const shapes[] = {"disc", "circle", "square"};

        if (!(len == 1 && strchr("1aAiI", t[0]) != NULL) &&
            !in_list_nocase(t, len, shapes, N_ELEMENTS(shapes)))
            return false;
        break;
    }
    case AK_FACE:
        if (len == 0 || len > 200)
            return false;
        for (size_t i = 0; i < len; i++) {
            unsigned char c = (unsigned char)t[i];

            if (!(g_ascii_isalnum(c) || c >= 0x80 || strchr(" ,-_.'\"", c)))
                return false;
        }
        break;
    }
    g_string_append_len(st->val, t, (gssize)len);
    return true;
}

/* ------------------------------------------------------------------------
 * The walk
 * ------------------------------------------------------------------------ */

static const struct attr_rule *
find_rule(const struct attr_rule *rules, const char *name)
{
    for (; rules != NULL && rules->name != NULL; rules++) {
        if (strcmp(rules->name, name) == 0)
            return rules;
    }
    return NULL;
}

bool
sanitize_allows(const char *element, const char *attribute)
{
    for (size_t t = 0; t < GUMBO_TAG_LAST; t++) {
        const struct el_rule *r = &el_rules[t];

        if (r->action != EL_KEEP || strcmp(r->name, element) != 0)
            continue;
        if (attribute == NULL || find_rule(attrs_global, attribute) != NULL ||
            find_rule(r->attrs, attribute) != NULL)
            return true;
        /* what write_start_tag adds to every kept link */
        if (strcmp(element, "a") == 0 && (strcmp(attribute, "target") == 0 ||
                                          strcmp(attribute, "rel") == 0))
            return true;
    }
    return false;
}

/* Writes <name attrs> for a kept element. */
static void
write_start_tag(struct san *st, const GumboElement *el,
                const struct el_rule *rule)
{
    bool has_href = false;

    g_string_append_c(st->out, '<');
    g_string_append(st->out, rule->name);
    for (unsigned i = 0; i < el->attributes.length; i++) {
        const GumboAttribute *a = el->attributes.data[i];
        const struct attr_rule *ar = NULL;

        if (a->attr_namespace == GUMBO_ATTR_NAMESPACE_NONE) {
            ar = find_rule(attrs_global, a->name);
            if (ar == NULL)
                ar = find_rule(rule->attrs, a->name);
        }
        if (ar == NULL || !check_value(st, ar->kind, a->value)) {
            st->report.dropped_attributes++;
            continue;
        }
        if (ar->kind == AK_DIR || ar->kind == AK_ALIGN ||
            ar->kind == AK_VALIGN) {
            for (size_t k = 0; k < st->val->len; k++)
                st->val->str[k] = g_ascii_tolower(st->val->str[k]);
        }
        g_string_append_c(st->out, ' ');
        g_string_append(st->out, ar->name);
        g_string_append(st->out, "=\"");
        put_escaped(st->out, st->val->str, st->val->len, true);
        g_string_append_c(st->out, '"');
        if (ar->kind == AK_HREF)
            has_href = true;
    }
    if (has_href)
        g_string_append(st->out,
                        " target=\"_blank\" rel=\"noopener noreferrer\"");
    g_string_append_c(st->out, '>');
}

/* The name of an element gumbo did not know, from its start tag. */
static bool
unknown_is_dropped(const GumboElement *el)
{
    const char *s = el->original_tag.data;
    size_t len = el->original_tag.length, i = 0, start;

    if (s == NULL || len < 2 || s[0] != '<')
        return false;
    i = s[1] == '/' ? 2 : 1;
    start = i;
    while (i < len && !is_html_space(s[i]) && s[i] != '/' && s[i] != '>')
        i++;
    return in_list_nocase(s + start, i - start, unknown_dropped,
                          N_ELEMENTS(unknown_dropped));
}

/* What to do with node, an element or template. */
static enum el_action
element_action(const GumboNode *node, const struct el_rule **rule_out)
{
    const GumboElement *el = &node->v.element;

    *rule_out = NULL;
    if (node->type == GUMBO_NODE_TEMPLATE ||
        el->tag_namespace != GUMBO_NAMESPACE_HTML)
        return EL_DROP; /* svg, math and all inside them */
    if (el->tag >= GUMBO_TAG_LAST)
        return EL_UNWRAP;
    if (el->tag == GUMBO_TAG_UNKNOWN)
        return unknown_is_dropped(el) ? EL_DROP : EL_UNWRAP;
    *rule_out = &el_rules[el->tag];
    return el_rules[el->tag].action;
}

struct frame {
    const GumboNode *node;
    const GumboVector *children;
    unsigned next;       /* the next child to visit */
    const char *written; /* the element name written, or NULL */
};

/* Visits node: text is written; an element is written, unwrapped or
 * dropped. When its children are to be visited, pushes a frame for it. */
static void
walk_enter(struct san *st, GArray *stack, const GumboNode *node)
{
    struct frame fr = {node, NULL, 0, NULL};
    const struct el_rule *rule;
    enum el_action action;

    switch (node->type) {
    case GUMBO_NODE_TEXT:
    case GUMBO_NODE_WHITESPACE:
        put_escaped(st->out, node->v.text.text, strlen(node->v.text.text),
                    false);
        return;
    case GUMBO_NODE_CDATA: /* only in svg/math, dropped already */
    case GUMBO_NODE_COMMENT:
        return;
    case GUMBO_NODE_DOCUMENT:
        fr.children = &node->v.document.children;
        g_array_append_val(stack, fr);
        return;
    case GUMBO_NODE_ELEMENT:
    case GUMBO_NODE_TEMPLATE:
        break;
    }
    action = element_action(node, &rule);
    if (action == EL_KEEP && st->written_depth >= SANITIZE_MAX_DEPTH)
        action = EL_UNWRAP; /* flattened */
    if (action != EL_KEEP && !(node->type == GUMBO_NODE_ELEMENT &&
                               (node->v.element.tag == GUMBO_TAG_HTML ||
                                node->v.element.tag == GUMBO_TAG_HEAD ||
                                node->v.element.tag == GUMBO_TAG_BODY)))
        st->report.dropped_elements++;
    if (action == EL_DROP)
        return;
    if (action == EL_KEEP) {
        write_start_tag(st, &node->v.element, rule);
        if (rule->is_void)
            return;
        fr.written = rule->name;
        st->written_depth++;
        /* the parser drops a newline right after <pre>: keep the one the
         * text starts with */
        if (strcmp(rule->name, "pre") == 0 &&
            node->v.element.children.length > 0) {
            const GumboNode *c = node->v.element.children.data[0];

            if ((c->type == GUMBO_NODE_TEXT ||
                 c->type == GUMBO_NODE_WHITESPACE) &&
                c->v.text.text[0] == '\n')
                g_string_append_c(st->out, '\n');
        }
    }
    fr.children = &node->v.element.children;
    g_array_append_val(stack, fr);
}

/* Depth-first over the tree without recursion: the stack is on the heap,
 * so no nesting the parser accepts can overflow the C stack. */
static void
walk(struct san *st, const GumboNode *root)
{
    GArray *stack = g_array_new(FALSE, FALSE, sizeof(struct frame));

    walk_enter(st, stack, root);
    while (stack->len > 0) {
        struct frame *top = &g_array_index(stack, struct frame, stack->len - 1);

        if (top->next < top->children->length) {
            const GumboNode *child = top->children->data[top->next++];

            walk_enter(st, stack, child); /* may move the array: top dies */
            continue;
        }
        if (top->written != NULL) {
            g_string_append(st->out, "</");
            g_string_append(st->out, top->written);
            g_string_append_c(st->out, '>');
            st->written_depth--;
        }
        g_array_set_size(stack, stack->len - 1);
    }
    g_array_free(stack, TRUE);
}

/* ------------------------------------------------------------------------
 * The entry point
 * ------------------------------------------------------------------------ */

int
sanitize_html(const char *html, size_t len, const struct sanitize_opts *opts,
              GString *out, struct sanitize_report *report_out, struct err *err)
{
    static const struct sanitize_opts defaults = {0};
    struct parse_budget budget = {0};
    struct san st = {0};
    GumboOutput *output = NULL;
    GString *flat;
    char *text;
    size_t text_len;

    if (len > LIM_SANITIZE_INPUT) {
        err_set(err, ERR_LIMIT, "HTML body of %zu bytes is over %u", len,
                LIM_SANITIZE_INPUT);
        return -1;
    }
    xassert(html != NULL || len == 0);
    /* valid UTF-8 without NUL: each byte that does not fit is U+FFFD */
    text = g_utf8_make_valid(len > 0 ? html : "", (gssize)len);
    text_len = strlen(text);
    flat = flat_input(text, text_len);
    g_free(text);

    budget.max_live =
        (size_t)SANITIZE_PARSE_MEM_FACTOR * flat->len + ((size_t)64 << 20);
    if (parse_bounded(&budget, flat->str, flat->len, &output) < 0) {
        parse_budget_deinit(&budget);
        g_string_free(flat, TRUE);
        err_set(err, budget.fail_kind, "%s (%zu bytes of HTML)",
                budget.fail_msg, len);
        return -1;
    }

    st.opts = opts != NULL ? opts : &defaults;
    st.out = out;
    st.val = g_string_new(NULL);
    walk(&st, output->document);
    g_string_free(st.val, TRUE);
    parse_budget_deinit(&budget);
    g_string_free(flat, TRUE);
    if (report_out != NULL)
        *report_out = st.report;
    return 0;
}
