/* store_pop3.c - the store interface over one POP3 connection: a snapshot
 * of the maildrop (UIDL + LIST at login), summaries from TOP n 0, messages
 * from RETR parsed by GMime (mime_msg) into the same structures IMAP gives,
 * deletion by DELE committed at once with QUIT. Layer: store.
 * Trust: the server and every message are UNTRUSTED; sizes are capped. */
#include <inttypes.h>
#include <string.h>

#include <glib.h>

#include "core/limits.h"
#include "mime/mime_msg.h"
#include "pop3/pop3_conn.h"
#include "store/store_pop3.h"

/* One message of the snapshot. */
struct p3msg {
    unsigned num;               /* session-local: never leaves this file */
    uint64_t size;              /* LIST octets */
    char uid[STORE_ID_MAX + 1]; /* UIDL: the message's name */
};

/* A summary remembered by UIDL; strings g_malloc'd. */
struct p3sum {
    char *subject, *from_name, *from_email;
    int64_t date;
    bool has_attachments;
};

/* What the session's stores share (struct store_memo's data). */
struct p3memo {
    GHashTable *sums;           /* uid -> struct p3sum */
    GHashTable *seen;           /* uid -> itself: opened this session */
    char last_uid[STORE_ID_MAX + 1];
    GBytes *last;               /* that message, or NULL */
    /* the sort of the list last shown: the message page's Previous and
     * Next follow it */
    bool listed;
    enum store_sort list_sort;
};

struct store_pop3 {
    struct store base;          /* first: store.c casts */
    struct pop3_conn *conn;     /* NULL once spent (QUIT) */
    struct store_memo *memo;
    uint64_t max_message;
    GArray *msgs;               /* struct p3msg, in maildrop order */
    GHashTable *by_uid;         /* uid (in msgs) -> index + 1 */
};

static const struct store_ops store_pop3_ops;

/* ---- the session's memo ---- */

static void
p3sum_free(gpointer p)
{
    struct p3sum *s = p;

    g_free(s->subject);
    g_free(s->from_name);
    g_free(s->from_email);
    g_free(s);
}

static void *
p3memo_new(void)
{
    struct p3memo *m = g_new0(struct p3memo, 1);

    m->sums = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                    p3sum_free);
    m->seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    return m;
}

static void
p3memo_free(void *p)
{
    struct p3memo *m = p;

    g_hash_table_destroy(m->sums);
    g_hash_table_destroy(m->seen);
    if (m->last != NULL)
        g_bytes_unref(m->last);
    g_free(m);
}

static struct p3memo *
p3memo_lock(struct store_pop3 *sp)
{
    return store_memo_lock(sp->memo, p3memo_new, p3memo_free);
}

static void
p3memo_unlock(struct store_pop3 *sp)
{
    store_memo_unlock(sp->memo);
}

static void
p3memo_mark_seen(struct store_pop3 *sp, const char *uid)
{
    struct p3memo *m = p3memo_lock(sp);

    if (g_hash_table_size(m->seen) < LIM_POP3_SEEN &&
        !g_hash_table_contains(m->seen, uid))
        g_hash_table_add(m->seen, g_strdup(uid));
    p3memo_unlock(sp);
}

/* ---- the snapshot ---- */

static const struct p3msg *
p3_find(const struct store_pop3 *sp, const char *folder, const char *id,
        struct err *err)
{
    gpointer v;

    if (g_ascii_strcasecmp(folder, "INBOX") != 0) {
        err_set(err, ERR_NOT_FOUND, "no folder %s (POP3 has only INBOX)",
                folder);
        return NULL;
    }
    v = g_hash_table_lookup(sp->by_uid, id);
    if (v == NULL) {
        err_set(err, ERR_NOT_FOUND, "no message %.70s in INBOX", id);
        return NULL;
    }
    return &g_array_index(sp->msgs, struct p3msg, GPOINTER_TO_UINT(v) - 1);
}

static int
p3_usable(const struct store_pop3 *sp, struct err *err)
{
    if (sp->conn == NULL || !pop3_conn_is_usable(sp->conn)) {
        err_set(err, ERR_CONN, "POP3 connection closed");
        return -1;
    }
    return 0;
}

/* ---- summaries ---- */

