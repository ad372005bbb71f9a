/* store.c - the protocol-independent side of the store interface: dispatch
 * by protocol, names of roles and sorts, marking broken connections.
 * Layer: store. */
#include <string.h>

#include "core/attr.h"
#include "store/store.h"
#include "store/store_imap.h"
#include "store/store_pop3.h"

static const char *const role_names[] = {
    [STORE_ROLE_NONE] = NULL,       [STORE_ROLE_INBOX] = "inbox",
    [STORE_ROLE_SENT] = "sent",     [STORE_ROLE_DRAFTS] = "drafts",
    [STORE_ROLE_TRASH] = "trash",   [STORE_ROLE_JUNK] = "junk",
    [STORE_ROLE_ARCHIVE] = "archive",
};

const char *
store_role_name(enum store_role role)
{
    xassert((size_t)role < N_ELEMENTS(role_names));
    return role_names[role];
}

static const char *const sort_names[] = {
    [STORE_SORT_DATE_DESC] = "date-desc",
    [STORE_SORT_DATE_ASC] = "date-asc",
    [STORE_SORT_FROM_ASC] = "from-asc",
    [STORE_SORT_FROM_DESC] = "from-desc",
    [STORE_SORT_SUBJECT_ASC] = "subject-asc",
    [STORE_SORT_SUBJECT_DESC] = "subject-desc",
    [STORE_SORT_SIZE_ASC] = "size-asc",
    [STORE_SORT_SIZE_DESC] = "size-desc",
};

bool
store_id_is_valid(const char *id)
{
    size_t n = 0;

    if (id == NULL)
        return false;
    for (; id[n] != '\0'; n++) {
        if ((unsigned char)id[n] < 0x21 || (unsigned char)id[n] > 0x7e ||
            n >= STORE_ID_MAX)
            return false;
    }
    return n > 0;
}

bool
store_sort_is_desc(enum store_sort sort)
{
    return sort == STORE_SORT_DATE_DESC || sort == STORE_SORT_FROM_DESC ||
           sort == STORE_SORT_SUBJECT_DESC || sort == STORE_SORT_SIZE_DESC;
}

const char *
store_sort_name(enum store_sort sort)
{
    xassert((size_t)sort < N_ELEMENTS(sort_names));
    return sort_names[sort];
}

struct store_memo {
    GMutex lock;
    void *data;
    void (*data_free)(void *);
};

static void
store_memo_clear(gpointer p)
{
    struct store_memo *m = p;

    if (m->data != NULL && m->data_free != NULL)
        m->data_free(m->data);
    g_mutex_clear(&m->lock);
}

struct store_memo *
store_memo_new(void)
{
    struct store_memo *m = g_atomic_rc_box_new0(struct store_memo);

    g_mutex_init(&m->lock);
    return m;
}

struct store_memo *
store_memo_ref(struct store_memo *m)
{
    return g_atomic_rc_box_acquire(m);
}

void
store_memo_unref(struct store_memo **mp)
{
    if (*mp == NULL)
        return;
    g_atomic_rc_box_release_full(*mp, store_memo_clear);
    *mp = NULL;
}

void *
store_memo_lock(struct store_memo *m, void *(*make)(void),
                void (*free_fn)(void *))
{
    g_mutex_lock(&m->lock);
    if (m->data == NULL) {
        m->data = make();
        m->data_free = free_fn;
    }
    return m->data;
}

void
store_memo_unlock(struct store_memo *m)
{
    g_mutex_unlock(&m->lock);
}

struct store *
store_open(const struct store_login *login, struct err *err)
{
    switch (login->server->protocol) {
    case CFG_PROTO_IMAP:
        return store_imap_open(login, err);
    case CFG_PROTO_POP3:
        return store_pop3_open(login, err);
    }
    xassert_unreached();
}

void
store_close(struct store **stp)
{
    struct store *st = *stp;

    if (st == NULL)
        return;
    st->ops->close(st);
    *stp = NULL;
}

/* A failure of the connection itself makes the store unusable; the pool
 * then closes it instead of handing it out again. */
static int
store_check(struct store *st, int rc, const struct err *err)
{
    if (rc < 0 && (err->kind == ERR_CONN || err->kind == ERR_PROTO ||
                   err->kind == ERR_TIMEOUT || err->kind == ERR_INTERNAL))
        st->broken = true;
    return rc;
}

int
store_folder_list(struct store *st, struct arena *a,
                  struct store_folder_list *out, struct err *err)
{
    return store_check(st, st->ops->folder_list(st, a, out, err), err);
}

int
store_summary_page(struct store *st, const struct store_page_query *q,
                   struct arena *a, struct store_page *out, struct err *err)
{
    return store_check(st, st->ops->summary_page(st, q, a, out, err), err);
}

