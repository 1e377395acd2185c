/* stats.c: hl-bench's clock, samples and their summaries (min / median / p99). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int bench_fail(bench_ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->error, sizeof c->error, fmt, ap);
    va_end(ap);
    return -1;
}

int bench_skip(bench_ctx *c, const char *why)
{
    snprintf(c->error, sizeof c->error, "%s", why);
    return BENCH_SKIP;
}

int bench_lib_fail(bench_ctx *c, const char *what, int rc)
{
    return bench_fail(c, "%s: %s (%s)", what, hl_last_error(), hl_errname(rc));
}

int bench_result_add(bench_result *r, uint64_t ns)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 1024;
        uint64_t *p = realloc(r->samples, cap * sizeof *p);
        if (!p)
            return -1;
        r->samples = p;
        r->cap = cap;
    }
    r->samples[r->n++] = ns;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

void bench_result_summarize(bench_result *r)
{
    if (!r->n)
        return;
    qsort(r->samples, r->n, sizeof *r->samples, cmp_u64);
    size_t mid = r->n / 2;
    size_t p99 = (r->n * 99 + 99) / 100; /* ceil(0.99 n): the nearest-rank percentile */
    r->min = (double)r->samples[0];
    r->median = r->n % 2 ? (double)r->samples[mid]
                         : ((double)r->samples[mid - 1] + (double)r->samples[mid]) / 2;
    r->p99 = (double)r->samples[p99 ? p99 - 1 : 0];
}

const bench_result *bench_find(const bench_run *run, const char *id)
{
    for (size_t i = 0; i < run->nresults; i++)
        if (strcmp(run->results[i].op->id, id) == 0)
            return run->results[i].n ? &run->results[i] : NULL;
    return NULL;
}

double bench_floor_median(const bench_run *run, const char *spec)
{
    char buf[128];
    double sum = 0;
    snprintf(buf, sizeof buf, "%s", spec);
    for (char *save = NULL, *id = strtok_r(buf, "+", &save); id; id = strtok_r(NULL, "+", &save)) {
        const bench_result *r = bench_find(run, id);
        if (!r)
            return -1;
        sum += r->median;
    }
    return sum;
}

void bench_select(bench_run *run, const char *id)
{
    for (size_t i = 0; i < run->nresults; i++)
        if (strcmp(run->results[i].op->id, id) == 0)
            run->results[i].selected = true;
}

bool bench_selected(const bench_run *run, const char *id)
{
    for (size_t i = 0; i < run->nresults; i++)
        if (strcmp(run->results[i].op->id, id) == 0)
            return run->results[i].selected;
    return false;
}
