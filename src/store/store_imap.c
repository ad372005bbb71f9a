/* store_imap.c - the store interface over IMAP: folders with roles and
 * counts, pages of summaries with a per-connection cache keyed by
 * UIDVALIDITY and HIGHESTMODSEQ (or UIDNEXT/EXISTS). Layer: store.
 * Trust: everything the server sends is UNTRUSTED and checked. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <gmime/gmime.h>

#include "core/limits.h"
#include "imap/imap_caps.h"
#include "imap/imap_conn.h"
#include "imap/imap_utf7.h"
#include "mime/mime_decode.h"
#include "net/net_guard.h"
#include "store/msg_memo.h"
#include "store/store_imap.h"

struct csum {                   /* a cached summary; strings owned */
    uint32_t uid;
    char *subject, *from_name, *from_email;
    int64_t date;
    uint64_t size;
    bool seen, flagged, answered, has_attachments;
    bool complete;              /* every field came */
};

struct fcache {
    char *folder;
    uint32_t uidvalidity, uidnext, exists;
    uint64_t modseq;
    GHashTable *msgs;           /* uid -> struct csum */
    bool has_order;
    enum store_sort sort;
    char *search;
    GArray *order;              /* uint32_t uids in display order */
    unsigned order_gen;         /* names this order (ilist_keep) */
    bool stamped;               /* serial, changes: the selection's state */
    unsigned serial, changes;   /* when the last page was served */
};

struct store_imap {
    struct store base;
    struct imap_conn *conn;
    char *ns_prefix;            /* personal namespace prefix, UTF-8 */
    char ns_delim;
    GHashTable *cache;          /* folder (UTF-8) -> struct fcache */
    GPtrArray *names;           /* selectable folder paths, or NULL */
    unsigned names_gen;         /* the folders_gen they were listed at */
    struct msg_memo *memo;      /* the message read last */
    struct store_memo *session; /* the session's: struct ishared */
};

/* What the session's connections share (a page may come over either):
 * the list the session was shown last, which Previous and Next on the
 * message page follow, and which folder list is current. */
struct ishared {
    char *folder;
    unsigned gen;               /* the fcache order it copies */
    GArray *order;              /* uint32_t uids */
    unsigned folders_gen;       /* bumped by every change of the folders:
                                 * another connection's names are stale */
};

/* Each new sort order gets its own number, across connections. */
static volatile gint order_gens;

static void *
ishared_new(void)
{
    struct ishared *l = g_new0(struct ishared, 1);

    l->order = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    return l;
}

static void
ishared_free(void *p)
{
    struct ishared *l = p;

    g_free(l->folder);
    g_array_free(l->order, TRUE);
    g_free(l);
}

/* The page just served is the session's list now (a copy only when its
 * order is not the one kept already: a cached page costs a comparison). */
static void
ilist_keep(struct store_imap *si, const struct fcache *fc)
{
    struct ishared *l = store_memo_lock(si->session, ishared_new,
                                        ishared_free);

    if (l->gen != fc->order_gen || l->folder == NULL ||
        strcmp(l->folder, fc->folder) != 0) {
        g_free(l->folder);
        l->folder = g_strdup(fc->folder);
        l->gen = fc->order_gen;
        g_array_set_size(l->order, fc->order->len);
        if (fc->order->len > 0)
            memcpy(l->order->data, fc->order->data,
                   fc->order->len * sizeof(uint32_t));
    }
    store_memo_unlock(si->session);
}

/* Our own move or delete: the messages leave the session's list at once,
 * so Previous and Next skip them (the next page sorts afresh anyway: the
 * server reports the change). */
static void
ilist_forget(struct store_imap *si, const char *folder, const uint32_t *uids,
             size_t n)
{
    struct ishared *l = store_memo_lock(si->session, ishared_new,
                                        ishared_free);

    if (l->folder != NULL && strcmp(l->folder, folder) == 0) {
        GHashTable *gone = g_hash_table_new(g_direct_hash, g_direct_equal);
        guint kept = 0;

        for (size_t i = 0; i < n; i++)
            g_hash_table_add(gone, GUINT_TO_POINTER(uids[i]));
        for (guint i = 0; i < l->order->len; i++) {
            uint32_t uid = g_array_index(l->order, uint32_t, i);

            if (!g_hash_table_contains(gone, GUINT_TO_POINTER(uid)))
                g_array_index(l->order, uint32_t, kept++) = uid;
        }
        g_array_set_size(l->order, kept);
        g_hash_table_destroy(gone);
    }
    store_memo_unlock(si->session);
}

/* The session's folder list generation; bumped (by 1) when bump. */
static unsigned
folders_gen(struct store_imap *si, bool bump)
{
    struct ishared *sh = store_memo_lock(si->session, ishared_new,
                                         ishared_free);
    unsigned gen = bump ? ++sh->folders_gen : sh->folders_gen;

    store_memo_unlock(si->session);
    return gen;
}

static const struct store_ops store_imap_ops;

/* ---- small helpers ---- */

static void
csum_free(gpointer p)
{
    struct csum *s = p;

    g_free(s->subject);
    g_free(s->from_name);
    g_free(s->from_email);
    g_free(s);
}

static void
fcache_free(gpointer p)
{
    struct fcache *fc = p;

    g_hash_table_destroy(fc->msgs);
    if (fc->order != NULL)
        g_array_free(fc->order, TRUE);
    g_free(fc->search);
    g_free(fc->folder);
    g_free(fc);
}

static struct fcache *
fcache_new(const char *folder)
{
    struct fcache *fc = g_new0(struct fcache, 1);

    fc->folder = g_strdup(folder);
    fc->msgs = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                     csum_free);
    return fc;
}

static void
store_imap_mime_init(void)
{
    static gsize once;

    if (g_once_init_enter(&once)) {
        g_mime_init();
        g_once_init_leave(&once, 1);
    }
}

/* Mailbox names from the server: modified UTF-7 unless UTF8=ACCEPT. */
static char *
store_imap_decode_name(struct store_imap *si, const char *wire,
                       struct err *err)
{
    if (imap_conn_utf8(si->conn)) {
        if (!g_utf8_validate(wire, -1, NULL)) {
            err_set(err, ERR_PROTO, "mailbox name is not UTF-8");
            return NULL;
        }
        return g_strdup(wire);
    }
    return imap_utf7_decode(wire, err);
}

static int64_t
parse_date(const char *header_date, const char *internal_date)
{
    GDateTime *dt = NULL;
    int64_t t = 0;

    if (header_date != NULL && *header_date != '\0')
        dt = g_mime_utils_header_decode_date(header_date);
    if (dt == NULL && internal_date != NULL) {
        /* "17-Jul-1996 02:44:25 -0700": GMime reads it with spaces */
        char *s = g_strdup(internal_date);

        for (char *p = s; *p != '\0' && *p != ' '; p++) {
            if (*p == '-')
                *p = ' ';
        }
        dt = g_mime_utils_header_decode_date(s);
        g_free(s);
    }
    if (dt != NULL) {
        t = g_date_time_to_unix(dt);
        g_date_time_unref(dt);
    }
    return t;
}

/* ---- BODYSTRUCTURE: does the message carry attachments? ---- */

static bool
bs_disposition_is_attachment(const struct imap_arg *disp)
{
    return disp != NULL && disp->type == IMAP_ARG_LIST && disp->n >= 1 &&
           disp->list[0].type == IMAP_ARG_STRING &&
           g_ascii_strcasecmp(disp->list[0].str, "attachment") == 0;
}

static bool
bs_params_have_name(const struct imap_arg *params)
{
    if (params == NULL || params->type != IMAP_ARG_LIST)
        return false;
    for (size_t i = 0; i + 1 < params->n; i += 2) {
        const char *k = imap_arg_nstring(&params->list[i]);

        if (k != NULL && (g_ascii_strcasecmp(k, "name") == 0 ||
                          g_ascii_strcasecmp(k, "filename") == 0))
            return true;
    }
    return false;
}

/* Walks without recursion deeper than the parser allowed (its depth cap
 * bounds ours). in_related: parts after the first of multipart/related are
 * inline resources, not attachments. */
static bool
bs_has_attachment(const struct imap_arg *b, bool in_related, bool first)
{
    size_t nchild = 0;

    if (b == NULL || b->type != IMAP_ARG_LIST || b->n == 0)
        return false;
    while (nchild < b->n && b->list[nchild].type == IMAP_ARG_LIST)
        nchild++;
    if (nchild > 0) { /* multipart: children, subtype, ext... */
        const char *sub = nchild < b->n ? imap_arg_nstring(&b->list[nchild])
                                        : NULL;
        bool related = sub != NULL && g_ascii_strcasecmp(sub, "related") == 0;

        for (size_t i = 0; i < nchild; i++) {
            if (bs_has_attachment(&b->list[i], related, i == 0))
                return true;
        }
        return false;
    } else {
        const char *type = imap_arg_nstring(&b->list[0]);
        const char *sub = b->n > 1 ? imap_arg_nstring(&b->list[1]) : NULL;
        size_t ext = 7; /* type subtype params id desc enc size */
        const struct imap_arg *disp = NULL;

        if (type == NULL || sub == NULL)
            return false;
        if (g_ascii_strcasecmp(type, "text") == 0)
            ext = 8; /* + lines */
        else if (g_ascii_strcasecmp(type, "message") == 0 &&
                 (g_ascii_strcasecmp(sub, "rfc822") == 0 ||
                  g_ascii_strcasecmp(sub, "global") == 0))
            return true; /* a forwarded message counts */
        if (b->n > ext + 1)
            disp = &b->list[ext + 1]; /* after md5 */
        if (bs_disposition_is_attachment(disp))
            return true;
        if (in_related && !first)
            return false;
        if (g_ascii_strcasecmp(type, "text") == 0 &&
            (g_ascii_strcasecmp(sub, "plain") == 0 ||
             g_ascii_strcasecmp(sub, "html") == 0))
            return false;
        return bs_params_have_name(b->n > 2 ? &b->list[2] : NULL) ||
               (g_ascii_strcasecmp(type, "application") == 0);
    }
}

/* ---- FETCH responses into the cache ---- */

struct fetch_ctx {
    struct store_imap *si;
    struct fcache *fc;
    bool flags_only;
};

static void
csum_set_flags(struct csum *s, const struct imap_arg *flags)
{
    s->seen = s->flagged = s->answered = false;
    for (size_t i = 0; i < flags->n; i++) {
        const struct imap_arg *f = &flags->list[i];

        if (imap_arg_is_atom(f, "\\SEEN"))
            s->seen = true;
        else if (imap_arg_is_atom(f, "\\FLAGGED"))
            s->flagged = true;
        else if (imap_arg_is_atom(f, "\\ANSWERED"))
            s->answered = true;
    }
}