int
store_ping(struct store *st, struct err *err)
{
    return store_check(st, st->ops->ping(st, err), err);
}

int
store_message_get(struct store *st, const char *folder, const char *id,
                  bool with_headers, struct arena *a,
                  struct store_message *out, struct err *err)
{
    return store_check(st,
                       st->ops->message_get(st, folder, id, with_headers, a,
                                            out, err),
                       err);
}

int
store_message_structure(struct store *st, const char *folder, const char *id,
                        struct arena *a, struct store_message *out,
                        struct err *err)
{
    if (st->ops->message_structure == NULL)
        return store_message_get(st, folder, id, false, a, out, err);
    return store_check(st,
                       st->ops->message_structure(st, folder, id, a, out,
                                                  err),
                       err);
}

static const char *
copy_str(struct arena *a, const char *s)
{
    return s != NULL ? arena_strdup(a, s) : NULL;
}

static struct mime_address *
copy_addresses(struct arena *a, const struct mime_address *src, size_t n)
{
    struct mime_address *dst;

    if (src == NULL)
        return NULL;
    dst = arena_alloc(a, (n > 0 ? n : 1) * sizeof(*dst));
    for (size_t i = 0; i < n; i++) {
        dst[i].name = copy_str(a, src[i].name);
        dst[i].email = copy_str(a, src[i].email);
    }
    return dst;
}

static void
copy_envelope(struct arena *a, const struct mime_envelope *src,
              struct mime_envelope *dst)
{
    *dst = *src;
    dst->subject = copy_str(a, src->subject);
    dst->from = copy_addresses(a, src->from, src->n_from);
    dst->to = copy_addresses(a, src->to, src->n_to);
    dst->cc = copy_addresses(a, src->cc, src->n_cc);
    dst->reply_to = copy_addresses(a, src->reply_to, src->n_reply_to);
    dst->message_id = copy_str(a, src->message_id);
    dst->in_reply_to = copy_str(a, src->in_reply_to);
}

void
store_message_copy(struct arena *a, const struct store_message *src,
                   struct store_message *dst)
{
    *dst = *src;
    dst->folder = copy_str(a, src->folder);
    dst->id = copy_str(a, src->id);
    copy_envelope(a, &src->env, &dst->env);
    dst->parts = NULL;
    if (src->parts != NULL) {
        dst->parts = arena_alloc(a, (src->n_parts > 0 ? src->n_parts : 1) *
                                        sizeof(*dst->parts));
        for (size_t i = 0; i < src->n_parts; i++) {
            const struct mime_part *sp = &src->parts[i];
            struct mime_part *dp = &dst->parts[i];

            *dp = *sp;
            dp->section = copy_str(a, sp->section);
            dp->type = copy_str(a, sp->type);
            dp->subtype = copy_str(a, sp->subtype);
            dp->charset = copy_str(a, sp->charset);
            dp->encoding = copy_str(a, sp->encoding);
            dp->filename = copy_str(a, sp->filename);
            dp->content_id = copy_str(a, sp->content_id);
            dp->disposition = copy_str(a, sp->disposition);
            if (sp->envelope != NULL) {
                struct mime_envelope *e = arena_alloc(a, sizeof(*e));

                copy_envelope(a, sp->envelope, e);
                dp->envelope = e;
            }
        }
    }
    if (src->headers != NULL) {
        char *h = arena_alloc(a, src->headers_len + 1);

        memcpy(h, src->headers, src->headers_len);
        dst->headers = h;
    }
}

int
store_flags_change(struct store *st, const char *folder,
                   const char *const *ids, size_t n, unsigned flags, bool add,
                   struct err *err)
{
    if (!store_has_cap(st, STORE_CAP_FLAGS)) {
        err_set(err, ERR_UNSUPPORTED, "this server keeps no flags");
        return -1;
    }
    return store_check(st,
                       st->ops->flags_change(st, folder, ids, n, flags, add,
                                             err),
                       err);
}

void
store_stream_paced(struct store_stream *s)
{
    if (s->st->ops->stream_paced != NULL)
        s->st->ops->stream_paced(s);
}

struct store_stream *
store_stream_open(struct store *st, const char *folder, const char *id,
                  const char *section, struct err *err)
{
    struct store_stream *s = st->ops->stream_open(st, folder, id, section,
                                                  err);

    if (s == NULL)
        (void)store_check(st, -1, err);
    return s;
}

struct store_stream *
store_stream_open_decoded(struct store *st, const char *folder,
                          const char *id, const char *section,
                          struct err *err)
{
    struct store_stream *s;

