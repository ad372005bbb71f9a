/* session.c - the session table: cookies, expiry, sealed credentials and
 * CSRF tokens, over a session store (session_mem.c by default).
 * Layer: session. Trust: cookie values and tokens are UNTRUSTED. */
#include <string.h>

#include <glib.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "session/pool.h"
#include "session/session.h"
#include "session/session_priv.h"
#include "session/vault.h"

struct session_table {
    const struct session_store_ops *ops;
    void *impl;
    int64_t idle_us, max_us;
    int64_t (*now)(void);
};

/* Mixed into the hash of the key so the check value is never the hash of
 * anything else we keep. */
static const char session_key_label[] = "postern session key check v1";

/* ==== base64url (RFC 4648 §5), no padding ============================= */

/* GLib does the arithmetic; these wrappers translate the alphabet and are
 * strict: exact length, no padding, no stray characters and zero unused
 * bits, so every byte string has exactly one accepted spelling (a cookie
 * with its last character changed must not open the same session). The
 * buffers live on the stack and are wiped: they hold ids and keys. */

#define B64_RAW_MAX 64u

static size_t
b64url_len(size_t raw_len)
{
    return (raw_len * 4 + 2) / 3;
}

static int
b64url_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/* Writes b64url_len(len) characters and a NUL to out. */
static void
b64url_encode(const unsigned char *in, size_t len, char *out)
{
    char tmp[(B64_RAW_MAX / 3 + 1) * 4 + 8];
    gint state = 0, save = 0;
    size_t n, o = 0;

    xassert(len <= B64_RAW_MAX);
    n = g_base64_encode_step(in, len, FALSE, tmp, &state, &save);
    n += g_base64_encode_close(FALSE, tmp + n, &state, &save);
    for (size_t i = 0; i < n; i++) {
        char c = tmp[i];

        if (c == '=')
            break;
        out[o++] = c == '+' ? '-' : c == '/' ? '_' : c;
    }
    xassert(o == b64url_len(len));
    out[o] = '\0';
    OPENSSL_cleanse(tmp, sizeof(tmp));
}

/* Decodes exactly out_len bytes from in (in_len characters). */
static bool
b64url_decode_exact(const char *in, size_t in_len, unsigned char *out,
                    size_t out_len)
{
    char tmp[(B64_RAW_MAX / 3 + 1) * 4 + 4];
    unsigned char raw[B64_RAW_MAX + 4];
    gint state = 0;
    guint save = 0;
    size_t n = in_len;
    int last = 0;
    bool ok = false;

    xassert(out_len <= B64_RAW_MAX);
    if (in_len != b64url_len(out_len))
        return false;
    for (size_t i = 0; i < in_len; i++) {
        last = b64url_value(in[i]);
        if (last < 0)
            goto done;
        tmp[i] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i];
    }
    /* The last character of a 1- or 2-byte tail has 4 or 2 unused bits. */
    if ((out_len % 3 == 1 && (last & 0x0f) != 0) ||
        (out_len % 3 == 2 && (last & 0x03) != 0))
        goto done;
    while (n % 4 != 0)
        tmp[n++] = '=';
    ok = g_base64_decode_step(tmp, n, raw, &state, &save) == out_len;
    if (ok)
        memcpy(out, raw, out_len);

done:
    OPENSSL_cleanse(tmp, sizeof(tmp));
    OPENSSL_cleanse(raw, sizeof(raw));
    return ok;
}

/* ==== hashing ========================================================== */

static bool
session_sha256(const void *a, size_t a_len, const void *b, size_t b_len,
               unsigned char out[32])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int len = 0;
    bool ok;

    ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
         EVP_DigestUpdate(md, a, a_len) == 1 &&
         (b_len == 0 || EVP_DigestUpdate(md, b, b_len) == 1) &&
         EVP_DigestFinal_ex(md, out, &len) == 1 && len == 32;
    EVP_MD_CTX_free(md);
    return ok;
}

static bool
session_hash_id(const unsigned char *id, unsigned char out[SESSION_HASH_LEN])
{
    return session_sha256(id, SESSION_ID_LEN, NULL, 0, out);
}

