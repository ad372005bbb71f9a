/* mime_msg.c - a raw message through GMime into the envelope, part list and
 * section bytes the IMAP store gets from its server. Layer: mime; no I/O.
 * Trust: UNTRUSTED input; every count and depth is capped (core/limits.h). */
#include <limits.h>
#include <string.h>

#include <glib.h>
#include <gmime/gmime.h>

#include "core/limits.h"
#include "mime/mime_decode.h"
#include "mime/mime_msg.h"

struct mime_msg {
    struct mime_envelope env;
    struct mime_part *parts;
    const unsigned char **sec_data; /* per part: BODY[section] bytes */
    size_t *sec_len;
    size_t n_parts;
    const char *hdr; /* the top-level header block */
    size_t hdr_len;
    const unsigned char *body; /* the top-level body: BODY[TEXT] */
    size_t body_len;
};

static void
mime_msg_init_gmime(void)
{
    static gsize once;

    /* main() has done it before any thread; this is for tests and tools */
    if (g_once_init_enter(&once)) {
        g_mime_init();
        g_once_init_leave(&once, 1);
    }
}

/* ---------------------------------------------------------------------
 * The caller's buffer as a GMime stream, without a copy
 */

struct msg_stream {
    GByteArray *ba;
    GMimeStream *stream;
};

static void
msg_stream_open(struct msg_stream *s, const void *data, size_t len)
{
    /* GMime only reads from it: the cast drops const for GByteArray's sake,
     * and with the stream not the owner, and the array freed without its
     * segment, the caller's bytes are neither written nor freed */
    s->ba = g_byte_array_new_take(len > 0 ? (guint8 *)data : NULL, len);
    s->stream = g_mime_stream_mem_new_with_byte_array(s->ba);
    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(s->stream), FALSE);
}

static void
msg_stream_close(struct msg_stream *s)
{
    g_object_unref(s->stream);
    (void)g_byte_array_free(s->ba, FALSE);
}

/* ---------------------------------------------------------------------
 * Header values
 */

/* The first header called name, unfolded (CR and LF removed, as IMAP's
 * ENVELOPE does) and trimmed; g_malloc'd, NULL when there is none. */
static char *
hl_value(GMimeHeaderList *hl, const char *name)
{
    int n = hl != NULL ? g_mime_header_list_get_count(hl) : 0;

    for (int i = 0; i < n; i++) {
        GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
        const char *raw;
        GString *s;

        if (g_ascii_strcasecmp(g_mime_header_get_name(h), name) != 0)
            continue;
        raw = g_mime_header_get_raw_value(h);
        s = g_string_new(NULL);
        for (const char *p = raw != NULL ? raw : ""; *p != '\0'; p++) {
            if (*p != '\r' && *p != '\n')
                g_string_append_c(s, *p);
        }
        return g_strstrip(g_string_free(s, FALSE));
    }
    return NULL;
}

static const char *
lower_dup(struct arena *a, const char *s, const char *dflt)
{
    char *r;

    if (s == NULL || *s == '\0')
        return dflt;
    r = arena_strdup(a, s);
    for (char *p = r; *p != '\0'; p++)
        *p = g_ascii_tolower(*p);
    return r;
}

/* A raw value kept as it is, but as valid UTF-8: it ends up in JSON. */
static const char *
raw_dup(struct arena *a, char *v)
{
    char *valid;
    const char *r;

    if (v == NULL)
        return NULL;
    valid = g_utf8_make_valid(v, -1);
    r = arena_strdup(a, valid);
    g_free(valid);
    g_free(v);
    return r;
}

static void
addresses_collect(InternetAddressList *list, GPtrArray *out)
{
    int n = internet_address_list_length(list);

    for (int i = 0; i < n; i++) {
        InternetAddress *ia = internet_address_list_get_address(list, i);

        if (INTERNET_ADDRESS_IS_GROUP(ia))
            /* RFC 3501 §7.4.2: the members, without the group markers
             * (the IMAP store skips those) */
            addresses_collect(
                internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia)),
                out);
        else if (INTERNET_ADDRESS_IS_MAILBOX(ia))
            g_ptr_array_add(out, ia);
    }
}