static void
csum_set_envelope(struct csum *s, const struct imap_arg *env,
                  const char *internal_date)
{
    const struct imap_arg *from;

    if (env->type != IMAP_ARG_LIST || env->n < 10)
        return;
    g_free(s->subject);
    s->subject =
        mime_decode_header_text(imap_arg_nstring(&env->list[1]), false);
    s->date = parse_date(imap_arg_nstring(&env->list[0]), internal_date);
    from = &env->list[2];
    g_free(s->from_name);
    g_free(s->from_email);
    s->from_name = NULL;
    s->from_email = NULL;
    if (from->type == IMAP_ARG_LIST && from->n > 0 &&
        from->list[0].type == IMAP_ARG_LIST && from->list[0].n >= 4) {
        const struct imap_arg *a = from->list[0].list;
        const char *mbox = imap_arg_nstring(&a[2]);
        const char *host = imap_arg_nstring(&a[3]);

        s->from_name = mime_decode_header_text(imap_arg_nstring(&a[0]), true);
        if (mbox != NULL && host != NULL) {
            char *e = g_strdup_printf("%s@%s", mbox, host);

            s->from_email = g_utf8_make_valid(e, -1); /* a copy */
            g_free(e);
        } else if (mbox != NULL)
            s->from_email = g_utf8_make_valid(mbox, -1);
    }
    if (s->from_name == NULL)
        s->from_name = g_strdup("");
    if (s->from_email == NULL)
        s->from_email = g_strdup("");
}

static int
fetch_untagged(void *vctx, const struct imap_resp *r, struct err *err)
{
    struct fetch_ctx *ctx = vctx;
    const struct imap_arg *att, *uid_arg, *flags, *env, *bs, *size, *idate;
    uint64_t uid, sz;
    struct csum *s;

    if (r->name == NULL || strcmp(r->name, "FETCH") != 0 || r->n_args < 1 ||
        r->args[0].type != IMAP_ARG_LIST)
        return 0;
    att = &r->args[0];
    uid_arg = imap_arg_list_get(att, "UID");
    if (uid_arg == NULL || !imap_arg_number(uid_arg, &uid) || uid == 0 ||
        uid > UINT32_MAX) {
        /* an unsolicited flag change without UID: harmless, skip */
        return 0;
    }
    s = g_hash_table_lookup(ctx->fc->msgs, GUINT_TO_POINTER((guint)uid));
    if (s == NULL) {
        if (ctx->flags_only)
            return 0;
        if (g_hash_table_size(ctx->fc->msgs) >= LIM_IMAP_SUMMARY_CACHE)
            g_hash_table_remove_all(ctx->fc->msgs);
        s = g_new0(struct csum, 1);
        s->uid = (uint32_t)uid;
        g_hash_table_insert(ctx->fc->msgs, GUINT_TO_POINTER((guint)uid), s);
    }
    flags = imap_arg_list_get(att, "FLAGS");
    if (flags != NULL && flags->type == IMAP_ARG_LIST)
        csum_set_flags(s, flags);
    if (ctx->flags_only)
        return 0;
    idate = imap_arg_list_get(att, "INTERNALDATE");
    env = imap_arg_list_get(att, "ENVELOPE");
    bs = imap_arg_list_get(att, "BODYSTRUCTURE");
    size = imap_arg_list_get(att, "RFC822.SIZE");
    if (env != NULL)
        csum_set_envelope(s, env, imap_arg_nstring(idate));
    if (size != NULL && imap_arg_number(size, &sz))
        s->size = sz;
    if (bs != NULL)
        s->has_attachments = bs_has_attachment(bs, false, true);
    s->complete = env != NULL && bs != NULL && size != NULL &&
                  s->subject != NULL;
    (void)err;
    return 0;
}

/* UID FETCH of everything a summary shows, for uids not yet complete. */
static int
store_imap_fetch_summaries(struct store_imap *si, struct fcache *fc,
                           const uint32_t *uids, size_t n, struct err *err)
{
    GArray *missing = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    struct fetch_ctx ctx = {.si = si, .fc = fc};
    int rc = 0;

    for (size_t i = 0; i < n; i++) {
        struct csum *s = g_hash_table_lookup(fc->msgs,
                                             GUINT_TO_POINTER(uids[i]));

        if (s == NULL || !s->complete)
            g_array_append_val(missing, uids[i]);
    }
    /* in batches, so one command line stays far below the server's cap */
    for (size_t off = 0; off < missing->len && rc == 0; off += 500) {
        size_t cnt = MIN((size_t)500, missing->len - off);
        struct imap_cmd *cmd = imap_conn_cmd_new(si->conn, "UID FETCH");

        imap_cmd_add_seqset(cmd, &g_array_index(missing, uint32_t, off), cnt);
        imap_cmd_add_raw(cmd, "(UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE "
                              "BODYSTRUCTURE)");
        rc = imap_conn_run(si->conn, cmd, fetch_untagged, &ctx, err);
    }
    g_array_free(missing, TRUE);
    return rc;
}

/* ---- the order of a folder: SORT, ESEARCH/SEARCH, or client-side ---- */

struct search_ctx {
    GArray *uids;
    struct err *err;
};

/* "1:5,9,12:10" into uids, capped so a hostile range cannot eat memory. */
static int
uidset_parse(const char *s, GArray *uids, uint32_t limit, struct err *err)
{
    while (*s != '\0') {
        char *end;
        guint64 a = g_ascii_strtoull(s, &end, 10), b = a;

        if (end == s || a == 0 || a > UINT32_MAX)
            goto bad;
        s = end;
        if (*s == ':') {
            b = g_ascii_strtoull(s + 1, &end, 10);
            if (end == s + 1 || b == 0 || b > UINT32_MAX)
                goto bad;
            s = end;
        }
        if (a > b) {
            guint64 t = a;

            a = b;
            b = t;
        }
        if (b - a >= limit || uids->len + (b - a + 1) > limit) {
            err_set(err, ERR_LIMIT, "UID set larger than the folder");
            return -1;
        }
        for (guint64 u = a; u <= b; u++) {
            uint32_t v = (uint32_t)u;

            g_array_append_val(uids, v);
        }
        if (*s == ',')
            s++;
        else if (*s != '\0')
            goto bad;
    }
    return 0;
bad:
    err_set(err, ERR_PROTO, "malformed UID set in ESEARCH reply");
    return -1;
}

static int
search_untagged(void *vctx, const struct imap_resp *r, struct err *err)
{
    struct search_ctx *ctx = vctx;

    if (r->name == NULL)
        return 0;
    if (strcmp(r->name, "SORT") == 0 || strcmp(r->name, "SEARCH") == 0) {
        for (size_t i = 0; i < r->n_args; i++) {
            uint64_t v;

            if (!imap_arg_number(&r->args[i], &v) || v == 0 ||
                v > UINT32_MAX) {
                /* "(MODSEQ n)" after a CONDSTORE search: not a UID */
                if (r->args[i].type == IMAP_ARG_LIST)
                    continue;
                err_set(err, ERR_PROTO, "non-numeric UID in %s reply",
                        r->name);
                return -1;
            }
            if (ctx->uids->len >= LIM_IMAP_TOKENS) {
                err_set(err, ERR_LIMIT, "too many UIDs in %s reply",
                        r->name);
                return -1;
            }
            {
                uint32_t u = (uint32_t)v;

                g_array_append_val(ctx->uids, u);
            }
        }
        return 0;
    }
    if (strcmp(r->name, "ESEARCH") == 0) {
        /* ESEARCH (TAG "x") UID ALL set; MIN/MAX/COUNT are not asked */
        for (size_t i = 0; i + 1 < r->n_args; i++) {
            if (imap_arg_is_atom(&r->args[i], "ALL") &&
                r->args[i + 1].type == IMAP_ARG_ATOM)
                return uidset_parse(r->args[i + 1].str, ctx->uids,
                                    LIM_IMAP_TOKENS, err);
        }
    }
    return 0;
}

/* Adds the search criteria: everything, or q in from, to, subject, body. */
static int
add_criteria(struct imap_cmd *cmd, const char *q, struct err *err)
{
    static const char *const keys[] = {"FROM", "TO", "SUBJECT", "BODY"};

    if (q == NULL || *q == '\0') {
        imap_cmd_add_raw(cmd, "ALL");
        return 0;
    }
    imap_cmd_add_raw(cmd, "OR OR OR");
    for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
        imap_cmd_add_raw(cmd, keys[i]);
        if (imap_cmd_add_string(cmd, q, strlen(q), err) < 0)
            return -1;
    }
    return 0;
}

static const char *
sort_criteria(enum store_sort sort)
{
    switch (sort) {
    case STORE_SORT_DATE_DESC: return "(REVERSE DATE)";
    case STORE_SORT_DATE_ASC: return "(DATE)";
    case STORE_SORT_FROM_ASC: return "(FROM DATE)";
    case STORE_SORT_FROM_DESC: return "(REVERSE FROM REVERSE DATE)";
    case STORE_SORT_SUBJECT_ASC: return "(SUBJECT DATE)";
    case STORE_SORT_SUBJECT_DESC: return "(REVERSE SUBJECT REVERSE DATE)";
    case STORE_SORT_SIZE_ASC: return "(SIZE)";
    case STORE_SORT_SIZE_DESC: return "(REVERSE SIZE)";
    case STORE_SORT_COUNT_: break;
    }
    xassert_unreached();
}

/* Client-side comparison, used when the server has no SORT. */
struct csum_sort {
    enum store_sort sort;
    GHashTable *msgs;
};

static int
csum_cmp_field(const struct csum *a, const struct csum *b,
               enum store_sort sort)
{
    switch (sort) {
    case STORE_SORT_DATE_ASC:
    case STORE_SORT_DATE_DESC:
        return a->date < b->date ? -1 : a->date > b->date;
    case STORE_SORT_FROM_ASC:
    case STORE_SORT_FROM_DESC:
        return g_ascii_strcasecmp(a->from_email, b->from_email);
    case STORE_SORT_SUBJECT_ASC:
    case STORE_SORT_SUBJECT_DESC:
        return g_utf8_collate(a->subject, b->subject);
    case STORE_SORT_SIZE_ASC:
    case STORE_SORT_SIZE_DESC:
        return a->size < b->size ? -1 : a->size > b->size;
    case STORE_SORT_COUNT_:
        break;
    }
    xassert_unreached();
}

