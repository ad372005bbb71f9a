/* session.h - the session table (DESIGN §4): sessions kept under a hash of
 * the cookie's id, the password only sealed under the cookie's key.
 * Layer: session. Trust: cookie values and CSRF tokens are UNTRUSTED; they
 * are decoded strictly and compared in constant time. */
#ifndef POSTERN_SESSION_SESSION_H
#define POSTERN_SESSION_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "core/attr.h"
#include "core/cfg.h"
#include "core/err.h"
#include "session/vault.h"

#define SESSION_COOKIE_NAME "postern"
#define SESSION_ID_LEN 32u     /* random bytes of id in the cookie */
#define SESSION_KEY_LEN 32u    /* random bytes of vault key in the cookie */
#define SESSION_HASH_LEN 32u   /* SHA-256 of the id: what the server keeps */
#define SESSION_COOKIE_LEN 86u /* base64url(id || key), no padding */
#define SESSION_CSRF_LEN 43u   /* base64url of 32 random bytes */
#define SESSION_CSRF_MASKED_LEN 86u /* base64url of mask || mask^token */
#define SESSION_USER_MAX 512u  /* bytes of a login name (ERR_LIMIT beyond) */

struct session;
struct session_table;

/* The vault key from the cookie. Lives for one request on the stack of
 * whoever called session_lookup; wipe it with session_key_wipe. */
struct session_key {
    unsigned char bytes[SESSION_KEY_LEN];
};

/* Overwrites the key with zeros in a way the compiler cannot drop. */
void session_key_wipe(struct session_key *key);

/* ---- Where sessions are kept ---------------------------------------- */

/* Chooses sessions for session_store_ops.take_if; runs under the store's
 * lock, so it must only read the session (session_is_expired does). */
typedef bool session_store_pick_fn(struct session *s, void *ctx);

/* The table keeps its sessions through this interface, so that a shared
 * store (Redis, DESIGN §10) can replace the in-memory one. Every function
 * is safe to call from any thread. A store holds one reference to each
 * session it keeps (session_ref); "passes to the caller" below means the
 * caller now owns that reference. */
struct session_store_ops {
    const char *name;
    /* Frees the store; it must be empty (the table empties it first). */
    void (*free)(void *impl);
    /* Keeps s under session_id_hash(s), taking a new reference. -1 with
     * ERR_INTERNAL when that hash is already there. */
    int (*put)(void *impl, struct session *s, struct err *err);
    /* The session kept under hash, with a new reference; NULL if none. */
    struct session *(*get)(void *impl,
                           const unsigned char hash[SESSION_HASH_LEN]);
    /* Takes s out. true when it was there: the store's reference passes
     * to the caller. false when it was not (someone else took it). */
    bool (*remove)(void *impl, struct session *s);
    /* Takes out every session for which pick(s, ctx) is true (all when
     * pick is NULL) and appends it to out; each reference passes to the
     * caller. */
    void (*take_if)(void *impl, session_store_pick_fn *pick, void *ctx,
                    GPtrArray *out);
    size_t (*count)(void *impl);
};

/* The in-memory store (session_mem.c): a GHashTable under one mutex. */
extern const struct session_store_ops session_mem_ops;

/* A new, empty in-memory store for session_table_new_with_store. */
void *session_mem_new(void);

/* ---- The table -------------------------------------------------------- */

/* A table over an in-memory store. Copies session_idle and session_max
 * (seconds) from cfg; cfg is not kept. Never returns NULL. */
struct session_table *session_table_new(const struct cfg *cfg);

/* The same over the given store, which the table then owns (ops->free at
 * session_table_free). */
struct session_table *session_table_new_with_store(
    const struct cfg *cfg, const struct session_store_ops *ops, void *impl);

/* Ends every session (as session_destroy does: credentials wiped, pooled
 * stores closed), frees the table and sets *t to NULL. Sessions still
 * referenced elsewhere stay valid as wiped shells until their last
 * session_unref. NULL-safe. */
void session_table_free(struct session_table **t);

/* Replaces the clock used for idle and age checks (microseconds, default
 * g_get_monotonic_time). For tests; set it before any session exists. */
void session_table_set_clock(struct session_table *t, int64_t (*now)(void));

/* Creates a session for user on server and logs nothing. password is
 * sealed in the vault under a fresh random key and never kept in clear;
 * the caller still owns (and wipes) its own copy. On success returns the
 * session with a reference for the caller (session_unref it) and sets
 * *cookie_out to the cookie value (SESSION_COOKIE_LEN base64url chars,
 * g_malloc'd; release it with session_cookie_free, which wipes it). The
 * cookie is the only place id and key exist afterwards. ERR_INPUT for an
 * empty user, ERR_LIMIT for a user over SESSION_USER_MAX or a password
 * over VAULT_SECRET_MAX, ERR_INTERNAL when randomness or crypto fails. */
struct session *session_create(struct session_table *t,
                               const struct cfg_server *server,
                               const char *user, const char *password,
                               char **cookie_out, struct err *err);

/* Wipes and frees a cookie value from session_create; sets *cookie to
 * NULL. NULL-safe. */
void session_cookie_free(char **cookie);

