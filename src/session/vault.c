/* vault.c - AES-256-GCM sealing of one secret with OpenSSL EVP.
 * Layer: session. Trust: boxes may have been tampered with; the GCM tag
 * decides, and nothing decrypted is kept when it does not match. */
#include <limits.h>
#include <string.h>

#include <glib.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "session/vault.h"

/* The plaintext that gets encrypted: a 2-byte big-endian length, the
 * secret, zeros up to a multiple of VAULT_PAD. */
#define VAULT_LEN_PREFIX 2u

/* vault_open's result carries its buffer size in front of the string, so
 * vault_secret_free wipes all of it even if the caller changed the text. */
struct vault_secret_hdr {
    size_t size;                /* bytes of text[], NUL included */
    _Alignas(16) char text[];
};

static size_t
vault_padded_len(size_t len)
{
    size_t n = VAULT_LEN_PREFIX + len;

    return (n + VAULT_PAD - 1) / VAULT_PAD * VAULT_PAD;
}

int
vault_seal(const unsigned char key[VAULT_KEY_LEN], const unsigned char *aad,
           size_t aad_len, const char *secret, size_t len,
           struct vault_box *out, struct err *err)
{
    EVP_CIPHER_CTX *ctx = NULL;
    unsigned char *pt = NULL;
    size_t pt_len;
    int n, fin;
    int rc = -1;

    xassert(key != NULL && out != NULL && !out->is_sealed);
    xassert(secret != NULL || len == 0);
    xassert(aad != NULL || aad_len == 0);
    if (len > VAULT_SECRET_MAX) {
        err_set(err, ERR_LIMIT, "secret over %u bytes", VAULT_SECRET_MAX);
        return -1;
    }
    if (aad_len > (size_t)INT_MAX) {
        err_set(err, ERR_INTERNAL, "associated data too long");
        return -1;
    }
    pt_len = vault_padded_len(len);
    pt = g_malloc0(pt_len);
    pt[0] = (unsigned char)(len >> 8);
    pt[1] = (unsigned char)len;
    if (len > 0)
        memcpy(pt + VAULT_LEN_PREFIX, secret, len);
    out->ct = g_malloc(pt_len);
    out->ct_len = pt_len;

    if (RAND_bytes(out->nonce, VAULT_NONCE_LEN) != 1) {
        err_set(err, ERR_INTERNAL, "random generator failed");
        goto done;
    }
    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL ||
        EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, VAULT_NONCE_LEN,
                            NULL) != 1 ||
        EVP_EncryptInit_ex(ctx, NULL, NULL, key, out->nonce) != 1 ||
        (aad_len > 0 &&
         EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1) ||
        EVP_EncryptUpdate(ctx, out->ct, &n, pt, (int)pt_len) != 1 ||
        EVP_EncryptFinal_ex(ctx, out->ct + n, &fin) != 1 ||
        (size_t)n + (size_t)fin != pt_len ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, VAULT_TAG_LEN,
                            out->tag) != 1) {
        err_set(err, ERR_INTERNAL, "AES-256-GCM encryption failed");
        goto done;
    }
    out->is_sealed = true;
    rc = 0;

done:
    EVP_CIPHER_CTX_free(ctx);
    OPENSSL_cleanse(pt, pt_len);
    g_free(pt);
    if (rc < 0)
        vault_box_wipe(out);
    return rc;
}

int
vault_open(const unsigned char key[VAULT_KEY_LEN], const struct vault_box *box,
           const unsigned char *aad, size_t aad_len, char **secret_out,
           struct err *err)
{
    EVP_CIPHER_CTX *ctx = NULL;
    struct vault_secret_hdr *h;
    unsigned char *pt;
    size_t len = 0;
    int n = 0, fin = 0;
    bool ok;

    xassert(key != NULL && box != NULL && secret_out != NULL);
    xassert(aad != NULL || aad_len == 0);
    *secret_out = NULL;
    if (!box->is_sealed || box->ct_len < VAULT_LEN_PREFIX ||
        box->ct_len > vault_padded_len(VAULT_SECRET_MAX) ||
        aad_len > (size_t)INT_MAX) {
        err_set(err, ERR_AUTH, "no sealed credentials");
        return -1;
    }

    /* Decrypt straight into the buffer handed out, so the plaintext never
     * sits in a second place; it is wiped below if the tag is wrong. */
    h = g_malloc(sizeof(*h) + box->ct_len + 1);
    h->size = box->ct_len + 1;
    pt = (unsigned char *)h->text;

    ctx = EVP_CIPHER_CTX_new();
    ok = ctx != NULL &&
         EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, VAULT_NONCE_LEN,
                             NULL) == 1 &&
         EVP_DecryptInit_ex(ctx, NULL, NULL, key, box->nonce) == 1 &&
         (aad_len == 0 ||
          EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aad_len) == 1) &&
         EVP_DecryptUpdate(ctx, pt, &n, box->ct, (int)box->ct_len) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, VAULT_TAG_LEN,
                             (void *)box->tag) == 1 &&
         EVP_DecryptFinal_ex(ctx, pt + n, &fin) == 1 &&
         (size_t)n + (size_t)fin == box->ct_len;
    EVP_CIPHER_CTX_free(ctx);
    if (ok) {
        len = (size_t)pt[0] << 8 | pt[1];
        /* The tag vouches for the bytes, so a bad length means a box
         * from a different format, not an attack; refuse it anyway. */
        ok = len <= box->ct_len - VAULT_LEN_PREFIX;
    }
    if (!ok) {
        OPENSSL_cleanse(h, sizeof(*h) + h->size);
        g_free(h);
        err_set(err, ERR_AUTH, "credentials do not open with this key");
        return -1;
    }
    memmove(pt, pt + VAULT_LEN_PREFIX, len);
    OPENSSL_cleanse(pt + len, h->size - len);   /* NUL and old tail */
    *secret_out = h->text;
    return 0;
}

void
vault_secret_free(char **secret)
{
    struct vault_secret_hdr *h;

    if (secret == NULL || *secret == NULL)
        return;
    h = (struct vault_secret_hdr *)(void *)(*secret -
                                            offsetof(struct vault_secret_hdr,
                                                     text));
    OPENSSL_cleanse(h->text, h->size);
    g_free(h);
    *secret = NULL;
}

void
vault_box_wipe(struct vault_box *box)
{
    if (box == NULL)
        return;
    if (box->ct != NULL) {
        OPENSSL_cleanse(box->ct, box->ct_len);
        g_free(box->ct);
    }
    OPENSSL_cleanse(box, sizeof(*box));
    box->ct = NULL;
    box->ct_len = 0;
    box->is_sealed = false;
}