static gint
csum_cmp(gconstpointer pa, gconstpointer pb, gpointer data)
{
    const struct csum_sort *cs = data;
    uint32_t ua = *(const uint32_t *)pa, ub = *(const uint32_t *)pb;
    const struct csum *a = g_hash_table_lookup(cs->msgs,
                                               GUINT_TO_POINTER(ua));
    const struct csum *b = g_hash_table_lookup(cs->msgs,
                                               GUINT_TO_POINTER(ub));
    int c = 0;

    if (a != NULL && b != NULL)
        c = csum_cmp_field(a, b, cs->sort);
    if (c == 0 && a != NULL && b != NULL && cs->sort != STORE_SORT_DATE_ASC &&
        cs->sort != STORE_SORT_DATE_DESC)
        c = a->date < b->date ? -1 : a->date > b->date;
    if (c == 0)
        c = ua < ub ? -1 : ua > ub;
    return store_sort_is_desc(cs->sort) ? -c : c;
}

static int
store_imap_order(struct store_imap *si, struct fcache *fc,
                 const struct store_page_query *q, struct err *err)
{
    struct search_ctx ctx = {.uids = g_array_new(FALSE, FALSE,
                                                 sizeof(uint32_t))};
    bool server_sort = imap_conn_has_cap(si->conn, IMAP_CAP_SORT);
    struct imap_cmd *cmd;

    if (server_sort) {
        cmd = imap_conn_cmd_new(si->conn, "UID SORT");
        imap_cmd_add_raw(cmd, sort_criteria(q->sort));
        imap_cmd_add_raw(cmd, "UTF-8");
    } else {
        cmd = imap_conn_cmd_new(si->conn, "UID SEARCH");
        if (imap_conn_has_cap(si->conn, IMAP_CAP_ESEARCH))
            imap_cmd_add_raw(cmd, "RETURN (ALL)");
        if (q->search != NULL && *q->search != '\0' &&
            !imap_conn_utf8(si->conn))
            imap_cmd_add_raw(cmd, "CHARSET UTF-8");
    }
    if (add_criteria(cmd, q->search, err) < 0) {
        imap_cmd_free(&cmd);
        g_array_free(ctx.uids, TRUE);
        return -1;
    }
    if (imap_conn_run(si->conn, cmd, search_untagged, &ctx, err) < 0) {
        g_array_free(ctx.uids, TRUE);
        return -1;
    }
    if (!server_sort) {
        /* Sorting needs every summary; they land in the cache and make the
         * pages after this one free. */
        if (store_imap_fetch_summaries(si, fc, (uint32_t *)ctx.uids->data,
                                       ctx.uids->len, err) < 0) {
            g_array_free(ctx.uids, TRUE);
            return -1;
        }
        struct csum_sort cs = {.sort = q->sort, .msgs = fc->msgs};

        g_array_sort_with_data(ctx.uids, csum_cmp, &cs);
    }
    if (fc->order != NULL)
        g_array_free(fc->order, TRUE);
    fc->order = ctx.uids;
    fc->order_gen = (unsigned)g_atomic_int_add(&order_gens, 1) + 1;
    fc->sort = q->sort;
    g_free(fc->search);
    fc->search = g_strdup(q->search != NULL ? q->search : "");
    fc->has_order = true;
    return 0;
}

/* ---- one page of summaries ---- */

/* Brings the folder's cache in line with what SELECT said. Returns true
 * when nothing changed since the cache was filled. */
static bool
fcache_sync(struct store_imap *si, struct fcache *fc,
            const struct imap_selected *sel, struct err *err, int *rc_out)
{
    bool modseq = sel->highestmodseq != 0;
    bool same;

    *rc_out = 0;
    if (fc->uidvalidity != sel->uidvalidity) {
        /* new UIDVALIDITY: every UID we know means nothing now */
        g_hash_table_remove_all(fc->msgs);
        fc->has_order = false;
    }
    same = fc->uidvalidity == sel->uidvalidity &&
           (modseq ? fc->modseq == sel->highestmodseq
                   : fc->uidnext == sel->uidnext &&
                         fc->exists == sel->exists);
    if (!same && modseq && fc->modseq != 0 &&
        fc->uidvalidity == sel->uidvalidity &&
        g_hash_table_size(fc->msgs) > 0) {
        /* RFC 7162: only the flags that changed since our MODSEQ */
        struct fetch_ctx ctx = {.si = si, .fc = fc, .flags_only = true};
        struct imap_cmd *cmd = imap_conn_cmd_new(si->conn, "UID FETCH");
        char buf[64];

        imap_cmd_add_raw(cmd, "1:* (UID FLAGS)");
        g_snprintf(buf, sizeof(buf), "(CHANGEDSINCE %" G_GUINT64_FORMAT ")",
                   fc->modseq);
        imap_cmd_add_raw(cmd, buf);
        *rc_out = imap_conn_run(si->conn, cmd, fetch_untagged, &ctx, err);
    } else if (!same) {
        /* without CONDSTORE flags may have changed anywhere */
        g_hash_table_remove_all(fc->msgs);
    }
    if (!same)
        fc->has_order = false;
    fc->uidvalidity = sel->uidvalidity;
    fc->uidnext = sel->uidnext;
    fc->exists = sel->exists;
    fc->modseq = sel->highestmodseq;
    return same;
}

/* True when the folder is still selected, nothing was seen changing since
 * the last page (fc's stamp), and a NOOP, which makes the server report
 * every change, reports none: no SELECT needed. Only with CONDSTORE, where
 * every untagged FETCH carries MODSEQ. *rc_out is -1 when the NOOP
 * failed. */
static bool
fcache_unchanged(struct store_imap *si, struct fcache *fc,
                 struct err *err, int *rc_out)
{
    const struct imap_selected *sel = imap_conn_selected(si->conn);

    *rc_out = 0;
    if (!fc->stamped || sel->mailbox == NULL || sel->readonly ||
        strcmp(sel->mailbox, fc->folder) != 0 || sel->highestmodseq == 0 ||
        sel->serial != fc->serial || sel->changes != fc->changes ||
        sel->modseq_seen > fc->modseq)
        return false;
    *rc_out = imap_conn_run(si->conn, imap_conn_cmd_new(si->conn, "NOOP"),
                            NULL, NULL, err);
    return *rc_out == 0 && sel->changes == fc->changes &&
           sel->modseq_seen <= fc->modseq;
}

static int
store_imap_summary_page(struct store *st, const struct store_page_query *q,
                        struct arena *a, struct store_page *out,
                        struct err *err)
{
    struct store_imap *si = (struct store_imap *)st;
    struct fcache *fc;
    const struct imap_selected *sel;
    size_t first, count;
    unsigned pages;
    int rc = 0;

    fc = g_hash_table_lookup(si->cache, q->folder);
    if (fc == NULL || !fcache_unchanged(si, fc, err, &rc)) {
        if (rc < 0)
            return -1;
        if (imap_conn_select(si->conn, q->folder, false, err) < 0) {
            if (err->kind == ERR_REFUSED) {
                err_clear(err);
                err_set(err, ERR_NOT_FOUND, "no folder %s", q->folder);
            }
            return -1;
        }
        sel = imap_conn_selected(si->conn);
        if (fc == NULL) {
            fc = fcache_new(q->folder);
            g_hash_table_insert(si->cache, fc->folder, fc);
        }
        (void)fcache_sync(si, fc, sel, err, &rc);
        if (rc < 0)
            return -1;
    }
    if (!fc->has_order || fc->sort != q->sort ||
        strcmp(fc->search, q->search != NULL ? q->search : "") != 0) {
        if (store_imap_order(si, fc, q, err) < 0)
            return -1;
    }
    ilist_keep(si, fc);

    out->folder = arena_strdup(a, q->folder);
    out->sort = q->sort;
    out->total = fc->order->len;
    pages = (out->total + q->per_page - 1) / q->per_page;
    out->pages = pages > 0 ? pages : 1;
    out->page = q->page > out->pages ? out->pages : q->page;
    if (out->page == 0)
        out->page = 1;
    first = (size_t)(out->page - 1) * q->per_page;
    count = first < fc->order->len ? MIN((size_t)q->per_page,
                                         fc->order->len - first)
                                   : 0;
    if (store_imap_fetch_summaries(
            si, fc, &g_array_index(fc->order, uint32_t, first), count,
            err) < 0)
        return -1;

    out->items = arena_alloc(a, (count > 0 ? count : 1) *
                                    sizeof(*out->items));
    out->n = 0;
    for (size_t i = 0; i < count; i++) {
        uint32_t uid = g_array_index(fc->order, uint32_t, first + i);
        const struct csum *s = g_hash_table_lookup(fc->msgs,
                                                   GUINT_TO_POINTER(uid));
        struct store_summary *d = &out->items[out->n];

        if (s == NULL)
            continue; /* expunged between SORT and FETCH */
        d->id = arena_printf(a, "%" PRIu32, uid);
        d->subject = arena_strdup(a, s->subject != NULL ? s->subject : "");
        d->from.name = arena_strdup(a, s->from_name != NULL ? s->from_name
                                                            : "");
        d->from.email = arena_strdup(a, s->from_email != NULL ? s->from_email
                                                              : "");
        d->date = s->date;
        d->size = s->size;
        d->seen = s->seen;
        d->flagged = s->flagged;
        d->answered = s->answered;
        d->has_attachments = s->has_attachments;
        out->n++;
    }
    sel = imap_conn_selected(si->conn);
    fc->stamped = true;
    fc->serial = sel->serial;
    fc->changes = sel->changes;
    return 0;
}

/* ---- folders ---- */

struct list_ctx {
    struct store_imap *si;
    GPtrArray *folders;         /* struct store_folder *, g_malloc'd */
    GHashTable *by_wire;        /* wire name -> struct store_folder */
    bool subscribed_pass;       /* LSUB replies */
    bool any_special_use;
};

static void
folder_free(gpointer p)
{
    struct store_folder *f = p;

    g_free((char *)f->path);
    g_free(f);
}

static enum store_role
role_from_attr(const struct imap_arg *attr)
{
    static const struct {
        const char *attr;
        enum store_role role;
    } map[] = {
        {"\\SENT", STORE_ROLE_SENT},   {"\\DRAFTS", STORE_ROLE_DRAFTS},
        {"\\TRASH", STORE_ROLE_TRASH}, {"\\JUNK", STORE_ROLE_JUNK},
        {"\\ARCHIVE", STORE_ROLE_ARCHIVE},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(map); i++) {
        if (imap_arg_is_atom(attr, map[i].attr))
            return map[i].role;
    }
    return STORE_ROLE_NONE;
}