/* The summary of m into out (strings in a): from the memo, else from TOP
 * n 0, which is then remembered. A server refusing TOP for one message
 * (gone meanwhile, or no TOP at all) gives an empty summary, not an error
 * page. */
/* Message m's header block (TOP n 0) into hdr. An outsized one is cut
 * at its last whole line within LIM_POP3_HEADER: those bytes still name
 * the sender and subject, as a rule. ERR_REFUSED: the server has no TOP. */
static int
p3_header_block(struct store_pop3 *sp, const struct p3msg *m, GString *hdr,
                struct err *err)
{
    bool cut;

    if (p3_usable(sp, err) < 0 ||
        pop3_conn_top(sp->conn, m->num, hdr, LIM_POP3_HEADER, &cut, err) < 0)
        return -1;
    if (cut) {
        const char *nl = g_strrstr_len(hdr->str, (gssize)hdr->len, "\n");

        g_string_truncate(hdr, nl != NULL ? (gsize)(nl - hdr->str) + 1 : 0);
    }
    return 0;
}

static int
p3_summary(struct store_pop3 *sp, const struct p3msg *m, struct arena *a,
           struct store_summary *out, struct err *err)
{
    struct p3memo *memo = p3memo_lock(sp);
    const struct p3sum *have = g_hash_table_lookup(memo->sums, m->uid);
    struct mime_envelope env;
    struct p3sum *s;
    GString *hdr;
    bool has_att = false;

    memset(out, 0, sizeof(*out));
    out->id = arena_strdup(a, m->uid);
    out->size = m->size;
    out->seen = g_hash_table_contains(memo->seen, m->uid);
    if (have != NULL) {
        out->subject = arena_strdup(a, have->subject);
        out->from.name = arena_strdup(a, have->from_name);
        out->from.email = arena_strdup(a, have->from_email);
        out->date = have->date;
        out->has_attachments = have->has_attachments;
        p3memo_unlock(sp);
        return 0;
    }
    p3memo_unlock(sp);

    out->subject = out->from.name = out->from.email = "";
    hdr = g_string_new(NULL);
    if (p3_header_block(sp, m, hdr, err) < 0) {
        g_string_free(hdr, TRUE);
        if (err->kind != ERR_REFUSED)
            return -1;
        err_clear(err);
        return 0;
    }
    if (mime_msg_parse_headers(a, hdr->str, hdr->len, &env, &has_att,
                               err) < 0) {
        g_string_free(hdr, TRUE);
        return -1;
    }
    g_string_free(hdr, TRUE);
    out->subject = env.subject;
    if (env.n_from > 0) {
        out->from.name = env.from[0].name;
        out->from.email = env.from[0].email;
    }
    out->date = env.date;
    out->has_attachments = has_att;

    s = g_new0(struct p3sum, 1);
    s->subject = g_strdup(out->subject);
    s->from_name = g_strdup(out->from.name);
    s->from_email = g_strdup(out->from.email);
    s->date = out->date;
    s->has_attachments = has_att;
    memo = p3memo_lock(sp);
    if (g_hash_table_size(memo->sums) < LIM_POP3_SUMMARY_CACHE)
        g_hash_table_replace(memo->sums, g_strdup(m->uid), s);
    else
        p3sum_free(s);
    p3memo_unlock(sp);
    return 0;
}

struct p3_sort_ctx {
    const struct store_pop3 *sp;
    const struct store_summary *sums; /* by index into msgs, or NULL */
    char **keys;                      /* collation keys, or NULL */
    enum store_sort sort;
};

/* POP3 has no arrival date: the maildrop's order is the arrival order,
 * which is what "date" means here (RFC 1939 numbers messages in it). */
static gint
p3_cmp(gconstpointer pa, gconstpointer pb, gpointer data)
{
    const struct p3_sort_ctx *c = data;
    guint ia = *(const guint *)pa, ib = *(const guint *)pb;
    int r = 0;

    switch (c->sort) {
    case STORE_SORT_DATE_DESC:
    case STORE_SORT_DATE_ASC:
        break;
    case STORE_SORT_SIZE_ASC:
    case STORE_SORT_SIZE_DESC: {
        uint64_t a = g_array_index(c->sp->msgs, struct p3msg, ia).size;
        uint64_t b = g_array_index(c->sp->msgs, struct p3msg, ib).size;

        r = a < b ? -1 : a > b;
        break;
    }
    case STORE_SORT_FROM_ASC:
    case STORE_SORT_FROM_DESC:
    case STORE_SORT_SUBJECT_ASC:
    case STORE_SORT_SUBJECT_DESC:
        r = strcmp(c->keys[ia], c->keys[ib]);
        break;
    case STORE_SORT_COUNT_:
        xassert_unreached();
    }
    if (r == 0)
        r = ia < ib ? -1 : ia > ib;
    return store_sort_is_desc(c->sort) ? -r : r;
}

