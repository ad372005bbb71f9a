/* msg_memo.h - what a store remembers of the message it read last: its
 * structure and its small parts, so /body and /part after /message cost no round trip.
 * Layer: store. A message's content never changes for an id within one validity. */
#ifndef POSTERN_STORE_MSG_MEMO_H
#define POSTERN_STORE_MSG_MEMO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "core/arena.h"
#include "store/store.h"

struct msg_memo;

struct msg_memo *msg_memo_new(void);
/* NULL-safe (memo and *memo). */
void msg_memo_free(struct msg_memo **memo);

/* Remembers m (deep-copied) as the message (folder, validity, id), and
 * forgets the parts of any other message. */
void msg_memo_set_message(struct msg_memo *memo, const char *folder,
                          uint64_t validity, const char *id,
                          const struct store_message *m);

/* The remembered message, copied into a; false when (folder, validity,
 * id) is not the one remembered. */
bool msg_memo_get_message(struct msg_memo *memo, const char *folder,
                          uint64_t validity, const char *id, struct arena *a,
                          struct store_message *out);

/* Remembers one part's raw bytes (section NULL: the whole message) when
 * they fit what is left of LIM_IMAP_MEMO_BYTES; a part of another
 * message makes the memo forget the old one first. */
void msg_memo_add_part(struct msg_memo *memo, const char *folder,
                       uint64_t validity, const char *id, const char *section,
                       const void *data, size_t len);

/* The remembered raw bytes of that part (a new reference: unref it), or
 * NULL. */
GBytes *msg_memo_part(struct msg_memo *memo, const char *folder,
                      uint64_t validity, const char *id, const char *section);

/* Forgets everything (a folder was changed in a way that reuses ids). */
void msg_memo_clear(struct msg_memo *memo);

#endif