/* Servers without SPECIAL-USE: the names people and clients use. */
static enum store_role
role_from_name(const char *leaf)
{
    static const struct {
        const char *name;
        enum store_role role;
    } map[] = {
        {"Sent", STORE_ROLE_SENT},          {"Sent Items", STORE_ROLE_SENT},
        {"Sent Messages", STORE_ROLE_SENT}, {"Sent Mail", STORE_ROLE_SENT},
        {"Drafts", STORE_ROLE_DRAFTS},      {"Draft", STORE_ROLE_DRAFTS},
        {"Trash", STORE_ROLE_TRASH},        {"Deleted", STORE_ROLE_TRASH},
        {"Deleted Items", STORE_ROLE_TRASH},
        {"Deleted Messages", STORE_ROLE_TRASH},
        {"Junk", STORE_ROLE_JUNK},          {"Spam", STORE_ROLE_JUNK},
        {"Junk E-mail", STORE_ROLE_JUNK},   {"Archive", STORE_ROLE_ARCHIVE},
        {"Archives", STORE_ROLE_ARCHIVE},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(map); i++) {
        if (g_ascii_strcasecmp(leaf, map[i].name) == 0)
            return map[i].role;
    }
    return STORE_ROLE_NONE;
}

static void
status_apply(struct store_folder *f, const struct imap_arg *items)
{
    uint64_t v;

    for (size_t i = 0; i + 1 < items->n; i += 2) {
        if (!imap_arg_number(&items->list[i + 1], &v) || v > UINT32_MAX)
            continue;
        if (imap_arg_is_atom(&items->list[i], "MESSAGES")) {
            f->total = (uint32_t)v;
            f->has_counts = true;
        } else if (imap_arg_is_atom(&items->list[i], "UNSEEN")) {
            f->unread = (uint32_t)v;
        }
    }
}

static int
list_untagged(void *vctx, const struct imap_resp *r, struct err *err)
{
    struct list_ctx *ctx = vctx;
    const struct imap_arg *attrs, *delim, *name;
    const char *wire;
    struct store_folder *f;
    char *path;

    if (r->name == NULL)
        return 0;
    if (strcmp(r->name, "STATUS") == 0 && r->n_args >= 2) {
        wire = imap_arg_nstring(&r->args[0]);
        if (wire == NULL && r->args[0].type == IMAP_ARG_ATOM)
            wire = r->args[0].str;
        f = wire != NULL ? g_hash_table_lookup(ctx->by_wire, wire) : NULL;
        if (f != NULL && r->args[1].type == IMAP_ARG_LIST)
            status_apply(f, &r->args[1]);
        return 0;
    }
    if ((strcmp(r->name, "LIST") != 0 && strcmp(r->name, "LSUB") != 0) ||
        r->n_args < 3 || r->args[0].type != IMAP_ARG_LIST)
        return 0;
    attrs = &r->args[0];
    delim = &r->args[1];
    name = &r->args[2];
    wire = name->type == IMAP_ARG_ATOM ? name->str : imap_arg_nstring(name);
    if (wire == NULL) {
        err_set(err, ERR_PROTO, "LIST reply without a mailbox name");
        return -1;
    }
    f = g_hash_table_lookup(ctx->by_wire, wire);
    if (strcmp(r->name, "LSUB") == 0) {
        if (f != NULL)
            f->subscribed = true;
        return 0;
    }
    if (f != NULL)
        return 0; /* listed twice */
    if (ctx->folders->len >= LIM_IMAP_FOLDERS) {
        err_set(err, ERR_LIMIT, "more than %u folders", LIM_IMAP_FOLDERS);
        return -1;
    }
    {
        struct err derr = {0};

        /* A name that does not decode (non-canonical modified UTF-7, 8-bit
         * without UTF8=ACCEPT) cannot be sent back reliably: leave that one
         * folder out rather than fail the whole list. */
        path = store_imap_decode_name(ctx->si, wire, &derr);
        if (path == NULL)
            return 0;
    }
    f = g_new0(struct store_folder, 1);
    f->path = path;
    f->selectable = true;
    {
        const char *d = imap_arg_nstring(delim);

        f->delimiter = d != NULL && d[0] != '\0' ? d[0] : '\0';
    }
    for (size_t i = 0; i < attrs->n; i++) {
        const struct imap_arg *at = &attrs->list[i];
        enum store_role role = role_from_attr(at);

        if (role != STORE_ROLE_NONE) {
            f->role = role;
            ctx->any_special_use = true;
        }
        if (imap_arg_is_atom(at, "\\NOSELECT") ||
            imap_arg_is_atom(at, "\\NONEXISTENT"))
            f->selectable = false;
        if (imap_arg_is_atom(at, "\\SUBSCRIBED"))
            f->subscribed = true;
    }
    if (g_ascii_strcasecmp(path, "INBOX") == 0)
        f->role = STORE_ROLE_INBOX;
    /* extended data: ("CHILDINFO" ...) etc. ignored */
    g_ptr_array_add(ctx->folders, f);
    g_hash_table_insert(ctx->by_wire, g_strdup(wire), f);
    return 0;
}

static int
folder_order(gconstpointer pa, gconstpointer pb)
{
    const struct store_folder *a = *(struct store_folder *const *)pa;
    const struct store_folder *b = *(struct store_folder *const *)pb;
    const char *x = a->path, *y = b->path;

    if (a->role == STORE_ROLE_INBOX || b->role == STORE_ROLE_INBOX)
        return (b->role == STORE_ROLE_INBOX) - (a->role == STORE_ROLE_INBOX);
    /* a parent sorts right before its children: the delimiter counts as
     * the smallest character */
    while (*x != '\0' && *x == *y)
        x++, y++;
    if (*x == a->delimiter && *x != '\0')
        return *y == '\0' ? 1 : -1;
    if (*y == b->delimiter && *y != '\0')
        return *x == '\0' ? -1 : 1;
    return (unsigned char)*x - (unsigned char)*y;
}

/* LIST, with the message counts when with_counts: a STATUS of every folder
 * costs the server a look into each (9 ms for a fresh session with a
 * 10,000-message INBOX), which the names alone do not need. */
static int
store_imap_list(struct store_imap *si, struct arena *a, bool with_counts,
                struct store_folder_list *out, struct err *err)
{
    struct list_ctx ctx = {
        .si = si,
        .folders = g_ptr_array_new_with_free_func(folder_free),
        .by_wire = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                         NULL),
    };
    bool ext = imap_conn_has_cap(si->conn, IMAP_CAP_LIST_EXTENDED);
    bool lstatus = imap_conn_has_cap(si->conn, IMAP_CAP_LIST_STATUS);
    /* read before the LIST: a change made meanwhile leaves them stale */
    unsigned gen = folders_gen(si, false);
    struct imap_cmd *cmd;
    int rc = -1;

    /* RFC 9051 6.3.11: STATUS of the selected folder may be stale (Dovecot
     * answers from the view it last synced, so new mail did not count
     * there); a NOOP brings that view up to date first. */
    if (with_counts && imap_conn_selected(si->conn)->mailbox != NULL &&
        imap_conn_run(si->conn, imap_conn_cmd_new(si->conn, "NOOP"), NULL,
                      NULL, err) < 0)
        goto out;
    cmd = imap_conn_cmd_new(si->conn, "LIST");
    imap_cmd_add_raw(cmd, "\"\" \"*\"");
    if (ext) {
        GString *ret = g_string_new("RETURN (SUBSCRIBED");

        if (imap_conn_has_cap(si->conn, IMAP_CAP_SPECIAL_USE))
            g_string_append(ret, " SPECIAL-USE");
        if (lstatus && with_counts)
            g_string_append(ret, " STATUS (MESSAGES UNSEEN)");
        g_string_append_c(ret, ')');
        imap_cmd_add_raw(cmd, ret->str);
        g_string_free(ret, TRUE);
    }
    if (imap_conn_run(si->conn, cmd, list_untagged, &ctx, err) < 0)
        goto out;
    if (!ext) {
        cmd = imap_conn_cmd_new(si->conn, "LSUB");
        imap_cmd_add_raw(cmd, "\"\" \"*\"");
        if (imap_conn_run(si->conn, cmd, list_untagged, &ctx, err) < 0)
            goto out;
    }
    if (!lstatus && with_counts) {
        /* one STATUS per folder, each a round trip on old servers */
        for (guint i = 0; i < ctx.folders->len; i++) {
            struct store_folder *f = g_ptr_array_index(ctx.folders, i);
            struct err serr = {0};

            if (!f->selectable)
                continue;
            cmd = imap_conn_cmd_new(si->conn, "STATUS");
            if (imap_cmd_add_mailbox(cmd, f->path, &serr) < 0) {
                imap_cmd_free(&cmd);
                continue;
            }
            imap_cmd_add_raw(cmd, "(MESSAGES UNSEEN)");
            if (imap_conn_run(si->conn, cmd, list_untagged, &ctx, &serr) < 0 &&
                serr.kind != ERR_REFUSED) {
                *err = serr; /* the connection failed, not the folder */
                goto out;
            }
        }
    }

    g_ptr_array_sort(ctx.folders, folder_order);
    if (si->names != NULL)
        g_ptr_array_free(si->names, TRUE);
    si->names = g_ptr_array_new_with_free_func(g_free);
    si->names_gen = gen;
    for (guint i = 0; i < ctx.folders->len; i++) {
        const struct store_folder *f = g_ptr_array_index(ctx.folders, i);

        if (f->selectable)
            g_ptr_array_add(si->names, g_strdup(f->path));
    }
    out->n = ctx.folders->len;
    out->items = arena_alloc(a, (out->n > 0 ? out->n : 1) *
                                    sizeof(*out->items));
    for (guint i = 0; i < ctx.folders->len; i++) {
        struct store_folder *f = g_ptr_array_index(ctx.folders, i);
        struct store_folder *d = &out->items[i];
        *d = *f;
        d->path = arena_strdup(a, f->path);
        d->name = d->path;
        if (f->delimiter != '\0') {
            const char *p = strrchr(d->path, f->delimiter);

            if (p != NULL)
                d->name = p + 1;
            for (const char *q = d->path; *q != '\0'; q++)
                d->depth += *q == f->delimiter;
        }
        /* the personal namespace prefix ("INBOX.") is not part of the
         * folder's level for display */
        if (si->ns_prefix != NULL && *si->ns_prefix != '\0' &&
            g_str_has_prefix(d->path, si->ns_prefix) && d->depth > 0)
            d->depth--;
        if (d->role == STORE_ROLE_NONE && !ctx.any_special_use &&
            (d->depth == 0))
            d->role = role_from_name(d->name);
    }
    rc = 0;
out:
    g_hash_table_destroy(ctx.by_wire);
    g_ptr_array_free(ctx.folders, TRUE);
    return rc;
}

static int
store_imap_folder_list(struct store *st, struct arena *a,
                       struct store_folder_list *out, struct err *err)
{
    return store_imap_list((struct store_imap *)st, a, true, out, err);
}

/* ---- one message: envelope, structure, parts ---- */