static void
p3_keys_free(void *p)
{
    g_strfreev(p);
}

/* Sorting by sender or subject needs every summary (cached for the
 * session after the first time). */
static int
p3_sort_keys(struct store_pop3 *sp, enum store_sort sort, struct arena *a,
             struct p3_sort_ctx *ctx, struct err *err)
{
    size_t n = sp->msgs->len;
    bool by_from = sort == STORE_SORT_FROM_ASC || sort == STORE_SORT_FROM_DESC;

    if (n > LIM_POP3_SORT_HEADERS) {
        err_set(err, ERR_LIMIT, "sorting %zu POP3 messages by %s needs every "
                "header; at most %u can be sorted that way", n,
                by_from ? "sender" : "subject", LIM_POP3_SORT_HEADERS);
        return -1;
    }
    ctx->keys = g_new0(char *, n + 1);
    arena_defer(a, p3_keys_free, ctx->keys);
    for (size_t i = 0; i < n; i++) {
        struct store_summary s;
        const char *k;
        char *fold;

        if (p3_summary(sp, &g_array_index(sp->msgs, struct p3msg, i), a, &s,
                       err) < 0)
            return -1;
        k = by_from ? (*s.from.name != '\0' ? s.from.name : s.from.email)
                    : s.subject;
        fold = g_utf8_casefold(k, -1);
        ctx->keys[i] = g_utf8_collate_key(fold, -1);
        g_free(fold);
    }
    return 0;
}

/* The maildrop's indices in sort's order, in a (n of them). */
static int
p3_order(struct store_pop3 *sp, enum store_sort sort, struct arena *a,
         guint **order_out, struct err *err)
{
    struct p3_sort_ctx ctx = {.sp = sp, .sort = sort};
    size_t n = sp->msgs->len;
    guint *order;

    if ((sort == STORE_SORT_FROM_ASC || sort == STORE_SORT_FROM_DESC ||
         sort == STORE_SORT_SUBJECT_ASC || sort == STORE_SORT_SUBJECT_DESC) &&
        p3_sort_keys(sp, sort, a, &ctx, err) < 0)
        return -1;
    order = arena_alloc(a, (n > 0 ? n : 1) * sizeof(*order));
    for (size_t i = 0; i < n; i++)
        order[i] = (guint)i;
    g_qsort_with_data(order, (gint)n, sizeof(*order), p3_cmp, &ctx);
    *order_out = order;
    return 0;
}

static int
store_pop3_summary_page(struct store *st, const struct store_page_query *q,
                        struct arena *a, struct store_page *out,
                        struct err *err)
{
    struct store_pop3 *sp = (struct store_pop3 *)st;
    size_t n = sp->msgs->len, first, count;
    unsigned per = q->per_page > 0 ? q->per_page : 50;
    struct p3memo *memo;
    guint *order;

    memset(out, 0, sizeof(*out));
    if (g_ascii_strcasecmp(q->folder, "INBOX") != 0) {
        err_set(err, ERR_NOT_FOUND, "no folder %s (POP3 has only INBOX)",
                q->folder);
        return -1;
    }
    if (q->search != NULL && *q->search != '\0') {
        err_set(err, ERR_UNSUPPORTED, "a POP3 server cannot search");
        return -1;
    }
    if (p3_order(sp, q->sort, a, &order, err) < 0)
        return -1;

    out->folder = "INBOX";
    out->sort = q->sort;
    out->total = (unsigned)n;
    out->pages = n > 0 ? (unsigned)((n + per - 1) / per) : 1;
    out->page = q->page < 1 ? 1 : MIN(q->page, out->pages);
    first = (size_t)(out->page - 1) * per;
    count = first < n ? MIN((size_t)per, n - first) : 0;
    out->items = arena_alloc(a, (count > 0 ? count : 1) * sizeof(*out->items));
    for (size_t i = 0; i < count; i++) {
        const struct p3msg *m = &g_array_index(sp->msgs, struct p3msg,
                                               order[first + i]);

        if (p3_summary(sp, m, a, &out->items[i], err) < 0)
            return -1;
    }
    out->n = count;
    memo = p3memo_lock(sp);
    memo->listed = true;
    memo->list_sort = q->sort;
    p3memo_unlock(sp);
    return 0;
}