static bool
session_hash_key(const unsigned char *key,
                 unsigned char out[SESSION_KEY_CHECK_LEN])
{
    return session_sha256(session_key_label, sizeof(session_key_label), key,
                          SESSION_KEY_LEN, out);
}

void
session_key_wipe(struct session_key *key)
{
    if (key != NULL)
        OPENSSL_cleanse(key->bytes, sizeof(key->bytes));
}

/* ==== session objects ================================================== */

static struct session *
session_alloc(void)
{
    struct session *s = g_new0(struct session, 1);
    pthread_condattr_t ca;

    atomic_init(&s->refs, 1);
    atomic_init(&s->last_used_us, 0);
    atomic_init(&s->cache_owner, 0);
    atomic_init(&s->store_caps, 0);
    xassert(pthread_mutex_init(&s->lock, NULL) == 0);
    xassert(pthread_condattr_init(&ca) == 0);
    xassert(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0);
    xassert(pthread_cond_init(&s->cond, &ca) == 0);
    pthread_condattr_destroy(&ca);
    xassert(pthread_mutex_init(&s->cache_lock, NULL) == 0);
    g_queue_init(&s->idle);
    return s;
}

void
session_ref(struct session *s)
{
    unsigned old = atomic_fetch_add_explicit(&s->refs, 1,
                                             memory_order_relaxed);

    xassert(old > 0);
}

void
session_unref(struct session **sp)
{
    struct session *s = *sp;

    if (s == NULL)
        return;
    *sp = NULL;
    if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
        return;

    /* The pool holds a reference while it counts stores of s, and the
     * cache lock is only held by someone with a reference. */
    xassert(s->n_open == 0 && g_queue_is_empty(&s->idle));
    xassert(atomic_load(&s->cache_owner) == 0);
    vault_box_wipe(&s->box);
    if (s->cache != NULL && s->cache_free != NULL)
        s->cache_free(s->cache);
    if (s->user != NULL) {
        OPENSSL_cleanse(s->user, strlen(s->user));
        g_free(s->user);
    }
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->cache_lock);
    OPENSSL_cleanse(s, sizeof(*s));
    g_free(s);
}

/* Wipes the credentials and has the pool close the session's stores. The
 * session may still be referenced; it just cannot be used any more. No
 * lock may be held by the caller (closing stores talks to servers). */
static void
session_end(struct session *s)
{
    struct pool *pool;

    pthread_mutex_lock(&s->lock);
    if (!s->is_ended) {
        s->is_ended = true;
        vault_box_wipe(&s->box);
    }
    pool = s->pool;
    pthread_mutex_unlock(&s->lock);
    /* A pool that counts stores of s holds a reference to s and stays
     * alive until pool_free, which first forgets every session; s->pool
     * read here is therefore valid unless the caller frees the pool
     * concurrently, which the shutdown order in pool.h rules out. */
    if (pool != NULL)
        pool_drop_session(pool, s);
}

const char *
session_user(const struct session *s)
{
    return s->user;
}

const struct cfg_server *
session_server(const struct session *s)
{
    return s->server;
}

const unsigned char *
session_id_hash(const struct session *s)
{
    return s->id_hash;
}

const char *
session_csrf_token(const struct session *s)
{
    return s->csrf;
}

bool
session_csrf_ok(const struct session *s, const char *token)
{
    char bare[SESSION_CSRF_LEN + 1];
    bool ok;

    /* The length is no secret (every token has one of two); the bytes
     * are. */
    if (!session_csrf_unmask(token, bare))
        return false;
    ok = CRYPTO_memcmp(bare, s->csrf, SESSION_CSRF_LEN) == 0;
    OPENSSL_cleanse(bare, sizeof(bare));
    return ok;
}