static struct mime_address *
env_addresses(struct arena *a, const struct imap_arg *list, size_t *n_out)
{
    struct mime_address *out;
    size_t n = 0;

    *n_out = 0;
    if (list == NULL || list->type != IMAP_ARG_LIST)
        return NULL;
    out = arena_alloc(a, (list->n > 0 ? list->n : 1) * sizeof(*out));
    for (size_t i = 0; i < list->n; i++) {
        const struct imap_arg *ad = &list->list[i];
        const char *mbox, *host;
        char *name;

        if (ad->type != IMAP_ARG_LIST || ad->n < 4)
            continue;
        mbox = imap_arg_nstring(&ad->list[2]);
        host = imap_arg_nstring(&ad->list[3]);
        if (host == NULL)
            continue; /* RFC 3501 group syntax markers */
        name = mime_decode_header_text(imap_arg_nstring(&ad->list[0]), true);
        out[n].name = arena_strdup(a, name);
        g_free(name);
        {
            char *e = g_strdup_printf("%s@%s", mbox != NULL ? mbox : "", host);
            char *v = g_utf8_make_valid(e, -1);

            out[n].email = arena_strdup(a, v);
            g_free(v);
            g_free(e);
        }
        n++;
    }
    *n_out = n;
    return out;
}

/* ENVELOPE (RFC 3501 §7.4.2): date subject from sender reply-to to cc bcc
 * in-reply-to message-id. */
static void
envelope_fill(struct arena *a, const struct imap_arg *env,
              const char *internal_date, struct mime_envelope *out)
{
    char *subject;
    const char *s;

    memset(out, 0, sizeof(*out));
    out->subject = "";
    if (env == NULL || env->type != IMAP_ARG_LIST || env->n < 10) {
        out->date = parse_date(NULL, internal_date);
        return;
    }
    subject = mime_decode_header_text(imap_arg_nstring(&env->list[1]), false);
    out->subject = arena_strdup(a, subject);
    g_free(subject);
    out->date = parse_date(imap_arg_nstring(&env->list[0]), internal_date);
    out->from = env_addresses(a, &env->list[2], &out->n_from);
    out->reply_to = env_addresses(a, &env->list[4], &out->n_reply_to);
    out->to = env_addresses(a, &env->list[5], &out->n_to);
    out->cc = env_addresses(a, &env->list[6], &out->n_cc);
    s = imap_arg_nstring(&env->list[8]);
    out->in_reply_to = s != NULL ? arena_strdup(a, s) : NULL;
    s = imap_arg_nstring(&env->list[9]);
    out->message_id = s != NULL ? arena_strdup(a, s) : NULL;
}

static const char *
lower_dup(struct arena *a, const char *s, const char *dflt)
{
    char *r;

    if (s == NULL)
        return dflt;
    r = arena_strdup(a, s);
    for (char *p = r; *p != '\0'; p++)
        *p = g_ascii_tolower(*p);
    return r;
}

/* "charset" etc. from a ("key" "value" ...) parameter list. */
static const char *
param_get(const struct imap_arg *params, const char *key)
{
    if (params == NULL || params->type != IMAP_ARG_LIST)
        return NULL;
    for (size_t i = 0; i + 1 < params->n; i += 2) {
        const char *k = imap_arg_nstring(&params->list[i]);

        if (k != NULL && g_ascii_strcasecmp(k, key) == 0)
            return imap_arg_nstring(&params->list[i + 1]);
    }
    return NULL;
}

static void
params_filename(struct arena *a, const struct imap_arg *params,
                struct mime_part *p)
{
    const char *keys[64], *values[64];
    size_t n = 0;
    char *name;

    if (params == NULL || params->type != IMAP_ARG_LIST)
        return;
    for (size_t i = 0; i + 1 < params->n && n < G_N_ELEMENTS(keys); i += 2) {
        keys[n] = imap_arg_nstring(&params->list[i]);
        values[n] = imap_arg_nstring(&params->list[i + 1]);
        if (keys[n] != NULL && values[n] != NULL)
            n++;
    }
    if (n == 0)
        return;
    name = mime_param_filename(keys, values, n);
    if (name != NULL) {
        p->filename = arena_strdup(a, name);
        g_free(name);
    }
}

struct bs_walk {
    struct arena *a;
    GArray *parts;              /* struct mime_part */
};

static bool
bs_is_multipart(const struct imap_arg *b)
{
    return b->type == IMAP_ARG_LIST && b->n > 0 &&
           b->list[0].type == IMAP_ARG_LIST;
}

/* The disposition list ("attachment" ("filename" "x")) at b->list[at]. */
static void
bs_disposition(struct bs_walk *w, const struct imap_arg *b, size_t at,
               struct mime_part *p)
{
    const struct imap_arg *disp;

    if (b->n <= at)
        return;
    disp = &b->list[at];
    if (disp->type != IMAP_ARG_LIST || disp->n < 1)
        return;
    p->disposition = lower_dup(w->a, imap_arg_nstring(&disp->list[0]), NULL);
    if (p->filename == NULL && disp->n >= 2)
        params_filename(w->a, &disp->list[1], p);
}

static int bs_walk_body(struct bs_walk *w, const struct imap_arg *b,
                        const char *num, int parent, unsigned depth,
                        struct err *err);

/* RFC 3501 §7.4.2 body-type-1part: type subtype params id desc enc size
 * [lines] [envelope body lines] md5 disposition language location. */
static int
bs_walk_leaf(struct bs_walk *w, const struct imap_arg *b, struct mime_part *p,
             struct err *err)
{
    const struct imap_arg *params = b->n > 2 ? &b->list[2] : NULL;
    const char *fmt, *delsp, *id;
    uint64_t size = 0;
    size_t idx;

    p->type = lower_dup(w->a, imap_arg_nstring(&b->list[0]), "text");
    p->subtype = lower_dup(w->a, b->n > 1 ? imap_arg_nstring(&b->list[1])
                                          : NULL,
                           "plain");
    p->charset = lower_dup(w->a, param_get(params, "charset"), NULL);
    fmt = param_get(params, "format");
    delsp = param_get(params, "delsp");
    p->flowed = fmt != NULL && g_ascii_strcasecmp(fmt, "flowed") == 0;
    p->delsp = delsp != NULL && g_ascii_strcasecmp(delsp, "yes") == 0;
    id = b->n > 3 ? imap_arg_nstring(&b->list[3]) : NULL;
    if (id != NULL) {
        size_t l = strlen(id);

        p->content_id = l >= 2 && id[0] == '<' && id[l - 1] == '>'
                            ? arena_strndup(w->a, id + 1, l - 2)
                            : arena_strdup(w->a, id);
    }
    p->encoding = lower_dup(w->a, b->n > 5 ? imap_arg_nstring(&b->list[5])
                                           : NULL,
                            "7bit");
    if (b->n > 6 && imap_arg_number(&b->list[6], &size))
        p->size = size;
    params_filename(w->a, params, p);

    if (strcmp(p->type, "message") == 0 && strcmp(p->subtype, "rfc822") == 0 &&
        b->n >= 10 && b->list[8].type == IMAP_ARG_LIST) {
        struct mime_envelope *env = arena_alloc(w->a, sizeof(*env));
        const struct imap_arg *inner = &b->list[8];
        const char *num;

        envelope_fill(w->a, &b->list[7], NULL, env);
        p->envelope = env;
        bs_disposition(w, b, 11, p);
        idx = w->parts->len;
        g_array_append_val(w->parts, *p);
        /* RFC 3501 §6.4.5: the embedded body's parts are N.1, N.2, ...;
         * a single-part body is N.1 */
        num = bs_is_multipart(inner) ? p->section
                                     : arena_printf(w->a, "%s.1", p->section);
        return bs_walk_body(w, inner, num, (int)idx, p->depth + 1, err);
    }
    bs_disposition(w, b, strcmp(p->type, "text") == 0 ? 9 : 8, p);
    g_array_append_val(w->parts, *p);
    return 0;
}

/* num: this part's section; for a multipart, the prefix of its children's
 * ("" at the top, so they are 1, 2, ...). */
static int
bs_walk_body(struct bs_walk *w, const struct imap_arg *b, const char *num,
             int parent, unsigned depth, struct err *err)
{
    struct mime_part p = {.section = num, .parent = parent, .depth = depth};
    size_t nchild = 0, idx;

    if (depth > LIM_MIME_DEPTH || w->parts->len >= LIM_MIME_PARTS) {
        err_set(err, ERR_LIMIT, "message structure too deep or too large");
        return -1;
    }
    if (b->type != IMAP_ARG_LIST || b->n < 1) {
        err_set(err, ERR_PROTO, "malformed BODYSTRUCTURE");
        return -1;
    }
    if (!bs_is_multipart(b))
        return bs_walk_leaf(w, b, &p, err);
    while (nchild < b->n && b->list[nchild].type == IMAP_ARG_LIST)
        nchild++;
    p.type = "multipart";
    p.subtype = lower_dup(w->a, nchild < b->n ? imap_arg_nstring(
                                                    &b->list[nchild])
                                              : NULL,
                          "mixed");
    p.encoding = "7bit";
    /* body-ext-mpart: params, then disposition */
    bs_disposition(w, b, nchild + 2, &p);
    idx = w->parts->len;
    g_array_append_val(w->parts, p);
    for (size_t i = 0; i < nchild; i++) {
        const char *cnum = *num == '\0'
                               ? arena_printf(w->a, "%zu", i + 1)
                               : arena_printf(w->a, "%s.%zu", num, i + 1);

        if (bs_walk_body(w, &b->list[i], cnum, (int)idx, depth + 1, err) < 0)
            return -1;
    }
    return 0;
}

int
store_imap_bodystructure_parts(struct arena *a, const struct imap_arg *bs,
                               struct mime_part **parts_out, size_t *n_out,
                               struct err *err)
{
    struct bs_walk w = {.a = a,
                        .parts = g_array_new(FALSE, TRUE,
                                             sizeof(struct mime_part))};
    int rc = bs_walk_body(&w, bs, bs_is_multipart(bs) ? "" : "1", -1, 0, err);

    *n_out = w.parts->len;
    *parts_out = arena_alloc(a, (*n_out > 0 ? *n_out : 1) *
                                    sizeof(**parts_out));
    if (*n_out > 0)
        memcpy(*parts_out, w.parts->data, *n_out * sizeof(**parts_out));
    g_array_free(w.parts, TRUE);
    return rc;
}

struct message_ctx {
    struct store_imap *si;
    struct arena *a;
    uint32_t uid;
    struct store_message *out;
    bool found;
    struct err *err;
};

