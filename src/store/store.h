/* store.h - what handlers may ask of a mailbox, whatever the protocol
 * (DESIGN §1). Layer: store. Results live in the caller's arena; a store
 * (one logged-in connection) lives in the session's pool. */
#ifndef POSTERN_STORE_STORE_H
#define POSTERN_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <glib.h>

#include "core/arena.h"
#include "core/attr.h"
#include "core/cfg.h"
#include "core/err.h"
#include "mime/mime_part.h"

enum store_cap {
    STORE_CAP_FOLDERS = 1u << 0, /* more than INBOX */
    STORE_CAP_FLAGS = 1u << 1,   /* \Seen, \Flagged kept on the server */
    STORE_CAP_MOVE = 1u << 2,
    STORE_CAP_SEARCH = 1u << 3,
    STORE_CAP_SORT = 1u << 4,    /* server sorts; else the store sorts */
    STORE_CAP_SNAPSHOT = 1u << 5 /* shows the mailbox as it was at login
                                    (POP3): new mail needs a reconnect */
};

/* A message's name in URLs, forms and JSON (DESIGN §6): the UID in decimal
 * for IMAP, the UIDL for POP3, never a session-local number. 1 to
 * STORE_ID_MAX bytes of 0x21-0x7E (RFC 1939 §7), NUL-terminated. */
#define STORE_ID_MAX 70u

/* True when id has the shape above (any store may still not know it). */
bool store_id_is_valid(const char *id);

enum store_role {
    STORE_ROLE_NONE = 0,
    STORE_ROLE_INBOX,
    STORE_ROLE_SENT,
    STORE_ROLE_DRAFTS,
    STORE_ROLE_TRASH,
    STORE_ROLE_JUNK,
    STORE_ROLE_ARCHIVE
};

/* "inbox", "sent", ... or NULL for STORE_ROLE_NONE. */
const char *store_role_name(enum store_role role);

struct store_folder {
    const char *path;        /* full name, UTF-8, server's delimiter */
    const char *name;        /* last component, UTF-8 */
    unsigned depth;          /* components above the last */
    char delimiter;          /* '\0' when flat */
    enum store_role role;
    bool subscribed;
    bool selectable;         /* false for \Noselect / \NonExistent */
    bool has_counts;         /* false when STATUS failed for it */
    uint32_t unread, total;
};

struct store_folder_list {
    struct store_folder *items; /* sorted: INBOX, roles, then by path */
    size_t n;
};

enum store_sort {
    STORE_SORT_DATE_DESC = 0, /* the default: newest first */
    STORE_SORT_DATE_ASC,
    STORE_SORT_FROM_ASC,
    STORE_SORT_FROM_DESC,
    STORE_SORT_SUBJECT_ASC,
    STORE_SORT_SUBJECT_DESC,
    STORE_SORT_SIZE_ASC,
    STORE_SORT_SIZE_DESC,
    STORE_SORT_COUNT_
};

/* "date-desc", "from-asc", ... (the names of the sort= parameter). */
const char *store_sort_name(enum store_sort sort);
/* True for the orders that put the greatest (newest, largest, Z) first. */
bool store_sort_is_desc(enum store_sort sort);

struct store_page_query {
    const char *folder;      /* UTF-8 path */
    unsigned page;           /* 1-based; past the end means the last page */
    unsigned per_page;
    enum store_sort sort;
    const char *search;      /* NULL or "": everything; else from, to,
                                subject and body contain it */
};

struct store_address {
    const char *name;        /* decoded display name, may be "" */
    const char *email;       /* "user@host", may be "" for groups */
};

struct store_summary {
    const char *id;          /* STORE_ID_MAX */
    const char *subject;     /* decoded UTF-8 */
    struct store_address from;
    int64_t date;            /* Unix seconds: the Date header, else
                                INTERNALDATE */
    uint64_t size;
    bool seen, flagged, answered, has_attachments;
};

struct store_page {
    const char *folder;
    unsigned page, pages;    /* pages >= 1 even for an empty folder */
    unsigned total;          /* messages matching (all, or the search) */
    enum store_sort sort;
    struct store_summary *items;
    size_t n;
};

/* One message as the message view needs it: no body bytes, only the
 * structure; parts are fetched one by one (store_part_text, streams). */
