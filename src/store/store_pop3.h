/* store_pop3.h - the store interface over a POP3 connection (DESIGN §6):
 * one folder, messages named by UIDL, no flags on the server. Layer: store. */
#ifndef POSTERN_STORE_STORE_POP3_H
#define POSTERN_STORE_STORE_POP3_H

#include "store/store.h"

/* Connects, logs in (login->server's pop3_auth and apop), and takes the
 * maildrop's snapshot: UIDL and LIST. A server without UIDL is
 * ERR_UNSUPPORTED (postern names messages by it). Headers (TOP n 0), the
 * messages opened and the last message retrieved are remembered in
 * login->memo across connections. See store_open(). */
struct store *store_pop3_open(const struct store_login *login,
                              struct err *err);

#endif