static int
message_untagged(void *vctx, const struct imap_resp *r, struct err *err)
{
    struct message_ctx *ctx = vctx;
    const struct imap_arg *att, *v;
    uint64_t uid;
    struct store_message *m = ctx->out;

    if (r->name == NULL || strcmp(r->name, "FETCH") != 0 || r->n_args < 1 ||
        r->args[0].type != IMAP_ARG_LIST)
        return 0;
    att = &r->args[0];
    v = imap_arg_list_get(att, "UID");
    if (v == NULL || !imap_arg_number(v, &uid) || uid != ctx->uid)
        return 0;
    v = imap_arg_list_get(att, "BODYSTRUCTURE");
    if (v == NULL)
        return 0; /* a flag update of the same message, not our reply */
    ctx->found = true;
    envelope_fill(ctx->a, imap_arg_list_get(att, "ENVELOPE"),
                  imap_arg_nstring(imap_arg_list_get(att, "INTERNALDATE")),
                  &m->env);
    {
        struct csum flags = {0};
        const struct imap_arg *f = imap_arg_list_get(att, "FLAGS");

        if (f != NULL && f->type == IMAP_ARG_LIST) {
            csum_set_flags(&flags, f);
            for (size_t i = 0; i < f->n; i++)
                m->draft = m->draft || imap_arg_is_atom(&f->list[i],
                                                        "\\DRAFT");
        }
        m->seen = flags.seen;
        m->flagged = flags.flagged;
        m->answered = flags.answered;
    }
    {
        const struct imap_arg *sz = imap_arg_list_get(att, "RFC822.SIZE");
        uint64_t n;

        if (sz != NULL && imap_arg_number(sz, &n))
            m->size = n;
    }
    {
        int rc = store_imap_bodystructure_parts(ctx->a, v, &m->parts,
                                                &m->n_parts, err);

        if (rc < 0) {
            /* a structure we cannot read still shows its headers: say the
             * whole body is one plain part */
            static const struct mime_part whole = {
                .section = "1", .parent = -1, .type = "text",
                .subtype = "plain", .encoding = "8bit"};

            err_clear(err);
            m->parts = arena_alloc(ctx->a, sizeof(*m->parts));
            m->parts[0] = whole;
            m->n_parts = 1;
        }
    }
    for (size_t i = 0; i + 1 < att->n; i += 2) {
        const struct imap_arg *k = &att->list[i];

        if (imap_arg_is_atom(k, "BODY[HEADER]") &&
            att->list[i + 1].type == IMAP_ARG_STRING) {
            m->headers = arena_strndup(ctx->a, att->list[i + 1].str,
                                       att->list[i + 1].len);
            m->headers_len = att->list[i + 1].len;
        }
    }
    return 0;
}

static int
store_imap_select_for(struct store_imap *si, const char *folder,
                      struct err *err)
{
    const struct imap_selected *sel = imap_conn_selected(si->conn);

    /* already there (and read-write): no round trip */
    if (sel->mailbox != NULL && !sel->readonly &&
        strcmp(sel->mailbox, folder) == 0)
        return 0;
    if (imap_conn_select(si->conn, folder, false, err) < 0) {
        if (err->kind == ERR_REFUSED) {
            err_clear(err);
            err_set(err, ERR_NOT_FOUND, "no folder %s", folder);
        }
        return -1;
    }
    return 0;
}

/* Message ids are UIDs in decimal (RFC 9051 §2.3.1.1: 1 to 2^32-1). An
 * id of another shape is the browser's mistake: ERR_INPUT. A valid id is
 * its own canonical form (no sign, no leading zero): the memo's key. */
static int
store_imap_uid_of(const char *id, const char *folder, uint32_t *uid_out,
                  struct err *err)
{
    guint64 v;
    char *end;

    if (id == NULL || !g_ascii_isdigit(id[0]) || id[0] == '0' ||
        strlen(id) > 10)
        goto bad;
    v = g_ascii_strtoull(id, &end, 10);
    if (*end != '\0' || v > UINT32_MAX)
        goto bad;
    *uid_out = (uint32_t)v;
    return 0;
bad:
    err_set(err, ERR_INPUT, "\"%.70s\" is not a message UID (in %s)", id,
            folder);
    return -1;
}

/* The UIDs of ids, g_malloc'd (g_free it); NULL with ERR_INPUT when one
 * is not a UID. */
static uint32_t *
store_imap_uids_of(const char *const *ids, size_t n, const char *folder,
                   struct err *err)
{
    uint32_t *uids = g_new(uint32_t, n > 0 ? n : 1);

    for (size_t i = 0; i < n; i++) {
        if (store_imap_uid_of(ids[i], folder, &uids[i], err) < 0) {
            g_free(uids);
            return NULL;
        }
    }
    return uids;
}

static int
store_imap_message_get(struct store *st, const char *folder, const char *id,
                       bool with_headers, struct arena *a,
                       struct store_message *out, struct err *err)
{
    struct store_imap *si = (struct store_imap *)st;
    struct message_ctx ctx = {.si = si, .a = a, .out = out};
    struct imap_cmd *cmd;
    uint32_t uid;

    memset(out, 0, sizeof(*out));
    if (store_imap_uid_of(id, folder, &uid, err) < 0)
        return -1;
    ctx.uid = uid;
    out->folder = arena_strdup(a, folder);
    out->id = arena_printf(a, "%" PRIu32, uid);
    if (store_imap_select_for(si, folder, err) < 0)
        return -1;
    cmd = imap_conn_cmd_new(si->conn, "UID FETCH");
    imap_cmd_add_number(cmd, uid);
    imap_cmd_add_raw(cmd, with_headers
                              ? "(UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE "
                                "BODYSTRUCTURE BODY.PEEK[HEADER])"
                              : "(UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE "
                                "BODYSTRUCTURE)");
    if (imap_conn_run(si->conn, cmd, message_untagged, &ctx, err) < 0)
        return -1;
    if (!ctx.found) {
        err_set(err, ERR_NOT_FOUND, "no message %u in %s", uid, folder);
        return -1;
    }
    msg_memo_set_message(si->memo, folder,
                         imap_conn_selected(si->conn)->uidvalidity, out->id,
                         out);
    return 0;
}

static int
store_imap_message_structure(struct store *st, const char *folder,
                             const char *id, struct arena *a,
                             struct store_message *out, struct err *err)
{
    struct store_imap *si = (struct store_imap *)st;
    uint32_t uid;

    if (store_imap_uid_of(id, folder, &uid, err) < 0 ||
        store_imap_select_for(si, folder, err) < 0)
        return -1;
    if (msg_memo_get_message(si->memo, folder,
                             imap_conn_selected(si->conn)->uidvalidity, id,
                             a, out))
        return 0;
    return store_imap_message_get(st, folder, id, false, a, out, err);
}

static int
store_imap_flags_change_uids(struct store *st, const char *folder,
                             const uint32_t *uids, size_t n, unsigned flags,
                             bool add, struct err *err)
{
    struct store_imap *si = (struct store_imap *)st;
    struct fetch_ctx ctx = {.si = si, .flags_only = true};
    GString *list = g_string_new(add ? "+FLAGS.SILENT (" : "-FLAGS.SILENT (");
    struct imap_cmd *cmd;
    struct fcache *fc;

    if (n == 0)
        return 0;
    if (store_imap_select_for(si, folder, err) < 0) {
        g_string_free(list, TRUE);
        return -1;
    }
    if (flags & STORE_FLAG_SEEN)
        g_string_append(list, "\\Seen ");
    if (flags & STORE_FLAG_FLAGGED)
        g_string_append(list, "\\Flagged ");
    if (flags & STORE_FLAG_ANSWERED)
        g_string_append(list, "\\Answered ");
    if (flags & STORE_FLAG_DELETED)
        g_string_append(list, "\\Deleted ");
    if (list->str[list->len - 1] == ' ')
        g_string_truncate(list, list->len - 1);
    g_string_append_c(list, ')');
    cmd = imap_conn_cmd_new(si->conn, "UID STORE");
    imap_cmd_add_seqset(cmd, uids, n);
    imap_cmd_add_raw(cmd, list->str);
    g_string_free(list, TRUE);
    fc = g_hash_table_lookup(si->cache, folder);
    ctx.fc = fc;
    if (imap_conn_run(si->conn, cmd, fc != NULL ? fetch_untagged : NULL, &ctx,
                      err) < 0)
        return -1;
    /* our own change: keep the cached summaries right without a refetch */
    for (size_t i = 0; fc != NULL && i < n; i++) {
        struct csum *c = g_hash_table_lookup(fc->msgs,
                                             GUINT_TO_POINTER(uids[i]));

        if (c == NULL)
            continue;
        if (flags & STORE_FLAG_SEEN)
            c->seen = add;
        if (flags & STORE_FLAG_FLAGGED)
            c->flagged = add;
        if (flags & STORE_FLAG_ANSWERED)
            c->answered = add;
    }
    return 0;
}

static int
store_imap_flags_change(struct store *st, const char *folder,
                        const char *const *ids, size_t n, unsigned flags,
                        bool add, struct err *err)
{
    uint32_t *uids = store_imap_uids_of(ids, n, folder, err);
    int rc;

    if (uids == NULL)
        return -1;
    rc = store_imap_flags_change_uids(st, folder, uids, n, flags, add, err);
    g_free(uids);
    return rc;
}

/* A NO from the server, in the words the user needs. */
static void
store_imap_refusal(struct store_imap *si, const char *what, const char *name,
                   struct err *err)
{
    const char *code = imap_conn_last_code(si->conn);

    if (err->kind != ERR_REFUSED)
        return;
    err_clear(err);
    if (strcmp(code, "NONEXISTENT") == 0 || strcmp(code, "TRYCREATE") == 0)
        err_set(err, ERR_NOT_FOUND, "%s: no folder %s", what, name);
    else if (strcmp(code, "ALREADYEXISTS") == 0)
        err_set(err, ERR_INPUT, "%s: a folder %s exists already", what, name);
    else
        err_set(err, ERR_REFUSED, "%s %s: the server refused (%s)", what,
                name, code[0] != '\0' ? code : "NO");
}

static int
store_imap_uid_cmd(struct store_imap *si, const char *verb,
                   const uint32_t *uids, size_t n, const char *tail,
                   const char *mailbox, struct err *err)
{
    struct imap_cmd *cmd = imap_conn_cmd_new(si->conn, verb);

    imap_cmd_add_seqset(cmd, uids, n);
    if (tail != NULL)
        imap_cmd_add_raw(cmd, tail);
    if (mailbox != NULL && imap_cmd_add_mailbox(cmd, mailbox, err) < 0) {
        imap_cmd_free(&cmd);
        return -1;
    }
    return imap_conn_run(si->conn, cmd, NULL, NULL, err);
}