static struct mime_address *
addresses_parse(struct arena *a, GMimeHeaderList *hl, const char *name,
                bool *present_out, size_t *n_out)
{
    char *raw = hl_value(hl, name);
    InternetAddressList *list;
    GPtrArray *boxes;
    struct mime_address *out = NULL;

    *n_out = 0;
    *present_out = raw != NULL;
    if (raw == NULL)
        return NULL;
    list = internet_address_list_parse(NULL, raw);
    g_free(raw);
    if (list == NULL)
        return NULL;
    boxes = g_ptr_array_new();
    addresses_collect(list, boxes);
    if (boxes->len > 0)
        out = arena_alloc(a, boxes->len * sizeof(*out));
    for (guint i = 0; i < boxes->len; i++) {
        InternetAddress *ia = g_ptr_array_index(boxes, i);
        const char *nm = internet_address_get_name(ia);
        const char *addr =
            internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
        /* GMime has decoded the name already (RFC 2047, 8-bit fallback) */
        char *v = g_utf8_make_valid(nm != NULL ? nm : "", -1);

        out[i].name = arena_strdup(a, g_strstrip(v));
        g_free(v);
        v = g_utf8_make_valid(addr != NULL ? addr : "", -1);
        out[i].email = arena_strdup(a, v);
        g_free(v);
    }
    *n_out = boxes->len;
    g_ptr_array_free(boxes, TRUE);
    g_object_unref(list);
    return out;
}

/* What IMAP's ENVELOPE and store_imap.c envelope_fill make of a header
 * block. */
static void
envelope_fill(struct arena *a, GMimeHeaderList *hl, struct mime_envelope *out)
{
    char *v;
    bool present;

    memset(out, 0, sizeof(*out));
    v = hl_value(hl, "Subject");
    {
        char *dec = mime_decode_header_text(v, false);

        out->subject = arena_strdup(a, dec);
        g_free(dec);
    }
    g_free(v);
    v = hl_value(hl, "Date");
    out->date = mime_decode_date(v);
    g_free(v);
    out->from = addresses_parse(a, hl, "From", &present, &out->n_from);
    out->to = addresses_parse(a, hl, "To", &present, &out->n_to);
    out->cc = addresses_parse(a, hl, "Cc", &present, &out->n_cc);
    out->reply_to =
        addresses_parse(a, hl, "Reply-To", &present, &out->n_reply_to);
    if (!present) {
        /* RFC 3501 §7.4.2: the server gives From when Reply-To is absent */
        out->reply_to = out->from;
        out->n_reply_to = out->n_from;
    }
    out->message_id = raw_dup(a, hl_value(hl, "Message-ID"));
    out->in_reply_to = raw_dup(a, hl_value(hl, "In-Reply-To"));
}

/* ---------------------------------------------------------------------
 * The part walk: one struct mime_part per GMime object, in pre-order, and
 * beside it where its bytes are
 */

enum node_kind { NODE_LEAF, NODE_MULTI, NODE_MESSAGE };

struct node {
    GMimeObject *obj;
    enum node_kind kind;
    int64_t first;           /* where the entity starts (its headers) */
    int64_t start, end;      /* its body; -1 when GMime did not say */
    int64_t hi;              /* the last offset seen inside it */
    int next;                /* next sibling in its multipart, or -1 */
    const char *boundary;    /* NODE_MULTI */
    const unsigned char *fb; /* serialized by GMime, when no offsets */
    size_t fb_len;
    bool has_fb;
};

struct walk {
    struct arena *a;
    const unsigned char *d;
    size_t len;
    GMimeStream *stream;
    int64_t top_body; /* offset of the top-level body */
    GArray *parts;    /* struct mime_part */
    GArray *nodes;    /* struct node, same indices */
    int64_t hi;
};

static int64_t
max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

/* The offset after the blank line ending the header block that contains
 * the header line at off (header lines are never empty, so the first empty
 * line is the end); len when there is none. */