/* The session for cookie (a cookie value; NULL allowed), with a new
 * reference for the caller, and the vault key from it in *key_out (wipe it
 * when the request ends). NULL, with *key_out zeroed, when the value is
 * malformed (not exactly SESSION_COOKIE_LEN canonical base64url chars),
 * unknown, carries the wrong key, or names a session idle longer than
 * session_idle or older than session_max; expired sessions are ended on
 * the spot (credentials wiped, stores closed). Success marks the session
 * as used now. Secrets are compared in constant time. Logs nothing. */
struct session *session_lookup(struct session_table *t, const char *cookie,
                               struct session_key *key_out);

/* One more reference to s. */
void session_ref(struct session *s);

/* Drops a reference and sets *s to NULL; the last one wipes and frees the
 * session (and its store cache). NULL-safe. */
void session_unref(struct session **s);

/* Logout: takes s out of t, wipes its sealed credentials now and closes
 * its pooled stores (those in use are closed when they are released).
 * Requests still holding a reference keep a valid but dead session:
 * session_password then fails with ERR_AUTH and pool_acquire refuses.
 * Calling it again, or on a session already expired, is harmless. The
 * caller's reference stays the caller's. */
void session_destroy(struct session_table *t, struct session *s);

/* The login name, valid while the caller holds a reference. */
const char *session_user(const struct session *s);

/* The server chosen at login (from the configuration). */
const struct cfg_server *session_server(const struct session *s);

/* SHA-256 of the cookie's id: the key a session store files s under. */
const unsigned char *session_id_hash(const struct session *s);

/* A fresh random token like the CSRF token: SESSION_CSRF_LEN base64url
 * characters of 32 random bytes, NUL-terminated in out. -1 (ERR_INTERNAL)
 * only when the system has no randomness to give. */
ATTR_NODISCARD int session_token_new(char out[SESSION_CSRF_LEN + 1],
                                     struct err *err);

/* True when t has the shape session_token_new() gives (43 base64url
 * characters): checked before a browser-sent token is used anywhere. */
bool session_token_is_wellformed(const char *t);

/* The per-session CSRF token: SESSION_CSRF_LEN base64url chars of 32
 * random bytes, fixed for the session's life. Valid while the caller holds
 * a reference. */
const char *session_csrf_token(const struct session *s);

/* Whether token (from a form field or X-CSRF-Token; may be NULL) is s's
 * CSRF token, bare or masked (session_csrf_mask). Constant time for
 * tokens of either length; false for NULL and for every other length. */
bool session_csrf_ok(const struct session *s, const char *token);

/* Masks a token (of session_token_new's shape) for one response, so that
 * a page compressed with attacker-chosen text beside it tells nothing
 * about the token (BREACH): out gets base64url(m || (m XOR t)) of a fresh
 * random 32-byte m and the token's 32 bytes t, SESSION_CSRF_MASKED_LEN
 * characters and a NUL. Every mask of a token unmasks to it. false when
 * token is not canonical base64url of 32 bytes, or no randomness. */
ATTR_NODISCARD bool session_csrf_mask(const char *token,
                                      char out[SESSION_CSRF_MASKED_LEN + 1]);

/* What a browser sent back, as a bare token in out: a masked token is
 * unmasked, a bare one (SESSION_CSRF_LEN characters) copied. false for
 * NULL and anything else. Compare out in constant time. */
bool session_csrf_unmask(const char *sent, char out[SESSION_CSRF_LEN + 1]);

/* Opens the sealed password with key. Returns a NUL-terminated copy that
 * the caller releases with vault_secret_free, as soon as it is sent.
 * NULL with ERR_AUTH when key is not this session's or the session has
 * been destroyed or has expired. */
char *session_password(struct session *s, const struct session_key *key,
                       struct err *err);

/* Whether s was idle past session_idle or is older than session_max at
 * t's clock reading now_us. */
bool session_is_expired(const struct session_table *t,
                        const struct session *s, int64_t now_us);

/* Sessions in the table now. */
size_t session_table_count(struct session_table *t);

/* Ends every session idle past session_idle or older than session_max
 * (credentials wiped, stores closed, table reference dropped) and returns
 * how many. Closing stores may talk to mail servers; no lock of the table
 * is held while it does. */
size_t session_table_reap(struct session_table *t);

/* ---- Per-session store cache ------------------------------------------ */

/* What the session's mail store can do (enum store_cap bits of the store
 * it used last; 0 before the first), so every page can adapt without
 * asking the server. */
void session_set_store_caps(struct session *s, unsigned caps);
unsigned session_store_caps(const struct session *s);

/* One opaque object per session where the mail store keeps state between
 * requests (folder state, say). Nothing from a request arena may go in it
 * (STYLE §3.5). The cache has its own lock: touch it only between
 * session_cache_lock and session_cache_unlock, and take that lock only
 * while holding a store from pool_acquire for s, never while waiting in
 * pool_acquire (that order keeps requests of one session from deadlocking
 * on each other). session_cache and session_set_cache abort when the
 * calling thread does not hold the lock. */
void session_cache_lock(struct session *s);
void session_cache_unlock(struct session *s);

/* The cache object, or NULL when none was set. */
void *session_cache(struct session *s);

/* Replaces the cache object, freeing the previous one with its own
 * free_fn. The session owns cache from now on and frees it with free_fn
 * (may be NULL) when it is replaced or when the session is freed. */
void session_set_cache(struct session *s, void *cache,
                       void (*free_fn)(void *));

#endif