/* From the snapshot in the sort last listed: after a deletion (a new
 * connection, a new snapshot) the deleted ones are gone from it too. A
 * sort by sender or subject takes the session's cached summaries. */
static void
store_pop3_neighbours(struct store *st, struct arena *a, const char *folder,
                      const char *id, const char **prev_out,
                      const char **next_out)
{
    struct store_pop3 *sp = (struct store_pop3 *)st;
    gpointer at = g_hash_table_lookup(sp->by_uid, id);
    struct p3memo *memo = p3memo_lock(sp);
    bool listed = memo->listed;
    enum store_sort sort = memo->list_sort;
    struct err ignored = {0};
    guint *order;

    p3memo_unlock(sp);
    if (!listed || at == NULL || g_ascii_strcasecmp(folder, "INBOX") != 0 ||
        p3_order(sp, sort, a, &order, &ignored) < 0)
        return;
    for (guint i = 0; i < sp->msgs->len; i++) {
        if (order[i] != GPOINTER_TO_UINT(at) - 1)
            continue;
        if (i > 0)
            *prev_out = arena_strdup(
                a, g_array_index(sp->msgs, struct p3msg, order[i - 1]).uid);
        if (i + 1 < sp->msgs->len)
            *next_out = arena_strdup(
                a, g_array_index(sp->msgs, struct p3msg, order[i + 1]).uid);
        return;
    }
}

static int
store_pop3_folder_list(struct store *st, struct arena *a,
                       struct store_folder_list *out, struct err *err)
{
    struct store_pop3 *sp = (struct store_pop3 *)st;
    struct store_folder *f = arena_alloc(a, sizeof(*f));
    struct p3memo *memo;
    unsigned seen = 0;

    (void)err;
    memo = p3memo_lock(sp);
    for (guint i = 0; i < sp->msgs->len; i++)
        seen += g_hash_table_contains(
            memo->seen, g_array_index(sp->msgs, struct p3msg, i).uid);
    p3memo_unlock(sp);
    f->path = f->name = "INBOX";
    f->role = STORE_ROLE_INBOX;
    f->subscribed = f->selectable = f->has_counts = true;
    f->total = sp->msgs->len;
    f->unread = f->total - seen;
    out->items = f;
    out->n = 1;
    return 0;
}

static int
store_pop3_folder_names(struct store *st, struct arena *a,
                        const char ***names_out, size_t *n_out,
                        struct err *err)
{
    (void)st;
    (void)err;
    *names_out = arena_alloc(a, 2 * sizeof(**names_out));
    (*names_out)[0] = "INBOX";
    *n_out = 1;
    return 0;
}

/* ---- whole messages ---- */

static void
p3_bytes_unref(void *p)
{
    g_bytes_unref(p);
}

/* The raw message m: the memo's copy when it is the last one retrieved,
 * else RETR (at most max_message bytes), kept in the memo when small
 * enough. A new reference. */
