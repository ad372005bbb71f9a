/* net_tls.h - OpenSSL plumbing for net_conn: client contexts cached for the
 * process (one per CA file, one for the system store) and a socket BIO that
 * never raises SIGPIPE. Layer: net. Trust: CA files are operator input. */
#ifndef POSTERN_NET_NET_TLS_H
#define POSTERN_NET_NET_TLS_H

#include <openssl/ssl.h>

#include "core/attr.h"
#include "core/err.h"

/* The client context for ca_file (NULL: the system trust store, OpenSSL's
 * default paths), created on first use and cached for the process. TLS 1.2
 * at least, SSL_VERIFY_PEER, no renegotiation. The result is borrowed and
 * stays valid until net_tls_cleanup(); SSL_new() takes its own reference.
 * Thread-safe. ca_file is read once per process: a CA file replaced on disk
 * is seen after a restart. NULL with ERR_CONFIG "CA file PATH: reason" when
 * the file cannot be read or holds no certificate (failures are not cached,
 * so a fixed file works on the next call), ERR_INTERNAL if OpenSSL cannot
 * make a context at all. */
ATTR_NODISCARD SSL_CTX *net_tls_ctx_get(const char *ca_file, struct err *err);

/* A BIO over the connected, non-blocking socket fd: send(MSG_NOSIGNAL) and
 * recv(), with the retry flags OpenSSL expects for EAGAIN and EINTR, and
 * BIO_eof() true once recv() saw the end of the stream. It does not close
 * fd. Owned by the caller until handed to SSL_set_bio(). Aborts on OOM. */
BIO *net_tls_bio_new(int fd);

/* Frees the cached contexts and the BIO method. For the end of main() (and
 * of tests), when no connection is open any more; the cache starts afresh if
 * used again afterwards. */
void net_tls_cleanup(void);

#endif
