/* pool.h - the connection pool: each session's logged-in stores, kept open
 * between requests under per-session, per-server and global caps.
 * Layer: session. Trust: none needed; stores report their own failures. */
#ifndef POSTERN_SESSION_POOL_H
#define POSTERN_SESSION_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "core/attr.h"
#include "core/cfg.h"
#include "core/err.h"
#include "session/session.h"
#include "store/store.h"

struct pool;
struct pool_reaper;

/* Opens a logged-in store for login (production: a wrapper over
 * store_open). login->password is only valid during the call; the opener
 * must not keep it. Returns NULL with err set on failure. Called with no
 * lock of the pool or the session held. */
typedef struct store *pool_open_fn(void *ctx, const struct store_login *login,
                                   struct err *err);

/* A pool with the caps pool_per_session, pool_per_server and pool_total,
 * closing stores idle past pool_idle, waiting at most io_timeout seconds
 * for a busy session's store, and passing connect_timeout and io_timeout
 * to open. The values are copied; cfg is not kept. open_ctx goes to open
 * unchanged. Never returns NULL.
 *
 * Shutdown order: pool_reaper_stop, then session_table_free (which closes
 * the stores of every session), then pool_free. pool_free may also come
 * first, as long as no request holds a store. */
struct pool *pool_new(const struct cfg *cfg, pool_open_fn *open,
                      void *open_ctx);

/* Closes every idle store, forgets every session and frees the pool; sets
 * *p to NULL. No store may be in use (aborts otherwise: that is a bug in
 * the shutdown order). NULL-safe. */
void pool_free(struct pool **p);

/* Replaces the clock that time-stamps idle stores for pool_reap
 * (microseconds, default g_get_monotonic_time). For tests. Waiting for a
 * busy store always uses the real monotonic clock. */
void pool_set_clock(struct pool *p, int64_t (*now)(void));

/* Exclusive use of one of s's stores, until pool_release. In order:
 *  - an idle store of s, checked with store_ping first; a dead one is
 *    closed and the next one (or a new one) taken instead, unseen by the
 *    caller;
 *  - else a new store opened with the vaulted credentials (the password
 *    is opened with key just for the call and wiped right after), if the
 *    per-session, per-server and global caps allow;
 *  - else waits until a store of s is released or a slot frees up, for
 *    at most io_timeout seconds: ERR_TIMEOUT ("all N connections of this
 *    session are busy", or of the server, or of postern).
 * Requests of one session take turns; requests of different sessions
 * never wait on each other, except for a slot under the per-server and
 * global caps: no pool-wide lock is held while opening, pinging, closing
 * or waiting. Errors of the opener pass through unchanged (ERR_AUTH when
 * the server no longer takes the password, ERR_CONN, ERR_TIMEOUT, ...).
 * ERR_AUTH when s has ended (logout, expiry) or its stores were dropped,
 * or when key does not open the vault. */
struct store *pool_acquire(struct pool *p, struct session *s,
                           const struct session_key *key, struct err *err);

/* Gives *st back to s's idle stores, time-stamped now, or closes it when
 * st->broken is set or s has been dropped; sets *st to NULL. NULL-safe
 * (*st == NULL does nothing). *st must come from pool_acquire(p, s). */
void pool_release(struct pool *p, struct session *s, struct store **st);

/* Closes every idle store of s now and marks s so that its stores in use
 * are closed when released and no new ones are opened (logout, expiry;
 * session_destroy and expiry call it). Harmless when s has no stores. */
void pool_drop_session(struct pool *p, struct session *s);

/* Closes every idle store of s now (POP3 "refresh": the next request logs
 * in anew and sees new mail). s goes on; its stores in use stay. */
void pool_close_idle(struct pool *p, struct session *s);

/* Closes every store idle longer than pool_idle at the pool's clock (or
 * than its own st->idle_max, when shorter) and returns how many. Those of different sessions are closed one after the
 * other, with no lock held. */
size_t pool_reap(struct pool *p);

/* Stores open now, idle or in use or being opened (metrics, tests). */
size_t pool_open_count(struct pool *p);

/* Stores idle now (metrics, tests). */
size_t pool_idle_count(struct pool *p);

/* Starts a thread that every interval_ms runs session_table_reap(t)
 * (which also closes the stores of the sessions it ends) and pool_reap(p),
 * logging counts at debug level. t may be NULL (pool only). Never returns
 * NULL; aborts if no thread can be started. */
struct pool_reaper *pool_reaper_start(struct pool *p, struct session_table *t,
                                      unsigned interval_ms);

/* Stops the reaper thread, waits for it (at most one reaping pass), frees
 * it and sets *r to NULL. NULL-safe. */
void pool_reaper_stop(struct pool_reaper **r);

#endif