static GBytes *
p3_retrieve(struct store_pop3 *sp, const struct p3msg *m, struct err *err)
{
    struct p3memo *memo = p3memo_lock(sp);
    GByteArray *buf;
    GBytes *b = NULL;

    if (memo->last != NULL && strcmp(memo->last_uid, m->uid) == 0)
        b = g_bytes_ref(memo->last);
    p3memo_unlock(sp);
    if (b != NULL)
        return b;
    if (m->size > sp->max_message) {
        err_set(err, ERR_LIMIT, "message %s has %" PRIu64 " bytes, over "
                "max_message_size (%" PRIu64 ")", m->uid, m->size,
                sp->max_message);
        return NULL;
    }
    if (p3_usable(sp, err) < 0 ||
        pop3_conn_retr_begin(sp->conn, m->num, 0, err) < 0) {
        if (err->kind == ERR_REFUSED) {
            err_clear(err);
            err_set(err, ERR_NOT_FOUND, "message %s is gone from the server",
                    m->uid);
        }
        return NULL;
    }
    buf = g_byte_array_sized_new((guint)MIN(m->size + 16, 1u << 20));
    for (;;) {
        unsigned char chunk[64 * 1024];
        ssize_t n = pop3_conn_retr_read(sp->conn, chunk, sizeof(chunk), err);

        if (n < 0) {
            g_byte_array_unref(buf);
            return NULL;
        }
        if (n == 0)
            break;
        g_byte_array_append(buf, chunk, (guint)n);
    }
    b = g_byte_array_free_to_bytes(buf);
    if (g_bytes_get_size(b) <= LIM_POP3_MESSAGE_CACHE) {
        memo = p3memo_lock(sp);
        if (memo->last != NULL)
            g_bytes_unref(memo->last);
        memo->last = g_bytes_ref(b);
        g_strlcpy(memo->last_uid, m->uid, sizeof(memo->last_uid));
        p3memo_unlock(sp);
    }
    return b;
}

/* A message over max_message_size, which RETR would have to hold whole:
 * its header block alone (TOP n 0), ended so that nothing reads as a
 * body, in a. The source still streams (store_pop3_stream_open). */
static int
p3_message_head(struct store_pop3 *sp, const struct p3msg *m,
                struct arena *a, const void **data_out, gsize *len_out,
                struct err *err)
{
    GString *hdr = g_string_new(NULL);

    if (p3_header_block(sp, m, hdr, err) < 0) {
        g_string_free(hdr, TRUE);
        if (err->kind == ERR_REFUSED) {
            err_clear(err);
            err_set(err, ERR_LIMIT, "message %s has %" PRIu64 " bytes, over "
                    "max_message_size (%" PRIu64 "), and the server sends "
                    "no headers alone (TOP)", m->uid, m->size,
                    sp->max_message);
        }
        return -1;
    }
    if (hdr->len > 0 && hdr->str[hdr->len - 1] != '\n')
        g_string_append(hdr, "\r\n");
    g_string_append(hdr, "\r\n");
    *len_out = hdr->len;
    *data_out = arena_strndup(a, hdr->str, hdr->len);
    g_string_free(hdr, TRUE);
    return 0;
}

static int
store_pop3_message_get(struct store *st, const char *folder, const char *id,
                       bool with_headers, struct arena *a,
                       struct store_message *out, struct err *err)
{
    struct store_pop3 *sp = (struct store_pop3 *)st;
    const struct p3msg *m = p3_find(sp, folder, id, err);
    struct mime_msg *mm;
    const struct mime_part *parts;
    GBytes *raw;
    gsize len;
    const void *data;

    memset(out, 0, sizeof(*out));
    if (m == NULL)
        return -1;
    if (m->size > sp->max_message) {
        if (p3_message_head(sp, m, a, &data, &len, err) < 0)
            return -1;
        out->partial = true;
    } else {
        raw = p3_retrieve(sp, m, err);
        if (raw == NULL)
            return -1;
        arena_defer(a, p3_bytes_unref, raw); /* mm points into it */
        data = g_bytes_get_data(raw, &len);
    }
    if (mime_msg_parse(a, data, len, &mm, err) < 0)
        return -1;
    out->folder = "INBOX";
    out->id = arena_strdup(a, m->uid);
    out->env = *mime_msg_envelope(mm);
    parts = mime_msg_parts(mm, &out->n_parts);
    out->parts = (struct mime_part *)parts;
    out->size = len;
    if (out->partial) {
        /* no body was read: nothing to show or offer but the source */
        out->parts = NULL;
        out->n_parts = 0;
        out->size = m->size;
    }
    /* opened now: the list shows it read from here on (for the session;
     * POP3 keeps no flags on the server) */
    out->seen = true;
    p3memo_mark_seen(sp, m->uid);
    if (with_headers)
        mime_msg_headers(mm, &out->headers, &out->headers_len);
    return 0;
}

/* ---- streams ---- */

struct store_pop3_stream {
    struct store_stream base;   /* first: store.c reads base.st */
    GBytes *bytes;              /* the message, when held in memory */
    struct arena *arena;        /* its parse, for a section */
    const unsigned char *data;  /* what is streamed, when in memory */
    size_t len, off;
    bool retr;                  /* else straight from RETR */
    bool done;
};