static int64_t
after_headers(const struct walk *w, int64_t off)
{
    size_t p = (size_t)off;

    while (p < w->len) {
        const unsigned char *nl;

        if (w->d[p] == '\n')
            return (int64_t)p + 1;
        if (w->d[p] == '\r' && p + 1 < w->len && w->d[p + 1] == '\n')
            return (int64_t)p + 2;
        nl = memchr(w->d + p, '\n', w->len - p);
        if (nl == NULL)
            break;
        p = (size_t)(nl - w->d) + 1;
    }
    return (int64_t)w->len;
}

/* Offset of the first header of hl, -1 when it has none; notes the last
 * one in w->hi. */
static int64_t
headers_first(struct walk *w, GMimeHeaderList *hl)
{
    int n = hl != NULL ? g_mime_header_list_get_count(hl) : 0;
    int64_t first = -1;

    for (int i = 0; i < n; i++) {
        int64_t off =
            g_mime_header_get_offset(g_mime_header_list_get_header_at(hl, i));

        if (off < 0 || off >= (int64_t)w->len)
            continue;
        if (first < 0 || off < first)
            first = off;
        w->hi = max64(w->hi, off);
    }
    return first;
}

static void
params_filename(struct arena *a, GMimeParamList *params, struct mime_part *p)
{
    const char *keys[64], *values[64];
    int n = params != NULL ? g_mime_param_list_length(params) : 0;
    size_t k = 0;
    char *name;

    for (int i = 0; i < n && k < G_N_ELEMENTS(keys); i++) {
        GMimeParam *pm = g_mime_param_list_get_parameter_at(params, i);

        keys[k] = g_mime_param_get_name(pm);
        values[k] = g_mime_param_get_value(pm);
        if (keys[k] != NULL && values[k] != NULL)
            k++;
    }
    if (k == 0)
        return;
    name = mime_param_filename(keys, values, k);
    if (name != NULL) {
        p->filename = arena_strdup(a, name);
        g_free(name);
    }
}

/* The fields bs_walk_leaf takes from BODYSTRUCTURE, from the headers. */
static void
part_fill(struct walk *w, GMimeObject *o, struct mime_part *p)
{
    GMimeHeaderList *hl = g_mime_object_get_header_list(o);
    GMimeContentType *ct = g_mime_object_get_content_type(o);
    GMimeContentDisposition *disp = g_mime_object_get_content_disposition(o);
    const char *fmt = NULL, *delsp = NULL;
    char *v;

    p->type = lower_dup(
        w->a, ct ? g_mime_content_type_get_media_type(ct) : NULL, "text");
    p->subtype = lower_dup(
        w->a, ct ? g_mime_content_type_get_media_subtype(ct) : NULL, "plain");
    if (ct != NULL) {
        p->charset = lower_dup(
            w->a, g_mime_content_type_get_parameter(ct, "charset"), NULL);
        fmt = g_mime_content_type_get_parameter(ct, "format");
        delsp = g_mime_content_type_get_parameter(ct, "delsp");
        params_filename(w->a, g_mime_content_type_get_parameters(ct), p);
    }
    /* Dovecot reports text without a charset as us-ascii (RFC 2045 §5.2) */
    if (p->charset == NULL && strcmp(p->type, "text") == 0)
        p->charset = "us-ascii";
    p->flowed = fmt != NULL && g_ascii_strcasecmp(fmt, "flowed") == 0;
    p->delsp = delsp != NULL && g_ascii_strcasecmp(delsp, "yes") == 0;
    v = hl_value(hl, "Content-ID");
    if (v != NULL && *v != '\0') {
        size_t l = strlen(v);

        p->content_id = l >= 2 && v[0] == '<' && v[l - 1] == '>'
                            ? arena_strndup(w->a, v + 1, l - 2)
                            : arena_strdup(w->a, v);
    }
    g_free(v);
    v = hl_value(hl, "Content-Transfer-Encoding");
    p->encoding = lower_dup(w->a, v, "7bit");
    g_free(v);
    if (disp != NULL) {
        p->disposition = lower_dup(
            w->a, g_mime_content_disposition_get_disposition(disp), NULL);
        if (p->filename == NULL)
            params_filename(w->a,
                            g_mime_content_disposition_get_parameters(disp), p);
    }
}

/* A leaf's body: the substream GMime keeps over our buffer gives its
 * offsets; any other stream is copied. */
