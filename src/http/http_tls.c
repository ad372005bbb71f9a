/* http_tls.c - reads and checks the embedded server's PEM certificate and
 * key with OpenSSL, so that a wrong file is named at start-up instead of
 * failing in libmicrohttpd's GnuTLS later. Layer: http. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "http/http_tls.h"

/* Reads the whole file named by [postern] key into *out (NUL-ended). */
static int
http_tls_read(const struct cfg *cfg, const char *key, const char *path,
              char **out, struct err *err)
{
    FILE *f = fopen(path, "rb");
    char *data;
    size_t len;

    if (f == NULL) {
        err_set(err, ERR_CONFIG, "%s: [postern] %s: cannot read %s: %s",
                cfg->path, key, path, strerror(errno));
        return -1;
    }
    data = g_malloc(HTTP_TLS_FILE_MAX + 1);
    len = fread(data, 1, HTTP_TLS_FILE_MAX + 1, f);
    if (ferror(f)) {
        err_set(err, ERR_CONFIG, "%s: [postern] %s: cannot read %s: %s",
                cfg->path, key, path, strerror(errno));
    } else if (len > HTTP_TLS_FILE_MAX || memchr(data, '\0', len) != NULL) {
        err_set(err, ERR_CONFIG,
                "%s: [postern] %s: %s is not a PEM file "
                "(%s)",
                cfg->path, key, path,
                len > HTTP_TLS_FILE_MAX ? "over 1 MiB" : "NUL bytes in it");
    }
    fclose(f);
    if (err->kind != ERR_NONE) {
        OPENSSL_cleanse(data, HTTP_TLS_FILE_MAX + 1);
        g_free(data);
        return -1;
    }
    data[len] = '\0';
    *out = data;
    return 0;
}

/* An encrypted key cannot be opened unattended: no passphrase. */
static int
http_tls_no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return 0;
}

static const char *
http_tls_ssl_error(void)
{
    unsigned long e = ERR_peek_last_error();
    const char *why = e != 0 ? ERR_reason_error_string(e) : NULL;

    return why != NULL ? why : "unreadable";
}

static int
http_tls_check(const struct cfg *cfg, const struct http_tls *tls,
               struct err *err)
{
    BIO *cb = BIO_new_mem_buf(tls->cert_pem, -1);
    BIO *kb = BIO_new_mem_buf(tls->key_pem, -1);
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    int rc = -1;

    ERR_clear_error();
    if (cb == NULL || kb == NULL) {
        err_set(err, ERR_INTERNAL, "BIO_new_mem_buf failed");
        goto done;
    }
    cert = PEM_read_bio_X509(cb, NULL, NULL, NULL);
    if (cert == NULL) {
        err_set(err, ERR_CONFIG,
                "%s: [postern] tls_cert: no PEM "
                "certificate in %s (%s)",
                cfg->path, cfg->tls_cert, http_tls_ssl_error());
        goto done;
    }
    key = PEM_read_bio_PrivateKey(kb, NULL, http_tls_no_passphrase, NULL);
    if (key == NULL) {
        err_set(err, ERR_CONFIG,
                "%s: [postern] tls_key: no unencrypted "
                "PEM private key in %s (%s)",
                cfg->path, cfg->tls_key, http_tls_ssl_error());
        goto done;
    }
    if (X509_check_private_key(cert, key) != 1) {
        err_set(err, ERR_CONFIG,
                "%s: [postern] tls_key: %s is not the "
                "key of the certificate in %s",
                cfg->path, cfg->tls_key, cfg->tls_cert);
        goto done;
    }
    rc = 0;
done:
    ERR_clear_error();
    EVP_PKEY_free(key);
    X509_free(cert);
    BIO_free(kb);
    BIO_free(cb);
    return rc;
}

int
http_tls_load(const struct cfg *cfg, struct http_tls *tls, struct err *err)
{
    memset(tls, 0, sizeof(*tls));
    if (cfg->tls_cert == NULL)
        return 0; /* cfg_load makes sure both or neither are set */
    if (http_tls_read(cfg, "tls_cert", cfg->tls_cert, &tls->cert_pem, err) <
            0 ||
        http_tls_read(cfg, "tls_key", cfg->tls_key, &tls->key_pem, err) < 0 ||
        http_tls_check(cfg, tls, err) < 0) {
        http_tls_deinit(tls);
        return -1;
    }
    return 0;
}

void
http_tls_deinit(struct http_tls *tls)
{
    if (tls->key_pem != NULL) {
        OPENSSL_cleanse(tls->key_pem, strlen(tls->key_pem));
        g_free(tls->key_pem);
    }
    g_free(tls->cert_pem);
    tls->key_pem = NULL;
    tls->cert_pem = NULL;
}