static void
p3_stream_free(struct store_pop3_stream *s)
{
    if (s->bytes != NULL)
        g_bytes_unref(s->bytes);
    arena_free(&s->arena);
    g_free(s);
}

/* What a streamed RETR of m may carry: its LIST size, and room for a
 * server that counted line ends differently; the download stops at the
 * size it announced anyway (h_source). */
static uint64_t
p3_stream_cap(const struct p3msg *m)
{
    return m->size + m->size / 8 + 64 * 1024;
}

static struct store_stream *
store_pop3_stream_open(struct store *st, const char *folder, const char *id,
                       const char *section, struct err *err)
{
    struct store_pop3 *sp = (struct store_pop3 *)st;
    const struct p3msg *m = p3_find(sp, folder, id, err);
    struct store_pop3_stream *s;
    struct mime_msg *mm;
    gsize len;

    if (m == NULL)
        return NULL;
    s = g_new0(struct store_pop3_stream, 1);
    s->base.st = st;
    if (section == NULL && (m->size > LIM_POP3_MESSAGE_CACHE ||
                            m->size > sp->max_message)) {
        /* the raw source of a big message: straight through, memory
         * bounded whatever its size (max_message_size bounds what is
         * held, not what streams) */
        if (p3_usable(sp, err) < 0 ||
            pop3_conn_retr_begin(sp->conn, m->num, p3_stream_cap(m),
                                 err) < 0) {
            g_free(s);
            return NULL;
        }
        s->retr = true;
        p3memo_mark_seen(sp, m->uid);
        return &s->base;
    }
    s->bytes = p3_retrieve(sp, m, err);
    if (s->bytes == NULL) {
        g_free(s);
        return NULL;
    }
    s->data = g_bytes_get_data(s->bytes, &len);
    s->len = len;
    if (section != NULL) {
        s->arena = arena_new(16 * 1024);
        if (mime_msg_parse(s->arena, s->data, s->len, &mm, err) < 0 ||
            mime_msg_section(mm, section, &s->data, &s->len, err) < 0) {
            p3_stream_free(s);
            return NULL;
        }
    }
    p3memo_mark_seen(sp, m->uid);
    return &s->base;
}

static void
store_pop3_stream_paced(struct store_stream *ss)
{
    const struct store_pop3_stream *s = (struct store_pop3_stream *)ss;

    if (s->retr && !s->done) /* else it is served from memory */
        pop3_conn_retr_paced(((struct store_pop3 *)ss->st)->conn);
}

static ssize_t
store_pop3_stream_read(struct store_stream *ss, void *buf, size_t max,
                       struct err *err)
{
    struct store_pop3_stream *s = (struct store_pop3_stream *)ss;
    struct store_pop3 *sp = (struct store_pop3 *)ss->st;
    size_t n;

    if (s->done)
        return 0;
    if (s->retr) {
        ssize_t got = pop3_conn_retr_read(sp->conn, buf, max, err);

        if (got <= 0)
            s->done = true;
        return got;
    }
    n = MIN(max, s->len - s->off);
    memcpy(buf, s->data + s->off, n);
    s->off += n;
    if (n == 0)
        s->done = true;
    return (ssize_t)n;
}

static void
store_pop3_stream_close(struct store_stream *ss)
{
    struct store_pop3_stream *s = (struct store_pop3_stream *)ss;

    if (s->retr && !s->done)
        ss->st->broken = true; /* the rest of the RETR is still coming */
    p3_stream_free(s);
}

/* ---- changes ---- */

/* RFC 1939 §6: DELE only marks; QUIT commits. postern commits at once, so
 * a deletion the user saw succeed is durable, and this store is spent. */