static void
leaf_body(struct walk *w, GMimePart *part, struct node *nd)
{
    GMimeDataWrapper *dw = g_mime_part_get_content(part);
    GMimeStream *s = dw != NULL ? g_mime_data_wrapper_get_stream(dw) : NULL;

    if (s == NULL) {
        nd->has_fb = true; /* no content at all: an empty body */
        return;
    }
    if (s->super_stream == w->stream && s->bound_start >= 0 &&
        s->bound_start <= (int64_t)w->len) {
        nd->start = s->bound_start;
        nd->end = s->bound_end >= nd->start && s->bound_end <= (int64_t)w->len
                      ? s->bound_end
                      : (int64_t)w->len;
        w->hi = max64(w->hi, nd->end);
        return;
    }
    {
        GMimeStream *mem = g_mime_stream_mem_new();
        GByteArray *ba =
            g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
        unsigned char *copy;

        g_mime_stream_reset(s);
        (void)g_mime_stream_write_to_stream(s, mem);
        copy = arena_alloc(w->a, ba->len > 0 ? ba->len : 1);
        memcpy(copy, ba->data, ba->len);
        nd->fb = copy;
        nd->fb_len = ba->len;
        nd->has_fb = true;
        g_object_unref(mem);
    }
}

static int walk_object(struct walk *w, GMimeObject *o, const char *num,
                       int parent, unsigned depth, bool top, struct err *err);

static size_t
walk_append(struct walk *w, const struct mime_part *p, const struct node *nd)
{
    g_array_append_val(w->parts, *p);
    g_array_append_val(w->nodes, *nd);
    return w->parts->len - 1;
}

static struct node *
walk_node(struct walk *w, size_t i)
{
    return &g_array_index(w->nodes, struct node, i);
}

static int
walk_multipart(struct walk *w, GMimeMultipart *mp, struct mime_part *p,
               struct node *nd, struct err *err)
{
    const char *b = g_mime_multipart_get_boundary(mp);
    int n = g_mime_multipart_get_count(mp);
    size_t idx;
    int prev = -1;

    /* bs_walk_body: a multipart has only a subtype and a disposition */
    p->type = "multipart";
    p->charset = NULL;
    p->flowed = p->delsp = false;
    p->content_id = NULL;
    p->filename = NULL;
    p->encoding = "7bit";
    if (p->disposition != NULL) {
        GMimeContentDisposition *disp =
            g_mime_object_get_content_disposition(nd->obj);

        params_filename(w->a, g_mime_content_disposition_get_parameters(disp),
                        p);
    }
    nd->kind = NODE_MULTI;
    nd->boundary = b != NULL && *b != '\0' ? arena_strdup(w->a, b) : NULL;
    idx = walk_append(w, p, nd);
    for (int i = 0; i < n; i++) {
        const char *cnum = *p->section == '\0'
                               ? arena_printf(w->a, "%d", i + 1)
                               : arena_printf(w->a, "%s.%d", p->section, i + 1);
        int ci = (int)w->parts->len;

        if (walk_object(w, g_mime_multipart_get_part(mp, i), cnum, (int)idx,
                        p->depth + 1, false, err) < 0)
            return -1;
        if (prev >= 0)
            walk_node(w, (size_t)prev)->next = ci;
        prev = ci;
    }
    walk_node(w, idx)->hi = w->hi;
    return 0;
}

static int
walk_message(struct walk *w, GMimeMessagePart *mp, struct mime_part *p,
             struct node *nd, struct err *err)
{
    GMimeMessage *msg = g_mime_message_part_get_message(mp);
    GMimeObject *body = msg != NULL ? g_mime_message_get_mime_part(msg) : NULL;
    bool rfc822 = strcmp(p->subtype, "rfc822") == 0;
    size_t idx;