static int
store_imap_transfer_uids(struct store *st, const char *folder,
                         const uint32_t *uids, size_t n, const char *to,
                         bool keep, struct err *err)
{
    struct store_imap *si = (struct store_imap *)st;
    bool uidplus = imap_conn_has_cap(si->conn, IMAP_CAP_UIDPLUS);

    if (n == 0)
        return 0;
    if (store_imap_select_for(si, folder, err) < 0)
        return -1;
    if (to != NULL && (keep || !imap_conn_has_cap(si->conn, IMAP_CAP_MOVE))) {
        if (store_imap_uid_cmd(si, "UID COPY", uids, n, NULL, to, err) < 0) {
            store_imap_refusal(si, "copy to", to, err);
            return -1;
        }
        if (keep)
            return 0;
    } else if (to != NULL) {
        if (store_imap_uid_cmd(si, "UID MOVE", uids, n, NULL, to, err) < 0) {
            store_imap_refusal(si, "move to", to, err);
            return -1;
        }
        return 0;
    }
    /* the originals go: \Deleted, then expunge just these when the server
     * can (UIDPLUS); a plain EXPUNGE would take every \Deleted message, so
     * after a move without UIDPLUS they stay marked */
    if (store_imap_uid_cmd(si, "UID STORE", uids, n,
                           "+FLAGS.SILENT (\\Deleted)", NULL, err) < 0)
        return -1;
    if (uidplus)
        return store_imap_uid_cmd(si, "UID EXPUNGE", uids, n, NULL, NULL,
                                  err);
    if (to == NULL) /* deleting for good was asked for: expunge */
        return imap_conn_run(si->conn, imap_conn_cmd_new(si->conn, "EXPUNGE"),
                             NULL, NULL, err);
    return 0;
}

static int
store_imap_messages_transfer(struct store *st, const char *folder,
                             const char *const *ids, size_t n,
                             const char *to, bool keep, struct err *err)
{
    uint32_t *uids = store_imap_uids_of(ids, n, folder, err);
    int rc;

    if (uids == NULL)
        return -1;
    rc = store_imap_transfer_uids(st, folder, uids, n, to, keep, err);
    if (rc == 0 && !keep)
        ilist_forget((struct store_imap *)st, folder, uids, n);
    g_free(uids);
    return rc;
}

static int
store_imap_mailbox_cmd(struct store_imap *si, const char *verb,
                       const char *a, const char *b, struct err *err)
{
    struct imap_cmd *cmd = imap_conn_cmd_new(si->conn, verb);

    if (imap_cmd_add_mailbox(cmd, a, err) < 0 ||
        (b != NULL && imap_cmd_add_mailbox(cmd, b, err) < 0)) {
        imap_cmd_free(&cmd);
        return -1;
    }
    if (imap_conn_run(si->conn, cmd, NULL, NULL, err) < 0) {
        store_imap_refusal(si, verb, a, err);
        return -1;
    }
    return 0;
}

static int
imap_folder_op(struct store_imap *si, enum store_folder_op op,
               const char *path, const char *new_path, struct err *err)
{
    switch (op) {
    case STORE_FOLDER_CREATE:
        if (store_imap_mailbox_cmd(si, "CREATE", path, NULL, err) < 0)
            return -1;
        return store_imap_mailbox_cmd(si, "SUBSCRIBE", path, NULL, err);
    case STORE_FOLDER_RENAME:
        if (store_imap_mailbox_cmd(si, "RENAME", path, new_path, err) < 0)
            return -1;
        /* subscriptions follow the name (RFC 3501 leaves it open) */
        (void)store_imap_mailbox_cmd(si, "SUBSCRIBE", new_path, NULL, err);
        err_clear(err);
        return 0;
    case STORE_FOLDER_DELETE:
        if (store_imap_mailbox_cmd(si, "DELETE", path, NULL, err) < 0)
            return -1;
        (void)store_imap_mailbox_cmd(si, "UNSUBSCRIBE", path, NULL, err);
        err_clear(err); /* already gone with the folder on most servers */
        return 0;
    case STORE_FOLDER_SUBSCRIBE:
        return store_imap_mailbox_cmd(si, "SUBSCRIBE", path, NULL, err);
    case STORE_FOLDER_UNSUBSCRIBE:
        return store_imap_mailbox_cmd(si, "UNSUBSCRIBE", path, NULL, err);
    case STORE_FOLDER_EMPTY: {
        struct imap_cmd *cmd;

        if (store_imap_select_for(si, path, err) < 0)
            return -1;
        if (imap_conn_selected(si->conn)->exists == 0)
            return 0;
        cmd = imap_conn_cmd_new(si->conn, "STORE");
        imap_cmd_add_raw(cmd, "1:* +FLAGS.SILENT (\\Deleted)");
        if (imap_conn_run(si->conn, cmd, NULL, NULL, err) < 0)
            return -1;
        return imap_conn_run(si->conn, imap_conn_cmd_new(si->conn, "EXPUNGE"),
                             NULL, NULL, err);
    }
    }
    xassert_unreached();
}

static int
store_imap_folder_change(struct store *st, enum store_folder_op op,
                         const char *path, const char *new_path,
                         struct err *err)
{
    struct store_imap *si = (struct store_imap *)st;
    const struct imap_selected *sel = imap_conn_selected(si->conn);
    int rc;

    /* a folder about to change name or go must not stay selected */
    if ((op == STORE_FOLDER_RENAME || op == STORE_FOLDER_DELETE) &&
        sel->mailbox != NULL && strcmp(sel->mailbox, path) == 0 &&
        store_imap_select_for(si, "INBOX", err) < 0)
        return -1;
    g_hash_table_remove(si->cache, path);
    msg_memo_clear(si->memo);
    rc = imap_folder_op(si, op, path, new_path, err);
    /* after the change, failed or not (a RENAME may half succeed): the
     * names are listed afresh next time, on every connection */
    if (op != STORE_FOLDER_EMPTY) {
        if (si->names != NULL)
            g_ptr_array_free(si->names, TRUE);
        si->names = NULL;
        (void)folders_gen(si, true);
    }
    return rc;
}

static int
store_imap_append(struct store *st, const char *folder, unsigned flags,
                  const void *data, size_t len,
                  char id_out[STORE_ID_MAX + 1], struct err *err)
{
    struct store_imap *si = (struct store_imap *)st;
    struct imap_cmd *cmd = imap_conn_cmd_new(si->conn, "APPEND");
    GString *fl = g_string_new("(");

    if (imap_cmd_add_mailbox(cmd, folder, err) < 0) {
        imap_cmd_free(&cmd);
        g_string_free(fl, TRUE);
        return -1;
    }
    if (flags & STORE_FLAG_SEEN)
        g_string_append(fl, "\\Seen ");
    if (flags & STORE_FLAG_ANSWERED)
        g_string_append(fl, "\\Answered ");
    if (flags & STORE_FLAG_FLAGGED)
        g_string_append(fl, "\\Flagged ");
    if (flags & STORE_FLAG_DRAFT)
        g_string_append(fl, "\\Draft ");
    if (fl->str[fl->len - 1] == ' ')
        g_string_truncate(fl, fl->len - 1);
    g_string_append_c(fl, ')');
    if (fl->len > 2)
        imap_cmd_add_raw(cmd, fl->str);
    g_string_free(fl, TRUE);
    if (imap_cmd_add_literal(cmd, data, len, err) < 0) {
        imap_cmd_free(&cmd);
        return -1;
    }
    if (imap_conn_run(si->conn, cmd, NULL, NULL, err) < 0) {
        store_imap_refusal(si, "append to", folder, err);
        return -1;
    }
    g_hash_table_remove(si->cache, folder);
    /* RFC 4315: OK [APPENDUID uidvalidity uid] */
    if (id_out != NULL &&
        strcmp(imap_conn_last_code(si->conn), "APPENDUID") == 0) {
        const char *a = strchr(imap_conn_last_code_args(si->conn), ' ');
        guint64 v = a != NULL ? g_ascii_strtoull(a + 1, NULL, 10) : 0;

        if (v > 0 && v <= UINT32_MAX)
            g_snprintf(id_out, STORE_ID_MAX + 1, "%" G_GUINT64_FORMAT, v);
    }
    return 0;
}

/* A part streamed from the server (recorded, while small, for the memo)
 * or from the memo. */
struct store_imap_stream {
    struct store_stream base;   /* first: store.c reads base.st */
    bool done;
    GBytes *memo;               /* from the memo: no IMAP at all */
    size_t memo_off;
    GByteArray *rec;            /* what came so far, while it may fit */
    char *folder, *id, *memo_key; /* where the memo keeps it */
    uint64_t validity;
};

/* binary: BINARY.PEEK (decoded by the server), remembered apart from the
 * raw bytes; NULL with no error when the server has no BINARY. */
static struct store_stream *
store_imap_stream_begin(struct store *st, const char *folder, const char *id,
                        const char *section, bool binary, struct err *err)
{
    struct store_imap *si = (struct store_imap *)st;
    struct store_imap_stream *s;
    struct imap_cmd *cmd;
    uint32_t uid;
    uint64_t validity;
    GBytes *memo;
    char *key;

    if (binary && (section == NULL || !imap_conn_has_cap(si->conn,
                                                         IMAP_CAP_BINARY)))
        return NULL;
    if (store_imap_uid_of(id, folder, &uid, err) < 0 ||
        store_imap_select_for(si, folder, err) < 0)
        return NULL;
    validity = imap_conn_selected(si->conn)->uidvalidity;
    /* the memo's name for decoded bytes: "~2" beside the raw "2" */
    key = binary ? g_strconcat("~", section, NULL) : g_strdup(section);
    memo = msg_memo_part(si->memo, folder, validity, id, key);
    if (memo != NULL) {
        s = g_new0(struct store_imap_stream, 1);
        s->base.st = st;
        s->memo = memo;
        g_free(key);
        return &s->base;
    }
    cmd = imap_conn_cmd_new(si->conn, "UID FETCH");
    imap_cmd_add_number(cmd, uid);
    if (section == NULL) {
        imap_cmd_add_raw(cmd, "(BODY.PEEK[])");
    } else {
        char *item;

        xassert(mime_section_is_valid(section));
        item = g_strdup_printf(binary ? "(BINARY.PEEK[%s])"
                                      : "(BODY.PEEK[%s])",
                               section);
        imap_cmd_add_raw(cmd, item);
        g_free(item);
    }
    if (imap_conn_stream_begin(si->conn, cmd, err) < 0) {
        g_free(key);
        return NULL;
    }
    s = g_new0(struct store_imap_stream, 1);
    s->base.st = st;
    s->rec = g_byte_array_new();
    s->folder = g_strdup(folder);
    s->id = g_strdup(id);
    s->memo_key = key;
    s->validity = validity;
    return &s->base;
}

static struct store_stream *
store_imap_stream_open(struct store *st, const char *folder, const char *id,
                       const char *section, struct err *err)
{
    return store_imap_stream_begin(st, folder, id, section, false, err);
}

