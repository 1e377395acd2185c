/* clock.c: time, gettimeofday, clock_gettime and clock for newlib, without a VM exit: the host's
 * clocks from the last CONTEXT message, advanced by the guest's TSC at the rate the host reported.
 * Where the host knows no rate (tsc_khz 0), the clocks stand still within a call and jump to the
 * host's time at the next one. MONOTONIC never goes backwards within a timeline. */
#include "runtime.h"

#include <errno.h>
#include <sys/time.h>
#include <sys/times.h>
#include <time.h>

#define NS_PER_S 1000000000ull
#define NS_PER_US 1000ull

int gettimeofday(struct timeval *tv, void *tz);
clock_t times(struct tms *t);

static HLG_HOT hl__wire_context base;
static HLG_HOT uint64_t base_tsc;
static HLG_HOT uint64_t last_monotonic;  /* the largest MONOTONIC value handed out */
static HLG_HOT uint64_t first_monotonic; /* MONOTONIC of this timeline's first context: clock() */

void hlg__clock_context(const hl__wire_context *c, uint64_t tsc)
{
    base = *c;
    base_tsc = tsc;
    if (!first_monotonic)
        first_monotonic = c->monotonic_ns;
}

/* Nanoseconds since the context arrived; split so that no product overflows 64 bits. */
static uint64_t elapsed_ns(void)
{
    if (!base.tsc_khz)
        return 0;
    uint64_t ticks = hlg__rdtsc() - base_tsc, khz = base.tsc_khz;
    return ticks / khz * 1000000u + ticks % khz * 1000000u / khz;
}

static uint64_t monotonic_ns(void)
{
    uint64_t now = base.monotonic_ns + elapsed_ns();
    if (now < last_monotonic)
        now = last_monotonic;
    last_monotonic = now;
    return now;
}

static uint64_t realtime_ns(void)
{
    return base.realtime_ns + elapsed_ns();
}

static void to_timespec(uint64_t ns, struct timespec *ts)
{
    ts->tv_sec = (time_t)(ns / NS_PER_S);
    ts->tv_nsec = (long)(ns % NS_PER_S);
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
    switch (id) {
    case CLOCK_REALTIME:
        to_timespec(realtime_ns(), ts);
        return 0;
    case CLOCK_MONOTONIC:
        to_timespec(monotonic_ns(), ts);
        return 0;
    default:
        errno = EINVAL;
        return -1;
    }
}

int clock_getres(clockid_t id, struct timespec *res)
{
    if (id != CLOCK_REALTIME && id != CLOCK_MONOTONIC) {
        errno = EINVAL;
        return -1;
    }
    if (res)
        to_timespec(1, res);
    return 0;
}

int gettimeofday(struct timeval *tv, void *tz)
{
    (void)tz;
    uint64_t ns = realtime_ns();
    tv->tv_sec = (time_t)(ns / NS_PER_S);
    tv->tv_usec = (suseconds_t)(ns % NS_PER_S / NS_PER_US);
    return 0;
}

/* clock() reads this: the guest's time since its timeline began, all of it user time. */
clock_t times(struct tms *t)
{
    uint64_t ticks = (monotonic_ns() - first_monotonic) / (NS_PER_S / CLOCKS_PER_SEC);
    t->tms_utime = (clock_t)ticks;
    t->tms_stime = t->tms_cutime = t->tms_cstime = 0;
    return (clock_t)ticks;
}