    nd->kind = NODE_MESSAGE;
    if (msg != NULL) {
        GMimeHeaderList *mh = g_mime_object_get_header_list(GMIME_OBJECT(msg));
        int64_t m0 = headers_first(w, mh);

        /* a part without headers of its own (multipart/digest) starts
         * where the embedded message does */
        if (nd->start < 0 && m0 >= 0)
            nd->start = m0;
        if (nd->first < 0)
            nd->first = nd->start;
        if (rfc822) {
            struct mime_envelope *env = arena_alloc(w->a, sizeof(*env));

            envelope_fill(w->a, mh, env);
            p->envelope = env;
        }
    }
    idx = walk_append(w, p, nd);
    if (rfc822 && body != NULL) {
        /* RFC 3501 §6.4.5: the embedded body's parts are N.1, N.2, ...;
         * a single-part body is N.1 */
        const char *num = GMIME_IS_MULTIPART(body)
                              ? p->section
                              : arena_printf(w->a, "%s.1", p->section);

        if (walk_object(w, body, num, (int)idx, p->depth + 1, false, err) < 0)
            return -1;
    }
    walk_node(w, idx)->hi = w->hi;
    return 0;
}

/* num: this part's section ("" for a multipart message's root). top: o is
 * the top-level message's body, whose headers are the message's. */
static int
walk_object(struct walk *w, GMimeObject *o, const char *num, int parent,
            unsigned depth, bool top, struct err *err)
{
    struct mime_part p = {.section = num, .parent = parent, .depth = depth};
    struct node nd = {
        .obj = o, .first = -1, .start = -1, .end = -1, .next = -1};
    int64_t h0;

    if (depth > LIM_MIME_DEPTH || w->parts->len >= LIM_MIME_PARTS) {
        err_set(err, ERR_LIMIT,
                "message has more than %u parts or is nested deeper than %u "
                "levels",
                LIM_MIME_PARTS, LIM_MIME_DEPTH);
        return -1;
    }
    h0 = headers_first(w, g_mime_object_get_header_list(o));
    if (top)
        nd.start = w->top_body;
    else if (h0 >= 0)
        nd.start = after_headers(w, h0);
    nd.first = h0 >= 0 ? h0 : nd.start;
    if (nd.start >= 0)
        w->hi = max64(w->hi, nd.start);
    part_fill(w, o, &p);

    if (GMIME_IS_MULTIPART(o))
        return walk_multipart(w, GMIME_MULTIPART(o), &p, &nd, err);
    if (GMIME_IS_MESSAGE_PART(o))
        return walk_message(w, GMIME_MESSAGE_PART(o), &p, &nd, err);
    nd.kind = NODE_LEAF;
    nd.start = -1; /* the content's own offsets say where the body is */
    if (GMIME_IS_PART(o))
        leaf_body(w, GMIME_PART(o), &nd);
    if (!nd.has_fb)
        p.size = (uint64_t)(nd.end - nd.start);
    else
        p.size = nd.fb_len;
    (void)walk_append(w, &p, &nd);
    return 0;
}

/* ---------------------------------------------------------------------
 * Where multiparts and embedded messages end: GMime does not say, so look
 * for the boundary line that ends them, as its parser did
 */

/* Is the line at p "--" boundary, optionally "--", then only white
 * space? */
static bool
is_boundary_line(const struct walk *w, size_t p, const char *b)
{
    size_t bl = strlen(b), r;

    if (p + 2 + bl > w->len || w->d[p] != '-' || w->d[p + 1] != '-' ||
        memcmp(w->d + p + 2, b, bl) != 0)
        return false;
    r = p + 2 + bl;
    if (r + 1 < w->len && w->d[r] == '-' && w->d[r + 1] == '-')
        r += 2;
    while (r < w->len && (w->d[r] == ' ' || w->d[r] == '\t' || w->d[r] == '\r'))
        r++;
    return r >= w->len || w->d[r] == '\n';
}

/* The end of part i's body: before the first line in [hi, limit) that is
 * a boundary of one of its enclosing multiparts (the CRLF before it is
 * the boundary's, RFC 2046 §5.1.1), else limit. */
