/* store_imap.h - the store interface over an IMAP connection.
 * Layer: store. */
#ifndef POSTERN_STORE_STORE_IMAP_H
#define POSTERN_STORE_STORE_IMAP_H

#include "store/store.h"

/* Connects, logs in, learns the namespace. See store_open(). */
struct store *store_imap_open(const struct store_login *login,
                              struct err *err);

#endif