static int
store_pop3_messages_transfer(struct store *st, const char *folder,
                             const char *const *ids, size_t n,
                             const char *to, bool keep, struct err *err)
{
    struct store_pop3 *sp = (struct store_pop3 *)st;
    struct p3memo *memo;
    size_t marked = 0;

    if (to != NULL || keep) {
        err_set(err, ERR_UNSUPPORTED, "a POP3 server has no other folders");
        return -1;
    }
    if (g_ascii_strcasecmp(folder, "INBOX") != 0) {
        err_set(err, ERR_NOT_FOUND, "no folder %s (POP3 has only INBOX)",
                folder);
        return -1;
    }
    if (p3_usable(sp, err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        gpointer v = g_hash_table_lookup(sp->by_uid, ids[i]);

        if (v == NULL)
            continue; /* gone already */
        if (pop3_conn_dele(sp->conn,
                           g_array_index(sp->msgs, struct p3msg,
                                         GPOINTER_TO_UINT(v) - 1)
                               .num,
                           err) < 0) {
            /* without QUIT the server forgets the marks: all or none */
            pop3_conn_close(&sp->conn);
            st->broken = true;
            return -1;
        }
        marked++;
    }
    if (marked == 0)
        return 0;
    st->broken = true;
    if (!pop3_conn_quit(&sp->conn, err)) {
        if (err->kind == ERR_NONE)
            err_set(err, ERR_CONN, "the POP3 server did not confirm the "
                    "deletion");
        return -1;
    }
    memo = p3memo_lock(sp);
    for (size_t i = 0; i < n; i++) {
        g_hash_table_remove(memo->sums, ids[i]);
        g_hash_table_remove(memo->seen, ids[i]);
        if (memo->last != NULL && strcmp(memo->last_uid, ids[i]) == 0) {
            g_bytes_unref(memo->last);
            memo->last = NULL;
        }
    }
    p3memo_unlock(sp);
    return 0;
}

static int
store_pop3_flags_change(struct store *st, const char *folder,
                        const char *const *ids, size_t n, unsigned flags,
                        bool add, struct err *err)
{
    (void)st, (void)folder, (void)ids, (void)n, (void)flags, (void)add;
    err_set(err, ERR_UNSUPPORTED, "a POP3 server keeps no flags");
    return -1;
}

static int
store_pop3_folder_change(struct store *st, enum store_folder_op op,
                         const char *path, const char *new_path,
                         struct err *err)
{
    (void)st, (void)op, (void)path, (void)new_path;
    err_set(err, ERR_UNSUPPORTED, "a POP3 server has no folders");
    return -1;
}

static int
store_pop3_append(struct store *st, const char *folder, unsigned flags,
                  const void *data, size_t len, char id_out[STORE_ID_MAX + 1],
                  struct err *err)
{
    (void)st, (void)folder, (void)flags, (void)data, (void)len, (void)id_out;
    err_set(err, ERR_UNSUPPORTED, "a POP3 server takes no messages");
    return -1;
}

/* ---- opening, liveness, closing ---- */

static int
store_pop3_ping(struct store *st, struct err *err)
{
    return p3_usable((struct store_pop3 *)st, err);
}

static void
store_pop3_close(struct store *st)
{
    struct store_pop3 *sp = (struct store_pop3 *)st;
    struct err err = {0};

    /* nothing is pending (deletions are committed at once): QUIT only
     * releases the maildrop's lock early; a refusal changes nothing */
    if (sp->conn != NULL && pop3_conn_is_usable(sp->conn))
        (void)pop3_conn_quit(&sp->conn, &err);
    pop3_conn_close(&sp->conn);
    if (sp->by_uid != NULL)
        g_hash_table_destroy(sp->by_uid);
    if (sp->msgs != NULL)
        g_array_free(sp->msgs, TRUE);
    store_memo_unref(&sp->memo);
    g_free(sp);
}

static gint
p3msg_cmp(gconstpointer a, gconstpointer b)
{
    unsigned x = ((const struct p3msg *)a)->num;
    unsigned y = ((const struct p3msg *)b)->num;

    return x < y ? -1 : x > y;
}

/* The snapshot from UIDL and LIST, joined by message number. */
static int
store_pop3_snapshot(struct store_pop3 *sp, struct err *err)
{
    GArray *uidl, *list;
    GHashTable *sizes;

    uidl = pop3_conn_uidl(sp->conn, err);
    if (uidl == NULL) {
        if (err->kind == ERR_REFUSED) {
            err_clear(err);
            err_set(err, ERR_UNSUPPORTED, "the POP3 server does not offer "
                    "UIDL, which postern needs to name messages");
        }
        return -1;
    }
    list = pop3_conn_list(sp->conn, err);
    if (list == NULL) {
        g_array_unref(uidl);
        return -1;
    }
    sizes = g_hash_table_new(g_direct_hash, g_direct_equal);
    for (guint i = 0; i < list->len; i++) {
        const struct pop3_list_entry *e =
            &g_array_index(list, struct pop3_list_entry, i);

        g_hash_table_insert(sizes, GUINT_TO_POINTER(e->msg),
                            (gpointer)(uintptr_t)(i + 1));
    }
    sp->msgs = g_array_sized_new(FALSE, TRUE, sizeof(struct p3msg),
                                 uidl->len);
    for (guint i = 0; i < uidl->len; i++) {
        const struct pop3_uidl_entry *u =
            &g_array_index(uidl, struct pop3_uidl_entry, i);
        gpointer at = g_hash_table_lookup(sizes, GUINT_TO_POINTER(u->msg));
        struct p3msg m = {.num = u->msg};

        if (at != NULL)
            m.size = g_array_index(list, struct pop3_list_entry,
                                   (guint)(uintptr_t)at - 1)
                         .size;
        g_strlcpy(m.uid, u->uid, sizeof(m.uid));
        g_array_append_val(sp->msgs, m);
    }
    g_hash_table_destroy(sizes);
    g_array_unref(list);
    g_array_unref(uidl);
    g_array_sort(sp->msgs, p3msg_cmp);
    /* msgs no longer grows: its uid fields can be the keys */
    sp->by_uid = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < sp->msgs->len; i++) {
        struct p3msg *m = &g_array_index(sp->msgs, struct p3msg, i);

        /* a server repeating a UIDL breaks its own contract: the first
         * message keeps the name */
        if (!g_hash_table_contains(sp->by_uid, m->uid))
            g_hash_table_insert(sp->by_uid, m->uid,
                                GUINT_TO_POINTER(i + 1));
    }
    return 0;
}