static int64_t
scan_end(struct walk *w, size_t i, int64_t from, int64_t limit)
{
    const char *bounds[LIM_MIME_DEPTH + 2];
    size_t nb = 0, p;

    for (int a = g_array_index(w->parts, struct mime_part, i).parent;
         a >= 0 && nb < G_N_ELEMENTS(bounds);
         a = g_array_index(w->parts, struct mime_part, a).parent) {
        const struct node *an = walk_node(w, (size_t)a);

        if (an->kind == NODE_MULTI && an->boundary != NULL)
            bounds[nb++] = an->boundary;
    }
    if (nb == 0 || from < 0)
        return limit;
    p = (size_t)from;
    if (p > 0 && p < w->len && w->d[p - 1] != '\n') {
        const unsigned char *nl = memchr(w->d + p, '\n', w->len - p);

        p = nl != NULL ? (size_t)(nl - w->d) + 1 : w->len;
    }
    while ((int64_t)p < limit) {
        const unsigned char *nl;

        if (w->d[p] == '-') {
            for (size_t k = 0; k < nb; k++) {
                if (is_boundary_line(w, p, bounds[k])) {
                    size_t e = p;

                    if (e > 0 && w->d[e - 1] == '\n') {
                        e--;
                        if (e > 0 && w->d[e - 1] == '\r')
                            e--;
                    }
                    return (int64_t)e;
                }
            }
        }
        nl = memchr(w->d + p, '\n', w->len - p);
        if (nl == NULL)
            break;
        p = (size_t)(nl - w->d) + 1;
    }
    return limit;
}

/* Parents come before their children in pre-order, so one pass sets every
 * end from the ends already known. */
static void
walk_ends(struct walk *w)
{
    for (size_t i = 0; i < w->nodes->len; i++) {
        struct node *nd = walk_node(w, i);
        struct mime_part *p = &g_array_index(w->parts, struct mime_part, i);
        const struct node *pn;

        if (nd->kind == NODE_LEAF)
            continue;
        if (nd->start < 0) {
            /* no offsets to go by: GMime writes what it has */
            GMimeStream *mem = g_mime_stream_mem_new();
            GByteArray *ba =
                g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
            unsigned char *copy;

            (void)g_mime_object_write_content_to_stream(nd->obj, NULL, mem);
            copy = arena_alloc(w->a, ba->len > 0 ? ba->len : 1);
            memcpy(copy, ba->data, ba->len);
            nd->fb = copy;
            nd->fb_len = ba->len;
            nd->has_fb = true;
            g_object_unref(mem);
            if (nd->kind == NODE_MESSAGE)
                p->size = nd->fb_len;
            continue;
        }
        if (p->parent < 0) {
            nd->end = (int64_t)w->len;
        } else {
            pn = walk_node(w, (size_t)p->parent);
            if (pn->kind == NODE_MESSAGE) {
                /* the embedded message's body ends with it */
                nd->end = pn->has_fb ? (int64_t)w->len : pn->end;
            } else {
                int64_t limit = pn->has_fb ? (int64_t)w->len : pn->end;

                if (nd->next >= 0 && walk_node(w, (size_t)nd->next)->first >= 0)
                    limit = walk_node(w, (size_t)nd->next)->first;
                nd->end = scan_end(w, i, max64(nd->hi, nd->start), limit);
            }
        }
        if (nd->end < nd->start)
            nd->end = nd->start;
        if (nd->end > (int64_t)w->len)
            nd->end = (int64_t)w->len;
        if (nd->kind == NODE_MESSAGE)
            p->size = (uint64_t)(nd->end - nd->start);
    }
}

/* ---------------------------------------------------------------------
 * The message
 */

/* One text/plain part "1" over the whole body: what message_untagged
 * falls back to when it cannot read a structure. */
static void
msg_whole_body(struct arena *a, struct mime_msg *m)
{
    static const struct mime_part whole = {.section = "1",
                                           .parent = -1,
                                           .type = "text",
                                           .subtype = "plain",
                                           .encoding = "8bit"};

    m->parts = arena_alloc(a, sizeof(*m->parts));
    m->parts[0] = whole;
    m->parts[0].size = m->body_len;
    m->sec_data = arena_alloc(a, sizeof(*m->sec_data));
    m->sec_len = arena_alloc(a, sizeof(*m->sec_len));
    m->sec_data[0] = m->body;
    m->sec_len[0] = m->body_len;
    m->n_parts = 1;
}