static struct store_stream *
store_imap_stream_open_decoded(struct store *st, const char *folder,
                               const char *id, const char *section,
                               struct err *err)
{
    return store_imap_stream_begin(st, folder, id, section, true, err);
}

static void
store_imap_stream_paced(struct store_stream *ss)
{
    const struct store_imap_stream *s = (struct store_imap_stream *)ss;

    if (s->memo == NULL && !s->done) /* else no IMAP stream is open */
        imap_conn_stream_paced(((struct store_imap *)ss->st)->conn);
}

static ssize_t
store_imap_stream_read(struct store_stream *ss, void *buf, size_t max,
                       struct err *err)
{
    struct store_imap_stream *s = (struct store_imap_stream *)ss;
    struct store_imap *si = (struct store_imap *)ss->st;
    ssize_t n;

    if (s->done)
        return 0;
    if (s->memo != NULL) {
        gsize len;
        const unsigned char *data = g_bytes_get_data(s->memo, &len);
        size_t take = MIN(max, len - s->memo_off);

        if (take > 0)
            memcpy(buf, data + s->memo_off, take);
        s->memo_off += take;
        s->done = take == 0;
        return (ssize_t)take;
    }
    n = imap_conn_stream_read(si->conn, buf, max, err);
    if (n <= 0)
        s->done = true;
    if (n > 0 && s->rec != NULL) {
        if (s->rec->len + (size_t)n <= LIM_IMAP_MEMO_BYTES) {
            g_byte_array_append(s->rec, buf, (guint)n);
        } else {
            g_byte_array_free(s->rec, TRUE); /* too big to remember */
            s->rec = NULL;
        }
    } else if (n == 0 && s->rec != NULL) {
        msg_memo_add_part(si->memo, s->folder, s->validity, s->id, s->memo_key,
                          s->rec->data, s->rec->len);
    }
    return n;
}

/* Where the memo keeps id's parts: false for an id that is not a UID, or
 * a folder not selected (the memo is of the selected folder's messages:
 * no SELECT just for it). */
static bool
store_imap_memo_where(struct store_imap *si, const char *folder,
                      const char *id, uint64_t *validity_out)
{
    const struct imap_selected *sel = imap_conn_selected(si->conn);
    struct err err = {0};
    uint32_t uid;

    if (sel->mailbox == NULL || strcmp(sel->mailbox, folder) != 0 ||
        store_imap_uid_of(id, folder, &uid, &err) < 0)
        return false;
    *validity_out = sel->uidvalidity;
    return true;
}

static void
store_imap_keep_derived(struct store *st, const char *folder, const char *id,
                        const char *key, const void *data, size_t len)
{
    struct store_imap *si = (struct store_imap *)st;
    uint64_t validity;

    if (store_imap_memo_where(si, folder, id, &validity))
        msg_memo_add_part(si->memo, folder, validity, id, key, data, len);
}

static GBytes *
store_imap_derived(struct store *st, const char *folder, const char *id,
                   const char *key)
{
    struct store_imap *si = (struct store_imap *)st;
    uint64_t validity;

    if (!store_imap_memo_where(si, folder, id, &validity))
        return NULL;
    return msg_memo_part(si->memo, folder, validity, id, key);
}

static int
store_imap_stream_size(struct store_stream *ss, uint64_t *size_out,
                       struct err *err)
{
    struct store_imap_stream *s = (struct store_imap_stream *)ss;
    struct store_imap *si = (struct store_imap *)ss->st;

    if (s->memo != NULL) {
        *size_out = g_bytes_get_size(s->memo);
        return 0;
    }
    if (imap_conn_stream_size(si->conn, size_out, err) < 0) {
        s->done = true; /* the stream has ended with the error */
        return -1;
    }
    return 0;
}

static void
store_imap_stream_close(struct store_stream *ss)
{
    struct store_imap_stream *s = (struct store_imap_stream *)ss;
    struct store_imap *si = (struct store_imap *)ss->st;

    if (s->memo != NULL) {
        g_bytes_unref(s->memo);
    } else if (!s->done) {
        imap_conn_stream_abort(si->conn);
        ss->st->broken = true;
    }
    if (s->rec != NULL)
        g_byte_array_free(s->rec, TRUE);
    g_free(s->folder);
    g_free(s->id);
    g_free(s->memo_key);
    g_free(s);
}

/* ---- opening, liveness, closing ---- */

static int
namespace_untagged(void *vctx, const struct imap_resp *r, struct err *err)
{
    struct store_imap *si = vctx;
    const struct imap_arg *personal;

    (void)err;
    if (r->name == NULL || strcmp(r->name, "NAMESPACE") != 0 ||
        r->n_args < 1)
        return 0;
    personal = &r->args[0];
    if (personal->type == IMAP_ARG_LIST && personal->n > 0 &&
        personal->list[0].type == IMAP_ARG_LIST &&
        personal->list[0].n >= 2) {
        const char *prefix = imap_arg_nstring(&personal->list[0].list[0]);
        const char *delim = imap_arg_nstring(&personal->list[0].list[1]);
        struct err derr = {0};

        if (prefix != NULL) {
            g_free(si->ns_prefix);
            si->ns_prefix = store_imap_decode_name(si, prefix, &derr);
        }
        si->ns_delim = delim != NULL ? delim[0] : '\0';
    }
    return 0;
}

static int
store_imap_ping(struct store *st, struct err *err)
{
    struct store_imap *si = (struct store_imap *)st;

    if (!imap_conn_is_usable(si->conn)) {
        err_set(err, ERR_CONN, "IMAP connection closed");
        return -1;
    }
    return 0;
}

static int
store_imap_folder_names(struct store *st, struct arena *a,
                        const char ***names_out, size_t *n_out,
                        struct err *err)
{
    struct store_imap *si = (struct store_imap *)st;

    if (si->names != NULL && si->names_gen != folders_gen(si, false)) {
        g_ptr_array_free(si->names, TRUE); /* changed on another connection */
        si->names = NULL;
    }
    if (si->names == NULL) {
        struct store_folder_list list;

        if (store_imap_list(si, a, false, &list, err) < 0)
            return -1;
    }
    *n_out = si->names->len;
    *names_out = arena_alloc(a, (si->names->len + 1) * sizeof(**names_out));
    for (guint i = 0; i < si->names->len; i++)
        (*names_out)[i] = arena_strdup(a, g_ptr_array_index(si->names, i));
    return 0;
}

static void
store_imap_neighbours(struct store *st, struct arena *a, const char *folder,
                      const char *id, const char **prev_out,
                      const char **next_out)
{
    struct store_imap *si = (struct store_imap *)st;
    struct err ignored = {0};
    struct ishared *l;
    uint32_t uid;

    if (store_imap_uid_of(id, folder, &uid, &ignored) < 0)
        return;
    l = store_memo_lock(si->session, ishared_new, ishared_free);
    for (guint i = 0; l->folder != NULL && strcmp(l->folder, folder) == 0 &&
                      i < l->order->len;
         i++) {
        if (g_array_index(l->order, uint32_t, i) != uid)
            continue;
        if (i > 0)
            *prev_out = arena_printf(
                a, "%" PRIu32, g_array_index(l->order, uint32_t, i - 1));
        if (i + 1 < l->order->len)
            *next_out = arena_printf(
                a, "%" PRIu32, g_array_index(l->order, uint32_t, i + 1));
        break;
    }
    store_memo_unlock(si->session);
}

static void
store_imap_close(struct store *st)
{
    struct store_imap *si = (struct store_imap *)st;

    if (si->names != NULL)
        g_ptr_array_free(si->names, TRUE);
    imap_conn_close(&si->conn);
    g_hash_table_destroy(si->cache);
    msg_memo_free(&si->memo);
    store_memo_unref(&si->session);
    g_free(si->ns_prefix);
    g_free(si);
}

struct store *
store_imap_open(const struct store_login *login, struct err *err)
{
    const struct cfg_server *srv = login->server;
    struct net_guard guard = {.allowed = srv->allowed_hosts};
    struct imap_conn_opts opts = {
        .host = srv->host,
        .port = srv->port,
        .tls = srv->tls,
        .ca_file = srv->ca_file,
        .connect_timeout = login->connect_timeout,
        .io_timeout = login->io_timeout,
        .command_timeout = login->command_timeout,
        /* a host a user typed must not lead into the local network */
        .guard = srv->is_typed ? &guard : NULL,
        .client_addr = login->client_addr,
    };
    struct store_imap *si;
    struct imap_conn *conn;

    store_imap_mime_init();
    conn = imap_conn_open(&opts, err);
    if (conn == NULL)
        return NULL;
    if (imap_conn_login(conn, login->user, login->password, err) < 0) {
        imap_conn_close(&conn);
        return NULL;
    }
    si = g_new0(struct store_imap, 1);
    si->base.ops = &store_imap_ops;
    si->base.server = srv;
    si->base.caps = STORE_CAP_FOLDERS | STORE_CAP_FLAGS | STORE_CAP_SEARCH;
    si->conn = conn;
    si->memo = msg_memo_new();
    si->session = login->memo != NULL ? store_memo_ref(login->memo)
                                      : store_memo_new();
    si->cache = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
                                      fcache_free);
    if (imap_conn_has_cap(conn, IMAP_CAP_SORT))
        si->base.caps |= STORE_CAP_SORT;
    if (imap_conn_has_cap(conn, IMAP_CAP_MOVE) ||
        imap_conn_has_cap(conn, IMAP_CAP_UIDPLUS))
        si->base.caps |= STORE_CAP_MOVE;
    if (imap_conn_has_cap(conn, IMAP_CAP_NAMESPACE)) {
        struct imap_cmd *cmd = imap_conn_cmd_new(conn, "NAMESPACE");

        if (imap_conn_run(conn, cmd, namespace_untagged, si, err) < 0) {
            store_imap_close(&si->base);
            return NULL;
        }
    }
    return &si->base;
}

static const struct store_ops store_imap_ops = {
    .name = "imap",
    .folder_list = store_imap_folder_list,
    .folder_names = store_imap_folder_names,
    .summary_page = store_imap_summary_page,
    .message_get = store_imap_message_get,
    .message_structure = store_imap_message_structure,
    .messages_transfer = store_imap_messages_transfer,
    .folder_change = store_imap_folder_change,
    .append = store_imap_append,
    .flags_change = store_imap_flags_change,
    .stream_open = store_imap_stream_open,
    .stream_open_decoded = store_imap_stream_open_decoded,
    .stream_read = store_imap_stream_read,
    .stream_size = store_imap_stream_size,
    .keep_derived = store_imap_keep_derived,
    .derived = store_imap_derived,
    .stream_close = store_imap_stream_close,
    .stream_paced = store_imap_stream_paced,
    .neighbours = store_imap_neighbours,
    .ping = store_imap_ping,
    .close = store_imap_close,
};
