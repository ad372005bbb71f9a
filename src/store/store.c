/* store.c - the protocol-independent side of the store interface: dispatch
 * by protocol, names of roles and sorts, marking broken connections.
 * Layer: store. */
#include <string.h>

#include "core/attr.h"
#include "store/store.h"
#include "store/store_imap.h"

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

const char *
store_sort_name(enum store_sort sort)
{
    xassert((size_t)sort < N_ELEMENTS(sort_names));
    return sort_names[sort];
}

struct store *
store_open(const struct store_login *login, struct err *err)
{
    switch (login->server->protocol) {
    case CFG_PROTO_IMAP:
        return store_imap_open(login, err);
    case CFG_PROTO_POP3:
        err_set(err, ERR_UNSUPPORTED, "POP3 servers are not supported yet");
        return NULL;
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