struct store_message {
    const char *folder;
    const char *id;
    struct mime_envelope env;
    bool seen, flagged, answered, draft;
    uint64_t size;
    struct mime_part *parts;   /* pre-order; parts[0] is the root (none
                                * when partial) */
    size_t n_parts;
    const char *headers;       /* the raw header block, when asked for */
    size_t headers_len;
    bool partial;              /* only the header block was read (a POP3
                                * message over max_message_size): no
                                * parts (n_parts 0), size is the whole */
};

enum store_flag {
    STORE_FLAG_SEEN = 1u << 0,
    STORE_FLAG_FLAGGED = 1u << 1,
    STORE_FLAG_ANSWERED = 1u << 2,
    STORE_FLAG_DELETED = 1u << 3,
    STORE_FLAG_DRAFT = 1u << 4
};

enum store_folder_op {
    STORE_FOLDER_CREATE,
    STORE_FOLDER_RENAME,
    STORE_FOLDER_DELETE,
    STORE_FOLDER_SUBSCRIBE,
    STORE_FOLDER_UNSUBSCRIBE,
    STORE_FOLDER_EMPTY          /* delete every message in it for good */
};

struct store;

/* A part or a whole message being read. Implementations embed it as their
 * first member. */
struct store_stream {
    struct store *st;
};

struct store_ops {
    const char *name; /* "imap", "pop3" */
    int (*folder_list)(struct store *st, struct arena *a,
                       struct store_folder_list *out, struct err *err);
    /* Selectable folder paths, from a per-connection cache refreshed by
     * folder_list and folder changes. */
    int (*folder_names)(struct store *st, struct arena *a,
                        const char ***names_out, size_t *n_out,
                        struct err *err);
    int (*summary_page)(struct store *st, const struct store_page_query *q,
                        struct arena *a, struct store_page *out,
                        struct err *err);
    int (*message_get)(struct store *st, const char *folder, const char *id,
                       bool with_headers, struct arena *a,
                       struct store_message *out, struct err *err);
    /* Optional (NULL: message_get): store_message_structure. */
    int (*message_structure)(struct store *st, const char *folder,
                             const char *id, struct arena *a,
                             struct store_message *out, struct err *err);
    int (*flags_change)(struct store *st, const char *folder,
                        const char *const *ids, size_t n, unsigned flags,
                        bool add, struct err *err);
    /* to NULL: expunge (delete for good); else move or copy there. */
    int (*messages_transfer)(struct store *st, const char *folder,
                             const char *const *ids, size_t n,
                             const char *to, bool keep, struct err *err);
    int (*folder_change)(struct store *st, enum store_folder_op op,
                         const char *path, const char *new_path,
                         struct err *err);
    int (*append)(struct store *st, const char *folder, unsigned flags,
                  const void *data, size_t len,
                  char id_out[STORE_ID_MAX + 1], struct err *err);
    /* section NULL: the whole raw message. */
    struct store_stream *(*stream_open)(struct store *st, const char *folder,
                                        const char *id, const char *section,
                                        struct err *err);
    /* Optional: the part decoded from its transfer encoding by the server
     * (IMAP BINARY, RFC 3516); NULL with no error when it cannot. A store
     * with it has stream_size too: a refusal to decode must show there,
     * before any byte, so the caller can fall back to the raw part. */
    struct store_stream *(*stream_open_decoded)(struct store *st,
                                                const char *folder,
                                                const char *id,
                                                const char *section,
                                                struct err *err);
    ssize_t (*stream_read)(struct store_stream *s, void *buf, size_t max,
                           struct err *err);
    /* Optional (NULL: nothing is kept): store_keep_derived and
     * store_derived. */
    void (*keep_derived)(struct store *st, const char *folder,
                         const char *id, const char *key, const void *data,
                         size_t len);
    GBytes *(*derived)(struct store *st, const char *folder, const char *id,
                       const char *key);
    /* Optional (NULL: size unknown): store_stream_size. */
    int (*stream_size)(struct store_stream *s, uint64_t *size_out,
                       struct err *err);
    void (*stream_close)(struct store_stream *s);
    /* Optional (NULL: nothing to do): store_stream_paced. */
    void (*stream_paced)(struct store_stream *s);
    /* Optional (NULL: no neighbours): store_neighbours. */
    void (*neighbours)(struct store *st, struct arena *a, const char *folder,
                       const char *id, const char **prev_out,
                       const char **next_out);
    /* Cheap check that the connection still works (IMAP NOOP). */
    int (*ping)(struct store *st, struct err *err);
    /* Logs out and frees; st is gone afterwards. */
    void (*close)(struct store *st);
};

