/* store_imap.h - the store interface over an IMAP connection.
 * Layer: store. */
#ifndef POSTERN_STORE_STORE_IMAP_H
#define POSTERN_STORE_STORE_IMAP_H

#include "imap/imap_resp.h"
#include "store/store.h"

/* Connects, logs in, learns the namespace. See store_open(). */
struct store *store_imap_open(const struct store_login *login,
                              struct err *err);

/* Reads a FETCH BODYSTRUCTURE value (RFC 3501 §7.4.2, RFC 9051 §7.5.2)
 * into *parts_out: an arena array of *n_out parts in pre-order, parts[0]
 * the root, parent indices valid, sections as IMAP numbers them ("1",
 * "1.2"; a multipart root has ""). Every string is copied into a, so the
 * result outlives the response. Pure: no I/O, bs is only read; this is
 * what message_get does with the server's answer, exposed for the fuzzer
 * (tests/fuzz/fuzz_bodystructure.c).
 * Returns 0, or -1 with ERR_PROTO for a structure that is not a list
 * (or an empty one) and ERR_LIMIT past LIM_MIME_DEPTH levels or
 * LIM_MIME_PARTS parts; the parts read before the failure are still in
 * *parts_out (never NULL). */
ATTR_NODISCARD int
store_imap_bodystructure_parts(struct arena *a, const struct imap_arg *bs,
                               struct mime_part **parts_out, size_t *n_out,
                               struct err *err);

#endif