bool
session_csrf_mask(const char *token, char out[SESSION_CSRF_MASKED_LEN + 1])
{
    unsigned char raw[64]; /* mask, then mask XOR token */
    bool ok = false;

    if (token == NULL ||
        strnlen(token, SESSION_CSRF_LEN + 1) != SESSION_CSRF_LEN ||
        !b64url_decode_exact(token, SESSION_CSRF_LEN, raw + 32, 32))
        goto done;
    if (RAND_bytes(raw, 32) != 1)
        goto done;
    for (size_t i = 0; i < 32; i++)
        raw[32 + i] ^= raw[i];
    b64url_encode(raw, sizeof(raw), out);
    ok = true;
done:
    OPENSSL_cleanse(raw, sizeof(raw));
    return ok;
}

bool
session_csrf_unmask(const char *sent, char out[SESSION_CSRF_LEN + 1])
{
    unsigned char raw[64];
    size_t n = sent != NULL ? strnlen(sent, SESSION_CSRF_MASKED_LEN + 1) : 0;

    if (n == SESSION_CSRF_LEN) {
        memcpy(out, sent, SESSION_CSRF_LEN + 1);
        return true;
    }
    if (n != SESSION_CSRF_MASKED_LEN ||
        !b64url_decode_exact(sent, SESSION_CSRF_MASKED_LEN, raw,
                             sizeof(raw)))
        return false;
    for (size_t i = 0; i < 32; i++)
        raw[32 + i] ^= raw[i];
    b64url_encode(raw + 32, 32, out);
    OPENSSL_cleanse(raw, sizeof(raw));
    return true;
}

char *
session_password(struct session *s, const struct session_key *key,
                 struct err *err)
{
    char *secret = NULL;
    int rc;

    xassert(key != NULL);
    pthread_mutex_lock(&s->lock);
    if (s->is_ended) {
        pthread_mutex_unlock(&s->lock);
        err_set(err, ERR_AUTH, "the session has ended");
        return NULL;
    }
    rc = vault_open(key->bytes, &s->box, s->id_hash, SESSION_HASH_LEN,
                    &secret, err);
    pthread_mutex_unlock(&s->lock);
    return rc < 0 ? NULL : secret;
}

/* ==== store cache ====================================================== */

/* Each thread's own address: tells who holds a session's cache lock. */
static _Thread_local char session_thread_tag;

static uintptr_t
session_thread_id(void)
{
    return (uintptr_t)&session_thread_tag;
}

void
session_cache_lock(struct session *s)
{
    xassert(atomic_load(&s->cache_owner) != session_thread_id());
    pthread_mutex_lock(&s->cache_lock);
    atomic_store(&s->cache_owner, session_thread_id());
}

void
session_cache_unlock(struct session *s)
{
    xassert(atomic_load(&s->cache_owner) == session_thread_id());
    atomic_store(&s->cache_owner, 0);
    pthread_mutex_unlock(&s->cache_lock);
}

void *
session_cache(struct session *s)
{
    xassert(atomic_load(&s->cache_owner) == session_thread_id());
    return s->cache;
}

void
session_set_cache(struct session *s, void *cache, void (*free_fn)(void *))
{
    void *old;
    void (*old_free)(void *);

    xassert(atomic_load(&s->cache_owner) == session_thread_id());
    old = s->cache;
    old_free = s->cache_free;
    s->cache = cache;
    s->cache_free = free_fn;
    if (old != NULL && old != cache && old_free != NULL)
        old_free(old);
}

/* ==== the table ======================================================== */

struct session_table *
session_table_new(const struct cfg *cfg)
{
    return session_table_new_with_store(cfg, &session_mem_ops,
                                        session_mem_new());
}

struct session_table *
session_table_new_with_store(const struct cfg *cfg,
                             const struct session_store_ops *ops, void *impl)
{
    struct session_table *t = g_new0(struct session_table, 1);

    xassert(cfg != NULL && ops != NULL);
    t->ops = ops;
    t->impl = impl;
    t->idle_us = (int64_t)cfg->session_idle * G_TIME_SPAN_SECOND;
    t->max_us = (int64_t)cfg->session_max * G_TIME_SPAN_SECOND;
    t->now = g_get_monotonic_time;
    return t;
}