struct store {
    const struct store_ops *ops;
    unsigned caps;          /* enum store_cap bits */
    const struct cfg_server *server;
    bool broken;            /* a connection or protocol error happened, or
                               the store is spent (POP3 after QUIT): the
                               pool must not reuse this store */
    unsigned idle_max;      /* seconds it may wait idle in the pool; 0:
                               the pool's own pool_idle */
};

/* What a store remembers for one session across its connections (POP3:
 * headers by UIDL, the messages read, the last message retrieved), which
 * the pool closes and reopens at will. Reference-counted and thread-safe:
 * the session holds one reference, each store of the session another. A
 * backend keeps its data in it (store_memo_data), created on first use. */
struct store_memo;

/* Never returns NULL. */
struct store_memo *store_memo_new(void);
struct store_memo *store_memo_ref(struct store_memo *m);
/* Drops a reference; the last one frees the backend's data with its
 * free function. NULL-safe; sets *m to NULL. */
void store_memo_unref(struct store_memo **m);
/* Locks m and returns its data, making it with make() (and remembering
 * free_fn for it) when there is none yet. Unlock with store_memo_unlock
 * before anything that waits on the network. */
void *store_memo_lock(struct store_memo *m, void *(*make)(void),
                      void (*free_fn)(void *));
void store_memo_unlock(struct store_memo *m);

/* Credentials as the session gives them to the store; never logged. */
struct store_login {
    const struct cfg_server *server;
    const char *user;
    const char *password;
    unsigned connect_timeout, io_timeout; /* seconds */
    unsigned command_timeout; /* seconds, a command's whole reply */
    uint64_t max_message;     /* cfg max_message_size */
    unsigned pop3_idle;       /* cfg pop3_idle, seconds */
    struct store_memo *memo;  /* the session's; NULL: the store makes its
                                 own. The store takes a reference. */
    const char *client_addr;  /* the browser's address at login, for the
                                 server's own throttling; may be NULL */
};

/* Opens a connection to login->server and logs in. ERR_AUTH when the server
 * refused the credentials (message without the password), ERR_CONN /
 * ERR_TIMEOUT / ERR_PROTO otherwise. Process-lifetime caches may be used. */
struct store *store_open(const struct store_login *login, struct err *err);

/* NULL-safe; sets *st to NULL. */
void store_close(struct store **st);

static inline bool
store_has_cap(const struct store *st, enum store_cap cap)
{
    return (st->caps & cap) != 0;
}

ATTR_NODISCARD int store_folder_list(struct store *st, struct arena *a,
                                     struct store_folder_list *out,
                                     struct err *err);
/* The selectable folders' paths (for "move to"), cached per connection:
 * no round trip on most calls. */
ATTR_NODISCARD int store_folder_names(struct store *st, struct arena *a,
                                      const char ***names_out, size_t *n_out,
                                      struct err *err);
ATTR_NODISCARD int store_summary_page(struct store *st,
                                      const struct store_page_query *q,
                                      struct arena *a, struct store_page *out,
                                      struct err *err);
ATTR_NODISCARD int store_ping(struct store *st, struct err *err);

/* The ids before and after id in folder's list as it was last listed
 * (its sort and search: the list the user came from), for the message
 * page's Previous and Next; in a. NULL at either end, and both when no
 * list of folder is known or id is not in it. No round trip: IMAP keeps
 * the connection's last sort order, POP3 sorts its snapshot again (by
 * sender or subject from the session's cached summaries). */
void store_neighbours(struct store *st, struct arena *a, const char *folder,
                      const char *id, const char **prev_out,
                      const char **next_out);

/* The message's envelope, flags and structure (and its raw header block
 * when with_headers). ERR_NOT_FOUND for an unknown folder or id. */
ATTR_NODISCARD int store_message_get(struct store *st, const char *folder,
                                     const char *id, bool with_headers,
                                     struct arena *a,
                                     struct store_message *out,
                                     struct err *err);

/* The message's envelope and structure, which never change for an id
 * (RFC 9051 §2.3.1.1): a store may answer from what it remembers of the
 * message it read last, without a round trip. Its flags may be stale: for
 * /body, /part and /source, which do not show them. */
ATTR_NODISCARD int store_message_structure(struct store *st,
                                           const char *folder,
                                           const char *id, struct arena *a,
                                           struct store_message *out,
                                           struct err *err);

