/* http_tls.h - the certificate and key of the embedded HTTPS server
 * (tls_cert, tls_key), read and checked once at start-up. Layer: http.
 * Trust: operator files; they are checked, and the key is wiped at exit. */
#ifndef POSTERN_HTTP_HTTP_TLS_H
#define POSTERN_HTTP_HTTP_TLS_H

#include "core/attr.h"
#include "core/cfg.h"
#include "core/err.h"

#define HTTP_TLS_FILE_MAX (1u * 1024 * 1024) /* bytes of one PEM file */

/* GnuTLS priorities for libmicrohttpd: TLS 1.3 and 1.2, nothing older. */
#define HTTP_TLS_PRIORITIES                                                    \
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:%SERVER_PRECEDENCE"

struct http_tls {
    char *cert_pem; /* NUL-terminated; NULL when TLS is off */
    char *key_pem;  /* wiped by http_tls_deinit */
};

/* When cfg has tls_cert and tls_key, reads both and checks (OpenSSL)
 * that the first holds a PEM certificate (chain), the second an
 * unencrypted PEM private key, and that the key is the certificate's.
 * -1 with ERR_CONFIG naming the configuration file, the key and the file
 * ("CONF: [postern] tls_cert: cannot read FILE: No such file or
 * directory") otherwise. 0 and tls zeroed when TLS is not configured. */
ATTR_NODISCARD int http_tls_load(const struct cfg *cfg, struct http_tls *tls,
                                 struct err *err);

/* Wipes the key and frees both. NULL-safe fields; tls stays usable. */
void http_tls_deinit(struct http_tls *tls);

#endif