/* Ends and releases sessions taken out of the store. */
static size_t
session_table_end_all(GPtrArray *taken)
{
    size_t n = taken->len;

    for (guint i = 0; i < taken->len; i++) {
        struct session *s = g_ptr_array_index(taken, i);

        session_end(s);
        session_unref(&s);
    }
    g_ptr_array_free(taken, TRUE);
    return n;
}

void
session_table_free(struct session_table **tp)
{
    struct session_table *t = *tp;
    GPtrArray *all;

    if (t == NULL)
        return;
    *tp = NULL;
    all = g_ptr_array_new();
    t->ops->take_if(t->impl, NULL, NULL, all);
    (void)session_table_end_all(all); /* the count is of no use here */
    t->ops->free(t->impl);
    g_free(t);
}

void
session_table_set_clock(struct session_table *t, int64_t (*now)(void))
{
    t->now = now != NULL ? now : g_get_monotonic_time;
}

bool
session_is_expired(const struct session_table *t, const struct session *s,
                   int64_t now_us)
{
    int64_t last = atomic_load_explicit(&s->last_used_us,
                                        memory_order_relaxed);

    return now_us - last > t->idle_us || now_us - s->created_us > t->max_us;
}

bool
session_token_is_wellformed(const char *t)
{
    size_t n = t != NULL ? strlen(t) : 0;

    if (n != SESSION_CSRF_LEN)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!g_ascii_isalnum(t[i]) && t[i] != '-' && t[i] != '_')
            return false;
    }
    return true;
}

int
session_token_new(char out[SESSION_CSRF_LEN + 1], struct err *err)
{
    unsigned char raw[32];

    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        err_set(err, ERR_INTERNAL, "no random bytes for a token");
        return -1;
    }
    b64url_encode(raw, sizeof(raw), out);
    OPENSSL_cleanse(raw, sizeof(raw));
    return 0;
}

struct session *
session_create(struct session_table *t, const struct cfg_server *server,
               const char *user, const char *password, char **cookie_out,
               struct err *err)
{
    unsigned char raw[SESSION_ID_LEN + SESSION_KEY_LEN];
    unsigned char csrf_raw[32];
    const unsigned char *key = raw + SESSION_ID_LEN;
    struct session *s = NULL;
    char *cookie = NULL;
    size_t user_len;
    int64_t now;

    xassert(t != NULL && server != NULL && user != NULL);
    xassert(password != NULL && cookie_out != NULL);
    *cookie_out = NULL;
    user_len = strnlen(user, SESSION_USER_MAX + 1);
    if (user_len == 0) {
        err_set(err, ERR_INPUT, "empty user name");
        return NULL;
    }
    if (user_len > SESSION_USER_MAX) {
        err_set(err, ERR_LIMIT, "user name over %u bytes", SESSION_USER_MAX);
        return NULL;
    }
    if (RAND_bytes(raw, sizeof(raw)) != 1 ||
        RAND_bytes(csrf_raw, sizeof(csrf_raw)) != 1) {
        err_set(err, ERR_INTERNAL, "random generator failed");
        goto fail;
    }

    s = session_alloc();
    s->user = g_strndup(user, user_len);
    s->server = server;
    if (!session_hash_id(raw, s->id_hash) ||
        !session_hash_key(key, s->key_check)) {
        err_set(err, ERR_INTERNAL, "SHA-256 failed");
        goto fail;
    }
    /* The id hash as associated data: the box opens only in this
     * session, even for someone who could move boxes between them. */
    if (vault_seal(key, s->id_hash, SESSION_HASH_LEN, password,
                   strlen(password), &s->box, err) < 0)
        goto fail;
    b64url_encode(csrf_raw, sizeof(csrf_raw), s->csrf);
    now = t->now();
    s->created_us = now;
    atomic_store(&s->last_used_us, now);

    cookie = g_malloc(SESSION_COOKIE_LEN + 1);
    b64url_encode(raw, sizeof(raw), cookie);
    if (t->ops->put(t->impl, s, err) < 0)
        goto fail;

