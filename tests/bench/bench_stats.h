/* bench_stats.h - latency samples of one measured request kind, shared by the
 * benchmark's load generator and raw-IMAP floor client (tests/bench). */
#ifndef POSTERN_BENCH_STATS_H
#define POSTERN_BENCH_STATS_H

#include <stdbool.h>
#include <stdint.h>

struct stats;

/* Room for cap samples; more are counted but not kept. Aborts on OOM. */
struct stats *stats_new(unsigned cap);

/* Records one request of us microseconds; ok false counts a failure
 * (its time is not part of the figures). Thread-safe. */
void stats_add(struct stats *st, int64_t us, bool ok);

/* Prints "result NAME n=... fail=... median_us=... p95_us=... mean_us=...
 * rps=... wall_rps=..." where rps = conc / mean latency (the rate the
 * request sustains with conc of them in flight) and wall_rps = n / wall. */
void stats_print(const char *name, struct stats *st, unsigned conc,
                 int64_t wall_us);

#endif