/* A deep copy of src, every string and array in a. */
void store_message_copy(struct arena *a, const struct store_message *src,
                        struct store_message *dst);

/* Adds (or removes) flags on messages; ERR_UNSUPPORTED without
 * STORE_CAP_FLAGS. */
ATTR_NODISCARD int store_flags_change(struct store *st, const char *folder,
                                      const char *const *ids, size_t n,
                                      unsigned flags, bool add,
                                      struct err *err);

/* Moves (keep false) or copies (keep true) messages to folder to; to NULL
 * deletes them for good. IMAP: MOVE when offered, else COPY + \Deleted +
 * UID EXPUNGE of just these (UIDPLUS), so other messages marked \Deleted
 * stay. POP3: DELE, committed at once with QUIT (the store is then spent:
 * the pool opens a new one). ERR_NOT_FOUND for an unknown folder; ids the
 * mailbox no longer holds are skipped. */
ATTR_NODISCARD int store_messages_transfer(struct store *st,
                                           const char *folder,
                                           const char *const *ids, size_t n,
                                           const char *to, bool keep,
                                           struct err *err);

/* Creates, renames, deletes, (un)subscribes or empties a folder. */
ATTR_NODISCARD int store_folder_change(struct store *st,
                                       enum store_folder_op op,
                                       const char *path, const char *new_path,
                                       struct err *err);

/* Appends a message (RFC 5322 bytes) with flags; id_out gets its id when
 * the server tells (UIDPLUS), else "". id_out may be NULL. */
ATTR_NODISCARD int store_append(struct store *st, const char *folder,
                                unsigned flags, const void *data, size_t len,
                                char id_out[STORE_ID_MAX + 1],
                                struct err *err);

/* Opens a stream of one part's raw (still transfer-encoded) bytes, or of
 * the whole message when section is NULL. The store is busy until the
 * stream is closed; closing before the end makes the store unusable
 * (st->broken). */
struct store_stream *store_stream_open(struct store *st, const char *folder,
                                       const char *id, const char *section,
                                       struct err *err);
/* A stream of one part's bytes decoded from its transfer encoding (base64
 * or quoted-printable) by the server, which spares postern the decoding
 * of a big download. NULL with err unset when the store cannot: open the
 * raw stream then. */
struct store_stream *store_stream_open_decoded(struct store *st,
                                               const char *folder,
                                               const char *id,
                                               const char *section,
                                               struct err *err);
/* Before the first read: how many bytes the stream will give, as the
 * server announced it (1), or 0 when the store cannot tell; -1 with err
 * when the server refuses the part (it would fail the first read). The
 * reads may still give more or fewer bytes from a broken server: a caller
 * that promised the size must stop at it or fail at a short end. */
ATTR_NODISCARD int store_stream_size(struct store_stream *s,
                                     uint64_t *size_out, struct err *err);
/* Next bytes (at most max); 0 at the end; -1 with err. */
ATTR_NODISCARD ssize_t store_stream_read(struct store_stream *s, void *buf,
                                         size_t max, struct err *err);
void store_stream_close(struct store_stream **s);
/* The stream goes out at a browser's pace (a download): once its bytes
 * flow, the server's reply is no longer held to command_timeout as a
 * whole (a slow phone would cut it); each read keeps io_timeout. Streams
 * read into memory (a page being built) keep the limit. */
void store_stream_paced(struct store_stream *s);

/* A part's raw bytes, up to max: appended to out; *truncated_out says
 * whether there was more. Streams under the hood. */
ATTR_NODISCARD int store_part_raw(struct store *st, const char *folder,
                                  const char *id, const char *section,
                                  size_t max, GString *out,
                                  bool *truncated_out, struct err *err);

/* Something made from one message (the body frame /message renders for
 * the /body request that follows it), kept beside the message's parts
 * under key ("frame:..."; never a section number) as long as they are:
 * a message's content never changes for its id. Best effort: a store may
 * keep nothing, or forget it at any time. */
void store_keep_derived(struct store *st, const char *folder, const char *id,
                        const char *key, const void *data, size_t len);
/* What store_keep_derived kept (a new reference: unref it), or NULL. */
GBytes *store_derived(struct store *st, const char *folder, const char *id,
                      const char *key);

/* The part of m with that section, or NULL. */
const struct mime_part *store_message_part(const struct store_message *m,
                                           const char *section);

#endif
