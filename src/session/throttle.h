/* throttle.h - login throttling (DESIGN §4): failed logins counted per
 * client address and per user, in a small in-memory table with a cap.
 * Layer: session. Trust: addresses and user names are UNTRUSTED strings;
 * they are only compared, never parsed. */
#ifndef POSTERN_SESSION_THROTTLE_H
#define POSTERN_SESSION_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

struct throttle;

#define THROTTLE_FIRST_WAIT 4u /* seconds */

struct throttle_opts {
    unsigned fails_per_address; /* failures from one address before waits */
    unsigned fails_per_user;    /* failures of one user before waits */
    unsigned window;            /* seconds a failure is remembered, counted
                                   from the last failure or the end of the
                                   wait it caused, whichever is later */
    unsigned delay_max;         /* seconds: the longest wait */
    size_t max_entries;         /* addresses + users kept at most */
};

/* How it counts: each key (an address, or a server and user name, the
 * name compared case-insensitively) has a count of failures. Once the
 * count reaches the key's allowance, the next attempt must wait
 * THROTTLE_FIRST_WAIT s; every further failure doubles the wait, up to
 * delay_max.
 * The count is forgotten window seconds after the last failure (or the
 * end of its wait). A success forgets the user's failures, not the
 * address's: an attacker who owns one account cannot wash its guesses
 * at others by logging in to it. When the table is full, expired keys
 * go first, then the key whose last failure is oldest (the key under
 * attack is always a recent one). Thread-safe. Never returns NULL. */
struct throttle *throttle_new(const struct throttle_opts *opts);

/* NULL-safe; sets *t to NULL. */
void throttle_free(struct throttle **t);

/* Replaces the clock (microseconds, default g_get_monotonic_time). For
 * tests. */
void throttle_set_clock(struct throttle *t, int64_t (*now)(void));

/* 0 when a login of user on server from addr may be tried now; else the
 * whole seconds (>= 1) to wait, for Retry-After. addr, server and user
 * may be NULL or "" (then that key is not checked). */
unsigned throttle_check(struct throttle *t, const char *addr,
                        const char *server, const char *user);

/* A login that the mail server refused (wrong password, unknown user). */
void throttle_fail(struct throttle *t, const char *addr, const char *server,
                   const char *user);

/* A login that worked: the user's failures are forgotten. */
void throttle_success(struct throttle *t, const char *addr,
                      const char *server, const char *user);

/* Keys in the table now (tests, metrics). */
size_t throttle_count(struct throttle *t);

#endif
