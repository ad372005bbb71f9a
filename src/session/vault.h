/* vault.h - AES-256-GCM box for one secret (the mail password), sealed
 * under a key that only the session cookie carries (DESIGN §4).
 * Layer: session. Trust: a box is believed only once its GCM tag checks. */
#ifndef POSTERN_SESSION_VAULT_H
#define POSTERN_SESSION_VAULT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/attr.h"
#include "core/err.h"

#define VAULT_KEY_LEN 32u
#define VAULT_NONCE_LEN 12u
#define VAULT_TAG_LEN 16u
/* Longest secret vault_seal accepts (ERR_LIMIT beyond). Passwords and
 * even long OAuth tokens stay well below it. */
#define VAULT_SECRET_MAX 4096u
/* The sealed text is the secret's length (2 bytes) and the secret, padded
 * with zeros to a multiple of this, so a box does not tell how long the
 * password is. */
#define VAULT_PAD 64u

/* What a session keeps instead of the password. Zero-initialize it (or
 * vault_box_wipe it) before vault_seal. */
struct vault_box {
    unsigned char nonce[VAULT_NONCE_LEN]; /* random, fresh for every seal */
    unsigned char tag[VAULT_TAG_LEN];
    unsigned char *ct;                    /* g_malloc'd, ct_len bytes */
    size_t ct_len;                        /* a multiple of VAULT_PAD */
    bool is_sealed;                       /* false once wiped */
};

/* Encrypts secret (len bytes, len <= VAULT_SECRET_MAX) under key with a
 * fresh random nonce, binding aad (aad_len bytes, may be 0) into the tag:
 * the box then opens only with the same key and the same aad. out must be
 * zeroed or wiped; on failure it stays unsealed. ERR_LIMIT for a secret
 * that is too long, ERR_INTERNAL when OpenSSL or the random generator
 * fails. Copies nothing of secret except into the ciphertext. */
ATTR_NODISCARD int vault_seal(const unsigned char key[VAULT_KEY_LEN],
                              const unsigned char *aad, size_t aad_len,
                              const char *secret, size_t len,
                              struct vault_box *out, struct err *err);

/* Decrypts box with key and aad. On success *secret_out is a NUL-terminated
 * copy of the secret that the caller owns and must release with
 * vault_secret_free (which wipes it). ERR_AUTH when the key or aad is not
 * the one sealed with, the box was tampered with, or it was wiped;
 * *secret_out is then NULL and no partial plaintext is left in memory. */
ATTR_NODISCARD int vault_open(const unsigned char key[VAULT_KEY_LEN],
                              const struct vault_box *box,
                              const unsigned char *aad, size_t aad_len,
                              char **secret_out, struct err *err);

/* Wipes (OPENSSL_cleanse) and frees a secret from vault_open, and sets
 * *secret to NULL. NULL-safe. Only for strings vault_open returned. */
void vault_secret_free(char **secret);

/* Wipes the box's nonce, tag and ciphertext, frees the ciphertext and
 * leaves the box unsealed (ready for vault_seal again). NULL-safe. */
void vault_box_wipe(struct vault_box *box);

#endif
