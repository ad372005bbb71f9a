/* bench_stats.c - latency samples, median/p95/mean and rates for the
 * benchmark tools (tests/bench); see bench_stats.h. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_stats.h"

struct stats {
    pthread_mutex_t mu;
    int64_t *us;
    unsigned n, cap, fail;
};

struct stats *
stats_new(unsigned cap)
{
    struct stats *st = calloc(1, sizeof(*st));

    if (st == NULL)
        abort();
    st->us = calloc(cap > 0 ? cap : 1, sizeof(*st->us));
    if (st->us == NULL)
        abort();
    st->cap = cap;
    pthread_mutex_init(&st->mu, NULL);
    return st;
}

void
stats_add(struct stats *st, int64_t us, bool ok)
{
    pthread_mutex_lock(&st->mu);
    if (!ok)
        st->fail++;
    else if (st->n < st->cap)
        st->us[st->n++] = us;
    pthread_mutex_unlock(&st->mu);
}

static int
stats_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

void
stats_print(const char *name, struct stats *st, unsigned conc,
            int64_t wall_us)
{
    int64_t sum = 0, med = 0, p95 = 0;
    double mean = 0, rps = 0, wall_rps = 0;

    qsort(st->us, st->n, sizeof(*st->us), stats_cmp);
    for (unsigned i = 0; i < st->n; i++)
        sum += st->us[i];
    if (st->n > 0) {
        /* nearest rank */
        med = st->us[(st->n - 1) / 2];
        p95 = st->us[(st->n * 95 + 99) / 100 - 1];
        mean = (double)sum / st->n;
        rps = mean > 0 ? conc * 1e6 / mean : 0;
    }
    if (wall_us > 0)
        wall_rps = st->n * 1e6 / (double)wall_us;
    printf("result %s n=%u fail=%u median_us=%lld p95_us=%lld mean_us=%.0f "
           "rps=%.1f wall_rps=%.1f\n",
           name, st->n, st->fail, (long long)med, (long long)p95, mean, rps,
           wall_rps);
}
