/* msg_memo.c - the last message a store read: structure and small parts.
 * Layer: store. Bounded by LIM_IMAP_MEMO_BYTES and LIM_IMAP_MEMO_SECTIONS. */
#include <string.h>

#include <glib.h>

#include "core/limits.h"
#include "store/msg_memo.h"

struct msg_memo {
    char *folder, *id;          /* the message, or NULL */
    uint64_t validity;
    struct arena *arena;        /* the structure; NULL when not known */
    struct store_message m;
    GHashTable *parts;          /* section ("" = whole) -> GBytes */
    size_t part_bytes;
};

struct msg_memo *
msg_memo_new(void)
{
    struct msg_memo *memo = g_new0(struct msg_memo, 1);

    memo->parts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                        (GDestroyNotify)g_bytes_unref);
    return memo;
}

void
msg_memo_clear(struct msg_memo *memo)
{
    g_clear_pointer(&memo->folder, g_free);
    g_clear_pointer(&memo->id, g_free);
    arena_free(&memo->arena);
    memset(&memo->m, 0, sizeof(memo->m));
    g_hash_table_remove_all(memo->parts);
    memo->part_bytes = 0;
    memo->validity = 0;
}

void
msg_memo_free(struct msg_memo **memo)
{
    if (memo == NULL || *memo == NULL)
        return;
    msg_memo_clear(*memo);
    g_hash_table_destroy((*memo)->parts);
    g_free(*memo);
    *memo = NULL;
}

static bool
msg_memo_is(const struct msg_memo *memo, const char *folder,
            uint64_t validity, const char *id)
{
    return memo->folder != NULL && memo->validity == validity &&
           strcmp(memo->folder, folder) == 0 && strcmp(memo->id, id) == 0;
}

/* Makes (folder, validity, id) the remembered message, forgetting another. */
static void
msg_memo_switch(struct msg_memo *memo, const char *folder, uint64_t validity,
                const char *id)
{
    if (msg_memo_is(memo, folder, validity, id))
        return;
    msg_memo_clear(memo);
    memo->folder = g_strdup(folder);
    memo->id = g_strdup(id);
    memo->validity = validity;
}

void
msg_memo_set_message(struct msg_memo *memo, const char *folder,
                     uint64_t validity, const char *id,
                     const struct store_message *m)
{
    msg_memo_switch(memo, folder, validity, id);
    arena_free(&memo->arena);
    memo->arena = arena_new(0);
    store_message_copy(memo->arena, m, &memo->m);
}

bool
msg_memo_get_message(struct msg_memo *memo, const char *folder,
                     uint64_t validity, const char *id, struct arena *a,
                     struct store_message *out)
{
    if (!msg_memo_is(memo, folder, validity, id) || memo->arena == NULL)
        return false;
    store_message_copy(a, &memo->m, out);
    return true;
}

void
msg_memo_add_part(struct msg_memo *memo, const char *folder,
                  uint64_t validity, const char *id, const char *section,
                  const void *data, size_t len)
{
    const char *key = section != NULL ? section : "";

    msg_memo_switch(memo, folder, validity, id);
    if (g_hash_table_contains(memo->parts, key) ||
        g_hash_table_size(memo->parts) >= LIM_IMAP_MEMO_SECTIONS ||
        len > LIM_IMAP_MEMO_BYTES - memo->part_bytes)
        return;
    g_hash_table_insert(memo->parts, g_strdup(key), g_bytes_new(data, len));
    memo->part_bytes += len;
}

GBytes *
msg_memo_part(struct msg_memo *memo, const char *folder, uint64_t validity,
              const char *id, const char *section)
{
    GBytes *b;

    if (!msg_memo_is(memo, folder, validity, id))
        return NULL;
    b = g_hash_table_lookup(memo->parts, section != NULL ? section : "");
    return b != NULL ? g_bytes_ref(b) : NULL;
}