struct store *
store_pop3_open(const struct store_login *login, struct err *err)
{
    static const enum pop3_auth auth_of[] = {
        [CFG_POP3_AUTH_AUTO] = POP3_AUTH_AUTO,
        [CFG_POP3_AUTH_PLAIN] = POP3_AUTH_PLAIN,
        [CFG_POP3_AUTH_APOP] = POP3_AUTH_APOP,
        [CFG_POP3_AUTH_USER] = POP3_AUTH_USER,
    };
    const struct cfg_server *srv = login->server;
    struct pop3_conn_opts opts = {
        .host = srv->host,
        .port = srv->port,
        .tls = srv->tls,
        .ca_file = srv->ca_file,
        .connect_timeout = login->connect_timeout,
        .io_timeout = login->io_timeout,
        .command_timeout = login->command_timeout,
        .allow_apop = srv->apop,
        .max_message = login->max_message,
        .auth = auth_of[srv->pop3_auth],
    };
    struct store_pop3 *sp;
    struct pop3_conn *conn;

    conn = pop3_conn_open(&opts, err);
    if (conn == NULL)
        return NULL;
    if (pop3_conn_login(conn, login->user, login->password, err) < 0) {
        pop3_conn_close(&conn);
        return NULL;
    }
    sp = g_new0(struct store_pop3, 1);
    sp->base.ops = &store_pop3_ops;
    sp->base.server = srv;
    sp->base.caps = STORE_CAP_SNAPSHOT;
    sp->base.idle_max = login->pop3_idle;
    sp->conn = conn;
    sp->max_message = login->max_message > 0 ? login->max_message
                                             : UINT64_MAX;
    sp->memo = login->memo != NULL ? store_memo_ref(login->memo)
                                   : store_memo_new();
    if (store_pop3_snapshot(sp, err) < 0) {
        store_pop3_close(&sp->base);
        return NULL;
    }
    return &sp->base;
}

static const struct store_ops store_pop3_ops = {
    .name = "pop3",
    .folder_list = store_pop3_folder_list,
    .folder_names = store_pop3_folder_names,
    .summary_page = store_pop3_summary_page,
    .message_get = store_pop3_message_get,
    .messages_transfer = store_pop3_messages_transfer,
    .folder_change = store_pop3_folder_change,
    .append = store_pop3_append,
    .flags_change = store_pop3_flags_change,
    .stream_open = store_pop3_stream_open,
    .stream_read = store_pop3_stream_read,
    .stream_close = store_pop3_stream_close,
    .stream_paced = store_pop3_stream_paced,
    .neighbours = store_pop3_neighbours,
    .ping = store_pop3_ping,
    .close = store_pop3_close,
};