    OPENSSL_cleanse(raw, sizeof(raw));
    OPENSSL_cleanse(csrf_raw, sizeof(csrf_raw));
    *cookie_out = cookie;
    return s;

fail:
    OPENSSL_cleanse(raw, sizeof(raw));
    OPENSSL_cleanse(csrf_raw, sizeof(csrf_raw));
    session_cookie_free(&cookie);
    session_unref(&s);
    return NULL;
}

void
session_cookie_free(char **cookie)
{
    if (cookie == NULL || *cookie == NULL)
        return;
    OPENSSL_cleanse(*cookie, strlen(*cookie));
    g_free(*cookie);
    *cookie = NULL;
}

/* Takes s out of t (if it is still there) and ends it. */
static void
session_table_end(struct session_table *t, struct session *s)
{
    bool was_kept = t->ops->remove(t->impl, s);

    session_end(s);
    if (was_kept) {
        struct session *kept = s;

        session_unref(&kept); /* the store's; the caller still has one */
    }
}

struct session *
session_lookup(struct session_table *t, const char *cookie,
               struct session_key *key_out)
{
    unsigned char raw[SESSION_ID_LEN + SESSION_KEY_LEN];
    unsigned char hash[SESSION_HASH_LEN];
    unsigned char check[SESSION_KEY_CHECK_LEN];
    struct session *s = NULL;
    bool is_ended;
    int64_t now, last;

    xassert(t != NULL && key_out != NULL);
    session_key_wipe(key_out);
    if (cookie == NULL ||
        strnlen(cookie, SESSION_COOKIE_LEN + 1) != SESSION_COOKIE_LEN ||
        !b64url_decode_exact(cookie, SESSION_COOKIE_LEN, raw, sizeof(raw)))
        return NULL;
    if (!session_hash_id(raw, hash) ||
        !session_hash_key(raw + SESSION_ID_LEN, check))
        goto out;

    s = t->ops->get(t->impl, hash);
    if (s == NULL)
        goto out;
    /* Only someone with the whole cookie gets the session: the id alone
     * (half a cookie) is not enough. */
    if (CRYPTO_memcmp(check, s->key_check, sizeof(check)) != 0) {
        session_unref(&s);
        goto out;
    }
    pthread_mutex_lock(&s->lock);
    is_ended = s->is_ended;
    pthread_mutex_unlock(&s->lock);
    now = t->now();
    if (is_ended || session_is_expired(t, s, now)) {
        session_table_end(t, s);
        session_unref(&s);
        goto out;
    }
    /* Never move last use backwards (two requests racing). */
    last = atomic_load(&s->last_used_us);
    while (last < now &&
           !atomic_compare_exchange_weak(&s->last_used_us, &last, now))
        ;
    memcpy(key_out->bytes, raw + SESSION_ID_LEN, SESSION_KEY_LEN);

out:
    OPENSSL_cleanse(raw, sizeof(raw));
    OPENSSL_cleanse(hash, sizeof(hash));
    OPENSSL_cleanse(check, sizeof(check));
    return s;
}

void
session_destroy(struct session_table *t, struct session *s)
{
    xassert(t != NULL && s != NULL);
    session_table_end(t, s);
}

size_t
session_table_count(struct session_table *t)
{
    return t->ops->count(t->impl);
}

struct session_reap_ctx {
    const struct session_table *t;
    int64_t now;
};

static bool
session_pick_expired(struct session *s, void *ctx)
{
    const struct session_reap_ctx *rc = ctx;

    return session_is_expired(rc->t, s, rc->now);
}

size_t
session_table_reap(struct session_table *t)
{
    struct session_reap_ctx ctx = {.t = t, .now = t->now()};
    GPtrArray *expired = g_ptr_array_new();

    t->ops->take_if(t->impl, session_pick_expired, &ctx, expired);
    return session_table_end_all(expired);
}

void
session_set_store_caps(struct session *s, unsigned caps)
{
    atomic_store(&s->store_caps, caps);
}

unsigned
session_store_caps(const struct session *s)
{
    return atomic_load(&s->store_caps);
}