static void
msg_take_parts(struct mime_msg *m, struct walk *w)
{
    size_t n = w->parts->len;

    m->n_parts = n;
    m->parts = arena_alloc(w->a, n * sizeof(*m->parts));
    memcpy(m->parts, w->parts->data, n * sizeof(*m->parts));
    m->sec_data = arena_alloc(w->a, n * sizeof(*m->sec_data));
    m->sec_len = arena_alloc(w->a, n * sizeof(*m->sec_len));
    for (size_t i = 0; i < n; i++) {
        const struct node *nd = walk_node(w, i);

        if (nd->has_fb) {
            m->sec_data[i] = nd->fb;
            m->sec_len[i] = nd->fb_len;
        } else {
            m->sec_data[i] = w->d + nd->start;
            m->sec_len[i] = (size_t)(nd->end - nd->start);
        }
    }
}

/* The header block: up to the end of the blank line GMime stopped at. */
static size_t
msg_header_len(GMimeParser *parser, const unsigned char *d, size_t len)
{
    gint64 he = g_mime_parser_get_headers_end(parser);

    if (he < 0 || (uint64_t)he >= len)
        return len;
    if (d[he] == '\r' && (size_t)he + 1 < len && d[he + 1] == '\n')
        return (size_t)he + 2;
    if (d[he] == '\n')
        return (size_t)he + 1;
    return (size_t)he;
}

int
mime_msg_parse(struct arena *a, const void *data, size_t len,
               struct mime_msg **out, struct err *err)
{
    struct mime_msg *m;
    struct msg_stream ms;
    GMimeParser *parser;
    GMimeMessage *msg;
    GMimeObject *top;
    int rc = 0;

    if (len > UINT_MAX) {
        err_set(err, ERR_LIMIT, "message of %zu bytes is too large to parse",
                len);
        return -1;
    }
    mime_msg_init_gmime();
    m = arena_alloc(a, sizeof(*m));
    m->env.subject = "";
    msg_stream_open(&ms, data, len);
    parser = g_mime_parser_new_with_stream(ms.stream);
    g_mime_parser_set_persist_stream(parser, TRUE);
    g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
    msg = g_mime_parser_construct_message(parser, NULL);
    if (msg == NULL) {
        /* not a message at all: no headers, the whole input is the body */
        m->hdr = data;
        m->hdr_len = 0;
        m->body = data;
        m->body_len = len;
        msg_whole_body(a, m);
        goto out;
    }
    m->hdr_len = msg_header_len(parser, data, len);
    m->hdr = data;
    m->body = (const unsigned char *)data + m->hdr_len;
    m->body_len = len - m->hdr_len;
    envelope_fill(a, g_mime_object_get_header_list(GMIME_OBJECT(msg)), &m->env);
    top = g_mime_message_get_mime_part(msg);
    if (top == NULL ||
        (GMIME_IS_MULTIPART(top) &&
         g_mime_multipart_get_count(GMIME_MULTIPART(top)) == 0)) {
        /* a multipart whose boundary never comes (or is not given):
         * Dovecot reports one empty part; showing the body is better */
        msg_whole_body(a, m);
    } else {
        struct walk w = {
            .a = a,
            .d = data,
            .len = len,
            .stream = ms.stream,
            .top_body = (int64_t)m->hdr_len,
            .parts = g_array_new(FALSE, TRUE, sizeof(struct mime_part)),
            .nodes = g_array_new(FALSE, TRUE, sizeof(struct node)),
        };

        rc = walk_object(&w, top, GMIME_IS_MULTIPART(top) ? "" : "1", -1, 0,
                         true, err);
        if (rc == 0) {
            walk_ends(&w);
            msg_take_parts(m, &w);
        }
        g_array_free(w.parts, TRUE);
        g_array_free(w.nodes, TRUE);
    }
    g_object_unref(msg);
out:
    g_object_unref(parser);
    msg_stream_close(&ms);
    if (rc < 0)
        return -1;
    *out = m;
    return 0;
}

const struct mime_envelope *
mime_msg_envelope(const struct mime_msg *m)
{
    return &m->env;
}

const struct mime_part *
mime_msg_parts(const struct mime_msg *m, size_t *n_out)
{
    *n_out = m->n_parts;
    return m->parts;
}