    if (st->ops->stream_open_decoded == NULL)
        return NULL;
    xassert(st->ops->stream_size != NULL); /* store_ops: where refusals show */
    s = st->ops->stream_open_decoded(st, folder, id, section, err);
    if (s == NULL && err->kind != ERR_NONE)
        (void)store_check(st, -1, err);
    return s;
}

ssize_t
store_stream_read(struct store_stream *s, void *buf, size_t max,
                  struct err *err)
{
    ssize_t n = s->st->ops->stream_read(s, buf, max, err);

    if (n < 0)
        (void)store_check(s->st, -1, err);
    return n;
}

void
store_keep_derived(struct store *st, const char *folder, const char *id,
                   const char *key, const void *data, size_t len)
{
    if (st->ops->keep_derived != NULL && !st->broken)
        st->ops->keep_derived(st, folder, id, key, data, len);
}

GBytes *
store_derived(struct store *st, const char *folder, const char *id,
              const char *key)
{
    if (st->ops->derived == NULL || st->broken)
        return NULL;
    return st->ops->derived(st, folder, id, key);
}

int
store_stream_size(struct store_stream *s, uint64_t *size_out,
                  struct err *err)
{
    *size_out = 0;
    if (s->st->ops->stream_size == NULL)
        return 0;
    if (s->st->ops->stream_size(s, size_out, err) < 0) {
        (void)store_check(s->st, -1, err);
        return -1;
    }
    return 1;
}

void
store_stream_close(struct store_stream **sp)
{
    struct store_stream *s = *sp;

    if (s == NULL)
        return;
    s->st->ops->stream_close(s);
    *sp = NULL;
}

int
store_part_raw(struct store *st, const char *folder, const char *id,
               const char *section, size_t max, GString *out,
               bool *truncated_out, struct err *err)
{
    struct store_stream *s = store_stream_open(st, folder, id, section, err);
    char buf[16 * 1024];
    size_t got = 0;

    *truncated_out = false;
    if (s == NULL)
        return -1;
    for (;;) {
        ssize_t n = store_stream_read(s, buf, sizeof(buf), err);

        if (n < 0) {
            store_stream_close(&s);
            return -1;
        }
        if (n == 0)
            break;
        if (got < max) {
            size_t keep = MIN((size_t)n, max - got);

            g_string_append_len(out, buf, (gssize)keep);
            if (keep < (size_t)n)
                *truncated_out = true;
        } else {
            *truncated_out = true; /* read on: the connection stays usable */
        }
        got += (size_t)n;
    }
    store_stream_close(&s);
    return 0;
}

const struct mime_part *
store_message_part(const struct store_message *m, const char *section)
{
    for (size_t i = 0; i < m->n_parts; i++) {
        if (strcmp(m->parts[i].section, section) == 0)
            return &m->parts[i];
    }
    return NULL;
}

int
store_messages_transfer(struct store *st, const char *folder,
                        const char *const *ids, size_t n, const char *to,
                        bool keep, struct err *err)
{
    if (to != NULL && !store_has_cap(st, STORE_CAP_FOLDERS)) {
        err_set(err, ERR_UNSUPPORTED, "this server has no other folders");
        return -1;
    }
    return store_check(st,
                       st->ops->messages_transfer(st, folder, ids, n, to,
                                                  keep, err),
                       err);
}

int
store_folder_change(struct store *st, enum store_folder_op op,
                    const char *path, const char *new_path, struct err *err)
{
    if (!store_has_cap(st, STORE_CAP_FOLDERS)) {
        err_set(err, ERR_UNSUPPORTED, "this server has no folders");
        return -1;
    }
    return store_check(st,
                       st->ops->folder_change(st, op, path, new_path, err),
                       err);
}

int
store_append(struct store *st, const char *folder, unsigned flags,
             const void *data, size_t len, char id_out[STORE_ID_MAX + 1],
             struct err *err)
{
    if (id_out != NULL)
        id_out[0] = '\0';
    return store_check(st,
                       st->ops->append(st, folder, flags, data, len, id_out,
                                       err),
                       err);
}

int
store_folder_names(struct store *st, struct arena *a, const char ***names_out,
                   size_t *n_out, struct err *err)
{
    if (!store_has_cap(st, STORE_CAP_FOLDERS)) {
        *names_out = arena_alloc(a, sizeof(**names_out));
        (*names_out)[0] = "INBOX";
        *n_out = 1;
        return 0;
    }
    return store_check(st, st->ops->folder_names(st, a, names_out, n_out,
                                                 err),
                       err);
}

void
store_neighbours(struct store *st, struct arena *a, const char *folder,
                 const char *id, const char **prev_out, const char **next_out)
{
    *prev_out = *next_out = NULL;
    if (st->ops->neighbours != NULL)
        st->ops->neighbours(st, a, folder, id, prev_out, next_out);
}