void
mime_msg_headers(const struct mime_msg *m, const char **data_out,
                 size_t *len_out)
{
    *data_out = m->hdr;
    *len_out = m->hdr_len;
}

int
mime_msg_section(const struct mime_msg *m, const char *section,
                 const unsigned char **data_out, size_t *len_out,
                 struct err *err)
{
    if (section != NULL && *section == '\0') {
        *data_out = m->body;
        *len_out = m->body_len;
        return 0;
    }
    for (size_t i = 0; section != NULL && i < m->n_parts; i++) {
        /* the first match: a message/rfc822 part before its body */
        if (strcmp(m->parts[i].section, section) == 0) {
            *data_out = m->sec_data[i];
            *len_out = m->sec_len[i];
            return 0;
        }
    }
    err_set(err, ERR_NOT_FOUND, "message has no part %s",
            section != NULL ? section : "(null)");
    return -1;
}

/* ---------------------------------------------------------------------
 * A header block alone
 */

static bool
params_have_name(GMimeParamList *params)
{
    int n = params != NULL ? g_mime_param_list_length(params) : 0;

    for (int i = 0; i < n; i++) {
        const char *k = g_mime_param_get_name(
            g_mime_param_list_get_parameter_at(params, i));

        if (k != NULL && (g_ascii_strcasecmp(k, "name") == 0 ||
                          g_ascii_strcasecmp(k, "filename") == 0))
            return true;
    }
    return false;
}

/* store_imap.c bs_has_attachment for the one part a header block shows. */
static bool
top_has_attachment(GMimeObject *o)
{
    GMimeContentType *ct = g_mime_object_get_content_type(o);
    GMimeContentDisposition *disp = g_mime_object_get_content_disposition(o);
    const char *type, *sub, *d;

    if (ct == NULL)
        return false;
    type = g_mime_content_type_get_media_type(ct);
    sub = g_mime_content_type_get_media_subtype(ct);
    if (type == NULL || sub == NULL)
        return false;
    if (g_ascii_strcasecmp(type, "multipart") == 0)
        return g_ascii_strcasecmp(sub, "mixed") == 0 ||
               g_ascii_strcasecmp(sub, "signed") == 0 ||
               g_ascii_strcasecmp(sub, "encrypted") == 0 ||
               g_ascii_strcasecmp(sub, "report") == 0;
    if (g_ascii_strcasecmp(type, "message") == 0 &&
        (g_ascii_strcasecmp(sub, "rfc822") == 0 ||
         g_ascii_strcasecmp(sub, "global") == 0))
        return true;
    d = disp != NULL ? g_mime_content_disposition_get_disposition(disp) : NULL;
    if (d != NULL && g_ascii_strcasecmp(d, "attachment") == 0)
        return true;
    if (g_ascii_strcasecmp(type, "text") == 0 &&
        (g_ascii_strcasecmp(sub, "plain") == 0 ||
         g_ascii_strcasecmp(sub, "html") == 0))
        return false;
    return params_have_name(g_mime_content_type_get_parameters(ct)) ||
           g_ascii_strcasecmp(type, "application") == 0;
}

int
mime_msg_parse_headers(struct arena *a, const void *data, size_t len,
                       struct mime_envelope *env_out, bool *has_attachments_out,
                       struct err *err)
{
    struct msg_stream ms;
    GMimeParser *parser;
    GMimeMessage *msg;

    memset(env_out, 0, sizeof(*env_out));
    env_out->subject = "";
    *has_attachments_out = false;
    if (len > UINT_MAX) {
        err_set(err, ERR_LIMIT, "header block of %zu bytes is too large", len);
        return -1;
    }
    mime_msg_init_gmime();
    msg_stream_open(&ms, data, len);
    parser = g_mime_parser_new_with_stream(ms.stream);
    g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
    msg = g_mime_parser_construct_message(parser, NULL);
    if (msg != NULL) {
        GMimeObject *top = g_mime_message_get_mime_part(msg);

        envelope_fill(a, g_mime_object_get_header_list(GMIME_OBJECT(msg)),
                      env_out);
        *has_attachments_out = top != NULL && top_has_attachment(top);
        g_object_unref(msg);
    }
    g_object_unref(parser);
    msg_stream_close(&ms);
    return 0;
}
